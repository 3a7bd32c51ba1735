from odoo import fields, models


class ShipmentSyncWmsReconciliationLine(models.Model):
    _name = "shipment.sync.wms.reconciliation.line"
    _description = "WMS Stock Reconciliation Line"
    _order = "status desc, product_code, lot_name"

    reconciliation_id = fields.Many2one("shipment.sync.wms.reconciliation", required=True,
                                        ondelete="cascade", index=True)
    company_id = fields.Many2one(related="reconciliation_id.company_id", store=True)
    product_id = fields.Many2one("product.product", readonly=True)
    product_code = fields.Char(readonly=True)
    lot_id = fields.Many2one("stock.lot", readonly=True)
    lot_name = fields.Char("Lot name", readonly=True)
    wms_location = fields.Char("WMS location", readonly=True)
    wms_quantity = fields.Float("WMS quantity", readonly=True, digits="Product Unit of Measure")
    odoo_quantity = fields.Float("Odoo quantity", readonly=True,
                                 digits="Product Unit of Measure")
    difference = fields.Float(readonly=True, digits="Product Unit of Measure")
    value = fields.Float(readonly=True, help="Difference at the product's cost.")
    status = fields.Selection(
        [("match", "Match"), ("difference", "Difference"), ("unknown", "Unknown item")],
        readonly=True, index=True)
    quant_id = fields.Many2one("stock.quant", "Proposed adjustment", readonly=True)
