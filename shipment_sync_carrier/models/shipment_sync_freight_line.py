from odoo import _, api, fields, models

from shipsync import catalogue as cat

FREIGHT_STATES = [
    ("matched", "Matched"),
    ("variance", "Variance"),
    ("unmatched", "Unmatched"),
    ("duplicate", "Duplicate"),
]


class ShipmentSyncFreightLine(models.Model):
    """One line of a carrier invoice, matched to a shipment by tracking number
    and compared with the charge the carrier announced at booking."""

    _name = "shipment.sync.freight.line"
    _description = "Carrier Invoice Line"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "invoice_date desc, id desc"
    _rec_name = "tracking_number"

    carrier_id = fields.Many2one("delivery.carrier", required=True, index=True,
                                 ondelete="restrict", readonly=True)
    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True,
                                 default=lambda self: self.env.company)
    import_ref = fields.Char("Import", readonly=True, index=True)
    row = fields.Integer("CSV row", readonly=True)
    invoice_ref = fields.Char("Invoice", readonly=True, index=True)
    invoice_date = fields.Date(readonly=True)
    period = fields.Char(compute="_compute_period", store=True, index=True,
                         help="Year and month of the invoice (YYYY-MM).")
    tracking_number = fields.Char(required=True, index=True, readonly=True)
    description = fields.Char(readonly=True)
    picking_id = fields.Many2one("stock.picking", "Transfer", index=True, readonly=True,
                                 ondelete="set null")
    currency_id = fields.Many2one("res.currency", readonly=True,
                                  default=lambda self: self.env.company.currency_id)
    amount = fields.Monetary("Invoiced", readonly=True)
    expected_amount = fields.Monetary("Expected", readonly=True)
    variance = fields.Monetary(readonly=True)
    state = fields.Selection(FREIGHT_STATES, required=True, readonly=True, index=True,
                             tracking=True)

    @api.depends("invoice_date", "create_date")
    def _compute_period(self):
        for line in self:
            when = line.invoice_date or (line.create_date and line.create_date.date())
            line.period = when.strftime("%Y-%m") if when else False

    def _open_exception(self, partner=None):
        """Variances open a ``freight_variance`` exception beside the transfer's
        milestone track (a workbench card with the monitor: invoices come once the
        shipment is delivered, when its track takes no exception); unmatched lines get
        an activity for the carrier's responsible (there is no transfer to flag)."""
        for line in self:
            if line.state == "variance" and line.picking_id:
                line.picking_id._shipment_side_exception(
                    "freight_variance", _(
                        "Freight variance on %(tracking)s: invoiced %(amount)s, expected "
                        "%(expected)s", tracking=line.tracking_number, amount=line.amount,
                        expected=line.expected_amount),
                    partner=partner or line.carrier_id.shipsync_partner_id or None)
                # The invoice line names the event: importing the file again does not
                # publish it twice.
                self.env["shipment.sync.subscription"]._outbox_publish_shipment_event(
                    line.picking_id, cat.FREIGHT_VARIANCE,
                    key=(line.invoice_ref or "", line.tracking_number, line.row or line.id),
                    data={"tracking_number": line.tracking_number,
                          "invoice": line.invoice_ref or None, "amount": line.amount,
                          "expected_amount": line.expected_amount,
                          "currency": line.currency_id.name or None})
            elif line.state == "unmatched":
                partner = line.carrier_id.shipsync_partner_id
                user = partner.responsible_user_id or self.env.ref("base.user_admin")
                line.activity_schedule(
                    "mail.mail_activity_data_todo", user_id=user.id,
                    summary=_("Unmatched carrier invoice line"),
                    note=_("No shipment has the tracking number %s.", line.tracking_number))
