"""Sendcloud request bodies, answers and webhooks against Sendcloud's published OpenAPI
documents (``$CONTRACTS_DIR/sendcloud/*.yml``), through the reusable helpers of
``tests/contracts/openapi.py`` (openapi-core)."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import re
from decimal import Decimal

import pytest
import requests

from shipsync.adapters import Address, Parcel, ShipmentRequest
from shipsync.signatures import make_verifier

from .adapters import partner_module
from .openapi import (
    example_bodies,
    load_spec,
    sample_from_schema,
    validate_request,
    validate_response,
    validate_webhook,
)

sendcloud = partner_module("sendcloud")
build_parcels_body, parse_webhook = sendcloud.build_parcels_body, sendcloud.parse_webhook

V2_PARCELS = "sendcloud-v2-parcels-openapi.yml"
V3_SHIPMENTS = "sendcloud-shipments-openapi.yml"
WEBHOOKS = ("sendcloud-v2-webhooks-openapi.yml", "sendcloud-v3-webhooks-openapi.yml")

#: Facts from the v2 create-parcel example (Stadhuisplein 10, Eindhoven, shipment id 8).
WAREHOUSE = Address(name="Warehouse", company="Sendcloud", street="Stadhuisplein 10",
                    city="Eindhoven", zip="5611 EM", country_code="NL",
                    phone="+31612345678", email="warehouse@example.com")
CUSTOMER = Address(name="John Doe", street="Stadhuisplein 10", city="Eindhoven",
                   zip="5611 EM", country_code="NL", phone="+31612345678",
                   email="john@doe.com")


def _request(reference="WH/OUT/00042", parcels=2, refs=("", ""), **kw) -> ShipmentRequest:
    return ShipmentRequest(
        reference=reference, correlation_id="contract", ship_from=WAREHOUSE, ship_to=CUSTOMER,
        parcels=tuple(Parcel(Decimal("2.5"), Decimal(30), Decimal(20), Decimal(10),
                             reference=refs[i]) for i in range(parcels)),
        service="8", currency="EUR", **kw)


@pytest.fixture(scope="module")
def v2(contracts_dir):
    return load_spec(contracts_dir, V2_PARCELS)


# --------------------------------------------------------------------------- the helper
def test_documents_own_examples_validate(contracts_dir, v2):
    examples = list(example_bodies(v2.operation("post", "/parcels")["requestBody"]))
    assert len(examples) >= 2  # single and batch
    for example in examples:
        validate_request(v2, "POST", "/api/v2/parcels", example)
        validate_request(v2, "POST", "/parcels", example)  # the document's own path
    v3 = load_spec(contracts_dir, V3_SHIPMENTS)
    shipments = list(example_bodies(v3.operation("post", "/shipments/announce")["requestBody"]))
    assert shipments
    for example in shipments:
        validate_request(v3, "POST", "/api/v3/shipments/announce", example)
    # The only reading aid applied: the ambiguous single/batch envelopes.
    assert v2.patches and all(p.endswith("/oneOf") for p in v2.patches)


def test_helper_names_the_field_the_document_refuses(v2):
    [single] = [e for e in example_bodies(v2.operation("post", "/parcels")["requestBody"])
                if "parcel" in e][:1]
    bad = copy.deepcopy(single)
    bad["parcel"]["shipment"]["id"] = "eight"
    with pytest.raises(AssertionError) as caught:
        validate_request(v2, "POST", "/api/v2/parcels", bad)
    assert "$.parcel.shipment.id" in str(caught.value)
    with pytest.raises(AssertionError):
        validate_request(v2, "POST", "/api/v2/parcels", {"parcel": single["parcel"],
                                                         "parcels": [single["parcel"]]})
    with pytest.raises(AssertionError):
        validate_request(v2, "POST", "/api/v2/no_such_path", single)


def test_response_validation_reads_sendcloud_nulls_as_absent(contracts_dir):
    v3 = load_spec(contracts_dir, V3_SHIPMENTS)
    [example] = list(example_bodies(v3.operation("get", "/shipments/{id}")["responses"]["200"]))
    validate_response(v3, "GET", "/shipments/1", 200, example, nulls="as_absent")
    with pytest.raises(AssertionError) as caught:  # the document's example vs its schema
        validate_response(v3, "GET", "/shipments/1", 200, example)
    assert "customs_information" in str(caught.value)
    broken = copy.deepcopy(example)
    broken["data"]["parcels"] = "none"
    with pytest.raises(AssertionError):
        validate_response(v3, "GET", "/shipments/1", 200, broken, nulls="as_absent")


# --------------------------------------------------------------------------- our v2 bodies
@pytest.mark.parametrize("parcels,is_return", [(1, False), (2, False), (1, True)])
def test_our_v2_parcel_body_conforms(v2, parcels, is_return):
    req = _request(parcels=parcels, refs=("PACK0001", "PACK0002"), is_return=is_return,
                   declared_value=Decimal("11.11"))
    body = build_parcels_body(req, 8)
    validate_request(v2, "POST", "/api/v2/parcels", body)


def test_a_cod_parcel_body_conforms_and_carries_the_amount_as_total_order_value(v2):
    body = build_parcels_body(_request(parcels=1, cod_amount=Decimal("99.99")), 8)
    validate_request(v2, "POST", "/api/v2/parcels", body)
    assert (body["parcel"]["total_order_value"],
            body["parcel"]["total_order_value_currency"]) == ("99.99", "EUR")


def test_external_reference_is_unique_per_parcel_and_stable(v2):
    """PAR2: "Must be unique across parcels. This field is used to create idempotence."
    Derived from the booking key (picking, operation, booking count), never a package
    name."""
    key = "corr-42:42:ship:0"
    first = build_parcels_body(_request(), 8, idempotency_key=key)["parcels"]
    again = build_parcels_body(_request(), 8, idempotency_key=key)["parcels"]
    refs = [p.get("external_reference") for p in first]
    assert all(refs) and len(set(refs)) == len(refs)
    assert refs == [p.get("external_reference") for p in again]
    # Another transfer reusing the same package names gets other references.
    same_names = dict(refs=("PACK0001", "PACK0002"))
    one = build_parcels_body(_request("WH/OUT/00042", **same_names), 8,
                             idempotency_key="corr-42:42:ship:0")["parcels"]
    other = build_parcels_body(_request("WH/OUT/00043", **same_names), 8,
                               idempotency_key="corr-43:43:ship:0")["parcels"]
    assert {p["external_reference"] for p in one}.isdisjoint(
        p["external_reference"] for p in other)
    assert not {"PACK0001", "PACK0002"} & {p["external_reference"] for p in one}
    validate_request(v2, "POST", "/api/v2/parcels", {"parcels": one})


# --------------------------------------------------------------------------- webhooks
@pytest.mark.parametrize("document", WEBHOOKS)
def test_parcel_status_changed_built_from_the_document_parses(contracts_dir, document):
    spec = load_spec(contracts_dir, document)
    payload = sample_from_schema(
        spec, {"$ref": "#/components/schemas/ParcelStatusChangedWebhook"})
    payload["timestamp"] = 1714809600123  # SYNTHETIC: the document gives no example value
    validate_webhook(spec, "ParcelStatusChanged", payload)

    [event] = parse_webhook(payload)
    parcel = payload["parcel"]
    assert event.tracking_number == parcel["tracking_number"]
    assert event.code == str(parcel["status"]["id"])
    assert event.message == parcel["status"]["message"]
    assert event.occurred_at.year == 2024

    broken = copy.deepcopy(payload)
    broken["parcel"]["status"]["id"] = "one"
    with pytest.raises(AssertionError):
        validate_webhook(spec, "ParcelStatusChanged", broken)


def test_webhook_signature_vector_of_the_document(contracts_dir):
    spec = load_spec(contracts_dir, WEBHOOKS[0])
    description = spec.raw["info"]["description"]
    [signature] = set(re.findall(r"\b[0-9a-f]{64}\b", description))
    assert '"secretkey"' in description
    body = json.dumps({"key": "value"}).encode()
    assert hmac.new(b"secretkey", body, hashlib.sha256).hexdigest() == signature
    verifier = make_verifier("sendcloud", ["secretkey"])
    verifier.verify({"Sendcloud-Signature": signature}, body)
    assert verifier.sign(body) == signature


# --------------------------------------------------------------------------- the sandbox
def test_sandbox_v2_answers_conform_to_the_document(v2, sandbox):
    """The Sendcloud v2 slice of our sandbox answers what the document declares (a
    ``null`` read as absent, as in Sendcloud's own examples), for our own requests."""
    auth = ("sandbox-public", "sandbox-secret")
    body = build_parcels_body(_request(parcels=1, refs=("PACK0001",)), 8)
    validate_request(v2, "POST", "/api/v2/parcels", body)
    created = requests.post(sandbox.url + "/api/v2/parcels", json=body, auth=auth, timeout=10)
    validate_response(v2, "POST", "/api/v2/parcels", created.status_code, created.json(),
                      nulls="as_absent")
    parcel = created.json()["parcel"]

    calls = [("GET", f"/api/v2/parcels/{parcel['id']}"),
             ("GET", f"/api/v2/parcels?tracking_number={parcel['tracking_number']}"),
             ("POST", f"/api/v2/parcels/{parcel['id']}/cancel")]
    for method, path in calls:
        validate_request(v2, method, path)
        answer = requests.request(method, sandbox.url + path, auth=auth, timeout=10)
        assert answer.status_code == 200, (path, answer.text[:300])
        validate_response(v2, method, path, answer.status_code, answer.json(),
                          nulls="as_absent")


@pytest.mark.parametrize("document", WEBHOOKS)
def test_fractional_unix_timestamp_passes_our_inbound_path(contracts_dir, document):
    """``timestamp`` is a ``number`` (unix time) in both webhook documents: a fractional
    value is a valid payload and must not be refused by our webhook schema."""
    spec = load_spec(contracts_dir, document)
    payload = sample_from_schema(
        spec, {"$ref": "#/components/schemas/ParcelStatusChangedWebhook"})
    payload["timestamp"] = 1753862700.25  # SYNTHETIC: the documents give no example value
    validate_webhook(spec, "ParcelStatusChanged", payload)
    from shipsync.partners import get_normalizer

    [event] = get_normalizer("sendcloud").parse(json.dumps(payload).encode())
    assert event.occurred_at.timestamp() == pytest.approx(1753862700.25)
