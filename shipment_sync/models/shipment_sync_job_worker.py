"""The outbox worker: claims due jobs, calls partners outside any
transaction and commits each outcome (the model is in shipment_sync_job.py)."""

import contextlib
import dataclasses
import json
import logging
import math
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from datetime import timedelta

from odoo import _, api, models
from odoo.tools import SQL

from shipsync import outbox, transport

from .shipment_sync_job import (
    BATCH,
    CALLS_IN_FLIGHT,
    CHANNELS,
    CRON_XMLIDS,
    IDLE_WAIT,
    RECLAIM_BATCH,
    WORK_SECONDS,
    new_worker_id,
    utcnow,
)

_logger = logging.getLogger(__name__)


class ShipmentSyncJob(models.Model):
    _inherit = "shipment.sync.job"

    # ------------------------------------------------------------------
    # the worker
    # ------------------------------------------------------------------
    def _outbox_transaction(self):
        """A new cursor of the worker's own (never the caller's)."""
        cr = self.env.registry.cursor()
        self._outbox_begin(cr)
        return cr

    def _outbox_begin(self, cr):
        """The worker's transactions are short, lock rows explicitly and run READ
        COMMITTED, so that each statement sees what other workers committed (a
        SKIP LOCKED queue needs that: under REPEATABLE READ, locking a row that
        another worker updated since our snapshot fails).

        They commit with ``synchronous_commit`` off: what a PostgreSQL crash
        (not an Odoo one) could lose is the last claims and outcomes, i.e. a
        call made again with the same idempotency key, which the outbox must
        survive anyway (a worker can die mid-call). Business transactions,
        enqueues included, keep the server's setting."""
        if not self.env.registry.in_test_mode():
            cr.execute(SQL("SET TRANSACTION ISOLATION LEVEL READ COMMITTED; "
                           "SET LOCAL synchronous_commit TO OFF"))

    def _outbox_commit(self, cr):
        # The worker owns this cursor (a cron's): each call's outcome is committed
        # on its own so a crash loses at most the call in flight, never a batch.
        cr.commit()  # pylint: disable=invalid-commit
        self._outbox_begin(cr)

    def _outbox_rollback(self, cr):
        cr.rollback()
        self._outbox_begin(cr)

    @api.model
    def _outbox_work(self, channels=("high",), batch=BATCH, now=None, time_budget=WORK_SECONDS,
                     max_batches=None, worker_id=None, idle_wait=None, calls_in_flight=None):
        """Work the queue of ``channels`` until nothing is claimable or the time
        budget is spent: reclaim expired leases, claim what the free call slots
        allow, COMMIT the claim, call outside any transaction (up to
        ``calls_in_flight`` calls at once, in a thread pool sharing one pooled
        HTTP session), and record each outcome in its own transaction as soon as
        it comes back; freed slots are refilled by the next claim.

        The loop owns its cursor (never the caller's) and is the only user of
        it: the call threads never touch the database. A claim is committed
        before its calls so that other workers see it, each outcome is committed
        right after its call, and the leases of the calls in flight are renewed
        every ``HEARTBEAT_SECONDS``: a crash loses at most the calls in flight,
        which their short leases bring back within seconds. ``now`` (naive UTC)
        fixes the clock, for tests; the run then never waits for a retry."""
        worker = worker_id or new_worker_id()
        clock = (lambda: now) if now else utcnow
        if idle_wait is None:
            idle_wait = 0.0 if now else IDLE_WAIT
        size = max(1, int(calls_in_flight or self._outbox_calls_in_flight()))
        deadline = time.monotonic() + time_budget
        stats = {"worker": worker, "batches": 0, "calls": 0, "released": 0, "reclaimed": 0,
                 "stopped": "idle", "peak_in_flight": 0}
        session = transport.new_session(pool_size=max(size, 8))

        def http(req):
            return transport.send(session, req)

        pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="outbox-call")
        flying = {}  # future -> (Prepared, started)
        wake = None
        cr = self._outbox_transaction()
        try:
            Job = self.env(cr=cr, su=True)[self._name]
            fanned_out = stopping = False
            beat = reclaimed_at = time.monotonic()
            reclaimed_at -= outbox.HEARTBEAT_SECONDS
            while True:
                if not stopping and time.monotonic() >= deadline:
                    stats["stopped"], stopping = "budget", True
                if not stopping and max_batches is not None and \
                        stats["batches"] >= max_batches:
                    stats["stopped"], stopping = "max_batches", True
                free = size - len(flying)
                # Claim when a quarter of the slots (at least one) is free, or
                # nothing flies: fewer claim rounds under load, no idle slot long.
                if not stopping and free and (not flying or free >= max(1, size // 4)):
                    if not flying or \
                            time.monotonic() - reclaimed_at >= outbox.HEARTBEAT_SECONDS:
                        stats["reclaimed"] += Job._outbox_reclaim(clock())
                        reclaimed_at = time.monotonic()
                    claimed, wait = Job._outbox_claim(worker, channels, min(batch, free),
                                                      clock())
                    if claimed:
                        stats["batches"] += 1
                        if len(claimed) >= min(batch, size) and not fanned_out:
                            # A full claim, likely more work: wake the siblings too.
                            Job._outbox_trigger(channels, siblings=True)
                            fanned_out = True
                        self._outbox_commit(cr)  # the claim (and its lease) is ours
                        prepared = Job.browse(claimed)._outbox_prepare(http)
                        self._outbox_commit(cr)  # end the read transaction
                        for call in prepared:
                            flying[pool.submit(_timed, call.thunk)] = (call, clock())
                        stats["peak_in_flight"] = max(stats["peak_in_flight"], len(flying))
                    elif not flying:
                        nxt = Job._outbox_next_due(channels, clock(), wait)
                        self._outbox_commit(cr)  # reclaimed leases, probe bookkeeping
                        if nxt is not None and nxt <= idle_wait and \
                                time.monotonic() + nxt < deadline:
                            # Short naps: another worker may free a slot or end
                            # a pause before then.
                            time.sleep(min(max(nxt, 0.05), 0.5))
                            continue
                        wake = nxt
                        break
                if not flying:
                    if stopping:
                        break
                    continue
                timeout = max(0.0, beat + outbox.HEARTBEAT_SECONDS - time.monotonic())
                done, _pending = futures_wait(list(flying), timeout=timeout,
                                              return_when=FIRST_COMPLETED)
                freed = set()
                for future in done:
                    call, started = flying.pop(future)
                    stats["calls"] += 1
                    freed.add(call.partner_id)
                    self._outbox_record_safely(cr, worker, call, future.result(), started,
                                               clock)
                if flying and time.monotonic() - beat >= outbox.HEARTBEAT_SECONDS:
                    Job._outbox_heartbeat(worker, [c.job_id for c, _s in flying.values()],
                                          clock())
                    self._outbox_commit(cr)
                    beat = time.monotonic()
                if freed and not flying:
                    Job._outbox_wake_other_channel(channels, freed, clock())
                    self._outbox_commit(cr)
            if stats["stopped"] != "idle" or wake is None:
                # Stopped with work left (the cron reschedules itself at once),
                # or nothing pending: the sweep and the enqueue triggers suffice.
                wake = Job._outbox_next_due(channels, clock(), None) if wake is None \
                    else wake
            if wake is not None and not now:
                Job._outbox_wake_at(channels, clock() + timedelta(seconds=wake))
                self._outbox_commit(cr)
        finally:
            pool.shutdown(wait=True)
            session.close()
            cr.close()
        return stats

    @api.model
    def _outbox_calls_in_flight(self):
        """Calls one worker keeps in flight at once (system parameter
        ``shipment_sync.outbox_calls_in_flight``, default CALLS_IN_FLIGHT); each
        partner's max concurrency still bounds its own calls, all workers
        together."""
        value = self.env["ir.config_parameter"].sudo().get_param(
            "shipment_sync.outbox_calls_in_flight")
        try:
            return max(1, min(int(value), 256)) if value else CALLS_IN_FLIGHT
        except ValueError:
            return CALLS_IN_FLIGHT

    def _outbox_record_safely(self, cr, worker, call, outcome, started, clock):
        Job = self.env(cr=cr, su=True)[self._name]
        try:
            Job._outbox_record(worker, call, outcome, started, clock(), [])
            self._outbox_commit(cr)  # the outcome is durable at once
        except Exception:
            self._outbox_rollback(cr)
            _logger.exception("outbox: could not record the outcome of job %s; its lease "
                              "will expire and it will be retried", call.job_id)

    def _outbox_heartbeat(self, worker, job_ids, now):
        """Renew the leases of this worker's calls in flight."""
        if not job_ids:
            return 0
        self.env.cr.execute(SQL(
            "UPDATE shipment_sync_job SET lease_until = %s WHERE id IN %s "
            "AND worker_id = %s AND state = 'running'",
            now + timedelta(seconds=outbox.LEASE_SECONDS), tuple(job_ids), worker))
        return self.env.cr.rowcount

    def _outbox_reclaim(self, now):
        """Jobs whose worker never reported back before its lease expired (killed
        mid-call, host lost) become pending again, same idempotency key."""
        cr = self.env.cr
        cr.execute(SQL(
            "SELECT id FROM shipment_sync_job WHERE state = 'running' AND lease_until < %s "
            "ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED", now, RECLAIM_BATCH))
        jobs = self.browse([r[0] for r in cr.fetchall()])
        for job in jobs:
            policy = job.partner_id._outbox_policy()
            settlement = outbox.lease_expired(policy, job.attempts, job.worker_id)
            started = job.lease_until - timedelta(seconds=policy.lease_seconds)
            job._outbox_settle(settlement, None, now, started, None, job.attempts)
            job._outbox_after(settlement, None, job.operation)
        if jobs:
            _logger.warning("outbox: reclaimed %s job(s) whose lease expired", len(jobs))
        return len(jobs)

    def _outbox_claim(self, worker, channels, limit, now):
        """Claim up to ``limit`` ready jobs of ``channels``; returns their ids and
        the shortest wait (seconds) reported by a partner that had ready jobs but
        could not take any now (rate limit, breaker)."""
        cr = self.env.cr
        channels = tuple(channels)
        self.env.flush_all()  # e.g. leases just reclaimed through the ORM
        cr.execute(SQL(
            "SELECT j.partner_id FROM shipment_sync_job j "
            "JOIN shipment_sync_partner p ON p.id = j.partner_id AND p.active "
            "WHERE j.state = 'pending' AND j.channel IN %s AND j.next_attempt_at <= %s "
            "GROUP BY j.partner_id ORDER BY min(j.id)", channels, now))
        partner_ids = [r[0] for r in cr.fetchall()]
        claimed, waits = [], []
        now_ts = outbox.epoch(now)
        main_channel = "high" if "high" in channels else "low"
        for partner in self.env["shipment.sync.partner"].browse(partner_ids):
            want = limit - len(claimed)
            if want <= 0:
                break
            stored, paused_until, _reason = partner._outbox_lock_state()
            policy = partner._outbox_policy()
            if paused_until and paused_until > now_ts:
                # Paused partner-wide (a 429/503 Retry-After): nothing else to ask.
                waits.append(paused_until - now_ts)
                continue
            # The partner's calls in flight, all workers (ours included).
            cr.execute(SQL(
                "SELECT count(*) FROM shipment_sync_job WHERE partner_id = %s "
                "AND state = 'running' AND lease_until >= %s", partner.id, now))
            busy = cr.fetchone()[0]
            recent = []
            if policy.rate_limit_per_minute > 0:
                window = 60.0 if policy.rate_limit_per_minute >= 1 else \
                    60.0 / policy.rate_limit_per_minute
                # Every attempt counts, whatever came back: a handler that
                # returns a value, a timeout or a network error spent a call too.
                cr.execute(SQL(
                    "SELECT started_at FROM shipment_sync_job_attempt WHERE partner_id = %s "
                    "AND started_at > %s",
                    partner.id, now - timedelta(seconds=window)))
                recent = [outbox.epoch(r[0]) for r in cr.fetchall()]
            high_ready = False
            if main_channel == "low":
                cr.execute(SQL(
                    "SELECT 1 FROM shipment_sync_job WHERE partner_id = %s AND state = "
                    "'pending' AND channel = 'high' AND next_attempt_at <= %s LIMIT 1",
                    partner.id, now))
                high_ready = bool(cr.fetchone())
            plan = outbox.plan_claim(
                policy, stored, channel=main_channel, want=want, busy=busy,
                high_ready=high_ready, recent_calls=recent, now_ts=now_ts,
                paused_until=paused_until)
            if not plan.limit:
                if plan.wait is not None:
                    waits.append(plan.wait)
                continue
            ids = self._outbox_claimable(partner, policy, channels, now, plan.limit)
            if not ids:
                continue
            if plan.breaker != stored:  # a probe starts only if a job was claimed
                partner._outbox_store_breaker(plan.breaker)
            cr.execute(SQL(
                "UPDATE shipment_sync_job SET state = 'running', worker_id = %s, "
                "lease_until = %s, attempts = attempts + 1, write_date = %s WHERE id IN %s",
                worker, now + timedelta(seconds=policy.lease_seconds), now, tuple(ids)))
            claimed += ids
        return claimed, (min(waits) if waits else None)

    def _outbox_claimable(self, partner, policy, channels, now, limit):
        """Ready jobs of one partner in enqueue order, skipping the ones another
        worker is claiming and the ones an earlier job of their sequence key holds
        back (see ``shipsync.outbox.blocks``)."""
        if policy.blocking:
            held = SQL("e.state IN ('pending', 'dead')")
        else:
            held = SQL("e.state = 'pending' AND e.attempts = 0")
        self.env.cr.execute(SQL(
            "SELECT j.id FROM shipment_sync_job j "
            "WHERE j.partner_id = %s AND j.state = 'pending' AND j.channel IN %s "
            "AND j.next_attempt_at <= %s AND (j.sequence_key IS NULL OR NOT EXISTS ("
            "  SELECT 1 FROM shipment_sync_job e WHERE e.sequence_key = j.sequence_key "
            "  AND e.id <> j.id AND e.state IN ('pending', 'running', 'dead') "
            "  AND (e.state = 'running' OR (e.id < j.id AND %s)))) "
            "ORDER BY CASE j.channel WHEN 'high' THEN 0 ELSE 1 END, j.id "
            "LIMIT %s FOR UPDATE OF j SKIP LOCKED",
            partner.id, tuple(channels), now, held, limit))
        return [r[0] for r in self.env.cr.fetchall()]

    def _outbox_prepare(self, http):
        """Turn the claimed jobs into calls: plain values and a callable each,
        built by the operation's handler in this (read) transaction."""
        handlers = self._outbox_handlers()
        prepared = []
        for job in self:
            partner = job.partner_id
            policy = partner._outbox_policy()
            handler = handlers.get(job.operation)
            # A handler that queries the database runs in a savepoint, so that
            # its failure does not abort the other jobs' preparation.
            guard = self.env.cr.savepoint() if (handler or {}).get("savepoint", True) \
                else contextlib.nullcontext()
            try:
                with guard:
                    if not handler:
                        raise ValueError(f"no outbox handler for operation {job.operation!r}")
                    ctx = outbox.CallContext(
                        job_id=job.id, operation=job.operation, payload=job._outbox_payload(),
                        idempotency_key=job.idempotency_key, policy=policy,
                        attempt=job.attempts, base_url=partner.outbox_base_url or "",
                        headers=partner._outbox_headers(),
                        http=_keyed(http, job.idempotency_key))
                    model = self.env[handler.get("model") or self._name]
                    value = getattr(model, handler["prepare"])(job, ctx)
                thunk = _thunk(value, _keyed(http, job.idempotency_key))
            except Exception as exc:  # noqa: BLE001 - a bad job must not stop the batch
                thunk = _raiser(exc)
            prepared.append(Prepared(job.id, partner.id, job.attempts, policy, thunk,
                                     job.operation))
        return prepared

    def _outbox_record(self, worker, call, outcome, started, now, pending_ids):
        """Record one outcome: job state and attempt log, breaker; renew the lease
        of ``pending_ids`` (the batch's jobs still waiting). Returns the partner's
        breaker state. Plain SQL on this hot path (four statements per call); the
        ORM only runs for the hooks of a finished job."""
        partner = self.env["shipment.sync.partner"].browse(call.partner_id)
        stored, paused_until, pause_reason = partner._outbox_lock_state()
        policy = call.policy
        now_ts = outbox.epoch(now)
        settlement = outbox.settle(policy, call.attempt, outcome, now)
        breaker = outbox.breaker_report(policy.breaker, stored, settlement.breaker_signal,
                                        now_ts)
        if breaker != stored:
            partner._outbox_store_breaker(breaker)
        until, reason = outbox.merge_pause(paused_until, pause_reason,
                                           outbox.partner_pause(outcome, now_ts))
        if until != paused_until:
            partner._outbox_store_pause(until, reason)
            _logger.info("outbox: %s paused until %s (%s)", partner.name,
                         outbox.from_epoch(until), reason)
        job = self.browse(call.job_id)
        ours = job._outbox_settle(settlement, outcome, now, started, worker, call.attempt)
        if ours:
            job._outbox_after(settlement, outcome, call.operation)
        else:
            _logger.warning("outbox: job %s was reclaimed from worker %s (lease expired) "
                            "before its outcome came back", job.id, worker)
        if pending_ids:
            self.env.cr.execute(SQL(
                "UPDATE shipment_sync_job SET lease_until = %s WHERE id IN %s "
                "AND worker_id = %s AND state = 'running'",
                now + timedelta(seconds=policy.lease_seconds), tuple(pending_ids), worker))
        return breaker

    def _outbox_settle(self, settlement, outcome, now, started, worker, number):
        """Write a settlement on this job (while ``worker`` still holds it, or
        unconditionally when ``worker`` is None) and log the attempt, in one
        statement. Returns whether the job was written."""
        self.ensure_one()
        outcome = outcome or outbox.Outcome()
        result = outcome.result() if settlement.state == "done" else None
        guard = SQL(" AND worker_id = %s AND state = 'running'", worker) if worker else SQL()
        kind = {"done": "done", "pending": "retry", "dead": "dead",
                "cancelled": "cancelled"}[settlement.state]
        error = "" if settlement.state == "done" else (outcome.error or settlement.reason)
        stamp = utcnow()
        self.env.cr.execute(SQL(
            "WITH upd AS (UPDATE shipment_sync_job SET state = %(state)s, lease_until = NULL, "
            " worker_id = NULL, last_error_class = %(cls)s, last_error = %(reason)s, "
            " last_status = %(status)s, first_attempt_at = COALESCE(first_attempt_at, "
            " %(started)s), next_attempt_at = CASE WHEN %(state)s = 'pending' THEN %(next)s "
            " ELSE next_attempt_at END, done_at = CASE WHEN %(state)s = 'done' THEN %(now)s "
            " ELSE done_at END, dead_at = CASE WHEN %(state)s = 'dead' THEN %(now)s "
            " ELSE dead_at END, result = CASE WHEN %(state)s = 'done' THEN %(result)s "
            " ELSE result END, write_date = %(now)s WHERE id = %(id)s%(guard)s RETURNING id) "
            "INSERT INTO shipment_sync_job_attempt (job_id, partner_id, company_id, number, "
            " started_at, duration_ms, http_status, error_class, error, response_excerpt, "
            " outcome, worker_id, create_uid, create_date, write_uid, write_date) "
            "SELECT j.id, j.partner_id, j.company_id, %(number)s, %(started)s, %(ms)s, "
            " %(status)s, %(cls)s, %(error)s, %(excerpt)s, "
            " CASE WHEN EXISTS (SELECT 1 FROM upd) THEN %(kind)s ELSE 'stale' END, "
            " %(worker)s, %(uid)s, %(stamp)s, %(uid)s, %(stamp)s "
            "FROM shipment_sync_job j WHERE j.id = %(id)s "
            "RETURNING (SELECT count(*) FROM upd)",
            state=settlement.state, cls=settlement.error_class or outcome.error_class,
            reason=None if settlement.state == "done" else settlement.reason,
            status=outcome.status or 0, started=started, next=settlement.next_attempt_at or now,
            now=now, result=json.dumps(result) if result is not None else None, id=self.id,
            guard=guard, number=number, ms=outcome.elapsed_ms or 0, error=error[:250] or None,
            excerpt=outcome.excerpt() or None, kind=kind, worker=worker or self.worker_id,
            uid=self.env.uid, stamp=stamp))
        row = self.env.cr.fetchone()
        self.invalidate_recordset()
        return bool(row and row[0])

    def _outbox_after(self, settlement, outcome, operation):
        """Hooks of a finished job: the handler's ``done`` / ``dead``, and the
        ``sync_failed`` exception on the picking of a dead job."""
        self.ensure_one()
        if settlement.state not in ("done", "dead"):
            return
        handler = self._outbox_handlers().get(operation) or {}
        if settlement.state == "done" and not handler.get("done"):
            return
        if handler.get(settlement.state):
            self._outbox_hook(handler, settlement.state, outcome or outbox.Outcome(
                error_class=settlement.error_class, error=settlement.reason))
        if settlement.state == "dead" and self.picking_id and \
                handler.get("raise_exception", True):
            self._outbox_hook(None, "exception", settlement)

    def _outbox_hook(self, handler, hook, value):
        try:
            with self.env.cr.savepoint():
                if hook == "exception":
                    self.picking_id._shipment_internal_event(
                        exception_reason="sync_failed",
                        message=_("%(partner)s: %(operation)s failed: %(reason)s",
                                  partner=self.partner_id.name, operation=self.operation,
                                  reason=value.reason)[:250])
                else:
                    model = self.env[handler.get("model") or self._name]
                    getattr(model, handler[hook])(self, value)
        except Exception:
            _logger.exception("outbox: %s hook of job %s failed", hook, self.id)

    def _outbox_release(self, worker, ids):
        """Give claimed jobs back untried: the attempt they were counted is undone."""
        self.env.cr.execute(SQL(
            "UPDATE shipment_sync_job SET state = 'pending', worker_id = NULL, "
            "lease_until = NULL, attempts = GREATEST(attempts - 1, 0) "
            "WHERE id IN %s AND worker_id = %s AND state = 'running'", tuple(ids), worker))
        return self.env.cr.rowcount

    def _outbox_next_due(self, channels, now, wait):
        """Seconds until work of ``channels`` may be due: a pending job's next
        attempt, a partner's wait (pause, breaker half-open, rate-limit slot) or
        a running job's lease running out (its worker may be dead); None when
        there is nothing pending or running."""
        self.env.cr.execute(SQL(
            "SELECT (SELECT min(next_attempt_at) FROM shipment_sync_job WHERE state = "
            "'pending' AND channel IN %s AND next_attempt_at > %s), "
            "(SELECT min(lease_until) FROM shipment_sync_job WHERE state = 'running' "
            "AND channel IN %s)", tuple(channels), now, tuple(channels)))
        due, lease = self.env.cr.fetchone()
        now_ts = outbox.epoch(now)
        wake = outbox.next_wake(now_ts, [
            None if wait is None else now_ts + wait,
            outbox.epoch(due) if due else None,
            # Reclaimed just after the lease: a microsecond is enough, the claim
            # compares with "<".
            outbox.epoch(lease) + 0.001 if lease else None,
        ])
        return None if wake is None else wake - now_ts

    def _outbox_wake_at(self, channels, when):
        """Run the first worker of ``channels`` at ``when`` (naive UTC): an
        ``ir.cron`` trigger at that date, which any server honours, and, since
        cron threads only look at their triggers when notified or once a
        minute, a notification sent at that moment by this process (best
        effort: if the process is gone, the sweep picks the trigger up)."""
        # A trigger's date is stored to the second (rounded down): the run it
        # starts may come a little early and then waits in-process (IDLE_WAIT).
        crons = self.env["ir.cron"].sudo()
        for channel in channels:
            cron = self.env.ref(CRON_XMLIDS[channel][0], raise_if_not_found=False)
            if not cron:
                continue
            self.env.cr.execute(SQL(
                "SELECT 1 FROM ir_cron_trigger WHERE cron_id = %s AND call_at >= %s "
                "AND call_at <= %s LIMIT 1", cron.id, utcnow() - timedelta(seconds=1), when))
            if not self.env.cr.fetchone():
                crons.browse(cron.id)._trigger(at=when)
        if not self.env.registry.in_test_mode():
            dbname = self.env.cr.dbname
            self.env.cr.postcommit.add(lambda: _notify_at(dbname, outbox.epoch(when)))

    def _outbox_wake_other_channel(self, channels, partner_ids, now):
        """After a batch frees its partners' slots, wake the other channel's workers
        if those partners have ready jobs there (a low worker declined a slot for
        high jobs, or the reverse)."""
        others = tuple(c for c, _label in CHANNELS if c not in channels)
        if not others or not partner_ids:
            return
        self.env.cr.execute(SQL(
            "SELECT DISTINCT channel FROM shipment_sync_job WHERE state = 'pending' "
            "AND channel IN %s AND partner_id IN %s AND next_attempt_at <= %s",
            others, tuple(partner_ids), now))
        ready = tuple(r[0] for r in self.env.cr.fetchall())
        if ready:
            self._outbox_trigger(ready)


_WAKE_LOCK = threading.Lock()
_WAKES = {}  # (dbname, epoch second) -> threading.Timer


def _notify_at(dbname, at_ts):
    """Send ``NOTIFY cron_trigger`` for ``dbname`` at ``at_ts`` (epoch seconds)
    from a daemon timer of this process: the cron threads and cron workers of
    every server wake up and run the crons whose trigger is due."""
    key = (dbname, int(math.ceil(at_ts)))
    with _WAKE_LOCK:
        for old in [k for k, t in _WAKES.items() if not t.is_alive()]:
            del _WAKES[old]
        if key in _WAKES or len(_WAKES) > 1000:
            return
        timer = threading.Timer(max(0.0, at_ts - time.time()), _notify_now, (dbname,))
        timer.daemon = True
        _WAKES[key] = timer
        timer.start()


def _notify_now(dbname):
    from odoo.sql_db import db_connect

    from odoo.addons.base.models.ir_cron import ODOO_NOTIFY_FUNCTION

    try:
        with db_connect("postgres").cursor() as cr:
            cr.execute(SQL("SELECT %s('cron_trigger', %s)",
                           SQL.identifier(ODOO_NOTIFY_FUNCTION), dbname))
    except Exception:  # noqa: BLE001 - best effort, the sweep is the fallback
        _logger.warning("outbox: could not notify the cron workers", exc_info=True)


class Prepared:
    """One claimed job ready to be called (plain values only)."""

    __slots__ = ("attempt", "job_id", "operation", "partner_id", "policy", "thunk")

    def __init__(self, job_id, partner_id, attempt, policy, thunk, operation):
        self.job_id, self.partner_id, self.attempt = job_id, partner_id, attempt
        self.policy, self.thunk, self.operation = policy, thunk, operation


def _timed(thunk):
    """Run a prepared call in a pool thread: an outcome with its duration."""
    tick = time.monotonic()
    outcome = outbox.run_call(thunk)
    if not outcome.elapsed_ms:
        outcome = dataclasses.replace(outcome, elapsed_ms=int((time.monotonic() - tick) * 1000))
    return outcome


def _keyed(http, key):
    """``http`` that sends the job's Idempotency-Key on every request it makes,
    whatever the handler or adapter built."""
    def send(req):
        if not req.idempotency_key:
            req = dataclasses.replace(req, idempotency_key=key)
        return http(req)
    return send


def _thunk(value, http):
    if isinstance(value, transport.HttpRequest):
        return lambda: http(value)
    if callable(value):
        return value
    return lambda: outbox.as_outcome(value)


def _raiser(exc):
    def _raise():
        raise exc
    return _raise
