"""Fixtures of the contract tests.

* Without a usable ``CONTRACTS_DIR`` every contract test is skipped with the reason,
  except under ``CI=true`` where they fail (a CI run must not pass without them).
* ``replay_server(*cassette_names)`` starts a :class:`ReplayServer` on 127.0.0.1; at
  teardown a test that otherwise passed fails if anything unrecorded was requested.
"""

from __future__ import annotations

import os

import pytest

from . import locate_contracts_dir
from .cassettes import load_cassette
from .replay import ReplayServer


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def contracts_dir():
    path, reason = locate_contracts_dir()
    if path is None:
        if _ci():
            pytest.fail(f"contract tests cannot run under CI=true: {reason}", pytrace=False)
        pytest.skip(f"contract tests: {reason}")
    return path


@pytest.fixture(autouse=True)
def _require_contracts(contracts_dir):
    """Every test of this package needs the partner artifacts."""
    return contracts_dir


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item._contract_call_failed = report.failed or hasattr(report, "wasxfail")


@pytest.fixture
def replay_server(request, contracts_dir):
    """Factory: ``replay_server("test_shipment_buy", ...)`` -> started ReplayServer."""
    servers: list[ReplayServer] = []

    def _make(*names: str, **kw) -> ReplayServer:
        server = ReplayServer(*(load_cassette(contracts_dir, n) for n in names), **kw).start()
        servers.append(server)
        return server

    yield _make
    for server in servers:
        server.stop()
    if not getattr(request.node, "_contract_call_failed", True):
        for server in servers:
            server.assert_only_recorded()
