from odoo import fields, models


class ShipmentSyncTriageRule(models.Model):
    _name = "shipment.sync.triage.rule"
    _description = "Exception triage rule"

    name = fields.Char()


class ShipmentSyncTriageStat(models.Model):
    _name = "shipment.sync.triage.stat"
    _description = "Exception resolutions by action"

    name = fields.Char()
