"""Monitoring policy of the suite, pure: percentiles, exception ages against
their SLA, alert rule evaluation (windows, comparisons, breach / clear
transitions) and the Prometheus text exposition format.

The Odoo addon ``shipment_sync_monitor`` turns records into plain values,
calls these functions and stores what they decide."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shipsync.histogram import quantile as histogram_quantile

# ----------------------------------------------------------------------
# percentiles
# ----------------------------------------------------------------------


def percentile(values: Iterable[float], q: float) -> float | None:
    """The ``q`` quantile (0..1) with linear interpolation between the closest
    ranks, like PostgreSQL's ``percentile_cont``; None for no values."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile must be within [0, 1], got {q!r}")
    data = sorted(float(v) for v in values)
    if not data:
        return None
    pos = (len(data) - 1) * q
    lo = math.floor(pos)
    hi = math.ceil(pos)
    if lo == hi:
        return data[lo]
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


#: Log-spaced delay buckets (seconds) of the dashboard's hourly rollups:
#: bucket 0 holds the delays below ``DELAY_BUCKET_FLOOR``, bucket ``i >= 1``
#: holds ``[FLOOR * GROWTH ** (i - 1), FLOOR * GROWTH ** i)`` (2 % wide).
DELAY_BUCKET_FLOOR = 0.01
DELAY_BUCKET_GROWTH = 1.02


def delay_bucket(seconds: float) -> int:
    """The histogram bucket of a delay (see ``DELAY_BUCKET_FLOOR``); the SQL
    twin is ``delay_bucket_sql``."""
    if seconds < DELAY_BUCKET_FLOOR:
        return 0
    return 1 + math.floor(math.log(seconds / DELAY_BUCKET_FLOOR) / math.log(DELAY_BUCKET_GROWTH))


def delay_bucket_sql(expression: str) -> str:
    """``delay_bucket`` as a PostgreSQL expression of ``expression`` (a delay in
    seconds): the one place the rollups and the live rows are bucketed."""
    return (f"(CASE WHEN ({expression}) < {DELAY_BUCKET_FLOOR!r} THEN 0 ELSE 1 + floor("
            f"ln(({expression}) / {DELAY_BUCKET_FLOOR!r}) / ln({DELAY_BUCKET_GROWTH!r}))::int END)")


def delay_bucket_bounds(index: int) -> tuple[float, float]:
    """``[low, high)`` of a delay bucket, in seconds."""
    if index <= 0:
        return 0.0, DELAY_BUCKET_FLOOR
    return (DELAY_BUCKET_FLOOR * DELAY_BUCKET_GROWTH ** (index - 1),
            DELAY_BUCKET_FLOOR * DELAY_BUCKET_GROWTH ** index)


def merge_histograms(*histograms: Mapping) -> dict[int, int]:
    """Sum histograms ``{bucket: count}`` (keys may be strings, as in JSON)."""
    merged: dict[int, int] = {}
    for hist in histograms:
        for key, count in (hist or {}).items():
            if count:
                merged[int(key)] = merged.get(int(key), 0) + int(count)
    return merged


def percentile_from_histogram(histogram: Mapping, q: float) -> float | None:
    """The ``q`` quantile (0..1) of the delays counted in ``histogram``
    (``{bucket: count}``, keys may be strings as in JSON), ``percentile_cont``-like
    (``shipsync.histogram.quantile``). Within one bucket width (2 %) of the exact
    figure; None for an empty histogram."""
    buckets = sorted((int(k), int(n)) for k, n in (histogram or {}).items() if int(n) > 0)
    return histogram_quantile(buckets, q, delay_bucket_bounds)


def rate(part: int, total: int) -> float | None:
    """``part / total`` as a fraction, None when there is nothing to divide."""
    if total <= 0:
        return None
    return part / total


# ----------------------------------------------------------------------
# exception age against the SLA
# ----------------------------------------------------------------------

#: Hours within which an open exception of each reason should be handled.
REASON_SLA_HOURS: dict[str, float] = {
    "address_issue": 24, "recipient_unavailable": 48, "refused": 24, "customs_hold": 48,
    "documents_missing": 24, "payment_due": 24, "damaged": 24, "lost": 48,
    "delay_weather": 72, "delay_carrier": 48, "held_contact_carrier": 24,
    "not_collected": 72, "rejected_by_carrier": 8, "disposed": 48, "label_failed": 2,
    "booking_rejected": 4, "wms_mismatch": 8, "freight_variance": 48, "cod_variance": 48,
    "sync_failed": 2, "sla_breach": 4, "other": 24,
}
DEFAULT_SLA_HOURS = 24.0
#: Fraction of the SLA after which an exception is shown as "due soon".
WARNING_FRACTION = 0.75

AGE_BUCKETS: tuple[tuple[str, str, float], ...] = (
    ("lt_1h", "< 1 hour", 1),
    ("1h_4h", "1-4 hours", 4),
    ("4h_24h", "4-24 hours", 24),
    ("1d_3d", "1-3 days", 72),
    ("gt_3d", "> 3 days", math.inf),
)
AGE_BUCKET_SELECTION = [(code, label) for code, label, _limit in AGE_BUCKETS]
SLA_STATUS_SELECTION = [("ok", "Within SLA"), ("warning", "Due soon"), ("late", "Late")]


def sla_hours(reason: str | None, overrides: Mapping[str, float] | None = None) -> float:
    if overrides and reason in overrides:
        return float(overrides[reason])
    return float(REASON_SLA_HOURS.get(reason or "", DEFAULT_SLA_HOURS))


def age_hours(opened_at: datetime, now: datetime) -> float:
    return max((now - opened_at).total_seconds(), 0.0) / 3600.0


def age_bucket(opened_at: datetime, now: datetime) -> str:
    hours = age_hours(opened_at, now)
    for code, _label, limit in AGE_BUCKETS:
        if hours < limit:
            return code
    return AGE_BUCKETS[-1][0]


def sla_status(opened_at: datetime, reason: str | None, now: datetime,
               overrides: Mapping[str, float] | None = None) -> str:
    """``ok``, ``warning`` (past WARNING_FRACTION of the SLA) or ``late``."""
    limit = sla_hours(reason, overrides)
    hours = age_hours(opened_at, now)
    if hours >= limit:
        return "late"
    if hours >= limit * WARNING_FRACTION:
        return "warning"
    return "ok"


def sla_deadline(opened_at: datetime, reason: str | None,
                 overrides: Mapping[str, float] | None = None) -> datetime:
    return opened_at + timedelta(hours=sla_hours(reason, overrides))


# ----------------------------------------------------------------------
# alert rules
# ----------------------------------------------------------------------

#: Kinds of rule. ``scope`` says what a breach is about: one picking, or one
#: partner (or the whole suite when the rule names no partner).
RULE_KINDS: dict[str, dict] = {
    "milestone_age": {"scope": "picking", "label": "Shipment stuck at a milestone",
                      "unit": "minutes"},
    "queue_depth": {"scope": "partner", "label": "Outbox queue depth", "unit": "jobs"},
    "failure_rate": {"scope": "partner", "label": "Outbound failure rate", "unit": "%"},
    "webhook_delay_p95": {"scope": "partner", "label": "Webhook delay p95 (received -> applied)",
                          "unit": "seconds"},
    # Partners whose webhooks went silent (shipsync.silence): minutes since.
    "webhook_silence": {"scope": "partner", "label": "Partner webhooks silent",
                        "unit": "minutes silent"},
    # Shipments whose predicted delivery (lane history, shipsync.eta) is
    # after the promised date by more than the threshold.
    "late_risk": {"scope": "picking", "label": "Shipment predicted to arrive late",
                  "unit": "hours late"},
    # Delivered longer than the threshold ago with no proof of delivery, for the partners
    # that have sent one (a carrier that never gives proof never breaches).
    "delivered_without_pod": {"scope": "picking", "label": "Delivered without proof of delivery",
                              "unit": "minutes"},
}
RULE_KIND_SELECTION = [(code, spec["label"]) for code, spec in RULE_KINDS.items()]
OPERATORS = {">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
             "<": lambda a, b: a < b, "<=": lambda a, b: a <= b}
OPERATOR_SELECTION = [(op, op) for op in OPERATORS]


@dataclass(frozen=True)
class Rule:
    """Plain values of one alert rule."""

    kind: str
    threshold: float
    operator: str = ">"
    window_minutes: int = 15
    milestone: str | None = None
    min_samples: int = 1

    def __post_init__(self):
        if self.kind not in RULE_KINDS:
            raise ValueError(f"unknown rule kind {self.kind!r}")
        if self.operator not in OPERATORS:
            raise ValueError(f"unknown operator {self.operator!r}")
        if self.threshold is None or self.threshold < 0:
            raise ValueError("the threshold must be zero or more")
        if self.window_minutes <= 0:
            raise ValueError("the window must be at least one minute")
        if self.kind == "milestone_age" and not self.milestone:
            raise ValueError("a milestone age rule needs a milestone")
        if self.kind == "late_risk" and self.operator not in (">", ">="):
            raise ValueError("a late risk rule compares the expected delay with > or >=")

    @property
    def scope(self) -> str:
        return RULE_KINDS[self.kind]["scope"]

    def window_start(self, now: datetime) -> datetime:
        return now - timedelta(minutes=self.window_minutes)

    def age_cutoff(self, now: datetime) -> datetime:
        """Milestone age rules: a shipment at the milestone since before this breaches."""
        return now - timedelta(minutes=self.threshold)

    def breached(self, value: float | None) -> bool:
        if value is None:
            return False
        return OPERATORS[self.operator](value, self.threshold)


def failure_rate_percent(outcomes: Sequence[str], min_samples: int = 1) -> float | None:
    """Percentage of failed attempts (anything but ``done`` / ``cancelled``)
    among ``outcomes``; None below ``min_samples`` (too little to judge)."""
    counted = [o for o in outcomes if o != "cancelled"]
    if len(counted) < max(min_samples, 1):
        return None
    failed = sum(1 for o in counted if o != "done")
    return 100.0 * failed / len(counted)


def measure(rule: Rule, samples: Sequence) -> float | None:
    """The figure a partner-scoped rule compares with its threshold, from the
    samples of its window: the queue depth (one number), the outcomes of the
    attempts, or the webhook delays in seconds."""
    if rule.kind == "queue_depth":
        return float(samples[0]) if samples else 0.0
    if rule.kind == "failure_rate":
        return failure_rate_percent(samples, rule.min_samples)
    if rule.kind == "webhook_delay_p95":
        if len(samples) < max(rule.min_samples, 1):
            return None
        return percentile(samples, 0.95)
    raise ValueError(f"rule kind {rule.kind!r} is not measured from samples")


@dataclass(frozen=True)
class BreachPlan:
    """What to do after one evaluation of a rule."""

    opened: tuple = ()
    continuing: tuple = ()
    cleared: tuple = ()

    @property
    def notify(self) -> tuple:
        """Only new breaches are notified: a breach that lasts is not re-notified."""
        return self.opened


def plan_breaches(open_keys: Iterable, breaching: Iterable) -> BreachPlan:
    """Compare the breaches already open (by subject key) with the subjects
    breaching now: new ones open (and are notified), ongoing ones continue
    silently, the others clear. Keys are sorted for a stable order."""
    before = set(open_keys)
    now = set(breaching)
    return BreachPlan(
        opened=tuple(sorted(now - before, key=repr)),
        continuing=tuple(sorted(now & before, key=repr)),
        cleared=tuple(sorted(before - now, key=repr)),
    )


# ----------------------------------------------------------------------
# Prometheus text exposition format (version 0.0.4)
# ----------------------------------------------------------------------

METRIC_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
METRIC_TYPES = ("counter", "gauge", "histogram", "summary", "untyped")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DEFAULT_DELAY_BUCKETS = (0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)


@dataclass
class MetricFamily:
    name: str
    type: str
    help: str
    samples: list = field(default_factory=list)  # (suffix, labels dict, value)

    def __post_init__(self):
        if not METRIC_NAME_RE.match(self.name):
            raise ValueError(f"invalid metric name {self.name!r}")
        if self.type not in METRIC_TYPES:
            raise ValueError(f"invalid metric type {self.type!r}")

    def add(self, value: float, labels: Mapping[str, object] | None = None,
            suffix: str = "") -> MetricFamily:
        self.samples.append((suffix, dict(labels or {}), value))
        return self


def histogram(name: str, help_text: str, series: Mapping[tuple, Sequence[float]],
              label_names: Sequence[str], buckets: Sequence[float] = DEFAULT_DELAY_BUCKETS
              ) -> MetricFamily:
    """A histogram family from raw observations per label tuple: cumulative
    ``_bucket{le=...}`` counts, ``_sum`` and ``_count``."""
    family = MetricFamily(name, "histogram", help_text)
    bounds = sorted(float(b) for b in buckets)
    for key in sorted(series, key=repr):
        values = [float(v) for v in series[key]]
        labels = dict(zip(label_names, key, strict=True))
        for bound in bounds:
            family.add(sum(1 for v in values if v <= bound), {**labels, "le": _fmt(bound)},
                       "_bucket")
        family.add(len(values), {**labels, "le": "+Inf"}, "_bucket")
        family.add(sum(values), labels, "_sum")
        family.add(len(values), labels, "_count")
    return family


def histogram_from_counts(name: str, help_text: str,
                          series: Mapping[tuple, tuple[Sequence[int], float, int]],
                          label_names: Sequence[str],
                          buckets: Sequence[float] = DEFAULT_DELAY_BUCKETS) -> MetricFamily:
    """A histogram family from counts already aggregated (e.g. in SQL):
    ``series[key] = (cumulative counts per bucket, sum, count)``."""
    family = MetricFamily(name, "histogram", help_text)
    bounds = [float(b) for b in buckets]
    for key in sorted(series, key=repr):
        counts, total, count = series[key]
        if len(counts) != len(bounds):
            raise ValueError("one count per bucket is expected")
        labels = dict(zip(label_names, key, strict=True))
        for bound, n in zip(bounds, counts, strict=True):
            family.add(n, {**labels, "le": _fmt(bound)}, "_bucket")
        family.add(count, {**labels, "le": "+Inf"}, "_bucket")
        family.add(total, labels, "_sum")
        family.add(count, labels, "_count")
    return family


def escape_label_value(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _fmt(value: float) -> str:
    if value is None:
        return "NaN"
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def render(families: Iterable[MetricFamily]) -> str:
    """The text exposition of ``families``: HELP, TYPE, then one line per sample."""
    lines = []
    seen = set()
    for family in families:
        if family.name in seen:
            raise ValueError(f"metric family {family.name!r} rendered twice")
        seen.add(family.name)
        lines.append(f"# HELP {family.name} {_escape_help(family.help)}")
        lines.append(f"# TYPE {family.name} {family.type}")
        for suffix, labels, value in family.samples:
            for label in labels:
                if not LABEL_NAME_RE.match(label):
                    raise ValueError(f"invalid label name {label!r}")
            if labels:
                inner = ",".join(f'{k}="{escape_label_value(v)}"' for k, v in labels.items())
                lines.append(f"{family.name}{suffix}{{{inner}}} {_fmt(value)}")
            else:
                lines.append(f"{family.name}{suffix} {_fmt(value)}")
    return "\n".join(lines) + "\n"


def parse_text(text: str) -> dict[tuple[str, tuple], float]:
    """Read the samples of an exposition back (for tests and the benchmark):
    ``{(name, ((label, value), ...)): value}``."""
    sample_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
    label_re = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = sample_re.match(line)
        if not m:
            raise ValueError(f"not a sample line: {line!r}")
        labels = tuple(
            (k, v.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\"))
            for k, v in label_re.findall(m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out
