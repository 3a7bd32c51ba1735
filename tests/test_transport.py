"""transport.send over real loopback HTTP against the sandbox receiver."""

import json
import socket
from datetime import datetime, timezone

import pytest
import requests

from shipsync.retry import RetryPolicy, decide
from shipsync.sandbox import Receiver
from shipsync.transport import HttpRequest, HttpResult, mask, new_session, secrets_of, send


@pytest.fixture(scope="module")
def rx():
    with Receiver() as receiver:
        yield receiver


@pytest.fixture(autouse=True)
def _clean(rx):
    rx.reset()


@pytest.fixture(scope="module")
def session():
    s = new_session(pool_size=4)
    yield s
    s.close()


def req(rx, path="/shipments", **kw):
    kw.setdefault("connect_timeout", 2.0)
    kw.setdefault("read_timeout", 5.0)
    return HttpRequest("POST", rx.url + path, **kw)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_200_json_with_idempotency_key(rx, session):
    result = send(
        session, req(rx, json={"ref": "WH/OUT/7"}, idempotency_key="job-7"), expect_json=True
    )
    assert (result.status, result.error_class, result.error) == (200, None, "")
    assert result.ok and result.json()["ok"] is True
    assert result.elapsed_ms >= 0 and result.retry_after is None
    assert result.headers["Content-Type"] == "application/json"
    (call,) = rx.calls
    assert call["idempotency_key"] == "job-7"
    assert json.loads(call["body"]) == {"ref": "WH/OUT/7"}


def test_raw_body_and_headers_are_sent(rx, session):
    result = send(session, req(rx, body=b"<xml/>", headers={"Content-Type": "text/xml"}))
    assert result.ok
    (call,) = rx.calls
    assert call["body"] == "<xml/>" and call["headers"]["Content-Type"] == "text/xml"
    assert call["idempotency_key"] is None


def test_body_and_json_are_exclusive():
    with pytest.raises(ValueError):
        HttpRequest("POST", "http://127.0.0.1:1/", body=b"x", json={})


def test_503_with_retry_after_is_retried_after_that_delay(rx, session):
    rx.configure(fail_next=1, fail_status=503, retry_after="12")
    result = send(session, req(rx, json={}))
    assert (result.status, result.error_class, result.retry_after) == (503, "http_5xx", "12")
    assert result.error.startswith("HTTP 503")
    decision = decide(
        RetryPolicy(),
        1,
        result.status,
        result.error_class,
        result.retry_after,
        datetime.now(timezone.utc),
    )
    assert (decision.kind, decision.delay) == ("retry", 12.0)


def test_429(rx, session):
    rx.configure(status=429, retry_after="3")
    result = send(session, req(rx, json={}))
    assert (result.status, result.error_class, result.retry_after) == (429, "http_429", "3")


def test_400_is_final(rx, session):
    rx.configure(status_by_path={"/shipments": 400})
    result = send(session, req(rx, json={}))
    assert (result.status, result.error_class) == (400, "http_4xx")
    assert result.json()["ok"] is False
    decision = decide(
        RetryPolicy(), 1, result.status, result.error_class, None, datetime.now(timezone.utc)
    )
    assert decision.kind == "dead"


def test_malformed_json_body_is_an_invalid_response(rx, session):
    rx.configure(malformed=True)
    result = send(session, req(rx, json={}), expect_json=True)
    assert (result.status, result.error_class) == (200, "invalid_response")
    with pytest.raises(ValueError):
        result.json()
    assert "not JSON" in result.excerpt()
    # Without expect_json the same answer is a success.
    assert send(session, req(rx, json={})).error_class is None


def test_read_timeout(rx, session):
    rx.configure(latency_ms=1500)
    result = send(session, req(rx, json={}, idempotency_key="slow", read_timeout=0.2))
    assert (result.status, result.error_class) == (None, "timeout")
    assert result.elapsed_ms < 1400
    assert "slow" in rx.effects  # applied by the partner: the retry must reuse the key


def test_connection_refused_is_a_network_error(session):
    url = f"http://127.0.0.1:{free_port()}/x"
    result = send(session, HttpRequest("POST", url, json={}, connect_timeout=2, read_timeout=2))
    assert (result.status, result.error_class, result.body) == (None, "network", b"")
    assert result.error and len(result.error) <= 300


def test_invalid_url_is_an_adapter_error(session):
    result = send(session, HttpRequest("POST", "not a url", json={}))
    assert result.error_class == "adapter_error"


def test_redirects_are_not_followed(rx, session):
    rx.configure(status=302)
    result = send(session, req(rx, json={}))
    assert (result.status, result.error_class) == (302, None)
    assert len(rx.calls) == 1


def test_credentials_never_appear_in_errors(session):
    port = free_port()
    request = HttpRequest(
        "POST",
        f"http://user:hunter22@127.0.0.1:{port}/x?api_key=QUERYSECRET&page=2",
        headers={
            "Authorization": "Bearer TOKEN123",
            "X-Api-Key": "APIKEY456",
            "X-Client-Secret": "SECRET789",
        },
        json={},
        idempotency_key="idem-1",
        connect_timeout=2,
        read_timeout=2,
    )
    result = send(session, request)
    assert result.error_class == "network"
    for secret in ("hunter22", "QUERYSECRET", "TOKEN123", "APIKEY456", "SECRET789"):
        assert secret not in result.error
    assert "idem-1" not in secrets_of(request)


def test_timeouts_are_always_a_connect_read_tuple():
    class RecordingSession:
        """A stand-in session: records what send() passes, then fails like requests."""

        def __init__(self):
            self.kwargs = None

        def request(self, method, url, **kwargs):
            self.kwargs = kwargs
            raise requests.ConnectionError("refused")

    stub = RecordingSession()
    result = send(
        stub, HttpRequest("GET", "http://127.0.0.1:1/", connect_timeout=1.5, read_timeout=7)
    )
    assert stub.kwargs["timeout"] == (1.5, 7)
    assert stub.kwargs["allow_redirects"] is False
    assert result.error_class == "network"


def test_mask():
    assert mask("token abc and abcdef", ["abc", "abcdef", ""]) == "token *** and ***"
    assert mask("", ["x"]) == ""


def test_excerpt_is_bounded_and_tolerant():
    result = HttpResult(200, {}, "é".encode() * 5000 + b"\xff", 1, None, "", None)
    assert len(result.excerpt(10)) == 10
    assert len(result.excerpt()) == 2000
    assert HttpResult(200, {}, b"\xff\xfe", 1, None, "", None).excerpt() == "\ufffd\ufffd"
    with pytest.raises(ValueError):
        HttpResult(200, {}, b"", 1, None, "", None).json()


def test_session_reuses_connections(rx):
    s = new_session(pool_size=2)
    try:
        for _ in range(5):
            assert send(s, req(rx, json={})).ok
        clients = {c["client"] for c in rx.calls}
        assert len(clients) == 1  # one keep-alive connection for five calls
        adapter = s.get_adapter(rx.url)
        assert adapter.max_retries.total == 0
    finally:
        s.close()


def test_one_mask_adapter_errors_skip_secrets_shorter_than_four_characters():
    from shipsync.adapters.base import MASK_MIN_LENGTH, AdapterError

    assert MASK_MIN_LENGTH == 4
    assert mask("key abc and abcd", ["abc", "abcd"], 4) == "key abc and ***"
    err = AdapterError("key abc and abcd", secrets=["abc", "abcd"])
    assert err.message == "key abc and ***"
