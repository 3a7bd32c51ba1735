import dataclasses
from decimal import Decimal

from odoo import _, api, fields, models
from odoo.exceptions import UserError

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


class StockPicking(models.Model):
    _inherit = "stock.picking"

    shipsync_cod_amount = fields.Monetary(
        "COD amount", compute="_compute_shipsync_cod_amount", store=True, readonly=False,
        currency_field="shipsync_cod_currency_id", copy=False,
        help="Cash on delivery: what the carrier collects (the order total when the sale "
        "order is cash on delivery). Zero: no COD.")
    shipsync_cod_currency_id = fields.Many2one(
        "res.currency", compute="_compute_shipsync_cod_amount", store=True, readonly=False)
    shipsync_cod_line_ids = fields.One2many("shipment.sync.cod.line", "picking_id",
                                            "COD remittances", readonly=True)

    @api.depends("sale_id.shipsync_cod", "sale_id.amount_total")
    def _compute_shipsync_cod_amount(self):
        for picking in self:
            order = picking.sale_id
            cod = order.shipsync_cod and picking.picking_type_code == "outgoing"
            picking.shipsync_cod_amount = order.amount_total if cod else 0.0
            picking.shipsync_cod_currency_id = (order.currency_id if cod else False) \
                or picking.company_id.currency_id


class DeliveryCarrier(models.Model):
    _inherit = "delivery.carrier"

    def _shipsync_request(self, picking, is_return=False):
        """A COD transfer's booking carries the amount, where the adapter supports COD;
        elsewhere it is refused before any call (the carrier would not collect)."""
        req = super()._shipsync_request(picking, is_return=is_return)
        if is_return or not picking.shipsync_cod_amount:
            return req
        if not getattr(self._shipsync_adapter(), "supports_cod", False):
            raise UserError(_(
                "%(picking)s is cash on delivery, but %(carrier)s (%(adapter)s) cannot "
                "collect it: its API documents no cash on delivery.",
                picking=picking.name, carrier=self.name, adapter=self.shipsync_adapter))
        return dataclasses.replace(
            req, cod_amount=Decimal(str(picking.shipsync_cod_amount)),
            currency=picking.shipsync_cod_currency_id.name or req.currency)


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
