"""Exception triage as pure policy: which priority and next action an open
exception calls for, how much it matters to the customer, and which action
resolved each reason fastest so far.

* ``DEFAULT_RULES``: the explicit rules, as data (reason -> priority, action,
  optional mail template key). The addon seeds its editable rules from it and
  falls back on it for a reason without a rule.
* ``impact_score``: a documented, monotone score used to rank the workbench.
* ``fastest_actions``: learn from recorded resolutions.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from . import milestones as ms

#: Priorities, lowest first, with their weight in the impact score.
PRIORITIES: tuple[tuple[str, str], ...] = (
    ("low", "Low"),
    ("normal", "Normal"),
    ("high", "High"),
    ("urgent", "Urgent"),
)
PRIORITY_CODES: tuple[str, ...] = tuple(code for code, _label in PRIORITIES)
#: As a list (Odoo reflects and translates only list selections).
PRIORITY_SELECTION: list[tuple[str, str]] = list(PRIORITIES)
PRIORITY_WEIGHT: dict[str, float] = {"low": 0.25, "normal": 0.5, "high": 0.75, "urgent": 1.0}

#: The action vocabulary: what an operator does about an exception.
ACTIONS: tuple[tuple[str, str], ...] = (
    ("contact_customer", "Contact the customer"),
    ("send_documents", "Send the customs documents"),
    ("pay_charges", "Settle the charges due"),
    ("wait_and_notify", "Wait and notify the customer"),
    ("contact_carrier", "Contact the carrier"),
    ("open_claim", "Open a claim with the carrier"),
    ("reship", "Ship a replacement"),
    ("request_label", "Re-request the label"),
    ("fix_wms_data", "Fix the warehouse data"),
    ("release_wms", "Re-release to the warehouse"),
    ("replay_job", "Replay the failed call"),
    ("investigate", "Investigate"),
    ("wait", "Nothing: the partner resolved it"),
    ("other", "Other"),
)
ACTION_CODES: tuple[str, ...] = tuple(code for code, _label in ACTIONS)
#: As a list (Odoo reflects and translates only list selections).
ACTION_SELECTION: list[tuple[str, str]] = list(ACTIONS)
ACTION_LABELS: dict[str, str] = dict(ACTIONS)

#: Actions the suite can run by itself from the workbench (a remedy exists).
REMEDY_ACTIONS: frozenset[str] = frozenset({"request_label", "release_wms", "replay_job"})

#: Mail template keys a rule may name (the addon maps them to its templates).
TEMPLATE_KEYS: tuple[str, ...] = ("address_confirmation",)


@dataclass(frozen=True)
class Rule:
    """What to do about one exception reason."""

    reason: str
    priority: str
    action: str
    template: str | None = None


def _rule(reason: str, priority: str, action: str, template: str | None = None) -> Rule:
    return Rule(reason, priority, action, template)


#: The default triage table: one explicit rule per exception reason.
DEFAULT_RULES: dict[str, Rule] = {r.reason: r for r in (
    _rule("address_issue", "high", "contact_customer", "address_confirmation"),
    _rule("recipient_unavailable", "normal", "contact_customer"),
    _rule("refused", "high", "contact_customer"),
    _rule("customs_hold", "high", "send_documents"),
    _rule("documents_missing", "high", "send_documents"),
    _rule("payment_due", "high", "pay_charges"),
    _rule("damaged", "high", "open_claim"),
    _rule("lost", "urgent", "open_claim"),
    _rule("delay_weather", "low", "wait_and_notify"),
    _rule("delay_carrier", "normal", "wait_and_notify"),
    _rule("held_contact_carrier", "high", "contact_carrier"),
    _rule("not_collected", "normal", "contact_customer"),
    _rule("rejected_by_carrier", "high", "contact_carrier"),
    _rule("disposed", "urgent", "open_claim"),
    _rule("label_failed", "high", "request_label"),
    _rule("booking_rejected", "high", "request_label"),
    _rule("wms_mismatch", "high", "fix_wms_data"),
    _rule("freight_variance", "normal", "contact_carrier"),
    _rule("cod_variance", "high", "contact_carrier"),
    _rule("sync_failed", "high", "replay_job"),
    _rule("sla_breach", "normal", "contact_carrier"),
    _rule("other", "normal", "investigate"),
)}

#: For a reason outside the table (a reason added later): look into it.
FALLBACK_RULE = Rule("other", "normal", "investigate")


def _check_rule(rule: Rule) -> None:
    if rule.priority not in PRIORITY_CODES:
        raise ValueError(f"unknown priority {rule.priority!r} for {rule.reason!r}")
    if rule.action not in ACTION_CODES:
        raise ValueError(f"unknown action {rule.action!r} for {rule.reason!r}")
    if rule.template is not None and rule.template not in TEMPLATE_KEYS:
        raise ValueError(f"unknown template {rule.template!r} for {rule.reason!r}")


for _default in DEFAULT_RULES.values():
    _check_rule(_default)
del _default
assert set(DEFAULT_RULES) == ms.CARD_REASON_CODES, "a reason without a triage rule"


#: An SLA breach is a shipment stuck at a milestone for too long: what to do
#: depends on where it is stuck (the alert rule's milestone).
SLA_BREACH_RULES: dict[str, Rule] = {r.reason: r for r in (
    # packed (or label ordered) but no label: the booking is what is missing
    Rule("packed", "high", "request_label"),
    Rule("label_created", "normal", "contact_carrier"),
    # handed over, out for delivery... with no news: the carrier knows
    Rule("handed_over", "normal", "contact_carrier"),
    Rule("picked_up", "normal", "contact_carrier"),
    Rule("in_transit", "normal", "contact_carrier"),
    Rule("out_for_delivery", "high", "contact_carrier"),
    Rule("delivery_attempted", "high", "contact_customer"),
    Rule("available_for_pickup", "normal", "contact_customer"),
    # still in the warehouse: its data (or its release) is what to look at
    Rule("released", "normal", "fix_wms_data"),
    Rule("picked", "normal", "fix_wms_data"),
)}


def rule_for(reason: str | None, overrides: Mapping[str, Rule] | None = None,
             stuck_milestone: str | None = None) -> Rule:
    """The rule of ``reason``: the override if any (a company's own rules),
    else the default table, else the fallback (investigate, normal). For an
    SLA breach, ``stuck_milestone`` (where the shipment is stuck) picks the
    rule of that kind of breach."""
    if overrides and reason in overrides:
        return overrides[reason]
    if reason == "sla_breach" and stuck_milestone in SLA_BREACH_RULES:
        kind = SLA_BREACH_RULES[stuck_milestone]
        return Rule("sla_breach", kind.priority, kind.action)
    return DEFAULT_RULES.get(reason or "", Rule(reason or "other", FALLBACK_RULE.priority,
                                                FALLBACK_RULE.action))


# ----------------------------------------------------------------------
# impact
# ----------------------------------------------------------------------
#: Weights of the four terms of the impact score (they sum to 1).
W_PRIORITY, W_PROMISE, W_VALUE, W_REPEAT = 0.30, 0.30, 0.25, 0.15
#: The promise term grows from 0 (promised date ``PROMISE_HORIZON_H`` hours or
#: more away) to 1 (due now), then on to 2 (overdue by as much again or more).
PROMISE_HORIZON_H = 72.0
#: Without a promised date the promise term is 0.5 (as if due in 36 hours).
NO_PROMISE_TERM = 0.5
#: An order worth ``VALUE_REF`` (company currency) or more scores the full value term.
VALUE_REF = 10_000.0
#: Repeat exceptions on the lane count up to ``REPEAT_CAP``.
REPEAT_CAP = 10


def promise_term(promised_at: datetime | None, now: datetime) -> float:
    """0..2: how close (or how far past) the promised delivery date is."""
    if promised_at is None:
        return NO_PROMISE_TERM
    hours_left = (promised_at - now).total_seconds() / 3600.0
    return min(2.0, max(0.0, 1.0 - hours_left / PROMISE_HORIZON_H))


def value_term(order_value: float | None) -> float:
    """0..1: log-scaled order value (0 or unknown scores 0)."""
    value = max(0.0, float(order_value or 0.0))
    return min(1.0, math.log10(1.0 + value) / math.log10(1.0 + VALUE_REF))


def repeat_term(repeat_on_lane: int | None) -> float:
    """0..1: other exceptions on the same lane lately, capped."""
    return min(max(int(repeat_on_lane or 0), 0), REPEAT_CAP) / REPEAT_CAP


def impact_score(promised_at: datetime | None, now: datetime, order_value: float | None,
                 repeat_on_lane: int | None, priority: str | None) -> float:
    """Customer impact of an open exception, 0..100, higher first.

    ``100 * (0.30 * priority + 0.30 * promise / 2 + 0.25 * value + 0.15 * repeats)``
    where ``priority`` is the rule's weight (low 0.25 .. urgent 1), ``promise``
    is :func:`promise_term` (0 when the promised date is 3 days or more away,
    1 when due now, 2 when 3 days or more overdue; 0.5 without a date),
    ``value`` is :func:`value_term` (log-scaled order value in the company
    currency, full at 10,000) and ``repeats`` is :func:`repeat_term` (other
    exception cards on the same lane in the last 30 days, full at 10).

    Monotone in each argument: a closer or overdue promised date, a higher
    order value, more repeats on the lane or a higher priority never lower it.
    """
    score = (W_PRIORITY * PRIORITY_WEIGHT.get(priority or "normal", PRIORITY_WEIGHT["normal"])
             + W_PROMISE * promise_term(promised_at, now) / 2.0
             + W_VALUE * value_term(order_value)
             + W_REPEAT * repeat_term(repeat_on_lane))
    return round(100.0 * score, 2)


# ----------------------------------------------------------------------
# learning from resolutions
# ----------------------------------------------------------------------
@dataclass(frozen=True)
class Fastest:
    """The action that resolved a reason fastest, historically."""

    reason: str
    action: str
    median_hours: float
    count: int


#: Below this many resolutions an action is not trusted to be "fastest".
MIN_RESOLUTIONS = 3


def fastest_actions(resolutions: Iterable[tuple[str, str, float]],
                    min_count: int = MIN_RESOLUTIONS) -> dict[str, Fastest]:
    """Per reason, the action with the lowest median time to resolve among the
    actions with at least ``min_count`` resolutions. ``resolutions`` are
    ``(reason, action, hours)``; rows without an action or hours, and negative
    hours, are ignored. Ties go to the action with more resolutions, then to
    the first action code in alphabetical order (deterministic)."""
    if min_count < 1:
        raise ValueError("min_count must be at least 1")
    hours_by: dict[tuple[str, str], list[float]] = defaultdict(list)
    for reason, action, hours in resolutions:
        if not reason or not action or hours is None or hours < 0:
            continue
        hours_by[(reason, action)].append(float(hours))
    best: dict[str, Fastest] = {}
    for (reason, action), values in sorted(hours_by.items()):
        if len(values) < min_count:
            continue
        candidate = Fastest(reason, action, round(statistics.median(values), 2), len(values))
        current = best.get(reason)
        if current is None or (candidate.median_hours, -candidate.count, candidate.action) < (
                current.median_hours, -current.count, current.action):
            best[reason] = candidate
    return best


def resolution_hours(opened_at: datetime, resolved_at: datetime) -> float:
    """Hours from opening to resolution (never negative), 2 decimals."""
    return round(max(0.0, (resolved_at - opened_at).total_seconds() / 3600.0), 2)
