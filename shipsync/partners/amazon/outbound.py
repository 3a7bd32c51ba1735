"""``confirmShipment`` of Amazon's Orders API v0: our side of a sales-channel shipment
confirmation (pure: values in, an ``HttpRequest`` out; the outbox sends it).

Facts (``ordersV0.json``, see README.md): ``POST /orders/v0/orders/{orderId}/
shipmentConfirmation``, body ``ConfirmShipmentRequest`` (``marketplaceId`` +
``packageDetail``: ``packageReferenceId`` (positive numeric string, unique per package of
the order), ``carrierCode``, ``carrierName`` (required when ``carrierCode`` is
``Other``), ``shippingMethod``, ``trackingNumber``, ``shipDate`` (ISO 8601 date-time),
``orderItems`` [``orderItemId``, integer ``quantity``]); success ``204`` without a body;
errors ``{"errors": [{"code", "message", "details"?}]}`` on 400/401/403/404/429/500/503.
The order id is "an Amazon-defined order identifier, in 3-7-7 format".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import jsonschema

from shipsync.adapters.base import InvalidInput
from shipsync.transport import HttpRequest

from .model import CONFIRM_PATH, CONFIRM_SHIPMENT_REQUEST

#: "An Amazon-defined order identifier, in 3-7-7 format" (orderId path parameter).
ORDER_ID_RE = re.compile(r"^\d{3}-\d{7}-\d{7}$")
#: "Only positive numeric values are supported" (PackageReferenceId).
PACKAGE_REF_RE = re.compile(r"^[1-9]\d*$")
#: carrierCode value that needs a carrierName (PackageDetail.carrierName).
OTHER_CARRIER = "Other"
#: The endpoint of the North America region (the model's ``host``).
DEFAULT_BASE_URL = "https://sellingpartnerapi-na.amazon.com"
#: The SP-API access-token header (LWA token) of every call.
ACCESS_TOKEN_HEADER = "x-amz-access-token"
OPERATION = "channel_confirm_shipment"


@dataclass(frozen=True)
class ShippedItem:
    order_item_id: str
    quantity: int


@dataclass(frozen=True)
class ShipmentConfirmation:
    """One package of a channel order, as the channel must learn it."""

    order_id: str
    marketplace_id: str
    package_reference_id: str
    tracking_number: str
    ship_date: str  # ISO 8601 date-time, UTC
    items: tuple[ShippedItem, ...]
    carrier_code: str = OTHER_CARRIER
    carrier_name: str = ""
    shipping_method: str = ""
    ship_from_supply_source_id: str = ""
    extra: dict = field(default_factory=dict, compare=False)

    # -- plain values (the outbox job's payload) -----------------------------------
    def to_payload(self) -> dict:
        return {
            "order_id": self.order_id, "marketplace_id": self.marketplace_id,
            "package_reference_id": self.package_reference_id,
            "tracking_number": self.tracking_number, "ship_date": self.ship_date,
            "carrier_code": self.carrier_code, "carrier_name": self.carrier_name,
            "shipping_method": self.shipping_method,
            "ship_from_supply_source_id": self.ship_from_supply_source_id,
            "items": [{"order_item_id": i.order_item_id, "quantity": i.quantity}
                      for i in self.items],
        }

    @classmethod
    def from_payload(cls, data: Any) -> ShipmentConfirmation:
        if not isinstance(data, dict):
            raise InvalidInput("a shipment confirmation payload must be an object",
                               code="bad_payload")
        try:
            items = tuple(ShippedItem(str(i["order_item_id"]), i["quantity"])
                          for i in data.get("items") or ())
            return cls(
                order_id=str(data["order_id"]), marketplace_id=str(data["marketplace_id"]),
                package_reference_id=str(data["package_reference_id"]),
                tracking_number=str(data.get("tracking_number") or ""),
                ship_date=str(data.get("ship_date") or ""), items=items,
                carrier_code=str(data.get("carrier_code") or OTHER_CARRIER),
                carrier_name=str(data.get("carrier_name") or ""),
                shipping_method=str(data.get("shipping_method") or ""),
                ship_from_supply_source_id=str(data.get("ship_from_supply_source_id") or ""))
        except (KeyError, TypeError) as exc:
            raise InvalidInput(f"shipment confirmation payload lacks {exc}",
                               code="bad_payload") from None


def ship_date(value: datetime | str | None) -> str:
    """ISO 8601 UTC date-time with a ``Z`` (a naive datetime is read as UTC)."""
    if isinstance(value, str):
        return value
    if value is None:
        raise InvalidInput("the ship date is missing", code="missing_ship_date")
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def quantity(value: float | Decimal | int, what: str = "") -> int:
    """An order item quantity: ``quantity`` is an integer in the model."""
    number = Decimal(str(value))
    if number != number.to_integral_value() or number <= 0:
        raise InvalidInput(f"the quantity {value} of {what or 'an item'} is not a positive "
                           "whole number of units", code="bad_quantity")
    return int(number)


def build_body(conf: ShipmentConfirmation) -> dict:
    """The ``ConfirmShipmentRequest`` of one package; ``InvalidInput`` (no call made)
    when the model would refuse it."""
    problems = []
    if not ORDER_ID_RE.match(conf.order_id or ""):
        problems.append(f"order id {conf.order_id!r} is not in Amazon's 3-7-7 format")
    if not conf.marketplace_id:
        problems.append("the marketplace id is missing")
    if not PACKAGE_REF_RE.match(conf.package_reference_id or ""):
        problems.append(f"package reference {conf.package_reference_id!r} is not a positive "
                        "number")
    if not conf.tracking_number:
        problems.append("the tracking number is missing")
    if not conf.carrier_code:
        problems.append("the carrier code is missing")
    if conf.carrier_code == OTHER_CARRIER and not conf.carrier_name:
        problems.append("carrier code 'Other' needs a carrier name")
    if not conf.items:
        problems.append("no order item is shipped")
    for item in conf.items:
        if not item.order_item_id:
            problems.append("an order line has no channel order item id")
        if not isinstance(item.quantity, int) or isinstance(item.quantity, bool) \
                or item.quantity <= 0:
            problems.append(f"quantity {item.quantity!r} of item {item.order_item_id} is not "
                            "a positive integer")
    if problems:
        raise InvalidInput("; ".join(problems), code="invalid_confirmation")
    detail: dict[str, Any] = {
        "packageReferenceId": conf.package_reference_id,
        "carrierCode": conf.carrier_code,
        "trackingNumber": conf.tracking_number,
        "shipDate": conf.ship_date,
        "orderItems": [{"orderItemId": i.order_item_id, "quantity": i.quantity}
                       for i in conf.items],
    }
    if conf.carrier_name:
        detail["carrierName"] = conf.carrier_name
    if conf.shipping_method:
        detail["shippingMethod"] = conf.shipping_method
    if conf.ship_from_supply_source_id:
        detail["shipFromSupplySourceId"] = conf.ship_from_supply_source_id
    body = {"marketplaceId": conf.marketplace_id, "packageDetail": detail}
    validator = jsonschema.Draft4Validator(
        CONFIRM_SHIPMENT_REQUEST, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        raise InvalidInput("; ".join(
            f"{'/'.join(map(str, e.absolute_path)) or 'body'}: {e.message}" for e in errors),
            code="invalid_confirmation")
    return body


def confirm_path(order_id: str) -> str:
    return CONFIRM_PATH.replace("{orderId}", quote(order_id, safe=""))


def build_confirm_request(conf: ShipmentConfirmation, *, base_url: str = "",
                          headers: dict | None = None, connect_timeout: float = 5.0,
                          read_timeout: float = 30.0) -> HttpRequest:
    body = build_body(conf)
    all_headers = {"Accept": "application/json", "Content-Type": "application/json"}
    all_headers.update(headers or {})
    return HttpRequest(
        method="POST", url=(base_url or DEFAULT_BASE_URL).rstrip("/") + confirm_path(
            conf.order_id),
        headers=all_headers, json=body, connect_timeout=connect_timeout,
        read_timeout=read_timeout)


def parse_errors(body: bytes | str | None) -> list[dict]:
    """The ``errors`` of an ``ErrorList`` answer (``[]`` when the body is not one)."""
    if not body:
        return []
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return []
    errors = data.get("errors") if isinstance(data, dict) else None
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


def describe_errors(body: bytes | str | None) -> str:
    """``code: message (details)`` of each error, for the job and the chatter."""
    parts = []
    for error in parse_errors(body):
        text = f"{error.get('code', '?')}: {error.get('message', '')}"
        if error.get("details"):
            text += f" ({error['details']})"
        parts.append(text)
    return "; ".join(parts)
