"""`make bench-dashboard`: every KPI tile of shipment_sync_monitor on a large
data set (200,000 pickings, 1,000,000 events, 300,000 jobs by default; set
BENCH_PICKINGS / BENCH_EVENTS / BENCH_JOBS), timed beside a plain
``_read_group`` of the same figure (the tile's own click-through domain), in
the same run. Fails when a tile's median exceeds BENCH_BUDGET_MS (300).

The database (BENCH_DB, default shipsync_bench_dashboard) is created once and
kept; BENCH_FRESH=1 rebuilds it, BENCH_REGENERATE=1 only regenerates the data."""

import os
import statistics
import sys
import time

import odoo_env as oe

DB = os.environ.get("BENCH_DB", "shipsync_bench_dashboard")
PICKINGS = int(os.environ.get("BENCH_PICKINGS", 200_000))
EVENTS = int(os.environ.get("BENCH_EVENTS", 1_000_000))
JOBS = int(os.environ.get("BENCH_JOBS", 300_000))
BUDGET_MS = float(os.environ.get("BENCH_BUDGET_MS", 300))
RUNS = int(os.environ.get("BENCH_RUNS", 5))


def log(*args):
    print(*args, flush=True)


def ensure_db(root):
    if os.environ.get("BENCH_FRESH"):
        oe.drop_db(DB)
    if oe.db_exists(DB):
        return False
    log(f"==> installing shipment_sync_monitor in {DB} (once)")
    started = time.time()
    oe.install_without_demo(root, DB, "shipment_sync_monitor")
    log(f"    installed in {time.time() - started:.0f}s")
    return True


def vacuum():
    """VACUUM ANALYZE the big tables (outside a transaction), as autovacuum
    would after a bulk load: sets the visibility map the index-only scans need."""
    import psycopg2

    cnx = psycopg2.connect(dbname=DB, host=oe.DB_HOST, user=oe.DB_USER,
                           password=oe.DB_PASSWORD)
    cnx.autocommit = True
    with cnx.cursor() as cur:
        for table in ("stock_picking", "shipment_sync_event", "shipment_sync_job",
                      "shipment_sync_job_attempt", "shipment_sync_exception"):
            cur.execute(f"VACUUM ANALYZE {table}")
    cnx.close()


def timed(func, runs=RUNS):
    times = []
    result = None
    for _ in range(runs):
        started = time.perf_counter()
        result = func()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times), result


def main():
    root = oe.require_odoo_and_postgres("bench-dashboard")
    fresh = ensure_db(root)
    registry = oe.open_registry(root, DB)
    import odoo

    from odoo.addons.shipment_sync_monitor.models.monitor_indexes import create_indexes
    from odoo.addons.shipment_sync_monitor.models.shipment_sync_dashboard import TILES
    from odoo.addons.shipment_sync_monitor.scripts.generate_data import generate

    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        cr.execute("SELECT count(*) FROM stock_picking WHERE name LIKE 'BENCH/%%'")
        have = cr.fetchone()[0]
        if fresh or have != PICKINGS or os.environ.get("BENCH_REGENERATE"):
            log(f"==> generating {PICKINGS} pickings, {EVENTS} events, {JOBS} jobs")
            started = time.time()
            generate(env, pickings=PICKINGS, events=EVENTS, jobs=JOBS, log=log)
            cr.commit()  # the benchmark's own database: keep the data set for the next run
            log(f"    generated in {time.time() - started:.0f}s")
        # The indexes the tiles need (created on install / update of the addon).
        create_indexes(cr)
        cr.commit()
        vacuum()
        cr.execute("SELECT (SELECT count(*) FROM stock_picking), "
                   "(SELECT count(*) FROM shipment_sync_event), "
                   "(SELECT count(*) FROM shipment_sync_job), "
                   "(SELECT count(*) FROM shipment_sync_job_attempt)")
        counts = cr.fetchone()
        log(f"==> data: {counts[0]} pickings, {counts[1]} events, {counts[2]} jobs, "
            f"{counts[3]} attempts")
        Dash = env["shipment.sync.dashboard"]
        filters = {"period": os.environ.get("BENCH_PERIOD", "7d")}
        log(f"==> tiles (period {filters['period']}, median of {RUNS} runs, ms)")
        log(f"{'tile':<22} {'tile p50':>9} {'tile max':>9} {'read_group p50':>15} "
            f"{'read_group max':>15}  value")
        over = []
        total = 0.0
        for key, _method in TILES:
            med, worst, tile = timed(lambda k=key: Dash.get_tile(k, filters))
            rg_med, rg_worst, _rg = timed(lambda k=key: Dash._bench_read_group(k, filters))
            total += med
            value = tile.get("value")
            shown = f"{value:.2f}" if isinstance(value, float) else str(value)
            log(f"{key:<22} {med:>9.1f} {worst:>9.1f} {rg_med:>15.1f} {rg_worst:>15.1f}  {shown}")
            if med > BUDGET_MS:
                over.append(key)
        med, worst, _tiles = timed(lambda: Dash.get_tiles(filters))
        log(f"{'all tiles (one call)':<22} {med:>9.1f} {worst:>9.1f}")
        cr.rollback()
    if over:
        log(f"FAIL: over {BUDGET_MS:.0f} ms: {', '.join(over)}")
        return 1
    log(f"OK: every tile under {BUDGET_MS:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
