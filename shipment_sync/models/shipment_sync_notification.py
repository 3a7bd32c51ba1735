from odoo import api, fields, models

from shipsync import customer

NOTIFY_KIND_SELECTION = [
    ("handed_over", "Handed over"),
    ("out_for_delivery", "Out for delivery"),
    ("available_for_pickup", "Available for pickup"),
    ("delivery_attempted", "Delivery attempted"),
    ("delivered", "Delivered"),
    ("exception", "Exception"),
]
assert [k for k, _l in NOTIFY_KIND_SELECTION] == list(customer.NOTIFY_KINDS)


class ShipmentSyncNotification(models.Model):
    """One customer notification of one shipment: created in the transaction
    that moved the milestone (UNIQUE per picking and key, so repeats and
    out-of-order events never send twice), rendered and queued in Odoo's mail
    queue by a cron, never inside the webhook request."""

    _name = "shipment.sync.notification"
    _description = "Shipment customer notification"
    _order = "id desc"

    picking_id = fields.Many2one("stock.picking", "Transfer", required=True, index=True,
                                 ondelete="cascade", readonly=True)
    company_id = fields.Many2one(related="picking_id.company_id", store=True, index=True)
    partner_id = fields.Many2one("res.partner", "Customer", readonly=True)
    kind = fields.Selection(NOTIFY_KIND_SELECTION, required=True, readonly=True)
    key = fields.Char(required=True, readonly=True,
                      help="What makes this notification unique for the shipment.")
    state = fields.Selection(
        [("pending", "Pending"), ("queued", "Queued"), ("skipped", "Skipped"),
         ("failed", "Failed")],
        default="pending", required=True, index=True, readonly=True)
    skip_reason = fields.Char(readonly=True)
    mail_id = fields.Many2one("mail.mail", "Mail", readonly=True, ondelete="set null")

    _sql_constraints = [
        ("picking_key_unique", "UNIQUE(picking_id, key)",
         "A shipment gets each customer notification once."),
    ]
