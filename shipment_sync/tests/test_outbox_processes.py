"""Separate Odoo processes against committed data: a worker killed mid-call,
and two workers sharing one queue. These tests commit (in real cursors, the
registry is not in test mode in a TransactionCase) and clean up after
themselves."""

import json
import os
import signal
import tempfile
import uuid
from collections import defaultdict

from odoo import SUPERUSER_ID, api
from odoo.tests import TransactionCase, tagged

from shipsync.sandbox import Receiver

from .outbox_common import worker_process

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
    def commit_jobs(self, keys, max_concurrency=4):
        """Commit a partner and one http_call job per sequence key in ``keys``
        (None: no ordering); returns (partner id, [job ids])."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            partner = env["shipment.sync.partner"].create({
                "name": "Process test", "code": f"proc-{uuid.uuid4().hex[:8]}",
                "outbox_base_url": self.receiver.url, "outbox_connect_timeout": 1.0,
                "outbox_read_timeout": 5.0, "outbox_max_concurrency": max_concurrency,
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
        _partner_id, ids = self.commit_jobs([None] * 5)
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
        jobs, _attempts = self.read_jobs(ids)
        self.assertEqual([j["state"] for j in jobs],
                         ["done", "running", "running", "running", "running"])
        # Start again, later than the dead worker's leases.
        self.receiver.configure(latency_ms=0)
        self.finish(worker_process(self.db, batch=5, offset=120))
        jobs, attempts = self.read_jobs(ids)
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
