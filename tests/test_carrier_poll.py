"""Adaptive tracking polls: pure policy."""

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipsync import carrier_poll as cp
from shipsync.milestones import RANK, TERMINAL

NOW = datetime(2026, 11, 2, 12, 0)
POLICY = cp.PollPolicy(min_interval=900, max_interval=14400, hot_interval=1800, batch_size=3)


def ship(key, milestone="in_transit", due_in=None, codes=None, interval=0.0):
    return cp.Shipment(key=key, tracking_numbers=tuple(codes or [f"T{key}"]),
                       milestone=milestone, interval=interval,
                       next_poll_at=None if due_in is None else NOW + timedelta(seconds=due_in))


def test_news_resets_the_interval_to_the_minimum():
    assert cp.next_interval(POLICY, 7200, True, "in_transit") == 900


def test_quiet_polls_back_off_up_to_the_maximum():
    intervals, current = [], 0.0
    for _ in range(8):
        current = cp.next_interval(POLICY, current, False, "in_transit")
        intervals.append(current)
    assert intervals[:5] == [900, 1800, 3600, 7200, 14400]
    assert intervals[-1] == 14400


def test_shipments_close_to_delivery_are_polled_at_least_every_hot_interval():
    assert cp.next_interval(POLICY, 14400, False, "out_for_delivery") == 1800


@pytest.mark.parametrize("milestone", sorted(TERMINAL))
def test_terminal_milestones_are_never_polled_again(milestone):
    assert cp.next_interval(POLICY, 900, True, milestone) is None
    assert cp.next_poll_at(POLICY, NOW, 900, True, milestone) == (None, 0.0)
    assert cp.due([ship(1, milestone)], NOW) == []


def test_due_takes_never_polled_first_then_oldest_due():
    ships = [ship(1, due_in=-10), ship(2), ship(3, due_in=-500), ship(4, due_in=60)]
    assert [s.key for s in cp.due(ships, NOW)] == [2, 3, 1]


def test_plan_batches_tracking_numbers():
    ships = [ship(i) for i in range(7)]
    plan = cp.plan(POLICY, ships, NOW)
    assert plan.request_count == 3
    assert [len(b) for b in plan.batches] == [3, 3, 1]
    assert plan.by_tracking["T5"] == 5


def test_a_shipment_with_several_parcels_stays_in_one_run():
    ships = [ship(1, codes=["A", "B"]), ship(2, codes=["C", "D"])]
    plan = cp.plan(POLICY, ships, NOW)
    assert sorted(c for b in plan.batches for c in b) == ["A", "B", "C", "D"]


def test_rate_limit_caps_the_requests_and_defers_the_rest():
    policy = cp.PollPolicy(min_interval=900, max_interval=3600, batch_size=2,
                           rate_limit_per_minute=2)
    now_ts = 1_000_000.0
    plan = cp.plan(policy, [ship(i) for i in range(6)], NOW, recent=[now_ts - 10], now_ts=now_ts)
    assert plan.request_count == 1
    assert len(plan.shipments) == 2 and len(plan.deferred) == 4
    full = cp.plan(policy, [ship(1)], NOW, recent=[now_ts - 10, now_ts - 20], now_ts=now_ts)
    assert full.request_count == 0 and full.wait == pytest.approx(40.0)


def test_requests_older_than_a_minute_do_not_count():
    policy = cp.PollPolicy(rate_limit_per_minute=1)
    assert cp.request_budget(policy, [0.0], 61.0) == (1, None)


def test_bad_policies_are_refused():
    with pytest.raises(ValueError):
        cp.PollPolicy(min_interval=0)
    with pytest.raises(ValueError):
        cp.PollPolicy(min_interval=100, max_interval=10)
    with pytest.raises(ValueError):
        cp.PollPolicy(batch_size=0)


@given(st.lists(st.sampled_from(sorted(RANK)), max_size=30), st.integers(1, 5))
def test_plan_never_polls_terminal_shipments_nor_exceeds_its_budget(milestones, limit):
    policy = cp.PollPolicy(batch_size=2, rate_limit_per_minute=limit)
    ships = [ship(i, m) for i, m in enumerate(milestones)]
    plan = cp.plan(policy, ships, NOW, now_ts=0.0)
    assert plan.request_count <= limit
    assert all(s.milestone not in TERMINAL and s.milestone for s in plan.shipments)
    polled = {c for b in plan.batches for c in b}
    assert polled == {c for s in plan.shipments for c in s.tracking_numbers}
