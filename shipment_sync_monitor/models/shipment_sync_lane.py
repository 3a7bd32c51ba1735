import logging
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.tools import SQL

from odoo.addons.shipment_sync.models.cron_retry import retry_conflicts

from shipsync import eta

_logger = logging.getLogger(__name__)

MIN_SAMPLES_PARAM = "shipment_sync_monitor.eta_min_samples"
PREFIX_LENGTH_PARAM = "shipment_sync_monitor.eta_postcode_prefix"
#: Deliveries folded per cron run; the cron triggers itself again for the rest.
FOLD_BATCH = 5000
#: Set once the demo's synthetic lane history is made (it is made once).
ETA_DEMO_PARAM = "shipment_sync_monitor.eta_demo_history"


class ShipmentSyncLane(models.Model):
    """Transit statistics of one lane at one level (``shipsync.eta``): the
    hours from hand-over to delivery of the company's delivered shipments,
    kept as a mergeable histogram from which p50, p90 and the mean come. A
    cron folds each newly delivered shipment once into its lane at every
    level; in-transit shipments are predicted from the most specific level
    with enough samples."""

    _name = "shipment.sync.lane"
    _description = "Shipment lane transit statistics"
    _order = "company_id, carrier_id, level, sample_count desc, id"

    name = fields.Char(compute="_compute_name", store=True)
    key = fields.Char(required=True, index=True, readonly=True,
                      help="level|carrier|service|origin country|origin region|"
                      "destination country|postcode prefix")
    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True)
    level = fields.Selection(eta.LEVEL_SELECTION, required=True, readonly=True)
    carrier_id = fields.Many2one("delivery.carrier", readonly=True,
                                 ondelete="cascade", index=True)
    service = fields.Char(readonly=True, help="The carrier's service code, if any.")
    origin_country_id = fields.Many2one("res.country", "Origin country", readonly=True)
    origin_state_id = fields.Many2one("res.country.state", "Origin region", readonly=True)
    dest_country_id = fields.Many2one("res.country", "Destination country", readonly=True)
    dest_zip_prefix = fields.Char("Postcode prefix", readonly=True)
    sample_count = fields.Integer("Deliveries", readonly=True)
    p50_hours = fields.Float("Median transit (h)", digits=(16, 1), readonly=True)
    p90_hours = fields.Float("p90 transit (h)", digits=(16, 1), readonly=True)
    mean_hours = fields.Float("Mean transit (h)", digits=(16, 1), readonly=True)
    p50_days = fields.Float("Median transit (days)", digits=(16, 1),
                            compute="_compute_days")
    p90_days = fields.Float("p90 transit (days)", digits=(16, 1), compute="_compute_days")
    histogram = fields.Text(readonly=True, help="Transit hours as a JSON histogram "
                            "(1-hour buckets), see shipsync.eta.TransitStats.")
    last_update = fields.Datetime(readonly=True)
    picking_ids = fields.One2many("stock.picking", "shipment_eta_lane_id",
                                  "Shipments predicted")

    _sql_constraints = [
        ("company_key_unique", "UNIQUE(company_id, key)",
         "A lane is kept once per company and level."),
    ]

    @api.depends("level", "carrier_id", "service", "origin_country_id", "origin_state_id",
                 "dest_country_id", "dest_zip_prefix")
    def _compute_name(self):
        for lane in self:
            parts = [lane.carrier_id.name or _("No carrier")]
            if lane.service:
                parts.append(lane.service)
            if lane.level == "lane":
                origin = "/".join(filter(None, [lane.origin_country_id.code,
                                                lane.origin_state_id.code]))
                dest = " ".join(filter(None, [lane.dest_country_id.code,
                                              lane.dest_zip_prefix]))
                parts.append(f"{origin or '?'} → {dest or '?'}")
            elif lane.level == "dest_country":
                parts.append(f"→ {lane.dest_country_id.code or '?'}")
            lane.name = " · ".join(parts)

    @api.depends("p50_hours", "p90_hours")
    def _compute_days(self):
        for lane in self:
            lane.p50_days = lane.p50_hours / 24.0
            lane.p90_days = lane.p90_hours / 24.0

    # ------------------------------------------------------------------
    # parameters
    # ------------------------------------------------------------------
    @api.model
    def _eta_params(self):
        """(min_samples, postcode prefix length) from the system parameters."""
        get = self.env["ir.config_parameter"].sudo().get_param
        try:
            min_samples = max(int(get(MIN_SAMPLES_PARAM, eta.DEFAULT_MIN_SAMPLES)), 1)
        except (TypeError, ValueError):
            min_samples = eta.DEFAULT_MIN_SAMPLES
        try:
            prefix = max(int(get(PREFIX_LENGTH_PARAM, eta.DEFAULT_PREFIX_LENGTH)), 0)
        except (TypeError, ValueError):
            prefix = eta.DEFAULT_PREFIX_LENGTH
        return min_samples, prefix

    def _eta_stats(self):
        self.ensure_one()
        try:
            return eta.TransitStats.from_json(self.histogram)
        except ValueError:
            _logger.warning("lane %s: unreadable histogram, ignored", self.id)
            return eta.TransitStats()

    @api.model
    def _eta_lanes(self, wanted):
        """``{(company_id, key code): lane}`` of the lanes in ``wanted``, a
        set of (company_id, key code) pairs."""
        if not wanted:
            return {}
        companies = {c for c, _k in wanted}
        codes = {k for _c, k in wanted}
        lanes = self.sudo().search([("company_id", "in", list(companies)),
                                    ("key", "in", list(codes))])
        return {(lane.company_id.id, lane.key): lane for lane in lanes
                if (lane.company_id.id, lane.key) in wanted}

    @api.model
    def _eta_lane_vals(self, key, ids):
        """Values of a new lane record for ``key`` from a picking's ids."""
        full = key.level == "lane"
        return {
            "key": key.code, "company_id": ids["company_id"], "level": key.level,
            "carrier_id": ids["carrier_id"] or False, "service": key.service or False,
            "origin_country_id": full and ids["origin_country_id"] or False,
            "origin_state_id": full and ids["origin_state_id"] or False,
            "dest_country_id": key.level in ("lane", "dest_country")
            and ids["dest_country_id"] or False,
            "dest_zip_prefix": full and key.dest_prefix or False,
        }

    # ------------------------------------------------------------------
    # the cron: fold new deliveries, then refresh the open predictions
    # ------------------------------------------------------------------
    @api.model
    @retry_conflicts
    def _cron_fold(self, now=None, batch=FOLD_BATCH):
        """Fold the outgoing shipments delivered since the last run into their
        lanes (each one once: ``stock.picking.shipment_eta_folded`` is the
        watermark, so a delivery whose event arrives late is still counted),
        then recompute the prediction of every shipment in transit. Returns
        the number of deliveries folded."""
        now = now or fields.Datetime.now()
        folded = self._eta_fold_batch(now, batch)
        if folded >= batch:
            cron = self.env.ref("shipment_sync_monitor.ir_cron_eta_lanes",
                                raise_if_not_found=False)
            if cron:
                cron.sudo()._trigger()
        self.env["stock.picking"]._shipment_eta_recompute_open(now)
        return folded

    @api.model
    def _eta_fold_batch(self, now, batch=FOLD_BATCH):
        Picking = self.env["stock.picking"].sudo()
        self.env.flush_all()
        self.env.cr.execute(SQL(
            "SELECT p.id FROM stock_picking p "
            "JOIN stock_picking_type t ON t.id = p.picking_type_id "
            "WHERE p.shipment_milestone = 'delivered' AND p.shipment_eta_folded IS NOT TRUE "
            "AND t.code = 'outgoing' ORDER BY p.id LIMIT %s", batch))
        pickings = Picking.browse([r[0] for r in self.env.cr.fetchall()])
        if not pickings:
            return 0
        _min_samples, prefix = self._eta_params()
        handed = pickings._shipment_eta_handed_over_at()
        batch_stats = {}  # (company_id, code) -> [TransitStats, key, ids]
        for picking in pickings:
            start, end = handed.get(picking.id), picking.shipment_milestone_date
            if not start or not end or end < start:
                continue
            hours = (end - start).total_seconds() / 3600.0
            keys, ids = picking._shipment_eta_lane_keys(prefix)
            for key in keys:
                entry = batch_stats.setdefault((ids["company_id"], key.code),
                                               [eta.TransitStats(), key, ids])
                entry[0].add(hours)
        existing = self._eta_lanes(set(batch_stats))
        for wanted, (stats, key, ids) in batch_stats.items():
            lane = existing.get(wanted)
            if lane:
                stats = lane._eta_stats().merge(stats)
            vals = {"histogram": stats.to_json(), "sample_count": stats.count,
                    "p50_hours": stats.p50, "p90_hours": stats.p90,
                    "mean_hours": stats.mean, "last_update": now}
            if lane:
                lane.write(vals)
            else:
                self.sudo().create({**self._eta_lane_vals(key, ids), **vals})
        # The watermark: these deliveries are never folded again.
        self.env.cr.execute(SQL(
            "UPDATE stock_picking SET shipment_eta_folded = TRUE WHERE id IN %s",
            tuple(pickings.ids)))
        pickings.invalidate_recordset(["shipment_eta_folded"])
        return len(pickings)

    def action_view_pickings(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("stock.action_picking_tree_all")
        action["domain"] = [("shipment_eta_lane_id", "=", self.id)]
        action["context"] = {}
        return action

    # ------------------------------------------------------------------
    # backtest (tools/backtest_eta.py and the tests)
    # ------------------------------------------------------------------
    @api.model
    def _eta_history(self, company_ids=None):
        """Every delivered outgoing shipment as a ``shipsync.eta.Shipment``."""
        domain = [("shipment_milestone", "=", "delivered"),
                  ("picking_type_code", "=", "outgoing")]
        if company_ids:
            domain.append(("company_id", "in", list(company_ids)))
        pickings = self.env["stock.picking"].sudo().search(domain, order="id")
        handed = pickings._shipment_eta_handed_over_at()
        out = []
        for picking in pickings:
            start, end = handed.get(picking.id), picking.shipment_milestone_date
            if not start or not end or end < start:
                continue
            values = picking._shipment_eta_lane_values()
            out.append(eta.Shipment(handed_over_at=start, delivered_at=end, **values))
        return out

    @api.model
    def _eta_backtest(self, company_ids=None, min_samples=None, prefix_length=None):
        default_min, default_prefix = self._eta_params()
        return eta.backtest(
            self._eta_history(company_ids),
            min_samples=min_samples or default_min,
            prefix_length=default_prefix if prefix_length is None else prefix_length)

    @api.model
    def _eta_required_defaults(self, given):
        """Column values for the NOT NULL columns of stock_picking that other
        installed modules add (e.g. the WMS state), from their field
        defaults, so the bulk insert works whatever is installed."""
        self.env.cr.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = "
            "'stock_picking' AND is_nullable = 'NO' AND column_default IS NULL "
            "AND column_name <> 'id'")
        missing = [c for (c,) in self.env.cr.fetchall() if c not in given]
        Picking = self.env["stock.picking"]
        defaults = Picking.default_get([c for c in missing if c in Picking._fields])
        out = {}
        for column in missing:
            if column not in defaults:
                raise ValueError(f"stock_picking.{column} is required and has no default: "
                                 "cannot generate a synthetic history here")
            out[column] = Picking._fields[column].convert_to_column(defaults[column], Picking)
        return out

    @api.model
    def _eta_demo(self, count=400):
        """Demo data: a synthetic delivered history over the last four months
        (once), folded into lanes, so shipments in transit get predictions.
        Only the lanes' statistics keep it: the synthetic deliveries are
        deleted once folded, so they never show in the Deliveries list, the
        transfers or the dashboard's lists (the demo's operational lists
        hold the demo's own shipments only)."""
        params = self.env["ir.config_parameter"].sudo()
        self.env.cr.execute("SELECT 1 FROM stock_picking WHERE name LIKE 'ETAGEN/%%' LIMIT 1")
        if params.get_param(ETA_DEMO_PARAM) or self.env.cr.fetchone():
            return 0
        start = fields.Datetime.now() - timedelta(days=125)
        created = self._eta_generate_history(count, seed=7, start=start, days=120)
        now = fields.Datetime.now()
        while self._eta_fold_batch(now):
            pass
        self._eta_drop_synthetic_pickings()
        self.env["stock.picking"]._shipment_eta_recompute_open(now)
        params.set_param(ETA_DEMO_PARAM, fields.Datetime.to_string(now))
        return created

    @api.model
    def _eta_drop_synthetic_pickings(self):
        """Delete the synthetic deliveries (``ETAGEN/<n>``, SQL-inserted
        without moves) once their lanes learnt from them."""
        self.env.flush_all()
        self.env.cr.execute("DELETE FROM stock_picking WHERE name LIKE 'ETAGEN/%%' "
                            "AND shipment_eta_folded")
        self.env.invalidate_all()
        return self.env.cr.rowcount

    @api.model
    def _eta_remove_history(self):
        """Remove what ``_eta_generate_history`` wrote (the addon's uninstall):
        the ``ETAGEN/`` pickings, then their carriers, customers and product
        unless something else uses them. Returns the count of pickings."""
        pickings = self.env["stock.picking"].sudo().with_context(active_test=False).search(
            [("name", "=like", "ETAGEN/%")])
        count = len(pickings)
        pickings.unlink()
        Picking = self.env["stock.picking"].sudo().with_context(active_test=False)
        product = self.env["product.product"].sudo().with_context(active_test=False).search(
            [("default_code", "=", "ETAGEN-SHIP")])
        carriers = self.env["delivery.carrier"].sudo().with_context(active_test=False).search(
            [("name", "in", [name for name, _service, _factor in eta.SYNTHETIC_CARRIERS]),
             ("product_id", "in", product.ids)])
        carriers.filtered(lambda c: not Picking.search_count([("carrier_id", "=", c.id)],
                                                             limit=1)).unlink()
        customers = self.env["res.partner"].sudo().with_context(active_test=False).search(
            [("name", "in", [f"ETAGEN customer {country} {postcode}"
                             for country, postcode, _base in eta.SYNTHETIC_DESTINATIONS])])
        customers.filtered(lambda p: not Picking.search_count([("partner_id", "=", p.id)],
                                                              limit=1)).unlink()
        if not self.env["delivery.carrier"].sudo().with_context(active_test=False).search_count(
                [("product_id", "in", product.ids)], limit=1):
            product.unlink()  # and its template (its messages with it)
        return count

    @api.model
    def _eta_generate_history(self, count, seed=7, start=None, days=180):
        """Write ``count`` synthetic delivered shipments
        (``shipsync.eta.synthetic_history``) as done outgoing pickings named
        ``ETAGEN/<n>`` with their carriers and customers (SQL bulk insert,
        no stock moves: only the ETA figures read them). Returns the count."""
        history = eta.synthetic_history(count, seed=seed, start=start, days=days)
        company = self.env.company
        warehouse = self.env["stock.warehouse"].search(
            [("company_id", "=", company.id)], limit=1)
        out_type = warehouse.out_type_id
        Country = self.env["res.country"]
        origin = warehouse.partner_id or company.partner_id
        if not origin.country_id:
            origin.country_id = Country.search([("code", "=", eta.SYNTHETIC_ORIGIN[0])], limit=1)
        product = self.env["product.product"].search(
            [("default_code", "=", "ETAGEN-SHIP")], limit=1) or \
            self.env["product.product"].create({"name": "Synthetic shipping",
                                                "type": "service",
                                                "default_code": "ETAGEN-SHIP"})
        Carrier = self.env["delivery.carrier"].sudo()
        carriers = {}
        for name, service, _factor in eta.SYNTHETIC_CARRIERS:
            vals = {"name": name, "product_id": product.id}
            if "shipsync_service" in Carrier._fields:  # with shipment_sync_carrier
                vals["shipsync_service"] = service
            carriers[name] = Carrier.search([("name", "=", name)], limit=1) or \
                Carrier.create(vals)
        Partner = self.env["res.partner"].sudo()
        customers = {}
        for country, postcode, _base in eta.SYNTHETIC_DESTINATIONS:
            name = f"ETAGEN customer {country} {postcode}"
            customers[(country, postcode)] = Partner.search([("name", "=", name)], limit=1) \
                or Partner.create({"name": name, "zip": postcode, "country_id": Country.search(
                    [("code", "=", country)], limit=1).id})
        self.env.flush_all()
        cr = self.env.cr
        cr.execute("SELECT count(*) FROM stock_picking WHERE name LIKE 'ETAGEN/%%'")
        offset = cr.fetchone()[0]
        src = out_type.default_location_src_id.id
        dst = self.env.ref("stock.stock_location_customers").id
        rows = [
            (f"ETAGEN/{offset + n}", out_type.id, src, dst, company.id,
             customers[(s.dest_country, s.dest_postcode)].id, carriers[s.carrier].id,
             s.handed_over_at, s.delivered_at, f"etagen-{offset + n}-{seed}")
            for n, s in enumerate(history, start=1)
        ]
        columns = ("name", "picking_type_id", "location_id", "location_dest_id", "company_id",
                   "partner_id", "carrier_id", "date_done", "shipment_milestone_date",
                   "shipment_correlation_id", "move_type", "state", "priority",
                   "scheduled_date", "date", "shipment_milestone", "shipment_exception_state",
                   "create_uid", "write_uid", "create_date", "write_date")
        extra = self._eta_required_defaults(set(columns))
        for chunk in range(0, len(rows), 1000):
            part = rows[chunk:chunk + 1000]
            cr.execute(SQL(
                "INSERT INTO stock_picking (%s) "
                "SELECT v.name, v.type, v.src, v.dst, v.company, v.partner, v.carrier, "
                "v.handed, v.delivered, v.corr, 'direct', 'done', '0', v.handed, v.handed, "
                "'delivered', 'none', 1, 1, v.handed, v.delivered%s "
                "FROM (VALUES %s) AS v(name, type, src, dst, company, partner, carrier, "
                "handed, delivered, corr)",
                SQL(", ").join(SQL.identifier(c) for c in (*columns, *extra)),
                SQL("").join(SQL(", %s", value) for value in extra.values()),
                SQL(", ").join(SQL("(%s, %s, %s, %s, %s, %s, %s, %s::timestamp, "
                                   "%s::timestamp, %s)", *row) for row in part)))
        self.env.invalidate_all()
        return len(rows)
