import json
import logging
import os
import socket
import threading
import uuid
from datetime import datetime, timezone

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL

from shipsync import outbox, pii

from .cron_retry import retry_conflicts
from .shipment_sync_job_attempt import ERROR_CLASS_SELECTION

_logger = logging.getLogger(__name__)

# The states and channels are the engine's (shipsync.outbox); only their labels live
# here (a state the engine adds without a label here fails at import).
_JOB_STATE_LABELS = {
    "pending": "Pending",
    "running": "Running",
    "done": "Done",
    "dead": "Dead",
    "cancelled": "Cancelled",
}
JOB_STATES = [(state, _JOB_STATE_LABELS[state]) for state in outbox.STATES]
_CHANNEL_LABELS = {"high": "High (operational)", "low": "Low (reporting, enrichment)"}
CHANNELS = [(channel, _CHANNEL_LABELS[channel]) for channel in outbox.CHANNELS]
#: Cron records working each channel: the first one is triggered on enqueue, the
#: others join when a worker finds more than a batch of work.
CRON_XMLIDS = {
    "high": ("shipment_sync.ir_cron_outbox_high", "shipment_sync.ir_cron_outbox_high_2"),
    "low": ("shipment_sync.ir_cron_outbox_low",),
}
BATCH = 20
#: A cron run stops claiming new batches after this many seconds.
WORK_SECONDS = 50.0
#: A run with nothing claimable waits for a retry due within this many seconds.
IDLE_WAIT = 3.0
#: Calls one worker keeps in flight at once (system parameter
#: ``shipment_sync.outbox_calls_in_flight``); each partner's max concurrency still
#: bounds its own calls across all workers.
CALLS_IN_FLIGHT = 16
RECLAIM_BATCH = 200
#: Partners with ready jobs one claim looks at (the oldest work first).
CLAIM_PARTNERS = 100
#: Seconds before claiming again when other workers held every partner with work.
SKIPPED_WAIT = 0.05
PURGE_BATCH = 1000


def utcnow():
    """Naive UTC now, with microseconds (job columns are compared at that precision)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def new_worker_id():
    return (f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100000}:"
            f"{uuid.uuid4().hex[:6]}")


# The worker (an AbstractModel this model composes) must be defined before the
# model, and it imports the constants above: imported here, not at the top.
from . import shipment_sync_job_worker  # noqa: E402, F401


class ShipmentSyncJob(models.Model):
    """Transactional outbox: one durable job per outbound call.

    Other addons enqueue with :meth:`_enqueue` inside their business
    transaction and register the operations they handle in
    :meth:`_outbox_handlers`. Workers (``ir.cron``, see
    ``shipment.sync.job.worker`` in shipment_sync_job_worker.py) claim jobs
    with ``FOR UPDATE SKIP LOCKED`` and a lease, call outside any lock and record
    the outcome in a new transaction; every decision comes from
    ``shipsync.outbox``."""

    _name = "shipment.sync.job"
    _description = "Shipment Sync Outbox Job"
    _inherit = ["mail.thread", "shipment.sync.job.worker"]
    _order = "id desc"

    partner_id = fields.Many2one("shipment.sync.partner", required=True, index=True,
                                 readonly=True, ondelete="restrict")
    company_id = fields.Many2one("res.company", index=True, readonly=True)
    operation = fields.Char(required=True, index=True, readonly=True)
    picking_id = fields.Many2one("stock.picking", index=True, readonly=True,
                                 ondelete="set null")
    # Outbound payloads carry addresses and contacts: managers only (workers
    # and hooks run as the superuser; enqueueing is plain SQL).
    payload = fields.Text(
        groups="shipment_sync.group_manager",
        help="JSON. A manager may edit it on a dead or cancelled job before replaying it; "
        "every edit is recorded in the chatter.")
    idempotency_key = fields.Char(
        required=True, readonly=True, copy=False,
        help="Sent as the Idempotency-Key header on every attempt, replays included.")
    sequence_key = fields.Char(
        readonly=True, index=True,
        help="Jobs with the same key run in enqueue order (default: transfer + partner).")
    channel = fields.Selection(CHANNELS, required=True, default="high", readonly=True,
                               index=True)
    state = fields.Selection(JOB_STATES, required=True, default="pending", readonly=True,
                             index=True)
    attempts = fields.Integer(readonly=True)
    next_attempt_at = fields.Datetime(readonly=True)
    lease_until = fields.Datetime(readonly=True)
    worker_id = fields.Char(readonly=True)
    last_error = fields.Text(readonly=True)
    last_error_class = fields.Selection(ERROR_CLASS_SELECTION, "Error class", readonly=True,
                                        index=True)
    last_status = fields.Integer("Last HTTP status", readonly=True)
    result = fields.Text(readonly=True, help="JSON result of the successful call.")
    first_attempt_at = fields.Datetime(readonly=True)
    done_at = fields.Datetime(readonly=True)
    dead_at = fields.Datetime(readonly=True, index=True)
    attempt_ids = fields.One2many("shipment.sync.job.attempt", "job_id", "Attempt log",
                                  readonly=True)

    _sql_constraints = [
        ("partner_idempotency_key_uniq", "UNIQUE(partner_id, idempotency_key)",
         "An idempotency key is used once per partner."),
    ]

    def _auto_init(self):
        res = super()._auto_init()
        cr = self.env.cr
        # Claim: ready jobs per partner and channel.
        cr.execute(SQL(
            "CREATE INDEX IF NOT EXISTS shipment_sync_job_ready_idx ON shipment_sync_job "
            "(partner_id, channel, next_attempt_at) WHERE state = 'pending'"))
        # Ordering: the earlier live jobs of a sequence key.
        cr.execute(SQL(
            "CREATE INDEX IF NOT EXISTS shipment_sync_job_sequence_idx ON shipment_sync_job "
            "(sequence_key, id) WHERE state IN ('pending', 'running', 'dead')"))
        # Leases: running jobs per partner, expired leases.
        cr.execute(SQL(
            "CREATE INDEX IF NOT EXISTS shipment_sync_job_running_idx ON shipment_sync_job "
            "(partner_id, lease_until) WHERE state = 'running'"))
        return res

    @api.depends("operation", "partner_id")
    def _compute_display_name(self):
        for job in self:
            job.display_name = f"{job.partner_id.name or '?'}: {job.operation} #{job.id or ''}"

    @api.constrains("payload")
    def _check_payload(self):
        for job in self:
            try:
                json.loads(job.payload or "null")
            except ValueError as exc:
                raise ValidationError(_("The payload is not valid JSON: %s", exc)) from None

    # ------------------------------------------------------------------
    # public API: enqueue, handlers
    # ------------------------------------------------------------------
    @api.model
    def _enqueue(self, partner, operation, payload=None, *, picking=None,
                 idempotency_key=None, sequence_key=None, channel=None):
        """Queue an outbound call, inside the caller's transaction: if it rolls
        back, the job never existed. Enqueuing an idempotency key the partner
        already has returns the existing job, whatever its state.

        :param partner: ``shipment.sync.partner`` record that is called
        :param operation: a key of :meth:`_outbox_handlers` (``http_call``,
            ``publish_event``, or one another addon registered)
        :param payload: JSON-serializable value the handler gets back
        :param picking: optional ``stock.picking`` the call is about
        :param idempotency_key: stable key of the business action (default: a
            new UUID, i.e. never deduplicated)
        :param sequence_key: jobs with the same key run in enqueue order
            (default: picking + partner; no picking, no ordering)
        :param channel: ``high`` (operational) or ``low`` (reporting); default
            from the handler, else ``high``
        :return: the ``shipment.sync.job`` record
        """
        partner.ensure_one()
        if not operation:
            raise ValueError("an outbox job needs an operation")
        handler = self.sudo()._outbox_handlers().get(operation)
        channel = channel or (handler.channel if handler else "high")
        if channel not in dict(CHANNELS):
            raise ValueError(f"unknown outbox channel {channel!r}")
        key = str(idempotency_key or uuid.uuid4())
        if sequence_key is None and picking:
            sequence_key = outbox.default_sequence_key(picking.id, partner.id)
        body = json.dumps(payload if payload is not None else {}, sort_keys=True, default=str)
        now = utcnow()
        # ON CONFLICT on the UNIQUE constraint: a duplicate enqueue is not an error.
        # A conflicting job committed by a concurrent transaction after ours began
        # raises a serialization failure, which Odoo retries like any other.
        self.env.cr.execute(SQL(
            "INSERT INTO shipment_sync_job (partner_id, company_id, operation, picking_id, "
            "payload, idempotency_key, sequence_key, channel, state, attempts, "
            "next_attempt_at, create_uid, create_date, write_uid, write_date) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'pending', 0, %s, %s, %s, %s, %s) "
            "ON CONFLICT (partner_id, idempotency_key) DO NOTHING RETURNING id",
            partner.id, partner.company_id.id or None, operation, picking.id if picking else None,
            body, key, sequence_key, channel, now, self.env.uid, now, self.env.uid, now))
        row = self.env.cr.fetchone()
        if row:
            if picking:
                picking.invalidate_recordset(["shipment_job_ids", "shipment_job_count"])
            self._outbox_trigger((channel,))
            return self.browse(row[0])
        # Business code enqueues on behalf of users who may not read jobs.
        existing = self.sudo().search(
            [("partner_id", "=", partner.id), ("idempotency_key", "=", key)], limit=1)
        return self.browse(existing.id)

    @api.model
    def _outbox_handlers(self):
        """Operation -> :class:`shipsync.outbox.Handler`. Other addons extend it
        through :func:`shipsync.outbox.register` (an operation registered twice
        raises)::

            def _outbox_handlers(self):
                return outbox.register(super()._outbox_handlers(), {
                    "create_shipment": outbox.Handler(
                        model="delivery.carrier",
                        prepare="_shipsync_prepare_create_shipment",
                        done="_shipsync_done_create_shipment")})

        ``prepare`` runs in a short read transaction before the call, gets a
        ``shipsync.outbox.CallContext`` and returns an ``HttpRequest`` (sent
        with the partner's timeouts and the Idempotency-Key), or a callable
        run outside any transaction that returns an ``HttpResult`` /
        ``Outcome`` / any value (success), or raises (adapter errors are
        classified; anything else is a final ``adapter_error``). ``done`` and
        ``dead`` run in the transaction recording the outcome. The other
        fields are documented on :class:`shipsync.outbox.Handler`."""
        return outbox.register({}, {
            "http_call": outbox.Handler(prepare="_outbox_prepare_http_call", savepoint=False),
            "publish_event": outbox.Handler(
                model="shipment.sync.subscription",
                savepoint=False,
                prepare="_outbox_prepare_publish",
                dead="_outbox_dead_publish",
                channel="low",
                # A subscriber being down is not a problem of the shipment.
                raise_exception=False,
            ),
        })

    @api.model
    def _outbox_prepare_http_call(self, job, ctx):
        """Generic call: payload ``{"method", "url", "json" | "body", "headers"}``."""
        return outbox.http_call_request(
            ctx.payload, idempotency_key=ctx.idempotency_key, policy=ctx.policy,
            base_url=ctx.base_url, headers=ctx.headers)

    def _outbox_payload(self):
        self.ensure_one()
        return json.loads(self.payload or "null")

    @api.model
    def _outbox_trigger(self, channels, siblings=False):
        """Wake the workers of ``channels`` once the current transaction commits
        (``ir.cron._trigger``: the trigger row is part of the transaction, so a
        rollback cancels it too). Once per transaction and channel."""
        done = self.env.cr.precommit.data.setdefault("shipment_sync.outbox_triggered", set())
        for channel in channels:
            xmlids = CRON_XMLIDS[channel] if siblings else CRON_XMLIDS[channel][:1]
            for xmlid in xmlids:
                if xmlid in done:
                    continue
                done.add(xmlid)
                cron = self.env.ref(xmlid, raise_if_not_found=False)
                if cron:
                    cron.sudo()._trigger()

    # ------------------------------------------------------------------
    # dead letters: replay, cancel, edit payload
    # ------------------------------------------------------------------
    def write(self, vals):
        # The suite never writes a payload after the enqueue (the retention
        # clears old ones in SQL): a payload written here is a person's edit.
        edited = "payload" in vals
        if edited:
            self._outbox_audit_payload(vals["payload"])
        res = super().write(vals)
        if edited:
            self.env["shipment.sync.audit.log"]._log(
                "payload_edit", self, note=_("Payload edited before a replay."))
        return res

    @api.returns("mail.message", lambda value: value.id)
    def message_post(self, **kwargs):
        # Job messages quote payloads and partner answers: mask personal data.
        if kwargs.get("body"):
            kwargs["body"] = _mask_body(kwargs["body"])
        return super().message_post(**kwargs)

    def _outbox_audit_payload(self, new_payload):
        if not self.env.user.has_group("shipment_sync.group_manager"):
            raise AccessError(_("Only a Shipment Sync administrator may edit a job's payload."))
        for job in self:
            if job.state not in ("pending", "dead", "cancelled"):
                raise UserError(_("Job %(job)s is %(state)s: its payload can no longer be edited.",
                                  job=job.display_name, state=job.state))
            if (job.payload or "") == (new_payload or ""):
                continue
            job.message_post(body=_(
                "Payload edited by %(user)s.\nBefore: %(old)s\nAfter: %(new)s",
                user=self.env.user.name, old=outbox.excerpt(job.payload or "", 2000),
                new=outbox.excerpt(new_payload or "", 2000)))

    def action_replay(self):
        """Run dead or cancelled jobs again, from attempt 1, with the same
        idempotency key (a partner that already applied the call answers with
        its stored result instead of doing it twice)."""
        jobs = self.filtered(lambda j: j.state in ("dead", "cancelled"))
        if not jobs:
            raise UserError(_("Only dead or cancelled jobs can be replayed."))
        now = utcnow()
        for job in jobs:
            job.write({
                "state": "pending", "attempts": 0, "next_attempt_at": now,
                "lease_until": False, "worker_id": False, "dead_at": False,
            })
            job.message_post(body=_("Replayed by %(user)s with idempotency key %(key)s.",
                                    user=self.env.user.name, key=job.idempotency_key))
        self._outbox_trigger(tuple({job.channel for job in jobs}))
        self.env["shipment.sync.audit.log"]._log("replay", jobs)
        return True

    def action_cancel(self):
        jobs = self.filtered(lambda j: j.state in ("pending", "dead"))
        if self.filtered(lambda j: j.state == "running"):
            raise UserError(_("A running job cannot be cancelled: wait for its outcome."))
        for job in jobs:
            job.write({
                "state": "cancelled", "lease_until": False, "worker_id": False})
            job.message_post(body=_("Cancelled by %s.", self.env.user.name))
        return True

    def action_view_picking(self):
        self.ensure_one()
        return {"type": "ir.actions.act_window", "res_model": "stock.picking",
                "res_id": self.picking_id.id, "view_mode": "form"}

    # ------------------------------------------------------------------
    # crons
    # ------------------------------------------------------------------
    @api.model
    @retry_conflicts
    def _cron_outbox_work(self, channel="high"):
        """Cron entry point of the workers (any number of cron threads, workers
        or servers may run it; the claim makes them share the queue)."""
        stats = self._outbox_work(channels=(channel,))
        self.env["ir.cron"]._notify_progress(
            done=stats["calls"], remaining=1 if stats["stopped"] == "budget" else 0)
        return stats

    @api.model
    @retry_conflicts
    def _cron_outbox_purge(self, now=None):
        """Delete finished jobs (and, by cascade, their attempts) older than
        their partner's retention."""
        now = now or utcnow()
        partners = self.env["shipment.sync.partner"].with_context(active_test=False).search([])
        purged = 0
        for partner in partners:
            cutoff = outbox.purge_before(now, partner.outbox_retention_days or 30)
            while True:
                jobs = self.search([
                    ("partner_id", "=", partner.id), "|", "|",
                    "&", ("state", "=", "done"), ("done_at", "<", cutoff),
                    "&", ("state", "=", "dead"), ("dead_at", "<", cutoff),
                    "&", ("state", "=", "cancelled"), ("write_date", "<", cutoff),
                ], limit=PURGE_BATCH)
                if not jobs:
                    break
                purged += len(jobs)
                jobs.unlink()
        if purged:
            _logger.info("outbox: purged %s finished jobs", purged)
        return purged


def _mask_body(body):
    """Mask a chatter body, keeping it Markup when it was."""
    if isinstance(body, Markup):
        return Markup(pii.mask_text(str(body)))
    return pii.mask_text(body)
