"""The Sendcloud status map knows every status code Sendcloud's v3 OpenAPI documents
publish, and maps the key ones to the milestone they mean.

The codes are read from the documents themselves (``$CONTRACTS_DIR/sendcloud``), not
from a list of ours: a parcel ``status`` object's ``code`` (Shipments) or ``id`` (v3
webhooks), wherever the document shows one (schema examples and operation examples),
and every ``status_code`` of a tracking event (Parcel Tracking). A code the document
publishes and the seed lacks fails the test by name.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from shipsync import mapping
from shipsync.mapping import StatusMapper
from shipsync.milestones import EXCEPTION_REASON_CODES, RANK
from shipsync.partners.sendcloud import shipments_v3 as v3

from .openapi import example_bodies, load_spec, resolve

SHIPMENTS = "sendcloud-shipments-openapi.yml"
TRACKING = "sendcloud-v3-parcel-tracking-openapi.yml"
WEBHOOKS = "sendcloud-v3-webhooks-openapi.yml"
V3_DOCUMENTS = (SHIPMENTS, TRACKING, WEBHOOKS)


def _walk(node, found: set[str]) -> None:
    """Collect the status codes under ``node`` (an example value or a schema)."""
    if isinstance(node, dict):
        status = node.get("status")
        if isinstance(status, dict):
            for key in ("code", "id"):
                value = status.get(key)
                if isinstance(value, str | int) and not isinstance(value, bool):
                    found.add(str(value))
                # the schema form: status.properties.code.example
                prop = (status.get("properties") or {}).get(key)
                if isinstance(prop, dict) and isinstance(prop.get("example"), str | int):
                    found.add(str(prop["example"]))
        if isinstance(node.get("status_code"), str):
            found.add(node["status_code"])
        props = node.get("properties")
        if isinstance(props, dict) and isinstance(props.get("status_code"), dict):
            example = props["status_code"].get("example")
            if isinstance(example, str):
                found.add(example)
        for value in node.values():
            _walk(value, found)
    elif isinstance(node, list):
        for value in node:
            _walk(value, found)


def published_codes(spec) -> set[str]:
    """Every status code the document shows: in its component schemas (with their
    examples) and in the examples of its operations and webhooks."""
    found: set[str] = set()
    schemas = (spec.raw.get("components") or {}).get("schemas") or {}
    # the ``status`` schema itself (Shipments: ``status`` with ``code`` example ANNOUNCING)
    if isinstance(schemas.get("status"), dict):
        _walk({"status": schemas["status"]}, found)
    _walk(schemas, found)
    for body in example_bodies({k: v for k, v in spec.raw.items() if k != "components"}):
        _walk(body, found)
    _walk({k: v for k, v in spec.raw.items() if k in ("paths", "webhooks")}, found)
    return found


@pytest.fixture(scope="module")
def documents(contracts_dir):
    return {name: load_spec(contracts_dir, name) for name in V3_DOCUMENTS}


@pytest.fixture(scope="module")
def seed():
    return {(e.code, e.subcode): e for e in mapping.seed_for("sendcloud")}


def test_the_documents_publish_status_codes(documents):
    """The extraction finds what the documents show (so the next test cannot pass on an
    empty set): the Shipments examples' parcel statuses and the tracking example."""
    shipments = published_codes(documents[SHIPMENTS])
    assert {"READY_TO_SEND", "ANNOUNCEMENT_FAILED", "ANNOUNCING", "CANCELLED"} <= shipments
    assert "accepted" in published_codes(documents[TRACKING])
    assert "1" in published_codes(documents[WEBHOOKS])  # parcel.status.id example


@pytest.mark.parametrize("name", V3_DOCUMENTS)
def test_every_published_v3_status_code_has_a_seed_row(documents, seed, name):
    codes = published_codes(documents[name])
    assert codes, f"{name}: no status code found"
    unmapped = sorted(code for code in codes if (code, None) not in seed)
    assert not unmapped, f"{name} publishes status codes the sendcloud seed lacks: {unmapped}"
    for code in codes:
        entry = seed[(code, None)]
        assert entry.milestone is None or entry.milestone in RANK, (code, entry.milestone)
        assert entry.exception_reason is None or entry.exception_reason in \
            EXCEPTION_REASON_CODES, (code, entry.exception_reason)
        # a row that changes nothing says so (the status map shows it as a known code)
        assert entry.milestone or entry.exception_reason or \
            entry.note == mapping.NO_CHANGE, code


def test_key_v3_codes_mean_what_the_documents_say(documents):
    mapper = StatusMapper(mapping.seed_for("sendcloud"))

    def means(code):
        result = mapper.lookup(code)
        assert result is not None, f"{code} unmapped"
        return result.milestone, result.exception_reason

    # Shipments: the sync announce answers READY_TO_SEND with the label
    answer = documents[SHIPMENTS].raw["paths"]["/shipments/announce"]["post"]["responses"]
    ready = next(p["status"]["code"] for body in example_bodies(answer["201"])
                 for p in body["data"]["parcels"])
    assert ready == "READY_TO_SEND" and means(ready) == ("label_created", None)
    assert means("ANNOUNCEMENT_FAILED") == (None, "label_failed")
    assert means("ANNOUNCING") == (None, None)  # being announced: no label yet
    assert means("CANCELLED") == ("cancelled", None)
    # the cancel operation names the v2 ids of ready to send, cancelled and delivered
    cancel = documents[SHIPMENTS].raw["paths"]["/shipments/{id}/cancel"]["post"]["responses"]
    text = " ".join(str(r.get("description") or "") for r in cancel.values())
    for status_id, milestone in (("1000", "label_created"), ("2000", "cancelled"),
                                 ("11", "delivered")):
        assert re.search(rf"\({status_id}\)|status of {status_id}\b", text), status_id
        assert means(status_id)[0] == milestone, status_id


def test_a_polled_v3_event_maps_through_the_seed(documents):
    """The tracking document's own event, through our parser and the seeded map: the
    carrier accepted the parcel -> picked up (``sub_status_code: none`` is no subcode)."""
    spec = documents[TRACKING]
    example = resolve(spec, spec.raw["components"]["schemas"]["parcel-event-response"])[
        "example"]
    (event,) = v3.tracking_events({"source_id": "1", "events": [example],
                                   "tracking_numbers": [{"tracking_number": "3S1"}]})
    assert (event.code, event.subcode) == ("accepted", None)
    assert event.occurred_at == datetime(2024, 1, 2, tzinfo=timezone.utc)
    result = StatusMapper(mapping.seed_for("sendcloud")).lookup(event.code, event.subcode)
    assert result is not None and result.milestone == "picked_up"
    assert result.matched_on == "code"
