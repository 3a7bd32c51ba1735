"""Plain values exchanged with a warehouse / 3PL (WMS).

The ``shipment_sync_wms`` addon turns delivery orders into :class:`ReleaseOrder`
values and receives :class:`Confirmation` and :class:`StockSnapshotLine` values
back; the file formats in this package (CSV, JSON, X12 940/945) only convert
between these values and bytes.

All values are frozen dataclasses. Quantities and weights are :class:`~decimal.Decimal`,
``occurred_at`` is an aware datetime normalized to UTC. Constructors validate
the few invariants every format relies on and raise :class:`ValueError`;
``from_dict`` raises :class:`FormatError` (a ``ValueError``) listing every problem.

``to_dict`` gives JSON-friendly dicts: decimals as strings (``"1.500"``, never an
exponent), dates as ``YYYY-MM-DD``, datetimes as ISO 8601 UTC with a ``Z`` suffix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation

from .. import dates
from ..address import Address

RELEASE_ACTIONS = ("create", "update", "cancel")
CONFIRMATION_KINDS = (
    "pick_confirmed",
    "pack_confirmed",
    "ship_confirmed",
    "release_ack",
    "return_received",
    "cancel_ack",
    "cancel_refused",
)

_DECIMAL_RE = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?$")
_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


class FormatError(ValueError):
    """A document could not be read; ``errors`` lists every problem found.

    Each error is ``(line, message)``: the line number in a CSV file, the segment
    number in an X12 interchange, ``0`` when no position applies (JSON errors
    carry their JSON path in the message instead).
    """

    def __init__(self, errors: list[tuple[int, str]] | str):
        if isinstance(errors, str):
            errors = [(0, errors)]
        self.errors: list[tuple[int, str]] = list(errors)
        shown = "; ".join(f"line {n}: {m}" if n else m for n, m in self.errors[:20])
        more = f" (+{len(self.errors) - 20} more)" if len(self.errors) > 20 else ""
        super().__init__(f"{len(self.errors)} error(s): {shown}{more}")


# -- scalar helpers shared by the formats ------------------------------------------------


def parse_decimal(text: str, what: str = "quantity") -> Decimal:
    """Strict decimal: digits with an optional ``.`` fraction (no comma, no exponent)."""
    text = (text or "").strip()
    if not _DECIMAL_RE.match(text):
        raise ValueError(f"{what} {text!r} is not a decimal number with '.' decimals")
    return Decimal(text)


def format_decimal(value: Decimal) -> str:
    """Plain notation (``"100"``, never ``"1E+2"``); negative zero is written ``0``."""
    return format(value.copy_abs() if value == 0 else value, "f")


def parse_date(text: str, what: str = "date") -> date:
    if not _DATE_RE.match(text or ""):
        raise ValueError(f"{what} {text!r} is not a YYYY-MM-DD date")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{what} {text!r}: {exc}") from None


def format_datetime(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _decimal(value, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, str)):
        raise ValueError(f"{what} must be a Decimal, got {type(value).__name__}")
    try:
        value = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{what} {value!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"{what} must be finite")
    return value


def _set(obj, name: str, value) -> None:
    object.__setattr__(obj, name, value)


def _require(obj, *names: str) -> None:
    for name in names:
        if not getattr(obj, name):
            raise ValueError(f"{type(obj).__name__}.{name} is required")


# -- values -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReleaseLine:
    line_ref: str
    product_code: str
    barcode: str
    quantity: Decimal
    uom: str
    lots: tuple[str, ...] = ()

    def __post_init__(self):
        _require(self, "line_ref", "product_code")
        quantity = _decimal(self.quantity, "quantity")
        if quantity < 0:
            raise ValueError(f"quantity {quantity} is negative")
        _set(self, "quantity", quantity)
        _set(self, "lots", tuple(self.lots))

    def to_dict(self) -> dict:
        return {
            "line_ref": self.line_ref,
            "product_code": self.product_code,
            "barcode": self.barcode,
            "quantity": format_decimal(self.quantity),
            "uom": self.uom,
            "lots": list(self.lots),
        }

    @classmethod
    def from_dict(cls, data: dict) -> ReleaseLine:
        return _build(
            cls,
            data,
            lambda d: cls(
                line_ref=d["line_ref"],
                product_code=d["product_code"],
                barcode=d.get("barcode") or "",
                quantity=parse_decimal(d["quantity"]),
                uom=d.get("uom") or "",
                lots=tuple(d.get("lots") or ()),
            ),
        )


@dataclass(frozen=True)
class ReleaseOrder:
    order_ref: str
    correlation_id: str
    revision: int
    action: str
    warehouse_code: str
    ship_to: Address
    carrier: str
    service: str
    requested_date: date | None
    lines: tuple[ReleaseLine, ...]

    def __post_init__(self):
        _require(self, "order_ref")
        if self.action not in RELEASE_ACTIONS:
            raise ValueError(f"action {self.action!r} is not one of {', '.join(RELEASE_ACTIONS)}")
        if isinstance(self.revision, bool) or not isinstance(self.revision, int):
            raise ValueError("revision must be an integer")
        if self.revision < 0:
            raise ValueError("revision must not be negative")
        if isinstance(self.requested_date, datetime):
            raise ValueError("requested_date must be a date, not a datetime")
        _set(self, "lines", tuple(self.lines))

    def to_dict(self) -> dict:
        return {
            "order_ref": self.order_ref,
            "correlation_id": self.correlation_id,
            "revision": self.revision,
            "action": self.action,
            "warehouse_code": self.warehouse_code,
            "ship_to": self.ship_to.to_dict(),
            "carrier": self.carrier,
            "service": self.service,
            "requested_date": self.requested_date.isoformat() if self.requested_date else None,
            "lines": [line.to_dict() for line in self.lines],
        }

    @classmethod
    def from_dict(cls, data: dict) -> ReleaseOrder:
        def build(d):
            requested = d.get("requested_date")
            return cls(
                order_ref=d["order_ref"],
                correlation_id=d.get("correlation_id") or "",
                revision=int(d["revision"]),
                action=d["action"],
                warehouse_code=d.get("warehouse_code") or "",
                ship_to=_build(Address, d.get("ship_to") or {}, Address.from_mapping),
                carrier=d.get("carrier") or "",
                service=d.get("service") or "",
                requested_date=parse_date(requested, "requested_date") if requested else None,
                lines=tuple(ReleaseLine.from_dict(x) for x in d.get("lines") or ()),
            )

        return _build(cls, data, build)


@dataclass(frozen=True)
class ConfirmedLine:
    line_ref: str
    product_code: str
    quantity: Decimal
    lots: tuple[tuple[str, Decimal], ...] = ()
    package_ref: str = ""
    #: Unit of the quantity as an X12 code (element 355, e.g. ``EA``, ``DZ``);
    #: ``""`` when the format carries none (CSV / JSON: the unit of the order line).
    uom: str = ""

    def __post_init__(self):
        _require(self, "product_code")
        quantity = _decimal(self.quantity, "quantity")
        if quantity < 0:
            raise ValueError(f"quantity {quantity} is negative")
        _set(self, "quantity", quantity)
        lots = []
        for lot in self.lots:
            name, qty = lot
            if not name:
                raise ValueError("lot name is required")
            lots.append((name, _decimal(qty, f"quantity of lot {name!r}")))
        _set(self, "lots", tuple(lots))

    def to_dict(self) -> dict:
        return {
            "line_ref": self.line_ref,
            "product_code": self.product_code,
            "quantity": format_decimal(self.quantity),
            "lots": [{"lot": n, "quantity": format_decimal(q)} for n, q in self.lots],
            "package_ref": self.package_ref,
        } | ({"uom": self.uom} if self.uom else {})

    @classmethod
    def from_dict(cls, data: dict) -> ConfirmedLine:
        return _build(
            cls,
            data,
            lambda d: cls(
                line_ref=d.get("line_ref") or "",
                product_code=d["product_code"],
                quantity=parse_decimal(d["quantity"]),
                lots=tuple(
                    (x["lot"], parse_decimal(x["quantity"], "lot quantity"))
                    for x in d.get("lots") or ()
                ),
                package_ref=d.get("package_ref") or "",
                uom=d.get("uom") or "",
            ),
        )


@dataclass(frozen=True)
class ConfirmedPackage:
    package_ref: str
    tracking_number: str = ""
    carrier: str = ""
    weight_kg: Decimal | None = None

    def __post_init__(self):
        _require(self, "package_ref")
        if self.weight_kg is not None:
            weight = _decimal(self.weight_kg, "weight_kg")
            if weight < 0:
                raise ValueError(f"weight_kg {weight} is negative")
            _set(self, "weight_kg", weight)

    def to_dict(self) -> dict:
        weight = self.weight_kg
        return {
            "package_ref": self.package_ref,
            "tracking_number": self.tracking_number,
            "carrier": self.carrier,
            "weight_kg": None if weight is None else format_decimal(weight),
        }

    @classmethod
    def from_dict(cls, data: dict) -> ConfirmedPackage:
        def build(d):
            weight = d.get("weight_kg")
            return cls(
                package_ref=d["package_ref"],
                tracking_number=d.get("tracking_number") or "",
                carrier=d.get("carrier") or "",
                weight_kg=None if weight in (None, "") else parse_decimal(weight, "weight_kg"),
            )

        return _build(cls, data, build)


@dataclass(frozen=True)
class Confirmation:
    message_id: str
    kind: str
    order_ref: str
    correlation_id: str
    occurred_at: datetime
    lines: tuple[ConfirmedLine, ...] = ()
    packages: tuple[ConfirmedPackage, ...] = ()
    reason: str = ""
    condition_code: str = ""

    def __post_init__(self):
        _require(self, "message_id", "order_ref")
        if self.kind not in CONFIRMATION_KINDS:
            raise ValueError(f"kind {self.kind!r} is not one of {', '.join(CONFIRMATION_KINDS)}")
        if not isinstance(self.occurred_at, datetime) or self.occurred_at.tzinfo is None:
            raise ValueError("occurred_at must be an aware datetime")
        _set(self, "occurred_at", self.occurred_at.astimezone(timezone.utc))
        _set(self, "lines", tuple(self.lines))
        _set(self, "packages", tuple(self.packages))

    def to_dict(self) -> dict:
        return {
            "message_id": self.message_id,
            "kind": self.kind,
            "order_ref": self.order_ref,
            "correlation_id": self.correlation_id,
            "occurred_at": format_datetime(self.occurred_at),
            "lines": [line.to_dict() for line in self.lines],
            "packages": [package.to_dict() for package in self.packages],
            "reason": self.reason,
            "condition_code": self.condition_code,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Confirmation:
        return _build(
            cls,
            data,
            lambda d: cls(
                message_id=d["message_id"],
                kind=d["kind"],
                order_ref=d["order_ref"],
                correlation_id=d.get("correlation_id") or "",
                occurred_at=dates.parse_datetime(d["occurred_at"], "occurred_at", strict="offset"),
                lines=tuple(ConfirmedLine.from_dict(x) for x in d.get("lines") or ()),
                packages=tuple(ConfirmedPackage.from_dict(x) for x in d.get("packages") or ()),
                reason=d.get("reason") or "",
                condition_code=d.get("condition_code") or "",
            ),
        )


@dataclass(frozen=True)
class StockSnapshotLine:
    product_code: str
    location: str
    lot: str
    quantity: Decimal

    def __post_init__(self):
        _require(self, "product_code")
        _set(self, "quantity", _decimal(self.quantity, "quantity"))

    def to_dict(self) -> dict:
        return {
            "product_code": self.product_code,
            "location": self.location,
            "lot": self.lot,
            "quantity": format_decimal(self.quantity),
        }

    @classmethod
    def from_dict(cls, data: dict) -> StockSnapshotLine:
        return _build(
            cls,
            data,
            lambda d: cls(
                product_code=d["product_code"],
                location=d.get("location") or "",
                lot=d.get("lot") or "",
                quantity=parse_decimal(d["quantity"]),
            ),
        )


def _fields(cls) -> tuple[str, ...]:
    return tuple(cls.__dataclass_fields__)


def _build(cls, data, build):
    """Run ``build(data)``, turning every failure into a :class:`FormatError`."""
    if not isinstance(data, dict):
        raise FormatError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
    try:
        return build(data)
    except FormatError:
        raise
    except KeyError as exc:
        raise FormatError(f"{cls.__name__}: missing {exc.args[0]!r}") from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise FormatError(f"{cls.__name__}: {exc}") from None
