"""Inbound webhooks: POST /shipment_sync/webhook/<partner_code>.

A short pipeline, each step able to refuse the request with a precise HTTP
status and machine-readable code (see README, "Webhook API"); every request is
recorded in the ledger, refused ones included. Nothing a sender can send
produces a 500."""

import logging

from odoo import http
from odoo.http import request

from shipsync import governance, pii, schemas, signatures
from shipsync.normalizers import parse_payload
from shipsync.ratelimit import BucketRegistry

_logger = logging.getLogger(__name__)

KEPT_HEADERS = (
    "content-type", "user-agent", "webhook-id", "webhook-timestamp", "x-request-id",
    "x-easypost-event-id", "aftership-hmac-sha256", "x-hmac-signature", "sendcloud-signature",
)
_buckets = BucketRegistry()


class WebhookRejected(Exception):
    def __init__(self, status, code, message, keep_body=False, headers=None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.keep_body = keep_body
        self.headers = headers or {}


class ShipmentSyncWebhookController(http.Controller):
    _webhook_url = "/shipment_sync/webhook/<string:partner_code>"

    @http.route(_webhook_url, type="http", methods=["POST"], auth="public", csrf=False,
                save_session=False)
    def shipment_sync_webhook(self, partner_code, **_kwargs):
        env = request.env(su=True)
        httpreq = request.httprequest
        headers = {k.lower(): v for k, v in httpreq.headers.items()
                   if k.lower() in KEPT_HEADERS}
        Event = env["shipment.sync.event"]
        partner = None
        body = None
        try:
            candidates = self._find_partners(env, partner_code)
            first = candidates[:1]
            self._check_rate(first)
            body = self._read_body(first)
            self._check_content_type(httpreq.mimetype)
            partner = self._verify(candidates, headers_in=httpreq.headers, body=body)
            events = self._parse(partner, body)
        except WebhookRejected as rej:
            _logger.info("webhook %s: refused %s %s: %s", partner_code, rej.status, rej.code,
                         rej.message)
            Event._record_rejection(
                partner_code, rej.code, rej.message, rej.status, partner=partner,
                body=body if rej.keep_body else None, headers=headers)
            return self._answer(rej.status, "rejected", rej.code, rej.message,
                                headers=rej.headers)

        if not events:
            rows = Event._record_rejection(partner_code, "ignored_event_type",
                                           "No shipment events in this message.", 200,
                                           partner=partner, body=body, headers=headers)
            rows.write({"state": "ignored", "error_code": False})
            return self._answer(200, "ignored", "ignored_event_type",
                                "The message carries no shipment event; nothing to do.")
        new, duplicates = Event._ingest(partner, events, body=body, headers=headers)
        if not new:
            return self._answer(200, "duplicate", "duplicate",
                                "Already received; nothing was applied again.")
        if partner.environment == "shadow":
            # Verified, stored and mapped as in production; never applied.
            new._shadow_resolve()
            return self._answer(202, "accepted", "accepted_shadow",
                                f"{len(new)} event(s) stored in shadow mode (not applied)",
                                event_ids=new.ids)
        if partner.processing_mode == "inline":
            new._apply_now()
        else:
            env.ref("shipment_sync.ir_cron_apply_events")._trigger()
        message = f"{len(new)} event(s) accepted"
        if duplicates:
            message += f", {len(duplicates)} already received"
        return self._answer(202, "accepted", "accepted", message, event_ids=new.ids)

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
    def _find_partners(self, env, partner_code):
        partners = env["shipment.sync.partner"].search(
            [("code", "=", partner_code), ("active", "=", True)], order="id")
        if not partners:
            raise WebhookRejected(404, "unknown_partner", "No active partner with this code.")
        return partners

    def _check_rate(self, partner):
        if partner.rate_limit_per_minute <= 0:
            return
        allowed, retry_after = _buckets.take(
            f"{request.db}:{partner.code}", partner.rate_limit_per_minute / 60.0,
            max(partner.rate_limit_burst, 1))
        if not allowed:
            seconds = max(1, int(retry_after + 0.999))
            raise WebhookRejected(429, "rate_limited",
                                  f"Too many requests; retry after {seconds} s.",
                                  headers={"Retry-After": str(seconds)})

    def _read_body(self, partner):
        limit = max(partner.max_payload_kb, 1) * 1024
        length = request.httprequest.content_length
        if length is not None and length > limit:
            raise WebhookRejected(413, "payload_too_large",
                                  f"The body exceeds {limit} bytes.")
        body = request.httprequest.get_data(cache=True)
        if len(body) > limit:
            raise WebhookRejected(413, "payload_too_large", f"The body exceeds {limit} bytes.")
        return body

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
                partner._shipsync_verifier().verify(headers_in, body)
                return partner
            except ValueError:
                failure = failure or signatures.SignatureError(
                    "invalid_signature", "The partner has no webhook secret configured.")
            except signatures.SignatureError as exc:
                failure = exc
        raise WebhookRejected(401, failure.code, str(failure))

    def _parse(self, partner, body):
        """Parse, check the schema version (canonical envelope: published, not
        retired for this partner, its pinned one if any), validate against the
        JSON Schema of that version, normalize."""
        normalizer = partner._shipsync_normalizer()
        try:
            if normalizer.name not in governance.INBOUND_VERSIONS:
                return parse_payload(body, normalizer, environment=partner.environment)
            payload = schemas.parse_json(body)
            schema_name = partner._shipsync_inbound_schema(payload)
            schemas.validate(payload, schemas.load_schema(schema_name))
            return normalizer.normalize(payload)
        except governance.VersionError as exc:
            raise WebhookRejected(400, exc.code, f"{exc.path}: {exc.message}",
                                  keep_body=True) from exc
        except schemas.PayloadError as exc:
            message = str(exc) if not exc.path else f"{exc.path}: {exc}"
            raise WebhookRejected(400, exc.code, pii.mask_text(message),
                                  keep_body=True) from exc

    def _answer(self, status, state, code, message, event_ids=(), headers=None):
        payload = {"status": state, "code": code, "message": message,
                   "event_ids": list(event_ids)}
        return request.make_json_response(payload, headers=list((headers or {}).items()),
                                          status=status)
