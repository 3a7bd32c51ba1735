from odoo import api, models

from shipsync import ingest
from shipsync.partners.tms.inbound import TmsEvent


class ShipmentSyncEvent(models.Model):
    _inherit = "shipment.sync.event"

    @api.model
    def _ingest_handlers(self):
        return ingest.register_ingest(super()._ingest_handlers(), ingest.IngestHandler(
            TmsEvent, "_tms_ingest_updates", partner_kinds=("tms",), shadow=False))

    @api.model
    def _tms_ingest_updates(self, partner, new, events):
        """New TMS updates (never duplicates: the ledger decides) apply their planning,
        carrier assignment and charges to the transfer; their milestones go through the
        ledger like any partner's."""
        Picking = self.env["stock.picking"]
        for ev in events:
            if ev.milestone:
                continue
            picking = Picking._tms_find(partner, ev.correlation_id)
            if picking:
                picking._tms_apply(ev.payload, partner)
