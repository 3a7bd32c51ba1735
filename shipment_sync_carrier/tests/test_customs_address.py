"""Customs data on international bookings and address verification before booking,
through the carrier sandbox on 127.0.0.1 (EasyPost's shapes, proven with its SDK in
tests/contracts)."""

import base64

from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged

from .common import CarrierCommon

#: The keys of a customs_info / customs item the official SDK sent in EasyPost's recorded
#: traffic (cassettes test_shipment_create, test_customs_info_create), plus the CustomsItem
#: attributes EasyPost answers with (currency, code).
RECORDED_INFO_KEYS = {"eel_pfc", "customs_certify", "customs_signer", "contents_type",
                      "contents_explanation", "restriction_type", "non_delivery_option",
                      "customs_items"}
RECORDED_ITEM_KEYS = {"description", "quantity", "weight", "value", "hs_tariff_number",
                      "origin_country", "currency", "code"}


@tagged("post_install", "-at_install")
class TestCustomsAddress(CarrierCommon, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_carrier()
        be = cls.env.ref("base.be")
        cls.abroad = cls.env["res.partner"].create({
            "name": "Lea Martin", "street": "Rue Haute 12", "city": "Bruxelles",
            "zip": "1000", "country_id": be.id, "email": "lea@example.com"})
        cls.product.write({"hs_code": "6912.00", "country_of_origin": be.id,
                           "default_code": "WIDGET-1"})

    def setUp(self):
        super().setUp()
        self.sandbox.reset()

    def posts(self, path):
        return [c for c in self.sandbox.calls if c["method"] == "POST" and c["path"] == path]

    # ------------------------------------------------------------------ customs
    def test_international_booking_sends_customs_in_the_recorded_shape(self):
        self.carrier.shipsync_customs_signer = "Ada Shipper"
        picking = self.make_picking(customer=self.abroad, qty=4)
        self.validate(picking)
        self.assertTrue(picking.carrier_tracking_ref)
        [shipment] = self.sandbox.shipments.values()
        info = shipment["customs_info"]
        sent = {k for k in info if k not in ("id", "object", "mode", "declaration",
                                              "created_at", "updated_at",
                                              "restriction_comments")}
        self.assertEqual(sent, RECORDED_INFO_KEYS)
        self.assertEqual((info["customs_signer"], info["customs_certify"],
                          info["contents_type"], info["eel_pfc"]),
                         ("Ada Shipper", True, "merchandise", "NOEEI 30.37(a)"))
        [item] = info["customs_items"]
        self.assertEqual({k for k, v in item.items() if v is not None} - {
            "id", "object", "mode", "created_at", "updated_at"}, RECORDED_ITEM_KEYS)
        # Odoo's own commodity: 4 widgets of 0.3 kg (42.3 oz in all), HS code without dots
        self.assertEqual((item["hs_tariff_number"], item["origin_country"], item["quantity"],
                          item["code"], item["weight"]), ("691200", "BE", 4, "WIDGET-1", 42.3))
        self.assertEqual(item["description"], "Carrier Widget")
        # the commercial invoice EasyPost returned is attached to the transfer
        form = self.env["ir.attachment"].search([
            ("res_model", "=", "stock.picking"), ("res_id", "=", picking.id),
            ("name", "=like", "commercial_invoice-easypost-%")])
        self.assertEqual(len(form), 1)
        self.assertTrue(base64.b64decode(form.datas).startswith(b"%PDF-"))

    def test_domestic_booking_sends_no_customs(self):
        self.validate(self.make_picking())
        [shipment] = self.sandbox.shipments.values()
        self.assertIsNone(shipment["customs_info"])
        self.assertEqual(shipment["forms"], [])

    def test_missing_hs_code_blocks_before_any_call(self):
        bare = self.env["product.product"].create({
            "name": "Unclassified Teapot", "is_storable": True, "weight": 0.8})
        self.env["stock.quant"]._update_available_quantity(
            bare, self.env.ref("stock.stock_location_stock"), 10)
        picking = self.make_picking(customer=self.abroad)
        self.env["stock.move"].create({
            "name": bare.name, "product_id": bare.id, "product_uom_qty": 1,
            "product_uom": bare.uom_id.id, "picking_id": picking.id,
            "location_id": picking.location_id.id,
            "location_dest_id": picking.location_dest_id.id})
        picking.action_confirm()
        picking.action_assign()
        picking.move_ids.picked = True
        with self.assertRaises(UserError) as caught:
            picking.button_validate()
        message = str(caught.exception)
        self.assertIn("Unclassified Teapot", message)
        self.assertIn("HS code", message)
        self.assertNotIn("Carrier Widget", message)
        self.assertEqual(self.sandbox.calls, [], "nothing may reach the carrier")

    def test_missing_hs_code_blocks_a_background_booking_too(self):
        self.carrier.shipsync_mode = "async"
        self.product.hs_code = False
        picking = self.make_picking(customer=self.abroad)
        picking.move_ids.picked = True
        with self.assertRaises(UserError) as caught:
            picking.button_validate()
        self.assertIn("Carrier Widget", str(caught.exception))
        self.assertFalse(picking.shipment_job_ids)
        self.assertEqual(self.sandbox.calls, [])

    def test_a_queued_booking_whose_customs_data_went_missing_dies_with_the_reason(self):
        self.carrier.shipsync_mode = "async"
        picking = self.validate(self.make_picking(customer=self.abroad))
        self.assertEqual(picking.shipsync_label_state, "queued")
        self.product.hs_code = False  # changed after it was queued
        self.run_outbox()
        job = picking.shipment_job_ids.filtered(lambda j: j.operation == "create_shipment")
        self.assertEqual(job.state, "dead")
        self.assertEqual(picking.shipsync_label_state, "failed")
        self.assertEqual(picking.shipment_exception_reason, "label_failed")
        self.assertIn("Carrier Widget", job.last_error or "")
        self.assertEqual(self.posts("/v2/shipments"), [], "nothing reached the carrier")

    # ------------------------------------------------------------------ addresses
    def test_invalid_address_opens_a_card_refuses_booking_and_override_is_audited(self):
        nowhere = self.env["res.partner"].create({
            "name": "No Number", "street": "Main Street", "city": "Los Angeles",
            "zip": "90001", "country_id": self.env.ref("base.us").id})
        picking = self.make_picking(customer=nowhere)
        picking.action_shipsync_check_address()
        self.assertEqual(picking.shipsync_address_state, "invalid")
        self.assertIn("House number is missing", picking.shipsync_address_reasons)
        self.assertEqual((picking.shipment_exception_state, picking.shipment_exception_reason),
                         ("open", "address_issue"))
        self.assertEqual(len(self.posts("/v2/addresses")), 1)
        picking.move_ids.picked = True
        with self.assertRaises(UserError) as caught:
            picking.button_validate()
        self.assertIn("invalid", str(caught.exception))
        self.assertEqual(self.posts("/v2/shipments"), [], "no booking on an invalid address")
        picking.action_shipsync_override_address()
        self.assertEqual(picking.shipsync_address_override_uid, self.env.user)
        self.assertTrue(picking.shipsync_address_override_date)
        self.assertTrue(any("overridden by" in (m.body or "") for m in picking.message_ids))
        self.assertEqual(picking.shipment_exception_state, "resolved")
        self.validate(picking)
        self.assertTrue(picking.carrier_tracking_ref)
        self.assertEqual(len(self.posts("/v2/shipments")), 1)

    def test_suggestion_applied_updates_the_partner_address(self):
        flat = self.env["res.partner"].create({
            "name": "Flat Owner", "street": "2 Side St", "street2": "Apt 20",
            "city": "Los Angeles", "zip": "90001", "country_id": self.env.ref("base.us").id,
            "state_id": self.env.ref("base.state_us_5").id})
        picking = self.make_picking(customer=flat)
        picking.action_shipsync_check_address()
        self.assertEqual(picking.shipsync_address_state, "corrected")
        self.assertEqual(picking.shipsync_address_suggestion["street"], "2 SIDE ST APT 20")
        self.assertNotEqual(picking.shipment_exception_state, "open")
        picking.action_shipsync_apply_suggestion()
        self.assertEqual((flat.street, flat.street2, flat.city, flat.state_id.code),
                         ("2 SIDE ST APT 20", False, "LOS ANGELES", "CA"))
        self.assertEqual(picking.shipsync_address_state, "valid")
        self.assertFalse(picking.shipsync_address_suggestion)

    def test_confirm_with_customer_schedules_a_todo_and_sends_nothing(self):
        picking = self.make_picking()
        action = picking.action_shipsync_confirm_with_customer()
        self.assertEqual(action["res_model"], "mail.compose.message")
        self.assertEqual(action["context"]["default_partner_ids"], self.customer.ids)
        self.assertIn("2 Side St", action["context"]["default_body"])
        self.assertTrue(picking.activity_ids.filtered(
            lambda a: a.summary == "Confirm the delivery address with the customer"))

    def test_automatic_check_at_confirmation_only_when_the_carrier_asks(self):
        nowhere = self.env["res.partner"].create({
            "name": "No Number", "street": "Main Street", "city": "Los Angeles",
            "zip": "90001", "country_id": self.env.ref("base.us").id})
        quiet = self.make_picking(customer=nowhere)
        self.assertEqual(quiet.shipsync_address_state, "unchecked")
        self.assertEqual(self.posts("/v2/addresses"), [], "off by default: no call")
        self.carrier.shipsync_check_address = True
        checked = self.make_picking(customer=nowhere)
        self.assertEqual(checked.shipsync_address_state, "invalid")
        self.assertEqual(checked.shipment_exception_reason, "address_issue")
        valid = self.make_picking()
        self.assertEqual(valid.shipsync_address_state, "valid")

    def test_address_card_on_the_workbench_offers_the_address_actions(self):
        if "shipment.sync.exception" not in self.env:
            self.skipTest("the workbench (shipment_sync_monitor) is not installed")
        flat = self.env["res.partner"].create({
            "name": "Flat Owner", "street": "Main Street", "street2": "Apt 20",
            "city": "Los Angeles", "zip": "90001", "country_id": self.env.ref("base.us").id})
        picking = self.make_picking(customer=flat)
        picking.action_shipsync_check_address()
        card = self.env["shipment.sync.exception"].search([("picking_id", "=", picking.id)])
        self.assertEqual((card.reason, card.state), ("address_issue", "open"))
        self.assertIn("House number is missing", card.message)
        self.assertTrue(card.can_fix_address)
        action = card.action_confirm_address_with_customer()
        self.assertEqual(action["res_model"], "mail.compose.message")
        with self.assertRaises(UserError):  # EasyPost suggested nothing for this one
            card.action_apply_address_suggestion()
        # corrected by hand, checked again: deliverable with a suggestion, the card closes
        flat.street = "7 Main Street"
        picking.action_shipsync_check_address()
        self.assertEqual(picking.shipsync_address_state, "corrected")
        card.invalidate_recordset()
        self.assertEqual(card.state, "resolved")
        self.assertFalse(card.can_fix_address)
