"""`make bench-wms`: apply N ship confirmations of 10 lines each (lots on half of
the lines, two packages with tracking numbers) through the WMS path — ledger
ingest, atomic plan, done quantities / lots / packages, validation, milestone —
beside validating N identical transfers through the plain Odoo path (quantities
set, `button_validate`) in the same run and database.

Each confirmation, like each plain validation, is its own transaction (one
webhook request = one commit); the two paths run interleaved (a confirmation,
a validation, each first every other time), so that both see the same load
and the same table sizes. Printed: confirmations/s and queries per
confirmation of both paths and their ratio. BENCH_N (default 2000),
BENCH_DB (default shipsync_bench_wms)."""

import json
import os
import subprocess
import sys

import odoo_env as oe

DB = os.environ.get("BENCH_DB", "shipsync_bench_wms")
N = int(os.environ.get("BENCH_N", "2000"))
LINES = 10

SCRIPT = r"""
import json, time, uuid
from datetime import datetime, timezone
from decimal import Decimal
from shipsync.wms.apply import confirmation_events
from shipsync.wms.messages import Confirmation, ConfirmedLine, ConfirmedPackage

N, LINES = %(n)d, %(lines)d
run = uuid.uuid4().hex[:6]
P = env["shipment.sync.partner"].sudo()
partner = P.create({
    "name": "Bench WMS " + run, "code": "bench-wms-" + run, "kind": "wms",
    "inbound_format": "wms", "webhook_secret": "whsec_YmVuY2g=", "processing_mode": "inline",
    "rate_limit_per_minute": 0})
wh = env["stock.warehouse"].create({"name": "Bench WH " + run, "code": "B" + run[:4],
                                    "wms_partner_id": partner.id})
ptype = wh.out_type_id
ptype.create_backorder = "never"
stock, customers = wh.lot_stock_id, env.ref("stock.stock_location_customers")
products, lots = [], {}
for i in range(LINES):
    tracked = i %% 2 == 1
    product = env["product.product"].create({
        "name": f"Bench {run} {i}", "default_code": f"B{run}-{i}", "is_storable": True,
        "tracking": "lot" if tracked else "none"})
    products.append(product)
    if tracked:
        lots[product.id] = env["stock.lot"].create({"name": f"LOT-{run}-{i}",
                                                   "product_id": product.id})
Quant = env["stock.quant"]
for product in products:
    Quant._update_available_quantity(product, stock, 10 * N * 3, lot_id=lots.get(product.id))
env.cr.commit()

def make_pickings(count):
    pickings = env["stock.picking"].create([{
        "picking_type_id": ptype.id, "location_id": stock.id,
        "location_dest_id": customers.id, "origin": "bench-" + run,
        "move_ids": [(0, 0, {"name": p.name, "product_id": p.id, "product_uom_qty": 2,
                             "product_uom": p.uom_id.id, "location_id": stock.id,
                             "location_dest_id": customers.id}) for p in products],
    } for _i in range(count)])
    pickings.action_confirm()
    env.cr.commit()
    return pickings

t = time.time()
wms_pickings = make_pickings(N)
plain_pickings = make_pickings(N)
setup_s = time.time() - t

def confirmation(picking, k):
    lines = []
    for i, move in enumerate(picking.move_ids.sorted("id")):
        product = move.product_id
        lot = lots.get(product.id)
        lines.append(ConfirmedLine(str(move.id), product.default_code, Decimal(2),
                                   ((lot.name, Decimal(2)),) if lot else (),
                                   f"PK{k}-{i %% 2}"))
    packages = tuple(ConfirmedPackage(f"PK{k}-{j}", f"1ZBENCH{k:06d}{j}", "UPS")
                     for j in range(2))
    return Confirmation(f"bench-{run}-{k}", "ship_confirmed", picking.name,
                        picking.shipment_correlation_id, datetime.now(timezone.utc),
                        tuple(lines), packages)

Event = env["shipment.sync.event"].sudo()
confs = [confirmation(p, k) for k, p in enumerate(wms_pickings)]
env.cr.commit()
env.invalidate_all()

def confirm(conf):
    events = confirmation_events(conf)
    new, _dups = Event._ingest(partner, events, body=json.dumps(conf.to_dict()).encode())
    new._apply_now()
    env.cr.commit()

def validate(picking):
    for move in picking.move_ids:
        move.quantity = move.product_uom_qty
        move.picked = True
    picking.with_context(skip_backorder=True, picking_ids_not_to_backorder=picking.ids)\
        .button_validate()
    env.cr.commit()

# Interleaved, each path first every other time: both see the same load on a
# shared machine and the same table sizes.
spent = {confirm: [0.0, 0], validate: [0.0, 0]}
for k, (conf, picking) in enumerate(zip(confs, plain_pickings)):
    pair = ((confirm, conf), (validate, picking))
    for run_one, arg in (pair if k %% 2 == 0 else pair[::-1]):
        q0, t0 = env.cr.sql_log_count, time.perf_counter()
        run_one(arg)
        spent[run_one][0] += time.perf_counter() - t0
        spent[run_one][1] += env.cr.sql_log_count - q0
(wms_s, wms_q), (plain_s, plain_q) = spent[confirm], spent[validate]
applied = env["shipment.sync.wms.confirmation"].search_count(
    [("partner_id", "=", partner.id), ("state", "=", "applied")])
done = env["stock.picking"].search_count([("id", "in", wms_pickings.ids), ("state", "=", "done")])
plain_done = env["stock.picking"].search_count(
    [("id", "in", plain_pickings.ids), ("state", "=", "done")])
print("BENCH " + json.dumps({
    "n": N, "lines": LINES, "setup_s": setup_s, "wms_s": wms_s, "wms_queries": wms_q,
    "wms_applied": applied, "wms_done": done, "plain_s": plain_s, "plain_queries": plain_q,
    "plain_done": plain_done}))
"""


def main():
    root = oe.require_odoo_and_postgres("make bench-wms")
    base = [*oe.db_args(DB), f"--addons-path={oe.addons_path(root)}"]
    env = oe.env_with_repo()
    mode = "-u" if oe.db_exists(DB) else "-i"
    # A kept database is updated from the core up (its new models first; Odoo then
    # updates the addons that depend on it, this one among them).
    modules = "shipment_sync" if mode == "-u" else "shipment_sync_wms"
    print(f"==> {DB}: {mode} {modules} (without demo)", flush=True)
    subprocess.run([*oe.odoo_bin(root), *base, mode, modules, "--without-demo=all",
                    "--stop-after-init", "--http-port", str(oe.free_port()),
                    "--log-level=warn"], env=env, check=True)
    print(f"==> {N} ship confirmations of {LINES} lines vs {N} plain validations", flush=True)
    load_start = round(os.getloadavg()[0], 2)
    shell = subprocess.run(
        [*oe.odoo_bin(root), "shell", *base, "--log-level=warn", "--no-http"],
        input=SCRIPT % {"n": N, "lines": LINES}, env=env, capture_output=True, text=True,
        check=False)
    line = next((x for x in shell.stdout.splitlines() if x.startswith("BENCH ")), None)
    if not line:
        sys.stderr.write(shell.stdout[-3000:] + shell.stderr[-5000:])
        return 1
    r = json.loads(line[6:])
    load_end = round(os.getloadavg()[0], 2)
    wms_rate, plain_rate = r["n"] / r["wms_s"], r["n"] / r["plain_s"]
    print(f"setup ({2 * r['n']} transfers of {r['lines']} lines): {r['setup_s']:.1f} s")
    print(f"WMS ship confirmations : {wms_rate:8.1f} conf/s  "
          f"{r['wms_queries'] / r['n']:7.1f} queries/conf  "
          f"({r['wms_applied']} applied, {r['wms_done']} transfers done)")
    print(f"plain button_validate  : {plain_rate:8.1f} val/s   "
          f"{r['plain_queries'] / r['n']:7.1f} queries/val   ({r['plain_done']} done)")
    ratio, query_ratio = wms_rate / plain_rate, r["wms_queries"] / max(r["plain_queries"], 1)
    ok = r["wms_applied"] == r["n"] == r["wms_done"] == r["plain_done"]
    out = oe.REPO / ".bench" / "wms.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({**r, "wms_per_s": wms_rate, "plain_per_s": plain_rate,
                               "throughput_ratio": ratio, "query_ratio": query_ratio,
                               "load_average_1min": [load_start, load_end], "ok": ok},
                              indent=2) + "\n")
    print(f"ratio WMS / plain      : {ratio:8.2f} x throughput, {query_ratio:.2f} x queries  "
          f"(load average {load_start} -> {load_end}; {out.relative_to(oe.REPO)})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
