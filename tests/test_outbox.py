import json
import math
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipsync import outbox
from shipsync.adapters.base import CarrierError, InvalidInput, TransientError
from shipsync.breaker import BreakerConfig
from shipsync.retry import MAX_RETRY_AFTER, RetryPolicy
from shipsync.signatures import StandardWebhooks
from shipsync.transport import HttpResult

NOW = datetime(2025, 3, 1, 12, 0, 0)
T0 = outbox.epoch(NOW)
POLICY = outbox.OutboundPolicy(
    retry=RetryPolicy(max_attempts=4, base=2, cap=60),
    breaker=BreakerConfig(failure_threshold=3, cooldown_seconds=30, min_calls=10),
)


def http(status, body=b"{}", error_class=None, retry_after=None):
    if error_class is None and status is not None and status >= 400:
        error_class = {429: "http_429"}.get(status, "http_5xx" if status >= 500 else "http_4xx")
    return HttpResult(status, {}, body, 3, error_class, "", retry_after)


# --------------------------------------------------------------------------- policy
def test_policy_requires_timeouts_and_sane_values():
    with pytest.raises(ValueError, match="timeouts"):
        outbox.OutboundPolicy(connect_timeout=0)
    with pytest.raises(ValueError, match="concurrency"):
        outbox.OutboundPolicy(max_concurrency=0)
    with pytest.raises(ValueError, match="cap"):
        outbox.OutboundPolicy(retry=RetryPolicy(base=10, cap=5))
    # A short lease, renewed by the worker's heartbeat while the call is in flight.
    lease = outbox.OutboundPolicy(connect_timeout=2, read_timeout=300).lease_seconds
    assert lease == outbox.LEASE_SECONDS
    assert outbox.HEARTBEAT_SECONDS * 3 <= lease


# --------------------------------------------------------------------------- settle
def test_success_is_done_and_a_breaker_success():
    s = outbox.settle(POLICY, 1, outbox.as_outcome(http(201)), NOW)
    assert (s.state, s.breaker_signal, s.error_class) == ("done", "success", None)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_retried_with_jittered_backoff_and_counts_against_the_breaker(status):
    s = outbox.settle(POLICY, 2, outbox.as_outcome(http(status)), NOW, rng=lambda: 0.5)
    assert s.state == "pending" and s.error_class == "http_5xx"
    assert s.delay == 2.0  # 0.5 * min(60, 2 * 2 ** 1)
    assert s.next_attempt_at == NOW + timedelta(seconds=2)
    assert s.breaker_signal == "failure"


def test_retry_after_seconds_overrides_the_backoff_on_429():
    s = outbox.settle(POLICY, 1, outbox.as_outcome(http(429, retry_after="120")), NOW)
    assert (s.state, s.delay, s.error_class) == ("pending", 120.0, "http_429")
    assert s.next_attempt_at == NOW + timedelta(seconds=120)
    assert s.breaker_signal is None  # the partner is up, just asking us to slow down


def test_retry_after_http_date_on_503():
    later = "Sat, 01 Mar 2025 12:05:00 GMT"
    s = outbox.settle(POLICY, 1, outbox.as_outcome(http(503, retry_after=later)), NOW)
    assert s.delay == 300.0


def test_final_4xx_is_dead_at_once_and_proves_the_partner_is_up():
    s = outbox.settle(POLICY, 1, outbox.as_outcome(http(400)), NOW)
    assert (s.state, s.error_class, s.breaker_signal) == ("dead", "http_4xx", "success")


def test_408_is_retried_and_a_failure():
    s = outbox.settle(POLICY, 1, outbox.as_outcome(http(408)), NOW, rng=lambda: 0)
    assert (s.state, s.breaker_signal) == ("pending", "failure")


@pytest.mark.parametrize("error_class", ["network", "timeout"])
def test_network_and_timeout_are_retried(error_class):
    s = outbox.settle(POLICY, 1, outbox.as_outcome(http(None, b"", error_class)), NOW)
    assert s.state == "pending" and s.error_class == error_class


def test_attempts_exhausted_is_dead():
    s = outbox.settle(POLICY, 4, outbox.as_outcome(http(503)), NOW)
    assert s.state == "dead" and "exhausted" in s.reason


def test_cancel_outcome():
    s = outbox.settle(POLICY, 1, outbox.Outcome(cancel=True, error="archived"), NOW)
    assert (s.state, s.breaker_signal) == ("cancelled", None)


@given(
    attempt=st.integers(min_value=1, max_value=50),
    status=st.sampled_from([None, 200, 204, 400, 404, 408, 409, 422, 429, 500, 503]),
    r=st.floats(min_value=0, max_value=1),
)
def test_settle_never_waits_beyond_the_cap_nor_retries_past_the_budget(attempt, status, r):
    result = http(status, b"", "network" if status is None else None)
    s = outbox.settle(POLICY, attempt, outbox.as_outcome(result), NOW, rng=lambda: r)
    assert s.state in ("done", "pending", "dead")
    if s.state == "pending":
        assert attempt < POLICY.retry.max_attempts
        assert 0 <= s.delay <= POLICY.retry.cap
    if status in (400, 404, 409, 422):
        assert s.state == "dead"


def test_lease_expired_retries_at_once_until_the_budget_is_spent():
    s = outbox.lease_expired(POLICY, 1, "host:1")
    assert (s.state, s.delay, s.breaker_signal) == ("pending", 0.0, None)
    assert "host:1" in s.reason
    assert outbox.lease_expired(POLICY, 4, "w").state == "dead"


# --------------------------------------------------------------------------- outcomes
def test_outcome_from_adapter_errors():
    o = outbox.outcome_from_exception(TransientError("x", http_status=503, retry_after=30))
    assert (o.status, o.error_class, o.retry_after) == (503, "http_5xx", "30")
    o = outbox.outcome_from_exception(TransientError("x", code="timeout"))
    assert (o.status, o.error_class) == (None, "timeout")
    o = outbox.outcome_from_exception(CarrierError("no such service", http_status=422))
    assert (o.status, o.error_class) == (422, "http_4xx")
    o = outbox.outcome_from_exception(InvalidInput("missing weight"))
    assert o.error_class == "adapter_error"
    assert outbox.settle(POLICY, 1, o, NOW).state == "dead"
    o = outbox.outcome_from_exception(KeyError("bug"))
    assert o.error_class == "adapter_error" and "KeyError" in o.error


def test_as_outcome_rejects_non_outcomes_as_adapter_errors():
    assert outbox.as_outcome(None).error_class == "adapter_error"
    assert outbox.as_outcome({"status": 200}).error_class == "adapter_error"


def test_result_and_excerpt_are_bounded():
    o = outbox.as_outcome(http(200, json.dumps({"id": "x"}).encode()))
    assert o.result() == {"id": "x"}
    assert outbox.as_outcome(http(200, b"<html>")).result() is None
    assert outbox.Outcome(status=200, data={"a": 1}, body=b"{}").result() == {"a": 1}
    big = outbox.as_outcome(http(400, "é".encode() * 5000))
    assert len(big.excerpt()) == 2000  # characters kept on an attempt
    assert big.result(limit=10) is None


# --------------------------------------------------------------------------- breaker
def test_breaker_opens_waits_probes_once_and_closes():
    cfg = POLICY.breaker
    state = {}
    for i in range(3):
        assert outbox.breaker_admit(cfg, state, T0 + i)[0]
        state = outbox.breaker_report(cfg, state, "failure", T0 + i)
    assert state["state"] == "open"
    assert outbox.breaker_admit(cfg, state, T0 + 10)[0] is False
    assert outbox.breaker_reopens_in(cfg, state, T0 + 10) == 22
    allowed, probe, state = outbox.breaker_admit(cfg, state, T0 + 33)
    assert allowed and probe and state["state"] == "half_open"
    assert outbox.breaker_admit(cfg, state, T0 + 34)[0] is False  # single probe
    state = outbox.breaker_report(cfg, state, "success", T0 + 35)
    assert state["state"] == "closed"


def test_neutral_probe_outcome_frees_the_probe_slot():
    cfg = POLICY.breaker
    state = {"state": "half_open", "probe_started_at": T0, "opened_at": T0 - 40}
    state = outbox.breaker_report(cfg, state, None, T0 + 1)
    assert state["state"] == "half_open" and state["probe_started_at"] is None
    assert outbox.breaker_admit(cfg, state, T0 + 2)[:2] == (True, True)


# --------------------------------------------------------------------------- claiming
def plan(**kw):
    args = dict(
        channel="high", want=10, busy=0, high_ready=False, recent_calls=[], now_ts=T0,
    )
    args.update(kw)
    policy = args.pop("policy", POLICY)
    state = args.pop("state", {})
    return outbox.plan_claim(policy, state, **args)


def test_plan_claims_up_to_the_free_call_slots():
    p = plan()  # max concurrency 4: four calls in flight at most
    assert (p.limit, p.probe, p.reason) == (4, False, "ok")
    assert plan(want=2).limit == 2
    wide = outbox.OutboundPolicy(max_concurrency=32)
    assert plan(policy=wide).limit == 10


def test_plan_respects_max_concurrency_in_calls_across_workers():
    assert plan(busy=4).reason == "concurrency"
    assert plan(busy=3).limit == 1
    assert plan(busy=9).limit == 0


def test_low_never_takes_the_last_slot_while_high_is_ready():
    one = outbox.OutboundPolicy(max_concurrency=1)
    assert plan(policy=one, channel="low", high_ready=True).limit == 0
    assert plan(policy=one, channel="low", high_ready=False).limit == 1
    assert plan(policy=one, channel="high", high_ready=True).limit == 1
    two = outbox.OutboundPolicy(max_concurrency=2)
    assert plan(policy=two, channel="low", high_ready=True).limit == 1
    assert plan(policy=two, channel="low", high_ready=True, busy=1).limit == 0


def test_plan_respects_the_rate_limit_and_says_how_long_to_wait():
    limited = outbox.OutboundPolicy(rate_limit_per_minute=5)
    p = plan(policy=limited, recent_calls=[T0 - 50, T0 - 40, T0 - 1], busy=1)
    assert p.limit == 1
    p = plan(policy=limited, recent_calls=[T0 - 50, T0 - 40, T0 - 1], busy=2)
    assert (p.limit, p.reason, p.wait) == (0, "rate_limit", 10.0)


def test_a_paused_partner_is_not_called_before_the_pause_ends():
    p = plan(paused_until=T0 + 5)
    assert (p.limit, p.reason, p.wait) == (0, "paused", 5.0)
    # The pause comes before everything, even a breaker due for its probe.
    opened = {"state": "open", "opened_at": T0 - 40}
    p = plan(state=opened, paused_until=T0 + 1)
    assert (p.limit, p.reason, p.breaker) == (0, "paused", opened)
    assert plan(paused_until=T0).limit == 4
    assert plan(paused_until=T0 - 100).limit == 4


def test_429_and_503_with_retry_after_pause_the_partner():
    for status in (429, 503):
        pause = outbox.partner_pause(outbox.as_outcome(http(status, retry_after="5")), T0)
        assert pause.until == T0 + 5
        assert f"HTTP {status}" in pause.reason and "Retry-After: 5" in pause.reason
    # An HTTP-date (RFC 9110 IMF-fixdate) gives the same moment.
    date = "Sat, 01 Mar 2025 12:00:30 GMT"
    assert outbox.partner_pause(outbox.as_outcome(http(429, retry_after=date)), T0).until == (
        T0 + 30)
    # Anything else pauses nothing: the job's own backoff applies.
    assert outbox.partner_pause(outbox.as_outcome(http(429)), T0) is None
    assert outbox.partner_pause(outbox.as_outcome(http(500, retry_after="5")), T0) is None
    assert outbox.partner_pause(outbox.as_outcome(http(429, retry_after="soon")), T0) is None
    assert outbox.partner_pause(outbox.as_outcome(http(503, retry_after="0")), T0) is None
    assert outbox.partner_pause(outbox.as_outcome(http(200, retry_after="5")), T0) is None
    capped = outbox.partner_pause(outbox.as_outcome(http(429, retry_after="9999999")), T0)
    assert capped.until == T0 + MAX_RETRY_AFTER


def test_a_pause_only_grows():
    long, short = outbox.Pause(T0 + 60, "long"), outbox.Pause(T0 + 5, "short")
    assert outbox.merge_pause(None, None, short) == (T0 + 5, "short")
    assert outbox.merge_pause(T0 + 5, "short", long) == (T0 + 60, "long")
    assert outbox.merge_pause(T0 + 60, "long", short) == (T0 + 60, "long")
    assert outbox.merge_pause(T0 + 60, "long", None) == (T0 + 60, "long")


def test_the_pause_gate_holds_calls_claimed_before_the_429_came_back():
    gate = outbox.PauseGate()
    assert gate.held("p1", T0) == 0.0
    # A thread's own 429 holds the partner's other calls at once, not its neighbours'.
    pause = gate.learn("p1", outbox.as_outcome(http(429, retry_after="5")), T0)
    assert pause.until == T0 + 5
    assert gate.held("p1", T0 + 0.001) == pytest.approx(4.999)
    assert gate.held("p2", T0) == 0.0
    # Answers without a pause teach nothing; a shorter pause does not shorten it.
    assert gate.learn("p1", outbox.as_outcome(http(200)), T0) is None
    gate.merge("p1", T0 + 1)
    gate.merge("p1", None)
    assert gate.held("p1", T0 + 4) == pytest.approx(1.0)
    # A pause another worker stored (read from the database) is merged the same way.
    gate.merge("p2", T0 + 30)
    assert gate.held("p2", T0 + 10) == 20.0
    assert gate.held("p1", T0 + 5) == 0.0


# Epoch-scale clocks: 2001 to 2096, to the microsecond.
EPOCHS = st.floats(min_value=1e9, max_value=4e9, allow_nan=False, allow_infinity=False)


@given(now=EPOCHS, seconds=st.integers(min_value=1, max_value=200_000),
       status=st.sampled_from([429, 503]), as_date=st.booleans())
def test_pause_ends_where_retry_after_says_and_blocks_every_claim_until_then(
        now, seconds, status, as_date):
    if as_date:
        # An HTTP-date has whole seconds: the pause ends at that very second.
        target = math.floor(now) + seconds
        value = format_datetime(datetime.fromtimestamp(target, tz=timezone.utc), usegmt=True)
        expected = target
    else:
        value, expected = str(seconds), now + seconds
    pause = outbox.partner_pause(outbox.as_outcome(http(status, retry_after=value)), now)
    expected = min(expected, now + MAX_RETRY_AFTER)
    assert pause is not None and abs(pause.until - expected) < 1e-3
    until, _reason = outbox.merge_pause(None, None, pause)
    for moment in (now, now + 0.001, until - 0.01):
        if moment < until:
            p = plan(paused_until=until, now_ts=moment)
            assert (p.limit, p.reason) == (0, "paused")
            assert abs(moment + p.wait - until) < 1e-3
            assert outbox.next_wake(moment, [p.wait + moment]) == p.wait + moment
    assert plan(paused_until=until, now_ts=until).reason == "ok"


@given(now=EPOCHS, offsets=st.lists(st.one_of(st.none(), st.floats(-1e6, 1e6)), max_size=8))
def test_next_wake_is_the_earliest_moment_never_in_the_past(now, offsets):
    candidates = [None if o is None else now + o for o in offsets]
    wake = outbox.next_wake(now, candidates)
    real = [c for c in candidates if c is not None]
    if not real:
        assert wake is None
    else:
        assert wake == max(now, min(real))


def test_open_breaker_claims_nothing_then_a_single_probe():
    opened = {"state": "open", "opened_at": T0 - 10}
    p = plan(state=opened)
    assert (p.limit, p.reason, p.wait) == (0, "breaker_open", 20.0)
    p = plan(state=opened, now_ts=T0 + 25)
    assert (p.limit, p.probe) == (1, True)
    assert p.breaker["state"] == "half_open"


def test_blocking_rules():
    assert outbox.blocks("running", 1, blocking=False)
    assert outbox.blocks("dead", 3, blocking=True)
    assert outbox.blocks("pending", 2, blocking=True)
    assert not outbox.blocks("dead", 3, blocking=False)
    assert not outbox.blocks("pending", 2, blocking=False)
    assert outbox.blocks("pending", 0, blocking=False)
    assert not outbox.blocks("done", 1, blocking=True)
    assert not outbox.blocks("cancelled", 0, blocking=True)


@given(
    rate=st.integers(min_value=1, max_value=120),
    calls=st.lists(st.floats(min_value=-59, max_value=0), max_size=200),
    in_flight=st.integers(min_value=0, max_value=20),
)
def test_rate_allowance_never_exceeds_the_limit_in_a_window(rate, calls, in_flight):
    allowance, wait = outbox.rate_allowance(rate, [T0 + c for c in calls], in_flight, T0)
    assert allowance == max(0, rate - len(calls) - in_flight)
    assert (wait > 0) == (allowance == 0)


# --------------------------------------------------------------------------- requests
def test_http_call_request_joins_the_base_url_and_sets_timeouts_and_key():
    req = outbox.http_call_request(
        {"url": "/orders", "json": {"a": 1}}, idempotency_key="k1", policy=POLICY,
        base_url="http://127.0.0.1:9/api/", headers={"Authorization": "Bearer t"},
    )
    assert (req.method, req.url, req.json) == ("POST", "http://127.0.0.1:9/api/orders", {"a": 1})
    assert req.idempotency_key == "k1"
    assert (req.connect_timeout, req.read_timeout) == POLICY.timeouts
    assert req.headers["Authorization"] == "Bearer t"


@pytest.mark.parametrize(
    "payload", [{}, {"url": "/x"}, {"url": "http://h/", "method": "TRACE"},
                {"url": "http://h/", "json": {}, "body": "x"}, []],
)
def test_http_call_request_refuses_bad_payloads(payload):
    with pytest.raises(ValueError):
        outbox.http_call_request(payload, idempotency_key="k", policy=POLICY)


def test_milestone_event_is_signed_with_standard_webhooks():
    event_id = outbox.stable_id("corr-1", "in_transit", "2025-03-01", prefix="msg_")
    assert event_id == outbox.stable_id("corr-1", "in_transit", "2025-03-01", prefix="msg_")
    event = outbox.milestone_event(
        event_id=event_id, created_at=NOW, shipment={"reference": "WH/OUT/1", "carrier": ""},
        previous_milestone="handed_over", milestone="in_transit", milestone_at=NOW,
    )
    assert event["data"]["shipment"] == {"reference": "WH/OUT/1"}
    assert event["created_at"] == "2025-03-01T12:00:00Z"
    body = outbox.encode(event)
    secret = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQ="
    req = outbox.signed_post(
        "http://127.0.0.1:1/hook", secret, event_id, body, idempotency_key="sub1:" + event_id,
        policy=POLICY, timestamp=int(T0),
    )
    assert req.headers["webhook-id"] == event_id
    StandardWebhooks([secret]).verify(req.headers, req.body, now=T0)
    with pytest.raises(ValueError):
        outbox.signed_post("http://h/", "", event_id, body, idempotency_key="k", policy=POLICY)


def test_wants_and_keys():
    assert outbox.wants([], "delivered") and outbox.wants(["delivered"], "delivered")
    assert not outbox.wants(["delivered"], "in_transit")
    assert outbox.default_sequence_key(None, 3) is None
    assert outbox.default_sequence_key(7, 3) == "picking:7/partner:3"
    assert outbox.purge_before(NOW, 30) == NOW - timedelta(days=30)
    assert outbox.from_epoch(T0) == NOW


def test_run_call_turns_values_and_exceptions_into_outcomes():
    from decimal import Decimal

    from shipsync.adapters.base import ShipmentResult

    res = ShipmentResult("s1", ("T1",), price=Decimal("4.20"))
    o = outbox.run_call(lambda: res)
    assert o.ok and o.data is res
    assert o.result()["tracking_numbers"] == ["T1"] and o.result()["price"] == "4.20"
    o = outbox.run_call(lambda: http(503))
    assert o.error_class == "http_5xx"

    def boom():
        raise TransientError("down", code="timeout")

    assert outbox.run_call(boom).error_class == "timeout"
    assert outbox.jsonable({"label": b"%PDF", "at": NOW}) == {
        "label": {"bytes": 4}, "at": "2025-03-01T12:00:00Z"}
