"""The RabbitMQ transport against the real broker (Debian's rabbitmq-server at
SHIPSYNC_AMQP_URL, started by the test command): outbound subscriptions published
through the outbox with confirms, an outage of the broker, and the inbound queue
drained into the ledger. Without a broker these tests skip, which CI=true fails."""

import json
import logging
import os
import subprocess
import uuid

import pika

from odoo.exceptions import ValidationError
from odoo.tests import TransactionCase, tagged

from shipsync import amqp, tracing

from .common import ShipmentSyncCommon, canonical_event, envelope
from .outbox_common import WHSEC, OutboxCase

_logger = logging.getLogger(__name__)
URL = os.environ.get("SHIPSYNC_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


def open_channel():
    connection = pika.BlockingConnection(amqp.connection_parameters(URL, 10))
    return connection, connection.channel()


def broker_or_skip(case):
    try:
        open_channel()[0].close()
    except pika.exceptions.AMQPError as exc:
        case.skipTest(f"RabbitMQ not reachable at {URL}: {exc!r}")


def rabbitmqctl(*args):
    subprocess.run(["rabbitmqctl", "--timeout", "120", *args], check=True,
                   capture_output=True, timeout=300)


def take_all(queue):
    """Every message of ``queue``, acknowledged: ``[(method, properties, body)]``."""
    connection, channel = open_channel()
    try:
        got = []
        while True:
            method, props, body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                return got
            got.append((method, props, body))
    finally:
        connection.close()


class BrokerMixin:
    @classmethod
    def declare(cls, exchange=None, queue=None, binding="#", **queue_args):
        """A durable exchange and queue (they survive a broker restart), deleted
        after the class."""
        connection, channel = open_channel()
        try:
            if exchange:
                channel.exchange_declare(exchange, exchange_type="topic", durable=True)
                cls.addClassCleanup(cls._delete, "exchange", exchange)
            if queue:
                channel.queue_declare(queue, durable=True, arguments=queue_args or None)
                cls.addClassCleanup(cls._delete, "queue", queue)
                if exchange:
                    channel.queue_bind(queue, exchange, binding)
        finally:
            connection.close()

    @staticmethod
    def _delete(kind, name):
        try:
            connection, channel = open_channel()
        except pika.exceptions.AMQPError:
            return
        try:
            getattr(channel, f"{kind}_delete")(name)
        except pika.exceptions.AMQPError as exc:
            _logger.info("test %s %s already gone: %s", kind, name, exc)
        finally:
            if connection.is_open:
                connection.close()


@tagged("post_install", "-at_install")
class TestAmqpOutbound(BrokerMixin, OutboxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.subscriber = cls.make_partner("Backbone", kind="subscriber")
        cls.suffix = uuid.uuid4().hex[:8]
        cls.exchange = f"shipsync.test.{cls.suffix}"
        cls.queue = f"shipsync.test.events.{cls.suffix}"
        cls.company_key = str(cls.env.company.id)

    def setUp(self):
        super().setUp()
        broker_or_skip(self)
        self.declare(self.exchange, self.queue, binding=f"{self.company_key}.#")
        take_all(self.queue)
        self.addCleanup(amqp.POOL.close_all)

    def subscribe(self, exchange=None, **vals):
        return self.env["shipment.sync.subscription"].create({
            "name": "Backbone", "partner_id": self.subscriber.id, "transport": "amqp",
            "amqp_url": URL, "amqp_exchange": exchange or self.exchange, **vals,
        })

    def publish_jobs(self, pickings):
        return self.Job.search([("picking_id", "in", pickings.ids),
                                ("operation", "=", "publish_event")], order="id")

    def drain_outbox(self, start=0, runs=12, step=60):
        """Run the low-channel worker until no publish job is pending (bounded)."""
        for n in range(runs):
            self.run_worker(start + n * step, channels=("low",))
            if not self.Job.search_count([("operation", "=", "publish_event"),
                                          ("state", "in", ("pending", "running"))]):
                return
        self.fail(f"publish jobs still pending after {runs} worker runs")

    def test_event_is_published_once_with_the_event_id_as_message_id(self):
        sub = self.subscribe()
        picking = self.make_picking()
        picking._shipment_internal_event(milestone="packed", message="packed")
        [job] = self.publish_jobs(picking)
        self.assertEqual(job.idempotency_key[:len(f"sub{sub.id}:")], f"sub{sub.id}:")
        self.run_worker(0, channels=("low",))
        self.assertEqual(job.state, "done", job.last_error)
        [(method, props, body)] = take_all(self.queue)
        event = json.loads(body)
        self.assertEqual(props.message_id, event["id"])
        self.assertEqual(event["id"], job._outbox_payload()["event_id"])
        self.assertEqual(event["type"], "shipment.milestone_changed")
        self.assertEqual(event["data"]["milestone"], "packed")
        self.assertEqual(method.routing_key,
                         f"{self.company_key}.shipment.milestone_changed")
        self.assertEqual((props.content_type, props.delivery_mode, props.type),
                         ("application/json", 2, "shipment.milestone_changed"))
        self.assertEqual(props.headers["schema_version"], "1")
        self.assertEqual(props.correlation_id, picking.shipment_correlation_id)
        self.assertEqual(props.headers["correlation_id"], picking.shipment_correlation_id)
        traceparent = props.headers["traceparent"]
        parsed = tracing.parse_traceparent(traceparent)
        self.assertTrue(parsed, traceparent)
        self.assertEqual(parsed.trace_id, tracing.trace_id_for(picking.shipment_correlation_id))
        result = json.loads(job.result)
        self.assertEqual((result["message_id"], result["confirmed"]), (event["id"], True))
        # Nothing more: the worker has nothing left to publish.
        self.run_worker(60, channels=("low",))
        self.assertFalse(take_all(self.queue))

    def test_one_change_reaches_a_webhook_and_the_exchange_as_one_event(self):
        self.subscribe()
        portal = self.make_partner("Portal", kind="subscriber")
        self.env["shipment.sync.subscription"].create({
            "name": "Portal", "partner_id": portal.id, "url": self.receiver.url + "/hooks",
            "secret": WHSEC})
        picking = self.make_picking()
        picking._shipment_internal_event(milestone="packed")
        self.drain_outbox()
        [call] = self.receiver.calls
        [(_method, props, body)] = take_all(self.queue)
        webhook_event, amqp_event = json.loads(call["body"]), json.loads(body)
        self.assertEqual(call["webhook_id"], props.message_id)
        self.assertEqual(webhook_event["id"], amqp_event["id"])
        self.assertEqual(webhook_event["data"]["shipment"]["correlation_id"],
                         props.correlation_id)
        self.assertEqual(props.correlation_id, picking.shipment_correlation_id)

    def test_schema_version_of_the_subscription_is_the_body_and_the_header(self):
        self.subscribe(schema_version="2")
        picking = self.make_picking()
        picking._shipment_internal_event(milestone="packed")
        self.run_worker(0, channels=("low",))
        [(_method, props, body)] = take_all(self.queue)
        self.assertEqual(props.headers["schema_version"], "2")
        self.assertEqual(str(json.loads(body)["schema_version"]), "2")

    def test_an_unroutable_event_waits_and_is_published_once_routed(self):
        orphan = f"shipsync.test.orphan.{self.suffix}"
        self.declare(orphan)
        self.subscribe(exchange=orphan)
        picking = self.make_picking()
        picking._shipment_internal_event(milestone="packed")
        [job] = self.publish_jobs(picking)
        self.run_worker(0, channels=("low",))
        self.assertEqual((job.state, job.last_error_class), ("pending", "invalid_response"))
        self.assertIn("unroutable", job.last_error)
        # A consumer binds a queue: the retry delivers it, once.
        queue = f"{orphan}.late"
        self.declare(orphan, queue, binding="#")
        self.drain_outbox(start=60)
        self.assertEqual(job.state, "done")
        [(_method, props, _body)] = take_all(queue)
        self.assertEqual(props.message_id, job._outbox_payload()["event_id"])

    def test_broker_outage_loses_nothing_and_publishes_nothing_twice(self):
        self.subscribe()
        before = self.make_picking() | self.make_picking()
        for picking in before:
            picking._shipment_internal_event(milestone="packed")
        self.run_worker(0, channels=("low",))
        self.assertEqual(set(self.publish_jobs(before).mapped("state")), {"done"})
        # The broker goes down mid-stream; business goes on.
        rabbitmqctl("stop_app")
        self.addCleanup(rabbitmqctl, "await_startup")
        self.addCleanup(rabbitmqctl, "start_app")
        during = self.make_picking() | self.make_picking() | self.make_picking()
        for picking in during:
            picking._shipment_internal_event(milestone="packed")
        before[0]._shipment_internal_event(milestone="handed_over")
        waiting = self.publish_jobs(during | before) - self.publish_jobs(before).filtered(
            lambda j: j.state == "done")
        self.assertEqual(len(waiting), 4)
        self.run_worker(1, channels=("low",))
        # Tried and failed (network), or held by the breaker the failures opened.
        self.assertEqual(set(waiting.mapped("state")), {"pending"})
        self.assertIn("network", waiting.mapped("last_error_class"))
        self.assertLessEqual(set(waiting.mapped("last_error_class")), {"network", False})
        self.assertFalse(self.Job.search_count([("id", "in", waiting.ids),
                                                ("state", "=", "dead")]))
        rabbitmqctl("start_app")
        rabbitmqctl("await_startup")
        self.drain_outbox(start=60)
        jobs = self.publish_jobs(during | before)
        self.assertEqual(set(jobs.mapped("state")), {"done"})
        # Every event exactly once, those published before the outage included (a
        # durable queue keeps persistent messages across the restart).
        ids = [props.message_id for _m, props, _b in take_all(self.queue)]
        self.assertCountEqual(ids, [job._outbox_payload()["event_id"] for job in jobs])
        self.assertEqual(len(ids), 6)

    def test_bad_target_is_refused(self):
        with self.assertRaises(ValidationError):
            self.subscribe(amqp_url="http://broker")
        with self.assertRaises(ValidationError):
            self.subscribe(amqp_exchange=False)
        with self.assertRaises(ValidationError):
            self.env["shipment.sync.subscription"].create({
                "name": "No URL", "partner_id": self.subscriber.id, "transport": "http"})


@tagged("post_install", "-at_install")
class TestAmqpInbound(BrokerMixin, ShipmentSyncCommon, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_shipment_sync()
        suffix = uuid.uuid4().hex[:8]
        cls.queue = f"shipsync.test.inbound.{suffix}"
        cls.dead = f"shipsync.test.inbound.dead.{suffix}"
        cls.dlx = f"shipsync.test.dlx.{suffix}"
        cls.partner.write({"amqp_inbound_url": URL, "amqp_inbound_queue": cls.queue})
        cls.Event = cls.env["shipment.sync.event"]
        cls.broker_error = None
        try:
            # Refused messages are dead-lettered to the partner's dead-letter queue.
            cls.declare(cls.dlx, cls.dead, binding="#")
            cls.declare(None, cls.queue, **{"x-dead-letter-exchange": cls.dlx})
        except pika.exceptions.AMQPError as exc:
            cls.broker_error = exc

    def setUp(self):
        super().setUp()
        broker_or_skip(self)
        take_all(self.queue)
        take_all(self.dead)
        # The drain commits each message in its own cursor: savepoints of the test's.
        self.registry.enter_test_mode(self.cr)
        self.addCleanup(self.registry.leave_test_mode)

    def send(self, body, content_type="application/json", message_id=None):
        connection, channel = open_channel()
        try:
            channel.basic_publish("", self.queue, body, pika.BasicProperties(
                content_type=content_type, message_id=message_id or uuid.uuid4().hex,
                delivery_mode=2, headers={"traceparent": tracing.traceparent_for("x")}))
        finally:
            connection.close()

    def rows(self, **domain):
        self.env.invalidate_all()
        return self.Event.search([("partner_id", "=", self.partner.id)]
                                 + [(k, "=", v) for k, v in domain.items()])

    def queue_depth(self, queue):
        connection, channel = open_channel()
        try:
            return channel.queue_declare(queue, passive=True).method.message_count
        finally:
            connection.close()

    def test_a_message_lands_in_the_ledger_once_and_is_acked(self):
        event = canonical_event(self.picking.name, milestone="packed")
        self.send(json.dumps(envelope(event)).encode())
        # The scheduled action drains every partner's queue.
        self.env["shipment.sync.partner"]._cron_amqp_drain()
        [row] = self.rows(external_id=event["id"])
        self.assertIn(row.state, ("received", "applied"))
        self.assertEqual(self.picking.shipment_milestone, "packed")
        self.assertIn("traceparent", json.loads(row.headers_json))
        self.assertEqual(self.queue_depth(self.queue), 0)
        self.assertIn("1 stored", self.partner.amqp_inbound_status)

    def test_a_redelivered_message_is_deduplicated(self):
        event = canonical_event(self.picking.name, milestone="packed")
        self.send(json.dumps(envelope(event)).encode())
        # A consumer stores the message, then dies before its ack: the broker
        # redelivers it (redelivered=True).
        connection, channel = open_channel()
        method, props, body = channel.basic_get(self.queue, auto_ack=False)
        delivery = amqp.Delivery(body=body, message_id=props.message_id,
                                 content_type=props.content_type, headers=props.headers,
                                 redelivered=False, routing_key=method.routing_key)
        self.assertEqual(self.partner._amqp_receive(delivery), amqp.ACK)
        connection.close()  # no ack
        stats = self.partner._amqp_drain()
        self.assertEqual(stats.acked, 1)
        self.assertEqual(len(self.rows(external_id=event["id"], state="duplicate")), 1)
        self.assertEqual(len(self.rows(external_id=event["id"]).filtered(
            lambda r: r.state != "duplicate")), 1)
        self.assertEqual(self.queue_depth(self.queue), 0)

    def test_an_invalid_message_is_recorded_and_does_not_block_the_queue(self):
        self.send(b'{"schema_version": "1", "events": [{"id": 5}]}')
        self.send(b"<xml/>", content_type="text/xml")
        self.send(b"{not json")
        good = canonical_event(self.picking.name, milestone="packed")
        self.send(json.dumps(envelope(good)).encode())
        stats = self.partner._amqp_drain()
        self.assertEqual((stats.acked, stats.rejected), (1, 3))
        refused = self.rows(state="rejected")
        self.assertEqual(sorted(refused.mapped("http_status")), [400, 400, 415])
        self.assertIn("unsupported_media_type", refused.mapped("error_code"))
        self.assertTrue(all(refused.mapped("error_code")))
        self.assertTrue(self.rows(external_id=good["id"]))
        self.assertEqual(self.picking.shipment_milestone, "packed")
        self.assertEqual(self.queue_depth(self.queue), 0)
        # The refused messages wait in the partner's dead-letter queue, untouched.
        self.assertEqual(len(take_all(self.dead)), 3)

    def test_an_unreachable_broker_is_reported_not_raised(self):
        self.partner.amqp_inbound_url = "amqp://guest:guest@127.0.0.1:1/%2F"
        stats = self.partner._amqp_drain()
        self.assertEqual(stats.taken, 0)
        self.assertIn("AMQPConnectionError", self.partner.amqp_inbound_status)
