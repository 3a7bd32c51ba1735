"""Canonical shipment milestones, exception reasons and the milestone state machine.

The rules are those of ``design/milestones.md``. ``transition`` is a pure function
of a state and one event; ``replay`` sorts events by ``sort_key`` and folds
``transition`` so the result does not depend on the order of arrival.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

MILESTONES: tuple[tuple[str, int, str], ...] = (
    ("draft", 0, "Draft"),
    ("released", 10, "Released"),
    ("picked", 20, "Picked"),
    ("packed", 30, "Packed"),
    ("label_created", 40, "Label Created"),
    ("handed_over", 50, "Handed Over"),
    ("picked_up", 60, "Picked Up"),
    ("in_transit", 70, "In Transit"),
    ("out_for_delivery", 80, "Out for Delivery"),
    ("available_for_pickup", 80, "Available for Pickup"),
    ("delivery_attempted", 80, "Delivery Attempted"),
    ("delivered", 100, "Delivered"),
    ("returning", 90, "Returning"),
    ("returned", 100, "Returned"),
    ("delivery_failed", 100, "Delivery Failed"),
    ("cancelled", 100, "Cancelled"),
)
RANK: dict[str, int] = {code: rank for code, rank, _label in MILESTONES}
TERMINAL = frozenset({"delivered", "returned", "delivery_failed", "cancelled"})
MILESTONE_SELECTION: list[tuple[str, str]] = [(code, label) for code, _r, label in MILESTONES]

EXCEPTION_REASONS: tuple[tuple[str, str], ...] = (
    ("address_issue", "Address Issue"),
    ("recipient_unavailable", "Recipient Unavailable"),
    ("refused", "Refused"),
    ("customs_hold", "Customs Hold"),
    ("documents_missing", "Documents Missing"),
    ("payment_due", "Payment Due"),
    ("damaged", "Damaged"),
    ("lost", "Lost"),
    ("delay_weather", "Delay (Weather)"),
    ("delay_carrier", "Delay (Carrier)"),
    ("held_contact_carrier", "Held, Contact Carrier"),
    ("not_collected", "Not Collected"),
    ("rejected_by_carrier", "Rejected by Carrier"),
    ("disposed", "Disposed"),
    ("label_failed", "Label Failed"),
    ("booking_rejected", "Booking Rejected"),
    ("wms_mismatch", "WMS Mismatch"),
    ("sync_failed", "Sync Failed"),
    ("sla_breach", "SLA Breach"),
    ("other", "Other"),
)
EXCEPTION_REASON_SELECTION: list[tuple[str, str]] = list(EXCEPTION_REASONS)
EXCEPTION_REASON_CODES = frozenset(code for code, _label in EXCEPTION_REASONS)
#: Reasons raised by the suite itself (label refused, WMS mismatch, dead letter, rules).
SUITE_REASONS: tuple[str, ...] = tuple(code for code, _label in EXCEPTION_REASONS[-6:])
#: Reasons the suite raises beside the milestone track, about money, not the parcel: not
#: part of the canonical vocabulary (no partner sends them, no ledger event carries them:
#: freight charges arrive when the shipment is often terminal already, and a terminal
#: track takes no exception). Their owner raises and closes them on the side
#: (``stock.picking._shipment_side_exception``): a to-do, or the monitor's workbench card.
SIDE_REASON_SELECTION: list[tuple[str, str]] = [("freight_variance", "Freight Variance"),
                                                  ("cod_variance", "COD Variance")]
SIDE_REASONS = frozenset(code for code, _label in SIDE_REASON_SELECTION)
#: Every reason a workbench card or a triage rule can have: the canonical ones, then the
#: side ones.
CARD_REASON_SELECTION: list[tuple[str, str]] = EXCEPTION_REASON_SELECTION + SIDE_REASON_SELECTION
CARD_REASON_CODES = EXCEPTION_REASON_CODES | SIDE_REASONS

EXCEPTION_STATES = ("none", "open", "resolved")

APPLIED = "applied"
CORRECTION = "correction"
STALE = "stale"
IGNORED = "ignored_not_authoritative"
UNMAPPED = "unmapped"
OUTCOMES = (APPLIED, CORRECTION, STALE, IGNORED, UNMAPPED)

_LABEL_CREATED = RANK["label_created"]
_HANDED_OVER = RANK["handed_over"]
_PICKED_UP = RANK["picked_up"]


@dataclass(frozen=True)
class MilestoneEvent:
    """One partner (or internal) event, already mapped to the canonical vocabulary."""

    key: str
    occurred_at: datetime
    milestone: str | None
    partner: str = ""
    authoritative: bool = True
    exception_reason: str | None = None
    mapped: bool = True
    resolves_exception: bool = False


@dataclass(frozen=True)
class ShipmentState:
    """Milestone and exception track of one shipment."""

    milestone: str = "draft"
    milestone_at: datetime | None = None
    milestone_partner: str = ""
    exception_state: str = "none"
    exception_reason: str | None = None
    exception_partner: str = ""
    exception_at: datetime | None = None


@dataclass(frozen=True)
class Step:
    """The result of applying one event to a state."""

    event: MilestoneEvent
    outcome: str
    detail: str
    before: ShipmentState
    after: ShipmentState
    changed: bool
    exception_opened: bool
    exception_resolved: bool


def _describe(code: str) -> str:
    return f"{code} ({RANK[code]})"


def _unchanged(state: ShipmentState, event: MilestoneEvent, outcome: str, detail: str) -> Step:
    return Step(event, outcome, detail, state, state, False, False, False)


def _unreachable(current: str, target: str) -> str | None:
    """Why ``target`` cannot be reached from the non-terminal ``current``, or None."""
    rank = RANK[current]
    if target in ("returning", "returned") and rank < _LABEL_CREATED:
        return f"{target} needs label_created (40) or later, current is {_describe(current)}"
    if target == "delivery_failed" and rank < _PICKED_UP:
        return f"{target} needs picked_up (60) or later, current is {_describe(current)}"
    if target == "cancelled" and rank >= _HANDED_OVER:
        return f"cancelled must come before handed_over (50), current is {_describe(current)}"
    return None


def _with_exception(
    before: ShipmentState, after: ShipmentState, event: MilestoneEvent, outcome: str, detail: str
) -> Step:
    """Apply the exception track to an applied or correction step and build the Step."""
    opened = resolved = False
    reason = event.exception_reason
    if reason:
        opened = before.exception_state != "open" or before.exception_reason != reason
        after = replace(
            after,
            exception_state="open",
            exception_reason=reason,
            exception_partner=event.partner,
            exception_at=event.occurred_at,
        )
    elif (
        outcome == APPLIED
        and before.exception_state == "open"
        and event.milestone is not None
        and after.milestone != before.milestone
        and RANK[after.milestone] > RANK[before.milestone]
        and event.partner == before.exception_partner
    ):
        resolved = True
        after = replace(after, exception_state="resolved")
    changed = after.milestone != before.milestone
    return Step(event, outcome, detail, before, after, changed, opened, resolved)


def _move(state: ShipmentState, event: MilestoneEvent) -> ShipmentState:
    return replace(
        state,
        milestone=event.milestone,
        milestone_at=event.occurred_at,
        milestone_partner=event.partner,
    )


def transition(state: ShipmentState, event: MilestoneEvent) -> Step:
    """Apply one event to a state following the rules of milestones.md."""
    if not event.mapped:
        return _unchanged(state, event, UNMAPPED, "raw partner code is not mapped")
    if event.milestone is not None and event.milestone not in RANK:
        return _unchanged(state, event, UNMAPPED, f"unknown milestone {event.milestone!r}")
    if not event.authoritative:
        return _unchanged(
            state, event, IGNORED, f"partner {event.partner!r} is not authoritative"
        )
    if event.resolves_exception:
        if state.exception_state != "open":
            return _unchanged(state, event, APPLIED, "no open exception to resolve")
        after = replace(state, exception_state="resolved")
        return Step(event, APPLIED, "exception resolved by hand", state, after, False, False, True)

    current = state.milestone
    target = event.milestone
    if current in TERMINAL:
        if target == current and event.partner == state.milestone_partner:
            return _unchanged(state, event, APPLIED, f"already {current}")
        if target is None or event.partner != state.milestone_partner:
            return _unchanged(
                state, event, STALE,
                f"{current} is terminal; only {state.milestone_partner or 'its partner'} "
                "can correct it",
            )
        if state.milestone_at is not None and event.occurred_at < state.milestone_at:
            return _unchanged(state, event, STALE, f"occurred before the {current} event")
        detail = f"correction: {_describe(current)} -> {_describe(target)}"
        return _with_exception(state, _move(state, event), event, CORRECTION, detail)

    if target is None:
        if event.exception_reason:
            detail = f"exception {event.exception_reason}, milestone unchanged"
        else:
            detail = "known code without milestone, no change"
        return _with_exception(state, state, event, APPLIED, detail)

    why = _unreachable(current, target)
    if why:
        return _unchanged(state, event, STALE, why)

    new_rank, cur_rank = RANK[target], RANK[current]
    if new_rank < cur_rank:
        return _unchanged(
            state, event, STALE, f"{_describe(target)} is below {_describe(current)}"
        )
    if target == current:
        return _with_exception(state, state, event, APPLIED, f"already {current}")
    kind = "sideways" if new_rank == cur_rank else "forward"
    detail = f"{kind}: {_describe(current)} -> {_describe(target)}"
    return _with_exception(state, _move(state, event), event, APPLIED, detail)


#: Events without a milestone (exception-only, manual resolutions, unmapped
#: codes) sort after the milestones of the same instant: timestamps are often
#: whole seconds, and an exception raised in the second of a progress event
#: must stay open rather than be resolved by it.
_NO_MILESTONE_RANK = max(RANK.values()) + 1


def sort_key(event: MilestoneEvent) -> tuple:
    """Replay order: occurrence time, then milestone rank, then the unique key."""
    return (event.occurred_at, RANK.get(event.milestone or "", _NO_MILESTONE_RANK), event.key)


def internal_key(now_ns: int, nonce: str) -> str:
    """The ledger key of an event Odoo raises itself: ``odoo:<epoch ns, 20 digits>:<nonce>``.
    Keys sort by arrival (fixed-width nanoseconds), so :func:`sort_key` places Odoo's own
    events of one instant in the order they were raised (an exception, then its
    resolution); the nonce keeps two keys of one nanosecond apart."""
    return f"odoo:{int(now_ns):020d}:{nonce}"


def internal_occurrence(
    now: datetime, latest_internal: datetime | None = None, resolving: datetime | None = None
) -> datetime:
    """When an event Odoo raises itself (validation, an exception, a person's
    resolution) occurred: now, but never before the last event Odoo recorded
    for the same shipment (``latest_internal``): Odoo's own events follow each
    other in the order they were raised. A resolution closes the exception the
    person saw (``resolving``: that exception's time): it is placed after it,
    a second later when both fall in the same second (ledger times are whole
    seconds). Ties of one instant are broken by the events' arrival-ordered
    keys (``sort_key``)."""
    at = now
    if latest_internal is not None and latest_internal > at:
        at = latest_internal
    if resolving is not None and resolving >= at:
        at = resolving + timedelta(seconds=1)
    return at


#: On a *return* shipment the carrier's forward vocabulary means the way back: any
#: movement is ``returning`` and its delivery (to the sender) is ``returned``.
RETURN_LEG_MILESTONES = {
    "picked_up": "returning",
    "in_transit": "returning",
    "out_for_delivery": "returning",
    "available_for_pickup": "returning",
    "delivery_attempted": "returning",
    "delivered": "returned",
}


def return_leg_milestone(milestone: str | None) -> str | None:
    """The milestone a carrier event means on a return shipment (None stays None)."""
    return RETURN_LEG_MILESTONES.get(milestone, milestone) if milestone else milestone


def leg_milestone(milestone: str | None, *, inbound: bool, return_leg: bool) -> str | None:
    """The milestone an event means on its shipment: a partner's (``inbound``) event on
    a return shipment speaks of the way back (:func:`return_leg_milestone`); Odoo's own
    events and forward shipments keep theirs."""
    return return_leg_milestone(milestone) if inbound and return_leg else milestone


def replay(
    events: Iterable[MilestoneEvent], initial: ShipmentState | None = None
) -> tuple[ShipmentState, list[Step]]:
    """Sort events by ``sort_key`` and fold ``transition``; returns final state and steps."""
    state = initial if initial is not None else ShipmentState()
    steps: list[Step] = []
    for event in sorted(events, key=sort_key):
        step = transition(state, event)
        steps.append(step)
        state = step.after
    return state, steps
