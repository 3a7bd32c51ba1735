from odoo.tests import HttpCase, tagged

from shipsync.partners.sendcloud.sandbox import sendcloud_signature

from .common import SC_SECRET, CarrierCommon


@tagged("post_install", "-at_install")
class TestWebhookJourney(CarrierCommon, HttpCase):
    """The sandbox posts signed webhooks over real HTTP into the core route."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_carrier()
        cls.sc_partner = cls.make_partner("sendcloud")
        cls.sc_carrier = cls.make_carrier(cls.sc_partner, kind="sendcloud")

    def setUp(self):
        super().setUp()
        self.sandbox.reset()

    def hook(self, partner):
        return f"{self.base_url()}/shipment_sync/webhook/{partner.code}"

    def test_easypost_journey_to_delivered_with_duplicates_and_out_of_order(self):
        picking = self.validate(self.make_picking())
        deliveries = self.sandbox.advance(picking.carrier_tracking_ref, scenario="attempt",
                                          duplicates=1, shuffle=11, url=self.hook(self.partner))
        statuses = sorted({d["status"] for d in deliveries})
        self.assertEqual(statuses, [200, 202], deliveries[:2])
        self.env.invalidate_all()
        self.assertEqual(picking.shipment_milestone, "delivered")
        events = self.events_of(picking).filtered(lambda e: e.direction == "inbound")
        applied = events.filtered(lambda e: e.state in ("applied", "stale"))
        # label_created + 5 scans; each tracker.updated carries the whole history
        self.assertEqual(len(set(applied.mapped("external_id"))), len(applied))
        self.assertEqual(len(applied), 6)
        self.assertTrue(self.env["shipment.sync.event"].search([
            ("tracking_number", "=", picking.carrier_tracking_ref), ("state", "=", "duplicate")]))
        self.assertIn("delivery_attempted", applied.mapped("milestone"))
        # a duplicate after delivery changes nothing
        again = self.sandbox.post_webhook(self.hook(self.partner), "easypost",
                                          deliveries[0]["payload"])
        self.assertEqual(again["status"], 200)
        self.assertIn('"duplicate"', again["response"])

    def test_sendcloud_journey_through_the_sendcloud_inbound_format(self):
        picking = self.validate(self.make_picking(carrier=self.sc_carrier))
        self.assertTrue(picking.carrier_tracking_ref.startswith("SC"))
        deliveries = self.sandbox.advance(picking.carrier_tracking_ref, duplicates=1,
                                          shuffle=3, url=self.hook(self.sc_partner))
        self.assertEqual(sorted({d["status"] for d in deliveries}), [200, 202])
        self.env.invalidate_all()
        self.assertEqual(picking.shipment_milestone, "delivered")
        codes = self.events_of(picking).filtered(
            lambda e: e.state == "applied" and e.direction == "inbound").mapped("raw_code")
        self.assertEqual(sorted(codes), sorted(["22", "3", "92", "11"]))

    def test_exception_scan_opens_an_exception_and_delivery_resolves_it(self):
        picking = self.validate(self.make_picking())
        self.sandbox.advance(picking.carrier_tracking_ref, scenario="exception", steps=2,
                             url=self.hook(self.partner))
        self.env.invalidate_all()
        self.assertEqual(picking.shipment_exception_state, "open")
        self.assertEqual(picking.shipment_exception_reason, "delay_weather")
        self.sandbox.advance(picking.carrier_tracking_ref, scenario="exception",
                             url=self.hook(self.partner))
        self.env.invalidate_all()
        self.assertEqual(picking.shipment_milestone, "delivered")
        self.assertEqual(picking.shipment_exception_state, "resolved")

    def test_bad_signature_and_malformed_sendcloud_body_are_refused(self):
        picking = self.validate(self.make_picking(carrier=self.sc_carrier))
        self.sandbox.configure(sendcloud_secret="wrong")
        refused = self.sandbox.advance(picking.carrier_tracking_ref, steps=1,
                                       url=self.hook(self.sc_partner))
        self.assertEqual(refused[0]["status"], 401)
        body = b'{"action": "parcel_status_changed", "parcel": {"id": 1}}'
        response = self.url_open(self.hook(self.sc_partner), data=body, headers={
            "Content-Type": "application/json",
            "Sendcloud-Signature": sendcloud_signature(body, SC_SECRET)})
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["code"], "schema_violation")
        self.env.invalidate_all()
        self.assertEqual(picking.shipment_milestone, "handed_over")
