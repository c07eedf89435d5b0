"""One contract per state protocol, run against every implementation of it.

* :class:`TestReplayContract`: ``MemoryReplayStore``, ``SQLiteReplayStore``,
  ``PostgresReplayStore``, ``RedisReplayStore`` and the three identity stores (which
  implement the protocol on the identity tables).
* :class:`TestRevocationContract`: ``MemoryRevocationStore``, ``SQLiteRevocationStore``,
  ``PostgresRevocationStore``, ``RedisRevocationStore`` and the three identity stores.
* :class:`TestFlowContract`: ``MemoryFlowStore``, ``SQLiteFlowStore``, ``PostgresFlowStore``,
  ``RedisFlowStore``.

PostgreSQL runs on the session's throwaway server (``pg_store_url`` from
``tests/integration/conftest.py``: a fresh database per test); Redis on the session's
throwaway ``redis-server`` (``redis_url``), each test under a key prefix of its own
(``redis_prefix``). Redis-only evidence (races between processes, restarts, the server
gone, expiry set from the caller's time) is in ``test_redis_stores.py``. Every call passes the
caller's time; no store reads a clock (the last test greps their source for clock reads).
Sealing of flow secrets at rest (what a database reader sees) is tested at the end on
the SQL stores, where there is a database to read.
"""

from __future__ import annotations

import ast
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import govkit.stores as stores_package
from govkit.errors import (
    ConfigurationError,
    FlowError,
    FlowExpired,
    FlowTaken,
    FlowUnknown,
    IdentityStoreError,
    NaiveDatetimeError,
    StoreDamaged,
    StoreError,
    VerificationError,
)
from govkit.stores import (
    FlowStore,
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
    ReplayStore,
    RevocationStore,
    SQLiteFlowStore,
    SQLiteIdentityStore,
    SQLiteReplayStore,
    SQLiteRevocationStore,
    new_flow_handle,
)

T0 = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
US = timedelta(microseconds=1)
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


@dataclass
class Backend:
    """How to open one implementation; ``location`` is what another object can open."""

    name: str
    open: Callable[[], Any]
    location: str | None
    error_code: str  # the code of a failure of this store


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


ENGINES = [
    "memory",
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("redis", marks=pytest.mark.redis),
]
SQL_ENGINES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
REPLAY_CLASSES = {
    "memory": MemoryReplayStore,
    "sqlite": SQLiteReplayStore,
    "postgres": PostgresReplayStore,
    "redis": RedisReplayStore,
}
REVOCATION_CLASSES = {
    "memory": MemoryRevocationStore,
    "sqlite": SQLiteRevocationStore,
    "postgres": PostgresRevocationStore,
    "redis": RedisRevocationStore,
}
IDENTITY_CLASSES = {
    "memory": MemoryIdentityStore,
    "sqlite": SQLiteIdentityStore,
    "postgres": PostgresIdentityStore,
}
FLOW_CLASSES = {
    "memory": MemoryFlowStore,
    "sqlite": SQLiteFlowStore,
    "postgres": PostgresFlowStore,
    "redis": RedisFlowStore,
}


#: The (family, engine) pairs that exist: there is no Redis identity store.
IMPLEMENTED = {
    (family, engine)
    for family, classes in (
        ("replay", REPLAY_CLASSES),
        ("revocation", REVOCATION_CLASSES),
        ("identity", IDENTITY_CLASSES),
        ("flow", FLOW_CLASSES),
    )
    for engine in classes
}


def _backend(classes: dict[str, Any], engine: str, location: str | None, **kwargs: Any) -> Backend:
    cls = classes[engine]
    code = "identity.store" if classes is IDENTITY_CLASSES else "store.error"
    if location is None:
        return Backend(engine, lambda: cls(**kwargs), None, code)
    if engine == "redis":  # "URL#prefix": every store object of the test shares the prefix
        url, prefix = location.split("#", 1)
        return Backend(engine, lambda: cls(url, prefix=prefix, **kwargs), url, code)
    return Backend(engine, lambda: cls(location, **kwargs), location, code)


def _params(*families: str) -> list[Any]:
    out = []
    for family in families:
        for engine in ENGINES:
            marks = engine.marks if not isinstance(engine, str) else ()
            name = engine.values[0] if not isinstance(engine, str) else engine
            if (family, name) not in IMPLEMENTED:
                continue
            out.append(pytest.param((family, name), marks=marks, id=f"{family}-{name}"))
    return out


@pytest.fixture(params=_params("replay", "identity"))
def replay_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    family, engine = request.param
    classes = REPLAY_CLASSES if family == "replay" else IDENTITY_CLASSES
    return _backend(classes, engine, _location(request, tmp_path, engine))


@pytest.fixture(params=_params("revocation", "identity"))
def revocation_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    family, engine = request.param
    classes = REVOCATION_CLASSES if family == "revocation" else IDENTITY_CLASSES
    return _backend(classes, engine, _location(request, tmp_path, engine))


@pytest.fixture(params=_params("flow"))
def flow_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    _, engine = request.param
    return _backend(FLOW_CLASSES, engine, _location(request, tmp_path, engine), key=KEY)


def _opened(backend: Backend) -> Iterator[Any]:
    store = backend.open()
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def replay(replay_backend: Backend) -> Iterator[Any]:
    yield from _opened(replay_backend)


@pytest.fixture
def revocation(revocation_backend: Backend) -> Iterator[Any]:
    yield from _opened(revocation_backend)


@pytest.fixture
def flows(flow_backend: Backend) -> Iterator[Any]:
    yield from _opened(flow_backend)


def _race(workers: int, job: Callable[[int], Any]) -> list[Any]:
    """Run ``job(worker)`` in ``workers`` threads released at once; their results."""
    barrier = threading.Barrier(workers)
    results: list[Any] = [None] * workers

    def run(worker: int) -> None:
        barrier.wait()
        results[worker] = job(worker)

    threads = [threading.Thread(target=run, args=(w,)) for w in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


# --- replay ---------------------------------------------------------------------------


class TestReplayContract:
    """What every ReplayStore must do."""

    def test_implements_the_protocol(self, replay: Any) -> None:
        assert isinstance(replay, ReplayStore)

    def test_the_first_use_is_new_and_every_later_one_a_replay(self, replay: Any) -> None:
        assert replay.check_and_remember("dpop:jkt:1", now=T0, expires_at=T0 + MINUTE) is True
        assert replay.check_and_remember("dpop:jkt:1", now=T0, expires_at=T0 + MINUTE) is False
        later = T0 + 30 * SECOND
        assert (
            replay.check_and_remember("dpop:jkt:1", now=later, expires_at=T0 + 2 * MINUTE) is False
        )

    def test_keys_are_independent_and_compared_exactly(self, replay: Any) -> None:
        keys = ("a", "A", "a ", "dpop:x:1", "dpop:x:10", "签名", "a'; DROP TABLE x; --", "k" * 1024)
        for key in keys:
            assert replay.check_and_remember(key, now=T0, expires_at=T0 + MINUTE) is True
        for key in keys:
            assert replay.check_and_remember(key, now=T0, expires_at=T0 + MINUTE) is False

    def test_an_entry_is_a_replay_until_its_expiry_and_absent_from_it_on(self, replay: Any) -> None:
        expires = T0 + MINUTE
        assert replay.check_and_remember("k", now=T0, expires_at=expires)
        assert (
            replay.check_and_remember("k", now=expires - US, expires_at=expires + MINUTE) is False
        )
        assert replay.check_and_remember("k", now=expires, expires_at=expires + MINUTE) is True
        assert replay.check_and_remember("k", now=expires, expires_at=expires + MINUTE) is False

    def test_a_replay_does_not_extend_the_entry(self, replay: Any) -> None:
        assert replay.check_and_remember("k", now=T0, expires_at=T0 + MINUTE)
        assert not replay.check_and_remember("k", now=T0, expires_at=T0 + 10 * MINUTE)
        assert replay.check_and_remember("k", now=T0 + MINUTE, expires_at=T0 + 2 * MINUTE)

    def test_an_entry_already_expired_is_recorded_but_never_blocks(self, replay: Any) -> None:
        assert replay.check_and_remember("k", now=T0, expires_at=T0 - SECOND) is True
        assert replay.check_and_remember("k", now=T0, expires_at=T0) is True
        assert replay.check_and_remember("k", now=T0, expires_at=T0) is True

    def test_times_in_other_timezones_mean_the_same_instant(self, replay: Any) -> None:
        beijing = timezone(timedelta(hours=8))
        assert replay.check_and_remember(
            "k", now=T0.astimezone(beijing), expires_at=(T0 + MINUTE).astimezone(beijing)
        )
        assert not replay.check_and_remember("k", now=T0 + MINUTE - US, expires_at=T0 + 2 * MINUTE)
        assert replay.check_and_remember(
            "k", now=(T0 + MINUTE).astimezone(beijing), expires_at=T0 + 2 * MINUTE
        )

    def test_the_callers_time_decides_not_a_clock_of_the_store(self, replay: Any) -> None:
        for now in (datetime(1999, 1, 1, tzinfo=UTC), datetime(2090, 1, 1, tzinfo=UTC)):
            key = f"k{now.year}"
            assert replay.check_and_remember(key, now=now, expires_at=now + MINUTE) is True
            assert (
                replay.check_and_remember(key, now=now + SECOND, expires_at=now + MINUTE) is False
            )

    def test_a_caller_far_ahead_does_not_reopen_replays_for_callers_on_time(
        self, replay: Any
    ) -> None:
        assert replay.check_and_remember("seen", now=T0, expires_at=T0 + MINUTE)
        future = T0 + timedelta(days=365)
        assert replay.check_and_remember("other", now=future, expires_at=future + MINUTE)
        assert replay.check_and_remember("seen", now=T0 + SECOND, expires_at=T0 + MINUTE) is False

    def test_purge_removes_the_entries_expired_at_its_time_only(self, replay: Any) -> None:
        replay.check_and_remember("old", now=T0, expires_at=T0 + MINUTE)
        replay.check_and_remember("new", now=T0, expires_at=T0 + 10 * MINUTE)
        assert replay.purge(now=T0) == 0
        assert replay.purge(now=T0 + MINUTE) == 1
        assert replay.purge(now=T0 + MINUTE) == 0
        assert replay.check_and_remember("new", now=T0 + MINUTE, expires_at=T0 + MINUTE) is False
        # purged: absent even for a caller whose time is earlier
        assert replay.check_and_remember("old", now=T0, expires_at=T0 + MINUTE) is True

    def test_naive_datetimes_are_refused(self, replay: Any) -> None:
        naive = datetime(2026, 7, 1, 10, 0)
        with pytest.raises(NaiveDatetimeError):
            replay.check_and_remember("k", now=T0, expires_at=naive)
        with pytest.raises(NaiveDatetimeError):
            replay.check_and_remember("k", now=naive, expires_at=T0 + MINUTE)
        with pytest.raises(NaiveDatetimeError):
            replay.purge(now=naive)
        assert replay.check_and_remember("k", now=T0, expires_at=T0 + MINUTE) is True

    @pytest.mark.parametrize("key", ["", "k" * 1025, None, b"bytes", 7])
    def test_malformed_keys_are_refused(self, replay: Any, key: Any) -> None:
        with pytest.raises(ConfigurationError):
            replay.check_and_remember(key, now=T0, expires_at=T0 + MINUTE)

    def test_a_closed_store_raises_instead_of_answering(self, replay_backend: Backend) -> None:
        store = replay_backend.open()
        store.check_and_remember("k", now=T0, expires_at=T0 + MINUTE)
        store.close()
        with pytest.raises(StoreError) as caught:
            store.check_and_remember("fresh", now=T0, expires_at=T0 + MINUTE)
        assert caught.value.code == replay_backend.error_code

    def test_racing_threads_on_one_store_object_win_each_key_once(self, replay: Any) -> None:
        keys = [f"dpop:k:{i}" for i in range(40)]
        for key in keys[::2]:  # half the keys exist, expired
            assert replay.check_and_remember(key, now=T0 - MINUTE, expires_at=T0)

        def job(worker: int) -> list[str]:
            order = keys[worker:] + keys[:worker]
            return [
                k for k in order if replay.check_and_remember(k, now=T0, expires_at=T0 + MINUTE)
            ]

        wins = Counter(key for won in _race(6, job) for key in won)
        assert wins == Counter(dict.fromkeys(keys, 1))


# --- revocation -----------------------------------------------------------------------


class TestRevocationContract:
    """What every RevocationStore must do."""

    def test_implements_the_protocol(self, revocation: Any) -> None:
        assert isinstance(revocation, RevocationStore)

    def test_a_revoked_token_is_revoked_until_its_entry_expires(self, revocation: Any) -> None:
        assert revocation.is_revoked("jti-1", now=T0) is False
        revocation.revoke_token("jti-1", expires_at=T0 + 10 * MINUTE)
        assert revocation.is_revoked("jti-1", now=T0) is True
        assert revocation.is_revoked("jti-2", now=T0) is False
        assert revocation.is_revoked("jti-1", now=T0 + 10 * MINUTE - US) is True
        assert revocation.is_revoked("jti-1", now=T0 + 10 * MINUTE) is False

    def test_revoking_again_keeps_the_later_expiry(self, revocation: Any) -> None:
        revocation.revoke_token("jti", expires_at=T0 + 10 * MINUTE)
        revocation.revoke_token("jti", expires_at=T0 + MINUTE)
        assert revocation.is_revoked("jti", now=T0 + 5 * MINUTE)
        revocation.revoke_token("jti", expires_at=T0 + 20 * MINUTE)
        assert revocation.is_revoked("jti", now=T0 + 15 * MINUTE)

    def test_revoking_an_expired_entry_again_revokes_it(self, revocation: Any) -> None:
        revocation.revoke_token("jti", expires_at=T0 + MINUTE)
        assert not revocation.is_revoked("jti", now=T0 + 2 * MINUTE)
        revocation.revoke_token("jti", expires_at=T0 + 3 * MINUTE)
        assert revocation.is_revoked("jti", now=T0 + 2 * MINUTE)

    def test_log_out_everywhere_sets_the_subject_not_before(self, revocation: Any) -> None:
        assert revocation.subject_not_before("pseudonym-7f3a") is None
        when = T0 + timedelta(microseconds=123_456)
        revocation.revoke_subject("pseudonym-7f3a", not_before=when)
        got = revocation.subject_not_before("pseudonym-7f3a")
        assert got == when
        assert got is not None
        assert got.utcoffset() == timedelta(0)
        assert revocation.subject_not_before("pseudonym-other") is None

    def test_a_later_log_out_wins_and_an_earlier_one_cannot_undo_it(self, revocation: Any) -> None:
        revocation.revoke_subject("s", not_before=T0)
        revocation.revoke_subject("s", not_before=T0 + MINUTE)
        revocation.revoke_subject("s", not_before=T0 - MINUTE)
        assert revocation.subject_not_before("s") == T0 + MINUTE

    def test_subject_times_come_back_in_utc_and_never_expire(self, revocation: Any) -> None:
        beijing = timezone(timedelta(hours=8))
        revocation.revoke_subject("s", not_before=datetime(2026, 7, 1, 18, 0, tzinfo=beijing))
        assert revocation.purge(now=T0 + timedelta(days=3650)) == 0
        got = revocation.subject_not_before("s")
        assert got == T0
        assert got is not None
        assert got.utcoffset() == timedelta(0)

    def test_purge_removes_the_token_entries_expired_at_its_time_only(
        self, revocation: Any
    ) -> None:
        revocation.revoke_token("old", expires_at=T0 + MINUTE)
        revocation.revoke_token("new", expires_at=T0 + 10 * MINUTE)
        revocation.revoke_subject("s", not_before=T0)
        assert revocation.purge(now=T0) == 0
        assert revocation.purge(now=T0 + 5 * MINUTE) == 1
        assert revocation.is_revoked("new", now=T0 + 5 * MINUTE) is True
        assert revocation.is_revoked("old", now=T0) is False  # purged
        assert revocation.subject_not_before("s") == T0

    def test_the_callers_time_decides_not_a_clock_of_the_store(self, revocation: Any) -> None:
        for now in (datetime(1999, 1, 1, tzinfo=UTC), datetime(2090, 1, 1, tzinfo=UTC)):
            revocation.revoke_token(f"j{now.year}", expires_at=now + MINUTE)
            assert revocation.is_revoked(f"j{now.year}", now=now + SECOND) is True
            assert revocation.is_revoked(f"j{now.year}", now=now + MINUTE) is False

    def test_naive_datetimes_are_refused(self, revocation: Any) -> None:
        naive = datetime(2026, 7, 1, 10, 0)
        with pytest.raises(NaiveDatetimeError):
            revocation.revoke_token("j", expires_at=naive)
        with pytest.raises(NaiveDatetimeError):
            revocation.is_revoked("j", now=naive)
        with pytest.raises(NaiveDatetimeError):
            revocation.revoke_subject("s", not_before=naive)
        with pytest.raises(NaiveDatetimeError):
            revocation.purge(now=naive)

    @pytest.mark.parametrize("key", ["", "k" * 1025, None, b"bytes"])
    def test_malformed_keys_are_refused(self, revocation: Any, key: Any) -> None:
        with pytest.raises(ConfigurationError):
            revocation.revoke_token(key, expires_at=T0 + MINUTE)
        with pytest.raises(ConfigurationError):
            revocation.is_revoked(key, now=T0)
        with pytest.raises(ConfigurationError):
            revocation.revoke_subject(key, not_before=T0)
        with pytest.raises(ConfigurationError):
            revocation.subject_not_before(key)

    def test_a_closed_store_raises_instead_of_answering_not_revoked(
        self, revocation_backend: Backend
    ) -> None:
        store = revocation_backend.open()
        store.revoke_token("jti", expires_at=T0 + MINUTE)
        store.close()
        with pytest.raises(StoreError) as caught:
            store.is_revoked("jti", now=T0)
        assert caught.value.code == revocation_backend.error_code


# --- flows ----------------------------------------------------------------------------


class TestFlowContract:
    """What every FlowStore must do."""

    def test_implements_the_protocol(self, flows: Any) -> None:
        assert isinstance(flows, FlowStore)

    def test_a_secret_is_taken_once(self, flows: Any) -> None:
        handle = new_flow_handle()
        flows.put(handle, b"verifier\x00\xff", now=T0, expires_at=T0 + MINUTE)
        assert flows.take(handle, now=T0 + SECOND) == b"verifier\x00\xff"
        with pytest.raises(FlowTaken) as caught:
            flows.take(handle, now=T0 + 2 * SECOND)
        assert caught.value.code == "store.flow_taken"
        assert isinstance(caught.value, VerificationError)
        assert handle not in str(caught.value.to_dict())

    def test_each_handle_gets_its_own_secret(self, flows: Any) -> None:
        handles = [new_flow_handle() for _ in range(5)]
        for i, handle in enumerate(handles):
            flows.put(handle, b"secret-%d" % i, now=T0, expires_at=T0 + MINUTE)
        for i, handle in reversed(list(enumerate(handles))):
            assert flows.take(handle, now=T0) == b"secret-%d" % i

    def test_an_empty_secret_is_a_secret(self, flows: Any) -> None:
        handle = new_flow_handle()
        flows.put(handle, b"", now=T0, expires_at=T0 + MINUTE)
        assert flows.take(handle, now=T0) == b""

    def test_a_secret_expires_at_its_expiry(self, flows: Any) -> None:
        early, late = new_flow_handle(), new_flow_handle()
        flows.put(early, b"a", now=T0, expires_at=T0 + MINUTE)
        flows.put(late, b"b", now=T0, expires_at=T0 + MINUTE)
        assert flows.take(early, now=T0 + MINUTE - US) == b"a"
        with pytest.raises(FlowExpired) as caught:
            flows.take(late, now=T0 + MINUTE)
        assert caught.value.code == "store.flow_expired"
        with pytest.raises(FlowExpired):  # an expired secret is not handed out later either
            flows.take(late, now=T0 + MINUTE)

    def test_an_unknown_handle_is_refused(self, flows: Any) -> None:
        with pytest.raises(FlowUnknown) as caught:
            flows.take(new_flow_handle(), now=T0)
        assert caught.value.code == "store.flow_unknown"

    @pytest.mark.parametrize("handle", ["", "short", "x" * 257, "a b" * 20, "é" * 40, "../" * 20])
    def test_a_handle_no_flow_could_have_is_unknown(self, flows: Any, handle: str) -> None:
        with pytest.raises(FlowUnknown):
            flows.take(handle, now=T0)

    def test_a_handle_that_is_not_text_is_a_programming_error(self, flows: Any) -> None:
        with pytest.raises(ConfigurationError):
            flows.take(b"x" * 43, now=T0)

    def test_purge_removes_expired_flows_taken_or_not(self, flows: Any) -> None:
        taken, waiting, live = new_flow_handle(), new_flow_handle(), new_flow_handle()
        flows.put(taken, b"1", now=T0, expires_at=T0 + MINUTE)
        flows.put(waiting, b"2", now=T0, expires_at=T0 + MINUTE)
        flows.put(live, b"3", now=T0, expires_at=T0 + 10 * MINUTE)
        flows.take(taken, now=T0)
        assert flows.purge(now=T0) == 0
        assert flows.purge(now=T0 + MINUTE) == 2
        with pytest.raises(FlowUnknown):
            flows.take(waiting, now=T0)  # gone, even for a caller whose time is earlier
        with pytest.raises(FlowUnknown):
            flows.take(taken, now=T0)
        assert flows.take(live, now=T0 + MINUTE) == b"3"

    @pytest.mark.parametrize(
        ("handle", "value", "expires"),
        [
            ("short", b"v", MINUTE),
            ("é" * 43, b"v", MINUTE),
            (None, b"v", MINUTE),
            ("h" * 43, "text", MINUTE),
            ("h" * 43, b"v" * (64 * 1024 + 1), MINUTE),
            ("h" * 43, b"v", timedelta(0)),
            ("h" * 43, b"v", -MINUTE),
        ],
        ids=["short-handle", "non-ascii", "no-handle", "text-value", "too-large", "now", "past"],
    )
    def test_put_refuses_what_cannot_be_a_flow(
        self, flows: Any, handle: Any, value: Any, expires: timedelta
    ) -> None:
        with pytest.raises(ConfigurationError):
            flows.put(handle, value, now=T0, expires_at=T0 + expires)

    def test_a_handle_in_use_is_refused_and_keeps_its_secret(self, flows: Any) -> None:
        handle = new_flow_handle()
        flows.put(handle, b"first", now=T0, expires_at=T0 + MINUTE)
        with pytest.raises(ConfigurationError):
            flows.put(handle, b"second", now=T0, expires_at=T0 + MINUTE)
        assert flows.take(handle, now=T0) == b"first"

    def test_naive_datetimes_are_refused(self, flows: Any) -> None:
        naive = datetime(2026, 7, 1, 10, 0)
        handle = new_flow_handle()
        with pytest.raises(NaiveDatetimeError):
            flows.put(handle, b"v", now=naive, expires_at=T0 + MINUTE)
        with pytest.raises(NaiveDatetimeError):
            flows.put(handle, b"v", now=T0, expires_at=naive)
        flows.put(handle, b"v", now=T0, expires_at=T0 + MINUTE)
        with pytest.raises(NaiveDatetimeError):
            flows.take(handle, now=naive)
        assert flows.take(handle, now=T0) == b"v"

    def test_racing_threads_take_a_secret_once(self, flows: Any) -> None:
        handle = new_flow_handle()
        flows.put(handle, b"once", now=T0, expires_at=T0 + MINUTE)

        def job(_: int) -> bytes | str:
            try:
                return bytes(flows.take(handle, now=T0))
            except FlowError as exc:
                return exc.code

        assert Counter(_race(6, job)) == Counter({b"once": 1, "store.flow_taken": 5})

    def test_a_closed_store_raises(self, flow_backend: Backend) -> None:
        store = flow_backend.open()
        handle = new_flow_handle()
        store.put(handle, b"v", now=T0, expires_at=T0 + MINUTE)
        store.close()
        with pytest.raises(StoreError):
            store.take(handle, now=T0)

    @pytest.mark.parametrize("key", [b"", b"k" * 31, "k" * 32, None])
    def test_a_weak_or_missing_key_is_refused(self, flow_backend: Backend, key: Any) -> None:
        cls = FLOW_CLASSES[flow_backend.name]
        args = () if flow_backend.location is None else (flow_backend.location,)
        with pytest.raises(ConfigurationError):
            cls(*args, key=key)


def test_flow_handles_are_unguessable() -> None:
    handles = {new_flow_handle() for _ in range(2000)}
    assert len(handles) == 2000
    assert all(len(h) == 43 and h.isascii() and " " not in h for h in handles)


def test_repr_shows_no_key() -> None:
    store = MemoryFlowStore(key=KEY)
    assert KEY.hex() not in repr(store)
    assert repr(KEY) not in repr(store)


# --- flows at rest: what a database reader sees ---------------------------------------


@dataclass
class Raw:
    """Direct access to a flow store's table, as someone holding the database has."""

    location: str
    postgres: bool

    def _connect(self) -> Any:
        if self.postgres:
            import psycopg  # noqa: PLC0415 - only for the PostgreSQL case

            return psycopg.connect(self.location, autocommit=True)
        return sqlite3.connect(self.location, isolation_level=None)

    def rows(self) -> list[tuple[bytes, bytes | None, int]]:
        with self._connect() as conn:
            found = conn.execute("SELECT handle_hash, sealed, expires_us FROM flow_secrets")
            return [(bytes(h), None if s is None else bytes(s), int(e)) for h, s, e in found]

    def execute(self, statement: str, params: tuple[Any, ...]) -> None:
        if self.postgres:
            statement = statement.replace("?", "%s")
        with self._connect() as conn:
            conn.execute(statement, params)


@pytest.fixture(params=SQL_ENGINES)
def sql_flows(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, Raw, Backend]]:
    location = _location(request, tmp_path, request.param)
    assert location is not None
    backend = _backend(FLOW_CLASSES, request.param, location, key=KEY)
    store = backend.open()
    try:
        yield store, Raw(location, request.param == "postgres"), backend
    finally:
        store.close()


def test_a_store_with_another_key_finds_nothing(sql_flows: tuple[Any, Raw, Backend]) -> None:
    store, _, backend = sql_flows
    handle = new_flow_handle()
    store.put(handle, b"secret", now=T0, expires_at=T0 + MINUTE)
    cls = FLOW_CLASSES[backend.name]
    with cls(backend.location, key=OTHER_KEY) as other, pytest.raises(FlowUnknown):
        other.take(handle, now=T0)
    assert store.take(handle, now=T0) == b"secret"  # the lookup did not consume it


def test_another_key_cannot_open_a_secret_even_when_pointed_at_its_row(
    sql_flows: tuple[Any, Raw, Backend],
) -> None:
    """A database writer who knows a handle re-files its row under the handle hash another
    key computes: that key still cannot decrypt, and the take fails closed."""
    store, raw, backend = sql_flows
    handle = new_flow_handle()
    store.put(handle, b"secret", now=T0, expires_at=T0 + MINUTE)
    cls = FLOW_CLASSES[backend.name]
    with cls(backend.location, key=OTHER_KEY) as other:
        raw.execute(
            "UPDATE flow_secrets SET handle_hash = ? WHERE handle_hash = ?",
            (other._sealer.locate(handle), store._sealer.locate(handle)),
        )
        with pytest.raises(StoreDamaged) as caught:
            other.take(handle, now=T0)
        assert caught.value.code == "store.damaged"
        assert isinstance(caught.value, StoreError)
        with pytest.raises(FlowTaken):  # consumed all the same: fail closed, once
            other.take(handle, now=T0)


def test_a_swapped_row_is_refused_not_handed_to_the_other_handle(
    sql_flows: tuple[Any, Raw, Backend],
) -> None:
    store, raw, _ = sql_flows
    mine, theirs = new_flow_handle(), new_flow_handle()
    store.put(mine, b"my verifier", now=T0, expires_at=T0 + MINUTE)
    store.put(theirs, b"their verifier", now=T0, expires_at=T0 + MINUTE)
    sealed = {h: s for h, s, _ in raw.rows()}
    mine_hash, theirs_hash = store._sealer.locate(mine), store._sealer.locate(theirs)
    raw.execute(
        "UPDATE flow_secrets SET sealed = ? WHERE handle_hash = ?", (sealed[theirs_hash], mine_hash)
    )
    with pytest.raises(StoreDamaged):
        store.take(mine, now=T0)
    assert store.take(theirs, now=T0) == b"their verifier"


def test_an_expiry_moved_later_in_the_database_is_refused(
    sql_flows: tuple[Any, Raw, Backend],
) -> None:
    store, raw, _ = sql_flows
    handle = new_flow_handle()
    store.put(handle, b"secret", now=T0, expires_at=T0 + MINUTE)
    raw.execute("UPDATE flow_secrets SET expires_us = expires_us + ?", (3_600_000_000,))
    with pytest.raises(StoreDamaged):
        store.take(handle, now=T0 + 2 * MINUTE)


def test_a_changed_ciphertext_is_refused(sql_flows: tuple[Any, Raw, Backend]) -> None:
    store, raw, _ = sql_flows
    handle = new_flow_handle()
    store.put(handle, b"secret", now=T0, expires_at=T0 + MINUTE)
    ((located, sealed, _),) = raw.rows()
    assert sealed is not None
    flipped = sealed[:-1] + bytes([sealed[-1] ^ 1])
    raw.execute("UPDATE flow_secrets SET sealed = ? WHERE handle_hash = ?", (flipped, located))
    with pytest.raises(StoreDamaged):
        store.take(handle, now=T0)


def test_the_table_holds_no_plaintext_value_or_handle(sql_flows: tuple[Any, Raw, Backend]) -> None:
    store, raw, _ = sql_flows
    value = b"PKCE-VERIFIER-dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    handle = new_flow_handle()
    store.put(handle, value, now=T0, expires_at=T0 + MINUTE)
    for located, sealed, _ in raw.rows():
        stored = located + (sealed or b"")
        assert value not in stored
        assert handle.encode() not in stored
        assert located != handle.encode()
    store.take(handle, now=T0)
    assert [s for _, s, _ in raw.rows()] == [None]  # the taken secret is erased at once


def test_the_sqlite_files_hold_no_plaintext_value_or_handle(tmp_path: Path) -> None:
    """Every byte SQLite wrote (the database, its write-ahead log and shared memory)."""
    path = tmp_path / "flows.sqlite3"
    value = b"PKCE-VERIFIER-dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    handles = [new_flow_handle() for _ in range(3)]
    with SQLiteFlowStore(path, key=KEY) as store:
        for handle in handles:
            store.put(handle, value, now=T0, expires_at=T0 + MINUTE)
        assert store.take(handles[0], now=T0) == value
        written = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    written += b"".join(p.read_bytes() for p in tmp_path.iterdir())  # after the checkpoint
    assert len(written) > 4096
    assert value not in written
    for handle in handles:
        assert handle.encode() not in written


# --- no store reads a clock -----------------------------------------------------------


def test_no_store_module_reads_a_clock() -> None:
    folder = Path(stores_package.__file__).parent
    reads = {"now", "time", "monotonic", "today", "utcnow", "perf_counter"}
    found = []
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            func = node.func if isinstance(node, ast.Call) else None
            if isinstance(func, ast.Attribute) and func.attr in reads:
                found.append(f"{path.name}:{node.lineno} .{func.attr}()")
            if isinstance(node, ast.Name) and node.id == "SystemClock":
                found.append(f"{path.name}:{node.lineno} SystemClock")
    assert found == []


def test_identity_store_errors_are_store_errors() -> None:
    assert issubclass(IdentityStoreError, StoreError)
