"""Webhook silence: learn a partner's usual gap between pushes, tell when it went quiet.

Carriers push tracking updates by webhook; when their webhooks stop (an outage on their
side, a disabled endpoint, a rotated secret they never got), tracking silently freezes.
This module is the policy (pure, no I/O):

* **What is learned**: the gaps between consecutive pushed arrivals of a partner over the
  last ``window_hours`` (at most ``max_samples`` arrivals), arrivals closer than
  ``burst_seconds`` counted as one (a burst of retries or a batch is one arrival). The
  usual gap is their ``quantile`` (default p90, interpolated like PostgreSQL's
  ``percentile_cont``: ``shipsync.monitor.percentile``), never below
  ``floor_seconds``: a high percentile because quiet hours are usual too, a floor so that
  a partner pushing every few seconds is not called silent after a minute.
* **Learning**: fewer than ``min_samples`` gaps and nothing is judged.
* **Silent**: the partner has shipments in transit (it owes us updates) and nothing was
  pushed for more than ``factor`` x the usual gap.
* **Back to push**: a push arrived after the silence started (or nothing is in transit
  any more).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from .milestones import RANK, TERMINAL
from .monitor import percentile

#: Milestones of a shipment the carrier has (it owes us tracking updates).
IN_TRANSIT = frozenset(
    code for code, rank in RANK.items() if rank >= RANK["picked_up"] and code not in TERMINAL
)

STATES = ("learning", "push", "silent")


@dataclass(frozen=True)
class SilencePolicy:
    factor: float = 3.0
    quantile: float = 0.9
    min_samples: int = 20
    floor_seconds: float = 900.0
    burst_seconds: float = 5.0
    window_hours: float = 7 * 24.0
    max_samples: int = 500

    def __post_init__(self) -> None:
        if self.factor < 1:
            raise ValueError("the silence factor must be at least 1")
        if not 0 < self.quantile <= 1:
            raise ValueError("the quantile must be in ]0, 1]")
        if self.min_samples < 1:
            raise ValueError("at least one sample is needed")
        if self.floor_seconds <= 0:
            raise ValueError("the floor must be positive")
        if self.burst_seconds < 0:
            raise ValueError("the burst merge must be zero or more")
        if self.window_hours <= 0 or self.max_samples < 2:
            raise ValueError("the learning window needs a length and two arrivals")


def arrival_gaps(arrivals: Iterable[datetime], burst_seconds: float = 0.0) -> list[float]:
    """The gaps (seconds) between consecutive arrivals, in time order; arrivals within
    ``burst_seconds`` of the previous one are the same arrival."""
    times = sorted(arrivals)
    gaps: list[float] = []
    last = None
    for when in times:
        if last is not None:
            gap = (when - last).total_seconds()
            if gap <= burst_seconds:
                last = when
                continue
            gaps.append(gap)
        last = when
    return gaps


def usual_gap(gaps: Sequence[float], policy: SilencePolicy) -> float | None:
    """The learned usual gap (seconds), or None while fewer than ``min_samples`` gaps."""
    if len(gaps) < policy.min_samples:
        return None
    return max(policy.floor_seconds, percentile(gaps, policy.quantile))


@dataclass(frozen=True)
class Assessment:
    state: str  # one of STATES
    usual_gap: float | None
    samples: int
    threshold: float | None  # seconds of silence that make the partner silent
    quiet_for: float | None  # seconds since the last push (None: never pushed)

    @property
    def silent(self) -> bool:
        return self.state == "silent"


def assess(
    now: datetime,
    arrivals: Iterable[datetime],
    in_transit: int,
    policy: SilencePolicy,
    silent_since: datetime | None = None,
) -> Assessment:
    """Judge a partner at ``now`` from its recent pushed ``arrivals`` and the number of
    its shipments in transit; ``silent_since``: when the current silence started (None
    when it is not silent)."""
    times = sorted(arrivals)
    gaps = arrival_gaps(times, policy.burst_seconds)
    usual = usual_gap(gaps, policy)
    last = times[-1] if times else None
    quiet_for = (now - last).total_seconds() if last else None
    threshold = usual * policy.factor if usual is not None else None
    if silent_since is not None:
        # Silent until a push comes back (or nothing is owed any more).
        # (Arrival times are stored to the second: a push in the second the silence
        # was found counts as back; every earlier push is older than the threshold.)
        resumed = (last is not None and last >= silent_since) or in_transit <= 0
        return Assessment("push" if resumed else "silent", usual, len(gaps), threshold,
                          quiet_for)
    if usual is None:
        return Assessment("learning", None, len(gaps), None, quiet_for)
    silent = in_transit > 0 and quiet_for is not None and quiet_for > threshold
    return Assessment("silent" if silent else "push", usual, len(gaps), threshold, quiet_for)
