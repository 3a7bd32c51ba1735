import base64
import uuid
from datetime import timedelta

from odoo import _, api, fields, models

from shipsync import catalogue as cat

LABEL_MIME_EXT = {"PDF": "pdf", "ZPL": "zpl", "PNG": "png", "EPL2": "epl"}


class StockPicking(models.Model):
    _name = "stock.picking"
    # checks before booking (customs, address): stock_picking_checks.py
    _inherit = ["stock.picking", "shipment.sync.picking.checks"]

    shipsync_shipment_ref = fields.Char(
        "Carrier shipment", copy=False, readonly=True,
        help="The carrier's shipment id(s), comma-separated (one per package).")
    shipsync_booking_count = fields.Integer(
        copy=False, readonly=True, help="Cancelled bookings: part of the idempotency key.")
    shipsync_label_state = fields.Selection(
        [("none", "No label"), ("queued", "Requested"), ("done", "Label issued"),
         ("failed", "Failed"), ("cancelled", "Cancelled")],
        "Label", default="none", copy=False, readonly=True)
    shipsync_currency_id = fields.Many2one("res.currency", "Carrier currency", copy=False,
                                           readonly=True)
    shipsync_quoted_price = fields.Monetary(
        "Quoted price", currency_field="shipsync_currency_id", copy=False, readonly=True,
        help="The rate the carrier quoted at booking, in its currency.")
    shipsync_charge = fields.Monetary(
        "Actual charge", currency_field="shipsync_currency_id", copy=False, readonly=True,
        help="What the carrier says it charges (fees, surcharges), in its currency.")
    shipsync_tracking_url = fields.Char("Carrier tracking page", copy=False, readonly=True)
    shipsync_parcel_ids = fields.One2many("shipment.sync.parcel", "picking_id", "Parcels")
    shipsync_freight_line_ids = fields.One2many("shipment.sync.freight.line", "picking_id",
                                                "Carrier invoice lines")
    shipsync_poll_next_at = fields.Datetime("Next tracking poll", copy=False, readonly=True,
                                            index=True)
    shipsync_poll_interval = fields.Float("Poll interval (s)", copy=False, readonly=True)

    # ------------------------------------------------------------------
    # booking
    # ------------------------------------------------------------------
    def send_to_shipper(self):
        self.ensure_one()
        carrier = self.carrier_id
        if carrier.delivery_type == "shipsync" and carrier.shipsync_mode == "async":
            # Validation never waits on the carrier: the outbox books it (customs data
            # and the address verdict are checked now, before anything is queued).
            self._shipsync_check_before_booking(carrier)
            job = carrier._shipsync_enqueue(self)
            self.message_post(body=_("Label requested from %(carrier)s in the background "
                                     "(outbox job %(job)s).", carrier=carrier.name,
                                     job=job.id))
            return None
        return super().send_to_shipper()

    # ------------------------------------------------------------------
    # the monitor's "Re-request label" remedy
    # ------------------------------------------------------------------
    def _shipsync_can_rebook(self, reason):
        # sla_breach: stuck without a label (the monitor's "packed but no label").
        return (reason in ("label_failed", "booking_rejected", "sla_breach")
                and self.carrier_id.delivery_type == "shipsync"
                and self.picking_type_code == "outgoing" and self.state == "done"
                and not self.carrier_tracking_ref)

    def _shipment_monitor_can_request_label(self, reason):
        return self._shipsync_can_rebook(reason) or super()._shipment_monitor_can_request_label(
            reason)

    def _shipment_monitor_request_label(self, reason):
        """Replay the failed booking job (its payload is read again from the
        transfer, so a corrected address is used), or book again at once."""
        if not self._shipsync_can_rebook(reason):
            return super()._shipment_monitor_request_label(reason)
        failed = self.sudo().shipment_job_ids.filtered(
            lambda j: j.operation == "create_shipment" and j.state in ("dead", "cancelled"))
        if failed:
            failed.action_replay()
        else:
            self.send_to_shipper()
        return True

    # ------------------------------------------------------------------
    # the monitor's address remedies (address_issue cards)
    # ------------------------------------------------------------------
    def _shipment_monitor_can_fix_address(self, reason):
        return (reason == "address_issue" and self.carrier_id.delivery_type == "shipsync"
                and not self.carrier_tracking_ref) \
            or super()._shipment_monitor_can_fix_address(reason)

    def _shipment_monitor_apply_address_suggestion(self):
        if self.shipsync_address_suggestion:
            return self.action_shipsync_apply_suggestion()
        return super()._shipment_monitor_apply_address_suggestion()

    def _shipment_monitor_confirm_address(self):
        if self.carrier_id.delivery_type == "shipsync":
            return self.action_shipsync_confirm_with_customer()
        return super()._shipment_monitor_confirm_address()

    def _shipsync_store_result(self, carrier, result, is_return=False):
        """Store a carrier booking: one attachment and parcel per label, the carrier
        references, quoted and actual price, and the ``label_created`` milestone.
        Returns the price to bill in the company currency (the actual charge when
        known, else the quote)."""
        self.ensure_one()
        self.env["shipment.sync.label"].sudo()._shipsync_link(
            carrier, (result.shipment_id or "").split(","), self)
        prefix = carrier.get_return_label_prefix() if is_return \
            else carrier._get_delivery_label_prefix()
        Attachment = self.env["ir.attachment"].sudo()
        Parcel = self.env["shipment.sync.parcel"].sudo()
        attachments = Attachment
        labels = {label.tracking_number: label for label in result.labels}
        for index, tracking in enumerate(result.tracking_numbers or
                                         [lbl.tracking_number for lbl in result.labels]):
            label = labels.get(tracking)
            attachment = Attachment
            if label is not None:
                ext = LABEL_MIME_EXT.get(label.label_format, "pdf")
                attachment = Attachment.create({
                    "name": f"{prefix}-{tracking or index + 1}.{ext}",
                    "datas": base64.b64encode(label.content), "mimetype": label.mime_type,
                    "res_model": "stock.picking", "res_id": self.id,
                    "description": label.package_reference or False,
                })
                attachments |= attachment
            Parcel.create({
                "picking_id": self.id, "carrier_id": carrier.id, "tracking_number": tracking,
                "package_name": label.package_reference if label else False,
                "attachment_id": attachment.id or False, "is_return": is_return,
                "shipment_ref": result.shipment_id.split(",")[index]
                if len(result.shipment_id.split(",")) > index else result.shipment_id,
                "tracking_url": result.tracking_url or False,
            })
        for document in result.documents:  # customs forms the carrier returned
            attachments |= Attachment.create({
                "name": document.file_name, "datas": base64.b64encode(document.content),
                "mimetype": document.mime_type, "res_model": "stock.picking",
                "res_id": self.id, "description": document.kind})
        currency = self.env["res.currency"].with_context(active_test=False).search(
            [("name", "=", result.currency)], limit=1) if result.currency else None
        currency = currency or self.company_id.currency_id
        vals = {"shipsync_label_state": "done"}
        if not is_return:
            vals.update({
                "shipsync_shipment_ref": result.shipment_id,
                "shipsync_currency_id": currency.id,
                "shipsync_quoted_price": float(result.price) if result.price is not None else 0,
                "shipsync_charge": float(result.charge if result.charge is not None
                                         else (result.price or 0)),
                "shipsync_tracking_url": result.tracking_url or False,
            })
        elif self.return_id:  # a return transfer: its own tracking drives it
            vals.update({"shipsync_shipment_ref": result.shipment_id,
                         "carrier_tracking_ref": ",".join(result.tracking_numbers) or False,
                         "shipsync_tracking_url": result.tracking_url or False})
        self.write(vals)
        if is_return:
            self.invalidate_recordset(["return_label_ids"])
        kind = _("Return label") if is_return else _("Label")
        self.message_post(
            body=_("%(kind)s issued by %(carrier)s: %(tracking)s", kind=kind,
                   carrier=carrier.name, tracking=", ".join(result.tracking_numbers) or "-"),
            attachment_ids=attachments.ids)
        if not is_return or self.return_id:
            self._shipment_internal_event(
                milestone="label_created",
                message=_("Booking accepted by %s", carrier.name))
        amount = result.charge if result.charge is not None else result.price
        tracking_numbers = list(result.tracking_numbers or
                                [lbl.tracking_number for lbl in result.labels])
        # The booking (its carrier reference, else its tracking numbers) names the
        # event: a replayed booking is not published twice.
        self.env["shipment.sync.subscription"]._outbox_publish_shipment_event(
            self, cat.LABEL_CREATED,
            key=(is_return, result.shipment_id or ",".join(tracking_numbers)),
            data={"carrier": carrier.name, "tracking_numbers": tracking_numbers,
                  "is_return": is_return,
                  "price": float(amount) if amount is not None else None,
                  "currency": result.currency or currency.name})
        return carrier._shipsync_convert(amount, result.currency, self.company_id) or 0.0

    def _shipsync_exception_event(self, reason, message):
        """Open a suite exception (``label_failed``, a freight variance...) that
        happened after everything already recorded for the transfer. The replay sorts
        by time then rank, and ledger times are whole seconds: an exception raised
        in the same second as the validation would otherwise sort before it and be
        resolved by it."""
        Event = self.env["shipment.sync.event"].sudo()
        now = fields.Datetime.now()
        rows = []
        for picking in self:
            last = max(picking.sudo().shipment_event_ids.mapped("occurred_at") or [now])
            rows.append({
                "direction": "internal", "partner_code": "odoo",
                "company_id": picking.company_id.id, "external_id": f"odoo:{uuid.uuid4().hex}",
                "state": "received", "received_at": now,
                "occurred_at": max(now, last + timedelta(seconds=1)) if last >= now else now,
                "exception_reason": reason, "is_mapped": True, "authoritative": True,
                "picking_id": picking.id, "correlation_id": picking.shipment_correlation_id,
                "picking_ref": picking.name, "message": (message or "")[:250],
            })
        Event._insert_rows(rows)
        Event.invalidate_model()
        self._shipment_apply_events()

    def _shipsync_set_tracking(self, tracking):
        """The tracking numbers of an asynchronous booking, as ``send_to_shipper``
        would have written them."""
        self.ensure_one()
        if not tracking:
            return
        if self.carrier_tracking_ref:
            if tracking not in self.carrier_tracking_ref:
                self.carrier_tracking_ref = f"{self.carrier_tracking_ref},{tracking}"
        else:
            self.carrier_tracking_ref = tracking

    def _shipsync_cancelled(self, carrier, result):
        self.ensure_one()
        self.shipsync_parcel_ids.filtered(lambda p: p.state == "active" and not p.is_return)\
            .write({"state": "cancelled"})
        self.write({"shipsync_shipment_ref": False, "shipsync_label_state": "cancelled",
                    "shipsync_booking_count": self.shipsync_booking_count + 1,
                    "shipsync_poll_next_at": False})
        self._shipment_internal_event(
            milestone="cancelled",
            message=_("Shipment cancelled at %(carrier)s (%(status)s)", carrier=carrier.name,
                      status=result.raw_status or "-"))

    # ------------------------------------------------------------------
    # returns: the return leg drives the return transfer and links back
    # ------------------------------------------------------------------
    def _shipment_on_milestone_change(self, old_milestone, final, news):
        res = super()._shipment_on_milestone_change(old_milestone, final, news)
        for picking in self.filtered("return_id"):
            if final.milestone in ("returning", "returned"):
                picking.return_id.message_post(body=_(
                    "Return %(ret)s: %(milestone)s", ret=picking.name,
                    milestone=dict(picking._fields["shipment_milestone"].selection).get(
                        final.milestone, final.milestone)))
        return res

    def _shipsync_is_return_leg(self):
        return bool(self.return_id)

    # ------------------------------------------------------------------
    # cash on delivery
    # ------------------------------------------------------------------
    shipsync_cod_amount = fields.Monetary(
        "COD amount", compute="_compute_shipsync_cod_amount", store=True, readonly=False,
        currency_field="shipsync_cod_currency_id", copy=False,
        help="Cash on delivery: what the carrier collects (the order total when the sale "
        "order is cash on delivery). Zero: no COD.")
    shipsync_cod_currency_id = fields.Many2one(
        "res.currency", compute="_compute_shipsync_cod_amount", store=True, readonly=False)
    shipsync_cod_line_ids = fields.One2many("shipment.sync.cod.line", "picking_id",
                                            "COD remittances", readonly=True)

    @api.depends("sale_id.shipsync_cod", "sale_id.amount_total")
    def _compute_shipsync_cod_amount(self):
        for picking in self:
            order = picking.sale_id
            cod = order.shipsync_cod and picking.picking_type_code == "outgoing"
            picking.shipsync_cod_amount = order.amount_total if cod else 0.0
            picking.shipsync_cod_currency_id = (order.currency_id if cod else False) \
                or picking.company_id.currency_id

    # ------------------------------------------------------------------
    # pickups and end-of-day manifests
    # ------------------------------------------------------------------
    def _shipment_handed_over_on_validation(self):
        carrier = self.carrier_id
        if carrier.delivery_type == "shipsync" and carrier.shipsync_manifest_handover:
            return False
        return super()._shipment_handed_over_on_validation()

    def _shipsync_manifest_action(self, records):
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "shipment_sync_carrier.shipment_sync_manifest_action")
        action["domain"] = [("id", "in", records.ids)]
        action["context"] = {}
        return action

    def action_shipsync_schedule_pickup(self):
        """Delivery list: a carrier pickup for the selected shipments (one per carrier)."""
        return self._shipsync_manifest_action(
            self.env["shipment.sync.manifest"]._shipsync_create_for(self, "pickup"))

    def action_shipsync_close_day(self):
        """Delivery list: close the day with a manifest (scan form) per carrier."""
        return self._shipsync_manifest_action(
            self.env["shipment.sync.manifest"]._shipsync_create_for(self, "manifest"))
