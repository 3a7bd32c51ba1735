"""The EasyPost slice of the carrier sandbox, driven by EasyPost's official SDK unchanged
(PyPI ``easypost``: Bearer auth, its own paths, object shapes and error parsing)."""

from __future__ import annotations

import json
import urllib.request

import pytest

easypost = pytest.importorskip("easypost")

API_KEY = "EZTK_sandbox_key"
TO = {"name": "Dr. Steve Brule", "street1": "179 N Harbor Dr", "city": "Redondo Beach",
      "state": "CA", "zip": "90277", "country": "US"}
FROM = {"name": "EasyPost", "street1": "417 Montgomery Street", "city": "San Francisco",
        "state": "CA", "zip": "94104", "country": "US"}
PARCEL = {"length": 10, "width": 8, "height": 4, "weight": 15.4}


@pytest.fixture
def client(sandbox):
    return easypost.EasyPostClient(API_KEY, api_base=f"{sandbox.url}/v2")


def _internal_keys(value, path="$"):
    """Paths of keys the sandbox keeps for itself (leading underscore)."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            if str(key).startswith("_"):
                found.append(f"{path}.{key}")
            found += _internal_keys(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _internal_keys(item, f"{path}[{index}]")
    return found


def _create(client, **extra):
    return client.shipment.create(to_address=TO, from_address=FROM, parcel=PARCEL, **extra)


def test_shipment_create_buy_retrieve_refund(client, sandbox):
    shipment = _create(client, reference="WH/OUT/00001")
    assert shipment.id.startswith("shp_") and shipment.object == "Shipment"
    assert shipment.rates and all(r.shipment_id == shipment.id for r in shipment.rates)
    bought = client.shipment.buy(shipment.id, rate=shipment.lowest_rate())
    assert bought.tracking_code and bought.postage_label.label_url
    assert bought.tracker.object == "Tracker"
    assert bought.tracker.tracking_code == bought.tracking_code
    again = client.shipment.retrieve(shipment.id)
    assert again.postage_label.label_url == bought.postage_label.label_url
    refunded = client.shipment.refund(shipment.id)
    assert refunded.refund_status == "submitted"


def test_trackers_create_retrieve_and_batch(client):
    bought = client.shipment.buy((s := _create(client)).id, rate=s.lowest_rate())
    tracker = client.tracker.create(tracking_code=bought.tracking_code)
    assert tracker.id == bought.tracker.id
    assert client.tracker.retrieve(tracker.id).tracking_code == bought.tracking_code
    batch = client.tracker.retrieve_batch(tracking_codes=[bought.tracking_code, "EZUNKNOWN"])
    assert [t.tracking_code for t in batch["trackers"]] == [bought.tracking_code]


def test_shipment_report_create_and_retrieve(client):
    report = client.report.create(type="shipment", start_date="2026-11-01",
                                  end_date="2026-11-30")
    assert report.object == "ShipmentReport" and report.id.startswith("shprep_")
    again = client.report.retrieve(report.id)
    assert again.id == report.id and again.status == "available" and again.url


def test_event_retrieve_after_a_webhook(client, sandbox):
    bought = client.shipment.buy((s := _create(client)).id, rate=s.lowest_rate())
    [delivery] = sandbox.advance(bought.tracking_code, steps=1, webhook=False)
    event = client.event.retrieve(delivery["payload"]["id"])
    assert event.object == "Event" and event.description == "tracker.updated"
    assert event.result.tracking_code == bought.tracking_code


def test_errors_are_easypost_errors(client):
    with pytest.raises(easypost.errors.InvalidRequestError) as exc:
        client.shipment.create(to_address={**TO, "zip": "00000"}, from_address=FROM,
                               parcel=PARCEL)
    assert exc.value.http_status == 422 and exc.value.code == "ADDRESS.VERIFY.FAILURE"
    with pytest.raises(easypost.errors.NotFoundError) as exc:
        client.shipment.retrieve("shp_doesnotexist")
    assert exc.value.code == "NOT_FOUND"


def test_a_wrong_key_is_unauthorized(sandbox):
    sandbox.configure(easypost_api_key=API_KEY)
    bad = easypost.EasyPostClient("EZTK_wrong", api_base=f"{sandbox.url}/v2")
    with pytest.raises(easypost.errors.UnauthorizedError) as exc:
        bad.shipment.retrieve("shp_x")
    assert exc.value.code == "APIKEY.INACTIVE"


def test_routes_easypost_does_not_have_are_404(sandbox):
    # the report path the sandbox used to serve; EasyPost reads reports at /v2/reports/{id}
    request = urllib.request.Request(
        f"{sandbox.url}/v2/reports/shipment/shprep_1",
        headers={"Authorization": f"Bearer {API_KEY}"})
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310
    assert exc.value.code == 404
    assert json.loads(exc.value.read())["error"]["code"] == "NOT_FOUND"


def test_no_internal_field_leaks(client, sandbox):
    shipment = _create(client)
    bought = client.shipment.buy(shipment.id, rate=shipment.lowest_rate())
    answers = [
        client.shipment.retrieve(shipment.id).to_dict(),
        client.tracker.retrieve(bought.tracker.id).to_dict(),
        client.tracker.retrieve_batch(tracking_codes=[bought.tracking_code]),
    ]
    deliveries = sandbox.advance(bought.tracking_code, steps=2, webhook=False)
    answers += [d["payload"] for d in deliveries]
    for answer in answers:
        assert _internal_keys(json.loads(json.dumps(answer, default=lambda o: o.to_dict())))\
            == []
