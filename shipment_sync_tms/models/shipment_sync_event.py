from odoo import api, models

from shipsync.partners.tms.inbound import TmsEvent


class ShipmentSyncEvent(models.Model):
    _inherit = "shipment.sync.event"

    @api.model
    def _ingest(self, partner, events, body=b"", headers=None):
        """New TMS updates (never duplicates: the ledger decides) apply their planning,
        carrier assignment and charges to the transfer; their milestones go through the
        ledger like any partner's."""
        new, duplicates = super()._ingest(partner, events, body=body, headers=headers)
        if partner.kind != "tms" or not new or partner.environment == "shadow":
            return new, duplicates
        fresh = set(new.mapped("external_id"))
        Picking = self.env["stock.picking"]
        for ev in events:
            if not isinstance(ev, TmsEvent) or ev.milestone or ev.external_id not in fresh:
                continue
            picking = Picking._tms_find(partner, ev.correlation_id)
            if picking:
                picking._tms_apply(ev.payload, partner)
        return new, duplicates
