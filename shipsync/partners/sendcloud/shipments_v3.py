"""Sendcloud Shipments API v3 (booking, return labels, cancellation) and Parcel Tracking v3.

Every path and field below comes from Sendcloud's published OpenAPI documents
(``sendcloud-shipments-openapi.yml`` "Shipments 3.0.0" and
``sendcloud-v3-parcel-tracking-openapi.yml`` "Parcel Tracking API 3.0.0", server
``https://panel.sendcloud.sc/api/v3``); the partner README lists them operation by
operation. Accounts created since April 2026 cannot use v2 ``POST /parcels``: this is
the booking path for them.

* Book: ``POST /api/v3/shipments/announce`` (``sc-public-v3-scp-post-announce_shipment``,
  synchronous, label in the answer) with a ``shipment-request-sync-announce`` body:
  ``from_address`` / ``to_address`` (``address-with-required-fields``), ``ship_with``
  ``{"type": "shipping_option_code", "properties": {"shipping_option_code", "contract_id"}}``,
  ``order_number``, ``external_reference_id``, ``total_order_price``, ``label_details``,
  ``parcels[]`` (``weight`` / ``dimensions`` as strings with a unit, ``parcel_items[]``).
  Answer ``201 {"data": sync-shipment-response}``.
* Idempotence: ``external_reference_id`` "must be unique across shipments of the user.
  Using the same reference more than once will result in a 409 HTTP status code and the
  associated object being returned". It is derived from the booking's idempotency key
  (picking, operation, booking count): stable across retries, new after a cancellation.
  Before booking, ``GET /api/v3/shipments?external_reference_id=`` (``get-all_shipments``)
  looks the shipment up: an attempt whose answer was lost is reused, never booked twice.
* Returns: a return is a shipment from the customer to the warehouse (``from_address`` =
  customer, ``to_address`` = warehouse).
* Cancel: ``POST /api/v3/shipments/{id}/cancel`` -> ``{"data": {"status", "message"}}``
  (200 cancelled, 202 queued, 409 rejected, 404 unknown).
* Errors: ``{"errors": [{"status", "code", "detail", "source": {"pointer"}}]}`` (schema
  ``errors``).
* Tracking: ``GET /api/v3/parcels/tracking/{tracking_number}`` ->
  ``parcel-tracking-response`` (``events[]`` with ``event_at``, ``status_code``,
  ``sub_status_code``, ``status_description``; ``tracking_numbers[]``; ``details``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
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
    Document,
    InvalidInput,
    Label,
    Parcel,
    ShipmentRequest,
    ShipmentResult,
    result_json,
    validate_request,
)
from shipsync.customs import customs_of, require_customs

from .base import SendcloudBase, parse_error

API = "/api/v3"
#: Sendcloud's sync announce takes at most 15 parcels (``parcels.maxItems``).
MAX_PARCELS = 15
LABEL_MIME = {"PDF": "application/pdf", "ZPL": "application/zpl", "PNG": "image/png"}
#: ``cancel-shipment-status.data.status`` values that mean the cancellation holds.
CANCEL_ACCEPTED = ("cancelled", "queued", "deleted")
#: Parcel ``status.code`` of a shipment whose announcement failed (shipments document,
#: ``GET /shipments`` example); such a shipment has no label to reuse.
ANNOUNCEMENT_FAILED = "ANNOUNCEMENT_FAILED"


# --------------------------------------------------------------------------- references
def booking_reference(idempotency_key: str | None) -> str:
    """``external_reference_id`` of one booking: unique per booking, stable across its
    retries. ``idempotency_key`` is the booking's key (picking id, operation, booking
    count, correlation id); never a package name or a constant."""
    key = (idempotency_key or "").strip()
    if not key:
        raise InvalidInput(
            "Sendcloud: a booking needs an idempotency key (external reference)",
            code="missing_idempotency_key",
        )
    return "shipsync-" + hashlib.sha256(key.encode()).hexdigest()[:32]


def parcel_reference(idempotency_key: str | None, index: int) -> str:
    """Per-parcel reference (v2 ``external_reference``: "Must be unique across parcels"):
    the booking reference plus the package's position (1-based)."""
    return f"{booking_reference(idempotency_key)}-{index + 1}"


# --------------------------------------------------------------------------- building
def _dec(value: Any, places: str) -> str:
    return str(Decimal(value).quantize(Decimal(places), rounding=ROUND_HALF_UP))


#: ``address-with-required-fields``: what Sendcloud needs of both addresses.
REQUIRED_ADDRESS = ("name", "address_line_1", "postal_code", "city", "country_code")


def build_address(addr: Address, role: str = "address") -> dict[str, Any]:
    """``address-with-required-fields`` (``address_line_1``, ``postal_code``,
    ``country_code``...); a missing required field is refused before any call."""
    data = {
        "name": addr.name or addr.company,
        "company_name": addr.company,
        "address_line_1": addr.street,
        "address_line_2": addr.street2,
        "postal_code": addr.zip,
        "city": addr.city,
        "state_province_code": addr.state_code,
        "country_code": addr.country_code,
        "email": addr.email,
        "phone_number": addr.phone,
    }
    data = {k: v for k, v in data.items() if v}
    missing = [f for f in REQUIRED_ADDRESS if not data.get(f)]
    if missing:
        raise InvalidInput(
            f"Sendcloud {role}: {', '.join(missing)} required", code="missing_address")
    return data


def customs_items(req: ShipmentRequest, parcel: Parcel, index: int) -> tuple:
    """The items of a parcel that can be sent to Sendcloud (v2 and v3 alike).

    Both documents require ``hs_code``, ``weight``, ``description`` and a value on every
    item, and HS code and origin country for an international shipment ("required if
    it's an international shipment"): missing ones are refused before any call. A
    domestic parcel whose items lack an HS code is sent without items."""
    if not parcel.items:
        return ()
    require_customs(req)  # an international line lacks HS code / origin: refused here
    for pos, item in enumerate(parcel.items):
        where = f"parcels[{index}].items[{pos}]"
        if not item.hs_code:
            return ()  # domestic (see require_customs): sent without items
        if item.weight_kg is None or Decimal(item.weight_kg) <= 0 or item.value is None:
            raise InvalidInput(f"{where}: weight and value are required", code="bad_item")
    return tuple(parcel.items)


def build_items(req: ShipmentRequest, parcel: Parcel, index: int) -> list[dict[str, Any]]:
    """``parcel_items[]`` (schema ``parcel-item``: ``description``, ``quantity``,
    ``weight {value, unit}``, ``price {value, currency}``, ``hs_code``; optional
    ``origin_country``, ``sku``); weight and price are those of one unit."""
    out = []
    for item in customs_items(req, parcel, index):
        entry = {
            "description": (item.description or item.sku or "item")[:255],
            "quantity": max(1, int(item.quantity)),
            "weight": {"value": float(_dec(item.weight_kg, "0.001")), "unit": "kg"},
            "price": {"value": _dec(item.value, "0.01"), "currency": item.currency or req.currency},
            "hs_code": item.hs_code[:12],
            "origin_country": item.origin_country,
            "sku": item.sku,
        }
        out.append({k: v for k, v in entry.items() if v not in ("", None)})
    return out


def build_parcel(req: ShipmentRequest, index: int) -> dict[str, Any]:
    """``parcel-common``: ``weight`` (``str-weight``), ``dimensions`` (``str-dimensions``),
    ``parcel_items``."""
    parcel = req.parcels[index]
    data: dict[str, Any] = {"weight": {"value": _dec(parcel.weight_kg, "0.001"), "unit": "kg"}}
    dims = (parcel.length_cm, parcel.width_cm, parcel.height_cm)
    if all(d is not None for d in dims):
        data["dimensions"] = {
            "length": _dec(parcel.length_cm, "0.01"),
            "width": _dec(parcel.width_cm, "0.01"),
            "height": _dec(parcel.height_cm, "0.01"),
            "unit": "cm",
        }
    items = build_items(req, parcel, index)
    if items:
        data["parcel_items"] = items
    return data


def shipping_option(req: ShipmentRequest, default: Any = None) -> str:
    """The ``shipping_option_code`` (e.g. ``postnl:standard``) of a booking."""
    code = (req.service or str(default or "")).strip()
    if not code or code.isdigit():
        raise InvalidInput(
            "Sendcloud v3 needs a shipping option code as service (e.g. postnl:standard), "
            f"got {code!r} (a numeric v2 shipping method id does not work with v3)",
            code="missing_service",
        )
    return code


def build_shipment(
    req: ShipmentRequest,
    idempotency_key: str,
    option_code: str,
    contract_id: int | None = None,
    is_return: bool | None = None,
) -> dict[str, Any]:
    """Body of ``POST /shipments/announce``. A return ships from the customer
    (``req.ship_to`` of the outgoing delivery) to the warehouse (``req.ship_from``)."""
    if len(req.parcels) > MAX_PARCELS:
        raise InvalidInput(
            f"Sendcloud announces at most {MAX_PARCELS} parcels per shipment",
            code="too_many_parcels",
        )
    is_ret = req.is_return if is_return is None else is_return
    sender, recipient = (req.ship_to, req.ship_from) if is_ret else (req.ship_from, req.ship_to)
    properties: dict[str, Any] = {"shipping_option_code": option_code}
    if contract_id:
        properties["contract_id"] = int(contract_id)
    body: dict[str, Any] = {
        "from_address": build_address(sender, "from_address (sender)"),
        "to_address": build_address(recipient, "to_address (recipient)"),
        "ship_with": {"type": "shipping_option_code", "properties": properties},
        "order_number": req.reference,
        "external_reference_id": booking_reference(idempotency_key),
        "label_details": {"mime_type": LABEL_MIME.get(req.label_format, "application/pdf")},
        "parcels": [build_parcel(req, i) for i in range(len(req.parcels))],
    }
    if req.declared_value is not None:
        body["total_order_price"] = {
            "value": _dec(req.declared_value, "0.01"), "currency": req.currency}
    customs = build_customs_information(req)
    if customs:
        body["customs_information"] = customs
    return body


#: Our contents types -> ``customs_information.export_reason`` (enum gift, documents,
#: commercial_goods, commercial_sample).
EXPORT_REASONS = {"gift": "gift", "documents": "documents", "sample": "commercial_sample"}


def build_customs_information(req: ShipmentRequest) -> dict[str, Any] | None:
    """``customs_information`` (schema ``customs-information``: ``invoice_number``,
    1-40 characters, and ``export_reason`` required) of an international shipment."""
    customs = customs_of(req)
    if customs is None:
        return None
    return {
        "invoice_number": (customs.invoice_number or req.reference)[:40],
        "export_reason": EXPORT_REASONS.get(customs.contents_type, "commercial_goods"),
    }


# --------------------------------------------------------------------------- parsing
def shipment_of(data: Any) -> dict:
    """``{"data": {...}}`` -> the shipment (also the first of a ``data`` list)."""
    body = data.get("data") if isinstance(data, dict) else None
    if isinstance(body, list):
        body = body[0] if body else None
    return body if isinstance(body, dict) else {}


def label_link(parcel: dict) -> str:
    for doc in parcel.get("documents") or []:
        if (doc.get("document_type") or doc.get("type")) == "label" and doc.get("link"):
            return doc["link"]
    return ""


def parse_shipment(shipment: dict) -> ShipmentResult:
    """A shipment answer -> ids, tracking numbers, status (labels are fetched apart)."""
    parcels = shipment.get("parcels") or []
    failed = [p for p in parcels if (p.get("status") or {}).get("code") == ANNOUNCEMENT_FAILED]
    if failed or (shipment.get("errors") and not any(p.get("tracking_number") for p in parcels)):
        code, message = parse_error({"errors": shipment.get("errors") or []})
        raise CarrierError(
            f"sendcloud announce shipment {shipment.get('id')}: "
            f"{message or 'announcement failed'}",
            partner_code=code or ANNOUNCEMENT_FAILED,
        )
    first = parcels[0] if parcels else {}
    return ShipmentResult(
        shipment_id=str(shipment.get("id") or ""),
        tracking_numbers=tuple(p["tracking_number"] for p in parcels if p.get("tracking_number")),
        raw_status=str((first.get("status") or {}).get("code") or ""),
        tracking_url=first.get("tracking_url") or "",
        currency="",
    )


def parse_cancel(data: Any, http_status: int) -> CancelResult:
    body = data.get("data") if isinstance(data, dict) else None
    if isinstance(body, dict):
        status = str(body.get("status") or "")
        return CancelResult(status in CANCEL_ACCEPTED, status, str(body.get("message") or ""))
    code, message = parse_error(data)
    return CancelResult(False, code or ("failed" if http_status >= 400 else ""), message)


def tracking_events(data: Any, correlation_id: str = "") -> list[CanonicalEvent]:
    """``parcel-tracking-response`` -> one canonical event per ``events[]`` entry
    (code ``status_code``, subcode ``sub_status_code``; vocabulary ``sendcloud``)."""
    if not isinstance(data, dict):
        raise InvalidInput("not a Sendcloud parcel tracking answer", code="bad_payload")
    numbers = data.get("tracking_numbers") or []
    tracking = next((n.get("tracking_number") for n in numbers if n.get("tracking_number")), "")
    source = str(data.get("source_id") or tracking)
    eta = dates.parse_datetime(
        (data.get("details") or {}).get("expected_delivery_date"), strict=False)
    events = []
    for index, event in enumerate(data.get("events") or []):
        when = dates.parse_datetime(event.get("event_at"), strict=False)
        code = event.get("status_code")
        if when is None or not code:
            raise InvalidInput(
                f"events[{index}]: event_at and status_code are required", code="bad_payload")
        sub = event.get("sub_status_code")
        sub = None if sub in (None, "", "none") else str(sub)
        events.append(CanonicalEvent(
            external_id=f"{source}:{code}:{sub or ''}:{round(when.timestamp() * 1000)}",
            occurred_at=when,
            code=str(code),
            subcode=sub,
            tracking_number=tracking or None,
            correlation_id=correlation_id or None,
            message=str(event.get("status_description") or ""),
            carrier_eta=eta,
        ))
    return events


# --------------------------------------------------------------------------- adapter
class SendcloudV3Adapter(SendcloudBase):
    """Booking, returns, cancellation and tracking through the v3 APIs (auth, secrets,
    label download and errors: :class:`~.base.SendcloudBase`, as in v2)."""

    # -- requests
    def build_create(
        self, req: ShipmentRequest, idempotency_key: str, is_return: bool | None = None
    ):
        option = shipping_option(req, self.options.get("shipping_option_code"))
        body = build_shipment(
            req, idempotency_key, option, self.options.get("contract_id"), is_return)
        # no Idempotency-Key header: Sendcloud documents none (external_reference_id is)
        return self.request("POST", f"{API}/shipments/announce", json=body)

    def build_lookup(self, reference: str):
        return self.request(
            "GET", f"{API}/shipments?external_reference_id={quote(reference, safe='')}")

    # -- operations
    def find_shipment(self, reference: str) -> dict:
        """The shipment booked under ``external_reference_id`` (``{}`` when none)."""
        result = self.call(self.build_lookup(reference), "sendcloud find shipment",
                           tolerate=(404,))
        if result.status == 404:  # "Invalid cursor" / nothing under that reference
            return {}
        return shipment_of(result_json(result))

    def _book(
        self, req: ShipmentRequest, idempotency_key: str, is_return: bool | None = None
    ) -> ShipmentResult:
        validate_request(req)
        create = self.build_create(req, idempotency_key, is_return)  # refuses bad input first
        reference = create.json["external_reference_id"]
        shipment = self.find_shipment(reference)
        if not shipment:
            result = self.call(create, "sendcloud announce shipment", tolerate=(409,))
            shipment = shipment_of(result_json(result))
            if result.status == 409 and not shipment.get("id"):
                shipment = self.find_shipment(reference)
            if not shipment.get("id"):
                raise CarrierError(
                    "sendcloud announce shipment: the answer holds no shipment",
                    code="bad_response", http_status=result.status)
        base = parse_shipment(shipment)
        labels = self._labels(req, shipment)
        return ShipmentResult(
            shipment_id=base.shipment_id,
            tracking_numbers=base.tracking_numbers,
            labels=tuple(labels),
            raw_status=base.raw_status,
            tracking_url=base.tracking_url,
            charge=None,
            price=None,
            documents=tuple(self._customs_documents(shipment)),
        )

    def _customs_documents(self, shipment: dict) -> list[Document]:
        """``documents[]`` of ``document_type`` ``customs-declaration`` (SHIP3
        ``documents``), downloaded like the label."""
        out = []
        for parcel in shipment.get("parcels") or []:
            tracking = parcel.get("tracking_number") or ""
            for doc in parcel.get("documents") or []:
                if doc.get("document_type") == "customs-declaration" and doc.get("link"):
                    body = self.call(self.build_label_download(doc["link"]),
                                     "sendcloud customs document").body
                    out.append(Document(
                        kind="customs-declaration", content=body, mime_type="application/pdf",
                        file_name=f"customs-declaration-sendcloud-{tracking or parcel.get('id')}"
                                  ".pdf", tracking_number=tracking))
        return out

    def _labels(self, req: ShipmentRequest, shipment: dict) -> list[Label]:
        labels = []
        mime = (shipment.get("label_details") or {}).get("mime_type") or LABEL_MIME.get(
            req.label_format, "application/pdf")
        ext = {"application/zpl": "zpl", "image/png": "png"}.get(mime, "pdf")
        for i, parcel in enumerate(shipment.get("parcels") or []):
            content = b""
            if parcel.get("label_file"):
                try:
                    content = base64.b64decode(parcel["label_file"], validate=True)
                except (binascii.Error, ValueError):
                    content = b""
            if not content and label_link(parcel):
                content = self.call(
                    self.build_label_download(label_link(parcel)), "sendcloud label").body
            if not content:
                continue
            tracking = parcel.get("tracking_number") or ""
            source = req.parcels[i] if i < len(req.parcels) else None
            labels.append(Label(
                tracking_number=tracking,
                package_reference=(source.reference if source else "")
                or f"{req.reference}-{i + 1}",
                file_name=f"LabelShipping-sendcloud-{tracking or parcel.get('id')}.{ext}",
                content=content,
                mime_type=mime,
                label_format=ext.upper(),
            ))
        return labels

    def create_shipment(self, req: ShipmentRequest, idempotency_key: str) -> ShipmentResult:
        return self._book(req, idempotency_key)

    def return_label(self, req: ShipmentRequest, idempotency_key: str) -> ShipmentResult:
        return self._book(req, idempotency_key, is_return=True)

    def cancel(self, shipment_id: str, tracking_number: str = "") -> CancelResult:
        sid = str(shipment_id or "").strip()
        if not sid:
            raise InvalidInput("cancel: shipment_id is required", code="missing_shipment_id")
        result = self.call(
            self.request("POST", f"{API}/shipments/{quote(sid, safe='')}/cancel"),
            "sendcloud cancel shipment", tolerate=(404, 409))
        return parse_cancel(result_json(result), result.status)

    def build_track(self, tracking_number: str):
        return self.request("GET", f"{API}/parcels/tracking/{quote(tracking_number, safe='')}")

    def track(self, tracking_numbers: Sequence[str]) -> list[CanonicalEvent]:
        """Event history per tracking number (an unknown number, 404, has none)."""
        events: list[CanonicalEvent] = []
        for number in tracking_numbers:
            if not number:
                continue
            result = self.call(self.build_track(number), "sendcloud parcel tracking",
                               tolerate=(404,))
            if result.status == 404:
                continue
            events.extend(tracking_events(result_json(result)))
        return events


__all__ = [
    "SendcloudV3Adapter",
    "booking_reference",
    "build_address",
    "build_items",
    "customs_items",
    "build_parcel",
    "build_shipment",
    "parcel_reference",
    "parse_cancel",
    "parse_error",
    "parse_shipment",
    "shipping_option",
    "tracking_events",
]
