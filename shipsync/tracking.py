"""Tracking numbers as keys: one normalisation for both sides of every match.

Carriers, scanners and people write the same tracking number with different case and
spacing (``1z 999 aa1 0123456784`` / ``1Z999AA10123456784``). Whatever is stored on a
transfer and whatever a partner sends are compared through :func:`tracking_key`.
"""

from __future__ import annotations

import re

_SPACES = re.compile(r"\s+")


def tracking_key(value: str | None) -> str:
    """The comparison key of one tracking number: no whitespace, upper case."""
    return _SPACES.sub("", str(value or "")).upper()


def tracking_keys(reference: str | None) -> list[str]:
    """The keys of a comma-separated list of tracking numbers (a multi-parcel transfer),
    in order, without empties or repeats."""
    keys = (tracking_key(part) for part in str(reference or "").split(","))
    return list(dict.fromkeys(key for key in keys if key))


def keys_field(reference: str | None) -> str | None:
    """The stored form of :func:`tracking_keys`: ``,K1,K2,`` (None when there is none),
    so that one key is found with ``LIKE '%,K,%'``."""
    keys = tracking_keys(reference)
    return f",{','.join(keys)}," if keys else None
