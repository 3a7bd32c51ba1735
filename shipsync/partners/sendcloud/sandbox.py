"""Sendcloud's slice of the carrier sandbox (HTTP Basic public:secret)::

    POST /api/v2/parcels               {"parcel": {...}} or {"parcels": [...]}, with label
    GET  /api/v2/parcels/{id}          the parcel and its current status
    GET  /api/v2/parcels?tracking_number=X
    POST /api/v2/parcels/{id}/cancel   cancelled (200) / failed (400, already moving)

Webhooks: ``parcel_status_changed`` signed ``Sendcloud-Signature`` (hex HMAC-SHA256 of
the raw body). Knob: ``sendcloud_secret``.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import datetime

from shipsync.sandbox.slices import CarrierSlice, charge, iso, public

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
SC_TERMINAL = (11, 80, 93, 2000, 62992)


def sendcloud_signature(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class SendcloudSlice(CarrierSlice):
    code = "sendcloud"
    KIND = "sendcloud"
    PREFIXES = ("/api/v2/",)
    KNOBS = {"sendcloud_secret": "sandbox-sendcloud-secret"}

    def reset_state(self) -> None:
        self.parcels: dict[int, dict] = {}

    def serve(self, method, path, query, body, raw_headers):
        return self.serve_json_api(method, path, query, body, raw_headers,
                                   SendcloudSlice._route)

    def _route(self, method, path, query, data):
        parts = [p for p in path.split("/") if p]
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
                "total_charge": charge("6.90", float(item.get("weight") or 0)),
                "date_created": self.clock.strftime("%d-%m-%Y %H:%M:%S"),
                "date_updated": self.clock.strftime("%d-%m-%Y %H:%M:%S"),
                "_step": 0, "_history": [],
            }
            parcel["_history"].append((1000, "Ready to send", iso(self.clock)))
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
        parcel["_history"].append((status_id, message, iso(when)))
        return parcel

    def is_moving(self, tracker: dict) -> bool:
        return self.parcels[tracker["parcel_id"]]["status"]["id"] != 2000

    def step_shipment(self, tracker: dict, scenario: str, steps: int | None) -> list:
        out = []
        parcel = self.parcels[tracker["parcel_id"]]
        todo = SC_SCENARIOS[scenario][parcel["_step"]:]
        for status_id, message in todo[: steps if steps is not None else None]:
            self._sc_step(parcel, status_id, message)
            parcel["_step"] += 1
            out.append(("sendcloud", self.sendcloud_event(parcel), status_id, message))
        return out

    def sendcloud_event(self, parcel: dict) -> dict:
        status_id, message, when = parcel["_history"][-1]
        stamp = int(datetime.fromisoformat(when.replace("Z", "+00:00")).timestamp() * 1000)
        body = public(parcel)
        body["status"] = {"id": status_id, "message": message}
        return {"action": "parcel_status_changed", "timestamp": stamp, "parcel": body}

    def sign_webhook(self, kind: str, body: bytes) -> dict:
        return {"Sendcloud-Signature": sendcloud_signature(body, self.knobs["sendcloud_secret"])}
