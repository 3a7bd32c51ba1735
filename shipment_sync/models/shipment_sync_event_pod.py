from odoo import api, models

from shipsync import ingest, pod


class ShipmentSyncEvent(models.Model):
    _inherit = "shipment.sync.event"

    @api.model
    def _ingest_handlers(self):
        return ingest.register_ingest(super()._ingest_handlers(), ingest.IngestHandler(
            pod.PodEvent, "_shipment_ingest_pod", shadow=False))

    @api.model
    def _shipment_ingest_pod(self, partner, new, events):
        """New delivered scans with a proof of delivery put it on their transfer."""
        Picking = self.env["stock.picking"].sudo()
        for ev in events:
            picking = Picking._shipment_find(partner, ev.tracking_number, ev.picking_ref,
                                             ev.correlation_id, self.env.company)
            if picking and ev.pod:
                picking._shipment_store_pod(ev.pod, partner, ev.occurred_at)
