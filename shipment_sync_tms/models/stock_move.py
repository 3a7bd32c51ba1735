from odoo import api, models

#: Move fields whose change changes the plan a TMS holds.
PLAN_FIELDS = frozenset({"product_uom_qty", "product_id", "product_uom", "state",
                         "picking_id"})


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

    @api.model_create_multi
    def create(self, vals_list):
        moves = super().create(vals_list)
        moves.picking_id._tms_watch()
        return moves

    def write(self, vals):
        watch = PLAN_FIELDS.intersection(vals)
        before = self.picking_id if watch else None
        res = super().write(vals)
        if watch:
            (before | self.picking_id)._tms_watch()
        return res

    def unlink(self):
        pickings = self.picking_id
        res = super().unlink()
        pickings.exists()._tms_watch()
        return res
