import uuid
from datetime import timedelta

from odoo.exceptions import ValidationError
from odoo.tests import HttpCase, tagged

from odoo.addons.shipment_sync.models.shipment_sync_job import utcnow

from shipsync.partners.aftership.sandbox import aftership_signature

from .common import CarrierCommon

AS_SECRET = "sandbox-aftership-secret"
AS_KEY = "asat_sandbox_key"


@tagged("post_install", "-at_install")
class TestAfterShip(CarrierCommon, HttpCase):
    """AfterShip (inbound only): booked labels register their tracking with the
    sandbox's AfterShip subset through the outbox; its signed webhooks come in over
    real HTTP on the AfterShip partner's webhook URL and move the milestones."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_carrier()
        cls.as_partner = cls.env["shipment.sync.partner"].create({
            "name": "Sandbox AfterShip", "code": f"sb-as-{uuid.uuid4().hex[:6]}",
            "kind": "aggregator", "inbound_format": "aftership",
            "signature_scheme": "aftership", "webhook_secret": AS_SECRET,
            "processing_mode": "inline", "outbox_base_url": cls.sandbox.url,
            "outbox_auth_header": "as-api-key", "outbox_auth_token": AS_KEY,
            "outbox_connect_timeout": 2.0, "outbox_read_timeout": 2.0,
            "outbox_retry_max_attempts": 2, "outbox_retry_base": 1.0,
        })
        cls.carrier.write({"shipsync_aftership_partner_id": cls.as_partner.id,
                           "shipsync_aftership_slug": "usps"})
        cls.async_carrier = cls.make_carrier(
            cls.partner, shipsync_mode="async",
            shipsync_aftership_partner_id=cls.as_partner.id)

    def setUp(self):
        super().setUp()
        self.sandbox.reset()
        self.sandbox.configure(aftership_api_key=AS_KEY)

    # ------------------------------------------------------------------ helpers
    def hook(self):
        return f"{self.base_url()}/shipment_sync/webhook/{self.as_partner.code}"

    def work_outbox(self, seconds=1.0):
        """The registry of an HttpCase is already in test mode: the worker's own
        cursor is the test cursor."""
        self.env.flush_all()
        stats = self.env["shipment.sync.job"]._outbox_work(
            channels=("high",), now=utcnow() + timedelta(seconds=seconds), idle_wait=0)
        self.env.invalidate_all()
        return stats

    def registrations(self):
        return [c for c in self.sandbox.calls
                if c["method"] == "POST" and c["path"] == "/tracking/2025-07/trackings"]

    def register_jobs(self, picking):
        return picking.shipment_job_ids.filtered(lambda j: j.operation == "aftership_register")

    def advance(self, tracking, **kw):
        """Move the EasyPost shipment; only its AfterShip webhooks are posted (the
        carrier's own come back unposted, no carrier webhook URL is set)."""
        deliveries = self.sandbox.advance(tracking, aftership_url=self.hook(), **kw)
        self.assertTrue(all("status" not in d for d in deliveries if d["kind"] != "aftership"))
        return [d for d in deliveries if d["kind"] == "aftership"]

    def booked_and_registered(self):
        picking = self.validate(self.make_picking())
        self.work_outbox()
        self.assertEqual(self.register_jobs(picking).state, "done")
        return picking

    # ------------------------------------------------------------------ registration
    def test_sync_booking_registers_the_tracking_once(self):
        picking = self.validate(self.make_picking())
        tracking = picking.carrier_tracking_ref
        self.assertTrue(tracking.startswith("EZ"))
        job = self.register_jobs(picking)
        self.assertEqual(len(job), 1)
        self.assertEqual(job.partner_id, self.as_partner)
        self.assertEqual(job.idempotency_key, f"aftership:{picking.id}:{tracking}")
        self.assertEqual(job.state, "pending")
        self.assertFalse(self.registrations(), "validation must not call AfterShip")

        self.work_outbox()
        self.assertEqual(job.state, "done")
        self.assertEqual(len(self.registrations()), 1)
        registered = self.sandbox.as_trackings[tracking]
        self.assertEqual(registered["slug"], "usps")
        self.assertEqual(registered["order_id"], picking.name)
        self.assertEqual(registered["custom_fields"],
                         {"correlation_id": picking.shipment_correlation_id})
        # the same booking again (a replayed job, a double click) reuses the job
        again = self.carrier._shipsync_register_tracking(picking, [tracking])
        self.assertEqual(again, job)
        self.work_outbox()
        self.assertEqual(len(self.registrations()), 1)
        self.assertEqual(len(self.sandbox.as_trackings), 1)

    def test_async_booking_registers_when_the_label_arrives(self):
        picking = self.validate(self.make_picking(carrier=self.async_carrier))
        self.assertFalse(self.register_jobs(picking), "no tracking number yet")
        self.work_outbox()  # the booking; its done hook queues the registration
        tracking = picking.carrier_tracking_ref
        self.assertTrue(tracking)
        job = self.register_jobs(picking)
        self.assertEqual(len(job), 1)
        self.work_outbox()
        self.assertEqual(job.state, "done")
        self.assertEqual(len(self.registrations()), 1)
        # no slug on this method: AfterShip detected the courier
        self.assertEqual(self.sandbox.as_trackings[tracking]["slug"], "usps")

    def test_an_already_registered_tracking_is_a_success(self):
        picking = self.validate(self.make_picking())
        tracking = picking.carrier_tracking_ref
        self.carrier._shipsync_aftership_adapter(self.as_partner).register_tracking(tracking)
        self.work_outbox()
        self.assertEqual(self.register_jobs(picking).state, "done")
        self.assertEqual(len(self.registrations()), 2)
        self.assertIn('"already_exists": true', self.register_jobs(picking).result)

    def test_a_refused_api_key_kills_the_job_not_the_booking(self):
        self.sandbox.configure(aftership_api_key="another-key")
        picking = self.validate(self.make_picking())
        self.work_outbox()
        job = self.register_jobs(picking)
        self.assertEqual(job.state, "dead")
        self.assertEqual(job.last_status, 401)
        self.assertNotIn(AS_KEY, job.last_error or "")
        self.assertEqual(picking.shipsync_label_state, "done")
        self.assertFalse(self.sandbox.as_trackings)

    def test_register_with_needs_an_aftership_partner(self):
        with self.assertRaises(ValidationError):
            self.make_carrier(self.partner, shipsync_aftership_partner_id=self.partner.id)

    # ------------------------------------------------------------------ webhooks
    def test_aftership_webhooks_move_the_picking_to_in_transit_then_delivered(self):
        picking = self.booked_and_registered()
        tracking = picking.carrier_tracking_ref
        self.assertEqual(picking.shipment_milestone, "handed_over")
        deliveries = self.advance(tracking, steps=2)
        self.assertEqual(len(deliveries), 2)
        self.assertTrue(all(d["status"] in (200, 202) for d in deliveries), deliveries)
        self.env.invalidate_all()
        self.assertEqual(picking.shipment_milestone, "in_transit")

        deliveries = self.advance(tracking)
        self.assertEqual(len(deliveries), 2)
        self.assertTrue(all(d["status"] in (200, 202) for d in deliveries), deliveries)
        self.env.invalidate_all()
        self.assertEqual(picking.shipment_milestone, "delivered")
        events = self.events_of(picking).filtered(
            lambda e: e.direction == "inbound" and e.partner_id == self.as_partner)
        self.assertIn("Delivered", events.mapped("raw_code"))
        applied = events.filtered(lambda e: e.state in ("applied", "stale"))
        # every webhook carries the whole history: each checkpoint is recorded once
        self.assertEqual(len(set(applied.mapped("external_id"))), len(applied))
        self.assertIn("in_transit", applied.mapped("milestone"))

    def test_a_webhook_with_a_wrong_signature_is_refused(self):
        picking = self.booked_and_registered()
        self.sandbox.configure(aftership_secret="wrong")
        refused = self.advance(picking.carrier_tracking_ref, steps=2)
        self.assertEqual([d["status"] for d in refused], [401, 401])
        body = b'{"event": "tracking_update", "msg": {"tracking_number": "X", "tag": "Delivered"}}'
        response = self.url_open(self.hook(), data=body, headers={
            "Content-Type": "application/json",
            "aftership-hmac-sha256": aftership_signature(body + b" ", AS_SECRET)})
        self.assertEqual(response.status_code, 401)
        self.env.invalidate_all()
        self.assertEqual(picking.shipment_milestone, "handed_over")
        self.assertFalse(self.events_of(picking).filtered(
            lambda e: e.partner_id == self.as_partner))
