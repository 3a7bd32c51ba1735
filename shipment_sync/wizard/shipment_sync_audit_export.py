import base64

from odoo import _, fields, models
from odoo.exceptions import UserError

from shipsync import governance as gov


class ShipmentSyncAuditExport(models.TransientModel):
    """CSV of every inbound and outbound message of a partner in a period:
    state and timing, free text masked. The export itself is logged."""

    _name = "shipment.sync.audit.export"
    _description = "Shipment Sync audit export"

    partner_id = fields.Many2one("shipment.sync.partner", required=True, ondelete="cascade")
    date_from = fields.Datetime(required=True,
                                default=lambda self: fields.Datetime.subtract(
                                    fields.Datetime.now(), days=30))
    date_to = fields.Datetime(required=True, default=fields.Datetime.now)
    file = fields.Binary(readonly=True, attachment=False)
    filename = fields.Char(readonly=True)

    def _audit_rows(self):
        self.ensure_one()
        Event = self.env["shipment.sync.event"].sudo()
        rows = []
        for ev in Event.search([("partner_id", "=", self.partner_id.id),
                                ("received_at", ">=", self.date_from),
                                ("received_at", "<=", self.date_to)], order="received_at, id"):
            rows.append({
                "direction": ev.direction, "record": "event", "id": ev.id,
                "external_id": ev.external_id, "state": ev.state,
                "received_at": ev.received_at, "occurred_at": ev.occurred_at,
                "finished_at": ev.applied_at, "http_status": ev.http_status or None,
                "milestone": ev.milestone, "raw_code": ev.raw_code,
                "reference": ev.picking_ref or ev.tracking_number, "error_code": ev.error_code,
                "error": ev.error_detail or ev.outcome_detail,
            })
        Job = self.env["shipment.sync.job"].sudo()
        for job in Job.search([("partner_id", "=", self.partner_id.id),
                               ("create_date", ">=", self.date_from),
                               ("create_date", "<=", self.date_to)], order="create_date, id"):
            rows.append({
                "direction": "outbound", "record": "job", "id": job.id,
                "external_id": job.idempotency_key, "operation": job.operation,
                "state": job.state, "received_at": job.create_date,
                "first_attempt_at": job.first_attempt_at,
                "finished_at": job.done_at or job.dead_at, "attempts": job.attempts,
                "http_status": job.last_status or None,
                "reference": job.picking_id.name if job.picking_id else None,
                "error_code": job.last_error_class, "error": job.last_error,
            })
        return rows

    def action_export(self):
        self.ensure_one()
        if self.date_from > self.date_to:
            raise UserError(_("The period ends before it starts."))
        text = gov.audit_csv(self._audit_rows())
        name = f"audit-{self.partner_id.code}-{self.date_from.date()}-{self.date_to.date()}.csv"
        self.write({"file": base64.b64encode(text.encode("utf-8")), "filename": name})
        self.env["shipment.sync.audit.log"]._log(
            "export", self.partner_id, partner=self.partner_id,
            note=_("Audit export %(from)s – %(to)s", **{"from": self.date_from,
                                                        "to": self.date_to}))
        return {"type": "ir.actions.act_url", "target": "self",
                "url": f"/web/content/{self._name}/{self.id}/file/{name}?download=true"}
