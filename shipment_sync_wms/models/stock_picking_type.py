from odoo import _, api, fields, models
from odoo.exceptions import ValidationError


class StockPickingType(models.Model):
    _inherit = "stock.picking.type"

    wms_partner_id = fields.Many2one(
        "shipment.sync.partner", "WMS / 3PL", domain="[('kind', '=', 'wms')]",
        check_company=True,
        help="The warehouse system executing this operation type (default: the "
        "warehouse's).")
    wms_release_policy = fields.Selection(
        [("confirm", "On confirmation"), ("ready", "When ready (reserved)"),
         ("manual", "Manually (Release to WMS)")],
        string="Release to WMS", default="manual", required=True)
    wms_cutoff_hour = fields.Float(
        "WMS cut-off time", default=0.0,
        help="Local time of day (company time zone) after which a release is flagged late "
        "(it ships the next working day). 0 disables the check.")

    @api.constrains("wms_cutoff_hour")
    def _check_wms_cutoff_hour(self):
        for picking_type in self:
            if not 0 <= picking_type.wms_cutoff_hour < 24:
                raise ValidationError(_("The cut-off time must be between 00:00 and 23:59."))

    def _wms_partner(self):
        self.ensure_one()
        return self.wms_partner_id or self.warehouse_id.wms_partner_id
