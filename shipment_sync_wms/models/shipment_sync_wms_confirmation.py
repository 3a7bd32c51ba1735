import json
import logging
from decimal import Decimal

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from shipsync.wms.apply import APPLIED_KINDS, Mismatch, plan_confirmation
from shipsync.wms.messages import CONFIRMATION_KINDS, Confirmation

_logger = logging.getLogger(__name__)


class ShipmentSyncWmsConfirmation(models.Model):
    """One WMS confirmation (pick, pack, ship, return...) as received, beside its
    ledger event, and what became of it. Applied whole or not at all."""

    _name = "shipment.sync.wms.confirmation"
    _description = "WMS Confirmation"
    _order = "occurred_at desc, id desc"

    name = fields.Char("Message ID", required=True, readonly=True, index=True)
    partner_id = fields.Many2one("shipment.sync.partner", required=True, readonly=True,
                                 index=True, ondelete="restrict")
    company_id = fields.Many2one("res.company", readonly=True, index=True)
    event_id = fields.Many2one("shipment.sync.event", readonly=True, index=True,
                               ondelete="set null")
    picking_id = fields.Many2one("stock.picking", readonly=True, index=True,
                                 ondelete="set null")
    return_picking_id = fields.Many2one("stock.picking", "Return receipt", readonly=True,
                                        ondelete="set null")
    file_id = fields.Many2one("shipment.sync.wms.file", readonly=True,
                              ondelete="set null")
    kind = fields.Selection([(k, k.replace("_", " ").capitalize()) for k in CONFIRMATION_KINDS],
                            required=True, readonly=True, index=True)
    order_ref = fields.Char(readonly=True, index=True)
    occurred_at = fields.Datetime(readonly=True)
    condition_code = fields.Char(readonly=True)
    payload = fields.Text(readonly=True, help="The confirmation as received (JSON).")
    state = fields.Selection(
        [("pending", "Pending"), ("applied", "Applied"), ("rejected", "Rejected (mismatch)"),
         ("ignored", "Ignored")],
        default="pending", required=True, readonly=True, index=True)
    error = fields.Text("Mismatch", readonly=True)
    applied_at = fields.Datetime(readonly=True)

    # ------------------------------------------------------------------
    # creation from ledger events
    # ------------------------------------------------------------------
    @api.model
    def _from_events(self, partner, events, canonical_by_id):
        vals = []
        for event in events:
            ev = canonical_by_id.get(event.external_id)
            if not ev:
                continue
            payload = dict(ev.payload)
            vals.append({
                "name": payload["message_id"], "partner_id": partner.id,
                "company_id": partner.company_id.id, "event_id": event.id,
                "kind": payload["kind"], "order_ref": payload["order_ref"],
                "occurred_at": event.occurred_at, "payload": json.dumps(payload),
                "condition_code": payload.get("condition_code") or False,
            })
        return self.create(vals)

    def _confirmation(self):
        self.ensure_one()
        return Confirmation.from_dict(json.loads(self.payload))

    # ------------------------------------------------------------------
    # applying
    # ------------------------------------------------------------------
    def _apply_pending(self):
        """Apply pending confirmations whose event found its picking, oldest first."""
        todo = self.filtered(lambda c: c.state == "pending" and c.event_id.picking_id)
        for conf in todo.sorted(lambda c: (c.occurred_at or fields.Datetime.now(), c.id)):
            conf._apply_one()

    def _apply_one(self):
        self.ensure_one()
        picking = self.event_id.picking_id.with_context(wms_applying=True)
        handler = getattr(self, f"_apply_{self.kind}", None)
        try:
            with self.env.cr.savepoint():
                result = handler(picking) if handler else None
        except (UserError, ValueError) as exc:
            result = Mismatch((str(exc.args[0] if exc.args else exc),))
        except Exception as exc:  # noqa: BLE001 - never a half-applied confirmation
            # Rolled back with its savepoint; kept as a rejection a person can
            # replay rather than failing the whole request or cron run.
            _logger.warning("WMS confirmation %s could not be applied", self.name,
                            exc_info=True)
            result = Mismatch((_("could not be applied: %s", exc),))
        if isinstance(result, Mismatch):
            self._reject(picking, str(result))
            return False
        self.write({"state": "applied", "applied_at": fields.Datetime.now(), "error": False,
                    "picking_id": picking.id})
        return True

    def _reject(self, picking, reason):
        """Nothing of the confirmation was applied: record why, keep its event out
        of the milestone replay, and open a wms_mismatch exception."""
        self.write({"state": "rejected", "error": reason, "picking_id": picking.id})
        self.event_id.write({"state": "error", "error_code": "wms_mismatch",
                             "error_detail": reason})
        picking.message_post(body=_("WMS confirmation %(name)s rejected: %(reason)s",
                                    name=self.name, reason=reason))
        picking._wms_raise_mismatch(_("%(kind)s %(name)s: %(reason)s", kind=self.kind,
                                      name=self.name, reason=reason))

    # kinds that only move the milestone (through their ledger event)
    def _apply_pick_confirmed(self, picking):
        return None

    def _apply_pack_confirmed(self, picking):
        return None

    def _apply_release_ack(self, picking):
        if picking.wms_state in ("none", "pending"):
            picking.wms_state = "released"
        return None

    def _apply_cancel_ack(self, picking):
        picking._wms_cancel_confirmed()
        return None

    def _apply_cancel_refused(self, picking):
        picking._wms_cancel_refused(self._confirmation().reason or _("refused by the WMS"))
        return None

    def _apply_ship_confirmed(self, picking):
        conf = self._confirmation()
        values, lots = picking._wms_picking_values(conf)
        plan = plan_confirmation(conf, values, Decimal(str(self.partner_id.wms_qty_tolerance)))
        if isinstance(plan, Mismatch):
            return plan
        picking._wms_apply_plan(plan, lots)
        return None

    def _apply_return_received(self, picking):
        conf = self._confirmation()
        values, lots = picking._wms_picking_values(conf, for_return=True)
        plan = plan_confirmation(conf, values, 0)
        if isinstance(plan, Mismatch):
            return plan
        self.return_picking_id = picking._wms_receive_return(plan, conf.condition_code, lots)
        return None

    # ------------------------------------------------------------------
    # actions
    # ------------------------------------------------------------------
    def action_replay(self):
        """Apply rejected confirmations again (after the data was fixed)."""
        rejected = self.filtered(lambda c: c.state == "rejected")
        if not rejected:
            raise UserError(_("Only rejected confirmations can be replayed."))
        rejected.write({"state": "pending", "error": False})
        rejected.event_id.filtered(lambda e: e.state == "error").write(
            {"state": "received", "error_code": False, "error_detail": False})
        rejected.event_id.with_user(self.env.ref("base.user_root"))._apply_now()
        return True

    def action_view_picking(self):
        self.ensure_one()
        return {"type": "ir.actions.act_window", "res_model": "stock.picking",
                "res_id": self.picking_id.id, "view_mode": "form"}


APPLIED = APPLIED_KINDS
