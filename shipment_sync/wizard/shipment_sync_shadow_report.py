from odoo import _, fields, models

from shipsync import governance as gov

VERDICTS = [(gov.AGREEMENT, "Agreement"), (gov.DISAGREEMENT, "Disagreement"),
            (gov.MISSING, "Missing")]


class ShipmentSyncShadowReport(models.TransientModel):
    """What a shadow partner would have set, per picking, against what the
    current sources set: its stored shadow events replayed alone through the
    state machine (shipsync.governance.compare_shadow)."""

    _name = "shipment.sync.shadow.report"
    _description = "Shadow partner comparison"

    partner_id = fields.Many2one("shipment.sync.partner", required=True, ondelete="cascade")
    line_ids = fields.One2many("shipment.sync.shadow.report.line", "report_id")
    agreement_count = fields.Integer(readonly=True)
    disagreement_count = fields.Integer(readonly=True)
    missing_count = fields.Integer(readonly=True)
    unmatched_count = fields.Integer("Shadow events without a transfer", readonly=True)

    def action_compute(self):
        self.ensure_one()
        Event = self.env["shipment.sync.event"].sudo()
        shadow = Event.search([("partner_id", "=", self.partner_id.id), ("state", "=", "shadow")],
                              order="occurred_at, id")
        lines = []
        for picking, events in shadow.filtered("picking_id").grouped("picking_id").items():
            current_applied = Event.search([
                ("picking_id", "=", picking.id), ("state", "=", "applied"),
                ("partner_id", "!=", self.partner_id.id)], order="occurred_at, id")
            result = gov.compare_shadow(
                [e._to_milestone_event() for e in events], picking.shipment_milestone,
                current_applied.mapped("milestone"))
            lines.append({
                "picking_id": picking.id, "would_set": result.would_set,
                "current": result.current, "verdict": result.verdict,
                "current_partner_id": picking.shipment_milestone_partner_id.id,
                "event_count": len(events),
                "agreements": ", ".join(result.agreements),
                "missing_in_shadow": ", ".join(result.missing_in_shadow),
                "only_in_shadow": ", ".join(result.only_in_shadow),
            })
        verdicts = [line["verdict"] for line in lines]
        self.line_ids.unlink()
        self.write({
            "line_ids": [fields.Command.create(vals) for vals in lines],
            "agreement_count": verdicts.count(gov.AGREEMENT),
            "disagreement_count": verdicts.count(gov.DISAGREEMENT),
            "missing_count": verdicts.count(gov.MISSING),
            "unmatched_count": len(shadow.filtered(lambda e: not e.picking_id)),
        })
        return True

    def action_refresh(self):
        self.action_compute()
        return {"type": "ir.actions.act_window", "res_model": self._name, "res_id": self.id,
                "view_mode": "form", "target": "current", "name": _("Shadow comparison")}


class ShipmentSyncShadowReportLine(models.TransientModel):
    _name = "shipment.sync.shadow.report.line"
    _description = "Shadow partner comparison line"
    _order = "verdict desc, picking_id"

    report_id = fields.Many2one("shipment.sync.shadow.report", required=True, ondelete="cascade")
    picking_id = fields.Many2one("stock.picking", "Transfer", readonly=True)
    would_set = fields.Char("Shadow would set", readonly=True)
    current = fields.Char("Current milestone", readonly=True)
    current_partner_id = fields.Many2one("shipment.sync.partner", "Set by", readonly=True)
    verdict = fields.Selection(VERDICTS, readonly=True)
    event_count = fields.Integer("Shadow events", readonly=True)
    agreements = fields.Char("Milestones both saw", readonly=True)
    missing_in_shadow = fields.Char("Missing in shadow", readonly=True)
    only_in_shadow = fields.Char("Only in shadow", readonly=True)
