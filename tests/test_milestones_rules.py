"""Ordering rules owned by shipsync.milestones: the return leg and Odoo's own keys."""

from datetime import datetime

from shipsync import milestones as ms


def test_return_leg_turns_forward_movement_into_the_way_back():
    assert ms.return_leg_milestone("in_transit") == "returning"
    assert ms.return_leg_milestone("delivered") == "returned"
    assert ms.return_leg_milestone("exception") == "exception"
    assert ms.return_leg_milestone(None) is None


def test_leg_milestone_only_for_partner_events_on_a_return():
    assert ms.leg_milestone("delivered", inbound=True, return_leg=True) == "returned"
    assert ms.leg_milestone("delivered", inbound=False, return_leg=True) == "delivered"
    assert ms.leg_milestone("delivered", inbound=True, return_leg=False) == "delivered"


def test_internal_keys_sort_by_arrival_and_break_same_instant_ties():
    first = ms.internal_key(999_999_999, "ffffffff")
    second = ms.internal_key(1_000_000_000, "00000000")
    assert first == "odoo:00000000000999999999:ffffffff"
    assert first < second
    at = datetime(2025, 3, 1, 12, 0, 0)
    raised = ms.MilestoneEvent(key=first, occurred_at=at, milestone=None,
                               exception_reason="damaged")
    resolved = ms.MilestoneEvent(key=second, occurred_at=at, milestone=None,
                                 resolves_exception=True)
    assert sorted([resolved, raised], key=ms.sort_key) == [raised, resolved]


def test_the_return_leg_vocabulary_is_pinned():
    """Every forward movement means the way back on a return; only delivery is `returned`."""
    assert ms.RETURN_LEG_MILESTONES == {
        "picked_up": "returning",
        "in_transit": "returning",
        "out_for_delivery": "returning",
        "available_for_pickup": "returning",
        "delivery_attempted": "returning",
        "delivered": "returned",
    }
    for forward in ("picked_up", "in_transit", "out_for_delivery", "available_for_pickup",
                    "delivery_attempted"):
        assert ms.return_leg_milestone(forward) == "returning", forward
        assert ms.leg_milestone(forward, inbound=True, return_leg=True) == "returning"
        assert ms.leg_milestone(forward, inbound=False, return_leg=False) == forward


def test_the_side_reasons_are_freight_and_cod_variance_in_words():
    assert ms.SIDE_REASON_SELECTION == [("freight_variance", "Freight Variance"),
                                        ("cod_variance", "COD Variance")]
