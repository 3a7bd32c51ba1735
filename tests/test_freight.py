"""Carrier invoices: CSV parsing with a column mapping, matching and tolerance."""

from datetime import date
from decimal import Decimal

import pytest

from shipsync import freight

COLUMNS = freight.parse_column_map(
    "tracking_number=Tracking Number;amount=Amount;currency=Currency;invoice_ref=Invoice;"
    "invoice_date=Date")


def test_column_mapping_needs_tracking_number_and_amount():
    with pytest.raises(freight.FreightError, match="needs amount"):
        freight.parse_column_map("tracking_number=T")
    with pytest.raises(freight.FreightError, match="unknown field 'weight'"):
        freight.parse_column_map("tracking_number=T;amount=A;weight=W")
    with pytest.raises(freight.FreightError, match="not field=Header"):
        freight.parse_column_map("tracking_number")


def test_parses_comma_csv_with_bom_and_header_case():
    content = ("\ufeffinvoice,tracking number,amount,currency,date\n"
               "INV-1,EZ1,12.50,usd,2026-11-03\n\nINV-1,EZ2,\"1,234.00\",USD,2026-11-04\n")
    lines = freight.parse_csv(content.encode(), COLUMNS)
    assert [(li.row, li.tracking_number, li.amount) for li in lines] == [
        (2, "EZ1", Decimal("12.50")), (4, "EZ2", Decimal("1234.00"))]
    assert lines[0].currency == "USD" and lines[0].invoice_date == date(2026, 11, 3)


def test_semicolon_csv_uses_decimal_comma_and_latin1():
    content = ("Invoice;Tracking Number;Amount;Currency;Date;Note\n"
               "FA-9;SC1;7,90;EUR;03/11/2026;Zürich\n")
    lines = freight.parse_csv(content.encode("latin-1"), COLUMNS)
    assert lines[0].amount == Decimal("7.90") and lines[0].invoice_date == date(2026, 11, 3)


def test_missing_header_names_the_column():
    with pytest.raises(freight.FreightError, match="row 1.*'Amount'"):
        freight.parse_csv(b"Tracking Number,Total\nEZ1,3\n", COLUMNS)


def test_bad_amount_names_row_and_column():
    with pytest.raises(freight.FreightError, match="row 3, column 'Amount'"):
        freight.parse_csv(b"Tracking Number,Amount\nEZ1,3\nEZ2,abc\n", COLUMNS)


def test_bad_date_and_empty_tracking_number_are_refused():
    with pytest.raises(freight.FreightError, match="row 2, column 'Date'"):
        freight.parse_csv(b"Tracking Number,Amount,Date\nEZ1,3,yesterday\n", COLUMNS)
    with pytest.raises(freight.FreightError, match="empty tracking number"):
        freight.parse_csv(b"Tracking Number,Amount\n,3\n", COLUMNS)


def test_empty_files_are_refused():
    with pytest.raises(freight.FreightError, match="empty"):
        freight.parse_csv(b"", COLUMNS)
    with pytest.raises(freight.FreightError, match="no lines"):
        freight.parse_csv(b"Tracking Number,Amount\n", COLUMNS)


def test_tolerance_is_the_larger_of_amount_and_percent():
    assert freight.tolerance(Decimal("10"), Decimal("0.5"), Decimal("2")) == Decimal("0.5")
    assert freight.tolerance(Decimal("100"), Decimal("0.5"), Decimal("2")) == Decimal("2")


def line(tracking, amount, invoice="INV-1", row=2):
    return freight.InvoiceLine(row=row, tracking_number=tracking, amount=Decimal(amount),
                               invoice_ref=invoice)


def test_reconcile_gives_matched_variance_unmatched_and_duplicate():
    expected = {"EZ1": (1, Decimal("10.00")), "EZ2": (2, Decimal("10.00"))}
    seen = {("INV-0", "EZ9", "5.00")}
    matches = freight.reconcile(
        [line("EZ1", "10.40"), line("EZ2", "12.00"), line("XX", "3"), line("EZ1", "10.40"),
         line("EZ9", "5.00", "INV-0")],
        expected, Decimal("0.5"), Decimal("2"), seen)
    assert [m.state for m in matches] == ["matched", "variance", "unmatched", "duplicate",
                                          "duplicate"]
    assert matches[0].variance == Decimal("0.40") and matches[1].variance == Decimal("2.00")
    assert matches[1].shipment == 2 and matches[2].shipment is None


def test_same_tracking_number_on_another_invoice_is_not_a_duplicate():
    expected = {"EZ1": (1, Decimal("10"))}
    states = [m.state for m in freight.reconcile(
        [line("EZ1", "10", "INV-1"), line("EZ1", "10", "INV-2")], expected)]
    assert states == ["matched", "matched"]
