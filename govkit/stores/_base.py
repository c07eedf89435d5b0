"""What the state stores share (private): key and time checks, targets, upgrades.

Times are stored as whole microseconds since the Unix epoch (``BIGINT``), so SQLite and
PostgreSQL compare them exactly, and an aware datetime in any timezone means the same
instant. No function here reads a clock.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Protocol, Self

from govkit._aio import offload
from govkit.clock import require_aware
from govkit.errors import (
    ConfigurationError,
    GovkitError,
    StoreError,
    StoreLocked,
    StoreSchemaError,
)
from govkit.stores._sql import (
    Database,
    Errors,
    Schema,
    SchemaUpgrade,
    is_postgres_url,
    upgrade_database,
)

#: The longest key, ``jti`` or subject a store accepts.
MAX_KEY_LENGTH: Final = 1024

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)
_TABLE_NAME: Final = re.compile(r"[a-z_]{1,63}")


def check_key(value: object, what: str) -> str:
    """``value`` if it is a non-empty string of at most :data:`MAX_KEY_LENGTH` characters."""
    if not isinstance(value, str) or not value or len(value) > MAX_KEY_LENGTH:
        raise ConfigurationError(
            f"a {what} must be a non-empty string of at most {MAX_KEY_LENGTH} characters"
        )
    return value


def check_table(name: str) -> str:
    """``name`` if it can only be a table name (statements are built with it)."""
    if not _TABLE_NAME.fullmatch(name):
        raise ConfigurationError("a store table name must be lower-case letters and _")
    return name


def to_us(value: datetime, name: str) -> int:
    """Microseconds since the Unix epoch of an aware datetime (naive ones are refused)."""
    return (require_aware(value, name) - EPOCH) // _MICROSECOND


def from_us(value: Any, failed: type[GovkitError]) -> datetime:
    """The UTC datetime of a stored microsecond count; ``failed`` if it is damaged."""
    try:
        return EPOCH + timedelta(microseconds=int(value))
    except (TypeError, ValueError, OverflowError):
        raise failed("a stored time is damaged") from None


def store_errors(noun: str) -> Errors:
    """The errors of one of govkit.stores' own stores (``store.*`` codes)."""
    return Errors(StoreError, StoreLocked, StoreSchemaError, noun)


def sqlite_path(path: str | Path, what: str) -> Path:
    """A SQLite file path (``sqlite:///path`` accepted); a server URL is refused."""
    text = str(path)
    if text.startswith("sqlite:///"):
        return Path(text[len("sqlite:///") :])
    if "://" in text:
        raise ConfigurationError(f"{what} takes a file path; use its PostgreSQL class for a URL")
    return Path(path)


def postgres_url(url: str, what: str) -> str:
    """``url`` if it is a ``postgresql://`` URL."""
    if not isinstance(url, str) or not is_postgres_url(url):
        raise ConfigurationError(f"{what} needs a postgresql:// URL")
    return url


def upgrade(url: str | Path, *, schema: Schema, errors: Errors) -> SchemaUpgrade | None:
    """Upgrade ``schema``'s tables in ``url`` (a path, ``sqlite:///path`` or a server URL)."""
    text = str(url)
    if text.startswith("sqlite:///"):
        text = text[len("sqlite:///") :]
    elif "://" in text and not is_postgres_url(text):
        raise ConfigurationError(f"{errors.noun} URL must be a path or postgresql://...")
    return upgrade_database(text, schema=schema, errors=errors)


def run(
    db: Database, statements: Sequence[tuple[str, Sequence[Any]]], *, write: bool = True
) -> list[tuple[list[tuple[Any, ...]], int]]:
    """Run ``statements`` in one transaction; each gives ``(rows, rowcount)``."""
    results = []
    with db.transaction(write=write) as tx:
        for statement, params in statements:
            rows = tx.run(statement, params)
            results.append((rows, tx.rowcount))
    return results


class Closing:
    """``with store:`` closes the store at the end of the block."""

    def close(self) -> None:
        """Release the store's resources; the store cannot be used afterwards."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- async forms ----------------------------------------------------------------------
# Each store's async form ``aX`` runs its blocking ``X`` on govkit's bounded thread pool
# (govkit._aio.offload): same parameters, same return, same errors. The mixins below are
# added to every memory, SQLite and PostgreSQL store (memory stores too, so that every
# store has the same surface and a memory store's lock is never waited for on the loop).


class _Purging(Protocol):
    def purge(self, *, now: datetime) -> int: ...


class _Replaying(Protocol):
    def check_and_remember(self, key: str, *, now: datetime, expires_at: datetime) -> bool: ...


class _Revoking(Protocol):
    def revoke_token(self, jti: str, *, expires_at: datetime) -> None: ...

    def is_revoked(self, jti: str, *, now: datetime) -> bool: ...

    def revoke_subject(self, subject: str, *, not_before: datetime) -> None: ...

    def subject_not_before(self, subject: str) -> datetime | None: ...


class _Flowing(Protocol):
    def put(self, handle: str, value: bytes, *, now: datetime, expires_at: datetime) -> None: ...

    def take(self, handle: str, *, now: datetime) -> bytes: ...


class AsyncPurge:
    """``apurge``: :meth:`purge` on govkit's thread pool."""

    async def apurge(self: _Purging, *, now: datetime) -> int:
        """``purge(now=now)`` for asyncio: same result and errors, the loop not blocked."""
        return await offload(self.purge, now=now)


class AsyncReplay(AsyncPurge):
    """``acheck_and_remember`` (and ``apurge``) on govkit's thread pool."""

    async def acheck_and_remember(
        self: _Replaying, key: str, *, now: datetime, expires_at: datetime
    ) -> bool:
        """``check_and_remember`` for asyncio: same arguments, result and errors.

        Cancelling the await does not stop a check that has started: the key may be
        remembered all the same (a retry then counts as a replay, never the reverse).
        """
        return await offload(self.check_and_remember, key, now=now, expires_at=expires_at)


class AsyncRevocation(AsyncPurge):
    """The revocation methods' async forms (and ``apurge``) on govkit's thread pool."""

    async def arevoke_token(self: _Revoking, jti: str, *, expires_at: datetime) -> None:
        """``revoke_token`` for asyncio: same arguments and errors."""
        await offload(self.revoke_token, jti, expires_at=expires_at)

    async def ais_revoked(self: _Revoking, jti: str, *, now: datetime) -> bool:
        """``is_revoked`` for asyncio: same arguments, result and errors."""
        return await offload(self.is_revoked, jti, now=now)

    async def arevoke_subject(self: _Revoking, subject: str, *, not_before: datetime) -> None:
        """``revoke_subject`` for asyncio: same arguments and errors."""
        await offload(self.revoke_subject, subject, not_before=not_before)

    async def asubject_not_before(self: _Revoking, subject: str) -> datetime | None:
        """``subject_not_before`` for asyncio: same arguments, result and errors."""
        return await offload(self.subject_not_before, subject)


class AsyncFlow(AsyncPurge):
    """``aput`` and ``atake`` (and ``apurge``) on govkit's thread pool."""

    async def aput(
        self: _Flowing, handle: str, value: bytes, *, now: datetime, expires_at: datetime
    ) -> None:
        """``put`` for asyncio: same arguments and errors."""
        await offload(self.put, handle, value, now=now, expires_at=expires_at)

    async def atake(self: _Flowing, handle: str, *, now: datetime) -> bytes:
        """``take`` for asyncio: same arguments, result and errors.

        Cancelling the await does not stop a take that has started: the flow may be
        consumed all the same (it is then :class:`~govkit.errors.FlowTaken`).
        """
        return await offload(self.take, handle, now=now)
