"""The RabbitMQ transport of the engine: what a message is built of (pure), and publish /
drain against the real broker (Debian's rabbitmq-server, SHIPSYNC_AMQP_URL; the test
command starts it; without it these tests skip, which CI=true fails)."""

import json
import os
import uuid
from datetime import datetime, timezone

import pika
import pytest

from shipsync import amqp, tracing

URL = os.environ.get("SHIPSYNC_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


# --------------------------------------------------------------------------- building
def test_routing_key_is_company_then_event_type():
    assert amqp.routing_key(1, "shipment.milestone_changed") == "1.shipment.milestone_changed"
    assert amqp.routing_key("ACME Ltd.", "shipment.exception_raised") == \
        "acme-ltd.shipment.exception_raised"
    assert amqp.routing_key(None, "shipment.label_created") == "none.shipment.label_created"
    assert amqp.routing_key(False, "x") == "none.x"
    # A company word never adds a word nor a pattern to the key.
    assert amqp.routing_key("a.b*#", "x") == "a-b.x"


@pytest.mark.parametrize("bad", ["", "Shipment.X", "a..b", "a.*", "a.#", ".a", "a b"])
def test_routing_key_refuses_what_is_not_an_event_type(bad):
    with pytest.raises(ValueError):
        amqp.routing_key(1, bad)


def test_message_properties_carry_event_id_schema_version_and_trace():
    tp = tracing.traceparent_for("corr-1")
    props = amqp.message_properties(
        event_id="msg_abc", event_type="shipment.milestone_changed", schema_version="2",
        correlation_id="corr-1", traceparent=tp,
        created_at=datetime(2026, 1, 2, 3, 4, 5))
    assert props == {
        "content_type": "application/json", "content_encoding": "utf-8", "delivery_mode": 2,
        "message_id": "msg_abc", "type": "shipment.milestone_changed", "app_id": "shipsync",
        "correlation_id": "corr-1",
        "timestamp": int(datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc).timestamp()),
        "headers": {"schema_version": "2", "traceparent": tp, "correlation_id": "corr-1"},
    }
    bare = amqp.message_properties(event_id="e", event_type="t", schema_version="1")
    assert bare["headers"] == {"schema_version": "1"}
    assert "correlation_id" not in bare and "timestamp" not in bare
    with pytest.raises(ValueError):
        amqp.message_properties(event_id="", event_type="t", schema_version="1")


@pytest.mark.parametrize("url", ["http://x", "", None, "guest@localhost"])
def test_broker_url_must_be_amqp(url):
    with pytest.raises(ValueError):
        amqp.connection_parameters(url)


# --------------------------------------------------------------------------- real broker
@pytest.fixture
def broker():
    try:
        connection = pika.BlockingConnection(amqp.connection_parameters(URL, 5))
    except pika.exceptions.AMQPError as exc:
        pytest.skip(f"RabbitMQ not reachable at {URL}: {exc!r}")
    channel = connection.channel()
    exchange = f"test.{uuid.uuid4().hex[:8]}"
    channel.exchange_declare(exchange, exchange_type="topic", durable=False, auto_delete=True)
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(queue, exchange, "7.#")
    yield connection, channel, exchange, queue
    connection.close()


def test_publish_is_confirmed_and_carries_the_properties(broker):
    connection, channel, exchange, queue = broker
    props = amqp.message_properties(event_id="msg_1", event_type="shipment.milestone_changed",
                                    schema_version="1", correlation_id="c-1")
    outcome = amqp.publish(URL, exchange, "7.shipment.milestone_changed", b'{"id":"msg_1"}',
                           props, declare=False)
    assert outcome.ok, outcome
    assert outcome.data["message_id"] == "msg_1" and outcome.data["confirmed"]
    method, got, body = channel.basic_get(queue, auto_ack=True)
    assert json.loads(body) == {"id": "msg_1"}
    assert (got.message_id, got.content_type, got.delivery_mode, got.correlation_id) == \
        ("msg_1", "application/json", 2, "c-1")
    assert got.headers["schema_version"] == "1"
    assert method.routing_key == "7.shipment.milestone_changed"


def test_unroutable_message_is_a_retryable_failure(broker):
    _connection, channel, exchange, queue = broker
    props = amqp.message_properties(event_id="msg_2", event_type="x", schema_version="1")
    outcome = amqp.publish(URL, exchange, "8.x", b"{}", props, declare=False)
    assert outcome.error_class == "invalid_response" and "unroutable" in outcome.error
    assert channel.queue_declare(queue, passive=True).method.message_count == 0
    # The pooled channel still works after a basic.return.
    assert amqp.publish(URL, exchange, "7.x", b"{}", props, declare=False).ok


def test_unreachable_broker_is_a_network_failure():
    props = amqp.message_properties(event_id="e", event_type="x", schema_version="1")
    outcome = amqp.publish("amqp://guest:guest@127.0.0.1:1/%2F", "ex", "1.x", b"{}", props)
    assert outcome.error_class == "network" and not outcome.ok


def test_drain_settles_each_message_by_the_handlers_verdict(broker):
    _connection, channel, exchange, _queue = broker
    seen = []

    def handle(delivery):
        n = json.loads(delivery.body)["n"]
        seen.append((delivery.message_id, delivery.redelivered))
        return {0: amqp.ACK, 1: amqp.REJECT, 2: amqp.REQUEUE}.get(n, amqp.ACK)

    # A private connection cannot get from the exclusive queue: drain through a shared one.
    shared = f"test.q.{uuid.uuid4().hex[:8]}"
    channel.queue_declare(shared, auto_delete=False)
    channel.queue_bind(shared, exchange, "7.#")
    try:
        for n in range(4):
            channel.basic_publish(exchange, "7.x", json.dumps({"n": n}).encode(),
                                  pika.BasicProperties(message_id=f"m{n}",
                                                       content_type="application/json"))
        stats = amqp.drain(URL, shared, handle, limit=10)
        # ack, reject, then a requeue stops the run.
        assert (stats.acked, stats.rejected, stats.requeued, stats.error) == (1, 1, 1, "")
        assert seen == [("m0", False), ("m1", False), ("m2", False)]
        seen.clear()
        stats = amqp.drain(URL, shared, lambda d: seen.append(d.message_id) or amqp.ACK)
        assert stats.acked == 2 and seen == ["m2", "m3"]
        assert channel.queue_declare(shared, passive=True).method.message_count == 0
    finally:
        channel.queue_delete(shared)


def test_drain_of_a_missing_queue_reports_it():
    try:
        pika.BlockingConnection(amqp.connection_parameters(URL, 5)).close()
    except pika.exceptions.AMQPError as exc:
        pytest.skip(f"RabbitMQ not reachable at {URL}: {exc!r}")
    stats = amqp.drain(URL, f"missing-{uuid.uuid4().hex}", lambda d: amqp.ACK)
    assert stats.taken == 0 and "404" in stats.error
