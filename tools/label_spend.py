"""`make label-spend`: an asynchronous EasyPost booking whose buy answer is lost pays for
one label, its attempts worked by outbox workers in fresh Odoo processes.

A real database (``LABEL_SPEND_DB``, default ``shipsync_label_spend``; created with
shipment_sync_carrier and no demo data when missing, updated to this checkout
otherwise, ``--fresh`` starts over) and the carrier sandbox on loopback (its EasyPost
slice, driven by EasyPost's official SDK in the contract tests):

1. this process validates a delivery order of an asynchronous EasyPost delivery method
   and commits: one ``create_shipment`` job;
2. attempt 1, a fresh Odoo process, works the outbox: the sandbox applies the buy and
   drops its answer, then answers 503 to the read-back (``drop_after_buy``,
   ``fail_after_drop``); the job is left to retry, the paid-label journal row committed
   by the call thread says ``buying``;
3. attempt 2, another fresh process, works the outbox an hour later: the job reads the
   shipment back and uses its label.

Checked: one shipment created and one purchase at the sandbox (counted there), the job
done, the transfer's tracking number the purchased one, the journal row linked to it.
Prints one line per check; exits 1 on any failure.
"""

import argparse
import json
import os
import subprocess
import sys
import time
import uuid

import odoo_env as oe

REPO = oe.REPO
sys.path.insert(0, str(REPO))

from shipsync.sandbox.carrier import CarrierSandbox  # noqa: E402

MODULE = "shipment_sync_carrier"

#: One outbox attempt in a fresh Odoo process (argv: odoo root, database, hours ahead).
WORKER = r"""
import json, sys
from datetime import timedelta
from pathlib import Path
sys.path.insert(0, "tools")
import odoo_env as oe
registry = oe.open_registry(Path(sys.argv[1]), sys.argv[2])
import odoo
from odoo.addons.shipment_sync.models.shipment_sync_job import utcnow
with registry.cursor() as cr:
    env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
    stats = env["shipment.sync.job"]._outbox_work(
        channels=("high",), now=utcnow() + timedelta(hours=float(sys.argv[3])),
        idle_wait=0, time_budget=60)
print(json.dumps({"calls": stats["calls"]}))
"""


def log(*args):
    print(*args, flush=True)


def ensure_db(root, db, fresh, update):
    if fresh:
        oe.drop_db(db)
    exists = oe.db_exists(db)
    if exists and not update:
        return
    mode = "-u" if exists else "-i"
    log(f"==> {'updating' if exists else 'installing'} {MODULE} in {db}")
    started = time.time()
    subprocess.run([*oe.odoo_bin(root), *oe.db_args(db), f"--addons-path={oe.addons_path(root)}",
                    mode, MODULE, "--without-demo=all", "--stop-after-init", "--workers=0",
                    "--max-cron-threads=0", "--log-level=warn", f"--http-port={oe.free_port()}"],
                   cwd=REPO, env=oe.env_with_repo(), check=True)
    log(f"    done in {time.time() - started:.0f}s")


class Odoo:
    """The ORM of the database, in this process (setup and checks; each block commits)."""

    def __init__(self, root, db):
        self.registry = oe.open_registry(root, db)
        import odoo

        self.odoo = odoo

    def run(self, func):
        with self.registry.cursor() as cr:
            env = self.odoo.api.Environment(cr, self.odoo.SUPERUSER_ID, {})
            result = func(env)
            cr.commit()
        return result


def setup(env, sandbox_url):
    """An async EasyPost delivery method on the sandbox, and a validated delivery order."""
    tag = uuid.uuid4().hex[:6]
    us = env.ref("base.us")
    env.company.partner_id.write({"street": "1 Warehouse Way", "city": "San Francisco",
                                  "zip": "94105", "country_id": us.id,
                                  "state_id": env.ref("base.state_us_5").id})
    partner = env["shipment.sync.partner"].create({
        "name": f"Label spend {tag}", "code": f"label-spend-{tag}", "kind": "aggregator",
        "inbound_format": "easypost", "signature_scheme": "easypost",
        "webhook_secret": "label-spend-secret", "outbox_connect_timeout": 2.0,
        "outbox_read_timeout": 5.0, "outbox_retry_max_attempts": 3,
        "outbox_retry_base": 1.0})
    carrier = env["delivery.carrier"].create({
        "name": f"Label spend {tag}", "delivery_type": "shipsync", "shipsync_mode": "async",
        "product_id": env["product.product"].create(
            {"name": f"Shipping {tag}", "type": "service"}).id,
        "shipsync_partner_id": partner.id, "shipsync_adapter": "easypost",
        "shipsync_base_url": sandbox_url, "shipsync_api_key": "EZTK_label_spend"})
    product = env["product.product"].create({"name": f"Widget {tag}", "is_storable": True,
                                             "weight": 0.3})
    stock = env.ref("stock.stock_location_stock")
    env["stock.quant"]._update_available_quantity(product, stock, 10)
    customer = env["res.partner"].create({"name": "Ada Customer", "street": "2 Side St",
                                          "city": "Los Angeles", "zip": "90001",
                                          "country_id": us.id})
    picking_type = env.ref("stock.picking_type_out")
    customers = env.ref("stock.stock_location_customers")
    picking = env["stock.picking"].create({
        "picking_type_id": picking_type.id, "partner_id": customer.id,
        "location_id": picking_type.default_location_src_id.id,
        "location_dest_id": customers.id, "carrier_id": carrier.id,
        "move_ids": [(0, 0, {"name": product.name, "product_id": product.id,
                             "product_uom_qty": 1, "product_uom": product.uom_id.id,
                             "location_id": picking_type.default_location_src_id.id,
                             "location_dest_id": customers.id})]})
    picking.action_confirm()
    picking.action_assign()
    picking.move_ids.picked = True
    assert picking.button_validate() is True
    # Only this scenario's job may be worked: park any other pending one.
    env["shipment.sync.job"].search([("state", "=", "pending"),
                                     ("picking_id", "!=", picking.id)]).write(
        {"next_attempt_at": "2999-01-01 00:00:00"})
    return picking.id, carrier.id


def state(env, picking_id, carrier_id):
    picking = env["stock.picking"].browse(picking_id)
    job = picking.shipment_job_ids.filtered(lambda j: j.operation == "create_shipment")
    label = env["shipment.sync.label"].search([("carrier_id", "=", carrier_id)])
    return {"job": job.state, "tracking": picking.carrier_tracking_ref or "",
            "labels": [(lbl.shipment_ref, lbl.state, lbl.picking_id.id) for lbl in label]}


def attempt(root, db, hours):
    done = subprocess.run([sys.executable, "-c", WORKER, str(root), db, str(hours)],
                          cwd=REPO, env=oe.env_with_repo(), capture_output=True, text=True,
                          check=False, timeout=300)
    if done.returncode:
        sys.stderr.write(done.stderr[-3000:])
        raise SystemExit(f"the worker process failed ({done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fresh", action="store_true", help="drop the database first")
    parser.add_argument("--no-update", action="store_true",
                        help="use an existing database as it is")
    args = parser.parse_args()
    root = oe.require_odoo_and_postgres("label-spend")
    oe.ensure_engine()
    db = os.environ.get("LABEL_SPEND_DB", "shipsync_label_spend")
    ensure_db(root, db, args.fresh, not args.no_update)
    sandbox = CarrierSandbox().start()
    failures = []

    def check(name, ok, detail=""):
        log(f"{'ok  ' if ok else 'FAIL'} {name}" + (f": {detail}" if detail else ""))
        if not ok:
            failures.append(name)

    try:
        orm = Odoo(root, db)
        picking_id, carrier_id = orm.run(lambda env: setup(env, sandbox.url))
        sandbox.configure(drop_after_buy=1, fail_after_drop=1)

        first = attempt(root, db, 0)
        after_first = orm.run(lambda env: state(env, picking_id, carrier_id))
        bought = [s for s in sandbox.shipments.values() if s.get("tracking_code")]
        log(f"attempt 1 (pid of its own): {first['calls']} call(s), {after_first}")
        check("attempt 1: the buy was applied once", len(bought) == 1, f"{len(bought)}")
        check("attempt 1: the job waits for a retry", after_first["job"] == "pending",
              after_first["job"])
        check("attempt 1: the journal row says the buy was sent",
              [lbl[1] for lbl in after_first["labels"]] == ["buying"],
              str(after_first["labels"]))

        second = attempt(root, db, 2)
        after = orm.run(lambda env: state(env, picking_id, carrier_id))
        log(f"attempt 2 (another process): {second['calls']} call(s), {after}")
        bought = [s for s in sandbox.shipments.values() if s.get("tracking_code")]
        creates = [c for c in sandbox.calls if (c["method"], c["path"]) == ("POST",
                                                                              "/v2/shipments")]
        buys = [c for c in sandbox.calls if c["path"].endswith("/buy")]
        check("one purchase at the partner", len(bought) == 1 and len(buys) == 1,
              f"{len(bought)} purchased, {len(buys)} buy call(s)")
        check("one shipment created", len(creates) == 1 and len(sandbox.shipments) == 1,
              f"{len(creates)} create call(s)")
        check("the job is done", after["job"] == "done", after["job"])
        check("the transfer has the purchased label",
              bool(bought) and after["tracking"] == bought[0]["tracking_code"],
              after["tracking"])
        check("the journal row is on the transfer",
              after["labels"] == [(bought[0]["id"], "linked", picking_id)] if bought else False,
              str(after["labels"]))
    finally:
        sandbox.stop()
    log(f"label-spend: {'FAILED ' + ', '.join(failures) if failures else 'one label paid'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
