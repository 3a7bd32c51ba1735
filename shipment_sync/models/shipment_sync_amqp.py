"""The RabbitMQ transport (AMQP 0-9-1) of the event backbone, outbound: a subscription
whose transport is ``amqp`` publishes its events to a topic exchange through the outbox
(same ``publish_event`` jobs, same retries, breaker and dead letters as a webhook
subscription), with publisher confirms. The inbound queue is
``shipment_sync_partner_amqp``."""

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from shipsync import amqp, outbox, tracing
from shipsync import catalogue as cat

from .shipment_sync_partner_amqp import check_amqp_url


class ShipmentSyncSubscription(models.Model):
    _inherit = "shipment.sync.subscription"
    _shipment_audit_secret_fields = ("secret", "amqp_url")

    transport = fields.Selection(
        [("http", "Signed webhook (HTTP)"), ("amqp", "RabbitMQ exchange (AMQP)")],
        default="http", required=True, tracking=True,
        help="HTTP: a Standard Webhooks signed POST to the endpoint URL. RabbitMQ: a "
        "persistent message on a topic exchange, routing key <company id>.<event type>, "
        "published with publisher confirms.")
    url = fields.Char(required=False)
    amqp_url = fields.Char(
        "Broker URL", copy=False, groups="shipment_sync.group_manager",
        help="amqp://user:password@host:5672/vhost (amqps:// for TLS). Kept like the "
        "other secrets: only managers read it.")
    amqp_exchange = fields.Char(
        "Exchange", tracking=True,
        help="Topic exchange the events are published to (declared durable on first use).")

    @api.constrains("url", "transport")
    def _check_url(self):
        for sub in self:
            if sub.transport == "http" and \
                    not (sub.url or "").startswith(("http://", "https://")):
                raise ValidationError(_("The endpoint of %s must be an http(s) URL.", sub.name))

    @api.constrains("transport", "amqp_url", "amqp_exchange")
    def _check_amqp_target(self):
        for sub in self.sudo():
            if sub.transport != "amqp":
                continue
            if not (sub.amqp_url and sub.amqp_exchange):
                raise ValidationError(_("The RabbitMQ subscription %s needs a broker URL and "
                                        "an exchange.", sub.name))
            check_amqp_url(sub.amqp_url, sub.name)

    @api.model
    def _outbox_prepare_publish(self, job, ctx):
        """An ``amqp`` subscription's event: one persistent message on its exchange,
        ``message_id`` = the stable event id, published with confirms (see
        :func:`shipsync.amqp.publish`); everything else is the webhook's."""
        payload = ctx.payload or {}
        sub = self.sudo().with_context(active_test=False).browse(payload.get("subscription_id"))
        if not (sub.exists() and sub.active and sub.transport == "amqp"):
            return super()._outbox_prepare_publish(job, ctx)
        event = payload.get("event") or {}
        if sub.schema_version != "1" and event:
            # The body in the version this subscriber receives (types that publish it).
            event = cat.in_version(event, sub.schema_version)
        body = outbox.encode(event)
        event_id = payload.get("event_id") or event.get("id") or job.idempotency_key
        correlation_id = event.get("correlation_id") or (
            (event.get("data") or {}).get("shipment") or {}).get("correlation_id")
        # The event's company (a subscriber shared by companies serves several).
        company = event.get("company_id") or job.picking_id.company_id.id \
            or job.company_id.id or None
        key = amqp.routing_key(company, event["type"])
        props = amqp.message_properties(
            event_id=event_id, event_type=event["type"],
            schema_version=str(event.get("schema_version") or "1"),
            correlation_id=correlation_id,
            traceparent=tracing.traceparent_for(correlation_id))
        url, exchange, timeout = sub.amqp_url, sub.amqp_exchange, ctx.policy.timeouts[1]

        def call():
            return amqp.publish(url, exchange, key, body, props, timeout=timeout)
        return call
