"""Sendcloud v3 (Shipments API, Parcel Tracking API, webhooks) against Sendcloud's own
OpenAPI documents.

The adapter talks real HTTP to the sandbox's v3 part on 127.0.0.1. Every request it
sends and every answer the sandbox gives is validated with ``openapi-core`` against
``$CONTRACTS_DIR/sendcloud/*.yml`` (helpers of ``tests/contracts/openapi.py``), so the
adapter and the sandbox are held to what Sendcloud publishes, not to each other.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from openapi_schema_validator import OAS31Validator
from openapi_schema_validator import validate as validate_schema

from shipsync.adapters.base import (
    Address,
    CarrierError,
    InvalidInput,
    Parcel,
    ParcelItem,
    ShipmentRequest,
    TransientError,
)
from shipsync.partners.sendcloud import shipments_v3 as v3
from shipsync.partners.sendcloud.sandbox_v3 import SendcloudV3Sandbox
from shipsync.transport import HttpResult, new_session, send

from .openapi import load_spec, validate_request, validate_response

SHIPMENTS = "sendcloud-shipments-openapi.yml"
TRACKING = "sendcloud-v3-parcel-tracking-openapi.yml"

PUBLIC, SECRET = "pub-key-v3", "sec-key-v3"


@pytest.fixture(scope="module")
def specs(contracts_dir):
    return {name: load_spec(contracts_dir, name) for name in (SHIPMENTS, TRACKING)}


def validate_answer(spec, method, path, status, body):
    """``validate_response``, reading Sendcloud's error bodies as its examples write them.

    The Shipments document is inconsistent about errors: its schema ``errors`` is a bare
    array while every example of it wraps that array as ``{"errors": [...]}``. Sendcloud
    answers as the examples do, so such a body has its ``errors`` array validated. No
    operation lists a 401 although ``ErrorObject.code`` has ``authentication_failed``:
    a 401 body is validated against the ``errors`` schema itself."""
    if status >= 400 and isinstance(body, dict) and list(body) == ["errors"]:
        body = body["errors"]
    if status == 401:
        validate_schema(body, {**spec.raw, "$ref": "#/components/schemas/errors"},
                        cls=OAS31Validator)
        return
    validate_response(spec, method, path, status, body)


@pytest.fixture(scope="module")
def _server():
    server = SendcloudV3Sandbox(PUBLIC, SECRET).start()
    yield server
    server.stop()


@pytest.fixture
def server(_server, specs):
    _server.reset()
    yield _server
    # every exchange of the test, whatever it asserted, matches Sendcloud's documents
    for exchange in _server.exchanges:
        validate_exchange(specs, *exchange)


def validate_exchange(specs, method, path, data, headers, status, body):
    """One v3 request and its answer against the Shipments / Parcel Tracking document
    of its path (``specs``: document name -> spec)."""
    if "/documents/" in path:
        return  # the label link of the answer: not a documented operation
    spec = specs[TRACKING if path.startswith("/api/v3/parcels/tracking") else SHIPMENTS]
    validate_request(spec, method, path, data, headers=headers)
    if status == 409 and path.endswith("/announce"):
        return  # documented by external_reference_id, not in the operation's responses
    validate_answer(spec, method, path, status, body)


def adapter(server, key=f"{PUBLIC}:{SECRET}", http=None, **options):
    session = new_session()
    return v3.SendcloudV3Adapter(
        server.url, key, http=http or (lambda req: send(session, req)), **options)


WAREHOUSE = Address(name="Shipsync Warehouse", company="Shipsync BV", street="Stadhuisplein 10",
                    city="Eindhoven", zip="5611 EM", country_code="NL", email="wh@example.com")
CUSTOMER = Address(name="John Doe", street="Insulindelaan 115", city="Eindhoven",
                   zip="5642CV", country_code="NL", email="john@example.com", phone="+3161234")
SHIRT = ParcelItem("T-Shirt XL", 2, Decimal("0.3"), Decimal("12.65"), "EUR", "620520", "NL",
                   "TS1234")


def request(**kw) -> ShipmentRequest:
    values = dict(reference="WH/OUT/00042", correlation_id="corr-1", ship_from=WAREHOUSE,
                  ship_to=CUSTOMER, service="postnl:standard",
                  parcels=(Parcel(Decimal("1.32"), Decimal("5"), Decimal("15"), Decimal("20"),
                                  reference="PACK0001", items=(SHIRT,)),))
    values.update(kw)
    return ShipmentRequest(**values)


def announces(server):
    return [e for e in server.exchanges if e[1].endswith("/shipments/announce")]


# --------------------------------------------------------------------------- booking
def test_booking_goes_through_v3_announce_with_items(server):
    result = adapter(server).create_shipment(request(), "corr-1:7:ship:0")
    (post,) = announces(server)
    assert post[0] == "POST" and post[1] == "/api/v3/shipments/announce"
    body = post[2]
    assert body["ship_with"] == {"type": "shipping_option_code",
                                 "properties": {"shipping_option_code": "postnl:standard"}}
    assert body["from_address"]["address_line_1"] == "Stadhuisplein 10"
    assert body["to_address"]["name"] == "John Doe"
    parcel = body["parcels"][0]
    assert parcel["weight"] == {"value": "1.320", "unit": "kg"}
    assert parcel["dimensions"] == {"length": "5.00", "width": "15.00", "height": "20.00",
                                    "unit": "cm"}
    assert parcel["parcel_items"] == [{
        "description": "T-Shirt XL", "quantity": 2, "weight": {"value": 0.3, "unit": "kg"},
        "price": {"value": "12.65", "currency": "EUR"}, "hs_code": "620520",
        "origin_country": "NL", "sku": "TS1234"}]
    assert post[3]["Authorization"].startswith("Basic ")
    assert result.shipment_id.startswith("sandbox-shipment-")
    assert result.tracking_numbers and result.raw_status == "READY_TO_SEND"
    assert len(result.labels) == 1 and result.labels[0].content.startswith(b"%PDF")
    assert result.labels[0].package_reference == "PACK0001"


def test_v3_refuses_a_v2_method_id_before_any_call(server):
    with pytest.raises(InvalidInput) as err:
        adapter(server).create_shipment(request(service="8"), "k:1:ship:0")
    assert err.value.code == "missing_service"
    assert server.exchanges == []


def test_international_items_need_hs_code_and_origin(server):
    abroad = Address(name="Jane", street="1 Main St", city="Boston", zip="02110",
                     country_code="US")
    item = ParcelItem("Mug", 1, Decimal("0.4"), Decimal("9"), "EUR", "", "", "MUG1")
    req = request(ship_to=abroad, parcels=(Parcel(Decimal("1"), items=(item,)),))
    with pytest.raises(InvalidInput) as err:
        adapter(server).create_shipment(req, "k:1:ship:0")
    assert err.value.code == "missing_customs_data"
    assert server.exchanges == []


# --------------------------------------------------------------------------- idempotence
def test_external_reference_is_per_booking_not_per_package_name():
    one = v3.build_shipment(request(), "corr-1:7:ship:0", "postnl:standard")
    again = v3.build_shipment(request(), "corr-1:7:ship:0", "postnl:standard")
    other_picking = v3.build_shipment(request(), "corr-2:8:ship:0", "postnl:standard")
    rebooked = v3.build_shipment(request(), "corr-1:7:ship:1", "postnl:standard")
    refs = [b["external_reference_id"] for b in (one, again, other_picking, rebooked)]
    assert refs[0] == refs[1]  # stable across retries
    assert len(set(refs[1:])) == 3  # another picking / a re-booking: another reference
    assert all("PACK0001" not in r and r != "1" for r in refs)
    per_parcel = {v3.parcel_reference("corr-1:7:ship:0", i) for i in range(3)}
    assert len(per_parcel) == 3
    with pytest.raises(InvalidInput):
        v3.booking_reference("")


def test_retry_after_a_lost_answer_reuses_the_shipment(server):
    session = new_session()
    lost = []

    def lose_first_announce(req):
        result = send(session, req)
        if req.url.endswith("/shipments/announce") and not lost:
            lost.append(result)  # Sendcloud booked it; the answer never arrives
            return HttpResult(None, {}, b"", 30000, "timeout", "ReadTimeout", None)
        return result

    with pytest.raises(TransientError):
        adapter(server, http=lose_first_announce).create_shipment(request(), "corr-1:7:ship:0")
    assert lost and lost[0].status == 201
    # the outbox retries in a fresh process: a new adapter, the same booking key
    result = adapter(server).create_shipment(request(), "corr-1:7:ship:0")
    assert server.state.announce_calls == 1
    assert len(server.state.shipments) == 1
    assert result.shipment_id == json.loads(lost[0].body)["data"]["id"]
    assert result.labels and result.labels[0].content.startswith(b"%PDF")
    lookups = [e for e in server.exchanges if e[0] == "GET" and "external_reference_id=" in e[1]]
    assert len(lookups) == 2 and lookups[-1][4] == 200


def test_a_racing_duplicate_gets_the_existing_shipment_from_the_409(server):
    session = new_session()

    def race(req):
        if req.url.endswith("/shipments/announce"):  # another worker booked meanwhile
            server.state.announce(req.json)
        return send(session, req)

    result = adapter(server, http=race).create_shipment(request(), "corr-1:7:ship:0")
    assert len(server.state.shipments) == 1
    assert result.shipment_id == next(iter(server.state.shipments))
    assert [e[4] for e in announces(server)] == [409]


# --------------------------------------------------------------------------- returns
def test_return_label_ships_customer_to_warehouse(server):
    result = adapter(server).return_label(request(is_return=True), "corr-1:7:return:0")
    (post,) = announces(server)
    assert post[2]["from_address"]["name"] == "John Doe"
    assert post[2]["from_address"]["address_line_1"] == "Insulindelaan 115"
    assert post[2]["to_address"]["name"] == "Shipsync Warehouse"
    assert post[2]["to_address"]["postal_code"] == "5611 EM"
    assert result.labels
    outbound = v3.build_shipment(request(), "corr-1:7:return:0", "postnl:standard")
    assert outbound["from_address"]["name"] == "Shipsync Warehouse"


# --------------------------------------------------------------------------- errors
def test_sendcloud_errors_are_precise(server):
    with pytest.raises(CarrierError) as err:
        adapter(server, key="pub-key-v3:wrong").create_shipment(request(), "k:1:ship:0")
    assert err.value.http_status == 401 and err.value.partner_code == "authentication_failed"
    with pytest.raises(CarrierError) as err:
        adapter(server).create_shipment(request(service="nosuch:carrier"), "k:2:ship:0")
    assert err.value.http_status == 400 and err.value.partner_code == "invalid"
    assert "/data/ship_with/properties/shipping_option_code" in err.value.message
    assert server.state.shipments == {}


def test_incomplete_address_is_refused_before_any_call(server):
    nowhere = Address(name="X", street="", city="Eindhoven", zip="5611", country_code="NL")
    with pytest.raises(InvalidInput) as err:
        adapter(server).create_shipment(request(ship_to=nowhere), "k:2:ship:0")
    assert err.value.code == "missing_address" and "address_line_1" in err.value.message
    assert server.exchanges == []


def test_parse_error_reads_the_documented_examples(specs):
    answers = specs[SHIPMENTS].raw["paths"]["/shipments/announce"]["post"]["responses"]
    example = answers["400"]["content"]["application/json"]["examples"]["Failed"]["value"]
    code, message = v3.parse_error(example)
    first = example["errors"][0]
    assert code == first["code"] and first["detail"] in message
    assert v3.parse_error(example["errors"])[0] == code  # the bare array of the schema


# --------------------------------------------------------------------------- cancel
def test_cancel_then_cancel_again(server):
    booked = adapter(server).create_shipment(request(), "k:1:ship:0")
    first = adapter(server).cancel(booked.shipment_id)
    assert first.accepted and first.raw_status == "cancelled"
    second = adapter(server).cancel(booked.shipment_id)
    assert not second.accepted and second.raw_status == "invalid"
    unknown = adapter(server).cancel("no-such-shipment")
    assert not unknown.accepted and unknown.raw_status == "not_found"


# --------------------------------------------------------------------------- tracking
def test_v3_tracking_events(server):
    booked = adapter(server).create_shipment(request(), "k:1:ship:0")
    number = booked.tracking_numbers[0]
    server.state.add_event(number, "accepted", "Parcel has been accepted by the carrier.",
                           event_at="2026-01-02T00:00:00Z")
    events = adapter(server).track([number, "UNKNOWN123"])
    assert [(e.code, e.subcode, e.tracking_number) for e in events] == [
        ("accepted", None, number)]
    assert events[0].occurred_at.isoformat() == "2026-01-02T00:00:00+00:00"
    # polled twice, the same event keeps its external id (the ledger deduplicates)
    assert adapter(server).track([number])[0].external_id == events[0].external_id


def test_tracking_parser_reads_the_documented_example(specs):
    example = specs[TRACKING].raw["components"]["schemas"]["parcel-event-response"]["example"]
    events = v3.tracking_events({"source_id": "1", "events": [example],
                                 "tracking_numbers": [{"carrier_code": "postnl",
                                                       "tracking_number": "3S1"}]})
    assert events[0].code == example["status_code"]
    assert events[0].subcode is None  # "none" is Sendcloud's "no sub status"
    assert events[0].message == example["status_description"]
