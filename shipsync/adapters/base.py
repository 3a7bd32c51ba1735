"""Typed values, errors and the adapter base class shared by every carrier adapter.

Adapters are split in three layers so that everything but one HTTP call is pure:

* ``build_*`` functions turn typed values into an :class:`HttpRequest` (no I/O);
* ``parse_*`` functions turn a decoded partner payload into typed values (no I/O);
* the adapter methods glue them together and send each request through one
  injectable callable ``http(HttpRequest) -> HttpResult``.

Tests drive the adapters by injecting an ``http`` callable returning canned
``HttpResult`` values; production code leaves ``http`` unset and gets
``shipsync.transport.send`` (timeouts, never raises).
"""

from __future__ import annotations

import base64
import json as _json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from shipsync.address import Address, AddressCheck
from shipsync.normalizers import CanonicalEvent
from shipsync.transport import HttpRequest, HttpResult, mask, new_session, send

TrackingEvent = CanonicalEvent
HttpFunc = Callable[[HttpRequest], HttpResult]


# --------------------------------------------------------------------------- values
@dataclass(frozen=True)
class ParcelItem:
    """One line of a parcel's content (customs and carrier item data): per-unit weight
    and value, ``quantity`` units."""

    description: str
    quantity: int
    weight_kg: Decimal | None = None
    value: Decimal | None = None
    currency: str = ""
    hs_code: str = ""
    origin_country: str = ""
    sku: str = ""


#: What an international parcel contains (EasyPost ``customs_info.contents_type``;
#: Sendcloud v3 ``customs_information.export_reason`` maps from it).
CONTENTS_TYPES = ("merchandise", "documents", "gift", "sample", "returned_goods", "other")


@dataclass(frozen=True)
class Customs:
    """The declaration of an international booking (its lines are the parcels'
    ``items``): contents type, Incoterm, who certifies, what to do if undeliverable,
    the commercial invoice number. Rules: ``shipsync.customs``."""

    contents_type: str = "merchandise"
    contents_explanation: str = ""
    incoterm: str = ""
    signer: str = ""
    non_delivery_option: str = "return"
    invoice_number: str = ""


@dataclass(frozen=True)
class Parcel:
    weight_kg: Decimal | None
    length_cm: Decimal | None = None
    width_cm: Decimal | None = None
    height_cm: Decimal | None = None
    reference: str = ""
    items: tuple[ParcelItem, ...] = ()


@dataclass(frozen=True)
class ShipmentRequest:
    reference: str
    correlation_id: str
    ship_from: Address
    ship_to: Address
    parcels: tuple[Parcel, ...]
    service: str = ""
    carrier_account: str = ""
    is_return: bool = False
    declared_value: Decimal | None = None
    currency: str = "EUR"
    label_format: str = "PDF"
    #: The customs declaration; sent only when the booking is international
    #: (``shipsync.customs.is_international``).
    customs: Customs | None = None
    #: Cash on delivery: the amount the carrier collects (``currency``); None: no COD.
    #: Sent only by adapters with ``supports_cod`` (a partner source documents it).
    cod_amount: Decimal | None = None


@dataclass(frozen=True)
class Rate:
    carrier: str
    service: str
    amount: Decimal
    currency: str
    rate_id: str
    delivery_days: int | None = None


@dataclass(frozen=True)
class Label:
    tracking_number: str
    package_reference: str
    file_name: str
    content: bytes
    mime_type: str
    label_format: str


@dataclass(frozen=True)
class Document:
    """A document the partner returned with a booking besides the label (customs
    declaration, commercial invoice)."""

    kind: str
    file_name: str
    content: bytes
    mime_type: str
    tracking_number: str = ""


@dataclass(frozen=True)
class ShipmentResult:
    shipment_id: str
    tracking_numbers: tuple[str, ...] = ()
    labels: tuple[Label, ...] = ()
    price: Decimal | None = None
    currency: str = ""
    rates: tuple[Rate, ...] = ()
    raw_status: str = ""
    tracking_url: str = ""
    #: What the carrier actually charges (fees, surcharges), when it says so; ``price``
    #: is the quoted rate.
    charge: Decimal | None = None
    #: Customs documents the partner returned (attached to the transfer).
    documents: tuple[Document, ...] = ()


@dataclass(frozen=True)
class CancelResult:
    accepted: bool
    raw_status: str
    message: str = ""


# --------------------------------------------------------------------------- errors
#: Secrets shorter than this are not masked in adapter errors (masking "ab" would
#: shred every message while protecting nothing).
MASK_MIN_LENGTH = 4


class AdapterError(Exception):
    """Base adapter error. ``retryable`` tells the outbox whether to retry."""

    default_code = "adapter_error"
    default_retryable = False

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        retryable: bool | None = None,
        http_status: int | None = None,
        partner_code: str | None = None,
        secrets: Iterable[str] = (),
    ):
        secrets = tuple(secrets)
        self.message = mask(str(message), secrets, MASK_MIN_LENGTH)
        self.code = code or self.default_code
        self.retryable = self.default_retryable if retryable is None else retryable
        self.http_status = http_status
        if partner_code:
            partner_code = mask(str(partner_code), secrets, MASK_MIN_LENGTH)
        self.partner_code = partner_code
        super().__init__(self.message)

    def __str__(self) -> str:
        parts = [self.code]
        if self.http_status:
            parts.append(f"HTTP {self.http_status}")
        if self.partner_code:
            parts.append(self.partner_code)
        return f"[{' / '.join(parts)}] {self.message}"


class InvalidInput(AdapterError):
    """Our side is wrong (missing weight, bad country, bad config): no call was made."""

    default_code = "invalid_input"


class CarrierError(AdapterError):
    """The partner refused (4xx with its own error code). Not retryable as is."""

    default_code = "carrier_error"


class TransientError(AdapterError):
    """5xx, 408, 429, timeout, network: retry later (honour ``retry_after``)."""

    default_code = "transient"
    default_retryable = True

    def __init__(self, message: str, *, retry_after: str | float | None = None, **kw: Any):
        super().__init__(message, **kw)
        self.retry_after = retry_after


# --------------------------------------------------------------------------- helpers
_COUNTRY_RE = re.compile(r"^[A-Z]{2}$")


def validate_request(req: ShipmentRequest) -> None:
    """Raise :class:`InvalidInput` before any call when the request cannot be shipped."""
    if not req.parcels:
        raise InvalidInput("shipment has no parcels", code="missing_parcels")
    for i, parcel in enumerate(req.parcels):
        if parcel.weight_kg is None or Decimal(parcel.weight_kg) <= 0:
            raise InvalidInput(f"parcels[{i}]: weight_kg must be > 0", code="missing_weight")
        for dim in ("length_cm", "width_cm", "height_cm"):
            value = getattr(parcel, dim)
            if value is not None and Decimal(value) <= 0:
                raise InvalidInput(f"parcels[{i}]: {dim} must be > 0", code="bad_dimension")
    for role in ("ship_from", "ship_to"):
        addr: Address = getattr(req, role)
        if not _COUNTRY_RE.match(addr.country_code or ""):
            raise InvalidInput(
                f"{role}.country_code must be ISO 3166-1 alpha-2 uppercase, got "
                f"{addr.country_code!r}",
                code="bad_country_code",
            )
        if not (addr.zip or addr.city):
            raise InvalidInput(f"{role}: zip or city is required", code="missing_address")


def basic_auth(user: str, password: str) -> str:
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def join_url(base_url: str, path: str) -> str:
    if path.startswith(("http://", "https://")):
        return path
    return base_url.rstrip("/") + "/" + path.lstrip("/")


def to_decimal(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def result_json(result: HttpResult) -> Any:
    try:
        return result.json()
    except (ValueError, UnicodeDecodeError):
        return None


def classify_result(
    result: HttpResult,
    operation: str,
    partner_error: Callable[[Any], tuple[str | None, str]],
    secrets: Sequence[str] = (),
) -> AdapterError | None:
    """Map a transport result onto ``None`` (2xx) or the matching adapter error.

    ``partner_error(decoded_body) -> (partner_code, message)`` extracts the
    partner's own error code and text.
    """
    status = result.status or 0
    if not status:
        if result.error_class == "adapter_error":
            return AdapterError(f"{operation}: {result.error}", secrets=secrets)
        return TransientError(
            f"{operation}: {result.error_class or 'network'}: {result.error or 'no response'}",
            code=result.error_class or "network",
            retry_after=result.retry_after,
            secrets=secrets,
        )
    if 200 <= status < 300 and result.error_class == "invalid_response":
        return TransientError(
            f"{operation}: {result.error}",
            code="invalid_response",
            http_status=status,
            secrets=secrets,
        )
    if 300 <= status < 400:
        return CarrierError(
            f"{operation}: unexpected redirect",
            code="unexpected_redirect",
            http_status=status,
            secrets=secrets,
        )
    if 200 <= status < 300:
        return None
    data = result_json(result)
    partner_code, message = partner_error(data) if data is not None else (None, "")
    if not message:
        message = result.excerpt() if hasattr(result, "excerpt") else ""
    text = f"{operation}: {message}".strip()
    if status in (408, 425, 429) or status >= 500:
        return TransientError(
            text,
            code="rate_limited" if status == 429 else "server_error",
            http_status=status,
            partner_code=partner_code,
            retry_after=result.retry_after,
            secrets=secrets,
        )
    return CarrierError(text, http_status=status, partner_code=partner_code, secrets=secrets)


def default_http(session: Any = None) -> HttpFunc:
    """The production ``http`` callable: ``shipsync.transport.send`` on one pooled session."""
    session = session or new_session()

    def _send(req: HttpRequest) -> HttpResult:
        return send(session, req)

    return _send


# --------------------------------------------------------------------------- base class
def get_adapter(code: str) -> type[CarrierAdapter]:
    """The outbound adapter class of a partner code (the registry in ``shipsync.partners``)."""
    from shipsync import partners

    return partners.get_adapter(code)


class CarrierAdapter:
    """Base class. Subclasses implement the operations they support."""

    code = "base"
    #: Can a booking carry a cash-on-delivery amount (``ShipmentRequest.cod_amount``)?
    supports_cod = False

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        http: HttpFunc | None = None,
        timeout: tuple[float, float] = (5, 30),
        **options: Any,
    ):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.options = options
        self.http = http or default_http()

    @classmethod
    def carrier_options(cls, *, service: str = "", rest_config: str = "",
                        soap_wsdl: str = "", api_version: str = "") -> dict[str, Any]:
        """Constructor options from a delivery carrier's settings (plain text as typed in
        Odoo); each adapter takes what it understands. ``InvalidInput`` on a bad value."""
        return {}

    # -- secrets and calls
    def secrets(self) -> list[str]:
        """Every form of the credentials that could leak into a message."""
        out = [self.api_key or ""]
        out += [str(v) for k, v in self.options.items() if "secret" in k or "password" in k]
        for header in self.auth_headers().values():
            out.append(header)
            out.append(header.split(" ", 1)[-1])
        return [s for s in out if s]

    def auth_headers(self) -> dict[str, str]:
        return {}

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        auth: bool = True,
        idempotency_key: str | None = None,
        headers: dict | None = None,
    ) -> HttpRequest:
        hdrs = {"Accept": "application/json"}
        if json is not None:
            hdrs["Content-Type"] = "application/json"
        if auth:
            hdrs.update(self.auth_headers())
        hdrs.update(headers or {})
        return HttpRequest(
            method=method,
            url=join_url(self.base_url, path),
            headers=hdrs,
            json=json,
            idempotency_key=idempotency_key,
            connect_timeout=float(self.timeout[0]),
            read_timeout=float(self.timeout[1]),
        )

    def partner_error(self, data: Any) -> tuple[str | None, str]:
        """Extract ``(partner_code, message)`` from an error body. Overridden per partner."""
        if isinstance(data, dict):
            return None, _json.dumps(data)[:300]
        return None, str(data)[:300]

    def call(self, req: HttpRequest, operation: str, tolerate: Sequence[int] = ()) -> HttpResult:
        """Send through ``self.http``; raise the classified error on failure.

        Statuses in ``tolerate`` (documented partner answers such as a refused
        cancellation) are returned instead of raised.
        """
        try:
            result = self.http(req)
        except Exception as exc:  # noqa: BLE001 - an injected callable may raise
            raise TransientError(
                f"{operation}: {type(exc).__name__}: {exc}", code="network", secrets=self.secrets()
            ) from None
        if result.status in tolerate:
            return result
        error = classify_result(result, operation, self.partner_error, self.secrets())
        if error is not None:
            raise error
        return result

    def call_json(self, req: HttpRequest, operation: str) -> Any:
        result = self.call(req, operation)
        data = result_json(result)
        if data is None:
            raise TransientError(
                f"{operation}: response is not JSON",
                code="bad_response",
                http_status=result.status,
                secrets=self.secrets(),
            )
        return data

    # -- operations (Odoo delivery API shaped)
    def rate(self, req: ShipmentRequest) -> list[Rate]:
        raise NotImplementedError(f"{self.code}: rate")

    def create_shipment(self, req: ShipmentRequest, idempotency_key: str) -> ShipmentResult:
        raise NotImplementedError(f"{self.code}: create_shipment")

    def cancel(self, shipment_id: str, tracking_number: str = "") -> CancelResult:
        raise NotImplementedError(f"{self.code}: cancel")

    def track(self, tracking_numbers: Sequence[str]) -> list[CanonicalEvent]:
        raise NotImplementedError(f"{self.code}: track")

    def return_label(self, req: ShipmentRequest, idempotency_key: str) -> ShipmentResult:
        raise NotImplementedError(f"{self.code}: return_label")

    def verify_address(self, address: Address) -> AddressCheck:
        """The partner's verdict on a delivery address (``shipsync.address.AddressCheck``)."""
        raise NotImplementedError(f"{self.code}: verify_address")
