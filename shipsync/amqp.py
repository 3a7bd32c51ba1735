"""RabbitMQ (AMQP 0-9-1) transport of the event backbone, with ``pika``.

Outbound (a subscription whose target is an exchange):

* :func:`routing_key` - ``<company>.<event type>`` on a topic exchange, e.g.
  ``1.shipment.milestone_changed``: a consumer binds ``1.#`` (one company),
  ``*.shipment.milestone_changed`` (one event type) or ``#``.
* :func:`message_properties` - the AMQP properties of an event: ``message_id`` is the
  stable event id (consumers dedupe on it), ``content_type`` ``application/json``,
  persistent, ``type`` the event type, ``correlation_id`` the shipment's, and the headers
  ``schema_version``, ``traceparent`` and ``correlation_id``.
* :func:`publish` - one message, published with publisher confirms and ``mandatory``:
  only a broker ``basic.ack`` is a success. A ``basic.nack``, an unroutable message
  (``basic.return``), a broker that refuses the channel or cannot be reached are
  retryable :class:`shipsync.outbox.Outcome` failures, so the outbox retries them by
  the subscriber's retry policy (never lost; never acknowledged before the broker has it).

Inbound (a partner publishing canonical events to a queue): :func:`drain` takes up to
``limit`` messages with ``basic.get`` and settles each with the verdict of a handler
that runs (and commits) before the ack.

Connections are reused per process (:class:`ConnectionPool`): one connection per URL and
calling thread at a time; an idle one older than ``MAX_IDLE`` seconds is closed rather
than reused (a blocking pika connection only answers heartbeats while it is used).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pika
from pika import exceptions as pex

from .outbox.outcomes import Outcome

CONTENT_TYPE = "application/json"
#: AMQP header carrying the version of the event body's schema.
SCHEMA_HEADER = "schema_version"
APP_ID = "shipsync"
#: Seconds an idle pooled connection may wait before it is closed instead of reused.
MAX_IDLE = 20.0
#: Heartbeat proposed to the broker (seconds).
HEARTBEAT = 60
# pika logs every refused connection and closed channel at ERROR with a traceback; here
# each one is an outcome (the job's retry, the queue run's status), not an error.
logging.getLogger("pika").setLevel(logging.CRITICAL)
_WORD_RE = re.compile(r"[^a-z0-9_-]+")
#: Verdicts a :func:`drain` handler returns.
ACK, REJECT, REQUEUE = "ack", "reject", "requeue"


class AmqpError(Exception):
    """A broker-side failure, classified: ``error_class`` is a retryable class of
    :mod:`shipsync.retry` (``network``, ``timeout``, ``invalid_response``)."""

    def __init__(self, error_class: str, message: str):
        super().__init__(message)
        self.error_class, self.message = error_class, message


# --------------------------------------------------------------------------- building
def company_word(company: Any) -> str:
    """A routing-key word for a company (its id or code): lower case, only
    ``[a-z0-9_-]`` (a ``.`` would add a word, ``*``/``#`` are patterns); ``none`` for
    events of no company."""
    word = _WORD_RE.sub("-", str(company if company not in (None, False, "") else "none")
                        .strip().lower()).strip("-")
    return word or "none"


def routing_key(company: Any, event_type: str) -> str:
    """``<company>.<event type>``: the topic routing key of an event."""
    if not event_type or not re.fullmatch(r"[a-z0-9_]+(\.[a-z0-9_]+)*", event_type):
        raise ValueError(f"not an event type: {event_type!r}")
    return f"{company_word(company)}.{event_type}"


def message_properties(
    *,
    event_id: str,
    event_type: str,
    schema_version: str,
    correlation_id: str | None = None,
    traceparent: str | None = None,
    created_at: datetime | None = None,
) -> dict:
    """The AMQP basic properties of one event, as plain values (see
    :func:`basic_properties`)."""
    if not event_id:
        raise ValueError("an event needs its id (the AMQP message_id)")
    headers = {SCHEMA_HEADER: str(schema_version)}
    if traceparent:
        headers["traceparent"] = traceparent
    if correlation_id:
        headers["correlation_id"] = str(correlation_id)
    props = {
        "content_type": CONTENT_TYPE,
        "content_encoding": "utf-8",
        "delivery_mode": 2,  # persistent: survives a broker restart in a durable queue
        "message_id": str(event_id),
        "type": event_type,
        "app_id": APP_ID,
        "headers": headers,
    }
    if correlation_id:
        props["correlation_id"] = str(correlation_id)
    if created_at is not None:
        if created_at.tzinfo is None:
            created_at = created_at.replace(tzinfo=timezone.utc)
        props["timestamp"] = int(created_at.timestamp())
    return props


def basic_properties(props: Mapping[str, Any]) -> pika.BasicProperties:
    return pika.BasicProperties(**dict(props))


def connection_parameters(url: str, timeout: float = 10.0) -> pika.URLParameters:
    """``pika.URLParameters`` of an ``amqp://`` / ``amqps://`` URL, with the timeouts
    of the caller (connect, blocked connection) and one connection attempt: the outbox
    does the retrying."""
    if not isinstance(url, str) or not url.startswith(("amqp://", "amqps://")):
        raise ValueError("the broker URL must start with amqp:// or amqps://")
    params = pika.URLParameters(url)
    params.socket_timeout = timeout
    params.stack_timeout = timeout
    params.blocked_connection_timeout = timeout
    params.connection_attempts = 1
    params.heartbeat = HEARTBEAT
    return params


# --------------------------------------------------------------------------- connections
@dataclass
class _Link:
    connection: Any
    channel: Any
    used: float
    exchanges: set = field(default_factory=set)

    def usable(self, now: float) -> bool:
        return (self.connection.is_open and self.channel.is_open
                and now - self.used < MAX_IDLE)

    def close(self) -> None:
        try:
            if self.connection.is_open:
                self.connection.close()
        except Exception:  # noqa: BLE001 - closing a broken connection
            pass


def _alive(link: _Link) -> bool:
    """Read what the broker sent an idle connection meanwhile (a ``connection.close``
    when it stopped, an end of stream): False when it is gone."""
    try:
        link.connection.process_data_events(0)
    except Exception:  # noqa: BLE001 - any failure: not reusable
        return False
    return link.connection.is_open and link.channel.is_open


class ConnectionPool:
    """Idle confirm-mode channels per URL, handed to one thread at a time."""

    def __init__(self) -> None:
        self._idle: dict[str, list[_Link]] = {}
        self._lock = threading.Lock()

    def take(self, url: str, timeout: float) -> _Link:
        now = time.monotonic()
        while True:
            with self._lock:
                link = (self._idle.get(url) or [None]).pop()
            if link is None:
                break
            if link.usable(now) and _alive(link):
                return link
            link.close()
        connection = pika.BlockingConnection(connection_parameters(url, timeout))
        channel = connection.channel()
        channel.confirm_delivery()
        return _Link(connection, channel, now)

    def give_back(self, url: str, link: _Link) -> None:
        link.used = time.monotonic()
        with self._lock:
            self._idle.setdefault(url, []).append(link)

    def close_all(self) -> None:
        with self._lock:
            links = [link for links in self._idle.values() for link in links]
            self._idle.clear()
        for link in links:
            link.close()


POOL = ConnectionPool()


def _classify(exc: BaseException) -> AmqpError:
    text = f"{type(exc).__name__}: {str(exc) or repr(exc)}"[:500]
    if isinstance(exc, pex.UnroutableError):
        return AmqpError("invalid_response", "unroutable: no queue is bound to this routing "
                         "key (basic.return)")
    if isinstance(exc, pex.NackError):
        return AmqpError("invalid_response", "the broker did not confirm the message "
                         "(basic.nack)")
    if isinstance(exc, pex.ChannelClosedByBroker):
        return AmqpError("invalid_response", f"the broker closed the channel: "
                         f"{exc.reply_code} {exc.reply_text}"[:500])
    if isinstance(exc, pex.AMQPConnectionError | OSError) and "timed out" in text.lower():
        return AmqpError("timeout", text)
    return AmqpError("network", text)


def publish(
    url: str,
    exchange: str,
    key: str,
    body: bytes,
    properties: Mapping[str, Any],
    *,
    timeout: float = 10.0,
    declare: bool = True,
    pool: ConnectionPool | None = None,
) -> Outcome:
    """Publish one message with confirms and ``mandatory``; an :class:`Outcome`:
    success only on the broker's ``basic.ack`` of a routed message. ``declare``: the
    exchange is declared (durable topic) on first use by a connection."""
    pool = pool or POOL
    started = time.monotonic()
    link = None
    try:
        link = pool.take(url, timeout)
        if declare and exchange not in link.exchanges:
            link.channel.exchange_declare(exchange, exchange_type="topic", durable=True)
            link.exchanges.add(exchange)
        link.channel.basic_publish(exchange, key, body, basic_properties(properties),
                                   mandatory=True)
    except ValueError:
        raise
    except Exception as exc:  # noqa: BLE001 - every broker failure is an outcome
        error = _classify(exc)
        if link is not None:
            if isinstance(exc, pex.UnroutableError | pex.NackError) and link.channel.is_open:
                pool.give_back(url, link)  # the channel is still good
            else:
                link.close()
        return Outcome(error_class=error.error_class, error=error.message,
                       elapsed_ms=int((time.monotonic() - started) * 1000))
    pool.give_back(url, link)
    return Outcome(
        elapsed_ms=int((time.monotonic() - started) * 1000),
        data={"exchange": exchange, "routing_key": key,
              "message_id": properties.get("message_id"), "confirmed": True},
    )


# --------------------------------------------------------------------------- inbound
@dataclass(frozen=True)
class Delivery:
    """One message taken from a queue, as plain values."""

    body: bytes
    message_id: str | None
    content_type: str | None
    headers: Mapping[str, Any]
    redelivered: bool
    routing_key: str
    correlation_id: str | None = None
    type: str | None = None

    def header_map(self) -> dict:
        """The properties and headers as the text headers a webhook would have had."""
        out = {str(k).lower(): str(v) for k, v in (self.headers or {}).items()
               if isinstance(v, str | int | float | bytes)}
        if self.content_type:
            out["content-type"] = self.content_type
        if self.message_id:
            out["message-id"] = self.message_id
        if self.correlation_id:
            out.setdefault("correlation_id", self.correlation_id)
        return out


def _delivery(method, props, body) -> Delivery:
    return Delivery(
        body=bytes(body or b""), message_id=props.message_id,
        content_type=props.content_type, headers=dict(props.headers or {}),
        redelivered=bool(method.redelivered), routing_key=method.routing_key or "",
        correlation_id=props.correlation_id, type=props.type)


@dataclass
class DrainStats:
    acked: int = 0
    rejected: int = 0
    requeued: int = 0
    error: str = ""

    @property
    def taken(self) -> int:
        return self.acked + self.rejected + self.requeued


def drain(
    url: str,
    queue: str,
    handle: Callable[[Delivery], str],
    *,
    limit: int = 100,
    timeout: float = 10.0,
) -> DrainStats:
    """Take up to ``limit`` messages from ``queue`` with ``basic.get`` (no prefetch,
    nothing held between runs) and settle each by ``handle``'s verdict, given after the
    handler has committed what it did with the message: ``ack``; ``reject``
    (``basic.reject`` without requeue: dead-lettered when the queue has a dead-letter
    exchange); ``requeue`` (``basic.nack`` with requeue, and the run stops: a transient
    failure on our side). An exception of ``handle`` requeues and ends the run. Broker
    failures end the run with ``error`` set; unsettled messages go back to the queue
    when the connection closes."""
    stats = DrainStats()
    connection = None
    try:
        connection = pika.BlockingConnection(connection_parameters(url, timeout))
        channel = connection.channel()
        for _ in range(max(0, int(limit))):
            method, props, body = channel.basic_get(queue, auto_ack=False)
            if method is None:
                break
            try:
                verdict = handle(_delivery(method, props, body))
            except Exception:
                channel.basic_nack(method.delivery_tag, requeue=True)
                stats.requeued += 1
                raise
            if verdict == ACK:
                channel.basic_ack(method.delivery_tag)
                stats.acked += 1
            elif verdict == REJECT:
                channel.basic_reject(method.delivery_tag, requeue=False)
                stats.rejected += 1
            else:
                channel.basic_nack(method.delivery_tag, requeue=True)
                stats.requeued += 1
                break
    except pex.AMQPError as exc:
        stats.error = _classify(exc).message
    finally:
        if connection is not None:
            try:
                if connection.is_open:
                    connection.close()
            except Exception:  # noqa: BLE001
                pass
    return stats
