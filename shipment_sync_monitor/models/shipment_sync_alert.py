from odoo import _, api, fields, models
from odoo.tools import html_escape

from odoo.addons.shipment_sync.models.event_origin import EventOrigin


class ShipmentSyncAlert(models.Model):
    """One breach of an alert rule, for one subject (a picking or a partner),
    from the evaluation that saw it start to the one that saw it end. A
    partner breach is an ops alert of its own; a picking breach also opens an
    ``sla_breach`` exception on the picking (through the ledger)."""

    _name = "shipment.sync.alert"
    _description = "Shipment Sync Alert"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "state, started_at desc, id desc"

    name = fields.Char(required=True, readonly=True)
    rule_id = fields.Many2one("shipment.sync.alert.rule", required=True, index=True,
                              ondelete="cascade", readonly=True)
    kind = fields.Selection(related="rule_id.kind", store=True)
    company_id = fields.Many2one("res.company", index=True, readonly=True)
    subject_key = fields.Char(required=True, index=True, readonly=True)
    picking_id = fields.Many2one("stock.picking", index=True, readonly=True,
                                 ondelete="cascade")
    partner_id = fields.Many2one("shipment.sync.partner", index=True, readonly=True,
                                 ondelete="cascade")
    exception_id = fields.Many2one("shipment.sync.exception", readonly=True,
                                   ondelete="set null")
    state = fields.Selection([("active", "Breaching"), ("cleared", "Cleared")],
                             default="active", required=True, index=True, readonly=True,
                             tracking=True)
    started_at = fields.Datetime(readonly=True, required=True)
    cleared_at = fields.Datetime(readonly=True)
    first_value = fields.Float(readonly=True)
    last_value = fields.Float(readonly=True)
    notified = fields.Boolean(readonly=True)

    @api.model
    def _monitor_open(self, rule, subject_id, value, now):
        vals = {"rule_id": rule.id, "subject_key": rule._subject_key(subject_id),
                "started_at": now, "first_value": value or 0.0, "last_value": value or 0.0}
        if rule.scope == "picking":
            picking = self.env["stock.picking"].sudo().browse(subject_id)
            vals.update(picking_id=picking.id, company_id=picking.company_id.id,
                        name=_("%(rule)s: %(picking)s", rule=rule.name, picking=picking.name))
            alert = self.create(vals)
            picking._shipment_internal_event(
                exception_reason="sla_breach", message=rule.name[:250],
                origin=EventOrigin(alert_rule=rule.id))
            card = self.env["shipment.sync.exception"].sudo().search(
                [("picking_id", "=", picking.id), ("reason", "=", "sla_breach")], limit=1)
            alert.exception_id = card
            alert._monitor_notify(card or alert)
        else:
            partner = self.env["shipment.sync.partner"].sudo().browse(subject_id)
            vals.update(partner_id=partner.id, company_id=partner.company_id.id,
                        name=_("%(rule)s: %(partner)s (%(value)s %(unit)s)", rule=rule.name,
                               partner=partner.name, value=round(value or 0.0, 1),
                               unit=rule.unit))
            alert = self.create(vals)
            alert._monitor_notify(alert)
        return alert

    def _monitor_notify(self, record):
        """Once per breach: an activity for each user of the rule's group and
        one email to them."""
        self.ensure_one()
        rule = self.rule_id
        users = rule.group_id.users.filtered(lambda u: u.active and not u.share)
        todo = self.env.ref("mail.mail_activity_data_todo")
        for user in users:
            record.activity_schedule(activity_type_id=todo.id, user_id=user.id,
                                     summary=self.name[:200])
        emails = [u.email_formatted for u in users if u.email]
        if rule.notify_email and emails:
            self.env["mail.mail"].sudo().create({
                "subject": _("Shipment Sync alert: %s", self.name),
                "body_html": "<p>{}</p>".format(html_escape(
                    _("Rule %(rule)s breached: %(name)s", rule=rule.name, name=self.name))),
                "email_to": ", ".join(emails),
                "model": record._name, "res_id": record.id,
            })
        self.notified = True
        self.message_post(body=_("Breach started; %s user(s) notified.", len(users)))

    def _monitor_clear(self, now):
        for alert in self.filtered(lambda a: a.state == "active"):
            alert.write({"state": "cleared", "cleared_at": now})
            alert.activity_ids.action_feedback(feedback=_("Breach cleared"))
            picking = alert.picking_id
            if picking and picking.shipment_exception_state == "open" and \
                    picking.shipment_exception_reason == "sla_breach":
                picking._shipment_internal_event(
                    resolves_exception=True,
                    message=_("SLA rule cleared: %s", alert.rule_id.name)[:250],
                    origin=EventOrigin(note=_("Rule no longer breached: %s",
                                              alert.rule_id.name)))
            alert.message_post(body=_("Breach cleared."))
