from odoo import fields, models

from shipsync.silence import IN_TRANSIT


class ShipmentSyncPartner(models.Model):
    _inherit = "shipment.sync.partner"

    carrier_ids = fields.One2many("delivery.carrier", "shipsync_partner_id", "Carriers")

    # -- webhook silence: poll instead (see shipment_sync_partner_silence.py) ----------
    def _silence_pollable_carriers(self):
        """This partner's carriers whose adapter can read tracking."""
        self.ensure_one()
        return self.sudo().carrier_ids.filtered(
            lambda c: c.delivery_type == "shipsync" and c._shipsync_can_track())

    def _silence_can_poll(self):
        self.ensure_one()
        return bool(self._silence_pollable_carriers()) or super()._silence_can_poll()

    def _silence_started(self, verdict, in_transit):
        res = super()._silence_started(verdict, in_transit)
        carriers = self._silence_pollable_carriers() if self.webhook_silence_polling \
            else self.env["delivery.carrier"]
        if carriers:
            # Due at once: the next poll run reads them all.
            self.env["stock.picking"].sudo().search([
                ("carrier_id", "in", carriers.ids), ("carrier_tracking_ref", "!=", False),
                ("shipment_milestone", "in", sorted(IN_TRANSIT)),
            ]).write({"shipsync_poll_next_at": False, "shipsync_poll_interval": 0.0})
            cron = self.env.ref("shipment_sync_carrier.ir_cron_carrier_poll",
                                raise_if_not_found=False)
            if cron:
                cron.sudo()._trigger()
        return res
