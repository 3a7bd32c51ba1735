from odoo import fields, models


class StockPickingType(models.Model):
    _inherit = "stock.picking.type"

    tms_partner_id = fields.Many2one(
        "shipment.sync.partner", "TMS", check_company=True,
        domain="[('kind', '=', 'tms')]",
        help="Transport management system that plans the deliveries of this operation "
        "type: each is released to it when its stock is reserved.")
