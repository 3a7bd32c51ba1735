from odoo import _, fields, models

from shipsync import pod


class ShipmentSyncPickingPod(models.AbstractModel):
    """Proof of delivery (who signed, photo / document URLs, where) as the carrier's
    tracking data gives it (``shipsync.pod``), kept on the delivered transfer: a
    part of ``stock.picking``, composed by its one class."""

    _name = "shipment.sync.picking.pod"
    _description = "Shipment Sync: proof of delivery of a transfer"

    shipment_pod_date = fields.Datetime(
        "Proof of delivery", readonly=True, copy=False, index=True,
        help="When the delivered scan carrying a proof of delivery happened.")
    shipment_pod_signed_by = fields.Char("Signed by", readonly=True, copy=False)
    shipment_pod_urls = fields.Text(
        "Delivery photos / documents", readonly=True, copy=False,
        groups="shipment_sync.group_user",
        help="The carrier's proof-of-delivery URLs, one per line (never shown to customers).")
    shipment_pod_location = fields.Char("Delivered at", readonly=True, copy=False)
    shipment_pod_city = fields.Char(readonly=True, copy=False)
    shipment_pod_partner_id = fields.Many2one(
        "shipment.sync.partner", "Proof from", readonly=True, copy=False, index=True,
        ondelete="set null")

    def _shipment_store_pod(self, proof, partner, occurred_at):
        """Keep ``proof`` (a ``shipsync.pod.ProofOfDelivery``); the latest scan wins."""
        for picking in self:
            when = fields.Datetime.to_datetime(occurred_at.replace(tzinfo=None)) \
                if occurred_at else fields.Datetime.now()
            if picking.shipment_pod_date and picking.shipment_pod_date > when:
                continue
            picking.sudo().write({
                "shipment_pod_date": when,
                "shipment_pod_signed_by": proof.signed_by or False,
                "shipment_pod_urls": "\n".join(proof.urls) or False,
                "shipment_pod_location": proof.location or False,
                "shipment_pod_city": proof.city or False,
                "shipment_pod_partner_id": partner.id if partner else False,
            })
            picking.message_post(body=_(
                "Proof of delivery from %(partner)s: signed by %(who)s%(where)s.",
                partner=partner.name if partner else "-", who=proof.signed_by or _("nobody"),
                where=f", {proof.location}" if proof.location else ""))

    def _shipment_pod_public(self):
        """What the customer's tracking page may show: the signer's initial and the
        delivery city (``shipsync.pod.customer_safe``); {} without a proof."""
        self.ensure_one()
        if not self.shipment_pod_date:
            return {}
        return pod.customer_safe(self.shipment_pod_signed_by or "", self.shipment_pod_city or "")

