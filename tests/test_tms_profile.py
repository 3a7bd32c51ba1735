"""The canonical TMS profile: plan release, updates into canonical events, and the TMS
sandbox (plans, idempotency, failure knobs, signed updates)."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from shipsync.adapters.base import InvalidInput
from shipsync.normalizers import parse_payload
from shipsync.partners import get_normalizer
from shipsync.partners.tms import outbound as tms
from shipsync.partners.tms.inbound import TmsEvent
from shipsync.partners.tms.sandbox import TmsSandbox
from shipsync.sandbox.receiver import Receiver
from shipsync.schemas import PayloadError
from shipsync.signatures import StandardWebhooks
from shipsync.transport import new_session, send

SECRET = "whsec_" + "dG1zLXRlc3Qtc2VjcmV0LWtleS0wMTIzNDU2Nzg5"
WAREHOUSE = {"name": "YourCompany", "street": "250 Executive Park Blvd", "city": "San Francisco",
             "zip": "94134", "country_code": "US"}
CUSTOMER = {"name": "Ada Buyer", "city": "Lyon", "zip": "69001", "country_code": "FR",
            "email": ""}


def plan(**kw):
    values = dict(
        plan_id="plan-42", correlation_id="corr-42", order_ref="WH/OUT/00042",
        ship_from=WAREHOUSE, ship_to=CUSTOMER,
        requested_pickup_at=datetime(2026, 12, 3, 14, 0),
        requested_delivery_at=datetime(2026, 12, 5, 9, 0, tzinfo=timezone.utc),
        lines=[tms.PlanLine("1", "DESK", Decimal(4), "Units", Decimal("100.0"), "Desk"),
               tms.PlanLine("2", "LAMP", Decimal("2.5"), "kg", Decimal("2.5"))],
        origin="S00042", carrier_hint="DHL Freight")
    values.update(kw)
    return tms.build_plan(**values)


def test_plan_document():
    doc = plan()
    assert doc["schema"] == "tms-plan-v1"
    assert doc["total_weight_kg"] == "102.5"
    assert doc["requested_pickup_at"] == "2026-12-03T14:00:00Z"
    assert doc["lines"][1] == {"line_id": "2", "sku": "LAMP", "quantity": "2.5", "uom": "kg",
                               "weight_kg": "2.5"}
    assert "email" not in doc["ship_to"]  # empty values are left out


@pytest.mark.parametrize("change", [{"lines": []}, {"ship_to": {"name": "x"}},
                                   {"correlation_id": ""}])
def test_a_plan_the_schema_refuses_is_refused_before_any_call(change):
    with pytest.raises(InvalidInput) as caught:
        plan(**change)
    assert caught.value.code == "invalid_plan"


def test_release_request():
    req = tms.build_release_request(plan(), base_url="http://127.0.0.1:9/",
                                    headers={"Authorization": "Bearer t"})
    assert (req.method, req.url) == ("POST", "http://127.0.0.1:9/plans")
    assert req.headers["Authorization"] == "Bearer t"
    with pytest.raises(InvalidInput):
        tms.build_release_request(plan(), base_url="")


def _update(**kw):
    base = {"schema": "tms-update-v1", "event_id": "e1", "occurred_at": "2026-12-03T10:00:00Z",
            "correlation_id": "corr-42", "order_ref": "WH/OUT/00042"}
    return json.dumps({**base, **kw}).encode()


def test_updates_become_canonical_events():
    normalizer = get_normalizer("tms")
    [ev] = parse_payload(_update(type="milestone", milestone="in_transit",
                                 tracking_number="T1"), normalizer)
    assert isinstance(ev, TmsEvent)
    assert (ev.external_id, ev.milestone, ev.tracking_number, ev.correlation_id) == (
        "tms:e1", "in_transit", "T1", "corr-42")
    [ev] = parse_payload(_update(type="carrier_assigned", planning_ref="PLN-1",
                                 carrier={"code": "DHL", "service": "Eurapid"}), normalizer)
    assert ev.milestone is None and ev.code is None and ev.kind == "carrier_assigned"
    assert ev.payload["carrier"]["code"] == "DHL"


@pytest.mark.parametrize("body", [
    _update(type="planned"),  # no planning_ref
    _update(type="milestone", milestone="teleported"),
    _update(type="freight_charges", charges=[{"code": "BASE", "amount": "10"}], total="12.00",
            currency="EUR"),  # lines do not add up
    _update(type="freight_charges", charges=[{"code": "BASE", "amount": "1e3"}], total="1e3",
            currency="EUR"),
    _update(type="milestone", milestone="delivered", extra=1),
])
def test_bad_updates_are_refused_with_a_schema_violation(body):
    with pytest.raises(PayloadError) as caught:
        parse_payload(body, get_normalizer("tms"))
    assert caught.value.code == "schema_violation"


@pytest.fixture
def sandbox():
    server = TmsSandbox().start()
    yield server
    server.stop()


def _post(sandbox, doc, key="k1", raw=None):
    req = tms.build_release_request(doc, base_url=sandbox.url)
    req = replace(req, idempotency_key=key, json=raw if raw is not None else req.json)
    with new_session() as session:
        return send(session, req)


def test_sandbox_plans_once_per_key(sandbox):
    first = _post(sandbox, plan())
    again = _post(sandbox, plan())
    assert (first.status, again.status) == (201, 200)
    assert json.loads(first.body) == json.loads(again.body)
    assert json.loads(first.body)["planning_ref"] == "PLN-00001"
    other = _post(sandbox, plan(origin="S00043"))
    assert other.status == 409
    assert json.loads(other.body)["error"]["code"] == "idempotency_conflict"
    assert _post(sandbox, plan(), key=None).status == 400


def test_sandbox_refuses_a_nonconforming_plan_and_honours_knobs(sandbox):
    bad = _post(sandbox, plan(), raw={"schema": "tms-plan-v1"})
    assert bad.status == 422
    assert json.loads(bad.body)["error"]["code"] == "schema_violation"
    sandbox.fail_next(503, retry_after="7")
    failed = _post(sandbox, plan())
    assert (failed.status, failed.retry_after) == (503, "7")
    sandbox.configure(reject=True)
    refused = _post(sandbox, plan(), key="k2")
    assert json.loads(refused.body)["error"]["code"] == "unplannable"


def test_sandbox_reports_signed_updates_that_parse(sandbox):
    _post(sandbox, plan())
    with Receiver() as receiver:
        sandbox.configure(webhook_url=receiver.url + "/hook", secret=SECRET, variance="15.50",
                          duplicate=True)
        statuses = sandbox.report("corr-42")
        calls = receiver.calls
    assert statuses and set(statuses) == {200}
    kinds, verifier = [], StandardWebhooks([SECRET])
    for call in calls:
        body = call["body"].encode()
        verifier.verify(call["headers"], body)
        [ev] = parse_payload(body, get_normalizer("tms"))
        kinds.append(ev.kind)
    assert kinds[::2] == ["planned", "carrier_assigned", "milestone", "milestone", "milestone",
                          "freight_charges"]
    assert kinds[::2] == kinds[1::2]  # duplicate knob: each update twice, same webhook-id
    ids = [{k.lower(): v for k, v in c["headers"].items()}["webhook-id"] for c in calls[:2]]
    assert ids[0] == ids[1]
    charges = json.loads(calls[-1]["body"])
    assert charges["total"] == "135.50"  # quoted 120.00 + variance 15.50
    assert sum(Decimal(c["amount"]) for c in charges["charges"]) == Decimal("135.50")


def test_sandbox_knobs_are_checked(sandbox):
    with pytest.raises(ValueError):
        sandbox.configure(nonsense=1)


def test_revision_and_cancellation_documents():
    revised = plan(version=2)
    assert (revised["action"], revised["version"]) == ("revise", 2)
    assert (plan()["action"], plan()["version"]) == ("release", 1)
    # what is planned is the same: no revision is due
    assert tms.plan_digest(revised) == tms.plan_digest(plan())
    assert tms.plan_digest(plan(origin="S00043")) != tms.plan_digest(plan())
    cancel = tms.build_cancellation(plan_id="plan-42", correlation_id="corr-42",
                                    order_ref="WH/OUT/00042", version=3, reason="cancelled")
    assert cancel == {"schema": "tms-plan-v1", "action": "cancel", "version": 3,
                      "plan_id": "plan-42", "correlation_id": "corr-42",
                      "order_ref": "WH/OUT/00042", "reason": "cancelled"}
    with pytest.raises(InvalidInput):  # a revision is never version 1
        tms.check_plan({**revised, "version": 1})
    with pytest.raises(InvalidInput):  # a cancellation carries no plan
        tms.check_plan({**cancel, "lines": revised["lines"]})
    with pytest.raises(InvalidInput):  # a release carries its plan
        tms.check_plan({k: v for k, v in plan().items() if k != "lines"})


def _error(result):
    return result.status, json.loads(result.body)["error"]


def test_sandbox_revises_then_cancels_and_refuses_what_follows(sandbox):
    assert _post(sandbox, plan()).status == 201
    lines = [tms.PlanLine("1", "DESK", Decimal(5), "Units", Decimal("125.0"))]
    revised = _post(sandbox, plan(version=2, lines=lines), key="k1:v2")
    assert revised.status == 200
    assert json.loads(revised.body) == {"status": "revised", "plan_id": "plan-42",
                                        "planning_ref": "PLN-00001", "version": 2}
    assert sandbox.plans["corr-42"]["doc"]["lines"][0]["quantity"] == "5"
    # replayed: the stored answer, the plan unchanged
    assert _post(sandbox, plan(version=2, lines=lines), key="k1:v2").status == 200
    status, error = _error(_post(sandbox, plan(version=2), key="k1:v2b"))
    assert (status, error["code"]) == (409, "stale_version")
    assert error["message"] == "version 2 is not above the current version 2 of plan plan-42"
    status, error = _error(_post(sandbox, plan(), key="k-again"))
    assert (status, error["code"]) == (409, "plan_exists")
    cancel = tms.build_cancellation(plan_id="plan-42", correlation_id="corr-42",
                                    order_ref="WH/OUT/00042", version=3)
    cancelled = _post(sandbox, cancel, key="k1:cancel")
    assert (cancelled.status, json.loads(cancelled.body)["status"]) == (200, "cancelled")
    status, error = _error(_post(sandbox, plan(version=4), key="k1:v4"))
    assert (status, error["code"]) == (409, "plan_cancelled")
    assert error["message"] == ("plan plan-42 was cancelled at version 3: it cannot be "
                                "revised (version 4)")
    assert sandbox.history == [("plan-42", "release", 1), ("plan-42", "revise", 2),
                               ("plan-42", "cancel", 3)]
    assert sandbox.updates("corr-42") == []  # a cancelled plan reports nothing


def test_sandbox_refuses_a_revision_of_an_unknown_plan(sandbox):
    status, error = _error(_post(sandbox, plan(version=2)))
    assert (status, error["code"]) == (404, "unknown_plan")
    assert not sandbox.plans


def _wait_for(predicate, attempts=1500):
    """Wait on a state (a loaded machine is slow), not on a time."""
    event = threading.Event()
    for _ in range(attempts):
        if predicate():
            return True
        event.wait(0.02)
    return False


def test_sandbox_reports_on_its_own_when_told_to_and_corrects_charges(sandbox):
    with Receiver() as receiver:
        sandbox.configure(webhook_url=receiver.url + "/hook", secret=SECRET, report_after=0.01,
                          variance="9.00")
        assert _post(sandbox, plan()).status == 201
        assert _wait_for(lambda: len(receiver.calls) == 6)
        sandbox.configure(variance="0.00")
        assert sandbox.correct_charges("corr-42") == 200
        calls = receiver.calls
    kinds = [json.loads(c["body"])["type"] for c in calls]
    assert kinds == ["planned", "carrier_assigned", "milestone", "milestone", "milestone",
                     "freight_charges", "freight_charges"]
    first, corrected = (json.loads(c["body"]) for c in calls[-2:])
    assert (first["total"], first["invoice_ref"]) == ("129.00", "INV-PLN-00001")
    assert (corrected["total"], corrected["invoice_ref"], corrected["event_id"]) == (
        "120.00", "INV-PLN-00001-C1", "PLN-00001-c1")
    [ev] = parse_payload(calls[-1]["body"].encode(), get_normalizer("tms"))
    assert ev.kind == "freight_charges"


def test_timers_are_cancelled_by_reset_and_stop(sandbox):
    fired = []
    sandbox.later(30, fired.append, 1)
    assert sandbox.pending_timers == 1
    sandbox.reset()
    assert sandbox.pending_timers == 0
    sandbox.later(30, fired.append, 2)
    sandbox.stop()
    assert sandbox.pending_timers == 0 and fired == []
