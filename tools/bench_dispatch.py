"""`make bench-dispatch`: outbound dispatch throughput and latency of the
shipment_sync outbox, against OCA queue_job doing the same calls.

One database holds shipment_sync and, for the comparison only, OCA queue_job
(the odoo-addon-queue_job 18.0 wheel from PyPI, installed with
``pip install --no-deps --target .bench/queue_job``) plus a tiny benchmark
addon (tools/bench_dispatch_addons) whose job POSTs like an outbox
``http_call``. Neither is a dependency of the suite.

For each configuration a real Odoo server is started (prefork: the outbox
runs in ``ir.cron`` workers, woken by the enqueue trigger; queue_job runs its
job runner with ``--load=base,web,queue_job`` and a channel capacity), a local
receiver answers after ``LATENCY_MS`` (default 0: at once; 250 is a real
partner's label or tracker call), the jobs go round-robin to 4 partners (one
path each on the receiver; each outbox partner takes 8 calls at once), and:

* burst: N jobs are enqueued in one transaction; jobs/s = N / (last delivery
  - commit) and enqueue->delivery p50/p99 (queueing included);
* trickle: jobs enqueued one per transaction at a steady rate; p50/p99
  enqueue->delivery (the near-real-time wake-up).

Delivery time is the moment the receiver applied the call (its effect log,
deduplicated by Idempotency-Key). Peak RSS is the largest VmHWM of the server's
worker processes (the outbox's cron workers, queue_job's HTTP workers).
``--crash`` (outbox only): N jobs, the whole Odoo process group is killed with
SIGKILL when a quarter is delivered, the server restarted; reports the drain
time (restart -> every job done) and the calls made twice (same key).
Results go to stdout and .run/bench_dispatch.json.
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid

import odoo_env as oe

REPO = oe.REPO
sys.path.insert(0, str(REPO))  # shipsync, for the enqueuing registry of this process
BENCH_DIR = REPO / ".bench"
QJ_TARGET = BENCH_DIR / "queue_job"
QJ_ADDONS = QJ_TARGET / "odoo" / "addons"
BENCH_ADDONS = REPO / "tools" / "bench_dispatch_addons"
QJ_REQUIREMENT = "odoo-addon-queue_job>=18.0,<18.1"
SETTLE = 3.0
PARTNERS = 4
PARTNER_CONCURRENCY = 8


def log(*args):
    print(*args, flush=True)


# ------------------------------------------------------------------ setup
def ensure_queue_job():
    if (QJ_ADDONS / "queue_job" / "__manifest__.py").exists():
        return
    log(f"==> pip install --no-deps --target {QJ_TARGET} '{QJ_REQUIREMENT}'")
    QJ_TARGET.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--target", str(QJ_TARGET), QJ_REQUIREMENT], check=True)


def addons_path(root):
    return oe.addons_path(root, extra=(QJ_ADDONS, BENCH_ADDONS))


def odoo_cmd(root, db, *args):
    return [*oe.odoo_bin(root), *oe.db_args(db), f"--addons-path={addons_path(root)}", *args]


def ensure_db(root, db, fresh):
    if fresh:
        oe.drop_db(db)
    # Existing database: update it to the code of this checkout.
    mode = "-u" if oe.db_exists(db) else "-i"
    log(f"==> {'updating' if mode == '-u' else 'installing'} shipment_sync, queue_job and "
        f"the bench addon in {db}")
    started = time.time()
    subprocess.run(odoo_cmd(root, db, mode, "shipment_sync,bench_dispatch_queue_job",
                            "--without-demo=all", "--stop-after-init", "--workers=0",
                            "--max-cron-threads=0", "--log-level=warn",
                            f"--http-port={oe.free_port()}"),
                   cwd=REPO, env=oe.env_with_repo(), check=True)
    log(f"    done in {time.time() - started:.0f}s")


#: The sandbox receiver, answering at once (its handler sets TCP_NODELAY).
RECEIVER_SCRIPT = """
from shipsync.sandbox.__main__ import main
main(["receiver", "--port", "0"])
"""


class Receiver:
    """The shipsync sandbox receiver in its own process (no GIL shared with anyone)."""

    def __init__(self):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", RECEIVER_SCRIPT],
            cwd=REPO, env=oe.env_with_repo(), stdout=subprocess.PIPE, text=True,
            start_new_session=True)
        line = self.proc.stdout.readline()
        self.url = line.strip().rsplit(" ", 1)[-1]
        if not self.url.startswith("http"):
            raise RuntimeError(f"receiver did not start: {line!r}")

    def _request(self, path, method="GET", payload=None):
        data = json.dumps(payload).encode() if payload is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())

    def reset(self, latency_ms=0):
        self._request("/_control/reset", "POST", {})
        if latency_ms:
            self._request("/_control", "POST", {"latency_ms": latency_ms})

    def effects(self):
        return self._request("/_control/log")["effects"]

    def stop(self):
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=10)


class Server:
    """A real Odoo server (prefork) for one configuration."""

    def __init__(self, root, db, workers, cron_threads, load=None, env=None, logfile=None):
        self.port = oe.free_port()
        args = [f"--http-port={self.port}", "--gevent-port=0", f"--workers={workers}",
                f"--max-cron-threads={cron_threads}", f"--db-filter=^{db}$",
                "--log-level=warn", f"--logfile={logfile}"]
        if load:
            args.append(f"--load={load}")
        self.proc = subprocess.Popen(
            odoo_cmd(root, db, *args), cwd=REPO,
            env={**oe.env_with_repo(), **(env or {})}, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/web/health",
                                            timeout=2):
                    break
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"odoo exited, see {logfile}") from None
                time.sleep(0.2)
        else:
            raise RuntimeError(f"odoo did not start, see {logfile}")
        self.booted = time.time()
        time.sleep(SETTLE)  # cron workers / job runner connect and LISTEN

    def peak_rss_mb(self):
        """Largest VmHWM (peak resident set) of the server's child processes."""
        peak = 0
        for pid in _group_pids(self.proc.pid):
            if pid == self.proc.pid:
                continue
            try:
                with open(f"/proc/{pid}/status") as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            peak = max(peak, int(line.split()[1]))
            except OSError:
                continue
        return peak / 1024

    def kill9(self):
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        except ProcessLookupError:
            pass


def _group_pids(pgid):
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.getpgid(int(entry)) == pgid:
                    pids.append(int(entry))
            except OSError:
                continue
    return pids


# ------------------------------------------------------------------ the enqueuing side
class Enqueuer:
    """Enqueues through the ORM, in this process, like a business transaction."""

    def __init__(self, db, root):
        self.registry = oe.open_registry(root, db, addons=addons_path(root))
        import odoo

        self.odoo = odoo
        with self.cursor() as env:
            self.partner_ids = []
            for k in range(1, PARTNERS + 1):
                code = f"bench-receiver-{k}"
                partner = env["shipment.sync.partner"].search([("code", "=", code)])
                if not partner:
                    partner = env["shipment.sync.partner"].create({
                        "name": f"Bench receiver {k}", "code": code})
                partner.write({"outbox_max_concurrency": PARTNER_CONCURRENCY,
                               "outbox_read_timeout": 30})
                self.partner_ids.append(partner.id)
            # Only the workers under test run: park every other scheduled action.
            keep = [env.ref(x).id for x in ("shipment_sync.ir_cron_outbox_high",
                                            "shipment_sync.ir_cron_outbox_high_2",
                                            "shipment_sync.ir_cron_outbox_low")]
            env.cr.execute("UPDATE ir_cron SET nextcall = now() + interval '7 days' "
                           "WHERE id NOT IN %s", [tuple(keep)])

    def cursor(self):
        registry, odoo = self.registry, self.odoo

        class _Ctx:
            def __enter__(self):
                self.cr = registry.cursor()
                return odoo.api.Environment(self.cr, odoo.SUPERUSER_ID, {})

            def __exit__(self, exc_type, *exc):
                if exc_type is None:
                    self.cr.commit()
                self.cr.close()
        return _Ctx()

    def clean(self):
        with self.cursor() as env:
            env.cr.execute("DELETE FROM shipment_sync_job")
            env.cr.execute("DELETE FROM queue_job")
            env.cr.execute("DELETE FROM ir_cron_trigger")
            env.cr.execute(
                "UPDATE shipment_sync_partner SET outbox_breaker_data = NULL, "
                "outbox_breaker_state = 'closed', outbox_paused_until = NULL")

    def enqueue(self, system, url, keys):
        """Enqueue one job per key in one transaction; returns the commit time."""
        with self.cursor() as env:
            if system == "outbox":
                partners = env["shipment.sync.partner"].browse(self.partner_ids)
                Job = env["shipment.sync.job"]
                for i, key in enumerate(keys):
                    k = i % PARTNERS
                    Job._enqueue(partners[k], "http_call",
                                 {"url": f"{url}/p{k + 1}/calls", "json": {"key": key}},
                                 idempotency_key=key)
            else:
                target = env["bench.dispatch.target"]
                for i, key in enumerate(keys):
                    target.with_delay().post(f"{url}/p{i % PARTNERS + 1}/calls", key,
                                             {"key": key})
        return time.time()

    def done_count(self, system):
        with self.cursor() as env:
            table = "shipment_sync_job" if system == "outbox" else "queue_job"
            env.cr.execute(f"SELECT count(*) FROM {table} WHERE state = 'done'")  # noqa: S608
            return env.cr.fetchone()[0]


def wait_done(enq, system, total, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if enq.done_count(system) >= total:
            return True
        time.sleep(0.05)
    return False


def pct(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(q / 100 * len(values))) - 1))]


def start_server(root, db, system, workers, logfile):
    if system == "outbox":
        return Server(root, db, workers=2, cron_threads=workers, logfile=logfile)
    return Server(root, db, workers=workers + 1, cron_threads=0, load="base,web,queue_job",
                  env={"ODOO_QUEUE_JOB_CHANNELS": f"root:{workers}"}, logfile=logfile)


def run_crash(root, db, enq, receiver, workers, n, latency_ms, timeout):
    """kill -9 of the whole Odoo process group with a quarter of the jobs
    delivered, restart, time until every job is done."""
    name = f"outbox-{workers}-kill9"
    logfile = REPO / ".run" / f"bench_dispatch_{name}.log"
    logfile.unlink(missing_ok=True)
    enq.clean()
    receiver.reset(latency_ms)
    server = start_server(root, db, "outbox", workers, logfile)
    keys = [f"crash-{uuid.uuid4().hex}" for _i in range(n)]
    try:
        enq.enqueue("outbox", receiver.url, keys)
        deadline = time.time() + timeout
        while len(receiver.effects()) < n // 4 and time.time() < deadline:
            time.sleep(0.05)
        with enq.cursor() as env:
            env.cr.execute("SELECT count(*) FROM shipment_sync_job WHERE state = 'running'")
            running = env.cr.fetchone()[0]
        server.kill9()
        killed = time.time()
        log(f"    killed with {len(receiver.effects())} delivered, {running} running")
    except BaseException:
        server.stop()
        raise
    ready = time.time()  # the restart begins (the server's boot counts)
    server = start_server(root, db, "outbox", workers, logfile)
    try:
        ok = wait_done(enq, "outbox", n, timeout)
        drained = time.time()
        effects = receiver.effects()
        calls = {}
        for call in receiver._request("/_control/log")["calls"]:
            calls[call["idempotency_key"]] = calls.get(call["idempotency_key"], 0) + 1
        return {"config": name, "n": n, "complete": ok, "running_at_kill": running,
                "delivered": sum(1 for k in keys if k in effects),
                "restart_s": ready - killed, "boot_s": server.booted - ready,
                "drain_after_restart_s": drained - ready,
                "drain_after_kill_s": drained - killed,
                "called_twice": sum(1 for k in keys if calls.get(k, 0) > 1),
                "load_avg_1m": os.getloadavg()[0]}
    finally:
        server.stop()


def run_config(root, db, enq, receiver, system, workers, n, trickle, rate, timeout,
               latency_ms=0):
    name = f"{system}-{workers}"
    logfile = REPO / ".run" / f"bench_dispatch_{name}.log"
    logfile.unlink(missing_ok=True)
    enq.clean()
    receiver.reset(latency_ms)
    server = start_server(root, db, system, workers, logfile)
    try:
        # warm-up: the workers load their registry, the runner sees the channel
        warm = [f"warm-{uuid.uuid4().hex}" for _i in range(4)]
        enq.enqueue(system, receiver.url, warm)
        if not wait_done(enq, system, len(warm), timeout):
            raise RuntimeError(f"{name}: warm-up jobs not done, see {logfile}")
        base = len(warm)
        # burst
        keys = [f"burst-{uuid.uuid4().hex}" for _i in range(n)]
        committed = enq.enqueue(system, receiver.url, keys)
        ok = wait_done(enq, system, base + n, timeout)
        effects = receiver.effects()
        delivered = [effects[k]["first_at"] for k in keys if k in effects]
        lat = [t - committed for t in delivered]
        result = {"config": name, "n": n, "delivered": len(delivered), "complete": ok,
                  "load_avg_1m": os.getloadavg()[0],
                  "jobs_per_s": len(delivered) / max(max(delivered) - committed, 1e-6)
                  if delivered else 0.0,
                  "burst_p50_ms": pct(lat, 50) * 1000, "burst_p99_ms": pct(lat, 99) * 1000,
                  "duplicates": sum(1 for k in keys if effects.get(k, {}).get("count", 1) > 1),
                  "peak_rss_mb": server.peak_rss_mb(), "latency_ms": latency_ms}
        # trickle
        lat = []
        done_before = base + n
        if trickle:
            commits = {}
            for i in range(trickle):
                key = f"trickle-{uuid.uuid4().hex}"
                commits[key] = enq.enqueue(system, receiver.url, [key])
                time.sleep(max(0.0, 1.0 / rate - 0.001))
                del i
            wait_done(enq, system, done_before + trickle, timeout)
            effects = receiver.effects()
            lat = [effects[k]["first_at"] - t for k, t in commits.items() if k in effects]
        result.update(trickle=trickle, trickle_p50_ms=pct(lat, 50) * 1000,
                      trickle_p99_ms=pct(lat, 99) * 1000,
                      trickle_mean_ms=statistics.fmean(lat) * 1000 if lat else float("nan"))
        return result
    finally:
        server.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=int(os.environ.get("BENCH_N", 1000)))
    parser.add_argument("--trickle", type=int, default=100, help="jobs for the trickle run")
    parser.add_argument("--rate", type=float, default=20.0, help="trickle enqueues per second")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--db", default="bench_dispatch")
    parser.add_argument("--fresh", action="store_true", help="recreate the database")
    parser.add_argument("--skip-queue-job", action="store_true")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--latency-ms", type=float,
                        default=float(os.environ.get("LATENCY_MS") or 0),
                        help="receiver latency per call (env LATENCY_MS)")
    parser.add_argument("--crash", action="store_true",
                        help="also measure the drain time after a kill -9 (outbox)")
    args = parser.parse_args()

    root, reason = oe.find_odoo()
    if not root:
        log(f"bench-dispatch: {reason}")
        return 1
    problem = oe.ensure_postgres()
    if problem:
        log(f"bench-dispatch: {problem}")
        return 1
    (REPO / ".run").mkdir(exist_ok=True)
    ensure_queue_job()
    ensure_db(root, args.db, args.fresh)
    receiver = Receiver()
    results = []
    try:
        enq = Enqueuer(args.db, root)
        systems = ["outbox"] + ([] if args.skip_queue_job else ["queue_job"])
        for system in systems:
            for workers in (int(w) for w in args.workers.split(",")):
                log(f"==> {system} with {workers} worker(s): {args.n} jobs")
                res = run_config(root, args.db, enq, receiver, system, workers, args.n,
                                 args.trickle, args.rate, args.timeout, args.latency_ms)
                results.append(res)
                log("    " + json.dumps({k: round(v, 1) if isinstance(v, float) else v
                                         for k, v in res.items()}))
        if args.crash:
            workers = int(args.workers.split(",")[-1])
            log(f"==> outbox with {workers} worker(s): kill -9 with {args.n} jobs")
            res = run_crash(root, args.db, enq, receiver, workers, args.n, args.latency_ms,
                            args.timeout)
            results.append(res)
            log("    " + json.dumps({k: round(v, 1) if isinstance(v, float) else v
                                     for k, v in res.items()}))
    finally:
        receiver.stop()

    log("")
    log(f"receiver latency {args.latency_ms:.0f} ms, {PARTNERS} partners, N = {args.n}")
    log(f"{'config':<14}{'jobs/s':>10}{'burst p50':>12}{'burst p99':>12}"
        f"{'trickle p50':>13}{'trickle p99':>13}{'dup':>5}{'load':>6}{'peak RSS':>10}")
    for r in results:
        if "jobs_per_s" not in r:
            continue
        log(f"{r['config']:<14}{r['jobs_per_s']:>10.1f}{r['burst_p50_ms']:>10.0f}ms"
            f"{r['burst_p99_ms']:>10.0f}ms{r['trickle_p50_ms']:>11.0f}ms"
            f"{r['trickle_p99_ms']:>11.0f}ms{r['duplicates']:>5}{r['load_avg_1m']:>6.1f}"
            f"{r['peak_rss_mb']:>8.0f}MB")
    for r in results:
        if "drain_after_restart_s" in r:
            log(f"{r['config']}: {r['running_at_kill']} running at the kill; the server "
                f"answered {r['boot_s']:.1f}s after restart; every job done "
                f"{r['drain_after_restart_s']:.1f}s after restart "
                f"({r['drain_after_kill_s']:.1f}s after the kill); "
                f"{r['called_twice']} called twice (same key), {r['delivered']}/{r['n']} "
                "delivered")
    log(f"({os.cpu_count()} CPUs; 'load' is the 1-minute load average after the burst: "
        "other work on the machine skews every figure)")
    by = {r["config"]: r for r in results}
    for workers in args.workers.split(","):
        ours, theirs = by.get(f"outbox-{workers}"), by.get(f"queue_job-{workers}")
        if ours and theirs and theirs["jobs_per_s"]:
            log(f"outbox / queue_job throughput with {workers} worker(s): "
                f"{ours['jobs_per_s'] / theirs['jobs_per_s']:.1f}x")
    out = REPO / ".run" / "bench_dispatch.json"
    out.write_text(json.dumps(results, indent=2))
    log(f"(details: {out})")
    incomplete = [r["config"] for r in results if not r["complete"]]
    if incomplete:
        log(f"incomplete runs: {', '.join(incomplete)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
