"""Adaptive tracking polls for carriers without webhooks (pure policy, no I/O).

* Only non-terminal shipments are polled; a terminal milestone (or a carrier saying
  ``finalized``) stops the polls for good.
* Adaptive interval: a poll that brought news resets the interval to ``min_interval``;
  a quiet poll multiplies it by ``backoff`` up to ``max_interval``. Shipments close to
  delivery (out for delivery, attempted, at a pickup point) never wait more than
  ``hot_interval``.
* Due shipments are read in batches of ``batch_size`` tracking numbers per request
  (one pooled session per run), oldest due first, within the partner's rate limit
  (requests per minute, counted over the last 60 s, across runs).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .milestones import TERMINAL

HOT_MILESTONES = frozenset({"out_for_delivery", "delivery_attempted", "available_for_pickup"})
RATE_WINDOW = 60.0


@dataclass(frozen=True)
class PollPolicy:
    min_interval: float = 900.0
    max_interval: float = 6 * 3600.0
    hot_interval: float = 1800.0
    backoff: float = 2.0
    batch_size: int = 100
    rate_limit_per_minute: int = 0
    max_shipments: int = 10_000

    def __post_init__(self) -> None:
        if self.min_interval <= 0 or self.max_interval < self.min_interval:
            raise ValueError("intervals: 0 < min_interval <= max_interval")
        if self.backoff < 1:
            raise ValueError("backoff must be >= 1")
        if self.batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        if self.rate_limit_per_minute < 0:
            raise ValueError("rate_limit_per_minute must be >= 0")


@dataclass(frozen=True)
class Shipment:
    """One tracked shipment as the poller sees it (plain values)."""

    key: int
    tracking_numbers: tuple[str, ...]
    milestone: str
    next_poll_at: datetime | None = None
    interval: float = 0.0


@dataclass(frozen=True)
class PollPlan:
    batches: tuple[tuple[str, ...], ...]
    shipments: tuple[Shipment, ...]
    deferred: tuple[Shipment, ...] = ()
    wait: float | None = None
    by_tracking: dict = field(default_factory=dict)

    @property
    def request_count(self) -> int:
        return len(self.batches)


def is_pollable(milestone: str | None) -> bool:
    return bool(milestone) and milestone not in TERMINAL


def next_interval(
    policy: PollPolicy, current: float, had_news: bool, milestone: str
) -> float | None:
    """Seconds until the next poll of a shipment, or None: never again (terminal)."""
    if not is_pollable(milestone):
        return None
    if had_news or current <= 0:
        interval = policy.min_interval
    else:
        interval = min(policy.max_interval, max(policy.min_interval, current * policy.backoff))
    if milestone in HOT_MILESTONES:
        interval = min(interval, max(policy.hot_interval, policy.min_interval))
    return interval


def next_poll_at(policy: PollPolicy, now: datetime, current: float, had_news: bool,
                 milestone: str) -> tuple[datetime | None, float]:
    interval = next_interval(policy, current, had_news, milestone)
    if interval is None:
        return None, 0.0
    return now + timedelta(seconds=interval), interval


def request_budget(
    policy: PollPolicy, recent: Iterable[float], now_ts: float
) -> tuple[int, float | None]:
    """How many requests may be sent now under the rate limit, and, when none, how long
    until one may (seconds). ``recent``: epoch seconds of the requests already sent."""
    if policy.rate_limit_per_minute <= 0:
        return policy.max_shipments, None
    window = [t for t in recent if now_ts - t < RATE_WINDOW]
    left = policy.rate_limit_per_minute - len(window)
    if left > 0:
        return left, None
    return 0, max(0.0, RATE_WINDOW - (now_ts - min(window)))


def due(shipments: Iterable[Shipment], now: datetime) -> list[Shipment]:
    """Pollable shipments whose next poll is due, oldest due first (never polled first)."""
    ready = [s for s in shipments if is_pollable(s.milestone) and s.tracking_numbers
             and (s.next_poll_at is None or s.next_poll_at <= now)]
    return sorted(ready, key=lambda s: (s.next_poll_at is not None, s.next_poll_at or now, s.key))


def batches(codes: Sequence[str], size: int) -> list[tuple[str, ...]]:
    return [tuple(codes[i:i + size]) for i in range(0, len(codes), size)]


def plan(policy: PollPolicy, shipments: Iterable[Shipment], now: datetime,
         recent: Iterable[float] = (), now_ts: float | None = None) -> PollPlan:
    """The requests of one run: due shipments in batches, within the rate limit; the
    ones that do not fit are ``deferred`` (``wait``: seconds until the limit frees)."""
    ready = due(shipments, now)[: policy.max_shipments]
    budget, wait = request_budget(policy, recent, now_ts if now_ts is not None
                                  else now.timestamp())
    taken: list[Shipment] = []
    codes: list[str] = []
    by_tracking: dict[str, int] = {}
    deferred: list[Shipment] = []
    capacity = budget * policy.batch_size
    for shipment in ready:
        fresh = [c for c in shipment.tracking_numbers if c not in by_tracking]
        if len(codes) + len(fresh) > capacity:
            deferred.append(shipment)
            continue
        taken.append(shipment)
        for code in fresh:
            by_tracking[code] = shipment.key
            codes.append(code)
    if deferred and wait is None and policy.rate_limit_per_minute > 0:
        wait = RATE_WINDOW
    return PollPlan(batches=tuple(batches(codes, policy.batch_size)), shipments=tuple(taken),
                    deferred=tuple(deferred), wait=wait, by_tracking=by_tracking)
