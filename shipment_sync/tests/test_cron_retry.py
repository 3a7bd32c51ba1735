"""Crons retry a serialization conflict instead of failing their run: the
shared helper against a real conflict between two committed transactions, and
every cron of the suite going through it."""

import re
import uuid

from psycopg2.errors import SerializationFailure

from odoo import SUPERUSER_ID, api
from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger

from odoo.addons.shipment_sync.models.cron_retry import retry_conflicts


@tagged("post_install", "-at_install")
class TestCronRetry(TransactionCase):
    def commit_partner(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            partner = env["shipment.sync.partner"].create(
                {"name": "Conflict", "code": f"conflict-{uuid.uuid4().hex[:8]}"})
            cr.commit()  # pylint: disable=invalid-commit
        self.addCleanup(self.delete_partner, partner.id)
        return partner.id

    def delete_partner(self, partner_id):
        with self.registry.cursor() as cr:
            cr.execute("DELETE FROM shipment_sync_partner WHERE id = %s", [partner_id])
            cr.commit()  # pylint: disable=invalid-commit

    def read_name(self, partner_id):
        with self.registry.cursor() as cr:
            cr.execute("SELECT name FROM shipment_sync_partner WHERE id = %s", [partner_id])
            return cr.fetchone()[0]

    @mute_logger("odoo.sql_db")  # the provoked conflict is logged as a bad query
    def test_a_serialization_conflict_is_retried_in_a_fresh_transaction(self):
        partner_id = self.commit_partner()
        runs = []

        def work(model):
            """A cron body: read (its snapshot starts), then update the row a
            webhook transaction updated and committed in between (first run)."""
            cr = model.env.cr
            runs.append(model.env.context.get("shipment_sync_cron_retrying"))
            cr.execute("SELECT name FROM shipment_sync_partner WHERE id = %s", [partner_id])
            if len(runs) == 1:
                with self.registry.cursor() as other:  # the second cursor
                    other.execute("UPDATE shipment_sync_partner SET name = 'webhook' "
                                  "WHERE id = %s", [partner_id])
                    other.commit()  # pylint: disable=invalid-commit
            cr.execute("UPDATE shipment_sync_partner SET name = name || ' + cron' "
                       "WHERE id = %s", [partner_id])
            return len(runs)

        cron = retry_conflicts(work)
        with self.registry.cursor() as cr:  # REPEATABLE READ, like a cron's cursor
            env = api.Environment(cr, SUPERUSER_ID, {})
            self.assertEqual(cron(env["shipment.sync.partner"]), 2)
            cr.commit()  # pylint: disable=invalid-commit
        self.assertEqual(runs, [True, True])
        self.assertEqual(self.read_name(partner_id), "webhook + cron",
                         "retried on top of the webhook's committed change")

        # Without the helper the same conflict fails the run.
        runs.clear()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            with self.assertRaises(SerializationFailure):
                work(env["shipment.sync.partner"])
            cr.rollback()

    def test_a_nested_call_does_not_start_a_second_retry_loop(self):
        seen = []

        @retry_conflicts
        def inner(model):
            seen.append(("inner", model.env.context.get("shipment_sync_cron_retrying")))

        @retry_conflicts
        def outer(model):
            inner(model)

        with self.registry.cursor() as cr:
            outer(api.Environment(cr, SUPERUSER_ID, {})["shipment.sync.partner"])
            cr.rollback()
        self.assertEqual(seen, [("inner", True)])

    def test_every_cron_of_the_suite_retries_conflicts(self):
        crons = self.env["ir.cron"].with_context(active_test=False).search([])
        data = self.env["ir.model.data"].search([
            ("model", "=", "ir.cron"), ("res_id", "in", crons.ids),
            ("module", "=like", "shipment_sync%")])
        self.assertTrue(data)
        for xmlid in data:
            cron = self.env["ir.cron"].browse(xmlid.res_id)
            names = re.findall(r"model\.(\w+)\(", cron.code or "")
            self.assertTrue(names, f"{xmlid.complete_name}: {cron.code!r}")
            for name in names:
                method = getattr(type(self.env[cron.model_id.model]), name)
                self.assertTrue(getattr(method, "shipment_sync_retry_conflicts", False),
                                f"{xmlid.complete_name} runs {name} without retry_conflicts")
