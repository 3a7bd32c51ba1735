"""The outbox worker: claims due jobs, calls partners outside any
transaction and commits each outcome (the model is in shipment_sync_job.py)."""

import contextlib
import dataclasses
import json
import logging
import time
from datetime import timedelta

from odoo import _, api, models
from odoo.tools import SQL

from shipsync import outbox, transport

from .shipment_sync_job import (
    BATCH,
    CHANNELS,
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
                     max_batches=None, worker_id=None, idle_wait=None):
        """Work the queue of ``channels`` until nothing is claimable or the time
        budget is spent: reclaim expired leases, claim a batch, COMMIT it, call
        outside any transaction, record each outcome in its own transaction.

        The loop owns its cursor (never the caller's): a claim is committed
        before the calls so that other workers see it, and each outcome is
        committed right after its call so that a crash loses at most the call
        in flight, which its lease brings back. ``now`` (naive UTC) fixes the
        clock, for tests; the run then never waits for a retry."""
        worker = worker_id or new_worker_id()
        clock = (lambda: now) if now else utcnow
        if idle_wait is None:
            idle_wait = 0.0 if now else IDLE_WAIT
        deadline = time.monotonic() + time_budget
        stats = {"worker": worker, "batches": 0, "calls": 0, "released": 0, "reclaimed": 0,
                 "stopped": "idle"}
        session = transport.new_session(pool_size=8)

        def http(req):
            return transport.send(session, req)

        cr = self._outbox_transaction()
        try:
            Job = self.env(cr=cr, su=True)[self._name]
            fanned_out = False
            while True:
                if time.monotonic() >= deadline:
                    stats["stopped"] = "budget"
                    break
                if max_batches is not None and stats["batches"] >= max_batches:
                    stats["stopped"] = "max_batches"
                    break
                stats["reclaimed"] += Job._outbox_reclaim(clock())
                claimed, wait = Job._outbox_claim(worker, channels, batch, clock())
                if not claimed:
                    nxt = Job._outbox_next_due(channels, clock(), wait)
                    self._outbox_commit(cr)  # reclaimed leases, probe bookkeeping
                    if nxt is not None and nxt <= idle_wait and \
                            time.monotonic() + nxt < deadline:
                        time.sleep(max(nxt, 0.05))
                        continue
                    break
                stats["batches"] += 1
                if len(claimed) >= batch and not fanned_out:
                    # More work than one batch: wake the sibling workers too.
                    Job._outbox_trigger(channels, siblings=True)
                    fanned_out = True
                self._outbox_commit(cr)  # the claim (and its lease) is ours once committed
                prepared = Job.browse(claimed)._outbox_prepare(http)
                self._outbox_commit(cr)  # end the read transaction before the calls
                self._outbox_run_batch(cr, worker, prepared, clock, stats)
                Job._outbox_wake_other_channel(channels, {p.partner_id for p in prepared},
                                               clock())
                self._outbox_commit(cr)
        finally:
            session.close()
            cr.close()
        return stats

    def _outbox_run_batch(self, cr, worker, prepared, clock, stats):
        Job = self.env(cr=cr, su=True)[self._name]
        blocked = set()
        todo = list(prepared)
        # Leases are renewed a few times per lease, not after every call.
        renew_every = min((p.policy.lease_seconds for p in prepared), default=60.0) / 3
        renewed = time.monotonic()
        while todo:
            call = todo.pop(0)
            if call.partner_id in blocked:
                continue
            started = clock()
            tick = time.monotonic()
            outcome = outbox.run_call(call.thunk)
            if not outcome.elapsed_ms:
                elapsed = int((time.monotonic() - tick) * 1000)
                outcome = dataclasses.replace(outcome, elapsed_ms=elapsed)
            stats["calls"] += 1
            renew = []
            if todo and time.monotonic() - renewed >= renew_every:
                renew, renewed = [p.job_id for p in todo], time.monotonic()
            try:
                breaker = Job._outbox_record(worker, call, outcome, started, clock(), renew)
                self._outbox_commit(cr)  # the outcome is durable before the next call
            except Exception:
                self._outbox_rollback(cr)
                _logger.exception("outbox: could not record the outcome of job %s; its lease "
                                  "will expire and it will be retried", call.job_id)
                continue
            if breaker.get("state") != "closed":
                # The partner's breaker opened (here or in another worker): its other
                # claimed jobs go back to the queue without burning an attempt.
                blocked.add(call.partner_id)
                rest = [p.job_id for p in todo if p.partner_id == call.partner_id]
                if rest:
                    stats["released"] += Job._outbox_release(worker, rest)
                    self._outbox_commit(cr)

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
            stored = partner._outbox_lock()
            policy = partner._outbox_policy()
            cr.execute(SQL(
                "SELECT count(DISTINCT worker_id), count(*) FROM shipment_sync_job "
                "WHERE partner_id = %s AND state = 'running' AND lease_until >= %s "
                "AND worker_id <> %s", partner.id, now, worker))
            busy_workers, in_flight = cr.fetchone()
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
                policy, stored, channel=main_channel, want=want, busy_workers=busy_workers,
                high_ready=high_ready, recent_calls=recent, in_flight=in_flight,
                now_ts=now_ts)
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
        stored = partner._outbox_lock()
        policy = call.policy
        settlement = outbox.settle(policy, call.attempt, outcome, now)
        breaker = outbox.breaker_report(policy.breaker, stored, settlement.breaker_signal,
                                        outbox.epoch(now))
        if breaker != stored:
            partner._outbox_store_breaker(breaker)
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
        """Seconds until a pending job of ``channels`` is due (or a partner's wait
        ends), None when there is nothing pending."""
        self.env.cr.execute(SQL(
            "SELECT min(next_attempt_at) FROM shipment_sync_job WHERE state = 'pending' "
            "AND channel IN %s AND next_attempt_at > %s", tuple(channels), now))
        due = self.env.cr.fetchone()[0]
        candidates = [w for w in (wait,) if w is not None]
        if due:
            candidates.append((due - now).total_seconds())
        return min(candidates) if candidates else None

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


class Prepared:
    """One claimed job ready to be called (plain values only)."""

    __slots__ = ("attempt", "job_id", "operation", "partner_id", "policy", "thunk")

    def __init__(self, job_id, partner_id, attempt, policy, thunk, operation):
        self.job_id, self.partner_id, self.attempt = job_id, partner_id, attempt
        self.policy, self.thunk, self.operation = policy, thunk, operation


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
