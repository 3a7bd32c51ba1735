"""Odoo's own click-everywhere test (``web``'s clickbot) over the suite's
menus only: every menu, every view type of its action, every filter, in a
real browser, as a Shipment Sync manager and as a plain Shipment Sync user.

The clickbot walks one *app*; the suite lives under Inventory, so for the
test (inside its transaction) the suite's root menu is made an app of its own:
the bot then opens every menu of the suite and nothing else. It runs on
whatever data the database holds (``make test`` installs the demo data)."""

import logging

from odoo.tests import HttpCase, new_test_user, tagged

_logger = logging.getLogger(__name__)

ROOT = "shipment_sync.shipment_sync_menu_root"
CLICK = ("odoo.loader.modules.get('@web/webclient/clickbot/clickbot_loader')"
         ".startClickEverywhere('%s');")


@tagged("post_install", "-at_install", "click_all")
class TestClickEverywhere(HttpCase):
    allow_end_on_form = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.ref(ROOT).parent_id = False
        cls.manager = new_test_user(
            cls.env, "ssm_click_manager",
            groups="shipment_sync.group_manager,stock.group_stock_manager",
            password="ssm_click_manager")
        cls.user = new_test_user(
            cls.env, "ssm_click_user", groups="shipment_sync.group_user",
            password="ssm_click_user")
        for user in (cls.manager, cls.user):
            if "tour_enabled" in user._fields:
                user.tour_enabled = False

    def _click_all(self, user):
        menus = self.env["ir.ui.menu"].with_user(user).load_menus(False)
        root = self.env.ref(ROOT)
        self.assertIn(root.id, menus["root"]["children"],
                      "the suite's menu is an app for the clickbot")
        self.assertTrue(menus[root.id]["children"], f"the suite shows menus to {user.login}")
        self.browser_js("/odoo", CLICK % ROOT, "odoo.isReady === true", login=user.login,
                        timeout=900, success_signal="clickbot test succeeded")

    def test_click_everywhere_as_manager(self):
        self._click_all(self.manager)

    def test_click_everywhere_as_user(self):
        self._click_all(self.user)


@tagged("post_install", "-at_install")
class TestMenuSize(HttpCase):
    def test_the_suite_menu_stays_short(self):
        """The root menu groups its entries (messages, analysis,
        configuration): at most a dozen lines, whatever addons of the suite
        are installed, and no submenu longer than that either."""
        manager = new_test_user(self.env, "ssm_menu_manager",
                                groups="shipment_sync.group_manager")
        menus = self.env["ir.ui.menu"].with_user(manager).load_menus(False)
        root = self.env.ref(ROOT)
        self.assertLessEqual(len(menus[root.id]["children"]), 12)
        for child in menus[root.id]["children"]:
            self.assertLessEqual(len(menus[child]["children"]), 12, menus[child]["name"])
        names = [menus[child]["name"] for child in menus[root.id]["children"]]
        self.assertIn("Messages", names)
