"""The circuit breaker with real epoch-second clocks (around 1.8e9 s, as the
outbox passes them), its defaults and its boundaries pinned by literal values."""

from hypothesis import given, settings
from hypothesis import strategies as st

from shipsync.breaker import (
    STATES,
    BreakerConfig,
    BreakerState,
    allow,
    from_dict,
    is_open,
    on_failure,
    on_success,
    to_dict,
)

T = 1_800_000_000.0  # 2027-01-15, epoch seconds
RATE = BreakerConfig(failure_threshold=100, failure_rate=0.5, window_seconds=60, min_calls=4,
                     cooldown_seconds=30)


def run(cfg, outcomes, start=T, step=1.0, st_=None):
    st_ = st_ or BreakerState()
    now = start
    for outcome in outcomes:
        st_ = (on_failure if outcome == "F" else on_success)(cfg, st_, now)
        now += step
    return st_


def test_defaults_and_states_are_pinned():
    assert BreakerConfig() == BreakerConfig(failure_threshold=5, failure_rate=0.5,
                                            window_seconds=60, min_calls=10, cooldown_seconds=30)
    assert BreakerState() == BreakerState("closed", 0, None, None, None, 0, 0)
    assert STATES == ("closed", "open", "half_open")


def test_rate_opens_at_epoch_scale_within_one_window():
    # 4 failures in 4 seconds: consecutive threshold (100) far away, the rate opens it.
    st_ = run(RATE, "FFFF")
    assert (st_.state, st_.opened_at) == ("open", T + 3)


def test_window_counts_calls_at_epoch_scale():
    st_ = run(RATE, "SSF")
    assert (st_.window_start, st_.window_calls, st_.window_failures) == (T, 3, 1)


def test_rate_exactly_at_the_threshold_with_exactly_min_calls_opens():
    st_ = run(RATE, "SFSF")  # 4 calls (= min_calls), 2 failures (= 50 %)
    assert st_.state == "open" and st_.opened_at == T + 3


def test_rate_below_the_threshold_stays_closed():
    st_ = run(RATE, "SSSF")  # 25 %
    assert st_.state == "closed" and st_.window_failures == 1 and st_.window_calls == 4


def test_rate_is_not_judged_below_min_calls():
    st_ = run(RATE, "SFF")  # 67 % of 3 calls
    assert st_.state == "closed"


def test_a_single_failure_opens_with_min_calls_one():
    cfg = BreakerConfig(failure_threshold=100, failure_rate=1.0, min_calls=1)
    assert on_failure(cfg, BreakerState(), T).state == "open"


def test_consecutive_failures_open_exactly_at_the_threshold():
    cfg = BreakerConfig(failure_threshold=3, min_calls=1000)
    assert run(cfg, "FF").state == "closed"
    st_ = run(cfg, "FFF")
    assert st_.state == "open" and st_.consecutive_failures == 3


def test_window_ends_exactly_window_seconds_after_its_start():
    st_ = run(RATE, "SSS", step=1.0)  # window starts at T
    kept = on_failure(RATE, st_, T + 59.5)
    assert (kept.window_start, kept.window_calls) == (T, 4)
    fresh = on_failure(RATE, st_, T + 60)
    assert (fresh.window_start, fresh.window_calls, fresh.window_failures) == (T + 60, 1, 1)


def test_a_clock_going_backwards_starts_a_new_window():
    st_ = run(RATE, "SS", start=T)
    back = on_success(RATE, st_, T - 5)
    assert (back.window_start, back.window_calls) == (T - 5, 1)


def test_cooldown_ends_exactly_cooldown_seconds_after_opening():
    st_ = run(RATE, "FFFF")
    opened = st_.opened_at
    assert allow(RATE, st_, opened + 29.9) == (False, st_)
    ok, probe = allow(RATE, st_, opened + 30)
    assert ok and probe.state == "half_open" and probe.probe_started_at == opened + 30
    assert is_open(RATE, st_, opened + 29.9) and not is_open(RATE, st_, opened + 30)


def test_failed_probe_after_a_rate_based_opening_reopens_with_a_fresh_cooldown():
    st_ = run(RATE, "SFSF")
    assert st_.state == "open" and st_.consecutive_failures == 1
    ok, st_ = allow(RATE, st_, T + 40)
    assert ok and st_.state == "half_open"
    st_ = on_failure(RATE, st_, T + 41)
    assert to_dict(st_) == {"state": "open", "consecutive_failures": 2, "opened_at": T + 41,
                            "probe_started_at": None, "window_start": None,
                            "window_calls": 0, "window_failures": 0}
    assert allow(RATE, st_, T + 70.9)[0] is False
    assert allow(RATE, st_, T + 71)[0] is True


def test_successful_probe_closes_to_a_fresh_state():
    st_ = allow(RATE, run(RATE, "FFFF"), T + 100)[1]
    assert on_success(RATE, st_, T + 101) == BreakerState()


def test_open_without_date_lets_a_probe_through():
    ok, st_ = allow(RATE, BreakerState(state="open"), T)
    assert ok and st_.state == "half_open" and st_.probe_started_at == T


def test_half_open_without_probe_lets_one_through():
    ok, st_ = allow(RATE, BreakerState(state="half_open"), T)
    assert ok and st_.probe_started_at == T
    assert allow(RATE, st_, T + 29.9)[0] is False


def test_closed_allows_without_touching_the_state():
    st_ = run(RATE, "SF")
    assert allow(RATE, st_, T + 10) == (True, st_)


def test_success_in_closed_resets_the_run_of_failures_but_keeps_counting():
    st_ = run(RATE, "FFS")
    assert (st_.consecutive_failures, st_.window_calls, st_.window_failures) == (0, 3, 2)


def test_stored_open_state_reloads_as_open():
    st_ = run(RATE, "FFFF")
    stored = to_dict(st_)
    assert stored["state"] == "open"
    assert from_dict(stored) == st_
    assert is_open(RATE, from_dict(stored), T + 10)
    assert from_dict({"state": "half_open", "probe_started_at": T}).state == "half_open"
    assert from_dict({}) == BreakerState()
    assert from_dict({"window_calls": 3}).window_calls == 3


# -- properties at epoch scale ------------------------------------------------------------------

clocks = st.floats(1.7e9, 1.9e9, allow_nan=False)
outcome_runs = st.lists(st.sampled_from("SF"), min_size=1, max_size=30)


@settings(max_examples=200, deadline=None)
@given(start=clocks, outcomes=outcome_runs)
def test_rate_based_opening_does_not_depend_on_the_epoch(start, outcomes):
    # The same calls one second apart give the same verdict at any epoch: the
    # window is measured from its start, not from the clock's origin.
    at_zero = run(RATE, outcomes, start=0.0)
    at_epoch = run(RATE, outcomes, start=start)
    assert at_epoch.state == at_zero.state
    assert at_epoch.window_calls == at_zero.window_calls
    assert at_epoch.window_failures == at_zero.window_failures


@settings(max_examples=200, deadline=None)
@given(start=clocks, outcomes=outcome_runs)
def test_window_matches_a_model_at_epoch_scale(start, outcomes):
    # Model: calls one second apart inside one 60 s window; opens as soon as
    # failures / calls >= 0.5 with >= 4 calls, judged on a failure only.
    st_, calls, failures = BreakerState(), 0, 0
    now = start
    expected_open = False
    for outcome in outcomes:
        if expected_open:
            break
        calls += 1
        failures += outcome == "F"
        if outcome == "F" and calls >= 4 and failures / calls >= 0.5:
            expected_open = True
        st_ = (on_failure if outcome == "F" else on_success)(RATE, st_, now)
        now += 1
        assert (st_.state == "open") == expected_open
        if not expected_open:
            assert (st_.window_start, st_.window_calls, st_.window_failures) == (
                start, calls, failures)


@settings(max_examples=200, deadline=None)
@given(start=clocks, wait=st.integers(0, 240).map(lambda half_seconds: half_seconds / 2))
def test_cooldown_at_epoch_scale(start, wait):
    # Half seconds: exact in a float at 1.8e9, so the boundary is the rule's, not rounding's.
    st_ = run(RATE, "FFFF", start=start)
    ok, _ = allow(RATE, st_, st_.opened_at + wait)
    assert ok == (wait >= 30)


def test_calls_at_the_same_instant_stay_in_one_window():
    st_ = run(RATE, "SSS", step=0.0)
    assert (st_.window_start, st_.window_calls) == (T, 3)
    assert run(RATE, "SFSF", step=0.0).state == "open"
