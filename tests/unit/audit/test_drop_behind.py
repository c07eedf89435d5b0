"""A full verification lets go of the cached pages of the log file it has passed.

``verify_log`` on a SQLite log advises the kernel (``posix_fadvise``, ``DONTNEED``)
that the part of the file before its position, less a margin, is not needed. Evidence
that the advice covers the file once, in order, behind the scan; that it never changes
a verdict (a changed entry is still found, with the same error); that a refused or
missing ``posix_fadvise`` changes nothing; and that the file it opened is closed.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

import govkit.audit._store as store_module
from govkit.audit import SQLiteStore, verify_log
from govkit.audit._log import _VERIFY_CHUNK
from govkit.audit._store import _DropBehind
from govkit.errors import LeafMismatch

from .test_tiles import row

#: Four chunks of the walk and a partial one.
ENTRIES = 4 * _VERIFY_CHUNK + 1000


@pytest.fixture(scope="module")
def log_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("drop") / "audit.db"
    store = SQLiteStore(path, durable=False)
    try:
        for start in range(0, ENTRIES, 5000):
            rows = [row(i) for i in range(start, min(start + 5000, ENTRIES))]
            assert store.append(rows, {}) == start
    finally:
        store.close()
    return path


Advice = tuple[int, int, int, int]


def open_files() -> set[str]:
    """What this process has open, by path (Linux)."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # closed meanwhile (the listing's own)
            found.add(os.readlink(f"/proc/self/fd/{fd}"))
    return found


@pytest.fixture
def advice(monkeypatch: pytest.MonkeyPatch) -> list[Advice]:
    """Every ``posix_fadvise`` call (made for real too), margin and step made small."""
    calls: list[Advice] = []
    real = os.posix_fadvise

    def record(fd: int, offset: int, length: int, how: int) -> None:
        calls.append((fd, offset, length, how))
        real(fd, offset, length, how)

    monkeypatch.setattr(os, "posix_fadvise", record)
    monkeypatch.setattr(store_module, "_DROP_BEHIND", 64 << 10)
    monkeypatch.setattr(store_module, "_DROP_STEP", 1)
    return calls


def test_the_advice_covers_the_file_once_in_order_behind_the_scan(
    log_file: Path, advice: list[Advice]
) -> None:
    seen: list[int] = []
    result = verify_log(log_file, verifiers=[], progress=lambda done, total: seen.append(done))
    assert result.size == ENTRIES
    size = log_file.stat().st_size
    # One call per chunk, each going on where the one before stopped, never past the
    # scan's share of the file less the margin.
    assert len(advice) == len(seen) == 5
    assert {how for _, _, _, how in advice} == {os.POSIX_FADV_DONTNEED}
    assert len({fd for fd, _, _, _ in advice}) == 1
    end = 0
    for (_, offset, length, _), done in zip(advice, seen, strict=True):
        assert offset == end
        assert length > 0
        end = offset + length
        assert end == size * done // ENTRIES - (64 << 10)
    assert end == size - (64 << 10)
    # The file opened for the advice was closed again.
    assert str(log_file) not in open_files()


def test_the_advice_never_changes_a_verdict(
    log_file: Path, advice: list[Advice], tmp_path: Path
) -> None:
    changed = tmp_path / "changed.db"
    changed.write_bytes(log_file.read_bytes())
    target = 3 * _VERIFY_CHUNK + 17
    with closing(sqlite3.connect(changed)) as conn, conn:
        conn.execute(
            "UPDATE audit_entries SET entry = ? WHERE idx = ?",
            (b'{"entry":"forged"}', target),
        )
    with pytest.raises(LeafMismatch) as caught:
        verify_log(changed, verifiers=[])
    assert caught.value.code == "audit.leaf_mismatch"
    assert caught.value.context["index"] == target
    assert advice, "the chunks before the changed entry were advised"


def test_a_refused_advice_is_ignored(log_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def refuse(fd: int, offset: int, length: int, how: int) -> None:
        calls.append(length)
        raise OSError(22, "Invalid argument")

    monkeypatch.setattr(os, "posix_fadvise", refuse, raising=False)
    monkeypatch.setattr(store_module, "_DROP_BEHIND", 0)
    monkeypatch.setattr(store_module, "_DROP_STEP", 1)
    assert verify_log(log_file, verifiers=[]).size == ENTRIES
    assert len(calls) == 5


def test_without_posix_fadvise_nothing_is_opened(
    log_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(os, "posix_fadvise", raising=False)
    opened: list[object] = []
    real_open = os.open
    monkeypatch.setattr(os, "open", lambda *a, **k: opened.append(a[0]) or real_open(*a, **k))
    pages = _DropBehind(log_file)
    pages.passed(ENTRIES, ENTRIES)
    pages.close()
    assert opened == []
    assert verify_log(log_file, verifiers=[]).size == ENTRIES


def test_a_file_that_cannot_be_opened_is_a_no_op(tmp_path: Path) -> None:
    pages = _DropBehind(tmp_path / "missing.db")
    pages.passed(1, 1)  # nothing to advise, no error
    pages.close()
    pages.close()  # twice is fine
    none = _DropBehind(None)
    none.passed(1, 1)
    none.close()


def test_small_logs_are_not_advised(log_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the real margin (128 MB) a log smaller than it gets no advice at all."""
    calls: list[int] = []
    monkeypatch.setattr(os, "posix_fadvise", lambda *args: calls.append(args[2]), raising=False)
    assert log_file.stat().st_size < store_module._DROP_BEHIND
    assert verify_log(log_file, verifiers=[]).size == ENTRIES
    assert calls == []
