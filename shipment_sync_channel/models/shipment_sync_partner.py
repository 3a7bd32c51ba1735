from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

CHANNEL_APIS = [("amazon", "Amazon Selling Partner API (Orders v0)")]


class ShipmentSyncPartner(models.Model):
    _inherit = "shipment.sync.partner"

    channel_api = fields.Selection(
        CHANNEL_APIS, "Channel API", tracking=True,
        help="How shipments are confirmed to this sales channel. Empty: never.")
    channel_marketplace_id = fields.Char(
        "Marketplace ID", tracking=True,
        help="Amazon marketplaceId of the orders (e.g. ATVPDKIKX0DER for amazon.com).")

    @api.constrains("kind", "channel_api", "channel_marketplace_id")
    def _check_channel_api(self):
        for partner in self:
            if partner.channel_api and partner.kind != "marketplace":
                raise ValidationError(_("Only a partner of kind Marketplace confirms shipments "
                                        "to a sales channel."))
            if partner.channel_api == "amazon" and not partner.channel_marketplace_id:
                raise ValidationError(_("Amazon needs the marketplace ID of the orders."))
