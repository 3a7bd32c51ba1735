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
]
FREIGHT_STATES = [
    ("none", "No charges yet"),
    ("matched", "Matched"),
    ("variance", "Variance"),
    ("accepted", "Variance accepted"),
    ("unmatched", "No expected rate"),
]


def _address(partner):
    return {
        "name": partner.name or partner.display_name or "", "company":
        partner.commercial_company_name or "", "street": partner.street or "",
        "street2": partner.street2 or "", "city": partner.city or "", "zip": partner.zip or "",
        "state_code": partner.state_id.code or "", "country_code": partner.country_id.code or "",
        "phone": partner.phone or "", "email": partner.email or "",
    }


class StockPicking(models.Model):
    _inherit = "stock.picking"

    tms_partner_id = fields.Many2one("shipment.sync.partner", "TMS partner", readonly=True,
                                     copy=False, index="btree_not_null")
    tms_state = fields.Selection(TMS_STATES, "TMS status", default="none", required=True,
                                 readonly=True, copy=False, index=True)
    tms_planning_ref = fields.Char("Planning reference", readonly=True, copy=False,
                                   index="btree_not_null")
    tms_service = fields.Char("TMS service", readonly=True, copy=False)
    tms_charges_pending = fields.Text(
        "Charges waiting for the carrier", readonly=True, copy=False,
        help="Final charges that arrived before the carrier assignment (JSON): reconciled "
        "as soon as the carrier is known.")
    tms_freight_state = fields.Selection(
        FREIGHT_STATES, "Freight reconciliation", default="none", required=True,
        readonly=True, copy=False, index=True,
        help="Final freight charges of the TMS against the expected rate (the TMS quote, "
        "else the shipping cost computed in Odoo). A variance holds the customer invoice.")

    # ------------------------------------------------------------------
    # release
    # ------------------------------------------------------------------
    def _tms_plan(self):
        """The ``tms-plan-v1`` document of this transfer (plain values)."""
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
            lines=lines, origin=self.origin or "", carrier_hint=self.carrier_id.name or "")

    def _tms_release(self):
        """Queue the plan release of these transfers (in the caller's transaction), once
        per transfer: the idempotency key is the transfer's."""
        Job = self.env["shipment.sync.job"].sudo()
        for picking in self:
            partner = picking.picking_type_id.tms_partner_id
            if not partner.active:
                continue
            picking.sudo().write({"tms_partner_id": partner.id, "tms_state": "released"})
            Job._enqueue(partner, tms.OPERATION, picking._tms_plan(), picking=picking,
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
        self.write(vals)
        if carrier and self.tms_charges_pending:
            pending = json.loads(self.tms_charges_pending)
            self.tms_charges_pending = False
            self._tms_charges(pending, partner)
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
        self.tms_freight_state = state
        line._open_exception()
        if state == "variance":
            # The ledger refuses exceptions once a transfer is delivered (terminal): the
            # variance gets a to-do of its own, and holds the customer invoice.
            self.activity_schedule(
                "mail.mail_activity_data_todo",
                summary=_("Freight variance: %s", self.name),
                note=_("%(tms)s charged %(total)s, expected %(expected)s.", tms=partner.name,
                       total=total, expected=expected),
                user_id=self._shipment_exception_responsible(partner).id)

    def action_tms_accept_variance(self):
        """A person accepts the freight variance: the customer invoice may be created."""
        if not self.env.user.has_group("shipment_sync.group_manager"):
            raise UserError(_("Only a Shipment Sync administrator may accept a freight "
                              "variance."))
        for picking in self.filtered(lambda p: p.tms_freight_state == "variance"):
            picking.tms_freight_state = "accepted"
            picking.activity_feedback(["mail.mail_activity_data_todo"], feedback=_(
                "Freight variance accepted by %s.", self.env.user.name))
            if picking.shipment_exception_state == "open":
                picking.action_shipment_resolve_exception()
        return True

    @api.model
    def _tms_find(self, partner, correlation_id):
        return self.sudo().search([("shipment_correlation_id", "=", correlation_id),
                                   ("company_id", "=", partner.company_id.id)], limit=1)
