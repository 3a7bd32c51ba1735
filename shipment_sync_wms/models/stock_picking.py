from datetime import time as dtime
from decimal import Decimal

import pytz

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_compare

from shipsync import catalogue as cat
from shipsync import milestones as ms
from shipsync.wms.apply import MoveValues, PickingValues, build_release

WMS_STATES = [
    ("none", "Not released"),
    ("pending", "Release queued"),
    ("released", "Released"),
    ("cancel_pending", "Cancellation requested"),
    ("cancel_refused", "Cancellation refused"),
    ("cancelled", "Cancelled"),
    ("shipped", "Shipped"),
]
RELEASABLE_STATES = ("confirmed", "waiting", "assigned")


class StockPicking(models.Model):
    _inherit = "stock.picking"

    wms_partner_id = fields.Many2one(
        "shipment.sync.partner", "WMS / 3PL", compute="_compute_wms_partner_id", store=True,
        readonly=False, index=True, copy=False,
        help="The warehouse system executing this transfer (from its operation type).")
    wms_state = fields.Selection(WMS_STATES, "WMS status", default="none", required=True,
                                 copy=False, readonly=True, index=True, tracking=True)
    wms_revision = fields.Integer("WMS revision", copy=False, readonly=True)
    wms_released_at = fields.Datetime("Released to WMS at", copy=False, readonly=True)
    wms_late_release = fields.Boolean(
        "Released after cut-off", copy=False, readonly=True, index=True,
        help="Released after the operation type's cut-off time.")
    wms_condition_code = fields.Char("Return condition", copy=False, readonly=True)
    wms_confirmation_ids = fields.One2many("shipment.sync.wms.confirmation", "picking_id",
                                           "WMS confirmations",
                                           groups="shipment_sync.group_user")
    wms_confirmation_count = fields.Integer(compute="_compute_wms_confirmation_count")

    @api.depends("picking_type_id")
    def _compute_wms_partner_id(self):
        for picking in self:
            # Once released, the transfer stays with the WMS that holds it.
            if picking.wms_state == "none":
                picking.wms_partner_id = picking.picking_type_id._wms_partner()
            else:
                picking.wms_partner_id = picking.wms_partner_id

    def _compute_wms_confirmation_count(self):
        groups = self.env["shipment.sync.wms.confirmation"].sudo()._read_group(
            [("picking_id", "in", self.ids)], ["picking_id"], ["__count"])
        counts = {picking.id: count for picking, count in groups}
        for picking in self:
            picking.wms_confirmation_count = counts.get(picking.id, 0)

    # ------------------------------------------------------------------
    # automatic release
    # ------------------------------------------------------------------
    def action_confirm(self):
        res = super().action_confirm()
        self._wms_auto_release()
        return res

    def action_assign(self):
        res = super().action_assign()
        self._wms_auto_release()
        return res

    def _wms_auto_release(self):
        todo = self.filtered(lambda p: p.wms_partner_id and p.wms_state == "none"
                             and p.picking_type_code == "outgoing"
                             and p.state in RELEASABLE_STATES)
        on_confirm = todo.filtered(lambda p: p.picking_type_id.wms_release_policy == "confirm")
        when_ready = todo.filtered(lambda p: p.picking_type_id.wms_release_policy == "ready"
                                   and p.state == "assigned")
        (on_confirm | when_ready)._wms_release()

    # ------------------------------------------------------------------
    # release, update, cancel
    # ------------------------------------------------------------------
    def action_wms_release(self):
        """Release to WMS (button, and list action on many transfers)."""
        blocked = self.filtered(lambda p: not p.wms_partner_id or p.state not in RELEASABLE_STATES
                                or p.wms_state not in ("none", "cancelled"))
        if blocked and len(self) == 1:
            raise UserError(_(
                "%(name)s cannot be released: it needs a WMS partner (operation type or "
                "warehouse), must be waiting or ready, and must not be released already.",
                name=blocked.name))
        (self - blocked)._wms_release()
        return True

    def _wms_release(self, now=None):
        now = now or fields.Datetime.now()
        Job = self.env["shipment.sync.job"].sudo()
        for picking in self:
            revision = picking.wms_revision + 1
            picking.write({"wms_revision": revision, "wms_state": "pending",
                           "wms_released_at": now,
                           "wms_late_release": picking._wms_is_late(now)})
            Job._enqueue(picking.wms_partner_id, "release_order",
                         picking._wms_release_payload("create", revision), picking=picking,
                         idempotency_key=f"wms:{picking.id}:r{revision}:create")
            if picking.wms_late_release:
                picking.message_post(body=_("Released to the WMS after the cut-off time."))

    # ------------------------------------------------------------------
    # the monitor's "Re-release to WMS" remedy
    # ------------------------------------------------------------------
    def _wms_failed_release_jobs(self):
        return self.sudo().shipment_job_ids.filtered(
            lambda j: j.operation in ("release_order", "update_order")
            and j.state in ("dead", "cancelled"))

    def _shipment_monitor_can_release_wms(self, reason):
        return (reason == "sync_failed" and bool(self._wms_failed_release_jobs())) \
            or super()._shipment_monitor_can_release_wms(reason)

    def _shipment_monitor_release_wms(self, reason):
        """Replay the release (or update) that went dead, same idempotency key."""
        failed = self._wms_failed_release_jobs()
        if reason != "sync_failed" or not failed:
            return super()._shipment_monitor_release_wms(reason)
        failed.action_replay()
        return True

    def _wms_is_late(self, now):
        self.ensure_one()
        cutoff = self.picking_type_id.wms_cutoff_hour
        if not cutoff:
            return False
        tz = pytz.timezone(self.company_id.partner_id.tz or self.env.user.tz or "UTC")
        local = pytz.utc.localize(now).astimezone(tz)
        hours, minutes = int(cutoff), round((cutoff % 1) * 60)
        return local.time() > dtime(min(hours, 23), min(minutes, 59))

    def _wms_send_update(self):
        """Quantities or lines changed after release: send the new revision."""
        Job = self.env["shipment.sync.job"].sudo()
        for picking in self.filtered(lambda p: p.wms_state in ("pending", "released")):
            revision = picking.wms_revision + 1
            picking.wms_revision = revision
            Job._enqueue(picking.wms_partner_id, "update_order",
                         picking._wms_release_payload("update", revision), picking=picking,
                         idempotency_key=f"wms:{picking.id}:r{revision}:update")

    def action_cancel(self):
        """A transfer the WMS holds is only cancelled once the WMS agrees."""
        if self.env.context.get("wms_cancel_confirmed"):
            return super().action_cancel()
        held = self.filtered(lambda p: p.wms_state in ("pending", "released", "cancel_refused")
                             and p.state not in ("done", "cancel"))
        Job = self.env["shipment.sync.job"].sudo()
        for picking in held:
            revision = picking.wms_revision + 1
            picking.write({"wms_revision": revision, "wms_state": "cancel_pending"})
            Job._enqueue(picking.wms_partner_id, "cancel_order",
                         picking._wms_release_payload("cancel", revision), picking=picking,
                         idempotency_key=f"wms:{picking.id}:r{revision}:cancel")
            picking.message_post(body=_(
                "Cancellation requested from %s; the transfer is cancelled when it agrees.",
                picking.wms_partner_id.name))
        rest = self - held
        return super(StockPicking, rest).action_cancel() if rest else True

    def _wms_cancel_confirmed(self):
        for picking in self.filtered(lambda p: p.state not in ("done", "cancel")):
            picking.with_context(wms_cancel_confirmed=True).action_cancel()
        self.write({"wms_state": "cancelled"})

    def _wms_cancel_refused(self, reason):
        self.write({"wms_state": "cancel_refused"})
        for picking in self:
            picking.message_post(body=_("The WMS refused the cancellation: %s", reason))
            picking._wms_raise_mismatch(_("Cancellation refused by the WMS: %s", reason))

    def _wms_raise_mismatch(self, message):
        """Open a wms_mismatch exception. The event carries the current milestone
        (unchanged), so that an Odoo event of the same second never resolves it."""
        for picking in self:
            current = picking.shipment_milestone
            picking._shipment_internal_event(
                milestone=None if current in ms.TERMINAL else current,
                exception_reason="wms_mismatch", message=message[:500])
            # The mismatch (what the warehouse said) names the event: the same
            # confirmation refused again is not published twice.
            self.env["shipment.sync.subscription"]._outbox_publish_shipment_event(
                picking, cat.WMS_MISMATCH, key=(str(message),),
                data={"message": str(message), "milestone": picking.shipment_milestone})

    # ------------------------------------------------------------------
    # plain values for shipsync
    # ------------------------------------------------------------------
    def _wms_product_code(self, product):
        return product.default_code or f"ID{product.id}"

    def _wms_release_payload(self, action, revision):
        self.ensure_one()
        moves = tuple(
            MoveValues(
                move.id, self._wms_product_code(move.product_id),
                Decimal(str(move.product_uom_qty)), move.product_uom._wms_unit_code(),
                move.product_id.barcode or "", move.product_id.tracking,
                tuple(move.move_line_ids.lot_id.mapped("name")),
            )
            for move in self.move_ids.filtered(lambda m: m.state != "cancel")
        )
        values = PickingValues(self.name, self.state, moves, self.shipment_correlation_id or "")
        ship_to = self.partner_id
        carrier = self._shipment_carrier()
        order = build_release(
            values, revision=revision, action=action,
            warehouse_code=self.picking_type_id.warehouse_id.code or "",
            ship_to={
                "name": ship_to.display_name or "", "street": ship_to.street or "",
                "street2": ship_to.street2 or "", "city": ship_to.city or "",
                "zip": ship_to.zip or "", "state_code": ship_to.state_id.code or "",
                "country_code": ship_to.country_id.code or "", "phone": ship_to.phone or "",
                "email": ship_to.email or "",
            },
            carrier=carrier.name if carrier else "",
            service=carrier.delivery_type if carrier else "",
            requested_date=self.scheduled_date.date() if self.scheduled_date else None,
        )
        return order.to_dict()

    def _wms_lots(self, names, products):
        """The lots named ``names`` of ``products`` in this transfer's company,
        as {(product id, lot name): lot}."""
        if not names:
            return {}
        lots = self.env["stock.lot"].search([
            ("name", "in", list(names)), ("product_id", "in", products.ids),
            ("company_id", "in", [self.company_id.id, False])])
        return {(lot.product_id.id, lot.name): lot for lot in lots}

    def _wms_picking_values(self, conf, for_return=False):
        """This picking as shipsync values, with the products and lots the
        confirmation names looked up in Odoo; and those lots (see _wms_lots),
        for applying the plan without looking them up again."""
        self.ensure_one()
        codes = {line.product_code for line in conf.lines}
        lot_names = {lot for line in conf.lines for lot, _q in line.lots}
        Product = self.env["product.product"].with_context(active_test=False)
        products = Product.search([("default_code", "in", list(codes))]) if codes else Product
        code_of = {p: self._wms_product_code(p) for p in self.move_ids.product_id | products}
        known_lots = {}
        lots = self._wms_lots(lot_names, Product.union(*code_of))
        for lot in lots.values():
            known_lots.setdefault(code_of[lot.product_id], set()).add(lot.name)
        if for_return:
            moves = tuple(
                MoveValues(move.id, code_of[move.product_id], Decimal(str(move.quantity)),
                           move.product_uom._wms_unit_code(), tracking=move.product_id.tracking)
                for move in self.move_ids.filtered(lambda m: m.state == "done"))
            state = "assigned" if self.state == "done" else self.state
        else:
            moves = tuple(
                MoveValues(move.id, code_of[move.product_id], Decimal(str(move.product_uom_qty)),
                           move.product_uom._wms_unit_code(), tracking=move.product_id.tracking)
                for move in self.move_ids.filtered(lambda m: m.state != "cancel"))
            state = self.state
        return PickingValues(
            name=self.name, state=state, moves=moves,
            correlation_id=self.shipment_correlation_id or "",
            known_lots={k: frozenset(v) for k, v in known_lots.items()},
            known_products=frozenset(code_of.values()),
            known_units=self.env["uom.uom"]._wms_known_unit_codes(),
        ), lots

    # ------------------------------------------------------------------
    # applying a ship confirmation / a return receipt
    # ------------------------------------------------------------------
    def _wms_packages(self, plan):
        Package = self.env["stock.quant.package"]
        packages = {}
        for pkg in plan.packages:
            packages[pkg.package_ref] = Package.create({
                "name": pkg.package_ref, "wms_tracking_ref": pkg.tracking_number or False,
                "wms_carrier": pkg.carrier or False, "company_id": self.company_id.id})
        return packages

    def _wms_set_move_lines(self, plan, moves, packages=None, lots=None):
        """Make the move lines of ``moves`` the plan's allocations, picked.

        A reserved line that already is an allocation (same lot, quantity and
        unit, between the move's own locations, no source package, owner or
        destination package yet) is kept: it is only marked picked and packed,
        in one write per package, so its reservation stands and no quant is
        unreserved and reserved again. Every other line is replaced. ``lots``:
        the lots the plan names (see _wms_lots), looked up when not given."""
        packages = packages or {}
        Lot, MoveLine = self.env["stock.lot"], self.env["stock.move.line"]
        if lots is None:
            lots = self._wms_lots({a.lot for mp in plan.moves for a in mp.allocations if a.lot},
                                  moves.product_id)
        by_id = {m.id: m for m in moves}
        kept, vals = {}, []
        for move_plan in plan.moves:
            move = by_id[move_plan.move_id]
            reusable = [ml for ml in move.move_line_ids
                        if ml.location_id == move.location_id
                        and ml.location_dest_id == move.location_dest_id
                        and ml.product_uom_id == move.product_uom
                        and not (ml.package_id or ml.owner_id or ml.result_package_id)]
            for alloc in move_plan.allocations:
                package = packages.get(alloc.package_ref)
                lot = lots[(move.product_id.id, alloc.lot)] if alloc.lot else Lot
                quantity = float(alloc.quantity)
                line = next((ml for ml in reusable if ml.lot_id == lot and not float_compare(
                    ml.quantity, quantity, precision_rounding=move.product_uom.rounding)), None)
                if line:
                    reusable.remove(line)
                    kept.setdefault(package.id if package else False, []).append(line.id)
                    continue
                vals.append({
                    "move_id": move.id, "picking_id": move.picking_id.id,
                    "product_id": move.product_id.id, "product_uom_id": move.product_uom.id,
                    "location_id": move.location_id.id,
                    "location_dest_id": move.location_dest_id.id,
                    "quantity": quantity, "picked": True, "lot_id": lot.id,
                    "result_package_id": package.id if package else False,
                })
        (moves.move_line_ids - MoveLine.browse([i for ids in kept.values() for i in ids])
         ).unlink()
        for package_id, ids in kept.items():
            MoveLine.browse(ids).write({"picked": True, "result_package_id": package_id})
        MoveLine.create(vals)
        for move_plan in plan.moves:
            if not move_plan.done:
                by_id[move_plan.move_id].picked = False

    def _wms_apply_plan(self, plan, lots=None):
        """Done quantities, lots, packages and tracking numbers, then validate;
        a partial shipment makes a backorder unless the operation type says never."""
        self.ensure_one()
        packages = self._wms_packages(plan)
        self._wms_set_move_lines(plan, self.move_ids.filtered(lambda m: m.state != "cancel"),
                                 packages, lots)
        vals = {"wms_state": "shipped"}
        if plan.tracking_ref:
            vals["carrier_tracking_ref"] = plan.tracking_ref
        self.write(vals)
        no_backorder = self.picking_type_id.create_backorder == "never"
        res = self.with_context(
            skip_backorder=True, skip_sms=True, skip_sanity_check=False,
            picking_ids_not_to_backorder=self.ids if no_backorder else [],
        ).button_validate()
        if self.state != "done":
            raise UserError(_("%(name)s could not be validated (%(res)s).",
                              name=self.name, res=res))
        backorder = self.backorder_ids
        if backorder:
            backorder.write({"wms_state": "released", "wms_revision": self.wms_revision})
        return True

    def _wms_receive_return(self, plan, condition_code, lots=None):
        """Receive the return of this delivery: an open return receipt if there is
        one, else a new one, with the confirmed quantities and lots."""
        self.ensure_one()
        returns = self.return_ids.filtered(lambda p: p.state not in ("done", "cancel"))
        if not returns:
            wizard = self.env["stock.return.picking"].with_context(
                active_id=self.id, active_ids=self.ids, active_model="stock.picking",
            ).create({"picking_id": self.id})
            done = {mp.move_id: mp.done for mp in plan.moves}
            for line in wizard.product_return_moves:
                line.quantity = float(done.get(line.move_id.id, 0))
            returns = wizard._create_return()
        returned = returns[:1]
        returned.action_confirm()
        by_origin = {m.origin_returned_move_id.id: m for m in returned.move_ids}
        remapped = type(plan)(
            moves=tuple(
                mp.__class__(by_origin[mp.move_id].id, mp.product_code, mp.ordered, mp.done,
                             mp.allocations)
                for mp in plan.moves if mp.move_id in by_origin and mp.done),
            packages=(), partial=plan.partial, tracking_numbers=(), carrier="",
            condition_code=plan.condition_code)
        returned.do_unreserve()
        returned._wms_set_move_lines(remapped, returned.move_ids, lots=lots)
        returned.wms_condition_code = condition_code or False
        returned.with_context(skip_backorder=True, picking_ids_not_to_backorder=returned.ids,
                              wms_applying=True).button_validate()
        if returned.state != "done":
            raise UserError(_("The return %s could not be validated.", returned.name))
        returned.message_post(body=_("Return received by the WMS, condition %s.",
                                     condition_code or _("not given")))
        return returned

    # ------------------------------------------------------------------
    # the ledger hook: confirmations are applied before the milestone replay
    # ------------------------------------------------------------------
    def _shipment_apply_events(self, skip_locked=False, origin=None):
        if not self.env.context.get("wms_applying") and self:
            # Only confirmations whose ledger event is live (not shadow, not a
            # duplicate): the event is what the milestone replay applies too.
            pending = self.env["shipment.sync.wms.confirmation"].sudo().search([
                ("state", "=", "pending"), ("event_id.picking_id", "in", self.ids),
                ("event_id.state", "=", "received")])
            if pending:
                locked = self.sudo()._shipment_lock(skip_locked=skip_locked)
                pending.filtered(lambda c: c.event_id.picking_id in locked)._apply_pending()
        return super()._shipment_apply_events(skip_locked=skip_locked, origin=origin)

    def action_view_wms_confirmations(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "shipment_sync_wms.shipment_sync_wms_confirmation_action")
        action["domain"] = [("picking_id", "=", self.id)]
        return action
