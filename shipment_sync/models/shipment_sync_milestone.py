from odoo import api, fields, models

from shipsync import milestones as ms


class ShipmentSyncMilestone(models.Model):
    """The canonical milestone vocabulary as records, so partners can pick the
    milestones they are authoritative for with ordinary many2many tags.

    The vocabulary itself lives in ``shipsync.milestones``; these records are
    (re)generated from it at install and upgrade, never edited by hand."""

    _name = "shipment.sync.milestone"
    _description = "Shipment Milestone"
    _order = "rank, id"

    code = fields.Char(required=True, readonly=True, index=True)
    name = fields.Char(required=True, translate=True)
    rank = fields.Integer(required=True, readonly=True)
    terminal = fields.Boolean(readonly=True)

    _sql_constraints = [("code_uniq", "UNIQUE(code)", "A milestone code must be unique.")]

    @api.model
    def _sync_vocabulary(self):
        """Create or update one record per milestone of shipsync, with the
        xmlid ``shipment_sync.milestone_<code>``."""
        imd = self.env["ir.model.data"]
        existing = {rec.code: rec for rec in self.with_context(active_test=False).search([])}
        for code, rank, label in ms.MILESTONES:
            vals = {"code": code, "name": label, "rank": rank, "terminal": code in ms.TERMINAL}
            rec = existing.get(code)
            if rec:
                rec.write(vals)
            else:
                rec = self.create(vals)
            if not imd.search_count([("module", "=", "shipment_sync"),
                                     ("name", "=", f"milestone_{code}")]):
                imd.create({"module": "shipment_sync", "name": f"milestone_{code}",
                            "model": self._name, "res_id": rec.id, "noupdate": True})
        return True
