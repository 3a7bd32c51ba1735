"""Governance on real records: secret rotation, neutralization, audit,
masking, access rights, retention, shadow onboarding."""

import base64
import contextlib
import csv
import io
import json
import logging
import uuid
from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo.exceptions import AccessError, UserError
from odoo.modules.neutralize import get_neutralization_queries
from odoo.tests import TransactionCase, new_test_user, tagged

from shipsync import outbox
from shipsync.normalizers import CanonicalEvent
from shipsync.signatures import SignatureError, StandardWebhooks

from .common import T0, WHSEC, ShipmentSyncCommon

NEW_SECRET = "whsec_bmV3LXNlY3JldC1rZXktMDEyMzQ1Njc4OWFi"
NOW = datetime(2026, 11, 2, 8, 0)
PII_BODY = {
    "schema_version": "1",
    "events": [{"id": "pii-1", "occurred_at": "2026-11-02T08:00:00Z", "milestone": "picked"}],
    "recipient": {"name": "Ada Lovelace", "street1": "12 Rue de Rivoli", "city": "Paris",
                  "zip": "75001", "country": "FR", "phone": "+33 6 12 34 56 78",
                  "email": "ada@example.com", "delivery_instructions": "Ring twice"},
}


@contextlib.contextmanager
def capture_logs(name):
    """The records a logger emits (after its filters), at INFO and above."""
    logger, records = logging.getLogger(name), []
    handler = logging.Handler(logging.INFO)
    handler.emit = records.append
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


class GovernanceCommon(ShipmentSyncCommon):
    @classmethod
    def setup_governance(cls):
        cls.setup_shipment_sync()
        cls.Event = cls.env["shipment.sync.event"]
        cls.Audit = cls.env["shipment.sync.audit.log"]
        cls.user = new_test_user(cls.env, "gov_user", groups="shipment_sync.group_user")

    def ingest(self, partner, milestone=None, minutes=0, picking=None, code=None, body=b"",
               event_id=None):
        event = CanonicalEvent(
            external_id=event_id or uuid.uuid4().hex, occurred_at=T0 + timedelta(minutes=minutes),
            milestone=milestone, code=code, picking_ref=(picking or self.picking).name)
        new, _dups = self.Event._ingest(partner, [event], body=body)
        if partner.environment == "shadow":
            new._shadow_resolve()
        else:
            new._apply_now()
        return new

    def make_job(self, payload=None, state="dead"):
        job = self.env["shipment.sync.job"]._enqueue(
            self.partner, "http_call", payload or {"method": "POST", "url": "/x"},
            picking=self.picking, idempotency_key=uuid.uuid4().hex)
        job.write({"state": state})
        return job

    def flush_tracking(self):
        self.env.flush_all()
        self.env.cr.precommit.run()

    def messages(self, record):
        return self.env["mail.message"].search(
            [("model", "=", record._name), ("res_id", "=", record.id)])


@tagged("post_install", "-at_install")
class TestSecretRotation(GovernanceCommon, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_governance()

    def verifies(self, secret, partner=None):
        body = b'{"schema_version": "1", "events": []}'
        headers = StandardWebhooks([secret]).headers("msg-1", body)
        try:
            (partner or self.partner)._shipsync_verifier().verify(headers, body)
        except SignatureError:
            return False
        return True

    def test_rotation_accepts_both_secrets_during_grace_then_cron_retires_old(self):
        with freeze_time(NOW):
            self.partner._shipment_rotate(NEW_SECRET, 24)
            self.assertEqual(self.partner.webhook_secret_previous_expires_at,
                             NOW + timedelta(hours=24), "the expiry is shown on the partner")
        with freeze_time(NOW + timedelta(hours=23)):
            self.assertTrue(self.verifies(NEW_SECRET))
            self.assertTrue(self.verifies(WHSEC), "the old secret is valid within the grace")
            self.assertEqual(self.env["shipment.sync.partner"]._cron_retire_secrets(), 0)
        with freeze_time(NOW + timedelta(hours=25)):
            self.assertTrue(self.verifies(NEW_SECRET))
            self.assertFalse(self.verifies(WHSEC), "refused once the grace is over")
            self.assertEqual(self.env["shipment.sync.partner"]._cron_retire_secrets(), 1)
        self.assertFalse(self.partner.webhook_secret_previous)
        self.assertFalse(self.partner.webhook_secret_previous_expires_at)
        self.assertTrue(self.Audit.search([("action", "=", "secret_rotation"),
                                           ("partner_id", "=", self.partner.id)]))

    def test_secret_typed_in_the_form_is_a_rotation_with_grace(self):
        self.partner.secret_grace_hours = 2
        with freeze_time(NOW):
            self.partner.webhook_secret = NEW_SECRET
            self.assertEqual(self.partner.webhook_secret_previous, WHSEC)
            self.assertEqual(self.partner.webhook_secret_previous_expires_at,
                             NOW + timedelta(hours=2))

    def test_rotation_without_grace_refuses_the_old_secret_at_once(self):
        wizard = self.env["shipment.sync.secret.rotate"].create(
            {"partner_id": self.partner.id, "grace_hours": 0})
        wizard.action_rotate()
        self.assertTrue(wizard.shown_secret.startswith("whsec_"), "a generated secret is shown")
        self.assertFalse(self.verifies(WHSEC))
        self.assertTrue(self.verifies(wizard.shown_secret))

    def test_non_manager_cannot_rotate(self):
        with self.assertRaises(AccessError):
            self.partner.with_user(self.user)._shipment_rotate(NEW_SECRET, 24)

    def test_subscription_signs_with_the_new_secret_at_once(self):
        sub = self.env["shipment.sync.subscription"].create({
            "name": "Portal", "partner_id": self.partner.id, "url": "https://portal.test/hook"})
        old = sub.secret
        sub.action_rotate_secret()
        new = sub.secret
        event = outbox.milestone_event(
            event_id="msg_1", created_at=NOW, shipment={"reference": "WH/OUT/1"},
            previous_milestone=None, milestone="picked", milestone_at=NOW)
        ctx = outbox.CallContext(
            job_id=1, operation="publish_event", idempotency_key="k",
            payload={"subscription_id": sub.id, "event_id": "msg_1", "event": event},
            policy=self.partner._outbox_policy(), http=lambda req: req)
        request = self.env["shipment.sync.subscription"]._outbox_prepare_publish(None, ctx)()
        StandardWebhooks([new]).verify(request.headers, request.body)
        with self.assertRaises(SignatureError):
            StandardWebhooks([old]).verify(request.headers, request.body)
        self.assertEqual(json.loads(request.body)["schema_version"], "1")
        sub.schema_version = "2"
        request = self.env["shipment.sync.subscription"]._outbox_prepare_publish(None, ctx)()
        body = json.loads(request.body)
        self.assertEqual(body["schema_version"], "2")
        self.assertEqual(body["data"]["milestone"]["code"], "picked")


@tagged("post_install", "-at_install")
class TestNeutralize(GovernanceCommon, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_governance()

    def test_neutralization_switches_partners_to_test_and_outbound_off(self):
        self.partner.environment = "production"
        self.carrier.environment = "shadow"
        sub = self.env["shipment.sync.subscription"].create({
            "name": "Portal", "partner_id": self.partner.id, "url": "https://portal.test/hook"})
        job = self.env["shipment.sync.job"]._enqueue(
            self.partner, "http_call", {"method": "POST", "url": "/x"},
            idempotency_key=uuid.uuid4().hex)
        crons = self.env["ir.model.data"].search([
            ("module", "=", "shipment_sync"), ("model", "=", "ir.cron"),
            ("name", "=like", "ir_cron_outbox_%")])
        self.assertTrue(crons)
        poll = self.env["ir.cron"].create({
            "name": "Carrier polling (as shipment_sync_carrier declares it)",
            "model_id": self.env["ir.model"]._get_id("shipment.sync.partner"),
            "state": "code", "code": "model", "interval_number": 1, "interval_type": "hours"})
        self.env["ir.model.data"].create({
            "module": "shipment_sync_carrier", "name": "ir_cron_carrier_poll_neutralize_test",
            "model": "ir.cron", "res_id": poll.id})
        self.env.flush_all()
        queries = list(get_neutralization_queries(["shipment_sync"]))
        self.assertTrue(queries, "shipment_sync ships data/neutralize.sql")
        for query in queries:
            self.env.cr.execute(query)
        self.env.invalidate_all()
        self.assertEqual(set((self.partner | self.carrier).mapped("environment")), {"test"})
        self.assertFalse(sub.active)
        self.assertIn("neutralization", sub.deactivated_reason)
        self.assertEqual(job.state, "cancelled")
        outbox_crons = self.env["ir.cron"].with_context(active_test=False).browse(
            crons.mapped("res_id"))
        self.assertFalse(any(outbox_crons.mapped("active")))
        self.assertFalse(poll.active, "polling crons of the other addons too")
        self.assertTrue(self.env.ref("shipment_sync.ir_cron_apply_events").active,
                        "inbound processing never calls anyone: it stays on")


@tagged("post_install", "-at_install")
class TestAudit(GovernanceCommon, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_governance()

    def test_partner_config_changes_tracked_and_secrets_shown_as_changed(self):
        self.flush_tracking()
        picked = self.env["shipment.sync.milestone"].search([("code", "=", "picked")])
        self.partner.write({"signature_scheme": "github", "outbox_base_url": "https://wms.test",
                            "processing_mode": "async", "rate_limit_per_minute": 60,
                            "authoritative_milestone_ids": [(6, 0, picked.ids)]})
        self.partner.write({"webhook_secret": NEW_SECRET, "outbox_auth_token": "Bearer LIVE"})
        self.flush_tracking()
        messages = self.messages(self.partner)
        values = messages.sudo().tracking_value_ids
        by_field = {v.field_id.name: v for v in values}
        self.assertEqual(by_field["signature_scheme"].old_value_char,
                         "Standard Webhooks (webhook-signature)")
        self.assertEqual(by_field["signature_scheme"].new_value_char,
                         "GitHub style (X-Hub-Signature-256)")
        self.assertEqual(by_field["outbox_base_url"].new_value_char, "https://wms.test")
        self.assertEqual(by_field["rate_limit_per_minute"].new_value_integer, 60)
        tracked = messages.filtered(lambda m: m.sudo().tracking_value_ids)
        self.assertEqual(tracked.author_id, self.env.user.partner_id, "who")
        self.assertTrue(all(tracked.mapped("date")), "when")
        bodies = " ".join(messages.mapped("body"))
        self.assertIn("Authoritative for: (none) → Picked", bodies)
        self.assertIn("changed (value not shown)", bodies)
        everything = bodies + json.dumps(values.read(), default=str)
        for secret in (NEW_SECRET, WHSEC, "Bearer LIVE"):
            self.assertNotIn(secret, everything)

    def test_status_map_and_subscription_changes_tracked(self):
        row = self.env["shipment.sync.status.map"].create({
            "vocabulary": "canonical", "partner_id": self.partner.id, "code": "X1",
            "milestone": "picked"})
        sub = self.env["shipment.sync.subscription"].create({
            "name": "Portal", "partner_id": self.partner.id, "url": "https://portal.test/hook"})
        self.flush_tracking()
        row.write({"milestone": "packed", "note": "WMS changed its code"})
        sub.write({"url": "https://portal.test/v2", "schema_version": "2",
                   "milestone_ids": [(6, 0, self.env["shipment.sync.milestone"].search(
                       [("code", "=", "delivered")]).ids)]})
        sub.secret = "whsec_cm90YXRlZC1ieS1oYW5kLTAxMjM0NTY3ODk="
        self.flush_tracking()
        row_fields = self.messages(row).sudo().tracking_value_ids.mapped("field_id.name")
        self.assertIn("milestone", row_fields)
        self.assertIn("note", row_fields)
        sub_messages = self.messages(sub)
        sub_fields = sub_messages.sudo().tracking_value_ids.mapped("field_id.name")
        self.assertIn("url", sub_fields)
        self.assertIn("schema_version", sub_fields)
        bodies = " ".join(sub_messages.mapped("body"))
        self.assertIn("Milestones: (none) → Delivered", bodies)
        self.assertNotIn("cm90YXRlZC1ieS1oYW5k", bodies)

    def test_replay_payload_edit_reveal_and_resolution_leave_audit_lines(self):
        job = self.make_job()
        job.payload = json.dumps({"method": "POST", "url": "/y"})
        job.action_replay()
        event = self.ingest(self.partner, "picked", body=self.dumps(PII_BODY))
        event.action_reveal_payload()
        self.picking._shipment_internal_event(exception_reason="wms_mismatch")
        manager = new_test_user(self.env, "gov_mgr", groups="shipment_sync.group_manager")
        self.picking.with_user(manager).action_shipment_resolve_exception()
        self.assertEqual(self.picking.shipment_exception_state, "resolved")
        lines = self.Audit.search([], order="id")
        actions = lines.mapped("action")
        for action in ("payload_edit", "replay", "reveal", "manual_resolution"):
            self.assertIn(action, actions)
        by_action = {line.action: line for line in lines}
        self.assertEqual(by_action["replay"].record_ref, job)
        self.assertEqual(by_action["payload_edit"].record_ref, job)
        self.assertEqual(by_action["reveal"].record_ref, event)
        resolution = by_action["manual_resolution"].record_ref
        self.assertEqual(resolution._name, "shipment.sync.event")
        self.assertTrue(resolution.resolves_exception)
        self.assertEqual(resolution.picking_id, self.picking)
        self.assertEqual(by_action["reveal"].user_id, self.env.user)
        self.assertEqual(by_action["manual_resolution"].user_id, manager)

    def test_audit_export_lists_every_message_with_state_and_timing_masked(self):
        self.ingest(self.partner, "picked", body=self.dumps(PII_BODY))
        self.Event._record_rejection(self.partner.code, "schema_violation",
                                     "$.x: 'ada@example.com' is not valid", 400,
                                     partner=self.partner)
        job = self.make_job()
        job.write(
            {"last_error": "422: call +33 6 12 34 56 78", "attempts": 3})
        wizard = self.env["shipment.sync.audit.export"].create({
            "partner_id": self.partner.id, "date_from": NOW - timedelta(days=3650),
            "date_to": datetime(2100, 1, 1)})
        action = wizard.action_export()
        self.assertIn("download=true", action["url"])
        rows = list(csv.DictReader(io.StringIO(base64.b64decode(wizard.file).decode())))
        states = sorted((r["direction"], r["state"]) for r in rows)
        self.assertEqual(states, [("inbound", "applied"), ("inbound", "rejected"),
                                  ("outbound", "dead")])
        text = base64.b64decode(wizard.file).decode()
        self.assertNotIn("ada@example.com", text)
        self.assertNotIn("12 34 56", text)
        applied = next(r for r in rows if r["state"] == "applied")
        self.assertTrue(applied["received_at"] and applied["finished_at"])
        self.assertTrue(self.Audit.search([("action", "=", "export")]))


@tagged("post_install", "-at_install")
class TestPrivacy(GovernanceCommon, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_governance()

    def test_stored_body_is_masked_and_reveal_shows_the_full_body(self):
        event = self.ingest(self.partner, "picked", body=self.dumps(PII_BODY))
        stored = json.loads(event.raw_body)
        self.assertEqual(stored["recipient"]["city"], "Paris")
        self.assertEqual(stored["recipient"]["country"], "FR")
        self.assertEqual(stored["recipient"]["zip"], "75***")
        for secret_bit in ("Lovelace", "Rivoli", "ada@example.com", "12 34 56", "Ring twice"):
            self.assertNotIn(secret_bit, event.raw_body)
        self.assertTrue(event.can_reveal)
        action = event.action_reveal_payload()
        revealed = self.env["shipment.sync.reveal"].browse(action["res_id"])
        self.assertEqual(json.loads(revealed.body), PII_BODY)
        log = self.Audit.search([("action", "=", "reveal")])
        self.assertEqual((log.res_model, log.res_id), (event._name, event.id))

    def test_non_manager_gets_access_error_on_secrets_bodies_and_reveal(self):
        event = self.ingest(self.partner, "picked", body=self.dumps(PII_BODY))
        sub = self.env["shipment.sync.subscription"].create({
            "name": "Portal", "partner_id": self.partner.id, "url": "https://portal.test/hook"})
        job = self.make_job({"method": "POST", "url": "/x", "json": {"name": "Ada"}})
        partner, ev = self.partner.with_user(self.user), event.with_user(self.user)
        for record, fname in ((partner, "webhook_secret"), (partner, "webhook_secret_previous"),
                              (partner, "outbox_auth_token"), (ev, "raw_body"),
                              (ev, "headers_json"), (sub.with_user(self.user), "secret")):
            with self.assertRaises(AccessError, msg=f"{record._name}.{fname}"):
                record.read([fname])
        self.assertEqual(job.with_user(self.user).read(["state"])[0]["state"], "dead")
        with self.assertRaises(AccessError):
            job.with_user(self.user).read(["payload"])
        with self.assertRaises(AccessError):
            self.env["shipment.sync.payload.vault"].with_user(self.user).search_read([], ["body"])
        with self.assertRaises(AccessError):
            ev.action_reveal_payload()
        with self.assertRaises(AccessError):
            self.env["shipment.sync.reveal"].with_user(self.user).search_read([], ["body"])
        with self.assertRaises(AccessError):
            self.Audit.with_user(self.user).search_read([], ["note"])
        self.assertFalse(ev.can_reveal)

    def test_manager_cannot_read_the_vault_around_the_logged_reveal(self):
        manager = new_test_user(self.env, "gov_manager", groups="shipment_sync.group_manager")
        self.ingest(self.partner, "picked", body=self.dumps(PII_BODY))
        with self.assertRaises(AccessError):
            self.env["shipment.sync.payload.vault"].with_user(manager).search_read([], ["body"])

    def test_event_messages_from_partners_are_masked(self):
        event = self.Event._ingest(self.partner, [CanonicalEvent(
            external_id="m1", occurred_at=T0, milestone="delivered",
            picking_ref=self.picking.name,
            message="Delivered. Signed by: Ada Lovelace, call +33 6 12 34 56 78")])[0]
        self.assertTrue(event.message.startswith("Delivered."))
        self.assertNotIn("Lovelace", event.message)
        self.assertNotIn("12 34 56", event.message)

    def test_rejection_message_and_chatter_and_attempt_excerpts_are_masked(self):
        rejection = self.Event._record_rejection(
            self.partner.code, "schema_violation", "$.email: 'ada@example.com' is bad", 400,
            partner=self.partner, body=self.dumps(PII_BODY))
        self.assertNotIn("ada@example.com", rejection.error_detail)
        self.assertNotIn("Lovelace", rejection.raw_body)
        job = self.make_job(state="running")
        message = job.message_post(body="Partner said: call +44 20 7946 0958 or ada@example.com")
        self.assertNotIn("7946", message.body)
        self.assertNotIn("ada@example.com", message.body)
        settlement = outbox.Settlement(state="dead", next_attempt_at=None, delay=None,
                                       error_class="http_4xx", reason="HTTP 422",
                                       breaker_signal=None)
        outcome = outbox.Outcome(status=422, error_class="http_4xx",
                                 error="422 for ada@example.com",
                                 body=b'{"error": "bad address", "name": "Ada Lovelace", '
                                      b'"phone": "+33612345678", "city": "Paris"}')
        job._outbox_settle(settlement, outcome, NOW, NOW, None, 1)
        attempt = job.attempt_ids
        self.assertIn("Paris", attempt.response_excerpt)
        for bit in ("Lovelace", "+33612345678"):
            self.assertNotIn(bit, attempt.response_excerpt)
        self.assertNotIn("ada@example.com", attempt.error)

    def test_settle_masks_before_its_one_statement(self):
        """Masking adds no statement to the worker's settle path: the settle
        statement writes the masked texts, nothing is read back or re-masked."""
        job = self.make_job(state="running")
        settlement = outbox.Settlement(state="dead", next_attempt_at=None, delay=None,
                                       error_class="http_4xx",
                                       reason="HTTP 422 for ada@example.com",
                                       breaker_signal=None)
        outcome = outbox.Outcome(status=422, error_class="http_4xx",
                                 error="422 for ada@example.com",
                                 body=b'{"name": "Ada Lovelace", "city": "Paris"}')
        with self.assertQueryCount(1):
            job._outbox_settle(settlement, outcome, NOW, NOW, None, 1)
        self.assertEqual(job.state, "dead")
        self.assertNotIn("ada@example.com", job.last_error)
        self.assertNotIn("ada@example.com", job.attempt_ids.error)
        self.assertNotIn("Lovelace", job.attempt_ids.response_excerpt)

    def test_logs_of_the_suite_are_masked(self):
        with capture_logs("odoo.addons.shipment_sync.controllers.main") as records:
            logging.getLogger("odoo.addons.shipment_sync.controllers.main").info(
                "partner body: %s", '{"email": "ada@example.com", "city": "Paris"}')
        text = "\n".join(r.getMessage() for r in records)
        self.assertIn("Paris", text)
        self.assertNotIn("ada@example.com", text)


@tagged("post_install", "-at_install")
class TestRetention(GovernanceCommon, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_governance()

    def test_purge_blanks_bodies_past_retention_and_keeps_the_rows(self):
        self.partner.company_id.shipment_sync_retention_inbound_days = 30
        self.carrier.retention_inbound_days = 7
        with freeze_time(NOW):
            old = self.ingest(self.partner, "picked", body=self.dumps(PII_BODY))
            job = self.make_job({"method": "POST", "url": "/x", "json": {"name": "Ada"}})
            job.write(
                {"state": "done", "done_at": NOW, "result": '{"ok": true}'})
            self.env["shipment.sync.job.attempt"].sudo().create({
                "job_id": job.id, "partner_id": self.partner.id, "number": 1,
                "started_at": NOW, "response_excerpt": '{"ok": true}'})
            carrier_event = self.Event._ingest(self.carrier, [CanonicalEvent(
                external_id="c1", occurred_at=T0, milestone="packed",
                picking_ref=self.picking.name)], body=b'{"a": 1}')[0]
        with freeze_time(NOW + timedelta(days=10)):
            recent = self.ingest(self.partner, "packed", 10, body=self.dumps(PII_BODY))
            totals = self.Event._cron_purge_bodies(batch=1)
        self.assertGreaterEqual(totals["inbound_body"], 1)
        self.assertFalse(carrier_event.raw_body, "the carrier keeps bodies 7 days")
        self.assertTrue(old.raw_body, "the company default is 30 days")
        self.assertTrue(job.payload)
        with freeze_time(NOW + timedelta(days=31)):
            totals = self.Event._cron_purge_bodies(batch=1)
        self.assertGreaterEqual(min(totals.values()), 1)
        self.assertFalse(old.raw_body)
        self.assertFalse(old.headers_json)
        self.assertTrue(old.body_purged_at)
        self.assertEqual((old.state, old.milestone, old.external_id),
                         ("applied", "picked", old.external_id))
        self.assertTrue(old.received_at and old.applied_at)
        self.assertTrue(recent.raw_body, "within retention: kept")
        self.assertFalse(job.payload)
        self.assertFalse(job.result)
        self.assertEqual(job.state, "done")
        self.assertFalse(job.attempt_ids.response_excerpt)
        self.assertFalse(old.can_reveal)
        with self.assertRaises(UserError):
            old.action_reveal_payload()
        self.assertTrue(recent.can_reveal)

    def test_pending_job_payloads_are_never_purged(self):
        with freeze_time(NOW):
            job = self.make_job(state="pending")
        with freeze_time(NOW + timedelta(days=400)):
            self.Event._cron_purge_bodies()
        self.assertTrue(job.payload)


@tagged("post_install", "-at_install")
class TestShadow(GovernanceCommon, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_governance()
        cls.partner.environment = "production"
        cls.shadow = cls.env["shipment.sync.partner"].create({
            "name": "New Carrier", "code": f"new-{uuid.uuid4().hex[:6]}", "kind": "carrier",
            "inbound_format": "canonical", "webhook_secret": WHSEC, "environment": "shadow",
            "processing_mode": "inline"})

    def test_shadow_events_apply_nothing_and_the_report_is_right(self):
        agree, disagree, missing_shadow, missing_current = (
            self.picking, self.make_picking(), self.make_picking(), self.make_picking())
        # The current source: the production partner.
        self.ingest(self.partner, "picked_up", 0, agree)
        self.ingest(self.partner, "in_transit", 10, agree)
        self.ingest(self.partner, "out_for_delivery", 10, disagree)
        self.ingest(self.partner, "picked_up", 10, missing_shadow)
        before = {p: p.shipment_milestone for p in (agree, disagree, missing_shadow,
                                                   missing_current)}
        # The shadow partner on the same shipments.
        shadow_events = self.ingest(self.shadow, "in_transit", 11, agree)
        shadow_events |= self.ingest(self.shadow, "delivered", 12, disagree)
        shadow_events |= self.ingest(self.shadow, None, 12, missing_shadow, code="NOPE")
        shadow_events |= self.ingest(self.shadow, "picked_up", 5, missing_current)
        self.assertEqual(set(shadow_events.mapped("state")), {"shadow"})
        self.assertEqual(shadow_events.picking_id,
                         agree | disagree | missing_shadow | missing_current)
        for picking, milestone in before.items():
            picking._shipment_apply_events()
            self.assertEqual(picking.shipment_milestone, milestone, "shadow applies nothing")
        self.assertEqual(missing_current.shipment_milestone, "draft")

        action = self.shadow.action_shadow_report()
        report = self.env["shipment.sync.shadow.report"].browse(action["res_id"])
        lines = {line.picking_id: line for line in report.line_ids}
        self.assertEqual(lines[agree].verdict, "agreement")
        self.assertEqual(lines[agree].would_set, "in_transit")
        self.assertEqual(lines[agree].missing_in_shadow, "picked_up")
        self.assertEqual(lines[disagree].verdict, "disagreement")
        self.assertEqual((lines[disagree].would_set, lines[disagree].current),
                         ("delivered", "out_for_delivery"))
        self.assertEqual(lines[disagree].current_partner_id, self.partner)
        self.assertEqual(lines[missing_shadow].verdict, "missing")
        self.assertEqual(lines[missing_shadow].would_set, "draft")
        self.assertEqual(lines[missing_current].verdict, "missing")
        self.assertEqual(lines[missing_current].only_in_shadow, "picked_up")
        self.assertEqual((report.agreement_count, report.disagreement_count,
                          report.missing_count), (1, 1, 2))
