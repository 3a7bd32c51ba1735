"""The requests of the two built-in operations: a generic ``http_call`` and a signed
Standard Webhooks POST (``publish_event``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..signatures import StandardWebhooks
from ..transport import HttpRequest
from .policy import OutboundPolicy

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _join(base_url: str, url: str) -> str:
    if url.startswith(("http://", "https://")):
        return url
    if not base_url:
        raise ValueError(f"relative URL {url!r} and no base URL configured")
    return base_url.rstrip("/") + "/" + url.lstrip("/")


def http_call_request(
    payload: Mapping,
    *,
    idempotency_key: str,
    policy: OutboundPolicy,
    base_url: str = "",
    headers: Mapping[str, str] | None = None,
) -> HttpRequest:
    """The request of a generic ``http_call`` job. Payload: ``url`` (absolute, or relative
    to the partner's base URL), ``method`` (default POST), and ``json`` or ``body`` (text),
    optional ``headers``. Raises ValueError on a bad payload (a final error)."""
    if not isinstance(payload, Mapping):
        raise ValueError("http_call payload must be an object")
    url = payload.get("url")
    if not isinstance(url, str) or not url:
        raise ValueError("http_call payload needs a url")
    method = str(payload.get("method") or "POST").upper()
    if method not in HTTP_METHODS:
        raise ValueError(f"http_call method {method!r} not supported")
    if payload.get("json") is not None and payload.get("body") is not None:
        raise ValueError("http_call payload takes json or body, not both")
    all_headers = {"Accept": "application/json"}
    all_headers.update(headers or {})
    extra = payload.get("headers") or {}
    if not isinstance(extra, Mapping):
        raise ValueError("http_call headers must be an object")
    all_headers.update({str(k): str(v) for k, v in extra.items()})
    body = payload.get("body")
    return HttpRequest(
        method=method,
        url=_join(base_url, url),
        headers=all_headers,
        json=payload.get("json"),
        body=body.encode("utf-8") if isinstance(body, str) else None,
        idempotency_key=idempotency_key,
        connect_timeout=policy.timeouts[0],
        read_timeout=policy.timeouts[1],
    )


def encode(value: Any) -> bytes:
    """Canonical JSON bytes (sorted keys, compact, UTF-8): the body that is signed."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def signed_post(
    url: str,
    secret: str,
    msg_id: str,
    body: bytes,
    *,
    idempotency_key: str,
    policy: OutboundPolicy,
    timestamp: int | None = None,
) -> HttpRequest:
    """A Standard Webhooks signed POST (``webhook-id`` = the stable event id). Raises
    ValueError when no secret is set: an unsigned event is never sent."""
    signer = StandardWebhooks([secret])
    headers = {"Content-Type": "application/json", "User-Agent": "shipsync-outbox/1"}
    headers.update(signer.headers(msg_id, body, timestamp=timestamp))
    return HttpRequest(
        method="POST",
        url=url,
        headers=headers,
        body=body,
        idempotency_key=idempotency_key,
        connect_timeout=policy.timeouts[0],
        read_timeout=policy.timeouts[1],
    )
