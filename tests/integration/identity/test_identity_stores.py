"""One contract for every replay and revocation store: memory, SQLite and PostgreSQL.

:class:`TestIdentityStoreContract` runs against each store through the ``backend``
fixture; the PostgreSQL one uses the session's throwaway server (``pg_store_url`` from
``tests/integration/conftest.py``, a fresh database per test). Stores read no clock:
every call passes the caller's time (``now=``), and every expiry is explicit. The
regression tests of issue #14 put real verifiers on a clock years behind the system
clock in front of each store: a replayed DPoP proof and a revoked token stay refused.

The race tests start N competitors at once on the same keys (threads for the memory
store, which lives in one process; 4 processes for SQLite, 8 for PostgreSQL, each its
own Python interpreter with its own store object) and require that every key was
won by exactly one of them, including keys whose earlier entry had expired.
"""

from __future__ import annotations

import inspect
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

from govkit.errors import (
    ConfigurationError,
    IdentityStoreError,
    NaiveDatetimeError,
    TokenReplayed,
    TokenRevoked,
)
from govkit.identity import (
    AssuranceLevel,
    DPoPVerifier,
    TokenIssuer,
    TokenVerifier,
    create_dpop_proof,
)
from govkit.identity import _stores as stores_module
from govkit.identity._stores import (
    MemoryIdentityStore,
    PostgresIdentityStore,
    ReplayStore,
    RevocationStore,
    SQLiteIdentityStore,
)
from govkit.keys import KeyRing, SigningKey
from govkit.stores import _identity as identity_stores_module
from govkit.stores import _memory as memory_module
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
    open: Callable[[], Store]
    location: str | None  # a path or URL other processes can open; None for memory


def _memory(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return Backend("memory", MemoryIdentityStore, None)


def _sqlite(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    path = tmp_path / "identity.sqlite3"
    return Backend("sqlite", lambda: SQLiteIdentityStore(path), str(path))


def _postgres(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    url: str = request.getfixturevalue("pg_store_url")
    return Backend("postgres", lambda: PostgresIdentityStore(url), url)


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
def store(backend: Backend) -> Iterator[Store]:
    opened = backend.open()
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
        assert store.check_and_remember("dpop:jkt:1", now=T0, expires_at=T0 + MINUTE) is True
        assert store.check_and_remember("dpop:jkt:1", now=T0, expires_at=T0 + MINUTE) is False
        assert store.check_and_remember("dpop:jkt:1", now=T0, expires_at=T0 + 2 * MINUTE) is False

    def test_keys_are_independent_and_compared_exactly(self, store: Store) -> None:
        for key in ("a", "A", "a ", "dpop:x:1", "dpop:x:10", "签名", "a'; DROP TABLE x; --"):
            assert store.check_and_remember(key, now=T0, expires_at=T0 + MINUTE) is True
        assert (
            store.check_and_remember("a'; DROP TABLE x; --", now=T0, expires_at=T0 + MINUTE)
            is False
        )

    def test_an_entry_is_a_replay_until_its_expiry_and_absent_from_then_on(
        self, store: Store
    ) -> None:
        expires = T0 + MINUTE
        assert store.check_and_remember("k", now=T0, expires_at=expires)
        just_before = expires - timedelta(microseconds=1)
        assert store.check_and_remember("k", now=just_before, expires_at=expires + MINUTE) is False
        assert store.check_and_remember("k", now=expires, expires_at=expires + MINUTE) is True
        assert store.check_and_remember("k", now=expires, expires_at=expires + MINUTE) is False

    def test_a_replay_does_not_extend_the_entry(self, store: Store) -> None:
        assert store.check_and_remember("k", now=T0, expires_at=T0 + MINUTE)
        assert not store.check_and_remember("k", now=T0, expires_at=T0 + 10 * MINUTE)
        assert store.check_and_remember("k", now=T0 + MINUTE, expires_at=T0 + 2 * MINUTE)

    def test_an_entry_already_expired_is_recorded_but_never_blocks(self, store: Store) -> None:
        assert store.check_and_remember("k", now=T0, expires_at=T0 - SECOND) is True
        assert store.check_and_remember("k", now=T0, expires_at=T0 - SECOND) is True

    def test_expiry_in_another_timezone_means_the_same_instant(self, store: Store) -> None:
        beijing = timezone(timedelta(hours=8))
        assert store.check_and_remember(
            "k", now=T0.astimezone(beijing), expires_at=(T0 + MINUTE).astimezone(beijing)
        )
        assert not store.check_and_remember(
            "k", now=T0 + MINUTE - SECOND, expires_at=T0 + 2 * MINUTE
        )
        later = (T0 + MINUTE).astimezone(beijing)
        assert store.check_and_remember("k", now=later, expires_at=T0 + 2 * MINUTE)

    def test_the_callers_time_decides_not_a_clock_of_the_store(self, store: Store) -> None:
        """Decades before or after the system clock: only the ``now`` passed in counts."""
        for now in (datetime(2001, 1, 1, tzinfo=UTC), datetime(2090, 1, 1, tzinfo=UTC)):
            key = f"dpop:jkt:{now.year}"
            assert store.check_and_remember(key, now=now, expires_at=now + MINUTE) is True
            assert store.check_and_remember(key, now=now + SECOND, expires_at=now + MINUTE) is False
            store.revoke_token(key, expires_at=now + MINUTE)
            assert store.is_revoked(key, now=now + SECOND) is True
            assert store.is_revoked(key, now=now + MINUTE) is False

    def test_a_caller_far_ahead_does_not_reopen_replays_for_callers_on_time(
        self, store: Store
    ) -> None:
        """One ``at=`` in the future must not delete the entries others still rely on."""
        assert store.check_and_remember("seen", now=T0, expires_at=T0 + MINUTE)
        store.revoke_token("revoked", expires_at=T0 + MINUTE)
        future = T0 + timedelta(days=365)
        assert store.check_and_remember("other", now=future, expires_at=future + MINUTE)
        assert store.is_revoked("revoked", now=future) is False
        assert store.check_and_remember("seen", now=T0 + SECOND, expires_at=T0 + MINUTE) is False
        assert store.is_revoked("revoked", now=T0 + SECOND) is True

    # -- revocation ------------------------------------------------------------------

    def test_a_revoked_token_is_revoked_until_its_entry_expires(self, store: Store) -> None:
        assert store.is_revoked("jti-1", now=T0) is False
        store.revoke_token("jti-1", expires_at=T0 + 10 * MINUTE)
        assert store.is_revoked("jti-1", now=T0) is True
        assert store.is_revoked("jti-2", now=T0) is False
        assert store.is_revoked("jti-1", now=T0 + 10 * MINUTE - SECOND) is True
        assert store.is_revoked("jti-1", now=T0 + 10 * MINUTE) is False

    def test_revoking_again_keeps_the_later_expiry(self, store: Store) -> None:
        store.revoke_token("jti", expires_at=T0 + 10 * MINUTE)
        store.revoke_token("jti", expires_at=T0 + MINUTE)
        assert store.is_revoked("jti", now=T0 + 5 * MINUTE)
        store.revoke_token("jti", expires_at=T0 + 20 * MINUTE)
        assert store.is_revoked("jti", now=T0 + 15 * MINUTE)

    def test_revoking_an_expired_entry_again_revokes_it(self, store: Store) -> None:
        store.revoke_token("jti", expires_at=T0 + MINUTE)
        assert not store.is_revoked("jti", now=T0 + 2 * MINUTE)
        store.revoke_token("jti", expires_at=T0 + 3 * MINUTE)
        assert store.is_revoked("jti", now=T0 + 2 * MINUTE)

    def test_replay_keys_and_revoked_jtis_do_not_mix(self, store: Store) -> None:
        store.revoke_token("same", expires_at=T0 + MINUTE)
        assert store.check_and_remember("same", now=T0, expires_at=T0 + MINUTE) is True
        assert store.is_revoked("other", now=T0) is False
        store.check_and_remember("other", now=T0, expires_at=T0 + MINUTE)
        assert store.is_revoked("other", now=T0) is False

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

    def test_subject_times_do_not_expire(self, store: Store) -> None:
        store.revoke_subject("s", not_before=T0)
        assert store.purge(now=T0 + timedelta(days=3650)) == 0
        assert store.subject_not_before("s") == T0

    # -- purge -----------------------------------------------------------------------

    def test_purge_removes_entries_expired_at_its_time_only(self, store: Store) -> None:
        store.check_and_remember("r-old", now=T0, expires_at=T0 + MINUTE)
        store.check_and_remember("r-new", now=T0, expires_at=T0 + 10 * MINUTE)
        store.revoke_token("t-old", expires_at=T0 + MINUTE)
        store.revoke_token("t-new", expires_at=T0 + 10 * MINUTE)
        store.revoke_subject("s", not_before=T0)
        assert store.purge(now=T0) == 0
        later = T0 + 5 * MINUTE
        assert store.purge(now=later) == 2
        assert store.purge(now=later) == 0
        assert store.check_and_remember("r-new", now=later, expires_at=T0 + 20 * MINUTE) is False
        assert store.is_revoked("t-new", now=later) is True
        assert store.subject_not_before("s") == T0
        # purged, so absent even for a caller whose time is earlier
        assert store.check_and_remember("r-old", now=T0, expires_at=T0 + 20 * MINUTE) is True
        assert store.is_revoked("t-old", now=T0) is False

    def test_purge_counts_each_expiry_once(self, store: Store) -> None:
        store.check_and_remember("r", now=T0, expires_at=T0 + MINUTE)
        store.revoke_token("t", expires_at=T0 + 2 * MINUTE)
        assert store.purge(now=T0 + MINUTE) == 1
        assert store.purge(now=T0 + 2 * MINUTE) == 1
        assert store.purge(now=T0 + 3 * MINUTE) == 0

    # -- refusals ------------------------------------------------------------------

    def test_naive_datetimes_are_refused(self, store: Store) -> None:
        naive = datetime(2026, 7, 1, 10, 0)
        with pytest.raises(NaiveDatetimeError):
            store.check_and_remember("k", now=T0, expires_at=naive)
        with pytest.raises(NaiveDatetimeError):
            store.check_and_remember("k", now=naive, expires_at=T0 + MINUTE)
        with pytest.raises(NaiveDatetimeError):
            store.revoke_token("j", expires_at=naive)
        with pytest.raises(NaiveDatetimeError):
            store.is_revoked("j", now=naive)
        with pytest.raises(NaiveDatetimeError):
            store.revoke_subject("s", not_before=naive)
        with pytest.raises(NaiveDatetimeError):
            store.purge(now=naive)

    @pytest.mark.parametrize("key", ["", "k" * 1025, None, b"bytes"])
    def test_malformed_keys_are_refused(self, store: Store, key: Any) -> None:
        with pytest.raises(ConfigurationError):
            store.check_and_remember(key, now=T0, expires_at=T0 + MINUTE)
        with pytest.raises(ConfigurationError):
            store.revoke_token(key, expires_at=T0 + MINUTE)
        with pytest.raises(ConfigurationError):
            store.is_revoked(key, now=T0)
        with pytest.raises(ConfigurationError):
            store.revoke_subject(key, not_before=T0)
        with pytest.raises(ConfigurationError):
            store.subject_not_before(key)

    def test_a_closed_store_raises_identity_store_error(self, backend: Backend) -> None:
        closed = backend.open()
        closed.close()
        with pytest.raises(IdentityStoreError) as caught:
            closed.check_and_remember("k", now=T0, expires_at=T0 + MINUTE)
        assert caught.value.code == "identity.store"


# --- issue #14: verifiers whose clock is years behind the system clock ----------------

#: Years before any system clock this suite runs on; the stores once read that clock.
BEHIND = datetime(2019, 5, 1, 8, 0, tzinfo=UTC)
URL = "https://tax.gov.example/returns"


@pytest.fixture(scope="module")
def idp_key() -> SigningKey:
    return SigningKey.generate("ES256")


def test_the_verifier_clock_is_years_behind_the_system_clock() -> None:
    assert datetime.now(UTC) - BEHIND > timedelta(days=5 * 365)


@pytest.mark.parametrize("how", ["clock", "at"])
def test_a_replayed_dpop_proof_is_refused_by_a_verifier_years_behind(
    store: Store, how: str
) -> None:
    behind = FixedClock(BEHIND)
    verifier = DPoPVerifier(replay_store=store, clock=behind if how == "clock" else None)
    at = BEHIND if how == "at" else None
    proof = create_dpop_proof(SigningKey.generate("ES256"), htm="POST", htu=URL, clock=behind)
    verifier.verify(proof, htm="POST", htu=URL, at=at)
    with pytest.raises(TokenReplayed) as caught:
        verifier.verify(proof, htm="POST", htu=URL, at=at)
    assert caught.value.code == "token.replayed"


def test_a_replayed_proof_of_a_bound_token_is_refused_by_a_verifier_years_behind(
    store: Store, idp_key: SigningKey
) -> None:
    behind = FixedClock(BEHIND)
    app_key = SigningKey.generate("ES256")
    token = TokenIssuer(idp_key, issuer="https://login.gov.example", clock=behind).issue(
        "pseudonym-7f3a",
        "https://tax.gov.example",
        AssuranceLevel.HIGH,
        timedelta(minutes=10),
        confirmation_jkt=app_key.kid,
    )
    verifier = TokenVerifier(
        KeyRing(idp_key, clock=behind),
        issuer="https://login.gov.example",
        audience="https://tax.gov.example",
        clock=behind,
        store=store,
        dpop=DPoPVerifier(replay_store=store, clock=behind),
    )
    proof = create_dpop_proof(app_key, htm="GET", htu=URL, access_token=token, clock=behind)
    assert verifier.verify(token, dpop_proof=proof, htm="GET", htu=URL).subject
    report = verifier.inspect(token, dpop_proof=proof, htm="GET", htu=URL)
    assert (report.ok, report.code, report.checks[-1].name) == (False, "token.replayed", "dpop")


def test_a_revoked_token_is_refused_by_a_verifier_years_behind(
    store: Store, idp_key: SigningKey
) -> None:
    behind = FixedClock(BEHIND)
    token = TokenIssuer(idp_key, issuer="https://login.gov.example", clock=behind).issue(
        "pseudonym-7f3a", "https://tax.gov.example", AssuranceLevel.HIGH, timedelta(minutes=10)
    )
    verifier = TokenVerifier(
        KeyRing(idp_key, clock=behind),
        issuer="https://login.gov.example",
        audience="https://tax.gov.example",
        clock=behind,
        store=store,
    )
    claims = verifier.verify(token)
    store.revoke_token(claims.token_id, expires_at=claims.expires_at + timedelta(seconds=30))
    with pytest.raises(TokenRevoked) as caught:
        verifier.verify(token)
    assert caught.value.code == "token.revoked"


def test_the_stores_never_read_a_clock() -> None:
    # The identity stores moved to govkit.stores; govkit.identity._stores re-exports them.
    for module in (stores_module, memory_module, identity_stores_module):
        source = inspect.getsource(module)
        for clock_read in ("SystemClock", "datetime.now", "time.time", "time.monotonic", ".now()"):
            assert clock_read not in source, (module.__name__, clock_read)


# --- shared stores: several store objects (and processes) on one database ------------------


def test_entries_are_shared_between_store_objects(shared_backend: Backend) -> None:
    first, second = shared_backend.open(), shared_backend.open()
    try:
        assert first.check_and_remember("k", now=T0, expires_at=T0 + MINUTE)
        assert not second.check_and_remember("k", now=T0, expires_at=T0 + MINUTE)
        second.revoke_token("jti", expires_at=T0 + MINUTE)
        assert first.is_revoked("jti", now=T0)
        first.revoke_subject("s", not_before=T0)
        assert second.subject_not_before("s") == T0
    finally:
        first.close()
        second.close()


def test_entries_survive_reopening(shared_backend: Backend) -> None:
    store = shared_backend.open()
    store.check_and_remember("k", now=T0, expires_at=T0 + MINUTE)
    store.close()
    reopened = shared_backend.open()
    try:
        assert not reopened.check_and_remember("k", now=T0, expires_at=T0 + MINUTE)
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
    shared_backend: Backend,
) -> None:
    store = shared_backend.open()
    try:
        _break_schema(shared_backend)
        with pytest.raises(IdentityStoreError) as caught:
            store.check_and_remember("dpop:secret-jkt:secret-jti", now=T0, expires_at=T0 + MINUTE)
        text = json.dumps(caught.value.to_dict()) + str(caught.value)
        assert "secret" not in text  # no value from the data, no DETAIL line
        assert "INSERT" not in text.upper()  # no SQL text
        # The database's primary message is kept (it names the table, never a value).
        assert "identity_replay" in caught.value.message
        store.revoke_token("still-works", expires_at=T0 + MINUTE)  # the connection recovered
        assert store.is_revoked("still-works", now=T0)
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


def test_a_full_memory_store_refuses_new_entries_instead_of_evicting_live_ones() -> None:
    store = MemoryIdentityStore(max_entries=3)
    store.check_and_remember("a", now=T0, expires_at=T0 + MINUTE)
    store.revoke_token("b", expires_at=T0 + 2 * MINUTE)
    store.revoke_subject("c", not_before=T0)
    with pytest.raises(IdentityStoreError) as caught:
        store.check_and_remember("d", now=T0, expires_at=T0 + MINUTE)
    assert caught.value.context["max_entries"] == 3
    assert store.check_and_remember("a", now=T0, expires_at=T0 + MINUTE) is False  # kept
    # at T0 + 1 min "a" has expired, which frees its place
    assert store.check_and_remember("d", now=T0 + MINUTE, expires_at=T0 + 2 * MINUTE) is True
    assert len(store) == 3


def test_a_full_memory_store_makes_room_for_revocations_at_the_latest_time_given() -> None:
    store = MemoryIdentityStore(max_entries=2)
    store.check_and_remember("a", now=T0, expires_at=T0 + MINUTE)
    store.revoke_token("b", expires_at=T0 + MINUTE)
    with pytest.raises(IdentityStoreError):
        store.revoke_subject("s", not_before=T0)  # the latest time given is T0: both live
    assert store.is_revoked("b", now=T0 + MINUTE) is False  # a caller at T0 + 1 min
    store.revoke_subject("s", not_before=T0)
    store.revoke_token("t", expires_at=T0 + 2 * MINUTE)
    assert len(store) == 2
    assert store.subject_not_before("s") == T0
    assert store.is_revoked("t", now=T0 + MINUTE) is True


def test_the_memory_store_stays_within_its_bound_and_keeps_only_live_entries() -> None:
    store = MemoryIdentityStore(max_entries=10)
    now = T0
    for step in range(1000):
        now = T0 + step * SECOND
        assert store.check_and_remember(f"k{step}", now=now, expires_at=now + 5 * SECOND)
        assert len(store) <= 10
    store.purge(now=now)
    assert len(store) == 5
    assert len(store._state._expiry) <= 20  # the expiry index does not grow with replaced entries


def test_the_memory_store_index_stays_bounded_when_keys_are_reused() -> None:
    store = MemoryIdentityStore(max_entries=4)
    for step in range(2000):
        now = T0 + step * SECOND
        assert store.check_and_remember("same", now=now, expires_at=now + SECOND)
    assert len(store) == 1
    assert len(store._state._expiry) <= 8


# --- races ----------------------------------------------------------------------------

KEYS = 200
EXPIRED_KEYS = 100

WORKER = """
import json, random, sys, time
from datetime import datetime, timedelta
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
now = datetime.fromisoformat(spec["now"])
expires = now + timedelta(hours=1)
print("ready", flush=True)
go = Path(spec["go"])
while not go.exists():
    time.sleep(0.001)
won = [key for key in keys if store.check_and_remember(key, now=now, expires_at=expires)]
store.close()
print(json.dumps(won), flush=True)
"""


def _race_keys(store: Store) -> list[str]:
    """Fresh keys plus keys whose entries exist but expired an hour before the race (T0)."""
    past = T0 - timedelta(hours=1)
    expired = [f"dpop:expired:{i}" for i in range(EXPIRED_KEYS)]
    for key in expired:
        assert store.check_and_remember(key, now=past - MINUTE, expires_at=past)
    return [f"dpop:fresh:{i}" for i in range(KEYS)] + expired


def _assert_each_key_won_once(keys: list[str], winners: list[list[str]]) -> None:
    wins = Counter(key for won in winners for key in won)
    assert set(wins) == set(keys)
    assert [key for key, count in wins.items() if count != 1] == []


def _race_processes(backend: Backend, workers: int, folder: Path) -> None:
    setup = backend.open()
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
            "now": T0.isoformat(),
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
    expires = T0 + timedelta(hours=1)

    def run(worker: int) -> None:
        barrier.wait()
        for key in keys[worker:] + keys[:worker]:
            if store.check_and_remember(key, now=T0, expires_at=expires):
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
    backend = Backend("sqlite", lambda: SQLiteIdentityStore(path), str(path))
    _race_processes(backend, workers=4, folder=tmp_path)


@pytest.mark.slow
@pytest.mark.postgres
def test_racing_postgres_processes_win_each_key_once(pg_store_url: str, tmp_path: Path) -> None:
    backend = Backend("postgres", lambda: PostgresIdentityStore(pg_store_url), pg_store_url)
    _race_processes(backend, workers=8, folder=tmp_path)
