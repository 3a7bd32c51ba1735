from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from odoo.addons.shipment_sync.models.cron_retry import retry_conflicts

from shipsync import milestones as ms
from shipsync import monitor as mon

from .shipment_sync_kpi_hour import webhook_delay_sql

#: Breaches opened per rule and run (each one is a ledger event and a
#: notification); the rest open on the next run, which is triggered at once.
MAX_NEW_BREACHES = 200


class ShipmentSyncAlertRule(models.Model):
    """An SLA / health rule evaluated by a cron. A picking rule ("packed but no
    label after 30 min") opens an ``sla_breach`` exception on each late
    picking; a partner rule (queue depth, failure rate, webhook delay) opens an
    ops alert. Each breach notifies once, lasts silently and clears when the
    condition ends. The decisions are ``shipsync.monitor``'s."""

    _name = "shipment.sync.alert.rule"
    _description = "Shipment Sync Alert Rule"
    _inherit = ["mail.thread"]
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True, tracking=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True, tracking=True)
    company_id = fields.Many2one("res.company", index=True, tracking=True,
                                 help="Empty: the rule watches every company.")
    kind = fields.Selection(mon.RULE_KIND_SELECTION, required=True, default="milestone_age",
                            tracking=True)
    scope = fields.Selection([("picking", "Shipment"), ("partner", "Partner")],
                             compute="_compute_scope")
    milestone = fields.Selection(ms.MILESTONE_SELECTION, tracking=True,
                                 help="Milestone age rules: the milestone a shipment is stuck at.")
    operator = fields.Selection(mon.OPERATOR_SELECTION, required=True, default=">", tracking=True)
    threshold = fields.Float(required=True, tracking=True,
                             help="Minutes (milestone age), jobs (queue depth), percent "
                             "(failure rate) or seconds (webhook delay p95).")
    unit = fields.Char(compute="_compute_scope")
    window_minutes = fields.Integer("Window (minutes)", default=15, tracking=True,
                                    help="Failure rate and webhook delay: the period measured.")
    min_samples = fields.Integer("Minimum samples", default=1, tracking=True,
                                 help="Below this many calls / events nothing is judged.")
    partner_id = fields.Many2one("shipment.sync.partner", ondelete="cascade",
                                 tracking=True, help="Empty: every partner.")
    group_id = fields.Many2one("res.groups", "Notify group", required=True, tracking=True,
                               default=lambda self: self.env.ref("shipment_sync.group_user"))
    notify_email = fields.Boolean("Send an email", default=True, tracking=True)
    alert_ids = fields.One2many("shipment.sync.alert", "rule_id", "Alerts")
    active_alert_count = fields.Integer(compute="_compute_active_alert_count")
    last_evaluated_at = fields.Datetime(readonly=True)
    last_value = fields.Float(readonly=True, help="Partner rules: the last figure measured "
                              "(the worst partner's).")

    @api.depends("kind")
    def _compute_scope(self):
        for rule in self:
            spec = mon.RULE_KINDS.get(rule.kind) or {}
            rule.scope = spec.get("scope", "picking")
            rule.unit = spec.get("unit", "")

    def _compute_active_alert_count(self):
        groups = self.env["shipment.sync.alert"]._read_group(
            [("rule_id", "in", self.ids), ("state", "=", "active")], ["rule_id"], ["__count"])
        counts = {rule.id: count for rule, count in groups}
        for rule in self:
            rule.active_alert_count = counts.get(rule.id, 0)

    @api.constrains("kind", "threshold", "operator", "window_minutes", "milestone",
                    "min_samples")
    def _check_rule(self):
        for rule in self:
            try:
                rule._to_rule()
            except ValueError as exc:
                raise ValidationError(_("Rule %(rule)s: %(problem)s", rule=rule.name,
                                        problem=exc)) from None

    def _to_rule(self):
        self.ensure_one()
        return mon.Rule(kind=self.kind, threshold=self.threshold, operator=self.operator,
                        window_minutes=self.window_minutes, milestone=self.milestone or None,
                        min_samples=self.min_samples or 1)

    # ------------------------------------------------------------------
    # evaluation
    # ------------------------------------------------------------------
    @api.model
    @retry_conflicts
    def _cron_evaluate(self, now=None):
        now = now or fields.Datetime.now()
        results = {}
        for rule in self.search([]):
            results[rule.id] = rule._evaluate(now)
        return results

    def action_evaluate_now(self):
        for rule in self:
            rule._evaluate(fields.Datetime.now())
        return True

    def _evaluate(self, now):
        """Evaluate this rule at ``now``; returns the breach plan."""
        self.ensure_one()
        rule = self._to_rule()
        if rule.kind == "late_risk":
            values = self._late_risk_pickings(rule)
            breaching = list(values)
        elif rule.scope == "picking":
            breaching = self._breaching_pickings(rule, now)
            values = dict.fromkeys(breaching)
        else:
            values = self._partner_values(rule, now)
            breaching = [pid for pid, value in values.items() if rule.breached(value)]
            measured = [v for v in values.values() if v is not None]
            self.last_value = max(measured) if measured else 0.0
        Alert = self.env["shipment.sync.alert"].sudo()
        active = Alert.search([("rule_id", "=", self.id), ("state", "=", "active")])
        by_key = {a.subject_key: a for a in active}
        plan = mon.plan_breaches(by_key, [self._subject_key(k) for k in breaching])
        key_to_id = {self._subject_key(k): k for k in breaching}
        for key in plan.opened[:MAX_NEW_BREACHES]:
            Alert._monitor_open(self, key_to_id[key], values.get(key_to_id[key]), now)
        if len(plan.opened) > MAX_NEW_BREACHES:
            cron = self.env.ref("shipment_sync_monitor.ir_cron_alert_rules",
                                raise_if_not_found=False)
            if cron:
                cron.sudo()._trigger()
        for key in plan.continuing:
            value = values.get(key_to_id[key])
            if value is not None:
                by_key[key].last_value = value
        for key in plan.cleared:
            by_key[key]._monitor_clear(now)
        self.last_evaluated_at = now
        return plan

    def _subject_key(self, subject_id):
        return f"{self.scope}:{subject_id}"

    def _company_filter(self, alias):
        if not self.company_id:
            return SQL("TRUE")
        return SQL("%s.company_id = %s", SQL.identifier(alias), self.company_id.id)

    def _breaching_pickings(self, rule, now):
        """Pickings at the rule's milestone since before the cutoff (delivered without
        proof of delivery: delivered since before the cutoff, no proof, delivered by a
        partner that gives proofs of delivery, i.e. has given one)."""
        partner = SQL("TRUE")
        if self.partner_id:
            partner = SQL("p.shipment_milestone_partner_id = %s", self.partner_id.id)
        self.env.flush_all()
        if rule.kind == "delivered_without_pod":
            self.env.cr.execute(SQL(
                "SELECT p.id FROM stock_picking p WHERE p.shipment_milestone = 'delivered' "
                "AND p.shipment_milestone_date < %s AND p.shipment_pod_date IS NULL "
                "AND p.state <> 'cancel' AND p.shipment_milestone_partner_id IN ("
                "SELECT DISTINCT q.shipment_pod_partner_id FROM stock_picking q "
                "WHERE q.shipment_pod_partner_id IS NOT NULL) AND %s AND %s ORDER BY p.id",
                rule.age_cutoff(now), partner, self._company_filter("p")))
            return [r[0] for r in self.env.cr.fetchall()]
        self.env.cr.execute(SQL(
            "SELECT p.id FROM stock_picking p WHERE p.shipment_milestone = %s "
            "AND p.shipment_milestone_date < %s AND p.state <> 'cancel' AND %s AND %s "
            "ORDER BY p.id",
            rule.milestone, rule.age_cutoff(now), partner, self._company_filter("p")))
        return [r[0] for r in self.env.cr.fetchall()]

    def _late_risk_pickings(self, rule):
        """Late risk rules: ``{picking id: expected delay in hours}`` of the
        shipments flagged late-risk (by the ETA cron or a milestone change)
        whose expected delay passes the threshold."""
        partner = SQL("TRUE")
        if self.partner_id:
            partner = SQL("p.shipment_milestone_partner_id = %s", self.partner_id.id)
        self.env.flush_all()
        self.env.cr.execute(SQL(
            "SELECT p.id, p.shipment_eta_late_hours FROM stock_picking p "
            "WHERE p.shipment_eta_late_risk AND p.state <> 'cancel' AND %s AND %s "
            "ORDER BY p.id", partner, self._company_filter("p")))
        return {pid: hours or 0.0 for pid, hours in self.env.cr.fetchall()
                if rule.breached(hours or 0.0)}

    def _partner_values(self, rule, now):
        """The measured figure per partner (None: too few samples)."""
        domain = [("id", "=", self.partner_id.id)] if self.partner_id else []
        if self.company_id:
            domain.append(("company_id", "=", self.company_id.id))
        partners = self.env["shipment.sync.partner"].sudo().search(domain)
        if not partners:
            return {}
        if rule.kind == "webhook_silence":
            # Judged by the silence cron (shipment.sync.partner._cron_webhook_silence).
            return {p.id: (now - p.webhook_silent_since).total_seconds() / 60.0
                    if p.webhook_silence_state == "silent" and p.webhook_silent_since
                    else None for p in partners}
        self.env.flush_all()
        cr = self.env.cr
        ids = tuple(partners.ids)
        samples = {pid: [] for pid in ids}
        if rule.kind == "queue_depth":
            cr.execute(SQL(
                "SELECT partner_id, count(*) FROM shipment_sync_job WHERE partner_id IN %s "
                "AND state IN ('pending', 'running') GROUP BY partner_id", ids))
            for pid, count in cr.fetchall():
                samples[pid] = [count]
        elif rule.kind == "failure_rate":
            cr.execute(SQL(
                "SELECT partner_id, outcome FROM shipment_sync_job_attempt "
                "WHERE partner_id IN %s AND started_at >= %s AND started_at <= %s "
                "AND outcome <> 'stale'", ids, rule.window_start(now), now))
            for pid, outcome in cr.fetchall():
                samples[pid].append(outcome)
        elif rule.kind == "webhook_delay_p95":
            # The dashboard tile's figure (webhook_delay_sql: the events
            # applied in the window), plus the events received in the window
            # and not applied yet, with their delay so far: a stuck queue is
            # the worst delay of all.
            start = rule.window_start(now)
            cr.execute(SQL(
                "SELECT e.partner_id, %s FROM shipment_sync_event e "
                "WHERE e.partner_id IN %s AND e.direction = 'inbound' "
                "AND ((e.applied_at >= %s AND e.applied_at <= %s) OR (e.applied_at IS NULL "
                "AND e.state = 'received' AND e.received_at >= %s AND e.received_at <= %s))",
                webhook_delay_sql("e", now), ids, start, now, start, now))
            for pid, delay in cr.fetchall():
                samples[pid].append(float(delay))
        return {pid: mon.measure(rule, values) for pid, values in samples.items()}

    def action_view_alerts(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "shipment_sync_monitor.shipment_sync_alert_action")
        action["domain"] = [("rule_id", "=", self.id)]
        action["context"] = {}
        return action
