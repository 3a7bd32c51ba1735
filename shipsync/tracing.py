"""W3C Trace Context (https://www.w3.org/TR/trace-context/): the ``traceparent`` that
every outbound call of a shipment carries.

``traceparent`` is ``00-<trace-id>-<parent-id>-<flags>``: version ``00``, a 16-byte
trace id and an 8-byte parent (span) id in lower-case hex, neither all zeros, and the
``sampled`` flag ``01``. The trace id is derived from the shipment's correlation id (the
same shipment: the same trace, across Odoo, its partners and its subscribers); the
parent id is random per call, as the specification asks of a span id. Without a
correlation id the trace id is random too.
"""

from __future__ import annotations

import hashlib
import os
import re

VERSION = "00"
SAMPLED = "01"
TRACEPARENT_RE = re.compile(r"^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$")


def trace_id(correlation_id: str | None) -> str:
    """The 32-hex trace id of a correlation id (stable), random without one."""
    if correlation_id:
        digest = hashlib.sha256(str(correlation_id).encode("utf-8")).hexdigest()[:32]
    else:
        digest = os.urandom(16).hex()
    # All zeros is invalid per the specification (2^-128: replaced, never expected).
    return digest if digest.strip("0") else "0" * 31 + "1"


def span_id() -> str:
    """A random 16-hex parent id (never all zeros)."""
    value = os.urandom(8).hex()
    return value if value.strip("0") else "0" * 15 + "1"


def traceparent(correlation_id: str | None) -> str:
    """A ``traceparent`` header value for one outbound call of this shipment."""
    return f"{VERSION}-{trace_id(correlation_id)}-{span_id()}-{SAMPLED}"


def is_traceparent(value: str | None) -> bool:
    """Is ``value`` a well-formed version-00 ``traceparent``?"""
    return bool(value) and bool(TRACEPARENT_RE.match(value))
