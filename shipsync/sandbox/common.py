"""Shared plumbing for the sandbox servers (stdlib only, loopback only).

* :class:`SandboxHTTPServer`: a ``ThreadingHTTPServer`` with daemon threads, address
  reuse, a deep accept queue for benchmarks, and tracking of open connections so that
  ``stop()`` really disconnects keep-alive clients.
* :class:`SandboxHandler`: HTTP/1.1 keep-alive handler with body reading and JSON
  helpers; access logs go to stderr only when the server is verbose.
* :class:`BackgroundServer`: ``start()`` / ``stop()`` / ``url`` / context manager /
  ``serve_forever()`` around a server; subclass it and set ``handler_class``.
* :func:`post_json`: a sandbox's outbound webhook POST, answered by its status.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

LOOPBACK = "127.0.0.1"
MAX_BODY = 32 * 1024 * 1024


def post_json(url: str, body: bytes, headers: dict | None = None, timeout: float = 30) -> int:
    """POST the JSON ``body`` to ``url`` (a sandbox calling the suite back): the status of
    the answer, that of an HTTP error, 0 when nothing answered."""
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json", **(headers or {})},
        method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, handler_class, owner=None, verbose=False):
        self.owner = owner
        self.verbose = verbose
        self.stopping = threading.Event()
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(address, handler_class)

    def process_request(self, request, client_address):
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def close_all_connections(self) -> None:
        with self._conns_lock:
            conns, self._conns = list(self._conns), set()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                conn.close()
            except OSError:
                pass

    def log_line(self, text: str) -> None:
        if self.verbose:
            stamp = time.strftime("%H:%M:%S")
            sys.stderr.write(f"[{stamp}] {text}\n")
            sys.stderr.flush()


class SandboxHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "shipsync-sandbox/1"
    # Without TCP_NODELAY every keep-alive answer waits ~40 ms for delayed ACKs.
    disable_nagle_algorithm = True
    timeout = 60  # idle keep-alive connections are dropped after this many seconds

    server: SandboxHTTPServer

    # -- request helpers -------------------------------------------------------------
    @property
    def owner(self):
        return self.server.owner

    @property
    def path_only(self) -> str:
        return urlsplit(self.path).path or "/"

    def read_body(self, limit: int = MAX_BODY) -> bytes:
        """The request body (Content-Length or chunked), at most ``limit`` bytes."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks, total = [], 0
            while True:
                size_line = self.rfile.readline(1024)
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > limit:
                    raise ValueError("body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > limit:
            raise ValueError("body too large")
        return self.rfile.read(length) if length > 0 else b""

    # -- response helpers ------------------------------------------------------------
    def send_bytes(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        headers: dict | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, str(value))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)
        self.wfile.flush()

    def send_json(self, status: int, payload, headers: dict | None = None) -> None:
        self.send_bytes(status, json.dumps(payload).encode(), "application/json", headers)

    # -- logging ---------------------------------------------------------------------
    def log_message(self, format, *args):
        # Access lines are produced by the servers themselves (one per call).
        pass

    def log_error(self, format, *args):
        self.server.log_line("error: " + (format % args))


class BackgroundServer:
    """Run a :class:`SandboxHTTPServer` in a background thread or in the foreground."""

    handler_class: type[SandboxHandler] = SandboxHandler
    name = "sandbox"

    def __init__(self, port: int = 0, host: str = LOOPBACK, verbose: bool = False):
        self.host = host
        self.port = port
        self.verbose = verbose
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._timers: list[threading.Timer] = []
        self._timers_lock = threading.Lock()

    # -- later: what the partner does on its own after a while -------------------------
    def later(self, delay: float, func, *args, label: str = "") -> threading.Timer:
        """Run ``func(*args)`` in ``delay`` seconds on a daemon timer (a partner that
        answers on its own, later). A failure is logged (verbose), never raised; the
        pending timers are cancelled by :meth:`cancel_timers` and :meth:`stop`."""
        def fire():
            try:
                func(*args)
            except Exception as exc:  # noqa: BLE001 - a timer must not die loudly
                if self._server:
                    self._server.log_line(f"{label or getattr(func, '__name__', 'timer')} "
                                          f"failed: {exc}")
        timer = threading.Timer(float(delay), fire)
        timer.daemon = True
        with self._timers_lock:
            self._timers = [t for t in self._timers if t.is_alive()]
            self._timers.append(timer)
        timer.start()
        return timer

    def cancel_timers(self) -> None:
        """Cancel what :meth:`later` still has to do."""
        with self._timers_lock:
            timers, self._timers = self._timers, []
        for timer in timers:
            timer.cancel()

    @property
    def pending_timers(self) -> int:
        with self._timers_lock:
            return sum(1 for t in self._timers if t.is_alive())

    # -- lifecycle ---------------------------------------------------------------------
    def _bind(self) -> SandboxHTTPServer:
        if self._server is None:
            self._server = SandboxHTTPServer(
                (self.host, self.port), self.handler_class, owner=self, verbose=self.verbose
            )
            self.port = self._server.server_address[1]
        return self._server

    def start(self):
        """Serve in a daemon thread; returns self."""
        if self._thread is not None:
            return self
        server = self._bind()
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"shipsync-{self.name}-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted."""
        server = self._bind()
        try:
            server.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop serving, drop open connections and release the port (pending timers of
        :meth:`later` are cancelled)."""
        self.cancel_timers()
        server, thread = self._server, self._thread
        self._server, self._thread = None, None
        if server is None:
            return
        server.stopping.set()
        if thread is not None:
            server.shutdown()
            thread.join(timeout=5)
        server.close_all_connections()
        server.server_close()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
