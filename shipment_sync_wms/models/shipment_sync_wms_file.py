import logging
from pathlib import Path

from odoo import _, api, fields, models
from odoo.tools import config

from odoo.addons.shipment_sync.models.cron_retry import retry_conflicts

from shipsync.wms import files, x12
from shipsync.wms.apply import confirmation_events
from shipsync.wms.messages import FormatError

_logger = logging.getLogger(__name__)


class ShipmentSyncWmsFile(models.Model):
    """One inbound confirmation file of a directory exchange, and its fate."""

    _name = "shipment.sync.wms.file"
    _description = "WMS Inbound File"
    _order = "id desc"

    name = fields.Char("File name", required=True, readonly=True)
    partner_id = fields.Many2one("shipment.sync.partner", required=True, readonly=True,
                                 index=True, ondelete="cascade")
    company_id = fields.Many2one(related="partner_id.company_id", store=True, index=True)
    content_hash = fields.Char(readonly=True, index=True, help="sha256 of the content.")
    state = fields.Selection(
        [("processed", "Processed"), ("error", "Error"), ("duplicate", "Duplicate")],
        required=True, readonly=True, index=True)
    path = fields.Char("Moved to", readonly=True)
    file_format = fields.Char(readonly=True)
    error_report = fields.Text(readonly=True)
    confirmation_count = fields.Integer("Confirmations read", readonly=True)
    new_event_count = fields.Integer("New events", readonly=True)
    confirmation_ids = fields.One2many("shipment.sync.wms.confirmation", "file_id",
                                       "Confirmations")

    @api.model
    @retry_conflicts
    def _cron_import(self):
        """Read the inbound directory of every directory-exchange WMS partner."""
        partners = self.env["shipment.sync.partner"].search(
            [("kind", "=", "wms"), ("wms_transport", "=", "files"), ("active", "=", True)])
        # The cron owns its transaction: each file is committed once handled,
        # since it was moved on disk (outside of test runs).
        commit = not config["test_enable"] and not self.env.registry.in_test_mode()
        total = 0
        for partner in partners:
            total += len(self._import_partner(partner, commit=commit))
        return total

    @api.model
    def _import_partner(self, partner, commit=False):
        """Handle the inbound files of ``partner`` oldest first; returns the records."""
        records = self.browse()
        for path in files.list_inbound(Path(partner.wms_inbound_dir or "/nonexistent")):
            try:
                with self.env.cr.savepoint():
                    records |= self._import_file(partner, path)
            except Exception:
                _logger.exception("WMS file %s could not be handled", path)
                if commit:
                    self.env.cr.rollback()
                continue
            if commit:
                # The file cron owns its cursor: each file is committed before it is
                # moved to processed/, so a later file's failure cannot undo it.
                self.env.cr.commit()  # pylint: disable=invalid-commit
        return records

    @api.model
    def _import_file(self, partner, path):
        path = Path(path)
        data = path.read_bytes()
        digest = files.content_hash(data)
        fmt = files.detect_format(path.name, data)
        seen = self.search([("partner_id", "=", partner.id), ("content_hash", "=", digest),
                            ("state", "=", "processed")], limit=1)
        vals = {"name": path.name, "partner_id": partner.id, "content_hash": digest,
                "file_format": fmt}
        if seen:
            moved = files.move_to(path, "processed")
            return self.create(dict(vals, state="duplicate", path=str(moved), error_report=_(
                "Same content as %(name)s (file #%(id)s): nothing applied.",
                name=seen.name, id=seen.id)))
        if fmt == "x12" and x12.functional_id(data) == "FA":
            return self._import_acknowledgments(partner, path, data, vals)
        Groups = self.env["shipment.sync.wms.x12.group"].sudo()
        try:
            confirmations = files.read_confirmations(path.name, data)
        except FormatError as exc:
            moved = files.move_to(path, "error")
            files.write_error_report(moved, exc.errors)
            report = "\n".join(f"line {n}: {m}" if n else m for n, m in exc.errors)
            record = self.create(dict(vals, state="error", path=str(moved), error_report=report))
            if fmt == "x12":  # the 997 names what is wrong (AK9 R)
                Groups._acknowledge(partner, data, record)
            return record
        record = self.create(dict(vals, state="processed",
                                  confirmation_count=len(confirmations)))
        if fmt == "x12":
            Groups._acknowledge(partner, data, record)
        events = [ev for conf in confirmations for ev in confirmation_events(conf)]
        new, _duplicates = self.env["shipment.sync.event"].sudo()._ingest(
            partner, events, body=data, headers={"file": path.name})
        # The confirmations the ingest handler kept beside the new events came in this file.
        self.env["shipment.sync.wms.confirmation"].sudo().search(
            [("event_id", "in", new.ids)]).write({"file_id": record.id})
        new._apply_now()
        moved = files.move_to(path, "processed")
        record.write({"path": str(moved), "new_event_count": len(new)})
        return record

    @api.model
    def _import_acknowledgments(self, partner, path, data, vals):
        """A 997 of the partner: mark the groups we sent as acknowledged."""
        try:
            acks = x12.read_acknowledgments(data)
        except FormatError as exc:
            moved = files.move_to(path, "error")
            files.write_error_report(moved, exc.errors)
            report = "\n".join(f"line {n}: {m}" if n else m for n, m in exc.errors)
            return self.create(dict(vals, state="error", path=str(moved), error_report=report))
        groups = self.env["shipment.sync.wms.x12.group"].sudo()._receive_acknowledgments(
            partner, acks)
        moved = files.move_to(path, "processed")
        unknown = [a.control for a in acks if a.control not in
                   {str(int(c)) for c in groups.mapped("control_number")}]
        return self.create(dict(
            vals, state="processed", path=str(moved), file_format="x12 997",
            error_report=_("997 for group(s) we never sent: %s", ", ".join(unknown))
            if unknown else False))
