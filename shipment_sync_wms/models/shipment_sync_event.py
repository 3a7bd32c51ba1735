import json

from odoo import api, models

from shipsync import ingest
from shipsync.wms.apply import WmsEvent


class ShipmentSyncEvent(models.Model):
    _inherit = "shipment.sync.event"

    @api.model
    def _ingest_handlers(self):
        return ingest.register_ingest(super()._ingest_handlers(), ingest.IngestHandler(
            WmsEvent, "_wms_ingest_confirmations"))

    @api.model
    def _wms_ingest_confirmations(self, partner, new, events):
        """Keep the WMS confirmation of each new event beside it: the ledger
        stores the event, the confirmation record stores what to apply."""
        payloads = {ev.external_id: ev for ev in events if ev.payload}
        if payloads:
            self.env["shipment.sync.wms.confirmation"].sudo()._from_events(
                partner, new, payloads)

    def action_retry(self):
        """A rejected WMS confirmation is tried again with its event."""
        confirmations = self.env["shipment.sync.wms.confirmation"].sudo().search(
            [("event_id", "in", self.ids), ("state", "=", "rejected")])
        confirmations.write({"state": "pending", "error": False})
        return super().action_retry()


def dumps(value):
    return json.dumps(value, sort_keys=True)
