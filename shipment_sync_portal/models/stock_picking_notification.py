
from odoo import fields, models

from shipsync import customer

from .customer_text import customer_when, exception_text, milestone_text

#: Mail template of each core notification kind (xmlids, noupdate records
#: companies may edit). Modules adding a kind override
#: ``_shipment_notification_template``.
NOTIFICATION_TEMPLATES = {
    "handed_over": "shipment_sync_portal.mail_template_shipment_handed_over",
    "out_for_delivery": "shipment_sync_portal.mail_template_shipment_out_for_delivery",
    "available_for_pickup": "shipment_sync_portal.mail_template_shipment_available_for_pickup",
    "delivery_attempted": "shipment_sync_portal.mail_template_shipment_delivery_attempted",
    "delivered": "shipment_sync_portal.mail_template_shipment_delivered",
    "exception": "shipment_sync_portal.mail_template_shipment_exception",
}


class StockPicking(models.Model):
    _inherit = "stock.picking"

    shipment_notification_count = fields.Integer(
        "Customer notifications", compute="_compute_shipment_notification_count")

    def _compute_shipment_notification_count(self):
        groups = self.env["shipment.sync.notification"].sudo()._read_group(
            [("picking_id", "in", self.ids)], ["picking_id"], ["__count"])
        counts = {picking.id: count for picking, count in groups}
        for picking in self:
            picking.shipment_notification_count = counts.get(picking.id, 0)

    def action_view_shipment_notifications(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "shipment_sync_portal.shipment_sync_notification_action")
        action["domain"] = [("picking_id", "=", self.id)]
        return action

    # ------------------------------------------------------------------
    # after each replay: which notifications the change calls for
    # ------------------------------------------------------------------
    def _shipment_notify(self, before, final, news, partner_by_code):
        res = super()._shipment_notify(before, final, news, partner_by_code)
        # Final-state based: a duplicate or stale event does not move the
        # state and calls for nothing; the UNIQUE key does the rest.
        for kind, key in customer.notification_keys(
                customer.state_before(*before), final,
                awaiting_label=self._shipment_awaiting_label()):
            self._shipment_customer_notify(kind, key)
        return res

    def write(self, vals):
        res = super().write(vals)
        if vals.get("carrier_tracking_ref"):
            # The label exists now: the "shipped" news held back is due.
            for picking in self:
                for kind, key in customer.label_released_keys(picking.shipment_milestone):
                    picking._shipment_customer_notify(kind, key)
        return res

    def _shipment_awaiting_label(self):
        """True while this delivery's carrier is one that issues labels
        (an integration, not a fixed price or rule-based one) and no label
        (tracking number) exists yet: queued, retrying or failed. The
        customer is then never told it shipped (``shipsync.customer``)."""
        self.ensure_one()
        picking = self.sudo()
        carrier = picking.carrier_id
        return bool(
            picking.picking_type_id.code == "outgoing" and not picking.return_id
            and carrier and carrier.delivery_type not in ("fixed", "base_on_rule")
            and not picking.carrier_tracking_ref)

    def _shipment_customer_milestone(self):
        """The milestone the customer is shown (see ``_shipment_awaiting_label``)."""
        self.ensure_one()
        return customer.customer_milestone(self.shipment_milestone,
                                           self._shipment_awaiting_label())

    def _shipment_customer_notify(self, kind, key=None):
        """Record customer notification ``kind`` (a shipment.sync.notification
        kind; ``key`` defaults to the kind) once per picking, unless switched
        off for the company or the customer. Returns the notifications created
        (already-sent keys are skipped silently). Sending happens later, from
        Odoo's mail queue."""
        Notification = self.env["shipment.sync.notification"].sudo()
        rows = []
        for picking in self.sudo():
            recipient = picking._shipment_notification_recipient()
            opted_out = any(p.commercial_partner_id.shipment_sync_email_opt_out
                            for p in picking.partner_id | recipient)
            decision = customer.notification_decision(
                outgoing=picking.picking_type_id.code == "outgoing",
                is_return=bool(picking.return_id),
                has_customer=bool(picking.partner_id),
                has_email=bool(recipient.email),
                enabled=picking._shipment_notification_enabled(kind),
                opted_out=opted_out,
            )
            if not decision.record:
                continue
            rows.append({
                "picking_id": picking.id, "company_id": picking.company_id.id,
                "partner_id": recipient.id, "kind": kind, "key": key or kind,
                "state": "pending" if decision.send else "skipped",
                "skip_reason": decision.skip_reason
                and Notification._skip_reason_text(decision.skip_reason),
            })
        created = Notification._insert_rows(rows)
        if any(n.state == "pending" for n in created):
            # Runs right after this transaction commits, never inside it.
            self.env.ref("shipment_sync_portal.ir_cron_shipment_sync_notification").sudo()._trigger()
        return created

    def _shipment_notification_recipient(self):
        """Who receives this shipment's notifications: the delivery contact,
        or the ordering customer when the delivery address has no email."""
        self.ensure_one()
        partner = self.partner_id
        if partner.email:
            return partner
        ordering = "sale_id" in self._fields and self.sale_id.partner_id
        return ordering if ordering and ordering.email else partner

    def _shipment_notification_enabled(self, kind):
        """Company switch of a notification kind (``shipment_sync_notify_<kind>``
        on res.company). Override for kinds switched otherwise."""
        self.ensure_one()
        return self.company_id._shipment_notification_enabled(kind)

    def _shipment_notification_template(self, kind):
        """The mail.template (model stock.picking) of a notification kind: the
        company's own (shipment.sync.notification.template) when it has one,
        else the shared one, else an empty recordset. Modules adding a kind
        extend this mapping."""
        own = self.env["shipment.sync.notification.template"].sudo().search(
            [("company_id", "=", self.company_id.id), ("kind", "=", kind)], limit=1)
        if own:
            return own.template_id
        xmlid = NOTIFICATION_TEMPLATES.get(kind)
        template = xmlid and self.env.ref(xmlid, raise_if_not_found=False)
        return template or self.env["mail.template"]

    # ------------------------------------------------------------------
    # what the templates show (customer-safe values, in the mail's language)
    # ------------------------------------------------------------------
    def _shipment_customer_mail_values(self):
        """Customer-safe values for the notification templates, in the
        language of the environment (the template's lang, the customer's):
        milestone wording, the wording of the exception being notified
        (never its code, the partner or the partner's message), dates of
        the delivery estimates, the tracking link and number."""
        self.ensure_one()
        key = self.env.context.get("shipment_sync_notification_key") or ""
        reason = key.split(":", 1)[1] if key.startswith("exception:") else (
            self.shipment_exception_reason if self.shipment_exception_state == "open" else None)
        eta = self._shipment_customer_eta()
        return {
            "milestone": milestone_text(self._shipment_customer_milestone(), self.env),
            "exception": exception_text(reason, self.env),
            "eta": self._shipment_customer_date(eta.get("predicted")),
            "carrier_eta": self._shipment_customer_date(eta.get("carrier")),
            "tracking_url": self._shipment_tracking_url(),
            "tracking_ref": self.carrier_tracking_ref or "",
        }

    def _shipment_customer_date(self, value):
        """A naive UTC datetime as a date in the customer's timezone and language."""
        tz = self.partner_id.tz or self.company_id.partner_id.tz or "UTC"
        return customer_when(self.env, value, tz, with_time=False)
