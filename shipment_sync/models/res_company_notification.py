from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    shipment_sync_tracking_link_days = fields.Integer(
        "Tracking link valid for (days)", default=90,
        help="The public tracking page of a shipment answers 404 this many days after "
        "the shipment reached a final milestone (delivered, returned, failed, cancelled).")
