"""The one SQL connection layer under every govkit store (private).

A store (the audit log, the payment inbox, an identity or replay store) describes
its tables once, as a :class:`Schema`, names its error classes once, as
:class:`Errors`, and then talks to :class:`Database`: ``read`` runs one statement,
``transaction`` runs several atomically. Statements use ``?`` placeholders on both
engines. What this module guarantees, the same for every store:

* **Reconnect, never a silent retry.** A PostgreSQL connection found dead (the server
  restarted, the network dropped) is closed and forgotten; the call that met it fails
  with the component's ``*.store`` error, and the next call connects again. A write is
  never retried here: its ``COMMIT`` may have reached the server before the connection
  died, and only the caller knows whether doing it twice is harmless.
* **Read-only when asked.** ``read_only=True`` opens SQLite with ``mode=ro`` (and
  ``immutable=1`` when the file's directory cannot be written, so no ``-wal``/``-shm``
  file is needed on read-only media) and sets PostgreSQL sessions to
  ``default_transaction_read_only``. A read-only open never creates or upgrades tables.
* **Locked is its own error.** SQLite ``SQLITE_BUSY``/``SQLITE_LOCKED`` and PostgreSQL
  ``lock_not_available`` (55P03), ``serialization_failure`` (40001) and
  ``deadlock_detected`` (40P01) raise the component's ``*.store_locked`` error.
* **Errors carry no data.** A message keeps the engine, the SQLSTATE (or SQLite error
  name) and the database's primary message, never its DETAIL line (which quotes key
  values) and never the text after the colon of a data exception (22xxx), which quotes
  the offending value.
* **One schema version table.** ``govkit_schema (component, version)`` records each
  component's version. Opening refuses a newer version (:class:`Errors.schema`); a
  writer upgrades an older one in one transaction under a lock; a reader accepts any
  version from ``Schema.readable_from`` up. Stores written before the table existed
  are recognised by their tables (``Schema.marker``) and count as ``Schema.untracked``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, urlsplit, urlunsplit

from govkit.errors import ConfigurationError, GovkitError

__all__ = [
    "POSTGRESQL",
    "SQLITE",
    "Database",
    "Errors",
    "Schema",
    "SchemaUpgrade",
    "Tx",
    "is_postgres_url",
    "open_database",
    "redact_target",
    "redact_url",
    "upgrade_database",
]

SQLITE: Final = "sqlite"
POSTGRESQL: Final = "postgresql"

#: The advisory lock every PostgreSQL schema check and upgrade takes (one for all
#: components: two components creating ``govkit_schema`` at once would collide).
SCHEMA_LOCK: Final = zlib.crc32(b"govkit.schema") - 2**31

_VERSION_TABLE: Final = (
    "CREATE TABLE IF NOT EXISTS govkit_schema "
    "(component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
)

# SQLSTATEs that mean "someone else holds what we need; try again".
_LOCKED_STATES: Final = frozenset({"55P03", "40001", "40P01"})
# SQLSTATEs after which the connection is not worth keeping.
_DEAD_STATES: Final = frozenset({"57P01", "57P02", "57P03"})
_SQLITE_BUSY: Final = 5
_SQLITE_LOCKED: Final = 6
_MAX_MESSAGE: Final = 240

# Per-engine spellings in schema templates.
_TEMPLATES: Final[Mapping[str, Mapping[str, str]]] = {
    SQLITE: {
        "blob": "BLOB",
        "serial": "INTEGER PRIMARY KEY AUTOINCREMENT",
        "without_rowid": " WITHOUT ROWID",
        "int64_key": "INTEGER PRIMARY KEY",
    },
    POSTGRESQL: {
        "blob": "BYTEA",
        "serial": "BIGSERIAL PRIMARY KEY",
        "without_rowid": "",
        "int64_key": "BIGINT PRIMARY KEY",
    },
}


@dataclass(frozen=True, slots=True)
class Errors:
    """The error classes one component raises for its store, and what it calls the store.

    ``noun`` starts every message ("the audit store", "the payment inbox").
    """

    failed: type[GovkitError]
    locked: type[GovkitError]
    schema: type[GovkitError]
    noun: str


@dataclass(frozen=True, slots=True)
class Schema:
    """One component's tables, its schema version and the steps that reach it.

    Statements are templates: ``{blob}``, ``{serial}``, ``{without_rowid}`` and
    ``{int64_key}`` (a 64-bit integer primary key: SQLite's rowid) are filled per
    engine. ``create`` builds a fresh store at ``version``; ``upgrades[v]`` takes a
    store from version ``v`` to ``v + 1`` (every step from the oldest supported
    version up must be present). ``marker`` is a table every
    version has: a store holding it but no ``govkit_schema`` row was written before
    versions were recorded, and has version ``untracked``. Readers accept versions
    ``readable_from`` to ``version``: an upgrade that older read code cannot follow
    raises ``readable_from`` with it.
    """

    component: str
    version: int
    create: tuple[str, ...]
    marker: str
    upgrades: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    untracked: int = 1
    readable_from: int = 1

    def __post_init__(self) -> None:
        missing = [v for v in range(self.untracked, self.version) if v not in self.upgrades]
        if missing or not 1 <= self.readable_from <= self.version:
            raise ConfigurationError("a store schema lacks upgrade steps", missing=missing)

    def statements(self, dialect: str, templates: Sequence[str]) -> list[str]:
        """``templates`` spelled for ``dialect``, empty statements dropped."""
        spelled = [t.format(**_TEMPLATES[dialect]) for t in templates]
        return [part.strip() for s in spelled for part in s.split(";") if part.strip()]


@dataclass(frozen=True, slots=True)
class SchemaUpgrade:
    """What an upgrade did to one component's tables in a store.

    ``before`` is the version found (a store written before versions were recorded
    counts as version 1, with ``recorded`` false); ``after`` is the version now
    recorded. ``changed`` is false when the store was already current.
    """

    component: str
    before: int
    after: int
    recorded: bool

    @property
    def changed(self) -> bool:
        """Whether the upgrade wrote anything (a step ran or the version was recorded)."""
        return self.before != self.after or not self.recorded

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "component": self.component,
            "before": self.before,
            "after": self.after,
            "recorded": self.recorded,
            "changed": self.changed,
        }


# --- URLs ---------------------------------------------------------------------------


def is_postgres_url(target: str | Path) -> bool:
    """Whether ``target`` names a PostgreSQL server (``postgresql://``, ``postgres://``)."""
    return str(target).startswith(("postgresql://", "postgres://"))


def redact_url(url: str) -> str:
    """``url`` without its password or query (where a password may also hide)."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if ":" in netloc:  # an IPv6 literal
        netloc = f"[{netloc}]"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _sqlite_path(target: str | Path, errors: Errors) -> Path:
    text = str(target)
    if text.startswith("sqlite:///"):
        return Path(text[len("sqlite:///") :])
    if "://" in text:
        raise ConfigurationError(
            f"{errors.noun} must be sqlite:///path, a file path or postgresql://...",
            scheme=text.split(":", 1)[0],
        )
    return Path(text)


# --- errors -------------------------------------------------------------------------


def _sqlite_error(exc: BaseException, errors: Errors, doing: str) -> GovkitError:
    name = getattr(exc, "sqlite_errorname", None) or type(exc).__name__
    code = getattr(exc, "sqlite_errorcode", None)
    text = str(exc).splitlines()[0][:_MAX_MESSAGE] if str(exc) else ""
    if isinstance(code, int) and code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED):
        message = f"{errors.noun} stayed locked by another writer: SQLite {name}: {text}"
        return errors.locked(message, engine=SQLITE, sqlite_error=name)
    message = f"{errors.noun} {doing}: SQLite {name}: {text}".rstrip(": ")
    return errors.failed(message, engine=SQLITE, sqlite_error=name)


def _postgres_error(exc: BaseException, errors: Errors, doing: str) -> GovkitError:
    state: str | None = getattr(exc, "sqlstate", None)
    diag = getattr(exc, "diag", None)
    primary: str | None = getattr(diag, "message_primary", None) if state else None
    if primary is None:  # raised by the client (no server message): its first line
        text = str(exc).strip()
        primary = text.splitlines()[0] if text else type(exc).__name__
    elif state is not None and state.startswith("22"):  # data exceptions quote the value
        primary = primary.split(":", 1)[0]
    primary = primary[:_MAX_MESSAGE]
    label = f"PostgreSQL {state}" if state else f"PostgreSQL {type(exc).__name__}"
    if state in _LOCKED_STATES:
        message = f"{errors.noun} was locked by another transaction: {label}: {primary}"
        return errors.locked(message, engine=POSTGRESQL, sqlstate=state)
    message = f"{errors.noun} {doing}: {label}: {primary}"
    return errors.failed(message, engine=POSTGRESQL, sqlstate=state)


def _pg(statement: str) -> str:
    """``statement`` with PostgreSQL's ``%s`` placeholders (a replace costs less than a
    memo lookup would save; house rule 5: no module-level caches)."""
    return statement.replace("?", "%s")


# --- transactions -------------------------------------------------------------------


class Tx:
    """A cursor inside one transaction; ``?`` placeholders on both engines."""

    __slots__ = ("_cursor", "postgres")

    def __init__(self, cursor: Any, postgres: bool) -> None:
        self._cursor = cursor
        #: Whether the engine is PostgreSQL (for the few statements spelled differently).
        self.postgres = postgres

    def run(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement; return its rows (none for a statement without a result)."""
        cursor = self._cursor
        cursor.execute(_pg(statement) if self.postgres else statement, tuple(params))
        if cursor.description is None:
            return []
        return list(cursor.fetchall())

    def fetch(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement that returns rows and return them (waits in a pipeline too)."""
        cursor = self._cursor
        cursor.execute(_pg(statement) if self.postgres else statement, tuple(params))
        return list(cursor.fetchall())

    def many(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement once per row of parameters."""
        self._cursor.executemany(_pg(statement) if self.postgres else statement, rows)

    @property
    def rowcount(self) -> int:
        """Rows changed by the last statement (-1 when the engine does not say)."""
        return int(self._cursor.rowcount)

    def lock(self, key: int, key2: int | None = None) -> None:
        """Take the transaction-scoped lock ``key`` (PostgreSQL advisory lock).

        With ``key2``, the lock of the 32-bit pair ``(key, key2)``: PostgreSQL keeps
        pairs apart from single 64-bit keys (the two key spaces do not overlap). On
        SQLite every write transaction already holds the database's one write lock
        (``BEGIN IMMEDIATE``), so this does nothing there.
        """
        if self.postgres and key2 is None:
            self._cursor.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
        elif self.postgres:
            self._cursor.execute(
                "SELECT pg_advisory_xact_lock(%s::integer, %s::integer)", (key, key2)
            )


# --- databases ----------------------------------------------------------------------


class Database:
    """One connection to one store's database, shared by threads under a lock."""

    #: ``"sqlite"`` or ``"postgresql"``.
    dialect: str
    #: Where the database is, without any password.
    url: str
    #: Whether the connection refuses writes.
    read_only: bool
    errors: Errors
    #: How many connections have been opened (PostgreSQL: a new one has fresh session state).
    generation: int = 0

    @property
    def postgres(self) -> bool:
        """Whether the engine is PostgreSQL."""
        return self.dialect == POSTGRESQL

    def read(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement on its own (autocommit) and return its rows."""
        raise NotImplementedError

    def transaction(
        self, *, write: bool = True, pipeline: bool = False, deferred_sync: bool = False
    ) -> Any:
        """A context manager yielding a :class:`Tx`; commits on exit, rolls back on error.

        ``write=False`` starts a plain read transaction (no SQLite write lock).
        ``pipeline=True`` (PostgreSQL; ignored by SQLite) sends the statements without
        waiting for each one's result, ``COMMIT`` included: the server is waited for
        only by :meth:`Tx.fetch` and at the end, and ``Tx.run`` returns no rows.
        ``deferred_sync=True`` commits without holding the write lock through the
        fsync: SQLite (in WAL mode, durable; ignored otherwise) commits without
        waiting for the disk and the caller must call :meth:`sync` before it reports
        the commit durable; PostgreSQL commits asynchronously and then waits for the
        WAL flush before the transaction returns (``_WAIT_FLUSH``).
        """
        raise NotImplementedError

    def call(
        self, statement: str, params: Sequence[Any] = (), *, binary: bool = False
    ) -> list[tuple[Any, ...]]:
        """Run one statement in a write transaction of its own; return its rows once durable.

        The same as ``transaction(deferred_sync=True)`` around one :meth:`Tx.fetch`
        followed by :meth:`sync`. PostgreSQL sends all of it at once: ``BEGIN``, the
        asynchronous-commit setting, the statement, ``COMMIT`` and the wait for the WAL
        flush, one client round trip in all, so a lock the statement takes is never
        held across one. Meant for statements whose work is on the server (a function
        call). By default it is one simple-protocol message with the parameters bound
        as literals by psycopg (quickest for a few small values); with ``binary`` the
        statements go as one pipeline with the parameters in binary (quicker for large
        arrays). SQLite ignores ``binary``.
        """
        with self.transaction(deferred_sync=True) as tx:
            rows: list[tuple[Any, ...]] = tx.fetch(statement, params)
        self.sync()
        return rows

    def sync(self) -> None:
        """Return once every commit of this connection is durable (see ``deferred_sync``)."""
        raise NotImplementedError

    def close(self) -> None:
        """Close the connection; later calls raise the component's store error."""
        raise NotImplementedError


def _sqlite_uri(path: Path, *, read_only: bool, create: bool) -> str:
    location = quote(str(path.absolute()), safe="/")
    if not read_only:
        return f"file:{location}?mode={'rwc' if create else 'rw'}"
    options = "mode=ro"
    if not os.access(path.parent, os.W_OK) and not _pending_wal(path):
        # Read-only media: SQLite could create no -shm file there. Nothing can change
        # the file while it sits on such media, which is what immutable=1 promises.
        # Not with a non-empty -wal file: immutable=1 would ignore the commits in it.
        options += "&immutable=1"
    return f"file:{location}?{options}"


def _wal_path(path: Path) -> str:
    """The database's write-ahead log (SQLite names it after the resolved path)."""
    return os.path.realpath(path) + "-wal"


def _pending_wal(path: Path) -> bool:
    """Whether ``path`` has a write-ahead log holding commits not yet in the file."""
    try:
        return path.with_name(path.name + "-wal").stat().st_size > 0
    except OSError:
        return False


class _SQLite(Database):
    dialect = SQLITE

    def __init__(
        self,
        path: Path,
        *,
        errors: Errors,
        read_only: bool,
        create: bool,
        durable: bool,
        busy_timeout: float,
    ) -> None:
        self.errors = errors
        self.read_only = read_only
        self.url = f"sqlite:///{path}"
        self._path = path
        self._lock = threading.RLock()
        self._closed = False
        self._durable = durable
        self._wal: bool | None = None  # journal_mode is WAL (read on first use)
        self._wal_fd: int | None = None
        self._wal_name = ""  # its path, resolved on first sync
        self._sync_lock = threading.Lock()
        try:
            if create and not read_only:
                path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                _sqlite_uri(path, read_only=read_only, create=create),
                uri=True,
                timeout=busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
        except OSError as exc:
            raise errors.failed(
                f"cannot open {errors.noun}: {exc.strerror or type(exc).__name__}",
                engine=SQLITE,
            ) from None
        except sqlite3.Error as exc:
            raise self._open_error(exc) from None
        try:
            self._conn.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            if read_only:
                self._conn.execute("PRAGMA query_only=1")
                self._conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchall()  # open now
            else:
                if create:  # an upgrade leaves the journal mode (a file header field) alone
                    self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        except sqlite3.Error as exc:
            self._conn.close()
            raise self._open_error(exc) from None

    def _open_error(self, exc: sqlite3.Error) -> GovkitError:
        error = _sqlite_error(exc, self.errors, "cannot be opened")
        if (
            self.read_only
            and _pending_wal(self._path)
            and not os.access(self._path.parent, os.W_OK)
        ):
            return self.errors.failed(
                f"{error.message} (its write-ahead log is on read-only media without a "
                "-shm file: copy the database and its -wal file to writable storage)",
                **error.context,
            )
        return error

    def _check_open(self) -> sqlite3.Connection:
        if self._closed:
            raise self.errors.failed(f"{self.errors.noun} is closed")
        return self._conn

    def read(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            conn = self._check_open()
            try:
                return conn.execute(statement, tuple(params)).fetchall()
            except sqlite3.Error as exc:
                raise _sqlite_error(exc, self.errors, "failed") from None

    @contextmanager
    def transaction(
        self, *, write: bool = True, pipeline: bool = False, deferred_sync: bool = False
    ) -> Iterator[Tx]:
        with self._lock:
            conn = self._check_open()
            # The commit skips its fsync (synchronous=NORMAL for this one transaction;
            # the connection stays FULL): sync() makes it durable after the lock is gone.
            deferred = deferred_sync and write and self._deferrable(conn)
            try:
                if deferred:
                    conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("BEGIN IMMEDIATE" if write and not self.read_only else "BEGIN")
            except sqlite3.Error as exc:
                if deferred:
                    self._restore_sync(conn)
                raise _sqlite_error(exc, self.errors, "failed") from None
            try:
                yield Tx(conn.cursor(), postgres=False)
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback(conn)
                raise _sqlite_error(exc, self.errors, "failed") from None
            except BaseException:
                self._rollback(conn)
                raise
            finally:
                if deferred:
                    self._restore_sync(conn)

    def _deferrable(self, conn: sqlite3.Connection) -> bool:
        """Whether a commit may leave its fsync to :meth:`sync`: durable and in WAL mode.

        In WAL mode a commit that skips its fsync can only be lost whole, with every
        later one (frames are replayed in order up to the first torn one), never
        corrupt the file; the rollback journal gives no such promise.
        """
        if not self._durable or self.read_only:
            return False
        if self._wal is None:
            try:
                mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            except sqlite3.Error as exc:
                raise _sqlite_error(exc, self.errors, "failed") from None
            self._wal = str(mode).lower() == "wal"
        return self._wal

    def _restore_sync(self, conn: sqlite3.Connection) -> None:
        """Back to ``synchronous=FULL``; where that fails the connection is closed."""
        try:
            conn.execute("PRAGMA synchronous=FULL")
        except sqlite3.Error:
            self._closed = True  # never go on committing without fsync
            conn.close()
            raise self.errors.failed(
                f"{self.errors.noun} could not restore durable commits and was closed",
                engine=SQLITE,
            ) from None

    def sync(self) -> None:
        """fdatasync the write-ahead log: every commit made so far is then durable.

        Called after a ``deferred_sync`` commit, outside every lock: writers of other
        processes commit meanwhile, and concurrent syncs share the device flush. The
        WAL holds every commit not yet copied into the database, and a checkpoint
        syncs the database before it lets the WAL be reused, so syncing it covers
        them all. A non-durable store (or one not in WAL mode) has nothing to do.
        """
        if not self._durable or not self._wal:
            return
        with self._sync_lock:
            try:
                if not self._wal_name:
                    self._wal_name = _wal_path(self._path)
                if self._wal_fd is None or not self._is_wal(self._wal_fd):
                    fd = os.open(self._wal_name, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
                    if self._wal_fd is not None:
                        os.close(self._wal_fd)
                    self._wal_fd = fd
                getattr(os, "fdatasync", os.fsync)(self._wal_fd)
            except OSError as exc:
                raise self.errors.failed(
                    f"cannot sync the write-ahead log of {self.errors.noun} "
                    f"({exc.strerror or type(exc).__name__}): the commit may not be durable",
                    engine=SQLITE,
                ) from None

    def _is_wal(self, fd: int) -> bool:
        """Whether ``fd`` is still the file at the WAL's path."""
        here, there = os.fstat(fd), os.stat(self._wal_name)
        return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)

    @staticmethod
    def _rollback(conn: sqlite3.Connection) -> None:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back already
                conn.execute("ROLLBACK")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._conn.close()
        with self._sync_lock:
            if self._wal_fd is not None:  # SQLite takes no lock on the WAL file itself
                os.close(self._wal_fd)
                self._wal_fd = None


#: After a ``deferred_sync`` transaction on PostgreSQL. That transaction commits with
#: ``synchronous_commit`` off, so its locks (the audit writers' advisory lock) go
#: without waiting for the WAL flush and the next writer, of any process, goes on
#: meanwhile. This statement then writes one tiny WAL record (a transactional
#: logical message, which any role may emit) and commits with the session's own
#: ``synchronous_commit``: it returns once the WAL is flushed (or replicated, as that
#: setting says) past it, hence past the transaction's commit record. Flushes at
#: the same moment share one fsync (PostgreSQL's own group commit). WAL is replayed
#: in order, so a crash that loses an unflushed commit loses every later one too.
_WAIT_FLUSH: Final = "SELECT pg_logical_emit_message(true, 'govkit.sync', '')"
#: :meth:`Database.call` on PostgreSQL: one simple-protocol message (the server runs
#: its statements in order and stops at the first error, leaving the transaction
#: aborted: the client then rolls it back). ``{}`` is the statement.
_ONE_ROUND: Final = (
    "BEGIN; SELECT set_config('synchronous_commit', 'off', true); {}; COMMIT; " + _WAIT_FLUSH
)


class _Postgres(Database):
    dialect = POSTGRESQL

    def __init__(self, url: str, *, errors: Errors, read_only: bool, connect_timeout: int) -> None:
        try:
            import psycopg  # noqa: PLC0415 - optional dependency
        except ImportError:  # pragma: no cover - depends on the environment
            raise ConfigurationError(
                "PostgreSQL stores need psycopg: pip install 'govkit[postgres]'"
            ) from None
        self._psycopg = psycopg
        self.errors = errors
        self.read_only = read_only
        self.url = redact_url(url)
        self._dsn = url
        self._connect_timeout = connect_timeout
        self._lock = threading.RLock()
        self._conn: Any = None
        self._closed = False
        self.generation = 0
        with self._lock:
            self._connection()  # fail early when the server is unreachable

    def _connection(self) -> Any:
        """The live connection, opening a new one if there is none (the lock is held)."""
        if self._closed:
            raise self.errors.failed(f"{self.errors.noun} is closed")
        conn = self._conn
        if conn is not None and not conn.closed and not conn.broken:
            return conn
        self._drop()
        try:
            conn = self._psycopg.connect(
                self._dsn, connect_timeout=self._connect_timeout, autocommit=True
            )
        except self._psycopg.Error as exc:
            raise _postgres_error(exc, self.errors, "is unreachable") from None
        self._conn = conn
        self.generation += 1
        try:
            # govkit's statements are short (an append, a proof, a lookup): once the
            # tables are large the planner's cost estimates pass jit_above_cost and
            # compiling a statement (20+ ms) took far longer than running it (< 1 ms).
            with contextlib.suppress(self._psycopg.errors.UndefinedObject):  # before PG 11
                conn.execute("SET jit = off")
            if self.read_only:
                conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        except self._psycopg.Error as exc:
            self._drop()
            raise _postgres_error(exc, self.errors, "failed") from None
        return conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # closing a dead connection may fail
                conn.close()

    def _failed(self, exc: BaseException, conn: Any) -> GovkitError:
        """Map ``exc``; forget the connection when it cannot be used again."""
        state = getattr(exc, "sqlstate", None)
        if (
            conn.closed
            or conn.broken
            or (state is not None and (state.startswith("08") or state in _DEAD_STATES))
        ):
            self._drop()
            return _postgres_error(
                exc, self.errors, "lost its connection (the next call reconnects)"
            )
        return _postgres_error(exc, self.errors, "failed")

    def read(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            conn = self._connection()
            try:
                cursor = conn.execute(_pg(statement), tuple(params))
                return list(cursor.fetchall()) if cursor.description is not None else []
            except self._psycopg.Error as exc:
                raise self._failed(exc, conn) from None

    @contextmanager
    def transaction(
        self, *, write: bool = True, pipeline: bool = False, deferred_sync: bool = False
    ) -> Iterator[Tx]:
        with self._lock:
            conn = self._connection()
            deferred = deferred_sync and write and not self.read_only
            try:
                with conn.pipeline() if pipeline else contextlib.nullcontext():
                    with conn.transaction(), conn.cursor() as cursor:
                        if deferred:
                            cursor.execute("SET LOCAL synchronous_commit TO off")
                        yield Tx(cursor, postgres=True)
                    if deferred:
                        conn.execute(_WAIT_FLUSH)  # in the same pipeline as the COMMIT
            except self._psycopg.Error as exc:
                raise self._failed(exc, conn) from None

    def call(
        self, statement: str, params: Sequence[Any] = (), *, binary: bool = False
    ) -> list[tuple[Any, ...]]:
        with self._lock:
            conn = self._connection()
            cursor = conn.cursor() if binary else self._psycopg.ClientCursor(conn)
            try:
                if binary:
                    with conn.pipeline():  # everything goes out before any result is read
                        conn.execute("BEGIN")
                        conn.execute("SET LOCAL synchronous_commit TO off")
                        cursor.execute(statement.replace("?", "%b"), tuple(params))
                        conn.execute("COMMIT")
                        conn.execute(_WAIT_FLUSH)
                    return list(cursor.fetchall()) if cursor.description is not None else []
                cursor.execute(_ONE_ROUND.format(_pg(statement)), tuple(params))
                cursor.nextset()  # past BEGIN and the setting to the statement's rows
                cursor.nextset()
                rows = list(cursor.fetchall()) if cursor.description is not None else []
                while cursor.nextset():  # COMMIT and the flush: read, or an error raises
                    pass
                return rows
            except self._psycopg.Error as exc:
                if conn.info.transaction_status == self._psycopg.pq.TransactionStatus.INERROR:
                    with contextlib.suppress(self._psycopg.Error):
                        conn.execute("ROLLBACK")
                raise self._failed(exc, conn) from None
            finally:
                cursor.close()

    def sync(self) -> None:
        """Nothing to do: every transaction returned only once durable (see ``_WAIT_FLUSH``)."""

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._drop()


# --- opening and schema versions ------------------------------------------------------


def _connect(
    target: str | Path,
    errors: Errors,
    *,
    read_only: bool,
    create: bool,
    durable: bool,
    busy_timeout: float,
    connect_timeout: int,
) -> Database:
    if is_postgres_url(target):
        return _Postgres(
            str(target), errors=errors, read_only=read_only, connect_timeout=connect_timeout
        )
    path = _sqlite_path(target, errors)
    return _SQLite(
        path,
        errors=errors,
        read_only=read_only,
        create=create,
        durable=durable,
        busy_timeout=busy_timeout,
    )


def _table_exists(tx: Tx, name: str) -> bool:
    if tx.postgres:
        rows = tx.run(
            "SELECT 1 FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_name = ?",
            (name,),
        )
    else:
        rows = tx.run("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
    return bool(rows)


def _found_version(tx: Tx, schema: Schema, errors: Errors) -> tuple[int, bool] | None:
    """``(version, recorded)`` of ``schema``'s tables in the store; ``None`` if absent."""
    if _table_exists(tx, "govkit_schema"):
        rows = tx.run("SELECT version FROM govkit_schema WHERE component = ?", (schema.component,))
        if rows:
            try:
                return int(rows[0][0]), True
            except (TypeError, ValueError):
                raise errors.schema(
                    f"{errors.noun} records a damaged schema version", component=schema.component
                ) from None
    if _table_exists(tx, schema.marker):
        return schema.untracked, False
    return None


def _newer(schema: Schema, errors: Errors, found: int) -> GovkitError:
    return errors.schema(
        f"{errors.noun} has schema version {found}, newer than this release of govkit "
        f"understands ({schema.version}): upgrade govkit",
        component=schema.component,
        found=found,
        supported=schema.version,
    )


def _migrate(tx: Tx, schema: Schema, errors: Errors, *, create: bool) -> SchemaUpgrade | None:
    """Create or upgrade ``schema``'s tables inside ``tx`` (which holds the schema lock)."""
    dialect = POSTGRESQL if tx.postgres else SQLITE
    found = _found_version(tx, schema, errors)
    if found is None and not create:
        return None
    if found is None:
        for statement in schema.statements(dialect, schema.create):
            tx.run(statement)
        before, recorded = schema.version, False
    else:
        before, recorded = found
        if before > schema.version:
            raise _newer(schema, errors, before)
        if before < schema.untracked:
            raise errors.schema(
                f"{errors.noun} has schema version {before}, older than any this release "
                "can upgrade",
                component=schema.component,
                found=before,
            )
        for version in range(before, schema.version):
            for statement in schema.statements(dialect, schema.upgrades[version]):
                tx.run(statement)
    if recorded and before == schema.version:
        return SchemaUpgrade(schema.component, before, before, True)
    tx.run(_VERSION_TABLE)
    tx.run("DELETE FROM govkit_schema WHERE component = ?", (schema.component,))
    tx.run(
        "INSERT INTO govkit_schema (component, version) VALUES (?, ?)",
        (schema.component, schema.version),
    )
    if found is None:  # a fresh store: nothing was upgraded
        return SchemaUpgrade(schema.component, schema.version, schema.version, True)
    return SchemaUpgrade(schema.component, before, schema.version, recorded)


def _check_readable(db: Database, schema: Schema, errors: Errors, target: str | Path) -> None:
    with db.transaction(write=False) as tx:
        found = _found_version(tx, schema, errors)
    if found is None:
        raise errors.failed(
            f"{errors.noun} is not there: the database holds no {schema.component} tables",
            component=schema.component,
            absent=True,
        )
    version = found[0]
    if version > schema.version:
        raise _newer(schema, errors, version)
    if version < schema.readable_from:
        raise errors.schema(
            f"{errors.noun} has schema version {version}; this release reads version "
            f"{schema.readable_from} or later: run `govkit db upgrade {redact_target(target)}` "
            "(it needs write access) and try again",
            component=schema.component,
            found=version,
            supported=schema.version,
        )


def redact_target(target: str | Path) -> str:
    """A store location safe to print: a URL without its password, or the path."""
    return redact_url(str(target)) if is_postgres_url(target) else str(target)


def open_database(
    target: str | Path,
    *,
    schema: Schema,
    errors: Errors,
    read_only: bool = False,
    durable: bool = True,
    busy_timeout: float = 30.0,
    connect_timeout: int = 10,
) -> Database:
    """Connect to ``target`` and make sure ``schema`` can be used there.

    A writer creates missing tables and upgrades an older schema (one transaction,
    under the schema lock, so concurrent openers never race). A reader
    (``read_only=True``) writes nothing: it refuses a store without the tables, a
    newer schema, and one older than ``schema.readable_from``.

    Raises:
        errors.failed: the database cannot be reached or opened.
        errors.locked: another writer held the lock longer than ``busy_timeout``.
        errors.schema: the schema version cannot be used (see above).
    """
    db = _connect(
        target,
        errors,
        read_only=read_only,
        create=not read_only,
        durable=durable,
        busy_timeout=busy_timeout,
        connect_timeout=connect_timeout,
    )
    try:
        if read_only:
            _check_readable(db, schema, errors, target)
        else:
            with db.transaction() as tx:
                tx.lock(SCHEMA_LOCK)
                _migrate(tx, schema, errors, create=True)
    except BaseException:
        db.close()
        raise
    return db


def upgrade_database(
    target: str | Path,
    *,
    schema: Schema,
    errors: Errors,
    busy_timeout: float = 30.0,
    connect_timeout: int = 10,
) -> SchemaUpgrade | None:
    """Upgrade ``schema``'s tables in ``target``; ``None`` when the store has none.

    Creates nothing: a missing SQLite file or a database without the component's
    tables is left as it is.
    """
    db = _connect(
        target,
        errors,
        read_only=False,
        create=False,
        durable=True,
        busy_timeout=busy_timeout,
        connect_timeout=connect_timeout,
    )
    try:
        with db.transaction() as tx:
            tx.lock(SCHEMA_LOCK)
            return _migrate(tx, schema, errors, create=False)
    finally:
        db.close()
