"""The ingest dispatch registry (shipsync.ingest.IngestHandler / register_ingest)."""

from dataclasses import dataclass
from datetime import datetime, timezone

import pytest

from shipsync.ingest import IngestHandler, IngestRefused, register_ingest
from shipsync.normalizers import CanonicalEvent


@dataclass(frozen=True)
class OtherEvent(CanonicalEvent):
    payload: dict | None = None


def event(external_id, cls=CanonicalEvent):
    return cls(external_id=external_id, occurred_at=datetime(2025, 1, 1, tzinfo=timezone.utc))


def test_select_keeps_the_new_events_of_its_class():
    handler = IngestHandler(OtherEvent, "_m")
    events = [event("a"), event("b", OtherEvent), event("c", OtherEvent)]
    assert [e.external_id for e in handler.select(events, {"a", "b"})] == ["b"]


def test_applies_by_partner_kind_and_shadow():
    handler = IngestHandler(OtherEvent, "_m", partner_kinds=("tms",), shadow=False)
    assert handler.applies("tms", False)
    assert not handler.applies("tms", True)
    assert not handler.applies("carrier", False)
    assert IngestHandler(OtherEvent, "_m").applies("anything", True)


def test_one_handler_per_event_class():
    registry = register_ingest((), IngestHandler(OtherEvent, "_m"))
    assert len(register_ingest(registry, IngestHandler(CanonicalEvent, "_n"))) == 2
    with pytest.raises(ValueError, match="already"):
        register_ingest(registry, IngestHandler(OtherEvent, "_other"))
    with pytest.raises(ValueError):
        register_ingest(registry, ("x", "_m"))


@pytest.mark.parametrize("event_type, method", [(dict, "_m"), (OtherEvent, "a b"),
                                                (OtherEvent, ""), ("OtherEvent", "_m")])
def test_malformed_handlers_are_refused(event_type, method):
    with pytest.raises(ValueError):
        IngestHandler(event_type, method)


def test_refusal_is_a_422_with_a_code():
    exc = IngestRefused("The events could not be processed")
    assert (exc.http_status, exc.code, exc.message) == (
        422, "event_not_processable", "The events could not be processed")
