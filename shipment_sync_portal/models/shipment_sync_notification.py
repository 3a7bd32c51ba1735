import logging
from datetime import timedelta

from psycopg2 import errors as pg_errors

from odoo import _, api, fields, models
from odoo.tools import SQL

from odoo.addons.shipment_sync.models.cron_retry import retry_conflicts
from odoo.addons.shipment_sync.models.transient_errors import is_transient_db_error

from shipsync import customer

_logger = logging.getLogger(__name__)

NOTIFY_KIND_SELECTION = [
    ("handed_over", "Handed over"),
    ("out_for_delivery", "Out for delivery"),
    ("available_for_pickup", "Available for pickup"),
    ("delivery_attempted", "Delivery attempted"),
    ("delivered", "Delivered"),
    ("exception", "Exception"),
]
assert [k for k, _l in NOTIFY_KIND_SELECTION] == list(customer.NOTIFY_KINDS)

#: Rows rendered per cron run; a full batch triggers the next run at once.
SEND_BATCH = 100
#: A row that met a transient database error is tried again this much later.
RETRY_DELAY = timedelta(seconds=30)


class ShipmentSyncNotification(models.Model):
    """One customer notification of one shipment: created in the transaction
    that moved the milestone (UNIQUE per picking and key, so repeats and
    out-of-order events never send twice), rendered and queued in Odoo's mail
    queue by a cron, never inside the webhook request."""

    _name = "shipment.sync.notification"
    _description = "Shipment customer notification"
    _order = "id desc"

    picking_id = fields.Many2one("stock.picking", "Transfer", required=True, index=True,
                                 ondelete="cascade", readonly=True)
    company_id = fields.Many2one(related="picking_id.company_id", store=True, index=True)
    partner_id = fields.Many2one("res.partner", "Customer", readonly=True)
    kind = fields.Selection(NOTIFY_KIND_SELECTION, required=True, readonly=True)
    key = fields.Char(required=True, readonly=True,
                      help="What makes this notification unique for the shipment.")
    state = fields.Selection(
        [("pending", "Pending"), ("queued", "Queued"), ("skipped", "Skipped"),
         ("failed", "Failed")],
        default="pending", required=True, index=True, readonly=True)
    skip_reason = fields.Char(readonly=True)
    mail_id = fields.Many2one("mail.mail", readonly=True, ondelete="set null")
    queued_at = fields.Datetime("Queued on", readonly=True)
    error = fields.Text(readonly=True, help="Why the email could not be rendered.")
    picking_milestone = fields.Selection(related="picking_id.shipment_milestone",
                                         string="Current milestone")

    _sql_constraints = [
        ("picking_key_unique", "UNIQUE(picking_id, key)",
         "A shipment gets each customer notification once."),
    ]

    @api.depends("picking_id", "kind")
    def _compute_display_name(self):
        kinds = dict(self._fields["kind"]._description_selection(self.env))
        for notification in self:
            notification.display_name = (
                f"{notification.picking_id.name or ''} - {kinds.get(notification.kind, '')}")

    # ------------------------------------------------------------------
    # recording (called from the transaction that moved the milestone)
    # ------------------------------------------------------------------
    @api.model
    def _skip_reason_text(self, code):
        return {
            customer.SKIP_COMPANY_OFF: _("Switched off for the company"),
            customer.SKIP_OPTED_OUT: _("The customer opted out of shipment emails"),
            customer.SKIP_NO_EMAIL: _("The customer has no email address"),
            "superseded": _("Superseded by later news before it was sent"),
            "no_template": _("No email template for this kind"),
        }.get(code, code)

    @api.model
    def _insert_rows(self, rows):
        """Insert notification rows with ``ON CONFLICT (picking_id, key) DO
        NOTHING``; returns the ids created. A row already there (an earlier
        replay notified it, or a concurrent transaction that committed after
        ours began, which PostgreSQL reports as a serialization failure or a
        unique violation under REPEATABLE READ) is simply not created: never
        twice, never an error."""
        ids = []
        uid, now = self.env.uid, fields.Datetime.now()
        for row in rows:
            try:
                with self.env.cr.savepoint(flush=False):
                    self.env.cr.execute(SQL(
                        "INSERT INTO shipment_sync_notification (picking_id, company_id, "
                        "partner_id, kind, key, state, skip_reason, create_uid, write_uid, "
                        "create_date, write_date) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                        "ON CONFLICT (picking_id, key) DO NOTHING RETURNING id",
                        row["picking_id"], row["company_id"], row["partner_id"] or None,
                        row["kind"], row["key"], row["state"], row.get("skip_reason"),
                        uid, uid, now, now,
                    ), log_exceptions=False)
                    fetched = self.env.cr.fetchone()
            except (pg_errors.SerializationFailure, pg_errors.UniqueViolation):
                fetched = None
            if fetched:
                ids.append(fetched[0])
        created = self.browse(ids)
        if created:
            self.invalidate_model()
        return created

    # ------------------------------------------------------------------
    # sending (cron)
    # ------------------------------------------------------------------
    @api.model
    @retry_conflicts
    def _cron_send_notifications(self, limit=SEND_BATCH):
        """Render pending notifications into Odoo's mail queue. Claims rows
        with SKIP LOCKED so a triggered run and the sweep never render one
        twice; each row in its own savepoint so one failing template does not
        hold back the others. Returns the number of rows handled."""
        self.flush_model(["state"])
        self.env.cr.execute(SQL(
            "SELECT id FROM shipment_sync_notification WHERE state = 'pending' "
            "ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED", limit))
        pending = self.browse([r[0] for r in self.env.cr.fetchall()])
        left = [notification for notification in pending if notification._send() is False]
        cron = self.env.ref("shipment_sync_portal.ir_cron_shipment_sync_notification")
        if len(pending) == limit:
            cron._trigger()
        if left:
            # A fresh transaction (and snapshot) is what a conflict needs.
            cron._trigger(at=fields.Datetime.now() + RETRY_DELAY)
        return len(pending)

    def _send(self):
        """Queue this notification's email (mail.mail, state outgoing) or mark
        it skipped (superseded) or failed (a final error: no address, template
        error, with the reason). A transient database error (a webhook updating
        the same transfer, a deadlock...) leaves it pending for the next run.
        Returns False when the row is left pending for a retry."""
        self.ensure_one()
        picking = self.picking_id
        later_kinds = self.search([
            ("picking_id", "=", picking.id), ("id", ">", self.id),
            ("state", "in", ("pending", "queued")),
        ]).mapped("kind")
        if customer.superseded(
                self.kind, self.key, milestone=picking.shipment_milestone,
                exception_state=picking.shipment_exception_state,
                exception_reason=picking.shipment_exception_reason or None,
                later_milestone_kinds=later_kinds):
            self.write({"state": "skipped", "skip_reason": self._skip_reason_text("superseded")})
            return True
        template = picking._shipment_notification_template(self.kind)
        if not template:
            self.write({"state": "skipped", "skip_reason": self._skip_reason_text("no_template")})
            return True
        try:
            with self.env.cr.savepoint():
                picking._shipment_tracking_url()  # the token, before rendering
                mail_id = template.with_context(
                    shipment_sync_notification_key=self.key,
                ).send_mail(picking.id, force_send=False,
                            email_layout_xmlid="shipment_sync_portal.mail_layout_customer")
                mail = self.env["mail.mail"].browse(mail_id)
                if not (mail.email_to or mail.recipient_ids.filtered("email")):
                    raise _NoAddress()
        except _NoAddress:
            self.write({"state": "failed", "error": self._skip_reason_text(
                customer.SKIP_NO_EMAIL)})
            return True
        except Exception as error:  # noqa: BLE001 - any template error fails this row only
            if is_transient_db_error(error):
                _logger.info("Shipment notification %s (%s) meets a database conflict; "
                             "left pending for the next run: %s", self.id, self.kind, error)
                return False
            _logger.warning("Shipment notification %s (%s) could not be rendered: %s",
                            self.id, self.kind, error)
            self.write({"state": "failed", "error": str(error)[:2000]})
            return True
        self.write({"state": "queued", "mail_id": mail_id, "queued_at": fields.Datetime.now(),
                    "error": False})
        return True

    def action_retry(self):
        """Send failed notifications again (after fixing the template)."""
        failed = self.filtered(lambda n: n.state == "failed")
        failed.write({"state": "pending", "error": False})
        if failed:
            self.env.ref("shipment_sync_portal.ir_cron_shipment_sync_notification")._trigger()
        return True


class _NoAddress(Exception):
    """The rendered email has no recipient with an address."""
