import logging

from odoo import api, fields, models

from odoo.addons.shipment_sync.models.cron_retry import retry_conflicts

from shipsync import retention

_logger = logging.getLogger(__name__)


class ShipmentSyncEvent(models.Model):
    _inherit = "shipment.sync.event"

    @api.model
    @retry_conflicts
    def _cron_purge_bodies(self, now=None, batch=retention.PURGE_BATCH):
        """The retention cron also deletes the dashboard's drill-down links
        nobody opened for ``retention.DRILLDOWN_LINK_DAYS`` days (its totals
        stay those of the bodies blanked)."""
        totals = super()._cron_purge_bodies(now=now, batch=batch)
        purged = self.env["shipment.sync.dashboard.link"]._purge(
            now or fields.Datetime.now(), batch)
        if purged:
            _logger.info("retention: purged %s dashboard drill-down links", purged)
        return totals
