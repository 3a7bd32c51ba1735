import json

from odoo import api, models

from shipsync.wms.apply import WmsEvent


class ShipmentSyncEvent(models.Model):
    _inherit = "shipment.sync.event"

    @api.model
    def _ingest(self, partner, events, body=b"", headers=None):
        """Keep the WMS confirmation of each new event beside it: the ledger
        stores the event, the confirmation record stores what to apply."""
        new, duplicates = super()._ingest(partner, events, body=body, headers=headers)
        # Only WMS confirmations (other partners' events may carry a payload too).
        payloads = {ev.external_id: ev for ev in events
                    if isinstance(ev, WmsEvent) and ev.payload}
        if new and payloads:
            self.env["shipment.sync.wms.confirmation"].sudo()._from_events(
                partner, new, payloads, self.env.context.get("wms_file_id"))
        return new, duplicates

    def action_retry(self):
        """A rejected WMS confirmation is tried again with its event."""
        confirmations = self.env["shipment.sync.wms.confirmation"].sudo().search(
            [("event_id", "in", self.ids), ("state", "=", "rejected")])
        confirmations.write({"state": "pending", "error": False})
        return super().action_retry()


def dumps(value):
    return json.dumps(value, sort_keys=True)
