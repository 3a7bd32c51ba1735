"""Loader for the EasyPost VCR cassettes (``$CONTRACTS_DIR/easypost/cassettes/*.yaml``).

Two layouts are read: the trimmed one (``request: {method, uri, body}``,
``response: {status, content_type, body}``) and VCR.py's own
(``response: {body: {string}, headers: {content-type: [...]}, status}``).
Bodies stay byte for byte what EasyPost sent; gzip-encoded bodies are inflated.

``structure()`` and ``unknown_fields()`` compare request bodies by their keys and
value kinds (object / list / string / number / bool / null), never by their values:
ids, dates and addresses differ from one recording to the next, the shape does not.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml


@dataclass(frozen=True)
class Interaction:
    """One recorded request and the answer EasyPost gave to it."""

    cassette: str
    index: int
    method: str
    uri: str
    request_body: str | None
    status: int
    reason: str
    content_type: str
    response_body: bytes
    headers: dict = field(default_factory=dict, compare=False)

    @property
    def path(self) -> str:
        return urlsplit(self.uri).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.uri).query, keep_blank_values=True)

    @property
    def host(self) -> str:
        parts = urlsplit(self.uri)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def request_json(self) -> Any:
        if not self.request_body:
            return None
        try:
            return json.loads(self.request_body)
        except ValueError:
            return None

    @property
    def response_json(self) -> Any:
        try:
            return json.loads(self.response_body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return None

    def route(self) -> str:
        query = urlsplit(self.uri).query
        return f"{self.method} {self.path}" + (f"?{query}" if query else "")

    def __str__(self) -> str:
        return f"{self.cassette}#{self.index}: {self.route()} -> {self.status}"


@dataclass(frozen=True)
class Cassette:
    name: str
    path: Path
    interactions: tuple[Interaction, ...]

    def find(self, method: str, path: str) -> list[Interaction]:
        return [i for i in self.interactions if i.method == method.upper() and i.path == path]

    def one(self, method: str, path: str) -> Interaction:
        found = self.find(method, path)
        if len(found) != 1:
            raise LookupError(f"{self.name}: {len(found)} recorded {method} {path} "
                              f"(recorded: {[i.route() for i in self.interactions]})")
        return found[0]


def _header(headers: dict, name: str) -> str:
    for key, value in (headers or {}).items():
        if str(key).lower() == name:
            return str(value[0] if isinstance(value, list) and value else value or "")
    return ""


def _body_bytes(raw: Any, encoding: str) -> bytes:
    if isinstance(raw, dict):  # VCR.py layout: {"string": ...}
        raw = raw.get("string")
    if raw is None:
        data = b""
    elif isinstance(raw, bytes):
        data = raw
    else:
        data = str(raw).encode("utf-8")
    if "gzip" in encoding and data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data


def _request_body(raw: Any) -> str | None:
    if isinstance(raw, dict):
        raw = raw.get("string")
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    return raw if raw not in (None, "") else None


def _parse(path: Path) -> Cassette:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("interactions"), list):
        raise ValueError(f"{path}: not a VCR cassette (no interactions list)")
    out = []
    for index, item in enumerate(data["interactions"]):
        req, resp = item["request"], item["response"]
        headers = resp.get("headers") or {}
        status = resp.get("status") or {}
        out.append(Interaction(
            cassette=path.stem,
            index=index,
            method=str(req["method"]).upper(),
            uri=str(req["uri"]),
            request_body=_request_body(req.get("body")),
            status=int(status.get("code") if isinstance(status, dict) else status),
            reason=str(status.get("message") or "") if isinstance(status, dict) else "",
            content_type=str(resp.get("content_type") or _header(headers, "content-type")
                             or "application/json"),
            response_body=_body_bytes(resp.get("body"), _header(headers, "content-encoding")),
            headers={str(k).lower(): v for k, v in headers.items()},
        ))
    return Cassette(path.stem, path, tuple(out))


@cache
def _load_cached(path: str, mtime: float) -> Cassette:
    return _parse(Path(path))


def load_cassette(contracts_dir: Path, name: str) -> Cassette:
    """``easypost/cassettes/<name>.yaml`` under ``contracts_dir`` (``name`` without .yaml)."""
    path = Path(contracts_dir) / "easypost" / "cassettes" / f"{name.removesuffix('.yaml')}.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"no recorded cassette {path}")
    return _load_cached(str(path), path.stat().st_mtime)


def all_cassettes(contracts_dir: Path) -> list[Cassette]:
    folder = Path(contracts_dir) / "easypost" / "cassettes"
    return [load_cassette(contracts_dir, p.stem) for p in sorted(folder.glob("*.yaml"))]


def recorded_bodies(contracts_dir: Path, method: str, path: str) -> list[Any]:
    """Every decoded request body the SDK sent for ``method path`` across all cassettes."""
    return [i.request_json for c in all_cassettes(contracts_dir)
            for i in c.find(method, path) if i.request_json is not None]


def recorded_responses(contracts_dir: Path, method: str, path: str) -> list[Any]:
    return [i.response_json for c in all_cassettes(contracts_dir)
            for i in c.find(method, path) if i.response_json is not None]


# --------------------------------------------------------------------------- structure
def kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def structure(value: Any, prefix: str = "$") -> dict[str, str]:
    """``{key path: kind}`` of a decoded JSON value; list items share the path ``[]``."""
    out = {prefix: kind(value)}
    if isinstance(value, dict):
        for key, item in value.items():
            out.update(structure(item, f"{prefix}.{key}"))
    elif isinstance(value, list):
        for item in value:
            for path, item_kind in structure(item, f"{prefix}[]").items():
                out.setdefault(path, item_kind)
    return out


def merged_structure(values: list[Any], prefix: str = "$") -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for value in values:
        for path, item_kind in structure(value, prefix).items():
            out.setdefault(path, set()).add(item_kind)
    return out


def unknown_fields(ours: Any, recorded: list[Any], also_known: dict[str, set[str]] | None = None
                   ) -> list[str]:
    """Key paths of ``ours`` that no recorded body has, or has with another kind.

    ``also_known`` adds paths known from elsewhere (e.g. the attributes of the object
    EasyPost returned, re-rooted under the request's envelope). ``null`` on either side
    is compatible with any kind (EasyPost returns ``null`` for unset attributes)."""
    if not recorded:
        raise AssertionError("nothing recorded to compare with")
    known = merged_structure(recorded)
    for path, kinds in (also_known or {}).items():
        known.setdefault(path, set()).update(kinds)
    problems = []
    for path, item_kind in structure(ours).items():
        kinds = known.get(path)
        if kinds is None:
            problems.append(f"{path} ({item_kind}) never recorded")
        elif item_kind != "null" and "null" not in kinds and item_kind not in kinds:
            problems.append(f"{path} is {item_kind}, recorded as {'/'.join(sorted(kinds))}")
    return problems


def missing_core(ours: Any, recorded: list[Any], max_depth: int = 2) -> list[str]:
    """Key paths (at most ``max_depth`` keys deep) that EVERY recorded body has and ours
    lacks: the envelope and the objects the partner always received."""
    if not recorded:
        raise AssertionError("nothing recorded to compare with")
    core = set.intersection(*(set(structure(body)) for body in recorded))
    mine = set(structure(ours))
    return sorted(p for p in core if p.count(".") <= max_depth and p not in mine)
