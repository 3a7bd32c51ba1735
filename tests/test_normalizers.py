"""Schemas, JSON parsing and partner normalizers (fixtures follow the public docs)."""

import copy
import json
from datetime import datetime, timezone
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipsync.mapping import StatusMapper, seed_for
from shipsync.milestones import EXCEPTION_REASONS, MILESTONES
from shipsync.normalizers import (
    CanonicalEvent,
    get_normalizer,
    parse_datetime,
    parse_payload,
)
from shipsync.partners import inbound_selection
from shipsync.partners.easypost.inbound import EasyPostNormalizer
from shipsync.schemas import SCHEMA_DIR, PayloadError, load_schema, parse_json, validate

FIXTURES = Path(__file__).parent / "fixtures"
NORMALIZERS = [code for code, _label in inbound_selection()]
UTC = timezone.utc


def fixture_bytes(name):
    return (FIXTURES / name).read_bytes()


def fixture(name):
    return json.loads(fixture_bytes(name))


def dump(payload):
    return json.dumps(payload).encode()


# -- canonical schema file --------------------------------------------------------------------


def test_canonical_schema_enums_agree_with_milestones():
    schema = json.loads((SCHEMA_DIR / "canonical-envelope-v1.json").read_text())
    assert schema["$defs"]["milestone"]["enum"] == [c for c, _r, _l in MILESTONES]
    assert schema["$defs"]["exception_reason"]["enum"] == [c for c, _l in EXCEPTION_REASONS]
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$defs"]["event"]["additionalProperties"] is False
    events = schema["properties"]["events"]
    assert (events["minItems"], events["maxItems"]) == (1, 100)


@pytest.mark.parametrize("normalizer", sorted(NORMALIZERS))
def test_every_normalizer_schema_is_a_valid_shipped_file(normalizer):
    found = get_normalizer(normalizer)
    if found.schema is not None:  # a schema of the partner folder itself
        jsonschema.Draft202012Validator.check_schema(found.schema)
        return
    name = found.schema_name
    assert (SCHEMA_DIR / f"{name}.json").is_file()
    assert load_schema(name) is load_schema(name)


def test_load_schema_unknown_name():
    with pytest.raises(KeyError):
        load_schema("../pyproject")


# -- parse_json / validate --------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"\xff\xfe{}", b"{not json", b"[1, 2]", b'"text"', b"NaN", b""])
def test_parse_json_rejects_bad_bodies(body):
    with pytest.raises(PayloadError) as err:
        parse_json(body)
    assert err.value.code == "invalid_json"


def test_parse_json_accepts_object():
    assert parse_json(b'{"a": 1}') == {"a": 1}


def _envelope(**event):
    base = {"id": "e1", "occurred_at": "2024-06-01T08:00:00Z", "milestone": "picked",
            "picking_ref": "WH/OUT/1"}
    base.update(event)
    return {"schema_version": "1", "events": [{k: v for k, v in base.items() if v is not None}]}


@pytest.mark.parametrize("event, path", [
    ({"occurred_at": "yesterday"}, "$.events[0].occurred_at"),
    ({"occurred_at": "2024-06-01T08:00:00"}, "$.events[0].occurred_at"),
    ({"milestone": "teleported"}, "$.events[0].milestone"),
    ({"exception_reason": "bored"}, "$.events[0].exception_reason"),
    ({"id": None}, "$.events[0]"),
    ({"milestone": None}, "$.events[0]"),
    ({"picking_ref": None}, "$.events[0]"),
    ({"colour": "red"}, "$.events[0]"),
    ({"carrier_eta": "2024-13-01T00:00:00Z"}, "$.events[0].carrier_eta"),
])
def test_canonical_schema_violations_report_the_path(event, path):
    with pytest.raises(PayloadError) as err:
        validate(_envelope(**event), load_schema("canonical-envelope-v1"))
    assert err.value.code == "schema_violation"
    assert err.value.path == path
    assert err.value.message and path not in err.value.message


def test_first_error_is_deterministic():
    payload = _envelope(occurred_at="bad", milestone="bad")
    payload["events"].append(dict(payload["events"][0], id="e2"))
    paths = set()
    for _ in range(5):
        with pytest.raises(PayloadError) as err:
            validate(payload, load_schema("canonical-envelope-v1"))
        paths.add(err.value.path)
    assert paths == {"$.events[0].milestone"}


def test_envelope_limits():
    schema = load_schema("canonical-envelope-v1")
    with pytest.raises(PayloadError):
        validate({"schema_version": "1", "events": []}, schema)
    many = _envelope()
    many["events"] = [dict(many["events"][0], id=f"e{i}") for i in range(101)]
    with pytest.raises(PayloadError) as err:
        validate(many, schema)
    assert err.value.path == "$.events"
    with pytest.raises(PayloadError):
        validate(dict(_envelope(), schema_version="2"), schema)


def test_code_only_and_reason_only_events_are_valid():
    schema = load_schema("canonical-envelope-v1")
    validate(_envelope(milestone=None, code="SHIPPED"), schema)
    validate(_envelope(milestone=None, exception_reason="sync_failed"), schema)


# -- canonical normalizer ---------------------------------------------------------------------


def test_canonical_fixture():
    events = parse_payload(fixture_bytes("canonical_envelope.json"), get_normalizer("canonical"))
    assert [e.external_id for e in events] == ["wms-77-pick", "wms-77-pack", "wms-77-short"]
    pick, pack, short = events
    assert pick.milestone == "picked" and pick.picking_ref == "WH/OUT/00077"
    assert pick.occurred_at == datetime(2024, 6, 1, 8, 15, tzinfo=UTC)
    assert pack.code == "PACKED" and pack.subcode == "OK" and pack.milestone is None
    assert pack.occurred_at == datetime(2024, 6, 1, 7, 2, 30, 125000, tzinfo=UTC)
    assert short.exception_reason == "wms_mismatch"
    assert short.carrier_eta == datetime(2024, 6, 3, 17, tzinfo=UTC)


# -- EasyPost ---------------------------------------------------------------------------------


def test_easypost_tracker_updated_gives_one_event_per_detail():
    events = parse_payload(fixture_bytes("easypost_tracker_updated.json"), "easypost")
    assert [(e.code, e.subcode) for e in events] == [
        ("pre_transit", "status_update"),
        ("in_transit", "received_at_origin_facility"),
        ("in_transit", "arrived_at_facility"),
        ("out_for_delivery", "out_for_delivery"),
    ]
    assert all(e.tracking_number == "EZ4000000004" for e in events)
    assert events[1].location == "NORTH HOLLYWOOD, CA, 91601"
    assert events[0].carrier_eta == datetime(2024, 5, 3, 18, tzinfo=UTC)
    assert len({e.external_id for e in events}) == 4
    mapper = StatusMapper(seed_for("easypost"))
    milestones = [mapper.lookup(e.code, e.subcode).milestone for e in events]
    assert milestones == ["label_created", "picked_up", "in_transit", "out_for_delivery"]


def test_easypost_same_scan_pushed_twice_or_polled_has_same_id():
    payload = fixture("easypost_tracker_updated.json")
    pushed = parse_payload(dump(payload), "easypost")
    later = copy.deepcopy(payload)
    later["id"] = "evt_other"
    later["result"]["tracking_details"][0]["datetime"] = "2024-05-01T09:00:00+00:00"
    pushed_again = parse_payload(dump(later), "easypost")
    polled = EasyPostNormalizer().normalize_tracker(payload["result"])
    assert [e.external_id for e in pushed] == [e.external_id for e in pushed_again]
    assert [e.external_id for e in pushed] == [e.external_id for e in polled]


def test_easypost_other_event_types_are_ignored():
    assert parse_payload(fixture_bytes("easypost_batch_created.json"), "easypost") == []


def test_easypost_tracker_without_details_uses_current_status():
    payload = fixture("easypost_tracker_updated.json")
    payload["description"] = "tracker.created"
    payload["result"]["tracking_details"] = []
    (event,) = parse_payload(dump(payload), "easypost")
    assert (event.code, event.subcode) == ("out_for_delivery", "out_for_delivery")
    assert event.occurred_at == datetime(2024, 5, 3, 14, 2, 10, tzinfo=UTC)


def test_easypost_tracker_missing_tracking_code_is_a_schema_violation():
    payload = fixture("easypost_tracker_updated.json")
    del payload["result"]["tracking_code"]
    with pytest.raises(PayloadError) as err:
        parse_payload(dump(payload), "easypost")
    assert err.value.path == "$.result"


# -- AfterShip --------------------------------------------------------------------------------


def test_aftership_checkpoints():
    events = parse_payload(fixture_bytes("aftership_tracking_update.json"), "aftership")
    assert [(e.code, e.subcode) for e in events] == [
        ("InfoReceived", "InfoReceived_001"),
        ("InTransit", "InTransit_002"),
        ("AttemptFail", "AttemptFail_002"),
    ]
    last = events[-1]
    assert last.occurred_at == datetime(2024, 6, 11, 16, 15, tzinfo=UTC)
    assert last.picking_ref == "WH/OUT/00042" and last.tracking_number == "1Z9999W99999999999"
    assert last.correlation_id == "c0ffee00-1234-4abc-8def-0123456789ab"
    assert last.location == "Utrecht, NLD" and events[1].location == "Amsterdam, NL"
    assert last.carrier_eta == datetime(2024, 6, 12, tzinfo=UTC)
    mapper = StatusMapper(seed_for("aftership"))
    result = mapper.lookup(last.code, last.subcode)
    assert (result.milestone, result.exception_reason) == (
        "delivery_attempted", "recipient_unavailable"
    )


def test_aftership_ids_are_stable_across_deliveries():
    payload = fixture("aftership_tracking_update.json")
    first = parse_payload(dump(payload), "aftership")
    payload["event_id"] = "another-delivery"
    payload["msg"]["checkpoints"] = payload["msg"]["checkpoints"][:2]
    second = parse_payload(dump(payload), "aftership")
    assert [e.external_id for e in second] == [e.external_id for e in first[:2]]


def test_aftership_other_events_are_ignored():
    payload = {"event": "edd_revise", "msg": {"id": "x"}, "ts": 1}
    assert parse_payload(dump(payload), "aftership") == []


# -- Shippo -----------------------------------------------------------------------------------


def test_shippo_history_and_current_status_are_deduplicated():
    events = parse_payload(fixture_bytes("shippo_track_updated.json"), "shippo")
    assert [(e.code, e.subcode) for e in events] == [
        ("PRE_TRANSIT", "information_received"),
        ("TRANSIT", "package_accepted"),
        ("TRANSIT", "delivery_attempted"),
    ]
    assert events[-1].picking_ref == "WH/OUT/00077"
    assert events[-1].location == "Spotsylvania, VA, 22551, US"
    assert events[-1].carrier_eta == datetime(2024, 7, 5, 19, tzinfo=UTC)


def test_shippo_action_required_is_in_the_message():
    payload = fixture("shippo_track_updated.json")
    payload["data"]["tracking_history"] = []
    payload["data"]["tracking_status"]["substatus"] = {
        "code": "address_issue", "text": "Address issue", "action_required": True
    }
    (event,) = parse_payload(dump(payload), "shippo")
    assert event.message.endswith("(action required)")
    assert StatusMapper(seed_for("shippo")).lookup(event.code, event.subcode).exception_reason == (
        "address_issue"
    )


def test_shippo_other_events_are_ignored():
    assert parse_payload(dump({"event": "transaction_created", "data": {}}), "shippo") == []


# -- helpers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("2024-06-01T10:00:00Z", datetime(2024, 6, 1, 10, tzinfo=UTC)),
    ("2024-06-01T12:00:00+02:00", datetime(2024, 6, 1, 10, tzinfo=UTC)),
    ("2024-06-01T10:00:00", datetime(2024, 6, 1, 10, tzinfo=UTC)),
    ("2024-06-01T10:00:00.1234567-0100", datetime(2024, 6, 1, 11, 0, 0, 123456, tzinfo=UTC)),
    ("2024-06-01", datetime(2024, 6, 1, tzinfo=UTC)),
    (None, None),
])
def test_parse_datetime(text, expected):
    assert parse_datetime(text) == expected


def test_parse_datetime_rejects_garbage():
    with pytest.raises(PayloadError) as err:
        parse_datetime("soon", "$.x")
    assert err.value.path == "$.x"


def test_get_normalizer_unknown():
    with pytest.raises(KeyError):
        get_normalizer("pigeon")


def test_canonical_event_is_frozen():
    event = CanonicalEvent("x", datetime(2024, 1, 1, tzinfo=UTC))
    with pytest.raises(AttributeError):
        event.code = "y"


@given(st.binary(max_size=200))
def test_parse_payload_only_raises_payload_error(body):
    for name in NORMALIZERS:
        try:
            parse_payload(body, name)
        except PayloadError:
            pass


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


FUZZ_FIXTURES = [
    ("canonical", "canonical_envelope.json"),
    ("easypost", "easypost_tracker_updated.json"),
    ("aftership", "aftership_tracking_update.json"),
    ("shippo", "shippo_track_updated.json"),
]


@settings(max_examples=300)
@given(st.sampled_from(FUZZ_FIXTURES), st.data())
def test_mutated_partner_payloads_only_raise_payload_error(case, data):
    name, filename = case
    payload = fixture(filename)
    path = data.draw(st.sampled_from(list(_paths(payload))[1:]))
    node = payload
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = data.draw(json_values)
    try:
        events = parse_payload(dump(payload), name)
    except PayloadError:
        return
    for event in events:
        assert event.external_id and event.occurred_at.tzinfo is not None
