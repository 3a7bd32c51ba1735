"""Webhook silence policy (shipsync.silence): what is learned, when a partner is silent,
when it is back."""

from datetime import datetime, timedelta

import pytest

from shipsync import silence as si

T0 = datetime(2026, 3, 2, 8, 0, 0)
POLICY = si.SilencePolicy(factor=3.0, quantile=0.9, min_samples=5, floor_seconds=60.0,
                          burst_seconds=5.0)


def every(minutes, count, start=T0):
    return [start + timedelta(minutes=minutes * i) for i in range(count)]


def test_in_transit_is_what_the_carrier_holds():
    assert {"picked_up", "in_transit", "out_for_delivery", "delivery_attempted",
            "available_for_pickup", "returning"} == si.IN_TRANSIT
    assert not si.IN_TRANSIT & {"delivered", "packed", "handed_over", "label_created"}


def test_gaps_merge_bursts_and_sort():
    times = [T0 + timedelta(seconds=s) for s in (600, 0, 2, 4, 1200, 1203)]
    assert si.arrival_gaps(times, burst_seconds=5) == [596.0, 600.0]
    assert si.arrival_gaps(times) == [2.0, 2.0, 596.0, 600.0, 3.0]
    assert si.arrival_gaps([]) == [] and si.arrival_gaps([T0]) == []


def test_usual_gap_needs_samples_and_has_a_floor():
    assert si.usual_gap([600.0] * 4, POLICY) is None
    assert si.usual_gap([600.0] * 5, POLICY) == 600.0
    assert si.usual_gap([10.0] * 5, POLICY) == 60.0  # the floor
    # robust: one long night among many short gaps does not move it
    assert si.usual_gap([600.0] * 19 + [36000.0], POLICY) == 600.0
    # the 90th percentile, interpolated (shipsync.monitor.percentile)
    assert si.usual_gap([float(m * 60) for m in range(1, 12)], POLICY) == 600.0
    assert si.usual_gap([float(m * 60) for m in range(1, 11)], POLICY) == 546.0


def test_a_partner_is_learning_until_it_has_enough_gaps():
    a = si.assess(T0 + timedelta(days=1), every(10, 5), 3, POLICY)
    assert (a.state, a.samples, a.usual_gap, a.threshold) == ("learning", 4, None, None)
    assert not a.silent


def test_silent_past_factor_times_the_usual_gap_when_shipments_are_in_transit():
    arrivals = every(10, 10)  # every 10 minutes until T0+90 min
    last = arrivals[-1]
    at_threshold = si.assess(last + timedelta(minutes=30), arrivals, 3, POLICY)
    assert (at_threshold.state, at_threshold.usual_gap, at_threshold.threshold) == (
        "push", 600.0, 1800.0)
    past = si.assess(last + timedelta(minutes=30, seconds=1), arrivals, 3, POLICY)
    assert past.silent and past.quiet_for == 1801.0
    nothing_owed = si.assess(last + timedelta(hours=5), arrivals, 0, POLICY)
    assert nothing_owed.state == "push"


def test_back_to_push_when_a_webhook_returns():
    arrivals = every(10, 10)
    since = arrivals[-1] + timedelta(minutes=31)
    still = si.assess(since + timedelta(hours=2), arrivals, 3, POLICY, silent_since=since)
    assert still.silent
    back = si.assess(since + timedelta(hours=2), arrivals + [since + timedelta(hours=1)], 3,
                     POLICY, silent_since=since)
    assert back.state == "push"
    done = si.assess(since + timedelta(hours=2), arrivals, 0, POLICY, silent_since=since)
    assert done.state == "push"


@pytest.mark.parametrize("kwargs", [
    {"factor": 0.5}, {"quantile": 0}, {"quantile": 1.01}, {"min_samples": 0},
    {"floor_seconds": 0}, {"burst_seconds": -1}, {"window_hours": 0}, {"max_samples": 1},
])
def test_bad_policies_are_refused(kwargs):
    with pytest.raises(ValueError):
        si.SilencePolicy(**kwargs)
