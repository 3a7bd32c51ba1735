from odoo import _, models


class ShipmentSyncJob(models.Model):
    _inherit = "shipment.sync.job"

    def _outbox_after(self, settlement, outcome, *args, **kwargs):
        res = super()._outbox_after(settlement, outcome, *args, **kwargs)
        if settlement.state == "done" and self.picking_id:
            self._monitor_job_recovered()
        return res

    def _monitor_job_recovered(self):
        """A job behind a ``sync_failed`` card went through (after a replay):
        the exception is resolved through the picking's ledger, the card closes."""
        self.ensure_one()
        cards = self.env["shipment.sync.exception"].sudo().search([
            ("job_id", "=", self.id), ("reason", "=", "sync_failed"),
            ("state", "!=", "resolved")])
        if not cards:
            return
        note = _("The failed call went through: %s", self.display_name)
        picking = self.picking_id.sudo()
        if picking.shipment_exception_state == "open" and \
                picking.shipment_exception_reason == "sync_failed":
            picking.with_context(shipment_monitor_resolution_note=note,
                                 shipment_monitor_resolve_after=True)._shipment_internal_event(
                resolves_exception=True, message=note[:250])
        cards._monitor_close(note)
