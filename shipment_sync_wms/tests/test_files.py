import shutil
import tempfile
import uuid
from pathlib import Path

from odoo.tests import tagged

from shipsync.wms import csv_format, files, json_format, x12
from shipsync.wms.messages import ReleaseOrder

from .common import WmsCase

BAD_CSV = (
    "message_id,kind,order_ref,occurred_at,product_code,quantity\r\n"
    "m-1,ship_confirmed,{ref},2026-11-02T08:00:00Z,WMS-DESK,4\r\n"
    "m-1,ship_confirmed,{ref},2026-11-02T08:00:00Z,WMS-DESK,4,5\r\n"
    "m-1,ship_confirmed,{ref},2026-11-02T08:00:00Z,WMS-DESK,four\r\n"
)


@tagged("post_install", "-at_install")
class TestFileExchange(WmsCase):
    def setUp(self):
        super().setUp()
        self.root = Path(tempfile.mkdtemp(prefix="wms-exchange-"))
        self.addCleanup(shutil.rmtree, self.root, ignore_errors=True)
        self.outbound, self.inbound = self.root / "to_wms", self.root / "from_wms"
        self.file_partner = self.env["shipment.sync.partner"].create({
            "name": "File 3PL", "code": f"f3pl-{uuid.uuid4().hex[:6]}", "kind": "wms",
            "inbound_format": "wms", "webhook_secret": "unused", "processing_mode": "inline",
            "wms_transport": "files", "wms_file_format": "csv",
            "wms_outbound_dir": str(self.outbound), "wms_inbound_dir": str(self.inbound)})
        self.picking_type.wms_partner_id = self.file_partner
        self.wms.configure(mode="files", exchange_dir=str(self.inbound), file_format="json")

    def released(self, **kw):
        picking = self.make_picking(**kw)
        picking.action_wms_release()
        self.run_worker()
        return picking

    def test_release_is_written_as_a_file_atomically(self):
        picking = self.released()
        (path,) = list(self.outbound.iterdir())  # no temporary file left behind
        self.assertTrue(path.name.endswith("-r1.csv"))
        (order,) = csv_format.read_releases(path.read_bytes())
        self.assertEqual(order.order_ref, picking.name)
        self.assertEqual({x.product_code for x in order.lines}, {"WMS-DESK", "WMS-LAMP"})
        self.assertEqual(picking.shipment_job_ids.state, "done")

    def test_release_files_in_json_and_x12_940(self):
        for fmt, reader, ext in (("json", json_format, ".json"), ("x12", x12, ".940")):
            self.file_partner.wms_file_format = fmt
            picking = self.released(lamp=0)
            path = next(p for p in self.outbound.iterdir() if p.suffix == ext)
            (order,) = reader.read_releases(path.read_bytes())
            self.assertEqual(order.order_ref, picking.name)
            path.unlink()

    def feed(self, picking, fmt, **overrides):
        """The sandbox writes the ship confirmation of ``picking`` as a file."""
        self.wms.configure(file_format=fmt)
        self.wms.receive(ReleaseOrder.from_dict(
            picking._wms_release_payload("create", 1)).to_dict())
        self.wms.confirm(picking.name, kinds=("ship_confirmed",), **overrides)

    def test_good_files_in_each_format_are_applied_and_moved_to_processed(self):
        for fmt in ("json", "csv", "x12"):
            picking = self.make_picking(lamp=0)
            self.feed(picking, fmt)
            (record,) = self.env["shipment.sync.wms.file"]._import_partner(self.file_partner)
            self.assertEqual(record.state, "processed", record.error_report)
            self.assertEqual(record.confirmation_count, 1)
            self.assertEqual(Path(record.path).parent.name, "processed")
            self.assertEqual(picking.state, "done", fmt)
            self.assertEqual(record.confirmation_ids.picking_id, picking)
        self.assertFalse(files.list_inbound(self.inbound))

    def test_duplicate_file_is_recognised_by_content_and_not_applied_again(self):
        picking = self.make_picking(lamp=0)
        self.feed(picking, "json")
        (path,) = files.list_inbound(self.inbound)
        data = path.read_bytes()
        Files = self.env["shipment.sync.wms.file"]
        Files._import_partner(self.file_partner)
        files.write_atomic(self.inbound, "again.json", data)
        (dup,) = Files._import_partner(self.file_partner)
        self.assertEqual(dup.state, "duplicate")
        self.assertEqual(Path(dup.path).parent.name, "processed")
        self.assertEqual(len(self.confirmations(picking)), 1)

    def test_malformed_line_sends_the_whole_file_to_error_with_line_numbers(self):
        picking = self.make_picking(lamp=0)
        files.write_atomic(self.inbound, "bad.csv", BAD_CSV.format(ref=picking.name).encode())
        (record,) = self.env["shipment.sync.wms.file"]._import_partner(self.file_partner)
        self.assertEqual(record.state, "error")
        self.assertIn("line 3", record.error_report)
        self.assertIn("line 4", record.error_report)
        self.assertEqual(Path(record.path).parent.name, "error")
        report = self.inbound / "error" / "bad.csv.errors.txt"
        self.assertIn("line 4", report.read_text())
        self.assertFalse(self.confirmations(picking))  # nothing of it applied
        self.assertEqual(picking.state, "assigned")

    def test_files_are_handled_oldest_first(self):
        picking = self.make_picking(lamp=0)
        self.wms.configure(file_format="json")
        self.wms.receive(ReleaseOrder.from_dict(
            picking._wms_release_payload("create", 1)).to_dict())
        self.wms.confirm(picking.name, kinds=("pick_confirmed", "ship_confirmed"))
        records = self.env["shipment.sync.wms.file"]._import_partner(self.file_partner)
        kinds = [r.confirmation_ids.kind for r in records]
        self.assertEqual(kinds, ["pick_confirmed", "ship_confirmed"])
        self.assertEqual(picking.state, "done")

    def test_cron_reads_every_directory_partner(self):
        picking = self.make_picking(lamp=0)
        self.feed(picking, "csv")
        self.assertEqual(self.env["shipment.sync.wms.file"]._cron_import(), 1)
        self.assertEqual(picking.state, "done")
