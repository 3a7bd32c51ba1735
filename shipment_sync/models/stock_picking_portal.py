import secrets

from odoo import fields, models


def _new_tracking_token():
    return secrets.token_urlsafe(24)


class StockPicking(models.Model):
    _inherit = "stock.picking"

    shipment_tracking_token = fields.Char(
        "Tracking token", copy=False, index=True, readonly=True,
        groups="base.group_user",
        help="Unguessable token of the public tracking page of this shipment, "
        "made when the link is first needed.")

    def _shipment_tracking_url(self):
        """Absolute URL of the public tracking page (the link in the emails)."""
        self.ensure_one()
        if not self.sudo().shipment_tracking_token:
            self.sudo().shipment_tracking_token = _new_tracking_token()
        return f"{self.get_base_url()}/shipment/track/{self.sudo().shipment_tracking_token}"

    def _shipment_carrier_eta(self):
        """The carrier's latest own estimate of delivery (naive UTC) or False."""
        self.ensure_one()
        event = self.env["shipment.sync.event"].sudo().search(
            [("picking_id", "=", self.id), ("carrier_eta", "!=", False),
             ("state", "=", "applied")], order="occurred_at desc, id desc", limit=1)
        return event.carrier_eta or False

    def _shipment_customer_eta(self):
        """Delivery estimates shown to the customer: ``predicted`` (ours; the
        monitor's lane statistics fill it) and ``carrier`` (the carrier's)."""
        self.ensure_one()
        return {"predicted": False, "carrier": self._shipment_carrier_eta()}

    def _shipment_promised_date(self):
        """The delivery date promised to the customer (naive UTC) or False:
        the sale order's commitment date, else the transfer's deadline."""
        self.ensure_one()
        sale = "sale_id" in self._fields and self.sale_id
        return (sale and sale.commitment_date) or self.date_deadline or False
