"""The dashboard's hourly rollups of inbound events (shipment.sync.kpi.hour):
the cron rolls closed hours once, and the tiles that read them give the
figures the events themselves give (counts exactly, percentiles within one
histogram bucket)."""

import random
from datetime import timedelta

from odoo import fields
from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL

from odoo.addons.shipment_sync_monitor.models.shipment_sync_kpi_hour import (
    BACKFILL,
    closed_until,
    delay_bucket_sql,
    floor_hour,
)

from shipsync import monitor as mon

from .common import MonitorCommon, insert_events


@tagged("post_install", "-at_install")
class TestDashboardRollups(MonitorCommon, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_monitor()
        env = cls.env
        cls.now = now = fields.Datetime.now().replace(microsecond=0)
        cls.company = env["res.company"].create({"name": "Rollup Co"})
        cls.env = env = env(context=dict(env.context, allowed_company_ids=[cls.company.id]))
        cls.p = env["shipment.sync.partner"].create({
            "name": "Rollup Carrier", "code": "rollup-carrier", "company_id": cls.company.id})
        cls.p2 = env["shipment.sync.partner"].create({
            "name": "Rollup Other", "code": "rollup-other", "company_id": cls.company.id})
        cls.Dash = env["shipment.sync.dashboard"]
        cls.Hour = env["shipment.sync.kpi.hour"]
        rng = random.Random(14)
        # Events over the last 50 hours (and the current one), on the hour
        # edges too; a quarter not applied yet, some applied an hour later.
        for hours_ago in range(0, 50):
            for partner in (cls.p, cls.p2):
                received = now - timedelta(hours=hours_ago, minutes=rng.randint(0, 59),
                                           seconds=rng.randint(0, 59))
                received = min(received, now - timedelta(seconds=1))
                delays = [None if rng.random() < 0.25 else round(rng.lognormvariate(1.5, 1), 3)
                          for _i in range(rng.randint(1, 6))]
                if hours_ago % 7 == 0:
                    delays.append(3600.0)
                if hours_ago % 5 == 0:
                    insert_events(env, partner, floor_hour(received), [0.2])
                insert_events(env, partner, received,
                              [d if d is None or received + timedelta(seconds=d) < now else None
                               for d in delays])
        # Received before the 7-day period, applied in it (counted by applied time).
        insert_events(env, cls.p, now - timedelta(days=8), [86400.0 * 2])
        env.flush_all()
        cls.filters = {"period": "7d", "now": fields.Datetime.to_string(now),
                       "company_ids": [cls.company.id]}

    def roll(self, now, chunk=None):
        runs = 0
        kw = {"chunk": chunk} if chunk else {}
        while self.Hour._cron_roll_up(now=now, **kw):
            runs += 1
            self.assertLess(runs, 500)
        return runs

    def tile(self, key, live=False, **extra):
        dash = self.Dash.with_context(shipment_sync_dashboard_live=True) if live else self.Dash
        return dash.get_tile(key, dict(self.filters, **extra))

    def rows(self, all_partners=False):
        self.env.cr.execute(
            "SELECT hour, event_count, applied_count, delay_histogram "
            "FROM shipment_sync_kpi_hour WHERE company_id = %s AND all_partners = %s "
            "ORDER BY hour, partner_id", (self.company.id, all_partners))
        return self.env.cr.fetchall()

    def count_events(self, column, start, end):
        self.env.cr.execute(
            f"SELECT count(*) FROM shipment_sync_event WHERE company_id = %s "  # noqa: S608
            f"AND direction = 'inbound' AND {column} >= %s AND {column} < %s",
            (self.company.id, start, end))
        return self.env.cr.fetchone()[0]

    def assert_within_a_bucket(self, approx, exact, what):
        width = max(exact * (mon.DELAY_BUCKET_GROWTH - 1), mon.DELAY_BUCKET_FLOOR)
        self.assertLessEqual(abs(approx - exact), width * 1.03, f"{what}: {approx} vs {exact}")

    def test_sql_bucket_is_the_engine_bucket(self):
        for seconds in (-1.0, 0.0, 0.005, 0.01, 0.25, 1.0, 3.3, 59.9, 3600.0, 172800.0):
            self.env.cr.execute(SQL(
                "SELECT %s FROM (SELECT now() AS received_at, "
                "now() + make_interval(secs => %s) AS applied_at) e",
                delay_bucket_sql("e"), seconds))
            self.assertEqual(self.env.cr.fetchone()[0], mon.delay_bucket(seconds), seconds)

    def test_cron_rolls_closed_hours_once_and_advances_the_watermark(self):
        self.assertEqual(self.Hour._rolled_range(), (None, None))
        runs = self.roll(self.now, chunk=timedelta(days=30))
        end = closed_until(self.now)
        self.assertEqual(runs, 4, "92 days in chunks of 30: 30 + 30 + 30 + 2")
        self.assertEqual(self.Hour._rolled_range(), (end - BACKFILL, end))
        rows = self.rows()
        self.assertTrue(rows)
        self.assertLess(max(r[0] for r in rows), end, "the current hour is not closed")
        self.assertGreaterEqual(self.now - end, timedelta(minutes=10),
                                "an hour is rolled ten minutes after it ends")
        self.assertEqual(sum(r[1] for r in rows),
                         self.count_events("received_at", end - BACKFILL, end))
        self.assertEqual(sum(r[2] for r in rows),
                         self.count_events("applied_at", end - BACKFILL, end))
        for _hour, _received, applied, hist in rows:
            self.assertEqual(sum(hist.values()), applied)
        # The rows of all partners together add up the partners' rows, hour by hour.
        per_hour = {}
        for hour, received, applied, hist in rows:
            total = per_hour.setdefault(hour, [0, 0, {}])
            total[0] += received
            total[1] += applied
            total[2] = mon.merge_histograms(total[2], hist)
        self.assertEqual({hour: [received, applied, mon.merge_histograms(hist)]
                          for hour, received, applied, hist in self.rows(all_partners=True)},
                         per_hour)
        # Idempotent: nothing more to roll, nothing rolled twice.
        self.assertEqual(self.roll(self.now), 0)
        self.assertEqual(self.rows(), rows)
        # Two hours later: two more hours, from the watermark.
        later = self.now + timedelta(hours=2)
        self.assertEqual(self.Hour._cron_roll_up(now=later), 2)
        self.assertEqual(self.Hour._rolled_range(), (end - BACKFILL, end + timedelta(hours=2)))
        rows = self.rows()
        self.assertEqual(sum(r[1] for r in rows),
                         self.count_events("received_at", end - BACKFILL, later))

    def test_rolled_tiles_give_the_live_figures(self):
        self.roll(self.now)
        for period in ("24h", "7d", "90d"):
            rate = self.tile("events_per_hour", period=period)
            live = self.tile("events_per_hour", live=True, period=period)
            self.assertEqual(rate["figures"]["count"], live["figures"]["count"], period)
            self.assertEqual(rate["value"], live["value"])
            step = rate["trend"]["step"] / 3600.0
            values = rate["trend"]["values"]  # rates rounded to 0.01 / h
            self.assertAlmostEqual(sum(v * step for v in values), rate["figures"]["count"],
                                   delta=0.005 * step * len(values) + 1e-6)
            delay = self.tile("webhook_delay", period=period)
            exact = self.tile("webhook_delay", live=True, period=period)
            self.assertEqual(delay["figures"]["count"], exact["figures"]["count"], period)
            self.assertGreater(exact["figures"]["count"], 50)
            for q in ("p50", "p95"):
                self.assert_within_a_bucket(delay["figures"][q], exact["figures"][q],
                                            f"{period} {q}")
            self.assertEqual(self.env["shipment.sync.event"].search_count(
                delay["action"]["domain"]), exact["figures"]["count"])
        # The partner filter reads the partner's rows only.
        for key in ("events_per_hour", "webhook_delay"):
            self.assertEqual(self.tile(key, partner_id=self.p2.id)["figures"]["count"],
                             self.tile(key, live=True, partner_id=self.p2.id)["figures"]["count"])

    def test_rolled_hours_are_read_from_the_rollups(self):
        self.roll(self.now)
        before = self.tile("events_per_hour")["figures"]["count"]
        # An event back-dated into a rolled (closed) hour is not in its rollup:
        # the tile reads the rollup, the live path the events.
        insert_events(self.env, self.p, closed_until(self.now) - timedelta(hours=3), [None])
        self.env.flush_all()
        self.assertEqual(self.tile("events_per_hour")["figures"]["count"], before)
        self.assertEqual(self.tile("events_per_hour", live=True)["figures"]["count"],
                         before + 1)

    def test_hours_not_rolled_yet_are_counted_live_once(self):
        exact = self.tile("webhook_delay", live=True)["figures"]
        rate = self.tile("events_per_hour", live=True)["figures"]["count"]
        self.assertEqual(self.tile("events_per_hour")["figures"]["count"], rate,
                         "no rollup yet: all live")
        self.assertEqual(self.tile("webhook_delay")["figures"], exact,
                         "no rollup used: exact percentiles")
        # Rolled up to 5 hours ago: the 5 hours since and the current one are live.
        self.roll(self.now - timedelta(hours=5))
        self.assertEqual(self.Hour._rolled_range()[1],
                         closed_until(self.now - timedelta(hours=5)))
        for when in (self.now - timedelta(hours=5), self.now):
            self.roll(when)
            self.assertEqual(self.tile("events_per_hour")["figures"]["count"], rate)
            delay = self.tile("webhook_delay")["figures"]
            self.assertEqual(delay["count"], exact["count"])
            self.assert_within_a_bucket(delay["p95"], exact["p95"], "p95")
        # An event received now, in the current hour, is counted at once.
        insert_events(self.env, self.p, self.now - timedelta(seconds=1), [None])
        self.env.flush_all()
        self.assertEqual(self.tile("events_per_hour")["figures"]["count"], rate + 1)

    def test_warehouse_filter_counts_live(self):
        self.roll(self.now)
        warehouse = self.env["stock.warehouse"].search([("company_id", "=", self.company.id)])
        # Events without a picking are in no warehouse: the live path knows it.
        self.assertEqual(self.tile("events_per_hour", warehouse_id=warehouse.id)
                         ["figures"]["count"], 0)

    def test_a_refusal_of_no_company_is_not_rolled_and_stops_nothing(self):
        # A webhook to an unknown partner code is recorded with no partner and
        # no company: the tiles never count it (they read the companies shown).
        self.env["shipment.sync.event"].sudo()._record_rejection(
            "no-such-partner", "unknown_partner", "No active partner with this code.", 404)
        self.env.cr.execute(
            "UPDATE shipment_sync_event SET received_at = %s WHERE partner_code = "
            "'no-such-partner'", [self.now - timedelta(hours=3)])
        self.roll(self.now)
        self.env.cr.execute("SELECT count(*) FROM shipment_sync_kpi_hour WHERE company_id IS NULL")
        self.assertEqual(self.env.cr.fetchone()[0], 0)
        self.assertEqual(self.tile("events_per_hour")["figures"]["count"],
                         self.tile("events_per_hour", live=True)["figures"]["count"])

