"""Transactional outbox: the policy a worker applies to a job, as pure functions.

A package of five parts, every name re-exported here (``from shipsync.outbox import X``):
:mod:`.policy` (settings, states, ordering, keys), :mod:`.claim` (what may be claimed now,
pauses, breaker, wake-up), :mod:`.outcomes` and :mod:`.settle` (what an attempt gave and
what becomes of the job), :mod:`.requests` and :mod:`.events` (what the built-in
operations send).

The Odoo addon stores jobs, leases and the breaker state in PostgreSQL and claims jobs
with ``SELECT ... FOR UPDATE SKIP LOCKED``; every decision it takes about them is made
here, from plain values:

* :class:`OutboundPolicy` - a partner's timeouts, concurrency, rate limit, retry policy,
  circuit breaker and ordering option (validated: timeouts are always set).
* :func:`plan_claim` - how many ready jobs of a partner a worker may claim now
  (partner-wide pause, concurrency, ``low`` never starving ``high``, rate limit,
  breaker, single probe).
* :func:`partner_pause` - a 429/503 with ``Retry-After`` pauses the whole partner
  ("no call before T", stored on the partner so that every worker sees it).
* :class:`PauseGate` - the pauses a worker knows of, checked by each claimed call just
  before it is sent (a call claimed before a 429 came back for its partner is held).
* :func:`next_wake` - when a worker must run again (retry due, pause end, breaker
  half-open, rate-limit slot, a lease running out).
* :class:`Outcome`, :func:`as_outcome`, :func:`outcome_from_exception` - what a handler
  returns (a :class:`shipsync.transport.HttpResult` is accepted as is).
* :func:`settle` - done, retry later (backoff with full jitter or ``Retry-After``) or dead,
  through :func:`shipsync.retry.decide`; plus the signal the breaker gets.
* :func:`breaker_admit` / :func:`breaker_report` - :mod:`shipsync.breaker` over the
  stored dict, with epoch seconds.
* :func:`http_call_request`, :func:`milestone_event`, :func:`signed_post` - the requests of
  the two built-in operations (``http_call`` and ``publish_event``).

Times are naive-UTC or aware ``datetime`` values for job columns, epoch seconds for the
breaker and the rate limit; nothing here reads a clock unless told to.
"""

from .claim import (
    ClaimPlan,
    Pause,
    PauseGate,
    breaker_admit,
    breaker_reopens_in,
    breaker_report,
    epoch,
    free_slots,
    from_epoch,
    merge_pause,
    next_wake,
    partner_pause,
    pause_remaining,
    plan_claim,
    rate_allowance,
)
from .handlers import Handler, register
from .events import EVENT_MILESTONE_CHANGED, milestone_event, wants
from .outcomes import (
    EXCERPT_LIMIT,
    RESULT_LIMIT,
    CallContext,
    Outcome,
    as_outcome,
    excerpt,
    jsonable,
    outcome_from_exception,
    run_call,
)
from .policy import (
    BLOCKING_STATES,
    BREAKER_FAILURES,
    CHANNELS,
    HEARTBEAT_SECONDS,
    LEASE_SECONDS,
    STATES,
    OutboundPolicy,
    blocks,
    default_sequence_key,
    purge_before,
    stable_id,
)
from .requests import HTTP_METHODS, encode, http_call_request, signed_post
from .settle import Settlement, breaker_signal, lease_expired, settle

__all__ = [
    "BLOCKING_STATES", "BREAKER_FAILURES", "CHANNELS", "EVENT_MILESTONE_CHANGED",
    "EXCERPT_LIMIT", "HEARTBEAT_SECONDS", "HTTP_METHODS", "LEASE_SECONDS", "RESULT_LIMIT",
    "STATES", "CallContext", "ClaimPlan", "Handler", "OutboundPolicy", "Outcome", "Pause",
    "PauseGate", "Settlement", "as_outcome", "blocks", "breaker_admit", "breaker_reopens_in",
    "breaker_report", "breaker_signal", "default_sequence_key", "encode", "epoch", "excerpt",
    "free_slots", "from_epoch", "http_call_request", "jsonable", "lease_expired",
    "merge_pause", "milestone_event", "next_wake", "outcome_from_exception", "partner_pause",
    "pause_remaining", "plan_claim", "purge_before", "rate_allowance", "register", "run_call",
    "settle", "signed_post", "stable_id", "wants",
]
