from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from shipsync import ingest, schemas
from shipsync.wms import x12
from shipsync.wms.apply import WmsNormalizer, parse_webhook_events


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

    wms_x12_sender_id = fields.Char(
        "Our X12 ID", size=15, default="SHIPSYNC",
        help="Interchange sender ID (ISA06, GS02) of the files we send; the partner's files "
        "are addressed to it.")
    wms_x12_receiver_id = fields.Char(
        "Partner X12 ID", size=15,
        help="The 3PL's interchange ID (ISA08, GS03 of our files). Defaults to the partner code.")
    wms_x12_version = fields.Selection(
        [("004010", "004010"), ("005010", "005010")], "X12 version", default="004010")
    wms_x12_ack_hours = fields.Float(
        "997 expected within (hours)", default=24.0,
        help="Every group we send (a 940) expects a 997 functional acknowledgment; when "
        "none arrives in this time the transfer gets an exception. 0: not checked.")
    wms_x12_control_number = fields.Integer(
        "Last X12 control number", readonly=True, copy=False,
        help="ISA13 / GS06 of the last interchange sent to this partner; the next one "
        "takes the following number.")

    @api.constrains("wms_x12_ack_hours")
    def _check_wms_x12_ack_hours(self):
        for partner in self:
            if partner.wms_x12_ack_hours < 0:
                raise ValidationError(_("The 997 delay cannot be negative."))

    def _wms_x12_next_control_number(self):
        """The next interchange / group control number of this partner (1..999999999,
        then 1 again), taken under a row lock so that two workers never share one."""
        self.ensure_one()
        self.env.cr.execute(
            "UPDATE shipment_sync_partner SET wms_x12_control_number = "
            "COALESCE(wms_x12_control_number, 0) %% 999999999 + 1 WHERE id = %s "
            "RETURNING wms_x12_control_number", (self.id,))
        number = self.env.cr.fetchone()[0]
        self.invalidate_recordset(["wms_x12_control_number"])
        return number

    def _wms_x12_envelope(self):
        self.ensure_one()
        receiver = (self.wms_x12_receiver_id or self.code or "WMS").upper()[:15]
        return x12.Envelope(
            sender_id=(self.wms_x12_sender_id or "SHIPSYNC")[:15], receiver_id=receiver,
            control_number=self._wms_x12_next_control_number(),
            version=self.wms_x12_version or "004010")

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

    def _shipsync_parse_inbound(self, body):
        """WMS confirmations (webhook route or broker queue) are parsed by the WMS
        format; a bad one is a recorded 400 with the schema's code."""
        if self.inbound_format != "wms":
            return super()._shipsync_parse_inbound(body)
        try:
            return parse_webhook_events(body)
        except schemas.PayloadError as exc:
            message = str(exc) if not exc.path else f"{exc.path}: {exc}"
            raise ingest.BodyRejected(400, exc.code, message) from exc
