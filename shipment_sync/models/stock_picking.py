import time
import uuid

from odoo import _, api, fields, models
from odoo.tools import SQL

from shipsync import catalogue as cat
from shipsync import milestones as ms
from shipsync import pod, tracing
from shipsync.tracking import keys_field, tracking_key, tracking_keys

from .shipment_sync_event import OUTCOME_STATE


def _new_correlation_id():
    return str(uuid.uuid4())


def automatic_author(env, author_id, email_from):
    """``author_id`` for ``_message_compute_author``: OdooBot's partner when
    nobody chose an author and the current user is the public user, else
    ``author_id`` unchanged. A partner's webhook runs as Odoo's public user;
    its milestones, tracked changes and exception notes must not read "Public
    user" in the transfer's chatter: OdooBot signs them, as it signs what the
    crons do."""
    if author_id is None and not email_from and env.user._is_public():
        return env.ref("base.partner_root").id
    return author_id


class StockPicking(models.Model):
    _inherit = "stock.picking"

    shipment_milestone = fields.Selection(
        ms.MILESTONE_SELECTION, string="Milestone", default="draft", required=True,
        copy=False, index=True, readonly=True,
        help="Canonical shipment milestone, from every partner's events.")
    shipment_milestone_date = fields.Datetime("Milestone date", copy=False, readonly=True)
    shipment_milestone_partner_id = fields.Many2one(
        "shipment.sync.partner", "Milestone set by", copy=False, readonly=True)
    shipment_exception_state = fields.Selection(
        [("none", "None"), ("open", "Open"), ("resolved", "Resolved")],
        string="Exception", default="none", required=True, copy=False, index=True, readonly=True)
    shipment_exception_reason = fields.Selection(
        ms.EXCEPTION_REASON_SELECTION, string="Exception reason", copy=False, readonly=True)
    shipment_exception_date = fields.Datetime("Exception date", copy=False, readonly=True)
    shipment_correlation_id = fields.Char(
        "Correlation ID", copy=False, index=True, readonly=True,
        help="Sent to every partner with this shipment; shared by its backorders and returns.")
    shipment_trace_id = fields.Char(
        "Trace ID", compute="_compute_shipment_trace_id",
        help="The W3C trace id of this shipment (derived from its correlation id): every "
        "outbound call and event carries it in its traceparent header.")
    shipment_event_ids = fields.One2many("shipment.sync.event", "picking_id", "Shipment events")
    shipment_job_ids = fields.One2many("shipment.sync.job", "picking_id", "Outbox jobs")
    shipment_job_count = fields.Integer(compute="_compute_shipment_job_count")
    # The tracking number(s) partners match events with. Odoo's delivery
    # framework (stock_delivery) declares the same field: both addons share
    # the column, so a WMS-only install (no Sales, no delivery carriers)
    # stores the tracking numbers its WMS confirms just the same.
    carrier_tracking_ref = fields.Char(string="Tracking Reference", copy=False)
    shipment_tracking_keys = fields.Char(
        compute="_compute_shipment_tracking_keys", store=True, index="trigram",
        help="The tracking numbers as partners' events are matched with them "
        "(no spaces, upper case, comma-framed).")
    shipment_event_count = fields.Integer(compute="_compute_shipment_event_count")

    def _compute_shipment_event_count(self):
        # A count, readable by whoever reads the transfer (the Shipment tab of a
        # receipt shows when it has events, also to warehouse users without
        # access to the ledger itself).
        groups = self.env["shipment.sync.event"].sudo()._read_group(
            [("picking_id", "in", self.ids)], ["picking_id"], ["__count"])
        counts = {picking.id: count for picking, count in groups}
        for picking in self:
            picking.shipment_event_count = counts.get(picking.id, 0)

    # ------------------------------------------------------------------
    # correlation id: shared with backorders and returns
    # ------------------------------------------------------------------
    def copy_data(self, default=None):
        vals_list = super().copy_data(default=default)
        default = default or {}
        if default.get("backorder_id") or default.get("return_id"):
            for picking, vals in zip(self, vals_list, strict=True):
                vals.setdefault("shipment_correlation_id", picking.shipment_correlation_id)
        return vals_list

    def _auto_init(self):
        res = super()._auto_init()
        # One UUID per existing picking (a field default would give them all the same).
        self.env.cr.execute(SQL(
            "UPDATE stock_picking SET shipment_correlation_id = gen_random_uuid()::text "
            "WHERE shipment_correlation_id IS NULL"))
        return res

    def _shipment_carrier(self):
        """The transfer's delivery carrier (a ``delivery.carrier``) when Odoo's
        delivery framework is installed and one is set, else None: the core
        depends on stock only."""
        self.ensure_one()
        return (self.carrier_id or None) if "carrier_id" in self._fields else None

    @api.depends("carrier_tracking_ref")
    def _compute_shipment_tracking_keys(self):
        for picking in self:
            picking.shipment_tracking_keys = keys_field(picking.carrier_tracking_ref)

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if not vals.get("shipment_correlation_id"):
                vals["shipment_correlation_id"] = _new_correlation_id()
        pickings = super().create(vals_list)
        pickings._shipment_retry_unmatched()
        return pickings

    def write(self, vals):
        res = super().write(vals)
        if vals.get("carrier_tracking_ref") or vals.get("name"):
            self._shipment_retry_unmatched()
        return res

    def _action_done(self):
        res = super()._action_done()
        # Leaving the warehouse, as far as Odoo knows: partners that are
        # authoritative for handed_over (a WMS) may still confirm it.
        self.filtered(lambda p: p.picking_type_code == "outgoing" and p.state == "done"
                      and p._shipment_handed_over_on_validation())\
            ._shipment_internal_event(milestone="handed_over",
                                      message=_("Validated in Odoo"))
        return res

    def _shipment_handed_over_on_validation(self):
        """Does validating this delivery hand it over? Yes, unless another source (a
        carrier's end-of-day manifest) is configured to say when it leaves."""
        self.ensure_one()
        return True

    def action_cancel(self):
        res = super().action_cancel()
        self.filtered(lambda p: p.state == "cancel")._shipment_internal_event(
            milestone="cancelled", message=_("Cancelled in Odoo"))
        return res

    # ------------------------------------------------------------------
    # lookup
    # ------------------------------------------------------------------
    @api.depends("shipment_correlation_id")
    def _compute_shipment_trace_id(self):
        for picking in self:
            picking.shipment_trace_id = tracing.trace_id_for(picking.shipment_correlation_id)

    @api.model
    def _shipment_find(self, partner, tracking_number, picking_ref, correlation_id, company):
        """The picking an event speaks of, or an empty recordset. Most
        specific reference first: tracking number, transfer name, then the
        correlation id (shared by backorders: the open one wins)."""
        company_id = (partner.company_id or company).id
        base = [("company_id", "=", company_id)] if company_id else []
        checks = []
        key = tracking_key(tracking_number)
        if key and (not partner or partner.lookup_tracking):
            checks.append([("shipment_tracking_keys", "=", f",{key},")])
        if picking_ref and (not partner or partner.lookup_picking_name):
            checks.append([("name", "=", picking_ref)])
        if correlation_id and (not partner or partner.lookup_correlation):
            checks.append([("shipment_correlation_id", "=", correlation_id)])
        for domain in checks:
            found = self.search(base + domain, order="id desc")
            if len(found) > 1:
                open_ones = found.filtered(lambda p: p.state not in ("done", "cancel"))
                found = open_ones or found
            if found:
                return found[:1]
        if key and (not partner or partner.lookup_tracking):
            # Several tracking numbers (multi-package) are stored comma-separated.
            found = self.search(base + [("shipment_tracking_keys", "like", f"%,{key},%")],
                                order="id desc", limit=5)
            open_ones = found.filtered(lambda p: p.state not in ("done", "cancel"))
            if open_ones or found:
                return (open_ones or found)[:1]
        return self.browse()

    def _shipment_retry_unmatched(self):
        """Events that came before their picking existed are applied now."""
        refs = {
            "tracking_key": [k for p in self for k in tracking_keys(p.carrier_tracking_ref)],
            "picking_ref": [p.name for p in self if p.name and p.name != "/"],
            "correlation_id": [p.shipment_correlation_id for p in self
                               if p.shipment_correlation_id],
        }
        domain = []
        for field, values in refs.items():
            if values:
                clause = (field, "in", values)
                domain = ["|", *domain, clause] if domain else [clause]
        if not domain:
            return
        Event = self.env["shipment.sync.event"].sudo()
        events = Event.search([("state", "=", "unmatched")] + domain)
        if events:
            events.write({"state": "received", "outcome_detail": False})
            events._apply_now()

    # ------------------------------------------------------------------
    # applying events: lock, replay, write
    # ------------------------------------------------------------------
    def _shipment_lock(self, skip_locked=False):
        """Lock these pickings' rows for the rest of the transaction, so two
        workers applying events of one shipment never lose an update. Returns
        the pickings locked (all of them unless skip_locked).

        ``FOR NO KEY UPDATE``: appliers still exclude each other, but a row
        that only refers to the picking (a new ledger event, whose foreign-key
        check takes ``KEY SHARE``) neither waits for the applier nor fails with
        a serialization error once it commits."""
        if not self:
            return self
        self.env.cr.execute(SQL(
            "SELECT id FROM stock_picking WHERE id IN %s ORDER BY id FOR NO KEY UPDATE%s",
            tuple(self.ids), SQL(" SKIP LOCKED") if skip_locked else SQL()))
        return self.browse([r[0] for r in self.env.cr.fetchall()])

    def _shipment_apply_events(self, skip_locked=False, origin=None):
        """Replay every event of each picking through the shipsync state
        machine and store the outcome. Returns the pickings skipped because
        another transaction holds them (only with skip_locked). ``origin``
        (an ``EventOrigin``, from ``_shipment_internal_event``) is handed to
        ``_shipment_notify``.

        Set-based for a batch of pickings (a burst of a 3PL names hundreds):
        one read of their events, the replays in memory, one write per
        distinct outcome (events) and per distinct change (pickings), the
        milestone notes logged together; then the per-picking hooks
        (notifications, outbox, activities), in picking order."""
        locked = self.sudo()._shipment_lock(skip_locked=skip_locked)
        rows = self.env["shipment.sync.event"].sudo()._replay_rows(locked)
        replays = [picking._shipment_replay(rows.get(picking.id, ())) for picking in locked]
        self._shipment_store_replays(replays)
        locked._shipment_post_milestone_notes(replays)
        for replay in replays:
            picking = replay["picking"]
            picking._shipment_notify(replay["before"], replay["final"], replay["news"],
                                     replay["partner_by_code"], origin=origin)
            if replay["final"].milestone != replay["before"][0]:
                picking._shipment_on_milestone_change(replay["before"][0], replay["final"],
                                                      replay["news"])
        return self - locked

    def _shipment_replay(self, rows):
        """The replay of this picking's events (their ``rows``, see
        ``shipment.sync.event._replay_rows``), not yet stored: a dict with
        the picking, its state ``before``, the ``final`` ShipmentState, the
        ``news`` ((event, step) of the events applied for the first time), the
        ``event_vals`` (event, values to write) and the picking's ``changed``
        values."""
        self.ensure_one()
        Event = self.env["shipment.sync.event"].sudo()
        by_key = {}
        for row in rows:
            by_key[Event._milestone_event_of(row)] = row
        final, steps = ms.replay(list(by_key))
        events = Event.browse([row["id"] for row in rows])
        now = fields.Datetime.now()
        before = (self.shipment_milestone, self.shipment_exception_state,
                  self.shipment_exception_reason or None)
        news, event_vals = [], []
        for step in steps:
            row = by_key[step.event]
            event = Event.browse(row["id"]).with_prefetch(events._prefetch_ids)
            state = OUTCOME_STATE[step.outcome]
            is_correction = step.outcome == ms.CORRECTION
            vals = {}
            if row["state"] != state:
                vals["state"] = state
                if state == "applied":
                    vals["applied_at"] = now
            if row["is_correction"] != is_correction:
                vals["is_correction"] = is_correction
            if (row["outcome_detail"] or "") != (step.detail or ""):
                vals["outcome_detail"] = step.detail or False
            if row["state"] == "received":
                news.append((event, step))
            if vals:
                event_vals.append((event, vals))
        Partner = self.env["shipment.sync.partner"].sudo()
        partner_by_code = {row["partner_code"]: Partner.browse(row["partner_id"])
                           for row in rows if row["partner_id"]}
        milestone_partner = partner_by_code.get(final.milestone_partner)
        vals = {
            "shipment_milestone": final.milestone,
            "shipment_milestone_date": final.milestone_at or False,
            "shipment_milestone_partner_id": milestone_partner.id if milestone_partner else False,
            "shipment_exception_state": final.exception_state,
            "shipment_exception_reason": final.exception_reason or False,
            "shipment_exception_date": final.exception_at or False,
        }
        current = {name: self[name] for name in vals}
        current["shipment_milestone_partner_id"] = current["shipment_milestone_partner_id"].id
        changed = {k: v for k, v in vals.items() if (current[k] or False) != v}
        return {"picking": self, "before": before, "final": final, "news": news,
                "partner_by_code": partner_by_code, "event_vals": event_vals,
                "changed": changed}

    def _shipment_store_replays(self, replays):
        """Write the outcomes of ``replays``: one write per distinct set of
        values, for the events and for the pickings."""
        Event = self.env["shipment.sync.event"].sudo()
        event_groups, picking_groups = {}, {}
        for replay in replays:
            for event, vals in replay["event_vals"]:
                event_groups.setdefault(tuple(sorted(vals.items())), []).append(event.id)
            if replay["changed"]:
                picking_groups.setdefault(tuple(sorted(replay["changed"].items())), []).append(
                    replay["picking"].id)
        for vals, ids in event_groups.items():
            Event.browse(ids).write(dict(vals))
        for vals, ids in picking_groups.items():
            self.browse(ids).sudo().write(dict(vals))

    def _shipment_milestone_note(self, before, final, news, partner_by_code):
        """The chatter note of a milestone change, or None when it did not change."""
        self.ensure_one()
        old_milestone = before[0]
        if final.milestone == old_milestone:
            return None
        labels = dict(ms.MILESTONE_SELECTION)
        source = partner_by_code.get(final.milestone_partner)
        corrected = any(step.outcome == ms.CORRECTION for _e, step in news)
        return _(
            "Shipment milestone: %(old)s → %(new)s (%(origin)s)%(correction)s",
            old=labels.get(old_milestone, old_milestone),
            new=labels.get(final.milestone, final.milestone),
            origin=source.name if source else _("Odoo"),
            correction=_(", correction") if corrected else "",
        )

    def _shipment_post_milestone_notes(self, replays):
        """Post the milestone notes of ``replays``. A note notifies only the
        followers subscribed to internal notes: transfers that have such a
        follower get ``message_post`` (which notifies them), the others one
        batched log of all their notes (the same message, no one to notify)."""
        bodies = {}
        for replay in replays:
            body = replay["picking"]._shipment_milestone_note(
                replay["before"], replay["final"], replay["news"], replay["partner_by_code"])
            if body:
                bodies[replay["picking"].id] = body
        if not bodies:
            return
        note = self.env.ref("mail.mt_note")
        followed = set(self.env["mail.followers"].sudo().search_fetch([
            ("res_model", "=", self._name), ("res_id", "in", list(bodies)),
            ("subtype_ids", "in", note.ids)], ["res_id"]).mapped("res_id"))
        pickings = self.browse(list(bodies))
        for picking in pickings.filtered(lambda p: p.id in followed):
            picking.message_post(body=bodies[picking.id], message_type="notification",
                                 subtype_xmlid="mail.mt_note")
        quiet = pickings.filtered(lambda p: p.id not in followed)
        if quiet:
            quiet._message_log_batch(bodies={p.id: bodies[p.id] for p in quiet})

    def _shipment_on_milestone_change(self, old_milestone, final, news):
        """Hook: the canonical milestone of this picking changed from
        ``old_milestone`` to ``final.milestone`` (a shipsync ShipmentState);
        ``news`` are the (event, step) pairs applied in this run: published
        to the subscriptions through the outbox, in this transaction (if it
        rolls back, nothing is sent). Other addons extend it (notifications,
        ETA)."""
        subscriptions = self.env["shipment.sync.subscription"]
        subscriptions._outbox_publish_milestone(self, old_milestone, final)
        if final.milestone == "delivered" and not self._shipment_has_proof_of_delivery(news):
            subscriptions._outbox_publish_shipment_event(
                self, cat.DELIVERED_WITHOUT_POD,
                key=(final.milestone_at.isoformat() if final.milestone_at else "",),
                occurred_at=final.milestone_at,
                data={"delivered_at": cat.iso(final.milestone_at),
                      "source": final.milestone_partner or "odoo"})
        return None

    def _shipment_has_proof_of_delivery(self, news):
        """Does the suite hold a proof of delivery (signature, photo, recipient
        name) for this delivered transfer? ``news`` are the (event, step) pairs
        that delivered it. The proof a partner's delivered scan carries is stored
        (``shipment_pod_*``) when the event is ingested, before it is applied; a
        delivery without one is published as ``shipment.delivered_without_pod`` to
        the subscriptions that chose it."""
        self.ensure_one()
        return bool(self.shipment_pod_date)

    def _shipment_notify(self, before, final, news, partner_by_code, origin=None):
        """An activity when an exception opens (the milestone note is posted
        before, see ``_shipment_post_milestone_notes``). ``origin``: the
        ``EventOrigin`` the raiser of an internal event passed, or None."""
        old_milestone, old_exc_state, old_reason = before
        reasons = dict(ms.EXCEPTION_REASON_SELECTION)
        opened = final.exception_state == "open" and (
            old_exc_state != "open" or old_reason != final.exception_reason)
        if old_exc_state == "open" and (final.exception_state != "open" or opened):
            # Resolved (by a person or a partner event) or replaced by another one.
            self._shipment_exception_activity_done(
                _("Exception resolved") if final.exception_state != "open"
                else _("Replaced by another exception"))
        if opened:
            partner = partner_by_code.get(final.exception_partner)
            self._shipment_exception_activity(
                reasons.get(final.exception_reason, final.exception_reason), partner)
        self._shipment_publish_exception(before, final, news, opened)

    def _shipment_publish_exception(self, before, final, news, opened):
        """Publish ``shipment.exception_raised`` / ``shipment.exception_resolved``
        to the subscriptions that chose them, whether or not the milestone moved
        (an exception raised in transit leaves it where it is). Ids are stable
        (the shipment, the reason and the time it was raised), so a replay of the
        ledger or a duplicate webhook never publishes an exception twice."""
        old_exc_state = before[1]
        resolved = old_exc_state == "open" and final.exception_state == "resolved"
        if not (opened or resolved):
            return
        raised_at = final.exception_at.isoformat() if final.exception_at else ""
        step_event = next((event for event, step in reversed(news)
                           if (step.exception_opened if opened else step.exception_resolved)),
                          None)
        subscriptions = self.env["shipment.sync.subscription"]
        if opened:
            subscriptions._outbox_publish_shipment_event(
                self, cat.EXCEPTION_RAISED, key=(final.exception_reason, raised_at),
                occurred_at=final.exception_at,
                data={"reason": final.exception_reason, "milestone": final.milestone,
                      "source": final.exception_partner or "odoo",
                      "message": step_event.message if step_event else None})
        else:
            subscriptions._outbox_publish_shipment_event(
                self, cat.EXCEPTION_RESOLVED, key=(final.exception_reason, raised_at),
                occurred_at=step_event.occurred_at if step_event else fields.Datetime.now(),
                data={"reason": final.exception_reason,
                      "raised_at": cat.iso(final.exception_at),
                      "milestone": final.milestone,
                      "source": (step_event.partner_code if step_event else None) or "odoo",
                      "message": step_event.message if step_event else None})

    def _shipment_exception_responsible(self, partner=None):
        """Who gets the to-do of an exception: the partner's responsible, the
        transfer's responsible, else the administrator."""
        self.ensure_one()
        candidates = [partner and partner.responsible_user_id, self.user_id,
                      self.env.ref("base.user_admin", raise_if_not_found=False)]
        user = next((u for u in candidates if u and u.active and not u._is_superuser()), None)
        return user or self.env.user

    def _shipment_exception_activity(self, reason_label, partner=None):
        """The one to-do of an open exception (the monitor moves it to the
        exception's workbench card)."""
        self.activity_schedule(
            "shipment_sync.mail_activity_type_shipment_exception",
            summary=_("Shipment exception: %s", reason_label),
            note=_("%(partner)s reported: %(reason)s",
                   partner=partner.name if partner else _("Odoo"), reason=reason_label),
            user_id=self._shipment_exception_responsible(partner).id,
        )

    # ------------------------------------------------------------------
    # exceptions beside the milestone track (``ms.SIDE_REASONS``: money, not
    # the parcel); the monitor turns them into workbench cards
    # ------------------------------------------------------------------
    def _shipment_side_exception(self, reason, message, partner=None):
        """Raise ``reason`` on these transfers without touching their milestone track
        (a freight variance arrives when the shipment is often delivered already, and a
        terminal track takes no exception): a to-do on the transfer; with the monitor, a
        workbench card instead. Raised again, the open to-do is left as it is."""
        label = dict(ms.CARD_REASON_SELECTION).get(reason, reason)
        summary = _("Shipment exception: %s", label)
        for picking in self:
            if any(a.summary == summary for a in picking.sudo().activity_ids):
                continue
            picking.sudo().activity_schedule(
                "shipment_sync.mail_activity_type_shipment_exception", summary=summary,
                note=message, user_id=picking._shipment_exception_responsible(partner).id)

    def _shipment_side_exception_done(self, reason, note):
        """The side exception ``reason`` of these transfers is over: its to-do is done
        (with the monitor: its card is resolved)."""
        label = dict(ms.CARD_REASON_SELECTION).get(reason, reason)
        summary = _("Shipment exception: %s", label)
        activities = self.sudo().activity_ids.filtered(lambda a: a.summary == summary)
        if activities:
            activities.action_feedback(feedback=note)

    def _shipment_exception_activity_done(self, feedback):
        """Mark the exception to-dos of these transfers done."""
        activity_type = self.env.ref("shipment_sync.mail_activity_type_shipment_exception",
                                     raise_if_not_found=False)
        if not activity_type:
            return
        activities = self.sudo().activity_ids.filtered(
            lambda a: a.activity_type_id == activity_type)
        if activities:
            activities.action_feedback(feedback=feedback)

    # ------------------------------------------------------------------
    # events raised by Odoo itself
    # ------------------------------------------------------------------
    def _shipment_internal_event(self, milestone=None, exception_reason=None,
                                 resolves_exception=False, message=None, occurred_at=None,
                                 origin=None):
        """Record an event Odoo raises (validation, cancellation, a person
        resolving an exception, a suite failure) in the ledger and apply it,
        so the milestone is always the replay of the ledger. ``occurred_at``
        (naive UTC, default now) places it on the timeline: ledger times are
        whole seconds, so a caller raising an exception right after a
        milestone of the same second passes a later time. Without it, the
        event is never placed before Odoo's previous own event of the
        transfer, and a resolution comes after the exception it closes
        (``shipsync.milestones.internal_occurrence``). ``origin`` (an
        ``EventOrigin``) is handed to the ``_shipment_notify`` hooks."""
        if not self:
            return self.env["shipment.sync.event"]
        Event = self.env["shipment.sync.event"].sudo()
        now = fields.Datetime.now()
        latest = {}
        if not occurred_at:
            self.env.cr.execute(SQL(
                "SELECT picking_id, max(occurred_at) FROM shipment_sync_event"
                " WHERE picking_id IN %s AND direction = 'internal' GROUP BY picking_id",
                tuple(self.ids)))
            latest = dict(self.env.cr.fetchall())
        ids = Event._insert_rows([{
            "direction": "internal", "partner_code": "odoo", "company_id": p.company_id.id,
            # Sortable by arrival: the key breaks ties between Odoo's own
            # events of the same second (an exception, then its resolution).
            "external_id": ms.internal_key(time.time_ns(), uuid.uuid4().hex[:8]),
            "state": "received", "received_at": now,
            "occurred_at": occurred_at or ms.internal_occurrence(
                now, latest.get(p.id),
                p.shipment_exception_date if resolves_exception else None),
            "milestone": milestone,
            "exception_reason": exception_reason,
            "resolves_exception": resolves_exception, "is_mapped": True, "authoritative": True,
            "picking_id": p.id, "correlation_id": p.shipment_correlation_id,
            "picking_ref": p.name, "message": message,
        } for p in self])
        Event.invalidate_model()
        self._shipment_apply_events(origin=origin)
        events = Event.browse([i for i in ids if i])
        if resolves_exception and events:
            # A person closed the exception (form button, monitor workbench...),
            # or a rule of the suite did (crons run as OdooBot): audited.
            automatic = self.env.user == self.env.ref("base.user_root")
            self.env["shipment.sync.audit.log"]._log(
                "auto_resolution" if automatic else "manual_resolution", events,
                note=message or None)
        return events

    # ------------------------------------------------------------------
    # remedies offered on an exception (the monitor's workbench shows a
    # button when an integration answers True; carrier / WMS addons extend)
    # ------------------------------------------------------------------
    def _shipment_monitor_can_request_label(self, reason):
        """True when an installed integration can re-request this picking's label."""
        return False

    def _shipment_monitor_request_label(self, reason):
        """Re-request the label; True when something was done."""
        return False

    def _shipment_monitor_can_release_wms(self, reason):
        """True when an installed integration can re-release this picking to its WMS."""
        return False

    def _shipment_monitor_release_wms(self, reason):
        """Re-release the picking to its warehouse; True when something was done."""
        return False

    def _shipment_monitor_can_fix_address(self, reason):
        """Whether a carrier integration offers the address remedies (apply its
        suggestion, confirm with the customer) for exception ``reason``."""
        return False

    def _shipment_monitor_apply_address_suggestion(self):
        return False

    def _shipment_monitor_confirm_address(self):
        return False

    def action_shipment_resolve_exception(self):
        return self._shipment_resolve_exception()

    def _shipment_resolve_exception(self, origin=None):
        """Resolve the open exception of these pickings: a ledger event by the
        current user. ``origin`` (an ``EventOrigin``) is handed to the hooks."""
        for picking in self.filtered(lambda p: p.shipment_exception_state == "open"):
            picking._shipment_internal_event(
                resolves_exception=True,
                message=_("Resolved by %s", self.env.user.name), origin=origin)
        return True

    def _compute_shipment_job_count(self):
        groups = self.env["shipment.sync.job"]._read_group(
            [("picking_id", "in", self.ids)], ["picking_id"], ["__count"])
        counts = {picking.id: count for picking, count in groups}
        for picking in self:
            picking.shipment_job_count = counts.get(picking.id, 0)

    def _message_compute_author(self, author_id=None, email_from=None, raise_on_email=True):
        return super()._message_compute_author(
            automatic_author(self.env, author_id, email_from), email_from, raise_on_email)

    def action_view_shipment_jobs(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "shipment_sync.shipment_sync_job_action")
        action["domain"] = [("picking_id", "=", self.id)]
        action["context"] = {"search_default_open": 0}
        return action

    def action_view_shipment_events(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "shipment_sync.shipment_sync_event_action")
        action["domain"] = [("picking_id", "=", self.id)]
        action["context"] = {"search_default_group_state": 0}
        return action

    # ------------------------------------------------------------------
    # proof of delivery: who signed, photo / document URLs, where, as the carrier's
    # tracking data gives it (``shipsync.pod``), kept on the delivered transfer
    # ------------------------------------------------------------------
    shipment_pod_date = fields.Datetime(
        "Proof of delivery", readonly=True, copy=False, index=True,
        help="When the delivered scan carrying a proof of delivery happened.")
    shipment_pod_signed_by = fields.Char("Signed by", readonly=True, copy=False)
    shipment_pod_urls = fields.Text(
        "Delivery photos / documents", readonly=True, copy=False,
        groups="shipment_sync.group_user",
        help="The carrier's proof-of-delivery URLs, one per line (never shown to customers).")
    shipment_pod_location = fields.Char("Delivered at", readonly=True, copy=False)
    shipment_pod_city = fields.Char(readonly=True, copy=False)
    shipment_pod_partner_id = fields.Many2one(
        "shipment.sync.partner", "Proof from", readonly=True, copy=False, index=True,
        ondelete="set null")

    def _shipment_store_pod(self, proof, partner, occurred_at):
        """Keep ``proof`` (a ``shipsync.pod.ProofOfDelivery``); the latest scan wins."""
        for picking in self:
            when = fields.Datetime.to_datetime(occurred_at.replace(tzinfo=None)) \
                if occurred_at else fields.Datetime.now()
            if picking.shipment_pod_date and picking.shipment_pod_date > when:
                continue
            picking.sudo().write({
                "shipment_pod_date": when,
                "shipment_pod_signed_by": proof.signed_by or False,
                "shipment_pod_urls": "\n".join(proof.urls) or False,
                "shipment_pod_location": proof.location or False,
                "shipment_pod_city": proof.city or False,
                "shipment_pod_partner_id": partner.id if partner else False,
            })
            picking.message_post(body=_(
                "Proof of delivery from %(partner)s: signed by %(who)s%(where)s.",
                partner=partner.name if partner else "-", who=proof.signed_by or _("nobody"),
                where=f", {proof.location}" if proof.location else ""))

    def _shipment_pod_public(self):
        """What the customer's tracking page may show: the signer's initial and the
        delivery city (``shipsync.pod.customer_safe``); {} without a proof."""
        self.ensure_one()
        if not self.shipment_pod_date:
            return {}
        return pod.customer_safe(self.shipment_pod_signed_by or "", self.shipment_pod_city or "")
