"""Generate a large Shipment Sync data set for the dashboard benchmark:
200,000 pickings, 1,000,000 ledger events, 300,000 outbox jobs (with their
attempts) and the workbench cards of the open exceptions, with SQL bulk
inserts (``INSERT ... SELECT generate_series``), in a few minutes.

Usage, on a database where ``shipment_sync_monitor`` is installed::

    python3 -m odoo.addons.shipment_sync_monitor.scripts.generate_data \\
        --database DB [--pickings N] [--events N] [--jobs N] [odoo options]

or from Python with an environment: ``generate(env, pickings=..., ...)``.
Rows are tagged (``BENCH/`` names, ``bench-`` keys) and ``generate`` deletes
a previous run's rows first."""

import argparse
import time

MILESTONES = ("draft", "released", "picked", "packed", "label_created", "handed_over",
              "picked_up", "in_transit", "out_for_delivery", "delivered", "delivered",
              "delivered", "delivered", "returned", "cancelled")
EVENT_STATES = ("applied",) * 17 + ("duplicate", "stale", "unmapped")
JOB_OPERATIONS = ("create_shipment", "create_shipment", "publish_event", "http_call")
JOB_STATES = ("done",) * 18 + ("dead", "pending")
REASONS = ("address_issue", "delay_carrier", "label_failed", "sync_failed", "wms_mismatch",
           "customs_hold", "sla_breach")
BENCH_PARTNERS = 6


def _array(values):
    return "ARRAY[" + ",".join(f"'{v}'" for v in values) + "]"


def _pick(values, expr):
    """SQL choosing one of ``values`` by the integer expression ``expr``."""
    return f"({_array(values)})[1 + (({expr}) %% {len(values)})]"


def clean(env):
    cr = env.cr
    cr.execute("DELETE FROM shipment_sync_exception WHERE picking_id IN "
               "(SELECT id FROM stock_picking WHERE name LIKE 'BENCH/%%')")
    cr.execute("DELETE FROM shipment_sync_job_attempt WHERE job_id IN "
               "(SELECT id FROM shipment_sync_job WHERE idempotency_key LIKE 'bench-%%')")
    cr.execute("DELETE FROM shipment_sync_job WHERE idempotency_key LIKE 'bench-%%'")
    cr.execute("DELETE FROM shipment_sync_event WHERE external_id LIKE 'bench-%%'")
    cr.execute("DELETE FROM shipment_sync_event WHERE external_id LIKE 'odoo-bench-%%'")
    cr.execute("DELETE FROM stock_picking WHERE name LIKE 'BENCH/%%'")


def _setup(env):
    company = env.ref("base.main_company")
    warehouse = env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1)
    Partner = env["shipment.sync.partner"].sudo()
    partners = Partner.browse()
    for i in range(BENCH_PARTNERS):
        code = f"bench-p{i}"
        partner = Partner.search([("code", "=", code), ("company_id", "=", company.id)])
        partners |= partner or Partner.create({
            "name": f"Bench partner {i}", "code": code, "company_id": company.id,
            "kind": "wms" if i == 0 else "carrier"})
    service = env["product.product"].search([("default_code", "=", "BENCH-SHIP")], limit=1) \
        or env["product.product"].create({"name": "Bench shipping", "type": "service",
                                          "default_code": "BENCH-SHIP"})
    Carrier = env["delivery.carrier"].sudo()
    carriers = Carrier.browse()
    for i in range(3):
        name = f"Bench lane {i}"
        carriers |= Carrier.search([("name", "=", name)], limit=1) or Carrier.create(
            {"name": name, "product_id": service.id})
    return company, warehouse, partners, carriers


#: The tables the data set fills; ``bulk`` rebuilds their secondary indexes.
BULK_TABLES = ("stock_picking", "shipment_sync_event", "shipment_sync_job",
               "shipment_sync_job_attempt", "shipment_sync_exception")


def _drop_secondary_indexes(cr):
    """Drop the non-unique indexes of ``BULK_TABLES`` (a bulk load maintains
    each index row by row; building it once afterwards is several times
    faster); returns their definitions for ``_restore_indexes``."""
    cr.execute("""
        SELECT i.indexname, i.indexdef FROM pg_indexes i
          JOIN pg_class c ON c.relname = i.indexname
          JOIN pg_index x ON x.indexrelid = c.oid
         WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s)
           AND NOT x.indisunique AND NOT x.indisprimary
    """, [list(BULK_TABLES)])
    indexes = cr.fetchall()
    from odoo.tools import SQL

    for name, _definition in indexes:
        cr.execute(SQL("DROP INDEX %s", SQL.identifier(name)))
    return indexes


def _restore_indexes(cr, indexes):
    for _name, definition in indexes:
        cr.execute(definition)


def add_label_events(env, log=print):
    """Odoo's own ``label_created`` event of every bench picking that got a label
    (a tracking reference), half an hour after the picking's date: what the
    creation success tile counts against the bookings that died. Inserted once
    (a database generated before them gets them here); returns how many."""
    cr = env.cr
    cr.execute("SELECT 1 FROM shipment_sync_event WHERE external_id LIKE 'odoo-bench-%%' "
               "LIMIT 1")
    if cr.fetchone():
        return 0
    started = time.time()
    cr.execute("""
        INSERT INTO shipment_sync_event (partner_code, company_id, direction, external_id,
            state, received_at, occurred_at, applied_at, picking_id, milestone, is_mapped,
            authoritative, resolves_exception, is_correction, create_uid, write_uid,
            create_date, write_date)
        SELECT 'odoo', company_id, 'internal', 'odoo-bench-' || id, 'applied', t, t, t, id,
            'label_created', true, true, false, false, 1, 1, t, t
        FROM (SELECT id, company_id, date + interval '30 minutes' AS t FROM stock_picking
              WHERE name LIKE 'BENCH/%%' AND carrier_tracking_ref IS NOT NULL) p
    """)
    count = cr.rowcount
    log(f"  {count} label_created events (Odoo's) in {time.time() - started:.1f}s")
    return count


def generate(env, pickings=200_000, events=1_000_000, jobs=300_000, now=None, log=print,
             bulk=False):
    """Insert the data set; returns the counts inserted. Commits nothing.
    ``bulk``: drop the secondary indexes of the tables first and build them
    again after the load (for the 10x data set: tens of millions of rows)."""
    from odoo import fields

    now = now or fields.Datetime.now()
    company, warehouse, partners, carriers = _setup(env)
    env.flush_all()
    cr = env.cr
    clean(env)
    dropped = _drop_secondary_indexes(cr) if bulk else []
    if dropped:
        cr.execute("SET LOCAL maintenance_work_mem = '512MB'")
        log(f"  bulk load: {len(dropped)} secondary indexes dropped, rebuilt after the load")
    out_type = warehouse.out_type_id
    src = out_type.default_location_src_id.id
    dst = env.ref("stock.stock_location_customers").id
    pids = list(partners.ids)
    cids = list(carriers.ids)
    minutes = 90 * 24 * 60  # spread over 90 days
    started = time.time()

    milestone = _pick(MILESTONES, "g * 7")
    cr.execute(f"""
        INSERT INTO stock_picking (name, picking_type_id, location_id, location_dest_id,
            company_id, move_type, state, priority, scheduled_date, date, date_done,
            carrier_id, carrier_tracking_ref, shipment_milestone, shipment_milestone_date,
            shipment_milestone_partner_id, shipment_exception_state, shipment_exception_reason,
            shipment_exception_date, shipment_correlation_id, create_uid, write_uid,
            create_date, write_date)
        SELECT 'BENCH/OUT/' || g, %(type)s, %(src)s, %(dst)s, %(company)s, 'direct',
            CASE WHEN m IN ('draft', 'released', 'picked', 'packed', 'label_created')
                 THEN 'assigned' WHEN m = 'cancelled' THEN 'cancel'
                 WHEN m = 'delivered' AND g %% 50 = 0 THEN 'assigned' ELSE 'done' END,
            '0', t, t, CASE WHEN m IN ('handed_over', 'picked_up', 'in_transit',
                 'out_for_delivery', 'delivered', 'returned') THEN t + interval '2 hours' END,
            (%(carriers)s)[1 + g %% %(ncar)s],
            CASE WHEN m IN ('draft', 'released', 'picked', 'packed') OR g %% 97 = 0 THEN NULL
                 ELSE 'BT' || g END,
            m, t + interval '1 hour' * (1 + g %% 72), (%(partners)s)[1 + g %% %(npart)s],
            CASE WHEN g %% 50 = 1 THEN 'open' WHEN g %% 50 = 2 THEN 'resolved' ELSE 'none' END,
            CASE WHEN g %% 50 IN (1, 2) THEN {_pick(REASONS, "g / 50")} END,
            CASE WHEN g %% 50 IN (1, 2) THEN t END,
            md5('bench' || g), 1, 1, t, t
        FROM (SELECT g, {milestone} AS m,
                     %(now)s - interval '1 minute' * (g %% %(minutes)s) AS t
                FROM generate_series(1, %(n)s) g) s
    """, {"type": out_type.id, "src": src, "dst": dst, "company": company.id,
          "carriers": cids, "ncar": len(cids), "partners": pids, "npart": len(pids),
          "now": now, "minutes": minutes, "n": pickings})
    cr.execute("SELECT min(id), max(id) FROM stock_picking WHERE name LIKE 'BENCH/%%'")
    first, last = cr.fetchone()
    log(f"  {pickings} pickings in {time.time() - started:.1f}s")

    started = time.time()
    state = _pick(EVENT_STATES, "g * 13")
    cr.execute(f"""
        INSERT INTO shipment_sync_event (partner_id, partner_code, company_id, direction,
            external_id, state, received_at, occurred_at, applied_at, picking_id, milestone,
            raw_code, is_mapped, authoritative, resolves_exception, is_correction,
            create_uid, write_uid, create_date, write_date)
        SELECT p, 'bench', %(company)s, 'inbound',
            CASE WHEN st = 'duplicate' THEN 'bench-' || (g - 1) ELSE 'bench-' || g END,
            st, t, t - interval '1 minute', CASE WHEN st IN ('applied', 'stale')
                THEN t + interval '1 millisecond' * (50 + (g * 37) %% 20000) END,
            CASE WHEN st = 'duplicate' THEN NULL ELSE %(first)s + g %% %(np)s END,
            CASE WHEN st = 'unmapped' THEN NULL ELSE {_pick(MILESTONES, "g")} END,
            CASE WHEN st = 'unmapped' THEN 'X' || (g %% 40) ELSE 'code' END,
            st <> 'unmapped', true, false, false, 1, 1, t, t
        FROM (SELECT g, {state} AS st, (%(partners)s)[1 + g %% %(npart)s] AS p,
                     %(now)s - interval '1 second' * (g * 7 %% (%(minutes)s * 60)) AS t
                FROM generate_series(1, %(n)s) g) s
    """, {"company": company.id, "first": first, "np": last - first + 1, "partners": pids,
          "npart": len(pids), "now": now, "minutes": minutes, "n": events})
    log(f"  {events} events in {time.time() - started:.1f}s")

    started = time.time()
    cr.execute(f"""
        INSERT INTO shipment_sync_job (partner_id, company_id, operation, picking_id, payload,
            idempotency_key, sequence_key, channel, state, attempts, next_attempt_at,
            first_attempt_at, done_at, dead_at, create_uid, write_uid, create_date, write_date)
        SELECT p, %(company)s, {_pick(JOB_OPERATIONS, "g / 3")}, %(first)s + g %% %(np)s, '{{}}',
            'bench-' || g, NULL, 'high', st, CASE WHEN st = 'pending' THEN 0 ELSE 1 END,
            t, t,
            CASE WHEN st = 'done'
                 THEN t + interval '1 millisecond' * (200 + (g * 53) %% 30000) END,
            CASE WHEN st = 'dead' THEN t + interval '5 minutes' END, 1, 1, t, t
        FROM (SELECT g, {_pick(JOB_STATES, "g * 11")} AS st,
                     (%(partners)s)[1 + g %% %(npart)s] AS p,
                     %(now)s - interval '1 second' * (g * 13 %% (%(minutes)s * 60)) AS t
                FROM generate_series(1, %(n)s) g) s
    """, {"company": company.id, "first": first, "np": last - first + 1, "partners": pids,
          "npart": len(pids), "now": now, "minutes": minutes, "n": jobs})
    cr.execute("""
        INSERT INTO shipment_sync_job_attempt (job_id, partner_id, company_id, number,
            started_at, duration_ms, http_status, outcome, create_uid, write_uid, create_date,
            write_date)
        SELECT id, partner_id, company_id, 1, first_attempt_at, 120,
               CASE WHEN state = 'done' THEN 200 ELSE 503 END,
               CASE WHEN state = 'done' THEN 'done' ELSE 'dead' END, 1, 1, create_date,
               create_date
          FROM shipment_sync_job WHERE idempotency_key LIKE 'bench-%%'
           AND state IN ('done', 'dead')
    """)
    log(f"  {jobs} jobs and their attempts in {time.time() - started:.1f}s")

    started = time.time()
    cr.execute("""
        INSERT INTO shipment_sync_exception (name, picking_id, reason, origin, company_id,
            partner_id, warehouse_id, carrier_id, opened_at, last_seen_at, raise_count, state,
            state_sequence, age_bucket, sla_deadline, create_uid, write_uid, create_date,
            write_date)
        SELECT p.name || ': ' || p.shipment_exception_reason, p.id,
               p.shipment_exception_reason, 'partner', p.company_id,
               p.shipment_milestone_partner_id, %(wh)s, p.carrier_id,
               p.shipment_exception_date, p.shipment_exception_date, 1,
               CASE WHEN p.shipment_exception_state = 'open' THEN 'open' ELSE 'resolved' END,
               CASE WHEN p.shipment_exception_state = 'open' THEN 0 ELSE 2 END,
               CASE WHEN p.shipment_exception_date > %(now)s - interval '1 hour' THEN 'lt_1h'
                    WHEN p.shipment_exception_date > %(now)s - interval '4 hours' THEN '1h_4h'
                    WHEN p.shipment_exception_date > %(now)s - interval '1 day' THEN '4h_24h'
                    WHEN p.shipment_exception_date > %(now)s - interval '3 days' THEN '1d_3d'
                    ELSE 'gt_3d' END,
               p.shipment_exception_date + interval '24 hours', 1, 1, %(now)s, %(now)s
          FROM stock_picking p
         WHERE p.name LIKE 'BENCH/%%' AND p.shipment_exception_state IN ('open', 'resolved')
    """, {"wh": warehouse.id, "now": now})
    log(f"  exception cards in {time.time() - started:.1f}s")
    add_label_events(env, log=log)
    if dropped:
        started = time.time()
        _restore_indexes(cr, dropped)
        log(f"  {len(dropped)} indexes rebuilt in {time.time() - started:.1f}s")
    cr.execute("ANALYZE stock_picking; ANALYZE shipment_sync_event; ANALYZE shipment_sync_job; "
               "ANALYZE shipment_sync_job_attempt; ANALYZE shipment_sync_exception")
    env.invalidate_all()
    return {"pickings": pickings, "events": events, "jobs": jobs}


def main(argv=None):
    import odoo
    from odoo.modules.registry import Registry
    from odoo.tools import config

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pickings", type=int, default=200_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--jobs", type=int, default=300_000)
    args, odoo_args = parser.parse_known_args(argv)
    config.parse_config(odoo_args)
    registry = Registry(config["db_name"])
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        generate(env, pickings=args.pickings, events=args.events, jobs=args.jobs)
        # The script owns this cursor: the data set is committed when it is complete.
        cr.commit()  # pylint: disable=invalid-commit


if __name__ == "__main__":
    main()
