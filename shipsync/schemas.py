"""JSON parsing and JSON Schema (draft 2020-12) validation of inbound payloads.

Schemas are real files in ``shipsync/schemas/`` (they are published for partners).
Errors are ``PayloadError`` with a stable code and the JSON path of the first error.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from functools import cache, lru_cache
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker

try:  # optional accelerator; the reference validator is jsonschema's
    import jsonschema_rs
except ImportError:  # pragma: no cover - exercised where the wheel is missing
    jsonschema_rs = None

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
INVALID_JSON = "invalid_json"
INVALID_CHARACTER = "invalid_character"
SCHEMA_VIOLATION = "schema_violation"
_MAX_MESSAGE = 300
_MAX_PATH = 120
#: Deepest nesting of objects and arrays accepted in a body. Partner payloads stay
#: under 10 levels; deeper bodies are refused before anything recurses over them.
MAX_DEPTH = 64

_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class PayloadError(ValueError):
    """A body that is not valid JSON or does not match its schema.

    The message describes the problem; the location is in ``path`` only.
    """

    def __init__(self, code: str, message: str, path: str = "$"):
        super().__init__(message)
        self.code = code
        self.path = path
        self.message = message


def is_rfc3339(value: object) -> bool:
    """True for an RFC 3339 date-time with an offset (``Z`` or ``+hh:mm``)."""
    if not isinstance(value, str):
        return True  # other types are the "type" keyword's business
    if not _RFC3339.match(value):
        return False
    text = value[:-1] + "+00:00" if value[-1] in "Zz" else value
    head, dot, rest = text.partition(".")
    if dot:  # fromisoformat before 3.11 wants 3 or 6 fraction digits
        digits = re.match(r"\d+", rest).group(0)
        text = f"{head}.{digits[:6].ljust(6, '0')}{rest[len(digits):]}"
    try:
        datetime.fromisoformat(text.replace("t", "T").replace(" ", "T"))
    except ValueError:
        return False
    return True


FORMAT_CHECKER = FormatChecker(formats=())
FORMAT_CHECKER.checks("date-time")(is_rfc3339)


@cache
def load_schema(name: str) -> dict:
    """Load ``shipsync/schemas/<name>.json`` (the ``.json`` suffix is optional)."""
    filename = name if name.endswith(".json") else f"{name}.json"
    path = (SCHEMA_DIR / filename).resolve()
    if path.parent != SCHEMA_DIR or not path.is_file():
        raise KeyError(f"unknown schema {name!r}")
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return schema


@lru_cache(maxsize=32)
def _validator(schema_json: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(schema_json), format_checker=FORMAT_CHECKER)


@lru_cache(maxsize=32)
def _fast_validator(schema_json: str):
    """The schema compiled by ``jsonschema_rs`` (Rust, tens of times faster), or
    None when that package is missing or refuses the schema."""
    if jsonschema_rs is None or _external_ref(json.loads(schema_json)):
        return None
    try:
        return jsonschema_rs.validator_for(
            json.loads(schema_json), formats={"date-time": is_rfc3339}, validate_formats=True)
    except Exception:  # noqa: BLE001 - any refusal: the reference validator alone
        return None


def _external_ref(node) -> bool:
    """True when the schema refers to another document (only local ``#...`` references
    are left to the fast validator, which must never fetch anything)."""
    stack = [node]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and not ref.startswith("#"):
                return True
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


class Compiled:
    """A schema compiled once: ``is_valid`` answers from the fast validator when it
    accepts the payload, and from the reference validator (``jsonschema``, whose
    errors ``validate`` reports) otherwise. The fast one only ever shortcuts an
    acceptance: a payload it refuses, or cannot take, is judged by the reference
    validator, so nothing is refused that ``jsonschema`` accepts (the tests check that
    the two agree on what they accept)."""

    __slots__ = ("fast", "reference")

    def __init__(self, schema_json: str):
        self.reference = _validator(schema_json)
        self.fast = _fast_validator(schema_json)

    def fast_accepts(self, payload: object) -> bool:
        if self.fast is None:
            return False
        try:
            return bool(self.fast.is_valid(payload))
        except Exception:  # noqa: BLE001 - a value Rust cannot take (huge int, surrogate)
            return False

    def is_valid(self, payload: object) -> bool:
        return self.fast_accepts(payload) or self.reference.is_valid(payload)


#: Compiled validators by schema object: ``id(schema) -> (schema, Compiled)``. The
#: schema is kept referenced, so its id is never reused by another object while cached.
_COMPILED: dict[int, tuple[dict, Compiled]] = {}
_MAX_COMPILED = 64


def compiled(schema: dict) -> Compiled:
    """``schema`` compiled once per schema object (a webhook request no longer
    serializes its schema to find its validator). Schemas are treated as immutable,
    as those of ``load_schema`` and the modules' constants are."""
    found = _COMPILED.get(id(schema))
    if found is not None and found[0] is schema:
        return found[1]
    validator = _compiled_json(json.dumps(schema, sort_keys=True))
    if len(_COMPILED) >= _MAX_COMPILED:
        _COMPILED.clear()
    _COMPILED[id(schema)] = (schema, validator)
    return validator


@lru_cache(maxsize=32)
def _compiled_json(schema_json: str) -> Compiled:
    return Compiled(schema_json)


def json_path(parts) -> str:
    """``["events", 0, "occurred_at"]`` -> ``$.events[0].occurred_at``."""
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENTIFIER.match(str(part)):
            out += f".{part}"
        else:
            out += "[" + json.dumps(str(part)) + "]"
    if len(out) > _MAX_PATH:
        out = "$..." + out[-_MAX_PATH:]
    return out


def _order(error) -> tuple:
    path = tuple((0, p, "") if isinstance(p, int) else (1, 0, str(p)) for p in error.absolute_path)
    return (path, str(error.validator), error.message)


_SIZE_MESSAGES = {
    "maxLength": "is longer than {} characters",
    "minLength": "is shorter than {} characters",
    "maxItems": "has more than {} items",
    "minItems": "has fewer than {} items",
    "maxProperties": "has more than {} properties",
}


def validate(payload: object, schema: dict) -> None:
    """Raise ``PayloadError(schema_violation)`` for the first error (ordered by path)."""
    validator = compiled(schema)
    if validator.fast_accepts(payload):
        return
    errors = sorted(validator.reference.iter_errors(payload), key=_order)
    if not errors:
        return
    error = errors[0]
    path = json_path(error.absolute_path)
    if error.validator in ("anyOf", "oneOf"):
        detail = "does not match any allowed form"
        if isinstance(error.validator_value, list):
            required = [
                name for option in error.validator_value for name in option.get("required", ())
            ]
            if required:
                detail = "needs one of: " + ", ".join(required)
    elif error.validator in _SIZE_MESSAGES:
        detail = _SIZE_MESSAGES[error.validator].format(error.validator_value)
    else:
        detail = error.message
        shown = repr(error.instance)
        if len(shown) > 60 and shown in detail:  # the offending value quoted in full
            detail = detail.replace(shown, shown[:40] + "...", 1)
    if len(detail) > _MAX_MESSAGE:
        detail = detail[:_MAX_MESSAGE] + "..."
    raise PayloadError(SCHEMA_VIOLATION, detail, path)


def _reject_constant(value: str):
    raise ValueError(f"{value} is not valid JSON")


def parse_json(body: bytes | str) -> dict:
    """Decode UTF-8 JSON whose top level is an object; ``PayloadError(invalid_json)``."""
    try:
        text = body if isinstance(body, str) else bytes(body).decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadError(INVALID_JSON, "body is not valid UTF-8") from None
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise PayloadError(INVALID_JSON, f"body nests deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        raise PayloadError(INVALID_JSON, f"body is not valid JSON: {exc}"[:_MAX_MESSAGE]) from None
    if not isinstance(data, dict):
        raise PayloadError(INVALID_JSON, "top level of the body must be a JSON object")
    check_text(data)
    return data


_BAD_CHARACTER = re.compile("[\x00\ud800-\udfff]")


def _bad_character(value: str) -> str | None:
    found = _BAD_CHARACTER.search(value)
    if not found:
        return None
    if found.group(0) == "\x00":
        return "a NUL character (\\u0000)"
    return f"a lone surrogate (\\u{ord(found.group(0)):04x}), which is not a Unicode character"


def check_text(data: object) -> None:
    """Refuse what valid JSON may carry but no database or log can: nesting deeper
    than ``MAX_DEPTH`` (``invalid_json``), NUL characters and lone surrogate escapes
    in keys or strings (``invalid_character``, with the JSON path). Iterative: never
    recurses, whatever the depth."""
    stack = [(data, (), 0)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, dict):
            if depth >= MAX_DEPTH:
                raise PayloadError(INVALID_JSON, f"nests deeper than {MAX_DEPTH} levels",
                                   json_path(path))
            for key, item in value.items():
                bad = _bad_character(key)
                if bad:
                    raise PayloadError(INVALID_CHARACTER, f"a key contains {bad}",
                                       json_path(path))
                stack.append((item, (*path, key), depth + 1))
        elif isinstance(value, list):
            if depth >= MAX_DEPTH:
                raise PayloadError(INVALID_JSON, f"nests deeper than {MAX_DEPTH} levels",
                                   json_path(path))
            stack.extend((item, (*path, index), depth + 1) for index, item in enumerate(value))
        elif isinstance(value, str):
            bad = _bad_character(value)
            if bad:
                raise PayloadError(INVALID_CHARACTER, f"the string contains {bad}",
                                   json_path(path))
