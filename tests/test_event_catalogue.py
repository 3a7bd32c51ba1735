"""The canonical event catalogue: every type published with a schema, every body valid
against it, ids stable."""

import json
from datetime import datetime, timezone

import pytest

from shipsync import catalogue as cat
from shipsync import governance as gov
from shipsync import outbox
from shipsync.schemas import SCHEMA_DIR, PayloadError, load_schema

AT = datetime(2026, 11, 2, 8, 30, tzinfo=timezone.utc)
NOW = datetime(2026, 11, 2, 8, 31, 5)
SHIPMENT = {"reference": "WH/OUT/00042", "id": 42, "correlation_id": "c0ffee42",
            "tracking_numbers": ["1Z999AA10123456784"], "carrier": "UPS", "origin": "S00042",
            "type": "outgoing"}
PARTNER = {"id": 3, "code": "easypost", "name": "EasyPost", "kind": "carrier"}

#: One realistic body of each type: (key, data, subject).
SAMPLES = {
    cat.EXCEPTION_RAISED: (("customs_hold", AT.isoformat()), {
        "reason": "customs_hold", "milestone": "in_transit", "source": "easypost",
        "message": "Held at customs"}),
    cat.EXCEPTION_RESOLVED: (("customs_hold", AT.isoformat()), {
        "reason": "customs_hold", "raised_at": "2026-11-01T10:00:00Z",
        "milestone": "out_for_delivery", "source": "easypost", "message": None}),
    cat.LABEL_CREATED: (("1Z999AA10123456784", False), {
        "carrier": "UPS", "tracking_numbers": ["1Z999AA10123456784"], "is_return": False,
        "price": 12.5, "currency": "EUR"}),
    cat.LABEL_FAILED: ((17,), {"carrier": "UPS", "is_return": False,
                               "error": "Address could not be validated",
                               "error_class": "invalid_input", "http_status": 422}),
    cat.FREIGHT_VARIANCE: ((5,), {"tracking_number": "1Z999AA10123456784",
                                  "invoice": "INV/2026/0042", "amount": 19.9,
                                  "expected_amount": 12.5, "currency": "EUR"}),
    cat.DELIVERED_WITHOUT_POD: ((AT.isoformat(),), {"delivered_at": "2026-11-02T08:30:00Z",
                                                    "source": "easypost"}),
    cat.WMS_MISMATCH: (("pick_confirmed WH/PICK/7: 3 units of FURN_7800, 2 ordered",), {
        "message": "pick_confirmed WH/PICK/7: 3 units of FURN_7800, 2 ordered",
        "milestone": "released"}),
    cat.BREAKER_OPENED: ((3, 1793607000.0), {"partner": PARTNER,
                                             "opened_at": "2026-11-02T08:30:00Z",
                                             "consecutive_failures": 5}),
    cat.BREAKER_CLOSED: ((3, 1793607000.0), {"partner": PARTNER,
                                             "opened_at": "2026-11-02T08:30:00Z",
                                             "closed_by": "probe"}),
}


def sample(code):
    key, data = SAMPLES[code]
    shipment_event = cat.event_type(code).subject == cat.SHIPMENT
    return cat.build_event(
        code, key=key, occurred_at=AT, created_at=NOW, company_id=1, data=data,
        correlation_id=SHIPMENT["correlation_id"] if shipment_event else None,
        shipment=SHIPMENT if shipment_event else None)


def milestone_sample(**envelope):
    return outbox.milestone_event(
        event_id=cat.milestone_event_id("c0ffee42", "in_transit", AT), created_at=NOW,
        shipment=SHIPMENT, previous_milestone="picked_up", milestone="in_transit",
        milestone_at=AT, exception_state="open", exception_reason="customs_hold",
        source="easypost", **envelope)


def test_the_catalogue_names_every_type_the_suite_publishes():
    assert set(cat.CATALOGUE) == {
        "shipment.milestone_changed", "shipment.exception_raised",
        "shipment.exception_resolved", "shipment.label_created", "shipment.label_failed",
        "shipment.freight_variance", "shipment.delivered_without_pod",
        "shipment.wms_mismatch", "partner.breaker_opened", "partner.breaker_closed"}
    assert set(SAMPLES) | {cat.MILESTONE_CHANGED} == set(cat.CATALOGUE)
    assert cat.DEFAULT_TYPES == ("shipment.milestone_changed",)


@pytest.mark.parametrize("code", sorted(cat.CATALOGUE))
def test_every_type_ships_a_schema_beside_the_envelope_and_is_in_the_openapi_webhooks(code):
    kind = cat.event_type(code)
    stored = json.loads((SCHEMA_DIR / "openapi.json").read_text())
    hook = stored["webhooks"][code]["post"]
    assert hook["operationId"] == kind.operation_id
    for version, name in kind.versions:
        schema = load_schema(name)
        assert (SCHEMA_DIR / f"{name}.json").is_file()
        assert schema["$id"] == f"urn:shipsync:schema:{name}"
        assert schema["properties"]["type"] == {"const": code}
        assert name.endswith(f"-v{version}")
    assert gov.OUTBOUND_VERSIONS[code] == dict(kind.versions)


@pytest.mark.parametrize("code", sorted(SAMPLES))
def test_every_event_validates_against_its_schema(code):
    event = sample(code)
    cat.validate_event(event)
    assert event["type"] == code and event["schema_version"] == "1"
    assert event["occurred_at"] == "2026-11-02T08:30:00Z"
    assert event["created_at"] == "2026-11-02T08:31:05Z"
    assert event["company_id"] == 1
    if cat.event_type(code).subject == cat.SHIPMENT:
        assert event["correlation_id"] == "c0ffee42"
        assert event["data"]["shipment"]["correlation_id"] == "c0ffee42"
    else:
        assert event["correlation_id"] is None
        assert event["data"]["partner"]["code"] == "easypost"


@pytest.mark.parametrize("code", sorted(SAMPLES))
def test_a_body_missing_an_envelope_field_is_refused_by_its_schema(code):
    for field in ("id", "occurred_at", "company_id", "correlation_id", "data"):
        event = sample(code)
        del event[field]
        with pytest.raises(PayloadError):
            cat.validate_event(event)
    event = sample(code)
    event["type"] = "shipment.something_else"
    with pytest.raises(cat.UnknownEventType):
        cat.validate_event(event)


def test_a_shipment_event_needs_the_shipments_correlation_id():
    event = sample(cat.EXCEPTION_RAISED)
    event["correlation_id"] = None
    with pytest.raises(PayloadError):
        cat.validate_event(event)
    event = sample(cat.EXCEPTION_RAISED)
    event["data"]["reason"] = "not_a_reason"
    with pytest.raises(PayloadError):
        cat.validate_event(event)


def test_ids_are_stable_and_tell_facts_apart():
    first, again = sample(cat.EXCEPTION_RAISED), sample(cat.EXCEPTION_RAISED)
    assert first["id"] == again["id"]
    assert first["id"].startswith("msg_") and len(first["id"]) == 4 + 32
    # Pinned: a new formula would make subscribers receive the same fact twice.
    assert first["id"] == cat.event_id(cat.EXCEPTION_RAISED, "c0ffee42", "customs_hold",
                                       AT.isoformat())
    other = cat.build_event(cat.EXCEPTION_RAISED, key=("address_issue", AT.isoformat()),
                            occurred_at=AT, created_at=NOW, company_id=1,
                            data=SAMPLES[cat.EXCEPTION_RAISED][1], correlation_id="c0ffee42",
                            shipment=SHIPMENT)
    assert other["id"] != first["id"]
    # Same key, other type: another event.
    assert sample(cat.EXCEPTION_RESOLVED)["id"] != first["id"]
    # created_at is when it was built, not part of the id.
    later = cat.build_event(cat.EXCEPTION_RAISED, key=("customs_hold", AT.isoformat()),
                            occurred_at=AT, created_at=datetime(2027, 1, 1), company_id=1,
                            data={}, correlation_id="c0ffee42", shipment=SHIPMENT)
    assert later["id"] == first["id"]
    ids = {sample(code)["id"] for code in SAMPLES}
    assert len(ids) == len(SAMPLES)


def test_milestone_changed_keeps_its_id_and_body_and_gains_the_envelope():
    # The id milestone_changed always had (shipment, milestone, time), literal.
    assert cat.milestone_event_id("c0ffee42", "in_transit", AT) == outbox.stable_id(
        "c0ffee42", "in_transit", AT.isoformat(), prefix="msg_")
    plain = milestone_sample()
    assert "occurred_at" not in plain and "company_id" not in plain
    full = milestone_sample(correlation_id="c0ffee42", company_id=1)
    assert {k: v for k, v in full.items()
            if k not in ("occurred_at", "correlation_id", "company_id")} == plain
    assert (full["occurred_at"], full["correlation_id"], full["company_id"]) == (
        "2026-11-02T08:30:00Z", "c0ffee42", 1)
    for event in (plain, full):
        cat.validate_event(event)
        v2 = cat.in_version(event, "2")
        cat.validate_event(v2)
        assert v2["data"]["milestone"]["code"] == "in_transit"
    assert cat.in_version(full, "2")["correlation_id"] == "c0ffee42"
    with pytest.raises(cat.UnknownEventType):
        cat.build_event(cat.MILESTONE_CHANGED, key=(), occurred_at=AT, created_at=NOW,
                        company_id=1, data={})


def test_a_subscription_version_applies_to_the_types_that_publish_it():
    event = sample(cat.LABEL_FAILED)
    assert cat.in_version(event, "2") == event
    assert cat.in_version(event, "1") == event
    with pytest.raises(cat.UnknownEventType):
        cat.event_type("milestone.changed")


def test_wants_only_the_chosen_types():
    assert cat.wants(["shipment.label_failed"], "shipment.label_failed")
    assert not cat.wants(["shipment.label_failed"], "shipment.milestone_changed")
    assert not cat.wants([], "shipment.milestone_changed")
