"""What every canonical event goes through before it is stored, whatever the partner
format it came from (webhook, polling, WMS file): the one home of the ingest rules.

* ``check_events``: references that land in indexed columns are capped (a B-tree
  row holds about 2.7 KB; a longer value would fail the insert), so an over-long
  value is a precise ``schema_violation``, not a database error.
* ``IngestHandler`` / ``register_ingest``: what an addon does with the new events of
  its own class once they are stored (one handler per event class); ``IngestRefused``
  when one fails.
* ``BodyRejected``: a body refused before it is stored (status, code, message).
* ``scrub_event``: the free-text message is masked (whole ``key: value`` pairs,
  e-mails, phones) and the location reduced to city, postcode prefix, state and
  country (``pii.reduce_location``).

Pure functions, no Odoo import.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from . import pii
from .normalizers import CanonicalEvent
from .schemas import SCHEMA_VIOLATION, PayloadError

#: Longest reference accepted (stored in indexed columns of the event ledger).
MAX_REFERENCE = 255
#: Canonical fields stored in indexed columns, with the name used in messages.
REFERENCE_FIELDS = {
    "external_id": "id", "tracking_number": "tracking_number", "picking_ref": "picking_ref",
    "correlation_id": "correlation_id", "code": "code", "subcode": "subcode",
}
MAX_MESSAGE = 500
MAX_LOCATION = 200


def check_events(events: Iterable[CanonicalEvent]) -> None:
    """Raise ``PayloadError(schema_violation)`` for the first event whose reference
    is longer than ``MAX_REFERENCE`` characters."""
    for index, event in enumerate(events):
        for attr, label in REFERENCE_FIELDS.items():
            value = getattr(event, attr, None)
            if isinstance(value, str) and len(value) > MAX_REFERENCE:
                raise PayloadError(
                    SCHEMA_VIOLATION,
                    f"{label} of event {index + 1} is {len(value)} characters long; "
                    f"at most {MAX_REFERENCE} are accepted")


def scrub_event(event: CanonicalEvent) -> CanonicalEvent:
    """The event as it may be stored: message masked, location reduced, references
    capped (a last guard for sources that skipped ``check_events``)."""
    changes = {
        "message": (pii.mask_text(event.message or "") or "")[:MAX_MESSAGE],
        "location": pii.reduce_location(event.location or "")[:MAX_LOCATION],
    }
    for attr in REFERENCE_FIELDS:
        value = getattr(event, attr, None)
        if isinstance(value, str) and len(value) > MAX_REFERENCE:
            changes[attr] = value[:MAX_REFERENCE]
    return dataclasses.replace(event, **changes)


# --------------------------------------------------------------------------- dispatch
@dataclass(frozen=True)
class IngestHandler:
    """What an addon does with the new events of its own class after they are stored.

    ``method`` is called on the event model as ``method(partner, new, events)``: the
    records just stored and the canonical events of ``event_type`` among them. It runs
    in the ingest's transaction; when it raises, nothing of the ingest is kept and the
    caller gets :class:`IngestRefused`. ``partner_kinds``: only for partners of these
    kinds (empty: any); ``shadow``: also for partners in shadow mode.
    """

    event_type: type
    method: str
    partner_kinds: tuple[str, ...] = ()
    shadow: bool = True

    def __post_init__(self) -> None:
        if not (isinstance(self.event_type, type) and issubclass(self.event_type, CanonicalEvent)):
            raise ValueError(f"{self.event_type!r} is not a CanonicalEvent class")
        if not (isinstance(self.method, str) and self.method.isidentifier()):
            raise ValueError(f"an ingest handler must name a method, not {self.method!r}")

    def applies(self, kind: str | None, shadow: bool) -> bool:
        """Does it run for a partner of ``kind`` (in shadow mode when ``shadow``)?"""
        if shadow and not self.shadow:
            return False
        return not self.partner_kinds or kind in self.partner_kinds

    def select(self, events: Iterable[CanonicalEvent], fresh: set) -> list:
        """The events of its class among ``events`` whose external id is in ``fresh``."""
        return [ev for ev in events
                if isinstance(ev, self.event_type) and ev.external_id in fresh]


def register_ingest(registry: tuple, *handlers: IngestHandler) -> tuple:
    """``registry`` plus ``handlers``; one handler per event class (ValueError on a
    second one, or on anything that is not an :class:`IngestHandler`)."""
    known = {h.event_type for h in registry}
    merged = list(registry)
    for handler in handlers:
        if not isinstance(handler, IngestHandler):
            raise ValueError(f"{handler!r} is not an IngestHandler")
        if handler.event_type in known:
            raise ValueError(f"{handler.event_type.__name__} has an ingest handler already")
        known.add(handler.event_type)
        merged.append(handler)
    return tuple(merged)


class BodyRejected(Exception):
    """A body refused before anything of it is stored (schema, version, format): the
    status, machine-readable code and message every inbound channel (webhook route,
    broker queue) records and answers. ``keep_body``: the refused body is kept on the
    ledger row (it passed authentication)."""

    def __init__(self, http_status: int, code: str, message: str, keep_body: bool = True):
        super().__init__(message)
        self.http_status, self.code, self.message = http_status, code, message
        self.keep_body = keep_body


class IngestRefused(Exception):
    """A registered ingest handler failed: the request is refused and nothing is kept.

    ``code`` and ``message`` are what the caller answers and records (HTTP 422)."""

    code = "event_not_processable"
    http_status = 422

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
