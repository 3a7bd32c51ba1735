"""KPI tiles against figures computed by hand on a small fixture, in a
company of their own so nothing else in the database counts."""

from datetime import timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged

from shipsync import retention

from .common import MonitorCommon, insert_attempts, insert_events, insert_jobs


@tagged("post_install", "-at_install")
class TestDashboardTiles(MonitorCommon, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_monitor()
        env = cls.env
        cls.now = fields.Datetime.now().replace(microsecond=0)
        now = cls.now
        cls.company = env["res.company"].create({"name": "Dashboard Co"})
        cls.env = env = env(context=dict(env.context, allowed_company_ids=[cls.company.id]))
        cls.warehouse = env["stock.warehouse"].search([("company_id", "=", cls.company.id)])
        cls.p = env["shipment.sync.partner"].create({
            "name": "Dash Carrier", "code": "dash-carrier", "company_id": cls.company.id})
        service = env["product.product"].create({"name": "Ship", "type": "service"})
        cls.lane = env["delivery.carrier"].create({
            "name": "Lane A", "product_id": service.id, "company_id": cls.company.id})
        cls.Dash = env["shipment.sync.dashboard"]
        # Outbox: 3 done creations (10, 20, 60 s), 1 dead, 1 pending.
        done = insert_jobs(env, cls.p, 3, state="done", operation="create_shipment")
        for job, seconds in zip(done, (10, 20, 60), strict=True):
            env.cr.execute(
                "UPDATE shipment_sync_job SET create_date = %s, done_at = %s WHERE id = %s",
                (now - timedelta(hours=1), now - timedelta(hours=1) + timedelta(seconds=seconds),
                 job.id))
        dead = insert_jobs(env, cls.p, 1, state="dead", operation="create_shipment")
        insert_jobs(env, cls.p, 1, state="pending", operation="create_shipment")
        env.cr.execute("UPDATE shipment_sync_job SET create_date = %s WHERE partner_id = %s "
                       "AND state <> 'done'", (now - timedelta(hours=1), cls.p.id))
        insert_attempts(env, dead, ["done", "done", "retry", "dead"], now - timedelta(hours=2))
        # Ledger: 4 applied (1, 3, 5, 7 s), 3 unmapped on 2 codes.
        received = now - timedelta(hours=2)
        for delay in (1, 3, 5, 7):
            insert_events(env, cls.p, received, [delay])
        unmapped = insert_events(env, cls.p, received, [None, None, None], state="unmapped")
        for event, code in zip(unmapped, ("X1", "X1", "X2"), strict=True):
            env.cr.execute("UPDATE shipment_sync_event SET state = 'unmapped', raw_code = %s "
                           "WHERE id = %s", (code, event.id))
        env.cr.execute("UPDATE shipment_sync_partner SET outbox_breaker_state = 'open' "
                       "WHERE id = %s", (cls.p.id,))
        # Pickings of the company's warehouse.
        cls.out_type = cls.warehouse.out_type_id
        mk = cls.make_company_picking
        cls.no_tracking = mk(state="done", date_done=now - timedelta(days=1),
                             carrier_id=cls.lane.id)
        mk(state="done", date_done=now - timedelta(days=1), carrier_id=cls.lane.id,
           carrier_tracking_ref="TRK-OK", shipment_milestone="delivered",
           shipment_milestone_date=now - timedelta(hours=3))
        cls.no_scan = mk(carrier_tracking_ref="TRK-1", shipment_milestone="label_created",
                         shipment_milestone_date=now - timedelta(hours=30))
        mk(carrier_tracking_ref="TRK-2", shipment_milestone="label_created",
           shipment_milestone_date=now - timedelta(hours=2))
        cls.overdue = mk(state="done", date_done=now - timedelta(days=6), carrier_id=cls.lane.id,
                         carrier_tracking_ref="TRK-3", shipment_milestone="in_transit",
                         shipment_milestone_date=now - timedelta(days=5))
        mk(state="done", date_done=now - timedelta(days=2), carrier_id=cls.lane.id,
           carrier_tracking_ref="TRK-4", shipment_milestone="in_transit",
           shipment_milestone_date=now - timedelta(days=1))
        cls.not_closed = mk(shipment_milestone="delivered",
                            shipment_milestone_date=now - timedelta(hours=5))
        # Exceptions (on pickings of their own: raising one replays the
        # picking's ledger): two unresolved, one resolved.
        ex1, ex2, ex3 = mk(), mk(), mk()
        ex1._shipment_internal_event(exception_reason="label_failed")
        ex2._shipment_internal_event(exception_reason="sync_failed")
        cls.env["shipment.sync.exception"].search(
            [("picking_id", "=", ex2.id)])._monitor_snooze(
            fields.Datetime.now() + timedelta(days=1))
        # Labels created (Odoo's label_created events) for the 3 done bookings.
        cls.labelled = mk(), mk(), mk()
        for picking in cls.labelled:
            event = picking._shipment_internal_event(milestone="label_created")
            env.cr.execute("UPDATE shipment_sync_event SET received_at = %s WHERE id = %s",
                           (now - timedelta(hours=1), event.id))
        ex3._shipment_internal_event(exception_reason="lost")
        cls.env["shipment.sync.exception"].search(
            [("picking_id", "=", ex3.id)])._monitor_resolve("found")
        cls.filters = {"period": "7d", "now": fields.Datetime.to_string(now),
                       "company_ids": [cls.company.id]}

    @classmethod
    def make_company_picking(cls, **sql_vals):
        picking = cls.env["stock.picking"].create({
            "picking_type_id": cls.out_type.id, "company_id": cls.company.id,
            "location_id": cls.out_type.default_location_src_id.id,
            "location_dest_id": cls.env.ref("stock.stock_location_customers").id,
        })
        if sql_vals:
            cls.env.flush_all()
            cols = ", ".join(f"{k} = %s" for k in sql_vals)
            cls.env.cr.execute(f"UPDATE stock_picking SET {cols} WHERE id = %s",  # noqa: S608
                               (*sql_vals.values(), picking.id))
            cls.env.invalidate_all()
        return picking

    def tile(self, key, **extra):
        return self.Dash.get_tile(key, dict(self.filters, **extra))

    def assert_click_through(self, tile, expected):
        action = tile["action"]
        self.assertEqual(self.env[action["res_model"]].search_count(action["domain"]), expected)

    def assert_lines_open_their_numbers(self, tile):
        for line in tile["lines"]:
            if line.get("action") and line.get("count") is not None:
                action = line["action"]
                self.assertEqual(
                    self.env[action["res_model"]].search_count(action["domain"]),
                    line["count"], f"{tile['key']}: {line['text']}")

    def test_creation_success_rate_counts_labels_against_dead_bookings(self):
        tile = self.tile("creation_success")
        self.assertEqual(tile["value"], 75.0)
        self.assertEqual(tile["figures"], {"done": 3, "dead": 1, "total": 4})
        self.assertEqual(tile["headline"], "75 %")
        self.assertEqual([line["count"] for line in tile["lines"]], [3, 1])
        self.assert_lines_open_their_numbers(tile)
        self.assert_click_through(tile, 1)  # the failed bookings

    def test_label_created_at_validation_counts_as_success(self):
        """Before: a label booked at validation (no outbox job) left the tile
        at "– %" (0 of 0 jobs). After: it counts as a created label."""
        picking = self.make_company_picking()
        picking._shipment_internal_event(milestone="label_created")
        later = fields.Datetime.to_string(fields.Datetime.now() + timedelta(minutes=1))
        tile = self.tile("creation_success", now=later)
        self.assertEqual(tile["figures"]["done"], 4)
        self.assertEqual(tile["value"], 80.0)
        self.assert_lines_open_their_numbers(tile)

    def test_empty_tiles_say_so_in_words(self):
        other = self.env["stock.warehouse"].create({
            "name": "Empty WH", "code": "EWH", "company_id": self.company.id})
        tiles = {t["key"]: t for t in self.Dash.get_tiles(dict(self.filters,
                                                                warehouse_id=other.id))}
        for key in ("creation_success", "carrier_ack", "webhook_delay"):
            self.assertEqual(tiles[key]["headline"], "", key)
            self.assertTrue(tiles[key]["empty_text"], key)
            self.assertNotIn("–", tiles[key]["empty_text"])
        self.assertEqual(tiles["creation_success"]["empty_text"],
                         "No label requested in this period")

    def test_every_number_opens_a_list_of_that_many_records(self):
        for tile in self.Dash.get_tiles(self.filters):
            self.assert_lines_open_their_numbers(tile)
            for line in tile["lines"]:
                for raw in ("label_failed", "sync_failed", "lt_1h", "half_open"):
                    self.assertNotIn(raw, line["text"], f"raw code in {tile['key']}")

    def test_queue_depth_and_failures_read_together(self):
        tile = self.tile("partner_queues")
        self.assertEqual(tile["lines"][0]["text"],
                         "Dash Carrier: 1 queued now · 2 of 4 calls failed in the period")

    def test_dashboard_says_when_it_was_computed(self):
        data = self.Dash.get_dashboard(self.filters)
        self.assertEqual(len(data["tiles"]), 13)
        self.assertTrue(fields.Datetime.to_datetime(data["refreshed_at"]))

    def test_carrier_acknowledgement_percentiles(self):
        tile = self.tile("carrier_ack")
        self.assertEqual(tile["figures"]["p50"], 20.0)
        self.assertAlmostEqual(tile["figures"]["p95"], 56.0)
        self.assert_click_through(tile, 3)

    def test_webhook_delay_percentiles_and_events_per_hour(self):
        tile = self.tile("webhook_delay")
        self.assertEqual(tile["figures"]["p50"], 4.0)
        self.assertAlmostEqual(tile["figures"]["p95"], 6.7)
        self.assert_click_through(tile, 4)
        rate = self.tile("events_per_hour")
        self.assertEqual(rate["figures"]["count"], 7)
        self.assertAlmostEqual(rate["value"], 7 / 168)
        self.assertEqual(self.tile("events_per_hour", period="24h")["value"], 7 / 24)

    def test_exception_backlog_by_reason_and_age(self):
        tile = self.tile("exception_backlog")
        self.assertEqual(tile["value"], 2)
        self.assertEqual(tile["figures"]["by_reason"], {"label_failed": 1, "sync_failed": 1})
        self.assertEqual(tile["figures"]["by_age"], {"lt_1h": 2})
        self.assert_click_through(tile, 2)
        texts = [line["text"] for line in tile["lines"]]
        self.assertIn("Label Failed: 1", texts)
        self.assertIn("Sync Failed: 1", texts)
        self.assertIn("By age: < 1 hour: 2", texts)

    def test_dead_letters_queue_depth_failure_rate_and_breakers(self):
        dead = self.tile("dead_letters")
        self.assertEqual(dead["figures"]["by_partner"], {"Dash Carrier": 1})
        self.assert_click_through(dead, 1)
        queues = self.tile("partner_queues")
        self.assertEqual(queues["figures"]["by_partner"],
                         {"Dash Carrier": {"depth": 1, "failure_rate": 50.0}})
        self.assert_click_through(queues, 1)
        breakers = self.tile("breakers")
        self.assertEqual(breakers["value"], 1)
        self.assertEqual(breakers["figures"]["by_partner"], {"Dash Carrier": "open"})
        self.assert_click_through(breakers, 1)

    def test_breaker_tile_shows_a_partner_wide_pause_and_its_reason(self):
        throttled = self.env["shipment.sync.partner"].create({
            "name": "Throttled", "code": "dash-throttled", "company_id": self.company.id})
        until = fields.Datetime.now().replace(microsecond=0) + timedelta(minutes=5)
        self.env.cr.execute(
            "UPDATE shipment_sync_partner SET outbox_paused_until = %s, "
            "outbox_pause_reason = 'HTTP 429 Retry-After: 300' WHERE id IN %s",
            (until, (throttled.id, self.p.id)))
        self.env.invalidate_all()
        breakers = self.tile("breakers")
        self.assertEqual(breakers["value"], 2)
        pause = f"paused until {fields.Datetime.to_string(until)} UTC (HTTP 429 Retry-After: 300)"
        self.assertEqual(breakers["figures"]["by_partner"],
                         {"Dash Carrier": f"open, {pause}", "Throttled": pause})
        self.assert_click_through(breakers, 2)
        # A pause that is over shows nothing.
        self.env.cr.execute("UPDATE shipment_sync_partner SET outbox_paused_until = %s "
                            "WHERE id = %s", (until - timedelta(hours=1), throttled.id))
        self.env.invalidate_all()
        self.assertEqual(self.tile("breakers")["figures"]["by_partner"]["Throttled"], "closed")

    def test_sync_completeness_tiles(self):
        tile = self.tile("shipped_no_tracking")
        self.assertEqual(tile["value"], 1)
        self.assertEqual(self.env["stock.picking"].search(tile["action"]["domain"]),
                         self.no_tracking)
        tile = self.tile("tracking_no_scan")
        self.assertEqual(tile["value"], 1)
        self.assertEqual(self.env["stock.picking"].search(tile["action"]["domain"]),
                         self.no_scan)
        tile = self.tile("transit_overdue")
        self.assertEqual(tile["value"], 1)
        self.assertEqual(self.env["stock.picking"].search(tile["action"]["domain"]),
                         self.overdue)
        tile = self.tile("delivered_not_closed")
        self.assertEqual(tile["value"], 1)
        self.assertEqual(self.env["stock.picking"].search(tile["action"]["domain"]),
                         self.not_closed)

    def test_transit_overdue_reads_the_carrier_lane(self):
        """The usual transit time is the p90 of the carrier's ETA lane: once
        the ETA cron folded 6 deliveries of about a day, the in-transit
        shipment handed over 2 days ago is overdue too (5-day default before)."""
        for hours in (20, 22, 24, 24, 26, 28):
            self.make_company_picking(
                state="done", date_done=self.now - timedelta(days=3), carrier_id=self.lane.id,
                carrier_tracking_ref=f"TRK-L{hours}", shipment_milestone="delivered",
                shipment_milestone_date=self.now - timedelta(days=3) + timedelta(hours=hours))
        self.assertEqual(self.tile("transit_overdue")["value"], 1)
        self.env["shipment.sync.lane"]._cron_fold(now=self.now)
        tile = self.tile("transit_overdue")
        self.assertEqual(tile["value"], 2)
        # p90 of 20-28 h (and the fixture's delivery of 21 h), to the lane's 1-hour bucket.
        self.assertTrue(1.0 < tile["figures"]["lanes"][str(self.lane.id)] < 1.25, tile["figures"])
        self.assertEqual(len(self.env["stock.picking"].search(tile["action"]["domain"])), 2)

    def test_unmapped_codes_waiting_for_a_mapping(self):
        tile = self.tile("unmapped_codes")
        self.assertEqual(tile["value"], 2)
        self.assertEqual(tile["figures"]["events"], 3)
        self.assert_click_through(tile, 3)

    def test_partner_and_warehouse_filters_narrow_the_figures(self):
        other = self.env["shipment.sync.partner"].create({
            "name": "Other", "code": "dash-other", "company_id": self.company.id})
        self.assertEqual(self.tile("dead_letters", partner_id=other.id)["value"], 0)
        self.assertEqual(self.tile("dead_letters", partner_id=self.p.id)["value"], 1)
        self.assertEqual(self.tile("delivered_not_closed",
                                   warehouse_id=self.warehouse.id)["value"], 1)
        other_wh = self.env["stock.warehouse"].create({
            "name": "WH2", "code": "WH2D", "company_id": self.company.id})
        self.assertEqual(self.tile("delivered_not_closed", warehouse_id=other_wh.id)["value"], 0)

    def test_all_tiles_load_and_bad_filters_are_refused(self):
        tiles = self.Dash.get_tiles(self.filters)
        self.assertEqual(len(tiles), 13)
        with self.assertRaisesRegex(UserError, "Unknown period"):
            self.Dash.get_tiles(dict(self.filters, period="forever"))
        with self.assertRaisesRegex(UserError, "filters are not valid"):
            self.Dash.get_tiles(dict(self.filters, warehouse_id="abc"))
        with self.assertRaisesRegex(UserError, "Unknown dashboard tile"):
            self.Dash.get_tile("nope", self.filters)
        options = self.Dash.get_filter_options()
        self.assertIn("7d", [p["id"] for p in options["periods"]])

    def test_read_group_baseline_matches_the_count_tiles(self):
        for key in ("dead_letters", "delivered_not_closed", "unmapped_codes"):
            baseline = self.Dash._bench_read_group(key, self.filters)
            tile = self.tile(key)
            self.assertEqual(baseline, tile.get("figures", {}).get("events", tile["value"]))

    def test_trends_cover_the_period_and_add_up_to_the_tile(self):
        tiles = {t["key"]: t for t in self.Dash.get_tiles(self.filters)}
        trend = tiles["events_per_hour"]["trend"]
        self.assertEqual(len(trend["starts"]), 7, "one point per day over 7 days")
        self.assertAlmostEqual(sum(v * 24 for v in trend["values"]), 7, places=1)
        later = fields.Datetime.to_string(fields.Datetime.now() + timedelta(minutes=1))
        backlog = self.Dash.get_tile("exception_backlog", dict(self.filters, now=later))
        self.assertEqual(sum(backlog["trend"]["values"]), 3, "three cards opened")
        success = [v for v in tiles["creation_success"]["trend"]["values"] if v is not None]
        self.assertEqual(success, [75.0])
        hourly = self.Dash.get_tile("events_per_hour", dict(self.filters, period="24h"))
        self.assertEqual(len(hourly["trend"]["starts"]), 24)

    # ------------------------------------------------------------------
    # thresholds from the SLA rules
    # ------------------------------------------------------------------
    def test_sla_rules_colour_the_tiles_with_their_own_thresholds(self):
        Rule = self.env["shipment.sync.alert.rule"]
        # Webhook delay p95 is 6.7 s: the shipped 5-minute rule holds ...
        tile = self.tile("webhook_delay")
        self.assertEqual(tile["sla"]["status"], "ok")
        self.assertIn("Webhook delay p95 over 5 minutes", tile["sla"]["text"])
        # ... a company rule at 5 s does not; at 10 s it holds again.
        rule = Rule.create({"name": "Webhooks within 5 s", "kind": "webhook_delay_p95",
                            "threshold": 5, "company_id": self.company.id})
        tile = self.tile("webhook_delay")
        self.assertEqual(tile["sla"]["status"], "breached")
        self.assertEqual(tile["sla"]["text"], "Over the SLA: Webhooks within 5 s")
        rule.threshold = 10
        self.assertEqual(self.tile("webhook_delay")["sla"]["status"], "ok")
        # A rule of another company does not judge this one's figures.
        other = self.env["res.company"].create({"name": "Elsewhere"})
        rule.company_id = other
        self.assertNotIn("Webhooks within 5 s", self.tile("webhook_delay")["sla"]["text"])

    def test_queue_and_failure_rate_rules_judge_the_partner_tile(self):
        Rule = self.env["shipment.sync.alert.rule"]
        # 1 queued and 2 of 4 calls failed: under the shipped rules (500 jobs;
        # 20 % but over at least 5 calls).
        self.assertEqual(self.tile("partner_queues")["sla"]["status"], "ok")
        rate = Rule.create({"name": "Failures over 40 %", "kind": "failure_rate",
                            "threshold": 40, "min_samples": 4, "partner_id": self.p.id})
        self.assertEqual(self.tile("partner_queues")["sla"]["text"],
                         "Over the SLA: Failures over 40 %")
        rate.threshold = 60
        self.assertEqual(self.tile("partner_queues")["sla"]["status"], "ok")
        Rule.create({"name": "Nothing queued", "kind": "queue_depth", "threshold": 0,
                     "operator": ">"})
        self.assertEqual(self.tile("partner_queues")["sla"]["text"],
                         "Over the SLA: Nothing queued")
        # The label bookings: 1 dead of 4 is 25 % failed.
        success = self.tile("creation_success")
        self.assertNotIn("sla", success)  # the shipped 20 % rule needs 5 bookings
        rate.write({"threshold": 20, "min_samples": 4, "partner_id": False})
        self.assertEqual(self.tile("creation_success")["sla"]["status"], "breached")

    def test_no_scan_tile_takes_its_hours_from_the_handed_over_rule(self):
        rule = self.env.ref("shipment_sync_monitor.alert_rule_handed_over_no_scan")
        # The rule says 24 h: the label of 30 h ago counts and breaches it.
        tile = self.tile("tracking_no_scan")
        self.assertEqual((tile["value"], tile["figures"]["hours"]), (1, 24.0))
        self.assertEqual(tile["sla"]["status"], "breached")
        self.assertEqual(tile["lines"][0]["text"], "No scan for more than 24 h")
        # 36 h in the rule: nothing is late any more, and the list agrees.
        rule.threshold = 36 * 60
        tile = self.tile("tracking_no_scan")
        self.assertEqual((tile["value"], tile["figures"]["hours"]), (0, 36.0))
        self.assertEqual(tile["sla"]["status"], "ok")
        self.assert_click_through(tile, 0)
        # Without a rule: the system parameter, and no SLA verdict.
        rule.active = False
        tile = self.tile("tracking_no_scan")
        self.assertEqual((tile["value"], tile["figures"]["hours"]), (1, 24.0))
        self.assertNotIn("sla", tile)

    # ------------------------------------------------------------------
    # drill-down links
    # ------------------------------------------------------------------
    def test_drilldown_link_reopens_the_list_the_number_counted(self):
        tile = self.tile("exception_backlog")
        index = next(i for i, line in enumerate(tile["lines"])
                     if line["text"] == "Label Failed: 1")
        link_id = self.Dash.get_drilldown("exception_backlog", index, self.filters)
        self.assertEqual(self.Dash.get_drilldown("exception_backlog", index, self.filters),
                         link_id, "one link per drill-down")
        action = self.Dash._drilldown_action(link_id)
        self.assertEqual(action["name"], "Label Failed")
        self.assertEqual(action["context"]["active_id"], link_id)
        cards = self.env["shipment.sync.exception"].search(action["domain"])
        self.assertEqual(cards.mapped("reason"), ["label_failed"])
        # The tile itself, and the filters kept with the link.
        whole = self.Dash._drilldown_action(
            self.Dash.get_drilldown("exception_backlog", -1, self.filters))
        self.assertEqual(self.env["shipment.sync.exception"].search_count(whole["domain"]), 2)
        self.assertIn(("company_id", "in", [self.company.id]), whole["domain"])

    def test_drilldown_links_nobody_opens_are_purged_by_the_retention_cron(self):
        """Each click on a tile records a link (the figure's instant is one of
        its filters): the retention cron deletes the links not opened for
        DRILLDOWN_LINK_DAYS days, and a purged link's URL says it expired."""
        Link = self.env["shipment.sync.dashboard.link"]
        Event = self.env["shipment.sync.event"]
        days = retention.DRILLDOWN_LINK_DAYS
        start = self.now
        with freeze_time(start):
            forgotten = Link.browse(self.Dash.get_drilldown("exception_backlog", -1, self.filters))
            reopened = Link.browse(self.Dash.get_drilldown(
                "exception_backlog", -1, dict(self.filters, period="24h")))
        with freeze_time(start + timedelta(days=days - 5)):
            self.Dash._drilldown_action(reopened.id)  # its URL opened again
        with freeze_time(start + timedelta(days=days + 1)):
            Event._cron_purge_bodies()
        self.assertFalse(forgotten.exists(), f"not opened for {days} days: purged")
        self.assertTrue(reopened.exists(), "opened within retention: kept")
        with self.assertRaisesRegex(UserError, "expired"):
            self.Dash._drilldown_action(forgotten.id)
        with freeze_time(start + timedelta(days=2 * days)):
            Event._cron_purge_bodies()
        self.assertFalse(reopened.exists())

    def test_bad_drilldowns_are_refused(self):
        with self.assertRaises(UserError):
            self.Dash.get_drilldown("no_such_tile", -1, self.filters)
        with self.assertRaises(UserError):
            self.Dash.get_drilldown("exception_backlog", -1, dict(self.filters, period="1y"))
        with self.assertRaises(UserError):
            self.Dash._drilldown_action("not-a-number")
        link_id = self.Dash.get_drilldown("exception_backlog", 40, self.filters)
        with self.assertRaises(UserError):
            self.Dash._drilldown_action(link_id)
