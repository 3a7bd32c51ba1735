"""EasyPost customs and address verification against EasyPost's own recorded traffic
(``$CONTRACTS_DIR/easypost/cassettes``): our ``customs_info`` has exactly the keys and
value kinds the official SDK sent, our verification request is the recorded one, and
our parser reads EasyPost's real verification answers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shipsync.adapters import Address, InvalidInput
from shipsync.adapters.base import Customs, Parcel, ParcelItem, ShipmentRequest
from shipsync.partners.easypost import addresses, customs

from .adapters import adapter, address_from_easypost, partner_module
from .cassettes import load_cassette, recorded_bodies, structure, unknown_fields

ep = partner_module("easypost")


def _international(items) -> ShipmentRequest:
    return ShipmentRequest(
        reference="WH/OUT/00042", correlation_id="c",
        ship_from=Address(name="Warehouse", street="388 Townsend St", city="San Francisco",
                          state_code="CA", zip="94107", country_code="US"),
        ship_to=Address(name="Lea Martin", street="Rue Haute 1", city="Bruxelles",
                        zip="1000", country_code="BE"),
        parcels=(Parcel(weight_kg=Decimal("1.2"), items=tuple(items)),), currency="USD",
        customs=Customs(contents_type="merchandise", signer="Steve Brule"))


SHIRT = ParcelItem(description="Sweet shirts", quantity=2, weight_kg=Decimal("0.156"),
                   value=Decimal("11.625"), currency="USD", hs_code="654321",
                   origin_country="US", sku="SHIRT-1")


def _recorded_customs_infos(contracts_dir):
    bodies = recorded_bodies(contracts_dir, "POST", "/v2/shipments")
    infos = [b["shipment"]["customs_info"] for b in bodies
             if isinstance(b.get("shipment", {}).get("customs_info"), dict)]
    infos += [b["customs_info"] for b in
              recorded_bodies(contracts_dir, "POST", "/v2/customs_infos")]
    assert infos, "no recorded customs_info"
    return infos


def _item_attrs(contracts_dir):
    """Attributes of the CustomsItem objects EasyPost answered (``currency``, ``code``)."""
    answers = [i.response_json for i in load_cassette(
        contracts_dir, "test_customs_item_create").find("POST", "/v2/customs_items")]
    return {p.replace("$", "$.customs_items[]", 1): {k} for a in answers
            for p, k in structure(a).items()}


def test_customs_info_has_the_recorded_keys_and_kinds(contracts_dir):
    ours = ep.build_shipment_body(_international([SHIRT]))["shipment"]["customs_info"]
    recorded = _recorded_customs_infos(contracts_dir)
    problems = unknown_fields(ours, recorded, _item_attrs(contracts_dir))
    assert not problems, problems
    # every key the SDK always sent is in ours, at every level
    always = set.intersection(*(set(structure(r)) for r in recorded))
    assert always - set(structure(ours)) == set()
    # the recorded facts: 2 shirts of 5.5 oz and 11.625 USD each -> 11 oz, 23.25 USD
    [item] = ours["customs_items"]
    assert (item["quantity"], item["weight"], item["value"]) == (2, 11.0, 23.25)
    assert (item["hs_tariff_number"], item["origin_country"]) == ("654321", "US")
    assert ours["eel_pfc"] == recorded[0]["eel_pfc"] and ours["customs_certify"] is True


def test_customs_info_sits_where_the_sdk_put_it(contracts_dir):
    """In the shipment, next to the parcel (the recorded ``POST /v2/shipments`` bodies);
    the rest of the body is pinned by test_easypost_contract."""
    body = ep.build_shipment_body(_international([SHIRT]))
    item_attrs = {p.replace("$.customs_items", "$.shipment.customs_info.customs_items"): k
                  for p, k in _item_attrs(contracts_dir).items()}
    problems = [p for p in unknown_fields(
        body, recorded_bodies(contracts_dir, "POST", "/v2/shipments"), item_attrs)
        if "customs_info" in p]
    assert not problems, problems
    assert "customs_info" in body["shipment"]
    domestic = ep.build_shipment_body(ShipmentRequest(
        reference="R", correlation_id="c", ship_from=_international([]).ship_from,
        ship_to=_international([]).ship_from, parcels=(Parcel(weight_kg=Decimal("1")),)))
    assert "customs_info" not in domestic["shipment"]


def test_missing_hs_code_is_refused_before_any_call(replay_server):
    server = replay_server("test_shipment_create")
    bare = ParcelItem(description="Blue mug", quantity=1, weight_kg=Decimal("0.4"),
                      value=Decimal("9"), origin_country="")
    with pytest.raises(InvalidInput) as caught:
        adapter("easypost", server.base_url).create_shipment(
            _international([SHIRT, bare]), "key-1")
    assert caught.value.code == "missing_customs_data"
    assert "Blue mug" in caught.value.message and "Sweet shirts" not in caught.value.message
    assert server.received == []


def test_verification_request_is_the_recorded_one(contracts_dir, replay_server):
    recorded = load_cassette(contracts_dir, "test_address_create_verify_strict").one(
        "POST", "/v2/addresses")
    original = address_from_easypost(recorded.request_json["address"])
    server = replay_server("test_address_create_verify_strict")

    check = adapter("easypost", server.base_url).verify_address(original)

    [sent] = server.requests_to("POST", "/v2/addresses")
    assert not unknown_fields(sent.json, recorded_bodies(contracts_dir, "POST", "/v2/addresses"))
    assert sent.json["verify"] is True and sent.json["address"] == recorded.request_json[
        "address"]
    # EasyPost's answer: deliverable, standardised (ZIP+4, the apartment in street1)
    assert check.state == "corrected" and check.partner_ref.startswith("adr_")
    assert (check.suggestion.street, check.suggestion.street2, check.suggestion.zip) == (
        "388 TOWNSEND ST APT 20", "", "94107-1670")
    assert check.suggestion.name == original.name  # names and contacts stay ours


def test_recorded_failed_verification_reads_as_invalid(contracts_dir):
    [plain, verified] = load_cassette(contracts_dir, "test_address_create_verify").find(
        "POST", "/v2/addresses")
    original = address_from_easypost(verified.request_json["address"])
    check = addresses.parse_verification(original, verified.response_json)
    assert check.state == "invalid" and check.reasons == ("Address not found",)
    # an address created without verification is not a verdict of deliverability
    assert addresses.parse_verification(original, plain.response_json).state == "invalid"


def test_recorded_verify_failure_error_gives_the_reasons(contracts_dir):
    failure = load_cassette(contracts_dir, "test_address_verify_invalid_address").find(
        "GET", failure_path := next(
            i.path for i in load_cassette(contracts_dir, "test_address_verify_invalid_address")
            .interactions if i.path.endswith("/verify")))[0]
    assert failure.status == 422 and failure_path.startswith("/v2/addresses/")
    error = failure.response_json["error"]
    assert error["code"] == "ADDRESS.VERIFY.FAILURE"
    assert addresses._reasons(error["errors"]) == (
        "Address not found", "House number is missing (street1)")


def test_forms_are_read_from_the_documented_form_objects():
    shipment = {"forms": [
        {"object": "Form", "form_type": "commercial_invoice", "form_url": "https://x/ci.pdf"},
        {"object": "Form", "form_type": "return_packing_slip", "form_url": "https://x/r.pdf"},
        {"object": "Form", "form_type": "cn22", "form_url": None}]}
    assert customs.parse_forms(shipment) == [("commercial_invoice", "https://x/ci.pdf")]
    assert customs.parse_forms({"forms": []}) == []
