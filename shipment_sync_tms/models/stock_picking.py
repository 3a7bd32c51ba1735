import json
from decimal import Decimal

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from shipsync import freight
from shipsync.partners.tms import outbound as tms
from shipsync.tracking import tracking_keys

TMS_STATES = [
    ("none", "Not released"),
    ("released", "Released"),
    ("planned", "Planned"),
    ("assigned", "Carrier assigned"),
    ("rejected", "Rejected"),
    ("cancel_sent", "Cancellation sent"),
    ("cancelled", "Cancelled"),
]
#: TMS states of a plan the TMS holds: changes of the transfer are sent to it.
LIVE_PLAN = ("released", "planned", "assigned")
#: The key of the transfers to check for a plan change, in the cursor's precommit data.
_WATCH_KEY = "shipment_sync_tms.watch"
FREIGHT_STATES = [
    ("none", "No charges yet"),
    ("matched", "Matched"),
    ("variance", "Variance"),
    ("accepted", "Variance accepted"),
    ("unmatched", "No expected rate"),
]


def _address(partner):
    """The TMS's address: ``res.partner._shipsync_address`` (name, else display name;
    with the company)."""
    return partner._shipsync_address(name="name_or_display_name", company=True).to_dict()


class StockPicking(models.Model):
    _inherit = "stock.picking"

    tms_partner_id = fields.Many2one("shipment.sync.partner", "TMS partner", readonly=True,
                                     copy=False, index="btree_not_null")
    tms_state = fields.Selection(TMS_STATES, "TMS status", default="none", required=True,
                                 readonly=True, copy=False, index=True)
    tms_planning_ref = fields.Char("Planning reference", readonly=True, copy=False,
                                   index="btree_not_null")
    tms_service = fields.Char("TMS service", readonly=True, copy=False)
    tms_plan_version = fields.Integer(
        "Plan version", readonly=True, copy=False,
        help="Version of the plan last sent to the TMS: 1 for the release, one more for "
        "each revision and for the cancellation.")
    tms_plan_digest = fields.Char(readonly=True, copy=False,
                                  help="Digest of the plan last sent (a change is revised).")
    tms_charges_pending = fields.Text(
        "Charges waiting for a delivery method", readonly=True, copy=False,
        help="Final charges that arrived before any delivery method was assigned (JSON): "
        "booked and reconciled as soon as one is, by the TMS or by hand.")
    tms_freight_state = fields.Selection(
        FREIGHT_STATES, "Freight reconciliation", default="none", required=True,
        readonly=True, copy=False, index=True,
        help="Final freight charges of the TMS against the expected rate (the TMS quote, "
        "else the shipping cost computed in Odoo). A variance holds the customer invoice.")

    # ------------------------------------------------------------------
    # release
    # ------------------------------------------------------------------
    def _tms_plan(self, version=1):
        """The ``tms-plan-v1`` document of this transfer (plain values): the release,
        or the revision ``version``."""
        self.ensure_one()
        lines = []
        for move in self.move_ids.filtered(lambda m: m.state != "cancel"):
            product = move.product_id
            lines.append(tms.PlanLine(
                line_id=str(move.id), sku=product.default_code or product.barcode or
                f"product-{product.id}", description=(product.name or "")[:1000],
                quantity=Decimal(str(move.product_uom_qty)), uom=move.product_uom.name,
                weight_kg=Decimal(str(product.weight or 0)) * Decimal(
                    str(move.product_qty))))
        warehouse = self.picking_type_id.warehouse_id.partner_id or self.company_id.partner_id
        return tms.build_plan(
            plan_id=f"{self.shipment_correlation_id}", correlation_id=self.shipment_correlation_id,
            order_ref=self.name, ship_from=_address(warehouse), ship_to=_address(self.partner_id),
            requested_pickup_at=self.scheduled_date, requested_delivery_at=self.date_deadline,
            lines=lines, origin=self.origin or "", carrier_hint=self.carrier_id.name or "",
            version=version)

    def _tms_release(self):
        """Queue the plan release of these transfers (in the caller's transaction), once
        per transfer: the idempotency key is the transfer's."""
        Job = self.env["shipment.sync.job"].sudo()
        for picking in self:
            partner = picking.picking_type_id.tms_partner_id
            if not partner.active:
                continue
            plan = picking._tms_plan()
            picking.sudo().write({"tms_partner_id": partner.id, "tms_state": "released",
                                  "tms_plan_version": 1,
                                  "tms_plan_digest": tms.plan_digest(plan)})
            Job._enqueue(partner, tms.OPERATION, plan, picking=picking,
                         idempotency_key=f"tms-plan:{picking.id}")
            picking._shipment_internal_event(
                milestone="released", message=_("Released to %s for planning", partner.name))

    def action_tms_release(self):
        pickings = self.filtered(lambda p: p.picking_type_id.tms_partner_id
                                 and p.state not in ("draft", "cancel", "done"))
        if not pickings:
            raise UserError(_("None of these transfers has a TMS to plan it."))
        pickings._tms_release()
        return True

    # ------------------------------------------------------------------
    # revisions and cancellation
    # ------------------------------------------------------------------
    def _tms_watch(self):
        """Moves of these transfers changed: once the transaction's changes are all made
        (precommit), the released plans that differ are revised, the cancelled transfers
        cancelled at the TMS. One check per transfer and transaction, however many moves
        were written."""
        pickings = self.filtered(lambda p: p.tms_state in LIVE_PLAN)
        if not pickings:
            return
        precommit = self.env.cr.precommit
        watched = precommit.data.get(_WATCH_KEY)
        if watched is None:
            watched = precommit.data[_WATCH_KEY] = set()
            env = self.env
            precommit.add(lambda: env["stock.picking"].browse(
                sorted(precommit.data.get(_WATCH_KEY) or ()))._tms_send_changes())
        watched.update(pickings.ids)

    def _tms_send_changes(self):
        """Send what changed since the last plan document: a cancellation for a cancelled
        transfer, a revision (the next version) for a changed plan; nothing for a plan
        that is the one last sent (idempotent), a shipped transfer or a dead plan."""
        Job = self.env["shipment.sync.job"].sudo()
        for picking in self.sudo().exists():
            partner = picking.tms_partner_id
            if picking.tms_state not in LIVE_PLAN or not partner:
                continue
            version = picking.tms_plan_version + 1
            if picking.state == "cancel":
                Job._enqueue(partner, tms.CANCEL_OPERATION, tms.build_cancellation(
                    plan_id=picking.shipment_correlation_id,
                    correlation_id=picking.shipment_correlation_id, order_ref=picking.name,
                    version=version, reason=_("Transfer cancelled in Odoo")),
                    picking=picking, idempotency_key=f"tms-plan:{picking.id}:cancel")
                picking.write({"tms_state": "cancel_sent", "tms_plan_version": version})
                picking.message_post(body=_("Cancellation sent to %s.", partner.name))
                continue
            if picking.state == "done" or not picking.move_ids.filtered(
                    lambda m: m.state != "cancel"):
                continue
            plan = picking._tms_plan(version=version)
            digest = tms.plan_digest(plan)
            if digest == picking.tms_plan_digest:
                continue
            Job._enqueue(partner, tms.REVISE_OPERATION, plan, picking=picking,
                         idempotency_key=f"tms-plan:{picking.id}:v{version}")
            picking.write({"tms_plan_version": version, "tms_plan_digest": digest})
            picking.message_post(body=_("Plan revision %(version)s sent to %(tms)s.",
                                        version=version, tms=partner.name))

    # ------------------------------------------------------------------
    # updates (from the ledger: only new events get here)
    # ------------------------------------------------------------------
    def _tms_apply(self, payload, partner):
        """Apply one ``tms-update-v1`` payload that is not a milestone."""
        self.ensure_one()
        me = self.sudo()
        kind = payload["type"]
        if kind == "planned":
            me.write({"tms_planning_ref": payload["planning_ref"],
                      "tms_state": "planned" if me.tms_state in ("none", "released")
                      else me.tms_state})
        elif kind == "carrier_assigned":
            me._tms_assign(payload, partner)
        elif kind == "rejected":
            me.tms_state = "rejected"
            me._shipsync_exception_event("booking_rejected", _(
                "%(tms)s rejected the plan: %(reason)s", tms=partner.name,
                reason=payload["reason"])[:250])
        elif kind == "freight_charges":
            me._tms_charges(payload, partner)

    def _tms_assign(self, payload, partner):
        carrier_data = payload["carrier"]
        vals = {"tms_state": "assigned", "tms_planning_ref": payload["planning_ref"],
                "tms_service": carrier_data.get("service") or False}
        carrier = self.env["delivery.carrier"].search([
            ("tms_carrier_code", "=", carrier_data["code"]),
            ("company_id", "in", (False, self.company_id.id))], limit=1)
        if carrier:
            vals["carrier_id"] = carrier.id
        if payload.get("tracking_number") and not tracking_keys(self.carrier_tracking_ref):
            vals["carrier_tracking_ref"] = payload["tracking_number"]
        if payload.get("quoted_amount"):
            vals["shipsync_quoted_price"] = float(Decimal(payload["quoted_amount"]))
            vals["shipsync_currency_id"] = self._tms_currency(payload).id
        self.write(vals)  # a delivery method set: charges kept waiting for it are booked
        self.message_post(body=_(
            "%(tms)s assigned %(carrier)s%(service)s (planning %(ref)s)%(missing)s",
            tms=partner.name, carrier=carrier_data.get("name") or carrier_data["code"],
            service=f" / {carrier_data['service']}" if carrier_data.get("service") else "",
            ref=payload["planning_ref"],
            missing="" if carrier else _(": no delivery method has the TMS carrier code %s",
                                         carrier_data["code"])))

    def _tms_currency(self, payload):
        code = payload.get("currency")
        currency = self.env["res.currency"].with_context(active_test=False).search(
            [("name", "=", code)], limit=1) if code else self.env["res.currency"]
        return currency or self.company_id.currency_id

    def _tms_expected(self):
        """The expected rate: the TMS quote, else the shipping cost computed in Odoo."""
        if self.shipsync_quoted_price:
            return Decimal(str(self.shipsync_quoted_price))
        if self.carrier_price:
            return Decimal(str(self.carrier_price))
        return None

    def _tms_charges(self, payload, partner):
        total = Decimal(payload["total"]).quantize(Decimal("0.01"))
        currency = self._tms_currency(payload)
        tracking = payload.get("tracking_number") or self.carrier_tracking_ref or \
            self.tms_planning_ref or self.name
        Line = self.env["shipment.sync.freight.line"].sudo()
        invoice_ref = payload.get("invoice_ref") or f"{partner.code}:{payload['event_id']}"
        carrier = self.carrier_id
        self.write({"shipsync_charge": float(total), "shipsync_currency_id": currency.id})
        if not carrier:
            # Out of order: the assignment (carrier and quote) is still to come.
            self.tms_charges_pending = json.dumps(dict(payload), sort_keys=True)
            self.message_post(body=_(
                "%(tms)s charged %(total)s %(currency)s; reconciled once a carrier is "
                "assigned.", tms=partner.name, total=total, currency=currency.name))
            return
        seen = Line.search_count([
            ("carrier_id", "=", carrier.id), ("invoice_ref", "=", invoice_ref),
            ("tracking_number", "=", tracking), ("amount", "=", float(total))])
        expected = self._tms_expected()
        state, variance = freight.classify(
            expected, total, Decimal(str(carrier.shipsync_tolerance_amount or 0)),
            Decimal(str(carrier.shipsync_tolerance_percent or 0)))
        if seen:
            state = "duplicate"
        line = Line.create({
            "carrier_id": carrier.id, "company_id": self.company_id.id,
            "import_ref": f"tms:{partner.code}", "invoice_ref": invoice_ref,
            "invoice_date": fields.Date.context_today(self), "tracking_number": tracking,
            "description": ", ".join(f"{c['code']} {c['amount']}" for c in payload["charges"])
            [:250], "picking_id": self.id, "currency_id": currency.id, "amount": float(total),
            "expected_amount": float(expected) if expected is not None else 0.0,
            "variance": float(variance) if variance is not None else 0.0, "state": state})
        if state == "duplicate":
            return
        previous = self.tms_freight_state
        self.tms_freight_state = state
        # A variance opens a freight_variance exception beside the milestone track (a
        # workbench card with the monitor) and holds the customer invoice; corrected
        # charges that match close it.
        line._open_exception(partner=partner)
        if previous == "variance" and state != "variance":
            self._shipment_side_exception_done("freight_variance", _(
                "%(tms)s corrected its charges to %(total)s %(currency)s.", tms=partner.name,
                total=total, currency=currency.name))

    def write(self, vals):
        res = super().write(vals)
        if vals.get("carrier_id"):
            # Final charges that came before any delivery method are booked on the one
            # now set (by the TMS's assignment, or by hand).
            for picking in self.filtered("tms_charges_pending"):
                picking._tms_book_pending()
        return res

    def _tms_book_pending(self):
        me = self.sudo()
        pending = json.loads(me.tms_charges_pending)
        me.tms_charges_pending = False
        me._tms_charges(pending, me.tms_partner_id)

    def action_tms_accept_variance(self):
        """A person accepts the freight variance: the customer invoice may be created."""
        if not self.env.user.has_group("shipment_sync.group_manager"):
            raise UserError(_("Only a Shipment Sync administrator may accept a freight "
                              "variance."))
        held = self.filtered(lambda p: p.tms_freight_state == "variance")
        held.sudo().tms_freight_state = "accepted"
        held._shipment_side_exception_done("freight_variance", _(
            "Freight variance accepted by %s.", self.env.user.name))
        for picking in held:
            picking.message_post(body=_("Freight variance accepted by %s.",
                                        self.env.user.name))
        return True

    @api.model
    def _tms_find(self, partner, correlation_id):
        return self.sudo().search([("shipment_correlation_id", "=", correlation_id),
                                   ("company_id", "=", partner.company_id.id)], limit=1)
