"""Partner payloads -> canonical events.

A normalizer turns one validated payload into ``CanonicalEvent`` values: external id,
occurrence time (aware UTC), raw partner code and subcode (mapped later by the status
map), references and an optional carrier ETA. Partner event ids are derived from the
scan itself (tracker + time + code + subcode) so the same scan pushed twice, or polled
and pushed, gets the same id and is deduplicated by the event ledger.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from .partners.aftership import fields as aftership_fields
from .schemas import SCHEMA_VIOLATION, PayloadError, load_schema, parse_json, validate

_DATETIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*([Zz]|[+-]\d{2}(?::?\d{2})?)?$"
)


@dataclass(frozen=True)
class CanonicalEvent:
    """One inbound event in the suite's own terms (raw code kept beside the milestone)."""

    external_id: str
    occurred_at: datetime
    code: str | None = None
    subcode: str | None = None
    milestone: str | None = None
    exception_reason: str | None = None
    tracking_number: str | None = None
    picking_ref: str | None = None
    correlation_id: str | None = None
    message: str = ""
    location: str = ""
    carrier_eta: datetime | None = None


def parse_datetime(value: str | None, path: str = "$") -> datetime | None:
    """Parse ISO 8601 / RFC 3339 into aware UTC; naive values and plain dates are UTC."""
    if value in (None, ""):
        return None
    match = _DATETIME.match(str(value).strip())
    if not match:
        raise PayloadError(SCHEMA_VIOLATION, f"{value!r} is not a date-time", path)
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        tz = timezone.utc
        if offset and offset not in "Zz":
            sign = -1 if offset[0] == "-" else 1
            digits = offset[1:].replace(":", "")
            tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0)))
        parsed = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0),
            int(second or 0), micro, tzinfo=tz,
        )
        return parsed.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        message = f"{value!r} is not a date-time"
        raise PayloadError(SCHEMA_VIOLATION, message, path) from None


def stable_id(prefix: str, *parts: object) -> str:
    """A short deterministic id: ``<prefix>:<sha256 of the parts>[:24]``."""
    text = "\x1f".join("" if part is None else str(part) for part in parts)
    return f"{prefix}:{hashlib.sha256(text.encode('utf-8')).hexdigest()[:24]}"


def _text(value: object) -> str:
    return str(value).strip() if value not in (None, "") else ""


def _opt(value: object) -> str | None:
    return _text(value) or None


def _join(*parts: object) -> str:
    return ", ".join(_text(part) for part in parts if _text(part))


class Normalizer:
    """Base class: ``normalize`` a validated payload into canonical events."""

    name: str = ""
    vocabulary: str | None = None
    schema_name: str = ""

    def normalize(self, payload: dict) -> list[CanonicalEvent]:
        raise NotImplementedError


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
                code=_opt(item.get("code")),
                subcode=_opt(item.get("subcode")),
                milestone=_opt(item.get("milestone")),
                exception_reason=_opt(item.get("exception_reason")),
                tracking_number=_opt(item.get("tracking_number")),
                picking_ref=_opt(item.get("picking_ref")),
                correlation_id=_opt(item.get("correlation_id")),
                message=_text(item.get("message")),
                location=_text(item.get("location")),
                carrier_eta=parse_datetime(item.get("carrier_eta"), f"{path}.carrier_eta"),
            ))
        return events


class EasyPostNormalizer(Normalizer):
    """EasyPost ``tracker.created`` / ``tracker.updated`` events (result is a Tracker)."""

    name = "easypost"
    vocabulary = "easypost"
    schema_name = "easypost-event"
    DESCRIPTIONS = ("tracker.created", "tracker.updated")

    def normalize(self, payload: dict) -> list[CanonicalEvent]:
        if payload.get("description") not in self.DESCRIPTIONS:
            return []
        return self.normalize_tracker(payload.get("result") or {}, "$.result")

    def normalize_tracker(self, tracker: dict, path: str = "$") -> list[CanonicalEvent]:
        """One event per tracking detail of a Tracker (also for trackers fetched by polling)."""
        tracker_id = tracker.get("id")
        tracking_code = _opt(tracker.get("tracking_code"))
        eta = parse_datetime(tracker.get("est_delivery_date"), f"{path}.est_delivery_date")
        details = tracker.get("tracking_details") or []
        if not details and tracker.get("status"):
            when = tracker.get("updated_at") or tracker.get("created_at")
            if when:
                details = [{"status": tracker["status"], "status_detail":
                            tracker.get("status_detail"), "datetime": when}]
        events = []
        for index, detail in enumerate(details):
            dpath = f"{path}.tracking_details[{index}]"
            occurred = parse_datetime(detail.get("datetime"), f"{dpath}.datetime")
            status, status_detail = _opt(detail.get("status")), _opt(detail.get("status_detail"))
            loc = detail.get("tracking_location") or {}
            events.append(CanonicalEvent(
                external_id=stable_id(
                    "easypost", tracker_id, occurred.isoformat(), status, status_detail
                ),
                occurred_at=occurred,
                code=status,
                subcode=status_detail,
                tracking_number=tracking_code,
                message=_text(detail.get("message")),
                location=_join(loc.get("city"), loc.get("state"), loc.get("zip"),
                               loc.get("country")),
                carrier_eta=eta,
            ))
        return events


class AfterShipNormalizer(Normalizer):
    """AfterShip ``tracking_update`` webhooks: one event per checkpoint."""

    name = "aftership"
    vocabulary = "aftership"
    schema_name = "aftership-webhook"

    def normalize(self, payload: dict) -> list[CanonicalEvent]:
        if payload.get("event") != "tracking_update":
            return []
        return self.normalize_tracking(payload.get("msg") or {}, "$.msg", payload.get("ts"))

    def normalize_tracking(
        self, msg: dict, path: str = "$", ts: float | None = None
    ) -> list[CanonicalEvent]:
        """One event per checkpoint of a tracking (also for trackings fetched by polling)."""
        tracking_key = msg.get("id") or f"{msg.get('slug')}/{msg.get('tracking_number')}"
        eta = parse_datetime(aftership_fields.carrier_eta_value(msg),
                             f"{path}.{aftership_fields.CARRIER_ETA_FIELD}")
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
            tag, subtag = _opt(point.get("tag")), _opt(point.get("subtag"))
            location = aftership_fields.checkpoint_location(point)
            events.append(CanonicalEvent(
                external_id=stable_id("aftership", tracking_key, occurred.isoformat(), tag, subtag),
                occurred_at=occurred,
                code=tag,
                subcode=subtag,
                tracking_number=_opt(msg.get("tracking_number")),
                picking_ref=_opt(msg.get("order_id")),
                correlation_id=_opt(custom.get("correlation_id")),
                message=_text(point.get("message")),
                location=location,
                carrier_eta=eta,
            ))
        return events


class ShippoNormalizer(Normalizer):
    """Shippo ``track_updated`` webhooks: one event per tracking history entry."""

    name = "shippo"
    vocabulary = "shippo"
    schema_name = "shippo-webhook"

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
            status = _opt(entry.get("status"))
            substatus = entry.get("substatus") or {}
            subcode = _opt(substatus.get("code"))
            message = _text(entry.get("status_details")) or _text(substatus.get("text"))
            if substatus.get("action_required"):
                message = f"{message} (action required)".strip()
            loc = entry.get("location") or {}
            external_id = stable_id("shippo", track_key, occurred.isoformat(), status, subcode)
            events.setdefault(external_id, CanonicalEvent(
                external_id=external_id,
                occurred_at=occurred,
                code=status,
                subcode=subcode,
                tracking_number=_opt(data.get("tracking_number")),
                picking_ref=_opt(data.get("metadata")),
                message=message,
                location=_join(loc.get("city"), loc.get("state"), loc.get("zip"),
                               loc.get("country")),
                carrier_eta=eta,
            ))
        return list(events.values())


NORMALIZERS: dict[str, Normalizer] = {
    normalizer.name: normalizer
    for normalizer in (
        CanonicalNormalizer(), EasyPostNormalizer(), AfterShipNormalizer(), ShippoNormalizer()
    )
}


def get_normalizer(name: str) -> Normalizer:
    """The registered normalizer called ``name`` (KeyError if unknown)."""
    try:
        return NORMALIZERS[name]
    except KeyError:
        raise KeyError(f"unknown normalizer {name!r}") from None


def parse_payload(body: bytes, normalizer: Normalizer | str) -> list[CanonicalEvent]:
    """Parse JSON, validate against the normalizer's schema and normalize it."""
    if isinstance(normalizer, str):
        normalizer = get_normalizer(normalizer)
    payload = parse_json(body)
    validate(payload, load_schema(normalizer.schema_name))
    return normalizer.normalize(payload)
