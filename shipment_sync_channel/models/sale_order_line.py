from odoo import fields, models


class SaleOrderLine(models.Model):
    _inherit = "sale.order.line"

    shipment_channel_item_ref = fields.Char(
        "Channel order item ID", copy=False,
        help="The sales channel's identifier of this line (Amazon: OrderItemId); the "
        "shipment confirmation names the lines shipped by it.")
