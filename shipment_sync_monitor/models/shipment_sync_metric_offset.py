from odoo import api, fields, models
from odoo.tools import SQL


class ShipmentSyncMetricOffset(models.Model):
    """What the Prometheus counters counted in rows since deleted (finished
    outbox jobs and their attempts, purged after their retention): a counter
    is this offset plus the rows still there, so it only ever grows."""

    _name = "shipment.sync.metric.offset"
    _description = "Shipment Sync metric counter offset"
    _log_access = False

    metric = fields.Char(required=True, readonly=True)
    partner_code = fields.Char(required=True, readonly=True)
    label = fields.Char(required=True, readonly=True, help="The counter's other label value.")
    value = fields.Integer(readonly=True, default=0)

    _sql_constraints = [
        ("metric_uniq", "UNIQUE(metric, partner_code, label)", "One offset per series."),
    ]

    @api.model
    def _add(self, metric, counts):
        """Add ``{(partner_code, label): n}`` to the offsets of ``metric``."""
        for (partner_code, label), count in counts.items():
            if not count:
                continue
            self.env.cr.execute(SQL(
                "INSERT INTO shipment_sync_metric_offset (metric, partner_code, label, value) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (metric, partner_code, label) "
                "DO UPDATE SET value = shipment_sync_metric_offset.value + EXCLUDED.value",
                metric, partner_code, label, count))

    @api.model
    def _get(self, metric):
        self.env.cr.execute(SQL(
            "SELECT partner_code, label, value FROM shipment_sync_metric_offset "
            "WHERE metric = %s", metric))
        return {(code, label): value for code, label, value in self.env.cr.fetchall()}
