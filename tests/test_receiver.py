"""The sandbox receiver, exercised over real loopback HTTP."""

import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from shipsync.sandbox import Receiver
from shipsync.sandbox.__main__ import COMMANDS, build_parser

T = 5  # seconds: every request in this module is bounded


@pytest.fixture
def rx():
    with Receiver() as receiver:
        yield receiver


def post(rx, path="/hook", key=None, json_body=None, **headers):
    if key:
        headers["Idempotency-Key"] = key
    return requests.post(rx.url + path, json=json_body or {"n": 1}, headers=headers, timeout=T)


def test_default_answer_and_call_log(rx):
    resp = post(rx, "/orders", key="k1", json_body={"order": "WH/OUT/1"}, **{"webhook-id": "w1"})
    assert resp.status_code == 200
    assert resp.json()["ok"] is True and resp.json()["id"]
    (call,) = rx.calls
    assert (call["method"], call["path"], call["status"]) == ("POST", "/orders", 200)
    assert call["idempotency_key"] == "k1" and call["webhook_id"] == "w1"
    assert json.loads(call["body"]) == {"order": "WH/OUT/1"}
    assert call["effect"] is True and call["time"] <= time.time()
    assert rx.effects["k1"]["path"] == "/orders"


def test_put_and_delete_are_calls_get_is_not(rx):
    assert requests.put(rx.url + "/a", data=b"x", timeout=T).status_code == 200
    assert requests.delete(rx.url + "/a", timeout=T).status_code == 200
    assert requests.get(rx.url + "/a", timeout=T).status_code == 404
    assert [c["method"] for c in rx.calls] == ["PUT", "DELETE"]


def test_repeated_idempotency_key_has_exactly_one_effect(rx):
    rx.configure(fail_next=1)
    answers = [post(rx, key="job-1") for _ in range(4)]
    assert [a.status_code for a in answers] == [503, 200, 200, 200]
    assert answers[2].headers["Idempotent-Replayed"] == "true"
    assert answers[1].json()["id"] == answers[3].json()["id"]
    effect = rx.effects["job-1"]
    assert (effect["count"], effect["accepted"]) == (4, 3)
    assert [c["effect"] for c in rx.calls] == [False, True, False, False]


def test_webhook_id_dedupes_without_idempotency_key_and_no_key_never_dedupes(rx):
    for _ in range(3):
        post(rx, **{"webhook-id": "msg_1"})
    post(rx)
    post(rx)
    effects = rx.effects
    assert effects["msg_1"]["count"] == 3
    assert len(effects) == 3  # msg_1 + two keyless calls


def test_exactly_once_under_concurrent_duplicates(rx):
    keys = [f"job-{i}" for i in range(20)] * 5
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(lambda k: post(rx, key=k).status_code, keys))
    assert statuses == [200] * 100
    effects = rx.effects
    assert sorted(effects) == sorted(set(keys))
    assert all(e["count"] == 5 and e["accepted"] == 5 for e in effects.values())
    assert sum(c["effect"] for c in rx.calls) == 20


def test_status_body_and_status_by_path(rx):
    rx.configure(status=201, body={"shipment": "S1"}, status_by_path={"/bad": 422})
    resp = post(rx, "/ok")
    assert (resp.status_code, resp.json()) == (201, {"shipment": "S1"})
    assert post(rx, "/bad", key="b").status_code == 422
    assert "b" not in rx.effects  # no effect without a 2xx


def test_gone_paths_answer_410(rx):
    rx.configure(gone_paths=["/subscribers/old"])
    assert post(rx, "/subscribers/old", key="g").status_code == 410
    assert post(rx, "/subscribers/new").status_code == 200
    assert "g" not in rx.effects


def test_fail_next_then_back_to_normal_with_retry_after(rx):
    rx.configure(fail_next=2, fail_status=429, retry_after="7")
    first, second, third = (post(rx) for _ in range(3))
    assert (first.status_code, first.headers["Retry-After"]) == (429, "7")
    assert second.status_code == 429
    assert third.status_code == 200 and "Retry-After" not in third.headers


def test_outage_until(rx):
    rx.configure(outage_until=time.time() + 0.5, retry_after="1")
    resp = post(rx)
    assert (resp.status_code, resp.headers["Retry-After"]) == (503, "1")
    time.sleep(0.6)
    assert post(rx).status_code == 200


def test_malformed_answers_200_with_a_body_that_is_not_json(rx):
    rx.configure(malformed=True)
    resp = post(rx, key="m")
    assert resp.status_code == 200
    with pytest.raises(ValueError):
        resp.json()
    assert "m" in rx.effects  # the partner applied it anyway


def test_error_rate_is_reproducible_with_a_seed(rx):
    def run():
        rx.reset()
        rx.configure(error_rate=0.3, seed=42)
        return [post(rx).status_code for _ in range(30)]

    first, second = run(), run()
    assert first == second
    assert 0 < first.count(503) < 30


def test_latency_ms_delays_the_answer_but_not_the_effect(rx):
    rx.configure(latency_ms=300)
    started = time.monotonic()
    assert post(rx, key="slow").status_code == 200
    assert time.monotonic() - started >= 0.3
    rx.configure(latency_ms=2000)
    with pytest.raises(requests.ReadTimeout):
        requests.post(rx.url + "/x", headers={"Idempotency-Key": "late"}, timeout=(T, 0.2))
    assert "late" in rx.effects


def test_http_control_configure_log_and_reset(rx):
    resp = requests.post(rx.url + "/_control", json={"status": 202}, timeout=T)
    assert resp.status_code == 200 and resp.json()["status"] == 202
    assert requests.get(rx.url + "/_control", timeout=T).json()["status"] == 202
    assert post(rx, key="c1").status_code == 202
    log = requests.get(rx.url + "/_control/log", timeout=T).json()
    assert [c["idempotency_key"] for c in log["calls"]] == ["c1"]
    assert list(log["effects"]) == ["c1"]
    assert rx.calls[0]["path"] == "/hook"
    bad = requests.post(rx.url + "/_control", json={"nope": 1}, timeout=T)
    assert bad.status_code == 400 and "nope" in bad.json()["error"]
    assert requests.post(rx.url + "/_control", json={"status": 99}, timeout=T).status_code == 400
    assert requests.post(rx.url + "/_control/reset", timeout=T).status_code == 200
    assert requests.get(rx.url + "/_control/log", timeout=T).json() == {"calls": [], "effects": {}}
    assert post(rx).status_code == 200
    assert requests.get(rx.url + "/_control/health", timeout=T).status_code == 200
    assert requests.get(rx.url + "/_control/nothing", timeout=T).status_code == 404


def test_configure_rejects_unknown_knobs_in_python():
    rx = Receiver()
    with pytest.raises(ValueError):
        rx.configure(colour="blue")
    assert rx.configure(latency_ms=5)["latency_ms"] == 5
    rx.reset()
    assert rx.knobs["latency_ms"] == 0


def test_stop_releases_the_port_and_drops_keep_alive_connections():
    rx = Receiver().start()
    session = requests.Session()
    assert session.post(rx.url + "/a", timeout=T).status_code == 200
    url = rx.url
    rx.stop()
    with pytest.raises(requests.ConnectionError):
        session.post(url + "/a", timeout=T)
    session.close()


def test_cli_has_a_receiver_command_and_one_line_registration():
    assert "receiver" in COMMANDS
    args = build_parser().parse_args(["receiver", "--port", "8099", "--verbose"])
    assert (args.command, args.port, args.verbose) == ("receiver", 8099, True)


def test_cli_runs_the_receiver_in_the_foreground():
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")])),
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shipsync.sandbox",
            "receiver",
            "--port",
            "0",
            "--verbose",
            "--set",
            "status=201",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    watchdog = threading.Timer(20, proc.kill)  # bounds the blocking readline below
    watchdog.start()
    try:
        line = proc.stdout.readline()
        assert line.startswith("receiver listening on http://127.0.0.1:")
        url = line.split()[-1]
        assert requests.post(url + "/cli", json={}, timeout=T).status_code == 201
    finally:
        watchdog.cancel()
        proc.terminate()
        try:
            _out, err = proc.communicate(timeout=T)
        except subprocess.TimeoutExpired:
            proc.kill()
            _out, err = proc.communicate(timeout=T)
    assert "POST /cli" in err
