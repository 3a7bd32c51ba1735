import math
import threading
from dataclasses import asdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipsync.ratelimit import BucketRegistry, TokenBucket, next_slot


def test_bucket_starts_full_then_refills_at_rate():
    bucket = TokenBucket(rate=2.0, burst=3.0)
    assert [bucket.take(100.0)[0] for _ in range(3)] == [True, True, True]
    allowed, wait = bucket.take(100.0)
    assert not allowed and wait == pytest.approx(0.5)
    assert bucket.take(100.5) == (True, 0.0)
    assert bucket.take(1000.0) == (True, 0.0)
    assert bucket.tokens == pytest.approx(2.0)  # refill never exceeds burst


def test_bucket_state_is_plain_and_resumable():
    bucket = TokenBucket(rate=1.0, burst=2.0)
    bucket.take(10.0)
    bucket.take(10.0)
    stored = asdict(bucket)
    assert stored == {"rate": 1.0, "burst": 2.0, "tokens": 0.0, "updated": 10.0}
    again = TokenBucket(**stored)
    assert again.take(10.2) == (False, pytest.approx(0.8))
    assert again.take(11.0)[0] is True


def test_bucket_edge_cases():
    assert TokenBucket(rate=1.0, burst=1.0).take(0.0, n=2) == (False, math.inf)
    frozen = TokenBucket(rate=0.0, burst=1.0)
    assert frozen.take(0.0)[0] is True
    assert frozen.take(99.0) == (False, math.inf)
    backwards = TokenBucket(rate=1.0, burst=1.0)
    backwards.take(50.0)
    assert backwards.take(10.0)[0] is False  # a clock going back does not refill


@settings(max_examples=200, deadline=None)
@given(
    rate=st.floats(0.1, 50, allow_nan=False),
    burst=st.integers(1, 20),
    gaps=st.lists(st.floats(0, 2, allow_nan=False), min_size=1, max_size=100),
)
def test_bucket_never_allows_more_than_burst_plus_rate_times_elapsed(rate, burst, gaps):
    bucket, now, allowed = TokenBucket(rate=rate, burst=burst), 0.0, 0
    for gap in gaps:
        now += gap
        ok, wait = bucket.take(now)
        allowed += ok
        assert wait >= 0
    assert allowed <= burst + rate * now + 1e-6


def test_registry_is_per_key_and_resets_on_config_change():
    reg = BucketRegistry()
    assert reg.take("a", 1.0, 1.0, now=0.0) == (True, 0.0)
    assert reg.take("a", 1.0, 1.0, now=0.0)[0] is False
    assert reg.take("b", 1.0, 1.0, now=0.0)[0] is True
    assert reg.take("a", 1.0, 2.0, now=0.0)[0] is True  # new burst: fresh bucket
    reg.reset("a")
    assert reg.take("a", 1.0, 2.0, now=0.0)[0] is True
    assert len(reg) == 2
    reg.reset()
    assert len(reg) == 0


def test_registry_is_thread_safe():
    reg, results = BucketRegistry(), []
    lock = threading.Lock()

    def worker():
        for _ in range(50):
            ok, _wait = reg.take("p", 0.0001, 100.0, now=1.0)
            with lock:
                results.append(ok)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert len(results) == 400 and sum(results) == 100


def test_registry_defaults_to_the_monotonic_clock():
    reg = BucketRegistry()
    assert reg.take("x", 10.0, 1.0) == (True, 0.0)
    ok, wait = reg.take("x", 10.0, 1.0)
    assert not ok and 0 < wait <= 0.1


def test_next_slot():
    assert next_slot(2, [], 100.0) == 0.0
    assert next_slot(2, [90.0], 100.0) == 0.0
    assert next_slot(2, [90.0, 95.0], 100.0) == pytest.approx(50.0)
    assert next_slot(2, [30.0, 90.0, 95.0], 100.0) == pytest.approx(50.0)
    assert next_slot(2, [40.0, 95.0], 100.0) == 0.0  # 40 left the window at 100
    assert next_slot(0, [99.0] * 10, 100.0) == 0.0  # no limit
    assert next_slot(2.7, [98.0, 99.0], 100.0) == pytest.approx(58.0)  # floor(2.7) == 2
    assert next_slot(0.5, [50.0], 100.0) == pytest.approx(70.0)  # one call per 120 s
    assert next_slot(1, [130.0], 100.0) == pytest.approx(90.0)  # reserved future call


@settings(max_examples=200, deadline=None)
@given(
    rate=st.integers(1, 10),
    gaps=st.lists(st.floats(0, 30, allow_nan=False), min_size=1, max_size=60),
)
def test_pacing_with_next_slot_keeps_any_60s_window_within_the_rate(rate, gaps):
    calls, now = [], 0.0
    for gap in gaps:
        now += gap
        start = now + next_slot(rate, calls, now)
        assert next_slot(rate, calls, start) <= 1e-9
        calls.append(start)
        now = start
    for i, t in enumerate(calls):
        in_window = [c for c in calls if t - 60 + 1e-6 < c <= t]  # float rounding
        assert len(in_window) <= rate, (i, calls)
