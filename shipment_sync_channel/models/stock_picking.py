from collections import OrderedDict

from odoo import _, fields, models

from shipsync import milestones as ms
from shipsync.partners.amazon import outbound as amazon
from shipsync.tracking import tracking_keys

#: Milestones that mean the goods left: a transfer reaching one of them is handed over.
SHIPPED = frozenset(code for code, rank in ms.RANK.items()
                    if rank >= ms.RANK["handed_over"] and code != "cancelled")


class StockPicking(models.Model):
    _inherit = "stock.picking"

    shipment_channel_id = fields.Many2one(related="sale_id.shipment_channel_id",
                                          string="Sales channel")
    shipment_channel_order_ref = fields.Char(related="sale_id.shipment_channel_order_ref",
                                             string="Channel order ID")
    shipment_channel_confirmed_at = fields.Datetime(
        "Confirmed to the channel", readonly=True, copy=False,
        help="When the sales channel accepted the shipment confirmation of this transfer.")

    # ------------------------------------------------------------------
    # triggers: handed over (any source), tracking number arriving later
    # ------------------------------------------------------------------
    def _shipment_on_milestone_change(self, old_milestone, final, news):
        res = super()._shipment_on_milestone_change(old_milestone, final, news)
        if final.milestone in SHIPPED and old_milestone not in SHIPPED:
            self._shipment_channel_confirm()
        return res

    def write(self, vals):
        res = super().write(vals)
        if vals.get("carrier_tracking_ref"):
            self.filtered(lambda p: p.shipment_milestone in SHIPPED)._shipment_channel_confirm()
        return res

    # ------------------------------------------------------------------
    # the confirmation
    # ------------------------------------------------------------------
    def _shipment_channel_key(self):
        """One confirmation per channel order and transfer: twice handed over, a replayed
        ledger or a later tracking write enqueue the same key, i.e. the same job."""
        self.ensure_one()
        return f"channel-confirm:{self.sale_id.shipment_channel_order_ref}:{self.id}"

    def _shipment_channel_confirm(self):
        """Enqueue the shipment confirmation of these transfers to the sales channel of
        their sale order (in the caller's transaction). Transfers without a channel, not
        outgoing or not yet with a tracking number are left alone (the tracking number's
        arrival triggers it again)."""
        Job = self.env["shipment.sync.job"].sudo()
        for picking in self:
            channel = picking.sale_id.shipment_channel_id
            if picking.picking_type_code != "outgoing" or picking.state != "done" or \
                    not channel.active or not channel.channel_api:
                continue
            if not tracking_keys(picking.carrier_tracking_ref):
                picking.message_post(body=_(
                    "Handed over without a tracking number: the confirmation to %s waits "
                    "for one.", channel.name))
                continue
            Job._enqueue(channel, amazon.OPERATION,
                         picking._shipment_channel_confirmation().to_payload(),
                         picking=picking, idempotency_key=picking._shipment_channel_key())

    def _shipment_channel_lines(self):
        """``{channel order item id: quantity}`` shipped by this transfer, in the sale
        line's unit (lines without an item id keep an empty id: the adapter refuses
        them by name, the job dies and says why)."""
        self.ensure_one()
        lines = OrderedDict()
        for move in self.move_ids.filtered(lambda m: m.state == "done" and m.sale_line_id):
            line = move.sale_line_id
            qty = move.product_uom._compute_quantity(move.quantity, line.product_uom,
                                                     rounding_method="HALF-UP")
            if qty <= 0:
                continue
            key = line.shipment_channel_item_ref or ""
            lines[key] = lines.get(key, 0.0) + qty
        return lines

    def _shipment_channel_confirmation(self):
        """This transfer as one package of its channel order (plain values)."""
        self.ensure_one()
        order, carrier = self.sale_id, self.carrier_id
        channel = order.shipment_channel_id
        items = []
        for item_id, qty in self._shipment_channel_lines().items():
            # A fractional quantity is kept as is: the adapter refuses it by name.
            whole = float(qty).is_integer() and qty > 0
            items.append(amazon.ShippedItem(
                item_id, amazon.quantity(qty, item_id) if whole else qty))
        code = (carrier.shipment_channel_carrier_code or "").strip() or amazon.OTHER_CARRIER
        return amazon.ShipmentConfirmation(
            order_id=order.shipment_channel_order_ref or "",
            marketplace_id=channel.channel_marketplace_id or "",
            package_reference_id=str(self.id),
            tracking_number=tracking_keys(self.carrier_tracking_ref)[0],
            ship_date=amazon.ship_date(self.date_done or fields.Datetime.now()),
            items=tuple(items), carrier_code=code,
            carrier_name=(carrier.shipment_channel_carrier_name or carrier.name or ""),
            shipping_method=carrier.name or "")

    def action_shipment_channel_confirm(self):
        """Button: (re)queue the confirmation; an existing one is not sent twice."""
        self._shipment_channel_confirm()
        return True
