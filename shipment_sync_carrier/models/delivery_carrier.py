import dataclasses
import json
import logging
from decimal import Decimal

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL, sql

from shipsync import catalogue as cat
from shipsync import outbox, partners
from shipsync.adapters import base as ab
from shipsync.adapters import get_adapter

_logger = logging.getLogger(__name__)

ADAPTER_SELECTION = partners.carrier_selection()  # keys = partner codes


class DeliveryCarrier(models.Model):
    """A ``delivery.carrier`` provider backed by a Shipment Sync partner and a
    pure ``shipsync`` adapter. The standard delivery API (``<type>_rate_shipment``,
    ``_send_shipping``, ``_get_tracking_link``, ``_cancel_shipment``,
    ``_get_return_label``) only turns records into plain values, calls the
    adapter and stores its result. Tracking polls: ``shipment.sync.carrier.poll``
    (delivery_carrier_poll.py)."""

    _name = "delivery.carrier"
    _inherit = ["delivery.carrier", "shipment.sync.carrier.poll", "shipment.sync.carrier.checks"]

    delivery_type = fields.Selection(
        selection_add=[("shipsync", "Shipment Sync")], ondelete={"shipsync": "set default"})
    shipsync_partner_id = fields.Many2one(
        "shipment.sync.partner", "Sync partner", ondelete="restrict",
        help="Receives this carrier's webhooks and events, and runs its outbox jobs "
        "(timeouts, rate limit, retries, breaker).")
    shipsync_adapter = fields.Selection(ADAPTER_SELECTION, "Adapter", default="easypost")
    shipsync_base_url = fields.Char("API base URL")
    shipsync_api_key = fields.Char(
        "API key", groups="shipment_sync.group_manager", copy=False,
        help="EasyPost: the API key. Sendcloud: public_key:secret_key. Never shown in logs.")
    shipsync_service = fields.Char(
        "Service", help="EasyPost service (e.g. Priority; empty: the cheapest rate); "
        "Sendcloud v3: shipping option code (e.g. postnl:standard); Sendcloud v2: shipping "
        "method id.")
    shipsync_sendcloud_api = fields.Selection(
        [("v3", "v3 Shipments API"),
         ("v2", "v2 Parcels API (accounts created before April 2026)")],
        "Sendcloud API", default="v3",
        help="Sendcloud accounts created since April 2026 can only book through the v3 "
        "Shipments API (Service: a shipping option code such as postnl:standard). The v2 "
        "Parcels API (Service: a numeric shipping method id) stays available to the "
        "accounts that have it; carriers that existed before this choice keep v2.")
    shipsync_mode = fields.Selection(
        [("sync", "Synchronous: label at validation"),
         ("async", "Asynchronous: label through the outbox")],
        "Booking mode", default="sync", required=True,
        help="Synchronous: validation waits for the label and a carrier error blocks it. "
        "Asynchronous: validation never waits; the label and tracking number arrive when "
        "the outbox job completes, a failure opens a 'label failed' exception.")
    shipsync_label_format = fields.Selection(
        [("PDF", "PDF"), ("ZPL", "ZPL (thermal printers)")], "Label format", default="PDF")
    shipsync_returns = fields.Boolean("Return labels", default=True)
    shipsync_refund_unlinked = fields.Boolean(
        "Refund labels left off their transfer", default=True,
        help="A label the carrier charged for, whose booking did not complete in Odoo (its "
        "transaction rolled back) and that no retry used within 10 minutes, is refunded "
        "through the outbox. Off: such labels wait in Paid labels for a manual refund.")
    shipsync_manifest_handover = fields.Boolean(
        "Handed over by the manifest",
        help="Validating a delivery does not mark it handed over: the carrier's end-of-day "
        "manifest (scan form) does, if the carrier's partner is authoritative for "
        "'Handed Over'. Off: validation hands the delivery over, as usual.")
    shipsync_default_package_type_id = fields.Many2one(
        "stock.package.type", "Default package type")
    shipsync_rest_config = fields.Text(
        "REST mapping (JSON)", help="Generic REST adapter: URLs, auth, request and response "
        "field mapping (see shipsync.partners.generic_rest).")
    shipsync_soap_wsdl = fields.Char(
        "WSDL URL", help="Generic SOAP adapter: the service description (empty: "
        "<base URL>/soap?wsdl).")
    shipsync_poll = fields.Boolean(
        "Poll tracking", help="For carriers without webhooks: a cron reads the tracking of "
        "non-terminal shipments, less often when nothing moves.")
    shipsync_poll_min_interval = fields.Integer("Poll every (min)", default=15)
    shipsync_poll_max_interval = fields.Integer("Quiet shipments at most every (min)",
                                                default=360)
    shipsync_poll_batch = fields.Integer("Tracking numbers per request", default=100)
    shipsync_poll_log = fields.Text(copy=False, readonly=True,
                                    help="Epoch times of the recent poll requests (JSON).")
    shipsync_tolerance_amount = fields.Float(
        "Freight tolerance (amount)", default=0.5,
        help="An invoiced charge within this amount of the expected one is matched.")
    shipsync_tolerance_percent = fields.Float(
        "Freight tolerance (%)", default=2.0,
        help="... or within this percentage of it (the larger tolerance wins).")
    shipsync_freight_columns = fields.Char(
        "Invoice CSV columns",
        default="tracking_number=Tracking Number;amount=Amount;currency=Currency;"
        "invoice_ref=Invoice;invoice_date=Date",
        help="field=CSV header pairs separated by ';'. Fields: tracking_number, amount, "
        "currency, invoice_ref, invoice_date, description.")
    shipsync_aftership_partner_id = fields.Many2one(
        "shipment.sync.partner", "Register tracking with", ondelete="restrict",
        domain=[("inbound_format", "=", "aftership")],
        help="An AfterShip partner (inbound format AfterShip webhooks): every tracking "
        "number booked with this method is registered there through the outbox, with the "
        "partner's outbound base URL (empty: https://api.aftership.com) and its auth value "
        "as the as-api-key. AfterShip's webhooks then come in on that partner's webhook "
        "URL and move the milestones. AfterShip never books labels.")
    shipsync_aftership_slug = fields.Char(
        "AfterShip courier slug", help="e.g. usps, ups, dhl; empty: AfterShip detects the "
        "courier from the tracking number.")

    def _auto_init(self):
        """Sendcloud carriers that existed before the API choice keep booking through
        v2 (their accounts have it); new ones get the default, v3."""
        cr = self.env.cr
        new_column = not sql.column_exists(cr, self._table, "shipsync_sendcloud_api")
        res = super()._auto_init()
        if new_column:
            cr.execute(SQL(
                "UPDATE delivery_carrier SET shipsync_sendcloud_api = 'v2' "
                "WHERE shipsync_adapter = 'sendcloud'"))
        return res

    @api.depends("delivery_type", "shipsync_returns")
    def _compute_can_generate_return(self):
        res = super()._compute_can_generate_return()
        for carrier in self.filtered(lambda c: c.delivery_type == "shipsync"):
            carrier.can_generate_return = carrier.shipsync_returns
        return res

    @api.constrains("delivery_type", "shipsync_partner_id", "shipsync_adapter",
                    "shipsync_rest_config", "shipsync_aftership_partner_id")
    def _check_shipsync(self):
        for carrier in self.filtered(lambda c: c.delivery_type == "shipsync"):
            if not carrier.shipsync_partner_id:
                raise ValidationError(_("%s: a Shipment Sync carrier needs a sync partner.",
                                        carrier.name))
            tracker = carrier.shipsync_aftership_partner_id
            if tracker and tracker.inbound_format != "aftership":
                raise ValidationError(_(
                    "%(carrier)s: %(partner)s does not receive AfterShip webhooks (inbound "
                    "format); trackings cannot be registered with it.",
                    carrier=carrier.name, partner=tracker.name))
            if carrier.shipsync_adapter == "generic_rest":
                try:
                    carrier._shipsync_rest_config()
                except ab.AdapterError as exc:
                    raise ValidationError(_("%(carrier)s: REST mapping: %(error)s",
                                            carrier=carrier.name, error=exc.message)) from None

    # ------------------------------------------------------------------
    # plain values
    # ------------------------------------------------------------------
    def _shipsync_rest_config(self):
        self.ensure_one()
        return get_adapter("generic_rest").carrier_options(
            rest_config=self.shipsync_rest_config or "")["config"]

    def _shipsync_adapter(self, http=None, picking=None):
        """The carrier's adapter; ``http`` is the outbox's or the poller's pooled
        sender (default: a new pooled session). With ``picking`` (a booking), the
        adapter writes the partner's shipment ids down at once in the paid-label
        journal (``shipment.sync.label``, its own transaction)."""
        self.ensure_one()
        me = self.sudo()
        partner = me.shipsync_partner_id
        timeout = (partner.outbox_connect_timeout or 5.0, partner.outbox_read_timeout or 30.0)
        cls = get_adapter(me.shipsync_adapter or "easypost")
        options = cls.carrier_options(
            service=me.shipsync_service or "", rest_config=me.shipsync_rest_config or "",
            soap_wsdl=me.shipsync_soap_wsdl or "",
            api_version=me.shipsync_sendcloud_api or "")
        if picking is not None:
            options["journal"] = self.env["shipment.sync.label"]._journal(me, picking)
        return cls(me.shipsync_base_url or "", me.shipsync_api_key or "", http=http,
                   timeout=timeout, **options)

    @api.model
    def _shipsync_address(self, partner):
        """A booking's address: ``res.partner._shipsync_address`` (its own name and
        its company)."""
        return partner._shipsync_address(name="name", company=True)

    def _shipsync_weight_kg(self, weight):
        uom = self.env["product.template"]._get_weight_uom_id_from_ir_config_parameter()
        kg = self.env.ref("uom.product_uom_kgm")
        value = uom._compute_quantity(weight or 0.0, kg) if uom != kg else (weight or 0.0)
        return Decimal(str(round(value, 3)))

    def _shipsync_parcels(self, packages):
        parcels = []
        for index, package in enumerate(packages):
            dims = package.dimension or {}
            length, width, height = (dims.get(k) for k in ("length", "width", "height"))
            has_dims = all(v and v > 0 for v in (length, width, height))
            cm = (lambda v: Decimal(str(v)) / 10) if has_dims else (lambda v: None)
            parcels.append(ab.Parcel(
                weight_kg=self._shipsync_weight_kg(package.weight),
                length_cm=cm(length), width_cm=cm(width), height_cm=cm(height),
                reference=package.name or f"{index + 1}",
                items=self._shipsync_items(package)))
        return tuple(parcels)

    def _shipsync_items(self, package):
        """A package's content as ``ParcelItem``s, from the commodities Odoo's delivery
        module computes for it (quantity, unit value in the company currency, origin);
        description, SKU, HS code and unit weight from the product."""
        currency = package.currency_id.name if package.currency_id else ""
        items = []
        for commodity in package.commodities or ():
            product = commodity.product_id
            items.append(ab.ParcelItem(
                description=product.name or product.display_name or "",
                quantity=int(commodity.qty or 1),
                weight_kg=self._shipsync_weight_kg(product.weight) if product.weight else None,
                value=Decimal(str(round(commodity.monetary_value or 0.0, 2))),
                currency=currency, hs_code=(product.hs_code or "").replace(".", "").strip(),
                origin_country=commodity.country_of_origin or "",
                sku=product.default_code or ""))
        return tuple(items)

    def _shipsync_request(self, picking, is_return=False):
        """``ShipmentRequest`` of a picking: one parcel per package (or one for the
        bulk content). ``is_return``: a label from the customer back to us."""
        self.ensure_one()
        packages = self._get_packages_from_picking(picking, self.shipsync_default_package_type_id)
        warehouse = picking.picking_type_id.warehouse_id.partner_id or picking.company_id.partner_id
        customer = picking.partner_id
        if is_return and picking.return_id:
            customer = picking.return_id.partner_id or customer
        req = ab.ShipmentRequest(
            reference=picking.name, correlation_id=picking.shipment_correlation_id or "",
            ship_from=self._shipsync_address(warehouse),
            ship_to=self._shipsync_address(customer),
            parcels=self._shipsync_parcels(packages), service=self.shipsync_service or "",
            is_return=is_return, currency=picking.company_id.currency_id.name or "EUR",
            label_format=self.shipsync_label_format or "PDF",
            customs=picking._shipsync_customs(self))
        return self._shipsync_with_cod(picking, req) if not is_return else req

    def _shipsync_with_cod(self, picking, req):
        """A COD transfer's booking carries the amount, where the adapter supports COD;
        elsewhere it is refused before any call (the carrier would not collect)."""
        if not picking.shipsync_cod_amount:
            return req
        if not getattr(self._shipsync_adapter(), "supports_cod", False):
            raise UserError(_(
                "%(picking)s is cash on delivery, but %(carrier)s (%(adapter)s) cannot "
                "collect it: its API documents no cash on delivery.",
                picking=picking.name, carrier=self.name, adapter=self.shipsync_adapter))
        return dataclasses.replace(
            req, cod_amount=Decimal(str(picking.shipsync_cod_amount)),
            currency=picking.shipsync_cod_currency_id.name or req.currency)

    def _shipsync_order_request(self, order):
        self.ensure_one()
        packages = self._get_packages_from_order(order, self.shipsync_default_package_type_id)
        warehouse = order.warehouse_id.partner_id or order.company_id.partner_id
        return ab.ShipmentRequest(
            reference=order.name, correlation_id="", ship_from=self._shipsync_address(warehouse),
            ship_to=self._shipsync_address(order.partner_shipping_id),
            parcels=self._shipsync_parcels(packages), service=self.shipsync_service or "",
            currency=order.currency_id.name or "EUR",
            label_format=self.shipsync_label_format or "PDF")

    def _shipsync_key(self, picking, operation):
        """Idempotency key of a booking: stable across retries of the same booking (a
        carrier that booked before a timeout answers with the same shipment), new
        after a cancellation."""
        return f"{picking.shipment_correlation_id}:{picking.id}:{operation}:" \
               f"{picking.shipsync_booking_count}"

    def _shipsync_convert(self, amount, currency_code, company, date=None):
        """A carrier amount in the company currency (as is when the currency is unknown)."""
        if amount is None:
            return None
        value = float(amount)
        currency = self.env["res.currency"].with_context(active_test=False).search(
            [("name", "=", currency_code)], limit=1) if currency_code else None
        if currency and currency != company.currency_id:
            value = currency._convert(value, company.currency_id, company,
                                      date or fields.Date.context_today(self))
        return value

    def _shipsync_error_message(self, picking, exc):
        """A clear UserError text for an adapter error (credentials already masked)."""
        target = picking.name if picking else ""
        if isinstance(exc, ab.InvalidInput):
            return _("%(carrier)s cannot ship %(picking)s: %(error)s. Complete the transfer "
                     "(weights, addresses) and validate again.",
                     carrier=self.name, picking=target, error=exc.message)
        if isinstance(exc, ab.CarrierError):
            return _("%(carrier)s refused %(picking)s (HTTP %(status)s, %(code)s): %(error)s. "
                     "Correct it and validate again.", carrier=self.name, picking=target,
                     status=exc.http_status or "-", code=exc.partner_code or exc.code,
                     error=exc.message)
        if isinstance(exc, ab.TransientError):
            return _("%(carrier)s is not answering for %(picking)s (%(code)s%(status)s): "
                     "%(error)s. Nothing was recorded; validate again to retry.",
                     carrier=self.name, picking=target, code=exc.code,
                     status=f", HTTP {exc.http_status}" if exc.http_status else "",
                     error=exc.message)
        return _("%(carrier)s: %(error)s", carrier=self.name, error=exc)

    def _shipsync_call(self, picking, operation, *args):
        """Run one adapter operation now; adapter errors become a UserError."""
        booking = operation in ("create_shipment", "return_label")
        adapter = self._shipsync_adapter(picking=picking if booking else None)
        try:
            return getattr(adapter, operation)(*args)
        except ab.AdapterError as exc:
            raise UserError(self._shipsync_error_message(picking, exc)) from None
        except NotImplementedError:
            raise UserError(_("%(carrier)s: the %(adapter)s adapter cannot %(operation)s.",
                              carrier=self.name, adapter=self.shipsync_adapter,
                              operation=operation)) from None

    # ------------------------------------------------------------------
    # the delivery API
    # ------------------------------------------------------------------
    def shipsync_rate_shipment(self, order):
        self.ensure_one()
        try:
            rates = self._shipsync_adapter().rate(self._shipsync_order_request(order))
            rate = _pick_rate(rates, self.shipsync_service)
        except NotImplementedError:
            return {"success": True, "price": self.product_id.list_price, "error_message": False,
                    "warning_message": _("%s quotes no price: the delivery product's price "
                                         "is used.", self.name)}
        except (ab.AdapterError, UserError) as exc:
            message = self._shipsync_error_message(None, exc) \
                if isinstance(exc, ab.AdapterError) else str(exc)
            return {"success": False, "price": 0.0, "error_message": message,
                    "warning_message": False}
        price = self._shipsync_convert(rate.amount, rate.currency, order.company_id)
        return {"success": True, "price": price, "error_message": False,
                "warning_message": False}

    def shipsync_send_shipping(self, pickings):
        self.ensure_one()
        out = []
        for picking in pickings:
            # customs data and address verdict: refused here, before any call
            req = picking._shipsync_check_before_booking(self)
            if self.shipsync_mode == "async":
                self._shipsync_enqueue(picking)
                out.append({"exact_price": 0.0, "tracking_number": False})
                continue
            result = self._shipsync_call(
                picking, "create_shipment", req, self._shipsync_key(picking, "ship"))
            price = picking._shipsync_store_result(self, result)
            self._shipsync_register_tracking(picking, result.tracking_numbers)
            out.append({"exact_price": price, "tracking_number": ",".join(result.tracking_numbers)})
            if self.return_label_on_delivery and self.shipsync_returns:
                self.get_return_label(picking)
        return out

    def shipsync_get_tracking_link(self, picking):
        self.ensure_one()
        if self.tracking_url and picking.carrier_tracking_ref:
            return self.tracking_url.replace("<shipmenttrackingnumber>",
                                             picking.carrier_tracking_ref)
        parcels = picking.shipsync_parcel_ids.filtered(
            lambda p: p.state == "active" and not p.is_return and p.tracking_url)
        if len(parcels) > 1:
            return json.dumps([[p.tracking_number, p.tracking_url] for p in parcels])
        return parcels[:1].tracking_url or picking.shipsync_tracking_url or False

    def shipsync_cancel_shipment(self, pickings):
        self.ensure_one()
        for picking in pickings:
            if not picking.shipsync_shipment_ref:
                raise UserError(_("%s has no booked shipment to cancel.", picking.name))
            result = self._shipsync_call(picking, "cancel", picking.shipsync_shipment_ref,
                                         picking.carrier_tracking_ref or "")
            if not result.accepted:
                raise UserError(_("%(carrier)s refused to cancel %(picking)s (%(status)s): "
                                  "%(message)s", carrier=self.name, picking=picking.name,
                                  status=result.raw_status or "-",
                                  message=result.message or "-"))
            picking._shipsync_cancelled(self, result)
        return True

    def shipsync_get_return_label(self, pickings, tracking_number=None, origin_date=None):
        self.ensure_one()
        for picking in pickings:
            result = self._shipsync_call(
                picking, "return_label", self._shipsync_request(picking, is_return=True),
                self._shipsync_key(picking, "return"))
            picking._shipsync_store_result(self, result, is_return=True)
        return True

    # ------------------------------------------------------------------
    # asynchronous booking through the outbox
    # ------------------------------------------------------------------
    def _shipsync_enqueue(self, picking, is_return=False):
        self.ensure_one()
        operation = "return" if is_return else "ship"
        picking.shipsync_label_state = "queued"
        return self.env["shipment.sync.job"].sudo()._enqueue(
            self.shipsync_partner_id, "create_shipment",
            {"picking_id": picking.id, "carrier_id": self.id, "is_return": is_return},
            picking=picking, idempotency_key=self._shipsync_key(picking, operation))

    @api.model
    def _shipsync_prepare_create_shipment(self, job, ctx):
        """Outbox ``prepare``: plain values now, the carrier call later (outside any
        transaction) through the worker's pooled ``ctx.http``."""
        payload = ctx.payload or {}
        carrier = self.sudo().browse(payload.get("carrier_id")).exists()
        picking = job.picking_id.sudo()
        if not carrier or not picking:
            raise ab.InvalidInput("the carrier or the transfer of this job no longer exists",
                                  code="missing_record")
        is_return = bool(payload.get("is_return"))
        req = carrier._shipsync_request(picking, is_return=is_return)
        blocker = picking._shipsync_booking_blocker(carrier, req)
        if blocker:  # data changed since it was queued: the card says what to fix
            raise ab.InvalidInput(blocker, code="booking_blocked")
        # The paid-label journal (made here, in the worker's thread) commits each record
        # in a cursor of its own from the call thread: a retry of this job, in any
        # process, reuses the shipment it created or bought instead of paying again.
        adapter = carrier._shipsync_adapter(http=ctx.http, picking=picking)
        operation = adapter.return_label if is_return else adapter.create_shipment
        key = ctx.idempotency_key

        def call():
            # An HTTP status on the outcome: the attempt counts in the partner's rate
            # limit like any other call.
            return outbox.Outcome(status=200, data=operation(req, key))

        return call

    @api.model
    def _shipsync_done_create_shipment(self, job, outcome):
        result = outcome.data
        picking = job.picking_id.sudo()
        payload = job._outbox_payload() or {}
        carrier = self.sudo().browse(payload.get("carrier_id"))
        if not isinstance(result, ab.ShipmentResult) or not picking:
            return
        is_return = bool(payload.get("is_return"))
        price = picking._shipsync_store_result(carrier, result, is_return=is_return)
        if not is_return:
            picking._shipsync_set_tracking(",".join(result.tracking_numbers))
            carrier._shipsync_register_tracking(picking, result.tracking_numbers)
            picking.carrier_price = carrier.with_context(
                order=picking.sale_id)._apply_margins(price or 0.0)
            picking._add_delivery_cost_to_so()

    @api.model
    def _shipsync_dead_create_shipment(self, job, outcome):
        picking = job.picking_id.sudo()
        if not picking:
            return
        picking.shipsync_label_state = "failed"
        picking._shipsync_exception_event(
            "label_failed", _("Label failed: %s", outcome.error or outcome.error_class or ""))
        payload = job._outbox_payload() or {}
        carrier = self.sudo().browse(payload.get("carrier_id")).exists()
        # One event per dead job: a job dies once.
        self.env["shipment.sync.subscription"]._outbox_publish_shipment_event(
            picking, cat.LABEL_FAILED, key=(job.id,),
            data={"carrier": carrier.name if carrier else None,
                  "is_return": bool(payload.get("is_return")),
                  "error": outcome.error or outcome.error_class or "",
                  "error_class": outcome.error_class or None,
                  "http_status": outcome.status or None})

    # ------------------------------------------------------------------
    # AfterShip: tracking registration (inbound only)
    # ------------------------------------------------------------------
    def _shipsync_register_tracking(self, picking, tracking_numbers):
        """Queue one ``aftership_register`` job per tracking number of a booked label
        (nothing without a "Register tracking with" partner). Idempotent per transfer
        and tracking number: a replayed booking does not register twice."""
        self.ensure_one()
        tracker = self.sudo().shipsync_aftership_partner_id
        Job = self.env["shipment.sync.job"].sudo()
        jobs = Job
        if not tracker:
            return jobs
        for number in dict.fromkeys(t.strip() for t in tracking_numbers or () if t):
            jobs |= Job._enqueue(tracker, "aftership_register", {
                "carrier_id": self.id, "tracking_number": number,
                "slug": self.shipsync_aftership_slug or "", "order_id": picking.name,
                "custom_fields": {"correlation_id": picking.shipment_correlation_id or ""},
            }, picking=picking, idempotency_key=f"aftership:{picking.id}:{number}")
        return jobs

    @api.model
    def _shipsync_aftership_adapter(self, partner, http=None):
        """The AfterShip adapter of a partner: its outbound base URL and auth value."""
        me = partner.sudo()
        cls = get_adapter("aftership")
        return cls(
            me.outbox_base_url or cls.DEFAULT_BASE_URL,
            me.outbox_auth_token or "", http=http,
            timeout=(me.outbox_connect_timeout or 5.0, me.outbox_read_timeout or 30.0))

    @api.model
    def _shipsync_prepare_aftership_register(self, job, ctx):
        """Outbox ``prepare``: the registration runs later through ``ctx.http``."""
        payload = ctx.payload or {}
        if not payload.get("tracking_number"):
            raise ab.InvalidInput("no tracking number to register",
                                  code="missing_tracking_number")
        adapter = self._shipsync_aftership_adapter(job.partner_id, http=ctx.http)
        args = (payload["tracking_number"], payload.get("slug") or "",
                payload.get("order_id") or "", payload.get("custom_fields") or None)

        def call():
            return outbox.Outcome(status=200, data=adapter.register_tracking(*args))

        return call

    @api.model
    def _shipsync_done_aftership_register(self, job, outcome):
        data = outcome.data if isinstance(outcome.data, dict) else {}
        picking = job.picking_id.sudo()
        if picking:
            picking.message_post(body=_(
                "Tracking %(tracking)s registered with %(partner)s%(existing)s.",
                tracking=data.get("tracking_number") or "-", partner=job.partner_id.name,
                existing=_(" (already known)") if data.get("already_exists") else ""))


def _pick_rate(rates, service):
    if not rates:
        raise ab.CarrierError("the carrier returned no rate", code="no_rates")
    if service:
        wanted = service.lower()
        for rate in rates:
            if wanted in (rate.service.lower(), f"{rate.carrier}:{rate.service}".lower()):
                return rate
        raise ab.CarrierError(f"no rate for service {service!r}", code="no_rates")
    return min(rates, key=lambda r: r.amount)
