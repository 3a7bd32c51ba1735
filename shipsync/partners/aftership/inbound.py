"""AfterShip inbound: ``tracking_update`` webhooks (see README.md).
"""

from __future__ import annotations

from datetime import datetime, timezone

from shipsync.ids import event_id
from shipsync.normalizers import (
    CanonicalEvent,
    Normalizer,
    clean_text,
    opt_text,
    parse_datetime,
)
from shipsync.schemas import SCHEMA_VIOLATION, PayloadError

from . import fields


class AfterShipNormalizer(Normalizer):
    """AfterShip ``tracking_update`` webhooks: one event per checkpoint."""

    name = "aftership"
    vocabulary = "aftership"
    schema_name = "aftership-webhook"
    #: every update carries the whole history
    full_history = True

    def normalize(self, payload: dict) -> list[CanonicalEvent]:
        if payload.get("event") != "tracking_update":
            return []
        return self.normalize_tracking(payload.get("msg") or {}, "$.msg", payload.get("ts"))

    def normalize_tracking(
        self, msg: dict, path: str = "$", ts: float | None = None
    ) -> list[CanonicalEvent]:
        """One event per checkpoint of a tracking (also for trackings fetched by polling)."""
        tracking_key = msg.get("id") or f"{msg.get('slug')}/{msg.get('tracking_number')}"
        eta = parse_datetime(fields.carrier_eta_value(msg), f"{path}.{fields.CARRIER_ETA_FIELD}")
        custom = msg.get("custom_fields") or {}
        checkpoints = msg.get("checkpoints") or []
        if not checkpoints:
            when = msg.get("updated_at")
            if not when and ts:
                try:
                    when = datetime.fromtimestamp(float(ts), timezone.utc).isoformat()
                except (ValueError, OverflowError, OSError):
                    raise PayloadError(SCHEMA_VIOLATION, "not a timestamp", "$.ts") from None
            if when:
                checkpoints = [{"tag": msg["tag"], "subtag": msg.get("subtag"),
                                "checkpoint_time": when}]
        events = []
        for index, point in enumerate(checkpoints):
            cpath = f"{path}.checkpoints[{index}]"
            occurred = parse_datetime(point.get("checkpoint_time"), f"{cpath}.checkpoint_time")
            tag, subtag = opt_text(point.get("tag")), opt_text(point.get("subtag"))
            location = fields.checkpoint_location(point)
            events.append(CanonicalEvent(
                external_id=event_id("aftership", tracking_key, occurred.isoformat(), tag, subtag),
                occurred_at=occurred,
                code=tag,
                subcode=subtag,
                tracking_number=opt_text(msg.get("tracking_number")),
                picking_ref=opt_text(msg.get("order_id")),
                correlation_id=opt_text(custom.get("correlation_id")),
                message=clean_text(point.get("message")),
                location=location,
                carrier_eta=eta,
            ))
        return events


#: ``aftership-hmac-sha256``: base64 HMAC-SHA256 of the raw body (AfterShip webhook docs).
SIGNATURE: dict = {"header": "aftership-hmac-sha256", "algorithm": "sha256", "encoding": "base64"}
