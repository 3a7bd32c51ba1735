"""What a handler returns and how it becomes an :class:`Outcome`.

* :class:`Outcome`, :func:`as_outcome`, :func:`outcome_from_exception` - what a handler
  returns (a :class:`shipsync.transport.HttpResult` is accepted as is).
* :class:`CallContext`, :func:`run_call` - the plain values a handler gets, and running
  its prepared call.
* :func:`excerpt`, :func:`jsonable` - what of an answer is stored on the job.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..retry import ERROR_CLASSES, classify
from ..transport import HttpRequest, HttpResult
from .policy import OutboundPolicy

#: Characters of a response body kept on an attempt.
EXCERPT_LIMIT = 2000
#: Largest response body stored as a job's result (bytes).
RESULT_LIMIT = 64 * 1024


@dataclass(frozen=True)
class Outcome:
    """What one attempt gave. ``error_class`` is None on success (see shipsync.retry).

    ``data`` is the result a handler wants stored on the job (JSON-serializable); when
    it is None the JSON body of the answer is stored. ``cancel`` ends the job as
    cancelled (nothing left to do, e.g. its subscription was archived).
    """

    status: int | None = None
    error_class: str | None = None
    error: str = ""
    retry_after: str | None = None
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    elapsed_ms: int = 0
    data: Any = None
    cancel: bool = False

    def __post_init__(self) -> None:
        if self.error_class is not None and self.error_class not in ERROR_CLASSES:
            raise ValueError(f"unknown error class {self.error_class!r}")

    @property
    def ok(self) -> bool:
        return self.error_class is None and not self.cancel

    def excerpt(self, limit: int = EXCERPT_LIMIT) -> str:
        return excerpt(self.body, limit)

    def result(self, limit: int = RESULT_LIMIT) -> Any:
        """The value to store as the job's result: ``data``, else the JSON body (when it
        is JSON and at most ``limit`` bytes), else None."""
        if self.data is not None:
            return jsonable(self.data)
        if not self.body or len(self.body) > limit:
            return None
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return None


def excerpt(body: bytes | str | None, limit: int = EXCERPT_LIMIT) -> str:
    """At most ``limit`` characters of a body, decoded as UTF-8 with replacement."""
    if not body:
        return ""
    limit = max(0, int(limit))
    if isinstance(body, str):
        return body[:limit]
    return bytes(body)[: limit * 4].decode("utf-8", errors="replace")[:limit]


def as_outcome(value: Any) -> Outcome:
    """Normalize what a handler returned: an :class:`Outcome`, an ``HttpResult`` (or any
    object with the same attributes), or None (a handler bug: ``adapter_error``)."""
    if isinstance(value, Outcome):
        return value
    if isinstance(value, HttpResult) or (
        hasattr(value, "status") and hasattr(value, "error_class")
    ):
        error_class = getattr(value, "error_class", None)
        if error_class is not None and error_class not in ERROR_CLASSES:
            error_class = "adapter_error"
        return Outcome(
            status=getattr(value, "status", None),
            error_class=error_class,
            error=str(getattr(value, "error", "") or ""),
            retry_after=getattr(value, "retry_after", None),
            body=bytes(getattr(value, "body", b"") or b""),
            headers=dict(getattr(value, "headers", {}) or {}),
            elapsed_ms=int(getattr(value, "elapsed_ms", 0) or 0),
            data=getattr(value, "data", None),
        )
    return Outcome(
        error_class="adapter_error",
        error=f"handler returned {type(value).__name__}, not an outcome",
    )


def outcome_from_exception(exc: BaseException) -> Outcome:
    """Classify an exception raised while preparing or making a call.

    Adapter errors (``shipsync.adapters.base``) carry ``retryable``, ``http_status``,
    ``code`` and ``retry_after``; they are read by duck typing. A retryable error keeps a
    retryable class (5xx, 429, timeout, network); a final one with a 4xx status is
    ``http_4xx``; anything else, including a bug in a handler, is ``adapter_error`` and
    final: retrying a validation error would only fail again.
    """
    message = f"{type(exc).__name__}: {exc}"[:500]
    status = getattr(exc, "http_status", None)
    status = status if isinstance(status, int) and 100 <= status <= 599 else None
    retryable = bool(getattr(exc, "retryable", False))
    retry_after = getattr(exc, "retry_after", None)
    retry_after = None if retry_after is None else str(retry_after)
    if retryable:
        if status is not None:
            error_class, still_retryable = classify(status, None)
            if error_class is not None and still_retryable:
                return Outcome(status, error_class, message, retry_after)
        code = str(getattr(exc, "code", "") or "")
        error_class = code if code in ("timeout", "network", "invalid_response") else "network"
        if code in ("bad_response",):
            error_class = "invalid_response"
        return Outcome(None, error_class, message, retry_after)
    if status is not None and 400 <= status < 500:
        return Outcome(status, "http_4xx", message)
    return Outcome(None, "adapter_error", message)


@dataclass(frozen=True)
class CallContext:
    """Plain values a handler gets to prepare one attempt of a job.

    ``http`` sends an :class:`HttpRequest` through the worker's pooled session and
    returns an ``HttpResult`` (never raises); pass it to an adapter as its ``http``.
    """

    job_id: int
    operation: str
    payload: Any
    idempotency_key: str
    policy: OutboundPolicy
    attempt: int = 1
    base_url: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    http: Callable[[HttpRequest], HttpResult] | None = None


def run_call(call: Callable[[], Any]) -> Outcome:
    """Run a prepared call. It may return an :class:`Outcome` or an ``HttpResult``, or
    any other value, which is a success whose ``data`` is that value (an adapter's
    ``ShipmentResult`` for instance); an exception is classified by
    :func:`outcome_from_exception`."""
    try:
        value = call()
    except Exception as exc:  # noqa: BLE001 - every failure becomes an outcome
        return outcome_from_exception(exc)
    if isinstance(value, Outcome) or isinstance(value, HttpResult) or (
        hasattr(value, "status") and hasattr(value, "error_class")
    ):
        return as_outcome(value)
    return Outcome(data=value)


def jsonable(value: Any, depth: int = 0) -> Any:
    """A JSON-serializable rendering of a result (dataclasses, dates, decimals; bytes are
    replaced by their length so labels never bloat a job)."""
    if depth > 20:
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes | bytearray):
        return {"bytes": len(value)}
    if isinstance(value, datetime):
        return _iso(value)
    if hasattr(value, "__dataclass_fields__"):
        return {
            name: jsonable(getattr(value, name), depth + 1)
            for name in value.__dataclass_fields__
        }
    if isinstance(value, Mapping):
        return {str(k): jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v, depth + 1) for v in value]
    return str(value)


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
