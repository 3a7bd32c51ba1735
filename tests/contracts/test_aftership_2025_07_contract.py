"""AfterShip Tracking API 2025-07 held to AfterShip's official SDK.

``aftership-tracking-sdk`` 8.0.1 (PyPI, MIT) is generated for API version 2025-07: its
pydantic models ``Tracking`` / ``Checkpoint`` / ``CreateTrackingRequest`` and its
``TrackingApi`` routes are what that version has. Payloads are built with those models
(never by hand) and fed through our inbound path (JSON, our webhook schema, the
normalizer). The adapter's calls are compared with the SDK's in
``test_aftership_contract.py``.
"""

from __future__ import annotations

import json

import pytest
from tracking import Client, Configuration
from tracking.exceptions import BadRequestError, NotFoundError, UnauthorizedError
from tracking.models import (
    Checkpoint,
    CreateTrackingRequest,
    Tracking,
    TrackingAftershipEstimatedDeliveryDate,
    TrackingCourierEstimatedDeliveryDate,
)

from shipsync.partners.aftership import fields


def sdk_tracking(**kw) -> dict:
    """A 2025-07 tracking as the SDK models serialise it (made-up values)."""
    values = dict(
        id="lx7q1kz4p3b2m0a9c8d7e6f5", tracking_number="1Z9999W99999999999", slug="ups",
        order_id="WH/OUT/00042", custom_fields={"correlation_id": "corr-42"},
        tag="InTransit", subtag="InTransit_002",
        created_at="2025-07-28T08:00:00+00:00", updated_at="2025-07-30T08:05:00+00:00",
        courier_estimated_delivery_date=TrackingCourierEstimatedDeliveryDate(
            estimated_delivery_date="2025-08-01"),
        aftership_estimated_delivery_date=TrackingAftershipEstimatedDeliveryDate(
            estimated_delivery_date="2025-08-04"),
        checkpoints=[
            Checkpoint(checkpoint_time="2025-07-29T10:30:00+02:00", city="Amsterdam",
                       country_region="NLD", country_region_name="Netherlands",
                       tag="InTransit", subtag="InTransit_002", message="Pickup Scan"),
            Checkpoint(checkpoint_time="2025-07-30T10:00:00+02:00", city="Utrecht",
                       state="UT", zip="3511", country_region="NLD", tag="InTransit",
                       subtag="InTransit_001", message="Arrived at facility"),
        ],
    )
    values.update(kw)
    return Tracking(**values).model_dump(mode="json", exclude_none=True)


def webhook_body(msg: dict) -> bytes:
    """The ``tracking_update`` envelope (event, event_id, is_tracking_first_tag, msg, ts)."""
    return json.dumps({"event": "tracking_update", "event_id": "0f6a2b1c-5d4e",
                       "is_tracking_first_tag": False, "msg": msg, "ts": 1753862700}).encode()


def test_the_fields_we_read_exist_in_2025_07():
    assert fields.CARRIER_ETA_FIELD in Tracking.model_fields
    assert set(fields.CARRIER_ETA_KEYS) <= set(TrackingCourierEstimatedDeliveryDate.model_fields)
    assert fields.CHECKPOINT_COUNTRY_FIELD in Checkpoint.model_fields
    # what the parser used to read: not in this API version
    assert "expected_delivery" not in Tracking.model_fields
    assert "country_iso3" not in Checkpoint.model_fields


def parse(body: bytes):
    """Our inbound path: JSON, our AfterShip webhook schema, the normalizer."""
    from shipsync.normalizers import parse_payload

    return parse_payload(body, "aftership")


def test_sdk_built_webhook_gives_carrier_eta_and_country():
    events = parse(webhook_body(sdk_tracking()))
    assert [(e.code, e.subcode) for e in events] == [
        ("InTransit", "InTransit_002"), ("InTransit", "InTransit_001")]
    # the carrier's estimate, not AfterShip's own prediction (2025-08-04)
    assert {e.carrier_eta.date().isoformat() for e in events} == {"2025-08-01"}
    assert events[0].location == "Amsterdam, NLD"
    assert events[1].location == "Utrecht, UT, 3511, NLD"
    assert events[1].tracking_number == "1Z9999W99999999999"
    assert events[1].picking_ref == "WH/OUT/00042" and events[1].correlation_id == "corr-42"


def test_sdk_built_tracking_with_a_window_and_a_location():
    msg = sdk_tracking(
        courier_estimated_delivery_date=TrackingCourierEstimatedDeliveryDate(
            estimated_delivery_date_min="2025-08-01", estimated_delivery_date_max="2025-08-03"),
        checkpoints=[Checkpoint(checkpoint_time="2025-07-29T10:30:00+02:00",
                                location="Hub Eindhoven", country_region="NLD",
                                tag="InTransit", subtag="InTransit_007", message="Hub")])
    (event,) = parse(webhook_body(msg))
    assert event.carrier_eta.date().isoformat() == "2025-08-03"
    assert event.location == "Hub Eindhoven"


def test_sdk_built_tracking_without_estimate_has_no_eta():
    msg = sdk_tracking(courier_estimated_delivery_date=None)
    assert all(e.carrier_eta is None for e in parse(webhook_body(msg)))


# --------------------------------------------------------------------------- the sandbox
@pytest.fixture(scope="module")
def sandbox():
    from shipsync.sandbox.carrier import CarrierSandbox

    server = CarrierSandbox().start()
    yield server
    server.stop()


def sdk_client(sandbox, key="as-sandbox-key"):
    return Client(Configuration(domain=sandbox.url, api_key=key, max_retry=0))


def raw_tracking(sandbox, tracking_id, key="as-sandbox-key") -> dict:
    import requests

    answer = requests.get(f"{sandbox.url}/tracking/2025-07/trackings/{tracking_id}",
                          headers={"as-api-key": key}, timeout=5)
    assert answer.status_code == 200
    return answer.json()["data"]


def test_official_sdk_drives_the_sandbox(sandbox):
    """The flows the suite uses (create a tracking, read it, list by numbers), with the
    official client unchanged; the answers carry 2025-07 fields only."""
    sandbox.reset()
    client = sdk_client(sandbox)
    created = client.tracking.create_tracking(CreateTrackingRequest(
        tracking_number="1ZSDK0000000001", slug="ups", order_id="WH/OUT/00042",
        custom_fields={"correlation_id": "corr-42"})).data
    assert created.tracking_number == "1ZSDK0000000001" and created.slug == "ups"
    assert created.id and created.order_id == "WH/OUT/00042"
    sandbox.advance("1ZSDK0000000001", "delivered", steps=2, webhook=False)

    one = client.tracking.get_tracking_by_id(created.id).data
    assert one.tag is not None and len(one.checkpoints) == 2
    assert one.checkpoints[-1].country_region and one.checkpoints[-1].checkpoint_time
    listed = client.tracking.get_trackings(tracking_numbers="1ZSDK0000000001,UNKNOWN42").data
    assert [t.id for t in listed.trackings] == [created.id]

    raw = raw_tracking(sandbox, created.id)
    assert set(raw) <= set(Tracking.model_fields), set(raw) - set(Tracking.model_fields)
    for point in raw["checkpoints"]:
        assert set(point) <= set(Checkpoint.model_fields), set(point) - set(
            Checkpoint.model_fields)
    # what our parser reads from it: the country of every checkpoint
    from shipsync.normalizers import parse_payload

    events = parse_payload(webhook_body(raw), "aftership")
    assert all(e.location.endswith(raw["checkpoints"][i]["country_region"])
               for i, e in enumerate(events))


def test_official_sdk_sees_the_sandbox_errors(sandbox):
    sandbox.reset()
    client = sdk_client(sandbox)
    client.tracking.create_tracking(CreateTrackingRequest(tracking_number="1ZSDK0000000002",
                                                          slug="ups"))
    with pytest.raises(BadRequestError) as err:
        client.tracking.create_tracking(CreateTrackingRequest(
            tracking_number="1ZSDK0000000002", slug="ups"))
    assert err.value.meta_code == 4003
    with pytest.raises(NotFoundError) as err:
        client.tracking.get_tracking_by_id("000000000000000000000000")
    assert err.value.meta_code == 4004
    sandbox.configure(aftership_api_key="the-right-key")
    try:
        with pytest.raises(UnauthorizedError):
            sdk_client(sandbox, key="a-wrong-key").tracking.get_trackings()
    finally:
        sandbox.configure(aftership_api_key=None)
