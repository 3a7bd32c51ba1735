"""Reading partners' date-times: the one ``parse_datetime``, at three strictness levels.

* ``strict=True`` (inbound webhooks, ``shipsync.normalizers``): ISO 8601 / RFC 3339;
  a naive value or a plain date is UTC; anything else is a ``schema_violation``
  :class:`~shipsync.schemas.PayloadError` at ``where`` (a JSON path).
* ``strict="offset"`` (WMS messages and files, ``shipsync.wms``): ISO 8601 with a
  UTC offset (``Z`` accepted); a value without one is refused too, with ``where`` (the
  field's name) in the message.
* ``strict=False`` (answers to our own calls, ``shipsync.adapters``): also a
  ``datetime`` or epoch seconds / milliseconds; what cannot be read is None.

Every date-time returned is aware UTC; an empty value is None except in ``offset`` mode.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from .schemas import SCHEMA_VIOLATION, PayloadError

_DATETIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*([Zz]|[+-]\d{2}(?::?\d{2})?)?$"
)


def parse_datetime(
    value: Any, where: str = "$", *, strict: bool | Literal["offset"] = True
) -> datetime | None:
    """``value`` as an aware UTC datetime (see the module for the three levels)."""
    if strict == "offset":
        return _with_offset(value, where)
    if strict:
        return _rfc3339(value, where)
    return _lenient(value)


def _rfc3339(value: Any, where: str) -> datetime | None:
    if value in (None, ""):
        return None
    match = _DATETIME.match(str(value).strip())
    if not match:
        raise PayloadError(SCHEMA_VIOLATION, f"{value!r} is not a date-time", where)
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        tz = timezone.utc
        if offset and offset not in "Zz":
            sign = -1 if offset[0] == "-" else 1
            digits = offset[1:].replace(":", "")
            tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0)))
        parsed = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0),
            int(second or 0), micro, tzinfo=tz,
        )
        return parsed.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        message = f"{value!r} is not a date-time"
        raise PayloadError(SCHEMA_VIOLATION, message, where) from None


def _with_offset(text: Any, what: str) -> datetime:
    raw = (text or "").strip()
    iso = raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw
    try:
        value = datetime.fromisoformat(iso)
    except ValueError:
        raise ValueError(f"{what} {raw!r} is not an ISO 8601 datetime") from None
    if value.tzinfo is None:
        raise ValueError(f"{what} {raw!r} has no UTC offset")
    return value.astimezone(timezone.utc)


def _lenient(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        num = float(value)
        if num > 1e11:  # milliseconds
            num /= 1000.0
        return datetime.fromtimestamp(num, tz=timezone.utc)
    else:
        text = str(value).strip().replace("Z", "+00:00")
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)
