from datetime import timedelta

from odoo import fields
from odoo.tests import HttpCase, tagged

from .common import CarrierCommon


@tagged("post_install", "-at_install")
class TestReturnsAndPolling(CarrierCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_carrier()
        cls.carrier.write({"shipsync_poll": True, "shipsync_poll_min_interval": 15,
                           "shipsync_poll_max_interval": 240, "shipsync_poll_batch": 2})

    def setUp(self):
        super().setUp()
        self.sandbox.reset()

    def hook(self):
        return f"{self.base_url()}/shipment_sync/webhook/{self.partner.code}"

    def make_return(self, picking):
        wizard = self.env["stock.return.picking"].with_context(
            active_id=picking.id, active_model="stock.picking").create({})
        wizard.product_return_moves.quantity = 1.0
        action = wizard.action_create_returns()
        ret = self.env["stock.picking"].browse(action["res_id"])
        ret.carrier_id = self.carrier
        return ret

    # ------------------------------------------------------------------ returns
    def test_return_label_from_the_return_picking_and_its_tracking_drives_returned(self):
        picking = self.validate(self.make_picking())
        ret = self.make_return(picking)
        self.assertTrue(ret.is_return_picking)
        ret.print_return_label()
        self.env.flush_all()
        labels = self.labels_of(ret, "LabelReturn-shipsync")
        self.assertEqual(len(labels), 1)
        ret.invalidate_recordset(["return_label_ids"])
        self.assertEqual(ret.return_label_ids, labels)
        tracking = ret.carrier_tracking_ref
        self.assertTrue(tracking)
        self.assertNotEqual(tracking, picking.carrier_tracking_ref)
        shipment = self.sandbox.shipments[ret.shipsync_shipment_ref]
        self.assertTrue(shipment["is_return"])
        self.assertEqual(ret.shipment_milestone, "label_created")
        # the return leg: moving -> returning, delivered to us -> returned
        self.sandbox.advance(tracking, steps=1, url=self.hook())
        self.env.invalidate_all()
        self.assertEqual(ret.shipment_milestone, "returning")
        self.sandbox.advance(tracking, url=self.hook())
        self.env.invalidate_all()
        self.assertEqual(ret.shipment_milestone, "returned")
        self.assertEqual(ret.return_id, picking)
        self.assertIn("returned", " ".join(picking.message_ids.mapped("body")).lower())
        # the original shipment keeps its own milestone
        self.assertEqual(picking.shipment_milestone, "handed_over")

    def test_return_label_on_delivery_for_the_portal(self):
        self.carrier.write({"return_label_on_delivery": True,
                            "get_return_label_from_portal": True})
        try:
            picking = self.validate(self.make_picking())
        finally:
            self.carrier.write({"return_label_on_delivery": False,
                                "get_return_label_from_portal": False})
        labels = self.labels_of(picking, "LabelReturn-shipsync")
        self.assertEqual(len(labels), 1)
        self.assertTrue(labels.access_token)
        self.assertEqual(len(picking.carrier_tracking_ref.split(",")), 1)

    # ------------------------------------------------------------------ polling
    def poll(self, minutes=0):
        now = fields.Datetime.now() + timedelta(minutes=minutes)
        return self.env["delivery.carrier"]._cron_shipsync_poll(now=now)[self.carrier.id]

    def test_polling_applies_new_scans_batches_requests_and_backs_off_when_quiet(self):
        pickings = [self.validate(self.make_picking()) for _i in range(3)]
        for picking in pickings:
            self.sandbox.advance(picking.carrier_tracking_ref, steps=2, webhook=False)
        before = self.sandbox.requests
        stats = self.poll()
        self.assertEqual(stats["shipments"], 3)
        self.assertEqual(stats["requests"], 2)  # 3 tracking numbers, 2 per request
        self.assertEqual(self.sandbox.requests - before, 2)
        for picking in pickings:
            self.assertEqual(picking.shipment_milestone, "in_transit")
            self.assertEqual(picking.shipsync_poll_interval, 15 * 60)
        # nothing is due before the interval; a quiet poll doubles it
        self.assertEqual(self.poll(minutes=5)["shipments"], 0)
        self.poll(minutes=16)
        self.assertEqual(pickings[0].shipsync_poll_interval, 30 * 60)

    def test_polled_and_pushed_scans_are_applied_once(self):
        picking = self.validate(self.make_picking())
        tracking = picking.carrier_tracking_ref
        self.sandbox.advance(tracking, steps=2, url=self.hook())
        self.env.invalidate_all()
        applied = self.events_of(picking).filtered(lambda e: e.state == "applied")
        stats = self.poll()
        self.assertEqual(stats["events"], 0)
        self.assertEqual(self.events_of(picking).filtered(lambda e: e.state == "applied"),
                         applied)
        # a new scan polled first, then pushed: stored once, the push is a duplicate
        deliveries = self.sandbox.advance(tracking, steps=1, webhook=False)
        self.assertEqual(self.poll(minutes=16)["events"], 1)
        pushed = self.sandbox.post_webhook(self.hook(), "easypost", deliveries[0]["payload"])
        self.assertIn('"duplicate"', pushed["response"])
        self.env.invalidate_all()
        self.assertEqual(picking.shipment_milestone, "out_for_delivery")

    def test_polling_stops_at_terminal_milestones(self):
        picking = self.validate(self.make_picking())
        self.sandbox.advance(picking.carrier_tracking_ref, webhook=False)
        self.poll()
        self.assertEqual(picking.shipment_milestone, "delivered")
        self.assertFalse(picking.shipsync_poll_next_at)
        before = self.sandbox.requests
        self.assertEqual(self.poll(minutes=600)["shipments"], 0)
        self.assertEqual(self.sandbox.requests, before)

    def test_polling_respects_the_partner_rate_limit(self):
        self.partner.outbox_rate_limit = 1
        try:
            for _i in range(3):
                self.validate(self.make_picking())
            stats = self.poll()
            self.assertEqual(stats["requests"], 1)
            self.assertEqual(stats["shipments"], 2)
            self.assertEqual(stats["deferred"], 1)
            # the minute is not over: no request at all
            self.assertEqual(self.poll()["requests"], 0)
        finally:
            self.partner.outbox_rate_limit = 0
