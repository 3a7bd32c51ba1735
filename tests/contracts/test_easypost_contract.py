"""EasyPost adapter operations replayed against EasyPost's own recorded traffic.

Each test starts a replay server from the cassettes the official SDK recorded against
api.easypost.com (``$CONTRACTS_DIR/easypost/cassettes``), points our adapter at it over
real HTTP, and checks (1) every request we make is one EasyPost was recorded answering,
(2) our request bodies have the keys and value kinds EasyPost received, (3) our parsers
read EasyPost's real answers right. Divergences of today's adapter are ``xfail(strict)``:
they flip to XPASS (a failure) the day the adapter is fixed, so the marker must go then.
"""

from __future__ import annotations

import json
from decimal import Decimal
from urllib.parse import urlsplit

import pytest

from shipsync.adapters import CarrierError, TransientError
from shipsync.normalizers import parse_payload

from .adapters import adapter, partner_module, request_from_easypost
from .cassettes import (
    all_cassettes,
    load_cassette,
    merged_structure,
    missing_core,
    recorded_bodies,
    recorded_responses,
    structure,
    unknown_fields,
)

#: The EasyPost adapter's module (builders and parsers), found through the registry.
ep = partner_module("easypost")

LABEL_HOST = "https://easypost-files.s3.us-west-2.amazonaws.com"
#: SYNTHETIC: the label bytes behind the recorded S3 URL were not recorded.
SYNTHETIC_PNG = b"\x89PNG\r\n\x1a\n" + b"synthetic label bytes (not recorded)"


def _easypost(server, **options):
    return adapter("easypost", server.base_url, **options)


def _recorded_request(contracts_dir, cassette, method="POST", path="/v2/shipments"):
    return load_cassette(contracts_dir, cassette).one(method, path)


def _response_attrs(contracts_dir, method, path, envelope):
    """Attributes of the objects EasyPost returned on ``method path``, under ``envelope``."""
    return merged_structure([{envelope: r} for r in recorded_responses(contracts_dir, method, path)
                             if isinstance(r, dict) and "error" not in r])


def _assert_known_body(contracts_dir, ours, method, path, envelope=None):
    """Every field we send was received by EasyPost (or is an attribute of the object it
    returned); every object EasyPost always received from its SDK is in ours."""
    problems = unknown_fields(
        ours, recorded_bodies(contracts_dir, method, path),
        _response_attrs(contracts_dir, method, path, envelope) if envelope else None)
    assert not problems, f"{method} {path}: fields EasyPost never received: {problems}"
    accepted = [i.request_json for c in all_cassettes(contracts_dir) for i in c.find(method, path)
                if i.request_json is not None and i.status < 400]
    missing = missing_core(ours, accepted)
    assert not missing, f"{method} {path}: always sent by the SDK, missing in ours: {missing}"


# --------------------------------------------------------------------------- shipments
def test_rate_creates_the_recorded_shipment_and_parses_its_rates(contracts_dir, replay_server):
    server = replay_server("test_shipment_create")
    recorded = _recorded_request(contracts_dir, "test_shipment_create")
    req = request_from_easypost(recorded.request_json["shipment"])

    rates = _easypost(server).rate(req)

    [sent] = server.requests_to("POST", "/v2/shipments")
    assert sent.headers["authorization"].startswith("Basic ")
    assert sent.headers["content-type"].startswith("application/json")
    # The facts of the SDK's request survive our kg/cm -> oz/in conversion.
    assert sent.json["shipment"]["parcel"] == recorded.request_json["shipment"]["parcel"]
    for role in ("from_address", "to_address"):
        assert sent.json["shipment"][role] == recorded.request_json["shipment"][role]
    real = recorded.response_json["rates"]
    assert len(real) >= 2
    assert [(r.rate_id, r.carrier, r.service, r.amount, r.currency) for r in rates] == [
        (r["id"], r["carrier"], r["service"], Decimal(r["rate"]), r["currency"]) for r in real]
    assert [r.delivery_days for r in rates] == [r["delivery_days"] for r in real]


@pytest.mark.parametrize("variant", ["plain", "carrier_account", "return"])
def test_shipment_body_has_only_fields_easypost_knows(contracts_dir, variant):
    recorded = _recorded_request(contracts_dir, "test_shipment_buy")
    kw = {"carrier_account": "ca_0123456789"} if variant == "carrier_account" else {}
    if variant == "return":
        kw["is_return"] = True
    body = ep.build_shipment_body(request_from_easypost(recorded.request_json["shipment"], **kw))
    _assert_known_body(contracts_dir, body, "POST", "/v2/shipments", "shipment")
    assert structure(body)["$.shipment"] == "object"


def test_a_declared_value_sends_only_fields_easypost_knows(contracts_dir):
    """EasyPost was never recorded receiving or returning ``options.declared_value``: a
    declared value is not sent (and buys no insurance behind the user's back)."""
    recorded = _recorded_request(contracts_dir, "test_shipment_buy")
    req = request_from_easypost(recorded.request_json["shipment"], declared_value=Decimal("50"))
    body = ep.build_shipment_body(req)
    _assert_known_body(contracts_dir, body, "POST", "/v2/shipments", "shipment")
    assert "declared_value" not in json.dumps(body)
    assert "insurance" not in body["shipment"]


def test_create_shipment_buys_the_chosen_rate_and_reads_the_label(contracts_dir, replay_server):
    server = replay_server("test_shipment_buy")
    create = _recorded_request(contracts_dir, "test_shipment_buy")
    buy = load_cassette(contracts_dir, "test_shipment_buy").interactions[1]
    rate_id = buy.request_json["rate"]["id"]
    [chosen] = [r for r in create.response_json["rates"] if r["id"] == rate_id]
    recorded_label = urlsplit(buy.response_json["postage_label"]["label_url"])
    assert f"{recorded_label.scheme}://{recorded_label.netloc}" == LABEL_HOST
    # SYNTHETIC: the S3 host of label_url is rewritten to a second loopback server (another
    # host, as S3 is) that serves made-up label bytes.
    files = replay_server()
    label_url = files.add_synthetic("GET", recorded_label.path, SYNTHETIC_PNG, "image/png")
    server.rewrite(LABEL_HOST, files.synthetic_base)
    req = request_from_easypost(create.request_json["shipment"],
                                service=f"{chosen['carrier']}:{chosen['service']}")

    result = _easypost(server).create_shipment(req, idempotency_key="contract-buy-1")

    [sent_buy] = server.requests_to("POST", buy.path)
    assert sent_buy.json == buy.request_json == ep.build_buy_body(rate_id)
    bought = buy.response_json
    assert result.shipment_id == bought["id"]
    assert result.tracking_numbers == (bought["tracking_code"],)
    assert result.price == Decimal(bought["selected_rate"]["rate"])
    assert result.currency == bought["selected_rate"]["currency"]
    assert result.tracking_url == bought["tracker"]["public_url"]
    assert result.charge == sum(Decimal(f["amount"]) for f in bought["fees"])
    [label] = result.labels
    assert label.content == SYNTHETIC_PNG and label.label_format == "PNG"
    assert label.tracking_number == bought["tracking_code"]
    [download] = files.received
    assert download.synthetic
    assert "authorization" not in download.headers  # the key never leaves for the file host
    assert label_url.endswith(download.path)


def test_parse_bought_shipment_reads_every_recorded_purchase(contracts_dir):
    bought = [i.response_json for c in all_cassettes(contracts_dir) for i in c.interactions
              if i.path.endswith("/buy") and i.path.startswith("/v2/shipments/")]
    assert bought
    for shipment in bought:
        result, url = ep.parse_bought_shipment(shipment)
        assert result.tracking_numbers == (shipment["tracking_code"],)
        assert url == shipment["postage_label"]["label_url"]
        assert result.price == Decimal(shipment["selected_rate"]["rate"])


def test_parse_rates_reads_every_recorded_shipment(contracts_dir):
    shipments = [r for r in recorded_responses(contracts_dir, "POST", "/v2/shipments")
                 if "error" not in r]
    assert len(shipments) >= 5
    for shipment in shipments:
        rates = ep.parse_rates(shipment)
        assert [r.rate_id for r in rates] == [r["id"] for r in shipment["rates"]]
        assert all(r.amount > 0 and r.currency for r in rates)


def test_cancel_refunds_the_recorded_shipment(contracts_dir, replay_server):
    server = replay_server("test_shipment_refund")
    refund = load_cassette(contracts_dir, "test_shipment_refund").interactions[1]
    shipment_id = refund.path.split("/")[3]

    result = _easypost(server).cancel(shipment_id)

    [sent] = server.requests_to("POST", refund.path)
    # The SDK sent ``{}``; an empty body carries the same (no) keys.
    assert structure(sent.json or {}) == structure(refund.request_json)
    assert refund.response_json["refund_status"] == "submitted"
    assert result.accepted and result.raw_status == "submitted"
    assert ep.parse_refund(refund.response_json).accepted


def test_retrieved_shipment_parses_as_not_bought(contracts_dir):
    """``GET /v2/shipments/{id}`` (recorded) answers an unbought shipment: no tracking yet."""
    got = load_cassette(contracts_dir, "test_shipment_retrieve").interactions[1]
    assert got.method == "GET" and got.path.startswith("/v2/shipments/shp_")
    result, url = ep.parse_bought_shipment(got.response_json)
    assert result.shipment_id == got.response_json["id"]
    assert result.tracking_numbers == () and url == ""
    assert [r.rate_id for r in result.rates] == [r["id"] for r in got.response_json["rates"]]


# --------------------------------------------------------------------------- errors
def test_error_answer_is_a_carrier_error_with_easypost_code(contracts_dir, replay_server):
    server = replay_server("test_error")
    error = load_cassette(contracts_dir, "test_error").interactions[0]
    req = request_from_easypost(
        _recorded_request(contracts_dir, "test_shipment_create").request_json["shipment"])

    with pytest.raises(CarrierError) as caught:
        _easypost(server).rate(req)

    assert error.status == 422
    err = caught.value
    assert err.http_status == 422 and not err.retryable
    assert err.partner_code == error.response_json["error"]["code"] == "PARAMETER.REQUIRED"
    assert error.response_json["error"]["message"] in err.message
    assert "shipment: cannot be blank" in err.message


def test_parse_error_reads_both_recorded_error_formats(contracts_dir):
    field_errors = load_cassette(contracts_dir, "test_error").interactions[0].response_json
    assert ep.parse_error(field_errors) == (
        "PARAMETER.REQUIRED", "Missing required parameter. (shipment: cannot be blank)")
    alternative = load_cassette(
        contracts_dir, "test_error_alternative_format").interactions[0].response_json
    code, message = ep.parse_error(alternative)
    assert code == "NOT_FOUND"
    assert alternative["error"]["message"] in message
    for text in alternative["error"]["errors"]:  # plain strings in this format
        assert text in message


# --------------------------------------------------------------------------- tracking
def test_track_creates_the_recorded_tracker(contracts_dir, replay_server):
    server = replay_server("test_tracker_create")
    recorded = load_cassette(contracts_dir, "test_tracker_create").one("POST", "/v2/trackers")
    code = recorded.request_json["tracker"]["tracking_code"]

    events = _easypost(server).track([code])

    [sent] = server.requests_to("POST", "/v2/trackers")
    assert sent.json == recorded.request_json == ep.build_tracker_body(code)
    _assert_known_body(contracts_dir, ep.build_tracker_body(code, "USPS"), "POST", "/v2/trackers",
                       "tracker")
    details = recorded.response_json["tracking_details"]
    assert len(details) >= 1 and len(events) == len(details)
    assert [(e.code, e.subcode) for e in events] == [
        (d["status"], d["status_detail"]) for d in details]
    assert {e.tracking_number for e in events} == {code}


def test_get_tracker_reads_the_recorded_tracker(contracts_dir, replay_server):
    server = replay_server("test_tracker_retrieve")
    got = load_cassette(contracts_dir, "test_tracker_retrieve").interactions[1]
    tracker_id = got.path.rsplit("/", 1)[1]

    events = _easypost(server).get_tracker(tracker_id)

    assert server.served() == [got]
    assert len(events) == len(got.response_json["tracking_details"])
    assert {e.tracking_number for e in events} == {got.response_json["tracking_code"]}


def test_track_batch_polls_the_recorded_batch_endpoint(contracts_dir, replay_server):
    """The polling path (``delivery.carrier`` poll cron uses ``track_batch``)."""
    server = replay_server("test_tracker_retrieve_batch")
    batch = load_cassette(contracts_dir, "test_tracker_retrieve_batch").one(
        "POST", "/v2/trackers/batch")
    codes = batch.request_json["tracking_codes"]

    try:
        found = _easypost(server).track_batch(codes)
    finally:
        server.assert_only_recorded()

    [sent] = server.requests_to("POST", "/v2/trackers/batch")
    assert structure(sent.json) == structure(batch.request_json)
    assert sent.json["tracking_codes"] == codes
    trackers = batch.response_json["trackers"]
    for tracker in trackers:
        assert len(found[tracker["tracking_code"]]) == len(tracker["tracking_details"])


def test_parse_tracker_reads_every_recorded_tracker(contracts_dir):
    trackers = []
    for cassette in all_cassettes(contracts_dir):
        for item in cassette.interactions:
            data = item.response_json
            if isinstance(data, dict) and data.get("object") == "Tracker":
                trackers.append(data)
            elif isinstance(data, dict) and isinstance(data.get("trackers"), list):
                trackers.extend(data["trackers"])
    assert len(trackers) >= 10
    for tracker in trackers:
        events = ep.parse_tracker(tracker)
        assert len(events) == max(len(tracker["tracking_details"]), 1 if tracker["status"] else 0)
        for event, detail in zip(events, tracker["tracking_details"], strict=False):
            assert (event.code, event.subcode) == (detail["status"], detail["status_detail"])
            assert event.occurred_at is not None
        if tracker.get("est_delivery_date"):
            assert all(e.carrier_eta is not None for e in events)
        # One tracker's history parsed twice gives the same ids (deduplication key).
        assert [e.external_id for e in ep.parse_tracker(tracker)] == [e.external_id for e in events]


def test_recorded_event_body_parses_through_our_webhook_path(contracts_dir):
    body = (contracts_dir / "easypost" / "event-body.json").read_bytes()
    event = json.loads(body)
    events = parse_payload(body, "easypost")
    details = event["result"]["tracking_details"]
    assert len(events) == len(details)
    assert {e.tracking_number for e in events} == {event["result"]["tracking_code"]}


# --------------------------------------------------------------------------- reports
def test_report_create_body_is_the_recorded_one(contracts_dir):
    recorded = load_cassette(contracts_dir, "test_report_create_report").one(
        "POST", "/v2/reports/shipment")
    assert set(recorded.request_json) == {"start_date", "end_date"}
    assert recorded.response_json["object"] == "ShipmentReport"


def test_shipment_report_polls_the_recorded_report_path(contracts_dir, replay_server):
    server = replay_server("test_report_retrieve_shipment_report")
    cassette = load_cassette(contracts_dir, "test_report_retrieve_shipment_report")
    create, read = cassette.interactions
    dates = create.request_json

    with pytest.raises(TransientError) as caught:  # the recorded report stays "new"
        _easypost(server).shipment_report(dates["start_date"], dates["end_date"], polls=1)
    server.assert_only_recorded()

    assert caught.value.code == "not_ready"
    [sent] = server.requests_to("POST", "/v2/reports/shipment")
    assert sent.json == create.request_json
    assert server.requests_to("GET", read.path)
