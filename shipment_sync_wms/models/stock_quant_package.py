from odoo import fields, models


class StockQuantPackage(models.Model):
    _inherit = "stock.quant.package"

    wms_tracking_ref = fields.Char("Tracking number", index=True, copy=False)
    wms_carrier = fields.Char("Carrier", copy=False)
