"""Retention: bytes the state stores take per million requests, before and after ``purge``.

Writes 100,000 entries of each kind (10,000 with ``--quick``) to SQLite and to
PostgreSQL through the stores' own statements, and scales the sizes to one million
(x10; x100 quick):

* **replay** (``SQLiteReplayStore``/``PostgresReplayStore``): DPoP proof keys as
  ``DPoPVerifier`` writes them, ``dpop:<43-character JWK thumbprint>:<22-character
  jti>``, each living 5 minutes;
* **revocation**: revoked ``jti`` values (22 characters), each until its token's
  expiry (15 minutes);
* **inbox** (``PaymentInbox``): verified Stripe deliveries (signed with
  ``govkit.testing.payments.stripe_callback``, verified by the ``Stripe`` adapter, and
  stored with the inbox's own insert: the delivery with its body and headers, the
  event with its JSON), each event processed; purged with a 30-day body retention
  after 31 days, so every body is replaced by its SHA-256.

At the purge every replay and revocation entry has expired (a day later), except the
last 1 %, which are still live. "before" is the size with every entry; "after" is the
size after ``purge`` and a compaction (SQLite ``VACUUM``; PostgreSQL ``VACUUM FULL``):
the space a store needs in a steady state. Without a compaction the files keep their
size and the database reuses the freed pages for new entries. Sizes are SQLite file
bytes (WAL checkpointed) and PostgreSQL ``pg_total_relation_size`` of the component's
tables (heap, indexes, TOAST).

Each row: ``govkit ops/s`` = entries purged per second, ``reference ops/s`` = entries
written per second (in batches of 5,000 per transaction), ``ratio`` = size before /
size after; the note gives bytes per million entries before and after.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks._harness import Comparison
from benchmarks._pg import PostgresUnavailable, throwaway_cluster
from govkit.payments import PaymentInbox, Stripe
from govkit.payments import _inbox_store as inbox_sql
from govkit.stores import (
    PostgresReplayStore,
    PostgresRevocationStore,
    SQLiteReplayStore,
    SQLiteRevocationStore,
)
from govkit.stores._base import to_us
from govkit.testing.payments import stripe_callback

NOTES = (
    "Sizes per 1,000,000 entries, scaled from 100,000 written (10,000 with --quick).\n"
    "govkit ops/s = entries purged per second; reference ops/s = entries written per\n"
    "second; ratio = size before purge / size after purge and compaction.\n"
)

T0 = datetime(2026, 7, 1, 0, 0, tzinfo=UTC)
BATCH = 5000
SECRET = "whsec_retention_bench"  # noqa: S105 - a test secret
#: The tables of each kind, for PostgreSQL's sizes.
TABLES = {
    "replay": ("replay_entries",),
    "revocation": ("revoked_tokens", "revoked_subjects"),
    "inbox": ("payment_deliveries", "payment_events", "payment_orders", "payment_quarantine"),
}


def _replay_rows(n: int) -> list[tuple[str, datetime, datetime]]:
    jkt = secrets.token_urlsafe(32)  # one client key per 100 proofs, as busy clients do
    rows = []
    for i in range(n):
        if i % 100 == 0:
            jkt = secrets.token_urlsafe(32)
        at = T0 + timedelta(seconds=86_400 * i / n)
        rows.append((f"dpop:{jkt}:{secrets.token_urlsafe(16)}", at, at + timedelta(minutes=5)))
    return rows


def _write_replay(store: Any, n: int) -> float:
    rows = _replay_rows(n)
    start = time.perf_counter()
    db = store._db
    statement = store._replay_sql[0]
    for first in range(0, n, BATCH):
        with db.transaction() as tx:
            for key, at, expires in rows[first : first + BATCH]:
                tx.run(statement, (key, to_us(expires, "e"), to_us(at, "n")))
    return time.perf_counter() - start


def _write_revocations(store: Any, n: int) -> float:
    start = time.perf_counter()
    db = store._db
    statement = store._statements.revoke_token
    for first in range(0, n, BATCH):
        with db.transaction() as tx:
            for i in range(first, min(n, first + BATCH)):
                at = T0 + timedelta(seconds=86_400 * i / n)
                expires = to_us(at + timedelta(minutes=15), "e")
                tx.run(statement, (secrets.token_urlsafe(16), expires))
    return time.perf_counter() - start


def _write_inbox(inbox: PaymentInbox, n: int) -> float:
    stripe = Stripe([SECRET])
    start = time.perf_counter()
    db = inbox._db
    for first in range(0, n, BATCH):
        with db.transaction() as tx:
            for i in range(first, min(n, first + BATCH)):
                at = T0 + timedelta(seconds=86_400 * i / n)
                headers, body = stripe_callback(
                    SECRET, order_id=f"GOV-{i:08d}", amount=5000 + i % 997, at=at
                )
                event = stripe.parse(headers, body, at=at)
                inbox_sql.insert_event_delivery(
                    tx,
                    event,
                    digest=inbox_sql.content_digest(event),
                    state="processed",
                    needs_handler=False,
                    now=to_us(at, "at"),
                    source="203.0.113.10",
                    headers=json.dumps(dict(headers), ensure_ascii=False, sort_keys=True),
                    body=body,
                )
    return time.perf_counter() - start


def _sqlite_size(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def _sqlite_compact(path: Path) -> int:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("VACUUM")
    finally:
        conn.close()
    return _sqlite_size(path)


def _pg_size(url: str, kind: str) -> int:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(url, autocommit=True) as conn:
        total = 0
        for table in TABLES[kind]:
            row = conn.execute("SELECT pg_total_relation_size(%s)", (table,)).fetchone()
            total += int(row[0]) if row and row[0] is not None else 0
        return total


def _pg_compact(url: str, kind: str) -> int:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(url, autocommit=True) as conn:
        for table in TABLES[kind]:
            conn.execute(f"VACUUM FULL {table}")  # names of this module
    return _pg_size(url, kind)


def _measure(
    engine: str,
    kind: str,
    n: int,
    *,
    open_store: Callable[[], Any],
    size: Callable[[], int],
    compact: Callable[[], int],
) -> dict[str, Any]:
    store = open_store()
    try:
        if kind == "replay":
            wrote = _write_replay(store, n)
            purge_at = T0 + timedelta(days=1, minutes=5) - timedelta(seconds=864)  # 1 % live
        elif kind == "revocation":
            wrote = _write_revocations(store, n)
            purge_at = T0 + timedelta(days=1, minutes=15) - timedelta(seconds=864)
        else:
            wrote = _write_inbox(store, n)
            purge_at = T0 + timedelta(days=31)
        before = size()
        start = time.perf_counter()
        purged = store.purge(now=purge_at)
        took = time.perf_counter() - start
    finally:
        store.close()
    in_place = size()
    after = compact()
    scale = 1_000_000 / n
    return {
        "engine": engine,
        "kind": kind,
        "entries": n,
        "purged": purged,
        "before_per_million": round(before * scale),
        "after_in_place_per_million": round(in_place * scale),
        "after_per_million": round(after * scale),
        "write_per_second": n / wrote,
        "purge_per_second": purged / took if took > 0 else 0.0,
    }


def _comparison(m: dict[str, Any]) -> Comparison:
    mb = 1024 * 1024
    return Comparison(
        label=f"{m['engine']}: {m['kind']}, bytes per 1 M entries",
        govkit_ops=m["purge_per_second"],
        reference_ops=m["write_per_second"],
        ratio=m["before_per_million"] / max(1, m["after_per_million"]),
        number=m["entries"],
        rounds=1,
        note=(
            f"before purge {m['before_per_million'] / mb:,.1f} MiB; after purge "
            f"{m['after_in_place_per_million'] / mb:,.1f} MiB in place, "
            f"{m['after_per_million'] / mb:,.1f} MiB compacted; {m['purged']:,} of "
            f"{m['entries']:,} purged"
        ),
    )


def measurements(quick: bool) -> list[dict[str, Any]]:
    """Every measurement as a dict (``python -m benchmarks retention --json`` shows them)."""
    n = 10_000 if quick else 100_000
    found: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="govkit-retention-") as folder:
        base = Path(folder)
        openers: dict[str, Callable[[Path], Any]] = {
            "replay": lambda p: SQLiteReplayStore(p, durable=False),
            "revocation": lambda p: SQLiteRevocationStore(p, durable=False),
            "inbox": lambda p: PaymentInbox(p, orders=False, durable=False),
        }
        for kind, opener in openers.items():
            path = base / f"{kind}.db"

            def open_store(opener: Callable[[Path], Any] = opener, path: Path = path) -> Any:
                return opener(path)

            def size(path: Path = path) -> int:
                return _sqlite_size(path)

            def compact(path: Path = path) -> int:
                return _sqlite_compact(path)

            found.append(
                _measure("sqlite", kind, n, open_store=open_store, size=size, compact=compact)
            )
            print(f"retention: sqlite {kind} done", file=sys.stderr)
    try:
        with throwaway_cluster() as url:
            pg_openers: dict[str, Callable[[], Any]] = {
                "replay": lambda: PostgresReplayStore(url),
                "revocation": lambda: PostgresRevocationStore(url),
                "inbox": lambda: PaymentInbox(url, orders=False),
            }
            for kind, pg_opener in pg_openers.items():

                def pg_size(kind: str = kind) -> int:
                    return _pg_size(url, kind)

                def pg_compact(kind: str = kind) -> int:
                    return _pg_compact(url, kind)

                found.append(
                    _measure(
                        "postgresql",
                        kind,
                        n,
                        open_store=pg_opener,
                        size=pg_size,
                        compact=pg_compact,
                    )
                )
                print(f"retention: postgresql {kind} done", file=sys.stderr)
    except PostgresUnavailable as exc:
        print(f"PostgreSQL sizes left out: {exc}", file=sys.stderr)
    return found


def run(quick: bool) -> list[Comparison]:
    """Bytes per million entries of the replay, revocation and inbox stores."""
    return [_comparison(m) for m in measurements(quick)]
