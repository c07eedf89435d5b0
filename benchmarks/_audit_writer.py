"""One writer process of the concurrent-writers audit benchmark (run by ``benchmarks.audit``).

``python -m benchmarks._audit_writer SPEC_JSON``: opens the store ``spec["url"]`` (an
:class:`~govkit.audit.AuditLog`, or with ``spec["plain"]`` the plain reference table),
prints ``ready``, waits for the file ``spec["go"]``, then appends for
``spec["seconds"]``: one event per call when ``spec["batch"]`` is 1, else batches of
that many events (``append_many``). It prints one JSON line: the events and calls
completed, the latency of every call in seconds, and the store's durability settings
as the store's own connection sees them.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from govkit.audit import AuditLog, EntryRow, PostgresStore, SQLiteStore


def _settings(log: AuditLog) -> dict[str, str]:
    store = log.store
    if isinstance(store, PostgresStore):
        names = ("fsync", "synchronous_commit", "full_page_writes", "wal_sync_method")
        return {n: str(store._db.read(f"SHOW {n}")[0][0]) for n in names}
    if isinstance(store, SQLiteStore):
        return {
            n: str(store._db.read(f"PRAGMA {n}")[0][0]) for n in ("journal_mode", "synchronous")
        }
    return {}


def _count_wal_syncs() -> list[int]:
    """Count this process's fdatasync calls on a ``-wal`` file from now on."""
    synced: list[int] = []
    real = os.fdatasync

    def counting(fd: int) -> None:
        real(fd)
        if os.readlink(f"/proc/self/fd/{fd}").endswith("-wal"):
            synced.append(fd)

    os.fdatasync = counting
    return synced


def _plain_appender(url: str) -> tuple[Callable[[Sequence[EntryRow]], None], dict[str, str]]:
    """Plain INSERTs into ``plain_entries``: the next indexes under the same write lock."""
    from benchmarks.audit import PLAIN_INSERT_COLUMNS  # noqa: PLC0415

    if url.startswith("postgresql://"):
        import psycopg  # noqa: PLC0415

        conn = psycopg.connect(url, autocommit=False)
        insert = (
            f"INSERT INTO plain_entries ({PLAIN_INSERT_COLUMNS}) VALUES ({', '.join(['%s'] * 11)})"
        )
        names = ("fsync", "synchronous_commit", "full_page_writes", "wal_sync_method")
        with conn.transaction():
            settings = {n: str(conn.execute(f"SHOW {n}").fetchone()[0]) for n in names}  # type: ignore[index]

        def pg_append(rows: Sequence[EntryRow]) -> None:
            with conn.transaction(), conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(42)")
                cur.execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM plain_entries")
                first = cur.fetchone()[0]  # type: ignore[index]
                cur.executemany(insert, _values(first, rows))

        return pg_append, settings

    db = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None, timeout=60)
    db.execute("PRAGMA synchronous=FULL")
    insert = f"INSERT INTO plain_entries ({PLAIN_INSERT_COLUMNS}) VALUES ({', '.join('?' * 11)})"
    settings = {
        n: str(db.execute(f"PRAGMA {n}").fetchone()[0]) for n in ("journal_mode", "synchronous")
    }

    def sqlite_append(rows: Sequence[EntryRow]) -> None:
        db.execute("BEGIN IMMEDIATE")
        try:
            first = db.execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM plain_entries").fetchone()[0]
            db.executemany(insert, _values(first, rows))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    return sqlite_append, settings


def _values(first: int, rows: Sequence[EntryRow]) -> list[tuple[Any, ...]]:
    return [
        (
            first + i,
            r.leaf_hash,
            r.entry,
            r.time_us,
            r.actor_id,
            r.actor_type,
            r.action,
            r.resource_type,
            r.resource_id,
            r.correlation_id,
            r.outcome,
        )
        for i, r in enumerate(rows)
    ]


def main(spec: Mapping[str, Any]) -> dict[str, Any]:
    from benchmarks.audit import ORIGIN, PSEUDONYM_KEY, make_events  # noqa: PLC0415

    batch, seconds, worker = int(spec["batch"]), float(spec["seconds"]), int(spec["worker"])
    go = Path(spec["go"])
    events = make_events(worker * 1_000_000, 2000 if batch == 1 else 20 * batch)
    log = AuditLog(spec["url"], origin=ORIGIN, pseudonym_key=PSEUDONYM_KEY)
    if spec.get("plain"):
        personal: dict[str, str] = {}
        rows = [log._row(e, personal) for e in events]  # encoded and hashed as govkit does
        log.close()
        plain, settings = _plain_appender(spec["url"])

        def single(n: int) -> None:
            plain([rows[n % len(rows)]])

        def many(n: int) -> None:
            start = (n * batch) % len(rows)
            plain(rows[start : start + batch])
    else:
        settings = _settings(log)

        def single(n: int) -> None:
            log.append(events[n % len(events)])

        def many(n: int) -> None:
            start = (n * batch) % len(events)
            log.append_many(events[start : start + batch])

    call = single if batch == 1 else many
    wal_syncs = _count_wal_syncs() if not spec.get("plain") else None
    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.001)
    latencies: list[float] = []
    cpu = time.process_time()
    start = time.perf_counter()
    deadline = start + seconds
    n = 0
    while True:
        t0 = time.perf_counter()
        if t0 >= deadline:
            break
        call(n)
        t1 = time.perf_counter()
        if t1 > deadline:  # finished after the window: not counted
            break
        latencies.append(t1 - t0)
        n += 1
    cpu = time.process_time() - cpu
    if wal_syncs is not None and isinstance(log.store, SQLiteStore):
        # The append commits skip SQLite's fsync; govkit fdatasyncs the WAL after the
        # writers' lock is released, before append returns: show that it did, per call.
        settings["wal_fdatasyncs_per_append"] = f"{len(wal_syncs) / max(1, n):.2f}"
    if not spec.get("plain"):
        log.close()
    return {
        "worker": worker,
        "batch": batch,
        "calls": len(latencies),
        "events": len(latencies) * batch,
        "latencies": latencies,
        "cpu_seconds": cpu,
        "settings": settings,
    }


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))), flush=True)
