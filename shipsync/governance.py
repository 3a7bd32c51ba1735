"""Integration governance, pure parts: published schema versions (inbound
envelope, outbound subscription payload), shadow (dual-run) comparison and
the masked audit CSV. No Odoo import."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import milestones as ms
from . import pii
from .schemas import load_schema, validate

UNSUPPORTED_SCHEMA_VERSION = "unsupported_schema_version"

# Published versions, oldest first. A version stays accepted until a partner
# retires it (or the suite drops it from this table, which is a major release).
INBOUND_VERSIONS: dict[str, dict[str, str]] = {
    "canonical": {"1": "canonical-envelope-v1", "2": "canonical-envelope-v2"},
}
OUTBOUND_VERSIONS: dict[str, dict[str, str]] = {
    "shipment.milestone_changed": {"1": "milestone-event-v1", "2": "milestone-event-v2"},
}
VERSION_SELECTION = [("1", "Version 1"), ("2", "Version 2")]


class VersionError(ValueError):
    """A payload of an unknown, retired or not-pinned schema version."""

    code = UNSUPPORTED_SCHEMA_VERSION

    def __init__(self, message: str, path: str = "$.schema_version"):
        super().__init__(message)
        self.message, self.path = message, path


def accepted_versions(published: Iterable[str], retired: Iterable[str] = (),
                      pinned: str | None = None) -> tuple[str, ...]:
    """The versions a partner may send: the published ones minus those it retired,
    or only its pinned version."""
    published = tuple(published)
    if pinned:
        return (pinned,) if pinned in published else ()
    gone = {str(v).strip() for v in retired if str(v).strip()}
    return tuple(v for v in published if v not in gone)


def parse_retired(text: str | None) -> tuple[str, ...]:
    """``"1, 2"`` -> ``("1", "2")`` (a partner's retired versions, as typed in a form)."""
    return tuple(part.strip() for part in (text or "").replace(";", ",").split(",")
                 if part.strip())


def check_inbound_version(fmt: str, payload: Mapping, retired: Iterable[str] = (),
                          pinned: str | None = None) -> str:
    """The schema name to validate ``payload`` with; raises :class:`VersionError`
    for a missing, unknown, retired or not-pinned ``schema_version``."""
    versions = INBOUND_VERSIONS[fmt]
    raw = payload.get("schema_version") if isinstance(payload, Mapping) else None
    version = str(raw) if isinstance(raw, (str, int)) and not isinstance(raw, bool) else None
    if version is None:
        raise VersionError(f"schema_version is missing (published: {', '.join(versions)})")
    allowed = accepted_versions(versions, retired, pinned)
    if version not in versions:
        raise VersionError(f"schema_version {version!r} is unknown; this partner may send: "
                           + (", ".join(allowed) or "none"))
    if version not in allowed:
        why = f"pinned to {pinned!r}" if pinned else "retired for this partner"
        raise VersionError(f"schema_version {version!r} is {why}; this partner may send: "
                           + (", ".join(allowed) or "none"))
    return versions[version]


def outbound_event(event: Mapping, version: str) -> dict:
    """A ``shipment.milestone_changed`` body (as built by shipsync.outbox, version 1)
    in the given published version."""
    versions = OUTBOUND_VERSIONS["shipment.milestone_changed"]
    if version not in versions:
        raise VersionError(f"outbound schema_version {version!r} is unknown")
    body = dict(event)
    if version == "1":
        return dict(body, schema_version="1")
    data = dict(body.get("data") or {})
    return {
        "id": body.get("id"), "type": body.get("type"), "schema_version": "2",
        "created_at": body.get("created_at"),
        "data": {
            "shipment": data.get("shipment") or {},
            "milestone": {"code": data.get("milestone"), "at": data.get("milestone_at"),
                          "previous": data.get("previous_milestone")},
            "exception": {"state": data.get("exception_state") or "none",
                          "reason": data.get("exception_reason")},
            "source": data.get("source") or "odoo",
        },
    }


def validate_outbound(event: Mapping) -> None:
    """Validate an outbound event against the JSON Schema of its own version."""
    versions = OUTBOUND_VERSIONS["shipment.milestone_changed"]
    version = str(event.get("schema_version"))
    if version not in versions:
        raise VersionError(f"outbound schema_version {version!r} is unknown")
    validate(dict(event), load_schema(versions[version]))


# ----------------------------------------------------------------------
# shadow onboarding
# ----------------------------------------------------------------------
AGREEMENT, DISAGREEMENT, MISSING = "agreement", "disagreement", "missing"


@dataclass(frozen=True)
class ShadowComparison:
    """What a shadow partner would have set on one shipment, against what the current
    sources set."""

    would_set: str
    current: str
    verdict: str
    shadow_milestones: tuple[str, ...] = ()
    current_milestones: tuple[str, ...] = ()
    agreements: tuple[str, ...] = ()
    missing_in_shadow: tuple[str, ...] = ()
    only_in_shadow: tuple[str, ...] = ()
    steps: tuple[ms.Step, ...] = field(default=(), repr=False)


def compare_shadow(shadow_events: Sequence[ms.MilestoneEvent], current_milestone: str | None,
                   current_milestones: Iterable[str] = ()) -> ShadowComparison:
    """Replay the shadow partner's events alone (``ms.replay``): the milestone they
    would have set, and the milestones they would have applied on the way, against
    the shipment's current milestone and the milestones its sources applied.

    verdict: ``agreement`` (same final milestone), ``missing`` (one side has
    nothing past draft), ``disagreement`` (both set, differently)."""
    final, steps = ms.replay(list(shadow_events))
    shadow_path = tuple(dict.fromkeys(
        step.event.milestone for step in steps
        if step.outcome in (ms.APPLIED, ms.CORRECTION) and step.event.milestone))
    current = current_milestone or "draft"
    current_path = tuple(dict.fromkeys(m for m in current_milestones if m and m != "draft"))
    would = final.milestone or "draft"
    if would == current:
        verdict = AGREEMENT
    elif would == "draft" or current == "draft":
        verdict = MISSING
    else:
        verdict = DISAGREEMENT
    return ShadowComparison(
        would_set=would, current=current, verdict=verdict,
        shadow_milestones=shadow_path, current_milestones=current_path,
        agreements=tuple(m for m in shadow_path if m in current_path),
        missing_in_shadow=tuple(m for m in current_path if m not in shadow_path),
        only_in_shadow=tuple(m for m in shadow_path if m not in current_path),
        steps=tuple(steps),
    )


# ----------------------------------------------------------------------
# audit export
# ----------------------------------------------------------------------
AUDIT_COLUMNS = (
    "direction", "record", "id", "external_id", "operation", "state", "received_at",
    "occurred_at", "first_attempt_at", "finished_at", "duration_s", "attempts", "http_status",
    "milestone", "raw_code", "reference", "error_code", "error",
)
# Columns that may carry free text from a partner: masked.
_FREE_TEXT = ("error", "reference", "external_id")


def _cell(value: Any) -> str:
    if value in (None, False):
        return ""
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat(sep=" ")
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def audit_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    """One CSV line per inbound or outbound message (see ``AUDIT_COLUMNS``), free
    text masked; ``duration_s`` is computed when both ends are known."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(AUDIT_COLUMNS)
    for row in rows:
        row = dict(row)
        start = row.get("first_attempt_at") or row.get("received_at")
        end = row.get("finished_at")
        if row.get("duration_s") is None and isinstance(start, datetime) \
                and isinstance(end, datetime):
            row["duration_s"] = (end - start).total_seconds()
        for key in _FREE_TEXT:
            row[key] = pii.mask_text(row.get(key)) if row.get(key) else row.get(key)
        writer.writerow([_cell(row.get(col)) for col in AUDIT_COLUMNS])
    return out.getvalue()


# ----------------------------------------------------------------------
# OpenAPI document of the inbound routes
# ----------------------------------------------------------------------
WEBHOOK_PATH = "/shipment_sync/webhook/{partner_code}"
OPENAPI_PATH = "/shipment_sync/openapi.json"
# HTTP status -> (machine-readable codes, meaning), as answered by the webhook route.
WEBHOOK_RESPONSES = {
    "202": (["accepted", "accepted_shadow"], "Stored; applied now (inline) or right after "
            "(async). Shadow partners: stored, never applied."),
    "200": (["duplicate", "ignored_event_type"], "Already received, or no shipment event in "
            "the message: nothing to do."),
    "400": (["invalid_json", "schema_violation", UNSUPPORTED_SCHEMA_VERSION],
            "Not JSON, not valid against the schema of its version, or a schema version this "
            "partner may not send."),
    "401": (["missing_signature", "invalid_signature", "stale_timestamp"],
            "Signature missing, wrong or too old (no secret configured: always refused)."),
    "404": (["unknown_partner"], "No active partner with this code."),
    "413": (["payload_too_large"], "Body larger than the partner's limit."),
    "415": (["unsupported_media_type"], "Send application/json."),
    "429": (["rate_limited"], "Too many requests; see Retry-After."),
}


def openapi_document() -> dict:
    """The OpenAPI 3.1 description of the inbound routes (kept in the repository as
    ``shipsync/schemas/openapi.json`` and served by Odoo at ``OPENAPI_PATH``)."""
    envelopes = {f"CanonicalEnvelopeV{v}": {"$ref": f"{name}.json"}
                 for v, name in INBOUND_VERSIONS["canonical"].items()}
    answer = {
        "type": "object", "required": ["status", "code", "message", "event_ids"],
        "properties": {
            "status": {"enum": ["accepted", "duplicate", "ignored", "rejected"]},
            "code": {"type": "string"}, "message": {"type": "string"},
            "event_ids": {"type": "array", "items": {"type": "integer"}},
        },
    }
    responses = {}
    for status, (codes, meaning) in WEBHOOK_RESPONSES.items():
        responses[status] = {
            "description": f"{meaning} Codes: {', '.join(codes)}.",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Answer"}}},
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Shipment Sync inbound API",
            "version": "1.0.0",
            "description": "Signed webhooks partners post shipment events to. Each partner "
            "posts its own format (canonical envelope, EasyPost, AfterShip, Shippo...); the "
            "canonical envelope is versioned by its schema_version field.",
        },
        "paths": {
            WEBHOOK_PATH: {
                "post": {
                    "operationId": "postShipmentEvents",
                    "summary": "Post shipment events of one partner",
                    "parameters": [{"name": "partner_code", "in": "path", "required": True,
                                    "schema": {"type": "string",
                                               "pattern": "^[a-z0-9][a-z0-9_-]{1,62}$"}}],
                    "requestBody": {"required": True, "content": {"application/json": {
                        "schema": {"oneOf": [{"$ref": f"#/components/schemas/{name}"}
                                             for name in envelopes]
                                   + [{"type": "object",
                                       "description": "A partner dialect (EasyPost, "
                                       "AfterShip, Shippo...)"}]}}}},
                    "responses": responses,
                    "security": [{"signature": []}],
                },
            },
            OPENAPI_PATH: {
                "get": {
                    "operationId": "getOpenApi",
                    "summary": "This document",
                    "responses": {"200": {"description": "OpenAPI document",
                                          "content": {"application/json": {}}}},
                },
            },
        },
        "components": {
            "schemas": dict(envelopes, Answer=answer),
            "securitySchemes": {"signature": {
                "type": "apiKey", "in": "header", "name": "webhook-signature",
                "description": "Standard Webhooks signature (webhook-id, webhook-timestamp, "
                "webhook-signature) or the partner's own HMAC header; secrets rotate with a "
                "grace period during which both are accepted."}},
        },
    }
