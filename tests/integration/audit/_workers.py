"""Child processes for the concurrency and crash tests (run as scripts, never imported by them).

``python _workers.py append SPEC_JSON``
    Open an :class:`~govkit.audit.AuditLog` on ``spec["url"]``, print ``ready``, wait for
    the file ``spec["go"]`` to appear (so every writer starts at once), append
    ``spec["count"]`` events tagged ``correlation_id = "w<worker>-<n>"`` as a shuffled
    mix of single appends and small ``append_many`` batches, then print one JSON line:
    ``{"worker": k, "indexes": [...], "singles": s, "batches": b}``.

``python _workers.py threads SPEC_JSON``
    Open one :class:`~govkit.audit.AuditLog` on ``spec["url"]`` and start
    ``spec["threads"]`` threads that share it, each appending ``spec["count"]`` events
    one call at a time (``correlation_id = "t<thread>-<n>"``; every fourth call an
    ``append_many`` of three). As soon as a call returns, one JSON line
    ``{"c": [correlation ids], "i": [indexes]}`` is printed and flushed: the parent
    may SIGKILL this process at any moment and then knows every append that had
    returned. Prints ``ready`` first and waits for ``spec["go"]``.

``python _workers.py crash SPEC_JSON``
    Build ``spec["count"]`` events, touch ``<markers>/started`` just before one
    ``append_many`` call holding all of them, ``<markers>/writing`` when the store's
    ``append`` (the database transaction) begins, and ``<markers>/done`` after the call
    returns. The parent kills this process with SIGKILL somewhere in between.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from govkit.audit import AuditEvent, AuditLog, EntryRow, PostgresStore, SQLiteStore

ORIGIN = "example.gov/audit-test"
PSEUDONYM_KEY = b"integration-test-pseudonym-key!!"
T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def event(worker: int, n: int, *, personal: bool = True) -> AuditEvent:
    """The ``n``-th event of ``worker``; its correlation id names both.

    With ``personal=False`` nothing is marked personal (no pseudonyms to compute).
    """
    return AuditEvent(
        occurred_at=T0 + timedelta(seconds=worker, microseconds=n),
        actor_id=f"officer-{worker}",
        actor_type="officer",
        action="licence.issue",
        resource_type="driving_licence",
        resource_id=f"GD-{worker}-{n}",
        correlation_id=f"w{worker}-{n}",
        details={"n": n},
        personal=frozenset({"actor_id"}) if personal else frozenset(),
    )


def plan(count: int, single_share: float, rng: random.Random) -> list[int]:
    """Batch sizes summing to ``count``: ``single_share`` of the events go one by one."""
    singles = round(count * single_share)
    sizes = [1] * singles
    left = count - singles
    while left:
        size = min(left, rng.randint(2, 25))
        sizes.append(size)
        left -= size
    rng.shuffle(sizes)
    return sizes


def append(spec: Mapping[str, Any]) -> None:
    worker, count = int(spec["worker"]), int(spec["count"])
    sizes = plan(count, float(spec["single_share"]), random.Random(worker))
    go = Path(spec["go"])
    with AuditLog(spec["url"], origin=ORIGIN, pseudonym_key=PSEUDONYM_KEY) as log:
        print("ready", flush=True)
        while not go.exists():
            time.sleep(0.002)
        indexes: list[int] = []
        n = 0
        for size in sizes:
            events = [event(worker, n + i) for i in range(size)]
            if size == 1:
                indexes.append(log.append(events[0]))
            else:
                indexes.extend(log.append_many(events))
            n += size
    result = {
        "worker": worker,
        "indexes": indexes,
        "singles": sizes.count(1),
        "batches": len(sizes) - sizes.count(1),
    }
    print(json.dumps(result), flush=True)


class _MarksWriting:
    """Touches ``markers/writing`` as the store's append (the transaction) begins."""

    markers: Path

    def append(self, rows: Sequence[EntryRow], personal: Mapping[str, str]) -> int:
        (self.markers / "writing").touch()
        return int(super().append(rows, personal))  # type: ignore[misc]


class MarkingSQLiteStore(_MarksWriting, SQLiteStore):
    """A :class:`SQLiteStore` that marks the start of each append."""


class MarkingPostgresStore(_MarksWriting, PostgresStore):
    """A :class:`PostgresStore` that marks the start of each append."""


def _marking(url: str, markers: Path) -> SQLiteStore | PostgresStore:
    store: MarkingSQLiteStore | MarkingPostgresStore
    if url.startswith("postgresql://"):
        store = MarkingPostgresStore(url)
    else:
        store = MarkingSQLiteStore(url.removeprefix("sqlite:///"))
    store.markers = markers
    return store


def crash(spec: Mapping[str, Any]) -> None:
    markers = Path(spec["markers"])
    store = _marking(spec["url"], markers)
    log = AuditLog(store, origin=ORIGIN, pseudonym_key=PSEUDONYM_KEY)
    batch = int(spec["batch"])
    events = [event(batch, n, personal=False) for n in range(int(spec["count"]))]
    (markers / "started").touch()
    log.append_many(events)
    (markers / "done").touch()
    log.close()


def _tagged(thread: int, n: int) -> AuditEvent:
    return AuditEvent(
        occurred_at=T0 + timedelta(seconds=thread, microseconds=n),
        actor_id=f"officer-{thread}",
        actor_type="officer",
        action="licence.issue",
        resource_type="driving_licence",
        resource_id=f"GD-{thread}-{n}",
        correlation_id=f"t{thread}-{n}",
        personal=frozenset({"actor_id"}),
    )


def threads(spec: Mapping[str, Any]) -> None:
    count, go = int(spec["count"]), Path(spec["go"])
    printing = threading.Lock()
    log = AuditLog(spec["url"], origin=ORIGIN, pseudonym_key=PSEUDONYM_KEY)
    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.002)

    def run(thread: int) -> None:
        n = 0
        while n < count:
            if n % 4 == 3:
                events = [_tagged(thread, n + k) for k in range(3)]
                indexes = log.append_many(events)
            else:
                events = [_tagged(thread, n)]
                indexes = [log.append(events[0])]
            n += len(events)
            line = json.dumps({"c": [e.correlation_id for e in events], "i": indexes})
            with printing:
                sys.stdout.write(line + "\n")
                sys.stdout.flush()

    workers = [threading.Thread(target=run, args=(t,)) for t in range(int(spec["threads"]))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    log.close()


def main(argv: Sequence[str]) -> int:
    command, spec = argv[0], json.loads(argv[1])
    {"append": append, "crash": crash, "threads": threads}[command](spec)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
