"""Replay stores: remember one-time values (DPoP proofs, presentations) until they expire.

>>> from datetime import datetime, timedelta, timezone
>>> from govkit.stores import MemoryReplayStore
>>> now = datetime(2026, 1, 1, tzinfo=timezone.utc)
>>> store = MemoryReplayStore()
>>> store.check_and_remember("dpop:jkt:jti-1", now=now, expires_at=now + timedelta(minutes=1))
True
>>> store.check_and_remember("dpop:jkt:jti-1", now=now, expires_at=now + timedelta(minutes=1))
False

One protocol, :class:`ReplayStore`, with three implementations that behave the same
(one contract test runs against each): :class:`MemoryReplayStore` (one process,
bounded), :class:`SQLiteReplayStore` (processes on one host) and
:class:`PostgresReplayStore` (many hosts).

Both SQL stores decide with one atomic statement::

    INSERT INTO replay_entries (replay_key, expires_us) VALUES (:key, :expires)
    ON CONFLICT (replay_key) DO UPDATE SET expires_us = excluded.expires_us
        WHERE replay_entries.expires_us <= :now
    RETURNING 1

A row comes back only when this call recorded the key: it was absent, or its entry had
expired at the caller's ``now``. SQLite runs it under ``BEGIN IMMEDIATE`` (one writer
at a time). On PostgreSQL a second insert of the same key waits for the first
transaction and then evaluates the ``WHERE`` against the committed row, so of any
number of racing callers exactly one gets ``True``. A replay never extends the entry.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Final, Protocol, runtime_checkable

from govkit.errors import StoreError, StoreFull
from govkit.stores._base import (
    AsyncReplay,
    Closing,
    check_key,
    check_table,
    postgres_url,
    run,
    sqlite_path,
    store_errors,
    to_us,
    upgrade,
)
from govkit.stores._memory import MemoryState
from govkit.stores._sql import Database, Schema, SchemaUpgrade, open_database

__all__ = [
    "MemoryReplayStore",
    "PostgresReplayStore",
    "ReplayStore",
    "SQLiteReplayStore",
    "upgrade_replay_store",
]


@runtime_checkable
class ReplayStore(Protocol):
    """Remembers one-time values (DPoP proof ``jti``\\ s, presentations) until they expire."""

    def check_and_remember(self, key: str, *, now: datetime, expires_at: datetime) -> bool:
        """Atomically record ``key`` until ``expires_at``, as of the caller's ``now``.

        Returns ``True`` the first time: the key was absent, or its entry had expired
        (an entry with ``expires_at <= now`` counts as absent, and is replaced).
        Returns ``False`` if a live entry exists, i.e. a replay; the entry is not
        extended. The store reads no clock of its own. A store that cannot decide
        raises (a ``*.store`` error): it never answers ``True`` on a failure.
        """
        ...


def replay_statements(table: str) -> tuple[str, str]:
    """The check-and-remember and purge statements on ``table`` (a name of this package)."""
    check_table(table)
    check = (
        f"INSERT INTO {table} (replay_key, expires_us) VALUES (?, ?) "  # noqa: S608
        f"ON CONFLICT (replay_key) DO UPDATE SET expires_us = excluded.expires_us "
        f"WHERE {table}.expires_us <= ? "
        "RETURNING 1"
    )
    return check, f"DELETE FROM {table} WHERE expires_us <= ?"  # noqa: S608


#: The replay table's schema (component ``replay``).
SCHEMA: Final = Schema(
    component="replay",
    version=1,
    create=(
        "CREATE TABLE IF NOT EXISTS replay_entries "
        "(replay_key TEXT PRIMARY KEY, expires_us BIGINT NOT NULL){without_rowid}",
        "CREATE INDEX IF NOT EXISTS replay_entries_expiry ON replay_entries (expires_us)",
    ),
    marker="replay_entries",
)
_ERRORS: Final = store_errors("the replay store")
_CHECK, _PURGE = replay_statements("replay_entries")


class MemoryReplayStore(Closing, AsyncReplay):
    """A :class:`ReplayStore` in this process: a dictionary under a lock.

    The fake for tests, and a real store for a single-process application (entries
    vanish with the process; other processes do not see them). Thread-safe.

    Bounded: at most ``max_entries`` entries. A new key that finds the store full
    first drops the entries expired at its ``now``; if the store is still full it
    raises :class:`~govkit.errors.StoreFull` (``store.full``) rather than evict a
    live entry, which would let that value be replayed. A verifier therefore fails
    closed: it refuses what it cannot remember.

    Args:
        max_entries: the bound described above.
    """

    def __init__(self, *, max_entries: int = 100_000) -> None:
        self._state = MemoryState(
            max_entries=max_entries,
            noun="the memory replay store",
            full=StoreFull,
            failed=StoreError,
        )

    def check_and_remember(self, key: str, *, now: datetime, expires_at: datetime) -> bool:
        """Atomically record ``key`` until ``expires_at``; ``False`` means a replay.

        Raises:
            StoreFull: the store holds ``max_entries`` live entries.
            StoreError: the store is closed.
            NaiveDatetimeError: ``now`` or ``expires_at`` has no timezone.
            ConfigurationError: ``key`` is not a string of 1 to 1024 characters.
        """
        return self._state.check_and_remember(key, now=now, expires_at=expires_at)

    def purge(self, *, now: datetime) -> int:
        """Delete the entries expired at ``now`` (the caller's time); return how many."""
        return self._state.purge(now=now)

    def close(self) -> None:
        """Forget every entry; later calls raise :class:`~govkit.errors.StoreError`."""
        self._state.close()

    def __len__(self) -> int:
        """How many entries the store holds, expired ones not yet dropped included."""
        return len(self._state)

    def __repr__(self) -> str:
        return f"MemoryReplayStore(max_entries={self._state.max_entries})"


class _SqlReplayStore(Closing, AsyncReplay):
    """The statements both SQL replay stores run, on one database."""

    _db: Database
    _replay_sql: tuple[str, str] = (_CHECK, _PURGE)

    def check_and_remember(self, key: str, *, now: datetime, expires_at: datetime) -> bool:
        """Atomically record ``key`` until ``expires_at``; ``False`` means a replay.

        Raises:
            StoreError: the database failed (:class:`~govkit.errors.StoreLocked` when
                another writer held it too long); nothing was decided.
            NaiveDatetimeError: ``now`` or ``expires_at`` has no timezone.
            ConfigurationError: ``key`` is not a string of 1 to 1024 characters.
        """
        check_key(key, "replay key")
        when = to_us(now, "now")
        expires = to_us(expires_at, "expires_at")
        ((rows, _),) = run(self._db, [(self._replay_sql[0], (key, expires, when))])
        return bool(rows)

    def purge(self, *, now: datetime) -> int:
        """Delete the entries expired at ``now`` (the caller's time); return how many."""
        ((_, count),) = run(self._db, [(self._replay_sql[1], (to_us(now, "now"),))])
        return max(count, 0)

    def close(self) -> None:
        """Close the connection; later calls raise :class:`~govkit.errors.StoreError`."""
        self._db.close()


class SQLiteReplayStore(_SqlReplayStore):
    """A :class:`ReplayStore` in one SQLite file (WAL mode); processes on one host share it.

    Every call is one ``BEGIN IMMEDIATE`` transaction, so the decision is atomic
    across processes. The table (``replay_entries``) may share a file with other
    govkit stores.

    Args:
        path: the database file (created with its table if missing), or
            ``sqlite:///path``.
        busy_timeout: seconds to wait for another writer before
            :class:`~govkit.errors.StoreLocked`.
        durable: ``True`` (default) syncs every commit, so a recorded value survives
            a power cut; ``False`` is faster and may forget the last commits.

    Raises:
        StoreError: the file cannot be opened.
        StoreSchemaError: its replay table is newer than this release.
    """

    def __init__(
        self, path: str | Path, *, busy_timeout: float = 30.0, durable: bool = True
    ) -> None:
        self._path = sqlite_path(path, "SQLiteReplayStore")
        self._db = open_database(
            self._path, schema=SCHEMA, errors=_ERRORS, durable=durable, busy_timeout=busy_timeout
        )

    def __repr__(self) -> str:
        return f"SQLiteReplayStore({str(self._path)!r})"


class PostgresReplayStore(_SqlReplayStore):
    """A :class:`ReplayStore` on PostgreSQL (``govkit[postgres]``), for many hosts.

    Each call is one transaction on one connection (shared by threads under a lock).
    A connection broken by a server restart fails the call that meets it with
    :class:`~govkit.errors.StoreError` (so that value is refused, never accepted) and
    is replaced on the next call.

    Args:
        url: a ``postgresql://`` URL.
        connect_timeout: seconds to wait for a connection.
    """

    def __init__(self, url: str, *, connect_timeout: int = 10) -> None:
        self._db = open_database(
            postgres_url(url, "PostgresReplayStore"),
            schema=SCHEMA,
            errors=_ERRORS,
            connect_timeout=connect_timeout,
        )

    def __repr__(self) -> str:
        return f"PostgresReplayStore({self._db.url!r})"


def upgrade_replay_store(url: str | Path) -> SchemaUpgrade | None:
    """Bring the replay table in ``url`` to this release's schema (``govkit db upgrade``).

    Stores upgrade on open anyway; this is for operators. Returns ``None`` when
    ``url`` holds no replay table (nothing is created).
    """
    return upgrade(url, schema=SCHEMA, errors=_ERRORS)
