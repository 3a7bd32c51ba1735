import json

from odoo.exceptions import UserError
from odoo.tests import tagged

from shipsync import catalogue as cat
from shipsync.signatures import StandardWebhooks
from shipsync.wms.messages import Confirmation, ConfirmedLine

from .common import WHSEC, WmsCase


@tagged("post_install", "-at_install")
class TestConfirmations(WmsCase):
    def test_release_pick_pack_ship_validates_with_lots_and_packages(self):
        picking = self.release(self.make_picking())
        statuses = self.confirm(picking, split_packages=2, substitute_lots={"L1": "L2"},
                                lots={"WMS-LAMP": "L2"})
        self.assertEqual(statuses, [202, 202, 202])
        self.assertEqual(picking.state, "done")
        self.assertEqual(picking.wms_state, "shipped")
        self.assertEqual(picking.shipment_milestone, "handed_over")
        received = self.env["shipment.sync.wms.confirmation"].search(
            [("order_ref", "=", picking.name)])
        self.assertEqual(len(received), 3)
        self.assertEqual(set(received.mapped("state")), {"applied"})
        lamp_lines = picking.move_line_ids.filtered(lambda ml: ml.product_id == self.lamp)
        self.assertEqual(lamp_lines.lot_id, self.lot2)  # the substitute lot was shipped
        self.assertEqual(sum(lamp_lines.mapped("quantity")), 2)
        packages = picking.move_line_ids.result_package_id
        self.assertEqual(len(packages), 2)
        self.assertTrue(all(packages.mapped("wms_tracking_ref")))
        self.assertEqual(set(packages.mapped("wms_carrier")), {"SBX"})
        self.assertEqual(set(picking.carrier_tracking_ref.split(",")),
                         set(packages.mapped("wms_tracking_ref")))
        milestones = self.env["shipment.sync.event"].search(
            [("picking_id", "=", picking.id), ("partner_id", "=", self.partner.id)]
        ).mapped("milestone")
        self.assertEqual(set(milestones), {"picked", "packed", "handed_over"})

    def quant(self, product, lot=None):
        return self.env["stock.quant"]._gather(product, self.stock, lot_id=lot, strict=True)

    def test_a_confirmation_of_the_reservation_ships_the_reserved_lines(self):
        picking = self.release(self.make_picking(desk=4, lamp=2))
        reserved = picking.move_line_ids
        lot = reserved.filtered(lambda ml: ml.product_id == self.lamp).lot_id
        self.assertEqual(len(lot), 1)
        desk_before, lamp_before = self.quant(self.desk), self.quant(self.lamp, lot)
        desk_qty, lamp_qty = desk_before.quantity, lamp_before.quantity
        desk_reserved, lamp_reserved = desk_before.reserved_quantity, \
            lamp_before.reserved_quantity
        self.confirm(picking, kinds=("ship_confirmed",), split_packages=2)
        self.assertEqual(picking.state, "done")
        # The same lines, now picked and packed: no unreserve and reserve again.
        self.assertEqual(picking.move_line_ids, reserved)
        self.assertTrue(all(reserved.mapped("picked")))
        self.assertEqual(len(reserved.result_package_id), 2)
        self.assertTrue(all(reserved.mapped("result_package_id")))
        self.assertEqual(reserved.filtered(lambda ml: ml.product_id == self.lamp).lot_id, lot)
        self.env.invalidate_all()
        self.assertEqual(self.quant(self.desk).quantity, desk_qty - 4)
        self.assertEqual(self.quant(self.desk).reserved_quantity, desk_reserved - 4)
        self.assertEqual(self.quant(self.lamp, lot).quantity, lamp_qty - 2)
        self.assertEqual(self.quant(self.lamp, lot).reserved_quantity, lamp_reserved - 2)
        shipped = self.env["stock.quant"].search([
            ("location_id", "=", self.customers.id), ("product_id", "=", self.lamp.id),
            ("lot_id", "=", lot.id), ("package_id", "in", reserved.result_package_id.ids)])
        self.assertEqual(sum(shipped.mapped("quantity")), 2)

    def test_another_lot_than_reserved_releases_the_reservation(self):
        picking = self.release(self.make_picking(desk=0, lamp=2))
        reserved = picking.move_line_ids
        self.assertEqual(reserved.lot_id, self.lot1)
        before = {lot: (self.quant(self.lamp, lot).quantity,
                        self.quant(self.lamp, lot).reserved_quantity)
                  for lot in (self.lot1, self.lot2)}
        self.confirm(picking, kinds=("ship_confirmed",), substitute_lots={"L1": "L2"})
        self.assertEqual(picking.state, "done")
        self.assertFalse(picking.move_line_ids & reserved)
        self.assertEqual(picking.move_line_ids.lot_id, self.lot2)
        self.env.invalidate_all()
        # L1 gets its reservation back and keeps its stock; L2 ships.
        self.assertEqual(self.quant(self.lamp, self.lot1).quantity, before[self.lot1][0])
        self.assertEqual(self.quant(self.lamp, self.lot1).reserved_quantity,
                         before[self.lot1][1] - 2)
        self.assertEqual(self.quant(self.lamp, self.lot2).quantity, before[self.lot2][0] - 2)
        self.assertEqual(self.quant(self.lamp, self.lot2).reserved_quantity,
                         before[self.lot2][1])

    def test_partial_shipment_creates_a_backorder_when_the_type_allows_it(self):
        picking = self.release(self.make_picking(desk=4, lamp=0))
        self.confirm(picking, kinds=("ship_confirmed",), partial=True)
        self.assertEqual(picking.state, "done")
        self.assertEqual(picking.move_ids.quantity, 2)
        backorder = picking.backorder_ids
        self.assertEqual(len(backorder), 1)
        self.assertEqual(backorder.move_ids.product_uom_qty, 2)
        self.assertEqual(backorder.shipment_correlation_id, picking.shipment_correlation_id)

    def test_partial_shipment_without_backorder_when_the_type_says_never(self):
        self.picking_type.create_backorder = "never"
        picking = self.release(self.make_picking(desk=4, lamp=0))
        self.confirm(picking, kinds=("ship_confirmed",), partial=True)
        self.assertEqual(picking.state, "done")
        self.assertFalse(picking.backorder_ids)
        self.assertEqual(sum(picking.move_ids.filtered(lambda m: m.state == "done")
                             .mapped("quantity")), 2)

    def assertRejectedWithNothingApplied(self, picking, reason_part):
        conf = self.confirmations(picking)
        self.assertEqual(conf.state, "rejected")
        self.assertIn(reason_part, conf.error)
        self.assertEqual(conf.event_id.state, "error")
        self.assertNotEqual(picking.state, "done")
        self.assertFalse(picking.move_line_ids.result_package_id)
        self.assertFalse(picking.carrier_tracking_ref)
        self.assertEqual(picking.shipment_exception_state, "open")
        self.assertEqual(picking.shipment_exception_reason, "wms_mismatch")
        self.assertNotEqual(picking.shipment_milestone, "handed_over")
        return conf

    def test_unknown_product_rejects_the_whole_confirmation_and_replays_after_the_fix(self):
        picking = self.release(self.make_picking())
        self.confirm(picking, kinds=("ship_confirmed",), mismatch="unknown_product",
                     lots={"WMS-LAMP": "L1"})
        conf = self.assertRejectedWithNothingApplied(picking, "unknown product 'UNKNOWN-SKU'")
        # The fix: the product exists in Odoo and is added to the order.
        ghost = self.env["product.product"].create(
            {"name": "Ghost", "default_code": "UNKNOWN-SKU", "is_storable": True})
        picking.with_context(wms_applying=True).move_ids = [(0, 0, {
            "name": ghost.name, "product_id": ghost.id, "product_uom_qty": 1,
            "product_uom": ghost.uom_id.id, "location_id": self.stock.id,
            "location_dest_id": self.customers.id})]
        picking.action_confirm()
        conf.action_replay()
        self.assertEqual(conf.state, "applied")
        self.assertEqual(picking.state, "done")
        self.assertEqual(picking.shipment_milestone, "handed_over")
        conf.invalidate_recordset()
        with self.assertRaises(UserError):
            conf.action_replay()  # applied once: nothing to replay

    def test_unknown_lot_is_rejected_and_applies_once_the_lot_exists(self):
        picking = self.release(self.make_picking(desk=0, lamp=2))
        self.confirm(picking, kinds=("ship_confirmed",), mismatch="unknown_lot")
        conf = self.assertRejectedWithNothingApplied(
            picking, "lot 'NO-SUCH-LOT' does not exist for product 'WMS-LAMP'")
        self.env["stock.lot"].create({"name": "NO-SUCH-LOT", "product_id": self.lamp.id})
        conf.event_id.action_retry()  # replay from the ledger
        self.assertEqual(conf.state, "applied")
        self.assertEqual(picking.state, "done")
        self.assertEqual(picking.move_line_ids.lot_id.name, "NO-SUCH-LOT")

    def test_more_than_ordered_beyond_the_tolerance_is_rejected(self):
        picking = self.release(self.make_picking(desk=4, lamp=0))
        self.confirm(picking, kinds=("ship_confirmed",), mismatch="over_quantity")
        self.assertRejectedWithNothingApplied(
            picking, "product 'WMS-DESK': 9 confirmed, more than the 4 ordered (tolerance 0%)")

    def test_a_mismatch_is_published_once_to_who_chose_it(self):
        partner = self.env["shipment.sync.partner"].create({
            "name": "Ops board", "code": "ops-board", "kind": "subscriber"})
        sub = self.env["shipment.sync.subscription"].create({
            "name": "Ops board", "partner_id": partner.id, "url": "https://ops.example/hooks",
            "event_type_ids": [(6, 0, self.env["shipment.sync.event.type"]._by_codes(
                [cat.WMS_MISMATCH]).ids)]})
        picking = self.release(self.make_picking(desk=4, lamp=0))
        self.confirm(picking, kinds=("ship_confirmed",), mismatch="over_quantity")
        conf = self.assertRejectedWithNothingApplied(picking, "more than the 4 ordered")
        conf.action_replay()  # refused again, the same mismatch: no second event
        self.assertEqual(conf.state, "rejected")
        jobs = self.env["shipment.sync.job"].search(
            [("operation", "=", "publish_event"), ("idempotency_key", "=like", f"sub{sub.id}:%")])
        [event] = [job._outbox_payload()["event"] for job in jobs]
        cat.validate_event(event)
        self.assertEqual((event["type"], event["correlation_id"]),
                         (cat.WMS_MISMATCH, picking.shipment_correlation_id))
        self.assertIn("more than the 4 ordered", event["data"]["message"])

    def test_over_shipment_within_the_tolerance_is_applied(self):
        self.partner.wms_qty_tolerance = 200.0
        picking = self.release(self.make_picking(desk=4, lamp=0))
        self.confirm(picking, kinds=("ship_confirmed",), mismatch="over_quantity")
        self.assertEqual(picking.state, "done")
        self.assertEqual(picking.move_ids.quantity, 9)

    def test_confirmation_for_a_picking_already_done_is_rejected(self):
        picking = self.release(self.make_picking(desk=4, lamp=0))
        picking.move_ids.picked = True
        picking.with_context(skip_backorder=True).button_validate()
        self.assertEqual(picking.state, "done")
        self.confirm(picking, kinds=("ship_confirmed",))
        conf = self.confirmations(picking)
        self.assertEqual(conf.state, "rejected")
        self.assertEqual(conf.error, f"transfer {picking.name} is already done")
        self.assertEqual(picking.shipment_exception_reason, "wms_mismatch")

    def test_duplicate_delivery_of_a_confirmation_is_applied_once(self):
        picking = self.release(self.make_picking(desk=4, lamp=0))
        conf, _status = self.wms.confirm(picking.name, kinds=("ship_confirmed",))[0]
        body = json.dumps(conf.to_dict()).encode()
        headers = {"Content-Type": "application/json",
                   **StandardWebhooks([WHSEC]).headers(conf.message_id, body)}
        url = f"{self.base_url()}/shipment_sync/webhook/{self.partner.code}"
        again = self.opener.post(url, data=body, headers=headers, timeout=30)
        self.assertEqual(again.json()["code"], "duplicate")
        self.env.invalidate_all()
        self.assertEqual(len(self.confirmations(picking)), 1)
        self.assertEqual(picking.state, "done")
        self.assertFalse(picking.backorder_ids)

    def test_unsigned_or_malformed_confirmation_is_refused_without_change(self):
        picking = self.release(self.make_picking(desk=4, lamp=0))
        url = f"{self.base_url()}/shipment_sync/webhook/{self.partner.code}"
        body = json.dumps({"message_id": "x", "kind": "ship_confirmed"}).encode()
        headers = {"Content-Type": "application/json",
                   **StandardWebhooks([WHSEC]).headers("x", body)}
        bad = self.opener.post(url, data=body, headers=headers, timeout=30)
        self.assertEqual(bad.status_code, 400)
        self.assertEqual(bad.json()["code"], "schema_violation")
        unsigned = self.opener.post(url, data=body, headers={
            "Content-Type": "application/json"}, timeout=30)
        self.assertEqual(unsigned.status_code, 401)
        self.env.invalidate_all()
        self.assertFalse(self.confirmations(picking))
        self.assertEqual(picking.state, "assigned")

    def test_serial_numbers_are_shipped_one_each(self):
        phone = self.env["product.product"].create({
            "name": "Phone", "default_code": "WMS-PHONE", "is_storable": True,
            "tracking": "serial"})
        serials = self.env["stock.lot"].create([
            {"name": f"SN-{i}", "product_id": phone.id} for i in (1, 2)])
        picking = self.make_picking(desk=0, lamp=0, confirm=False)
        picking.move_ids = [(0, 0, {
            "name": phone.name, "product_id": phone.id, "product_uom_qty": 2,
            "product_uom": phone.uom_id.id, "location_id": self.stock.id,
            "location_dest_id": self.customers.id})]
        picking.action_confirm()
        self.release(picking)
        order = self.wms.orders[picking.name]["order"]
        ship = Confirmation(
            "serial-1", "ship_confirmed", picking.name, order.correlation_id,
            self.wms_now(), (ConfirmedLine(order.lines[0].line_ref, "WMS-PHONE", 2,
                                           (("SN-1", 1), ("SN-2", 1))),))
        self.assertEqual(self.wms.deliver(ship), 202)
        self.env.invalidate_all()
        self.assertEqual(picking.state, "done")
        self.assertEqual(picking.move_line_ids.lot_id, serials)
