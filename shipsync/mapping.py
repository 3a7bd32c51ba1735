"""Partner status codes -> canonical milestone and exception reason.

``SEED_ENTRIES`` (the partners' ``vocabulary.py`` rows, through the registry, plus
the standards' rows below) is the seed data of the editable status maps (design/milestones.md).
Codes are spelled exactly as the partners publish them. A ``code`` of ``"*"`` means
"any code carrying this subcode": it contributes an exception reason (and a milestone
if it has one) on top of the milestone of the ``(code, None)`` row.

Signals that are not milestones:

- EasyPost ``finalized`` (a boolean on the Tracker: no more updates are expected) is
  not a status code and is never looked up here; pollers may stop polling on it.
- AfterShip ``return_to_sender`` (a boolean on the tracking) only says the parcel is
  on the return leg; the milestone comes from the ``Exception_010`` / ``Exception_011``
  subtags (returning / returned), so the flag itself maps to nothing.
- Shippo ``substatus.action_required`` (a boolean) asks a person to act; the substatus
  codes that need action carry an exception reason below, and the normalizer adds the
  flag to the event message.

Lookups are exact first, then case-insensitive (partners are inconsistent about the
case of their own codes; an exact row always wins over a case-folded one).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

WILDCARD = "*"


@dataclass(frozen=True)
class MapEntry:
    """One row of a status map."""

    vocabulary: str
    code: str
    subcode: str | None
    milestone: str | None
    exception_reason: str | None
    note: str = ""


@dataclass(frozen=True)
class MapResult:
    """What a partner code means; ``matched_on`` is "subcode", "code" or "wildcard"."""

    milestone: str | None
    exception_reason: str | None
    matched_on: str


def rows(vocabulary: str, rows: Iterable[tuple]) -> list[MapEntry]:
    out = []
    for row in rows:
        code, subcode, milestone, reason, *rest = row
        out.append(MapEntry(vocabulary, code, subcode, milestone, reason, rest[0] if rest else ""))
    return out


NO_CHANGE = "known code, no change"

_EPCIS_STEPS = (
    ("picking", "picked"),
    ("packing", "packed"),
    ("shipping", "handed_over"),
    ("departing", "in_transit"),
    ("arriving", "in_transit"),
    ("receiving", "returned"),
)
# CBV 2.0 bare words and the CBV 1.x URN form of the same business steps.
_EPCIS = rows("epcis", [
    *[(step, None, milestone, None) for step, milestone in _EPCIS_STEPS],
    *[
        (f"urn:epcglobal:cbv:bizstep:{step}", None, milestone, None)
        for step, milestone in _EPCIS_STEPS
    ],
])

#: Vocabularies of published standards (no partner folder of their own).
STANDARD_ENTRIES: tuple[MapEntry, ...] = tuple(_EPCIS)


def __getattr__(name: str):
    # The partners' seed rows live in shipsync.partners.<code>.vocabulary; they are read
    # through the registry lazily (the vocabulary modules import this module).
    if name == "SEED_ENTRIES":
        from shipsync import partners

        return (*partners.seed_entries(), *STANDARD_ENTRIES)
    if name == "VOCABULARIES":
        return tuple(dict.fromkeys(entry.vocabulary for entry in __getattr__("SEED_ENTRIES")))
    raise AttributeError(name)


def seed_for(vocabulary: str) -> list[MapEntry]:
    """The seed rows of one vocabulary (empty list for an unknown one)."""
    return [entry for entry in __getattr__("SEED_ENTRIES") if entry.vocabulary == vocabulary]


def _fold(value: str | None) -> str | None:
    return value.casefold() if value is not None else None


class StatusMapper:
    """Look up partner codes in a list of map entries (later rows override earlier ones)."""

    def __init__(self, entries: Iterable[MapEntry]):
        self._exact: dict[tuple[str, str | None], MapEntry] = {}
        self._folded: dict[tuple[str | None, str | None], MapEntry] = {}
        for entry in entries:
            subcode = entry.subcode or None
            self._exact[(entry.code, subcode)] = entry
            self._folded[(_fold(entry.code), _fold(subcode))] = entry

    def _get(self, code: str | None, subcode: str | None) -> MapEntry | None:
        entry = self._exact.get((code, subcode))  # type: ignore[arg-type]
        if entry is None:
            entry = self._folded.get((_fold(code), _fold(subcode)))
        return entry

    def lookup(self, code: str | None, subcode: str | None = None) -> MapResult | None:
        """Map (code, subcode); None when the code is unknown (the event is unmapped)."""
        subcode = subcode or None
        code = code or None
        if code is not None and subcode is not None:
            entry = self._get(code, subcode)
            if entry is not None:
                return MapResult(entry.milestone, entry.exception_reason, "subcode")
        base = self._get(code, None) if code is not None else None
        if subcode is not None:
            wild = self._get(WILDCARD, subcode)
            if wild is not None and (base is not None or code is None):
                milestone = wild.milestone or (base.milestone if base else None)
                reason = wild.exception_reason or (base.exception_reason if base else None)
                return MapResult(milestone, reason, "wildcard")
        if base is not None:
            return MapResult(base.milestone, base.exception_reason, "code")
        return None


@dataclass(frozen=True)
class Classification:
    """What the ledger stores about an ingested event's meaning."""

    milestone: str | None
    exception_reason: str | None
    mapped: bool
    authoritative: bool


def classify(
    mapper: StatusMapper,
    code: str | None,
    subcode: str | None = None,
    milestone: str | None = None,
    exception_reason: str | None = None,
    authority: Iterable[str] | None = None,
) -> Classification:
    """Classify an ingested event: the one rule for ingest and for a retry after a
    status map was added.

    The event's own milestone and reason win; a code fills in what they leave
    empty. An event with a code that maps to nothing and no milestone of its own
    is unmapped. ``authority`` holds the milestones the partner may move (None:
    all); an event without a milestone moves nothing, so it is never refused for
    authority."""
    mapped = True
    if code:
        found = mapper.lookup(code, subcode)
        if found:
            milestone = milestone or found.milestone
            exception_reason = exception_reason or found.exception_reason
        elif not milestone:
            mapped = False
    milestone = milestone or None
    authoritative = authority is None or milestone is None or milestone in authority
    return Classification(milestone, exception_reason or None, mapped, authoritative)
