"""The dashboard rollups' delay histogram (shipsync.monitor): log-spaced
buckets and percentiles read back from the counts."""

import random

import pytest

from shipsync import monitor as mon


def test_delay_bucket_bounds_contain_the_delay():
    for seconds in (0.0, 0.004, 0.01, 0.0102, 0.5, 1.0, 9.99, 10.0, 300.0, 86400.0):
        low, high = mon.delay_bucket_bounds(mon.delay_bucket(seconds))
        assert low <= seconds < high, seconds


def test_delay_buckets_are_two_percent_wide_and_increasing():
    assert mon.delay_bucket(-3.0) == 0  # a clock step back counts as no delay
    assert mon.delay_bucket(0.0099) == 0
    assert mon.delay_bucket(0.01) == 1
    previous = 0
    for index in range(1, 900):
        low, high = mon.delay_bucket_bounds(index)
        assert high / low == pytest.approx(1.02)
        assert mon.delay_bucket(low * 1.0001) == index
        assert index > previous
        previous = index


def test_percentile_from_histogram_of_one_value_per_bucket_is_inside_it():
    hist = {mon.delay_bucket(5.0): 1}
    low, high = mon.delay_bucket_bounds(mon.delay_bucket(5.0))
    for q in (0.0, 0.5, 1.0):
        assert low <= mon.percentile_from_histogram(hist, q) <= high


@pytest.mark.parametrize("seed", range(6))
def test_percentile_from_histogram_within_one_bucket_of_exact(seed):
    rng = random.Random(seed)
    shape = seed % 3
    values = [rng.lognormvariate(1.5, 1.2) if shape == 0 else
              rng.uniform(0, 20) if shape == 1 else rng.expovariate(0.05)
              for _i in range(rng.randint(1, 5000))]
    hist = {}
    for v in values:
        hist[mon.delay_bucket(v)] = hist.get(mon.delay_bucket(v), 0) + 1
    for q in (0.0, 0.05, 0.5, 0.9, 0.95, 0.99, 1.0):
        exact = mon.percentile(values, q)
        width = max(exact * (mon.DELAY_BUCKET_GROWTH - 1), mon.DELAY_BUCKET_FLOOR)
        # Two neighbouring ranks may sit in neighbouring buckets: one width of
        # the larger of them.
        assert abs(mon.percentile_from_histogram(hist, q) - exact) <= width * 1.03, (q, exact)


def test_merge_histograms_adds_counts_of_json_keys():
    merged = mon.merge_histograms({"3": 2, "5": 1}, {3: 4}, None, {"7": 0})
    assert merged == {3: 6, 5: 1}
    assert mon.percentile_from_histogram({}, 0.5) is None
    with pytest.raises(ValueError):
        mon.percentile_from_histogram({1: 1}, 1.5)


def test_delay_bucket_sql_names_the_same_constants():
    sql = mon.delay_bucket_sql("d")
    assert str(mon.DELAY_BUCKET_FLOOR) in sql and str(mon.DELAY_BUCKET_GROWTH) in sql
    assert sql.count("(d)") == 2
