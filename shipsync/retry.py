"""Retry policy for outbound calls: error classes, backoff with full jitter, Retry-After.

Everything here is a pure function of plain values, so the outbox worker can store the
attempt counter and the next run date in columns and call back in on the next attempt.

Conventions:

* ``attempt`` is the 1-based number of the attempt that has just been made.
* A 2xx answer whose body cannot be parsed (``invalid_response``) is **retryable**: the
  partner may well have applied the call, and the idempotency key sent with every job
  makes a retry safe. ``adapter_error`` (our own code or configuration failed) is final.
* ``Retry-After`` is honoured on 429 and 503 only, overrides the computed backoff and is
  capped at :data:`MAX_RETRY_AFTER` (one day); it never raises the attempt budget.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

ERROR_CLASSES = (
    "network",
    "timeout",
    "http_5xx",
    "http_429",
    "http_4xx",
    "invalid_response",
    "adapter_error",
)

#: Error classes that are worth another attempt (plus HTTP 408, classed ``http_4xx``).
RETRYABLE_CLASSES = frozenset({"network", "timeout", "http_5xx", "http_429", "invalid_response"})

#: Upper bound applied to a partner's Retry-After, in seconds.
MAX_RETRY_AFTER = 86400.0

#: Statuses on which a Retry-After header is honoured.
RETRY_AFTER_STATUSES = frozenset({429, 503})

_HTTP_DATE_FORMATS = (
    "%a, %d %b %Y %H:%M:%S GMT",  # IMF-fixdate (preferred)
    "%A, %d-%b-%y %H:%M:%S GMT",  # obsolete RFC 850
    "%a %b %d %H:%M:%S %Y",  # obsolete asctime()
)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a partner."""

    max_attempts: int = 8
    base: float = 2.0
    cap: float = 900.0

    def ceiling(self, attempt: int) -> float:
        """Largest delay allowed after ``attempt``: ``min(cap, base * 2 ** (attempt - 1))``."""
        exponent = max(attempt, 1) - 1
        # 2 ** 1100 overflows a float; anything past the cap is the cap anyway.
        if exponent > 1000:
            return max(0.0, float(self.cap))
        return max(0.0, min(float(self.cap), float(self.base) * 2.0**exponent))

    def delay(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Exponential backoff with full jitter: ``rng() * min(cap, base * 2 ** (attempt - 1))``."""
        ceiling = self.ceiling(attempt)
        r = min(max(float(rng()), 0.0), 1.0)
        return min(ceiling, r * ceiling)


@dataclass(frozen=True)
class Decision:
    """What to do with a job after an attempt."""

    kind: str  # "done" | "retry" | "dead"
    delay: float | None
    error_class: str | None
    reason: str


def _as_utc(value: datetime) -> datetime:
    # Odoo stores naive UTC datetimes: treat a naive ``now`` as UTC.
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def _parse_http_date(value: str) -> datetime | None:
    for fmt in _HTTP_DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed is not None else None


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait according to a ``Retry-After`` header (RFC 9110 section 10.2.3).

    Accepts delta-seconds (leniently also a decimal or negative number) or an HTTP-date.
    A date in the past or a negative delay gives 0; anything unparseable gives None.
    """
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = None
    if seconds is not None:
        if math.isnan(seconds) or math.isinf(seconds):
            return None
        return max(0.0, seconds)
    when = _parse_http_date(text)
    if when is None:
        return None
    return max(0.0, (_as_utc(when) - _as_utc(now)).total_seconds())


def classify(status: int | None, error: str | None) -> tuple[str | None, bool]:
    """Error class and retryability of an attempt's outcome.

    ``status`` is the HTTP status (None when no answer came back); ``error`` is either an
    error class already determined by the transport (``network``, ``timeout``,
    ``invalid_response``, ``adapter_error``; pass ``HttpResult.error_class``) or, when no
    answer came back, a free-form error message.
    2xx/3xx without an error is a success: ``(None, False)``.
    """
    if error in ("adapter_error",):
        return "adapter_error", False
    if status is None:
        if error in ("network", "timeout", "invalid_response"):
            return error, True
        lowered = (error or "").lower()
        if "timeout" in lowered or "timed out" in lowered:
            return "timeout", True
        # No answer at all: the call may or may not have reached the partner.
        return "network", True
    if 200 <= status < 400:
        if error == "invalid_response":
            return "invalid_response", True
        return None, False
    if status == 429:
        return "http_429", True
    if status == 408:
        return "http_4xx", True
    if 400 <= status < 500:
        return "http_4xx", False
    if 500 <= status < 600:
        return "http_5xx", True
    # 1xx as a final answer or a status outside the HTTP range: a broken partner.
    return "invalid_response", True


def decide(
    policy: RetryPolicy,
    attempt: int,
    status: int | None,
    error: str | None,
    retry_after: str | None,
    now: datetime,
    rng: Callable[[], float] = random.random,
) -> Decision:
    """Outcome of attempt number ``attempt`` (1-based): done, retry after a delay, or dead."""
    error_class, retryable = classify(status, error)
    what = f"HTTP {status}" if status is not None else (error_class or "error")
    if error_class is None:
        return Decision("done", None, None, f"{what} ok")
    if not retryable:
        return Decision("dead", None, error_class, f"{what}: final error ({error_class})")
    if attempt >= policy.max_attempts:
        return Decision(
            "dead",
            None,
            error_class,
            f"{what}: attempts exhausted ({attempt}/{policy.max_attempts})",
        )
    wait = None
    if status in RETRY_AFTER_STATUSES:
        wait = parse_retry_after(retry_after, now)
    if wait is not None:
        wait = min(wait, MAX_RETRY_AFTER)
        source = "Retry-After"
    else:
        wait = policy.delay(attempt, rng)
        source = "backoff"
    return Decision(
        "retry",
        wait,
        error_class,
        f"{what}: retry {attempt + 1}/{policy.max_attempts} in {wait:.1f}s ({source})",
    )
