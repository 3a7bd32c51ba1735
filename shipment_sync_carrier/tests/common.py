"""Shared setup: the carrier sandbox on loopback, a Shipment Sync partner and a
``delivery.carrier`` of type ``shipsync`` pointing at it, stock, a customer and
delivery orders."""

import uuid
from datetime import timedelta
from urllib.parse import urlsplit

from odoo.tests.common import BlockedRequest, _super_send

from odoo.addons.shipment_sync.models.shipment_sync_job import utcnow

from shipsync.sandbox.carrier import CarrierSandbox

EP_SECRET = "sandbox-easypost-secret"
SC_SECRET = "sandbox-sendcloud-secret"


class CarrierCommon:
    """Mixin for TransactionCase / HttpCase."""

    @classmethod
    def _request_handler(cls, s, r, /, **kw):
        """Odoo's guard against external requests compares ``timeout < 10`` and the
        adapters pass ``(connect, read)``: same guard, loopback only."""
        if urlsplit(r.url).hostname not in ("127.0.0.1", "localhost"):
            raise BlockedRequest(f"External requests verboten (was {r.method} {r.url})")
        return _super_send(s, r, **kw)

    @classmethod
    def setup_carrier(cls):
        cls.sandbox = CarrierSandbox().start()
        cls.addClassCleanup(cls.sandbox.stop)
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        us = cls.env.ref("base.us")
        cls.env.company.partner_id.write({
            "street": "1 Warehouse Way", "city": "San Francisco", "zip": "94105",
            "country_id": us.id, "state_id": cls.env.ref("base.state_us_5").id})
        cls.partner = cls.make_partner("easypost")
        cls.carrier = cls.make_carrier(cls.partner)
        cls.product = cls.env["product.product"].create({
            "name": "Carrier Widget", "is_storable": True, "weight": 0.3,
            "list_price": 20.0})
        cls.customer = cls.env["res.partner"].create({
            "name": "Ada Customer", "street": "2 Side St", "city": "Los Angeles",
            "zip": "90001", "country_id": us.id, "email": "ada@example.com"})
        stock = cls.env.ref("stock.stock_location_stock")
        cls.env["stock.quant"]._update_available_quantity(cls.product, stock, 1000)

    @classmethod
    def make_partner(cls, kind="easypost", **vals):
        secret = EP_SECRET if kind == "easypost" else SC_SECRET
        return cls.env["shipment.sync.partner"].create({
            "name": f"Sandbox {kind}", "code": f"sb-{kind[:2]}-{uuid.uuid4().hex[:6]}",
            "kind": "aggregator", "inbound_format": kind,
            "signature_scheme": vals.pop("signature_scheme", kind),
            "webhook_secret": secret, "processing_mode": "inline",
            "outbox_connect_timeout": 2.0, "outbox_read_timeout": 1.0,
            "outbox_retry_max_attempts": 2, "outbox_retry_base": 1.0, **vals,
        })

    @classmethod
    def make_carrier(cls, partner, kind="easypost", **vals):
        product = cls.env["product.product"].create({
            "name": f"Shipping {kind}", "type": "service", "list_price": 10.0})
        return cls.env["delivery.carrier"].create({
            "name": f"Sandbox {kind} {uuid.uuid4().hex[:4]}", "delivery_type": "shipsync",
            "product_id": product.id, "shipsync_partner_id": partner.id,
            "shipsync_adapter": kind, "shipsync_base_url": cls.sandbox.url,
            "shipsync_api_key": {"easypost": "EZTK_test_key", "sendcloud": "pub:sec"}.get(
                kind, "key"),
            "shipsync_service": "8" if kind == "sendcloud" else False,
            # the Sendcloud tests of the v2 Parcels API (v3: test_sendcloud_v3)
            **({"shipsync_sendcloud_api": "v2"} if kind == "sendcloud" else {}),
            **vals,
        })

    @classmethod
    def make_picking(cls, carrier=None, qty=5.0, customer=None):
        picking_type = cls.env.ref("stock.picking_type_out")
        customers = cls.env.ref("stock.stock_location_customers")
        picking = cls.env["stock.picking"].create({
            "picking_type_id": picking_type.id,
            "partner_id": (customer or cls.customer).id,
            "location_id": picking_type.default_location_src_id.id,
            "location_dest_id": customers.id,
            "carrier_id": (carrier or cls.carrier).id,
            "move_ids": [(0, 0, {
                "name": cls.product.name, "product_id": cls.product.id,
                "product_uom_qty": qty, "product_uom": cls.product.uom_id.id,
                "location_id": picking_type.default_location_src_id.id,
                "location_dest_id": customers.id,
            })],
        })
        picking.action_confirm()
        picking.action_assign()
        return picking

    @staticmethod
    def validate(picking):
        picking.move_ids.picked = True
        result = picking.button_validate()
        assert result is True, result
        # the webhook and poll requests of HttpCase tests read the database
        picking.env.flush_all()
        return picking

    def labels_of(self, picking, prefix="LabelShipping-shipsync"):
        return self.env["ir.attachment"].search([
            ("res_model", "=", "stock.picking"), ("res_id", "=", picking.id),
            ("name", "=like", f"{prefix}%")], order="id")

    def events_of(self, picking):
        return self.env["shipment.sync.event"].search(
            [("picking_id", "=", picking.id)], order="occurred_at, id")

    def run_outbox(self, seconds=1.0):
        """Work the outbox inside the test transaction (registry in test mode; an HttpCase
        is in it already)."""
        self.env.flush_all()
        entered = not self.registry.in_test_mode()
        if entered:
            self.registry.enter_test_mode(self.cr)
        try:
            stats = self.env["shipment.sync.job"]._outbox_work(
                channels=("high",), now=utcnow() + timedelta(seconds=seconds), idle_wait=0)
        finally:
            if entered:
                self.registry.leave_test_mode()
        self.env.invalidate_all()
        return stats
