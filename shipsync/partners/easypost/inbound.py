"""EasyPost inbound: Event webhooks whose ``result`` is a Tracker (see README.md).
"""

from __future__ import annotations

from shipsync import ids
from shipsync.normalizers import (
    EVENT_MODE_MISMATCH,
    CanonicalEvent,
    Normalizer,
    clean_text,
    join_text,
    opt_text,
    parse_datetime,
)
from shipsync.pod import PodEvent, ProofOfDelivery, evidence_urls
from shipsync.schemas import PayloadError


class EasyPostNormalizer(Normalizer):
    """EasyPost ``tracker.created`` / ``tracker.updated`` events (result is a Tracker)."""

    name = "easypost"
    vocabulary = "easypost"
    schema_name = "easypost-event"
    #: every ``tracker.updated`` carries the tracker's whole history
    full_history = True
    DESCRIPTIONS = ("tracker.created", "tracker.updated")

    def check_environment(self, payload: dict, environment: str | None) -> None:
        """An Event's ``mode`` (``test`` / ``production``, cassette ``test_event_retrieve``)
        must be the receiving partner's: a test partner takes test events only, a
        production (or shadow: live traffic) partner production events only. Refused with
        ``event_mode_mismatch``: a test-mode event never moves a live shipment."""
        mode = payload.get("mode")
        if environment is None or mode not in ("test", "production"):
            return
        expected = "test" if environment == "test" else "production"
        if mode != expected:
            raise PayloadError(
                EVENT_MODE_MISMATCH,
                f"a {mode}-mode EasyPost event is not accepted by a partner whose "
                f"environment is {environment}", "$.mode")

    def normalize(self, payload: dict) -> list[CanonicalEvent]:
        if payload.get("description") not in self.DESCRIPTIONS:
            return []
        return self.normalize_tracker(payload.get("result") or {}, "$.result",
                                      event_id=payload.get("id"))

    def normalize_tracker(self, tracker: dict, path: str = "$",
                          event_id: str | None = None) -> list[CanonicalEvent]:
        """One event per tracking detail of a Tracker (also for trackers fetched by polling).

        A scan's external id is built from the scan itself, so a scan pushed in several
        ``tracker.updated`` Events (EasyPost sends the whole history each time) or pushed
        and polled has one id. A Tracker without details gives one event from its status;
        its id is the Event's ``id`` when there is one (a redelivered Event is the same
        event), else the tracker and its ``updated_at``."""
        tracker_id = tracker.get("id")
        tracking_code = opt_text(tracker.get("tracking_code"))
        eta = parse_datetime(tracker.get("est_delivery_date"), f"{path}.est_delivery_date")
        details = tracker.get("tracking_details") or []
        from_status = not details
        if not details and tracker.get("status"):
            when = tracker.get("updated_at") or tracker.get("created_at")
            if when:
                details = [{"status": tracker["status"], "status_detail":
                            tracker.get("status_detail"), "datetime": when}]
        events = []
        # Proof of delivery: the Tracker's ``signed_by`` and ``delivery_evidence`` (both on
        # every recorded Tracker, e.g. cassette test_tracker_retrieve_batch), put on its
        # delivered scans with their location.
        signed_by = clean_text(tracker.get("signed_by"))[:120]
        urls = evidence_urls(tracker.get("delivery_evidence") or ())
        for index, detail in enumerate(details):
            dpath = f"{path}.tracking_details[{index}]"
            occurred = parse_datetime(detail.get("datetime"), f"{dpath}.datetime")
            status = opt_text(detail.get("status"))
            status_detail = opt_text(detail.get("status_detail"))
            loc = detail.get("tracking_location") or {}
            external_id = ids.event_id(
                "easypost", tracker_id, occurred.isoformat(), status, status_detail)
            if from_status and event_id:
                external_id = f"easypost:{event_id}"
            pod = None
            if status == "delivered" and (signed_by or urls):
                pod = ProofOfDelivery(signed_by=signed_by, urls=urls,
                                      city=clean_text(loc.get("city")),
                                      location=join_text(loc.get("city"), loc.get("state"),
                                                         loc.get("country")))
            events.append((PodEvent if pod else CanonicalEvent)(
                **({"pod": pod} if pod else {}),
                external_id=external_id,
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
