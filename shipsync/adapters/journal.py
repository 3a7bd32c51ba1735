"""The booking journal: where an adapter writes down the partner's ids as soon as the
partner returns them (label spend), so a retried booking never pays twice."""

import json as _json
import os


class BookingJournal:
    """Where an adapter writes down the partner's ids as soon as the partner returns them,
    so that a retried booking (new attempt, new process, rolled-back transaction) finds
    the shipment it already created or bought instead of paying again.

    ``key`` is the booking's idempotency key (``-<n>`` per parcel when there are several);
    ``event`` is ``created`` (the partner made the shipment, nothing bought yet),
    ``buying`` (the buy was sent: the label may be paid, its answer is not in yet) or
    ``bought`` (the label is paid). Implementations must make ``record`` durable at once
    (the Odoo one commits it in its own transaction)."""

    def shipment_id(self, key: str) -> str | None:  # pragma: no cover - interface
        raise NotImplementedError

    def record(self, key: str, event: str, shipment_id: str, tracking_number: str = "",
               adapter: str = "") -> None:  # pragma: no cover - interface
        raise NotImplementedError


class FileJournal(BookingJournal):
    """A journal in one JSON file (tools, tests across processes)."""

    def __init__(self, path):
        self.path = str(path)

    def _load(self) -> dict:
        try:
            with open(self.path, encoding="utf-8") as handle:
                return _json.load(handle)
        except FileNotFoundError:
            return {}

    def shipment_id(self, key: str) -> str | None:
        return (self._load().get(key) or {}).get("shipment_id")

    def record(self, key: str, event: str, shipment_id: str, tracking_number: str = "",
               adapter: str = "") -> None:
        data = self._load()
        data[key] = {"event": event, "shipment_id": shipment_id,
                     "tracking_number": tracking_number, "adapter": adapter}
        tmp = f"{self.path}.tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            _json.dump(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)
