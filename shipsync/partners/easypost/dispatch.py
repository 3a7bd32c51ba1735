"""EasyPost pickups and end-of-day manifests (scan forms): pure builders, parsers and the
adapter operations (mixed into :class:`shipsync.partners.easypost.outbound.EasyPostAdapter`).

Every path and body comes from EasyPost's recorded traffic (cassettes of the official SDK,
see README.md):

* ``POST /v2/pickups`` ``{"pickup": {"address", "min_datetime", "max_datetime",
  "instructions", "shipment": {"id"}}}`` -> a Pickup with ``status`` ``unknown`` and its
  ``pickup_rates`` (cassette ``test_pickup_create``);
* ``POST /v2/pickups/{id}/buy`` ``{"carrier", "service"}`` (a ``PickupRate``'s) -> ``status``
  ``scheduled`` and a ``confirmation`` (cassette ``test_pickup_buy``);
* ``POST /v2/pickups/{id}/cancel`` ``{}`` -> ``status`` ``canceled`` (``test_pickup_cancel``);
* ``POST /v2/batches`` ``{"batch": {"shipments": [...]}}`` -> a Batch (``state``
  ``creating``), ``POST /v2/batches/{id}/scan_form`` ``{}`` -> the Batch with its
  ``scan_form`` (``status`` ``creating``, ``form_url`` null at first) (cassette
  ``test_batch_create_scanform``). The shipments of the day are bought already: they are
  referenced by ``{"id": "shp_..."}``, the way the recorded pickup references its shipment;
  the batch's ``/buy`` (recorded for shipments created inside the batch) is not needed.
* ``GET /v2/batches/{id}`` (SDK ``batch.retrieve``) reads the scan form until its
  ``form_url`` is there; the PDF is downloaded from that public URL without credentials.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from shipsync.adapters.base import Address, CarrierError, InvalidInput, TransientError, to_decimal

#: Pickup ``status`` values seen in the recordings.
PICKUP_STATUSES = ("unknown", "scheduled", "canceled")


@dataclass(frozen=True)
class PickupRate:
    carrier: str
    service: str
    amount: Decimal | None
    currency: str
    rate_id: str


@dataclass(frozen=True)
class Pickup:
    pickup_id: str
    status: str
    confirmation: str = ""
    rates: tuple[PickupRate, ...] = ()
    min_datetime: str = ""
    max_datetime: str = ""


@dataclass(frozen=True)
class ScanForm:
    batch_id: str
    scan_form_id: str = ""
    status: str = ""
    form_url: str = ""
    tracking_codes: tuple[str, ...] = ()
    message: str = ""
    content: bytes = b""


# --------------------------------------------------------------------------- builders
def build_pickup_body(address: dict[str, Any], shipment_id: str, day: date | str,
                      instructions: str = "", until: date | str | None = None) -> dict:
    """Body of ``POST /v2/pickups`` (cassette ``test_pickup_create``: dates as
    ``YYYY-MM-DD``, the shipment referenced by id)."""
    if not shipment_id:
        raise InvalidInput("a pickup needs a bought shipment", code="missing_shipment_id")
    if not address:
        raise InvalidInput("a pickup needs the pickup address", code="missing_address")
    first = day.isoformat() if isinstance(day, date) else str(day)
    last = until.isoformat() if isinstance(until, date) else (str(until) if until else first)
    pickup: dict[str, Any] = {"address": address, "min_datetime": first,
                              "max_datetime": last, "shipment": {"id": shipment_id}}
    if instructions:
        pickup["instructions"] = instructions
    return {"pickup": pickup}


def build_pickup_buy_body(rate: PickupRate) -> dict:
    """``{"carrier", "service"}`` of the chosen ``PickupRate`` (cassette ``test_pickup_buy``)."""
    return {"carrier": rate.carrier, "service": rate.service}


def build_batch_body(shipment_ids: Sequence[str]) -> dict:
    ids = [s for s in dict.fromkeys(shipment_ids) if s]
    if not ids:
        raise InvalidInput("a manifest needs at least one bought shipment",
                           code="missing_shipment_id")
    return {"batch": {"shipments": [{"id": s} for s in ids]}}


# --------------------------------------------------------------------------- parsers
def parse_pickup(data: dict) -> Pickup:
    if not isinstance(data, dict) or not data.get("id"):
        raise CarrierError("EasyPost answered a pickup call without a pickup",
                           code="bad_response")
    rates = tuple(
        PickupRate(carrier=r.get("carrier") or "", service=r.get("service") or "",
                   amount=to_decimal(r.get("rate")), currency=r.get("currency") or "",
                   rate_id=r.get("id") or "")
        for r in data.get("pickup_rates") or [] if isinstance(r, dict))
    return Pickup(pickup_id=data["id"], status=data.get("status") or "",
                  confirmation=data.get("confirmation") or "", rates=rates,
                  min_datetime=data.get("min_datetime") or "",
                  max_datetime=data.get("max_datetime") or "")


def select_pickup_rate(rates: Sequence[PickupRate], service: str = "") -> PickupRate:
    """The rate of ``service`` (or ``carrier:service``), else the cheapest."""
    if not rates:
        raise CarrierError("EasyPost offered no pickup rate", code="no_rates")
    if service:
        wanted = service.lower()
        for rate in rates:
            if wanted in (rate.service.lower(), f"{rate.carrier}:{rate.service}".lower()):
                return rate
        raise CarrierError(f"no EasyPost pickup rate for service {service!r}",
                           code="no_rates")
    return min(rates, key=lambda r: (r.amount is None, r.amount or Decimal("0")))


def parse_batch(data: dict) -> ScanForm:
    if not isinstance(data, dict) or not data.get("id"):
        raise CarrierError("EasyPost answered a batch call without a batch",
                           code="bad_response")
    form = data.get("scan_form") or {}
    codes = tuple(form.get("tracking_codes") or ()) or tuple(
        s.get("tracking_code") for s in data.get("shipments") or []
        if isinstance(s, dict) and s.get("tracking_code"))
    return ScanForm(batch_id=data["id"], scan_form_id=form.get("id") or "",
                    status=form.get("status") or "", form_url=form.get("form_url") or "",
                    tracking_codes=codes, message=form.get("message") or "")


# --------------------------------------------------------------------------- operations
class EasyPostDispatchMixin:
    """Pickups and scan forms on an :class:`EasyPostAdapter` (``self.request``,
    ``self.call_json``, ``self.call``, ``self.build_label_download``)."""

    def schedule_pickup(self, address: Address | dict, shipment_id: str, day: date | str,
                        instructions: str = "", service: str = "") -> Pickup:
        """Create the pickup, then buy its rate (``service`` or the cheapest): the
        scheduled Pickup with its ``confirmation``."""
        from .outbound import build_address

        body = build_pickup_body(build_address(address) if isinstance(address, Address)
                                 else address, shipment_id, day, instructions)
        created = parse_pickup(self.call_json(
            self.request("POST", "/v2/pickups", json=body), "easypost create pickup"))
        rate = select_pickup_rate(created.rates, service)
        return parse_pickup(self.call_json(
            self.request("POST", f"/v2/pickups/{quote(created.pickup_id, safe='')}/buy",
                         json=build_pickup_buy_body(rate)), "easypost buy pickup"))

    def cancel_pickup(self, pickup_id: str) -> Pickup:
        if not pickup_id:
            raise InvalidInput("cancel: the pickup id is required", code="missing_pickup_id")
        return parse_pickup(self.call_json(
            self.request("POST", f"/v2/pickups/{quote(pickup_id, safe='')}/cancel", json={}),
            "easypost cancel pickup"))

    def create_manifest(self, shipment_ids: Sequence[str], polls: int = 5,
                        sleep: Callable[[float], None] | None = None,
                        batch_id: str = "") -> ScanForm:
        """The scan form of these bought shipments with its PDF: a batch (or the one
        ``batch_id`` names: a retry after a lost answer does not make a second), its scan
        form, then ``GET /v2/batches/{id}`` until ``form_url`` is there (``TransientError``
        ``not_ready`` after ``polls`` reads: the outbox retries with the batch id)."""
        if batch_id:
            path = f"/v2/batches/{quote(batch_id, safe='')}"
            form = parse_batch(self.call_json(self.request("GET", path), "easypost batch"))
        else:
            form = parse_batch(self.call_json(
                self.request("POST", "/v2/batches", json=build_batch_body(shipment_ids)),
                "easypost create batch"))
            self.options["batch_id"] = batch_id = form.batch_id
            path = f"/v2/batches/{quote(batch_id, safe='')}"
        if not form.scan_form_id:
            form = parse_batch(self.call_json(
                self.request("POST", f"{path}/scan_form", json={}), "easypost scan form"))
        for attempt in range(max(polls, 1)):
            if form.form_url:
                break
            if form.status == "failed":
                raise CarrierError(f"EasyPost could not make the scan form: {form.message}",
                                   code="scan_form_failed")
            if attempt and sleep:
                sleep(min(2.0 * attempt, 10.0))
            form = parse_batch(self.call_json(self.request("GET", path), "easypost batch"))
        if not form.form_url:
            raise TransientError("easypost scan form: not ready yet", code="not_ready",
                                 secrets=self.secrets())
        content = self.call(self.build_label_download(form.form_url),
                            "easypost scan form pdf").body
        return ScanForm(**{**form.__dict__, "content": content})
