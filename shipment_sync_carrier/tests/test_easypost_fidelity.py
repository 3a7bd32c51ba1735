"""EasyPost as EasyPost behaves: event mode against the partner's environment, the whole
tracker history in every update, tracking numbers whatever their spelling, and a booking
that never pays for a second label."""

from datetime import timedelta

from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, tagged

from .common import CarrierCommon


@tagged("post_install", "-at_install")
class TestEasyPostFidelity(CarrierCommon, HttpCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_carrier()

    def setUp(self):
        super().setUp()
        self.sandbox.reset()

    def hook(self, partner):
        return f"{self.base_url()}/shipment_sync/webhook/{partner.code}"

    def ledger(self, partner):
        return self.env["shipment.sync.event"].search(
            [("partner_code", "=", partner.code)], order="id")

    # -- mode ------------------------------------------------------------------------------
    def test_a_test_partner_takes_test_events(self):
        picking = self.validate(self.make_picking())
        [delivery] = self.sandbox.advance(picking.carrier_tracking_ref, steps=1,
                                          url=self.hook(self.partner))
        self.assertEqual(delivery["payload"]["mode"], "test")
        self.assertEqual(delivery["status"], 202, delivery)

    def test_a_production_partner_refuses_test_events_and_changes_nothing(self):
        picking = self.validate(self.make_picking())
        self.partner.environment = "production"
        self.env.flush_all()
        milestone = picking.shipment_milestone
        [delivery] = self.sandbox.advance(picking.carrier_tracking_ref, steps=1,
                                          url=self.hook(self.partner))
        self.assertEqual(delivery["status"], 400, delivery)
        self.assertIn('"event_mode_mismatch"', delivery["response"])
        self.env.invalidate_all()
        self.assertEqual(picking.shipment_milestone, milestone)
        rejected = self.ledger(self.partner).filtered(lambda e: e.state == "rejected")
        self.assertEqual(rejected[-1:].error_code, "event_mode_mismatch")
        # the same partner in production takes production events
        self.sandbox.configure(easypost_mode="production")
        self.sandbox.trackers[picking.carrier_tracking_ref]["mode"] = "production"
        [delivery] = self.sandbox.advance(picking.carrier_tracking_ref, steps=1,
                                          url=self.hook(self.partner))
        self.assertEqual(delivery["status"], 202, delivery)

    # -- whole history -----------------------------------------------------------------
    def test_each_scan_is_stored_once_although_every_update_repeats_the_history(self):
        picking = self.validate(self.make_picking())
        deliveries = self.sandbox.advance(picking.carrier_tracking_ref,
                                          url=self.hook(self.partner))
        self.assertEqual(len(deliveries), 4)
        rows = self.ledger(self.partner).filtered(lambda e: e.state != "rejected")
        # label_created + 4 steps, each once; no row per repeated old scan
        self.assertEqual(len(rows), 5, rows.mapped("state"))
        self.assertFalse(rows.filtered(lambda e: e.state == "duplicate"))
        # a redelivered update is one duplicate row, whatever its history length
        again = self.sandbox.post_webhook(self.hook(self.partner), "easypost",
                                          deliveries[-1]["payload"])
        self.assertEqual(again["status"], 200)
        duplicates = self.ledger(self.partner).filtered(lambda e: e.state == "duplicate")
        self.assertEqual(len(duplicates), 1)

    # -- tracking numbers ----------------------------------------------------------------
    def test_tracking_numbers_match_whatever_their_case_and_spacing(self):
        picking = self.validate(self.make_picking())
        code = picking.carrier_tracking_ref
        spelled = f" {code[:4].lower()} {code[4:]} "
        found = self.env["stock.picking"]._shipment_find(
            self.partner, spelled, None, None, picking.company_id)
        self.assertEqual(found, picking)

    # -- label spend -----------------------------------------------------------------------
    def purchases(self):
        return [s for s in self.sandbox.shipments.values() if s["tracking_code"]]

    def book_directly(self, picking):
        """The carrier call of a booking, its result never stored on the transfer (what a
        booking whose Odoo transaction rolled back after the partner charged leaves). In
        production the journal row is committed in its own transaction and survives that
        rollback; Odoo's tests run in one transaction, so the call is made directly."""
        return self.carrier._shipsync_call(picking, "create_shipment",
                                           self.carrier._shipsync_request(picking),
                                           self.carrier._shipsync_key(picking, "ship"))

    def lose_the_answer_of_a_booking(self, picking):
        """A booking whose answer is lost after EasyPost applied the buy, EasyPost then
        unreachable for a moment (the answer cannot be read back at once)."""
        self.sandbox.configure(drop_after_buy=1, fail_after_drop=1)
        # Not assertRaises: its savepoint would roll the journal row back with the error.
        error = None
        try:
            self.book_directly(picking)
        except UserError as exc:
            error = exc
        self.assertIsNotNone(error, "the lost answer should surface as a UserError")
        self.env.invalidate_all()

    def test_an_answer_lost_after_the_buy_does_not_buy_a_second_label(self):
        picking = self.make_picking()
        self.lose_the_answer_of_a_booking(picking)
        [bought] = self.purchases()
        label = self.env["shipment.sync.label"].search([("carrier_id", "=", self.carrier.id)])
        self.assertEqual(label.shipment_ref, bought["id"])
        # the buy was sent and its answer lost: perhaps paid, and listed as such
        self.assertEqual(label.state, "buying")
        # validating now reuses the label that was paid for
        self.validate(picking)
        self.env.invalidate_all()
        self.assertEqual(picking.carrier_tracking_ref, bought["tracking_code"])
        self.assertEqual(len(self.purchases()), 1)
        self.assertEqual(len(self.sandbox.shipments), 1)
        self.assertEqual(label.state, "linked")
        self.assertEqual(label.picking_id, picking)
        self.assertEqual(label.tracking_number, bought["tracking_code"])

    def test_an_answer_lost_after_the_buy_is_read_back_and_is_the_label(self):
        picking = self.make_picking()
        self.sandbox.configure(drop_after_buy=1)
        self.validate(picking)
        self.env.invalidate_all()
        [bought] = self.purchases()
        self.assertEqual(picking.carrier_tracking_ref, bought["tracking_code"])
        self.assertEqual(len(self.labels_of(picking)), 1)
        label = self.env["shipment.sync.label"].search([("carrier_id", "=", self.carrier.id)])
        self.assertEqual((label.state, label.picking_id), ("linked", picking))
        calls = [(c["method"], c["path"]) for c in self.sandbox.calls]
        self.assertEqual(calls.count(("POST", f"/v2/shipments/{bought['id']}/buy")), 1)
        self.assertIn(("GET", f"/v2/shipments/{bought['id']}"), calls)

    def test_a_paid_label_off_transfer_is_listed_and_refunded(self):
        picking = self.make_picking()
        self.sandbox.configure(drop_after_buy=1)
        result = self.book_directly(picking)
        self.env.invalidate_all()
        [bought] = self.purchases()
        self.assertEqual(result.tracking_numbers, (bought["tracking_code"],))
        Label = self.env["shipment.sync.label"]
        label = Label.search([("carrier_id", "=", self.carrier.id)])
        self.assertEqual((label.state, label.picking_id.id), ("bought", picking.id))
        self.assertFalse(Label.search([("unlinked", "=", True), ("id", "=", label.id)]))
        self.env.cr.execute("UPDATE shipment_sync_label SET create_date = %s WHERE id = %s",
                            (label.create_date - timedelta(hours=1), label.id))
        self.env.invalidate_all()
        self.assertEqual(Label.search([("unlinked", "=", True)]), label)
        label.action_refund()
        self.assertEqual(label.state, "refund_queued")
        self.run_outbox()
        self.assertEqual(label.state, "refunded", label.refund_message)
        self.assertEqual(self.sandbox.shipments[label.shipment_ref]["refund_status"], "submitted")
        # a refunded label is not reused: validating books (and pays) a new one
        self.validate(picking)
        self.env.invalidate_all()
        self.assertEqual(len(self.purchases()), 2)
        self.assertNotEqual(picking.carrier_tracking_ref, bought["tracking_code"])
        # the refunded label keeps its row beside the booking's new one
        rows = Label.search([("carrier_id", "=", self.carrier.id)])
        self.assertEqual(sorted(rows.mapped("state")), ["linked", "refunded"])
        self.assertEqual(len(set(rows.mapped("booking_key"))), 1)

    def test_a_label_paid_by_a_rolled_back_booking_is_refunded_through_the_outbox(self):
        Label = self.env["shipment.sync.label"]
        picking = self.make_picking()
        self.book_directly(picking)  # charged, then the booking transaction rolled back
        label = Label.search([("carrier_id", "=", self.carrier.id)])
        self.assertEqual(label.state, "bought")
        self.assertFalse(Label._cron_refund_unlinked(), "a retry may still use a young label")

        def age(label):
            self.env.cr.execute(
                "UPDATE shipment_sync_label SET write_date = write_date - interval '1 hour', "
                "create_date = create_date - interval '1 hour' WHERE id = %s", (label.id,))
            self.env.invalidate_all()

        age(label)
        # a carrier that does not ask for it keeps the label for a person to decide
        self.carrier.shipsync_refund_unlinked = False
        self.assertFalse(Label._cron_refund_unlinked())
        self.carrier.shipsync_refund_unlinked = True
        self.assertEqual(Label._cron_refund_unlinked(), label)
        self.assertEqual(label.state, "refund_queued")
        self.run_outbox()
        self.assertEqual(label.state, "refunded", label.refund_message)
        self.assertEqual(self.sandbox.shipments[label.shipment_ref]["refund_status"], "submitted")
        self.assertEqual(len(self.purchases()), 1)

    def test_a_label_on_its_transfer_is_never_refunded_by_the_cron(self):
        """The booking committed but the link after the commit was lost (a crash)."""
        Label = self.env["shipment.sync.label"]
        picking = self.validate(self.make_picking())
        label = Label.search([("carrier_id", "=", self.carrier.id)])
        self.env.cr.execute(
            "UPDATE shipment_sync_label SET state = 'bought', write_date = write_date - "
            "interval '1 hour' WHERE id = %s", (label.id,))
        self.env.invalidate_all()
        self.assertFalse(Label._cron_refund_unlinked())
        self.assertEqual((label.state, label.picking_id), ("linked", picking))
        self.assertEqual(self.sandbox.shipments[label.shipment_ref]["refund_status"], None)

    def test_a_refund_the_partner_refuses_is_shown_refused(self):
        picking = self.make_picking()
        self.book_directly(picking)
        label = self.env["shipment.sync.label"].search([("carrier_id", "=", self.carrier.id)])
        self.assertEqual(label.state, "bought")
        self.assertEqual(label.partner_id, self.partner)
        label.action_refund()
        # EasyPost no longer knows the shipment: 404, a final error
        del self.sandbox.shipments[label.shipment_ref]
        self.run_outbox()
        self.assertEqual(label.state, "refund_rejected")
        self.assertTrue(label.refund_message)
        with self.assertRaises(UserError):
            label.action_refund()

    def test_only_managers_refund_labels(self):
        self.book_directly(self.make_picking())
        label = self.env["shipment.sync.label"].search([("carrier_id", "=", self.carrier.id)])
        user = self.env["res.users"].create({
            "name": "Label reader", "login": "label-reader",
            "groups_id": [(6, 0, [self.env.ref("shipment_sync.group_user").id,
                                  self.env.ref("stock.group_stock_user").id])]})
        with self.assertRaises(AccessError):
            label.with_user(user).action_refund()
        self.assertEqual(label.state, "bought")
        self.assertEqual(label.with_user(user).read(["state"])[0]["state"], "bought")
