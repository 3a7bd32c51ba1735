"""`make check-wms-only`: a warehouse-only install pulls no Sales.

Installs ``shipment_sync`` + ``shipment_sync_wms`` without demo data in a
throwaway database and reads ``ir_module_module``: Sales, delivery carriers and
the sale/delivery glue modules must not be installed, and every installed
module must be one of the two addons or a module that Odoo's ``stock``,
``mail`` and ``uom`` need themselves, or that Odoo installs automatically
with them (``auto_install``; computed from Odoo's manifests). Odoo 18's
``stock`` needs ``portal`` (through ``digest``): that one is Odoo's, not ours.

Exit status 0 when the install is as small as that, 1 otherwise, 2 without
Odoo/PostgreSQL."""

import ast
import os
import sys
import time

import odoo_env as oe

ADDONS = ("shipment_sync", "shipment_sync_wms")
#: What a warehouse-only install must never bring in.
FORBIDDEN = ("sale", "sale_stock", "sale_management", "delivery", "stock_delivery",
             "shipment_sync_portal", "account")
#: Odoo modules the two addons depend on directly.
ODOO_BASE = ("stock", "mail", "uom")


def odoo_closure(root, names):
    """``names``, every Odoo module they depend on (from the manifests) and
    the ``auto_install`` modules Odoo adds once their dependencies are in."""
    manifests = {}
    for base in (root / "odoo" / "addons", root / "addons"):
        for manifest in base.glob("*/__manifest__.py"):
            manifests.setdefault(manifest.parent.name, ast.literal_eval(manifest.read_text()))
    seen = set()

    def visit(name):
        if name in seen:
            return
        if name not in manifests:
            raise SystemExit(f"check-wms-only: no manifest of Odoo module {name}")
        seen.add(name)
        for dep in manifests[name].get("depends", []):
            visit(dep)

    for name in (*names, "base"):
        visit(name)
    grown = True
    while grown:
        grown = False
        for name, info in manifests.items():
            auto = info.get("auto_install")
            if name in seen or not auto or not info.get("installable", True):
                continue
            needs = info.get("depends", []) if auto is True else auto
            if set(needs) <= seen:
                visit(name)
                grown = True
    return seen


def main():
    root = oe.require_odoo_and_postgres("check-wms-only")
    oe.ensure_engine(root)
    db = f"shipsync_wmsonly_{os.getpid()}"
    started = time.time()
    oe.drop_db(db)
    try:
        oe.install_without_demo(root, db, ",".join(ADDONS))
        out = oe._psql("SELECT name FROM ir_module_module WHERE state = 'installed' "
                       "ORDER BY name", db=db)
        if out.returncode != 0:
            print(f"check-wms-only: {out.stderr.strip()}")
            return 1
        installed = set(out.stdout.split())
    finally:
        oe.drop_db(db)
    expected = odoo_closure(root, ODOO_BASE) | set(ADDONS)
    forbidden = sorted(installed & set(FORBIDDEN))
    extra = sorted(installed - expected)
    missing = sorted(set(ADDONS) - installed)
    print(f"check-wms-only: {len(installed)} modules installed by {' + '.join(ADDONS)} "
          f"({time.time() - started:.0f}s); sale/delivery modules: {forbidden or 'none'}; "
          f"beyond what stock, mail and uom need: {extra or 'none'}")
    if missing:
        print(f"check-wms-only: not installed: {missing}")
    return 1 if forbidden or extra or missing else 0


if __name__ == "__main__":
    sys.exit(main())
