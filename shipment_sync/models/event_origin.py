"""What raised an internal event, beyond the event itself."""

from dataclasses import dataclass


@dataclass(frozen=True)
class EventOrigin:
    """Passed by the code that raises an internal event of Odoo's
    (``stock.picking._shipment_internal_event(origin=...)``) down to the
    ``_shipment_notify`` hooks of that replay, as an explicit parameter
    (caller and callee are the suite's own methods: no context key).

    ``alert_rule``: id of the SLA rule whose breach raised the exception;
    ``note``: the resolution note that closes the exception's card;
    ``resolved_by``: id of the user who resolved it;
    ``action``: the triage action that resolved it (``shipsync.triage``)."""

    alert_rule: int | None = None
    note: str | None = None
    resolved_by: int | None = None
    action: str | None = None
