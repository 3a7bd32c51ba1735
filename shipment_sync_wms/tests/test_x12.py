"""X12 exchange with a 3PL: 940 out with X12 units and control numbers, 945 in as
3PLs write them, units honoured, 997 acknowledgments both ways (Bots' grammar
checks every file we write)."""

import shutil
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path

from freezegun import freeze_time

from odoo import fields
from odoo.tests import tagged

from shipsync.sandbox.x12_grammar import assert_valid_x12
from shipsync.wms import files, x12
from shipsync.wms.messages import ReleaseOrder

from .common import WmsCase

REALISTIC_945 = (
    "ISA*00*          *00*          *ZZ*ACME3PL        *ZZ*SHIPSYNC       *240501*1640*U*"
    "00401*000000042*0*P*^~\r\n"
    "GS*SW*ACME3PL*SHIPSYNC*20240501*1640*42*X*004010~\r\n"
    "ST*945*0001~\r\n"
    "W06*F*{ref}*20240501*ACME-{tag}~\r\n"
    "N1*SF*ACME Warehouse~\r\n"
    "G62*11*20240501*W*164000~\r\n"
    "W27*M*UPSN~\r\n"
    "LX*1~\r\n"
    "MAN*GM*BOX-{tag}**CP*1Z{tag}~\r\n"
    "W12*CC*2*2*0*EA**VN*WMS-LAMP~\r\n"
    "N9*LI*{lamp_move}~\r\n"
    "N9*LT*L2~\r\n"
    "MEA*PD*G*4.5*LB~\r\n"
    "W12*CC*4*4*0*EA**VN*WMS-DESK~\r\n"
    "N9*LI*{desk_move}~\r\n"
    "SE*14*0001~\r\n"
    "GE*1*42~\r\n"
    "IEA*1*000000042~\r\n"
)


@tagged("post_install", "-at_install")
class TestX12Exchange(WmsCase):
    def setUp(self):
        super().setUp()
        self.root = Path(tempfile.mkdtemp(prefix="wms-x12-"))
        self.addCleanup(shutil.rmtree, self.root, ignore_errors=True)
        self.outbound, self.inbound = self.root / "to_wms", self.root / "from_wms"
        self.x12_partner = self.env["shipment.sync.partner"].create({
            "name": "X12 3PL", "code": f"x12-{uuid.uuid4().hex[:6]}", "kind": "wms",
            "inbound_format": "wms", "webhook_secret": "unused", "processing_mode": "inline",
            "wms_transport": "files", "wms_file_format": "x12", "wms_x12_receiver_id": "ACME3PL",
            "wms_outbound_dir": str(self.outbound), "wms_inbound_dir": str(self.inbound)})
        self.picking_type.wms_partner_id = self.x12_partner
        self.wms.configure(mode="files", exchange_dir=str(self.inbound), file_format="x12")
        self.Files = self.env["shipment.sync.wms.file"]
        self.Groups = self.env["shipment.sync.wms.x12.group"]
        self.dozen = self.env.ref("uom.product_uom_dozen")

    def released(self, picking):
        picking.action_wms_release()
        self.run_worker()
        (path,) = [p for p in self.outbound.iterdir() if p.suffix == ".940"
                   and picking.name.replace("/", "_") in p.name]
        return path

    def feed(self, picking, **overrides):
        self.wms.receive(ReleaseOrder.from_dict(
            picking._wms_release_payload("create", 1)).to_dict())
        self.wms.confirm(picking.name, kinds=("ship_confirmed",), **overrides)

    def answers(self):
        return sorted(p for p in self.outbound.iterdir() if p.suffix == ".997")

    # -- 940 out -----------------------------------------------------------------------
    def test_940_carries_x12_units_control_numbers_and_passes_the_grammar(self):
        picking = self.make_picking(desk=2, lamp=0)
        picking.move_ids.product_uom = self.dozen
        path = self.released(picking)
        data = path.read_bytes()
        assert_valid_x12(data)
        (order,) = x12.read_releases(data)
        self.assertEqual([(x.product_code, x.uom) for x in order.lines], [("WMS-DESK", "DZ")])
        self.assertIn(b"*EN*9780201379624", data)  # the EAN-13 barcode, not in W01-03
        first = self.x12_partner.wms_x12_control_number
        self.assertIn(f"*{first:09d}*".encode(), data)
        self.assertIn(b"*ACME3PL        *", data)
        group = self.Groups.search([("picking_id", "=", picking.id)])
        self.assertEqual((group.direction, group.control_number, group.state),
                         ("out", str(first), "waiting"))
        second = self.released(self.make_picking(desk=1, lamp=0))
        self.assertIn(f"*{first + 1:09d}*".encode(), second.read_bytes())

    # -- 997 both ways -----------------------------------------------------------------
    def test_the_3pl_997_accepts_our_group(self):
        picking = self.make_picking(desk=1, lamp=0)
        path = self.released(picking)
        self.wms.acknowledge(path)
        (record,) = self.Files._import_partner(self.x12_partner)
        self.assertEqual((record.state, record.file_format), ("processed", "x12 997"))
        group = self.Groups.search([("picking_id", "=", picking.id)])
        self.assertEqual((group.state, group.ack_code), ("accepted", "A"))
        self.assertFalse(self.answers())  # a 997 is never acknowledged

    def test_a_rejecting_997_opens_an_exception(self):
        picking = self.make_picking(desk=1, lamp=0)
        self.wms.acknowledge(self.released(picking), code="R")
        self.Files._import_partner(self.x12_partner)
        group = self.Groups.search([("picking_id", "=", picking.id)])
        self.assertEqual(group.state, "rejected")
        self.assertEqual(picking.shipment_exception_state, "open")
        self.assertEqual(picking.shipment_exception_reason, "wms_mismatch")

    def test_a_missing_997_raises_an_alert_once_overdue(self):
        self.x12_partner.wms_x12_ack_hours = 4
        picking = self.make_picking(desk=1, lamp=0)
        self.released(picking)
        group = self.Groups.search([("picking_id", "=", picking.id)])
        Groups = self.Groups
        with freeze_time(fields.Datetime.now() + timedelta(hours=3)):
            self.assertFalse(Groups._cron_check_acknowledgments())
        self.assertEqual(group.state, "waiting")
        self.assertNotEqual(picking.shipment_exception_state, "open")
        with freeze_time(fields.Datetime.now() + timedelta(hours=5)):
            self.assertEqual(Groups._cron_check_acknowledgments(), group)
        self.assertEqual(group.state, "overdue")
        self.assertEqual(picking.shipment_exception_state, "open")
        self.assertEqual(picking.shipment_exception_reason, "wms_mismatch")
        self.assertTrue(any("No 997" in str(m.body) for m in picking.message_ids))

    def test_every_945_group_gets_a_997_and_a_bad_one_names_segment_and_element(self):
        picking = self.make_picking(lamp=0)
        self.feed(picking)
        (record,) = self.Files._import_partner(self.x12_partner)
        self.assertEqual(record.state, "processed", record.error_report)
        self.assertEqual(picking.state, "done")
        (answer,) = self.answers()
        assert_valid_x12(answer.read_bytes())
        (ack,) = x12.read_acknowledgments(answer.read_bytes())
        self.assertEqual((ack.functional_id, ack.code), ("SW", "A"))
        received = self.Groups.search([("direction", "=", "in"), ("file_id", "=", record.id)])
        self.assertEqual((received.state, received.ack_code), ("acknowledged", "A"))

        other = self.make_picking(lamp=0)
        bad = REALISTIC_945.format(ref=other.name, tag="9", lamp_move=0,
                                   desk_move=other.move_ids.id).replace(
            "W12*CC*4*4*0*EA", "W12*CC*4*four*0*EA")
        files.write_atomic(self.inbound, "bad.945", bad.encode())
        (record,) = self.Files._import_partner(self.x12_partner)
        self.assertEqual(record.state, "error")
        self.assertEqual(other.state, "assigned")  # nothing applied
        answer = self.answers()[-1]
        assert_valid_x12(answer.read_bytes())
        text = answer.read_text()
        self.assertIn("AK1*SW*42", text)
        self.assertIn("AK3*W12*12*LX*8", text)
        self.assertIn("AK4*3**6*four", text)
        self.assertIn("AK9*R*1*1*0", text)

    # -- 945 in, as 3PLs write them ----------------------------------------------------
    def test_a_realistic_945_applies_lots_without_quantity_and_caret_components(self):
        picking = self.make_picking(desk=4, lamp=2)
        desk = picking.move_ids.filtered(lambda m: m.product_id == self.desk)
        lamp = picking.move_ids - desk
        data = REALISTIC_945.format(ref=picking.name, tag="1", lamp_move=lamp.id,
                                    desk_move=desk.id)
        assert_valid_x12(data)
        files.write_atomic(self.inbound, "acme.945", data.encode())
        (record,) = self.Files._import_partner(self.x12_partner)
        self.assertEqual(record.state, "processed", record.error_report)
        conf = record.confirmation_ids
        self.assertEqual(conf.state, "applied", conf.error)
        self.assertEqual(picking.state, "done")
        lamp_lines = picking.move_line_ids.filtered(lambda ml: ml.product_id == self.lamp)
        self.assertEqual((lamp_lines.lot_id, lamp_lines.quantity), (self.lot2, 2))
        package = picking.move_line_ids.result_package_id
        self.assertEqual((package.name, package.wms_tracking_ref, package.wms_carrier),
                         ("BOX-1", "1Z1", "UPSN"))

    def test_one_each_shipped_against_one_dozen_ordered_never_validates(self):
        picking = self.make_picking(desk=1, lamp=0)
        picking.move_ids.product_uom = self.dozen
        self.feed(picking, units={"WMS-DESK": "EA"})
        (record,) = self.Files._import_partner(self.x12_partner)
        self.assertEqual(record.state, "processed", record.error_report)
        conf = record.confirmation_ids
        self.assertEqual(conf.state, "rejected")
        self.assertIn("1 EA confirmed, but the transfer orders 'WMS-DESK' in DZ", conf.error)
        self.assertNotEqual(picking.state, "done")
        self.assertEqual(picking.move_ids.product_uom_qty, 1)
        self.assertEqual(picking.shipment_exception_reason, "wms_mismatch")
        # The same file in dozens applies: 1 dozen shipped.
        self.feed(picking, units={"WMS-DESK": "DZ"}, message_prefix="dz")
        (record,) = self.Files._import_partner(self.x12_partner)
        self.assertEqual(record.confirmation_ids.state, "applied",
                         record.confirmation_ids.error)
        self.assertEqual(picking.state, "done")
        self.assertEqual((picking.move_ids.quantity, picking.move_ids.product_uom),
                         (1, self.dozen))

    def test_a_unit_no_odoo_unit_carries_is_refused_precisely(self):
        picking = self.make_picking(desk=2, lamp=0)
        self.feed(picking, units={"WMS-DESK": "CA"})
        (record,) = self.Files._import_partner(self.x12_partner)
        conf = record.confirmation_ids
        self.assertEqual(conf.state, "rejected")
        self.assertIn("unit of measure 'CA' is not mapped to a unit in Odoo", conf.error)
        self.assertNotEqual(picking.state, "done")
        # Mapping a unit to CA (a case of 6) and replaying: the shipment no longer
        # fails on the unit but on the ordered unit (units, not cases).
        case = self.env["uom.uom"].create({
            "name": "Case of 6", "category_id": self.dozen.category_id.id,
            "uom_type": "bigger", "factor_inv": 6, "x12_unit_code": "CA"})
        self.assertTrue(case)
        conf.action_replay()
        self.assertEqual(conf.state, "rejected")
        self.assertIn("2 CA confirmed, but the transfer orders 'WMS-DESK' in EA", conf.error)
