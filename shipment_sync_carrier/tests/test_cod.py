import base64

from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged

from .common import CarrierCommon


@tagged("post_install", "-at_install")
class TestCashOnDelivery(CarrierCommon, TransactionCase):
    """COD amount from the sale order, sent where the partner documents it (Sendcloud v2
    ``total_order_value``), refused where it does not (EasyPost); remittances reconciled
    against the COD amount and the order's invoices; a short one opens a card."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_carrier()
        cls.sc_partner = cls.make_partner("sendcloud")
        cls.sc_carrier = cls.make_carrier(cls.sc_partner, "sendcloud")
        cls.sc_carrier.write({"shipsync_tolerance_amount": 0.5})

    def setUp(self):
        super().setUp()
        self.sandbox.reset()

    def cod_order(self, carrier, qty=2):
        order = self.env["sale.order"].create({
            "partner_id": self.customer.id, "shipsync_cod": True,
            "order_line": [(0, 0, {"product_id": self.product.id, "product_uom_qty": qty,
                                   "price_unit": 20.0})]})
        order.action_confirm()
        picking = order.picking_ids
        picking.carrier_id = carrier
        return order, picking

    def test_the_cod_amount_goes_with_a_sendcloud_booking(self):
        order, picking = self.cod_order(self.sc_carrier)
        self.assertEqual(picking.shipsync_cod_amount, order.amount_total)
        self.validate(picking)
        [parcel] = self.sandbox.parcels.values()
        self.assertEqual(parcel["total_order_value"], f"{order.amount_total:.2f}")
        self.assertEqual(parcel["total_order_value_currency"], order.currency_id.name)

    def test_a_partner_without_cod_refuses_the_booking_before_any_call(self):
        _order, picking = self.cod_order(self.carrier)
        picking.move_ids.picked = True
        with self.assertRaisesRegex(UserError, "cash on delivery"):
            picking.button_validate()
        self.assertFalse(self.sandbox.shipments)

    def test_an_order_without_cod_has_no_amount(self):
        order, picking = self.cod_order(self.sc_carrier)
        order.shipsync_cod = False
        self.assertEqual(picking.shipsync_cod_amount, 0.0)

    def remit(self, text):
        wizard = self.env["shipment.sync.cod.import"].create({
            "carrier_id": self.sc_carrier.id, "file": base64.b64encode(text.encode())})
        return wizard._import_content(text.encode())

    def test_a_remittance_reconciles_and_a_short_one_opens_a_card(self):
        paid, paid_picking = self.cod_order(self.sc_carrier)
        short, short_picking = self.cod_order(self.sc_carrier, qty=3)
        for picking in (paid_picking, short_picking):
            self.validate(picking)
        invoice = paid._create_invoices()
        invoice.action_post()
        lines = self.remit(
            "Remittance,Date,Tracking Number,Amount,Currency\n"
            f"R-1,2026-12-01,{paid_picking.carrier_tracking_ref},{paid.amount_total:.2f},USD\n"
            f"R-1,2026-12-01,{short_picking.carrier_tracking_ref},"
            f"{short.amount_total - 10:.2f},USD\n"
            "R-1,2026-12-01,NOPE1,5.00,USD\n")
        self.assertEqual(lines.mapped("state"), ["matched", "variance", "unmatched"])
        self.assertEqual(lines[0].picking_id, paid_picking)
        self.assertEqual(lines[0].invoice_ids, invoice)
        self.assertAlmostEqual(lines[0].invoice_residual, invoice.amount_residual)
        self.assertAlmostEqual(lines[1].variance, -10.0, places=2)
        self.assertEqual(short_picking.shipsync_cod_line_ids, lines[1])
        if "shipment.sync.exception" in self.env:
            card = self.env["shipment.sync.exception"].search(
                [("picking_id", "in", (paid_picking | short_picking).ids)])
            self.assertEqual((card.picking_id, card.reason), (short_picking, "cod_variance"))
        else:
            self.assertEqual(short_picking.activity_ids.mapped("summary"),
                             ["Shipment exception: COD Variance"])
        self.assertTrue(lines[2].activity_ids)
        # the same file again: duplicates, no second card
        again = self.remit(
            "Remittance,Date,Tracking Number,Amount,Currency\n"
            f"R-1,2026-12-01,{paid_picking.carrier_tracking_ref},{paid.amount_total:.2f},USD\n")
        self.assertEqual(again.state, "duplicate")

    def test_a_bad_remittance_file_is_refused_whole(self):
        with self.assertRaisesRegex(UserError, "row 2, column 'Amount'"):
            self.remit("Remittance,Date,Tracking Number,Amount,Currency\n"
                       "R-1,2026-12-01,X1,lots,USD\n")
        self.assertFalse(self.env["shipment.sync.cod.line"].search([]))
