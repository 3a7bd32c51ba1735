"""Webhook silence raises an ops alert (the seeded "Partner webhooks silent" rule) the
moment the silence cron finds it, notifies once, and clears when webhooks return."""

from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo.tests import TransactionCase, tagged

from .common import MonitorCommon

START = datetime(2026, 11, 2, 6, 0)


@tagged("post_install", "-at_install")
class TestSilenceAlert(MonitorCommon, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_monitor()
        cls.Alert = cls.env["shipment.sync.alert"]
        cls.rule = cls.env.ref("shipment_sync_monitor.alert_rule_webhook_silence")

    def push(self, at, milestone="in_transit"):
        with freeze_time(at):
            new = self.ingest(self.partner, milestone, at=at)
            new.write({"pushed": True})  # as the webhook route stores them
        return new

    def cron(self, at):
        with freeze_time(at):
            return self.env["shipment.sync.partner"]._cron_webhook_silence()[self.partner.id]

    def alerts(self):
        return self.Alert.search([("rule_id", "=", self.rule.id),
                                  ("partner_id", "=", self.partner.id)])

    def test_silence_opens_one_alert_that_clears_when_webhooks_return(self):
        self.assertEqual(self.rule.scope, "partner")
        for i in range(25):
            self.push(START + timedelta(minutes=10 * i))
        last = START + timedelta(minutes=240)
        self.assertEqual(self.picking.shipment_milestone, "in_transit")
        self.assertEqual(self.cron(last + timedelta(minutes=30)).state, "push")
        self.assertFalse(self.alerts())
        silent_at = last + timedelta(minutes=46)  # 3 x 15 min (10 min, floored)
        self.assertTrue(self.cron(silent_at).silent)
        alert = self.alerts()
        self.assertEqual(alert.state, "active")
        self.assertEqual(alert.started_at, silent_at)
        self.assertIn(self.partner.name, alert.name)
        self.assertTrue(alert.notified)
        self.assertTrue(alert.activity_ids.filtered(lambda a: a.user_id == self.ops))
        # lasting: the same alert, no second one
        self.cron(silent_at + timedelta(hours=1))
        with freeze_time(silent_at + timedelta(hours=1)):
            self.rule._evaluate(silent_at + timedelta(hours=1))
        self.assertEqual(self.alerts(), alert)
        self.assertAlmostEqual(alert.last_value, 60.0)
        # webhooks return: cleared
        self.push(silent_at + timedelta(hours=2), milestone="out_for_delivery")
        self.assertEqual(self.cron(silent_at + timedelta(hours=2, minutes=1)).state, "push")
        self.assertEqual(alert.state, "cleared")
        self.assertEqual(self.alerts(), alert)
