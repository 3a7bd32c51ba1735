from datetime import timedelta

from odoo import api, models


class ShipmentSyncEvent(models.Model):
    _inherit = "shipment.sync.event"

    @api.model
    def _insert_rows(self, rows):
        """Resolutions made from the monitor (workbench, recovered job, cleared
        SLA rule) resolve the exception the operator saw: their occurrence is
        placed after that exception's, even within the same second (the replay
        orders events of one second by a random key otherwise)."""
        if self.env.context.get("shipment_monitor_resolve_after"):
            picking_ids = {r["picking_id"] for r in rows
                           if r.get("resolves_exception") and r.get("picking_id")}
            dates = {p.id: p.shipment_exception_date
                     for p in self.env["stock.picking"].sudo().browse(picking_ids)}
            for row in rows:
                seen = dates.get(row.get("picking_id")) if row.get("resolves_exception") \
                    else None
                if seen and row.get("occurred_at") and row["occurred_at"] <= seen:
                    row["occurred_at"] = seen + timedelta(seconds=1)
        return super()._insert_rows(rows)
