"""Per-partner circuit breaker as pure functions over a storable state.

The addon keeps one :class:`BreakerState` per partner (``to_dict`` / ``from_dict`` give
plain values for a JSON column or a few fields), locks the partner row, and calls:

* :func:`allow` before a call (it may move ``open`` to ``half_open`` and start a probe);
* :func:`on_success` or :func:`on_failure` with the outcome.

States:

* ``closed``: every call goes through. Failures are counted both as a run of consecutive
  failures and in a fixed (tumbling) window of ``window_seconds``; the breaker opens when
  ``consecutive_failures >= failure_threshold`` or, with at least ``min_calls`` calls in
  the window, when ``failures / calls >= failure_rate``.
* ``open``: nothing goes through until ``cooldown_seconds`` after ``opened_at``; then the
  next :func:`allow` moves to ``half_open`` and lets exactly one probe through.
* ``half_open``: while the probe is in flight nothing else goes through. A probe that
  never reported back (its worker crashed) is replaced after ``cooldown_seconds``. The
  probe's success closes the breaker; its failure opens it again with ``opened_at=now``.

Outcomes reported while ``open`` (calls started before it opened) change nothing.
All times are epoch seconds supplied by the caller; nothing reads a clock here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

STATES = ("closed", "open", "half_open")


@dataclass(frozen=True)
class BreakerConfig:
    failure_threshold: int = 5
    failure_rate: float = 0.5
    window_seconds: float = 60
    min_calls: int = 10
    cooldown_seconds: float = 30


@dataclass(frozen=True)
class BreakerState:
    state: str = "closed"
    consecutive_failures: int = 0
    opened_at: float | None = None
    probe_started_at: float | None = None
    window_start: float | None = None
    window_calls: int = 0
    window_failures: int = 0


def _closed() -> BreakerState:
    return BreakerState()


def _open(st: BreakerState, now: float) -> BreakerState:
    return replace(
        st,
        state="open",
        opened_at=now,
        probe_started_at=None,
        window_start=None,
        window_calls=0,
        window_failures=0,
    )


def _start_probe(st: BreakerState, now: float) -> BreakerState:
    return replace(st, state="half_open", probe_started_at=now)


def _count(cfg: BreakerConfig, st: BreakerState, now: float, failed: bool) -> BreakerState:
    """Add one call to the tumbling window, starting a new window when the old one ended."""
    start, calls, failures = st.window_start, st.window_calls, st.window_failures
    if start is None or now - start >= cfg.window_seconds or now < start:
        start, calls, failures = now, 0, 0
    return replace(
        st,
        window_start=start,
        window_calls=calls + 1,
        window_failures=failures + (1 if failed else 0),
    )


def allow(cfg: BreakerConfig, st: BreakerState, now: float) -> tuple[bool, BreakerState]:
    """May a call go out now? Returns the decision and the state to store."""
    if st.state == "open":
        if st.opened_at is None or now - st.opened_at >= cfg.cooldown_seconds:
            return True, _start_probe(st, now)
        return False, st
    if st.state == "half_open":
        started = st.probe_started_at
        if started is None or now - started >= cfg.cooldown_seconds:
            # No probe in flight, or the last one is stuck (crashed worker): new probe.
            return True, _start_probe(st, now)
        return False, st
    return True, st


def on_success(cfg: BreakerConfig, st: BreakerState, now: float) -> BreakerState:
    """Record a successful call."""
    if st.state == "half_open":
        return _closed()
    if st.state == "open":
        return st
    return replace(_count(cfg, st, now, failed=False), consecutive_failures=0)


def on_failure(cfg: BreakerConfig, st: BreakerState, now: float) -> BreakerState:
    """Record a failed call (one that counts against the partner: network, timeout, 5xx...)."""
    if st.state == "half_open":
        return _open(replace(st, consecutive_failures=st.consecutive_failures + 1), now)
    if st.state == "open":
        return st
    st = _count(cfg, st, now, failed=True)
    st = replace(st, consecutive_failures=st.consecutive_failures + 1)
    if st.consecutive_failures >= cfg.failure_threshold:
        return _open(st, now)
    if st.window_calls >= cfg.min_calls and st.window_calls > 0:
        if st.window_failures / st.window_calls >= cfg.failure_rate:
            return _open(st, now)
    return st


def is_open(cfg: BreakerConfig, st: BreakerState, now: float) -> bool:
    """True when a call would be refused now (read-only, for display and scheduling)."""
    return not allow(cfg, st, now)[0]


def to_dict(st: BreakerState) -> dict:
    """Plain dict for storage (JSON-serializable)."""
    return asdict(st)


def from_dict(d: dict | None) -> BreakerState:
    """Inverse of :func:`to_dict`; unknown keys are ignored, missing ones take defaults."""
    if not d:
        return BreakerState()
    known = {f.name for f in fields(BreakerState)}
    values = {k: v for k, v in d.items() if k in known}
    if values.get("state") not in STATES:
        values["state"] = "closed"
    return BreakerState(**values)
