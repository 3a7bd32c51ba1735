"""The events the outbox publishes to subscribers (``shipment.milestone_changed``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from .outcomes import _iso

EVENT_MILESTONE_CHANGED = "shipment.milestone_changed"


def wants(milestone_codes: Iterable[str] | None, milestone: str) -> bool:
    """Does a subscription filtering on ``milestone_codes`` (empty: all) want it?"""
    codes = set(milestone_codes or ())
    return not codes or milestone in codes


def milestone_event(
    *,
    event_id: str,
    created_at: datetime,
    shipment: Mapping[str, Any],
    previous_milestone: str | None,
    milestone: str,
    milestone_at: datetime | None,
    exception_state: str = "none",
    exception_reason: str | None = None,
    source: str = "",
    correlation_id: str | None = None,
    company_id: int | None = None,
) -> dict:
    """The body of a ``shipment.milestone_changed`` event (JSON-serializable).

    ``shipment`` holds the references a subscriber matches on (``reference``,
    ``correlation_id``, ``tracking_numbers``, ``carrier``, ``origin``...).
    ``correlation_id`` and ``company_id`` add the envelope fields every event of the
    catalogue carries (``shipsync.catalogue``), with ``occurred_at`` (the milestone's
    time); without them the body is the one this type always had.
    """
    envelope = {}
    if correlation_id is not None or company_id is not None:
        envelope = {"occurred_at": _iso(milestone_at or created_at),
                    "correlation_id": correlation_id or None, "company_id": company_id or None}
    return {
        "id": event_id,
        "type": EVENT_MILESTONE_CHANGED,
        "schema_version": "1",
        "created_at": _iso(created_at),
        **envelope,
        "data": {
            "shipment": {k: v for k, v in dict(shipment).items() if v not in (None, "")},
            "milestone": milestone,
            "previous_milestone": previous_milestone,
            "milestone_at": _iso(milestone_at),
            "exception_state": exception_state,
            "exception_reason": exception_reason,
            "source": source or "odoo",
        },
    }
