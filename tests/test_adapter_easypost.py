"""EasyPost adapter: request building, parsing, errors, and an end-to-end run through an
injected ``http`` callable returning canned results (no network, no patching)."""

import base64
from decimal import Decimal

import pytest
from adapter_fakes import FakeHttp, fixture, result

from shipsync.adapters import (
    Address,
    CarrierError,
    InvalidInput,
    Parcel,
    ShipmentRequest,
    TransientError,
)
from shipsync.partners import PARTNERS, get_adapter
from shipsync.partners.easypost import outbound as ep
from shipsync.partners.easypost.outbound import EasyPostAdapter
from shipsync.transport import HttpResult

API_KEY = "EZTK_secret_0123456789abcdef"





def make_request(**kw):
    base = dict(
        reference="WH/OUT/00042",
        correlation_id="corr-42",
        ship_from=Address(
            name="EasyPost",
            street="388 Townsend St",
            city="San Francisco",
            zip="94107",
            state_code="CA",
            country_code="US",
        ),
        ship_to=Address(
            name="Dr. Steve Brule",
            street="417 Montgomery Street",
            city="San Francisco",
            zip="94104",
            state_code="CA",
            country_code="US",
            email="steve@example.com",
        ),
        parcels=(Parcel(Decimal("0.5"), Decimal("20"), Decimal("15"), Decimal("10"), "PK1"),),
    )
    base.update(kw)
    return ShipmentRequest(**base)


def test_registry_has_all_adapters():
    with_adapter = {code for code, spec in PARTNERS.items() if spec.adapter is not None}
    assert {"easypost", "sendcloud", "aftership", "generic_rest", "generic_soap"} <= with_adapter
    assert get_adapter("easypost") is EasyPostAdapter


@pytest.mark.parametrize(
    "kg,oz",
    [("1", "35.3"), ("0.5", "17.6"), ("0.001", "0.1"), ("0.0001", "0.1"), ("2.268", "80.0")],
)
def test_kg_to_ounces(kg, oz):
    assert ep.kg_to_oz(Decimal(kg)) == Decimal(oz)


@pytest.mark.parametrize("cm,inch", [("2.54", "1.00"), ("20", "7.87"), ("100", "39.37")])
def test_cm_to_inches(cm, inch):
    assert ep.cm_to_in(Decimal(cm)) == Decimal(inch)


def test_shipment_body_uses_easypost_fields_and_units():
    body = ep.build_shipment_body(make_request(carrier_account="ca_usps"))
    shipment = body["shipment"]
    assert shipment["to_address"]["street1"] == "417 Montgomery Street"
    assert shipment["to_address"]["state"] == "CA" and shipment["to_address"]["zip"] == "94104"
    assert shipment["from_address"]["country"] == "US"
    assert shipment["parcel"] == {"weight": 17.6, "length": 7.87, "width": 5.91, "height": 3.94}
    assert shipment["options"]["label_format"] == "PDF"
    assert shipment["is_return"] is False
    assert shipment["carrier_accounts"] == ["ca_usps"]
    assert shipment["reference"] == "WH/OUT/00042"


def test_parcel_without_dimensions_sends_weight_only():
    req = make_request(parcels=(Parcel(Decimal("1")),))
    assert ep.build_shipment_body(req)["shipment"]["parcel"] == {"weight": 35.3}


def test_unsupported_label_format_is_invalid_input():
    with pytest.raises(InvalidInput):
        ep.build_shipment_body(make_request(label_format="GIF"))


def test_parse_rates_and_select_lowest_or_by_service():
    rates = ep.parse_rates(fixture("easypost_shipment_created.json"))
    assert [r.rate_id for r in rates] == ["rate_ground", "rate_priority", "rate_ups_ground"]
    assert rates[0].amount == Decimal("5.93") and rates[0].delivery_days == 3
    assert rates[2].delivery_days is None
    assert ep.select_rate(rates).rate_id == "rate_ground"
    assert ep.select_rate(rates, "Priority").rate_id == "rate_priority"
    assert ep.select_rate(rates, "ups:ground").rate_id == "rate_ups_ground"
    with pytest.raises(CarrierError):
        ep.select_rate(rates, "Express")
    with pytest.raises(CarrierError):
        ep.select_rate([])


def test_parse_bought_shipment():
    res, url = ep.parse_bought_shipment(fixture("easypost_shipment_bought.json"))
    assert res.tracking_numbers == ("9400100105440000000000",)
    assert res.price == Decimal("5.93") and res.currency == "USD"
    assert res.tracking_url.startswith("https://track.easypost.com/")
    assert url.endswith("label.pdf")


def test_parse_tracker_external_ids_are_stable_and_match_webhook():
    tracker = fixture("easypost_tracker.json")
    polled = ep.parse_tracker(tracker)
    pushed = ep.parse_webhook(fixture("easypost_event_tracker_updated.json"))
    assert [e.external_id for e in polled] == [e.external_id for e in pushed]
    assert len({e.external_id for e in polled}) == 2
    assert polled[1].code == "in_transit" and polled[1].subcode == "arrived_at_facility"
    assert polled[1].tracking_number == "9400100105440000000000"
    assert "SAN FRANCISCO" in polled[1].location
    assert polled[1].occurred_at.tzinfo is not None


def test_webhook_other_event_types_give_no_events():
    payload = {"object": "Event", "description": "batch.updated", "result": {}}
    assert ep.parse_webhook(payload) == []


def adapter(http):
    return EasyPostAdapter("https://api.easypost.test", API_KEY, http=http)


def test_create_shipment_end_to_end():
    label_bytes = b"%PDF-1.4 label"
    http = FakeHttp(
        {
            ("POST", "/v2/shipments"): [result(201, fixture("easypost_shipment_created.json"))],
            ("POST", "/buy"): [result(200, fixture("easypost_shipment_bought.json"))],
            ("GET", "label.pdf"): [result(200, body=label_bytes)],
        }
    )
    res = adapter(http).create_shipment(make_request(), "idem-1")
    assert res.shipment_id == "shp_0c4a2f6e0e1d4b4a9d8f7e6c5b4a3921"
    assert res.tracking_numbers == ("9400100105440000000000",)
    assert res.labels[0].content == label_bytes
    assert res.labels[0].mime_type == "application/pdf"
    assert res.labels[0].file_name.startswith("LabelShipping-")
    assert res.labels[0].package_reference == "PK1"
    create, buy, download = http.requests
    token = base64.b64encode(f"{API_KEY}:".encode()).decode()
    assert create.headers["Authorization"] == f"Basic {token}"
    assert buy.json == {"rate": {"id": "rate_ground"}}
    # EasyPost honours no Idempotency-Key: none is sent (retries go through the journal)
    assert create.idempotency_key is None and "Idempotency-Key" not in create.headers
    # the label lives on another host: the API key must not travel there
    assert "Authorization" not in download.headers


def test_multi_parcel_creates_one_shipment_per_parcel():
    http = FakeHttp(
        {
            ("POST", "/v2/shipments"): [result(201, fixture("easypost_shipment_created.json"))],
            ("POST", "/buy"): [result(200, fixture("easypost_shipment_bought.json"))],
            ("GET", "label.pdf"): [result(200, body=b"%PDF")],
        }
    )
    req = make_request(parcels=(Parcel(Decimal("1")), Parcel(Decimal("2"))))
    res = adapter(http).create_shipment(req, "idem-2")
    creates = [r for r in http.requests if r.url.endswith("/v2/shipments")]
    assert [c.json["shipment"]["parcel"]["weight"] for c in creates] == [35.3, 70.5]
    assert [c.idempotency_key for c in creates] == [None, None]
    assert len(res.labels) == 2 and res.price == Decimal("11.86")
    assert res.shipment_id.count(",") == 1


def test_return_label_sets_is_return():
    http = FakeHttp(
        {
            ("POST", "/v2/shipments"): [result(201, fixture("easypost_shipment_created.json"))],
            ("POST", "/buy"): [result(200, fixture("easypost_shipment_bought.json"))],
            ("GET", "label.pdf"): [result(200, body=b"%PDF")],
        }
    )
    adapter(http).return_label(make_request(), "idem-r")
    assert http.requests[0].json["shipment"]["is_return"] is True


def test_cancel_refund_status():
    http = FakeHttp({("POST", "/refund"): [result(200, fixture("easypost_refund_submitted.json"))]})
    res = adapter(http).cancel("shp_0c4a2f6e0e1d4b4a9d8f7e6c5b4a3921", "9400100105440000000000")
    assert res.accepted and res.raw_status == "submitted"
    rejected = dict(fixture("easypost_refund_submitted.json"), refund_status="rejected")
    http = FakeHttp({("POST", "/refund"): [result(200, rejected)]})
    assert not adapter(http).cancel("shp_x").accepted


def test_track_posts_tracker():
    http = FakeHttp({("POST", "/v2/trackers"): [result(200, fixture("easypost_tracker.json"))]})
    events = adapter(http).track(["9400100105440000000000"])
    assert len(events) == 2
    assert http.requests[0].json == {"tracker": {"tracking_code": "9400100105440000000000"}}


def test_422_maps_to_carrier_error_with_partner_code_and_masks_key():
    body = fixture("easypost_error_address.json")
    body["error"]["message"] += f" (key {API_KEY})"
    http = FakeHttp({("POST", "/v2/shipments"): [result(422, body)]})
    with pytest.raises(CarrierError) as info:
        adapter(http).create_shipment(make_request(), "idem-3")
    exc = info.value
    assert exc.partner_code == "ADDRESS.VERIFY.FAILURE"
    assert exc.http_status == 422 and not exc.retryable
    assert "House number is missing" in str(exc)
    assert API_KEY not in str(exc) and API_KEY not in exc.message


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_5xx_and_429_are_transient(status):
    http = FakeHttp({("POST", "/v2/shipments"): [result(status, body=API_KEY.encode())]})
    with pytest.raises(TransientError) as info:
        adapter(http).create_shipment(make_request(), "idem-4")
    assert info.value.retryable and API_KEY not in str(info.value)


def test_network_error_is_transient():
    http = FakeHttp(
        {
            ("POST", "/v2/shipments"): [
                HttpResult(None, {}, b"", 5000, "timeout", "ReadTimeout", None)
            ]
        }
    )
    with pytest.raises(TransientError) as info:
        adapter(http).create_shipment(make_request(), "idem-5")
    assert info.value.code == "timeout"


def test_http_callable_raising_is_transient_and_masked():
    def boom(req):
        raise ConnectionError(f"refused for {req.headers['Authorization']}")

    with pytest.raises(TransientError) as info:
        adapter(boom).create_shipment(make_request(), "idem-6")
    assert API_KEY not in str(info.value)
    token = base64.b64encode(f"{API_KEY}:".encode()).decode()
    assert token not in str(info.value)


@pytest.mark.parametrize(
    "change,code",
    [
        ({"parcels": (Parcel(None),)}, "missing_weight"),
        ({"parcels": (Parcel(Decimal("0")),)}, "missing_weight"),
        ({"parcels": ()}, "missing_parcels"),
        ({"ship_to": Address(zip="1000", country_code="usa")}, "bad_country_code"),
        ({"ship_from": Address(zip="1000", country_code="")}, "bad_country_code"),
    ],
)
def test_invalid_input_before_any_call(change, code):
    http = FakeHttp({})
    with pytest.raises(InvalidInput) as info:
        adapter(http).create_shipment(make_request(**change), "idem-7")
    assert info.value.code == code and http.requests == []


def test_batch_tracking_is_the_recorded_post_trackers_batch():
    request = adapter(FakeHttp({})).build_track_batch(["EZ1000000001", "EZ2"])
    assert request.method == "POST" and request.url.endswith("/v2/trackers/batch")
    assert "?" not in request.url
    assert request.json == {"tracking_codes": ["EZ1000000001", "EZ2"]}


def test_shipment_report_is_read_back_from_v2_reports_id():
    http = FakeHttp({
        ("POST", "/v2/reports/shipment"): [result(201, {
            "id": "shprep_1", "object": "ShipmentReport", "status": "new", "url": None})],
        ("GET", "/v2/reports/shprep_1"): [result(200, {
            "id": "shprep_1", "object": "ShipmentReport", "status": "available",
            "url": "https://files.example.test/r.csv"})],
        ("GET", "r.csv"): [result(200, body=b"id,tracking_code\n")],
    })
    assert adapter(http).shipment_report("2026-11-01", "2026-11-30") == b"id,tracking_code\n"
    create, read, _download = http.requests
    assert create.json == {"start_date": "2026-11-01", "end_date": "2026-11-30"}
    assert read.method == "GET" and read.url.endswith("/v2/reports/shprep_1")
