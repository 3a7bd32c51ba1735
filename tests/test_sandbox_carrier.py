"""The carrier sandbox over real loopback HTTP, driven by the real adapters."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest

from shipsync.adapters import Address, CarrierError, Parcel, ShipmentRequest, TransientError
from shipsync.adapters.base import default_http
from shipsync.adapters.journal import FileJournal
from shipsync.partners.easypost.inbound import EasyPostNormalizer
from shipsync.partners.easypost.outbound import EasyPostAdapter
from shipsync.partners.easypost.sandbox import easypost_signature
from shipsync.partners.sendcloud.inbound import SendcloudNormalizer
from shipsync.partners.sendcloud.outbound import SendcloudAdapter
from shipsync.partners.sendcloud.sandbox import sendcloud_signature
from shipsync.sandbox.carrier import CarrierSandbox
from shipsync.signatures import make_verifier


def request(zip_code="94105", parcels=1, label_format="PDF", service=""):
    return ShipmentRequest(
        reference="WH/OUT/00042", correlation_id="corr-42",
        ship_from=Address(name="Warehouse", street="1 Main St", city="SF", zip="94105",
                          country_code="US"),
        ship_to=Address(name="Ada", street="2 Side St", city="LA", zip=zip_code,
                        country_code="US"),
        parcels=tuple(Parcel(weight_kg=Decimal("1.5"), reference=f"PACK{i}")
                      for i in range(parcels)),
        label_format=label_format, service=service,
    )


def easypost(sandbox, timeout=(2, 5)):
    return EasyPostAdapter(sandbox.url, "EZTK_secret_key", timeout=timeout)


def sendcloud(sandbox):
    return SendcloudAdapter(sandbox.url, "pub:sec", shipping_method_id=8, api_version="v2")


def test_easypost_booking_issues_tracking_number_and_real_pdf_label(sandbox):
    result = easypost(sandbox).create_shipment(request(), "key-1")
    assert len(result.tracking_numbers) == 1 and result.tracking_numbers[0].startswith("EZ")
    label = result.labels[0]
    assert label.content.startswith(b"%PDF-") and b"%%EOF" in label.content[-32:]
    assert label.file_name.startswith("LabelShipping-easypost-")
    # no service asked: the lowest rate (5.00 + 0.03 / oz, 52.9 oz) is bought
    assert result.price == Decimal("6.59") and result.charge == Decimal("6.59")


def test_easypost_zpl_label_is_zpl(sandbox):
    result = easypost(sandbox).create_shipment(request(label_format="ZPL"), "key-z")
    assert result.labels[0].content.startswith(b"^XA") and result.labels[0].label_format == "ZPL"


def test_one_label_and_tracking_number_per_parcel(sandbox):
    result = easypost(sandbox).create_shipment(request(parcels=3), "key-m")
    assert len(set(result.tracking_numbers)) == 3 and len(result.labels) == 3
    assert len(result.shipment_id.split(",")) == 3


def test_easypost_honours_no_idempotency_key_a_journal_prevents_the_second_label(
        sandbox, tmp_path):
    # without a journal a repeated booking is a second shipment and a second purchase
    first = easypost(sandbox).create_shipment(request(), "same-key")
    again = easypost(sandbox).create_shipment(request(), "same-key")
    assert first.tracking_numbers != again.tracking_numbers
    # with one, the repeat reads the shipment back and reuses its label
    journal = FileJournal(tmp_path / "journal.json")
    one = EasyPostAdapter(sandbox.url, "EZTK_secret_key", journal=journal)
    booked = one.create_shipment(request(), "journal-key")
    repeat = one.create_shipment(request(), "journal-key")
    assert booked.tracking_numbers == repeat.tracking_numbers
    assert sum(1 for s in sandbox.shipments.values() if s["tracking_code"]) == 3


def test_bad_address_is_a_422_carrier_error_with_partner_code(sandbox):
    with pytest.raises(CarrierError) as err:
        easypost(sandbox).create_shipment(request(zip_code="00000"), "key-bad")
    assert err.value.http_status == 422 and err.value.partner_code == "ADDRESS.VERIFY.FAILURE"
    assert "EZTK_secret_key" not in str(err.value)


def test_429_carries_retry_after(sandbox):
    sandbox.configure(fail_next=1, fail_status=429, retry_after=7)
    with pytest.raises(TransientError) as err:
        easypost(sandbox).create_shipment(request(), "key-429")
    assert err.value.http_status == 429 and err.value.retry_after == "7"


def test_outage_window_answers_503_then_recovers(sandbox):
    sandbox.configure(outage_until=time.time() + 60)
    with pytest.raises(TransientError) as err:
        easypost(sandbox).create_shipment(request(), "key-out")
    assert err.value.http_status == 503
    sandbox.configure(outage_until=None)
    assert easypost(sandbox).create_shipment(request(), "key-out").tracking_numbers


def test_malformed_body_is_transient(sandbox):
    sandbox.configure(malformed=True)
    with pytest.raises(TransientError) as err:
        easypost(sandbox).create_shipment(request(), "key-mal")
    assert err.value.code == "bad_response"


def test_latency_beyond_read_timeout_is_a_timeout(sandbox):
    sandbox.configure(latency_ms=1500)
    with pytest.raises(TransientError) as err:
        easypost(sandbox, timeout=(1, 0.3)).create_shipment(request(), "key-slow")
    assert err.value.code == "timeout"


def test_error_rate_with_seed_is_reproducible(sandbox):
    def run():
        sandbox.reset()
        sandbox.configure(error_rate=0.5, seed=3)
        out = []
        for i in range(10):
            try:
                easypost(sandbox).track([f"T{i}"])
                out.append(True)
            except TransientError:
                out.append(False)
        return out

    first = run()
    assert first == run() and True in first and False in first


def test_refund_before_pickup_is_submitted_after_pickup_rejected(sandbox):
    adapter = easypost(sandbox)
    first = adapter.create_shipment(request(), "k-r1")
    assert adapter.cancel(first.shipment_id).accepted
    second = adapter.create_shipment(request(), "k-r2")
    sandbox.advance(second.tracking_numbers[0], steps=1, webhook=False)
    refused = adapter.cancel(second.shipment_id)
    assert not refused.accepted and refused.raw_status == "rejected"


def test_return_shipment_is_flagged_is_return(sandbox):
    result = easypost(sandbox).return_label(request(), "k-ret")
    shipment = sandbox.shipments[result.shipment_id]
    assert shipment["is_return"] is True and result.labels


def test_advance_posts_signed_easypost_webhooks_that_verify(sandbox, receiver):
    receiver.reset()
    code = easypost(sandbox).create_shipment(request(), "k-w").tracking_numbers[0]
    deliveries = sandbox.advance(code, url=receiver.url + "/hook", duplicates=1, shuffle=5)
    assert len(deliveries) == 8 and all(d["status"] == 200 for d in deliveries)
    verifier = make_verifier("easypost", ["sandbox-easypost-secret"])
    events = {}
    for call in receiver.calls:
        body = call["body"].encode()
        verifier.verify(call["headers"], body)
        for ev in EasyPostNormalizer().normalize(json.loads(body)):
            events[ev.external_id] = ev
    # duplicates and shuffling deliver the same scans: 1 label_created + 4 steps
    assert sorted(e.code for e in events.values()) == sorted(
        ["pre_transit", "in_transit", "in_transit", "out_for_delivery", "delivered"])


def test_polled_tracker_and_webhook_give_the_same_external_ids(sandbox):
    adapter = easypost(sandbox)
    code = adapter.create_shipment(request(), "k-p").tracking_numbers[0]
    pushed = sandbox.advance(code, steps=2, webhook=False)
    pushed_ids = {e.external_id for d in pushed
                  for e in EasyPostNormalizer().normalize(d["payload"])}
    polled_ids = {e.external_id for e in adapter.track([code])}
    batch = adapter.track_batch([code, "UNKNOWN"])
    assert pushed_ids == polled_ids == {e.external_id for e in batch[code]}


def test_batch_read_reports_finalized_trackers(sandbox):
    adapter = easypost(sandbox)
    codes = [adapter.create_shipment(request(), f"k-b{i}").tracking_numbers[0]
             for i in range(3)]
    sandbox.advance(codes[1], webhook=False)
    before = sandbox.requests
    batch = adapter.track_batch(codes)
    assert sandbox.requests == before + 1
    assert batch[None] == [codes[1]] and set(batch) == {None, *codes}


def test_sendcloud_parcel_label_cancel_and_status(sandbox):
    adapter = sendcloud(sandbox)
    result = adapter.create_shipment(request(parcels=2), "sc-1")
    assert len(result.tracking_numbers) == 2
    assert all(label.content.startswith(b"%PDF-") for label in result.labels)
    first_id, second_id = result.shipment_id.split(",")
    assert adapter.get_parcel(first_id)["status"]["id"] == 1000
    assert adapter.cancel(first_id).accepted
    sandbox.advance(result.tracking_numbers[1], steps=1, webhook=False)
    refused = adapter.cancel(second_id)
    assert not refused.accepted and refused.raw_status == "failed"
    events = adapter.track([result.tracking_numbers[1]])
    assert [e.code for e in events] == ["22"]


def test_sendcloud_bad_address_is_a_carrier_error(sandbox):
    with pytest.raises(CarrierError) as err:
        sendcloud(sandbox).create_shipment(request(zip_code="00000"), "sc-bad")
    assert "postal_code" in err.value.message and "sec" not in err.value.message.split()


def test_sendcloud_webhooks_are_signed_and_normalize(sandbox, receiver):
    receiver.reset()
    code = sendcloud(sandbox).create_shipment(request(), "sc-w").tracking_numbers[0]
    sandbox.advance(code, scenario="return", url=receiver.url + "/sc")
    verifier = make_verifier("sendcloud", ["sandbox-sendcloud-secret"])
    codes = []
    for call in receiver.calls:
        verifier.verify(call["headers"], call["body"].encode())
        codes += [e.code for e in SendcloudNormalizer().parse(call["body"].encode())]
    assert codes == ["22", "62991", "62992"]


def test_signature_helpers_match_the_verifiers():
    body = b'{"a": 1}'
    make_verifier("easypost", ["s3cr\u00e9t"]).verify(
        {"X-Hmac-Signature": easypost_signature(body, "s3cr\u00e9t")}, body)
    make_verifier("sendcloud", ["k"]).verify(
        {"Sendcloud-Signature": sendcloud_signature(body, "k")}, body)


def test_missing_credentials_are_refused(sandbox):
    http = default_http()
    adapter = easypost(sandbox)
    req = adapter.request("POST", "/v2/shipments", json={}, auth=False)
    assert http(req).status == 401


def test_control_routes_over_http(sandbox):
    http = default_http()
    adapter = easypost(sandbox)
    answer = http(adapter.request("POST", "/_control", json={"latency_ms": 0}, auth=False))
    assert answer.status == 200 and answer.json()["latency_ms"] == 0
    bad = http(adapter.request("POST", "/_control", json={"nope": 1}, auth=False))
    assert bad.status == 400 and "nope" in bad.json()["error"]


def test_auto_advance_moves_every_shipment_and_posts_to_the_kind_url(receiver):
    server = CarrierSandbox(auto_advance=0.2,
                            webhook_url=receiver.url + "/hook/sandbox-{kind}").start()
    try:
        receiver.reset()
        code = easypost(server).create_shipment(request(), "k-auto").tracking_numbers[0]
        cancelled = easypost(server).create_shipment(request(), "k-auto2")
        easypost(server).cancel(cancelled.shipment_id)
        deadline = time.time() + 10
        while time.time() < deadline and server.trackers[code]["_step"] < 2:
            time.sleep(0.1)
        assert server.trackers[code]["_step"] >= 2
        assert server.trackers[cancelled.tracking_numbers[0]]["_step"] == 0
        assert {c["path"] for c in receiver.calls} == {"/hook/sandbox-easypost"}
    finally:
        server.stop()


def test_shipment_report_csv_parses_into_invoice_lines(sandbox):
    from shipsync import freight

    adapter = easypost(sandbox)
    result = adapter.create_shipment(request(), "k-rep")
    content = adapter.shipment_report("2026-11-01", "2026-11-30")
    lines = freight.parse_csv(content, freight.parse_column_map(adapter.REPORT_COLUMNS))
    assert [(li.tracking_number, li.amount, li.invoice_ref) for li in lines] == [
        (result.tracking_numbers[0], result.charge, result.shipment_id)]
    assert lines[0].invoice_date is not None


def test_shipment_report_needs_dates(sandbox):
    with pytest.raises(CarrierError) as err:
        easypost(sandbox).shipment_report("", "")
    # EasyPost's missing-parameter answer (cassette test_error's format)
    assert err.value.partner_code == "PARAMETER.REQUIRED" and err.value.http_status == 422


def test_sendcloud_polled_and_pushed_statuses_share_external_ids(sandbox):
    adapter = sendcloud(sandbox)
    code = adapter.create_shipment(request(), "sc-ids").tracking_numbers[0]
    pushed = sandbox.advance(code, steps=2, webhook=False)
    pushed_ids = [e.external_id for d in pushed for e in SendcloudNormalizer().normalize(
        d["payload"])]
    polled_ids = [e.external_id for e in adapter.track([code])]
    assert polled_ids == pushed_ids[-1:]


def test_the_demo_sandbox_clock_follows_the_wall_clock():
    """``real_clock`` (the CLI's default, so ``make demo``): events are stamped
    now, one second apart at least, never at the fixed test epoch."""
    from datetime import datetime, timedelta, timezone

    from shipsync.sandbox.carrier import CLI_DEFAULTS, EPOCH

    assert CLI_DEFAULTS["real_clock"] is True
    fixed = CarrierSandbox()
    assert fixed._tick() == EPOCH + timedelta(minutes=90)
    live = CarrierSandbox(real_clock=True)
    before = datetime.now(timezone.utc) - timedelta(seconds=2)
    first, second = live._tick(), live._tick()
    assert first >= before and first <= datetime.now(timezone.utc) + timedelta(seconds=2)
    assert second >= first + timedelta(seconds=1)
