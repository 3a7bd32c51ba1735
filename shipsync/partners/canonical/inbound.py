"""Inbound: the suite's own envelope (``canonical-envelope-v1`` / ``-v2``).
"""

from __future__ import annotations

from shipsync.normalizers import (
    CanonicalEvent,
    Normalizer,
    clean_text,
    opt_text,
    parse_datetime,
)


class CanonicalNormalizer(Normalizer):
    """Our own envelope (``canonical-envelope-v1``)."""

    name = "canonical"
    vocabulary = None
    schema_name = "canonical-envelope-v1"

    def normalize(self, payload: dict) -> list[CanonicalEvent]:
        events = []
        for index, item in enumerate(payload.get("events") or ()):
            path = f"$.events[{index}]"
            events.append(CanonicalEvent(
                external_id=item["id"],
                occurred_at=parse_datetime(item["occurred_at"], f"{path}.occurred_at"),
                code=opt_text(item.get("code")),
                subcode=opt_text(item.get("subcode")),
                milestone=opt_text(item.get("milestone")),
                exception_reason=opt_text(item.get("exception_reason")),
                tracking_number=opt_text(item.get("tracking_number")),
                picking_ref=opt_text(item.get("picking_ref")),
                correlation_id=opt_text(item.get("correlation_id")),
                message=clean_text(item.get("message")),
                location=clean_text(item.get("location")),
                carrier_eta=parse_datetime(item.get("carrier_eta"), f"{path}.carrier_eta"),
            ))
        return events
