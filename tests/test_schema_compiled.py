"""The compiled validators of ``shipsync.schemas``: the fast validator (jsonschema_rs)
only ever shortcuts an acceptance, so it must never accept what the reference
validator (jsonschema, whose errors are reported) refuses."""

import copy
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipsync import schemas

FIXTURES = Path(__file__).parent / "fixtures"
# The WMS documents are validated by shipsync.wms.json_format with their own registry.
SCHEMA_NAMES = sorted(p.stem for p in schemas.SCHEMA_DIR.glob("*.json")
                      if p.stem != "openapi" and not p.stem.startswith("wms-"))
VALID = json.loads((FIXTURES / "canonical_envelope.json").read_text())

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(["1", "2", "picked", "delivered", "2026-11-02T08:00:00Z",
                     "2026-11-02T08:00:00", "2026-13-02T08:00:00Z", "2026-11-02\n", "",
                     "x" * 300, "12.5", "+3", "2026-11-02"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=12)
FIELDS = ["schema_version", "events", "id", "occurred_at", "milestone", "code", "subcode",
          "exception_reason", "tracking_number", "picking_ref", "correlation_id", "message",
          "location", "carrier_eta", "kind", "lines", "quantity", "order_ref", "message_id"]


def test_the_fast_validator_is_used():
    pytest.importorskip("jsonschema_rs")
    validator = schemas.compiled(schemas.load_schema("canonical-envelope-v1"))
    assert validator.fast is not None
    assert validator.fast_accepts(VALID)


def test_a_schema_referring_to_another_document_has_no_fast_validator():
    schema = {"$ref": "https://example.invalid/other.json"}
    assert schemas.compiled(schema).fast is None


def test_compiled_once_per_schema_object():
    schema = schemas.load_schema("canonical-envelope-v1")
    assert schemas.compiled(schema) is schemas.compiled(schema)


@pytest.mark.parametrize("name", SCHEMA_NAMES)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_fast_never_accepts_what_the_reference_refuses(name, data):
    validator = schemas.compiled(schemas.load_schema(name))
    payload = copy.deepcopy(VALID)
    # Mutations of a valid envelope, then arbitrary JSON in random places.
    for _ in range(data.draw(st.integers(0, 3))):
        target = payload
        if isinstance(payload.get("events"), list) and payload["events"] and data.draw(
                st.booleans()):
            target = payload["events"][0]
        if isinstance(target, dict):
            target[data.draw(st.sampled_from(FIELDS))] = data.draw(json_values)
    if data.draw(st.integers(0, 9)) == 0:
        payload = data.draw(json_values)
    if validator.fast_accepts(payload):
        assert validator.reference.is_valid(payload), payload


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_validate_reports_the_reference_error(name):
    with pytest.raises(schemas.PayloadError) as caught:
        schemas.validate({"schema_version": object()}, schemas.load_schema(name))
    assert caught.value.code == schemas.SCHEMA_VIOLATION
