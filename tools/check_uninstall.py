"""`make check-uninstall`: install -> uninstall -> reinstall the suite with
demo data in a throwaway database and prove that uninstalling leaves nothing.

1. Install what the suite depends on (with demo data) and take a snapshot of
   the database: tables and views, columns, indexes, constraints, functions,
   triggers, system parameters and the row count of every table.
2. Install the suite's addons with their demo data.
3. Uninstall them one by one, in reverse dependency order; after each, no
   external id, system parameter, cron, server action, mail template or
   activity type of that addon is left.
4. Compare with the snapshot: every difference is residue (a few tables that
   Odoo itself writes to while it works are listed in ``VOLATILE`` with why).
5. Install the suite's addons with demo data again, then upgrade them: no
   error, no warning.

Any ERROR/CRITICAL log line, any WARNING from the suite's install on (the
dependencies' own install: only the suite's), and any residue fails the run
(exit 1)."""

import argparse
import ast
import json
import os
import re
import subprocess
import sys
import time

import odoo_env as oe

#: Tables whose row counts Odoo changes by itself while it installs and
#: uninstalls modules, whatever the modules: compiled assets and their
#: attachments, logs, the bus, sessions' logins, module bookkeeping, and the
#: chatter messages and followers that Odoo's own mail threads write.
VOLATILE = {
    "ir_attachment": "compiled web assets are regenerated after each registry reload",
    "ir_logging": "server log records",
    "bus_bus": "notifications to open browser tabs",
    "res_users_log": "logins",
    "ir_module_module": "the addons' own rows (state uninstalled)",
    "ir_module_module_dependency": "the addons' own rows, refreshed from the manifests",
    "ir_module_module_exclusion": "the addons' own rows",
    "ir_model_data": "the external ids of the suite addons' module records "
                     "(base.module_shipment_sync*)",
    "ir_module_category": "the addons' categories, created from their manifests",
    "ir_profile": "profiling records",
    "ir_cron_trigger": "cron triggers Odoo's own modules schedule while the suite installs",
    "ir_cron_progress": "progress of Odoo's own crons",
    "ir_sessions": "sessions",
}
ERROR_RE = re.compile(r"^\S+ \S+ \d+ (ERROR|CRITICAL) ")
WARNING_RE = re.compile(r"^\S+ \S+ \d+ WARNING ")
SUITE_RE = re.compile(r"shipment[._]sync|shipsync")


def manifests():
    out = {}
    for name in oe.ADDONS:
        text = (oe.REPO / name / "__manifest__.py").read_text()
        out[name] = ast.literal_eval(text)
    return out


def dependency_order(info):
    """The suite's addons, each after the addons it depends on."""
    done = []

    def visit(name):
        if name in done:
            return
        for dep in info[name]["depends"]:
            if dep in info:
                visit(dep)
        done.append(name)

    for name in info:
        visit(name)
    return done


def external_depends(info):
    deps = set()
    for manifest in info.values():
        deps.update(dep for dep in manifest["depends"] if dep not in info)
    return sorted(deps)


class Runner:
    def __init__(self, root, db, keep_logs):
        self.root, self.db = root, db
        self.logdir = oe.REPO / ".run"
        self.logdir.mkdir(exist_ok=True)
        self.keep_logs = keep_logs
        self.problems = []

    def odoo(self, label, args, stdin=None, shell=False):
        log_path = self.logdir / f"check-uninstall-{os.getpid()}-{label}.log"
        log_path.unlink(missing_ok=True)
        cmd = [*oe.odoo_bin(self.root), *(["shell"] if shell else []), *oe.db_args(self.db),
               f"--addons-path={oe.addons_path(self.root)}", "--workers=0",
               "--max-cron-threads=0", "--log-level=info", f"--logfile={log_path}"]
        if not shell:
            cmd += ["--stop-after-init", f"--http-port={oe.free_port()}", "--gevent-port=0"]
        else:
            cmd += ["--no-http"]
        started = time.time()
        proc = subprocess.run([*cmd, *args], cwd=oe.REPO, env=oe.env_with_repo(), input=stdin,
                              capture_output=True, text=True, check=False)
        log = log_path.read_text(errors="replace") if log_path.exists() else ""
        bad = [line for line in log.splitlines() if ERROR_RE.match(line)]
        # Odoo's own install logs warnings of its own modules (not ours to fix); from the
        # suite's install on, every warning counts.
        bad += [line for line in log.splitlines() if WARNING_RE.match(line)
                and (label != "install-dependencies" or SUITE_RE.search(line))]
        if proc.returncode != 0:
            bad.append(f"exit status {proc.returncode}: {proc.stderr.strip()[-1500:]}")
        print(f"==> {label}: {time.time() - started:.0f}s, {len(bad)} problem line(s) "
              f"(log: {log_path})", flush=True)
        for line in bad[:20]:
            print("LOG>", line[:400], flush=True)
        self.problems += [f"{label}: {line[:300]}" for line in bad]
        return proc

    def sql(self, query):
        out = oe._psql(query, db=self.db)
        if out.returncode != 0:
            raise RuntimeError(f"{query}: {out.stderr}")
        return [line for line in out.stdout.splitlines() if line]

    def snapshot(self):
        tables = self.sql("SELECT table_name || ' ' || table_type FROM information_schema.tables "
                          "WHERE table_schema = 'public'")
        counts = {}
        base_tables = [t.split()[0] for t in tables if t.endswith("BASE TABLE")]
        # One query for all the row counts.
        union = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM \"{t}\"" for t in base_tables)
        for line in self.sql(union):
            name, count = line.split("|")
            counts[name] = int(count)
        return {
            "table": set(tables),
            "column": set(self.sql(
                "SELECT table_name || '.' || column_name || ' ' || data_type "
                "FROM information_schema.columns WHERE table_schema = 'public'")),
            "index": set(self.sql("SELECT tablename || ' ' || indexname FROM pg_indexes "
                                  "WHERE schemaname = 'public'")),
            "constraint": set(self.sql(
                "SELECT conrelid::regclass || ' ' || conname FROM pg_constraint c "
                "JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public'")),
            "function": set(self.sql(
                "SELECT proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE n.nspname = 'public'")),
            "trigger": set(self.sql("SELECT tgrelid::regclass || ' ' || tgname FROM pg_trigger "
                                    "WHERE NOT tgisinternal")),
            "system parameter": set(self.sql("SELECT key FROM ir_config_parameter")),
            "rows": counts,
        }

    def own_records(self, module):
        """What an uninstalled addon must not leave behind, by its name."""
        like = module.replace("_", r"\_") + "%"
        checks = {
            "external ids": f"SELECT model || ' ' || name FROM ir_model_data "
                            f"WHERE module = '{module}'",
            "system parameters": f"SELECT key FROM ir_config_parameter WHERE key LIKE '{like}'",
            "crons": "SELECT c.id || ' ' || (a.name->>'en_US') FROM ir_cron c "
                     "JOIN ir_act_server a ON a.id = c.ir_actions_server_id "
                     f"WHERE a.model_name LIKE 'shipment.sync%' AND '{module}' = 'shipment_sync'",
            "server actions": "SELECT id || ' ' || (name->>'en_US') FROM ir_act_server "
                              "WHERE model_name LIKE 'shipment.sync%' "
                              f"AND '{module}' = 'shipment_sync'",
            "mail templates": "SELECT id || ' ' || (name->>'en_US') FROM mail_template "
                              "WHERE model LIKE 'shipment.sync%' "
                              f"AND '{module}' = 'shipment_sync'",
            "activity types": "SELECT id || ' ' || (name->>'en_US') FROM mail_activity_type "
                              "WHERE res_model LIKE 'shipment.sync%' "
                              f"AND '{module}' = 'shipment_sync'",
            "fields": f"SELECT model || '.' || name FROM ir_model_fields WHERE id IN ("
                      f"SELECT res_id FROM ir_model_data WHERE module = '{module}' "
                      "AND model = 'ir.model.fields')",
            "models": "SELECT model FROM ir_model WHERE model LIKE 'shipment.sync%' "
                      f"AND '{module}' = 'shipment_sync'",
        }
        found = []
        for what, query in checks.items():
            found += [f"{module} left {what}: {row}" for row in self.sql(query)]
        return found


def diff(before, after):
    found = []
    for kind in ("table", "column", "index", "constraint", "function", "trigger",
                 "system parameter"):
        for item in sorted(after[kind] - before[kind]):
            found.append(f"{kind} added and not removed: {item}")
        for item in sorted(before[kind] - after[kind]):
            found.append(f"{kind} of Odoo removed: {item}")
    for table, count in sorted(after["rows"].items()):
        was = before["rows"].get(table)
        if was is not None and was != count and table not in VOLATILE:
            found.append(f"rows in {table}: {was} before the suite, {count} after uninstall")
    return found


def copy_db(source, target):
    oe.drop_db(target)
    out = oe._psql(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    store = oe.Path.home() / ".local/share/Odoo/filestore"
    if (store / source).is_dir():
        subprocess.run(["cp", "-a", str(store / source), str(store / target)], check=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--no-reinstall", action="store_true",
                        help="stop after the residue check")
    parser.add_argument("--cache-deps", action="store_true",
                        help="keep the database with only the dependencies (and its snapshot) "
                        "as a template for the next run (while working on the addons)")
    args = parser.parse_args()
    root = oe.require_odoo_and_postgres("make check-uninstall")
    oe.ensure_engine(root)
    info = manifests()
    order = dependency_order(info)
    db = f"shipsync_uninstall_{os.getpid()}"
    runner = Runner(root, db, args.keep_db)
    oe.drop_db(db)
    started = time.time()
    residue = []
    try:
        before = None
        deps = external_depends(info)
        cache_db = "shipsync_uninstall_deps_" + "_".join(sorted(deps))[:30]
        cache_json = runner.logdir / f"{cache_db}.json"
        if args.cache_deps and oe.db_exists(cache_db) and cache_json.exists():
            print(f"==> {db} from the cached {cache_db}", flush=True)
            copy_db(cache_db, db)
            before = json.loads(cache_json.read_text())
            before = {k: v if k == "rows" else set(v) for k, v in before.items()}
        else:
            runner.odoo("install-dependencies", ["-i", ",".join(deps)])
            before = runner.snapshot()
            if args.cache_deps:
                copy_db(db, cache_db)
                cache_json.write_text(json.dumps(
                    {k: v if k == "rows" else sorted(v) for k, v in before.items()}))
        runner.odoo("install-suite", ["-i", ",".join(order)])
        for module in reversed(order):
            script = (f"env['ir.module.module'].search([('name', '=', '{module}')])"
                      ".button_immediate_uninstall()\nenv.cr.commit()\n")
            runner.odoo(f"uninstall-{module}", [], stdin=script, shell=True)
            state = runner.sql(f"SELECT state FROM ir_module_module WHERE name = '{module}'")
            if state != ["uninstalled"]:
                residue.append(f"{module} is {state} after its uninstall")
            residue += runner.own_records(module)
        residue += diff(before, runner.snapshot())
        if not args.no_reinstall:
            runner.odoo("reinstall-suite", ["-i", ",".join(order)])
            runner.odoo("upgrade-suite", ["-u", ",".join(order)])
            state = runner.sql("SELECT name || ' ' || state FROM ir_module_module "
                               f"WHERE name IN ({', '.join(repr(m) for m in order)})")
            residue += [f"after reinstall: {row}" for row in state if not row.endswith(
                " installed")]
    finally:
        if not args.keep_db:
            oe.drop_db(db)
    for line in residue:
        print("RESIDUE>", line[:400])
    failed = len(runner.problems) + len(residue)
    print(f"check-uninstall: {len(order)} addons, {len(residue)} residue, "
          f"{len(runner.problems)} log problems, {time.time() - started:.0f}s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
