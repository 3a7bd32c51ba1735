"""The workbench and the real outbox: a call dead at the partner (sandbox
receiver on loopback) opens a sync_failed card; replaying it from the card
delivers it and closes the card through the ledger."""

import json

from odoo.tests import tagged

from odoo.addons.shipment_sync.tests.outbox_common import OutboxCase


@tagged("post_install", "-at_install")
class TestWorkbenchOutbox(OutboxCase):
    def test_dead_call_opens_a_card_and_replay_from_the_card_closes_it(self):
        picking = self.make_picking()
        job = self.enqueue("/shipments", {"weight": 0}, picking=picking)
        self.receiver.configure(status_by_path={"/shipments": 422})
        self.run_worker(0)
        self.assertEqual(job.state, "dead")
        card = self.env["shipment.sync.exception"].search([("picking_id", "=", picking.id)])
        self.assertEqual((card.reason, card.state, card.job_id), ("sync_failed", "open", job))
        self.assertIn(self.partner.name, card.message)
        # The partner is fixed; the operator replays from the card.
        self.receiver.configure(status_by_path={})
        card.action_retry_job()
        self.assertEqual(job.state, "pending")
        self.run_worker(1)
        self.assertEqual(job.state, "done")
        self.assertEqual([c["status"] for c in self.calls_for(job)], [422, 200])
        self.assertEqual(json.loads(self.calls_for(job)[-1]["body"]), {"weight": 0})
        self.assertEqual(card.state, "resolved")
        self.assertIn("went through", card.resolution_note)
        self.assertEqual(picking.shipment_exception_state, "resolved")

    def test_done_job_without_a_card_changes_nothing(self):
        picking = self.make_picking()
        job = self.enqueue("/shipments", {"weight": 1}, picking=picking)
        self.run_worker(0)
        self.assertEqual(job.state, "done")
        self.assertFalse(self.env["shipment.sync.exception"].search(
            [("picking_id", "=", picking.id)]))
        self.assertEqual(picking.shipment_exception_state, "none")
