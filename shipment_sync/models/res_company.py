from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from shipsync import retention


class ResCompany(models.Model):
    """Company defaults of the retention of message bodies (a partner's own
    value, when set, wins)."""

    _inherit = "res.company"

    shipment_sync_retention_inbound_days = fields.Integer(
        "Keep inbound bodies (days)", default=retention.DEFAULT_DAYS["inbound_body"],
        help="Raw inbound webhook bodies are blanked after this many days.")
    shipment_sync_retention_outbound_days = fields.Integer(
        "Keep outbound payloads (days)", default=retention.DEFAULT_DAYS["outbound_payload"],
        help="Payloads and results of finished outbox jobs are blanked after this many days.")
    shipment_sync_retention_attempt_days = fields.Integer(
        "Keep attempt excerpts (days)", default=retention.DEFAULT_DAYS["attempt_excerpt"],
        help="Response excerpts of outbox attempts are blanked after this many days.")

    @api.constrains("shipment_sync_retention_inbound_days",
                    "shipment_sync_retention_outbound_days",
                    "shipment_sync_retention_attempt_days")
    def _check_shipment_sync_retention(self):
        for company in self:
            if min(company.shipment_sync_retention_inbound_days,
                   company.shipment_sync_retention_outbound_days,
                   company.shipment_sync_retention_attempt_days) < 1:
                raise ValidationError(_("Retention periods are at least one day."))
