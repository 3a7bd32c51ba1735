import math
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from shipsync import eta, retention
from shipsync import monitor as mon

from .shipment_sync_kpi_hour import ceil_hour, delay_bucket_sql, floor_hour, webhook_delay_sql

PERIODS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30),
           "90d": timedelta(days=90)}
#: Width of a trend bucket per period, in seconds.
TREND_STEP = {"24h": 3600, "7d": 86400, "30d": 86400, "90d": 7 * 86400}
CREATION_OPERATIONS_PARAM = "shipment_sync_monitor.creation_operations"
DEFAULT_CREATION_OPERATIONS = "create_shipment"
NO_SCAN_HOURS_PARAM = "shipment_sync_monitor.no_scan_hours"
LANE_DEFAULT_DAYS_PARAM = "shipment_sync_monitor.lane_default_days"
#: Tiles, in display order: key -> method computing the tile.
TILES = (
    ("creation_success", "_tile_creation_success"),
    ("carrier_ack", "_tile_carrier_ack"),
    ("webhook_delay", "_tile_webhook_delay"),
    ("events_per_hour", "_tile_events_per_hour"),
    ("exception_backlog", "_tile_exception_backlog"),
    ("dead_letters", "_tile_dead_letters"),
    ("partner_queues", "_tile_partner_queues"),
    ("breakers", "_tile_breakers"),
    ("shipped_no_tracking", "_tile_shipped_no_tracking"),
    ("tracking_no_scan", "_tile_tracking_no_scan"),
    ("transit_overdue", "_tile_transit_overdue"),
    ("delivered_not_closed", "_tile_delivered_not_closed"),
    ("unmapped_codes", "_tile_unmapped_codes"),
)


class Filters:
    """The dashboard's filters as plain values (see ``_dashboard_filters``)."""

    __slots__ = ("company_ids", "date_from", "date_to", "now", "partner_id", "period",
                 "warehouse_id")

    def __init__(self, **kw):
        for name in self.__slots__:
            setattr(self, name, kw.get(name))


class ShipmentSyncDashboard(models.AbstractModel):
    """The KPI dashboard's figures: one method per tile, each a few aggregate
    SQL queries (indexed, see ``stock_picking`` / ``_auto_init``), each
    returning the figure and the list it clicks through to."""

    _name = "shipment.sync.dashboard"
    _description = "Shipment Sync KPI dashboard"

    # ------------------------------------------------------------------
    # public entry points (called by the OWL client action)
    # ------------------------------------------------------------------
    @api.model
    def get_filter_options(self):
        warehouses = self.env["stock.warehouse"].search_read([], ["name"], order="name")
        partners = self.env["shipment.sync.partner"].search_read([], ["name"], order="name")
        return {
            "periods": [{"id": k, "name": k} for k in PERIODS],
            "companies": [{"id": c.id, "name": c.name} for c in self.env.companies],
            "warehouses": warehouses,
            "partners": partners,
        }

    @api.model
    def get_tiles(self, filters=None):
        f = self._dashboard_filters(filters or {})
        self.env.flush_all()
        return [self._present(self._judge(f, dict(getattr(self, method)(f), key=key)))
                for key, method in TILES]

    @api.model
    def get_dashboard(self, filters=None):
        """The tiles and when they were computed (shown as "last refreshed")."""
        return {"tiles": self.get_tiles(filters),
                "refreshed_at": fields.Datetime.to_string(fields.Datetime.now())}

    @api.model
    def get_tile(self, key, filters=None):
        method = dict(TILES).get(key)
        if not method:
            raise UserError(_("Unknown dashboard tile %s.", key))
        f = self._dashboard_filters(filters or {})
        self.env.flush_all()
        return self._present(self._judge(f, dict(getattr(self, method)(f), key=key)))

    @api.model
    def get_drilldown(self, key, line=-1, filters=None):
        """The id of the link that reopens the list of ``key``'s tile (or of
        its line number ``line``) with these filters: the dashboard opens
        ``/odoo/<dashboard>/<id>/shipment-sync-list`` with it."""
        if key not in dict(TILES):
            raise UserError(_("Unknown dashboard tile %s.", key))
        self._dashboard_filters(filters or {})  # refuse bad filters now, not on reopening
        if not isinstance(line, int) or isinstance(line, bool):
            raise UserError(_("The dashboard line %s is not valid.", line))
        return self.env["shipment.sync.dashboard.link"]._get_or_create(key, line, filters or {}).id

    @api.model
    def _drilldown_action(self, link_id):
        """The window action of a drill-down link (the server action behind
        the ``shipment-sync-list`` URL path)."""
        try:
            link_id = int(link_id or 0)
        except (TypeError, ValueError):
            link_id = 0
        link = self.env["shipment.sync.dashboard.link"].browse(link_id).exists()
        if not link:
            raise UserError(_(
                "This dashboard link does not exist or has expired (links are kept %s days "
                "after they were last opened): open the dashboard again.",
                retention.DRILLDOWN_LINK_DAYS))
        link._touch()
        return link._window_action()

    # ------------------------------------------------------------------
    # trends: one value per bucket of the period
    # ------------------------------------------------------------------
    def _buckets(self, f):
        """(seconds per bucket, number of buckets) of the period."""
        step = TREND_STEP[f.period]
        return step, max(1, math.ceil((f.date_to - f.date_from).total_seconds() / step))

    def _series(self, f, table, time_col, where, aggregates=None):
        """Per bucket of the period, the ``aggregates`` of ``table`` rows whose
        ``time_col`` falls in it (0 / None for an empty bucket). Seconds are
        ``date_part('epoch', ...)`` (a float): ``EXTRACT`` gives a numeric,
        2-3 times slower over a million rows."""
        aggregates = aggregates or (SQL("count(*)"),)
        step, n = self._buckets(f)
        rows = self._query(SQL(
            "SELECT floor(date_part('epoch', %(t)s - %(start)s) / %(step)s)::int, %(aggs)s "
            "FROM %(table)s WHERE %(t)s >= %(start)s AND %(t)s < %(end)s AND %(where)s "
            "GROUP BY 1",
            t=time_col, start=f.date_from, step=step, aggs=SQL(", ").join(aggregates),
            table=table, end=f.date_to, where=where))
        series = [[None] * len(aggregates) for _i in range(n)]
        for bucket, *values in rows:
            if 0 <= bucket < n:
                series[bucket] = values
        return series

    def _trend_bucket(self, f, time_col):
        """SQL: the trend bucket number of ``time_col`` (see ``_series``)."""
        step, _n = self._buckets(f)
        return SQL("floor(date_part('epoch', %s - %s) / %s)::int", time_col, f.date_from, step)

    # ------------------------------------------------------------------
    # hourly rollups (shipment.sync.kpi.hour) for the inbound event tiles
    # ------------------------------------------------------------------
    def _rolled_hours(self, f):
        """``(start, end)``: the whole hours of the period the rollups answer
        (``None`` when they answer none); the rest of the period is counted
        live on the events (``_live_range``). A warehouse filter needs each
        event's picking type, which a rollup row does not keep: with one,
        everything is live."""
        if f.warehouse_id or self.env.context.get("shipment_sync_dashboard_live"):
            return None
        rolled_from, rolled_to = self.env["shipment.sync.kpi.hour"]._rolled_range()
        if rolled_from is None:
            return None
        start = max(ceil_hour(f.date_from), rolled_from)
        end = min(floor_hour(f.date_to), rolled_to)
        return (start, end) if start < end else None

    def _live_range(self, f, rolled, time_col):
        """SQL: ``time_col`` in the period but not in the rolled hours."""
        if not rolled:
            return SQL("%s >= %s AND %s < %s", time_col, f.date_from, time_col, f.date_to)
        return SQL("((%s >= %s AND %s < %s) OR (%s >= %s AND %s < %s))",
                   time_col, f.date_from, time_col, rolled[0],
                   time_col, rolled[1], time_col, f.date_to)

    def _rolled_where(self, f, rolled):
        partner = SQL("NOT k.all_partners AND k.partner_id = %s", f.partner_id) \
            if f.partner_id else SQL("k.all_partners")
        return SQL("k.hour >= %s AND k.hour < %s AND k.company_id IN %s AND %s",
                   rolled[0], rolled[1], f.company_ids, partner)

    @staticmethod
    def _mid_hour():
        # A rolled hour goes to the trend bucket of its middle: with a period
        # that does not start on the hour, a bucket edge cuts one hour, whose
        # events all go to one side (the trend, never the headline figures).
        return SQL("k.hour + interval '30 minutes'")

    def _trend(self, f, label, values, unit=""):
        step, n = self._buckets(f)
        starts = [fields.Datetime.to_string(f.date_from + timedelta(seconds=step * i))
                  for i in range(n)]
        return {"label": label, "unit": unit, "step": step, "starts": starts,
                "values": [None if v is None else round(float(v), 2) for v in values]}

    # ------------------------------------------------------------------
    # thresholds: the SLA rules (shipment.sync.alert.rule) judge the figures
    # ------------------------------------------------------------------
    def _rules(self, f, kind, milestone=None):
        """The active SLA rules of ``kind`` that apply to the filters: a rule
        of every company or of a company shown, of every partner or of the
        partner chosen."""
        domain = [("kind", "=", kind), ("company_id", "in", [False, *f.company_ids])]
        if milestone:
            domain.append(("milestone", "=", milestone))
        rules = self.env["shipment.sync.alert.rule"].sudo().search(domain)
        if f.partner_id:
            rules = rules.filtered(lambda r: not r.partner_id or r.partner_id.id == f.partner_id)
        return rules

    def _judge(self, f, tile):
        """Colour the tile from the SLA rules: ``sla`` is ``{"status":
        "breached" | "ok", "text": ...}`` when a rule measures what the tile
        shows (the rule's own threshold and operator, ``shipsync.monitor``'s
        comparison), absent otherwise."""
        judge = {
            "creation_success": self._judge_creation_success,
            "webhook_delay": self._judge_webhook_delay,
            "partner_queues": self._judge_partner_queues,
            "tracking_no_scan": self._judge_tracking_no_scan,
        }.get(tile["key"])
        verdicts = judge(f, tile) if judge else []
        if verdicts:
            breached = [rule.name for rule, is_breached in verdicts if is_breached]
            names = sorted({rule.name for rule, _b in verdicts})
            tile["sla"] = {
                "status": "breached" if breached else "ok",
                "text": _("Over the SLA: %s", ", ".join(sorted(set(breached)))) if breached
                else _("Within the SLA: %s", ", ".join(names)),
            }
        return tile

    def _judge_creation_success(self, f, tile):
        # The failure rate rules judge the label bookings of the period.
        figures = tile["figures"]
        verdicts = []
        for rule in self._rules(f, "failure_rate"):
            plain = rule._to_rule()
            if rule.partner_id and rule.partner_id.id != f.partner_id:
                continue  # the tile counts every partner's bookings
            if figures["total"] < max(plain.min_samples, 1):
                continue
            verdicts.append((rule, plain.breached(100.0 * figures["dead"] / figures["total"])))
        return verdicts

    def _judge_webhook_delay(self, f, tile):
        figures = tile["figures"]
        verdicts = []
        for rule in self._rules(f, "webhook_delay_p95"):
            plain = rule._to_rule()
            if rule.partner_id and rule.partner_id.id != f.partner_id:
                continue  # the tile's p95 is of every partner: not that rule's figure
            if (figures["count"] or 0) < max(plain.min_samples, 1):
                continue
            verdicts.append((rule, plain.breached(figures["p95"])))
        return verdicts

    def _judge_partner_queues(self, f, tile):
        verdicts = []
        per_partner = tile["figures"]["calls"]
        for kind in ("queue_depth", "failure_rate"):
            for rule in self._rules(f, kind):
                plain = rule._to_rule()
                for pid, (depth, failed, total) in per_partner.items():
                    if rule.partner_id and rule.partner_id.id != pid:
                        continue
                    if kind == "queue_depth":
                        verdicts.append((rule, plain.breached(depth)))
                    elif total >= max(plain.min_samples, 1):
                        verdicts.append((rule, plain.breached(100.0 * failed / total)))
        return verdicts

    def _judge_tracking_no_scan(self, f, tile):
        rules = tile.pop("rules")
        return [(rule, bool(tile["value"])) for rule in rules]

    # ------------------------------------------------------------------
    # presentation: what the tile says, in words (no raw codes)
    # ------------------------------------------------------------------
    @staticmethod
    def _fmt(value, digits=1):
        if value is None:
            return ""
        if float(value).is_integer():
            return f"{int(value):,}"
        return f"{value:,.{digits}f}"

    def _present(self, tile):
        """Add ``headline`` (the big figure, '' when there is nothing to
        show), ``empty_text`` (why, in words) and ``lines`` (each a text, a
        count and the list that count opens) to a computed tile."""
        tile.setdefault("lines", [])
        value, unit = tile.get("value"), tile.get("unit")
        figures = tile.get("figures") or {}
        if unit == "s":
            count = figures.get("count") or 0
            tile["headline"] = _("%(p50)s s median", p50=self._fmt(figures.get("p50"))) \
                if count else ""
            if count:
                tile["lines"].insert(0, {"text": _("p95 %(p95)s s over %(count)s",
                                                   p95=self._fmt(figures.get("p95")),
                                                   count=self._fmt(count)),
                                         "count": count, "action": tile["action"]})
        elif unit == "%":
            tile["headline"] = f"{self._fmt(value)} %" if value is not None else ""
        elif unit == "/h":
            tile["headline"] = _("%(rate)s / h", rate=self._fmt(value, 2)) \
                if figures.get("count") else ""
        else:
            tile["headline"] = self._fmt(value or 0)
        if not tile["headline"]:
            tile["empty_text"] = tile.get("empty_text") or _("Nothing in this period")
        return tile

    def _dashboard_filters(self, raw):
        period = raw.get("period") or "7d"
        if period not in PERIODS:
            raise UserError(_("Unknown period %s.", period))
        try:
            now = raw.get("now") or fields.Datetime.now()
            if isinstance(now, str):
                now = fields.Datetime.to_datetime(now)
            requested = [int(c) for c in (raw.get("company_ids") or [])]
            warehouse_id = int(raw["warehouse_id"]) if raw.get("warehouse_id") else None
            partner_id = int(raw["partner_id"]) if raw.get("partner_id") else None
        except (TypeError, ValueError):
            raise UserError(_("The dashboard filters are not valid: %s", raw)) from None
        allowed = set(self.env.companies.ids)
        company_ids = [c for c in requested if c in allowed] or sorted(allowed)
        return Filters(
            period=period, now=now, date_from=now - PERIODS[period], date_to=now,
            company_ids=tuple(company_ids), warehouse_id=warehouse_id, partner_id=partner_id,
        )

    # ------------------------------------------------------------------
    # SQL fragments and click-through domains
    # ------------------------------------------------------------------
    def _picking_types(self, f):
        if not f.warehouse_id:
            return None
        return tuple(self.env["stock.picking.type"].with_context(active_test=False).search(
            [("warehouse_id", "=", f.warehouse_id)]).ids) or (0,)

    def _where(self, f, alias, picking_col="picking_id", partner_col="partner_id",
               company_col="company_id"):
        """Company / partner / warehouse conditions on table ``alias``."""
        a = SQL.identifier(alias)
        parts = [SQL("%s.%s IN %s", a, SQL.identifier(company_col), f.company_ids)]
        if f.partner_id and partner_col:
            parts.append(SQL("%s.%s = %s", a, SQL.identifier(partner_col), f.partner_id))
        types = self._picking_types(f)
        if types and picking_col:
            parts.append(SQL(
                "%s.%s IN (SELECT id FROM stock_picking WHERE picking_type_id IN %s)",
                a, SQL.identifier(picking_col), types))
        return SQL(" AND ").join(parts)

    def _domain(self, f, picking_field="picking_id", partner_field="partner_id",
                company_field="company_id"):
        domain = [(company_field, "in", list(f.company_ids))]
        if f.partner_id and partner_field:
            domain.append((partner_field, "=", f.partner_id))
        if f.warehouse_id and picking_field:
            prefix = f"{picking_field}." if picking_field != "id" else ""
            domain.append((f"{prefix}picking_type_id.warehouse_id", "=", f.warehouse_id))
        return domain

    def _picking_where(self, f):
        parts = [SQL("p.company_id IN %s", f.company_ids)]
        types = self._picking_types(f)
        if types:
            parts.append(SQL("p.picking_type_id IN %s", types))
        if f.partner_id:
            parts.append(SQL("p.shipment_milestone_partner_id = %s", f.partner_id))
        return SQL(" AND ").join(parts)

    def _picking_domain(self, f):
        domain = [("company_id", "in", list(f.company_ids))]
        if f.warehouse_id:
            domain.append(("picking_type_id.warehouse_id", "=", f.warehouse_id))
        if f.partner_id:
            domain.append(("shipment_milestone_partner_id", "=", f.partner_id))
        return domain

    @staticmethod
    def _action(name, model, domain, context=None, views=("list", "form")):
        return {"name": name, "res_model": model, "domain": domain,
                "context": context or {}, "views": [[False, v] for v in views]}

    def _query(self, query):
        self.env.cr.execute(query)
        return self.env.cr.fetchall()

    def _creation_operations(self):
        raw = self.env["ir.config_parameter"].sudo().get_param(
            CREATION_OPERATIONS_PARAM, DEFAULT_CREATION_OPERATIONS)
        return tuple(op.strip() for op in raw.split(",") if op.strip()) or ("",)

    def _partner_names(self, ids):
        partners = self.env["shipment.sync.partner"].sudo().browse(ids)
        return {p.id: p.name for p in partners}

    # ------------------------------------------------------------------
    # tiles
    # ------------------------------------------------------------------
    def _tile_creation_success(self, f):
        """Labels created (Odoo's ``label_created`` events: at validation or
        by a background booking) against bookings that died, in the period."""
        ops = self._creation_operations()
        label_where = [SQL("e.direction = 'internal' AND e.milestone = 'label_created' "
                           "AND e.received_at >= %s AND e.received_at < %s",
                           f.date_from, f.date_to),
                       self._where(f, "e", partner_col=None)]
        label_domain = [("direction", "=", "internal"), ("milestone", "=", "label_created"),
                        ("received_at", ">=", f.date_from), ("received_at", "<", f.date_to)] \
            + self._domain(f, partner_field=None)
        if f.partner_id:
            label_where.append(SQL(
                "EXISTS (SELECT 1 FROM shipment_sync_job j WHERE j.picking_id = e.picking_id "
                "AND j.partner_id = %s AND j.operation IN %s)", f.partner_id, ops))
            label_domain.append(("picking_id.shipment_job_ids", "any", [
                ("partner_id", "=", f.partner_id), ("operation", "in", list(ops))]))
        (labels,), = self._query(SQL("SELECT count(*) FROM shipment_sync_event e WHERE %s",
                                     SQL(" AND ").join(label_where)))
        dead_domain = [("operation", "in", list(ops)), ("state", "=", "dead"),
                       ("create_date", ">=", f.date_from), ("create_date", "<", f.date_to)] \
            + self._domain(f)
        (dead,), = self._query(SQL(
            "SELECT count(*) FROM shipment_sync_job j WHERE j.operation IN %s "
            "AND j.state = 'dead' AND j.create_date >= %s AND j.create_date < %s AND %s",
            ops, f.date_from, f.date_to, self._where(f, "j")))
        ratio = mon.rate(labels, labels + dead)
        labels_action = self._action(_("Labels created"), "shipment.sync.event", label_domain)
        dead_action = self._action(_("Failed bookings"), "shipment.sync.job", dead_domain)
        made = self._series(f, SQL("shipment_sync_event e"), SQL("e.received_at"),
                            SQL(" AND ").join(label_where))
        died = self._series(f, SQL("shipment_sync_job j"), SQL("j.create_date"), SQL(
            "j.operation IN %s AND j.state = 'dead' AND %s", ops, self._where(f, "j")))
        rates = []
        for (ok,), (ko,) in zip(made, died, strict=True):
            r = mon.rate(ok or 0, (ok or 0) + (ko or 0))
            rates.append(r * 100 if r is not None else None)
        return {
            "trend": self._trend(f, _("Success %"), rates, "%"),
            "title": _("Shipment creation success"),
            "value": ratio * 100 if ratio is not None else None, "unit": "%",
            "figures": {"done": labels, "dead": dead, "total": labels + dead},
            "empty_text": _("No label requested in this period"),
            "lines": [
                {"text": _("%s labels created", labels), "count": labels,
                 "action": labels_action},
                {"text": _("%s bookings failed", dead), "count": dead, "action": dead_action},
            ],
            "action": dead_action if dead else labels_action,
        }

    def _tile_carrier_ack(self, f):
        ops = self._creation_operations()
        (p50, p95, count), = self._query(SQL(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY d), "
            "percentile_cont(0.95) WITHIN GROUP (ORDER BY d), count(*) FROM ("
            " SELECT date_part('epoch', j.done_at - j.create_date) AS d "
            " FROM shipment_sync_job j WHERE j.state = 'done' AND j.operation IN %s "
            " AND j.done_at >= %s AND j.done_at < %s AND %s) s",
            ops, f.date_from, f.date_to, self._where(f, "j")))
        p50s = self._series(f, SQL("shipment_sync_job j"), SQL("j.done_at"), SQL(
            "j.state = 'done' AND j.operation IN %s AND %s", ops, self._where(f, "j")),
            (SQL("percentile_cont(0.5) WITHIN GROUP (ORDER BY "
                 "date_part('epoch', j.done_at - j.create_date))"),))
        return {
            "trend": self._trend(f, _("Median (s)"), [v[0] for v in p50s], "s"),
            "title": _("Carrier acknowledgement time"), "unit": "s",
            "value": p50, "figures": {"p50": p50, "p95": p95, "count": count},
            "action": self._action(
                _("Acknowledged shipments"), "shipment.sync.job",
                [("operation", "in", list(ops)), ("state", "=", "done"),
                 ("done_at", ">=", f.date_from), ("done_at", "<", f.date_to)]
                + self._domain(f)),
        }

    def _tile_webhook_delay(self, f):
        """Processing delay (received -> applied) of the inbound events
        applied in the period: exact (``percentile_cont``) when the period is
        all live, else read from the delay histograms of the hourly rollups
        plus the live rows bucketed the same way (within one 2 % bucket)."""
        rolled = self._rolled_hours(f)
        live = SQL("e.direction = 'inbound' AND e.applied_at IS NOT NULL AND %s AND %s",
                   self._live_range(f, rolled, SQL("e.applied_at")), self._where(f, "e"))
        if not rolled:
            (p50, p95, count), = self._query(SQL(
                "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY d), "
                "percentile_cont(0.95) WITHIN GROUP (ORDER BY d), count(*) FROM ("
                " SELECT %s AS d FROM shipment_sync_event e WHERE %s) s",
                webhook_delay_sql("e"), live))
            p50s = [v[0] for v in self._series(
                f, SQL("shipment_sync_event e"), SQL("e.applied_at"), live,
                (SQL("percentile_cont(0.5) WITHIN GROUP (ORDER BY %s)",
                     webhook_delay_sql("e")),))]
        else:
            rows = self._query(SQL(
                "SELECT %(live_bucket)s, %(delay)s, count(*) FROM shipment_sync_event e "
                "WHERE %(live)s GROUP BY 1, 2 "
                "UNION ALL "
                "SELECT %(rolled_bucket)s, h.key::int, sum(h.value::int) "
                "FROM shipment_sync_kpi_hour k, jsonb_each_text(k.delay_histogram) h "
                "WHERE %(rolled)s GROUP BY 1, 2",
                live_bucket=self._trend_bucket(f, SQL("e.applied_at")),
                delay=delay_bucket_sql("e"), live=live,
                rolled_bucket=self._trend_bucket(f, self._mid_hour()),
                rolled=self._rolled_where(f, rolled)))
            _step, n = self._buckets(f)
            per_bucket = [{} for _i in range(n)]
            for trend_bucket, delay_bucket, count in rows:
                hist = per_bucket[min(max(trend_bucket, 0), n - 1)]
                hist[delay_bucket] = hist.get(delay_bucket, 0) + int(count)
            merged = mon.merge_histograms(*per_bucket)
            count = sum(merged.values())
            p50 = mon.percentile_from_histogram(merged, 0.5)
            p95 = mon.percentile_from_histogram(merged, 0.95)
            p50s = [mon.percentile_from_histogram(hist, 0.5) for hist in per_bucket]
        return {
            "trend": self._trend(f, _("Median (s)"), p50s, "s"),
            "title": _("Webhook processing delay"), "unit": "s",
            "value": p50, "figures": {"p50": p50, "p95": p95, "count": count},
            "action": self._action(
                _("Webhook events applied in the period"), "shipment.sync.event",
                [("direction", "=", "inbound"), ("applied_at", ">=", f.date_from),
                 ("applied_at", "<", f.date_to)] + self._domain(f)),
        }

    def _tile_events_per_hour(self, f):
        """Inbound events received in the period: the hourly rollups for the
        whole rolled hours, the events themselves for the rest (exact)."""
        rolled = self._rolled_hours(f)
        live = SQL("e.direction = 'inbound' AND %s AND %s",
                   self._live_range(f, rolled, SQL("e.received_at")), self._where(f, "e"))
        (count,), = self._query(SQL("SELECT count(*) FROM shipment_sync_event e WHERE %s",
                                    live))
        step, _n = self._buckets(f)
        counts = [c or 0 for (c,) in self._series(
            f, SQL("shipment_sync_event e"), SQL("e.received_at"), live)]
        if rolled:
            (rolled_count,), = self._query(SQL(
                "SELECT COALESCE(sum(k.event_count), 0) FROM shipment_sync_kpi_hour k "
                "WHERE %s", self._rolled_where(f, rolled)))
            count += rolled_count
            rolled_counts = self._series(
                f, SQL("shipment_sync_kpi_hour k"), self._mid_hour(),
                self._rolled_where(f, rolled), (SQL("sum(k.event_count)"),))
            counts = [c + (r or 0) for c, (r,) in zip(counts, rolled_counts, strict=True)]
        hours = (f.date_to - f.date_from).total_seconds() / 3600.0
        action = self._action(
            _("Inbound events"), "shipment.sync.event",
            [("direction", "=", "inbound"), ("received_at", ">=", f.date_from),
             ("received_at", "<", f.date_to)] + self._domain(f),
            views=("graph", "list", "pivot", "form"))
        return {
            "trend": self._trend(f, _("Events / h"), [c / (step / 3600.0) for c in counts],
                                 "/h"),
            "title": _("Events per hour"), "unit": "/h", "value": count / hours,
            "figures": {"count": count, "hours": hours},
            "empty_text": _("No event received in this period"),
            "lines": [{"text": _("%s events received", count), "count": count,
                       "action": action}] if count else [],
            "action": action,
        }

    def _tile_exception_backlog(self, f):
        rows = self._query(SQL(
            "SELECT x.reason, x.age_bucket, count(*) FROM shipment_sync_exception x "
            "WHERE x.state <> 'resolved' AND %s GROUP BY 1, 2",
            self._where(f, "x", picking_col=None)
            if not f.warehouse_id else SQL("%s AND x.warehouse_id = %s",
                                           self._where(f, "x", picking_col=None),
                                           f.warehouse_id)))
        by_reason, by_age = {}, {}
        for reason, bucket, count in rows:
            by_reason[reason] = by_reason.get(reason, 0) + count
            by_age[bucket or "lt_1h"] = by_age.get(bucket or "lt_1h", 0) + count
        domain = [("state", "!=", "resolved"), ("company_id", "in", list(f.company_ids))]
        if f.partner_id:
            domain.append(("partner_id", "=", f.partner_id))
        if f.warehouse_id:
            domain.append(("warehouse_id", "=", f.warehouse_id))
        reasons = dict(self.env["shipment.sync.exception"]._fields["reason"]
                       ._description_selection(self.env))
        ages = dict(self.env["shipment.sync.exception"]._fields["age_bucket"]
                    ._description_selection(self.env))
        lines = [{"text": f"{reasons.get(reason, reason)}: {count}", "count": count,
                  "action": self._action(reasons.get(reason, reason), "shipment.sync.exception",
                                         domain + [("reason", "=", reason)],
                                         views=("list", "kanban", "form"))}
                 for reason, count in sorted(by_reason.items(), key=lambda kv: -kv[1])]
        if by_age:
            order = [code for code, _label in mon.AGE_BUCKET_SELECTION]
            lines.append({"text": _("By age: %s", " · ".join(
                f"{ages.get(b, b)}: {by_age[b]}" for b in order if by_age.get(b))),
                "count": None, "action": None})
        opened = self._series(f, SQL("shipment_sync_exception x"), SQL("x.opened_at"), SQL(
            "%s%s", self._where(f, "x", picking_col=None),
            SQL(" AND x.warehouse_id = %s", f.warehouse_id) if f.warehouse_id else SQL("")))
        return {
            "trend": self._trend(f, _("Opened"), [c or 0 for (c,) in opened]),
            "title": _("Exception backlog"), "unit": "", "value": sum(by_reason.values()),
            "figures": {"by_reason": by_reason, "by_age": by_age}, "lines": lines,
            "action": self._action(_("Open exceptions"), "shipment.sync.exception", domain,
                                   {"group_by": ["reason"]},
                                   views=("list", "kanban", "form")),
        }

    def _tile_dead_letters(self, f):
        rows = self._query(SQL(
            "SELECT j.partner_id, count(*) FROM shipment_sync_job j WHERE j.state = 'dead' "
            "AND %s GROUP BY 1", self._where(f, "j")))
        names = self._partner_names([r[0] for r in rows])
        died = self._series(f, SQL("shipment_sync_job j"), SQL("j.dead_at"), SQL(
            "j.state = 'dead' AND %s", self._where(f, "j")))
        return {
            "trend": self._trend(f, _("Died"), [c or 0 for (c,) in died]),
            "title": _("Dead letters"), "unit": "", "value": sum(r[1] for r in rows),
            "figures": {"by_partner": {names[pid]: count for pid, count in rows}},
            "lines": [{"text": f"{names[pid]}: {count}", "count": count,
                       "action": self._action(_("Dead letters of %s", names[pid]),
                                              "shipment.sync.job",
                                              [("state", "=", "dead"), ("partner_id", "=", pid)]
                                              + self._domain(f))}
                      for pid, count in sorted(rows, key=lambda r: -r[1])],
            "action": self._action(_("Dead letters"), "shipment.sync.job",
                                   [("state", "=", "dead")] + self._domain(f),
                                   {"group_by": ["partner_id"]}),
        }

    def _tile_partner_queues(self, f):
        depth = dict(self._query(SQL(
            "SELECT j.partner_id, count(*) FROM shipment_sync_job j "
            "WHERE j.state IN ('pending', 'running') AND %s GROUP BY 1",
            self._where(f, "j"))))
        outcomes = self._query(SQL(
            "SELECT a.partner_id, count(*) FILTER (WHERE a.outcome IN ('retry', 'dead')), "
            "count(*) FILTER (WHERE a.outcome IN ('done', 'retry', 'dead')) "
            "FROM shipment_sync_job_attempt a WHERE a.started_at >= %s AND a.started_at < %s "
            "AND %s GROUP BY 1",
            f.date_from, f.date_to, self._where(f, "a", picking_col=None)))
        failures = {pid: mon.rate(failed, total) for pid, failed, total in outcomes}
        calls = {pid: (failed, total) for pid, failed, total in outcomes}
        names = self._partner_names(set(depth) | set(failures))
        per_partner = {
            names[pid]: {"depth": depth.get(pid, 0),
                         "failure_rate": (failures[pid] * 100
                                          if failures.get(pid) is not None else None)}
            for pid in sorted(names, key=names.get)
        }
        lines = []
        for pid in sorted(names, key=names.get):
            failed, total = calls.get(pid, (0, 0))
            # Queued now beside the calls of the period, with their counts:
            # "0 queued" next to "3 of 3 calls failed" reads as it is.
            text = _("%(partner)s: %(depth)s queued now · %(failed)s of %(total)s calls "
                     "failed in the period", partner=names[pid], depth=depth.get(pid, 0),
                     failed=failed, total=total) if total else \
                _("%(partner)s: %(depth)s queued now · no call in the period",
                  partner=names[pid], depth=depth.get(pid, 0))
            lines.append({"text": text, "count": depth.get(pid, 0), "action": self._action(
                _("Queued jobs of %s", names[pid]), "shipment.sync.job",
                [("state", "in", ["pending", "running"]), ("partner_id", "=", pid)]
                + self._domain(f))})
        return {
            "title": _("Queue depth (now) and call failures"), "unit": "",
            "value": sum(depth.values()),
            "figures": {"by_partner": per_partner,
                        "calls": {pid: (depth.get(pid, 0), *calls.get(pid, (0, 0)))
                                  for pid in names}},
            "lines": lines,
            "action": self._action(_("Queued jobs"), "shipment.sync.job",
                                   [("state", "in", ["pending", "running"])] + self._domain(f),
                                   {"group_by": ["partner_id"]}),
        }

    def _tile_breakers(self, f):
        domain = [("company_id", "in", list(f.company_ids))]
        if f.partner_id:
            domain.append(("id", "=", f.partner_id))
        partners = self.env["shipment.sync.partner"].search(domain)
        state_labels = dict(self.env["shipment.sync.partner"]._fields["outbox_breaker_state"]
                            ._description_selection(self.env))
        states, texts = {}, {}
        for p in partners:
            state = p.outbox_breaker_state
            text = state_labels.get(state, state)
            if p.outbox_paused:  # a 429/503 Retry-After paused the whole partner
                pause = _("paused until %(until)s UTC (%(reason)s)",
                          until=fields.Datetime.to_string(p.outbox_paused_until),
                          reason=p.outbox_pause_reason or "-")
                state = pause if state == "closed" else f"{state}, {pause}"
                text = pause if p.outbox_breaker_state == "closed" else f"{text}, {pause}"
            states[p.name], texts[p.name] = state, text
        not_closed = [name for name, state in states.items() if state != "closed"]
        return {
            "title": _("Circuit breakers not closed"), "unit": "", "value": len(not_closed),
            "figures": {"by_partner": states},
            "lines": [{"text": f"{name}: {texts[name]}", "count": None, "action": None}
                      for name in sorted(not_closed)],
            "action": self._action(_("Partners"), "shipment.sync.partner", domain + [
                "|", ("outbox_breaker_state", "!=", "closed"), ("outbox_paused", "=", True)]),
        }

    def _tile_shipped_no_tracking(self, f):
        (count,), = self._query(SQL(
            "SELECT count(*) FROM stock_picking p JOIN stock_picking_type t "
            "ON t.id = p.picking_type_id AND t.code = 'outgoing' "
            "WHERE p.state = 'done' AND p.date_done >= %s AND p.date_done < %s "
            "AND p.carrier_id IS NOT NULL "
            "AND (p.carrier_tracking_ref IS NULL OR p.carrier_tracking_ref = '') AND %s",
            f.date_from, f.date_to, self._picking_where(f)))
        return {
            "title": _("Shipped without tracking"), "unit": "", "value": count,
            "action": self._action(
                _("Shipped without tracking"), "stock.picking",
                [("picking_type_code", "=", "outgoing"), ("state", "=", "done"),
                 ("date_done", ">=", f.date_from), ("date_done", "<", f.date_to),
                 ("carrier_id", "!=", False), ("carrier_tracking_ref", "in", [False, ""])]
                + self._picking_domain(f)),
        }

    def _no_scan_hours(self, rules=None):
        """Hours without a carrier scan after which a shipment counts: the
        shortest of the SLA rules on "handed over" that apply, the system
        parameter when no rule does."""
        if rules:
            return min(rules.mapped("threshold")) / 60.0
        return float(self.env["ir.config_parameter"].sudo().get_param(NO_SCAN_HOURS_PARAM, 24))

    def _tile_tracking_no_scan(self, f):
        rules = self._rules(f, "milestone_age", milestone="handed_over")
        hours = self._no_scan_hours(rules)
        cutoff = f.now - timedelta(hours=hours)
        milestones = ("label_created", "handed_over")
        (count,), = self._query(SQL(
            "SELECT count(*) FROM stock_picking p WHERE p.shipment_milestone IN %s "
            "AND p.shipment_milestone_date < %s AND p.carrier_tracking_ref IS NOT NULL "
            "AND p.carrier_tracking_ref <> '' AND p.state <> 'cancel' AND %s",
            milestones, cutoff, self._picking_where(f)))
        return {
            "title": _("Tracking but no carrier scan"), "unit": "", "value": count,
            "figures": {"hours": hours}, "rules": rules,
            "lines": [{"text": _("No scan for more than %s h", self._fmt(hours)),
                       "count": None, "action": None}],
            "action": self._action(
                _("Tracking without carrier scan"), "stock.picking",
                [("shipment_milestone", "in", list(milestones)),
                 ("shipment_milestone_date", "<", cutoff),
                 ("carrier_tracking_ref", "not in", [False, ""]), ("state", "!=", "cancel")]
                + self._picking_domain(f)),
        }

    def _lane_usual_days(self, f):
        """Usual transit time per carrier: the p90 (hand-over -> delivery) of
        the carrier's ETA lane statistics at carrier level
        (``shipment.sync.lane``, folded by the ETA cron; the companies shown
        merged); the configured default when a carrier has fewer deliveries
        than the ETA's minimum sample count. Unlike a live percentile, the
        lane counts every delivery folded so far (not only the last 90 days),
        takes the hand-over from the handed_over event when there is one and
        is exact to its 1-hour bucket."""
        default = float(self.env["ir.config_parameter"].sudo().get_param(
            LANE_DEFAULT_DAYS_PARAM, 5))
        Lane = self.env["shipment.sync.lane"].sudo()
        min_samples, _prefix = Lane._eta_params()
        stats = {}
        for lane in Lane.search([("level", "=", "carrier"), ("carrier_id", "!=", False),
                                 ("company_id", "in", list(f.company_ids))]):
            stats.setdefault(lane.carrier_id.id, eta.TransitStats()).merge(lane._eta_stats())
        return {cid: (s.p90 / 24.0 if s.count >= min_samples and s.p90 is not None
                      else default) for cid, s in stats.items()}, default

    def _tile_transit_overdue(self, f):
        lanes, default = self._lane_usual_days(f)
        milestones = ("picked_up", "in_transit")
        # One (carrier, cutoff) pair per lane, and the default for the others:
        # the same condition in SQL and in the click-through domain.
        cutoffs = {cid: f.now - timedelta(days=days) for cid, days in lanes.items()}
        default_cutoff = f.now - timedelta(days=default)
        conditions = [SQL("(p.carrier_id = %s AND p.date_done < %s)", cid, cutoff)
                      for cid, cutoff in cutoffs.items()]
        others = SQL("TRUE") if not cutoffs else SQL(
            "(p.carrier_id IS NULL OR p.carrier_id NOT IN %s)", tuple(cutoffs))
        conditions.append(SQL("(%s AND p.date_done < %s)", others, default_cutoff))
        (count,), = self._query(SQL(
            "SELECT count(*) FROM stock_picking p WHERE p.shipment_milestone IN %s "
            "AND p.date_done IS NOT NULL AND (%s) AND %s",
            milestones, SQL(" OR ").join(conditions), self._picking_where(f)))
        lane_domains = [["&", ("carrier_id", "=", cid), ("date_done", "<", cutoff)]
                        for cid, cutoff in cutoffs.items()]
        lane_domains.append(["&", ("carrier_id", "not in", list(cutoffs)),
                             ("date_done", "<", default_cutoff)])
        either = ["|"] * (len(lane_domains) - 1) + [t for d in lane_domains for t in d]
        return {
            "title": _("In transit beyond the lane's usual time"), "unit": "",
            "value": count, "figures": {"lanes": {str(k): v for k, v in lanes.items()},
                                        "default_days": default},
            "action": self._action(
                _("Overdue in transit"), "stock.picking",
                [("shipment_milestone", "in", list(milestones)), ("date_done", "!=", False)]
                + either + self._picking_domain(f)),
        }

    def _tile_delivered_not_closed(self, f):
        (count,), = self._query(SQL(
            "SELECT count(*) FROM stock_picking p WHERE p.shipment_milestone = 'delivered' "
            "AND p.state NOT IN ('done', 'cancel') AND %s", self._picking_where(f)))
        return {
            "title": _("Delivered but not closed in Odoo"), "unit": "", "value": count,
            "action": self._action(
                _("Delivered, not closed"), "stock.picking",
                [("shipment_milestone", "=", "delivered"),
                 ("state", "not in", ["done", "cancel"])] + self._picking_domain(f)),
        }

    def _tile_unmapped_codes(self, f):
        # Group by code first (a hash aggregate over the partial index), then
        # by partner: much cheaper than count(DISTINCT ...).
        rows = self._query(SQL(
            "SELECT partner_id, count(*), sum(n)::bigint FROM ("
            " SELECT e.partner_id, e.raw_code, e.raw_subcode, count(*) AS n "
            " FROM shipment_sync_event e WHERE e.state = 'unmapped' AND %s GROUP BY 1, 2, 3"
            ") s GROUP BY 1", self._where(f, "e")))
        names = self._partner_names([r[0] for r in rows if r[0]])
        return {
            "title": _("Unmapped partner codes"), "unit": "",
            "value": sum(r[1] for r in rows),
            "figures": {"by_partner": {names.get(pid, "?"): codes for pid, codes, _n in rows},
                        "events": sum(r[2] for r in rows)},
            "lines": [{"text": _("%(partner)s: %(codes)s codes, %(events)s events",
                                 partner=names.get(pid, "?"), codes=codes, events=n),
                       "count": n, "action": self._action(
                           _("Unmapped events"), "shipment.sync.event",
                           [("state", "=", "unmapped"), ("partner_id", "=", pid)]
                           + self._domain(f), {"group_by": ["raw_code"]})}
                      for pid, codes, n in rows if pid],
            "action": self._action(_("Unmapped events"), "shipment.sync.event",
                                   [("state", "=", "unmapped")] + self._domain(f),
                                   {"group_by": ["partner_id", "raw_code"]}),
        }

    # ------------------------------------------------------------------
    # for the benchmark: the same figures with a plain read_group
    # ------------------------------------------------------------------
    @api.model
    def _bench_read_group(self, key, filters=None):
        """The tile's headline figure computed with the ORM's ``_read_group`` on
        the tile's own click-through domain (what a naive dashboard would do)."""
        f = self._dashboard_filters(filters or {})
        tile = dict(TILES)[key]
        action = getattr(self, tile)(f)["action"]
        model = self.env[action["res_model"]]
        return model._read_group(action["domain"], [], ["__count"])[0][0]

