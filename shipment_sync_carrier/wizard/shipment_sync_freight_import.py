import base64
import uuid
from decimal import Decimal

from odoo import _, fields, models
from odoo.exceptions import UserError

from shipsync import freight
from shipsync.adapters import base as ab


def imported_line_values(env, carrier, company, matches):
    """What every line of one imported carrier file (freight invoice, COD remittance)
    keeps of its match (``shipsync.freight.reconcile``), one dict per match in order;
    the caller adds the file's own columns."""
    currencies = {c.name: c for c in env["res.currency"].with_context(active_test=False)
                  .search([("name", "in", list({m.line.currency for m in matches}))])}
    import_ref = uuid.uuid4().hex[:12]
    return [{
        "carrier_id": carrier.id, "company_id": company.id, "import_ref": import_ref,
        "row": m.line.row,
        "tracking_number": m.line.tracking_number,
        "picking_id": m.shipment or False,
        "currency_id": (currencies.get(m.line.currency) or company.currency_id).id,
        "amount": float(m.line.amount),
        "expected_amount": float(m.expected) if m.expected is not None else 0.0,
        "variance": float(m.variance) if m.variance is not None else 0.0,
        "state": m.state,
    } for m in matches]


class ShipmentSyncFreightImport(models.TransientModel):
    """Import a carrier invoice CSV: parse (shipsync), match by tracking number,
    store the lines. A bad file is refused whole: nothing is imported."""

    _name = "shipment.sync.freight.import"
    _description = "Import a carrier invoice"

    carrier_id = fields.Many2one("delivery.carrier", required=True,
                                 domain=[("delivery_type", "=", "shipsync")])
    source = fields.Selection([("file", "CSV file"), ("api", "Carrier API")],
                              default="file", required=True)
    file = fields.Binary()
    filename = fields.Char()
    date_from = fields.Date("From")
    date_to = fields.Date("To")
    delimiter = fields.Selection([("auto", "Detect"), (",", "Comma"), (";", "Semicolon"),
                                  ("tab", "Tab")], default="auto", required=True)
    columns = fields.Char("Column mapping", help="field=CSV header pairs separated by ';'.")

    def action_import(self):
        self.ensure_one()
        if self.source == "api":
            lines = self._import_from_carrier()
        else:
            if not self.file:
                raise UserError(_("Choose the invoice file to import."))
            lines = self._import_content(base64.b64decode(self.file))
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "shipment_sync_carrier.shipment_sync_freight_line_action")
        action["domain"] = [("id", "in", lines.ids)]
        action["context"] = {}
        return action

    def _import_from_carrier(self):
        """Fetch the carrier's own invoice data (EasyPost shipment report) for the
        period and import it like a file, with the report's column mapping."""
        self.ensure_one()
        carrier = self.carrier_id
        if not (self.date_from and self.date_to) or self.date_from > self.date_to:
            raise UserError(_("Give the period to fetch (from <= to)."))
        adapter = carrier._shipsync_adapter()
        if not hasattr(adapter, "shipment_report"):
            raise UserError(_("%(carrier)s: the %(adapter)s adapter has no invoice API; "
                              "import its CSV instead.", carrier=carrier.name,
                              adapter=carrier.shipsync_adapter))
        try:
            content = adapter.shipment_report(fields.Date.to_string(self.date_from),
                                              fields.Date.to_string(self.date_to))
        except ab.AdapterError as exc:
            raise UserError(carrier._shipsync_error_message(None, exc)) from None
        return self._import_content(content, columns=adapter.REPORT_COLUMNS, delimiter=",")

    def _import_content(self, content, columns=None, delimiter=None):
        self.ensure_one()
        carrier = self.carrier_id
        if delimiter is None:
            delimiter = {"auto": None, "tab": "\t"}.get(self.delimiter, self.delimiter)
        try:
            columns = freight.parse_column_map(
                columns or self.columns or carrier.shipsync_freight_columns)
            parsed = freight.parse_csv(content, columns, delimiter=delimiter)
        except freight.FreightError as exc:
            raise UserError(_("The invoice file cannot be imported: %s", exc)) from None
        Line = self.env["shipment.sync.freight.line"]
        company = carrier.company_id or self.env.company
        parcels = self.env["shipment.sync.parcel"].search([
            ("tracking_number", "in", [p.tracking_number for p in parsed]),
            ("is_return", "=", False), ("picking_id.company_id", "=", company.id)])
        expected = {}
        for parcel in parcels:
            picking = parcel.picking_id
            siblings = picking.shipsync_parcel_ids.filtered(
                lambda p: not p.is_return and p.state == "active") or parcel
            share = Decimal(str(picking.shipsync_charge or 0)) / len(siblings)
            expected[parcel.tracking_number] = (picking.id, share.quantize(Decimal("0.01")))
        seen = {
            (line.invoice_ref or "", line.tracking_number, str(Decimal(str(line.amount))
                                                              .quantize(Decimal("0.01"))))
            for line in Line.search([("carrier_id", "=", carrier.id),
                                     ("state", "!=", "duplicate"),
                                     ("tracking_number", "in", list({p.tracking_number
                                                                     for p in parsed}))])
        }
        parsed = [p.__class__(**{**p.__dict__, "amount": p.amount.quantize(Decimal("0.01"))})
                  for p in parsed]
        matches = freight.reconcile(parsed, expected, carrier.shipsync_tolerance_amount,
                                    carrier.shipsync_tolerance_percent, seen)
        lines = Line.create([{
            **common,
            "invoice_ref": m.line.invoice_ref or False,
            "invoice_date": m.line.invoice_date or False,
            "description": m.line.description or False,
        } for common, m in zip(imported_line_values(self.env, carrier, company, matches),
                               matches, strict=True)])
        lines._open_exception()
        return lines
