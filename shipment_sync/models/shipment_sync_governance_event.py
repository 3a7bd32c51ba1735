"""Data protection of the event ledger: the unmasked-body vault, the logged
Reveal, the retention purge, and shadow events.

Design of the unmasked copy: the ledger's ``raw_body`` holds the *masked*
body (readable by managers in the form). The unmasked body goes to
``shipment.sync.payload.vault``, a table no group may read or write through
the ORM (all-zero ACL): the only way to it is the manager-only Reveal action,
which reads it with sudo and writes an audit line first. It is not encrypted:
the key would have to live in the same database (or in the server config,
which breaks duplication / neutralization), so encryption would add no
protection against whoever can read the database; the ACL removes every
UI/RPC path and the retention purge deletes the vault row with the body.
"""

import threading

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from shipsync import retention

from .cron_retry import retry_conflicts

PURGE_BATCH = retention.PURGE_BATCH


class ShipmentSyncPayloadVault(models.Model):
    """Unmasked inbound bodies, within retention. No ORM access for anyone
    but the superuser; see the module docstring."""

    _name = "shipment.sync.payload.vault"
    _description = "Shipment Sync unmasked payloads (restricted)"
    _log_access = False

    event_id = fields.Many2one("shipment.sync.event", required=True, index=True,
                               ondelete="cascade")
    company_id = fields.Many2one("res.company", index=True)
    stored_at = fields.Datetime(required=True, index=True)
    body = fields.Text()

    @api.model
    def _store_event_body(self, event_id, body, company_id):
        self.env.cr.execute(SQL(
            "INSERT INTO shipment_sync_payload_vault (event_id, company_id, stored_at, body) "
            "VALUES (%s, %s, %s, %s)", event_id, company_id, fields.Datetime.now(), body))


class ShipmentSyncEvent(models.Model):
    _inherit = "shipment.sync.event"

    can_reveal = fields.Boolean(compute="_compute_can_reveal")

    def _compute_can_reveal(self):
        if not self.env.user.has_group("shipment_sync.group_manager") or not self.ids:
            self.can_reveal = False
            return
        self.env.cr.execute(SQL(
            "SELECT DISTINCT event_id FROM shipment_sync_payload_vault WHERE event_id IN %s",
            tuple(self.ids)))
        kept = {r[0] for r in self.env.cr.fetchall()}
        for event in self:
            event.can_reveal = event.id in kept

    # ------------------------------------------------------------------
    # reveal
    # ------------------------------------------------------------------
    def action_reveal_payload(self):
        """Show the unmasked body of an event still within retention, to a
        manager only, and log it."""
        self.ensure_one()
        if not self.env.user.has_group("shipment_sync.group_manager"):
            raise AccessError(_("Only a Shipment Sync administrator may reveal a payload."))
        self.check_access("read")
        vault = self.env["shipment.sync.payload.vault"].sudo().search(
            [("event_id", "=", self.id)], limit=1)
        if not vault:
            raise UserError(_("The full payload of this event is no longer kept (retention) "
                              "or was never stored."))
        self.env["shipment.sync.audit.log"]._log(
            "reveal", self, note=_("Unmasked payload of event %s revealed.", self.id))
        wizard = self.env["shipment.sync.reveal"].create({
            "event_id": self.id, "body": vault.body})
        return {"type": "ir.actions.act_window", "res_model": "shipment.sync.reveal",
                "res_id": wizard.id, "view_mode": "form", "target": "new"}

    # ------------------------------------------------------------------
    # shadow events
    # ------------------------------------------------------------------
    def _shadow_resolve(self):
        """Shadow events get their picking (as in production) but keep the
        ``shadow`` state, which takes no part in the milestone replay."""
        Picking = self.env["stock.picking"].sudo()
        for event in self.filtered(lambda e: e.state == "shadow" and not e.picking_id):
            picking = Picking._shipment_find(event.partner_id, event.tracking_number,
                                             event.picking_ref, event.correlation_id,
                                             event.company_id)
            if picking:
                event.picking_id = picking
            else:
                event.outcome_detail = _("No transfer matches the references yet.")

    # ------------------------------------------------------------------
    # retention
    # ------------------------------------------------------------------
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
