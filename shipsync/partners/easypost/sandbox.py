"""EasyPost's slice of the carrier sandbox: only routes EasyPost has, in its object shapes
and error format, so that the official SDK (PyPI ``easypost``) works against it unchanged.
Authentication: ``Authorization: Bearer <API key>`` (what the SDK sends) or HTTP Basic with
the key as user (EasyPost's curl examples)::

    POST /v2/shipments                 create (rates come back on the shipment)
    GET  /v2/shipments/{id}            one shipment
    POST /v2/shipments/{id}/buy        buy a rate: tracking code, postage_label, tracker
    POST /v2/shipments/{id}/refund     refund_status submitted / rejected (after pickup)
    POST /v2/trackers                  the tracker of a tracking code (created if needed)
    GET  /v2/trackers                  list (``page_size``, ``tracking_code``)
    GET  /v2/trackers/{id}             one tracker
    POST /v2/trackers/batch            ``{"tracking_codes": [...]}`` -> ``{"trackers", "has_more"}``
    POST /v2/pickups, /v2/batches     pickups and scan forms (``sandbox_dispatch.py``)
    POST /v2/reports/shipment          a shipment report (the carrier's invoice data)
    GET  /v2/reports/{id}              ready on the first read: ``url`` of its CSV
    GET  /v2/events                    list (``page_size``)
    GET  /v2/events/{id}               an Event this sandbox sent as a webhook
    GET  /reports/{id}.csv             the report's CSV (its ``url``; not an API route)

Errors: ``{"error": {"code", "message", "errors"}}`` as recorded (cassettes ``test_error``,
``test_error_alternative_format``). EasyPost honours no ``Idempotency-Key``: a repeated
create makes another shipment, a repeated buy of a bought shipment is refused.
Webhooks: ``Event`` objects (``tracker.updated``) signed ``X-Hmac-Signature:
hmac-sha256-hex=...``. Knobs: ``easypost_secret``, ``easypost_api_key`` (None: any key),
``easypost_mode`` (``test``/``production``: the ``mode`` of objects and events),
``drop_after_buy`` (that many buys are applied, then the connection is dropped unanswered),
``fail_after_drop`` (after each dropped buy, that many calls are answered ``fail_status``:
the partner is unreachable for a while, so the lost answer cannot be read back at once).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import unicodedata
import uuid

from shipsync.partners.easypost import sandbox_dispatch as dispatch
from shipsync.sandbox.slices import DROP, JSON, CarrierSlice, charge, iso, strip_internal

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
EP_TERMINAL = ("delivered", "failure", "cancelled")


def _page_size(query) -> int:
    try:
        return max(1, min(int((query.get("page_size") or ["20"])[0]), 100))
    except ValueError:
        return 20


def easypost_signature(body: bytes, secret: str) -> str:
    key = unicodedata.normalize("NFKD", secret).encode()
    return "hmac-sha256-hex=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def _ep_error(code: str, message: str, errors=None) -> dict:
    return {"error": {"code": code, "message": message, "errors": errors or []}}


NOT_FOUND = ("NOT_FOUND", "The requested resource could not be found.")


def _bearer_or_basic_key(header: str) -> str:
    scheme, _sep, value = (header or "").partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value.strip()).decode().partition(":")[0]
        except (ValueError, UnicodeDecodeError):
            return ""
    return ""


class EasyPostSlice(CarrierSlice):
    code = "easypost"
    KIND = "easypost"
    PREFIXES = ("/v2/", "/reports/", "/forms/")
    KNOBS = {"easypost_secret": "sandbox-easypost-secret", "easypost_api_key": None,
             "easypost_mode": "test", "drop_after_buy": 0, "fail_after_drop": 0,
             "easypost_signed_by": None, "easypost_evidence_url": None}

    def reset_state(self) -> None:
        self.shipments: dict[str, dict] = {}
        self.reports: dict[str, dict] = {}
        self.ep_events: dict[str, dict] = {}
        self.pickups, self.batches, self.scan_forms = {}, {}, {}

    def serve(self, method, path, query, body, raw_headers):
        if path.startswith("/reports/"):
            return EasyPostSlice._report_csv(self, path)
        if path.startswith("/forms/"):
            return dispatch.form_pdf(self, path)
        key = _bearer_or_basic_key(raw_headers.get("Authorization", ""))
        wanted = self.knobs["easypost_api_key"]
        if not key:
            return 401, _ep_error("APIKEY.REQUIRED", "An API key is required."), JSON, {}
        if wanted is not None and key != wanted:
            return 401, _ep_error("APIKEY.INACTIVE", "This API key is not valid."), JSON, {}
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            return 400, _ep_error("BAD_REQUEST", "The request body is not JSON."), JSON, {}
        with self._lock:
            status, payload = EasyPostSlice._route(self, method, path, query, data)
            dropped = status == 200 and path.endswith("/buy") and self.knobs["drop_after_buy"] > 0
            if dropped:
                self.knobs["drop_after_buy"] -= 1
                self.knobs["fail_next"] += int(self.knobs["fail_after_drop"] or 0)
            payload = strip_internal(payload)
        if dropped:
            return DROP, None, JSON, {}
        if self.knobs["malformed"] and 200 <= status < 300:
            return status, b"<html>upstream proxy error</html>", "text/html", {}
        return status, payload, JSON, {}

    def _route(self, method, path, query, data):
        parts = [p for p in path.split("/") if p]
        if parts[:1] != ["v2"]:
            return 404, _ep_error(*NOT_FOUND)
        parts = parts[1:]
        if parts[:1] in (["pickups"], ["batches"]):
            return dispatch.route(self, method, parts, data)
        if parts[:1] == ["shipments"]:
            if method == "POST" and len(parts) == 1:
                return self._ep_create(data.get("shipment") or {})
            if method == "POST" and len(parts) == 3 and parts[2] == "buy":
                return self._ep_buy(parts[1], data)
            if method == "POST" and len(parts) == 3 and parts[2] == "refund":
                return self._ep_refund(parts[1])
            if method == "GET" and len(parts) == 2:
                if parts[1] in self.shipments:
                    return 200, self.shipments[parts[1]]
                return 404, _ep_error(*NOT_FOUND)
        if parts == ["reports", "shipment"] and method == "POST":
            return self._ep_report_create(data)
        if parts[:1] == ["reports"] and len(parts) == 2 and method == "GET":
            report = self.reports.get(parts[1])
            if not report:
                return 404, _ep_error(*NOT_FOUND)
            report.update(status="available", url=f"{self.url}/reports/{report['id']}.csv")
            return 200, report
        if parts[:1] == ["trackers"]:
            if method == "POST" and len(parts) == 1:
                code = (data.get("tracker") or {}).get("tracking_code")
                if not code:
                    return 422, _ep_error("PARAMETER.REQUIRED", "Missing required parameter.",
                                          [{"field": "tracker.tracking_code",
                                            "message": "cannot be blank"}])
                tracker = self.trackers.get(code)
                if tracker is not None and tracker.get("_kind") != "easypost":
                    return 422, _ep_error("TRACKER.CREATE.ERROR", "not an EasyPost shipment")
                return (200 if tracker else 201), self._ep_tracker(code)
            if method == "POST" and parts[1:] == ["batch"]:
                codes = data.get("tracking_codes")
                if not isinstance(codes, list) or not codes:
                    return 422, _ep_error("PARAMETER.REQUIRED", "Missing required parameter.",
                                          [{"field": "tracking_codes",
                                            "message": "cannot be blank"}])
                found = [self.trackers[c] for c in dict.fromkeys(map(str, codes))
                         if self.trackers.get(c, {}).get("_kind") == "easypost"]
                return 200, {"trackers": found, "has_more": False}
            if method == "GET" and len(parts) == 2:
                for tracker in self.trackers.values():
                    if tracker.get("id") == parts[1] and tracker.get("_kind") == "easypost":
                        return 200, tracker
                return 404, _ep_error(*NOT_FOUND)
            if method == "GET" and len(parts) == 1:
                wanted = (query.get("tracking_code") or [None])[0]
                size = _page_size(query)
                found = [t for t in reversed(self.trackers.values())
                         if t.get("_kind") == "easypost"
                         and (wanted is None or t["tracking_code"] == wanted)]
                return 200, {"trackers": found[:size], "has_more": len(found) > size}
        if parts[:1] == ["events"] and method == "GET":
            if len(parts) == 2:
                event = self.ep_events.get(parts[1])
                return (200, event) if event else (404, _ep_error(*NOT_FOUND))
            if len(parts) == 1:
                size = _page_size(query)
                found = list(reversed(self.ep_events.values()))
                return 200, {"events": found[:size], "has_more": len(found) > size}
        return 404, _ep_error(*NOT_FOUND)

    def _ep_create(self, shipment: dict):
        if not shipment:  # cassette test_error
            return 422, _ep_error("PARAMETER.REQUIRED", "Missing required parameter.",
                                  [{"field": "shipment", "message": "cannot be blank"}])
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
            "id": sid, "object": "Shipment", "mode": self.knobs["easypost_mode"],
            "reference": shipment.get("reference"),
            "to_address": to, "from_address": shipment.get("from_address") or {},
            "parcel": parcel, "is_return": bool(shipment.get("is_return")),
            "options": shipment.get("options") or {}, "rates": rates, "status": "unknown",
            "tracking_code": None, "postage_label": None, "selected_rate": None,
            "tracker": None, "refund_status": None, "created_at": iso(self.clock),
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
                   "amount": charge(rate["rate"],
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
            return 422, _ep_error("PARAMETER.REQUIRED", "Missing required parameter.",
                                  [{"field": "start_date" if not start else "end_date",
                                    "message": "cannot be blank"}])
        rid = self._next("shprep")
        self.reports[rid] = {"id": rid, "object": "ShipmentReport",
                             "mode": self.knobs["easypost_mode"], "created_at": iso(self.clock),
                             "status": "new", "start_date": start, "end_date": end,
                             "url": None, "include_children": False}
        return 201, dict(self.reports[rid])

    def _report_csv(self, path: str):
        rid = path.rsplit("/", 1)[-1].removesuffix(".csv")
        if rid not in self.reports:
            return 404, {"error": {"code": "NOT_FOUND", "message": "no such report"}}, JSON, {}
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
                "id": self._next("trk"), "object": "Tracker", "mode": self.knobs["easypost_mode"],
                "tracking_code": code, "status": "unknown", "status_detail": "unknown",
                "carrier": "USPS", "shipment_id": shipment_id, "tracking_details": [],
                "public_url": f"{self.url}/track/{code}", "finalized": False,
                "signed_by": None, "delivery_evidence": [],
                "created_at": iso(self.clock), "updated_at": iso(self.clock),
                "_reference": reference or "", "_kind": "easypost", "_step": 0,
            }
            self.trackers[code] = tracker
            self._ep_step(tracker, "pre_transit", "label_created", "Label created")
        return tracker

    def _ep_step(self, tracker, status, detail, message) -> dict:
        when = iso(self._tick())
        tracker["tracking_details"].append({
            "object": "TrackingDetail", "status": status, "status_detail": detail,
            "message": message, "datetime": when, "source": "USPS",
            "tracking_location": {"object": "TrackingLocation", "city": "SANDBOX",
                                  "state": "CA", "country": "US", "zip": "94000"},
        })
        tracker.update(status=status, status_detail=detail, updated_at=when,
                       finalized=status in EP_TERMINAL)
        if status == "delivered" and detail != "return":
            # POD knobs: who signed; a delivery photo URL (its entry shape is not recorded)
            tracker["signed_by"] = self.knobs.get("easypost_signed_by")
            if self.knobs.get("easypost_evidence_url"):
                tracker["delivery_evidence"] = [self.knobs["easypost_evidence_url"]]
        return tracker

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

    def step_shipment(self, tracker: dict, scenario: str, steps: int | None) -> list:
        out = []
        todo = EP_SCENARIOS[scenario][tracker["_step"]:]
        for status, detail, message in todo[: steps if steps is not None else None]:
            self._ep_step(tracker, status, detail, message)
            tracker["_step"] += 1
            out.append(("easypost", self.easypost_event(tracker), (status, detail), message))
        return out

    def easypost_event(self, tracker: dict) -> dict:
        """A ``tracker.updated`` Event (kept: ``GET /v2/events/{id}`` reads it back)."""
        event = strip_internal({
            "object": "Event", "id": self._next("evt"), "mode": tracker["mode"],
            "description": "tracker.updated", "created_at": tracker["updated_at"],
            "updated_at": tracker["updated_at"], "pending_urls": [], "completed_urls": [],
            "previous_attributes": {}, "status": "completed", "user_id": "user_sandbox",
            "result": tracker})
        self.ep_events[event["id"]] = event
        return event

    def sign_webhook(self, kind: str, body: bytes) -> dict:
        return {"X-Hmac-Signature": easypost_signature(body, self.knobs["easypost_secret"])}

    def is_moving(self, tracker: dict) -> bool:
        return tracker.get("status") != "cancelled"
