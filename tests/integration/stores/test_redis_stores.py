"""The Redis stores beyond the shared contract (``test_state_contract.py`` runs that).

Evidence, on real ``redis-server`` processes (``tests/redis_server.py``):

* 20 processes (``multiprocessing``, spawn) race on one replay key: exactly one wins.
* The server stops in the middle: every call raises ``store.error`` (never "not a
  replay", never a redis-py exception); it starts again on the same port and the same
  store objects work again. Without persistence the restart forgot what was recorded;
  with ``appendonly yes`` (fsync always) even a SIGKILL forgets nothing.
* A server that is unreachable, hangs, or refuses the password: ``store.error``, within
  the timeout, and no message or ``repr`` shows the URL's password.
* Redis's expiry comes from the caller's ``now``: a check dated years in the past keeps
  its entry for ``expires_at - now`` (plus ``ttl_margin``); revoked tokens have none.
* Times compare exactly to the microsecond, in year 1 and in year 9999.
* Keys stay under the prefix; flow handles and secrets are not readable in Redis; a
  flow value moved, re-dated or opened with another key is refused.
* Damaged entries fail closed; the async forms answer and fail like the blocking ones;
  ``govkit.stores`` imports without redis-py, and making a Redis store then says what
  to install.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from govkit.errors import (
    ConfigurationError,
    FlowExpired,
    FlowTaken,
    FlowUnknown,
    StoreDamaged,
    StoreError,
)
from govkit.stores import (
    FlowStore,
    RedisFlowStore,
    RedisReplayStore,
    RedisRevocationStore,
    ReplayStore,
    RevocationStore,
    new_flow_handle,
)

pytestmark = pytest.mark.redis

T0 = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
US = timedelta(microseconds=1)
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
TESTS = Path(__file__).resolve().parents[2]
ROOT = TESTS.parent

redis_helper = sys.modules["govkit_tests_redis"]  # loaded by tests/integration/conftest.py


@pytest.fixture
def raw(redis_url: str) -> Iterator[Any]:
    """A plain redis-py client on the session's server: what someone holding Redis sees."""
    import redis  # noqa: PLC0415

    client = redis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def own_server(redis_server: Any) -> Iterator[Any]:
    """A server of the test's own, which it may stop and start (no persistence).

    (``redis_server`` only for its skip, or failure under ``CI=true``, without
    redis-server.)"""
    with redis_helper.throwaway_redis() as server:
        yield server


@pytest.fixture
def persistent_server(redis_server: Any) -> Iterator[Any]:
    """A server of the test's own with ``appendonly yes`` and ``appendfsync always``."""
    with redis_helper.throwaway_redis(redis_helper.PERSISTENT) as server:
        yield server


def _closed_port() -> int:
    """A loopback port nothing listens on."""
    port: int = redis_helper.free_port()
    return port


# --- races between processes -----------------------------------------------------------


@pytest.mark.slow
def test_twenty_processes_race_on_one_replay_key_and_exactly_one_wins(
    redis_url: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(TESTS))  # spawned children import the worker by name
    import redis_server  # noqa: PLC0415 - tests/redis_server.py, importable by name now

    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(20)
    results = context.Queue()
    spec = {
        "url": redis_url,
        "prefix": redis_prefix,
        "key": "dpop:jkt:the-one-proof",
        "now": T0.isoformat(),
        "expires": (T0 + MINUTE).isoformat(),
    }
    racers = [
        context.Process(target=redis_server.replay_race_worker, args=(spec, barrier, results))
        for _ in range(20)
    ]
    for racer in racers:
        racer.start()
    try:
        outcomes = [results.get(timeout=300) for _ in racers]
    finally:
        for racer in racers:
            racer.join(timeout=60)
            if racer.is_alive():
                racer.kill()
                racer.join()
        results.close()
    assert Counter(outcomes) == Counter({"won": 1, "replay": 19})
    assert all(racer.exitcode == 0 for racer in racers)


# --- the server goes away ----------------------------------------------------------------


def test_a_server_restart_fails_calls_closed_while_down_and_they_work_again_after(
    own_server: Any,
) -> None:
    replay = RedisReplayStore(own_server.url, timeout=2)
    revoked = RedisRevocationStore(own_server.url, timeout=2)
    flows = RedisFlowStore(own_server.url, key=KEY, timeout=2)
    handle = new_flow_handle()
    try:
        assert replay.check_and_remember("before", now=T0, expires_at=T0 + MINUTE) is True
        revoked.revoke_token("jti-before", expires_at=T0 + MINUTE)
        flows.put(handle, b"verifier", now=T0, expires_at=T0 + MINUTE)

        own_server.stop()
        calls = [
            lambda: replay.check_and_remember("fresh", now=T0, expires_at=T0 + MINUTE),
            lambda: replay.check_and_remember("before", now=T0, expires_at=T0 + MINUTE),
            lambda: replay.purge(now=T0),
            lambda: revoked.is_revoked("jti-before", now=T0),
            lambda: revoked.is_revoked("jti-other", now=T0),
            lambda: revoked.revoke_token("jti-down", expires_at=T0 + MINUTE),
            lambda: revoked.subject_not_before("s"),
            lambda: flows.take(handle, now=T0),
            lambda: flows.put(new_flow_handle(), b"v", now=T0, expires_at=T0 + MINUTE),
        ]
        for call in calls:
            with pytest.raises(StoreError) as caught:
                call()
            assert caught.value.code == "store.error"
            assert caught.value.context["engine"] == "redis"
            assert type(caught.value) is StoreError  # not a redis-py exception, not "damaged"

        own_server.start()  # same port; the store objects are not reopened
        assert replay.check_and_remember("after", now=T0, expires_at=T0 + MINUTE) is True
        assert replay.check_and_remember("after", now=T0, expires_at=T0 + MINUTE) is False
        # No persistence: the restart forgot what was recorded before it (the hazard
        # docs/guide/stores.rst warns about; see the persistent server below).
        assert replay.check_and_remember("before", now=T0, expires_at=T0 + MINUTE) is True
        assert revoked.is_revoked("jti-before", now=T0) is False
        with pytest.raises(FlowUnknown):
            flows.take(handle, now=T0)
    finally:
        for store in (replay, revoked, flows):
            store.close()


def test_replays_stay_refused_through_a_restart_of_a_persistent_server(
    persistent_server: Any,
) -> None:
    """A thread replays one recorded proof again and again while the server stops and
    starts: every answer is "replay" or ``store.error``, never "new"."""
    store = RedisReplayStore(persistent_server.url, timeout=2)
    assert store.check_and_remember("seen", now=T0, expires_at=T0 + MINUTE) is True
    answers: list[str] = []
    done = threading.Event()

    def replay_forever() -> None:
        while not done.is_set():
            try:
                answers.append(
                    "new"
                    if store.check_and_remember("seen", now=T0, expires_at=T0 + MINUTE)
                    else "replay"
                )
            except StoreError as exc:
                answers.append(exc.code)
                time.sleep(0.01)

    thread = threading.Thread(target=replay_forever)
    thread.start()
    try:
        time.sleep(0.2)
        persistent_server.stop()
        time.sleep(0.3)
        persistent_server.start()
        time.sleep(0.3)
    finally:
        done.set()
        thread.join(timeout=60)
        store.close()
    counts = Counter(answers)
    assert counts["new"] == 0
    assert counts["store.error"] > 0
    assert counts["replay"] > 0
    assert answers[-1] == "replay"  # working again after the restart


@pytest.mark.parametrize("persistent", [False, True], ids=["no-persistence", "appendonly"])
def test_what_a_crash_forgets_depends_on_persistence(persistent: bool, redis_server: Any) -> None:
    options = redis_helper.PERSISTENT if persistent else redis_helper.NO_PERSISTENCE
    with redis_helper.throwaway_redis(options) as server:
        with RedisReplayStore(server.url) as store, RedisRevocationStore(server.url) as revoked:
            assert store.check_and_remember("proof", now=T0, expires_at=T0 + MINUTE)
            revoked.revoke_token("jti", expires_at=T0 + MINUTE)
            revoked.revoke_subject("s", not_before=T0)
        server.kill()  # SIGKILL: nothing is flushed on the way out
        server.start()
        with RedisReplayStore(server.url) as store, RedisRevocationStore(server.url) as revoked:
            replayed = store.check_and_remember("proof", now=T0, expires_at=T0 + MINUTE)
            still_revoked = revoked.is_revoked("jti", now=T0)
            subject = revoked.subject_not_before("s")
    if persistent:
        assert (replayed, still_revoked, subject) == (False, True, T0)
    else:  # the hazard: a replay accepted, a revocation undone
        assert (replayed, still_revoked, subject) == (True, False, None)


def test_an_unreachable_server_fails_every_call_closed_without_showing_the_password() -> None:
    url = f"redis://govkit:hunter2-secret@127.0.0.1:{_closed_port()}/0"
    stores = [
        RedisReplayStore(url, timeout=1),
        RedisRevocationStore(url, timeout=1),
        RedisFlowStore(url, key=KEY, timeout=1),
    ]
    replay, revoked, flows = stores
    calls = [
        lambda: replay.check_and_remember("k", now=T0, expires_at=T0 + MINUTE),
        lambda: replay.purge(now=T0),
        lambda: revoked.is_revoked("jti", now=T0),
        lambda: revoked.revoke_token("jti", expires_at=T0 + MINUTE),
        lambda: revoked.revoke_subject("s", not_before=T0),
        lambda: revoked.subject_not_before("s"),
        lambda: revoked.purge(now=T0),
        lambda: flows.put(new_flow_handle(), b"v", now=T0, expires_at=T0 + MINUTE),
        lambda: flows.take(new_flow_handle(), now=T0),
        lambda: flows.purge(now=T0),
    ]
    for call in calls:
        with pytest.raises(StoreError) as caught:
            call()
        assert caught.value.code == "store.error"
        assert caught.value.context["redis_error"] == "ConnectionError"
        shown = f"{caught.value} {caught.value.to_dict()} {caught.value!r}"
        assert "hunter2-secret" not in shown
        assert caught.value.__cause__ is None
    for store in stores:
        assert "hunter2-secret" not in repr(store)
        assert "127.0.0.1" in repr(store)
        store.close()


def test_a_hung_server_fails_closed_within_the_timeout() -> None:
    """A socket that accepts connections and never answers (a hung server, a black hole)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        url = f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
        with RedisReplayStore(url, timeout=0.5) as store:
            started = time.monotonic()
            with pytest.raises(StoreError) as caught:
                store.check_and_remember("k", now=T0, expires_at=T0 + MINUTE)
            waited = time.monotonic() - started
    assert caught.value.code == "store.error"
    assert caught.value.context["redis_error"] == "TimeoutError"
    assert waited < 10  # one timeout (0.5 s), no retries, on a busy machine


def test_a_refused_password_is_a_store_error_that_does_not_show_it(redis_server: Any) -> None:
    options = (*redis_helper.NO_PERSISTENCE, "--requirepass", "the-right-one")
    with redis_helper.throwaway_redis(options) as server:
        wrong = server.url.replace("redis://", "redis://:wrong-password-42@")
        right = server.url.replace("redis://", "redis://:the-right-one@")
        with RedisReplayStore(wrong) as store, pytest.raises(StoreError) as caught:
            store.check_and_remember("k", now=T0, expires_at=T0 + MINUTE)
        assert "wrong-password-42" not in f"{caught.value} {caught.value.to_dict()}"
        assert caught.value.context["redis_error"] == "AuthenticationError"
        with RedisReplayStore(right) as store:
            assert store.check_and_remember("k", now=T0, expires_at=T0 + MINUTE) is True
            assert "the-right-one" not in repr(store)


# --- time -------------------------------------------------------------------------------


@pytest.mark.parametrize("margin", [timedelta(0), timedelta(seconds=60)], ids=["none", "60s"])
def test_redis_expiry_is_measured_from_the_callers_now_years_in_the_past(
    redis_url: str, redis_prefix: str, raw: Any, margin: timedelta
) -> None:
    then = datetime(2003, 3, 1, 12, 0, tzinfo=UTC)  # 23 years before the machine's clock
    ttl = timedelta(seconds=90)
    with RedisReplayStore(redis_url, prefix=redis_prefix, ttl_margin=margin) as store:
        assert store.check_and_remember("k", now=then, expires_at=then + ttl) is True
        key = f"{redis_prefix}replay:k".encode()
        expected_ms = (ttl + margin) // timedelta(milliseconds=1)
        first = raw.pttl(key)
        assert expected_ms - 5_000 < first <= expected_ms  # not expired, not forever
        assert store.check_and_remember("k", now=then + SECOND, expires_at=then + ttl) is False
        assert raw.pttl(key) <= first  # a replay does not extend the entry
    flow_handle = new_flow_handle()
    with RedisFlowStore(redis_url, key=KEY, prefix=redis_prefix, ttl_margin=margin) as flows:
        flows.put(flow_handle, b"v", now=then, expires_at=then + ttl)
        (flow_key,) = raw.keys(f"{redis_prefix}flow:*".encode())
        assert expected_ms - 5_000 < raw.pttl(flow_key) <= expected_ms
        assert flows.take(flow_handle, now=then + SECOND) == b"v"
        assert expected_ms - 5_000 < raw.pttl(flow_key) <= expected_ms  # kept, as "taken"


def test_revoked_tokens_have_no_redis_expiry_and_wait_for_purge(
    redis_url: str, redis_prefix: str, raw: Any
) -> None:
    with RedisRevocationStore(redis_url, prefix=redis_prefix) as store:
        store.revoke_token("jti", expires_at=datetime(2003, 3, 1, tzinfo=UTC))
        store.revoke_subject("s", not_before=T0)
        assert raw.pttl(f"{redis_prefix}revoked:jti".encode()) == -1
        assert raw.pttl(f"{redis_prefix}subject:s".encode()) == -1
        assert store.is_revoked("jti", now=datetime(2003, 2, 28, tzinfo=UTC)) is True
        assert store.purge(now=T0) == 1
        assert raw.exists(f"{redis_prefix}revoked:jti".encode()) == 0
        assert store.subject_not_before("s") == T0


@pytest.mark.parametrize(
    "start",
    [datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 58, tzinfo=UTC)],
    ids=["year-1", "year-9999"],
)
def test_times_compare_exactly_to_the_microsecond_at_both_ends_of_the_calendar(
    redis_url: str, redis_prefix: str, start: datetime
) -> None:
    expires = start + SECOND
    with RedisReplayStore(redis_url, prefix=redis_prefix) as replay:
        assert replay.check_and_remember("k", now=start, expires_at=expires) is True
        assert replay.check_and_remember("k", now=expires - US, expires_at=expires) is False
        assert replay.check_and_remember("k", now=expires, expires_at=expires + US) is True
    with RedisRevocationStore(redis_url, prefix=redis_prefix) as revoked:
        revoked.revoke_token("j", expires_at=expires)
        assert revoked.is_revoked("j", now=expires - US) is True
        assert revoked.is_revoked("j", now=expires) is False
        revoked.revoke_subject("s", not_before=expires)
        revoked.revoke_subject("s", not_before=expires - US)
        assert revoked.subject_not_before("s") == expires


# --- keys and what Redis holds ------------------------------------------------------------


def test_every_key_stays_under_the_prefix_and_prefixes_do_not_see_each_other(
    redis_url: str, redis_prefix: str, raw: Any
) -> None:
    other = redis_prefix + "other:"
    with (
        RedisReplayStore(redis_url, prefix=redis_prefix) as mine,
        RedisReplayStore(redis_url, prefix=other) as theirs,
        RedisRevocationStore(redis_url, prefix=redis_prefix) as revoked,
        RedisFlowStore(redis_url, key=KEY, prefix=redis_prefix) as flows,
    ):
        assert mine.check_and_remember("k", now=T0, expires_at=T0 + MINUTE) is True
        assert theirs.check_and_remember("k", now=T0, expires_at=T0 + MINUTE) is True
        revoked.revoke_token("k", expires_at=T0 + MINUTE)  # the same name, another kind
        assert mine.check_and_remember("k", now=T0, expires_at=T0 + MINUTE) is False
        flows.put(new_flow_handle(), b"v", now=T0, expires_at=T0 + MINUTE)
        assert theirs.purge(now=T0 + MINUTE) == 1  # only its own entry
        assert mine.check_and_remember("k", now=T0, expires_at=T0 + MINUTE) is False
    keys = sorted(raw.keys(redis_prefix.replace(":", "?") + "*"))
    assert all(k.startswith(redis_prefix.encode()) for k in keys)
    kinds = sorted(k[len(redis_prefix) :].split(b":", 1)[0] for k in keys)
    assert kinds == [b"flow", b"replay", b"revoked"]


def test_a_prefix_with_glob_characters_purges_only_its_own_keys(
    redis_url: str, redis_prefix: str
) -> None:
    with (
        RedisReplayStore(redis_url, prefix=redis_prefix + "a*") as star,
        RedisReplayStore(redis_url, prefix=redis_prefix + "ab") as plain,
    ):
        plain.check_and_remember("k", now=T0, expires_at=T0 + MINUTE)
        assert star.purge(now=T0 + MINUTE) == 0
        assert plain.check_and_remember("k", now=T0, expires_at=T0 + MINUTE) is False


def test_redis_holds_no_flow_handle_or_secret(redis_url: str, redis_prefix: str, raw: Any) -> None:
    value = b"PKCE-VERIFIER-dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    handles = [new_flow_handle() for _ in range(3)]
    with RedisFlowStore(redis_url, key=KEY, prefix=redis_prefix) as flows:
        for handle in handles:
            flows.put(handle, value, now=T0, expires_at=T0 + MINUTE)
        assert flows.take(handles[0], now=T0) == value
        held = b"".join(
            key + raw.get(key) for key in raw.scan_iter(match=f"{redis_prefix}*".encode())
        )
    assert len(held) > 3 * len(value)
    assert value not in held
    for handle in handles:
        assert handle.encode() not in held


def _flow_key(raw: Any, prefix: str) -> bytes:
    (key,) = raw.keys(f"{prefix}flow:*".encode())
    found: bytes = key
    return found


def test_a_flow_value_moved_to_another_handle_is_refused(
    redis_url: str, redis_prefix: str, raw: Any
) -> None:
    with RedisFlowStore(redis_url, key=KEY, prefix=redis_prefix) as flows:
        mine, theirs = new_flow_handle(), new_flow_handle()
        flows.put(mine, b"my verifier", now=T0, expires_at=T0 + MINUTE)
        before = set(raw.keys(f"{redis_prefix}flow:*".encode()))
        flows.put(theirs, b"their verifier", now=T0, expires_at=T0 + MINUTE)
        (theirs_key,) = set(raw.keys(f"{redis_prefix}flow:*".encode())) - before
        (mine_key,) = before
        raw.set(mine_key, raw.get(theirs_key), keepttl=True)
        with pytest.raises(StoreDamaged) as caught:
            flows.take(mine, now=T0)
        assert caught.value.code == "store.damaged"
        with pytest.raises(FlowTaken):  # erased all the same: fail closed, once
            flows.take(mine, now=T0)
        assert flows.take(theirs, now=T0) == b"their verifier"


def test_a_flow_expiry_moved_later_in_redis_is_refused(
    redis_url: str, redis_prefix: str, raw: Any
) -> None:
    with RedisFlowStore(redis_url, key=KEY, prefix=redis_prefix) as flows:
        handle = new_flow_handle()
        flows.put(handle, b"secret", now=T0, expires_at=T0 + MINUTE)
        key = _flow_key(raw, redis_prefix)
        stored = raw.get(key)
        later = b"%018d" % (int(stored[:18]) + 3_600_000_000)
        raw.set(key, later + stored[18:], keepttl=True)
        with pytest.raises(StoreDamaged):
            flows.take(handle, now=T0 + 2 * MINUTE)


def test_another_key_finds_no_flow_and_cannot_open_one(
    redis_url: str, redis_prefix: str, raw: Any
) -> None:
    with (
        RedisFlowStore(redis_url, key=KEY, prefix=redis_prefix) as flows,
        RedisFlowStore(redis_url, key=OTHER_KEY, prefix=redis_prefix) as other,
    ):
        handle = new_flow_handle()
        flows.put(handle, b"secret", now=T0, expires_at=T0 + MINUTE)
        with pytest.raises(FlowUnknown):
            other.take(handle, now=T0)
        # someone holding Redis files the value under the key the other store looks up
        raw.set(other._key(handle), raw.get(flows._key(handle)))
        with pytest.raises(StoreDamaged):
            other.take(handle, now=T0)
        assert flows.take(handle, now=T0) == b"secret"


def test_expired_and_taken_flows_answer_as_in_every_store(
    redis_url: str, redis_prefix: str
) -> None:
    with RedisFlowStore(redis_url, key=KEY, prefix=redis_prefix) as flows:
        handle = new_flow_handle()
        flows.put(handle, b"v", now=T0, expires_at=T0 + MINUTE)
        with pytest.raises(FlowExpired):
            flows.take(handle, now=T0 + MINUTE)
        assert flows.take(handle, now=T0) == b"v"  # an earlier caller still may
        with pytest.raises(FlowTaken):
            flows.take(handle, now=T0)


# --- damaged entries ---------------------------------------------------------------------


def test_entries_that_are_not_govkit_entries_fail_closed(
    redis_url: str, redis_prefix: str, raw: Any
) -> None:
    prefix = redis_prefix.encode()
    raw.set(prefix + b"replay:junk", b"not a time")
    raw.hset(prefix + b"replay:hash", "field", "value")
    raw.set(prefix + b"revoked:junk", b"12")
    raw.set(prefix + b"subject:junk", b"x" * 18)
    raw.set(prefix + b"replay:ok", b"9" * 18)  # a valid entry that expires in year 9999
    with (
        RedisReplayStore(redis_url, prefix=redis_prefix) as replay,
        RedisRevocationStore(redis_url, prefix=redis_prefix) as revoked,
    ):
        with pytest.raises(StoreDamaged) as damaged:
            replay.check_and_remember("junk", now=T0, expires_at=T0 + MINUTE)
        assert damaged.value.code == "store.damaged"
        with pytest.raises(StoreError) as wrong_type:
            replay.check_and_remember("hash", now=T0, expires_at=T0 + MINUTE)
        assert wrong_type.value.code == "store.error"
        assert replay.check_and_remember("ok", now=T0, expires_at=T0 + MINUTE) is False
        with pytest.raises(StoreDamaged):
            revoked.is_revoked("junk", now=T0)
        with pytest.raises(StoreDamaged):
            revoked.revoke_token("junk", expires_at=T0 + MINUTE)
        with pytest.raises(StoreDamaged):
            revoked.subject_not_before("junk")


# --- the async forms ------------------------------------------------------------------------


def test_the_async_forms_answer_like_the_blocking_ones(redis_url: str, redis_prefix: str) -> None:
    async def scenario() -> list[Any]:
        replay = RedisReplayStore(redis_url, prefix=redis_prefix)
        revoked = RedisRevocationStore(redis_url, prefix=redis_prefix)
        flows = RedisFlowStore(redis_url, key=KEY, prefix=redis_prefix)
        handle = new_flow_handle()
        try:
            got: list[Any] = [
                await replay.acheck_and_remember("k", now=T0, expires_at=T0 + MINUTE),
                await replay.acheck_and_remember("k", now=T0, expires_at=T0 + MINUTE),
                await asyncio.gather(
                    *(
                        replay.acheck_and_remember("race", now=T0, expires_at=T0 + MINUTE)
                        for _ in range(8)
                    )
                ),
                await replay.apurge(now=T0 + MINUTE),
            ]
            await revoked.arevoke_token("jti", expires_at=T0 + MINUTE)
            await revoked.arevoke_subject("s", not_before=T0)
            got += [
                await revoked.ais_revoked("jti", now=T0),
                await revoked.ais_revoked("other", now=T0),
                await revoked.asubject_not_before("s"),
                await revoked.apurge(now=T0 + MINUTE),
            ]
            await flows.aput(handle, b"verifier", now=T0, expires_at=T0 + MINUTE)
            got.append(await flows.atake(handle, now=T0))
            try:
                await flows.atake(handle, now=T0)
            except FlowTaken as exc:
                got.append(exc.code)
            got.append(await flows.apurge(now=T0 + MINUTE))
            return got
        finally:
            for store in (replay, revoked, flows):
                store.close()

    got = asyncio.run(scenario())
    assert got[:2] == [True, False]
    assert sorted(got[2]) == [False] * 7 + [True]
    assert got[3:] == [2, True, False, T0, 1, b"verifier", "store.flow_taken", 1]


def test_the_async_forms_fail_closed_like_the_blocking_ones() -> None:
    url = f"redis://127.0.0.1:{_closed_port()}/0"

    async def scenario() -> list[str]:
        codes = []
        with RedisReplayStore(url, timeout=1) as replay, RedisRevocationStore(url) as revoked:
            for call in (
                replay.acheck_and_remember("k", now=T0, expires_at=T0 + MINUTE),
                revoked.ais_revoked("jti", now=T0),
            ):
                try:
                    await call
                    codes.append("answered")
                except StoreError as exc:
                    codes.append(exc.code)
        return codes

    assert asyncio.run(scenario()) == ["store.error", "store.error"]


# --- construction --------------------------------------------------------------------------


def test_the_stores_implement_the_protocols(redis_url: str) -> None:
    with (
        RedisReplayStore(redis_url) as replay,
        RedisRevocationStore(redis_url) as revoked,
        RedisFlowStore(redis_url, key=KEY) as flows,
    ):
        assert isinstance(replay, ReplayStore)
        assert isinstance(revoked, RevocationStore)
        assert isinstance(flows, FlowStore)
        assert repr(replay) == f"RedisReplayStore({redis_url!r}, prefix='govkit:')"


def test_an_application_client_is_used_and_left_open(redis_url: str, redis_prefix: str) -> None:
    import redis  # noqa: PLC0415

    client = redis.Redis.from_url(redis_url)
    try:
        with RedisReplayStore(client, prefix=redis_prefix) as store:
            assert store.check_and_remember("k", now=T0, expires_at=T0 + MINUTE) is True
            assert "client" in repr(store)
        assert client.ping() is True
        with pytest.raises(StoreError):
            store.check_and_remember("k2", now=T0, expires_at=T0 + MINUTE)
    finally:
        client.close()


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda url: RedisReplayStore("postgresql://db/x"), "redis://"),
        (lambda url: RedisReplayStore(url.replace("redis://", "http://")), "redis://"),
        (lambda url: RedisReplayStore(42), "redis://"),
        (lambda url: RedisReplayStore(url, prefix=""), "prefix"),
        (lambda url: RedisReplayStore(url, prefix="a b"), "prefix"),
        (lambda url: RedisReplayStore(url, prefix="p" * 129), "prefix"),
        (lambda url: RedisReplayStore(url, timeout=0), "timeout"),
        (lambda url: RedisReplayStore(url, ttl_margin=-SECOND), "ttl_margin"),
        (lambda url: RedisReplayStore(url, ttl_margin=60), "ttl_margin"),
        (lambda url: RedisRevocationStore(url, timeout=-1), "timeout"),
        (lambda url: RedisFlowStore(url, key=b"short"), "32"),
        (lambda url: RedisReplayStore(url + "?decode_responses=True"), "decode_responses"),
    ],
)
def test_wrong_arguments_are_configuration_errors(redis_url: str, make: Any, words: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        make(redis_url)
    assert words in str(caught.value)


def test_a_client_that_decodes_responses_is_refused(redis_url: str) -> None:
    import redis  # noqa: PLC0415

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        with pytest.raises(ConfigurationError):
            RedisFlowStore(client, key=KEY)
    finally:
        client.close()


BLOCK_REDIS = """
import sys

class NoRedis:
    def find_spec(self, name, path=None, target=None):
        if name == "redis" or name.startswith("redis."):
            raise ImportError("redis is not installed")
        return None

sys.meta_path.insert(0, NoRedis())
import govkit.stores
from govkit.errors import ConfigurationError
try:
    govkit.stores.RedisReplayStore("redis://127.0.0.1:6379/0")
except ConfigurationError as exc:
    print(exc.code, "|", exc)
print("redis imported:", "redis" in sys.modules)
"""


def test_govkit_stores_imports_without_redis_and_says_what_to_install() -> None:
    done = subprocess.run(
        [sys.executable, "-c", BLOCK_REDIS],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "config.invalid | the Redis stores need redis-py: pip install 'govkit[redis]'",
        "redis imported: False",
    ]
