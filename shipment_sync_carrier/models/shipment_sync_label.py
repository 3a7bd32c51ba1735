"""Paid labels: the partner's shipment ids, written down the moment the partner returns
them, in a transaction of their own, so that neither a retried booking nor a booking
whose Odoo transaction rolled back can pay for a label twice or lose track of one."""

import threading
from contextlib import contextmanager
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from odoo.addons.shipment_sync.models.cron_retry import retry_conflicts

from shipsync import outbox
from shipsync.adapters import base as ab
from shipsync.adapters.journal import BookingJournal

LABEL_STATES = [
    ("created", "Created (not bought)"),
    ("buying", "Buy sent, answer lost"),
    ("bought", "Paid"),
    ("linked", "On its transfer"),
    ("refund_queued", "Refund queued"),
    ("refunded", "Refunded"),
    ("refund_rejected", "Refund refused"),
]
#: A paid label younger than this may still be on its way to its transfer.
UNLINKED_AFTER = timedelta(minutes=10)
#: Paid, or perhaps paid (a buy whose answer was lost): the labels a refund can void.
PAID_STATES = ("buying", "bought")
#: Journal event of the adapter (``shipsync.adapters.journal.BookingJournal``) -> state.
JOURNAL_STATES = {"created": "created", "buying": "buying", "bought": "bought"}
#: A refund was asked for: never reused by a booking, out of the one-per-booking rule.
REFUND_STATES = ("refund_queued", "refunded", "refund_rejected")


class ShipmentSyncLabel(models.Model):
    _name = "shipment.sync.label"
    _description = "Shipment Sync paid label"
    _order = "create_date desc, id desc"
    _rec_name = "shipment_ref"

    shipment_ref = fields.Char("Partner shipment", required=True, readonly=True, index=True)
    booking_key = fields.Char(required=True, readonly=True, index=True,
                              help="The booking (and parcel) this shipment was made for.")
    carrier_id = fields.Many2one("delivery.carrier", required=True, readonly=True,
                                 ondelete="restrict", index=True)
    partner_id = fields.Many2one(related="carrier_id.shipsync_partner_id", store=True)
    company_id = fields.Many2one("res.company", readonly=True, index=True)
    picking_id = fields.Many2one("stock.picking", "Transfer booked", readonly=True,
                                 ondelete="set null", index=True)
    adapter = fields.Char(readonly=True)
    tracking_number = fields.Char(readonly=True, index=True)
    state = fields.Selection(LABEL_STATES, required=True, default="created", readonly=True,
                             index=True)
    refund_message = fields.Char(readonly=True)
    unlinked = fields.Boolean(
        "Paid, not on a transfer", compute="_compute_unlinked", search="_search_unlinked",
        help="Paid (or bought with the answer lost) at the partner, but the booking that "
        "bought it did not complete in Odoo (its transaction rolled back, or it was never "
        "retried).")

    def _auto_init(self):
        res = super()._auto_init()
        cr = self.env.cr
        # One live partner shipment per booking and parcel. A label whose refund was
        # asked for steps aside (kept for the record): the booking may buy a new one.
        cr.execute(SQL("ALTER TABLE shipment_sync_label "
                       "DROP CONSTRAINT IF EXISTS shipment_sync_label_booking_uniq"))
        cr.execute(SQL(
            "CREATE UNIQUE INDEX IF NOT EXISTS shipment_sync_label_booking_live_uniq "
            "ON shipment_sync_label (carrier_id, booking_key) WHERE state NOT IN %s",
            REFUND_STATES))
        return res

    def _compute_unlinked(self):
        limit = fields.Datetime.now() - UNLINKED_AFTER
        for label in self:
            label.unlinked = label.state in PAID_STATES and label.create_date \
                and label.create_date < limit

    def _search_unlinked(self, operator, value):
        limit = fields.Datetime.now() - UNLINKED_AFTER
        domain = [("state", "in", PAID_STATES), ("create_date", "<", limit)]
        positive = (operator == "=") == bool(value)
        return domain if positive else ["!", "&", *domain]

    # ------------------------------------------------------------------
    # the journal of a booking, and linking its labels to their transfer
    # ------------------------------------------------------------------
    @api.model
    def _journal(self, carrier, picking):
        return OdooBookingJournal(carrier, picking)

    @api.model
    def _shipsync_link(self, carrier, shipment_refs, picking):
        """Mark these paid labels as on their transfer once the booking transaction
        commits (a rolled-back booking leaves them paid and not linked)."""
        refs = [ref for ref in shipment_refs if ref]
        if not refs:
            return
        args = (carrier.id, tuple(refs), picking.id)
        if _testing():
            _link(self.env.cr, *args)
            return
        registry = self.env.registry

        def link_after_commit():
            with registry.cursor() as cr:
                _link(cr, *args)

        self.env.cr.postcommit.add(link_after_commit)

    # ------------------------------------------------------------------
    # refunds through the outbox
    # ------------------------------------------------------------------
    def action_refund(self):
        """Queue a refund (void) of each paid label not on a transfer (managers: the
        labels are read-only to users, and the refund is written as superuser)."""
        self.check_access("write")
        todo = self.filtered(lambda label: label.state in PAID_STATES)
        if not todo:
            raise UserError(_("Only paid labels that are not on a transfer can be refunded."))
        todo._shipsync_queue_refunds()
        return True

    @api.model
    @retry_conflicts
    def _cron_refund_unlinked(self, limit=200):
        """Refund, through the outbox, the labels paid at least UNLINKED_AFTER ago whose
        booking did not complete in Odoo (odoo/odoo#190320: the transaction that bought
        them rolled back) and that no booking of their transfer is still working on, for
        carriers that ask for it (``shipsync_refund_unlinked``). A label whose buy answer
        was lost ('buying') is left to a person: it may not be paid at all."""
        limit_date = fields.Datetime.now() - UNLINKED_AFTER
        labels = self.sudo().search([
            ("state", "=", "bought"), ("write_date", "<", limit_date),
            ("carrier_id.shipsync_refund_unlinked", "=", True)], limit=limit, order="id")
        busy = self.env["shipment.sync.job"].sudo().search([
            ("operation", "=", "create_shipment"), ("state", "in", ("pending", "running")),
            ("picking_id", "in", labels.picking_id.ids)]).picking_id
        # On its transfer after all (its booking committed, the link after the commit was
        # lost with its process): linked, never refunded.
        used = labels.filtered(lambda label: label.shipment_ref in (
            label.picking_id.shipsync_shipment_ref or "").split(","))
        if used:
            used.write({"state": "linked"})
        todo = labels.filtered(lambda label: label not in used and (
            not label.picking_id or label.picking_id not in busy))
        if todo:
            todo._shipsync_queue_refunds()
        return todo

    def _shipsync_queue_refunds(self):
        Job = self.env["shipment.sync.job"].sudo()
        for label in self:
            Job._enqueue(label.carrier_id.shipsync_partner_id, "refund_label",
                         {"label_id": label.id}, picking=label.picking_id or None,
                         idempotency_key=f"refund:{label.carrier_id.id}:{label.shipment_ref}")
        self.sudo().write({"state": "refund_queued"})

    @api.model
    def _shipsync_prepare_refund_label(self, job, ctx):
        label = self.sudo().browse((ctx.payload or {}).get("label_id")).exists()
        if not label:
            raise ab.InvalidInput("the label of this refund no longer exists",
                                  code="missing_record")
        adapter = label.carrier_id._shipsync_adapter(http=ctx.http)
        shipment_ref, tracking = label.shipment_ref, label.tracking_number or ""

        def call():
            return outbox.Outcome(status=200, data=adapter.cancel(shipment_ref, tracking))

        return call

    @api.model
    def _shipsync_done_refund_label(self, job, outcome):
        label = self.sudo().browse((job._outbox_payload() or {}).get("label_id")).exists()
        result = outcome.data
        if not label or not isinstance(result, ab.CancelResult):
            return
        label.write({"state": "refunded" if result.accepted else "refund_rejected",
                     "refund_message": (result.message or result.raw_status or "")[:250]})

    @api.model
    def _shipsync_dead_refund_label(self, job, outcome):
        """The partner refused the refund (e.g. a shipment whose buy never went through,
        or a label already used) or never answered: the label says so, it is not left
        'Refund queued'."""
        label = self.sudo().browse((job._outbox_payload() or {}).get("label_id")).exists()
        if label and label.state == "refund_queued":
            label.write({"state": "refund_rejected",
                         "refund_message": (outcome.error or outcome.error_class
                                            or "")[:250]})


def _testing():
    """Odoo's test runs: one transaction rolled back at the end, no second cursor."""
    return bool(getattr(threading.current_thread(), "testing", False))


def _link(cr, carrier_id, refs, picking_id):
    cr.execute("UPDATE shipment_sync_label SET state = 'linked', picking_id = %s, "
               "write_date = now() at time zone 'UTC' WHERE carrier_id = %s "
               "AND shipment_ref IN %s AND state IN ('created', 'buying', 'bought')",
               (picking_id, carrier_id, refs))


class OdooBookingJournal(BookingJournal):
    """The :class:`shipsync.adapters.journal.BookingJournal` of one carrier: every record is
    committed at once in its own cursor (it must survive a rollback of the booking, and
    an outbox call thread has no transaction of its own). It is made in the thread that
    owns ``carrier.env``; in Odoo's tests (one transaction, one connection: a second
    Odoo cursor would wait for the test's lock) it writes in that transaction, through
    a database cursor of its own on that env's connection. Never through the env's
    cursor itself: the journal runs in an outbox call thread while the worker loop
    records other calls' outcomes on that cursor (several calls in flight), and a
    cursor shared by two threads hands one thread's rows to the other (psycopg2:
    connections are thread-safe, cursors are not)."""

    def __init__(self, carrier, picking=None):
        self.env = carrier.env
        self.carrier_id = carrier.id
        self.partner_id = carrier.shipsync_partner_id.id or None
        self.company_id = (picking.company_id.id if picking else None) or None
        self.picking_id = picking.id if picking else None
        self.single_cursor = _testing() or self.env.registry.in_test_mode()

    @contextmanager
    def _cursor(self):
        if self.single_cursor:
            # The connection serializes the statements of both threads; each
            # cursor keeps its own results.
            with self.env.cr._cnx.cursor() as cr:
                yield cr
            return
        with self.env.registry.cursor() as cr:
            yield cr

    def shipment_id(self, key):
        with self._cursor() as cr:
            cr.execute("SELECT shipment_ref FROM shipment_sync_label WHERE carrier_id = %s "
                       "AND booking_key = %s AND state NOT IN %s",
                       (self.carrier_id, key, REFUND_STATES))
            row = cr.fetchone()
        return row[0] if row else None

    def record(self, key, event, shipment_id, tracking_number="", adapter=""):
        state = JOURNAL_STATES[event]
        with self._cursor() as cr:
            cr.execute(
                "INSERT INTO shipment_sync_label (shipment_ref, booking_key, carrier_id, "
                "partner_id, company_id, picking_id, adapter, tracking_number, state, "
                "create_date, write_date, create_uid, write_uid) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, now() at time zone 'UTC', "
                "now() at time zone 'UTC', 1, 1) "
                "ON CONFLICT (carrier_id, booking_key) WHERE state NOT IN %s DO UPDATE SET "
                "shipment_ref = EXCLUDED.shipment_ref, "
                "tracking_number = COALESCE(NULLIF(EXCLUDED.tracking_number, ''), "
                "shipment_sync_label.tracking_number), "
                "state = CASE WHEN shipment_sync_label.state = 'linked' "
                "THEN 'linked' ELSE EXCLUDED.state END, "
                "write_date = now() at time zone 'UTC'",
                (shipment_id, key, self.carrier_id, self.partner_id, self.company_id,
                 self.picking_id, adapter or None, tracking_number or None, state, REFUND_STATES))
