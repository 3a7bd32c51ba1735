"""Label spend against EasyPost's recorded traffic: a booking whose buy answer is lost,
retried in a fresh process, pays for one label.

The replay server answers the create and the buy EasyPost's official SDK recorded
(cassette ``test_shipment_buy``). Each attempt is a fresh Python process that shares
nothing with the previous one but the booking journal file (what the Odoo journal rows
are for the outbox worker processes). Purchases are counted at the replay server.

SYNTHETIC parts (labelled in the replay server's ``received``): the buy's answer is
dropped after the recorded buy was consumed (EasyPost applied it); ``GET
/v2/shipments/{id}`` — a recorded route (cassette ``test_shipment_retrieve``), not
recorded for this shipment — answers this shipment's last recorded body (the bought
shipment) and, in the first attempt, a 503 (EasyPost unreachable for the read-back);
the label bytes behind the recorded S3 ``label_url``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from urllib.parse import urlsplit

from . import REPO
from .adapters import TEST_KEY
from .cassettes import load_cassette

LABEL_HOST = "https://easypost-files.s3.us-west-2.amazonaws.com"
SYNTHETIC_PNG = b"\x89PNG\r\n\x1a\n" + b"synthetic label bytes (not recorded)"

ATTEMPT = r"""
import json, sys
sys.path.insert(0, "tests")
from contracts.adapters import adapter, request_from_easypost
from shipsync.adapters.base import AdapterError
from shipsync.adapters.journal import FileJournal

url, key, journal, shipment, service = sys.argv[1:6]
req = request_from_easypost(json.loads(shipment), service=service)
ep = adapter("easypost", url, api_key=key, timeout=(2, 5), journal=FileJournal(journal))
try:
    result = ep.create_shipment(req, "contract-label-spend-1")
except AdapterError as exc:
    print(json.dumps({"error": exc.code, "retryable": exc.retryable, "message": exc.message}))
else:
    print(json.dumps({"shipment_id": result.shipment_id,
                      "tracking": list(result.tracking_numbers),
                      "labels": [len(label.content) for label in result.labels]}))
"""


def _attempt(server, journal, shipment: dict, service: str) -> dict:
    """One booking attempt in a fresh Python process."""
    done = subprocess.run(
        [sys.executable, "-c", ATTEMPT, server.base_url, TEST_KEY, str(journal),
         json.dumps(shipment), service],
        capture_output=True, text=True, cwd=REPO, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _on(files, body: bytes) -> bytes:
    """A synthetic answer's body with the label host on the file server (as ``rewrite``
    does for recorded answers)."""
    return body.replace(LABEL_HOST.encode(), files.synthetic_base.encode())


def test_a_lost_buy_answer_retried_in_a_fresh_process_pays_once(
        contracts_dir, replay_server, tmp_path):
    cassette = load_cassette(contracts_dir, "test_shipment_buy")
    create, buy = cassette.interactions[0], cassette.interactions[1]
    assert (create.method, create.path) == ("POST", "/v2/shipments")
    assert (buy.method, buy.path.rsplit("/", 1)[1]) == ("POST", "buy")
    shipment_id = buy.path.split("/")[3]
    assert create.response_json["id"] == shipment_id == buy.response_json["id"]
    [chosen] = [r for r in create.response_json["rates"]
                if r["id"] == buy.request_json["rate"]["id"]]
    service = f"{chosen['carrier']}:{chosen['service']}"

    server = replay_server("test_shipment_buy")
    files = replay_server()
    files.add_synthetic("GET", urlsplit(buy.response_json["postage_label"]["label_url"]).path,
                        SYNTHETIC_PNG, "image/png")
    server.rewrite(LABEL_HOST, files.synthetic_base)
    retrieve = f"/v2/shipments/{shipment_id}"
    server.add_synthetic("GET", retrieve, _on(files, buy.response_body), "application/json",
                         root=True)
    server.inject_fault("POST", buy.path, drop=True)
    server.inject_fault("GET", retrieve, status=503)
    journal = tmp_path / "journal.json"

    first = _attempt(server, journal, create.request_json["shipment"], service)

    assert first["retryable"] is True, first
    assert json.loads(journal.read_text())["contract-label-spend-1"]["event"] == "buying"
    assert [r.fault for r in server.received if r.fault] == ["dropped", "status 503"]

    second = _attempt(server, journal, create.request_json["shipment"], service)

    assert second == {"shipment_id": shipment_id, "tracking": [buy.response_json["tracking_code"]],
                      "labels": [len(SYNTHETIC_PNG)]}
    # One shipment created, one purchase: the retry read the shipment back and used its label.
    assert len(server.requests_to("POST", "/v2/shipments")) == 1
    assert len(server.requests_to("POST", buy.path)) == 1
    assert [r.fault for r in server.requests_to("GET", retrieve)] == ["status 503", ""]
    assert json.loads(journal.read_text())["contract-label-spend-1"] == {
        "event": "bought", "shipment_id": shipment_id,
        "tracking_number": buy.response_json["tracking_code"], "adapter": "easypost"}


def test_a_lost_buy_answer_read_back_at_once_is_the_label(contracts_dir, replay_server,
                                                          tmp_path):
    cassette = load_cassette(contracts_dir, "test_shipment_buy")
    create, buy = cassette.interactions[0], cassette.interactions[1]
    shipment_id = buy.path.split("/")[3]
    [chosen] = [r for r in create.response_json["rates"]
                if r["id"] == buy.request_json["rate"]["id"]]
    server = replay_server("test_shipment_buy")
    files = replay_server()
    files.add_synthetic("GET", urlsplit(buy.response_json["postage_label"]["label_url"]).path,
                        SYNTHETIC_PNG, "image/png")
    server.rewrite(LABEL_HOST, files.synthetic_base)
    server.add_synthetic("GET", f"/v2/shipments/{shipment_id}", _on(files, buy.response_body),
                         "application/json", root=True)
    server.inject_fault("POST", buy.path, drop=True)

    result = _attempt(server, tmp_path / "journal.json", create.request_json["shipment"],
                      f"{chosen['carrier']}:{chosen['service']}")

    assert result["tracking"] == [buy.response_json["tracking_code"]], result
    assert len(server.requests_to("POST", buy.path)) == 1
    assert len(server.requests_to("POST", "/v2/shipments")) == 1
