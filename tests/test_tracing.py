"""W3C Trace Context helpers (shipsync.tracing), checked against the recommendation's
own examples and rules (https://www.w3.org/TR/trace-context/, section 3.2)."""

import hashlib
import re

import pytest

from shipsync import tracing

# The example of section 3.2.2.4 of the recommendation.
W3C_EXAMPLE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_the_recommendations_example_parses():
    tp = tracing.parse_traceparent(W3C_EXAMPLE)
    assert tp.version == "00"
    assert tp.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert tp.parent_id == "00f067aa0ba902b7"
    assert tp.flags == 1 and tp.sampled
    assert tp.header() == W3C_EXAMPLE
    unsampled = tracing.parse_traceparent(W3C_EXAMPLE[:-2] + "00")
    assert not unsampled.sampled


@pytest.mark.parametrize(
    "value",
    [
        None, 42, "", "garbage",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # zero parent id
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # forbidden version
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  # upper case
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",   # 31 digits
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",  # v00 has 4 fields
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
        "0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",  # future: "-" only
        W3C_EXAMPLE + " " * 600,
        b"\xff\xfe",
    ],
)
def test_invalid_values_are_ignored(value):
    assert tracing.parse_traceparent(value) is None


def test_a_later_version_is_read_by_its_first_four_fields():
    tp = tracing.parse_traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what")
    assert tp.version == "cc" and tp.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert tp.header().startswith("00-")  # we speak version 00
    assert tracing.parse_traceparent(W3C_EXAMPLE.encode()).trace_id == tp.trace_id
    assert tracing.parse_traceparent(" " + W3C_EXAMPLE + "\t") is not None  # OWS


def test_the_trace_id_of_a_uuid_correlation_id_is_its_hex():
    corr = "7d0e5b3e-8a61-4a33-9d0f-2f6c1f0a9b12"
    assert tracing.trace_id_for(corr) == "7d0e5b3e8a614a339d0f2f6c1f0a9b12"
    assert tracing.trace_id_for(corr.upper()) == "7d0e5b3e8a614a339d0f2f6c1f0a9b12"


def test_the_trace_id_of_other_text_is_a_stable_sha256_prefix():
    assert tracing.trace_id_for("corr-1") == hashlib.sha256(b"corr-1").hexdigest()[:32]
    assert tracing.trace_id_for("corr-1") == "12423b976fe4078b3c8b6b4c279cd86e"
    assert tracing.trace_id_for("corr-1") != tracing.trace_id_for("corr-2")
    # the all-zero UUID is not a valid trace id: hashed instead
    zero = "00000000-0000-0000-0000-000000000000"
    assert tracing.trace_id_for(zero) != "0" * 32
    assert tracing.is_trace_id(tracing.trace_id_for(zero))
    assert tracing.trace_id_for(None) is None and tracing.trace_id_for("  ") is None


def test_each_call_is_a_new_span_of_the_same_trace():
    corr = "7d0e5b3e-8a61-4a33-9d0f-2f6c1f0a9b12"
    first, second = tracing.traceparent_for(corr), tracing.traceparent_for(corr)
    assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-01", first)
    a, b = tracing.parse_traceparent(first), tracing.parse_traceparent(second)
    assert a.trace_id == b.trace_id == tracing.trace_id_for(corr)
    assert a.parent_id != b.parent_id
    assert tracing.traceparent_for(corr, parent_id="00f067aa0ba902b7").endswith(
        "-00f067aa0ba902b7-01")
    assert tracing.traceparent_for(corr, sampled=False).endswith("-00")
    assert tracing.traceparent_for(None) is None
    with pytest.raises(ValueError):
        tracing.traceparent_for(corr, parent_id="0" * 16)


def test_trace_headers_carry_the_correlation_id():
    headers = tracing.trace_headers("corr-1")
    assert headers["X-Correlation-ID"] == "corr-1"
    assert tracing.parse_traceparent(headers["traceparent"]).trace_id == tracing.trace_id_for(
        "corr-1")
    assert tracing.trace_headers(None) == {} and tracing.trace_headers("") == {}


def test_with_trace_headers_adds_and_keeps():
    from shipsync.transport import HttpRequest

    req = HttpRequest("POST", "http://127.0.0.1/x", headers={"Accept": "application/json"})
    traced = tracing.with_trace_headers(req, "corr-1")
    assert traced.headers["X-Correlation-ID"] == "corr-1"
    assert tracing.parse_traceparent(traced.headers["traceparent"]).trace_id == \
        tracing.trace_id_for("corr-1")
    assert traced.headers["Accept"] == "application/json" and "traceparent" not in req.headers
    own = HttpRequest("GET", "http://127.0.0.1/x", headers={"TraceParent": W3C_EXAMPLE})
    kept = tracing.with_trace_headers(own, "corr-1")
    assert kept.headers["TraceParent"] == W3C_EXAMPLE and "traceparent" not in kept.headers
    assert tracing.with_trace_headers(req, None) is req


def test_a_uuid_trace_id_reads_back_its_correlation_id():
    corr = "7d0e5b3e-8a61-4a33-9d0f-2f6c1f0a9b12"
    assert tracing.correlation_ids_of(tracing.trace_id_for(corr)) == [corr]
    assert tracing.correlation_ids_of("nope") == []


def test_the_inbound_traceparent_is_found_in_any_header_case():
    assert tracing.inbound_traceparent({"TraceParent": W3C_EXAMPLE}).header() == W3C_EXAMPLE
    assert tracing.inbound_traceparent({"traceparent": W3C_EXAMPLE.encode()}) is not None
    assert tracing.inbound_traceparent({"traceparent": "00-bad"}) is None
    assert tracing.inbound_traceparent(None) is None and tracing.inbound_traceparent({}) is None
