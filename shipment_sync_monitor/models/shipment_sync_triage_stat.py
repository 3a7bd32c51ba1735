from odoo import _, fields, models, tools

from shipsync import milestones as ms
from shipsync import triage


class ShipmentSyncTriageStat(models.Model):
    """Resolutions per reason and action: how often and how fast (a SQL view
    over the resolved workbench cards that recorded the action taken)."""

    _name = "shipment.sync.triage.stat"
    _description = "Exception resolutions by action"
    _auto = False
    _order = "company_id, reason, median_hours, resolution_count desc"
    _rec_name = "reason"
    _depends = {"shipment.sync.exception": [
        "company_id", "reason", "state", "resolution_action", "resolution_hours"]}

    company_id = fields.Many2one("res.company", readonly=True)
    reason = fields.Selection(ms.CARD_REASON_SELECTION, readonly=True)
    action = fields.Selection(triage.ACTION_SELECTION, "Action taken", readonly=True)
    resolution_count = fields.Integer("Resolutions", readonly=True)
    median_hours = fields.Float("Median hours to resolve", readonly=True, digits=(16, 2),
                                aggregator="avg")
    mean_hours = fields.Float("Mean hours to resolve", readonly=True, digits=(16, 2),
                              aggregator="avg")
    min_hours = fields.Float("Fastest (hours)", readonly=True, digits=(16, 2),
                             aggregator="min")
    max_hours = fields.Float("Slowest (hours)", readonly=True, digits=(16, 2),
                             aggregator="max")
    is_fastest = fields.Boolean(
        "Fastest for its reason", compute="_compute_is_fastest",
        help="The action with the lowest median time to resolve for this reason, among "
        f"the actions with at least {triage.MIN_RESOLUTIONS} resolutions.")

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute("""
            CREATE OR REPLACE VIEW shipment_sync_triage_stat AS (
                SELECT min(e.id) AS id, e.company_id, e.reason,
                       e.resolution_action AS action,
                       count(*) AS resolution_count,
                       percentile_cont(0.5) WITHIN GROUP (
                           ORDER BY coalesce(e.resolution_hours, 0)) AS median_hours,
                       avg(coalesce(e.resolution_hours, 0)) AS mean_hours,
                       min(coalesce(e.resolution_hours, 0)) AS min_hours,
                       max(coalesce(e.resolution_hours, 0)) AS max_hours
                  FROM shipment_sync_exception e
                 WHERE e.state = 'resolved' AND e.resolution_action IS NOT NULL
                 GROUP BY e.company_id, e.reason, e.resolution_action
            )""")

    def _compute_is_fastest(self):
        Card = self.env["shipment.sync.exception"]
        fastest_by_company = {
            company.id: Card._triage_fastest(company, self.filtered(
                lambda s, co=company: s.company_id == co).mapped("reason"))
            for company in self.company_id}
        for stat in self:
            best = fastest_by_company.get(stat.company_id.id, {}).get(stat.reason)
            stat.is_fastest = bool(best and best.action == stat.action)

    def action_open_cards(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "shipment_sync_monitor.shipment_sync_exception_action")
        action["domain"] = [("company_id", "=", self.company_id.id),
                            ("reason", "=", self.reason),
                            ("resolution_action", "=", self.action),
                            ("state", "=", "resolved")]
        action["context"] = {}
        action["name"] = _("Resolutions")
        return action
