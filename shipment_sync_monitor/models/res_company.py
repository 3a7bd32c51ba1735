from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    # Found by res.company._shipment_notification_enabled("running_late").
    shipment_sync_notify_running_late = fields.Boolean(
        "Email customers: running late", default=False,
        help="Email the customer once when a shipment in transit first becomes at risk of "
        "arriving after the promised date (predicted from the lane's transit history).")
