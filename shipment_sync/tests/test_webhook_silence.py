"""Webhook silence: the cron learns a partner's usual gap between pushed arrivals from
the ledger, calls it silent past factor x that gap while it has shipments in transit,
and back to push when a webhook returns (freezegun drives the clock)."""

from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo.exceptions import ValidationError
from odoo.tests import TransactionCase, tagged

from shipsync import silence as si
from shipsync.normalizers import parse_payload

from .common import ShipmentSyncCommon, canonical_event, envelope

START = datetime(2026, 11, 2, 6, 0)


@tagged("post_install", "-at_install")
class TestWebhookSilence(ShipmentSyncCommon, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_shipment_sync()

    def push(self, at, milestone="in_transit", pushed=True, picking=None):
        """One arrival of the partner at ``at`` through the real ingest path."""
        with freeze_time(at):
            events = parse_payload(self.dumps(envelope(canonical_event(
                (picking or self.picking).name, milestone))), "canonical")
            new, _dups = self.env["shipment.sync.event"]._ingest(
                self.partner, events, body=b"{}", headers={}, pushed=pushed)
            new._apply_now()
        return new

    def cron(self, at):
        with freeze_time(at):
            return self.env["shipment.sync.partner"]._cron_webhook_silence()[self.partner.id]

    def history(self, count, minutes=10):
        """``count`` pushes ``minutes`` apart from START; returns the last push time."""
        for i in range(count):
            self.push(START + timedelta(minutes=minutes * i))
        return START + timedelta(minutes=minutes * (count - 1))

    def test_learning_until_enough_gaps(self):
        last = self.history(10)
        verdict = self.cron(last + timedelta(hours=6))
        self.assertEqual(verdict.state, "learning")
        self.assertEqual(self.partner.webhook_silence_state, "learning")
        self.assertEqual(self.partner.webhook_gap_samples, 9)
        self.assertEqual(self.partner.webhook_last_push_at, last)

    def test_silence_is_learned_from_the_ledger_then_detected_then_over(self):
        self.assertEqual(self.picking.shipment_milestone, "draft")
        last = self.history(25, minutes=20)  # 24 gaps of 20 minutes
        self.assertEqual(self.picking.shipment_milestone, "in_transit")
        self.assertEqual(self.picking.shipment_milestone_partner_id, self.partner)
        # polled (not pushed) arrivals are not webhooks: they teach nothing
        self.push(last + timedelta(minutes=30), pushed=False)
        fine = self.cron(last + timedelta(minutes=60))
        self.assertEqual(fine.state, "push")
        self.assertEqual(self.partner.webhook_usual_gap, 1200.0)
        self.assertEqual(self.partner.webhook_gap_samples, 24)
        self.assertEqual(self.partner.webhook_last_push_at, last)
        # 3 x 20 min without a webhook while a shipment is in transit: silent
        at = last + timedelta(minutes=60, seconds=1)
        verdict = self.cron(at)
        self.assertTrue(verdict.silent)
        self.assertEqual(self.partner.webhook_silence_state, "silent")
        self.assertEqual(self.partner.webhook_silent_since, at)
        self.assertFalse(self.partner.webhook_silence_polling, "no carrier to poll here")
        self.assertIn("Webhooks silent", self.partner.message_ids[0].body)
        # still silent later: nothing new is posted
        posted = len(self.partner.message_ids)
        self.assertTrue(self.cron(at + timedelta(hours=1)).silent)
        self.assertEqual(len(self.partner.message_ids), posted)
        # a webhook returns: back to push
        self.push(at + timedelta(hours=2), milestone="out_for_delivery")
        back = self.cron(at + timedelta(hours=2, minutes=5))
        self.assertEqual(back.state, "push")
        self.assertEqual(self.partner.webhook_silence_state, "push")
        self.assertFalse(self.partner.webhook_silent_since)
        self.assertIn("Webhooks back", self.partner.message_ids[0].body)

    def test_nothing_in_transit_is_never_silent(self):
        last = self.history(25)
        self.push(last + timedelta(minutes=5), milestone="delivered")
        self.assertEqual(self.picking.shipment_milestone, "delivered")
        verdict = self.cron(last + timedelta(days=2))
        self.assertEqual(verdict.state, "push")

    def test_an_unwatched_partner_is_left_alone(self):
        self.partner.webhook_silence_watch = False
        last = self.history(25)
        with freeze_time(last + timedelta(days=1)):
            results = self.env["shipment.sync.partner"]._cron_webhook_silence()
        self.assertNotIn(self.partner.id, results)
        self.assertEqual(self.partner.webhook_silence_state, "learning")

    def test_the_cron_retries_conflicts_and_the_policy_is_the_engines(self):
        cron = type(self.env["shipment.sync.partner"])._cron_webhook_silence
        self.assertTrue(getattr(cron, "shipment_sync_retry_conflicts", False))
        self.assertEqual(self.partner._silence_policy().factor, si.SilencePolicy.factor)
        with self.assertRaisesRegex(ValidationError, "at least 1"):
            self.partner.webhook_silence_factor = 0.5
            self.partner.flush_recordset()
