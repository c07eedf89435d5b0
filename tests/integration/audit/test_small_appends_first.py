"""Small appends first: a large append queues at the batch gate, a one-event one does not.

An append (a group commit) of more than ``SMALL_APPEND_ROWS`` rows first takes the
batch gate (SQLite: a ``flock`` of ``<database>-lock-gate``; PostgreSQL: the advisory
lock of the key pair ``batch_gate_key(lock_id)``) and only then the writers' lock, so
at most one large append waits for the writers' lock at a time. These tests pin:

* a one-event append goes in while a large append waits at the gate (without the
  gate, the large append would not wait at all: the tests fail);
* the wait at the gate and the wait for the writers' lock share one ``busy_timeout``,
  after which the append raises ``audit.store_locked`` and writes nothing;
* a writer killed with SIGKILL while it holds the gate blocks nobody (the kernel
  drops its ``flock``; PostgreSQL ends its session and its locks);
* on SQLite a small append marks itself waiting (a shared ``flock`` of
  ``-lock-small``) only while it waits; a large append holding the gate lets the
  small appends that were waiting go first, yet waits for their marks for at most
  ``_BATCH_YIELD``;
* the gate's file goes when the last writer closes, as the writers' lock file does,
  and a folder where it cannot be created means no gate (appends still go in);
* on PostgreSQL the gate is a lock of the two-key space, which can never be the
  writers' lock or the schema lock (both single 64-bit keys);
* on PostgreSQL an append reads once while it holds the writers' lock, also when it
  completes tiles begun by earlier appends (their older nodes come with the head
  query), and the tiles it writes still verify.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from govkit.audit import (
    AuditEvent,
    AuditLog,
    NoteSigner,
    PostgresStore,
    SQLiteStore,
    verify_log,
)
from govkit.audit._store import SMALL_APPEND_ROWS, batch_gate_key
from govkit.errors import AuditStoreLocked
from govkit.stores._sql import SCHEMA_LOCK, Tx

ROOT = Path(__file__).resolve().parents[3]
ORIGIN = "example.gov/audit-test"
PSEUDONYM_KEY = b"integration-test-pseudonym-key!!"
T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
LARGE = SMALL_APPEND_ROWS + 6  # rows of a large append
PATIENCE = 60.0  # seconds anything that should happen soon may take on a loaded machine

# A child process: opens the log, prints "ready", appends LARGE events in one call.
_CHILD = """
import sys
from datetime import UTC, datetime, timedelta
from govkit.audit import AuditEvent, AuditLog
t0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
events = [
    AuditEvent(occurred_at=t0 + timedelta(microseconds=n), actor_id="officer",
               actor_type="officer", action="licence.issue",
               resource_type="driving_licence", resource_id=f"K-{n}",
               personal=frozenset())
    for n in range(int(sys.argv[3]))
]
log = AuditLog(sys.argv[1], origin=sys.argv[2])
print("ready", flush=True)
log.append_many(events)
print("appended", flush=True)
"""


def _events(start: int, count: int) -> list[AuditEvent]:
    return [
        AuditEvent(
            occurred_at=T0 + timedelta(microseconds=n),
            actor_id=f"officer-{n % 5}",
            actor_type="officer",
            action="licence.issue",
            resource_type="driving_licence",
            resource_id=f"GD-{n}",
        )
        for n in range(start, start + count)
    ]


class _Background:
    """``call()`` in a thread; its result or exception once it is done."""

    def __init__(self, call: Any) -> None:
        self.result: Any = None
        self.error: BaseException | None = None
        self.finished_at = 0.0

        def run() -> None:
            try:
                self.result = call()
            except BaseException as exc:  # the test inspects it
                self.error = exc
            self.finished_at = time.monotonic()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def settle(self, seconds: float) -> None:
        """Give it ``seconds`` to finish (it may, if nothing holds it up)."""
        self.thread.join(seconds)

    def join(self) -> Any:
        self.thread.join(PATIENCE)
        assert not self.thread.is_alive(), "the append never finished"
        if self.error is not None:
            raise self.error
        return self.result


def _flock(path: Path) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def _is_locked(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _start_child(url: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, url, ORIGIN, str(LARGE)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"
    return proc


def _wait(condition: Any, what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


# --- SQLite ---------------------------------------------------------------------------


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "audit.db"
    AuditLog(path, origin=ORIGIN).close()
    return path


def test_sqlite_one_event_append_goes_in_while_a_large_append_waits_at_the_gate(
    db: Path,
) -> None:
    gate = _flock(Path(f"{db}-lock-gate"))  # another large append holds the gate
    with (
        AuditLog(db, origin=ORIGIN, pseudonym_key=PSEUDONYM_KEY) as batcher,
        AuditLog(db, origin=ORIGIN, pseudonym_key=PSEUDONYM_KEY) as single,
    ):
        try:
            large = _Background(lambda: batcher.append_many(_events(0, LARGE)))
            large.settle(0.5)
            started = time.monotonic()
            index = single.append(_events(100, 1)[0])
            assert time.monotonic() - started < PATIENCE
            assert index == 0  # the small append went first
            assert large.thread.is_alive(), "the large append did not wait at the gate"
            # Appends of up to SMALL_APPEND_ROWS rows never take the gate either.
            assert single.append_many(_events(200, SMALL_APPEND_ROWS)) == list(
                range(1, 1 + SMALL_APPEND_ROWS)
            )
        finally:
            os.close(gate)
        assert large.join()[0] == 1 + SMALL_APPEND_ROWS
        assert batcher.size() == 1 + SMALL_APPEND_ROWS + LARGE


def test_sqlite_gate_held_past_busy_timeout_raises_store_locked(db: Path) -> None:
    gate = _flock(Path(f"{db}-lock-gate"))
    try:
        store = SQLiteStore(db, busy_timeout=0.3)
        with AuditLog(store, origin=ORIGIN, pseudonym_key=PSEUDONYM_KEY) as log:
            started = time.monotonic()
            with pytest.raises(AuditStoreLocked) as raised:
                log.append_many(_events(0, LARGE))
            assert raised.value.code == "audit.store_locked"
            assert 0.25 <= time.monotonic() - started < PATIENCE
            assert log.size() == 0
            assert log.append(_events(50, 1)[0]) == 0  # a small append is not gated
    finally:
        os.close(gate)


def test_sqlite_gate_and_writer_lock_waits_share_one_busy_timeout(db: Path) -> None:
    """Held 1.0 s at the gate, then for ever at the lock: it gives up after 1.5 s, not 2.5 s."""
    lock = _flock(Path(f"{db}-lock"))
    gate = _flock(Path(f"{db}-lock-gate"))
    threading.Timer(1.0, os.close, (gate,)).start()
    try:
        store = SQLiteStore(db, busy_timeout=1.5)
        with AuditLog(store, origin=ORIGIN, pseudonym_key=PSEUDONYM_KEY) as log:
            started = time.monotonic()
            with pytest.raises(AuditStoreLocked) as raised:
                log.append_many(_events(0, LARGE))
            waited = time.monotonic() - started
            assert raised.value.code == "audit.store_locked"
            assert 1.4 <= waited < 2.3, waited
    finally:
        os.close(lock)
    with AuditLog(db, origin=ORIGIN, pseudonym_key=PSEUDONYM_KEY) as log:
        assert log.size() == 0


def test_sqlite_writer_killed_holding_the_gate_blocks_nobody(db: Path) -> None:
    lock = _flock(Path(f"{db}-lock"))  # the child takes the gate, then waits here
    child = _start_child(str(db))
    try:
        _wait(lambda: _is_locked(Path(f"{db}-lock-gate")), "the child never took the gate")
        child.kill()
        assert child.wait(PATIENCE) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(PATIENCE)
        assert child.stdout is not None
        child.stdout.close()
        os.close(lock)
    store = SQLiteStore(db, busy_timeout=PATIENCE)
    with AuditLog(store, origin=ORIGIN, pseudonym_key=PSEUDONYM_KEY) as log:
        started = time.monotonic()
        assert log.append_many(_events(0, LARGE))[0] == 0  # nothing of the child's went in
        assert time.monotonic() - started < PATIENCE / 2


def test_sqlite_gate_file_goes_on_close_like_the_lock_file(db: Path) -> None:
    gate, lock = Path(f"{db}-lock-gate"), Path(f"{db}-lock")
    log = AuditLog(db, origin=ORIGIN, pseudonym_key=PSEUDONYM_KEY)
    log.append_many(_events(0, LARGE))
    assert gate.exists()
    assert lock.exists()
    log.close()
    assert not gate.exists()
    assert not lock.exists()
    # A writer that still holds the gate keeps its file.
    log = AuditLog(db, origin=ORIGIN, pseudonym_key=PSEUDONYM_KEY)
    log.append_many(_events(LARGE, LARGE))
    fd = _flock(gate)
    try:
        log.close()
        assert gate.exists()
    finally:
        os.close(fd)


def test_sqlite_gate_file_that_cannot_be_created_means_no_gate(db: Path) -> None:
    Path(f"{db}-lock-gate").mkdir()  # the path is taken: no flock there
    with AuditLog(db, origin=ORIGIN, pseudonym_key=PSEUDONYM_KEY) as log:
        assert log.append_many(_events(0, LARGE))[0] == 0
        assert log.append(_events(LARGE, 1)[0]) == LARGE
    assert Path(f"{db}-lock-gate").is_dir()


def _shared(path: Path) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_SH)
    return fd


def test_sqlite_small_append_marks_itself_waiting_only_while_it_waits(db: Path) -> None:
    """A small append holds a shared flock of ``-lock-small`` while it waits for the
    writers' lock and lets it go as soon as it has the lock (a large append holding
    the gate watches that file)."""
    small = Path(f"{db}-lock-small")
    with AuditLog(db, origin=ORIGIN, pseudonym_key=PSEUDONYM_KEY) as log:
        log.append(_events(0, 1)[0])
        lock = _flock(Path(f"{db}-lock"))
        try:
            waiting = _Background(lambda: log.append(_events(1, 1)[0]))
            _wait(lambda: _is_locked(small), "the waiting small append set no mark")
        finally:
            os.close(lock)
        assert waiting.join() == 1
        assert not _is_locked(small)  # gone once it had the lock (and the append is done)


def test_sqlite_large_append_lets_waiting_small_appends_go_first_for_a_bounded_time(
    db: Path,
) -> None:
    """While a small append's mark is held a large append waits, then goes in anyway after
    ``_BATCH_YIELD``: small appends are preferred, large ones never starved."""
    from govkit.audit._store import _BATCH_YIELD  # noqa: PLC0415

    small = Path(f"{db}-lock-small")
    with AuditLog(db, origin=ORIGIN, pseudonym_key=PSEUDONYM_KEY) as log:
        log.append(_events(0, 1)[0])
        mark = _shared(small)  # a small append waiting, for ever
        try:
            started = time.monotonic()
            assert log.append_many(_events(1, LARGE))[0] == 1
            assert time.monotonic() - started >= _BATCH_YIELD
        finally:
            os.close(mark)
        # The mark goes while the large append waits: it goes in at once after that.
        mark = _shared(small)
        release = threading.Timer(0.001, os.close, (mark,))
        release.start()
        assert log.append_many(_events(1 + LARGE, LARGE))[0] == 1 + LARGE
        release.join()
        assert log.size() == 1 + 2 * LARGE


def test_sqlite_large_append_goes_after_the_small_appends_that_were_waiting(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small appends waiting for the writers' lock when a large one arrives go in before
    it once the lock is free (without the mark the large append raced them for it).
    The bound is raised so that the order does not depend on timing."""
    from govkit.audit import _store  # noqa: PLC0415

    monkeypatch.setattr(_store, "_BATCH_YIELD", PATIENCE)
    with AuditLog(db, origin=ORIGIN, pseudonym_key=PSEUDONYM_KEY) as log:
        log.append(_events(0, 1)[0])
    logs = [AuditLog(db, origin=ORIGIN, pseudonym_key=PSEUDONYM_KEY) for _ in range(3)]
    batcher = AuditLog(db, origin=ORIGIN, pseudonym_key=PSEUDONYM_KEY)
    try:
        lock = _flock(Path(f"{db}-lock"))
        try:
            smalls = [
                _Background(lambda lg=lg, n=n: lg.append(_events(1 + n, 1)[0]))
                for n, lg in enumerate(logs)
            ]
            _wait(lambda: _is_locked(Path(f"{db}-lock-small")), "no small append waited")
            time.sleep(0.2)  # every small append is waiting now
            large = _Background(lambda: batcher.append_many(_events(10, LARGE)))
            _wait(lambda: _is_locked(Path(f"{db}-lock-gate")), "the large append never came")
            time.sleep(0.1)  # it holds the gate and waits for the marks to go
        finally:
            os.close(lock)
        assert sorted(b.join() for b in smalls) == [1, 2, 3]
        assert large.join()[0] == 4  # after every small append that was waiting
    finally:
        for lg in (*logs, batcher):
            lg.close()


def test_sqlite_small_waiting_file_goes_on_close(db: Path) -> None:
    small = Path(f"{db}-lock-small")
    log = AuditLog(db, origin=ORIGIN, pseudonym_key=PSEUDONYM_KEY)
    log.append(_events(0, 1)[0])
    lock = _flock(Path(f"{db}-lock"))
    try:
        waiting = _Background(lambda: log.append(_events(1, 1)[0]))
        _wait(small.exists, "the waiting small append made no mark file")
    finally:
        os.close(lock)
    waiting.join()
    log.close()
    assert not small.exists()


# --- PostgreSQL -----------------------------------------------------------------------


@pytest.fixture
def pg(pg_store_url: str) -> Iterator[tuple[str, Any]]:
    """The store's URL and a separate connection (autocommit) to take locks with."""
    import psycopg  # noqa: PLC0415

    AuditLog(pg_store_url, origin=ORIGIN).close()
    with psycopg.connect(pg_store_url, autocommit=True) as conn:
        yield pg_store_url, conn


def _pg_lock_id(url: str) -> int:
    store = PostgresStore(url)
    try:
        return store._lock_id
    finally:
        store.close()


def _advisory(conn: Any, *, pair: bool, granted: bool) -> list[tuple[int, int]]:
    """``(classid, objid)`` of the advisory locks of one key space held or awaited."""
    rows = conn.execute(
        "SELECT classid::bigint, objid::bigint FROM pg_locks WHERE locktype = 'advisory' "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND objsubid = %s AND granted = %s",
        (2 if pair else 1, granted),
    ).fetchall()
    return [(int(a), int(b)) for a, b in rows]


def _unsigned(key: int) -> int:
    return key & 0xFFFF_FFFF


@pytest.mark.postgres
def test_postgres_one_event_append_goes_in_while_a_large_append_waits_at_the_gate(
    pg: tuple[str, Any],
) -> None:
    url, conn = pg
    gate = batch_gate_key(_pg_lock_id(url))
    conn.execute("SELECT pg_advisory_lock(%s::integer, %s::integer)", gate)
    with (
        AuditLog(url, origin=ORIGIN, pseudonym_key=PSEUDONYM_KEY) as batcher,
        AuditLog(url, origin=ORIGIN, pseudonym_key=PSEUDONYM_KEY) as single,
    ):
        try:
            large = _Background(lambda: batcher.append_many(_events(0, LARGE)))
            wanted = (_unsigned(gate[0]), _unsigned(gate[1]))
            _wait(
                lambda: wanted in _advisory(conn, pair=True, granted=False),
                "the large append never waited at the gate",
            )
            assert single.append(_events(100, 1)[0]) == 0  # the small append went first
            assert single.append_many(_events(200, SMALL_APPEND_ROWS)) == list(
                range(1, 1 + SMALL_APPEND_ROWS)
            )
            assert large.thread.is_alive(), "the large append did not wait at the gate"
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s::integer, %s::integer)", gate)
        assert large.join()[0] == 1 + SMALL_APPEND_ROWS
        assert batcher.size() == 1 + SMALL_APPEND_ROWS + LARGE


@pytest.mark.postgres
def test_postgres_writer_killed_holding_the_gate_blocks_nobody(pg: tuple[str, Any]) -> None:
    url, conn = pg
    lock_id = _pg_lock_id(url)
    gate = batch_gate_key(lock_id)
    conn.execute("SELECT pg_advisory_lock(%s)", (lock_id,))  # the child waits here
    child = _start_child(url)
    try:
        held = (_unsigned(gate[0]), _unsigned(gate[1]))
        _wait(
            lambda: held in _advisory(conn, pair=True, granted=True),
            "the child never took the gate",
        )
        # The gate is a lock of the two-key space; the writers' lock the child waits
        # for (once its yield to the lock's holder, this test, is over), and the
        # schema lock, are single 64-bit keys: they can never meet.
        _wait(
            lambda: (
                (_unsigned(lock_id >> 32), _unsigned(lock_id))
                in _advisory(conn, pair=False, granted=False)
            ),
            "the child never waited for the writers' lock",
        )
        assert (_unsigned(SCHEMA_LOCK >> 32), _unsigned(SCHEMA_LOCK)) != held
        child.kill()
        assert child.wait(PATIENCE) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(PATIENCE)
        assert child.stdout is not None
        child.stdout.close()
        # The dead client's server process still waits for the writers' lock (the
        # server notices the closed connection at its next reply). The child had sent
        # its whole transaction (the call, COMMIT, the flush wait: one pipeline), so
        # once that process has the lock it appends the child's batch whole, commits,
        # fails to answer and ends, letting go of both locks: as with any commit whose
        # answer is lost, the batch is in the log although its caller never heard so.
        conn.execute("SELECT pg_advisory_unlock(%s)", (lock_id,))
    with AuditLog(url, origin=ORIGIN, pseudonym_key=PSEUDONYM_KEY) as log:
        started = time.monotonic()
        assert log.append_many(_events(0, LARGE))[0] == LARGE  # after the child's, whole
        assert time.monotonic() - started < PATIENCE / 2
        assert log.size() == 2 * LARGE
    assert held not in _advisory(conn, pair=True, granted=True)


@pytest.mark.postgres
def test_postgres_append_reads_once_under_the_lock_even_when_it_finishes_tiles(
    pg: tuple[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the client path (a role that may not create the server-side function), the
    head query brings the older nodes of the tiles an append completes: no second
    read while the lock is held, and the tiles written are still right."""
    url, _ = pg
    reads: list[str] = []
    real_fetch = Tx.fetch

    def fetch(self: Tx, statement: str, params: Any = ()) -> list[tuple[Any, ...]]:
        reads.append(statement)
        return real_fetch(self, statement, params)

    monkeypatch.setattr(Tx, "fetch", fetch)
    signer = NoteSigner.generate(ORIGIN)
    sizes = [1, 5, 63, 64, 65, 130, 700, 1, 3, 2000, 1, 64, 1000, 37]  # tiles of bands 0 and 1
    with AuditLog(url, origin=ORIGIN, signer=signer, pseudonym_key=PSEUDONYM_KEY) as log:
        log.store._server_appends = False  # type: ignore[attr-defined]
        appended = 0
        for size in sizes:
            reads.clear()
            assert log.append_many(_events(appended, size))[0] == appended
            assert len(reads) == 1, (size, appended)  # the head query only
            appended += size
        tiles = log.store._db.read("SELECT count(*) FROM audit_tiles")[0][0]  # type: ignore[attr-defined]
        assert tiles == appended // 64 + appended // 4096
        log.checkpoint()
        assert verify_log(log, verifiers=[signer.verifier], deep=True).size == appended


def test_batch_gate_key_is_a_pair_of_32_bit_halves_one_per_lock() -> None:
    keys = [0, 1, -1, 2**31 - 1, -(2**31), 2**32, 2**40 + 7, 2**63 - 1, -(2**63)]
    gates = [batch_gate_key(k) for k in keys]
    assert len(set(gates)) == len(keys)  # one gate per writers' lock
    for key, (high, low) in zip(keys, gates, strict=True):
        assert -(2**31) <= high < 2**31
        assert -(2**31) <= low < 2**31
        assert (high << 32) | (low & 0xFFFF_FFFF) == key
