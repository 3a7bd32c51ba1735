"""GET /shipment_sync/metrics: Prometheus text format, bearer token from the
settings. No token configured means every request is refused (fail closed)."""

import hmac

from odoo import http
from odoo.http import request

from shipsync import monitor as mon
from shipsync import pii

TOKEN_PARAM = "shipment_sync_monitor.metrics_token"


class ShipmentSyncMetricsController(http.Controller):
    _metrics_url = "/shipment_sync/metrics"

    @http.route(_metrics_url, type="http", methods=["GET"], auth="public", csrf=False,
                save_session=False)
    def shipment_sync_metrics(self, **_kwargs):
        env = request.env(su=True)
        expected = env["ir.config_parameter"].get_param(TOKEN_PARAM) or ""
        given = self._bearer(request.httprequest.headers.get("Authorization", ""))
        if not expected or not given or not hmac.compare_digest(
                given.encode(), expected.encode()):
            return request.make_response(
                "unauthorized: a valid bearer token is required\n", status=401,
                headers=[("Content-Type", "text/plain; charset=utf-8"),
                         ("WWW-Authenticate", 'Bearer realm="shipment_sync_metrics"')])
        # Label values come from partner names and codes: no personal data leaves.
        body = pii.mask_metrics_text(env["shipment.sync.metrics"]._metrics_text())
        return request.make_response(body, headers=[("Content-Type", mon.CONTENT_TYPE),
                                                    ("Cache-Control", "no-store")])

    @staticmethod
    def _bearer(header):
        scheme, _sep, token = (header or "").strip().partition(" ")
        if scheme.lower() != "bearer":
            return ""
        return token.strip()
