from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from shipsync.partners.amazon.outbound import ORDER_ID_RE


class SaleOrder(models.Model):
    _inherit = "sale.order"

    shipment_channel_id = fields.Many2one(
        "shipment.sync.partner", "Sales channel", copy=False, index="btree_not_null",
        tracking=True, check_company=True,
        domain="[('kind', '=', 'marketplace'), ('channel_api', '!=', False)]",
        help="The marketplace or web shop this order came from: its deliveries are "
        "confirmed to it when they are handed over.")
    shipment_channel_order_ref = fields.Char(
        "Channel order ID", copy=False, index="btree_not_null", tracking=True,
        help="The order's identifier in the sales channel (Amazon: AmazonOrderId, 3-7-7).")

    _sql_constraints = [
        ("shipment_channel_order_uniq", "UNIQUE(shipment_channel_id, shipment_channel_order_ref)",
         "This sales channel order is already imported."),
    ]

    @api.constrains("shipment_channel_id", "shipment_channel_order_ref")
    def _check_shipment_channel_order_ref(self):
        for order in self:
            if order.shipment_channel_id and not order.shipment_channel_order_ref:
                raise ValidationError(_("An order of a sales channel needs the channel's "
                                        "order ID."))
            if order.shipment_channel_id.channel_api == "amazon" and not ORDER_ID_RE.match(
                    order.shipment_channel_order_ref or ""):
                raise ValidationError(_(
                    "%(ref)s is not an Amazon order ID (3-7-7 digits, e.g. 902-1106328-1059050).",
                    ref=order.shipment_channel_order_ref))
