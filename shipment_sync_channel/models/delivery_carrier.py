from odoo import fields, models


class DeliveryCarrier(models.Model):
    _inherit = "delivery.carrier"

    shipment_channel_carrier_code = fields.Char(
        "Sales-channel carrier code",
        help="The carrier code the sales channel knows this carrier by (Amazon: its "
        "carrierCode list, e.g. UPS, FedEx, DHL). Empty: confirmed as 'Other' with the "
        "carrier name below.")
    shipment_channel_carrier_name = fields.Char(
        "Sales-channel carrier name",
        help="Carrier name sent to the sales channel when the code is empty or 'Other' "
        "(default: the name of this delivery method).")
