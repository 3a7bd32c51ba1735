"""Shipment confirmation to a sales channel (Amazon SP-API ``confirmShipment``) through
the outbox, against the loopback Amazon sandbox (which validates every request against
Amazon's published Orders v0 model when ``CONTRACTS_DIR`` holds it)."""

import logging

from odoo.exceptions import UserError, ValidationError
from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from odoo.addons.shipment_sync.tests.loopback_common import LoopbackMixin

from shipsync.partners.amazon.outbound import OPERATION
from shipsync.partners.amazon.sandbox import AmazonOrdersSandbox

_logger = logging.getLogger(__name__)

ORDER = "902-1106328-1059050"  # the model's own example order id
ORDER_2 = "114-3941689-8772232"
MARKETPLACE = "ATVPDKIKX0DER"


@tagged("post_install", "-at_install")
class TestChannelConfirmation(LoopbackMixin, HttpCase):
    """An HttpCase for its test-mode registry: the outbox worker's own cursor sees the
    test's transaction."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.amazon = cls.start_sandbox(AmazonOrdersSandbox(token="Atza|sandbox"))
        _logger.info("Amazon sandbox validates with the %s", cls.amazon.validated_by)
        cls.channel = cls.env["shipment.sync.partner"].create({
            "name": "Amazon US", "code": "amazon-us-test", "kind": "marketplace",
            "channel_api": "amazon", "channel_marketplace_id": MARKETPLACE,
            "outbox_base_url": cls.amazon.url, "outbox_auth_header": "x-amz-access-token",
            "outbox_auth_token": "Atza|sandbox", "outbox_connect_timeout": 2.0,
            "outbox_read_timeout": 10.0, "outbox_retry_max_attempts": 3,
        })
        cls.carrier_product = cls.env["product.product"].create({
            "name": "Shipping", "type": "service"})
        cls.carrier = cls.env["delivery.carrier"].create({
            "name": "FedEx Ground", "product_id": cls.carrier_product.id,
            "delivery_type": "fixed", "shipment_channel_carrier_code": "FedEx",
            "shipment_channel_carrier_name": "FedEx"})
        cls.warehouse = cls.env["stock.warehouse"].search(
            [("company_id", "=", cls.env.company.id)], limit=1)
        cls.stock = cls.warehouse.lot_stock_id
        Product = cls.env["product.product"]
        cls.desk = Product.create({"name": "Channel Desk", "is_storable": True,
                                   "list_price": 100.0})
        cls.lamp = Product.create({"name": "Channel Lamp", "is_storable": True,
                                   "list_price": 10.0})
        Quant = cls.env["stock.quant"].with_context(inventory_mode=True)
        Quant._update_available_quantity(cls.desk, cls.stock, 50)
        Quant._update_available_quantity(cls.lamp, cls.stock, 50)
        cls.customer = cls.env["res.partner"].create({
            "name": "Ada Buyer", "street": "1 Cross St.", "city": "Canton", "zip": "48817",
            "country_id": cls.env.ref("base.us").id})

    def setUp(self):
        super().setUp()
        self.amazon.reset()

    # -- helpers -------------------------------------------------------------------
    def make_order(self, ref=ORDER, desk=2, lamp=1, channel=True):
        order = self.env["sale.order"].create({
            "partner_id": self.customer.id, "carrier_id": self.carrier.id,
            "shipment_channel_id": self.channel.id if channel else False,
            "shipment_channel_order_ref": ref if channel else False,
            "order_line": [
                (0, 0, {"product_id": self.desk.id, "product_uom_qty": desk,
                        "shipment_channel_item_ref": "79039765272157"}),
                (0, 0, {"product_id": self.lamp.id, "product_uom_qty": lamp,
                        "shipment_channel_item_ref": "79039765272158"}),
            ]})
        order.action_confirm()
        self.amazon.orders = {**(self.amazon.orders or {}), ref: {
            "79039765272157": desk, "79039765272158": lamp}}
        return order

    def ship(self, picking, tracking="1Z999AA10123456784", quantities=None):
        """Validate ``picking`` with ``quantities`` ({product: qty}, default all);
        a shortfall makes a backorder."""
        quantities = quantities or {}
        if tracking:
            picking.carrier_tracking_ref = tracking
        for move in picking.move_ids:
            move.quantity = quantities.get(move.product_id, move.product_uom_qty)
            move.picked = True
        picking.with_context(cancel_backorder=False)._action_done()
        self.assertEqual(picking.state, "done")
        return picking

    def jobs(self, picking=None):
        domain = [("operation", "=", OPERATION), ("partner_id", "=", self.channel.id)]
        if picking:
            domain.append(("picking_id", "=", picking.id))
        return self.env["shipment.sync.job"].search(domain)

    # -- tests -----------------------------------------------------------------------
    def test_handed_over_delivery_is_confirmed_once_with_carrier_tracking_and_lines(self):
        order = self.make_order()
        picking = order.picking_ids
        self.ship(picking)
        self.assertEqual(picking.shipment_milestone, "handed_over")
        self.assertEqual(len(self.jobs(picking)), 1)
        self.run_worker()
        job = self.jobs(picking)
        self.assertEqual(job.state, "done", job.last_error)
        [body] = self.amazon.confirmations(ORDER)
        self.assertEqual(body["marketplaceId"], MARKETPLACE)
        detail = body["packageDetail"]
        self.assertEqual(detail["packageReferenceId"], str(picking.id))
        self.assertEqual((detail["carrierCode"], detail["carrierName"],
                          detail["shippingMethod"]), ("FedEx", "FedEx", "FedEx Ground"))
        self.assertEqual(detail["trackingNumber"], "1Z999AA10123456784")
        self.assertTrue(detail["shipDate"].endswith("Z"))
        self.assertEqual(sorted((i["orderItemId"], i["quantity"]) for i in detail["orderItems"]),
                         [("79039765272157", 2), ("79039765272158", 1)])
        log = self.amazon.log()
        self.assertEqual([entry["status"] for entry in log], [204])
        self.assertTrue(picking.shipment_channel_confirmed_at)
        self.assertEqual(picking.shipment_channel_order_ref, ORDER)
        self.assertIn("Shipment confirmed to Amazon US", order.message_ids[0].body)

    def test_twice_handed_over_or_replayed_is_still_one_confirmation(self):
        picking = self.make_order().picking_ids
        self.ship(picking)
        self.run_worker()
        # A WMS (or the carrier) reports the hand-over again, then the parcel moves on.
        picking._shipment_internal_event(milestone="handed_over", message="WMS shipped")
        picking._shipment_internal_event(milestone="in_transit", message="scan")
        # The ledger is replayed, the button is pressed, the tracking number is rewritten.
        picking._shipment_apply_events()
        picking.action_shipment_channel_confirm()
        picking.carrier_tracking_ref = "1Z999AA10123456784"
        self.run_worker()
        self.assertEqual(len(self.jobs(picking)), 1)
        self.assertEqual(len(self.amazon.confirmations(ORDER)), 1)
        # A done job cannot be replayed; replaying is for dead or cancelled jobs.
        with self.assertRaises(UserError):
            self.jobs(picking).action_replay()

    def test_partial_shipment_and_backorder_are_two_packages(self):
        order = self.make_order(desk=2, lamp=1)
        first = order.picking_ids
        self.ship(first, tracking="TRK-1", quantities={self.desk: 1, self.lamp: 1})
        backorder = order.picking_ids - first
        self.assertEqual(len(backorder), 1)
        self.run_worker()
        self.ship(backorder, tracking="TRK-2")
        self.run_worker()
        bodies = self.amazon.confirmations(ORDER)
        self.assertEqual(len(bodies), 2)
        self.assertEqual([b["packageDetail"]["packageReferenceId"] for b in bodies],
                         [str(first.id), str(backorder.id)])
        self.assertEqual([b["packageDetail"]["trackingNumber"] for b in bodies],
                         ["TRK-1", "TRK-2"])
        self.assertEqual(self.amazon.shipped(ORDER),
                         {"79039765272157": 2, "79039765272158": 1})

    def test_tracking_number_arriving_after_handover_triggers_the_confirmation(self):
        picking = self.make_order(ref=ORDER_2).picking_ids
        self.ship(picking, tracking=False)
        self.assertFalse(self.jobs(picking))
        self.assertIn("waits", picking.message_ids[0].body)
        picking.carrier_tracking_ref = "LATE-1"
        self.run_worker()
        [body] = self.amazon.confirmations(ORDER_2)
        self.assertEqual(body["packageDetail"]["trackingNumber"], "LATE-1")

    def test_throttled_then_confirmed(self):
        picking = self.make_order().picking_ids
        self.amazon.fail_next(429)
        self.ship(picking)
        self.run_worker()
        job = self.jobs(picking)
        self.assertEqual((job.state, job.last_status), ("pending", 429))
        self.run_worker(seconds=3600)
        self.assertEqual(job.state, "done")
        self.assertEqual(len(self.amazon.confirmations(ORDER)), 1)

    def test_refusal_is_final_recorded_and_opens_an_exception(self):
        order = self.make_order()
        picking = order.picking_ids
        self.amazon.orders = {}  # Amazon does not know the order: 404 NotFound
        self.ship(picking)
        with mute_logger("odoo.addons.shipment_sync.models.shipment_sync_job_worker"):
            self.run_worker()
        job = self.jobs(picking)
        self.assertEqual((job.state, job.last_status), ("dead", 404))
        self.assertEqual(picking.shipment_exception_state, "open")
        self.assertEqual(picking.shipment_exception_reason, "sync_failed")
        self.assertFalse(picking.shipment_channel_confirmed_at)
        self.assertIn("NotFound", order.message_ids[0].body)
        self.assertEqual(self.amazon.confirmations(), [])

    def test_line_without_channel_item_id_dies_before_any_call(self):
        order = self.make_order()
        order.order_line[1].shipment_channel_item_ref = False
        self.ship(order.picking_ids)
        with mute_logger("odoo.addons.shipment_sync.models.shipment_sync_job_worker"):
            self.run_worker()
        job = self.jobs(order.picking_ids)
        self.assertEqual(job.state, "dead")
        self.assertIn("channel order item id", job.last_error)
        self.assertEqual(self.amazon.log(), [])

    def test_orders_without_channel_are_not_confirmed_and_refs_are_checked(self):
        plain = self.make_order(channel=False)
        self.ship(plain.picking_ids)
        self.assertFalse(self.jobs())
        with self.assertRaises(ValidationError):
            self.make_order(ref="S00042")
        with self.assertRaises(ValidationError):
            self.env["shipment.sync.partner"].create({
                "name": "No marketplace", "code": "amazon-bad", "kind": "marketplace",
                "channel_api": "amazon"})

    def test_channel_of_another_company_is_refused(self):
        other = self.env["res.company"].create({"name": "Other Co"})
        foreign = self.channel.copy({"code": "amazon-other", "company_id": other.id})
        with self.assertRaises(UserError):
            self.env["sale.order"].create({
                "partner_id": self.customer.id, "shipment_channel_id": foreign.id,
                "shipment_channel_order_ref": ORDER_2})
