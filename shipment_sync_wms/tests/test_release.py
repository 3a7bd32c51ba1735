from datetime import datetime

from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import WmsCase


@tagged("post_install", "-at_install")
class TestRelease(WmsCase):
    def test_release_button_sends_the_payload_and_the_ack_sets_released(self):
        picking = self.make_picking()
        picking.action_wms_release()
        job = picking.shipment_job_ids
        self.assertEqual((job.operation, job.idempotency_key),
                         ("release_order", f"wms:{picking.id}:r1:create"))
        self.assertEqual(picking.wms_state, "pending")
        self.run_worker()
        self.assertEqual(job.state, "done")
        self.assertEqual(picking.wms_state, "released")
        self.assertEqual(picking.shipment_milestone, "released")
        (call,) = self.wms.calls
        self.assertEqual((call["action"], call["order_ref"], call["revision"]),
                         ("create", picking.name, 1))
        order = self.wms.orders[picking.name]["order"]
        self.assertEqual(order.correlation_id, picking.shipment_correlation_id)
        self.assertEqual(order.ship_to.city, "Lyon")
        self.assertEqual(order.ship_to.country_code, "FR")
        self.assertEqual(order.requested_date, picking.scheduled_date.date())
        lines = {x.product_code: x for x in order.lines}
        self.assertEqual(lines["WMS-DESK"].barcode, "9780201379624")
        self.assertEqual(lines["WMS-DESK"].quantity, 4)
        # The unit goes out as its X12 code (element 355), not as its translatable name.
        self.assertEqual(lines["WMS-DESK"].uom, self.desk.uom_id.x12_unit_code)
        self.assertEqual(lines["WMS-DESK"].uom, "EA")
        self.assertEqual(lines["WMS-LAMP"].line_ref,
                         str(picking.move_ids.filtered(lambda m: m.product_id == self.lamp).id))
        self.assertTrue(lines["WMS-LAMP"].lots)  # the reserved lot is requested

    def test_dead_release_is_re_released_from_the_workbench_after_the_fix(self):
        good_url = self.partner.outbox_base_url
        self.partner.outbox_base_url = f"{good_url}/wrong-path"  # the WMS answers 404
        picking = self.make_picking()
        picking.action_wms_release()
        self.run_worker()
        job = picking.shipment_job_ids
        self.assertEqual(job.state, "dead")
        self.assertEqual(picking.shipment_exception_reason, "sync_failed")
        self.assertTrue(picking._shipment_monitor_can_release_wms("sync_failed"))
        self.assertFalse(picking._shipment_monitor_can_release_wms("wms_mismatch"))
        self.partner.outbox_base_url = good_url
        self.assertTrue(picking._shipment_monitor_release_wms("sync_failed"))
        self.run_worker()
        self.assertEqual(job.state, "done")
        self.assertEqual(picking.wms_state, "released")
        self.assertFalse(picking._shipment_monitor_can_release_wms("sync_failed"))

    def test_release_is_idempotent_per_picking_and_revision(self):
        picking = self.make_picking()
        picking.action_wms_release()
        with self.assertRaisesRegex(UserError, "must not be released already"):
            picking.action_wms_release()
        self.assertEqual(len(picking.shipment_job_ids), 1)
        again = self.env["shipment.sync.job"]._enqueue(
            self.partner, "release_order", {}, picking=picking,
            idempotency_key=f"wms:{picking.id}:r1:create")
        self.assertEqual(again, picking.shipment_job_ids)

    def test_list_action_releases_many_pickings(self):
        pickings = self.make_picking() | self.make_picking(desk=1, lamp=0)
        action = self.env.ref("shipment_sync_wms.stock_picking_action_wms_release")
        action.with_context(active_model="stock.picking", active_ids=pickings.ids).run()
        self.run_worker()
        self.assertEqual(set(pickings.mapped("wms_state")), {"released"})
        self.assertEqual({c["order_ref"] for c in self.wms.calls}, set(pickings.mapped("name")))

    def test_partner_comes_from_the_warehouse_unless_the_operation_type_overrides_it(self):
        self.assertEqual(self.make_picking(confirm=False).wms_partner_id, self.partner)
        other = self.partner.copy({"code": f"{self.partner.code}-x"})
        self.picking_type.wms_partner_id = other
        self.assertEqual(self.make_picking(confirm=False).wms_partner_id, other)

    def test_release_on_confirmation_policy(self):
        self.picking_type.wms_release_policy = "confirm"
        picking = self.make_picking(confirm=False)
        self.assertFalse(picking.shipment_job_ids)
        picking.action_confirm()
        self.assertEqual(picking.shipment_job_ids.operation, "release_order")

    def test_release_when_ready_waits_for_the_reservation(self):
        self.picking_type.wms_release_policy = "ready"
        chair = self.env["product.product"].create(
            {"name": "Chair", "default_code": "WMS-CHAIR", "is_storable": True})
        picking = self.make_picking(desk=0, lamp=0, confirm=False)
        picking.move_ids = [(0, 0, {
            "name": chair.name, "product_id": chair.id, "product_uom_qty": 2,
            "product_uom": chair.uom_id.id, "location_id": self.stock.id,
            "location_dest_id": self.customers.id})]
        picking.action_confirm()
        self.assertEqual(picking.state, "confirmed")  # no stock: not ready
        self.assertFalse(picking.shipment_job_ids)
        self.env["stock.quant"]._update_available_quantity(chair, self.stock, 5)
        picking.action_assign()
        self.assertEqual(picking.state, "assigned")
        self.assertEqual(picking.shipment_job_ids.operation, "release_order")

    def test_manual_policy_never_releases_by_itself(self):
        picking = self.make_picking()
        picking.action_assign()
        self.assertEqual(picking.wms_state, "none")
        self.assertFalse(picking.shipment_job_ids)

    def test_release_after_the_cutoff_is_flagged_late(self):
        self.picking_type.wms_cutoff_hour = 14.5
        self.env.company.partner_id.tz = "UTC"
        early, late = self.make_picking(), self.make_picking()
        early._wms_release(now=datetime(2026, 11, 2, 14, 0))
        late._wms_release(now=datetime(2026, 11, 2, 14, 31))
        self.assertFalse(early.wms_late_release)
        self.assertTrue(late.wms_late_release)

    def test_quantity_edit_after_release_sends_an_update(self):
        picking = self.release(self.make_picking())
        move = picking.move_ids.filtered(lambda m: m.product_id == self.desk)
        move.product_uom_qty = 3
        job = picking.shipment_job_ids.filtered(lambda j: j.operation == "update_order")
        self.assertEqual(job.idempotency_key, f"wms:{picking.id}:r2:update")
        self.run_worker()
        self.assertEqual(job.state, "done")
        order = self.wms.orders[picking.name]["order"]
        self.assertEqual((order.action, order.revision), ("update", 2))
        self.assertEqual({x.product_code: x.quantity for x in order.lines}["WMS-DESK"], 3)

    def test_cancel_after_release_is_applied_when_the_wms_agrees(self):
        picking = self.release(self.make_picking())
        picking.action_cancel()
        self.assertEqual(picking.state, "assigned")  # not yet: the WMS holds it
        self.assertEqual(picking.wms_state, "cancel_pending")
        self.run_worker()
        self.assertEqual(picking.state, "cancel")
        self.assertEqual(picking.wms_state, "cancelled")
        self.assertEqual(self.wms.orders[picking.name]["state"], "cancelled")

    def test_cancel_refused_because_shipped_opens_an_exception_and_keeps_the_picking(self):
        picking = self.release(self.make_picking())
        self.wms.orders[picking.name]["state"] = "shipped"  # shipped, confirmation not yet in
        picking.action_cancel()
        self.run_worker()
        job = picking.shipment_job_ids.filtered(lambda j: j.operation == "cancel_order")
        self.assertEqual(job.state, "done")
        self.assertNotEqual(picking.state, "cancel")
        self.assertEqual(picking.wms_state, "cancel_refused")
        self.assertEqual(picking.shipment_exception_state, "open")
        self.assertEqual(picking.shipment_exception_reason, "wms_mismatch")

    def test_picking_without_wms_is_cancelled_at_once(self):
        picking = self.make_picking()
        picking.action_cancel()
        self.assertEqual(picking.state, "cancel")
        self.assertFalse(picking.shipment_job_ids)

    def test_a_stock_user_outside_shipment_sync_still_reads_the_transfer(self):
        user = self.env["res.users"].create({
            "name": "Stock clerk", "login": "wms-stock-clerk",
            "groups_id": [(6, 0, [self.env.ref("stock.group_stock_user").id])]})
        picking = self.release(self.make_picking())
        self.confirm(picking, kinds=("pick_confirmed",))
        values = picking.with_user(user).read(["wms_state", "wms_confirmation_count"])[0]
        self.assertEqual((values["wms_state"], values["wms_confirmation_count"]),
                         ("released", 1))
