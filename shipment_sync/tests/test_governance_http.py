"""Governance over real signed HTTP: schema versions, shadow partners, secret
rotation, masked logs and the OpenAPI document."""

import json
import uuid
from datetime import timedelta

from odoo import fields
from odoo.tests import HttpCase, tagged

from odoo.addons.shipment_sync.controllers.main import ShipmentSyncWebhookController, _buckets

from shipsync import governance as gov
from shipsync.schemas import SCHEMA_DIR

from .common import WHSEC, ShipmentSyncCommon, canonical_event, envelope
from .test_governance import capture_logs

NEW_SECRET = "whsec_bmV3LXNlY3JldC1rZXktMDEyMzQ1Njc4OWFi"


@tagged("post_install", "-at_install")
class TestGovernanceHttp(ShipmentSyncCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_shipment_sync()

    def setUp(self):
        super().setUp()
        _buckets.reset()

    def post_signed(self, payload, partner=None, secret=WHSEC):
        body = payload if isinstance(payload, bytes) else self.dumps(payload)
        return self.opener.post(
            f"{self.base_url()}/shipment_sync/webhook/{(partner or self.partner).code}",
            data=body, headers={"Content-Type": "application/json",
                                **self.sign_standard(body, secret=secret)},
            allow_redirects=False, timeout=30)

    def assertAnswer(self, response, status, code):
        self.assertEqual(response.status_code, status, response.text)
        self.assertEqual(response.json()["code"], code, response.text)
        return response.json()

    def v2(self, *events):
        return {"schema_version": "2", "sent_at": "2026-11-02T08:00:00Z", "events": list(events)}

    # --- versioned schemas ------------------------------------------------
    def test_both_published_versions_accepted_by_default(self):
        self.assertAnswer(self.post_signed(envelope(canonical_event(self.picking.name, "picked"))),
                          202, "accepted")
        self.assertAnswer(self.post_signed(self.v2(canonical_event(self.picking.name, "packed",
                                                                   5))), 202, "accepted")
        self.assertEqual(self.picking.shipment_milestone, "packed")

    def test_v2_is_validated_against_its_own_schema(self):
        body = {"schema_version": "2", "events": [canonical_event(self.picking.name, "picked")]}
        data = self.assertAnswer(self.post_signed(body), 400, "schema_violation")
        self.assertIn("sent_at", data["message"])

    def test_unknown_retired_or_not_pinned_version_is_400_unsupported(self):
        event = canonical_event(self.picking.name, "picked")
        self.assertAnswer(self.post_signed({"schema_version": "9", "events": [event]}), 400,
                          "unsupported_schema_version")
        self.assertAnswer(self.post_signed({"events": [event]}), 400,
                          "unsupported_schema_version")
        self.partner.schema_versions_retired = "1"
        data = self.assertAnswer(self.post_signed(envelope(event)), 400,
                                 "unsupported_schema_version")
        self.assertIn("retired", data["message"])
        self.partner.write({"schema_versions_retired": False, "schema_version_pinned": "2"})
        self.assertAnswer(self.post_signed(envelope(event)), 400, "unsupported_schema_version")
        self.assertEqual(self.picking.shipment_milestone, "draft", "nothing applied")
        rejection = self.env["shipment.sync.event"].search(
            [("state", "=", "rejected")], order="id desc", limit=1)
        self.assertEqual(rejection.error_code, "unsupported_schema_version")
        self.assertAnswer(self.post_signed(self.v2(event)), 202, "accepted")

    def test_openapi_served_by_odoo_agrees_with_the_repository_and_the_routes(self):
        response = self.url_open("/shipment_sync/openapi.json")
        self.assertEqual(response.status_code, 200)
        served = response.json()
        stored = json.loads((SCHEMA_DIR / "openapi.json").read_text())
        self.assertEqual(served, stored)
        self.assertEqual(served, json.loads(json.dumps(gov.openapi_document())))
        route = ShipmentSyncWebhookController._webhook_url.replace(
            "<string:partner_code>", "{partner_code}")
        self.assertEqual(set(served["paths"]), {route, gov.OPENAPI_PATH})
        documented = {code for status in served["paths"][route]["post"]["responses"].values()
                      for code in status["description"].split("Codes: ")[1].rstrip(".")
                      .split(", ")}
        for code in ("accepted", "duplicate", "invalid_json", "schema_violation",
                     "unsupported_schema_version", "invalid_signature", "unknown_partner",
                     "payload_too_large", "unsupported_media_type", "rate_limited"):
            self.assertIn(code, documented)
        # The codes the route really answers are documented ones.
        for body, expected in ((b"{", "invalid_json"),
                               (self.dumps({"schema_version": "7", "events": []}),
                                "unsupported_schema_version")):
            self.assertIn(self.post_signed(body).json()["code"], documented)
            self.assertEqual(self.post_signed(body).json()["code"], expected)

    # --- shadow ------------------------------------------------------------
    def test_shadow_partner_is_verified_and_stored_but_never_applied(self):
        shadow = self.env["shipment.sync.partner"].create({
            "name": "Shadow WMS", "code": f"shadow-{uuid.uuid4().hex[:6]}", "kind": "wms",
            "inbound_format": "canonical", "webhook_secret": WHSEC, "environment": "shadow",
            "processing_mode": "inline"})
        body = envelope(canonical_event(self.picking.name, "packed"))
        bad = self.post_signed(body, partner=shadow, secret=NEW_SECRET)
        self.assertAnswer(bad, 401, "invalid_signature")
        data = self.assertAnswer(self.post_signed(body, partner=shadow), 202, "accepted_shadow")
        event = self.env["shipment.sync.event"].browse(data["event_ids"])
        self.assertEqual(event.state, "shadow")
        self.assertEqual(event.picking_id, self.picking)
        self.assertEqual(event.milestone, "packed")
        self.assertEqual(self.picking.shipment_milestone, "draft")
        self.env["shipment.sync.event"]._cron_apply_events()
        self.assertEqual(self.picking.shipment_milestone, "draft")

    # --- rotation ------------------------------------------------------------
    def test_old_secret_accepted_during_grace_and_refused_after(self):
        self.partner._shipment_rotate(NEW_SECRET, 24)
        ev = canonical_event(self.picking.name, "picked")
        self.assertAnswer(self.post_signed(envelope(ev), secret=WHSEC), 202, "accepted")
        self.assertAnswer(self.post_signed(envelope(canonical_event(self.picking.name, "packed",
                                                                    5)), secret=NEW_SECRET),
                          202, "accepted")
        self.partner.webhook_secret_previous_expires_at = \
            fields.Datetime.now() - timedelta(minutes=1)
        self.assertAnswer(self.post_signed(envelope(canonical_event(self.picking.name, "packed")),
                                           secret=WHSEC), 401, "invalid_signature")

    # --- masking -------------------------------------------------------------
    def test_refusal_logs_and_stored_rejections_are_masked(self):
        ev = canonical_event(self.picking.name, "picked")
        ev["occurred_at"] = "ada@example.com"
        body = envelope(ev)
        body["recipient"] = {"name": "Ada Lovelace", "city": "Paris"}
        with capture_logs("odoo.addons.shipment_sync.controllers.main") as records:
            data = self.assertAnswer(self.post_signed(body), 400, "schema_violation")
        self.assertNotIn("ada@example.com", data["message"])
        logged = "\n".join(r.getMessage() for r in records)
        self.assertIn("schema_violation", logged)
        self.assertNotIn("ada@example.com", logged)
        rejection = self.env["shipment.sync.event"].search(
            [("state", "=", "rejected")], order="id desc", limit=1)
        self.assertNotIn("Lovelace", rejection.raw_body)
        self.assertIn("Paris", rejection.raw_body)
        self.assertNotIn("ada@example.com", rejection.error_detail)
