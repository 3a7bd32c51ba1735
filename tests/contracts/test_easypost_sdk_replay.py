"""The official EasyPost SDK replays its own recordings through our replay server.

The cassettes were recorded by this SDK (easypost-python's test suite); run against
the replay server it must find every request recorded and send the very bodies it
recorded. This proves the harness (matching, bodies, statuses) on the partner's own
client, and pins the SDK's flows the adapter mirrors: batch tracking is
``POST /v2/trackers/batch``, a report is read at ``GET /v2/reports/{id}``.
"""

from __future__ import annotations

import pytest
from easypost import EasyPostClient
from easypost.errors import ApiError

from .cassettes import load_cassette


def _client(server) -> EasyPostClient:
    return EasyPostClient("EZTK_contract_test_key", api_base=server.base_url + "/v2")


def _same_bodies(server, cassette):
    sent = [(r.method, r.path, r.json) for r in server.received]
    recorded = [(i.method, i.path, i.request_json) for i in cassette.interactions]
    assert sent == recorded


def test_sdk_creates_and_buys_as_recorded(contracts_dir, replay_server):
    server = replay_server("test_shipment_buy")
    cassette = load_cassette(contracts_dir, "test_shipment_buy")
    create, buy = cassette.interactions
    client = _client(server)

    shipment = client.shipment.create(**create.request_json["shipment"])
    bought = client.shipment.buy(shipment.id, rate=buy.request_json["rate"])

    server.assert_only_recorded()
    _same_bodies(server, cassette)
    assert server.received[0].headers["authorization"].startswith("Bearer ")
    assert bought.tracking_code == buy.response_json["tracking_code"]


def test_sdk_refunds_as_recorded(contracts_dir, replay_server):
    server = replay_server("test_shipment_refund")
    cassette = load_cassette(contracts_dir, "test_shipment_refund")
    create, _refund = cassette.interactions
    client = _client(server)

    shipment = client.shipment.create(**create.request_json["shipment"])
    refunded = client.shipment.refund(shipment.id)

    server.assert_only_recorded()
    _same_bodies(server, cassette)
    assert refunded.refund_status == "submitted"


def test_sdk_batch_tracking_is_post_trackers_batch(contracts_dir, replay_server):
    server = replay_server("test_tracker_retrieve_batch")
    cassette = load_cassette(contracts_dir, "test_tracker_retrieve_batch")
    create, batch = cassette.interactions
    client = _client(server)

    tracker = client.tracker.create(**create.request_json["tracker"])
    found = client.tracker.retrieve_batch(tracking_codes=[tracker.tracking_code])

    server.assert_only_recorded()
    _same_bodies(server, cassette)
    assert (batch.method, batch.path) == ("POST", "/v2/trackers/batch")
    assert [t.tracking_code for t in found.trackers] == batch.request_json["tracking_codes"]


def test_sdk_reads_a_report_at_reports_id(contracts_dir, replay_server):
    server = replay_server("test_report_retrieve_shipment_report")
    cassette = load_cassette(contracts_dir, "test_report_retrieve_shipment_report")
    create, read = cassette.interactions
    client = _client(server)

    report = client.report.create(type="shipment", **create.request_json)
    again = client.report.retrieve(report.id)

    server.assert_only_recorded()
    _same_bodies(server, cassette)
    assert read.path == f"/v2/reports/{report.id}" and again.id == report.id


def test_sdk_reads_the_recorded_error(contracts_dir, replay_server):
    server = replay_server("test_error")
    with pytest.raises(ApiError) as caught:
        _client(server).shipment.create()
    server.assert_only_recorded()
    assert caught.value.http_status == 422
    assert caught.value.code == "PARAMETER.REQUIRED"
    assert [(e.get("field"), e.get("message")) for e in caught.value.errors] == [
        ("shipment", "cannot be blank")]
