"""What an admin sees of each addon in Apps: an icon, a description page and a
one-line summary, for every addon of the suite (tools/odoo_env.py lists them)."""

import ast
import struct
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ADDONS = sorted(p.parent.name for p in REPO.glob("shipment_sync*/__manifest__.py"))


def test_the_suite_has_its_seven_addons():
    assert ADDONS == ["shipment_sync", "shipment_sync_carrier", "shipment_sync_channel",
                      "shipment_sync_monitor", "shipment_sync_portal", "shipment_sync_tms",
                      "shipment_sync_wms"]


@pytest.mark.parametrize("addon", ADDONS)
def test_each_addon_has_an_icon_a_description_page_and_a_summary(addon):
    root = REPO / addon
    icon = (root / "static/description/icon.png").read_bytes()
    assert icon[:8] == b"\x89PNG\r\n\x1a\n", "icon.png is a PNG"
    width, height = struct.unpack(">II", icon[16:24])
    assert width == height and width >= 64, (width, height)
    page = (root / "static/description/index.html").read_text()
    manifest = ast.literal_eval((root / "__manifest__.py").read_text())
    assert manifest["name"] in page
    assert len(manifest["summary"]) >= 20
    assert manifest["license"] == "LGPL-3"
    assert manifest.get("application", False) is (addon == "shipment_sync")
