import threading
from datetime import timedelta

from odoo import fields
from odoo.tests import TransactionCase, tagged

from shipsync import catalogue as cat

from .common import CarrierCommon


def catalogue_subscription(env, codes):
    """A subscription to the catalogue types ``codes`` (its deliveries are not run:
    the tests read what was enqueued for it)."""
    partner = env["shipment.sync.partner"].create({
        "name": "Label analytics", "code": "label-analytics", "kind": "subscriber"})
    return env["shipment.sync.subscription"].create({
        "name": "Label analytics", "partner_id": partner.id,
        "url": "https://analytics.example/hooks",
        "event_type_ids": [(6, 0, env["shipment.sync.event.type"]._by_codes(codes).ids)]})


def published(env, sub):
    """The events enqueued for ``sub``, oldest first (each validated by its schema)."""
    jobs = env["shipment.sync.job"].search([("operation", "=", "publish_event"),
                                            ("idempotency_key", "=like", f"sub{sub.id}:%")],
                                           order="id")
    events = [job._outbox_payload()["event"] for job in jobs]
    for event in events:
        cat.validate_event(event)
    return events


@tagged("post_install", "-at_install")
class TestAsyncBooking(CarrierCommon, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_carrier()
        cls.async_carrier = cls.make_carrier(cls.partner, shipsync_mode="async")

    def setUp(self):
        super().setUp()
        self.sandbox.reset()

    def job_of(self, picking):
        job = picking.shipment_job_ids.filtered(lambda j: j.operation == "create_shipment")
        self.assertEqual(len(job), 1)
        return job

    def test_validation_never_waits_and_the_label_arrives_with_the_job(self):
        picking = self.validate(self.make_picking(carrier=self.async_carrier))
        self.assertEqual(picking.state, "done")
        self.assertFalse(self.sandbox.calls, "validation must not call the carrier")
        job = self.job_of(picking)
        self.assertEqual(job.state, "pending")
        self.assertEqual(picking.shipsync_label_state, "queued")
        self.assertFalse(picking.carrier_tracking_ref)

        self.run_outbox()
        self.assertEqual(job.state, "done")
        tracking = picking.carrier_tracking_ref
        self.assertTrue(tracking and tracking.startswith("EZ"))
        self.assertEqual(self.labels_of(picking).name, f"LabelShipping-shipsync-{tracking}.pdf")
        self.assertEqual(picking.shipsync_label_state, "done")
        self.assertIn("label_created", self.events_of(picking).mapped("milestone"))
        self.assertGreater(picking.carrier_price, 0)
        # the job sent the booking with its own idempotency key
        keys = {c["idempotency_key"] for c in self.sandbox.calls if c["method"] == "POST"}
        self.assertEqual(keys, {job.idempotency_key})

    def test_a_transient_failure_is_retried_and_books_once(self):
        picking = self.validate(self.make_picking(carrier=self.async_carrier))
        self.sandbox.configure(fail_next=1, fail_status=503, retry_after=1)
        self.run_outbox()
        job = self.job_of(picking)
        self.assertEqual(job.state, "pending")
        self.assertFalse(picking.carrier_tracking_ref)
        self.run_outbox(seconds=120)
        self.assertEqual(job.state, "done")
        self.assertEqual(len([s for s in self.sandbox.shipments.values() if s["tracking_code"]]),
                         1)
        self.assertTrue(picking.carrier_tracking_ref)

    def test_a_booking_job_whose_buy_answer_is_lost_buys_once_on_retry(self):
        """The buy is applied, its answer lost, EasyPost unreachable for the read-back:
        the job is retried, reads the shipment its first attempt created and bought
        (paid-label journal), and uses that label: one purchase at the partner."""
        picking = self.validate(self.make_picking(carrier=self.async_carrier))
        self.sandbox.configure(drop_after_buy=1, fail_after_drop=1)
        self.run_outbox()
        job = self.job_of(picking)
        self.assertEqual(job.state, "pending")
        [bought] = [s for s in self.sandbox.shipments.values() if s["tracking_code"]]
        Label = self.env["shipment.sync.label"]
        label = Label.search([("carrier_id", "=", self.async_carrier.id)])
        self.assertEqual((label.shipment_ref, label.state), (bought["id"], "buying"))
        self.assertFalse(picking.carrier_tracking_ref)

        self.run_outbox(seconds=3600)
        self.assertEqual(job.state, "done")
        self.assertEqual(len(self.sandbox.shipments), 1)
        self.assertEqual(len([s for s in self.sandbox.shipments.values()
                              if s["tracking_code"]]), 1)
        self.assertEqual(picking.carrier_tracking_ref, bought["tracking_code"])
        self.assertEqual((label.state, label.picking_id), ("linked", picking))
        paths = [(c["method"], c["path"]) for c in self.sandbox.calls]
        self.assertEqual(paths.count(("POST", "/v2/shipments")), 1)
        self.assertEqual(sum(1 for _m, p in paths if p.endswith("/buy")), 1)

    def test_a_dead_booking_opens_label_failed(self):
        bad = self.customer.copy({"zip": "00000"})
        picking = self.validate(self.make_picking(carrier=self.async_carrier, customer=bad))
        self.run_outbox()
        job = self.job_of(picking)
        self.assertEqual(job.state, "dead")
        self.assertIn("ADDRESS.VERIFY.FAILURE", job.last_error)
        self.assertEqual(picking.shipment_exception_state, "open")
        self.assertEqual(picking.shipment_exception_reason, "label_failed")
        self.assertEqual(picking.shipsync_label_state, "failed")
        self.assertFalse(picking.carrier_tracking_ref)
        self.assertFalse(self.labels_of(picking))

    def test_label_created_and_label_failed_are_published_to_who_chose_them(self):
        sub = catalogue_subscription(self.env, [cat.LABEL_CREATED, cat.LABEL_FAILED])
        good = self.validate(self.make_picking(carrier=self.async_carrier))
        bad = self.validate(self.make_picking(
            carrier=self.async_carrier, customer=self.customer.copy({"zip": "00000"})))
        self.run_outbox()
        self.run_outbox(seconds=120)  # nothing new: each job settled once
        self.assertEqual(bad.shipsync_label_state, "failed")
        # One of each (the two jobs settle in either order), no milestone or exception
        # event: not chosen.
        events = {e["type"]: e for e in published(self.env, sub)}
        self.assertEqual(len(published(self.env, sub)), 2)
        created, failed = events[cat.LABEL_CREATED], events[cat.LABEL_FAILED]
        self.assertEqual(created["correlation_id"], good.shipment_correlation_id)
        self.assertEqual(created["data"]["tracking_numbers"], [good.carrier_tracking_ref])
        self.assertEqual((created["data"]["carrier"], created["data"]["is_return"]),
                         (self.async_carrier.name, False))
        self.assertEqual(failed["correlation_id"], bad.shipment_correlation_id)
        self.assertIn("ADDRESS.VERIFY.FAILURE", failed["data"]["error"])

    def test_no_shipped_news_before_the_label_exists(self):
        """A dead background booking: the transfer is validated (handed over
        as far as Odoo knows) but no carrier has it. The customer gets no
        "shipped" email and the tracking page says packed, until the label
        is issued."""
        bad = self.customer.copy({"zip": "00000", "email": "bad-zip@example.com"})
        picking = self.validate(self.make_picking(carrier=self.async_carrier, customer=bad))
        Notification = self.env["shipment.sync.notification"]

        def notified():
            return Notification.search([("picking_id", "=", picking.id)]).mapped("kind")

        self.assertEqual(picking.shipment_milestone, "handed_over")
        self.assertEqual(notified(), [], "no shipped email while the label is only queued")
        self.run_outbox()
        self.assertEqual(self.job_of(picking).state, "dead")
        self.assertEqual(picking.shipment_exception_reason, "label_failed")
        self.assertEqual(notified(), [], "a dead booking never tells the customer anything")
        values = picking._shipment_tracking_values()
        self.assertEqual(values["milestone_text"], "Packed")
        self.assertFalse(values["tracking_ref"])
        self.assertNotIn("Shipped", [s["label"] for s in values["journey"]["steps"]
                                     if s["done"]])
        self.assertNotIn("Shipped", [e["title"] for e in values["timeline"]])
        picking = picking.with_context(shipment_sync_notification_key="handed_over")
        self.assertEqual(picking._shipment_customer_mail_values()["milestone"], "Packed")

        bad.zip = self.customer.zip
        picking._shipment_monitor_request_label("label_failed")
        self.run_outbox()
        self.assertTrue(picking.carrier_tracking_ref)
        self.assertEqual(notified(), ["handed_over"], "shipped, once, with the label")
        values = picking._shipment_tracking_values()
        self.assertEqual(values["milestone_text"], "Shipped")
        self.assertEqual(values["tracking_ref"], picking.carrier_tracking_ref)
        self.assertIn("Shipped", [e["title"] for e in values["timeline"]])

    def test_label_re_requested_from_the_workbench_after_the_address_is_fixed(self):
        bad = self.customer.copy({"zip": "00000"})
        picking = self.validate(self.make_picking(carrier=self.async_carrier, customer=bad))
        self.run_outbox()
        self.assertEqual(picking.shipment_exception_reason, "label_failed")
        self.assertTrue(picking._shipment_monitor_can_request_label("label_failed"))
        self.assertFalse(picking._shipment_monitor_can_request_label("delay_weather"))
        bad.zip = self.customer.zip
        self.assertTrue(picking._shipment_monitor_request_label("label_failed"))
        self.assertEqual(self.job_of(picking).state, "pending")
        self.run_outbox()
        self.assertEqual(self.job_of(picking).state, "done")
        self.assertTrue(picking.carrier_tracking_ref)
        self.assertFalse(picking._shipment_monitor_can_request_label("label_failed"))

    def test_invoice_policy_real_gets_the_charge_when_the_job_completes(self):
        self.async_carrier.invoice_policy = "real"
        order = self.env["sale.order"].create({
            "partner_id": self.customer.id,
            "order_line": [(0, 0, {"product_id": self.product.id, "product_uom_qty": 3})]})
        order.set_delivery_line(self.async_carrier, 0.0)
        order.action_confirm()
        picking = order.picking_ids
        self.validate(picking)
        line = order.order_line.filtered("is_delivery")
        self.assertEqual(line.price_unit, 0.0)
        self.run_outbox()
        self.assertTrue(picking.carrier_tracking_ref)
        self.assertAlmostEqual(line.price_unit, picking.shipsync_charge, places=2)

    def test_polls_and_bookings_share_the_partner_rate_limit(self):
        self.partner.outbox_rate_limit = 2
        self.async_carrier.write({"shipsync_poll": True, "shipsync_poll_batch": 1})
        pickings = [self.validate(self.make_picking(carrier=self.async_carrier))
                    for _i in range(2)]
        self.run_outbox()
        self.assertTrue(all(p.carrier_tracking_ref for p in pickings))
        stats = self.async_carrier._shipsync_poll(
            now=fields.Datetime.now() + timedelta(minutes=1))
        self.assertEqual(stats["requests"], 0)
        self.assertEqual(stats["deferred"], 2)

    def test_the_journal_of_a_call_thread_keeps_its_own_rows_beside_the_worker(self):
        """In the tests the paid-label journal writes in the test's transaction from an
        outbox call thread while the worker loop records other outcomes on its own
        cursor (several calls in flight). Each side reads back its own rows: a cursor
        shared by the two threads handed one side's rows to the other (a booking died
        at once, a dead hook then failed to read its job)."""
        picking = self.validate(self.make_picking(carrier=self.async_carrier))
        journal = self.env["shipment.sync.label"]._journal(self.async_carrier, picking)
        rounds, seen, errors = 300, [], []

        def call_thread():
            try:
                for i in range(rounds):
                    journal.record(f"race-{i}", "bought", f"shp_race_{i}", f"TRK{i}")
                    seen.append(journal.shipment_id(f"race-{i}"))
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(repr(exc))

        thread = threading.Thread(target=call_thread)
        thread.start()
        worker_rows = []
        try:
            while thread.is_alive():
                n = len(worker_rows)
                self.env.cr.execute("SELECT %s::int, 'worker'", [n])
                worker_rows.append(self.env.cr.fetchall())
        finally:
            thread.join()
        self.assertEqual(errors, [])
        self.assertEqual(seen, [f"shp_race_{i}" for i in range(rounds)])
        self.assertTrue(worker_rows, "the worker side ran beside the call thread")
        self.assertEqual(worker_rows, [[(n, "worker")] for n in range(len(worker_rows))])
        labels = self.env["shipment.sync.label"].search(
            [("carrier_id", "=", self.async_carrier.id), ("booking_key", "=like", "race-%")])
        self.assertEqual(len(labels), rounds)

    def test_a_booking_dying_again_after_a_replay_updates_its_card(self):
        if "shipment.sync.exception" not in self.env:
            self.skipTest("the workbench (shipment_sync_monitor) is not installed")
        bad = self.customer.copy({"zip": "00000"})
        picking = self.validate(self.make_picking(carrier=self.async_carrier, customer=bad))
        self.run_outbox()
        job = self.job_of(picking)
        card = self.env["shipment.sync.exception"].search([("picking_id", "=", picking.id)])
        self.assertEqual(card.reason, "label_failed")
        self.assertEqual(card.job_id, job, "the card links the dead booking")
        self.assertEqual(card.raise_count, 1)
        card.action_retry_job()
        self.assertEqual(job.state, "pending")
        self.run_outbox(seconds=60)
        self.assertEqual(job.state, "dead")
        card.invalidate_recordset()
        self.assertEqual(card.raise_count, 2, "died again: raised again")
        self.assertEqual(card.job_id, job)
        self.assertEqual(card.state, "open")
        activity_type = self.env.ref("shipment_sync.mail_activity_type_shipment_exception")
        self.assertEqual(len(card.activity_ids.filtered(
            lambda a: a.activity_type_id == activity_type)), 1)
