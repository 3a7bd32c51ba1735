"""Amazon Orders API ``confirmShipment``: our request builder and the loopback sandbox
(pure; the same checks against Amazon's published model are in
``tests/contracts/test_amazon_orders_contract.py``)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
import requests

from shipsync import outbox
from shipsync.adapters.base import InvalidInput
from shipsync.partners.amazon import model
from shipsync.partners.amazon import outbound as amazon
from shipsync.partners.amazon.sandbox import AmazonOrdersSandbox
from shipsync.retry import classify
from shipsync.transport import new_session
from shipsync.transport import send as _send

#: Facts of the model's own sandbox example (order 902-1106328-1059050, item 79039765272157).
ORDER = "902-1106328-1059050"
ITEM = "79039765272157"
MARKETPLACE = "ATVPDKIKX0DER"


def send(req):
    with new_session() as session:
        return _send(session, req)


def conf(**kw) -> amazon.ShipmentConfirmation:
    values = dict(order_id=ORDER, marketplace_id=MARKETPLACE, package_reference_id="1",
                  tracking_number="112345678", ship_date="2022-02-11T01:00:00Z",
                  items=(amazon.ShippedItem(ITEM, 1),), carrier_code="FedEx",
                  carrier_name="FedEx", shipping_method="FedEx Ground")
    values.update(kw)
    return amazon.ShipmentConfirmation(**values)


@pytest.fixture
def sandbox():
    # The transcription only: the published model's checks are in the contract tests.
    server = AmazonOrdersSandbox(model_file="").start()
    server.model_file = None
    yield server
    server.stop()


def test_body_carries_the_package_and_the_lines_shipped():
    body = amazon.build_body(conf())
    assert body == {
        "marketplaceId": MARKETPLACE,
        "packageDetail": {"packageReferenceId": "1", "carrierCode": "FedEx",
                          "carrierName": "FedEx", "shippingMethod": "FedEx Ground",
                          "trackingNumber": "112345678", "shipDate": "2022-02-11T01:00:00Z",
                          "orderItems": [{"orderItemId": ITEM, "quantity": 1}]}}


@pytest.mark.parametrize("change, words", [
    ({"order_id": "S00042"}, "3-7-7"),
    ({"package_reference_id": "WH/OUT/1"}, "positive number"),
    ({"package_reference_id": "0"}, "positive number"),
    ({"tracking_number": ""}, "tracking number"),
    ({"carrier_code": "Other", "carrier_name": ""}, "carrier name"),
    ({"items": ()}, "no order item"),
    ({"items": (amazon.ShippedItem("", 1),)}, "channel order item id"),
    ({"items": (amazon.ShippedItem(ITEM, 0),)}, "positive integer"),
    ({"ship_date": "02/21/2022"}, "date-time"),
    ({"marketplace_id": ""}, "marketplace"),
])
def test_a_confirmation_the_model_would_refuse_is_refused_before_any_call(change, words):
    with pytest.raises(InvalidInput) as caught:
        amazon.build_body(conf(**change))
    assert caught.value.code == "invalid_confirmation"
    assert words in str(caught.value)


def test_unknown_carrier_goes_as_other_with_its_name():
    body = amazon.build_body(conf(carrier_code="Other", carrier_name="Colis Privé"))
    assert body["packageDetail"]["carrierCode"] == "Other"
    assert body["packageDetail"]["carrierName"] == "Colis Privé"


def test_quantities_and_dates_from_odoo_values():
    assert amazon.quantity(2.0) == 2
    with pytest.raises(InvalidInput):
        amazon.quantity(1.5, "a desk")
    with pytest.raises(InvalidInput):
        amazon.quantity(0)
    naive = datetime(2026, 12, 3, 4, 5, 6)
    assert amazon.ship_date(naive) == "2026-12-03T04:05:06Z"
    aware = datetime(2026, 12, 3, 5, 5, 6, tzinfo=timezone.utc)
    assert amazon.ship_date(aware) == "2026-12-03T05:05:06Z"


def test_payload_round_trip_and_bad_payloads():
    original = conf()
    assert amazon.ShipmentConfirmation.from_payload(original.to_payload()) == original
    with pytest.raises(InvalidInput):
        amazon.ShipmentConfirmation.from_payload([])
    with pytest.raises(InvalidInput):
        amazon.ShipmentConfirmation.from_payload({"order_id": ORDER})


def test_request_path_and_headers():
    req = amazon.build_confirm_request(conf(), base_url="http://127.0.0.1:1/",
                                       headers={"x-amz-access-token": "Atza|t"})
    assert req.method == "POST"
    assert req.url == f"http://127.0.0.1:1/orders/v0/orders/{ORDER}/shipmentConfirmation"
    assert req.headers["x-amz-access-token"] == "Atza|t"
    assert amazon.build_confirm_request(conf()).url.startswith(amazon.DEFAULT_BASE_URL)


def test_errors_are_read_from_the_error_list():
    body = json.dumps({"errors": [{"code": "Invalid Input", "message": "Invalid Input",
                                   "details": "shipDate"}]}).encode()
    assert amazon.describe_errors(body) == "Invalid Input: Invalid Input (shipDate)"
    assert amazon.parse_errors(b"not json") == []
    assert amazon.parse_errors(b'{"errors": "x"}') == []


def test_sandbox_accepts_a_valid_confirmation_with_204_and_records_it(sandbox):
    result = send(amazon.build_confirm_request(conf(), base_url=sandbox.url))
    assert result.status == 204 and result.body == b""
    assert result.headers.get("x-amzn-RequestId")
    assert sandbox.confirmations(ORDER) == [amazon.build_body(conf())]
    assert sandbox.shipped(ORDER) == {ITEM: 1}
    assert sandbox.validated_by == "transcription"


def test_sandbox_refuses_a_nonconforming_body_with_the_error_list(sandbox):
    bad = {"marketplaceId": MARKETPLACE, "packageDetail": {"shipDate": "02/21/2022"}}
    answer = requests.post(f"{sandbox.url}/orders/v0/orders/{ORDER}/shipmentConfirmation",
                           json=bad, timeout=5)
    assert answer.status_code == 400
    [error] = answer.json()["errors"]
    assert error["code"] == "Invalid Input"
    assert "trackingNumber" in error["details"] and "date-time" in error["details"]
    assert sandbox.confirmations() == []
    # The outbox reads a 400 as final.
    assert classify(400, None) == ("http_4xx", False)


def test_sandbox_knows_its_orders_and_refuses_overshipping(sandbox):
    sandbox.orders = {ORDER: {ITEM: 2}}
    first = send(amazon.build_confirm_request(
        conf(items=(amazon.ShippedItem(ITEM, 1),)), base_url=sandbox.url))
    second = send(amazon.build_confirm_request(
        conf(package_reference_id="2", items=(amazon.ShippedItem(ITEM, 1),)),
        base_url=sandbox.url))
    third = send(amazon.build_confirm_request(
        conf(package_reference_id="3", items=(amazon.ShippedItem(ITEM, 1),)),
        base_url=sandbox.url))
    assert (first.status, second.status, third.status) == (204, 204, 400)
    assert sandbox.shipped(ORDER) == {ITEM: 2}
    unknown = send(amazon.build_confirm_request(conf(order_id="111-2222222-3333333"),
                                                base_url=sandbox.url))
    assert unknown.status == 404
    assert json.loads(unknown.body)["errors"][0]["code"] == "NotFound"


def test_sandbox_failure_knobs(sandbox):
    sandbox.fail_next(429)
    sandbox.fail_next(503)
    req = amazon.build_confirm_request(conf(), base_url=sandbox.url)
    assert send(req).status == 429
    assert send(req).status == 503
    assert classify(429, None)[1] and classify(503, None)[1]  # both retried
    sandbox.drop_next()
    lost = send(req)
    assert lost.status is None and lost.error_class in ("network", "invalid_response")
    # The lost answer was applied: Amazon knows the package although we got no answer.
    assert len(sandbox.confirmations(ORDER)) == 1
    assert send(req).status == 204


def test_sandbox_token(sandbox):
    sandbox.token = "Atza|secret"
    req = amazon.build_confirm_request(conf(), base_url=sandbox.url)
    assert send(req).status == 403
    ok = amazon.build_confirm_request(conf(), base_url=sandbox.url,
                                      headers={"x-amz-access-token": "Atza|secret"})
    assert send(ok).status == 204


def test_outbox_reads_the_answers():
    assert outbox.as_outcome(outbox.Outcome(status=204)).ok


def test_transcription_names_the_model_fields():
    detail = model.CONFIRM_SHIPMENT_REQUEST["properties"]["packageDetail"]
    assert set(detail["required"]) == {"packageReferenceId", "carrierCode", "trackingNumber",
                                       "shipDate", "orderItems"}
