"""`make test`: the pure tests of shipsync always, the contract tests when the
partner artifacts are found (``CONTRACTS_DIR``), then the Odoo tests of the
suite's addons when Odoo is found, in a throwaway database.

Fails on any failing test, any ERROR/CRITICAL line in Odoo's log, any WARNING
line logged while the modules install, or an install error. Ends with one
summary line: `N passed, N failed, N skipped`.

Outside CI a missing Odoo or PostgreSQL prints one `SKIPPED odoo tests:` line,
missing partner artifacts one `SKIPPED contract tests:` line, and the pure
result stands. Under `CI=true` nothing may be skipped: a missing Odoo,
PostgreSQL or contracts directory, or any skipped test (the browser tour
without Chromium), fails the run with its reason. pytest's "no tests
collected" is a failure, and so is `--odoo-only` when no Odoo test ran."""

import argparse
import os
import re
import subprocess
import sys
import time

import odoo_env as oe

RESULT_RE = re.compile(r"odoo\.tests\.result: (\d+) failed, (\d+) error\(s\) of (\d+) tests")
BAD_LOG_RE = re.compile(r"^\S+ \S+ \d+ (ERROR|CRITICAL) ")
SKIP_LOG_RE = re.compile(r"^\S+ \S+ \d+ INFO \S+ \S+: skipped (.+?) : (.*)$")
IN_CI = os.environ.get("CI", "").lower() == "true"
WARNING_RE = re.compile(r"^\S+ \S+ \d+ WARNING ")
#: The end of module installation in Odoo's log: every WARNING before it is an
#: install warning.
INSTALLED_MARK = "odoo.modules.loading: Modules loaded."
#: Install warnings of Odoo core that the suite cannot avoid (regexes on the
#: logger + message). Empty today: an install of the suite logs no WARNING.
ALLOWED_INSTALL_WARNINGS = ()
CONTRACT_TESTS = "tests/contracts"


def install_warnings(log):
    """WARNING lines logged while the modules were installed, less the allowed ones."""
    found = []
    for line in log.splitlines():
        if INSTALLED_MARK in line:
            break
        if WARNING_RE.match(line) and not any(re.search(rx, line)
                                              for rx in ALLOWED_INSTALL_WARNINGS):
            found.append(line)
    return found


def locate_contracts():
    """``(path, reason)`` from ``CONTRACTS_DIR`` (the contract tests' own rule)."""
    sys.path.insert(0, str(oe.REPO / "tests"))
    try:
        from contracts import locate_contracts_dir
    finally:
        sys.path.pop(0)
    return locate_contracts_dir()


def pytest_counts(stdout, returncode):
    """(passed, failed, skipped, skip reasons) of a pytest run from its
    output; a non-zero exit without a failure count (no tests collected, a
    usage or collection error) is one failure."""
    passed = failed = skipped = 0
    summary = [line for line in stdout.splitlines()
               if re.search(r"\d+ (passed|failed|errors?|skipped)", line)]
    if summary:
        for count, word in re.findall(r"(\d+) (passed|failed|errors?|skipped)", summary[-1]):
            if word == "passed":
                passed = int(count)
            elif word == "skipped":
                skipped = int(count)
            else:
                failed += int(count)
    if returncode == 5:
        print("pure: no tests collected — counted as a failure", flush=True)
    if returncode != 0 and not failed:
        failed = 1
    reasons = [line for line in stdout.splitlines() if line.startswith("SKIPPED [")]
    return passed, failed, skipped, reasons


def run_pure(pytest_args, path="tests"):
    targets = [path, f"--ignore={CONTRACT_TESTS}"] if path == "tests" else [path]
    return run_pytest("pure tests", targets, pytest_args)


def run_contracts(pytest_args):
    """The contract tests against ``CONTRACTS_DIR``; without it one SKIPPED line
    (a failure under CI=true)."""
    path, reason = locate_contracts()
    if path is None:
        if IN_CI:
            print(f"FAILED contract tests: {reason} (CI=true requires them)", flush=True)
            return 0, 1, 0, []
        print(f"SKIPPED contract tests: {reason}", flush=True)
        return 0, 0, 0, []
    env = {**oe.env_with_repo(), "CONTRACTS_DIR": str(path)}
    return run_pytest(f"contract tests against {path}", [CONTRACT_TESTS], pytest_args, env)


def run_pytest(label, targets, pytest_args, env=None):
    # -p no:odoo: a pytest-odoo plugin installed on the machine must not hijack the pure run.
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:odoo", "-rs",
           *targets, *pytest_args]
    print(f"==> {label}:", " ".join(cmd[2:]), flush=True)
    proc = subprocess.run(cmd, cwd=oe.REPO, env=env or oe.env_with_repo(), capture_output=True,
                          text=True, check=False)
    sys.stdout.write(proc.stdout[-6000:])
    sys.stderr.write(proc.stderr[-3000:])
    return pytest_counts(proc.stdout, proc.returncode)


def odoo_unavailable(reason, required):
    """Odoo tests cannot run: a failure where they are required (CI, or only
    Odoo tests asked for), one `SKIPPED` line otherwise."""
    if required:
        print(f"FAILED odoo tests: {reason}", flush=True)
        return 0, 1, 0, []
    print(f"SKIPPED odoo tests: {reason}", flush=True)
    return 0, 0, 0, []


def run_odoo(addons, tags, keep_db, required=False):
    root, reason = oe.find_odoo()
    if not root:
        return odoo_unavailable(reason, required)
    problem = oe.ensure_postgres()
    if problem:
        return odoo_unavailable(problem, required)
    oe.ensure_engine(root)
    db = f"shipsync_test_{os.getpid()}"
    log_path = oe.REPO / ".run" / f"odoo-test-{os.getpid()}.log"
    log_path.parent.mkdir(exist_ok=True)
    for old in log_path.parent.glob("odoo-test-*.log"):
        if time.time() - old.stat().st_mtime > 86400:
            old.unlink()
    cmd = [*oe.odoo_bin(root), *oe.db_args(db), f"--addons-path={oe.addons_path(root)}",
           "-i", ",".join(addons), "--test-enable", "--stop-after-init",
           f"--http-port={oe.free_port()}", "--gevent-port=0", "--workers=0",
           "--max-cron-threads=0", "--log-level=info", f"--logfile={log_path}"]
    # Only our addons' tests: without tags Odoo runs those of every installed module.
    cmd.append(f"--test-tags={tags or ','.join('/' + a for a in addons)}")
    print(f"==> odoo tests on {root} in database {db}", flush=True)
    started = time.time()
    oe.drop_db(db)
    try:
        proc = subprocess.run(cmd, cwd=oe.REPO, env=oe.env_with_repo(), check=False,
                              capture_output=True, text=True)
    finally:
        if not keep_db:
            oe.drop_db(db)
    log = log_path.read_text(errors="replace") if log_path.exists() else ""
    log += proc.stdout + proc.stderr
    if proc.stderr.strip():
        (log_path.parent / (log_path.stem + ".stderr")).write_text(proc.stderr)
    bad = [line for line in log.splitlines() if BAD_LOG_RE.match(line)]
    bad += install_warnings(log)
    skips = [f"{m.group(1)}: {m.group(2)}" for m in map(SKIP_LOG_RE.match, log.splitlines()) if m]
    failed_tests = errors = total = 0
    for m in RESULT_RE.finditer(log):
        failed_tests += int(m.group(1))
        errors += int(m.group(2))
        total += int(m.group(3))
    for line in log.splitlines():
        if " FAIL: " in line or " ERROR: " in line or "odoo.tests.stats" in line:
            print(line[:400])
    for line in bad[:40]:
        print("LOG>", line[:400])
    print(f"odoo: {total} tests, {failed_tests} failed, {errors} errors, {len(skips)} skipped, "
          f"{len(bad)} ERROR/CRITICAL/install WARNING log lines, {time.time() - started:.0f}s "
          f"(full log: {log_path})", flush=True)
    failed = failed_tests + errors
    if proc.returncode != 0 or (bad and not failed):
        failed = max(failed, 1)
    if total == 0:
        print("odoo: no test ran — counted as a failure", flush=True)
        failed = max(failed, 1)
    return total - failed_tests - errors - len(skips), failed, len(skips), skips


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--addons", default=",".join(oe.ADDONS))
    parser.add_argument("--tags", default="", help="Odoo --test-tags, e.g. /shipment_sync")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--odoo-only", action="store_true")
    parser.add_argument("--pure-only", action="store_true")
    parser.add_argument("--contracts-only", action="store_true",
                        help="only the contract tests (CONTRACTS_DIR)")
    parser.add_argument("--pure-path", default="tests",
                        help="where the pure tests are (another path: the command's own "
                        "tests; the contract tests, part of tests/, are not run then)")
    args, pytest_args = parser.parse_known_args()
    if not args.contracts_only:
        # The broker tests (pure and Odoo) skip without it, which CI=true fails.
        problem = oe.ensure_rabbitmq()
        if problem:
            print(f"RabbitMQ unavailable, its tests will skip: {problem}", flush=True)
    passed = failed = skipped = 0
    reasons = []
    if not (args.odoo_only or args.contracts_only):
        p, f, s, r = run_pure(pytest_args, args.pure_path)
        passed, failed, skipped, reasons = passed + p, failed + f, skipped + s, reasons + r
    if not (args.odoo_only or args.pure_only) and args.pure_path == "tests":
        p, f, s, r = run_contracts(pytest_args)
        passed, failed, skipped, reasons = passed + p, failed + f, skipped + s, reasons + r
    if not (args.pure_only or args.contracts_only):
        p, f, s, r = run_odoo(args.addons.split(","), args.tags, args.keep_db,
                              required=IN_CI or args.odoo_only)
        passed, failed, skipped, reasons = passed + p, failed + f, skipped + s, reasons + r
    for reason in reasons:
        print(f"skipped: {reason}"[:400])
    print(f"{passed} passed, {failed} failed, {skipped} skipped", flush=True)
    if IN_CI and skipped:
        print(f"CI=true: {skipped} skipped test(s) — a skipped requirement fails the run",
              flush=True)
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
