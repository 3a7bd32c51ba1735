"""Pure tests of the customs rules (``shipsync.customs``), the customs builders of the
EasyPost and Sendcloud adapters, and the address-check values."""

from decimal import Decimal

import pytest

from shipsync import customs
from shipsync.adapters import InvalidInput
from shipsync.adapters.base import Customs, Parcel, ParcelItem, ShipmentRequest
from shipsync.address import Address, AddressCheck, corrected_fields
from shipsync.partners.easypost import addresses as ep_addresses
from shipsync.partners.easypost import customs as ep_customs
from shipsync.partners.sendcloud import shipments_v3

US = Address(name="W", street="1 Main St", city="Austin", zip="73301", state_code="TX",
             country_code="US")
BE = Address(name="Lea", street="Rue Haute 1", city="Bruxelles", zip="1000", country_code="BE")
MUG = ParcelItem(description="Blue mug", quantity=3, weight_kg=Decimal("0.4"),
                 value=Decimal("9.99"), currency="USD", hs_code="691200", origin_country="BE",
                 sku="MUG")


def req(to=BE, items=(MUG,), **kw):
    return ShipmentRequest(reference="WH/OUT/7", correlation_id="c", ship_from=US, ship_to=to,
                           parcels=(Parcel(weight_kg=Decimal("1.5"), items=tuple(items)),),
                           currency="USD", **kw)


def test_international_is_two_countries():
    assert customs.is_international(req())
    assert not customs.is_international(req(to=US))
    assert not customs.is_international(req(to=Address(name="x", city="y")))


def test_gaps_name_every_product_and_what_it_lacks():
    bare = ParcelItem(description="Teapot", quantity=1)
    half = ParcelItem(description="Spoon", quantity=1, hs_code="821599")
    gaps = customs.customs_gaps(req(items=(MUG, bare, half)))
    assert gaps == {"Teapot": ("hs_code", "origin_country"), "Spoon": ("origin_country",)}
    with pytest.raises(InvalidInput) as caught:
        customs.require_customs(req(items=(MUG, bare, half)))
    assert caught.value.code == "missing_customs_data"
    assert caught.value.message == (
        "customs data missing for an international shipment: Teapot (no HS code and no "
        "origin country); Spoon (no origin country)")
    assert customs.customs_gaps(req(to=US, items=(bare,))) == {}
    customs.require_customs(req(to=US, items=(bare,)))  # domestic: nothing to declare


def test_customs_of_defaults_only_abroad():
    assert customs.customs_of(req(to=US)) is None
    assert customs.customs_of(req()) == Customs()
    mine = Customs(contents_type="gift", signer="Ada")
    assert customs.customs_of(req(customs=mine)) is mine


def test_easypost_customs_info_totals_in_ounces_and_usd():
    info = ep_customs.build_customs_info(req(customs=Customs(signer="Ada")), req().parcels[0])
    assert info == {
        "eel_pfc": "NOEEI 30.37(a)", "customs_certify": True, "customs_signer": "Ada",
        "contents_type": "merchandise", "contents_explanation": "",
        "restriction_type": "none", "non_delivery_option": "return",
        "customs_items": [{"description": "Blue mug", "quantity": 3, "weight": 42.3,
                           "value": 29.97, "hs_tariff_number": "691200",
                           "origin_country": "BE", "currency": "USD", "code": "MUG"}]}
    assert ep_customs.build_customs_info(req(to=US), req().parcels[0]) is None
    other = ep_customs.build_customs_info(
        req(customs=Customs(contents_type="bulk", non_delivery_option="abandon")),
        req().parcels[0])
    assert (other["contents_type"], other["contents_explanation"]) == ("other", "bulk")
    assert other["non_delivery_option"] == "abandon" and other["customs_certify"] is False


def test_sendcloud_v3_customs_information_and_items():
    body = shipments_v3.build_shipment(req(customs=Customs(contents_type="sample")),
                                       "key", "dhl:world")
    assert body["customs_information"] == {"invoice_number": "WH/OUT/7",
                                           "export_reason": "commercial_sample"}
    [item] = body["parcels"][0]["parcel_items"]
    assert item["hs_code"] == "691200" and item["origin_country"] == "BE"
    assert "customs_information" not in shipments_v3.build_shipment(req(to=US), "k", "x:y")
    with pytest.raises(InvalidInput) as caught:
        shipments_v3.build_shipment(req(items=(ParcelItem(description="Teapot", quantity=1,
                                                          weight_kg=Decimal(1),
                                                          value=Decimal(1)),)), "k", "x:y")
    assert "Teapot" in caught.value.message


def test_address_check_states_and_corrections():
    with pytest.raises(ValueError):
        AddressCheck("maybe")
    got = Address(street="388 townsend st", street2="Apt 20", city="San Francisco",
                  zip="94107", country_code="US")
    same = Address(street="388 TOWNSEND ST", street2="", city="SAN FRANCISCO", zip="94107",
                   country_code="US")
    assert corrected_fields(got, same) == ()
    assert corrected_fields(got, Address(street="388 TOWNSEND ST APT 20", zip="94107-1670",
                                         country_code="US")) == ("street", "zip")


def test_easypost_verification_parser():
    original = Address(name="Ada", street="1 Main St", city="Austin", zip="73301",
                       country_code="US", email="a@x")
    ok = {"id": "adr_1", "street1": "1 MAIN ST", "city": "AUSTIN", "zip": "73301",
          "country": "US", "verifications": {"delivery": {"success": True, "errors": []}}}
    assert ep_addresses.parse_verification(original, ok) == AddressCheck(
        "valid", partner_ref="adr_1")
    moved = dict(ok, zip="73301-0001")
    check = ep_addresses.parse_verification(original, moved)
    assert check.state == "corrected" and check.suggestion.zip == "73301-0001"
    assert check.suggestion.email == "a@x"
    bad = dict(ok, verifications={"delivery": {"success": False, "errors": [
        {"code": "E.HOUSE_NUMBER.MISSING", "field": "street1",
         "message": "House number is missing"}]}})
    assert ep_addresses.parse_verification(original, bad).reasons == (
        "House number is missing (street1)",)
    assert ep_addresses.build_verify_body(original, strict=True) == {
        "address": {"name": "Ada", "street1": "1 Main St", "city": "Austin", "zip": "73301",
                    "country": "US", "email": "a@x"}, "verify_strict": True}
