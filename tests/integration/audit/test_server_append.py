"""Small appends on PostgreSQL run on the server, with no client round trip under the lock.

An append of at most ``SMALL_APPEND_ROWS`` rows calls a session-local PL/pgSQL
function (``pg_temp.govkit_audit_append``), sent as one message with BEGIN, COMMIT
and the wait for the WAL flush (``Database.call``): it takes the writers' lock,
checks the border, inserts the entries, hashes each new leaf up its chain of nodes
and writes the tiles the new nodes top. These tests pin:

* the nodes and tiles it writes are exactly those govkit's Python tree code
  computes from the leaves (through both bands of tiles, mixed with batches that
  the client appends);
* a store that lacks a node the append needs is refused as the client path refuses
  it (``audit.store``, "lacks Merkle nodes", the number missing), and
  nothing is written;
* every value reaches the tables byte for byte as the client path's binary
  parameters put it (quotes, backslashes, braces, SQL), and an error inside the
  one-message transaction leaves the connection usable;
* a session that lost the function (a pooler's ``DISCARD``) appends from the client
  once and then creates it again; a role that may not create temporary objects
  appends from the client.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from govkit.audit import AuditEvent, AuditLog, NoteSigner, verify_log
from govkit.audit._store import SMALL_APPEND_ROWS, batch_gate_key
from govkit.audit._tree import (
    TILE_BAND,
    TILE_HEIGHT,
    CompactRange,
    tile_end,
    tile_nodes,
)
from govkit.errors import AuditStoreError
from govkit.stores._sql import Tx, _Postgres

ORIGIN = "example.gov/audit-test"
PSEUDONYM_KEY = b"integration-test-pseudonym-key!!"
T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)

pytestmark = pytest.mark.postgres


def _events(start: int, count: int) -> list[AuditEvent]:
    return [
        AuditEvent(
            occurred_at=T0 + timedelta(microseconds=n),
            actor_id=f"officer-{n % 5}",
            actor_type="officer",
            action="licence.issue",
            resource_type="driving_licence",
            resource_id=f"GD-{n}",
            personal=frozenset({"actor_id"}) if n % 7 == 0 else frozenset(),
        )
        for n in range(start, start + count)
    ]


class _Calls:
    """Counts the statements appends send: ``fetch`` (client), ``Database.call`` (server)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.fetch = 0
        self.later = 0
        self.binary = 0
        real_fetch, real_call = Tx.fetch, _Postgres.call

        def fetch(tx: Tx, statement: str, params: Any = ()) -> list[tuple[Any, ...]]:
            self.fetch += 1
            return real_fetch(tx, statement, params)

        def call(db: _Postgres, statement: str, params: Any = (), *, binary: bool = False) -> Any:
            self.later += 1
            self.binary += binary
            return real_call(db, statement, params, binary=binary)

        monkeypatch.setattr(Tx, "fetch", fetch)
        monkeypatch.setattr(_Postgres, "call", call)

    def reset(self) -> None:
        self.fetch = self.later = self.binary = 0


@pytest.fixture
def url(pg_store_url: str) -> str:
    AuditLog(pg_store_url, origin=ORIGIN).close()
    return pg_store_url


def _sql(url: str, statement: str) -> list[tuple[Any, ...]]:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(statement)
        return list(cursor.fetchall()) if cursor.description else []


def _expected(url: str) -> tuple[set[tuple[int, int, bytes]], dict[int, bytes]]:
    """Every node and complete tile, computed in Python from the stored leaves."""
    leaves = [bytes(h) for (h,) in _sql(url, "SELECT leaf_hash FROM audit_entries ORDER BY idx")]
    tree = CompactRange()
    created: list[tuple[int, int, bytes]] = []
    for leaf in leaves:
        tree.append(leaf, created)
    known = {(lvl, i): h for lvl, i, h in created}
    known.update({(0, i): h for i, h in enumerate(leaves)})
    tiles = {}
    for band in range(2):
        index = 0
        while tile_end(band, index) <= len(leaves):
            tiles[band * TILE_BAND + index] = b"".join(
                known[node] for node in tile_nodes(band, index)
            )
            index += 1
    return set(created), tiles


def test_small_appends_on_the_server_write_the_nodes_and_tiles_python_computes(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _Calls(monkeypatch)
    signer = NoteSigner.generate(ORIGIN)
    sizes = [1, 2, 3, 4] * 10 + [100] + [3, 1, 4, 1] * 20 + [2000, 1, 63, 4] + [4, 3] * 300
    with AuditLog(url, origin=ORIGIN, signer=signer, pseudonym_key=PSEUDONYM_KEY) as log:
        appended = 0
        for size in sizes:
            calls.reset()
            assert log.append_many(_events(appended, size))[0] == appended
            # every append is one call, which reads nothing back while the lock is
            # held; a batch sends its arrays in binary
            assert (calls.later, calls.fetch) == (1, 0), size
            assert calls.binary == (size > SMALL_APPEND_ROWS), size
            appended += size
        assert appended > 1 << (2 * TILE_HEIGHT)  # a tile of band 1 is complete
        log.checkpoint()
        assert verify_log(log, verifiers=[signer.verifier], deep=True).size == appended
    nodes, tiles = _expected(url)
    stored_nodes = {
        (int(lvl), int(i), bytes(h)) for lvl, i, h in _sql(url, "SELECT * FROM audit_nodes")
    }
    assert stored_nodes == nodes
    stored_tiles = {int(k): bytes(h) for k, h in _sql(url, "SELECT tile, hashes FROM audit_tiles")}
    assert stored_tiles == tiles
    assert TILE_BAND in tiles  # band 1's first tile, written by whichever path completed it
    # the clear values of personal fields went in, from both paths
    assert _sql(url, "SELECT count(*) FROM audit_personal")[0][0] > 0


@pytest.mark.parametrize("size", [1, SMALL_APPEND_ROWS, SMALL_APPEND_ROWS + 1])
def test_a_store_that_lost_a_border_node_is_refused_on_both_paths_and_nothing_is_written(
    url: str, size: int
) -> None:
    with AuditLog(url, origin=ORIGIN, pseudonym_key=PSEUDONYM_KEY) as log:
        log.append_many(_events(0, 7))
        # the border of 7 leaves: nodes (2, 0), (1, 2) and leaf 6; drop (1, 2)
        _sql(url, "DELETE FROM audit_nodes WHERE level = 1 AND idx = 2")
        with pytest.raises(AuditStoreError) as caught:
            log.append_many(_events(7, size))
        assert caught.value.code == "audit.store"
        assert "lacks Merkle nodes" in caught.value.message
        assert caught.value.context["missing"] == 1
    assert _sql(url, "SELECT count(*) FROM audit_entries")[0][0] == 7


def test_a_tile_with_a_missing_older_node_is_refused_and_nothing_is_written(url: str) -> None:
    with AuditLog(url, origin=ORIGIN, pseudonym_key=PSEUDONYM_KEY) as log:
        log.append_many(_events(0, 63))
        # a level-1 node inside the first tile but off the border of 63 leaves
        _sql(url, "DELETE FROM audit_nodes WHERE level = 1 AND idx = 3")
        with pytest.raises(AuditStoreError) as caught:
            log.append(_events(63, 1)[0])  # completes tile 0 of band 0
        assert "lacks Merkle nodes" in caught.value.message
        assert caught.value.context["missing"] == 1
    assert _sql(url, "SELECT count(*) FROM audit_entries")[0][0] == 63
    assert _sql(url, "SELECT count(*) FROM audit_tiles")[0][0] == 0


def test_a_session_that_lost_the_function_appends_from_the_client_then_creates_it_again(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _Calls(monkeypatch)
    signer = NoteSigner.generate(ORIGIN)
    with AuditLog(url, origin=ORIGIN, signer=signer, pseudonym_key=PSEUDONYM_KEY) as log:
        log.append(_events(0, 1)[0])
        assert calls.later == 1
        log.store._db.read("DISCARD TEMP")  # type: ignore[attr-defined]  # what poolers do
        calls.reset()
        assert log.append(_events(1, 1)[0]) == 1
        assert (calls.later, calls.fetch) == (1, 1)  # the call failed; the client appended
        calls.reset()
        assert log.append(_events(2, 1)[0]) == 2
        assert (calls.later, calls.fetch) == (1, 0)  # created again
        log.checkpoint()
        assert verify_log(log, verifiers=[signer.verifier], deep=True).size == 3


def test_a_role_that_may_not_create_temporary_objects_appends_from_the_client(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = urlsplit(url).path.lstrip("/")
    role = f"no_temp_{database[-12:]}"
    _sql(url, f'CREATE ROLE "{role}" LOGIN')
    try:
        _sql(url, f'REVOKE TEMPORARY ON DATABASE "{database}" FROM PUBLIC')
        _sql(url, f'GRANT USAGE ON SCHEMA public TO "{role}"')
        _sql(url, f'GRANT ALL ON ALL TABLES IN SCHEMA public TO "{role}"')
        parts = urlsplit(url)
        limited = urlunsplit(parts._replace(netloc=f"{role}@{parts.hostname}:{parts.port}"))
        calls = _Calls(monkeypatch)
        signer = NoteSigner.generate(ORIGIN)
        with AuditLog(limited, origin=ORIGIN, signer=signer, pseudonym_key=PSEUDONYM_KEY) as log:
            for n in range(70):  # through a tile
                assert log.append(_events(n, 1)[0]) == n
            assert calls.later == 0
            assert calls.fetch == 70
            assert log.store._server_appends is False  # type: ignore[attr-defined]
            log.checkpoint()
            assert verify_log(log, verifiers=[signer.verifier], deep=True).size == 70
    finally:
        _sql(url, f'DROP OWNED BY "{role}"')
        _sql(url, f'DROP ROLE "{role}"')


_HOSTILE = [
    "it's",
    "back\\slash\\\\x00",
    '"quoted", {braces}, NULL',
    "'); DROP TABLE audit_entries; --",
    "$fn$ %s %(name)s ? $1",
    "粤省事 officer 张三 «€» \u00e9",
    "E'\\\\'",
    "{}",
    "NULL",
]


def _hostile_events(start: int) -> list[AuditEvent]:
    return [
        AuditEvent(
            occurred_at=T0 + timedelta(microseconds=start + n),
            actor_id=text,
            actor_type="officer",
            action="licence.issue",
            resource_type="driving_licence",
            resource_id=text,
            correlation_id=text,
            reason=text,
            details={"note": text},
            personal=frozenset({"actor_id"}),
        )
        for n, text in enumerate(_HOSTILE)
    ]


def _rows(url: str) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    return (
        _sql(url, "SELECT * FROM audit_entries ORDER BY idx"),
        _sql(url, "SELECT * FROM audit_nodes ORDER BY level, idx"),
        _sql(url, "SELECT * FROM audit_personal ORDER BY pseudonym"),
    )


def test_quotes_backslashes_and_sql_in_values_are_stored_as_the_client_path_stores_them(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server path binds its parameters as literals in one message: every value
    must reach the tables byte for byte as the client path (binary parameters) puts it."""
    calls = _Calls(monkeypatch)
    events = _hostile_events(0)
    with AuditLog(url, origin=ORIGIN, pseudonym_key=PSEUDONYM_KEY) as log:
        for n, event in enumerate(events):
            assert log.append(event) == n
        assert (calls.later, calls.fetch) == (len(events), 0)
        assert log.append_many(_hostile_events(len(events))[:SMALL_APPEND_ROWS]) == list(
            range(len(events), len(events) + SMALL_APPEND_ROWS)
        )
        # a batch: the same function, its arrays in binary in one pipeline
        assert log.append_many(_hostile_events(100))[0] == len(events) + SMALL_APPEND_ROWS
        assert calls.binary == 1
    server = _rows(url)
    _sql(url, "TRUNCATE audit_entries, audit_nodes, audit_tiles, audit_personal")
    calls.reset()
    with AuditLog(url, origin=ORIGIN, pseudonym_key=PSEUDONYM_KEY) as log:
        log.store._server_appends = False  # type: ignore[attr-defined]
        for event in events:
            log.append(event)
        log.append_many(_hostile_events(len(events))[:SMALL_APPEND_ROWS])
        log.append_many(_hostile_events(100))
        assert calls.later == 0
    assert _rows(url) == server
    entries, _, personal = server
    assert len(entries) == 2 * len(events) + SMALL_APPEND_ROWS
    assert {value for _, value in personal} == set(_HOSTILE)
    stored = {row[8] for row in entries}  # resource_id
    assert stored == set(_HOSTILE)


@pytest.mark.parametrize("size", [1, SMALL_APPEND_ROWS + 1])
def test_a_refused_server_append_leaves_the_connection_usable(url: str, size: int) -> None:
    """An error inside the call's transaction (one message, or a batch's pipeline)
    aborts it; the client rolls it back, so the same connection appends again once
    the store is repaired."""
    with AuditLog(url, origin=ORIGIN, pseudonym_key=PSEUDONYM_KEY) as log:
        log.append_many(_events(0, 7))
        saved = _sql(url, "SELECT hash FROM audit_nodes WHERE level = 1 AND idx = 2")[0][0]
        _sql(url, "DELETE FROM audit_nodes WHERE level = 1 AND idx = 2")
        generation = log.store._db.generation  # type: ignore[attr-defined]
        with pytest.raises(AuditStoreError, match="lacks Merkle nodes"):
            log.append_many(_events(7, size))
        assert log.store._db._conn.info.transaction_status == 0  # type: ignore[attr-defined]
        import psycopg  # noqa: PLC0415

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("INSERT INTO audit_nodes VALUES (1, 2, %s)", (saved,))
        assert log.append_many(_events(7, size))[0] == 7
        assert log.store._db.generation == generation  # type: ignore[attr-defined]
        assert log.store._db._conn.info.transaction_status == 0  # type: ignore[attr-defined]
    assert _sql(url, "SELECT count(*) FROM audit_entries")[0][0] == 7 + size


def _advisory(url: str, pid: int, key: tuple[int, int], subid: int) -> list[bool]:
    """``granted`` of each advisory lock ``pid`` holds or awaits on ``key`` (pg_locks)."""
    return [
        bool(granted)
        for (granted,) in _sql(
            url,
            "SELECT granted FROM pg_locks WHERE locktype = 'advisory' "  # noqa: S608 - ints
            f"AND pid = {pid} AND classid = {key[0] & 0xFFFF_FFFF} "
            f"AND objid = {key[1] & 0xFFFF_FFFF} AND objsubid = {subid}",
        )
    ]


def _until(check: Any, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.mark.parametrize("bound_ms", [60_000, 200])
def test_a_batch_waits_while_a_small_append_waits_for_the_lock_but_never_past_the_bound(
    url: str, monkeypatch: pytest.MonkeyPatch, bound_ms: int
) -> None:
    """Small appends first: a batch holding the gate waits (on the server) while other
    sessions hold or wait for the writers' lock, for at most ``PG_BATCH_YIELD_MS``,
    then queues."""
    import psycopg  # noqa: PLC0415

    from govkit.audit import _store  # noqa: PLC0415

    monkeypatch.setattr(_store, "PG_BATCH_YIELD_MS", bound_ms)
    small = AuditLog(url, origin=ORIGIN, pseudonym_key=PSEUDONYM_KEY)
    large = AuditLog(url, origin=ORIGIN, pseudonym_key=PSEUDONYM_KEY)
    small.append(_events(0, 1)[0])  # each connection has its function now
    large.append(_events(1, 1)[0])
    lock_id = small.store._lock_id  # type: ignore[attr-defined]
    writers = (lock_id >> 32, lock_id)
    small_pid = small.store._db._conn.info.backend_pid  # type: ignore[attr-defined]
    large_pid = large.store._db._conn.info.backend_pid  # type: ignore[attr-defined]
    results: dict[str, int] = {}
    with psycopg.connect(url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (lock_id,))
        one = threading.Thread(
            target=lambda: results.setdefault("small", small.append(_events(2, 1)[0]))
        )
        one.start()
        _until(lambda: _advisory(url, small_pid, writers, 1) == [False])  # it waits
        batch = threading.Thread(
            target=lambda: results.setdefault("large", large.append_many(_events(3, 5))[0])
        )
        batch.start()
        _until(lambda: _advisory(url, large_pid, batch_gate_key(lock_id), 2) == [True])
        if bound_ms > 1000:
            time.sleep(0.5)  # holding the gate, yielding: not queued for the writers' lock
            assert _advisory(url, large_pid, writers, 1) == []
        else:  # past the bound it queues although the small append still waits
            _until(lambda: _advisory(url, large_pid, writers, 1) == [False])
            assert _advisory(url, small_pid, writers, 1) == [False]
        holder.execute("SELECT pg_advisory_unlock(%s)", (lock_id,))
    one.join(30)
    batch.join(30)
    small.close()
    large.close()
    assert results == {"small": 2, "large": 3}  # the small append first, then the batch
