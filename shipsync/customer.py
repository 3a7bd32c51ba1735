"""What a customer may see of a shipment, as pure values.

The wording itself lives in the addon (translatable); this module decides
*what* is customer-visible: which milestones notify, which exception reasons
a customer is told about and under which customer-facing category, and how
scan locations are cut down to city and country.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from . import milestones as ms

#: Milestones a customer is notified of (one mail kind each), in journey order.
NOTIFY_MILESTONES: tuple[str, ...] = (
    "handed_over", "out_for_delivery", "available_for_pickup", "delivery_attempted",
    "delivered",
)
#: Notification kinds of the core: the milestones above and ``exception``.
NOTIFY_KINDS: tuple[str, ...] = NOTIFY_MILESTONES + ("exception",)

#: Exception reason -> customer-facing category. Reasons absent here are
#: internal (a refused label, a WMS mismatch, a dead letter, an SLA breach):
#: a customer is never told about them.
EXCEPTION_CATEGORY: dict[str, str] = {
    "address_issue": "address",
    "recipient_unavailable": "recipient",
    "refused": "refused",
    "customs_hold": "customs",
    "documents_missing": "customs",
    "payment_due": "payment",
    "damaged": "damaged",
    "lost": "lost",
    "delay_weather": "delay",
    "delay_carrier": "delay",
    "held_contact_carrier": "contact_carrier",
    "not_collected": "not_collected",
    "rejected_by_carrier": "delay",
    "disposed": "lost",
    "other": "delay",
}
CUSTOMER_CATEGORIES: tuple[str, ...] = tuple(dict.fromkeys(EXCEPTION_CATEGORY.values()))

#: Milestones shown on a customer's timeline (before hand-over only the
#: preparation steps are shown, without who did them).
TIMELINE_MILESTONES = frozenset(code for code, _r, _l in ms.MILESTONES) - {"draft"}


def exception_category(reason: str | None) -> str | None:
    """The customer-facing category of an exception reason, or None when the
    reason is internal and must not reach the customer."""
    return EXCEPTION_CATEGORY.get(reason or "")


#: Milestones that claim the parcel left for the customer on Odoo's word
#: alone (validation), before any carrier has a label for it.
LABEL_GATED_MILESTONES = frozenset({"label_created", "handed_over"})
#: What the customer is shown instead while the label is missing.
AWAITING_LABEL_MILESTONE = "packed"


def customer_milestone(milestone: str | None, awaiting_label: bool) -> str:
    """The milestone a customer is shown. A delivery validated in Odoo whose
    carrier has not issued its label (no tracking number: the booking is
    queued, retrying or dead) has not left as far as anyone can prove: the
    customer sees it packed, never "shipped", until the label exists. A
    carrier's own scan (picked up, in transit...) is shown as it is."""
    milestone = milestone or "draft"
    if awaiting_label and milestone in LABEL_GATED_MILESTONES:
        return AWAITING_LABEL_MILESTONE
    return milestone


def notification_keys(before: ms.ShipmentState, after: ms.ShipmentState,
                      awaiting_label: bool = False) -> list[tuple[str, str]]:
    """(kind, key) of the customer notifications a replay from ``before`` to
    ``after`` calls for. ``key`` is what makes a notification unique per
    shipment: the milestone for milestone kinds, ``exception:<reason>`` for
    exceptions. Only the *final* state counts, so a stale or duplicate event
    (which does not move the state) never notifies, and a milestone skipped
    over by a later one arriving first is never announced. ``awaiting_label``:
    the shipment has no carrier label yet, so ``handed_over`` is not announced
    now (:func:`label_released_keys` announces it when the label comes)."""
    keys: list[tuple[str, str]] = []
    shown = customer_milestone(after.milestone, awaiting_label)
    if after.milestone != before.milestone and shown in NOTIFY_MILESTONES:
        keys.append((shown, shown))
    opened = after.exception_state == "open" and (
        before.exception_state != "open" or before.exception_reason != after.exception_reason)
    if opened and exception_category(after.exception_reason):
        keys.append(("exception", f"exception:{after.exception_reason}"))
    return keys


def label_released_keys(milestone: str | None) -> list[tuple[str, str]]:
    """(kind, key) of the notification held back by ``awaiting_label``, due
    now that the label (tracking number) exists: "shipped" when the shipment
    still stands at ``handed_over`` (a later carrier scan announced itself)."""
    if milestone == "handed_over":
        return [("handed_over", "handed_over")]
    return []


def state_before(milestone: str | None, exception_state: str | None,
                 exception_reason: str | None) -> ms.ShipmentState:
    """The part of a ShipmentState that ``notification_keys`` compares, from
    the stored fields of a shipment (as the addon passes them around)."""
    return ms.ShipmentState(milestone=milestone or "draft",
                            exception_state=exception_state or "none",
                            exception_reason=exception_reason or None)


#: Why a notification is recorded but not sent (audit trail; never re-sent).
SKIP_COMPANY_OFF = "company_off"
SKIP_OPTED_OUT = "opted_out"
SKIP_NO_EMAIL = "no_email"
SKIP_REASONS: tuple[str, ...] = (SKIP_COMPANY_OFF, SKIP_OPTED_OUT, SKIP_NO_EMAIL)


@dataclass(frozen=True)
class Decision:
    """What to do with a notification a shipment calls for: ``record`` False
    means the shipment is not a customer delivery (receipt, internal move,
    return, no customer) and nothing is recorded; otherwise a row is kept,
    to send when ``skip_reason`` is None, as skipped with that reason when
    not."""

    record: bool
    skip_reason: str | None = None

    @property
    def send(self) -> bool:
        return self.record and self.skip_reason is None


def notification_decision(*, outgoing: bool, is_return: bool, has_customer: bool,
                          has_email: bool, enabled: bool, opted_out: bool) -> Decision:
    """Policy for one notification of one shipment. Only customer deliveries
    (outgoing, not a return, with a customer) are recorded. The company switch
    comes first (a kind switched off is off for everyone), then the customer's
    opt-out, then a customer without an email address."""
    if not (outgoing and not is_return and has_customer):
        return Decision(record=False)
    if not enabled:
        return Decision(True, SKIP_COMPANY_OFF)
    if opted_out:
        return Decision(True, SKIP_OPTED_OUT)
    if not has_email:
        return Decision(True, SKIP_NO_EMAIL)
    return Decision(True)


def superseded(kind: str, key: str, *, milestone: str, exception_state: str,
               exception_reason: str | None, later_milestone_kinds: Iterable[str] = ()) -> bool:
    """True when a notification still waiting to be sent no longer tells the
    truth and must be skipped rather than mailed:

    - an exception that is no longer open under that reason (resolved, or
      replaced by another one that has its own notification);
    - a milestone the shipment has left *and* a later milestone notification
      of the same shipment is waiting too (the customer hears the latest news
      only; a milestone left for a silent one, e.g. handed_over -> in_transit,
      is still sent);
    - a kind added by another module once the shipment reached a terminal
      milestone (nothing is running late once delivered).
    """
    if kind == "exception":
        return not (exception_state == "open" and key == f"exception:{exception_reason}")
    if kind in NOTIFY_MILESTONES:
        return milestone != kind and any(k in NOTIFY_MILESTONES for k in later_milestone_kinds)
    return milestone in ms.TERMINAL


_POSTCODE = re.compile(r"^[A-Z]{0,2}[\d\- ]{3,}[A-Z\d]{0,3}$", re.I)


def public_location(location: str | None) -> str:
    """Cut a scan location (``city, state, zip, country`` as the normalizers
    join it) down to city and country: no street, no postcode."""
    parts = [p.strip() for p in (location or "").split(",") if p.strip()]
    parts = [p for p in parts if not _POSTCODE.match(p) and not any(ch.isdigit() for ch in p)]
    if len(parts) <= 1:
        return parts[0] if parts else ""
    return f"{parts[0]}, {parts[-1]}"


@dataclass(frozen=True)
class TimelineEntry:
    """One line of a customer's timeline."""

    at: datetime
    milestone: str | None
    category: str | None  # customer-facing exception category, if any
    location: str


def customer_timeline(events: Iterable[Mapping],
                      awaiting_label: bool = False) -> list[TimelineEntry]:
    """Customer-safe timeline, newest first, from ledger rows given as
    mappings with ``occurred_at``, ``milestone``, ``exception_reason``,
    ``location`` and ``state``. Only applied events (and corrections) are
    shown; internal exceptions, partners, raw codes and messages never are;
    repeats of the same milestone keep the first scan. ``awaiting_label``
    leaves out the milestones :func:`customer_milestone` holds back."""
    seen: set[tuple] = set()
    entries: list[TimelineEntry] = []
    rows = sorted((e for e in events if e.get("state") == "applied" and e.get("occurred_at")),
                  key=lambda e: e["occurred_at"])
    for row in rows:
        milestone = row.get("milestone") if row.get("milestone") in TIMELINE_MILESTONES else None
        if awaiting_label and milestone in LABEL_GATED_MILESTONES:
            milestone = None
        category = exception_category(row.get("exception_reason"))
        if not milestone and not category:
            continue
        key = (milestone, category)
        if key in seen:
            continue
        seen.add(key)
        entries.append(TimelineEntry(at=row["occurred_at"], milestone=milestone,
                                     category=category,
                                     location=public_location(row.get("location"))))
    entries.reverse()
    return entries
