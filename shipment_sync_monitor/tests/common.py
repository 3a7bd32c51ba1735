"""Shared setup of the monitor's tests: the core's partners and pickings, and
helpers to feed partner events through the real ledger."""

import uuid
from datetime import timedelta

from odoo.tests import new_test_user

from odoo.addons.shipment_sync.tests.common import T0, ShipmentSyncCommon

from shipsync.normalizers import CanonicalEvent


class MonitorCommon(ShipmentSyncCommon):
    @classmethod
    def setup_monitor(cls):
        cls.setup_shipment_sync()
        cls.Event = cls.env["shipment.sync.event"]
        cls.Card = cls.env["shipment.sync.exception"]
        cls.ops = new_test_user(cls.env, "ops_monitor", groups="shipment_sync.group_user",
                                email="ops@example.com")

    def ingest(self, partner, milestone=None, minutes=0, picking=None, reason=None,
               event_id=None, message="", at=None):
        event = CanonicalEvent(
            external_id=event_id or uuid.uuid4().hex,
            occurred_at=at or (T0 + timedelta(minutes=minutes)),
            milestone=milestone, exception_reason=reason, message=message,
            picking_ref=(picking or self.picking).name)
        new, _dups = self.Event._ingest(partner, [event])
        new._apply_now()
        return new

    def cards(self, picking=None, **domain):
        return self.Card.search([("picking_id", "=", (picking or self.picking).id)]
                                + [(k, "=", v) for k, v in domain.items()])
