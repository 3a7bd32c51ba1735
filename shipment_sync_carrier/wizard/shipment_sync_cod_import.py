import base64
from decimal import Decimal

from odoo import _, fields, models
from odoo.exceptions import UserError

from shipsync import freight

from .shipment_sync_freight_import import imported_line_values

#: Default columns of a COD remittance file (the freight import's field names: a
#: remittance line is matched and compared like an invoice line).
DEFAULT_COLUMNS = ("tracking_number=Tracking Number;amount=Amount;currency=Currency;"
                   "invoice_ref=Remittance;invoice_date=Date")


class ShipmentSyncCodImport(models.TransientModel):
    """Import a carrier's COD remittance CSV: parsed and matched like a carrier invoice
    (``shipsync.freight``: column mapping, tolerance, duplicates), compared with each
    transfer's COD amount and its order's invoices. A bad file is refused whole."""

    _name = "shipment.sync.cod.import"
    _description = "Import a COD remittance"

    carrier_id = fields.Many2one("delivery.carrier", required=True,
                                 domain=[("delivery_type", "=", "shipsync")])
    file = fields.Binary(required=True)
    filename = fields.Char()
    columns = fields.Char("Column mapping", default=DEFAULT_COLUMNS,
                          help="field=CSV header pairs separated by ';' (amount = the sum "
                          "remitted for the shipment, invoice_ref = the remittance).")

    def action_import(self):
        self.ensure_one()
        lines = self._import_content(base64.b64decode(self.file or b""))
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "shipment_sync_carrier.shipment_sync_cod_line_action")
        action["domain"] = [("id", "in", lines.ids)]
        action["context"] = {}
        return action

    def _import_content(self, content):
        self.ensure_one()
        carrier = self.carrier_id
        try:
            columns = freight.parse_column_map(self.columns or DEFAULT_COLUMNS)
            parsed = freight.parse_csv(content, columns)
        except freight.FreightError as exc:
            raise UserError(_("The remittance file cannot be imported: %s", exc)) from None
        parsed = [p.__class__(**{**p.__dict__, "amount": p.amount.quantize(Decimal("0.01"))})
                  for p in parsed]
        Line = self.env["shipment.sync.cod.line"]
        company = carrier.company_id or self.env.company
        numbers = list({p.tracking_number for p in parsed})
        parcels = self.env["shipment.sync.parcel"].search([
            ("tracking_number", "in", numbers), ("is_return", "=", False),
            ("picking_id.company_id", "=", company.id),
            ("picking_id.shipsync_cod_amount", ">", 0)])
        expected, pickings = {}, {}
        for parcel in parcels:
            picking = parcel.picking_id
            expected[parcel.tracking_number] = (
                picking.id, Decimal(str(picking.shipsync_cod_amount)).quantize(Decimal("0.01")))
            pickings[picking.id] = picking
        seen = {(line.remittance_ref or "", line.tracking_number,
                 str(Decimal(str(line.amount)).quantize(Decimal("0.01"))))
                for line in Line.search([("carrier_id", "=", carrier.id),
                                         ("state", "!=", "duplicate"),
                                         ("tracking_number", "in", numbers)])}
        matches = freight.reconcile(parsed, expected, carrier.shipsync_tolerance_amount,
                                    carrier.shipsync_tolerance_percent, seen)
        vals = []
        for common, m in zip(imported_line_values(self.env, carrier, company, matches),
                             matches, strict=True):
            picking = pickings.get(m.shipment) if m.shipment else None
            invoices = picking.sale_id.invoice_ids.filtered(
                lambda i: i.state == "posted" and i.move_type == "out_invoice") \
                if picking and m.state != "duplicate" else self.env["account.move"]
            vals.append({
                **common,
                "remittance_ref": m.line.invoice_ref or False,
                "remittance_date": m.line.invoice_date or False,
                "invoice_ids": [(6, 0, invoices.ids)],
                "invoice_residual": sum(invoices.mapped("amount_residual")),
            })
        lines = Line.create(vals)
        lines._open_exception()
        return lines
