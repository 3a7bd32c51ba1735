import json

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from shipsync import breaker as brk
from shipsync import catalogue as cat
from shipsync import outbox
from shipsync.retry import RetryPolicy

BREAKER_STATES = [("closed", "Closed"), ("open", "Open"), ("half_open", "Half-open (probing)")]


class ShipmentSyncPartnerOutbox(models.AbstractModel):
    """Outbound policy of a partner, composed by ``shipment.sync.partner``:
    timeouts, concurrency, rate limit, retries, circuit breaker, ordering and
    retention of its outbox jobs. The policy is plain values for
    ``shipsync.outbox``; the breaker state is stored on the partner and only
    ever written by the outbox workers (row locked, plain SQL)."""

    _name = "shipment.sync.partner.outbox"
    _description = "Shipment Sync partner: outbound policy"
    # Its fields are tracked in the partner's chatter.
    _inherit = ["mail.thread"]

    outbox_base_url = fields.Char(
        "Outbound base URL", tracking=True,
        help="Relative URLs of generic HTTP jobs are joined to this URL.")
    outbox_auth_header = fields.Char(
        "Auth header", default="Authorization",
        help="Header carrying the outbound credential, e.g. Authorization or X-Api-Key.")
    outbox_auth_token = fields.Char(
        "Auth value", groups="shipment_sync.group_manager", copy=False,
        help="Sent as is in the auth header, e.g. 'Bearer abc...'. Never shown in logs.")
    outbox_connect_timeout = fields.Float("Connect timeout (s)", default=5.0, tracking=True)
    outbox_read_timeout = fields.Float("Read timeout (s)", default=30.0, tracking=True)
    outbox_max_concurrency = fields.Integer(
        "Max concurrency", default=4, tracking=True,
        help="Calls to this partner in flight at the same time, all workers together.")
    outbox_rate_limit = fields.Integer(
        "Outbound rate limit (per minute)", default=0, tracking=True,
        help="Calls per minute across all workers. 0 = no limit.")
    outbox_retry_max_attempts = fields.Integer("Max attempts", default=8, tracking=True)
    outbox_retry_base = fields.Float(
        "Backoff base (s)", default=2.0, tracking=True,
        help="Delay ceiling after attempt n: min(cap, base * 2^(n-1)), with full jitter. "
        "A Retry-After on 429/503 overrides it.")
    outbox_retry_cap = fields.Float("Backoff cap (s)", default=900.0, tracking=True)
    outbox_breaker_threshold = fields.Integer(
        "Open after consecutive failures", default=5, tracking=True)
    outbox_breaker_failure_rate = fields.Float(
        "Or failure rate over window", default=0.5, tracking=True,
        help="Fraction (0-1] of failed calls in the window, once it has the minimum calls.")
    outbox_breaker_window = fields.Integer("Window (s)", default=60)
    outbox_breaker_min_calls = fields.Integer("Minimum calls in window", default=10)
    outbox_breaker_cooldown = fields.Integer(
        "Cool-down (s)", default=30, tracking=True,
        help="How long the breaker stays open before a single probe call is let through.")
    outbox_blocking = fields.Boolean(
        "Strict ordering", default=True, tracking=True,
        help="Jobs with the same sequence key (a transfer and this partner) run strictly in "
        "enqueue order: a retrying or dead job holds back the later ones. Untick to let "
        "failed jobs step aside.")
    outbox_retention_days = fields.Integer(
        "Keep finished jobs (days)", default=30, tracking=True,
        help="Done, dead and cancelled jobs and their attempt logs are purged after this.")

    outbox_breaker_state = fields.Selection(
        BREAKER_STATES, "Circuit breaker", default="closed", required=True, readonly=True,
        copy=False)
    outbox_breaker_data = fields.Text("Breaker state (JSON)", readonly=True, copy=False)
    outbox_breaker_opened_at = fields.Datetime("Breaker opened at", readonly=True, copy=False)
    outbox_breaker_failures = fields.Integer(
        "Consecutive failures", readonly=True, copy=False)
    outbox_paused_until = fields.Datetime(
        "Paused until", readonly=True, copy=False,
        help="The partner answered 429 or 503 with a Retry-After: no worker calls it "
        "before this moment (its jobs wait without burning attempts).")
    outbox_pause_reason = fields.Char("Pause reason", readonly=True, copy=False)
    outbox_paused = fields.Boolean(
        "Paused", compute="_compute_outbox_paused", search="_search_outbox_paused")
    outbox_job_pending_count = fields.Integer(compute="_compute_outbox_counts")
    outbox_job_dead_count = fields.Integer(compute="_compute_outbox_counts")

    @api.constrains("outbox_connect_timeout", "outbox_read_timeout", "outbox_max_concurrency",
                    "outbox_rate_limit", "outbox_retry_max_attempts", "outbox_retry_base",
                    "outbox_retry_cap", "outbox_breaker_threshold",
                    "outbox_breaker_failure_rate", "outbox_breaker_window",
                    "outbox_breaker_min_calls", "outbox_breaker_cooldown",
                    "outbox_retention_days")
    def _check_outbox_policy(self):
        for partner in self:
            try:
                partner._outbox_policy()
            except ValueError as exc:
                raise ValidationError(_("Outbound policy of %(partner)s: %(problem)s",
                                        partner=partner.name, problem=exc)) from None

    @api.depends("outbox_paused_until")
    def _compute_outbox_paused(self):
        now = fields.Datetime.now()
        for partner in self:
            partner.outbox_paused = bool(partner.outbox_paused_until and
                                         partner.outbox_paused_until > now)

    def _search_outbox_paused(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise NotImplementedError(_("Unsupported search on the pause"))
        paused = [("outbox_paused_until", ">", fields.Datetime.now())]
        return paused if (operator == "=") == value else ["!", *paused]

    def _compute_outbox_counts(self):
        Job = self.env["shipment.sync.job"]
        counts = {
            (partner.id, state): count
            for partner, state, count in Job._read_group(
                [("partner_id", "in", self.ids), ("state", "in", ("pending", "running", "dead"))],
                ["partner_id", "state"], ["__count"])
        }
        for partner in self:
            partner.outbox_job_pending_count = counts.get((partner.id, "pending"), 0) + \
                counts.get((partner.id, "running"), 0)
            partner.outbox_job_dead_count = counts.get((partner.id, "dead"), 0)

    # ------------------------------------------------------------------
    # plain values for shipsync
    # ------------------------------------------------------------------
    def _outbox_policy(self):
        """The partner's :class:`shipsync.outbox.OutboundPolicy` (ValueError when a
        value is out of range)."""
        self.ensure_one()
        return outbox.OutboundPolicy(
            connect_timeout=self.outbox_connect_timeout,
            read_timeout=self.outbox_read_timeout,
            max_concurrency=self.outbox_max_concurrency,
            rate_limit_per_minute=self.outbox_rate_limit,
            retry=RetryPolicy(
                max_attempts=self.outbox_retry_max_attempts,
                base=self.outbox_retry_base, cap=self.outbox_retry_cap),
            breaker=brk.BreakerConfig(
                failure_threshold=self.outbox_breaker_threshold,
                failure_rate=self.outbox_breaker_failure_rate,
                window_seconds=self.outbox_breaker_window,
                min_calls=self.outbox_breaker_min_calls,
                cooldown_seconds=self.outbox_breaker_cooldown),
            blocking=self.outbox_blocking,
            retention_days=self.outbox_retention_days,
        )

    def _outbox_headers(self):
        """Credential header of outbound calls (empty when none is set)."""
        self.ensure_one()
        me = self.sudo()
        if me.outbox_auth_header and me.outbox_auth_token:
            return {me.outbox_auth_header: me.outbox_auth_token}
        return {}

    def _outbox_lock(self):
        """Lock the partner row until the end of the transaction: claims and outcomes
        of one partner are serialized, so its concurrency, rate limit, pause and
        breaker are exact across workers. Returns the stored breaker state."""
        return self._outbox_lock_state()[0]

    def _outbox_lock_state(self):
        """:meth:`_outbox_lock`, returning ``(breaker state, paused until (epoch
        seconds or None), pause reason)``."""
        self.ensure_one()
        return self._outbox_lock_states()[self.id][:3]

    def _outbox_lock_states(self, now=None):
        """Lock these partners' rows (one statement, in id order: workers locking
        several partners never deadlock) until the end of the transaction.
        Returns ``{id: (breaker state, paused until (epoch seconds or None),
        pause reason, calls in flight, write date)}``; the calls in flight
        (running jobs whose lease has not run out at ``now``, all workers) are
        only counted when ``now`` is given (0 otherwise)."""
        if not self:
            return {}
        self.env.cr.execute(SQL(
            "SELECT p.id, p.outbox_breaker_data, p.outbox_paused_until, "
            "p.outbox_pause_reason, %s, p.write_date FROM shipment_sync_partner p "
            "WHERE p.id IN %s ORDER BY p.id FOR NO KEY UPDATE OF p",
            self._outbox_busy_sql(now), tuple(self.ids)))
        states = self._outbox_parse_states(self.env.cr.fetchall())
        for pid in self.ids:
            states.setdefault(pid, ({}, None, None, 0, None))
        return states

    @api.model
    def _outbox_busy_sql(self, now):
        """SQL counting the calls in flight of partner ``p`` at ``now`` (0 without)."""
        if not now:
            return SQL("0")
        return SQL("(SELECT count(*) FROM shipment_sync_job b WHERE b.partner_id = p.id "
                   "AND b.state = 'running' AND b.lease_until >= %s)", now)

    @api.model
    def _outbox_parse_states(self, rows):
        states = {}
        for pid, data, paused, reason, count, write_date in rows:
            try:
                breaker = json.loads(data) if data else {}
            except ValueError:
                breaker = {}
            states[pid] = (breaker, outbox.epoch(paused) if paused else None, reason,
                           int(count or 0), write_date)
        return states

    def _outbox_snapshot(self):
        """What a worker needs of this partner to claim and prepare its calls:
        ``(policy, base URL, auth headers)`` (cached by the worker for the
        partner's write date)."""
        self.ensure_one()
        return self._outbox_policy(), self.outbox_base_url or "", self._outbox_headers()

    def _outbox_store_pause(self, until_ts, reason):
        """Store the partner-wide pause (row locked by :meth:`_outbox_lock`), plain
        SQL like the breaker. Every worker's claim reads it."""
        self.ensure_one()
        self.env.cr.execute(SQL(
            "UPDATE shipment_sync_partner SET outbox_paused_until = %s, "
            "outbox_pause_reason = %s WHERE id = %s",
            outbox.from_epoch(until_ts), (reason or "")[:250] or None, self.id))
        self.invalidate_recordset(["outbox_paused_until", "outbox_pause_reason",
                                   "outbox_paused"])

    def _outbox_store_breaker(self, state, closed_by="probe"):
        """Store the breaker state (the row is locked by :meth:`_outbox_lock`). Plain
        SQL: no tracking, no write_date, so a person editing the form is not disturbed.
        ``closed_by``: what closed it, when it closes (``probe``, ``manual``)."""
        self.ensure_one()
        self._outbox_store_breakers({self.id: state}, closed_by=closed_by)

    @api.model
    def _outbox_store_breakers(self, states, closed_by="probe"):
        """:meth:`_outbox_store_breaker` for ``{partner id: state}``, one statement."""
        if not states:
            return
        self.env.cr.execute(SQL(
            "SELECT id, outbox_breaker_state, outbox_breaker_data FROM shipment_sync_partner "
            "WHERE id IN %s", tuple(states)))
        before = {pid: (state or "closed", data) for pid, state, data in self.env.cr.fetchall()}
        rows = [SQL("(%s::int, %s::text, %s::varchar, %s::timestamp, %s::int)", pid,
                    json.dumps(state, sort_keys=True), state.get("state") or "closed",
                    outbox.from_epoch(state.get("opened_at")),
                    int(state.get("consecutive_failures") or 0))
                for pid, state in sorted(states.items())]
        self.env.cr.execute(SQL(
            "UPDATE shipment_sync_partner p SET outbox_breaker_data = v.data, "
            "outbox_breaker_state = v.state, outbox_breaker_opened_at = v.opened, "
            "outbox_breaker_failures = v.failures FROM (VALUES %s) "
            "v (id, data, state, opened, failures) WHERE p.id = v.id", SQL(", ").join(rows)))
        self.browse(list(states)).invalidate_recordset(
            ["outbox_breaker_data", "outbox_breaker_state", "outbox_breaker_opened_at",
             "outbox_breaker_failures"])
        self._outbox_publish_breakers(before, states, closed_by=closed_by)

    @api.model
    def _outbox_publish_breakers(self, before, states, closed_by="probe"):
        """``partner.breaker_opened`` when a breaker leaves closed for open, and
        ``partner.breaker_closed`` when it comes back to closed (a half-open probe
        failing reopens the same episode: no new event), to the subscriptions that
        chose them, in the transaction that stores the breaker. The time it (last)
        opened names each event: stored twice, published once."""
        Subscription = self.env["shipment.sync.subscription"]
        for pid, state in sorted(states.items()):
            old, old_data = before.get(pid, ("closed", None))
            new = state.get("state") or "closed"
            partner = self.browse(pid)
            if new == "open" and old == "closed":
                opened_at = state.get("opened_at")
                Subscription._outbox_publish_partner_event(
                    partner, cat.BREAKER_OPENED, key=(opened_at,),
                    occurred_at=outbox.from_epoch(opened_at),
                    data={"opened_at": cat.iso(outbox.from_epoch(opened_at)),
                          "consecutive_failures": int(state.get("consecutive_failures") or 0)})
            elif new == "closed" and old != "closed":
                opened_at = brk.from_dict(json.loads(old_data) if old_data else None).opened_at
                Subscription._outbox_publish_partner_event(
                    partner, cat.BREAKER_CLOSED, key=(opened_at,),
                    occurred_at=fields.Datetime.now(),
                    data={"opened_at": cat.iso(outbox.from_epoch(opened_at)),
                          "closed_by": closed_by})

    # ------------------------------------------------------------------
    # actions
    # ------------------------------------------------------------------
    def action_outbox_reset_breaker(self):
        """Close the breaker by hand (after a partner confirmed its recovery)."""
        for partner in self:
            partner._outbox_lock()
            partner._outbox_store_breaker(brk.to_dict(brk.BreakerState()), closed_by="manual")
            partner.message_post(body=_("Circuit breaker closed by %s.", self.env.user.name))
        self.env["shipment.sync.job"]._outbox_trigger(("high", "low"))
        return True

    def action_outbox_resume(self):
        """End a partner-wide pause by hand (the partner said it is ready again)."""
        for partner in self.filtered("outbox_paused_until"):
            partner._outbox_lock()
            partner._outbox_store_pause(None, None)
            partner.message_post(body=_("Outbound pause lifted by %s.", self.env.user.name))
        self.env["shipment.sync.job"]._outbox_trigger(("high", "low"))
        return True

    def action_view_outbox_jobs(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "shipment_sync.shipment_sync_job_action")
        action["domain"] = [("partner_id", "=", self.id)]
        action["context"] = {"default_partner_id": self.id, "search_default_open": 1}
        return action

    def action_view_outbox_dead(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "shipment_sync.shipment_sync_job_dead_action")
        action["domain"] = [("state", "=", "dead"), ("partner_id", "=", self.id)]
        return action
