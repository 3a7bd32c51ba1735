from odoo import _, api, fields, models

from shipsync import outbox
from shipsync.partners.amazon import outbound as amazon


class ShipmentSyncJob(models.Model):
    _inherit = "shipment.sync.job"

    @api.model
    def _outbox_handlers(self):
        return outbox.register(super()._outbox_handlers(), {amazon.OPERATION: outbox.Handler(
            prepare="_channel_prepare_confirm", done="_channel_done_confirm",
            dead="_channel_dead_confirm", savepoint=False)})

    @api.model
    def _channel_prepare_confirm(self, job, ctx):
        """The ``confirmShipment`` request of the job's payload (a payload the model
        would refuse raises ``InvalidInput``: a final error, no call made)."""
        conf = amazon.ShipmentConfirmation.from_payload(ctx.payload)
        return amazon.build_confirm_request(
            conf, base_url=ctx.base_url or amazon.DEFAULT_BASE_URL, headers=dict(ctx.headers),
            connect_timeout=ctx.policy.timeouts[0], read_timeout=ctx.policy.timeouts[1])

    @api.model
    def _channel_done_confirm(self, job, outcome):
        picking = job.picking_id
        if not picking:
            return
        payload = job._outbox_payload() or {}
        picking.sudo().shipment_channel_confirmed_at = fields.Datetime.now()
        body = _("Shipment confirmed to %(channel)s: order %(order)s, package %(package)s, "
                 "tracking %(tracking)s.", channel=job.partner_id.name,
                 order=payload.get("order_id"), package=payload.get("package_reference_id"),
                 tracking=payload.get("tracking_number"))
        picking.message_post(body=body)
        if picking.sale_id:
            picking.sale_id.message_post(body=body)

    @api.model
    def _channel_dead_confirm(self, job, outcome):
        order = job.picking_id.sale_id
        if not order:
            return
        reason = amazon.describe_errors(outcome.body) or outcome.error or outcome.error_class
        order.message_post(body=_(
            "The shipment confirmation of %(picking)s to %(channel)s failed: %(reason)s",
            picking=job.picking_id.name, channel=job.partner_id.name, reason=reason))
