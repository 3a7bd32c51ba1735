"""shipsync.wms.x12: 940 / 945 / 997 per X12 004010 (005010), checked by Bots' grammars."""

import sys
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipsync.sandbox.x12_grammar import assert_valid_x12, grammar_errors
from shipsync.wms import x12
from shipsync.wms.messages import (
    CONFIRMATION_KINDS,
    RELEASE_ACTIONS,
    Address,
    Confirmation,
    ConfirmedLine,
    ConfirmedPackage,
    FormatError,
    ReleaseLine,
    ReleaseOrder,
)
from shipsync.wms.units import X12_UNITS
from shipsync.wms.x12 import Envelope

FIXTURES = Path(__file__).parent / "fixtures" / "wms"
sys.path.insert(0, str(FIXTURES))
from wms_strategies import whole_seconds  # noqa: E402

UTC = timezone.utc
AT = datetime(2024, 5, 1, 16, 40, tzinfo=UTC)

# -- strategies: values as a 3PL's order / ship advice really carries them ---------------
_plain = st.characters(min_codepoint=32, max_codepoint=126, blacklist_characters="*~>^")


def _text(min_size, max_size):
    return st.text(_plain, min_size=min_size, max_size=max_size).map(str.strip).filter(
        lambda s: len(s) >= min_size)


_ref = st.from_regex(r"\A[A-Z0-9][A-Z0-9/_.-]{0,20}\Z")
_long_ref = st.one_of(_ref, st.uuids().map(str), _text(31, 45))
units = st.sampled_from(sorted(X12_UNITS))
quantities = st.decimals(min_value=0, max_value=10**5, places=3)
carriers = st.one_of(st.just(""), st.from_regex(r"\A[A-Z]{2,4}\Z"), _text(5, 30))
addresses = st.builds(
    Address, name=_text(1, 60).filter(lambda s: s != "-"), street=_text(0, 55), street2=st.just(""),
    city=st.one_of(st.just(""), _text(2, 30)), zip=st.one_of(st.just(""), _text(3, 15)),
    state_code=st.one_of(st.just(""), st.from_regex(r"\A[A-Z]{2,3}\Z")),
    country_code=st.one_of(st.just(""), st.from_regex(r"\A[A-Z]{2}\Z")),
    phone=_text(0, 20), email=_text(0, 40),
)  # fmt: skip
release_lines = st.builds(
    ReleaseLine, line_ref=_ref, product_code=_text(1, 48),
    barcode=st.one_of(st.just(""), st.from_regex(r"\A[0-9]{12,14}\Z"), _text(1, 20)),
    quantity=quantities, uom=units, lots=st.lists(_long_ref, max_size=3).map(tuple),
)  # fmt: skip
release_orders = st.builds(
    ReleaseOrder, order_ref=_ref, correlation_id=st.one_of(st.just(""), _long_ref),
    revision=st.integers(0, 999), action=st.sampled_from(RELEASE_ACTIONS),
    warehouse_code=st.one_of(st.just(""), _text(2, 20)), ship_to=addresses, carrier=carriers,
    service=_text(0, 35), requested_date=st.none() | st.dates(date(1990, 1, 1)),
    lines=st.lists(release_lines, max_size=4, unique_by=lambda x: x.line_ref).map(tuple),
)  # fmt: skip
release_batches = st.lists(release_orders, max_size=3, unique_by=lambda o: o.order_ref)


@st.composite
def confirmations(draw):
    carrier = draw(carriers)
    packs = draw(st.lists(st.builds(
        ConfirmedPackage, package_ref=_text(1, 48), tracking_number=_text(0, 48),
        carrier=st.just(carrier), weight_kg=st.none() | quantities),
        max_size=3, unique_by=lambda p: p.package_ref))  # fmt: skip
    refs = draw(st.lists(_ref, max_size=4, unique=True))
    lines = []
    for ref in refs:
        lots = draw(st.lists(st.tuples(_long_ref, quantities), max_size=3,
                             unique_by=lambda x: x[0]))
        qty = sum((q for _n, q in lots), Decimal(0)) if lots else draw(quantities)
        lines.append(ConfirmedLine(
            ref, draw(_text(1, 48)), qty, tuple(lots),
            draw(st.sampled_from([""] + [p.package_ref for p in packs])), draw(units)))
    # X12 declares a package where it first appears: lines' packages, then the others.
    order = list(dict.fromkeys([x.package_ref for x in lines if x.package_ref]
                               + [p.package_ref for p in packs]))
    packs = sorted(packs, key=lambda p: order.index(p.package_ref))
    return Confirmation(
        message_id=draw(st.one_of(_ref, _text(31, 45))),
        kind=draw(st.sampled_from(CONFIRMATION_KINDS)), order_ref=draw(_ref),
        correlation_id=draw(st.one_of(st.just(""), _long_ref)),
        occurred_at=draw(whole_seconds), lines=tuple(lines), packages=tuple(packs),
        reason=draw(_text(0, 200)), condition_code=draw(st.one_of(st.just(""), _ref)),
    )  # fmt: skip


confirmation_batches = st.lists(confirmations(), max_size=3, unique_by=lambda c: c.message_id)
versions = st.sampled_from(tuple(x12.VERSIONS))
SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large]
ROUND_TRIP = settings(deadline=None, suppress_health_check=SLOW)
GRAMMAR = settings(max_examples=25, deadline=None, suppress_health_check=SLOW)


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


# -- round trips, and Bots' grammar on everything we write -------------------------------
@ROUND_TRIP
@given(release_batches, versions)
def test_940_round_trip(orders, version):
    data = x12.write_releases(orders, Envelope(version=version))
    assert x12.read_releases(data) == orders


@ROUND_TRIP
@given(confirmation_batches, versions)
def test_945_round_trip(confs, version):
    data = x12.write_confirmations(confs, Envelope("WMS", "SHIPSYNC", version=version))
    assert x12.read_confirmations(data) == confs


@GRAMMAR
@given(release_batches.filter(bool), versions)
def test_every_940_we_write_passes_the_bots_grammar(orders, version):
    assert_valid_x12(x12.write_releases(orders, Envelope(version=version)))


@GRAMMAR
@given(confirmation_batches.filter(bool), versions)
def test_every_945_we_write_passes_the_bots_grammar(confs, version):
    data = x12.write_confirmations(confs, Envelope("WMS", "SHIPSYNC", version=version))
    assert_valid_x12(data)
    acks = x12.acknowledgment_for(data)
    assert [a.code for a in acks] == ["A"]
    answer = x12.write_acknowledgments(acks, Envelope(control_number=9, version=version))
    assert_valid_x12(answer)
    assert x12.read_acknowledgments(answer) == [
        x12.GroupAcknowledgment("SW", "1", version if version >= "005010" else "", "A", tuple(
            x12.SetAcknowledgment("945", f"{n:04d}", "A") for n in range(1, len(confs) + 1)),
            len(confs), len(confs), len(confs))]


# -- layout ----------------------------------------------------------------------------
def test_940_layout_and_control_counts():
    data = x12.write_releases(
        [_order(), _order(order_ref="WH/OUT/2", lines=())],
        Envelope(control_number=42, created_at=AT),
    )
    assert_valid_x12(data)
    segs = _segments(data)
    isa = data.decode().split("~")[0]
    assert len(isa) == 105 and isa[3] == "*" and data.decode()[105] == "~"
    assert isa.split("*")[13] == "000000042" and isa.split("*")[11] == "U"
    assert segs[1] == "GS*OW*SHIPSYNC*WMS*20240501*1640*42*X*004010"
    assert segs[2:4] == ["ST*940*0001", "W05*R*WH/OUT/1"]
    assert "W66*PP*M***GND*****UPSN" in segs and "G62*10*20240502" in segs
    assert "W01*2*EA**VN*DESK*ZZ*0123" in segs and "N9*LT*LOT-A" in segs
    assert "W01*1.5*KG**VN*CHAIR" in segs
    se = [s for s in segs if s.startswith("SE")]
    first_st, first_se = segs.index("ST*940*0001"), segs.index(se[0])
    assert se[0] == f"SE*{first_se - first_st + 1}*0001"
    assert se[1].endswith("*0002")
    assert segs[-2:] == ["GE*2*42", "IEA*1*000000042"]


def test_940_writes_x12_unit_codes_and_refuses_odoo_unit_names():
    with pytest.raises(ValueError, match="'Units' is not a 2-character X12 unit code"):
        x12.write_releases([_order(lines=(ReleaseLine("L1", "DESK", "", Decimal(1), "Units"),))])


def test_long_references_are_mapped_to_x12_lengths():
    corr, ean = str(uuid.UUID(int=7)), "4006381333931"
    order = _order(correlation_id=corr, carrier="DHL Express", ship_to=Address(
        name="Ann", city="Melbourne", state_code="VIC", zip="3000", country_code="AU"),
        lines=(ReleaseLine("L1", "DESK", ean, Decimal(3), "DZ"),))
    data = x12.write_releases([order])
    assert_valid_x12(data)
    segs = _segments(data)
    assert f"N9*CR*{corr[:30]}*{corr}" in segs
    assert f"W01*3*DZ**VN*DESK*EN*{ean}" in segs
    assert "N1*CA*DHL Express" in segs and "N4*Melbourne**3000*AU*SP*VIC" in segs
    assert x12.read_releases(data) == [order]
    # 005010: N9-02 holds 50 characters, the UUID fits whole.
    assert f"N9*CR*{corr}" in _segments(x12.write_releases([order], Envelope(version="005010")))

    message_id = "WTW/OUT/00012-r1-ship_confirmed-2024"
    conf = Confirmation(message_id, "ship_confirmed", "WTW/OUT/00012", corr, AT)
    data = x12.write_confirmations([conf])
    assert_valid_x12(data)
    segs = _segments(data)
    assert f"W06*F*WTW/OUT/00012*20240501*{message_id[:30]}" in segs
    assert f"N9*TN*{message_id[:30]}*{message_id}" in segs
    assert x12.read_confirmations(data) == [conf]
    with pytest.raises(ValueError, match="does not fit X12"):
        x12.write_releases([_order(order_ref="X" * 23)])


def test_945_writer_uses_documented_segments():
    conf = Confirmation(
        "SHIP-1", "ship_confirmed", "WH/OUT/1", "c-1", AT,
        lines=(ConfirmedLine("L1", "DESK", Decimal(2), (("LOT-A", Decimal(2)),), "BOX1", "EA"),),
        packages=(ConfirmedPackage("BOX1", "1Z9", "UPSN", Decimal("3.2")),
                  ConfirmedPackage("BOX2", "1Z8", "UPSN", Decimal("1"))),
    )  # fmt: skip
    data = x12.write_confirmations([conf], Envelope(created_at=AT))
    assert_valid_x12(data)
    segs = _segments(data)
    assert segs[1].startswith("GS*SW*")
    assert segs[3:6] == ["W06*F*WH/OUT/1*20240501*SHIP-1", "N1*SF*SHIPSYNC", "N9*ZZ*ship_confirmed"]
    assert "G62*11*20240501*W*164000" in segs
    assert segs[segs.index("G62*11*20240501*W*164000") + 1] == "W27*M*UPSN"  # header
    assert segs[9:15] == ["LX*1", "MAN*GM*BOX1**CP*1Z9", "W12*CC**2**EA**VN*DESK", "N9*LI*L1",
                          "N9*LT*LOT-A", "MEA*PD*G*3.2*KG"]
    assert segs[15:18] == ["LX*2", "MAN*GM*BOX2**CP*1Z8", "PAL***********1*KG"]


# -- reading what 3PLs send ------------------------------------------------------------
def test_reads_a_realistic_004010_945_caret_components_units_lots_without_quantity():
    data = (FIXTURES / "ship_advice.945").read_bytes()
    assert grammar_errors(data) == []
    assert x12.separators(data) == x12.Separators("*", "^", "~", "")
    [conf] = x12.read_confirmations(data)
    assert conf.message_id == "SHIP-77" and conf.kind == "ship_confirmed"
    assert conf.order_ref == "WH/OUT/00012" and conf.correlation_id == "corr-12"
    assert conf.occurred_at == AT
    assert conf.packages == (ConfirmedPackage("BOX1", "1Z999", "UPSN", Decimal("12.5")),)
    assert conf.lines == (
        ConfirmedLine("L1", "DESK-01", Decimal(2), (), "BOX1", "EA"),
        ConfirmedLine("L2", "CHAIR-02", Decimal(1), (("LOT-A", Decimal(1)),), "BOX1", "DZ"),
    )


def test_reads_a_realistic_005010_945_pipes_newlines_one_w12_per_lot_pounds():
    data = (FIXTURES / "ship_advice_5010.945").read_bytes()
    assert grammar_errors(data) == []
    assert x12.separators(data) == x12.Separators("|", ">", "\n", "^")
    [conf] = x12.read_confirmations(data)
    assert conf.lines == (ConfirmedLine(
        "L9", "LAMP-01", Decimal(10),
        (("LAMP-2024-A", Decimal(6)), ("LAMP-2024-B", Decimal(4))), "PAL-1", "CA"),)
    assert conf.packages == (ConfirmedPackage("PAL-1", "", "FDEG", Decimal("20.003")),)


def test_w12_without_unit_or_with_two_unquantified_lots_is_refused_precisely():
    data = (FIXTURES / "ship_advice.945").read_text()
    no_unit = data.replace("W12*CC*2*2*0*EA**VN*DESK-01", "W12*CC*2*2*0***VN*DESK-01")
    with pytest.raises(FormatError, match="W12-05 unit of measure is required"):
        x12.read_confirmations(no_unit)
    two_lots = data.replace("N9*LT*LOT-A~", "N9*LT*LOT-A~\r\nN9*LT*LOT-B~").replace(
        "SE*19*", "SE*20*")
    with pytest.raises(FormatError, match="names 2 lots .* send one W12 per lot"):
        x12.read_confirmations(two_lots)


def test_bad_counts_and_missing_segments_are_all_reported_with_segment_numbers():
    with pytest.raises(FormatError) as info:
        x12.read_confirmations((FIXTURES / "bad_counts.945").read_bytes())
    errors = info.value.errors
    text = "\n".join(f"{n}: {m}" for n, m in errors)
    numbers = [n for n, _ in errors]
    assert numbers == sorted(numbers)
    assert "3: missing mandatory segment W06" in text
    assert "10: W12: W12-03 quantity shipped 'two'" in text
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
    assert x12.acknowledgment_for(b"message_id,kind\n") == []


def test_writer_refuses_separators_in_values():
    with pytest.raises(ValueError, match="separator"):
        x12.write_releases([_order(carrier="UPS*N")])
    with pytest.raises(ValueError, match="control_number"):
        x12.write_releases([_order()], Envelope(control_number=0))


def test_several_945_in_one_interchange_and_message_id_fallback():
    confs = [
        Confirmation("m1", "pick_confirmed", "o1", "", AT),
        Confirmation("m2", "pack_confirmed", "o2", "", AT, reason="late " * 30),
    ]
    data = x12.write_confirmations(confs, Envelope("WMS", "SHIPSYNC", 5, AT))
    assert_valid_x12(data)
    assert x12.read_confirmations(data) == confs
    anonymous = _tamper(data, "W06*F*o1*20240501*m1", "W06*F*o1*20240501")
    assert x12.read_confirmations(anonymous)[0].message_id == "000000005-0001"


# -- 997 -------------------------------------------------------------------------------
def test_997_rejects_a_bad_group_naming_segment_and_element():
    data = (FIXTURES / "bad_counts.945").read_bytes()
    [ack] = x12.acknowledgment_for(data)
    assert (ack.functional_id, ack.control, ack.code, ack.accepted) == ("SW", "42", "R", 0)
    [set_ack] = ack.sets
    assert set_ack.code == "R" and set_ack.error_codes == ("4",)
    w12 = [n for n in set_ack.notes if n.segment_id == "W12" and n.element == 3]
    assert w12 == [x12.SegmentNote("W12", 8, "LX", "8", 3, "6", "two")]
    answer = x12.write_acknowledgments([ack], Envelope("SHIPSYNC", "ACME3PL", 3, AT))
    assert_valid_x12(answer)
    segs = _segments(answer)
    assert segs[1] == "GS*FA*SHIPSYNC*ACME3PL*20240501*1640*3*X*004010"
    assert "AK1*SW*42" in segs and "AK2*945*0001" in segs
    assert "AK3*W12*8*LX*8" in segs and "AK4*3**6*two" in segs
    assert "AK3*W06*1**3" in segs
    assert segs[segs.index("AK9*R*1*1*0*5") - 1] == "AK5*R*4"
    assert x12.read_acknowledgments(answer)[0].code == "R"


def test_997_accepts_with_errors_when_a_segment_is_not_in_the_945():
    data = (FIXTURES / "ship_advice.945").read_text().replace(
        "W03*3*12.5*KG~", "W03*3*12.5*KG~\r\nZZZ*private~").replace("SE*19*", "SE*20*")
    assert len(x12.read_confirmations(data)) == 1  # ignored, applied
    [ack] = x12.acknowledgment_for(data)
    assert ack.code == "E" and ack.sets[0].code == "E"
    assert ack.sets[0].notes == (x12.SegmentNote("ZZZ", 19, "LX", "2"),)
    answer = x12.write_acknowledgments([ack])
    assert_valid_x12(answer)
    assert "AK3*ZZZ*19*LX*2" in _segments(answer)


def test_read_acknowledgments_of_a_partner():
    ack = x12.GroupAcknowledgment("OW", "17", "", "A",
                                  (x12.SetAcknowledgment("940", "0001", "A"),), 1, 1, 1)
    data = x12.write_acknowledgments([ack], Envelope("ACME3PL", "SHIPSYNC", 4, AT))
    assert x12.functional_id(data) == "FA"
    assert x12.read_acknowledgments(data) == [ack]
    assert x12.functional_id(b"junk") == ""
