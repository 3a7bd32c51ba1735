"""Sendcloud inbound: ``parcel_status_changed`` webhooks (see README.md)."""

from __future__ import annotations

from shipsync.adapters.base import InvalidInput
from shipsync.normalizers import CanonicalEvent, Normalizer
from shipsync.schemas import SCHEMA_VIOLATION, PayloadError

from .outbound import parse_webhook

#: Envelope of a ``parcel_status_changed`` webhook (what the normalizer relies on).
WEBHOOK_SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["action"],
    "properties": {
        "action": {"type": "string", "minLength": 1},
        "timestamp": {"type": ["number", "string"]},
        "parcel": {
            "type": "object",
            "required": ["id", "status"],
            "properties": {
                "id": {"type": ["integer", "string"]},
                "tracking_number": {"type": ["string", "null"]},
                "order_number": {"type": ["string", "null"]},
                "status": {
                    "type": "object",
                    "required": ["id"],
                    "properties": {"id": {"type": ["integer", "string"]},
                                   "message": {"type": ["string", "null"]}},
                },
            },
        },
    },
    "if": {"properties": {"action": {"const": "parcel_status_changed"}}},
    "then": {"required": ["action", "timestamp", "parcel"]},
}


class SendcloudNormalizer(Normalizer):
    """Inbound ``parcel_status_changed`` webhooks -> canonical events (vocabulary
    ``sendcloud``: the status id is the code, mapped by the editable status map).

    The external id is ``parcel id : status id : timestamp``, so a duplicated delivery
    and a polled status of the same moment deduplicate in the ledger."""

    name = "sendcloud"
    vocabulary = "sendcloud"
    schema_name = ""
    schema = WEBHOOK_SCHEMA

    def normalize(self, payload: dict) -> list[CanonicalEvent]:
        try:
            return parse_webhook(payload)
        except InvalidInput as exc:
            raise PayloadError(SCHEMA_VIOLATION, exc.message, "$.parcel") from None


#: ``Sendcloud-Signature``: hex HMAC-SHA256 of the raw body with the secret key (the
#: v2 webhooks OpenAPI document, ``info.description``).
SIGNATURE: dict = {"header": "Sendcloud-Signature", "algorithm": "sha256", "encoding": "hex"}
