from odoo import fields, models


class ShipmentSyncReveal(models.TransientModel):
    """The unmasked body of one event, shown to a manager by the logged Reveal
    action (transient: vacuumed within the hour)."""

    _name = "shipment.sync.reveal"
    _description = "Revealed Shipment Sync payload"
    _transient_max_hours = 0.25

    event_id = fields.Many2one("shipment.sync.event", required=True, readonly=True,
                               ondelete="cascade")
    body = fields.Text(readonly=True, groups="shipment_sync.group_manager")
