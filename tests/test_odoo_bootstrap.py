"""make test / make demo on a fresh machine: without Odoo they clone the tree
named by ODOO_GIT_URL (default Odoo's official repository; shallow, one
branch) into the repository's ignored .odoo/ folder and give it a virtual
environment; ODOO_BOOTSTRAP=0 opts out; no git, a wrong tree or a failed clone
is a one-line reason, not a traceback."""

import subprocess
import sys
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parent.parent / "tools"
sys.path.insert(0, str(TOOLS))
import odoo_env  # noqa: E402

GIT = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", "-c", "init.defaultBranch=x"]


def odoo_repo(path, version="18, 0"):
    """A git repository shaped like Odoo's: two commits on branch 18.0 (the
    second one holds the release file), one on 17.0."""
    path.mkdir()
    subprocess.run([*GIT, "init", "-q", str(path)], check=True)
    subprocess.run([*GIT, "-C", str(path), "checkout", "-q", "-b", "17.0"], check=True)

    def commit(release, message):
        (path / "odoo").mkdir(exist_ok=True)
        (path / "odoo" / "release.py").write_text(
            f"FINAL = 'final'\nversion_info = ({release}, 0, FINAL, '')\n")
        (path / "odoo-bin").write_text(f"#!/usr/bin/env python3\n# {message}\n")
        subprocess.run([*GIT, "-C", str(path), "add", "-A"], check=True)
        subprocess.run([*GIT, "-C", str(path), "commit", "-qm", message], check=True)

    commit("17, 0", "17.0")
    subprocess.run([*GIT, "-C", str(path), "checkout", "-q", "-b", "18.0"], check=True)
    commit(version, "first")
    commit(version, "second")
    return path


@pytest.fixture
def bootstrap(tmp_path, monkeypatch):
    target = tmp_path / "dot-odoo"
    monkeypatch.setattr(odoo_env, "BOOTSTRAP", target)
    # Odoo's requirements are this Python's already (the venv sees them): no pip run here.
    monkeypatch.setattr(odoo_env, "BOOTSTRAP_REQUIREMENTS", ())
    return target


def test_bootstrap_shallow_clones_the_18_branch_and_makes_a_venv(tmp_path, bootstrap):
    repo = odoo_repo(tmp_path / "odoo-src")
    root, reason = odoo_env.bootstrap_odoo(str(repo), "18.0")
    assert reason is None
    assert root == bootstrap / "odoo"
    assert (root / "odoo" / "release.py").is_file()
    shallow = subprocess.run(["git", "-C", str(root), "rev-list", "--count", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert shallow == "1"
    branches = subprocess.run(["git", "-C", str(root), "branch", "-r"], capture_output=True,
                              text=True, check=True).stdout
    assert "17.0" not in branches
    python = Path(odoo_env.odoo_python(root))
    assert python == bootstrap / "venv" / "bin" / "python"
    # The venv sees this Python's packages (Odoo's requirements already here stay).
    out = subprocess.run([str(python), "-c", "import pytest; print('ok')"],
                         capture_output=True, text=True, check=False)
    assert out.stdout.strip() == "ok"
    assert odoo_env.odoo_bin(root) == [str(python), str(root / "odoo-bin")]
    # A second run reuses the tree: no clone (the source may be gone by then).
    subprocess.run(["rm", "-rf", str(repo)], check=True)
    assert odoo_env.bootstrap_odoo(str(repo), "18.0") == (root, None)


def test_bootstrap_refuses_a_tree_that_is_not_18(tmp_path, bootstrap):
    repo = odoo_repo(tmp_path / "odoo-src")
    root, reason = odoo_env.bootstrap_odoo(str(repo), "17.0")
    assert root is None
    assert reason.endswith("holds Odoo (17, 0), not 18.0")
    assert not (bootstrap / "venv").exists()
    assert not (bootstrap / "odoo").exists()  # a right URL later clones again


def test_bootstrap_reports_a_failed_clone_in_one_line(tmp_path, bootstrap):
    root, reason = odoo_env.bootstrap_odoo(str(tmp_path / "no-such-repo"), "18.0")
    assert root is None
    assert reason.startswith("git clone of ") and "\n" not in reason
    assert not (bootstrap / "odoo").exists()


@pytest.fixture
def no_odoo(tmp_path, monkeypatch):
    """No ODOO_PATH and no importable Odoo (a Python without it)."""
    for name in ("ODOO_PATH", "ODOO_GIT_URL", "ODOO_BOOTSTRAP", "ODOO_BRANCH"):
        monkeypatch.delenv(name, raising=False)
    hide = tmp_path / "hide"
    (hide / "odoo").mkdir(parents=True)
    (hide / "odoo" / "__init__.py").write_text("raise ImportError('no Odoo here')\n")
    monkeypatch.setenv("PYTHONPATH", str(hide))


def test_find_odoo_bootstraps_from_the_official_repository_by_default(
        tmp_path, bootstrap, no_odoo, monkeypatch):
    """Without ODOO_GIT_URL the clone comes from Odoo's official repository,
    branch 18.0; ODOO_GIT_URL names another one."""
    calls = []
    monkeypatch.setattr(odoo_env, "bootstrap_odoo",
                        lambda url, branch: calls.append((url, branch)) or (None, "stop"))
    assert odoo_env.find_odoo() == (None, "stop")
    assert calls == [("https://github.com/odoo/odoo.git", "18.0")]
    monkeypatch.setenv("ODOO_GIT_URL", "/somewhere/odoo")
    monkeypatch.setenv("ODOO_BRANCH", "18.0-fix")
    odoo_env.find_odoo()
    assert calls[-1] == ("/somewhere/odoo", "18.0-fix")


def test_find_odoo_bootstraps_then_remembers_the_tree(tmp_path, bootstrap, no_odoo,
                                                      monkeypatch):
    repo = odoo_repo(tmp_path / "odoo-src")
    monkeypatch.setattr(odoo_env, "DEFAULT_ODOO_GIT_URL", str(repo))
    root, reason = odoo_env.find_odoo()
    assert (root, reason) == (bootstrap / "odoo", None)
    # Found again with the source gone: the bootstrapped tree is remembered.
    subprocess.run(["rm", "-rf", str(repo)], check=True)
    assert odoo_env.find_odoo() == (bootstrap / "odoo", None)


def test_odoo_bootstrap_0_opts_out(bootstrap, no_odoo, monkeypatch):
    monkeypatch.setenv("ODOO_BOOTSTRAP", "0")
    monkeypatch.setattr(odoo_env, "bootstrap_odoo", lambda url, branch: pytest.fail("cloned"))
    root, reason = odoo_env.find_odoo()
    assert root is None and "ODOO_BOOTSTRAP=0" in reason and "\n" not in reason


def test_without_git_the_reason_says_so(bootstrap, no_odoo, monkeypatch):
    real_which = odoo_env.shutil.which
    monkeypatch.setattr(odoo_env.shutil, "which",
                        lambda name: None if name == "git" else real_which(name))
    monkeypatch.setattr(odoo_env, "bootstrap_odoo", lambda url, branch: pytest.fail("cloned"))
    root, reason = odoo_env.find_odoo()
    assert root is None and "no git" in reason


def test_an_unreachable_repository_is_one_reason_line(tmp_path, bootstrap, no_odoo,
                                                      monkeypatch):
    """Offline, or a wrong URL: the clone fails and the reason is one line."""
    monkeypatch.setenv("ODOO_GIT_URL", "http://127.0.0.1:9/odoo.git")
    root, reason = odoo_env.find_odoo()
    assert root is None
    assert reason.startswith("git clone of http://127.0.0.1:9/odoo.git") and "\n" not in reason
    assert not (bootstrap / "odoo").exists()


def test_the_bootstrap_folder_is_ignored_by_git():
    repo = Path(odoo_env.REPO)
    out = subprocess.run(["git", "-C", str(repo), "check-ignore", "-q", ".odoo/odoo/odoo-bin"],
                         check=False)
    assert out.returncode == 0
