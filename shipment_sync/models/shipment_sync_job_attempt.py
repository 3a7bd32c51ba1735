from odoo import fields, models
from odoo.tools import SQL

from shipsync.retry import ERROR_CLASSES

ERROR_CLASS_SELECTION = [
    ("network", "Network"),
    ("timeout", "Timeout"),
    ("http_5xx", "HTTP 5xx"),
    ("http_429", "HTTP 429 (rate limited)"),
    ("http_4xx", "HTTP 4xx"),
    ("invalid_response", "Invalid response"),
    ("adapter_error", "Adapter error"),
]
assert [code for code, _label in ERROR_CLASS_SELECTION] == list(ERROR_CLASSES)


class ShipmentSyncJobAttempt(models.Model):
    """One try of an outbox job: when, how long, what came back. Written only by
    the outbox workers, never edited."""

    _name = "shipment.sync.job.attempt"
    _description = "Shipment Sync Outbox Attempt"
    _order = "id desc"
    _rec_name = "job_id"

    job_id = fields.Many2one("shipment.sync.job", required=True, index=True, readonly=True,
                             ondelete="cascade")
    partner_id = fields.Many2one("shipment.sync.partner", readonly=True, index=True,
                                 ondelete="cascade")
    company_id = fields.Many2one(related="job_id.company_id", store=True, readonly=True)
    operation = fields.Char(related="job_id.operation", readonly=True)
    number = fields.Integer("Attempt", readonly=True)
    started_at = fields.Datetime(readonly=True, index=True)
    duration_ms = fields.Integer("Duration (ms)", readonly=True)
    http_status = fields.Integer("HTTP status", readonly=True)
    error_class = fields.Selection(ERROR_CLASS_SELECTION, readonly=True, index=True)
    error = fields.Char(readonly=True)
    response_excerpt = fields.Text(readonly=True,
                                   help="The first characters of the answer's body.")
    outcome = fields.Selection(
        [("done", "Done"), ("retry", "Retry"), ("dead", "Dead"), ("cancelled", "Cancelled"),
         ("stale", "Reported after losing the lease")], readonly=True)
    worker_id = fields.Char(readonly=True)

    def _auto_init(self):
        res = super()._auto_init()
        # The rate limit counts a partner's recent calls.
        self.env.cr.execute(SQL(
            "CREATE INDEX IF NOT EXISTS shipment_sync_job_attempt_partner_started_idx "
            "ON shipment_sync_job_attempt (partner_id, started_at)"))
        return res
