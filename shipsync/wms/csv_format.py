"""WMS file exchange in CSV: releases out, confirmations and stock snapshots in.

One row per line, a header row is required, the delimiter (``;`` or ``,``) is
sniffed from the header, files are UTF-8 with an optional BOM, quantities use
``.`` decimals (``1.5``, never ``1,5``). Column names are case-insensitive;
unknown columns are ignored; cells are stripped. Writers emit ``,`` (or the
``delimiter`` given), ``\\r\\n`` line ends and no BOM.

Release columns (``write_releases`` / ``read_releases``), one row per order line:
    order_ref*, correlation_id, revision*, action* (create|update|cancel),
    warehouse_code, ship_to_name, ship_to_street, ship_to_street2, ship_to_city,
    ship_to_zip, ship_to_state_code, ship_to_country_code, ship_to_phone,
    ship_to_email, carrier, service, requested_date (YYYY-MM-DD),
    line_ref*, product_code*, barcode, quantity*, uom, lots (``LOT1|LOT2``).
    An order without lines is one row with empty line columns.

Confirmation columns (``write_confirmations`` / ``read_confirmations``):
    message_id*, kind*, order_ref*, correlation_id, occurred_at* (ISO 8601 with
    offset), reason, condition_code, line_ref, product_code, quantity,
    lots (``LOT1:2|LOT2:1.5``), package_ref, tracking_number, carrier, weight_kg.
    A row with product_code / quantity / line_ref / lots is a confirmed line
    (product_code and quantity then required) in package ``package_ref``. Every
    ``package_ref`` seen declares a package (in order of first appearance); its
    tracking_number / carrier / weight_kg may be given on any of its rows and
    must agree. A row with neither a line nor a package only names the message.
    The writer emits package rows first, then line rows.

Stock snapshot columns (``write_stock`` / ``read_stock``):
    product_code*, location, lot, quantity*.

(* = column required in the header.) Rows are grouped by ``order_ref`` (releases)
or ``message_id`` (confirmations), in order of first appearance; the order-level
columns must agree on every row of a group. Readers collect every problem with
its line number and raise :class:`FormatError`; they never return partial results.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from .. import dates
from ..address import ADDRESS_FIELDS
from .messages import (
    CONFIRMATION_KINDS,
    RELEASE_ACTIONS,
    Address,
    Confirmation,
    ConfirmedLine,
    ConfirmedPackage,
    FormatError,
    ReleaseLine,
    ReleaseOrder,
    StockSnapshotLine,
    format_datetime,
    format_decimal,
    parse_date,
    parse_decimal,
)

RELEASE_COLUMNS = (
    ("order_ref", "correlation_id", "revision", "action", "warehouse_code")
    + tuple(f"ship_to_{f}" for f in ADDRESS_FIELDS)
    + ("carrier", "service", "requested_date")
    + ("line_ref", "product_code", "barcode", "quantity", "uom", "lots")
)
RELEASE_REQUIRED = ("order_ref", "revision", "action", "line_ref", "product_code", "quantity")
RELEASE_HEADER = RELEASE_COLUMNS[:RELEASE_COLUMNS.index("line_ref")]  # one value per order
CONFIRMATION_COLUMNS = (
    "message_id", "kind", "order_ref", "correlation_id", "occurred_at", "reason",
    "condition_code", "line_ref", "product_code", "quantity", "lots", "package_ref",
    "tracking_number", "carrier", "weight_kg",
)  # fmt: skip
CONFIRMATION_REQUIRED = ("message_id", "kind", "order_ref", "occurred_at")
CONFIRMATION_HEADER = CONFIRMATION_COLUMNS[:7]
STOCK_COLUMNS = ("product_code", "location", "lot", "quantity")
STOCK_REQUIRED = ("product_code", "quantity")

LOT_SEPARATOR = "|"
LOT_QTY_SEPARATOR = ":"


# -- writers -----------------------------------------------------------------------------


def _write(columns: tuple[str, ...], rows: Iterable[dict], delimiter: str) -> bytes:
    if delimiter not in (",", ";"):
        raise ValueError("delimiter must be ',' or ';'")
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
    return out.getvalue().encode("utf-8")


def _lot_name(name: str) -> str:
    if LOT_SEPARATOR in name:
        raise ValueError(f"lot name {name!r} contains {LOT_SEPARATOR!r}")
    return name


def _release_rows(orders: Iterable[ReleaseOrder]):
    seen = set()
    for order in orders:
        if order.order_ref in seen:
            raise ValueError(f"order_ref {order.order_ref!r} appears twice")
        seen.add(order.order_ref)
        head = {
            "order_ref": order.order_ref,
            "correlation_id": order.correlation_id,
            "revision": str(order.revision),
            "action": order.action,
            "warehouse_code": order.warehouse_code,
            "carrier": order.carrier,
            "service": order.service,
            "requested_date": order.requested_date.isoformat() if order.requested_date else "",
        }
        head.update({f"ship_to_{f}": getattr(order.ship_to, f) for f in ADDRESS_FIELDS})
        if not order.lines:
            yield head
        for line in order.lines:
            yield dict(
                head,
                line_ref=line.line_ref,
                product_code=line.product_code,
                barcode=line.barcode,
                quantity=format_decimal(line.quantity),
                uom=line.uom,
                lots=LOT_SEPARATOR.join(_lot_name(lot) for lot in line.lots),
            )


def write_releases(orders: Iterable[ReleaseOrder], delimiter: str = ",") -> bytes:
    return _write(RELEASE_COLUMNS, _release_rows(orders), delimiter)


def _confirmation_rows(confirmations: Iterable[Confirmation]):
    seen = set()
    for conf in confirmations:
        if conf.message_id in seen:
            raise ValueError(f"message_id {conf.message_id!r} appears twice")
        seen.add(conf.message_id)
        head = {
            "message_id": conf.message_id,
            "kind": conf.kind,
            "order_ref": conf.order_ref,
            "correlation_id": conf.correlation_id,
            "occurred_at": format_datetime(conf.occurred_at),
            "reason": conf.reason,
            "condition_code": conf.condition_code,
        }
        if not conf.lines and not conf.packages:
            yield head
        for pack in conf.packages:
            weight = "" if pack.weight_kg is None else format_decimal(pack.weight_kg)
            yield dict(
                head,
                package_ref=pack.package_ref,
                tracking_number=pack.tracking_number,
                carrier=pack.carrier,
                weight_kg=weight,
            )
        for line in conf.lines:
            lots = LOT_SEPARATOR.join(
                f"{_lot_name(n)}{LOT_QTY_SEPARATOR}{format_decimal(q)}" for n, q in line.lots
            )
            yield dict(
                head,
                line_ref=line.line_ref,
                product_code=line.product_code,
                quantity=format_decimal(line.quantity),
                lots=lots,
                package_ref=line.package_ref,
            )


def write_confirmations(confirmations: Iterable[Confirmation], delimiter: str = ",") -> bytes:
    return _write(CONFIRMATION_COLUMNS, _confirmation_rows(confirmations), delimiter)


def write_stock(lines: Iterable[StockSnapshotLine], delimiter: str = ",") -> bytes:
    rows = (
        {
            "product_code": line.product_code,
            "location": line.location,
            "lot": line.lot,
            "quantity": format_decimal(line.quantity),
        }
        for line in lines
    )
    return _write(STOCK_COLUMNS, rows, delimiter)


# -- reading -----------------------------------------------------------------------------


def _rows(data: bytes, required: tuple[str, ...]):
    """Decode, sniff and yield ``(line_number, row_dict)``; raise on header problems."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FormatError([(line, f"not valid UTF-8 at byte {exc.start}")]) from None
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    if not first:
        raise FormatError([(1, "empty file: a header row is required")])
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header, last = None, 0
    try:
        for record in reader:
            start, last = last + 1, reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            cells = [cell.strip() for cell in record]
            if header is None:
                header = [c.lower() for c in cells]
                missing = [c for c in required if c not in header]
                if missing:
                    raise FormatError(
                        [(start, f"missing required column(s): {', '.join(missing)}")]
                    )
                continue
            if len(cells) != len(header):
                yield start, ValueError(f"expected {len(header)} fields, got {len(cells)}")
                continue
            yield start, dict(zip(header, cells, strict=True))
    except csv.Error as exc:
        yield reader.line_num, ValueError(f"CSV syntax error: {exc}")


def _read(data: bytes, required: tuple[str, ...], handle) -> None:
    errors: list[tuple[int, str]] = []
    for line, row in _rows(data, required):
        if isinstance(row, Exception):
            errors.append((line, str(row)))
            continue
        try:
            handle(line, row)
        except (ValueError, KeyError, TypeError) as exc:
            errors.append((line, str(exc)))
    if errors:
        raise FormatError(errors)


def _need(row: dict, *names: str) -> None:
    missing = [n for n in names if not row.get(n)]
    if missing:
        raise ValueError(f"missing value for {', '.join(missing)}")


def _same(group: dict, row: dict, columns: tuple[str, ...], key: str) -> None:
    conflicts = [c for c in columns if group[c] != row.get(c, "")]
    if conflicts:
        raise ValueError(f"{key}: {', '.join(conflicts)} differ from the group's first row")


def read_releases(data: bytes) -> list[ReleaseOrder]:
    groups: dict[str, dict] = {}

    def handle(line: int, row: dict) -> None:
        _need(row, "order_ref", "revision", "action")
        if not row["revision"].isdigit():
            raise ValueError(f"revision {row['revision']!r} is not a whole number")
        if row["action"] not in RELEASE_ACTIONS:
            raise ValueError(f"unknown action {row['action']!r}")
        if row.get("requested_date"):
            parse_date(row["requested_date"], "requested_date")
        head = {c: row.get(c, "") for c in RELEASE_HEADER}
        group = groups.get(row["order_ref"])
        if group is None:
            group = groups[row["order_ref"]] = dict(head, lines=[])
        else:
            _same(group, row, RELEASE_HEADER, f"order {row['order_ref']!r}")
        if any(row.get(c) for c in ("line_ref", "product_code", "quantity", "barcode", "lots")):
            _need(row, "line_ref", "product_code", "quantity")
            lots = tuple(x.strip() for x in row.get("lots", "").split(LOT_SEPARATOR) if x.strip())
            group["lines"].append(
                ReleaseLine(
                    line_ref=row["line_ref"],
                    product_code=row["product_code"],
                    barcode=row.get("barcode", ""),
                    quantity=parse_decimal(row["quantity"]),
                    uom=row.get("uom", ""),
                    lots=lots,
                )
            )

    _read(data, RELEASE_REQUIRED, handle)
    orders = []
    for g in groups.values():
        orders.append(
            ReleaseOrder(
                order_ref=g["order_ref"],
                correlation_id=g["correlation_id"],
                revision=int(g["revision"]),
                action=g["action"],
                warehouse_code=g["warehouse_code"],
                ship_to=Address(**{f: g[f"ship_to_{f}"] for f in ADDRESS_FIELDS}),
                carrier=g["carrier"],
                service=g["service"],
                requested_date=parse_date(g["requested_date"]) if g["requested_date"] else None,
                lines=tuple(g["lines"]),
            )
        )
    return orders


def _parse_lots(text: str) -> tuple[tuple[str, object], ...]:
    lots = []
    for item in text.split(LOT_SEPARATOR):
        if not item.strip():
            continue
        name, sep, qty = item.rpartition(LOT_QTY_SEPARATOR)
        if not sep or not name.strip():
            raise ValueError(f"lot {item!r} is not LOT:QUANTITY")
        lots.append((name.strip(), parse_decimal(qty, f"quantity of lot {name.strip()!r}")))
    return tuple(lots)


def _merge_package(packages: dict, row: dict) -> None:
    ref = row["package_ref"]
    weight = row.get("weight_kg", "")
    new = {
        "tracking_number": row.get("tracking_number", ""),
        "carrier": row.get("carrier", ""),
        "weight_kg": parse_decimal(weight, "weight_kg") if weight else None,
    }
    known = packages.setdefault(ref, {"tracking_number": "", "carrier": "", "weight_kg": None})
    for key, value in new.items():
        if value in ("", None):
            continue
        if known[key] not in ("", None) and known[key] != value:
            raise ValueError(f"package {ref!r}: {key} {value} conflicts with {known[key]}")
        known[key] = value


def read_confirmations(data: bytes) -> list[Confirmation]:
    groups: dict[str, dict] = {}

    def handle(line: int, row: dict) -> None:
        _need(row, "message_id", "kind", "order_ref", "occurred_at")
        if row["kind"] not in CONFIRMATION_KINDS:
            raise ValueError(f"unknown kind {row['kind']!r}")
        dates.parse_datetime(row["occurred_at"], "occurred_at", strict="offset")
        head = {c: row.get(c, "") for c in CONFIRMATION_HEADER}
        group = groups.get(row["message_id"])
        if group is None:
            group = groups[row["message_id"]] = dict(head, lines=[], packages={})
        else:
            _same(group, row, CONFIRMATION_HEADER, f"message {row['message_id']!r}")
        is_line = any(row.get(c) for c in ("line_ref", "product_code", "quantity", "lots"))
        if is_line:
            _need(row, "product_code", "quantity")
            confirmed = ConfirmedLine(
                line_ref=row.get("line_ref", ""),
                product_code=row["product_code"],
                quantity=parse_decimal(row["quantity"]),
                lots=_parse_lots(row.get("lots", "")),
                package_ref=row.get("package_ref", ""),
            )
        if row.get("package_ref"):
            _merge_package(group["packages"], row)
        elif any(row.get(c) for c in ("tracking_number", "weight_kg")):
            raise ValueError("tracking_number / weight_kg given without package_ref")
        if is_line:
            group["lines"].append(confirmed)

    _read(data, CONFIRMATION_REQUIRED, handle)
    return [
        Confirmation(
            message_id=g["message_id"],
            kind=g["kind"],
            order_ref=g["order_ref"],
            correlation_id=g["correlation_id"],
            occurred_at=dates.parse_datetime(g["occurred_at"], "occurred_at", strict="offset"),
            lines=tuple(g["lines"]),
            packages=tuple(ConfirmedPackage(ref, **p) for ref, p in g["packages"].items()),
            reason=g["reason"],
            condition_code=g["condition_code"],
        )
        for g in groups.values()
    ]


def read_stock(data: bytes) -> list[StockSnapshotLine]:
    lines: list[StockSnapshotLine] = []

    def handle(line: int, row: dict) -> None:
        _need(row, "product_code", "quantity")
        lines.append(
            StockSnapshotLine(
                product_code=row["product_code"],
                location=row.get("location", ""),
                lot=row.get("lot", ""),
                quantity=parse_decimal(row["quantity"]),
            )
        )

    _read(data, STOCK_REQUIRED, handle)
    return lines
