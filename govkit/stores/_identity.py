"""The identity stores: one object that is both a replay and a revocation store.

>>> from datetime import datetime, timedelta, timezone
>>> from govkit.stores import MemoryIdentityStore
>>> now = datetime(2026, 1, 1, tzinfo=timezone.utc)
>>> store = MemoryIdentityStore()
>>> until = now + timedelta(minutes=1)
>>> store.check_and_remember("dpop:jkt:jti-1", now=now, expires_at=until)
True
>>> store.check_and_remember("dpop:jkt:jti-1", now=now, expires_at=until)
False
>>> store.revoke_subject("pseudonym-7f3a", not_before=now)
>>> store.subject_not_before("pseudonym-7f3a") == now
True

These are the stores ``govkit.identity`` has offered since its first version (it still
exports them): one object to pass to both ``TokenVerifier(store=...)`` and
``DPoPVerifier(replay_store=...)``. They run the same code as the replay and revocation
stores of :mod:`govkit.stores`, on the identity tables (``identity_replay``,
``identity_revoked_tokens``, ``identity_subjects``, schema component ``identity``), and
raise the identity errors (``identity.store``, ``identity.store_locked``,
``identity.store_schema``). The memory store's bound (``max_entries``) counts replay,
revoked-token and subject entries together; when it is full a new entry raises
:class:`~govkit.errors.IdentityStoreError` (nothing is evicted).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Final

from govkit.errors import IdentityStoreError, IdentityStoreLocked, IdentityStoreSchemaError
from govkit.stores._base import (
    AsyncReplay,
    AsyncRevocation,
    Closing,
    postgres_url,
    run,
    sqlite_path,
    to_us,
    upgrade,
)
from govkit.stores._memory import MemoryState
from govkit.stores._replay import _SqlReplayStore, replay_statements
from govkit.stores._revocation import RevocationStatements, _SqlRevocationStore
from govkit.stores._sql import Errors, Schema, SchemaUpgrade, open_database

__all__ = [
    "MemoryIdentityStore",
    "PostgresIdentityStore",
    "SQLiteIdentityStore",
    "upgrade_identity_store",
]

_TABLES: Final = (
    "CREATE TABLE IF NOT EXISTS identity_replay "
    "(replay_key TEXT PRIMARY KEY, expires_us BIGINT NOT NULL){without_rowid}",
    "CREATE INDEX IF NOT EXISTS identity_replay_expiry ON identity_replay (expires_us)",
    "CREATE TABLE IF NOT EXISTS identity_revoked_tokens "
    "(jti TEXT PRIMARY KEY, expires_us BIGINT NOT NULL){without_rowid}",
    "CREATE INDEX IF NOT EXISTS identity_revoked_tokens_expiry "
    "ON identity_revoked_tokens (expires_us)",
    "CREATE TABLE IF NOT EXISTS identity_subjects "
    "(subject TEXT PRIMARY KEY, not_before_us BIGINT NOT NULL){without_rowid}",
)

#: The identity tables' schema. Version 1 is the schema govkit 0.1 wrote (without a
#: ``govkit_schema`` row).
SCHEMA: Final = Schema(component="identity", version=1, create=_TABLES, marker="identity_replay")
_ERRORS: Final = Errors(
    IdentityStoreError, IdentityStoreLocked, IdentityStoreSchemaError, "the identity store"
)


class MemoryIdentityStore(Closing, AsyncReplay, AsyncRevocation):
    """A replay and revocation store in this process: dictionaries under a lock.

    The fake of :class:`~govkit.stores.ReplayStore` and
    :class:`~govkit.stores.RevocationStore` together, for tests and single-process
    applications. Bounded: at most ``max_entries`` replay, revoked-token and subject
    entries together. A new entry that finds the store full first drops the entries
    expired at the caller's ``now`` (for :meth:`revoke_token` and
    :meth:`revoke_subject`, which take no time: the latest ``now`` any caller passed);
    if the store is still full it raises :class:`~govkit.errors.IdentityStoreError`
    instead of evicting a live entry, which would reopen a replay window or silently
    un-revoke a token.

    Args:
        max_entries: the bound described above.
    """

    def __init__(self, *, max_entries: int = 100_000) -> None:
        self._state = MemoryState(
            max_entries=max_entries,
            noun="the memory identity store",
            full=IdentityStoreError,
            failed=IdentityStoreError,
        )

    def check_and_remember(self, key: str, *, now: datetime, expires_at: datetime) -> bool:
        """Atomically record ``key`` until ``expires_at``; ``False`` means a replay.

        Raises:
            IdentityStoreError: the store is full or closed.
        """
        return self._state.check_and_remember(key, now=now, expires_at=expires_at)

    def revoke_token(self, jti: str, *, expires_at: datetime) -> None:
        """Revoke the token ``jti`` until ``expires_at`` (its ``exp`` plus leeway)."""
        self._state.revoke_token(jti, expires_at=expires_at)

    def is_revoked(self, jti: str, *, now: datetime) -> bool:
        """Whether ``jti`` is revoked and its entry has not expired at the caller's ``now``."""
        return self._state.is_revoked(jti, now=now)

    def revoke_subject(self, subject: str, *, not_before: datetime) -> None:
        """Reject the (pseudonymous) subject's tokens issued before ``not_before``."""
        self._state.revoke_subject(subject, not_before=not_before)

    def subject_not_before(self, subject: str) -> datetime | None:
        """The subject's "not before" time, or ``None``."""
        return self._state.subject_not_before(subject)

    def purge(self, *, now: datetime) -> int:
        """Delete replay and revocation entries expired at ``now``; return how many.

        Subject times are kept.
        """
        return self._state.purge(now=now)

    def close(self) -> None:
        """Forget every entry; the store cannot be used afterwards."""
        self._state.close()

    def __len__(self) -> int:
        """How many entries the store holds, expired ones not yet dropped included."""
        return len(self._state)

    def __repr__(self) -> str:
        return f"MemoryIdentityStore(max_entries={self._state.max_entries})"


class _SqlIdentityStore(_SqlReplayStore, _SqlRevocationStore):
    """The replay and revocation statements, on the identity tables."""

    _replay_sql = replay_statements("identity_replay")
    _statements = RevocationStatements("identity_revoked_tokens", "identity_subjects")

    def purge(self, *, now: datetime) -> int:
        """Delete replay and revocation entries expired at ``now``; return how many.

        Subject times are kept.
        """
        when = to_us(now, "now")
        results = run(self._db, [(self._replay_sql[1], (when,)), (self._statements.purge, (when,))])
        return sum(max(count, 0) for _, count in results)


class SQLiteIdentityStore(_SqlIdentityStore):
    """A replay and revocation store in one SQLite file (WAL mode); local processes share it.

    Every write is one ``BEGIN IMMEDIATE`` transaction, so writers queue on SQLite's
    lock (for up to ``busy_timeout`` seconds) and a replay decision is atomic across
    processes.

    Args:
        path: the database file (created with its tables if missing).
        busy_timeout: seconds to wait for another writer before
            :class:`~govkit.errors.IdentityStoreLocked`.
        durable: ``True`` (default) syncs every commit (``synchronous=FULL``), so a
            recorded ``jti`` survives a power cut; ``False`` uses ``NORMAL``.

    Raises:
        IdentityStoreError: the file cannot be opened.
        IdentityStoreSchemaError: its schema is newer than this release.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        busy_timeout: float = 30.0,
        durable: bool = True,
    ) -> None:
        self._path = sqlite_path(path, "SQLiteIdentityStore")
        self._db = open_database(
            self._path,
            schema=SCHEMA,
            errors=_ERRORS,
            durable=durable,
            busy_timeout=busy_timeout,
        )

    def __repr__(self) -> str:
        return f"SQLiteIdentityStore({str(self._path)!r})"


class PostgresIdentityStore(_SqlIdentityStore):
    """A replay and revocation store on PostgreSQL (``govkit[postgres]``), for many hosts.

    Every call is one transaction on one connection (guarded by a lock). A connection
    broken by a server restart fails the call that meets it with
    :class:`~govkit.errors.IdentityStoreError` and is replaced on the next call.
    Replay decisions use ``INSERT ... ON CONFLICT DO UPDATE ... WHERE <expired>
    RETURNING``: a concurrent insert of the same key waits for the first one to
    commit and then sees it, so at most one caller gets ``True``.

    Args:
        url: a ``postgresql://`` connection URL.
        connect_timeout: seconds to wait for a connection.
    """

    def __init__(self, url: str, *, connect_timeout: int = 10) -> None:
        self._db = open_database(
            postgres_url(url, "a PostgreSQL store"),
            schema=SCHEMA,
            errors=_ERRORS,
            connect_timeout=connect_timeout,
        )

    def __repr__(self) -> str:
        return "PostgresIdentityStore()"


def upgrade_identity_store(url: str | Path) -> SchemaUpgrade | None:
    """Bring the identity tables in ``url`` to this release's schema (``govkit db upgrade``).

    The stores upgrade on open anyway; this is for operators. ``url`` is a SQLite
    file path (or ``sqlite:///path``) or a ``postgresql://`` URL. Returns ``None``
    when the store holds no identity tables (nothing is created).

    Raises:
        IdentityStoreError: the store cannot be reached or written.
        IdentityStoreSchemaError: its schema is newer than this release.
    """
    return upgrade(url, schema=SCHEMA, errors=_ERRORS)
