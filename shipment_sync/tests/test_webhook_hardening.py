"""Inputs that used to answer 500, each over real HTTP: a precise 4xx (or 2xx)
with a machine-readable code, the request recorded, nothing changed. Also the
limits per partner (two companies sharing one partner code)."""

from odoo.tests import HttpCase, tagged

from odoo.addons.shipment_sync.controllers.main import _buckets

from .common import WHSEC, ShipmentSyncCommon, canonical_event, envelope

WHSEC_B = "whsec_" + "Y29tcGFueS1iLXNlY3JldC1rZXktMDEyMzQ1Njc4OQ=="


def easypost_tracker(tracking_code, scans, evt_id="evt_hard"):
    """A tracker.updated Event shaped as EasyPost sends it (see the EasyPost
    partner readme for the source): one TrackingDetail per scan."""
    details = [{
        "object": "TrackingDetail", "message": f"Arrived at facility {i}",
        "description": "", "status": "in_transit", "status_detail": "arrived_at_facility",
        "datetime": f"2026-11-{1 + i // 1440:02d}T{i // 60 % 24:02d}:{i % 60:02d}:00Z",
        "source": "USPS", "carrier_code": "",
        "tracking_location": {"object": "TrackingLocation", "city": "Reno", "state": "NV",
                              "country": "US", "zip": "89501-1234"},
    } for i in range(scans)]
    return {
        "id": evt_id, "object": "Event", "mode": "test", "description": "tracker.updated",
        "created_at": "2026-11-02T10:00:00Z", "updated_at": "2026-11-02T10:00:00Z",
        "result": {
            "id": f"trk_{evt_id}", "object": "Tracker", "mode": "test",
            "tracking_code": tracking_code, "status": "in_transit", "carrier": "USPS",
            "signed_by": "Ada Lovelace", "tracking_details": details,
        },
    }


class HardeningCase(ShipmentSyncCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_shipment_sync()

    def setUp(self):
        super().setUp()
        _buckets.reset()

    def post(self, code, body, headers=None):
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        return self.opener.post(f"{self.base_url()}/shipment_sync/webhook/{code}", data=body,
                                headers=hdrs, allow_redirects=False, timeout=120)

    def post_signed(self, payload, partner=None, secret=WHSEC):
        body = payload if isinstance(payload, bytes) else self.dumps(payload)
        return self.post((partner or self.partner).code, body,
                         self.sign_standard(body, secret=secret))

    def post_easypost(self, payload):
        body = payload if isinstance(payload, bytes) else self.dumps(payload)
        return self.post(self.carrier.code, body, self.sign_easypost(body))

    def assertAnswer(self, response, status, code, message_part=None):
        self.assertEqual(response.status_code, status, response.text[:500])
        data = response.json()
        self.assertEqual(data["code"], code, data)
        self.assertEqual(data["status"], "rejected" if status >= 400 else data["status"])
        if message_part:
            self.assertIn(message_part, data["message"])
        return data

    def ledger_count(self):
        return self.env["shipment.sync.event"].search_count([])

    def last_rejection(self):
        return self.env["shipment.sync.event"].search(
            [("state", "=", "rejected")], order="id desc", limit=1)

    def assertRefusedAndRecorded(self, response, status, code, message_part=None, before=None):
        data = self.assertAnswer(response, status, code, message_part)
        rejection = self.last_rejection()
        self.assertEqual((rejection.http_status, rejection.error_code), (status, code))
        if before is not None:
            self.assertEqual(self.ledger_count(), before + 1, "only the rejection is stored")
        self.assertEqual(self.picking.shipment_milestone, "draft", "nothing applied")
        return data, rejection


@tagged("post_install", "-at_install")
class TestWebhookHardening(HardeningCase):
    def test_deep_nesting_is_400_invalid_json(self):
        for depth in (100, 5000, 100000):
            before = self.ledger_count()
            body = b'{"a": ' * depth + b"1" + b"}" * depth
            self.assertRefusedAndRecorded(self.post_signed(body), 400, "invalid_json",
                                          "deeper than 64 levels", before)
        deep_array = b'{"schema_version": "1", "events": ' + b"[" * 3000 + b"]" * 3000 + b"}"
        self.assertRefusedAndRecorded(self.post_signed(deep_array), 400, "invalid_json",
                                      "deeper than 64 levels")

    def test_nul_surrogate_or_huge_partner_code_is_404_before_any_query(self):
        body = self.dumps(envelope(canonical_event(self.picking.name, "picked")))
        for raw_code, shown in (("wms%00x", "wms\\x00x"), ("%ED%A0%80ab", None),
                                ("a" * 5000, "a" * 64), ("WMS-UPPER", "WMS-UPPER"),
                                (self.partner.code + "%0A", None)):
            before = self.ledger_count()
            data, rejection = self.assertRefusedAndRecorded(
                self.post(raw_code, body, self.sign_standard(body)), 404, "unknown_partner",
                "No active partner", before)
            self.assertFalse(rejection.partner_id)
            if shown:
                self.assertEqual(rejection.partner_code, shown)

    def test_over_long_references_are_schema_violation_not_index_errors(self):
        for field in ("id", "picking_ref", "tracking_number", "correlation_id", "code"):
            event = canonical_event(self.picking.name, "picked")
            event[field] = "x" * 3000
            before = self.ledger_count()
            data, _rejection = self.assertRefusedAndRecorded(
                self.post_signed(envelope(event)), 400, "schema_violation", None, before)
            self.assertIn(f"$.events[0].{field}", data["message"])
            self.assertIn("longer than", data["message"])
        # A partner format whose schema sets no length: the ingest rule catches it.
        before = self.ledger_count()
        data, _rejection = self.assertRefusedAndRecorded(
            self.post_easypost(easypost_tracker("Z" * 3000, 2)), 400, "schema_violation",
            "tracking_number of event 1 is 3000 characters long", before)

    def test_lone_surrogates_and_nul_are_invalid_character(self):
        cases = [
            (b'{"schema_version": "1", "events": [{"id": "\\ud800x", "occurred_at": '
             b'"2026-11-02T08:00:00Z", "milestone": "picked"}]}', "$.events[0].id",
             "lone surrogate"),
            (b'{"schema_version": "1", "events": [], "\\udfff": 1}', "$", "lone surrogate"),
            (self.dumps(envelope(canonical_event(self.picking.name, "picked",
                                                 message="bad\u0000byte"))),
             "$.events[0].message", "NUL"),
        ]
        for body, path, what in cases:
            before = self.ledger_count()
            data, rejection = self.assertRefusedAndRecorded(
                self.post_signed(body), 400, "invalid_character", what, before)
            self.assertTrue(data["message"].startswith(path + ":"), data["message"])
            self.assertTrue(rejection.sudo().raw_body, "the body is kept for the audit")
        # The EasyPost dialect goes through the same parser.
        body = self.dumps(easypost_tracker("EZ1", 1)).replace(b"Reno", b"Re\\ud800no")
        self.assertAnswer(self.post_easypost(body), 400, "invalid_character")

    def test_body_cut_in_a_value_is_400_and_recorded_masked(self):
        payload = envelope(canonical_event(self.picking.name, "picked"))
        payload["recipient"] = {"city": "Paris", "name": "Ada Lovelace-Byron"}
        text = self.dumps(payload)
        for cut in (text.index(b"Lovelace") + 3, len(text) - 2, len(text) // 2, 1):
            before = self.ledger_count()
            _data, rejection = self.assertRefusedAndRecorded(
                self.post_signed(text[:cut]), 400, "invalid_json", "not valid JSON", before)
            self.assertNotIn("Lovel", rejection.sudo().raw_body or "")

    def test_easypost_tracker_over_256_kb_with_1200_scans_is_accepted(self):
        """The stored copy of a body over 256 KB is cut, the cut lands in a
        value, and the masking of the cut copy used to raise."""
        self.picking.carrier_tracking_ref = "EZ4000000001"
        self.carrier.max_payload_kb = 2048
        payload = easypost_tracker("EZ4000000001", 1200)
        body = self.dumps(payload)
        self.assertGreater(len(body), 256 * 1024)
        data = self.assertAnswer(self.post_easypost(body), 202, "accepted")
        self.assertEqual(len(data["event_ids"]), 1200)
        events = self.env["shipment.sync.event"].browse(data["event_ids"])
        first = events.filtered("raw_body")
        self.assertEqual(len(first), 1)
        self.assertTrue(first.body_truncated)
        self.assertNotIn("Lovelace", first.sudo().raw_body)
        self.assertEqual(set(events.mapped("location")), {"Reno, NV, 89***, US"})
        self.assertEqual(self.picking.shipment_milestone, "in_transit")
        # Sent again (EasyPost retries): every scan is a duplicate, still no 500.
        self.assertAnswer(self.post_easypost(body), 200, "duplicate")

    def test_huge_signature_timestamp_is_401_not_overflow(self):
        body = self.dumps(envelope(canonical_event(self.picking.name, "picked")))
        headers = {"webhook-id": "msg_1", "webhook-timestamp": "9" * 400,
                   "webhook-signature": "v1,AAAA"}
        self.assertRefusedAndRecorded(self.post(self.partner.code, body, headers), 401,
                                      "invalid_signature")


@tagged("post_install", "-at_install")
class TestLimitsPerPartner(HardeningCase):
    """One partner code in two companies: each partner its own bucket and its
    own size limit, applied once the signature told which one is calling."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_b = cls.env["res.company"].create({"name": "Shipment Sync Company B"})
        cls.partner.write({"rate_limit_per_minute": 6, "rate_limit_burst": 2,
                           "max_payload_kb": 1})
        cls.partner_b = cls.env["shipment.sync.partner"].create({
            "name": "Test WMS (B)", "code": cls.partner.code, "kind": "wms",
            "inbound_format": "canonical", "signature_scheme": "standard_webhooks",
            "webhook_secret": WHSEC_B, "processing_mode": "inline",
            "company_id": cls.company_b.id, "rate_limit_per_minute": 6,
            "rate_limit_burst": 2, "max_payload_kb": 64,
        })

    def event(self, **extra):
        return envelope(canonical_event(self.picking.name, "picked", **extra))

    def test_company_b_is_not_throttled_by_company_a(self):
        answers_a = [self.post_signed(self.event()) for _i in range(3)]
        self.assertEqual([a.status_code for a in answers_a], [202, 202, 429])
        self.assertGreaterEqual(int(answers_a[2].headers["Retry-After"]), 1)
        self.assertEqual(self.last_rejection().partner_id, self.partner,
                         "the refusal is recorded on the partner that sent it")
        answers_b = [self.post_signed(self.event(), partner=self.partner_b, secret=WHSEC_B)
                     for _i in range(2)]
        self.assertEqual([a.status_code for a in answers_b], [202, 202],
                         [a.text for a in answers_b])
        self.assertAnswer(self.post_signed(self.event(), partner=self.partner_b,
                                           secret=WHSEC_B), 429, "rate_limited")
        self.assertEqual(self.last_rejection().partner_id, self.partner_b)

    def test_each_partner_its_own_size_limit(self):
        big = self.event(message="x" * 1500)
        self.assertAnswer(self.post_signed(big, partner=self.partner_b, secret=WHSEC_B), 202,
                          "accepted")
        self.assertAnswer(self.post_signed(big), 413, "payload_too_large")
        self.assertEqual(self.last_rejection().partner_id, self.partner)
        self.assertEqual(self.picking.shipment_milestone, "draft", "A's event refused")

    def test_unsigned_flood_meets_the_coarse_bucket_of_the_code(self):
        (self.partner | self.partner_b).rate_limit_per_minute = 1
        body = self.dumps(self.event())
        codes = [self.post(self.partner.code, body).json()["code"] for _i in range(20)]
        # 4 x (2 + 2) requests pass the coarse bucket (and fail their signature),
        # the bucket refills at 4 x (1 + 1) a minute.
        self.assertEqual(codes[:16], ["missing_signature"] * 16)
        self.assertIn("rate_limited", codes[16:])
        self.assertFalse(self.last_rejection().partner_id)
