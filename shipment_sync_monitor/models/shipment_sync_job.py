from odoo import _, models
from odoo.tools import SQL

from odoo.addons.shipment_sync.models.event_origin import EventOrigin


class ShipmentSyncJob(models.Model):
    _inherit = "shipment.sync.job"

    def unlink(self):
        # Their attempts go with them (cascade): keep what the attempts
        # counter counted, so ``shipsync_outbox_attempts_total`` never goes down.
        if self.ids:
            self.env.flush_all()
            self.env.cr.execute(SQL(
                "SELECT p.code, a.outcome, count(*) FROM shipment_sync_job_attempt a "
                "JOIN shipment_sync_partner p ON p.id = a.partner_id "
                "WHERE a.job_id IN %s AND a.outcome IS NOT NULL GROUP BY 1, 2",
                tuple(self.ids)))
            self.env["shipment.sync.metric.offset"].sudo()._add(
                "shipsync_outbox_attempts_total",
                {(code, outcome): n for code, outcome, n in self.env.cr.fetchall()})
        return super().unlink()

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
            picking._shipment_internal_event(resolves_exception=True, message=note[:250],
                                             origin=EventOrigin(note=note))
        cards._monitor_close(note)
