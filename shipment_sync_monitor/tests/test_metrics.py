"""GET /shipment_sync/metrics: Prometheus text, bearer token from the settings."""

from datetime import timedelta

from odoo import fields
from odoo.tests import HttpCase, TransactionCase, tagged

from shipsync import monitor as mon

from .common import MonitorCommon, insert_attempts, insert_events, insert_jobs

URL = "/shipment_sync/metrics"


@tagged("post_install", "-at_install")
class TestMetricsEndpoint(MonitorCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_monitor()
        cls.env["ir.config_parameter"].sudo().set_param(
            "shipment_sync_monitor.metrics_token", "s3cret-token")

    def get(self, token=None, scheme="Bearer"):
        headers = {"Authorization": f"{scheme} {token}"} if token else {}
        return self.url_open(URL, headers=headers)

    def test_metrics_refused_without_token(self):
        res = self.get()
        self.assertEqual(res.status_code, 401)
        self.assertIn("Bearer", res.headers["WWW-Authenticate"])
        self.assertNotIn("shipsync_", res.text)

    def test_metrics_refused_with_wrong_token_or_scheme(self):
        self.assertEqual(self.get("wrong").status_code, 401)
        self.assertEqual(self.get("s3cret-token", scheme="Basic").status_code, 401)

    def test_metrics_refused_when_no_token_is_configured(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "shipment_sync_monitor.metrics_token", False)
        self.assertEqual(self.get("s3cret-token").status_code, 401)

    def test_settings_store_the_token(self):
        settings = self.env["res.config.settings"].create(
            {"shipment_sync_metrics_token": "from-settings"})
        settings.execute()
        self.assertEqual(self.get("from-settings").status_code, 200)

    def test_metrics_content(self):
        now = fields.Datetime.now()
        insert_jobs(self.env, self.partner, 3, state="pending")
        dead = insert_jobs(self.env, self.partner, 1, state="dead")
        insert_attempts(self.env, dead, ["retry", "dead"], now)
        insert_events(self.env, self.carrier, now, [0.3, 4.0, None])
        self.picking._shipment_internal_event(exception_reason="sync_failed")
        res = self.get("s3cret-token")
        self.assertEqual(res.status_code, 200)
        self.assertEqual(res.headers["Content-Type"], mon.CONTENT_TYPE)
        self.assertIn("# TYPE shipsync_webhook_apply_delay_seconds histogram", res.text)
        m = mon.parse_text(res.text)
        code, carrier = self.partner.code, self.carrier.code
        self.assertEqual(m[("shipsync_outbox_queue_depth", (("partner", code),))], 3)
        self.assertEqual(m[("shipsync_outbox_jobs", (("partner", code), ("state", "dead")))], 1)
        self.assertEqual(m[("shipsync_outbox_attempts_total",
                            (("partner", code), ("outcome", "retry")))], 1)
        self.assertEqual(m[("shipsync_events_total", (("partner", carrier),
                                                      ("direction", "inbound")))], 3)
        self.assertEqual(m[("shipsync_events_applied_total", (("partner", carrier),
                                                              ("direction", "inbound")))], 2)
        self.assertEqual(m[("shipsync_events", (("partner", carrier), ("direction", "inbound"),
                                                ("state", "applied")))], 2)
        self.assertEqual(m[("shipsync_events", (("partner", carrier), ("direction", "inbound"),
                                                ("state", "received")))], 1)
        hist = "shipsync_webhook_apply_delay_seconds_bucket"
        self.assertEqual(m[(hist, (("partner", carrier), ("le", "0.5")))], 1)
        self.assertEqual(m[(hist, (("partner", carrier), ("le", "5")))], 2)
        self.assertEqual(m[(hist, (("partner", carrier), ("le", "+Inf")))], 2)
        self.assertEqual(m[("shipsync_webhook_apply_delay_seconds_count",
                            (("partner", carrier),))], 2)
        self.assertEqual(m[("shipsync_breaker_state", (("partner", code),
                                                       ("state", "closed")))], 1)
        self.assertEqual(m[("shipsync_breaker_state", (("partner", code),
                                                       ("state", "open")))], 0)
        self.assertEqual(m[("shipsync_outbox_pause_seconds", (("partner", code),))], 0)
        open_sync_failed = self.Card.search_count(
            [("reason", "=", "sync_failed"), ("state", "=", "open")])
        self.assertGreaterEqual(open_sync_failed, 1)
        self.assertEqual(m[("shipsync_open_exceptions", (("reason", "sync_failed"),
                                                         ("state", "open")))], open_sync_failed)

    def test_metrics_expose_a_partner_wide_pause(self):
        self.env.cr.execute(
            "UPDATE shipment_sync_partner SET outbox_paused_until = now() at time zone 'UTC' "
            "+ interval '90 seconds', outbox_pause_reason = 'HTTP 503 Retry-After: 90' "
            "WHERE id = %s", (self.partner.id,))
        m = mon.parse_text(self.get("s3cret-token").text)
        left = m[("shipsync_outbox_pause_seconds", (("partner", self.partner.code),))]
        self.assertTrue(80 < left <= 91, left)
        self.assertEqual(m[("shipsync_outbox_pause_seconds", (("partner", self.carrier.code),))],
                         0)


@tagged("post_install", "-at_install")
class TestMetricCounters(MonitorCommon, TransactionCase):
    """Prometheus counters only grow: events moving from received to applied,
    and the purge cron deleting finished jobs and their attempts, never make
    a counter go down."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_monitor()

    def counters(self):
        m = mon.parse_text(self.env["shipment.sync.metrics"]._metrics_text())
        return {k: v for k, v in m.items() if k[0].endswith("_total")}

    def assert_grew(self, before, after):
        for key, value in before.items():
            self.assertIn(key, after, f"{key} vanished")
            self.assertGreaterEqual(after[key], value, f"{key} went down")

    def test_counters_never_go_down(self):
        now = fields.Datetime.now()
        events = insert_events(self.env, self.carrier, now, [None, None])
        job = insert_jobs(self.env, self.partner, 1, state="done")
        insert_attempts(self.env, job, ["retry", "done"], now - timedelta(days=90))
        job.write(
            {"done_at": now - timedelta(days=90)})
        before = self.counters()
        code = self.partner.code
        self.assertEqual(before[("shipsync_outbox_attempts_total",
                                 (("partner", code), ("outcome", "retry")))], 1)
        # the events are applied: received stays, applied grows
        self.env.cr.execute("UPDATE shipment_sync_event SET state = 'applied', applied_at = %s "
                            "WHERE id IN %s", (now, tuple(events.ids)))
        self.env.invalidate_all()
        after_apply = self.counters()
        self.assert_grew(before, after_apply)
        key = ("shipsync_events_applied_total", (("partner", self.carrier.code),
                                                 ("direction", "inbound")))
        self.assertEqual(after_apply[key], before.get(key, 0) + 2)
        # the purge cron deletes the old job and its attempts: the counter keeps them
        self.assertGreaterEqual(self.env["shipment.sync.job"]._cron_outbox_purge(), 1)
        self.assertFalse(job.exists())
        after_purge = self.counters()
        self.assert_grew(after_apply, after_purge)
        self.assertEqual(after_purge[("shipsync_outbox_attempts_total",
                                      (("partner", code), ("outcome", "retry")))], 1)
