"""Generic REST carrier: config validation, field mapping, response mapping, end to end."""

import base64
import copy
import json
from decimal import Decimal

import pytest
from adapter_fakes import FIXTURES, FakeHttp, result

from shipsync.adapters import (
    Address,
    CarrierError,
    InvalidInput,
    Parcel,
    ShipmentRequest,
    TransientError,
)
from shipsync.partners.generic_rest import outbound as gr
from shipsync.partners.generic_rest.outbound import GenericRestAdapter

API_KEY = "gr-key-0123456789abcdef"
CONFIG = json.loads((FIXTURES / "generic_rest_config.json").read_text())




def make_request():
    return ShipmentRequest(
        reference="WH/OUT/00042",
        correlation_id="corr-42",
        ship_from=Address(city="Lyon", zip="69001", country_code="FR"),
        ship_to=Address(name="Jeanne", city="Paris", zip="75001", country_code="FR"),
        parcels=(Parcel(Decimal("1.25"), reference="PK1"),),
    )


def adapter(http, config=CONFIG):
    return GenericRestAdapter("https://carrier.test/api", API_KEY, config=config, http=http)


def test_paths_get_and_set():
    body = {}
    gr.set_path(body, "a.b[1].c", 3)
    assert body == {"a": {"b": [None, {"c": 3}]}}
    assert gr.get_path(body, "a.b[1].c") == 3
    assert gr.get_path(body, "a.b[5].c", "x") == "x"
    assert gr.get_path({"a": 1}, "a.b") is None


def test_build_body_applies_mapping():
    body = gr.build_body(CONFIG, make_request(), "idem-1")
    assert body == {
        "reference": "WH/OUT/00042",
        "receiver": {"name": "Jeanne", "postcode": "75001", "country": "FR"},
        "packages": [{"weight": 1.25, "ref": "PK1"}],
        "product": "EXPRESS",
        "client_request_id": "idem-1",
    }


@pytest.mark.parametrize(
    "mutate,where",
    [
        (lambda c: c.pop("create_url"), "(root)"),
        (lambda c: c.update(create_method="FETCH"), "create_method"),
        (lambda c: c.update(auth={"type": "header"}), "auth"),
        (lambda c: c["auth"].update(type="oauth"), "auth/type"),
        (lambda c: c["request"].update({"bad path!": "reference"}), "request"),
        (lambda c: c["request"].update({"x": "ship_to..zip"}), "request/x"),
        (lambda c: c["request"].update({"x": "warehouse.zip"}), "request/x"),
        (lambda c: c["response"].update(label_encoding="hex"), "response/label_encoding"),
        (lambda c: c["response"].pop("tracking_number"), "response"),
        (lambda c: c.update(unknown=1), "(root)"),
    ],
)
def test_bad_config_raises_invalid_input_with_path(mutate, where):
    config = copy.deepcopy(CONFIG)
    mutate(config)
    with pytest.raises(InvalidInput) as info:
        gr.validate_config(config)
    assert info.value.partner_code == where
    assert where in str(info.value)


@pytest.mark.parametrize(
    "auth,header,value",
    [
        ({"type": "bearer"}, "Authorization", f"Bearer {API_KEY}"),
        ({"type": "header", "header": "X-Api-Key"}, "X-Api-Key", API_KEY),
        (
            {"type": "basic", "username": "acme"},
            "Authorization",
            "Basic " + base64.b64encode(f"acme:{API_KEY}".encode()).decode(),
        ),
    ],
)
def test_auth_modes(auth, header, value):
    config = dict(CONFIG, auth=auth)
    assert adapter(print, config).auth_headers() == {header: value}
    assert adapter(print, dict(CONFIG, auth={"type": "none"})).auth_headers() == {}


def test_create_shipment_end_to_end_with_base64_label():
    answer = {
        "data": {
            "id": "S-1",
            "barcode": "GR123",
            "label": base64.b64encode(b"%PDF").decode(),
            "price": {"amount": "7.40", "currency": "EUR"},
            "state": "CREATED",
            "track_url": "https://carrier.test/t/GR123",
        }
    }
    http = FakeHttp({("POST", "/api/v1/shipments"): result(201, answer)})
    res = adapter(http).create_shipment(make_request(), "idem-2")
    assert res.shipment_id == "S-1" and res.tracking_numbers == ("GR123",)
    assert res.price == Decimal("7.40") and res.currency == "EUR" and res.raw_status == "CREATED"
    assert res.labels[0].content == b"%PDF" and res.labels[0].mime_type == "application/pdf"
    (req,) = http.requests
    assert req.headers["X-Api-Key"] == API_KEY and req.idempotency_key == "idem-2"


def test_label_by_url_is_downloaded():
    config = copy.deepcopy(CONFIG)
    config["response"]["label_encoding"] = "url"
    answer = {"data": {"id": "S-1", "barcode": "GR1", "label": "https://carrier.test/labels/1"}}
    http = FakeHttp(
        {
            ("POST", "/v1/shipments"): result(201, answer),
            ("GET", "/labels/1"): result(200, body=b"%PDF-label"),
        }
    )
    res = adapter(http, config).create_shipment(make_request(), "idem-3")
    assert res.labels[0].content == b"%PDF-label"


def test_cancel_and_track():
    http = FakeHttp(
        {
            ("DELETE", "/v1/shipments/S%2F1"): result(200, {"state": "CANCELLED"}),
            ("GET", "/v1/tracking/GR123"): result(
                200,
                {
                    "events": [
                        {
                            "ts": "2025-05-10T08:00:00Z",
                            "code": "PU",
                            "text": "Picked up",
                            "place": "Lyon",
                        },
                        {
                            "ts": "2025-05-11T09:00:00+02:00",
                            "code": "EX",
                            "reason": "ADDR",
                            "text": "?",
                        },
                        {"code": "NO_TIME"},
                    ]
                },
            ),
        }
    )
    a = adapter(http)
    cancel = a.cancel("S/1", "GR123")
    assert cancel.accepted and cancel.raw_status == "CANCELLED"
    events = a.track(["GR123"])
    assert [(e.code, e.subcode) for e in events] == [("PU", None), ("EX", "ADDR")]
    assert events[0].location == "Lyon" and events[0].tracking_number == "GR123"
    assert events[1].occurred_at.hour == 7


def test_errors_are_mapped_and_masked():
    body = {"error": {"code": "E_ZIP", "message": f"bad zip for {API_KEY}"}}
    http = FakeHttp({("POST", "/v1/shipments"): result(422, body)})
    with pytest.raises(CarrierError) as info:
        adapter(http).create_shipment(make_request(), "idem-4")
    assert info.value.partner_code == "E_ZIP" and API_KEY not in str(info.value)
    http = FakeHttp({("POST", "/v1/shipments"): result(502, body=b"bad gateway")})
    with pytest.raises(TransientError):
        adapter(http).create_shipment(make_request(), "idem-5")


def test_missing_cancel_url_is_invalid_input():
    config = copy.deepcopy(CONFIG)
    config.pop("cancel_url")
    with pytest.raises(InvalidInput):
        adapter(print, config).cancel("S-1")
