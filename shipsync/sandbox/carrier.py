"""A carrier on loopback: EasyPost-style and Sendcloud-style API subsets, labels, tracking
histories and signed webhooks (stdlib + reportlab only).

EasyPost subset (HTTP Basic, API key as user)::

    POST /v2/shipments                 create (rates come back on the shipment)
    POST /v2/shipments/{id}/buy        buy a rate: tracking code, postage_label, tracker
    POST /v2/shipments/{id}/refund     refund_status submitted / rejected (after pickup)
    POST /v2/trackers                  the tracker of a tracking code (created if needed)
    GET  /v2/trackers/{id}             one tracker
    POST /v2/reports/shipment          a shipment report (the carrier's invoice data)
    GET  /v2/reports/shipment/{id}     ready on the first read: ``url`` of its CSV
    GET  /v2/trackers?tracking_codes=a,b,c&page_size=N
                                       batch read used by the poller (sandbox extension:
                                       EasyPost's list filters on one tracking_code)

Sendcloud subset (HTTP Basic public:secret)::

    POST /api/v2/parcels               {"parcel": {...}} or {"parcels": [...]}, with label
    GET  /api/v2/parcels/{id}          the parcel and its current status
    GET  /api/v2/parcels?tracking_number=X
    POST /api/v2/parcels/{id}/cancel   cancelled (200) / failed (400, already moving)

AfterShip subset (tracking only, header ``as-api-key``; ``<v>`` is a version such as
``2025-07``, or the legacy ``/v4`` prefix)::

    POST /tracking/<v>/trackings       register a tracking (201); a repeat answers 400 with
                                       ``meta.code`` 4003 "Tracking already exists"
    GET  /tracking/<v>/trackings?tracking_numbers=a,b
                                       the registered trackings, with their checkpoints
    GET  /tracking/<v>/trackings/{id}  one tracking

A tracking registered for a shipment of the sandbox follows it: every step of
:meth:`CarrierSandbox.advance` becomes an AfterShip checkpoint (``tag`` / ``subtag``)
and a ``tracking_update`` webhook signed ``aftership-hmac-sha256`` (base64 HMAC-SHA256
of the raw body) is posted to ``aftership_url`` / the ``aftership_webhook_url`` knob.
A tracking of a number the sandbox did not ship moves along its own AfterShip scenario.

Labels: ``GET /labels/{tracking}.pdf`` (a real one-page PDF) and ``.zpl``.

SOAP carrier (see :mod:`.carrier_soap`): ``GET /soap?wsdl`` and ``POST /soap``
(CreateShipment, GetLabel, Track, Cancel), for the generic zeep adapter.

A shipment bought/created gets the first history step (``pre_transit`` /
``label_created`` or Sendcloud status 1000). :meth:`CarrierSandbox.advance` (or
``POST /_control/advance``) moves it along a scenario and POSTs signed webhooks to
``webhook_url`` (EasyPost ``X-Hmac-Signature: hmac-sha256-hex=...``, Sendcloud
``Sendcloud-Signature``), optionally duplicated and shuffled.

Scenarios: ``delivered``, ``attempt`` (a failed attempt, then delivered),
``exception`` (weather delay, then delivered), ``return`` (refused, back to sender),
``lost``.

Knobs (``configure(**knobs)`` or ``POST /_control``): ``latency_ms``, ``error_rate`` +
``seed``, ``fail_next`` + ``fail_status`` (e.g. 429) + ``retry_after``,
``outage_until`` (epoch seconds: 503), ``malformed`` (2xx with a non-JSON body),
``bad_address`` (every create answers 422), ``webhook_url`` (``{kind}`` is replaced by
``easypost`` / ``sendcloud``), ``easypost_secret``, ``sendcloud_secret``,
``auto_advance`` (seconds: every shipment moves one step along ``auto_scenario`` and its
webhook is posted, for a live demo; 0 = off), ``aftership_webhook_url``,
``aftership_secret``, ``aftership_api_key`` (None: any non-empty ``as-api-key`` is
accepted). A destination zip ``00000`` always gets 422.
Control routes: ``GET /_control/log``, ``POST /_control/reset``, ``GET /_control/health``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import itertools
import json
import random
import socket
import threading
import time
import unicodedata
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit
from urllib.request import Request, urlopen

from .common import BackgroundServer, SandboxHandler

DEFAULT_KNOBS: dict = {
    "latency_ms": 0,
    "error_rate": 0.0,
    "seed": None,
    "fail_next": 0,
    "fail_status": 503,
    "retry_after": None,
    "outage_until": None,
    "malformed": False,
    "bad_address": False,
    "webhook_url": None,
    "auto_advance": 0,
    "auto_scenario": "delivered",
    "easypost_secret": "sandbox-easypost-secret",
    "sendcloud_secret": "sandbox-sendcloud-secret",
    "aftership_webhook_url": None,
    "aftership_secret": "sandbox-aftership-secret",
    "aftership_api_key": None,
    # The demo's sandbox follows the wall clock (events stamped now); tests
    # keep the fixed EPOCH and its 90-minute steps.
    "real_clock": False,
}
EPOCH = datetime(2026, 11, 2, 8, 0, tzinfo=timezone.utc)

#: EasyPost (status, status_detail, message) steps after label_created, per scenario.
EP_SCENARIOS: dict[str, list[tuple[str, str, str]]] = {
    "delivered": [
        ("in_transit", "departed_origin_facility", "Departed origin facility"),
        ("in_transit", "arrived_at_facility", "Arrived at sort facility"),
        ("out_for_delivery", "out_for_delivery", "Out for delivery"),
        ("delivered", "arrived_at_destination", "Delivered, front door"),
    ],
    "attempt": [
        ("in_transit", "departed_origin_facility", "Departed origin facility"),
        ("out_for_delivery", "out_for_delivery", "Out for delivery"),
        ("delivery_exception", "recipient_not_available", "Delivery attempted, notice left"),
        ("out_for_delivery", "out_for_delivery", "Out for delivery (2nd attempt)"),
        ("delivered", "arrived_at_destination", "Delivered"),
    ],
    "exception": [
        ("in_transit", "departed_origin_facility", "Departed origin facility"),
        ("in_transit", "weather_delay", "Delayed by weather"),
        ("in_transit", "arrived_at_facility", "Arrived at sort facility"),
        ("delivered", "arrived_at_destination", "Delivered"),
    ],
    "return": [
        ("in_transit", "departed_origin_facility", "Departed origin facility"),
        ("out_for_delivery", "out_for_delivery", "Out for delivery"),
        ("return_to_sender", "return", "Refused by recipient, returning to sender"),
        ("delivered", "return", "Delivered back to sender"),
    ],
    "lost": [
        ("in_transit", "departed_origin_facility", "Departed origin facility"),
        ("failure", "lost", "Parcel lost"),
    ],
}
#: Sendcloud status ids per scenario (after 1000 "Ready to send").
SC_SCENARIOS: dict[str, list[tuple[int, str]]] = {
    "delivered": [(22, "Shipment picked up by driver"), (3, "En route to sorting center"),
                  (92, "Driver en route"), (11, "Delivered")],
    "attempt": [(22, "Shipment picked up by driver"), (92, "Driver en route"),
                (8, "Delivery attempt failed"), (92, "Driver en route"), (11, "Delivered")],
    "exception": [(22, "Shipment picked up by driver"), (4, "Delivery delayed"),
                  (5, "Sorted"), (11, "Delivered")],
    "return": [(22, "Shipment picked up by driver"), (62991, "Refused by recipient"),
               (62992, "Returned to sender")],
    "lost": [(22, "Shipment picked up by driver"), (80, "Unable to deliver")],
}
#: AfterShip (tag, subtag, message) steps of a tracking the sandbox does not ship itself.
AS_SCENARIOS: dict[str, list[tuple[str, str, str]]] = {
    "delivered": [
        ("InfoReceived", "InfoReceived_001", "Shipment information received"),
        ("InTransit", "InTransit_002", "Picked up by the carrier"),
        ("InTransit", "InTransit_001", "Arrived at sort facility"),
        ("OutForDelivery", "OutForDelivery_001", "Out for delivery"),
        ("Delivered", "Delivered_001", "Delivered"),
    ],
    "attempt": [
        ("InTransit", "InTransit_002", "Picked up by the carrier"),
        ("OutForDelivery", "OutForDelivery_001", "Out for delivery"),
        ("AttemptFail", "AttemptFail_002", "Delivery attempted, recipient not available"),
        ("OutForDelivery", "OutForDelivery_001", "Out for delivery (2nd attempt)"),
        ("Delivered", "Delivered_001", "Delivered"),
    ],
    "exception": [
        ("InTransit", "InTransit_002", "Picked up by the carrier"),
        ("Exception", "Exception_017", "Delayed by weather"),
        ("InTransit", "InTransit_001", "Arrived at sort facility"),
        ("Delivered", "Delivered_001", "Delivered"),
    ],
    "return": [
        ("InTransit", "InTransit_002", "Picked up by the carrier"),
        ("Exception", "Exception_010", "Refused, returning to sender"),
        ("Exception", "Exception_011", "Returned to sender"),
    ],
    "lost": [
        ("InTransit", "InTransit_002", "Picked up by the carrier"),
        ("Exception", "Exception_013", "Parcel lost"),
    ],
}
#: The AfterShip (tag, subtag) of an EasyPost (status, status_detail) step.
AS_FROM_EASYPOST: dict[tuple[str, str], tuple[str, str]] = {
    ("pre_transit", "label_created"): ("InfoReceived", "InfoReceived_001"),
    ("in_transit", "departed_origin_facility"): ("InTransit", "InTransit_002"),
    ("in_transit", "arrived_at_facility"): ("InTransit", "InTransit_001"),
    ("in_transit", "weather_delay"): ("Exception", "Exception_017"),
    ("out_for_delivery", "out_for_delivery"): ("OutForDelivery", "OutForDelivery_001"),
    ("delivery_exception", "recipient_not_available"): ("AttemptFail", "AttemptFail_002"),
    ("return_to_sender", "return"): ("Exception", "Exception_010"),
    ("delivered", "return"): ("Exception", "Exception_011"),
    ("delivered", "arrived_at_destination"): ("Delivered", "Delivered_001"),
    ("failure", "lost"): ("Exception", "Exception_013"),
    ("cancelled", "cancelled"): ("Expired", "Expired_001"),
}
#: The AfterShip (tag, subtag) of a Sendcloud status id.
AS_FROM_SENDCLOUD: dict[int, tuple[str, str]] = {
    1000: ("InfoReceived", "InfoReceived_001"), 22: ("InTransit", "InTransit_002"),
    3: ("InTransit", "InTransit_001"), 5: ("InTransit", "InTransit_001"),
    4: ("Exception", "Exception_005"), 92: ("OutForDelivery", "OutForDelivery_001"),
    8: ("AttemptFail", "AttemptFail_002"), 11: ("Delivered", "Delivered_001"),
    62991: ("Exception", "Exception_010"), 62992: ("Exception", "Exception_011"),
    80: ("Exception", "Exception_013"), 2000: ("Expired", "Expired_001"),
}
EP_TERMINAL = ("delivered", "failure", "cancelled")
SC_TERMINAL = (11, 80, 93, 2000, 62992)


def _iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def render_pdf_label(tracking: str, lines: list[str]) -> bytes:
    """A one-page 4x6 in PDF label (reportlab), or a hand-written minimal PDF."""
    try:
        from reportlab.lib.units import inch
        from reportlab.pdfgen import canvas
    except ImportError:  # pragma: no cover - reportlab is a requirement of Odoo
        return _minimal_pdf(tracking)
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=(4 * inch, 6 * inch))
    pdf.setTitle(f"Label {tracking}")
    pdf.setFont("Helvetica-Bold", 16)
    pdf.drawString(0.3 * inch, 5.5 * inch, "SHIPSYNC SANDBOX")
    pdf.setFont("Helvetica", 10)
    y = 5.1 * inch
    for line in lines:
        pdf.drawString(0.3 * inch, y, line[:60])
        y -= 0.2 * inch
    pdf.setFont("Courier-Bold", 14)
    pdf.drawString(0.3 * inch, 1.0 * inch, tracking)
    pdf.showPage()
    pdf.save()
    return buf.getvalue()


def _minimal_pdf(text: str) -> bytes:
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 288 432] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        None,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    stream = f"BT /F1 12 Tf 20 400 Td ({text}) Tj ET".encode()
    objs[3] = b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"
    out, offsets = [b"%PDF-1.4\n"], []
    for i, obj in enumerate(objs, 1):
        offsets.append(sum(len(x) for x in out))
        out.append(b"%d 0 obj\n" % i + obj + b"\nendobj\n")
    xref = sum(len(x) for x in out)
    out.append(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1))
    out += [b"%010d 00000 n \n" % o for o in offsets]
    out.append(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
               % (len(objs) + 1, xref))
    return b"".join(out)


def render_zpl_label(tracking: str, lines: list[str]) -> bytes:
    body = ["^XA", "^CF0,40", "^FO30,30^FDSHIPSYNC SANDBOX^FS", "^CF0,25"]
    for i, line in enumerate(lines):
        body.append(f"^FO30,{100 + 35 * i}^FD{line[:40]}^FS")
    body += [f"^FO30,600^BCN,120,Y,N,N^FD{tracking}^FS", "^XZ"]
    return ("\n".join(body) + "\n").encode()


def easypost_signature(body: bytes, secret: str) -> str:
    key = unicodedata.normalize("NFKD", secret).encode()
    return "hmac-sha256-hex=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def sendcloud_signature(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def aftership_signature(body: bytes, secret: str) -> str:
    """``aftership-hmac-sha256``: base64 of the HMAC-SHA256 of the raw body."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


class CarrierHandler(SandboxHandler):
    server_version = "shipsync-carrier/1"

    def setup(self):
        super().setup()
        # Headers and body go out in two writes: without TCP_NODELAY, Nagle holds the
        # body until the client's delayed ACK (40 ms) on every keep-alive response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        owner: CarrierSandbox = self.owner
        try:
            body = self.read_body()
        except ValueError:
            self.send_json(413, {"error": {"code": "TOO_LARGE", "message": "body too large"}})
            return
        path = self.path_only
        query = parse_qs(urlsplit(self.path).query)
        if path.startswith("/_control"):
            status, payload = owner.control(method, path, body)
            self.send_json(status, payload)
            return
        owner.requests += 1
        status, payload, ctype, headers = owner.handle(
            method, path, query, body, dict(self.headers.items()), self.headers)
        self.server.log_line(f"{method} {self.path} -> {status}")
        try:
            if isinstance(payload, bytes):
                self.send_bytes(status, payload, ctype, headers)
            else:
                self.send_json(status, payload, headers)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (its read timeout): the call was applied all the same.
            self.close_connection = True


class CarrierSandbox(BackgroundServer):
    """The carrier sandbox; thread-safe; usable in-process (``start()``) or from the CLI."""

    handler_class = CarrierHandler
    name = "carrier"

    def __init__(self, port: int = 0, host: str = "127.0.0.1", verbose: bool = False,
                 **knobs):
        super().__init__(port=port, host=host, verbose=verbose)
        self._lock = threading.RLock()
        self.reset()
        self.configure(**knobs)

    def _bind(self):
        server = super()._bind()
        if not getattr(self, "_ticker", None):
            self._ticker = threading.Thread(target=self._tick_loop, daemon=True,
                                            name=f"shipsync-carrier-ticker-{self.port}")
            self._ticker.start()
        return server

    def _tick_loop(self) -> None:
        last = time.monotonic()
        while self._server is not None and not self._server.stopping.is_set():
            time.sleep(0.5)
            every = float(self.knobs.get("auto_advance") or 0)
            if every <= 0 or time.monotonic() - last < every:
                continue
            last = time.monotonic()
            self.advance_all(self.knobs.get("auto_scenario") or "delivered")
        self._ticker = None

    def advance_all(self, scenario: str = "delivered") -> int:
        """One step for every shipment not at the end of ``scenario`` (webhooks posted)."""
        with self._lock:
            codes = [c for c, t in self.trackers.items()
                     if t.get("_kind") == "easypost" and t.get("status") != "cancelled"
                     or t.get("_kind") == "sendcloud"
                     and self.parcels[t["parcel_id"]]["status"]["id"] != 2000]
        moved = 0
        for code in codes:
            try:
                if self.advance(code, scenario=scenario, steps=1):
                    moved += 1
            except (KeyError, IndexError):
                continue
        return moved

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        with getattr(self, "_lock", threading.RLock()):
            self.knobs = dict(DEFAULT_KNOBS)
            self.shipments: dict[str, dict] = {}
            self.trackers: dict[str, dict] = {}  # by tracking code
            self.parcels: dict[int, dict] = {}
            self.soap_shipments: dict[str, list[str]] = {}
            self.reports: dict[str, dict] = {}
            self.as_trackings: dict[str, dict] = {}  # AfterShip, by tracking number
            self.idempotent: dict[str, tuple[int, object]] = {}
            self.calls: list[dict] = []
            self.webhooks: list[dict] = []
            self.requests = 0
            self._ids = itertools.count(1)
            self._rng = random.Random()
            self.clock = EPOCH

    def configure(self, **knobs) -> dict:
        unknown = sorted(set(knobs) - set(DEFAULT_KNOBS))
        if unknown:
            raise ValueError(f"unknown knob(s): {', '.join(unknown)}")
        with self._lock:
            self.knobs.update(knobs)
            if "seed" in knobs:
                self._rng = random.Random(knobs["seed"])
            if knobs.get("real_clock"):
                self.clock = datetime.now(timezone.utc).replace(microsecond=0)
        return dict(self.knobs)

    def _next(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):06d}{uuid.uuid4().hex[:8]}"

    def _tick(self, minutes: int = 90) -> datetime:
        if self.knobs.get("real_clock"):
            # Now, and never before the previous event (one second apart at least).
            now = datetime.now(timezone.utc).replace(microsecond=0)
            self.clock = max(now, self.clock + timedelta(seconds=1))
        else:
            self.clock += timedelta(minutes=minutes)
        return self.clock

    # ------------------------------------------------------------------ control
    def control(self, method: str, path: str, body: bytes) -> tuple[int, object]:
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return 400, {"error": "control body is not JSON"}
        try:
            if path == "/_control" and method == "POST":
                return 200, self.configure(**data)
            if path == "/_control" and method == "GET":
                return 200, dict(self.knobs)
            if path == "/_control/reset":
                self.reset()
                return 200, {"reset": True}
            if path == "/_control/log":
                return 200, {"calls": self.calls, "webhooks": self.webhooks,
                             "requests": self.requests}
            if path == "/_control/health":
                return 200, {"ok": True}
            if path == "/_control/advance" and method == "POST":
                return 200, {"deliveries": self.advance(**data)}
        except (TypeError, ValueError, KeyError) as exc:
            return 400, {"error": str(exc)}
        return 404, {"error": "unknown control route"}

    # ------------------------------------------------------------------ failures
    def _failure(self, method: str, path: str):
        k = self.knobs
        retry = {"Retry-After": str(k["retry_after"])} if k["retry_after"] is not None else {}
        if k["outage_until"] and time.time() < float(k["outage_until"]):
            return 503, {"error": {"code": "SERVICE.UNAVAILABLE",
                                   "message": "planned outage"}}, retry
        if k["fail_next"] > 0:
            k["fail_next"] -= 1
            return k["fail_status"], {"error": {"code": "SANDBOX.FAIL",
                                                "message": "injected failure"}}, retry
        if k["error_rate"] and self._rng.random() < float(k["error_rate"]):
            return k["fail_status"], {"error": {"code": "SANDBOX.RANDOM",
                                                "message": "random failure"}}, retry
        return None

    def handle(self, method, path, query, body, headers, raw_headers):
        with self._lock:
            self.calls.append({"method": method, "path": path,
                               "idempotency_key": raw_headers.get("Idempotency-Key")})
            failure = None if path.startswith(("/labels/", "/reports/")) \
                or (path == "/soap" and method == "GET") \
                else self._failure(method, path)
            latency = self.knobs["latency_ms"]
            malformed = self.knobs["malformed"]
        if latency:
            time.sleep(min(float(latency), 120_000) / 1000.0)
        if failure:
            status, payload, extra = failure
            return status, payload, "application/json", extra
        if path.startswith("/labels/"):
            return self._label(path)
        if path.startswith("/reports/"):
            return self._report_csv(path)
        if path == "/soap":
            from . import carrier_soap

            if method == "GET":
                return 200, carrier_soap.wsdl(f"{self.url}/soap"), "text/xml; charset=utf-8", {}
            with self._lock:
                status, payload = carrier_soap.handle(self, body)
            if malformed and status == 200:
                return status, b"<html>upstream proxy error</html>", "text/html", {}
            return status, payload, "text/xml; charset=utf-8", {}
        if _is_aftership(path):
            return self._as_handle(method, path, query, body, raw_headers, malformed)
        if not raw_headers.get("Authorization", "").startswith("Basic "):
            return 401, {"error": {"code": "APIKEY.REQUIRED",
                                   "message": "missing credentials"}}, "application/json", {}
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            return 400, {"error": {"code": "BAD.JSON", "message": "body is not JSON"}}, \
                "application/json", {}
        key = raw_headers.get("Idempotency-Key")
        with self._lock:
            if key and method == "POST" and (path, key) in self.idempotent:
                status, payload = self.idempotent[(path, key)]
                return status, payload, "application/json", {"Idempotent-Replayed": "true"}
            status, payload = self._route(method, path, query, data)
            if key and method == "POST" and 200 <= status < 300:
                self.idempotent[(path, key)] = (status, payload)
        if malformed and 200 <= status < 300:
            return status, b"<html>upstream proxy error</html>", "text/html", {}
        return status, payload, "application/json", {}

    def _route(self, method, path, query, data):
        parts = [p for p in path.split("/") if p]
        if parts[:2] == ["v2", "shipments"]:
            if method == "POST" and len(parts) == 2:
                return self._ep_create(data.get("shipment") or {})
            if method == "POST" and len(parts) == 4 and parts[3] == "buy":
                return self._ep_buy(parts[2], data)
            if method == "POST" and len(parts) == 4 and parts[3] == "refund":
                return self._ep_refund(parts[2])
            if method == "GET" and len(parts) == 3 and parts[2] in self.shipments:
                return 200, self.shipments[parts[2]]
        if parts[:3] == ["v2", "reports", "shipment"]:
            if method == "POST" and len(parts) == 3:
                return self._ep_report_create(data)
            if method == "GET" and len(parts) == 4:
                report = self.reports.get(parts[3])
                if not report:
                    return 404, _ep_error("NOT_FOUND", "report not found")
                report.update(status="available", url=f"{self.url}/reports/{report['id']}.csv")
                return 200, report
        if parts[:2] == ["v2", "trackers"]:
            if method == "POST" and len(parts) == 2:
                code = (data.get("tracker") or {}).get("tracking_code")
                if not code:
                    return 422, _ep_error("TRACKER.TRACKING_CODE.REQUIRED",
                                          "tracking_code is required")
                return 200, self._ep_tracker(code)
            if method == "GET" and len(parts) == 3:
                for tracker in self.trackers.values():
                    if tracker["id"] == parts[2]:
                        return 200, tracker
                return 404, _ep_error("NOT_FOUND", "tracker not found")
            if method == "GET" and len(parts) == 2:
                codes = ",".join(query.get("tracking_codes", [])).split(",")
                codes = [c for c in codes if c][: int((query.get("page_size") or ["100"])[0])]
                found = [self.trackers[c] for c in codes if c in self.trackers]
                return 200, {"trackers": found, "has_more": False}
        if parts[:3] == ["api", "v2", "parcels"]:
            if method == "POST" and len(parts) == 3:
                return self._sc_create(data)
            if method == "POST" and len(parts) == 5 and parts[4] == "cancel":
                return self._sc_cancel(parts[3])
            if method == "GET" and len(parts) == 4:
                parcel = self.parcels.get(int(parts[3])) if parts[3].isdigit() else None
                if not parcel:
                    return 404, {"error": {"code": 404, "message": "Not found"}}
                return 200, {"parcel": parcel}
            if method == "GET" and len(parts) == 3:
                wanted = (query.get("tracking_number") or [""])[0]
                return 200, {"parcels": [p for p in self.parcels.values()
                                         if p["tracking_number"] == wanted]}
        return 404, {"error": {"code": "NOT_FOUND", "message": f"no route {method} {path}"}}

    # ------------------------------------------------------------------ labels
    def _label(self, path: str):
        name = path.rsplit("/", 1)[-1]
        tracking, _, ext = name.rpartition(".")
        lines = [f"Tracking: {tracking}"]
        if tracking in self.trackers:
            lines.append(f"Ref: {self.trackers[tracking].get('_reference', '')}")
        if ext == "pdf":
            return 200, render_pdf_label(tracking, lines), "application/pdf", {}
        if ext == "zpl":
            return 200, render_zpl_label(tracking, lines), "application/zpl", {}
        return 404, {"error": {"code": "NOT_FOUND", "message": "no such label"}}, \
            "application/json", {}

    def _bad_address(self, to_address: dict) -> bool:
        return bool(self.knobs["bad_address"]) or to_address.get("zip") == "00000" \
            or to_address.get("postal_code") == "00000"

    # ------------------------------------------------------------------ EasyPost
    def _ep_create(self, shipment: dict):
        to = shipment.get("to_address") or {}
        if self._bad_address(to):
            return 422, _ep_error("ADDRESS.VERIFY.FAILURE", "Unable to verify address.",
                                  [{"field": "to_address.zip", "message": "invalid zip"}])
        parcel = shipment.get("parcel") or {}
        if not parcel.get("weight"):
            return 422, _ep_error("PARCEL.WEIGHT.REQUIRED", "Parcel weight is required.")
        sid = self._next("shp")
        weight = float(parcel["weight"])
        rates = [
            {"id": self._next("rate"), "object": "Rate", "carrier": "USPS", "service": svc,
             "rate": f"{base + weight * per:.2f}", "currency": "USD", "delivery_days": days,
             "shipment_id": sid}
            for svc, base, per, days in (("Priority", 7.0, 0.05, 2), ("Express", 25.0, 0.1, 1),
                                         ("GroundAdvantage", 5.0, 0.03, 5))
        ]
        record = {
            "id": sid, "object": "Shipment", "mode": "test", "reference": shipment.get("reference"),
            "to_address": to, "from_address": shipment.get("from_address") or {},
            "parcel": parcel, "is_return": bool(shipment.get("is_return")),
            "options": shipment.get("options") or {}, "rates": rates, "status": "unknown",
            "tracking_code": None, "postage_label": None, "selected_rate": None,
            "tracker": None, "refund_status": None, "created_at": _iso(self.clock),
        }
        self.shipments[sid] = record
        return 201, record

    def _ep_buy(self, sid: str, data: dict):
        shipment = self.shipments.get(sid)
        if not shipment:
            return 404, _ep_error("SHIPMENT.NOT_FOUND", "shipment not found")
        if shipment["tracking_code"]:
            return 422, _ep_error("SHIPMENT.POSTAGE.EXISTS", "postage already purchased")
        rate_id = (data.get("rate") or {}).get("id")
        rate = next((r for r in shipment["rates"] if r["id"] == rate_id), None)
        if not rate:
            return 422, _ep_error("SHIPMENT.RATE.INVALID", "rate not found on this shipment")
        code = f"EZ{next(self._ids):08d}{uuid.uuid4().hex[:6].upper()}"
        fmt = (shipment["options"].get("label_format") or "PDF").upper()
        ext = "zpl" if fmt == "ZPL" else "pdf"
        base = self.url
        tracker = self._ep_tracker(code, reference=shipment.get("reference"),
                                   shipment_id=sid)
        shipment.update(
            tracking_code=code, selected_rate=rate, status="unknown",
            postage_label={"object": "PostageLabel", "label_file_type": f"application/{ext}",
                           "label_format": fmt, "label_url": f"{base}/labels/{code}.{ext}"},
            tracker=tracker,
            # The charge may differ from the quote (surcharges): +3% on heavy parcels.
            fees=[{"object": "Fee", "type": "PostageFee",
                   "amount": _charge(rate["rate"],
                                     float(shipment["parcel"]["weight"]) * 0.028349523125)}],
        )
        return 200, shipment

    def _ep_refund(self, sid: str):
        shipment = self.shipments.get(sid)
        if not shipment:
            return 404, _ep_error("SHIPMENT.NOT_FOUND", "shipment not found")
        tracker = self.trackers.get(shipment.get("tracking_code") or "")
        if tracker and tracker["status"] not in ("pre_transit", "unknown", "cancelled"):
            shipment["refund_status"] = "rejected"
        else:
            shipment["refund_status"] = "submitted"
            if tracker:
                self._ep_step(tracker, "cancelled", "cancelled", "Label voided")
        return 200, shipment

    def _ep_report_create(self, data: dict):
        start, end = data.get("start_date"), data.get("end_date")
        if not start or not end:
            return 422, _ep_error("REPORT.DATES.REQUIRED", "start_date and end_date are required")
        rid = self._next("shprep")
        self.reports[rid] = {"id": rid, "object": "ShipmentReport", "mode": "test",
                             "status": "new", "start_date": start, "end_date": end,
                             "url": None, "include_children": False}
        return 201, dict(self.reports[rid])

    def _report_csv(self, path: str):
        rid = path.rsplit("/", 1)[-1].removesuffix(".csv")
        if rid not in self.reports:
            return 404, {"error": {"code": "NOT_FOUND", "message": "no such report"}}, \
                "application/json", {}
        rows = ["id,created_at,tracking_code,carrier,service,rate,postage_fee,currency"]
        for shp in self.shipments.values():
            if not shp.get("tracking_code"):
                continue
            rate = shp["selected_rate"]
            fee = next((f["amount"] for f in shp.get("fees") or []
                        if f.get("type") == "PostageFee"), rate["rate"])
            rows.append(f"{shp['id']},{shp['created_at']},{shp['tracking_code']},"
                        f"{rate['carrier']},{rate['service']},{rate['rate']},{fee},USD")
        return 200, ("\n".join(rows) + "\n").encode(), "text/csv", {}

    def _ep_tracker(self, code: str, reference=None, shipment_id=None) -> dict:
        tracker = self.trackers.get(code)
        if tracker is None:
            tracker = {
                "id": self._next("trk"), "object": "Tracker", "mode": "test",
                "tracking_code": code, "status": "unknown", "status_detail": "unknown",
                "carrier": "USPS", "shipment_id": shipment_id, "tracking_details": [],
                "public_url": f"{self.url}/track/{code}", "finalized": False,
                "created_at": _iso(self.clock), "updated_at": _iso(self.clock),
                "_reference": reference or "", "_kind": "easypost", "_step": 0,
            }
            self.trackers[code] = tracker
            self._ep_step(tracker, "pre_transit", "label_created", "Label created")
        return tracker

    def _ep_step(self, tracker, status, detail, message) -> dict:
        when = _iso(self._tick())
        tracker["tracking_details"].append({
            "object": "TrackingDetail", "status": status, "status_detail": detail,
            "message": message, "datetime": when, "source": "USPS",
            "tracking_location": {"object": "TrackingLocation", "city": "SANDBOX",
                                  "state": "CA", "country": "US", "zip": "94000"},
        })
        tracker.update(status=status, status_detail=detail, updated_at=when,
                       finalized=status in EP_TERMINAL)
        return tracker

    # ------------------------------------------------------------------ Sendcloud
    def _sc_create(self, data: dict):
        items = [data["parcel"]] if isinstance(data.get("parcel"), dict) else \
            list(data.get("parcels") or [])
        if not items:
            return 400, {"error": {"code": 400, "message": "parcel or parcels required"}}
        created, failed = [], []
        for item in items:
            errors = {}
            if self._bad_address(item):
                errors["postal_code"] = ["Invalid postal code for the country."]
            if not item.get("weight"):
                errors["weight"] = ["This field is required."]
            if errors:
                failed.append({"parcel": item, "errors": errors})
                continue
            pid = next(self._ids) + 100000
            code = f"SC{pid:08d}{uuid.uuid4().hex[:4].upper()}"
            link = f"{self.url}/labels/{code}.pdf"
            parcel = {
                "id": pid, "tracking_number": code, "order_number": item.get("order_number"),
                "external_reference": item.get("external_reference"),
                "name": item.get("name"), "postal_code": item.get("postal_code"),
                "country": {"iso_2": item.get("country")}, "weight": item.get("weight"),
                "is_return": bool(item.get("is_return")),
                "status": {"id": 1000, "message": "Ready to send"},
                "tracking_url": f"{self.url}/track/{code}",
                "documents": [{"type": "label", "size": "a6", "link": link}],
                "label": {"label_printer": link, "normal_printer": [link]},
                "shipment": item.get("shipment") or {},
                "total_charge": _charge("6.90", float(item.get("weight") or 0)),
                "date_created": self.clock.strftime("%d-%m-%Y %H:%M:%S"),
                "date_updated": self.clock.strftime("%d-%m-%Y %H:%M:%S"),
                "_step": 0, "_history": [],
            }
            parcel["_history"].append((1000, "Ready to send", _iso(self.clock)))
            self.parcels[pid] = parcel
            self.trackers[code] = {"_kind": "sendcloud", "parcel_id": pid,
                                   "_reference": item.get("order_number") or ""}
            created.append(parcel)
        if failed and not created:
            return 400, {"parcels": [], "failed_parcels": failed}
        if failed:
            return 200, {"parcels": created, "failed_parcels": failed}
        return 200, ({"parcel": created[0]} if isinstance(data.get("parcel"), dict)
                     else {"parcels": created})

    def _sc_cancel(self, pid: str):
        parcel = self.parcels.get(int(pid)) if pid.isdigit() else None
        if not parcel:
            return 404, {"error": {"code": 404, "message": "Not found"}}
        if parcel["status"]["id"] not in (1000, 999, 1, 2000):
            return 400, {"status": "failed",
                         "message": "Shipment has already been processed by the carrier"}
        self._sc_step(parcel, 2000, "Cancelled")
        return 200, {"status": "cancelled", "message": "Parcel has been cancelled"}

    def _sc_step(self, parcel, status_id, message) -> dict:
        when = self._tick()
        parcel["status"] = {"id": status_id, "message": message}
        parcel["date_updated"] = when.strftime("%d-%m-%Y %H:%M:%S")
        parcel["_history"].append((status_id, message, _iso(when)))
        return parcel

    # ------------------------------------------------------------------ AfterShip
    def _as_handle(self, method, path, query, body, raw_headers, malformed):
        """The AfterShip tracking subset: no idempotency keys (a repeat is a 4003)."""
        key = raw_headers.get("as-api-key") or ""
        wanted = self.knobs["aftership_api_key"]
        if not key or (wanted is not None and key != wanted):
            return 401, _as_meta(401, "Unauthorized", "Invalid API key."), \
                "application/json", {}
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            return 400, _as_meta(4001, "BadRequest", "Invalid JSON data."), \
                "application/json", {}
        legacy = path.startswith("/v4/")
        rest = [p for p in path.split("/") if p][1 if legacy else 2:]
        with self._lock:
            if rest == ["trackings"] and method == "POST":
                status, payload = self._as_create(data, legacy)
            elif rest == ["trackings"] and method == "GET":
                wanted_numbers = ",".join(query.get("tracking_numbers", [])).split(",")
                found = [self._as_public(self.as_trackings[n]) for n in wanted_numbers
                         if n in self.as_trackings]
                status, payload = 200, {"meta": {"code": 200}, "data": {
                    "trackings": found, "pagination": {"total": len(found),
                                                       "has_next_page": False}}}
            elif len(rest) == 2 and rest[0] == "trackings" and method == "GET":
                found = next((t for t in self.as_trackings.values() if t["id"] == rest[1]),
                             None)
                status, payload = (404, _as_meta(4004, "NotFound", "Tracking does not exist.")) \
                    if found is None else (200, _as_data(self._as_public(found), legacy))
            else:
                status, payload = 404, _as_meta(404, "NotFound", f"no route {method} {path}")
        if malformed and 200 <= status < 300:
            return status, b"<html>upstream proxy error</html>", "text/html", {}
        return status, payload, "application/json", {}

    def _as_create(self, data: dict, legacy: bool):
        item = data.get("tracking") if legacy else data
        if not isinstance(item, dict):
            return 400, _as_meta(4001, "BadRequest", "Invalid JSON data.")
        number = str(item.get("tracking_number") or "").strip()
        if not number or len(number) < 3:
            return 400, _as_meta(4005, "BadRequest", "The value of `tracking_number` is invalid.")
        existing = self.as_trackings.get(number)
        slug = str(item.get("slug") or "").strip().lower()
        if existing is not None and (not slug or slug == existing["slug"]):
            body = _as_meta(4003, "BadRequest", "Tracking already exists.")
            body["data"] = {"tracking": {"id": existing["id"], "slug": existing["slug"],
                                         "tracking_number": number}}
            return 400, body
        carrier = self.trackers.get(number) or {}
        if not slug:  # AfterShip detects the courier from the number
            slug = str(carrier.get("carrier") or "").lower() or \
                ("sendcloud" if carrier.get("_kind") == "sendcloud" else "sandbox-carrier")
        tracking = {
            "id": uuid.uuid4().hex[:24], "tracking_number": number, "slug": slug,
            "active": True, "order_id": item.get("order_id") or None,
            "custom_fields": item.get("custom_fields") or None,
            "tag": "Pending", "subtag": "Pending_001", "subtag_message": "Pending",
            "expected_delivery": None, "checkpoints": [],
            "created_at": _iso(self.clock), "updated_at": _iso(self.clock), "_step": 0,
        }
        self.as_trackings[number] = tracking
        if carrier.get("_kind") == "easypost":  # what the carrier already said
            for detail in carrier.get("tracking_details") or []:
                tag, subtag = AS_FROM_EASYPOST.get(
                    (detail["status"], detail["status_detail"]), ("InTransit", "InTransit_001"))
                when = datetime.fromisoformat(detail["datetime"].replace("Z", "+00:00"))
                self._as_step(tracking, tag, subtag, detail["message"], when=when)
        return 201, _as_data(self._as_public(tracking), legacy, 201)

    def _as_step(self, tracking: dict, tag: str, subtag: str, message: str,
                 when: datetime | None = None) -> dict:
        stamp = _iso(when or self._tick())
        tracking["checkpoints"].append({
            "slug": tracking["slug"], "tag": tag, "subtag": subtag, "message": message,
            "checkpoint_time": stamp, "city": "SANDBOX", "state": "CA",
            "country_iso3": "USA", "location": None, "created_at": stamp,
        })
        tracking.update(tag=tag, subtag=subtag, subtag_message=message, updated_at=stamp)
        return tracking

    @staticmethod
    def _as_public(tracking: dict) -> dict:
        public = {k: v for k, v in tracking.items() if not k.startswith("_")}
        public["checkpoints"] = [dict(c) for c in tracking["checkpoints"]]
        return public

    def aftership_event(self, tracking: dict) -> dict:
        """A ``tracking_update`` webhook body (the whole tracking, all its checkpoints)."""
        stamp = datetime.fromisoformat(tracking["updated_at"].replace("Z", "+00:00"))
        return {"event": "tracking_update", "event_id": str(uuid.uuid4()),
                "is_tracking_first_tag": len(tracking["checkpoints"]) == 1,
                "msg": self._as_public(tracking), "ts": int(stamp.timestamp())}

    def seed_trackers(self, count: int, steps: int = 2, scenario: str = "delivered") -> list[str]:
        """Create ``count`` EasyPost-style trackers ``steps`` steps into ``scenario``
        without any HTTP (benchmarks). Returns their tracking codes."""
        codes = []
        with self._lock:
            for i in range(count):
                code = f"EZB{i:09d}"
                tracker = self._ep_tracker(code)
                for status, detail, message in EP_SCENARIOS[scenario][:steps]:
                    self._ep_step(tracker, status, detail, message)
                    tracker["_step"] += 1
                codes.append(code)
        return codes

    # ------------------------------------------------------------------ tracking
    def advance(self, tracking_code: str, scenario: str = "delivered", steps: int | None = None,
                duplicates: int = 0, shuffle: int | None = None, webhook: bool = True,
                url: str | None = None, aftership_url: str | None = None) -> list[dict]:
        """Move a shipment ``steps`` steps (default: to the end) along ``scenario`` and
        post one signed webhook per step to ``url`` / the ``webhook_url`` knob.
        ``duplicates``: each webhook is sent that many extra times; ``shuffle``: a seed,
        the deliveries are sent in a shuffled order. Returns the deliveries.

        A tracking registered with the AfterShip subset follows the shipment: one
        checkpoint and one ``tracking_update`` webhook per step, posted to
        ``aftership_url`` / the ``aftership_webhook_url`` knob (none: not posted). A
        number only registered with AfterShip moves along ``AS_SCENARIOS``."""
        with self._lock:
            tracker = self.trackers.get(tracking_code)
            as_tracking = self.as_trackings.get(tracking_code)
            if tracker is None and as_tracking is None:
                raise KeyError(f"unknown tracking code {tracking_code!r}")
            payloads, as_steps = [], []
            if tracker is None:  # a tracking AfterShip follows on its own
                todo = AS_SCENARIOS[scenario][as_tracking["_step"]:]
                for tag, subtag, message in todo[: steps if steps is not None else None]:
                    as_steps.append((tag, subtag, message))
                    as_tracking["_step"] += 1
            elif tracker["_kind"] == "soap":  # a polled carrier: no webhooks
                from . import carrier_soap

                carrier_soap.advance(self, tracker, scenario, steps)
            elif tracker["_kind"] == "easypost":
                todo = EP_SCENARIOS[scenario][tracker["_step"]:]
                for status, detail, message in todo[: steps if steps is not None else None]:
                    self._ep_step(tracker, status, detail, message)
                    tracker["_step"] += 1
                    payloads.append(("easypost", self.easypost_event(tracker)))
                    as_steps.append((*AS_FROM_EASYPOST.get(
                        (status, detail), ("InTransit", "InTransit_001")), message))
            else:
                parcel = self.parcels[tracker["parcel_id"]]
                todo = SC_SCENARIOS[scenario][parcel["_step"]:]
                for status_id, message in todo[: steps if steps is not None else None]:
                    self._sc_step(parcel, status_id, message)
                    parcel["_step"] += 1
                    payloads.append(("sendcloud", self.sendcloud_event(parcel)))
                    as_steps.append((*AS_FROM_SENDCLOUD.get(
                        status_id, ("InTransit", "InTransit_001")), message))
            as_payloads = []
            if as_tracking is not None:
                for tag, subtag, message in as_steps:
                    self._as_step(as_tracking, tag, subtag, message,
                                  when=None if tracker is None else self.clock)
                    as_payloads.append(("aftership", self.aftership_event(as_tracking)))
            target = url or self.knobs["webhook_url"]
            if target and "{kind}" in target:
                target = target.replace("{kind}", tracker["_kind"] if tracker else "aftership")
            as_target = aftership_url or self.knobs["aftership_webhook_url"]
        if tracker is None:
            payloads, target = [], None
        return [*self._deliver(payloads, target if webhook else None, duplicates, shuffle),
                *self._deliver(as_payloads, as_target if webhook else None, duplicates,
                               shuffle)]

    def _deliver(self, payloads, target, duplicates=0, shuffle=None) -> list[dict]:
        if not target:
            return [{"kind": k, "payload": p} for k, p in payloads]
        sends = [p for p in payloads for _ in range(1 + max(0, int(duplicates)))]
        if shuffle is not None:
            random.Random(shuffle).shuffle(sends)
        return [self.post_webhook(target, kind, payload) for kind, payload in sends]

    def easypost_event(self, tracker: dict) -> dict:
        public = {k: v for k, v in tracker.items() if not k.startswith("_")}
        public["tracking_details"] = [dict(d) for d in tracker["tracking_details"]]
        return {"object": "Event", "id": self._next("evt"), "mode": "test",
                "description": "tracker.updated", "created_at": tracker["updated_at"],
                "updated_at": tracker["updated_at"], "pending_urls": [], "completed_urls": [],
                "result": public}

    def sendcloud_event(self, parcel: dict) -> dict:
        status_id, message, when = parcel["_history"][-1]
        stamp = int(datetime.fromisoformat(when.replace("Z", "+00:00")).timestamp() * 1000)
        public = {k: v for k, v in parcel.items() if not k.startswith("_")}
        public["status"] = {"id": status_id, "message": message}
        return {"action": "parcel_status_changed", "timestamp": stamp, "parcel": public}

    def post_webhook(self, url: str, kind: str, payload: dict) -> dict:
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "shipsync-carrier/1"}
        if kind == "easypost":
            headers["X-Hmac-Signature"] = easypost_signature(body, self.knobs["easypost_secret"])
        elif kind == "aftership":
            headers["aftership-hmac-sha256"] = aftership_signature(
                body, self.knobs["aftership_secret"])
        else:
            headers["Sendcloud-Signature"] = sendcloud_signature(
                body, self.knobs["sendcloud_secret"])
        delivery = {"kind": kind, "url": url, "payload": payload}
        try:
            with urlopen(Request(url, data=body, headers=headers, method="POST"),  # noqa: S310
                         timeout=30) as resp:
                delivery.update(status=resp.status, response=resp.read().decode(errors="replace"))
        except OSError as exc:  # HTTPError is an OSError and carries the status
            delivery.update(status=getattr(exc, "code", None), response=str(exc))
            reader = getattr(exc, "read", None)
            if reader:
                delivery["response"] = reader().decode(errors="replace")
        with self._lock:
            self.webhooks.append({k: v for k, v in delivery.items() if k != "payload"})
        return delivery


def _is_aftership(path: str) -> bool:
    return path.startswith(("/tracking/", "/v4/"))


def _as_meta(code: int, kind: str, message: str) -> dict:
    return {"meta": {"code": code, "type": kind, "message": message}, "data": {}}


def _as_data(tracking: dict, legacy: bool, code: int = 200) -> dict:
    meta = {"code": code, "type": "Created" if code == 201 else "OK", "message": "OK"}
    return {"meta": meta, "data": {"tracking": tracking} if legacy else tracking}


def _ep_error(code: str, message: str, errors=None) -> dict:
    return {"error": {"code": code, "message": message, "errors": errors or []}}


def _charge(quoted: str, weight_kg: float) -> str:
    """The actual charge: the quote, +3 % over 10 kg (an overweight surcharge)."""
    amount = float(quoted)
    if weight_kg > 10:
        amount *= 1.03
    return f"{amount:.2f}"


def basic(user: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


#: Command-line defaults: the demo's Odoo (``make demo``) and its partner codes
#: ``sandbox-easypost`` / ``sandbox-sendcloud``; every shipment moves one step every 30 s.
CLI_DEFAULTS = {
    "webhook_url": "http://127.0.0.1:8069/shipment_sync/webhook/sandbox-{kind}",
    "auto_advance": 30,
    "real_clock": True,
}


def run(args) -> int:
    """``python -m shipsync.sandbox carrier``: serve in the foreground (``--set
    webhook_url=...`` / ``--set auto_advance=0`` override the demo defaults)."""
    options = {**CLI_DEFAULTS, **args.options}
    server = CarrierSandbox(port=args.port, host=args.host, verbose=args.verbose, **options)
    server._bind()
    print(f"carrier listening on {server.url}", flush=True)
    server.serve_forever()
    return 0
