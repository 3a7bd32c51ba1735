"""AfterShip's slice of the carrier sandbox (tracking only, header ``as-api-key``;
``<v>`` is a version such as ``2025-07``, or the legacy ``/v4`` prefix)::

    POST /tracking/<v>/trackings       register a tracking (201); a repeat answers 400 with
                                       ``meta.code`` 4003 "Tracking already exists"
    GET  /tracking/<v>/trackings?tracking_numbers=a,b
                                       the registered trackings, with their checkpoints
    GET  /tracking/<v>/trackings/{id}  one tracking

A tracking registered for a shipment of another slice follows it: every step of
``CarrierSandbox.advance`` becomes an AfterShip checkpoint (``tag`` / ``subtag``) and a
``tracking_update`` webhook signed ``aftership-hmac-sha256`` (base64 HMAC-SHA256 of the
raw body) is posted to ``aftership_url`` / the ``aftership_webhook_url`` knob. A tracking
of a number the sandbox did not ship moves along its own AfterShip scenario.
Knobs: ``aftership_webhook_url``, ``aftership_secret``, ``aftership_api_key`` (None: any
non-empty ``as-api-key`` is accepted).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import datetime

from shipsync.sandbox.slices import JSON, CarrierSlice, iso, public

#: AfterShip (tag, subtag, message) steps of a tracking the sandbox does not ship itself.
AS_SCENARIOS: dict[str, list[tuple[str, str, str]]] = {
    "delivered": [
        ("InfoReceived", "InfoReceived_001", "Shipment information received"),
        ("InTransit", "InTransit_002", "Picked up by the carrier"),
        ("InTransit", "InTransit_001", "Arrived at sort facility"),
        ("OutForDelivery", "OutForDelivery_001", "Out for delivery"),
        ("Delivered", "Delivered_001", "Delivered"),
    ],
    "attempt": [
        ("InTransit", "InTransit_002", "Picked up by the carrier"),
        ("OutForDelivery", "OutForDelivery_001", "Out for delivery"),
        ("AttemptFail", "AttemptFail_002", "Delivery attempted, recipient not available"),
        ("OutForDelivery", "OutForDelivery_001", "Out for delivery (2nd attempt)"),
        ("Delivered", "Delivered_001", "Delivered"),
    ],
    "exception": [
        ("InTransit", "InTransit_002", "Picked up by the carrier"),
        ("Exception", "Exception_017", "Delayed by weather"),
        ("InTransit", "InTransit_001", "Arrived at sort facility"),
        ("Delivered", "Delivered_001", "Delivered"),
    ],
    "return": [
        ("InTransit", "InTransit_002", "Picked up by the carrier"),
        ("Exception", "Exception_010", "Refused, returning to sender"),
        ("Exception", "Exception_011", "Returned to sender"),
    ],
    "lost": [
        ("InTransit", "InTransit_002", "Picked up by the carrier"),
        ("Exception", "Exception_013", "Parcel lost"),
    ],
}
#: The AfterShip (tag, subtag) of an EasyPost (status, status_detail) step.
AS_FROM_EASYPOST: dict[tuple[str, str], tuple[str, str]] = {
    ("pre_transit", "label_created"): ("InfoReceived", "InfoReceived_001"),
    ("in_transit", "departed_origin_facility"): ("InTransit", "InTransit_002"),
    ("in_transit", "arrived_at_facility"): ("InTransit", "InTransit_001"),
    ("in_transit", "weather_delay"): ("Exception", "Exception_017"),
    ("out_for_delivery", "out_for_delivery"): ("OutForDelivery", "OutForDelivery_001"),
    ("delivery_exception", "recipient_not_available"): ("AttemptFail", "AttemptFail_002"),
    ("return_to_sender", "return"): ("Exception", "Exception_010"),
    ("delivered", "return"): ("Exception", "Exception_011"),
    ("delivered", "arrived_at_destination"): ("Delivered", "Delivered_001"),
    ("failure", "lost"): ("Exception", "Exception_013"),
    ("cancelled", "cancelled"): ("Expired", "Expired_001"),
}
#: The AfterShip (tag, subtag) of a Sendcloud status id.
AS_FROM_SENDCLOUD: dict[int, tuple[str, str]] = {
    1000: ("InfoReceived", "InfoReceived_001"), 22: ("InTransit", "InTransit_002"),
    3: ("InTransit", "InTransit_001"), 5: ("InTransit", "InTransit_001"),
    4: ("Exception", "Exception_005"), 92: ("OutForDelivery", "OutForDelivery_001"),
    8: ("AttemptFail", "AttemptFail_002"), 11: ("Delivered", "Delivered_001"),
    62991: ("Exception", "Exception_010"), 62992: ("Exception", "Exception_011"),
    80: ("Exception", "Exception_013"), 2000: ("Expired", "Expired_001"),
}
#: How a tracking follows a shipment of another slice (by its ``_kind``).
FOLLOWS = {"easypost": AS_FROM_EASYPOST, "sendcloud": AS_FROM_SENDCLOUD}
_DEFAULT_TAG = ("InTransit", "InTransit_001")


def aftership_signature(body: bytes, secret: str) -> str:
    """``aftership-hmac-sha256``: base64 of the HMAC-SHA256 of the raw body."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _as_meta(code: int, kind: str, message: str) -> dict:
    return {"meta": {"code": code, "type": kind, "message": message}, "data": {}}


def _as_data(tracking: dict, legacy: bool, code: int = 200) -> dict:
    meta = {"code": code, "type": "Created" if code == 201 else "OK", "message": "OK"}
    return {"meta": meta, "data": {"tracking": tracking} if legacy else tracking}


class AfterShipSlice(CarrierSlice):
    code = "aftership"
    PREFIXES = ("/tracking/", "/v4/")
    KNOBS = {
        "aftership_webhook_url": None,
        "aftership_secret": "sandbox-aftership-secret",
        "aftership_api_key": None,
    }

    def reset_state(self) -> None:
        self.as_trackings: dict[str, dict] = {}  # by tracking number

    def serve(self, method, path, query, body, raw_headers):
        """The AfterShip tracking subset: no idempotency keys (a repeat is a 4003)."""
        malformed = self.knobs["malformed"]
        key = raw_headers.get("as-api-key") or ""
        wanted = self.knobs["aftership_api_key"]
        if not key or (wanted is not None and key != wanted):
            return 401, _as_meta(401, "Unauthorized", "Invalid API key."), JSON, {}
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            return 400, _as_meta(4001, "BadRequest", "Invalid JSON data."), JSON, {}
        legacy = path.startswith("/v4/")
        rest = [p for p in path.split("/") if p][1 if legacy else 2:]
        with self._lock:
            if rest == ["trackings"] and method == "POST":
                status, payload = self._as_create(data, legacy)
            elif rest == ["trackings"] and method == "GET":
                wanted_numbers = ",".join(query.get("tracking_numbers", [])).split(",")
                found = [self._as_public(self.as_trackings[n]) for n in wanted_numbers
                         if n in self.as_trackings]
                status, payload = 200, {"meta": {"code": 200}, "data": {
                    "trackings": found, "pagination": {"total": len(found),
                                                       "has_next_page": False}}}
            elif len(rest) == 2 and rest[0] == "trackings" and method == "GET":
                found = next((t for t in self.as_trackings.values() if t["id"] == rest[1]),
                             None)
                status, payload = (404, _as_meta(4004, "NotFound", "Tracking does not exist.")) \
                    if found is None else (200, _as_data(self._as_public(found), legacy))
            else:
                status, payload = 404, _as_meta(404, "NotFound", f"no route {method} {path}")
        if malformed and 200 <= status < 300:
            return status, b"<html>upstream proxy error</html>", "text/html", {}
        return status, payload, JSON, {}

    def _as_create(self, data: dict, legacy: bool):
        item = data.get("tracking") if legacy else data
        if not isinstance(item, dict):
            return 400, _as_meta(4001, "BadRequest", "Invalid JSON data.")
        number = str(item.get("tracking_number") or "").strip()
        if not number or len(number) < 3:
            return 400, _as_meta(4005, "BadRequest", "The value of `tracking_number` is invalid.")
        existing = self.as_trackings.get(number)
        slug = str(item.get("slug") or "").strip().lower()
        if existing is not None and (not slug or slug == existing["slug"]):
            body = _as_meta(4003, "BadRequest", "Tracking already exists.")
            body["data"] = {"tracking": {"id": existing["id"], "slug": existing["slug"],
                                         "tracking_number": number}}
            return 400, body
        carrier = self.trackers.get(number) or {}
        if not slug:  # AfterShip detects the courier from the number
            slug = str(carrier.get("carrier") or "").lower() or \
                ("sendcloud" if carrier.get("_kind") == "sendcloud" else "sandbox-carrier")
        tracking = {
            "id": uuid.uuid4().hex[:24], "tracking_number": number, "slug": slug,
            "active": True, "order_id": item.get("order_id") or None,
            "custom_fields": item.get("custom_fields") or None,
            "tag": "Pending", "subtag": "Pending_001", "subtag_message": "Pending",
            "courier_estimated_delivery_date": None, "checkpoints": [],
            "created_at": iso(self.clock), "updated_at": iso(self.clock), "_step": 0,
        }
        self.as_trackings[number] = tracking
        if carrier.get("_kind") == "easypost":  # what the carrier already said
            for detail in carrier.get("tracking_details") or []:
                tag, subtag = AS_FROM_EASYPOST.get(
                    (detail["status"], detail["status_detail"]), _DEFAULT_TAG)
                when = datetime.fromisoformat(detail["datetime"].replace("Z", "+00:00"))
                self._as_step(tracking, tag, subtag, detail["message"], when=when)
        return 201, _as_data(self._as_public(tracking), legacy, 201)

    def _as_step(self, tracking: dict, tag: str, subtag: str, message: str,
                 when: datetime | None = None) -> dict:
        stamp = iso(when or self._tick())
        tracking["checkpoints"].append({
            "slug": tracking["slug"], "tag": tag, "subtag": subtag, "message": message,
            "checkpoint_time": stamp, "city": "SANDBOX", "state": "CA",
            "country_region": "USA", "location": None, "created_at": stamp,
        })
        tracking.update(tag=tag, subtag=subtag, subtag_message=message, updated_at=stamp)
        return tracking

    @staticmethod
    def _as_public(tracking: dict) -> dict:
        body = public(tracking)
        body["checkpoints"] = [dict(c) for c in tracking["checkpoints"]]
        return body

    def aftership_event(self, tracking: dict) -> dict:
        """A ``tracking_update`` webhook body (the whole tracking, all its checkpoints)."""
        stamp = datetime.fromisoformat(tracking["updated_at"].replace("Z", "+00:00"))
        return {"event": "tracking_update", "event_id": str(uuid.uuid4()),
                "is_tracking_first_tag": len(tracking["checkpoints"]) == 1,
                "msg": self._as_public(tracking), "ts": int(stamp.timestamp())}

    def aftership_steps(self, tracking: dict, scenario: str, steps: int | None) -> list:
        """The steps of a tracking AfterShip follows on its own (no shipment here)."""
        out = []
        todo = AS_SCENARIOS[scenario][tracking["_step"]:]
        for tag, subtag, message in todo[: steps if steps is not None else None]:
            out.append((tag, subtag, message))
            tracking["_step"] += 1
        return out

    @staticmethod
    def aftership_follow(kind: str, key, message: str) -> tuple[str, str, str]:
        """The checkpoint a tracking shows for a step of a shipment of slice ``kind``."""
        return (*FOLLOWS.get(kind, {}).get(key, _DEFAULT_TAG), message)

    def sign_webhook(self, kind: str, body: bytes) -> dict:
        return {"aftership-hmac-sha256": aftership_signature(body, self.knobs["aftership_secret"])}
