from odoo import api, models

from shipsync.adapters.sendcloud import seed_entries


class ShipmentSyncStatusMap(models.Model):
    _inherit = "shipment.sync.status.map"

    @api.model
    def _seed_sendcloud(self):
        """Default rows of the ``sendcloud`` vocabulary (parcel status ids)."""
        existing = set(self.with_context(active_test=False).search(
            [("partner_id", "=", False), ("vocabulary", "=", "sendcloud")]).mapped("code"))
        self.with_context(mail_create_nolog=True, tracking_disable=True).create([
            {"vocabulary": "sendcloud", "code": code, "milestone": milestone or False,
             "exception_reason": reason or False,
             "note": False if milestone or reason else "known code, no change"}
            for code, milestone, reason in seed_entries() if code not in existing
        ])
        return True
