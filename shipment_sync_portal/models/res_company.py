from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    shipment_sync_tracking_link_days = fields.Integer(
        "Tracking link valid for (days)", default=90,
        help="The public tracking page of a shipment answers 404 this many days after "
        "the shipment reached a final milestone (delivered, returned, failed, cancelled).")

    # One switch per notification kind, named shipment_sync_notify_<kind>: a
    # module adding a kind adds its switch under that name and
    # _shipment_notification_enabled() finds it. All off after install:
    # customers are emailed only once a company turns a kind on.
    shipment_sync_notify_handed_over = fields.Boolean(
        "Email customers: shipped", default=False)
    shipment_sync_notify_out_for_delivery = fields.Boolean(
        "Email customers: out for delivery", default=False)
    shipment_sync_notify_available_for_pickup = fields.Boolean(
        "Email customers: ready for pickup", default=False)
    shipment_sync_notify_delivery_attempted = fields.Boolean(
        "Email customers: delivery attempted", default=False)
    shipment_sync_notify_delivered = fields.Boolean(
        "Email customers: delivered", default=False)
    shipment_sync_notify_exception = fields.Boolean(
        "Email customers: delivery problems", default=False,
        help="Only problems a customer can understand or act on (address, customs, "
        "delay, damage...), in customer wording; internal failures are never emailed.")

    #: Odoo's own delivery confirmation channels (stock's email, stock_sms's
    #: SMS), sent when a delivery is validated: they announce the same thing as
    #: our "shipped" email.
    _SHIPMENT_ODOO_CONFIRMATIONS = ("stock_move_email_validation", "stock_move_sms_validation")

    def _shipment_odoo_confirmation_on(self):
        """Whether Odoo's own delivery confirmation (email or SMS) is on."""
        self.ensure_one()
        return any(fname in self._fields and self[fname]
                   for fname in self._SHIPMENT_ODOO_CONFIRMATIONS)

    def _shipment_notification_enabled(self, kind):
        """Whether this company emails its customers notifications of ``kind``
        (False for a kind without a switch). One channel announces the
        shipment: while Odoo's own delivery confirmation is on, our "shipped"
        email stays silent."""
        self.ensure_one()
        fname = f"shipment_sync_notify_{kind}"
        if kind == "handed_over" and self._shipment_odoo_confirmation_on():
            return False
        return bool(fname in self._fields and self[fname])

    def write(self, vals):
        # Turning our "shipped" email on hands the announcement over to it:
        # Odoo's own confirmation email/SMS are switched off in the same write
        # (unless the same write sets them), so the customer hears it once.
        if vals.get("shipment_sync_notify_handed_over"):
            vals = dict(vals)
            for fname in self._SHIPMENT_ODOO_CONFIRMATIONS:
                if fname in self._fields and fname not in vals:
                    vals[fname] = False
        return super().write(vals)
