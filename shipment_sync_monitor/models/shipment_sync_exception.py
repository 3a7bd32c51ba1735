from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from odoo.addons.shipment_sync.models.cron_retry import retry_conflicts
from odoo.addons.shipment_sync.models.event_origin import EventOrigin
from odoo.addons.shipment_sync.models.stock_picking import automatic_author

from shipsync import milestones as ms
from shipsync import monitor as mon
from shipsync import triage

from .monitor_indexes import create_indexes

#: Exception reasons raised by a failing outbox job (the card links it).
JOB_REASONS = frozenset({"sync_failed", "label_failed", "booking_rejected"})


def _notify(message, kind="success", next_action=None):
    """A client notification (the feedback of a workbench button); the view
    reloads afterwards so the buttons match the new state."""
    return {
        "type": "ir.actions.client", "tag": "display_notification",
        "params": {"message": message, "type": kind, "sticky": False,
                   "next": next_action or {"type": "ir.actions.client", "tag": "soft_reload"}},
    }


class ShipmentSyncException(models.Model):
    """One card of the exception workbench: an exception of one picking for one
    reason. Raised again, the same card is updated (UNIQUE(picking, reason));
    the picking's ledger stays the truth, the card is its working copy for the
    operations team (assignee, snooze, resolution note, chatter)."""

    _name = "shipment.sync.exception"
    _description = "Shipment Sync Exception"
    _inherit = ["mail.thread", "mail.activity.mixin", "shipment.sync.exception.triage"]
    # Open cards first, then by customer impact.
    _order = "state_sequence, impact_score desc nulls last, opened_at desc, id desc"
    _rec_name = "name"

    name = fields.Char(compute="_compute_name", store=True)
    picking_id = fields.Many2one("stock.picking", "Transfer", required=True, index=True,
                                 ondelete="cascade", readonly=True)
    reason = fields.Selection(ms.CARD_REASON_SELECTION, required=True, index=True,
                              readonly=True)
    origin = fields.Selection(
        [("partner", "Partner"), ("suite", "Shipment Sync")], compute="_compute_origin",
        store=True, help="Reported by a partner, or raised by the suite itself.")
    company_id = fields.Many2one(related="picking_id.company_id", store=True, index=True)
    partner_id = fields.Many2one("shipment.sync.partner", "Reported by", index=True,
                                 readonly=True, ondelete="set null")
    warehouse_id = fields.Many2one(related="picking_id.picking_type_id.warehouse_id",
                                   store=True, index=True, string="Warehouse")
    carrier_id = fields.Many2one(related="picking_id.carrier_id", store=True, index=True,
                                 string="Carrier")
    milestone = fields.Selection(related="picking_id.shipment_milestone")
    correlation_id = fields.Char(related="picking_id.shipment_correlation_id")
    opened_at = fields.Datetime("Opened", required=True, readonly=True, index=True,
                                default=fields.Datetime.now)
    last_seen_at = fields.Datetime("Last seen", readonly=True)
    raise_count = fields.Integer("Times raised", default=1, readonly=True)
    message = fields.Char("Last message", readonly=True)
    user_id = fields.Many2one("res.users", "Assignee", tracking=True, index=True,
                              domain=lambda self: [("groups_id", "in", self.env.ref(
                                  "shipment_sync.group_user").id)])
    snooze_until = fields.Datetime(tracking=True, readonly=True)
    state = fields.Selection(
        [("open", "Open"), ("snoozed", "Snoozed"), ("resolved", "Resolved")],
        default="open", required=True, index=True, tracking=True, readonly=True)
    state_sequence = fields.Integer(compute="_compute_state_sequence", store=True)
    resolution_note = fields.Text(readonly=True, tracking=True)
    resolved_at = fields.Datetime(readonly=True)
    resolved_by_id = fields.Many2one("res.users", "Resolved by", readonly=True)
    age_bucket = fields.Selection(mon.AGE_BUCKET_SELECTION, "Age", index=True, readonly=True,
                                  help="Refreshed by the monitor's cron.")
    sla_deadline = fields.Datetime("SLA deadline", compute="_compute_sla_deadline", store=True)
    sla_status = fields.Selection(mon.SLA_STATUS_SELECTION, "SLA",
                                  compute="_compute_sla_status")
    age_hours = fields.Float("Age (hours)", compute="_compute_sla_status", digits=(16, 1))
    job_id = fields.Many2one("shipment.sync.job", "Failing job", readonly=True,
                             ondelete="set null")
    job_state = fields.Selection(related="job_id.state", string="Job state")
    alert_rule_id = fields.Many2one("shipment.sync.alert.rule", "Alert rule", readonly=True,
                                    ondelete="set null")
    can_request_label = fields.Boolean(compute="_compute_remedies")
    can_release_wms = fields.Boolean(compute="_compute_remedies")

    # triage (methods in shipment.sync.exception.triage)
    suggested_priority = fields.Selection(triage.PRIORITY_SELECTION, "Priority", readonly=True,
                                          index=True)
    suggested_action = fields.Selection(triage.ACTION_SELECTION, "Suggested action", readonly=True)
    triage_rule_id = fields.Many2one("shipment.sync.triage.rule", "Triage rule",
                                     readonly=True, ondelete="set null")
    triage_note = fields.Text(related="triage_rule_id.note", string="Instructions")
    promised_date = fields.Datetime(
        readonly=True, help="Delivery date promised to the customer: the sale order's "
        "commitment date, else the transfer's deadline.")
    currency_id = fields.Many2one(related="company_id.currency_id")
    order_value = fields.Monetary(
        readonly=True, currency_field="currency_id",
        help="Total of the sale order, in the company currency.")
    destination_country_id = fields.Many2one(
        related="picking_id.partner_id.country_id", store=True, string="Destination country")
    lane_repeat_count = fields.Integer(
        "Repeats on the lane", readonly=True,
        help="Other exceptions opened in the last 30 days on the same lane "
        "(same carrier and destination country).")
    impact_score = fields.Float(
        "Impact", readonly=True, digits=(16, 2), index=True, aggregator="max",
        help="Customer impact, 0 to 100: priority, closeness of the promised date (overdue "
        "counts more), order value and repeat exceptions on the lane. Refreshed when the "
        "exception is raised and by the monitor's cron.")
    pending_action = fields.Selection(
        triage.ACTION_SELECTION, "Action under way", readonly=True,
        help="The action started from this card; recorded as the resolution's action "
        "when the card closes.")
    resolution_action = fields.Selection(triage.ACTION_SELECTION, "Action taken", readonly=True,
                                         tracking=True, index=True)
    resolution_hours = fields.Float("Hours to resolve", readonly=True, digits=(16, 2),
                                    aggregator="avg")
    can_do_suggested = fields.Boolean(
        compute="_compute_can_do_suggested",
        help="The suggested action can be started from the card (its remedy can run here).")
    fastest_action = fields.Selection(triage.ACTION_SELECTION, "Fastest historically",
                                      compute="_compute_fastest")
    fastest_hint = fields.Char("Fastest historically (hint)", compute="_compute_fastest")

    _sql_constraints = [
        ("picking_reason_uniq", "UNIQUE(picking_id, reason)",
         "A transfer has one exception card per reason."),
    ]

    def init(self):
        res = super().init()
        create_indexes(self.env.cr)
        return res

    @api.depends("picking_id.name", "reason")
    def _compute_name(self):
        labels = dict(ms.CARD_REASON_SELECTION)
        for card in self:
            card.name = f"{card.picking_id.name or '?'}: {labels.get(card.reason, card.reason)}"

    @api.depends("reason")
    def _compute_origin(self):
        for card in self:
            card.origin = "suite" if card.reason in ms.SUITE_REASONS \
                or card.reason in ms.SIDE_REASONS else "partner"

    @api.depends("state")
    def _compute_state_sequence(self):
        order = {"open": 0, "snoozed": 1, "resolved": 2}
        for card in self:
            card.state_sequence = order.get(card.state, 3)

    @api.depends("opened_at", "reason")
    def _compute_sla_deadline(self):
        for card in self:
            card.sla_deadline = mon.sla_deadline(card.opened_at, card.reason) \
                if card.opened_at else False

    @api.depends("opened_at", "reason", "state", "resolved_at")
    def _compute_sla_status(self):
        now = fields.Datetime.now()
        for card in self:
            end = card.resolved_at if card.state == "resolved" and card.resolved_at else now
            if card.opened_at:
                card.sla_status = mon.sla_status(card.opened_at, card.reason, end)
                card.age_hours = mon.age_hours(card.opened_at, end)
            else:
                card.sla_status, card.age_hours = "ok", 0.0

    @api.depends("picking_id", "reason", "state")
    def _compute_remedies(self):
        for card in self:
            picking = card.picking_id
            active = card.state != "resolved" and picking
            card.can_request_label = bool(
                active and picking._shipment_monitor_can_request_label(card.reason))
            card.can_release_wms = bool(
                active and picking._shipment_monitor_can_release_wms(card.reason))

    @api.depends("suggested_action", "state", "job_id.state", "can_release_wms",
                 "can_request_label")
    def _compute_can_do_suggested(self):
        for card in self:
            card.can_do_suggested = bool(
                card.suggested_action and card.state != "resolved"
                and card._triage_runnable(card.suggested_action))

    @api.depends("reason", "company_id")
    def _compute_fastest(self):
        labels = dict(self._fields["fastest_action"]._description_selection(self.env))
        by_company = {}
        for company in self.company_id:
            by_company[company.id] = self._triage_fastest(
                company, self.filtered(lambda c, co=company: c.company_id == co).mapped("reason"))
        for card in self:
            best = by_company.get(card.company_id.id, {}).get(card.reason)
            card.fastest_action = best.action if best else False
            card.fastest_hint = _(
                "Fastest historically: %(action)s (%(hours)s h, n=%(count)s)",
                action=labels.get(best.action, best.action), hours=f"{best.median_hours:g}",
                count=best.count) if best else False

    # ------------------------------------------------------------------
    # upkeep, driven by the picking's exception track
    # ------------------------------------------------------------------
    @api.model
    def _monitor_raise(self, picking, reason, partner=None, at=None, message=None,
                       alert_rule=None):
        """The exception ``reason`` of ``picking`` was raised (opened, or raised
        again): create its card, or update the existing one (reopened if it was
        resolved, woken if snoozed)."""
        now = fields.Datetime.now()
        at = at or now
        card = self.sudo().with_context(active_test=False).search(
            [("picking_id", "=", picking.id), ("reason", "=", reason)], limit=1)
        job = self._monitor_failing_job(picking, reason)
        if not card:
            card = self.sudo().create({
                "picking_id": picking.id, "reason": reason,
                "partner_id": partner.id if partner else False, "opened_at": at,
                "last_seen_at": at, "message": (message or "")[:250] or False,
                "age_bucket": mon.age_bucket(at, now), "job_id": job.id if job else False,
                "alert_rule_id": alert_rule.id if alert_rule else False,
                "user_id": (partner.responsible_user_id.id if partner else False) or False,
            })
            card.message_post(body=_("Exception opened by %s.",
                                     partner.name if partner else _("Odoo")))
            card._monitor_schedule_activity(partner)
            # Only this card: the other cards of its lane get their new repeat
            # count from the cron (writing them here would make concurrent
            # webhooks of one lane wait on each other's rows).
            card._triage_refresh()
            return card
        vals = {"last_seen_at": at, "raise_count": card.raise_count + 1}
        if message:
            vals["message"] = message[:250]
        if partner:
            vals["partner_id"] = partner.id
        if job:
            vals["job_id"] = job.id
        if alert_rule:
            vals["alert_rule_id"] = alert_rule.id
        if card.state != "open":
            vals.update(state="open", snooze_until=False, resolved_at=False,
                        resolved_by_id=False, opened_at=at,
                        age_bucket=mon.age_bucket(at, now))
            if card.state == "resolved":
                vals["resolution_note"] = False
        previous = card.state
        card.write(vals)
        if previous == "resolved":
            card._monitor_schedule_activity(partner)
        card.message_post(body=_(
            "Raised again by %(who)s (%(count)s times)%(wake)s.",
            who=partner.name if partner else _("Odoo"), count=vals["raise_count"],
            wake={"resolved": _(", reopened"), "snoozed": _(", woken from snooze")}.get(
                previous, "")))
        card._triage_refresh()
        return card

    def _message_compute_author(self, author_id=None, email_from=None, raise_on_email=True):
        return super()._message_compute_author(
            automatic_author(self.env, author_id, email_from), email_from, raise_on_email)

    def _monitor_activities(self):
        """The open exception to-dos of these cards."""
        activity_type = self.env.ref("shipment_sync.mail_activity_type_shipment_exception")
        return self.sudo().activity_ids.filtered(lambda a: a.activity_type_id == activity_type)

    def _monitor_schedule_activity(self, partner=None):
        """The one to-do of this exception, for its assignee (else the partner's
        or the transfer's responsible), unless it has one already."""
        for card in self.sudo():
            if card._monitor_activities():
                continue
            user = card.user_id or card.picking_id._shipment_exception_responsible(partner)
            card.activity_schedule(
                "shipment_sync.mail_activity_type_shipment_exception",
                summary=_("Shipment exception: %s", card.name),
                note=_("%(partner)s reported: %(reason)s",
                       partner=partner.name if partner else _("Odoo"),
                       reason=dict(ms.CARD_REASON_SELECTION).get(card.reason, card.reason)),
                user_id=user.id)

    @api.model
    def _monitor_failing_job(self, picking, reason):
        """The outbox job behind a suite exception: the latest dead (or
        cancelled) job of the transfer, for a sync failure or a failed
        booking; None for the other reasons."""
        if reason not in JOB_REASONS:
            return None
        jobs = picking.sudo().shipment_job_ids.filtered(
            lambda j: j.state in ("dead", "cancelled"))
        return jobs.sorted(lambda j: (j.write_date or j.create_date, j.id), reverse=True)[:1]

    def _monitor_close(self, note, origin=None):
        """Mark these cards resolved (the picking's exception is no longer open)
        and record the action that resolved each one. ``origin`` (an
        ``EventOrigin``): its note, when given, is the resolution note, its
        user the one who resolved."""
        cards = self.filtered(lambda c: c.state != "resolved")
        if not cards:
            return
        given_note = origin.note if origin else None
        by_uid = origin.resolved_by if origin else None
        actions = {}
        for card in cards:
            picking = card.picking_id
            superseded = not given_note and \
                picking.shipment_exception_state == "open" and \
                picking.shipment_exception_reason != card.reason
            # A card superseded by another reason was not resolved by anything.
            actions[card.id] = False if superseded else card._triage_resolution_action(origin)
        cards.sudo().write({
            "state": "resolved", "resolved_at": fields.Datetime.now(),
            "resolution_note": given_note or note, "snooze_until": False,
            "resolved_by_id": by_uid or False,
        })
        for card in cards:
            card.sudo().message_post(body=_("Resolved: %s", given_note or note))
            card.sudo().activity_ids.action_feedback(feedback=_("Exception resolved"))
        for card in cards.sudo():
            card.write({
                "resolution_action": actions[card.id], "pending_action": False,
                "resolution_hours": triage.resolution_hours(card.opened_at, card.resolved_at)
                if actions[card.id] and card.opened_at and card.resolved_at else 0.0,
            })

    def write(self, vals):
        # Reopened (raised again after a resolution): the old resolution is history.
        if vals.get("state") == "open" and "resolution_action" not in vals and any(
                card.state == "resolved" for card in self):
            reopened = self.filtered(lambda c: c.state == "resolved")
            res = super().write(vals)
            super(ShipmentSyncException, reopened).write(self._triage_reset_vals())
            return res
        return super().write(vals)

    # ------------------------------------------------------------------
    # actions of the workbench
    # ------------------------------------------------------------------
    def _check_open(self):
        resolved = self.filtered(lambda c: c.state == "resolved")
        if resolved:
            raise UserError(_("%s is already resolved.", ", ".join(resolved.mapped("name"))))

    def action_assign_to_me(self):
        return self._monitor_assign(self.env.user)

    def _monitor_assign(self, user):
        self._check_open()
        if not user:
            raise UserError(_("Choose the person to assign."))
        changed = self.filtered(lambda c: c.user_id != user)
        for card in changed:
            card.user_id = user
            card.message_post(body=_("Assigned to %(user)s by %(by)s.", user=user.name,
                                     by=self.env.user.name))
            activities = card._monitor_activities()
            if activities:
                # The exception keeps its one to-do; it changes hands.
                activities.write({"user_id": user.id})
            else:
                card._monitor_schedule_activity(card.partner_id)
        if not changed:
            message = _("Already assigned to you.") if user == self.env.user else \
                _("Already assigned to %s.", user.name)
        else:
            message = _("%(count)s exception(s) assigned to %(user)s.", count=len(changed),
                        user=user.name)
        return _notify(message, "info" if not changed else "success")

    def _monitor_snooze(self, until):
        self._check_open()
        now = fields.Datetime.now()
        if not until or until <= now:
            raise UserError(_("Snooze until a date in the future."))
        for card in self:
            card.write({"state": "snoozed", "snooze_until": until})
            card.message_post(body=_("Snoozed until %(until)s by %(user)s.",
                                     until=fields.Datetime.to_string(until),
                                     user=self.env.user.name))
        return True

    def action_wake(self):
        cards = self.filtered(lambda c: c.state == "snoozed")
        cards.write({"state": "open", "snooze_until": False})
        for card in cards:
            card.message_post(body=_("Woken by %s.", self.env.user.name))
        return True

    def _monitor_resolve(self, note, action=None):
        """Resolve with a note, through the picking's own resolution (a ledger
        event), so that the milestone stays the replay of the ledger.
        ``action``: the triage action that resolved it, as the person says."""
        self._check_open()
        note = (note or "").strip()
        if not note:
            raise UserError(_("A resolution note is required."))
        for card in self:
            picking = card.picking_id
            card.message_post(body=_("Resolution requested by %(user)s: %(note)s",
                                     user=self.env.user.name, note=note))
            origin = EventOrigin(note=note, resolved_by=self.env.uid, action=action)
            if picking.shipment_exception_state == "open" and \
                    picking.shipment_exception_reason == card.reason:
                picking._shipment_resolve_exception(origin=origin)
            # The picking's track had moved on already (another reason, or
            # resolved): the card is closed on its own.
            card._monitor_close(note, origin=origin)
        return True

    def action_retry_job(self):
        return self._triage_remedy("replay_job", "_monitor_retry_job")

    def _monitor_retry_job(self):
        self.ensure_one()
        job = self.job_id
        if not job or job.state not in ("dead", "cancelled"):
            raise UserError(_("This exception has no dead or cancelled job to replay."))
        job.action_replay()
        self.message_post(body=_("Job %(job)s replayed by %(user)s.", job=job.display_name,
                                 user=self.env.user.name))
        return _notify(_("%s queued again: the card closes when it goes through.",
                         job.display_name))

    def action_request_label(self):
        return self._triage_remedy("request_label", "_monitor_request_label")

    def _monitor_request_label(self):
        self.ensure_one()
        if not self.can_request_label:
            raise UserError(_("No carrier integration can re-request a label for %s.",
                              self.picking_id.name))
        result = self.picking_id._shipment_monitor_request_label(self.reason)
        self.message_post(body=_("Label re-requested by %s.", self.env.user.name))
        return result if isinstance(result, dict) else _notify(
            _("Label re-requested for %s: the carrier is asked again in the background.",
              self.picking_id.name))

    def action_release_wms(self):
        return self._triage_remedy("release_wms", "_monitor_release_wms")

    def _monitor_release_wms(self):
        self.ensure_one()
        if not self.can_release_wms:
            raise UserError(_("No warehouse integration can re-release %s.",
                              self.picking_id.name))
        result = self.picking_id._shipment_monitor_release_wms(self.reason)
        self.message_post(body=_("Re-released to the warehouse by %s.", self.env.user.name))
        return result if isinstance(result, dict) else _notify(
            _("%s released to the warehouse again.", self.picking_id.name))

    def action_open_picking(self):
        self.ensure_one()
        return {"type": "ir.actions.act_window", "res_model": "stock.picking",
                "res_id": self.picking_id.id, "view_mode": "form", "views": [(False, "form")]}

    def action_open_events(self):
        self.ensure_one()
        action = self.picking_id.action_view_shipment_events()
        return action

    def action_open_job(self):
        self.ensure_one()
        return {"type": "ir.actions.act_window", "res_model": "shipment.sync.job",
                "res_id": self.job_id.id, "view_mode": "form", "views": [(False, "form")]}

    def _monitor_wizard(self, mode):
        return {
            "type": "ir.actions.act_window", "res_model": "shipment.sync.exception.wizard",
            "view_mode": "form", "target": "new", "name": _("Exception"),
            "context": {"default_exception_ids": self.ids, "default_mode": mode},
        }

    def action_assign_wizard(self):
        return self._monitor_wizard("assign")

    def action_snooze_wizard(self):
        return self._monitor_wizard("snooze")

    def action_resolve_wizard(self):
        return self._monitor_wizard("resolve")

    # ------------------------------------------------------------------
    # cron
    # ------------------------------------------------------------------
    @api.model
    @retry_conflicts
    def _cron_refresh(self, now=None):
        """Wake snoozed cards whose date has come; refresh the age buckets and
        the triage of the live cards."""
        now = now or fields.Datetime.now()
        due = self.search([("state", "=", "snoozed"), ("snooze_until", "<=", now)])
        if due:
            due.write({"state": "open", "snooze_until": False})
            for card in due:
                card.message_post(body=_("Snooze ended."))
        live = self.search([("state", "!=", "resolved")])
        by_bucket = {}
        for card in live:
            by_bucket.setdefault(mon.age_bucket(card.opened_at, now), []).append(card.id)
        for bucket, ids in by_bucket.items():
            cards = self.browse(ids).filtered(lambda c, b=bucket: c.age_bucket != b)
            if cards:
                cards.write({"age_bucket": bucket})
        self.search([("state", "!=", "resolved")])._triage_refresh(now)
        return len(due)

    @api.model
    def _monitor_demo(self):
        """Demo data: open exceptions on a few outgoing transfers."""
        pickings = self.env["stock.picking"].search(
            [("picking_type_code", "=", "outgoing"), ("state", "not in", ("done", "cancel"))],
            limit=3, order="id")
        for picking, reason in zip(pickings, ("address_issue", "label_failed", "sync_failed"),
                                   strict=False):
            picking._shipment_internal_event(exception_reason=reason,
                                             message=_("Demo exception"))

    def _monitor_snooze_default(self):
        return fields.Datetime.now() + timedelta(days=1)
