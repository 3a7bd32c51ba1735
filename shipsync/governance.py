"""Integration governance, pure parts: published schema versions (inbound
envelope, outbound subscription payload), shadow (dual-run) comparison and
the masked audit CSV. No Odoo import."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import catalogue as cat
from . import milestones as ms
from . import pii
from .schemas import load_schema, validate

UNSUPPORTED_SCHEMA_VERSION = "unsupported_schema_version"

# Published versions, oldest first. A version stays accepted until a partner
# retires it (or the suite drops it from this table, which is a major release).
INBOUND_VERSIONS: dict[str, dict[str, str]] = {
    "canonical": {"1": "canonical-envelope-v1", "2": "canonical-envelope-v2"},
}
# Every type of the event catalogue (``shipsync.catalogue``, its one home): version ->
# schema name.
OUTBOUND_VERSIONS: dict[str, dict[str, str]] = {
    code: dict(kind.versions) for code, kind in cat.CATALOGUE.items()}
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
        **{k: body[k] for k in ("occurred_at", "correlation_id", "company_id") if k in body},
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
    "400": (["invalid_json", "invalid_character", "schema_violation",
             UNSUPPORTED_SCHEMA_VERSION],
            "Not JSON (or nested deeper than 64 levels), a NUL character or a lone surrogate "
            "in a string, not valid against the schema of its version (references longer "
            "than 255 characters included), or a schema version this partner may not send."),
    "401": (["missing_signature", "invalid_signature", "stale_timestamp"],
            "Signature missing, wrong or too old (no secret configured: always refused)."),
    "404": (["unknown_partner"], "No active partner with this code (or not a valid code)."),
    "413": (["payload_too_large"], "Body larger than the partner's limit."),
    "415": (["unsupported_media_type"], "Send application/json."),
    "429": (["rate_limited"], "Too many requests; see Retry-After. Before the signature is "
            "checked a coarse bucket per partner code protects the server; after it, each "
            "partner's own bucket applies."),
}
# Signature headers a partner may use (which ones its scheme requires: see its readme).
SIGNATURE_HEADERS = {
    "webhook-id": "Standard Webhooks: the message id (also svix-id).",
    "webhook-timestamp": "Standard Webhooks: Unix time of the signature (also svix-timestamp).",
    "webhook-signature": "Standard Webhooks: space-separated `v1,<base64 HMAC-SHA256>` "
                         "signatures (also svix-signature).",
    "X-Hmac-Signature": "EasyPost: `hmac-sha256-hex=<hex HMAC-SHA256 of the body>`.",
    "aftership-hmac-sha256": "AfterShip: base64 HMAC-SHA256 of the body.",
    "Sendcloud-Signature": "Sendcloud: hex HMAC-SHA256 of the body.",
}
# Partner dialects in the request body's oneOf, with what sets each apart from the
# others (none carries schema_version, which the canonical envelopes require).
_DIALECT_GUARDS = {
    "easypost": {"required": ["description"], "not": {"anyOf": [
        {"required": ["event"]}, {"required": ["schema_version"]}]}},
    "aftership": {"required": ["event", "msg"], "not": {"anyOf": [
        {"required": ["data"]}, {"required": ["schema_version"]}]}},
    "shippo": {"required": ["event", "data"], "not": {"anyOf": [
        {"required": ["msg"]}, {"required": ["schema_version"]}]}},
    "tms": {"required": ["schema", "event_id"],
            "properties": {"schema": {"const": "tms-update-v1"}}},
}


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.replace("_", "-").split("-"))


def _inline(components: dict, component: str, schema: dict) -> dict:
    """Put a JSON Schema file into ``components`` under ``component``: its ``$defs``
    become sibling components and its local ``$ref`` point at them, so the document
    resolves from its served URL alone (no file that no route serves)."""
    schema = json.loads(json.dumps(schema))
    defs = schema.pop("$defs", {})
    for key in ("$schema", "$id"):
        schema.pop(key, None)

    def rewrite(node):
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                node["$ref"] = f"#/components/schemas/{component}_{ref[len('#/$defs/'):]}"
            for value in node.values():
                rewrite(value)
        elif isinstance(node, list):
            for value in node:
                rewrite(value)

    rewrite(schema)
    rewrite(defs)
    for name, sub in defs.items():
        components[f"{component}_{name}"] = sub
    components[component] = schema
    return {"$ref": f"#/components/schemas/{component}"}


def openapi_document() -> dict:
    """The OpenAPI 3.1 description of the inbound routes and of the outbound
    subscription payloads (``webhooks``), kept in the repository as
    ``shipsync/schemas/openapi.json`` and served by Odoo at ``OPENAPI_PATH``.
    Self-contained: every schema is inlined under ``components``."""
    from . import partners  # the partner dialects, as registered

    components: dict = {}
    alternatives = []
    for version, name in INBOUND_VERSIONS["canonical"].items():
        alternatives.append(_inline(components, f"CanonicalEnvelopeV{version}",
                                    load_schema(name)))
    for fmt, guard in _DIALECT_GUARDS.items():
        try:
            normalizer = partners.get_normalizer(fmt)
        except KeyError:
            continue
        ref = _inline(components, _camel(normalizer.schema_name), load_schema(
            normalizer.schema_name))
        alternatives.append({"allOf": [ref, guard]})
    outbound = {}
    for code, kind in cat.CATALOGUE.items():
        outbound[code] = [
            _inline(components, _camel(name), load_schema(name))
            for _version, name in kind.versions]
    tms_plan = _inline(components, "TmsPlanV1", load_schema("tms-plan-v1"))
    answer = {
        "type": "object", "required": ["status", "code", "message", "event_ids"],
        "properties": {
            "status": {"enum": ["accepted", "duplicate", "ignored", "rejected"]},
            "code": {"enum": sorted({c for codes, _m in WEBHOOK_RESPONSES.values()
                                     for c in codes})},
            "message": {"type": "string"},
            "event_ids": {"type": "array", "items": {"type": "integer"}},
        },
    }
    components["Answer"] = answer
    responses = {}
    for status, (codes, meaning) in WEBHOOK_RESPONSES.items():
        responses[status] = {
            "description": f"{meaning} Codes: {', '.join(codes)}.",
            "content": {"application/json": {"schema": {"allOf": [
                {"$ref": "#/components/schemas/Answer"},
                {"properties": {"code": {"enum": codes}}}]}}},
        }
    responses["429"]["headers"] = {"Retry-After": {
        "description": "Seconds to wait before sending again.", "required": True,
        "schema": {"type": "integer", "minimum": 1}}}
    header_params = [{"name": name, "in": "header", "required": False,
                      "description": text, "schema": {"type": "string"}}
                     for name, text in SIGNATURE_HEADERS.items()]
    std_headers = [p for p in header_params if p["name"].startswith("webhook-")]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Shipment Sync inbound API",
            "version": "1.2.0",
            "description": "Signed webhooks partners post shipment events to, and the "
            "signed webhooks the suite posts to its subscribers. Each partner posts its own "
            "format (its configured one is the one validated): the canonical envelope, "
            "versioned by its schema_version field, or a partner dialect (EasyPost, "
            "AfterShip, Shippo, the canonical TMS profile's updates). Every answer is JSON "
            "with a machine-readable code; no input produces a 5xx.",
        },
        "paths": {
            WEBHOOK_PATH: {
                "post": {
                    "operationId": "postShipmentEvents",
                    "summary": "Post shipment events of one partner",
                    "parameters": [
                        {"name": "partner_code", "in": "path", "required": True,
                         "description": "The partner's code (one code may exist in several "
                         "companies; the signature tells which partner is calling).",
                         "schema": {"type": "string", "pattern": CODE_PATTERN}},
                        {"name": "Content-Type", "in": "header", "required": True,
                         "schema": {"type": "string", "enum": ["application/json"]}},
                        *header_params,
                    ],
                    "requestBody": {"required": True, "content": {"application/json": {
                        "schema": {"oneOf": alternatives}}}},
                    "responses": responses,
                    "security": [{name: []} for name in _SECURITY],
                },
            },
            OPENAPI_PATH: {
                "get": {
                    "operationId": "getOpenApi",
                    "summary": "This document",
                    "responses": {"200": {"description": "OpenAPI document",
                                          "content": {"application/json": {
                                              "schema": {"type": "object"}}}}},
                },
            },
        },
        "webhooks": {
            **{code: {"post": {
                "operationId": kind.operation_id,
                "summary": kind.summary,
                "parameters": [dict(p, required=True) for p in std_headers],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"oneOf": outbound[code]} if len(outbound[code]) > 1
                    else outbound[code][0]}}},
                "responses": {"2XX": {"description": "Received; any other answer is "
                                      "retried with the same webhook-id and body."}},
            }} for code, kind in cat.CATALOGUE.items()},
            "tms.plan_release": {
                "post": {
                    "operationId": "tmsPlanRelease",
                    "summary": "A delivery released to a TMS for planning, then revised or "
                    "cancelled (each document POSTed to the TMS partner's base URL + /plans "
                    "with an Idempotency-Key, through the outbox, in version order; the TMS "
                    "answers with updates of the tms-update-v1 schema)",
                    "parameters": [{"name": "Idempotency-Key", "in": "header",
                                    "required": True, "schema": {"type": "string"}}],
                    "requestBody": {"required": True, "content": {"application/json": {
                        "schema": tms_plan}}},
                    "responses": {
                        "2XX": {"description": "Accepted (released, revised or cancelled); a "
                                "replay of the same key answers the stored result."},
                        "404": {"description": "unknown_plan: a revision or cancellation of "
                                "a plan the TMS does not hold."},
                        "409": {"description": "plan_cancelled (a revision of a cancelled "
                                "plan), stale_version (a version not above the plan's "
                                "current one), plan_exists, idempotency_conflict."},
                        "422": {"description": "schema_violation, or unplannable."},
                    },
                },
            },
        },
        "components": {
            "schemas": dict(sorted(components.items())),
            "securitySchemes": {name: {
                "type": "apiKey", "in": "header", "name": header,
                "description": SIGNATURE_HEADERS[header] + " Secrets rotate with a grace "
                "period during which both are accepted."} for name, header in _SECURITY.items()},
        },
    }


#: URL slug of a partner code (the partner model's constraint and the route use it).
CODE_PATTERN = "^[a-z0-9][a-z0-9_-]{1,62}$"
_SECURITY = {"standardWebhooks": "webhook-signature", "easypostHmac": "X-Hmac-Signature",
             "aftershipHmac": "aftership-hmac-sha256", "sendcloudHmac": "Sendcloud-Signature"}
