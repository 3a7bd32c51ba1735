"""The RabbitMQ transport (AMQP 0-9-1) of the event backbone.

Outbound: a subscription whose transport is ``amqp`` publishes its events to a topic
exchange through the outbox (same ``publish_event`` jobs, same retries, breaker and dead
letters as a webhook subscription), with publisher confirms.

Inbound: a partner with an inbound queue publishes canonical events there; a cron drains
the queue with ``basic.get`` and hands each message to the same parse, validation,
ledger and dedupe as the webhook route, acknowledging it only after the ledger commit.
"""

import logging

from odoo import SUPERUSER_ID, _, api, fields, models
from odoo.exceptions import ValidationError

from shipsync import amqp, ingest, outbox, tracing
from shipsync import catalogue as cat

from .cron_retry import retry_conflicts

_logger = logging.getLogger(__name__)

#: Messages one partner's queue gives up per cron run (the next run takes the rest).
DRAIN_LIMIT = 200
#: Message headers and properties kept on the ledger row, as webhook headers are.
KEPT_HEADERS = ("content-type", "message-id", "traceparent", "correlation_id",
                amqp.SCHEMA_HEADER)


def _check_amqp_url(url, label):
    if url and not url.startswith(("amqp://", "amqps://")):
        raise ValidationError(_("The broker URL of %s must start with amqp:// or amqps://.",
                                label))


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
            _check_amqp_url(sub.amqp_url, sub.name)

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


class ShipmentSyncPartner(models.Model):
    _inherit = "shipment.sync.partner"

    amqp_inbound_url = fields.Char(
        "Inbound broker URL", copy=False, groups="shipment_sync.group_manager",
        help="amqp://user:password@host:5672/vhost of the broker holding the queue this "
        "partner publishes its canonical events to. Kept like the other secrets.")
    amqp_inbound_queue = fields.Char(
        "Inbound queue", copy=False,
        help="Queue drained every minute with basic.get: each message goes through the "
        "webhook's validation and ledger, and is acknowledged once stored. An invalid "
        "message is recorded and rejected (dead-lettered when the queue has a "
        "dead-letter exchange).")
    amqp_inbound_status = fields.Char("Last queue run", readonly=True, copy=False)

    @api.constrains("amqp_inbound_url")
    def _check_amqp_inbound_url(self):
        for partner in self.sudo():
            _check_amqp_url(partner.amqp_inbound_url, partner.name)

    @api.model
    @retry_conflicts
    def _cron_amqp_drain(self, limit=DRAIN_LIMIT):
        """Drain the inbound queue of every active partner that has one."""
        partners = self.sudo().search([("amqp_inbound_queue", "!=", False)])
        for partner in partners:
            partner._amqp_drain(limit=limit)

    def _amqp_drain(self, limit=DRAIN_LIMIT):
        """Take up to ``limit`` messages from this partner's queue; each is
        stored (or recorded as refused) and committed in its own transaction
        before the broker gets its ack. Returns ``shipsync.amqp.DrainStats``."""
        self.ensure_one()
        partner = self.sudo()
        url, queue = partner.amqp_inbound_url, partner.amqp_inbound_queue
        if not (url and queue):
            return amqp.DrainStats(error="no inbound broker URL or queue")
        registry, partner_id = self.env.registry, partner.id

        def handle(delivery):
            # Its own transaction, committed when the block ends: the ack follows it.
            with registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                return env["shipment.sync.partner"].browse(partner_id)._amqp_receive(delivery)

        try:
            stats = amqp.drain(url, queue, handle, limit=limit,
                               timeout=partner.outbox_connect_timeout or 10.0)
        except Exception as exc:  # noqa: BLE001 - the message went back to the queue
            _logger.exception("inbound queue %s of %s: run stopped", queue, partner.code)
            stats = amqp.DrainStats(error=f"{type(exc).__name__}: {exc}"[:200])
        status = _("%(time)s: %(acked)s stored, %(rejected)s refused, %(requeued)s put back",
                   time=fields.Datetime.to_string(fields.Datetime.now()), acked=stats.acked,
                   rejected=stats.rejected, requeued=stats.requeued)
        if stats.error:
            _logger.warning("inbound queue %s of %s: %s", queue, partner.code, stats.error)
            status += " - " + stats.error
        partner.amqp_inbound_status = status[:250]
        return stats

    def _amqp_receive(self, delivery):
        """One message of the inbound queue, in the current transaction: the
        webhook's checks that still apply after authentication (the queue's
        credentials are the authentication: content type, size, parse and
        validation, ledger and dedupe through ``_receive_events``). Returns
        the verdict: ``ack`` once stored or recognized as a duplicate,
        ``reject`` once a refusal is recorded."""
        self.ensure_one()
        Event = self.env["shipment.sync.event"]
        headers = {k: v for k, v in delivery.header_map().items() if k in KEPT_HEADERS}
        body = delivery.body
        try:
            mimetype = (delivery.content_type or "").split(";")[0].strip().lower()
            if mimetype != "application/json" and not mimetype.endswith("+json"):
                raise ingest.BodyRejected(415, "unsupported_media_type",
                                          "Send the body as application/json "
                                          "(the content_type property).", keep_body=False)
            limit = max(self.max_payload_kb, 1) * 1024
            if len(body) > limit:
                raise ingest.BodyRejected(413, "payload_too_large",
                                          f"The body exceeds {limit} bytes.", keep_body=False)
            events = self._shipsync_parse_inbound(body)
        except ingest.BodyRejected as exc:
            _logger.info("inbound queue of %s: refused %s %s: %s", self.code, exc.http_status,
                         exc.code, exc.message)
            Event._record_rejection(self.code, exc.code, exc.message, exc.http_status,
                                    partner=self, body=body if exc.keep_body else None,
                                    headers=headers)
            return amqp.REJECT
        status, _state, _code, _message, _ids = Event._receive_events(
            self, events, body=body, headers=headers)
        return amqp.ACK if status < 400 else amqp.REJECT
