"""Exception triage on the workbench: rules suggest a priority and a next
action, cards are ranked by customer impact, the action that resolved each
card is recorded and the fastest action per reason is learned from them."""

import json
from datetime import timedelta
from unittest.mock import patch

from freezegun import freeze_time
from psycopg2 import IntegrityError

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, TransactionCase, new_test_user, tagged
from odoo.tools import mute_logger

from odoo.addons.shipment_sync.models.event_origin import EventOrigin
from odoo.addons.shipment_sync.tests.outbox_common import OutboxCase

from shipsync import milestones as ms
from shipsync import triage

from .common import MonitorCommon


@tagged("post_install", "-at_install")
class TestTriage(MonitorCommon, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_monitor()
        cls.Rule = cls.env["shipment.sync.triage.rule"]
        cls.Stat = cls.env["shipment.sync.triage.stat"]
        cls.address_template = cls.env.ref(
            "shipment_sync_monitor.mail_template_address_confirmation")
        cls.belgium = cls.env.ref("base.be")
        cls.france = cls.env.ref("base.fr")
        service = cls.env["product.product"].create({"name": "Lane shipping", "type": "service"})
        cls.lane_carrier = cls.env["delivery.carrier"].create({
            "name": "Lane Express", "product_id": service.id, "delivery_type": "fixed"})

    def raise_on(self, picking, reason, message=None):
        picking._shipment_internal_event(exception_reason=reason, message=message)
        return self.cards(picking)

    def sale_picking(self, amount, promised, country, carrier=None):
        """A delivery order of a confirmed sale order worth ``amount``, promised
        for ``promised``, going to ``country``."""
        customer = self.env["res.partner"].create({
            "name": f"Customer {amount}", "country_id": country.id, "city": "Somewhere",
            "email": f"c{amount}@example.com"})
        order = self.env["sale.order"].create({
            "partner_id": customer.id, "commitment_date": promised,
            "order_line": [(0, 0, {"product_id": self.product.id, "product_uom_qty": 1,
                                   "price_unit": amount, "tax_id": [(5, 0, 0)]})],
        })
        order.action_confirm()
        picking = order.picking_ids
        picking.carrier_id = carrier or self.lane_carrier
        return picking

    # ------------------------------------------------------------------
    # rules
    # ------------------------------------------------------------------
    def test_every_reason_has_a_seeded_rule(self):
        shared = self.Rule.search([("company_id", "=", False)])
        self.assertEqual(set(shared.mapped("reason")), set(ms.CARD_REASON_CODES))
        for rule in shared:
            default = triage.DEFAULT_RULES[rule.reason]
            self.assertEqual((rule.priority, rule.action), (default.priority, default.action))
        address = shared.filtered(lambda r: r.reason == "address_issue")
        self.assertEqual(address.template_id, self.address_template)

    def test_company_rule_overrides_the_shared_rule(self):
        own = self.Rule.create({"reason": "delay_carrier", "company_id": self.env.company.id,
                                "priority": "urgent", "action": "contact_carrier"})
        other = self.env["res.company"].create({"name": "Other Shipping Co"})
        rule, record = self.Rule._triage_lookup(self.env.company)["delay_carrier"]
        self.assertEqual((rule.priority, rule.action, record), ("urgent", "contact_carrier", own))
        rule, record = self.Rule._triage_lookup(other)["delay_carrier"]
        self.assertEqual((rule.priority, rule.action), ("normal", "wait_and_notify"))
        self.assertFalse(record.company_id)
        card = self.raise_on(self.picking, "delay_carrier")
        self.assertEqual((card.suggested_priority, card.suggested_action, card.triage_rule_id),
                         ("urgent", "contact_carrier", own))

    def test_one_rule_per_reason_and_company(self):
        with self.assertRaises(ValidationError):
            self.Rule.create({"reason": "lost", "priority": "low", "action": "wait"})
        self.Rule.create({"reason": "lost", "company_id": self.env.company.id,
                          "priority": "low", "action": "wait"})
        with self.assertRaises(IntegrityError), mute_logger("odoo.sql_db"), \
                self.env.cr.savepoint():
            self.Rule.create({"reason": "lost", "company_id": self.env.company.id,
                              "priority": "high", "action": "open_claim"})

    def test_reason_without_any_rule_follows_the_default_table(self):
        self.Rule.search([("reason", "=", "customs_hold")]).unlink()
        card = self.raise_on(self.picking, "customs_hold")
        self.assertEqual((card.suggested_priority, card.suggested_action), ("high",
                                                                            "send_documents"))
        self.assertFalse(card.triage_rule_id)

    def test_raised_exception_gets_the_suggested_priority_and_action(self):
        self.ingest(self.carrier, "in_transit", 10, reason="address_issue",
                    message="Street unknown")
        card = self.cards()
        self.assertEqual((card.suggested_priority, card.suggested_action),
                         ("high", "contact_customer"))
        self.assertEqual(card.triage_rule_id.reason, "address_issue")
        self.assertGreater(card.impact_score, 0)

    def test_rule_change_refreshes_the_open_cards(self):
        card = self.raise_on(self.picking, "damaged")
        self.assertEqual(card.suggested_action, "open_claim")
        self.Rule.search([("reason", "=", "damaged"), ("company_id", "=", False)]).write(
            {"action": "reship", "priority": "urgent"})
        self.assertEqual((card.suggested_priority, card.suggested_action), ("urgent", "reship"))

    # ------------------------------------------------------------------
    # impact ranking
    # ------------------------------------------------------------------
    def test_workbench_ranks_overdue_high_value_repeat_lane_cards_first(self):
        now = fields.Datetime.now()
        overdue = self.sale_picking(4000, now - timedelta(days=2), self.belgium)
        tomorrow = self.sale_picking(300, now + timedelta(days=1), self.france)
        later = self.sale_picking(40, now + timedelta(days=10), self.france,
                                  carrier=self.env["delivery.carrier"].create({
                                      "name": "Other lane", "delivery_type": "fixed",
                                      "product_id": self.lane_carrier.product_id.id}))
        # Two earlier exceptions (one already resolved) on the overdue card's lane.
        for _i in range(2):
            earlier = self.sale_picking(10, now + timedelta(days=20), self.belgium)
            self.raise_on(earlier, "damaged")
        self.cards(earlier)._monitor_resolve("Refunded")
        cards = {name: self.raise_on(picking, "delay_carrier")
                 for name, picking in (("later", later), ("overdue", overdue),
                                       ("tomorrow", tomorrow))}
        self.assertEqual(cards["overdue"].lane_repeat_count, 2)
        self.assertEqual(cards["tomorrow"].lane_repeat_count, 0)
        self.assertEqual(cards["overdue"].order_value, 4000)
        self.assertEqual(cards["overdue"].promised_date, overdue.sale_id.commitment_date)
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "shipment_sync_monitor.shipment_sync_exception_action")
        ranked = self.env[action["res_model"]].search(
            [("reason", "=", "delay_carrier"), ("state", "!=", "resolved")])
        self.assertEqual(ranked.ids, [cards["overdue"].id, cards["tomorrow"].id,
                                      cards["later"].id])
        # Open cards first: a resolved card of a bigger order ranks after them all.
        cards["overdue"]._monitor_resolve("Delivered by hand")
        ranked = self.Card.search([("reason", "=", "delay_carrier")])
        self.assertEqual(ranked[-1], cards["overdue"])

    def test_workbench_still_groups_by_reason_and_ranks_inside_each_group(self):
        now = fields.Datetime.now()
        low = self.raise_on(self.sale_picking(20, now + timedelta(days=9), self.france),
                            "delay_carrier")
        high = self.raise_on(self.sale_picking(2000, now - timedelta(days=1), self.france),
                             "delay_carrier")
        lost = self.raise_on(self.picking, "lost")
        domain = [("state", "!=", "resolved"), ("id", "in", (low | high | lost).ids)]
        groups = self.Card.web_read_group(domain, ["reason"], ["reason"])["groups"]
        counts = {g["reason"]: g["reason_count"] for g in groups}
        self.assertEqual((counts["delay_carrier"], counts["lost"]), (2, 1))
        page = self.Card.web_search_read(domain + [("reason", "=", "delay_carrier")],
                                         {"impact_score": {}})
        self.assertEqual([r["id"] for r in page["records"]], [high.id, low.id])
        by_priority = self.Card.read_group(domain, ["impact_score:max"], ["suggested_priority"])
        self.assertEqual({g["suggested_priority"] for g in by_priority}, {"normal", "urgent"})

    def test_cron_refresh_raises_the_impact_as_the_promised_date_nears(self):
        now = fields.Datetime.now()
        picking = self.sale_picking(100, now + timedelta(days=5), self.france)
        card = self.raise_on(picking, "delay_weather")
        before = card.impact_score
        self.Card._cron_refresh(now=now + timedelta(days=4, hours=12))
        self.assertGreater(card.impact_score, before)
        self.assertEqual(card.impact_score, triage.impact_score(
            picking.sale_id.commitment_date, now + timedelta(days=4, hours=12), 100, 0, "low"))

    def test_repeat_on_the_lane_reaches_the_other_open_cards_with_the_cron(self):
        first = self.raise_on(self.sale_picking(50, False, self.belgium), "lost")
        self.assertEqual(first.lane_repeat_count, 0)
        second = self.raise_on(self.sale_picking(60, False, self.belgium), "damaged")
        self.assertEqual(second.lane_repeat_count, 1)
        before = first.impact_score
        self.Card._cron_refresh()
        self.assertEqual(first.lane_repeat_count, 1)
        self.assertGreater(first.impact_score, before)
        # Another destination country is another lane.
        self.assertEqual(self.raise_on(self.sale_picking(70, False, self.france),
                                       "lost").lane_repeat_count, 0)

    def test_action_and_priority_labels_are_reflected_for_translation(self):
        env = self.env(context=dict(self.env.context, lang="en_US"))
        for model, fname, codes in (
                ("shipment.sync.exception", "resolution_action", triage.ACTION_CODES),
                ("shipment.sync.exception", "suggested_priority", triage.PRIORITY_CODES),
                ("shipment.sync.triage.rule", "action", triage.ACTION_CODES),
                ("shipment.sync.triage.stat", "action", triage.ACTION_CODES),
                ("shipment.sync.exception.wizard", "triage_action", triage.ACTION_CODES)):
            labels = dict(env[model]._fields[fname]._description_selection(env))
            self.assertEqual(list(labels), list(codes), f"{model}.{fname}")
        self.assertEqual(labels["wait"], "Nothing: the partner resolved it")

    # ------------------------------------------------------------------
    # doing the suggested action
    # ------------------------------------------------------------------
    def test_contact_customer_opens_the_composer_with_the_address_template(self):
        picking = self.sale_picking(120, False, self.belgium)
        picking.partner_id.write({"street": "Rue Haute 12", "zip": "1000", "city": "Brussels"})
        card = self.raise_on(picking, "address_issue", message="Consignee street unknown "
                             "(hub BRU-7, driver note: dog)")
        action = card.with_user(self.ops).action_triage_do_suggested()
        self.assertEqual(action["res_model"], "mail.compose.message")
        ctx = action["context"]
        self.assertEqual(ctx["default_template_id"], self.address_template.id)
        self.assertEqual((ctx["default_model"], ctx["default_res_ids"]),
                         ("stock.picking", picking.ids))
        self.assertEqual(card.pending_action, "contact_customer")
        composer = Form(self.env["mail.compose.message"].with_context(**ctx)).save()
        self.assertIn("confirm", composer.subject.lower())
        self.assertIn("Rue Haute 12", composer.body)
        self.assertIn("/shipment/track/", composer.body)
        # Customer-safe: nothing of the carrier's internal message.
        self.assertNotIn("BRU-7", composer.body)
        self.assertNotIn("dog", composer.body)
        self.assertIn(picking.partner_id, composer.partner_ids)

    def test_do_suggested_without_a_remedy_plans_a_todo(self):
        card = self.raise_on(self.picking, "customs_hold")
        card.action_triage_do_suggested()
        self.assertEqual(card.pending_action, "send_documents")
        self.assertIn("Send the customs documents", card.activity_ids.mapped("summary"))

    def test_do_suggested_replay_without_anything_to_replay_says_why(self):
        card = self.raise_on(self.picking, "label_failed")
        with self.assertRaisesRegex(UserError, "no integration can re-request the label"):
            card.action_triage_do_suggested()
        self.assertFalse(card.pending_action)

    def test_do_suggested_is_only_offered_when_it_can_run(self):
        card = self.raise_on(self.picking, "label_failed")
        self.assertEqual(card.suggested_action, "request_label")
        self.assertFalse(card.can_do_suggested, "no integration can re-request the label")
        other = self.raise_on(self.make_picking(), "customs_hold")
        self.assertTrue(other.can_do_suggested, "a to-do can always be planned")
        result = other.action_triage_do_suggested()
        self.assertEqual(result["tag"], "display_notification")

    def test_sla_breach_suggestion_follows_where_the_shipment_is_stuck(self):
        packed = self.env.ref("shipment_sync_monitor.alert_rule_packed_no_label")
        no_scan = self.env.ref("shipment_sync_monitor.alert_rule_handed_over_no_scan")
        first, second = self.make_picking(), self.make_picking()
        first._shipment_internal_event(exception_reason="sla_breach",
                                       origin=EventOrigin(alert_rule=packed.id))
        second._shipment_internal_event(exception_reason="sla_breach",
                                        origin=EventOrigin(alert_rule=no_scan.id))
        card = self.Card.search([("picking_id", "=", first.id)])
        self.assertEqual(card.alert_rule_id, packed)
        self.assertEqual(card.suggested_action, "request_label",
                         "packed but no label: re-request the label, not the carrier")
        self.assertEqual(self.Card.search([("picking_id", "=", second.id)]).suggested_action,
                         "contact_carrier")

    def test_remedies_and_workbench_actions_give_feedback(self):
        job = self.env["shipment.sync.job"]._enqueue(
            self.partner, "http_call", {"method": "POST", "url": "/x"}, picking=self.picking)
        job.write({"state": "dead"})
        card = self.raise_on(self.picking, "sync_failed")
        result = card.action_retry_job()
        self.assertEqual(result["tag"], "display_notification")
        self.assertIn("queued again", str(result["params"]["message"]))
        wizard = self.env["shipment.sync.exception.wizard"].create({
            "exception_ids": [fields.Command.set(card.ids)], "mode": "resolve",
            "note": "Partner was down", "triage_action": "replay_job"})
        result = wizard.action_confirm()
        self.assertEqual(result["tag"], "display_notification")
        self.assertIn("resolved", str(result["params"]["message"]))

    def test_do_suggested_replays_the_dead_job(self):
        job = self.env["shipment.sync.job"]._enqueue(
            self.partner, "http_call", {"method": "POST", "url": "/x"}, picking=self.picking)
        job.write({"state": "dead"})
        card = self.raise_on(self.picking, "sync_failed")
        card.action_triage_do_suggested()
        self.assertEqual(job.state, "pending")
        self.assertEqual(card.pending_action, "replay_job")

    def test_label_remedy_records_request_label_when_the_label_arrives(self):
        Picking = type(self.env["stock.picking"])
        calls = []
        with freeze_time("2026-11-02 08:00:00"):
            card = self.raise_on(self.picking, "label_failed")
        with freeze_time("2026-11-02 09:00:00"), \
                patch.object(Picking, "_shipment_monitor_can_request_label",
                             lambda self, reason: reason == "label_failed", create=True), \
                patch.object(Picking, "_shipment_monitor_request_label",
                             lambda self, reason: calls.append(reason) or True, create=True):
            card.invalidate_recordset(["can_request_label"])
            card.action_triage_do_suggested()
        self.assertEqual(calls, ["label_failed"])
        self.assertEqual((card.state, card.pending_action), ("open", "request_label"))
        with freeze_time("2026-11-02 11:00:00"):
            self.picking._shipment_internal_event(milestone="label_created")
        self.assertEqual((card.state, card.resolution_action, card.resolution_hours),
                         ("resolved", "request_label", 3.0))

    def test_workbench_views_show_priority_impact_and_suggestion(self):
        views = self.Card.get_views([(False, "kanban"), (False, "list"), (False, "form")])
        for kind in ("kanban", "list", "form"):
            arch = views["views"][kind]["arch"]
            for name in ("impact_score", "suggested_priority"):
                self.assertIn(f'name="{name}"', arch, kind)
        self.assertIn("action_triage_do_suggested", views["views"]["kanban"]["arch"])
        wizard = self.env["shipment.sync.exception.wizard"].get_views([(False, "form")])
        self.assertIn('name="triage_action"', wizard["views"]["form"]["arch"])

    # ------------------------------------------------------------------
    # learning from resolutions
    # ------------------------------------------------------------------
    def test_resolving_through_the_wizard_records_the_action_and_hours(self):
        with freeze_time("2026-11-02 08:00:00"):
            card = self.raise_on(self.picking, "address_issue")
        with freeze_time("2026-11-02 14:30:00"):
            wizard = Form(self.env["shipment.sync.exception.wizard"].with_context(
                default_exception_ids=card.ids, default_mode="resolve"))
            self.assertEqual(wizard.triage_action, "contact_customer")
            wizard.triage_action = "contact_carrier"
            wizard.note = "The carrier found the door"
            wizard.save().action_confirm()
        self.assertEqual(card.state, "resolved")
        self.assertEqual((card.resolution_action, card.resolution_hours),
                         ("contact_carrier", 6.5))
        stat = self.Stat.search([("reason", "=", "address_issue")])
        self.assertEqual((stat.action, stat.resolution_count, stat.median_hours),
                         ("contact_carrier", 1, 6.5))

    def test_resolve_wizard_asks_for_the_action_taken(self):
        card = self.raise_on(self.picking, "lost")
        wizard = self.env["shipment.sync.exception.wizard"].create({
            "exception_ids": [(6, 0, card.ids)], "mode": "resolve", "note": "Found",
            "triage_action": False})
        with self.assertRaisesRegex(UserError, "which action"):
            wizard.action_confirm()
        self.assertEqual(card.state, "open")

    def test_partner_progress_records_wait_and_superseded_records_nothing(self):
        self.ingest(self.carrier, "in_transit", 10, reason="customs_hold")
        self.ingest(self.carrier, None, 20, reason="documents_missing")
        superseded = self.cards(reason="customs_hold")
        self.assertEqual(superseded.state, "resolved")
        self.assertFalse(superseded.resolution_action)
        self.ingest(self.carrier, "out_for_delivery", 30)
        resolved = self.cards(reason="documents_missing")
        self.assertEqual((resolved.state, resolved.resolution_action), ("resolved", "wait"))

    def test_reopened_card_forgets_its_old_resolution(self):
        with freeze_time("2026-11-02 08:00:00"):
            card = self.raise_on(self.picking, "wms_mismatch")
        with freeze_time("2026-11-02 08:10:00"):
            card._monitor_resolve("Fixed", action="fix_wms_data")
        self.assertEqual(card.resolution_action, "fix_wms_data")
        with freeze_time("2026-11-02 08:20:00"):
            self.raise_on(self.picking, "wms_mismatch")
        self.assertEqual((card.state, card.resolution_action, card.resolution_hours),
                         ("open", False, 0.0))

    def test_stats_give_the_fastest_action_per_reason(self):
        resolutions = [("contact_customer", 2.0), ("contact_customer", 4.0),
                       ("contact_customer", 30.0), ("wait", 10.0), ("wait", 12.0),
                       ("wait", 14.0), ("investigate", 0.5)]
        for action, hours in resolutions:
            picking = self.make_picking()
            with freeze_time("2026-11-02 08:00:00"):
                card = self.raise_on(picking, "address_issue")
            with freeze_time(fields.Datetime.from_string("2026-11-02 08:00:00")
                             + timedelta(hours=hours)):
                card._monitor_resolve("done", action=action)
        stats = self.Stat.search([("reason", "=", "address_issue")])
        by_action = {s.action: (s.resolution_count, s.median_hours, s.mean_hours)
                     for s in stats}
        self.assertEqual(by_action["contact_customer"], (3, 4.0, 12.0))
        self.assertEqual(by_action["wait"], (3, 12.0, 12.0))
        self.assertEqual(by_action["investigate"], (1, 0.5, 0.5))
        self.assertEqual(stats.filtered("is_fastest").action, "contact_customer")
        best = self.Card._triage_fastest(self.env.company)["address_issue"]
        self.assertEqual((best.action, best.median_hours, best.count),
                         ("contact_customer", 4.0, 3))
        card = self.raise_on(self.picking, "address_issue")
        self.assertEqual(card.fastest_action, "contact_customer")
        self.assertEqual(card.fastest_hint,
                         "Fastest historically: Contact the customer (4 h, n=3)")
        self.assertFalse(self.raise_on(self.make_picking(), "lost").fastest_hint)

    def test_rules_cards_and_stats_stay_in_their_company(self):
        other = self.env["res.company"].create({"name": "Elsewhere Shipping"})
        warehouse = self.env["stock.warehouse"].search([("company_id", "=", other.id)],
                                                       limit=1)
        picking = self.env["stock.picking"].with_company(other).create({
            "picking_type_id": warehouse.out_type_id.id, "partner_id": self.customer.id,
            "location_id": warehouse.lot_stock_id.id,
            "location_dest_id": self.env.ref("stock.stock_location_customers").id,
        })
        own = self.Rule.create({"reason": "lost", "company_id": other.id,
                                "priority": "low", "action": "contact_carrier"})
        here = self.raise_on(self.picking, "lost")
        there = self.raise_on(picking, "lost")
        self.assertEqual(there.company_id, other)
        self.assertEqual((there.suggested_priority, there.suggested_action,
                          there.triage_rule_id), ("low", "contact_carrier", own))
        self.assertEqual((here.suggested_priority, here.suggested_action),
                         ("urgent", "open_claim"))
        there._monitor_resolve("Found", action="contact_carrier")
        self.assertEqual((there.state, there.resolution_action), ("resolved", "contact_carrier"))
        self.assertEqual(self.Stat.search([("company_id", "=", other.id)]).action,
                         "contact_carrier")
        outsider = new_test_user(self.env, "ops_triage_elsewhere",
                                 groups="shipment_sync.group_user",
                                 company_id=other.id, company_ids=[other.id])
        self.assertEqual(self.Stat.with_user(outsider).search([]).mapped("action"),
                         ["contact_carrier"])
        self.assertFalse(self.Stat.with_user(self.ops).search([("reason", "=", "lost")]))
        self.assertNotIn(own, self.Rule.with_user(self.ops).search([]))
        self.assertIn(own, self.Rule.with_user(outsider).search([]))

    def test_user_sees_rules_and_stats_but_cannot_edit_rules(self):
        rule = self.Rule.search([("reason", "=", "lost")], limit=1)
        self.assertTrue(rule.with_user(self.ops).read(["action"]))
        self.assertIsNotNone(self.Stat.with_user(self.ops).search([]))
        with self.assertRaises(AccessError):
            rule.with_user(self.ops).write({"action": "wait"})


@tagged("post_install", "-at_install")
class TestTriageOutbox(OutboxCase):
    def test_replay_remedy_records_replay_job_when_the_call_goes_through(self):
        picking = self.make_picking()
        job = self.enqueue("/shipments", {"weight": 0}, picking=picking)
        self.receiver.configure(status_by_path={"/shipments": 422})
        self.run_worker(0)
        card = self.env["shipment.sync.exception"].search([("picking_id", "=", picking.id)])
        self.assertEqual((card.reason, card.suggested_action), ("sync_failed", "replay_job"))
        self.receiver.configure(status_by_path={})
        card.action_retry_job()
        self.assertEqual(card.pending_action, "replay_job")
        # The replay is due at its real time, which a loaded machine can put past t0 + 1 s.
        self.run_worker(max(1.0, (fields.Datetime.now() - self.t0).total_seconds() + 1))
        self.assertEqual(job.state, "done")
        self.assertEqual(json.loads(self.calls_for(job)[-1]["body"]), {"weight": 0})
        self.assertEqual(card.state, "resolved")
        self.assertEqual(card.resolution_action, "replay_job")
        self.assertGreaterEqual(card.resolution_hours, 0.0)
        self.assertFalse(card.pending_action)
