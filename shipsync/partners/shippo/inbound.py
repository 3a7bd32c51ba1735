"""Shippo inbound: ``track_updated`` webhooks (see README.md).
"""

from __future__ import annotations

from shipsync.ids import event_id
from shipsync.normalizers import (
    CanonicalEvent,
    Normalizer,
    clean_text,
    join_text,
    opt_text,
    parse_datetime,
)


class ShippoNormalizer(Normalizer):
    """Shippo ``track_updated`` webhooks: one event per tracking history entry."""

    name = "shippo"
    vocabulary = "shippo"
    schema_name = "shippo-webhook"
    #: every update carries the whole history
    full_history = True

    def normalize(self, payload: dict) -> list[CanonicalEvent]:
        if payload.get("event") != "track_updated":
            return []
        return self.normalize_track(payload.get("data") or {}, "$.data")

    def normalize_track(self, data: dict, path: str = "$") -> list[CanonicalEvent]:
        """History plus current status, deduplicated (also for tracks fetched by polling)."""
        track_key = f"{data.get('carrier')}/{data.get('tracking_number')}"
        eta = parse_datetime(data.get("eta"), f"{path}.eta")
        entries = [
            (f"{path}.tracking_history[{i}]", entry)
            for i, entry in enumerate(data.get("tracking_history") or [])
        ]
        if data.get("tracking_status"):
            entries.append((f"{path}.tracking_status", data["tracking_status"]))
        events: dict[str, CanonicalEvent] = {}
        for epath, entry in entries:
            occurred = parse_datetime(entry.get("status_date"), f"{epath}.status_date")
            status = opt_text(entry.get("status"))
            substatus = entry.get("substatus") or {}
            subcode = opt_text(substatus.get("code"))
            message = clean_text(entry.get("status_details")) or clean_text(substatus.get("text"))
            if substatus.get("action_required"):
                message = f"{message} (action required)".strip()
            loc = entry.get("location") or {}
            external_id = event_id("shippo", track_key, occurred.isoformat(), status, subcode)
            events.setdefault(external_id, CanonicalEvent(
                external_id=external_id,
                occurred_at=occurred,
                code=status,
                subcode=subcode,
                tracking_number=opt_text(data.get("tracking_number")),
                picking_ref=opt_text(data.get("metadata")),
                message=message,
                location=join_text(loc.get("city"), loc.get("state"), loc.get("zip"),
                               loc.get("country")),
                carrier_eta=eta,
            ))
        return list(events.values())
