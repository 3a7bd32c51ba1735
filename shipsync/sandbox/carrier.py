"""A carrier on loopback: one server composed from the partners' sandbox slices
(``shipsync.partners.<code>.sandbox``, in registry order), plus labels, tracking
histories and signed webhooks (stdlib + reportlab only).

Each slice documents its own routes: EasyPost (``/v2/...``), Sendcloud (v2
``/api/v2/...`` and v3 ``/api/v3/...``), AfterShip (``/tracking/<v>/...``, ``/v4/...``)
and the generic SOAP carrier (``GET /soap?wsdl``, ``POST /soap``).

Labels: ``GET /labels/{tracking}.pdf`` (a real one-page PDF) and ``.zpl``.

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
``easypost`` / ``sendcloud``), ``auto_advance`` (seconds: every shipment moves one step
along ``auto_scenario`` and its webhook is posted, for a live demo; 0 = off), and the
slices' own knobs (``easypost_secret``, ``sendcloud_secret``, ``aftership_*``).
A destination zip ``00000`` always gets 422.
Control routes: ``GET /_control/log``, ``POST /_control/reset``, ``GET /_control/health``.
"""

from __future__ import annotations

import itertools
import json
import random
import socket
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit
from urllib.request import Request, urlopen

from shipsync import partners

from .common import BackgroundServer, SandboxHandler
from .labels import render_pdf_label, render_zpl_label
from .slices import DROP, EPOCH, JSON

SLICES = tuple(partners.sandbox_slices())

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
    **{knob: value for part in SLICES for knob, value in part.KNOBS.items()},
    # The demo's sandbox follows the wall clock (events stamped now); tests
    # keep the fixed EPOCH and its 90-minute steps.
    "real_clock": False,
}
_BY_KIND = {part.KIND: part for part in SLICES if part.KIND}


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
        if status == DROP:  # applied, but the answer never reaches the client
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        try:
            if isinstance(payload, bytes):
                self.send_bytes(status, payload, ctype, headers)
            else:
                self.send_json(status, payload, headers)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (its read timeout): the call was applied all the same.
            self.close_connection = True


class CarrierSandbox(*SLICES, BackgroundServer):
    """The carrier sandbox: the partners' slices in one server; thread-safe; usable
    in-process (``start()``) or from the CLI."""

    handler_class = CarrierHandler
    name = "carrier"

    def __init__(self, port: int = 0, host: str = "127.0.0.1", verbose: bool = False,
                 **knobs):
        BackgroundServer.__init__(self, port=port, host=host, verbose=verbose)
        self._lock = threading.RLock()
        self.reset()
        self.configure(**knobs)

    def _bind(self):
        server = BackgroundServer._bind(self)
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
                     if t.get("_kind") in _BY_KIND and _BY_KIND[t["_kind"]].is_moving(self, t)]
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
            self.trackers: dict[str, dict] = {}  # by tracking code, every slice
            self.idempotent: dict[tuple, tuple[int, object]] = {}
            self.calls: list[dict] = []
            self.webhooks: list[dict] = []
            self.requests = 0
            self._ids = itertools.count(1)
            self._rng = random.Random()
            self.clock = EPOCH
            for part in SLICES:
                part.reset_state(self)

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
            failure = None if path.startswith(("/labels/", "/reports/", "/forms/")) \
                or (path == "/soap" and method == "GET") \
                else self._failure(method, path)
            latency = self.knobs["latency_ms"]
        if latency:
            time.sleep(min(float(latency), 120_000) / 1000.0)
        if failure:
            status, payload, extra = failure
            return status, payload, JSON, extra
        if path.startswith("/labels/"):
            return self._label(path)
        for part in SLICES:
            if part.owns(path):
                return part.serve(self, method, path, query, body, raw_headers)
        return self.serve_json_api(method, path, query, body, raw_headers, _no_route)

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

    # ------------------------------------------------------------------ tracking
    def advance(self, tracking_code: str, scenario: str = "delivered", steps: int | None = None,
                duplicates: int = 0, shuffle: int | None = None, webhook: bool = True,
                url: str | None = None, aftership_url: str | None = None) -> list[dict]:
        """Move a shipment ``steps`` steps (default: to the end) along ``scenario`` and
        post one signed webhook per step to ``url`` / the ``webhook_url`` knob.
        ``duplicates``: each webhook is sent that many extra times; ``shuffle``: a seed,
        the deliveries are sent in a shuffled order. Returns the deliveries.

        A tracking registered with the AfterShip slice follows the shipment: one
        checkpoint and one ``tracking_update`` webhook per step, posted to
        ``aftership_url`` / the ``aftership_webhook_url`` knob (none: not posted). A
        number only registered with AfterShip moves along its own scenario."""
        with self._lock:
            tracker = self.trackers.get(tracking_code)
            as_tracking = self.as_trackings.get(tracking_code)
            if tracker is None and as_tracking is None:
                raise KeyError(f"unknown tracking code {tracking_code!r}")
            payloads, as_steps = [], []
            if tracker is None:  # a tracking AfterShip follows on its own
                as_steps = self.aftership_steps(as_tracking, scenario, steps)
            else:
                kind = tracker["_kind"]
                for hook_kind, payload, key, message in _BY_KIND[kind].step_shipment(
                        self, tracker, scenario, steps):
                    payloads.append((hook_kind, payload))
                    as_steps.append(self.aftership_follow(kind, key, message))
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

    def post_webhook(self, url: str, kind: str, payload: dict) -> dict:
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "shipsync-carrier/1",
                   **_BY_CODE[kind].sign_webhook(self, kind, body)}
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


def _no_route(sandbox, method, path, query, data):
    return 404, {"error": {"code": "NOT_FOUND", "message": f"no route {method} {path}"}}


_BY_CODE = {part.code: part for part in SLICES}


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
