"""Sendcloud carriers book through the v3 Shipments API by default (new accounts have no
v2), with the transfer's items, one stable ``external_reference_id`` per booking (a
retry reuses the shipment), and return labels from the customer to the warehouse.
Real HTTP to the sandbox on 127.0.0.1; the sandbox's v3 answers are held to Sendcloud's
OpenAPI documents by ``tests/test_sendcloud_v3.py``."""

from datetime import timedelta

from odoo import fields
from odoo.tests import tagged
from odoo.tests.common import TransactionCase

from shipsync.partners.sendcloud.sandbox_v3 import SendcloudV3Sandbox

from .common import CarrierCommon


@tagged("post_install", "-at_install")
class TestSendcloudV3(CarrierCommon, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_carrier()
        cls.v3 = SendcloudV3Sandbox("pub", "sec").start()
        cls.addClassCleanup(cls.v3.stop)
        cls.sc_partner = cls.make_partner("sendcloud")
        cls.sc_carrier = cls.make_carrier(
            cls.sc_partner, kind="sendcloud", shipsync_service="postnl:standard",
            shipsync_sendcloud_api="v3", shipsync_base_url=cls.v3.url)
        nl = cls.env.ref("base.nl")
        cls.env.company.partner_id.write({
            "street": "Stadhuisplein 10", "city": "Eindhoven", "zip": "5611 EM",
            "country_id": nl.id, "state_id": False})
        cls.nl_customer = cls.env["res.partner"].create({
            "name": "Jan Klant", "street": "Insulindelaan 115", "city": "Eindhoven",
            "zip": "5642CV", "country_id": nl.id, "email": "jan@example.com"})
        cls.product.product_tmpl_id.write({
            "hs_code": "620520", "country_of_origin": nl.id, "default_code": "CW-1"})

    def setUp(self):
        super().setUp()
        self.v3.reset()
        self.state = self.v3.state

    def booked_bodies(self):
        return [s for s in self.state.shipments.values()]

    def test_default_api_is_v3_for_a_new_carrier(self):
        carrier = self.env["delivery.carrier"].create({
            "name": "New Sendcloud account", "delivery_type": "shipsync",
            "product_id": self.sc_carrier.product_id.id,
            "shipsync_partner_id": self.sc_partner.id, "shipsync_adapter": "sendcloud"})
        self.assertEqual(carrier.shipsync_sendcloud_api, "v3")

    def test_booking_uses_v3_with_items_and_a_booking_reference(self):
        picking = self.validate(self.make_picking(self.sc_carrier, qty=3,
                                                  customer=self.nl_customer))
        (shipment,) = self.booked_bodies()
        self.assertEqual(self.state.announce_calls, 1)
        self.assertEqual(shipment["to_address"]["name"], "Jan Klant")
        self.assertEqual(shipment["from_address"]["postal_code"], "5611 EM")
        self.assertEqual(shipment["ship_with"]["properties"]["shipping_option_code"],
                         "postnl:standard")
        (item,) = shipment["parcels"][0]["parcel_items"]
        self.assertEqual((item["quantity"], item["hs_code"], item["origin_country"],
                          item["sku"]), (3, "620520", "NL", "CW-1"))
        self.assertEqual(item["description"], "Carrier Widget")
        self.assertEqual(item["weight"], {"value": 0.3, "unit": "kg"})
        reference = shipment["external_reference_id"]
        self.assertTrue(reference.startswith("shipsync-"))
        self.assertNotIn("Bulk", reference)
        self.assertEqual(picking.carrier_tracking_ref,
                         shipment["parcels"][0]["tracking_number"])
        self.assertEqual(picking.shipsync_shipment_ref, shipment["id"])
        self.assertTrue(self.labels_of(picking))

    def test_a_retried_booking_reuses_the_shipment(self):
        picking = self.validate(self.make_picking(self.sc_carrier, customer=self.nl_customer))
        first = picking.carrier_tracking_ref
        # the same booking again (an outbox retry after a lost answer): same key
        self.sc_carrier.send_shipping(picking)
        self.assertEqual(len(self.state.shipments), 1)
        self.assertEqual(self.state.announce_calls, 1)
        self.assertEqual(picking.carrier_tracking_ref, first)

    def test_two_transfers_get_two_references(self):
        self.validate(self.make_picking(self.sc_carrier, customer=self.nl_customer))
        self.validate(self.make_picking(self.sc_carrier, customer=self.nl_customer))
        refs = {s["external_reference_id"] for s in self.booked_bodies()}
        self.assertEqual(len(refs), 2)

    def test_return_label_goes_from_customer_to_warehouse(self):
        picking = self.validate(self.make_picking(self.sc_carrier, customer=self.nl_customer))
        self.sc_carrier.get_return_label(picking)
        ret = [s for s in self.booked_bodies() if s["from_address"]["name"] == "Jan Klant"]
        self.assertEqual(len(ret), 1)
        self.assertEqual(ret[0]["to_address"]["postal_code"], "5611 EM")
        self.assertEqual(len(self.state.shipments), 2)

    def test_v2_carrier_keeps_the_parcels_api(self):
        carrier = self.make_carrier(self.sc_partner, kind="sendcloud",
                                    shipsync_sendcloud_api="v2")
        picking = self.validate(self.make_picking(carrier, customer=self.nl_customer))
        self.assertEqual(self.state.shipments, {})
        self.assertTrue(picking.carrier_tracking_ref)

    def test_the_installed_status_map_knows_the_v3_codes(self):
        """The v3 codes of Sendcloud's documents are seeded at install (no partner row)."""
        rows = self.env["shipment.sync.status.map"].search([
            ("vocabulary", "=", "sendcloud"), ("partner_id", "=", False),
            ("code", "in", ["ANNOUNCING", "READY_TO_SEND", "ANNOUNCEMENT_FAILED",
                            "CANCELLED", "accepted"])])
        self.assertEqual(
            {r.code: (r.milestone or None, r.exception_reason or None) for r in rows},
            {"ANNOUNCING": (None, None), "READY_TO_SEND": ("label_created", None),
             "ANNOUNCEMENT_FAILED": (None, "label_failed"),
             "CANCELLED": ("cancelled", None), "accepted": ("picked_up", None)})

    def test_a_polled_v3_event_moves_the_transfer(self):
        self.sc_carrier.shipsync_poll = True
        picking = self.validate(self.make_picking(self.sc_carrier, customer=self.nl_customer))
        self.state.add_event(picking.carrier_tracking_ref, "accepted",
                             "Parcel has been accepted by the carrier.")
        self.env["delivery.carrier"]._cron_shipsync_poll(
            now=fields.Datetime.now() + timedelta(minutes=1))
        self.assertEqual(picking.shipment_milestone, "picked_up")
