"""Delivery date prediction from lane history, pure.

A *lane* is where a shipment goes and with whom: carrier, service, origin
country and region, destination country and postcode prefix. Each lane keeps
the distribution of its past transit times (hand-over -> delivered, in hours);
an in-transit shipment's delivery is predicted from its lane's median (p50)
with the 90th percentile (p90) as the "almost surely by" date.

Lanes are looked up from the most specific level down (``LEVELS``): the full
lane, then carrier + service + destination country, then carrier + service,
then the carrier alone; the first level with at least ``min_samples``
transits answers. Every delivered shipment is folded into its lane at every
level, so the coarse levels are always the sum of the fine ones.

Statistics: ``TransitStats`` is a fixed-bucket histogram (1 hour wide, up to
``MAX_HOURS``) plus an exact count, sum and maximum. Chosen over a bounded
reservoir because it is

* incremental and exact to merge: folding a delivery adds one count, two
  histograms add bucket by bucket (a lane's coarse level is the merge of its
  fine ones, a cron run can fold any batch in any order with the same result);
* deterministic: no sampling, the same history always gives the same figures
  (a reservoir would make the backtest and the tests depend on a seed);
* bounded and small: at most ``MAX_HOURS`` buckets, stored sparse (a lane
  with transits of 1..5 days stores at most ~100 numbers), while a reservoir
  of useful size keeps hundreds of raw values per lane;
* accurate to the bucket: a quantile is computed like PostgreSQL's
  ``percentile_cont`` (linear interpolation between the two closest ranks),
  each rank's value being estimated inside the bucket that holds it, so the
  result is within one bucket width (one hour) of the exact percentile for
  every transit shorter than ``MAX_HOURS`` -- tested with hypothesis. Transits
  beyond ``MAX_HOURS`` share one overflow bucket spread up to the maximum seen.

Naive UTC datetimes in, naive UTC datetimes out (as Odoo stores them); aware
ones work too as long as they are not mixed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shipsync import histogram

#: Width of a histogram bucket, in hours.
BUCKET_HOURS = 1.0
#: Transits longer than this (60 days) share the overflow bucket.
MAX_HOURS = 1440.0
_OVERFLOW = int(MAX_HOURS / BUCKET_HOURS)
#: Default postcode prefix length of the full lane (e.g. "75" of "75011").
DEFAULT_PREFIX_LENGTH = 2
#: Default minimum of transits a lane level needs to answer.
DEFAULT_MIN_SAMPLES = 5
#: Expected remaining time of a shipment already later than every transit of
#: its lane: one more day (it is overdue; the history says nothing more).
OVERDUE_REMAINING_HOURS = 24.0

#: Lane levels, from the most specific to the coarsest.
LEVELS: tuple[str, ...] = ("lane", "dest_country", "service", "carrier")
LEVEL_SELECTION = [
    ("lane", "Full lane"),
    ("dest_country", "Carrier, service, destination country"),
    ("service", "Carrier and service"),
    ("carrier", "Carrier"),
]


# ----------------------------------------------------------------------
# lane keys
# ----------------------------------------------------------------------


def postcode_prefix(postcode: str | None, length: int = DEFAULT_PREFIX_LENGTH) -> str:
    """The first ``length`` characters of a postcode, upper case, without
    spaces or dashes ("sw1a 1aa" -> "SW"); '' for no postcode."""
    if length < 0:
        raise ValueError("the postcode prefix length must be zero or more")
    clean = "".join(ch for ch in (postcode or "").upper() if ch.isalnum())
    return clean[:length]


@dataclass(frozen=True, order=True)
class LaneKey:
    """One lane at one level; the parts a level does not use are ''."""

    level: str
    carrier: str = ""
    service: str = ""
    origin_country: str = ""
    origin_region: str = ""
    dest_country: str = ""
    dest_prefix: str = ""

    def __post_init__(self):
        if self.level not in LEVELS:
            raise ValueError(f"unknown lane level {self.level!r}")

    @property
    def code(self) -> str:
        """A stable text key (what the database makes unique)."""
        return "|".join((self.level, self.carrier, self.service, self.origin_country,
                         self.origin_region, self.dest_country, self.dest_prefix))

    @classmethod
    def from_code(cls, code: str) -> LaneKey:
        parts = code.split("|")
        if len(parts) != 7:
            raise ValueError(f"not a lane key: {code!r}")
        return cls(*parts)


def lane_keys(carrier: object, service: str | None = None, origin_country: str | None = None,
              origin_region: str | None = None, dest_country: str | None = None,
              dest_postcode: str | None = None,
              prefix_length: int = DEFAULT_PREFIX_LENGTH) -> list[LaneKey]:
    """The keys of a shipment's lane at every level, most specific first.
    ``carrier`` is any identifier (an id, a code); empty values are ''."""
    c = "" if carrier in (None, False) else str(carrier)
    s = service or ""
    dc = (dest_country or "").upper()
    return [
        LaneKey("lane", c, s, (origin_country or "").upper(), (origin_region or "").upper(),
                dc, postcode_prefix(dest_postcode, prefix_length)),
        LaneKey("dest_country", c, s, dest_country=dc),
        LaneKey("service", c, s),
        LaneKey("carrier", c),
    ]


# ----------------------------------------------------------------------
# transit statistics
# ----------------------------------------------------------------------


@dataclass
class TransitStats:
    """Transit times of one lane: a mergeable fixed-bucket histogram of
    hours (see the module docstring) with exact count, sum and maximum."""

    buckets: dict[int, int] = field(default_factory=dict)
    count: int = 0
    total_hours: float = 0.0
    max_hours: float = 0.0

    # -- building ------------------------------------------------------
    def add(self, hours: float) -> TransitStats:
        """Fold one transit (hours, negative ones count as 0)."""
        hours = max(float(hours), 0.0)
        if math.isnan(hours) or math.isinf(hours):
            raise ValueError("a transit time must be a finite number of hours")
        index = min(int(hours // BUCKET_HOURS), _OVERFLOW)
        self.buckets[index] = self.buckets.get(index, 0) + 1
        self.count += 1
        self.total_hours += hours
        self.max_hours = max(self.max_hours, hours)
        return self

    def merge(self, other: TransitStats) -> TransitStats:
        """Add ``other``'s transits to these (in place); returns self."""
        for index, n in other.buckets.items():
            self.buckets[index] = self.buckets.get(index, 0) + n
        self.count += other.count
        self.total_hours += other.total_hours
        self.max_hours = max(self.max_hours, other.max_hours)
        return self

    @classmethod
    def of(cls, hours: Iterable[float]) -> TransitStats:
        stats = cls()
        for h in hours:
            stats.add(h)
        return stats

    # -- storage -------------------------------------------------------
    def to_json(self) -> str:
        return json.dumps({"b": {str(k): v for k, v in sorted(self.buckets.items())},
                           "n": self.count, "sum": self.total_hours,
                           "max": self.max_hours, "w": BUCKET_HOURS},
                          separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | None) -> TransitStats:
        """Read what ``to_json`` wrote; '' / None is an empty histogram. A
        histogram of another bucket width, or inconsistent counts, is refused."""
        if not text:
            return cls()
        try:
            data = json.loads(text)
            if float(data.get("w", BUCKET_HOURS)) != BUCKET_HOURS:
                raise ValueError("the histogram has another bucket width")
            buckets = {int(k): int(v) for k, v in data.get("b", {}).items()}
            stats = cls(buckets=buckets, count=int(data.get("n", 0)),
                        total_hours=float(data.get("sum", 0.0)),
                        max_hours=float(data.get("max", 0.0)))
        except (TypeError, AttributeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not a transit histogram: {exc}") from None
        if any(n < 0 or k < 0 or k > _OVERFLOW for k, n in stats.buckets.items()) or \
                sum(stats.buckets.values()) != stats.count:
            raise ValueError("not a transit histogram: inconsistent bucket counts")
        return stats

    # -- figures -------------------------------------------------------
    @property
    def mean(self) -> float | None:
        return self.total_hours / self.count if self.count else None

    def _bucket_range(self, index: int) -> tuple[float, float]:
        lo = index * BUCKET_HOURS
        if index >= _OVERFLOW:
            return lo, max(self.max_hours, lo)
        # The last bucket never reaches beyond the largest transit seen.
        return lo, min(lo + BUCKET_HOURS, max(self.max_hours, lo))

    def quantile(self, q: float) -> float | None:
        """The ``q`` quantile in hours (``percentile_cont`` interpolation, see
        ``shipsync.histogram``; the largest transit is known exactly), None
        for an empty histogram."""
        return histogram.quantile(sorted(self.buckets.items()), q, self._bucket_range,
                                  largest=self.max_hours)

    @property
    def p50(self) -> float | None:
        return self.quantile(0.5)

    @property
    def p90(self) -> float | None:
        return self.quantile(0.9)

    def share_at_or_below(self, hours: float) -> float:
        """Estimated fraction of transits of at most ``hours`` (uniform within
        a bucket); 0.0 for an empty histogram."""
        if not self.count:
            return 0.0
        below = 0.0
        for index, n in self.buckets.items():
            lo, hi = self._bucket_range(index)
            if hours >= hi:
                below += n
            elif hours > lo:
                below += n * (hours - lo) / (hi - lo)
        return min(below / self.count, 1.0)

    def conditional_quantile(self, q: float, beyond: float) -> float | None:
        """The ``q`` quantile of the transits longer than ``beyond`` hours
        (the quantile at F(beyond) + (1 - F(beyond)) * q); None when no
        transit of the history is longer."""
        if not self.count:
            return None
        f = self.share_at_or_below(beyond)
        if f >= 1.0 or beyond >= self.max_hours:
            return None
        return max(self.quantile(min(f + (1.0 - f) * q, 1.0)), beyond)


# ----------------------------------------------------------------------
# lanes: folding and lookup
# ----------------------------------------------------------------------

Lanes = MutableMapping[LaneKey, TransitStats]


def fold(lanes: Lanes, keys: Sequence[LaneKey], hours: float) -> None:
    """Fold one transit into the lane at every level of ``keys``."""
    for key in keys:
        lanes.setdefault(key, TransitStats()).add(hours)


def select(lanes: Mapping[LaneKey, TransitStats], keys: Sequence[LaneKey],
           min_samples: int = DEFAULT_MIN_SAMPLES) -> tuple[LaneKey | None, TransitStats | None]:
    """The most specific level of ``keys`` with at least ``min_samples``
    transits, and its statistics; (None, None) when no level has enough."""
    for key in keys:
        stats = lanes.get(key)
        if stats is not None and stats.count >= max(min_samples, 1):
            return key, stats
    return None, None


# ----------------------------------------------------------------------
# prediction
# ----------------------------------------------------------------------


@dataclass(frozen=True)
class Prediction:
    """The delivery estimate of one in-transit shipment at ``now``.

    ``predicted_at`` is hand-over + p50 while the shipment is younger than its
    lane's median; once older, the median is behind it and the remaining time
    is the conditional median of the transits longer than the elapsed time
    (the lane's history says how much longer such late ones took), or
    ``OVERDUE_REMAINING_HOURS`` when it is later than every transit seen.
    ``p90_at`` follows the same rule with the 0.9 quantile.
    ``late_risk``: ``now + remaining`` (= ``predicted_at``) is after the
    promised date; ``late_hours`` by how much (negative: ahead of it)."""

    predicted_at: datetime
    p90_at: datetime
    p50_hours: float
    p90_hours: float
    elapsed_hours: float
    remaining_hours: float
    late_risk: bool
    late_hours: float | None


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600.0


def predict(stats: TransitStats, handed_over_at: datetime, now: datetime,
            promised: datetime | None = None) -> Prediction | None:
    """The prediction for a shipment handed over at ``handed_over_at`` on a
    lane with ``stats``; None for an empty lane."""
    p50, p90 = stats.p50, stats.p90
    if p50 is None or p90 is None:
        return None
    elapsed = max(_hours(now - handed_over_at), 0.0)
    if elapsed < p50:
        remaining = p50 - elapsed
    else:
        beyond = stats.conditional_quantile(0.5, elapsed)
        remaining = (beyond - elapsed) if beyond is not None else OVERDUE_REMAINING_HOURS
        remaining = max(remaining, 0.0)
    if elapsed < p90:
        p90_remaining = p90 - elapsed
    else:
        beyond = stats.conditional_quantile(0.9, elapsed)
        p90_remaining = (beyond - elapsed) if beyond is not None else OVERDUE_REMAINING_HOURS
    p90_remaining = max(p90_remaining, remaining)
    predicted_at = now + timedelta(hours=remaining)
    late_hours = _hours(predicted_at - promised) if promised else None
    return Prediction(
        predicted_at=predicted_at, p90_at=now + timedelta(hours=p90_remaining),
        p50_hours=p50, p90_hours=p90, elapsed_hours=elapsed, remaining_hours=remaining,
        late_risk=bool(promised) and predicted_at > promised, late_hours=late_hours)


# ----------------------------------------------------------------------
# backtest
# ----------------------------------------------------------------------


@dataclass(frozen=True)
class Shipment:
    """A delivered shipment of the history (plain values)."""

    carrier: object
    handed_over_at: datetime
    delivered_at: datetime
    service: str = ""
    origin_country: str = ""
    origin_region: str = ""
    dest_country: str = ""
    dest_postcode: str = ""

    @property
    def transit_hours(self) -> float:
        return max(_hours(self.delivered_at - self.handed_over_at), 0.0)

    def keys(self, prefix_length: int = DEFAULT_PREFIX_LENGTH) -> list[LaneKey]:
        return lane_keys(self.carrier, self.service, self.origin_country, self.origin_region,
                         self.dest_country, self.dest_postcode, prefix_length)


@dataclass(frozen=True)
class Score:
    """How one predictor did: over ``count`` predicted shipments (of
    ``total``), the mean absolute error in hours and the share delivered no
    later than the predictor's p90."""

    count: int
    total: int
    mae_hours: float | None
    within_p90: float | None

    @property
    def coverage(self) -> float | None:
        return self.count / self.total if self.total else None


@dataclass(frozen=True)
class BacktestResult:
    model: Score
    baseline: Score

    @property
    def mae_ratio(self) -> float | None:
        """Lane model MAE / baseline MAE (below 1: the lane model is better)."""
        if self.model.mae_hours is None or not self.baseline.mae_hours:
            return None
        return self.model.mae_hours / self.baseline.mae_hours


def _score(errors: list[float], hits: list[bool], total: int) -> Score:
    return Score(count=len(errors), total=total,
                 mae_hours=sum(errors) / len(errors) if errors else None,
                 within_p90=sum(hits) / len(hits) if hits else None)


def backtest(shipments: Iterable[Shipment], min_samples: int = DEFAULT_MIN_SAMPLES,
             prefix_length: int = DEFAULT_PREFIX_LENGTH) -> BacktestResult:
    """Replay the history: each shipment, in hand-over order, is predicted
    from the shipments *delivered before its hand-over* only (what was known
    then), with the lane model (p50 of the most specific level with
    ``min_samples``; hit when delivered within its p90) and with the naive
    baseline "the carrier's average transit time" (mean of the carrier's
    earlier transits; its p90 is the carrier's p90). The baseline answers
    only when the carrier has ``min_samples`` earlier transits -- exactly
    when the lane model answers (its coarsest level is the carrier) -- so
    both are scored on the same shipments."""
    items = list(shipments)
    by_handover = sorted(items, key=lambda s: s.handed_over_at)
    by_delivery = sorted(items, key=lambda s: s.delivered_at)
    lanes: dict[LaneKey, TransitStats] = {}
    folded = 0
    model_err: list[float] = []
    model_hit: list[bool] = []
    base_err: list[float] = []
    base_hit: list[bool] = []
    for ship in by_handover:
        while folded < len(by_delivery) and \
                by_delivery[folded].delivered_at < ship.handed_over_at:
            done = by_delivery[folded]
            fold(lanes, done.keys(prefix_length), done.transit_hours)
            folded += 1
        keys = ship.keys(prefix_length)
        actual = ship.transit_hours
        _key, stats = select(lanes, keys, min_samples)
        if stats is None:
            continue
        model_err.append(abs(actual - stats.p50))
        model_hit.append(actual <= stats.p90)
        carrier = lanes[keys[-1]]
        base_err.append(abs(actual - carrier.mean))
        base_hit.append(actual <= carrier.p90)
    return BacktestResult(model=_score(model_err, model_hit, len(items)),
                          baseline=_score(base_err, base_hit, len(items)))


# ----------------------------------------------------------------------
# synthetic history (backtest command, tests, demo)
# ----------------------------------------------------------------------

#: (carrier name, service, speed factor) of the synthetic history.
SYNTHETIC_CARRIERS: tuple[tuple[str, str, float], ...] = (
    ("Lane Express", "express", 0.6),
    ("Lane Parcel", "standard", 1.0),
    ("Lane Economy", "economy", 1.5),
)
#: (country, postcode, base transit hours) of the synthetic destinations:
#: the same country can be quick near the hub and slow far from it.
SYNTHETIC_DESTINATIONS: tuple[tuple[str, str, float], ...] = (
    ("NL", "1012AB", 18.0), ("NL", "9711CD", 30.0),
    ("BE", "1000", 30.0), ("DE", "10115", 44.0), ("DE", "80331", 60.0),
    ("FR", "75011", 40.0), ("FR", "13001", 70.0), ("ES", "28001", 80.0),
    ("IT", "00118", 96.0), ("US", "10001", 140.0),
)
SYNTHETIC_ORIGIN = ("NL", "NH")


def synthetic_history(count: int, seed: int = 7, start: datetime | None = None,
                      days: int = 180) -> list[Shipment]:
    """``count`` delivered shipments handed over over ``days`` days from
    ``start``, with lane-dependent transit times: the destination's base time
    times the carrier's speed factor, times a log-normal noise (sigma 0.2),
    plus a day when the delivery would fall on a Sunday (no Sunday rounds).
    Deterministic for a ``seed``."""
    import random

    rng = random.Random(seed)
    start = start or datetime(2026, 1, 5, 0, 0)
    out = []
    for _i in range(count):
        carrier, service, factor = rng.choice(SYNTHETIC_CARRIERS)
        country, postcode, base = rng.choice(SYNTHETIC_DESTINATIONS)
        handed = start + timedelta(minutes=rng.randrange(days * 24 * 60))
        hours = base * factor * rng.lognormvariate(0.0, 0.2)
        delivered = handed + timedelta(hours=hours)
        if delivered.weekday() == 6:
            delivered += timedelta(days=1)
        out.append(Shipment(carrier=carrier, service=service,
                            origin_country=SYNTHETIC_ORIGIN[0],
                            origin_region=SYNTHETIC_ORIGIN[1], dest_country=country,
                            dest_postcode=postcode, handed_over_at=handed.replace(microsecond=0),
                            delivered_at=delivered.replace(microsecond=0)))
    return out
