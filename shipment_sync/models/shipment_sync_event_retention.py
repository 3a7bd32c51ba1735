"""Retention of the event ledger's bodies (and of the outbox payloads and
attempt excerpts): the purge cron, composed by ``shipment.sync.event``."""

import threading

from odoo import api, fields, models
from odoo.tools import SQL

from shipsync import retention

from .cron_retry import retry_conflicts

PURGE_BATCH = retention.PURGE_BATCH


class ShipmentSyncEventRetention(models.AbstractModel):
    """The retention purge, run on ``shipment.sync.event`` (its cron's model)."""

    _name = "shipment.sync.event.retention"
    _description = "Shipment Sync retention purge"

    @api.model
    @retry_conflicts
    def _cron_purge_bodies(self, now=None, batch=PURGE_BATCH):
        """Blank bodies past retention, partner by partner, in small batches
        claimed with SKIP LOCKED (a row the webhook route or a worker holds is
        left for the next run). Ledger rows, states, timestamps and milestones
        stay. Returns the number of rows blanked per kind."""
        now = now or fields.Datetime.now()
        self.env.flush_all()
        partners = self.env["shipment.sync.partner"].sudo().with_context(
            active_test=False).search([])
        totals = {"inbound_body": 0, "outbound_payload": 0, "attempt_excerpt": 0}
        for partner in partners:
            policy = partner._shipsync_retention()
            for kind, purge in (("inbound_body", self._purge_inbound),
                                ("outbound_payload", self._purge_outbound),
                                ("attempt_excerpt", self._purge_attempts)):
                cutoff = policy.cutoff(kind, now)
                if cutoff is None:
                    continue
                while True:
                    count = purge(partner.id, cutoff, now, batch)
                    totals[kind] += count
                    self._purge_commit()
                    if count < batch:
                        break
        # Refused requests of unknown partners: the suite default.
        cutoff = retention.RetentionPolicy().cutoff("inbound_body", now)
        while True:
            count = self._purge_inbound(None, cutoff, now, batch)
            totals["inbound_body"] += count
            self._purge_commit()
            if count < batch:
                break
        return totals

    def _purge_commit(self):
        # Commit each batch so its row locks are held for milliseconds, never
        # across the whole purge (the cron owns its cursor). Not in tests.
        if not getattr(threading.current_thread(), "testing", False):
            self.env.cr.commit()  # pylint: disable=invalid-commit

    def _purge_inbound(self, partner_id, cutoff, now, batch):
        cr = self.env.cr
        cr.execute(SQL(
            "WITH due AS (SELECT id FROM shipment_sync_event WHERE %s AND received_at < %s "
            " AND (raw_body IS NOT NULL OR headers_json IS NOT NULL) ORDER BY id LIMIT %s "
            " FOR UPDATE SKIP LOCKED), "
            "gone AS (DELETE FROM shipment_sync_payload_vault v USING due "
            " WHERE v.event_id = due.id) "
            "UPDATE shipment_sync_event e SET raw_body = NULL, headers_json = NULL, "
            " body_purged_at = %s FROM due WHERE e.id = due.id RETURNING e.id",
            SQL("partner_id = %s", partner_id) if partner_id else SQL("partner_id IS NULL"),
            cutoff, batch, now))
        ids = cr.fetchall()
        if ids:
            self.invalidate_model(["raw_body", "headers_json", "body_purged_at"])
        return len(ids)

    def _purge_outbound(self, partner_id, cutoff, now, batch):
        """Payloads and results of finished jobs (a pending job still needs its payload)."""
        cr = self.env.cr
        cr.execute(SQL(
            "WITH due AS (SELECT id FROM shipment_sync_job WHERE partner_id = %s "
            " AND state IN ('done', 'dead', 'cancelled') "
            " AND COALESCE(done_at, dead_at, write_date) < %s "
            " AND (payload IS NOT NULL OR result IS NOT NULL) ORDER BY id LIMIT %s "
            " FOR UPDATE SKIP LOCKED) "
            "UPDATE shipment_sync_job j SET payload = NULL, result = NULL "
            "FROM due WHERE j.id = due.id RETURNING j.id", partner_id, cutoff, batch))
        ids = cr.fetchall()
        if ids:
            self.env["shipment.sync.job"].invalidate_model(["payload", "result"])
        return len(ids)

    def _purge_attempts(self, partner_id, cutoff, now, batch):
        cr = self.env.cr
        cr.execute(SQL(
            "WITH due AS (SELECT id FROM shipment_sync_job_attempt WHERE partner_id = %s "
            " AND started_at < %s AND response_excerpt IS NOT NULL ORDER BY id LIMIT %s "
            " FOR UPDATE SKIP LOCKED) "
            "UPDATE shipment_sync_job_attempt a SET response_excerpt = NULL "
            "FROM due WHERE a.id = due.id RETURNING a.id", partner_id, cutoff, batch))
        ids = cr.fetchall()
        if ids:
            self.env["shipment.sync.job.attempt"].invalidate_model(["response_excerpt"])
        return len(ids)
