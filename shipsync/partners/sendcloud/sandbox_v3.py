"""Sendcloud v3 part of the carrier sandbox: Shipments API and Parcel Tracking API.

Shapes from Sendcloud's OpenAPI documents ("Shipments 3.0.0", "Parcel Tracking API
3.0.0"); every answer is validated against them in the tests::

    POST /api/v3/shipments/announce            201 {"data": shipment} | 400 | 409 duplicate
    GET  /api/v3/shipments?external_reference_id=X   200 {"data": [shipment]} | 404
    GET  /api/v3/shipments/{id}                200 {"data": shipment} | 404
    POST /api/v3/shipments/{id}/cancel         200 cancelled | 409 rejected | 404
    POST /api/v3/addresses/validate            200 address-washer-response | 400
    GET  /api/v3/parcels/tracking/{number}     200 parcel-tracking-response | 404
    GET  /api/v3/parcels/{id}/documents/label  the label (synthetic PDF bytes; the link is
                                               the one the documents' example shows)

Auth: HTTP Basic (``HTTPBasicAuth``); missing credentials, or a wrong key when the
state has keys, get 401 with an ``errors`` body of code ``authentication_failed``.
:class:`SendcloudV3State` is transport-free: the Sendcloud slice of the carrier sandbox
(``python -m shipsync.sandbox carrier``) routes ``/api/v3/`` requests to
:meth:`SendcloudV3State.handle`; :class:`SendcloudV3Sandbox` serves it alone.
"""

from __future__ import annotations

import base64
import copy
import json
import threading
from datetime import datetime, timezone
from itertools import count
from typing import Any
from urllib.parse import parse_qs, urlsplit

from shipsync.sandbox.common import BackgroundServer, SandboxHandler

LABEL_PDF = b"%PDF-1.4\n% shipsync sandbox sendcloud v3 label\n%%EOF\n"
STATUS_READY = ("READY_TO_SEND", "Ready to send")


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def error(status: int, code: str, detail: str, pointer: str = "") -> tuple[int, dict]:
    """One ``errors`` entry (schema ``ErrorObject``: ``status`` is a string)."""
    entry: dict[str, Any] = {"status": str(status), "code": code, "detail": detail}
    if pointer:
        entry["source"] = {"pointer": pointer}
    return status, {"errors": [entry]}


REQUIRED_ADDRESS = ("name", "address_line_1", "postal_code", "city", "country_code")


class SendcloudV3State:
    """The v3 shipments and trackings of one sandbox (thread-safe)."""

    #: Shipping option codes the sandbox account has (the form of the documents'
    #: examples, ``<carrier>:<service>``); any other code is refused with a 400.
    SHIPPING_OPTIONS = frozenset({"postnl:standard", "dhl:europlus", "dpd:classic",
                                  "ups:standard", "sendcloud:letter"})

    def __init__(self, public_key: str = "", secret_key: str = "", base_url: str = ""):
        self.shipping_options = set(self.SHIPPING_OPTIONS)
        self.public_key = public_key
        self.secret_key = secret_key
        self.base_url = base_url.rstrip("/")
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.shipments: dict[str, dict] = {}
            self.by_reference: dict[str, str] = {}
            self.cancelled: set[str] = set()
            self.events: dict[str, list[dict]] = {}  # tracking number -> events
            self.announce_calls = 0
            self._ids = count(383707309)

    # -- auth
    def authorized(self, headers: dict[str, str]) -> bool:
        """HTTP Basic credentials: any when the state has no keys, else exactly them."""
        auth = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        if not auth.startswith("Basic "):
            return False
        if not self.public_key:
            return True
        wanted = base64.b64encode(f"{self.public_key}:{self.secret_key}".encode()).decode()
        return auth == f"Basic {wanted}"

    def refuses_address(self, address: dict) -> bool:
        """Hook of the carrier sandbox (its ``bad_address`` knob, zip ``00000``)."""
        return False

    # -- routing
    def handle(self, method: str, path: str, query: str | dict, data: Any,
               headers: dict[str, str]) -> tuple[int, Any]:
        """``(status, JSON body | bytes)`` of one ``/api/v3/`` request."""
        if not self.authorized(headers):
            return error(401, "authentication_failed", "Invalid username/password.")
        params = parse_qs(query) if isinstance(query, str) else dict(query or {})
        parts = [p for p in path.split("/") if p][2:]  # drop "api", "v3"
        with self.lock:
            if parts == ["shipments", "announce"] and method == "POST":
                return self.announce(data)
            if parts == ["addresses", "validate"] and method == "POST":
                return self.validate_address(data)
            if parts == ["shipments"] and method == "GET":
                return self.list_shipments(params)
            if len(parts) == 2 and parts[0] == "shipments" and method == "GET":
                shipment = self.shipments.get(parts[1])
                return (200, {"data": copy.deepcopy(shipment)}) if shipment else (404, b"")
            if len(parts) == 3 and parts[0] == "shipments" and parts[2] == "cancel" \
                    and method == "POST":
                return self.cancel(parts[1])
            if len(parts) == 3 and parts[:2] == ["parcels", "tracking"] and method == "GET":
                return self.tracking(parts[2])
            if len(parts) == 4 and parts[0] == "parcels" and parts[2] == "documents" \
                    and parts[3] in ("label", "customs-declaration") and method == "GET":
                return (200, LABEL_PDF) if self._parcel(parts[1]) else (404, b"")
        return error(404, "not_found", f"no route {method} {path}")

    # -- addresses
    def validate_address(self, data: Any) -> tuple[int, Any]:
        """``address-washer-response``. Deterministic rules: no ``address_line_1`` with a
        digit (no house number) or a refused address -> ``ADDRESS_NOT_VALID``; missing
        postal or country code -> their reasons; a valid address whose lines need
        washing (extra spaces) gets a recommended, changed result."""
        if not isinstance(data, dict) or not isinstance(data.get("address"), dict):
            return error(400, "required", "This field is required.", "/address")
        if not data.get("carrier_code"):  # the document's own example
            return error(400, "required", "This field is required.", "/address/carrier_code")
        given = data["address"]
        reasons = []
        line = str(given.get("address_line_1") or "")
        if not any(c.isdigit() for c in line + str(given.get("house_number") or "")) \
                or self.refuses_address({"postal_code": given.get("postal_code")}):
            reasons.append("ADDRESS_NOT_VALID")
        if not given.get("postal_code"):
            reasons.append("POSTAL_CODE_MISSING")
        if not given.get("country_code"):
            reasons.append("COUNTRY_CODE_MISSING")
        washed = {k: " ".join(str(v).split()) if isinstance(v, str) else v
                  for k, v in given.items()}
        changed = sorted(k for k in given if washed.get(k) != given.get(k))
        results = [{"address": given, "recommended": not changed and not reasons,
                    "analysis": {"validation_result": {"is_valid": not reasons,
                                                       "reasons": reasons},
                                 "changed_attributes": []}}]
        if changed and not reasons:
            results.append({"address": washed, "recommended": True,
                            "analysis": {"validation_result": {"is_valid": True,
                                                               "reasons": []},
                                         "changed_attributes": changed}})
        return 200, {"input_address_is_valid": not reasons, "results": results}

    # -- shipments
    def _validate(self, data: Any) -> tuple[int, dict] | None:
        if not isinstance(data, dict):
            return error(400, "invalid", "A JSON object is required.", "/data")
        for role in ("from_address", "to_address"):
            addr = data.get(role)
            if not isinstance(addr, dict):
                return error(400, "required", "This field is required.", f"/data/{role}")
            for fld in REQUIRED_ADDRESS:
                if not addr.get(fld):
                    return error(400, "required", "This field is required.",
                                 f"/data/{role}/{fld}")
        props = ((data.get("ship_with") or {}).get("properties") or {})
        if not props.get("shipping_option_code"):
            return error(400, "required", "This field is required.",
                         "/data/ship_with/properties/shipping_option_code")
        if props["shipping_option_code"] not in self.shipping_options:
            return error(400, "invalid", "Shipping option code is not available.",
                         "/data/ship_with/properties/shipping_option_code")
        if self.refuses_address(data["to_address"]):
            return error(400, "invalid", "Postal code is not valid for the country.",
                         "/data/to_address/postal_code")
        parcels = data.get("parcels")
        if not isinstance(parcels, list) or not 1 <= len(parcels) <= 15:
            return error(400, "invalid", "Between 1 and 15 parcels are required.",
                         "/data/parcels")
        for i, parcel in enumerate(parcels):
            weight = (parcel or {}).get("weight") or {}
            try:
                ok = float(weight.get("value")) > 0
            except (TypeError, ValueError):
                ok = False
            if not ok:
                return error(400, "min_value", "Ensure this value is greater than 0.",
                             f"/data/parcels/{i}/weight/value")
        return None

    def announce(self, data: Any) -> tuple[int, Any]:
        self.announce_calls += 1
        bad = self._validate(data)
        if bad:
            return bad
        reference = data.get("external_reference_id")
        if reference and reference in self.by_reference:
            # "Using the same reference more than once will result in a 409 HTTP status
            # code and the associated object being returned."
            return 409, {"data": copy.deepcopy(self.shipments[self.by_reference[reference]])}
        sid = f"sandbox-shipment-{next(self._ids)}"
        option = data["ship_with"]["properties"]["shipping_option_code"]
        carrier = option.split(":", 1)[0]
        stamp = _now()
        parcels = []
        for parcel in data["parcels"]:
            pid = next(self._ids)
            tracking = f"3SSB{pid:011d}"
            out = {
                "id": pid,
                "status": {"code": STATUS_READY[0], "message": STATUS_READY[1]},
                "documents": [{"type": "label", "document_type": "label", "size": "a6",
                               "link": f"{self.base_url}/api/v3/parcels/{pid}/documents/label"}]
                + ([{"type": "commercial-invoice", "document_type": "customs-declaration",
                     "size": "a4", "link": f"{self.base_url}/api/v3/parcels/{pid}"
                                          "/documents/customs-declaration"}]
                   if data.get("customs_information") else []),
                "weight": {"value": str(parcel["weight"]["value"]), "unit":
                           parcel["weight"].get("unit") or "kg"},
                "tracking_number": tracking,
                "tracking_url": f"{self.base_url}/tracking/{tracking}",
                "created_at": stamp, "updated_at": stamp, "announced_at": stamp,
            }
            for key in ("dimensions", "parcel_items"):
                if parcel.get(key):
                    out[key] = copy.deepcopy(parcel[key])
            parcels.append(out)
            self.events[tracking] = []
        shipment = {
            "id": sid,
            "from_address": copy.deepcopy(data["from_address"]),
            "to_address": copy.deepcopy(data["to_address"]),
            "ship_with": copy.deepcopy(data["ship_with"]),
            "order_number": data.get("order_number") or "",
            "external_reference_id": reference,
            "label_details": data.get("label_details") or {"mime_type": "application/pdf",
                                                            "dpi": 72},
            "parcels": parcels,
            "carrier": {"code": carrier, "name": carrier},
            "errors": [],
        }
        if data.get("total_order_price"):
            shipment["total_order_price"] = copy.deepcopy(data["total_order_price"])
        self.shipments[sid] = shipment
        if reference:
            self.by_reference[reference] = sid
        return 201, {"data": copy.deepcopy(shipment)}

    def list_shipments(self, params: dict) -> tuple[int, Any]:
        wanted = (params.get("external_reference_id") or [""])[0]
        tracking = (params.get("tracking_number") or [""])[0]
        found = [s for s in self.shipments.values()
                 if (not wanted or s.get("external_reference_id") == wanted)
                 and (not tracking or any(p["tracking_number"] == tracking
                                          for p in s["parcels"]))]
        if not found:  # the list schema has minItems 1: no match is the documented 404
            return error(404, "not_found", "No shipment matches.", "/data")
        return 200, {"data": copy.deepcopy(found)}

    def cancel(self, sid: str) -> tuple[int, Any]:
        shipment = self.shipments.get(sid)
        if not shipment:
            return error(404, "not_found", "Not found")
        if sid in self.cancelled:
            # the document's own example of a rejected cancellation
            return error(409, "invalid", "This shipment is already being cancelled.")
        # The documents name no v3 status code for a cancelled parcel (the cancel
        # description speaks of v2's 2000): the parcel status is left as it was.
        self.cancelled.add(sid)
        return 200, {"data": {"status": "cancelled", "message": "Shipment has been cancelled"}}

    def _parcel(self, pid: str) -> dict | None:
        for shipment in self.shipments.values():
            for parcel in shipment["parcels"]:
                if str(parcel["id"]) == pid:
                    return parcel
        return None

    # -- tracking
    def add_event(self, tracking_number: str, status_code: str, description: str = "",
                  sub_status_code: str = "none", status_type: str = "success",
                  event_at: str | None = None) -> dict:
        """Append a carrier event to a parcel's history (test and demo control)."""
        with self.lock:
            event = {"event_at": event_at or _now(), "event_type": "carrier",
                     "status_code": status_code, "status_description": description,
                     "status_type": status_type, "sub_status_code": sub_status_code}
            self.events.setdefault(tracking_number, []).append(event)
            return event

    def tracking(self, number: str) -> tuple[int, Any]:
        for shipment in self.shipments.values():
            for parcel in shipment["parcels"]:
                if parcel["tracking_number"] != number:
                    continue
                address = {k: v for k, v in shipment["to_address"].items() if k in (
                    "name", "company_name", "address_line_1", "address_line_2",
                    "postal_code", "city", "country_code", "email", "phone_number")}
                sender = {k: v for k, v in shipment["from_address"].items() if k in address
                          or k in REQUIRED_ADDRESS}
                return 200, {
                    "announced_at": parcel["announced_at"],
                    "created_at": parcel["created_at"],
                    "updated_at": parcel["updated_at"],
                    "source_id": str(parcel["id"]),
                    "details": {"is_return": False},
                    "events": copy.deepcopy(self.events.get(number) or []),
                    "from_address": sender,
                    "to_address": address,
                    "tracking_numbers": [{"carrier_code": shipment["carrier"]["code"],
                                          "tracking_number": number,
                                          "tracking_url": parcel["tracking_url"]}],
                }
        return 404, {"detail": "Not found."}


# --------------------------------------------------------------------------- server
class _Handler(SandboxHandler):
    def _do(self) -> None:
        owner: SendcloudV3Sandbox = self.owner
        try:
            raw = self.read_body()
            data = json.loads(raw) if raw else None
        except ValueError:
            status, body = error(400, "invalid", "The body is not JSON.")
            data = None
        else:
            parts = urlsplit(self.path)
            status, body = owner.state.handle(
                self.command, parts.path, parts.query, data, dict(self.headers))
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        ctype = "application/pdf" if payload.startswith(b"%PDF") else "application/json"
        with owner.state.lock:
            owner.exchanges.append(
                (self.command, self.path, data, dict(self.headers), status, body))
        self.send_bytes(status, payload, ctype)

    do_GET = do_POST = _do


class SendcloudV3Sandbox(BackgroundServer):
    """:class:`SendcloudV3State` on 127.0.0.1; ``exchanges`` records every
    ``(method, path, request JSON, headers, status, answer)``."""

    handler_class = _Handler
    name = "sendcloud-v3"

    def __init__(self, public_key: str = "", secret_key: str = "", **kw: Any):
        super().__init__(**kw)
        self._bind()
        self.state = SendcloudV3State(public_key, secret_key, base_url=self.url)
        self.exchanges: list[tuple] = []

    def reset(self) -> None:
        self.state.reset()
        self.exchanges.clear()
