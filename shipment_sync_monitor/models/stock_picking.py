from odoo import _, fields, models

from shipsync import milestones as ms


class StockPicking(models.Model):
    _inherit = "stock.picking"

    shipment_exception_card_ids = fields.One2many(
        "shipment.sync.exception", "picking_id", "Exception cards")
    shipment_timeline_ids = fields.One2many(
        "shipment.sync.timeline", "picking_id", "Timeline (all systems)")

    def _shipment_exception_activity(self, reason_label, partner=None):
        """The exception's one to-do lives on its workbench card (see
        ``shipment.sync.exception._monitor_raise``), not on the transfer."""
        return None

    def _shipment_side_exception(self, reason, message, partner=None):
        """A side exception (``ms.SIDE_REASONS``) is a workbench card of its own."""
        Card = self.env["shipment.sync.exception"].sudo()
        for picking in self:
            Card._monitor_raise(picking, reason, partner=partner, message=message)

    def _shipment_side_exception_done(self, reason, note):
        self.env["shipment.sync.exception"].sudo().search([
            ("picking_id", "in", self.ids), ("reason", "=", reason),
            ("state", "!=", "resolved")])._monitor_close(note)

    def _shipment_notify(self, before, final, news, partner_by_code):
        res = super()._shipment_notify(before, final, news, partner_by_code)
        self._shipment_monitor_track(before, final, news, partner_by_code)
        return res

    def _shipment_monitor_track(self, before, final, news, partner_by_code):
        """Keep the workbench card of this picking's exception in step with the
        exception track the state machine just computed."""
        self.ensure_one()
        _old_milestone, old_state, old_reason = before
        Card = self.env["shipment.sync.exception"].sudo()
        # Side exceptions (a freight variance) are not on the track: their owner closes them.
        cards = Card.search([("picking_id", "=", self.id), ("state", "!=", "resolved"),
                             ("reason", "not in", sorted(ms.SIDE_REASONS))])
        if final.exception_state == "open":
            reason = final.exception_reason or "other"
            opened = old_state != "open" or old_reason != final.exception_reason
            raised = [event for event, _step in news if event.exception_reason == reason]
            if opened or raised:
                partner = partner_by_code.get(final.exception_partner)
                message = raised[-1].message if raised else False
                rule_id = self.env.context.get("shipment_monitor_alert_rule")
                rule = self.env["shipment.sync.alert.rule"].sudo().browse(rule_id) \
                    if rule_id else None
                Card._monitor_raise(self, reason, partner=partner,
                                    at=final.exception_at or fields.Datetime.now(),
                                    message=message, alert_rule=rule)
            superseded = cards.filtered(lambda c: c.reason != reason)
            superseded._monitor_close(_("Superseded by a newer exception of the shipment."))
        elif cards:
            resolver = next((event for event, step in reversed(news)
                             if step.after.exception_state != "open"), None)
            if resolver and resolver.partner_id:
                note = _("Resolved by a later event from %s.", resolver.partner_id.name)
            else:
                note = _("Resolved in Odoo.")
            cards._monitor_close(note)

    # ------------------------------------------------------------------
    # remedies: hooks for the carrier and WMS addons
    # ------------------------------------------------------------------
    def action_view_shipment_timeline(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "shipment_sync_monitor.shipment_sync_timeline_action")
        action["domain"] = [("picking_id", "=", self.id)]
        action["name"] = _("Timeline of %s", self.name)
        return action

    def action_view_shipment_exceptions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "shipment_sync_monitor.shipment_sync_exception_action")
        action["domain"] = [("picking_id", "=", self.id)]
        action["context"] = {}
        return action
