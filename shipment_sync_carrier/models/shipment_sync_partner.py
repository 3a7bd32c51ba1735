from odoo import fields, models


class ShipmentSyncPartner(models.Model):
    _inherit = "shipment.sync.partner"

    carrier_ids = fields.One2many("delivery.carrier", "shipsync_partner_id", "Carriers")
