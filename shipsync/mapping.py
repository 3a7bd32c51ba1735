"""Partner status codes -> canonical milestone and exception reason.

``SEED_ENTRIES`` is the seed data of the editable status maps (design/milestones.md).
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


def _rows(vocabulary: str, rows: Iterable[tuple]) -> list[MapEntry]:
    out = []
    for row in rows:
        code, subcode, milestone, reason, *rest = row
        out.append(MapEntry(vocabulary, code, subcode, milestone, reason, rest[0] if rest else ""))
    return out


_NO_CHANGE = "known code, no change"

_EASYPOST = _rows("easypost", [
    ("pre_transit", None, "label_created", None),
    ("pre_transit", "label_created", "label_created", None),
    ("in_transit", None, "in_transit", None),
    ("in_transit", "received_at_origin_facility", "picked_up", None),
    ("in_transit", "departed_origin_facility", "picked_up", None),
    ("in_transit", "arrived_at_facility", "in_transit", None),
    ("in_transit", "departed_facility", "in_transit", None),
    ("in_transit", "in_transit", "in_transit", None),
    ("in_transit", "transferred_to_destination_carrier", "in_transit", None),
    ("in_transit", "arrived_at_destination", "in_transit", None),
    ("in_transit", "received_at_destination_facility", "in_transit", None),
    ("in_transit", "arrived_at_pickup_location", "available_for_pickup", None),
    ("in_transit", "return", "returning", None),
    ("out_for_delivery", None, "out_for_delivery", None),
    ("available_for_pickup", None, "available_for_pickup", None),
    ("available_for_pickup", "arrived_at_pickup_location", "available_for_pickup", None),
    ("delivery_exception", None, "delivery_attempted", None, "non-terminal exception"),
    ("delivered", None, "delivered", None),
    ("delivered", "return", "returned", None, "delivered scan on the return leg"),
    ("return_to_sender", None, "returning", None),
    ("return_to_sender", "return", "returning", None),
    ("failure", None, "delivery_failed", None),
    ("failure", "lost", "delivery_failed", "lost"),
    ("failure", "damaged", "delivery_failed", "damaged"),
    ("failure", "refused", "delivery_failed", "refused"),
    ("cancelled", None, "cancelled", None),
    ("unknown", None, None, None, _NO_CHANGE),
    ("error", None, None, None, _NO_CHANGE),
    # status_detail exception reasons, whatever status carries them
    (WILDCARD, "address_correction", None, "address_issue"),
    (WILDCARD, "weather_delay", None, "delay_weather"),
    (WILDCARD, "delayed", None, "delay_carrier"),
    (WILDCARD, "missorted", None, "delay_carrier"),
    (WILDCARD, "transit_exception", None, "delay_carrier"),
    (WILDCARD, "held", None, "held_contact_carrier"),
    (WILDCARD, "awaiting_information", None, "held_contact_carrier"),
    (WILDCARD, "refused", None, "refused"),
    (WILDCARD, "damaged", None, "damaged"),
    (WILDCARD, "lost", None, "lost"),
])

_AFTERSHIP = _rows("aftership", [
    ("Pending", None, None, None, _NO_CHANGE),
    ("Expired", None, None, None, _NO_CHANGE),
    ("Expired", "Expired_001", None, None, _NO_CHANGE),
    ("InfoReceived", None, "label_created", None),
    ("InfoReceived", "InfoReceived_001", "label_created", None),
    ("InTransit", None, "in_transit", None),
    ("InTransit", "InTransit_001", "in_transit", None),
    ("InTransit", "InTransit_002", "picked_up", None),
    *[("InTransit", f"InTransit_{n:03d}", "in_transit", None) for n in range(3, 10)],
    ("OutForDelivery", None, "out_for_delivery", None),
    *[("OutForDelivery", f"OutForDelivery_{n:03d}", "out_for_delivery", None) for n in (1, 3, 4)],
    ("AvailableForPickup", None, "available_for_pickup", None),
    ("AvailableForPickup", "AvailableForPickup_001", "available_for_pickup", None),
    ("AttemptFail", None, "delivery_attempted", None),
    ("AttemptFail", "AttemptFail_001", "delivery_attempted", None),
    ("AttemptFail", "AttemptFail_002", "delivery_attempted", "recipient_unavailable"),
    ("AttemptFail", "AttemptFail_003", "delivery_attempted", "recipient_unavailable"),
    ("Delivered", None, "delivered", None),
    *[("Delivered", f"Delivered_{n:03d}", "delivered", None) for n in range(1, 6)],
    ("Exception", None, None, "other", "exception without a known subtag"),
    ("Exception", "Exception_002", None, "address_issue"),
    ("Exception", "Exception_003", None, "refused"),
    ("Exception", "Exception_004", None, "customs_hold"),
    ("Exception", "Exception_005", None, "delay_carrier"),
    ("Exception", "Exception_006", None, "payment_due"),
    ("Exception", "Exception_007", None, "address_issue"),
    ("Exception", "Exception_008", None, "not_collected"),
    ("Exception", "Exception_009", None, "rejected_by_carrier"),
    ("Exception", "Exception_010", "returning", None),
    ("Exception", "Exception_011", "returned", None),
    ("Exception", "Exception_012", None, "damaged"),
    ("Exception", "Exception_013", "delivery_failed", "lost"),
    ("Exception", "Exception_016", None, "delay_carrier"),
    ("Exception", "Exception_017", None, "delay_weather"),
    ("Exception", "Exception_018", None, "documents_missing"),
    ("Exception", "Exception_019", None, "delay_carrier"),
    ("Exception", "Exception_020", "cancelled", None),
    ("Exception", "Exception_021", "delivery_failed", "disposed"),
])

_SHIPPO = _rows("shippo", [
    ("PRE_TRANSIT", None, "label_created", None),
    ("PRE_TRANSIT", "information_received", "label_created", None),
    ("TRANSIT", None, "in_transit", None),
    ("TRANSIT", "package_accepted", "picked_up", None),
    *[
        ("TRANSIT", sub, "in_transit", None)
        for sub in (
            "package_arrived", "package_departed", "package_processed",
            "package_processing", "package_forwarded",
        )
    ],
    ("TRANSIT", "out_for_delivery", "out_for_delivery", None),
    ("TRANSIT", "delivery_scheduled", "out_for_delivery", None),
    ("TRANSIT", "pickup_available", "available_for_pickup", None),
    *[
        ("TRANSIT", sub, "delivery_attempted", None)
        for sub in (
            "delivery_attempted", "notice_left", "location_inaccessible",
            "reschedule_delivery", "delivery_rescheduled",
        )
    ],
    ("DELIVERED", None, "delivered", None),
    ("DELIVERED", "delivered", "delivered", None),
    ("RETURNED", None, "returning", None),
    ("RETURNED", "return_to_sender", "returning", None),
    ("FAILURE", None, "delivery_failed", None),
    ("FAILURE", "package_undeliverable", "delivery_failed", None),
    ("FAILURE", "package_disposed", "delivery_failed", "disposed"),
    ("FAILURE", "package_lost", "delivery_failed", "lost"),
    ("UNKNOWN", None, None, None, _NO_CHANGE),
    ("UNKNOWN", "other", None, None, _NO_CHANGE),
    # substatus exception reasons, whatever status carries them
    (WILDCARD, "address_issue", None, "address_issue"),
    (WILDCARD, "package_damaged", None, "damaged"),
    (WILDCARD, "package_lost", None, "lost"),
    (WILDCARD, "package_held", None, "held_contact_carrier"),
    (WILDCARD, "contact_carrier", None, "held_contact_carrier"),
    (WILDCARD, "delayed", None, "delay_carrier"),
    (WILDCARD, "package_unclaimed", None, "not_collected"),
])

_EPCIS_STEPS = (
    ("picking", "picked"),
    ("packing", "packed"),
    ("shipping", "handed_over"),
    ("departing", "in_transit"),
    ("arriving", "in_transit"),
    ("receiving", "returned"),
)
# CBV 2.0 bare words and the CBV 1.x URN form of the same business steps.
_EPCIS = _rows("epcis", [
    *[(step, None, milestone, None) for step, milestone in _EPCIS_STEPS],
    *[
        (f"urn:epcglobal:cbv:bizstep:{step}", None, milestone, None)
        for step, milestone in _EPCIS_STEPS
    ],
])

SEED_ENTRIES: tuple[MapEntry, ...] = (*_EASYPOST, *_AFTERSHIP, *_SHIPPO, *_EPCIS)
VOCABULARIES: tuple[str, ...] = ("easypost", "aftership", "shippo", "epcis")


def seed_for(vocabulary: str) -> list[MapEntry]:
    """The seed rows of one vocabulary (empty list for an unknown one)."""
    return [entry for entry in SEED_ENTRIES if entry.vocabulary == vocabulary]


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
