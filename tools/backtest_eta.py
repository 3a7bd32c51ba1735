"""`make backtest-eta`: how good are the ETA predictions of
shipment_sync_monitor on a database's own history?

    python3 tools/backtest_eta.py [-d DB] [--generate N] [--seed S]
                                  [--min-samples K] [--prefix L]

Reads every delivered outgoing shipment of the database (hand-over: the
ledger's applied handed_over event, else the validation date; delivery: the
delivered milestone's date) and replays the history with
``shipsync.eta.backtest``: each shipment, in hand-over order, is predicted
from the shipments delivered *before its hand-over* only. Printed side by
side, from the same run: the lane model (median of the most specific lane
level with K deliveries) and the naive baseline "the carrier's average
transit time", each with its mean absolute error in hours, the share of
shipments delivered no later than its p90, and coverage; then the MAE ratio.

Database: ``-d`` (default ``shipsync_demo``, the ``make demo`` database,
which holds 400 synthetic deliveries in its demo data). ``--generate N``
first builds a *fresh* database (``-d``, default ``shipsync_backtest_eta``:
dropped and re-created with shipment_sync_monitor, without demo data) and
writes N synthetic delivered shipments into it
(``shipsync.eta.synthetic_history``: three carriers with speed factors 0.6 /
1.0 / 1.5 times ten destinations whose base transit runs from 18 h to 140 h,
log-normal noise, no Sunday deliveries, hand-overs spread over 180 days).
The demo database is never dropped. Exit status 0, or 1 when there was
nothing to predict."""

import argparse
import os
import sys
import time

import odoo_env as oe

DEMO_DB = os.environ.get("DEMO_DB", "shipsync_demo")
GENERATED_DB = "shipsync_backtest_eta"


def log(*args):
    print(*args, flush=True)


def create_fresh_db(root, db):
    if db == DEMO_DB:
        log(f"refusing to drop the demo database {db}: pass another -d with --generate")
        sys.exit(2)
    oe.drop_db(db)
    log(f"==> creating {db} with shipment_sync_monitor (no demo data)")
    started = time.time()
    oe.install_without_demo(root, db, "shipment_sync_monitor")
    log(f"    created in {time.time() - started:.0f}s")


def pct(value):
    return "-" if value is None else f"{100 * value:.1f}%"


def hours(value):
    return "-" if value is None else f"{value:.1f}"


def report(result, count):
    rows = (("lane model (p50 of the lane)", result.model),
            ("carrier average (baseline)", result.baseline))
    log(f"{'predictor':<30} {'predicted':>9} {'coverage':>9} {'MAE (h)':>8} "
        f"{'within p90':>11}")
    for name, score in rows:
        log(f"{name:<30} {score.count:>9} {pct(score.coverage):>9} "
            f"{hours(score.mae_hours):>8} {pct(score.within_p90):>11}")
    ratio = result.mae_ratio
    log(f"MAE ratio lane model / baseline: {'-' if ratio is None else f'{ratio:.2f}'} "
        f"({count} delivered shipments)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-d", "--database", help=f"default {DEMO_DB}, or {GENERATED_DB} "
                        "with --generate")
    parser.add_argument("--generate", type=int, metavar="N",
                        help="first write N synthetic deliveries into a fresh database")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--min-samples", type=int, default=None,
                        help="deliveries a lane level needs (default: the database's setting)")
    parser.add_argument("--prefix", type=int, default=None,
                        help="postcode prefix length (default: the database's setting)")
    args = parser.parse_args(argv)
    db = args.database or (GENERATED_DB if args.generate else DEMO_DB)
    root = oe.require_odoo_and_postgres("backtest-eta")
    if args.generate:
        create_fresh_db(root, db)
    elif not oe.db_exists(db):
        log(f"database {db} does not exist (run `make demo` once, or use --generate N)")
        return 2
    registry = oe.open_registry(root, db)
    import odoo
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        Lane = env["shipment.sync.lane"]
        if args.generate:
            started = time.time()
            Lane._eta_generate_history(args.generate, seed=args.seed)
            cr.commit()  # the generated database exists for this history: keep it
            log(f"==> wrote {args.generate} synthetic deliveries in "
                f"{time.time() - started:.1f}s")
        started = time.time()
        history = Lane._eta_history()
        min_default, prefix_default = Lane._eta_params()
        from shipsync import eta

        min_samples = args.min_samples or min_default
        prefix = prefix_default if args.prefix is None else args.prefix
        result = eta.backtest(history, min_samples=min_samples, prefix_length=prefix)
        log(f"==> backtest on {db}: {len(history)} delivered shipments, lanes need "
            f"{min_samples} deliveries, postcode prefix {prefix} "
            f"({time.time() - started:.1f}s)")
        report(result, len(history))
        cr.rollback()
    return 0 if result.model.count else 1


if __name__ == "__main__":
    sys.exit(main())
