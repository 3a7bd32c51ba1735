"""The raw payload of an event, indented and highlighted in the backend
(the JSON field widget, through a browser tour)."""

import json

from odoo import fields
from odoo.tests import HttpCase, tagged

from .common import ShipmentSyncCommon


@tagged("post_install", "-at_install")
class TestPayloadViewer(ShipmentSyncCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_shipment_sync()

    def test_json_payload_is_indented_and_highlighted(self):
        body = json.dumps({"id": "evt-1", "type": "shipment.updated", "data": {
            "picking_ref": self.picking.name, "milestone": "in_transit",
            "location": "Lyon"}})
        ids = self.env["shipment.sync.event"]._insert_rows([{
            "partner_id": self.partner.id, "partner_code": self.partner.code,
            "company_id": self.partner.company_id.id, "direction": "inbound",
            "external_id": "payload-viewer-1", "state": "received", "raw_body": body,
            "received_at": fields.Datetime.now(), "occurred_at": fields.Datetime.now(),
            "milestone": "in_transit", "is_mapped": True, "authoritative": True}])
        self.start_tour(f"/odoo/action-shipment_sync.shipment_sync_event_action/{ids[0]}",
                        "shipment_sync_json_payload_tour", login="admin")
