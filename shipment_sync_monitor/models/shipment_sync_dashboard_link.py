import json
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from shipsync import retention

#: A link reopened within this delay is not written again (reading a list is
#: no reason to lock its row).
TOUCH_EVERY = timedelta(hours=1)


class ShipmentSyncDashboardLink(models.Model):
    """One drill-down of the KPI dashboard, kept so the list it opened is a
    link: the tile, which of its lines (``-1``: the tile itself) and the
    filters with the instant the figure was computed. Its id is the
    ``active_id`` in the list's URL (``/odoo/.../<id>/shipment-sync-list``);
    opening that URL again recomputes the same tile with the same filters and
    shows the same records the number counted. Links not opened for
    ``retention.DRILLDOWN_LINK_DAYS`` days are purged by the retention cron."""

    _name = "shipment.sync.dashboard.link"
    _description = "Shipment Sync dashboard drill-down"
    _order = "id desc"

    tile = fields.Char(required=True, readonly=True)
    line = fields.Integer(default=-1, readonly=True)
    filters = fields.Char(required=True, readonly=True, help="The dashboard filters, as JSON.")
    last_opened_at = fields.Datetime(readonly=True, index=True, default=fields.Datetime.now)

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
        if link:
            link._touch()
            return link
        return self.create(values)

    def _touch(self):
        """Note that these links were opened now (they stay past retention)."""
        now = fields.Datetime.now()
        due = self.filtered(lambda link: not link.last_opened_at
                            or link.last_opened_at < now - TOUCH_EVERY)
        if due:
            due.sudo().write({"last_opened_at": now})

    @api.model
    def _purge(self, now=None, batch=retention.PURGE_BATCH):
        """Delete the links not opened for ``retention.DRILLDOWN_LINK_DAYS``
        days, in batches; returns how many. (A purged link's URL says the
        link has expired.)"""
        cutoff = retention.drilldown_link_cutoff(now or fields.Datetime.now())
        Link, purged = self.sudo(), 0
        while True:
            links = Link.search([("last_opened_at", "<", cutoff)], limit=batch, order="id")
            if not links:
                return purged
            purged += len(links)
            links.unlink()
            self.env["shipment.sync.event"]._purge_commit()

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
