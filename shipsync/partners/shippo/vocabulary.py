"""Shippo vocabulary: ``tracking_status.status`` / ``substatus.code`` -> milestone (seed rows)."""

from __future__ import annotations

from shipsync.mapping import NO_CHANGE, WILDCARD, MapEntry, rows

SEED: tuple[MapEntry, ...] = tuple(rows("shippo", [
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
    ("UNKNOWN", None, None, None, NO_CHANGE),
    ("UNKNOWN", "other", None, None, NO_CHANGE),
    # substatus exception reasons, whatever status carries them
    (WILDCARD, "address_issue", None, "address_issue"),
    (WILDCARD, "package_damaged", None, "damaged"),
    (WILDCARD, "package_lost", None, "lost"),
    (WILDCARD, "package_held", None, "held_contact_carrier"),
    (WILDCARD, "contact_carrier", None, "held_contact_carrier"),
    (WILDCARD, "delayed", None, "delay_carrier"),
    (WILDCARD, "package_unclaimed", None, "not_collected"),
]))
