"""Purging a store by its location, for operators (``govkit db purge``) (private).

Each function opens the component's tables at a SQLite path (or ``sqlite:///path``) or a
``postgresql://`` URL, deletes what has expired at the caller's ``now`` exactly as the
store's own :meth:`purge` does, and closes the connection. A store that holds none of
the component's tables is left as it is (``None``: nothing is created). An older schema
is upgraded first, as any writer of the store would.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from govkit.stores import _flow, _identity, _replay, _revocation
from govkit.stores._base import run, to_us, upgrade
from govkit.stores._sql import Errors, Schema, is_postgres_url, open_database

__all__ = [
    "purge_flow_store",
    "purge_identity_store",
    "purge_replay_store",
    "purge_revocation_store",
]


def _purge(
    url: str | Path, *, now: datetime, schema: Schema, errors: Errors, statements: Sequence[str]
) -> int | None:
    when = to_us(now, "now")
    if upgrade(url, schema=schema, errors=errors) is None:
        return None
    text = str(url)
    target: str | Path = text if is_postgres_url(text) else Path(text.removeprefix("sqlite:///"))
    db = open_database(target, schema=schema, errors=errors)
    try:
        results = run(db, [(statement, (when,)) for statement in statements])
    finally:
        db.close()
    return sum(max(count, 0) for _, count in results)


def purge_replay_store(url: str | Path, *, now: datetime) -> int | None:
    """Delete the replay entries expired at ``now`` in ``url``; how many (``None``: no table).

    Raises:
        StoreError: the store cannot be reached or written.
        StoreSchemaError: its schema is newer than this release.
    """
    return _purge(
        url,
        now=now,
        schema=_replay.SCHEMA,
        errors=_replay._ERRORS,
        statements=[_replay._PURGE],
    )


def purge_revocation_store(url: str | Path, *, now: datetime) -> int | None:
    """Delete the revoked-token entries expired at ``now`` (subjects stay); how many.

    ``None`` when ``url`` holds no revocation tables.

    Raises:
        StoreError: the store cannot be reached or written.
        StoreSchemaError: its schema is newer than this release.
    """
    return _purge(
        url,
        now=now,
        schema=_revocation.SCHEMA,
        errors=_revocation._ERRORS,
        statements=[_revocation._SQL.purge],
    )


def purge_identity_store(url: str | Path, *, now: datetime) -> int | None:
    """Delete the identity tables' replay and revoked-token entries expired at ``now``.

    Subject times stay. Returns how many, or ``None`` when ``url`` holds no identity
    tables.

    Raises:
        IdentityStoreError: the store cannot be reached or written.
        IdentityStoreSchemaError: its schema is newer than this release.
    """
    return _purge(
        url,
        now=now,
        schema=_identity.SCHEMA,
        errors=_identity._ERRORS,
        statements=[
            _identity._SqlIdentityStore._replay_sql[1],
            _identity._SqlIdentityStore._statements.purge,
        ],
    )


def purge_flow_store(url: str | Path, *, now: datetime) -> int | None:
    """Delete the flows (taken or not) expired at ``now``; how many (``None``: no table).

    Needs no key: expired rows are deleted without being opened.

    Raises:
        StoreError: the store cannot be reached or written.
        StoreSchemaError: its schema is newer than this release.
    """
    return _purge(
        url, now=now, schema=_flow.SCHEMA, errors=_flow._ERRORS, statements=[_flow._PURGE]
    )
