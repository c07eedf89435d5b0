"""The purge contract, run against every state store: memory, SQLite, PostgreSQL and Redis.

Every store of :mod:`govkit.stores` has ``purge(*, now) -> int``. It deletes what has
expired at the caller's ``now`` (an expiry at or before ``now``), never a live entry,
and returns how many entries it deleted; a second purge at the same time deletes
nothing. Kinds: replay, revocation, identity (replay and revocation on the identity
tables) and flow. The ``purge_*_store`` functions (``govkit db purge``) do the same by
a store's location, and create nothing in a store without the component's tables.

Redis stores (no identity store exists on Redis) run against the session's throwaway
``redis-server`` (``redis_url``), each test under a key prefix of its own
(``redis_prefix``). Purging a Redis store by its URL is tested with ``govkit db purge``
(tests/integration/cli/test_cli_db_purge.py).
"""

from __future__ import annotations

import inspect
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from govkit.errors import FlowExpired, FlowUnknown, NaiveDatetimeError, StoreError
from govkit.stores import (
    MemoryFlowStore,
    MemoryIdentityStore,
    MemoryReplayStore,
    MemoryRevocationStore,
    PostgresFlowStore,
    PostgresIdentityStore,
    PostgresReplayStore,
    PostgresRevocationStore,
    RedisFlowStore,
    RedisReplayStore,
    RedisRevocationStore,
    SQLiteFlowStore,
    SQLiteIdentityStore,
    SQLiteReplayStore,
    SQLiteRevocationStore,
    new_flow_handle,
    purge_flow_store,
    purge_identity_store,
    purge_replay_store,
    purge_revocation_store,
)

T0 = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
US = timedelta(microseconds=1)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
KEY = bytes(range(32))

CLASSES: dict[str, dict[str, Any]] = {
    "replay": {
        "memory": MemoryReplayStore,
        "sqlite": SQLiteReplayStore,
        "postgres": PostgresReplayStore,
        "redis": RedisReplayStore,
    },
    "revocation": {
        "memory": MemoryRevocationStore,
        "sqlite": SQLiteRevocationStore,
        "postgres": PostgresRevocationStore,
        "redis": RedisRevocationStore,
    },
    "identity": {
        "memory": MemoryIdentityStore,
        "sqlite": SQLiteIdentityStore,
        "postgres": PostgresIdentityStore,
    },
    "flow": {
        "memory": MemoryFlowStore,
        "sqlite": SQLiteFlowStore,
        "postgres": PostgresFlowStore,
        "redis": RedisFlowStore,
    },
}
BY_LOCATION: dict[str, Callable[..., int | None]] = {
    "replay": purge_replay_store,
    "revocation": purge_revocation_store,
    "identity": purge_identity_store,
    "flow": purge_flow_store,
}
ENGINES = [
    "memory",
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("redis", marks=pytest.mark.redis),
]
SQL_ENGINES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _location(request: pytest.FixtureRequest, tmp_path: Path, engine: str) -> str | None:
    if engine == "memory":
        return None
    if engine == "sqlite":
        return str(tmp_path / "state.sqlite3")
    if engine == "redis":
        redis_url: str = request.getfixturevalue("redis_url")
        prefix: str = request.getfixturevalue("redis_prefix")
        return f"{redis_url}#{prefix}"  # the server, and the test's own namespace on it
    url: str = request.getfixturevalue("pg_store_url")
    return url


def _open(kind: str, engine: str, location: str | None) -> Any:
    cls = CLASSES[kind][engine]
    extra: dict[str, Any] = {"key": KEY} if kind == "flow" else {}
    if location is None:
        return cls(**extra)
    if engine == "redis":
        url, prefix = location.split("#", 1)
        return cls(url, prefix=prefix, **extra)
    return cls(location, **extra)


def _pairs(*kinds: str) -> list[Any]:
    """``(kind, engine)`` for each of ``kinds`` and each engine it has (no Redis identity)."""
    out = []
    for kind in kinds:
        for engine in ENGINES:
            name = engine if isinstance(engine, str) else engine.values[0]
            marks = () if isinstance(engine, str) else engine.marks
            if name in CLASSES[kind]:
                out.append(pytest.param(kind, name, marks=marks, id=f"{kind}-{name}"))
    return out


class Entries:
    """Adds expiring entries of one kind to a store and asks whether they are live."""

    def __init__(self, kind: str, store: Any) -> None:
        self.kind, self.store = kind, store
        self.handles: dict[str, str] = {}

    def add(self, name: str, expires_at: datetime) -> None:
        if self.kind == "revocation":
            self.store.revoke_token(name, expires_at=expires_at)
        elif self.kind == "flow":
            self.handles[name] = new_flow_handle()
            self.store.put(self.handles[name], b"v", now=T0 - HOUR, expires_at=expires_at)
        else:  # replay, identity (replay entries; identity revocations are added below)
            assert self.store.check_and_remember(name, now=T0 - HOUR, expires_at=expires_at)

    def live(self, name: str, now: datetime) -> bool:
        """Whether the entry still has its effect for a caller at ``now``."""
        if self.kind == "revocation":
            return bool(self.store.is_revoked(name, now=now))
        if self.kind == "flow":
            try:
                self.store.take(self.handles[name], now=now)
            except (FlowExpired, FlowUnknown):
                return False
            return True
        return not self.store.check_and_remember(name, now=now, expires_at=now + MINUTE)


def _params() -> list[Any]:
    return [
        pytest.param((kind, name), marks=pair.marks, id=pair.id)
        for pair in _pairs(*CLASSES)
        for kind, name in [pair.values]
    ]


@pytest.fixture(params=_params())
def entries(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Entries]:
    kind, engine = request.param
    store = _open(kind, engine, _location(request, tmp_path, engine))
    try:
        yield Entries(kind, store)
    finally:
        store.close()


class TestPurgeContract:
    """What ``purge`` must do on every store."""

    def test_now_is_a_required_keyword(self, entries: Entries) -> None:
        parameter = inspect.signature(entries.store.purge).parameters["now"]
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
        assert parameter.default is inspect.Parameter.empty
        with pytest.raises(TypeError):
            entries.store.purge(T0)

    def test_an_empty_store_purges_nothing(self, entries: Entries) -> None:
        count = entries.store.purge(now=T0)
        assert type(count) is int
        assert count == 0

    def test_purge_deletes_exactly_what_expired_at_or_before_now(self, entries: Entries) -> None:
        entries.add("past", T0 - MINUTE)
        entries.add("at-now", T0)
        entries.add("just-after", T0 + US)
        entries.add("later", T0 + MINUTE)
        assert entries.store.purge(now=T0 - MINUTE - US) == 0
        assert entries.store.purge(now=T0) == 2
        assert entries.store.purge(now=T0) == 0  # nothing twice
        assert entries.live("just-after", T0) is True  # one microsecond left: kept
        assert entries.live("later", T0) is True

    def test_purge_never_deletes_a_live_entry_among_many_expired(self, entries: Entries) -> None:
        for n in range(300):
            entries.add(f"old-{n}", T0 - MINUTE + n * US)
            entries.add(f"new-{n}", T0 + MINUTE + n * US)
        assert entries.store.purge(now=T0) == 300
        assert all(entries.live(f"new-{n}", T0) for n in range(0, 300, 7))

    def test_naive_time_is_refused_and_nothing_is_deleted(self, entries: Entries) -> None:
        entries.add("past", T0 - MINUTE)
        with pytest.raises(NaiveDatetimeError):
            entries.store.purge(now=datetime(2026, 7, 1, 10, 0))
        assert entries.store.purge(now=T0) == 1


@pytest.mark.parametrize(("kind", "engine"), _pairs("replay", "identity"))
def test_a_replay_entry_recorded_again_is_purged_by_its_new_expiry(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str, engine: str
) -> None:
    with _open(kind, engine, _location(request, tmp_path, engine)) as store:
        assert store.check_and_remember("k", now=T0 - MINUTE, expires_at=T0)
        assert store.check_and_remember("k", now=T0, expires_at=T0 + 2 * MINUTE)  # expired: new
        assert store.purge(now=T0 + MINUTE) == 0
        assert store.check_and_remember("k", now=T0 + MINUTE, expires_at=T0 + MINUTE) is False
        assert store.purge(now=T0 + 2 * MINUTE) == 1


@pytest.mark.parametrize(("kind", "engine"), _pairs("revocation", "identity"))
def test_a_revocation_extended_is_purged_by_its_later_expiry_and_subjects_stay(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str, engine: str
) -> None:
    with _open(kind, engine, _location(request, tmp_path, engine)) as store:
        store.revoke_token("j", expires_at=T0)
        store.revoke_token("j", expires_at=T0 + 2 * MINUTE)
        store.revoke_subject("pseudonym-1", not_before=T0 - 365 * timedelta(days=1))
        assert store.purge(now=T0 + MINUTE) == 0
        assert store.is_revoked("j", now=T0 + MINUTE) is True
        assert store.purge(now=T0 + 2 * MINUTE) == 1
        assert store.purge(now=T0 + 3650 * timedelta(days=1)) == 0
        assert store.subject_not_before("pseudonym-1") is not None


@pytest.mark.parametrize(("kind", "engine"), _pairs("identity"))
def test_the_identity_store_counts_replay_and_revocation_entries_together(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str, engine: str
) -> None:
    with _open(kind, engine, _location(request, tmp_path, engine)) as store:
        store.check_and_remember("dpop:1", now=T0 - MINUTE, expires_at=T0)
        store.revoke_token("jti-1", expires_at=T0)
        store.revoke_token("jti-2", expires_at=T0 + MINUTE)
        assert store.purge(now=T0) == 2


@pytest.mark.parametrize("kind", list(CLASSES))
@pytest.mark.parametrize("engine", SQL_ENGINES)
def test_purge_by_location_deletes_what_the_store_would(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str, engine: str
) -> None:
    location = _location(request, tmp_path, engine)
    assert location is not None
    with _open(kind, engine, location) as store:
        added = Entries(kind, store)
        added.add("old", T0 - MINUTE)
        added.add("live", T0 + MINUTE)
        assert BY_LOCATION[kind](location, now=T0) == 1
        assert BY_LOCATION[kind](location, now=T0) == 0
        assert added.live("live", T0) is True


@pytest.mark.parametrize("kind", list(CLASSES))
def test_purge_by_location_creates_nothing_in_a_store_without_the_tables(
    tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE unrelated (x INTEGER)")
    assert BY_LOCATION[kind](path, now=T0) is None
    assert BY_LOCATION[kind](f"sqlite:///{path}", now=T0) is None
    with sqlite3.connect(path) as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert names == {"unrelated"}


def test_a_read_only_store_refuses_to_purge(tmp_path: Path) -> None:
    path = tmp_path / "revocations.db"
    with SQLiteRevocationStore(path) as writer:
        writer.revoke_token("j", expires_at=T0)
    with SQLiteRevocationStore(path, read_only=True) as reader, pytest.raises(StoreError):
        reader.purge(now=T0 + MINUTE)
    with SQLiteRevocationStore(path) as writer:
        assert writer.purge(now=T0 + MINUTE) == 1
