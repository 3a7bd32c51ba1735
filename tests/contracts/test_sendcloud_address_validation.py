"""Sendcloud address validation (``POST /api/v3/addresses/validate``, Shipments API v3
document): the v3 adapter's requests and the v3 sandbox's answers are validated against
the document (``server`` fixture), and the verdicts read its ``address-washer-response``."""

from __future__ import annotations

from dataclasses import replace

import pytest

from shipsync.adapters.base import InvalidInput
from shipsync.partners.sendcloud import addresses

from . import test_sendcloud_v3_contract as v3c
from .test_sendcloud_v3_contract import CUSTOMER, PUBLIC, SECRET

# the v3 sandbox, every exchange validated against the document at teardown
specs, _server, server = v3c.specs, v3c._server, v3c.server


def _verify(server, address, service="postnl:standard"):
    from shipsync.partners.sendcloud.outbound import SendcloudAdapter

    sc = SendcloudAdapter(server.url, f"{PUBLIC}:{SECRET}",
                          **SendcloudAdapter.carrier_options(service=service))
    return sc.verify_address(address)


def test_valid_address(server):
    check = _verify(server, CUSTOMER)
    assert check.state == "valid" and check.suggestion is None
    [exchange] = server.exchanges
    assert exchange[1] == "/api/v3/addresses/validate"
    assert exchange[2] == {"address": {
        "address_line_1": "Insulindelaan 115", "postal_code": "5642CV", "city": "Eindhoven",
        "country_code": "NL"}, "carrier_code": "postnl"}


def test_washed_address_is_a_suggestion(server):
    check = _verify(server, replace(CUSTOMER, street="Insulindelaan  115 "))
    assert check.state == "corrected"
    assert check.suggestion.street == "Insulindelaan 115"
    assert check.suggestion.name == CUSTOMER.name


def test_invalid_address_gives_the_documented_reasons(server):
    check = _verify(server, replace(CUSTOMER, street="Insulindelaan", zip=""))
    assert check.state == "invalid"
    assert check.reasons == ("The address does not exist.", "The postal code is missing.")


def test_carrier_code_is_required(server):
    with pytest.raises(InvalidInput) as caught:
        _verify(server, CUSTOMER, service="")
    assert caught.value.code == "missing_service"
    assert server.exchanges == []


def test_v2_accounts_have_no_address_validation(server):
    from shipsync.partners.sendcloud.outbound import SendcloudAdapter

    sc = SendcloudAdapter(server.url, "k:s", **SendcloudAdapter.carrier_options(
        service="8", api_version="v2"))
    with pytest.raises(NotImplementedError):
        sc.verify_address(CUSTOMER)


def test_parser_reads_the_document_shape():
    data = {"input_address_is_valid": False, "results": [
        {"address": {"address_line_1": "Stadhuisplein", "postal_code": "1013 AB",
                     "city": "Eindhoven", "country_code": "NL"}, "recommended": False,
         "analysis": {"validation_result": {"is_valid": False,
                                            "reasons": ["HOUSE_NUMBER_TOO_SHORT"]},
                      "changed_attributes": []}},
        {"address": {"address_line_1": "Stadhuisplein", "house_number": "50",
                     "postal_code": "1013 AB", "city": "Eindhoven", "country_code": "NL"},
         "recommended": True,
         "analysis": {"validation_result": {"is_valid": True, "reasons": []},
                      "changed_attributes": ["house_number"]}}]}
    check = addresses.parse_validation(CUSTOMER, data)
    assert check.state == "invalid" and check.reasons == ("The house number is too short.",)
    assert check.suggestion.street == "Stadhuisplein 50"


def test_international_booking_sends_customs_and_gets_the_declaration(server):
    """Customs on a v3 booking (NL -> BE): ``customs_information`` and the parcel items go
    out (validated against the document at teardown); the customs declaration the
    answer lists is downloaded and returned as a document."""
    from decimal import Decimal

    from shipsync.adapters.base import Customs, Parcel, ShipmentRequest

    abroad = replace(CUSTOMER, city="Bruxelles", zip="1000", country_code="BE")
    req = ShipmentRequest(
        reference="WH/OUT/00009", correlation_id="c", ship_from=v3c.WAREHOUSE, ship_to=abroad,
        parcels=(Parcel(weight_kg=Decimal("0.8"), items=(v3c.SHIRT,)),), currency="EUR",
        service="postnl:standard", customs=Customs(contents_type="gift"))
    result = v3c.adapter(server).create_shipment(req, "key-intl-1")
    announce = next(e for e in server.exchanges if e[1].endswith("/announce"))
    assert announce[2]["customs_information"] == {"invoice_number": "WH/OUT/00009",
                                                  "export_reason": "gift"}
    assert announce[2]["parcels"][0]["parcel_items"][0]["hs_code"] == "620520"
    [doc] = result.documents
    assert doc.kind == "customs-declaration" and doc.content.startswith(b"%PDF")
