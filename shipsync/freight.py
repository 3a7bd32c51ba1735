"""Carrier invoices: CSV parsing with a configurable column mapping, and matching of
invoice lines to shipments with an amount + percent tolerance (pure, no I/O).

States of a line: ``matched`` (within tolerance of the expected charge),
``variance`` (a known shipment, charged outside the tolerance), ``unmatched`` (no
shipment has this tracking number), ``duplicate`` (the same invoice line was
already seen, in this file or an earlier import).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

FIELDS = ("tracking_number", "amount", "currency", "invoice_ref", "invoice_date", "description")
REQUIRED = ("tracking_number", "amount")
MAX_ROWS = 200_000
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%m/%d/%Y", "%Y%m%d")


class FreightError(ValueError):
    """Bad input: the message names the row (1 = header) and the column."""

    def __init__(self, message: str, row: int | None = None, column: str | None = None):
        self.row, self.column = row, column
        where = []
        if row is not None:
            where.append(f"row {row}")
        if column:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


@dataclass(frozen=True)
class InvoiceLine:
    row: int
    tracking_number: str
    amount: Decimal
    currency: str = ""
    invoice_ref: str = ""
    invoice_date: date | None = None
    description: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        """What makes a line a duplicate: invoice, tracking number and amount."""
        return (self.invoice_ref, self.tracking_number, str(self.amount))


@dataclass(frozen=True)
class Match:
    line: InvoiceLine
    state: str
    expected: Decimal | None = None
    variance: Decimal | None = None
    shipment: object = None


def parse_column_map(text: str) -> dict[str, str]:
    """``"tracking_number=Tracking;amount=Total"`` -> ``{field: header}``."""
    columns: dict[str, str] = {}
    for part in (text or "").replace("\n", ";").split(";"):
        if not part.strip():
            continue
        name, sep, header = part.partition("=")
        name, header = name.strip(), header.strip()
        if not sep or not header:
            raise FreightError(f"column mapping item {part.strip()!r} is not field=Header")
        if name not in FIELDS:
            raise FreightError(f"unknown field {name!r} in the column mapping "
                               f"(known: {', '.join(FIELDS)})")
        columns[name] = header
    missing = [f for f in REQUIRED if f not in columns]
    if missing:
        raise FreightError(f"the column mapping needs {', '.join(missing)}")
    return columns


def parse_amount(text: str, decimal_comma: bool = False) -> Decimal:
    value = (text or "").strip().replace("\u00a0", "").replace(" ", "")
    for symbol in ("€", "$", "£"):
        value = value.replace(symbol, "")
    if decimal_comma or ("," in value and "." not in value):
        value = value.replace(".", "").replace(",", ".")
    else:
        value = value.replace(",", "")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not an amount") from None
    if not amount.is_finite():
        raise ValueError(f"{text!r} is not an amount")
    return amount


def parse_date(text: str) -> date | None:
    value = (text or "").strip()
    if not value:
        return None
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(value[:10] if fmt == "%Y-%m-%d" else value, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a date")


def parse_csv(content: bytes | str, columns: Mapping[str, str],
              delimiter: str | None = None) -> list[InvoiceLine]:
    """Parse a carrier invoice CSV; :class:`FreightError` names the first bad cell.
    UTF-8 (BOM accepted) or Latin-1; delimiter sniffed among , ; tab | when not given."""
    if isinstance(content, bytes):
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = content.decode("latin-1")
    else:
        text = content.lstrip("\ufeff")
    if not text.strip():
        raise FreightError("the file is empty")
    if delimiter is None:
        first = text.splitlines()[0]
        delimiter = max((",", ";", "\t", "|"), key=first.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = [h.strip() for h in next(reader)]
    except (StopIteration, csv.Error) as exc:
        raise FreightError(f"unreadable header: {exc}", row=1) from None
    index = {}
    for name, wanted in columns.items():
        matches = [i for i, h in enumerate(header) if h.casefold() == wanted.casefold()]
        if not matches and name not in REQUIRED:
            continue  # optional columns may be absent from a carrier's file
        if not matches:
            raise FreightError(f"header {wanted!r} (for {name}) not found; the file has "
                               f"{', '.join(repr(h) for h in header)}", row=1)
        index[name] = matches[0]
    decimal_comma = delimiter == ";"
    lines = []
    try:
        for rownum, row in enumerate(reader, start=2):
            if rownum > MAX_ROWS:
                raise FreightError(f"more than {MAX_ROWS} rows")
            if not any(cell.strip() for cell in row):
                continue
            cells = {name: (row[i].strip() if i < len(row) else "") for name, i in index.items()}
            cells.update({name: "" for name in FIELDS if name not in cells})
            if not cells["tracking_number"]:
                raise FreightError("empty tracking number", rownum, columns["tracking_number"])
            try:
                amount = parse_amount(cells["amount"], decimal_comma)
            except ValueError as exc:
                raise FreightError(str(exc), rownum, columns["amount"]) from None
            try:
                when = parse_date(cells.get("invoice_date", ""))
            except ValueError as exc:
                raise FreightError(str(exc), rownum, columns["invoice_date"]) from None
            lines.append(InvoiceLine(
                row=rownum, tracking_number=cells["tracking_number"], amount=amount,
                currency=cells.get("currency", "").upper(),
                invoice_ref=cells.get("invoice_ref", ""), invoice_date=when,
                description=cells.get("description", "")))
    except csv.Error as exc:
        raise FreightError(f"malformed CSV: {exc}", reader.line_num) from None
    if not lines:
        raise FreightError("the file has a header but no lines")
    return lines


def tolerance(expected: Decimal, amount: Decimal, percent: Decimal) -> Decimal:
    """The larger of the absolute tolerance and ``percent`` of the expected charge."""
    return max(Decimal(amount), abs(Decimal(expected)) * Decimal(percent) / 100)


def classify(expected: Decimal | None, invoiced: Decimal, tol_amount: Decimal,
             tol_percent: Decimal) -> tuple[str, Decimal | None]:
    if expected is None:
        return "unmatched", None
    variance = Decimal(invoiced) - Decimal(expected)
    if abs(variance) <= tolerance(expected, tol_amount, tol_percent):
        return "matched", variance
    return "variance", variance


def reconcile(lines: Iterable[InvoiceLine], expected: Mapping[str, tuple[object, Decimal]],
              tol_amount: Decimal | float = 0, tol_percent: Decimal | float = 0,
              seen: Iterable[tuple[str, str, str]] = ()) -> list[Match]:
    """Match invoice lines. ``expected``: tracking number -> (shipment key, expected
    charge); ``seen``: line keys already imported (see :attr:`InvoiceLine.key`)."""
    known = set(seen)
    tol_amount, tol_percent = Decimal(str(tol_amount)), Decimal(str(tol_percent))
    out = []
    for line in lines:
        if line.key in known:
            out.append(Match(line, "duplicate"))
            continue
        known.add(line.key)
        shipment, charge = expected.get(line.tracking_number, (None, None))
        state, variance = classify(charge, line.amount, tol_amount, tol_percent)
        out.append(Match(line, state, charge, variance, shipment))
    return out
