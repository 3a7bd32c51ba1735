import base64
from datetime import timedelta

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged

from .common import CarrierCommon


@tagged("post_install", "-at_install")
class TestDispatch(CarrierCommon, TransactionCase):
    """Pickups and end-of-day manifests through the outbox, against the EasyPost sandbox;
    proof of delivery from polled trackers."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_carrier()
        cls.carrier.write({"shipsync_poll": True, "shipsync_poll_min_interval": 15})
        cls.Manifest = cls.env["shipment.sync.manifest"]

    def setUp(self):
        super().setUp()
        self.sandbox.reset()

    def day(self, count=2):
        return self.env["stock.picking"].concat(
            *(self.validate(self.make_picking()) for _i in range(count)))

    # ------------------------------------------------------------------ manifests
    def test_closing_the_day_makes_a_scan_form_attaches_its_pdf_and_hands_over(self):
        self.carrier.shipsync_manifest_handover = True
        pickings = self.day()
        self.assertEqual(set(pickings.mapped("shipment_milestone")), {"label_created"})
        action = pickings.action_shipsync_close_day()
        manifest = self.Manifest.search(action["domain"])
        self.assertEqual((manifest.kind, manifest.state, manifest.picking_ids),
                         ("manifest", "queued", pickings))
        self.assertEqual(manifest.job_id.operation, "carrier_manifest")
        # nothing reached the carrier before the outbox ran
        self.assertFalse(self.sandbox.batches)
        self.run_outbox()
        self.assertEqual(manifest.state, "done", manifest.message)
        [batch] = self.sandbox.batches.values()
        self.assertEqual(sorted(batch["_ids"]), sorted(p.shipsync_shipment_ref for p in pickings))
        self.assertEqual(manifest.external_ref, batch["id"])
        self.assertEqual(manifest.scan_form_ref, batch["scan_form"]["id"])
        pdf = base64.b64decode(manifest.attachment_id.datas)
        self.assertTrue(pdf.startswith(b"%PDF"))
        for picking in pickings:
            self.assertIn(picking.carrier_tracking_ref.encode(), pdf)
        # the scan form hands the parcels over, through the ledger
        self.assertEqual(set(pickings.mapped("shipment_milestone")), {"handed_over"})
        events = self.env["shipment.sync.event"].search(
            [("picking_id", "in", pickings.ids), ("raw_code", "=", "scan_form")])
        self.assertEqual((len(events), set(events.mapped("state"))), (2, {"applied"}))
        # the same transfers are not put on a second manifest
        with self.assertRaisesRegex(UserError, "on a manifest already"):
            pickings.action_shipsync_close_day()

    def test_handed_over_from_the_manifest_only_when_the_partner_is_authoritative(self):
        in_transit = self.env["shipment.sync.milestone"].search([("code", "=", "in_transit")])
        self.partner.authoritative_milestone_ids = [(6, 0, in_transit.ids)]
        self.carrier.shipsync_manifest_handover = True
        pickings = self.day(1)
        pickings.action_shipsync_close_day()
        self.run_outbox()
        manifest = self.Manifest.search([("picking_ids", "in", pickings.ids)])
        self.assertEqual(manifest.state, "done")
        self.assertEqual(pickings.shipment_milestone, "label_created")
        event = self.env["shipment.sync.event"].search(
            [("picking_id", "=", pickings.id), ("raw_code", "=", "scan_form")])
        self.assertEqual(event.state, "ignored_not_authoritative")

    def test_validation_hands_over_unless_the_manifest_is_configured_to(self):
        pickings = self.day(1)
        self.assertEqual(pickings.shipment_milestone, "handed_over")  # validated in Odoo
        pickings.action_shipsync_close_day()
        self.run_outbox()
        event = self.env["shipment.sync.event"].search(
            [("picking_id", "=", pickings.id), ("raw_code", "=", "scan_form")])
        self.assertEqual(len(event), 1)
        self.assertEqual(pickings.shipment_milestone, "handed_over")

    def test_a_scan_form_the_carrier_refuses_leaves_the_manifest_failed(self):
        self.carrier.shipsync_manifest_handover = True
        pickings = self.day(1)
        # the label was voided at the carrier: EasyPost-style refusal of the scan form
        shipment = self.sandbox.shipments[pickings.shipsync_shipment_ref]
        shipment["tracking_code"] = None
        manifest = self.Manifest.search(pickings.action_shipsync_close_day()["domain"])
        self.run_outbox()
        self.assertEqual(manifest.state, "failed")
        self.assertIn("purchased", manifest.message)
        self.assertEqual(pickings.shipment_milestone, "label_created")

    def test_only_booked_transfers_can_be_manifested(self):
        draft = self.make_picking()
        with self.assertRaisesRegex(UserError, "Select validated transfers"):
            draft.action_shipsync_close_day()

    # ------------------------------------------------------------------ pickups
    def test_a_pickup_is_scheduled_and_cancelled_through_the_outbox(self):
        pickings = self.day()
        action = pickings.action_shipsync_schedule_pickup()
        pickup = self.Manifest.search(action["domain"])
        self.assertEqual((pickup.kind, pickup.state), ("pickup", "queued"))
        self.run_outbox()
        self.assertEqual(pickup.state, "done", pickup.message)
        [sent] = self.sandbox.pickups.values()
        self.assertEqual(sent["status"], "scheduled")
        self.assertEqual(pickup.external_ref, sent["id"])
        self.assertEqual(pickup.confirmation, sent["confirmation"])
        self.assertEqual(sent["min_datetime"][:10], fields.Date.to_string(pickup.date))
        self.assertEqual(sent["address"]["city"], "San Francisco")  # the warehouse
        pickup.action_cancel_pickup()
        self.run_outbox()
        self.assertEqual(sent["status"], "canceled")
        self.assertEqual(pickup.state, "cancelled")

    # ------------------------------------------------------------------ proof of delivery
    def poll(self):
        now = fields.Datetime.now() + timedelta(minutes=1)
        return self.env["delivery.carrier"]._cron_shipsync_poll(now=now)[self.carrier.id]

    def test_proof_of_delivery_is_stored_on_the_delivered_transfer(self):
        self.sandbox.configure(easypost_signed_by="JANE DOE",
                               easypost_evidence_url="https://files.example/pod/1.jpg")
        picking = self.day(1)
        self.sandbox.advance(picking.carrier_tracking_ref, webhook=False)
        self.poll()
        self.assertEqual(picking.shipment_milestone, "delivered")
        self.assertEqual(picking.shipment_pod_signed_by, "JANE DOE")
        self.assertEqual(picking.shipment_pod_urls, "https://files.example/pod/1.jpg")
        self.assertEqual(picking.shipment_pod_city, "SANDBOX")
        self.assertEqual(picking.shipment_pod_partner_id, self.partner)
        self.assertTrue(picking.shipment_pod_date)
        # customer-safe: the initial and the city, never the URLs
        self.assertEqual(picking._shipment_pod_public(), {"signed_by": "J.", "city": "Sandbox"})
        values = picking._shipment_tracking_values(timeline=False)
        self.assertEqual(values["pod"], {"signed_by": "J.", "city": "Sandbox"})
        self.assertNotIn("files.example", repr(values))

    def test_a_delivery_without_proof_stores_none(self):
        picking = self.day(1)
        self.sandbox.advance(picking.carrier_tracking_ref, webhook=False)
        self.poll()
        self.assertEqual(picking.shipment_milestone, "delivered")
        self.assertFalse(picking.shipment_pod_date or picking.shipment_pod_signed_by)
        self.assertEqual(picking._shipment_tracking_values(timeline=False)["pod"], {})
