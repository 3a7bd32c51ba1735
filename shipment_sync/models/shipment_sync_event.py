import json
import logging
import os
import re
import threading
import time
import uuid

import psycopg2
from psycopg2 import errors as pg_errors

from odoo import SUPERUSER_ID, _, api, fields, models, sql_db
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from odoo.addons.base.models.ir_cron import ODOO_NOTIFY_FUNCTION

from shipsync import ingest, mapping, pii, pod, tracing, tracking
from shipsync import milestones as ms

from .cron_retry import retry_conflicts

_logger = logging.getLogger(__name__)

EVENT_STATES = [
    ("received", "Received"),
    ("applied", "Applied"),
    ("duplicate", "Duplicate"),
    ("stale", "Stale"),
    ("ignored_not_authoritative", "Ignored (not authoritative)"),
    ("unmapped", "Unmapped code"),
    ("unmatched", "Unmatched shipment"),
    ("ignored", "Ignored (event type)"),
    ("rejected", "Rejected"),
    ("error", "Error"),
    ("shadow", "Shadow (not applied)"),
]
# Events that take part in a picking's milestone replay.
REPLAY_STATES = ("received", "applied", "stale", "ignored_not_authoritative", "unmapped")
#: The columns of an event a replay reads (see ``_replay_rows``).
REPLAY_COLUMNS = ("id", "picking_id", "external_id", "occurred_at", "received_at", "milestone",
                  "direction", "partner_id", "authoritative", "exception_reason", "is_mapped",
                  "resolves_exception", "state", "is_correction", "outcome_detail")
OUTCOME_STATE = {
    ms.APPLIED: "applied",
    ms.CORRECTION: "applied",
    ms.STALE: "stale",
    ms.IGNORED: "ignored_not_authoritative",
    ms.UNMAPPED: "unmapped",
}
MAX_STORED_BODY = 256 * 1024
_SURROGATE = re.compile("[\ud800-\udfff]")
APPLY_BATCH = 500
_INSERT_SAVEPOINT = "shipment_sync_event_insert"


class ShipmentSyncEvent(models.Model):
    """The event ledger: every inbound message, stored before anything acts
    on it, deduplicated by UNIQUE(partner, external id) in PostgreSQL."""

    _name = "shipment.sync.event"
    _description = "Shipment Sync Event"
    # The retention purge of bodies: shipment_sync_event_retention.py.
    _inherit = ["shipment.sync.event.retention"]
    _order = "id desc"
    _rec_name = "display_name"

    partner_id = fields.Many2one("shipment.sync.partner", index=True, ondelete="restrict",
                                 readonly=True)
    partner_code = fields.Char(readonly=True, help="Code used in the request URL.")
    company_id = fields.Many2one("res.company", index=True, readonly=True,
                                 default=lambda self: self.env.company)
    direction = fields.Selection(
        [("inbound", "Inbound"), ("outbound", "Outbound"), ("internal", "Odoo")],
        default="inbound", required=True, readonly=True)
    external_id = fields.Char("External ID", readonly=True)
    request_uid = fields.Char("Request", readonly=True, index=True,
                              help="Groups the events that came in one request.")
    state = fields.Selection(EVENT_STATES, default="received", required=True, index=True,
                             readonly=True)
    error_code = fields.Char(readonly=True)
    error_detail = fields.Text(readonly=True)
    outcome_detail = fields.Char(readonly=True)
    http_status = fields.Integer("HTTP status", readonly=True)

    received_at = fields.Datetime(default=fields.Datetime.now, readonly=True, index=True)
    occurred_at = fields.Datetime(readonly=True, index=True)
    applied_at = fields.Datetime(readonly=True)

    # Ledger indexes (each one is written by every event stored and again when it is
    # applied): picking_id is served by shipment_sync_event_picking_occurred_idx
    # (picking_id, occurred_at), milestone (a dozen values) by none; the references an
    # event may lack are indexed where present only (btree_not_null). See the
    # 18.0.1.3.0 migration.
    picking_id = fields.Many2one("stock.picking", readonly=True, ondelete="set null")
    milestone = fields.Selection(ms.MILESTONE_SELECTION, readonly=True)
    raw_code = fields.Char(readonly=True, index="btree_not_null")
    raw_subcode = fields.Char(readonly=True)
    exception_reason = fields.Selection(ms.EXCEPTION_REASON_SELECTION, readonly=True)
    is_mapped = fields.Boolean("Mapped", default=True, readonly=True)
    authoritative = fields.Boolean(default=True, readonly=True)
    resolves_exception = fields.Boolean(readonly=True)
    is_correction = fields.Boolean("Correction", readonly=True)
    tracking_number = fields.Char(readonly=True, index="btree_not_null")
    tracking_key = fields.Char(
        readonly=True, index="btree_not_null",
        help="The tracking number as compared with transfers (no spaces, upper case).")
    picking_ref = fields.Char("Transfer reference", readonly=True, index="btree_not_null")
    correlation_id = fields.Char(readonly=True, index="btree_not_null")
    pushed = fields.Boolean(
        readonly=True,
        help="Pushed by the partner (webhook or broker message), not polled nor read from "
        "a file: the arrivals webhook-silence detection learns from.")
    traceparent = fields.Char(
        "Trace context", readonly=True,
        help="The W3C traceparent header the partner sent with this event (kept only "
        "when valid per the W3C Trace Context recommendation; an invalid one is ignored).")
    trace_id = fields.Char(
        "Trace id", readonly=True,
        help="The trace id of the partner's traceparent: find the partner's own trace.")
    message = fields.Char(readonly=True)
    location = fields.Char(readonly=True)
    carrier_eta = fields.Datetime("Carrier ETA", readonly=True)

    raw_body = fields.Text(
        readonly=True, groups="shipment_sync.group_manager",
        help="The request body with personal data masked. The unmasked body is kept apart, "
        "within retention, for the manager-only Reveal action (which is logged).")
    body_truncated = fields.Boolean(readonly=True)
    body_purged_at = fields.Datetime(
        readonly=True, help="The bodies of this row were blanked by the retention policy.")
    headers_json = fields.Text("Headers", readonly=True, groups="shipment_sync.group_manager")

    can_reveal = fields.Boolean(compute="_compute_can_reveal")

    def _auto_init(self):
        res = super()._auto_init()
        # Deduplication lives in PostgreSQL, so two workers racing on the same
        # event cannot both store it. Duplicate deliveries are recorded too,
        # as their own rows, hence the predicate.
        self.env.cr.execute(SQL(
            "CREATE UNIQUE INDEX IF NOT EXISTS shipment_sync_event_partner_external_uniq "
            "ON shipment_sync_event (partner_id, external_id) "
            "WHERE external_id IS NOT NULL AND state <> 'duplicate'"))
        self.env.cr.execute(SQL(
            "CREATE INDEX IF NOT EXISTS shipment_sync_event_picking_occurred_idx "
            "ON shipment_sync_event (picking_id, occurred_at) WHERE picking_id IS NOT NULL"))
        return res

    @api.depends("partner_id", "external_id", "milestone", "raw_code")
    def _compute_display_name(self):
        for event in self:
            label = event.milestone or event.raw_code or event.state
            who = event.partner_id.name or event.partner_code or _("Odoo")
            event.display_name = f"{who}: {label} ({event.external_id or event.id})"

    # ------------------------------------------------------------------
    # ingestion
    # ------------------------------------------------------------------
    _INSERT_COLUMNS = (
        "partner_id", "partner_code", "company_id", "direction", "external_id", "request_uid",
        "state", "received_at", "occurred_at", "milestone", "raw_code", "raw_subcode",
        "exception_reason", "is_mapped", "authoritative", "resolves_exception", "tracking_number",
        "picking_ref", "correlation_id", "message", "location", "carrier_eta", "raw_body",
        "body_truncated", "headers_json", "picking_id", "http_status", "error_code",
        "error_detail", "tracking_key", "traceparent", "trace_id", "pushed",
    )

    @api.model
    def _insert_rows(self, rows, then=None):
        """Insert ledger rows with ``ON CONFLICT DO NOTHING``; returns, for
        each row, the new id or None when the event is already stored.

        All rows go in one statement. Under Odoo's REPEATABLE READ a conflict
        with a transaction that committed after ours started raises a
        serialization failure instead of skipping the row: the statement then
        runs again row by row, each in a savepoint, and a failing row is a
        duplicate too (rather than a request retried, and logged as an error,
        by Odoo).

        The savepoint of that first statement is taken in the statement's own
        round trip to PostgreSQL, and released in the round trip of ``then(ids)``
        (the SQL to run once the ids are known, e.g. the vault's INSERT; or
        None): two round trips for the row and body of a webhook request.
        """
        if not rows:
            return []
        cr = self.env.cr
        try:
            returned = self._insert_statement(rows, savepoint=_INSERT_SAVEPOINT)
        except (pg_errors.SerializationFailure, pg_errors.UniqueViolation):
            cr.execute(SQL("ROLLBACK TO SAVEPOINT %s", SQL.identifier(_INSERT_SAVEPOINT)))
            returned = None
        ids = self._returned_ids(rows, returned) if returned is not None else None
        after = then(ids) if then and ids is not None else None
        cr.execute(SQL("RELEASE SAVEPOINT %s;%s", SQL.identifier(_INSERT_SAVEPOINT),
                       after or SQL()))
        if ids is not None:
            return ids
        ids = []
        for row in rows:
            try:
                with self.env.cr.savepoint(flush=False):
                    fetched = self._insert_statement([row])
            except (pg_errors.SerializationFailure, pg_errors.UniqueViolation):
                fetched = []
            ids.append(fetched[0][0] if fetched else None)
        after = then(ids) if then else None
        if after:
            cr.execute(after)
        return ids

    @staticmethod
    def _returned_ids(rows, returned):
        """The new id of each row (None: already stored) from the RETURNING of one
        INSERT of ``rows``; None when that cannot tell (several rows, some without
        an external id: they are inserted again one by one)."""
        if len(rows) == 1:
            return [returned[0][0] if returned else None]
        if not all(row.get("external_id") for row in rows):
            return None
        by_external = {}
        for new_id, external_id in returned:
            by_external.setdefault(external_id, new_id)
        ids, seen = [], set()
        for row in rows:
            external_id = row["external_id"]
            ids.append(None if external_id in seen else by_external.get(external_id))
            seen.add(external_id)
        return ids

    def _insert_statement(self, rows, savepoint=None):
        """The INSERT of ``rows``; with ``savepoint``, that savepoint is taken
        first, in the same round trip. The statement's text is built once per
        worker (``_insert_sql``): only the values change from one request to
        the next."""
        uid, now = self.env.uid, fields.Datetime.now()
        head, row_template, tail = self._insert_sql()
        values = SQL(", ").join(
            SQL(row_template, *(_clean(row.get(col)) for col in self._INSERT_COLUMNS),
                uid, uid, now, now)
            for row in rows
        )
        self.env.cr.execute(SQL(
            "%s %s %s %s",
            SQL("SAVEPOINT %s;", SQL.identifier(savepoint)) if savepoint else SQL(),
            head, values, tail,
        ), log_exceptions=False)
        return self.env.cr.fetchall()

    @api.model
    def _insert_sql(self):
        """``(head, row template, tail)`` of the ledger INSERT, built once per
        worker and model class: composing 37 identifiers and placeholders was a
        tenth of a webhook request's Python time."""
        cls = type(self)
        cached = cls.__dict__.get("_insert_sql_cache")
        if cached is None:
            columns = SQL(", ").join(SQL.identifier(c) for c in self._INSERT_COLUMNS)
            cached = (
                SQL("INSERT INTO shipment_sync_event (%s, create_uid, write_uid, create_date, "
                    "write_date) VALUES", columns),
                "(" + ", ".join(["%s"] * (len(self._INSERT_COLUMNS) + 4)) + ")",
                SQL("ON CONFLICT (partner_id, external_id) "
                    "WHERE external_id IS NOT NULL AND state <> 'duplicate' DO NOTHING "
                    "RETURNING id, external_id"),
            )
            cls._insert_sql_cache = cached
        return cached

    @api.model
    def _ingest_handlers(self):
        """The ``shipsync.ingest.IngestHandler`` of each event class an addon
        handles itself once its events are stored. Addons extend it::

            def _ingest_handlers(self):
                return ingest.register_ingest(super()._ingest_handlers(),
                    ingest.IngestHandler(WmsEvent, "_wms_ingest_confirmations"))

        This addon's own: proofs of delivery (``_shipment_ingest_pod``).
        """
        return ingest.register_ingest((), ingest.IngestHandler(
            pod.PodEvent, "_shipment_ingest_pod", shadow=False))

    @api.model
    def _shipment_ingest_pod(self, partner, new, events):
        """New delivered scans with a proof of delivery put it on their transfer."""
        Picking = self.env["stock.picking"].sudo()
        for ev in events:
            picking = Picking._shipment_find(partner, ev.tracking_number, ev.picking_ref,
                                             ev.correlation_id, self.env.company)
            if picking and ev.pod:
                picking._shipment_store_pod(ev.pod, partner, ev.occurred_at)

    @api.model
    def _ingest(self, partner, events, body=b"", headers=None, pushed=False):
        """Store the canonical events of one request (:meth:`_ingest_store`),
        then run the handler registered for each event class
        (:meth:`_ingest_handlers`) on its new events. The handlers run in a
        savepoint with the store: when one raises, nothing of the request is
        kept and ``shipsync.ingest.IngestRefused`` is raised (the webhook
        answers 422 and records it). Returns ``(new_events,
        duplicate_external_ids)``."""
        # The event classes first: an ordinary request reads nothing more.
        handlers = [h for h in self._ingest_handlers()
                    if any(isinstance(ev, h.event_type) for ev in events)
                    and h.applies(partner.kind, partner.environment == "shadow")]
        if not handlers:
            return self._ingest_store(partner, events, body=body, headers=headers,
                                      pushed=pushed)
        try:
            with self.env.cr.savepoint():
                new, duplicates = self._ingest_store(partner, events, body=body, headers=headers,
                                                     pushed=pushed)
                fresh = set(new.mapped("external_id"))
                for handler in handlers:
                    mine = handler.select(events, fresh)
                    if mine:
                        getattr(self, handler.method)(partner, new, mine)
        except psycopg2.OperationalError:
            raise  # serialization failure, deadlock: the request is retried as a whole
        except Exception as exc:
            _logger.warning("ingest handler failed for partner %s", partner.code, exc_info=True)
            raise ingest.IngestRefused(
                f"The events could not be processed ({type(exc).__name__}: {exc})"[:500]
            ) from exc
        return new, duplicates

    @api.model
    def _receive_events(self, partner, events, body=b"", headers=None, pushed=True):
        """What becomes of the parsed events of one authenticated inbound
        message, whatever carried it (webhook route, broker queue): none is an
        ``ignored`` row; else :meth:`_ingest` (dedupe on the external id), a
        refused ingest recorded as a 422, and the new events stored in shadow
        mode, applied inline or queued for the apply cron, as the partner says.
        ``pushed``: the partner pushed them (webhook, queue), see :meth:`_ingest`.
        Returns ``(http status, state, code, message, new event ids)``."""
        if not events:
            rows = self._record_rejection(partner.code, "ignored_event_type",
                                          "No shipment events in this message.", 200,
                                          partner=partner, body=body, headers=headers)
            rows.write({"state": "ignored", "error_code": False})
            return (200, "ignored", "ignored_event_type",
                    "The message carries no shipment event; nothing to do.", [])
        try:
            new, duplicates = self._ingest(partner, events, body=body, headers=headers,
                                           pushed=pushed)
        except ingest.IngestRefused as exc:  # a handler an addon registered failed
            _logger.info("inbound %s: refused %s %s: %s", partner.code, exc.http_status,
                         exc.code, exc.message)
            self._record_rejection(partner.code, exc.code, exc.message, exc.http_status,
                                   partner=partner, body=body, headers=headers)
            return exc.http_status, "rejected", exc.code, exc.message, []
        if not new:
            return (200, "duplicate", "duplicate",
                    "Already received; nothing was applied again.", [])
        if partner.environment == "shadow":
            # Verified, stored and mapped as in production; never applied.
            new._shadow_resolve()
            return (202, "accepted", "accepted_shadow",
                    f"{len(new)} event(s) stored in shadow mode (not applied)", new.ids)
        if partner.processing_mode == "inline":
            new._apply_now()
        else:
            self._trigger_apply()
        message = f"{len(new)} event(s) accepted"
        if duplicates:
            message += f", {len(duplicates)} already received"
        return 202, "accepted", "accepted", message, new.ids

    @api.model
    def _ingest_store(self, partner, events, body=b"", headers=None, pushed=False):
        """Store the canonical events of one request. Returns
        ``(new_events, duplicate_external_ids)``. Every source passes here
        (webhooks, polling, WMS files): the events are scrubbed by the
        engine's ingest rules (message masked, location reduced to city,
        postcode prefix and country, references capped) before anything is
        stored."""
        events = [ingest.scrub_event(ev) for ev in events]
        mapper = partner._shipsync_mapper()
        authority = partner._shipsync_authoritative_codes()
        request_uid = uuid.uuid4().hex
        now = fields.Datetime.now()
        stored_body, truncated = _bounded_body(body)
        full_body, stored_body = stored_body, pii.mask_json_text(stored_body)
        # An inbound trace context is recorded on every event of the request (in the
        # same INSERT: no query of its own); an invalid one is ignored, never refused.
        trace = tracing.inbound_traceparent(headers)
        headers = pii.mask_headers(headers)
        state = "shadow" if partner.environment == "shadow" else "received"
        by_name = partner.lookup_picking_name and partner.company_id.id
        if by_name:  # transfers written in this transaction are looked up too
            self.env["stock.picking"].flush_model(["name", "company_id"])
        rows = []
        for ev in events:
            meaning = mapping.classify(mapper, ev.code, ev.subcode, milestone=ev.milestone,
                                       exception_reason=ev.exception_reason, authority=authority)
            rows.append({
                "partner_id": partner.id, "partner_code": partner.code,
                "company_id": partner.company_id.id, "direction": "inbound",
                "external_id": ev.external_id, "request_uid": request_uid, "state": state,
                "received_at": now, "occurred_at": _naive_utc(ev.occurred_at),
                "milestone": meaning.milestone, "raw_code": ev.code, "raw_subcode": ev.subcode,
                "exception_reason": meaning.exception_reason, "is_mapped": meaning.mapped,
                "authoritative": meaning.authoritative,
                "resolves_exception": False,
                "tracking_number": ev.tracking_number, "picking_ref": ev.picking_ref,
                "tracking_key": tracking.tracking_key(ev.tracking_number) or None,
                "correlation_id": ev.correlation_id,
                "message": ev.message or None,
                "location": ev.location or None,
                "carrier_eta": _naive_utc(ev.carrier_eta),
                "traceparent": trace.header() if trace else None,
                "trace_id": trace.trace_id if trace else None,
                "pushed": bool(pushed),
                # An event that names its transfer and nothing else is linked to it in
                # its own INSERT (the rule of ``_pickings_by_name``; a transfer name is
                # unique per company): the apply cron then has no row to update for it.
                "picking_id": SQL(
                    "(SELECT id FROM stock_picking WHERE name = %s AND company_id = %s)",
                    _clean(ev.picking_ref), by_name)
                if by_name and _names_only_its_transfer(ev) else None,
            })
        if rows:
            # The body is kept once per request, on its first event.
            rows[0].update(raw_body=stored_body, body_truncated=truncated,
                           headers_json=json.dumps(headers or {}, sort_keys=True))
        Vault = self.env["shipment.sync.payload.vault"]

        def keep_body(ids):
            # The unmasked body goes to the vault, on the request's first new event.
            first = next((i for i in ids if i), None)
            if first and full_body:
                return Vault._store_event_body_sql(first, _clean(full_body),
                                                   partner.company_id.id)
            return None

        ids = self._insert_rows(rows, then=keep_body)
        new_ids = [i for i in ids if i]
        if rows and not ids[0] and new_ids:
            # The first event was a duplicate: keep the body on the first new one.
            self.env.cr.execute(SQL(
                "UPDATE shipment_sync_event SET raw_body = %s, body_truncated = %s, "
                "headers_json = %s WHERE id = %s", _clean(stored_body), truncated,
                rows[0]["headers_json"], new_ids[0]))
        duplicates = [row for row, i in zip(rows, ids, strict=True) if not i]
        recorded = duplicates
        if duplicates and getattr(partner._shipsync_normalizer(), "full_history", False):
            # The partner sends the whole history every time: scans already stored that
            # come again beside new ones are not a second delivery of anything (no row);
            # a message with nothing new is one repeated delivery (one row, its latest).
            recorded = [] if new_ids else [max(
                duplicates, key=lambda row: (row["occurred_at"] or now, row["external_id"]))]
        if recorded:
            self._insert_rows([
                dict(row, state="duplicate", headers_json=None, raw_body=None, picking_id=None)
                for row in recorded
            ])
        return self.browse(new_ids), [row["external_id"] for row in duplicates]

    @api.model
    def _record_rejection(self, partner_code, code, message, http_status, partner=None,
                          body=None, headers=None):
        """Keep an audit row for a refused request. The body is stored only
        when the caller passes it (never for a failed signature)."""
        stored_body, truncated = _bounded_body(body) if body else (None, False)
        full_body, stored_body = stored_body, pii.mask_json_text(stored_body)
        message = pii.mask_text(message)
        headers = pii.mask_headers(headers)
        row = {
            "partner_id": partner.id if partner else None, "partner_code": partner_code[:64],
            "company_id": partner.company_id.id if partner else None, "direction": "inbound",
            "state": "rejected", "received_at": fields.Datetime.now(),
            "http_status": http_status, "error_code": code, "error_detail": message,
            "raw_body": stored_body, "body_truncated": truncated,
            "headers_json": json.dumps(headers or {}, sort_keys=True), "is_mapped": True,
            "authoritative": True,
        }
        rows = self.browse(self._insert_rows([row]))
        if rows and full_body:
            self.env["shipment.sync.payload.vault"]._store_event_body(
                rows.id, _clean(full_body), partner.company_id.id if partner else None)
        return rows

    # ------------------------------------------------------------------
    # applying
    # ------------------------------------------------------------------
    @api.model
    @retry_conflicts
    def _cron_apply_events(self, limit=APPLY_BATCH):
        """Apply received events, picking by picking. Claims events with SKIP
        LOCKED so several cron workers can run side by side; a picking another
        worker holds is left for the next run. A full batch tells the cron
        (Odoo's progress API) that more remain: the cron worker runs the next
        batch at once, in its own transaction, instead of waiting for a wake-up
        (up to Odoo's batches per job; the trigger covers the rest)."""
        cr = self.env.cr
        cr.execute(SQL(
            "SELECT id FROM shipment_sync_event WHERE state = 'received' "
            "ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED", limit))
        events = self.browse([r[0] for r in cr.fetchall()])
        if not events:
            return 0
        events._resolve_pickings()
        busy = events.picking_id._shipment_apply_events(skip_locked=True)
        full = len(events) == limit
        self.env["ir.cron"]._notify_progress(done=len(events), remaining=int(full))
        if busy or full:
            self._trigger_apply()
        return len(events)

    @api.model
    def _trigger_apply(self):
        """Ask the apply cron to run right after this transaction commits. The
        trigger is not inserted here: after the commit, this worker's waker
        inserts it in a transaction of its own and wakes the cron workers, at
        most once per interval (one trigger committed after a set of events
        covers all of them), so a burst of webhooks does not write and delete a
        trigger row per request. None is inserted while the cron is inactive,
        as ``ir.cron._trigger`` does."""
        dbname = self.env.cr.dbname
        self.env.cr.postcommit.add(lambda: _waker.wake(dbname))

    def _apply_now(self):
        """Inline processing: resolve and apply within the current transaction."""
        self._resolve_pickings()
        self.picking_id._shipment_apply_events()

    def _resolve_pickings(self):
        """Find the picking of each event without one, by the references its
        partner allows, within the partner's company. Events that match
        nothing become ``unmatched`` and are retried when such a picking
        appears."""
        Picking = self.env["stock.picking"].sudo()
        todo = self.filtered(lambda e: not e.picking_id and e.state == "received")
        by_name = self._pickings_by_name(todo)
        found = {}
        for event in todo:
            picking = by_name.get(event.id)
            if picking is None:
                picking = Picking._shipment_find(event.partner_id, event.tracking_number,
                                                 event.picking_ref, event.correlation_id,
                                                 event.company_id)
            if picking:
                found[event.id] = picking.id
            else:
                event.write({"state": "unmatched",
                             "outcome_detail": _("No transfer matches the references yet.")})
        self._set_pickings(found)

    def _set_pickings(self, picking_of):
        """Store ``{event id: picking id}`` with one UPDATE (a burst resolves
        hundreds of events, each to its own transfer), then drop what the cache
        held of those links on both sides."""
        if not picking_of:
            return
        self.flush_model(["picking_id"])
        self.env.cr.execute(SQL(
            "UPDATE shipment_sync_event AS e SET picking_id = v.picking_id, write_uid = %s, "
            "write_date = %s FROM (VALUES %s) AS v(id, picking_id) WHERE e.id = v.id",
            self.env.uid, fields.Datetime.now(),
            SQL(", ").join(SQL("(%s, %s)", event_id, picking_id)
                           for event_id, picking_id in picking_of.items())))
        self.browse(list(picking_of)).invalidate_recordset(["picking_id", "write_uid",
                                                            "write_date"])
        self.env["stock.picking"].browse(set(picking_of.values())).invalidate_recordset(
            ["shipment_event_ids"])

    def _pickings_by_name(self, events):
        """``{event id: picking}`` for the events that name their transfer and
        carry no other reference, found with one search for all of them (a batch of
        a 3PL names a hundred transfers). The same choice as ``_shipment_find``:
        within the partner's company, the open transfer of that name first, then
        the newest. Events left out are matched one by one."""
        simple = events.filtered(
            lambda e: _names_only_its_transfer(e)
            and (not e.partner_id or e.partner_id.lookup_picking_name))
        if len(simple) < 2:
            return {}
        company_of = {e.id: (e.partner_id.company_id or e.company_id).id for e in simple}
        if not all(company_of.values()):
            return {}
        candidates = self.env["stock.picking"].sudo().search(
            [("name", "in", list(set(simple.mapped("picking_ref")))),
             ("company_id", "in", list(set(company_of.values())))], order="id desc")
        best = {}
        for picking in candidates:  # newest first: keep the first open one, else the newest
            key = (picking.company_id.id, picking.name)
            kept = best.get(key)
            if kept is None or (kept.state in ("done", "cancel")
                                and picking.state not in ("done", "cancel")):
                best[key] = picking
        empty = self.env["stock.picking"]
        return {e.id: best.get((company_of[e.id], e.picking_ref), empty) for e in simple}

    def _to_milestone_event(self):
        self.ensure_one()
        row = {name: self[name] for name in REPLAY_COLUMNS}
        row.update(partner_id=self.partner_id.id, picking_id=self.picking_id.id,
                   partner_code=self.partner_id.code, return_leg=bool(self.picking_id.return_id))
        return self._milestone_event_of(row)

    @api.model
    def _milestone_event_of(self, row):
        """The shipsync MilestoneEvent of an event given as plain values (a row
        of ``_replay_rows``)."""
        inbound = row["direction"] == "inbound"
        return ms.MilestoneEvent(
            key=row["external_id"] or f"odoo:{row['id']}",
            occurred_at=row["occurred_at"] or row["received_at"],
            # A carrier's forward vocabulary on a return transfer means the way back.
            milestone=ms.leg_milestone(row["milestone"] or None, inbound=inbound,
                                       return_leg=inbound and bool(row["return_leg"])),
            partner=row["partner_code"] or "odoo",
            authoritative=bool(row["authoritative"]),
            exception_reason=row["exception_reason"] or None,
            mapped=bool(row["is_mapped"]),
            resolves_exception=bool(row["resolves_exception"]),
        )

    @api.model
    def _replay_rows(self, pickings):
        """``{picking id: [row, ...]}``: the events of ``pickings`` that take part
        in their replay (REPLAY_STATES), newest first, as plain values (the
        REPLAY_COLUMNS, ``partner_code`` and ``return_leg``: the transfer is a
        return), read in one query. A burst replays the whole history of hundreds
        of transfers: values, not records, keep that in step with its size."""
        if not pickings:
            return {}
        self.flush_model(REPLAY_COLUMNS[1:])
        self.env["shipment.sync.partner"].flush_model(["code"])
        pickings.flush_model(["return_id"])
        self.env.cr.execute(SQL(
            "SELECT %s, p.code, sp.return_id IS NOT NULL FROM shipment_sync_event e "
            "JOIN stock_picking sp ON sp.id = e.picking_id "
            "LEFT JOIN shipment_sync_partner p ON p.id = e.partner_id "
            "WHERE e.picking_id IN %s AND e.state IN %s ORDER BY e.id DESC",
            SQL(", ").join(SQL.identifier("e", c) for c in REPLAY_COLUMNS),
            tuple(pickings.ids), REPLAY_STATES))
        names = (*REPLAY_COLUMNS, "partner_code", "return_leg")
        rows = {}
        for values in self.env.cr.fetchall():
            row = dict(zip(names, values, strict=True))
            row["is_correction"] = bool(row["is_correction"])
            rows.setdefault(row["picking_id"], []).append(row)
        return rows

    def action_retry(self):
        """Re-run unmatched / unmapped / error events (e.g. after a status map
        was added): map them again and apply."""
        events = self.filtered(lambda e: e.state in ("unmatched", "unmapped", "error"))
        for partner, group in events.grouped("partner_id").items():
            if not partner:
                continue
            mapper = partner._shipsync_mapper()
            authority = partner._shipsync_authoritative_codes()
            for event in group.filtered(lambda e: e.state == "unmapped" and e.raw_code):
                # The same classification as at ingest: mapping and authority.
                meaning = mapping.classify(
                    mapper, event.raw_code, event.raw_subcode or None,
                    exception_reason=event.exception_reason or None, authority=authority)
                if meaning.mapped:
                    event.write({"is_mapped": True, "milestone": meaning.milestone or False,
                                 "exception_reason": meaning.exception_reason or False,
                                 "authoritative": meaning.authoritative})
        events.write({"state": "received", "error_detail": False})
        if events:
            self.env["shipment.sync.audit.log"]._log("replay", events)
        events.with_user(self.env.ref("base.user_root"))._apply_now()
        return True

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


#: The apply cron's trigger, inserted by the waker (``_CronWaker._insert_trigger``)
#: outside Odoo's registry: the cron found by its xmlid, nothing while it is inactive.
_APPLY_TRIGGER = (
    "INSERT INTO ir_cron_trigger (cron_id, call_at, create_uid, write_uid, create_date, "
    "write_date) SELECT c.id, now() AT TIME ZONE 'UTC', %s, %s, now() AT TIME ZONE 'UTC', "
    "now() AT TIME ZONE 'UTC' FROM ir_cron c JOIN ir_model_data d ON d.res_id = c.id "
    "AND d.model = 'ir.cron' AND d.module = 'shipment_sync' "
    "AND d.name = 'ir_cron_apply_events' WHERE c.active")


class _CronWaker:
    """Triggers the apply cron and wakes the cron workers after events were
    committed, at most once per ``interval`` per database and worker process.

    Each wake-up first commits the apply cron's trigger (one row, in a
    transaction of its own, after the events' commit: the cron run it causes
    sees them), then sends the NOTIFY.

    Odoo's ``ir.cron._notifydb`` opens a new connection to the ``postgres``
    database for every NOTIFY (Odoo never pools those): a quarter of a webhook
    worker's time under load. Wake-ups are coalesced on the trailing edge: the
    first commit notifies at once; a commit within ``interval`` of the last
    wake-up schedules one more right after it, which covers every trigger
    committed meanwhile. Each committed trigger is thus followed by a wake-up
    within ``interval`` seconds, so no event waits for the cron's schedule.
    One wake-up a second lets the cron apply a burst in batches: each run
    costs Odoo's own bookkeeping (claiming the job, its progress, its
    triggers), which per event would weigh as much as the apply itself. The
    NOTIFY goes over one connection to ``postgres`` kept by each worker process
    (opened at its first wake-up, opened again if it broke), not a new one each
    time."""

    def __init__(self, interval=1.0):
        self.interval = interval
        self._lock = threading.Lock()
        self._last = {}
        self._scheduled = set()
        self._conn_lock = threading.Lock()
        self._conn = None
        self._conn_pid = None

    def wake(self, dbname):
        with self._lock:
            if dbname in self._scheduled:
                return  # a wake-up after this commit is already due
            wait = self._last.get(dbname, 0.0) + self.interval - time.monotonic()
            if wait > 0:
                self._scheduled.add(dbname)
                timer = threading.Timer(wait, self._fire, [dbname])
                timer.start()
                return
            self._last[dbname] = time.monotonic()
        self._announce(dbname)

    def _fire(self, dbname):
        with self._lock:
            self._scheduled.discard(dbname)
            self._last[dbname] = time.monotonic()
        self._announce(dbname)

    def _connection(self):
        """This process's autocommit connection to ``postgres`` (a forked worker
        never uses its parent's)."""
        if self._conn is None or self._conn.closed or self._conn_pid != os.getpid():
            _name, info = sql_db.connection_info_for("postgres")
            self._conn = psycopg2.connect(**info)
            self._conn.autocommit = True
            self._conn_pid = os.getpid()
        return self._conn

    def _insert_trigger(self, dbname):
        """Commit the apply cron's trigger in ``dbname`` (a cursor of Odoo's
        connection pool, never the caller's transaction)."""
        try:
            # Odoo's cursor commits when its block ends without an error.
            with sql_db.db_connect(dbname).cursor() as cr:
                cr.execute(_APPLY_TRIGGER, (SUPERUSER_ID, SUPERUSER_ID))
        except psycopg2.Error:  # the cron's own schedule still applies the events
            _logger.warning("could not trigger the apply cron of %s", dbname, exc_info=True)

    def _announce(self, dbname):
        self._insert_trigger(dbname)
        self._notify(dbname)

    def _notify(self, dbname):
        query = SQL("SELECT %s('cron_trigger', %s)", SQL.identifier(ODOO_NOTIFY_FUNCTION), dbname)
        with self._conn_lock:
            for attempt in (1, 2):
                try:
                    with self._connection().cursor() as cr:
                        cr.execute(query.code, query.params)
                    return
                except psycopg2.Error:
                    if self._conn is not None and self._conn_pid == os.getpid():
                        self._conn.close()
                    self._conn = None
                    if attempt == 2:  # the cron's own schedule still runs it
                        _logger.warning("could not wake the cron workers of %s", dbname,
                                        exc_info=True)


_waker = _CronWaker()


def _names_only_its_transfer(event):
    """Does ``event`` (a canonical event or a ledger record) name its transfer
    and carry no other reference? Such events are matched by the transfer's
    name alone: in their INSERT at ingest, in one search at apply."""
    return bool(event.picking_ref and not event.tracking_number and not event.correlation_id)


def _naive_utc(value):
    if not value:
        return None
    if value.tzinfo is not None:
        from datetime import timezone

        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def _clean(value):
    """PostgreSQL text holds neither NUL characters nor lone surrogates, which
    JSON escapes can carry: a NUL becomes U+FFFD, a lone surrogate "?"."""
    if not isinstance(value, str):
        return value
    value = value.replace("\x00", "\ufffd")
    if _SURROGATE.search(value):
        value = value.encode("utf-8", errors="replace").decode("utf-8")
    return value


def _bounded_body(body):
    if not body:
        return None, False
    truncated = len(body) > MAX_STORED_BODY
    return body[:MAX_STORED_BODY].decode("utf-8", errors="replace"), truncated
