"""Outbox policy: a partner's outbound settings, the job states and what holds a job back.

* :class:`OutboundPolicy` - a partner's timeouts, concurrency, rate limit, retry policy,
  circuit breaker and ordering option (validated: timeouts are always set).
* :func:`blocks` - does an earlier job of a sequence key hold back a later one
  (:data:`BLOCKING_STATES`)?
* :func:`default_sequence_key`, :func:`purge_before` - keys and retention.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .. import breaker as brk
from ..ids import stable_id  # noqa: F401 - re-exported by shipsync.outbox
from ..retry import RetryPolicy

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
#: Error classes that count as a failure of the partner for its circuit breaker.
BREAKER_FAILURES = frozenset({"network", "timeout", "http_5xx", "invalid_response"})


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
def default_sequence_key(picking_id: int | None, partner_id: int) -> str | None:
    """Jobs of one picking for one partner run in enqueue order; no picking, no order."""
    if not picking_id:
        return None
    return f"picking:{int(picking_id)}/partner:{int(partner_id)}"


def purge_before(now: datetime, retention_days: int) -> datetime:
    return now - timedelta(days=max(1, int(retention_days)))
