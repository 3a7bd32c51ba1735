"""The default "delivered without proof of delivery" rule: off after install, and once on,
it fires only for partners that give proofs of delivery."""

import uuid
from datetime import timedelta

from freezegun import freeze_time

from odoo.tests import TransactionCase, tagged

from odoo.addons.shipment_sync.tests.common import T0, WHSEC

from shipsync import catalogue as cat
from shipsync.normalizers import CanonicalEvent
from shipsync.pod import PodEvent, ProofOfDelivery

from .common import MonitorCommon


@tagged("post_install", "-at_install")
class TestPodRule(MonitorCommon, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_monitor()
        cls.rule = cls.env.ref("shipment_sync_monitor.alert_rule_delivered_without_pod")

    def deliver(self, picking, partner, proof=None):
        event = (PodEvent if proof else CanonicalEvent)(
            **({"pod": proof} if proof else {}),
            external_id=uuid.uuid4().hex, occurred_at=T0, milestone="delivered",
            picking_ref=picking.name)
        with freeze_time(T0):
            new, _dups = self.Event._ingest(partner, [event])
            new._apply_now()
        self.assertEqual(picking.shipment_milestone, "delivered")

    def evaluate(self, hours):
        at = T0.replace(tzinfo=None) + timedelta(hours=hours)
        with freeze_time(at):
            return self.rule._evaluate(at)

    def test_the_rule_is_off_after_install(self):
        self.assertFalse(self.rule.active)
        self.assertNotIn(self.rule, self.env["shipment.sync.alert.rule"].search([]))

    def test_it_fires_for_a_delivery_without_proof_from_a_partner_that_gives_proofs(self):
        self.rule.active = True
        with_proof, without = self.picking, self.make_picking()
        self.deliver(with_proof, self.carrier,
                     ProofOfDelivery(signed_by="JANE DOE", city="LOS ANGELES"))
        self.assertEqual(with_proof.shipment_pod_signed_by, "JANE DOE")
        self.assertEqual(with_proof.shipment_pod_partner_id, self.carrier)
        self.deliver(without, self.carrier)
        # a partner that never gave a proof never breaches
        silent = self.make_picking()
        self.deliver(silent, self.partner)
        self.assertEqual(list(self.evaluate(23).opened), [])
        plan = self.evaluate(25)
        self.assertEqual(list(plan.opened), [f"picking:{without.id}"])
        alert = self.env["shipment.sync.alert"].search([("rule_id", "=", self.rule.id)])
        self.assertEqual((alert.picking_id, alert.state), (without, "active"))

    def test_only_a_delivery_without_proof_is_published_as_delivered_without_pod(self):
        sub = self.env["shipment.sync.subscription"].create({
            "name": "POD watcher", "partner_id": self.partner.id,
            "url": "http://127.0.0.1:9/events", "secret": WHSEC,
            "event_type_ids": [(6, 0, self.env["shipment.sync.event.type"]._by_codes(
                [cat.DELIVERED_WITHOUT_POD]).ids)]})
        with_proof, without = self.picking, self.make_picking()
        self.deliver(with_proof, self.carrier, ProofOfDelivery(signed_by="JANE DOE"))
        self.deliver(without, self.carrier)
        jobs = self.env["shipment.sync.job"].search([
            ("operation", "=", "publish_event"), ("idempotency_key", "=like", f"sub{sub.id}:%")])
        self.assertEqual(jobs.picking_id, without)
