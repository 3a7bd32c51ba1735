from odoo import fields, models


class ShipmentSyncLane(models.Model):
    _name = "shipment.sync.lane"
    _description = "Shipment lane transit statistics"

    name = fields.Char()
