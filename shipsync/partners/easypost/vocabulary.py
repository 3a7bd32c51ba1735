"""EasyPost vocabulary: Tracker ``status`` / ``status_detail`` -> milestone (seed rows)."""

from __future__ import annotations

from shipsync.mapping import NO_CHANGE, WILDCARD, MapEntry, rows

SEED: tuple[MapEntry, ...] = tuple(rows("easypost", [
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
    ("unknown", None, None, None, NO_CHANGE),
    ("error", None, None, None, NO_CHANGE),
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
]))
