"""W3C Trace Context (https://www.w3.org/TR/trace-context/): the one home of ``traceparent``.

A shipment's trace id is derived from its correlation id, stably, so every hop of one
shipment (Odoo, the carrier, the WMS, every subscriber, every AMQP message) shares one
trace: a correlation id that is a UUID (what Odoo generates) gives its own 32 hex digits,
any other text the first 32 hex digits of its sha256. Each outbound call is a new span:
a fresh random 8-byte parent id.

``traceparent`` (section 3.2 of the recommendation)::

    version "-" trace-id "-" parent-id "-" trace-flags
    00      -  32 lowercase hex -  16 lowercase hex  -  2 lowercase hex

An inbound value is parsed per section 3.2.2 / 4.3: a trace id or parent id of all
zeroes, upper-case hex, a wrong length or version ``ff`` make it invalid, and an invalid
header is ignored (never an error for the caller). A version above ``00`` is parsed by
its first four fields only (forward compatibility, section 4.3).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import uuid
from dataclasses import dataclass

#: The header names (lower case: HTTP header names are case-insensitive).
TRACEPARENT = "traceparent"
CORRELATION_HEADER = "X-Correlation-ID"

VERSION = "00"
#: trace-flags bit 0: the caller may have recorded the trace (we always do).
FLAG_SAMPLED = 0x01

_HEX32 = re.compile(r"[0-9a-f]{32}")
_TRACEPARENT_RE = re.compile(
    r"(?P<version>[0-9a-f]{2})-(?P<trace_id>[0-9a-f]{32})-(?P<parent_id>[0-9a-f]{16})"
    r"-(?P<flags>[0-9a-f]{2})(?P<rest>.*)",
    re.S,
)
_ZERO_TRACE = "0" * 32
_ZERO_PARENT = "0" * 16
#: Longest inbound value looked at: a future version may append fields, not megabytes.
MAX_TRACEPARENT_LEN = 512


@dataclass(frozen=True)
class TraceParent:
    version: str
    trace_id: str
    parent_id: str
    flags: int

    @property
    def sampled(self) -> bool:
        return bool(self.flags & FLAG_SAMPLED)

    def header(self) -> str:
        """The ``traceparent`` value (always emitted as version 00)."""
        return f"{VERSION}-{self.trace_id}-{self.parent_id}-{self.flags:02x}"

    def __str__(self) -> str:
        return self.header()


def trace_id_for(correlation_id: str | None) -> str | None:
    """The 32-hex trace id of a correlation id (stable; never all zeroes); None without
    one."""
    if correlation_id is None:
        return None
    text = str(correlation_id).strip()
    if not text:
        return None
    try:
        hex_id = uuid.UUID(text).hex
    except ValueError:
        hex_id = ""
    if not hex_id or hex_id == _ZERO_TRACE:
        hex_id = hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
        if hex_id == _ZERO_TRACE:  # pragma: no cover - a sha256 prefix of zeroes
            hex_id = "0" * 31 + "1"
    return hex_id


def new_parent_id() -> str:
    """A random non-zero 8-byte span id (16 lowercase hex)."""
    while True:
        value = os.urandom(8).hex()
        if value != _ZERO_PARENT:
            return value


def traceparent_for(
    correlation_id: str | None, *, parent_id: str | None = None, sampled: bool = True
) -> str | None:
    """The ``traceparent`` of a new outbound call of the shipment ``correlation_id``
    (None without a correlation id). ``parent_id`` defaults to a fresh random span id."""
    trace_id = trace_id_for(correlation_id)
    if trace_id is None:
        return None
    span = parent_id or new_parent_id()
    if not re.fullmatch(r"[0-9a-f]{16}", span) or span == _ZERO_PARENT:
        raise ValueError(f"invalid parent id {span!r}")
    return TraceParent(VERSION, trace_id, span, FLAG_SAMPLED if sampled else 0).header()


def parse_traceparent(value: object) -> TraceParent | None:
    """The parsed inbound ``traceparent``, or None when absent or invalid (invalid values
    are ignored, per the recommendation's section 4.3)."""
    if not isinstance(value, (str, bytes)):
        return None
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            return None
    if len(value) > MAX_TRACEPARENT_LEN:
        return None
    value = value.strip(" \t")
    m = _TRACEPARENT_RE.fullmatch(value)
    if not m:
        return None
    version, rest = m["version"], m["rest"]
    if version == "ff":
        return None
    if version == VERSION and rest:
        return None  # version 00 has exactly four fields
    if version != VERSION and rest and not rest.startswith("-"):
        return None  # a later version may only append "-"-separated fields
    if m["trace_id"] == _ZERO_TRACE or m["parent_id"] == _ZERO_PARENT:
        return None
    return TraceParent(version, m["trace_id"], m["parent_id"], int(m["flags"], 16))


def inbound_traceparent(headers) -> TraceParent | None:
    """The valid ``traceparent`` of inbound ``headers`` (a mapping, any header case;
    AMQP header values may be bytes), or None. Recorded as its version-00 reading."""
    if not headers:
        return None
    for name, value in headers.items():
        if isinstance(name, str) and name.lower() == TRACEPARENT:
            return parse_traceparent(value)
    return None


def trace_headers(correlation_id: str | None, *, parent_id: str | None = None) -> dict[str, str]:
    """The tracing headers of one outbound call of a shipment: ``X-Correlation-ID`` and a
    fresh ``traceparent``; empty without a correlation id."""
    if not correlation_id:
        return {}
    correlation_id = str(correlation_id)
    header = traceparent_for(correlation_id, parent_id=parent_id)
    return {CORRELATION_HEADER: correlation_id, TRACEPARENT: header} if header else {}


def with_trace_headers(req, correlation_id: str | None):
    """``req`` (a :class:`shipsync.transport.HttpRequest`) with the tracing headers of
    the shipment ``correlation_id`` added: a header the request already carries (any
    case) is kept as is. Unchanged without a correlation id."""
    extra = trace_headers(correlation_id)
    if not extra:
        return req
    headers = dict(req.headers or {})
    present = {str(name).lower() for name in headers}
    for name, value in extra.items():
        if name.lower() not in present:
            headers[name] = value
    return dataclasses.replace(req, headers=headers)


def correlation_ids_of(trace_id: str) -> list[str]:
    """The correlation ids whose trace id is ``trace_id`` that can be told from it: the
    UUID form of the 32 hex digits (a hashed correlation id cannot be read back)."""
    if not is_trace_id(trace_id):
        return []
    return [str(uuid.UUID(hex=trace_id))]


def is_trace_id(value: object) -> bool:
    """True for a valid (non-zero, lowercase) 32-hex trace id."""
    return isinstance(value, str) and bool(_HEX32.fullmatch(value)) and value != _ZERO_TRACE
