from odoo import models


class StockMove(models.Model):
    _inherit = "stock.move"

    def _action_confirm(self, merge=True, merge_into=False):
        """Confirmed delivery orders (by hand or from a sale) get the automatic address
        check of carriers that ask for it (``stock.picking._shipsync_auto_check_address``)."""
        moves = super()._action_confirm(merge=merge, merge_into=merge_into)
        moves.picking_id._shipsync_auto_check_address()
        return moves
