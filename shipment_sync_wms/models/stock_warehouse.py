from odoo import fields, models


class StockWarehouse(models.Model):
    _inherit = "stock.warehouse"

    wms_partner_id = fields.Many2one(
        "shipment.sync.partner", "WMS / 3PL", domain="[('kind', '=', 'wms')]",
        check_company=True,
        help="Default warehouse system executing this warehouse's operation types.")
