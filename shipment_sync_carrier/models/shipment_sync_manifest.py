import base64
import time
import uuid
from datetime import UTC, datetime

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from shipsync import ids, outbox
from shipsync.adapters import base as ab
from shipsync.normalizers import CanonicalEvent

KINDS = [("pickup", "Pickup"), ("manifest", "End-of-day manifest")]
STATES = [("draft", "Draft"), ("queued", "Sent to the carrier"), ("done", "Done"),
          ("failed", "Failed"), ("cancelled", "Cancelled")]


class ShipmentSyncManifest(models.Model):
    """A carrier pickup or an end-of-day manifest (scan form) for a day's shipments.
    Every call goes through the outbox; the scan form's PDF is attached, and its
    tracking numbers are handed over (``handed_over``, through the ledger: the partner's
    authority over that milestone decides)."""

    _name = "shipment.sync.manifest"
    _description = "Carrier Pickup / Manifest"
    _inherit = ["mail.thread"]
    _order = "date desc, id desc"

    name = fields.Char(compute="_compute_name", store=True)
    kind = fields.Selection(KINDS, required=True, readonly=True, default="manifest")
    carrier_id = fields.Many2one("delivery.carrier", required=True, readonly=True,
                                 ondelete="restrict", index=True)
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True,
                                 default=lambda self: self.env.company)
    date = fields.Date(required=True, default=fields.Date.context_today)
    instructions = fields.Char(help="Pickups: what the driver should know.")
    picking_ids = fields.Many2many("stock.picking", string="Transfers", readonly=True)
    picking_count = fields.Integer(compute="_compute_picking_count")
    state = fields.Selection(STATES, default="draft", required=True, readonly=True,
                             tracking=True, index=True)
    external_ref = fields.Char("Carrier reference", readonly=True, copy=False,
                               help="The pickup or batch id at the carrier.")
    confirmation = fields.Char(readonly=True, copy=False, tracking=True)
    scan_form_ref = fields.Char("Scan form", readonly=True, copy=False)
    attachment_id = fields.Many2one("ir.attachment", "Manifest PDF", readonly=True,
                                    copy=False)
    message = fields.Char(readonly=True, copy=False)
    job_id = fields.Many2one("shipment.sync.job", "Outbox job", readonly=True, copy=False)

    @api.depends("kind", "carrier_id", "date")
    def _compute_name(self):
        labels = dict(KINDS)
        for rec in self:
            rec.name = f"{labels.get(rec.kind, '')} {rec.carrier_id.name or ''} {rec.date or ''}"

    @api.depends("picking_ids")
    def _compute_picking_count(self):
        for rec in self:
            rec.picking_count = len(rec.picking_ids)

    # ------------------------------------------------------------------
    # creation from the delivery list
    # ------------------------------------------------------------------
    @api.model
    def _shipsync_create_for(self, pickings, kind):
        """One record per carrier of ``pickings`` (booked EasyPost shipments only), queued
        at once. Raises a UserError naming what cannot be included."""
        booked = pickings.filtered(lambda p: p.carrier_id.delivery_type == "shipsync"
                                   and p.shipsync_shipment_ref and p.state == "done")
        if not booked:
            raise UserError(_("Select validated transfers with a carrier label."))
        records = self.browse()
        for carrier in booked.carrier_id:
            if not hasattr(carrier._shipsync_adapter(), "create_manifest"):
                raise UserError(_("%(carrier)s: the %(adapter)s adapter has no pickups or "
                                  "manifests.", carrier=carrier.name,
                                  adapter=carrier.shipsync_adapter))
            mine = booked.filtered(lambda p, c=carrier: p.carrier_id == c)
            if kind == "manifest":
                taken = self.search([("kind", "=", "manifest"), ("picking_ids", "in", mine.ids),
                                     ("state", "in", ("queued", "done"))]).picking_ids
                mine -= taken
                if not mine:
                    continue
            records |= self.create({"kind": kind, "carrier_id": carrier.id,
                                    "company_id": mine[0].company_id.id,
                                    "picking_ids": [(6, 0, mine.ids)]})
        if not records:
            raise UserError(_("These transfers are on a manifest already."))
        records.action_send()
        return records

    def action_send(self):
        Job = self.env["shipment.sync.job"].sudo()
        for rec in self.filtered(lambda r: r.state in ("draft", "failed")):
            partner = rec.carrier_id.shipsync_partner_id
            if not partner:
                raise UserError(_("%s has no Shipment Sync partner.", rec.carrier_id.name))
            operation = "carrier_pickup" if rec.kind == "pickup" else "carrier_manifest"
            rec.job_id = Job._enqueue(partner, operation, {"manifest_id": rec.id},
                                      idempotency_key=f"{operation}:{rec.id}:{uuid.uuid4().hex}")
            rec.state = "queued"
        return True

    def action_cancel_pickup(self):
        Job = self.env["shipment.sync.job"].sudo()
        for rec in self.filtered(lambda r: r.kind == "pickup" and r.external_ref
                                 and r.state == "done"):
            Job._enqueue(rec.carrier_id.shipsync_partner_id, "carrier_pickup_cancel",
                         {"manifest_id": rec.id},
                         idempotency_key=f"carrier_pickup_cancel:{rec.id}")
        return True

    def action_view_pickings(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("stock.action_picking_tree_all")
        action["domain"] = [("id", "in", self.picking_ids.ids)]
        action["context"] = {}
        return action

    # ------------------------------------------------------------------
    # outbox handlers
    # ------------------------------------------------------------------
    def _shipsync_of(self, job, ctx=None):
        payload = (ctx.payload if ctx else job._outbox_payload()) or {}
        rec = self.sudo().browse(payload.get("manifest_id")).exists()
        if not rec and ctx:
            raise ab.InvalidInput("the pickup or manifest no longer exists",
                                  code="missing_record")
        return rec

    def _shipsync_shipment_ids(self):
        return [s for p in self.picking_ids
                for s in (p.shipsync_shipment_ref or "").split(",") if s]

    @api.model
    def _shipsync_prepare_pickup(self, job, ctx):
        rec = self._shipsync_of(job, ctx)
        adapter = rec.carrier_id._shipsync_adapter(http=ctx.http)
        warehouse = rec.picking_ids[:1].picking_type_id.warehouse_id.partner_id \
            or rec.company_id.partner_id
        address = rec.carrier_id._shipsync_address(warehouse)
        shipment_id = rec._shipsync_shipment_ids()[0]
        day, note = rec.date, rec.instructions or ""

        def call():
            return outbox.Outcome(status=200, data=adapter.schedule_pickup(
                address, shipment_id, day, note))

        return call

    @api.model
    def _shipsync_done_pickup(self, job, outcome):
        rec = self._shipsync_of(job)
        if rec:
            pickup = outcome.data
            rec.write({"state": "done", "external_ref": pickup.pickup_id,
                       "confirmation": pickup.confirmation or False,
                       "message": _("Pickup %s", pickup.status)})

    @api.model
    def _shipsync_prepare_pickup_cancel(self, job, ctx):
        rec = self._shipsync_of(job, ctx)
        adapter = rec.carrier_id._shipsync_adapter(http=ctx.http)
        pickup_id = rec.external_ref

        def call():
            return outbox.Outcome(status=200, data=adapter.cancel_pickup(pickup_id))

        return call

    @api.model
    def _shipsync_done_pickup_cancel(self, job, outcome):
        rec = self._shipsync_of(job)
        if rec and outcome.data.status == "canceled":
            rec.write({"state": "cancelled", "message": _("Pickup cancelled")})

    @api.model
    def _shipsync_prepare_manifest(self, job, ctx):
        rec = self._shipsync_of(job, ctx)
        adapter = rec.carrier_id._shipsync_adapter(http=ctx.http)
        shipment_ids, batch_id = rec._shipsync_shipment_ids(), rec.external_ref or ""

        def call():
            form = adapter.create_manifest(shipment_ids, batch_id=batch_id,
                                           sleep=time.sleep)
            return outbox.Outcome(status=200, data=form)

        return call

    @api.model
    def _shipsync_done_manifest(self, job, outcome):
        rec = self._shipsync_of(job)
        if not rec:
            return
        form = outcome.data
        attachment = self.env["ir.attachment"].sudo().create({
            "name": f"Manifest-{rec.carrier_id.name}-{rec.date}-{form.scan_form_id}.pdf",
            "datas": base64.b64encode(form.content), "mimetype": "application/pdf",
            "res_model": rec._name, "res_id": rec.id})
        rec.write({"state": "done", "external_ref": form.batch_id,
                   "scan_form_ref": form.scan_form_id, "attachment_id": attachment.id,
                   "message": _("%s parcels on the scan form", len(form.tracking_codes))})
        rec.message_post(body=_("Scan form %s", form.scan_form_id),
                         attachment_ids=attachment.ids)
        rec._shipsync_hand_over(form)

    def _shipsync_hand_over(self, form):
        """The scan form's tracking numbers are ``handed_over``: ledger events of the
        carrier's partner (the partner's authority decides, like for any of its events)."""
        self.ensure_one()
        partner = self.carrier_id.shipsync_partner_id
        now = datetime.now(UTC)
        message = _("On scan form %s", form.scan_form_id)
        events = [CanonicalEvent(
            external_id=ids.event_id("manifest", form.scan_form_id, code),
            occurred_at=now, code="scan_form", milestone="handed_over",
            tracking_number=code, message=message)
            for code in form.tracking_codes]
        if not events:
            return
        Event = self.env["shipment.sync.event"].sudo()
        new, _duplicates = Event._ingest(partner, events)
        new._apply_now()

    @api.model
    def _shipsync_dead_manifest(self, job, outcome):
        rec = self._shipsync_of(job)
        if rec and rec.state == "queued":
            rec.write({"state": "failed",
                       "message": (outcome.error or outcome.error_class or "")[:250]})

