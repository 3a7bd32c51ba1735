from odoo import api, fields, models


class ShipmentSyncNotificationTemplate(models.Model):
    """A company's own mail template for one kind of customer notification
    (its wording, sender, layout); companies without one use the shared
    template of the kind."""

    _name = "shipment.sync.notification.template"
    _description = "Shipment customer notification template per company"
    _order = "company_id, kind"

    company_id = fields.Many2one("res.company", required=True, index=True,
                                 default=lambda self: self.env.company, ondelete="cascade")
    kind = fields.Selection("_selection_kind", required=True)
    template_id = fields.Many2one(
        "mail.template", required=True, ondelete="cascade",
        domain=[("model", "=", "stock.picking")],
        help="Rendered on the delivery order, in the customer's language.")

    _sql_constraints = [
        ("company_kind_unique", "UNIQUE(company_id, kind)",
         "A company has one template per notification kind."),
    ]

    @api.model
    def _selection_kind(self):
        # The kinds of shipment.sync.notification, including those other
        # modules add (running_late).
        return self.env["shipment.sync.notification"]._fields["kind"].selection
