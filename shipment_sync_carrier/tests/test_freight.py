import base64

from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged

from shipsync import catalogue as cat

from .common import CarrierCommon
from .test_async import catalogue_subscription, published


@tagged("post_install", "-at_install")
class TestFreight(CarrierCommon, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_carrier()
        cls.carrier.write({"shipsync_tolerance_amount": 0.5, "shipsync_tolerance_percent": 2.0})
        cls.pickings = [cls.validate(cls.make_picking()) for _i in range(2)]

    def import_csv(self, text, **vals):
        wizard = self.env["shipment.sync.freight.import"].create({
            "carrier_id": self.carrier.id, "file": base64.b64encode(text.encode()),
            "filename": "invoice.csv", **vals})
        return wizard._import_content(text.encode())

    def csv(self):
        first, second = self.pickings
        return (
            "Invoice,Date,Tracking Number,Amount,Currency\n"
            f"INV-7,2026-11-05,{first.carrier_tracking_ref},{first.shipsync_charge + 0.1:.2f},USD\n"
            f"INV-7,2026-11-05,{second.carrier_tracking_ref},{second.shipsync_charge + 5:.2f},USD\n"
            "INV-7,2026-11-05,NOPE123,4.20,USD\n"
            f"INV-7,2026-11-05,{first.carrier_tracking_ref},{first.shipsync_charge + 0.1:.2f},USD\n"
        )

    def test_invoice_import_gives_matched_variance_unmatched_and_duplicate(self):
        first, second = self.pickings
        lines = self.import_csv(self.csv())
        self.assertEqual(lines.mapped("state"), ["matched", "variance", "unmatched", "duplicate"])
        self.assertEqual(lines[0].picking_id, first)
        self.assertAlmostEqual(lines[1].variance, 5.0, places=2)
        self.assertEqual(lines[0].period, "2026-11")
        # a variance opens a freight_variance exception beside the transfer's milestone
        # track (a workbench card with the monitor, else a to-do), an unmatched line an
        # activity
        self.assertEqual((first.shipment_exception_state, second.shipment_exception_state),
                         ("none", "none"))
        if "shipment.sync.exception" in self.env:
            cards = self.env["shipment.sync.exception"].search(
                [("picking_id", "in", [first.id, second.id])])
            self.assertEqual((cards.picking_id, cards.reason, cards.state),
                             (second, "freight_variance", "open"))
        else:
            self.assertEqual(second.activity_ids.mapped("summary"),
                             ["Shipment exception: Freight Variance"])
        self.assertTrue(lines[2].activity_ids)
        self.assertEqual(second.shipsync_freight_line_ids, lines[1])

    def test_a_variance_is_published_once_to_who_chose_it(self):
        sub = catalogue_subscription(self.env, [cat.FREIGHT_VARIANCE])
        first, second = self.pickings
        self.import_csv(self.csv())
        self.import_csv(self.csv())  # the same invoice again: duplicates, no new event
        [event] = published(self.env, sub)
        self.assertEqual(event["type"], cat.FREIGHT_VARIANCE)
        self.assertEqual(event["correlation_id"], second.shipment_correlation_id)
        self.assertEqual((event["data"]["tracking_number"], event["data"]["invoice"]),
                         (second.carrier_tracking_ref, "INV-7"))
        self.assertAlmostEqual(event["data"]["amount"] - event["data"]["expected_amount"], 5.0,
                               places=2)

    def test_importing_the_same_invoice_again_gives_duplicates(self):
        self.import_csv(self.csv())
        again = self.import_csv(self.csv())
        self.assertEqual(set(again.mapped("state")), {"duplicate"})

    def test_reconciliation_totals_per_carrier_and_period(self):
        self.import_csv(self.csv())
        groups = self.env["shipment.sync.freight.line"]._read_group(
            [("carrier_id", "=", self.carrier.id), ("state", "!=", "duplicate")],
            ["carrier_id", "period"], ["amount:sum", "variance:sum"])
        [(carrier, period, amount, variance)] = groups
        self.assertEqual((carrier, period), (self.carrier, "2026-11"))
        expected = sum(p.shipsync_charge for p in self.pickings) + 0.1 + 5 + 4.2
        self.assertAlmostEqual(amount, expected, places=2)
        self.assertAlmostEqual(variance, 5.1, places=2)

    def test_a_bad_file_is_refused_whole_with_the_row_and_column(self):
        text = self.csv() + "INV-7,2026-11-05,EZ1,twelve,USD\n"
        with self.assertRaisesRegex(UserError, r"row 6, column 'Amount'"):
            self.import_csv(text)
        self.assertFalse(self.env["shipment.sync.freight.line"].search([]))

    def test_column_mapping_is_configurable(self):
        amount = f"{self.pickings[0].shipsync_charge:.2f}".replace(".", ",")
        text = f"Ref;Colis;Montant\nF1;{self.pickings[0].carrier_tracking_ref};{amount}\n"
        lines = self.import_csv(
            text, columns="invoice_ref=Ref;tracking_number=Colis;amount=Montant",
            delimiter=";")
        self.assertEqual(lines.state, "matched")
        self.assertEqual(lines.invoice_ref, "F1")

    def test_invoice_data_fetched_from_the_carrier_api(self):
        first, second = self.pickings
        # the carrier bills the second shipment 4.00 more than it announced
        for shipment in self.sandbox.shipments.values():
            if shipment["tracking_code"] == second.carrier_tracking_ref:
                shipment["fees"][0]["amount"] = f"{second.shipsync_charge + 4:.2f}"
        wizard = self.env["shipment.sync.freight.import"].create({
            "carrier_id": self.carrier.id, "source": "api",
            "date_from": "2026-11-01", "date_to": "2026-11-30"})
        wizard.action_import()
        lines = self.env["shipment.sync.freight.line"].search(
            [("carrier_id", "=", self.carrier.id)], order="row")
        by_picking = {line.picking_id: line.state for line in lines}
        self.assertEqual(by_picking, {first: "matched", second: "variance"})
        self.assertEqual(set(lines.mapped("invoice_ref")),
                         set(first.shipsync_shipment_ref.split(",")
                             + second.shipsync_shipment_ref.split(",")))
        # fetching the same period again only gives duplicates
        wizard.action_import()
        self.assertEqual(self.env["shipment.sync.freight.line"].search_count(
            [("carrier_id", "=", self.carrier.id), ("state", "=", "duplicate")]), 2)

    def test_carrier_without_invoice_api_is_told_to_import_a_file(self):
        sc_partner = self.make_partner("sendcloud")
        sc = self.make_carrier(sc_partner, kind="sendcloud")
        wizard = self.env["shipment.sync.freight.import"].create({
            "carrier_id": sc.id, "source": "api",
            "date_from": "2026-11-01", "date_to": "2026-11-30"})
        with self.assertRaisesRegex(UserError, "no invoice API"):
            wizard.action_import()
