from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from shipsync import triage

#: Lane = carrier + destination country; repeats are counted over this window.
LANE_WINDOW_DAYS = 30
#: The fastest action per reason is learned from its latest resolutions.
FASTEST_SAMPLE = 2000


class ShipmentSyncExceptionTriage(models.AbstractModel):
    """Triage of the workbench cards, composed by ``shipment.sync.exception``
    (which holds the fields): a suggested priority and next action from the
    rules, a customer-impact score that orders the workbench, and the action
    that resolved each card (to learn which action works fastest)."""

    _name = "shipment.sync.exception.triage"
    _description = "Shipment Sync exception triage"

    # ------------------------------------------------------------------
    # suggestion and impact
    # ------------------------------------------------------------------
    def _triage_order_value(self):
        """Sale order total in the company currency (0 without a sale order)."""
        self.ensure_one()
        sale = self.picking_id.sale_id
        if not sale:
            return 0.0
        company = self.company_id or self.env.company
        return sale.currency_id._convert(sale.amount_total, company.currency_id, company,
                                         sale.date_order or fields.Date.today())

    def _triage_lane_repeats(self, now):
        """Card -> number of *other* cards opened in the window on its lane
        (same company, carrier and destination country)."""
        since = now - timedelta(days=LANE_WINDOW_DAYS)
        groups = self.sudo()._read_group(
            [("opened_at", ">=", since), ("company_id", "in", self.company_id.ids),
             ("carrier_id", "in", self.carrier_id.ids + [False])],
            ["company_id", "carrier_id", "destination_country_id"], ["__count"])
        counts = {(c.id, cr.id, co.id): n for c, cr, co, n in groups}
        result = {}
        for card in self:
            if not card.carrier_id and not card.destination_country_id:
                result[card.id] = 0  # no lane known
                continue
            total = counts.get((card.company_id.id, card.carrier_id.id,
                                card.destination_country_id.id), 0)
            own = 1 if card.opened_at and card.opened_at >= since else 0
            result[card.id] = max(0, total - own)
        return result

    def _triage_refresh(self, now=None):
        """Recompute the suggestion and the impact of these cards."""
        if not self:
            return
        now = now or fields.Datetime.now()
        Rule = self.env["shipment.sync.triage.rule"]
        rules_by_company = {}
        repeats = self._triage_lane_repeats(now)
        for card in self.sudo():
            company = card.company_id or self.env.company
            if company.id not in rules_by_company:
                rules_by_company[company.id] = Rule._triage_lookup(company)
            rule, record = rules_by_company[company.id].get(
                card.reason, (triage.rule_for(card.reason), Rule))
            if card.reason == "sla_breach" and self._triage_is_default(record):
                # No rule of their own: the kind of breach (where the shipment
                # is stuck) says what to do.
                rule = triage.rule_for(card.reason,
                                       stuck_milestone=card.alert_rule_id.milestone or None)
            promised = card.picking_id._shipment_promised_date() or False
            value = card._triage_order_value()
            vals = {
                "suggested_priority": rule.priority, "suggested_action": rule.action,
                "triage_rule_id": record.id or False, "promised_date": promised,
                "order_value": value, "lane_repeat_count": repeats[card.id],
                "impact_score": triage.impact_score(promised or None, now, value,
                                                    repeats[card.id], rule.priority),
            }
            changed = {k: v for k, v in vals.items()
                       if (card[k].id if k == "triage_rule_id" else card[k]) != v}
            if changed:
                card.write(changed)

    @api.model
    def _triage_is_default(self, record):
        """True when ``record`` (a triage rule or nothing) is the shared rule
        as seeded from shipsync's table: nobody made it their own."""
        if not record:
            return True
        default = triage.DEFAULT_RULES.get(record.reason)
        return bool(not record.company_id and default
                    and (record.priority, record.action) == (default.priority, default.action))

    def _triage_runnable(self, action):
        """True when "Do suggested" can start ``action`` here: a remedy only
        when an integration can run it; any other action always (a mail, a
        to-do)."""
        self.ensure_one()
        if action not in triage.REMEDY_ACTIONS:
            return True
        return bool(
            (action == "replay_job" and self.job_id.state in ("dead", "cancelled"))
            or (action in ("replay_job", "release_wms") and self.can_release_wms)
            or (action in ("replay_job", "request_label") and self.can_request_label))

    # ------------------------------------------------------------------
    # learning from resolutions
    # ------------------------------------------------------------------
    @api.model
    def _triage_fastest(self, company, reasons=None):
        """reason -> shipsync ``Fastest`` over ``company``'s recorded resolutions
        (the latest ``FASTEST_SAMPLE`` of each reason), for ``reasons`` (all by
        default)."""
        domain = [("company_id", "=", company.id), ("state", "=", "resolved"),
                  ("resolution_action", "!=", False)]
        if reasons is None:
            groups = self.sudo()._read_group(domain, ["reason"])
            reasons = [reason for (reason,) in groups]
        rows = []
        for reason in sorted(set(reasons) - {False, None}):
            rows += self.sudo().search_read(
                domain + [("reason", "=", reason)],
                ["reason", "resolution_action", "resolution_hours"],
                order="resolved_at desc, id desc", limit=FASTEST_SAMPLE)
        return triage.fastest_actions(
            (r["reason"], r["resolution_action"], r["resolution_hours"] or 0.0) for r in rows)

    def _triage_resolution_action(self, origin=None):
        """The action that closed this card: the one given by the person
        resolving it (wizard), else the remedy started from the card, else a
        replayed job that went through, else the partner resolved it.
        ``origin``: the ``EventOrigin`` of the resolution, if any."""
        self.ensure_one()
        given = origin.action if origin else None
        if given in triage.ACTION_CODES:
            return given
        if self.pending_action:
            return self.pending_action
        if self.reason == "sync_failed" and self.job_id.state == "done":
            return "replay_job"
        if origin and origin.resolved_by:
            return "other"
        return "wait"

    def _triage_reset_vals(self):
        return {"resolution_action": False, "resolution_hours": 0.0, "pending_action": False}

    # ------------------------------------------------------------------
    # remedies record their action
    # ------------------------------------------------------------------
    def _triage_remedy(self, action, method_name):
        """Run the workbench remedy ``method_name`` as ``action``: the action is
        under way on the card while the remedy runs, so a card closed by it
        (now or once the partner confirms) records ``action``."""
        self.ensure_one()
        previous = self.pending_action
        self.sudo().pending_action = action
        try:
            return getattr(self, method_name)()
        except UserError:
            self.sudo().pending_action = previous
            raise

    def action_triage_do_suggested(self):
        """Run the suggested action: its remedy when the suite has one, the
        mail composer for the customer, else a to-do on the card."""
        self.ensure_one()
        self._check_open()
        action = self.suggested_action
        if not action:
            raise UserError(_("No action is suggested for %s.", self.name))
        if action in ("replay_job", "request_label", "release_wms"):
            if action == "replay_job" and self.job_id.state in ("dead", "cancelled"):
                return self.action_retry_job()
            if action in ("replay_job", "release_wms") and self.can_release_wms:
                return self.action_release_wms()
            if action in ("replay_job", "request_label") and self.can_request_label:
                return self.action_request_label()
            raise UserError(_(
                "Nothing to run for %(card)s: no integration can %(action)s here. "
                "Fix the cause, then resolve the exception with a note.",
                card=self.name, action=self._triage_action_label(action).lower()))
        if action == "contact_customer":
            return self._triage_contact_customer()
        self.sudo().pending_action = action
        # The exception's one to-do says what to do now (no second to-do).
        activities = self._monitor_activities()
        if activities:
            activities.write({"summary": self._triage_action_label(action),
                              "note": self.triage_note or False})
        else:
            self._monitor_schedule_activity(self.partner_id)
        self.message_post(body=_("%(action)s planned by %(user)s.",
                                 action=self._triage_action_label(action),
                                 user=self.env.user.name))
        return {"type": "ir.actions.client", "tag": "display_notification",
                "params": {"message": _("%s: planned, see the to-do.",
                                        self._triage_action_label(action)),
                           "type": "success", "sticky": False,
                           "next": {"type": "ir.actions.client", "tag": "soft_reload"}}}

    def _triage_action_label(self, action):
        return dict(self._fields["suggested_action"]._description_selection(self.env)).get(
            action, action or "")

    def _triage_contact_customer(self):
        """Open the mail composer on the transfer, to its customer, with the
        rule's template (the address confirmation for an address issue)."""
        self.ensure_one()
        picking = self.picking_id
        if not picking.partner_id:
            raise UserError(_("%s has no customer to contact.", picking.name))
        template = self.env["shipment.sync.triage.rule"]._triage_template(
            self.reason, self.company_id or self.env.company)
        self.sudo().pending_action = "contact_customer"
        ctx = {
            "default_model": "stock.picking", "default_res_ids": picking.ids,
            "default_composition_mode": "comment", "default_partner_ids": picking.partner_id.ids,
            "default_template_id": template.id or False,
            "default_subtype_xmlid": "mail.mt_comment",
        }
        return {
            "type": "ir.actions.act_window", "res_model": "mail.compose.message",
            "view_mode": "form", "views": [(False, "form")], "target": "new",
            "name": _("Contact the customer"), "context": ctx,
        }
