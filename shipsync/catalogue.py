"""The canonical event catalogue: every business event the suite publishes to its
subscribers (signed webhooks, and any other transport of the outbox), versioned.

One home for the event types, their labels, their published JSON Schemas
(``shipsync/schemas/<name>.json``, listed in the OpenAPI document's ``webhooks``), their
stable ids and their bodies. No Odoo import: the addons turn records into plain values
and call :func:`build_event`.

Every event is a JSON object with the same envelope::

    {"id": "msg_<32 hex>", "type": "shipment.exception_raised", "schema_version": "1",
     "created_at": "...Z", "occurred_at": "...Z", "correlation_id": "<shipment's>",
     "company_id": 1, "data": {...}}

``id`` is stable: the same fact gives the same id however often it is computed (a replay
of the ledger, a duplicate webhook, a retried job), so the outbox enqueues one job per
subscription and event (its idempotency key is ``sub<subscription id>:<event id>``) and a
subscriber dedupes on it (it is the Standard Webhooks ``webhook-id``).
``shipment.milestone_changed`` keeps the id and the body it always had (version 1 and 2,
chosen per subscription); the envelope fields it lacked were added beside them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .ids import stable_id
from .outbox.events import EVENT_MILESTONE_CHANGED
from .outbox.outcomes import _iso
from .schemas import load_schema, validate

SHIPMENT, PARTNER = "shipment", "partner"
#: The RFC 3339 (UTC, ``Z``) writer of every date-time in an event body.
iso = _iso

MILESTONE_CHANGED = EVENT_MILESTONE_CHANGED
EXCEPTION_RAISED = "shipment.exception_raised"
EXCEPTION_RESOLVED = "shipment.exception_resolved"
LABEL_CREATED = "shipment.label_created"
LABEL_FAILED = "shipment.label_failed"
FREIGHT_VARIANCE = "shipment.freight_variance"
DELIVERED_WITHOUT_POD = "shipment.delivered_without_pod"
WMS_MISMATCH = "shipment.wms_mismatch"
BREAKER_OPENED = "partner.breaker_opened"
BREAKER_CLOSED = "partner.breaker_closed"


@dataclass(frozen=True)
class EventType:
    """One type of the catalogue: its code (the ``type`` of its bodies), label, subject
    (a shipment or a partner), published versions (version -> schema name) and the
    one-line summary the OpenAPI document and the README show."""

    code: str
    label: str
    subject: str
    versions: tuple[tuple[str, str], ...]
    summary: str

    @property
    def latest(self) -> str:
        return self.versions[-1][0]

    def schema_name(self, version: str) -> str:
        return dict(self.versions)[version]

    @property
    def operation_id(self) -> str:
        head, _dot, tail = self.code.partition(".")
        return head + "".join(p[:1].upper() + p[1:] for p in tail.split("_"))


def _v1(code: str) -> tuple[tuple[str, str], ...]:
    return (("1", code.replace(".", "-").replace("_", "-") + "-v1"),)


CATALOGUE: dict[str, EventType] = {t.code: t for t in (
    EventType(MILESTONE_CHANGED, "Milestone changed", SHIPMENT,
              (("1", "milestone-event-v1"), ("2", "milestone-event-v2")),
              "A shipment reached a milestone (sent in the schema version of the "
              "subscription)."),
    EventType(EXCEPTION_RAISED, "Exception raised", SHIPMENT, _v1(EXCEPTION_RAISED),
              "An exception opened on a shipment (delay, customs hold, address problem, a "
              "failed label...), whether or not its milestone moved."),
    EventType(EXCEPTION_RESOLVED, "Exception resolved", SHIPMENT, _v1(EXCEPTION_RESOLVED),
              "The open exception of a shipment was resolved (by a later milestone of the "
              "partner that raised it, by a person or by a rule of the suite)."),
    EventType(LABEL_CREATED, "Label created", SHIPMENT, _v1(LABEL_CREATED),
              "A carrier booked the shipment (or its return) and returned a label."),
    EventType(LABEL_FAILED, "Label failed", SHIPMENT, _v1(LABEL_FAILED),
              "A label request failed for good (its outbox job is dead)."),
    EventType(FREIGHT_VARIANCE, "Freight variance", SHIPMENT, _v1(FREIGHT_VARIANCE),
              "A carrier invoiced a shipment more than its expected freight cost allows."),
    EventType(DELIVERED_WITHOUT_POD, "Delivered without proof of delivery", SHIPMENT,
              _v1(DELIVERED_WITHOUT_POD),
              "A shipment reached delivered and the suite holds no proof of delivery "
              "(signature, photo) for it."),
    EventType(WMS_MISMATCH, "WMS mismatch", SHIPMENT, _v1(WMS_MISMATCH),
              "A warehouse's confirmation disagrees with the transfer (or was refused): a "
              "wms_mismatch exception opened."),
    EventType(BREAKER_OPENED, "Partner breaker opened", PARTNER, _v1(BREAKER_OPENED),
              "The circuit breaker of a partner opened: its outbound calls wait."),
    EventType(BREAKER_CLOSED, "Partner breaker closed", PARTNER, _v1(BREAKER_CLOSED),
              "The circuit breaker of a partner closed again (a probe succeeded, or a "
              "person closed it): its waiting calls go out."),
)}

#: (code, label) pairs, for a selection or the records of the catalogue.
SELECTION = [(t.code, t.label) for t in CATALOGUE.values()]
#: What an existing subscription receives: the one type published before the catalogue.
DEFAULT_TYPES = (MILESTONE_CHANGED,)


class UnknownEventType(KeyError):
    """A type, or a version of a type, the catalogue does not publish."""


def event_type(code: str) -> EventType:
    try:
        return CATALOGUE[code]
    except KeyError:
        raise UnknownEventType(f"unknown event type {code!r}") from None


def event_id(code: str, *parts: Any) -> str:
    """The stable id of the event ``code`` about the fact named by ``parts`` (the
    subject's correlation id or partner, then what tells this fact from another of the
    same type). ``shipment.milestone_changed`` keeps its own historical formula
    (:func:`milestone_event_id`)."""
    return stable_id(code, *parts, prefix="msg_")


def milestone_event_id(correlation_id: Any, milestone: str, milestone_at: datetime | None
                       ) -> str:
    """The id ``shipment.milestone_changed`` has always had (its subscribers dedupe on
    it): the shipment, the milestone and its time."""
    return stable_id(correlation_id, milestone,
                     milestone_at.isoformat() if milestone_at else "", prefix="msg_")


def shipment_values(shipment: Mapping[str, Any]) -> dict:
    """The ``data.shipment`` object: the references a subscriber matches on, empty
    values left out."""
    return {k: v for k, v in dict(shipment).items() if v not in (None, "", [])}


def build_event(code: str, *, key: Iterable[Any], occurred_at: datetime | None,
                created_at: datetime, company_id: int | None, data: Mapping[str, Any],
                correlation_id: str | None = None,
                shipment: Mapping[str, Any] | None = None) -> dict:
    """The version-1 body of an event of the catalogue (JSON-serializable).

    ``key`` names the fact (with ``correlation_id``, or the partner for a partner
    event): the same key, the same id. ``shipment``, for the shipment events, becomes
    ``data.shipment``."""
    kind = event_type(code)
    if code == MILESTONE_CHANGED:
        raise UnknownEventType("build milestone changes with shipsync.outbox.milestone_event")
    body_data = dict(data)
    if kind.subject == SHIPMENT:
        body_data = {"shipment": shipment_values(shipment or {}), **body_data}
    return {
        "id": event_id(code, correlation_id or "", *key),
        "type": code,
        "schema_version": "1",
        "created_at": _iso(created_at),
        "occurred_at": _iso(occurred_at or created_at),
        "correlation_id": correlation_id or None,
        "company_id": company_id or None,
        "data": body_data,
    }


def in_version(event: Mapping, version: str) -> dict:
    """``event`` (a version-1 body) in ``version``, for a subscription that asked for
    it: ``shipment.milestone_changed`` has versions 1 and 2, the other types only
    version 1 so far (a subscription's version applies to the types that publish it;
    the others are sent in version 1)."""
    from . import governance as gov  # governance builds the OpenAPI from this module

    kind = event_type(str(event.get("type")))
    if kind.code == MILESTONE_CHANGED:
        return gov.outbound_event(event, version)
    return dict(event)


def validate_event(event: Mapping) -> None:
    """Validate ``event`` against the JSON Schema of its type and version (raises
    :class:`shipsync.schemas.PayloadError`, or :class:`UnknownEventType`)."""
    kind = event_type(str(event.get("type")))
    version = str(event.get("schema_version"))
    if version not in dict(kind.versions):
        raise UnknownEventType(f"{kind.code} has no version {version!r}")
    validate(dict(event), load_schema(kind.schema_name(version)))


def wants(subscribed: Iterable[str], code: str) -> bool:
    """Does a subscription listing the types ``subscribed`` want an event of ``code``?"""
    return code in set(subscribed or ())
