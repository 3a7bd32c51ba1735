from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    shipment_sync_metrics_token = fields.Char(
        "Metrics bearer token", config_parameter="shipment_sync_monitor.metrics_token",
        help="Prometheus scrapes GET /shipment_sync/metrics with "
        "'Authorization: Bearer <token>'. Empty: the endpoint refuses every request.")

    shipment_sync_notify_running_late = fields.Boolean(
        related="company_id.shipment_sync_notify_running_late", readonly=False)
