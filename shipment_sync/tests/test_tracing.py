"""Tracing: every outbound call of a shipment carries its correlation id and a W3C
traceparent (one trace per shipment, a new span per call); an inbound traceparent is
validated per W3C Trace Context and recorded on the ledger row (an invalid one is
ignored, never refused)."""

from odoo.tests import HttpCase, TransactionCase, tagged

from odoo.addons.shipment_sync.controllers.main import _buckets

from shipsync import tracing
from shipsync.normalizers import parse_payload

from .common import ShipmentSyncCommon, canonical_event, envelope
from .outbox_common import WHSEC, OutboxCase

# The example of the W3C Trace Context recommendation, section 3.2.2.4.
W3C_EXAMPLE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def traced(call):
    """(correlation id, parsed traceparent) of a call the receiver recorded."""
    headers = {k.lower(): v for k, v in call["headers"].items()}
    return headers.get("x-correlation-id"), tracing.parse_traceparent(headers.get("traceparent"))


@tagged("post_install", "-at_install")
class TestOutboundTracing(OutboxCase):
    def test_every_call_of_a_shipment_carries_its_trace_with_a_new_span(self):
        picking = self.make_picking()
        job = self.enqueue("/orders", picking=picking)
        self.receiver.configure(status=500)
        self.run_worker(0)
        self.receiver.configure(status=200)
        self.run_worker(60)
        self.assertEqual(job.state, "done", job.last_error)
        first, second = self.calls_for(job)
        (corr1, tp1), (corr2, tp2) = traced(first), traced(second)
        self.assertEqual(corr1, picking.shipment_correlation_id)
        self.assertEqual(corr2, picking.shipment_correlation_id)
        self.assertTrue(tp1 and tp2, "a valid W3C traceparent on every call")
        self.assertEqual(tp1.trace_id, picking.shipment_trace_id)
        self.assertEqual(tp2.trace_id, picking.shipment_trace_id)
        self.assertEqual(picking.shipment_trace_id,
                         picking.shipment_correlation_id.replace("-", ""))
        self.assertNotEqual(tp1.parent_id, tp2.parent_id, "a new span per call")
        # Another shipment: another trace.
        other = self.make_picking()
        job2 = self.enqueue("/orders", picking=other)
        self.run_worker(120)
        [call] = self.calls_for(job2)
        self.assertEqual(traced(call)[1].trace_id, other.shipment_trace_id)
        self.assertNotEqual(other.shipment_trace_id, picking.shipment_trace_id)

    def test_a_call_of_no_shipment_carries_no_trace(self):
        job = self.enqueue("/orders")
        self.run_worker(0)
        [call] = self.calls_for(job)
        self.assertEqual(traced(call), (None, None))

    def test_a_header_the_call_sets_itself_is_kept(self):
        picking = self.make_picking()
        job = self.Job._enqueue(self.partner, "http_call", {
            "url": "/orders", "json": {}, "headers": {"traceparent": W3C_EXAMPLE}},
            picking=picking)
        self.run_worker(0)
        [call] = self.calls_for(job)
        self.assertEqual(traced(call)[1].header(), W3C_EXAMPLE)
        self.assertEqual(traced(call)[0], picking.shipment_correlation_id)

    def test_subscribers_get_the_shipments_trace(self):
        subscriber = self.make_partner("Portal", kind="subscriber")
        self.env["shipment.sync.subscription"].create({
            "name": "Portal", "partner_id": subscriber.id,
            "url": self.receiver.url + "/hooks/portal", "secret": WHSEC})
        picking = self.make_picking()
        picking._shipment_internal_event(milestone="packed", message="packed")
        self.run_worker(0, channels=("low",))
        [call] = [c for c in self.receiver.calls if c["path"] == "/hooks/portal"]
        corr, tp = traced(call)
        self.assertEqual(corr, picking.shipment_correlation_id)
        self.assertEqual(tp.trace_id, picking.shipment_trace_id)


@tagged("post_install", "-at_install")
class TestInboundTraceStore(ShipmentSyncCommon, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_shipment_sync()

    def ingest(self, headers, ref=None):
        events = parse_payload(self.dumps(envelope(
            canonical_event(ref or self.picking.name, "picked"))), "canonical")
        new, _dups = self.env["shipment.sync.event"]._ingest(
            self.partner, events, body=b"{}", headers=headers)
        return new

    def test_recording_the_traceparent_adds_no_query(self):
        Event = self.env["shipment.sync.event"]
        self.ingest({"content-type": "application/json"})  # warm the caches
        Event.flush_model()
        counts = []
        for headers in ({"content-type": "application/json"},
                        {"content-type": "application/json", "traceparent": W3C_EXAMPLE}):
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            new = self.ingest(headers)
            counts.append(self.env.cr.sql_log_count - before)
        self.assertEqual(counts[0], counts[1])
        self.assertEqual(new.traceparent, W3C_EXAMPLE)
        self.assertEqual(new.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736")


@tagged("post_install", "-at_install")
class TestInboundTracing(ShipmentSyncCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_shipment_sync()

    def setUp(self):
        super().setUp()
        _buckets.reset()

    def post(self, ev, extra):
        body = self.dumps(envelope(ev))
        headers = {"Content-Type": "application/json", **self.sign_standard(body), **extra}
        return self.opener.post(f"{self.base_url()}/shipment_sync/webhook/{self.partner.code}",
                                data=body, headers=headers, allow_redirects=False, timeout=30)

    def test_a_valid_traceparent_is_recorded_on_the_ledger_row(self):
        response = self.post(canonical_event(self.picking.name, "picked"),
                             {"traceparent": W3C_EXAMPLE, "tracestate": "vendor=1"})
        self.assertEqual(response.status_code, 202, response.text)
        event = self.env["shipment.sync.event"].browse(response.json()["event_ids"])
        self.assertEqual(event.traceparent, W3C_EXAMPLE)
        self.assertEqual(event.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736")
        self.assertEqual(event.state, "applied")

    def test_an_invalid_traceparent_is_ignored_never_refused(self):
        for value in ("00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
                      "garbage", "x" * 4000):
            picking = self.make_picking()
            response = self.post(canonical_event(picking.name, "picked"),
                                 {"traceparent": value})
            self.assertEqual(response.status_code, 202, (value, response.text))
            event = self.env["shipment.sync.event"].browse(response.json()["event_ids"])
            self.assertFalse(event.traceparent)
            self.assertFalse(event.trace_id)
            self.assertEqual(picking.shipment_milestone, "picked")
