"""ANSI X12 004010 subset: 940 Warehouse Shipping Order, 945 Warehouse Shipping Advice.

Separators: element ``*``, segment ``~`` (the writer adds a newline after each),
component ``>``; ISA11 is ``U``. Readers take the separators from the fixed-width
ISA header. Values must not contain ``* ~ >`` or line breaks (the writer raises
:class:`ValueError`). Trailing empty elements are omitted.

Envelope: ``ISA / GS / ST ... SE / GE / IEA``, one GS per interchange, one ST per
order or confirmation (ST02 ``0001``, ``0002``...). GS01 is ``OW`` for 940 and
``SW`` for 945; ISA13 = GS06 = ``control_number``. The reader checks SE01 (segments
from ST to SE inclusive), SE02 = ST02, GE01 (transaction sets), GE02 = GS06,
IEA01 (groups), IEA02 = ISA13.

940 (one per :class:`ReleaseOrder`)::

    W05*{N create|R update|C cancel}*{order_ref}        mandatory
    N1*WH**ZZ*{warehouse_code}                           if any
    N1*ST*{name} / N3*{street}*{street2} / N4*{city}*{state}*{zip}*{country}
    PER*IC**TE*{phone}*EM*{email}                        ship-to contact
    N9*CR*{correlation_id}   N9*ZZ*{revision}
    G62*10*{requested date CCYYMMDD}
    W66*PP*M***{service}*****{carrier}                   W66-05 routing, W66-10 SCAC
    LX*{n} / W01*{qty}*{uom}*{barcode}*VN*{product_code} / N9*LI*{line_ref} / N9*LT*{lot}...

945 (one per :class:`Confirmation`)::

    W06*F*{order_ref}*{date}*{message_id}                mandatory (W06-04 falls back
                                                         to ``ISA13-ST02`` when empty)
    N9*ZZ*{kind}  (default ship_confirmed)  N9*CR*{correlation_id}  N9*QC*{condition_code}
    NTE*GEN*{reason}
    G62*11*{CCYYMMDD}*W*{HHMMSS}                         mandatory, UTC, whole seconds
    W27*M*{carrier}                                      header: default package carrier
    LX loops; inside a loop:
      MAN*GM*{package_ref}**CP*{tracking}   the loop's package (declares it)
      W27*M*{carrier}   MEA*PD*G*{weight}*KG             package carrier and weight
      W12*CC**{qty shipped}**EA**VN*{product_code}       a confirmed line in that package
      N9*LI*{line_ref}   N9*LT*{lot}*{lot qty}           after its W12
    The writer emits one loop per package (no W12), then one loop per line (MAN
    naming the line's package); details of a package may be spread over loops but
    must agree.

Other segments (N2, W03, W76, G69...) are ignored. Sub-second parts of ``occurred_at``
are dropped. No stock snapshots in X12 (use CSV or JSON). Every problem is reported
as ``(segment number, message)`` in one :class:`FormatError`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timezone

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

ELEMENT, SEGMENT, COMPONENT = "*", "~", ">"
ACTION_CODES = {"create": "N", "update": "R", "cancel": "C"}
CODE_ACTIONS = {v: k for k, v in ACTION_CODES.items()}
KIND_QUALIFIER, CONDITION_QUALIFIER, CORRELATION_QUALIFIER = "ZZ", "QC", "CR"
REVISION_QUALIFIER, LINE_QUALIFIER, LOT_QUALIFIER = "ZZ", "LI", "LT"
_FORBIDDEN = (ELEMENT, SEGMENT, COMPONENT, "\r", "\n")


# -- writing -----------------------------------------------------------------------------


def _seg(*elements) -> str:
    values = [str(e) for e in elements]
    for value in values:
        if any(ch in value for ch in _FORBIDDEN):
            raise ValueError(f"X12 value {value!r} contains a separator or line break")
    while values and values[-1] == "":
        values.pop()
    return ELEMENT.join(values)


@dataclass(frozen=True)
class Envelope:
    """ISA / GS values. ``control_number`` is ISA13 and GS06; keep it unique per partner."""

    sender_id: str = "SHIPSYNC"
    receiver_id: str = "WMS"
    control_number: int = 1
    created_at: datetime | None = None
    test: bool = False


def _interchange(functional_id: str, transactions: list, env: Envelope) -> bytes:
    sender_id, receiver_id, control_number = env.sender_id, env.receiver_id, env.control_number
    if not 0 < control_number < 10**9:
        raise ValueError("control_number must be between 1 and 999999999")
    for party in (sender_id, receiver_id):
        if not party or len(party) > 15 or any(ch in party for ch in _FORBIDDEN):
            raise ValueError(f"interchange id {party!r} must be 1-15 plain characters")
    now = (env.created_at or datetime.now(timezone.utc)).astimezone(timezone.utc)
    isa = ELEMENT.join(
        ["ISA", "00", " " * 10, "00", " " * 10, "ZZ", f"{sender_id:<15}", "ZZ",
         f"{receiver_id:<15}", now.strftime("%y%m%d"), now.strftime("%H%M"), "U", "00401",
         f"{control_number:09d}", "0", "T" if env.test else "P", COMPONENT]
    )  # fmt: skip
    segments = [
        isa,
        _seg("GS", functional_id, sender_id, receiver_id, now.strftime("%Y%m%d"),
             now.strftime("%H%M"), control_number, "X", "004010"),
    ]  # fmt: skip
    for number, (set_id, body) in enumerate(transactions, start=1):
        st_control = f"{number:04d}"
        segments.append(_seg("ST", set_id, st_control))
        segments.extend(body)
        segments.append(_seg("SE", len(body) + 2, st_control))
    segments.append(_seg("GE", len(transactions), control_number))
    segments.append(_seg("IEA", 1, f"{control_number:09d}"))
    return "".join(f"{s}{SEGMENT}\n" for s in segments).encode("utf-8")


def _ymd(day: date) -> str:
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"  # strftime does not pad years < 1000


def _940(order: ReleaseOrder) -> list[str]:
    to = order.ship_to
    contact = (["TE", to.phone] if to.phone else []) + (["EM", to.email] if to.email else [])
    items = [
        ("W05", ACTION_CODES[order.action], order.order_ref),
        order.warehouse_code and ("N1", "WH", "", "ZZ", order.warehouse_code),
        ("N1", "ST", to.name),
        (to.street or to.street2) and ("N3", to.street, to.street2),
        (to.city or to.state_code or to.zip or to.country_code)
        and ("N4", to.city, to.state_code, to.zip, to.country_code),
        contact and ("PER", "IC", "", *contact),
        order.correlation_id and ("N9", CORRELATION_QUALIFIER, order.correlation_id),
        ("N9", REVISION_QUALIFIER, order.revision),
        order.requested_date and ("G62", "10", _ymd(order.requested_date)),
        (order.carrier or order.service)
        and ("W66", "PP", "M", "", "", order.service, "", "", "", "", order.carrier),
    ]
    for number, line in enumerate(order.lines, start=1):
        qty = format_decimal(line.quantity)
        items += [
            ("LX", number),
            ("W01", qty, line.uom, line.barcode, "VN", line.product_code),
            ("N9", LINE_QUALIFIER, line.line_ref),
        ]
        items += [("N9", LOT_QUALIFIER, lot) for lot in line.lots]
    return [_seg(*item) for item in items if item]


def _945(conf: Confirmation) -> list[str]:
    at = conf.occurred_at
    items = [
        ("W06", "F", conf.order_ref, _ymd(at), conf.message_id),
        ("N9", KIND_QUALIFIER, conf.kind),
        conf.correlation_id and ("N9", CORRELATION_QUALIFIER, conf.correlation_id),
        conf.condition_code and ("N9", CONDITION_QUALIFIER, conf.condition_code),
        conf.reason and ("NTE", "GEN", conf.reason),
        ("G62", "11", _ymd(at), "W", at.strftime("%H%M%S")),
    ]
    for number, pack in enumerate(conf.packages, start=1):
        tracking = ("", "CP", pack.tracking_number) if pack.tracking_number else ()
        weight = pack.weight_kg
        items += [
            ("LX", number),
            ("MAN", "GM", pack.package_ref, *tracking),
            pack.carrier and ("W27", "M", pack.carrier),
            weight is not None and ("MEA", "PD", "G", format_decimal(weight), "KG"),
        ]
    for number, line in enumerate(conf.lines, start=len(conf.packages) + 1):
        qty = format_decimal(line.quantity)
        items += [
            ("LX", number),
            line.package_ref and ("MAN", "GM", line.package_ref),
            ("W12", "CC", "", qty, "", "EA", "", "VN", line.product_code),
            line.line_ref and ("N9", LINE_QUALIFIER, line.line_ref),
        ]
        items += [("N9", LOT_QUALIFIER, n, format_decimal(q)) for n, q in line.lots]
    return [_seg(*item) for item in items if item]


def write_releases(orders: Iterable[ReleaseOrder], envelope: Envelope | None = None) -> bytes:
    """One interchange with a 940 per order (default envelope: SHIPSYNC -> WMS)."""
    sets = [("940", _940(order)) for order in orders]
    return _interchange("OW", sets, envelope or Envelope())


def write_confirmations(
    confirmations: Iterable[Confirmation], envelope: Envelope | None = None
) -> bytes:
    """One interchange with a 945 per confirmation (default envelope: WMS -> SHIPSYNC)."""
    sets = [("945", _945(conf)) for conf in confirmations]
    return _interchange("SW", sets, envelope or Envelope("WMS", "SHIPSYNC"))


# -- reading: envelope -------------------------------------------------------------------


def _el(elements: list[str], index: int) -> str:
    return elements[index] if index < len(elements) else ""


def _segments(data: bytes | str) -> list[tuple[int, list[str]]]:
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FormatError([(0, f"not valid UTF-8 at byte {exc.start}")]) from None
    text = data.lstrip("\ufeff \t\r\n")
    if not text.startswith("ISA") or len(text) < 106:
        raise FormatError([(1, "not an X12 interchange: ISA header missing or truncated")])
    element, terminator = text[3], text[105]
    if terminator.isalnum() or terminator == element or terminator == " ":
        raise FormatError([(1, "ISA header is not 106 characters: cannot find separators")])
    segments = []
    for raw in text.split(terminator):
        raw = raw.strip("\r\n")
        if raw.strip():
            segments.append((len(segments) + 1, raw.split(element)))
    return segments


def _trailer(errors: list, segment, count: int, control: str, against: str) -> None:
    """Check a trailer's count (element 01) and control number (element 02)."""
    no, el = segment
    value = _el(el, 1)
    if not (value.isdigit() and int(value) == count):
        errors.append((no, f"{el[0]}01 count is {value!r}, expected {count}"))
    if _el(el, 2).strip() != control.strip():
        errors.append((no, f"{el[0]}02 {_el(el, 2)!r} != {against} {control!r}"))


def _transactions(segments, errors):
    """Walk the envelopes; yield ``(isa_control, st_segment_no, set_id, st_control, body)``."""
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
        groups, i = 0, i + 1
        while i < n and tag(i) == "GS":
            gs_no, gs = segments[i]
            groups, sets, i = groups + 1, 0, i + 1
            while i < n and tag(i) == "ST":
                st_no, st = segments[i]
                body, i = [segments[i]], i + 1
                while i < n and tag(i) not in ("SE", "ST", "GE", "IEA", "GS", "ISA"):
                    body.append(segments[i])
                    i += 1
                if i < n and tag(i) == "SE":
                    body.append(segments[i])
                    _trailer(errors, segments[i], len(body), _el(st, 2), "ST02")
                    i += 1
                else:
                    errors.append((st_no, f"transaction set {_el(st, 2)!r} has no SE trailer"))
                sets += 1
                yield isa_control, st_no, _el(st, 1), _el(st, 2), body
            if i < n and tag(i) == "GE":
                _trailer(errors, segments[i], sets, _el(gs, 6), "GS06")
                i += 1
            else:
                at = segments[i][0] if i < n else gs_no
                errors.append((at, "functional group has no GE trailer"))
        if i < n and tag(i) == "IEA":
            _trailer(errors, segments[i], groups, isa_control, "ISA13")
            i += 1
        else:
            at = segments[i][0] if i < n else isa_no
            errors.append((at, f"expected IEA, got {tag(i) if i < n else 'end of file'}"))
            if i < n and tag(i) != "ISA":
                i += 1


def _read(data, set_id: str, parse) -> list:
    errors: list[tuple[int, str]] = []
    results = []
    for isa_control, st_no, found, st_control, body in _transactions(_segments(data), errors):
        if found != set_id:
            errors.append((st_no, f"transaction set {found!r} where {set_id} is expected"))
            continue
        inner = body[1:-1] if body[-1][1][0] == "SE" else body[1:]
        value = parse(st_no, inner, errors, f"{isa_control}-{st_control}")
        if value is not None:
            results.append(value)
    if errors:
        raise FormatError(sorted(errors))
    return results


def _yyyymmdd(text: str) -> date:
    try:
        if len(text) != 8 or not text.isdigit():
            raise ValueError
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise ValueError(f"date {text!r} is not CCYYMMDD") from None


class _Detail:
    """Collects the detail lines (W01 / W12 with their N9s) of one transaction set."""

    def __init__(self, cls, tag: str, errors: list):
        self.cls, self.tag, self.errors = cls, tag, errors
        self.lines, self.values, self.no = [], None, 0

    def start(self, no: int, **values) -> None:
        self.close()
        self.no, self.values = no, values

    def close(self) -> None:
        if self.values is not None:
            try:
                self.lines.append(self.cls(**self.values))
            except ValueError as exc:
                self.errors.append((self.no, f"{self.tag}: {exc}"))
            self.values = None


# -- reading: 945 ------------------------------------------------------------------------

_945_HEADER_N9 = {
    KIND_QUALIFIER: "kind",
    CORRELATION_QUALIFIER: "correlation_id",
    CONDITION_QUALIFIER: "condition_code",
}


def _parse_945(st_no, segments, errors, fallback_id):
    head = {"kind": "ship_confirmed", "correlation_id": "", "condition_code": "", "reason": ""}
    w06 = occurred = None
    header_carrier, packages, detail = "", {}, _Detail(ConfirmedLine, "W12", errors)
    in_detail, package, count = False, "", len(errors)

    def merge(no, key, value):
        known = packages.setdefault(package, {})
        if known.get(key) not in (None, "", value):
            errors.append((no, f"package {package!r}: {key} {value} conflicts with {known[key]}"))
        known[key] = value

    for no, el in segments:
        tag = el[0]
        try:
            if tag == "W06":
                if w06 is not None:
                    errors.append((no, "W06 repeated"))
                w06 = (no, el)
            elif tag == "LX":
                detail.close()
                in_detail, package = True, ""
            elif tag == "G62" and not in_detail and _el(el, 1) == "11":
                day, clock = _yyyymmdd(_el(el, 2)), (_el(el, 4) + "000000")[:6]
                if not clock.isdigit():
                    raise ValueError(f"time {_el(el, 4)!r} is not HHMMSS")
                hms = int(clock[:2]), int(clock[2:4]), int(clock[4:])
                occurred = datetime(day.year, day.month, day.day, *hms, tzinfo=timezone.utc)
            elif tag == "NTE" and not in_detail:
                head["reason"] = _el(el, 2)
            elif tag == "N9" and detail.values is not None:
                if _el(el, 1) == LINE_QUALIFIER:
                    detail.values["line_ref"] = _el(el, 2)
                elif _el(el, 1) == LOT_QUALIFIER:
                    qty = parse_decimal(_el(el, 3), f"quantity of lot {_el(el, 2)!r}")
                    detail.values["lots"].append((_el(el, 2), qty))
            elif tag == "N9" and not in_detail and _el(el, 1) in _945_HEADER_N9:
                head[_945_HEADER_N9[_el(el, 1)]] = _el(el, 2)
            elif tag == "W27" and not in_detail:
                header_carrier = _el(el, 2)
            elif tag in ("MAN", "W27", "MEA", "W12") and not in_detail:
                errors.append((no, f"{tag} outside an LX loop"))
            elif tag == "MAN":
                detail.close()
                if _el(el, 1) == "GM" and _el(el, 2):
                    package = _el(el, 2)
                    packages.setdefault(package, {})
                if package and _el(el, 4) == "CP":
                    merge(no, "tracking_number", _el(el, 5))
                elif package and _el(el, 1) == "CP" and _el(el, 2) != package:
                    merge(no, "tracking_number", _el(el, 2))
            elif tag in ("W27", "MEA") and not package:
                errors.append((no, f"{tag} in an LX loop without a MAN*GM package"))
            elif tag == "W27":
                merge(no, "carrier", _el(el, 2))
            elif tag == "MEA" and _el(el, 2) == "G":
                if _el(el, 4).split(COMPONENT)[0] not in ("KG", ""):
                    raise ValueError(f"weight unit {_el(el, 4)!r} is not KG")
                merge(no, "weight_kg", parse_decimal(_el(el, 3), "weight"))
            elif tag == "W12":
                detail.close()
                if not _el(el, 8):
                    raise ValueError("W12-08 product id is required")
                quantity = parse_decimal(_el(el, 3), "W12-03 quantity shipped")
                detail.start(no, line_ref="", product_code=_el(el, 8), quantity=quantity,
                             lots=[], package_ref=package)  # fmt: skip
        except ValueError as exc:
            errors.append((no, f"{tag}: {exc}"))
    detail.close()
    if w06 is None:
        errors.append((st_no, "missing mandatory segment W06"))
    if occurred is None:
        errors.append((st_no, "missing mandatory segment G62*11 (shipped date)"))
    if len(errors) > count:
        return None
    w06_no, w06_el = w06
    try:
        return Confirmation(
            message_id=_el(w06_el, 4) or fallback_id,
            order_ref=_el(w06_el, 2),
            occurred_at=occurred,
            lines=tuple(detail.lines),
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
        errors.append((w06_no, f"W06: {exc}"))
        return None


def read_confirmations(data: bytes | str) -> list[Confirmation]:
    """Read every 945 of an interchange; raise :class:`FormatError` on any problem."""
    return _read(data, "945", _parse_945)


# -- reading: 940 ------------------------------------------------------------------------


def _parse_940(st_no, segments, errors, fallback_id):
    head = {"correlation_id": "", "revision": 0, "warehouse_code": "", "carrier": "",
            "service": "", "requested_date": None}  # fmt: skip
    address: dict[str, str] = {}
    w05, party, detail, count = None, "", _Detail(ReleaseLine, "W01", errors), len(errors)
    for no, el in segments:
        tag = el[0]
        try:
            if tag == "W05":
                w05 = (no, el)
                if _el(el, 1) not in CODE_ACTIONS:
                    raise ValueError(f"order status {_el(el, 1)!r} is not N, R or C")
            elif tag == "N1":
                party = _el(el, 1)
                if party == "WH":
                    head["warehouse_code"] = _el(el, 4) or _el(el, 2)
                elif party == "ST":
                    address["name"] = _el(el, 2)
            elif tag == "N3" and party == "ST":
                address.update(street=_el(el, 1), street2=_el(el, 2))
            elif tag == "N4" and party == "ST":
                address.update(city=_el(el, 1), state_code=_el(el, 2), zip=_el(el, 3),
                               country_code=_el(el, 4))  # fmt: skip
            elif tag == "PER" and party == "ST":
                for k in (3, 5, 7):
                    field = {"TE": "phone", "EM": "email"}.get(_el(el, k))
                    if field:
                        address[field] = _el(el, k + 1)
            elif tag == "N9" and detail.values is not None:
                if _el(el, 1) == LINE_QUALIFIER:
                    detail.values["line_ref"] = _el(el, 2)
                elif _el(el, 1) == LOT_QUALIFIER:
                    detail.values["lots"].append(_el(el, 2))
            elif tag == "N9" and _el(el, 1) == CORRELATION_QUALIFIER:
                head["correlation_id"] = _el(el, 2)
            elif tag == "N9" and _el(el, 1) == REVISION_QUALIFIER:
                if not _el(el, 2).isdigit():
                    raise ValueError(f"revision {_el(el, 2)!r} is not a whole number")
                head["revision"] = int(_el(el, 2))
            elif tag == "G62" and _el(el, 1) == "10":
                head["requested_date"] = _yyyymmdd(_el(el, 2))
            elif tag == "W66":
                head.update(service=_el(el, 5), carrier=_el(el, 10))
            elif tag == "LX":
                detail.close()
            elif tag == "W01":
                detail.close()
                quantity = parse_decimal(_el(el, 1), "W01-01 quantity")
                detail.start(no, line_ref="", product_code=_el(el, 5), barcode=_el(el, 3),
                             quantity=quantity, uom=_el(el, 2), lots=[])  # fmt: skip
        except ValueError as exc:
            errors.append((no, f"{tag}: {exc}"))
    detail.close()
    if w05 is None:
        errors.append((st_no, "missing mandatory segment W05"))
    if len(errors) > count:
        return None
    try:
        return ReleaseOrder(
            order_ref=_el(w05[1], 2),
            action=CODE_ACTIONS[_el(w05[1], 1)],
            ship_to=Address(**address),
            lines=tuple(detail.lines),
            **head,
        )
    except ValueError as exc:
        errors.append((w05[0], f"W05: {exc}"))
        return None


def read_releases(data: bytes | str) -> list[ReleaseOrder]:
    """Read every 940 of an interchange (the WMS sandbox side)."""
    return _read(data, "940", _parse_940)
