"""ETA prediction math (shipsync.eta): lane keys and fallback, the transit
histogram against exact percentiles, prediction and late risk, the backtest
on fixed and generated histories. Figures in the fixed-history tests are
computed by hand in the comments."""

import random
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipsync import eta
from shipsync import monitor as mon

T0 = datetime(2026, 3, 2, 8, 0)
HISTORY = [10.5, 20.5, 30.5, 40.5, 50.5]


def hours(h):
    return timedelta(hours=h)


# ----------------------------------------------------------------------
# lane keys
# ----------------------------------------------------------------------


def test_lane_keys_go_from_full_lane_to_carrier():
    keys = eta.lane_keys(7, "express", "nl", "nh", "fr", "75 011", prefix_length=3)
    assert [k.level for k in keys] == list(eta.LEVELS)
    assert keys[0] == eta.LaneKey("lane", "7", "express", "NL", "NH", "FR", "750")
    assert keys[1] == eta.LaneKey("dest_country", "7", "express", dest_country="FR")
    assert keys[2] == eta.LaneKey("service", "7", "express")
    assert keys[3] == eta.LaneKey("carrier", "7")


def test_lane_key_code_round_trips_and_rejects_garbage():
    key = eta.lane_keys(3, "", "NL", "", "DE", "10115")[0]
    assert eta.LaneKey.from_code(key.code) == key
    with pytest.raises(ValueError):
        eta.LaneKey.from_code("lane|1|2")
    with pytest.raises(ValueError):
        eta.LaneKey("planet")


def test_postcode_prefix_is_normalised():
    assert eta.postcode_prefix("sw1a 1aa", 3) == "SW1"
    assert eta.postcode_prefix("1012-AB", 2) == "10"
    assert eta.postcode_prefix(None) == ""
    assert eta.postcode_prefix("75011", 0) == ""
    with pytest.raises(ValueError):
        eta.postcode_prefix("75011", -1)


def test_select_falls_back_to_the_first_level_with_enough_samples():
    lanes = {}
    paris = eta.lane_keys(1, "std", "NL", "NH", "FR", "75011")
    lyon = eta.lane_keys(1, "std", "NL", "NH", "FR", "69001")
    for h in (20, 22, 24):
        eta.fold(lanes, paris, h)
    for h in (40, 42):
        eta.fold(lanes, lyon, h)
    # Paris has 3 of its own: enough with min_samples=3.
    key, stats = eta.select(lanes, paris, min_samples=3)
    assert key.level == "lane" and stats.count == 3
    # Lyon has 2: the destination country (5 transits) answers.
    key, stats = eta.select(lanes, lyon, min_samples=3)
    assert key.level == "dest_country" and stats.count == 5
    # Nobody has 6.
    assert eta.select(lanes, lyon, min_samples=6) == (None, None)
    # The coarse levels are the sum of the fine ones.
    assert lanes[paris[3]].count == 5


# ----------------------------------------------------------------------
# the histogram
# ----------------------------------------------------------------------


def test_fixed_history_percentiles_by_hand():
    stats = eta.TransitStats.of(HISTORY)
    # One transit per bucket, each at its bucket's middle: the estimates are
    # exact. p50: rank 2 -> 30.5. p90: position 4 * 0.9 = 3.6 -> 40.5 + 0.6 *
    # (50.5 - 40.5) = 46.5. Mean 152.5 / 5 = 30.5.
    assert stats.p50 == pytest.approx(30.5)
    assert stats.p90 == pytest.approx(46.5)
    assert stats.mean == pytest.approx(30.5)
    assert stats.count == 5 and stats.max_hours == 50.5


def test_duplicates_in_one_bucket_spread_over_it():
    # 24, 24, 48, 48, 72: bucket 48 holds ranks 2 and 3 at 48.25 and 48.75.
    stats = eta.TransitStats.of([24, 24, 48, 48, 72])
    assert stats.p50 == pytest.approx(48.25)
    assert stats.quantile(1.0) == 72
    assert stats.quantile(0.0) == pytest.approx(24.25)
    assert abs(stats.p50 - mon.percentile([24, 24, 48, 48, 72], 0.5)) <= eta.BUCKET_HOURS


def test_empty_histogram_has_no_figures():
    stats = eta.TransitStats()
    assert stats.p50 is None and stats.mean is None
    assert stats.share_at_or_below(10) == 0.0
    assert stats.conditional_quantile(0.5, 1) is None
    assert eta.predict(stats, T0, T0) is None
    with pytest.raises(ValueError):
        stats.quantile(1.5)
    with pytest.raises(ValueError):
        stats.add(float("nan"))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=eta.MAX_HOURS - 1e-6,
                          allow_nan=False), min_size=1, max_size=200),
       st.floats(min_value=0, max_value=1))
def test_quantile_is_within_one_bucket_of_the_exact_percentile(values, q):
    stats = eta.TransitStats.of(values)
    assert abs(stats.quantile(q) - mon.percentile(values, q)) <= eta.BUCKET_HOURS + 1e-9


def test_quantiles_of_a_realistic_sample_match_exact_percentiles():
    rng = random.Random(3)
    values = [48 * rng.lognormvariate(0, 0.4) for _ in range(5000)]
    stats = eta.TransitStats.of(values)
    for q in (0.1, 0.5, 0.9, 0.99):
        assert stats.quantile(q) == pytest.approx(mon.percentile(values, q), abs=0.5)
    assert stats.mean == pytest.approx(sum(values) / len(values))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=3000, allow_nan=False), max_size=60),
       st.lists(st.floats(min_value=0, max_value=3000, allow_nan=False), max_size=60))
def test_merge_equals_the_histogram_of_both_histories(a, b):
    merged = eta.TransitStats.of(a).merge(eta.TransitStats.of(b))
    whole = eta.TransitStats.of(a + b)
    assert merged.buckets == whole.buckets
    assert merged.count == whole.count
    assert merged.max_hours == whole.max_hours
    assert merged.total_hours == pytest.approx(whole.total_hours)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=3000, allow_nan=False), min_size=1,
                max_size=80))
def test_quantile_grows_with_q_and_json_round_trips(values):
    stats = eta.TransitStats.of(values)
    qs = [stats.quantile(q / 10) for q in range(11)]
    assert all(a <= b + 1e-9 for a, b in zip(qs[:-1], qs[1:], strict=True))
    back = eta.TransitStats.from_json(stats.to_json())
    assert back.buckets == stats.buckets and back.count == stats.count
    assert back.quantile(0.5) == pytest.approx(stats.quantile(0.5))


def test_from_json_refuses_inconsistent_histograms():
    assert eta.TransitStats.from_json("").count == 0
    for bad in ('{"b": {"3": 2}, "n": 5}', '[1, 2]', '{"b": {"3": 1}, "n": 1, "w": 2}',
                "not json", '{"b": {"-1": 1}, "n": 1}'):
        with pytest.raises(ValueError):
            eta.TransitStats.from_json(bad)


def test_transits_beyond_the_last_bucket_are_kept_in_the_overflow():
    stats = eta.TransitStats.of([2000.0, 3000.0])
    assert stats.quantile(1.0) == 3000.0
    assert eta.MAX_HOURS <= stats.quantile(0.0) <= 3000.0


# ----------------------------------------------------------------------
# prediction
# ----------------------------------------------------------------------


def test_prediction_on_time_uses_the_median():
    stats = eta.TransitStats.of(HISTORY)
    # 10 h after hand-over: 30.5 - 10 = 20.5 h to go; promised at 36 h: on time.
    p = eta.predict(stats, T0, T0 + hours(10), promised=T0 + hours(36))
    assert p.predicted_at == T0 + hours(30.5)
    assert p.p90_at == T0 + hours(46.5)
    assert p.remaining_hours == pytest.approx(20.5)
    assert p.elapsed_hours == pytest.approx(10)
    assert not p.late_risk
    assert p.late_hours == pytest.approx(-5.5)


def test_late_risk_when_now_plus_remaining_passes_the_promise():
    stats = eta.TransitStats.of(HISTORY)
    p = eta.predict(stats, T0, T0 + hours(10), promised=T0 + hours(30))
    assert p.late_risk and p.late_hours == pytest.approx(0.5)
    # No promise: never at risk.
    assert not eta.predict(stats, T0, T0 + hours(10)).late_risk


def test_past_the_median_the_remaining_time_is_the_conditional_median():
    stats = eta.TransitStats.of(HISTORY)
    # 35 h elapsed: 3 of 5 transits were shorter (F = 0.6); the median of the
    # longer ones is the quantile 0.6 + 0.4 * 0.5 = 0.8: position 3.2 ->
    # 40.5 + 0.2 * 10 = 42.5 h, so 7.5 h to go. p90 (46.5) is still ahead.
    p = eta.predict(stats, T0, T0 + hours(35), promised=T0 + hours(40))
    assert p.remaining_hours == pytest.approx(7.5)
    assert p.predicted_at == T0 + hours(42.5)
    assert p.p90_at == T0 + hours(46.5)
    assert p.late_risk


def test_later_than_every_transit_expects_one_more_day():
    stats = eta.TransitStats.of(HISTORY)
    now = T0 + hours(60)
    p = eta.predict(stats, T0, now, promised=T0 + hours(100))
    assert p.remaining_hours == eta.OVERDUE_REMAINING_HOURS
    assert p.predicted_at == now + hours(24)
    assert p.p90_at >= p.predicted_at
    assert not p.late_risk


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=500, allow_nan=False), min_size=1,
                max_size=50),
       st.floats(min_value=0, max_value=700))
def test_prediction_is_never_in_the_past_and_p90_never_before_p50(values, elapsed):
    stats = eta.TransitStats.of(values)
    now = T0 + hours(elapsed)
    p = eta.predict(stats, T0, now)
    assert p.predicted_at >= now
    assert p.p90_at >= p.predicted_at
    assert p.remaining_hours >= 0


# ----------------------------------------------------------------------
# backtest
# ----------------------------------------------------------------------


def ship(dest, handed, transit, carrier="A"):
    return eta.Shipment(carrier=carrier, dest_country=dest, handed_over_at=T0 + hours(handed),
                        delivered_at=T0 + hours(handed + transit))


def test_backtest_fixed_history_by_hand():
    history = [ship("FR", 0, 24), ship("DE", 0, 72), ship("FR", 100, 24), ship("DE", 100, 72)]
    result = eta.backtest(history, min_samples=1)
    # The first two have no history. At 100 h the lanes know FR = 24 h and
    # DE = 72 h exactly: errors 0 and 0. The carrier averages 48 h: errors
    # 24 and 24. The carrier's p90 of [24, 72] is 24.5 + 0.9 * 47.5 = 67.25:
    # FR within it, DE not.
    assert result.model.count == 2 and result.model.total == 4
    assert result.model.coverage == 0.5
    assert result.model.mae_hours == pytest.approx(0.0)
    assert result.model.within_p90 == 1.0
    assert result.baseline.count == 2
    assert result.baseline.mae_hours == pytest.approx(24.0)
    assert result.baseline.within_p90 == 0.5
    assert result.mae_ratio == pytest.approx(0.0)


def test_backtest_uses_only_deliveries_before_each_hand_over():
    history = [
        ship("FR", 0, 10),       # delivered at 10 h
        ship("FR", 5, 100),      # handed over earlier, delivered at 105 h: unknown at 20 h
        ship("FR", 10, 50),      # delivered exactly at... 60 h
        ship("FR", 20, 30),      # predicted at 20 h from the first one only
    ]
    result = eta.backtest(history, min_samples=1)
    # At 5 h nothing was delivered; at 10 h nothing before 10 h (strictly);
    # at 20 h only the first one (10 h): error |30 - 10| = 20 for both.
    assert result.model.count == 1
    assert result.model.mae_hours == pytest.approx(20.0)
    assert result.baseline.mae_hours == pytest.approx(20.0)


def test_backtest_without_enough_history_predicts_nothing():
    result = eta.backtest([ship("FR", 0, 10), ship("FR", 20, 10)], min_samples=5)
    assert result.model.count == 0 and result.model.mae_hours is None
    assert result.baseline.within_p90 is None
    assert result.mae_ratio is None
    assert eta.backtest([]).model.coverage is None


def test_lane_model_beats_the_carrier_average_when_lanes_differ():
    history = eta.synthetic_history(3000, seed=11)
    result = eta.backtest(history, min_samples=5)
    assert result.model.count == result.baseline.count > 2500
    assert result.model.mae_hours < 0.6 * result.baseline.mae_hours
    assert result.model.within_p90 >= 0.8


def test_synthetic_history_is_deterministic_and_lane_dependent():
    a = eta.synthetic_history(200, seed=5)
    assert a == eta.synthetic_history(200, seed=5)
    assert a != eta.synthetic_history(200, seed=6)
    assert all(s.delivered_at > s.handed_over_at for s in a)
    assert all(s.delivered_at.weekday() != 6 for s in a)


def test_late_risk_rule_kind_is_picking_scoped_and_counts_hours_late():
    rule = mon.Rule(kind="late_risk", threshold=0)
    assert rule.scope == "picking"
    assert rule.breached(0.5) and not rule.breached(0.0) and not rule.breached(None)
    with pytest.raises(ValueError):
        mon.Rule(kind="late_risk", threshold=0, operator="<")
