"""EasyPost adapter (https://docs.easypost.com, API v2).

Flow: ``POST /v2/shipments`` (rates come back on the shipment) -> pick a rate
(by ``service``, else the lowest) -> ``POST /v2/shipments/{id}/buy`` with
``{"rate": {"id": ...}}`` -> download ``postage_label.label_url``.

Multi-parcel choice: EasyPost rates and buys one ``parcel`` per Shipment; we
create **one Shipment per parcel** (each has its own tracking code and label)
rather than an Order, because Orders force one carrier/service for all parcels
and return a single combined rate. ``ShipmentResult.shipment_id`` is the
comma-joined list of ``shp_`` ids; :meth:`EasyPostAdapter.cancel` refunds each.

Units: EasyPost expects ounces and inches; we convert from kg and cm
(1 oz = 28.349523125 g, 1 in = 2.54 cm), rounded half-up to 1 decimal for
weight (minimum 0.1 oz) and 2 decimals for dimensions.

Returns: ``is_return: true`` with the *original* addresses; EasyPost swaps
them on the label (documented in their returns guide).

Authentication: HTTP Basic with the API key as user and an empty password (EasyPost's
API reference and curl examples, ``-u "$EASYPOST_API_KEY":``); EasyPost takes the same key
as ``Bearer`` too, which is what the official SDK sends (the sandbox accepts both).

Label spend: EasyPost honours no ``Idempotency-Key``, so a retried booking must not
create and buy again. With a ``journal`` (see :class:`shipsync.adapters.journal.BookingJournal`)
the shipment id is recorded as soon as the create returns, before the buy; a retry reads
``GET /v2/shipments/{id}`` and reuses its ``postage_label`` (or buys that same shipment)
instead of creating a new one. The journal says ``buying`` before the buy is sent; a buy
whose answer is lost is read back at once, and the label EasyPost bought is the answer.
The label URL is a public file URL on another host: it is downloaded
**without** the Authorization header so the key never leaves for that host.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import quote, urlsplit

from shipsync.adapters.base import (
    AdapterError,
    Address,
    AddressCheck,
    CancelResult,
    CanonicalEvent,
    CarrierAdapter,
    CarrierError,
    HttpRequest,
    InvalidInput,
    Label,
    Parcel,
    Rate,
    ShipmentRequest,
    ShipmentResult,
    TransientError,
    basic_auth,
    to_decimal,
    validate_request,
)

from .addresses import verify_address
from .customs import build_customs_info, download_forms
from .dispatch import EasyPostDispatchMixin
from .inbound import EasyPostNormalizer

GRAMS_PER_OUNCE = Decimal("28.349523125")
CM_PER_INCH = Decimal("2.54")
LABEL_FORMATS = {"PDF": "PDF", "PNG": "PNG", "ZPL": "ZPL", "EPL2": "EPL2", "EPL": "EPL2"}
LABEL_MIME = {
    "PDF": "application/pdf",
    "PNG": "image/png",
    "ZPL": "application/zpl",
    "EPL2": "application/epl2",
}
REFUND_ACCEPTED = ("submitted", "refunded")


# --------------------------------------------------------------------------- conversions
def kg_to_oz(weight_kg: Decimal) -> Decimal:
    oz = Decimal(weight_kg) * 1000 / GRAMS_PER_OUNCE
    return max(oz.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP), Decimal("0.1"))


def cm_to_in(length_cm: Decimal) -> Decimal:
    return (Decimal(length_cm) / CM_PER_INCH).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# --------------------------------------------------------------------------- building
def build_address(addr: Address) -> dict[str, Any]:
    data = {
        "name": addr.name,
        "company": addr.company,
        "street1": addr.street,
        "street2": addr.street2,
        "city": addr.city,
        "state": addr.state_code,
        "zip": addr.zip,
        "country": addr.country_code,
        "phone": addr.phone,
        "email": addr.email,
    }
    return {k: v for k, v in data.items() if v}


def build_parcel(parcel: Parcel) -> dict[str, Any]:
    data: dict[str, Any] = {"weight": float(kg_to_oz(parcel.weight_kg))}
    dims = (parcel.length_cm, parcel.width_cm, parcel.height_cm)
    if all(d is not None for d in dims):
        data.update(
            length=float(cm_to_in(parcel.length_cm)),
            width=float(cm_to_in(parcel.width_cm)),
            height=float(cm_to_in(parcel.height_cm)),
        )
    return data


def build_shipment_body(
    req: ShipmentRequest, parcel_index: int = 0, is_return: bool | None = None
) -> dict[str, Any]:
    """Body of ``POST /v2/shipments`` for one parcel of ``req``."""
    parcel = req.parcels[parcel_index]
    label_format = LABEL_FORMATS.get((req.label_format or "PDF").upper())
    if label_format is None:
        raise InvalidInput(
            f"label_format {req.label_format!r} not supported by EasyPost", code="bad_label_format"
        )
    reference = req.reference if len(req.parcels) == 1 else f"{req.reference}-{parcel_index + 1}"
    shipment: dict[str, Any] = {
        "reference": reference,
        "to_address": build_address(req.ship_to),
        "from_address": build_address(req.ship_from),
        "parcel": build_parcel(parcel),
        "is_return": bool(req.is_return if is_return is None else is_return),
        "options": {"label_format": label_format, "currency": req.currency},
    }
    customs_info = build_customs_info(req, parcel)  # international only (.customs)
    if customs_info is not None:
        shipment["customs_info"] = customs_info
    if req.carrier_account:
        shipment["carrier_accounts"] = [req.carrier_account]
    # ``req.declared_value`` is not sent: no recording shows a shipment option for it
    # (recorded options: label_format, invoice_number, currency...); EasyPost's value
    # fields are ``customs_items[].value`` (customs) and ``insure`` (buys insurance).
    return {"shipment": shipment}


def build_buy_body(rate_id: str) -> dict[str, Any]:
    return {"rate": {"id": rate_id}}


def build_tracker_body(tracking_code: str, carrier: str = "") -> dict[str, Any]:
    tracker = {"tracking_code": tracking_code}
    if carrier:
        tracker["carrier"] = carrier
    return {"tracker": tracker}


# --------------------------------------------------------------------------- parsing
def parse_error(data: Any) -> tuple[str | None, str]:
    """``{"error": {"code", "message", "errors": [{"field", "message"}]}}``."""
    err = data.get("error") if isinstance(data, dict) else None
    if not isinstance(err, dict):
        return None, str(data)[:300]
    message = str(err.get("message") or "")
    details = []
    for item in err.get("errors") or []:
        if isinstance(item, dict):
            details.append(f"{item.get('field', '')}: {item.get('message', '')}".strip(": "))
        else:
            details.append(str(item))
    if details:
        message = f"{message} ({'; '.join(details)})"
    return err.get("code"), message


def parse_rates(shipment: dict) -> list[Rate]:
    rates = []
    for r in shipment.get("rates") or []:
        amount = to_decimal(r.get("rate"))
        if amount is None:
            continue
        days = r.get("delivery_days")
        rates.append(
            Rate(
                carrier=r.get("carrier") or "",
                service=r.get("service") or "",
                amount=amount,
                currency=r.get("currency") or "",
                rate_id=r.get("id") or "",
                delivery_days=int(days) if days is not None else None,
            )
        )
    return rates


def select_rate(rates: Sequence[Rate], service: str = "") -> Rate:
    """The rate whose service (or ``carrier:service``) matches, else the lowest."""
    if not rates:
        raise CarrierError("EasyPost returned no rates for this shipment", code="no_rates")
    if service:
        wanted = service.lower()
        for r in rates:
            if wanted in (r.service.lower(), f"{r.carrier}:{r.service}".lower(), r.rate_id):
                return r
        raise CarrierError(
            f"no EasyPost rate for service {service!r}",
            code="no_rates",
            partner_code="RATE.NOT_FOUND",
        )
    return min(rates, key=lambda r: r.amount)


def parse_bought_shipment(shipment: dict) -> tuple[ShipmentResult, str]:
    """Parsed result (label content empty) and the label URL to download."""
    label = shipment.get("postage_label") or {}
    selected = shipment.get("selected_rate") or {}
    tracker = shipment.get("tracker") or {}
    fees = [to_decimal(f.get("amount")) for f in shipment.get("fees") or []
            if isinstance(f, dict)]
    fees = [f for f in fees if f is not None]
    result = ShipmentResult(
        charge=sum(fees, Decimal("0")) if fees else None,
        shipment_id=shipment.get("id") or "",
        tracking_numbers=(shipment["tracking_code"],) if shipment.get("tracking_code") else (),
        price=to_decimal(selected.get("rate")),
        currency=selected.get("currency") or "",
        rates=tuple(parse_rates(shipment)),
        raw_status=shipment.get("status") or "",
        tracking_url=tracker.get("public_url") or "",
    )
    return result, label.get("label_url") or ""


def parse_refund(shipment: dict) -> CancelResult:
    status = shipment.get("refund_status") or ""
    return CancelResult(
        accepted=status in REFUND_ACCEPTED,
        raw_status=status,
        message=f"EasyPost refund_status={status or 'none'}",
    )


def parse_tracker(tracker: dict) -> list[CanonicalEvent]:
    """Every ``tracking_details`` entry of a Tracker -> one canonical event.

    Delegates to :class:`shipsync.partners.easypost.inbound.EasyPostNormalizer` so that a polled
    tracker and a webhook ``tracker.updated`` give the very same external ids
    (tracker id + detail datetime + status + status_detail) and deduplicate.
    """
    return EasyPostNormalizer().normalize_tracker(tracker)


def parse_webhook(payload: dict) -> list[CanonicalEvent]:
    """An EasyPost ``Event`` (``tracker.updated``/``tracker.created``); others -> []."""
    if not isinstance(payload, dict) or payload.get("object") not in (None, "Event"):
        raise InvalidInput("not an EasyPost Event", code="bad_payload")
    return EasyPostNormalizer().normalize(payload)


# --------------------------------------------------------------------------- adapter
class EasyPostAdapter(EasyPostDispatchMixin, CarrierAdapter):
    code = "easypost"

    DEFAULT_BASE_URL = "https://api.easypost.com"

    def __init__(self, base_url: str = DEFAULT_BASE_URL, api_key: str = "", **kw: Any):
        super().__init__(base_url or self.DEFAULT_BASE_URL, api_key, **kw)

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": basic_auth(self.api_key, "")}

    def partner_error(self, data: Any) -> tuple[str | None, str]:
        return parse_error(data)

    # -- pure request builders bound to this account
    # EasyPost honours no Idempotency-Key header: none is sent (see the module doc).
    def build_create(
        self,
        req: ShipmentRequest,
        parcel_index: int = 0,
        idempotency_key: str | None = None,
        is_return: bool | None = None,
    ) -> HttpRequest:
        return self.request(
            "POST", "/v2/shipments", json=build_shipment_body(req, parcel_index, is_return)
        )

    def build_buy(
        self, shipment_id: str, rate_id: str, idempotency_key: str | None = None
    ) -> HttpRequest:
        return self.request(
            "POST", f"/v2/shipments/{quote(shipment_id, safe='')}/buy",
            json=build_buy_body(rate_id),
        )

    def build_retrieve(self, shipment_id: str) -> HttpRequest:
        return self.request("GET", f"/v2/shipments/{quote(shipment_id, safe='')}")

    def _known_shipment(self, key: str) -> dict | None:
        """The shipment this booking part already created (journal), as EasyPost has it
        now; None when there is none (or EasyPost no longer knows it)."""
        journal = self.options.get("journal")
        shipment_id = journal.shipment_id(key) if journal is not None else None
        if not shipment_id:
            return None
        try:
            shipment = self.call_json(self.build_retrieve(shipment_id),
                                      "easypost retrieve shipment")
        except CarrierError as exc:
            if exc.http_status == 404:
                return None
            raise
        if shipment.get("refund_status") in REFUND_ACCEPTED:
            return None  # its label was voided: this booking needs a new one
        return shipment

    def _journal(self, event: str, key: str, shipment: dict) -> None:
        journal = self.options.get("journal")
        if journal is not None and shipment.get("id"):
            journal.record(key, event, shipment["id"], shipment.get("tracking_code") or "",
                           self.code)

    def _buy(self, shipment: dict, service: str, key: str) -> dict:
        """Buy ``shipment`` (journal ``buying`` first: from then on the label may be paid).
        When the answer is lost (network, timeout, 5xx), the shipment is read back at once
        (``GET /v2/shipments/{id}``): if EasyPost applied the buy, its label is the answer;
        if it did not, or EasyPost cannot be read either, the original error stands and the
        retry settles it from the journal."""
        rate = select_rate(parse_rates(shipment), service)
        self._journal("buying", key, shipment)
        try:
            return self.call_json(self.build_buy(shipment["id"], rate.rate_id, key),
                                  "easypost buy")
        except TransientError as lost:
            try:
                now = self.call_json(self.build_retrieve(shipment["id"]),
                                     "easypost retrieve shipment")
            except AdapterError:
                raise lost from None
            if (now.get("postage_label") or {}).get("label_url"):
                return now
            raise

    def build_label_download(self, url: str) -> HttpRequest:
        same_host = urlsplit(url).netloc == urlsplit(self.base_url).netloc
        return self.request("GET", url, auth=same_host, headers={"Accept": "*/*"})

    # -- operations
    def rate(self, req: ShipmentRequest) -> list[Rate]:
        validate_request(req)
        rates: list[Rate] = []
        for i in range(len(req.parcels)):
            shipment = self.call_json(self.build_create(req, i), "easypost create shipment")
            rates.extend(parse_rates(shipment))
        return rates

    def _ship(
        self, req: ShipmentRequest, idempotency_key: str, is_return: bool | None = None
    ) -> ShipmentResult:
        validate_request(req)
        results: list[ShipmentResult] = []
        labels: list[Label] = []
        documents: list = []
        for i, parcel in enumerate(req.parcels):
            key = idempotency_key if len(req.parcels) == 1 else f"{idempotency_key}-{i + 1}"
            shipment = self._known_shipment(key)
            if shipment is None:
                shipment = self.call_json(
                    self.build_create(req, i, key, is_return), "easypost create shipment"
                )
                self._journal("created", key, shipment)
            if not (shipment.get("postage_label") or {}).get("label_url"):
                shipment = self._buy(shipment, req.service, key)
            self._journal("bought", key, shipment)
            result, label_url = parse_bought_shipment(shipment)
            results.append(result)
            if label_url:
                labels.append(self._download_label(result, parcel, label_url, req, i))
            documents.extend(download_forms(self, shipment, result))
        price = charge = None
        if all(r.price is not None for r in results):
            price = sum((r.price for r in results), Decimal("0"))
        if all(r.charge is not None for r in results):
            charge = sum((r.charge for r in results), Decimal("0"))
        return ShipmentResult(
            shipment_id=",".join(r.shipment_id for r in results),
            tracking_numbers=tuple(t for r in results for t in r.tracking_numbers),
            labels=tuple(labels),
            price=price,
            charge=charge,
            currency=results[0].currency if results else "",
            rates=tuple(rt for r in results for rt in r.rates),
            raw_status=results[-1].raw_status if results else "",
            tracking_url=results[0].tracking_url if results else "",
            documents=tuple(documents),
        )

    def _download_label(
        self, result: ShipmentResult, parcel: Parcel, url: str, req: ShipmentRequest, index: int
    ) -> Label:
        fmt = LABEL_FORMATS.get(req.label_format.upper(), "PDF")
        content = self.call(self.build_label_download(url), "easypost label download").body
        tracking = result.tracking_numbers[0] if result.tracking_numbers else ""
        ext = {"EPL2": "epl"}.get(fmt, fmt.lower())
        return Label(
            tracking_number=tracking,
            package_reference=parcel.reference or f"{req.reference}-{index + 1}",
            file_name=f"LabelShipping-easypost-{tracking or result.shipment_id}.{ext}",
            content=content,
            mime_type=LABEL_MIME[fmt],
            label_format=fmt,
        )

    def create_shipment(self, req: ShipmentRequest, idempotency_key: str) -> ShipmentResult:
        return self._ship(req, idempotency_key)

    def return_label(self, req: ShipmentRequest, idempotency_key: str) -> ShipmentResult:
        return self._ship(req, idempotency_key, is_return=True)

    def cancel(self, shipment_id: str, tracking_number: str = "") -> CancelResult:
        ids = [s for s in shipment_id.split(",") if s]
        if not ids:
            raise InvalidInput("cancel: shipment_id is required", code="missing_shipment_id")
        results = [
            parse_refund(
                self.call_json(
                    self.request("POST", f"/v2/shipments/{sid}/refund"), "easypost refund"
                )
            )
            for sid in ids
        ]
        return CancelResult(
            accepted=all(r.accepted for r in results),
            raw_status=",".join(r.raw_status for r in results),
            message="; ".join(
                f"{sid}: {r.raw_status or 'none'}" for sid, r in zip(ids, results, strict=False)
            ),
        )

    def track(self, tracking_numbers: Sequence[str]) -> list[CanonicalEvent]:
        """``POST /v2/trackers`` per code (EasyPost returns the existing tracker)."""
        carrier = self.options.get("carrier", "")
        events: list[CanonicalEvent] = []
        for code in tracking_numbers:
            tracker = self.call_json(
                self.request("POST", "/v2/trackers", json=build_tracker_body(code, carrier)),
                "easypost tracker",
            )
            events.extend(parse_tracker(tracker))
        return events

    def build_track_batch(self, tracking_numbers: Sequence[str]) -> HttpRequest:
        """``POST /v2/trackers/batch`` with ``{"tracking_codes": [...]}`` (cassette
        ``test_tracker_retrieve_batch``; SDK ``tracker.retrieve_batch``)."""
        return self.request("POST", "/v2/trackers/batch",
                            json={"tracking_codes": list(tracking_numbers)})

    def track_batch(self, tracking_numbers: Sequence[str]) -> dict[str, list[CanonicalEvent]]:
        """Several trackers in one ``POST /v2/trackers/batch``. Returns tracking code ->
        events, plus ``finalized`` codes under the key ``None``."""
        out: dict = {None: []}
        if not tracking_numbers:
            return out
        data = self.call_json(self.build_track_batch(tracking_numbers),
                              "easypost batch trackers")
        for tracker in data.get("trackers") or []:
            code = tracker.get("tracking_code")
            out[code] = parse_tracker(tracker)
            if tracker.get("finalized"):
                out[None].append(code)
        return out

    # -- carrier invoice data (Reports API)
    #: Column mapping (``shipsync.freight``) of a shipment report CSV.
    REPORT_COLUMNS = ("tracking_number=tracking_code;amount=postage_fee;invoice_ref=id;"
                      "invoice_date=created_at;currency=currency")

    def shipment_report(self, start_date: str, end_date: str, polls: int = 5,
                        sleep: Callable[[float], None] | None = None) -> bytes:
        """The CSV of a shipment report (``POST /v2/reports/shipment``, then read it with
        ``GET /v2/reports/{id}`` until ``status`` is ``available``, then download ``url``;
        cassettes ``test_report_create_report`` / ``test_report_retrieve_shipment_report``).
        ``TransientError``
        when it is still not ready after ``polls`` reads."""
        report = self.call_json(
            self.request("POST", "/v2/reports/shipment",
                         json={"start_date": start_date, "end_date": end_date}),
            "easypost create report")
        for attempt in range(max(polls, 1) + 1):
            if report.get("status") == "available" and report.get("url"):
                break
            if attempt == max(polls, 1):
                raise TransientError("easypost report: not ready yet", code="not_ready",
                                     secrets=self.secrets())
            if attempt and sleep:
                sleep(min(2.0 * attempt, 10.0))
            report = self.call_json(
                self.request("GET", f"/v2/reports/{quote(str(report.get('id')), safe='')}"),
                "easypost report")
        return self.call(self.build_label_download(report["url"]), "easypost report csv").body

    def get_tracker(self, tracker_id: str) -> list[CanonicalEvent]:
        return parse_tracker(
            self.call_json(self.request("GET", f"/v2/trackers/{tracker_id}"), "easypost tracker")
        )

    def parse_webhook(self, payload: dict) -> list[CanonicalEvent]:
        return parse_webhook(payload)

    def verify_address(self, address: Address) -> AddressCheck:
        """``POST /v2/addresses`` with ``verify`` (``addresses.verify_address``)."""
        return verify_address(self, address)
