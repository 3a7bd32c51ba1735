"""Warehouse / 3PL (WMS) exchange: plain values and file formats.

- :mod:`.messages`: :class:`ReleaseOrder` out; :class:`Confirmation` and
  :class:`StockSnapshotLine` in; :class:`FormatError`.
- :mod:`.csv_format`, :mod:`.json_format`, :mod:`.x12` (940 / 945): each has
  ``write_releases`` / ``read_releases`` and ``write_confirmations`` /
  ``read_confirmations``; CSV and JSON also ``write_stock`` / ``read_stock``.
- :mod:`.files`: atomic writes, inbound listing, processed/error moves, format
  detection and dispatch.
"""

from .messages import (
    CONFIRMATION_KINDS,
    RELEASE_ACTIONS,
    Address,
    Confirmation,
    ConfirmedLine,
    ConfirmedPackage,
    FormatError,
    ReleaseLine,
    ReleaseOrder,
    StockSnapshotLine,
)

__all__ = [
    "CONFIRMATION_KINDS",
    "RELEASE_ACTIONS",
    "Address",
    "Confirmation",
    "ConfirmedLine",
    "ConfirmedPackage",
    "FormatError",
    "ReleaseLine",
    "ReleaseOrder",
    "StockSnapshotLine",
]
