"""State machine rules of design/milestones.md, as examples and properties."""

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from shipsync.milestones import (
    APPLIED,
    CARD_REASON_CODES,
    CARD_REASON_SELECTION,
    CORRECTION,
    EXCEPTION_REASON_CODES,
    EXCEPTION_REASON_SELECTION,
    EXCEPTION_REASONS,
    IGNORED,
    MILESTONE_SELECTION,
    MILESTONES,
    RANK,
    SIDE_REASON_SELECTION,
    SIDE_REASONS,
    STALE,
    SUITE_REASONS,
    TERMINAL,
    UNMAPPED,
    MilestoneEvent,
    ShipmentState,
    internal_occurrence,
    replay,
    sort_key,
    transition,
)

T0 = datetime(2024, 5, 1, 8, 0, 0)
CARRIER = "carrier"
_counter = iter(range(10**9))


def ev(milestone, minutes=0, partner=CARRIER, **kw):
    kw.setdefault("key", f"k{next(_counter)}")
    return MilestoneEvent(
        occurred_at=T0 + timedelta(minutes=minutes), milestone=milestone, partner=partner, **kw
    )


def at(milestone, partner=CARRIER, **kw):
    return ShipmentState(milestone=milestone, milestone_at=T0, milestone_partner=partner, **kw)


# -- vocabulary -------------------------------------------------------------------------------


def test_vocabulary_matches_milestones_md():
    assert [c for c, _r, _l in MILESTONES][:4] == ["draft", "released", "picked", "packed"]
    assert RANK["out_for_delivery"] == RANK["delivery_attempted"] == 80
    assert RANK["returning"] == 90 and RANK["cancelled"] == 100
    assert len(MILESTONES) == 16 and len(MILESTONE_SELECTION) == 16
    assert TERMINAL == {"delivered", "returned", "delivery_failed", "cancelled"}
    assert all(RANK[code] == 100 for code in TERMINAL)


def test_exception_reasons_and_suite_reasons():
    codes = [code for code, _label in EXCEPTION_REASONS]
    assert codes[0] == "address_issue" and codes[-1] == "other" and len(codes) == 20
    assert EXCEPTION_REASON_SELECTION == list(EXCEPTION_REASONS)
    assert SUITE_REASONS == (
        "label_failed", "booking_rejected", "wms_mismatch", "sync_failed", "sla_breach", "other",
    )
    # side reasons (money, not the parcel) are no part of the canonical vocabulary
    assert SIDE_REASONS == {"freight_variance", "cod_variance"}
    assert not SIDE_REASONS & EXCEPTION_REASON_CODES
    assert CARD_REASON_SELECTION == EXCEPTION_REASON_SELECTION + SIDE_REASON_SELECTION
    assert CARD_REASON_CODES == EXCEPTION_REASON_CODES | SIDE_REASONS


# -- progress ---------------------------------------------------------------------------------


def test_higher_rank_is_applied():
    step = transition(at("picked_up"), ev("in_transit"))
    assert step.outcome == APPLIED and step.changed
    assert step.after.milestone == "in_transit" and step.after.milestone_partner == CARRIER


def test_progress_never_goes_backwards():
    step = transition(at("out_for_delivery"), ev("in_transit", 5))
    assert step.outcome == STALE and not step.changed
    assert step.before == step.after
    assert step.detail == "in_transit (70) is below out_for_delivery (80)"


def test_equal_rank_moves_sideways():
    step = transition(at("out_for_delivery"), ev("delivery_attempted", 5))
    assert step.outcome == APPLIED and step.changed
    assert step.after.milestone == "delivery_attempted"
    assert step.detail.startswith("sideways")


def test_same_milestone_twice_is_applied_without_change():
    state = at("in_transit")
    step = transition(state, ev("in_transit", 5))
    assert step.outcome == APPLIED and not step.changed and step.after == state


def test_unmapped_code_changes_nothing():
    state = at("in_transit")
    step = transition(state, ev(None, 5, mapped=False))
    assert step.outcome == UNMAPPED and step.after == state


def test_unknown_milestone_code_is_unmapped():
    assert transition(at("in_transit"), ev("teleported", 5)).outcome == UNMAPPED


def test_non_authoritative_partner_is_ignored():
    state = at("in_transit")
    step = transition(state, ev("delivered", 5, partner="wms", authoritative=False))
    assert step.outcome == IGNORED and step.after == state


def test_known_code_without_milestone_changes_nothing():
    state = at("in_transit")
    step = transition(state, ev(None, 5))
    assert step.outcome == APPLIED and not step.changed and step.after == state


# -- reachability -----------------------------------------------------------------------------


def test_returning_is_reachable_from_label_created():
    assert transition(at("label_created"), ev("returning", 5)).outcome == APPLIED


def test_returning_is_unreachable_before_label_created():
    step = transition(at("packed"), ev("returning", 5))
    assert step.outcome == STALE and "label_created" in step.detail


def test_returned_is_unreachable_before_label_created():
    assert transition(at("released"), ev("returned", 5)).outcome == STALE


def test_delivery_failed_is_reachable_from_picked_up():
    assert transition(at("picked_up"), ev("delivery_failed", 5)).outcome == APPLIED


def test_delivery_failed_is_unreachable_before_picked_up():
    step = transition(at("handed_over"), ev("delivery_failed", 5))
    assert step.outcome == STALE and "picked_up" in step.detail


def test_cancelled_is_reachable_before_handed_over():
    step = transition(at("label_created"), ev("cancelled", 5))
    assert step.outcome == APPLIED and step.after.milestone == "cancelled"


def test_cancelled_is_unreachable_after_handed_over():
    step = transition(at("handed_over"), ev("cancelled", 5))
    assert step.outcome == STALE and "handed_over" in step.detail


# -- terminal and corrections -----------------------------------------------------------------


def test_terminal_is_left_only_by_a_correction_from_the_same_partner():
    step = transition(at("delivered"), ev("in_transit", 5))
    assert step.outcome == CORRECTION and step.changed
    assert step.after.milestone == "in_transit"


def test_terminal_event_from_another_partner_is_stale():
    step = transition(at("delivered"), ev("returned", 5, partner="wms"))
    assert step.outcome == STALE and step.after == step.before


def test_terminal_correction_needs_a_milestone():
    step = transition(at("delivered"), ev(None, 5, exception_reason="damaged"))
    assert step.outcome == STALE


def test_terminal_correction_must_occur_later():
    state = ShipmentState("delivered", T0 + timedelta(hours=1), CARRIER)
    assert transition(state, ev("returned", 5)).outcome == STALE


def test_duplicate_delivery_is_applied_once():
    state, steps = replay([ev("in_transit"), ev("delivered", 10), ev("delivered", 20)])
    assert state.milestone == "delivered"
    assert [s.changed for s in steps] == [True, True, False]
    assert steps[-1].outcome == APPLIED


# -- exceptions -------------------------------------------------------------------------------


def test_exception_only_event_opens_exception_without_moving():
    step = transition(at("in_transit"), ev(None, 5, exception_reason="customs_hold"))
    assert step.outcome == APPLIED and not step.changed and step.exception_opened
    assert step.after.exception_state == "open"
    assert step.after.exception_reason == "customs_hold"
    assert step.after.exception_partner == CARRIER
    assert step.after.milestone == "in_transit"


def test_event_with_milestone_and_reason_moves_and_opens():
    event = ev("delivery_attempted", 5, exception_reason="recipient_unavailable")
    step = transition(at("out_for_delivery"), event)
    assert step.changed and step.exception_opened
    assert step.after.exception_reason == "recipient_unavailable"


def test_exception_is_resolved_by_later_progress_from_same_partner():
    state, steps = replay([
        ev("in_transit"), ev(None, 5, exception_reason="delay_weather"), ev("out_for_delivery", 9),
    ])
    assert steps[-1].exception_resolved
    assert state.exception_state == "resolved" and state.milestone == "out_for_delivery"


def test_exception_is_not_resolved_by_another_partner():
    state, _ = replay([
        ev("in_transit"), ev(None, 5, exception_reason="delay_weather"),
        ev("out_for_delivery", 9, partner="other_carrier"),
    ])
    assert state.exception_state == "open"


def test_exception_is_not_resolved_by_sideways_move():
    state, _ = replay([
        ev("out_for_delivery"), ev(None, 5, exception_reason="address_issue"),
        ev("delivery_attempted", 9),
    ])
    assert state.exception_state == "open"


def test_exception_is_resolved_by_a_person():
    state = at("in_transit", exception_state="open", exception_reason="lost")
    step = transition(state, ev(None, 5, partner="", resolves_exception=True))
    assert step.outcome == APPLIED and step.exception_resolved
    assert step.after.exception_state == "resolved" and step.after.milestone == "in_transit"


def test_manual_resolution_works_on_terminal_shipment():
    state = at("delivered", exception_state="open", exception_reason="damaged")
    step = transition(state, ev(None, 5, partner="", resolves_exception=True))
    assert step.after.exception_state == "resolved"


def test_stale_event_does_not_touch_exception():
    state = at("out_for_delivery")
    step = transition(state, ev("in_transit", 5, exception_reason="damaged"))
    assert step.outcome == STALE and step.after.exception_state == "none"


# -- replay -----------------------------------------------------------------------------------


def test_sort_key_orders_by_time_then_rank_then_key_with_no_milestone_last():
    a = ev("delivered", 0, key="a")
    b = ev("in_transit", 0, key="b")
    c = ev(None, 0, key="c")
    d = ev(None, -1, key="d")
    assert sorted([a, b, c, d], key=sort_key) == [d, b, a, c]


def test_exception_in_the_same_second_as_progress_stays_open():
    progress = ev("handed_over", 0, key="p")
    failure = ev(None, 0, key="f", exception_reason="label_failed")
    for order in ([progress, failure], [failure, progress]):
        final, _steps = replay(order)
        assert (final.milestone, final.exception_state) == ("handed_over", "open")


def test_replay_is_independent_of_arrival_order():
    events = [ev("label_created"), ev("picked_up", 10), ev("in_transit", 20), ev("delivered", 30)]
    forward, _ = replay(events)
    backward, _ = replay(list(reversed(events)))
    assert forward == backward and forward.milestone == "delivered"


def test_replay_from_initial_state():
    state, steps = replay([ev("picked_up", 1)], initial=at("label_created"))
    assert state.milestone == "picked_up" and len(steps) == 1


# -- properties -------------------------------------------------------------------------------

MILESTONE_CODES = [code for code, _r, _l in MILESTONES]
REASON_CODES = [code for code, _l in EXCEPTION_REASONS]


@st.composite
def event_lists(draw):
    size = draw(st.integers(min_value=0, max_value=12))
    events = []
    for index in range(size):
        kind = draw(st.sampled_from(["milestone", "milestone", "exception", "resolve", "unmapped"]))
        milestone = draw(st.sampled_from(MILESTONE_CODES)) if kind == "milestone" else None
        reason = None
        if kind in ("milestone", "exception"):
            reason = draw(st.one_of(st.none(), st.sampled_from(REASON_CODES)))
            if kind == "exception" and reason is None:
                reason = "other"
        events.append(MilestoneEvent(
            key=f"e{index:02d}",
            occurred_at=T0 + timedelta(minutes=draw(st.integers(0, 6))),
            milestone=milestone,
            partner=draw(st.sampled_from(["carrier", "wms", ""])),
            authoritative=draw(st.booleans()) or draw(st.booleans()),
            exception_reason=reason,
            mapped=kind != "unmapped",
            resolves_exception=kind == "resolve",
        ))
    return events


@settings(max_examples=300)
@given(event_lists(), st.randoms(use_true_random=False))
def test_any_permutation_gives_same_state_and_timeline(events, rnd):
    shuffled = list(events)
    rnd.shuffle(shuffled)
    state_a, steps_a = replay(events)
    state_b, steps_b = replay(shuffled)
    assert state_a == state_b
    timeline_a = [(s.event.key, s.outcome) for s in steps_a]
    assert timeline_a == [(s.event.key, s.outcome) for s in steps_b]


@settings(max_examples=300)
@given(event_lists())
def test_rank_never_decreases_except_through_corrections(events):
    _state, steps = replay(events)
    for step in steps:
        if step.outcome != CORRECTION:
            assert RANK[step.after.milestone] >= RANK[step.before.milestone]


@settings(max_examples=300)
@given(event_lists())
def test_terminal_milestone_is_only_left_through_a_correction(events):
    _state, steps = replay(events)
    for step in steps:
        if step.before.milestone in TERMINAL and step.after.milestone != step.before.milestone:
            assert step.outcome == CORRECTION


@settings(max_examples=300)
@given(event_lists())
def test_stale_ignored_unmapped_steps_change_nothing(events):
    _state, steps = replay(events)
    for step in steps:
        if step.outcome in (STALE, IGNORED, UNMAPPED):
            assert step.before == step.after
            assert not (step.changed or step.exception_opened or step.exception_resolved)


@settings(max_examples=200)
@given(event_lists())
def test_steps_chain_and_outcomes_are_known(events):
    state, steps = replay(events)
    previous = ShipmentState()
    for step in steps:
        assert step.before == previous
        assert step.outcome in (APPLIED, CORRECTION, STALE, IGNORED, UNMAPPED)
        assert step.changed == (step.before.milestone != step.after.milestone)
        previous = step.after
    assert previous == state


def test_odoo_events_are_never_placed_before_odoo_s_previous_one():
    """Odoo's own events follow each other in the order they were raised: a
    resolution placed a second after its exception is not overtaken by the
    exception raised again in the same wall-clock second."""
    t = datetime(2026, 11, 2, 8, 0, 0)
    later = t + timedelta(seconds=1)
    assert internal_occurrence(t, None) == t
    assert internal_occurrence(t, later) == later
    assert internal_occurrence(later, t) == later
    assert internal_occurrence(t, t) == t


def test_a_resolution_is_placed_after_the_exception_it_closes():
    t = datetime(2026, 11, 2, 8, 0, 0)
    second = timedelta(seconds=1)
    # Same second as the exception: one second later, so the replay cannot
    # order the resolution first by its key.
    assert internal_occurrence(t, None, resolving=t) == t + second
    # An exception stamped later than now (a partner's clock): after it.
    assert internal_occurrence(t, None, resolving=t + 5 * second) == t + 6 * second
    # An older exception: now.
    assert internal_occurrence(t + 3 * second, None, resolving=t) == t + 3 * second
    # Odoo's previous own event already later: after both rules.
    assert internal_occurrence(t, t + 2 * second, resolving=t) == t + 2 * second
    assert internal_occurrence(t, t + 2 * second, resolving=t + 2 * second) == t + 3 * second


def test_replayed_resolution_then_exception_of_one_second_ends_open():
    """The sequence Odoo records when a person resolves an exception and it is
    raised again within the same second ends with the exception open."""
    t = datetime(2026, 11, 2, 8, 0, 0)
    raised = MilestoneEvent(key="odoo:001", occurred_at=t, milestone=None, partner="odoo",
                            exception_reason="wms_mismatch")
    resolved_at = internal_occurrence(t, t, resolving=t)
    resolved = MilestoneEvent(key="odoo:002", occurred_at=resolved_at, milestone=None,
                              partner="odoo",
                              resolves_exception=True)
    again = MilestoneEvent(key="odoo:003", occurred_at=internal_occurrence(t, resolved_at),
                           milestone=None,
                           partner="odoo", exception_reason="wms_mismatch")
    final, _steps = replay([again, resolved, raised])
    assert final.exception_state == "open"
    assert final.exception_reason == "wms_mismatch"
