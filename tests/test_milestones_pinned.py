"""The milestone vocabulary, pinned by literal values copied from
design/milestones.md (never read back from shipsync.milestones), and the
rules of the state machine at their edges: equal instants, flags that must
stay false, exact detail texts."""

from datetime import datetime, timedelta

from shipsync.milestones import (
    APPLIED,
    CORRECTION,
    EXCEPTION_REASON_CODES,
    EXCEPTION_REASON_SELECTION,
    EXCEPTION_REASONS,
    EXCEPTION_STATES,
    IGNORED,
    MILESTONE_SELECTION,
    MILESTONES,
    OUTCOMES,
    RANK,
    STALE,
    SUITE_REASONS,
    TERMINAL,
    UNMAPPED,
    MilestoneEvent,
    ShipmentState,
    replay,
    sort_key,
    transition,
)

# design/milestones.md, "Progress milestones": code, rank, in the document's order.
DOC_MILESTONES = [
    ("draft", 0), ("released", 10), ("picked", 20), ("packed", 30), ("label_created", 40),
    ("handed_over", 50), ("picked_up", 60), ("in_transit", 70), ("out_for_delivery", 80),
    ("available_for_pickup", 80), ("delivery_attempted", 80), ("delivered", 100),
    ("returning", 90), ("returned", 100), ("delivery_failed", 100), ("cancelled", 100),
]
DOC_TERMINAL = {"delivered", "returned", "delivery_failed", "cancelled"}
# design/milestones.md, "Exceptions": the reasons in the document's order.
DOC_REASONS = [
    "address_issue", "recipient_unavailable", "refused", "customs_hold", "documents_missing",
    "payment_due", "damaged", "lost", "delay_weather", "delay_carrier", "held_contact_carrier",
    "not_collected", "rejected_by_carrier", "disposed", "label_failed", "booking_rejected",
    "wms_mismatch", "sync_failed", "sla_breach", "other",
]
LABELS = {
    "draft": "Draft", "released": "Released", "picked": "Picked", "packed": "Packed",
    "label_created": "Label Created", "handed_over": "Handed Over", "picked_up": "Picked Up",
    "in_transit": "In Transit", "out_for_delivery": "Out for Delivery",
    "available_for_pickup": "Available for Pickup", "delivery_attempted": "Delivery Attempted",
    "delivered": "Delivered", "returning": "Returning", "returned": "Returned",
    "delivery_failed": "Delivery Failed", "cancelled": "Cancelled",
}
REASON_LABELS = {
    "address_issue": "Address Issue", "recipient_unavailable": "Recipient Unavailable",
    "refused": "Refused", "customs_hold": "Customs Hold",
    "documents_missing": "Documents Missing", "payment_due": "Payment Due",
    "damaged": "Damaged", "lost": "Lost", "delay_weather": "Delay (Weather)",
    "delay_carrier": "Delay (Carrier)", "held_contact_carrier": "Held, Contact Carrier",
    "not_collected": "Not Collected", "rejected_by_carrier": "Rejected by Carrier",
    "disposed": "Disposed", "label_failed": "Label Failed", "booking_rejected": "Booking Rejected",
    "wms_mismatch": "WMS Mismatch", "sync_failed": "Sync Failed", "sla_breach": "SLA Breach",
    "other": "Other",
}

T0 = datetime(2027, 1, 15, 6, 0, 0)
CARRIER = "carrier"


def ev(milestone, minutes=0, partner=CARRIER, key="k", **kw):
    return MilestoneEvent(key=key, occurred_at=T0 + timedelta(minutes=minutes),
                          milestone=milestone, partner=partner, **kw)


def at(milestone, partner=CARRIER, when=T0, **kw):
    return ShipmentState(milestone=milestone, milestone_at=when, milestone_partner=partner, **kw)


# -- vocabulary -------------------------------------------------------------------------------


def test_milestones_are_those_of_the_design_document_in_its_order():
    assert [(code, rank) for code, rank, _label in MILESTONES] == DOC_MILESTONES
    assert RANK == dict(DOC_MILESTONES)
    assert set(TERMINAL) == DOC_TERMINAL


def test_milestone_labels_are_pinned():
    assert MILESTONE_SELECTION == [(code, LABELS[code]) for code, _rank in DOC_MILESTONES]


def test_exception_reasons_are_those_of_the_design_document_in_its_order():
    assert [code for code, _label in EXCEPTION_REASONS] == DOC_REASONS
    assert EXCEPTION_REASON_SELECTION == [(code, REASON_LABELS[code]) for code in DOC_REASONS]
    assert EXCEPTION_REASON_CODES == set(DOC_REASONS)
    # "The last six are raised by the suite itself."
    assert SUITE_REASONS == ("label_failed", "booking_rejected", "wms_mismatch", "sync_failed",
                             "sla_breach", "other")


def test_exception_states_and_outcomes_are_pinned():
    assert EXCEPTION_STATES == ("none", "open", "resolved")
    assert (APPLIED, CORRECTION, STALE, IGNORED, UNMAPPED) == (
        "applied", "correction", "stale", "ignored_not_authoritative", "unmapped")
    assert OUTCOMES == ("applied", "correction", "stale", "ignored_not_authoritative", "unmapped")


def test_a_new_shipment_is_a_draft_without_exception():
    assert ShipmentState() == ShipmentState("draft", None, "", "none", None, "", None)
    event = MilestoneEvent("k", T0, "picked")
    assert (event.partner, event.authoritative, event.exception_reason, event.mapped,
            event.resolves_exception) == ("", True, None, True, False)


# -- flags that must stay false ----------------------------------------------------------------


def test_plain_progress_opens_and_resolves_nothing():
    step = transition(at("picked_up"), ev("in_transit", 5))
    assert (step.exception_opened, step.exception_resolved) == (False, False)
    assert step.after == ShipmentState("in_transit", T0 + timedelta(minutes=5), CARRIER)
    assert step.detail == "forward: picked_up (60) -> in_transit (70)"


def test_the_same_reason_again_does_not_reopen_an_open_exception():
    state = at("in_transit", exception_state="open", exception_reason="customs_hold",
               exception_partner=CARRIER, exception_at=T0)
    step = transition(state, ev(None, 5, exception_reason="customs_hold"))
    assert step.exception_opened is False and step.exception_resolved is False
    assert step.detail == "exception customs_hold, milestone unchanged"
    assert step.after.exception_at == T0 + timedelta(minutes=5)


def test_another_reason_on_an_open_exception_is_a_new_opening():
    state = at("in_transit", exception_state="open", exception_reason="customs_hold",
               exception_partner=CARRIER)
    step = transition(state, ev(None, 5, exception_reason="damaged"))
    assert step.exception_opened is True and step.after.exception_reason == "damaged"


def test_a_reason_on_a_resolved_exception_opens_it_again():
    state = at("in_transit", exception_state="resolved", exception_reason="customs_hold",
               exception_partner=CARRIER)
    step = transition(state, ev(None, 5, exception_reason="customs_hold"))
    assert step.exception_opened is True and step.after.exception_state == "open"


def test_progress_does_not_resolve_a_resolved_or_absent_exception():
    for exc_state in ("none", "resolved"):
        state = at("in_transit", exception_state=exc_state, exception_partner=CARRIER)
        step = transition(state, ev("out_for_delivery", 5))
        assert step.exception_resolved is False
        assert step.after.exception_state == exc_state


def test_progress_from_the_exception_partner_resolves_it_and_says_so():
    state = at("in_transit", exception_state="open", exception_reason="delay_weather",
               exception_partner=CARRIER)
    step = transition(state, ev("out_for_delivery", 5))
    assert (step.exception_opened, step.exception_resolved) == (False, True)
    assert step.after.exception_state == "resolved"
    assert step.after.exception_reason == "delay_weather"


def test_manual_resolution_without_open_exception_changes_nothing():
    state = at("in_transit")
    step = transition(state, ev(None, 5, partner="", resolves_exception=True))
    assert (step.outcome, step.detail) == (APPLIED, "no open exception to resolve")
    assert step.after == state and not (step.changed or step.exception_resolved)


def test_manual_resolution_detail_and_flags():
    state = at("in_transit", exception_state="open", exception_reason="lost")
    step = transition(state, ev(None, 5, partner="", resolves_exception=True))
    assert step.detail == "exception resolved by hand"
    assert (step.changed, step.exception_opened, step.exception_resolved) == (False, False, True)


def test_exception_raised_with_a_terminal_correction():
    step = transition(at("delivered"), ev("returning", 5, exception_reason="refused"))
    assert step.outcome == CORRECTION and step.exception_opened
    assert step.after.exception_reason == "refused" and step.after.milestone == "returning"


# -- corrections at the edges ------------------------------------------------------------------


def test_a_correction_at_exactly_the_same_instant_is_accepted():
    step = transition(at("delivered", when=T0), ev("returned", 0))
    assert step.outcome == CORRECTION and step.after.milestone == "returned"
    assert step.detail == "correction: delivered (100) -> returned (100)"


def test_a_correction_one_second_earlier_is_stale():
    step = transition(at("delivered", when=T0), ev("returned", -1 / 60))
    assert step.outcome == STALE and step.detail == "occurred before the delivered event"


def test_terminal_repeated_by_its_partner_is_applied_without_change():
    step = transition(at("delivered"), ev("delivered", 5))
    assert (step.outcome, step.detail, step.changed) == (APPLIED, "already delivered", False)


def test_terminal_repeated_by_another_partner_is_stale():
    step = transition(at("delivered"), ev("delivered", 5, partner="wms"))
    assert step.outcome == STALE
    assert step.detail == "delivered is terminal; only carrier can correct it"


def test_terminal_without_known_partner_names_its_partner_generically():
    step = transition(at("delivered", partner=""), ev("returned", 5, partner="wms"))
    assert step.detail == "delivered is terminal; only its partner can correct it"


def test_terminal_without_date_accepts_a_correction_from_its_partner():
    step = transition(at("delivered", when=None), ev("returned", 5))
    assert step.outcome == CORRECTION


# -- detail texts ---------------------------------------------------------------------------------


def test_detail_texts_of_refusals():
    assert transition(at("packed"), ev("returning", 5)).detail == (
        "returning needs label_created (40) or later, current is packed (30)")
    assert transition(at("label_created"), ev("returned", 5)).outcome == APPLIED
    assert transition(at("handed_over"), ev("delivery_failed", 5)).detail == (
        "delivery_failed needs picked_up (60) or later, current is handed_over (50)")
    assert transition(at("handed_over"), ev("cancelled", 5)).detail == (
        "cancelled must come before handed_over (50), current is handed_over (50)")
    assert transition(at("packed"), ev("cancelled", 5)).outcome == APPLIED
    step = transition(at("in_transit"), ev("delivered", 5, partner="wms", authoritative=False))
    assert step.detail == "partner 'wms' is not authoritative"
    assert transition(at("in_transit"), ev("teleported", 5)).detail == (
        "unknown milestone 'teleported'")
    assert transition(at("in_transit"), ev(None, 5, mapped=False)).detail == (
        "raw partner code is not mapped")
    assert transition(at("in_transit"), ev(None, 5)).detail == (
        "known code without milestone, no change")
    assert transition(at("in_transit"), ev("in_transit", 5)).detail == "already in_transit"
    assert transition(at("out_for_delivery"), ev("delivery_attempted", 5)).detail == (
        "sideways: out_for_delivery (80) -> delivery_attempted (80)")


def test_unmapped_event_does_not_move_even_with_a_known_milestone():
    state = at("in_transit")
    step = transition(state, ev("delivered", 5, mapped=False))
    assert step.outcome == UNMAPPED and step.after == state


def test_a_milestone_with_its_reason_on_the_same_shipment_keeps_the_new_partner():
    step = transition(at("in_transit", partner="wms"), ev("out_for_delivery", 5,
                                                         exception_reason="damaged"))
    assert step.after.milestone_partner == CARRIER and step.after.exception_partner == CARRIER


# -- replay order -------------------------------------------------------------------------------


def test_sort_key_values():
    assert sort_key(ev("in_transit", 0, key="a")) == (T0, 70, "a")
    assert sort_key(ev(None, 0, key="b")) == (T0, 101, "b")
    assert sort_key(ev("teleported", 0, key="c")) == (T0, 101, "c")


def test_replay_starts_from_a_draft_and_returns_every_step():
    state, steps = replay([ev("picked", 1, key="a"), ev("released", 0, key="b")])
    assert [s.event.key for s in steps] == ["b", "a"]
    assert steps[0].before == ShipmentState()
    assert state.milestone == "picked"


def test_refused_events_keep_the_state_and_raise_no_flag():
    state = at("in_transit", exception_state="open", exception_reason="lost",
               exception_partner=CARRIER)
    for event in (ev("teleported", 5), ev("in_transit", 5, mapped=False),
                  ev("delivered", 5, authoritative=False), ev("picked", 5)):
        step = transition(state, event)
        assert step.before == state and step.after == state, event
        assert (step.changed, step.exception_opened, step.exception_resolved) == (
            False, False, False), event
        assert step.exception_resolved is False and step.exception_opened is False


def test_every_refusal_and_no_op_step_names_its_own_event_and_keeps_the_state():
    # (state, event, outcome, detail): each early return of the state machine
    cases = [
        (at("in_transit"), ev("delivered", 5, mapped=False), UNMAPPED,
         "raw partner code is not mapped"),
        (at("in_transit"), ev("teleported", 5), UNMAPPED, "unknown milestone 'teleported'"),
        (at("in_transit"), ev("delivered", 5, partner="wms", authoritative=False), IGNORED,
         "partner 'wms' is not authoritative"),
        (at("in_transit"), ev(None, 5, resolves_exception=True), APPLIED,
         "no open exception to resolve"),
        (at("delivered"), ev("delivered", 5), APPLIED, "already delivered"),
        (at("delivered"), ev("returned", 5, partner="wms"), STALE,
         "delivered is terminal; only carrier can correct it"),
        (at("delivered"), ev("returned", -1), STALE, "occurred before the delivered event"),
        (at("packed"), ev("returning", 5), STALE,
         "returning needs label_created (40) or later, current is packed (30)"),
        (at("in_transit"), ev("picked", 5), STALE, "picked (20) is below in_transit (70)"),
    ]
    for state, event, outcome, detail in cases:
        step = transition(state, event)
        assert step.event is event, detail
        assert (step.outcome, step.detail) == (outcome, detail)
        assert step.before is state and step.after is state, detail
        assert (step.changed, step.exception_opened, step.exception_resolved) == (
            False, False, False), detail
