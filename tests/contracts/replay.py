"""A replay server on 127.0.0.1 built from recorded partner interactions.

It answers ONLY requests whose method and path (and query, compared as a set of
``key=value`` pairs, empty included) were really recorded, with the recorded status,
content type and body. Interactions of one route are served in recorded order; the
last one is repeated once they are used up (a poller that reads twice gets the same
recorded answer twice). Anything else is *unrecorded*: it gets ``599`` with an error
body (EasyPost's ``{"error": {code, message}}`` shape) naming the request, and is kept
in ``unrecorded`` so the test fails with the list (see ``conftest.replay_server``).

Everything received is kept in ``received`` (method, path, query, headers, raw body,
decoded JSON) so tests compare what we sent with what the partner's SDK sent.

Synthetic parts are explicit and labelled: ``add_synthetic(method, path, body)`` serves
something the recordings do not hold (e.g. label bytes behind a recorded S3 URL,
after ``rewrite`` points that host at this server); ``inject_fault(method, path, ...)``
makes the next matching request(s) fail: ``status=503`` answers that status instead
of the recording (nothing applied), ``drop=True`` consumes the recorded interaction
(the partner applied it) and closes the connection without an answer (the answer is
lost). Injected faults are marked ``fault`` in ``received``.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .cassettes import Cassette, Interaction

UNRECORDED_STATUS = 599
SYNTHETIC_PREFIX = "/__synthetic__"


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    interaction: Interaction | None = None
    synthetic: bool = False
    fault: str = ""

    @property
    def json(self) -> Any:
        if not self.body:
            return None
        try:
            return json.loads(self.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return None

    @property
    def recorded(self) -> bool:
        return self.interaction is not None or self.synthetic or bool(self.fault)

    def route(self) -> str:
        query = "&".join(f"{k}={v}" for k, vals in sorted(self.query.items()) for v in vals)
        return f"{self.method} {self.path}" + (f"?{query}" if query else "")


@dataclass
class _Route:
    interactions: list[Interaction]
    served: int = 0


@dataclass
class _Fault:
    status: int | None
    drop: bool
    times: int


@dataclass
class _Synthetic:
    status: int
    content_type: str
    body: bytes
    headers: dict = field(default_factory=dict)


def _query_key(query: dict[str, list[str]]) -> frozenset:
    return frozenset((k, v) for k, vals in query.items() for v in vals)


class ReplayServer:
    """``ReplayServer(cassette, ...).start()``; ``base_url`` is ``http://127.0.0.1:<port>``.

    Without cassettes it serves only what ``add_synthetic`` registers (a file host)."""

    def __init__(self, *cassettes: Cassette, rewrite: dict[str, str] | None = None):
        self.cassettes = cassettes
        self._routes: dict[tuple, _Route] = {}
        for cassette in cassettes:
            for item in cassette.interactions:
                key = (item.method, item.path, _query_key(item.query))
                self._routes.setdefault(key, _Route([])).interactions.append(item)
        self._synthetic: dict[tuple, _Synthetic] = {}
        self._faults: dict[tuple, _Fault] = {}
        self._rewrite = dict(rewrite or {})
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle
    def start(self) -> ReplayServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep pytest output clean
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, ctype, payload, headers = server._answer(
                    self.command, self.path, dict(self.headers.items()), body)
                if status is None:  # injected fault: the answer is lost
                    self.close_connection = True
                    return
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True,
                                         name="replay-server")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if not self._httpd:
            raise RuntimeError("replay server not started")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    # -- configuration
    def add_synthetic(self, method: str, path: str, body: bytes,
                      content_type: str = "application/octet-stream", status: int = 200,
                      root: bool = False) -> str:
        """Serve a SYNTHETIC answer (not recorded) at ``/__synthetic__<path>`` (at ``<path>``
        itself with ``root=True``, for a partner without recordings whose SDK is driven
        against this server); any query is accepted. Returns its URL."""
        full = ("" if root else SYNTHETIC_PREFIX) + "/" + path.lstrip("/")
        self._synthetic[(method.upper(), full)] = _Synthetic(status, content_type, body)
        return self.base_url + full

    def inject_fault(self, method: str, path: str, *, status: int | None = None,
                     drop: bool = False, times: int = 1) -> None:
        """SYNTHETIC failure of the next ``times`` requests to ``method path`` (any query):
        ``status`` (e.g. 503) instead of the recorded (or synthetic) answer, or ``drop``
        the answer after the recorded interaction was consumed (the partner applied it)."""
        if (status is None) == (not drop):
            raise ValueError("give either status=... or drop=True")
        self._faults[(method.upper(), path)] = _Fault(status, drop, times)

    @property
    def synthetic_base(self) -> str:
        """Base URL of the synthetic area (what a rewritten host points at)."""
        return self.base_url + SYNTHETIC_PREFIX

    def rewrite(self, original_prefix: str, target: str) -> None:
        """Rewrite ``original_prefix`` (e.g. a recorded file host) to ``target`` in the
        bodies served (e.g. ``other_server.synthetic_base``: a second loopback port, so
        the adapter sees another host, as it would in production)."""
        self._rewrite[original_prefix] = target.rstrip("/")

    # -- serving
    def _answer(self, method: str, raw_path: str, headers: dict, body: bytes):
        parts = urlsplit(raw_path)
        query = parse_qs(parts.query, keep_blank_values=True)
        got = Received(method.upper(), parts.path, query,
                       {k.lower(): v for k, v in headers.items()}, body)
        synthetic = self._synthetic.get((got.method, got.path))
        with self._lock:
            self.received.append(got)
            if synthetic:
                got.synthetic = True
                fault = self._faults.get((got.method, got.path))
                if fault is not None and fault.times > 0 and fault.status is not None:
                    fault.times -= 1
                    got.fault = f"status {fault.status}"
                    error = {"error": {"code": "INJECTED_FAULT", "message": "synthetic fault",
                                       "errors": []}}
                    return fault.status, "application/json", json.dumps(error).encode(), {}
                return synthetic.status, synthetic.content_type, synthetic.body, synthetic.headers
            route = self._routes.get((got.method, got.path, _query_key(query)))
            fault = self._faults.get((got.method, got.path)) if route is not None else None
            if fault is not None and fault.times > 0:
                fault.times -= 1
                if fault.status is not None:
                    got.fault = f"status {fault.status}"
                    error = {"error": {"code": "INJECTED_FAULT", "message": "synthetic fault",
                                       "errors": []}}
                    return fault.status, "application/json", json.dumps(error).encode(), {}
                got.fault = "dropped"
            if route is not None:
                item = route.interactions[min(route.served, len(route.interactions) - 1)]
                route.served += 1
                got.interaction = item
                if got.fault == "dropped":
                    return None, "", b"", {}
        if route is None:
            message = f"unrecorded request {got.route()} (recorded: {self.recorded_routes()})"
            error = {"error": {"code": "UNRECORDED_REQUEST", "message": message, "errors": []}}
            return UNRECORDED_STATUS, "application/json", json.dumps(error).encode(), {}
        payload = item.response_body
        if self._rewrite:
            text = payload.decode("utf-8", "replace")
            for old, new in self._rewrite.items():
                text = text.replace(old, new)
            payload = text.encode("utf-8")
        return item.status, item.content_type, payload, {}

    # -- inspection
    def recorded_routes(self) -> list[str]:
        return sorted({i.route() for route in self._routes.values() for i in route.interactions})

    @property
    def unrecorded(self) -> list[Received]:
        return [r for r in self.received if not r.recorded]

    def unrecorded_report(self) -> str:
        if not self.unrecorded:
            return ""
        lines = [f"  {r.route()}" + (f"  body={r.body[:200]!r}" if r.body else "")
                 for r in self.unrecorded]
        return ("requests the partner was never recorded answering (cassettes "
                f"{', '.join(c.name for c in self.cassettes)}):\n" + "\n".join(lines)
                + "\nrecorded routes:\n" + "\n".join(f"  {r}" for r in self.recorded_routes()))

    def assert_only_recorded(self) -> None:
        report = self.unrecorded_report()
        if report:
            raise AssertionError(report)

    def requests_to(self, method: str, path: str) -> list[Received]:
        return [r for r in self.received if r.method == method.upper() and r.path == path]

    def served(self, cassette: str | None = None) -> list[Interaction]:
        return [r.interaction for r in self.received if r.interaction is not None
                and (cassette is None or r.interaction.cassette == cassette)]
