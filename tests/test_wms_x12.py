"""shipsync.wms.x12: 940 / 945 subset, envelopes and control counts."""

import sys
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given

from shipsync.wms import x12
from shipsync.wms.messages import (
    Address,
    Confirmation,
    ConfirmedPackage,
    FormatError,
    ReleaseLine,
    ReleaseOrder,
)
from shipsync.wms.x12 import Envelope

FIXTURES = Path(__file__).parent / "fixtures" / "wms"
sys.path.insert(0, str(FIXTURES))
from wms_strategies import confirmation_batches, release_batches, whole_seconds  # noqa: E402

UTC = timezone.utc
AT = datetime(2024, 5, 1, 16, 40, tzinfo=UTC)


def _segments(data: bytes) -> list[str]:
    return [s.strip() for s in data.decode().split("~") if s.strip()]


def _order(**kw):
    values = dict(
        order_ref="WH/OUT/1", correlation_id="c-1", revision=2, action="update",
        warehouse_code="WH1", ship_to=Address(name="Bob", street="1 Main St", city="Paris",
        zip="75001", country_code="FR", email="bob@example.com"), carrier="UPSN",
        service="GND", requested_date=date(2024, 5, 2),
        lines=(ReleaseLine("L1", "DESK", "0123", Decimal("2"), "EA", ("LOT-A",)),
               ReleaseLine("L2", "CHAIR", "", Decimal("1.5"), "KG")),
    )  # fmt: skip
    values.update(kw)
    return ReleaseOrder(**values)


@given(release_batches)
def test_940_round_trip(orders):
    assert x12.read_releases(x12.write_releases(orders)) == orders


@given(confirmation_batches(whole_seconds))
def test_945_round_trip(confs):
    assert x12.read_confirmations(x12.write_confirmations(confs)) == confs


def test_940_layout_and_control_counts():
    data = x12.write_releases(
        [_order(), _order(order_ref="WH/OUT/2", lines=())],
        Envelope(control_number=42, created_at=AT),
    )
    segs = _segments(data)
    isa = data.decode().split("~")[0]
    assert len(isa) == 105 and isa[3] == "*" and data.decode()[105] == "~"
    assert isa.split("*")[13] == "000000042"
    assert segs[1] == "GS*OW*SHIPSYNC*WMS*20240501*1640*42*X*004010"
    assert segs[2:4] == ["ST*940*0001", "W05*R*WH/OUT/1"]
    assert "W66*PP*M***GND*****UPSN" in segs and "G62*10*20240502" in segs
    assert "W01*2*EA*0123*VN*DESK" in segs and "N9*LT*LOT-A" in segs
    se = [s for s in segs if s.startswith("SE")]
    first_st, first_se = segs.index("ST*940*0001"), segs.index(se[0])
    assert se[0] == f"SE*{first_se - first_st + 1}*0001"
    assert se[1].endswith("*0002")
    assert segs[-2:] == ["GE*2*42", "IEA*1*000000042"]


def test_945_writer_uses_documented_segments():
    conf = Confirmation(
        "SHIP-1", "ship_confirmed", "WH/OUT/1", "c-1", AT,
        packages=(ConfirmedPackage("BOX1", "1Z9", "UPSN", Decimal("3.2")),),
    )  # fmt: skip
    segs = _segments(x12.write_confirmations([conf], Envelope(created_at=AT)))
    assert segs[1].startswith("GS*SW*")
    assert "W06*F*WH/OUT/1*20240501*SHIP-1" in segs
    assert "G62*11*20240501*W*164000" in segs
    assert ["LX*1", "MAN*GM*BOX1**CP*1Z9", "W27*M*UPSN", "MEA*PD*G*3.2*KG"] == segs[7:11]


def test_reads_a_real_world_shaped_945():
    [conf] = x12.read_confirmations((FIXTURES / "ship_advice.945").read_bytes())
    assert conf.message_id == "SHIP-77" and conf.kind == "ship_confirmed"
    assert conf.order_ref == "WH/OUT/00012" and conf.correlation_id == "corr-12"
    assert conf.occurred_at == AT
    assert conf.packages == (ConfirmedPackage("BOX1", "1Z999", "UPSN", Decimal("12.5")),)
    assert [(x.line_ref, x.product_code, x.quantity, x.package_ref) for x in conf.lines] == [
        ("L1", "DESK-01", Decimal("2"), "BOX1"),
        ("L2", "CHAIR-02", Decimal("4.5"), "BOX1"),
    ]
    assert conf.lines[1].lots == (("LOT-A", Decimal("4")), ("LOT-B", Decimal("0.5")))


def test_bad_counts_and_missing_segments_are_all_reported_with_segment_numbers():
    with pytest.raises(FormatError) as info:
        x12.read_confirmations((FIXTURES / "bad_counts.945").read_bytes())
    errors = info.value.errors
    text = "\n".join(f"{n}: {m}" for n, m in errors)
    numbers = [n for n, _ in errors]
    assert numbers == sorted(numbers)
    assert "3: missing mandatory segment W06" in text
    assert "11: W12: W12-03 quantity shipped 'two'" in text
    assert "SE01 count is '99', expected 16" in text
    assert "GE01 count is '2', expected 1" in text


def _tamper(data: bytes, old: str, new: str) -> bytes:
    text = data.decode()
    assert old in text
    return text.replace(old, new, 1).encode()


def test_control_number_mismatches_are_errors():
    data = x12.write_releases([_order()], Envelope(control_number=7, created_at=AT))
    bad = _tamper(data, "IEA*1*000000007", "IEA*1*000000008")
    [se] = [s for s in _segments(data) if s.startswith("SE*")]
    bad = _tamper(bad, se, se.replace("*0001", "*0009"))
    with pytest.raises(FormatError) as info:
        x12.read_releases(bad)
    text = str(info.value)
    assert "IEA02" in text and "SE02" in text


def test_missing_trailers_and_wrong_transaction_set():
    data = x12.write_confirmations(
        [Confirmation("m", "cancel_ack", "o", "", AT)], Envelope(created_at=AT)
    )
    no_se = "\n".join(s for s in data.decode().split("\n") if not s.startswith("SE*"))
    with pytest.raises(FormatError, match="no SE trailer"):
        x12.read_confirmations(no_se)
    with pytest.raises(FormatError, match="'945' where 940 is expected"):
        x12.read_releases(data)


def test_not_x12_at_all():
    with pytest.raises(FormatError, match="ISA"):
        x12.read_confirmations(b"message_id,kind\n")


def test_writer_refuses_separators_in_values():
    with pytest.raises(ValueError, match="separator"):
        x12.write_releases([_order(carrier="UPS*N")])
    with pytest.raises(ValueError, match="control_number"):
        x12.write_releases([_order()], Envelope(control_number=0))


def test_several_945_in_one_interchange_and_message_id_fallback():
    confs = [
        Confirmation("m1", "pick_confirmed", "o1", "", AT),
        Confirmation("m2", "pack_confirmed", "o2", "", AT, reason="late"),
    ]
    data = x12.write_confirmations(confs, Envelope("WMS", "SHIPSYNC", 5, AT))
    assert x12.read_confirmations(data) == confs
    anonymous = _tamper(data, "W06*F*o1*20240501*m1", "W06*F*o1*20240501")
    assert x12.read_confirmations(anonymous)[0].message_id == "000000005-0001"
