"""The outbox worker: claims due jobs, calls partners outside any
transaction and commits each outcome (an AbstractModel composed by the model
in shipment_sync_job.py)."""

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

from psycopg2.extensions import ISOLATION_LEVEL_READ_COMMITTED

from odoo import _, api, models
from odoo.tools import SQL, config

from shipsync import outbox, pii, tracing, transport

from .shipment_sync_job import (
    BATCH,
    CALLS_IN_FLIGHT,
    CHANNELS,
    CLAIM_PARTNERS,
    CRON_XMLIDS,
    IDLE_WAIT,
    RECLAIM_BATCH,
    SKIPPED_WAIT,
    WORK_SECONDS,
    new_worker_id,
    utcnow,
)

_logger = logging.getLogger(__name__)


class ShipmentSyncJobWorker(models.AbstractModel):
    """The outbox worker, composed by ``shipment.sync.job`` (its methods run on
    jobs)."""

    _name = "shipment.sync.job.worker"
    _description = "Shipment Sync outbox worker"

    # ------------------------------------------------------------------
    # the worker
    # ------------------------------------------------------------------
    def _register_hook(self):
        """A server (re)starting with outbox work left (after a crash: jobs
        pending, or running under a dead worker's lease) wakes its cron workers
        at once. Odoo's cron workers sleep up to a minute before their first
        look at the crons unless notified, and they only listen once forked,
        after this hook ran: the notification is sent a few times during the
        first seconds (best effort; the sweep remains the fallback)."""
        res = super()._register_hook()
        if self._abstract or config.get("stop_after_init") or self.env.registry.in_test_mode():
            return res  # once, for the jobs (not for this mixin itself)
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(SQL(
                    "SELECT 1 FROM shipment_sync_job WHERE state IN ('pending', 'running') "
                    "LIMIT 1"))
                pending = bool(self.env.cr.fetchone())
        except Exception:  # noqa: BLE001 - e.g. the table is not there yet
            return res
        if pending:
            now = time.time()
            for delay in BOOT_WAKES:
                _notify_at(self.env.cr.dbname, now + delay)
        return res

    def _outbox_transaction(self):
        """A new cursor of the worker's own (never the caller's).

        The worker's transactions are short, lock rows explicitly and run READ
        COMMITTED, so that each statement sees what other workers committed (a
        SKIP LOCKED queue needs that: under REPEATABLE READ, locking a row that
        another worker updated since our snapshot fails).

        They commit with ``synchronous_commit`` off: what a PostgreSQL crash
        (not an Odoo one) could lose is the last claims and outcomes, i.e. a
        call made again with the same idempotency key, which the outbox must
        survive anyway (a worker can die mid-call). Business transactions,
        enqueues included, keep the server's setting: both are set for this
        cursor's connection only, once (no statement per transaction), and
        undone by :meth:`_outbox_close` before the connection goes back to the
        pool."""
        cr = self.env.registry.cursor()
        if not self.env.registry.in_test_mode():
            cr.connection.set_isolation_level(ISOLATION_LEVEL_READ_COMMITTED)
            cr.execute(SQL("SET SESSION synchronous_commit TO OFF"))
            cr.commit()  # pylint: disable=invalid-commit
        return cr

    def _outbox_close(self, cr):
        try:
            if not self.env.registry.in_test_mode() and not cr.closed:
                cr.rollback()
                cr.execute(SQL("RESET synchronous_commit"))
                cr.commit()  # pylint: disable=invalid-commit
        finally:
            cr.close()

    def _outbox_commit(self, cr):
        # The worker owns this cursor (a cron's): outcomes are committed as soon
        # as they come back, so a crash loses at most the calls in flight.
        cr.commit()  # pylint: disable=invalid-commit

    def _outbox_rollback(self, cr):
        cr.rollback()

    @api.model
    def _outbox_work(self, channels=("high",), batch=BATCH, now=None, time_budget=WORK_SECONDS,
                     max_batches=None, worker_id=None, idle_wait=None, calls_in_flight=None):
        """Work the queue of ``channels`` until nothing is claimable or the time
        budget is spent: reclaim expired leases, claim what the free call slots
        allow, COMMIT the claim, check the partners' pauses once more, call
        outside any transaction (up to ``calls_in_flight`` calls at once, in a
        thread pool sharing one pooled HTTP session), and record the outcomes
        as they come back; freed slots are refilled by the next claim.

        The loop owns its cursor (never the caller's) and is the only user of
        it: the call threads never touch the database. A claim is committed
        before its calls so that other workers see it; the outcomes that came
        back together are recorded in one go and committed with the next claim
        (one transaction, a few statements for the whole batch), at once when
        there is none; the leases of the calls in flight are renewed every
        ``HEARTBEAT_SECONDS``: a crash loses at most the calls in flight, which
        their short leases bring back within seconds. A call whose partner was
        paused after its claim (a 429/503 Retry-After another call got) is not
        sent: it goes back to the queue untried (see ``outbox.PauseGate``).
        ``now`` (naive UTC) fixes the clock, for tests; the run then never waits
        for a retry."""
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
        gate = outbox.PauseGate()
        flying = {}  # future -> (Prepared, started)
        partners = {}  # partner id -> (write date, snapshot), see _outbox_claim
        wake = None
        cr = self._outbox_transaction()
        try:
            Job = self.env(cr=cr, su=True)[self._name]
            fanned_out = stopping = False
            beat = reclaimed_at = time.monotonic()
            reclaimed_at -= outbox.HEARTBEAT_SECONDS
            dirty = False  # bookkeeping (heartbeat, wake-up) to commit
            claim_after = 0.0  # no claim before (monotonic): after a failed one
            while True:
                if not stopping and time.monotonic() >= deadline:
                    stats["stopped"], stopping = "budget", True
                if not stopping and max_batches is not None and \
                        stats["batches"] >= max_batches:
                    stats["stopped"], stopping = "max_batches", True
                free = size - len(flying)
                # Claim when a quarter of the slots (at least one) is free, or
                # nothing flies: fewer claim rounds under load, no idle slot long.
                if not stopping and free and (not flying or free >= max(1, size // 4)) \
                        and time.monotonic() >= claim_after:
                    try:
                        if not flying or \
                                time.monotonic() - reclaimed_at >= outbox.HEARTBEAT_SECONDS:
                            reclaimed = Job._outbox_reclaim(clock())
                            if reclaimed:
                                # Its own transaction: the reclaimed job rows are
                                # locked before any partner row (never after).
                                self._outbox_commit(cr)
                            stats["reclaimed"] += reclaimed
                            reclaimed_at = time.monotonic()
                        claimed, wait = Job._outbox_claim(worker, channels, min(batch, free),
                                                          clock(), partners)
                        if len(claimed) >= min(batch, size) and not fanned_out:
                            # A full claim, likely more work: wake the siblings too.
                            Job._outbox_trigger(channels, siblings=True)
                            fanned_out = True
                        self._outbox_commit(cr)  # the claim (and its lease) is ours
                    except Exception:
                        self._outbox_rollback(cr)
                        if not flying:
                            raise
                        # The calls in flight still get their outcomes recorded;
                        # the next claim is tried a little later.
                        _logger.warning("outbox: claim failed, retried shortly", exc_info=True)
                        claimed, wait, claim_after = [], None, time.monotonic() + 0.5
                    dirty = False
                    if claimed:
                        stats["batches"] += 1
                        prepared, held = Job.browse(claimed)._outbox_launch(
                            worker, http, gate, clock(), partners)
                        if held:
                            stats["released"] += held
                            self._outbox_commit(cr)
                        # Otherwise the read transaction stays open for the next
                        # outcomes (READ COMMITTED: no snapshot is held meanwhile).
                        for call in prepared:
                            flying[pool.submit(_timed, call, gate, clock)] = (call, clock())
                        stats["peak_in_flight"] = max(stats["peak_in_flight"], len(flying))
                    elif not flying:
                        nxt = Job._outbox_next_due(channels, clock(), wait)
                        self._outbox_commit(cr)  # reclaimed leases, probe bookkeeping
                        # Ready work another worker held at the claim: try again
                        # in a moment, whatever the idle wait.
                        held_elsewhere = wait is not None and wait <= SKIPPED_WAIT
                        if nxt is not None and (nxt <= idle_wait or held_elsewhere) and \
                                time.monotonic() + nxt < deadline:
                            # Short naps: another worker may free a slot or end
                            # a pause before then.
                            time.sleep(min(max(nxt, 0.05), 0.5))
                            continue
                        wake = nxt
                        break
                elif dirty:
                    self._outbox_commit(cr)
                    dirty = False
                if not flying:
                    if stopping:
                        break
                    continue
                timeout = max(0.0, beat + outbox.HEARTBEAT_SECONDS - time.monotonic())
                done, _pending = futures_wait(list(flying), timeout=timeout,
                                              return_when=FIRST_COMPLETED)
                freed, results = set(), []
                for future in done:
                    call, started = flying.pop(future)
                    freed.add(call.partner_id)
                    results.append((call, future.result(), started))
                if results:
                    # Every outcome back at this moment, in one transaction of
                    # its own (committed before the next claim: each transaction
                    # locks its partners in one statement, in id order).
                    held = sum(1 for r in results if r[1] is None)
                    stats["calls"] += len(results) - held
                    stats["released"] += held
                    self._outbox_record_safely(cr, worker, results, clock)
                    dirty = False
                if flying and time.monotonic() - beat >= outbox.HEARTBEAT_SECONDS:
                    Job._outbox_heartbeat(worker, [c.job_id for c, _s in flying.values()],
                                          clock())
                    dirty = True
                    beat = time.monotonic()
                if freed and not flying:
                    Job._outbox_wake_other_channel(channels, freed, clock())
                    dirty = True
            if dirty:
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
            self._outbox_close(cr)
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

    def _outbox_record_results(self, worker, results, now):
        """Record ``results``, ``[(Prepared, Outcome or None, started)]`` (None:
        held by the pause gate, never sent: back to the queue untried), in the
        current transaction."""
        held = [call.job_id for call, outcome, _started in results if outcome is None]
        if held:
            self._outbox_release(worker, held)
        self._outbox_record(worker, [r for r in results if r[1] is not None], now)

    def _outbox_record_safely(self, cr, worker, results, clock):
        """Record ``results`` (see :meth:`_outbox_record_results`) and commit, one
        by one when that fails, so that one bad outcome does not lose the others."""
        if not results:
            return
        Job = self.env(cr=cr, su=True)[self._name]
        try:
            Job._outbox_record_results(worker, results, clock())
            self._outbox_commit(cr)
            return
        except Exception:
            self._outbox_rollback(cr)
            if len(results) == 1:
                _logger.exception("outbox: could not record the outcome of job %s; its "
                                  "lease will expire and it will be retried",
                                  results[0][0].job_id)
                return
        for result in results:
            self._outbox_record_safely(cr, worker, [result], clock)

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

    def _outbox_claim(self, worker, channels, limit, now, partners=None):
        """Claim up to ``limit`` ready jobs of ``channels``; returns their ids and
        the shortest wait (seconds) reported by a partner that had ready jobs but
        could not take any now (pause, rate limit, breaker).

        The partners with ready jobs are found and locked in one statement,
        which also counts their calls in flight; a partner another worker holds
        at that moment (claiming or recording) is skipped, not waited for: the
        next claim, a moment later, sees it again; each partner's jobs are then taken in
        one ``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)``.
        ``partners`` (a dict kept by the worker) caches each partner's
        :meth:`_outbox_snapshot` for its write date."""
        cr = self.env.cr
        channels = tuple(channels)
        self.env.flush_all()  # e.g. leases just reclaimed through the ORM
        Partner = self.env["shipment.sync.partner"]
        cr.execute(SQL(
            "SELECT p.id, p.outbox_breaker_data, p.outbox_paused_until, "
            "p.outbox_pause_reason, %s, p.write_date, r.first FROM shipment_sync_partner p "
            "JOIN (SELECT j.partner_id, min(j.id) AS first FROM shipment_sync_job j "
            "  JOIN shipment_sync_partner a ON a.id = j.partner_id AND a.active "
            "  WHERE j.state = 'pending' AND j.channel IN %s AND j.next_attempt_at <= %s "
            "  GROUP BY j.partner_id ORDER BY min(j.id) LIMIT %s) r ON r.partner_id = p.id "
            "ORDER BY p.id FOR NO KEY UPDATE OF p SKIP LOCKED",
            Partner._outbox_busy_sql(now), channels, now, CLAIM_PARTNERS))
        rows = cr.fetchall()
        if not rows:
            return [], self._outbox_skipped_wait(channels, now, ())
        states = Partner._outbox_parse_states([row[:6] for row in rows])
        partner_ids = [row[0] for row in sorted(rows, key=lambda row: row[6])]  # oldest first
        partners = {} if partners is None else partners
        planned, waits = [], []
        now_ts = outbox.epoch(now)
        main_channel = "high" if "high" in channels else "low"
        for partner in Partner.browse(partner_ids):
            want = limit - sum(plan.limit for _p, _policy, plan in planned)
            if want <= 0:
                break
            # busy: the partner's calls in flight, all workers (ours included).
            stored, paused_until, _reason, busy, write_date = states[partner.id]
            if paused_until and paused_until > now_ts:
                # Paused partner-wide (a 429/503 Retry-After): nothing else to ask.
                waits.append(paused_until - now_ts)
                continue
            if partner.id not in partners or partners[partner.id][0] != write_date:
                partners[partner.id] = (write_date, partner._outbox_snapshot())
            policy = partners[partner.id][1][0]
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
            planned.append((partner, policy, plan))
        taken = self._outbox_take(worker, [(p.id, policy, plan.limit)
                                           for p, policy, plan in planned], channels, now)
        # A probe starts only if a job was claimed.
        Partner._outbox_store_breakers({
            p.id: plan.breaker for p, _policy, plan in planned
            if taken.get(p.id) and plan.breaker != states[p.id][0]})
        claimed = [job_id for p, _policy, _plan in planned for job_id in taken.get(p.id, ())]
        if not claimed:
            skipped = self._outbox_skipped_wait(channels, now, tuple(states))
            if skipped is not None:
                waits.append(skipped)
        return claimed, (min(waits) if waits else None)

    def _outbox_skipped_wait(self, channels, now, seen):
        """A claim that got nothing: when ready jobs belong to partners it did not
        see (another worker held them), a short wait (seconds) before claiming
        again; None otherwise."""
        self.env.cr.execute(SQL(
            "SELECT 1 FROM shipment_sync_job j JOIN shipment_sync_partner p "
            "ON p.id = j.partner_id AND p.active WHERE j.state = 'pending' "
            "AND j.channel IN %s AND j.next_attempt_at <= %s AND j.partner_id NOT IN %s "
            "LIMIT 1", tuple(channels), now, seen or (0,)))
        return SKIPPED_WAIT if self.env.cr.fetchone() else None

    def _outbox_take(self, worker, wants, channels, now):
        """Claim, in one statement, up to ``limit`` ready jobs of each partner of
        ``wants`` (``[(partner id, policy, limit)]``) in enqueue order, skipping
        the ones another worker is claiming and the ones an earlier job of their
        sequence key holds back (see ``shipsync.outbox.blocks``): they run under
        ``worker``'s lease, their attempt counted. Returns ``{partner id: [job
        ids in enqueue order]}``."""
        wants = [(pid, policy, limit) for pid, policy, limit in wants if limit > 0]
        if not wants:
            return {}
        rows = SQL(", ").join(
            SQL("(%s::int, %s::int, %s::timestamp, %s::bool)", pid, limit,
                now + timedelta(seconds=policy.lease_seconds), policy.blocking)
            for pid, policy, limit in wants)
        # MATERIALIZED: the locking subquery runs exactly once (a plan that
        # rescanned it would take other rows on each pass).
        self.env.cr.execute(SQL(
            "WITH c AS MATERIALIZED ("
            " SELECT t.id, v.lease FROM (VALUES %s) v (pid, lim, lease, blocking) "
            " CROSS JOIN LATERAL (SELECT j.id FROM shipment_sync_job j "
            "  WHERE j.partner_id = v.pid AND j.state = 'pending' AND j.channel IN %s "
            "  AND j.next_attempt_at <= %s AND (j.sequence_key IS NULL OR NOT EXISTS ("
            "   SELECT 1 FROM shipment_sync_job e WHERE e.sequence_key = j.sequence_key "
            "   AND e.id <> j.id AND e.state IN ('pending', 'running', 'dead') "
            "   AND (e.state = 'running' OR (e.id < j.id AND CASE WHEN v.blocking "
            "    THEN e.state IN ('pending', 'dead') "
            "    ELSE e.state = 'pending' AND e.attempts = 0 END)))) "
            "  ORDER BY CASE j.channel WHEN 'high' THEN 0 ELSE 1 END, j.id "
            "  LIMIT v.lim FOR UPDATE OF j SKIP LOCKED) t) "
            "UPDATE shipment_sync_job u SET state = 'running', worker_id = %s, "
            "lease_until = c.lease, attempts = u.attempts + 1, write_date = %s FROM c "
            "WHERE u.id = c.id RETURNING u.partner_id, u.id",
            rows, tuple(channels), now, worker, now))
        taken = {}
        for pid, job_id in sorted(self.env.cr.fetchall(), key=lambda r: r[1]):
            taken.setdefault(pid, []).append(job_id)
        return taken

    def _outbox_launch(self, worker, http, gate, now, partners=None):
        """Prepare the claimed jobs (``self``) and check, just before they are
        handed to the call threads, that their partner was not paused since the
        claim (a 429/503 Retry-After another worker or call got meanwhile): the
        pauses stored on their partners are merged into ``gate`` (which each
        thread checks again as it starts its call) and the calls of a paused
        partner go back to the queue untried. Returns ``(calls to make, number
        released)``."""
        prepared = self._outbox_prepare(http, partners)
        if not prepared:
            return [], 0
        self.env.cr.execute(SQL(
            "SELECT id, outbox_paused_until FROM shipment_sync_partner WHERE id IN %s "
            "AND outbox_paused_until > %s",
            tuple({call.partner_id for call in prepared}), now))
        for partner_id, until in self.env.cr.fetchall():
            gate.merge(partner_id, outbox.epoch(until))
        now_ts = outbox.epoch(now)
        calls, held = [], []
        for call in prepared:
            (held if gate.held(call.partner_id, now_ts) else calls).append(call)
        if held:
            self._outbox_release(worker, [call.job_id for call in held])
        return calls, len(held)

    def _outbox_prepare(self, http, partners=None):
        """Turn the claimed jobs into calls: plain values and a callable each,
        built by the operation's handler in this (read) transaction.
        ``partners``: the worker's snapshots of the partners (see
        :meth:`_outbox_claim`), read from the partner when missing."""
        handlers = self._outbox_handlers()
        prepared = []
        for job in self:
            partner = job.partner_id
            entry = (partners or {}).get(partner.id)
            policy, base_url, headers = entry[1] if entry else partner._outbox_snapshot()
            handler = handlers.get(job.operation)
            # A handler that queries the database runs in a savepoint, so that
            # its failure does not abort the other jobs' preparation.
            guard = self.env.cr.savepoint() if handler is None or handler.savepoint \
                else contextlib.nullcontext()
            try:
                with guard:
                    if not handler:
                        raise ValueError(f"no outbox handler for operation {job.operation!r}")
                    keyed = _keyed(http, job.idempotency_key,
                                   job.picking_id.shipment_correlation_id)
                    ctx = outbox.CallContext(
                        job_id=job.id, operation=job.operation, payload=job._outbox_payload(),
                        idempotency_key=job.idempotency_key, policy=policy,
                        attempt=job.attempts, base_url=base_url, headers=dict(headers),
                        http=keyed)
                    value = getattr(self.env[handler.model], handler.prepare)(job, ctx)
                thunk = _thunk(value, keyed)
            except Exception as exc:  # noqa: BLE001 - a bad job must not stop the batch
                thunk = _raiser(exc)
            prepared.append(Prepared(job.id, partner.id, job.attempts, policy, thunk,
                                     job.operation))
        return prepared

    def _outbox_record(self, worker, results, now):
        """Record outcomes, ``[(Prepared, Outcome, started)]``, in the current
        transaction: each job's state and attempt log (one statement for all),
        the hooks of the finished ones, then, per partner, the breaker and the
        pause folded over its outcomes and stored once. The partner rows are
        locked last (one statement, in id order), so that they are held for two
        statements and the commit, not for the whole record. Returns
        ``{partner id: breaker state}``."""
        if not results:
            return {}
        settled = [(call, outcome, started,
                    outbox.settle(call.policy, call.attempt, outcome, now))
                   for call, outcome, started in results]
        written = self._outbox_settle_many(
            [(call.job_id, settlement, outcome, started, call.attempt)
             for call, outcome, started, settlement in settled], now, worker)
        for call, outcome, _started, settlement in settled:
            job = self.browse(call.job_id)
            if call.job_id in written:
                job._outbox_after(settlement, outcome, call.operation)
            else:
                _logger.warning("outbox: job %s was reclaimed from worker %s (lease expired) "
                                "before its outcome came back", job.id, worker)
        by_partner = {}
        for item in settled:
            by_partner.setdefault(item[0].partner_id, []).append(item)
        Partner = self.env["shipment.sync.partner"]
        states = Partner.browse(sorted(by_partner))._outbox_lock_states()
        now_ts = outbox.epoch(now)
        breakers, changed = {}, {}
        for partner_id in sorted(by_partner):
            stored, paused_until, pause_reason, _busy, _written = states[partner_id]
            breaker, until, reason = stored, paused_until, pause_reason
            for call, outcome, _started, settlement in by_partner[partner_id]:
                breaker = outbox.breaker_report(call.policy.breaker, breaker,
                                                settlement.breaker_signal, now_ts)
                until, reason = outbox.merge_pause(until, reason,
                                                   outbox.partner_pause(outcome, now_ts))
            if breaker != stored:
                changed[partner_id] = breaker
            if until != paused_until:
                Partner.browse(partner_id)._outbox_store_pause(until, reason)
                _logger.info("outbox: partner %s paused until %s (%s)", partner_id,
                             outbox.from_epoch(until), reason)
            breakers[partner_id] = breaker
        Partner._outbox_store_breakers(changed)
        return breakers

    def _outbox_settle(self, settlement, outcome, now, started, worker, number):
        """Write a settlement on this job (while ``worker`` still holds it, or
        unconditionally when ``worker`` is None) and log the attempt, in one
        statement. Returns whether the job was written."""
        self.ensure_one()
        return self.id in self._outbox_settle_many(
            [(self.id, settlement, outcome, started, number)], now, worker)

    @api.model
    def _outbox_settle_many(self, items, now, worker):
        """:meth:`_outbox_settle` for many jobs in one statement: ``items`` are
        ``(job id, Settlement, Outcome or None, started, attempt number)``. The
        jobs are written while ``worker`` still holds them (any holder when
        ``worker`` is None); every item logs its attempt, ``stale`` when its job
        was not written (reclaimed meanwhile). Returns the ids written."""
        if not items:
            return set()
        mask = self._outbox_mask_text
        kinds = {"done": "done", "pending": "retry", "dead": "dead", "cancelled": "cancelled"}
        rows = []
        for job_id, settlement, outcome, started, number in items:
            outcome = outcome or outbox.Outcome()
            done = settlement.state == "done"
            result = outcome.result() if done else None
            error = "" if done else (outcome.error or settlement.reason)
            rows.append(SQL(
                "(%s::int, %s::varchar, %s::varchar, %s::text, %s::int, %s::timestamp, "
                "%s::timestamp, %s::text, %s::int, %s::int, %s::text, %s::text, %s::varchar)",
                job_id, settlement.state, settlement.error_class or outcome.error_class,
                None if done else mask(settlement.reason), outcome.status or 0, started,
                settlement.next_attempt_at or now,
                json.dumps(result) if result is not None else None, number,
                outcome.elapsed_ms or 0, mask(error)[:250] or None,
                mask(outcome.excerpt()) or None, kinds[settlement.state]))
        guard = SQL(" AND j.worker_id = %s AND j.state = 'running'", worker) if worker \
            else SQL()
        stamp = utcnow()
        self.env.cr.execute(SQL(
            "WITH v (id, state, cls, reason, status, started, next, result, number, ms, "
            " error, excerpt, kind) AS (VALUES %(rows)s), "
            "upd AS (UPDATE shipment_sync_job j SET state = v.state, lease_until = NULL, "
            " worker_id = NULL, last_error_class = v.cls, last_error = v.reason, "
            " last_status = v.status, first_attempt_at = COALESCE(j.first_attempt_at, "
            " v.started), next_attempt_at = CASE WHEN v.state = 'pending' THEN v.next "
            " ELSE j.next_attempt_at END, done_at = CASE WHEN v.state = 'done' THEN %(now)s "
            " ELSE j.done_at END, dead_at = CASE WHEN v.state = 'dead' THEN %(now)s "
            " ELSE j.dead_at END, result = CASE WHEN v.state = 'done' THEN v.result "
            " ELSE j.result END, write_date = %(now)s FROM v WHERE j.id = v.id%(guard)s "
            " RETURNING j.id) "
            "INSERT INTO shipment_sync_job_attempt (job_id, partner_id, company_id, number, "
            " started_at, duration_ms, http_status, error_class, error, response_excerpt, "
            " outcome, worker_id, create_uid, create_date, write_uid, write_date) "
            "SELECT j.id, j.partner_id, j.company_id, v.number, v.started, v.ms, v.status, "
            " v.cls, v.error, v.excerpt, "
            " CASE WHEN j.id IN (SELECT id FROM upd) THEN v.kind ELSE 'stale' END, "
            " COALESCE(%(worker)s, j.worker_id), %(uid)s, %(stamp)s, %(uid)s, %(stamp)s "
            "FROM v JOIN shipment_sync_job j ON j.id = v.id "
            "RETURNING job_id, outcome",
            rows=SQL(", ").join(rows), now=now, guard=guard, worker=worker,
            uid=self.env.uid, stamp=stamp))
        written = {job_id for job_id, kind in self.env.cr.fetchall() if kind != "stale"}
        self.browse([item[0] for item in items]).invalidate_recordset()
        return written

    @api.model
    def _outbox_mask_text(self, text):
        """What of a partner's answer or error may be written (attempt excerpt and
        error, the job's last error): personal data masked, before anything is
        written (the settle statement writes the masked text; nothing is read
        back)."""
        return pii.mask_text(text)

    def _outbox_after(self, settlement, outcome, operation):
        """Hooks of a finished job: the handler's ``done`` / ``dead``, and the
        ``sync_failed`` exception on the picking of a dead job."""
        self.ensure_one()
        if settlement.state not in ("done", "dead"):
            return
        handler = self._outbox_handlers().get(operation)
        method = getattr(handler, settlement.state) if handler else None
        if settlement.state == "done" and not method:
            return
        if method:
            self._outbox_hook(handler, settlement.state, outcome or outbox.Outcome(
                error_class=settlement.error_class, error=settlement.reason))
        if settlement.state == "dead" and self.picking_id and \
                (handler is None or handler.raise_exception):
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
                    getattr(self.env[handler.model], getattr(handler, hook))(self, value)
        except Exception:
            _logger.exception("outbox: %s hook of job %s failed", hook, self.id)

    def _outbox_release(self, worker, ids):
        """Give claimed jobs back untried (their partner was paused before their
        call went out): pending again, the attempt their claim counted undone,
        their next attempt unchanged (the claim waits for the pause to end)."""
        if not ids:
            return 0
        self.env.cr.execute(SQL(
            "UPDATE shipment_sync_job SET state = 'pending', worker_id = NULL, "
            "lease_until = NULL, attempts = GREATEST(attempts - 1, 0) "
            "WHERE id IN %s AND worker_id = %s AND state = 'running'", tuple(ids), worker))
        if self.env.cr.rowcount:
            _logger.info("outbox: %s claimed call(s) held back, their partner is paused",
                         self.env.cr.rowcount)
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


#: Seconds after a server's start at which its cron workers are notified when
#: outbox work was left (see ``_register_hook``).
BOOT_WAKES = (1.0, 2.0, 4.0, 7.0, 11.0, 16.0, 25.0)

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


def _timed(call, gate, clock):
    """Run a prepared call in a pool thread: an outcome with its duration, or
    None when the call's partner is paused (the gate is checked just before the
    call goes out; the job goes back to the queue untried). The pause the answer
    asks for is taught to the gate at once, before the outcome is recorded, so
    that this worker's next calls to that partner are held too."""
    if gate.held(call.partner_id, outbox.epoch(clock())):
        return None
    tick = time.monotonic()
    outcome = outbox.run_call(call.thunk)
    if not outcome.elapsed_ms:
        outcome = dataclasses.replace(outcome, elapsed_ms=int((time.monotonic() - tick) * 1000))
    gate.learn(call.partner_id, outcome, outbox.epoch(clock()))
    return outcome


def _keyed(http, key, correlation_id=None):
    """``http`` that sends the job's Idempotency-Key on every request it makes,
    whatever the handler or adapter built, and the shipment's tracing headers
    (``X-Correlation-ID`` and a W3C ``traceparent``: the trace of the shipment, a
    new span per request; see ``shipsync.tracing``)."""
    def send(req):
        if not req.idempotency_key:
            req = dataclasses.replace(req, idempotency_key=key)
        if correlation_id:
            req = tracing.with_trace_headers(req, correlation_id)
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
