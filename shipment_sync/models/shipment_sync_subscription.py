import base64
import os

from odoo import _, api, fields, models, tools
from odoo.exceptions import ValidationError

from shipsync import catalogue as cat
from shipsync import governance as gov
from shipsync import outbox


def _new_secret():
    return "whsec_" + base64.b64encode(os.urandom(24)).decode("ascii")


class ShipmentSyncSubscription(models.Model):
    """A subscriber (portal, CRM, analytics...) that receives the events of the
    catalogue it asks for (``shipsync.catalogue``: milestone changes, exceptions,
    labels, freight variances, partner breakers...) as Standard Webhooks signed
    POSTs, through the outbox: retries, breaker, ordering per shipment, dead
    letters, one delivery per event id."""

    _name = "shipment.sync.subscription"
    _description = "Shipment Sync Event Subscription"
    _inherit = ["mail.thread", "shipment.sync.audit.mixin", "shipment.sync.cached.mixin"]
    _order = "name, id"
    _shipment_audit_secret_fields = ("secret",)
    _shipment_audit_x2many_fields = ("milestone_ids", "event_type_ids")

    name = fields.Char(required=True, tracking=True)
    active = fields.Boolean(default=True, tracking=True)
    partner_id = fields.Many2one(
        "shipment.sync.partner", "Subscriber", required=True, index=True, ondelete="restrict",
        tracking=True,
        help="Its outbound policy (timeouts, retries, breaker) applies to these deliveries.")
    company_id = fields.Many2one(related="partner_id.company_id", store=True, index=True)
    url = fields.Char("Endpoint URL", required=True, tracking=True)
    event_type_ids = fields.Many2many(
        "shipment.sync.event.type", string="Event types",
        default=lambda self: self.env["shipment.sync.event.type"]._by_codes(cat.DEFAULT_TYPES),
        help="The events of the catalogue this subscriber receives (JSON Schemas in "
        "shipsync/schemas, listed in the OpenAPI document's webhooks).")
    schema_version = fields.Selection(
        gov.VERSION_SELECTION, "Payload schema version", default="1", required=True,
        tracking=True,
        help="Version of the shipment.milestone_changed body this subscriber receives "
        "(the JSON Schemas ship in shipsync/schemas/milestone-event-v<n>.json).")
    milestone_ids = fields.Many2many(
        "shipment.sync.milestone", string="Milestones",
        help="Milestone changes to send. Empty: every milestone change. Applies to the "
        "Milestone changed type only.")
    outgoing_only = fields.Boolean(
        "Deliveries only", default=True, tracking=True,
        help="Only transfers of type Delivery (outgoing); untick for receipts and returns too.")
    secret = fields.Char(
        default=lambda self: _new_secret(), required=True, copy=False,
        groups="shipment_sync.group_manager",
        help="Standard Webhooks secret (whsec_...): the subscriber verifies every event.")
    deactivated_reason = fields.Char(readonly=True, copy=False)
    job_ids = fields.One2many("shipment.sync.job", compute="_compute_job_ids")
    job_count = fields.Integer(compute="_compute_job_ids")

    @api.constrains("event_type_ids")
    def _check_event_types(self):
        for sub in self:
            if not sub.event_type_ids:
                raise ValidationError(_("Choose at least one event type for %s.", sub.name))

    @api.constrains("url")
    def _check_url(self):
        for sub in self:
            if not (sub.url or "").startswith(("http://", "https://")):
                raise ValidationError(_("The endpoint of %s must be an http(s) URL.", sub.name))

    def _compute_job_ids(self):
        Job = self.env["shipment.sync.job"]
        for sub in self:
            jobs = Job.search([("operation", "=", "publish_event"),
                               ("partner_id", "=", sub.partner_id.id),
                               ("idempotency_key", "=like", f"sub{sub.id}:%")]) \
                if sub.id else Job
            sub.job_ids = jobs
            sub.job_count = len(jobs)

    def action_rotate_secret(self):
        for sub in self:
            sub.secret = _new_secret()
            sub.message_post(body=_("Secret rotated by %s.", self.env.user.name))
        self.env["shipment.sync.audit.log"]._log(
            "secret_rotation", self, note=_("Subscription secret rotated: the next delivery is "
                                            "signed with the new secret."))
        return True

    def action_view_jobs(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "shipment_sync.shipment_sync_job_action")
        action["domain"] = [("id", "in", self.job_ids.ids)]
        return action

    # ------------------------------------------------------------------
    # publishing (called from stock.picking's milestone hook)
    # ------------------------------------------------------------------
    def _subscriptions_of(self, company_id):
        """The active subscriptions of this company (or of none). A burst of
        milestone changes asks once per worker, not once per transfer: the ids
        are cached until a subscription (or a partner's company) is written."""
        ids = self._subscription_ids_of(company_id)
        return self.sudo().browse(ids).exists() if ids else self.sudo().browse()

    @tools.ormcache("company_id")
    def _subscription_ids_of(self, company_id):
        return tuple(self.sudo().search([("company_id", "in", (company_id, False))]).ids)

    @api.model
    def _shipment_values(self, picking):
        """``data.shipment`` of an event about ``picking``: the references a
        subscriber matches on."""
        carrier = picking._shipment_carrier()
        return {
            "reference": picking.name, "id": picking.id,
            "correlation_id": picking.shipment_correlation_id,
            "tracking_numbers": [t.strip() for t in (picking.carrier_tracking_ref or "")
                                 .split(",") if t.strip()],
            "carrier": carrier.name if carrier else None,
            # Odoo's False for an empty field is no JSON string: left out.
            "origin": picking.origin or None, "type": picking.picking_type_code or None,
        }

    @api.model
    def _outbox_publish_milestone(self, picking, old_milestone, final):
        """Enqueue one signed event per interested subscription, in the
        transaction that changed the milestone. The event id is stable (same
        shipment, milestone and time: same id), so recomputing a milestone
        never publishes it twice."""
        subs = self._subscriptions_of(picking.company_id.id)
        if not subs:
            return self.env["shipment.sync.job"]
        event_id = cat.milestone_event_id(
            picking.shipment_correlation_id or picking.id, final.milestone, final.milestone_at)
        body = outbox.milestone_event(
            event_id=event_id, created_at=fields.Datetime.now(),
            shipment=self._shipment_values(picking),
            previous_milestone=old_milestone, milestone=final.milestone,
            milestone_at=final.milestone_at, exception_state=final.exception_state,
            exception_reason=final.exception_reason, source=final.milestone_partner,
            correlation_id=picking.shipment_correlation_id, company_id=picking.company_id.id)
        return self._outbox_publish_event(body, subs, picking=picking, milestone=final.milestone)

    @api.model
    def _outbox_publish_shipment_event(self, picking, code, *, key, data, occurred_at=None):
        """Publish the event ``code`` of the catalogue about ``picking`` (its fact
        named by ``key``, see ``shipsync.catalogue.build_event``) to the subscriptions
        of its company that chose that type, in the caller's transaction."""
        picking.ensure_one()
        subs = self._subscriptions_of(picking.company_id.id).filtered(
            lambda sub: cat.wants(sub.event_type_ids.mapped("code"), code))
        if not subs:
            return self.env["shipment.sync.job"]
        body = cat.build_event(
            code, key=key, occurred_at=occurred_at, created_at=fields.Datetime.now(),
            company_id=picking.company_id.id, data=data,
            correlation_id=picking.shipment_correlation_id,
            shipment=self._shipment_values(picking))
        return self._outbox_publish_event(body, subs, picking=picking)

    @api.model
    def _outbox_publish_partner_event(self, partner, code, *, key, data, occurred_at=None):
        """Publish the event ``code`` of the catalogue about ``partner`` (a breaker
        opening...) to the subscriptions of its company that chose that type."""
        partner.ensure_one()
        subs = self._subscriptions_of(partner.company_id.id).filtered(
            lambda sub: cat.wants(sub.event_type_ids.mapped("code"), code))
        if not subs:
            return self.env["shipment.sync.job"]
        body = cat.build_event(
            code, key=(partner.id, *key), occurred_at=occurred_at,
            created_at=fields.Datetime.now(), company_id=partner.company_id.id,
            data={"partner": {"id": partner.id, "code": partner.code, "name": partner.name,
                              "kind": partner.kind}, **data})
        return self._outbox_publish_event(body, subs, partner=partner)

    @api.model
    def _outbox_publish_event(self, event, subscriptions, *, picking=None, partner=None,
                              milestone=None):
        """One ``publish_event`` job per subscription of ``subscriptions`` that wants
        ``event`` (a body of the catalogue): its type, its milestone (milestone
        changes), its transfer type. The idempotency key is the subscription and the
        event id, so the same event is enqueued once per subscription whatever
        publishes it again (a replay, a duplicate webhook); jobs of one subscription
        run in order per transfer (per partner for partner events)."""
        jobs = self.env["shipment.sync.job"]
        event_id = event["id"]
        for sub in subscriptions:
            if not cat.wants(sub.event_type_ids.mapped("code"), event["type"]):
                continue
            if picking and sub.outgoing_only and picking.picking_type_code != "outgoing":
                continue
            if milestone and not outbox.wants(sub.milestone_ids.mapped("code"), milestone):
                continue
            sequence_key = (f"subscription:{sub.id}/picking:{picking.id}" if picking
                            else f"subscription:{sub.id}/partner:{partner.id if partner else 0}")
            jobs |= jobs._enqueue(
                sub.partner_id, "publish_event",
                {"subscription_id": sub.id, "event_id": event_id, "event": event},
                picking=picking, idempotency_key=f"sub{sub.id}:{event_id}",
                sequence_key=sequence_key, channel="low")
        return jobs

    @api.model
    def _outbox_prepare_publish(self, job, ctx):
        """Handler of ``publish_event``: the signed POST, signed at call time (the
        webhook-timestamp must be fresh), same body and webhook-id on every try."""
        payload = ctx.payload or {}
        sub = self.sudo().with_context(active_test=False).browse(payload.get("subscription_id"))
        if not sub.exists() or not sub.active:
            return outbox.Outcome(cancel=True, error="subscription archived or deleted")
        url, secret = sub.url, sub.secret
        event = payload.get("event")
        if sub.schema_version != "1" and event:
            # The body in the version this subscriber receives (types that publish it).
            event = cat.in_version(event, sub.schema_version)
        body = outbox.encode(event)
        event_id = payload.get("event_id") or job.idempotency_key

        def call():
            return ctx.http(outbox.signed_post(
                url, secret, event_id, body, idempotency_key=ctx.idempotency_key,
                policy=ctx.policy))
        return call

    @api.model
    def _outbox_dead_publish(self, job, outcome):
        """A subscriber answering 410 Gone asked to be removed: deactivate it."""
        if outcome.status != 410:
            return
        sub = self.sudo().browse((job._outbox_payload() or {}).get("subscription_id"))
        if sub.exists() and sub.active:
            sub.write({"active": False,
                       "deactivated_reason": _("The endpoint answered 410 Gone (job %s).",
                                               job.id)})
            sub.message_post(body=_("Deactivated: the endpoint answered 410 Gone."))
