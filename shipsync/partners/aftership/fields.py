"""Where AfterShip Tracking API ``2025-07`` puts the values we read.

Field names as the official SDK generated for that version declares them
(``aftership-tracking-sdk`` 8.0.1, models ``Tracking``, ``Checkpoint``,
``TrackingCourierEstimatedDeliveryDate``). Version 2025-07 has no
``expected_delivery`` on a tracking and no ``country_iso3`` on a checkpoint:

* carrier ETA: ``Tracking.courier_estimated_delivery_date`` =
  ``{estimated_delivery_date, estimated_delivery_date_min, estimated_delivery_date_max}``
  (the carrier's own estimate; AfterShip's prediction is the separate
  ``aftership_estimated_delivery_date`` and is not the carrier's);
* checkpoint place: ``Checkpoint.location`` (free text), else ``city``, ``state``,
  ``zip`` and ``country_region`` (ISO 3166-1 alpha-3) / ``country_region_name``.
"""

from __future__ import annotations

from typing import Any

#: Tracking field of the carrier's delivery estimate, and its keys in preference order
#: (a window without a single date: its latest bound, never earlier than the carrier said).
CARRIER_ETA_FIELD = "courier_estimated_delivery_date"
CARRIER_ETA_KEYS = ("estimated_delivery_date", "estimated_delivery_date_max")
CHECKPOINT_COUNTRY_FIELD = "country_region"


def carrier_eta_value(tracking: dict) -> str | None:
    """The raw carrier ETA of a tracking (a date or date-time string) or ``None``."""
    estimate = tracking.get(CARRIER_ETA_FIELD) if isinstance(tracking, dict) else None
    if not isinstance(estimate, dict):
        return None
    for key in CARRIER_ETA_KEYS:
        value = estimate.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def checkpoint_location(point: dict) -> str:
    """``location`` when AfterShip gives it, else ``city, state zip, country``."""
    if not isinstance(point, dict):
        return ""
    location = _text(point.get("location"))
    if location:
        return location
    country = _text(point.get(CHECKPOINT_COUNTRY_FIELD)) or _text(point.get("country_region_name"))
    parts = [_text(point.get(k)) for k in ("city", "state", "zip")] + [country]
    return ", ".join(p for p in parts if p)
