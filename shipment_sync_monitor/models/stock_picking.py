from odoo import _, api, fields, models
from odoo.tools import SQL, create_index

from shipsync import eta
from shipsync import milestones as ms

from .monitor_indexes import ETA_LATE_RISK_INDEX, ETA_UNFOLDED_INDEX

#: Milestones of a shipment on its way: handed over, not yet at a final one.
IN_TRANSIT = ("handed_over", "picked_up", "in_transit", "out_for_delivery",
              "available_for_pickup", "delivery_attempted")
#: Ledger milestones that prove the parcel left, when neither a handed_over
#: event nor a validation date is known.
_LEFT = IN_TRANSIT[1:] + ("delivered",)
ETA_FIELDS = ("shipment_eta_predicted", "shipment_eta_p90", "shipment_eta_late_risk",
              "shipment_eta_late_hours", "shipment_eta_promised_date", "shipment_eta_lane_id")


class StockPicking(models.Model):
    _inherit = "stock.picking"

    shipment_exception_card_ids = fields.One2many(
        "shipment.sync.exception", "picking_id", "Exception cards")
    shipment_timeline_ids = fields.One2many(
        "shipment.sync.timeline", "picking_id", "Timeline (all systems)")

    shipment_eta_predicted = fields.Datetime(
        "Predicted delivery", copy=False, readonly=True,
        help="Hand-over + the lane's median transit time (later once the shipment is past "
        "it: the median of the lane's longer transits).")
    shipment_eta_p90 = fields.Datetime(
        "Delivered by (p90)", copy=False, readonly=True,
        help="Nine in ten shipments of this lane were delivered by then.")
    shipment_eta_late_risk = fields.Boolean(
        "Late risk", copy=False, readonly=True,
        help="The predicted delivery is after the date promised to the customer.")
    shipment_eta_late_hours = fields.Float(
        "Expected delay (h)", digits=(16, 1), copy=False, readonly=True,
        help="Predicted delivery minus the promised date, in hours (negative: ahead).")
    shipment_eta_promised_date = fields.Datetime(
        "Promised date", copy=False, readonly=True,
        help="The sale order's commitment date, else the transfer's deadline, when the "
        "prediction was made.")
    shipment_eta_lane_id = fields.Many2one(
        "shipment.sync.lane", "ETA lane", copy=False, readonly=True, ondelete="set null",
        index="btree_not_null")
    shipment_eta_updated_at = fields.Datetime("Prediction updated", copy=False, readonly=True)
    shipment_eta_folded = fields.Boolean(
        "In lane statistics", copy=False, readonly=True,
        help="This delivery's transit time is counted in its lane statistics.")
    shipment_carrier_eta = fields.Datetime(
        "Carrier ETA", compute="_compute_shipment_carrier_eta",
        help="The carrier's own latest estimate of delivery.")

    def _shipment_exception_activity(self, reason_label, partner=None):
        """The exception's one to-do lives on its workbench card (see
        ``shipment.sync.exception._monitor_raise``), not on the transfer."""
        return None

    def _shipment_side_exception(self, reason, message, partner=None):
        """A side exception (``ms.SIDE_REASONS``) is a workbench card of its own."""
        Card = self.env["shipment.sync.exception"].sudo()
        for picking in self:
            Card._monitor_raise(picking, reason, partner=partner, message=message)

    def _shipment_side_exception_done(self, reason, note):
        self.env["shipment.sync.exception"].sudo().search([
            ("picking_id", "in", self.ids), ("reason", "=", reason),
            ("state", "!=", "resolved")])._monitor_close(note)

    def _shipment_notify(self, before, final, news, partner_by_code, origin=None):
        res = super()._shipment_notify(before, final, news, partner_by_code, origin=origin)
        self._shipment_monitor_track(before, final, news, partner_by_code, origin=origin)
        return res

    def _shipment_monitor_track(self, before, final, news, partner_by_code, origin=None):
        """Keep the workbench card of this picking's exception in step with the
        exception track the state machine just computed. ``origin``: the
        ``EventOrigin`` of the internal event replayed (its alert rule, the
        note that closes the cards)."""
        self.ensure_one()
        _old_milestone, old_state, old_reason = before
        if old_state != "open" and final.exception_state != "open":
            # No exception before nor after: no card of the track is open (only
            # this method opens them, and only while the track is open).
            return
        Card = self.env["shipment.sync.exception"].sudo()
        # Side exceptions (a freight variance) are not on the track: their owner closes them.
        cards = Card.search([("picking_id", "=", self.id), ("state", "!=", "resolved"),
                             ("reason", "not in", sorted(ms.SIDE_REASONS))])
        if final.exception_state == "open":
            reason = final.exception_reason or "other"
            opened = old_state != "open" or old_reason != final.exception_reason
            raised = [event for event, _step in news if event.exception_reason == reason]
            if opened or raised:
                partner = partner_by_code.get(final.exception_partner)
                message = raised[-1].message if raised else False
                rule = self.env["shipment.sync.alert.rule"].sudo().browse(origin.alert_rule) \
                    if origin and origin.alert_rule else None
                Card._monitor_raise(self, reason, partner=partner,
                                    at=final.exception_at or fields.Datetime.now(),
                                    message=message, alert_rule=rule)
            superseded = cards.filtered(lambda c: c.reason != reason)
            superseded._monitor_close(_("Superseded by a newer exception of the shipment."),
                                      origin=origin)
        elif cards:
            resolver = next((event for event, step in reversed(news)
                             if step.after.exception_state != "open"), None)
            if resolver and resolver.partner_id:
                note = _("Resolved by a later event from %s.", resolver.partner_id.name)
            else:
                note = _("Resolved in Odoo.")
            cards._monitor_close(note, origin=origin)

    # ------------------------------------------------------------------
    # remedies: hooks for the carrier and WMS addons
    # ------------------------------------------------------------------
    def action_view_shipment_timeline(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "shipment_sync_monitor.shipment_sync_timeline_action")
        action["domain"] = [("picking_id", "=", self.id)]
        action["name"] = _("Timeline of %s", self.name)
        return action

    def action_view_shipment_exceptions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "shipment_sync_monitor.shipment_sync_exception_action")
        action["domain"] = [("picking_id", "=", self.id)]
        action["context"] = {}
        return action

    # ------------------------------------------------------------------
    # delivery prediction (ETA)
    # ------------------------------------------------------------------
    def _compute_shipment_carrier_eta(self):
        for picking in self:
            picking.shipment_carrier_eta = picking.id and picking._shipment_carrier_eta()

    def init(self):
        res = super().init()
        # The cron's two questions, on a table of every transfer.
        create_index(self.env.cr, ETA_UNFOLDED_INDEX, "stock_picking", ["id"],
                     where="shipment_milestone = 'delivered' AND shipment_eta_folded IS NOT TRUE")
        create_index(self.env.cr, ETA_LATE_RISK_INDEX, "stock_picking", ["id"],
                     where="shipment_eta_late_risk")
        return res

    # ------------------------------------------------------------------
    # plain values of the lane
    # ------------------------------------------------------------------
    def _shipment_eta_lane_values(self):
        """The lane of this shipment as plain values (``shipsync.eta.lane_keys``
        arguments): carrier, its service, origin (the warehouse's address,
        else the company's) and destination (the delivery address)."""
        self.ensure_one()
        carrier = self.carrier_id
        service = carrier.shipsync_service if "shipsync_service" in carrier._fields else ""
        origin = self.picking_type_id.warehouse_id.partner_id or self.company_id.partner_id
        dest = self.partner_id
        return {
            "carrier": carrier.id or "", "service": service or "",
            "origin_country": origin.country_id.code or "",
            "origin_region": origin.state_id.code or "",
            "dest_country": dest.country_id.code or "", "dest_postcode": dest.zip or "",
        }

    def _shipment_eta_lane_keys(self, prefix_length):
        """(keys at every level, record ids a new lane is made of)."""
        self.ensure_one()
        values = self._shipment_eta_lane_values()
        origin = self.picking_type_id.warehouse_id.partner_id or self.company_id.partner_id
        ids = {"company_id": self.company_id.id, "carrier_id": self.carrier_id.id,
               "origin_country_id": origin.country_id.id,
               "origin_state_id": origin.state_id.id,
               "dest_country_id": self.partner_id.country_id.id}
        return eta.lane_keys(prefix_length=prefix_length, **values), ids

    def _shipment_eta_handed_over_at(self):
        """``{picking id: hand-over time}``: the earliest applied handed_over
        event of the ledger, else the validation date, else the first applied
        carrier scan (picked up or later)."""
        if not self:
            return {}
        self.env.flush_all()
        self.env.cr.execute(SQL(
            "SELECT p.id, COALESCE("
            "  (SELECT min(e.occurred_at) FROM shipment_sync_event e WHERE e.picking_id = p.id "
            "   AND e.state = 'applied' AND e.milestone = 'handed_over'), p.date_done, "
            "  (SELECT min(e.occurred_at) FROM shipment_sync_event e WHERE e.picking_id = p.id "
            "   AND e.state = 'applied' AND e.milestone IN %s)) "
            "FROM stock_picking p WHERE p.id IN %s", _LEFT, tuple(self.ids)))
        return {pid: at for pid, at in self.env.cr.fetchall() if at}

    # ------------------------------------------------------------------
    # prediction
    # ------------------------------------------------------------------
    @api.model
    def _shipment_eta_recompute_open(self, now=None):
        """Recompute every shipment in transit and clear the late-risk flag
        of those that are not any more (the cron)."""
        now = now or fields.Datetime.now()
        self.env.flush_all()
        self.env.cr.execute(SQL(
            "SELECT p.id FROM stock_picking p JOIN stock_picking_type t "
            "ON t.id = p.picking_type_id WHERE (p.shipment_milestone IN %s "
            "AND t.code = 'outgoing' AND p.state <> 'cancel') OR p.shipment_eta_late_risk "
            "ORDER BY p.id", IN_TRANSIT))
        pickings = self.sudo().browse([r[0] for r in self.env.cr.fetchall()])
        for start in range(0, len(pickings), 1000):
            pickings[start:start + 1000]._shipment_eta_recompute(now)
        return len(pickings)

    def _shipment_eta_recompute(self, now=None):
        """Predict delivery for these pickings at ``now``; only shipments in
        transit get a prediction, the others lose their late-risk flag. A
        shipment that becomes at risk for the first time emails the customer
        (``running_late``) when its company says so."""
        now = now or fields.Datetime.now()
        Lane = self.env["shipment.sync.lane"].sudo()
        min_samples, prefix = Lane._eta_params()
        open_ = self.filtered(lambda p: p.picking_type_code == "outgoing"
                              and p.shipment_milestone in IN_TRANSIT and p.state != "cancel")
        for picking in (self - open_).filtered("shipment_eta_late_risk"):
            picking.sudo().write({"shipment_eta_late_risk": False,
                                  "shipment_eta_updated_at": now})
        if not open_:
            return self.browse()
        handed = open_._shipment_eta_handed_over_at()
        keys_of = {p.id: p._shipment_eta_lane_keys(prefix) for p in open_}
        lanes = Lane._eta_lanes({(ids["company_id"], k.code)
                                 for keys, ids in keys_of.values() for k in keys})
        stats_cache = {}
        became_late = self.browse()
        for picking in open_:
            keys, ids = keys_of[picking.id]
            company_stats = {}
            for key in keys:
                lane = lanes.get((ids["company_id"], key.code))
                if lane:
                    if lane.id not in stats_cache:
                        stats_cache[lane.id] = lane._eta_stats()
                    company_stats[key] = stats_cache[lane.id]
            key, stats = eta.select(company_stats, keys, min_samples)
            promised = picking._shipment_promised_date() or False
            prediction = None
            if stats is not None and picking.id in handed:
                prediction = eta.predict(stats, handed[picking.id], now, promised or None)
            if prediction is None:
                vals = {"shipment_eta_predicted": False, "shipment_eta_p90": False,
                        "shipment_eta_late_risk": False, "shipment_eta_late_hours": 0.0,
                        "shipment_eta_promised_date": promised,
                        "shipment_eta_lane_id": False}
            else:
                vals = {
                    "shipment_eta_predicted": prediction.predicted_at.replace(microsecond=0),
                    "shipment_eta_p90": prediction.p90_at.replace(microsecond=0),
                    "shipment_eta_late_risk": prediction.late_risk,
                    "shipment_eta_late_hours": prediction.late_hours or 0.0,
                    "shipment_eta_promised_date": promised,
                    "shipment_eta_lane_id": lanes[(ids["company_id"], key.code)].id,
                }
            if vals["shipment_eta_late_risk"] and not picking.shipment_eta_late_risk:
                became_late |= picking
            current = picking._read_format(list(ETA_FIELDS), load=None)[0]
            if any((current[f] or False) != (vals[f] or False) for f in ETA_FIELDS):
                vals["shipment_eta_updated_at"] = now
                picking.sudo().write(vals)
        became_late._shipment_eta_running_late()
        return became_late

    def _shipment_eta_running_late(self):
        """The proactive "your parcel is running late" email, once per
        shipment (the notification's key), for companies that switched it on."""
        for picking in self:
            if picking.company_id.shipment_sync_notify_running_late:
                picking._shipment_customer_notify("running_late", key="running_late")

    def _shipment_on_milestone_change(self, old_milestone, final, news):
        res = super()._shipment_on_milestone_change(old_milestone, final, news)
        if final.milestone in IN_TRANSIT or self.shipment_eta_late_risk:
            self._shipment_eta_recompute()
        return res

    def _shipment_customer_eta(self):
        res = super()._shipment_customer_eta()
        if self.shipment_milestone in IN_TRANSIT and self.shipment_eta_predicted:
            res["predicted"] = self.shipment_eta_predicted
        return res

    def _shipment_notification_template(self, kind):
        # A company's own template (core) wins over this module's shared one.
        template = super()._shipment_notification_template(kind)
        if not template and kind == "running_late":
            template = self.env.ref("shipment_sync_monitor.mail_template_shipment_running_late",
                                    raise_if_not_found=False) or template
        return template
