"""Settling an attempt: done, retry later (backoff with full jitter or ``Retry-After``) or
dead, through :func:`shipsync.retry.decide`; plus the signal the breaker gets."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..retry import classify, decide
from .outcomes import Outcome
from .policy import BREAKER_FAILURES, OutboundPolicy


@dataclass(frozen=True)
class Settlement:
    """The new state of a job after an attempt."""

    state: str  # "done" | "pending" | "dead" | "cancelled"
    next_attempt_at: datetime | None
    delay: float | None
    error_class: str | None
    reason: str
    breaker_signal: str | None  # "success" | "failure" | None (neutral)


def breaker_signal(outcome: Outcome) -> str | None:
    """What an outcome tells the partner's breaker.

    Network errors, timeouts, 5xx, 408 and unparseable answers are failures; any other
    answer (2xx, a final 4xx) proves the partner is up: success. 429 (the partner is
    up but wants us slower; ``Retry-After`` handles it), our own errors and
    cancellations say nothing about the partner.
    """
    if outcome.cancel:
        return None
    if outcome.ok:
        return "success"
    # Read as settle reads it: the answer's status outweighs a class a handler gave
    # (a 2xx settles done, so it proves the partner up).
    error_class, _retryable = classify(*_reading(outcome))
    if error_class is None:
        return "success"
    if error_class in BREAKER_FAILURES:
        return "failure"
    if error_class == "http_4xx":
        return "failure" if outcome.status == 408 else "success"
    return None


def _reading(outcome: Outcome) -> tuple[int | None, str | None]:
    """The (status, error) shipsync.retry classifies an outcome by."""
    return outcome.status, outcome.error_class or outcome.error or None


def settle(
    policy: OutboundPolicy,
    attempt: int,
    outcome: Outcome,
    now: datetime,
    rng: Callable[[], float] = random.random,
) -> Settlement:
    """Done, retry later or dead after attempt number ``attempt`` (1-based)."""
    signal = breaker_signal(outcome)
    if outcome.cancel:
        return Settlement("cancelled", None, None, None, outcome.error or "cancelled", signal)
    if outcome.ok:
        what = f"HTTP {outcome.status} ok" if outcome.status else "ok"
        return Settlement("done", None, None, None, what, signal)
    decision = decide(policy.retry, attempt, *_reading(outcome), outcome.retry_after, now, rng)
    reason = decision.reason
    if outcome.error:
        reason = f"{reason}: {outcome.error}"[:500]
    if decision.kind == "retry":
        delay = float(decision.delay or 0.0)
        return Settlement(
            "pending", now + timedelta(seconds=delay), delay, decision.error_class, reason, signal
        )
    if decision.kind == "done":  # an error class retry does not know as a failure
        return Settlement("done", None, None, None, reason, signal)
    return Settlement("dead", None, None, decision.error_class, reason, signal)


def lease_expired(policy: OutboundPolicy, attempt: int, worker: str) -> Settlement:
    """A worker claimed the job and never reported back (killed mid-call, host lost):
    the call may or may not have reached the partner, so the job is retried at once
    with the same idempotency key (the lease already made it wait), unless that was
    its last attempt. It says nothing about the partner's health."""
    reason = f"lease expired: worker {worker or '?'} did not report back"
    if attempt >= policy.retry.max_attempts:
        return Settlement(
            "dead", None, None, "network",
            f"{reason}; attempts exhausted ({attempt}/{policy.retry.max_attempts})", None,
        )
    return Settlement("pending", None, 0.0, "network", reason, None)
