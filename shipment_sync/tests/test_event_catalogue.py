"""The event catalogue end to end: what happens to a shipment or a partner reaches the
subscriptions that chose its type, once per event id, through the outbox."""

import importlib.util
import json
from datetime import timedelta
from pathlib import Path

from odoo.tests import HttpCase, tagged

from odoo.addons.shipment_sync.controllers.main import _buckets
from odoo.addons.shipment_sync.models.shipment_sync_job import utcnow

from shipsync import catalogue as cat
from shipsync.sandbox import Receiver
from shipsync.signatures import StandardWebhooks

from .common import ShipmentSyncCommon
from .loopback_common import LoopbackMixin
from .outbox_common import WHSEC, OutboxCase


def subscribe(env, partner, url, codes=None, **vals):
    values = {"name": "Subscriber", "partner_id": partner.id, "url": url, "secret": WHSEC,
              **vals}
    if codes is not None:
        values["event_type_ids"] = [(6, 0, env["shipment.sync.event.type"]._by_codes(codes).ids)]
    return env["shipment.sync.subscription"].create(values)


def received(receiver, code=None):
    """The events a receiver got (verified signatures), oldest first, with their
    webhook-id."""
    out = []
    for call in receiver.calls:
        StandardWebhooks([WHSEC]).verify(call["headers"], call["body"].encode())
        event = json.loads(call["body"])
        if code is None or event["type"] == code:
            out.append((call["webhook_id"], event))
    return out


@tagged("post_install", "-at_install")
class TestEventCatalogueWebhook(ShipmentSyncCommon, LoopbackMixin, HttpCase):
    """A carrier's webhook through the real route to an HTTP subscriber on loopback."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_shipment_sync()
        cls.receiver = cls.start_sandbox(Receiver(port=0))
        cls.subscriber = cls.make_sandbox_partner("Customer service", "subscriber",
                                                  cls.receiver)

    def setUp(self):
        super().setUp()
        _buckets.reset()
        self.receiver.reset()

    def post_easypost(self, evt_id, details, status):
        body = self.dumps({
            "id": evt_id, "object": "Event", "description": "tracker.updated", "mode": "test",
            "created_at": "2026-11-02T10:00:00Z",
            "result": {
                "id": "trk_cat1", "object": "Tracker", "mode": "test",
                "tracking_code": "EZ4000000001", "status": status, "carrier": "USPS",
                "tracking_details": [
                    {"object": "TrackingDetail", "message": msg, "status": st,
                     "status_detail": detail, "datetime": when, "source": "USPS",
                     "tracking_location": {"object": "TrackingLocation", "city": "Reno",
                                           "state": "NV", "country": "US", "zip": None}}
                    for (st, detail, when, msg) in details],
            },
        })
        headers = {"Content-Type": "application/json", **self.sign_easypost(body)}
        return self.opener.post(
            f"{self.base_url()}/shipment_sync/webhook/{self.carrier.code}", data=body,
            headers=headers, allow_redirects=False, timeout=30)

    def deliver(self):
        """One worker run on the subscribers' channel (the cron cycle)."""
        self.env.flush_all()
        self.env["shipment.sync.job"]._outbox_work(
            channels=("low",), now=max(self.t0, utcnow() + timedelta(seconds=1)))
        self.env.invalidate_all()

    def test_an_exception_raised_in_transit_reaches_the_subscriber_once(self):
        sub = subscribe(self.env, self.subscriber, self.receiver.url + "/hooks/cs",
                        [cat.MILESTONE_CHANGED, cat.EXCEPTION_RAISED])
        picking = self.picking
        picking.carrier_tracking_ref = "EZ4000000001"
        in_transit = [("in_transit", "arrived_at_facility", "2026-11-02T12:00:00Z", "Arrived")]
        delayed = in_transit + [("in_transit", "weather_delay", "2026-11-02T15:00:00Z",
                                 "Delayed by weather")]
        self.assertEqual(self.post_easypost("evt_cat_1", in_transit, "in_transit").status_code,
                         202)
        self.assertEqual(picking.shipment_milestone, "in_transit")
        self.assertEqual(self.post_easypost("evt_cat_2", delayed, "in_transit").status_code, 202)
        # The milestone did not move; the exception opened.
        self.assertEqual(picking.shipment_milestone, "in_transit")
        self.assertEqual((picking.shipment_exception_state, picking.shipment_exception_reason),
                         ("open", "delay_weather"))
        # The carrier sends the same webhook again, and the ledger is replayed.
        self.assertEqual(self.post_easypost("evt_cat_2", delayed, "in_transit").status_code, 200)
        picking._shipment_apply_events()
        self.deliver()
        self.deliver()

        [(webhook_id, event)] = received(self.receiver, cat.EXCEPTION_RAISED)
        cat.validate_event(event)
        self.assertEqual(webhook_id, event["id"])
        self.assertEqual(event["correlation_id"], picking.shipment_correlation_id)
        self.assertEqual(event["data"]["shipment"]["correlation_id"],
                         picking.shipment_correlation_id)
        self.assertEqual(event["company_id"], picking.company_id.id)
        self.assertEqual(event["occurred_at"], "2026-11-02T15:00:00Z")
        self.assertEqual((event["data"]["reason"], event["data"]["milestone"],
                          event["data"]["source"]),
                         ("delay_weather", "in_transit", self.carrier.code))
        self.assertEqual(event["data"]["shipment"]["tracking_numbers"], ["EZ4000000001"])
        # The milestone change was published once too, before the exception.
        milestones = received(self.receiver, cat.MILESTONE_CHANGED)
        self.assertEqual([e["data"]["milestone"] for _i, e in milestones], ["in_transit"])
        self.assertEqual(milestones[0][1]["correlation_id"], picking.shipment_correlation_id)
        self.assertEqual([e["type"] for _i, e in received(self.receiver)],
                         [cat.MILESTONE_CHANGED, cat.EXCEPTION_RAISED])
        jobs = self.env["shipment.sync.job"].search(
            [("idempotency_key", "=like", f"sub{sub.id}:%")])
        self.assertEqual(len(jobs), 2)
        self.assertEqual(set(jobs.mapped("state")), {"done"})

    def test_a_subscription_of_milestones_only_does_not_get_the_exception(self):
        sub = subscribe(self.env, self.subscriber, self.receiver.url + "/hooks/portal")
        self.assertEqual(sub.event_type_ids.mapped("code"), [cat.MILESTONE_CHANGED])
        self.picking.carrier_tracking_ref = "EZ4000000001"
        self.post_easypost("evt_cat_3", [
            ("in_transit", "arrived_at_facility", "2026-11-02T12:00:00Z", "Arrived"),
            ("in_transit", "weather_delay", "2026-11-02T15:00:00Z", "Delayed")], "in_transit")
        self.assertEqual(self.picking.shipment_exception_state, "open")
        self.deliver()
        self.assertEqual([e["type"] for _i, e in received(self.receiver)],
                         [cat.MILESTONE_CHANGED])


@tagged("post_install", "-at_install")
class TestEventCatalogueOutbox(OutboxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Subscribers listen on a receiver of their own: the carrier's outage below
        # is not theirs.
        cls.hooks = cls.start_sandbox(Receiver(port=0))
        cls.subscriber = cls.make_partner("Analytics", kind="subscriber",
                                          outbox_base_url=cls.hooks.url)

    def setUp(self):
        super().setUp()
        self.hooks.reset()

    def subscribe(self, codes=None, **vals):
        return subscribe(self.env, self.subscriber, self.hooks.url + "/events", codes, **vals)

    def publish_jobs(self, sub):
        return self.Job.search([("operation", "=", "publish_event"),
                                ("idempotency_key", "=like", f"sub{sub.id}:%")], order="id")

    def test_a_label_failed_subscription_gets_no_milestone_or_exception_events(self):
        sub = self.subscribe([cat.LABEL_FAILED])
        picking = self.make_picking()
        picking._shipment_internal_event(milestone="packed")
        picking._shipment_internal_event(exception_reason="label_failed", message="No label")
        self.assertEqual(picking.shipment_exception_reason, "label_failed")
        self.assertFalse(self.publish_jobs(sub))
        # What it chose does reach it, once per event id.
        for _i in range(2):
            self.env["shipment.sync.subscription"]._outbox_publish_shipment_event(
                picking, cat.LABEL_FAILED, key=(7,),
                data={"carrier": None, "is_return": False, "error": "refused"})
        [job] = self.publish_jobs(sub)
        self.run_worker(0, channels=("low",))
        self.assertEqual(job.state, "done")
        [(webhook_id, event)] = received(self.hooks)
        cat.validate_event(event)
        self.assertEqual((event["type"], webhook_id), (cat.LABEL_FAILED, event["id"]))

    def test_exception_raised_then_resolved_each_published_once(self):
        sub = self.subscribe([cat.EXCEPTION_RAISED, cat.EXCEPTION_RESOLVED])
        picking = self.make_picking()
        picking._shipment_internal_event(milestone="packed")
        picking._shipment_internal_event(exception_reason="address_issue",
                                         message="Street missing")
        picking._shipment_apply_events()  # a replay changes nothing
        picking.action_shipment_resolve_exception()
        picking._shipment_apply_events()
        jobs = self.publish_jobs(sub)
        self.assertEqual(len(jobs), 2)
        self.run_worker(0, channels=("low",))
        self.run_worker(1, channels=("low",))
        events = [e for _i, e in received(self.hooks)]
        self.assertEqual([e["type"] for e in events],
                         [cat.EXCEPTION_RAISED, cat.EXCEPTION_RESOLVED])
        raised, resolved = events
        for event in events:
            cat.validate_event(event)
            self.assertEqual(event["correlation_id"], picking.shipment_correlation_id)
        self.assertEqual((raised["data"]["reason"], raised["data"]["message"],
                          raised["data"]["source"]), ("address_issue", "Street missing", "odoo"))
        self.assertEqual(resolved["data"]["reason"], "address_issue")
        self.assertEqual(resolved["data"]["raised_at"], raised["occurred_at"])
        self.assertNotEqual(raised["id"], resolved["id"])

    def test_delivered_without_proof_of_delivery(self):
        sub = self.subscribe([cat.DELIVERED_WITHOUT_POD])
        picking = self.make_picking()
        picking._shipment_internal_event(milestone="packed")
        self.assertFalse(self.publish_jobs(sub))
        picking._shipment_internal_event(milestone="delivered")
        picking._shipment_apply_events()
        [job] = self.publish_jobs(sub)
        event = job._outbox_payload()["event"]
        cat.validate_event(event)
        self.assertEqual(event["data"]["delivered_at"], event["occurred_at"])
        self.assertEqual(event["data"]["source"], "odoo")

    def test_breaker_opened_and_closed_reach_the_subscriber_once_each(self):
        sub = self.subscribe([cat.BREAKER_OPENED, cat.BREAKER_CLOSED])
        jobs = [self.enqueue(f"/orders/{i}") for i in range(3)]
        self.receiver.configure(outage_until=9e12)
        for seconds in (0, 5, 10, 15):
            self.run_worker(seconds)
            self.partner.invalidate_recordset()
            if self.partner.outbox_breaker_state == "open":
                break
        self.assertEqual(self.partner.outbox_breaker_state, "open")
        [opened_job] = self.publish_jobs(sub)
        # A failed probe reopens the breaker: the same outage, no second event.
        self.run_worker(50)
        self.partner.invalidate_recordset()
        self.assertEqual(self.partner.outbox_breaker_state, "open")
        self.assertEqual(self.publish_jobs(sub), opened_job)
        self.receiver.configure(outage_until=None)
        for step in range(6):
            self.run_worker(100 + 40 * step)
        self.partner.invalidate_recordset()
        self.assertEqual(self.partner.outbox_breaker_state, "closed")
        self.assertEqual({j.state for j in jobs}, {"done"})
        self.assertEqual(len(self.publish_jobs(sub)), 2)
        self.run_worker(400, channels=("low",))
        self.run_worker(401, channels=("low",))
        events = [e for _i, e in received(self.hooks)]
        self.assertEqual([e["type"] for e in events], [cat.BREAKER_OPENED, cat.BREAKER_CLOSED])
        for event in events:
            cat.validate_event(event)
            self.assertEqual(event["data"]["partner"]["code"], self.partner.code)
            self.assertIsNone(event["correlation_id"])
            self.assertEqual(event["company_id"], self.partner.company_id.id or None)
        self.assertEqual(events[0]["data"]["consecutive_failures"], 3)
        self.assertEqual(events[1]["data"]["closed_by"], "probe")

    def test_closing_a_breaker_by_hand_is_published(self):
        sub = self.subscribe([cat.BREAKER_CLOSED])
        self.receiver.configure(outage_until=9e12)
        for i in range(3):
            self.enqueue(f"/orders/{i}")
        for seconds in (0, 5, 10, 15):
            self.run_worker(seconds)
        self.partner.invalidate_recordset()
        self.assertEqual(self.partner.outbox_breaker_state, "open")
        self.assertFalse(self.publish_jobs(sub), "only the types it chose")
        self.partner.action_outbox_reset_breaker()
        self.partner.action_outbox_reset_breaker()  # already closed: nothing new
        [job] = self.publish_jobs(sub)
        event = job._outbox_payload()["event"]
        cat.validate_event(event)
        self.assertEqual(event["data"]["closed_by"], "manual")

    def test_a_subscription_needs_an_event_type(self):
        from odoo.exceptions import ValidationError

        with self.assertRaises(ValidationError):
            self.subscribe([])

    def test_the_upgrade_keeps_existing_subscriptions_on_milestone_changes(self):
        sub = self.subscribe([cat.LABEL_CREATED])
        old = self.subscribe()
        field = old._fields["event_type_ids"]
        self.env.flush_all()
        # As before the upgrade: a subscription without any event type.
        self.env.cr.execute(f"DELETE FROM {field.relation} WHERE {field.column1} = %s",  # noqa: S608
                            [old.id])
        path = Path(__file__).parents[1] / "migrations" / "18.0.1.2.0" / "post-migration.py"
        spec = importlib.util.spec_from_file_location("shipment_sync_post_1_2", path)
        migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(migration)
        migration.migrate(self.env.cr, "18.0.1.1.0")
        self.env.invalidate_all()
        self.assertEqual(old.event_type_ids.mapped("code"), [cat.MILESTONE_CHANGED])
        self.assertEqual(sub.event_type_ids.mapped("code"), [cat.LABEL_CREATED])
