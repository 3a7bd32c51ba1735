"""EasyPost inbound: Event webhooks whose ``result`` is a Tracker (see README.md).
"""

from __future__ import annotations

from shipsync.normalizers import (
    CanonicalEvent,
    Normalizer,
    clean_text,
    join_text,
    opt_text,
    parse_datetime,
    stable_id,
)


class EasyPostNormalizer(Normalizer):
    """EasyPost ``tracker.created`` / ``tracker.updated`` events (result is a Tracker)."""

    name = "easypost"
    vocabulary = "easypost"
    schema_name = "easypost-event"
    DESCRIPTIONS = ("tracker.created", "tracker.updated")

    def normalize(self, payload: dict) -> list[CanonicalEvent]:
        if payload.get("description") not in self.DESCRIPTIONS:
            return []
        return self.normalize_tracker(payload.get("result") or {}, "$.result")

    def normalize_tracker(self, tracker: dict, path: str = "$") -> list[CanonicalEvent]:
        """One event per tracking detail of a Tracker (also for trackers fetched by polling)."""
        tracker_id = tracker.get("id")
        tracking_code = opt_text(tracker.get("tracking_code"))
        eta = parse_datetime(tracker.get("est_delivery_date"), f"{path}.est_delivery_date")
        details = tracker.get("tracking_details") or []
        if not details and tracker.get("status"):
            when = tracker.get("updated_at") or tracker.get("created_at")
            if when:
                details = [{"status": tracker["status"], "status_detail":
                            tracker.get("status_detail"), "datetime": when}]
        events = []
        for index, detail in enumerate(details):
            dpath = f"{path}.tracking_details[{index}]"
            occurred = parse_datetime(detail.get("datetime"), f"{dpath}.datetime")
            status = opt_text(detail.get("status"))
            status_detail = opt_text(detail.get("status_detail"))
            loc = detail.get("tracking_location") or {}
            events.append(CanonicalEvent(
                external_id=stable_id(
                    "easypost", tracker_id, occurred.isoformat(), status, status_detail
                ),
                occurred_at=occurred,
                code=status,
                subcode=status_detail,
                tracking_number=tracking_code,
                message=clean_text(detail.get("message")),
                location=join_text(loc.get("city"), loc.get("state"), loc.get("zip"),
                               loc.get("country")),
                carrier_eta=eta,
            ))
        return events


#: ``X-Hmac-Signature: hmac-sha256-hex=<hex>`` over the raw body, key = NFKD-normalised
#: secret (easypost-python ``easypost.util.validate_webhook``).
SIGNATURE: dict = {
    "header": "X-Hmac-Signature",
    "algorithm": "sha256",
    "encoding": "hex",
    "prefix": "hmac-sha256-hex=",
    "normalize": "NFKD",
}
