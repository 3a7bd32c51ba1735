"""ETA prediction: lane statistics folded from delivered shipments by the
cron (once each), predictions and the late-risk flag of shipments in
transit, the carrier's own estimate beside ours, the late-risk alert rule,
the "running late" notification, and the backtest on a generated history.

Transit times of the fixed history are 10.5, 20.5, 30.5, 40.5 and 50.5
hours: p50 = 30.5 h, p90 = 30.5 + ... = 40.5 + 0.6 * 10 = 46.5 h, mean 30.5 h
(see tests/test_eta_math.py for the histogram arithmetic)."""

import uuid
from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo.tests import TransactionCase, tagged

from shipsync import eta
from shipsync.normalizers import CanonicalEvent

from .common import MonitorCommon

T = datetime(2026, 10, 5, 8, 0)
HISTORY_HOURS = (10.5, 20.5, 30.5, 40.5, 50.5)


@tagged("post_install", "-at_install")
class TestEta(MonitorCommon, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_monitor()
        cls.Lane = cls.env["shipment.sync.lane"]
        product = cls.env["product.product"].create({"name": "ETA shipping",
                                                     "type": "service"})
        cls.lane_carrier = cls.env["delivery.carrier"].create(
            {"name": "ETA Carrier", "product_id": product.id})
        cls.france = cls.env.ref("base.fr")
        cls.customer.write({"country_id": cls.france.id, "zip": "75011",
                            "email": "ada@example.com"})
        cls.picking.carrier_id = cls.lane_carrier
        cls.history = cls.env["stock.picking"]
        for n, hours in enumerate(HISTORY_HOURS):
            start = T - timedelta(days=20 - n)
            cls.history |= cls.delivered_picking(start, start + timedelta(hours=hours))

    @classmethod
    def delivered_picking(cls, handed_over_at, delivered_at):
        picking = cls.make_picking(carrier_id=cls.lane_carrier.id)
        # (freeze_time: the governance override of _shipment_internal_event
        # does not pass occurred_at on; the events occur "now".)
        with freeze_time(handed_over_at):
            picking._shipment_internal_event(milestone="handed_over")
        with freeze_time(delivered_at):
            picking._shipment_internal_event(milestone="delivered")
        return picking

    def lanes(self):
        return self.Lane.search([("carrier_id", "=", self.lane_carrier.id)])

    def hand_over(self, picking=None, at=T):
        picking = picking or self.picking
        with freeze_time(at):
            picking._shipment_internal_event(milestone="handed_over")
        return picking

    # ------------------------------------------------------------------
    # lane statistics
    # ------------------------------------------------------------------
    def test_lane_statistics_from_a_fixed_history(self):
        self.Lane._cron_fold(now=T)
        lanes = self.lanes()
        self.assertEqual(sorted(lanes.mapped("level")), sorted(eta.LEVELS))
        for lane in lanes:
            self.assertEqual(lane.sample_count, 5)
            self.assertAlmostEqual(lane.p50_hours, 30.5)
            self.assertAlmostEqual(lane.p90_hours, 46.5)
            self.assertAlmostEqual(lane.mean_hours, 30.5)
        full = lanes.filtered(lambda lane: lane.level == "lane")
        self.assertEqual(full.dest_country_id, self.france)
        self.assertEqual(full.dest_zip_prefix, "75")
        self.assertEqual(full.carrier_id, self.lane_carrier)
        self.assertEqual(full.last_update, T)
        self.assertTrue(all(self.history.mapped("shipment_eta_folded")))

    def test_cron_folds_each_delivery_once(self):
        self.Lane._cron_fold(now=T)
        self.Lane._cron_fold(now=T + timedelta(hours=1))
        self.assertEqual(set(self.lanes().mapped("sample_count")), {5})
        # A new delivery is folded by the next run, once.
        late = self.delivered_picking(T - timedelta(days=3), T - timedelta(days=3, hours=-60.5))
        self.Lane._cron_fold(now=T + timedelta(hours=2))
        self.Lane._cron_fold(now=T + timedelta(hours=3))
        lanes = self.lanes()
        self.assertEqual(set(lanes.mapped("sample_count")), {6})
        # 10.5 .. 60.5: median between 30.5 and 40.5.
        self.assertAlmostEqual(lanes[0].p50_hours, 35.5)
        self.assertTrue(late.shipment_eta_folded)

    def test_fold_runs_in_batches_and_each_batch_adds_up(self):
        # Other deliveries of the database (demo data) out of the way.
        self.env.flush_all()
        self.env.cr.execute("UPDATE stock_picking SET shipment_eta_folded = TRUE "
                            "WHERE id NOT IN %s", (tuple(self.history.ids),))
        self.env.invalidate_all()
        self.Lane._cron_fold(now=T, batch=2)
        self.assertEqual(set(self.lanes().mapped("sample_count")), {2})
        self.Lane._cron_fold(now=T, batch=2)
        self.Lane._cron_fold(now=T, batch=2)
        self.Lane._cron_fold(now=T, batch=2)
        self.assertEqual(set(self.lanes().mapped("sample_count")), {5})
        self.assertAlmostEqual(self.lanes()[0].p90_hours, 46.5)

    # ------------------------------------------------------------------
    # predictions
    # ------------------------------------------------------------------
    def test_in_transit_picking_is_predicted_from_its_lane(self):
        self.Lane._cron_fold(now=T)
        self.hand_over()
        with freeze_time(T + timedelta(hours=2)):
            self.ingest(self.carrier, "in_transit", at=T + timedelta(hours=2))
        self.Lane._cron_fold(now=T + timedelta(hours=10))
        picking = self.picking
        self.assertEqual(picking.shipment_eta_predicted, T + timedelta(hours=30.5))
        self.assertEqual(picking.shipment_eta_p90, T + timedelta(hours=46.5))
        self.assertEqual(picking.shipment_eta_lane_id.level, "lane")
        self.assertFalse(picking.shipment_eta_late_risk)
        self.assertEqual(picking._shipment_customer_eta()["predicted"],
                         T + timedelta(hours=30.5))

    def test_milestone_change_predicts_without_waiting_for_the_cron(self):
        self.Lane._cron_fold(now=T)
        self.hand_over()
        self.assertEqual(self.picking.shipment_eta_predicted, T + timedelta(hours=30.5))

    def test_too_few_samples_falls_back_then_predicts_nothing(self):
        self.Lane._cron_fold(now=T)
        # Another postcode of France: the full lane has no history, the
        # carrier + service + France level (5 deliveries) answers.
        lyon = self.env["res.partner"].create({"name": "Lyon", "country_id": self.france.id,
                                               "zip": "69001"})
        other = self.make_picking(carrier_id=self.lane_carrier.id, partner_id=lyon.id)
        self.hand_over(other)
        self.assertEqual(other.shipment_eta_lane_id.level, "dest_country")
        self.assertEqual(other.shipment_eta_predicted, T + timedelta(hours=30.5))
        # With 6 samples required, nothing answers.
        self.env["ir.config_parameter"].set_param("shipment_sync_monitor.eta_min_samples", "6")
        other._shipment_eta_recompute(now=T + timedelta(hours=1))
        self.assertFalse(other.shipment_eta_predicted)
        self.assertFalse(other.shipment_eta_lane_id)

    def test_unreadable_settings_and_histograms_fall_back_quietly(self):
        self.Lane._cron_fold(now=T)
        params = self.env["ir.config_parameter"]
        params.set_param("shipment_sync_monitor.eta_min_samples", "many")
        params.set_param("shipment_sync_monitor.eta_postcode_prefix", "-")
        self.assertEqual(self.Lane._eta_params(), (eta.DEFAULT_MIN_SAMPLES,
                                                  eta.DEFAULT_PREFIX_LENGTH))
        lane = self.lanes()[0]
        lane.histogram = '{"b": {"3": 9}, "n": 1}'
        with self.assertLogs("odoo.addons.shipment_sync_monitor.models.shipment_sync_lane",
                             "WARNING"):
            self.assertEqual(lane._eta_stats().count, 0)

    def test_late_risk_when_the_prediction_passes_the_promised_date(self):
        self.Lane._cron_fold(now=T)
        self.picking.date_deadline = T + timedelta(hours=36)
        self.hand_over()
        self.picking._shipment_eta_recompute(now=T + timedelta(hours=10))
        self.assertFalse(self.picking.shipment_eta_late_risk)
        self.assertAlmostEqual(self.picking.shipment_eta_late_hours, -5.5)
        self.picking.date_deadline = T + timedelta(hours=30)
        self.picking._shipment_eta_recompute(now=T + timedelta(hours=10))
        self.assertTrue(self.picking.shipment_eta_late_risk)
        self.assertAlmostEqual(self.picking.shipment_eta_late_hours, 0.5)
        self.assertEqual(self.picking.shipment_eta_promised_date, T + timedelta(hours=30))
        late = self.env["stock.picking"].search(
            [("shipment_eta_late_risk", "=", True), ("id", "=", self.picking.id)])
        self.assertEqual(late, self.picking)
        # Past the median, the lane's longer transits say 7.5 h more at 35 h.
        self.picking.date_deadline = T + timedelta(hours=48)
        self.picking._shipment_eta_recompute(now=T + timedelta(hours=35))
        self.assertEqual(self.picking.shipment_eta_predicted, T + timedelta(hours=42.5))
        self.assertFalse(self.picking.shipment_eta_late_risk)

    def test_delivery_clears_the_late_risk(self):
        self.Lane._cron_fold(now=T)
        self.picking.date_deadline = T + timedelta(hours=12)
        self.hand_over()
        self.assertTrue(self.picking.shipment_eta_late_risk)
        with freeze_time(T + timedelta(hours=20)):
            self.ingest(self.carrier, "delivered", at=T + timedelta(hours=20))
        self.assertEqual(self.picking.shipment_milestone, "delivered")
        self.assertFalse(self.picking.shipment_eta_late_risk)

    def test_carrier_eta_is_shown_beside_the_prediction(self):
        self.Lane._cron_fold(now=T)
        self.hand_over()
        carrier_eta = T + timedelta(hours=26)
        event = CanonicalEvent(external_id=uuid.uuid4().hex, occurred_at=T + timedelta(hours=1),
                               milestone="in_transit", picking_ref=self.picking.name,
                               carrier_eta=carrier_eta)
        with freeze_time(T + timedelta(hours=1)):
            new, _dups = self.Event._ingest(self.carrier, [event])
            new._apply_now()
        self.picking.invalidate_recordset()
        self.assertEqual(self.picking.shipment_carrier_eta, carrier_eta)
        self.assertEqual(self.picking.shipment_eta_predicted, T + timedelta(hours=30.5))
        self.assertEqual(self.picking._shipment_customer_eta(),
                         {"predicted": T + timedelta(hours=30.5), "carrier": carrier_eta})

    # ------------------------------------------------------------------
    # monitor and customer
    # ------------------------------------------------------------------
    def test_default_alert_rule_raises_for_late_risk_and_clears(self):
        rule = self.env.ref("shipment_sync_monitor.alert_rule_late_risk")
        self.assertEqual(rule.kind, "late_risk")
        self.Lane._cron_fold(now=T)
        self.picking.date_deadline = T + timedelta(hours=12)
        self.hand_over()
        key = f"picking:{self.picking.id}"
        with freeze_time(T + timedelta(hours=1)):
            plan = rule._evaluate(T + timedelta(hours=1))
        self.assertIn(key, plan.opened)
        alert = self.env["shipment.sync.alert"].search([("rule_id", "=", rule.id),
                                                         ("picking_id", "=", self.picking.id)])
        self.assertEqual(alert.state, "active")
        self.assertAlmostEqual(alert.first_value, 18.5)  # 30.5 h predicted vs 12 h promised
        self.assertEqual(self.picking.shipment_exception_reason, "sla_breach")
        with freeze_time(T + timedelta(hours=2)):
            plan = rule._evaluate(T + timedelta(hours=2))
        self.assertIn(key, plan.continuing)
        with freeze_time(T + timedelta(hours=20)):
            self.ingest(self.carrier, "delivered", at=T + timedelta(hours=20))
            plan = rule._evaluate(T + timedelta(hours=20))
        self.assertIn(key, plan.cleared)
        self.assertEqual(alert.state, "cleared")

    def test_late_risk_rule_threshold_is_hours_late(self):
        rule = self.env.ref("shipment_sync_monitor.alert_rule_late_risk")
        rule.threshold = 24
        self.Lane._cron_fold(now=T)
        self.picking.date_deadline = T + timedelta(hours=12)
        self.hand_over()
        with freeze_time(T + timedelta(hours=1)):
            plan = rule._evaluate(T + timedelta(hours=1))
        self.assertNotIn(f"picking:{self.picking.id}", plan.opened)  # 18.5 h late only

    def running_late(self):
        return self.env["shipment.sync.notification"].search(
            [("picking_id", "=", self.picking.id), ("kind", "=", "running_late")])

    def test_running_late_email_is_recorded_once_when_switched_on(self):
        self.env.company.shipment_sync_notify_running_late = True
        self.Lane._cron_fold(now=T)
        self.picking.date_deadline = T + timedelta(hours=12)
        self.hand_over()
        self.assertTrue(self.picking.shipment_eta_late_risk)
        self.assertEqual(len(self.running_late()), 1)
        self.assertEqual(self.running_late().key, "running_late")
        self.assertEqual(self.running_late().state, "pending")
        # Still late at the next runs, late again after going back on time:
        # never a second email.
        self.Lane._cron_fold(now=T + timedelta(hours=2))
        self.picking.date_deadline = T + timedelta(hours=100)
        self.picking._shipment_eta_recompute(now=T + timedelta(hours=3))
        self.assertFalse(self.picking.shipment_eta_late_risk)
        self.picking.date_deadline = T + timedelta(hours=12)
        self.picking._shipment_eta_recompute(now=T + timedelta(hours=4))
        self.assertTrue(self.picking.shipment_eta_late_risk)
        self.assertEqual(len(self.running_late()), 1)
        template = self.picking._shipment_notification_template("running_late")
        self.assertEqual(template, self.env.ref(
            "shipment_sync_monitor.mail_template_shipment_running_late"))

    def test_running_late_email_is_off_by_default(self):
        self.assertFalse(self.env.company.shipment_sync_notify_running_late)
        self.Lane._cron_fold(now=T)
        self.picking.date_deadline = T + timedelta(hours=12)
        self.hand_over()
        self.assertTrue(self.picking.shipment_eta_late_risk)
        self.assertFalse(self.running_late())

    # ------------------------------------------------------------------
    # backtest
    # ------------------------------------------------------------------
    def test_backtest_on_a_generated_history_beats_the_carrier_average(self):
        created = self.Lane._eta_generate_history(1200, seed=3)
        self.assertEqual(created, 1200)
        result = self.Lane._eta_backtest(company_ids=[self.env.company.id], min_samples=5)
        self.assertGreaterEqual(result.model.total, 1200)
        self.assertEqual(result.model.count, result.baseline.count)
        self.assertGreater(result.model.count, 1000)
        self.assertLess(result.model.mae_hours, result.baseline.mae_hours)
        self.assertGreaterEqual(result.model.within_p90, 0.75)
        # The generated shipments fold into lanes like any delivery.
        self.Lane._cron_fold(now=datetime(2026, 9, 1))
        express = self.Lane.search([("carrier_id.name", "=", "Lane Express"),
                                    ("level", "=", "carrier")])
        self.assertGreater(express.sample_count, 300)  # about a third of 1200

    def test_demo_history_teaches_the_lanes_and_stays_out_of_the_lists(self):
        Picking = self.env["stock.picking"]
        Picking.search([("name", "=like", "ETAGEN/%")]).unlink()  # a fresh start
        self.env["ir.config_parameter"].sudo().set_param(
            "shipment_sync_monitor.eta_demo_history", False)
        carriers = [name for name, _service, _factor in eta.SYNTHETIC_CARRIERS]

        def samples():
            return sum(self.Lane.search([("level", "=", "carrier"),
                                         ("carrier_id.name", "in", carriers)])
                       .mapped("sample_count"))

        before = samples()
        self.assertEqual(self.Lane._eta_demo(count=60), 60)
        # The lanes of the synthetic carriers learnt from the 60 deliveries ...
        self.assertEqual(samples() - before, 60)
        # ... which are in no list: the Deliveries list and the transfers.
        self.assertFalse(Picking.search([("name", "=like", "ETAGEN/%")]))
        self.assertFalse(Picking.search([("picking_type_code", "=", "outgoing"),
                                         ("partner_id.name", "=like", "ETAGEN customer%")]))
        # Made once: a module update does not make it again.
        self.assertEqual(self.Lane._eta_demo(count=60), 0)
