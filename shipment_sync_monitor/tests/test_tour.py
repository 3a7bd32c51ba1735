"""The dashboard in a real browser: it opens, a filter changes, a tile clicks
through to its filtered list."""

from odoo.tests import HttpCase, tagged

from .common import MonitorCommon, insert_jobs


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


@tagged("post_install", "-at_install")
class TestWorkbenchTour(MonitorCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_monitor()
        cls.picking._shipment_internal_event(exception_reason="customs_hold")

    def test_take_and_resolve_from_the_workbench(self):
        self.start_tour("/odoo/action-shipment_sync_monitor.shipment_sync_exception_action",
                        "shipment_sync_monitor_workbench_tour", login="admin")
        card = self.env["shipment.sync.exception"].search(
            [("picking_id", "=", self.picking.id), ("reason", "=", "customs_hold")])
        self.assertEqual(card.state, "resolved")
        self.assertEqual(card.resolution_action, "send_documents")
        self.assertEqual(card.user_id, self.env.ref("base.user_admin"))
        self.assertEqual(self.picking.shipment_exception_state, "resolved")


@tagged("post_install", "-at_install")
class TestDashboardLinks(MonitorCommon, HttpCase):
    """The dashboard's filters and drill-downs are links."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_monitor()
        cls.picking._shipment_internal_event(exception_reason="label_failed")
        insert_jobs(cls.env, cls.partner, 1)
        cls.env["shipment.sync.alert.rule"].create({
            "name": "Nothing queued", "kind": "queue_depth", "threshold": 0})

    def test_filters_come_from_the_url(self):
        self.start_tour("/odoo/shipment-sync-dashboard?period=24h",
                        "shipment_sync_monitor_dashboard_url_tour", login="admin")

    def test_a_drilldown_link_reopens_its_list(self):
        admin = self.env.ref("base.user_admin")
        Dash = self.env["shipment.sync.dashboard"].with_user(admin)
        tile = Dash.get_tile("exception_backlog", {"period": "7d"})
        index = next(i for i, line in enumerate(tile["lines"])
                     if line["text"].startswith("Label Failed"))
        link_id = Dash.get_drilldown("exception_backlog", index, {"period": "7d"})
        self.start_tour(f"/odoo/shipment-sync-dashboard/{link_id}/shipment-sync-list",
                        "shipment_sync_monitor_drilldown_link_tour", login="admin")
