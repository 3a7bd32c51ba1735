"""Contract tests: our adapters, parsers and verifiers held against what the partners
publish (EasyPost's recorded API traffic and webhook vector, Sendcloud's OpenAPI
documents, the official SDKs from PyPI).

The partner artifacts are read at test time from the directory named by the
``CONTRACTS_DIR`` environment variable (a path relative to the repository root is
allowed); they are never copied into the repository. ``locate_contracts_dir`` is the
one place that decides whether the contract tests can run: ``tools/run_tests.py``
and this package's ``conftest.py`` both ask it.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: What a complete contracts directory holds (checked before any test runs).
REQUIRED = ("easypost/cassettes", "easypost/event-body.json", "easypost/webhook-fixture.json",
            "sendcloud", "amazon/ordersV0.json")


def locate_contracts_dir(environ=None) -> tuple[Path | None, str]:
    """``(path, "")`` when ``CONTRACTS_DIR`` names a usable directory, else
    ``(None, reason)``."""
    environ = os.environ if environ is None else environ
    raw = (environ.get("CONTRACTS_DIR") or "").strip()
    if not raw:
        return None, "CONTRACTS_DIR is not set (make contracts points it at ../shared/contracts)"
    path = Path(raw)
    if not path.is_absolute():
        path = (REPO / path).resolve()
    if not path.is_dir():
        return None, f"CONTRACTS_DIR={raw} is not a directory ({path})"
    missing = [item for item in REQUIRED if not (path / item).exists()]
    if missing:
        return None, f"CONTRACTS_DIR={raw} lacks {', '.join(missing)}"
    return path, ""
