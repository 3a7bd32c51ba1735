"""What every canonical event goes through before it is stored, whatever the partner
format it came from (webhook, polling, WMS file): the one home of the ingest rules.

* ``check_events``: references that land in indexed columns are capped (a B-tree
  row holds about 2.7 KB; a longer value would fail the insert), so an over-long
  value is a precise ``schema_violation``, not a database error.
* ``scrub_event``: the free-text message is masked (whole ``key: value`` pairs,
  e-mails, phones) and the location reduced to city, postcode prefix, state and
  country (``pii.reduce_location``).

Pure functions, no Odoo import.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

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
