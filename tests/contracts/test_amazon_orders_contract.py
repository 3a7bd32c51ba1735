"""Our ``confirmShipment`` requests and the Amazon sandbox against Amazon's published
Orders API v0 model (``$CONTRACTS_DIR/amazon/ordersV0.json``), validated by openapi-core
through the in-memory OpenAPI 3.0 restatement of ``shipsync.partners.amazon.model``."""

from __future__ import annotations

import copy
import json
from datetime import datetime

import pytest
from openapi_core.testing import MockRequest, MockResponse

from shipsync.partners.amazon import model
from shipsync.partners.amazon import outbound as amazon
from shipsync.partners.amazon.sandbox import HOST, AmazonOrdersSandbox
from shipsync.transport import new_session, send

PATH = "/orders/v0/orders/{}/shipmentConfirmation"


@pytest.fixture(scope="module")
def model_file(contracts_dir):
    path = model.model_path(contracts_dir)
    assert path is not None, "amazon/ordersV0.json missing"
    return path


@pytest.fixture(scope="module")
def swagger(model_file):
    return model.load_model(model_file)


@pytest.fixture(scope="module")
def api(model_file):
    return model.openapi(model_file)


@pytest.fixture
def sandbox(model_file):
    server = AmazonOrdersSandbox(model_file=model_file).start()
    yield server
    server.stop()


def _validate(api, order_id, body):
    api.validate_request(MockRequest(HOST, "post", PATH.format(order_id),
                                     data=json.dumps(body).encode(),
                                     content_type="application/json"))


def _examples(swagger):
    return list(model.sandbox_examples(swagger))


def test_the_model_is_the_operation_we_implement(swagger):
    op = swagger["paths"][model.CONFIRM_PATH]["post"]
    assert op["operationId"] == model.OPERATION_ID
    assert set(op["responses"]) == {"204", "400", "401", "403", "404", "429", "500", "503"}
    assert f"https://{swagger['host']}" == amazon.DEFAULT_BASE_URL


def test_the_reading_aid_keeps_the_models_own_verdicts(swagger, api):
    examples = _examples(swagger)
    assert {status for status, *_ in examples} == {204, 400}
    for status, order_id, body, _response in examples:
        if status == 204:
            _validate(api, order_id, body)
        else:  # the model's 400 example (a US-style shipDate) must be refused
            with pytest.raises(Exception, match="date-time|shipDate|not valid"):
                _validate(api, order_id, body)


def _resolve(swagger, node):
    while "$ref" in node:
        node = swagger["definitions"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _same_shape(swagger, published, ours, where="body"):
    published = _resolve(swagger, published)
    assert published.get("type", "object") == ours["type"], where
    assert sorted(published.get("required", [])) == sorted(ours.get("required", [])), where
    if ours["type"] == "object":
        assert set(published["properties"]) == set(ours["properties"]), where
        for name, sub in ours["properties"].items():
            _same_shape(swagger, published["properties"][name], sub, f"{where}.{name}")
    elif ours["type"] == "array":
        _same_shape(swagger, published["items"], ours["items"], f"{where}[]")
    else:
        assert published.get("format") == ours.get("format"), where
        assert published.get("enum") == ours.get("enum"), where


def test_our_transcription_is_the_models_schema(swagger):
    _same_shape(swagger, {"$ref": "#/definitions/ConfirmShipmentRequest"},
                model.CONFIRM_SHIPMENT_REQUEST)


def test_our_requests_conform_to_the_model(swagger, api):
    [(_s, order_id, example, _r)] = [e for e in _examples(swagger) if e[0] == 204]
    detail = example["packageDetail"]
    ours = amazon.ShipmentConfirmation(
        order_id=order_id, marketplace_id=example["marketplaceId"],
        package_reference_id=detail["packageReferenceId"],
        tracking_number=detail["trackingNumber"],
        ship_date=amazon.ship_date(datetime(2022, 2, 11, 1, 0, 0)),
        carrier_code=detail["carrierCode"], carrier_name=detail["carrierName"],
        shipping_method=detail["shippingMethod"],
        items=tuple(amazon.ShippedItem(i["orderItemId"], i["quantity"])
                    for i in detail["orderItems"]))
    body = amazon.build_body(ours)
    _validate(api, order_id, body)
    # Same facts as the model's example, minus what we do not send.
    expected = copy.deepcopy(example)
    expected["packageDetail"].pop("shipFromSupplySourceId")
    for item in expected["packageDetail"]["orderItems"]:
        item.pop("transparencyCodes")
    expected["packageDetail"]["shipDate"] = "2022-02-11T01:00:00Z"
    assert body == expected
    req = amazon.build_confirm_request(ours)
    assert req.url == amazon.DEFAULT_BASE_URL + PATH.format(order_id)
    # "Other" with a carrier name conforms too.
    _validate(api, order_id, amazon.build_body(
        amazon.ShipmentConfirmation(**{**ours.__dict__, "carrier_code": "Other",
                                       "carrier_name": "Colis Privé"})))


def test_sandbox_validates_with_the_published_model(sandbox, swagger, api):
    assert sandbox.validated_by == "published model"
    for status, order_id, body, _response in _examples(swagger):
        with new_session() as session:
            result = send(session, amazon.HttpRequest(
                "POST", sandbox.url + PATH.format(order_id), json=body))
        assert result.status == status
        answer = MockResponse(result.body, status_code=result.status,
                              headers=dict(result.headers),
                              content_type="application/json" if result.body else None)
        api.validate_response(MockRequest(HOST, "post", PATH.format(order_id)), answer)
        if status == 400:
            [error] = json.loads(result.body)["errors"]
            assert error["code"] == "Invalid Input" and "date-time" in error["details"]
    assert len(sandbox.confirmations()) == 1


def test_sandbox_error_answers_conform_to_the_error_list(sandbox, api):
    for status in (403, 429, 500, 503):
        sandbox.fail_next(status)
        with new_session() as session:
            result = send(session, amazon.HttpRequest(
                "POST", sandbox.url + PATH.format("902-1106328-1059050"), json={}))
        assert result.status == status
        api.validate_response(
            MockRequest(HOST, "post", PATH.format("902-1106328-1059050")),
            MockResponse(result.body, status_code=status, content_type="application/json"))
