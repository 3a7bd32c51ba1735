"""The audit log of sensitive actions; how another model adopts the
configuration-change audit is told in shipment_sync_audit_mixin.py."""

import logging

from odoo import api, fields, models

from shipsync import pii

_logger = logging.getLogger(__name__)

AUDIT_ACTIONS = [
    ("replay", "Replay"),
    ("payload_edit", "Payload edit"),
    ("reveal", "Payload reveal"),
    ("manual_resolution", "Manual resolution"),
    ("auto_resolution", "Automatic resolution"),
    ("secret_change", "Secret changed"),
    ("secret_rotation", "Secret rotation"),
    ("export", "Audit export"),
    ("neutralize", "Neutralization"),
]


class ShipmentSyncAuditLog(models.Model):
    """One line per sensitive action, linking to the job, event, picking or
    partner it touched. Written with sudo by the actions themselves; nobody
    edits or deletes it from the UI."""

    _name = "shipment.sync.audit.log"
    _description = "Shipment Sync Audit Log"
    _order = "id desc"
    _rec_name = "action"

    action = fields.Selection(AUDIT_ACTIONS, required=True, readonly=True, index=True)
    user_id = fields.Many2one("res.users", "By", required=True, readonly=True, index=True,
                              default=lambda self: self.env.user)
    date = fields.Datetime(required=True, readonly=True, default=fields.Datetime.now, index=True)
    partner_id = fields.Many2one("shipment.sync.partner", readonly=True, index=True,
                                 ondelete="set null")
    company_id = fields.Many2one("res.company", readonly=True, index=True)
    res_model = fields.Char("Model", readonly=True, index=True)
    res_id = fields.Many2oneReference("Record ID", model_field="res_model", readonly=True,
                                      index=True)
    record_ref = fields.Reference(
        selection="_selection_record_ref", compute="_compute_record_ref", string="Record")
    note = fields.Text(readonly=True)

    @api.model
    def _selection_record_ref(self):
        models_ = ("shipment.sync.job", "shipment.sync.event", "stock.picking",
                   "shipment.sync.partner", "shipment.sync.subscription",
                   "shipment.sync.status.map")
        return [(m, self.env[m]._description) for m in models_ if m in self.env]

    @api.depends("res_model", "res_id")
    def _compute_record_ref(self):
        allowed = {m for m, _label in self._selection_record_ref()}
        for line in self:
            line.record_ref = f"{line.res_model},{line.res_id}" \
                if line.res_model in allowed and line.res_id else False

    @api.model
    def _log(self, action, records, partner=None, note=None):
        """One audit line per record (or one without a record)."""
        vals = []
        for record in records or [None]:
            rec_partner = partner or (record and "partner_id" in record._fields
                                      and record.partner_id) or None
            company = (record and "company_id" in record._fields and record.company_id) \
                or (rec_partner and rec_partner.company_id) or self.env.company
            vals.append({
                "action": action, "user_id": self.env.user.id,
                "partner_id": rec_partner.id if rec_partner else False,
                "company_id": company.id,
                "res_model": record._name if record else False,
                "res_id": record.id if record else False,
                "note": pii.mask_text(note) if note else False,
            })
        lines = self.sudo().create(vals)
        _logger.info("audit: %s by %s on %s", action, self.env.user.login,
                     ", ".join(f"{v['res_model']}#{v['res_id']}" for v in vals))
        return lines

    def _register_hook(self):
        # Every Shipment Sync logger (all addons are loaded now) masks personal data.
        pii.install_log_masking("odoo.addons.shipment_sync", "odoo.addons.shipment_sync_carrier",
                                "odoo.addons.shipment_sync_wms",
                                "odoo.addons.shipment_sync_monitor", "shipsync")
        return super()._register_hook()

    def action_open_record(self):
        self.ensure_one()
        if not self.record_ref:
            return False
        return {"type": "ir.actions.act_window", "res_model": self.res_model,
                "res_id": self.res_id, "view_mode": "form"}
