"""The stores' async forms: the same answers and errors as the blocking methods, off the loop.

Every replay, revocation, identity and flow store (memory, SQLite, PostgreSQL) has an
``a``-prefixed form of each method (``acheck_and_remember``, ``ais_revoked``,
``arevoke_token``, ``arevoke_subject``, ``asubject_not_before``, ``aput``, ``atake``,
``apurge``). A script of calls runs once through the blocking methods and once through
the async forms, on keys of its own, and both runs must give the same results and raise
the same typed errors with the same codes. Then a store call that really blocks (its
database is locked by another connection) runs while a ticker on the event loop keeps
ticking.

PostgreSQL runs on the session's throwaway server (``pg_store_url``).
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import sqlite3
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from govkit.errors import GovkitError
from govkit.stores import (
    MemoryFlowStore,
    MemoryIdentityStore,
    MemoryReplayStore,
    MemoryRevocationStore,
    PostgresFlowStore,
    PostgresIdentityStore,
    PostgresReplayStore,
    PostgresRevocationStore,
    ReplayStore,
    RevocationStore,
    SQLiteFlowStore,
    SQLiteIdentityStore,
    SQLiteReplayStore,
    SQLiteRevocationStore,
    new_flow_handle,
)

T0 = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
NAIVE = datetime(2026, 7, 1, 10, 0)
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
KEY = bytes(range(32))

CLASSES: dict[str, dict[str, Any]] = {
    "replay": {"memory": MemoryReplayStore, "sqlite": SQLiteReplayStore},
    "revocation": {"memory": MemoryRevocationStore, "sqlite": SQLiteRevocationStore},
    "identity": {"memory": MemoryIdentityStore, "sqlite": SQLiteIdentityStore},
    "flow": {"memory": MemoryFlowStore, "sqlite": SQLiteFlowStore},
}
POSTGRES: dict[str, Any] = {
    "replay": PostgresReplayStore,
    "revocation": PostgresRevocationStore,
    "identity": PostgresIdentityStore,
    "flow": PostgresFlowStore,
}
ENGINES = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _open(family: str, engine: str, request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    kwargs: dict[str, Any] = {"key": KEY} if family == "flow" else {}
    if engine == "memory":
        return CLASSES[family]["memory"](**kwargs)
    if engine == "sqlite":
        return CLASSES[family]["sqlite"](tmp_path / f"{family}.sqlite3", **kwargs)
    return POSTGRES[family](request.getfixturevalue("pg_store_url"), **kwargs)


@pytest.fixture
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[str, str], Any]]:
    opened: list[Any] = []

    def open_store(family: str, engine: str) -> Any:
        store = _open(family, engine, request, tmp_path)
        opened.append(store)
        return store

    yield open_store
    for store in opened:
        store.close()


#: One call: (method name, positional arguments, keyword arguments).
Call = tuple[str, tuple[Any, ...], dict[str, Any]]


def replay_script(prefix: str) -> list[Call]:
    key = f"dpop:{prefix}:jti-1"
    return [
        ("check_and_remember", (key,), {"now": T0, "expires_at": T0 + MINUTE}),
        ("check_and_remember", (key,), {"now": T0 + SECOND, "expires_at": T0 + MINUTE}),
        # an entry whose expiry is at or before now counts as absent
        ("check_and_remember", (key,), {"now": T0 + MINUTE, "expires_at": T0 + 2 * MINUTE}),
        ("check_and_remember", (f"{prefix}-other",), {"now": T0, "expires_at": T0 + MINUTE}),
        # faults: a naive time, an empty key
        ("check_and_remember", (key,), {"now": NAIVE, "expires_at": T0 + MINUTE}),
        ("check_and_remember", ("",), {"now": T0, "expires_at": T0 + MINUTE}),
        ("purge", (), {"now": T0 + 3 * MINUTE}),
        ("purge", (), {"now": NAIVE}),
    ]


def revocation_script(prefix: str) -> list[Call]:
    jti, subject = f"{prefix}-jti", f"{prefix}-subject"
    return [
        ("is_revoked", (jti,), {"now": T0}),
        ("revoke_token", (jti,), {"expires_at": T0 + MINUTE}),
        ("is_revoked", (jti,), {"now": T0 + SECOND}),
        ("is_revoked", (jti,), {"now": T0 + MINUTE}),
        ("subject_not_before", (subject,), {}),
        ("revoke_subject", (subject,), {"not_before": T0}),
        ("subject_not_before", (subject,), {}),
        # faults: a naive time, an empty jti or subject
        ("revoke_token", (jti,), {"expires_at": NAIVE}),
        ("is_revoked", ("",), {"now": T0}),
        ("revoke_subject", (subject,), {"not_before": NAIVE}),
        ("subject_not_before", ("",), {}),
        ("purge", (), {"now": T0 + 2 * MINUTE}),
    ]


def flow_script(prefix: str) -> list[Call]:
    taken, unknown, expired = new_flow_handle(), new_flow_handle(), new_flow_handle()
    value = b"pkce-verifier"  # the same in both runs: the answers are compared
    return [
        ("put", (taken, value), {"now": T0, "expires_at": T0 + MINUTE}),
        ("take", (taken,), {"now": T0 + SECOND}),
        ("take", (taken,), {"now": T0 + 2 * SECOND}),  # FlowTaken
        ("take", (unknown,), {"now": T0}),  # FlowUnknown
        ("put", (expired, value), {"now": T0, "expires_at": T0 + MINUTE}),
        ("take", (expired,), {"now": T0 + 2 * MINUTE}),  # FlowExpired
        ("take", ("not a handle",), {"now": T0}),
        ("put", (new_flow_handle(), "text, not bytes"), {"now": T0, "expires_at": T0 + MINUTE}),
        ("put", (new_flow_handle(), value), {"now": NAIVE, "expires_at": T0 + MINUTE}),
        ("purge", (), {"now": T0 + 10 * MINUTE}),
    ]


SCRIPTS: dict[str, Callable[[str], list[Call]]] = {
    "replay": replay_script,
    "revocation": revocation_script,
    "flow": flow_script,
}


def outcome(call: Callable[[], Any]) -> tuple[Any, ...]:
    try:
        return ("returned", call())
    except GovkitError as exc:
        return ("raised", type(exc), exc.code)


def run_sync(store: Any, script: list[Call]) -> list[tuple[Any, ...]]:
    return [
        outcome(functools.partial(getattr(store, name), *args, **kw)) for name, args, kw in script
    ]


def run_async(store: Any, script: list[Call]) -> list[tuple[Any, ...]]:
    async def main() -> list[tuple[Any, ...]]:
        results: list[tuple[Any, ...]] = []
        for name, args, kw in script:
            try:
                results.append(("returned", await getattr(store, "a" + name)(*args, **kw)))
            except GovkitError as exc:
                results.append(("raised", type(exc), exc.code))
        return results

    return asyncio.run(main())


CASES = [
    pytest.param(
        family,
        script,
        engine,
        marks=[pytest.mark.postgres] if engine == "postgres" else [],
        id=f"{family}-{script}-{engine}",
    )
    for family, script in (
        ("replay", "replay"),
        ("identity", "replay"),
        ("revocation", "revocation"),
        ("identity", "revocation"),
        ("flow", "flow"),
    )
    for engine in ("memory", "sqlite", "postgres")
]


@pytest.mark.parametrize(("family", "script", "engine"), CASES)
def test_the_async_forms_answer_and_fail_as_the_blocking_methods_do(
    family: str, script: str, engine: str, opener: Callable[[str, str], Any]
) -> None:
    store = opener(family, engine)
    blocking = run_sync(store, SCRIPTS[script]("sync"))
    awaited = run_async(store, SCRIPTS[script]("async"))
    assert awaited == blocking
    # the script exercised answers and typed failures both
    assert {o[0] for o in blocking} == {"returned", "raised"}
    if script == "flow":
        codes = [o[2] for o in blocking if o[0] == "raised"]
        assert {"store.flow_taken", "store.flow_unknown", "store.flow_expired"} <= set(codes)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("family", ["replay", "revocation", "identity", "flow"])
def test_a_closed_store_fails_alike_through_either_form(
    family: str, engine: str, opener: Callable[[str, str], Any]
) -> None:
    store = opener(family, engine)
    store.close()
    if family == "flow":
        script: list[Call] = [("take", (new_flow_handle(),), {"now": T0})]
    elif family == "revocation":
        script = [("is_revoked", ("jti",), {"now": T0})]
    else:
        script = [("check_and_remember", ("k",), {"now": T0, "expires_at": T0 + MINUTE})]
    blocking = run_sync(store, script)
    assert blocking[0][0] == "raised"
    assert run_async(store, script) == blocking


def test_the_protocols_are_unchanged_and_every_store_has_the_async_forms(
    opener: Callable[[str, str], Any],
) -> None:
    """The async forms are additions: a user's own store with only the blocking methods
    still satisfies ReplayStore and RevocationStore."""

    class OwnReplay:
        def check_and_remember(self, key: str, *, now: datetime, expires_at: datetime) -> bool:
            return True

    assert isinstance(OwnReplay(), ReplayStore)
    for family, names in (
        ("replay", ("acheck_and_remember", "apurge")),
        ("identity", ("acheck_and_remember", "ais_revoked", "arevoke_token", "apurge")),
        ("revocation", ("ais_revoked", "arevoke_token", "arevoke_subject")),
        ("flow", ("aput", "atake", "apurge")),
    ):
        for engine in ("memory", "sqlite"):
            store = opener(family, engine)
            for name in names:
                assert asyncio.iscoroutinefunction(getattr(store, name)), (family, engine, name)
            if family in ("revocation", "identity"):
                assert isinstance(store, RevocationStore)
                assert asyncio.iscoroutinefunction(store.asubject_not_before)


async def _ticks_while(work: Any) -> tuple[Any, list[float]]:
    stamps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            stamps.append(time.perf_counter())
            await asyncio.sleep(0.01)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    try:
        result = await work
    finally:
        done.set()
        await task
    return result, [b - a for a, b in itertools.pairwise(stamps)]


def test_the_loop_keeps_ticking_while_a_sqlite_store_waits_for_a_locked_database(
    tmp_path: Path,
) -> None:
    path = tmp_path / "replay.sqlite3"
    store = SQLiteReplayStore(path, busy_timeout=10.0)
    locker = sqlite3.connect(path, isolation_level=None)
    try:
        locker.execute("BEGIN IMMEDIATE")  # another writer holds the database

        async def main() -> tuple[bool, list[float], float]:
            began = time.perf_counter()
            asyncio.get_running_loop().call_later(0.6, locker.execute, "COMMIT")
            fresh, gaps = await _ticks_while(
                store.acheck_and_remember("dpop:k:1", now=T0, expires_at=T0 + MINUTE)
            )
            return fresh, gaps, time.perf_counter() - began

        fresh, gaps, waited = asyncio.run(main())
    finally:
        locker.close()
        store.close()
    assert fresh is True
    assert waited >= 0.55  # the call really blocked until the other writer committed
    assert len(gaps) >= 15  # about 60 ticks meanwhile; 15 on a very loaded machine
    assert max(gaps) < 0.3


@pytest.mark.postgres
def test_the_loop_keeps_ticking_while_a_postgres_store_waits_for_a_lock(
    pg_store_url: str,
) -> None:
    import psycopg  # noqa: PLC0415

    store = PostgresReplayStore(pg_store_url)
    store.check_and_remember("warm-up", now=T0, expires_at=T0 + SECOND)  # tables exist
    locker = psycopg.connect(pg_store_url)
    try:
        locker.execute("LOCK TABLE replay_entries IN ACCESS EXCLUSIVE MODE")

        async def main() -> tuple[bool, list[float], float]:
            began = time.perf_counter()
            asyncio.get_running_loop().call_later(0.6, locker.commit)
            fresh, gaps = await _ticks_while(
                store.acheck_and_remember("dpop:k:1", now=T0, expires_at=T0 + MINUTE)
            )
            return fresh, gaps, time.perf_counter() - began

        fresh, gaps, waited = asyncio.run(main())
    finally:
        locker.close()
        store.close()
    assert fresh is True
    assert waited >= 0.55
    assert len(gaps) >= 15
    assert max(gaps) < 0.3
