"""Carrier adapters: the base classes of every partner's outbound adapter.

The adapters themselves live in ``shipsync.partners.<code>.outbound``; the partner
registry (``shipsync.partners``) maps a code to its adapter class, and
``get_adapter(code)`` looks one up.
"""

from .base import (
    AdapterError,
    Address,
    CancelResult,
    CanonicalEvent,
    CarrierAdapter,
    CarrierError,
    InvalidInput,
    Label,
    Parcel,
    Rate,
    ShipmentRequest,
    ShipmentResult,
    TrackingEvent,
    TransientError,
    get_adapter,
    validate_request,
)

__all__ = [
    "Address",
    "AdapterError",
    "CancelResult",
    "CanonicalEvent",
    "CarrierAdapter",
    "CarrierError",
    "InvalidInput",
    "Label",
    "Parcel",
    "Rate",
    "ShipmentRequest",
    "ShipmentResult",
    "TrackingEvent",
    "TransientError",
    "get_adapter",
    "validate_request",
]
