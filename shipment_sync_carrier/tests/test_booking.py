import base64

from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged

from .common import CarrierCommon


@tagged("post_install", "-at_install")
class TestBooking(CarrierCommon, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_carrier()

    def setUp(self):
        super().setUp()
        self.sandbox.reset()

    def test_validate_books_label_and_tracking_number_synchronously(self):
        picking = self.validate(self.make_picking())
        self.assertEqual(picking.state, "done")
        tracking = picking.carrier_tracking_ref
        self.assertTrue(tracking and tracking.startswith("EZ"))
        labels = self.labels_of(picking)
        self.assertEqual(labels.mapped("name"), [f"LabelShipping-shipsync-{tracking}.pdf"])
        self.assertTrue(base64.b64decode(labels.datas).startswith(b"%PDF-"))
        self.assertEqual(picking.shipsync_parcel_ids.tracking_number, tracking)
        self.assertEqual(picking.shipsync_label_state, "done")
        self.assertIn("label_created", self.events_of(picking).mapped("milestone"))
        self.assertEqual(picking.shipment_milestone, "handed_over")
        # quoted rate and actual charge are both stored; the picking bills the charge
        self.assertGreater(picking.shipsync_quoted_price, 0)
        self.assertGreater(picking.shipsync_charge, 0)
        self.assertAlmostEqual(picking.carrier_price, picking.shipsync_charge, places=2)
        self.assertEqual(picking.carrier_tracking_url, f"{self.sandbox.url}/track/{tracking}")

    def test_zpl_label_format_is_stored_as_zpl(self):
        self.carrier.shipsync_label_format = "ZPL"
        try:
            picking = self.validate(self.make_picking())
        finally:
            self.carrier.shipsync_label_format = "PDF"
        label = self.labels_of(picking)
        self.assertTrue(label.name.endswith(".zpl"))
        self.assertTrue(base64.b64decode(label.datas).startswith(b"^XA"))

    def test_one_label_and_tracking_number_per_package(self):
        picking = self.make_picking(qty=4.0)
        line = picking.move_ids.move_line_ids
        Package = self.env["stock.quant.package"]
        first, second = Package.create({"shipping_weight": 1.2}), Package.create(
            {"shipping_weight": 2.5})
        line.write({"quantity": 1.0, "result_package_id": first.id})
        line.copy({"quantity": 3.0, "result_package_id": second.id})
        self.validate(picking)
        refs = picking.carrier_tracking_ref.split(",")
        self.assertEqual(len(refs), 2)
        self.assertEqual(sorted(picking.shipsync_parcel_ids.mapped("tracking_number")),
                         sorted(refs))
        self.assertEqual(len(self.labels_of(picking)), 2)
        self.assertEqual(sorted(picking.shipsync_parcel_ids.mapped("package_name")),
                         sorted([first.name, second.name]))
        self.assertEqual(len(picking.shipsync_shipment_ref.split(",")), 2)

    def assert_untouched(self, picking):
        self.assertNotEqual(picking.state, "done")
        self.assertFalse(picking.carrier_tracking_ref)
        self.assertFalse(self.labels_of(picking))
        self.assertFalse(picking.shipsync_parcel_ids)
        self.assertNotIn("label_created", self.events_of(picking).mapped("milestone"))

    def test_bad_address_422_is_a_clear_user_error_and_writes_nothing(self):
        bad = self.customer.copy({"zip": "00000"})
        picking = self.make_picking(customer=bad)
        picking.move_ids.picked = True
        with self.assertRaisesRegex(UserError, r"refused .*HTTP 422, ADDRESS\.VERIFY\.FAILURE"):
            with self.env.cr.savepoint():
                picking.button_validate()
        picking.invalidate_recordset()
        self.assert_untouched(picking)
        # corrected, the same transfer validates
        bad.zip = "90001"
        self.validate(picking)
        self.assertTrue(picking.carrier_tracking_ref)

    def test_server_error_500_is_a_user_error_and_a_retry_succeeds(self):
        picking = self.make_picking()
        picking.move_ids.picked = True
        self.sandbox.configure(fail_next=1, fail_status=500)
        with self.assertRaisesRegex(UserError, r"not answering .*HTTP 500"):
            with self.env.cr.savepoint():
                picking.button_validate()
        picking.invalidate_recordset()
        self.assert_untouched(picking)
        self.validate(picking)
        self.assertTrue(picking.carrier_tracking_ref)

    def test_timeout_is_a_user_error_and_the_retry_reuses_the_booking(self):
        picking = self.make_picking()
        picking.move_ids.picked = True
        self.sandbox.configure(latency_ms=1500)
        with self.assertRaisesRegex(UserError, r"not answering .*timeout"):
            with self.env.cr.savepoint():
                picking.button_validate()
        picking.invalidate_recordset()
        self.assert_untouched(picking)
        self.sandbox.configure(latency_ms=0)
        self.validate(picking)
        # the carrier had booked before the timeout: the idempotency key gives it back
        booked = [s for s in self.sandbox.shipments.values() if s["tracking_code"]]
        self.assertEqual(len(booked), 1)
        self.assertEqual(picking.carrier_tracking_ref, booked[0]["tracking_code"])

    def test_missing_weight_is_refused_before_any_call(self):
        self.product.weight = 0.0
        try:
            picking = self.make_picking()
            picking.move_ids.picked = True
            with self.assertRaisesRegex(UserError, "weight"):
                with self.env.cr.savepoint():
                    picking.button_validate()
        finally:
            self.product.weight = 0.3
        self.assertFalse(self.sandbox.calls)

    def test_cancel_refunds_the_label_and_clears_the_tracking_number(self):
        picking = self.validate(self.make_picking())
        shipment_id = picking.shipsync_shipment_ref
        picking.cancel_shipment()
        self.assertEqual(self.sandbox.shipments[shipment_id]["refund_status"], "submitted")
        self.assertFalse(picking.carrier_tracking_ref)
        self.assertFalse(picking.shipsync_shipment_ref)
        self.assertEqual(picking.shipsync_parcel_ids.state, "cancelled")
        self.assertEqual(picking.shipsync_label_state, "cancelled")
        self.assertIn("cancelled", self.events_of(picking).mapped("milestone"))

    def test_cancel_refused_after_pickup_is_a_user_error(self):
        picking = self.validate(self.make_picking())
        self.sandbox.advance(picking.carrier_tracking_ref, steps=1, webhook=False)
        with self.assertRaisesRegex(UserError, "refused to cancel .*rejected"):
            picking.cancel_shipment()
        self.assertTrue(picking.carrier_tracking_ref)

    def test_rate_shipment_quotes_the_sale_order(self):
        order = self.env["sale.order"].create({
            "partner_id": self.customer.id,
            "order_line": [(0, 0, {"product_id": self.product.id, "product_uom_qty": 5})]})
        result = self.carrier.rate_shipment(order)
        self.assertTrue(result["success"], result)
        # 1.5 kg = 52.9 oz; the cheapest sandbox rate is 5.00 + 0.03 / oz
        self.assertAlmostEqual(result["price"], 6.59, places=2)
        self.carrier.shipsync_service = "Express"
        try:
            self.assertAlmostEqual(self.carrier.rate_shipment(order)["price"], 30.29, places=2)
        finally:
            self.carrier.shipsync_service = False

    def test_invoice_policy_real_bills_the_actual_charge_on_the_sale_order(self):
        self.carrier.invoice_policy = "real"
        order = self.env["sale.order"].create({
            "partner_id": self.customer.id,
            "order_line": [(0, 0, {"product_id": self.product.id, "product_uom_qty": 40})]})
        order.set_delivery_line(self.carrier, 0.0)
        order.action_confirm()
        picking = order.picking_ids
        self.validate(picking)
        line = order.order_line.filtered("is_delivery")
        # 12 kg: the sandbox adds a 3 % overweight surcharge to the quote
        self.assertGreater(picking.shipsync_charge, picking.shipsync_quoted_price)
        self.assertAlmostEqual(line.price_unit, picking.shipsync_charge, places=2)

    def test_only_managers_read_the_api_key_and_stock_users_see_parcels(self):
        from odoo.exceptions import AccessError

        picking = self.validate(self.make_picking())
        user = self.env["res.users"].create({
            "name": "Stock Clerk", "login": "clerk-carrier",
            "groups_id": [(6, 0, [self.env.ref("stock.group_stock_user").id])]})
        carrier = self.carrier.with_user(user)
        with self.assertRaises(AccessError):
            carrier.read(["shipsync_api_key"])
        self.assertEqual(carrier.read(["shipsync_base_url"])[0]["shipsync_base_url"],
                         self.sandbox.url)
        parcels = picking.with_user(user).shipsync_parcel_ids
        self.assertEqual(parcels.mapped("tracking_number"), [picking.carrier_tracking_ref])
