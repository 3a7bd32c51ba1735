from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from shipsync import milestones as ms
from shipsync import triage

#: shipsync template keys -> the mail templates this addon ships.
TEMPLATE_XMLIDS = {
    "address_confirmation": "shipment_sync_monitor.mail_template_address_confirmation",
}


class ShipmentSyncTriageRule(models.Model):
    """What to do about an exception reason: a suggested priority, a next
    action and, for actions that write to the customer, a mail template.

    A rule without company applies to every company; a company's own rule for
    the same reason overrides it; a reason without any rule follows the
    default table of ``shipsync.triage``. Seeded (once) from that table."""

    _name = "shipment.sync.triage.rule"
    _description = "Exception triage rule"
    _inherit = ["mail.thread"]
    _order = "company_id nulls first, reason"
    _rec_name = "reason"

    reason = fields.Selection(ms.CARD_REASON_SELECTION, required=True, index=True,
                              tracking=True)
    company_id = fields.Many2one(
        "res.company", index=True, tracking=True,
        help="Leave empty to apply the rule to every company; a company's own rule for "
        "the same reason takes precedence.")
    priority = fields.Selection(triage.PRIORITY_SELECTION, required=True, default="normal",
                                tracking=True)
    action = fields.Selection(triage.ACTION_SELECTION, "Next action", required=True,
                              default="investigate", tracking=True)
    template_id = fields.Many2one(
        "mail.template", "Mail template", domain=[("model", "=", "stock.picking")],
        tracking=True, help="Used by 'Do suggested action' when the action contacts "
        "the customer: the mail composer opens on the transfer with this template.")
    note = fields.Text("Instructions", translate=True,
                       help="Shown on the exception card, for the person handling it.")
    active = fields.Boolean(default=True, tracking=True)

    _sql_constraints = [
        ("reason_company_uniq", "UNIQUE(reason, company_id)",
         "A company has one triage rule per reason."),
    ]

    @api.constrains("reason", "company_id")
    def _check_one_rule_per_reason(self):
        # UNIQUE(reason, company_id) lets NULLs repeat: one shared rule per reason too.
        for rule in self:
            if self.with_context(active_test=False).search_count([
                    ("reason", "=", rule.reason), ("company_id", "=", rule.company_id.id),
                    ("id", "!=", rule.id)]):
                raise ValidationError(_(
                    "There is already a triage rule for %(reason)s (%(scope)s).",
                    reason=rule.display_name,
                    scope=rule.company_id.name or _("all companies")))

    @api.depends("reason", "company_id")
    def _compute_display_name(self):
        labels = dict(self._fields["reason"]._description_selection(self.env))
        for rule in self:
            name = labels.get(rule.reason, rule.reason or "")
            rule.display_name = f"{name} ({rule.company_id.name})" if rule.company_id else name

    # ------------------------------------------------------------------
    # lookup
    # ------------------------------------------------------------------
    @api.model
    def _triage_lookup(self, company):
        """reason -> (shipsync Rule, rule record or empty) for ``company``: its
        own rules, then the shared ones, then shipsync's default table."""
        records = self.sudo().search([("company_id", "in", [company.id, False])])
        by_reason = {}
        # Shared rules first, so that the company's own rule overwrites them.
        for record in records.sorted(lambda r: bool(r.company_id)):
            by_reason[record.reason] = record
        result = {}
        for reason in ms.CARD_REASON_CODES:
            record = by_reason.get(reason, self.browse())
            if record:
                rule = triage.Rule(reason, record.priority, record.action, None)
            else:
                rule = triage.rule_for(reason)
            result[reason] = (rule, record)
        return result

    @api.model
    def _triage_template(self, reason, company):
        """The mail template of ``reason``'s rule for ``company`` (empty if none)."""
        rule, record = self._triage_lookup(company)[reason]
        if record:
            return record.template_id
        xmlid = TEMPLATE_XMLIDS.get(rule.template or "")
        return (self.env.ref(xmlid, raise_if_not_found=False) if xmlid else None) \
            or self.env["mail.template"]

    # ------------------------------------------------------------------
    # seed and upkeep
    # ------------------------------------------------------------------
    @api.model
    def _triage_seed(self):
        """Create the shared rules missing from shipsync's default table (run
        once at install, from noupdate data), then refresh the open cards."""
        existing = set(self.with_context(active_test=False).search(
            [("company_id", "=", False)]).mapped("reason"))
        vals = []
        for reason, rule in triage.DEFAULT_RULES.items():
            if reason in existing:
                continue
            xmlid = TEMPLATE_XMLIDS.get(rule.template or "")
            template = self.env.ref(xmlid, raise_if_not_found=False) if xmlid else None
            vals.append({"reason": reason, "priority": rule.priority, "action": rule.action,
                         "template_id": template.id if template else False})
        self.create(vals)
        return True

    @api.model_create_multi
    def create(self, vals_list):
        rules = super().create(vals_list)
        rules._triage_refresh_cards()
        return rules

    def write(self, vals):
        reasons = set(self.mapped("reason"))
        res = super().write(vals)
        self._triage_refresh_cards(reasons | set(self.mapped("reason")))
        return res

    def unlink(self):
        reasons = set(self.mapped("reason"))
        res = super().unlink()
        self._triage_refresh_cards(reasons)
        return res

    def _triage_refresh_cards(self, reasons=None):
        reasons = reasons if reasons is not None else set(self.mapped("reason"))
        if not reasons:
            return
        cards = self.env["shipment.sync.exception"].sudo().search(
            [("reason", "in", list(reasons)), ("state", "!=", "resolved")])
        cards._triage_refresh()
