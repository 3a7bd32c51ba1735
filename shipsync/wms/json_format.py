"""WMS file exchange in JSON, validated with the schemas in ``shipsync/schemas``.

Documents (UTF-8, optional BOM):

- ``{"schema": "wms-release-v1", "orders": [ReleaseOrder.to_dict(), ...]}``
  (``wms-release-v1.json``)
- ``{"schema": "wms-confirmation-v1", "confirmations": [Confirmation.to_dict(), ...]}``
  (``wms-confirmation-v1.json``)
- ``{"schema": "wms-stock-v1", "taken_at": ..., "lines": [StockSnapshotLine.to_dict(), ...]}``
  (``wms-stock-v1.json``)
- a webhook body is one confirmation object (``wms-webhook-v1.json``): see
  :func:`parse_webhook`.

Decimals are strings with ``.`` decimals, dates ``YYYY-MM-DD``, datetimes ISO 8601
with a UTC offset. Readers validate the whole document first and raise
:class:`FormatError` listing every violation with its JSON path (``$.orders[0].lines[1]
.quantity: ...``); a syntax error carries its line number.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from .messages import Confirmation, FormatError, ReleaseOrder, StockSnapshotLine

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"
RELEASE_SCHEMA = "wms-release-v1"
CONFIRMATION_SCHEMA = "wms-confirmation-v1"
STOCK_SCHEMA = "wms-stock-v1"
WEBHOOK_SCHEMA = "wms-webhook-v1"


@cache
def _registry() -> Registry:
    resources = []
    for path in sorted(SCHEMA_DIR.glob("wms-*.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources.append((contents["$id"], Resource.from_contents(contents)))
    return Registry().with_resources(resources)


@cache
def load_schema(name: str) -> dict:
    """The JSON Schema ``name`` (e.g. ``"wms-release-v1"``) as a dict."""
    return json.loads((SCHEMA_DIR / f"{name}.json").read_text(encoding="utf-8"))


@cache
def _validator(name: str) -> Draft202012Validator:
    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, registry=_registry())


def validate(name: str, document) -> None:
    """Raise :class:`FormatError` listing every schema violation with its JSON path."""
    errors = sorted(_validator(name).iter_errors(document), key=lambda e: e.json_path)
    if errors:
        raise FormatError([(0, f"{e.json_path}: {e.message}") for e in errors])


def _load(data: bytes | str):
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FormatError([(0, f"not valid UTF-8 at byte {exc.start}")]) from None
    try:
        return json.loads(data)
    except json.JSONDecodeError as exc:
        raise FormatError([(exc.lineno, f"invalid JSON: {exc.msg} (column {exc.colno})")]) from None


def _items(document: dict, key: str, cls) -> list:
    values, errors = [], []
    for index, item in enumerate(document[key]):
        try:
            values.append(cls.from_dict(item))
        except FormatError as exc:
            errors.extend((0, f"$.{key}[{index}]: {msg}") for _, msg in exc.errors)
    if errors:
        raise FormatError(errors)
    return values


def _dump(document: dict) -> bytes:
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def write_releases(orders: Iterable[ReleaseOrder]) -> bytes:
    return _dump({"schema": RELEASE_SCHEMA, "orders": [o.to_dict() for o in orders]})


def read_releases(data: bytes | str) -> list[ReleaseOrder]:
    document = _load(data)
    validate(RELEASE_SCHEMA, document)
    return _items(document, "orders", ReleaseOrder)


def write_confirmations(confirmations: Iterable[Confirmation]) -> bytes:
    items = [c.to_dict() for c in confirmations]
    return _dump({"schema": CONFIRMATION_SCHEMA, "confirmations": items})


def read_confirmations(data: bytes | str) -> list[Confirmation]:
    document = _load(data)
    validate(CONFIRMATION_SCHEMA, document)
    return _items(document, "confirmations", Confirmation)


def write_stock(lines: Iterable[StockSnapshotLine], taken_at: str | None = None) -> bytes:
    items = [line.to_dict() for line in lines]
    return _dump({"schema": STOCK_SCHEMA, "taken_at": taken_at, "lines": items})


def read_stock(data: bytes | str) -> list[StockSnapshotLine]:
    document = _load(data)
    validate(STOCK_SCHEMA, document)
    return _items(document, "lines", StockSnapshotLine)


def write_webhook(confirmation: Confirmation) -> bytes:
    """One confirmation as a webhook body (what a WMS API, or the sandbox, POSTs)."""
    return json.dumps(confirmation.to_dict(), ensure_ascii=False).encode("utf-8")


def parse_webhook(body: bytes | str | dict) -> Confirmation:
    """Validate a webhook body against ``wms-webhook-v1`` and return its confirmation."""
    document = body if isinstance(body, dict) else _load(body)
    validate(WEBHOOK_SCHEMA, document)
    try:
        return Confirmation.from_dict(document)
    except FormatError as exc:
        raise FormatError([(0, f"$: {msg}") for _, msg in exc.errors]) from None
