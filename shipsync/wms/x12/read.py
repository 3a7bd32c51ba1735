"""Reading X12 945 (confirmations) and 940 (releases) interchanges."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from ..messages import (
    Address,
    Confirmation,
    ConfirmedLine,
    ConfirmedPackage,
    ReleaseLine,
    ReleaseOrder,
    parse_decimal,
)
from .syntax import (
    _READ_BARCODE_QUALIFIERS,
    CODE_ACTIONS,
    CONDITION_QUALIFIER,
    CORRELATION_QUALIFIER,
    KIND_QUALIFIER,
    KNOWN_SEGMENTS,
    LB_TO_KG,
    LINE_QUALIFIER,
    LOT_QUALIFIER,
    MESSAGE_QUALIFIER,
    REVISION_QUALIFIER,
    Separators,
    _el,
    _n9_value,
    _raise,
    _read,
    _Set,
    _yyyymmdd,
)


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
