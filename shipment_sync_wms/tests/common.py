"""Shared setup: the WMS sandbox on loopback, a WMS partner bound to the
delivery operation type, products (one lot-tracked) with stock, and helpers
to run the outbox worker and let the sandbox confirm over signed HTTP."""

from datetime import datetime, timezone

from odoo.tests import HttpCase

from odoo.addons.shipment_sync.tests.loopback_common import LoopbackMixin

from shipsync.sandbox.wms import WmsSandbox

WHSEC = "whsec_" + "d21zLXRlc3Qtc2VjcmV0LWtleS0wMTIzNDU2Nzg5"


class WmsCase(LoopbackMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.wms = cls.start_sandbox(WmsSandbox(secret=WHSEC))
        cls.partner = cls.make_sandbox_partner(
            "Sandbox WMS", "wms", cls.wms, inbound_format="wms",
            signature_scheme="standard_webhooks", webhook_secret=WHSEC,
            processing_mode="inline", outbox_retry_max_attempts=2)
        # A warehouse of its own, bound to the WMS at warehouse level (its
        # operation types inherit the partner).
        cls.warehouse = cls.env["stock.warehouse"].create({
            "name": "WMS Test Warehouse", "code": "WTW", "wms_partner_id": cls.partner.id})
        cls.picking_type = cls.warehouse.out_type_id
        cls.picking_type.write({"wms_release_policy": "manual", "create_backorder": "ask"})
        cls.stock = cls.picking_type.default_location_src_id
        cls.customers = cls.env.ref("stock.stock_location_customers")
        Product = cls.env["product.product"]
        cls.desk = Product.create({"name": "WMS Desk", "default_code": "WMS-DESK",
                                   "barcode": "9780201379624", "is_storable": True,
                                   "standard_price": 100.0})
        cls.lamp = Product.create({"name": "WMS Lamp", "default_code": "WMS-LAMP",
                                   "is_storable": True, "tracking": "lot",
                                   "standard_price": 10.0})
        cls.lot1 = cls.env["stock.lot"].create({"name": "L1", "product_id": cls.lamp.id})
        cls.lot2 = cls.env["stock.lot"].create({"name": "L2", "product_id": cls.lamp.id})
        Quant = cls.env["stock.quant"].with_context(inventory_mode=True)
        Quant._update_available_quantity(cls.desk, cls.stock, 50)
        Quant._update_available_quantity(cls.lamp, cls.stock, 20, lot_id=cls.lot1)
        Quant._update_available_quantity(cls.lamp, cls.stock, 20, lot_id=cls.lot2)
        cls.customer = cls.env["res.partner"].create({
            "name": "Ada Customer", "street": "1 Quai", "city": "Lyon", "zip": "69001",
            "country_id": cls.env.ref("base.fr").id})

    def setUp(self):
        super().setUp()
        self.wms.reset()
        self.wms.configure(webhook_url=f"{self.base_url()}/shipment_sync/webhook/"
                           f"{self.partner.code}", mode="webhook", partial=False,
                           substitute_lots={}, lots={}, split_packages=1, mismatch=None)

    # -- helpers -------------------------------------------------------------------
    def make_picking(self, desk=4.0, lamp=2.0, confirm=True, picking_type=None):
        picking_type = picking_type or self.picking_type
        moves = []
        for product, qty in ((self.desk, desk), (self.lamp, lamp)):
            if qty:
                moves.append((0, 0, {
                    "name": product.name, "product_id": product.id, "product_uom_qty": qty,
                    "product_uom": product.uom_id.id, "location_id": self.stock.id,
                    "location_dest_id": self.customers.id}))
        picking = self.env["stock.picking"].create({
            "picking_type_id": picking_type.id, "partner_id": self.customer.id,
            "location_id": self.stock.id, "location_dest_id": self.customers.id,
            "move_ids": moves})
        if confirm:
            picking.action_confirm()
        return picking

    def release(self, picking):
        picking.action_wms_release()
        self.run_worker()
        self.assertEqual(picking.wms_state, "released")
        return picking

    def confirm(self, picking, kinds=("pick_confirmed", "pack_confirmed", "ship_confirmed"),
                **overrides):
        """The sandbox confirms over signed HTTP; returns the HTTP statuses."""
        self.env.flush_all()
        sent = self.wms.confirm(picking.name, kinds=kinds, **overrides)
        self.env.invalidate_all()
        return [status for _conf, status in sent]

    @staticmethod
    def wms_now():
        return datetime.now(timezone.utc).replace(microsecond=0)

    def confirmations(self, picking, kind="ship_confirmed"):
        return self.env["shipment.sync.wms.confirmation"].search(
            [("order_ref", "=", picking.name), ("kind", "=", kind)], order="id")
