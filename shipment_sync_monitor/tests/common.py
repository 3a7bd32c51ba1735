"""Shared setup of the monitor's tests: the core's partners and pickings, and
helpers to feed partner events through the real ledger."""

import uuid
from datetime import timedelta

from odoo.tests import new_test_user

from odoo.addons.shipment_sync.tests.common import T0, ShipmentSyncCommon

from shipsync.normalizers import CanonicalEvent


class MonitorCommon(ShipmentSyncCommon):
    @classmethod
    def setup_monitor(cls):
        cls.setup_shipment_sync()
        cls.Event = cls.env["shipment.sync.event"]
        cls.Card = cls.env["shipment.sync.exception"]
        cls.ops = new_test_user(cls.env, "ops_monitor", groups="shipment_sync.group_user",
                                email="ops@example.com")

    def ingest(self, partner, milestone=None, minutes=0, picking=None, reason=None,
               event_id=None, message="", at=None):
        event = CanonicalEvent(
            external_id=event_id or uuid.uuid4().hex,
            occurred_at=at or (T0 + timedelta(minutes=minutes)),
            milestone=milestone, exception_reason=reason, message=message,
            picking_ref=(picking or self.picking).name)
        new, _dups = self.Event._ingest(partner, [event])
        new._apply_now()
        return new

    def cards(self, picking=None, **domain):
        return self.Card.search([("picking_id", "=", (picking or self.picking).id)]
                                + [(k, "=", v) for k, v in domain.items()])


def insert_jobs(env, partner, count, state="pending", picking=None, operation="http_call"):
    """Bulk outbox jobs straight in SQL (the figures, not the workers, are tested)."""
    env.flush_all()
    env.cr.execute(
        "INSERT INTO shipment_sync_job (partner_id, company_id, operation, picking_id, payload, "
        "idempotency_key, channel, state, attempts, next_attempt_at, create_date, write_date) "
        "SELECT %s, %s, %s, %s, '{}', md5(random()::text || g::text), 'high', %s, 0, "
        "now() at time zone 'utc', now() at time zone 'utc', now() at time zone 'utc' "
        "FROM generate_series(1, %s) g RETURNING id",
        (partner.id, partner.company_id.id, operation, picking.id if picking else None, state,
         count))
    ids = [r[0] for r in env.cr.fetchall()]
    env.invalidate_all()
    return env["shipment.sync.job"].browse(ids)


def insert_attempts(env, job, outcomes, started_at, duration_ms=100):
    env.flush_all()
    for number, outcome in enumerate(outcomes, start=1):
        env.cr.execute(
            "INSERT INTO shipment_sync_job_attempt (job_id, partner_id, company_id, number, "
            "started_at, duration_ms, http_status, outcome) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (job.id, job.partner_id.id, job.company_id.id, number, started_at, duration_ms,
             200 if outcome == "done" else 503, outcome))
    env.invalidate_all()


def insert_events(env, partner, received_at, delays, state="applied", picking=None):
    """Inbound ledger events received at ``received_at``, applied ``delays``
    seconds later (None: not applied yet)."""

    Event = env["shipment.sync.event"]
    ids = Event._insert_rows([{
        "partner_id": partner.id, "partner_code": partner.code,
        "company_id": partner.company_id.id, "direction": "inbound",
        "external_id": uuid.uuid4().hex, "state": state if delay is not None else "received",
        "received_at": received_at, "occurred_at": received_at, "milestone": "in_transit",
        "is_mapped": True, "authoritative": True,
        "picking_id": picking.id if picking else None,
    } for delay in delays])
    for event_id, delay in zip(ids, delays, strict=True):
        if delay is not None:
            env.cr.execute("UPDATE shipment_sync_event SET applied_at = %s WHERE id = %s",
                           (received_at + timedelta(seconds=delay), event_id))
    env.invalidate_all()
    return Event.browse(ids)
