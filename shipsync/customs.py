"""Customs rules of a booking (one home for every adapter and the addons).

* A booking is **international** when the sender's and the recipient's countries
  differ: Odoo's own rule for a commercial invoice
  (``stock.picking._should_generate_commercial_invoice``, stock_delivery).
* Every line of an international booking needs an HS code and an origin country;
  :func:`require_customs` refuses the booking **before any call** with a message
  naming the products, so a person can complete them.
"""

from __future__ import annotations

from shipsync.adapters.base import Customs, InvalidInput, ParcelItem, ShipmentRequest


def is_international(req: ShipmentRequest) -> bool:
    return bool(req.ship_from.country_code and req.ship_to.country_code
                and req.ship_from.country_code != req.ship_to.country_code)


def item_gaps(item: ParcelItem) -> tuple[str, ...]:
    """What a line lacks for customs: ``hs_code``, ``origin_country``."""
    return tuple(name for name, value in (("hs_code", item.hs_code),
                                          ("origin_country", item.origin_country))
                 if not (value or "").strip())


def customs_gaps(req: ShipmentRequest) -> dict[str, tuple[str, ...]]:
    """Product (description, else SKU) -> the customs data it lacks, for an
    international booking; ``{}`` when nothing lacks or the booking is domestic."""
    if not is_international(req):
        return {}
    gaps: dict[str, tuple[str, ...]] = {}
    for parcel in req.parcels:
        for item in parcel.items:
            missing = item_gaps(item)
            if missing:
                name = item.description or item.sku or "?"
                gaps[name] = tuple(dict.fromkeys(gaps.get(name, ()) + missing))
    return gaps


def gaps_message(gaps: dict[str, tuple[str, ...]]) -> str:
    labels = {"hs_code": "HS code", "origin_country": "origin country"}
    return "customs data missing for an international shipment: " + "; ".join(
        f"{name} (no {' and no '.join(labels[g] for g in missing)})"
        for name, missing in gaps.items())


def require_customs(req: ShipmentRequest) -> None:
    """Raise ``InvalidInput`` (code ``missing_customs_data``) naming every product of an
    international booking that lacks its HS code or origin country."""
    gaps = customs_gaps(req)
    if gaps:
        raise InvalidInput(gaps_message(gaps), code="missing_customs_data")


def customs_of(req: ShipmentRequest) -> Customs | None:
    """The declaration to send with ``req``: its ``customs`` (or the default one) when
    the booking is international, else ``None``."""
    if not is_international(req):
        return None
    return req.customs or Customs()
