"""Separate Odoo processes against committed data: a worker killed mid-call,
and two workers sharing one queue. These tests commit (in real cursors, the
registry is not in test mode in a TransactionCase) and clean up after
themselves."""

import json
import logging
import os
import signal
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import timezone

from odoo import SUPERUSER_ID, api
from odoo.tests import TransactionCase, tagged

from odoo.addons.shipment_sync.models.shipment_sync_job import CRON_XMLIDS

from shipsync.sandbox import Receiver

from .outbox_common import cron_process, worker_process

_logger = logging.getLogger(__name__)

PROCESS_TIMEOUT = 180


@tagged("post_install", "-at_install")
class TestOutboxProcesses(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.receiver = Receiver(port=0).start()
        cls.addClassCleanup(cls.receiver.stop)

    def setUp(self):
        super().setUp()
        self.receiver.reset()
        self.db = self.env.cr.dbname

    # -- committed data ------------------------------------------------------------
    def commit_jobs(self, keys, max_concurrency=4, **vals):
        """Commit a partner and one http_call job per sequence key in ``keys``
        (None: no ordering); returns (partner id, [job ids])."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            partner = env["shipment.sync.partner"].create({
                "name": "Process test", "code": f"proc-{uuid.uuid4().hex[:8]}",
                "outbox_base_url": self.receiver.url, "outbox_connect_timeout": 1.0,
                "outbox_read_timeout": 5.0, "outbox_max_concurrency": max_concurrency,
                **vals,
            })
            Job = env["shipment.sync.job"]
            ids = [Job._enqueue(partner, "http_call", {"url": f"/calls/{i}", "json": {"i": i}},
                                sequence_key=key).id for i, key in enumerate(keys)]
            # Other real processes must see the jobs: a committed cursor of the test's own.
            cr.commit()  # pylint: disable=invalid-commit
        self.addCleanup(self.delete_committed, partner.id)
        return partner.id, ids

    def delete_committed(self, partner_id):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["shipment.sync.job"].search([("partner_id", "=", partner_id)]).unlink()
            env["shipment.sync.partner"].browse(partner_id).unlink()
            cr.commit()  # pylint: disable=invalid-commit

    def read_jobs(self, ids):
        with self.registry.cursor() as cr:
            cr.execute("SELECT id, state, attempts, idempotency_key, sequence_key "
                       "FROM shipment_sync_job WHERE id IN %s ORDER BY id", [tuple(ids)])
            jobs = cr.dictfetchall()
            cr.execute("SELECT job_id, worker_id, error, http_status "
                       "FROM shipment_sync_job_attempt WHERE job_id IN %s ORDER BY id",
                       [tuple(ids)])
            return jobs, cr.dictfetchall()

    def finish(self, proc):
        out, err = proc.communicate(timeout=PROCESS_TIMEOUT)
        self.assertEqual(proc.returncode, 0, f"worker failed:\n{out}\n{err[-3000:]}")
        stats = [line for line in out.splitlines() if line.startswith("stats ")]
        self.assertTrue(stats, out)
        return json.loads(stats[-1][6:])

    def wait_ready(self, proc):
        line = proc.stdout.readline()
        self.assertEqual(line.strip(), "ready", proc.stderr.read()[-3000:] if not line else line)

    # -- tests -----------------------------------------------------------------------
    def test_a_worker_killed_mid_call_leaves_each_effect_exactly_once(self):
        # One call at a time: the kill lands on exactly one call in flight.
        _partner_id, ids = self.commit_jobs([None] * 5, max_concurrency=1)
        # Slow answers: the receiver applies a call, then takes its time to answer.
        self.receiver.configure(latency_ms=1000)
        proc = worker_process(self.db, batch=5)
        try:
            # The second call has reached the receiver: kill the worker mid-call.
            self.assertTrue(self.receiver.wait_for_calls(2, timeout=PROCESS_TIMEOUT))
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()
        killed_at = time.monotonic()
        jobs, _attempts = self.read_jobs(ids)
        self.assertEqual([j["state"] for j in jobs],
                         ["done", "running", "pending", "pending", "pending"])
        # Start again at once, in real time: the dead worker's short lease runs
        # out within seconds and the new worker, waiting for it, takes it back.
        self.receiver.configure(latency_ms=0)
        restarted = time.monotonic()
        proc = worker_process(self.db, batch=5, idle_wait=30)
        self.wait_ready(proc)  # Odoo is loaded: the outbox's part starts here
        ready, booted = time.time(), time.monotonic()
        self.finish(proc)
        jobs, attempts = self.read_jobs(ids)
        with self.registry.cursor() as cr:
            cr.execute("SELECT max(done_at) FROM shipment_sync_job WHERE id IN %s",
                       [tuple(ids)])
            drained = cr.fetchone()[0].replace(tzinfo=timezone.utc).timestamp()
        _logger.info("kill -9 drain: Odoo loaded %.1fs after the restart, every job done "
                     "%.1fs after that (%.1fs after the kill)", booted - restarted,
                     drained - ready, booted - killed_at + drained - ready)
        self.assertLess(drained - ready, 30, "drained within 30 s of the restart")
        self.assertEqual({j["state"] for j in jobs}, {"done"})
        keys = {j["idempotency_key"] for j in jobs}
        effects = self.receiver.effects
        self.assertEqual(set(effects), keys, "one effect per job, no other")
        calls = defaultdict(int)
        for call in self.receiver.calls:
            calls[call["idempotency_key"]] += 1
        interrupted = jobs[1]["idempotency_key"]
        self.assertEqual(calls[interrupted], 2, "the interrupted call was sent again")
        self.assertEqual(effects[interrupted]["accepted"], 2)  # ...and deduplicated
        self.assertEqual(jobs[1]["attempts"], 2)
        self.assertTrue(any("lease expired" in (a["error"] or "") for a in attempts
                            if a["job_id"] == jobs[1]["id"]))

    def test_two_processes_share_the_queue_and_never_run_a_job_twice(self):
        keys = [f"key-{k}" for k in range(8)] * 5
        _partner_id, ids = self.commit_jobs(keys, max_concurrency=2)
        self.receiver.configure(latency_ms=50)
        go = os.path.join(tempfile.mkdtemp(prefix="outbox-go-"), "go")
        procs = [worker_process(self.db, batch=5, go=go) for _i in range(2)]
        try:
            for proc in procs:
                self.wait_ready(proc)
            with open(go, "w") as f:
                f.write("go")
            stats = [self.finish(proc) for proc in procs]
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.communicate()
            os.path.exists(go) and os.unlink(go)
        jobs, attempts = self.read_jobs(ids)
        self.assertEqual({j["state"] for j in jobs}, {"done"})
        calls = defaultdict(list)
        for call in self.receiver.calls:
            calls[call["idempotency_key"]].append(call["seq"])
        self.assertEqual({k: len(v) for k, v in calls.items()},
                         {j["idempotency_key"]: 1 for j in jobs}, "each job called once")
        self.assertEqual(sum(s["calls"] for s in stats), len(ids))
        self.assertEqual({a["worker_id"] for a in attempts}, {s["worker"] for s in stats},
                         "both processes worked the queue")
        by_key = defaultdict(list)
        for job in jobs:
            by_key[job["sequence_key"]].append(calls[job["idempotency_key"]][0])
        for key, seqs in by_key.items():
            self.assertEqual(seqs, sorted(seqs), f"enqueue order of {key}")

    def test_a_429_retry_after_pauses_the_partner_for_every_worker(self):
        """Two worker processes, one partner taking two calls at once: the first
        call is answered 429 with Retry-After: 5; no other call reaches the
        partner before those 5 s are over, except the one the other worker had
        already sent."""
        _partner_id, ids = self.commit_jobs([None] * 12, max_concurrency=2)
        self.receiver.configure(fail_next=1, fail_status=429, retry_after="5")
        go = os.path.join(tempfile.mkdtemp(prefix="outbox-go-"), "go")
        procs = [worker_process(self.db, batch=5, go=go, idle_wait=10) for _i in range(2)]
        try:
            for proc in procs:
                self.wait_ready(proc)
            with open(go, "w") as f:
                f.write("go")
            stats = [self.finish(proc) for proc in procs]
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.communicate()
            os.path.exists(go) and os.unlink(go)
        jobs, attempts = self.read_jobs(ids)
        self.assertEqual({j["state"] for j in jobs}, {"done"})
        calls = self.receiver.calls
        [refused] = [c for c in calls if c["status"] == 429]
        self.assertEqual(refused["seq"], 1)
        t429 = refused["time"]
        early = [c for c in calls[1:] if c["time"] < t429 + 5]
        # At most the call the other worker had in flight when the 429 came back.
        self.assertLessEqual(len(early), 1, early)
        self.assertTrue(all(c["time"] < t429 + 1 for c in early), early)
        self.assertGreaterEqual(len(calls), len(ids) + 1)
        later = [c for c in calls if c["time"] >= t429 + 5]
        self.assertEqual(len(later), len(calls) - 1 - len(early))
        # Both workers were running through the pause with work pending, and no call
        # but the one in flight reached the partner before it ended (the timeline
        # above), whichever worker sent it. Which worker takes the calls once the
        # pause is over is the claim's business: on an idle machine one may drain the
        # rest before the other wakes.
        after = {a["worker_id"] for a in attempts if a["http_status"] == 200}
        self.assertTrue(after)
        self.assertLessEqual(after, {s["worker"] for s in stats})
        self.assertEqual(len(stats), 2)
        refused_key = refused["idempotency_key"]
        self.assertEqual(sum(1 for c in calls if c["idempotency_key"] == refused_key), 2)

    def test_a_retry_due_in_5_seconds_runs_within_6_seconds_under_the_real_cron(self):
        """Odoo's own cron loop (sleeping until notified or for a minute) runs
        the outbox: a 503 with Retry-After: 5 is retried on time, not at the
        next minute's sweep."""
        self.park_other_crons()
        proc = cron_process(self.db)
        try:
            self.wait_ready(proc)
            _partner_id, ids = self.commit_jobs([None])
            self.receiver.configure(fail_next=1, fail_status=503, retry_after="5")
            # The enqueue woke the cron loop; if it was not listening yet, wake it.
            for _i in range(30):
                if self.receiver.wait_for_calls(1, timeout=1):
                    break
                self.notify_crons()
            self.assertTrue(self.receiver.wait_for_calls(2, timeout=60), "retried at all")
            first, second = self.receiver.calls[:2]
            deadline = time.monotonic() + 30  # the outcome is recorded after the answer
            while self.read_jobs(ids)[0][0]["state"] != "done" and \
                    time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            proc.kill()
            proc.communicate()
        first, second = self.receiver.calls[:2]
        self.assertEqual((first["status"], second["status"]), (503, 200))
        gap = second["time"] - first["time"]
        _logger.info("retry due in 5 s ran %.2fs after the first call", gap)
        self.assertGreaterEqual(gap, 5.0)
        self.assertLess(gap, 6.0)
        self.assertEqual(self.read_jobs(ids)[0][0]["state"], "done")

    def test_a_server_starting_with_work_left_drains_it_without_waiting_for_the_sweep(self):
        """After a crash the jobs wait in the queue, their trigger long gone.
        Odoo's cron loop sleeps up to a minute before its first look unless
        notified: a server starting with outbox work left notifies it."""
        self.park_other_crons()
        _partner_id, ids = self.commit_jobs([None])
        proc = cron_process(self.db)
        try:
            self.wait_ready(proc)
            ready = time.time()
            # Nobody notifies the cron loop here: the server's own start does.
            self.assertTrue(self.receiver.wait_for_calls(1, timeout=PROCESS_TIMEOUT))
            delay = self.receiver.calls[0]["time"] - ready
        finally:
            proc.kill()
            proc.communicate()
        _logger.info("a job left before the start was called %.2fs after it", delay)
        # The sweep would have come after SLEEP_INTERVAL (60 s).
        self.assertLess(delay, 40.0)

    def park_other_crons(self):
        """Only the outbox workers run in the cron process (committed, restored)."""
        keep = [self.env.ref(x).id for xmlids in CRON_XMLIDS.values() for x in xmlids]
        with self.registry.cursor() as cr:
            cr.execute("SELECT id, nextcall FROM ir_cron WHERE id NOT IN %s AND active",
                       [tuple(keep)])
            saved = cr.fetchall()
            cr.execute("UPDATE ir_cron SET nextcall = now() + interval '7 days' "
                       "WHERE id NOT IN %s", [tuple(keep)])
            cr.execute("DELETE FROM ir_cron_trigger WHERE cron_id NOT IN %s", [tuple(keep)])
            cr.commit()  # pylint: disable=invalid-commit

        def restore():
            with self.registry.cursor() as cr:
                for cron_id, nextcall in saved:
                    cr.execute("UPDATE ir_cron SET nextcall = %s WHERE id = %s",
                               [nextcall, cron_id])
                cr.commit()  # pylint: disable=invalid-commit
        self.addCleanup(restore)

    def notify_crons(self):
        with self.registry.cursor() as cr:
            cr.execute("SELECT pg_notify('cron_trigger', %s)", [self.db])
            cr.commit()  # pylint: disable=invalid-commit
