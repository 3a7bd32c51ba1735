"""997 Functional Acknowledgments: building, writing and reading them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..messages import (
    FormatError,
)
from .read import (
    SEGMENT_COUNT_WRONG,
    SEGMENTS_IN_ERROR,
    SET_TRAILER_MISSING,
    _parse_940,
    _parse_945,
)
from .syntax import (
    Envelope,
    SegmentNote,
    Separators,
    _el,
    _interchange,
    _raise,
    _read,
    _segments,
    _Set,
    _Writer,
)

GROUP_COUNT_WRONG = "5"
ACK_CODES = {"A": "accepted", "E": "accepted with errors", "P": "partially accepted",
             "R": "rejected"}


@dataclass(frozen=True)
class SetAcknowledgment:
    """AK2 / AK3 / AK4 / AK5: one transaction set and what was wrong with it."""

    set_id: str
    control: str
    code: str  # A accepted, E accepted with errors noted, R rejected
    notes: tuple[SegmentNote, ...] = ()
    error_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class GroupAcknowledgment:
    """AK1 / AK9: one functional group (GS01 id, GS06 control number, GS08 version)."""

    functional_id: str
    control: str
    version: str
    code: str
    sets: tuple[SetAcknowledgment, ...] = ()
    included: int = 0
    received: int = 0
    accepted: int = 0
    error_codes: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return ACK_CODES.get(self.code, self.code)


_PARSERS = {"940": _parse_940, "945": _parse_945}


def acknowledgment_for(data: bytes | str, set_id: str = "945") -> list[GroupAcknowledgment]:
    """The 997 content for every functional group of ``data`` read as ``set_id``.

    A file is applied whole or not at all, so when anything in it is wrong every
    group is rejected (AK9 R); sets with their own errors name them in AK3 / AK4.
    An interchange without a readable ISA gives ``[]`` (no group to acknowledge).
    """
    try:
        _results, groups, errors = _read(data, set_id, _PARSERS[set_id])
    except FormatError:
        return []
    rejected = bool(errors)
    acks = []
    for group in groups:
        sets = []
        for result in group.sets:
            notes = tuple(note for _no, _m, note in result.errors) + tuple(result.notes)
            codes = []
            if result.errors:
                trailer = [n for n in notes if n.segment_id == "SE"]
                codes.append(SET_TRAILER_MISSING if any(n.segment_code == "3" for n in trailer)
                             else SEGMENT_COUNT_WRONG if trailer else SEGMENTS_IN_ERROR)
            code = "R" if rejected else ("E" if result.notes else "A")
            sets.append(SetAcknowledgment(result.set_id, result.control, code, notes,
                                          tuple(codes)))
        included = len(group.sets)
        accepted = sum(1 for s in sets if s.code != "R")
        code = "R" if rejected else ("E" if any(s.code == "E" for s in sets) else "A")
        acks.append(GroupAcknowledgment(
            group.functional_id, group.control, group.version, code, tuple(sets),
            included, len(group.sets), accepted,
            (GROUP_COUNT_WRONG,) if group.errors else ()))
    return acks


def _997(ack: GroupAcknowledgment):
    def build(w: _Writer) -> list[str]:
        def clean(value: str) -> str:
            return "".join(ch for ch in value if ch not in w.forbidden)[:99]

        control = ack.control if ack.control.isdigit() else "0"
        items = [("AK1", w.fit(ack.functional_id, 2, "GS01", 2) or "XX", int(control),
                  *((ack.version,) if w.version >= "005010" and ack.version else ()))]
        for s in ack.sets:
            items.append(("AK2", s.set_id, s.control))
            for note in s.notes:
                items.append(("AK3", clean(note.segment_id)[:3] or "?", max(note.position, 1),
                              note.loop_id, note.segment_code))
                if note.element:
                    items.append(("AK4", note.element, "", note.element_code or "7",
                                  clean(note.bad_value)))
            items.append(("AK5", s.code, *s.error_codes[:5]))
        items.append(("AK9", ack.code, ack.included, ack.received, ack.accepted,
                      *ack.error_codes[:5]))
        return [w.seg(*item) for item in items]

    return build


def write_acknowledgments(acks: Iterable[GroupAcknowledgment],
                          envelope: Envelope | None = None) -> bytes:
    """One interchange with one 997 per acknowledged group (GS01 ``FA``)."""
    sets = [("997", _997(ack)) for ack in acks]
    return _interchange("FA", sets, envelope or Envelope())


def _parse_997(ctx: _Set, segments, seps: Separators, fallback_id):
    group, sets, current, notes, count = None, [], None, [], len(ctx.errors)
    for no, el in segments:
        tag = el[0].strip()
        if tag == "AK1":
            group = (no, el)
        elif tag == "AK2":
            current, notes = (_el(el, 1), _el(el, 2)), []
        elif tag == "AK3":
            notes.append(SegmentNote(_el(el, 1), int(_el(el, 2) or 0) if _el(el, 2).isdigit()
                                     else 0, _el(el, 3), _el(el, 4)))
        elif tag == "AK4" and notes:
            position = _el(el, 1).split(seps.component)[0]
            last = notes.pop()
            notes.append(SegmentNote(last.segment_id, last.position, last.loop_id,
                                     last.segment_code,
                                     int(position) if position.isdigit() else 0,
                                     _el(el, 3), _el(el, 4)))
        elif tag == "AK5":
            if current is None:
                ctx.error(no, "AK5 without AK2", segment_code="7", segment_id="AK5")
                continue
            sets.append(SetAcknowledgment(current[0], current[1], _el(el, 1), tuple(notes),
                                          tuple(x for x in el[2:] if x)))
            current = None
        elif tag == "AK9":
            if group is None:
                ctx.error(no, "AK9 without AK1", segment_code="3", segment_id="AK1")
                continue
            if _el(el, 1) not in ACK_CODES:
                ctx.error(no, f"AK9: code {_el(el, 1)!r} is not A, E, P or R", 1, "7",
                          _el(el, 1), segment_id="AK9")
                continue
            number = [int(_el(el, k)) if _el(el, k).isdigit() else 0 for k in (2, 3, 4)]
            gel = group[1]
            return GroupAcknowledgment(_el(gel, 1), _el(gel, 2).lstrip("0") or "0",
                                       _el(gel, 3), _el(el, 1), tuple(sets), *number,
                                       tuple(x for x in el[5:] if x))
    if len(ctx.errors) == count:
        ctx.error(ctx.st_no, "missing mandatory segment AK9", segment_code="3",
                  segment_id="AK9")
    return None


def read_acknowledgments(data: bytes | str) -> list[GroupAcknowledgment]:
    """Read every 997 of an interchange (the groups a partner acknowledges)."""
    results, _groups, errors = _read(data, "997", _parse_997)
    _raise(errors)
    return results


def functional_id(data: bytes | str) -> str:
    """GS01 of the first functional group (``SW`` 945, ``FA`` 997...), ``""`` if none."""
    try:
        _seps, segments = _segments(data)
    except FormatError:
        return ""
    for _no, el in segments:
        if el[0].strip() == "GS":
            return _el(el, 1)
    return ""
