"""SLA rules: every seeded default rule fires once, stays quiet while the
breach lasts, and clears when it ends (freezegun drives the clock)."""

from datetime import datetime, timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo.exceptions import ValidationError
from odoo.tests import TransactionCase, tagged

from odoo.addons.shipment_sync_monitor.models import shipment_sync_alert_rule as rule_module

from .common import MonitorCommon, insert_attempts, insert_events, insert_jobs

T = datetime(2026, 11, 2, 8, 0)


@tagged("post_install", "-at_install")
class TestAlertRules(MonitorCommon, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_monitor()
        cls.Alert = cls.env["shipment.sync.alert"]

    def rule(self, name):
        return self.env.ref(f"shipment_sync_monitor.alert_rule_{name}")

    def evaluate(self, rule, at):
        with freeze_time(at):
            return rule._evaluate(at)

    def mails(self, record):
        return self.env["mail.mail"].search(
            [("model", "=", record._name), ("res_id", "=", record.id)])

    def assert_picking_rule_fires_and_clears(self, rule, milestone, age, progress):
        with freeze_time(T):
            self.picking._shipment_internal_event(milestone=milestone)
        key = f"picking:{self.picking.id}"
        plan = self.evaluate(rule, T + age - timedelta(minutes=1))
        self.assertNotIn(key, plan.opened)
        plan = self.evaluate(rule, T + age + timedelta(minutes=1))
        self.assertIn(key, plan.opened)
        self.assertEqual(self.picking.shipment_exception_state, "open")
        self.assertEqual(self.picking.shipment_exception_reason, "sla_breach")
        card = self.cards(reason="sla_breach")
        self.assertEqual(card.alert_rule_id, rule)
        self.assertEqual(card.state, "open")
        self.assertTrue(card.activity_ids.filtered(lambda a: a.user_id == self.ops))
        self.assertEqual(len(self.mails(card)), 1)
        self.assertIn("ops@example.com", self.mails(card).email_to)
        activities = len(card.activity_ids)
        # The breach lasts: no second notification.
        plan = self.evaluate(rule, T + age + timedelta(minutes=30))
        self.assertIn(key, plan.continuing)
        self.assertEqual(len(card.activity_ids), activities)
        self.assertEqual(len(self.mails(card)), 1)
        # It ends: cleared, exception resolved, card closed.
        with freeze_time(T + age + timedelta(minutes=40)):
            self.picking._shipment_internal_event(milestone=progress)
        plan = self.evaluate(rule, T + age + timedelta(minutes=45))
        self.assertIn(key, plan.cleared)
        alert = self.Alert.search([("rule_id", "=", rule.id),
                                   ("picking_id", "=", self.picking.id)])
        self.assertEqual(alert.state, "cleared")
        self.assertEqual(self.picking.shipment_exception_state, "resolved")
        self.assertEqual(card.state, "resolved")
        plan = self.evaluate(rule, T + age + timedelta(minutes=50))
        self.assertNotIn(key, plan.opened + plan.cleared)

    def test_packed_without_label_fires_after_30_minutes_and_clears(self):
        self.assert_picking_rule_fires_and_clears(
            self.rule("packed_no_label"), "packed", timedelta(minutes=30), "label_created")

    def test_handed_over_without_scan_fires_after_24_hours_and_clears(self):
        self.assert_picking_rule_fires_and_clears(
            self.rule("handed_over_no_scan"), "handed_over", timedelta(hours=24), "picked_up")

    def test_out_for_delivery_over_a_day_fires_and_clears(self):
        self.assert_picking_rule_fires_and_clears(
            self.rule("out_for_delivery_long"), "out_for_delivery", timedelta(days=1),
            "delivered")

    def assert_partner_rule(self, rule, at, clear_at, prepare_clear=None):
        key = f"partner:{self.partner.id}"
        plan = self.evaluate(rule, at)
        self.assertIn(key, plan.opened)
        alert = self.Alert.search([("rule_id", "=", rule.id),
                                   ("partner_id", "=", self.partner.id)])
        self.assertEqual(alert.state, "active")
        self.assertTrue(alert.activity_ids.filtered(lambda a: a.user_id == self.ops))
        self.assertEqual(len(self.mails(alert)), 1)
        plan = self.evaluate(rule, at + timedelta(minutes=1))
        self.assertIn(key, plan.continuing)
        self.assertEqual(len(self.mails(alert)), 1)
        self.assertEqual(len(self.Alert.search([("rule_id", "=", rule.id),
                                                ("partner_id", "=", self.partner.id)])), 1)
        if prepare_clear:
            prepare_clear()
        plan = self.evaluate(rule, clear_at)
        self.assertIn(key, plan.cleared)
        self.assertEqual(alert.state, "cleared")
        self.assertFalse(alert.activity_ids)
        return alert

    def test_queue_depth_over_500_fires_and_clears(self):
        rule = self.rule("queue_depth")
        jobs = insert_jobs(self.env, self.partner, 501)
        self.assertEqual(rule._partner_values(rule._to_rule(), T)[self.partner.id], 501)

        def drain():
            jobs[:1].write(
                {"state": "done"})
        alert = self.assert_partner_rule(rule, T, T + timedelta(minutes=5), drain)
        self.assertEqual(alert.first_value, 501)

    def test_failure_rate_over_20_percent_in_15_minutes_fires_and_clears(self):
        rule = self.rule("failure_rate")
        job = insert_jobs(self.env, self.partner, 1)
        insert_attempts(self.env, job, ["done"] * 7 + ["retry", "retry", "dead"],
                        T - timedelta(minutes=5))
        self.assertEqual(rule._partner_values(rule._to_rule(), T)[self.partner.id], 30.0)
        # 15 minutes later the failures are out of the window.
        self.assert_partner_rule(rule, T, T + timedelta(minutes=15))

    def test_webhook_delay_p95_over_5_minutes_fires_and_clears(self):
        rule = self.rule("webhook_delay")
        insert_events(self.env, self.partner, T - timedelta(minutes=10), [400, 420, 30])
        value = rule._partner_values(rule._to_rule(), T)[self.partner.id]
        self.assertAlmostEqual(value, 418.0)
        self.assert_partner_rule(rule, T, T + timedelta(minutes=20))

    def test_unapplied_events_count_with_their_delay_so_far(self):
        rule = self.rule("webhook_delay")
        insert_events(self.env, self.partner, T - timedelta(minutes=12), [None])
        value = rule._partner_values(rule._to_rule(), T)[self.partner.id]
        self.assertEqual(value, 720.0)

    def test_invalid_rule_is_refused(self):
        with self.assertRaisesRegex(ValidationError, "milestone"):
            self.env["shipment.sync.alert.rule"].create(
                {"name": "x", "kind": "milestone_age", "threshold": 10})
        with self.assertRaisesRegex(ValidationError, "threshold"):
            self.env["shipment.sync.alert.rule"].create(
                {"name": "x", "kind": "queue_depth", "threshold": -1})

    def test_cron_evaluates_every_active_rule(self):
        results = self.env["shipment.sync.alert.rule"]._cron_evaluate(now=T)
        self.assertTrue(set(results) >= {self.rule("queue_depth").id,
                                         self.rule("packed_no_label").id})

    def test_many_breaches_open_in_batches_over_successive_runs(self):
        pickings = [self.make_picking() for _i in range(3)]
        with freeze_time(T):
            for picking in pickings:
                picking._shipment_internal_event(milestone="packed")
        rule = self.rule("packed_no_label")
        ids = [p.id for p in pickings]

        def active():
            return self.Alert.search_count([("rule_id", "=", rule.id), ("state", "=", "active"),
                                            ("picking_id", "in", ids)])
        with patch.object(rule_module, "MAX_NEW_BREACHES", 2):
            self.evaluate(rule, T + timedelta(hours=1))
            self.assertEqual(active(), 2)
            self.evaluate(rule, T + timedelta(hours=1, minutes=5))
            self.assertEqual(active(), 3)


@tagged("post_install", "-at_install")
class TestAlertRuleAudit(MonitorCommon, TransactionCase):
    def test_rule_changes_are_tracked_in_chatter_with_old_and_new_values(self):
        rule = self.env.ref("shipment_sync_monitor.alert_rule_packed_no_label")
        old_threshold = rule.threshold
        rule.with_context(tracking_disable=False).write(
            {"threshold": old_threshold + 15, "operator": ">="})
        self.env.flush_all()
        self.env.cr.precommit.run()  # tracking values are written before commit
        values = rule.message_ids[:1].tracking_value_ids
        tracked = {v.field_id.name: v for v in values}
        self.assertIn("threshold", tracked)
        self.assertEqual(tracked["threshold"].old_value_float, old_threshold)
        self.assertEqual(tracked["threshold"].new_value_float, old_threshold + 15)
        self.assertIn("operator", tracked)
