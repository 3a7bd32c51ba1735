import json
import uuid
from datetime import timedelta

from odoo import SUPERUSER_ID, api
from odoo.exceptions import AccessError
from odoo.tests import TransactionCase, new_test_user, tagged
from odoo.tools import SQL

from odoo.addons.shipment_sync.models.shipment_sync_job import utcnow

from shipsync import outbox

from .outbox_common import OutboxCase


@tagged("post_install", "-at_install")
class TestOutboxEnqueue(OutboxCase):
    def test_enqueuing_the_same_key_twice_returns_the_existing_job(self):
        first = self.enqueue("/orders", idempotency_key="SO42-create")
        again = self.enqueue("/orders", idempotency_key="SO42-create")
        self.assertEqual(first, again)
        self.assertEqual(self.Job.search_count([("idempotency_key", "=", "SO42-create")]), 1)
        # Another partner may use the same key.
        other = self.enqueue("/orders", idempotency_key="SO42-create",
                             partner=self.make_partner("Other"))
        self.assertNotEqual(first, other)

    def test_enqueue_defaults_and_trigger(self):
        picking = self.make_picking()
        cron = self.env.ref("shipment_sync.ir_cron_outbox_high")
        triggers = self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])
        job = self.enqueue("/orders", picking=picking)
        self.assertEqual((job.state, job.channel, job.attempts), ("pending", "high", 0))
        self.assertEqual(job.sequence_key, f"picking:{picking.id}/partner:{self.partner.id}")
        self.assertTrue(job.idempotency_key)
        self.assertEqual(job.company_id, self.partner.company_id)
        self.assertIn(job, picking.shipment_job_ids)
        self.assertEqual(
            self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]), triggers + 1)
        self.enqueue("/orders")  # one trigger per transaction is enough
        self.assertEqual(
            self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]), triggers + 1)
        publish = self.Job._enqueue(self.partner, "publish_event", {})
        self.assertEqual(publish.channel, "low")
        with self.assertRaises(ValueError):
            self.Job._enqueue(self.partner, "http_call", {}, channel="urgent")

    def test_only_a_manager_edits_a_payload_and_only_of_a_finished_job(self):
        job = self.enqueue("/orders")
        user = new_test_user(self.env, "outbox_user", groups="shipment_sync.group_user")
        with self.assertRaises(AccessError):
            job.with_user(user).write({"payload": "{}"})
        job.action_cancel()
        job.write({"payload": json.dumps({"url": "/orders", "json": {"fixed": True}})})
        self.assertIn("Payload edited", job.message_ids[0].body)
        self.assertIn("fixed", job.message_ids[0].body)

    def test_purge_follows_each_partner_retention(self):
        keep = self.make_partner("Keeper", outbox_retention_days=90)
        old_done = self.enqueue("/a")
        old_kept = self.enqueue("/b", partner=keep)
        fresh = self.enqueue("/c")
        pending = self.enqueue("/d")
        long_ago = utcnow() - timedelta(days=40)
        (old_done | old_kept).write({"state": "done", "done_at": long_ago})
        fresh.write({"state": "done", "done_at": utcnow()})
        self.env["shipment.sync.job.attempt"].create(
            {"job_id": old_done.id, "partner_id": self.partner.id, "number": 1})
        purged = self.Job._cron_outbox_purge()
        self.assertGreaterEqual(purged, 1)
        self.assertFalse(old_done.exists())
        self.assertFalse(self.env["shipment.sync.job.attempt"].search(
            [("job_id", "=", old_done.id)]))
        self.assertTrue(old_kept.exists() and fresh.exists() and pending.exists())

    def test_partner_form_shows_the_breaker_and_validates_the_policy(self):
        from odoo.exceptions import ValidationError

        with self.assertRaises(ValidationError):
            self.partner.outbox_read_timeout = 0
        self.partner._outbox_lock()
        self.partner._outbox_store_breaker({"state": "open", "opened_at": 1e9,
                                            "consecutive_failures": 5})
        self.assertEqual(self.partner.outbox_breaker_state, "open")
        self.assertEqual(self.partner.outbox_breaker_failures, 5)
        self.partner.action_outbox_reset_breaker()
        self.assertEqual(self.partner.outbox_breaker_state, "closed")


@tagged("post_install", "-at_install")
class TestOutboxTransaction(TransactionCase):
    """Real transactions (the registry is not in test mode here): what a
    rolled-back business transaction enqueued does not exist."""

    def test_a_job_enqueued_in_a_rolled_back_transaction_does_not_exist(self):
        key = f"rollback-{uuid.uuid4().hex}"
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            partner = env["shipment.sync.partner"].create(
                {"name": "Rollback", "code": f"rb-{uuid.uuid4().hex[:8]}"})
            job = env["shipment.sync.job"]._enqueue(
                partner, "http_call", {"url": "http://127.0.0.1:9/x"}, idempotency_key=key)
            self.assertTrue(job.id)
            cr.rollback()
        with self.registry.cursor() as cr:
            cr.execute("SELECT count(*) FROM shipment_sync_job WHERE idempotency_key = %s",
                       [key])
            self.assertEqual(cr.fetchone()[0], 0)


@tagged("post_install", "-at_install")
class TestOutboxHandlers(TransactionCase):
    def test_every_registered_method_exists_on_its_model(self):
        """The handlers of every installed addon (post_install: all of them are
        registered) name models and methods that exist."""
        handlers = self.env["shipment.sync.job"]._outbox_handlers()
        self.assertTrue({"http_call", "publish_event"} <= set(handlers))
        for operation, handler in handlers.items():
            self.assertIn(handler.model, self.env, operation)
            model = self.env[handler.model]
            for hook, method in handler.methods():
                self.assertTrue(callable(getattr(model, method, None)),
                                f"{operation}: {hook} {handler.model}.{method} does not exist")


@tagged("post_install", "-at_install")
class TestClaimPredicate(OutboxCase):
    def test_the_claim_sql_and_outbox_blocks_agree_on_every_state(self):
        """The claim statement's ordering predicate is the engine's
        ``outbox.blocks``: for every state and attempt count of an earlier job
        of the key, blocking partner or not, the later job is claimed exactly
        when ``blocks`` says it is not held back."""
        # Later than every enqueue below: each later job is due.
        now = utcnow() + timedelta(hours=1)
        for blocking in (True, False):
            partner = self.make_partner(f"Claim {blocking}", outbox_blocking=blocking)
            policy = partner._outbox_policy()
            self.assertEqual(policy.blocking, blocking)
            for state in outbox.STATES:
                for attempts in (0, 1):
                    with self.subTest(blocking=blocking, state=state, attempts=attempts):
                        key = f"claim-{uuid.uuid4().hex}"
                        earlier = self.enqueue(partner=partner, sequence_key=key)
                        later = self.enqueue(partner=partner, sequence_key=key)
                        self.env.flush_all()
                        # The earlier job is never claimable itself: only the later one is
                        # looked at.
                        self.env.cr.execute(SQL(
                            "UPDATE shipment_sync_job SET state = %s, attempts = %s, "
                            "next_attempt_at = %s WHERE id = %s", state, attempts,
                            now + timedelta(days=1), earlier.id))
                        taken = self.Job._outbox_take(
                            "test-worker", [(partner.id, policy, 10)], ("high",), now)
                        claimed = later.id in taken.get(partner.id, [])
                        self.assertEqual(
                            claimed, not outbox.blocks(state, attempts, blocking))
                        # Give the later job back so the next combination starts clean.
                        self.env.cr.execute(SQL(
                            "UPDATE shipment_sync_job SET state = 'cancelled' WHERE id IN %s",
                            (earlier.id, later.id)))
                        self.env.invalidate_all()
