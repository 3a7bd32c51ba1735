from datetime import datetime, timedelta

import pytest

from shipsync import monitor as mon

T0 = datetime(2026, 11, 2, 8, 0)


def test_percentile_interpolates_like_percentile_cont():
    assert mon.percentile([1, 2, 3, 4], 0.5) == 2.5
    assert mon.percentile([10], 0.95) == 10
    assert mon.percentile(range(1, 101), 0.95) == pytest.approx(95.05)
    assert mon.percentile([], 0.5) is None


def test_percentile_rejects_quantile_outside_unit_interval():
    with pytest.raises(ValueError):
        mon.percentile([1], 1.5)


def test_rate_of_nothing_is_none():
    assert mon.rate(1, 0) is None
    assert mon.rate(1, 4) == 0.25


def test_sla_status_turns_warning_then_late():
    opened = T0
    assert mon.sla_status(opened, "sync_failed", T0 + timedelta(minutes=30)) == "ok"
    assert mon.sla_status(opened, "sync_failed", T0 + timedelta(minutes=95)) == "warning"
    assert mon.sla_status(opened, "sync_failed", T0 + timedelta(hours=2)) == "late"
    assert mon.sla_status(opened, "sync_failed", T0 + timedelta(hours=2),
                          overrides={"sync_failed": 10}) == "ok"
    assert mon.sla_deadline(opened, "unknown_reason") == T0 + timedelta(hours=24)


def test_age_buckets_cover_every_age():
    assert mon.age_bucket(T0, T0) == "lt_1h"
    assert mon.age_bucket(T0, T0 + timedelta(hours=3)) == "1h_4h"
    assert mon.age_bucket(T0, T0 + timedelta(hours=30)) == "1d_3d"
    assert mon.age_bucket(T0, T0 + timedelta(days=30)) == "gt_3d"


def test_rule_rejects_bad_values():
    with pytest.raises(ValueError):
        mon.Rule(kind="nope", threshold=1)
    with pytest.raises(ValueError):
        mon.Rule(kind="queue_depth", threshold=-1)
    with pytest.raises(ValueError):
        mon.Rule(kind="milestone_age", threshold=30)
    with pytest.raises(ValueError):
        mon.Rule(kind="failure_rate", threshold=20, window_minutes=0)


def test_rule_breach_uses_its_operator():
    rule = mon.Rule(kind="queue_depth", threshold=500)
    assert not rule.breached(500)
    assert rule.breached(501)
    assert not rule.breached(None)
    assert mon.Rule(kind="queue_depth", threshold=500, operator=">=").breached(500)


def test_milestone_age_cutoff_and_window():
    rule = mon.Rule(kind="milestone_age", threshold=30, milestone="packed")
    assert rule.age_cutoff(T0) == T0 - timedelta(minutes=30)
    assert rule.scope == "picking"
    assert mon.Rule(kind="failure_rate", threshold=20).window_start(T0) == \
        T0 - timedelta(minutes=15)


def test_failure_rate_ignores_cancelled_and_needs_minimum_samples():
    assert mon.failure_rate_percent(["done", "retry", "dead", "done", "cancelled"]) == 50.0
    assert mon.failure_rate_percent(["dead"], min_samples=5) is None
    rule = mon.Rule(kind="failure_rate", threshold=20, min_samples=2)
    assert mon.measure(rule, ["done", "retry"]) == 50.0
    assert rule.breached(mon.measure(rule, ["done", "retry"]))


def test_measure_queue_depth_and_webhook_delay():
    assert mon.measure(mon.Rule(kind="queue_depth", threshold=1), [42]) == 42
    assert mon.measure(mon.Rule(kind="queue_depth", threshold=1), []) == 0
    delay = mon.Rule(kind="webhook_delay_p95", threshold=300)
    assert mon.measure(delay, []) is None
    assert mon.measure(delay, [1, 2, 3, 400]) == pytest.approx(340.45)


def test_breach_plan_notifies_only_new_breaches_and_clears_ended_ones():
    plan = mon.plan_breaches(open_keys=[1, 2], breaching=[2, 3])
    assert plan.opened == (3,)
    assert plan.continuing == (2,)
    assert plan.cleared == (1,)
    assert plan.notify == (3,)
    again = mon.plan_breaches(open_keys=[2, 3], breaching=[2, 3])
    assert again.notify == ()
    assert again.cleared == ()


def test_render_prometheus_text_with_escaped_labels():
    fam = mon.MetricFamily("shipsync_jobs", "gauge", "Jobs by state\nper partner")
    fam.add(3, {"partner": 'a"b\\c', "state": "pending"})
    fam.add(0.5, {"partner": "x", "state": "dead"})
    text = mon.render([fam, mon.MetricFamily("shipsync_up", "gauge", "up").add(1)])
    assert "# HELP shipsync_jobs Jobs by state\\nper partner\n" in text
    assert "# TYPE shipsync_jobs gauge\n" in text
    assert 'shipsync_jobs{partner="a\\"b\\\\c",state="pending"} 3\n' in text
    assert "shipsync_up 1\n" in text
    parsed = mon.parse_text(text)
    assert parsed[("shipsync_jobs", (("partner", 'a"b\\c'), ("state", "pending")))] == 3
    assert parsed[("shipsync_jobs", (("partner", "x"), ("state", "dead")))] == 0.5


def test_render_refuses_invalid_names_and_duplicates():
    with pytest.raises(ValueError):
        mon.MetricFamily("bad-name", "gauge", "x")
    with pytest.raises(ValueError):
        mon.MetricFamily("ok", "nope", "x")
    fam = mon.MetricFamily("ok", "gauge", "x").add(1, {"bad-label": 1})
    with pytest.raises(ValueError):
        mon.render([fam])
    with pytest.raises(ValueError):
        mon.render([mon.MetricFamily("a", "gauge", "x"), mon.MetricFamily("a", "gauge", "x")])


def test_histogram_buckets_are_cumulative_with_sum_and_count():
    fam = mon.histogram("d", "delay", {("p",): [0.2, 3, 700]}, ["partner"],
                        buckets=(1, 10, 600))
    parsed = mon.parse_text(mon.render([fam]))
    assert parsed[("d_bucket", (("partner", "p"), ("le", "1")))] == 1
    assert parsed[("d_bucket", (("partner", "p"), ("le", "10")))] == 2
    assert parsed[("d_bucket", (("partner", "p"), ("le", "600")))] == 2
    assert parsed[("d_bucket", (("partner", "p"), ("le", "+Inf")))] == 3
    assert parsed[("d_sum", (("partner", "p"),))] == pytest.approx(703.2)
    assert parsed[("d_count", (("partner", "p"),))] == 3


def test_histogram_from_sql_counts_matches_raw_histogram():
    raw = mon.render([mon.histogram("d", "h", {("p",): [0.2, 3, 700]}, ["partner"],
                                    buckets=(1, 10))])
    agg = mon.render([mon.histogram_from_counts("d", "h", {("p",): ([1, 2], 703.2, 3)},
                                                ["partner"], buckets=(1, 10))])
    assert raw == agg
    with pytest.raises(ValueError):
        mon.histogram_from_counts("d", "h", {("p",): ([1], 1.0, 1)}, ["partner"],
                                  buckets=(1, 10))
