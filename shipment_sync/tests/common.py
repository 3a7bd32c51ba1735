import json
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

from odoo import SUPERUSER_ID, api
from odoo.tests import Form  # noqa: F401  (re-exported for the addons' tests)

from shipsync.signatures import StandardWebhooks, make_verifier

WHSEC = "whsec_" + "dGVzdC1zaGlwc3luYy1zZWNyZXQta2V5LTAxMjM0NTY3"
T0 = datetime(2026, 11, 2, 8, 0, tzinfo=timezone.utc)


def iso(dt):
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def envelope(*events):
    return {"schema_version": "1", "events": list(events)}


def canonical_event(ref, milestone=None, minutes=0, event_id=None, **extra):
    event = {"id": event_id or f"ev-{uuid.uuid4().hex[:12]}",
             "occurred_at": iso(T0 + timedelta(minutes=minutes)), "picking_ref": ref}
    if milestone:
        event["milestone"] = milestone
    event.update(extra)
    return event


class ShipmentSyncCommon:
    """Mixin with partners, a delivery order and request signing."""

    @classmethod
    def setup_shipment_sync(cls):
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=False))
        Partner = cls.env["shipment.sync.partner"]
        cls.partner = Partner.create({
            "name": "Test WMS", "code": f"wms-{uuid.uuid4().hex[:6]}", "kind": "wms",
            "inbound_format": "canonical", "signature_scheme": "standard_webhooks",
            "webhook_secret": WHSEC, "processing_mode": "inline",
        })
        cls.carrier = Partner.create({
            "name": "Test EasyPost", "code": f"ep-{uuid.uuid4().hex[:6]}", "kind": "aggregator",
            "inbound_format": "easypost", "signature_scheme": "easypost",
            "webhook_secret": "ep-secret", "processing_mode": "inline",
        })
        cls.product = cls.env["product.product"].create({
            "name": "Sync Widget", "is_storable": True, "default_code": "SYNC-W"})
        cls.customer = cls.env["res.partner"].create({"name": "Ada Customer"})
        cls.picking = cls.make_picking()

    @classmethod
    def make_picking(cls, qty=5.0, **vals):
        picking_type = cls.env.ref("stock.picking_type_out")
        picking = cls.env["stock.picking"].create({
            "picking_type_id": picking_type.id, "partner_id": cls.customer.id,
            "location_id": picking_type.default_location_src_id.id,
            "location_dest_id": cls.env.ref("stock.stock_location_customers").id,
            "move_ids": [(0, 0, {
                "name": cls.product.name, "product_id": cls.product.id,
                "product_uom_qty": qty, "product_uom": cls.product.uom_id.id,
                "location_id": picking_type.default_location_src_id.id,
                "location_dest_id": cls.env.ref("stock.stock_location_customers").id,
            })],
            **vals,
        })
        picking.action_confirm()
        return picking

    def sign_standard(self, body, secret=WHSEC, msg_id=None, timestamp=None):
        return StandardWebhooks([secret]).headers(msg_id or uuid.uuid4().hex, body,
                                                  timestamp=timestamp)

    def sign_easypost(self, body, secret="ep-secret"):
        return make_verifier("easypost", [secret]).headers(body)

    @staticmethod
    def dumps(payload):
        return json.dumps(payload).encode()

    def events_of(self, picking):
        return self.env["shipment.sync.event"].search(
            [("picking_id", "=", picking.id)], order="occurred_at, id")


RACE_LOCK_TIMEOUT = 30.0


def wait_until_blocked(registry, waiter_pid, holder_pid, thread, timeout=RACE_LOCK_TIMEOUT):
    """Return once PostgreSQL reports backend ``waiter_pid`` waiting on a lock
    held by ``holder_pid`` (``pg_blocking_pids``, read live from the lock
    manager). Fails loudly when ``thread`` (the waiter's) ends first — the
    two transactions ran one after the other, not as a race — or when it
    has not blocked after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    with registry.cursor() as cr:
        while True:
            cr.execute("SELECT %s = ANY(pg_blocking_pids(%s))", [holder_pid, waiter_pid])
            if cr.fetchone()[0]:
                return
            # Waiting on the thread, not a fixed sleep: it returns at once when
            # the second transaction finished without ever waiting on the lock.
            thread.join(0.01)
            if not thread.is_alive():
                raise AssertionError(
                    "race: the second transaction ended without waiting on the first's "
                    "lock; the two ran one after the other, nothing was raced")
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"race: backend {waiter_pid} did not block on a lock of backend "
                    f"{holder_pid} within {timeout:.0f}s")


def race_two_transactions(registry, work):
    """Run ``work(env)`` in two real transactions, the second starting while
    the first is still open; the first commits only once PostgreSQL shows the
    second waiting on one of its locks (an insert into the same unique index,
    a row lock). Returns the two results; an exception of the second is
    returned as its repr, for the caller's assertion."""
    results = {}

    def second(env):
        try:
            with env.cr:
                results["second"] = work(env)
        except Exception as exc:  # reported by the caller's assertion
            results["second"] = repr(exc)

    # Environments are made here: the test runner holds the registry lock
    # that a thread would wait on to build one.
    env_first = api.Environment(registry.cursor(), SUPERUSER_ID, {})
    env_second = api.Environment(registry.cursor(), SUPERUSER_ID, {})
    first_pid = env_first.cr._cnx.get_backend_pid()
    second_pid = env_second.cr._cnx.get_backend_pid()
    thread = threading.Thread(target=second, args=(env_second,))
    try:
        with env_first.cr:
            results["first"] = work(env_first)
            thread.start()
            wait_until_blocked(registry, second_pid, first_pid, thread)
    finally:
        if thread.is_alive() or thread.ident:
            thread.join(RACE_LOCK_TIMEOUT)
        else:
            env_second.cr.close()
    if thread.is_alive():
        raise AssertionError("race: the second transaction did not finish after the first "
                             "committed")
    return results["first"], results.get("second")
