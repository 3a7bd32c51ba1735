"""Customer notifications through the event ledger: once per milestone per
shipment whatever the events do, never for stale events or internal
exceptions, switchable per company and per customer, recorded in the
milestone's transaction and mailed later through Odoo's mail queue."""

import threading
import time
import uuid
from datetime import timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo import SUPERUSER_ID, api
from odoo.tests import HttpCase, TransactionCase, new_test_user, tagged
from odoo.tools import mute_logger
from odoo.tools.translate import code_translations

from odoo.addons.shipment_sync.controllers.main import _buckets
from odoo.addons.shipment_sync.tests.common import (
    T0,
    ShipmentSyncCommon,
    canonical_event,
    envelope,
    race_two_transactions,
)
from odoo.addons.shipment_sync_portal.models.customer_text import exception_text

from shipsync.normalizers import CanonicalEvent

SECRET_MESSAGE = "Driver note: gate code 4471, call Bob"
#: Odoo's own events happen now; the carrier's are around T0.
BEFORE_T0 = T0 - timedelta(minutes=1)


@tagged("post_install", "-at_install")
class TestCustomerNotifications(ShipmentSyncCommon, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_shipment_sync()
        cls.customer.write({"email": "ada@example.com", "lang": "en_US"})
        cls.opt_in(cls.env.company)
        cls.Notification = cls.env["shipment.sync.notification"]
        cls.cron = cls.env.ref("shipment_sync_portal.ir_cron_shipment_sync_notification")
        # Notifications other addons' demo data left pending (the monitor's
        # demo exceptions) are queued first: the counts below are this class's.
        while cls.Notification._cron_send_notifications():
            pass

    @staticmethod
    def opt_in(company):
        """Customer emails are opt-in: the company turns every kind on."""
        company.write({f"shipment_sync_notify_{kind}": True for kind in (
            "handed_over", "out_for_delivery", "available_for_pickup",
            "delivery_attempted", "delivered", "exception")})

    def ingest(self, milestone=None, minutes=0, picking=None, reason=None, event_id=None,
               partner=None, message=""):
        event = CanonicalEvent(
            external_id=event_id or uuid.uuid4().hex,
            occurred_at=T0 + timedelta(minutes=minutes), milestone=milestone,
            exception_reason=reason, picking_ref=(picking or self.picking).name,
            message=message)
        new, _dups = self.env["shipment.sync.event"]._ingest(partner or self.carrier, [event])
        new._apply_now()
        return new

    def notifications(self, picking=None):
        return self.Notification.search([("picking_id", "=", (picking or self.picking).id)],
                                        order="id")

    def mails(self, picking=None):
        return self.env["mail.mail"].search([
            ("model", "=", "stock.picking"), ("res_id", "=", (picking or self.picking).id)])

    # --- once per milestone per shipment ------------------------------------
    def test_repeated_out_for_delivery_notifies_once(self):
        self.ingest("in_transit", 0)
        for _i in range(3):
            self.ingest("out_for_delivery", 10, event_id="ofd-1")  # same event re-delivered
        for minutes in (11, 12, 13):
            self.ingest("out_for_delivery", minutes)  # the carrier repeating itself
        notifications = self.notifications()
        self.assertEqual(notifications.mapped("kind"), ["out_for_delivery"])
        self.assertEqual(notifications.state, "pending")
        self.assertEqual(notifications.partner_id, self.customer)

    def test_delivered_arriving_first_never_announces_out_for_delivery(self):
        self.ingest("in_transit", 0)
        self.ingest("delivered", 30)
        late = self.ingest("out_for_delivery", 10)
        self.assertEqual(late.state, "applied")  # replayed in its place, before delivered
        self.assertEqual(self.picking.shipment_milestone, "delivered")
        self.assertEqual(self.notifications().mapped("kind"), ["delivered"])

    def test_lower_rank_stale_event_never_notifies(self):
        self.ingest("delivery_attempted", 10)
        stale = self.ingest("handed_over", 20)
        self.assertEqual(stale.state, "stale")
        self.assertEqual(self.notifications().mapped("kind"), ["delivery_attempted"])

    def test_in_transit_and_preparation_never_notify(self):
        for minutes, milestone in enumerate(("released", "picked", "packed", "label_created",
                                             "picked_up", "in_transit")):
            self.ingest(milestone, minutes, partner=self.partner)
        self.assertFalse(self.notifications())

    def test_each_notified_milestone_once_along_the_journey(self):
        with freeze_time(BEFORE_T0):
            self.picking._shipment_internal_event(milestone="handed_over")
        for minutes, milestone in enumerate(("picked_up", "in_transit", "out_for_delivery",
                                             "delivery_attempted", "out_for_delivery",
                                             "available_for_pickup", "delivered"), start=1):
            self.ingest(milestone, minutes)
        self.assertEqual(self.notifications().mapped("key"), [
            "handed_over", "out_for_delivery", "delivery_attempted", "available_for_pickup",
            "delivered"])

    def test_validating_the_delivery_order_notifies_shipped(self):
        picking = self.make_picking(qty=1)
        self.env["stock.quant"]._update_available_quantity(self.product, picking.location_id, 1)
        picking.action_assign()
        picking.move_ids.picked = True
        picking._action_done()
        self.assertEqual(picking.state, "done")
        self.assertEqual(picking.shipment_milestone, "handed_over")
        self.assertEqual(self.notifications(picking).mapped("kind"), ["handed_over"])

    def test_notifying_a_key_twice_creates_nothing_and_raises_nothing(self):
        first = self.picking._shipment_customer_notify("delivered")
        again = self.picking._shipment_customer_notify("delivered")
        self.assertEqual(len(first), 1)
        self.assertFalse(again)
        self.assertEqual(len(self.notifications()), 1)

    # --- exceptions ---------------------------------------------------------
    def test_customer_exception_notifies_once_in_customer_words_only(self):
        self.picking.carrier_tracking_ref = "EZ1000042"
        self.ingest("in_transit", 0)
        for minutes in (5, 6):
            self.ingest(None, minutes, reason="address_issue", message=SECRET_MESSAGE)
        notification = self.notifications()
        self.assertEqual((notification.kind, notification.key),
                         ("exception", "exception:address_issue"))
        self.Notification._cron_send_notifications()
        self.assertEqual(notification.state, "queued")
        mail = notification.mail_id
        body = mail.body_html
        self.assertIn(exception_text("address_issue", self.env), body)
        self.assertIn("EZ1000042", body)
        self.assertIn(self.picking._shipment_tracking_url(), body)
        for private in ("address_issue", "Address Issue", self.carrier.name, self.carrier.code,
                        "4471", "Bob", "Driver note"):
            self.assertNotIn(private, body)
            self.assertNotIn(private, mail.subject)
        # Headed with the customer's order, not with Odoo's transfer.
        self.assertIn("Your order", body)
        self.assertNotIn("Your Transfer", body)
        self.assertNotIn(self.picking.name.replace("/", "-"), body)

    def test_mail_speaks_the_customers_language(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        self.customer.lang = "fr_FR"
        french = {"The parcel is delayed. We are keeping an eye on it.":
                  "Le colis a du retard. Nous le suivons de près."}
        template = self.env.ref("shipment_sync_portal.mail_template_shipment_exception")
        self.assertEqual(template._render_lang(self.picking.ids), {self.picking.id: "fr_FR"})
        self.ingest(None, 5, reason="delay_carrier")
        key = ("shipment_sync_portal", "fr_FR")
        code_translations.get_python_translations(*key)  # loaded, then patched
        with patch.dict(code_translations.python_translations, {key: french}):
            self.Notification._cron_send_notifications()
        body = self.notifications().mail_id.body_html
        self.assertIn("Le colis a du retard", body)
        self.assertNotIn("The parcel is delayed", body)

    def test_internal_exceptions_never_notify(self):
        self.ingest("in_transit", 0)
        for minutes, reason in enumerate(("label_failed", "sync_failed", "wms_mismatch",
                                          "booking_rejected", "sla_breach"), start=1):
            with freeze_time(T0 + timedelta(minutes=minutes)):
                self.picking._shipment_internal_event(exception_reason=reason,
                                                      message=SECRET_MESSAGE)
            self.assertEqual(self.picking.shipment_exception_reason, reason)
        self.assertFalse(self.notifications())

    def test_exception_older_than_delivery_never_notifies(self):
        self.ingest("delivered", 30)
        self.ingest(None, 5, reason="damaged")  # replayed before the delivery that resolved it
        self.assertEqual(self.picking.shipment_exception_state, "resolved")
        self.assertEqual(self.notifications().mapped("kind"), ["delivered"])

    # --- switches -----------------------------------------------------------
    def test_company_switch_off_records_a_skipped_notification(self):
        self.picking.company_id.shipment_sync_notify_out_for_delivery = False
        self.ingest("out_for_delivery", 10)
        self.ingest("out_for_delivery", 11)
        notification = self.notifications()
        self.assertEqual(notification.state, "skipped")
        self.assertIn("company", notification.skip_reason)
        self.Notification._cron_send_notifications()
        self.assertEqual(notification.state, "skipped")
        self.assertFalse(self.mails())

    def test_opted_out_customer_records_skipped_for_every_contact(self):
        company = self.env["res.partner"].create({
            "name": "Opt-out Ltd", "is_company": True, "email": "ops@optout.example"})
        contact = self.env["res.partner"].create({
            "name": "Dock", "parent_id": company.id, "email": "dock@optout.example"})
        company.shipment_sync_email_opt_out = True
        self.assertTrue(contact.shipment_sync_email_opt_out)  # a commercial field
        picking = self.make_picking(partner_id=contact.id)
        self.ingest("delivered", 10, picking=picking)
        notification = self.notifications(picking)
        self.assertEqual(notification.state, "skipped")
        self.assertIn("opted out", notification.skip_reason)
        self.Notification._cron_send_notifications()
        self.assertFalse(self.mails(picking))

    def test_receipts_and_returns_record_nothing(self):
        receipt_type = self.env.ref("stock.picking_type_in")
        receipt = self.env["stock.picking"].create({
            "picking_type_id": receipt_type.id, "partner_id": self.customer.id,
            "location_id": self.env.ref("stock.stock_location_suppliers").id,
            "location_dest_id": receipt_type.default_location_dest_id.id,
        })
        receipt._shipment_customer_notify("delivered")
        self.assertFalse(self.notifications(receipt))
        ret = self.make_picking(return_id=self.picking.id)
        ret._shipment_customer_notify("delivered")
        self.assertFalse(self.notifications(ret))

    def test_customer_without_email_is_recorded_as_skipped(self):
        self.customer.email = False
        self.ingest("delivered", 10)
        self.assertEqual(self.notifications().state, "skipped")
        self.assertIn("no email", self.notifications().skip_reason)

    # --- sending through the mail queue -------------------------------------
    def test_webhook_transaction_records_pending_and_queues_no_mail(self):
        self.ingest("out_for_delivery", 10)
        notification = self.notifications()
        self.assertEqual(notification.state, "pending")
        self.assertFalse(self.mails())
        self.assertTrue(self.env["ir.cron.trigger"].search([("cron_id", "=", self.cron.id)]))
        handled = self.Notification._cron_send_notifications()
        self.assertEqual(handled, 1)
        self.assertEqual(notification.state, "queued")
        mail = self.mails()
        self.assertEqual(mail, notification.mail_id)
        self.assertEqual(mail.state, "outgoing")
        self.assertEqual(mail.recipient_ids, self.customer)
        self.assertIn(self.picking._shipment_tracking_url(), mail.body_html)
        self.assertIn("/shipment/track/", mail.body_html)
        self.assertIn("out for delivery", mail.subject)
        self.assertEqual(self.picking.shipment_notification_count, 1)
        self.assertEqual(self.picking.action_view_shipment_notifications()["domain"],
                         [("picking_id", "=", self.picking.id)])
        # a second run has nothing left to send
        self.assertEqual(self.Notification._cron_send_notifications(), 0)
        self.assertEqual(len(self.mails()), 1)

    def test_render_error_fails_one_and_queues_the_next(self):
        broken, fine = self.make_picking(), self.make_picking()
        self.ingest("delivered", 10, picking=broken)
        self.ingest("out_for_delivery", 10, picking=fine)
        template = self.env.ref("shipment_sync_portal.mail_template_shipment_delivered")
        template.body_html = '<p><t t-out="object.no_such_field.name"/></p>'
        with mute_logger("odoo.addons.shipment_sync.models.shipment_sync_notification",
                         "odoo.addons.mail.models.mail_render_mixin"):
            self.Notification._cron_send_notifications()
        failed, queued = self.notifications(broken), self.notifications(fine)
        self.assertEqual(failed.state, "failed")
        self.assertIn("no_such_field", failed.error)
        self.assertFalse(self.mails(broken))
        self.assertEqual(queued.state, "queued")
        self.assertEqual(queued.mail_id.state, "outgoing")
        # fixed template, retried
        template.body_html = "<p>Delivered</p>"
        failed.action_retry()
        self.Notification._cron_send_notifications()
        self.assertEqual(failed.state, "queued")

    def test_news_superseded_before_sending_is_skipped(self):
        with freeze_time(BEFORE_T0):
            self.picking._shipment_internal_event(milestone="handed_over")
        self.ingest(None, 5, reason="delay_carrier")
        self.ingest("delivered", 30)  # same partner: resolves the delay
        shipped, delay, delivered = self.notifications()
        self.Notification._cron_send_notifications()
        self.assertEqual((shipped.state, delay.state, delivered.state),
                         ("skipped", "skipped", "queued"))
        self.assertIn("Superseded", shipped.skip_reason)
        self.assertEqual(self.mails(), delivered.mail_id)

    def test_delivery_estimates_are_shown_when_known(self):
        eta = (T0 + timedelta(days=2)).replace(tzinfo=None)
        event = CanonicalEvent(external_id=uuid.uuid4().hex, occurred_at=T0,
                               milestone="out_for_delivery", picking_ref=self.picking.name,
                               carrier_eta=eta)
        new, _dups = self.env["shipment.sync.event"]._ingest(self.carrier, [event])
        new._apply_now()
        self.Notification._cron_send_notifications()
        body = self.notifications().mail_id.body_html
        self.assertIn("estimate", body)
        self.assertIn("11/04/2026", body)

    def test_recipient_falls_back_to_the_ordering_customer(self):
        delivery = self.env["res.partner"].create({
            "name": "Dock 4", "parent_id": self.customer.id, "type": "delivery"})
        self.assertFalse(delivery.email)
        order = self.env["sale.order"].create({
            "partner_id": self.customer.id, "partner_shipping_id": delivery.id,
            "order_line": [(0, 0, {"product_id": self.product.id, "product_uom_qty": 1})],
        })
        order.action_confirm()
        picking = order.picking_ids
        self.assertEqual(picking.partner_id, delivery)
        notification = picking._shipment_customer_notify("delivered")
        self.assertEqual((notification.state, notification.partner_id), ("pending", self.customer))
        # without an order, the delivery contact has no email: recorded, skipped
        lone = self.make_picking(partner_id=delivery.id)
        self.assertEqual(lone._shipment_customer_notify("delivered").state, "skipped")

    def test_mail_speaks_for_the_company_of_the_shipment(self):
        company_b = self.env["res.company"].create({
            "name": "Bravo Parcels", "email": "hello@bravo.example"})
        self.opt_in(company_b)
        warehouse = self.env["stock.warehouse"].search([("company_id", "=", company_b.id)])
        picking = self.env["stock.picking"].with_company(company_b).create({
            "picking_type_id": warehouse.out_type_id.id, "partner_id": self.customer.id,
            "location_id": warehouse.lot_stock_id.id,
            "location_dest_id": self.env.ref("stock.stock_location_customers").id,
        })
        company_b.shipment_sync_notify_delivered = False
        self.assertEqual(picking._shipment_customer_notify("delivered").state, "skipped")
        picking._shipment_customer_notify("out_for_delivery")
        self.assertTrue(self.picking.company_id.shipment_sync_notify_delivered)
        self.Notification._cron_send_notifications()
        mail = self.mails(picking)
        self.assertIn("hello@bravo.example", mail.email_from)
        self.assertIn("Bravo Parcels", mail.subject)
        self.assertIn("Bravo Parcels", mail.body_html)
        self.assertNotIn(self.picking.company_id.name, mail.body_html)

    def test_company_with_its_own_template_uses_it_the_others_the_shared_one(self):
        company_b = self.env["res.company"].create({"name": "Bravo Parcels"})
        self.opt_in(company_b)
        warehouse = self.env["stock.warehouse"].search([("company_id", "=", company_b.id)])
        picking_b = self.env["stock.picking"].with_company(company_b).create({
            "picking_type_id": warehouse.out_type_id.id, "partner_id": self.customer.id,
            "location_id": warehouse.lot_stock_id.id,
            "location_dest_id": self.env.ref("stock.stock_location_customers").id,
        })
        shared = self.env.ref("shipment_sync_portal.mail_template_shipment_delivered")
        own = shared.copy({"subject": "Bravo: your parcel has arrived"})
        self.env["shipment.sync.notification.template"].create({
            "company_id": company_b.id, "kind": "delivered", "template_id": own.id})
        self.assertEqual(picking_b._shipment_notification_template("delivered"), own)
        self.assertEqual(self.picking._shipment_notification_template("delivered"), shared)
        self.assertEqual(picking_b._shipment_notification_template("out_for_delivery"),
                         self.env.ref("shipment_sync_portal.mail_template_shipment_out_for_delivery"))
        picking_b._shipment_customer_notify("delivered")
        self.ingest("delivered", 10)
        self.Notification._cron_send_notifications()
        self.assertEqual(self.mails(picking_b).subject, "Bravo: your parcel has arrived")
        self.assertNotEqual(self.mails().subject, "Bravo: your parcel has arrived")

    # --- opt-in and one channel ---------------------------------------------
    def test_a_new_company_emails_no_customer_until_it_opts_in(self):
        company_c = self.env["res.company"].create({"name": "Charlie Freight"})
        for kind in ("handed_over", "out_for_delivery", "available_for_pickup",
                     "delivery_attempted", "delivered", "exception", "running_late"):
            self.assertFalse(company_c._shipment_notification_enabled(kind), kind)
        warehouse = self.env["stock.warehouse"].search([("company_id", "=", company_c.id)])
        picking = self.env["stock.picking"].with_company(company_c).create({
            "picking_type_id": warehouse.out_type_id.id, "partner_id": self.customer.id,
            "location_id": warehouse.lot_stock_id.id,
            "location_dest_id": self.env.ref("stock.stock_location_customers").id,
        })
        for kind in ("handed_over", "delivered"):
            self.assertEqual(picking._shipment_customer_notify(kind).state, "skipped")
        self.Notification._cron_send_notifications()
        self.assertFalse(self.mails(picking))

    def test_shipped_email_and_odoo_confirmation_never_both(self):
        company = self.env.company
        company.write({"shipment_sync_notify_handed_over": False,
                       "stock_move_email_validation": True})
        # Turning ours on switches Odoo's confirmation off in the same write.
        company.shipment_sync_notify_handed_over = True
        self.assertFalse(company.stock_move_email_validation)
        self.assertTrue(company._shipment_notification_enabled("handed_over"))
        # Odoo's confirmation turned back on afterwards wins: ours stays silent.
        company.stock_move_email_validation = True
        self.assertFalse(company._shipment_notification_enabled("handed_over"))
        self.assertEqual(self.picking._shipment_customer_notify("handed_over").state, "skipped")
        self.assertTrue(company._shipment_notification_enabled("delivered"))

    # --- access -------------------------------------------------------------
    def test_users_only_see_notifications_of_their_companies(self):
        self.ingest("delivered", 10)
        company_b = self.env["res.company"].create({"name": "Company B"})
        user_b = new_test_user(self.env, "notif_user_b", groups="shipment_sync.group_user",
                               company_id=company_b.id, company_ids=[(6, 0, company_b.ids)])
        user_a = new_test_user(self.env, "notif_user_a", groups="shipment_sync.group_user",
                               company_id=self.env.company.id,
                               company_ids=[(6, 0, self.env.company.ids)])
        mine = self.notifications()
        self.assertEqual(self.Notification.with_user(user_a).search([("id", "=", mine.id)]), mine)
        self.assertFalse(self.Notification.with_user(user_b).search([("id", "=", mine.id)]))


@tagged("post_install", "-at_install")
class TestCustomerNotificationsWebhook(ShipmentSyncCommon, HttpCase):
    """The real webhook request: it records the notification, it mails nothing."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_shipment_sync()
        cls.customer.email = "ada@example.com"
        TestCustomerNotifications.opt_in(cls.env.company)

    def setUp(self):
        super().setUp()
        _buckets.reset()

    def post(self, payload):
        body = self.dumps(payload)
        headers = {"Content-Type": "application/json", **self.sign_standard(body)}
        return self.opener.post(f"{self.base_url()}/shipment_sync/webhook/{self.partner.code}",
                                data=body, headers=headers, allow_redirects=False, timeout=30)

    def test_webhook_request_records_the_notification_and_mails_nothing(self):
        event = canonical_event(self.picking.name, "out_for_delivery", 10)
        self.assertEqual(self.post(envelope(event)).status_code, 202)
        self.assertEqual(self.post(envelope(event)).status_code, 200)  # duplicate delivery
        later = canonical_event(self.picking.name, "out_for_delivery", 20)
        self.assertEqual(self.post(envelope(later)).status_code, 202)  # same milestone again
        self.assertEqual(self.picking.shipment_milestone, "out_for_delivery")
        notification = self.env["shipment.sync.notification"].search(
            [("picking_id", "=", self.picking.id)])
        self.assertEqual((notification.kind, notification.state), ("out_for_delivery", "pending"))
        self.assertFalse(self.env["mail.mail"].search(
            [("model", "=", "stock.picking"), ("res_id", "=", self.picking.id)]))


@tagged("post_install", "-at_install")
class TestConcurrentNotify(TransactionCase):
    """Two real transactions record the same notification at the same time
    (two workers replaying one shipment): one row, and no error for either."""

    def test_two_concurrent_replays_record_one_notification_without_error(self):
        registry = self.env.registry
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            partner = env["res.partner"].create({"name": "Race Customer",
                                                 "email": "race@example.com"})
            picking_type = env.ref("stock.picking_type_out")
            picking = env["stock.picking"].create({
                "picking_type_id": picking_type.id, "partner_id": partner.id,
                "location_id": picking_type.default_location_src_id.id,
                "location_dest_id": env.ref("stock.stock_location_customers").id,
            })
            picking_id, partner_id = picking.id, partner.id
            company = picking.company_id
            was_on = company.shipment_sync_notify_delivered
            company.shipment_sync_notify_delivered = True  # customer emails are opt-in

        def notify(env):
            return len(env["stock.picking"].browse(picking_id)._shipment_customer_notify(
                "delivered"))

        try:
            results = race_two_transactions(registry, notify)
            self.assertEqual(results, (1, 0))
            with registry.cursor() as cr:
                cr.execute("SELECT kind, state FROM shipment_sync_notification "
                           "WHERE picking_id = %s", [picking_id])
                self.assertEqual(cr.fetchall(), [("delivered", "pending")])
        finally:
            with registry.cursor() as cr:
                cr.execute("DELETE FROM shipment_sync_notification WHERE picking_id = %s",
                           [picking_id])
                env = api.Environment(cr, SUPERUSER_ID, {})
                env["stock.picking"].browse(picking_id).unlink()
                env["res.partner"].browse(partner_id).unlink()
                company.with_env(env).shipment_sync_notify_delivered = was_on


@tagged("post_install", "-at_install")
class TestNotificationMeetsAConflict(TransactionCase):
    """The notification cron and a webhook update the same transfer at the same
    time (two real transactions): the cron meets a serialization failure, the
    notification stays pending, and the next run queues it. The cron is known
    to be waiting on the webhook's lock from PostgreSQL itself (pg_locks), not
    from a sleep."""

    def _commit(self, work):
        with self.env.registry.cursor() as cr:
            return work(api.Environment(cr, SUPERUSER_ID, {}))

    def test_serialization_conflict_keeps_the_notification_pending(self):
        registry = self.env.registry

        def setup(env):
            customer = env["res.partner"].create({"name": "Conflict Customer",
                                                  "email": "conflict@example.com"})
            picking_type = env.ref("stock.picking_type_out")
            picking = env["stock.picking"].create({
                "picking_type_id": picking_type.id, "partner_id": customer.id,
                "location_id": picking_type.default_location_src_id.id,
                "location_dest_id": env.ref("stock.stock_location_customers").id,
            })
            company = picking.company_id
            was_on = company.shipment_sync_notify_delivered
            company.shipment_sync_notify_delivered = True  # customer emails are opt-in
            notification = picking._shipment_customer_notify("delivered")
            return picking.id, customer.id, notification.id, bool(
                picking.shipment_tracking_token), company.id, was_on

        picking_id, customer_id, notification_id, has_token, company_id, was_on = \
            self._commit(setup)
        self.assertTrue(notification_id)
        self.assertFalse(has_token, "the cron will write the token: the row both update")
        results = {}
        env_webhook = api.Environment(registry.cursor(), SUPERUSER_ID, {})
        env_cron = api.Environment(registry.cursor(), SUPERUSER_ID, {})
        try:
            env_cron.cr.execute("SELECT pg_backend_pid()")
            cron_pid = env_cron.cr.fetchone()[0]

            def run_cron():
                try:
                    with env_cron.cr:
                        Notification = env_cron["shipment.sync.notification"]
                        # only this test's row: other pending rows are not ours
                        env_cron.cr.execute(
                            "UPDATE shipment_sync_notification SET state = state "
                            "WHERE id = %s", [notification_id])
                        results["sent"] = Notification.browse(notification_id)._send()
                except Exception as exc:  # reported by the assertion below
                    results["error"] = repr(exc)

            # The cron's UPDATE fails as PostgreSQL answers a conflict, which
            # Odoo's cursor logs (as it does for any cron that retries one).
            with env_webhook.cr, mute_logger("odoo.sql_db"):
                # The webhook moves the transfer and holds its row lock.
                env_webhook.cr.execute(
                    "UPDATE stock_picking SET write_date = now() WHERE id = %s", [picking_id])
                thread = threading.Thread(target=run_cron)
                thread.start()
                waited = self._wait_for_lock(cron_pid)
                env_webhook.cr.commit()
                thread.join(60)
            self.assertTrue(waited, "the cron waited on the webhook's row lock")
            self.assertNotIn("error", results, results)
            self.assertIs(results["sent"], False, "left pending for a retry")

            def state(env):
                env.cr.execute("SELECT state, error FROM shipment_sync_notification "
                               "WHERE id = %s", [notification_id])
                return env.cr.fetchone()

            self.assertEqual(self._commit(state), ("pending", None))

            def resend(env):
                return env["shipment.sync.notification"].browse(notification_id)._send()

            self.assertIs(self._commit(resend), True)
            self.assertEqual(self._commit(state)[0], "queued")
        finally:
            def cleanup(env):
                env["mail.mail"].search([("model", "=", "stock.picking"),
                                         ("res_id", "=", picking_id)]).unlink()
                env.cr.execute("DELETE FROM shipment_sync_notification WHERE picking_id = %s",
                               [picking_id])
                env["stock.picking"].browse(picking_id).unlink()
                env["res.partner"].browse(customer_id).unlink()
                env["res.company"].browse(company_id).shipment_sync_notify_delivered = was_on
            self._commit(cleanup)

    def _wait_for_lock(self, pid, timeout=30):
        """True once PostgreSQL shows ``pid`` waiting for a lock it was not granted."""
        deadline = time.monotonic() + timeout
        with self.env.registry.cursor() as cr:
            while time.monotonic() < deadline:
                cr.execute("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = %s AND NOT granted)"
                           " AND EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = %s "
                           "AND wait_event_type = 'Lock')", [pid, pid])
                if cr.fetchone()[0]:
                    return True
                cr.rollback()
                time.sleep(0.02)
        return False
