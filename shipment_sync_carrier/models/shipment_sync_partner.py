from odoo import fields, models

from shipsync.adapters.sendcloud import SendcloudNormalizer


class ShipmentSyncPartner(models.Model):
    _inherit = "shipment.sync.partner"

    inbound_format = fields.Selection(
        selection_add=[("sendcloud", "Sendcloud parcel_status_changed")],
        ondelete={"sendcloud": "set default"})
    carrier_ids = fields.One2many("delivery.carrier", "shipsync_partner_id", "Carriers")

    def _shipsync_normalizer(self):
        self.ensure_one()
        if self.inbound_format == "sendcloud":
            return SendcloudNormalizer()
        return super()._shipsync_normalizer()
