from odoo import api, fields, models

from shipsync import catalogue as cat


class ShipmentSyncEventType(models.Model):
    """The canonical event catalogue as records, so a subscription picks the types it
    receives with ordinary many2many tags.

    The catalogue itself lives in ``shipsync.catalogue``; these records are
    (re)generated from it at install and upgrade, never edited by hand."""

    _name = "shipment.sync.event.type"
    _description = "Shipment Sync Event Type"
    _order = "sequence, id"

    code = fields.Char(required=True, readonly=True, index=True)
    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(readonly=True)
    subject = fields.Selection(
        [(cat.SHIPMENT, "Shipment"), (cat.PARTNER, "Partner")], required=True, readonly=True)
    schema_versions = fields.Char(
        readonly=True, help="Published JSON Schema versions (shipsync/schemas).")
    description = fields.Text(readonly=True, translate=True)

    _sql_constraints = [("code_uniq", "UNIQUE(code)", "An event type code must be unique.")]

    @api.model
    def _sync_catalogue(self):
        """Create or update one record per type of the catalogue, with the xmlid
        ``shipment_sync.event_type_<code with underscores>``."""
        imd = self.env["ir.model.data"]
        existing = {rec.code: rec for rec in self.with_context(active_test=False).search([])}
        for sequence, kind in enumerate(cat.CATALOGUE.values()):
            vals = {"code": kind.code, "name": kind.label, "sequence": sequence,
                    "subject": kind.subject, "description": kind.summary,
                    "schema_versions": ", ".join(v for v, _name in kind.versions)}
            rec = existing.get(kind.code)
            if rec:
                rec.write(vals)
            else:
                rec = self.create(vals)
            xmlid = self._xmlid_name(kind.code)
            if not imd.search_count([("module", "=", "shipment_sync"), ("name", "=", xmlid)]):
                imd.create({"module": "shipment_sync", "name": xmlid, "model": self._name,
                            "res_id": rec.id, "noupdate": True})
        return True

    @api.model
    def _xmlid_name(self, code):
        return "event_type_" + code.replace(".", "_")

    @api.model
    def _by_codes(self, codes):
        return self.sudo().search([("code", "in", list(codes))])
