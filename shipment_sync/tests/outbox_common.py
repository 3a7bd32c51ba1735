"""Shared setup of the outbox tests: a sandbox receiver on loopback, a partner
pointing at it, pickings, and helpers to run the worker at an explicit time."""

import json
import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from unittest.mock import patch

from odoo.tests import TransactionCase
from odoo.tools import SQL, config

from shipsync.sandbox import Receiver

from .loopback_common import LoopbackMixin

WHSEC = "whsec_" + "b3V0Ym94LXN1YnNjcmlwdGlvbi1zZWNyZXQtMDEyMzQ1"

#: A worker process for the crash and concurrency tests: loads the registry of
#: the test database, waits for a go file if asked, then works the queue.
#: argv: db, channels (comma), batch, now offset (s), go file or "-", max seconds,
#: calls in flight, idle wait (s)
WORKER_SCRIPT = r"""
import json, os, sys, time
from datetime import timedelta
import odoo
from odoo.tools import config
db, channels, batch, offset, go, budget, in_flight, idle = sys.argv[1:9]
config.parse_config(json.loads(os.environ["OUTBOX_TEST_ODOO_ARGS"]))
from odoo.modules.registry import Registry
from odoo.addons.shipment_sync.models.shipment_sync_job import utcnow
registry = Registry(db)
print("ready", flush=True)
if go != "-":
    while not os.path.exists(go):
        time.sleep(0.01)
with registry.cursor() as cr:
    env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
    now = utcnow() + timedelta(seconds=float(offset)) if float(offset) else None
    stats = env["shipment.sync.job"]._outbox_work(
        channels=tuple(channels.split(",")), batch=int(batch), now=now,
        time_budget=float(budget), idle_wait=float(idle), calls_in_flight=int(in_flight))
print("stats " + json.dumps(stats), flush=True)
"""

#: The real Odoo cron loop (``ThreadedServer.cron_thread``: LISTEN cron_trigger,
#: sleep until notified or a minute passed, run the due crons) on the test database.
CRON_SCRIPT = r"""
import json, os, sys
import odoo
from odoo.tools import config
db = sys.argv[1]
config.parse_config(json.loads(os.environ["OUTBOX_TEST_ODOO_ARGS"]) + ["--database=" + db])
from odoo.modules.registry import Registry
from odoo.service.server import ThreadedServer
Registry(db)
print("ready", flush=True)
ThreadedServer.cron_thread(None, 0)
"""


def odoo_args():
    """Command-line options reaching the test database, for a worker process."""
    args = [f"--addons-path={config['addons_path']}"]
    for opt, key in (("--db_host", "db_host"), ("--db_port", "db_port"),
                     ("--db_user", "db_user"), ("--db_password", "db_password")):
        if config.get(key):
            args.append(f"{opt}={config[key]}")
    return args


def _process_env():
    env = dict(os.environ, OUTBOX_TEST_ODOO_ARGS=json.dumps(odoo_args()))
    repo = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [repo, env.get("PYTHONPATH")]))
    return env


def worker_process(db, channels="high", batch=20, offset=0.0, go=None, budget=60.0,
                   calls_in_flight=1, idle_wait=0.0):
    """Start a separate Odoo process running one worker loop (see WORKER_SCRIPT)."""
    return subprocess.Popen(
        [sys.executable, "-c", WORKER_SCRIPT, db, channels, str(batch), str(offset),
         go or "-", str(budget), str(calls_in_flight), str(idle_wait)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_process_env())


def cron_process(db):
    """Start a separate Odoo process running Odoo's own cron loop (CRON_SCRIPT)."""
    return subprocess.Popen([sys.executable, "-c", CRON_SCRIPT, db], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_process_env())


class OutboxCase(LoopbackMixin, TransactionCase):
    """A receiver on loopback and a partner whose outbound calls go to it.

    ``run_worker`` runs the worker inside the test transaction (the registry is
    in test mode, so the worker's own cursors are savepoints of the test's and
    everything is rolled back at the end), its clock at an explicit time."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.receiver = cls.start_sandbox(Receiver(port=0))
        cls.partner = cls.make_partner("Outbox Carrier")
        cls.product = cls.env["product.product"].create(
            {"name": "Outbox Widget", "is_storable": True})
        cls.customer = cls.env["res.partner"].create({"name": "Outbox Customer"})

    @classmethod
    def make_partner(cls, name, **vals):
        return cls.env["shipment.sync.partner"].create({
            "name": name, "code": f"ob-{uuid.uuid4().hex[:8]}", "kind": "carrier",
            "outbox_base_url": cls.receiver.url, "outbox_connect_timeout": 2.0,
            "outbox_read_timeout": 5.0, "outbox_retry_base": 1.0, "outbox_retry_cap": 10.0,
            "outbox_retry_max_attempts": 5, "outbox_breaker_threshold": 3,
            "outbox_breaker_cooldown": 30, "outbox_max_concurrency": 4, **vals,
        })

    @classmethod
    def make_picking(cls):
        picking_type = cls.env.ref("stock.picking_type_out")
        customers = cls.env.ref("stock.stock_location_customers")
        return cls.env["stock.picking"].create({
            "picking_type_id": picking_type.id, "partner_id": cls.customer.id,
            "location_id": picking_type.default_location_src_id.id,
            "location_dest_id": customers.id,
            "move_ids": [(0, 0, {
                "name": cls.product.name, "product_id": cls.product.id,
                "product_uom_qty": 1.0, "product_uom": cls.product.uom_id.id,
                "location_id": picking_type.default_location_src_id.id,
                "location_dest_id": customers.id,
            })],
        })

    def setUp(self):
        super().setUp()
        self.receiver.reset()
        self.registry.enter_test_mode(self.cr)
        self.addCleanup(self.registry.leave_test_mode)
        self.Job = self.env["shipment.sync.job"]
        self.test_now = None  # the clock of the last run_worker
        # Every enqueue of the test (the tests' own, business code's) happens on the
        # test's clock, see _due_on_the_test_clock.
        job_class = type(self.Job)
        enqueue = job_class._enqueue

        def _enqueue(model, *args, **kwargs):
            job = enqueue(model, *args, **kwargs)
            self._due_on_the_test_clock(job)
            return job

        patcher = patch.object(job_class, "_enqueue", _enqueue)
        patcher.start()
        self.addCleanup(patcher.stop)

    def _due_on_the_test_clock(self, job):
        """A new job is due at once: at its enqueue time (real time), which the
        tests expect to be no later than the worker's clock of their next run
        (``t0 + seconds``, ``t0`` taken in setUp one second ahead of real time).
        On a loaded machine the set-up and the enqueues can take longer than that
        second, and the job would not yet be due on the test's clock: the breaker
        would miss a failure, a job would stay pending. A job enqueued later than
        the test's current clock (the last run's, else ``t0``) is due at that
        clock instead, as it is on an idle machine. A job the outbox itself
        deferred (attempted, or already there) is left alone."""
        clock = max(self.t0, self.test_now or self.t0)
        self.env.flush_all()
        self.env.cr.execute(SQL(
            "UPDATE shipment_sync_job SET next_attempt_at = %s WHERE id IN %s "
            "AND state = 'pending' AND attempts = 0 AND first_attempt_at IS NULL "
            "AND next_attempt_at > %s", clock, tuple(job.ids) or (0,), clock))
        if self.env.cr.rowcount:
            job.invalidate_recordset(["next_attempt_at"])

    # -- helpers -------------------------------------------------------------------
    def enqueue(self, path="/orders", body=None, partner=None, **kw):
        payload = {"url": path, "json": body if body is not None else {"n": uuid.uuid4().hex}}
        return self.Job._enqueue(partner or self.partner, "http_call", payload, **kw)

    def run_worker(self, seconds=0.0, channels=("high",), batch=20, **kw):
        """Run the worker with its clock at ``t0 + seconds`` (after flushing: the
        worker's cursor has its own cache, like another transaction). One call
        in flight unless told otherwise: the step-by-step tests count calls."""
        kw.setdefault("calls_in_flight", 1)
        self.env.flush_all()
        self.test_now = self.t0 + timedelta(seconds=seconds)
        stats = self.Job._outbox_work(channels=channels, batch=batch, now=self.test_now, **kw)
        self.env.invalidate_all()
        return stats

    def calls_for(self, job):
        return [c for c in self.receiver.calls if c["idempotency_key"] == job.idempotency_key]
