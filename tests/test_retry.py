from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipsync.retry import (
    ERROR_CLASSES,
    Decision,
    RetryPolicy,
    classify,
    decide,
    parse_retry_after,
)

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
FAST = settings(max_examples=200, deadline=None)

policies = st.builds(
    RetryPolicy,
    max_attempts=st.integers(1, 20),
    base=st.floats(0.01, 100, allow_nan=False),
    cap=st.floats(0, 10_000, allow_nan=False),
)
unit = st.floats(0, 1, allow_nan=False)
#: One day, as documented in shipsync.retry (pinned here, not imported).
ONE_DAY = 86400.0


def test_error_classes_are_the_agreed_tuple():
    assert ERROR_CLASSES == (
        "network",
        "timeout",
        "http_5xx",
        "http_429",
        "http_4xx",
        "invalid_response",
        "adapter_error",
    )


def test_delay_grows_exponentially_up_to_the_cap():
    policy = RetryPolicy(base=2.0, cap=900.0)
    assert [policy.delay(n, rng=lambda: 1.0) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 16.0]
    assert policy.delay(30, rng=lambda: 1.0) == 900.0
    assert policy.delay(10_000, rng=lambda: 1.0) == 900.0
    assert policy.delay(5, rng=lambda: 0.0) == 0.0
    assert policy.delay(3, rng=lambda: 0.5) == 4.0


@FAST
@given(policy=policies, attempt=st.integers(1, 2000), r=unit)
def test_delay_is_always_within_full_jitter_bounds(policy, attempt, r):
    delay = policy.delay(attempt, rng=lambda: r)
    assert 0 <= delay <= min(policy.cap, policy.base * 2 ** min(attempt - 1, 1000))


@pytest.mark.parametrize(
    "value, expected",
    [
        ("120", 120.0),
        (" 5 ", 5.0),
        ("0", 0.0),
        ("-3", 0.0),
        ("1.5", 1.5),
        ("Wed, 01 May 2024 12:01:00 GMT", 60.0),
        ("Wednesday, 01-May-24 12:00:30 GMT", 30.0),
        ("Wed May  1 12:00:10 2024", 10.0),
        ("Wed, 01 May 2024 11:00:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
        ("nan", None),
        ("inf", None),
    ],
)
def test_parse_retry_after(value, expected):
    assert parse_retry_after(value, NOW) == expected


def test_parse_retry_after_accepts_a_naive_utc_now():
    naive = NOW.replace(tzinfo=None)
    assert parse_retry_after("Wed, 01 May 2024 12:01:00 GMT", naive) == 60.0


@pytest.mark.parametrize(
    "status, error, expected",
    [
        (200, None, (None, False)),
        (204, None, (None, False)),
        (302, None, (None, False)),
        (200, "invalid_response", ("invalid_response", True)),
        (None, "network", ("network", True)),
        (None, "timeout", ("timeout", True)),
        (None, "Read timed out.", ("timeout", True)),
        (None, "Connection refused", ("network", True)),
        (None, "adapter_error", ("adapter_error", False)),
        (200, "adapter_error", ("adapter_error", False)),
        (408, None, ("http_4xx", True)),
        (429, None, ("http_429", True)),
        (400, None, ("http_4xx", False)),
        (401, None, ("http_4xx", False)),
        (410, None, ("http_4xx", False)),
        (500, None, ("http_5xx", True)),
        (503, None, ("http_5xx", True)),
        (101, None, ("invalid_response", True)),
    ],
)
def test_classify(status, error, expected):
    assert classify(status, error) == expected


def test_decide_done_on_success():
    assert decide(RetryPolicy(), 1, 200, None, None, NOW) == Decision(
        "done", None, None, "HTTP 200 ok"
    )


def test_decide_retries_with_backoff_then_dies_when_attempts_are_exhausted():
    policy = RetryPolicy(max_attempts=3, base=10, cap=100)
    first = decide(policy, 1, 500, None, None, NOW, rng=lambda: 0.5)
    assert (first.kind, first.delay, first.error_class) == ("retry", 5.0, "http_5xx")
    second = decide(policy, 2, None, "timeout", None, NOW, rng=lambda: 1.0)
    assert (second.kind, second.delay, second.error_class) == ("retry", 20.0, "timeout")
    last = decide(policy, 3, 500, None, None, NOW)
    assert (last.kind, last.delay) == ("dead", None)
    assert "exhausted" in last.reason


def test_retry_after_is_capped_at_one_day():
    decision = decide(RetryPolicy(), 1, 503, None, "9999999", NOW)
    assert decision.kind == "retry" and decision.delay == ONE_DAY


def test_retry_after_is_ignored_on_other_statuses_and_when_garbage():
    policy = RetryPolicy(base=1, cap=1)
    assert decide(policy, 1, 500, None, "600", NOW, rng=lambda: 1.0).delay == 1.0
    assert decide(policy, 1, 429, None, "later", NOW, rng=lambda: 1.0).delay == 1.0


@FAST
@given(
    policy=policies,
    attempt=st.integers(1, 19),
    status=st.sampled_from([429, 503]),
    seconds=st.integers(0, 10 * 86400),
    as_date=st.booleans(),
    r=unit,
)
def test_retry_after_wins_on_429_and_503(policy, attempt, status, seconds, as_date, r):
    if as_date:
        header = (NOW + timedelta(seconds=seconds)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    else:
        header = str(seconds)
    decision = decide(policy, attempt, status, None, header, NOW, rng=lambda: r)
    if attempt >= policy.max_attempts:
        assert decision.kind == "dead"
    else:
        assert decision.kind == "retry"
        assert decision.delay == min(float(seconds), ONE_DAY)


outcomes = st.one_of(
    st.tuples(st.integers(100, 599), st.none()),
    st.tuples(st.none(), st.sampled_from(["network", "timeout", "adapter_error", "boom"])),
    st.tuples(st.integers(200, 299), st.just("invalid_response")),
)


@FAST
@given(policy=policies, attempt=st.integers(1, 40), outcome=outcomes, r=unit)
def test_never_retry_past_max_attempts(policy, attempt, outcome, r):
    status, error = outcome
    decision = decide(policy, attempt, status, error, "5", NOW, rng=lambda: r)
    assert decision.kind in ("done", "retry", "dead")
    if decision.kind == "retry":
        assert attempt < policy.max_attempts
        assert decision.delay is not None and 0 <= decision.delay <= ONE_DAY
    else:
        assert decision.delay is None
    if attempt >= policy.max_attempts:
        assert decision.kind != "retry"
    assert decision.error_class is None or decision.error_class in ERROR_CLASSES


@FAST
@given(
    policy=policies,
    attempt=st.integers(1, 40),
    status=st.integers(400, 499).filter(lambda s: s not in (408, 429)),
)
def test_other_4xx_are_dead_at_once(policy, attempt, status):
    decision = decide(policy, attempt, status, None, "1", NOW)
    assert (decision.kind, decision.error_class) == ("dead", "http_4xx")
