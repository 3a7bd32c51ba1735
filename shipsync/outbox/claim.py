"""Claiming: how many ready jobs of a partner a worker may claim now, and when to wake.

* :func:`plan_claim` - partner-wide pause, concurrency, ``low`` never starving ``high``,
  rate limit, breaker, single probe.
* :func:`partner_pause` - a 429/503 with ``Retry-After`` pauses the whole partner
  ("no call before T", stored on the partner so that every worker sees it).
* :class:`PauseGate` - the pauses a worker knows of, checked by each claimed call just
  before it is sent (a call claimed before a 429 came back for its partner is held).
* :func:`breaker_admit` / :func:`breaker_report` - :mod:`shipsync.breaker` over the
  stored dict, with epoch seconds.
* :func:`next_wake` - when a worker must run again (retry due, pause end, breaker
  half-open, rate-limit slot, a lease running out).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from .. import breaker as brk
from ..ratelimit import next_slot
from ..retry import MAX_RETRY_AFTER, RETRY_AFTER_STATUSES, parse_retry_after
from .outcomes import Outcome
from .policy import OutboundPolicy


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
