"""The webhook's ingest path made cheap without giving anything up: cached partner
profiles dropped on every relevant write, one trigger row per request, coalesced
cron wake-ups that never leave a committed trigger unannounced, and transfers
matched by name in one search with the same choice as one by one."""

import importlib.util
import select
import threading
import time
import uuid
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from unittest.mock import patch

import psycopg2

from odoo import sql_db
from odoo.tests import TransactionCase, tagged

from odoo.addons.shipment_sync.models import shipment_sync_event as event_module

from shipsync.normalizers import CanonicalEvent

from .common import T0, ShipmentSyncCommon


@tagged("post_install", "-at_install")
class TestIngestPath(ShipmentSyncCommon, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_shipment_sync()
        cls.Partner = cls.env["shipment.sync.partner"].sudo()
        cls.Event = cls.env["shipment.sync.event"].sudo()

    def test_profile_follows_every_write_of_the_webhook_settings(self):
        code = self.partner.code
        (profile,) = self.Partner._webhook_profiles(code)
        self.assertEqual(profile.id, self.partner.id)
        self.assertEqual(profile.webhook_secret, self.partner.sudo().webhook_secret)
        self.assertIsNone(profile.authority)
        self.partner.sudo().write({"webhook_secret": "whsec_bmV3LXNlY3JldC0wMTIzNDU2Nzg5",
                                   "webhook_secret_previous": False})
        self.assertEqual(self.Partner._webhook_profiles(code)[0].webhook_secret,
                         "whsec_bmV3LXNlY3JldC0wMTIzNDU2Nzg5")
        self.partner.authoritative_milestone_ids = self.env["shipment.sync.milestone"].search(
            [("code", "in", ("picked", "packed"))])
        self.assertEqual(self.Partner._webhook_profiles(code)[0].authority,
                         frozenset({"picked", "packed"}))
        self.assertEqual(self.partner._shipsync_authoritative_codes(),
                         frozenset({"picked", "packed"}))
        self.partner.active = False
        self.assertEqual(self.Partner._webhook_profiles(code), ())

    def test_profile_keeps_a_previous_secret_only_within_its_grace(self):
        self.partner.sudo().write({
            "webhook_secret_previous": "whsec_b2xkLXNlY3JldC0wMTIzNDU2Nzg5",
            "webhook_secret_previous_expires_at": T0.replace(tzinfo=None)})
        (profile,) = self.Partner._webhook_profiles(self.partner.code)
        before = T0.replace(tzinfo=None) - timedelta(minutes=1)
        after = T0.replace(tzinfo=None) + timedelta(minutes=1)
        self.assertEqual(len(profile.secrets(now=before)), 2)
        self.assertEqual(profile.secrets(now=after), [self.partner.sudo().webhook_secret])

    def test_trigger_apply_wakes_after_the_commit_and_inserts_nothing_in_the_transaction(self):
        cron = self.env.ref("shipment_sync.ir_cron_apply_events")
        Trigger = self.env["ir.cron.trigger"].sudo()
        before = Trigger.search_count([("cron_id", "=", cron.id)])
        woken = []
        with patch.object(event_module._waker, "wake", woken.append):
            self.Event._trigger_apply()
            self.assertEqual(Trigger.search_count([("cron_id", "=", cron.id)]), before)
            self.assertEqual(woken, [])  # not before the commit
            self.env.cr.postcommit.run()
        self.assertEqual(woken, [self.env.cr.dbname])


    def test_an_event_naming_only_its_transfer_is_linked_by_its_insert(self):
        picking, other = self.make_picking(), self.make_picking()
        other.carrier_tracking_ref = "1Z999"

        def event(**kw):
            return CanonicalEvent(external_id=uuid.uuid4().hex, occurred_at=T0,
                                  milestone="picked", **kw)

        named = event(picking_ref=picking.name)
        new, _dups = self.Event._ingest(self.partner, [
            named, event(picking_ref="NO/SUCH/REF"),
            event(picking_ref=picking.name, tracking_number="1Z999")])
        by_ref = {(e.picking_ref, e.tracking_number or ""): e for e in new}
        self.assertEqual(by_ref[(picking.name, "")].picking_id, picking)  # before any apply
        self.assertFalse(by_ref[("NO/SUCH/REF", "")].picking_id)
        # A tracking number is matched by the apply's own rules (here: the other transfer).
        self.assertFalse(by_ref[(picking.name, "1Z999")].picking_id)
        new._resolve_pickings()
        self.assertEqual(by_ref[(picking.name, "1Z999")].picking_id, other)
        self.assertEqual(by_ref[("NO/SUCH/REF", "")].state, "unmatched")
        # The same event again: its duplicate row names no transfer.
        again, _dups = self.Event._ingest(self.partner, [named])
        self.assertFalse(again)
        duplicate = self.Event.search([("external_id", "=", named.external_id),
                                       ("state", "=", "duplicate")])
        self.assertEqual(len(duplicate), 1)
        self.assertFalse(duplicate.picking_id)
        # A partner that does not match by transfer reference links nothing itself.
        self.partner.lookup_picking_name = False
        late, _dups = self.Event._ingest(self.partner, [event(picking_ref=picking.name)])
        self.assertFalse(late.picking_id)

    def test_names_matched_in_one_search_like_one_by_one(self):
        pickings = [self.make_picking() for _i in range(3)]
        events = []
        for ref in [p.name for p in pickings] + ["NO/SUCH/REF"]:
            events.append(CanonicalEvent(external_id=uuid.uuid4().hex, occurred_at=T0,
                                         milestone="picked", picking_ref=ref))
        new, _dups = self.Event._ingest(self.partner, events)
        one_by_one = {
            e.id: self.env["stock.picking"].sudo()._shipment_find(
                e.partner_id, e.tracking_number, e.picking_ref, e.correlation_id, e.company_id)
            for e in new}
        self.assertEqual(self.Event._pickings_by_name(new), one_by_one)
        new._resolve_pickings()
        self.assertEqual(new.mapped("picking_id"), self.env["stock.picking"].concat(*pickings))
        self.assertEqual(new.filtered(lambda e: e.picking_ref == "NO/SUCH/REF").state,
                         "unmatched")


@tagged("post_install", "-at_install")
class TestCronWaker(TransactionCase):
    def test_wake_ups_are_coalesced_and_the_last_commit_is_always_announced(self):
        calls = []
        waker = event_module._CronWaker(interval=0.2)
        waker._announce = lambda dbname: calls.append((dbname, time.monotonic()))
        start = time.monotonic()
        for _i in range(5):
            waker.wake("db1")
        self.assertEqual(len(calls), 1)  # the first at once, the others coalesced
        deadline = time.monotonic() + 5
        while len(calls) < 2 and time.monotonic() < deadline:
            threading.Event().wait(0.02)
        self.assertEqual(len(calls), 2)  # one trailing wake-up covers the four others
        self.assertLess(calls[1][1] - start, 2.0)
        threading.Event().wait(0.3)
        self.assertEqual(len(calls), 2)
        waker.wake("db1")  # past the interval: at once again
        self.assertEqual(len(calls), 3)
        waker.wake("db2")  # another database is not held back by db1
        self.assertEqual([c[0] for c in calls], ["db1", "db1", "db1", "db2"])

    def test_a_wake_up_commits_one_trigger_of_the_apply_cron_and_none_while_it_is_off(self):
        dbname = self.env.cr.dbname
        cron_id = self.env.ref("shipment_sync.ir_cron_apply_events").id

        def run(query, params=(), commit=False):
            # Another transaction: the waker's trigger is committed, not in ours
            # (Odoo's cursor commits at the end of a ``with`` block, closing() does not).
            cursor = sql_db.db_connect(dbname).cursor()
            with cursor if commit else closing(cursor) as cr:
                cr.execute(query, params)
                return cr.fetchall() if cr.description else None

        (last,), = run("SELECT COALESCE(max(id), 0) FROM ir_cron_trigger")
        mine = "SELECT cron_id FROM ir_cron_trigger WHERE id > %s"
        waker = event_module._CronWaker()
        try:
            waker._insert_trigger(dbname)
            self.assertEqual(run(mine, [last]), [(cron_id,)])
            run("UPDATE ir_cron SET active = false WHERE id = %s", [cron_id], commit=True)
            waker._insert_trigger(dbname)
            self.assertEqual(run(mine, [last]), [(cron_id,)])  # none for an inactive cron
        finally:
            run("UPDATE ir_cron SET active = true WHERE id = %s", [cron_id], commit=True)
            run("DELETE FROM ir_cron_trigger WHERE id > %s", [last], commit=True)

    def test_the_wake_up_reaches_the_cron_listeners_over_one_kept_connection(self):
        waker = event_module._CronWaker()
        listener = psycopg2.connect(**sql_db.connection_info_for("postgres")[1])
        listener.autocommit = True
        try:
            with listener.cursor() as cr:
                cr.execute("LISTEN cron_trigger")
            waker._notify("shipsync-waker-a")
            first = waker._conn.get_backend_pid()
            waker._notify("shipsync-waker-b")
            self.assertEqual(waker._conn.get_backend_pid(), first)  # not a new connection
            waker._conn.close()  # gone (a restarted server): the next one opens another
            waker._notify("shipsync-waker-c")
            self.assertNotEqual(waker._conn.get_backend_pid(), first)
            received, deadline = [], time.monotonic() + 10
            while len(received) < 3 and time.monotonic() < deadline:
                select.select([listener], [], [], 0.5)
                listener.poll()
                received += [n.payload for n in listener.notifies
                             if n.payload.startswith("shipsync-waker-")]
                listener.notifies.clear()
            self.assertEqual(received, ["shipsync-waker-a", "shipsync-waker-b",
                                        "shipsync-waker-c"])
        finally:
            listener.close()
            if waker._conn is not None:
                waker._conn.close()


@tagged("post_install", "-at_install")
class TestLedgerIndexes(TransactionCase):
    def indexes(self):
        self.env.cr.execute("SELECT indexname, indexdef FROM pg_indexes "
                            "WHERE tablename = 'shipment_sync_event'")
        return dict(self.env.cr.fetchall())

    def test_each_event_writes_only_the_indexes_it_needs(self):
        indexes = self.indexes()
        # picking_id is served by the (picking_id, occurred_at) index, milestone by none.
        self.assertNotIn("shipment_sync_event__picking_id_index", indexes)
        self.assertNotIn("shipment_sync_event__milestone_index", indexes)
        self.assertIn("shipment_sync_event_picking_occurred_idx", indexes)
        for column in ("raw_code", "tracking_number", "tracking_key", "picking_ref",
                       "correlation_id"):
            definition = indexes[f"shipment_sync_event__{column}_index"]
            self.assertIn(f"WHERE ({column} IS NOT NULL)", definition)
        # The picking's events are still found through an index (the table of a test
        # database is small: PostgreSQL is told to prefer an index, as on a large one).
        self.env.cr.execute("SET LOCAL enable_seqscan = off")
        self.env.cr.execute("EXPLAIN SELECT id FROM shipment_sync_event WHERE picking_id = 1")
        plan = " ".join(row[0] for row in self.env.cr.fetchall())
        self.assertIn("shipment_sync_event_picking_occurred_idx", plan)

    def test_the_upgrade_drops_the_indexes_that_go_or_change(self):
        path = Path(__file__).parents[1] / "migrations" / "18.0.1.3.0" / "pre-migration.py"
        spec = importlib.util.spec_from_file_location("shipsync_migration_1_3", path)
        migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(migration)
        cr = self.env.cr
        cr.execute("SAVEPOINT ledger_indexes")
        try:
            # The 18.0.1.2.0 schema: plain indexes under Odoo's names.
            for column in ("picking_id", "milestone", "tracking_number"):
                cr.execute(f"DROP INDEX IF EXISTS shipment_sync_event__{column}_index")
                cr.execute(f"CREATE INDEX shipment_sync_event__{column}_index "
                           f"ON shipment_sync_event ({column})")
            migration.migrate(cr, "18.0.1.2.0")
            indexes = self.indexes()
            for column in ("picking_id", "milestone", "tracking_number", "raw_code"):
                self.assertNotIn(f"shipment_sync_event__{column}_index", indexes)
            self.assertIn("shipment_sync_event__request_uid_index", indexes)  # untouched
            # The module update then builds the partial ones again.
            self.env.registry.check_indexes(cr, ["shipment.sync.event"])
            self.assertIn("WHERE (tracking_number IS NOT NULL)",
                          self.indexes()["shipment_sync_event__tracking_number_index"])
            self.assertNotIn("shipment_sync_event__milestone_index", self.indexes())
        finally:
            cr.execute("ROLLBACK TO SAVEPOINT ledger_indexes")
