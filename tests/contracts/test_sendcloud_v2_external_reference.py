"""Sendcloud v2 ``external_reference``: what the v2 parcels document says, done by the
sandbox and relied on by the adapter.

The document's only statement (``ParcelCreation.external_reference``): "A reference to
be assigned to this parcel. Must be unique across parcels. This field is used to create
idempotence." It does not say what a second create with a used reference answers; it
declares ``200`` and ``400`` (``CreateParcelError``) for ``POST /parcels`` and the query
parameter ``external_reference`` of ``GET /parcels`` ("Returns parcels that match a
specified external reference"; the 200 list has ``minItems: 1``, so no match is its 404).
The sandbox refuses a used reference with the documented 400 and creates nothing; the
adapter looks its parcels up by reference before creating, so a retry never buys a
second label whatever Sendcloud answers to a repeat.
"""

from __future__ import annotations

import json

import pytest
import requests

from shipsync.adapters.base import CarrierError, TransientError
from shipsync.partners.sendcloud.outbound import SendcloudAdapter, build_parcels_body
from shipsync.partners.sendcloud.shipments_v3 import parcel_reference
from shipsync.transport import HttpResult, new_session, send

from .openapi import load_spec, validate_request, validate_response
from .test_sendcloud_openapi_contract import V2_PARCELS, _request

AUTH = ("sandbox-public", "sandbox-secret")


@pytest.fixture(scope="module")
def v2(contracts_dir):
    return load_spec(contracts_dir, V2_PARCELS)


def test_the_document_makes_external_reference_unique(v2):
    """The statement the sandbox follows is in the document (the test reads it there)."""
    for schema in ("ParcelCreation",):
        prop = v2.raw["components"]["schemas"][schema]["properties"]["external_reference"]
        assert "Must be unique across parcels" in prop["description"]
        assert "idempotence" in prop["description"]
    params = v2.raw["paths"]["/parcels"]["get"]["parameters"]
    assert any(p.get("name") == "external_reference" and p.get("in") == "query"
               for p in params)
    assert set(v2.raw["paths"]["/parcels"]["post"]["responses"]) == {"200", "400"}


def test_sandbox_refuses_a_used_external_reference_and_creates_nothing(v2, sandbox):
    body = build_parcels_body(_request(parcels=1), 8, idempotency_key="corr-1:1:ship:0")
    reference = body["parcel"]["external_reference"]
    validate_request(v2, "POST", "/api/v2/parcels", body)
    first = requests.post(sandbox.url + "/api/v2/parcels", json=body, auth=AUTH, timeout=10)
    assert first.status_code == 200
    # the same request again (a retry without a look-up, or another worker)
    again = requests.post(sandbox.url + "/api/v2/parcels", json=body, auth=AUTH, timeout=10)
    assert again.status_code == 400, again.text
    validate_response(v2, "POST", "/api/v2/parcels", 400, again.json())
    assert "external_reference" in again.json()["error"]["message"]
    assert len(sandbox.parcels) == 1
    # a batch holding the used reference: the other parcel is created, that one is not
    batch = build_parcels_body(_request(parcels=2), 8, idempotency_key="corr-1:1:ship:0")
    mixed = requests.post(sandbox.url + "/api/v2/parcels", json=batch, auth=AUTH, timeout=10)
    assert mixed.status_code == 200
    assert [p["external_reference"] for p in mixed.json()["parcels"]] == [
        parcel_reference("corr-1:1:ship:0", 1)]
    assert [f["errors"] for f in mixed.json()["failed_parcels"]] == [
        {"external_reference": ["A parcel with this external reference already exists."]}]
    assert len(sandbox.parcels) == 2
    # the documented look-up finds the parcel by its reference; no match is a 404
    path = f"/api/v2/parcels?external_reference={reference}"
    validate_request(v2, "GET", path)
    found = requests.get(sandbox.url + path, auth=AUTH, timeout=10)
    validate_response(v2, "GET", path, 200, found.json(), nulls="as_absent")
    assert [p["id"] for p in found.json()["parcels"]] == [first.json()["parcel"]["id"]]
    assert "_history" not in found.json()["parcels"][0]  # no sandbox bookkeeping leaks
    none = requests.get(sandbox.url + "/api/v2/parcels?external_reference=nope", auth=AUTH,
                        timeout=10)
    assert none.status_code == 404
    validate_response(v2, "GET", "/api/v2/parcels?external_reference=nope", 404, none.json())


def test_sandbox_ignores_idempotency_key_sendcloud_documents_none(sandbox):
    """Replaying by ``Idempotency-Key`` would hide a missing look-up: Sendcloud's
    documents have no such header, so the sandbox does not honour it."""
    body = build_parcels_body(_request(parcels=1), 8)  # no external_reference at all
    answers = [requests.post(sandbox.url + "/api/v2/parcels", json=body, auth=AUTH,
                             headers={"Idempotency-Key": "k1"}, timeout=10)
               for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].json()["parcel"]["id"] != answers[1].json()["parcel"]["id"]


@pytest.mark.parametrize("parcels", [1, 2])
def test_a_retry_after_a_lost_answer_reuses_the_parcels(v2, sandbox, parcels):
    session = new_session()
    lost, seen = [], []

    def lose_the_create_answer(req):
        result = send(session, req)
        seen.append((req.method, req.url[len(sandbox.url):], req.json, result.status))
        if req.method == "POST" and not lost:
            lost.append(result)  # Sendcloud created the parcels; the answer never arrives
            return HttpResult(None, {}, b"", 30000, "timeout", "ReadTimeout", None)
        return result

    def sendcloud(http=None):
        return SendcloudAdapter(sandbox.url, "sandbox-public:sandbox-secret", api_version="v2",
                                shipping_method_id=8,
                                http=http or (lambda req: send(session, req)))

    with pytest.raises(TransientError):
        sendcloud(lose_the_create_answer).create_shipment(_request(parcels=parcels),
                                                          "corr-7:7:ship:0")
    assert lost and lost[0].status == 200 and len(sandbox.parcels) == parcels
    # the outbox retries in a fresh process: a new adapter, the same booking key
    retried = sendcloud(lose_the_create_answer).create_shipment(
        _request(parcels=parcels), "corr-7:7:ship:0")
    assert len(sandbox.parcels) == parcels  # no second parcel, no second label
    created = json.loads(lost[0].body)
    ids = [p["id"] for p in (created.get("parcels") or [created.get("parcel")])]
    assert retried.shipment_id == ",".join(map(str, ids))
    assert len(retried.labels) == parcels
    assert all(label.content.startswith(b"%PDF-") for label in retried.labels)
    assert [s for m, _p, _b, s in seen if m == "POST"] == [200]  # one create in all
    for method, path, body, _status in seen:
        if "/labels/" in path:
            continue  # the label link of the answer
        validate_request(v2, method, path, body)
    # a new booking of the same picking (after a cancellation) books anew
    other = sendcloud().create_shipment(_request(parcels=parcels), "corr-7:7:ship:1")
    assert other.shipment_id != retried.shipment_id
    assert len(sandbox.parcels) == 2 * parcels


def test_a_used_reference_without_the_look_up_is_a_carrier_error(sandbox):
    """What an adapter that did not look up would get: a precise refusal, no label."""
    sc = SendcloudAdapter(sandbox.url, "sandbox-public:sandbox-secret", api_version="v2",
                          shipping_method_id=8)
    sc.create_shipment(_request(parcels=1), "corr-8:8:ship:0")
    with pytest.raises(CarrierError) as err:
        sc.call_json(sc.build_create(_request(parcels=1), "corr-8:8:ship:0"), "create")
    assert err.value.http_status == 400 and "external_reference" in err.value.message
    assert len(sandbox.parcels) == 1
