"""Tracking pages: the public page of a shipment behind an unguessable token
(the link in the customer emails) and the customer portal's shipments.

The public page answers one plain 404 for an unknown token, an expired link
and a transfer that is not a delivery order alike, and is rate limited per
client address. Portal pages check ownership first and only then read with
sudo; another customer's shipment is a 404 as well."""

from werkzeug.exceptions import NotFound

from odoo import _, http
from odoo.http import request

from odoo.addons.portal.controllers.portal import CustomerPortal
from odoo.addons.portal.controllers.portal import pager as portal_pager

from shipsync import milestones as ms
from shipsync.ratelimit import BucketRegistry

#: Per process, like the webhook's buckets: each worker sheds its own share.
_buckets = BucketRegistry()

RATE_PARAM = "shipment_sync.tracking_rate_per_minute"
BURST_PARAM = "shipment_sync.tracking_rate_burst"
DEFAULT_RATE_PER_MINUTE = 30
DEFAULT_BURST = 10
PAGE_SIZE = 20
PAGE_HEADERS = [
    ("Cache-Control", "private, no-store"),
    # the token is in the URL: never hand it on to the carrier's site
    ("Referrer-Policy", "no-referrer"),
    ("X-Robots-Tag", "noindex, nofollow"),
]


def _int_param(name, default):
    value = request.env["ir.config_parameter"].sudo().get_param(name)
    try:
        return int(value) if value not in (None, False, "") else default
    except ValueError:
        return default


class ShipmentTrackingPortal(CustomerPortal):
    _tracking_url = "/shipment/track/<string:token>"

    # ------------------------------------------------------------------
    # public page
    # ------------------------------------------------------------------
    @http.route(_tracking_url, type="http", methods=["GET"], auth="public", website=True,
                sitemap=False)
    def shipment_tracking_page(self, token, **_kwargs):
        limited = self._tracking_check_rate()
        if limited:
            return limited
        picking = request.env["stock.picking"]._shipment_from_tracking_token(token)
        if not picking:
            return self._tracking_not_found()
        lang = self._tracking_lang(picking)
        request.update_context(lang=lang)
        request.lang = request.env["res.lang"]._get_data(code=lang)
        picking = picking.with_context(lang=lang)
        values = {
            "tracking": picking._shipment_tracking_values(),
            "res_company": picking.company_id,
            "page_name": "shipment_tracking",
            "page_lang": lang,
        }
        return request.render("shipment_sync_portal.shipment_tracking_page", values,
                              headers=PAGE_HEADERS)

    def _tracking_lang(self, picking):
        """The page's language: the customer's (the one of their emails)
        when it is active, else the nearest active one to the browser's
        ``Accept-Language``, else the one Odoo chose for the request."""
        Lang = request.env["res.lang"]
        active = {code for code, _name in Lang.get_installed()}
        customer_lang = picking.sudo().partner_id.lang
        if customer_lang in active:
            return customer_lang
        nearest = request.env["ir.http"].get_nearest_lang
        for accepted in request.httprequest.accept_languages.values():
            code = nearest(accepted.replace("-", "_"))
            if code:
                return code
        return request.env.lang or request.lang.code

    def _tracking_not_found(self):
        """One plain 404 for every refused token, answered here rather than
        raised: the generic 404 handling would look the path up again."""
        return request.make_response(
            NotFound.description, status=404,
            headers=[("Content-Type", "text/plain; charset=utf-8"), *PAGE_HEADERS])

    def _tracking_check_rate(self):
        """A 429 response with Retry-After when this client address asked
        too often, else None."""
        rate = _int_param(RATE_PARAM, DEFAULT_RATE_PER_MINUTE)
        if rate <= 0:
            return None
        burst = max(_int_param(BURST_PARAM, DEFAULT_BURST), 1)
        address = request.httprequest.remote_addr or "unknown"
        allowed, retry_after = _buckets.take(f"{request.db}:track:{address}", rate / 60.0, burst)
        if allowed:
            return None
        seconds = max(1, int(retry_after + 0.999))
        return request.make_response(
            _("Too many requests; retry after %s seconds.", seconds), status=429,
            headers=[("Content-Type", "text/plain; charset=utf-8"),
                     ("Retry-After", str(seconds))])

    # ------------------------------------------------------------------
    # portal
    # ------------------------------------------------------------------
    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        if "shipment_count" in counters:
            values["shipment_count"] = request.env["stock.picking"].sudo().search_count(
                self._shipment_portal_domain(), limit=1)
        return values

    def _shipment_portal_domain(self):
        return request.env["stock.picking"]._shipment_portal_domain(request.env.user.partner_id)

    def _shipment_portal_filters(self):
        return {
            "all": {"label": _("All"), "domain": []},
            "progress": {"label": _("On the way"),
                         "domain": [("shipment_milestone", "not in", list(ms.TERMINAL))]},
            "delivered": {"label": _("Delivered"),
                          "domain": [("shipment_milestone", "=", "delivered")]},
        }

    def _shipment_portal_sortings(self):
        return {
            "date": {"label": _("Newest"), "order": "scheduled_date desc, id desc"},
            "name": {"label": _("Reference"), "order": "name desc, id desc"},
        }

    @http.route(["/my/shipments", "/my/shipments/page/<int:page>"], type="http",
                auth="user", website=True, methods=["GET"], sitemap=False)
    def portal_my_shipments(self, page=1, sortby=None, filterby=None, **_kwargs):
        Picking = request.env["stock.picking"].sudo()
        filters = self._shipment_portal_filters()
        sortings = self._shipment_portal_sortings()
        filterby = filterby if filterby in filters else "all"
        sortby = sortby if sortby in sortings else "date"
        domain = self._shipment_portal_domain() + filters[filterby]["domain"]
        total = Picking.search_count(domain)
        pager = portal_pager(url="/my/shipments", url_args={"sortby": sortby,
                                                            "filterby": filterby},
                             total=total, page=page, step=PAGE_SIZE)
        pickings = Picking.search(domain, order=sortings[sortby]["order"], limit=PAGE_SIZE,
                                  offset=pager["offset"])
        values = self._prepare_portal_layout_values()
        values.update({
            "shipments": [(picking, picking._shipment_tracking_values(timeline=False))
                          for picking in pickings],
            "page_name": "shipment",
            "pager": pager,
            "default_url": "/my/shipments",
            "searchbar_sortings": sortings,
            "sortby": sortby,
            "searchbar_filters": filters,
            "filterby": filterby,
        })
        return request.render("shipment_sync_portal.portal_my_shipments", values)

    @http.route("/my/shipments/<int:picking_id>", type="http", auth="user", website=True,
                methods=["GET"], sitemap=False)
    def portal_my_shipment(self, picking_id, **_kwargs):
        picking = self._shipment_portal_get(picking_id)
        values = self._prepare_portal_layout_values()
        values.update({
            "shipment": picking,
            "tracking": picking._shipment_tracking_values(),
            "page_name": "shipment",
        })
        return request.render("shipment_sync_portal.portal_my_shipment", values)

    def _shipment_portal_get(self, picking_id):
        """The user's own delivery order (sudo, after the ownership check), or 404."""
        picking = request.env["stock.picking"].sudo().search(
            [("id", "=", picking_id)] + self._shipment_portal_domain(), limit=1)
        if not picking:
            raise NotFound()
        return picking
