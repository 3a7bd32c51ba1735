"""The core webhook route, taught the WMS confirmation format."""

from odoo.addons.shipment_sync.controllers.main import (
    ShipmentSyncWebhookController,
    WebhookRejected,
)

from shipsync import schemas
from shipsync.wms.apply import parse_webhook_events


class ShipmentSyncWmsWebhookController(ShipmentSyncWebhookController):
    def _parse(self, partner, body):
        if partner.inbound_format != "wms":
            return super()._parse(partner, body)
        try:
            return parse_webhook_events(body)
        except schemas.PayloadError as exc:
            message = str(exc) if not exc.path else f"{exc.path}: {exc}"
            raise WebhookRejected(400, exc.code, message, keep_body=True) from exc
