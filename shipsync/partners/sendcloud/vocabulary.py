"""Sendcloud vocabulary: v2 parcel status ids and v3 status codes -> milestone (seed of
the ``sendcloud`` status map).

Both live in one vocabulary: v2 ids are numbers (``"1000"``), v3 codes are words
(``"READY_TO_SEND"``, ``"accepted"``), so they never collide."""

from __future__ import annotations

from shipsync.mapping import MapEntry

# Sendcloud parcel status id -> (message as Sendcloud spells it, milestone, exception reason).
# Seed data for the editable status map, not used to set ``CanonicalEvent.milestone``.
# Verified against Sendcloud's public status list (GET /api/v2/parcels/statuses as quoted by
# several public integrations, identical ids and messages): every id below 62989.
# The 62989-62997 block was seen in two independent public integrations only (unverified
# against the official page, which lists names without ids): ``SENDCLOUD_UNVERIFIED_IDS``.
SENDCLOUD_STATUS_MAP: dict[int, tuple[str, str | None, str | None]] = {
    1: ("Announced", "label_created", None),
    3: ("En route to sorting center", "in_transit", None),
    4: ("Delivery delayed", None, "delay_carrier"),
    5: ("Sorted", "in_transit", None),
    6: ("Not sorted", None, "delay_carrier"),
    7: ("Being sorted", "in_transit", None),
    8: ("Delivery attempt failed", "delivery_attempted", "recipient_unavailable"),
    11: ("Delivered", "delivered", None),
    12: ("Awaiting customer pickup", "available_for_pickup", None),
    13: ("Announced: not collected", None, "not_collected"),
    15: ("Error collecting", None, "delay_carrier"),
    22: ("Shipment picked up by driver", "picked_up", None),
    80: ("Unable to deliver", "delivery_failed", None),
    91: ("Parcel en route", "in_transit", None),
    92: ("Driver en route", "out_for_delivery", None),
    93: ("Shipment collected by customer", "delivered", None),
    94: ("Parcel cancellation failed.", None, None),
    999: ("No label", None, None),
    1000: ("Ready to send", "label_created", None),
    1001: ("Being announced", None, None),
    1002: ("Announcement failed", None, "label_failed"),
    1337: ("Unknown status - check carrier track & trace page for more insights", None, None),
    1998: ("Cancelled upstream", "cancelled", None),
    1999: ("Cancellation requested", None, None),
    2000: ("Cancelled", "cancelled", None),
    2001: ("Submitting cancellation request", None, None),
    62989: ("At Customs", "in_transit", "customs_hold"),
    62990: ("At sorting centre", "in_transit", None),
    62991: ("Refused by recipient", "returning", "refused"),
    62992: ("Returned to sender", "returned", None),
    62993: ("Delivery method changed", None, None),
    62994: ("Delivery date changed", None, None),
    62995: ("Delivery address changed", None, None),
    62996: ("Exception", None, "other"),
    62997: ("Address invalid", None, "address_issue"),
}
SENDCLOUD_UNVERIFIED_IDS = frozenset(range(62989, 62998))

# Sendcloud v3 status code -> (message as the document spells it, milestone, exception
# reason). Every status code Sendcloud's v3 OpenAPI documents publish (see the partner
# README, "Vocabulary"): a parcel's ``status.code`` in the Shipments document (schema
# ``status`` and the examples of its operations) and a tracking event's ``status_code`` in
# the Parcel Tracking document (schema ``parcel-event-response``). The documents publish
# no complete list (they point at ``/api/v3/parcel-statuses``): other codes arrive
# unmapped and are mapped by users in the status map.
SENDCLOUD_V3_STATUS_MAP: dict[str, tuple[str, str | None, str | None]] = {
    # the parcel is being announced to the carrier: no label yet (v2 1001)
    "ANNOUNCING": ("Being announced", None, None),
    # announced, label created (v2 1000 "Ready to send")
    "READY_TO_SEND": ("Ready to send", "label_created", None),
    # the carrier refused the announcement: no label (v2 1002)
    "ANNOUNCEMENT_FAILED": ("Announcement Failed", None, "label_failed"),
    # the shipment was cancelled (v2 2000)
    "CANCELLED": ("Cancelled", "cancelled", None),
    # "Parcel has been accepted by the carrier." (v2 22 "Shipment picked up by driver")
    "accepted": ("Parcel has been accepted by the carrier.", "picked_up", None),
}


def seed_entries() -> list[tuple[str, str | None, str | None]]:
    """Status map seed rows ``(code, milestone, exception_reason)`` for vocabulary
    ``sendcloud``: the v2 ids (:data:`SENDCLOUD_STATUS_MAP`), then the v3 codes
    (:data:`SENDCLOUD_V3_STATUS_MAP`)."""
    return [
        *((str(k), m, r) for k, (_msg, m, r) in sorted(SENDCLOUD_STATUS_MAP.items())),
        *((k, m, r) for k, (_msg, m, r) in SENDCLOUD_V3_STATUS_MAP.items()),
    ]


SEED: tuple[MapEntry, ...] = tuple(
    MapEntry("sendcloud", code, None, milestone, reason,
             "" if milestone or reason else "known code, no change")
    for code, milestone, reason in seed_entries()
)
