from odoo import _, models
from odoo.exceptions import UserError


class SaleOrder(models.Model):
    _inherit = "sale.order"

    def _create_invoices(self, grouped=False, final=False, date=None):
        """The customer invoice waits while a TMS freight charge of the order is off the
        expected rate (a person accepts the variance on the transfer first)."""
        held = self.picking_ids.filtered(lambda p: p.tms_freight_state == "variance")
        if held:
            raise UserError(_(
                "Freight charges of %(pickings)s differ from the expected rate: review and "
                "accept the variance on the transfer before invoicing.",
                pickings=", ".join(held.mapped("name"))))
        return super()._create_invoices(grouped=grouped, final=final, date=date)
