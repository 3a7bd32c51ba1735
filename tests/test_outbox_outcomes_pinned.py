"""Outbox policy, the parts around settle and claim: how an exception or a handler's
answer becomes an outcome, the partner-wide Retry-After pause, the wake-up moment
and the claim limits. Expected values are literals, never read from shipsync."""

import math
from datetime import datetime, timezone

import pytest

from shipsync import outbox
from shipsync.breaker import BreakerConfig
from shipsync.outbox import OutboundPolicy, Outcome

T = 1_800_000_000.0
NOW = datetime(2027, 1, 15, 8, 0, 0)


class PartnerDown(Exception):
    """An adapter error as adapters raise them (read by duck typing)."""

    def __init__(self, message, *, retryable=False, http_status=None, code=None,
                 retry_after=None):
        super().__init__(message)
        self.retryable, self.http_status = retryable, http_status
        self.code, self.retry_after = code, retry_after


@pytest.mark.parametrize("exc, expected", [
    # retryable with a retryable status: that status's class
    (PartnerDown("busy", retryable=True, http_status=503, retry_after=30),
     (503, "http_5xx", "30")),
    (PartnerDown("slow down", retryable=True, http_status=429), (429, "http_429", None)),
    (PartnerDown("gateway", retryable=True, http_status=599), (599, "http_5xx", None)),
    # retryable with a status that is not: the code decides, network by default
    (PartnerDown("odd", retryable=True, http_status=400), (None, "network", None)),
    (PartnerDown("odd", retryable=True, http_status=600), (None, "network", None)),
    (PartnerDown("odd", retryable=True, http_status="503"), (None, "network", None)),
    (PartnerDown("t", retryable=True, code="timeout"), (None, "timeout", None)),
    (PartnerDown("n", retryable=True, code="network"), (None, "network", None)),
    (PartnerDown("i", retryable=True, code="invalid_response"),
     (None, "invalid_response", None)),
    (PartnerDown("b", retryable=True, code="bad_response", retry_after=1.5),
     (None, "invalid_response", "1.5")),
    (PartnerDown("x", retryable=True, code="something"), (None, "network", None)),
    # final: a 4xx stays a 4xx, anything else is our own error
    (PartnerDown("refused", http_status=400), (400, "http_4xx", None)),
    (PartnerDown("refused", http_status=499, retry_after=5), (499, "http_4xx", None)),
    (PartnerDown("refused", http_status=500), (None, "adapter_error", None)),
    (PartnerDown("refused", http_status=399), (None, "adapter_error", None)),
    (PartnerDown("refused", http_status=99), (None, "adapter_error", None)),
    # a status is one from 100 to 599 (a retryable 1xx is an unparseable answer)
    (PartnerDown("early", retryable=True, http_status=100), (100, "invalid_response", None)),
    (PartnerDown("early", retryable=True, http_status=99), (None, "network", None)),
    (PartnerDown("busy", retryable=True, http_status=599), (599, "http_5xx", None)),
    (PartnerDown("busy", retryable=True, http_status=600), (None, "network", None)),
    (ValueError("bug"), (None, "adapter_error", None)),
])
def test_outcome_from_exception(exc, expected):
    outcome = outbox.outcome_from_exception(exc)
    assert (outcome.status, outcome.error_class, outcome.retry_after) == expected
    assert outcome.error == f"{type(exc).__name__}: {exc}"


def test_outcome_from_exception_message_is_bounded():
    outcome = outbox.outcome_from_exception(ValueError("x" * 1000))
    assert outcome.error == ("ValueError: " + "x" * 1000)[:500]
    assert len(outcome.error) == 500


class Answer:
    """Something shaped like an HttpResult, without being one."""

    def __init__(self, **values):
        self.__dict__.update(values)


def test_as_outcome_reads_anything_shaped_like_an_http_result():
    outcome = outbox.as_outcome(Answer(status=503, error_class="http_5xx", error=None,
                                       retry_after="7", body=None, headers=None,
                                       elapsed_ms=None))
    assert outcome == Outcome(status=503, error_class="http_5xx", error="", retry_after="7",
                              body=b"", headers={}, elapsed_ms=0, data=None)
    odd = outbox.as_outcome(Answer(status=500, error_class="teapot", error="short and stout",
                                   body=bytearray(b"x"), headers={"A": "b"}, elapsed_ms=12.7,
                                   data={"k": 1}))
    assert odd == Outcome(status=500, error_class="adapter_error", error="short and stout",
                          body=b"x", headers={"A": "b"}, elapsed_ms=12, data={"k": 1})
    same = Outcome(status=200)
    assert outbox.as_outcome(same) is same
    assert outbox.as_outcome(Answer(status=200)).error_class == "adapter_error"
    none = outbox.as_outcome(None)
    assert (none.error_class, none.error) == (
        "adapter_error", "handler returned NoneType, not an outcome")


def test_outcome_vocabulary_and_result():
    with pytest.raises(ValueError, match="unknown error class 'teapot'"):
        Outcome(error_class="teapot")
    assert Outcome(status=200).ok and not Outcome(cancel=True).ok
    assert not Outcome(error_class="network").ok
    assert Outcome(body=b'{"a": 1}').result(limit=8) == {"a": 1}
    assert Outcome(body=b'{"a": 1}').result(limit=7) is None
    assert Outcome(body=b'{"a": 1}').result() == {"a": 1}
    assert Outcome(body=b"\xff\xfe").result() is None
    assert Outcome(body=b"<html>").result() is None
    assert Outcome().result() is None
    assert Outcome(body=b'{"a": 1}', data={"b": b"abc"}).result() == {"b": {"bytes": 3}}
    assert Outcome(data=0).result() == 0
    assert Outcome(body=b"abcdef").excerpt(limit=4) == "abcd"
    assert Outcome(body=b"a" * 2500).excerpt() == "a" * 2000


# --------------------------------------------------------------------------- pause
def test_partner_pause_reason_and_cap():
    pause = outbox.partner_pause(Outcome(status=429, error_class="http_429",
                                         retry_after=" 120 "), T)
    assert pause == outbox.Pause(T + 120, "HTTP 429 Retry-After: 120")
    long_value = "Wed, 21 Oct 2015 07:28:00 GMT" + " " * 100 + "x"
    assert outbox.partner_pause(Outcome(status=503, error_class="http_5xx",
                                        retry_after=long_value), T) is None
    capped = outbox.partner_pause(Outcome(status=503, error_class="http_5xx",
                                          retry_after="86401"), T)
    assert capped.until == T + 86400.0
    exact = outbox.partner_pause(Outcome(status=503, error_class="http_5xx",
                                         retry_after="86400"), T)
    assert exact.until == T + 86400.0
    date = datetime.fromtimestamp(T + 90, tz=timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")
    dated = outbox.partner_pause(Outcome(status=503, error_class="http_5xx",
                                         retry_after=date), T)
    assert dated.until == T + 90
    assert dated.reason == ("HTTP 503 Retry-After: " + date)[:len("HTTP 503 Retry-After: ") + 80]
    reason = outbox.partner_pause(Outcome(status=429, error_class="http_429",
                                          retry_after="5" + " " * 100), T).reason
    assert reason == "HTTP 429 Retry-After: 5"
    for status in (408, 500, 502, 504):
        assert outbox.partner_pause(Outcome(status=status, retry_after="5"), T) is None


def test_merge_pause_keeps_the_current_pause_on_a_tie():
    assert outbox.merge_pause(T + 5, "first", outbox.Pause(T + 5, "second")) == (T + 5, "first")
    assert outbox.merge_pause(T + 5, "first", outbox.Pause(T + 5.001, "second")) == (
        T + 5.001, "second")
    assert outbox.merge_pause(None, None, None) == (None, None)


def test_pause_remaining():
    assert outbox.pause_remaining(None, T) == 0.0
    assert outbox.pause_remaining(T - 5, T) == 0.0
    assert outbox.pause_remaining(T, T) == 0.0
    assert outbox.pause_remaining(T + 2.5, T) == 2.5
    assert outbox.pause_remaining(int(T) + 3, T) == 3.0


def test_next_wake_ignores_missing_and_nan_moments():
    assert outbox.next_wake(T, []) is None
    assert outbox.next_wake(T, [None, math.nan]) is None
    assert outbox.next_wake(T, [math.nan, T + 5, None, T + 9]) == T + 5
    assert outbox.next_wake(T, [T - 100, T + 5]) == T
    assert outbox.next_wake(T, [T + 7]) == T + 7


# --------------------------------------------------------------------------- claim
def claim(policy=None, state=None, **kw):
    values = {"channel": "high", "want": 10, "busy": 0, "high_ready": False,
              "recent_calls": [], "now_ts": T}
    values.update(kw)
    return outbox.plan_claim(policy or OutboundPolicy(), state, **values)


def test_plan_claim_limits_are_the_smallest_of_want_slots_and_rate():
    assert claim(want=0) == outbox.ClaimPlan(0, False, {}, None, "ok")
    assert claim(want=-1).limit == 0
    assert claim(want=1).limit == 1
    assert claim(want=10).limit == 4  # default concurrency
    assert claim(OutboundPolicy(max_concurrency=8, rate_limit_per_minute=3)).limit == 3
    rated = claim(OutboundPolicy(rate_limit_per_minute=2), recent_calls=[T - 1, T - 2])
    assert (rated.limit, rated.reason, rated.wait) == (0, "rate_limit", pytest.approx(58.0))
    busy = claim(busy=4)
    assert (busy.limit, busy.reason, busy.wait) == (0, "concurrency", None)
    # calls in flight count against the rate limit as calls made now
    assert claim(OutboundPolicy(rate_limit_per_minute=3), busy=2).limit == 1


def test_plan_claim_probe_is_a_single_call_and_stores_the_half_open_state():
    policy = OutboundPolicy(breaker=BreakerConfig(cooldown_seconds=30))
    opened = {"state": "open", "opened_at": T - 30}
    probe = claim(policy, opened)
    assert (probe.limit, probe.probe, probe.reason, probe.wait) == (1, True, "ok", None)
    assert probe.breaker["state"] == "half_open" and probe.breaker["probe_started_at"] == T
    shut = claim(policy, {"state": "open", "opened_at": T - 29.5})
    assert (shut.limit, shut.probe, shut.reason, shut.wait) == (0, False, "breaker_open", 0.5)
    # while the probe is out nobody else calls, until it is overdue
    out = claim(policy, probe.breaker, now_ts=T + 10)
    assert (out.limit, out.reason, out.wait) == (0, "breaker_open", 20.0)
    closed = claim(policy, None)
    assert (closed.limit, closed.probe, closed.breaker["state"]) == (4, False, "closed")


def test_breaker_reopens_in_for_each_state():
    cfg = BreakerConfig(cooldown_seconds=30)
    assert outbox.breaker_reopens_in(cfg, {"state": "open", "opened_at": T}, T + 10) == 20.0
    assert outbox.breaker_reopens_in(cfg, {"state": "open", "opened_at": T}, T + 31) == 0.0
    assert outbox.breaker_reopens_in(cfg, {"state": "half_open", "probe_started_at": None},
                                     T) == 0.0
    assert outbox.breaker_reopens_in(cfg, {"state": "half_open", "probe_started_at": T},
                                     T + 1) == 29.0
    assert outbox.breaker_reopens_in(cfg, {"state": "closed", "opened_at": T}, T) == 0.0


def test_neutral_outcome_outside_a_probe_changes_nothing():
    cfg = BreakerConfig()
    state = outbox.breaker_report(cfg, None, "failure", T)
    assert outbox.breaker_report(cfg, state, None, T + 1) == state
    assert outbox.breaker_report(cfg, state, "bogus", T + 1) == state


def test_sub_second_timeouts_and_backoff_base_are_valid():
    from shipsync.retry import RetryPolicy

    policy = OutboundPolicy(connect_timeout=0.5, read_timeout=0.5,
                            retry=RetryPolicy(base=0.5, cap=1))
    assert policy.timeouts == (0.5, 0.5)
    assert Outcome().elapsed_ms == 0


def test_refused_claims_keep_the_stored_breaker_and_are_no_probe():
    state = {"state": "closed", "window_calls": 3}
    busy = claim(state=state, busy=4)
    assert (busy.limit, busy.probe, busy.breaker, busy.reason) == (0, False, state,
                                                                    "concurrency")
    rated = claim(OutboundPolicy(rate_limit_per_minute=1), state, recent_calls=[T - 1])
    assert (rated.probe, rated.breaker, rated.reason) == (False, state, "rate_limit")


def test_rate_between_one_and_two_a_minute_counts_whole_calls_in_a_minute():
    assert outbox.rate_allowance(1.5, [T - 50], 0, T)[0] == 0
    assert outbox.rate_allowance(1.5, [T - 61], 0, T) == (1, 0.0)


def test_lease_expired_dead_job_is_a_network_error():
    dead = outbox.lease_expired(OutboundPolicy(), 8, "w")
    assert (dead.state, dead.error_class, dead.breaker_signal) == ("dead", "network", None)


def test_a_2xx_status_settles_done_whatever_class_a_handler_gave():
    settled = outbox.settle(OutboundPolicy(), 1,
                            Outcome(status=201, error_class="http_4xx", error="x"), NOW)
    assert (settled.state, settled.error_class, settled.next_attempt_at, settled.reason) == (
        "done", None, None, "HTTP 201 ok: x")


@pytest.mark.parametrize("error_class", ["http_5xx", "http_4xx", "http_429", "network",
                                         "timeout", "adapter_error"])
def test_a_2xx_status_is_done_and_a_breaker_success_whatever_class_a_handler_gave(error_class):
    # The partner answered 2xx: it is up. The settlement and the breaker read the
    # outcome the same way (a done job is never a breaker failure).
    outcome = Outcome(status=201, error_class=error_class)
    settled = outbox.settle(OutboundPolicy(), 1, outcome, NOW)
    expected = ("done", "success") if error_class != "adapter_error" else ("dead", None)
    assert (settled.state, settled.breaker_signal) == expected
    assert outbox.breaker_signal(outcome) == expected[1]


@pytest.mark.parametrize("outcome, state, signal", [
    # a 2xx the transport could not read: retried, and the partner is not healthy
    (Outcome(status=200, error_class="invalid_response"), "pending", "failure"),
    # a class without an answer reads as a network error: retried, a failure
    (Outcome(error_class="http_4xx"), "pending", "failure"),
    (Outcome(error_class="http_429"), "pending", "failure"),
    # a 408 is a final 4xx class but a failure of the partner
    (Outcome(status=408, error_class="http_4xx"), "pending", "failure"),
    (Outcome(status=404, error_class="http_4xx"), "dead", "success"),
    (Outcome(status=429, error_class="http_429"), "pending", None),
])
def test_settlement_and_breaker_signal_agree(outcome, state, signal):
    settled = outbox.settle(OutboundPolicy(), 1, outcome, NOW, rng=lambda: 0.5)
    assert (settled.state, settled.breaker_signal) == (state, signal)


def test_a_claim_refused_by_the_open_breaker_keeps_its_state():
    policy = OutboundPolicy(breaker=BreakerConfig(cooldown_seconds=30))
    shut = claim(policy, {"state": "open", "opened_at": T - 10})
    assert (shut.reason, shut.breaker["state"], shut.breaker["opened_at"]) == (
        "breaker_open", "open", T - 10)


def test_an_outcome_s_defaults_are_pinned():
    assert Outcome() == Outcome(status=None, error_class=None, error="", retry_after=None,
                                body=b"", headers={}, elapsed_ms=0, data=None, cancel=False)
    blank = Outcome()
    assert (blank.error, blank.body, blank.headers, blank.cancel) == ("", b"", {}, False)
    assert blank.cancel is False and blank.ok is True


def test_an_answer_shaped_object_without_the_optional_attributes_reads_as_their_defaults():
    from types import SimpleNamespace

    assert outbox.as_outcome(SimpleNamespace(status=204, error_class=None)) == Outcome(
        status=204, error_class=None, error="", retry_after=None, body=b"", headers={},
        elapsed_ms=0, data=None, cancel=False)


def test_a_retry_after_of_zero_retries_at_once():
    settled = outbox.settle(OutboundPolicy(), 1, Outcome(status=503, error_class="http_5xx",
                                                         retry_after="0"), NOW)
    assert (settled.state, settled.delay, settled.next_attempt_at) == ("pending", 0.0, NOW)
