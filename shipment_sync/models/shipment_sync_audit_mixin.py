"""The configuration-change audit mixin (the audit log: shipment_sync_audit_log.py).

Adopting the mixin in another addon (e.g. alert rules in shipment_sync_monitor)::

    class ShipmentSyncAlertRule(models.Model):
        _name = "shipment.sync.alert.rule"
        _inherit = ["shipment.sync.alert.rule", "shipment.sync.audit.mixin"]
        _shipment_audit_secret_fields = ("webhook_token",)     # shown as "changed"
        _shipment_audit_x2many_fields = ("partner_ids",)       # old -> new names

Plain fields get ``tracking=True`` (Odoo's tracking: who, when, old -> new);
never put ``tracking=True`` on a secret, list it in ``_shipment_audit_secret_fields``.
Sensitive actions call ``env["shipment.sync.audit.log"]._log(action, record, ...)``.
"""

from markupsafe import Markup

from odoo import _, models


class ShipmentSyncAuditMixin(models.AbstractModel):
    """Chatter lines for what ``tracking=True`` cannot show safely: secret
    fields (a "changed" line, never the value) and x2many fields (old -> new
    names). The model must inherit ``mail.thread``."""

    _name = "shipment.sync.audit.mixin"
    _description = "Shipment Sync configuration audit"
    _shipment_audit_secret_fields = ()
    _shipment_audit_x2many_fields = ()

    def write(self, vals):
        secrets = [f for f in self._shipment_audit_secret_fields if f in vals]
        x2many = [f for f in self._shipment_audit_x2many_fields if f in vals]
        before = {}
        if x2many:
            for record in self:
                before[record.id] = {f: record[f].mapped("display_name") for f in x2many}
        res = super().write(vals)
        if self.env.context.get("tracking_disable") or not (secrets or x2many):
            return res
        for record in self:
            lines = []
            for fname in secrets:
                label = record._fields[fname].get_description(self.env)["string"]
                lines.append(_("%(field)s changed (value not shown).", field=label))
            for fname in x2many:
                old, new = before[record.id][fname], record[fname].mapped("display_name")
                if sorted(old) != sorted(new):
                    label = record._fields[fname].get_description(self.env)["string"]
                    lines.append(_("%(field)s: %(old)s → %(new)s", field=label,
                                   old=", ".join(old) or _("(none)"),
                                   new=", ".join(new) or _("(none)")))
            if lines:
                record.sudo().message_post(
                    body=Markup("<br/>").join(lines), message_type="notification",
                    subtype_xmlid="mail.mt_note", author_id=self.env.user.partner_id.id)
            if secrets:
                self.env["shipment.sync.audit.log"]._log(
                    "secret_change", record,
                    partner=record if record._name == "shipment.sync.partner" else None,
                    note=", ".join(secrets))
        return res
