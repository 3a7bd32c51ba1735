"""`make demo`: Odoo with the four addons and their demo data, served on
http://localhost:8069 (admin / admin). The database is created on the first
run and reused afterwards (DEMO_DB, default shipsync_demo; DEMO_RESET=1 drops it).

Ctrl-C stops it, Odoo and the partner sandboxes with it; so does
`make demo-stop` (``tools/demo.py --stop``) from another shell when the demo
runs in the background: it signals the pid written in ``.run/demo.pid`` and
waits until everything is down."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import odoo_env as oe

DB = os.environ.get("DEMO_DB", "shipsync_demo")
PORT = int(os.environ.get("DEMO_PORT", "8069"))
SANDBOXES = (("carrier", 8079), ("wms", 8078))
SANDBOX_ARGS = {}
PIDFILE = Path(os.environ.get("DEMO_PIDFILE") or oe.REPO / ".run" / "demo.pid")


def _stop_on_sigterm(_signum, _frame):
    raise KeyboardInterrupt


def stop(timeout=60):
    """Stop a running demo (``make demo-stop``): SIGTERM to the pid of
    ``.run/demo.pid``, then wait until it (and so its children) is gone."""
    try:
        pid = int(PIDFILE.read_text().strip())
    except (OSError, ValueError):
        print("==> no demo is running (no .run/demo.pid)")
        return 0
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        print(f"==> the demo (pid {pid}) had stopped already")
        PIDFILE.unlink(missing_ok=True)
        return 0
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            print(f"==> demo stopped (pid {pid})")
            return 0
        time.sleep(0.3)
    print(f"==> the demo (pid {pid}) did not stop within {timeout} s", file=sys.stderr)
    return 1


def shutdown(procs, timeout=20):
    """Terminate Odoo and the sandboxes, wait for them, kill what hangs."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.time() + timeout
    for proc in procs:
        try:
            proc.wait(max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main():
    if "--stop" in sys.argv[1:]:
        return stop()
    # From here on SIGTERM (make demo-stop) stops the demo as Ctrl-C does.
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    PIDFILE.parent.mkdir(parents=True, exist_ok=True)
    PIDFILE.write_text(f"{os.getpid()}\n")
    try:
        return serve()
    except KeyboardInterrupt:
        print("==> demo stopped", flush=True)
        return 0
    finally:
        PIDFILE.unlink(missing_ok=True)


def serve():
    root = oe.require_odoo_and_postgres("make demo")
    oe.ensure_engine(root)
    if os.environ.get("DEMO_RESET"):
        oe.drop_db(DB)
    base = [*oe.odoo_bin(root), *oe.db_args(DB), f"--addons-path={oe.addons_path(root)}",
            f"--db-filter=^{DB}$"]
    env = oe.env_with_repo()
    if not oe.db_exists(DB):
        print(f"==> creating {DB} with the suite and demo data (a few minutes)", flush=True)
        subprocess.run([*base, "-i", ",".join(oe.ADDONS), "--stop-after-init",
                        "--http-port", str(oe.free_port()), "--log-level=warn"],
                       env=env, check=True)
        # Customer emails are opt-in per company; the demo company opts in so the
        # demo shows them (they wait in Odoo's mail queue: no mail server is set).
        kinds = ("handed_over", "out_for_delivery", "available_for_pickup",
                 "delivery_attempted", "delivered", "exception")
        oe._psql("UPDATE res_company SET " + ", ".join(
            f"shipment_sync_notify_{kind} = true" for kind in kinds)
            + ", stock_move_email_validation = false", db=DB)
    else:
        subprocess.run([*base, "-u", ",".join(oe.ADDONS), "--stop-after-init",
                        "--http-port", str(oe.free_port()), "--log-level=warn"],
                       env=env, check=True)
    # Links in the demo's emails and tracking pages point at the served port
    # (the install above ran on a throwaway one).
    oe._psql("UPDATE ir_config_parameter SET value = "
             f"'http://localhost:{PORT:d}' WHERE key = 'web.base.url'", db=DB)
    problem = oe.ensure_rabbitmq()
    print(f"==> RabbitMQ on {oe.AMQP_URL.split('@')[-1]}" if not problem else
          f"==> SKIPPED RabbitMQ: {problem} (RabbitMQ subscriptions and queues will retry)",
          flush=True)
    sandboxes, server = [], None
    try:
        sandboxes = start_sandboxes(env)
        server = subprocess.Popen([*base, "--http-port", str(PORT), "--max-cron-threads=1",
                                   "--log-level=warn"], env=env)
        if wait_http(f"http://127.0.0.1:{PORT}/web/health"):
            subprocess.run([sys.executable, str(oe.REPO / "tools" / "demo_traffic.py"),
                            "--url", f"http://127.0.0.1:{PORT}", "--db", DB], env=env,
                           check=False)
        print(f"==> Odoo on http://localhost:{PORT}  (login admin / password admin); "
              "Ctrl-C or `make demo-stop` stops it", flush=True)
        return server.wait()
    finally:
        shutdown([p for p in (server, *sandboxes) if p is not None])


def start_sandboxes(env):
    """The partner sandboxes the demo data points at, on loopback."""
    sys.path.insert(0, str(oe.REPO))
    from shipsync.sandbox.__main__ import COMMANDS

    procs = []
    for name, port in SANDBOXES:
        if name in COMMANDS:
            print(f"==> {name} sandbox on http://127.0.0.1:{port}", flush=True)
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "shipsync.sandbox", name, "--port", str(port),
                 *SANDBOX_ARGS.get(name, ())], env=env, cwd=oe.REPO))
    return procs


def wait_http(url, seconds=120):
    import urllib.request

    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return True
        except OSError:
            time.sleep(0.5)
    return False


if __name__ == "__main__":
    sys.exit(main())
