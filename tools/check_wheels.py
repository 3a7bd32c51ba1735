"""`make check-wheels`: build a wheel of the engine and of every addon, install
them into a fresh virtual environment and check what they hold.

- ``pip wheel`` builds ``shipsync`` (setuptools) and each addon (whool, from
  its ``pyproject.toml``), without build isolation: whool comes from
  requirements-lint.txt, nothing is downloaded.
- A fresh virtual environment (it sees this Python's site-packages, for Odoo
  and the engine's own dependencies) gets the five wheels, nothing else.
- Every file git tracks in an addon is in its installed tree (manifest, data,
  demo, views, static, i18n, readme); every file the manifest names exists
  there; each addon requires ``odoo==18.0.*``, the addons it depends on, and
  exactly the Python distributions of its manifest's
  ``external_dependencies`` (the engine with its version range); the engine's
  wheel holds its package data and its version satisfies every range.
- In the environment, ``import odoo.addons.<addon>`` and ``import shipsync``
  load the installed copies, not this checkout.

Prints one line per wheel and fails (exit 1) on any finding."""

import argparse
import ast
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parent.parent
ADDONS = ("shipment_sync", "shipment_sync_portal", "shipment_sync_carrier", "shipment_sync_wms",
          "shipment_sync_monitor", "shipment_sync_channel", "shipment_sync_tms")
#: The engine's data files its wheel must carry (globs under shipsync/).
ENGINE_DATA = ("schemas/*.json", "data/*.json", "partners/*/*.wsdl")


def git_files(path):
    out = subprocess.run(["git", "ls-files", "-z", "--", path], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout
    return [f for f in out.split("\0") if f]


def expected():
    """What the installed wheels must hold, from this checkout."""
    addons = {}
    for name in ADDONS:
        manifest = ast.literal_eval((REPO / name / "__manifest__.py").read_text())
        # pyproject.toml only tells whool how to build: it is not part of the addon.
        files = [f for f in git_files(name) if f != f"{name}/pyproject.toml"]
        named = [*manifest.get("data", []), *manifest.get("demo", [])]
        assets = [glob for globs in manifest.get("assets", {}).values() for glob in globs]
        addons[name] = {
            "files": files,
            "named": [f"{name}/{f}" for f in named],
            "assets": assets,
            "requires": sorted(
                ["odoo==18.0.*"]
                + [f"odoo-addon-{dep}==18.0.*" for dep in manifest["depends"] if dep in ADDONS]
                + manifest.get("external_dependencies", {}).get("python", [])),
            "must_have": [f"{name}/__manifest__.py", f"{name}/static/description/icon.png",
                          f"{name}/static/description/index.html", f"{name}/README.rst"]
                         + [f for f in files if f.startswith(f"{name}/i18n/")][:1],
        }
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    engine = {
        "version": project["version"],
        "requires": sorted(project["dependencies"]),
        "data": sorted(str(p.relative_to(REPO)) for glob in ENGINE_DATA
                       for p in (REPO / "shipsync").glob(glob)),
    }
    return {"addons": addons, "engine": engine}


def verify(spec_path):
    """Runs inside the fresh environment: check the installed wheels."""
    import importlib
    import importlib.metadata as md
    from fnmatch import fnmatch

    from packaging.requirements import Requirement
    from packaging.version import Version

    spec = json.loads(Path(spec_path).read_text())
    prefix = Path(sys.prefix).resolve()
    problems = []

    def installed(dist, strip):
        return {str(f).removeprefix(strip) for f in (dist.files or ())}

    def loaded_from_env(module):
        mod = importlib.import_module(module)
        where = Path(mod.__file__).resolve()
        if prefix not in where.parents:
            problems.append(f"import {module} loads {where}, not the installed wheel")

    def normalized(reqs):
        return sorted(str(Requirement(r)) for r in reqs)

    engine = md.distribution("shipsync")
    files = installed(engine, "")
    for data in spec["engine"]["data"]:
        if data not in files:
            problems.append(f"shipsync wheel lacks {data}")
    runtime = [r for r in engine.requires or [] if "extra ==" not in r]
    if normalized(runtime) != normalized(spec["engine"]["requires"]):
        problems.append(f"shipsync requires {runtime}, pyproject says "
                        f"{spec['engine']['requires']}")
    if engine.version != spec["engine"]["version"]:
        problems.append(f"shipsync wheel is {engine.version}, pyproject says "
                        f"{spec['engine']['version']}")
    loaded_from_env("shipsync")
    print(f"shipsync {engine.version}: {len(files)} files", flush=True)

    import odoo.release
    from odoo.modules.module import initialize_sys_path
    from odoo.tools import config

    # Odoo's own addons (the suite's dependencies), as Odoo finds them when it runs.
    core = Path(odoo.release.__file__).resolve().parent.parent / "addons"
    config.parse_config([f"--addons-path={core}"] if core.is_dir() else [])
    initialize_sys_path()
    for name, want in spec["addons"].items():
        dist = md.distribution(f"odoo-addon-{name}")
        files = installed(dist, "odoo/addons/")
        for path in want["files"]:
            if path not in files:
                problems.append(f"{name} wheel lacks {path}")
        for path in [*want["named"], *want["must_have"]]:
            if path not in files:
                problems.append(f"{name} wheel lacks {path} (named by the manifest or required)")
        for glob in want["assets"]:
            if not any(fnmatch(f, glob.replace("**/", "*")) for f in files):
                problems.append(f"{name} wheel has no asset matching {glob}")
        requires = normalized(dist.requires or [])
        if requires != normalized(want["requires"]):
            problems.append(f"{name} wheel requires {requires}, expected "
                            f"{normalized(want['requires'])}")
        for req in map(Requirement, dist.requires or []):
            if req.name == "odoo":
                version = ".".join(map(str, odoo.release.version_info[:2]))
            else:
                try:
                    version = md.version(req.name)
                except md.PackageNotFoundError:
                    problems.append(f"{name} requires {req}, not installed")
                    continue
            if not req.specifier.contains(Version(version), prereleases=True):
                problems.append(f"{name} requires {req}, installed {req.name} {version}")
        loaded_from_env(f"odoo.addons.{name}")
        print(f"odoo-addon-{name} {dist.version}: {len(files)} files, requires "
              f"{', '.join(requires)}", flush=True)
    for problem in problems:
        print("WHEEL>", problem, flush=True)
    return 1 if problems else 0


def run(cmd, **kwargs):
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)
    if proc.returncode != 0:
        print(f"FAILED: {' '.join(map(str, cmd))}\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}",
              flush=True)
        sys.exit(1)
    return proc


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--verify", help=argparse.SUPPRESS)
    parser.add_argument("--keep", action="store_true", help="keep the wheels and the venv")
    args = parser.parse_args()
    if args.verify:
        return verify(args.verify)
    started = time.time()
    try:
        import whool  # noqa: F401
    except ImportError:
        print("==> installing whool (requirements-lint.txt)", flush=True)
        run([sys.executable, "-m", "pip", "install", "-q", "-r",
             str(REPO / "requirements-lint.txt")])
    tmp = Path(tempfile.mkdtemp(prefix="shipsync-wheels-"))
    dist, venv = tmp / "dist", tmp / "venv"
    run([sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check",
         "--no-build-isolation", "--no-deps", "-w", str(dist), str(REPO),
         *(str(REPO / name) for name in ADDONS)], cwd=tmp)
    wheels = sorted(dist.glob("*.whl"))
    print(f"==> built {len(wheels)} wheels: {', '.join(w.name for w in wheels)}", flush=True)
    if len(wheels) != len(ADDONS) + 1:
        print("FAILED: expected one wheel for the engine and one per addon", flush=True)
        return 1
    run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)])
    python = venv / "bin" / "python"
    run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
         "--no-index", "--no-deps", "--ignore-installed", *map(str, wheels)])
    spec = tmp / "expected.json"
    spec.write_text(json.dumps(expected()))
    # Outside the checkout and without PYTHONPATH: only the installed copies are found.
    proc = subprocess.run([str(python), "-I", str(Path(__file__).resolve()), "--verify",
                           str(spec)], cwd=tmp, capture_output=True, text=True, check=False)
    sys.stdout.write(proc.stdout)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-3000:])
    if not args.keep:
        subprocess.run(["rm", "-rf", str(tmp)], check=False)
    status = "ok" if proc.returncode == 0 else "FAILED"
    print(f"check-wheels: {status}, {len(wheels)} wheels, {time.time() - started:.0f}s"
          + (f" ({tmp})" if args.keep else ""), flush=True)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
