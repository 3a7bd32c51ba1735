"""Published schema versions: inbound envelope and outbound subscription payload."""

from datetime import datetime, timezone

import pytest

from shipsync import governance as gov
from shipsync import outbox
from shipsync.schemas import PayloadError, load_schema, validate

EVENT = {"id": "e1", "occurred_at": "2026-11-02T08:00:00Z", "picking_ref": "WH/OUT/1",
         "milestone": "picked"}


def test_every_published_version_ships_a_valid_schema():
    for table in (gov.INBOUND_VERSIONS, gov.OUTBOUND_VERSIONS):
        for versions in table.values():
            for version, name in versions.items():
                schema = load_schema(name)
                assert name.endswith(f"-v{version}")
                assert schema["$id"].endswith(name)


def test_v1_and_v2_envelopes_accepted_by_default():
    assert gov.check_inbound_version("canonical", {"schema_version": "1"}) == \
        "canonical-envelope-v1"
    name = gov.check_inbound_version("canonical", {"schema_version": "2"})
    validate({"schema_version": "2", "sent_at": "2026-11-02T08:00:00Z", "events": [EVENT]},
             load_schema(name))


def test_v2_envelope_needs_sent_at():
    with pytest.raises(PayloadError):
        validate({"schema_version": "2", "events": [EVENT]}, load_schema("canonical-envelope-v2"))


@pytest.mark.parametrize("payload", [{}, {"schema_version": "9"}, {"schema_version": None},
                                     {"schema_version": True}, {"schema_version": [1]}])
def test_unknown_or_missing_version_rejected(payload):
    with pytest.raises(gov.VersionError) as info:
        gov.check_inbound_version("canonical", payload)
    assert info.value.code == "unsupported_schema_version"


def test_retired_version_rejected_and_pinned_partner_takes_only_its_version():
    with pytest.raises(gov.VersionError, match="retired"):
        gov.check_inbound_version("canonical", {"schema_version": "1"}, retired=("1",))
    with pytest.raises(gov.VersionError, match="pinned"):
        gov.check_inbound_version("canonical", {"schema_version": "1"}, pinned="2")
    assert gov.check_inbound_version("canonical", {"schema_version": 2}, pinned="2") == \
        "canonical-envelope-v2"
    assert gov.accepted_versions(("1", "2"), gov.parse_retired(" 1 ;")) == ("2",)


def test_outbound_event_in_each_version_matches_its_schema():
    event = outbox.milestone_event(
        event_id="msg_1", created_at=datetime(2026, 11, 2, tzinfo=timezone.utc),
        shipment={"reference": "WH/OUT/1", "id": 7}, previous_milestone="picked",
        milestone="packed", milestone_at=datetime(2026, 11, 2, tzinfo=timezone.utc),
        exception_state="open", exception_reason="damaged", source="wms")
    gov.validate_outbound(event)
    v2 = gov.outbound_event(event, "2")
    gov.validate_outbound(v2)
    assert v2["data"]["milestone"] == {"code": "packed", "at": event["data"]["milestone_at"],
                                       "previous": "picked"}
    assert v2["data"]["exception"] == {"state": "open", "reason": "damaged"}
    assert gov.outbound_event(event, "1") == event
    with pytest.raises(gov.VersionError):
        gov.outbound_event(event, "3")


def test_openapi_document_in_repo_is_the_generated_one():
    import json

    from shipsync.schemas import SCHEMA_DIR

    stored = json.loads((SCHEMA_DIR / "openapi.json").read_text())
    assert stored == json.loads(json.dumps(gov.openapi_document()))
    post = stored["paths"][gov.WEBHOOK_PATH]["post"]
    codes = " ".join(r["description"] for r in post["responses"].values())
    assert "unsupported_schema_version" in codes
    for ref in stored["components"]["schemas"].values():
        if "$ref" in ref:
            load_schema(ref["$ref"])
