"""A loopback TMS speaking the canonical TMS profile, for tests and the demo.

``POST /plans`` (``tms-plan-v1``, validated with jsonschema; ``Idempotency-Key``
required): ``201 {"status": "accepted", "plan_id", "planning_ref"}``; the same key
again answers the stored result (``200``), the same key with another body ``409
idempotency_conflict``; a bad body ``422 schema_violation``; no key ``400
missing_idempotency_key``. Errors are ``{"error": {"code", "message"}}``.

A revision (``action: revise``, the next version of a known plan) answers ``200
{"status": "revised", "plan_id", "planning_ref", "version"}``, a cancellation
(``action: cancel``) ``200 {"status": "cancelled", ...}``. Refused: a plan the sandbox
does not know (``404 unknown_plan``), a revision or cancellation of a cancelled plan
(``409 plan_cancelled``), a version not above the plan's current one (``409
stale_version``), a second release of a known plan under another key (``409
plan_exists``). A cancelled plan reports nothing more.

``report(correlation_id)`` then plays the TMS's side: signed (Standard Webhooks)
``tms-update-v1`` posts to the webhook URL: ``planned``, ``carrier_assigned`` (with a
quoted amount), milestones, ``freight_charges``.

``correct_charges(correlation_id)`` sends the final charges again, re-rated at the
current knobs, as a corrected invoice.

Knobs: ``fail_next(status, count, retry_after)``, ``reject`` (plans answered 422
``unplannable``), ``carrier`` / ``service`` / ``quoted`` (assignment), ``variance``
(final charges = quoted + variance), ``milestones``, ``duplicate`` (every update sent
twice), ``reverse`` (updates sent newest first), ``webhook_url``, ``secret``,
``report_after`` (seconds: the TMS reports every accepted plan on its own after that
long, on a timer of ``BackgroundServer.later``; default ``None``: on request only).
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from shipsync.sandbox.common import LOOPBACK, BackgroundServer, SandboxHandler, post_json
from shipsync.schemas import PayloadError, load_schema, validate
from shipsync.signatures import StandardWebhooks

DEFAULT_KNOBS = {
    "reject": False, "carrier": "DHLFREIGHT", "carrier_name": "DHL Freight",
    "service": "Eurapid", "quoted": "120.00", "variance": "0.00", "currency": "EUR",
    "milestones": ["picked_up", "in_transit", "delivered"], "duplicate": False,
    "reverse": False, "webhook_url": "", "secret": "", "report_after": None,
}


class TmsHandler(SandboxHandler):
    server_version = "shipsync-tms-sandbox/1"

    def do_POST(self):  # noqa: N802
        if self.path_only != "/plans":
            self.send_json(404, {"error": {"code": "not_found", "message": "no such route"}})
            return
        status, answer, headers = self.owner.receive(
            self.read_body(1024 * 1024), self.headers.get("Idempotency-Key"))
        self.send_json(status, answer, headers)

    def do_GET(self):  # noqa: N802
        if self.path_only == "/__log":
            self.send_json(200, self.owner.log())
            return
        self.send_json(404, {"error": {"code": "not_found", "message": "no such route"}})


def _error(code, message):
    return {"error": {"code": code, "message": message}}


class TmsSandbox(BackgroundServer):
    handler_class = TmsHandler
    name = "tms"

    def __init__(self, port: int = 0, host: str = LOOPBACK, verbose: bool = False, **knobs):
        super().__init__(port=port, host=host, verbose=verbose)
        self._lock = threading.Lock()
        self._initial = knobs
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.knobs = {**DEFAULT_KNOBS, **self._initial}
            self.plans: dict[str, dict] = {}      # correlation id -> plan
            self.by_key: dict[str, tuple] = {}    # idempotency key -> (body, answer)
            self.requests: list[dict] = []
            self.history: list[tuple[str, str, int]] = []  # (plan_id, action, version)
            self.sent: list[tuple[str, int]] = []  # (event_id, status)
            self._fail: list[tuple[int, str | None]] = []
            self._seq = 0
        self.cancel_timers()

    def configure(self, **knobs) -> None:
        unknown = set(knobs) - set(DEFAULT_KNOBS)
        if unknown:
            raise ValueError(f"unknown knobs {sorted(unknown)}")
        with self._lock:
            self.knobs.update(knobs)

    def fail_next(self, status: int, count: int = 1, retry_after: str | None = None) -> None:
        with self._lock:
            self._fail.extend([(status, retry_after)] * count)

    def log(self) -> dict:
        with self._lock:
            return {"requests": list(self.requests), "sent": list(self.sent),
                    "history": [list(h) for h in self.history]}

    # -- plans ----------------------------------------------------------------------
    def receive(self, raw: bytes, key: str | None):
        with self._lock:
            self.requests.append({"key": key, "size": len(raw)})
            fail = self._fail.pop(0) if self._fail else None
        if fail:
            status, retry_after = fail
            headers = {"Retry-After": retry_after} if retry_after else {}
            return status, _error("unavailable", "sandbox failure knob"), headers
        if not key:
            return 400, _error("missing_idempotency_key", "Idempotency-Key is required"), {}
        try:
            doc = json.loads(raw)
            validate(doc, load_schema("tms-plan-v1"))
        except ValueError as exc:
            code = exc.code if isinstance(exc, PayloadError) else "invalid_json"
            return 422, _error(code, str(exc)[:500]), {}
        with self._lock:
            if key in self.by_key:
                body, answer = self.by_key[key]
                if body != doc:
                    return 409, _error("idempotency_conflict",
                                       "this key was used with another body"), {}
                return 200, answer, {}
            action = doc.get("action", "release")
            plan = self.plans.get(doc["correlation_id"])
            if action != "release":
                return self._change(doc, action, plan, key)
            if plan:
                return 409, _error("plan_exists", f"plan {doc['plan_id']} was already "
                                   "released: send a revision (action revise)"), {}
            if self.knobs["reject"]:
                answer = _error("unplannable", "no capacity on this lane")
                return 422, answer, {}
            self._seq += 1
            answer = {"status": "accepted", "plan_id": doc["plan_id"],
                      "planning_ref": f"PLN-{self._seq:05d}"}
            self.plans[doc["correlation_id"]] = {"doc": doc, **answer,
                                                 "version": doc.get("version", 1)}
            self.by_key[key] = (doc, answer)
            self.history.append((doc["plan_id"], action, doc.get("version", 1)))
            delay = self.knobs["report_after"]
        if delay is not None and self.knobs["webhook_url"]:
            self.later(delay, self.report, doc["correlation_id"],
                       label=f"report {doc['correlation_id']}")
        return 201, answer, {}

    def _change(self, doc: dict, action: str, plan: dict | None, key: str):
        """A revision or cancellation of a known plan (under the lock)."""
        version = doc["version"]
        if not plan or plan["plan_id"] != doc["plan_id"]:
            return 404, _error("unknown_plan", f"no plan {doc['plan_id']} was released "
                               f"for correlation id {doc['correlation_id']}"), {}
        if plan.get("cancelled_at_version"):
            return 409, _error("plan_cancelled", (
                f"plan {plan['plan_id']} was cancelled at version "
                f"{plan['cancelled_at_version']}: it cannot be "
                f"{'revised' if action == 'revise' else 'cancelled again'} "
                f"(version {version})")), {}
        if version <= plan["version"]:
            return 409, _error("stale_version", (
                f"version {version} is not above the current version {plan['version']} "
                f"of plan {plan['plan_id']}")), {}
        plan["version"] = version
        if action == "revise":
            plan["doc"] = doc
            status = "revised"
        else:
            plan["cancelled_at_version"] = version
            status = "cancelled"
        answer = {"status": status, "plan_id": plan["plan_id"],
                  "planning_ref": plan["planning_ref"], "version": version}
        self.by_key[key] = (doc, answer)
        self.history.append((doc["plan_id"], action, version))
        return 200, answer, {}

    # -- updates ------------------------------------------------------------------------
    def updates(self, correlation_id: str, now: datetime | None = None) -> list[dict]:
        """The updates the TMS sends about one accepted plan, oldest first."""
        plan = self.plans[correlation_id]
        if plan.get("cancelled_at_version"):
            return []
        knobs = self.knobs
        now = now or datetime.now(timezone.utc).replace(microsecond=0)
        base = {"schema": "tms-update-v1", "correlation_id": correlation_id,
                "order_ref": plan["doc"]["order_ref"], "planning_ref": plan["planning_ref"]}
        tracking = f"{knobs['carrier']}-{plan['planning_ref']}"
        steps = [{"type": "planned"},
                 {"type": "carrier_assigned", "tracking_number": tracking,
                  "carrier": {"code": knobs["carrier"], "name": knobs["carrier_name"],
                              "service": knobs["service"]},
                  "quoted_amount": knobs["quoted"], "currency": knobs["currency"]}]
        steps += [{"type": "milestone", "milestone": m, "tracking_number": tracking}
                  for m in knobs["milestones"]]
        steps.append(self._charges(plan, tracking, f"INV-{plan['planning_ref']}"))
        out = []
        for i, step in enumerate(steps):
            at = (now + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
            out.append({**base, **step, "event_id": f"{plan['planning_ref']}-{i}",
                        "occurred_at": at})
        return out

    def _charges(self, plan: dict, tracking: str, invoice_ref: str) -> dict:
        knobs = self.knobs
        total = Decimal(knobs["quoted"]) + Decimal(knobs["variance"])
        base_charge = (total * Decimal("0.85")).quantize(Decimal("0.01"))
        return {"type": "freight_charges", "tracking_number": tracking,
                "invoice_ref": invoice_ref,
                "charges": [
                    {"code": "BASE", "description": "Linehaul", "amount": str(base_charge)},
                    {"code": "FUEL", "description": "Fuel surcharge",
                     "amount": str(total - base_charge)}],
                "total": str(total), "currency": knobs["currency"]}

    def correct_charges(self, correlation_id: str) -> int:
        """The TMS re-rates a plan and sends its final charges again (a corrected
        invoice, ``-C<n>``) at the current ``quoted`` + ``variance``; the HTTP status."""
        plan = self.plans[correlation_id]
        with self._lock:
            plan["corrections"] = plan.get("corrections", 0) + 1
            n = plan["corrections"]
        ref = plan["planning_ref"]
        now = datetime.now(timezone.utc).replace(microsecond=0)
        update = {"schema": "tms-update-v1", "correlation_id": correlation_id,
                  "order_ref": plan["doc"]["order_ref"], "planning_ref": ref,
                  **self._charges(plan, f"{self.knobs['carrier']}-{ref}", f"INV-{ref}-C{n}"),
                  "event_id": f"{ref}-c{n}",
                  "occurred_at": now.strftime("%Y-%m-%dT%H:%M:%SZ")}
        return self.post(update)

    def report(self, correlation_id: str, kinds: tuple | None = None) -> list[int]:
        """POST the updates of a plan (all, or those of ``kinds``); their statuses."""
        updates = [u for u in self.updates(correlation_id)
                   if kinds is None or u["type"] in kinds]
        if self.knobs["reverse"]:
            updates.reverse()
        statuses = []
        for update in updates:
            for _copy in range(2 if self.knobs["duplicate"] else 1):
                statuses.append(self.post(update))
        return statuses

    def post(self, update: dict) -> int:
        url, secret = self.knobs["webhook_url"], self.knobs["secret"]
        if not url:
            raise ValueError("no webhook_url configured")
        body = json.dumps(update).encode()
        headers = {}
        if secret:
            # A repeated update keeps its webhook-id, as a Standard Webhooks retry does.
            headers.update(StandardWebhooks([secret]).headers(update["event_id"], body))
        status = post_json(url, body, headers)
        with self._lock:
            self.sent.append((update["event_id"], status))
        return status


def run(args) -> int:
    """TMS sandbox: plans in, signed planning / carrier / milestone / charge updates out."""
    server = TmsSandbox(port=args.port, host=args.host, verbose=args.verbose, **args.options)
    server._bind()
    print(f"tms listening on {server.url}", flush=True)
    server.serve_forever()
    return 0
