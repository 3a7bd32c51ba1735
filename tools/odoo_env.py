"""Find Odoo and PostgreSQL for the test and demo commands (no Odoo import here).

Odoo is found through ``ODOO_PATH`` (a checkout holding ``odoo-bin`` and
``odoo/``), an ``odoo`` package importable by this python3, or the tree
bootstrapped earlier into ``.odoo/`` (ignored by git). When none is there, the
test and demo commands bootstrap Odoo themselves: a shallow clone of
``ODOO_GIT_URL`` (default Odoo's official repository), branch ``ODOO_BRANCH``
(default 18.0), into ``.odoo/odoo`` and a virtual environment ``.odoo/venv``
(it sees this Python's packages) with Odoo's and the suite's requirements.
``ODOO_BOOTSTRAP=0`` turns that off."""

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: Where make test / make demo bootstrap Odoo (git-ignored).
BOOTSTRAP = REPO / ".odoo"
#: What the bootstrapped Odoo's virtual environment gets. Odoo's own
#: requirements.txt pins versions that predate Python 3.11 builds:
#: requirements-odoo.txt holds the same packages with loosened pins.
BOOTSTRAP_REQUIREMENTS = (REPO / "requirements-odoo.txt", REPO / "requirements.txt")
#: Where the bootstrap clones Odoo from when ODOO_GIT_URL is not set.
DEFAULT_ODOO_GIT_URL = "https://github.com/odoo/odoo.git"
ADDONS = ("shipment_sync", "shipment_sync_portal", "shipment_sync_carrier", "shipment_sync_wms",
          "shipment_sync_monitor", "shipment_sync_channel", "shipment_sync_tms")
DB_HOST = os.environ.get("PGHOST", "127.0.0.1")
DB_USER = os.environ.get("ODOO_DB_USER", "odoo")
DB_PASSWORD = os.environ.get("ODOO_DB_PASSWORD", "odoo")
#: The RabbitMQ broker of the tests and the demo (Debian's rabbitmq-server, guest on
#: loopback); the Odoo and pure broker tests read the same variable.
AMQP_URL = os.environ.setdefault("SHIPSYNC_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


def find_odoo():
    """Return (odoo_root, None) or (None, reason)."""
    path = os.environ.get("ODOO_PATH")
    if path:
        root = Path(path)
        if (root / "odoo" / "release.py").is_file():
            return root, None
        return None, f"ODOO_PATH={path} holds no odoo/release.py"
    probe = subprocess.run(
        [sys.executable, "-c",
         "import odoo, odoo.release, os; print(os.path.dirname(os.path.dirname(odoo.__file__)))"],
        capture_output=True, text=True, check=False)
    if probe.returncode == 0 and probe.stdout.strip():
        return Path(probe.stdout.strip().splitlines()[-1]), None
    tree = BOOTSTRAP / "odoo"
    if (tree / "odoo" / "release.py").is_file() and _python(tree).is_file():
        return tree, None
    if os.environ.get("ODOO_BOOTSTRAP", "1").strip() == "0":
        return None, ("no Odoo 18.0 found and ODOO_BOOTSTRAP=0 (set ODOO_PATH to an Odoo 18.0 "
                      "checkout, or unset ODOO_BOOTSTRAP to have it cloned into .odoo/)")
    if not shutil.which("git"):
        return None, ("no Odoo 18.0 found and no git to bootstrap it into .odoo/ (install git, "
                      "or set ODOO_PATH to an Odoo 18.0 checkout)")
    url = os.environ.get("ODOO_GIT_URL") or DEFAULT_ODOO_GIT_URL
    try:
        return bootstrap_odoo(url, os.environ.get("ODOO_BRANCH") or "18.0")
    except (OSError, subprocess.CalledProcessError) as exc:
        return None, f"bootstrapping Odoo from {url} failed: {str(exc).splitlines()[0][:300]}"


def _python(tree):
    """The Python that runs ``tree``: the bootstrap's virtual environment for
    the bootstrapped tree, this one otherwise."""
    if tree == BOOTSTRAP / "odoo":
        return BOOTSTRAP / "venv" / "bin" / "python"
    return Path(sys.executable)


def odoo_python(root):
    return str(_python(root))


def bootstrap_odoo(url, branch):
    """Shallow-clone Odoo ``branch`` from ``url`` into ``.odoo/odoo`` and make
    ``.odoo/venv`` with its requirements; ``(root, None)`` or ``(None, reason)``."""
    tree, venv = BOOTSTRAP / "odoo", BOOTSTRAP / "venv"
    if Path(url).is_dir():  # a local clone: git makes shallow clones only of URLs
        url = Path(url).resolve().as_uri()
    print(f"==> no Odoo found: bootstrapping Odoo {branch} from {url} into {BOOTSTRAP} "
          "(shallow clone + virtual environment, once)", flush=True)
    BOOTSTRAP.mkdir(parents=True, exist_ok=True)
    if not (tree / "odoo" / "release.py").is_file():
        partial = BOOTSTRAP / "odoo.partial"
        shutil.rmtree(partial, ignore_errors=True)
        clone = subprocess.run(["git", "clone", "-q", "--depth", "1", "--single-branch",
                                "--branch", branch, url, str(partial)],
                               capture_output=True, text=True, check=False)
        if clone.returncode != 0:
            why = " ".join(clone.stderr.split())[-300:]
            return None, f"git clone of {url} ({branch}) failed: {why}"
        partial.rename(tree)
    version = _tree_version(tree)
    if version[:1] != (18,):
        shutil.rmtree(tree, ignore_errors=True)
        return None, f"{url} ({branch}) holds Odoo {version}, not 18.0"
    if not _python(tree).is_file():
        # It sees this Python's packages, pip included (no copy of pip to install).
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip",
                        str(venv)], check=True)
        if subprocess.run([str(_python(tree)), "-m", "pip", "--version"], capture_output=True,
                          check=False).returncode != 0:
            subprocess.run([str(_python(tree)), "-m", "ensurepip", "-q"], check=True)
        requirements = [arg for path in BOOTSTRAP_REQUIREMENTS for arg in ("-r", str(path))]
        pip = requirements and subprocess.run(
            [str(_python(tree)), "-m", "pip", "install", "-q", "--disable-pip-version-check",
             *requirements], capture_output=True, text=True, check=False)
        if pip and pip.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
            why = " ".join(pip.stderr.split())[-300:]
            return None, f"installing Odoo's requirements failed: {why}"
    return tree, None


def _tree_version(tree):
    """``version_info`` of an Odoo tree, read without importing it."""
    import re

    found = re.search(r"^version_info = \((\d+), (\d+)",
                      (tree / "odoo" / "release.py").read_text(), re.M)
    return (int(found.group(1)), int(found.group(2))) if found else ()


def ensure_engine(root=None):
    """Install the ``shipsync`` engine as a distribution, editable from this
    checkout (``pip install -e .``), into the Python that runs Odoo ``root``
    unless it already is: Odoo checks the manifests' ``external_dependencies``
    by distribution name and version."""
    python = odoo_python(root) if root else sys.executable
    if os.environ.get("SHIPSYNC_ENGINE_FROM_PYTHONPATH") == "1" and str(REPO) in \
            os.environ.get("PYTHONPATH", "").split(os.pathsep):
        # Parallel checkouts on one machine: this checkout's engine comes first on
        # PYTHONPATH, so re-pointing the shared editable install would only race.
        return
    probe = subprocess.run([python, "-c", _ENGINE_PROBE], capture_output=True, text=True,
                           check=False)
    if probe.stdout.strip() == f"{REPO.as_uri()} {_engine_version()}":
        return
    print("==> installing the shipsync engine from this checkout (pip install -e .)", flush=True)
    subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    "-e", str(REPO)], check=True)


_ENGINE_PROBE = """
import importlib.metadata, json
for dist in importlib.metadata.distributions(name="shipsync"):
    try:
        url = json.loads(dist.read_text("direct_url.json") or "{}").get("url")
    except ValueError:
        continue
    print(url, dist.version)
    break
"""


def _engine_version():
    for line in (REPO / "pyproject.toml").read_text().splitlines():
        if line.startswith("version = "):
            return line.split("=", 1)[1].strip().strip('"')
    return None


def require_odoo_and_postgres(what):
    """The Odoo root for a command that cannot run without Odoo and
    PostgreSQL; exits with a one-line reason otherwise."""
    root, reason = find_odoo()
    problem = None if not root else ensure_postgres()
    if not root or problem:
        print(f"{what} needs Odoo 18.0 and PostgreSQL: {reason or problem}", file=sys.stderr)
        sys.exit(2)
    return root


def odoo_bin(root):
    script = root / "odoo-bin"
    python = odoo_python(root)
    return [python, str(script)] if script.is_file() else [python, "-m", "odoo"]


def addons_path(root, extra=()):
    paths = [str(root / "addons"), str(root / "odoo" / "addons"), str(REPO), *map(str, extra)]
    return ",".join(p for p in paths if Path(p).is_dir())


def install_without_demo(root, db, modules):
    """Install ``modules`` (comma-separated) in ``db`` without demo data, in
    a separate Odoo process that stops when done (benchmarks, backtests)."""
    subprocess.run([*odoo_bin(root), *db_args(db), f"--addons-path={addons_path(root)}",
                    "-i", modules, "--without-demo=all", "--stop-after-init",
                    "--workers=0", "--max-cron-threads=0", "--log-level=warn",
                    f"--http-port={free_port()}"],
                   cwd=REPO, env=env_with_repo(), check=True)


def update_outdated(root, db, modules):
    """Update ``modules`` (a list) in ``db`` when the version a module was
    installed or last updated with differs from its manifest's (a kept
    benchmark database made by an older tree); returns the modules updated."""
    import ast

    names = ", ".join(f"'{m}'" for m in modules)
    query = ("SELECT name, latest_version FROM ir_module_module "
             f"WHERE state = 'installed' AND name IN ({names})")
    installed = dict(line.split("|", 1) for line in _psql(query, db=db).stdout.splitlines()
                     if "|" in line)
    outdated = [m for m in modules if installed.get(m) != ast.literal_eval(
        (REPO / m / "__manifest__.py").read_text())["version"]]
    if outdated:
        subprocess.run([*odoo_bin(root), *db_args(db), f"--addons-path={addons_path(root)}",
                        "-u", ",".join(outdated), "--stop-after-init", "--workers=0",
                        "--max-cron-threads=0", "--log-level=warn",
                        f"--http-port={free_port()}"],
                       cwd=REPO, env=env_with_repo(), check=True)
    return outdated


def vacuum_analyze(db, tables):
    """VACUUM ANALYZE ``tables`` of ``db`` (outside a transaction, as autovacuum
    would): a benchmark's tables after a bulk load or a mass delete."""
    import psycopg2

    cnx = psycopg2.connect(dbname=db, host=DB_HOST, user=DB_USER, password=DB_PASSWORD)
    cnx.autocommit = True
    try:
        with cnx.cursor() as cur:
            for table in tables:
                cur.execute(f"VACUUM ANALYZE {table}")
    finally:
        cnx.close()


def open_registry(root, db, addons=None):
    """Odoo's registry of ``db``, loaded in this process (scripts that work
    through the ORM: benchmarks, the ETA backtest). ``addons`` is the addons
    path (default: Odoo's and this repository)."""
    for path in (str(REPO), str(root)):
        if path not in sys.path:
            sys.path.insert(0, path)
    from odoo.modules.registry import Registry
    from odoo.tools import config

    config.parse_config([*db_args(db), f"--addons-path={addons or addons_path(root)}",
                         "--log-level=warn"])
    return Registry(db)


def env_with_repo():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _psql(sql, db="postgres", user=None):
    env = dict(os.environ, PGPASSWORD=DB_PASSWORD)
    cmd = ["psql", "-h", DB_HOST, "-U", user or DB_USER, "-d", db, "-tAc", sql]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)


def ensure_postgres():
    """Start the local cluster when it is down and make sure Odoo's role
    exists (Odoo refuses to run as the postgres superuser)."""
    if _psql("SELECT 1").returncode == 0:
        return None
    if shutil.which("pg_lsclusters") and os.geteuid() == 0:
        out = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True,
                             check=False).stdout
        for line in out.splitlines():
            ver, cluster, _port, status = line.split()[:4]
            if status != "online":
                subprocess.run(["pg_ctlcluster", ver, cluster, "start"], check=False)
        create = (f"DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{DB_USER}') "
                  f"THEN CREATE ROLE \"{DB_USER}\" LOGIN SUPERUSER PASSWORD '{DB_PASSWORD}'; "
                  "END IF; END$$;")
        # The statement goes through stdin: inside `su -c "..."` the shell would expand
        # the `$$` of the DO block to its own PID.
        subprocess.run(["su", "postgres", "-c", "psql -q"], input=create, text=True,
                       check=False, capture_output=True)
    probe = _psql("SELECT 1")
    if probe.returncode != 0:
        return f"PostgreSQL is not reachable as {DB_USER}@{DB_HOST}: {probe.stderr.strip()}"
    return None


def db_args(db):
    return [f"--database={db}", f"--db_host={DB_HOST}", f"--db_user={DB_USER}",
            f"--db_password={DB_PASSWORD}"]


def drop_db(db):
    _psql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    subprocess.run(["rm", "-rf", str(Path.home() / ".local/share/Odoo/filestore" / db)],
                   check=False)


def db_exists(db):
    out = _psql(f"SELECT 1 FROM pg_database WHERE datname = '{db}'")
    return out.returncode == 0 and out.stdout.strip() == "1"


def _amqp_port_open(port=5672):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


def _apt_install(package):
    """Install a Debian package when this process may (root, or sudo without a
    password); quietly nothing elsewhere: the caller says what is missing."""
    if not shutil.which("apt-get"):
        return
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    if sudo and (not shutil.which("sudo") or subprocess.run(
            [*sudo, "true"], capture_output=True, check=False).returncode):
        return
    print(f"==> installing {package} from Debian's packages", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [*sudo, "apt-get", "install", "-y", "-qq", package]
    if subprocess.run(install, capture_output=True, check=False, env=env).returncode:
        subprocess.run([*sudo, "apt-get", "update", "-qq"], capture_output=True, check=False,
                       env=env)
        subprocess.run(install, capture_output=True, check=False, env=env)


def ensure_rabbitmq():
    """Start Debian's rabbitmq-server (installing it first where this process may) when
    its port is closed (the node down, or its app stopped by a test that crashed
    mid-outage). None when the broker answers,
    else the reason it cannot."""
    if _amqp_port_open():
        return None
    if not shutil.which("rabbitmq-server"):
        _apt_install("rabbitmq-server")
    if not shutil.which("rabbitmq-server"):
        return "rabbitmq-server is not installed (apt-get install rabbitmq-server)"
    ctl = ["rabbitmqctl", "--timeout", "30"]
    node_up = subprocess.run([*ctl, "status"], capture_output=True, check=False).returncode == 0
    if node_up:
        subprocess.run([*ctl, "start_app"], capture_output=True, check=False)
    else:
        subprocess.run(["rabbitmq-server", "-detached"], capture_output=True, check=False)
    subprocess.run(["rabbitmqctl", "await_startup", "--timeout", "120"], capture_output=True,
                   check=False)
    if _amqp_port_open():
        return None
    return "RabbitMQ did not start (rabbitmq-server -detached; see /var/log/rabbitmq)"
