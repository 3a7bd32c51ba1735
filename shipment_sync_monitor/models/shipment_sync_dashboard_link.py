import json

from odoo import _, api, fields, models
from odoo.exceptions import UserError


class ShipmentSyncDashboardLink(models.Model):
    """One drill-down of the KPI dashboard, kept so the list it opened is a
    link: the tile, which of its lines (``-1``: the tile itself) and the
    filters with the instant the figure was computed. Its id is the
    ``active_id`` in the list's URL (``/odoo/.../<id>/shipment-sync-list``);
    opening that URL again recomputes the same tile with the same filters and
    shows the same records the number counted."""

    _name = "shipment.sync.dashboard.link"
    _description = "Shipment Sync dashboard drill-down"
    _order = "id desc"

    tile = fields.Char(required=True, readonly=True)
    line = fields.Integer(default=-1, readonly=True)
    filters = fields.Char(required=True, readonly=True, help="The dashboard filters, as JSON.")

    _sql_constraints = [
        ("link_unique", "unique(tile, line, filters, create_uid)",
         "This drill-down is already recorded."),
    ]

    @api.model
    def _get_or_create(self, tile, line, filters):
        """The link of this drill-down (the same one for the same user, tile,
        line and filters)."""
        values = {"tile": tile, "line": int(line),
                  "filters": json.dumps(filters, sort_keys=True, default=str)}
        link = self.search([(k, "=", v) for k, v in values.items()]
                           + [("create_uid", "=", self.env.uid)], limit=1)
        return link or self.create(values)

    def _window_action(self):
        """The list this drill-down opens, as a window action whose context
        names the link (so its URL does)."""
        self.ensure_one()
        tile = self.env["shipment.sync.dashboard"].get_tile(self.tile, json.loads(self.filters))
        action = tile["action"]
        if self.line >= 0:
            lines = tile["lines"]
            if self.line >= len(lines) or not lines[self.line].get("action"):
                raise UserError(_("This dashboard link no longer points to a list."))
            action = lines[self.line]["action"]
        return {
            "type": "ir.actions.act_window",
            "name": action["name"],
            "res_model": action["res_model"],
            "domain": action["domain"],
            "context": dict(action.get("context") or {}, active_id=self.id),
            "views": action["views"],
            "target": "current",
        }
