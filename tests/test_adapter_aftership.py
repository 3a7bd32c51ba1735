"""AfterShip adapter: tracking registration (4003 = success), polling, webhook, errors."""


import pytest
from adapter_fakes import FakeHttp, fixture, result

from shipsync.adapters import CarrierError, InvalidInput, TransientError
from shipsync.partners.aftership import outbound as af
from shipsync.partners.aftership.outbound import AfterShipAdapter

API_KEY = "asat_0123456789abcdef0123456789"





def adapter(http, **kw):
    return AfterShipAdapter("https://api.aftership.test", API_KEY, http=http, **kw)


def test_body_is_flat_for_versioned_api_and_wrapped_for_v4():
    flat = af.build_tracking_body("1Z999", "ups", "WH/OUT/00042", {"correlation_id": "c1"})
    assert flat == {
        "tracking_number": "1Z999",
        "slug": "ups",
        "order_id": "WH/OUT/00042",
        "custom_fields": {"correlation_id": "c1"},
    }
    legacy = af.build_tracking_body("1Z999", "ups", version="v4")
    assert legacy == {"tracking": {"tracking_number": "1Z999", "slug": "ups"}}
    with pytest.raises(InvalidInput):
        af.build_tracking_body("")


def test_register_tracking_request_and_response():
    http = FakeHttp(result(201, fixture("aftership_tracking_created.json")))
    out = adapter(http).register_tracking(
        "1Z9999999999999998", "ups", "WH/OUT/00042", {"correlation_id": "corr-42"}
    )
    assert out == {
        "id": "k5lh7dy7vvqeck71p5loe011",
        "tracking_number": "1Z9999999999999998",
        "slug": "ups",
        "already_exists": False,
    }
    (req,) = http.requests
    assert req.method == "POST"
    assert req.url == "https://api.aftership.test/tracking/2025-07/trackings"
    assert req.headers["as-api-key"] == API_KEY
    assert req.json["order_id"] == "WH/OUT/00042"


def test_legacy_v4_path():
    http = FakeHttp(result(201, {"meta": {"code": 201}, "data": {"tracking": {"id": "x"}}}))
    out = adapter(http, api_version="v4").register_tracking("1Z1", "ups")
    assert http.requests[0].url.endswith("/v4/trackings") and out["id"] == "x"


def test_4003_already_exists_is_success():
    http = FakeHttp(result(400, fixture("aftership_tracking_exists.json")))
    out = adapter(http).register_tracking("1Z9999999999999998", "ups")
    assert out["already_exists"] is True and out["id"] == "k5lh7dy7vvqeck71p5loe011"
    assert len(http.requests) == 1


def test_other_4xx_is_carrier_error_with_meta_code_and_masked_key():
    body = fixture("aftership_error_4005.json")
    body["meta"]["message"] += f" key={API_KEY}"
    http = FakeHttp(result(400, body))
    with pytest.raises(CarrierError) as info:
        adapter(http).register_tracking("bad", "ups")
    assert info.value.partner_code == "4005" and API_KEY not in str(info.value)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_transient_statuses(status):
    http = FakeHttp(result(status, {"meta": {"code": status, "message": API_KEY}}))
    with pytest.raises(TransientError) as info:
        adapter(http).register_tracking("1Z1", "ups")
    assert info.value.retryable and API_KEY not in str(info.value)


def test_track_lists_trackings_and_maps_checkpoints():
    http = FakeHttp(result(200, fixture("aftership_get_trackings.json")))
    events = adapter(http).track(["1Z9999999999999998", "1Z2"])
    assert http.requests[0].url.endswith("/trackings?tracking_numbers=1Z9999999999999998,1Z2")
    assert [(e.code, e.subcode) for e in events] == [
        ("InfoReceived", "InfoReceived_001"),
        ("InTransit", "InTransit_002"),
    ]
    assert events[0].picking_ref == "WH/OUT/00042"
    assert events[0].correlation_id == "corr-42"
    assert events[0].occurred_at.utcoffset().total_seconds() == 0
    assert len({e.external_id for e in events}) == 2
    assert adapter(FakeHttp(None)).track([]) == []


def test_polled_and_pushed_checkpoints_share_external_ids():
    tracking = fixture("aftership_get_trackings.json")["data"]["trackings"][0]
    pushed = af.parse_webhook({"event": "tracking_update", "msg": tracking, "ts": 1746860000})
    assert [e.external_id for e in pushed] == [e.external_id for e in af.parse_tracking(tracking)]
    with pytest.raises(InvalidInput):
        af.parse_webhook({"event": "tracking_update"})
