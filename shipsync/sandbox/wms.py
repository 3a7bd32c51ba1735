"""A warehouse / 3PL (WMS) on loopback: takes releases, sends confirmations back.

``python -m shipsync.sandbox wms --port 8078 \
--set webhook_url=http://127.0.0.1:8069/shipment_sync/webhook/wms-demo \
--set secret=whsec_... --set 'delays={"pick_confirmed": 2, "ship_confirmed": 6}'``

API (what the ``shipment_sync_wms`` addon calls):

- ``POST /releases``: one ``ReleaseOrder.to_dict()`` (action create / update /
  cancel). ``200 {"status": "accepted" | "updated" | "cancelled", ...}``; an update or
  cancel of an order already shipped is refused: ``409 {"status": "refused",
  "reason": "already shipped"}``; a bad body ``400``. Same ``Idempotency-Key`` =
  same answer, applied once.
- ``GET /stock``: a ``wms-stock-v1`` snapshot (the ``stock`` knob).
- ``POST /_control/confirm`` ``{"order_ref", "kinds", ...overrides}``: send now.
- ``GET /_control/log``: orders, received calls and sent confirmations.

Confirmations are Standard Webhooks signed POSTs to ``webhook_url`` (mode
``webhook``) or files written atomically into ``exchange_dir`` (mode ``files``,
format ``file_format``). With ``delays`` (seconds per kind) they are sent by
timers after each new release; without, only on request (``confirm``), which is
what tests use in-process. Scenario knobs: ``partial`` (ship half of the first
line), ``substitute_lots`` (requested lot -> lot shipped instead), ``lots``
(product code -> lot shipped when none was requested), ``split_packages`` (N
packages per shipment), ``mismatch`` / ``mismatch_rate`` (``unknown_product``,
``unknown_lot``, ``over_quantity``) with ``seed``, ``units`` (product code -> X12
unit shipped, e.g. ``EA`` against a line ordered in ``DZ``). In X12 the sandbox
numbers its interchanges and answers a 940 file with a 997 (``acknowledge``).
"""

from __future__ import annotations

import json
import random
import threading
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from ..signatures import StandardWebhooks
from ..wms import csv_format, files, json_format, x12
from ..wms.messages import (
    Confirmation,
    ConfirmedLine,
    ConfirmedPackage,
    FormatError,
    ReleaseOrder,
    StockSnapshotLine,
)
from .common import LOOPBACK, BackgroundServer, SandboxHandler, post_json

MISMATCHES = ("unknown_product", "unknown_lot", "over_quantity")
SHIP_KINDS = ("pick_confirmed", "pack_confirmed", "ship_confirmed")
DEFAULTS = {
    "webhook_url": None,
    "secret": None,
    "mode": "webhook",
    "exchange_dir": None,
    "file_format": "json",
    "delays": None,
    "partial": False,
    "substitute_lots": {},
    "lots": {},
    "split_packages": 1,
    "mismatch": None,
    "mismatch_rate": 0.0,
    "seed": None,
    "carrier": "SBX",
    "units": {},
    "stock": [],
}


def build_confirmations(order: ReleaseOrder, kinds=SHIP_KINDS, *, now: datetime | None = None,
                        partial: bool = False, substitute_lots: dict | None = None,
                        lots: dict | None = None, split_packages: int = 1,
                        mismatch: str | None = None, carrier: str = "SBX",
                        message_prefix: str | None = None,
                        units: dict | None = None) -> list[Confirmation]:
    """The confirmations a warehouse sends for ``order`` (deterministic); ``units``
    (product code -> X12 unit) ships a product in another unit than ordered."""
    units = units or {}
    now = now or datetime.now(timezone.utc)
    prefix = message_prefix or f"{order.order_ref}-r{order.revision}"
    substitute_lots, lots = substitute_lots or {}, lots or {}
    split = max(1, int(split_packages))
    safe = "".join(c for c in order.order_ref if c.isalnum())[-12:]
    packages = tuple(
        ConfirmedPackage(f"PKG-{safe}-{n + 1}", f"1Z{safe}{n + 1:03d}".upper(), carrier,
                         Decimal("1.5"))
        for n in range(split)
    )
    lines = []
    for index, line in enumerate(order.lines):
        qty = line.quantity
        if partial and index == 0:
            qty = (qty / 2).to_integral_value(rounding="ROUND_FLOOR")
        if mismatch == "over_quantity" and index == 0:
            qty = qty * 2 + 1
        lot_names = [substitute_lots.get(x, x) for x in line.lots] or (
            [lots[line.product_code]] if line.product_code in lots else [])
        if mismatch == "unknown_lot" and index == 0:
            lot_names = ["NO-SUCH-LOT"]
        conf_lots = ((lot_names[0], qty),) if lot_names else ()
        lines.append(ConfirmedLine(line.line_ref, line.product_code, qty, conf_lots,
                                   packages[index % split].package_ref,
                                   units.get(line.product_code, line.uom)))
    if mismatch == "unknown_product":
        lines.append(ConfirmedLine("", "UNKNOWN-SKU", Decimal(1), (), packages[0].package_ref,
                                   "EA"))
    result = []
    for offset, kind in enumerate(kinds):
        result.append(Confirmation(
            message_id=f"{prefix}-{kind}", kind=kind, order_ref=order.order_ref,
            correlation_id=order.correlation_id,
            occurred_at=now.replace(microsecond=0) - timedelta(seconds=len(kinds) - 1 - offset),
            lines=tuple(lines) if kind in ("pick_confirmed", "ship_confirmed") else (),
            packages=packages if kind in ("pack_confirmed", "ship_confirmed") else (),
        ))
    return result


def build_return(order: ReleaseOrder, shipped: Confirmation | None, *, condition_code="GOOD",
                 now: datetime | None = None, quantities: dict | None = None) -> Confirmation:
    """A return receipt for what was shipped (or ordered), ``quantities`` by product."""
    now = now or datetime.now(timezone.utc)
    quantities = quantities or {}
    source = shipped.lines if shipped else tuple(
        ConfirmedLine(x.line_ref, x.product_code, x.quantity, uom=x.uom) for x in order.lines)
    lines = []
    for line in source:
        qty = Decimal(quantities.get(line.product_code, line.quantity))
        lots = ((line.lots[0][0], qty),) if line.lots else ()
        lines.append(ConfirmedLine(line.line_ref, line.product_code, qty, lots, uom=line.uom))
    return Confirmation(
        message_id=f"{order.order_ref}-return-{uuid.uuid4().hex[:8]}", kind="return_received",
        order_ref=order.order_ref, correlation_id=order.correlation_id,
        occurred_at=now.replace(microsecond=0), lines=tuple(lines),
        condition_code=condition_code)


class WmsHandler(SandboxHandler):
    def do_GET(self):  # noqa: N802
        path = self.path_only
        if path == "/stock":
            lines = [StockSnapshotLine.from_dict(x) for x in self.owner.knobs["stock"]]
            self.send_bytes(200, json_format.write_stock(lines, taken_at=_now_iso()))
        elif path == "/_control/log":
            self.send_json(200, self.owner.log())
        elif path == "/_control/health":
            self.send_json(200, {"status": "ok"})
        else:
            self.send_json(404, {"error": "not found"})

    def do_POST(self):  # noqa: N802
        path = self.path_only
        try:
            body = self.read_body()
            data = json.loads(body or b"{}")
        except ValueError as exc:
            self.send_json(400, {"status": "error", "reason": f"invalid JSON: {exc}"})
            return
        if path == "/releases":
            status, answer = self.owner.receive(data, self.headers.get("Idempotency-Key"))
            self.server.log_line(f"release {data.get('order_ref')} -> {status}")
            self.send_json(status, answer)
        elif path == "/_control/confirm":
            try:
                ref = data.pop("order_ref")
                sent = self.owner.confirm(ref, **data)
            except (KeyError, ValueError, TypeError) as exc:
                self.send_json(400, {"status": "error", "reason": str(exc)})
                return
            self.send_json(200, {"sent": [[c.message_id, s] for c, s in sent]})
        elif path == "/_control":
            self.owner.configure(**data)
            self.send_json(200, {"status": "ok"})
        else:
            self.send_json(404, {"error": "not found"})


def _now_iso():
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class WmsSandbox(BackgroundServer):
    """The WMS sandbox server; usable in-process (``start()`` / ``confirm()``)."""

    handler_class = WmsHandler
    name = "wms"

    def __init__(self, port: int = 0, host: str = LOOPBACK, verbose: bool = False, **knobs):
        super().__init__(port=port, host=host, verbose=verbose)
        self.lock = threading.RLock()
        self.knobs = dict(DEFAULTS)
        self.reset()
        self.configure(**knobs)

    # -- state ----------------------------------------------------------------------
    def reset(self):
        with self.lock:
            self.orders: dict[str, dict] = {}
            self.calls: list[dict] = []
            self.sent: list[dict] = []
            self.answers: dict[str, tuple[int, dict]] = {}
            self.cancel_timers()
            self.random = random.Random(self.knobs.get("seed"))
            self.control_number = 0  # ISA13 / GS06 of the X12 files the warehouse writes

    def configure(self, **knobs):
        unknown = set(knobs) - set(DEFAULTS)
        if unknown:
            raise ValueError(f"unknown knob(s): {', '.join(sorted(unknown))}")
        for name in ("mismatch",):
            if knobs.get(name) not in (None, *MISMATCHES):
                raise ValueError(f"{name} must be one of {', '.join(MISMATCHES)}")
        with self.lock:
            self.knobs.update(knobs)
            if "seed" in knobs:
                self.random = random.Random(knobs["seed"])

    def log(self) -> dict:
        with self.lock:
            return {
                "orders": {ref: {"state": o["state"], "revision": o["order"].revision,
                                 "order": o["order"].to_dict()} for ref, o in self.orders.items()},
                "calls": list(self.calls),
                "sent": list(self.sent),
            }

    # -- releases -------------------------------------------------------------------
    def receive(self, data: dict, idempotency_key: str | None = None) -> tuple[int, dict]:
        """Handle one release message; returns (HTTP status, answer)."""
        with self.lock:
            if idempotency_key and idempotency_key in self.answers:
                return self.answers[idempotency_key]
            try:
                order = ReleaseOrder.from_dict(data)
            except FormatError as exc:
                return 400, {"status": "error", "reason": str(exc)}
            self.calls.append({"action": order.action, "order_ref": order.order_ref,
                               "revision": order.revision, "idempotency_key": idempotency_key,
                               "lines": [x.to_dict() for x in order.lines]})
            current = self.orders.get(order.order_ref)
            schedule = False
            if order.action == "create":
                if current and current["state"] != "cancelled":
                    answer = (200, {"status": "accepted", "order_ref": order.order_ref,
                                    "revision": current["order"].revision, "existing": True})
                else:
                    self.orders[order.order_ref] = {"order": order, "state": "released",
                                                    "shipped": None}
                    answer = (200, {"status": "accepted", "order_ref": order.order_ref,
                                    "revision": order.revision})
                    schedule = True
            elif not current:
                answer = (404, {"status": "unknown", "reason": "no such order"})
            elif current["state"] == "shipped":
                answer = (409, {"status": "refused", "reason": "already shipped"})
            elif order.action == "update":
                current["order"] = order
                answer = (200, {"status": "updated", "order_ref": order.order_ref,
                                "revision": order.revision})
            else:
                current["state"] = "cancelled"
                answer = (200, {"status": "cancelled", "order_ref": order.order_ref})
            if idempotency_key:
                self.answers[idempotency_key] = answer
        if schedule and self.knobs.get("delays"):
            self._schedule(order.order_ref)
        return answer

    def _schedule(self, order_ref: str):
        for kind, delay in sorted(self.knobs["delays"].items(), key=lambda kv: kv[1]):
            self.later(delay, self._fire, order_ref, kind, label=f"confirm {order_ref} {kind}")

    def _fire(self, order_ref, kind):
        mismatch = self.knobs.get("mismatch")
        rate = float(self.knobs.get("mismatch_rate") or 0)
        if kind == "ship_confirmed" and not mismatch and rate and self.random.random() < rate:
            mismatch = self.random.choice(MISMATCHES)
        self.confirm(order_ref, kinds=(kind,), mismatch=mismatch)

    # -- confirmations --------------------------------------------------------------
    def confirm(self, order_ref: str, kinds=SHIP_KINDS, **overrides) -> list:
        """Build and send the confirmations of ``kinds`` for an order now.
        Returns ``[(confirmation, http status or file path)]``."""
        with self.lock:
            entry = self.orders.get(order_ref)
            if not entry:
                raise KeyError(f"no order {order_ref!r}")
            if entry["state"] == "cancelled":
                raise ValueError(f"order {order_ref} is cancelled")
            options = {k: overrides.get(k, self.knobs[k]) for k in (
                "partial", "substitute_lots", "lots", "split_packages", "mismatch", "carrier",
                "units")}
            confirmations = build_confirmations(
                entry["order"], tuple(kinds), message_prefix=overrides.get("message_prefix"),
                **options)
            for conf in confirmations:
                if conf.kind == "ship_confirmed":
                    entry["state"] = "shipped"
                    entry["shipped"] = conf
        return [(conf, self.deliver(conf)) for conf in confirmations]

    def return_receipt(self, order_ref: str, condition_code="GOOD", quantities=None):
        with self.lock:
            entry = self.orders[order_ref]
            conf = build_return(entry["order"], entry["shipped"],
                                condition_code=condition_code, quantities=quantities)
        return conf, self.deliver(conf)

    def deliver(self, conf: Confirmation):
        """POST one confirmation (signed) or write it as a file; returns the HTTP
        status (0 when Odoo could not be reached) or the file path."""
        if self.knobs["mode"] == "files":
            directory = Path(self.knobs["exchange_dir"])
            fmt = self.knobs["file_format"]
            ext = {"csv": "csv", "json": "json", "x12": "945"}[fmt]
            stamp = conf.occurred_at.strftime("%Y%m%dT%H%M%S")
            name = f"{stamp}-{files._UNSAFE.sub('_', conf.message_id)}.{ext}"
            if fmt == "x12":
                data = x12.write_confirmations([conf], self._envelope())
            else:
                data = {"csv": csv_format, "json": json_format}[fmt].write_confirmations([conf])
            path = files.write_atomic(directory, name, data)
            self._record(conf, str(path))
            return str(path)
        url, secret = self.knobs["webhook_url"], self.knobs["secret"]
        if not url:
            raise ValueError("no webhook_url configured")
        body = json_format.write_webhook(conf)
        headers = {}
        if secret:
            headers.update(StandardWebhooks([secret]).headers(conf.message_id, body))
        status = post_json(url, body, headers)
        self._record(conf, status)
        return status

    def _envelope(self) -> x12.Envelope:
        with self.lock:
            self.control_number += 1
            return x12.Envelope("WMS", "SHIPSYNC", self.control_number)

    def acknowledge(self, release_file, code: str | None = None) -> Path:
        """Answer an X12 940 file as the warehouse's translator does: a 997 into
        ``exchange_dir`` (AK9 as the file deserves, or ``code`` to force one)."""
        data = Path(release_file).read_bytes()
        acks = x12.acknowledgment_for(data, "940")
        if code:
            acks = [x12.GroupAcknowledgment(a.functional_id, a.control, a.version, code,
                                            tuple(x12.SetAcknowledgment(s.set_id, s.control,
                                                                        code) for s in a.sets),
                                            a.included, a.received,
                                            0 if code == "R" else a.received) for a in acks]
        envelope = self._envelope()
        name = f"997-{envelope.control_number:09d}.997"
        return files.write_atomic(Path(self.knobs["exchange_dir"]), name,
                                  x12.write_acknowledgments(acks, envelope))

    def _record(self, conf, result):
        with self.lock:
            self.sent.append({"message_id": conf.message_id, "kind": conf.kind,
                              "order_ref": conf.order_ref, "result": result})


#: What ``python -m shipsync.sandbox wms`` uses unless told otherwise: the demo
#: database's partner ``wms-sandbox`` on http://127.0.0.1:8069 (see the
#: shipment_sync_wms demo data), confirmations 5 / 10 / 15 s after a release.
CLI_DEFAULTS = {
    "webhook_url": "http://127.0.0.1:8069/shipment_sync/webhook/wms-sandbox",
    "secret": "whsec_d21zLXNhbmRib3gtZGVtby1zZWNyZXQtMDE=",
    "delays": {"pick_confirmed": 5, "pack_confirmed": 10, "ship_confirmed": 15},
    "lots": {"3PL-LAMP": "LAMP-2026-A"},
    "split_packages": 2,
    "stock": [
        {"product_code": "3PL-DESK", "location": "A-01-01", "lot": "", "quantity": "38"},
        {"product_code": "3PL-LAMP", "location": "B-02-03", "lot": "LAMP-2026-A",
         "quantity": "120"},
        {"product_code": "3PL-UNKNOWN", "location": "Z-99", "lot": "", "quantity": "4"},
    ],
}


def run(args) -> int:
    """WMS / 3PL sandbox: releases in, signed pick / pack / ship confirmations out."""
    options = {**CLI_DEFAULTS, **args.options}
    server = WmsSandbox(port=args.port, host=args.host, verbose=args.verbose, **options)
    server._bind()
    print(f"wms listening on {server.url}", flush=True)
    server.serve_forever()
    return 0
