"""shipsync is pure Python: no module imports odoo, statically or at import time."""

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "shipsync"


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield path, ".".join(parts)


def _odoo_imports(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) in
            ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            names = [str(node.args[0].value)]
        else:
            continue
        for name in names:
            if name == "odoo" or name.startswith("odoo."):
                yield node.lineno, name


def test_no_module_imports_odoo_statically():
    offenders = []
    for path, _module in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        offenders += [f"{path}:{line}: {name}" for line, name in _odoo_imports(tree)]
    assert not offenders, "shipsync must never import odoo:\n" + "\n".join(offenders)


GUARD = """
import importlib, sys

class NoOdoo:
    def find_spec(self, name, path=None, target=None):
        if name == "odoo" or name.startswith("odoo."):
            raise ImportError("shipsync imported " + name)
        return None

sys.meta_path.insert(0, NoOdoo())
for name in sys.argv[1:]:
    importlib.import_module(name)
assert not any(m == "odoo" or m.startswith("odoo.") for m in sys.modules)
print("ok", len(sys.argv) - 1)
"""


def test_every_module_imports_without_odoo():
    modules = [module for _path, module in _modules()]
    assert "shipsync.milestones" in modules
    result = subprocess.run(
        [sys.executable, "-c", GUARD, *modules],
        cwd=PACKAGE.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"ok {len(modules)}"
