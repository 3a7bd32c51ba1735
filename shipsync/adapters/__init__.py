"""Carrier adapters: pure request builders and response parsers around one HTTP call.

``ADAPTERS`` maps an adapter code (``easypost``, ``sendcloud``, ``aftership``,
``generic_rest``, ``generic_soap``) to its class; ``get_adapter(code)`` looks one up.
"""

from .aftership import AfterShipAdapter
from .base import (
    ADAPTERS,
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
from .easypost import EasyPostAdapter
from .generic_rest import GenericRestAdapter
from .sendcloud import SENDCLOUD_STATUS_MAP, SendcloudAdapter
from .soap import GenericSoapAdapter

__all__ = [
    "ADAPTERS",
    "Address",
    "AdapterError",
    "AfterShipAdapter",
    "CancelResult",
    "CanonicalEvent",
    "CarrierAdapter",
    "CarrierError",
    "EasyPostAdapter",
    "GenericRestAdapter",
    "GenericSoapAdapter",
    "InvalidInput",
    "Label",
    "Parcel",
    "Rate",
    "SENDCLOUD_STATUS_MAP",
    "SendcloudAdapter",
    "ShipmentRequest",
    "ShipmentResult",
    "TrackingEvent",
    "TransientError",
    "get_adapter",
    "validate_request",
]
