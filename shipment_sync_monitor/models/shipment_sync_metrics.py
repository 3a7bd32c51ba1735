from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL

from shipsync import monitor as mon

#: Delay histograms cover what happened in this window.
DELAY_WINDOW = timedelta(hours=24)


class ShipmentSyncMetrics(models.AbstractModel):
    """The figures of ``GET /shipment_sync/metrics``: a handful of aggregate
    SQL queries, turned into ``shipsync.monitor`` metric families."""

    _name = "shipment.sync.metrics"
    _description = "Shipment Sync Prometheus metrics"

    @api.model
    def _metrics_text(self, now=None):
        return mon.render(self._metrics_families(now=now))

    @api.model
    def _metrics_families(self, now=None):
        now = now or fields.Datetime.now()
        cr = self.env.cr
        self.env.flush_all()
        families = []

        cr.execute(SQL(
            "SELECT p.code, j.state, count(*) FROM shipment_sync_job j "
            "JOIN shipment_sync_partner p ON p.id = j.partner_id GROUP BY 1, 2 ORDER BY 1, 2"))
        jobs = cr.fetchall()
        depth = mon.MetricFamily("shipsync_outbox_queue_depth", "gauge",
                                 "Outbox jobs waiting or running, per partner.")
        per_partner = {}
        for code, state, count in jobs:
            if state in ("pending", "running"):
                per_partner[code] = per_partner.get(code, 0) + count
        for code, count in sorted(per_partner.items()):
            depth.add(count, {"partner": code})
        by_state = mon.MetricFamily("shipsync_outbox_jobs", "gauge",
                                    "Outbox jobs per partner and state.")
        for code, state, count in jobs:
            by_state.add(count, {"partner": code, "state": state})
        families += [depth, by_state]

        cr.execute(SQL(
            "SELECT p.code, a.outcome, count(*) FROM shipment_sync_job_attempt a "
            "JOIN shipment_sync_partner p ON p.id = a.partner_id "
            "WHERE a.outcome IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2"))
        attempts = mon.MetricFamily("shipsync_outbox_attempts_total", "counter",
                                    "Outbox call attempts made, per outcome (purged ones "
                                    "included).")
        rows = cr.fetchall()
        counts = self.env["shipment.sync.metric.offset"].sudo()._get(
            "shipsync_outbox_attempts_total")
        for code, outcome, count in rows:
            counts[(code, outcome)] = counts.get((code, outcome), 0) + count
        for (code, outcome), count in sorted(counts.items()):
            attempts.add(count, {"partner": code, "outcome": outcome})
        families.append(attempts)

        # Counters count transitions (an event received, an event applied),
        # which never come undone; the current state of the ledger is a gauge.
        cr.execute(SQL(
            "SELECT COALESCE(p.code, e.partner_code, 'odoo'), e.direction, e.state, count(*), "
            "count(*) FILTER (WHERE e.applied_at IS NOT NULL) "
            "FROM shipment_sync_event e LEFT JOIN shipment_sync_partner p "
            "ON p.id = e.partner_id GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"))
        received = mon.MetricFamily("shipsync_events_total", "counter",
                                    "Ledger events received (stored), per partner and direction.")
        applied = mon.MetricFamily("shipsync_events_applied_total", "counter",
                                   "Ledger events applied to their shipment, per partner and "
                                   "direction.")
        by_state = mon.MetricFamily("shipsync_events", "gauge",
                                    "Ledger events per partner, direction and current state.")
        totals, applied_totals = {}, {}
        for code, direction, state, count, applied_count in cr.fetchall():
            key = (code, direction)
            totals[key] = totals.get(key, 0) + count
            applied_totals[key] = applied_totals.get(key, 0) + applied_count
            by_state.add(count, {"partner": code, "direction": direction, "state": state})
        for (code, direction), count in sorted(totals.items()):
            received.add(count, {"partner": code, "direction": direction})
            applied.add(applied_totals[(code, direction)],
                        {"partner": code, "direction": direction})
        families += [received, applied, by_state]

        since = now - DELAY_WINDOW
        families.append(self._metrics_histogram(
            "shipsync_webhook_apply_delay_seconds",
            "Inbound events of the last 24 hours: received -> applied, in seconds.",
            SQL("SELECT p.code, EXTRACT(EPOCH FROM e.applied_at - e.received_at) AS d "
                "FROM shipment_sync_event e JOIN shipment_sync_partner p ON p.id = e.partner_id "
                "WHERE e.direction = 'inbound' AND e.received_at >= %s "
                "AND e.applied_at IS NOT NULL", since)))
        families.append(self._metrics_histogram(
            "shipsync_outbox_completion_seconds",
            "Outbox jobs done in the last 24 hours: enqueued -> done, in seconds.",
            SQL("SELECT p.code, EXTRACT(EPOCH FROM j.done_at - j.create_date) AS d "
                "FROM shipment_sync_job j JOIN shipment_sync_partner p ON p.id = j.partner_id "
                "WHERE j.state = 'done' AND j.done_at >= %s", since)))

        cr.execute(SQL("SELECT code, outbox_breaker_state FROM shipment_sync_partner "
                       "WHERE active ORDER BY code"))
        breaker = mon.MetricFamily("shipsync_breaker_state", "gauge",
                                   "Circuit breaker of each partner: 1 for its current state.")
        for code, state in cr.fetchall():
            for candidate in ("closed", "open", "half_open"):
                breaker.add(1 if state == candidate else 0, {"partner": code, "state": candidate})
        families.append(breaker)

        cr.execute(SQL(
            "SELECT code, GREATEST(0, EXTRACT(EPOCH FROM outbox_paused_until - %s)) "
            "FROM shipment_sync_partner WHERE active ORDER BY code", now))
        pause = mon.MetricFamily(
            "shipsync_outbox_pause_seconds", "gauge",
            "Seconds left of a partner-wide pause asked by a 429/503 Retry-After (0: none).")
        for code, seconds in cr.fetchall():
            pause.add(round(float(seconds or 0), 3), {"partner": code})
        families.append(pause)

        cr.execute(SQL(
            "SELECT reason, state, count(*) FROM shipment_sync_exception "
            "WHERE state <> 'resolved' GROUP BY 1, 2 ORDER BY 1, 2"))
        exceptions = mon.MetricFamily("shipsync_open_exceptions", "gauge",
                                      "Unresolved workbench exceptions per reason and state.")
        for reason, state, count in cr.fetchall():
            exceptions.add(count, {"reason": reason, "state": state})
        families.append(exceptions)

        cr.execute(SQL("SELECT count(*) FROM shipment_sync_alert WHERE state = 'active'"))
        alerts = mon.MetricFamily("shipsync_active_alerts", "gauge",
                                  "Ops alerts currently breaching.")
        alerts.add(cr.fetchone()[0])
        families.append(alerts)
        return families

    def _metrics_histogram(self, name, help_text, query):
        buckets = mon.DEFAULT_DELAY_BUCKETS
        counts = SQL(", ").join(
            SQL("count(*) FILTER (WHERE d <= %s)", float(b)) for b in buckets)
        self.env.cr.execute(SQL(
            "SELECT code, %s, COALESCE(sum(d), 0), count(*) FROM (%s) AS s "
            "GROUP BY code ORDER BY code", counts, query))
        series = {}
        for row in self.env.cr.fetchall():
            series[(row[0],)] = (list(row[1:1 + len(buckets)]), float(row[-2]), row[-1])
        return mon.histogram_from_counts(name, help_text, series, ["partner"], buckets)
