"""Retry policy: constants pinned by literal values (never imported from
shipsync.retry), boundaries, exact reasons, and properties with epoch-scale
clocks (Retry-After HTTP-dates around 1.8e9 s)."""

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipsync import retry
from shipsync.retry import Decision, RetryPolicy, classify, decide, parse_retry_after

T = 1_800_000_000  # 2027-01-15T08:00:00Z
NOW = datetime.fromtimestamp(T, tz=timezone.utc)


def test_retryable_classes_and_statuses_are_pinned():
    assert retry.RETRYABLE_CLASSES == {"network", "timeout", "http_5xx", "http_429",
                                       "invalid_response"}
    assert retry.RETRY_AFTER_STATUSES == {429, 503}
    assert retry.MAX_RETRY_AFTER == 86400.0
    assert RetryPolicy() == RetryPolicy(max_attempts=8, base=2.0, cap=900.0)


def test_every_class_classify_returns_is_retryable_exactly_when_listed():
    # classify and RETRYABLE_CLASSES must agree (408 is the one retryable http_4xx).
    cases = [(None, "network"), (None, "timeout"), (None, "invalid_response"),
             (None, "boom"), (None, "adapter_error"), (200, "invalid_response"),
             (429, None), (500, None), (599, None), (600, None), (404, None), (101, None)]
    for status, error in cases:
        error_class, retryable = classify(status, error)
        assert retryable == (error_class in {"network", "timeout", "http_5xx", "http_429",
                                             "invalid_response"}), (status, error)
    assert classify(408, None) == ("http_4xx", True)


@pytest.mark.parametrize("status, expected", [
    (199, ("invalid_response", True)), (200, (None, False)), (399, (None, False)),
    (400, ("http_4xx", False)), (499, ("http_4xx", False)), (500, ("http_5xx", True)),
    (599, ("http_5xx", True)), (600, ("invalid_response", True)), (0, ("invalid_response", True)),
])
def test_classify_status_boundaries(status, expected):
    assert classify(status, None) == expected


@pytest.mark.parametrize("error, expected", [
    ("Connection timeout", "timeout"), ("READ TIMED OUT", "timeout"), ("", "network"),
    (None, "network"), ("reset by peer", "network"),
])
def test_classify_free_form_errors_without_answer(error, expected):
    assert classify(None, error) == (expected, True)


def test_ceiling_values():
    policy = RetryPolicy(base=2.0, cap=900.0)
    assert [policy.ceiling(n) for n in (0, 1, 2, 3, 10, 11)] == [2.0, 2.0, 4.0, 8.0, 900.0, 900.0]
    assert policy.ceiling(1001) == 900.0 and policy.ceiling(1002) == 900.0
    assert RetryPolicy(base=1.0, cap=2.0**1000).ceiling(1001) == 2.0**1000
    assert RetryPolicy(base=2.0, cap=-5).ceiling(3) == 0.0
    assert RetryPolicy(base=2.0, cap=-5).ceiling(2000) == 0.0


def test_delay_clamps_the_random_draw():
    policy = RetryPolicy(base=10.0, cap=100.0)
    assert policy.delay(1, rng=lambda: 2.0) == 10.0
    assert policy.delay(1, rng=lambda: -1.0) == 0.0
    assert policy.delay(2, rng=lambda: 0.25) == 5.0


def test_reasons_are_exact():
    policy = RetryPolicy(max_attempts=3, base=10, cap=100)
    assert decide(policy, 1, 500, None, None, NOW, rng=lambda: 0.5) == Decision(
        "retry", 5.0, "http_5xx", "HTTP 500: retry 2/3 in 5.0s (backoff)")
    assert decide(policy, 1, 429, None, "7", NOW) == Decision(
        "retry", 7.0, "http_429", "HTTP 429: retry 2/3 in 7.0s (Retry-After)")
    assert decide(policy, 3, 500, None, None, NOW) == Decision(
        "dead", None, "http_5xx", "HTTP 500: attempts exhausted (3/3)")
    assert decide(policy, 1, 404, None, None, NOW) == Decision(
        "dead", None, "http_4xx", "HTTP 404: final error (http_4xx)")
    assert decide(policy, 1, None, "adapter_error", None, NOW) == Decision(
        "dead", None, "adapter_error", "adapter_error: final error (adapter_error)")
    assert decide(policy, 1, None, "timeout", None, NOW, rng=lambda: 1.0).reason == (
        "timeout: retry 2/3 in 10.0s (backoff)")
    assert decide(policy, 1, 204, None, None, NOW) == Decision("done", None, None, "HTTP 204 ok")


def test_last_attempt_before_the_budget_still_retries():
    policy = RetryPolicy(max_attempts=3)
    assert decide(policy, 2, 503, None, None, NOW, rng=lambda: 0.0).kind == "retry"
    assert decide(policy, 3, 503, None, None, NOW, rng=lambda: 0.0).kind == "dead"


def test_retry_after_is_honoured_on_503_and_capped_at_one_day_exactly():
    assert decide(RetryPolicy(), 1, 503, None, "86400", NOW).delay == 86400.0
    assert decide(RetryPolicy(), 1, 503, None, "86401", NOW).delay == 86400.0
    assert decide(RetryPolicy(), 1, 503, None, "120", NOW).delay == 120.0


def test_retry_after_http_date_against_a_naive_utc_now():
    naive = NOW.replace(tzinfo=None)
    header = format_datetime(NOW + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(header, naive) == 90.0
    aware_elsewhere = NOW.astimezone(timezone(timedelta(hours=2)))
    assert parse_retry_after(header, aware_elsewhere) == 90.0


def test_retry_after_rfc_2822_date_with_offset():
    # Not an IMF-fixdate: parsed by the email parser, the offset honoured.
    header = "Fri, 15 Jan 2027 10:01:00 +0200"
    assert parse_retry_after(header, NOW) == 60.0
    assert parse_retry_after("Fri, 15 Jan 2027 99:99:99 +0200", NOW) is None


# -- properties at epoch scale ------------------------------------------------------------------

epochs = st.integers(1_700_000_000, 1_900_000_000)


@settings(max_examples=200, deadline=None)
@given(now_ts=epochs, seconds=st.integers(0, 3 * 86400), fmt=st.sampled_from([
    "%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %d %H:%M:%S %Y"]))
def test_retry_after_date_gives_the_seconds_until_it_at_any_epoch(now_ts, seconds, fmt):
    now = datetime.fromtimestamp(now_ts, tz=timezone.utc)
    header = (now + timedelta(seconds=seconds)).strftime(fmt)
    assert parse_retry_after(header, now) == float(seconds)
    decision = decide(RetryPolicy(), 1, 429, None, header, now)
    assert decision.delay == min(float(seconds), 86400.0)


@settings(max_examples=200, deadline=None)
@given(now_ts=epochs, seconds=st.integers(1, 10**6))
def test_retry_after_date_in_the_past_is_now(now_ts, seconds):
    now = datetime.fromtimestamp(now_ts, tz=timezone.utc)
    header = format_datetime(now - timedelta(seconds=seconds), usegmt=True)
    assert parse_retry_after(header, now) == 0.0


@settings(max_examples=200, deadline=None)
@given(now_ts=epochs, attempt=st.integers(1, 7), r=st.floats(0, 1, allow_nan=False),
       status=st.sampled_from([500, 502, 504, 408, None]))
def test_backoff_does_not_depend_on_the_clock(now_ts, attempt, r, status):
    now = datetime.fromtimestamp(now_ts, tz=timezone.utc)
    decision = decide(RetryPolicy(), attempt, status, None if status else "timeout", "60", now,
                      rng=lambda: r)
    assert decision.kind == "retry"
    assert decision.delay == r * min(900.0, 2.0 * 2 ** (attempt - 1))


def test_transport_error_classes_without_status_keep_their_class():
    assert classify(None, "invalid_response") == ("invalid_response", True)


def test_ceiling_overflow_guard_starts_past_exponent_1000():
    policy = RetryPolicy(base=1.0, cap=2.0**1010)
    assert policy.ceiling(1001) == 2.0**1000  # exponent 1000: still computed
    assert policy.ceiling(1002) == 2.0**1010  # exponent 1001: the cap
