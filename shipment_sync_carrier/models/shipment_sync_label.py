"""Paid labels: the partner's shipment ids, written down the moment the partner returns
them, in a transaction of their own, so that neither a retried booking nor a booking
whose Odoo transaction rolled back can pay for a label twice or lose track of one."""

import threading
from contextlib import contextmanager, nullcontext
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from shipsync import outbox
from shipsync.adapters import base as ab

LABEL_STATES = [
    ("created", "Created (not bought)"),
    ("bought", "Paid"),
    ("linked", "On its transfer"),
    ("refund_queued", "Refund queued"),
    ("refunded", "Refunded"),
    ("refund_rejected", "Refund refused"),
]
#: A paid label younger than this may still be on its way to its transfer.
UNLINKED_AFTER = timedelta(minutes=10)


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
        help="Paid at the partner, but the booking that bought it did not complete in Odoo "
        "(its transaction rolled back, or it was never retried).")

    _sql_constraints = [
        ("booking_uniq", "UNIQUE(carrier_id, booking_key)",
         "One partner shipment per booking and parcel."),
    ]

    def _compute_unlinked(self):
        limit = fields.Datetime.now() - UNLINKED_AFTER
        for label in self:
            label.unlinked = label.state == "bought" and label.create_date \
                and label.create_date < limit

    def _search_unlinked(self, operator, value):
        limit = fields.Datetime.now() - UNLINKED_AFTER
        domain = [("state", "=", "bought"), ("create_date", "<", limit)]
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
        """Queue a refund (void) of each paid label not on a transfer."""
        todo = self.filtered(lambda label: label.state == "bought")
        if not todo:
            raise UserError(_("Only paid labels that are not on a transfer can be refunded."))
        Job = self.env["shipment.sync.job"].sudo()
        for label in todo:
            Job._enqueue(label.partner_id, "refund_label", {"label_id": label.id},
                         picking=label.picking_id or None,
                         idempotency_key=f"refund:{label.carrier_id.id}:{label.shipment_ref}")
        todo.sudo().write({"state": "refund_queued"})
        return True

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


def _testing():
    """Odoo's test runs: one transaction rolled back at the end, no second cursor."""
    return bool(getattr(threading.current_thread(), "testing", False))


def _link(cr, carrier_id, refs, picking_id):
    cr.execute("UPDATE shipment_sync_label SET state = 'linked', picking_id = %s, "
               "write_date = now() at time zone 'UTC' WHERE carrier_id = %s "
               "AND shipment_ref IN %s AND state IN ('created', 'bought')",
               (picking_id, carrier_id, refs))


class OdooBookingJournal(ab.BookingJournal):
    """The :class:`shipsync.adapters.base.BookingJournal` of one carrier: every record is
    committed at once in its own cursor (it must survive a rollback of the booking). In
    Odoo's tests (one transaction) it writes through the test's cursor."""

    def __init__(self, carrier, picking=None):
        self.env = carrier.env
        self.carrier_id = carrier.id
        self.company_id = (picking.company_id.id if picking else None) or None
        self.picking_id = picking.id if picking else None

    @contextmanager
    def _cursor(self):
        if _testing():
            with nullcontext(self.env.cr) as cr:
                yield cr
            return
        with self.env.registry.cursor() as cr:
            yield cr

    def shipment_id(self, key):
        with self._cursor() as cr:
            cr.execute("SELECT shipment_ref FROM shipment_sync_label WHERE carrier_id = %s "
                       "AND booking_key = %s AND state NOT IN ('refunded', 'refund_queued')",
                       (self.carrier_id, key))
            row = cr.fetchone()
        return row[0] if row else None

    def record(self, key, event, shipment_id, tracking_number="", adapter=""):
        state = "bought" if event == "bought" else "created"
        with self._cursor() as cr:
            cr.execute(
                "INSERT INTO shipment_sync_label (shipment_ref, booking_key, carrier_id, "
                "company_id, picking_id, adapter, tracking_number, state, create_date, "
                "write_date, create_uid, write_uid) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, now() at time zone 'UTC', "
                "now() at time zone 'UTC', 1, 1) "
                "ON CONFLICT (carrier_id, booking_key) DO UPDATE SET "
                "shipment_ref = EXCLUDED.shipment_ref, "
                "tracking_number = COALESCE(NULLIF(EXCLUDED.tracking_number, ''), "
                "shipment_sync_label.tracking_number), "
                "state = CASE WHEN shipment_sync_label.state = 'linked' "
                "THEN 'linked' ELSE EXCLUDED.state END, "
                "write_date = now() at time zone 'UTC'",
                (shipment_id, key, self.carrier_id, self.company_id, self.picking_id,
                 adapter or None, tracking_number or None, state))
