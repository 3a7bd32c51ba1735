from odoo import api, models

from shipsync import outbox


class ShipmentSyncJob(models.Model):
    _inherit = "shipment.sync.job"

    @api.model
    def _outbox_handlers(self):
        return outbox.register(super()._outbox_handlers(), {
            "create_shipment": outbox.Handler(
                model="delivery.carrier",
                prepare="_shipsync_prepare_create_shipment",
                done="_shipsync_done_create_shipment",
                dead="_shipsync_dead_create_shipment",
                # A dead booking opens 'label_failed' (its own hook), not 'sync_failed'.
                raise_exception=False,
            ),
            # Refund (void) of a paid label that is not on a transfer.
            "refund_label": outbox.Handler(
                model="shipment.sync.label",
                prepare="_shipsync_prepare_refund_label",
                done="_shipsync_done_refund_label",
                dead="_shipsync_dead_refund_label",
            ),
            # AfterShip is inbound only: register a booked tracking number so that its
            # webhooks come in (a dead registration opens 'sync_failed').
            "aftership_register": outbox.Handler(
                model="delivery.carrier",
                prepare="_shipsync_prepare_aftership_register",
                done="_shipsync_done_aftership_register",
            ),
            # Pickups and end-of-day manifests (scan forms).
            "carrier_pickup": outbox.Handler(
                model="shipment.sync.manifest", prepare="_shipsync_prepare_pickup",
                done="_shipsync_done_pickup", dead="_shipsync_dead_manifest"),
            "carrier_pickup_cancel": outbox.Handler(
                model="shipment.sync.manifest", prepare="_shipsync_prepare_pickup_cancel",
                done="_shipsync_done_pickup_cancel"),
            "carrier_manifest": outbox.Handler(
                model="shipment.sync.manifest", prepare="_shipsync_prepare_manifest",
                done="_shipsync_done_manifest", dead="_shipsync_dead_manifest"),
        })
