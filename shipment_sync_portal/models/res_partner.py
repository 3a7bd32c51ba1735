from odoo import fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    shipment_sync_email_opt_out = fields.Boolean(
        "Shipment emails opt-out",
        help="This customer (and every contact of its company) receives no shipment "
        "notification emails: shipped, out for delivery, delivered, exceptions... "
        "The notifications are still recorded, as skipped.")

    def _commercial_fields(self):
        # Decided by the company and mirrored on its contacts, like the VAT.
        return super()._commercial_fields() + ["shipment_sync_email_opt_out"]
