import dataclasses

from odoo import models

from shipsync.adapters.base import return_leg_milestone


class ShipmentSyncEvent(models.Model):
    _inherit = "shipment.sync.event"

    def _to_milestone_event(self):
        """On a return transfer, the carrier's forward vocabulary means the way
        back: moving is ``returning``, delivered (to us) is ``returned``."""
        event = super()._to_milestone_event()
        if self.direction == "inbound" and self.picking_id.return_id and event.milestone:
            return dataclasses.replace(event, milestone=return_leg_milestone(event.milestone))
        return event
