"""Replay and revocation stores: two small protocols, a fake, SQLite and PostgreSQL.

>>> from datetime import datetime, timedelta, timezone
>>> from govkit.identity._stores import MemoryIdentityStore
>>> from govkit.testing import FixedClock
>>> clock = FixedClock(datetime(2026, 1, 1, tzinfo=timezone.utc))
>>> store = MemoryIdentityStore(clock=clock)
>>> until = clock.now() + timedelta(minutes=1)
>>> store.check_and_remember("dpop:jkt:jti-1", expires_at=until)
True
>>> store.check_and_remember("dpop:jkt:jti-1", expires_at=until)
False
>>> _ = clock.advance(timedelta(minutes=2))
>>> store.check_and_remember("dpop:jkt:jti-1", expires_at=clock.now() + timedelta(minutes=1))
True
>>> store.revoke_subject("pseudonym-7f3a", not_before=clock.now())
>>> store.subject_not_before("pseudonym-7f3a") == clock.now()
True

Every store implements both :class:`ReplayStore` (one-time ``jti`` values, DPoP
proofs) and :class:`RevocationStore` (revoked tokens, "log out everywhere").

Expiry semantics, the same in every store: an entry whose ``expires_at`` is at or
before the store's current time (its ``clock``) is treated as absent. An expired
replay entry is replaced by :meth:`~ReplayStore.check_and_remember`, which then
returns ``True``; :meth:`purge` deletes expired replay and revocation entries to
reclaim space (correctness never depends on calling it). Subject "not before"
times never expire and are never purged.

Keys, ``jti`` values and subjects are stored as given. ``jti`` values are random
identifiers, not personal data; **subjects must be pseudonyms** (the ``sub`` of a
pairwise or pseudonymous identifier scheme), never a name, an e-mail address or
an ID number.

* :class:`MemoryIdentityStore`: one process, thread-safe, bounded (``max_entries``);
  the fake for tests and single-process apps.
* :class:`SQLiteIdentityStore`: one SQLite file in WAL mode; many processes on one
  host may share it.
* :class:`PostgresIdentityStore`: PostgreSQL through psycopg 3; many hosts.

Both SQL stores detect a replay with one atomic ``INSERT ... ON CONFLICT DO UPDATE
... WHERE <expired> RETURNING`` statement, so two processes racing on the same key
can never both get ``True``.
"""

from __future__ import annotations

import heapq
import sqlite3
import threading
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Protocol, runtime_checkable

from govkit.clock import Clock, SystemClock, require_aware, resolve_time
from govkit.errors import ConfigurationError, IdentityStoreError

__all__ = [
    "MemoryIdentityStore",
    "PostgresIdentityStore",
    "ReplayStore",
    "RevocationStore",
    "SQLiteIdentityStore",
]

# The longest key, jti or subject a store accepts.
_MAX_KEY_LENGTH: Final = 1024

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)


@runtime_checkable
class ReplayStore(Protocol):
    """Remembers one-time values (DPoP proof ``jti``\\ s, one-time tokens) until they expire."""

    def check_and_remember(self, key: str, *, expires_at: datetime) -> bool:
        """Atomically record ``key`` until ``expires_at``.

        Returns ``True`` if the key was new (or its earlier entry had expired) and
        ``False`` if it is already present and not expired, i.e. a replay.
        """
        ...


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

    def is_revoked(self, jti: str) -> bool:
        """Whether ``jti`` is revoked and its revocation entry has not expired."""
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


# --- helpers ----------------------------------------------------------------------


def _check_key(value: object, what: str) -> str:
    if not isinstance(value, str) or not value or len(value) > _MAX_KEY_LENGTH:
        raise ConfigurationError(
            f"a {what} must be a non-empty string of at most {_MAX_KEY_LENGTH} characters"
        )
    return value


def _to_us(value: datetime, name: str) -> int:
    """Microseconds since the Unix epoch of an aware datetime."""
    return (require_aware(value, name) - _EPOCH) // _MICROSECOND


def _from_us(value: Any) -> datetime:
    try:
        return _EPOCH + timedelta(microseconds=int(value))
    except (TypeError, ValueError, OverflowError):
        raise IdentityStoreError("a stored time is damaged") from None


class _IdentityStoreBase:
    """Docstrings shared by the three stores (the public methods of each)."""

    def check_and_remember(self, key: str, *, expires_at: datetime) -> bool:
        """Atomically record ``key`` until ``expires_at``; ``False`` means a replay.

        An entry present with an expiry at or before the store's current time is
        treated as absent and replaced.

        Raises:
            NaiveDatetimeError: ``expires_at`` has no timezone.
            IdentityStoreError: the store failed (or, for the memory store, is full).
        """
        raise NotImplementedError

    def revoke_token(self, jti: str, *, expires_at: datetime) -> None:
        """Revoke the token ``jti`` until ``expires_at`` (its ``exp`` plus leeway)."""
        raise NotImplementedError

    def is_revoked(self, jti: str) -> bool:
        """Whether ``jti`` is revoked and its revocation entry has not expired."""
        raise NotImplementedError

    def revoke_subject(self, subject: str, *, not_before: datetime) -> None:
        """Reject the (pseudonymous) subject's tokens issued before ``not_before``.

        The later of the stored and the given time is kept.
        """
        raise NotImplementedError

    def subject_not_before(self, subject: str) -> datetime | None:
        """The subject's "not before" time, or ``None``."""
        raise NotImplementedError

    def purge(self, *, now: datetime | None = None) -> int:
        """Delete replay and revocation entries expired at ``now`` (default: the clock).

        Returns how many entries were deleted. Subject times are kept.
        """
        raise NotImplementedError

    def close(self) -> None:
        """Release the store's resources; the store cannot be used afterwards."""
        raise NotImplementedError


# --- memory -----------------------------------------------------------------------

_REPLAY: Final = 0
_REVOKED: Final = 1


class MemoryIdentityStore(_IdentityStoreBase):
    """An in-process store: dictionaries under a lock, with lazy expiry.

    The fake of the two protocols for tests, and a real store for a single-process
    application (entries vanish when the process ends, and other processes do not
    see them).

    Bounded: it holds at most ``max_entries`` entries (replay, revoked token and
    subject entries together). Expired entries are dropped on every write, so the
    bound counts live entries only. When it is reached, a new entry raises
    :class:`~govkit.errors.IdentityStoreError` instead of evicting a live one,
    because evicting would reopen a replay window or silently un-revoke a token.

    Args:
        clock: the time source for expiry (default :class:`~govkit.clock.SystemClock`).
        max_entries: the bound described above.
    """

    def __init__(self, *, clock: Clock | None = None, max_entries: int = 100_000) -> None:
        if not isinstance(max_entries, int) or max_entries < 1:
            raise ConfigurationError("max_entries must be a positive integer")
        self._clock: Clock = clock or SystemClock()
        self._max_entries = max_entries
        self._lock = threading.Lock()
        self._replay: dict[str, datetime] = {}
        self._revoked: dict[str, datetime] = {}
        self._subjects: dict[str, datetime] = {}
        # (expires_at, kind, key); stale items (the entry was replaced) are skipped.
        self._expiry: list[tuple[datetime, int, str]] = []
        self._closed = False

    def _table(self, kind: int) -> dict[str, datetime]:
        return self._replay if kind == _REPLAY else self._revoked

    def _drop_expired(self, now: datetime) -> int:
        """Remove entries expired at ``now``; the lock is held."""
        removed = 0
        heap = self._expiry
        while heap and heap[0][0] <= now:
            expires, kind, key = heapq.heappop(heap)
            table = self._table(kind)
            if table.get(key) == expires:
                del table[key]
                removed += 1
        return removed

    def _size(self) -> int:
        return len(self._replay) + len(self._revoked) + len(self._subjects)

    def _make_room(self) -> None:
        if self._size() >= self._max_entries:
            raise IdentityStoreError(
                "the memory identity store is full", max_entries=self._max_entries
            )

    def _check_open(self) -> None:
        if self._closed:
            raise IdentityStoreError("the identity store is closed")

    def check_and_remember(self, key: str, *, expires_at: datetime) -> bool:
        """Atomically record ``key`` until ``expires_at``; ``False`` means a replay."""
        _check_key(key, "replay key")
        expires = require_aware(expires_at, "expires_at")
        now = resolve_time(self._clock, None)
        with self._lock:
            self._check_open()
            self._drop_expired(now)
            current = self._replay.get(key)
            if current is not None and current > now:
                return False
            if current is None:
                self._make_room()
            self._replay[key] = expires
            heapq.heappush(self._expiry, (expires, _REPLAY, key))
            return True

    def revoke_token(self, jti: str, *, expires_at: datetime) -> None:
        """Revoke the token ``jti`` until ``expires_at`` (its ``exp`` plus leeway)."""
        _check_key(jti, "jti")
        expires = require_aware(expires_at, "expires_at")
        now = resolve_time(self._clock, None)
        with self._lock:
            self._check_open()
            self._drop_expired(now)
            current = self._revoked.get(jti)
            if current is None:
                self._make_room()
            elif current >= expires:
                return
            self._revoked[jti] = expires
            heapq.heappush(self._expiry, (expires, _REVOKED, jti))

    def is_revoked(self, jti: str) -> bool:
        """Whether ``jti`` is revoked and its revocation entry has not expired."""
        _check_key(jti, "jti")
        now = resolve_time(self._clock, None)
        with self._lock:
            self._check_open()
            current = self._revoked.get(jti)
            return current is not None and current > now

    def revoke_subject(self, subject: str, *, not_before: datetime) -> None:
        """Reject the (pseudonymous) subject's tokens issued before ``not_before``."""
        _check_key(subject, "subject")
        when = require_aware(not_before, "not_before")
        with self._lock:
            self._check_open()
            current = self._subjects.get(subject)
            if current is None:
                self._drop_expired(resolve_time(self._clock, None))
                self._make_room()
            elif current >= when:
                return
            self._subjects[subject] = when

    def subject_not_before(self, subject: str) -> datetime | None:
        """The subject's "not before" time, or ``None``."""
        _check_key(subject, "subject")
        with self._lock:
            self._check_open()
            return self._subjects.get(subject)

    def purge(self, *, now: datetime | None = None) -> int:
        """Delete replay and revocation entries expired at ``now``; return how many."""
        when = resolve_time(self._clock, now)
        with self._lock:
            self._check_open()
            return self._drop_expired(when)

    def close(self) -> None:
        """Forget every entry; the store cannot be used afterwards."""
        with self._lock:
            self._closed = True
            self._replay.clear()
            self._revoked.clear()
            self._subjects.clear()
            self._expiry.clear()

    def __len__(self) -> int:
        with self._lock:
            return self._size()

    def __repr__(self) -> str:
        return f"MemoryIdentityStore(max_entries={self._max_entries})"


# --- SQL --------------------------------------------------------------------------

_SCHEMA: Final = (
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

# One statement decides a replay: insert, or take over an expired row; RETURNING yields a
# row only when this call recorded the key. The WHERE clause sees the row as committed by
# any concurrent writer (SQLite: under the write lock; PostgreSQL: after waiting on it).
_CHECK_AND_REMEMBER: Final = (
    "INSERT INTO identity_replay (replay_key, expires_us) VALUES (?, ?) "
    "ON CONFLICT (replay_key) DO UPDATE SET expires_us = excluded.expires_us "
    "WHERE identity_replay.expires_us <= ? "
    "RETURNING 1"
)
_REVOKE_JTI: Final = (
    "INSERT INTO identity_revoked_tokens (jti, expires_us) VALUES (?, ?) "
    "ON CONFLICT (jti) DO UPDATE SET expires_us = excluded.expires_us "
    "WHERE identity_revoked_tokens.expires_us < excluded.expires_us"
)
_IS_REVOKED: Final = "SELECT 1 FROM identity_revoked_tokens WHERE jti = ? AND expires_us > ?"
_REVOKE_SUBJECT: Final = (
    "INSERT INTO identity_subjects (subject, not_before_us) VALUES (?, ?) "
    "ON CONFLICT (subject) DO UPDATE SET not_before_us = excluded.not_before_us "
    "WHERE identity_subjects.not_before_us < excluded.not_before_us"
)
_SUBJECT_NOT_BEFORE: Final = "SELECT not_before_us FROM identity_subjects WHERE subject = ?"
_PURGE: Final = (
    "DELETE FROM identity_replay WHERE expires_us <= ?",
    "DELETE FROM identity_revoked_tokens WHERE expires_us <= ?",
)


class _SqlIdentityStore(_IdentityStoreBase):
    """The statements both SQL stores share; subclasses run them."""

    _without_rowid = ""
    _clock: Clock

    def _run(
        self, statements: Sequence[tuple[str, Sequence[Any]]]
    ) -> list[tuple[list[tuple[Any, ...]], int]]:
        """Run ``statements`` in one write transaction; each gives (rows, rowcount)."""
        raise NotImplementedError

    def _schema(self) -> list[tuple[str, Sequence[Any]]]:
        return [(s.format(without_rowid=self._without_rowid), ()) for s in _SCHEMA]

    def check_and_remember(self, key: str, *, expires_at: datetime) -> bool:
        """Atomically record ``key`` until ``expires_at``; ``False`` means a replay."""
        _check_key(key, "replay key")
        expires = _to_us(expires_at, "expires_at")
        now = _to_us(resolve_time(self._clock, None), "now")
        ((rows, _),) = self._run([(_CHECK_AND_REMEMBER, (key, expires, now))])
        return bool(rows)

    def revoke_token(self, jti: str, *, expires_at: datetime) -> None:
        """Revoke the token ``jti`` until ``expires_at`` (its ``exp`` plus leeway)."""
        _check_key(jti, "jti")
        self._run([(_REVOKE_JTI, (jti, _to_us(expires_at, "expires_at")))])

    def is_revoked(self, jti: str) -> bool:
        """Whether ``jti`` is revoked and its revocation entry has not expired."""
        _check_key(jti, "jti")
        now = _to_us(resolve_time(self._clock, None), "now")
        ((rows, _),) = self._run([(_IS_REVOKED, (jti, now))])
        return bool(rows)

    def revoke_subject(self, subject: str, *, not_before: datetime) -> None:
        """Reject the (pseudonymous) subject's tokens issued before ``not_before``."""
        _check_key(subject, "subject")
        self._run([(_REVOKE_SUBJECT, (subject, _to_us(not_before, "not_before")))])

    def subject_not_before(self, subject: str) -> datetime | None:
        """The subject's "not before" time, or ``None``."""
        _check_key(subject, "subject")
        ((rows, _),) = self._run([(_SUBJECT_NOT_BEFORE, (subject,))])
        return _from_us(rows[0][0]) if rows else None

    def purge(self, *, now: datetime | None = None) -> int:
        """Delete replay and revocation entries expired at ``now``; return how many."""
        when = _to_us(resolve_time(self._clock, now), "now")
        results = self._run([(statement, (when,)) for statement in _PURGE])
        return sum(max(count, 0) for _, count in results)


class SQLiteIdentityStore(_SqlIdentityStore):
    """A store in one SQLite file (WAL mode); processes on one host may share it.

    Every call is one ``BEGIN IMMEDIATE`` transaction, so writers queue on SQLite's
    lock (for up to ``busy_timeout`` seconds) and a replay decision is atomic across
    processes.

    Args:
        path: the database file (created with its tables if missing).
        clock: the time source for expiry (default :class:`~govkit.clock.SystemClock`).
        busy_timeout: seconds to wait for another writer before
            :class:`~govkit.errors.IdentityStoreError`.
        durable: ``True`` (default) syncs every commit (``synchronous=FULL``), so a
            recorded ``jti`` survives a power cut; ``False`` uses ``NORMAL``.
    """

    _without_rowid = " WITHOUT ROWID"

    def __init__(
        self,
        path: str | Path,
        *,
        clock: Clock | None = None,
        busy_timeout: float = 30.0,
        durable: bool = True,
    ) -> None:
        self._clock = clock or SystemClock()
        self._path = Path(path)
        self._lock = threading.Lock()
        try:
            self._conn = sqlite3.connect(
                self._path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise IdentityStoreError(
                f"cannot open the SQLite identity store: {_name(exc)}"
            ) from None
        try:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            self._conn.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            self._run(self._schema())
        except (sqlite3.Error, IdentityStoreError):
            self._conn.close()
            raise IdentityStoreError("cannot open the SQLite identity store") from None

    def _run(
        self, statements: Sequence[tuple[str, Sequence[Any]]]
    ) -> list[tuple[list[tuple[Any, ...]], int]]:
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    results = []
                    for statement, params in statements:
                        cursor = conn.execute(statement, tuple(params))
                        rows = cursor.fetchall()
                        results.append((rows, cursor.rowcount))
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise IdentityStoreError(f"SQLite identity store error: {_name(exc)}") from None
            return results

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()

    def __repr__(self) -> str:
        return f"SQLiteIdentityStore({str(self._path)!r})"


def _name(exc: BaseException) -> str:
    """An error's class (and SQLite error name): never the SQL or the values."""
    detail = getattr(exc, "sqlite_errorname", None)
    return f"{type(exc).__name__} ({detail})" if detail else type(exc).__name__


class PostgresIdentityStore(_SqlIdentityStore):
    """A store on PostgreSQL (psycopg 3; install ``govkit[postgres]``) for many hosts.

    Every call is one transaction on one connection (guarded by a lock, reopened
    if it broke). Replay decisions use ``INSERT ... ON CONFLICT DO UPDATE ... WHERE
    <expired> RETURNING``: a concurrent insert of the same key waits for the first
    one to commit and then sees it, so at most one caller gets ``True``.

    Args:
        url: a ``postgresql://`` connection URL.
        clock: the time source for expiry (default :class:`~govkit.clock.SystemClock`).
        connect_timeout: seconds to wait for a connection.
    """

    def __init__(self, url: str, *, clock: Clock | None = None, connect_timeout: int = 10) -> None:
        try:
            import psycopg  # noqa: PLC0415 - optional dependency
        except ImportError:  # pragma: no cover - depends on the environment
            raise ConfigurationError(
                "PostgreSQL stores need psycopg: pip install 'govkit[postgres]'"
            ) from None
        self._psycopg = psycopg
        self._clock = clock or SystemClock()
        self._url = url
        self._connect_timeout = connect_timeout
        self._lock = threading.Lock()
        self._conn: Any = None
        self._closed = False
        lock_id = zlib.crc32(b"govkit.identity") - 2**31
        self._run([("SELECT pg_advisory_xact_lock(?)", (lock_id,)), *self._schema()], rows=False)

    def _connection(self) -> Any:
        conn = self._conn
        if conn is None or conn.closed or conn.broken:
            if conn is not None:
                conn.close()
            self._conn = conn = self._psycopg.connect(
                self._url, connect_timeout=self._connect_timeout, autocommit=False
            )
        return conn

    def _run(
        self, statements: Sequence[tuple[str, Sequence[Any]]], *, rows: bool = True
    ) -> list[tuple[list[tuple[Any, ...]], int]]:
        with self._lock:
            if self._closed:
                raise IdentityStoreError("the identity store is closed")
            try:
                conn = self._connection()
                results = []
                with conn.transaction(), conn.cursor() as cur:
                    for statement, params in statements:
                        cur.execute(statement.replace("?", "%s"), tuple(params))
                        fetched = list(cur.fetchall()) if rows and cur.description else []
                        results.append((fetched, cur.rowcount))
            except self._psycopg.Error as exc:
                raise IdentityStoreError(
                    f"PostgreSQL identity store error: {type(exc).__name__}"
                ) from None
            return results

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()

    def __repr__(self) -> str:
        return "PostgresIdentityStore()"
