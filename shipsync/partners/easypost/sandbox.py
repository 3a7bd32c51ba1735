"""EasyPost's slice of the carrier sandbox (HTTP Basic, API key as user)::

    POST /v2/shipments                 create (rates come back on the shipment)
    POST /v2/shipments/{id}/buy        buy a rate: tracking code, postage_label, tracker
    POST /v2/shipments/{id}/refund     refund_status submitted / rejected (after pickup)
    GET  /v2/shipments/{id}            one shipment
    POST /v2/trackers                  the tracker of a tracking code (created if needed)
    GET  /v2/trackers/{id}             one tracker
    POST /v2/reports/shipment          a shipment report (the carrier's invoice data)
    GET  /v2/reports/shipment/{id}     ready on the first read: ``url`` of its CSV
    GET  /v2/trackers?tracking_codes=a,b,c&page_size=N
                                       batch read used by the poller (sandbox extension:
                                       EasyPost's list filters on one tracking_code)
    GET  /reports/{id}.csv             the report's CSV

Webhooks: ``Event`` objects (``tracker.updated``) signed ``X-Hmac-Signature:
hmac-sha256-hex=...``. Knob: ``easypost_secret``.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
import uuid

from shipsync.sandbox.slices import JSON, CarrierSlice, charge, iso, public

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


def easypost_signature(body: bytes, secret: str) -> str:
    key = unicodedata.normalize("NFKD", secret).encode()
    return "hmac-sha256-hex=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def _ep_error(code: str, message: str, errors=None) -> dict:
    return {"error": {"code": code, "message": message, "errors": errors or []}}


class EasyPostSlice(CarrierSlice):
    code = "easypost"
    KIND = "easypost"
    PREFIXES = ("/v2/", "/reports/")
    KNOBS = {"easypost_secret": "sandbox-easypost-secret"}

    def reset_state(self) -> None:
        self.shipments: dict[str, dict] = {}
        self.reports: dict[str, dict] = {}

    def serve(self, method, path, query, body, raw_headers):
        if path.startswith("/reports/"):
            return EasyPostSlice._report_csv(self, path)
        return self.serve_json_api(method, path, query, body, raw_headers,
                                   EasyPostSlice._route)

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
        return 404, {"error": {"code": "NOT_FOUND", "message": f"no route {method} {path}"}}

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
            return 422, _ep_error("REPORT.DATES.REQUIRED", "start_date and end_date are required")
        rid = self._next("shprep")
        self.reports[rid] = {"id": rid, "object": "ShipmentReport", "mode": "test",
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
                "id": self._next("trk"), "object": "Tracker", "mode": "test",
                "tracking_code": code, "status": "unknown", "status_detail": "unknown",
                "carrier": "USPS", "shipment_id": shipment_id, "tracking_details": [],
                "public_url": f"{self.url}/track/{code}", "finalized": False,
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
        result = public(tracker)
        result["tracking_details"] = [dict(d) for d in tracker["tracking_details"]]
        return {"object": "Event", "id": self._next("evt"), "mode": "test",
                "description": "tracker.updated", "created_at": tracker["updated_at"],
                "updated_at": tracker["updated_at"], "pending_urls": [], "completed_urls": [],
                "result": result}

    def sign_webhook(self, kind: str, body: bytes) -> dict:
        return {"X-Hmac-Signature": easypost_signature(body, self.knobs["easypost_secret"])}

    def is_moving(self, tracker: dict) -> bool:
        return tracker.get("status") != "cancelled"
