"""Webhook silence against the carrier sandbox: a partner that stops pushing while its
shipments are in transit is polled instead (its carrier's adapter can track), and
pushed again once its webhooks return."""

from datetime import timedelta

from odoo import fields
from odoo.tests import HttpCase, tagged

from .common import CarrierCommon


@tagged("post_install", "-at_install")
class TestWebhookSilencePolling(CarrierCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_carrier()
        cls.carrier.write({"shipsync_poll": False, "shipsync_poll_min_interval": 15})

    def setUp(self):
        super().setUp()
        self.sandbox.reset()

    def hook(self):
        return f"{self.base_url()}/shipment_sync/webhook/{self.partner.code}"

    def seed_pushes(self, last, count=25, minutes=10):
        """The partner's earlier webhooks, as the ledger holds them: ``count`` pushed
        arrivals ``minutes`` apart, the last one at ``last``."""
        Event = self.env["shipment.sync.event"].sudo()
        for i in range(count):
            Event.create({
                "partner_id": self.partner.id, "partner_code": self.partner.code,
                "direction": "inbound", "state": "applied", "pushed": True,
                "external_id": f"history-{self.partner.code}-{i}",
                "received_at": last - timedelta(minutes=minutes * i), "milestone": "in_transit",
            })
        self.env.flush_all()

    def silence_cron(self):
        self.env.flush_all()
        verdict = self.env["shipment.sync.partner"]._cron_webhook_silence()[self.partner.id]
        self.env.invalidate_all()
        return verdict

    def poll_cron(self, minutes=0):
        self.env.flush_all()
        now = fields.Datetime.now() + timedelta(minutes=minutes)
        stats = self.env["delivery.carrier"]._cron_shipsync_poll(now=now)
        self.env.invalidate_all()
        return stats

    def test_a_silent_carrier_is_polled_until_its_webhooks_return(self):
        self.assertTrue(self.carrier._shipsync_can_track())
        first, second = (self.validate(self.make_picking()) for _i in range(2))
        for picking in (first, second):
            self.sandbox.advance(picking.carrier_tracking_ref, steps=2, webhook=False)
        # One read of the tracking (polled, not pushed): both in transit.
        self.carrier.shipsync_poll = True
        self.carrier._shipsync_poll()
        self.carrier.shipsync_poll = False
        self.env.invalidate_all()
        for picking in (first, second):
            self.assertEqual(picking.shipment_milestone, "in_transit")
            self.assertEqual(picking.shipment_milestone_partner_id, self.partner)
        self.assertNotIn(self.carrier.id, self.poll_cron(), "push carriers are not polled")
        # It used to push every 10 minutes; the last webhook came an hour ago.
        self.seed_pushes(fields.Datetime.now() - timedelta(minutes=60))
        verdict = self.silence_cron()
        self.assertTrue(verdict.silent, verdict)
        self.assertEqual(self.partner.webhook_usual_gap, 900.0)  # 10 min, floored at 15
        self.assertEqual(self.partner.webhook_silence_state, "silent")
        self.assertTrue(self.partner.webhook_silence_polling)
        # The carrier keeps scanning, its webhooks are lost: polls read the scans.
        self.sandbox.advance(first.carrier_tracking_ref, steps=1, webhook=False)
        before = self.sandbox.requests
        stats = self.poll_cron()
        self.assertEqual(stats[self.carrier.id]["shipments"], 2)
        self.assertEqual(self.sandbox.requests - before, 1)
        self.assertEqual(first.shipment_milestone, "out_for_delivery")
        self.assertEqual(second.shipment_milestone, "in_transit")
        # A webhook comes back: push again, polling stops.
        pushed = self.sandbox.advance(first.carrier_tracking_ref, steps=1, url=self.hook())
        self.assertEqual(pushed[0]["status"], 202, pushed[0].get("response"))
        verdict = self.silence_cron()
        self.assertEqual(verdict.state, "push")
        self.assertEqual(self.partner.webhook_silence_state, "push")
        self.assertFalse(self.partner.webhook_silence_polling)
        self.assertIn("Webhooks back", self.partner.message_ids[0].body)
        before = self.sandbox.requests
        self.assertNotIn(self.carrier.id, self.poll_cron(minutes=60))
        self.assertEqual(self.sandbox.requests, before)
