"""A generic SOAP carrier through zeep, bound by configuration (a WSDL URL).

The service contract is the one the sandbox serves (``carrier.wsdl`` beside
this module):
document/literal operations ``CreateShipment``, ``GetLabel``, ``Track`` and ``Cancel``,
with the API key as an ``apiKey`` element of each request. A carrier speaking this
contract (or a thin SOAP facade in front of one) is bound in Odoo with a WSDL URL, an
API key and, when its codes differ, a ``status_map`` (track code -> milestone).

Every HTTP exchange, the WSDL download included, goes through the adapter's injectable
``http`` callable (``shipsync.transport.send`` on a pooled session by default), so
timeouts, credential masking and error classification are the same as for REST.

Errors: a ``soap:Client`` fault is a :class:`CarrierError` carrying the fault's
``errorCode`` detail as partner code; a ``soap:Server`` fault, a 5xx without a fault,
a timeout or a network error is a :class:`TransientError`; a reply that is not a SOAP
envelope is a :class:`TransientError` with code ``bad_response``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import requests
from requests.structures import CaseInsensitiveDict

from shipsync import dates
from shipsync.adapters.base import (
    AdapterError,
    CancelResult,
    CanonicalEvent,
    CarrierAdapter,
    CarrierError,
    HttpRequest,
    InvalidInput,
    Label,
    ShipmentRequest,
    ShipmentResult,
    TransientError,
    classify_result,
    to_decimal,
    validate_request,
)
from shipsync.ids import event_id

#: Track code -> (milestone, exception reason) of the sandbox's SOAP carrier.
DEFAULT_STATUS_MAP: dict[str, tuple[str | None, str | None]] = {
    "MANIFESTED": ("label_created", None),
    "ACCEPTED": ("picked_up", None),
    "IN_TRANSIT": ("in_transit", None),
    "DELAYED": ("in_transit", "delay_carrier"),
    "OUT_FOR_DELIVERY": ("out_for_delivery", None),
    "ATTEMPT_FAILED": ("delivery_attempted", "recipient_unavailable"),
    "DELIVERED": ("delivered", None),
    "RETURNING": ("returning", None),
    "RETURNED": ("returned", None),
    "LOST": ("delivery_failed", "lost"),
    "CANCELLED": ("cancelled", None),
}
CANCEL_ACCEPTED = ("CANCELLED", "VOIDED")
LABEL_EXT = {"application/pdf": "pdf", "application/zpl": "zpl", "image/png": "png"}

_WSDL_CACHE: dict[str, bytes] = {}
_WSDL_LOCK = threading.Lock()


def _address(addr) -> dict[str, Any]:
    return {"name": addr.name or addr.company or "-", "street": addr.street,
            "city": addr.city, "zip": addr.zip, "country": addr.country_code}


def build_create_params(req: ShipmentRequest, idempotency_key: str = "",
                        is_return: bool | None = None) -> dict[str, Any]:
    """The ``CreateShipment`` parameters (without ``apiKey``) of a request."""
    return {
        "reference": req.reference,
        "idempotencyKey": idempotency_key or None,
        "service": req.service or None,
        "isReturn": bool(req.is_return if is_return is None else is_return),
        "sender": _address(req.ship_from),
        "receiver": _address(req.ship_to),
        "parcel": [{"reference": p.reference or None, "weightKg": Decimal(p.weight_kg)}
                   for p in req.parcels],
    }


def _field(value: Any, name: str) -> Any:
    """A field of a zeep object or of a dict."""
    return value.get(name) if isinstance(value, dict) else getattr(value, name, None)


def parse_track(reply: Any, status_map: dict, tracking_number: str = "") -> list[CanonicalEvent]:
    """A ``TrackResponse`` (zeep object or dict) -> canonical events."""
    code = _field(reply, "trackingNumber") or tracking_number
    events = []
    for item in _field(reply, "event") or []:
        raw = str(_field(item, "code") or "")
        when = dates.parse_datetime(_field(item, "time"), strict=False)
        if not raw or when is None:
            continue
        milestone, reason = status_map.get(raw, (None, None))
        events.append(CanonicalEvent(
            external_id=event_id("soap", code, when.isoformat(), raw),
            occurred_at=when, code=raw, milestone=milestone, exception_reason=reason,
            tracking_number=code, message=str(_field(item, "message") or ""),
            location=str(_field(item, "location") or "")))
    return events


class _Transport:
    """A zeep transport that sends through the adapter's ``http`` callable."""

    def __init__(self, adapter: GenericSoapAdapter):
        from zeep.transports import Transport

        self._adapter = adapter
        self._base = Transport(cache=None, timeout=adapter.timeout[1],
                               operation_timeout=adapter.timeout[1])

    def __getattr__(self, name):
        return getattr(self._base, name)

    def _send(self, req: HttpRequest, operation: str) -> requests.Response:
        result = self._adapter.http(req)
        if not result.status:
            error = classify_result(result, operation, lambda d: (None, ""),
                                    self._adapter.secrets())
            raise error or TransientError(f"{operation}: no response", code="network")
        response = requests.Response()
        response.status_code = result.status
        response._content = result.body or b""
        response.headers = CaseInsensitiveDict(result.headers or {})
        response.encoding = "utf-8"
        response.url = req.url
        return response

    def load(self, url: str) -> bytes:
        with _WSDL_LOCK:
            if url in _WSDL_CACHE:
                return _WSDL_CACHE[url]
        req = self._adapter.request("GET", url, auth=False, headers={"Accept": "text/xml"})
        response = self._send(req, "soap wsdl")
        if response.status_code != 200:
            raise TransientError(f"soap wsdl: HTTP {response.status_code}",
                                 http_status=response.status_code, code="server_error")
        with _WSDL_LOCK:
            _WSDL_CACHE[url] = response.content
        return response.content

    def post(self, address, message, headers):
        req = HttpRequest(method="POST", url=address, headers=dict(headers), body=message,
                          connect_timeout=float(self._adapter.timeout[0]),
                          read_timeout=float(self._adapter.timeout[1]))
        return self._send(req, "soap call")

    def post_xml(self, address, envelope, headers):
        from zeep.wsdl.utils import etree_to_string

        return self.post(address, etree_to_string(envelope), headers)


class GenericSoapAdapter(CarrierAdapter):
    code = "generic_soap"

    def __init__(self, base_url: str = "", api_key: str = "", *, wsdl: str = "",
                 status_map: dict | None = None, **kw: Any):
        super().__init__(base_url, api_key, **kw)
        if not (wsdl or self.base_url):
            raise InvalidInput("a SOAP carrier needs a WSDL URL or a base URL",
                               code="bad_config")
        self.wsdl = wsdl or f"{self.base_url}/soap?wsdl"
        self.status_map = {**DEFAULT_STATUS_MAP, **(status_map or {})}
        self._client = None

    @classmethod
    def carrier_options(cls, *, soap_wsdl: str = "", **_settings: Any) -> dict[str, Any]:
        """The carrier's WSDL URL (empty: ``<base URL>/soap?wsdl``)."""
        return {"wsdl": soap_wsdl or ""}

    def client(self):
        if self._client is None:
            import zeep

            try:
                self._client = zeep.Client(self.wsdl, transport=_Transport(self))
            except AdapterError:
                raise
            except Exception as exc:  # noqa: BLE001 - zeep raises many kinds on a bad WSDL
                raise InvalidInput(f"the WSDL at {self.wsdl} cannot be used: {exc}",
                                   code="bad_wsdl", secrets=self.secrets()) from None
        return self._client

    def invoke(self, operation: str, **params: Any) -> Any:
        """Call one operation; SOAP faults and transport problems become adapter errors."""
        from zeep import exceptions as zx

        client = self.client()
        try:
            return getattr(client.service, operation)(apiKey=self.api_key, **params)
        except AdapterError:
            raise
        except zx.Fault as fault:
            code = str(fault.code or "")
            detail = ""
            if fault.detail is not None:
                found = fault.detail.find(".//errorCode")
                detail = (found.text or "").strip() if found is not None else ""
            text = f"soap {operation}: {fault.message}"
            if code.endswith("Client"):
                raise CarrierError(text, partner_code=detail or code,
                                   secrets=self.secrets()) from None
            raise TransientError(text, code="server_error", partner_code=detail or code,
                                 secrets=self.secrets()) from None
        except zx.TransportError as exc:
            status = exc.status_code or None
            if status and (status >= 500 or status in (408, 429)):
                raise TransientError(f"soap {operation}: HTTP {status}", http_status=status,
                                     code="server_error", secrets=self.secrets()) from None
            raise CarrierError(f"soap {operation}: HTTP {status}", http_status=status,
                               secrets=self.secrets()) from None
        except (zx.XMLSyntaxError, zx.XMLParseError, zx.ValidationError) as exc:
            raise TransientError(f"soap {operation}: unreadable reply: {exc}",
                                 code="bad_response", secrets=self.secrets()) from None

    # -- operations
    def _ship(self, req: ShipmentRequest, idempotency_key: str,
              is_return: bool | None = None) -> ShipmentResult:
        validate_request(req)
        reply = self.invoke("CreateShipment",
                            **build_create_params(req, idempotency_key, is_return))
        codes = tuple(reply.trackingNumber or ())
        labels = []
        fmt = (req.label_format or "PDF").upper()
        for index, code in enumerate(codes):
            label = self.invoke("GetLabel", trackingNumber=code, format=fmt)
            mime = label.mimeType or "application/pdf"
            parcel = req.parcels[index] if index < len(req.parcels) else None
            labels.append(Label(
                tracking_number=code,
                package_reference=(parcel.reference if parcel else "") or
                f"{req.reference}-{index + 1}",
                file_name=f"LabelShipping-soap-{code}.{LABEL_EXT.get(mime, 'pdf')}",
                content=bytes(label.label or b""), mime_type=mime,
                label_format="ZPL" if mime == "application/zpl" else "PDF"))
        price = to_decimal(reply.price)
        return ShipmentResult(shipment_id=str(reply.shipmentId), tracking_numbers=codes,
                              labels=tuple(labels), price=price, charge=price,
                              currency=reply.currency or "", raw_status="MANIFESTED")

    def create_shipment(self, req: ShipmentRequest, idempotency_key: str) -> ShipmentResult:
        return self._ship(req, idempotency_key)

    def return_label(self, req: ShipmentRequest, idempotency_key: str) -> ShipmentResult:
        return self._ship(req, idempotency_key, is_return=True)

    def cancel(self, shipment_id: str, tracking_number: str = "") -> CancelResult:
        if not shipment_id:
            raise InvalidInput("cancel: shipment_id is required", code="missing_shipment_id")
        reply = self.invoke("Cancel", shipmentId=shipment_id)
        status = str(reply.status or "")
        return CancelResult(accepted=status in CANCEL_ACCEPTED, raw_status=status,
                            message=str(reply.message or ""))

    def track(self, tracking_numbers: Sequence[str]) -> list[CanonicalEvent]:
        events: list[CanonicalEvent] = []
        for code in tracking_numbers:
            events.extend(parse_track(self.invoke("Track", trackingNumber=code),
                                      self.status_map, code))
        return events
