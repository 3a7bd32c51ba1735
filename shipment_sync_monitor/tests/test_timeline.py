"""One timeline per shipment across systems, sorted by time, each row opening
its record."""

from datetime import timedelta

from freezegun import freeze_time
from lxml import etree

from odoo.tests import TransactionCase, tagged

from odoo.addons.shipment_sync.tests.common import T0

from .common import MonitorCommon, insert_attempts, insert_jobs


@tagged("post_install", "-at_install")
class TestTimeline(MonitorCommon, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_monitor()

    def test_timeline_merges_odoo_outbound_and_inbound_rows_in_time_order(self):
        with freeze_time(T0 - timedelta(minutes=5)):
            self.picking._shipment_internal_event(milestone="packed", message="Packed in Odoo")
        job = insert_jobs(self.env, self.partner, 1, state="done", picking=self.picking)
        self.env.cr.execute("UPDATE shipment_sync_job SET create_date = %s WHERE id = %s",
                            (T0 - timedelta(minutes=3), job.id))
        insert_attempts(self.env, job, ["retry", "done"], T0 - timedelta(minutes=2))
        self.ingest(self.carrier, "in_transit", 10, event_id="dup-1")
        self.ingest(self.carrier, "in_transit", 10, event_id="dup-1")
        self.ingest(self.carrier, "picked_up", 5)
        self.env.flush_all()
        self.env.invalidate_all()
        rows = self.picking.shipment_timeline_ids.sorted(lambda r: (r.at, r.id))
        system_rows = rows.filtered(lambda r: r.source != "note")
        self.assertEqual(
            [(r.source, r.state) for r in system_rows],
            [("odoo", "applied"), ("job", "done"), ("attempt", "retry"), ("attempt", "done"),
             ("inbound", "applied"), ("inbound", "applied"), ("inbound", "duplicate")])
        # Arrived after in_transit but occurred before it: applied in its place.
        early = system_rows.filtered(lambda r: r.milestone == "picked_up")
        self.assertEqual(early.state, "applied")
        # The milestone is a column of its own, in the badge's words; no raw code repeats it.
        self.assertFalse(system_rows.filtered(lambda r: "picked_up" in (r.description or "")))
        labels = dict(self.env["shipment.sync.timeline"]._fields["milestone"]
                      ._description_selection(self.env))
        self.assertEqual(labels["picked_up"], dict(
            self.env["stock.picking"]._fields["shipment_milestone"]
            ._description_selection(self.env))["picked_up"])
        self.assertEqual(set(rows.mapped("correlation_id")),
                         {self.picking.shipment_correlation_id})
        self.assertTrue(rows.filtered(lambda r: r.source == "note"),
                        "the chatter (milestone changes) is part of the timeline")

    def test_stale_and_rejected_events_keep_their_outcome(self):
        self.ingest(self.carrier, "out_for_delivery", 20)
        self.ingest(self.carrier, "in_transit", 30)
        self.env.flush_all()
        rows = self.picking.shipment_timeline_ids.filtered(lambda r: r.source == "inbound")
        self.assertEqual(sorted(rows.mapped("state")), ["applied", "stale"])

    def test_each_row_opens_its_record(self):
        event = self.ingest(self.carrier, "in_transit", 10)
        job = insert_jobs(self.env, self.partner, 1, picking=self.picking)
        insert_attempts(self.env, job, ["dead"], T0)
        self.env.flush_all()
        rows = self.picking.shipment_timeline_ids
        by_source = {r.source: r for r in rows}
        self.assertEqual(by_source["inbound"].action_open_record()["res_id"], event.id)
        self.assertEqual(by_source["inbound"].action_open_record()["res_model"],
                         "shipment.sync.event")
        self.assertEqual(by_source["job"].action_open_record()["res_id"], job.id)
        self.assertEqual(by_source["attempt"].action_open_record()["res_model"],
                         "shipment.sync.job")
        action = self.picking.action_view_shipment_timeline()
        self.assertEqual(action["domain"], [("picking_id", "=", self.picking.id)])

    def test_outcomes_are_told_in_words(self):
        """The outcome column shows each source's state in the words (and the
        language) of the field it comes from, never a raw code: an attempt
        reported after losing its lease is not a stale event."""
        self.ingest(self.carrier, "out_for_delivery", 20)
        self.ingest(self.carrier, "in_transit", 30)
        job = insert_jobs(self.env, self.partner, 1, state="dead", picking=self.picking)
        insert_attempts(self.env, job, ["retry", "stale", "dead"], T0)
        self.env.flush_all()
        self.env.invalidate_all()
        rows = self.picking.shipment_timeline_ids
        attempts = rows.filtered(lambda r: r.source == "attempt").sorted("id")
        self.assertEqual(attempts.mapped("state"), ["retry", "lease_lost", "dead"])

        def words(model, name):
            return dict(self.env[model]._fields[name]._description_selection(self.env))

        shown = dict(rows._fields["state"]._description_selection(self.env))
        self.assertTrue(set(rows.mapped("state")) <= set(shown), "every outcome has a label")
        event, job_state, attempt = (words("shipment.sync.event", "state"),
                                     words("shipment.sync.job", "state"),
                                     words("shipment.sync.job.attempt", "outcome"))
        self.assertEqual(shown["stale"], event["stale"])
        self.assertEqual(shown["applied"], event["applied"])
        self.assertEqual(shown["lease_lost"], attempt["stale"])
        self.assertEqual(shown["retry"], attempt["retry"])
        self.assertEqual(shown["pending"], job_state["pending"])
        for row in rows:
            self.assertNotIn("_", shown[row.state], f"{row.source} {row.state}")
        # The column is grouped and read in words too (the list's group headers).
        groups = self.env["shipment.sync.timeline"].read_group(
            [("picking_id", "=", self.picking.id), ("source", "=", "attempt")],
            ["state"], ["state"])
        self.assertEqual(sorted(g["state"] for g in groups), ["dead", "lease_lost", "retry"])
        fields_info = self.env["shipment.sync.timeline"].fields_get(["state"])["state"]
        self.assertIn(("lease_lost", attempt["stale"]),
                      [tuple(s) for s in fields_info["selection"]])

    def test_the_transfer_shows_one_timeline(self):
        """The transfer form has one timeline (all systems, in the badge's
        words): the ledger-only list of the Shipment tab gives way to it."""
        arch = self.env["stock.picking"].get_views([(False, "form")])["views"]["form"]["arch"]
        form = etree.fromstring(arch)
        ledger = form.xpath("//page[@name='shipment_sync']//field[@name='shipment_event_ids']")
        self.assertTrue(ledger)
        self.assertTrue(all(f.get("invisible") in ("1", "True", "true") for f in ledger))
        self.assertTrue(form.xpath(
            "//page[@name='shipment_sync_timeline']//field[@name='shipment_timeline_ids']"))

    def test_every_row_shows_the_trace_across_systems(self):
        """Odoo, outbound jobs (partners, subscribers) and inbound rows share the
        shipment's trace id; an inbound event that carried a traceparent shows the
        partner's own trace; the timeline is searched by trace id."""
        partner_trace = "4bf92f3577b34da6a3ce929d0e0e4736"
        self.picking._shipment_internal_event(milestone="packed", message="Packed in Odoo")
        job = insert_jobs(self.env, self.partner, 1, state="done", picking=self.picking)
        insert_attempts(self.env, job, ["done"], T0)
        plain = self.ingest(self.carrier, "in_transit", 10)
        traced = self.ingest(self.carrier, "out_for_delivery", 20)
        traced.write({"traceparent": f"00-{partner_trace}-00f067aa0ba902b7-01",
                      "trace_id": partner_trace})
        self.env.flush_all()
        self.env.invalidate_all()
        trace = self.picking.shipment_trace_id
        self.assertEqual(trace, self.picking.shipment_correlation_id.replace("-", ""))
        rows = self.picking.shipment_timeline_ids
        by_record = {(r.res_model, r.res_id, r.source): r for r in rows}
        self.assertEqual(by_record[("shipment.sync.event", traced.id, "inbound")].trace_id,
                         partner_trace)
        self.assertEqual(by_record[("shipment.sync.event", plain.id, "inbound")].trace_id,
                         trace)
        for source in ("odoo", "job", "attempt"):
            self.assertEqual({r.trace_id for r in rows if r.source == source}, {trace}, source)
        Timeline = self.env["shipment.sync.timeline"]
        found = Timeline.search([("trace_id", "=", trace)])
        self.assertEqual(set(found.ids), set(rows.ids) - {
            by_record[("shipment.sync.event", traced.id, "inbound")].id})
        self.assertEqual(Timeline.search([("trace_id", "=", partner_trace.upper())]).mapped(
            "res_id"), [traced.id])
        arch = self.env["stock.picking"].get_views([(False, "form")])["views"]["form"]["arch"]
        form = etree.fromstring(arch)
        self.assertTrue(form.xpath("//page[@name='shipment_sync_timeline']"
                                   "//field[@name='shipment_trace_id']"))
