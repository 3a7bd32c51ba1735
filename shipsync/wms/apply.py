"""Applying WMS messages to plain picking values (pure: no Odoo import).

- :func:`build_release`: a :class:`~shipsync.wms.messages.ReleaseOrder` from plain
  picking values (the outbound payload).
- :func:`plan_confirmation`: check a ship / return :class:`Confirmation` against
  a :class:`PickingValues` and return either a :class:`Mismatch` listing every
  exact reason, or a :class:`ApplyPlan` (what to set on each move, which packages
  to create with their tracking numbers, whether it is partial). Nothing is
  applied unless the whole confirmation is consistent.
- :func:`reconcile`: the diff of a WMS stock snapshot against Odoo quantities.
- :class:`WmsNormalizer`: a webhook body (one confirmation) -> canonical events
  for the core ledger, keeping the confirmation itself as ``payload``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from ..normalizers import CanonicalEvent, Normalizer
from ..schemas import SCHEMA_VIOLATION, PayloadError
from .messages import Address, Confirmation, FormatError, ReleaseLine, ReleaseOrder

#: Confirmation kind -> canonical milestone (None: no milestone of its own).
KIND_MILESTONES = {
    "release_ack": "released",
    "pick_confirmed": "picked",
    "pack_confirmed": "packed",
    "ship_confirmed": "handed_over",
    "return_received": "returned",
    "cancel_ack": None,
    "cancel_refused": None,
}
#: Kinds that carry quantities to apply on a picking.
APPLIED_KINDS = ("ship_confirmed", "return_received")


# --------------------------------------------------------------------------- release
@dataclass(frozen=True)
class MoveValues:
    """One stock move as plain values."""

    move_id: int
    product_code: str
    quantity: Decimal  # ordered, in the move's unit
    uom: str = ""  # the move's unit: its X12 code (element 355) when it has one
    barcode: str = ""
    tracking: str = "none"  # none | lot | serial
    requested_lots: tuple[str, ...] = ()


@dataclass(frozen=True)
class PickingValues:
    """A picking as plain values: what a confirmation is checked against."""

    name: str
    state: str
    moves: tuple[MoveValues, ...]
    correlation_id: str = ""
    #: product code -> lot names that exist in Odoo for it.
    known_lots: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: product codes that exist in Odoo at all.
    known_products: frozenset[str] = frozenset()
    #: X12 unit codes mapped to a unit in Odoo (None: no unit is checked).
    known_units: frozenset[str] | None = None


def build_release(
    picking: PickingValues,
    *,
    revision: int,
    action: str,
    warehouse_code: str = "",
    ship_to: Address | Mapping | None = None,
    carrier: str = "",
    service: str = "",
    requested_date: date | None = None,
) -> ReleaseOrder:
    """The release message of a picking (one line per move, ``line_ref`` = move id)."""
    if isinstance(ship_to, Mapping):
        ship_to = Address.from_mapping(ship_to)
    lines = tuple(
        ReleaseLine(
            line_ref=str(m.move_id), product_code=m.product_code, barcode=m.barcode,
            quantity=Decimal(m.quantity), uom=m.uom, lots=tuple(m.requested_lots),
        )
        for m in picking.moves
    )
    return ReleaseOrder(
        order_ref=picking.name, correlation_id=picking.correlation_id, revision=revision,
        action=action, warehouse_code=warehouse_code, ship_to=ship_to or Address(),
        carrier=carrier, service=service, requested_date=requested_date,
        lines=lines if action != "cancel" else (),
    )


# --------------------------------------------------------------------------- confirmation
@dataclass(frozen=True)
class LotAllocation:
    lot: str  # "" when the product is not tracked
    quantity: Decimal
    package_ref: str = ""


@dataclass(frozen=True)
class MovePlan:
    move_id: int
    product_code: str
    ordered: Decimal
    done: Decimal
    allocations: tuple[LotAllocation, ...]


@dataclass(frozen=True)
class PackagePlan:
    package_ref: str
    tracking_number: str
    carrier: str
    weight_kg: Decimal | None


@dataclass(frozen=True)
class ApplyPlan:
    moves: tuple[MovePlan, ...]
    packages: tuple[PackagePlan, ...]
    partial: bool
    tracking_numbers: tuple[str, ...]
    carrier: str
    condition_code: str = ""

    @property
    def tracking_ref(self) -> str:
        """The value for ``carrier_tracking_ref``: tracking numbers, comma-separated."""
        return ",".join(self.tracking_numbers)


@dataclass(frozen=True)
class Mismatch:
    reasons: tuple[str, ...]

    def __str__(self) -> str:
        return "; ".join(self.reasons)


def _fmt(value: Decimal) -> str:
    text = format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")
    return text


def plan_confirmation(
    confirmation: Confirmation,
    picking: PickingValues,
    tolerance_percent: Decimal | float | int = 0,
) -> ApplyPlan | Mismatch:
    """Check ``confirmation`` against ``picking``; every problem is reported.

    Lines are matched to moves by ``line_ref`` (the move id sent in the release)
    when it names a move of the picking, else by product code (filling the moves
    of that product in order). Rules: the picking must not be done or cancelled;
    every product must exist and be on the picking; every lot must exist for its
    product; a tracked product needs lots covering its quantity (a serial: 1
    each); lot quantities add up to the line quantity; a product may not exceed
    its ordered quantity by more than ``tolerance_percent``; packages named by
    lines must be declared (or are created without tracking number). A line that
    states its unit (X12 ``W12-05``) must use a unit known to Odoo and the unit
    of the move it lands on: 1 EA shipped against 1 Dozen ordered is refused,
    never applied as a dozen (nor converted behind the user's back).
    """
    reasons: list[str] = []
    name = picking.name
    if picking.state == "done":
        reasons.append(f"transfer {name} is already done")
    elif picking.state == "cancel":
        reasons.append(f"transfer {name} is cancelled")
    if confirmation.order_ref != name and (
        not confirmation.correlation_id or confirmation.correlation_id != picking.correlation_id
    ):
        reasons.append(f"confirmation is for {confirmation.order_ref}, not {name}")
    tolerance = Decimal(str(tolerance_percent or 0))
    moves_by_id = {str(m.move_id): m for m in picking.moves}
    moves_by_product: dict[str, list[MoveValues]] = {}
    for move in picking.moves:
        moves_by_product.setdefault(move.product_code, []).append(move)

    # Every confirmed quantity lands on a move: (move, lot, qty, package).
    assigned: dict[int, list[LotAllocation]] = OrderedDict((m.move_id, []) for m in picking.moves)
    done_by_move: dict[int, Decimal] = {m.move_id: Decimal(0) for m in picking.moves}
    for index, line in enumerate(confirmation.lines, start=1):
        code = line.product_code
        where = f"line {index} ({code})"
        if code not in moves_by_product:
            if picking.known_products and code not in picking.known_products:
                reasons.append(f"{where}: unknown product {code!r}")
            else:
                reasons.append(f"{where}: product {code!r} is not on transfer {name}")
            continue
        candidates = moves_by_product[code]
        move = moves_by_id.get(line.line_ref)
        if move is not None and move.product_code != code:
            reasons.append(f"{where}: line_ref {line.line_ref} is a move of "
                           f"{move.product_code!r}, not {code!r}")
            continue
        if line.uom:
            targets = [move] if move is not None else candidates
            if picking.known_units is not None and line.uom not in picking.known_units:
                reasons.append(f"{where}: unit of measure {line.uom!r} is not mapped to a unit "
                               "in Odoo (X12 unit code of the units of measure)")
                continue
            ordered_in = sorted({t.uom for t in targets if t.uom != line.uom})
            if ordered_in:
                reasons.append(f"{where}: {_fmt(line.quantity)} {line.uom} confirmed, but the "
                               f"transfer orders {code!r} in {', '.join(ordered_in)}")
                continue
        tracking = candidates[0].tracking
        lots = list(line.lots)
        if lots:
            total = sum((q for _n, q in lots), Decimal(0))
            if total != line.quantity:
                reasons.append(f"{where}: lot quantities add up to {_fmt(total)}, "
                               f"not {_fmt(line.quantity)}")
            known = picking.known_lots.get(code, frozenset())
            for lot, qty in lots:
                if tracking == "none":
                    reasons.append(f"{where}: product {code!r} is not tracked by lots, "
                                   f"got lot {lot!r}")
                elif lot not in known:
                    reasons.append(f"{where}: lot {lot!r} does not exist for product {code!r}")
                if tracking == "serial" and qty != 1:
                    reasons.append(f"{where}: serial number {lot!r} with quantity {_fmt(qty)}")
        elif tracking != "none" and line.quantity > 0:
            reasons.append(f"{where}: product {code!r} is tracked by {tracking}s but no "
                           "lot was confirmed")
        pieces = lots or [("", line.quantity)]
        for lot, qty in pieces:
            remaining = qty
            targets = [move] if move is not None else candidates
            for pos, target in enumerate(targets):
                if remaining <= 0:
                    break
                last = pos == len(targets) - 1
                room = target.quantity - done_by_move[target.move_id]
                take = remaining if last else min(remaining, max(room, Decimal(0)))
                if take <= 0:
                    continue
                assigned[target.move_id].append(LotAllocation(lot, take, line.package_ref))
                done_by_move[target.move_id] += take
                remaining -= take

    for code, moves in moves_by_product.items():
        ordered = sum((m.quantity for m in moves), Decimal(0))
        done = sum((done_by_move[m.move_id] for m in moves), Decimal(0))
        limit = ordered * (1 + tolerance / 100)
        if done > limit:
            reasons.append(
                f"product {code!r}: {_fmt(done)} confirmed, more than the {_fmt(ordered)} "
                f"ordered (tolerance {_fmt(tolerance)}%)")

    declared = {p.package_ref: p for p in confirmation.packages}
    packages = [
        PackagePlan(p.package_ref, p.tracking_number, p.carrier, p.weight_kg)
        for p in confirmation.packages
    ]
    for line in confirmation.lines:
        if line.package_ref and line.package_ref not in declared:
            declared[line.package_ref] = None
            packages.append(PackagePlan(line.package_ref, "", "", None))
    if reasons:
        return Mismatch(tuple(dict.fromkeys(reasons)))

    plans = tuple(
        MovePlan(m.move_id, m.product_code, m.quantity, done_by_move[m.move_id],
                 tuple(assigned[m.move_id]))
        for m in picking.moves
    )
    partial = any(p.done < p.ordered for p in plans)
    tracking_numbers = tuple(dict.fromkeys(p.tracking_number for p in packages
                                           if p.tracking_number))
    carriers = [p.carrier for p in packages if p.carrier]
    return ApplyPlan(plans, tuple(packages), partial, tracking_numbers,
                     carriers[0] if carriers else "", confirmation.condition_code)


# --------------------------------------------------------------------------- stock
@dataclass(frozen=True)
class StockQuantity:
    product_code: str
    lot: str
    quantity: Decimal
    location: str = ""


@dataclass(frozen=True)
class ReconciliationLine:
    product_code: str
    lot: str
    wms_quantity: Decimal
    odoo_quantity: Decimal
    difference: Decimal  # wms - odoo
    value: Decimal  # difference * unit cost
    status: str  # match | difference | unknown
    location: str = ""


@dataclass(frozen=True)
class ReconciliationReport:
    lines: tuple[ReconciliationLine, ...]

    def of(self, status: str) -> tuple[ReconciliationLine, ...]:
        return tuple(line for line in self.lines if line.status == status)

    @property
    def difference_value(self) -> Decimal:
        return sum((line.value for line in self.of("difference")), Decimal(0))


def reconcile(
    wms: Iterable[StockQuantity],
    odoo: Iterable[StockQuantity],
    unit_costs: Mapping[str, Decimal] | None = None,
    known_products: Iterable[str] | None = None,
) -> ReconciliationReport:
    """Compare quantities per (product code, lot), summed over locations.

    A WMS item whose product is not in ``known_products`` is ``unknown``; an item
    Odoo has and the WMS does not counts as WMS quantity 0. ``value`` is the
    difference at the product's unit cost. Lines are sorted by product, lot.
    """
    unit_costs = unit_costs or {}
    known = set(known_products) if known_products is not None else None
    totals: dict[tuple[str, str], list] = {}
    for item in wms:
        entry = totals.setdefault((item.product_code, item.lot or ""), [Decimal(0), Decimal(0), []])
        entry[0] += Decimal(item.quantity)
        if item.location and item.location not in entry[2]:
            entry[2].append(item.location)
    for item in odoo:
        entry = totals.setdefault((item.product_code, item.lot or ""), [Decimal(0), Decimal(0), []])
        entry[1] += Decimal(item.quantity)
    lines = []
    for (code, lot), (wms_qty, odoo_qty, locations) in sorted(totals.items()):
        difference = wms_qty - odoo_qty
        if known is not None and code not in known:
            status = "unknown"
        elif difference == 0:
            status = "match"
        else:
            status = "difference"
        cost = Decimal(str(unit_costs.get(code, 0) or 0))
        value = difference * cost if status == "difference" else Decimal(0)
        lines.append(ReconciliationLine(code, lot, wms_qty, odoo_qty, difference, value,
                                        status, ",".join(locations)))
    return ReconciliationReport(tuple(lines))


# --------------------------------------------------------------------------- inbound events
@dataclass(frozen=True)
class WmsEvent(CanonicalEvent):
    """A canonical event that keeps its WMS confirmation (``payload``: ``to_dict()``)."""

    kind: str = ""
    payload: Mapping | None = None


def confirmation_events(confirmation: Confirmation) -> list[WmsEvent]:
    """The canonical event of one confirmation (its milestone, its payload)."""
    return [WmsEvent(
        external_id=f"wms:{confirmation.message_id}",
        occurred_at=confirmation.occurred_at,
        code=confirmation.kind,
        milestone=KIND_MILESTONES.get(confirmation.kind),
        picking_ref=confirmation.order_ref,
        correlation_id=confirmation.correlation_id or None,
        tracking_number=None,
        message=(confirmation.reason or confirmation.condition_code or confirmation.kind)[:500],
        kind=confirmation.kind,
        payload=confirmation.to_dict(),
    )]


class WmsNormalizer(Normalizer):
    """Webhook body = one confirmation (``wms-webhook-v1``)."""

    name = "wms"
    vocabulary = "wms"
    schema_name = "wms-webhook-v1"

    def normalize(self, payload: dict) -> list[CanonicalEvent]:
        try:
            confirmation = Confirmation.from_dict(payload)
        except FormatError as exc:
            raise PayloadError(SCHEMA_VIOLATION, str(exc), "$") from None
        return list(confirmation_events(confirmation))


def parse_webhook_events(body: bytes) -> list[WmsEvent]:
    """Validate a webhook body (JSON schema with its references) and normalize it;
    :class:`PayloadError` on any problem."""
    from ..schemas import INVALID_JSON
    from . import json_format

    try:
        confirmation = json_format.parse_webhook(body)
    except FormatError as exc:
        code = INVALID_JSON if any("invalid JSON" in m or "UTF-8" in m
                                   for _n, m in exc.errors) else SCHEMA_VIOLATION
        raise PayloadError(code, "; ".join(m for _n, m in exc.errors)[:500], "$") from None
    return confirmation_events(confirmation)
