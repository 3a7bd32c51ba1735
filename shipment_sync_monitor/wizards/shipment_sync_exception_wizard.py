from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from shipsync import triage


class ShipmentSyncExceptionWizard(models.TransientModel):
    """Assign, snooze or resolve workbench cards (one or many)."""

    _name = "shipment.sync.exception.wizard"
    _description = "Shipment Sync Exception Action"

    exception_ids = fields.Many2many("shipment.sync.exception", string="Exceptions",
                                     required=True)
    mode = fields.Selection([("assign", "Assign"), ("snooze", "Snooze"),
                             ("resolve", "Resolve")], required=True, default="resolve")
    user_id = fields.Many2one("res.users", "Assignee", default=lambda self: self.env.user)
    snooze_until = fields.Datetime(default=lambda self: fields.Datetime.now()
                                   + timedelta(days=1))
    note = fields.Text("Resolution note")
    triage_action = fields.Selection(
        triage.ACTION_SELECTION, "Action taken",
        help="What resolved the exception; the workbench learns from it which action "
        "resolves each reason fastest. Defaults to the action under way or suggested.")

    @api.model
    def default_get(self, fields_list):
        res = super().default_get(fields_list)
        ids = self.env.context.get("default_exception_ids") or (
            self.env.context.get("active_ids")
            if self.env.context.get("active_model") == "shipment.sync.exception" else None)
        if ids:
            res["exception_ids"] = [fields.Command.set(ids)]
            if "triage_action" in fields_list and not res.get("triage_action"):
                cards = self.env["shipment.sync.exception"].browse(ids)
                actions = {c.pending_action or c.suggested_action for c in cards}
                if len(actions) == 1 and None not in actions and False not in actions:
                    res["triage_action"] = actions.pop()
        return res

    def action_confirm(self):
        self.ensure_one()
        cards = self.exception_ids
        if not cards:
            raise UserError(_("Select at least one exception."))
        if self.mode == "assign":
            result = cards._monitor_assign(self.user_id)
            result["params"]["next"] = {"type": "ir.actions.act_window_close"}
            return result
        if self.mode == "snooze":
            cards._monitor_snooze(self.snooze_until)
            message = _("%(count)s exception(s) snoozed until %(until)s.", count=len(cards),
                        until=fields.Datetime.to_string(self.snooze_until))
        else:
            if (self.note or "").strip() and not self.triage_action:
                raise UserError(_("Say which action resolved the exception."))
            cards._monitor_resolve(self.note, action=self.triage_action)
            message = _("%s exception(s) resolved.", len(cards))
        return {"type": "ir.actions.client", "tag": "display_notification",
                "params": {"message": message, "type": "success", "sticky": False,
                           "next": {"type": "ir.actions.act_window_close"}}}
