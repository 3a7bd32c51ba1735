from odoo import fields, models


class DeliveryCarrier(models.Model):
    _inherit = "delivery.carrier"

    tms_carrier_code = fields.Char(
        "TMS carrier code", index="btree_not_null",
        help="The code a TMS assigns this carrier by: its assignment sets this delivery "
        "method on the transfer.")
