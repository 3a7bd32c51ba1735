"""Inbound webhooks: POST /shipment_sync/webhook/<partner_code>.

A short pipeline, each step able to refuse the request with a precise HTTP
status and machine-readable code (see README, "Webhook API"); every request is
recorded in the ledger, refused ones included. Nothing a sender can send
produces a 500."""

import logging

from odoo import http
from odoo.http import request

from odoo.addons.shipment_sync.models.shipment_sync_partner import CODE_RE

from shipsync import governance, ingest, schemas, signatures
from shipsync.ratelimit import BucketRegistry

_logger = logging.getLogger(__name__)

KEPT_HEADERS = (
    "content-type", "user-agent", "webhook-id", "webhook-timestamp", "x-request-id",
    "x-easypost-event-id", "aftership-hmac-sha256", "x-hmac-signature", "sendcloud-signature",
    "traceparent", "tracestate", "x-correlation-id",
)
_buckets = BucketRegistry()
#: The pre-signature bucket of a code allows this many times the sum of the limits
#: of the partners sharing the code (a guard for the server, not a partner's limit).
COARSE_FACTOR = 4


def _shown_code(partner_code):
    """The code as logged and recorded: a code that is not a valid slug (NUL,
    surrogates, anything) is escaped and cut."""
    if CODE_RE.fullmatch(partner_code or ""):
        return partner_code
    return ascii(partner_code or "")[1:-1][:64]


def _printable(text):
    return str(text).encode("utf-8", errors="backslashreplace").decode("utf-8")


class WebhookRejected(Exception):
    def __init__(self, status, code, message, keep_body=False, headers=None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.keep_body = keep_body
        self.headers = headers or {}


class ShipmentSyncWebhookController(http.Controller):
    _webhook_url = "/shipment_sync/webhook/<string:partner_code>"

    # auth="none" and the public user set from the cached xmlid: auth="public" would
    # look the public user up in the database on every request (``env.ref`` checks
    # that it exists), a query per webhook for nothing a partner sends (no session).
    @http.route(_webhook_url, type="http", methods=["POST"], auth="none", csrf=False,
                save_session=False, readonly=False)
    def shipment_sync_webhook(self, partner_code, **_kwargs):
        request.update_env(user=request.env["ir.model.data"]._xmlid_to_res_id(
            "base.public_user"))
        env = request.env(su=True)
        httpreq = request.httprequest
        headers = {k.lower(): v for k, v in httpreq.headers.items()
                   if k.lower() in KEPT_HEADERS}
        Event = env["shipment.sync.event"]
        partner = None
        body = None
        shown_code = _shown_code(partner_code)
        try:
            self._check_code(partner_code)
            candidates = self._find_partners(env, partner_code)
            self._check_coarse_rate(candidates)
            body = self._read_body(candidates)
            self._check_content_type(httpreq.mimetype)
            profile = self._verify(candidates, headers_in=httpreq.headers, body=body)
            partner = self._partner_record(env, profile)
            self._check_rate(profile)
            self._check_size(profile, body)
            events = self._parse(partner, body)
        except WebhookRejected as rej:
            return self._refuse(Event, shown_code, rej, partner, body, headers)

        status, state, code, message, event_ids = Event._receive_events(
            partner, events, body=body, headers=headers)
        return self._answer(status, state, code, message, event_ids=event_ids)

    @http.route("/shipment_sync/webhook/<path:rest>", type="http", methods=["POST"],
                auth="public", csrf=False, save_session=False)
    def shipment_sync_webhook_elsewhere(self, rest, **_kwargs):
        """Any other address under the webhook prefix (extra segments, a code with a
        '/'): a precise, recorded 404 instead of Odoo's fallback, which looks the
        path up among attachments and fails on a NUL byte."""
        Event = request.env(su=True)["shipment.sync.event"]
        return self._refuse(Event, _shown_code(rest), WebhookRejected(
            404, "unknown_partner", "No webhook at this address: it is "
            "/shipment_sync/webhook/<partner code>, with no further path."), None, None, {})

    def _refuse(self, Event, shown_code, rej, partner, body, headers):
        """Record a refused request and answer it (nothing else of it is kept)."""
        _logger.info("webhook %s: refused %s %s: %s", shown_code, rej.status, rej.code,
                     _printable(rej.message))
        Event._record_rejection(
            shown_code, rej.code, rej.message, rej.status, partner=partner,
            body=body if rej.keep_body else None, headers=headers)
        return self._answer(rej.status, "rejected", rej.code, rej.message, headers=rej.headers)

    @http.route(governance.OPENAPI_PATH, type="http", methods=["GET"], auth="public",
                csrf=False, save_session=False)
    def shipment_sync_openapi(self, **_kwargs):
        """The OpenAPI document of the inbound routes, as kept in the repository
        (shipsync/schemas/openapi.json)."""
        body = (schemas.SCHEMA_DIR / "openapi.json").read_bytes()
        return request.make_response(body, headers=[
            ("Content-Type", "application/json"), ("Cache-Control", "public, max-age=3600")])

    # ------------------------------------------------------------------
    # the steps, each overridable
    # ------------------------------------------------------------------
    def _check_code(self, partner_code):
        """The code is checked before any query: a NUL byte, a surrogate or a
        10,000-character code never reaches PostgreSQL."""
        if not CODE_RE.fullmatch(partner_code or ""):
            raise WebhookRejected(404, "unknown_partner",
                                  "No active partner with this code (a partner code is 2 to 63 "
                                  "lower-case letters, digits, '-' or '_').")

    def _find_partners(self, env, partner_code):
        """The active partners with this code, as cached ``WebhookProfile`` values
        (one query per code and worker until a partner's settings change)."""
        profiles = env["shipment.sync.partner"]._webhook_profiles(partner_code)
        if not profiles:
            raise WebhookRejected(404, "unknown_partner", "No active partner with this code.")
        return profiles

    def _partner_record(self, env, profile):
        """The verified partner as a record, its cache primed from the profile:
        the steps after the signature read no partner row."""
        partner = env["shipment.sync.partner"].browse(profile.id)
        fields_ = partner._fields
        for name in ("code", "inbound_format", "environment", "processing_mode",
                     "schema_versions_retired", "schema_version_pinned",
                     "rate_limit_per_minute", "rate_limit_burst", "max_payload_kb",
                     "lookup_picking_name"):
            value = getattr(profile, name)
            env.cache.update(partner, fields_[name], [False if value is None else value])
        env.cache.update(partner, fields_["company_id"], [profile.company_id])
        return partner

    def _take(self, key, per_minute, burst):
        allowed, retry_after = _buckets.take(key, per_minute / 60.0, max(burst, 1))
        if not allowed:
            seconds = max(1, int(min(retry_after, 86400) + 0.999))
            raise WebhookRejected(429, "rate_limited",
                                  f"Too many requests; retry after {seconds} s.",
                                  headers={"Retry-After": str(seconds)})

    def _check_coarse_rate(self, candidates):
        """Before the signature says who is calling, only the code is known:
        a coarse bucket per code, COARSE_FACTOR times the sum of the limits of
        the partners sharing it, protects the server from a flood without
        letting one partner's traffic throttle another's (their own buckets
        apply after the signature, see ``_check_rate``)."""
        if any(p.rate_limit_per_minute <= 0 for p in candidates):
            return
        self._take(f"{request.db}:code:{candidates[0].code}",
                   COARSE_FACTOR * sum(p.rate_limit_per_minute for p in candidates),
                   COARSE_FACTOR * sum(max(p.rate_limit_burst, 1) for p in candidates))

    def _check_rate(self, partner):
        """The partner's own bucket, once the signature has told which partner
        (one code may exist in several companies, each with its limits)."""
        if partner.rate_limit_per_minute <= 0:
            return
        self._take(f"{request.db}:partner:{partner.id}", partner.rate_limit_per_minute,
                   partner.rate_limit_burst)

    def _read_body(self, candidates):
        """Read the body within the largest limit of the partners sharing the
        code (the signature is checked over the body; each partner's own limit
        applies after it, see ``_check_size``)."""
        limit = max(max(p.max_payload_kb, 1) for p in candidates) * 1024
        length = request.httprequest.content_length
        if length is not None and length > limit:
            raise WebhookRejected(413, "payload_too_large",
                                  f"The body exceeds {limit} bytes.")
        body = request.httprequest.get_data(cache=True)
        if len(body) > limit:
            raise WebhookRejected(413, "payload_too_large", f"The body exceeds {limit} bytes.")
        return body

    def _check_size(self, partner, body):
        limit = max(partner.max_payload_kb, 1) * 1024
        if len(body) > limit:
            raise WebhookRejected(413, "payload_too_large", f"The body exceeds {limit} bytes.")

    def _check_content_type(self, mimetype):
        if mimetype != "application/json" and not (mimetype or "").endswith("+json"):
            raise WebhookRejected(415, "unsupported_media_type",
                                  "Send the body as application/json.")

    def _verify(self, candidates, headers_in, body):
        """The first candidate partner whose secrets verify the signature
        (one code may exist in several companies, each with its secret)."""
        failure = None
        for partner in candidates:
            try:
                partner.verifier().verify(headers_in, body)
                return partner
            except ValueError:
                failure = failure or signatures.SignatureError(
                    "invalid_signature", "The partner has no webhook secret configured.")
            except signatures.SignatureError as exc:
                failure = exc
        raise WebhookRejected(401, failure.code, str(failure))

    def _parse(self, partner, body):
        """The partner's parse and validation of the body
        (``shipment.sync.partner._shipsync_parse_inbound``, shared with the
        broker queue), its refusal as a recorded 400."""
        try:
            return partner._shipsync_parse_inbound(body)
        except ingest.BodyRejected as exc:
            raise WebhookRejected(exc.http_status, exc.code, exc.message,
                                  keep_body=exc.keep_body) from exc

    def _answer(self, status, state, code, message, event_ids=(), headers=None):
        payload = {"status": state, "code": code, "message": message,
                   "event_ids": list(event_ids)}
        return request.make_json_response(payload, headers=list((headers or {}).items()),
                                          status=status)
