"""What the partner slices of the carrier sandbox share.

A slice (``shipsync.partners.<code>.sandbox``) is a mixin of
:class:`shipsync.sandbox.carrier.CarrierSandbox`: it owns some URL prefixes, some state
(created in ``reset_state``) and some knobs, and the composed sandbox routes each request
to the slice owning its path. A slice whose shipments move along scenarios (``KIND``)
also implements ``step_shipment``. Slice methods are called explicitly through the slice
class (``Slice.serve(sandbox, ...)``) so several slices can use the same names.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone

#: The sandbox clock starts here (deterministic histories).
EPOCH = datetime(2026, 11, 2, 8, 0, tzinfo=timezone.utc)

JSON = "application/json"
#: A status a slice returns to have the connection dropped without an answer (the call
#: was applied: what a client sees when the answer is lost on the way back).
DROP = -1


def iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def charge(quoted: str, weight_kg: float) -> str:
    """The actual charge: the quote, +3 % over 10 kg (an overweight surcharge)."""
    amount = float(quoted)
    if weight_kg > 10:
        amount *= 1.03
    return f"{amount:.2f}"


def basic(user: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def public(record: dict) -> dict:
    """A record without the sandbox's bookkeeping (keys starting with ``_``)."""
    return {k: v for k, v in record.items() if not k.startswith("_")}


def strip_internal(value):
    """A deep copy of an answer without the sandbox's bookkeeping at any depth."""
    if isinstance(value, dict):
        return {k: strip_internal(v) for k, v in value.items() if not str(k).startswith("_")}
    if isinstance(value, list):
        return [strip_internal(v) for v in value]
    return value


class CarrierSlice:
    """Base of a partner slice."""

    #: partner code (the registry's)
    code = ""
    #: ``tracker["_kind"]`` of the shipments this slice moves (empty: none)
    KIND = ""
    #: path prefixes this slice answers
    PREFIXES: tuple[str, ...] = ()
    #: the slice's knobs and their defaults
    KNOBS: dict = {}

    @classmethod
    def owns(cls, path: str) -> bool:
        return path.startswith(cls.PREFIXES)

    def reset_state(self) -> None:  # pragma: no cover - every slice overrides
        pass

    def serve(self, method, path, query, body, raw_headers):
        raise NotImplementedError

    def is_moving(self, tracker: dict) -> bool:
        """Whether ``advance_all`` still moves this shipment."""
        return True

    def step_shipment(self, tracker: dict, scenario: str, steps: int | None) -> list:
        """Move one shipment; returns ``[(webhook kind, payload, follow key, message)]``
        (``follow key``: what an aftership tracking of the same number shows)."""
        return []

    def sign_webhook(self, kind: str, body: bytes) -> dict:
        return {}

    # ------------------------------------------------------------------ shared
    def serve_json_api(self, method, path, query, body, raw_headers, route,
                       idempotency_key: bool = True):
        """A JSON API behind HTTP Basic: 401 without it, 400 on a non-JSON body,
        ``Idempotency-Key`` replays (unless ``idempotency_key=False``: a partner that
        does not document the header), the ``malformed`` knob."""
        malformed = self.knobs["malformed"]
        if not raw_headers.get("Authorization", "").startswith("Basic "):
            return 401, {"error": {"code": "APIKEY.REQUIRED",
                                   "message": "missing credentials"}}, JSON, {}
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            return 400, {"error": {"code": "BAD.JSON", "message": "body is not JSON"}}, JSON, {}
        key = raw_headers.get("Idempotency-Key") if idempotency_key else None
        with self._lock:
            if key and method == "POST" and (path, key) in self.idempotent:
                status, payload = self.idempotent[(path, key)]
                return status, payload, JSON, {"Idempotent-Replayed": "true"}
            status, payload = route(self, method, path, query, data)
            if key and method == "POST" and 200 <= status < 300:
                self.idempotent[(path, key)] = (status, payload)
        if malformed and 200 <= status < 300:
            return status, b"<html>upstream proxy error</html>", "text/html", {}
        return status, payload, JSON, {}
