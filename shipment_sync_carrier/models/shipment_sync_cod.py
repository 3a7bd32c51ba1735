
from odoo import _, fields, models

COD_STATES = [
    ("matched", "Reconciled"),
    ("variance", "Variance"),
    ("unmatched", "Unmatched"),
    ("duplicate", "Duplicate"),
]


class SaleOrder(models.Model):
    _inherit = "sale.order"

    shipsync_cod = fields.Boolean(
        "Cash on delivery", copy=False,
        help="The carrier collects the order total from the customer at delivery "
        "(for carriers whose API supports it).")


class ShipmentSyncCodLine(models.Model):
    """One line of a carrier's COD remittance: what it collected for a shipment, matched
    to the transfer by tracking number and reconciled against the COD amount and the
    customer invoices of its sale order."""

    _name = "shipment.sync.cod.line"
    _description = "COD Remittance Line"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "remittance_date desc, id desc"
    _rec_name = "tracking_number"

    carrier_id = fields.Many2one("delivery.carrier", required=True, index=True,
                                 ondelete="restrict", readonly=True)
    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True,
                                 default=lambda self: self.env.company)
    import_ref = fields.Char("Import", readonly=True, index=True)
    row = fields.Integer("CSV row", readonly=True)
    remittance_ref = fields.Char("Remittance", readonly=True, index=True)
    remittance_date = fields.Date(readonly=True)
    tracking_number = fields.Char(required=True, index=True, readonly=True)
    picking_id = fields.Many2one("stock.picking", "Transfer", index=True, readonly=True,
                                 ondelete="set null")
    sale_id = fields.Many2one(related="picking_id.sale_id", store=True)
    invoice_ids = fields.Many2many("account.move", string="Invoices", readonly=True)
    invoice_residual = fields.Monetary("Invoice amount due", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True,
                                  default=lambda self: self.env.company.currency_id)
    amount = fields.Monetary("Remitted", readonly=True)
    expected_amount = fields.Monetary("COD amount", readonly=True)
    variance = fields.Monetary(readonly=True)
    state = fields.Selection(COD_STATES, required=True, readonly=True, index=True,
                             tracking=True)

    def _open_exception(self):
        """A short (or over) remittance opens a ``cod_variance`` card beside the transfer's
        milestone track (money, not the parcel); an unmatched line gets an activity."""
        for line in self:
            if line.state == "variance" and line.picking_id:
                line.picking_id._shipment_side_exception("cod_variance", _(
                    "COD remittance for %(tracking)s: remitted %(amount)s, expected "
                    "%(expected)s", tracking=line.tracking_number, amount=line.amount,
                    expected=line.expected_amount),
                    partner=line.carrier_id.shipsync_partner_id or None)
            elif line.state == "unmatched":
                partner = line.carrier_id.shipsync_partner_id
                user = partner.responsible_user_id or self.env.ref("base.user_admin")
                line.activity_schedule(
                    "mail.mail_activity_data_todo", user_id=user.id,
                    summary=_("Unmatched COD remittance line"),
                    note=_("No cash-on-delivery shipment has the tracking number %s.",
                           line.tracking_number))
