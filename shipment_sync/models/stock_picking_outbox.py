from odoo import fields, models


class StockPicking(models.Model):
    _inherit = "stock.picking"

    shipment_job_ids = fields.One2many("shipment.sync.job", "picking_id", "Outbox jobs")
    shipment_job_count = fields.Integer(compute="_compute_shipment_job_count")

    def _compute_shipment_job_count(self):
        groups = self.env["shipment.sync.job"]._read_group(
            [("picking_id", "in", self.ids)], ["picking_id"], ["__count"])
        counts = {picking.id: count for picking, count in groups}
        for picking in self:
            picking.shipment_job_count = counts.get(picking.id, 0)

    def _shipment_on_milestone_change(self, old_milestone, final, news):
        res = super()._shipment_on_milestone_change(old_milestone, final, news)
        # Published through the outbox, in this transaction: if it rolls back,
        # nothing is sent.
        self.env["shipment.sync.subscription"]._outbox_publish_milestone(
            self, old_milestone, final)
        return res

    def action_view_shipment_jobs(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "shipment_sync.shipment_sync_job_action")
        action["domain"] = [("picking_id", "=", self.id)]
        action["context"] = {"search_default_open": 0}
        return action
