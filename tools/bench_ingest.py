"""`make bench-ingest`: webhook ingest under load on a real Odoo with 2 HTTP
workers, beside a trivial Odoo JSON route measured in the same run.

N signed Standard-Webhooks requests (one canonical event each) are posted by
several client threads to /shipment_sync/webhook/<code>; then the same number
of requests go to /web/webclient/version_info (Odoo's cheapest JSON-RPC
route); the pair runs three times (BENCH_ROUNDS) and the pair of the median ratio
is reported. Printed: requests/s and p50/p99 latency of both and their ratio, how
long the cron took to apply everything, and a race check (pairs of identical
events posted at the same instant must be stored once).

``--batch N``: each request is a canonical envelope of N events (the way 3PLs and
aggregators send bursts; N=100 by default when the flag has no value); prints the
events stored per second (by the route) and applied per second (by the cron, from
the first request until no event is left to apply).

``--profile``: samples the Odoo processes with py-spy (threads holding the GIL)
while the trivial route's load and then the webhook load run, writes the
collapsed stacks to ``.bench/ingest-profile-trivial.txt`` and
``.bench/ingest-profile.txt``, and prints the heaviest frames and where an HTTP
worker spends more per webhook request than per trivial request."""

import argparse
import collections
import json
import os
import shutil
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
#: Same-run pairs (trivial route, then webhooks); the median ratio is reported
#: (one pair in batch mode unless BENCH_ROUNDS says otherwise).
ROUNDS = os.environ.get("BENCH_ROUNDS")
PICKINGS = 200
SECRET = "whsec_" + "YmVuY2gtaW5nZXN0LXNlY3JldC0wMTIzNDU2Nzg5YWI="
FIXTURE = """
import json
from datetime import timedelta
from odoo import fields
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
# Only the apply cron runs during the measurement: a daily job that happens to be due
# (Odoo's auto-vacuum, the digests...) would land in one of the two timed windows.
apply_cron = env.ref("shipment_sync.ir_cron_apply_events")
env["ir.cron"].sudo().search([("id", "!=", apply_cron.id)]).write(
    {"nextcall": fields.Datetime.now() + timedelta(days=1)})
env.cr.commit()
print("FIXTURE " + json.dumps(pickings.mapped("name")))
"""


def server_cpu(server_pid, db):
    """CPU seconds (user + system) used so far by the Odoo server's processes
    (HTTP and cron workers) and by the PostgreSQL backends of ``db``: the work
    of a phase, whatever else the machine runs at the time."""
    import psutil

    try:
        root = psutil.Process(server_pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        procs = []
    backends = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if cmdline.startswith("postgres:") and f" {db} " in f"{cmdline} ":
            backends.append(proc)
    totals, each = [], {}
    for group in (procs, backends):
        total = 0.0
        for proc in group:
            try:
                times = proc.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
            if group is procs:
                each[proc.pid] = times.user + times.system
        totals.append(total)
    return (*totals, each)


def cpu_ms(before, after, n):
    """``{"server_cpu_ms", "odoo_cpu_ms", "postgres_cpu_ms"}`` per request."""
    odoo, pg = ((b - a) * 1000 / n for a, b in zip(before[:2], after[:2], strict=True))
    # Per Odoo process (the main one, the HTTP workers, the cron worker), largest first.
    each = sorted((round((t - before[2].get(pid, 0.0)) * 1000 / n, 2)
                   for pid, t in after[2].items()), reverse=True)
    return {"server_cpu_ms": round(odoo + pg, 2), "odoo_cpu_ms": round(odoo, 2),
            "postgres_cpu_ms": round(pg, 2), "odoo_processes_cpu_ms": each}


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


def collapsed_frames(path, only=None):
    """``(Counter {frame: samples}, total samples)`` of a py-spy collapsed-stack
    file, inclusive (a frame counts once per sample it appears in); ``only``:
    the stacks containing that text (e.g. ``WorkerHTTP``)."""
    inclusive, total = collections.Counter(), 0
    for line in path.read_text().splitlines():
        stack, _sep, count = line.rpartition(" ")
        if not stack or not count.isdigit() or (only and only not in stack):
            continue
        total += int(count)
        frames = set()
        for frame in stack.split(";"):
            name, _s, where = frame.partition(" (")
            frames.add(f"{name} ({where.rsplit(':', 1)[0]})" if where else name)
        for frame in frames:
            inclusive[frame] += int(count)
    return inclusive, total


def profile_summary(path, top=40):
    """The heaviest frames of a py-spy collapsed-stack file, as lines of text."""
    inclusive, total = collapsed_frames(path)
    lines = [f"{total} samples of the Odoo processes while the webhook load ran"]
    for frame, count in inclusive.most_common(top):
        lines.append(f"{100 * count / max(total, 1):5.1f}%  {frame}")
    return lines


def profile_difference(webhook_path, webhook_n, trivial_path, trivial_n, top=30):
    """Where an HTTP worker spends more per webhook request than per trivial
    request: samples per 1,000 requests of each frame, by the difference."""
    hook = collapsed_frames(webhook_path, only="WorkerHTTP")[0]
    base = collapsed_frames(trivial_path, only="WorkerHTTP")[0]
    rate = {f: (hook[f] * 1000 / webhook_n, base[f] * 1000 / trivial_n)
            for f in set(hook) | set(base)}
    lines = ["HTTP workers, samples per 1,000 requests: webhook, trivial route, frame"]
    for frame, (w, t) in sorted(rate.items(), key=lambda kv: kv[1][1] - kv[1][0])[:top]:
        lines.append(f"{w:8.0f} {t:8.0f}  {frame}")
    return lines


def start_profiler(pid, path):
    """py-spy sampling the threads that hold the GIL (what runs, not what waits)."""
    profiler = subprocess.Popen(
        [shutil.which("py-spy"), "record", "--pid", str(pid), "--subprocesses", "--gil",
         "--format", "raw", "--rate", "200", "--nonblocking", "--output", str(path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2)  # py-spy attaches
    return profiler


def stop_profiler(profiler):
    profiler.send_signal(2)
    profiler.wait(60)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, nargs="?", const=100, default=0,
                        help="events per request (a canonical envelope); 100 without a value")
    parser.add_argument("--profile", action="store_true",
                        help="sample the HTTP workers with py-spy during the webhook load")
    args = parser.parse_args()
    batch = max(args.batch, 1)
    # BENCH_N counts requests; in batch mode it counts events (20,000 by default).
    events_total = int(os.environ.get("BENCH_N", "20000")) if args.batch else N
    requests_n = max(events_total // batch, 1) if args.batch else N
    pickings_n = 1000 if args.batch else PICKINGS
    root = oe.require_odoo_and_postgres("bench-ingest")
    env = oe.env_with_repo()
    # --database without --db-filter, as a webhook receiver should run: with a
    # db-filter, Odoo lists the databases over a new PostgreSQL connection for
    # every request without a session cookie, which is every partner's webhook.
    base = [*oe.odoo_bin(root), *oe.db_args(DB), f"--addons-path={oe.addons_path(root)}"]
    mode = "-u" if oe.db_exists(DB) else "-i"
    print(f"==> preparing {DB} ({'update' if mode == '-u' else 'install'})", flush=True)
    subprocess.run([*base, mode, "shipment_sync", "--without-demo=all", "--stop-after-init",
                    "--http-port", str(oe.free_port()), "--log-level=warn"], env=env, check=True)
    shell = subprocess.run([*oe.odoo_bin(root), "shell", *base[len(oe.odoo_bin(root)):],
                            "--log-level=warn", "--no-http"],
                           input=FIXTURE % {"secret": SECRET, "pickings": pickings_n},
                           env=env, capture_output=True, text=True, check=True)
    names = json.loads(next(line for line in shell.stdout.splitlines()
                            if line.startswith("FIXTURE "))[8:])
    # The previous run's events were just deleted: vacuum now, so that PostgreSQL's
    # autovacuum does not start on these tables in the middle of one of the timed runs.
    oe.vacuum_analyze(DB, ("shipment_sync_event", "shipment_sync_payload_vault",
                           "stock_picking", "mail_message", "ir_cron_trigger"))

    port = oe.free_port()
    log = oe.REPO / ".run" / "bench-ingest-odoo.log"
    log.parent.mkdir(exist_ok=True)
    out_dir = oe.REPO / ".bench"
    out_dir.mkdir(exist_ok=True)
    server = subprocess.Popen(
        [*base, "--http-port", str(port), "--workers=2", "--max-cron-threads=1",
         "--limit-time-real=600", "--limit-request=100000", f"--logfile={log}",
         "--log-level=warn"], env=env)
    url = f"http://127.0.0.1:{port}"
    profile_path = out_dir / "ingest-profile.txt"
    trivial_profile = out_dir / "ingest-profile-trivial.txt"
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

        def webhook(i, event_id=None, size=1, round_no=0):
            events = []
            for k in range(size):
                n = i * size + k
                events.append({
                    "id": event_id or (f"{run_id}-{round_no}-{i}" if size == 1
                                       else f"{run_id}-{round_no}-{i}-{k}"),
                    "occurred_at": now, "milestone": milestones[n % 3],
                    "picking_ref": names[n % len(names)]})
            body = json.dumps({"schema_version": "1", "events": events}).encode()
            headers = signer.headers(uuid.uuid4().hex, body)
            headers["Content-Type"] = "application/json"
            return f"{url}/shipment_sync/webhook/bench", body, headers

        trivial_body = json.dumps({"jsonrpc": "2.0", "method": "call", "params": {}}).encode()

        def trivial(_i):
            return (f"{url}/web/webclient/version_info", trivial_body,
                    {"Content-Type": "application/json"})

        run_load(trivial, 100, CLIENTS)  # warm both workers
        run_load(lambda i: webhook(i, f"warm-{run_id}-{i}"), 100, CLIENTS)
        load_at_start = round(os.getloadavg()[0], 2)
        if args.profile and not shutil.which("py-spy"):
            print("--profile needs py-spy (pip install py-spy)", file=sys.stderr)
            return 2
        conn = psycopg2.connect(host=oe.DB_HOST, user=oe.DB_USER, password=oe.DB_PASSWORD,
                                dbname=DB)
        conn.autocommit = True
        cur = conn.cursor()

        def drained():
            cur.execute("SELECT count(*) FROM shipment_sync_event WHERE partner_code = 'bench' "
                        "AND state = 'received'")
            return cur.fetchone()[0] == 0

        apply_deadline = time.time() + 900
        rounds = []
        for round_no in range(int(ROUNDS or (1 if args.batch else 3))):
            # The baseline: N calls (1,000 in batch mode, where BENCH_N counts events).
            profile = args.profile and not round_no
            profiler = start_profiler(server.pid, trivial_profile) if profile else None
            cpu_before = server_cpu(server.pid, DB)
            baseline = run_load(trivial, min(N, 1000) if args.batch else N, CLIENTS)
            baseline.update(cpu_ms(cpu_before, server_cpu(server.pid, DB),
                                   baseline["requests"]))
            if profiler:
                stop_profiler(profiler)
            profiler = start_profiler(server.pid, profile_path) if profile else None
            ingest_started = time.time()
            cpu_before = server_cpu(server.pid, DB)
            ingest = run_load(lambda i, r=round_no: webhook(i, size=batch, round_no=r),
                              requests_n, CLIENTS)
            ingest_done = time.time()
            if profiler:
                stop_profiler(profiler)
            while time.time() < apply_deadline and not drained():
                time.sleep(0.2)
            applied_at = time.time()
            ingest.update(cpu_ms(cpu_before, server_cpu(server.pid, DB), ingest["requests"]))
            rounds.append({
                "webhook": ingest, "trivial_json_route": baseline,
                "throughput_ratio": round(ingest["rps"] / baseline["rps"], 3),
                "cron_drained_after_s": round(applied_at - ingest_done, 1),
                "applied_seconds": applied_at - ingest_started,
            })
        # The round of the median ratio is reported (each round is a same-run pair:
        # the machine's own swings between pairs do not pick the figure).
        chosen = sorted(rounds, key=lambda r: r["throughput_ratio"])[len(rounds) // 2]
        ingest, baseline = chosen["webhook"], chosen["trivial_json_route"]

        # Race check: pairs of the same event posted at the same instant.
        run_load(lambda i: webhook(i, f"race-{run_id}-{i // 2}"), 200, CLIENTS)
        while time.time() < apply_deadline and not drained():
            time.sleep(0.2)
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
        try:
            server.wait(120)
        except subprocess.TimeoutExpired:  # a loaded machine: the figures are taken
            server.kill()
            server.wait(30)

    race_ok = len(race_rows) == 100 and all(s == 1 and d == 1 for _e, s, d in race_rows)
    stored = requests_n * batch
    load1 = round(os.getloadavg()[0], 2)
    result = {
        "requests": requests_n, "events_per_request": batch, "clients": CLIENTS,
        "odoo_http_workers": 2, "load_average_1min": [load_at_start, load1],
        "webhook": ingest, "trivial_json_route": baseline,
        "throughput_ratio": round(ingest["rps"] / baseline["rps"], 3),
        "p50_ratio": round(ingest["p50_ms"] / baseline["p50_ms"], 2),
        # Server CPU per request (Odoo workers, cron included until every event is
        # applied, and PostgreSQL): the cost ratio, whatever else loads the machine.
        "cpu_ratio": round(baseline["server_cpu_ms"] / max(ingest["server_cpu_ms"], 0.01), 3),
        "rounds": len(rounds),
        "round_ratios": [r["throughput_ratio"] for r in rounds],
        "stored_states": main_states,
        "cron_drained_after_s": chosen["cron_drained_after_s"],
        "race_pairs_stored_once": race_ok,
    }
    if args.batch:
        result["stored_events_per_s"] = round(stored / ingest["seconds"], 1)
        result["applied_events_per_s"] = round(stored / chosen["applied_seconds"], 1)
    out = out_dir / ("ingest-batch.json" if args.batch else "ingest.json")
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    if args.profile and profile_path.exists():
        print("\n".join(profile_summary(profile_path)))
        if trivial_profile.exists():
            print("\n".join(profile_difference(profile_path, requests_n, trivial_profile,
                                               baseline["requests"])))
    ok = (all(r["webhook"]["statuses"] == {202: requests_n} for r in rounds) and race_ok
          and sum(main_states.values()) == stored * len(rounds)
          and "received" not in main_states)
    if not ok:
        print("bench-ingest: the run was not clean (see statuses / states above)")
    if args.batch:
        print(f"batched ingest ({batch} events/request, load average {load_at_start} -> "
              f"{load1}): "
              f"{result['stored_events_per_s']} events/s stored, "
              f"{result['applied_events_per_s']} events/s applied (first request to last "
              f"applied); {ingest['rps']} req/s, p99 {ingest['p99_ms']} ms vs trivial JSON "
              f"route {baseline['rps']} req/s: ratio {result['throughput_ratio']}")
    else:
        print(f"webhook ingest (load average {load_at_start} -> {load1}): {ingest['rps']} req/s "
              f"(p50 {ingest['p50_ms']} ms, p99 {ingest['p99_ms']} ms) vs trivial JSON route "
              f"{baseline['rps']} req/s (p50 "
              f"{baseline['p50_ms']} ms, p99 {baseline['p99_ms']} ms): ratio "
              f"{result['throughput_ratio']} (median of {len(rounds)} rounds: "
              f"{', '.join(str(r) for r in result['round_ratios'])}); server CPU per request "
              f"{ingest['server_cpu_ms']} vs {baseline['server_cpu_ms']} ms (cost ratio "
              f"{result['cpu_ratio']})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
