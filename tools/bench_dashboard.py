"""`make bench-dashboard`: every KPI tile of shipment_sync_monitor on a large
data set (200,000 pickings, 1,000,000 events, 300,000 jobs by default; set
BENCH_PICKINGS / BENCH_EVENTS / BENCH_JOBS), timed beside a plain
``_read_group`` of the same figure (the tile's own click-through domain), in
the same run. Fails when a tile's median exceeds BENCH_BUDGET_MS (300).

The database (BENCH_DB, default shipsync_bench_dashboard) is created once and
kept; BENCH_FRESH=1 rebuilds it, BENCH_REGENERATE=1 only regenerates the data.

``SCALE=10`` (``--scale 10``): the same tiles on the 1x data set and on one ten
times larger (2,000,000 pickings, 10,000,000 events, 3,000,000 jobs, in the
database BENCH_DB_x10, bulk-loaded with the secondary indexes rebuilt after the
load), in the same run; prints how each tile's time grows from 1x to 10x. The
large database is dropped afterwards unless BENCH_KEEP=1. Results are written to
``.bench/dashboard.json`` (``.bench/dashboard-x10.json`` with a scale)."""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import odoo_env as oe

DB = os.environ.get("BENCH_DB", "shipsync_bench_dashboard")
PICKINGS = int(os.environ.get("BENCH_PICKINGS", 200_000))
EVENTS = int(os.environ.get("BENCH_EVENTS", 1_000_000))
JOBS = int(os.environ.get("BENCH_JOBS", 300_000))
BUDGET_MS = float(os.environ.get("BENCH_BUDGET_MS", 300))
RUNS = int(os.environ.get("BENCH_RUNS", 5))


def log(*args):
    print(*args, flush=True)


def ensure_db(root, db=DB):
    if os.environ.get("BENCH_FRESH"):
        oe.drop_db(db)
    if oe.db_exists(db):
        # A database kept from an older tree gets the code's schema (new tables,
        # indexes, migrations) before anything is measured.
        updated = oe.update_outdated(root, db, ["shipment_sync", "shipment_sync_monitor"])
        if updated:
            log(f"==> {db}: updated {', '.join(updated)}")
        return False
    log(f"==> installing shipment_sync_monitor in {db} (once)")
    started = time.time()
    oe.install_without_demo(root, db, "shipment_sync_monitor")
    log(f"    installed in {time.time() - started:.0f}s")
    return True


def vacuum(db=DB):
    """VACUUM ANALYZE the big tables (outside a transaction), as autovacuum
    would after a bulk load: sets the visibility map the index-only scans need."""
    oe.vacuum_analyze(db, ("stock_picking", "shipment_sync_event", "shipment_sync_job",
                           "shipment_sync_job_attempt", "shipment_sync_exception"))


def timed(func, runs=RUNS):
    times = []
    result = None
    for _ in range(runs):
        started = time.perf_counter()
        result = func()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times), result


def measure(root, db, pickings, events, jobs, bulk=False):
    """Generate the data set in ``db`` when it is not there, then time every
    tile: ``{tile: {"tile_ms", "tile_max_ms", "read_group_ms", ...}}``."""
    fresh = ensure_db(root, db)
    registry = oe.open_registry(root, db)
    import odoo

    from odoo.addons.shipment_sync_monitor.models.monitor_indexes import create_indexes
    from odoo.addons.shipment_sync_monitor.models.shipment_sync_dashboard import TILES
    from odoo.addons.shipment_sync_monitor.scripts.generate_data import (
        add_label_events,
        generate,
    )

    results = {}
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        cr.execute("SELECT count(*) FROM stock_picking WHERE name LIKE 'BENCH/%%'")
        have = cr.fetchone()[0]
        if fresh or have != pickings or os.environ.get("BENCH_REGENERATE"):
            log(f"==> {db}: generating {pickings} pickings, {events} events, {jobs} jobs")
            started = time.time()
            generate(env, pickings=pickings, events=events, jobs=jobs, log=log, bulk=bulk)
            cr.commit()  # the benchmark's own database: keep the data set for the next run
            log(f"    generated in {time.time() - started:.0f}s")
        # A data set generated before it had Odoo's label_created events gets them.
        if add_label_events(env, log=log):
            cr.commit()
        # The indexes the tiles need (created on install / update of the addon).
        create_indexes(cr)
        cr.commit()
        vacuum(db)
        # The dashboard's hourly rollups, as the roll-up cron keeps them.
        Hour = env["shipment.sync.kpi.hour"]
        cr.execute("DELETE FROM shipment_sync_kpi_hour")
        cr.execute("DELETE FROM ir_config_parameter WHERE key LIKE %s",
                   ("shipment_sync_monitor.kpi_hour_%",))
        started = time.time()
        while Hour._cron_roll_up():
            cr.commit()
        cr.commit()
        log(f"    hourly rollups (92 days) built in {time.time() - started:.0f}s")
        cr.execute("SELECT (SELECT count(*) FROM stock_picking), "
                   "(SELECT count(*) FROM shipment_sync_event), "
                   "(SELECT count(*) FROM shipment_sync_job), "
                   "(SELECT count(*) FROM shipment_sync_job_attempt)")
        counts = cr.fetchone()
        log(f"==> data: {counts[0]} pickings, {counts[1]} events, {counts[2]} jobs, "
            f"{counts[3]} attempts")
        Dash = env["shipment.sync.dashboard"]
        filters = {"period": os.environ.get("BENCH_PERIOD", "7d")}
        log(f"==> tiles (period {filters['period']}, median of {RUNS} runs, ms, "
            f"load average {os.getloadavg()[0]:.2f})")
        log(f"{'tile':<22} {'tile p50':>9} {'tile max':>9} {'read_group p50':>15} "
            f"{'read_group max':>15}  value")
        for key, _method in TILES:
            med, worst, tile = timed(lambda k=key: Dash.get_tile(k, filters))
            rg_med, rg_worst, _rg = timed(lambda k=key: Dash._bench_read_group(k, filters))
            value = tile.get("value")
            shown = f"{value:.2f}" if isinstance(value, float) else str(value)
            log(f"{key:<22} {med:>9.1f} {worst:>9.1f} {rg_med:>15.1f} {rg_worst:>15.1f}  {shown}")
            results[key] = {"tile_ms": round(med, 1), "tile_max_ms": round(worst, 1),
                            "read_group_ms": round(rg_med, 1),
                            "read_group_max_ms": round(rg_worst, 1)}
        med, worst, _tiles = timed(lambda: Dash.get_tiles(filters))
        log(f"{'all tiles (one call)':<22} {med:>9.1f} {worst:>9.1f}")
        results["all tiles (one call)"] = {"tile_ms": round(med, 1), "tile_max_ms": round(worst, 1)}
        cr.rollback()
    return {"db": db, "pickings": counts[0], "events": counts[1], "jobs": counts[2],
            "tiles": results}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=int(os.environ.get("SCALE") or 1),
                        help="also measure a data set this many times larger (growth from 1x)")
    args = parser.parse_args()
    root = oe.require_odoo_and_postgres("bench-dashboard")
    load_start = round(os.getloadavg()[0], 2)
    runs = [measure(root, DB, PICKINGS, EVENTS, JOBS,
                    bulk=bool(os.environ.get("BENCH_BULK")))]
    big_db = f"{DB}_x{args.scale}"
    if args.scale > 1:
        # A fresh process: the 1x registry and its caches are not shared.
        try:
            done = subprocess.run(
                [sys.executable, __file__, "--scale", "1"], check=False,
                env=dict(os.environ, BENCH_DB=big_db, SCALE="1",
                         BENCH_PICKINGS=str(PICKINGS * args.scale),
                         BENCH_EVENTS=str(EVENTS * args.scale),
                         BENCH_JOBS=str(JOBS * args.scale), BENCH_BULK="1",
                         BENCH_JSON=str(oe.REPO / ".bench" / "dashboard-big.json")))
            if done.returncode not in (0, 1):
                return done.returncode
            runs.append(json.loads((oe.REPO / ".bench" / "dashboard-big.json").read_text()))
        finally:
            if not os.environ.get("BENCH_KEEP"):
                log(f"==> dropping {big_db}")
                oe.drop_db(big_db)
    load_end = round(os.getloadavg()[0], 2)
    over = sorted({key for run in runs for key, r in run["tiles"].items()
                   if key != "all tiles (one call)" and r["tile_ms"] > BUDGET_MS})
    result = {"scale": args.scale, "budget_ms": BUDGET_MS, "runs": runs,
              "load_average_1min": [load_start, load_end]}
    out = Path(os.environ.get("BENCH_JSON") or oe.REPO / ".bench" / (
        f"dashboard-x{args.scale}.json" if args.scale > 1 else "dashboard.json"))
    out.parent.mkdir(exist_ok=True)
    if len(runs) == 1:
        out.write_text(json.dumps(runs[0] if os.environ.get("BENCH_JSON") else result,
                                  indent=2))
    else:
        small, big = runs
        log(f"==> growth 1x -> {args.scale}x ({small['events']} -> {big['events']} events; "
            f"load average {load_start} -> {load_end})")
        log(f"{'tile':<22} {'1x p50':>9} {f'{args.scale}x p50':>9} {'growth':>8}")
        growth = {}
        for key, r in small["tiles"].items():
            b = big["tiles"].get(key)
            if not b:
                continue
            growth[key] = round(b["tile_ms"] / max(r["tile_ms"], 0.1), 2)
            log(f"{key:<22} {r['tile_ms']:>9.1f} {b['tile_ms']:>9.1f} {growth[key]:>7.2f}x")
        result["growth"] = growth
        out.write_text(json.dumps(result, indent=2))
    slowest = max((r["tile_ms"], key) for run in runs for key, r in run["tiles"].items()
                  if key != "all tiles (one call)")
    verdict = f"FAIL: over {BUDGET_MS:.0f} ms: {', '.join(over)}" if over else \
        f"OK: every tile under {BUDGET_MS:.0f} ms"
    log(f"bench-dashboard x{args.scale} (load average {load_start} -> {load_end}): slowest tile "
        f"{slowest[1]} {slowest[0]:.1f} ms at {runs[-1]['events']} events"
        + (f", growth 1x->{args.scale}x max {max(result['growth'].values()):.2f}x"
           if args.scale > 1 else "") + f"; {verdict}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
