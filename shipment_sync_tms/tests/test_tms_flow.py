"""Odoo -> TMS -> carrier assignment -> milestones -> freight charges reconciled, against
the loopback TMS sandbox (signed Standard Webhooks into the real webhook route)."""

import json
from dataclasses import replace

from odoo.exceptions import UserError
from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from odoo.addons.shipment_sync.tests.loopback_common import LoopbackMixin

from shipsync.partners.tms.outbound import (
    CANCEL_OPERATION,
    OPERATION,
    REVISE_OPERATION,
    build_release_request,
)
from shipsync.partners.tms.sandbox import TmsSandbox
from shipsync.transport import new_session, send

WHSEC = "whsec_" + "dG1zLXRlc3Qtc2VjcmV0LWtleS0wMTIzNDU2Nzg5"


@tagged("post_install", "-at_install")
class TestTmsFlow(LoopbackMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tms = cls.start_sandbox(TmsSandbox(secret=WHSEC))
        cls.partner = cls.make_sandbox_partner(
            "Sandbox TMS", "tms", cls.tms, inbound_format="tms",
            signature_scheme="standard_webhooks", webhook_secret=WHSEC,
            processing_mode="inline")
        cls.env.company.partner_id.write({
            "street": "1 Warehouse Way", "city": "San Francisco", "zip": "94105",
            "country_id": cls.env.ref("base.us").id})
        cls.warehouse = cls.env["stock.warehouse"].create({"name": "TMS WH", "code": "TMW"})
        cls.picking_type = cls.warehouse.out_type_id
        cls.picking_type.tms_partner_id = cls.partner
        cls.carrier_product = cls.env["product.product"].create({
            "name": "Freight", "type": "service"})
        cls.freight_carrier = cls.env["delivery.carrier"].create({
            "name": "DHL Freight", "product_id": cls.carrier_product.id,
            "delivery_type": "fixed", "tms_carrier_code": "DHLFREIGHT",
            "shipsync_tolerance_amount": 1.0, "shipsync_tolerance_percent": 2.0})
        cls.pallet = cls.env["product.product"].create({
            "name": "Pallet of desks", "default_code": "PAL-DESK", "is_storable": True,
            "weight": 250.0, "list_price": 900.0})
        cls.env["stock.quant"].with_context(inventory_mode=True)._update_available_quantity(
            cls.pallet, cls.warehouse.lot_stock_id, 20)
        cls.customer = cls.env["res.partner"].create({
            "name": "Ada Logistics", "street": "1 Quai", "city": "Lyon", "zip": "69001",
            "country_id": cls.env.ref("base.fr").id})

    def setUp(self):
        super().setUp()
        self.tms.reset()
        self.tms.configure(webhook_url=f"{self.base_url()}/shipment_sync/webhook/"
                           f"{self.partner.code}", secret=WHSEC)

    # -- helpers -------------------------------------------------------------------
    def make_order(self, qty=2):
        order = self.env["sale.order"].create({
            "partner_id": self.customer.id, "warehouse_id": self.warehouse.id,
            "order_line": [(0, 0, {"product_id": self.pallet.id, "product_uom_qty": qty})]})
        order.action_confirm()
        return order

    def commit_point(self):
        """What a commit does before committing: flush, then the precommit hooks (where
        plan changes are sent)."""
        self.env.cr.flush()
        self.env.flush_all()

    def run_worker(self, seconds=0.0):
        self.commit_point()
        return super().run_worker(seconds)

    def report(self, picking, kinds=None):
        self.env.flush_all()
        statuses = self.tms.report(picking.shipment_correlation_id, kinds)
        self.env.invalidate_all()
        return statuses

    def jobs(self, picking, operation=OPERATION):
        return self.env["shipment.sync.job"].search(
            [("operation", "=", operation), ("picking_id", "=", picking.id)], order="id")

    # -- tests -----------------------------------------------------------------------
    def test_delivery_flows_to_the_tms_and_back_to_a_reconciled_charge(self):
        order = self.make_order()
        picking = order.picking_ids
        self.assertEqual(picking.state, "assigned")
        self.assertEqual((picking.tms_state, picking.shipment_milestone),
                         ("released", "released"))
        self.run_worker()
        job = self.jobs(picking)
        self.assertEqual(job.state, "done", job.last_error)
        [planned] = self.tms.plans.values()
        doc = planned["doc"]
        self.assertEqual((doc["correlation_id"], doc["order_ref"], doc["total_weight_kg"]),
                         (picking.shipment_correlation_id, picking.name, "500"))
        self.assertEqual(doc["lines"][0]["sku"], "PAL-DESK")
        self.assertEqual(doc["ship_to"]["city"], "Lyon")
        self.assertEqual(picking.tms_planning_ref, "PLN-00001")
        statuses = self.report(picking)
        self.assertTrue(all(s in (200, 202) for s in statuses), statuses)
        self.assertEqual(picking.tms_state, "assigned")
        self.assertEqual(picking.carrier_id, self.freight_carrier)
        self.assertEqual(picking.carrier_tracking_ref, "DHLFREIGHT-PLN-00001")
        self.assertEqual(picking.tms_service, "Eurapid")
        self.assertEqual(picking.shipment_milestone, "delivered")
        self.assertEqual(picking.shipsync_quoted_price, 120.0)
        [line] = picking.shipsync_freight_line_ids
        self.assertEqual((line.state, line.amount, line.expected_amount),
                         ("matched", 120.0, 120.0))
        self.assertEqual(picking.tms_freight_state, "matched")
        self.assertEqual(picking.shipment_exception_state, "none")

    def variance_card(self, picking):
        """The state of the ``freight_variance`` exception of ``picking``: its workbench
        card with the monitor, else its to-do on the transfer (``open`` / ``none``)."""
        if "shipment.sync.exception" in self.env:
            card = self.env["shipment.sync.exception"].search(
                [("picking_id", "=", picking.id), ("reason", "=", "freight_variance")])
            return card.state or "none"
        summary = "Shipment exception: Freight Variance"
        return "open" if picking.activity_ids.filtered(lambda a: a.summary == summary) \
            else "none"

    def deliver(self, picking):
        for move in picking.move_ids:
            move.quantity = move.product_uom_qty
            move.picked = True
        picking._action_done()

    def test_variance_opens_a_workbench_card_and_holds_the_invoice_until_accepted(self):
        """Done when: a delivery flows Odoo -> TMS -> carrier assignment -> milestones ->
        freight charge off the expected rate -> card on the workbench -> accepted ->
        invoiced."""
        self.tms.configure(variance="30.00")
        order = self.make_order()
        picking = order.picking_ids
        self.run_worker()
        self.report(picking)
        self.assertEqual((picking.carrier_id, picking.shipment_milestone),
                         (self.freight_carrier, "delivered"))
        [line] = picking.shipsync_freight_line_ids
        self.assertEqual((line.state, line.amount, line.expected_amount, line.variance),
                         ("variance", 150.0, 120.0, 30.0))
        self.assertEqual(picking.tms_freight_state, "variance")
        # beside the (terminal) milestone track: the card opens all the same
        self.assertEqual(picking.shipment_exception_state, "none")
        self.assertEqual(self.variance_card(picking), "open")
        if "shipment.sync.exception" in self.env:
            card = picking.shipment_exception_card_ids
            self.assertEqual((card.reason, card.origin, card.partner_id),
                             ("freight_variance", "suite", self.partner))
            self.assertIn("invoiced 150", card.message)
            self.assertEqual(len(card.activity_ids), 1)  # its one to-do
        self.deliver(picking)
        with self.assertRaises(UserError):
            order._create_invoices()
        clerk = self.env["res.users"].create({
            "name": "Clerk", "login": "tms-clerk",
            "groups_id": [(6, 0, [self.env.ref("shipment_sync.group_user").id,
                                  self.env.ref("stock.group_stock_user").id])]})
        with self.assertRaises(UserError):
            picking.with_user(clerk).action_tms_accept_variance()
        self.assertEqual(self.variance_card(picking), "open")
        picking.action_tms_accept_variance()
        self.assertEqual(picking.tms_freight_state, "accepted")
        self.assertEqual(self.variance_card(picking), "resolved"
                         if "shipment.sync.exception" in self.env else "none")
        if "shipment.sync.exception" in self.env:
            self.assertIn("accepted by", picking.shipment_exception_card_ids.resolution_note)
        self.assertTrue(order._create_invoices())

    def test_corrected_charges_close_the_variance_and_later_events_leave_it(self):
        self.tms.configure(variance="30.00")
        order = self.make_order()
        picking = order.picking_ids
        self.run_worker()
        # the charges come before the milestones: the card opens on a live shipment
        self.report(picking, ("planned", "carrier_assigned", "freight_charges"))
        self.assertEqual(self.variance_card(picking), "open")
        # milestones through the ledger (the exception track is none): the card stays
        self.report(picking, ("milestone",))
        self.assertEqual(picking.shipment_milestone, "delivered")
        self.assertEqual(self.variance_card(picking), "open")
        # the TMS re-rates: corrected charges on the expected rate close it
        self.tms.configure(variance="0.00")
        self.env.flush_all()
        self.assertEqual(self.tms.correct_charges(picking.shipment_correlation_id), 202)
        self.env.invalidate_all()
        self.assertEqual(picking.shipsync_freight_line_ids.mapped("state"),
                         ["matched", "variance"])
        self.assertEqual(picking.tms_freight_state, "matched")
        self.assertEqual(self.variance_card(picking), "resolved"
                         if "shipment.sync.exception" in self.env else "none")
        self.deliver(picking)
        self.assertTrue(order._create_invoices())

    # -- charges before any delivery method ------------------------------------------
    def test_charges_before_the_assignment_are_kept_then_booked(self):
        picking = self.make_order().picking_ids
        self.run_worker()
        self.report(picking, ("planned", "freight_charges"))
        self.assertFalse(picking.carrier_id)
        self.assertFalse(picking.shipsync_freight_line_ids)
        self.assertEqual(json.loads(picking.tms_charges_pending)["total"], "120.00")
        self.assertEqual((picking.tms_freight_state, picking.shipsync_charge), ("none", 120.0))
        self.report(picking, ("carrier_assigned",))
        self.assertEqual(picking.carrier_id, self.freight_carrier)
        [line] = picking.shipsync_freight_line_ids
        self.assertEqual((line.state, line.amount, line.expected_amount, line.carrier_id),
                         ("matched", 120.0, 120.0, self.freight_carrier))
        self.assertFalse(picking.tms_charges_pending)
        self.assertEqual(picking.tms_freight_state, "matched")

    def test_charges_of_an_unknown_carrier_wait_for_a_delivery_method_set_by_hand(self):
        self.tms.configure(carrier="ACMEHAUL", carrier_name="Acme Haulage", variance="40.00")
        picking = self.make_order().picking_ids
        self.run_worker()
        self.report(picking)
        self.assertEqual((picking.tms_state, picking.shipment_milestone),
                         ("assigned", "delivered"))
        self.assertFalse(picking.carrier_id)  # no delivery method has the code ACMEHAUL
        self.assertFalse(picking.shipsync_freight_line_ids)
        self.assertTrue(picking.tms_charges_pending)
        self.freight_carrier.copy({"name": "Acme Haulage", "tms_carrier_code": "ACMEHAUL"})
        picking.carrier_id = self.freight_carrier
        [line] = picking.shipsync_freight_line_ids
        self.assertEqual((line.state, line.amount, line.expected_amount),
                         ("variance", 160.0, 120.0))
        self.assertFalse(picking.tms_charges_pending)
        self.assertEqual(self.variance_card(picking), "open")

    def test_duplicates_and_out_of_order_updates_apply_once(self):
        self.tms.configure(duplicate=True, reverse=True)
        picking = self.make_order().picking_ids
        self.run_worker()
        self.report(picking)
        self.assertEqual(picking.shipment_milestone, "delivered")
        self.assertEqual(len(picking.shipsync_freight_line_ids), 1)
        self.assertEqual(picking.tms_freight_state, "matched")
        events = self.env["shipment.sync.event"].search([("partner_id", "=", self.partner.id)])
        self.assertEqual(len(events.filtered(lambda e: e.state == "duplicate")), 6)

    def test_release_is_idempotent_and_survives_a_tms_outage(self):
        self.tms.fail_next(503, retry_after="5")
        picking = self.make_order().picking_ids
        self.run_worker()
        job = self.jobs(picking)
        self.assertEqual((job.state, job.last_status), ("pending", 503))
        picking.action_tms_release()  # pressed again: the same job
        picking.move_ids._action_assign()
        self.assertEqual(len(self.jobs(picking)), 1)
        self.run_worker(seconds=3600)
        self.assertEqual(job.state, "done")
        self.assertEqual(len(self.tms.plans), 1)

    def test_unplannable_delivery_opens_an_exception(self):
        self.tms.configure(reject=True)
        picking = self.make_order().picking_ids
        self.run_worker()
        self.assertEqual(picking.tms_state, "rejected")
        self.assertEqual(picking.shipment_exception_reason, "booking_rejected")

    def test_bad_update_is_refused_and_changes_nothing(self):
        picking = self.make_order().picking_ids
        self.run_worker()
        update = self.tms.updates(picking.shipment_correlation_id)[-1]
        update["total"] = "999.00"  # the charge lines do not add up to it
        with mute_logger("odoo.addons.shipment_sync.controllers.main"):
            status = self.tms.post(update)
        self.env.invalidate_all()
        self.assertEqual(status, 400)
        self.assertFalse(picking.shipsync_freight_line_ids)
        self.assertEqual(picking.tms_freight_state, "none")

    # -- revisions and cancellation ----------------------------------------------------
    def history(self, picking):
        return [(action, version) for plan_id, action, version in self.tms.history
                if plan_id == picking.shipment_correlation_id]

    def test_quantity_change_after_the_release_is_sent_as_a_revision(self):
        order = self.make_order(qty=2)
        picking = order.picking_ids
        self.run_worker()
        order.order_line.product_uom_qty = 3
        self.run_worker()
        self.assertEqual(picking.move_ids.product_uom_qty, 3)
        [revision] = self.jobs(picking, REVISE_OPERATION)
        self.assertEqual(revision.state, "done", revision.last_error)
        self.assertEqual(self.history(picking), [("release", 1), ("revise", 2)])
        plan = self.tms.plans[picking.shipment_correlation_id]
        self.assertEqual((plan["version"], plan["doc"]["lines"][0]["quantity"],
                          plan["doc"]["total_weight_kg"], plan["planning_ref"]),
                         (2, "3", "750", "PLN-00001"))
        self.assertEqual((picking.tms_plan_version, picking.tms_state), (2, "released"))
        # nothing changed since: no further revision, however often the moves are written
        picking.move_ids.write({"product_uom_qty": 3})
        picking.move_ids._action_assign()
        self.run_worker()
        self.assertEqual(len(self.jobs(picking, REVISE_OPERATION)), 1)
        self.assertEqual(self.history(picking), [("release", 1), ("revise", 2)])

    def test_a_line_added_before_the_release_is_sent_goes_after_it(self):
        order = self.make_order(qty=2)
        picking = order.picking_ids
        desk = self.env["product.product"].create({
            "name": "Pallet of chairs", "default_code": "PAL-CHAIR", "is_storable": True,
            "weight": 120.0, "list_price": 400.0})
        self.env["stock.quant"].with_context(inventory_mode=True)._update_available_quantity(
            desk, self.warehouse.lot_stock_id, 5)
        order.order_line = [(0, 0, {"product_id": desk.id, "product_uom_qty": 1})]
        self.commit_point()
        self.assertEqual(picking.move_ids.product_id, self.pallet | desk)
        # both documents queued, the release first: the outbox sends them in that order
        release, revision = self.jobs(picking) | self.jobs(picking, REVISE_OPERATION)
        self.assertEqual((release.state, revision.state), ("pending", "pending"))
        self.run_worker()
        self.run_worker()
        self.assertEqual((release.state, revision.state), ("done", "done"))
        self.assertEqual(self.history(picking), [("release", 1), ("revise", 2)])
        doc = self.tms.plans[picking.shipment_correlation_id]["doc"]
        self.assertEqual(sorted(line["sku"] for line in doc["lines"]),
                         ["PAL-CHAIR", "PAL-DESK"])

    def test_cancelling_the_transfer_cancels_the_plan(self):
        order = self.make_order()
        picking = order.picking_ids
        self.run_worker()
        revision = picking._tms_plan(version=2)
        picking.action_cancel()
        self.commit_point()
        self.assertEqual(picking.tms_state, "cancel_sent")
        self.run_worker()
        [job] = self.jobs(picking, CANCEL_OPERATION)
        self.assertEqual(job.state, "done", job.last_error)
        self.assertEqual((picking.tms_state, picking.tms_plan_version), ("cancelled", 2))
        self.assertEqual(self.history(picking), [("release", 1), ("cancel", 2)])
        # the TMS refuses a revision of the cancelled plan, precisely
        request = build_release_request({**revision, "version": 3}, base_url=self.tms.url)
        with new_session() as session:
            result = send(session, replace(request, idempotency_key="late-revision"))
        self.assertEqual(result.status, 409)
        self.assertEqual(json.loads(result.body)["error"], {
            "code": "plan_cancelled", "message": f"plan {picking.shipment_correlation_id} "
            "was cancelled at version 2: it cannot be revised (version 3)"})
        # nothing more goes out for the cancelled transfer, and the TMS reports nothing
        picking.move_ids.write({"product_uom_qty": 5})
        self.run_worker()
        self.assertEqual(len(self.jobs(picking, CANCEL_OPERATION)), 1)
        self.assertFalse(self.jobs(picking, REVISE_OPERATION))
        self.assertEqual(self.report(picking), [])
