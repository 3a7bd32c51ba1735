"""`make demo`: Odoo with the four addons and their demo data, served on
http://localhost:8069 (admin / admin). The database is created on the first
run and reused afterwards (DEMO_DB, default shipsync_demo; DEMO_RESET=1 drops it)."""

import os
import subprocess
import sys

import odoo_env as oe

DB = os.environ.get("DEMO_DB", "shipsync_demo")
PORT = int(os.environ.get("DEMO_PORT", "8069"))


def main():
    root, reason = oe.find_odoo()
    if not root:
        print(f"make demo needs Odoo 18.0: {reason}", file=sys.stderr)
        return 2
    problem = oe.ensure_postgres()
    if problem:
        print(problem, file=sys.stderr)
        return 2
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
    else:
        subprocess.run([*base, "-u", ",".join(oe.ADDONS), "--stop-after-init",
                        "--http-port", str(oe.free_port()), "--log-level=warn"],
                       env=env, check=True)
    print(f"==> Odoo on http://localhost:{PORT}  (login admin / password admin)", flush=True)
    os.execvpe(base[0], [*base, "--http-port", str(PORT), "--max-cron-threads=1"], env)


if __name__ == "__main__":
    sys.exit(main())
