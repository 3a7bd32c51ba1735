"""Fuzzing the real webhook route over HTTP: hypothesis strategies over bytes,
JSON shapes, headers, content types and URL paths, then schemathesis driven by
the OpenAPI document the route serves. Zero 5xx, zero tracebacks in the log.

The budget is ``SHIPSYNC_FUZZ_EXAMPLES`` examples per strategy (``make test``:
a small default; ``make fuzz``: many more). Each run logs its figures
(``fuzz <strategy>: N cases, 0 5xx, statuses {...}``)."""

import json
import logging
import os
import uuid
from collections import Counter
from contextlib import contextmanager
from urllib.parse import quote

import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from odoo.tests import HttpCase, tagged

from odoo.addons.shipment_sync.controllers.main import _buckets

from shipsync import signatures

from .common import WHSEC, ShipmentSyncCommon

_logger = logging.getLogger(__name__)
EXAMPLES = int(os.environ.get("SHIPSYNC_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))

# What an HTTP client can send in a header value (requests refuses a leading blank).
HEADER_TEXT = st.text(st.characters(max_codepoint=255, blacklist_characters="\r\n\x00"),
                      max_size=80).map(str.lstrip)
JSON_LEAF = (st.none() | st.booleans() | st.integers(-2**70, 2**70)
             | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40))
JSON = st.recursive(JSON_LEAF, lambda inner: st.lists(inner, max_size=5)
                    | st.dictionaries(st.text(max_size=12), inner, max_size=5), max_leaves=25)
WHEN = st.sampled_from(["2026-11-02T08:00:00Z", "2026-11-02T08:00:00.123+02:00", "9999-12-31",
                        "2026-02-30T00:00:00Z", "yesterday", "", "0000-01-01T00:00:00Z"])
MILESTONES = st.sampled_from(["picked", "packed", "in_transit", "delivered", "teleported", ""])


def text_or_any(strategy):
    return strategy | JSON_LEAF


CANONICAL_EVENT = st.fixed_dictionaries({}, optional={
    "id": text_or_any(st.text(max_size=300)), "occurred_at": text_or_any(WHEN),
    "milestone": text_or_any(MILESTONES), "code": text_or_any(st.text(max_size=200)),
    "subcode": st.text(max_size=20), "exception_reason": st.text(max_size=20),
    "tracking_number": text_or_any(st.text(max_size=300)), "picking_ref": st.text(max_size=40),
    "correlation_id": st.text(max_size=40), "message": st.text(max_size=300),
    "location": st.text(max_size=80), "carrier_eta": text_or_any(WHEN), "extra": JSON,
})
CANONICAL = st.fixed_dictionaries(
    {"events": st.lists(CANONICAL_EVENT, max_size=4) | JSON},
    optional={"schema_version": st.sampled_from(["1", "2", 1, 2, "3", None, ""]),
              "sent_at": text_or_any(WHEN)})
# Valid envelopes with any text where text goes: they reach the ledger and the apply.
VALID_EVENT = st.fixed_dictionaries({
    "id": st.text(min_size=1, max_size=120), "occurred_at": st.just("2026-11-02T08:00:00Z"),
    "milestone": st.sampled_from(["picked", "packed", "in_transit", "delivered"]),
    "picking_ref": st.text(min_size=1, max_size=60),
}, optional={"message": st.text(max_size=500), "location": st.text(max_size=120),
             "tracking_number": st.text(max_size=80), "correlation_id": st.text(max_size=80)})
VALID_CANONICAL = st.fixed_dictionaries({
    "schema_version": st.just("1"), "events": st.lists(VALID_EVENT, min_size=1, max_size=3)})
EASYPOST = st.fixed_dictionaries({
    "description": st.sampled_from(["tracker.updated", "tracker.created", "batch.created"])
    | st.text(max_size=20),
    "result": st.fixed_dictionaries({}, optional={
        "id": st.text(max_size=20), "tracking_code": text_or_any(st.text(max_size=300)),
        "status": st.text(max_size=20), "est_delivery_date": text_or_any(WHEN),
        "tracking_details": st.lists(st.fixed_dictionaries({}, optional={
            "status": st.text(max_size=30), "status_detail": st.text(max_size=30),
            "datetime": text_or_any(WHEN), "message": st.text(max_size=100),
            "tracking_location": st.dictionaries(
                st.sampled_from(["city", "state", "zip", "country"]), JSON_LEAF)}), max_size=4)
        | JSON,
    }) | JSON,
}, optional={"id": st.text(max_size=30), "object": st.just("Event")})


class ServerErrorLog(logging.Handler):
    """Keeps every record at ERROR or above, or carrying a traceback."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        if record.levelno >= logging.ERROR or record.exc_info:
            self.records.append(f"{record.name}: {record.getMessage()[:300]}")


@tagged("post_install", "-at_install", "shipsync_fuzz")
class TestWebhookFuzz(ShipmentSyncCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_shipment_sync()
        (cls.partner | cls.carrier).write({"rate_limit_per_minute": 0})
        cls.limited = cls.env["shipment.sync.partner"].create({
            "name": "Fuzz limited", "code": f"lim-{uuid.uuid4().hex[:6]}", "kind": "wms",
            "inbound_format": "canonical", "webhook_secret": WHSEC,
            "rate_limit_per_minute": 30, "rate_limit_burst": 5, "max_payload_kb": 2})

    def setUp(self):
        super().setUp()
        _buckets.reset()
        self.stats = Counter()

    @contextmanager
    def watching(self, name):
        """Count the answers; fail on any 5xx or any error/traceback logged."""
        handler = ServerErrorLog()
        root = logging.getLogger()
        root.addHandler(handler)
        self.stats = Counter()
        try:
            yield
        finally:
            root.removeHandler(handler)
        cases = sum(self.stats.values())
        server_errors = sum(n for status, n in self.stats.items() if status >= 500)
        _logger.info("fuzz %s: %d cases, %d 5xx, statuses %s", name, cases, server_errors,
                     dict(sorted(self.stats.items())))
        self.assertEqual(server_errors, 0, dict(self.stats))
        self.assertEqual(handler.records, [], "tracebacks or errors in the log")
        self.assertGreaterEqual(cases, min(EXAMPLES, 10))

    def send(self, code, body, headers):
        response = self.opener.post(f"{self.base_url()}/shipment_sync/webhook/{code}",
                                    data=body, headers=headers, allow_redirects=False,
                                    timeout=60)
        self.stats[response.status_code] += 1
        self.assertLess(response.status_code, 500, (code[:80], body[:200], headers))
        if response.headers.get("Content-Type", "").startswith("application/json"):
            answer = response.json()
            self.assertTrue(answer["code"] and answer["message"], answer)
        return response

    def signed(self, body, partner=None):
        partner = partner or self.partner
        if partner.signature_scheme == "easypost":
            headers = self.sign_easypost(body)
        else:
            headers = self.sign_standard(body)
        return {"Content-Type": "application/json", **headers}

    # --- hypothesis over the route ------------------------------------------------
    def test_signed_random_bytes(self):
        @FUZZ
        @given(body=st.binary(max_size=3000), partner=st.sampled_from(["partner", "carrier"]))
        def case(body, partner):
            partner = getattr(self, partner)
            self.send(partner.code, body, self.signed(body, partner))

        with self.watching("bytes"):
            case()

    def test_signed_json_shapes(self):
        @FUZZ
        @given(payload=VALID_CANONICAL | CANONICAL | EASYPOST | JSON,
               target=st.sampled_from(["partner", "carrier", "limited"]))
        def case(payload, target):
            partner = getattr(self, target)
            if isinstance(payload, dict) and "schema_version" in payload \
                    and target == "carrier":
                partner = self.partner
            body = json.dumps(payload).encode()
            self.send(partner.code, body, self.signed(body, partner))

        with self.watching("json"):
            case()

    def test_headers_and_content_types(self):
        names = st.sampled_from([
            "webhook-id", "webhook-timestamp", "webhook-signature", "svix-signature",
            "X-Hmac-Signature", "aftership-hmac-sha256", "Content-Length-X", "X-Request-Id"])

        @FUZZ
        @given(headers=st.dictionaries(names, HEADER_TEXT, max_size=5),
               ctype=st.sampled_from(["application/json", "application/json; charset=latin-1",
                                      "text/plain", "application/x+json", ""]) | HEADER_TEXT,
               keep_signature=st.booleans(), timestamp=st.integers(-2**70, 2**70))
        def case(headers, ctype, keep_signature, timestamp):
            body = json.dumps({"schema_version": "1", "events": []}).encode()
            sent = dict(self.signed(body)) if keep_signature else {}
            sent.update(headers)
            if not keep_signature and "webhook-id" in headers:
                sent["webhook-timestamp"] = str(timestamp)
            sent["Content-Type"] = ctype
            self.send(self.partner.code, body, sent)

        with self.watching("headers"):
            case()

    def test_url_paths(self):
        @FUZZ
        @given(code=st.text(max_size=80) | st.sampled_from(["", "a", "%00", "..", "x" * 70]),
               suffix=st.sampled_from(["", "/", "/x", "?a=1", "#f"]))
        def case(code, suffix):
            body = json.dumps({"schema_version": "1", "events": []}).encode()
            path = quote(code, safe="") + suffix
            self.send(path, body, self.signed(body))

        with self.watching("paths"):
            case()

    # --- schemathesis against the served OpenAPI document ---------------------------
    def test_schemathesis_against_the_served_document(self):
        import schemathesis
        from schemathesis.checks import not_a_server_error

        schema = schemathesis.openapi.from_url(f"{self.base_url()}/shipment_sync/openapi.json")
        operation = schema["/shipment_sync/webhook/{partner_code}"]["POST"]
        test = self

        class Sign(requests.auth.AuthBase):
            """Signs the bytes schemathesis serialized, for a real partner."""

            def __init__(self, partner):
                self.partner = partner

            def __call__(self, prepared):
                body = prepared.body or b""
                body = body.encode() if isinstance(body, str) else body
                if self.partner.signature_scheme == "easypost":
                    prepared.headers.update(signatures.make_verifier(
                        "easypost", ["ep-secret"]).headers(body))
                else:
                    prepared.headers.update(test.sign_standard(body))
                return prepared

        @FUZZ
        @given(case=operation.as_strategy(),
               target=st.sampled_from(["partner", "carrier", None]))
        def run(case, target):
            auth = None
            if target:
                partner = getattr(self, target)
                case.path_parameters = {"partner_code": partner.code}
                auth = Sign(partner)
            response = case.call(base_url=self.base_url(), session=self.opener, auth=auth,
                                 allow_redirects=False, timeout=60)
            if target:
                self.assertNotEqual(response.status_code, 404, case.formatted_path)
            self.stats[response.status_code] += 1
            case.validate_response(response, checks=[not_a_server_error])
            self.assertLess(response.status_code, 500)
            documented = operation.definition.raw["responses"]
            self.assertIn(str(response.status_code), documented, response.text[:300])

        with self.watching("schemathesis"):
            run()
