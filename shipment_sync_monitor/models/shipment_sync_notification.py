from odoo import fields, models


class ShipmentSyncNotification(models.Model):
    _inherit = "shipment.sync.notification"

    kind = fields.Selection(selection_add=[("running_late", "Running late")],
                            ondelete={"running_late": "cascade"})
