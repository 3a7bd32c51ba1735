from odoo import models


class StockMove(models.Model):
    _inherit = "stock.move"

    def _action_assign(self, force_qty=False):
        res = super()._action_assign(force_qty=force_qty)
        # Inventory allocated: the deliveries of a TMS-planned operation are released.
        self.picking_id.filtered(
            lambda p: p.state == "assigned" and p.tms_state == "none"
            and p.picking_type_code == "outgoing" and p.picking_type_id.tms_partner_id
        )._tms_release()
        return res
