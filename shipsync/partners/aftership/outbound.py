"""AfterShip Tracking API adapter (tracking registration and polling only).

Current API (https://www.aftership.com/docs/tracking): versioned base path
``/tracking/<version>`` (default ``2025-07``), header ``as-api-key``, flat body
``POST /tracking/<version>/trackings`` ``{tracking_number, slug, order_id,
custom_fields}``, response ``{"meta": {...}, "data": {<tracking>}}``.
The legacy ``v4`` API (``api_version="v4"``) wraps both as ``{"tracking": {...}}``
(``data.tracking``); both are supported.

``meta.code`` 4003 ("Tracking already exists") is treated as success.
``track()`` lists trackings with ``GET .../trackings?tracking_numbers=a,b`` and
turns every ``checkpoints[]`` entry into a canonical event with ``code=tag`` and
``subcode=subtag``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from shipsync.adapters.base import (
    CanonicalEvent,
    CarrierAdapter,
    InvalidInput,
    classify_result,
    result_json,
)

from .inbound import AfterShipNormalizer

DEFAULT_VERSION = "2025-07"
ALREADY_EXISTS = 4003


def api_prefix(version: str) -> str:
    return "/v4" if version == "v4" else f"/tracking/{version}"


def build_tracking_body(
    tracking_number: str,
    slug: str = "",
    order_id: str = "",
    custom_fields: dict | None = None,
    version: str = DEFAULT_VERSION,
) -> dict[str, Any]:
    if not tracking_number:
        raise InvalidInput("tracking_number is required", code="missing_tracking_number")
    tracking: dict[str, Any] = {"tracking_number": tracking_number}
    if slug:
        tracking["slug"] = slug
    if order_id:
        tracking["order_id"] = order_id
    if custom_fields:
        tracking["custom_fields"] = {k: str(v) for k, v in custom_fields.items()}
    return {"tracking": tracking} if version == "v4" else tracking


def parse_error(data: Any) -> tuple[str | None, str]:
    meta = data.get("meta") if isinstance(data, dict) else None
    if not isinstance(meta, dict):
        return None, str(data)[:300]
    code = meta.get("code")
    return (
        str(code) if code is not None else None,
        f"{meta.get('type') or ''}: {meta.get('message') or ''}".strip(": "),
    )


def unwrap_tracking(data: Any) -> dict:
    body = (data or {}).get("data") if isinstance(data, dict) else None
    if not isinstance(body, dict):
        return {}
    return body["tracking"] if isinstance(body.get("tracking"), dict) else body


def parse_tracking(tracking: dict) -> list[CanonicalEvent]:
    """Checkpoints of one AfterShip tracking -> canonical events (raw tag/subtag kept).

    Delegates to :class:`shipsync.partners.aftership.inbound.AfterShipNormalizer` so that polled
    and pushed checkpoints get the same external ids.
    """
    return AfterShipNormalizer().normalize_tracking(tracking)


def parse_webhook(payload: dict) -> list[CanonicalEvent]:
    """AfterShip tracking webhook: ``{"event": "tracking_update", "msg": <tracking>}``."""
    if not isinstance(payload, dict) or not isinstance(payload.get("msg"), dict):
        raise InvalidInput("not an AfterShip webhook payload", code="bad_payload")
    return AfterShipNormalizer().normalize(payload)


class AfterShipAdapter(CarrierAdapter):
    code = "aftership"

    DEFAULT_BASE_URL = "https://api.aftership.com"

    def __init__(self, base_url: str = DEFAULT_BASE_URL, api_key: str = "", **kw: Any):
        super().__init__(base_url or self.DEFAULT_BASE_URL, api_key, **kw)
        self.version = str(self.options.get("api_version") or DEFAULT_VERSION)

    def auth_headers(self) -> dict[str, str]:
        return {"as-api-key": self.api_key}

    def partner_error(self, data: Any) -> tuple[str | None, str]:
        return parse_error(data)

    def build_register(
        self,
        tracking_number: str,
        slug: str = "",
        order_id: str = "",
        custom_fields: dict | None = None,
    ):
        body = build_tracking_body(tracking_number, slug, order_id, custom_fields, self.version)
        return self.request(
            "POST",
            f"{api_prefix(self.version)}/trackings",
            json=body,
            idempotency_key=f"aftership:{slug}:{tracking_number}",
        )

    def register_tracking(
        self,
        tracking_number: str,
        slug: str = "",
        order_id: str = "",
        custom_fields: dict | None = None,
    ) -> dict[str, Any]:
        """Register a tracking; returns ``{id, tracking_number, slug, already_exists}``."""
        req = self.build_register(tracking_number, slug, order_id, custom_fields)
        result = self.call(req, "aftership create tracking", tolerate=(400, 409))
        data = result_json(result)
        meta = (data or {}).get("meta") or {}
        if result.status in (400, 409) and meta.get("code") != ALREADY_EXISTS:
            raise classify_result(
                result, "aftership create tracking", self.partner_error, self.secrets()
            )
        tracking = unwrap_tracking(data)
        return {
            "id": tracking.get("id") or "",
            "tracking_number": tracking.get("tracking_number") or tracking_number,
            "slug": tracking.get("slug") or slug,
            "already_exists": meta.get("code") == ALREADY_EXISTS,
        }

    def build_list(self, tracking_numbers: Sequence[str]):
        codes = quote(",".join(tracking_numbers), safe=",")
        return self.request("GET", f"{api_prefix(self.version)}/trackings?tracking_numbers={codes}")

    def track(self, tracking_numbers: Sequence[str]) -> list[CanonicalEvent]:
        if not tracking_numbers:
            return []
        data = self.call_json(self.build_list(tracking_numbers), "aftership get trackings")
        body = (data or {}).get("data") or {}
        events = []
        for tracking in body.get("trackings") or []:
            events.extend(parse_tracking(tracking))
        return events

    def parse_webhook(self, payload: dict) -> list[CanonicalEvent]:
        return parse_webhook(payload)
