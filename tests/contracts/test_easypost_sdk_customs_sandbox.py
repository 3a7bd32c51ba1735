"""The official EasyPost SDK (PyPI ``easypost``) drives the sandbox's customs and address
verification routes unchanged, with the recorded requests of EasyPost's own cassettes
(``test_customs_info_create``, ``test_customs_item_create``, ``test_address_create_verify*``,
``test_address_verify_invalid_address``)."""

from __future__ import annotations

import urllib.request

import pytest
from easypost import EasyPostClient
from easypost.errors import ApiError

from .cassettes import load_cassette, structure


@pytest.fixture
def client(sandbox) -> EasyPostClient:
    return EasyPostClient("EZTK_sandbox_key", api_base=sandbox.url.rstrip("/") + "/v2")


def _recorded(contracts_dir, cassette, method, path, index=0):
    return load_cassette(contracts_dir, cassette).find(method, path)[index]


def test_sdk_creates_the_recorded_customs_info_and_item(client, contracts_dir):
    recorded = _recorded(contracts_dir, "test_customs_info_create", "POST", "/v2/customs_infos")
    info = client.customs_info.create(**recorded.request_json["customs_info"])
    assert info.id.startswith("cstinfo_") and info.object == "CustomsInfo"
    ours = info.to_dict()
    # the recorded answer's shape: same attributes, same value kinds
    theirs = structure(recorded.response_json)
    assert set(structure(ours)) == set(theirs)
    assert info.customs_items[0].value == "23.25" and info.customs_items[0].weight == 11.0
    item_rec = _recorded(contracts_dir, "test_customs_item_create", "POST", "/v2/customs_items")
    item = client.customs_item.create(**item_rec.request_json["customs_item"])
    assert item.id.startswith("cstitem_") and item.hs_tariff_number == "654321"
    assert set(structure(item.to_dict())) == set(structure(item_rec.response_json))


def test_sdk_sees_a_customs_item_without_weight_refused(client):
    with pytest.raises(ApiError) as caught:
        client.customs_item.create(description="Mug", quantity=1, value=5,
                                   hs_tariff_number="691200", origin_country="BE")
    assert caught.value.http_status == 422 and caught.value.code == "PARAMETER.REQUIRED"


def test_sdk_international_shipment_echoes_customs_and_returns_a_form(client, contracts_dir):
    recorded = _recorded(contracts_dir, "test_shipment_buy", "POST", "/v2/shipments")
    body = dict(recorded.request_json["shipment"])
    body["to_address"] = dict(body["to_address"], country="BE", state="", zip="1000",
                              city="Bruxelles", street1="Rue Haute 1")
    shipment = client.shipment.create(**body)
    assert shipment.customs_info.id.startswith("cstinfo_")
    assert shipment.customs_info.customs_items[0].hs_tariff_number == "654321"
    assert shipment.forms == []
    bought = client.shipment.buy(shipment.id, rate=shipment.lowest_rate())
    [form] = bought.forms
    assert form.object == "Form" and form.form_type == "commercial_invoice"
    with urllib.request.urlopen(form.form_url, timeout=5) as answer:  # noqa: S310 - loopback
        assert answer.read(5) == b"%PDF-"


def test_sdk_verifies_addresses(client, contracts_dir):
    strict = _recorded(contracts_dir, "test_address_create_verify_strict", "POST",
                       "/v2/addresses")
    good = client.address.create(verify_strict=True, **strict.request_json["address"])
    assert good.verifications.delivery.success is True
    # standardised as recorded: capitals, the apartment folded into street1
    assert (good.street1, good.street2) == ("388 TOWNSEND ST APT 20", "")
    bad = _recorded(contracts_dir, "test_address_create_verify", "POST", "/v2/addresses", 1)
    unverified = client.address.create(verify=True, **bad.request_json["address"])
    assert unverified.verifications.delivery.success is False
    assert unverified.verifications.delivery.errors[0].code == "E.ADDRESS.NOT_FOUND"
    with pytest.raises(ApiError) as caught:
        client.address.create(verify_strict=True, street1="invalid")
    assert caught.value.http_status == 422 and caught.value.code == "ADDRESS.VERIFY.FAILURE"
    created = client.address.create(street1="invalid")
    assert created.verifications.to_dict() == {}  # recorded: created, not verified
    with pytest.raises(ApiError) as caught:
        client.address.verify(created.id)
    assert [e["code"] for e in caught.value.errors] == [
        "E.ADDRESS.NOT_FOUND", "E.HOUSE_NUMBER.MISSING"]
    verified = client.address.create_and_verify(**strict.request_json["address"])
    assert verified.id.startswith("adr_") and verified.zip == "94107"
