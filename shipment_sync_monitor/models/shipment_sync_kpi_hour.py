import logging
from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL

from odoo.addons.shipment_sync.models.cron_retry import retry_conflicts

from shipsync import monitor as mon

_logger = logging.getLogger(__name__)

#: The rolled hours are ``[ROLLED_FROM, ROLLED_TO)`` (UTC, whole hours).
ROLLED_FROM_PARAM = "shipment_sync_monitor.kpi_hour_rolled_from"
ROLLED_TO_PARAM = "shipment_sync_monitor.kpi_hour_rolled_to"
#: The first run rolls up this much history (the longest dashboard period is 90 days).
BACKFILL = timedelta(days=92)
#: Hours rolled up per transaction; the cron runs again for the rest.
CHUNK = timedelta(days=7)
HOUR = timedelta(hours=1)
#: An hour is rolled up this long after it ends: a transaction that stamped
#: an event just before the hour ended may commit a little after.
ROLL_LAG = timedelta(minutes=10)


def floor_hour(moment):
    return moment.replace(minute=0, second=0, microsecond=0)


def closed_until(now):
    """The end of the hours the roll-up cron may roll at ``now``."""
    return floor_hour(now - ROLL_LAG)


def ceil_hour(moment):
    floor = floor_hour(moment)
    return floor if floor == moment else floor + HOUR


def webhook_delay_sql(alias="e", now=None):
    """The processing delay (seconds, received -> applied) of an inbound event
    of table ``alias``; with ``now``, an event not applied yet counts its
    delay so far. The one definition of the webhook delay: the dashboard tile,
    its rollups and the ``webhook_delay_p95`` alert rule measure this, over
    the events *applied* in their period (the rule adds the events still
    waiting)."""
    a = SQL.identifier(alias)
    if now is None:
        return SQL("date_part('epoch', %s.applied_at - %s.received_at)", a, a)
    return SQL("date_part('epoch', COALESCE(%s.applied_at, %s) - %s.received_at)", a, now, a)


def delay_bucket_sql(alias="e"):
    """The delay bucket (``shipsync.monitor.delay_bucket``) of an applied
    inbound event of table ``alias``: one expression for the rollups and the
    dashboard's live rows."""
    delay = webhook_delay_sql(alias)
    return SQL(mon.delay_bucket_sql("%s"), delay, delay)


class ShipmentSyncKpiHour(models.Model):
    """One closed hour of inbound events of one company and partner (or all
    its partners: ``all_partners``), for the
    dashboard: the events received in that hour, and the processing delays
    (applied_at - received_at) of the events applied in that hour as a
    log-spaced histogram (``shipsync.monitor.delay_bucket``). Written only by
    the roll-up cron; a closed hour never changes afterwards (received_at and
    applied_at are set once, to the time they happen)."""

    _name = "shipment.sync.kpi.hour"
    _description = "Shipment Sync dashboard hourly rollup"
    _log_access = False
    _order = "hour desc"

    hour = fields.Datetime(required=True, readonly=True, index=True,
                           help="Start of the hour (UTC).")
    company_id = fields.Many2one("res.company", required=True, readonly=True,
                                 ondelete="cascade")
    partner_id = fields.Many2one("shipment.sync.partner", readonly=True, ondelete="cascade")
    all_partners = fields.Boolean(readonly=True, help="The row of every partner of the "
                                  "company together (what the dashboard reads without a "
                                  "partner filter: one row per hour instead of one per "
                                  "partner).")
    event_count = fields.Integer("Events received", readonly=True)
    applied_count = fields.Integer("Events applied", readonly=True)
    delay_histogram = fields.Json(readonly=True, help="Processing delays of the events "
                                  "applied in the hour: {bucket: count}.")

    _sql_constraints = [
        ("hour_company_partner_unique", "UNIQUE(hour, company_id, partner_id, all_partners)",
         "An hour is rolled up once per company and partner."),
    ]

    @api.model
    def _rolled_range(self):
        """``(from, to)`` of the rolled hours, ``(None, None)`` before the first run."""
        get = self.env["ir.config_parameter"].sudo().get_param
        start, end = get(ROLLED_FROM_PARAM), get(ROLLED_TO_PARAM)
        if not start or not end:
            return None, None
        return fields.Datetime.to_datetime(start), fields.Datetime.to_datetime(end)

    @api.model
    @retry_conflicts
    def _cron_roll_up(self, now=None, chunk=CHUNK):
        """Roll up the closed hours from the watermark to the start of the
        hour of ten minutes ago (``ROLL_LAG``), one chunk per transaction (the
        cron runs again for the rest); the first run starts ``BACKFILL`` back.
        Returns the hours rolled."""
        now = now or fields.Datetime.now()
        end = closed_until(now)
        # Lock the watermark first: two runs must not roll the same hours.
        self.env.cr.execute(SQL(
            "SELECT id FROM ir_config_parameter WHERE key = %s FOR UPDATE", ROLLED_TO_PARAM))
        start, watermark = self._rolled_range()
        params = self.env["ir.config_parameter"].sudo()
        if watermark is None:
            start = watermark = end - BACKFILL
            params.set_param(ROLLED_FROM_PARAM, fields.Datetime.to_string(start))
        if watermark >= end:
            self.env["ir.cron"]._notify_progress(done=0, remaining=0)
            return 0
        stop = min(floor_hour(watermark + chunk), end)
        self._roll_up(watermark, stop)
        params.set_param(ROLLED_TO_PARAM, fields.Datetime.to_string(stop))
        hours = int((stop - watermark) / HOUR)
        remaining = int((end - stop) / HOUR)
        self.env["ir.cron"]._notify_progress(done=hours, remaining=remaining)
        if remaining and not self.env.context.get("ir_cron_progress_id"):
            cron = self.env.ref("shipment_sync_monitor.ir_cron_kpi_hour_roll_up",
                                raise_if_not_found=False)
            if cron:
                cron.sudo()._trigger()
        return hours

    @api.model
    def _roll_up(self, start, stop):
        """Insert the rows of the hours ``[start, stop)`` (one statement). A
        request refused before its partner was known (an unknown code) has no
        company: no tile counts it (they read the companies shown), nor does
        any rollup."""
        self.env.flush_all()
        self.env.cr.execute(SQL(
            "WITH r AS ("
            " SELECT date_trunc('hour', e.received_at) AS h, e.company_id AS c, "
            "  e.partner_id AS p, count(*) AS n FROM shipment_sync_event e "
            " WHERE e.direction = 'inbound' AND e.company_id IS NOT NULL "
            " AND e.received_at >= %(start)s "
            " AND e.received_at < %(stop)s GROUP BY 1, 2, 3), "
            "a AS ("
            " SELECT date_trunc('hour', e.applied_at) AS h, e.company_id AS c, "
            "  e.partner_id AS p, %(bucket)s AS k, count(*) AS n FROM shipment_sync_event e "
            " WHERE e.direction = 'inbound' AND e.company_id IS NOT NULL "
            " AND e.applied_at >= %(start)s "
            " AND e.applied_at < %(stop)s GROUP BY 1, 2, 3, 4), "
            "u AS ("
            " SELECT h, c, p, FALSE AS al, NULL::int AS k, n AS received, 0 AS applied FROM r "
            " UNION ALL SELECT h, c, NULL, TRUE, NULL, sum(n), 0 FROM r GROUP BY h, c "
            " UNION ALL SELECT h, c, p, FALSE, k, 0, n FROM a "
            " UNION ALL SELECT h, c, NULL, TRUE, k, 0, sum(n) FROM a GROUP BY h, c, k) "
            "INSERT INTO shipment_sync_kpi_hour (hour, company_id, partner_id, all_partners, "
            " event_count, applied_count, delay_histogram) "
            "SELECT h, c, p, al, sum(received), sum(applied), "
            " COALESCE(jsonb_object_agg(k, applied) FILTER (WHERE k IS NOT NULL), '{}') "
            "FROM u GROUP BY h, c, p, al",
            start=start, stop=stop, bucket=delay_bucket_sql("e")))
        _logger.info("dashboard rollup: %s rows for %s -> %s", self.env.cr.rowcount,
                     start, stop)
