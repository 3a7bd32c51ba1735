"""Sendcloud's slice of the carrier sandbox (HTTP Basic public:secret)::

    POST /api/v2/parcels               {"parcel": {...}} or {"parcels": [...]}, with label
    GET  /api/v2/parcels/{id}          the parcel and its current status
    GET  /api/v2/parcels?tracking_number=X
    POST /api/v2/parcels/{id}/cancel   cancelled (200) / failed (400, already moving)

    /api/v3/...                        the Shipments and Parcel Tracking APIs v3
                                       (``sandbox_v3.SendcloudV3State``: announce,
                                       look-up, cancel, tracking, label documents)

A v2 ``external_reference`` already used by a parcel of the account is refused with
400 and the parcel is not created again (see the README, "v2 sandbox").

Webhooks: ``parcel_status_changed`` signed ``Sendcloud-Signature`` (hex HMAC-SHA256 of
the raw body), for v2 parcels and v3 shipments alike (the v3 webhooks document has the
same event with the same status ids). Knobs: ``sendcloud_secret``;
``sendcloud_public_key`` / ``sendcloud_secret_key`` (empty: any Basic credentials).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import datetime

from shipsync.sandbox.labels import render_pdf_label
from shipsync.sandbox.slices import JSON, CarrierSlice, charge, iso, public, strip_internal

from .sandbox_v3 import SendcloudV3State
from .sandbox_v3 import error as v3_error

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
#: The query parameters of ``GET /parcels`` the slice filters on (v2 parcels document).
LIST_FILTERS = ("tracking_number", "external_reference", "order_number")
#: v2 status id -> the v3 tracking ``status_code`` the Parcel Tracking document shows for
#: it (its ``parcel-event-response`` example); the other steps have no published code.
V3_TRACKING_CODES: dict[int, tuple[str, str]] = {
    22: ("accepted", "Parcel has been accepted by the carrier."),
}


def webhook_payload(parcel: dict, when: datetime) -> dict:
    """A ``parcel_status_changed`` event (v2 and v3 webhooks documents) of ``parcel``
    (with its ``status {id, message}``), stamped ``when`` in epoch milliseconds."""
    return {"action": "parcel_status_changed", "timestamp": int(when.timestamp() * 1000),
            "parcel": parcel}


def sendcloud_signature(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class SendcloudSlice(CarrierSlice):
    code = "sendcloud"
    KIND = "sendcloud"
    PREFIXES = ("/api/v2/", "/api/v3/")
    KNOBS = {"sendcloud_secret": "sandbox-sendcloud-secret",
             "sendcloud_public_key": "", "sendcloud_secret_key": ""}

    def reset_state(self) -> None:
        self.parcels: dict[int, dict] = {}
        self.sc_v3 = SendcloudV3State()
        self.sc_v3.refuses_address = self._bad_address

    def serve(self, method, path, query, body, raw_headers):
        if path.startswith("/api/v3/"):
            return SendcloudSlice._serve_v3(self, method, path, query, body, raw_headers)
        # Sendcloud documents no Idempotency-Key: its idempotence is external_reference
        status, payload, ctype, headers = self.serve_json_api(
            method, path, query, body, raw_headers, SendcloudSlice._route,
            idempotency_key=False)
        # the sandbox's bookkeeping (``_step``, ``_history``) never leaves it
        return status, strip_internal(payload), ctype, headers

    # ------------------------------------------------------------------ v3
    def _serve_v3(self, method, path, query, body, raw_headers):
        """A ``/api/v3/`` request, answered by :class:`SendcloudV3State` (the documents'
        error form, ``{"errors": [...]}``, for a body that is not JSON too)."""
        state: SendcloudV3State = self.sc_v3
        with self._lock:
            state.public_key = self.knobs["sendcloud_public_key"] or ""
            state.secret_key = self.knobs["sendcloud_secret_key"] or ""
            state.base_url = self.url
            try:
                data = json.loads(body) if body else None
            except ValueError:  # credentials are checked first, as for any request
                status, payload = (
                    v3_error(400, "invalid", "The body is not JSON.")
                    if state.authorized(dict(raw_headers)) else
                    v3_error(401, "authentication_failed", "Invalid username/password."))
                return status, payload, JSON, {}
            status, payload = state.handle(method, path, query, data, dict(raw_headers))
            if status == 201 and path.endswith("/shipments/announce"):
                SendcloudSlice._track_v3(self, payload["data"])
            label = path.endswith("/documents/label") and status == 200
            parcel = state._parcel(path.split("/")[4]) if label else None
        if parcel is not None:  # a real one-page label (the state's bytes are a stub)
            number = parcel["tracking_number"]
            reference = self.trackers.get(number, {}).get("_reference", "")
            return 200, render_pdf_label(number, [f"Tracking: {number}", f"Ref: {reference}"]), \
                "application/pdf", {}
        if isinstance(payload, bytes):
            return status, payload, JSON, {}
        if self.knobs["malformed"] and 200 <= status < 300:
            return status, b"<html>upstream proxy error</html>", "text/html", {}
        return status, payload, JSON, {}

    def _track_v3(self, shipment: dict) -> None:
        for parcel in shipment["parcels"]:
            self.trackers[parcel["tracking_number"]] = {
                "_kind": "sendcloud", "api": "v3", "shipment_id": shipment["id"],
                "parcel_id": parcel["id"], "_reference": shipment.get("order_number") or "",
                "_step": 0}

    def _v3_step(self, tracker: dict, status_id: int, message: str) -> dict:
        """One scenario step of a v3 parcel: its ``parcel_status_changed`` webhook (the
        status ids of the v3 webhooks document) and, where the tracking document has
        the code, a tracking event (``accepted`` when the carrier has the parcel)."""
        when = self._tick()
        state: SendcloudV3State = self.sc_v3
        with state.lock:
            shipment = state.shipments[tracker["shipment_id"]]
            parcel = next(p for p in shipment["parcels"] if p["id"] == tracker["parcel_id"])
            if status_id in V3_TRACKING_CODES:
                code, description = V3_TRACKING_CODES[status_id]
                state.add_event(parcel["tracking_number"], code, description,
                                event_at=iso(when))
        to = shipment["to_address"]
        body = {
            "id": parcel["id"], "name": to.get("name"), "company_name": to.get("company_name"),
            "address": to.get("address_line_1"), "city": to.get("city"),
            "postal_code": to.get("postal_code"), "email": to.get("email"),
            "country": {"iso_2": to.get("country_code")},
            "tracking_number": parcel["tracking_number"],
            "weight": parcel["weight"]["value"],
            "order_number": shipment.get("order_number") or "",
            "status": {"id": status_id, "message": message},
        }
        return webhook_payload({k: v for k, v in body.items() if v is not None}, when)

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
                return self._sc_list(query)
        return 404, {"error": {"code": "NOT_FOUND", "message": f"no route {method} {path}"}}

    def _sc_list(self, query: dict):
        """``GET /parcels`` filtered by the documented ``tracking_number``,
        ``external_reference`` and ``order_number``; the 200 answer has ``minItems: 1``,
        so no match is the documented 404."""
        filters = {name: (query.get(name) or [""])[0] for name in LIST_FILTERS}
        found = [public(p) for p in self.parcels.values()
                 if all(not wanted or str(p.get(name) or "") == wanted
                        for name, wanted in filters.items())]
        if not found:
            return 404, {"error": {"code": 404, "request": "api/v2/parcels",
                                   "message": "No parcels found"}}
        return 200, {"next": None, "previous": None, "parcels": found}

    def _sc_create(self, data: dict):
        items = [data["parcel"]] if isinstance(data.get("parcel"), dict) else \
            list(data.get("parcels") or [])
        if not items:
            return 400, {"error": {"code": 400, "message": "parcel or parcels required"}}
        created, failed = [], []
        used = {p["external_reference"] for p in self.parcels.values()
                if p.get("external_reference")}
        for item in items:
            errors = {}
            reference = item.get("external_reference")
            if reference and reference in used:
                # "Must be unique across parcels. This field is used to create
                # idempotence." (ParcelCreation.external_reference): refused, not again
                errors["external_reference"] = [
                    "A parcel with this external reference already exists."]
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
                # the Parcel object echoes them (v2 OpenAPI examples); COD amount
                "total_order_value": item.get("total_order_value"),
                "total_order_value_currency": item.get("total_order_value_currency"),
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
            if reference:
                used.add(reference)
            self.trackers[code] = {"_kind": "sendcloud", "parcel_id": pid,
                                   "_reference": item.get("order_number") or ""}
            created.append(parcel)
        if failed and not created and isinstance(data.get("parcel"), dict):
            # one parcel: the documented 400 ``CreateParcelError``
            return 400, {"error": {"code": 400, "request": "api/v2/parcels", "message": "; ".join(
                f"{name}: {' '.join(msgs)}" for name, msgs in failed[0]["errors"].items())}}
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
        if tracker.get("api") == "v3":
            return tracker["shipment_id"] not in self.sc_v3.cancelled
        return self.parcels[tracker["parcel_id"]]["status"]["id"] != 2000

    def step_shipment(self, tracker: dict, scenario: str, steps: int | None) -> list:
        out = []
        if tracker.get("api") == "v3":
            todo = SC_SCENARIOS[scenario][tracker["_step"]:]
            for status_id, message in todo[: steps if steps is not None else None]:
                payload = SendcloudSlice._v3_step(self, tracker, status_id, message)
                tracker["_step"] += 1
                out.append(("sendcloud", payload, status_id, message))
            return out
        parcel = self.parcels[tracker["parcel_id"]]
        todo = SC_SCENARIOS[scenario][parcel["_step"]:]
        for status_id, message in todo[: steps if steps is not None else None]:
            self._sc_step(parcel, status_id, message)
            parcel["_step"] += 1
            out.append(("sendcloud", self.sendcloud_event(parcel), status_id, message))
        return out

    def sendcloud_event(self, parcel: dict) -> dict:
        status_id, message, when = parcel["_history"][-1]
        body = public(parcel)
        body["status"] = {"id": status_id, "message": message}
        return webhook_payload(body, datetime.fromisoformat(when.replace("Z", "+00:00")))

    def sign_webhook(self, kind: str, body: bytes) -> dict:
        return {"Sendcloud-Signature": sendcloud_signature(body, self.knobs["sendcloud_secret"])}
