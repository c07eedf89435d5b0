"""A full verification leaves the page cache of the log file as it found it.

``verify_log`` on a SQLite log notes which pages of the file the kernel had cached
(``mincore``) and advises the kernel (``posix_fadvise``, ``DONTNEED``) that the
others, once the scan is past them less a margin, are not needed. Evidence that the
advice covers each page the kernel had not cached once, in order, behind the scan,
and never a page it had cached (a warm log stays warm); that the snapshot of the page
cache is the kernel's; that the advice never changes a verdict; that a refused or
missing ``posix_fadvise``, or a kernel that cannot say what it cached, changes
nothing; and that the file opened for the advice is closed again.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

import govkit.audit._pages as pages_module
from govkit.audit import SQLiteStore, verify_log
from govkit.audit._log import _VERIFY_CHUNK
from govkit.audit._pages import DropBehind, cached_pages, runs_not_cached
from govkit.errors import LeafMismatch

from .test_tiles import row

#: Four chunks of the walk and a partial one: five calls of ``passed``.
ENTRIES = 4 * _VERIFY_CHUNK + 1000
PAGE = pages_module._PAGE
MARGIN = 64 << 10
#: The real call, for evict() in tests that record or replace os.posix_fadvise.
FADVISE = os.posix_fadvise


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
    with closing(sqlite3.connect(path)) as conn:  # everything in the main file
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def evict(path: Path) -> None:
    """Write the file's pages out, then drop them from the page cache."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        FADVISE(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def open_files() -> set[str]:
    """What this process has open, by path (Linux)."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # closed meanwhile (the listing's own)
            found.add(os.readlink(f"/proc/self/fd/{fd}"))
    return found


Advice = tuple[int, int, int, int]


@pytest.fixture
def advice(monkeypatch: pytest.MonkeyPatch) -> list[Advice]:
    """Every ``posix_fadvise`` call (made for real too), margin and step made small."""
    calls: list[Advice] = []
    real = os.posix_fadvise

    def record(fd: int, offset: int, length: int, how: int) -> None:
        calls.append((fd, offset, length, how))
        real(fd, offset, length, how)

    monkeypatch.setattr(os, "posix_fadvise", record)
    monkeypatch.setattr(pages_module, "DROP_BEHIND", MARGIN)
    monkeypatch.setattr(pages_module, "DROP_STEP", 1)
    return calls


def snapshot(monkeypatch: pytest.MonkeyPatch, cached: Iterator[int] | None) -> list[bytes]:
    """Make the page cache look as ``cached`` says (page -> 0/1) when the scan begins."""
    seen: list[bytes] = []

    def fake(fd: int, size: int) -> bytes | None:
        if cached is None:
            return None
        pages = (size + PAGE - 1) // PAGE
        vector = bytes(next(cached) for _ in range(pages))
        seen.append(vector)
        return vector

    monkeypatch.setattr(pages_module, "cached_pages", fake)
    return seen


def advised_pages(calls: list[Advice]) -> list[int]:
    pages: list[int] = []
    for _, offset, length, how in calls:
        assert how == os.POSIX_FADV_DONTNEED
        assert offset % PAGE == 0
        assert length > 0
        assert length % PAGE == 0
        pages += range(offset // PAGE, (offset + length) // PAGE)
    return pages


def test_a_cold_log_is_advised_once_in_order_behind_the_scan(
    log_file: Path, advice: list[Advice], monkeypatch: pytest.MonkeyPatch
) -> None:
    vectors = snapshot(monkeypatch, iter(lambda: 0, 1))  # nothing cached
    seen: list[int] = []
    result = verify_log(log_file, verifiers=[], progress=lambda done, total: seen.append(done))
    assert result.size == ENTRIES
    pages = len(vectors[0])
    assert pages == (log_file.stat().st_size + PAGE - 1) // PAGE
    # One call per chunk, each going on where the one before stopped, and ending at
    # the scan's share of the file less the margin.
    assert len(advice) == len(seen) == 5
    assert len({fd for fd, _, _, _ in advice}) == 1
    end = 0
    for (_, offset, length, _), done in zip(advice, seen, strict=True):
        assert offset == end
        end = offset + length
        assert end == (pages * PAGE * done // ENTRIES - MARGIN) // PAGE * PAGE
    assert advised_pages(advice) == list(range(end // PAGE))
    assert str(log_file) not in open_files()  # the file opened for the advice is closed


def test_pages_the_kernel_had_cached_are_never_advised(
    log_file: Path, advice: list[Advice], monkeypatch: pytest.MonkeyPatch
) -> None:
    pattern = [1, 0, 0, 1, 1, 0, 1]
    vectors = snapshot(monkeypatch, (pattern[i % 7] for i in range(10**9)))
    assert verify_log(log_file, verifiers=[]).size == ENTRIES
    vector = vectors[0]
    advised = advised_pages(advice)
    end = (len(vector) * PAGE - MARGIN) // PAGE
    assert advised == [p for p in range(end) if vector[p] == 0]
    assert len(advised) == len(set(advised))
    # Runs of uncached pages are one call each, cut only by the steps of the scan.
    assert len(advice) <= len(list(runs_not_cached(vector, 0, end))) + 5


def test_a_warm_log_stays_cached(log_file: Path, advice: list[Advice]) -> None:
    """The kernel's own snapshot: a file read just before gets no advice at all."""
    log_file.read_bytes()
    assert verify_log(log_file, verifiers=[]).size == ENTRIES
    assert advice == []


def test_a_cold_log_gets_the_kernels_uncached_pages(log_file: Path, advice: list[Advice]) -> None:
    evict(log_file)
    assert verify_log(log_file, verifiers=[]).size == ENTRIES
    pages = (log_file.stat().st_size + PAGE - 1) // PAGE
    advised = advised_pages(advice)
    assert len(advised) == len(set(advised))
    assert advised == sorted(advised)
    # Opening the store reads the header and the schema first; the rest was not cached.
    assert len(advised) >= (pages - MARGIN // PAGE) * 0.9


def test_cached_pages_is_the_page_cache(tmp_path: Path) -> None:
    path = tmp_path / "file.bin"
    path.write_bytes(os.urandom(64 * PAGE))
    evict(path)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert cached_pages(fd, 64 * PAGE) == bytes(64)
        os.pread(fd, 16 * PAGE, 32 * PAGE)
        vector = cached_pages(fd, 64 * PAGE)
        assert vector is not None
        assert len(vector) == 64
        assert set(vector) <= {0, 1}
        assert vector[32:48] == b"\x01" * 16  # the pages read (readahead may add more)
        assert vector[:32] == bytes(32)  # nothing before them
        assert cached_pages(fd, 0) is None
    finally:
        os.close(fd)


def test_runs_not_cached() -> None:
    vector = bytes([0, 0, 1, 0, 1, 1, 0, 0, 0])
    assert list(runs_not_cached(vector, 0, 9)) == [(0, 2), (3, 4), (6, 9)]
    assert list(runs_not_cached(vector, 1, 7)) == [(1, 2), (3, 4), (6, 7)]
    assert list(runs_not_cached(vector, 4, 6)) == []
    assert list(runs_not_cached(vector, 5, 5)) == []


def test_the_advice_never_changes_a_verdict(
    log_file: Path, advice: list[Advice], tmp_path: Path
) -> None:
    changed = tmp_path / "changed.db"
    changed.write_bytes(log_file.read_bytes())
    target = 3 * _VERIFY_CHUNK + 17
    with closing(sqlite3.connect(changed)) as conn, conn:
        conn.execute(
            "UPDATE audit_entries SET entry = ? WHERE idx = ?", (b'{"entry":"forged"}', target)
        )
    evict(changed)
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
    monkeypatch.setattr(pages_module, "DROP_BEHIND", 0)
    monkeypatch.setattr(pages_module, "DROP_STEP", 1)
    snapshot(monkeypatch, iter(lambda: 0, 1))
    assert verify_log(log_file, verifiers=[]).size == ENTRIES
    assert len(calls) == 5


def test_when_the_kernel_cannot_say_what_it_cached_nothing_is_advised(
    log_file: Path, advice: list[Advice], monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshot(monkeypatch, None)
    evict(log_file)
    assert verify_log(log_file, verifiers=[]).size == ENTRIES
    assert advice == []
    assert str(log_file) not in open_files()


def test_without_posix_fadvise_nothing_is_opened(
    log_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(os, "posix_fadvise", raising=False)
    opened: list[object] = []
    real_open = os.open
    monkeypatch.setattr(os, "open", lambda *a, **k: opened.append(a[0]) or real_open(*a, **k))
    pages = DropBehind(log_file)
    pages.passed(ENTRIES, ENTRIES)
    pages.close()
    assert opened == []
    assert verify_log(log_file, verifiers=[]).size == ENTRIES


def test_a_file_that_cannot_be_opened_is_a_no_op(tmp_path: Path) -> None:
    pages = DropBehind(tmp_path / "missing.db")
    pages.passed(1, 1)  # nothing to advise, no error
    pages.close()
    pages.close()  # twice is fine
    none = DropBehind(None)
    none.passed(1, 1)
    none.close()


def test_small_logs_are_not_advised(log_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the real margin (128 MB) a log smaller than it gets no advice at all."""
    calls: list[int] = []
    monkeypatch.setattr(os, "posix_fadvise", lambda *args: calls.append(args[2]), raising=False)
    assert log_file.stat().st_size < pages_module.DROP_BEHIND
    evict(log_file)
    assert verify_log(log_file, verifiers=[]).size == ENTRIES
    assert calls == []
