"""The dashboard in a real browser: it opens, a filter changes, a tile clicks
through to its filtered list."""

from odoo.tests import HttpCase, tagged

from .common import MonitorCommon


@tagged("post_install", "-at_install")
class TestDashboardTour(MonitorCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_monitor()
        cls.picking._shipment_internal_event(exception_reason="label_failed")

    def test_dashboard_tile_clicks_through_to_its_list(self):
        self.start_tour("/odoo/action-shipment_sync_monitor.shipment_sync_dashboard_action",
                        "shipment_sync_monitor_dashboard_tour", login="admin")
