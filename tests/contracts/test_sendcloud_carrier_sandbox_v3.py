"""The demo's carrier sandbox (``python -m shipsync.sandbox carrier``, a real process on
127.0.0.1) answers Sendcloud v3 as Sendcloud's v3 OpenAPI documents say.

The v3 adapter books, looks up, tracks and cancels through the command-line sandbox;
every request it sends and every answer it gets is validated with ``openapi-core``
against the Shipments / Parcel Tracking documents, and the webhooks the sandbox posts
for a v3 shipment against the v3 webhooks document.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
import requests

from shipsync import mapping
from shipsync.adapters.base import CarrierError
from shipsync.mapping import StatusMapper
from shipsync.partners.sendcloud import shipments_v3 as v3
from shipsync.partners.sendcloud.inbound import SendcloudNormalizer
from shipsync.transport import new_session, send

from .openapi import load_spec, validate_webhook
from .test_sendcloud_v3_contract import SHIPMENTS, TRACKING, request, validate_exchange

WEBHOOKS = "sendcloud-v3-webhooks-openapi.yml"
PUBLIC, SECRET = "demo-public", "demo-secret"


@pytest.fixture(scope="module")
def specs(contracts_dir):
    return {name: load_spec(contracts_dir, name) for name in (SHIPMENTS, TRACKING, WEBHOOKS)}


@pytest.fixture(scope="module")
def cli():
    """``python -m shipsync.sandbox carrier`` as the demo starts it (no auto-advance,
    no webhook target, v3 keys set)."""
    proc = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "shipsync.sandbox", "carrier", "--set", "auto_advance=0",
         "--set", "webhook_url=null", "--set", f"sendcloud_public_key={PUBLIC}",
         "--set", f"sendcloud_secret_key={SECRET}"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = proc.stdout.readline()
        assert line.startswith("carrier listening on "), line
        yield line.split()[-1]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def exchanges(cli, specs):
    """The adapter's exchanges with the CLI sandbox; at teardown each one is validated
    against the document of its path."""
    seen: list[tuple] = []
    yield seen
    for method, url, *rest in seen:
        validate_exchange(specs, method, url[len(cli):], *rest)


def adapter(cli, exchanges, key=f"{PUBLIC}:{SECRET}"):
    session = new_session()

    def http(req):
        result = send(session, req)
        try:
            answer = json.loads(result.body) if result.body else None
        except ValueError:
            answer = result.body
        exchanges.append((req.method, req.url, req.json, dict(req.headers), result.status,
                          answer))
        return result

    return v3.SendcloudV3Adapter(cli, key, http=http)


def control(cli, path, **data):
    answer = requests.post(cli + "/_control" + path, json=data, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_v3_booking_tracking_and_cancel_through_the_cli_sandbox(cli, exchanges, specs):
    sc = adapter(cli, exchanges)
    booked = sc.create_shipment(request(), "cli-1:ship:0")
    assert booked.shipment_id and booked.raw_status == "READY_TO_SEND"
    assert booked.labels and booked.labels[0].content.startswith(b"%PDF-")
    number = booked.tracking_numbers[0]
    # a retry of the same booking finds it by external_reference_id: no second shipment
    again = adapter(cli, exchanges).create_shipment(request(), "cli-1:ship:0")
    assert again.shipment_id == booked.shipment_id
    assert [e[4] for e in exchanges if e[1].endswith("/announce")] == [201]

    deliveries = control(cli, "/advance", tracking_code=number, steps=2, webhook=False)[
        "deliveries"]
    assert [d["payload"]["parcel"]["status"]["id"] for d in deliveries] == [22, 3]
    for delivery in deliveries:  # what Sendcloud's v3 webhooks document declares
        validate_webhook(specs[WEBHOOKS], "ParcelStatusChanged", delivery["payload"])
    pushed = [e for d in deliveries
              for e in SendcloudNormalizer().normalize(d["payload"])]
    assert [e.code for e in pushed] == ["22", "3"]

    events = sc.track([number, "3SNOSUCHPARCEL"])  # the unknown one: a documented 404
    assert [(e.code, e.subcode, e.tracking_number) for e in events] == [
        ("accepted", None, number)]
    mapped = StatusMapper(mapping.seed_for("sendcloud")).lookup(events[0].code)
    assert mapped is not None and mapped.milestone == "picked_up"

    cancelled = sc.cancel(booked.shipment_id)
    assert cancelled.accepted and cancelled.raw_status == "cancelled"
    refused = sc.cancel(booked.shipment_id)  # the document's "already being cancelled"
    assert not refused.accepted and refused.raw_status == "invalid"
    assert {e[4] for e in exchanges} >= {201, 200, 404, 409}


def test_v3_refusals_of_the_cli_sandbox_are_documented_errors(cli, exchanges):
    with pytest.raises(CarrierError) as err:
        adapter(cli, exchanges, key=f"{PUBLIC}:wrong").create_shipment(
            request(), "cli-2:ship:0")
    assert err.value.http_status == 401 and err.value.partner_code == "authentication_failed"
    with pytest.raises(CarrierError) as err:
        adapter(cli, exchanges).create_shipment(request(service="nosuch:option"),
                                                "cli-3:ship:0")
    assert err.value.http_status == 400 and err.value.partner_code == "invalid"
    assert "shipping_option_code" in err.value.message
    control(cli, "", bad_address=True)
    try:
        with pytest.raises(CarrierError) as err:
            adapter(cli, exchanges).create_shipment(request(), "cli-4:ship:0")
    finally:
        control(cli, "", bad_address=False)
    assert err.value.http_status == 400 and "/data/to_address/postal_code" in err.value.message
    # no credentials at all, and a body that is not JSON: the documents' error form
    bare = requests.post(cli + "/api/v3/shipments/announce", data=b"{", timeout=10)
    assert bare.status_code == 401
    assert bare.json()["errors"][0]["code"] == "authentication_failed"
    broken = requests.post(cli + "/api/v3/shipments/announce", data=b"{", timeout=10,
                           auth=(PUBLIC, SECRET))
    assert broken.status_code == 400 and broken.json()["errors"][0]["code"] == "invalid"
    assert urlsplit(cli).hostname == "127.0.0.1"
