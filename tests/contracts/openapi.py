"""Validate requests, responses and webhook payloads against a partner's published
OpenAPI document (``$CONTRACTS_DIR/sendcloud/*.yml``) with ``openapi-core``.

    spec = load_spec(contracts_dir, "sendcloud-v2-parcels-openapi.yml")
    validate_request(spec, "POST", "/api/v2/parcels", body)       # or "/parcels"
    validate_response(spec, "POST", "/parcels", 200, answer)
    validate_webhook(spec, "ParcelStatusChanged", payload)

``path`` is the path our adapter or sandbox uses (``/api/v2/parcels``, with any query)
or the document's own path relative to its server (``/parcels``). Every helper raises
``AssertionError`` listing each schema error with its JSON location, so a test failure
says which field the partner would refuse. ``example_bodies()`` yields the document's
own examples (the facts a fixture may be written from).

One in-memory reading aid, never written back: Sendcloud's documents declare envelopes
as ``oneOf`` of inline objects that name disjoint properties but require none (e.g.
``{"parcel": ...}`` vs ``{"parcels": [...]}``); read literally, every body matches all
branches and ``oneOf`` rejects even the documents' own examples. Such a branch is read
as requiring the properties it names (``Spec.patches`` lists where); nothing else in
the documents is touched.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.testing import MockRequest, MockResponse

#: Any Basic credentials: the documents require HTTPBasicAuth (or OAuth2) on every call.
DEFAULT_HEADERS = {"Authorization": "Basic cHVibGljOnNlY3JldA=="}


@dataclass(frozen=True)
class Spec:
    name: str
    path: Path
    raw: dict
    openapi: OpenAPI
    patches: tuple[str, ...] = ()

    @property
    def server(self) -> str:
        return self.raw["servers"][0]["url"].rstrip("/")

    @property
    def host(self) -> str:
        parts = urlsplit(self.server)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def base_path(self) -> str:
        return urlsplit(self.server).path.rstrip("/")

    def full_path(self, path: str) -> str:
        """``/parcels`` -> ``/api/v2/parcels``; a path already under the server stays."""
        only = urlsplit(path).path if "://" in path else path.split("?", 1)[0]
        if self.base_path and (only == self.base_path or only.startswith(self.base_path + "/")):
            return only
        return self.base_path + "/" + only.lstrip("/")

    def operation(self, method: str, path: str) -> dict:
        """The raw operation object of the document's templated ``path``."""
        return self.raw["paths"][path][method.lower()]


def _disambiguate(node: Any, where: str, patches: list[str]) -> Any:
    """Copy of ``node`` where each ambiguous envelope ``oneOf`` (see the module doc)
    requires the properties its branches name."""
    if isinstance(node, list):
        return [_disambiguate(v, f"{where}/{i}", patches) for i, v in enumerate(node)]
    if not isinstance(node, dict):
        return node
    out = {k: _disambiguate(v, f"{where}/{k}", patches) for k, v in node.items()}
    branches = out.get("oneOf")
    if (isinstance(branches, list) and len(branches) > 1
            and all(isinstance(b, dict) and isinstance(b.get("properties"), dict)
                    and "required" not in b and "$ref" not in b for b in branches)):
        names = [set(b["properties"]) for b in branches]
        if sum(len(n) for n in names) == len(set().union(*names)):  # pairwise disjoint
            out["oneOf"] = [{**b, "required": sorted(b["properties"])} for b in branches]
            patches.append(f"{where}/oneOf")
    return out


@cache
def _load(path: str, mtime: float) -> Spec:
    file = Path(path)
    patches: list[str] = []
    raw = _disambiguate(yaml.safe_load(file.read_text(encoding="utf-8")), "#", patches)
    return Spec(file.name, file, raw, OpenAPI.from_dict(raw, base_uri=file.as_uri()),
                tuple(patches))


def load_spec(contracts_dir: Path, name: str, partner: str = "sendcloud") -> Spec:
    """``$CONTRACTS_DIR/<partner>/<name>`` parsed and checked by openapi-core (cached)."""
    file = Path(contracts_dir) / partner / name
    if not file.is_file():
        raise FileNotFoundError(f"no published OpenAPI document {file}")
    return _load(str(file), file.stat().st_mtime)


def _bytes(body: Any) -> bytes | None:
    if body is None:
        return None
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body).encode("utf-8")


def _where(error) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}"
                         for p in error.absolute_path)


def _describe(error, depth: int = 0) -> list[str]:
    """A schema error; for ``oneOf``/``anyOf`` the errors of each branch (deepest first),
    so the message names the field instead of repeating the whole body."""
    if not error.context or depth > 3:
        return [f"{_where(error)}: {error.message[:300]}"]
    by_branch: dict[Any, list] = {}
    for sub in error.context:
        by_branch.setdefault(sub.schema_path[0] if sub.schema_path else "?", []).append(sub)
    out = [f"{_where(error)}: matches {'none' if 'not valid' in error.message else 'several'}"
           f" of the {error.validator} branches"]
    for branch, subs in sorted(by_branch.items(), key=lambda item: str(item[0])):
        subs.sort(key=lambda e: -len(e.absolute_path))
        for sub in subs[:5]:
            out.extend(f"  [branch {branch}] {line}" for line in _describe(sub, depth + 1))
    return out


def _errors(exc: BaseException) -> list[str]:
    """Every schema error under an openapi-core exception, as ``$.a.b: message``."""
    out: list[str] = []
    seen = set()
    todo = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        for error in getattr(current, "schema_errors", None) or ():
            out.extend(_describe(error))
        for nested in (current.__cause__, current.__context__):
            if nested is not None:
                todo.append(nested)
    return out or [f"{type(exc).__name__}: {exc}"]


def _fail(what: str, exc: BaseException) -> AssertionError:
    details = "\n  ".join(_errors(exc))
    return AssertionError(f"{what} does not conform to the published document:\n  {details}")


def _request(spec: Spec, method: str, path: str, body: Any, headers: dict | None,
             content_type: str) -> MockRequest:
    query = parse_qs(urlsplit(path).query, keep_blank_values=True)
    return MockRequest(
        spec.host, method.lower(), spec.full_path(path),
        args={k: v[-1] for k, v in query.items()},
        headers={**DEFAULT_HEADERS, **(headers or {})},
        data=_bytes(body), content_type=content_type)


def validate_request(spec: Spec, method: str, path: str, body: Any = None, *,
                     headers: dict | None = None,
                     content_type: str = "application/json") -> None:
    """Raise ``AssertionError`` unless ``method path`` with ``body`` is a request the
    document accepts (path, query parameters, security, body schema)."""
    try:
        spec.openapi.validate_request(_request(spec, method, path, body, headers, content_type))
    except Exception as exc:  # noqa: BLE001 - openapi-core raises many error classes
        raise _fail(f"request {method.upper()} {path}", exc) from None


def drop_nulls(value: Any) -> Any:
    """``value`` without the object members whose value is ``null``."""
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value]
    return value


def validate_response(spec: Spec, method: str, path: str, status: int, body: Any, *,
                      content_type: str = "application/json",
                      headers: dict | None = None, nulls: str = "strict") -> None:
    """Raise ``AssertionError`` unless ``body`` with ``status`` is an answer the document
    declares for ``method path``.

    ``nulls="as_absent"`` reads a ``null`` member as an absent one: Sendcloud's own
    response examples carry ``null`` in fields their schemas type as non-nullable
    (``length``, ``box_number``...), so a body copying Sendcloud's behaviour needs it."""
    if nulls not in ("strict", "as_absent"):
        raise ValueError("nulls must be 'strict' or 'as_absent'")
    if nulls == "as_absent" and not isinstance(body, bytes | str):
        body = drop_nulls(body)
    request = _request(spec, method, path, None, None, "application/json")
    response = MockResponse(_bytes(body) or b"", status_code=status, headers=headers or {},
                            content_type=content_type)
    try:
        spec.openapi.validate_response(request, response)
    except Exception as exc:  # noqa: BLE001
        raise _fail(f"response {status} to {method.upper()} {path}", exc) from None


@dataclass
class _WebhookRequest:
    name: str
    body: bytes | None
    content_type: str = "application/json"
    method: str = "post"
    host_url: str = ""
    path: str = ""
    parameters: RequestParameters = None

    headers: dict | None = None

    def __post_init__(self):
        self.parameters = RequestParameters(header=dict(self.headers or {}))


def _placeholder_headers(spec: Spec) -> dict:
    """A placeholder for each header-borne API key scheme (e.g. ``Sendcloud-Signature``):
    openapi-core only checks presence; signatures are verified by our own verifiers."""
    schemes = (spec.raw.get("components") or {}).get("securitySchemes") or {}
    return {s["name"]: "placeholder" for s in schemes.values()
            if s.get("type") == "apiKey" and s.get("in") == "header" and s.get("name")}


def validate_webhook(spec: Spec, name: str, body: Any, *, headers: dict | None = None) -> None:
    """Raise ``AssertionError`` unless ``body`` is a payload of the document's webhook
    ``name`` (e.g. ``ParcelStatusChanged``)."""
    if name not in (spec.raw.get("webhooks") or {}):
        raise KeyError(f"{spec.name} declares no webhook {name!r}: "
                       f"{sorted(spec.raw.get('webhooks') or {})}")
    all_headers = {**DEFAULT_HEADERS, **_placeholder_headers(spec), **(headers or {})}
    try:
        spec.openapi.validate_webhook_request(
            _WebhookRequest(name, _bytes(body), headers=all_headers))
    except Exception as exc:  # noqa: BLE001
        raise _fail(f"webhook {name}", exc) from None


def example_bodies(node: Any) -> Iterator[Any]:
    """Every ``example`` / ``examples[*].value`` under an OpenAPI node (the document's
    own sample values)."""
    if isinstance(node, dict):
        content = node.get("content") if isinstance(node.get("content"), dict) else None
        for media in (content or {}).values():
            if isinstance(media, dict):
                if "example" in media:
                    yield media["example"]
                for item in (media.get("examples") or {}).values():
                    if isinstance(item, dict) and "value" in item:
                        yield item["value"]
        for key, value in node.items():
            if key != "content":
                yield from example_bodies(value)
    elif isinstance(node, list):
        for value in node:
            yield from example_bodies(value)


def resolve(spec: Spec, node: Any) -> Any:
    """Follow local ``$ref``s (``#/components/...``) of the document."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node and seen < 20:
        target: Any = spec.raw
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node, seen = target, seen + 1
    return node


_TYPE_DEFAULTS = {"string": "", "integer": 0, "number": 0, "boolean": False, "array": [],
                  "object": {}}


def sample_from_schema(spec: Spec, schema: Any, depth: int = 0) -> Any:
    """A value built from the schema's own per-field ``example``s (else its first ``enum``
    value, else an empty value of its type): the document's facts, nothing invented.
    Every declared property is filled; ``oneOf``/``anyOf`` take their first branch."""
    schema = resolve(spec, schema)
    if not isinstance(schema, dict) or depth > 12:
        return None
    if "example" in schema:
        return schema["example"]
    if schema.get("examples") and isinstance(schema["examples"], list):
        return schema["examples"][0]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("oneOf", "anyOf"):
        if schema.get(key):
            return sample_from_schema(spec, schema[key][0], depth + 1)
    if schema.get("allOf"):
        out: dict = {}
        for part in schema["allOf"]:
            value = sample_from_schema(spec, part, depth + 1)
            if isinstance(value, dict):
                out.update(value)
        return out
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "object" or "properties" in schema:
        return {name: sample_from_schema(spec, sub, depth + 1)
                for name, sub in (schema.get("properties") or {}).items()}
    if kind == "array":
        item = sample_from_schema(spec, schema.get("items") or {}, depth + 1)
        return [] if item is None else [item]
    return _TYPE_DEFAULTS.get(kind)
