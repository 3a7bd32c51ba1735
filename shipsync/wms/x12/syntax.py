"""X12 syntax shared by the writers and readers: separators, envelopes, segment walking."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal

from ..messages import (
    FormatError,
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
