"""What a customer sees and is told (shipsync.customer): notifications called
for by a replay, whatever the order of arrival; locations cut to city and
country; a timeline without internal details."""

import itertools
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from shipsync import customer
from shipsync.customer import (
    NOTIFY_KINDS,
    NOTIFY_MILESTONES,
    SKIP_COMPANY_OFF,
    SKIP_NO_EMAIL,
    SKIP_OPTED_OUT,
    customer_timeline,
    exception_category,
    notification_decision,
    notification_keys,
    public_location,
    state_before,
    superseded,
)
from shipsync.milestones import (
    EXCEPTION_REASON_CODES,
    RANK,
    SUITE_REASONS,
    MilestoneEvent,
    ShipmentState,
    replay,
)

T0 = datetime(2026, 11, 2, 8, 0, 0)
CARRIER = "carrier"

#: Raised by the suite itself and never shown ("other" is also a carrier's
#: catch-all, told to the customer as a delay).
INTERNAL = tuple(r for r in SUITE_REASONS if r != "other")

JOURNEY = ("released", "picked", "packed", "label_created", "handed_over", "picked_up",
           "in_transit", "out_for_delivery", "delivery_attempted", "delivered")


def ev(key, milestone=None, minutes=0, partner=CARRIER, reason=None, **kw):
    return MilestoneEvent(key=key, occurred_at=T0 + timedelta(minutes=minutes),
                          milestone=milestone, partner=partner, exception_reason=reason, **kw)


def arrive(events):
    """Feed events one by one as they arrive, replaying the ledger after each
    (as the addon does) and keeping each key once (the UNIQUE constraint).
    Returns [(kind, key, state_after)] in the order notified."""
    arrived, state, sent, out = [], ShipmentState(), set(), []
    for event in events:
        arrived.append(event)
        final, _steps = replay(arrived)
        for kind, key in notification_keys(state, final):
            if key not in sent:
                sent.add(key)
                out.append((kind, key, final))
        state = final
    return out


# --- notification_keys --------------------------------------------------
def test_each_notified_milestone_is_a_kind():
    assert set(NOTIFY_MILESTONES) < set(NOTIFY_KINDS)
    assert "in_transit" not in NOTIFY_KINDS and "picked_up" not in NOTIFY_KINDS


def test_moving_to_a_notified_milestone_calls_for_one_notification():
    before = state_before("in_transit", "none", None)
    after = ShipmentState(milestone="out_for_delivery")
    assert notification_keys(before, after) == [("out_for_delivery", "out_for_delivery")]


def test_in_transit_and_preparation_milestones_never_notify():
    for milestone in ("released", "picked", "packed", "label_created", "picked_up",
                      "in_transit", "returning", "returned", "delivery_failed", "cancelled"):
        assert notification_keys(ShipmentState(), ShipmentState(milestone=milestone)) == []


def test_unchanged_state_never_notifies():
    state = ShipmentState(milestone="out_for_delivery", exception_state="open",
                          exception_reason="address_issue")
    assert notification_keys(state, state) == []


def test_duplicate_event_notifies_once():
    event = ev("a", "out_for_delivery", 10)
    sent = arrive([ev("h", "handed_over"), event, event, event])
    assert [key for _k, key, _s in sent] == ["handed_over", "out_for_delivery"]


def test_late_arriving_earlier_milestone_is_never_announced():
    sent = arrive([ev("d", "delivered", 30), ev("o", "out_for_delivery", 10)])
    assert [key for _k, key, _s in sent] == ["delivered"]


def test_exception_with_customer_reason_notifies_once_per_reason():
    sent = arrive([
        ev("t", "in_transit", 0), ev("x1", None, 5, reason="address_issue"),
        ev("x2", None, 6, reason="address_issue"), ev("x3", None, 7, reason="customs_hold"),
    ])
    assert [(kind, key) for kind, key, _s in sent] == [
        ("exception", "exception:address_issue"), ("exception", "exception:customs_hold")]


def test_internal_exception_reasons_never_notify():
    assert set(INTERNAL) == {"label_failed", "booking_rejected", "wms_mismatch",
                             "sync_failed", "sla_breach"}
    for reason in INTERNAL:
        assert exception_category(reason) is None
        assert arrive([ev("t", "in_transit"), ev("x", None, 5, reason=reason)]) == []


def test_every_reason_is_either_customer_facing_or_a_suite_reason():
    assert set(customer.EXCEPTION_CATEGORY) | set(INTERNAL) == EXCEPTION_REASON_CODES
    assert not set(customer.EXCEPTION_CATEGORY) & set(INTERNAL)


def test_exception_older_than_the_delivery_never_notifies():
    # The carrier's exception (5 min) arrives after its delivery (30 min): the
    # delivery resolved it in the replay, so the customer is not told.
    sent = arrive([ev("d", "delivered", 30), ev("x", None, 5, reason="address_issue")])
    assert [key for _k, key, _s in sent] == ["delivered"]


def test_every_order_of_arrival_notifies_only_current_milestones():
    events = [ev(f"e{i}", m, i * 10) for i, m in enumerate(JOURNEY[3:])]
    for order in itertools.permutations(events):
        sent = arrive(order)
        keys = [key for _k, key, _s in sent]
        # never twice, never a milestone the shipment was not at when notified
        assert len(keys) == len(set(keys))
        for kind, _key, state in sent:
            assert state.milestone == kind
        # the customer always hears of where the parcel ended
        assert keys[-1] == "delivered"
        # and never goes backwards
        ranks = [RANK[k] for k in keys]
        assert ranks == sorted(ranks)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(JOURNEY) - 1),
                          st.sampled_from([None, None, "address_issue", "label_failed",
                                           "delay_carrier"])),
                min_size=1, max_size=8),
       st.randoms(use_true_random=False), st.integers(0, 3))
def test_property_keys_unique_current_and_final_milestone_announced(picks, rnd, repeats):
    # Events of one carrier, timed in journey order (no corrections), some
    # exceptions, arriving shuffled with repeats.
    events = [ev(f"e{i}", JOURNEY[j], j * 10 + 1, reason=reason)
              for i, (j, reason) in enumerate(picks)]
    arrivals = events + [rnd.choice(events) for _ in range(repeats)]
    rnd.shuffle(arrivals)
    sent = arrive(arrivals)
    keys = [key for _k, key, _s in sent]
    assert len(keys) == len(set(keys))
    for kind, key, state in sent:
        if kind == "exception":
            assert key == f"exception:{state.exception_reason}"
            assert exception_category(state.exception_reason)
        else:
            assert state.milestone == kind == key
    final, _steps = replay(events)
    if final.milestone in NOTIFY_MILESTONES:
        assert final.milestone in keys
    assert not any(k.startswith("exception:") and k[10:] in INTERNAL for k in keys)


# --- notification_decision ----------------------------------------------
def decide(**kw):
    base = {"outgoing": True, "is_return": False, "has_customer": True, "has_email": True,
            "enabled": True, "opted_out": False}
    base.update(kw)
    return notification_decision(**base)


def test_customer_delivery_with_email_is_sent():
    decision = decide()
    assert decision.record and decision.send and decision.skip_reason is None


def test_receipts_returns_and_shipments_without_customer_record_nothing():
    for kw in ({"outgoing": False}, {"is_return": True}, {"has_customer": False}):
        decision = decide(**kw)
        assert not decision.record and not decision.send


def test_company_switch_off_is_skipped_before_opt_out_and_email():
    assert decide(enabled=False, opted_out=True, has_email=False).skip_reason == SKIP_COMPANY_OFF
    assert decide(opted_out=True, has_email=False).skip_reason == SKIP_OPTED_OUT
    assert decide(has_email=False).skip_reason == SKIP_NO_EMAIL
    assert decide(opted_out=True).record and not decide(opted_out=True).send


# --- superseded ------------------------------------------------------------
def test_resolved_or_replaced_exception_is_superseded():
    key = "exception:address_issue"
    assert not superseded("exception", key, milestone="in_transit", exception_state="open",
                          exception_reason="address_issue")
    assert superseded("exception", key, milestone="delivered", exception_state="resolved",
                      exception_reason="address_issue")
    assert superseded("exception", key, milestone="in_transit", exception_state="open",
                      exception_reason="customs_hold")


def test_left_milestone_is_superseded_only_by_later_news():
    assert superseded("handed_over", "handed_over", milestone="delivered",
                      exception_state="none", exception_reason=None,
                      later_milestone_kinds=["delivered"])
    # moved on silently (in transit): the customer still hears it was shipped
    assert not superseded("handed_over", "handed_over", milestone="in_transit",
                          exception_state="none", exception_reason=None)
    assert not superseded("delivered", "delivered", milestone="delivered",
                          exception_state="none", exception_reason=None,
                          later_milestone_kinds=["delivered"])
    assert not superseded("handed_over", "handed_over", milestone="in_transit",
                          exception_state="open", exception_reason="delay_carrier",
                          later_milestone_kinds=["exception"])


def test_other_modules_kinds_are_superseded_by_a_terminal_milestone():
    assert superseded("running_late", "running_late", milestone="delivered",
                      exception_state="none", exception_reason=None)
    assert not superseded("running_late", "running_late", milestone="in_transit",
                          exception_state="none", exception_reason=None)


# --- public_location ----------------------------------------------------
def test_public_location_keeps_city_and_country_only():
    assert public_location("Lyon, ARA, 69002, FR") == "Lyon, FR"
    assert public_location("Springfield, IL, 62701, US") == "Springfield, US"


def test_public_location_drops_streets_and_postcodes():
    assert public_location("12 Rue de la Paix, Paris, 75002, FR") == "Paris, FR"
    assert public_location("SW1A 1AA") == ""
    assert public_location("London, SW1A 1AA, GB") == "London, GB"
    for text in ("12 Rue de la Paix, Paris, 75002, FR", "London, SW1A 1AA, GB"):
        assert not any(ch.isdigit() for ch in public_location(text))


def test_public_location_of_nothing_is_empty():
    for text in (None, "", " , "):
        assert public_location(text) == ""
    assert public_location("Berlin") == "Berlin"


# --- customer_timeline --------------------------------------------------
def row(milestone=None, minutes=0, reason=None, state="applied", location="", **kw):
    return {"occurred_at": T0 + timedelta(minutes=minutes), "milestone": milestone,
            "exception_reason": reason, "state": state, "location": location, **kw}


def test_timeline_is_newest_first_with_customer_categories():
    entries = customer_timeline([
        row("handed_over", 0, location="Lyon, ARA, 69002, FR"),
        row("in_transit", 60, location="Paris, IDF, 75001, FR"),
        row(None, 90, reason="address_issue"),
    ])
    assert [(e.milestone, e.category, e.location) for e in entries] == [
        (None, "address", ""), ("in_transit", None, "Paris, FR"), ("handed_over", None, "Lyon, FR")]


def test_timeline_hides_internal_reasons_unapplied_events_and_duplicates():
    entries = customer_timeline([
        row("handed_over", 0),
        row("handed_over", 5),  # the WMS and Odoo both said so: first scan kept
        row(None, 10, reason="label_failed"),
        row(None, 11, reason="wms_mismatch"),
        row("out_for_delivery", 20, state="stale"),
        row("delivered", 30, state="ignored_not_authoritative"),
        row("in_transit", 40, reason="sla_breach"),
        row("draft", 50),
        row("picked_up", 60, state="received"),
    ])
    assert [(e.milestone, e.category, e.at) for e in entries] == [
        ("in_transit", None, T0 + timedelta(minutes=40)),
        ("handed_over", None, T0)]


def test_timeline_never_carries_partner_code_or_message():
    entries = customer_timeline([row("in_transit", 0, partner_code="secret-carrier",
                                     message="driver Bob, gate code 1234", raw_code="X99")])
    assert len(entries) == 1
    text = repr(entries)
    assert "secret-carrier" not in text and "Bob" not in text and "X99" not in text


# --- no "shipped" before a label exists ---------------------------------
def test_validated_without_a_label_is_shown_packed_and_not_announced():
    from shipsync.customer import customer_milestone

    before = state_before("packed", "none", None)
    after = ShipmentState(milestone="handed_over")
    assert customer_milestone("handed_over", True) == "packed"
    assert customer_milestone("label_created", True) == "packed"
    assert notification_keys(before, after, awaiting_label=True) == []
    # the label exists: shown and announced as it is
    assert customer_milestone("handed_over", False) == "handed_over"
    assert notification_keys(before, after) == [("handed_over", "handed_over")]


def test_a_carrier_scan_is_shown_even_without_a_label_in_odoo():
    from shipsync.customer import customer_milestone

    assert customer_milestone("in_transit", True) == "in_transit"
    before = state_before("handed_over", "none", None)
    after = ShipmentState(milestone="out_for_delivery")
    assert notification_keys(before, after, awaiting_label=True) == [
        ("out_for_delivery", "out_for_delivery")]


def test_the_held_shipped_notification_is_released_with_the_label():
    from shipsync.customer import label_released_keys

    assert label_released_keys("handed_over") == [("handed_over", "handed_over")]
    for milestone in ("packed", "in_transit", "delivered", None):
        assert label_released_keys(milestone) == []


def test_timeline_leaves_out_handed_over_while_awaiting_the_label():
    from datetime import datetime

    from shipsync.customer import customer_timeline

    rows = [{"occurred_at": datetime(2026, 11, 2, 8), "milestone": "packed", "state": "applied"},
            {"occurred_at": datetime(2026, 11, 2, 9), "milestone": "handed_over",
             "state": "applied"}]
    assert [e.milestone for e in customer_timeline(rows)] == ["handed_over", "packed"]
    assert [e.milestone for e in customer_timeline(rows, awaiting_label=True)] == ["packed"]
