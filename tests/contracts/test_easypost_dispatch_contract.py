"""EasyPost pickups and scan forms: our adapter against EasyPost's recorded traffic, and the
official SDK against our sandbox.

Recorded: ``test_pickup_create``, ``test_pickup_buy``, ``test_pickup_cancel``,
``test_batch_create_scanform`` (easypost-python's own VCR cassettes, ``$CONTRACTS_DIR``).
"""

from __future__ import annotations

import json

import pytest
from easypost import EasyPostClient
from easypost.errors import ApiError

from shipsync.adapters import TransientError

from .adapters import adapter
from .cassettes import load_cassette, recorded_bodies, unknown_fields


def _recorded_pickup(contracts_dir, cassette="test_pickup_cancel"):
    return load_cassette(contracts_dir, cassette).one("POST", "/v2/pickups").request_json["pickup"]


def test_pickup_create_buy_cancel_replays_the_recorded_calls(contracts_dir, replay_server):
    server = replay_server("test_pickup_cancel")
    recorded = _recorded_pickup(contracts_dir)
    ep = adapter("easypost", server.base_url)

    pickup = ep.schedule_pickup(recorded["address"], recorded["shipment"]["id"],
                                recorded["min_datetime"], recorded["instructions"])

    [create] = server.requests_to("POST", "/v2/pickups")
    assert create.json == {"pickup": recorded}  # the SDK's body, key for key
    [buy] = [r for r in server.received if r.path.endswith("/buy")]
    assert buy.json == load_cassette(contracts_dir, "test_pickup_cancel").find(
        "POST", buy.path)[0].request_json == {"carrier": "USPS", "service": "NextDay"}
    # parsed from EasyPost's real answer
    assert (pickup.status, pickup.confirmation) == ("scheduled", "WTC65024918")
    assert [(r.carrier, r.service, str(r.amount)) for r in pickup.rates] == [
        ("USPS", "NextDay", "0.00")]

    canceled = ep.cancel_pickup(pickup.pickup_id)
    assert canceled.status == "canceled"
    [cancel] = [r for r in server.received if r.path.endswith("/cancel")]
    assert cancel.json == {}


def test_pickup_body_has_only_fields_easypost_received(contracts_dir):
    from shipsync.partners.easypost import dispatch

    recorded = _recorded_pickup(contracts_dir, "test_pickup_create")
    ours = dispatch.build_pickup_body(recorded["address"], "shp_1", "2026-12-04", "dock 2")
    assert not unknown_fields(ours, recorded_bodies(contracts_dir, "POST", "/v2/pickups"))
    assert ours["pickup"]["min_datetime"] == ours["pickup"]["max_datetime"] == "2026-12-04"


def test_scan_form_replays_create_and_scan_form_and_waits_for_the_form(contracts_dir,
                                                                       replay_server):
    server = replay_server("test_batch_create_scanform")
    cassette = load_cassette(contracts_dir, "test_batch_create_scanform")
    batch_id = cassette.one("POST", "/v2/batches").response_json["id"]
    scan_answer = cassette.one("POST", f"/v2/batches/{batch_id}/scan_form").response_json
    # SYNTHETIC: GET /v2/batches/{id} (SDK batch.retrieve) is not recorded; it is served
    # the recorded scan-form answer, whose form is still ``creating`` (form_url null).
    server.add_synthetic("GET", f"/v2/batches/{batch_id}", json.dumps(scan_answer).encode(),
                         "application/json", root=True)
    ep = adapter("easypost", server.base_url)

    with pytest.raises(TransientError) as err:
        ep.create_manifest(["shp_042b8633dd58412899313410cd5ad5a7"], polls=2)
    assert err.value.code == "not_ready"
    # the batch id is kept for the retry: no second batch is made
    assert ep.options["batch_id"] == batch_id
    [create] = server.requests_to("POST", "/v2/batches")
    assert create.json == {"batch": {"shipments": [{"id": "shp_042b8633dd58412899313410cd5ad5a7"}]}}
    assert len(server.requests_to("POST", f"/v2/batches/{batch_id}/scan_form")) == 1
    with pytest.raises(TransientError):
        ep.create_manifest([], polls=1, batch_id=batch_id)
    assert len(server.requests_to("POST", "/v2/batches")) == 1


# --------------------------------------------------------------------------- SDK vs sandbox
@pytest.fixture
def client(sandbox) -> EasyPostClient:
    return EasyPostClient("EZTK_sandbox_key", api_base=sandbox.url.rstrip("/") + "/v2")


@pytest.fixture
def bought(client, contracts_dir):
    fixture = json.loads((contracts_dir / "easypost" / "webhook-fixture.json").read_text(
        encoding="utf-8"))["shipment_basic_domestic"]
    shipment = client.shipment.create(**fixture)
    rate = min(shipment.rates, key=lambda r: float(r.rate))
    return client.shipment.buy(shipment.id, rate={"id": rate.id}), fixture


def test_sdk_schedules_buys_and_cancels_a_pickup(client, contracts_dir, bought):
    shipment, _fixture = bought
    recorded = _recorded_pickup(contracts_dir)
    pickup = client.pickup.create(**dict(recorded, shipment={"id": shipment.id}))
    assert pickup.id.startswith("pickup_") and pickup.status == "unknown"
    rate = pickup.lowest_rate()  # the SDK's own helper over pickup_rates
    scheduled = client.pickup.buy(pickup.id, carrier=rate.carrier, service=rate.service)
    assert scheduled.status == "scheduled" and scheduled.confirmation
    assert client.pickup.cancel(pickup.id).status == "canceled"
    with pytest.raises(ApiError) as err:
        client.pickup.create(address=recorded["address"])
    assert err.value.http_status == 422


def test_sdk_makes_a_batch_scan_form(client, bought, sandbox):
    shipment, fixture = bought
    batch = client.batch.create(shipments=[{"id": shipment.id}])
    assert batch.id.startswith("batch_") and batch.state == "creating"
    formed = client.batch.create_scan_form(batch.id)
    assert formed.scan_form.id.startswith("sf_") and formed.scan_form.status == "creating"
    again = client.batch.retrieve(batch.id)
    assert again.scan_form.form_url and again.scan_form.tracking_codes == [
        shipment.tracking_code]
    # the recorded flow: shipments created inside the batch, then bought, then the form
    inline = client.batch.create(shipments=[fixture])
    bought_batch = client.batch.buy(inline.id)
    assert [s.batch_status for s in bought_batch.shipments] == ["postage_purchased"]
    assert client.batch.create_scan_form(inline.id).state == "purchased"
    # a scan form needs bought shipments
    unbought = client.shipment.create(**fixture)
    pending = client.batch.create(shipments=[{"id": unbought.id}])
    with pytest.raises(ApiError) as err:
        client.batch.create_scan_form(pending.id)
    assert err.value.http_status == 422
