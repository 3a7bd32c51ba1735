from datetime import timedelta

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from shipsync import silence as si

from .cron_retry import retry_conflicts

SILENCE_STATES = [
    ("learning", "Learning"),
    ("push", "Push (webhooks arrive)"),
    ("silent", "Silent"),
]
assert [code for code, _label in SILENCE_STATES] == list(si.STATES)


class ShipmentSyncPartnerSilence(models.AbstractModel):
    """Webhook silence detection of a partner (the policy is ``shipsync.silence``),
    a part of ``shipment.sync.partner``, composed by its one class.

    A cron learns, from the ledger, the usual gap between the partner's pushed
    arrivals (webhooks, broker messages); when the partner has shipments in transit
    and stays quiet for more than ``factor`` x that gap, it is *silent*: its
    in-transit shipments are polled where its carrier supports polling
    (``_silence_can_poll``, the carrier addon) and an ops alert opens (the monitor
    addon); when a push arrives again, polling stops and the alert clears. The
    webhook route itself does nothing more than store its rows: nothing is learned
    per request."""

    _name = "shipment.sync.partner.silence"
    _description = "Shipment Sync: webhook silence detection of a partner"
    _inherit = ["mail.thread"]  # its settings are tracked in the partner's chatter

    webhook_silence_watch = fields.Boolean(
        "Detect webhook silence", default=True, tracking=True,
        help="Learn the usual gap between this partner's webhooks; when it goes quiet "
        "while shipments are in transit, poll them (where the carrier supports polling) "
        "and alert ops.")
    webhook_silence_factor = fields.Float(
        "Silent after (x usual gap)", default=si.SilencePolicy.factor, tracking=True,
        help="The partner is silent when nothing was pushed for this many times its usual "
        "gap between webhooks.")
    webhook_silence_state = fields.Selection(
        SILENCE_STATES, "Webhook flow", default="learning", required=True, readonly=True,
        copy=False, index=True, tracking=True)
    webhook_usual_gap = fields.Float(
        "Usual gap between webhooks (s)", readonly=True, copy=False,
        help="Learned: the 90th percentile of the gaps between its pushed arrivals over "
        "the last 7 days (at least 15 minutes).")
    webhook_gap_samples = fields.Integer("Gaps learned from", readonly=True, copy=False)
    webhook_last_push_at = fields.Datetime("Last webhook", readonly=True, copy=False)
    webhook_silent_since = fields.Datetime("Silent since", readonly=True, copy=False)
    webhook_silence_polling = fields.Boolean(
        "Polling while silent", readonly=True, copy=False,
        help="Its in-transit shipments are being polled until its webhooks return.")

    @api.constrains("webhook_silence_factor")
    def _check_webhook_silence_factor(self):
        for partner in self:
            try:
                partner._silence_policy()
            except ValueError as exc:
                raise ValidationError(str(exc)) from None

    def _silence_policy(self):
        self.ensure_one()
        return si.SilencePolicy(factor=self.webhook_silence_factor or si.SilencePolicy.factor)

    # ------------------------------------------------------------------
    # the cron
    # ------------------------------------------------------------------
    @api.model
    @retry_conflicts
    def _cron_webhook_silence(self, now=None):
        """Learn each watched partner's usual gap from the ledger and switch the
        silent ones to polling (and back). Returns ``{partner id: Assessment}``."""
        now = now or fields.Datetime.now()
        partners = self.sudo().search([("webhook_silence_watch", "=", True)])
        if not partners:
            return {}
        arrivals = partners._silence_arrivals(now)
        in_transit = partners._silence_in_transit()
        results = {}
        for partner in partners:
            policy = partner._silence_policy()
            times = arrivals.get(partner.id, [])
            since = partner.webhook_silent_since if partner.webhook_silence_state == "silent" \
                else None
            verdict = si.assess(now, times, in_transit.get(partner.id, 0), policy,
                                silent_since=since)
            results[partner.id] = verdict
            vals = {"webhook_usual_gap": verdict.usual_gap or 0.0,
                    "webhook_gap_samples": verdict.samples,
                    "webhook_last_push_at": times[-1] if times else partner.webhook_last_push_at}
            was_silent = partner.webhook_silence_state == "silent"
            if verdict.silent and not was_silent:
                partner.write(dict(vals, webhook_silence_state="silent", webhook_silent_since=now))
                partner._silence_started(verdict, in_transit.get(partner.id, 0))
            elif was_silent and not verdict.silent:
                partner.write(dict(vals, webhook_silence_state=verdict.state,
                                   webhook_silent_since=False))
                partner._silence_ended(verdict, back=bool(times and times[-1] >= since))
            else:
                vals["webhook_silence_state"] = verdict.state
                # Only what changed: a partner row the outbox workers lock is not
                # rewritten every run for nothing.
                changed = {k: v for k, v in vals.items() if partner[k] != v}
                if changed:
                    partner.write(changed)
        return results

    def _silence_arrivals(self, now):
        """``{partner id: [arrival datetimes, oldest first]}``: the pushed arrivals of
        the learning window (the latest ``max_samples`` per partner), in one query."""
        policy = si.SilencePolicy()
        self.env["shipment.sync.event"].flush_model(["partner_id", "received_at", "pushed"])
        self.env.cr.execute(SQL(
            """SELECT partner_id, received_at FROM (
                   SELECT partner_id, received_at,
                          row_number() OVER (PARTITION BY partner_id
                                             ORDER BY received_at DESC) AS n
                     FROM shipment_sync_event
                    WHERE pushed AND direction = 'inbound' AND partner_id IN %s
                      AND received_at >= %s AND received_at <= %s) recent
                WHERE n <= %s ORDER BY partner_id, received_at""",
            tuple(self.ids), now - timedelta(hours=policy.window_hours), now,
            policy.max_samples))
        found = {}
        for partner_id, received_at in self.env.cr.fetchall():
            found.setdefault(partner_id, []).append(received_at)
        return found

    def _silence_in_transit(self):
        """``{partner id: shipments in transit whose milestone the partner set}``."""
        self.env["stock.picking"].flush_model(
            ["shipment_milestone", "shipment_milestone_partner_id", "state"])
        self.env.cr.execute(SQL(
            "SELECT shipment_milestone_partner_id, count(*) FROM stock_picking "
            "WHERE shipment_milestone_partner_id IN %s AND shipment_milestone IN %s "
            "AND state <> 'cancel' GROUP BY shipment_milestone_partner_id",
            tuple(self.ids), tuple(sorted(si.IN_TRANSIT))))
        return dict(self.env.cr.fetchall())

    def _silence_in_transit_pickings(self):
        """The shipments in transit this partner owes updates for."""
        self.ensure_one()
        return self.env["stock.picking"].sudo().search([
            ("shipment_milestone_partner_id", "=", self.id),
            ("shipment_milestone", "in", sorted(si.IN_TRANSIT)), ("state", "!=", "cancel")])

    # ------------------------------------------------------------------
    # hooks (the carrier addon polls, the monitor addon alerts)
    # ------------------------------------------------------------------
    def _silence_can_poll(self):
        """True when this partner's shipments can be polled (the carrier addon)."""
        self.ensure_one()
        return False

    def _silence_started(self, verdict, in_transit):
        """The partner just went silent: poll its in-transit shipments where it can be
        polled, and tell it in its chatter. Addons extend (the monitor alerts)."""
        self.ensure_one()
        polling = self._silence_can_poll()
        self.webhook_silence_polling = polling
        minutes = (verdict.quiet_for or 0) / 60.0
        usual = (verdict.usual_gap or 0) / 60.0
        if polling:
            what = _("its %(count)s shipment(s) in transit are polled until its webhooks "
                     "return.", count=in_transit)
        else:
            what = _("its carrier cannot be polled: tracking of its %(count)s shipment(s) "
                     "in transit waits for its webhooks.", count=in_transit)
        self.message_post(body=Markup("<p>%s</p>") % _(
            "Webhooks silent: nothing pushed for %(minutes).0f min (usual gap %(usual).0f "
            "min); %(what)s", minutes=minutes, usual=usual, what=what))

    def _silence_ended(self, verdict, back=True):
        """The partner's webhooks are back (``back``), or nothing is in transit any
        more: back to push. Addons extend (the monitor clears its alert)."""
        self.ensure_one()
        self.webhook_silence_polling = False
        if back:
            text = _("Webhooks back: tracking returns to push; polling of its shipments "
                     "stopped.")
        else:
            text = _("Webhook silence over: no shipment of this partner is in transit any "
                     "more; polling stopped.")
        self.message_post(body=Markup("<p>%s</p>") % text)
