"""Tracking pages over real HTTP: the public page behind its token, the
customer portal's shipments and the sale order's portal page."""

import json
import uuid
from datetime import datetime, timedelta, timezone
from unittest.mock import patch

from odoo import fields
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools.translate import code_translations

from odoo.addons.shipment_sync.tests.common import T0, ShipmentSyncCommon, canonical_event, envelope
from odoo.addons.shipment_sync_portal.controllers.portal import BURST_PARAM, RATE_PARAM, _buckets
from odoo.addons.shipment_sync_portal.models.customer_text import exception_text, milestone_text

from shipsync.normalizers import CanonicalEvent

STREET = "12 Rue des Secrets"
ZIP = "69003"
EMAIL = "ada.private@example.com"
PHONE = "+33 6 12 34 56 78"
RAW_CODE = "XQ-HUB-ARRIVAL"
RAW_SUBCODE = "HUBSUB-77"
EVENT_MESSAGE = "Driver note gate code 4711"


@tagged("post_install", "-at_install")
class TestTrackingPages(ShipmentSyncCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_shipment_sync()
        cls.Event = cls.env["shipment.sync.event"]
        france = cls.env.ref("base.fr")
        cls.customer.write({
            "street": STREET, "zip": ZIP, "city": "Lyon", "country_id": france.id,
            "email": EMAIL, "phone": PHONE, "tz": "Europe/Paris",
        })
        cls.other_customer = cls.env["res.partner"].create({
            "name": "Bob Othercustomer", "city": "Gent", "country_id": cls.env.ref("base.be").id})
        cls.user_a = new_test_user(cls.env, login="track_portal_a", groups="base.group_portal",
                                   partner_id=cls.customer.id, name=cls.customer.name,
                                   email=EMAIL)
        cls.user_b = new_test_user(cls.env, login="track_portal_b", groups="base.group_portal",
                                   partner_id=cls.other_customer.id,
                                   name=cls.other_customer.name, email="bob@example.com")
        service = cls.env["product.product"].create({"name": "Parcel service", "type": "service"})
        cls.delivery_carrier = cls.env["delivery.carrier"].create({
            "name": "Swift Parcels", "product_id": service.id, "delivery_type": "fixed",
            "tracking_url": "https://track.swift.example/?n=<shipmenttrackingnumber>"})
        cls.picking.write({"carrier_id": cls.delivery_carrier.id,
                           "carrier_tracking_ref": "SWIFT123456"})
        cls.other_picking = cls.make_picking(partner_id=cls.other_customer.id)

    def setUp(self):
        super().setUp()
        _buckets.reset()

    # ------------------------------------------------------------------
    # helpers
    # ------------------------------------------------------------------
    def ingest(self, picking, milestone=None, minutes=0, reason=None, partner=None, at=None,
               **extra):
        event = CanonicalEvent(
            external_id=uuid.uuid4().hex, occurred_at=at or T0 + timedelta(minutes=minutes),
            milestone=milestone, exception_reason=reason, picking_ref=picking.name, **extra)
        new, _dups = self.Event._ingest(partner or self.carrier, [event])
        new._apply_now()
        return new

    def journey(self, picking):
        self.ingest(picking, "packed", 0, partner=self.partner)
        self.ingest(picking, "in_transit", 60, code=RAW_CODE, subcode=RAW_SUBCODE,
                    message=EVENT_MESSAGE, location=f"Lyon, ARA, {ZIP}, France")

    def text(self, milestone):
        return milestone_text(milestone, self.env)

    def track(self, token):
        return self.url_open(f"/shipment/track/{token}", allow_redirects=False)

    def token_of(self, picking):
        return picking._shipment_tracking_url().rsplit("/", 1)[1]

    # ------------------------------------------------------------------
    # public page
    # ------------------------------------------------------------------
    def test_token_page_shows_milestone_timeline_and_city_country(self):
        self.journey(self.picking)
        response = self.track(self.token_of(self.picking))
        self.assertEqual(response.status_code, 200)
        html = response.text
        self.assertIn(self.text("in_transit"), html)
        self.assertIn(self.text("packed"), html)  # timeline entry
        self.assertIn("Lyon, France", html)
        self.assertIn("10:00", html)  # 09:00 UTC, told in the customer's time zone
        self.assertIn("Swift Parcels", html)
        self.assertIn("SWIFT123456", html)
        self.assertIn("https://track.swift.example/?n=SWIFT123456", html)
        self.assertEqual(response.headers.get("Referrer-Policy"), "no-referrer")

    def test_token_page_speaks_the_customers_language(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        self.journey(self.picking)
        key = ("shipment_sync_portal", "fr_FR")
        code_translations.get_python_translations(*key)  # loaded, then patched
        french = {self.text("in_transit"): "Votre colis est en route"}
        token = self.token_of(self.picking)
        with patch.dict(code_translations.python_translations, {key: french}):
            # A French customer gets French, whatever the browser says ...
            self.customer.lang = "fr_FR"
            html = self.url_open(f"/shipment/track/{token}",
                                 headers={"Accept-Language": "en-US"}).text
            self.assertIn('lang="fr-FR"', html)
            self.assertIn("Votre colis est en route", html)
            self.assertIn("02/11/2026", html)  # French date order, Paris time
            # ... an English one English, even from a French browser.
            self.customer.lang = "en_US"
            html = self.url_open(f"/shipment/track/{token}",
                                 headers={"Accept-Language": "fr-FR"}).text
            self.assertIn('lang="en-US"', html)
            self.assertIn(self.text("in_transit"), html)
            self.assertIn("11/02/2026", html)

    def test_webhook_chatter_is_signed_by_odoobot_not_the_public_user(self):
        body = self.dumps(envelope(canonical_event(self.picking.name, "picked")))
        response = self.opener.post(
            f"{self.base_url()}/shipment_sync/webhook/{self.partner.code}", data=body,
            headers={"Content-Type": "application/json", **self.sign_standard(body)},
            timeout=30)
        self.assertEqual(response.status_code, 202, response.text)
        self.assertEqual(self.picking.shipment_milestone, "picked")
        messages = self.picking.message_ids.filtered(lambda m: "picked" in (m.body or "").lower()
                                                     or m.tracking_value_ids)
        self.assertTrue(messages)
        public = self.env.ref("base.public_user").partner_id
        self.assertNotIn(public, messages.author_id)
        self.assertEqual(messages.author_id, self.env.ref("base.partner_root"))

    def test_token_page_has_no_private_data(self):
        self.journey(self.picking)
        html = self.track(self.token_of(self.picking)).text
        for private in (STREET, ZIP, EMAIL, PHONE, "12 34 56 78", self.customer.name,
                        self.carrier.name, self.carrier.code, self.partner.name,
                        self.partner.code, RAW_CODE, RAW_SUBCODE, EVENT_MESSAGE,
                        self.product.name, self.product.default_code, self.picking.name,
                        self.picking.shipment_correlation_id):
            self.assertNotIn(private, html)

    def test_carrier_estimate_shown_beside_the_prediction(self):
        eta = datetime(2026, 11, 5, 12, 0)
        self.ingest(self.picking, "in_transit", 30, carrier_eta=eta)
        html = self.track(self.token_of(self.picking)).text
        self.assertIn("o_shipment_tracking_eta_carrier", html)
        self.assertNotIn("s estimate: ", html)  # no prediction of ours: the carrier's alone
        predicted = datetime(2026, 11, 4, 12, 0)
        Picking = type(self.env["stock.picking"])
        with patch.object(Picking, "_shipment_customer_eta",
                          lambda rec: {"predicted": predicted, "carrier": eta}):
            html = self.track(self.token_of(self.picking)).text
        self.assertIn('o_shipment_tracking_eta"', html)
        self.assertIn("s estimate: ", html)

    def test_wrong_token_is_a_plain_404(self):
        self.token_of(self.picking)
        response = self.track("not-a-token-" + uuid.uuid4().hex)
        self.assertEqual(response.status_code, 404)
        self.assertNotIn("Track your parcel", response.text)

    def test_malformed_token_is_the_same_plain_404(self):
        wrong = self.track("x" * 32)
        for token in ("abc%00def", "a" * 300, "%27%20OR%201%3D1--", "short"):
            response = self.track(token)
            self.assertEqual(response.status_code, 404, token)
            self.assertEqual(response.text, wrong.text)

    def test_expired_link_is_the_same_404_as_a_wrong_token(self):
        self.ingest(self.picking, "delivered", 90)
        token = self.token_of(self.picking)
        self.assertEqual(self.track(token).status_code, 200)
        days = self.picking.company_id.shipment_sync_tracking_link_days
        self.picking.shipment_milestone_date = fields.Datetime.now() - timedelta(days=days + 1)
        expired = self.track(token)
        wrong = self.track("x" * len(token))
        self.assertEqual(expired.status_code, 404)
        self.assertEqual(expired.text, wrong.text)

    def test_link_of_an_unfinished_shipment_does_not_expire(self):
        self.ingest(self.picking, "in_transit", 30)
        self.picking.shipment_milestone_date = fields.Datetime.now() - timedelta(days=400)
        self.assertEqual(self.track(self.token_of(self.picking)).status_code, 200)

    def test_receipt_token_is_404(self):
        receipt_type = self.env.ref("stock.picking_type_in")
        receipt = self.env["stock.picking"].create({
            "picking_type_id": receipt_type.id, "partner_id": self.customer.id,
            "location_id": self.env.ref("stock.stock_location_suppliers").id,
            "location_dest_id": receipt_type.default_location_dest_id.id})
        self.assertEqual(self.track(self.token_of(receipt)).status_code, 404)

    def test_tracking_url_never_changes_once_made(self):
        url = self.picking._shipment_tracking_url()
        self.ingest(self.picking, "in_transit", 30)
        self.picking.carrier_tracking_ref = "SWIFT999"
        self.assertEqual(self.picking._shipment_tracking_url(), url)
        self.assertEqual(len(self.token_of(self.picking)), 32)  # 24 random bytes
        self.assertFalse(self.picking.copy().sudo().shipment_tracking_token)

    def test_rate_limit_answers_429_with_retry_after_after_the_burst(self):
        self.env["ir.config_parameter"].sudo().set_param(RATE_PARAM, "1")
        self.env["ir.config_parameter"].sudo().set_param(BURST_PARAM, "3")
        token = self.token_of(self.picking)
        self.assertEqual([self.track(token).status_code for _i in range(3)], [200] * 3)
        limited = self.track(token)
        self.assertEqual(limited.status_code, 429)
        self.assertGreaterEqual(int(limited.headers["Retry-After"]), 1)
        # wrong tokens count too: guessing is throttled the same way
        self.assertEqual(self.track("guess").status_code, 429)

    def test_internal_exception_hidden_customer_exception_in_customer_words(self):
        self.ingest(self.picking, "in_transit", 30)
        self.picking._shipment_internal_event(exception_reason="sync_failed")
        self.assertEqual(self.picking.shipment_exception_reason, "sync_failed")
        html = self.track(self.token_of(self.picking)).text
        self.assertNotIn("o_shipment_tracking_exception", html)
        self.assertNotIn("Sync Failed", html)
        self.assertNotIn("sync_failed", html)

        later = fields.Datetime.now().replace(tzinfo=timezone.utc) + timedelta(minutes=5)
        self.ingest(self.picking, at=later, reason="address_issue")
        self.assertEqual(self.picking.shipment_exception_reason, "address_issue")
        html = self.track(self.token_of(self.picking)).text
        words = exception_text("address_issue", self.env)
        self.assertTrue(words)
        self.assertIn("o_shipment_tracking_exception", html)
        self.assertIn(words.split(".")[0], html)
        self.assertNotIn("address_issue", html)
        self.assertNotIn("Address Issue", html)

    def test_progress_bar_follows_the_journey(self):
        Picking = self.env["stock.picking"]

        def journey(milestone):
            picking = Picking.new({"shipment_milestone": milestone})
            steps = picking._shipment_journey()
            return [step["done"] for step in steps["steps"]], steps["off_course"]

        self.assertEqual(journey("draft"), ([False] * 5, False))
        self.assertEqual(journey("packed"), ([True] + [False] * 4, False))
        self.assertEqual(journey("delivery_attempted"), ([True] * 4 + [False], False))
        self.assertEqual(journey("delivered"), ([True] * 5, False))
        self.assertEqual(journey("returned"), ([True] * 4 + [False], True))
        self.assertEqual(journey("cancelled"), ([False] * 5, True))

    def test_open_tracking_page_button_gives_the_public_url(self):
        action = self.picking.action_shipment_open_tracking_page()
        self.assertEqual(action["url"], self.picking._shipment_tracking_url())

    # ------------------------------------------------------------------
    # portal
    # ------------------------------------------------------------------
    def test_portal_user_sees_own_shipments_and_detail(self):
        self.journey(self.picking)
        self.authenticate("track_portal_a", "track_portal_a")
        listing = self.url_open("/my/shipments")
        self.assertEqual(listing.status_code, 200)
        self.assertIn(self.picking.name, listing.text)
        self.assertNotIn(self.other_picking.name, listing.text)
        self.assertIn(self.text("in_transit"), listing.text)
        detail = self.url_open(f"/my/shipments/{self.picking.id}")
        self.assertEqual(detail.status_code, 200)
        self.assertIn("o_shipment_tracking_timeline", detail.text)
        self.assertIn("Lyon, France", detail.text)
        self.assertNotIn(RAW_CODE, detail.text)
        self.assertNotIn(EVENT_MESSAGE, detail.text)

    def test_colleague_of_the_same_company_sees_the_shipment(self):
        colleague = self.env["res.partner"].create({
            "name": "Ada's colleague", "parent_id": self.customer.id, "type": "contact"})
        new_test_user(self.env, login="track_portal_c", groups="base.group_portal",
                      partner_id=colleague.id, name=colleague.name, email="c@example.com")
        self.authenticate("track_portal_c", "track_portal_c")
        self.assertIn(self.picking.name, self.url_open("/my/shipments").text)
        self.assertEqual(self.url_open(f"/my/shipments/{self.picking.id}").status_code, 200)

    def test_in_transit_filter_leaves_out_delivered_shipments(self):
        delivered = self.make_picking()
        self.ingest(delivered, "delivered", 30)
        self.authenticate("track_portal_a", "track_portal_a")
        on_the_way = self.url_open("/my/shipments?filterby=progress").text
        self.assertIn(self.picking.name, on_the_way)
        self.assertNotIn(delivered.name, on_the_way)
        self.assertIn(delivered.name, self.url_open("/my/shipments?filterby=delivered").text)

    def test_another_customers_shipment_is_404(self):
        self.authenticate("track_portal_b", "track_portal_b")
        response = self.url_open(f"/my/shipments/{self.picking.id}", allow_redirects=False)
        self.assertEqual(response.status_code, 404)
        self.assertNotIn(self.picking.name, response.text)
        self.assertNotIn(self.picking.name, self.url_open("/my/shipments").text)
        missing = self.url_open("/my/shipments/999999999", allow_redirects=False)
        self.assertEqual(missing.status_code, 404)

    def test_portal_home_counts_own_shipments(self):
        self.authenticate("track_portal_a", "track_portal_a")
        response = self.url_open(
            "/my/counters", data=json.dumps({"params": {"counters": ["shipment_count"]}}),
            headers={"Content-Type": "application/json"})
        self.assertEqual(response.json()["result"]["shipment_count"], 1)
        self.assertIn("/my/shipments", self.url_open("/my/home").text)

    def test_sale_order_portal_page_shows_the_timeline(self):
        order = self.env["sale.order"].create({
            "partner_id": self.customer.id,
            "order_line": [(0, 0, {"product_id": self.product.id, "product_uom_qty": 2})]})
        order.action_confirm()
        delivery = order.picking_ids
        self.assertTrue(delivery)
        self.ingest(delivery, "in_transit", 30, location=f"Lyon, {ZIP}, France")
        self.authenticate("track_portal_a", "track_portal_a")
        response = self.url_open(order.get_portal_url())
        self.assertEqual(response.status_code, 200)
        self.assertIn("o_sale_shipment_tracking", response.text)
        self.assertIn(self.text("in_transit"), response.text)
        # the delivery list says where the parcel is, not Odoo's "Preparation" beside it
        self.assertIn("o_sale_shipment_status", response.text)
        self.assertNotIn("Preparation", response.text)
        # and the order's delivery is one of the customer's shipments
        self.assertIn(delivery.name, self.url_open("/my/shipments").text)
