from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    shipment_sync_tracking_link_days = fields.Integer(
        "Tracking link valid for (days)", default=90,
        help="The public tracking page of a shipment answers 404 this many days after "
        "the shipment reached a final milestone (delivered, returned, failed, cancelled).")

    # One switch per notification kind, named shipment_sync_notify_<kind>: a
    # module adding a kind adds its switch under that name and
    # _shipment_notification_enabled() finds it.
    shipment_sync_notify_handed_over = fields.Boolean(
        "Email customers: shipped", default=True)
    shipment_sync_notify_out_for_delivery = fields.Boolean(
        "Email customers: out for delivery", default=True)
    shipment_sync_notify_available_for_pickup = fields.Boolean(
        "Email customers: ready for pickup", default=True)
    shipment_sync_notify_delivery_attempted = fields.Boolean(
        "Email customers: delivery attempted", default=True)
    shipment_sync_notify_delivered = fields.Boolean(
        "Email customers: delivered", default=True)
    shipment_sync_notify_exception = fields.Boolean(
        "Email customers: delivery problems", default=True,
        help="Only problems a customer can understand or act on (address, customs, "
        "delay, damage...), in customer wording; internal failures are never emailed.")

    def _shipment_notification_enabled(self, kind):
        """Whether this company emails its customers notifications of ``kind``
        (False for a kind without a switch)."""
        self.ensure_one()
        fname = f"shipment_sync_notify_{kind}"
        return bool(fname in self._fields and self[fname])
