"""shipsync.mapping, pinned: the wildcard and the seed-row helpers by literal values
(the partners' vocabularies import them, so a changed constant would change every
seed row with it and no table test would see it)."""

import pytest

from shipsync import mapping
from shipsync.mapping import MapEntry, MapResult, StatusMapper, rows


def test_constants_are_pinned():
    assert mapping.WILDCARD == "*"
    assert mapping.NO_CHANGE == "known code, no change"


def test_a_literal_star_row_is_the_wildcard():
    mapper = StatusMapper([
        MapEntry("x", "done", None, "delivered", None),
        MapEntry("x", "*", "late", None, "delay_carrier"),
    ])
    assert mapper.lookup("done", "late") == MapResult("delivered", "delay_carrier", "wildcard")
    assert mapper.lookup(None, "late") == MapResult(None, "delay_carrier", "wildcard")


def test_rows_take_an_optional_note():
    assert rows("x", [("a", None, "delivered", None), ("b", "s", None, "lost", "why")]) == [
        MapEntry("x", "a", None, "delivered", None, ""),
        MapEntry("x", "b", "s", None, "lost", "why"),
    ]
    assert MapEntry("x", "a", None, None, None).note == ""


def test_known_codes_without_change_carry_the_note():
    notes = {(e.vocabulary, e.code): e.note for e in mapping.seed_for("easypost")}
    assert notes[("easypost", "unknown")] == "known code, no change"


def test_unknown_attribute_is_named():
    with pytest.raises(AttributeError, match="^NOPE$"):
        mapping.NOPE  # noqa: B018 - the attribute access is the test
