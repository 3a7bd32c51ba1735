"""Generic SOAP carrier (zeep) against the WSDL and service the sandbox serves."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shipsync.adapters import (
    Address,
    CarrierError,
    InvalidInput,
    Parcel,
    ShipmentRequest,
    TransientError,
    get_adapter,
)
from shipsync.partners.generic_soap.outbound import (
    DEFAULT_STATUS_MAP,
    GenericSoapAdapter,
    build_create_params,
    parse_track,
)
from shipsync.sandbox.carrier import CarrierSandbox

KEY = "soap-secret-key-123"


@pytest.fixture(scope="module")
def sandbox():
    server = CarrierSandbox().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _reset(sandbox):
    sandbox.reset()


def request(zip_code="75001", parcels=1, label_format="PDF"):
    return ShipmentRequest(
        reference="WH/OUT/7", correlation_id="c-7",
        ship_from=Address(name="Warehouse", zip="1000", city="Brussels", country_code="BE"),
        ship_to=Address(name="Ada", street="1 rue", zip=zip_code, city="Paris",
                        country_code="FR"),
        parcels=tuple(Parcel(weight_kg=Decimal("1.25"), reference=f"P{i}")
                      for i in range(parcels)),
        label_format=label_format)


def adapter(sandbox, **kw):
    return GenericSoapAdapter(sandbox.url, KEY, timeout=(2, 3), **kw)


def test_create_params_follow_the_wsdl_shape():
    params = build_create_params(request(parcels=2), "key-1")
    assert params["reference"] == "WH/OUT/7" and params["idempotencyKey"] == "key-1"
    assert params["receiver"] == {"name": "Ada", "street": "1 rue", "city": "Paris",
                                  "zip": "75001", "country": "FR"}
    assert [p["weightKg"] for p in params["parcel"]] == [Decimal("1.25")] * 2
    assert params["isReturn"] is False
    assert build_create_params(request(), is_return=True)["isReturn"] is True


def test_track_reply_maps_codes_and_keeps_them():
    reply = {"trackingNumber": "SP1", "event": [
        {"code": "ACCEPTED", "time": "2026-11-02T09:30:00Z", "message": "accepted"},
        {"code": "DELAYED", "time": "2026-11-02T12:00:00Z"},
        {"code": "WEIRD", "time": "2026-11-02T13:00:00Z"},
        {"code": "", "time": "2026-11-02T13:00:00Z"}]}
    events = parse_track(reply, DEFAULT_STATUS_MAP)
    assert [(e.code, e.milestone, e.exception_reason) for e in events] == [
        ("ACCEPTED", "picked_up", None), ("DELAYED", "in_transit", "delay_carrier"),
        ("WEIRD", None, None)]
    assert events[0].external_id == parse_track(reply, {})[0].external_id


def test_registered_as_generic_soap():
    assert get_adapter("generic_soap") is GenericSoapAdapter
    with pytest.raises(InvalidInput):
        GenericSoapAdapter("", KEY)


def test_create_shipment_gets_tracking_numbers_and_pdf_labels(sandbox):
    result = adapter(sandbox).create_shipment(request(parcels=2), "k-1")
    assert len(result.tracking_numbers) == 2 and result.shipment_id.startswith("SOAP-")
    assert all(label.content.startswith(b"%PDF-") for label in result.labels)
    assert result.price == Decimal("4.50") * 2 + Decimal("0.8") * Decimal("2.5")
    assert result.currency == "EUR"


def test_zpl_labels(sandbox):
    result = adapter(sandbox).create_shipment(request(label_format="ZPL"), "k-z")
    assert result.labels[0].content.startswith(b"^XA") and result.labels[0].label_format == "ZPL"


def test_the_idempotency_key_replays_the_booking(sandbox):
    first = adapter(sandbox).create_shipment(request(), "same")
    assert adapter(sandbox).create_shipment(request(), "same").tracking_numbers == \
        first.tracking_numbers


def test_client_fault_is_a_carrier_error_with_the_partner_code(sandbox):
    with pytest.raises(CarrierError) as err:
        adapter(sandbox).create_shipment(request(zip_code="00000"), "k-bad")
    assert err.value.partner_code == "ADDRESS.INVALID"
    assert KEY not in str(err.value)


def test_http_503_and_non_soap_reply_are_transient(sandbox):
    sandbox.configure(fail_next=1, fail_status=503)
    with pytest.raises(TransientError) as err:
        adapter(sandbox).track(["SP1"])
    assert err.value.http_status == 503
    code = adapter(sandbox).create_shipment(request(), "k-mal").tracking_numbers[0]
    sandbox.configure(malformed=True)
    with pytest.raises(TransientError) as err:
        adapter(sandbox).track([code])
    assert err.value.code == "bad_response"


def test_timeout_is_transient(sandbox):
    sandbox.configure(latency_ms=1500)
    slow = GenericSoapAdapter(sandbox.url, KEY, timeout=(1, 0.3))
    with pytest.raises(TransientError) as err:
        slow.track(["SP1"])
    assert err.value.code == "timeout"


def test_track_follows_the_sandbox_history_and_cancel_is_refused_once_moving(sandbox):
    soap = adapter(sandbox)
    first = soap.create_shipment(request(), "k-a")
    assert soap.cancel(first.shipment_id).accepted
    second = soap.create_shipment(request(), "k-b")
    code = second.tracking_numbers[0]
    sandbox.advance(code, steps=2)
    events = soap.track([code])
    assert [e.milestone for e in events] == ["label_created", "picked_up", "in_transit"]
    refused = soap.cancel(second.shipment_id)
    assert not refused.accepted and refused.raw_status == "REFUSED"


def test_a_custom_status_map_overrides_the_defaults(sandbox):
    soap = adapter(sandbox, status_map={"ACCEPTED": ("in_transit", None)})
    code = soap.create_shipment(request(), "k-m").tracking_numbers[0]
    sandbox.advance(code, steps=1)
    assert [e.milestone for e in soap.track([code])][-1] == "in_transit"


def test_bad_wsdl_is_invalid_input(sandbox):
    broken = GenericSoapAdapter(sandbox.url, KEY, wsdl=f"{sandbox.url}/v2/nothing")
    with pytest.raises((InvalidInput, TransientError, CarrierError)):
        broken.track(["X"])
