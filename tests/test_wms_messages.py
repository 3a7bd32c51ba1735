"""shipsync.wms.messages: plain values, validation and dict round trips."""

import sys
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given

from shipsync import dates
from shipsync.wms.messages import (
    Address,
    Confirmation,
    ConfirmedLine,
    ConfirmedPackage,
    FormatError,
    ReleaseLine,
    ReleaseOrder,
    StockSnapshotLine,
    format_decimal,
    parse_decimal,
)

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "wms"))
from wms_strategies import confirmations, release_orders, stock_lines  # noqa: E402

UTC = timezone.utc


def _order(**kw):
    values = dict(
        order_ref="WH/OUT/1", correlation_id="c", revision=1, action="create",
        warehouse_code="WH", ship_to=Address(name="Bob"), carrier="", service="",
        requested_date=None, lines=(),
    )  # fmt: skip
    values.update(kw)
    return ReleaseOrder(**values)


@given(release_orders)
def test_release_order_dict_round_trip(order):
    assert ReleaseOrder.from_dict(order.to_dict()) == order


@given(confirmations())
def test_confirmation_dict_round_trip(conf):
    assert Confirmation.from_dict(conf.to_dict()) == conf


@given(stock_lines)
def test_stock_line_dict_round_trip(line):
    assert StockSnapshotLine.from_dict(line.to_dict()) == line


def test_to_dict_is_json_friendly():
    order = _order(
        requested_date=date(2024, 5, 1),
        lines=(ReleaseLine("1", "P", "", Decimal("1E+2"), "Units", ["L1"]),),
    )
    data = order.to_dict()
    assert data["requested_date"] == "2024-05-01"
    assert data["lines"][0]["quantity"] == "100"
    assert data["lines"][0]["lots"] == ["L1"]
    noon_cest = datetime(2024, 5, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    conf = Confirmation("m", "ship_confirmed", "o", "", noon_cest)
    assert conf.to_dict()["occurred_at"] == "2024-05-01T10:00:00Z"


def test_confirmation_normalizes_to_utc_and_refuses_naive_datetimes():
    local = datetime(2024, 5, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    conf = Confirmation("m", "pick_confirmed", "o", "", local)
    assert conf.occurred_at.tzinfo == UTC and conf.occurred_at.hour == 10
    with pytest.raises(ValueError, match="aware"):
        Confirmation("m", "pick_confirmed", "o", "", datetime(2024, 5, 1))


@pytest.mark.parametrize(
    "build",
    [
        lambda: _order(action="delete"),
        lambda: _order(order_ref=""),
        lambda: _order(revision=-1),
        lambda: ReleaseLine("1", "P", "", Decimal("-1"), ""),
        lambda: ReleaseLine("", "P", "", Decimal("1"), ""),
        lambda: ReleaseLine("1", "P", "", 1.5, ""),
        lambda: Confirmation("m", "delivered", "o", "", datetime.now(UTC)),
        lambda: Confirmation("", "cancel_ack", "o", "", datetime.now(UTC)),
        lambda: ConfirmedLine("1", "", Decimal("1")),
        lambda: ConfirmedPackage(""),
        lambda: ConfirmedPackage("P", weight_kg=Decimal("-2")),
        lambda: StockSnapshotLine("", "", "", Decimal("1")),
    ],
)
def test_invalid_values_are_refused(build):
    with pytest.raises(ValueError):
        build()


def test_sequences_are_frozen_into_tuples():
    line = ConfirmedLine("1", "P", Decimal("2"), [("L", "2")])
    assert line.lots == (("L", Decimal("2")),)
    conf = Confirmation("m", "pick_confirmed", "o", "", datetime.now(UTC), [line], [])
    assert isinstance(conf.lines, tuple) and isinstance(conf.packages, tuple)


def test_from_dict_raises_format_error_naming_the_problem():
    with pytest.raises(FormatError, match="missing 'message_id'"):
        Confirmation.from_dict({"kind": "pick_confirmed"})
    with pytest.raises(FormatError, match="not a decimal"):
        ReleaseLine.from_dict({"line_ref": "1", "product_code": "P", "quantity": "1,5"})
    with pytest.raises(FormatError, match="no UTC offset"):
        Confirmation.from_dict(
            {"message_id": "m", "kind": "pick_confirmed", "order_ref": "o",
             "occurred_at": "2024-05-01T10:00:00"}
        )  # fmt: skip


def test_scalar_helpers():
    assert parse_decimal(" 1.50 ") == Decimal("1.50")
    for bad in ("1,5", "1e3", "", "abc", "NaN"):
        with pytest.raises(ValueError):
            parse_decimal(bad)
    assert format_decimal(Decimal("-0.000")) == "0.000"
    assert dates.parse_datetime("2024-05-01T10:00:00Z", strict="offset") == datetime(
        2024, 5, 1, 10, tzinfo=UTC)


def test_format_error_lists_every_error():
    exc = FormatError([(2, "bad quantity"), (5, "unknown kind")])
    assert isinstance(exc, ValueError)
    assert exc.errors == [(2, "bad quantity"), (5, "unknown kind")]
    assert "line 2: bad quantity" in str(exc) and "line 5: unknown kind" in str(exc)
