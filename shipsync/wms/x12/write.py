"""Writing X12 940 (releases) and 945 (confirmations) interchanges."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from ..messages import (
    Confirmation,
    ReleaseOrder,
    format_decimal,
)
from .syntax import (
    _SCAC,
    ACTION_CODES,
    CONDITION_QUALIFIER,
    CORRELATION_QUALIFIER,
    KIND_QUALIFIER,
    LINE_QUALIFIER,
    LOT_QUALIFIER,
    MESSAGE_QUALIFIER,
    REVISION_QUALIFIER,
    Envelope,
    _barcode,
    _interchange,
    _unit,
    _Writer,
    _ymd,
)


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
