"""`make screenshots`: the README's screenshots, taken from the demo with
headless Chromium (the dashboard, the exception workbench, a transfer and the
public tracking page), written as small JPEGs under docs/screenshots/.

It uses the demo served by `make demo` on DEMO_PORT (default 8069) when one
answers there, else starts one (tools/demo.py) and stops it afterwards.
Chromium is driven over its DevTools protocol (``websocket-client``, which
Odoo's own browser tests use): log in as admin, open each page, wait for what
it must show, capture the viewport."""

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "docs" / "screenshots"
PORT = int(os.environ.get("DEMO_PORT", "8069"))
DB = os.environ.get("DEMO_DB", "shipsync_demo")
WIDTH, HEIGHT = 1400, 860
QUALITY = 70

#: (file name, path, CSS selector the page must show before the capture).
PAGES = (
    ("dashboard.jpg", "/odoo/shipment-sync-dashboard?period=30d",
     ".o_ssm_tile[data-tile='exception_backlog'] canvas"),
    ("workbench.jpg", "/odoo/action-shipment_sync_monitor.shipment_sync_exception_action",
     ".o_kanban_record"),
    ("transfer.jpg", "TRANSFER", ".o_form_view .o_notebook"),
    ("tracking_page.jpg", "TRACKING", ".o_shipment_tracking"),
)


class Browser:
    """Headless Chromium with one page, driven over the DevTools protocol."""

    def __init__(self, width=WIDTH, height=HEIGHT):
        import websocket  # Odoo's browser tests use it as well

        self.profile = tempfile.mkdtemp(prefix="shipsync-shots-")
        port = _free_port()
        self.proc = subprocess.Popen(
            [_chromium(), "--headless=new", "--no-sandbox", "--disable-gpu",
             "--hide-scrollbars", f"--remote-debugging-port={port}",
             f"--user-data-dir={self.profile}", f"--window-size={width},{height}",
             "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        targets = _wait_json(f"http://127.0.0.1:{port}/json", 30)
        page = next(t for t in targets if t.get("type") == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30,
                                              suppress_origin=True)
        self.next_id = 0
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=False)

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def set_cookie(self, url, name, value):
        self.call("Network.setCookie", url=url, name=name, value=value)

    def open(self, url, selector, timeout=90):
        """Navigate to ``url`` and wait until ``selector`` matches an element."""
        self.call("Page.navigate", url=url)
        deadline = time.time() + timeout
        probe = f"!!document.querySelector({json.dumps(selector)})"
        while time.time() < deadline:
            if self.evaluate(probe):
                time.sleep(1.0)  # let charts and fonts settle
                return
            time.sleep(0.3)
        raise TimeoutError(f"{url}: nothing matches {selector} after {timeout} s")

    def capture(self, path, quality=QUALITY):
        data = self.call("Page.captureScreenshot", format="jpeg", quality=quality)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self):
        try:
            self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            shutil.rmtree(self.profile, ignore_errors=True)


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise SystemExit("make screenshots needs Chromium (apt-get install chromium)")


def _free_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_json(url, seconds):
    deadline = time.time() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return json.loads(resp.read())
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.2)


def _rpc(base, path, params, session=None):
    request = urllib.request.Request(
        f"{base}{path}", data=json.dumps({"jsonrpc": "2.0", "params": params}).encode(),
        headers={"Content-Type": "application/json",
                 **({"Cookie": f"session_id={session}"} if session else {})})
    with urllib.request.urlopen(request, timeout=60) as resp:
        cookie = resp.headers.get("Set-Cookie", "")
        body = json.loads(resp.read())
    if body.get("error"):
        raise RuntimeError(f"{path}: {body['error'].get('data', {}).get('message')}")
    session = next((part.split("=", 1)[1] for part in cookie.split(";")
                    if part.strip().startswith("session_id=")), session)
    return body["result"], session


def _demo_targets(base, session):
    """The transfer and the tracking page to show: the demo's delivery with
    the most ledger events (a shipment that moved)."""
    result, _s = _rpc(base, "/web/dataset/call_kw", {
        "model": "shipment.sync.event", "method": "read_group", "args": [],
        "kwargs": {"domain": [("picking_id.picking_type_code", "=", "outgoing"),
                              ("state", "=", "applied")],
                   "fields": ["picking_id"], "groupby": ["picking_id"],
                   "orderby": "picking_id_count desc", "limit": 1}}, session)
    if not result:
        raise SystemExit("the demo has no delivery with events yet")
    picking_id = result[0]["picking_id"][0]
    action, _s = _rpc(base, "/web/dataset/call_kw", {
        "model": "stock.picking", "method": "action_shipment_open_tracking_page",
        "args": [[picking_id]], "kwargs": {}}, session)
    tracking = action["url"].split("/shipment/track/", 1)[1]
    return {"TRANSFER": f"/odoo/action-stock.action_picking_tree_all/{picking_id}",
            "TRACKING": f"/shipment/track/{tracking}"}


def take(base, out=OUT):
    _r, session = _rpc(base, "/web/session/authenticate",
                       {"db": DB, "login": "admin", "password": "admin"})
    targets = _demo_targets(base, session)
    browser = Browser()
    written = []
    try:
        browser.set_cookie(base, "session_id", session)
        for name, path, selector in PAGES:
            browser.open(base + targets.get(path, path), selector)
            written.append(browser.capture(out / name))
            print(f"==> {written[-1].relative_to(REPO)} ({written[-1].stat().st_size // 1024} kB)",
                  flush=True)
    finally:
        browser.close()
    return written


def _up(base):
    try:
        with urllib.request.urlopen(f"{base}/web/health", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def main():
    base = f"http://127.0.0.1:{PORT}"
    demo = None
    if not _up(base):
        print(f"==> no demo on port {PORT}: starting one (make demo)", flush=True)
        demo = subprocess.Popen([sys.executable, str(REPO / "tools" / "demo.py")],
                                env=dict(os.environ, DEMO_PORT=str(PORT)),
                                stdout=subprocess.PIPE, text=True)
        # Ready once it says so: served, and its demo traffic posted.
        for line in demo.stdout:
            print(line, end="", flush=True)
            if line.startswith("==> Odoo on"):
                break
        else:
            raise SystemExit("the demo did not start")
    try:
        take(base)
    finally:
        if demo is not None:
            demo.send_signal(signal.SIGTERM)
            demo.wait(60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
