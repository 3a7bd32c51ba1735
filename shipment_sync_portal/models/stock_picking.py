"""What the tracking pages show of a shipment: the public page behind an
unguessable token, the customer portal and the sale order's portal page.

Everything the pages render comes out of :meth:`_shipment_tracking_values`
as plain, customer-safe values (wording from ``customer_text``, what is
visible decided by ``shipsync.customer``): the templates never read the
picking, its events or its partner themselves.

The customer notifications (emails on milestones) are the other half of this
one ``stock.picking`` extension."""

import hmac
import re
import secrets
from datetime import timedelta

import pytz

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from shipsync import customer
from shipsync import milestones as ms

from . import customer_text
from .customer_text import customer_when, exception_text, milestone_text

#: What a token made by _new_tracking_token looks like (anything else is a 404
#: without touching the database).
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,128}$")


def _new_tracking_token():
    return secrets.token_urlsafe(24)


#: The steps of the progress bar: (rank reached, milestone whose customer
#: wording names the step).
JOURNEY_STEPS = (
    (ms.RANK["released"], "picked"),
    (ms.RANK["handed_over"], "handed_over"),
    (ms.RANK["in_transit"], "in_transit"),
    (ms.RANK["out_for_delivery"], "out_for_delivery"),
    (ms.RANK["delivered"], "delivered"),
)
#: Milestones that end the journey somewhere else than at the customer's.
OFF_JOURNEY = frozenset({"returning", "returned", "delivery_failed", "cancelled"})

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
    def _shipment_notify(self, before, final, news, partner_by_code, origin=None):
        res = super()._shipment_notify(before, final, news, partner_by_code, origin=origin)
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

    # ------------------------------------------------------------------
    # tracking pages
    # ------------------------------------------------------------------
    shipment_tracking_token = fields.Char(
        "Tracking token", copy=False, index=True, readonly=True,
        groups="base.group_user",
        help="Unguessable token of the public tracking page of this shipment, "
        "made when the link is first needed.")

    def _shipment_tracking_url(self):
        """Absolute URL of the public tracking page (the link in the emails).
        The token is made once and never changes afterwards."""
        self.ensure_one()
        if not self.sudo().shipment_tracking_token:
            self.sudo().shipment_tracking_token = _new_tracking_token()
        return f"{self.get_base_url()}/shipment/track/{self.sudo().shipment_tracking_token}"

    def _shipment_carrier_eta(self):
        """The carrier's latest own estimate of delivery (naive UTC) or False."""
        self.ensure_one()
        event = self.env["shipment.sync.event"].sudo().search(
            [("picking_id", "=", self.id), ("carrier_eta", "!=", False),
             ("state", "=", "applied")], order="occurred_at desc, id desc", limit=1)
        return event.carrier_eta or False

    def _shipment_customer_eta(self):
        """Delivery estimates shown to the customer: ``predicted`` (ours; the
        monitor's lane statistics fill it) and ``carrier`` (the carrier's)."""
        self.ensure_one()
        return {"predicted": False, "carrier": self._shipment_carrier_eta()}

    def _shipment_promised_date(self):
        """The delivery date promised to the customer (naive UTC) or False:
        the sale order's commitment date, else the transfer's deadline."""
        self.ensure_one()
        sale = "sale_id" in self._fields and self.sale_id
        return (sale and sale.commitment_date) or self.date_deadline or False

    # ------------------------------------------------------------------
    # the public page: token lookup
    # ------------------------------------------------------------------
    @api.model
    def _shipment_from_tracking_token(self, token, now=None):
        """The picking (sudo) of a public tracking token, or an empty
        recordset when the token is unknown, the picking is not a delivery
        order, or its link expired: the caller answers the same 404 for all."""
        Picking = self.sudo()
        if not isinstance(token, str) or not TOKEN_RE.match(token):
            return Picking.browse()
        picking = Picking.search([("shipment_tracking_token", "=", token)], limit=1)
        if not picking or not hmac.compare_digest(
                picking.shipment_tracking_token.encode(), token.encode()):
            return Picking.browse()
        if picking.picking_type_code != "outgoing" or picking._shipment_tracking_expired(now):
            return Picking.browse()
        return picking

    def _shipment_tracking_expired(self, now=None):
        """True when the shipment reached a final milestone longer ago than
        its company's tracking link validity."""
        self.ensure_one()
        if self.shipment_milestone not in ms.TERMINAL:
            return False
        reached = self.shipment_milestone_date or self.date_done or self.write_date
        days = self.company_id.shipment_sync_tracking_link_days
        if not reached or days <= 0:
            return False
        return reached < (now or fields.Datetime.now()) - timedelta(days=days)

    # ------------------------------------------------------------------
    # the portal: whose shipments
    # ------------------------------------------------------------------
    @api.model
    def _shipment_portal_domain(self, partner):
        """Delivery orders of a portal partner: shipped to their commercial
        entity, or made for one of its sale orders."""
        commercial = partner.commercial_partner_id
        return [
            ("picking_type_code", "=", "outgoing"),
            ("state", "!=", "draft"),
            "|", ("partner_id.commercial_partner_id", "=", commercial.id),
            ("sale_id.partner_id.commercial_partner_id", "=", commercial.id),
        ]

    # ------------------------------------------------------------------
    # customer-safe values
    # ------------------------------------------------------------------
    def _shipment_customer_tz(self):
        self.ensure_one()
        tz = (self.env.user.tz if not self.env.user._is_public() else None) \
            or self.sudo().partner_id.tz or self.company_id.partner_id.tz
        return tz if tz in pytz.all_timezones_set else "UTC"

    def _shipment_journey(self):
        """The progress bar: a list of steps ``{label, done, current}``, the
        share of the journey done (0-100) and whether it went off course."""
        self.ensure_one()
        milestone = self._shipment_customer_milestone()
        rank = ms.RANK.get(milestone, 0)
        off = milestone in OFF_JOURNEY
        reached = -1
        for index, (step_rank, _code) in enumerate(JOURNEY_STEPS):
            if rank >= step_rank and not (off and step_rank == ms.RANK["delivered"]):
                reached = index
        if off and milestone != "cancelled":
            # a parcel coming back (or lost) got at least as far as the carrier
            reached = max(reached, 1)
        if milestone == "cancelled":
            reached = -1
        steps = [{"label": customer_text.milestone_text(code, self.env), "done": index <= reached,
                  "current": index == reached}
                 for index, (_rank, code) in enumerate(JOURNEY_STEPS)]
        percent = 0 if reached < 0 else round(100 * (reached + 1) / len(JOURNEY_STEPS))
        return {"steps": steps, "percent": percent, "off_course": off}

    def _shipment_customer_timeline(self):
        """Customer-safe timeline entries, newest first, as display values."""
        self.ensure_one()
        rows = self.env["shipment.sync.event"].sudo().search_read(
            [("picking_id", "=", self.id), ("state", "=", "applied")],
            ["occurred_at", "milestone", "exception_reason", "location", "state"],
            order="occurred_at, id")
        tz = self._shipment_customer_tz()
        entries = []
        for entry in customer.customer_timeline(
                rows, awaiting_label=self._shipment_awaiting_label()):
            lines = []
            if entry.milestone:
                lines.append(customer_text.milestone_text(entry.milestone, self.env))
            if entry.category:
                lines.append(customer_text.category_text(entry.category, self.env))
            lines = [line for line in lines if line]
            if not lines:
                continue
            entries.append({
                "at": customer_text.customer_when(self.env, entry.at, tz),
                "title": lines[0], "detail": " ".join(lines[1:]),
                "is_exception": bool(entry.category) and not entry.milestone,
                "location": entry.location,
            })
        return entries

    def _shipment_carrier_tracking(self):
        """(carrier name, tracking number, carrier tracking link) shown to the customer."""
        self.ensure_one()
        picking = self.sudo()
        url = False
        if picking.carrier_id and picking.carrier_tracking_ref:
            try:
                url = picking.carrier_tracking_url
            except Exception:  # noqa: BLE001 a carrier's link builder must not break the page
                url = False
            if not (isinstance(url, str) and url.startswith(("https://", "http://"))):
                url = False
        return picking.carrier_id.name or "", picking.carrier_tracking_ref or "", url

    def _shipment_tracking_values(self, timeline=True):
        """Everything a tracking page shows of this shipment, customer-safe:
        no street, postcode, customer name or contact, order lines, prices,
        partner (integration) names, raw codes, event messages or internal
        exceptions. ``timeline=False`` leaves the timeline out (lists)."""
        self.ensure_one()
        picking = self.sudo()
        tz = picking._shipment_customer_tz()
        eta = picking._shipment_customer_eta()

        def eta_text(value):
            return customer_text.customer_when(self.env, value, tz, with_time=False)

        carrier_name, tracking_ref, tracking_link = picking._shipment_carrier_tracking()
        exception = ""
        if picking.shipment_exception_state == "open":
            exception = customer_text.exception_text(picking.shipment_exception_reason, self.env)
        destination = picking.partner_id
        milestone = picking._shipment_customer_milestone()
        delivered = milestone == "delivered"
        return {
            "milestone_text": (customer_text.milestone_text(milestone, self.env)
                               or _("Order received")),
            "milestone_date": customer_text.customer_when(
                self.env, picking.shipment_milestone_date, tz),
            "delivered": delivered,
            "terminal": milestone in ms.TERMINAL,
            "journey": picking._shipment_journey(),
            "eta_predicted": "" if milestone in ms.TERMINAL else eta_text(eta.get("predicted")),
            "eta_carrier": "" if milestone in ms.TERMINAL else eta_text(eta.get("carrier")),
            "carrier_name": carrier_name,
            "tracking_ref": tracking_ref,
            "tracking_link": tracking_link,
            "exception_text": exception,
            "timeline": picking._shipment_customer_timeline() if timeline else [],
            "city": destination.city or "",
            "country": destination.country_id.name or "",
            # proof of delivery: signer's initial and city only, never photo URLs
            "pod": picking._shipment_pod_public() if delivered else {},
        }

    # ------------------------------------------------------------------
    # backend
    # ------------------------------------------------------------------
    def action_shipment_open_tracking_page(self):
        """Open the public tracking page the customer gets in the emails."""
        self.ensure_one()
        if self.picking_type_code != "outgoing":
            raise UserError(_("Only delivery orders have a tracking page."))
        return {"type": "ir.actions.act_url", "url": self._shipment_tracking_url(),
                "target": "new"}

