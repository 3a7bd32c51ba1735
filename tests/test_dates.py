"""One parse_datetime (shipsync.dates) at three strictness levels, each pinned as the
three functions it replaced behaved: webhooks (strict), WMS (offset), our adapters
(lenient)."""

from datetime import UTC, datetime

import pytest

from shipsync import normalizers
from shipsync.dates import parse_datetime
from shipsync.schemas import SCHEMA_VIOLATION, PayloadError

TEN = datetime(2024, 5, 1, 10, tzinfo=UTC)


def test_the_webhook_import_is_the_one_function_at_its_strict_level():
    assert normalizers.parse_datetime is parse_datetime
    assert parse_datetime("2024-05-01T10:00:00") == TEN  # naive is UTC
    assert parse_datetime("2024-05-01") == datetime(2024, 5, 1, tzinfo=UTC)
    assert parse_datetime(None) is None and parse_datetime("") is None
    with pytest.raises(PayloadError) as err:
        parse_datetime("1714557600", "$.at")  # no epoch numbers from partners' webhooks
    assert (err.value.code, err.value.path) == (SCHEMA_VIOLATION, "$.at")
    assert str(err.value) == "'1714557600' is not a date-time"


@pytest.mark.parametrize("text, message", [
    ("2024-05-01T10:00:00", "occurred_at '2024-05-01T10:00:00' has no UTC offset"),
    ("2024-05-01", "occurred_at '2024-05-01' has no UTC offset"),
    ("soon", "occurred_at 'soon' is not an ISO 8601 datetime"),
    (None, "occurred_at '' is not an ISO 8601 datetime"),
])
def test_the_wms_level_wants_an_offset(text, message):
    with pytest.raises(ValueError) as err:
        parse_datetime(text, "occurred_at", strict="offset")
    assert str(err.value) == message


def test_the_wms_level_reads_z_and_offsets():
    assert parse_datetime("2024-05-01T10:00:00z", "x", strict="offset") == TEN
    assert parse_datetime("2024-05-01T12:00:00+02:00", "x", strict="offset") == TEN


@pytest.mark.parametrize("value, expected", [
    ("2024-05-01T10:00:00Z", TEN),
    ("2024-05-01T10:00:00", TEN),
    (1714557600, TEN),
    ("1714557600", TEN),
    (1714557600000, TEN),  # milliseconds
    (datetime(2024, 5, 1, 10), TEN),
    ("soon", None),
    ("", None),
    (None, None),
])
def test_the_adapter_level_is_lenient(value, expected):
    assert parse_datetime(value, strict=False) == expected
