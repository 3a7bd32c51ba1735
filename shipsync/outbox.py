"""Transactional outbox: the policy a worker applies to a job, as pure functions.

The Odoo addon stores jobs, leases and the breaker state in PostgreSQL and claims jobs
with ``SELECT ... FOR UPDATE SKIP LOCKED``; every decision it takes about them is made
here, from plain values:

* :class:`OutboundPolicy` - a partner's timeouts, concurrency, rate limit, retry policy,
  circuit breaker and ordering option (validated: timeouts are always set).
* :func:`plan_claim` - how many ready jobs of a partner a worker may claim now
  (partner-wide pause, concurrency, ``low`` never starving ``high``, rate limit,
  breaker, single probe).
* :func:`partner_pause` - a 429/503 with ``Retry-After`` pauses the whole partner
  ("no call before T", stored on the partner so that every worker sees it).
* :class:`PauseGate` - the pauses a worker knows of, checked by each claimed call just
  before it is sent (a call claimed before a 429 came back for its partner is held).
* :func:`next_wake` - when a worker must run again (retry due, pause end, breaker
  half-open, rate-limit slot, a lease running out).
* :class:`Outcome`, :func:`as_outcome`, :func:`outcome_from_exception` - what a handler
  returns (a :class:`shipsync.transport.HttpResult` is accepted as is).
* :func:`settle` - done, retry later (backoff with full jitter or ``Retry-After``) or dead,
  through :func:`shipsync.retry.decide`; plus the signal the breaker gets.
* :func:`breaker_admit` / :func:`breaker_report` - :mod:`shipsync.breaker` over the
  stored dict, with epoch seconds.
* :func:`http_call_request`, :func:`milestone_event`, :func:`signed_post` - the requests of
  the two built-in operations (``http_call`` and ``publish_event``).

Times are naive-UTC or aware ``datetime`` values for job columns, epoch seconds for the
breaker and the rate limit; nothing here reads a clock unless told to.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from . import breaker as brk
from .ratelimit import next_slot
from .retry import (
    ERROR_CLASSES,
    MAX_RETRY_AFTER,
    RETRY_AFTER_STATUSES,
    RetryPolicy,
    classify,
    decide,
    parse_retry_after,
)
from .signatures import StandardWebhooks
from .transport import HttpRequest, HttpResult

CHANNELS = ("high", "low")
STATES = ("pending", "running", "done", "dead", "cancelled")
#: States whose job holds back the later jobs of its sequence key (blocking partners).
BLOCKING_STATES = ("pending", "running", "dead")
#: A claimed job's lease (seconds). The worker renews the leases of its calls in
#: flight every :data:`HEARTBEAT_SECONDS`, so a call may take longer than this; a
#: dead worker's jobs are reclaimed at most this long after its last heartbeat.
LEASE_SECONDS = 10.0
#: How often a worker renews the leases of the calls it has in flight.
HEARTBEAT_SECONDS = 3.0
#: Characters of a response body kept on an attempt.
EXCERPT_LIMIT = 2000
#: Largest response body stored as a job's result (bytes).
RESULT_LIMIT = 64 * 1024
#: Error classes that count as a failure of the partner for its circuit breaker.
BREAKER_FAILURES = frozenset({"network", "timeout", "http_5xx", "invalid_response"})
EVENT_MILESTONE_CHANGED = "shipment.milestone_changed"
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


# --------------------------------------------------------------------------- policy
@dataclass(frozen=True)
class OutboundPolicy:
    """Everything that governs the outbound calls to one partner."""

    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    max_concurrency: int = 4
    rate_limit_per_minute: float = 0.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    breaker: brk.BreakerConfig = field(default_factory=brk.BreakerConfig)
    blocking: bool = True
    retention_days: int = 30

    def __post_init__(self) -> None:
        problems = []
        if not (self.connect_timeout > 0 and self.read_timeout > 0):
            problems.append("connect and read timeouts must be > 0 (a call always has both)")
        if self.max_concurrency < 1:
            problems.append("max concurrency must be at least 1")
        if self.rate_limit_per_minute < 0:
            problems.append("rate limit must be >= 0 (0 = no limit)")
        if self.retry.max_attempts < 1:
            problems.append("max attempts must be at least 1")
        if not (self.retry.base > 0 and self.retry.cap >= self.retry.base):
            problems.append("retry base must be > 0 and the cap >= the base")
        b = self.breaker
        if b.failure_threshold < 1 or b.min_calls < 1:
            problems.append("breaker threshold and minimum calls must be at least 1")
        if not 0 < b.failure_rate <= 1:
            problems.append("breaker failure rate must be in (0, 1]")
        if b.cooldown_seconds <= 0 or b.window_seconds <= 0:
            problems.append("breaker cool-down and window must be > 0 seconds")
        if self.retention_days < 1:
            problems.append("retention must be at least one day")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def timeouts(self) -> tuple[float, float]:
        return float(self.connect_timeout), float(self.read_timeout)

    @property
    def lease_seconds(self) -> float:
        """How long a claimed job is ours without a heartbeat (see :data:`LEASE_SECONDS`)."""
        return LEASE_SECONDS


# --------------------------------------------------------------------------- outcomes
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


# --------------------------------------------------------------------------- settling
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
    if outcome.error_class in BREAKER_FAILURES:
        return "failure"
    if outcome.error_class == "http_4xx":
        return "failure" if outcome.status == 408 else "success"
    return None


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
    decision = decide(
        policy.retry, attempt, outcome.status, outcome.error_class or outcome.error or None,
        outcome.retry_after, now, rng,
    )
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


# --------------------------------------------------------------------------- pause
@dataclass(frozen=True)
class Pause:
    """The partner asked us to stop calling it until ``until`` (epoch seconds)."""

    until: float
    reason: str


def partner_pause(outcome: Outcome, now_ts: float) -> Pause | None:
    """The partner-wide pause an outcome asks for, or None.

    A 429 (too many requests) or 503 (unavailable) carrying a ``Retry-After`` header
    (delta-seconds or an HTTP-date, RFC 9110 section 10.2.3) tells us when the partner
    will take calls again: that holds for every call to it, not only the one refused,
    so no worker calls it before then. The delay is capped at
    :data:`shipsync.retry.MAX_RETRY_AFTER`; an unparseable or zero Retry-After pauses
    nothing (the job's own backoff applies).
    """
    if outcome.status not in RETRY_AFTER_STATUSES or outcome.retry_after is None:
        return None
    now = datetime.fromtimestamp(now_ts, tz=timezone.utc)
    wait = parse_retry_after(outcome.retry_after, now)
    if not wait:
        return None
    wait = min(wait, MAX_RETRY_AFTER)
    reason = f"HTTP {outcome.status} Retry-After: {str(outcome.retry_after).strip()[:80]}"
    return Pause(now_ts + wait, reason)


def merge_pause(
    current_until: float | None, current_reason: str | None, new: Pause | None
) -> tuple[float | None, str | None]:
    """The pause to store after an outcome: a pause only ever grows (an answer to a
    call made before the pause, with a shorter Retry-After, does not shorten it)."""
    if new is None or (current_until is not None and current_until >= new.until):
        return current_until, current_reason
    return new.until, new.reason


def pause_remaining(paused_until: float | None, now_ts: float) -> float:
    """Seconds until the partner may be called again (0 when it may now)."""
    if paused_until is None:
        return 0.0
    return max(0.0, float(paused_until) - now_ts)


class PauseGate:
    """The partner-wide pauses one worker knows of, checked by each claimed call just
    before it is sent.

    A call claimed before a 429/503 ``Retry-After`` came back for its partner (from
    another worker, or another call of this one) must not go out either: claim planning
    only protects the calls claimed afterwards. The worker feeds the gate the pauses
    stored in the database just before it hands its calls to its threads
    (:meth:`merge`), and each thread teaches it the pause its own answer asks for as
    soon as it comes back (:meth:`learn`); a call whose partner is paused is not sent
    and goes back to the queue untried. Thread-safe; times are epoch seconds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until: dict[Any, float] = {}

    def merge(self, partner: Any, until: float | None) -> None:
        """Record that ``partner`` takes no call before ``until`` (a pause only grows)."""
        if until is None:
            return
        with self._lock:
            if until > self._until.get(partner, float("-inf")):
                self._until[partner] = float(until)

    def learn(self, partner: Any, outcome: Outcome, now_ts: float) -> Pause | None:
        """Merge the pause ``outcome`` asks for (see :func:`partner_pause`); returns it."""
        pause = partner_pause(outcome, now_ts)
        if pause is not None:
            self.merge(partner, pause.until)
        return pause

    def held(self, partner: Any, now_ts: float) -> float:
        """Seconds ``partner`` is still paused for (0: a call may go out now)."""
        with self._lock:
            return pause_remaining(self._until.get(partner), now_ts)


# --------------------------------------------------------------------------- breaker
def epoch(value: datetime) -> float:
    """Epoch seconds of a datetime (naive = UTC, as Odoo stores them)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


def from_epoch(value: float | None) -> datetime | None:
    """Naive UTC datetime of epoch seconds (None stays None)."""
    if value is None:
        return None
    return datetime.fromtimestamp(value, tz=timezone.utc).replace(tzinfo=None)


def breaker_admit(
    cfg: brk.BreakerConfig, state: Mapping | None, now_ts: float
) -> tuple[bool, bool, dict]:
    """May a call to the partner start now? Returns ``(allowed, probe, state_to_store)``;
    ``probe`` is True when this call is the single half-open probe."""
    st = brk.from_dict(dict(state or {}))
    allowed, new = brk.allow(cfg, st, now_ts)
    probe = allowed and new.state == "half_open"
    return allowed, probe, brk.to_dict(new)


def breaker_report(
    cfg: brk.BreakerConfig, state: Mapping | None, signal: str | None, now_ts: float
) -> dict:
    """The breaker state after an outcome's signal (see :func:`breaker_signal`). A neutral
    outcome of the half-open probe frees the probe slot so the next call probes again."""
    st = brk.from_dict(dict(state or {}))
    if signal == "success":
        st = brk.on_success(cfg, st, now_ts)
    elif signal == "failure":
        st = brk.on_failure(cfg, st, now_ts)
    elif st.state == "half_open":
        st = replace(st, probe_started_at=None)
    return brk.to_dict(st)


def breaker_reopens_in(cfg: brk.BreakerConfig, state: Mapping | None, now_ts: float) -> float:
    """Seconds until a call may go out again (0 when it may now)."""
    st = brk.from_dict(dict(state or {}))
    if st.state == "open" and st.opened_at is not None:
        return max(0.0, st.opened_at + cfg.cooldown_seconds - now_ts)
    if st.state == "half_open" and st.probe_started_at is not None:
        return max(0.0, st.probe_started_at + cfg.cooldown_seconds - now_ts)
    return 0.0


# --------------------------------------------------------------------------- claiming
def free_slots(channel: str, max_concurrency: int, busy: int, high_ready: bool) -> int:
    """How many more calls to the partner may start now?

    A partner's concurrency is the number of its calls in flight at once, across all
    workers (a worker may have several in flight). ``low`` work never takes the last
    free slot while ``high`` jobs of that partner are ready, so reporting and
    enrichment can never starve operational calls, even with a concurrency of 1.
    """
    free = max(0, max_concurrency - max(0, busy))
    if channel == "low" and high_ready:
        free = max(0, free - 1)
    return free


def rate_allowance(
    rate_per_minute: float, recent_calls: Iterable[float], in_flight: int, now_ts: float
) -> tuple[int, float]:
    """``(calls that may start now, seconds until the next one may)`` under a per-minute
    limit. ``recent_calls`` are epoch seconds of calls made; ``in_flight`` claimed calls
    not made yet count as made now. ``rate_per_minute <= 0`` means no limit."""
    if rate_per_minute <= 0:
        return 1_000_000, 0.0
    if rate_per_minute >= 1:
        limit, window = int(math.floor(rate_per_minute)), 60.0
    else:
        limit, window = 1, 60.0 / rate_per_minute
    calls = [t for t in recent_calls if t > now_ts - window] + [now_ts] * max(0, in_flight)
    allowance = max(0, limit - len(calls))
    if allowance:
        return allowance, 0.0
    return 0, max(next_slot(rate_per_minute, calls, now_ts), 0.001)


@dataclass(frozen=True)
class ClaimPlan:
    """How many ready jobs of a partner to claim now, and why not more."""

    limit: int
    probe: bool
    breaker: dict
    wait: float | None
    reason: str  # "ok" | "paused" | "concurrency" | "rate_limit" | "breaker_open"


def plan_claim(
    policy: OutboundPolicy,
    breaker_state: Mapping | None,
    *,
    channel: str,
    want: int,
    busy: int,
    high_ready: bool,
    recent_calls: Sequence[float],
    now_ts: float,
    paused_until: float | None = None,
) -> ClaimPlan:
    """The partner-wide pause first (nothing goes out before it ends), then
    concurrency (``busy``: the partner's calls in flight, all workers), then the rate
    limit (calls in flight count as made now), then the breaker (asked last so that a
    half-open probe is only started when a call can really go out). While paused or
    open nothing is claimed: the jobs wait without burning attempts."""
    state = dict(breaker_state or {})
    if want <= 0:
        return ClaimPlan(0, False, state, None, "ok")
    paused = pause_remaining(paused_until, now_ts)
    if paused > 0:
        return ClaimPlan(0, False, state, paused, "paused")
    free = free_slots(channel, policy.max_concurrency, busy, high_ready)
    if free <= 0:
        return ClaimPlan(0, False, state, None, "concurrency")
    allowance, wait = rate_allowance(policy.rate_limit_per_minute, recent_calls, busy, now_ts)
    if allowance <= 0:
        return ClaimPlan(0, False, state, wait, "rate_limit")
    allowed, probe, new_state = breaker_admit(policy.breaker, state, now_ts)
    if not allowed:
        return ClaimPlan(
            0, False, new_state, breaker_reopens_in(policy.breaker, state, now_ts),
            "breaker_open",
        )
    return ClaimPlan(1 if probe else min(want, free, allowance), probe, new_state, None, "ok")


def next_wake(now_ts: float, candidates: Iterable[float | None]) -> float | None:
    """The earliest of ``candidates`` (epoch seconds: a retry due, a pause ending, a
    breaker turning half-open, a rate-limit slot, a lease running out) that is still
    to come, or None. Past or current moments are "now": the work is due already."""
    times = [float(c) for c in candidates if c is not None and not math.isnan(float(c))]
    if not times:
        return None
    return max(now_ts, min(times))


def blocks(earlier_state: str, earlier_attempts: int, blocking: bool) -> bool:
    """Does an earlier job of the same sequence key hold back a later one?

    Blocking partners (the default) run a key strictly in enqueue order: any earlier job
    still pending (retrying included), running or dead holds back the later ones until
    it is done or cancelled. Non-blocking partners keep enqueue order for fresh jobs but
    let a job that failed (retrying or dead) step aside. A running job of the key always
    holds back the others: one call per key at a time.
    """
    if earlier_state == "running":
        return True
    if blocking:
        return earlier_state in BLOCKING_STATES
    return earlier_state == "pending" and earlier_attempts == 0


# --------------------------------------------------------------------------- keys
def stable_id(*parts: Any, prefix: str = "") -> str:
    """A short deterministic id (sha256 of the parts, 32 hex digits)."""
    text = "\x1f".join("" if p is None else str(p) for p in parts)
    return prefix + hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def default_sequence_key(picking_id: int | None, partner_id: int) -> str | None:
    """Jobs of one picking for one partner run in enqueue order; no picking, no order."""
    if not picking_id:
        return None
    return f"picking:{int(picking_id)}/partner:{int(partner_id)}"


def purge_before(now: datetime, retention_days: int) -> datetime:
    return now - timedelta(days=max(1, int(retention_days)))


# --------------------------------------------------------------------------- requests
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


def wants(milestone_codes: Iterable[str] | None, milestone: str) -> bool:
    """Does a subscription filtering on ``milestone_codes`` (empty: all) want it?"""
    codes = set(milestone_codes or ())
    return not codes or milestone in codes


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def milestone_event(
    *,
    event_id: str,
    created_at: datetime,
    shipment: Mapping[str, Any],
    previous_milestone: str | None,
    milestone: str,
    milestone_at: datetime | None,
    exception_state: str = "none",
    exception_reason: str | None = None,
    source: str = "",
) -> dict:
    """The body of a ``shipment.milestone_changed`` event (JSON-serializable).

    ``shipment`` holds the references a subscriber matches on (``reference``,
    ``correlation_id``, ``tracking_numbers``, ``carrier``, ``origin``...).
    """
    return {
        "id": event_id,
        "type": EVENT_MILESTONE_CHANGED,
        "schema_version": "1",
        "created_at": _iso(created_at),
        "data": {
            "shipment": {k: v for k, v in dict(shipment).items() if v not in (None, "")},
            "milestone": milestone,
            "previous_milestone": previous_milestone,
            "milestone_at": _iso(milestone_at),
            "exception_state": exception_state,
            "exception_reason": exception_reason,
            "source": source or "odoo",
        },
    }


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
