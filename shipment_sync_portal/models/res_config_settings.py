from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    shipment_sync_notify_handed_over = fields.Boolean(
        related="company_id.shipment_sync_notify_handed_over", readonly=False)
    shipment_sync_notify_out_for_delivery = fields.Boolean(
        related="company_id.shipment_sync_notify_out_for_delivery", readonly=False)
    shipment_sync_notify_available_for_pickup = fields.Boolean(
        related="company_id.shipment_sync_notify_available_for_pickup", readonly=False)
    shipment_sync_notify_delivery_attempted = fields.Boolean(
        related="company_id.shipment_sync_notify_delivery_attempted", readonly=False)
    shipment_sync_notify_delivered = fields.Boolean(
        related="company_id.shipment_sync_notify_delivered", readonly=False)
    shipment_sync_notify_exception = fields.Boolean(
        related="company_id.shipment_sync_notify_exception", readonly=False)
    shipment_sync_tracking_link_days = fields.Integer(
        related="company_id.shipment_sync_tracking_link_days", readonly=False)
