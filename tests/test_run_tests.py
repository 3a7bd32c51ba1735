"""The test command itself: skips are counted, and under CI=true a skipped
requirement (Odoo, PostgreSQL, a browser, any skipped test) fails the run."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parent.parent / "tools"
sys.path.insert(0, str(TOOLS))
import run_tests  # noqa: E402

PASSING = "def test_one():\n    assert 1 + 1 == 2\n"
SKIPPING = ("import pytest\n\n"
            "def test_one():\n    assert True\n\n"
            "def test_tour():\n    pytest.skip('Chrome executable not found')\n")


def run(tmp_path, *args, ci=False, odoo_path="/nonexistent-odoo"):
    env = dict(os.environ, ODOO_PATH=odoo_path)
    env.pop("CI", None)
    if ci:
        env["CI"] = "true"
    proc = subprocess.run([sys.executable, str(TOOLS / "run_tests.py"), *args], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    return proc.returncode, proc.stdout.strip().splitlines()


@pytest.fixture
def suite(tmp_path):
    def make(source):
        (tmp_path / "test_suite.py").write_text(source)
        return str(tmp_path)
    return make


def test_pytest_counts_reads_passed_failed_and_skipped():
    out = "SKIPPED [1] t.py:3: no browser\n=== 3 passed, 2 failed, 1 skipped, 1 error in 0.2s ==="
    assert run_tests.pytest_counts(out, 1) == (3, 3, 1, ["SKIPPED [1] t.py:3: no browser"])


def test_pytest_no_tests_collected_is_a_failure():
    assert run_tests.pytest_counts("=== no tests ran in 0.01s ===", 5)[:3] == (0, 1, 0)


def test_pytest_nonzero_exit_without_counts_is_a_failure():
    assert run_tests.pytest_counts("ERROR: usage", 4)[:3] == (0, 1, 0)


def test_odoo_skip_log_line_is_recognised():
    line = ("2026-12-02 23:59:01,123 4242 INFO shipsync_test_1 "
            "odoo.addons.shipment_sync_monitor.tests.test_tour: skipped "
            "test_dashboard (odoo.addons.shipment_sync_monitor.tests.test_tour.T."
            "test_dashboard) : Chrome executable not found")
    m = run_tests.SKIP_LOG_RE.match(line)
    assert m and m.group(2) == "Chrome executable not found"
    assert not run_tests.SKIP_LOG_RE.match(line.replace(" INFO ", " WARNING "))


def test_outside_ci_missing_odoo_is_one_skipped_line_and_pure_result_stands(suite, tmp_path):
    rc, out = run(tmp_path, "--pure-path", suite(PASSING))
    assert rc == 0
    assert "SKIPPED odoo tests: ODOO_PATH=/nonexistent-odoo holds no odoo/release.py" in out
    assert out[-1] == "1 passed, 0 failed, 0 skipped"


def test_under_ci_missing_odoo_fails_with_the_reason(suite, tmp_path):
    rc, out = run(tmp_path, "--pure-path", suite(PASSING), ci=True)
    assert rc == 1
    assert "FAILED odoo tests: ODOO_PATH=/nonexistent-odoo holds no odoo/release.py" in out
    assert out[-1] == "1 passed, 1 failed, 0 skipped"


def test_odoo_only_with_no_odoo_fails_even_outside_ci(tmp_path):
    rc, out = run(tmp_path, "--odoo-only")
    assert rc == 1
    assert out[-1] == "0 passed, 1 failed, 0 skipped"


def test_skipped_test_is_counted_and_passes_outside_ci(suite, tmp_path):
    rc, out = run(tmp_path, "--pure-only", "--pure-path", suite(SKIPPING))
    assert rc == 0
    assert out[-1] == "1 passed, 0 failed, 1 skipped"
    assert any("Chrome executable not found" in line for line in out)


def test_skipped_test_fails_the_run_under_ci_with_its_reason(suite, tmp_path):
    rc, out = run(tmp_path, "--pure-only", "--pure-path", suite(SKIPPING), ci=True)
    assert rc == 1
    assert any(line.startswith("skipped: SKIPPED [1]") and "Chrome executable not found" in line
               for line in out)
    assert out[-2] == "1 passed, 0 failed, 1 skipped"
    assert out[-1].startswith("CI=true: 1 skipped test(s)")


def test_no_tests_collected_fails_the_run(suite, tmp_path):
    rc, out = run(tmp_path, "--pure-only", "--pure-path", suite("X = 1\n"))
    assert rc == 1
    assert "pure: no tests collected — counted as a failure" in out
    assert out[-1] == "0 passed, 1 failed, 0 skipped"
