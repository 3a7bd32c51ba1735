from odoo import fields, models


class ShipmentSyncPartner(models.Model):
    _inherit = "shipment.sync.partner"

    kind = fields.Selection(selection_add=[("tms", "Transport management (TMS)")],
                            ondelete={"tms": "set default"})
