"""Label spend: a retried booking never buys a second EasyPost label.

EasyPost honours no ``Idempotency-Key``. The adapter writes the shipment id into a
journal as soon as the create returns (before the buy); each attempt below runs in a
fresh Python process that only shares that journal file, and the sandbox applies the
buy and then drops the connection (the answer is lost after the purchase). A lost buy
answer is read back at once; ``fail_after_drop`` keeps the partner unreachable for that
read, so the next attempt (another process) has to settle it from the journal."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

ATTEMPT = r"""
import json, sys
from decimal import Decimal
from shipsync.adapters.base import Address, AdapterError, Parcel, ShipmentRequest
from shipsync.adapters.journal import FileJournal
from shipsync.partners.easypost.outbound import EasyPostAdapter

url, journal, key, parcels = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
req = ShipmentRequest(
    reference="WH/OUT/00042", correlation_id="corr-42",
    ship_from=Address(name="Warehouse", street="1 Main St", city="SF", zip="94105",
                      country_code="US"),
    ship_to=Address(name="Ada", street="2 Side St", city="LA", zip="90001", country_code="US"),
    parcels=tuple(Parcel(weight_kg=Decimal("1.5"), reference=f"P{i}") for i in range(parcels)),
)
adapter = EasyPostAdapter(url, "EZTK_key", timeout=(2, 5), journal=FileJournal(journal))
try:
    result = adapter.create_shipment(req, key)
except AdapterError as exc:
    print(json.dumps({"error": exc.code, "retryable": exc.retryable}))
else:
    print(json.dumps({"tracking": list(result.tracking_numbers),
                      "labels": len(result.labels)}))
"""


def _attempt(sandbox, journal, key="ship-1", parcels=1) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", ATTEMPT, sandbox.url, str(journal), key, str(parcels)],
        capture_output=True, text=True, cwd=ROOT, timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _purchases(sandbox) -> int:
    return sum(1 for s in sandbox.shipments.values() if s.get("tracking_code"))


def _journal(path) -> dict:
    return json.loads(path.read_text())


def test_answer_lost_after_the_buy_then_retry_in_a_fresh_process_buys_once(sandbox, tmp_path):
    journal = tmp_path / "journal.json"
    sandbox.configure(drop_after_buy=1, fail_after_drop=1)
    first = _attempt(sandbox, journal)
    assert first["retryable"] is True
    assert _purchases(sandbox) == 1
    # the journal says the buy was sent: the label may be paid
    assert _journal(journal)["ship-1"]["event"] == "buying"
    second = _attempt(sandbox, journal)
    assert len(second["tracking"]) == 1 and second["labels"] == 1
    assert _purchases(sandbox) == 1 and len(sandbox.shipments) == 1
    [shipment] = sandbox.shipments.values()
    assert second["tracking"] == [shipment["tracking_code"]]
    # the retry read the shipment it had created, it did not create or buy again
    paths = [(c["method"], c["path"]) for c in sandbox.calls]
    assert paths.count(("POST", "/v2/shipments")) == 1
    assert sum(1 for m, p in paths if p.endswith("/buy")) == 1
    assert ("GET", f"/v2/shipments/{shipment['id']}") in paths
    assert _journal(journal)["ship-1"] == {
        "event": "bought", "shipment_id": shipment["id"],
        "tracking_number": shipment["tracking_code"], "adapter": "easypost"}


def test_answer_lost_after_the_buy_is_read_back_at_once_and_is_the_answer(sandbox, tmp_path):
    journal = tmp_path / "journal.json"
    sandbox.configure(drop_after_buy=1)
    result = _attempt(sandbox, journal, "ship-4")
    [shipment] = sandbox.shipments.values()
    assert result == {"tracking": [shipment["tracking_code"]], "labels": 1}
    assert _purchases(sandbox) == 1
    paths = [(c["method"], c["path"]) for c in sandbox.calls]
    assert paths.count(("POST", f"/v2/shipments/{shipment['id']}/buy")) == 1
    assert ("GET", f"/v2/shipments/{shipment['id']}") in paths
    assert _journal(journal)["ship-4"]["event"] == "bought"


def test_a_buy_refused_before_anything_is_paid_is_not_read_as_paid(sandbox, tmp_path):
    """A 503 on the buy (nothing applied): the read-back shows no label, the error stands
    and the journal still says ``buying`` (the retry buys that same shipment)."""
    journal = tmp_path / "journal.json"
    original = sandbox._failure

    def fail_buys(method, path):
        if path.endswith("/buy"):
            return 503, {"error": {"code": "SERVICE.UNAVAILABLE", "message": "busy"}}, {}
        return original(method, path)

    sandbox._failure = fail_buys
    try:
        first = _attempt(sandbox, journal, "ship-5")
    finally:
        del sandbox._failure
    assert first["retryable"] is True
    assert _purchases(sandbox) == 0
    assert _journal(journal)["ship-5"]["event"] == "buying"


def test_two_parcels_second_answer_lost_buys_two_labels_in_all(sandbox, tmp_path):
    journal = tmp_path / "journal.json"
    sandbox.configure(drop_after_buy=1, fail_after_drop=1)
    assert _attempt(sandbox, journal, "ship-2", parcels=2)["retryable"] is True
    assert _purchases(sandbox) == 1
    result = _attempt(sandbox, journal, "ship-2", parcels=2)
    assert len(set(result["tracking"])) == 2 and result["labels"] == 2
    assert _purchases(sandbox) == 2 and len(sandbox.shipments) == 2


def test_created_but_not_bought_is_bought_not_created_again(sandbox, tmp_path):
    journal = tmp_path / "journal.json"
    # first attempt: the create succeeds, the buy fails with a 503 before anything is paid
    calls_before = len(sandbox.calls)
    original = sandbox._failure

    def fail_buys(method, path):
        if path.endswith("/buy"):
            return 503, {"error": {"code": "SERVICE.UNAVAILABLE", "message": "busy"}}, {}
        return original(method, path)

    sandbox._failure = fail_buys
    try:
        assert _attempt(sandbox, journal, "ship-3")["retryable"] is True
    finally:
        del sandbox._failure
    assert len(sandbox.calls) > calls_before and _purchases(sandbox) == 0
    result = _attempt(sandbox, journal, "ship-3")
    assert len(result["tracking"]) == 1
    assert len(sandbox.shipments) == 1 and _purchases(sandbox) == 1
