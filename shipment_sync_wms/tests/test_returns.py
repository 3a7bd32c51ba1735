from odoo.tests import tagged

from .common import WmsCase


@tagged("post_install", "-at_install")
class TestReturns(WmsCase):
    def test_return_receipt_receives_the_return_and_sets_returned(self):
        picking = self.release(self.make_picking(desk=4, lamp=2))
        self.confirm(picking, lots={"WMS-LAMP": "L1"})
        self.assertEqual(picking.state, "done")
        self.env.flush_all()
        _conf, status = self.wms.return_receipt(picking.name, condition_code="DAMAGED",
                                                quantities={"WMS-DESK": 1})
        self.env.invalidate_all()
        self.assertEqual(status, 202)
        conf = self.confirmations(picking, "return_received")
        self.assertEqual(conf.state, "applied", conf.error)
        returned = conf.return_picking_id
        self.assertEqual(returned.state, "done")
        self.assertEqual(returned.picking_type_code, "incoming")
        self.assertEqual(returned.wms_condition_code, "DAMAGED")
        done = {m.product_id: m.quantity for m in returned.move_ids}
        self.assertEqual(done[self.desk], 1)
        self.assertEqual(done[self.lamp], 2)
        self.assertEqual(returned.move_line_ids.filtered(
            lambda ml: ml.product_id == self.lamp).lot_id, self.lot1)
        self.assertEqual(picking.shipment_milestone, "returned")

    def test_return_of_a_lot_never_shipped_is_rejected(self):
        picking = self.release(self.make_picking(desk=0, lamp=2))
        self.confirm(picking, kinds=("ship_confirmed",), lots={"WMS-LAMP": "L1"})
        entry = self.wms.orders[picking.name]
        shipped = entry["shipped"]
        from shipsync.wms.messages import ConfirmedLine

        entry["shipped"] = shipped.__class__(**{
            **{f: getattr(shipped, f) for f in shipped.__dataclass_fields__},
            "lines": (ConfirmedLine("", "WMS-LAMP", 2, (("GHOST-LOT", 2),)),)})
        self.env.flush_all()
        self.wms.return_receipt(picking.name)
        self.env.invalidate_all()
        conf = self.confirmations(picking, "return_received")
        self.assertEqual(conf.state, "rejected")
        self.assertIn("GHOST-LOT", conf.error)
        self.assertFalse(picking.return_ids.filtered(lambda p: p.state == "done"))
        self.assertEqual(picking.shipment_milestone, "handed_over")
