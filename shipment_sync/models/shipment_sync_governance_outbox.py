"""Governance of the outbox, by inheritance (the outbox files belong to their
owner): audit lines for replays and payload edits, masked chatter and attempt
excerpts, the schema version of subscription payloads, audited subscriptions."""

import dataclasses

from odoo import _, api, fields, models

from shipsync import governance as gov
from shipsync import pii


class ShipmentSyncJob(models.Model):
    _inherit = "shipment.sync.job"

    # Outbound payloads carry addresses and contacts: managers only (workers
    # and hooks run as the superuser; enqueueing is plain SQL).
    payload = fields.Text(groups="shipment_sync.group_manager")

    def write(self, vals):
        res = super().write(vals)
        if "payload" in vals and not self.env.context.get("shipment_sync_outbox_internal"):
            self.env["shipment.sync.audit.log"]._log(
                "payload_edit", self, note=_("Payload edited before a replay."))
        return res

    def action_replay(self):
        jobs = self.filtered(lambda j: j.state in ("dead", "cancelled"))
        res = super().action_replay()
        self.env["shipment.sync.audit.log"]._log("replay", jobs)
        return res

    @api.returns("mail.message", lambda value: value.id)
    def message_post(self, **kwargs):
        # Job messages quote payloads and partner answers: mask personal data.
        if kwargs.get("body"):
            kwargs["body"] = _mask_body(kwargs["body"])
        return super().message_post(**kwargs)

    @api.model
    def _outbox_mask_text(self, text):
        # Partner answers and errors quote addresses and contacts: masked before
        # the attempt and the job are written.
        return pii.mask_text(super()._outbox_mask_text(text))


class ShipmentSyncSubscription(models.Model):
    _name = "shipment.sync.subscription"
    _inherit = ["shipment.sync.subscription", "shipment.sync.audit.mixin"]
    _shipment_audit_secret_fields = ("secret",)
    _shipment_audit_x2many_fields = ("milestone_ids",)

    outgoing_only = fields.Boolean(tracking=True)
    event_type = fields.Selection(tracking=True)
    schema_version = fields.Selection(
        gov.VERSION_SELECTION, "Payload schema version", default="1", required=True,
        tracking=True,
        help="Version of the shipment.milestone_changed body this subscriber receives "
        "(the JSON Schemas ship in shipsync/schemas/milestone-event-v<n>.json).")

    def action_rotate_secret(self):
        res = super().action_rotate_secret()
        self.env["shipment.sync.audit.log"]._log(
            "secret_rotation", self, note=_("Subscription secret rotated: the next delivery is "
                                            "signed with the new secret."))
        return res

    @api.model
    def _outbox_prepare_publish(self, job, ctx):
        payload = ctx.payload or {}
        sub = self.sudo().with_context(active_test=False).browse(payload.get("subscription_id"))
        if sub.exists() and sub.schema_version != "1" and payload.get("event"):
            event = gov.outbound_event(payload["event"], sub.schema_version)
            ctx = dataclasses.replace(ctx, payload=dict(payload, event=event))
        return super()._outbox_prepare_publish(job, ctx)


def _mask_body(body):
    """Mask a chatter body, keeping it Markup when it was."""
    from markupsafe import Markup

    if isinstance(body, Markup):
        return Markup(pii.mask_text(str(body)))
    return pii.mask_text(body)
