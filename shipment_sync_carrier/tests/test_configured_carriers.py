import json
from datetime import timedelta

from odoo import fields
from odoo.exceptions import UserError, ValidationError
from odoo.tests import TransactionCase, tagged

from .common import CarrierCommon

#: A generic REST carrier bound by configuration to the sandbox's Sendcloud-style API.
REST_CONFIG = {
    "create_url": "/api/v2/parcels", "create_method": "POST",
    "cancel_url": "/api/v2/parcels/{shipment_id}/cancel", "cancel_method": "POST",
    "auth": {"type": "basic", "username": "pub"},
    "request": {
        "parcel.name": "ship_to.name", "parcel.address": "ship_to.street",
        "parcel.city": "ship_to.city", "parcel.postal_code": "ship_to.zip",
        "parcel.country": "ship_to.country_code", "parcel.order_number": "reference",
        "parcel.weight": {"source": "parcels[0].weight_kg", "type": "number"},
        "parcel.request_label": {"const": True}, "parcel.shipment.id": {"const": 8},
    },
    "response": {"shipment_id": "parcel.id", "tracking_number": "parcel.tracking_number",
                 "tracking_url": "parcel.tracking_url", "label": "parcel.label.label_printer",
                 "label_encoding": "url", "label_format": "PDF", "status": "parcel.status.id"},
    "cancel_response": {"status": "status", "accepted": ["cancelled"]},
    "error": {"code": "error.code", "message": "error.message"},
}


@tagged("post_install", "-at_install")
class TestConfiguredCarriers(CarrierCommon, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_carrier()
        cls.soap_partner = cls.make_partner("canonical", signature_scheme="standard_webhooks")
        cls.soap_carrier = cls.make_carrier(
            cls.soap_partner, kind="generic_soap", shipsync_poll=True,
            shipsync_api_key="soap-key")
        cls.rest_carrier = cls.make_carrier(
            cls.partner, kind="generic_rest", shipsync_api_key="sec",
            shipsync_rest_config=json.dumps(REST_CONFIG))

    def setUp(self):
        super().setUp()
        self.sandbox.reset()

    def test_soap_carrier_books_through_the_wsdl_and_is_polled_to_delivered(self):
        picking = self.validate(self.make_picking(carrier=self.soap_carrier))
        tracking = picking.carrier_tracking_ref
        self.assertTrue(tracking.startswith("SP"))
        self.assertEqual(len(self.labels_of(picking)), 1)
        self.assertGreater(picking.shipsync_quoted_price, 0)
        self.sandbox.advance(tracking)
        stats = self.env["delivery.carrier"]._cron_shipsync_poll(
            now=fields.Datetime.now() + timedelta(minutes=1))[self.soap_carrier.id]
        self.assertEqual(stats["requests"], 1)
        self.assertEqual(picking.shipment_milestone, "delivered")
        self.assertFalse(picking.shipsync_poll_next_at)

    def test_soap_fault_is_a_clear_user_error(self):
        bad = self.customer.copy({"zip": "00000"})
        picking = self.make_picking(carrier=self.soap_carrier, customer=bad)
        picking.move_ids.picked = True
        with self.assertRaisesRegex(UserError, "refused .*ADDRESS.INVALID"):
            with self.env.cr.savepoint():
                picking.button_validate()
        picking.invalidate_recordset()
        self.assertNotEqual(picking.state, "done")
        self.assertFalse(self.labels_of(picking))

    def test_soap_cancel(self):
        picking = self.validate(self.make_picking(carrier=self.soap_carrier))
        picking.cancel_shipment()
        self.assertFalse(picking.carrier_tracking_ref)
        self.assertEqual(picking.shipsync_label_state, "cancelled")

    def test_rest_carrier_configured_by_field_mapping_books_and_cancels(self):
        picking = self.validate(self.make_picking(carrier=self.rest_carrier))
        tracking = picking.carrier_tracking_ref
        self.assertTrue(tracking.startswith("SC"))
        parcel = next(p for p in self.sandbox.parcels.values() if p["tracking_number"] == tracking)
        self.assertEqual(parcel["order_number"], picking.name)
        self.assertEqual(parcel["postal_code"], "90001")
        label = self.labels_of(picking)
        self.assertEqual(label.name, f"LabelShipping-shipsync-{tracking}.pdf")
        picking.cancel_shipment()
        self.assertEqual(parcel["status"]["id"], 2000)

    def test_a_bad_rest_mapping_is_refused_on_save(self):
        with self.assertRaisesRegex(ValidationError, "REST mapping"):
            self.rest_carrier.shipsync_rest_config = json.dumps({"create_url": "/x"})
