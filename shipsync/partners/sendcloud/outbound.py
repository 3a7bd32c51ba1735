"""Sendcloud adapter (Shipping API v2, https://sendcloud.dev/api/v2).

* ``POST /api/v2/parcels`` with ``{"parcel": {..., "request_label": true,
  "shipment": {"id": <shipping method id>}}}`` creates and announces the parcel;
  several parcels go in one call as ``{"parcels": [...]}``.
* The label is downloaded from ``documents[type=label].link`` or, when absent,
  ``label.label_printer`` (both on the Sendcloud host, Basic auth required).
* ``POST /api/v2/parcels/{id}/cancel`` answers ``{"status", "message"}``:
  ``cancelled`` (200), ``queued`` (202, asynchronous), ``deleted`` (unannounced
  parcel removed), ``failed`` (400, e.g. already shipped / past the deadline).
* ``GET /api/v2/parcels/{id}`` gives the parcel ``status`` ``{id, message}``.
* Webhook ``parcel_status_changed``: ``action``, ``timestamp`` (ms),
  ``parcel`` with ``status`` ``{id, message}`` and ``tracking_number``.

Authentication: HTTP Basic, public key as user and secret key as password.
``api_key`` may be ``"public:secret"`` or the public key with
``api_secret=...`` passed as option.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import quote

from shipsync import dates
from shipsync.adapters.base import (
    Address,
    CancelResult,
    CanonicalEvent,
    CarrierError,
    HttpRequest,
    InvalidInput,
    Label,
    Parcel,
    ShipmentRequest,
    ShipmentResult,
    result_json,
    to_decimal,
    validate_request,
)

from .base import SendcloudBase, parse_error
from .shipments_v3 import SendcloudV3Adapter, customs_items, parcel_reference
from .vocabulary import SENDCLOUD_STATUS_MAP, SENDCLOUD_UNVERIFIED_IDS

CANCEL_ACCEPTED = ("cancelled", "queued", "deleted")


# --------------------------------------------------------------------------- building
def _dec(value: Decimal | None, places: str) -> str | None:
    if value is None:
        return None
    return str(Decimal(value).quantize(Decimal(places), rounding=ROUND_HALF_UP))


def _address_fields(addr: Address, prefix: str = "") -> dict[str, Any]:
    data = {
        "name": addr.name,
        "company_name": addr.company,
        "address": addr.street,
        "address_2": addr.street2,
        "city": addr.city,
        "postal_code": addr.zip,
        "country": addr.country_code,
        "country_state": addr.state_code,
        "telephone": addr.phone,
        "email": addr.email,
    }
    if prefix:  # return parcels carry the sender as from_* fields (none for the state)
        data.pop("country_state")
        data = {f"{prefix}{k if k != 'address' else 'address_1'}": v for k, v in data.items()}
    return {k: v for k, v in data.items() if v}


def shipping_method_id(req: ShipmentRequest, default: Any = None) -> int:
    raw = req.service or (str(default) if default not in (None, "") else "")
    if not str(raw).isdigit():
        raise InvalidInput(
            f"Sendcloud needs a numeric shipping method id as service, got {raw!r}",
            code="missing_service",
        )
    return int(raw)


def build_items(req: ShipmentRequest, parcel: Parcel, index: int) -> list[dict[str, Any]]:
    """v2 ``parcel_items[]`` (schema ``parcel-item``: ``description``, ``quantity``,
    ``weight`` (string, kg, one unit), ``value`` (number, one unit), ``hs_code`` required;
    ``origin_country``, ``sku``). Which items can be sent: ``customs_items``."""
    out = []
    for item in customs_items(req, parcel, index):
        entry = {
            "description": (item.description or item.sku or "item")[:255],
            "quantity": max(1, int(item.quantity)),
            "weight": _dec(item.weight_kg, "0.001"),
            "value": float(_dec(item.value, "0.01")),
            "hs_code": item.hs_code,
            "origin_country": item.origin_country or None,
            "sku": item.sku or None,
        }
        out.append({k: v for k, v in entry.items() if v is not None})
    return out


def build_parcel(
    req: ShipmentRequest,
    index: int,
    method_id: int,
    is_return: bool | None = None,
    idempotency_key: str = "",
) -> dict[str, Any]:
    """One ``ParcelCreation``. ``external_reference`` ("Must be unique across parcels.
    This field is used to create idempotence"): the booking key's per-parcel reference,
    stable across retries (omitted without a key, never a package name). A return
    parcel goes from the customer (``from_*``) to the warehouse (the recipient fields)."""
    parcel: Parcel = req.parcels[index]
    is_ret = req.is_return if is_return is None else is_return
    recipient, sender = (req.ship_from, req.ship_to) if is_ret else (req.ship_to, req.ship_from)
    order_number = req.reference if len(req.parcels) == 1 else f"{req.reference}-{index + 1}"
    data: dict[str, Any] = {
        **_address_fields(recipient),
        "weight": _dec(parcel.weight_kg, "0.001"),
        "order_number": order_number,
        "external_reference": parcel_reference(idempotency_key, index)
        if idempotency_key else None,
        "request_label": True,
        "shipment": {"id": method_id},
        "is_return": bool(is_ret),
    }
    if is_ret:
        data.update(_address_fields(sender, prefix="from_"))
    items = build_items(req, parcel, index)
    if items:
        data["parcel_items"] = items
    if all(d is not None for d in (parcel.length_cm, parcel.width_cm, parcel.height_cm)):
        data.update(
            length=_dec(parcel.length_cm, "0.1"),
            width=_dec(parcel.width_cm, "0.1"),
            height=_dec(parcel.height_cm, "0.1"),
        )
    if req.declared_value is not None:
        data["total_order_value"] = _dec(req.declared_value, "0.01")
        data["total_order_value_currency"] = req.currency
    if req.cod_amount is not None and not is_ret:
        # ParcelCreation.total_order_value: "The value paid by the buyer (... cash on
        # delivery, pre-paid or post-paid), it will also be used for the cash on delivery
        # amount" (Sendcloud v2 Parcels OpenAPI): a COD parcel carries the amount due.
        data["total_order_value"] = _dec(req.cod_amount, "0.01")
        data["total_order_value_currency"] = req.currency
    return {k: v for k, v in data.items() if v is not None}


def build_parcels_body(
    req: ShipmentRequest,
    method_id: int,
    is_return: bool | None = None,
    idempotency_key: str = "",
    only: Sequence[int] | None = None,
) -> dict[str, Any]:
    """The create body of the parcels of ``req`` (``only``: of those positions)."""
    indices = range(len(req.parcels)) if only is None else only
    parcels = [build_parcel(req, i, method_id, is_return, idempotency_key) for i in indices]
    return {"parcel": parcels[0]} if len(parcels) == 1 else {"parcels": parcels}


# --------------------------------------------------------------------------- parsing
def parse_parcels(data: dict) -> list[dict]:
    if isinstance(data.get("parcel"), dict):
        return [data["parcel"]]
    parcels = data.get("parcels") or []
    if data.get("failed_parcels"):
        code, message = parse_error(data)
        raise CarrierError(f"sendcloud create parcel: {message}", partner_code=code)
    return list(parcels)


def label_url(parcel: dict) -> str:
    for doc in parcel.get("documents") or []:
        if doc.get("type") == "label" and doc.get("link"):
            return doc["link"]
    label = parcel.get("label") or {}
    if label.get("label_printer"):
        return label["label_printer"]
    normal = label.get("normal_printer") or []
    return normal[0] if normal else ""


def parse_parcel_result(parcels: Sequence[dict]) -> ShipmentResult:
    first = parcels[0] if parcels else {}
    status = first.get("status") or {}
    charges = [to_decimal(p.get("total_charge")) for p in parcels]
    return ShipmentResult(
        charge=sum(charges, Decimal("0")) if charges and None not in charges else None,
        shipment_id=",".join(str(p.get("id")) for p in parcels),
        tracking_numbers=tuple(p["tracking_number"] for p in parcels if p.get("tracking_number")),
        price=None,
        currency="",
        raw_status=str(status.get("id", "")),
        tracking_url=first.get("tracking_url") or "",
    )


def parse_cancel(data: Any, http_status: int) -> CancelResult:
    data = data if isinstance(data, dict) else {}
    status = str(data.get("status") or ("failed" if http_status >= 400 else ""))
    message = str(data.get("message") or (data.get("error") or {}).get("message") or "")
    return CancelResult(accepted=status in CANCEL_ACCEPTED, raw_status=status, message=message)


def status_event(parcel: dict, occurred_at: Any, correlation_id: str = "") -> CanonicalEvent:
    status = parcel.get("status") or {}
    status_id = status.get("id")
    ts = dates.parse_datetime(occurred_at, strict=False)
    if status_id is None or ts is None:
        raise InvalidInput("sendcloud parcel without status id or timestamp", code="bad_payload")
    # Epoch milliseconds whatever the source (webhook ``timestamp`` or a polled
    # ``date_updated``), so a status both pushed and polled has one external id.
    raw_ts = round(ts.timestamp() * 1000)
    return CanonicalEvent(
        external_id=f"{parcel.get('id')}:{status_id}:{raw_ts}",
        occurred_at=ts,
        code=str(status_id),
        subcode=None,
        tracking_number=parcel.get("tracking_number") or None,
        picking_ref=parcel.get("order_number") or None,
        correlation_id=correlation_id or None,
        message=status.get("message") or "",
    )


def parse_webhook(payload: dict) -> list[CanonicalEvent]:
    """``parcel_status_changed`` -> one event; other actions -> no event."""
    if not isinstance(payload, dict) or "action" not in payload:
        raise InvalidInput("not a Sendcloud webhook payload", code="bad_payload")
    if payload["action"] != "parcel_status_changed":
        return []
    return [status_event(payload.get("parcel") or {}, payload.get("timestamp"))]


# --------------------------------------------------------------------------- adapter
class SendcloudAdapter(SendcloudBase):
    """The Sendcloud adapter of the registry: v2 Parcels API here, v3 handed to
    :class:`SendcloudV3Adapter` (auth, secrets, label download and errors:
    :class:`~.base.SendcloudBase`)."""

    @property
    def supports_cod(self) -> bool:
        """v2 only: the COD amount is ``total_order_value`` (v2 Parcels OpenAPI, see
        ``build_parcel``); the v3 Shipments OpenAPI documents no COD field."""
        return self.api_version == "v2"

    def __init__(self, base_url: str = SendcloudBase.DEFAULT_BASE_URL, api_key: str = "",
                 **kw: Any):
        super().__init__(base_url, api_key, **kw)
        #: ``v3`` (Shipments API, the default: accounts created since April 2026 have no
        #: v2) or ``v2`` (Parcels API, for the accounts that have it).
        self.api_version = str(self.options.get("api_version") or "v3")
        if self.api_version not in ("v2", "v3"):
            raise InvalidInput(f"Sendcloud API version must be v2 or v3, got "
                               f"{self.api_version!r}", code="bad_config")
        self.v3 = SendcloudV3Adapter(self.base_url, api_key, http=self.http,
                                     timeout=self.timeout, **self.options) \
            if self.api_version == "v3" else None

    @classmethod
    def carrier_options(cls, *, service: str = "", api_version: str = "",
                        **_settings: Any) -> dict[str, Any]:
        """The API version (v3 by default); with v2 the carrier's service, when numeric,
        is the Sendcloud shipping method id (with v3 it is the shipping option code)."""
        version = api_version or "v3"
        options: dict[str, Any] = {"api_version": version}
        if version == "v2" and service.isdigit():
            options["shipping_method_id"] = int(service)
        return options

    def build_create(
        self,
        req: ShipmentRequest,
        idempotency_key: str | None = None,
        is_return: bool | None = None,
        only: Sequence[int] | None = None,
    ) -> HttpRequest:
        """``POST /api/v2/parcels``. No ``Idempotency-Key`` header: Sendcloud documents
        none; its idempotence is each parcel's ``external_reference``."""
        method_id = shipping_method_id(req, self.options.get("shipping_method_id"))
        return self.request(
            "POST",
            "/api/v2/parcels",
            json=build_parcels_body(req, method_id, is_return, idempotency_key or "", only),
        )

    def build_lookup(self, reference: str) -> HttpRequest:
        return self.request(
            "GET", f"/api/v2/parcels?external_reference={quote(reference, safe='')}")

    def find_parcel(self, reference: str) -> dict:
        """The parcel created under ``external_reference`` (``{}`` when none: the
        documented 404, or an empty list)."""
        result = self.call(self.build_lookup(reference), "sendcloud find parcel",
                           tolerate=(404,))
        if result.status == 404:
            return {}
        data = result_json(result)
        parcels = data.get("parcels") if isinstance(data, dict) else None
        return next((p for p in parcels or [] if isinstance(p, dict)
                     and p.get("external_reference") in (None, reference)), {})

    def _ship(
        self, req: ShipmentRequest, idempotency_key: str, is_return: bool | None = None
    ) -> ShipmentResult:
        validate_request(req)
        create = self.build_create(req, idempotency_key, is_return)  # refuses bad input first
        # A retry finds the parcels an attempt whose answer was lost created (GET /parcels
        # ?external_reference=) and creates only the missing ones: never a second label.
        found: dict[int, dict] = {}
        if idempotency_key:
            for i in range(len(req.parcels)):
                parcel = self.find_parcel(parcel_reference(idempotency_key, i))
                if parcel:
                    found[i] = parcel
        missing = [i for i in range(len(req.parcels)) if i not in found]
        if missing and found:
            create = self.build_create(req, idempotency_key, is_return, only=missing)
        created = parse_parcels(self.call_json(create, "sendcloud create parcel")) \
            if missing else []
        if len(created) != len(missing):
            raise CarrierError(
                f"sendcloud create parcel: {len(created)} parcel(s) for {len(missing)} asked",
                code="bad_response")
        found.update(zip(missing, created, strict=True))
        parcels = [found[i] for i in range(len(req.parcels))]
        base = parse_parcel_result(parcels)
        labels = []
        for i, parcel in enumerate(parcels):
            url = label_url(parcel)
            if not url:
                continue
            content = self.call(self.build_label_download(url), "sendcloud label").body
            tracking = parcel.get("tracking_number") or ""
            source = req.parcels[i] if i < len(req.parcels) else None
            labels.append(
                Label(
                    tracking_number=tracking,
                    package_reference=(source.reference if source else "")
                    or f"{req.reference}-{i + 1}",
                    file_name=f"LabelShipping-sendcloud-{tracking or parcel.get('id')}.pdf",
                    content=content,
                    mime_type="application/pdf",
                    label_format="PDF",
                )
            )
        return ShipmentResult(
            shipment_id=base.shipment_id,
            tracking_numbers=base.tracking_numbers,
            labels=tuple(labels),
            price=base.price,
            charge=base.charge,
            currency=base.currency,
            raw_status=base.raw_status,
            tracking_url=base.tracking_url,
        )

    def create_shipment(self, req: ShipmentRequest, idempotency_key: str) -> ShipmentResult:
        if self.v3:
            return self.v3.create_shipment(req, idempotency_key)
        return self._ship(req, idempotency_key)

    def return_label(self, req: ShipmentRequest, idempotency_key: str) -> ShipmentResult:
        if self.v3:
            return self.v3.return_label(req, idempotency_key)
        return self._ship(req, idempotency_key, is_return=True)

    def cancel(self, shipment_id: str, tracking_number: str = "") -> CancelResult:
        ids = [s for s in str(shipment_id).split(",") if s]
        # v3 shipment ids are not numeric; numeric ids are v2 parcels booked before the
        # carrier moved to v3, cancelled where they were booked.
        if self.v3 and not all(i.strip().isdigit() for i in ids):
            return self.v3.cancel(shipment_id, tracking_number)
        if not ids:
            raise InvalidInput("cancel: shipment_id is required", code="missing_shipment_id")
        results = []
        for pid in ids:
            # 400/410 carry a documented {"status", "message"} answer: not an exception.
            result = self.call(
                self.request("POST", f"/api/v2/parcels/{pid}/cancel"),
                "sendcloud cancel",
                tolerate=(400, 410),
            )
            results.append(parse_cancel(result_json(result), result.status))
        return CancelResult(
            accepted=all(r.accepted for r in results),
            raw_status=",".join(r.raw_status for r in results),
            message="; ".join(r.message for r in results if r.message),
        )

    def get_parcel(self, parcel_id: str) -> dict:
        data = self.call_json(
            self.request("GET", f"/api/v2/parcels/{parcel_id}"), "sendcloud get parcel"
        )
        return data.get("parcel") or {}

    def track(self, tracking_numbers: Sequence[str]) -> list[CanonicalEvent]:
        """Current status per tracking number (``GET /api/v2/parcels?tracking_number=``).

        Sendcloud v2 gives one current status per parcel, not a history; the event
        time is the parcel's ``date_updated``.
        """
        if self.v3:
            return self.v3.track(tracking_numbers)
        events = []
        for code in tracking_numbers:
            # no parcel with that number: the documented 404 (the 200 list has minItems 1)
            result = self.call(
                self.request("GET", f"/api/v2/parcels?tracking_number={quote(code)}"),
                "sendcloud list parcels", tolerate=(404,))
            data = result_json(result) if result.status != 404 else {}
            for parcel in (data or {}).get("parcels") or []:
                stamp = parcel.get("date_updated") or parcel.get("date_created")
                events.append(status_event(parcel, _sendcloud_date(stamp)))
        return events

    def parse_webhook(self, payload: dict) -> list[CanonicalEvent]:
        return parse_webhook(payload)


def _sendcloud_date(value: Any) -> Any:
    """Sendcloud v2 dates look like ``"01-01-2024 10:00:00"`` (dd-mm-YYYY)."""
    if isinstance(value, str) and len(value) >= 10 and value[2] == "-" and value[5] == "-":
        day, month, rest = value[:2], value[3:5], value[6:]
        return f"{rest[:4]}-{month}-{day}T{rest[5:] or '00:00:00'}+00:00"
    return value


__all__ = [
    "SENDCLOUD_STATUS_MAP",
    "SENDCLOUD_UNVERIFIED_IDS",
    "SendcloudAdapter",
    "build_parcel",
    "build_parcels_body",
    "label_url",
    "parse_cancel",
    "parse_error",
    "parse_parcel_result",
    "parse_parcels",
    "parse_webhook",
    "status_event",
]
