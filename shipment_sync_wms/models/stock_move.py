from odoo import api, models


class StockMove(models.Model):
    _inherit = "stock.move"

    def write(self, vals):
        released = self.picking_id.filtered(lambda p: p.wms_state in ("pending", "released")) \
            if "product_uom_qty" in vals and not self.env.context.get("wms_applying") \
            else self.picking_id.browse()
        before = {m.id: m.product_uom_qty for m in self if m.picking_id in released}
        res = super().write(vals)
        changed = self.filtered(lambda m: m.id in before
                                and m.product_uom_qty != before[m.id]).picking_id
        if changed:
            changed._wms_send_update()
        return res

    @api.model_create_multi
    def create(self, vals_list):
        moves = super().create(vals_list)
        if not self.env.context.get("wms_applying"):
            moves.picking_id.filtered(
                lambda p: p.wms_state in ("pending", "released")
                and p.state not in ("done", "cancel"))._wms_send_update()
        return moves

    def _action_assign(self, force_qty=False):
        res = super()._action_assign(force_qty=force_qty)
        self.picking_id._wms_auto_release()
        return res
