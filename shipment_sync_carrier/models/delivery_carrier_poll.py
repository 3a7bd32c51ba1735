import calendar
import json
import logging
import time
from datetime import timedelta

from odoo import api, fields, models

from odoo.addons.shipment_sync.models.cron_retry import retry_conflicts

from shipsync import carrier_poll as cp
from shipsync import transport
from shipsync.adapters import base as ab
from shipsync.milestones import TERMINAL
from shipsync.silence import IN_TRANSIT

_logger = logging.getLogger(__name__)

#: Poll request times kept per carrier (rate limit window).
POLL_LOG_KEEP = 600


class DeliveryCarrierPoll(models.AbstractModel):
    """Tracking polls for carriers without webhooks, composed by
    ``delivery.carrier`` (which holds the poll settings). Polled events go
    through the same ledger as pushed ones (same external ids), so a scan both
    polled and pushed is stored and applied once."""

    _name = "shipment.sync.carrier.poll"
    _description = "Shipment Sync tracking polls of a carrier"

    def _shipsync_poll_policy(self):
        self.ensure_one()
        partner = self.shipsync_partner_id
        minimum = max(self.shipsync_poll_min_interval, 1) * 60.0
        return cp.PollPolicy(
            min_interval=minimum,
            max_interval=max(self.shipsync_poll_max_interval * 60.0, minimum),
            hot_interval=minimum,
            batch_size=max(self.shipsync_poll_batch, 1),
            rate_limit_per_minute=max(partner.outbox_rate_limit or 0, 0))

    @api.model
    @retry_conflicts
    def _cron_shipsync_poll(self, now=None):
        # Carriers polled by choice, and those whose partner's webhooks went silent
        # (shipment.sync.partner._cron_webhook_silence): polled until they return.
        carriers = self.search([("delivery_type", "=", "shipsync"), "|",
                                ("shipsync_poll", "=", True),
                                ("shipsync_partner_id.webhook_silence_polling", "=", True)])
        stats = {}
        for carrier in carriers:
            stats[carrier.id] = carrier._shipsync_poll(now=now)
        return stats

    def _shipsync_poll_candidates(self, now, limit):
        if self.shipsync_poll:
            milestones = ("shipment_milestone", "not in", tuple(TERMINAL) + ("draft",))
        else:
            # Polled only while its webhooks are silent: the shipments in transit.
            milestones = ("shipment_milestone", "in", tuple(sorted(IN_TRANSIT)))
        return self.env["stock.picking"].search([
            ("carrier_id", "=", self.id), ("carrier_tracking_ref", "!=", False), milestones,
            "|", ("shipsync_poll_next_at", "=", False), ("shipsync_poll_next_at", "<=", now),
        ], order="shipsync_poll_next_at asc nulls first, id", limit=limit)

    def _shipsync_can_track(self):
        """True when this carrier's adapter can read tracking (polls are possible)."""
        self.ensure_one()
        cls = ab.get_adapter(self.sudo().shipsync_adapter or "easypost")
        return cls.track is not ab.CarrierAdapter.track or hasattr(cls, "track_batch")

    def _shipsync_outbox_calls(self):
        """Epoch times of the partner's outbox calls of the last minute: polls and
        bookings share the partner's rate limit."""
        partner = self.shipsync_partner_id
        if not partner or not partner.outbox_rate_limit:
            return []
        since = fields.Datetime.now() - timedelta(seconds=cp.RATE_WINDOW)
        rows = self.env["shipment.sync.job.attempt"].sudo().search_read(
            [("partner_id", "=", partner.id), ("started_at", ">", since),
             ("http_status", ">", 0)], ["started_at"])
        return [calendar.timegm(r["started_at"].timetuple()) for r in rows]

    def _shipsync_poll(self, now=None, http=None):
        """One poll run of this carrier. Returns ``{"requests", "shipments", "events",
        "deferred", "error"}``."""
        self.ensure_one()
        now = now or fields.Datetime.now()
        policy = self._shipsync_poll_policy()
        pickings = self._shipsync_poll_candidates(now, policy.max_shipments)
        shipments = [cp.Shipment(
            key=p.id, milestone=p.shipment_milestone, next_poll_at=p.shipsync_poll_next_at or None,
            interval=p.shipsync_poll_interval,
            tracking_numbers=tuple(t.strip() for t in p.carrier_tracking_ref.split(",")
                                   if t.strip())) for p in pickings]
        recent = json.loads(self.sudo().shipsync_poll_log or "[]")
        plan = cp.plan(policy, shipments, now, recent + self._shipsync_outbox_calls(),
                       time.time())
        stats = {"requests": 0, "shipments": len(plan.shipments), "events": 0,
                 "deferred": len(plan.deferred), "error": None}
        if not plan.batches:
            return stats
        session = None
        if http is None:
            session = transport.new_session(pool_size=2)

            def http(req):
                return transport.send(session, req)

        adapter = self._shipsync_adapter(http=http)
        events, polled = [], set()
        try:
            for batch in plan.batches:
                recent.append(time.time())
                stats["requests"] += 1
                if hasattr(adapter, "track_batch"):
                    found = adapter.track_batch(list(batch))
                    found.pop(None, None)
                    for code_events in found.values():
                        events.extend(code_events)
                else:
                    events.extend(adapter.track(list(batch)))
                polled.update(plan.by_tracking[code] for code in batch)
        except ab.AdapterError as exc:
            # The rest waits for the next run; nothing half-applied (what was read is kept).
            stats["error"] = str(exc)
            _logger.warning("tracking poll of %s stopped: %s", self.name, exc)
        except NotImplementedError:
            stats["error"] = f"the {self.shipsync_adapter} adapter cannot track"
        finally:
            if session is not None:
                session.close()
        self.sudo().shipsync_poll_log = json.dumps(recent[-POLL_LOG_KEEP:])
        Event = self.env["shipment.sync.event"].sudo()
        new = Event.browse()
        if events:
            new, _duplicates = Event._ingest(self.shipsync_partner_id, events)
            new._apply_now()
        stats["events"] = len(new)
        fresh_codes = set(new.mapped("tracking_number"))
        for picking in self.env["stock.picking"].browse(sorted(polled)):
            codes = {t.strip() for t in (picking.carrier_tracking_ref or "").split(",")}
            had_news = bool(codes & fresh_codes)
            when, interval = cp.next_poll_at(policy, now, picking.shipsync_poll_interval,
                                             had_news, picking.shipment_milestone)
            picking.write({"shipsync_poll_next_at": when or False,
                           "shipsync_poll_interval": interval})
        return stats
