"""Rate limiting: a storable token bucket, a process-local registry, an outbound pacer.

* :class:`TokenBucket` is pure (the caller passes ``now``) and its state is two floats,
  so it can live in database columns.
* :class:`BucketRegistry` keeps buckets in memory for per-partner inbound limits of one
  process (each Odoo worker enforces its own share; good enough to shed floods).
* :func:`next_slot` paces outbound calls from the timestamps of the last calls, which the
  outbox already stores, so it needs no state of its own.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass
class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up; starts full.

    ``take`` mutates ``tokens`` / ``updated``. A bucket with ``rate <= 0`` never refills;
    asking for more than ``burst`` tokens can never succeed (``retry_after`` is ``inf``).
    """

    rate: float
    burst: float
    tokens: float | None = None
    updated: float | None = None

    def _refill(self, now: float) -> float:
        if self.tokens is None or self.updated is None:
            self.tokens, self.updated = float(self.burst), now
            return self.tokens
        elapsed = now - self.updated
        if elapsed > 0:  # a clock going backwards neither refills nor drains
            self.tokens = min(float(self.burst), self.tokens + elapsed * max(self.rate, 0.0))
            self.updated = now
        self.tokens = min(self.tokens, float(self.burst))
        return self.tokens

    def take(self, now: float, n: float = 1.0) -> tuple[bool, float]:
        """Take ``n`` tokens. Returns (allowed, seconds until ``n`` tokens are available)."""
        tokens = self._refill(now)
        if tokens >= n:
            self.tokens = tokens - n
            return True, 0.0
        if n > self.burst or self.rate <= 0:
            return False, math.inf
        return False, (n - tokens) / self.rate


class BucketRegistry:
    """Thread-safe map ``key -> TokenBucket`` for one process.

    A key's bucket is replaced (full again) when the rate or burst configured for it
    changes. ``now`` defaults to :func:`time.monotonic`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, TokenBucket] = {}

    def take(
        self, key: str, rate: float, burst: float, now: float | None = None
    ) -> tuple[bool, float]:
        if now is None:
            now = time.monotonic()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None or bucket.rate != rate or bucket.burst != burst:
                bucket = self._buckets[key] = TokenBucket(rate=rate, burst=burst)
            return bucket.take(now)

    def reset(self, key: str | None = None) -> None:
        """Forget one key's bucket, or all of them."""
        with self._lock:
            if key is None:
                self._buckets.clear()
            else:
                self._buckets.pop(key, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._buckets)


def next_slot(rate_per_minute: float, last_calls: Sequence[float], now: float) -> float:
    """Seconds to wait before the next call so that at most ``rate_per_minute`` calls happen
    in any 60 s window (0 when a call may go now).

    ``last_calls`` are epoch seconds of calls already made (or reserved; future times count
    too), in any order. A fractional rate allows ``floor(rate)`` calls per minute; a rate
    below 1 allows one call per ``60 / rate`` seconds. ``rate_per_minute <= 0`` = no limit.
    """
    if rate_per_minute <= 0:
        return 0.0
    if rate_per_minute >= 1:
        limit, window = int(math.floor(rate_per_minute)), 60.0
    else:
        limit, window = 1, 60.0 / rate_per_minute
    recent = sorted(t for t in last_calls if t > now - window)
    if len(recent) < limit:
        return 0.0
    # The call that must leave the window first is the limit-th most recent one.
    return max(0.0, recent[-limit] + window - now)
