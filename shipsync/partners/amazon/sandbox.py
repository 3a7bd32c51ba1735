"""A loopback stand-in for Amazon's Orders API ``confirmShipment``, for tests and the
demo. Every request is validated against Amazon's published model (``ordersV0.json``,
read from ``$CONTRACTS_DIR`` and checked with openapi-core through
``model.to_openapi3``); without the model at hand it falls back to our transcription
(``model.CONFIRM_SHIPMENT_REQUEST``) and says so (``validated_by``).

What it answers, as the model declares: ``204`` without a body on success; an
``ErrorList`` (``{"errors": [{"code", "message", "details"}]}``) with ``400`` (the body
or a parameter does not conform; code ``Invalid Input`` as in the model's own
example), ``403`` (no ``x-amz-access-token`` when a token is required), ``404`` (an
order the sandbox does not hold, when orders are registered), ``429`` and ``503``
(failure knobs). Every answer carries ``x-amzn-RequestId``; 204, 400
and 404 carry ``x-amzn-RateLimit-Limit`` too. The error ``code`` strings of 403/404/429/
503 are SP-API's documented error codes; the model only fixes the shape.

Knobs: ``fail_next(status, count)``, ``drop_next(count)`` (apply the confirmation, then
close the connection without answering: a lost answer), ``orders`` (``{order_id:
{order_item_id: quantity}}``: only those orders and items exist; quantities shipped
beyond the ordered ones are refused with 400), ``token``.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from urllib.parse import unquote

from shipsync.sandbox.common import LOOPBACK, BackgroundServer, SandboxHandler

from . import model

RATE_LIMIT = "2.0"  # the usage plan of confirmShipment: 2 requests per second
HOST = "https://sellingpartnerapi-na.amazon.com"
PREFIX = "/orders/v0/orders/"
SUFFIX = "/shipmentConfirmation"
ERROR_CODES = {400: "Invalid Input", 403: "Unauthorized", 404: "NotFound",
               429: "QuotaExceeded", 500: "InternalFailure", 503: "ServiceUnavailable"}


@dataclass
class Received:
    order_id: str
    body: dict
    status: int
    request_id: str
    headers: dict = field(default_factory=dict)


class AmazonHandler(SandboxHandler):
    server_version = "amazon-sp-sandbox/1"

    def do_POST(self):  # noqa: N802
        self.owner._handle(self)

    def do_GET(self):  # noqa: N802
        if self.path_only == "/__log":
            self.send_json(200, self.owner.log())
            return
        self.owner._error(self, 404, "NotFound", "Resource not found.")


class AmazonOrdersSandbox(BackgroundServer):
    handler_class = AmazonHandler
    name = "amazon-orders"

    def __init__(self, port: int = 0, host: str = LOOPBACK, verbose: bool = False,
                 model_file=None, token: str | None = None):
        super().__init__(port=port, host=host, verbose=verbose)
        path = model_file or model.model_path()
        self.model_file = str(path) if path else None
        self.token = token
        self._lock = threading.Lock()
        self.reset()

    @property
    def validated_by(self) -> str:
        """``"published model"`` or ``"transcription"`` (no ``$CONTRACTS_DIR``)."""
        return "published model" if self.model_file else "transcription"

    def reset(self) -> None:
        with self._lock:
            self.received: list[Received] = []
            self.orders: dict[str, dict[str, int]] | None = None
            self._fail: list[int] = []
            self._drop = 0

    def fail_next(self, status: int, count: int = 1) -> None:
        with self._lock:
            self._fail.extend([status] * count)

    def drop_next(self, count: int = 1) -> None:
        with self._lock:
            self._drop += count

    def log(self) -> list[dict]:
        with self._lock:
            return [{"order_id": r.order_id, "status": r.status, "body": r.body,
                     "request_id": r.request_id} for r in self.received]

    def confirmations(self, order_id: str | None = None) -> list[dict]:
        """The accepted (204) confirmation bodies, of one order or all."""
        with self._lock:
            return [r.body for r in self.received
                    if r.status == 204 and (order_id is None or r.order_id == order_id)]

    def shipped(self, order_id: str) -> dict[str, int]:
        """Quantities confirmed per order item of ``order_id``."""
        out: dict[str, int] = {}
        for body in self.confirmations(order_id):
            for item in body["packageDetail"]["orderItems"]:
                out[item["orderItemId"]] = out.get(item["orderItemId"], 0) + item["quantity"]
        return out

    # -- the endpoint -------------------------------------------------------------
    def _error(self, handler, status, code, message, details=None, record=None):
        request_id = str(uuid.uuid4())
        error = {"code": code, "message": message}
        if details:
            error["details"] = details
        headers = {"x-amzn-RequestId": request_id}
        if status in (400, 404):
            headers["x-amzn-RateLimit-Limit"] = RATE_LIMIT
        if record is not None:
            with self._lock:
                self.received.append(Received(record[0], record[1], status, request_id))
        handler.send_json(status, {"errors": [error]}, headers)

    def validate(self, order_id: str, raw: bytes) -> list[str]:
        """What the model finds wrong with a confirmShipment request ([] = valid)."""
        if self.model_file:
            from openapi_core.testing import MockRequest

            request = MockRequest(HOST, "post", f"{PREFIX}{order_id}{SUFFIX}", data=raw,
                                  content_type="application/json")
            try:
                model.openapi(self.model_file).validate_request(request)
            except Exception as exc:  # noqa: BLE001 - openapi-core raises many classes
                return _messages(exc)
            return []
        import jsonschema

        try:
            body = json.loads(raw)
        except ValueError as exc:
            return [f"body is not JSON: {exc}"]
        validator = jsonschema.Draft4Validator(model.CONFIRM_SHIPMENT_REQUEST,
                                               format_checker=jsonschema.FormatChecker())
        return [f"{'/'.join(map(str, e.absolute_path)) or 'body'}: {e.message}"
                for e in validator.iter_errors(body)]

    def _handle(self, handler) -> None:
        path = handler.path_only
        if not (path.startswith(PREFIX) and path.endswith(SUFFIX)):
            self._error(handler, 404, "NotFound", "Resource not found.")
            return
        order_id = unquote(path[len(PREFIX):-len(SUFFIX)])
        try:
            raw = handler.read_body(1024 * 1024)
        except ValueError:
            self._error(handler, 400, "Invalid Input", "Request body too large.")
            return
        if self.token and handler.headers.get("x-amz-access-token") != self.token:
            self._error(handler, 403, "Unauthorized", "Access to requested resource is denied.")
            return
        with self._lock:
            fail = self._fail.pop(0) if self._fail else None
        if fail:
            self._error(handler, fail, ERROR_CODES.get(fail, "InternalFailure"),
                        "Sandbox failure knob.")
            return
        problems = self.validate(order_id, raw)
        body = _json(raw)
        if problems:
            self._error(handler, 400, "Invalid Input", "Invalid Input",
                        "; ".join(problems)[:1000], record=(order_id, body))
            return
        if self.orders is not None:
            ordered = self.orders.get(order_id)
            if ordered is None:
                self._error(handler, 404, "NotFound", f"Order {order_id} not found.",
                            record=(order_id, body))
                return
            shipped = self.shipped(order_id)
            for item in body["packageDetail"]["orderItems"]:
                item_id, qty = item["orderItemId"], item["quantity"]
                if item_id not in ordered or shipped.get(item_id, 0) + qty > ordered[item_id]:
                    self._error(handler, 400, "Invalid Input", "Invalid Input",
                                f"order item {item_id}: {qty} more than ordered or unknown",
                                record=(order_id, body))
                    return
        request_id = str(uuid.uuid4())
        with self._lock:
            self.received.append(Received(order_id, body, 204, request_id,
                                          dict(handler.headers.items())))
            drop = self._drop > 0
            if drop:
                self._drop -= 1
        if drop:
            handler.close_connection = True
            handler.connection.close()
            return
        handler.send_bytes(204, b"", headers={"x-amzn-RequestId": request_id,
                                              "x-amzn-RateLimit-Limit": RATE_LIMIT})


def _json(raw: bytes):
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _messages(exc: BaseException) -> list[str]:
    out, todo, seen = [], [exc], set()
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        for error in getattr(current, "schema_errors", None) or ():
            where = "/".join(map(str, error.absolute_path)) or "body"
            out.append(f"{where}: {error.message[:300]}")
        for nested in (current.__cause__, current.__context__):
            if nested is not None:
                todo.append(nested)
    return out or [f"{type(exc).__name__}: {str(exc)[:300]}"]


def run(args) -> int:
    """Amazon Orders API confirmShipment sandbox, validating against the published model."""
    server = AmazonOrdersSandbox(port=args.port, host=args.host, verbose=args.verbose,
                                 token=args.options.get("token"))
    if "orders" in args.options:
        server.orders = args.options["orders"]
    server._bind()
    print(f"amazon listening on {server.url} (validated by the {server.validated_by})",
          flush=True)
    server.serve_forever()
    return 0
