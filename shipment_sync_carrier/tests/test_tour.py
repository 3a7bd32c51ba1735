"""The carrier's journeys in a real browser (headless Chromium), against the
carrier sandbox on 127.0.0.1 started by the test."""

import json

from odoo.tests import HttpCase, new_test_user, tagged

from .common import CarrierCommon
from .test_configured_carriers import REST_CONFIG


@tagged("post_install", "-at_install")
class TestCarrierTours(CarrierCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_carrier()
        cls.warehouse_user = new_test_user(
            cls.env, "ssc_warehouse", groups="stock.group_stock_user",
            password="ssc_warehouse")
        if "tour_enabled" in cls.warehouse_user._fields:
            cls.warehouse_user.tour_enabled = False

    def test_validate_with_a_label(self):
        """A warehouse user validates a delivery of the sandbox carrier and
        sees the label, the tracking number and the milestone."""
        picking = self.make_picking()
        self.env.flush_all()
        self.start_tour(f"/odoo/action-stock.action_picking_tree_all/{picking.id}",
                        "shipment_sync_carrier_validate_label_tour", login="ssc_warehouse")
        picking.invalidate_recordset()
        self.assertEqual(picking.state, "done")
        tracking = picking.carrier_tracking_ref
        self.assertTrue(tracking and tracking.startswith("EZ"))
        self.assertEqual(self.labels_of(picking).mapped("name"),
                         [f"LabelShipping-shipsync-{tracking}.pdf"])
        self.assertEqual(picking.shipment_milestone, "handed_over")
        self.assertEqual(picking.write_uid, self.warehouse_user)

    def test_rest_configuration_viewer_asks_for_no_missing_asset(self):
        """The REST mapping uses the payload viewer: highlighted, one key per
        line, and no asset of the form answers 404 (no ``mode-json.js``)."""
        partner = self.make_partner("sendcloud")
        carrier = self.make_carrier(partner, kind="generic_rest",
                                    shipsync_rest_config=json.dumps(REST_CONFIG))
        self.start_tour(f"/odoo/action-delivery.action_delivery_carrier_form/{carrier.id}",
                        "shipment_sync_carrier_rest_config_tour", login="admin")
