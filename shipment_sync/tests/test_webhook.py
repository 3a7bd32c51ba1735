"""Real signed HTTP requests against /shipment_sync/webhook/<code>: one test
per row of the response list of the README's webhook API."""

import json
import time
from unittest.mock import patch

from odoo.tests import HttpCase, tagged

from odoo.addons.shipment_sync.controllers.main import _buckets

from shipsync import ingest
from shipsync.normalizers import CanonicalEvent

from .common import ShipmentSyncCommon, canonical_event, envelope


@tagged("post_install", "-at_install")
class TestWebhook(ShipmentSyncCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_shipment_sync()

    def setUp(self):
        super().setUp()
        _buckets.reset()

    def post(self, code, body, headers=None, content_type="application/json"):
        hdrs = {"Content-Type": content_type} if content_type else {}
        hdrs.update(headers or {})
        # opener.post, not url_open: url_open turns an empty body into a GET.
        return self.opener.post(f"{self.base_url()}/shipment_sync/webhook/{code}", data=body,
                                headers=hdrs, allow_redirects=False, timeout=30)

    def post_signed(self, payload, partner=None, **kw):
        body = payload if isinstance(payload, bytes) else self.dumps(payload)
        return self.post((partner or self.partner).code, body, self.sign_standard(body), **kw)

    def assertAnswer(self, response, status, code):
        self.assertEqual(response.status_code, status, response.text)
        data = response.json()
        self.assertEqual(data["code"], code, data)
        self.assertTrue(data["message"])
        self.assertIn("event_ids", data)
        return data

    def last_rejection(self):
        return self.env["shipment.sync.event"].search(
            [("state", "=", "rejected")], order="id desc", limit=1)

    # --- 202 / 200 -------------------------------------------------------
    def test_accepted_event_is_applied_inline(self):
        ev = canonical_event(self.picking.name, "picked")
        data = self.assertAnswer(self.post_signed(envelope(ev)), 202, "accepted")
        event = self.env["shipment.sync.event"].browse(data["event_ids"])
        self.assertEqual(event.external_id, ev["id"])
        self.assertEqual(event.state, "applied")
        self.assertEqual(event.picking_id, self.picking)
        self.assertEqual(self.picking.shipment_milestone, "picked")
        self.assertTrue(event.sudo().raw_body)

    def test_duplicate_delivery_is_applied_once(self):
        ev = canonical_event(self.picking.name, "packed")
        answers = [self.post_signed(envelope(ev)) for _i in range(5)]
        self.assertAnswer(answers[0], 202, "accepted")
        for answer in answers[1:]:
            self.assertAnswer(answer, 200, "duplicate")
        events = self.env["shipment.sync.event"].search(
            [("partner_id", "=", self.partner.id), ("external_id", "=", ev["id"])])
        self.assertEqual(sorted(events.mapped("state")), ["applied"] + ["duplicate"] * 4)
        notes = self.picking.message_ids.filtered(lambda m: "Packed" in (m.body or ""))
        self.assertEqual(len(notes), 1, "the milestone change is posted once")

    def test_async_partner_answers_202_and_cron_applies(self):
        self.partner.processing_mode = "async"
        data = self.assertAnswer(
            self.post_signed(envelope(canonical_event(self.picking.name, "released"))),
            202, "accepted")
        event = self.env["shipment.sync.event"].browse(data["event_ids"])
        self.assertEqual(event.state, "received")
        self.assertEqual(self.picking.shipment_milestone, "draft")
        self.env["shipment.sync.event"]._cron_apply_events()
        self.assertEqual(event.state, "applied")
        self.assertEqual(self.picking.shipment_milestone, "released")

    def test_message_without_shipment_events_is_ignored(self):
        body = self.dumps({"id": "evt_1", "object": "Event", "description": "batch.created",
                           "result": {"object": "Batch", "id": "batch_1"}})
        response = self.post(self.carrier.code, body, self.sign_easypost(body))
        self.assertAnswer(response, 200, "ignored_event_type")

    # --- 400 -------------------------------------------------------------
    def test_invalid_json_is_400(self):
        for body in (b"{not json", b"\xff\xfe\x00", b"[1, 2]", b"", b"null"):
            response = self.post_signed(body)
            self.assertAnswer(response, 400, "invalid_json")
        self.assertEqual(self.picking.shipment_milestone, "draft")

    def test_nul_characters_are_refused_as_invalid_character(self):
        ev = canonical_event(self.picking.name, "picked", message="bad\u0000byte")
        data = self.assertAnswer(self.post_signed(envelope(ev)), 400, "invalid_character")
        self.assertIn("$.events[0].message", data["message"])
        self.assertEqual(self.picking.shipment_milestone, "draft")

    def test_schema_violation_is_400_with_path(self):
        ev = canonical_event(self.picking.name, "picked")
        ev["occurred_at"] = "yesterday"
        data = self.assertAnswer(self.post_signed(envelope(ev)), 400, "schema_violation")
        self.assertIn("$.events[0].occurred_at", data["message"])
        bad_milestone = canonical_event(self.picking.name, "teleported")
        data = self.assertAnswer(self.post_signed(envelope(bad_milestone)), 400,
                                 "schema_violation")
        self.assertIn("$.events[0].milestone", data["message"])
        rejection = self.last_rejection()
        self.assertEqual(rejection.error_code, "schema_violation")
        self.assertTrue(rejection.sudo().raw_body, "a schema failure keeps the body for audit")
        self.assertEqual(self.picking.shipment_milestone, "draft")

    # --- 401 -------------------------------------------------------------
    def test_invalid_signature_is_401_and_body_not_stored(self):
        body = self.dumps(envelope(canonical_event(self.picking.name, "picked")))
        headers = self.sign_standard(body, secret="whsec_d3Jvbmctc2VjcmV0LWtleS0wMTIzNDU2Nzg5")
        self.assertAnswer(self.post(self.partner.code, body, headers), 401, "invalid_signature")
        rejection = self.last_rejection()
        self.assertEqual(rejection.http_status, 401)
        self.assertFalse(rejection.sudo().raw_body)
        self.assertEqual(self.picking.shipment_milestone, "draft")

    def test_tampered_body_is_401(self):
        body = self.dumps(envelope(canonical_event(self.picking.name, "picked")))
        headers = self.sign_standard(body)
        tampered = body.replace(b"picked", b"packed")
        self.assertAnswer(self.post(self.partner.code, tampered, headers), 401,
                          "invalid_signature")

    def test_stale_timestamp_is_401(self):
        body = self.dumps(envelope(canonical_event(self.picking.name, "picked")))
        headers = self.sign_standard(body, timestamp=int(time.time()) - 3600)
        self.assertAnswer(self.post(self.partner.code, body, headers), 401, "stale_timestamp")

    def test_missing_signature_is_401(self):
        body = self.dumps(envelope(canonical_event(self.picking.name, "picked")))
        self.assertAnswer(self.post(self.partner.code, body), 401, "missing_signature")

    def test_partner_without_secret_refuses_everything(self):
        self.partner.webhook_secret = False
        body = self.dumps(envelope(canonical_event(self.picking.name, "picked")))
        self.assertAnswer(self.post(self.partner.code, body, self.sign_standard(body)), 401,
                          "invalid_signature")
        self.assertEqual(self.picking.shipment_milestone, "draft")

    def test_previous_secret_still_accepted_during_rotation(self):
        self.partner.write({"webhook_secret": "whsec_bmV3LXNlY3JldC1rZXktMDEyMzQ1Njc4OWFi",
                            "webhook_secret_previous": self.partner.webhook_secret})
        self.assertAnswer(
            self.post_signed(envelope(canonical_event(self.picking.name, "picked"))),
            202, "accepted")

    # --- 404 / 413 / 415 / 429 ----------------------------------------------
    def test_unknown_and_inactive_partner_are_404(self):
        body = self.dumps(envelope(canonical_event(self.picking.name, "picked")))
        self.assertAnswer(self.post("nobody-here", body, self.sign_standard(body)), 404,
                          "unknown_partner")
        self.assertEqual(self.last_rejection().partner_code, "nobody-here")
        self.partner.active = False
        self.assertAnswer(self.post(self.partner.code, body, self.sign_standard(body)), 404,
                          "unknown_partner")

    def test_a_deeper_address_under_the_prefix_is_a_recorded_404(self):
        """Extra segments (and a NUL byte in them) never reach Odoo's fallback."""
        body = self.dumps(envelope(canonical_event(self.picking.name, "picked")))
        for path in ("%00/x", f"{self.partner.code}/x"):
            self.assertAnswer(self.post(path, body, self.sign_standard(body)), 404,
                              "unknown_partner")
            self.assertEqual(self.last_rejection().error_code, "unknown_partner")
        self.assertEqual(self.last_rejection().partner_code, f"{self.partner.code}/x")
        self.assertEqual(self.picking.shipment_milestone, "draft")

    def test_payload_too_large_is_413(self):
        self.partner.max_payload_kb = 1
        ev = canonical_event(self.picking.name, "picked", message="x" * 2000)
        self.assertAnswer(self.post_signed(envelope(ev)), 413, "payload_too_large")
        self.assertEqual(self.picking.shipment_milestone, "draft")

    def test_wrong_content_type_is_415(self):
        body = self.dumps(envelope(canonical_event(self.picking.name, "picked")))
        for ctype in ("text/plain", "application/x-www-form-urlencoded", None):
            response = self.post(self.partner.code, body, self.sign_standard(body),
                                 content_type=ctype)
            self.assertAnswer(response, 415, "unsupported_media_type")

    def test_rate_limit_is_429_with_retry_after(self):
        self.partner.write({"rate_limit_per_minute": 6, "rate_limit_burst": 2})
        answers = [
            self.post_signed(envelope(canonical_event(self.picking.name, "picked")))
            for _i in range(3)
        ]
        self.assertEqual([a.status_code for a in answers[:2]], [202, 202])
        self.assertAnswer(answers[2], 429, "rate_limited")
        self.assertGreaterEqual(int(answers[2].headers["Retry-After"]), 1)

    # --- never a 500 -------------------------------------------------------
    def test_garbage_never_gives_500(self):
        bodies = [
            b'{"schema_version": "1", "events": "nope"}',
            b'{"schema_version": "1", "events": [{}]}',
            b'{"schema_version": "1", "events": [{"id": 1, "occurred_at": 5}]}',
            json.dumps(envelope(*[canonical_event("X", "picked") for _i in range(101)])).encode(),
            b'{"schema_version": "9", "events": []}',
            b'{"a": ' * 500 + b"1" + b"}" * 500,
            "{\"schema_version\": \"1\", \"events\": [{\"id\": \"\u00e9\\ud800\"}]}".encode(),
        ]
        for body in bodies:
            response = self.post_signed(body)
            self.assertLess(response.status_code, 500, body[:80])
            self.assertEqual(response.json()["status"], "rejected")

    # --- a partner dialect: EasyPost ----------------------------------------
    def test_easypost_tracker_updated_journey(self):
        self.picking.carrier_tracking_ref = "EZ1000000001"

        def tracker_event(evt_id, details, status):
            return {
                "id": evt_id, "object": "Event", "description": "tracker.updated",
                "mode": "test", "created_at": "2026-11-02T10:00:00Z",
                "result": {
                    "id": "trk_test1", "object": "Tracker", "mode": "test",
                    "tracking_code": "EZ1000000001", "status": status, "carrier": "USPS",
                    "tracking_details": [
                        {"object": "TrackingDetail", "message": msg, "status": st,
                         "status_detail": detail, "datetime": when, "source": "USPS",
                         "tracking_location": {"object": "TrackingLocation", "city": "Reno",
                                               "state": "NV", "country": "US", "zip": None}}
                        for (st, detail, when, msg) in details
                    ],
                },
            }

        first = [("pre_transit", "label_created", "2026-11-02T08:00:00Z", "Label created"),
                 ("in_transit", "arrived_at_facility", "2026-11-02T12:00:00Z", "Arrived")]
        later = first + [("delivered", "arrived_at_destination", "2026-11-03T09:00:00Z",
                          "Delivered")]
        for payload in (tracker_event("evt_2", later, "delivered"),
                        tracker_event("evt_1", first, "in_transit")):
            body = self.dumps(payload)
            self.assertLess(self.post(self.carrier.code, body, self.sign_easypost(body))
                            .status_code, 300)
        self.assertEqual(self.picking.shipment_milestone, "delivered")
        events = self.events_of(self.picking).filtered(lambda e: e.state != "duplicate")
        self.assertEqual(events.mapped("milestone"), ["label_created", "in_transit", "delivered"])
        self.assertEqual(events.mapped("raw_code"), ["pre_transit", "in_transit", "delivered"])

    def test_a_registered_ingest_handler_that_raises_is_a_recorded_422(self):
        """An addon's ingest handler that fails on an event: 422 with a code,
        the request recorded with its body, nothing of it kept (no event, no
        milestone, nothing the handler wrote)."""
        Event = type(self.env["shipment.sync.event"])
        seen = []

        def boom(model, partner, new, events):
            seen.append([ev.external_id for ev in events])
            # Through the request's own environment, like a real handler.
            model.env["stock.picking"].sudo().browse(self.picking.id).write(
                {"origin": "written by the failing handler"})
            raise KeyError("payload")

        handler = ingest.IngestHandler(CanonicalEvent, "_test_boom")
        ev = canonical_event(self.picking.name, "picked")
        origin = self.picking.origin
        with patch.object(Event, "_ingest_handlers", lambda m: (handler,)), \
                patch.object(Event, "_test_boom", boom, create=True):
            data = self.assertAnswer(self.post_signed(envelope(ev)), 422,
                                     "event_not_processable")
        self.assertEqual(seen, [[ev["id"]]])
        self.assertIn("KeyError", data["message"])
        rejection = self.last_rejection()
        self.assertEqual((rejection.error_code, rejection.http_status),
                         ("event_not_processable", 422))
        self.assertTrue(rejection.sudo().raw_body)
        self.assertFalse(self.env["shipment.sync.event"].search(
            [("external_id", "=", ev["id"]), ("state", "!=", "rejected")]))
        self.picking.invalidate_recordset()
        self.assertEqual(self.picking.shipment_milestone, "draft")
        self.assertEqual(self.picking.origin, origin)
        # Without the failing handler the same event is accepted afterwards.
        self.assertAnswer(self.post_signed(envelope(ev)), 202, "accepted")
