"""Odoo -> TMS -> carrier assignment -> milestones -> freight charges reconciled, against
the loopback TMS sandbox (signed Standard Webhooks into the real webhook route)."""

import uuid
from datetime import timedelta
from urllib.parse import urlsplit

from odoo.exceptions import UserError
from odoo.tests import HttpCase, tagged
from odoo.tests.common import BlockedRequest, _super_send
from odoo.tools import mute_logger

from odoo.addons.shipment_sync.models.shipment_sync_job import utcnow

from shipsync.partners.tms.outbound import OPERATION
from shipsync.partners.tms.sandbox import TmsSandbox

WHSEC = "whsec_" + "dG1zLXRlc3Qtc2VjcmV0LWtleS0wMTIzNDU2Nzg5"


@tagged("post_install", "-at_install")
class TestTmsFlow(HttpCase):
    @classmethod
    def _request_handler(cls, s, r, /, **kw):
        if urlsplit(r.url).hostname not in ("127.0.0.1", "localhost"):
            raise BlockedRequest(f"External requests verboten (was {r.method} {r.url})")
        return _super_send(s, r, **kw)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.tms = TmsSandbox(secret=WHSEC).start()
        cls.addClassCleanup(cls.tms.stop)
        cls.partner = cls.env["shipment.sync.partner"].create({
            "name": "Sandbox TMS", "code": f"tms-{uuid.uuid4().hex[:8]}", "kind": "tms",
            "inbound_format": "tms", "signature_scheme": "standard_webhooks",
            "webhook_secret": WHSEC, "processing_mode": "inline",
            "outbox_base_url": cls.tms.url, "outbox_connect_timeout": 2.0,
            "outbox_read_timeout": 10.0, "outbox_retry_max_attempts": 3})
        cls.env.company.partner_id.write({
            "street": "1 Warehouse Way", "city": "San Francisco", "zip": "94105",
            "country_id": cls.env.ref("base.us").id})
        cls.warehouse = cls.env["stock.warehouse"].create({"name": "TMS WH", "code": "TMW"})
        cls.picking_type = cls.warehouse.out_type_id
        cls.picking_type.tms_partner_id = cls.partner
        cls.carrier_product = cls.env["product.product"].create({
            "name": "Freight", "type": "service"})
        cls.freight_carrier = cls.env["delivery.carrier"].create({
            "name": "DHL Freight", "product_id": cls.carrier_product.id,
            "delivery_type": "fixed", "tms_carrier_code": "DHLFREIGHT",
            "shipsync_tolerance_amount": 1.0, "shipsync_tolerance_percent": 2.0})
        cls.pallet = cls.env["product.product"].create({
            "name": "Pallet of desks", "default_code": "PAL-DESK", "is_storable": True,
            "weight": 250.0, "list_price": 900.0})
        cls.env["stock.quant"].with_context(inventory_mode=True)._update_available_quantity(
            cls.pallet, cls.warehouse.lot_stock_id, 20)
        cls.customer = cls.env["res.partner"].create({
            "name": "Ada Logistics", "street": "1 Quai", "city": "Lyon", "zip": "69001",
            "country_id": cls.env.ref("base.fr").id})

    def setUp(self):
        super().setUp()
        self.tms.reset()
        self.tms.configure(webhook_url=f"{self.base_url()}/shipment_sync/webhook/"
                           f"{self.partner.code}", secret=WHSEC)
        self.t0 = utcnow() + timedelta(seconds=1)

    # -- helpers -------------------------------------------------------------------
    def make_order(self, qty=2):
        order = self.env["sale.order"].create({
            "partner_id": self.customer.id, "warehouse_id": self.warehouse.id,
            "order_line": [(0, 0, {"product_id": self.pallet.id, "product_uom_qty": qty})]})
        order.action_confirm()
        return order

    def run_worker(self, seconds=0.0):
        self.env.flush_all()
        now = max(self.t0, utcnow() + timedelta(seconds=1))
        stats = self.env["shipment.sync.job"]._outbox_work(
            channels=("high",), now=now + timedelta(seconds=seconds))
        self.env.invalidate_all()
        return stats

    def report(self, picking, kinds=None):
        self.env.flush_all()
        statuses = self.tms.report(picking.shipment_correlation_id, kinds)
        self.env.invalidate_all()
        return statuses

    def jobs(self, picking):
        return self.env["shipment.sync.job"].search(
            [("operation", "=", OPERATION), ("picking_id", "=", picking.id)])

    # -- tests -----------------------------------------------------------------------
    def test_delivery_flows_to_the_tms_and_back_to_a_reconciled_charge(self):
        order = self.make_order()
        picking = order.picking_ids
        self.assertEqual(picking.state, "assigned")
        self.assertEqual((picking.tms_state, picking.shipment_milestone),
                         ("released", "released"))
        self.run_worker()
        job = self.jobs(picking)
        self.assertEqual(job.state, "done", job.last_error)
        [planned] = self.tms.plans.values()
        doc = planned["doc"]
        self.assertEqual((doc["correlation_id"], doc["order_ref"], doc["total_weight_kg"]),
                         (picking.shipment_correlation_id, picking.name, "500"))
        self.assertEqual(doc["lines"][0]["sku"], "PAL-DESK")
        self.assertEqual(doc["ship_to"]["city"], "Lyon")
        self.assertEqual(picking.tms_planning_ref, "PLN-00001")
        statuses = self.report(picking)
        self.assertTrue(all(s in (200, 202) for s in statuses), statuses)
        self.assertEqual(picking.tms_state, "assigned")
        self.assertEqual(picking.carrier_id, self.freight_carrier)
        self.assertEqual(picking.carrier_tracking_ref, "DHLFREIGHT-PLN-00001")
        self.assertEqual(picking.tms_service, "Eurapid")
        self.assertEqual(picking.shipment_milestone, "delivered")
        self.assertEqual(picking.shipsync_quoted_price, 120.0)
        [line] = picking.shipsync_freight_line_ids
        self.assertEqual((line.state, line.amount, line.expected_amount),
                         ("matched", 120.0, 120.0))
        self.assertEqual(picking.tms_freight_state, "matched")
        self.assertEqual(picking.shipment_exception_state, "none")

    def test_variance_holds_the_invoice_until_accepted(self):
        self.tms.configure(variance="30.00")
        order = self.make_order()
        picking = order.picking_ids
        self.run_worker()
        self.report(picking)
        [line] = picking.shipsync_freight_line_ids
        self.assertEqual((line.state, line.variance), ("variance", 30.0))
        self.assertEqual(picking.tms_freight_state, "variance")
        todo = picking.activity_ids.filtered(lambda a: "Freight variance" in a.summary)
        self.assertEqual(len(todo), 1)
        for move in picking.move_ids:
            move.quantity = move.product_uom_qty
            move.picked = True
        picking._action_done()
        with self.assertRaises(UserError):
            order._create_invoices()
        picking.action_tms_accept_variance()
        self.assertEqual(picking.tms_freight_state, "accepted")
        self.assertFalse(picking.activity_ids.filtered(lambda a: "Freight variance" in a.summary))
        self.assertTrue(order._create_invoices())

    def test_duplicates_and_out_of_order_updates_apply_once(self):
        self.tms.configure(duplicate=True, reverse=True)
        picking = self.make_order().picking_ids
        self.run_worker()
        self.report(picking)
        self.assertEqual(picking.shipment_milestone, "delivered")
        self.assertEqual(len(picking.shipsync_freight_line_ids), 1)
        self.assertEqual(picking.tms_freight_state, "matched")
        events = self.env["shipment.sync.event"].search([("partner_id", "=", self.partner.id)])
        self.assertEqual(len(events.filtered(lambda e: e.state == "duplicate")), 6)

    def test_release_is_idempotent_and_survives_a_tms_outage(self):
        self.tms.fail_next(503, retry_after="5")
        picking = self.make_order().picking_ids
        self.run_worker()
        job = self.jobs(picking)
        self.assertEqual((job.state, job.last_status), ("pending", 503))
        picking.action_tms_release()  # pressed again: the same job
        picking.move_ids._action_assign()
        self.assertEqual(len(self.jobs(picking)), 1)
        self.run_worker(seconds=3600)
        self.assertEqual(job.state, "done")
        self.assertEqual(len(self.tms.plans), 1)

    def test_unplannable_delivery_opens_an_exception(self):
        self.tms.configure(reject=True)
        picking = self.make_order().picking_ids
        self.run_worker()
        self.assertEqual(picking.tms_state, "rejected")
        self.assertEqual(picking.shipment_exception_reason, "booking_rejected")

    def test_bad_update_is_refused_and_changes_nothing(self):
        picking = self.make_order().picking_ids
        self.run_worker()
        update = self.tms.updates(picking.shipment_correlation_id)[-1]
        update["total"] = "999.00"  # the charge lines do not add up to it
        with mute_logger("odoo.addons.shipment_sync.controllers.main"):
            status = self.tms.post(update)
        self.env.invalidate_all()
        self.assertEqual(status, 400)
        self.assertFalse(picking.shipsync_freight_line_ids)
        self.assertEqual(picking.tms_freight_state, "none")
