"""Inbound hardening, pure parts: masking that never raises and masks whole
values, locations reduced to city / postcode prefix / country, bodies parsed
with a bounded depth and no NUL or lone surrogate, references capped."""

import json
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipsync import ingest, pii, schemas
from shipsync.normalizers import CanonicalEvent

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- masking never raises ------------------------------------------------------
@FAST
@given(st.text())
def test_mask_text_never_raises_on_any_text(text):
    out = pii.mask_text(text)
    assert isinstance(out, str)


@FAST
@given(st.binary(max_size=400))
def test_mask_json_text_never_raises_on_any_bytes(data):
    pii.mask_json_text(data)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(sorted(pii.PII_KEYS | pii.POSTCODE_KEYS)) | st.text(
        max_size=8), inner, max_size=4),
    max_leaves=20)


@FAST
@given(JSONISH, st.data())
def test_masking_a_body_cut_anywhere_never_raises(value, data):
    text = json.dumps({"events": [value], "name": "Ada Lovelace"})
    cut = data.draw(st.integers(0, len(text)))
    out = pii.mask_json_text(text[:cut])
    assert "Lovelace" not in (out or "")


def test_value_cut_inside_its_quotes_used_to_raise_index_error():
    assert pii.mask_text('{"id": "e1", "name": "') == '{"id": "e1", "name": "'
    assert pii.mask_text('{"name": "Ada Lov') == '{"name": "***'
    assert pii.mask_text("email: '") == "email: '"


# --- whole values -----------------------------------------------------------------
def test_instruction_masked_to_the_end_of_the_value_not_the_first_comma():
    text = "Delivery instructions: Ring twice, door code 4821B, leave at the back"
    assert pii.mask_text(text) == "Delivery instructions: ***"
    assert pii.mask_text("name: Ada Lovelace, city: Paris, zip: 75001") == \
        "name: ***, city: Paris, zip: 75***"
    assert pii.mask_text("Note: gate code 4471; Customer phone: 0612 345 678") == \
        f"Note: {pii.MASK}; Customer phone: {pii.MASK}"


NAMES = st.sampled_from(["Ada Lovelace", "Grace Hopper", "Émile Zola", "Søren Kierkegaard"])
STREETS = st.builds(lambda n, s, w: f"{n} {s} {w}", st.integers(1, 999),
                    st.sampled_from(["Baker", "Rivoli", "Main", "Haupt"]),
                    st.sampled_from(["Street", "Rd", "Avenue", "Strasse", "Lane"]))
PHONES = st.builds(lambda a, b: f"+{a} {b:09d}", st.integers(1, 99), st.integers(10**8, 10**9 - 1))
EMAILS = st.builds(lambda u, d: f"{u}@{d}.com", st.from_regex(r"[a-z]{3,10}", fullmatch=True),
                   st.sampled_from(["example", "mail"]))
SECRETS = st.builds(lambda n, c: f"Ring twice, door code {n}{c}, leave with neighbour",
                    st.integers(1000, 9999), st.sampled_from("ABCXYZ"))
POSTCODES = st.sampled_from(["75008", "SW1A 1AA", "10115", "89501-1234", "1010", "H3Z 2Y7"])


@FAST
@given(NAMES, STREETS, PHONES, EMAILS, SECRETS, POSTCODES, st.integers(0, 10**6))
def test_no_personal_value_survives_the_stored_body_or_the_event(
        name, street, phone, email, instruction, postcode, cut):
    body = json.dumps({
        "schema_version": "1",
        "events": [{"id": "e1", "message": f"Delivery instructions: {instruction}",
                    "location": f"{street}, Paris, {postcode}, FR"}],
        "recipient": {"name": name, "street1": street, "phone": phone, "email": email,
                      "zip": postcode, "city": "Paris", "note": instruction},
    })
    event = ingest.scrub_event(CanonicalEvent(
        external_id="e1", occurred_at=datetime(2026, 11, 2, tzinfo=timezone.utc),
        message=f"Delivery instructions: {instruction}. Call {phone} or {email}",
        location=f"{street}, Paris, {postcode}, FR"))
    surfaces = [pii.mask_json_text(body), pii.mask_json_text(body[:cut % len(body)]),
                event.message, event.location, pii.mask_text(f"refused: {body}")]
    for surface in surfaces:
        for secret in (name, street, phone, email, instruction, postcode,
                       instruction.split("code ")[1].split(",")[0]):
            assert secret not in surface, (secret, surface)
    assert event.location.startswith("Paris, ") and event.location.endswith(", FR")
    assert pii.mask_postcode(postcode) in event.location


def test_location_reduced_to_city_postcode_prefix_and_country():
    assert pii.reduce_location("Reno, NV, 89501, US") == "Reno, NV, 89***, US"
    assert pii.reduce_location("12 Baker Street, London, SW1A 1AA, GB") == \
        "London, SW***, GB"
    assert pii.reduce_location("75008 PARIS, FR") == "75*** PARIS, FR"
    assert pii.reduce_location("Apt 4, 1010 Wien, AT") == "10*** Wien, AT"
    assert pii.reduce_location("") == "" and pii.reduce_location(None) == ""


@FAST
@given(st.text())
def test_reduce_location_never_raises(text):
    assert isinstance(pii.reduce_location(text), str)


# --- parsing ---------------------------------------------------------------------
@pytest.mark.parametrize("depth", [65, 1000, 100000])
def test_nesting_is_bounded(depth):
    with pytest.raises(schemas.PayloadError) as err:
        schemas.parse_json(b'{"a": ' * depth + b"1" + b"}" * depth)
    assert err.value.code == schemas.INVALID_JSON and "64 levels" in str(err.value)


def test_nesting_at_the_bound_is_accepted():
    depth = schemas.MAX_DEPTH
    assert schemas.parse_json(b'{"a": ' * depth + b"1" + b"}" * depth)


@pytest.mark.parametrize("body, path", [
    (b'{"a": "x\\u0000"}', "$.a"), (b'{"a": ["\\ud800"]}', "$.a[0]"),
    (b'{"\\udc00": 1}', "$"), (b'{"a": {"b": "\\udfff\\ud800"}}', "$.a.b"),
])
def test_nul_and_lone_surrogates_are_invalid_character(body, path):
    with pytest.raises(schemas.PayloadError) as err:
        schemas.parse_json(body)
    assert (err.value.code, err.value.path) == (schemas.INVALID_CHARACTER, path)


def test_surrogate_pairs_are_fine():
    assert schemas.parse_json(b'{"a": "\\ud83d\\ude00"}') == {"a": "\U0001f600"}


@FAST
@given(st.binary(max_size=300))
def test_parse_json_raises_only_payload_errors(data):
    try:
        schemas.parse_json(data)
    except schemas.PayloadError:
        pass


# --- references capped -------------------------------------------------------------
def test_over_long_reference_is_a_schema_violation():
    event = CanonicalEvent(external_id="e1", occurred_at=datetime(2026, 1, 1),
                           tracking_number="Z" * 256)
    with pytest.raises(schemas.PayloadError) as err:
        ingest.check_events([event])
    assert err.value.code == schemas.SCHEMA_VIOLATION
    assert "tracking_number of event 1 is 256 characters long" in str(err.value)
    ingest.check_events([CanonicalEvent(external_id="e" * 255, occurred_at=event.occurred_at)])
    assert len(ingest.scrub_event(event).tracking_number) == ingest.MAX_REFERENCE


# --- the OpenAPI document ----------------------------------------------------------
def _openapi():
    from shipsync import governance
    return governance.openapi_document()


def _refs(node):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _body_validator(doc, pointer):
    from jsonschema import Draft202012Validator
    return Draft202012Validator(dict(doc, **{"$ref": pointer}),
                                format_checker=schemas.FORMAT_CHECKER)


def test_openapi_is_self_contained_every_ref_resolves_inside_it():
    doc = _openapi()
    refs = set(_refs(doc))
    assert refs and all(ref.startswith("#/components/schemas/") for ref in refs), refs
    names = set(doc["components"]["schemas"])
    assert {ref.rsplit("/", 1)[1] for ref in refs} <= names


REQUEST = "#/paths/~1shipment_sync~1webhook~1{partner_code}/post/requestBody/content/" \
          "application~1json/schema"


@pytest.mark.parametrize("fixture", [
    "canonical_envelope", "easypost_tracker_updated", "easypost_batch_created",
    "aftership_tracking_update", "shippo_track_updated"])
def test_openapi_request_body_accepts_our_fixtures_by_exactly_one_alternative(fixture):
    from pathlib import Path
    doc = _openapi()
    body = json.loads((Path(__file__).parent / "fixtures" / f"{fixture}.json").read_text())
    assert not list(_body_validator(doc, REQUEST).iter_errors(body))
    alternatives = doc["paths"]["/shipment_sync/webhook/{partner_code}"]["post"][
        "requestBody"]["content"]["application/json"]["schema"]["oneOf"]
    matching = [i for i in range(len(alternatives))
                if _body_validator(doc, f"{REQUEST}/oneOf/{i}").is_valid(body)]
    assert len(matching) == 1, matching


def test_openapi_canonical_v2_and_outbound_payloads_validate():
    from shipsync import governance
    doc = _openapi()
    v2 = {"schema_version": "2", "sent_at": "2026-11-02T08:00:00Z", "events": [
        {"id": "e1", "occurred_at": "2026-11-02T08:00:00Z", "milestone": "picked",
         "picking_ref": "WH/OUT/1"}]}
    assert _body_validator(doc, REQUEST).is_valid(v2)
    assert not _body_validator(doc, REQUEST).is_valid({"schema_version": "3", "events": []})
    hook = doc["webhooks"]["shipment.milestone_changed"]["post"]
    outbound = "#/webhooks/shipment.milestone_changed/post/requestBody/content/" \
               "application~1json/schema"
    event = {"id": "evt_1", "type": "shipment.milestone_changed", "created_at":
             "2026-11-02T08:00:00Z", "data": {"shipment": {"id": 1, "reference": "WH/OUT/1"},
                                              "milestone": "picked", "source": "odoo"}}
    for version in governance.OUTBOUND_VERSIONS["shipment.milestone_changed"]:
        payload = governance.outbound_event(event, version)
        try:
            governance.validate_outbound(payload)
        except schemas.PayloadError:
            continue  # this minimal event is not a full one in that version
        assert _body_validator(doc, outbound).is_valid(payload), version
    assert {p["name"] for p in hook["parameters"]} == {
        "webhook-id", "webhook-timestamp", "webhook-signature"}


def test_openapi_codes_are_exactly_the_codes_the_route_answers():
    """Every code the route can answer is documented under its status, and no
    documented code is one the route never answers."""
    import re
    from pathlib import Path

    from shipsync import governance, signatures
    doc = _openapi()
    responses = doc["paths"]["/shipment_sync/webhook/{partner_code}"]["post"]["responses"]
    documented = {(status, code) for status, (codes, _m) in governance.WEBHOOK_RESPONSES.items()
                  for code in codes}
    for status, response in responses.items():
        enum = response["content"]["application/json"]["schema"]["allOf"][1]["properties"][
            "code"]["enum"]
        assert {(status, c) for c in enum} <= documented
    source = (Path(__file__).parents[1] / "shipment_sync" / "controllers" / "main.py").read_text()
    answered = set(re.findall(
        r'(?:WebhookRejected|_answer)\(\s*(\d{3}), (?:"[a-z_]+", )?"([a-z_]+)"', source))
    # What becomes of the parsed events (shared with the broker queue) is the event model's.
    ledger = (Path(__file__).parents[1] / "shipment_sync" / "models" /
              "shipment_sync_event.py").read_text()
    receive = ledger[ledger.index("def _receive_events"):ledger.index("def _ingest_store")]
    answered |= set(re.findall(r'return \(?(\d{3}), "[a-z_]+", "([a-z_]+)"', receive))
    answered |= {("401", c) for c in (signatures.MISSING_SIGNATURE, signatures.INVALID_SIGNATURE,
                                       signatures.STALE_TIMESTAMP)}
    answered |= {("400", c) for c in (schemas.INVALID_JSON, schemas.INVALID_CHARACTER,
                                       schemas.SCHEMA_VIOLATION,
                                       governance.UNSUPPORTED_SCHEMA_VERSION)}
    assert {("202", "accepted"), ("429", "rate_limited"), ("404", "unknown_partner")} <= answered
    assert answered == documented, answered ^ documented
    assert "Retry-After" in responses["429"]["headers"]
    params = {p["name"] for p in doc["paths"]["/shipment_sync/webhook/{partner_code}"]["post"][
        "parameters"]}
    for preset in signatures.HMAC_PRESETS.values():
        if preset["header"].lower() in {p.lower() for p in governance.SIGNATURE_HEADERS}:
            assert preset["header"] in params
