"""One contract for every replay and revocation store: memory, SQLite and PostgreSQL.

:class:`TestIdentityStoreContract` runs against each store through the ``backend``
fixture; the PostgreSQL one uses the session's throwaway server (``pg_store_url`` from
``tests/integration/conftest.py``, a fresh database per test). Time is a
:class:`~govkit.testing.FixedClock` passed to the store, and every expiry is explicit.

The race tests start N competitors at once on the same keys (threads for the memory
store, which lives in one process; 4 processes for SQLite, 8 for PostgreSQL, each its
own Python interpreter with its own store object) and require that every key was
won by exactly one of them, including keys whose earlier entry had expired.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from govkit.clock import Clock
from govkit.errors import ConfigurationError, IdentityStoreError, NaiveDatetimeError
from govkit.identity._stores import (
    MemoryIdentityStore,
    PostgresIdentityStore,
    ReplayStore,
    RevocationStore,
    SQLiteIdentityStore,
)
from govkit.testing import FixedClock

T0 = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
ROOT = Path(__file__).resolve().parents[3]

Store = MemoryIdentityStore | SQLiteIdentityStore | PostgresIdentityStore


@dataclass
class Backend:
    """How to open (and reopen) one kind of store."""

    name: str
    open: Callable[[Clock | None], Store]
    location: str | None  # a path or URL other processes can open; None for memory


def _memory(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return Backend("memory", lambda clock: MemoryIdentityStore(clock=clock), None)


def _sqlite(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    path = tmp_path / "identity.sqlite3"
    return Backend("sqlite", lambda clock: SQLiteIdentityStore(path, clock=clock), str(path))


def _postgres(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    url: str = request.getfixturevalue("pg_store_url")
    return Backend("postgres", lambda clock: PostgresIdentityStore(url, clock=clock), url)


BACKENDS = {"memory": _memory, "sqlite": _sqlite, "postgres": _postgres}
ALL = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
SHARED = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=ALL)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return BACKENDS[request.param](request, tmp_path)


@pytest.fixture(params=SHARED)
def shared_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return BACKENDS[request.param](request, tmp_path)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def store(backend: Backend, clock: FixedClock) -> Iterator[Store]:
    opened = backend.open(clock)
    try:
        yield opened
    finally:
        opened.close()


class TestIdentityStoreContract:
    """What every ReplayStore + RevocationStore must do."""

    def test_implements_both_protocols(self, store: Store) -> None:
        assert isinstance(store, ReplayStore)
        assert isinstance(store, RevocationStore)

    # -- replay ----------------------------------------------------------------------

    def test_first_use_is_new_and_the_second_is_a_replay(self, store: Store) -> None:
        assert store.check_and_remember("dpop:jkt:1", expires_at=T0 + MINUTE) is True
        assert store.check_and_remember("dpop:jkt:1", expires_at=T0 + MINUTE) is False
        assert store.check_and_remember("dpop:jkt:1", expires_at=T0 + 2 * MINUTE) is False

    def test_keys_are_independent_and_compared_exactly(self, store: Store) -> None:
        for key in ("a", "A", "a ", "dpop:x:1", "dpop:x:10", "签名", "a'; DROP TABLE x; --"):
            assert store.check_and_remember(key, expires_at=T0 + MINUTE) is True
        assert store.check_and_remember("a'; DROP TABLE x; --", expires_at=T0 + MINUTE) is False

    def test_an_entry_is_a_replay_until_its_expiry_and_absent_from_then_on(
        self, store: Store, clock: FixedClock
    ) -> None:
        expires = T0 + MINUTE
        assert store.check_and_remember("k", expires_at=expires)
        clock.set(expires - timedelta(microseconds=1))
        assert store.check_and_remember("k", expires_at=expires + MINUTE) is False
        clock.set(expires)
        assert store.check_and_remember("k", expires_at=expires + MINUTE) is True
        assert store.check_and_remember("k", expires_at=expires + MINUTE) is False

    def test_a_replay_does_not_extend_the_entry(self, store: Store, clock: FixedClock) -> None:
        assert store.check_and_remember("k", expires_at=T0 + MINUTE)
        assert not store.check_and_remember("k", expires_at=T0 + 10 * MINUTE)
        clock.set(T0 + MINUTE)
        assert store.check_and_remember("k", expires_at=T0 + 2 * MINUTE)

    def test_an_entry_already_expired_is_recorded_but_never_blocks(self, store: Store) -> None:
        assert store.check_and_remember("k", expires_at=T0 - SECOND) is True
        assert store.check_and_remember("k", expires_at=T0 - SECOND) is True

    def test_expiry_in_another_timezone_means_the_same_instant(
        self, store: Store, clock: FixedClock
    ) -> None:
        beijing = timezone(timedelta(hours=8))
        assert store.check_and_remember("k", expires_at=(T0 + MINUTE).astimezone(beijing))
        clock.set(T0 + MINUTE - SECOND)
        assert not store.check_and_remember("k", expires_at=T0 + 2 * MINUTE)
        clock.set(T0 + MINUTE)
        assert store.check_and_remember("k", expires_at=T0 + 2 * MINUTE)

    # -- revocation ------------------------------------------------------------------

    def test_a_revoked_token_is_revoked_until_its_entry_expires(
        self, store: Store, clock: FixedClock
    ) -> None:
        assert store.is_revoked("jti-1") is False
        store.revoke_token("jti-1", expires_at=T0 + 10 * MINUTE)
        assert store.is_revoked("jti-1") is True
        assert store.is_revoked("jti-2") is False
        clock.set(T0 + 10 * MINUTE - SECOND)
        assert store.is_revoked("jti-1") is True
        clock.set(T0 + 10 * MINUTE)
        assert store.is_revoked("jti-1") is False

    def test_revoking_again_keeps_the_later_expiry(self, store: Store, clock: FixedClock) -> None:
        store.revoke_token("jti", expires_at=T0 + 10 * MINUTE)
        store.revoke_token("jti", expires_at=T0 + MINUTE)
        clock.set(T0 + 5 * MINUTE)
        assert store.is_revoked("jti")
        store.revoke_token("jti", expires_at=T0 + 20 * MINUTE)
        clock.set(T0 + 15 * MINUTE)
        assert store.is_revoked("jti")

    def test_revoking_an_expired_entry_again_revokes_it(
        self, store: Store, clock: FixedClock
    ) -> None:
        store.revoke_token("jti", expires_at=T0 + MINUTE)
        clock.set(T0 + 2 * MINUTE)
        assert not store.is_revoked("jti")
        store.revoke_token("jti", expires_at=T0 + 3 * MINUTE)
        assert store.is_revoked("jti")

    def test_replay_keys_and_revoked_jtis_do_not_mix(self, store: Store) -> None:
        store.revoke_token("same", expires_at=T0 + MINUTE)
        assert store.check_and_remember("same", expires_at=T0 + MINUTE) is True
        assert store.is_revoked("other") is False
        store.check_and_remember("other", expires_at=T0 + MINUTE)
        assert store.is_revoked("other") is False

    # -- subjects ------------------------------------------------------------------

    def test_log_out_everywhere_sets_the_subject_not_before(self, store: Store) -> None:
        assert store.subject_not_before("pseudonym-7f3a") is None
        when = T0 + timedelta(microseconds=123_456)
        store.revoke_subject("pseudonym-7f3a", not_before=when)
        got = store.subject_not_before("pseudonym-7f3a")
        assert got == when
        assert got is not None
        assert got.utcoffset() == timedelta(0)
        assert store.subject_not_before("pseudonym-other") is None

    def test_a_later_log_out_wins_and_an_earlier_one_cannot_undo_it(self, store: Store) -> None:
        store.revoke_subject("s", not_before=T0)
        store.revoke_subject("s", not_before=T0 + MINUTE)
        assert store.subject_not_before("s") == T0 + MINUTE
        store.revoke_subject("s", not_before=T0 - MINUTE)
        assert store.subject_not_before("s") == T0 + MINUTE

    def test_subject_times_in_other_timezones_come_back_in_utc(self, store: Store) -> None:
        beijing = timezone(timedelta(hours=8))
        store.revoke_subject("s", not_before=datetime(2026, 7, 1, 18, 0, tzinfo=beijing))
        got = store.subject_not_before("s")
        assert got == T0
        assert got is not None
        assert got.tzinfo is not None
        assert got.utcoffset() == timedelta(0)

    def test_subject_times_do_not_expire(self, store: Store, clock: FixedClock) -> None:
        store.revoke_subject("s", not_before=T0)
        clock.set(T0 + timedelta(days=3650))
        assert store.purge() == 0
        assert store.subject_not_before("s") == T0

    # -- purge -----------------------------------------------------------------------

    def test_purge_removes_expired_entries_only(self, store: Store, clock: FixedClock) -> None:
        store.check_and_remember("r-old", expires_at=T0 + MINUTE)
        store.check_and_remember("r-new", expires_at=T0 + 10 * MINUTE)
        store.revoke_token("t-old", expires_at=T0 + MINUTE)
        store.revoke_token("t-new", expires_at=T0 + 10 * MINUTE)
        store.revoke_subject("s", not_before=T0)
        assert store.purge() == 0
        clock.set(T0 + 5 * MINUTE)
        assert store.purge() == 2
        assert store.purge() == 0
        assert store.check_and_remember("r-new", expires_at=T0 + 20 * MINUTE) is False
        assert store.is_revoked("t-new") is True
        assert store.subject_not_before("s") == T0
        assert store.check_and_remember("r-old", expires_at=T0 + 20 * MINUTE) is True

    def test_purge_accepts_an_explicit_time(self, store: Store) -> None:
        store.check_and_remember("r", expires_at=T0 + MINUTE)
        store.revoke_token("t", expires_at=T0 + 2 * MINUTE)
        assert store.purge(now=T0 + MINUTE) == 1
        assert store.purge(now=T0 + 2 * MINUTE) == 1
        assert store.purge(now=T0 + 3 * MINUTE) == 0

    # -- refusals ------------------------------------------------------------------

    def test_naive_datetimes_are_refused(self, store: Store) -> None:
        naive = datetime(2026, 7, 1, 10, 0)
        with pytest.raises(NaiveDatetimeError):
            store.check_and_remember("k", expires_at=naive)
        with pytest.raises(NaiveDatetimeError):
            store.revoke_token("j", expires_at=naive)
        with pytest.raises(NaiveDatetimeError):
            store.revoke_subject("s", not_before=naive)
        with pytest.raises(NaiveDatetimeError):
            store.purge(now=naive)

    @pytest.mark.parametrize("key", ["", "k" * 1025, None, b"bytes"])
    def test_malformed_keys_are_refused(self, store: Store, key: Any) -> None:
        with pytest.raises(ConfigurationError):
            store.check_and_remember(key, expires_at=T0 + MINUTE)
        with pytest.raises(ConfigurationError):
            store.revoke_token(key, expires_at=T0 + MINUTE)
        with pytest.raises(ConfigurationError):
            store.is_revoked(key)
        with pytest.raises(ConfigurationError):
            store.revoke_subject(key, not_before=T0)
        with pytest.raises(ConfigurationError):
            store.subject_not_before(key)

    def test_a_closed_store_raises_identity_store_error(
        self, backend: Backend, clock: FixedClock
    ) -> None:
        closed = backend.open(clock)
        closed.close()
        with pytest.raises(IdentityStoreError) as caught:
            closed.check_and_remember("k", expires_at=T0 + MINUTE)
        assert caught.value.code == "identity.store"


# --- shared stores: several store objects (and processes) on one database ------------------


def test_entries_are_shared_between_store_objects(
    shared_backend: Backend, clock: FixedClock
) -> None:
    first, second = shared_backend.open(clock), shared_backend.open(clock)
    try:
        assert first.check_and_remember("k", expires_at=T0 + MINUTE)
        assert not second.check_and_remember("k", expires_at=T0 + MINUTE)
        second.revoke_token("jti", expires_at=T0 + MINUTE)
        assert first.is_revoked("jti")
        first.revoke_subject("s", not_before=T0)
        assert second.subject_not_before("s") == T0
    finally:
        first.close()
        second.close()


def test_entries_survive_reopening(shared_backend: Backend, clock: FixedClock) -> None:
    store = shared_backend.open(clock)
    store.check_and_remember("k", expires_at=T0 + MINUTE)
    store.close()
    reopened = shared_backend.open(clock)
    try:
        assert not reopened.check_and_remember("k", expires_at=T0 + MINUTE)
    finally:
        reopened.close()


def _break_schema(backend: Backend) -> None:
    assert backend.location is not None
    if backend.name == "sqlite":
        with sqlite3.connect(backend.location) as conn:
            conn.execute("DROP TABLE identity_replay")
        return
    import psycopg  # noqa: PLC0415 - only for the PostgreSQL case

    with psycopg.connect(backend.location, autocommit=True) as conn:
        conn.execute("DROP TABLE identity_replay")


def test_database_errors_become_identity_store_errors_without_sql_or_values(
    shared_backend: Backend, clock: FixedClock
) -> None:
    store = shared_backend.open(clock)
    try:
        _break_schema(shared_backend)
        with pytest.raises(IdentityStoreError) as caught:
            store.check_and_remember("dpop:secret-jkt:secret-jti", expires_at=T0 + MINUTE)
        text = json.dumps(caught.value.to_dict()) + str(caught.value)
        assert "secret" not in text
        assert "identity_replay" not in text
        assert "INSERT" not in text.upper()
        store.revoke_token("still-works", expires_at=T0 + MINUTE)  # the connection recovered
        assert store.is_revoked("still-works")
    finally:
        store.close()


def test_an_unopenable_sqlite_file_is_an_identity_store_error(tmp_path: Path) -> None:
    with pytest.raises(IdentityStoreError):
        SQLiteIdentityStore(tmp_path)  # a directory


@pytest.mark.postgres
def test_an_unreachable_postgres_server_is_an_identity_store_error() -> None:
    with pytest.raises(IdentityStoreError) as caught:
        PostgresIdentityStore("postgresql://govkit:hunter2@127.0.0.1:1/none", connect_timeout=2)
    assert "hunter2" not in str(caught.value)


# --- the memory store's bound ---------------------------------------------------------


def test_a_full_memory_store_refuses_new_entries_instead_of_evicting_live_ones(
    clock: FixedClock,
) -> None:
    store = MemoryIdentityStore(clock=clock, max_entries=3)
    store.check_and_remember("a", expires_at=T0 + MINUTE)
    store.revoke_token("b", expires_at=T0 + 2 * MINUTE)
    store.revoke_subject("c", not_before=T0)
    with pytest.raises(IdentityStoreError) as caught:
        store.check_and_remember("d", expires_at=T0 + MINUTE)
    assert caught.value.context["max_entries"] == 3
    assert store.check_and_remember("a", expires_at=T0 + MINUTE) is False  # still remembered
    clock.set(T0 + MINUTE)  # "a" expires, which frees its place
    assert store.check_and_remember("d", expires_at=T0 + 2 * MINUTE) is True
    assert len(store) == 3


def test_the_memory_store_keeps_only_live_entries(clock: FixedClock) -> None:
    store = MemoryIdentityStore(clock=clock, max_entries=10)
    for step in range(1000):
        clock.set(T0 + step * SECOND)
        assert store.check_and_remember(f"k{step}", expires_at=clock.now() + 5 * SECOND)
    assert len(store) == 5


# --- races ----------------------------------------------------------------------------

KEYS = 200
EXPIRED_KEYS = 100

WORKER = """
import json, random, sys, time
from datetime import datetime, timedelta, timezone
from pathlib import Path
spec = json.loads(sys.argv[1])
if spec["kind"] == "sqlite":
    from govkit.identity._stores import SQLiteIdentityStore
    store = SQLiteIdentityStore(spec["location"], durable=False)
else:
    from govkit.identity._stores import PostgresIdentityStore
    store = PostgresIdentityStore(spec["location"])
keys = list(spec["keys"])
random.Random(spec["worker"]).shuffle(keys)
expires = datetime.now(timezone.utc) + timedelta(hours=1)
print("ready", flush=True)
go = Path(spec["go"])
while not go.exists():
    time.sleep(0.001)
won = [key for key in keys if store.check_and_remember(key, expires_at=expires)]
store.close()
print(json.dumps(won), flush=True)
"""


def _race_keys(store: Store) -> list[str]:
    """Fresh keys plus keys whose entries exist but expired an hour ago (system clock)."""
    past = datetime.now(UTC) - timedelta(hours=1)
    expired = [f"dpop:expired:{i}" for i in range(EXPIRED_KEYS)]
    for key in expired:
        assert store.check_and_remember(key, expires_at=past)
    return [f"dpop:fresh:{i}" for i in range(KEYS)] + expired


def _assert_each_key_won_once(keys: list[str], winners: list[list[str]]) -> None:
    wins = Counter(key for won in winners for key in won)
    assert set(wins) == set(keys)
    assert [key for key, count in wins.items() if count != 1] == []


def _race_processes(backend: Backend, workers: int, folder: Path) -> None:
    setup = backend.open(None)
    try:
        keys = _race_keys(setup)
    finally:
        setup.close()
    go = folder / "go"
    procs = []
    for worker in range(workers):
        spec = {
            "kind": backend.name,
            "location": backend.location,
            "keys": keys,
            "worker": worker,
            "go": str(go),
        }
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", WORKER, json.dumps(spec)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=ROOT,
            )
        )
    try:
        for proc in procs:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert line == "ready\n", proc.stderr.read() if proc.stderr else line
        go.touch()
        winners = []
        for proc in procs:
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err
            winners.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    _assert_each_key_won_once(keys, winners)


@pytest.mark.slow
def test_racing_threads_on_the_memory_store_win_each_key_once() -> None:
    store = MemoryIdentityStore()
    keys = _race_keys(store)
    barrier = threading.Barrier(8)
    winners: list[list[str]] = [[] for _ in range(8)]
    expires = datetime.now(UTC) + timedelta(hours=1)

    def run(worker: int) -> None:
        barrier.wait()
        for key in keys[worker:] + keys[:worker]:
            if store.check_and_remember(key, expires_at=expires):
                winners[worker].append(key)

    threads = [threading.Thread(target=run, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _assert_each_key_won_once(keys, winners)


@pytest.mark.slow
def test_racing_sqlite_processes_win_each_key_once(tmp_path: Path) -> None:
    path = tmp_path / "identity.sqlite3"
    backend = Backend("sqlite", lambda clock: SQLiteIdentityStore(path, clock=clock), str(path))
    _race_processes(backend, workers=4, folder=tmp_path)


@pytest.mark.slow
@pytest.mark.postgres
def test_racing_postgres_processes_win_each_key_once(pg_store_url: str, tmp_path: Path) -> None:
    backend = Backend(
        "postgres", lambda clock: PostgresIdentityStore(pg_store_url, clock=clock), pg_store_url
    )
    _race_processes(backend, workers=8, folder=tmp_path)
