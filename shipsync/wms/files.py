"""Directory exchange with a WMS that has no API (pure stdlib plus the format modules).

The addon drops releases into an outbound directory with :func:`write_atomic`
(a WMS polling it never sees a half-written file), lists the inbound directory
with :func:`list_inbound`, parses each file with :func:`read_confirmations`, and
then moves it with :func:`move_to` to ``processed/`` or, with an
:func:`write_error_report`, to ``error/``. A file is applied whole or not at all:
every reader raises :class:`~shipsync.wms.messages.FormatError` listing all
problems. :func:`content_hash` gives the key to refuse a file seen before.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
import tempfile
from pathlib import Path

from . import csv_format, json_format, x12
from .messages import Confirmation, FormatError, ReleaseOrder, StockSnapshotLine

INBOUND_PATTERNS = ("*.csv", "*.json", "*.945", "*.997", "*.x12", "*.edi")
TEMP_SUFFIXES = (".tmp", ".part", ".partial", ".filepart", ".swp", ".crdownload", "~")
FORMATS = ("csv", "json", "x12")
RELEASE_EXTENSIONS = {"csv": "csv", "json": "json", "x12": "940"}
_EXTENSION_FORMATS = {
    ".csv": "csv", ".txt": "csv", ".json": "json",
    ".x12": "x12", ".edi": "x12", ".940": "x12", ".945": "x12", ".997": "x12",
}  # fmt: skip
_MODULES = {"csv": csv_format, "json": json_format, "x12": x12}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def write_atomic(directory: Path, name: str, data: bytes) -> Path:
    """Write ``data`` to ``directory/name`` atomically and durably; return the path.

    The bytes go to a hidden temporary file in the same directory, are fsynced,
    then renamed over ``name`` (replacing an existing file). On failure the
    temporary file is removed.
    """
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise ValueError(f"invalid file name {name!r}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        target = directory / name
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_directory(directory)
    return target


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. Windows: directories cannot be opened
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def content_hash(data: bytes) -> str:
    """sha256 hex digest, to recognise a file that was already processed."""
    return hashlib.sha256(data).hexdigest()


def _is_temporary(name: str) -> bool:
    lower = name.lower()
    return name.startswith((".", "~", "#")) or lower.endswith(TEMP_SUFFIXES)


def list_inbound(directory: Path, patterns=INBOUND_PATTERNS) -> list[Path]:
    """Regular files matching ``patterns`` (case-insensitive), oldest first.

    Ordered by (modification time, name); hidden and temporary files (``.x``,
    ``~x``, ``x.tmp``, ``x.part``...) and subdirectories such as ``processed/``
    are skipped. A missing directory gives an empty list.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return []
    lowered = [p.lower() for p in patterns]
    found = []
    for entry in os.scandir(directory):
        if _is_temporary(entry.name) or not entry.is_file(follow_symlinks=False):
            continue
        if not any(fnmatch.fnmatchcase(entry.name.lower(), p) for p in lowered):
            continue
        try:
            mtime = entry.stat(follow_symlinks=False).st_mtime_ns
        except FileNotFoundError:  # taken by another worker meanwhile
            continue
        found.append((mtime, entry.name, Path(entry.path)))
    return [path for _, _, path in sorted(found)]


def _free_name(directory: Path, name: str, counter: int) -> Path:
    if counter == 0:
        return directory / name
    stem, dot, ext = name.partition(".") if not name.startswith(".") else (name, "", "")
    return directory / f"{stem}-{counter}{dot}{ext}"


def move_to(path: Path, subdir: str) -> Path:
    """Move ``path`` into ``<its directory>/<subdir>/``, never overwriting.

    On a name collision a counter is added (``a.csv`` -> ``a-1.csv``). The move is a
    hard link + unlink, so two workers can never silently replace each other's file;
    where links are unsupported it falls back to an existence check + rename.
    """
    path = Path(path)
    if not subdir or "/" in subdir or "\\" in subdir or subdir in (".", ".."):
        raise ValueError(f"invalid subdirectory {subdir!r}")
    target_dir = path.parent / subdir
    target_dir.mkdir(parents=True, exist_ok=True)
    for counter in range(10_000):
        target = _free_name(target_dir, path.name, counter)
        try:
            os.link(path, target)
        except FileExistsError:
            continue
        except OSError:
            if target.exists():
                continue
            os.rename(path, target)
            return target
        path.unlink()
        return target
    raise FileExistsError(f"no free name for {path.name} in {target_dir}")


def write_error_report(path: Path, errors: list[tuple[int, str]]) -> Path:
    """Write ``<name>.errors.txt`` into ``error/`` beside the rejected file.

    ``path`` may already be in ``error/`` (after :func:`move_to`) or still in the
    inbound directory; the report always lands in ``error/``.
    """
    path = Path(path)
    directory = path.parent if path.parent.name == "error" else path.parent / "error"
    lines = [f"{path.name}: rejected, {len(errors)} error(s)"]
    lines += [f"line {n}: {message}" if n else message for n, message in errors]
    return write_atomic(directory, f"{path.name}.errors.txt", ("\n".join(lines) + "\n").encode())


def detect_format(name: str, data: bytes) -> str:
    """``"csv"``, ``"json"`` or ``"x12"``: by extension, else by content."""
    fmt = _EXTENSION_FORMATS.get(Path(name).suffix.lower())
    if fmt:
        return fmt
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"ISA"):
        return "x12"
    if head.startswith((b"{", b"[")):
        return "json"
    return "csv"


def _module(fmt: str):
    if fmt not in _MODULES:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return _MODULES[fmt]


def read_confirmations(name: str, data: bytes) -> list[Confirmation]:
    """Parse an inbound file of any supported format; :class:`FormatError` on any problem."""
    return _module(detect_format(name, data)).read_confirmations(data)


def read_stock(name: str, data: bytes) -> list[StockSnapshotLine]:
    """Parse a stock snapshot file (CSV or JSON; X12 is not supported)."""
    fmt = detect_format(name, data)
    if fmt == "x12":
        raise FormatError("stock snapshots are not supported in X12; use CSV or JSON")
    return _module(fmt).read_stock(data)


def release_file_name(order: ReleaseOrder, fmt: str) -> str:
    """``<order_ref>-r<revision>.<ext>`` with only ``[A-Za-z0-9._-]``.

    When the reference had to be changed (``WH/OUT/0001`` -> ``WH_OUT_0001``), 8 hex
    digits of its hash are added, so two references never share a file name.
    """
    safe = _UNSAFE.sub("_", order.order_ref).strip("._") or "order"
    safe = safe[:80]
    if safe != order.order_ref:
        safe += "_" + hashlib.sha256(order.order_ref.encode()).hexdigest()[:8]
    return f"{safe}-r{order.revision}.{RELEASE_EXTENSIONS[fmt]}"


def write_release(fmt: str, order: ReleaseOrder, **options) -> tuple[str, bytes]:
    """File name and bytes of one release; ``options`` go to the writer (X12 envelope)."""
    data = _module(fmt).write_releases([order], **options)
    return release_file_name(order, fmt), data
