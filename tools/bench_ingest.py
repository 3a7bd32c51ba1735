"""`make bench-ingest`: webhook ingest under load on a real Odoo with 2 HTTP
workers, beside a trivial Odoo JSON route measured in the same run.

N signed Standard-Webhooks requests (one canonical event each) are posted by
several client threads to /shipment_sync/webhook/<code>; then the same number
of requests go to /web/webclient/version_info (Odoo's cheapest JSON-RPC
route). Printed: requests/s and p50/p99 latency of both and their ratio, how
long the cron took to apply everything, and a race check (pairs of identical
events posted at the same instant must be stored once)."""

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import odoo_env as oe
import psycopg2
import requests

sys.path.insert(0, str(oe.REPO))
from shipsync.signatures import StandardWebhooks  # noqa: E402

DB = os.environ.get("BENCH_DB", "shipsync_bench")
N = int(os.environ.get("BENCH_N", "2000"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "8"))
PICKINGS = 200
SECRET = "whsec_" + "YmVuY2gtaW5nZXN0LXNlY3JldC0wMTIzNDU2Nzg5YWI="
FIXTURE = """
import json
P = env["shipment.sync.partner"].sudo()
partner = P.search([("code", "=", "bench")]) or P.create({
    "name": "Bench 3PL", "code": "bench", "kind": "wms", "inbound_format": "canonical",
    "signature_scheme": "standard_webhooks", "webhook_secret": %(secret)r,
    "processing_mode": "async", "rate_limit_per_minute": 0})
env["shipment.sync.event"].sudo().search([("partner_code", "=", "bench")]).unlink()
ptype = env.ref("stock.picking_type_out")
product = env["product.product"].search([("default_code", "=", "BENCH")]) or \\
    env["product.product"].create({"name": "Bench", "default_code": "BENCH", "is_storable": True})
pickings = env["stock.picking"].search([("origin", "=", "bench")])
missing = %(pickings)d - len(pickings)
if missing > 0:
    pickings |= env["stock.picking"].create([{
        "picking_type_id": ptype.id, "origin": "bench",
        "location_id": ptype.default_location_src_id.id,
        "location_dest_id": env.ref("stock.stock_location_customers").id,
        "move_ids": [(0, 0, {"name": "Bench", "product_id": product.id, "product_uom_qty": 1,
                             "product_uom": product.uom_id.id,
                             "location_id": ptype.default_location_src_id.id,
                             "location_dest_id": env.ref("stock.stock_location_customers").id})],
    } for _i in range(missing)])
pickings.write({"shipment_milestone": "draft"})
env.cr.commit()
print("FIXTURE " + json.dumps(pickings.mapped("name")))
"""


def percentile(values, pct):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(pct / 100 * (len(values) - 1))))]


def run_load(make_request, n, clients):
    latencies = []
    lock = threading.Lock()
    statuses = {}
    session_local = threading.local()

    def one(i):
        session = getattr(session_local, "s", None)
        if session is None:
            session = session_local.s = requests.Session()
        url, body, headers = make_request(i)
        t0 = time.perf_counter()
        resp = session.post(url, data=body, headers=headers, timeout=60)
        dt = time.perf_counter() - t0
        with lock:
            latencies.append(dt)
            statuses[resp.status_code] = statuses.get(resp.status_code, 0) + 1

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(n)))
    elapsed = time.perf_counter() - started
    return {"requests": n, "seconds": round(elapsed, 3), "rps": round(n / elapsed, 1),
            "p50_ms": round(percentile(latencies, 50) * 1000, 1),
            "p99_ms": round(percentile(latencies, 99) * 1000, 1), "statuses": statuses}


def main():
    root = oe.require_odoo_and_postgres("bench-ingest")
    env = oe.env_with_repo()
    base = [*oe.odoo_bin(root), *oe.db_args(DB), f"--addons-path={oe.addons_path(root)}",
            f"--db-filter=^{DB}$"]
    mode = "-u" if oe.db_exists(DB) else "-i"
    print(f"==> preparing {DB} ({'update' if mode == '-u' else 'install'})", flush=True)
    subprocess.run([*base, mode, "shipment_sync", "--without-demo=all", "--stop-after-init",
                    "--http-port", str(oe.free_port()), "--log-level=warn"], env=env, check=True)
    shell = subprocess.run([*oe.odoo_bin(root), "shell", *base[len(oe.odoo_bin(root)):],
                            "--log-level=warn", "--no-http"],
                           input=FIXTURE % {"secret": SECRET, "pickings": PICKINGS},
                           env=env, capture_output=True, text=True, check=True)
    names = json.loads(next(line for line in shell.stdout.splitlines()
                            if line.startswith("FIXTURE "))[8:])

    port = oe.free_port()
    log = oe.REPO / ".run" / "bench-ingest-odoo.log"
    log.parent.mkdir(exist_ok=True)
    server = subprocess.Popen(
        [*base, "--http-port", str(port), "--workers=2", "--max-cron-threads=1",
         "--limit-time-real=600", "--limit-request=100000", f"--logfile={log}",
         "--log-level=warn"], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if requests.get(f"{url}/web/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.5)
        signer = StandardWebhooks([SECRET])
        run_id = uuid.uuid4().hex[:8]
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        milestones = ["released", "picked", "packed"]

        def webhook(i, event_id=None):
            body = json.dumps({"schema_version": "1", "events": [{
                "id": event_id or f"{run_id}-{i}", "occurred_at": now,
                "milestone": milestones[i % 3], "picking_ref": names[i % len(names)]}]}).encode()
            headers = signer.headers(uuid.uuid4().hex, body)
            headers["Content-Type"] = "application/json"
            return f"{url}/shipment_sync/webhook/bench", body, headers

        trivial_body = json.dumps({"jsonrpc": "2.0", "method": "call", "params": {}}).encode()

        def trivial(_i):
            return (f"{url}/web/webclient/version_info", trivial_body,
                    {"Content-Type": "application/json"})

        run_load(trivial, 100, CLIENTS)  # warm both workers
        run_load(lambda i: webhook(i, f"warm-{run_id}-{i}"), 100, CLIENTS)
        baseline = run_load(trivial, N, CLIENTS)
        ingest = run_load(webhook, N, CLIENTS)
        ingest_done = time.time()

        # Race check: pairs of the same event posted at the same instant.
        run_load(lambda i: webhook(i, f"race-{run_id}-{i // 2}"), 200, CLIENTS)

        conn = psycopg2.connect(host=oe.DB_HOST, user=oe.DB_USER, password=oe.DB_PASSWORD,
                                dbname=DB)
        conn.autocommit = True
        cur = conn.cursor()
        apply_deadline = time.time() + 300
        while time.time() < apply_deadline:
            cur.execute("SELECT count(*) FROM shipment_sync_event WHERE partner_code = 'bench' "
                        "AND state = 'received'")
            if cur.fetchone()[0] == 0:
                break
            time.sleep(0.5)
        apply_seconds = time.time() - ingest_done
        cur.execute("SELECT state, count(*) FROM shipment_sync_event WHERE partner_code = "
                    "'bench' AND external_id LIKE %s GROUP BY state", [f"{run_id}-%"])
        main_states = dict(cur.fetchall())
        cur.execute("SELECT external_id, count(*) FILTER (WHERE state <> 'duplicate'), "
                    "count(*) FILTER (WHERE state = 'duplicate') FROM shipment_sync_event "
                    "WHERE external_id LIKE %s GROUP BY external_id", [f"race-{run_id}-%"])
        race_rows = cur.fetchall()
        conn.close()
    finally:
        server.terminate()
        server.wait(30)

    race_ok = len(race_rows) == 100 and all(s == 1 and d == 1 for _e, s, d in race_rows)
    result = {
        "n": N, "clients": CLIENTS, "odoo_http_workers": 2,
        "webhook": ingest, "trivial_json_route": baseline,
        "throughput_ratio": round(ingest["rps"] / baseline["rps"], 3),
        "p50_ratio": round(ingest["p50_ms"] / baseline["p50_ms"], 2),
        "stored_states": main_states,
        "cron_drained_after_s": round(apply_seconds, 1),
        "race_pairs_stored_once": race_ok,
    }
    out = oe.REPO / ".bench" / "ingest.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    print(f"webhook ingest: {ingest['rps']} req/s (p50 {ingest['p50_ms']} ms, p99 "
          f"{ingest['p99_ms']} ms) vs trivial JSON route {baseline['rps']} req/s (p50 "
          f"{baseline['p50_ms']} ms, p99 {baseline['p99_ms']} ms): ratio "
          f"{result['throughput_ratio']}")
    ok = (ingest["statuses"] == {202: N} and race_ok
          and sum(main_states.values()) == N and "received" not in main_states)
    if not ok:
        print("bench-ingest: the run was not clean (see statuses / states above)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
