"""Applying ledger events to pickings: the state machine rules of
milestones.md on real records, lookups, exceptions, correlation ids,
multi-company and access rights."""

import uuid
from datetime import timedelta

from odoo import SUPERUSER_ID, api
from odoo.exceptions import AccessError
from odoo.tests import TransactionCase, new_test_user, tagged

from shipsync.normalizers import CanonicalEvent

from .common import T0, ShipmentSyncCommon, race_two_transactions


@tagged("post_install", "-at_install")
class TestApply(ShipmentSyncCommon, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_shipment_sync()
        cls.Event = cls.env["shipment.sync.event"]

    def ingest(self, partner, milestone=None, minutes=0, picking=None, code=None, subcode=None,
               event_id=None, reason=None, **refs):
        if not refs:
            refs = {"picking_ref": (picking or self.picking).name}
        event = CanonicalEvent(
            external_id=event_id or uuid.uuid4().hex, occurred_at=T0 + timedelta(minutes=minutes),
            milestone=milestone, code=code, subcode=subcode, exception_reason=reason, **refs)
        new, _dups = self.Event._ingest(partner, [event])
        new._apply_now()
        return new

    def test_out_of_order_events_end_like_in_order(self):
        other = self.make_picking()
        journey = [("released", 0), ("picked", 10), ("packed", 20), ("handed_over", 30)]
        for milestone, minutes in journey:
            self.ingest(self.partner, milestone, minutes, picking=other)
        for milestone, minutes in reversed(journey):
            self.ingest(self.partner, milestone, minutes)
        self.assertEqual(self.picking.shipment_milestone, "handed_over")
        self.assertEqual(self.picking.shipment_milestone, other.shipment_milestone)
        self.assertEqual(
            [(e.milestone, e.state) for e in self.events_of(self.picking)],
            [(e.milestone, e.state) for e in self.events_of(other)])
        self.assertEqual(self.picking.shipment_milestone_date,
                         (T0 + timedelta(minutes=30)).replace(tzinfo=None))

    def test_a_cron_batch_applies_many_transfers_each_in_its_order(self):
        """One cron batch replays each transfer of a burst: out-of-order and
        lower-rank events of a transfer keep their meaning, each transfer gets
        its own note, and a full batch reports more work to Odoo's progress API."""
        pickings = self.picking | self.make_picking() | self.make_picking()
        rows = []
        for picking in pickings:
            for milestone, minutes in (("packed", 20), ("released", 0), ("picked", 30)):
                rows.append(CanonicalEvent(
                    external_id=uuid.uuid4().hex, occurred_at=T0 + timedelta(minutes=minutes),
                    milestone=milestone, picking_ref=picking.name))
        new, _dups = self.Event._ingest(self.partner, rows)
        cron = self.env.ref("shipment_sync.ir_cron_apply_events")
        progress = self.env["ir.cron.progress"].create({"cron_id": cron.id})
        Event = self.Event.with_context(ir_cron_progress_id=progress.id)
        self.assertEqual(Event._cron_apply_events(limit=len(new)), len(new))
        self.assertEqual((progress.done, progress.remaining), (len(new), 1))
        self.assertEqual(Event._cron_apply_events(limit=len(new)), 0)
        for picking in pickings:
            self.assertEqual(picking.shipment_milestone, "packed")
            self.assertEqual(
                sorted((e.milestone, e.state) for e in self.events_of(picking)),
                [("packed", "applied"), ("picked", "stale"), ("released", "applied")])
            notes = picking.message_ids.filtered(
                lambda m: "Shipment milestone" in (m.body or ""))
            self.assertEqual(len(notes), 1)
            self.assertIn("Packed", notes.body)
            self.assertEqual(notes.subtype_id, self.env.ref("mail.mt_note"))
            self.assertEqual(notes.message_type, "notification")

    def test_milestone_note_notifies_the_followers_of_notes(self):
        """The notes are logged in one batch, but a follower subscribed to
        internal notes is still notified, as message_post would."""
        user = new_test_user(self.env, "note_follower", groups="stock.group_stock_user")
        followed, quiet = self.picking, self.make_picking()
        followed.message_subscribe(partner_ids=user.partner_id.ids,
                                   subtype_ids=self.env.ref("mail.mt_note").ids)
        quiet.message_subscribe(partner_ids=user.partner_id.ids,
                                subtype_ids=self.env.ref("mail.mt_comment").ids)
        new, _dups = self.Event._ingest(self.partner, [
            CanonicalEvent(external_id=uuid.uuid4().hex, occurred_at=T0, milestone="picked",
                           picking_ref=picking.name) for picking in (followed, quiet)])
        new._apply_now()
        for picking, notified in ((followed, True), (quiet, False)):
            note = picking.message_ids.filtered(lambda m: "Picked" in (m.body or ""))
            self.assertEqual(len(note), 1)
            self.assertEqual(user.partner_id in note.notification_ids.res_partner_id, notified)

    def test_lower_rank_later_event_is_stale(self):
        self.ingest(self.partner, "packed", 10)
        stale = self.ingest(self.partner, "picked", 20)
        self.assertEqual(stale.state, "stale")
        self.assertIn("below", stale.outcome_detail)
        self.assertEqual(self.picking.shipment_milestone, "packed")

    def test_terminal_is_left_only_by_a_later_correction(self):
        self.ingest(self.carrier, "delivered", 100)
        other_partner = self.ingest(self.partner, "returning", 200)
        self.assertEqual(other_partner.state, "stale")
        correction = self.ingest(self.carrier, "returning", 300)
        self.assertEqual(correction.state, "applied")
        self.assertTrue(correction.is_correction)
        self.assertEqual(self.picking.shipment_milestone, "returning")

    def test_non_authoritative_partner_is_ignored(self):
        self.partner.authoritative_milestone_ids = self.env["shipment.sync.milestone"].search(
            [("code", "in", ("released", "picked", "packed"))])
        event = self.ingest(self.partner, "delivered", 10)
        self.assertEqual(event.state, "ignored_not_authoritative")
        self.assertEqual(self.picking.shipment_milestone, "draft")
        self.assertEqual(self.ingest(self.partner, "picked", 20).state, "applied")

    def test_unmapped_code_changes_nothing_until_mapped(self):
        self.picking.carrier_tracking_ref = "EZ42"
        event = self.ingest(self.carrier, code="teleported", subcode="beamed_up",
                            tracking_number="EZ42")
        self.assertEqual(event.state, "unmapped")
        self.assertFalse(event.is_mapped)
        self.assertEqual(event.raw_code, "teleported")
        self.assertEqual(self.picking.shipment_milestone, "draft")
        self.env["shipment.sync.status.map"].create({
            "vocabulary": "easypost", "partner_id": self.carrier.id, "code": "teleported",
            "milestone": "in_transit"})
        event.action_retry()
        self.assertEqual(event.state, "applied")
        self.assertEqual(self.picking.shipment_milestone, "in_transit")

    def test_unmapped_event_mapped_later_keeps_its_partners_authority(self):
        # The partner may only confirm the label: an unknown code that is mapped to
        # "delivered" afterwards is classified again on retry, authority included.
        self.carrier.authoritative_milestone_ids = self.env["shipment.sync.milestone"].search(
            [("code", "=", "label_created")])
        self.picking.carrier_tracking_ref = "EZ44"
        event = self.ingest(self.carrier, code="handed_to_drone", tracking_number="EZ44")
        self.assertEqual(event.state, "unmapped")
        self.env["shipment.sync.status.map"].create({
            "vocabulary": "easypost", "partner_id": self.carrier.id, "code": "handed_to_drone",
            "milestone": "delivered"})
        event.action_retry()
        self.assertEqual(event.milestone, "delivered")
        self.assertTrue(event.is_mapped)
        self.assertFalse(event.authoritative)
        self.assertEqual(event.state, "ignored_not_authoritative")
        self.assertEqual(self.picking.shipment_milestone, "draft")

    def test_seeded_easypost_map_gives_milestone_and_reason(self):
        self.picking.carrier_tracking_ref = "EZ43"
        event = self.ingest(self.carrier, code="in_transit", subcode="weather_delay",
                            tracking_number="EZ43")
        self.assertEqual((event.milestone, event.exception_reason), ("in_transit",
                                                                     "delay_weather"))
        self.assertEqual(self.picking.shipment_exception_state, "open")
        self.assertEqual(self.picking.shipment_exception_reason, "delay_weather")

    def test_exception_opens_activity_and_later_progress_resolves_it(self):
        ops = new_test_user(self.env, "ops_lead", groups="shipment_sync.group_user")
        self.carrier.responsible_user_id = ops
        self.ingest(self.carrier, "in_transit", 10, reason="address_issue")
        self.assertEqual(self.picking.shipment_exception_state, "open")
        activities = self.exception_activities(self.picking)
        self.assertEqual(len(activities), 1, "one to-do per exception")
        self.assertEqual(activities.user_id, ops)
        self.ingest(self.carrier, "out_for_delivery", 20)
        self.assertEqual(self.picking.shipment_exception_state, "resolved")
        self.assertFalse(self.exception_activities(self.picking),
                         "resolved by the partner: the to-do is done")

    def exception_activities(self, picking):
        """Open exception to-dos of a transfer: on the transfer, or on its
        workbench cards when the monitor is installed."""
        domain = [("res_model", "=", "stock.picking"), ("res_id", "=", picking.id)]
        if "shipment.sync.exception" in self.env:
            cards = self.env["shipment.sync.exception"].search([("picking_id", "=", picking.id)])
            domain = ["|", "&", ("res_model", "=", "shipment.sync.exception"),
                      ("res_id", "in", cards.ids), "&", *domain]
        return self.env["mail.activity"].search(domain + [(
            "activity_type_id", "=",
            self.env.ref("shipment_sync.mail_activity_type_shipment_exception").id)])

    def test_person_resolving_the_exception_closes_its_to_do(self):
        self.ingest(self.carrier, "in_transit", 10, reason="damaged")
        self.assertEqual(len(self.exception_activities(self.picking)), 1)
        self.picking.action_shipment_resolve_exception()
        self.assertFalse(self.exception_activities(self.picking))

    def test_person_resolves_exception(self):
        self.ingest(self.carrier, "in_transit", 10, reason="customs_hold")
        self.picking.action_shipment_resolve_exception()
        self.assertEqual(self.picking.shipment_exception_state, "resolved")
        self.assertEqual(self.picking.shipment_milestone, "in_transit")
        internal = self.events_of(self.picking).filtered(lambda e: e.direction == "internal")
        self.assertTrue(internal.resolves_exception)

    def test_internal_event_is_placed_at_the_time_given(self):
        at = (T0 + timedelta(hours=3)).replace(tzinfo=None)
        event = self.picking._shipment_internal_event(exception_reason="sla_breach",
                                                      occurred_at=at)
        self.assertEqual(event.occurred_at, at)
        self.assertEqual(self.picking.shipment_exception_date, at)

    def test_unmatched_event_applies_when_the_picking_gets_its_tracking_number(self):
        event = self.ingest(self.carrier, "picked_up", 10, tracking_number="LATE-TRACK-1")
        self.assertEqual(event.state, "unmatched")
        self.picking.carrier_tracking_ref = "LATE-TRACK-1"
        self.assertEqual(event.state, "applied")
        self.assertEqual(event.picking_id, self.picking)
        self.assertEqual(self.picking.shipment_milestone, "picked_up")

    def test_multi_package_tracking_numbers_match(self):
        self.picking.carrier_tracking_ref = "PKG-A,PKG-B"
        event = self.ingest(self.carrier, "in_transit", 10, tracking_number="PKG-B")
        self.assertEqual(event.picking_id, self.picking)

    def test_partner_never_touches_another_company(self):
        company_b = self.env["res.company"].create({"name": "Other Co"})
        foreign = self.env["shipment.sync.partner"].create({
            "name": "Foreign WMS", "code": "foreign-wms", "company_id": company_b.id,
            "webhook_secret": "x"})
        event = self.ingest(foreign, "picked", 10)
        self.assertEqual(event.state, "unmatched")
        self.assertEqual(self.picking.shipment_milestone, "draft")

    def test_users_only_see_partners_and_events_of_their_companies(self):
        company_b = self.env["res.company"].create({"name": "Company B"})
        foreign = self.env["shipment.sync.partner"].create({
            "name": "B carrier", "code": "b-carrier", "company_id": company_b.id})
        self.ingest(self.partner, "picked", 10)
        user = new_test_user(self.env, "sync_user_a", groups="shipment_sync.group_user",
                             company_id=self.env.company.id,
                             company_ids=[(6, 0, self.env.company.ids)])
        Partner = self.env["shipment.sync.partner"].with_user(user)
        self.assertIn(self.partner, Partner.search([]))
        self.assertNotIn(foreign, Partner.search([]))
        self.assertTrue(self.env["shipment.sync.event"].with_user(user).search(
            [("partner_id", "=", self.partner.id)]))

    def test_correlation_id_propagates_to_backorder_and_return(self):
        picking = self.make_picking(qty=10)
        self.env["stock.quant"]._update_available_quantity(
            self.product, picking.location_id, 10)
        picking.action_assign()
        picking.move_ids.quantity = 4
        res = picking.button_validate()
        wizard = self.env[res["res_model"]].with_context(**res["context"]).create({})
        wizard.process()
        backorder = picking.backorder_ids
        self.assertTrue(backorder)
        self.assertEqual(backorder.shipment_correlation_id, picking.shipment_correlation_id)
        self.assertNotEqual(picking.shipment_correlation_id, self.picking.shipment_correlation_id)
        self.assertEqual(picking.shipment_milestone, "handed_over")
        ret_wizard = self.env["stock.return.picking"].with_context(
            active_id=picking.id, active_model="stock.picking").create({})
        ret_wizard.product_return_moves.quantity = 1
        ret_picking = self.env["stock.picking"].browse(ret_wizard.action_create_returns()["res_id"])
        self.assertEqual(ret_picking.shipment_correlation_id, picking.shipment_correlation_id)

    def test_odoo_cancellation_is_a_milestone(self):
        picking = self.make_picking()
        picking.action_cancel()
        self.assertEqual(picking.shipment_milestone, "cancelled")
        self.assertEqual(self.events_of(picking).direction, "internal")

    def test_secrets_and_bodies_hidden_from_non_managers(self):
        user = new_test_user(self.env, "sync_user", groups="shipment_sync.group_user")
        self.ingest(self.partner, "picked", 10)
        partner = self.partner.with_user(user)
        self.assertEqual(partner.name, "Test WMS")
        with self.assertRaises(AccessError):
            partner.read(["webhook_secret"])
        event = self.events_of(self.picking).with_user(user)
        with self.assertRaises(AccessError):
            event.read(["raw_body"])
        self.assertTrue(partner.has_secret)


@tagged("post_install", "-at_install")
class TestConcurrentIngest(TransactionCase):
    """Two real transactions store the same external id at the same time: the
    UNIQUE index lets exactly one through, the other is a duplicate."""

    def test_race_helper_refuses_transactions_that_never_wait_on_each_other(self):
        # Two reads take no conflicting lock: the second ends without blocking, and the
        # helper says so instead of passing off two sequential runs as a race.
        def read(env):
            env.cr.execute("SELECT 1")
            return env.cr.fetchone()[0]

        with self.assertRaisesRegex(AssertionError, "nothing was raced"):
            race_two_transactions(self.env.registry, read)

    def test_two_concurrent_requests_with_same_id_store_one(self):
        registry = self.env.registry
        code = f"race-{uuid.uuid4().hex[:6]}"
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            partner_id = env["shipment.sync.partner"].create({
                "name": "Race", "code": code, "webhook_secret": "s"}).id
        event = CanonicalEvent(external_id="same-id", occurred_at=T0, milestone="picked",
                               picking_ref="NOPE/0001")

        def ingest(env):
            partner = env["shipment.sync.partner"].browse(partner_id)
            new, dups = env["shipment.sync.event"]._ingest(partner, [event])
            return len(new), len(dups)

        try:
            results = race_two_transactions(registry, ingest)
            self.assertEqual(results, ((1, 0), (0, 1)))
            with registry.cursor() as cr:
                cr.execute("SELECT state FROM shipment_sync_event WHERE partner_id = %s "
                           "ORDER BY id", [partner_id])
                self.assertEqual([r[0] for r in cr.fetchall()], ["received", "duplicate"])
        finally:
            with registry.cursor() as cr:
                cr.execute("DELETE FROM shipment_sync_event WHERE partner_id = %s", [partner_id])
                cr.execute("DELETE FROM shipment_sync_partner WHERE id = %s", [partner_id])
