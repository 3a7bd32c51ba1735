"""Deterministic ids: the one home of ``stable_id``.

Two kinds of ids are stored with it, and their length is part of what is stored:
inbound events get ``<partner>:`` + 24 hex digits (:data:`EVENT_ID_HEX`, the ledger's
external ids), outbox events ``msg_`` + 32 hex digits (:data:`MESSAGE_ID_HEX`, the
``webhook-id`` subscribers deduplicate on). Changing either length would give the
same event a new id.
"""

from __future__ import annotations

import hashlib
from typing import Any

#: Hex digits of an inbound event's external id (``shipsync.normalizers``).
EVENT_ID_HEX = 24
#: Hex digits of an outbox message id (``shipsync.outbox``).
MESSAGE_ID_HEX = 32


def stable_id(*parts: Any, prefix: str = "", length: int = MESSAGE_ID_HEX) -> str:
    """``prefix`` + the first ``length`` hex digits of the sha256 of the parts (joined by
    U+001F; None is the empty string)."""
    text = "\x1f".join("" if p is None else str(p) for p in parts)
    return prefix + hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def event_id(partner: str, *parts: Any) -> str:
    """The external id of an inbound event that has none of its own:
    ``<partner>:`` + :data:`EVENT_ID_HEX` hex digits of the parts."""
    return stable_id(*parts, prefix=f"{partner}:", length=EVENT_ID_HEX)
