"""Revocation stores: revoked tokens (by ``jti``) and "log out everywhere" per subject.

>>> from datetime import datetime, timedelta, timezone
>>> from govkit.stores import MemoryRevocationStore
>>> now = datetime(2026, 1, 1, tzinfo=timezone.utc)
>>> store = MemoryRevocationStore()
>>> store.revoke_token("jti-1", expires_at=now + timedelta(minutes=10))
>>> store.is_revoked("jti-1", now=now), store.is_revoked("jti-2", now=now)
(True, False)
>>> store.revoke_subject("pseudonym-7f3a", not_before=now)
>>> store.subject_not_before("pseudonym-7f3a") == now
True

:class:`RevocationStore` is what :class:`~govkit.identity.TokenVerifier` asks
(``store=``); :class:`MemoryRevocationStore`, :class:`SQLiteRevocationStore` and
:class:`PostgresRevocationStore` implement it the same way. A revoked ``jti`` is kept
until the expiry its revoker gives (the token's ``exp`` plus the verifier's leeway;
after that the token is refused as expired anyway) and an entry with an expiry at or
before the caller's ``now`` counts as absent. Revoking again keeps the later expiry;
a later "log out everywhere" time wins over an earlier one and subject times never
expire. **Subjects must be pseudonyms** (a pairwise ``sub``), never a name, an e-mail
address or an ID number.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Final, Protocol, runtime_checkable

from govkit.errors import StoreError, StoreFull
from govkit.stores._base import (
    AsyncRevocation,
    Closing,
    check_key,
    check_table,
    from_us,
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
    "MemoryRevocationStore",
    "PostgresRevocationStore",
    "RevocationStore",
    "SQLiteRevocationStore",
    "upgrade_revocation_store",
]


@runtime_checkable
class RevocationStore(Protocol):
    """Revoked tokens (by ``jti``) and per-subject "not before" times (log out everywhere)."""

    def revoke_token(self, jti: str, *, expires_at: datetime) -> None:
        """Revoke the token ``jti`` until ``expires_at``.

        Pass the token's ``exp`` plus the verifier's leeway: after that the token is
        refused as expired anyway, and the entry may be purged. Revoking again keeps
        the later expiry.
        """
        ...

    def is_revoked(self, jti: str, *, now: datetime) -> bool:
        """Whether ``jti`` is revoked and its entry has not expired at the caller's ``now``."""
        ...

    def revoke_subject(self, subject: str, *, not_before: datetime) -> None:
        """Reject every token of ``subject`` issued before ``not_before``.

        ``subject`` must be a pseudonym. Calling again keeps the later time, so an
        older "log out everywhere" can never undo a newer one.
        """
        ...

    def subject_not_before(self, subject: str) -> datetime | None:
        """The time before which ``subject``'s tokens are rejected, if one was set."""
        ...


class RevocationStatements:
    """The SQL of the revocation methods on two tables (tokens, subjects)."""

    def __init__(self, tokens: str, subjects: str) -> None:
        # Table names are constants of this package, checked; values are parameters.
        check_table(tokens)
        check_table(subjects)
        self.revoke_token = (
            f"INSERT INTO {tokens} (jti, expires_us) VALUES (?, ?) "  # noqa: S608
            f"ON CONFLICT (jti) DO UPDATE SET expires_us = excluded.expires_us "
            f"WHERE {tokens}.expires_us < excluded.expires_us"
        )
        self.is_revoked = f"SELECT 1 FROM {tokens} WHERE jti = ? AND expires_us > ?"  # noqa: S608
        self.revoke_subject = (
            f"INSERT INTO {subjects} (subject, not_before_us) VALUES (?, ?) "  # noqa: S608
            f"ON CONFLICT (subject) DO UPDATE SET not_before_us = excluded.not_before_us "
            f"WHERE {subjects}.not_before_us < excluded.not_before_us"
        )
        self.subject_not_before = f"SELECT not_before_us FROM {subjects} WHERE subject = ?"  # noqa: S608
        self.purge = f"DELETE FROM {tokens} WHERE expires_us <= ?"  # noqa: S608


#: The revocation tables' schema (component ``revocation``).
SCHEMA: Final = Schema(
    component="revocation",
    version=1,
    create=(
        "CREATE TABLE IF NOT EXISTS revoked_tokens "
        "(jti TEXT PRIMARY KEY, expires_us BIGINT NOT NULL){without_rowid}",
        "CREATE INDEX IF NOT EXISTS revoked_tokens_expiry ON revoked_tokens (expires_us)",
        "CREATE TABLE IF NOT EXISTS revoked_subjects "
        "(subject TEXT PRIMARY KEY, not_before_us BIGINT NOT NULL){without_rowid}",
    ),
    marker="revoked_tokens",
)
_ERRORS: Final = store_errors("the revocation store")
_SQL: Final = RevocationStatements("revoked_tokens", "revoked_subjects")


class MemoryRevocationStore(Closing, AsyncRevocation):
    """A :class:`RevocationStore` in this process: dictionaries under a lock.

    The fake for tests, and a real store for a single-process application. Bounded:
    at most ``max_entries`` revoked tokens and subjects together. A new entry that
    finds the store full first drops the token entries expired at the latest ``now``
    a caller passed to :meth:`is_revoked` or :meth:`purge`; if the store is still
    full it raises :class:`~govkit.errors.StoreFull` rather than forget a live
    revocation.

    Args:
        max_entries: the bound described above.
    """

    def __init__(self, *, max_entries: int = 100_000) -> None:
        self._state = MemoryState(
            max_entries=max_entries,
            noun="the memory revocation store",
            full=StoreFull,
            failed=StoreError,
        )

    def revoke_token(self, jti: str, *, expires_at: datetime) -> None:
        """Revoke the token ``jti`` until ``expires_at`` (its ``exp`` plus leeway).

        Raises:
            StoreFull: the store holds ``max_entries`` live entries.
        """
        self._state.revoke_token(jti, expires_at=expires_at)

    def is_revoked(self, jti: str, *, now: datetime) -> bool:
        """Whether ``jti`` is revoked and its entry has not expired at the caller's ``now``."""
        return self._state.is_revoked(jti, now=now)

    def revoke_subject(self, subject: str, *, not_before: datetime) -> None:
        """Reject the (pseudonymous) subject's tokens issued before ``not_before``.

        Raises:
            StoreFull: the store holds ``max_entries`` live entries.
        """
        self._state.revoke_subject(subject, not_before=not_before)

    def subject_not_before(self, subject: str) -> datetime | None:
        """The subject's "not before" time, or ``None``."""
        return self._state.subject_not_before(subject)

    def purge(self, *, now: datetime) -> int:
        """Delete the token entries expired at ``now``; return how many (subjects stay)."""
        return self._state.purge(now=now)

    def close(self) -> None:
        """Forget every entry; later calls raise :class:`~govkit.errors.StoreError`."""
        self._state.close()

    def __len__(self) -> int:
        """How many entries the store holds, expired ones not yet dropped included."""
        return len(self._state)

    def __repr__(self) -> str:
        return f"MemoryRevocationStore(max_entries={self._state.max_entries})"


class _SqlRevocationStore(Closing, AsyncRevocation):
    """The statements both SQL revocation stores run, on one database."""

    _db: Database
    _statements: RevocationStatements = _SQL

    def revoke_token(self, jti: str, *, expires_at: datetime) -> None:
        """Revoke the token ``jti`` until ``expires_at`` (its ``exp`` plus leeway).

        Raises:
            StoreError: the database failed (or the store was opened read-only).
        """
        check_key(jti, "jti")
        run(self._db, [(self._statements.revoke_token, (jti, to_us(expires_at, "expires_at")))])

    def is_revoked(self, jti: str, *, now: datetime) -> bool:
        """Whether ``jti`` is revoked and its entry has not expired at the caller's ``now``.

        Raises:
            StoreError: the database failed; the caller must not treat that as
                "not revoked".
        """
        check_key(jti, "jti")
        rows = self._db.read(self._statements.is_revoked, (jti, to_us(now, "now")))
        return bool(rows)

    def revoke_subject(self, subject: str, *, not_before: datetime) -> None:
        """Reject the (pseudonymous) subject's tokens issued before ``not_before``."""
        check_key(subject, "subject")
        when = to_us(not_before, "not_before")
        run(self._db, [(self._statements.revoke_subject, (subject, when))])

    def subject_not_before(self, subject: str) -> datetime | None:
        """The subject's "not before" time, or ``None``."""
        check_key(subject, "subject")
        rows = self._db.read(self._statements.subject_not_before, (subject,))
        return from_us(rows[0][0], self._db.errors.failed) if rows else None

    def purge(self, *, now: datetime) -> int:
        """Delete the token entries expired at ``now``; return how many (subjects stay)."""
        ((_, count),) = run(self._db, [(self._statements.purge, (to_us(now, "now"),))])
        return max(count, 0)

    def close(self) -> None:
        """Close the connection; later calls raise :class:`~govkit.errors.StoreError`."""
        self._db.close()


class SQLiteRevocationStore(_SqlRevocationStore):
    """A :class:`RevocationStore` in one SQLite file (WAL mode), shared by local processes.

    Args:
        path: the database file (created with its tables if missing, unless
            ``read_only``), or ``sqlite:///path``.
        busy_timeout: seconds to wait for another writer before
            :class:`~govkit.errors.StoreLocked`.
        durable: ``True`` (default) syncs every commit; ``False`` may forget the last
            revocations after a power cut.
        read_only: open for verification only (``mode=ro``): the revoking methods
            and :meth:`purge` raise :class:`~govkit.errors.StoreError`, and the
            tables must exist.

    Raises:
        StoreError: the file cannot be opened (or, read-only, holds no revocation
            tables).
        StoreSchemaError: its tables are newer than this release.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        busy_timeout: float = 30.0,
        durable: bool = True,
        read_only: bool = False,
    ) -> None:
        self._path = sqlite_path(path, "SQLiteRevocationStore")
        self._db = open_database(
            self._path,
            schema=SCHEMA,
            errors=_ERRORS,
            read_only=read_only,
            durable=durable,
            busy_timeout=busy_timeout,
        )

    def __repr__(self) -> str:
        return f"SQLiteRevocationStore({str(self._path)!r})"


class PostgresRevocationStore(_SqlRevocationStore):
    """A :class:`RevocationStore` on PostgreSQL (``govkit[postgres]``), for many hosts.

    A connection broken by a server restart fails the call that meets it with
    :class:`~govkit.errors.StoreError` and is replaced on the next call.

    Args:
        url: a ``postgresql://`` URL.
        connect_timeout: seconds to wait for a connection.
        read_only: open for verification only (``default_transaction_read_only``).
    """

    def __init__(self, url: str, *, connect_timeout: int = 10, read_only: bool = False) -> None:
        self._db = open_database(
            postgres_url(url, "PostgresRevocationStore"),
            schema=SCHEMA,
            errors=_ERRORS,
            read_only=read_only,
            connect_timeout=connect_timeout,
        )

    def __repr__(self) -> str:
        return f"PostgresRevocationStore({self._db.url!r})"


def upgrade_revocation_store(url: str | Path) -> SchemaUpgrade | None:
    """Bring the revocation tables in ``url`` to this release's schema (``govkit db upgrade``).

    Returns ``None`` when ``url`` holds no revocation tables (nothing is created).
    """
    return upgrade(url, schema=SCHEMA, errors=_ERRORS)
