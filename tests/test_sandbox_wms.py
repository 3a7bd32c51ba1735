"""shipsync.sandbox.wms: releases over loopback HTTP, confirmations signed or as files."""

import json
import threading
import urllib.request
from datetime import date
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shipsync.sandbox.wms import WmsSandbox, build_confirmations, build_return
from shipsync.signatures import StandardWebhooks
from shipsync.wms import files, json_format
from shipsync.wms.apply import MoveValues, PickingValues, build_release
from shipsync.wms.messages import Confirmation

SECRET = "whsec_" + "c2FuZGJveC13bXMtc2VjcmV0LTAxMjM0NTY3ODk="


def order(action="create", revision=1, ref="WH/OUT/0007"):
    picking = PickingValues(ref, "assigned", (
        MoveValues(1, "DESK", Decimal(4), "EA"),
        MoveValues(2, "LAMP", Decimal(2), "EA", tracking="lot", requested_lots=("L1",)),
    ), correlation_id="c-7")
    return build_release(picking, revision=revision, action=action,
                         requested_date=date(2026, 11, 3))


def post(url, payload, key=None):
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Idempotency-Key"] = key
    req = urllib.request.Request(url, json.dumps(payload).encode(), headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


class Collector:
    """A tiny Odoo stand-in that verifies and keeps the posted confirmations."""

    def __init__(self):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                StandardWebhooks([SECRET]).verify(dict(self.headers), body)
                received.append(json_format.parse_webhook(body))
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def collector():
    c = Collector()
    yield c
    c.close()


def test_release_is_accepted_once_per_idempotency_key():
    with WmsSandbox() as wms:
        assert post(wms.url + "/releases", order().to_dict(), "k1")[0] == 200
        assert post(wms.url + "/releases", order().to_dict(), "k1")[1]["status"] == "accepted"
        assert len(wms.calls) == 1


def test_bad_release_is_refused_with_400():
    with WmsSandbox() as wms:
        status, answer = post(wms.url + "/releases", {"order_ref": "X"})
        assert status == 400 and "missing" in answer["reason"]


def test_cancel_after_ship_is_refused(collector):
    with WmsSandbox(webhook_url=collector.url, secret=SECRET) as wms:
        post(wms.url + "/releases", order().to_dict())
        assert post(wms.url + "/releases", order("update", 2).to_dict())[1]["status"] == "updated"
        wms.confirm("WH/OUT/0007")
        status, answer = post(wms.url + "/releases", order("cancel", 3).to_dict())
        assert (status, answer["reason"]) == (409, "already shipped")


def test_confirmations_are_signed_and_posted_in_order(collector):
    with WmsSandbox(webhook_url=collector.url, secret=SECRET, split_packages=2,
                    substitute_lots={"L1": "L2"}) as wms:
        wms.receive(order().to_dict())
        sent = wms.confirm("WH/OUT/0007")
        assert [s for _c, s in sent] == [202, 202, 202]
        kinds = [c.kind for c in collector.received]
        assert kinds == ["pick_confirmed", "pack_confirmed", "ship_confirmed"]
        ship = collector.received[-1]
        assert len(ship.packages) == 2 and all(p.tracking_number for p in ship.packages)
        assert ship.lines[1].lots == (("L2", Decimal(2)),)  # substitute lot
        assert {line.package_ref for line in ship.lines} == {p.package_ref for p in ship.packages}


def test_timers_send_confirmations_after_the_configured_delays(collector):
    done = threading.Event()
    with WmsSandbox(webhook_url=collector.url, secret=SECRET,
                    delays={"pick_confirmed": 0.01, "ship_confirmed": 0.02}) as wms:
        wms.receive(order().to_dict())
        for _ in range(200):
            if len(collector.received) == 2:
                done.set()
                break
            threading.Event().wait(0.02)
    assert done.is_set()
    assert [c.kind for c in collector.received] == ["pick_confirmed", "ship_confirmed"]


@pytest.mark.parametrize("mismatch", ["unknown_product", "unknown_lot", "over_quantity"])
def test_mismatch_scenarios_change_the_ship_confirmation(mismatch):
    ship = build_confirmations(order(), ("ship_confirmed",), mismatch=mismatch)[0]
    codes = [line.product_code for line in ship.lines]
    if mismatch == "unknown_product":
        assert "UNKNOWN-SKU" in codes
    elif mismatch == "unknown_lot":
        assert ship.lines[0].lots[0][0] == "NO-SUCH-LOT"
    else:
        assert ship.lines[0].quantity == 9


def test_partial_ships_half_of_the_first_line():
    ship = build_confirmations(order(), ("ship_confirmed",), partial=True)[0]
    assert [line.quantity for line in ship.lines] == [2, 2]


@pytest.mark.parametrize("fmt", ["csv", "json", "x12"])
def test_files_mode_writes_readable_confirmation_files(tmp_path, fmt):
    wms = WmsSandbox(mode="files", exchange_dir=str(tmp_path), file_format=fmt)
    wms.receive(order().to_dict())
    wms.confirm("WH/OUT/0007", kinds=("ship_confirmed",))
    (path,) = files.list_inbound(tmp_path)
    (conf,) = files.read_confirmations(path.name, path.read_bytes())
    assert isinstance(conf, Confirmation) and conf.kind == "ship_confirmed"
    assert conf.order_ref == "WH/OUT/0007"


def test_stock_snapshot_is_served_as_wms_stock_v1():
    stock = [{"product_code": "DESK", "location": "A-1", "lot": "", "quantity": "7"}]
    with WmsSandbox(stock=stock) as wms:
        with urllib.request.urlopen(wms.url + "/stock", timeout=5) as resp:
            lines = json_format.read_stock(resp.read())
    assert [(x.product_code, x.quantity) for x in lines] == [("DESK", 7)]


def test_return_receipt_returns_what_was_shipped():
    wms = WmsSandbox()
    wms.receive(order().to_dict())
    entry = wms.orders["WH/OUT/0007"]
    entry["shipped"] = build_confirmations(entry["order"], ("ship_confirmed",))[0]
    conf = build_return(entry["order"], entry["shipped"], condition_code="DAMAGED")
    assert conf.kind == "return_received" and conf.condition_code == "DAMAGED"
    assert [(x.product_code, x.quantity) for x in conf.lines] == [("DESK", 4), ("LAMP", 2)]


def test_command_line_serves_the_demo_defaults():
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "shipsync.sandbox", "wms", "--port", "0",
                             "--set", "split_packages=3"], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("wms listening on http://127.0.0.1:")
        url = line.split()[-1]
        with urllib.request.urlopen(url + "/stock", timeout=5) as resp:
            codes = [x.product_code for x in json_format.read_stock(resp.read())]
        assert "3PL-DESK" in codes
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_mismatch_rate_makes_timed_ship_confirmations_mismatch(collector):
    with WmsSandbox(webhook_url=collector.url, secret=SECRET, seed=7, mismatch_rate=1.0,
                    delays={"ship_confirmed": 0.01}) as wms:
        wms.receive(order().to_dict())
        for _ in range(200):
            if collector.received:
                break
            threading.Event().wait(0.02)
    (ship,) = collector.received
    normal = build_confirmations(order(), ("ship_confirmed",))[0]
    assert ship.lines != normal.lines  # one of the mismatch kinds was applied
