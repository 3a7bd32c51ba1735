from odoo import Command, api, fields, models

#: Set when the demo data turned Storage Locations on (the uninstall turns it off again).
DEMO_LOCATIONS_PARAM = "shipment_sync_wms.demo_enabled_storage_locations"


class StockWarehouse(models.Model):
    _inherit = "stock.warehouse"

    wms_partner_id = fields.Many2one(
        "shipment.sync.partner", "WMS / 3PL", domain="[('kind', '=', 'wms')]",
        check_company=True,
        help="Default warehouse system executing this warehouse's operation types.")

    @api.model
    def _wms_demo_storage_locations(self):
        """Demo data, before the 3PL warehouse: a second warehouse needs
        Storage Locations. Turn it on as Odoo's settings do, without saving the
        whole settings form (which would store every setting as a system
        parameter), and remember it, so that the uninstall turns it off."""
        group_user = self.env.ref("base.group_user")
        locations = self.env.ref("stock.group_stock_multi_locations")
        if locations not in group_user.implied_ids:
            self.env["ir.config_parameter"].sudo().set_param(DEMO_LOCATIONS_PARAM, "1")
            group_user.write({"implied_ids": [Command.link(locations.id)]})
