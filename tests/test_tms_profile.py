"""The canonical TMS profile: plan release, updates into canonical events, and the TMS
sandbox (plans, idempotency, failure knobs, signed updates)."""

from __future__ import annotations

import json
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
