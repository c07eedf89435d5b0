"""Take-once flow stores: short-lived secrets kept between two requests of one flow.

An OpenID Connect login keeps its ``state``, ``nonce`` and PKCE verifier from the
redirect to the callback; a flow store keeps such a secret under an unguessable handle
(the ``state``), hands it out exactly once, and forgets it when it expires:

>>> from datetime import datetime, timedelta, timezone
>>> from govkit.stores import MemoryFlowStore, new_flow_handle
>>> now = datetime(2026, 1, 1, tzinfo=timezone.utc)
>>> flows = MemoryFlowStore(key=bytes(range(32)))
>>> handle = new_flow_handle()
>>> flows.put(handle, b"pkce-verifier", now=now, expires_at=now + timedelta(minutes=10))
>>> flows.take(handle, now=now + timedelta(seconds=30))
b'pkce-verifier'
>>> flows.take(handle, now=now + timedelta(seconds=31))
Traceback (most recent call last):
    ...
govkit.errors.FlowTaken: this flow's secret was already taken

What a database reader sees, in every implementation:

* values sealed with AES-256-GCM under a key derived from the application's key, with
  the handle and the expiry as associated data, so a row moved under another handle,
  or given a later expiry, fails to open (:class:`~govkit.errors.StoreDamaged`);
* handles only as HMAC-SHA256 under a second derived key, so what is stored cannot be
  turned back into a handle that works (and another application key finds nothing);
* a taken secret's ciphertext erased at once; the row stays, without it, until
  :meth:`~MemoryFlowStore.purge` removes it after its expiry, so a second take reports
  :class:`~govkit.errors.FlowTaken` rather than :class:`~govkit.errors.FlowUnknown`.

:meth:`take` is atomic: of two requests racing with one handle, exactly one gets the
value. Unknown, expired and taken handles raise :class:`~govkit.errors.FlowError`
subclasses (``store.flow_*``), which are verification errors: the request that
carried the handle is not the one the flow was started for.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final, Protocol, runtime_checkable

from govkit.errors import (
    ConfigurationError,
    FlowExpired,
    FlowTaken,
    FlowUnknown,
    StoreDamaged,
    StoreError,
    StoreFull,
)
from govkit.stores._base import (
    AsyncFlow,
    Closing,
    postgres_url,
    sqlite_path,
    store_errors,
    to_us,
    upgrade,
)
from govkit.stores._seal import NONCE_SIZE as _NONCE_SIZE
from govkit.stores._seal import Sealer, derive_key
from govkit.stores._sql import Database, Schema, SchemaUpgrade, open_database

__all__ = [
    "FlowStore",
    "MemoryFlowStore",
    "PostgresFlowStore",
    "SQLiteFlowStore",
    "new_flow_handle",
    "upgrade_flow_store",
]

#: The largest secret a flow store keeps.
MAX_VALUE: Final = 64 * 1024
_HANDLE: Final = re.compile(r"[A-Za-z0-9_-]{32,256}")
_CONTEXT: Final = b"govkit.stores.flow/v1"


def new_flow_handle() -> str:
    """A new unguessable flow handle: 256 random bits, URL-safe (43 characters).

    Use it as the OpenID Connect ``state`` (or any value a browser carries back).
    """
    return secrets.token_urlsafe(32)


@runtime_checkable
class FlowStore(Protocol):
    """Keeps one short-lived secret per handle and hands it out once."""

    def put(self, handle: str, value: bytes, *, now: datetime, expires_at: datetime) -> None:
        """Keep ``value`` under ``handle`` until ``expires_at`` (as of the caller's ``now``)."""
        ...

    def take(self, handle: str, *, now: datetime) -> bytes:
        """Return the value kept under ``handle`` and forget it; raise if there is none.

        Raises :class:`~govkit.errors.FlowUnknown`, :class:`~govkit.errors.FlowExpired`
        or :class:`~govkit.errors.FlowTaken`; a store failure raises a ``*.store``
        error. Never returns anything but the value that was put.
        """
        ...


# --- sealing ---------------------------------------------------------------------------


class _Sealer:
    """Derives the sealing and locating keys from the application's key; never shows them."""

    __slots__ = ("_locate_key", "_sealer")

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes) or len(key) < 32:
            raise ConfigurationError("a flow store key must be at least 32 random bytes")
        self._sealer = Sealer([key], info=_CONTEXT + b" seal")
        self._locate_key = derive_key(key, _CONTEXT + b" locate")

    def locate(self, handle: str) -> bytes:
        """The keyed hash a handle is stored under."""
        return hmac.new(self._locate_key, handle.encode("ascii"), hashlib.sha256).digest()

    def seal(self, handle: str, value: bytes, expires_us: int) -> bytes:
        return self._sealer.seal(value, _associated(handle, expires_us))

    def open(self, handle: str, sealed: object, expires_us: int) -> bytes:
        if isinstance(sealed, memoryview):
            sealed = sealed.tobytes()
        if not isinstance(sealed, bytes) or len(sealed) < _NONCE_SIZE + 16:
            raise StoreDamaged("a stored flow secret is damaged")
        value = self._sealer.open(sealed, _associated(handle, expires_us))
        if value is None:
            raise StoreDamaged(
                "a stored flow secret does not open: it was changed, moved from another "
                "handle, or sealed under another key"
            )
        return value


def _associated(handle: str, expires_us: int) -> bytes:
    return b"%s\x00%s\x00%d" % (_CONTEXT, handle.encode("ascii"), expires_us)


def _check_put(handle: object, value: object, now: datetime, expires_at: datetime) -> int:
    """The expiry in microseconds, after checking what ``put`` was given."""
    if not isinstance(handle, str) or not _HANDLE.fullmatch(handle):
        raise ConfigurationError(
            "a flow handle must be 32 to 256 URL-safe characters: make one with new_flow_handle()"
        )
    if not isinstance(value, bytes) or len(value) > MAX_VALUE:
        raise ConfigurationError(f"a flow secret must be bytes of at most {MAX_VALUE} bytes")
    expires = to_us(expires_at, "expires_at")
    if expires <= to_us(now, "now"):
        raise ConfigurationError("a flow secret must expire after now")
    return expires


def _known_form(handle: object) -> bool:
    """Whether ``handle`` (from a request) could name a flow at all."""
    if not isinstance(handle, str):
        raise ConfigurationError("a flow handle must be a string")
    return _HANDLE.fullmatch(handle) is not None


def _unknown() -> FlowUnknown:
    return FlowUnknown("no flow was started with this handle")


def _taken() -> FlowTaken:
    return FlowTaken("this flow's secret was already taken")


def _expired() -> FlowExpired:
    return FlowExpired("this flow's secret expired before it was taken")


_IN_USE: Final = "this flow handle is already in use: make a new one with new_flow_handle()"


# --- memory ----------------------------------------------------------------------------


@dataclass(slots=True)
class _Entry:
    sealed: bytes | None
    expires_us: int


class MemoryFlowStore(Closing, AsyncFlow):
    """A :class:`FlowStore` in this process, sealed like the SQL ones.

    Thread-safe and bounded: a :meth:`put` that finds ``max_entries`` flows first
    drops those expired at its ``now``; if the store is still full it raises
    :class:`~govkit.errors.StoreFull` (no live flow is evicted).

    Args:
        key: the application's key (at least 32 random bytes; keep it with the
            application's other secrets). Values are sealed under a key derived
            from it.
        max_entries: the bound described above.
    """

    def __init__(self, *, key: bytes, max_entries: int = 100_000) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise ConfigurationError("max_entries must be a positive integer")
        self._sealer = _Sealer(key)
        self._max = max_entries
        self._lock = threading.Lock()
        self._entries: dict[bytes, _Entry] = {}
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the memory flow store is closed")

    def _drop_expired(self, now_us: int) -> int:
        gone = [k for k, e in self._entries.items() if e.expires_us <= now_us]
        for k in gone:
            del self._entries[k]
        return len(gone)

    def put(self, handle: str, value: bytes, *, now: datetime, expires_at: datetime) -> None:
        """Keep ``value`` under ``handle`` until ``expires_at``.

        Raises:
            ConfigurationError: the handle is not one :func:`new_flow_handle` could
                make, or is in use; the value is not bytes or too large; the expiry is
                not after ``now``.
            StoreFull: the store holds ``max_entries`` live flows.
        """
        expires = _check_put(handle, value, now, expires_at)
        located = self._sealer.locate(handle)
        sealed = self._sealer.seal(handle, value, expires)
        with self._lock:
            self._check_open()
            if located in self._entries:
                raise ConfigurationError(_IN_USE)
            if len(self._entries) >= self._max:
                self._drop_expired(to_us(now, "now"))
                if len(self._entries) >= self._max:
                    raise StoreFull("the memory flow store is full", max_entries=self._max)
            self._entries[located] = _Entry(sealed, expires)

    def take(self, handle: str, *, now: datetime) -> bytes:
        """Return the value kept under ``handle`` and forget it.

        Raises:
            FlowUnknown: no flow has this handle (or it was purged).
            FlowExpired: the flow expired at or before ``now``.
            FlowTaken: the value was already taken.
            StoreDamaged: the stored value does not open.
        """
        now_us = to_us(now, "now")
        if not _known_form(handle):
            raise _unknown()
        located = self._sealer.locate(handle)
        with self._lock:
            self._check_open()
            entry = self._entries.get(located)
            if entry is None:
                raise _unknown()
            if entry.sealed is None:
                raise _taken()
            if entry.expires_us <= now_us:
                raise _expired()
            sealed, entry.sealed = entry.sealed, None
        return self._sealer.open(handle, sealed, entry.expires_us)

    def purge(self, *, now: datetime) -> int:
        """Delete the flows (taken or not) expired at ``now``; return how many."""
        now_us = to_us(now, "now")
        with self._lock:
            self._check_open()
            return self._drop_expired(now_us)

    def close(self) -> None:
        """Forget every flow; later calls raise :class:`~govkit.errors.StoreError`."""
        with self._lock:
            self._closed = True
            self._entries.clear()

    def __len__(self) -> int:
        """How many flows the store holds (taken and expired ones not yet purged included)."""
        with self._lock:
            return len(self._entries)

    def __repr__(self) -> str:
        return f"MemoryFlowStore(max_entries={self._max})"


# --- SQL -------------------------------------------------------------------------------

#: The flow table's schema (component ``flow``).
SCHEMA: Final = Schema(
    component="flow",
    version=1,
    create=(
        "CREATE TABLE IF NOT EXISTS flow_secrets "
        "(handle_hash {blob} PRIMARY KEY, sealed {blob}, expires_us BIGINT NOT NULL)"
        "{without_rowid}",
        "CREATE INDEX IF NOT EXISTS flow_secrets_expiry ON flow_secrets (expires_us)",
    ),
    marker="flow_secrets",
)
_ERRORS: Final = store_errors("the flow store")
_PUT: Final = (
    "INSERT INTO flow_secrets (handle_hash, sealed, expires_us) VALUES (?, ?, ?) "
    "ON CONFLICT (handle_hash) DO NOTHING RETURNING 1"
)
_FIND: Final = "SELECT sealed, expires_us FROM flow_secrets WHERE handle_hash = ?"
_ERASE: Final = "UPDATE flow_secrets SET sealed = NULL WHERE handle_hash = ? AND sealed IS NOT NULL"
_PURGE: Final = "DELETE FROM flow_secrets WHERE expires_us <= ?"


class _SqlFlowStore(Closing, AsyncFlow):
    """What both SQL flow stores run, on one database."""

    _db: Database
    _sealer: _Sealer

    def put(self, handle: str, value: bytes, *, now: datetime, expires_at: datetime) -> None:
        """Keep ``value`` under ``handle`` until ``expires_at``.

        Raises:
            ConfigurationError: the handle is not one :func:`new_flow_handle` could
                make, or is in use; the value is not bytes or too large; the expiry is
                not after ``now``.
            StoreError: the database failed.
        """
        expires = _check_put(handle, value, now, expires_at)
        located = self._sealer.locate(handle)
        sealed = self._sealer.seal(handle, value, expires)
        with self._db.transaction() as tx:
            inserted = tx.run(_PUT, (located, sealed, expires))
        if not inserted:
            raise ConfigurationError(_IN_USE)

    def take(self, handle: str, *, now: datetime) -> bytes:
        """Return the value kept under ``handle`` and erase it, in one transaction.

        Raises:
            FlowUnknown: no flow has this handle (or it was purged).
            FlowExpired: the flow expired at or before ``now``.
            FlowTaken: the value was already taken.
            StoreDamaged: the stored value does not open (changed, moved from another
                handle, or sealed under another key); it is erased all the same.
            StoreError: the database failed; nothing was taken.
        """
        now_us = to_us(now, "now")
        if not _known_form(handle):
            raise _unknown()
        located = self._sealer.locate(handle)
        with self._db.transaction() as tx:
            # PostgreSQL: FOR UPDATE makes a concurrent take wait, then read the erased
            # row; SQLite: BEGIN IMMEDIATE already admits one writer at a time. The
            # erasing UPDATE checks again, so one take wins even without either.
            rows = tx.run(_FIND + (" FOR UPDATE" if tx.postgres else ""), (located,))
            if not rows:
                raise _unknown()
            sealed, stored_expiry = rows[0]
            if sealed is None:
                raise _taken()
            try:
                expires_us = int(stored_expiry)
            except (TypeError, ValueError):
                raise StoreDamaged("a stored flow expiry is damaged") from None
            if expires_us <= now_us:
                raise _expired()
            tx.run(_ERASE, (located,))
            if tx.rowcount != 1:
                raise _taken()
        return self._sealer.open(handle, sealed, expires_us)

    def purge(self, *, now: datetime) -> int:
        """Delete the flows (taken or not) expired at ``now``; return how many."""
        now_us = to_us(now, "now")
        with self._db.transaction() as tx:
            tx.run(_PURGE, (now_us,))
            count: int = tx.rowcount
        return max(count, 0)

    def close(self) -> None:
        """Close the connection; later calls raise :class:`~govkit.errors.StoreError`."""
        self._db.close()


class SQLiteFlowStore(_SqlFlowStore):
    """A :class:`FlowStore` in one SQLite file (WAL mode), shared by local processes.

    Args:
        path: the database file (created with its table if missing), or
            ``sqlite:///path``.
        key: the application's key (at least 32 random bytes).
        busy_timeout: seconds to wait for another writer before
            :class:`~govkit.errors.StoreLocked`.
        durable: ``True`` (default) syncs every commit (a taken secret stays taken
            after a power cut).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        key: bytes,
        busy_timeout: float = 30.0,
        durable: bool = True,
    ) -> None:
        self._sealer = _Sealer(key)
        self._path = sqlite_path(path, "SQLiteFlowStore")
        self._db = open_database(
            self._path, schema=SCHEMA, errors=_ERRORS, durable=durable, busy_timeout=busy_timeout
        )

    def __repr__(self) -> str:
        return f"SQLiteFlowStore({str(self._path)!r})"


class PostgresFlowStore(_SqlFlowStore):
    """A :class:`FlowStore` on PostgreSQL (``govkit[postgres]``), for many hosts.

    Args:
        url: a ``postgresql://`` URL.
        key: the application's key (at least 32 random bytes).
        connect_timeout: seconds to wait for a connection.
    """

    def __init__(self, url: str, *, key: bytes, connect_timeout: int = 10) -> None:
        self._sealer = _Sealer(key)
        self._db = open_database(
            postgres_url(url, "PostgresFlowStore"),
            schema=SCHEMA,
            errors=_ERRORS,
            connect_timeout=connect_timeout,
        )

    def __repr__(self) -> str:
        return f"PostgresFlowStore({self._db.url!r})"


def upgrade_flow_store(url: str | Path) -> SchemaUpgrade | None:
    """Bring the flow table in ``url`` to this release's schema (``govkit db upgrade``).

    Returns ``None`` when ``url`` holds no flow table (nothing is created).
    """
    return upgrade(url, schema=SCHEMA, errors=_ERRORS)
