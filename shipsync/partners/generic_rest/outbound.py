"""A configurable REST carrier for the long tail of small carriers.

The whole protocol is a config dict, validated with JSON Schema
(:data:`CONFIG_SCHEMA`); a bad config raises :class:`InvalidInput` naming the
offending path. Example::

    {
      "create_url": "/v1/shipments", "create_method": "POST",
      "cancel_url": "/v1/shipments/{shipment_id}", "cancel_method": "DELETE",
      "track_url": "/v1/tracking/{tracking_number}",
      "auth": {"type": "header", "header": "X-Api-Key"},
      "request": {
        "receiver.postcode": "ship_to.zip",
        "packages[0].weight": {"source": "parcels[0].weight_kg", "type": "number"},
        "product": {"const": "EXPRESS"}
      },
      "response": {"shipment_id": "data.id", "tracking_number": "data.barcode",
                   "label": "data.label", "label_encoding": "base64",
                   "price": "data.price.amount", "currency": "data.price.currency",
                   "status": "data.state"},
      "cancel_response": {"status": "state", "accepted": ["CANCELLED"]},
      "track_response": {"events": "events", "time": "ts", "code": "code",
                         "subcode": "reason", "message": "text"},
      "error": {"code": "error.code", "message": "error.message"}
    }

Paths use dots and ``[n]`` indexes. Request sources read from the
:class:`ShipmentRequest` (``ship_to.zip``, ``parcels[0].weight_kg``,
``reference``...) plus ``idempotency_key``. URL placeholders: ``{shipment_id}``,
``{tracking_number}``, ``{reference}``. Auth ``basic`` uses ``auth.username``
and the API key as password (or ``user:password`` in the API key).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from dataclasses import asdict
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlsplit

import jsonschema

from shipsync import dates
from shipsync.adapters.base import (
    CancelResult,
    CanonicalEvent,
    CarrierAdapter,
    InvalidInput,
    Label,
    ShipmentRequest,
    ShipmentResult,
    basic_auth,
    result_json,
    to_decimal,
    validate_request,
)

PATH_RE = r"^[A-Za-z_][A-Za-z0-9_-]*(\[[0-9]+\])*(\.[A-Za-z_][A-Za-z0-9_-]*(\[[0-9]+\])*)*$"
_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
SOURCE_ROOTS = {
    "reference",
    "correlation_id",
    "ship_from",
    "ship_to",
    "parcels",
    "service",
    "carrier_account",
    "is_return",
    "declared_value",
    "currency",
    "label_format",
    "idempotency_key",
}
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
_path = {"type": "string", "pattern": PATH_RE}
_url = {"type": "string", "minLength": 1}
_method = {"enum": METHODS}

CONFIG_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["create_url", "request", "response"],
    "additionalProperties": False,
    "properties": {
        "create_url": _url,
        "create_method": _method,
        "cancel_url": _url,
        "cancel_method": _method,
        "track_url": _url,
        "track_method": _method,
        "auth": {
            "type": "object",
            "required": ["type"],
            "additionalProperties": False,
            "properties": {
                "type": {"enum": ["none", "bearer", "basic", "header"]},
                "header": {"type": "string", "minLength": 1},
                "prefix": {"type": "string"},
                "username": {"type": "string"},
            },
            "if": {"properties": {"type": {"const": "header"}}},
            "then": {"required": ["header"]},
        },
        "request": {
            "type": "object",
            "propertyNames": {"pattern": PATH_RE},
            "additionalProperties": {
                "oneOf": [
                    _path,
                    {
                        "type": "object",
                        "required": ["const"],
                        "additionalProperties": False,
                        "properties": {"const": {}},
                    },
                    {
                        "type": "object",
                        "required": ["source"],
                        "additionalProperties": False,
                        "properties": {
                            "source": _path,
                            "type": {"enum": ["string", "number", "integer", "boolean"]},
                        },
                    },
                ]
            },
        },
        "response": {
            "type": "object",
            "required": ["tracking_number"],
            "additionalProperties": False,
            "properties": {
                "shipment_id": _path,
                "tracking_number": _path,
                "tracking_url": _path,
                "label": _path,
                "label_encoding": {"enum": ["base64", "url", "raw"]},
                "label_format": {"enum": ["PDF", "PNG", "ZPL"]},
                "price": _path,
                "currency": _path,
                "status": _path,
            },
        },
        "cancel_response": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "status": _path,
                "accepted": {"type": "array", "items": {"type": "string"}},
            },
        },
        "track_response": {
            "type": "object",
            "required": ["events", "time", "code"],
            "additionalProperties": False,
            "properties": {
                k: _path
                for k in (
                    "events",
                    "time",
                    "code",
                    "subcode",
                    "message",
                    "location",
                    "id",
                    "tracking_number",
                )
            },
        },
        "error": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"code": _path, "message": _path},
        },
    },
}
_VALIDATOR = jsonschema.Draft202012Validator(CONFIG_SCHEMA)
MIME = {"PDF": "application/pdf", "PNG": "image/png", "ZPL": "application/zpl"}


# --------------------------------------------------------------------------- paths
def split_path(path: str) -> list[str | int]:
    return [int(idx) if idx else name for name, idx in _SEGMENT.findall(path)]


def get_path(data: Any, path: str | None, default: Any = None) -> Any:
    if not path:
        return default
    for part in split_path(path):
        if isinstance(part, int):
            if not isinstance(data, list | tuple) or part >= len(data):
                return default
            data = data[part]
        else:
            if not isinstance(data, dict) or part not in data:
                return default
            data = data[part]
    return data


def set_path(target: dict, path: str, value: Any) -> None:
    parts = split_path(path)
    node: Any = target
    for part, nxt in zip(parts, parts[1:], strict=False):
        empty: Any = [] if isinstance(nxt, int) else {}
        if isinstance(part, int):
            while len(node) <= part:
                node.append(None)
            if node[part] is None:
                node[part] = empty
            node = node[part]
        else:
            node = node.setdefault(part, empty)
    last = parts[-1]
    if isinstance(last, int):
        while len(node) <= last:
            node.append(None)
    node[last] = value


# --------------------------------------------------------------------------- config
def validate_config(config: Any) -> dict:
    """Validate against :data:`CONFIG_SCHEMA` and the request source roots."""
    errors = sorted(_VALIDATOR.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        where = "/".join(str(p) for p in err.absolute_path) or "(root)"
        raise InvalidInput(
            f"generic_rest config invalid at {where}: {err.message}",
            code="bad_config",
            partner_code=where,
        )
    for target, spec in config["request"].items():
        source = spec if isinstance(spec, str) else spec.get("source")
        if source is not None and split_path(source)[0] not in SOURCE_ROOTS:
            raise InvalidInput(
                f"generic_rest config invalid at request/{target}: unknown source {source!r}",
                code="bad_config",
                partner_code=f"request/{target}",
            )
    return config


def _json_value(value: Any, kind: str | None) -> Any:
    if value is None:
        return None
    if kind == "string":
        return str(value)
    if kind == "integer":
        return int(Decimal(str(value)))
    if kind == "boolean":
        return bool(value)
    if isinstance(value, Decimal) or kind == "number":
        return float(value)
    return value


def build_body(config: dict, req: ShipmentRequest, idempotency_key: str = "") -> dict:
    """Apply the request mapping; sources that resolve to nothing are left out."""
    source = asdict(req)
    source["idempotency_key"] = idempotency_key
    body: dict = {}
    for target, spec in config["request"].items():
        if isinstance(spec, str):
            value = _json_value(get_path(source, spec), None)
        elif "const" in spec:
            value = spec["const"]
        else:
            value = _json_value(get_path(source, spec["source"]), spec.get("type"))
        if value is not None and value != "":
            set_path(body, target, value)
    return body


def fill_url(template: str, **values: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: quote(str(values.get(m.group(1), "")), safe=""), template)


# --------------------------------------------------------------------------- parsing
def parse_create(config: dict, data: Any) -> tuple[ShipmentResult, Any]:
    """Result (no label content yet) and the raw label value from the response."""
    rmap = config["response"]
    tracking = get_path(data, rmap["tracking_number"])
    result = ShipmentResult(
        shipment_id=str(get_path(data, rmap.get("shipment_id"), tracking) or ""),
        tracking_numbers=(str(tracking),) if tracking else (),
        price=to_decimal(get_path(data, rmap.get("price"))),
        currency=str(get_path(data, rmap.get("currency"), "") or ""),
        raw_status=str(get_path(data, rmap.get("status"), "") or ""),
        tracking_url=str(get_path(data, rmap.get("tracking_url"), "") or ""),
    )
    return result, get_path(data, rmap.get("label"))


def decode_label(value: Any, encoding: str) -> bytes:
    if encoding == "base64":
        try:
            return base64.b64decode(str(value), validate=False)
        except (binascii.Error, ValueError):
            raise InvalidInput("label is not valid base64", code="bad_label") from None
    return str(value).encode("utf-8")


def parse_cancel(config: dict, data: Any, http_status: int) -> CancelResult:
    cmap = config.get("cancel_response") or {}
    status = str(get_path(data, cmap.get("status"), "") or "") if cmap.get("status") else ""
    accepted = status in cmap["accepted"] if cmap.get("accepted") else 200 <= http_status < 300
    return CancelResult(accepted=accepted, raw_status=status or str(http_status))


def parse_events(config: dict, data: Any, tracking_number: str) -> list[CanonicalEvent]:
    tmap = config.get("track_response") or {}
    events = []
    for item in get_path(data, tmap.get("events"), []) or []:
        occurred = dates.parse_datetime(get_path(item, tmap["time"]), strict=False)
        code = get_path(item, tmap["code"])
        if occurred is None or code in (None, ""):
            continue
        subcode = get_path(item, tmap.get("subcode"))
        number = str(get_path(item, tmap.get("tracking_number"), tracking_number) or "")
        ext = get_path(item, tmap.get("id")) or (
            f"{number}:{get_path(item, tmap['time'])}:{code}:{subcode or ''}"
        )
        events.append(
            CanonicalEvent(
                external_id=str(ext),
                occurred_at=occurred,
                code=str(code),
                subcode=str(subcode) if subcode not in (None, "") else None,
                tracking_number=number,
                message=str(get_path(item, tmap.get("message"), "") or ""),
                location=str(get_path(item, tmap.get("location"), "") or ""),
            )
        )
    return events


# --------------------------------------------------------------------------- adapter
class GenericRestAdapter(CarrierAdapter):
    code = "generic_rest"

    def __init__(self, base_url: str, api_key: str = "", *, config: dict, **kw: Any):
        super().__init__(base_url, api_key, **kw)
        self.config = validate_config(config)

    @classmethod
    def carrier_options(cls, *, rest_config: str = "", **_settings: Any) -> dict[str, Any]:
        """The carrier's REST mapping (JSON text), validated."""
        try:
            config = json.loads(rest_config or "")
        except ValueError as exc:
            raise InvalidInput(f"not JSON: {exc}", code="bad_config") from None
        return {"config": validate_config(config)}

    def auth_headers(self) -> dict[str, str]:
        auth = self.config.get("auth") or {"type": "none"}
        kind = auth["type"]
        if kind == "bearer":
            return {"Authorization": f"{auth.get('prefix', 'Bearer')} {self.api_key}"}
        if kind == "basic":
            user, sep, password = self.api_key.partition(":")
            if auth.get("username"):
                user, password = auth["username"], self.api_key
            elif not sep:
                password = ""
            return {"Authorization": basic_auth(user, password)}
        if kind == "header":
            return {auth["header"]: f"{auth.get('prefix', '')}{self.api_key}"}
        return {}

    def partner_error(self, data: Any) -> tuple[str | None, str]:
        emap = self.config.get("error") or {}
        code = get_path(data, emap.get("code"))
        message = get_path(data, emap.get("message"))
        if message is None:
            return super().partner_error(data)
        return (str(code) if code is not None else None), str(message)

    def build_create(self, req: ShipmentRequest, idempotency_key: str = ""):
        url = fill_url(self.config["create_url"], reference=req.reference)
        return self.request(
            self.config.get("create_method", "POST"),
            url,
            json=build_body(self.config, req, idempotency_key),
            idempotency_key=idempotency_key or None,
        )

    def create_shipment(self, req: ShipmentRequest, idempotency_key: str) -> ShipmentResult:
        validate_request(req)
        data = self.call_json(self.build_create(req, idempotency_key), "create shipment")
        result, raw_label = parse_create(self.config, data)
        labels: tuple[Label, ...] = ()
        if raw_label:
            rmap = self.config["response"]
            encoding = rmap.get("label_encoding", "base64")
            fmt = rmap.get("label_format", "PDF")
            if encoding == "url":
                same = urlsplit(str(raw_label)).netloc in ("", urlsplit(self.base_url).netloc)
                content = self.call(
                    self.request("GET", str(raw_label), auth=same), "label download"
                ).body
            else:
                content = decode_label(raw_label, encoding)
            number = result.tracking_numbers[0] if result.tracking_numbers else ""
            labels = (
                Label(
                    number,
                    req.parcels[0].reference or req.reference,
                    f"LabelShipping-{self.code}-{number or result.shipment_id}.{fmt.lower()}",
                    content,
                    MIME[fmt],
                    fmt,
                ),
            )
        return ShipmentResult(
            result.shipment_id,
            result.tracking_numbers,
            labels,
            result.price,
            result.currency,
            (),
            result.raw_status,
            result.tracking_url,
        )

    def cancel(self, shipment_id: str, tracking_number: str = "") -> CancelResult:
        if not self.config.get("cancel_url"):
            raise InvalidInput("generic_rest: no cancel_url configured", code="unsupported")
        url = fill_url(
            self.config["cancel_url"], shipment_id=shipment_id, tracking_number=tracking_number
        )
        result = self.call(self.request(self.config.get("cancel_method", "POST"), url), "cancel")
        return parse_cancel(self.config, result_json(result), result.status)

    def track(self, tracking_numbers: Sequence[str]) -> list[CanonicalEvent]:
        if not self.config.get("track_url") or not self.config.get("track_response"):
            raise InvalidInput(
                "generic_rest: no track_url/track_response configured", code="unsupported"
            )
        events: list[CanonicalEvent] = []
        for number in tracking_numbers:
            url = fill_url(self.config["track_url"], tracking_number=number)
            data = self.call_json(
                self.request(self.config.get("track_method", "GET"), url), "track"
            )
            events.extend(parse_events(self.config, data, number))
        return events
