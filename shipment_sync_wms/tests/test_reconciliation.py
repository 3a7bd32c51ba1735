import base64

from odoo.tests import tagged

from shipsync.wms import csv_format
from shipsync.wms.messages import StockSnapshotLine

from .common import WmsCase


@tagged("post_install", "-at_install")
class TestReconciliation(WmsCase):
    def new(self):
        return self.env["shipment.sync.wms.reconciliation"].create({
            "partner_id": self.partner.id,
            "warehouse_id": self.picking_type.warehouse_id.id})

    def test_snapshot_from_the_api_reports_matches_differences_and_unknown_items(self):
        self.wms.configure(stock=[
            {"product_code": "WMS-DESK", "location": "A-01", "lot": "", "quantity": "47"},
            {"product_code": "WMS-LAMP", "location": "B-02", "lot": "L1", "quantity": "20"},
            {"product_code": "WMS-LAMP", "location": "B-03", "lot": "L2", "quantity": "21"},
            {"product_code": "NOT-IN-ODOO", "location": "C-01", "lot": "", "quantity": "5"},
        ])
        rec = self.new()
        rec.action_fetch_snapshot()
        lines = {(x.product_code, x.lot_name or ""): x for x in rec.line_ids}
        self.assertEqual(lines[("WMS-LAMP", "L1")].status, "match")
        desk = lines[("WMS-DESK", "")]
        self.assertEqual((desk.status, desk.difference, desk.value), ("difference", -3, -300))
        self.assertEqual(lines[("WMS-LAMP", "L2")].difference, 1)
        self.assertEqual(lines[("NOT-IN-ODOO", "")].status, "unknown")
        self.assertEqual((rec.match_count, rec.difference_count, rec.unknown_count), (1, 2, 1))
        self.assertEqual(rec.difference_value, -290)

    def test_proposed_adjustments_wait_for_a_manager_to_apply_them(self):
        self.wms.configure(stock=[
            {"product_code": "WMS-DESK", "location": "", "lot": "", "quantity": "47"}])
        rec = self.new()
        rec.action_fetch_snapshot()
        rec.action_propose_adjustments()
        quant = rec.line_ids.filtered(lambda x: x.product_code == "WMS-DESK").quant_id
        self.assertTrue(quant.inventory_quantity_set)
        self.assertEqual(quant.inventory_quantity, 47)
        self.assertEqual(self.desk.with_context(location=self.stock.id).qty_available, 50)
        quant.action_apply_inventory()
        self.assertEqual(self.desk.with_context(location=self.stock.id).qty_available, 47)

    def test_snapshot_file_import_in_csv(self):
        data = csv_format.write_stock([StockSnapshotLine("WMS-DESK", "A", "", 50)])
        rec = self.new()
        rec.write({"snapshot_file": base64.b64encode(data), "snapshot_filename": "stock.csv"})
        rec.action_import_file()
        desk = rec.line_ids.filtered(lambda x: x.product_code == "WMS-DESK")
        self.assertEqual(desk.status, "match")
        # what the WMS does not have is a difference too
        lamp = rec.line_ids.filtered(lambda x: x.product_code == "WMS-LAMP")
        self.assertEqual(set(lamp.mapped("status")), {"difference"})
        self.assertEqual(set(lamp.mapped("wms_quantity")), {0})

    def test_unreadable_snapshot_file_changes_nothing(self):
        rec = self.new()
        rec.write({"snapshot_file": base64.b64encode(b"product_code,quantity\r\nX,abc\r\n"),
                   "snapshot_filename": "stock.csv"})
        with self.assertRaisesRegex(Exception, "line 2"):
            rec.action_import_file()
        self.assertFalse(rec.line_ids)
        self.assertEqual(rec.state, "draft")
