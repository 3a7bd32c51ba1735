"""shipsync.wms.csv_format: round trips, sniffing, whole-file rejection."""

import sys
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipsync.wms import csv_format
from shipsync.wms.messages import (
    Address,
    ConfirmedPackage,
    FormatError,
    ReleaseLine,
    ReleaseOrder,
)

FIXTURES = Path(__file__).parent / "fixtures" / "wms"
sys.path.insert(0, str(FIXTURES))
from wms_strategies import confirmation_batches, release_batches, stock_lines  # noqa: E402

delimiters = st.sampled_from([",", ";"])


@given(release_batches, delimiters, st.booleans())
def test_release_round_trip(orders, delimiter, bom):
    data = csv_format.write_releases(orders, delimiter=delimiter)
    if bom:
        data = b"\xef\xbb\xbf" + data
    assert csv_format.read_releases(data) == orders


@given(confirmation_batches(), delimiters)
def test_confirmation_round_trip(confs, delimiter):
    data = csv_format.write_confirmations(confs, delimiter=delimiter)
    assert csv_format.read_confirmations(data) == confs


@given(st.lists(stock_lines, max_size=5), delimiters)
def test_stock_round_trip(lines, delimiter):
    assert csv_format.read_stock(csv_format.write_stock(lines, delimiter=delimiter)) == lines


def test_reads_a_wms_style_file_with_bom_semicolons_and_tracking_on_line_rows():
    data = (FIXTURES / "confirmations_semicolon_bom.csv").read_bytes()
    confs = csv_format.read_confirmations(data)
    assert [c.message_id for c in confs] == ["M-1001", "M-1002"]
    pick, ship = confs
    assert pick.kind == "pick_confirmed"
    assert pick.occurred_at == datetime(2024, 5, 1, 6, 15, tzinfo=timezone.utc)
    assert [(x.line_ref, x.quantity) for x in pick.lines] == [("L1", 2), ("L2", Decimal("4.5"))]
    assert pick.lines[1].lots == (("LOT-A", Decimal("4")), ("LOT-B", Decimal("0.5")))
    assert pick.packages == ()
    assert ship.packages == (ConfirmedPackage("BOX1", "1Z999", "UPS", Decimal("12.5")),)
    assert {x.package_ref for x in ship.lines} == {"BOX1"}


def test_stock_with_semicolons_and_negative_quantity():
    lines = csv_format.read_stock((FIXTURES / "stock_semicolon.csv").read_bytes())
    assert [(x.product_code, x.lot, x.quantity) for x in lines] == [
        ("DESK-01", "", Decimal("12")),
        ("CHAIR-02", "LOT-A", Decimal("-1.5")),
    ]


def test_malformed_file_lists_every_bad_line_and_returns_nothing():
    with pytest.raises(FormatError) as info:
        csv_format.read_confirmations((FIXTURES / "confirmations_bad.csv").read_bytes())
    errors = info.value.errors
    assert [line for line, _ in errors] == [3, 4, 5, 6]
    messages = dict(errors)
    assert "'.' decimals" in messages[3]
    assert "unknown kind 'picked'" in messages[4]
    assert "product_code" in messages[5]
    assert "UTC offset" in messages[6]


def test_one_bad_line_rejects_the_whole_file():
    data = (
        b"message_id,kind,order_ref,occurred_at,product_code,quantity\n"
        b"M-1,pick_confirmed,O1,2024-05-01T08:00:00Z,P1,1\n"
        b"M-2,pick_confirmed,O2,2024-05-01T08:00:00Z,P2,x\n"
    )
    with pytest.raises(FormatError) as info:
        csv_format.read_confirmations(data)
    assert [line for line, _ in info.value.errors] == [3]


def test_missing_required_columns_are_all_named_on_the_header_line():
    with pytest.raises(FormatError) as info:
        csv_format.read_releases(b"order_ref;line_ref;quantity\nA;1;2\n")
    [(line, message)] = info.value.errors
    assert line == 1
    assert "revision" in message and "action" in message and "product_code" in message


def test_line_numbers_count_blank_lines_and_quoted_newlines():
    data = (
        b"message_id,kind,order_ref,occurred_at,reason\r\n"
        b"\r\n"
        b'M-1,pick_confirmed,O1,2024-05-01T08:00:00Z,"two\r\nlines"\r\n'
        b"M-2,bogus,O2,2024-05-01T08:00:00Z,\r\n"
    )
    with pytest.raises(FormatError) as info:
        csv_format.read_confirmations(data)
    assert info.value.errors[0][0] == 5


def test_wrong_field_count_and_conflicting_order_columns_are_errors():
    data = (
        b"order_ref,revision,action,carrier,line_ref,product_code,quantity\n"
        b"A,1,create,DHL,1,P,1\n"
        b"A,1,create,UPS,2,P,1\n"
        b"B,1,create,DHL,1,P\n"
        b"C,one,create,,1,P,1\n"
    )
    with pytest.raises(FormatError) as info:
        csv_format.read_releases(data)
    lines = [line for line, _ in info.value.errors]
    assert lines == [3, 4, 5]
    assert "carrier" in info.value.errors[0][1]


def test_rows_of_one_order_are_grouped_even_when_interleaved():
    data = (
        b"order_ref,revision,action,line_ref,product_code,quantity\n"
        b"A,1,create,1,P1,1\nB,1,cancel,,,\nA,1,create,2,P2,3\n"
    )
    a, b = csv_format.read_releases(data)
    assert [x.line_ref for x in a.lines] == ["1", "2"]
    assert b.action == "cancel" and b.lines == ()


def test_not_utf8_and_empty_files_are_format_errors():
    with pytest.raises(FormatError, match="UTF-8"):
        csv_format.read_stock(b"product_code,quantity\n\xff\xfe,1\n")
    with pytest.raises(FormatError, match="header"):
        csv_format.read_stock(b"\n\n")


def test_writer_refuses_lot_names_with_the_separator():
    line = ReleaseLine("1", "P", "", Decimal(1), "", ("A|B",))
    order = ReleaseOrder("O", "", 1, "create", "", Address(), "", "", None, (line,))
    with pytest.raises(ValueError, match="lot name"):
        csv_format.write_releases([order])
