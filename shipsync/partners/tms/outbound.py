"""Plan release, revision and cancellation to a TMS (``tms-plan-v1``): values in, an
``HttpRequest`` out (the outbox sends it to ``<base URL>/plans`` with the job's
Idempotency-Key, in enqueue order per transfer)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from shipsync.adapters.base import InvalidInput
from shipsync.schemas import PayloadError, load_schema, validate
from shipsync.transport import HttpRequest

SCHEMA = "tms-plan-v1"
PLANS_PATH = "/plans"
OPERATION = "tms_release_plan"
REVISE_OPERATION = "tms_revise_plan"
CANCEL_OPERATION = "tms_cancel_plan"
OPERATIONS = (OPERATION, REVISE_OPERATION, CANCEL_OPERATION)
#: Fields of a plan document that say what it does, not what is planned.
_ENVELOPE = frozenset({"schema", "action", "version"})


def decimal_text(value: Any, places: int = 3) -> str:
    """A non-negative decimal as the profile writes it (``'12.5'``, never ``'1E+1'``)."""
    number = Decimal(str(value or 0)).quantize(Decimal(1).scaleb(-places)).normalize()
    text = format(number, "f")
    return text if text not in ("-0",) else "0"


def datetime_text(value: datetime | None) -> str | None:
    if not value:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class PlanLine:
    line_id: str
    sku: str
    quantity: Decimal
    uom: str
    weight_kg: Decimal
    description: str = ""


def build_plan(*, plan_id: str, correlation_id: str, order_ref: str, ship_from: Mapping,
               ship_to: Mapping, requested_pickup_at: datetime,
               lines: list[PlanLine], requested_delivery_at: datetime | None = None,
               origin: str = "", carrier_hint: str = "", version: int = 1) -> dict:
    """The plan document: the release (version 1) or a revision (a later version, the
    whole plan as it now is); ``InvalidInput`` (code ``invalid_plan``) when it does not
    conform to ``tms-plan-v1`` (no call is made)."""
    total = sum((Decimal(str(line.weight_kg)) for line in lines), Decimal(0))
    doc: dict[str, Any] = {
        "schema": SCHEMA, "action": "release" if version == 1 else "revise",
        "version": version, "plan_id": plan_id, "correlation_id": correlation_id,
        "order_ref": order_ref,
        "ship_from": {k: str(v) for k, v in ship_from.items() if v},
        "ship_to": {k: str(v) for k, v in ship_to.items() if v},
        "requested_pickup_at": datetime_text(requested_pickup_at),
        "requested_delivery_at": datetime_text(requested_delivery_at),
        "lines": [{"line_id": line.line_id, "sku": line.sku,
                   **({"description": line.description} if line.description else {}),
                   "quantity": decimal_text(line.quantity), "uom": line.uom,
                   "weight_kg": decimal_text(line.weight_kg)} for line in lines],
        "total_weight_kg": decimal_text(total),
    }
    if origin:
        doc["origin"] = origin
    if carrier_hint:
        doc["carrier_hint"] = carrier_hint
    check_plan(doc)
    return doc


def build_cancellation(*, plan_id: str, correlation_id: str, order_ref: str, version: int,
                       reason: str = "") -> dict:
    """The cancellation of a plan (its next version)."""
    doc = {"schema": SCHEMA, "action": "cancel", "version": version, "plan_id": plan_id,
           "correlation_id": correlation_id, "order_ref": order_ref}
    if reason:
        doc["reason"] = reason[:1000]
    check_plan(doc)
    return doc


def plan_digest(doc: Mapping) -> str:
    """What a plan document plans, as a digest: a revision is due when it changes (the
    action and version are left out, so a resent plan is not a change)."""
    content = {k: v for k, v in doc.items() if k not in _ENVELOPE}
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()
                          ).hexdigest()


def check_plan(doc: Any) -> None:
    try:
        validate(doc, load_schema(SCHEMA))
    except PayloadError as exc:
        raise InvalidInput(f"plan does not conform to {SCHEMA}: {exc}",
                           code="invalid_plan") from None


def build_release_request(doc: Mapping, *, base_url: str, headers: Mapping | None = None,
                          connect_timeout: float = 5.0,
                          read_timeout: float = 30.0) -> HttpRequest:
    if not base_url:
        raise InvalidInput("the TMS partner has no outbound base URL", code="no_base_url")
    check_plan(doc)
    return HttpRequest(
        method="POST", url=base_url.rstrip("/") + PLANS_PATH,
        headers={"Accept": "application/json", "Content-Type": "application/json",
                 **dict(headers or {})},
        json=dict(doc), connect_timeout=connect_timeout, read_timeout=read_timeout)
