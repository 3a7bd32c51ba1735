"""shipsync.wms.files: atomic writes, inbound listing, moves, detection, dispatch."""

import os
import sys
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given

from shipsync.wms import csv_format, files, json_format, x12
from shipsync.wms.messages import Address, Confirmation, FormatError, ReleaseLine, ReleaseOrder

FIXTURES = Path(__file__).parent / "fixtures" / "wms"
sys.path.insert(0, str(FIXTURES))
from wms_strategies import confirmation_batches, release_orders  # noqa: E402

ORDER = ReleaseOrder(
    "WH/OUT/00012", "corr-12", 3, "create", "WH", Address(name="Bob"), "", "", None,
    (ReleaseLine("L1", "DESK-01", "", Decimal("2"), "EA"),),
)  # fmt: skip


def test_write_atomic_writes_and_leaves_no_temp_file(tmp_path):
    path = files.write_atomic(tmp_path / "out", "a.csv", b"hello")
    assert path == tmp_path / "out" / "a.csv" and path.read_bytes() == b"hello"
    files.write_atomic(tmp_path / "out", "a.csv", b"again")
    assert path.read_bytes() == b"again"
    assert sorted(os.listdir(tmp_path / "out")) == ["a.csv"]


def test_write_atomic_cleans_up_when_the_rename_fails(tmp_path, monkeypatch):
    def boom(src, dst):
        raise OSError("disk on fire")

    monkeypatch.setattr(files.os, "replace", boom)
    with pytest.raises(OSError, match="disk on fire"):
        files.write_atomic(tmp_path, "a.csv", b"x")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("name", ["", "..", "a/b.csv", "../x"])
def test_write_atomic_refuses_path_names(tmp_path, name):
    with pytest.raises(ValueError):
        files.write_atomic(tmp_path, name, b"x")


def test_content_hash_is_sha256_hex():
    assert files.content_hash(b"") == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


def _touch(directory: Path, name: str, mtime: int) -> Path:
    path = directory / name
    path.write_bytes(b"x")
    os.utime(path, ns=(mtime, mtime))
    return path


def test_list_inbound_orders_by_mtime_then_name_and_skips_temp_files(tmp_path):
    _touch(tmp_path, "c.csv", 3_000_000_000)
    _touch(tmp_path, "b.json", 1_000_000_000)
    _touch(tmp_path, "a.945", 1_000_000_000)
    _touch(tmp_path, "D.EDI", 2_000_000_000)
    for junk in (".hidden.csv", "~lock.csv", "part.csv.tmp", "x.csv.part", "notes.pdf"):
        _touch(tmp_path, junk, 500)
    (tmp_path / "processed").mkdir()
    _touch(tmp_path / "processed", "old.csv", 100)
    names = [p.name for p in files.list_inbound(tmp_path)]
    assert names == ["a.945", "b.json", "D.EDI", "c.csv"]
    assert [p.name for p in files.list_inbound(tmp_path, patterns=("*.json",))] == ["b.json"]
    assert files.list_inbound(tmp_path / "missing") == []


def test_atomic_write_temp_file_is_never_listed(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append(files.list_inbound(tmp_path))
        real_replace(src, dst)

    monkeypatch.setattr(files.os, "replace", spy)
    files.write_atomic(tmp_path, "conf.csv", b"data")
    assert seen == [[]]
    assert [p.name for p in files.list_inbound(tmp_path)] == ["conf.csv"]


def test_move_to_never_overwrites(tmp_path):
    first = _touch(tmp_path, "conf.csv", 1)
    moved = files.move_to(first, "processed")
    assert moved == tmp_path / "processed" / "conf.csv" and not first.exists()
    second = tmp_path / "conf.csv"
    second.write_bytes(b"second")
    moved2 = files.move_to(second, "processed")
    assert moved2.name == "conf-1.csv" and moved2.read_bytes() == b"second"
    assert (tmp_path / "processed" / "conf.csv").read_bytes() == b"x"
    with pytest.raises(ValueError):
        files.move_to(moved2, "../elsewhere")


def test_error_report_lands_beside_the_file_in_error(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"junk")
    report = files.write_error_report(bad, [(3, "bad quantity"), (0, "no position")])
    assert report == tmp_path / "error" / "bad.csv.errors.txt"
    text = report.read_text()
    assert "line 3: bad quantity" in text and "no position" in text
    moved = files.move_to(bad, "error")
    assert moved == tmp_path / "error" / "bad.csv"
    assert files.write_error_report(moved, [(1, "x")]) == report


@pytest.mark.parametrize(
    ("name", "data", "fmt"),
    [
        ("a.csv", b"{}", "csv"),
        ("a.JSON", b"x", "json"),
        ("a.945", b"", "x12"),
        ("a.edi", b"", "x12"),
        ("a.997", b"", "x12"),
        ("a.x12", b"", "x12"),
        ("inbound.dat", b"\xef\xbb\xbf  ISA*00*", "x12"),
        ("inbound.dat", b'\n{"schema": 1}', "json"),
        ("inbound", b"message_id;kind", "csv"),
    ],
)
def test_detect_format(name, data, fmt):
    assert files.detect_format(name, data) == fmt


@given(confirmation_batches())
def test_read_confirmations_dispatches_csv_and_json(confs):
    assert files.read_confirmations("c.csv", csv_format.write_confirmations(confs)) == confs
    assert files.read_confirmations("c.json", json_format.write_confirmations(confs)) == confs


def test_read_confirmations_dispatches_x12_and_rejects_bad_files():
    at = datetime(2024, 5, 1, tzinfo=timezone.utc)
    confs = [Confirmation("m", "release_ack", "o", "", at)]
    assert files.read_confirmations("in.edi", x12.write_confirmations(confs)) == confs
    bad = (FIXTURES / "confirmations_bad.csv").read_bytes()
    with pytest.raises(FormatError):
        files.read_confirmations("confirmations_bad.csv", bad)


def test_read_stock_refuses_x12():
    with pytest.raises(FormatError, match="X12"):
        files.read_stock("s.edi", b"ISA")
    assert files.read_stock("s.csv", b"product_code,quantity\nP,1\n")[0].quantity == 1


@pytest.mark.parametrize(("fmt", "ext"), [("csv", "csv"), ("json", "json"), ("x12", "940")])
def test_write_release_names_and_bytes(fmt, ext):
    name, data = files.write_release(fmt, ORDER)
    assert name.startswith("WH_OUT_00012_") and name.endswith(f"-r3.{ext}")
    module = {"csv": csv_format, "json": json_format, "x12": x12}[fmt]
    assert module.read_releases(data) == [ORDER]


def test_write_release_passes_options_and_refuses_unknown_formats():
    _, data = files.write_release("x12", ORDER, envelope=x12.Envelope(control_number=77))
    assert b"*000000077*" in data
    with pytest.raises(ValueError, match="unknown format"):
        files.write_release("xml", ORDER)


@given(release_orders)
def test_release_file_names_are_safe_and_distinct(order):
    name = files.release_file_name(order, "csv")
    assert all(ch.isascii() and (ch.isalnum() or ch in "._-") for ch in name)
    assert not name.startswith(".")
    other = ReleaseOrder(**{**order.__dict__, "order_ref": order.order_ref + "/"})
    assert files.release_file_name(other, "csv") != name
