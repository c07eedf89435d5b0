"""Group commit: appends from many threads of one process share a transaction, never an index.

A store keeps one queue per process (per store object): a thread that finds a commit
under way queues its append; the next leader commits everything queued in one
transaction and wakes each caller with its own first index once it is durable.
These tests pin what that must never cost:

* appends that queued while a commit ran go into one transaction, and each call
  still gets the indexes of exactly its own events;
* a group commit that fails fails every append in it, and writes none of them;
* a process killed with SIGKILL while its threads append leaves every append that
  had returned in the log exactly once, at the index it returned, and the tree
  verifies (on SQLite and PostgreSQL);
* on SQLite a writer waits for the writers' file lock in the kernel, and one held
  longer than ``busy_timeout`` raises ``audit.store_locked``.
"""

from __future__ import annotations

import fcntl
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from govkit.audit import AuditEvent, AuditLog, NoteSigner, PostgresStore, SQLiteStore, verify_log
from govkit.audit._store import _Pending
from govkit.errors import AuditStoreError, AuditStoreLocked

WORKER_SCRIPT = Path(__file__).with_name("_workers.py")
ROOT = Path(__file__).resolve().parents[3]
ORIGIN = "example.gov/audit-test"
PSEUDONYM_KEY = b"integration-test-pseudonym-key!!"
T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
QUEUED = 12  # appends that queue up behind a held commit


def _event(n: int) -> AuditEvent:
    return AuditEvent(
        occurred_at=T0 + timedelta(microseconds=n),
        actor_id=f"officer-{n % 5}",
        actor_type="officer",
        action="licence.issue",
        resource_type="driving_licence",
        resource_id=f"GD-{n}",
        correlation_id=f"e{n}",
        personal=frozenset({"actor_id"}),
    )


class _Held:
    """Mixed into a store: its first group commit waits until ``QUEUED`` appends queued.

    Records the size (number of appends) of every group it commits. With ``fail_group``
    set, that group's transaction fails after its entries were inserted.
    """

    groups: list[int]
    fail_group: int | None = None

    def _locked_append(self, groups: Sequence[_Pending]) -> list[int]:
        self.groups.append(len(groups))
        if len(self.groups) == 1:
            deadline = time.monotonic() + 60
            while len(self._queue._queue) < QUEUED:  # type: ignore[attr-defined]
                assert time.monotonic() < deadline, "the other appends never queued"
                time.sleep(0.005)
        return list(super()._locked_append(groups))  # type: ignore[misc]

    def _append_statements(self, *args: Any) -> list[Any]:
        statements = list(super()._append_statements(*args))  # type: ignore[misc]
        if self.fail_group == len(self.groups):
            statements.append(("INSERT INTO no_such_table VALUES (?)", [(1,)]))
        return statements


class HeldSQLiteStore(_Held, SQLiteStore):
    """A :class:`SQLiteStore` whose first commit is held (see :class:`_Held`)."""


class HeldPostgresStore(_Held, PostgresStore):
    """A :class:`PostgresStore` whose first commit is held (see :class:`_Held`)."""


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'audit.db'}"
    return str(request.getfixturevalue("pg_store_url"))


def _held_store(url: str) -> HeldSQLiteStore | HeldPostgresStore:
    store: HeldSQLiteStore | HeldPostgresStore
    if url.startswith("postgresql://"):
        store = HeldPostgresStore(url)
    else:
        store = HeldSQLiteStore(url.removeprefix("sqlite:///"))
    store.groups = []
    return store


def _in_threads(count: int, call: Callable[[int], Any]) -> list[Any]:
    """Run ``call(n)`` for n in range(count) in that many threads; results or exceptions."""
    results: list[Any] = [None] * count

    def run(n: int) -> None:
        try:
            results[n] = call(n)
        except Exception as exc:  # the test inspects it
            results[n] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def test_appends_queued_behind_a_commit_share_one_transaction_and_keep_their_own_indexes(
    url: str,
) -> None:
    store = _held_store(url)
    signer = NoteSigner.generate(ORIGIN)
    with AuditLog(store, origin=ORIGIN, signer=signer, pseudonym_key=PSEUDONYM_KEY) as log:

        def append(n: int) -> list[int]:
            if n == 0:
                return [log.append(_event(0))]
            time.sleep(0.05)  # after the first append took the lead
            events = [_event(n * 10 + k) for k in range(n % 3 + 1)]  # 1 to 3 events
            return log.append_many(events) if len(events) > 1 else [log.append(events[0])]

        results = _in_threads(QUEUED + 1, append)
        assert not [r for r in results if isinstance(r, BaseException)], results
        # The held first commit, then everything that queued behind it: one transaction.
        assert store.groups == [1, QUEUED]
        size = log.size()
        assert size == 1 + sum(n % 3 + 1 for n in range(1, QUEUED + 1))
        assert sorted(i for r in results for i in r) == list(range(size))
        for n, indexes in enumerate(results):
            want = ["e0"] if n == 0 else [f"e{n * 10 + k}" for k in range(n % 3 + 1)]
            assert [log.entry(i).event.correlation_id for i in indexes] == want
        for n in range(3):  # every thread's clear value reached the side table
            assert log.reveal(log.pseudonym(f"officer-{n}")) == f"officer-{n}"
        log.checkpoint()
        assert verify_log(log, verifiers=[signer.verifier], deep=True).size == size


def test_a_failed_group_commit_fails_every_append_in_it_and_writes_none(tmp_path: Path) -> None:
    store = _held_store(f"sqlite:///{tmp_path / 'audit.db'}")
    store.fail_group = 2
    signer = NoteSigner.generate(ORIGIN)
    with AuditLog(store, origin=ORIGIN, signer=signer, pseudonym_key=PSEUDONYM_KEY) as log:

        def append(n: int) -> int:
            if n:
                time.sleep(0.05)
            return log.append(_event(n))

        results = _in_threads(QUEUED + 1, append)
        assert results[0] == 0
        failed = results[1:]
        assert all(isinstance(r, AuditStoreError) for r in failed), failed
        assert {r.code for r in failed} == {"audit.store"}
        assert store.groups == [1, QUEUED]
        assert log.size() == 1  # none of the failed group's rows
        assert log.query(correlation_id="e1") == []
        store.fail_group = None
        assert log.append(_event(99)) == 1
        log.checkpoint()
        assert verify_log(log, verifiers=[signer.verifier], deep=True).size == 2


def _kill_while_appending(url: str, folder: Path, run: int, delay: float) -> list[dict[str, Any]]:
    """A child appends from 8 threads; SIGKILL it ``delay`` s after its 20th returned append."""
    go = folder / f"go-{run}"
    spec = {"url": url, "threads": 8, "count": 1_000_000, "go": str(go)}
    out = (folder / f"child-{run}.out").open("w+")
    err = (folder / f"child-{run}.err").open("w")
    proc = subprocess.Popen(
        [sys.executable, str(WORKER_SCRIPT), "threads", json.dumps(spec)],
        stdout=out,
        stderr=err,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 120
        while not (folder / f"child-{run}.out").read_text().startswith("ready\n"):
            assert proc.poll() is None, (folder / f"child-{run}.err").read_text()
            assert time.monotonic() < deadline
            time.sleep(0.01)
        go.touch()
        while (folder / f"child-{run}.out").read_text().count("\n") < 21:
            assert proc.poll() is None, (folder / f"child-{run}.err").read_text()
            assert time.monotonic() < deadline
            time.sleep(0.005)
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(60) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
        out.close()
        err.close()
    text = (folder / f"child-{run}.out").read_text()
    lines = text.split("\n")[1:-1]  # after "ready"; the last piece may be a torn line
    return [json.loads(line) for line in lines]


def test_sigkill_while_threads_append_keeps_every_returned_append_exactly_once(
    url: str, tmp_path: Path
) -> None:
    signer = NoteSigner.generate(ORIGIN)
    rng = random.Random(18)
    returned: dict[str, int] = {}
    for run in range(3):
        for line in _kill_while_appending(url, tmp_path, run, rng.uniform(0.05, 1.0)):
            for correlation_id, index in zip(line["c"], line["i"], strict=True):
                returned[f"{run}/{correlation_id}"] = index
        with AuditLog(url, origin=ORIGIN, signer=signer, pseudonym_key=PSEUDONYM_KEY) as log:
            size = log.size()
            entries = log.store.entries(0, size)
            assert [e.index for e in entries] == list(range(size)), "indexes are not dense"
            # Each child run restarts its correlation ids: tell the runs apart by index.
            seen = Counter(e.row.correlation_id for e in entries[_run_start(returned, run) :])
            assert max(seen.values()) == 1, "an event was logged twice"
            for key, index in returned.items():
                if key.startswith(f"{run}/"):
                    assert entries[index].row.correlation_id == key.split("/", 1)[1]
            log.checkpoint()
            result = verify_log(log, verifiers=[signer.verifier], deep=True)
            assert result.size == size
            # The killed writer left no lock behind: the next append goes straight in.
            assert log.append(_event(run)) == size
    assert len(returned) >= 3 * 20


def _run_start(returned: dict[str, int], run: int) -> int:
    """The smallest index returned to child ``run`` (its entries all come after it)."""
    return min(i for key, i in returned.items() if key.startswith(f"{run}/"))


@pytest.fixture
def held_writer_lock(tmp_path: Path) -> Iterator[Path]:
    """A SQLite log whose writers' file lock another process (here: this test) holds."""
    path = tmp_path / "audit.db"
    AuditLog(path, origin=ORIGIN).close()
    fd = os.open(f"{path}-lock", os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield path
    finally:
        os.close(fd)


def test_sqlite_writer_lock_held_past_busy_timeout_raises_store_locked(
    held_writer_lock: Path,
) -> None:
    store = SQLiteStore(held_writer_lock, busy_timeout=0.3)
    with AuditLog(store, origin=ORIGIN, pseudonym_key=PSEUDONYM_KEY) as log:
        started = time.monotonic()
        with pytest.raises(AuditStoreLocked) as raised:
            log.append(_event(1))
        assert raised.value.code == "audit.store_locked"
        assert 0.25 <= time.monotonic() - started < 10
        assert log.size() == 0


def test_sqlite_writer_waiting_for_the_lock_goes_in_as_soon_as_it_is_released(
    tmp_path: Path,
) -> None:
    path = tmp_path / "audit.db"
    with AuditLog(path, origin=ORIGIN, pseudonym_key=PSEUDONYM_KEY) as log:
        assert log.append(_event(0)) == 0
        fd = os.open(f"{path}-lock", os.O_RDWR)
        fcntl.flock(fd, fcntl.LOCK_EX)
        released = threading.Timer(0.5, os.close, (fd,))
        released.start()
        started = time.monotonic()
        assert log.append(_event(1)) == 1
        waited = time.monotonic() - started
        released.join()
        # It waited for the lock (nothing else held it up) and went in once released.
        assert 0.45 <= waited < 1.0, waited
        assert log.append(_event(2)) == 2


def _waiter_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "govkit-audit-writer-lock"]


def _hold_then_release(path: Path, seconds: float) -> threading.Timer:
    fd = os.open(f"{path}-lock", os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    timer = threading.Timer(seconds, os.close, (fd,))
    timer.start()
    return timer


def test_sqlite_contended_waits_share_one_waiter_thread_that_ends_on_close(
    tmp_path: Path,
) -> None:
    """Each contended wait is served by one long-lived thread per lock (starting a thread
    per wait cost more CPU than the append); closing the store ends it."""
    path = tmp_path / "audit.db"
    before = set(_waiter_threads())  # other stores' (ending) threads
    with AuditLog(path, origin=ORIGIN, pseudonym_key=PSEUDONYM_KEY) as log:
        log.append(_event(0))
        seen: set[threading.Thread] = set()  # the objects: an ident may be reused
        for n in range(1, 4):
            timer = _hold_then_release(path, 0.1)
            assert log.append(_event(n)) == n  # waited, then went in
            timer.join()
            seen.update(t for t in _waiter_threads() if t not in before)
        assert len(seen) == 1  # one thread served all three waits
    deadline = time.monotonic() + 5
    while any(t.is_alive() for t in seen) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not any(t.is_alive() for t in seen)  # it ended with the store


def test_sqlite_wait_abandoned_at_busy_timeout_lets_the_next_writer_in(tmp_path: Path) -> None:
    """A wait that gave up (audit.store_locked) must not keep the lock once the waiter
    thread gets it: it is released at once, and the next append of the same store
    waits for it normally."""
    path = tmp_path / "audit.db"
    store = SQLiteStore(path, busy_timeout=0.2)
    with AuditLog(store, origin=ORIGIN, pseudonym_key=PSEUDONYM_KEY) as log:
        timer = _hold_then_release(path, 0.5)
        with pytest.raises(AuditStoreLocked):
            log.append(_event(0))  # gives up after 0.2 s; the holder lets go at 0.5 s
        timer.join()
        time.sleep(0.1)  # the waiter thread took the lock at 0.5 s and gave it back
        probe = os.open(f"{path}-lock", os.O_RDWR)
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free: nobody kept it
        finally:
            os.close(probe)
        assert log.append(_event(1)) == 0
        assert log.size() == 1


def test_sqlite_forked_child_waits_with_its_own_waiter_thread(tmp_path: Path) -> None:
    """A child forked after the parent's waiter thread started has no such thread (fork
    copies one thread): its contended appends must start their own, not hang."""
    path = tmp_path / "audit.db"
    with AuditLog(path, origin=ORIGIN, pseudonym_key=PSEUDONYM_KEY) as log:
        log.append(_event(0))
        timer = _hold_then_release(path, 0.1)
        log.append(_event(1))  # starts the parent's waiter thread
        timer.join()
        pid = os.fork()
        if pid == 0:  # the child: exit code 0 only if its contended append went in
            code = 1
            try:
                fd = os.open(f"{path}-lock", os.O_RDWR)
                fcntl.flock(fd, fcntl.LOCK_EX)
                threading.Timer(0.2, os.close, (fd,)).start()
                code = 0 if log.append(_event(2)) == 2 else 3
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert log.size() == 3
