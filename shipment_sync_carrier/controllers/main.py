"""Sendcloud webhooks through the core route: the sendcloud inbound format is
parsed and validated by its shipsync normalizer (schema inside shipsync)."""

from odoo.addons.shipment_sync.controllers.main import (
    ShipmentSyncWebhookController,
    WebhookRejected,
)

from shipsync import schemas


class ShipmentSyncCarrierWebhookController(ShipmentSyncWebhookController):
    def _parse(self, partner, body):
        if partner.inbound_format != "sendcloud":
            return super()._parse(partner, body)
        try:
            return partner._shipsync_normalizer().parse(body)
        except schemas.PayloadError as exc:
            message = str(exc) if not exc.path else f"{exc.path}: {exc}"
            raise WebhookRejected(400, exc.code, message, keep_body=True) from exc
