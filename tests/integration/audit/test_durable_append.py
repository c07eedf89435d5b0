"""What a returned SQLite ``append`` guarantees: committed, in the tree and on disk.

A durable SQLite store commits an append without the fsync under the writers' lock
(``synchronous=NORMAL`` for that one transaction) and then fdatasyncs the
write-ahead log itself, after releasing the lock, so that writers of other
processes integrate meanwhile. These tests pin the parts of that promise a
refactoring could silently drop:

* the WAL is synced, once per append, after the commit is visible and after the
  writers' lock is released, and before ``append`` returns;
* the connection is back to ``synchronous=FULL`` after every append (its other
  writes, checkpoints and erasures, fsync in their commit as before);
* a failed sync fails the append with ``audit.store`` instead of returning
  an index that may not survive a power cut;
* a store that is not durable (``durable=False``) or not in WAL mode never
  defers its fsync.
"""

from __future__ import annotations

import errno
import fcntl
import os
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from govkit.audit import AuditEvent, AuditLog, SQLiteStore
from govkit.errors import AuditStoreError

ORIGIN = "example.gov/audit-test"
PSEUDONYM_KEY = b"integration-test-pseudonym-key!!"
T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def _event(n: int) -> AuditEvent:
    return AuditEvent(
        occurred_at=T0 + timedelta(microseconds=n),
        actor_id=f"officer-{n % 5}",
        actor_type="officer",
        action="licence.issue",
        resource_type="driving_licence",
        resource_id=f"GD-{n}",
        correlation_id=f"e{n}",
        personal=frozenset({"actor_id"}),
    )


def _lock_is_free(path: Path) -> bool:
    fd = os.open(f"{path}-lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def _committed_size(path: Path) -> int:
    """The tree size another connection (another process) sees right now."""
    other = sqlite3.connect(path)
    try:
        return int(other.execute("SELECT COUNT(*) FROM audit_entries").fetchone()[0])
    finally:
        other.close()


@pytest.fixture
def syncs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every fdatasync of the test: the file it synced (its path)."""
    synced: list[str] = []
    real = os.fdatasync

    def recording(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fdatasync", recording)
    return synced


def test_append_returns_only_after_the_wal_is_synced_outside_the_writer_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "audit.db"
    seen: list[tuple[str, bool, int]] = []
    real = os.fdatasync

    def observing(fd: int) -> None:
        # At the moment of the sync: which file, whether the writers' lock is free,
        # and how many entries a second connection already sees committed.
        seen.append(
            (os.readlink(f"/proc/self/fd/{fd}"), _lock_is_free(path), _committed_size(path))
        )
        real(fd)

    with AuditLog(path, origin=ORIGIN, pseudonym_key=PSEUDONYM_KEY) as log:
        monkeypatch.setattr(os, "fdatasync", observing)
        for n in range(3):
            assert log.append(_event(n)) == n
            assert len(seen) == n + 1  # synced before append returned
        assert log.append_many([_event(n) for n in range(3, 8)]) == [3, 4, 5, 6, 7]
    wal = os.path.realpath(path) + "-wal"
    assert seen == [(wal, True, 1), (wal, True, 2), (wal, True, 3), (wal, True, 8)]


def test_connection_is_back_to_synchronous_full_after_each_append(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "audit.db")
    with AuditLog(store, origin=ORIGIN, pseudonym_key=PSEUDONYM_KEY) as log:
        log.append(_event(0))
        log.append_many([_event(1), _event(2)])
        # FULL: the store's other commits (checkpoints, erasures) fsync as they commit.
        assert store._db.read("PRAGMA synchronous")[0][0] == 2
        assert store._db.read("PRAGMA journal_mode")[0][0] == "wal"


def test_failed_wal_sync_fails_the_append_instead_of_returning_an_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "audit.db"
    real = os.fdatasync

    def disk_error(fd: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    with AuditLog(path, origin=ORIGIN, pseudonym_key=PSEUDONYM_KEY) as log:
        log.append(_event(0))
        monkeypatch.setattr(os, "fdatasync", disk_error)
        with pytest.raises(AuditStoreError) as raised:
            log.append(_event(1))
        assert raised.value.code == "audit.store"
        assert "may not be durable" in raised.value.message
        monkeypatch.setattr(os, "fdatasync", real)
        # Committed (it may or may not survive a power cut): the next one follows it.
        assert log.append(_event(2)) == 2
        assert log.store._db.read("PRAGMA synchronous")[0][0] == 2  # type: ignore[attr-defined]


def _rollback_journal_store(path: Path) -> SQLiteStore:
    store = SQLiteStore(path)
    assert store._db.read("PRAGMA journal_mode=DELETE")[0][0] == "delete"
    return store


@pytest.mark.parametrize(
    "setup",
    [
        pytest.param(lambda path: SQLiteStore(path, durable=False), id="durable-false"),
        # Where WAL mode could not be had (a writer asks for it on open): the
        # rollback journal, switched to on the store's own connection.
        pytest.param(_rollback_journal_store, id="rollback-journal"),
    ],
)
def test_store_not_durable_or_not_in_wal_mode_never_defers_its_fsync(
    tmp_path: Path, syncs: list[str], setup: Callable[[Path], SQLiteStore]
) -> None:
    path = tmp_path / "audit.db"
    store = setup(path)
    with AuditLog(store, origin=ORIGIN, pseudonym_key=PSEUDONYM_KEY) as log:
        durable = store._db.read("PRAGMA synchronous")[0][0] == 2
        syncs.clear()
        assert log.append(_event(0)) == 0
        assert log.append_many([_event(1), _event(2)]) == [1, 2]
        assert store._db.read("PRAGMA synchronous")[0][0] == (2 if durable else 1)
    # No WAL sync of govkit's own: the rollback journal's commits sync the database
    # file themselves (synchronous=FULL throughout); a non-durable store syncs nothing.
    assert not [s for s in syncs if s.endswith("-wal")]
