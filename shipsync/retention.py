"""Retention of message bodies: how long raw inbound bodies, outbound payloads
and attempt excerpts are kept, and the cut-off dates of a purge run.

The ledger rows themselves are never deleted by this policy: only the bodies
are blanked, so ids, states, timestamps and milestones (history, KPIs) stay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

KINDS = ("inbound_body", "outbound_payload", "attempt_excerpt")
DEFAULT_DAYS = {"inbound_body": 30, "outbound_payload": 30, "attempt_excerpt": 14}
PURGE_BATCH = 500
PURGED_MARK = "[purged]"
#: Days a dashboard drill-down link (the list a tile's number opened, frozen at
#: the instant it was computed) is kept after it was last opened.
DRILLDOWN_LINK_DAYS = 30


@dataclass(frozen=True)
class RetentionPolicy:
    """Days each kind of body is kept; 0 means "keep forever"."""

    inbound_body: int = DEFAULT_DAYS["inbound_body"]
    outbound_payload: int = DEFAULT_DAYS["outbound_payload"]
    attempt_excerpt: int = DEFAULT_DAYS["attempt_excerpt"]

    def __post_init__(self):
        for kind in KINDS:
            value = getattr(self, kind)
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"{kind} retention must be a whole number of days >= 0")

    def cutoff(self, kind: str, now: datetime) -> datetime | None:
        """Bodies of ``kind`` stored before this instant are past retention; None when
        they are kept forever."""
        days = getattr(self, kind)
        if not days:
            return None
        return now - timedelta(days=days)


def effective(partner_days: dict, company_days: dict) -> RetentionPolicy:
    """A partner's policy: its own value per kind when set (> 0), else the company
    default (> 0), else the suite default."""
    values = {}
    for kind in KINDS:
        own, company = partner_days.get(kind) or 0, company_days.get(kind) or 0
        values[kind] = int(own) if own > 0 else int(company) if company > 0 \
            else DEFAULT_DAYS[kind]
    return RetentionPolicy(**values)


def within(stored_at: datetime | None, policy: RetentionPolicy, kind: str, now: datetime) -> bool:
    """Is a body of ``kind`` stored at ``stored_at`` still within retention?"""
    cut = policy.cutoff(kind, now)
    return cut is None or stored_at is None or stored_at >= cut


def drilldown_link_cutoff(now: datetime, days: int = DRILLDOWN_LINK_DAYS) -> datetime:
    """Drill-down links last opened before this instant are purged."""
    if not isinstance(days, int) or days <= 0:
        raise ValueError("drill-down links must be kept a whole number of days > 0")
    return now - timedelta(days=days)
