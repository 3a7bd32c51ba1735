import base64
from decimal import Decimal

import requests

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from shipsync.wms import files, json_format
from shipsync.wms.apply import StockQuantity, reconcile
from shipsync.wms.messages import FormatError


class ShipmentSyncWmsReconciliation(models.Model):
    """A WMS stock snapshot compared with Odoo's quants of one warehouse."""

    _name = "shipment.sync.wms.reconciliation"
    _description = "WMS Stock Reconciliation"
    _inherit = ["mail.thread"]
    _order = "id desc"

    name = fields.Char(required=True, default=lambda self: _("New reconciliation"))
    partner_id = fields.Many2one("shipment.sync.partner", "WMS / 3PL", required=True,
                                 domain="[('kind', '=', 'wms')]", check_company=True)
    warehouse_id = fields.Many2one("stock.warehouse", required=True, check_company=True)
    company_id = fields.Many2one("res.company", required=True, index=True,
                                 default=lambda self: self.env.company)
    state = fields.Selection(
        [("draft", "Draft"), ("compared", "Compared"), ("proposed", "Adjustments proposed")],
        default="draft", required=True, tracking=True)
    snapshot_file = fields.Binary("Snapshot file", attachment=False)
    snapshot_filename = fields.Char()
    snapshot_at = fields.Datetime(readonly=True)
    line_ids = fields.One2many("shipment.sync.wms.reconciliation.line", "reconciliation_id",
                               "Lines", readonly=True)
    match_count = fields.Integer(compute="_compute_totals", store=True)
    difference_count = fields.Integer(compute="_compute_totals", store=True)
    unknown_count = fields.Integer(compute="_compute_totals", store=True)
    difference_value = fields.Monetary(compute="_compute_totals", store=True,
                                       currency_field="currency_id")
    currency_id = fields.Many2one(related="company_id.currency_id")

    @api.depends("line_ids.status", "line_ids.value")
    def _compute_totals(self):
        for rec in self:
            lines = rec.line_ids
            rec.match_count = len(lines.filtered(lambda x: x.status == "match"))
            rec.difference_count = len(lines.filtered(lambda x: x.status == "difference"))
            rec.unknown_count = len(lines.filtered(lambda x: x.status == "unknown"))
            rec.difference_value = sum(lines.filtered(
                lambda x: x.status == "difference").mapped("value"))

    # ------------------------------------------------------------------
    # import
    # ------------------------------------------------------------------
    def action_import_file(self):
        self.ensure_one()
        if not self.snapshot_file:
            raise UserError(_("Upload a snapshot file (CSV or JSON) first."))
        data = base64.b64decode(self.snapshot_file)
        try:
            lines = files.read_stock(self.snapshot_filename or "snapshot.csv", data)
        except FormatError as exc:
            raise UserError(_("The snapshot cannot be read: %s", exc)) from None
        return self._compare(lines)

    def action_fetch_snapshot(self):
        """GET <partner base URL>/stock (a wms-stock-v1 document)."""
        self.ensure_one()
        base = (self.partner_id.outbox_base_url or "").rstrip("/")
        if not base:
            raise UserError(_("%s has no outbound base URL.", self.partner_id.name))
        try:
            response = requests.get(f"{base}/stock", timeout=(5, 30),
                                    headers=self.partner_id._outbox_headers())
        except requests.RequestException as exc:
            raise UserError(_("The WMS could not be reached: %s", exc)) from None
        if response.status_code != 200:
            raise UserError(_("The WMS answered HTTP %s.", response.status_code))
        try:
            lines = json_format.read_stock(response.content)
        except FormatError as exc:
            raise UserError(_("The WMS snapshot is invalid: %s", exc)) from None
        return self._compare(lines)

    # ------------------------------------------------------------------
    # comparison
    # ------------------------------------------------------------------
    def _compare(self, snapshot_lines):
        self.ensure_one()
        codes = {line.product_code for line in snapshot_lines}
        Product = self.env["product.product"].with_context(active_test=False)
        location = self.warehouse_id.lot_stock_id
        quants = self.env["stock.quant"].search([
            ("location_id", "child_of", location.id), ("product_id.is_storable", "=", True),
            ("company_id", "=", self.company_id.id)])
        products = Product.search([("default_code", "in", list(codes))]) | quants.product_id
        picking_model = self.env["stock.picking"]
        code_of = {p: picking_model._wms_product_code(p) for p in products}
        product_by_code = {c: p for p, c in code_of.items()}
        odoo = [StockQuantity(code_of[q.product_id], q.lot_id.name or "",
                              Decimal(str(q.quantity)), q.location_id.complete_name)
                for q in quants]
        wms = [StockQuantity(x.product_code, x.lot, x.quantity, x.location)
               for x in snapshot_lines]
        costs = {c: Decimal(str(p.standard_price or 0)) for c, p in product_by_code.items()}
        report = reconcile(wms, odoo, costs, known_products=product_by_code)
        Lot = self.env["stock.lot"]
        self.line_ids.unlink()
        vals = []
        for line in report.lines:
            product = product_by_code.get(line.product_code)
            lot = Lot.search([("name", "=", line.lot), ("product_id", "=", product.id)],
                             limit=1) if product and line.lot else Lot
            vals.append({
                "reconciliation_id": self.id, "product_id": product.id if product else False,
                "product_code": line.product_code, "lot_name": line.lot or False,
                "lot_id": lot.id or False, "wms_location": line.location or False,
                "wms_quantity": float(line.wms_quantity),
                "odoo_quantity": float(line.odoo_quantity),
                "difference": float(line.difference), "value": float(line.value),
                "status": line.status,
            })
        self.env["shipment.sync.wms.reconciliation.line"].create(vals)
        self.write({"state": "compared", "snapshot_at": fields.Datetime.now()})
        return True

    def action_propose_adjustments(self):
        """Set the counted quantity (inventory_quantity) of the warehouse's quants
        to the WMS figures; a manager applies them in Physical Inventory."""
        self.ensure_one()
        if not self.env.user.has_group("shipment_sync.group_manager"):
            raise UserError(_("Only a Shipment Sync administrator may propose adjustments."))
        Quant = self.env["stock.quant"].with_context(inventory_mode=True)
        location = self.warehouse_id.lot_stock_id
        quants = Quant
        for line in self.line_ids.filtered(lambda x: x.status == "difference" and x.product_id):
            if line.product_id.tracking != "none" and not line.lot_id:
                continue
            quant = Quant.search([("product_id", "=", line.product_id.id),
                                  ("location_id", "=", location.id),
                                  ("lot_id", "=", line.lot_id.id or False)], limit=1)
            if not quant:
                quant = Quant.create({"product_id": line.product_id.id,
                                      "location_id": location.id,
                                      "lot_id": line.lot_id.id or False})
            quant.inventory_quantity = quant.quantity + line.difference
            line.quant_id = quant
            quants |= quant
        self.state = "proposed"
        self.message_post(body=_("%s inventory adjustment(s) proposed.", len(quants)))
        return self.action_view_adjustments()

    def action_view_adjustments(self):
        self.ensure_one()
        action = self.env["stock.quant"].with_context(
            search_default_to_apply=True)._get_quants_action(extend=True)
        action["domain"] = [("id", "in", self.line_ids.quant_id.ids)]
        return action
