"""Amazon's published Orders API v0 model (``ordersV0.json``, Swagger 2.0) read for
validation, and our transcription of the ``confirmShipment`` request schema.

* :func:`load_model` reads the model Amazon publishes in github.com/amzn/
  selling-partner-api-models (``models/orders-api-model/ordersV0.json``); it is never
  copied into this repository: tests and the sandbox read it from ``$CONTRACTS_DIR``.
* :func:`to_openapi3` is a mechanical, in-memory reading aid: openapi-core validates
  OpenAPI 3.x only, so the Swagger 2.0 document is restated as 3.0 (``definitions`` ->
  ``components/schemas``, the ``in: body`` parameter -> ``requestBody``, response
  ``schema`` and ``examples`` -> ``content``, typed parameters and headers ->
  ``schema``). No schema is changed; the contract test checks that the model's own
  examples keep their verdicts.
* :data:`CONFIRM_SHIPMENT_REQUEST` is our own JSON-schema transcription of
  ``ConfirmShipmentRequest`` (field names, types, required lists), used by the adapter
  to refuse a bad confirmation before any call and by the sandbox when the model is not
  at hand. ``tests/contracts/test_amazon_orders_contract.py`` pins it to the model.
"""

from __future__ import annotations

import copy
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

MODEL_FILE = "amazon/ordersV0.json"
CONFIRM_PATH = "/orders/v0/orders/{orderId}/shipmentConfirmation"
OPERATION_ID = "confirmShipment"

_ORDER_ITEM = {
    "type": "object",
    "required": ["orderItemId", "quantity"],
    "properties": {
        "orderItemId": {"type": "string"},
        "quantity": {"type": "integer"},
        "transparencyCodes": {"type": "array", "items": {"type": "string"}},
    },
}
#: Transcribed from ``definitions/ConfirmShipmentRequest`` and ``PackageDetail``.
CONFIRM_SHIPMENT_REQUEST: dict = {
    "type": "object",
    "required": ["marketplaceId", "packageDetail"],
    "properties": {
        "marketplaceId": {"type": "string"},
        "codCollectionMethod": {"type": "string", "enum": ["DirectPayment"]},
        "packageDetail": {
            "type": "object",
            "required": ["packageReferenceId", "carrierCode", "trackingNumber", "shipDate",
                         "orderItems"],
            "properties": {
                "packageReferenceId": {"type": "string"},
                "carrierCode": {"type": "string"},
                "carrierName": {"type": "string"},
                "shippingMethod": {"type": "string"},
                "trackingNumber": {"type": "string"},
                "shipDate": {"type": "string", "format": "date-time"},
                "shipFromSupplySourceId": {"type": "string"},
                "orderItems": {"type": "array", "items": _ORDER_ITEM},
            },
        },
    },
}


def model_path(contracts_dir: str | os.PathLike | None = None) -> Path | None:
    """``<contracts_dir or $CONTRACTS_DIR>/amazon/ordersV0.json`` when it exists."""
    raw = contracts_dir if contracts_dir is not None else os.environ.get("CONTRACTS_DIR")
    if not raw:
        return None
    path = Path(raw)
    if not path.is_absolute():
        path = Path(__file__).resolve().parents[3] / path
    path = path / MODEL_FILE
    return path if path.is_file() else None


@cache
def _read(path: str) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def load_model(path: str | os.PathLike) -> dict:
    """The published Swagger 2.0 document (parsed once per path)."""
    return _read(str(path))


def _refs(node: Any) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/definitions/"):
                out[key] = "#/components/schemas/" + value[len("#/definitions/"):]
            else:
                out[key] = _refs(value)
        return out
    if isinstance(node, list):
        return [_refs(v) for v in node]
    return node


_PARAM_SCHEMA_KEYS = ("type", "format", "items", "enum", "maxItems", "minItems", "maximum",
                      "minimum", "maxLength", "minLength", "pattern", "default")


def _parameter(param: dict) -> dict:
    if "$ref" in param:
        return param
    out = {k: v for k, v in param.items() if k not in _PARAM_SCHEMA_KEYS
           and k not in ("collectionFormat",)}
    out["schema"] = {k: v for k, v in param.items() if k in _PARAM_SCHEMA_KEYS}
    if param.get("collectionFormat") == "csv" and param.get("in") == "query":
        out["style"], out["explode"] = "form", False
    return out


def _header(header: dict) -> dict:
    out = {k: v for k, v in header.items() if k not in _PARAM_SCHEMA_KEYS}
    out["schema"] = {k: v for k, v in header.items() if k in _PARAM_SCHEMA_KEYS}
    return out


def to_openapi3(swagger: dict) -> dict:
    """The Swagger 2.0 ``swagger`` restated as OpenAPI 3.0.3 (see the module doc)."""
    doc = _refs(copy.deepcopy(swagger))
    consumes = doc.get("consumes") or ["application/json"]
    produces = doc.get("produces") or ["application/json"]
    scheme = (doc.get("schemes") or ["https"])[0]
    out = {
        "openapi": "3.0.3",
        "info": doc["info"],
        "servers": [{"url": f"{scheme}://{doc.get('host', 'localhost')}"
                            f"{doc.get('basePath', '') or ''}"}],
        "paths": {},
        "components": {"schemas": doc.get("definitions") or {}},
    }
    for path, item in (doc.get("paths") or {}).items():
        new_item = {}
        for method, op in item.items():
            if method == "parameters":
                new_item[method] = [_parameter(p) for p in op if p.get("in") != "body"]
                continue
            new_op = {k: v for k, v in op.items()
                      if k not in ("parameters", "responses", "consumes", "produces")}
            params = []
            for param in op.get("parameters") or []:
                if param.get("in") == "body":
                    new_op["requestBody"] = {
                        "required": bool(param.get("required")),
                        "description": param.get("description", ""),
                        "content": {ct: {"schema": param["schema"]}
                                    for ct in op.get("consumes") or consumes},
                    }
                else:
                    params.append(_parameter(param))
            if params:
                new_op["parameters"] = params
            responses = {}
            for status, resp in (op.get("responses") or {}).items():
                new_resp = {k: v for k, v in resp.items()
                            if k not in ("schema", "headers", "examples")}
                new_resp.setdefault("description", "")
                if "schema" in resp:
                    examples = resp.get("examples") or {}
                    new_resp["content"] = {
                        ct: {"schema": resp["schema"],
                             **({"example": examples[ct]} if ct in examples else {})}
                        for ct in op.get("produces") or produces}
                if resp.get("headers"):
                    new_resp["headers"] = {n: _header(h) for n, h in resp["headers"].items()}
                responses[status] = new_resp
            new_op["responses"] = responses
            new_item[method] = new_op
        out["paths"][path] = new_item
    return out


@cache
def _openapi(path: str):
    from openapi_core import OpenAPI  # test / sandbox dependency, loaded on use

    return OpenAPI.from_dict(to_openapi3(_read(path)))


def openapi(path: str | os.PathLike):
    """openapi-core's ``OpenAPI`` of the published model (cached per path)."""
    return _openapi(str(path))


def sandbox_examples(swagger: dict, path: str = CONFIRM_PATH, method: str = "post"):
    """``(status, order_id, body, response)`` of the model's own ``x-amzn-api-sandbox``
    static examples of an operation (the facts fixtures are written from)."""
    op = swagger["paths"][path][method]
    for status, resp in op["responses"].items():
        for case in (resp.get("x-amzn-api-sandbox") or {}).get("static") or ():
            params = case["request"]["parameters"]
            yield (int(status), params["orderId"]["value"], params["body"]["value"],
                   case.get("response"))
