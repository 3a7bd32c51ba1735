"""A controllable partner endpoint on loopback: it receives our outbound calls.

Every POST/PUT/PATCH/DELETE to a path outside ``/_control`` is a *call*: it is logged and
answered according to the current behaviour knobs. A call answered 2xx has an *effect*,
recorded once per ``Idempotency-Key`` (or, without one, per ``webhook-id``; a call with
neither always has a new effect under the key ``call-<seq>``). Effects are recorded when
the answer is decided, **before** any configured latency: like a real partner that applied
the call and then answered too slowly, so a client timeout does not undo the effect.
A repeated key answered 2xx gets the same generated ``id`` back, with
``Idempotent-Replayed: true``.

Knobs (``Receiver.configure(**knobs)`` or ``POST /_control`` with a JSON object):

=================  ===========  ===============================================
``status``         200          status of a normal answer
``body``           None         JSON value to answer 2xx with (None: generated)
``latency_ms``     0            delay before answering (at most 120 s)
``fail_next``      0            answer the next N calls with ``fail_status``
``fail_status``    503          status used by ``fail_next`` and ``error_rate``
``outage_until``   None         epoch seconds: answer 503 until then
``retry_after``    None         Retry-After header value added on 429 and 503
``malformed``      False        answer 2xx with a body that is not JSON
``error_rate``     0.0          fraction of calls answered ``fail_status``
``seed``           None         seed of the ``error_rate`` random generator
``gone_paths``     []           paths answered 410
``status_by_path`` {}           path -> status of a normal answer
=================  ===========  ===============================================

Precedence: gone_paths, outage_until, fail_next, error_rate, status_by_path, status.

HTTP control: ``POST /_control`` (knobs, answers the knobs), ``GET /_control`` (knobs),
``POST /_control/reset`` (log, effects and knobs), ``GET /_control/log``
(``{"calls": [...], "effects": {...}}``), ``GET /_control/health``.
"""

from __future__ import annotations

import copy
import json
import random
import threading
import time
import uuid
from http import HTTPStatus

from .common import BackgroundServer, SandboxHandler

DEFAULT_KNOBS: dict = {
    "status": 200,
    "body": None,
    "latency_ms": 0,
    "fail_next": 0,
    "fail_status": 503,
    "outage_until": None,
    "retry_after": None,
    "malformed": False,
    "error_rate": 0.0,
    "seed": None,
    "gone_paths": [],
    "status_by_path": {},
}
MAX_LATENCY_MS = 120_000
MALFORMED_BODY = b"<html><body>502 Bad Gateway (not JSON)</body>"
CALL_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def _check_status(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 100 <= value <= 599:
        raise ValueError(f"{name} must be an HTTP status, got {value!r}")
    return value


def _check_number(name: str, value, low: float = 0.0, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if value < low or (high is not None and value > high):
        raise ValueError(f"{name} out of range: {value!r}")
    return value


def validate_knobs(knobs: dict) -> dict:
    """Checked copy of ``knobs``; raises ValueError on unknown names or bad values."""
    unknown = sorted(set(knobs) - set(DEFAULT_KNOBS))
    if unknown:
        raise ValueError(f"unknown knob(s): {', '.join(unknown)}")
    out = {}
    for name, value in knobs.items():
        if name in ("status", "fail_status"):
            value = _check_status(name, value)
        elif name == "latency_ms":
            value = _check_number(name, value, 0, MAX_LATENCY_MS)
        elif name == "fail_next":
            value = int(_check_number(name, value, 0))
        elif name == "error_rate":
            value = float(_check_number(name, value, 0, 1))
        elif name == "outage_until" and value is not None:
            value = float(_check_number(name, value))
        elif name == "retry_after" and value is not None:
            value = str(value)
        elif name == "malformed":
            value = bool(value)
        elif name == "seed" and value is not None and not isinstance(value, (int, str)):
            raise ValueError("seed must be an int or a string")
        elif name == "gone_paths":
            if not isinstance(value, (list, tuple, set)):
                raise ValueError("gone_paths must be a list of paths")
            value = [str(p) for p in value]
        elif name == "status_by_path":
            if not isinstance(value, dict):
                raise ValueError("status_by_path must be an object path -> status")
            value = {str(p): _check_status(f"status_by_path[{p}]", s) for p, s in value.items()}
        elif name == "body":
            json.dumps(value)  # must be serializable
            value = copy.deepcopy(value)
        out[name] = value
    return out


class ReceiverHandler(SandboxHandler):
    server_version = "shipsync-receiver/1"

    def _dispatch(self) -> None:
        path = self.path_only
        if path == "/_control" or path.startswith("/_control/"):
            self.owner._handle_control(self, path)
        elif self.command in CALL_METHODS:
            self.owner._handle_call(self, path)
        else:
            self.send_json(404, {"ok": False, "error": "not a call (use POST/PUT/PATCH/DELETE)"})

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch


class Receiver(BackgroundServer):
    """Controllable webhook/API receiver; see the module docstring."""

    handler_class = ReceiverHandler
    name = "receiver"

    def __init__(self, port: int = 0, host: str = "127.0.0.1", verbose: bool = False, **knobs):
        super().__init__(port=port, host=host, verbose=verbose)
        self._lock = threading.Lock()
        self._knobs = copy.deepcopy(DEFAULT_KNOBS)
        self._rng = random.Random()
        self._calls: list[dict] = []
        self._effects: dict[str, dict] = {}
        self._key_calls: dict[str, int] = {}
        self._seq = 0
        if knobs:
            self.configure(**knobs)

    # -- Python API ------------------------------------------------------------------
    @property
    def calls(self) -> list[dict]:
        """A copy of the call log, oldest first."""
        with self._lock:
            return copy.deepcopy(self._calls)

    @property
    def effects(self) -> dict[str, dict]:
        """A copy of the dedupe log: key -> {count, accepted, first_at, path, body, id}."""
        with self._lock:
            return copy.deepcopy(self._effects)

    @property
    def knobs(self) -> dict:
        with self._lock:
            return copy.deepcopy(self._knobs)

    def configure(self, **knobs) -> dict:
        """Change behaviour knobs (others keep their value); returns all knobs."""
        checked = validate_knobs(knobs)
        with self._lock:
            self._knobs.update(checked)
            if "seed" in checked or "error_rate" in checked:
                self._rng = random.Random(self._knobs["seed"])
            return copy.deepcopy(self._knobs)

    def reset(self) -> None:
        """Forget calls and effects and restore the default knobs."""
        with self._lock:
            self._knobs = copy.deepcopy(DEFAULT_KNOBS)
            self._rng = random.Random()
            self._calls.clear()
            self._effects.clear()
            self._key_calls.clear()
            self._seq = 0

    def wait_for_calls(self, n: int, timeout: float = 5.0) -> bool:
        """Wait until at least ``n`` calls were received; False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self._calls) >= n:
                    return True
            time.sleep(0.01)
        with self._lock:
            return len(self._calls) >= n

    # -- behaviour -------------------------------------------------------------------
    def _decide(self, path: str, now: float) -> tuple[int, str]:
        """Status of the answer to a call and why (caller holds the lock)."""
        k = self._knobs
        if path in k["gone_paths"]:
            return 410, "gone_paths"
        if k["outage_until"] is not None and now < k["outage_until"]:
            return 503, "outage"
        if k["fail_next"] > 0:
            k["fail_next"] -= 1
            return k["fail_status"], "fail_next"
        if k["error_rate"] > 0 and self._rng.random() < k["error_rate"]:
            return k["fail_status"], "error_rate"
        if path in k["status_by_path"]:
            return k["status_by_path"][path], "status_by_path"
        return k["status"], "status"

    def _handle_call(self, handler: ReceiverHandler, path: str) -> None:
        try:
            body = handler.read_body()
        except ValueError as exc:
            handler.send_json(413, {"ok": False, "error": str(exc)})
            return
        now = time.time()
        headers = {name: value for name, value in handler.headers.items()}
        idem = handler.headers.get("Idempotency-Key")
        webhook_id = handler.headers.get("webhook-id")
        key = idem or webhook_id
        extra: dict[str, str] = {}
        with self._lock:
            self._seq += 1
            seq = self._seq
            status, why = self._decide(path, now)
            k = self._knobs
            malformed, custom_body = k["malformed"], copy.deepcopy(k["body"])
            latency_ms, retry_after = k["latency_ms"], k["retry_after"]
            if key:
                self._key_calls[key] = self._key_calls.get(key, 0) + 1
            new_effect = replayed = False
            effect = None
            if 200 <= status < 300:
                effect_key = key or f"call-{seq}"
                effect = self._effects.get(effect_key)
                if effect is None:
                    effect = self._effects[effect_key] = {
                        "count": 0,
                        "accepted": 0,
                        "first_at": now,
                        "path": path,
                        "body": body.decode("utf-8", errors="replace"),
                        "id": uuid.uuid4().hex,
                        "seq": seq,
                    }
                    new_effect = True
                else:
                    replayed = True
                effect["accepted"] += 1
            if key and key in self._effects:
                self._effects[key]["count"] = self._key_calls[key]
            elif effect is not None:
                effect["count"] = 1
            self._calls.append(
                {
                    "seq": seq,
                    "time": now,
                    "method": handler.command,
                    "path": path,
                    "query": handler.path.partition("?")[2],
                    "client": f"{handler.client_address[0]}:{handler.client_address[1]}",
                    "headers": headers,
                    "idempotency_key": idem,
                    "webhook_id": webhook_id,
                    "body": body.decode("utf-8", errors="replace"),
                    "status": status,
                    "why": why,
                    "effect": new_effect,
                }
            )
            effect_id = effect["id"] if effect else None
        if 200 <= status < 300:
            content_type = "application/json"
            if malformed:
                payload, content_type = MALFORMED_BODY, "text/html"
            elif custom_body is not None:
                payload = json.dumps(custom_body).encode()
            else:
                payload = json.dumps({"ok": True, "id": effect_id}).encode()
            if replayed:
                extra["Idempotent-Replayed"] = "true"
        else:
            reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
            payload = json.dumps({"ok": False, "status": status, "error": reason or why}).encode()
            content_type = "application/json"
        if status in (429, 503) and retry_after is not None:
            extra["Retry-After"] = retry_after
        extra["X-Receiver-Call"] = str(seq)
        self._server_log(f"{handler.command} {path} key={key or '-'} -> {status} ({why})")
        if latency_ms:
            server = handler.server
            if server.stopping.wait(latency_ms / 1000.0):
                handler.close_connection = True
                return
        try:
            handler.send_bytes(status, payload, content_type, extra)
        except OSError:  # the client gave up (timeout) and closed its socket
            handler.close_connection = True

    def _server_log(self, text: str) -> None:
        server = self._server
        if server is not None:
            server.log_line(text)

    # -- HTTP control ----------------------------------------------------------------
    def _handle_control(self, handler: ReceiverHandler, path: str) -> None:
        method = handler.command
        try:
            raw = handler.read_body() if method in CALL_METHODS else b""
        except ValueError as exc:
            handler.send_json(413, {"ok": False, "error": str(exc)})
            return
        if path == "/_control/health" and method == "GET":
            handler.send_json(200, {"ok": True})
        elif path == "/_control/log" and method == "GET":
            with self._lock:
                payload = {"calls": self._calls, "effects": self._effects}
                data = json.dumps(payload).encode()
            handler.send_bytes(200, data)
        elif path == "/_control/reset" and method == "POST":
            self.reset()
            handler.send_json(200, {"ok": True})
        elif path == "/_control" and method == "GET":
            handler.send_json(200, self.knobs)
        elif path == "/_control" and method == "POST":
            try:
                knobs = json.loads(raw.decode("utf-8") or "{}")
                if not isinstance(knobs, dict):
                    raise ValueError("expected a JSON object of knobs")
                handler.send_json(200, self.configure(**knobs))
            except (ValueError, TypeError) as exc:
                handler.send_json(400, {"ok": False, "error": str(exc)})
        else:
            handler.send_json(404, {"ok": False, "error": f"no control {method} {path}"})
