from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from shipsync import monitor as mon

PERIODS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30),
           "90d": timedelta(days=90)}
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
        return [dict(getattr(self, method)(f), key=key) for key, method in TILES]

    @api.model
    def get_tile(self, key, filters=None):
        method = dict(TILES).get(key)
        if not method:
            raise UserError(_("Unknown dashboard tile %s.", key))
        f = self._dashboard_filters(filters or {})
        self.env.flush_all()
        return dict(getattr(self, method)(f), key=key)

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
        ops = self._creation_operations()
        (done, dead, total), = self._query(SQL(
            "SELECT count(*) FILTER (WHERE j.state = 'done'), "
            "count(*) FILTER (WHERE j.state = 'dead'), count(*) "
            "FROM shipment_sync_job j WHERE j.operation IN %s AND j.create_date >= %s "
            "AND j.create_date < %s AND %s",
            ops, f.date_from, f.date_to, self._where(f, "j")))
        ratio = mon.rate(done, done + dead)
        return {
            "title": _("Shipment creation success"),
            "value": ratio * 100 if ratio is not None else None, "unit": "%",
            "figures": {"done": done, "dead": dead, "total": total},
            "action": self._action(
                _("Shipment creation jobs"), "shipment.sync.job",
                [("operation", "in", list(ops)), ("create_date", ">=", f.date_from),
                 ("create_date", "<", f.date_to)] + self._domain(f)),
        }

    def _tile_carrier_ack(self, f):
        ops = self._creation_operations()
        (p50, p95, count), = self._query(SQL(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY d), "
            "percentile_cont(0.95) WITHIN GROUP (ORDER BY d), count(*) FROM ("
            " SELECT EXTRACT(EPOCH FROM j.done_at - j.create_date) AS d "
            " FROM shipment_sync_job j WHERE j.state = 'done' AND j.operation IN %s "
            " AND j.done_at >= %s AND j.done_at < %s AND %s) s",
            ops, f.date_from, f.date_to, self._where(f, "j")))
        return {
            "title": _("Carrier acknowledgement time"), "unit": "s",
            "value": p50, "figures": {"p50": p50, "p95": p95, "count": count},
            "action": self._action(
                _("Acknowledged shipments"), "shipment.sync.job",
                [("operation", "in", list(ops)), ("state", "=", "done"),
                 ("done_at", ">=", f.date_from), ("done_at", "<", f.date_to)]
                + self._domain(f)),
        }

    def _tile_webhook_delay(self, f):
        (p50, p95, count), = self._query(SQL(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY d), "
            "percentile_cont(0.95) WITHIN GROUP (ORDER BY d), count(*) FROM ("
            " SELECT EXTRACT(EPOCH FROM e.applied_at - e.received_at) AS d "
            " FROM shipment_sync_event e WHERE e.direction = 'inbound' "
            " AND e.received_at >= %s AND e.received_at < %s AND e.applied_at IS NOT NULL "
            " AND %s) s",
            f.date_from, f.date_to, self._where(f, "e")))
        return {
            "title": _("Webhook processing delay"), "unit": "s",
            "value": p50, "figures": {"p50": p50, "p95": p95, "count": count},
            "action": self._action(
                _("Applied webhook events"), "shipment.sync.event",
                [("direction", "=", "inbound"), ("received_at", ">=", f.date_from),
                 ("received_at", "<", f.date_to), ("applied_at", "!=", False)]
                + self._domain(f)),
        }

    def _tile_events_per_hour(self, f):
        (count,), = self._query(SQL(
            "SELECT count(*) FROM shipment_sync_event e WHERE e.direction = 'inbound' "
            "AND e.received_at >= %s AND e.received_at < %s AND %s",
            f.date_from, f.date_to, self._where(f, "e")))
        hours = (f.date_to - f.date_from).total_seconds() / 3600.0
        return {
            "title": _("Events per hour"), "unit": "/h", "value": count / hours,
            "figures": {"count": count, "hours": hours},
            "action": self._action(
                _("Inbound events"), "shipment.sync.event",
                [("direction", "=", "inbound"), ("received_at", ">=", f.date_from),
                 ("received_at", "<", f.date_to)] + self._domain(f),
                views=("graph", "list", "pivot", "form")),
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
        return {
            "title": _("Exception backlog"), "unit": "", "value": sum(by_reason.values()),
            "figures": {"by_reason": by_reason, "by_age": by_age},
            "action": self._action(_("Open exceptions"), "shipment.sync.exception", domain,
                                   {"group_by": ["reason", "age_bucket"]},
                                   views=("list", "kanban", "form")),
        }

    def _tile_dead_letters(self, f):
        rows = self._query(SQL(
            "SELECT j.partner_id, count(*) FROM shipment_sync_job j WHERE j.state = 'dead' "
            "AND %s GROUP BY 1", self._where(f, "j")))
        names = self._partner_names([r[0] for r in rows])
        return {
            "title": _("Dead letters"), "unit": "", "value": sum(r[1] for r in rows),
            "figures": {"by_partner": {names[pid]: count for pid, count in rows}},
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
        names = self._partner_names(set(depth) | set(failures))
        per_partner = {
            names[pid]: {"depth": depth.get(pid, 0),
                         "failure_rate": (failures[pid] * 100
                                          if failures.get(pid) is not None else None)}
            for pid in sorted(names, key=names.get)
        }
        return {
            "title": _("Queue depth and failure rate"), "unit": "",
            "value": sum(depth.values()), "figures": {"by_partner": per_partner},
            "action": self._action(_("Queued jobs"), "shipment.sync.job",
                                   [("state", "in", ["pending", "running"])] + self._domain(f),
                                   {"group_by": ["partner_id"]}),
        }

    def _tile_breakers(self, f):
        domain = [("company_id", "in", list(f.company_ids))]
        if f.partner_id:
            domain.append(("id", "=", f.partner_id))
        partners = self.env["shipment.sync.partner"].search(domain)
        states = {}
        for p in partners:
            state = p.outbox_breaker_state
            if p.outbox_paused:  # a 429/503 Retry-After paused the whole partner
                pause = _("paused until %(until)s UTC (%(reason)s)",
                          until=fields.Datetime.to_string(p.outbox_paused_until),
                          reason=p.outbox_pause_reason or "-")
                state = pause if state == "closed" else f"{state}, {pause}"
            states[p.name] = state
        not_closed = [name for name, state in states.items() if state != "closed"]
        return {
            "title": _("Circuit breakers"), "unit": "", "value": len(not_closed),
            "figures": {"by_partner": states},
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

    def _no_scan_hours(self):
        return float(self.env["ir.config_parameter"].sudo().get_param(NO_SCAN_HOURS_PARAM, 24))

    def _tile_tracking_no_scan(self, f):
        cutoff = f.now - timedelta(hours=self._no_scan_hours())
        milestones = ("label_created", "handed_over")
        (count,), = self._query(SQL(
            "SELECT count(*) FROM stock_picking p WHERE p.shipment_milestone IN %s "
            "AND p.shipment_milestone_date < %s AND p.carrier_tracking_ref IS NOT NULL "
            "AND p.carrier_tracking_ref <> '' AND p.state <> 'cancel' AND %s",
            milestones, cutoff, self._picking_where(f)))
        return {
            "title": _("Tracking but no carrier scan"), "unit": "", "value": count,
            "figures": {"hours": self._no_scan_hours()},
            "action": self._action(
                _("Tracking without carrier scan"), "stock.picking",
                [("shipment_milestone", "in", list(milestones)),
                 ("shipment_milestone_date", "<", cutoff),
                 ("carrier_tracking_ref", "not in", [False, ""]), ("state", "!=", "cancel")]
                + self._picking_domain(f)),
        }

    def _lane_usual_days(self, f):
        """Usual transit time per carrier (the lane): the 90th percentile of
        hand-over -> delivery of its pickings delivered in the last 90 days;
        the configured default when a carrier has fewer than 5 of them."""
        default = float(self.env["ir.config_parameter"].sudo().get_param(
            LANE_DEFAULT_DAYS_PARAM, 5))
        rows = self._query(SQL(
            "SELECT p.carrier_id, percentile_cont(0.9) WITHIN GROUP (ORDER BY "
            "EXTRACT(EPOCH FROM p.shipment_milestone_date - p.date_done) / 86400.0), count(*) "
            "FROM stock_picking p WHERE p.shipment_milestone = 'delivered' "
            "AND p.carrier_id IS NOT NULL AND p.date_done IS NOT NULL "
            "AND p.shipment_milestone_date >= %s AND p.company_id IN %s GROUP BY 1",
            f.now - timedelta(days=90), f.company_ids))
        return {cid: (days if count >= 5 else default) for cid, days, count in rows}, default

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

