from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from shipsync.wms.apply import WmsNormalizer


class ShipmentSyncPartner(models.Model):
    _inherit = "shipment.sync.partner"

    inbound_format = fields.Selection(
        selection_add=[("wms", "WMS confirmations (pick / pack / ship)")],
        ondelete={"wms": "set default"},
    )
    wms_transport = fields.Selection(
        [("api", "API (HTTP)"), ("files", "Directory exchange")],
        string="WMS exchange", default="api",
        help="API: releases are POSTed to <outbound base URL>/releases and confirmations "
        "come to the webhook. Directory exchange: release files are written to the "
        "outbound directory, confirmation files are read from the inbound directory.")
    wms_file_format = fields.Selection(
        [("csv", "CSV"), ("json", "JSON"), ("x12", "X12 940 / 945")],
        string="File format", default="csv")
    wms_outbound_dir = fields.Char("Outbound directory", help="Release files are written here.")
    wms_inbound_dir = fields.Char(
        "Inbound directory",
        help="Confirmation files are read from here, then moved to processed/ or error/.")
    wms_qty_tolerance = fields.Float(
        "Over-shipment tolerance (%)", default=0.0,
        help="A ship confirmation may exceed the ordered quantity of a product by this "
        "percentage; more is a mismatch and the confirmation is rejected.")

    @api.constrains("wms_transport", "wms_outbound_dir", "wms_inbound_dir", "kind")
    def _check_wms_dirs(self):
        for partner in self:
            if partner.kind == "wms" and partner.wms_transport == "files" and not (
                    partner.wms_outbound_dir and partner.wms_inbound_dir):
                raise ValidationError(_(
                    "A directory exchange needs an outbound and an inbound directory."))

    @api.constrains("wms_qty_tolerance")
    def _check_wms_qty_tolerance(self):
        for partner in self:
            if partner.wms_qty_tolerance < 0:
                raise ValidationError(_("The over-shipment tolerance cannot be negative."))

    def _shipsync_normalizer(self):
        if self.inbound_format != "wms":
            return super()._shipsync_normalizer()
        return WmsNormalizer()
