import json
from datetime import timedelta
from unittest.mock import patch

from odoo.tests import tagged

from shipsync.sandbox import Receiver
from shipsync.transport import HttpRequest

from .outbox_common import OutboxCase


@tagged("post_install", "-at_install")
class TestOutboxDelivery(OutboxCase):
    def test_delivery_sends_the_idempotency_key_and_stores_the_result(self):
        job = self.enqueue("/orders", {"order": "SO1"})
        stats = self.run_worker()
        self.assertEqual(stats["calls"], 1)
        self.assertEqual(job.state, "done", job.last_error)
        self.assertEqual(job.attempts, 1)
        [call] = self.receiver.calls
        self.assertEqual(call["path"], "/orders")
        self.assertEqual(call["headers"]["Idempotency-Key"], job.idempotency_key)
        self.assertEqual(json.loads(call["body"]), {"order": "SO1"})
        effect = self.receiver.effects[job.idempotency_key]
        self.assertEqual(json.loads(job.result)["id"], effect["id"])
        self.assertTrue(job.first_attempt_at and job.done_at)
        [attempt] = job.attempt_ids
        self.assertEqual((attempt.http_status, attempt.outcome, attempt.error_class),
                         (200, "done", False))

    def test_outage_opens_the_breaker_without_burning_attempts_then_delivers_all_in_order(self):
        picking_a, picking_b = self.make_picking(), self.make_picking()
        jobs = {
            key: [self.enqueue(f"/orders/{key}{i}", picking=picking) for i in range(3)]
            for key, picking in (("a", picking_a), ("b", picking_b))
        }
        self.receiver.configure(outage_until=9e12)  # 503 until told otherwise
        self.run_worker(0)  # a0 and b0 fail (the heads of their sequence keys)
        self.run_worker(20)  # a0 fails again: the 3rd consecutive failure opens the breaker
        self.partner.invalidate_recordset()
        self.assertEqual(self.partner.outbox_breaker_state, "open")
        calls_when_opened = len(self.receiver.calls)
        self.assertEqual(calls_when_opened, 3)
        # b0, claimed in the same batch, went back to the queue untried.
        self.assertEqual([j.attempts for j in jobs["a"] + jobs["b"]], [2, 0, 0, 1, 0, 0])
        self.assertTrue(all(j.state == "pending" for j in jobs["a"] + jobs["b"]))
        # No hot loop: while open, runs make no call and burn no attempt; other
        # partners' jobs still go.
        healthy = Receiver(port=0).start()
        self.addCleanup(healthy.stop)
        other = self.enqueue("/elsewhere", partner=self.make_partner(
            "Healthy", outbox_base_url=healthy.url))
        self.assertEqual(self.run_worker(40)["calls"], 1)
        self.assertEqual(other.state, "done")
        for _i in range(5):
            stats = self.run_worker(40)
            self.assertEqual(stats["calls"], 0)
        self.assertEqual(len(self.receiver.calls), calls_when_opened)
        # After the cool-down a single probe goes out; it fails, the breaker reopens.
        stats = self.run_worker(55)
        self.assertEqual(stats["calls"], 1)
        self.partner.invalidate_recordset()
        self.assertEqual(self.partner.outbox_breaker_state, "open")
        # The partner recovers: the next probe closes the breaker and everything goes.
        self.receiver.configure(outage_until=None)
        for step in range(10):
            self.run_worker(100 + 60 * step)
        all_jobs = jobs["a"] + jobs["b"]
        self.assertEqual({j.state for j in all_jobs}, {"done"})
        self.partner.invalidate_recordset()
        self.assertEqual(self.partner.outbox_breaker_state, "closed")
        effects = self.receiver.effects
        self.assertEqual(set(effects), {j.idempotency_key for j in all_jobs})
        for key_jobs in jobs.values():
            seqs = [effects[j.idempotency_key]["seq"] for j in key_jobs]
            self.assertEqual(seqs, sorted(seqs), "order per sequence key")
        for job in all_jobs:  # every attempt counted is a call the receiver got
            self.assertEqual(job.attempts, len(self.calls_for(job)))
            self.assertLessEqual(job.attempts, 5)

    def test_retry_after_on_429_is_honoured(self):
        job = self.enqueue("/orders")
        self.receiver.configure(fail_next=1, fail_status=429, retry_after="120")
        self.run_worker(0)
        self.assertEqual((job.state, job.attempts, job.last_error_class),
                         ("pending", 1, "http_429"))
        self.assertEqual(job.next_attempt_at, self.t0 + timedelta(seconds=120))
        self.assertEqual(self.run_worker(119)["calls"], 0)
        self.run_worker(120)
        self.assertEqual((job.state, job.attempts), ("done", 2))
        self.assertEqual(len(self.calls_for(job)), 2)

    def test_final_400_is_dead_at_once_with_the_excerpt_and_replay_delivers_it(self):
        picking = self.make_picking()
        job = self.enqueue("/orders/bad", {"weight": 0}, picking=picking)
        self.receiver.configure(status_by_path={"/orders/bad": 400})
        self.run_worker(0)
        self.assertEqual((job.state, job.attempts, job.last_error_class, job.last_status),
                         ("dead", 1, "http_4xx", 400))
        self.assertTrue(job.dead_at)
        [attempt] = job.attempt_ids
        self.assertIn('"status": 400', attempt.response_excerpt)
        self.assertEqual(picking.shipment_exception_state, "open")
        self.assertEqual(picking.shipment_exception_reason, "sync_failed")
        dead = self.Job.search([("state", "=", "dead"), ("partner_id", "=", self.partner.id)])
        self.assertEqual(dead, job)
        # A manager fixes the payload (audited) and replays: same idempotency key.
        job.write({"payload": json.dumps({"url": "/orders/bad", "json": {"weight": 1}})})
        self.assertIn("Payload edited", job.message_ids[0].body)
        self.receiver.configure(status_by_path={})
        job.action_replay()
        self.assertEqual((job.state, job.attempts), ("pending", 0))
        self.run_worker(1)
        self.assertEqual(job.state, "done")
        calls = self.calls_for(job)
        self.assertEqual([c["status"] for c in calls], [400, 200])
        self.assertEqual(json.loads(calls[-1]["body"]), {"weight": 1})
        self.assertIn(job.idempotency_key, self.receiver.effects)

    def test_cancel_a_dead_job(self):
        job = self.enqueue("/gone")
        self.receiver.configure(status_by_path={"/gone": 404})
        self.run_worker(0)
        job.action_cancel()
        self.assertEqual(job.state, "cancelled")

    def test_a_dead_job_holds_back_its_sequence_key_unless_the_partner_does_not_block(self):
        for blocking in (True, False):
            partner = self.make_partner(f"Block {blocking}", outbox_blocking=blocking)
            picking = self.make_picking()
            first = self.enqueue("/bad", partner=partner, picking=picking)
            second = self.enqueue("/ok", partner=partner, picking=picking)
            self.receiver.configure(status_by_path={"/bad": 422})
            self.run_worker(0)
            self.run_worker(1)
            self.assertEqual(first.state, "dead")
            self.assertEqual(second.state, "pending" if blocking else "done", blocking)
            if blocking:
                first.action_cancel()
                self.run_worker(2)
                self.assertEqual(second.state, "done")

    def test_an_unknown_operation_is_dead_at_once(self):
        job = self.Job._enqueue(self.partner, "teleport", {"x": 1})
        self.run_worker(0)
        self.assertEqual((job.state, job.last_error_class), ("dead", "adapter_error"))
        self.assertIn("no outbox handler", job.last_error)
        self.assertFalse(self.receiver.calls)

    def test_low_never_starves_high(self):
        partner = self.make_partner("One lane", outbox_max_concurrency=1)
        lows = [self.Job._enqueue(partner, "http_call", {"url": f"/report/{i}"}, channel="low")
                for i in range(5)]
        high = self.Job._enqueue(partner, "http_call", {"url": "/ship"})
        # A high worker never takes low work, however much of it waits.
        self.run_worker(0, channels=("high",))
        self.assertEqual(high.state, "done")
        self.assertEqual({j.state for j in lows}, {"pending"})
        # A low worker declines the partner's last slot while high work is ready.
        high2 = self.Job._enqueue(partner, "http_call", {"url": "/ship2"})
        self.assertEqual(self.run_worker(1, channels=("low",))["calls"], 0)
        self.run_worker(2, channels=("high",))
        self.assertEqual(high2.state, "done")
        self.run_worker(3, channels=("low",))
        self.assertEqual({j.state for j in lows}, {"done"})

    def test_rate_limit_spreads_calls_over_minutes(self):
        partner = self.make_partner("Slow", outbox_rate_limit=2)
        jobs = [self.enqueue(f"/r/{i}", partner=partner) for i in range(5)]
        self.assertEqual(self.run_worker(0)["calls"], 2)
        self.assertEqual(self.run_worker(30)["calls"], 0)
        self.assertEqual(self.run_worker(61)["calls"], 2)
        self.assertEqual(self.run_worker(122)["calls"], 1)
        self.assertEqual({j.state for j in jobs}, {"done"})

    def test_an_expired_lease_is_retried_with_the_same_key(self):
        job = self.enqueue("/orders")
        # A worker claimed it and vanished: its lease runs out.
        claimed, _wait = self.Job._outbox_claim("ghost-worker", ("high",), 10, self.t0)
        self.assertEqual(claimed, [job.id])
        job.invalidate_recordset()
        self.assertEqual((job.state, job.worker_id), ("running", "ghost-worker"))
        self.assertEqual(self.run_worker(5)["calls"], 0)  # leased: nobody else runs it
        self.run_worker(60)
        self.assertEqual((job.state, job.attempts), ("done", 2))
        lost, delivered = job.attempt_ids.sorted("id")
        self.assertIn("lease expired", lost.error)
        self.assertEqual(delivered.http_status, 200)
        self.assertEqual([c["idempotency_key"] for c in self.receiver.calls],
                         [job.idempotency_key])

    def test_a_registered_handler_runs_an_adapter_style_call(self):
        """Other addons register operations; a handler may return a callable
        (an adapter call) whose requests all carry the job's Idempotency-Key."""
        seen = {}

        def prepare(model, job, ctx):
            def call():  # what an adapter does with ctx.http: no key of its own
                answer = ctx.http(HttpRequest("POST", ctx.base_url + "/ping", json={}))
                return {"pong": answer.status}
            return call

        def done(model, job, outcome):
            seen["done"] = (job.id, outcome.data)

        cls = type(self.Job)
        builtin = cls._outbox_handlers
        handlers = {"ping": {"prepare": "_test_prepare_ping", "done": "_test_done_ping"}}
        with patch.object(cls, "_outbox_handlers", lambda m: {**builtin(m), **handlers}), \
                patch.object(cls, "_test_prepare_ping", prepare, create=True), \
                patch.object(cls, "_test_done_ping", done, create=True):
            job = self.Job._enqueue(self.partner, "ping", {})
            self.run_worker(0)
        self.assertEqual(job.state, "done")
        self.assertEqual(json.loads(job.result), {"pong": 200})
        self.assertEqual(seen["done"], (job.id, {"pong": 200}))
        [call] = self.receiver.calls
        self.assertEqual(call["idempotency_key"], job.idempotency_key)
