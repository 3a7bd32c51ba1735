import json

from odoo.tests import tagged

from shipsync.signatures import StandardWebhooks

from .outbox_common import WHSEC, OutboxCase


@tagged("post_install", "-at_install")
class TestOutboxSubscription(OutboxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.subscriber = cls.make_partner("Portal", kind="subscriber")
        cls.Milestone = cls.env["shipment.sync.milestone"]

    def subscribe(self, path="/hooks/portal", milestones=(), **vals):
        return self.env["shipment.sync.subscription"].create({
            "name": "Portal", "partner_id": self.subscriber.id,
            "url": self.receiver.url + path, "secret": WHSEC,
            "milestone_ids": [(6, 0, self.Milestone.search([("code", "in", milestones)]).ids)],
            **vals,
        })

    def publish_jobs(self, picking):
        return self.Job.search([("picking_id", "=", picking.id),
                                ("operation", "=", "publish_event")], order="id")

    def test_milestone_change_is_published_as_a_signed_event(self):
        sub = self.subscribe()
        picking = self.make_picking()
        picking._shipment_internal_event(milestone="packed", message="packed")
        [job] = self.publish_jobs(picking)
        self.assertEqual((job.channel, job.partner_id), ("low", self.subscriber))
        self.run_worker(0, channels=("low",))
        self.assertEqual(job.state, "done")
        [call] = self.receiver.calls
        self.assertEqual(call["path"], "/hooks/portal")
        body = call["body"].encode()
        StandardWebhooks([WHSEC]).verify(call["headers"], body)
        event = json.loads(body)
        self.assertEqual(call["webhook_id"], event["id"])
        self.assertEqual(call["idempotency_key"], f"sub{sub.id}:{event['id']}")
        self.assertEqual(event["type"], "shipment.milestone_changed")
        self.assertEqual(event["data"]["milestone"], "packed")
        self.assertEqual(event["data"]["previous_milestone"], "draft")
        self.assertEqual(event["data"]["shipment"]["reference"], picking.name)
        self.assertEqual(event["data"]["shipment"]["correlation_id"],
                         picking.shipment_correlation_id)

    def test_the_event_id_is_stable_and_a_replay_resends_the_same_event(self):
        self.subscribe()
        picking = self.make_picking()
        picking._shipment_internal_event(milestone="packed")
        [job] = self.publish_jobs(picking)
        self.receiver.configure(status=500)
        self.run_worker(0, channels=("low",))
        self.receiver.configure(status=200)
        self.run_worker(60, channels=("low",))
        self.assertEqual(job.state, "done")
        first, second = self.calls_for(job)
        self.assertEqual(first["webhook_id"], second["webhook_id"])
        self.assertEqual(first["body"], second["body"])
        # Replaying the ledger does not publish the same change again.
        picking._shipment_apply_events()
        self.assertEqual(len(self.publish_jobs(picking)), 1)

    def test_subscriptions_get_only_the_milestones_they_asked_for(self):
        self.subscribe(milestones=("delivered",))
        picking = self.make_picking()
        picking._shipment_internal_event(milestone="packed")
        self.assertFalse(self.publish_jobs(picking))

    def test_a_subscriber_answering_410_is_deactivated(self):
        sub = self.subscribe(path="/hooks/old")
        self.receiver.configure(gone_paths=["/hooks/old"])
        picking = self.make_picking()
        picking._shipment_internal_event(milestone="packed")
        [job] = self.publish_jobs(picking)
        self.run_worker(0, channels=("low",))
        self.assertEqual((job.state, job.last_status), ("dead", 410))
        self.assertFalse(sub.active)
        self.assertIn("410", sub.deactivated_reason)
        # A dead delivery to a subscriber is no shipment exception.
        self.assertEqual(picking.shipment_exception_state, "none")
        picking._shipment_internal_event(milestone="label_created")
        self.assertEqual(len(self.publish_jobs(picking)), 1)

    def test_a_delivery_for_an_archived_subscription_is_cancelled(self):
        sub = self.subscribe()
        picking = self.make_picking()
        picking._shipment_internal_event(milestone="packed")
        [job] = self.publish_jobs(picking)
        sub.active = False
        self.run_worker(0, channels=("low",))
        self.assertEqual(job.state, "cancelled")
        self.assertFalse(self.receiver.calls)

    def test_a_new_subscription_gets_a_standard_webhooks_secret(self):
        sub = self.env["shipment.sync.subscription"].create({
            "name": "CRM", "partner_id": self.subscriber.id, "url": "https://crm.example/hook"})
        self.assertTrue(sub.secret.startswith("whsec_"))
        StandardWebhooks([sub.secret])  # a valid key
        old = sub.secret
        sub.action_rotate_secret()
        self.assertNotEqual(sub.secret, old)
