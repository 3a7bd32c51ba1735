"""The test command's contract gate: one SKIPPED line without the partner artifacts,
a failed run under CI=true."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _run(tmp_path, **env):
    full = {k: v for k, v in os.environ.items() if k not in ("CI", "CONTRACTS_DIR")}
    full.update(env)
    return subprocess.run(
        [sys.executable, "tools/run_tests.py", "--contracts-only"], cwd=REPO, env=full,
        capture_output=True, text=True, timeout=120, check=False)


def test_missing_contracts_dir_prints_one_skipped_line(tmp_path):
    proc = _run(tmp_path, CONTRACTS_DIR=str(tmp_path / "absent"))
    lines = proc.stdout.splitlines()
    skipped = [line for line in lines if line.startswith("SKIPPED contract tests: ")]
    assert len(skipped) == 1, proc.stdout
    assert "is not a directory" in skipped[0]
    assert proc.returncode == 0
    assert lines[-1] == "0 passed, 0 failed, 0 skipped"


def test_unset_contracts_dir_is_skipped_with_its_reason(tmp_path):
    proc = _run(tmp_path)
    assert "SKIPPED contract tests: CONTRACTS_DIR is not set" in proc.stdout
    assert proc.returncode == 0


def test_missing_contracts_dir_fails_under_ci(tmp_path):
    proc = _run(tmp_path, CI="true", CONTRACTS_DIR=str(tmp_path / "absent"))
    assert proc.returncode == 1
    assert "SKIPPED contract tests" not in proc.stdout
    assert "FAILED contract tests:" in proc.stdout
    assert proc.stdout.splitlines()[-1] == "0 passed, 1 failed, 0 skipped"
