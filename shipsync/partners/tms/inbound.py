"""TMS updates (``tms-update-v1``) into the ledger: a milestone update is a canonical
milestone event; planning, carrier assignment, freight charges and rejections are
events without a milestone that keep their payload for the addon to apply."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from shipsync.normalizers import CanonicalEvent, Normalizer, parse_datetime
from shipsync.schemas import SCHEMA_VIOLATION, PayloadError

SCHEMA = "tms-update-v1"


@dataclass(frozen=True)
class TmsEvent(CanonicalEvent):
    kind: str = ""
    payload: Mapping | None = None


def _message(payload: Mapping) -> str:
    kind = payload["type"]
    if kind == "planned":
        return f"TMS planned: {payload['planning_ref']}"
    if kind == "carrier_assigned":
        carrier = payload["carrier"]
        service = f" / {carrier['service']}" if carrier.get("service") else ""
        return f"TMS carrier: {carrier.get('name') or carrier['code']}{service}"
    if kind == "freight_charges":
        return f"TMS freight charges: {payload['total']} {payload['currency']}"
    if kind == "rejected":
        return f"TMS rejected the plan: {payload['reason']}"
    return f"TMS: {payload.get('milestone')}"


def charges_total(payload: Mapping) -> Decimal:
    """The declared total; ``PayloadError`` when the charge lines do not add up to it."""
    total = Decimal(payload["total"])
    lines = sum((Decimal(c["amount"]) for c in payload["charges"]), Decimal(0))
    if lines != total:
        raise PayloadError(SCHEMA_VIOLATION,
                           f"charges add up to {lines}, not to the total {total}", "$.total")
    return total


class TmsNormalizer(Normalizer):
    name = "tms"
    vocabulary = None
    schema_name = SCHEMA

    def normalize(self, payload: dict) -> list[CanonicalEvent]:
        if payload["type"] == "freight_charges":
            charges_total(payload)
        milestone = payload.get("milestone") if payload["type"] == "milestone" else None
        return [TmsEvent(
            external_id=f"tms:{payload['event_id']}",
            occurred_at=parse_datetime(payload["occurred_at"], "$.occurred_at"),
            milestone=milestone,
            tracking_number=payload.get("tracking_number"),
            picking_ref=payload.get("order_ref"),
            correlation_id=payload["correlation_id"],
            message=_message(payload)[:500],
            location=payload.get("location") or "",
            kind=payload["type"],
            payload=dict(payload),
        )]
