"""The one place the contract tests get our adapters from (the registry, by partner code)."""

from __future__ import annotations

import importlib
from decimal import Decimal
from types import ModuleType

from shipsync.adapters import Address, Parcel, ShipmentRequest, get_adapter

#: An API key the replay server never checks (the recordings dropped auth headers).
TEST_KEY = "EZTK_contract_test_key"


def adapter(code: str, base_url: str, api_key: str = TEST_KEY, **options):
    """A live adapter of partner ``code`` talking to ``base_url`` over real HTTP."""
    return get_adapter(code)(base_url=base_url, api_key=api_key, **options)


def partner_module(code: str) -> ModuleType:
    """The module of partner ``code``'s registered adapter (its builders and parsers),
    wherever the registry keeps it."""
    return importlib.import_module(get_adapter(code).__module__)


def address_from_easypost(data: dict) -> Address:
    """Our ``Address`` from an EasyPost address object (the facts of a recorded request)."""
    return Address(
        name=data.get("name") or "", company=data.get("company") or "",
        street=data.get("street1") or "", street2=data.get("street2") or "",
        city=data.get("city") or "", zip=data.get("zip") or "",
        state_code=data.get("state") or "", country_code=data.get("country") or "",
        phone=data.get("phone") or "", email=data.get("email") or "",
    )


OZ_TO_KG = Decimal("0.028349523125")
IN_TO_CM = Decimal("2.54")


def request_from_easypost(shipment: dict, **kw) -> ShipmentRequest:
    """Our ``ShipmentRequest`` carrying the facts of a recorded EasyPost ``shipment`` body
    (ounces and inches converted back to kg and cm)."""
    parcel = shipment["parcel"]

    def cm(key):
        return Decimal(str(parcel[key])) * IN_TO_CM if parcel.get(key) is not None else None

    options = shipment.get("options") or {}
    return ShipmentRequest(
        reference=str(shipment.get("reference") or "REF"),
        correlation_id="contract-test",
        ship_from=address_from_easypost(shipment["from_address"]),
        ship_to=address_from_easypost(shipment["to_address"]),
        parcels=(Parcel(weight_kg=Decimal(str(parcel["weight"])) * OZ_TO_KG,
                        length_cm=cm("length"), width_cm=cm("width"), height_cm=cm("height")),),
        currency=kw.pop("currency", "USD"),
        label_format=kw.pop("label_format", options.get("label_format") or "PDF"),
        **kw,
    )
