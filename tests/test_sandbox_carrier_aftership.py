"""The carrier sandbox's AfterShip subset over real loopback HTTP, driven by the real
AfterShip adapter: tracking registration (4003 on a repeat, 401 without the key),
polling and ``aftership-hmac-sha256`` signed ``tracking_update`` webhooks."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from shipsync.adapters import CarrierError, Parcel, ShipmentRequest, TransientError
from shipsync.adapters.base import Address
from shipsync.mapping import StatusMapper, seed_for
from shipsync.normalizers import parse_payload
from shipsync.partners.aftership.outbound import AfterShipAdapter
from shipsync.partners.aftership.sandbox import aftership_signature
from shipsync.partners.easypost.outbound import EasyPostAdapter
from shipsync.signatures import SignatureError, make_verifier

API_KEY = "asat_sandbox_key"
SECRET = "sandbox-aftership-secret"


def aftership(sandbox, key=API_KEY, **kw):
    return AfterShipAdapter(sandbox.url, key, **kw)


def book_easypost(sandbox) -> str:
    req = ShipmentRequest(
        reference="WH/OUT/00042", correlation_id="corr-42",
        ship_from=Address(name="Warehouse", street="1 Main St", city="SF", zip="94105",
                          country_code="US"),
        ship_to=Address(name="Ada", street="2 Side St", city="LA", zip="90001",
                        country_code="US"),
        parcels=(Parcel(weight_kg=Decimal("1.5"), reference="PACK0"),))
    return EasyPostAdapter(sandbox.url, "EZTK_key").create_shipment(req, "k1").tracking_numbers[0]


def posts(sandbox):
    return [c for c in sandbox.calls if c["method"] == "POST" and c["path"].endswith("/trackings")]


def test_register_then_repeat_is_4003_already_exists(sandbox):
    adapter = aftership(sandbox)
    first = adapter.register_tracking("1Z999AA10123456784", "ups", "WH/OUT/00042",
                                      {"correlation_id": "corr-42"})
    assert first["id"] and first["slug"] == "ups" and first["already_exists"] is False
    assert [c["path"] for c in posts(sandbox)] == ["/tracking/2025-07/trackings"]
    tracking = sandbox.as_trackings["1Z999AA10123456784"]
    assert tracking["order_id"] == "WH/OUT/00042"
    assert tracking["custom_fields"] == {"correlation_id": "corr-42"}
    # the adapter sends the same Idempotency-Key: AfterShip ignores it, the repeat is a 4003
    again = adapter.register_tracking("1Z999AA10123456784", "ups")
    assert again == {**first, "already_exists": True}
    assert len(posts(sandbox)) == 2 and len(sandbox.as_trackings) == 1


def test_legacy_v4_prefix(sandbox):
    out = aftership(sandbox, api_version="v4").register_tracking("1Z1V4NUMBER", "ups")
    assert out["id"] and posts(sandbox)[0]["path"] == "/v4/trackings"
    assert aftership(sandbox, api_version="v4").register_tracking("1Z1V4NUMBER")[
        "already_exists"]


def test_missing_or_wrong_api_key_is_401(sandbox):
    with pytest.raises(CarrierError) as err:
        aftership(sandbox, key="").register_tracking("1Z999", "ups")
    assert err.value.http_status == 401
    sandbox.configure(aftership_api_key=API_KEY)
    with pytest.raises(CarrierError) as err:
        aftership(sandbox, key="not-the-key").register_tracking("1Z999", "ups")
    assert err.value.http_status == 401 and "not-the-key" not in str(err.value)
    assert aftership(sandbox).register_tracking("1Z999", "ups")["id"]
    assert not sandbox.as_trackings["1Z999"]["checkpoints"]


def test_invalid_tracking_number_is_a_4005_carrier_error(sandbox):
    raw = aftership(sandbox).call(
        aftership(sandbox).request("POST", "/tracking/2025-07/trackings",
                                   json={"tracking_number": "x"}),
        "raw", tolerate=(400,))
    assert raw.status == 400 and json.loads(raw.body)["meta"]["code"] == 4005
    with pytest.raises(CarrierError) as err:
        aftership(sandbox).register_tracking("x", "ups")
    assert err.value.http_status == 400 and err.value.partner_code == "4005"


def test_failure_knobs_apply(sandbox):
    sandbox.configure(fail_next=1, fail_status=503)
    with pytest.raises(TransientError):
        aftership(sandbox).register_tracking("1Z999", "ups")
    assert aftership(sandbox).register_tracking("1Z999", "ups")["already_exists"] is False


def test_tracking_of_a_sandbox_shipment_follows_it_and_is_polled(sandbox):
    code = book_easypost(sandbox)
    adapter = aftership(sandbox)
    out = adapter.register_tracking(code, order_id="WH/OUT/00042")
    assert out["slug"] == "usps"  # detected from the number
    # what the carrier already said: the label
    assert [e.code for e in adapter.track([code])] == ["InfoReceived"]
    sandbox.advance(code, steps=2, webhook=False)
    events = adapter.track([code, "UNKNOWN"])
    assert [(e.code, e.subcode) for e in events] == [
        ("InfoReceived", "InfoReceived_001"), ("InTransit", "InTransit_002"),
        ("InTransit", "InTransit_001")]
    assert {e.tracking_number for e in events} == {code}
    assert {e.picking_ref for e in events} == {"WH/OUT/00042"}
    got = json.loads(adapter.call(adapter.request(
        "GET", f"/tracking/2025-07/trackings/{out['id']}"), "get").body)
    assert got["data"]["tag"] == "InTransit" and len(got["data"]["checkpoints"]) == 3


def test_advance_posts_signed_aftership_webhooks_that_verify_and_map(sandbox, receiver):
    receiver.reset()
    code = book_easypost(sandbox)
    aftership(sandbox).register_tracking(code, "usps", "WH/OUT/00042",
                                         {"correlation_id": "corr-42"})
    deliveries = sandbox.advance(code, url=receiver.url + "/easypost",
                                 aftership_url=receiver.url + "/aftership")
    kinds = [d["kind"] for d in deliveries]
    assert kinds == ["easypost"] * 4 + ["aftership"] * 4
    assert all(d["status"] == 200 for d in deliveries)
    verifier = make_verifier("aftership", [SECRET])
    mapper = StatusMapper(seed_for("aftership"))
    milestones, ids = [], set()
    hooks = [c for c in receiver.calls if c["path"] == "/aftership"]
    assert len(hooks) == 4
    for call in hooks:
        body = call["body"].encode()
        verifier.verify(call["headers"], body)
        payload = json.loads(body)
        assert payload["event"] == "tracking_update" and payload["msg"]["tag"]
        events = parse_payload(body, "aftership")
        assert {e.correlation_id for e in events} == {"corr-42"}
        ids |= {e.external_id for e in events}
        milestones.append(mapper.lookup(events[-1].code, events[-1].subcode).milestone)
    # every webhook carries the whole history: label + 4 steps, 5 distinct checkpoints
    assert len(ids) == 5
    assert milestones == ["picked_up", "in_transit", "out_for_delivery", "delivered"]
    # a tampered signature does not verify
    with pytest.raises(SignatureError):
        verifier.verify({"aftership-hmac-sha256": aftership_signature(body, "wrong")}, body)


def test_aftership_only_tracking_moves_along_its_own_scenario(sandbox, receiver):
    receiver.reset()
    sandbox.configure(aftership_webhook_url=receiver.url + "/as", aftership_secret="s2")
    aftership(sandbox).register_tracking("1ZONLYAFTERSHIP", "ups")
    deliveries = sandbox.advance("1ZONLYAFTERSHIP", scenario="exception", steps=2,
                                 duplicates=1, shuffle=3)
    assert [d["kind"] for d in deliveries] == ["aftership"] * 4
    assert all(d["status"] == 200 for d in deliveries)
    for call in receiver.calls:
        make_verifier("aftership", ["s2"]).verify(call["headers"], call["body"].encode())
    tags = [c["subtag"] for c in sandbox.as_trackings["1ZONLYAFTERSHIP"]["checkpoints"]]
    assert tags == ["InTransit_002", "Exception_017"]
    with pytest.raises(KeyError):
        sandbox.advance("NOT-REGISTERED")
