"""Outbox policy: limits pinned by literal values (never imported from
shipsync.outbox), boundaries of the claim and settle rules, and the breaker
glue at epoch-scale clocks."""

from datetime import datetime

import pytest

from shipsync import outbox
from shipsync.breaker import BreakerConfig
from shipsync.outbox import OutboundPolicy, Outcome
from shipsync.retry import RetryPolicy

T = 1_800_000_000.0
NOW = datetime(2027, 1, 15, 8, 0, 0)


def test_limits_and_vocabularies_are_pinned():
    assert outbox.LEASE_SECONDS == 10.0
    assert outbox.HEARTBEAT_SECONDS == 3.0
    assert outbox.EXCERPT_LIMIT == 2000
    assert outbox.RESULT_LIMIT == 65536
    assert outbox.BREAKER_FAILURES == {"network", "timeout", "http_5xx", "invalid_response"}
    assert outbox.BLOCKING_STATES == ("pending", "running", "dead")
    assert outbox.CHANNELS == ("high", "low")
    assert outbox.STATES == ("pending", "running", "done", "dead", "cancelled")


def test_policy_defaults_and_lease():
    policy = OutboundPolicy()
    assert (policy.connect_timeout, policy.read_timeout, policy.max_concurrency,
            policy.rate_limit_per_minute, policy.blocking, policy.retention_days) == (
        5.0, 30.0, 4, 0.0, True, 30)
    assert policy.timeouts == (5.0, 30.0)
    assert policy.lease_seconds == 10.0


@pytest.mark.parametrize("kwargs, message", [
    ({"connect_timeout": 0}, "connect and read timeouts must be > 0 (a call always has both)"),
    ({"read_timeout": 0}, "connect and read timeouts must be > 0 (a call always has both)"),
    ({"max_concurrency": 0}, "max concurrency must be at least 1"),
    ({"rate_limit_per_minute": -0.1}, "rate limit must be >= 0 (0 = no limit)"),
    ({"retry": RetryPolicy(max_attempts=0)}, "max attempts must be at least 1"),
    ({"retry": RetryPolicy(base=0)}, "retry base must be > 0 and the cap >= the base"),
    ({"retry": RetryPolicy(base=10, cap=9.9)}, "retry base must be > 0 and the cap >= the base"),
    ({"breaker": BreakerConfig(failure_threshold=0)},
     "breaker threshold and minimum calls must be at least 1"),
    ({"breaker": BreakerConfig(min_calls=0)},
     "breaker threshold and minimum calls must be at least 1"),
    ({"breaker": BreakerConfig(failure_rate=0)}, "breaker failure rate must be in (0, 1]"),
    ({"breaker": BreakerConfig(failure_rate=1.01)}, "breaker failure rate must be in (0, 1]"),
    ({"breaker": BreakerConfig(cooldown_seconds=0)},
     "breaker cool-down and window must be > 0 seconds"),
    ({"breaker": BreakerConfig(window_seconds=0)},
     "breaker cool-down and window must be > 0 seconds"),
    ({"retention_days": 0}, "retention must be at least one day"),
])
def test_policy_refuses_each_bad_value_with_its_message(kwargs, message):
    with pytest.raises(ValueError) as caught:
        OutboundPolicy(**kwargs)
    assert str(caught.value) == message


def test_policy_edges_that_are_allowed_and_problems_joined():
    OutboundPolicy(max_concurrency=1, rate_limit_per_minute=0, retention_days=1,
                   retry=RetryPolicy(max_attempts=1, base=5, cap=5),
                   breaker=BreakerConfig(failure_threshold=1, min_calls=1, failure_rate=1))
    # the shortest breaker cool-down and window are one second
    OutboundPolicy(breaker=BreakerConfig(cooldown_seconds=1, window_seconds=1))
    with pytest.raises(ValueError) as caught:
        OutboundPolicy(max_concurrency=0, retention_days=0)
    assert str(caught.value) == ("max concurrency must be at least 1; "
                                 "retention must be at least one day")


@pytest.mark.parametrize("outcome, signal", [
    (Outcome(status=200), "success"),
    (Outcome(status=404, error_class="http_4xx"), "success"),
    (Outcome(status=408, error_class="http_4xx"), "failure"),
    (Outcome(status=429, error_class="http_429"), None),
    (Outcome(status=500, error_class="http_5xx"), "failure"),
    (Outcome(error_class="network"), "failure"),
    (Outcome(error_class="timeout"), "failure"),
    (Outcome(status=200, error_class="invalid_response"), "failure"),
    (Outcome(error_class="adapter_error"), None),
    (Outcome(status=200, cancel=True), None),
])
def test_breaker_signal_table(outcome, signal):
    assert outbox.breaker_signal(outcome) == signal


def test_settle_reasons_and_delays():
    policy = OutboundPolicy(retry=RetryPolicy(max_attempts=3, base=10, cap=100))
    done = outbox.settle(policy, 1, Outcome(status=201), NOW)
    assert (done.state, done.reason, done.breaker_signal) == ("done", "HTTP 201 ok", "success")
    assert outbox.settle(policy, 1, Outcome(), NOW).reason == "ok"
    retry = outbox.settle(policy, 1, Outcome(status=503, error_class="http_5xx", error="busy"),
                          NOW, rng=lambda: 0.5)
    assert (retry.state, retry.delay, retry.error_class) == ("pending", 5.0, "http_5xx")
    assert retry.next_attempt_at == datetime(2027, 1, 15, 8, 0, 5)
    assert retry.reason == "HTTP 503: retry 2/3 in 5.0s (backoff): busy"
    dead = outbox.settle(policy, 3, Outcome(status=503, error_class="http_5xx"), NOW)
    assert (dead.state, dead.next_attempt_at, dead.error_class) == ("dead", None, "http_5xx")
    assert dead.reason == "HTTP 503: attempts exhausted (3/3)"
    long = outbox.settle(policy, 1, Outcome(error_class="network", error="x" * 600), NOW)
    assert len(long.reason) == 500
    cancelled = outbox.settle(policy, 1, Outcome(cancel=True), NOW)
    assert (cancelled.state, cancelled.reason) == ("cancelled", "cancelled")
    assert outbox.settle(policy, 1, Outcome(cancel=True, error="archived"), NOW).reason == (
        "archived")


def test_lease_expired_at_the_budget_boundary():
    policy = OutboundPolicy(retry=RetryPolicy(max_attempts=3))
    again = outbox.lease_expired(policy, 2, "w1")
    assert (again.state, again.delay, again.error_class, again.breaker_signal) == (
        "pending", 0.0, "network", None)
    assert again.reason == "lease expired: worker w1 did not report back"
    dead = outbox.lease_expired(policy, 3, "")
    assert dead.state == "dead"
    assert dead.reason == ("lease expired: worker ? did not report back; "
                           "attempts exhausted (3/3)")


def test_breaker_glue_at_epoch_scale():
    cfg = BreakerConfig(failure_threshold=2, cooldown_seconds=30)
    state = outbox.breaker_report(cfg, None, "failure", T)
    state = outbox.breaker_report(cfg, state, "failure", T + 1)
    assert state["state"] == "open" and state["opened_at"] == T + 1
    assert outbox.breaker_reopens_in(cfg, state, T + 11) == 20.0
    assert outbox.breaker_reopens_in(cfg, state, T + 40) == 0.0
    assert outbox.breaker_admit(cfg, state, T + 30.9) == (False, False, state)
    allowed, probe, half = outbox.breaker_admit(cfg, state, T + 31)
    assert (allowed, probe, half["state"], half["probe_started_at"]) == (
        True, True, "half_open", T + 31)
    assert outbox.breaker_reopens_in(cfg, half, T + 41) == 20.0
    freed = outbox.breaker_report(cfg, half, None, T + 32)
    assert freed["probe_started_at"] is None and freed["state"] == "half_open"
    assert outbox.breaker_report(cfg, half, "success", T + 32)["state"] == "closed"
    assert outbox.breaker_admit(cfg, None, T) == (True, False, outbox.breaker_admit(
        cfg, {}, T)[2])
    assert outbox.breaker_reopens_in(cfg, None, T) == 0.0
    closed = outbox.breaker_report(cfg, None, None, T)
    assert closed["state"] == "closed" and closed["window_calls"] == 0


def test_epoch_helpers():
    assert outbox.epoch(datetime(2027, 1, 15, 8, 0, 0)) == T
    assert outbox.from_epoch(T) == datetime(2027, 1, 15, 8, 0, 0)
    assert outbox.from_epoch(None) is None


@pytest.mark.parametrize("channel, conc, busy, high, expected", [
    ("high", 2, 1, False, 1), ("high", 2, 2, False, 0), ("high", 2, 3, False, 0),
    ("low", 2, 1, True, 0), ("low", 3, 1, True, 1), ("low", 2, 1, False, 1),
    ("high", 1, 0, True, 1), ("low", 1, 0, True, 0), ("high", 2, -1, False, 2),
])
def test_free_slots_boundaries(channel, conc, busy, high, expected):
    assert outbox.free_slots(channel, conc, busy, high) == expected


def test_rate_allowance_boundaries():
    assert outbox.rate_allowance(0, [T], 5, T) == (1_000_000, 0.0)
    assert outbox.rate_allowance(-1, [], 0, T) == (1_000_000, 0.0)
    assert outbox.rate_allowance(2.9, [], 0, T) == (2, 0.0)
    assert outbox.rate_allowance(2, [T - 30], 0, T) == (1, 0.0)
    assert outbox.rate_allowance(2, [T - 60], 0, T) == (2, 0.0)  # exactly one minute ago: out
    assert outbox.rate_allowance(2, [T - 59], 1, T)[0] == 0
    assert outbox.rate_allowance(2, [], -3, T) == (2, 0.0)
    # Below one a minute: one call per 60 / rate seconds.
    assert outbox.rate_allowance(0.5, [T - 100], 0, T)[0] == 0
    assert outbox.rate_allowance(0.5, [T - 120], 0, T) == (1, 0.0)
    count, wait = outbox.rate_allowance(1, [T - 10], 0, T)
    assert count == 0 and wait == pytest.approx(50.0)


@pytest.mark.parametrize("state, attempts, blocking, expected", [
    ("running", 0, False, True), ("running", 0, True, True), ("pending", 0, True, True),
    ("pending", 2, True, True), ("dead", 1, True, True), ("done", 1, True, False),
    ("cancelled", 0, True, False), ("pending", 0, False, True), ("pending", 1, False, False),
    ("dead", 0, False, False), ("done", 0, False, False),
])
def test_blocks_table(state, attempts, blocking, expected):
    assert outbox.blocks(state, attempts, blocking) is expected
