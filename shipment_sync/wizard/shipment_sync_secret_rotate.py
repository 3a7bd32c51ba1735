import base64
import os

from odoo import _, fields, models
from odoo.exceptions import UserError


class ShipmentSyncSecretRotate(models.TransientModel):
    """Rotate a partner's webhook secret: the new one is current at once, the
    previous one stays accepted for the grace period."""

    _name = "shipment.sync.secret.rotate"
    _description = "Rotate a partner webhook secret"

    partner_id = fields.Many2one("shipment.sync.partner", required=True, ondelete="cascade")
    new_secret = fields.Char(
        help="Leave empty to generate one (Standard Webhooks whsec_ form); it is shown once.")
    grace_hours = fields.Integer(
        "Keep the previous secret (hours)", default=24,
        help="0 refuses the previous secret at once (use it after a leak).")
    state = fields.Selection([("draft", "Draft"), ("done", "Done")], default="draft")
    shown_secret = fields.Char("New secret", readonly=True)

    def action_rotate(self):
        self.ensure_one()
        if self.grace_hours < 0:
            raise UserError(_("The grace period cannot be negative."))
        secret = (self.new_secret or "").strip() or \
            "whsec_" + base64.b64encode(os.urandom(24)).decode("ascii")
        self.partner_id._shipment_rotate(secret, self.grace_hours)
        self.write({"state": "done", "new_secret": False,
                    "shown_secret": secret if not self.new_secret else False})
        return {"type": "ir.actions.act_window", "res_model": self._name, "res_id": self.id,
                "view_mode": "form", "target": "new"}
