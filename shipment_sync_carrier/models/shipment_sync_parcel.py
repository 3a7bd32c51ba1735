from odoo import fields, models


class ShipmentSyncParcel(models.Model):
    """One carrier parcel of a transfer: its tracking number and label (one per
    package; the transfer's ``carrier_tracking_ref`` joins them with commas)."""

    _name = "shipment.sync.parcel"
    _description = "Shipment Sync Parcel"
    _order = "picking_id, id"
    _rec_name = "tracking_number"

    picking_id = fields.Many2one("stock.picking", required=True, index=True, ondelete="cascade")
    company_id = fields.Many2one(related="picking_id.company_id", store=True, index=True)
    carrier_id = fields.Many2one("delivery.carrier", index=True, ondelete="set null")
    tracking_number = fields.Char(index=True)
    tracking_url = fields.Char()
    package_name = fields.Char("Package")
    shipment_ref = fields.Char("Carrier shipment")
    attachment_id = fields.Many2one("ir.attachment", "Label", ondelete="set null")
    is_return = fields.Boolean("Return label")
    state = fields.Selection([("active", "Active"), ("cancelled", "Cancelled")],
                             default="active", required=True)
