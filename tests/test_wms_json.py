"""shipsync.wms.json_format: schema-validated documents and webhook bodies."""

import json
import sys
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from shipsync.wms import json_format
from shipsync.wms.messages import FormatError

FIXTURES = Path(__file__).parent / "fixtures" / "wms"
sys.path.insert(0, str(FIXTURES))
from wms_strategies import (  # noqa: E402
    confirmation_batches,
    confirmations,
    release_batches,
    stock_lines,
)


@pytest.mark.parametrize(
    "name", ["wms-release-v1", "wms-confirmation-v1", "wms-stock-v1", "wms-webhook-v1"]
)
def test_schemas_are_valid_draft_2020_12(name):
    schema = json_format.load_schema(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$id"].endswith(f"/{name}.json")


@given(release_batches)
def test_release_round_trip(orders):
    assert json_format.read_releases(json_format.write_releases(orders)) == orders


@given(confirmation_batches())
def test_confirmation_round_trip(confs):
    assert json_format.read_confirmations(json_format.write_confirmations(confs)) == confs


@given(st.lists(stock_lines, max_size=5))
def test_stock_round_trip(lines):
    data = json_format.write_stock(lines, taken_at="2024-05-01T00:00:00Z")
    assert json_format.read_stock(data) == lines


@given(confirmations())
def test_webhook_round_trip(conf):
    assert json_format.parse_webhook(json_format.write_webhook(conf)) == conf


def test_reads_fixture_with_defaults_for_optional_fields():
    [conf] = json_format.read_confirmations((FIXTURES / "confirmations.json").read_bytes())
    assert conf.kind == "return_received" and conf.condition_code == "DAMAGED"
    assert conf.occurred_at == datetime(2024, 5, 9, 8, tzinfo=timezone.utc)
    assert conf.lines[0].quantity == Decimal("1") and conf.packages == ()
    assert conf.correlation_id == ""


def test_schema_errors_are_all_listed_with_their_json_path():
    with pytest.raises(FormatError) as info:
        json_format.read_confirmations((FIXTURES / "confirmations_bad.json").read_bytes())
    text = "\n".join(message for _, message in info.value.errors)
    assert "$.confirmations[0].kind" in text
    assert "$.confirmations[0].lines[0].quantity" in text
    assert "$.confirmations[1]: 'order_ref' is a required property" in text
    assert "$.confirmations[1].lines[0].quantity" in text
    assert len(info.value.errors) == 4


def test_semantic_errors_after_schema_carry_the_item_path():
    doc = {
        "schema": "wms-release-v1",
        "orders": [
            {"order_ref": "A", "revision": 1, "action": "create", "lines": [],
             "requested_date": "2024-02-30"},
        ],
    }  # fmt: skip
    with pytest.raises(FormatError, match=r"\$\.orders\[0\]: .*requested_date"):
        json_format.read_releases(json.dumps(doc).encode())


def test_syntax_error_has_a_line_number():
    with pytest.raises(FormatError) as info:
        json_format.read_stock(b'{\n  "schema": "wms-stock-v1",\n  "lines": [,]\n}')
    assert info.value.errors[0][0] == 3


def test_wrong_document_kind_is_rejected():
    with pytest.raises(FormatError, match="schema"):
        json_format.read_confirmations(json_format.write_stock([]))


def test_unknown_fields_are_rejected():
    doc = json.loads(json_format.write_stock([]))
    doc["lines"] = [{"product_code": "P", "quantity": "1", "qty_typo": "2"}]
    with pytest.raises(FormatError, match="qty_typo"):
        json_format.read_stock(json.dumps(doc))


def test_webhook_body_is_validated():
    with pytest.raises(FormatError, match="kind"):
        json_format.parse_webhook(
            {"message_id": "m", "kind": "lost", "order_ref": "o",
             "occurred_at": "2024-05-01T10:00:00Z"}
        )  # fmt: skip
