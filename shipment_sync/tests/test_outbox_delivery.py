import json
from datetime import timedelta
from unittest.mock import patch

from odoo.tests import tagged

from odoo.addons.shipment_sync.models import shipment_sync_job_worker as worker_module
from odoo.addons.shipment_sync.models.shipment_sync_job import utcnow

from shipsync import outbox
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

    def test_429_with_retry_after_pauses_the_whole_partner(self):
        refused = self.enqueue("/orders/1")
        others = [self.enqueue(f"/orders/{i}") for i in range(2, 5)]
        healthy = self.make_partner("Other carrier")
        elsewhere = self.enqueue("/elsewhere", partner=healthy)
        self.receiver.configure(fail_next=1, fail_status=429, retry_after="5")
        stats = self.run_worker(0, channels=("high",))
        # The 429 stopped every call to the partner; the other partner was called.
        self.assertEqual([c["status"] for c in self.receiver.calls], [429, 200])
        self.assertEqual(stats["calls"], 2)
        self.assertEqual(elsewhere.state, "done")
        self.assertEqual({j.state for j in others}, {"pending"})
        self.assertEqual({j.attempts for j in others}, {0}, "no attempt burnt")
        self.partner.invalidate_recordset()
        self.assertAlmostEqual(
            (self.partner.outbox_paused_until - self.t0).total_seconds(), 5, places=3)
        self.assertIn("429", self.partner.outbox_pause_reason)
        self.assertIn("Retry-After: 5", self.partner.outbox_pause_reason)
        self.assertFalse(healthy.outbox_paused_until)
        # Nothing before the pause ends, everything right after.
        self.assertEqual(self.run_worker(4.9)["calls"], 0)
        self.run_worker(5)
        self.assertEqual({j.state for j in [refused, *others]}, {"done"})
        # A pause only grows, and a manager may lift it.
        self.receiver.configure(fail_next=1, fail_status=503,
                                retry_after="Wed, 21 Oct 2099 07:28:00 GMT")
        late = self.enqueue("/orders/late")
        self.run_worker(10)
        self.partner.invalidate_recordset()
        # An HTTP-date far away: capped at one day.
        self.assertAlmostEqual(
            (self.partner.outbox_paused_until - self.t0).total_seconds(), 10 + 86400, places=3)
        self.assertIn("Oct 2099", self.partner.outbox_pause_reason)
        self.assertTrue(self.partner.outbox_paused)
        self.assertIn(self.partner, self.env["shipment.sync.partner"].search(
            [("outbox_paused", "=", True)]))
        self.partner.action_outbox_resume()
        self.assertFalse(self.partner.outbox_paused)
        self.assertEqual(late.state, "pending")

    def test_a_call_claimed_before_the_429_came_back_is_held_until_the_pause_ends(self):
        """Worker B claimed a job of the partner, then worker A's call came back
        429 with Retry-After: 5: B checks the pause just before sending and
        gives its job back untried; the call threads check it once more."""
        early = self.enqueue("/orders/1")
        refused = self.enqueue("/orders/2")
        self.receiver.configure(fail_next=1, fail_status=429, retry_after="5")
        # B's claim is committed (its lease, its attempt counted); no call yet.
        claimed, _wait = self.Job._outbox_claim("worker-b", ("high",), 1, self.t0)
        self.assertEqual(claimed, [early.id])
        self.env.flush_all()
        # A takes the other job to the real receiver: 429, the partner is paused.
        self.assertEqual(self.run_worker(0, worker_id="worker-a")["calls"], 1)
        self.assertEqual([(c["path"], c["status"]) for c in self.receiver.calls],
                         [("/orders/2", 429)])
        self.assertEqual((refused.state, refused.attempts), ("pending", 1))

        def must_not_send(req):
            raise AssertionError(f"{req.url} was sent during the pause")

        # B goes on: prepared, the pause is read just before the hand-over.
        gate = outbox.PauseGate()
        calls, held = self.Job.browse(claimed)._outbox_launch(
            "worker-b", must_not_send, gate, self.t0 + timedelta(seconds=0.5))
        self.assertEqual((calls, held), ([], 1))
        early.invalidate_recordset()
        self.assertEqual((early.state, early.attempts, early.worker_id),
                         ("pending", 0, False), "back in the queue, no attempt burnt")
        self.assertFalse(early.attempt_ids)
        self.assertAlmostEqual(gate.held(self.partner.id, outbox.epoch(self.t0) + 4.9), 0.1,
                               places=3)
        # A call prepared before its worker knew of the pause: the call thread
        # checks the gate as it starts and sends nothing.
        claimed, _wait = self.Job._outbox_claim("worker-c", ("high",), 1,
                                                self.t0 + timedelta(seconds=6))
        [prepared] = self.Job.browse(claimed)._outbox_prepare(must_not_send)
        self.assertIsNone(worker_module._timed(prepared, gate,
                                               lambda: self.t0 + timedelta(seconds=1)))
        self.Job._outbox_release("worker-c", claimed)
        self.assertEqual(len(self.receiver.calls), 1)
        # Nothing before the pause ends; both right after it, each once.
        self.assertEqual(self.run_worker(4.9)["calls"], 0)
        self.assertEqual(self.run_worker(5)["calls"], 2)
        self.assertEqual((early.state, early.attempts), ("done", 1))
        self.assertEqual((refused.state, refused.attempts), ("done", 2))
        self.assertEqual(len(self.calls_for(early)), 1)

    def test_several_calls_fly_at_once_within_the_partner_concurrency(self):
        partner = self.make_partner("Three lanes", outbox_max_concurrency=3)
        pickings = [self.make_picking() for _i in range(2)]
        ordered = [self.enqueue(f"/o/{p.id}/{i}", partner=partner, picking=p)
                   for i in range(3) for p in pickings]
        loose = [self.enqueue(f"/l/{i}", partner=partner) for i in range(6)]
        self.receiver.configure(latency_ms=300)
        stats = self.run_worker(0, calls_in_flight=8)
        self.assertEqual({j.state for j in ordered + loose}, {"done"})
        self.assertEqual(stats["peak_in_flight"], 3)
        # Overlap seen by the receiver: each call is answered 300 ms after it came.
        times = sorted(c["time"] for c in self.receiver.calls)
        overlap = max(sum(1 for u in times if t <= u < t + 0.3) for t in times)
        self.assertEqual(overlap, 3, "three calls at once, never more")
        effects = self.receiver.effects
        for picking in pickings:
            jobs = [j for j in ordered if j.picking_id == picking]
            seqs = [effects[j.idempotency_key]["seq"] for j in jobs]
            self.assertEqual(seqs, sorted(seqs), "order per shipment")
        self.assertEqual(len(self.receiver.calls), len(ordered + loose), "each called once")

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
        self.run_worker((utcnow() - self.t0).total_seconds() + 1)  # due since the replay
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
            self.t0 = utcnow() + timedelta(seconds=1)  # the set-up may take seconds
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
        handlers = {"ping": outbox.Handler(prepare="_test_prepare_ping", done="_test_done_ping")}
        with patch.object(cls, "_outbox_handlers",
                          lambda m: outbox.register(builtin(m), handlers)), \
                patch.object(cls, "_test_prepare_ping", prepare, create=True), \
                patch.object(cls, "_test_done_ping", done, create=True):
            job = self.Job._enqueue(self.partner, "ping", {})
            self.run_worker(0)
        self.assertEqual(job.state, "done")
        self.assertEqual(json.loads(job.result), {"pong": 200})
        self.assertEqual(seen["done"], (job.id, {"pong": 200}))
        [call] = self.receiver.calls
        self.assertEqual(call["idempotency_key"], job.idempotency_key)
