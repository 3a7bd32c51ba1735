"""Partner payloads -> canonical events: the base of every partner's inbound normalizer.

The partners' own normalizers live in ``shipsync.partners.<code>.inbound`` and are
found through the partner registry (``shipsync.partners``). A normalizer turns one
validated payload into ``CanonicalEvent`` values: external id,
occurrence time (aware UTC), raw partner code and subcode (mapped later by the status
map), references and an optional carrier ETA. Partner event ids are derived from the
scan itself (tracker + time + code + subcode) so the same scan pushed twice, or polled
and pushed, gets the same id and is deduplicated by the event ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .dates import parse_datetime  # noqa: F401 - the partners' import (strict level)
from .schemas import load_schema, parse_json, validate

#: A payload sent in the other environment (a test event to a production partner).
EVENT_MODE_MISMATCH = "event_mode_mismatch"


@dataclass(frozen=True)
class CanonicalEvent:
    """One inbound event in the suite's own terms (raw code kept beside the milestone)."""

    external_id: str
    occurred_at: datetime
    code: str | None = None
    subcode: str | None = None
    milestone: str | None = None
    exception_reason: str | None = None
    tracking_number: str | None = None
    picking_ref: str | None = None
    correlation_id: str | None = None
    message: str = ""
    location: str = ""
    carrier_eta: datetime | None = None




def clean_text(value: object) -> str:
    return str(value).strip() if value not in (None, "") else ""


def opt_text(value: object) -> str | None:
    return clean_text(value) or None


def join_text(*parts: object) -> str:
    return ", ".join(clean_text(part) for part in parts if clean_text(part))



class Normalizer:
    """Base class: ``normalize`` a validated payload into canonical events.

    The payload is validated against ``schema`` (a JSON Schema dict) when set, else
    against the packaged schema called ``schema_name``."""

    name: str = ""
    vocabulary: str | None = None
    schema_name: str = ""
    schema: dict | None = None

    def json_schema(self) -> dict:
        return self.schema if self.schema is not None else load_schema(self.schema_name)

    def normalize(self, payload: dict) -> list[CanonicalEvent]:
        raise NotImplementedError

    def check_environment(self, payload: dict, environment: str | None) -> None:
        """Refuse a payload of the wrong environment (``PayloadError``
        ``event_mode_mismatch``); partners that do not say which one sent it pass."""

    def parse(self, body: bytes, environment: str | None = None) -> list[CanonicalEvent]:
        """Raw body -> events; ``shipsync.schemas.PayloadError`` on bad input.
        ``environment`` is the receiving partner's (``test`` / ``production`` /
        ``shadow``); None skips the environment check."""
        payload = parse_json(body)
        validate(payload, self.json_schema())
        self.check_environment(payload, environment)
        return self.normalize(payload)


def get_normalizer(name: str) -> Normalizer:
    """The inbound normalizer of the partner format ``name`` (KeyError if unknown)."""
    from shipsync import partners

    return partners.get_normalizer(name)


def parse_payload(body: bytes, normalizer: Normalizer | str,
                  environment: str | None = None) -> list[CanonicalEvent]:
    """Parse JSON, validate against the normalizer's schema, check the environment and
    normalize it."""
    if isinstance(normalizer, str):
        normalizer = get_normalizer(normalizer)
    return normalizer.parse(body, environment)
