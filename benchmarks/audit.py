"""Audit log: appends, proofs and verification, each beside a plain reference in the same run.

* **Appends** (SQLite and PostgreSQL): ``AuditLog.append_many`` in batches of 1,000
  and ``AuditLog.append`` one durable transaction at a time, beside plain ``INSERT``s
  of the very same rows (the bytes and columns govkit stored, read back once) into a
  plain table with the same columns and indexes: no index assignment under a lock,
  no Merkle nodes, no event encoding, no hashing. The ``store.append`` lines feed the
  store pre-built rows, so they show the database cost of the tree alone.
* **Inclusion proof** on a 1,000,000-entry SQLite log (100,000 with ``--quick``) built
  with ``append_many``: ``AuditLog.inclusion_proof`` beside the floor for the same
  proof, the primary-key lookups of the very nodes it needs on a second connection
  (no size read, no folding of border nodes).
* **Full verification**: ``verify_log`` of that log beside hashing alone: SHA-256 of
  every entry's bytes (already in memory) plus the n - 1 interior hashes.
* **Concurrent writers** (SQLite and PostgreSQL): 8 processes at once for 10 s, 4
  appending one event per ``append`` and 4 appending batches of 50 with
  ``append_many``, beside the same 8 processes doing plain INSERTs of the same rows
  (one transaction per call, the next indexes under the same write lock: ``BEGIN
  IMMEDIATE``, an advisory lock). Reported: events/s in total, each single-event
  writer's appends/s and its p99 latency (govkit's, and the plain reference's
  single writers beside them), and the durability settings the writers'
  own connections report (SQLite ``journal_mode``/``synchronous``, PostgreSQL
  ``fsync``/``synchronous_commit``/``full_page_writes``/``wal_sync_method``).
  Rounds alternate which side goes first, after a warm-up round of each side
  (:data:`WARMUP_SECONDS`, not counted: on a fresh cluster or database the first
  seconds of writing run slower for both sides, about 10 % on PostgreSQL here).
  Large logs (10 M entries): ``audit_scale``.

PostgreSQL runs in a throwaway cluster with default, durable settings (fsync on).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks._harness import Comparison, compare
from benchmarks._pg import PostgresUnavailable, throwaway_cluster
from govkit.audit import AuditEvent, AuditLog, EntryRow, NoteSigner, verify_log
from govkit.audit._tree import inclusion_ranges, nodes_for

#: Printed under the table.
NOTES = (
    "Appends: reference = plain INSERTs of the same rows (same columns and indexes) in\n"
    "the same transaction shape; ops are entries/s. Targets: append_many >= 0.25 x plain;\n"
    "single durable appends >= 1,000/s on SQLite (absolute, shown in the note).\n"
    "Proof: reference = the primary-key lookups of the nodes that proof needs, nothing\n"
    "else; target < 1 ms per proof (absolute). Verification: reference = SHA-256 of every\n"
    "leaf and interior node over entry bytes already in memory; target verify_log <= 2 x\n"
    "that time, i.e. ratio >= 0.50.\n"
    "Writers: reference = the same 8 processes doing plain INSERTs (one transaction per call);\n"
    "absolute targets: SQLite >= 5,000 and PostgreSQL >= 3,000 events/s in total, each\n"
    "single-event writer >= 150 appends/s with p99 latency <= 100 ms, durable settings."
)

ORIGIN = "bench.example.gov/audit"
PSEUDONYM_KEY = b"benchmark-pseudonym-key-32-bytes"
BATCH = 1000
T0 = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
SINGLE_TARGET = 1000.0  # single durable appends per second on SQLite
PROOF_TARGET_MS = 1.0

_PLAIN_SCHEMA = """
CREATE TABLE plain_entries (
    idx BIGINT PRIMARY KEY,
    leaf_hash {blob} NOT NULL,
    entry {blob} NOT NULL,
    time_us BIGINT NOT NULL,
    actor_id TEXT NOT NULL,
    actor_type TEXT NOT NULL,
    action TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id TEXT,
    correlation_id TEXT,
    outcome TEXT NOT NULL
);
CREATE INDEX plain_entries_actor ON plain_entries (actor_id);
CREATE INDEX plain_entries_resource ON plain_entries (resource_type, resource_id);
CREATE INDEX plain_entries_action ON plain_entries (action);
CREATE INDEX plain_entries_time ON plain_entries (time_us);
CREATE INDEX plain_entries_correlation ON plain_entries (correlation_id)
"""
PLAIN_INSERT_COLUMNS = (
    "idx, leaf_hash, entry, time_us, actor_id, actor_type, action, "
    "resource_type, resource_id, correlation_id, outcome"
)
_PLAIN_INSERT = f"INSERT INTO plain_entries ({PLAIN_INSERT_COLUMNS}) VALUES ({{marks}})"


def make_events(start: int, count: int) -> list[AuditEvent]:
    """Realistic events: personal actor and client address, a resource, a correlation id."""
    return [
        AuditEvent(
            occurred_at=T0 + timedelta(microseconds=i),
            actor_id=f"citizen-{i % 997}",
            actor_type="person",
            assurance="substantial",
            action="licence.issue",
            resource_type="driving_licence",
            resource_id=f"GD-2026-{i:07d}",
            service="traffic-police",
            client_address=f"10.0.{i // 256 % 256}.{i % 256}",
            correlation_id=f"req-{i:08x}",
            details={"office": "guangzhou-3", "fee": 120},
        )
        for i in range(start, start + count)
    ]


class PlainTable:
    """The reference: a plain table with the audit columns and indexes, nothing else."""

    def __init__(self, kind: str, target: str) -> None:
        self.kind = kind
        self.next_idx = 0
        if kind == "sqlite":
            self.sqlite = sqlite3.connect(target, isolation_level=None)
            self.sqlite.execute("PRAGMA journal_mode=WAL")
            self.sqlite.execute("PRAGMA synchronous=FULL")  # as durable as SQLiteStore
            for statement in _PLAIN_SCHEMA.format(blob="BLOB").split(";"):
                self.sqlite.execute(statement)
            self.insert = _PLAIN_INSERT.format(marks=", ".join("?" * 11))
        else:
            import psycopg  # noqa: PLC0415 - only when PostgreSQL runs

            self.pg = psycopg.connect(target, autocommit=False)
            with self.pg.transaction():
                for statement in _PLAIN_SCHEMA.format(blob="BYTEA").split(";"):
                    self.pg.execute(statement)
            self.insert = _PLAIN_INSERT.format(marks=", ".join(["%s"] * 11))

    def append(self, rows: Sequence[EntryRow]) -> None:
        """Insert ``rows`` at the next indexes in one transaction."""
        first = self.next_idx
        values = [
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
        if self.kind == "sqlite":
            self.sqlite.execute("BEGIN IMMEDIATE")
            self.sqlite.executemany(self.insert, values)
            self.sqlite.execute("COMMIT")
        else:
            with self.pg.transaction(), self.pg.cursor() as cur:
                cur.executemany(self.insert, values)
        self.next_idx += len(rows)

    def close(self) -> None:
        if self.kind == "sqlite":
            self.sqlite.close()
        else:
            self.pg.close()


def _per_entry(comparison: Comparison, entries: int) -> Comparison:
    """Scale calls/s to entries/s (each call handled ``entries`` entries)."""
    return dataclasses.replace(
        comparison,
        govkit_ops=comparison.govkit_ops * entries,
        reference_ops=comparison.reference_ops * entries,
    )


def _append_comparisons(
    backend: str, log_target: str, plain_target: str, quick: bool
) -> list[Comparison]:
    """Batched and single appends on one backend, each beside the plain table."""
    rounds = 3 if quick else 11
    results = []
    with ExitStack() as stack:
        log = stack.enter_context(AuditLog(log_target, origin=ORIGIN, pseudonym_key=PSEUDONYM_KEY))
        plain = PlainTable(backend, plain_target)
        stack.callback(plain.close)
        batch = make_events(0, BATCH)
        first = log.append_many(batch)[0]
        rows = [s.row for s in log.store.entries(first, first + BATCH)]
        plain.append(rows)

        comparison = compare(
            f"{backend}: append_many x{BATCH} (entries/s)",
            lambda: log.append_many(batch),
            lambda: plain.append(rows),
            number=2 if quick else 5,
            rounds=rounds,
            target=0.25,
            note="events encoded, pseudonymised and hashed by govkit",
        )
        results.append(_per_entry(comparison, BATCH))

        comparison = compare(
            f"{backend}: store.append x{BATCH} (entries/s)",
            lambda: log.store.append(rows, {}),
            lambda: plain.append(rows),
            number=2 if quick else 5,
            rounds=rounds,
            note="pre-built rows: the database cost of the tree alone",
        )
        results.append(_per_entry(comparison, BATCH))

        singles = itertools.cycle(batch)
        single_rows = itertools.cycle(rows)
        comparison = compare(
            f"{backend}: append, one durable transaction each (entries/s)",
            lambda: log.append(next(singles)),
            lambda: plain.append([next(single_rows)]),
            number=20 if quick else 200,
            rounds=rounds,
        )
        if backend == "sqlite":
            verdict = "ok" if comparison.govkit_ops >= SINGLE_TARGET else "BELOW"
            note = f"absolute target >= {SINGLE_TARGET:,.0f}/s: {verdict}"
            comparison = dataclasses.replace(comparison, note=note)
        results.append(comparison)
    return results


def _build_log(path: Path, entries: int, signer: NoteSigner) -> AuditLog:
    """A SQLite log of ``entries`` events, appended with append_many in big batches."""
    log = AuditLog(path, origin=ORIGIN, signer=signer, pseudonym_key=PSEUDONYM_KEY)
    chunk = 50_000
    for start in range(0, entries, chunk):
        log.append_many(make_events(start, min(chunk, entries - start)))
    return log


def _reference_root(entries: Sequence[bytes]) -> bytes:
    """MTH of the entries with hashlib alone: n leaf hashes and n - 1 interior hashes."""
    sha256 = hashlib.sha256
    level = [sha256(b"\x00" + e).digest() for e in entries]
    while len(level) > 1:
        paired = [
            sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def _proof_and_verify_comparisons(folder: Path, quick: bool) -> list[Comparison]:
    entries = 100_000 if quick else 1_000_000
    signer = NoteSigner.generate(ORIGIN)
    log = _build_log(folder / "big.db", entries, signer)
    results = []
    try:
        size = log.size()
        rng = random.Random(1)
        indexes = [rng.randrange(size) for _ in range(4096)]
        needed = {i: sorted(nodes_for([*inclusion_ranges(i, size), (i, i + 1)])) for i in indexes}
        raw = sqlite3.connect(folder / "big.db")
        proof_at: Iterator[int] = itertools.cycle(indexes)
        lookup_at: Iterator[int] = itertools.cycle(indexes)

        def lookups() -> list[Any]:
            found = []
            for level, idx in needed[next(lookup_at)]:
                if level == 0:
                    query, params = "SELECT leaf_hash FROM audit_entries WHERE idx = ?", (idx,)
                else:
                    query = "SELECT hash FROM audit_nodes WHERE level = ? AND idx = ?"
                    params = (level, idx)
                found.append(raw.execute(query, params).fetchone()[0])
            return found

        comparison = compare(
            f"sqlite: inclusion_proof, {entries:,} entries (proofs/s)",
            lambda: log.inclusion_proof(next(proof_at)),
            lookups,
            number=200 if quick else 1000,
            rounds=5 if quick else 11,
        )
        per_proof_ms = 1000 / comparison.govkit_ops
        verdict = "ok" if per_proof_ms < PROOF_TARGET_MS else "BELOW"
        note = f"{per_proof_ms:.3f} ms per proof; absolute target < {PROOF_TARGET_MS} ms: {verdict}"
        results.append(dataclasses.replace(comparison, note=note))
        raw.close()

        log.checkpoint()
        data = [s.row.entry for s in _all_entries(log)]
        assert _reference_root(data) == log.root_hash()
        comparison = compare(
            f"sqlite: verify_log, {entries:,} entries (entries/s)",
            lambda: verify_log(log, verifiers=[signer.verifier]),
            lambda: _reference_root(data),
            number=1,
            rounds=3 if quick else 5,
            target=0.5,
        )
        comparison = _per_entry(comparison, entries)
        seconds = entries / comparison.govkit_ops
        hashing = entries / comparison.reference_ops
        note = f"median {seconds:.1f} s per full verification, {hashing:.1f} s hashing alone"
        results.append(dataclasses.replace(comparison, note=note))
    finally:
        log.close()
    return results


def _all_entries(log: AuditLog) -> Iterator[Any]:
    size = log.size()
    for start in range(0, size, 100_000):
        yield from log.store.entries(start, min(size, start + 100_000))


WRITERS_SINGLE = 4  # writer processes appending one event per call
WRITERS_BATCH = 4  # writer processes appending batches of WRITER_BATCH events
WRITER_BATCH = 50
WRITERS_TARGET = {"sqlite": 5000.0, "postgresql": 3000.0}  # events/s in total
SINGLE_WRITER_TARGET = 150.0  # appends/s of each single-event writer
P99_TARGET_MS = 100.0
#: The uncounted warm-up round of each side before the timed rounds (not with --quick).
WARMUP_SECONDS = 3.0
_SYNC_NAMES = {"0": "OFF", "1": "NORMAL", "2": "FULL", "3": "EXTRA"}  # PRAGMA synchronous


def _run_writers(url: str, folder: Path, seconds: float, *, plain: bool) -> list[dict[str, Any]]:
    """Start the writer processes, let them append for ``seconds``; return their reports."""
    go = folder / f"go-{time.monotonic_ns()}"
    procs = []
    root = Path(__file__).resolve().parent.parent
    for worker in range(WRITERS_SINGLE + WRITERS_BATCH):
        spec = {
            "url": url,
            "worker": worker,
            "batch": 1 if worker < WRITERS_SINGLE else WRITER_BATCH,
            "seconds": seconds,
            "go": str(go),
            "plain": plain,
        }
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "benchmarks._audit_writer", json.dumps(spec)],
                stdout=subprocess.PIPE,
                text=True,
                cwd=root,
            )
        )
    for proc in procs:
        assert proc.stdout is not None
        if proc.stdout.readline() != "ready\n":
            raise RuntimeError("a writer process failed to start")
    go.touch()
    reports = []
    for proc in procs:
        out, _ = proc.communicate(timeout=seconds + 300)
        if proc.returncode != 0:
            raise RuntimeError(f"a writer process failed ({proc.returncode})")
        reports.append(json.loads(out.strip().splitlines()[-1]))
    return reports


def _p99(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else float("inf")


def _writers_comparison(
    backend: str, govkit_url: str, plain_url: str, folder: Path, quick: bool
) -> Comparison:
    """8 writer processes at once, govkit beside plain INSERTs, rounds interleaved."""
    seconds = 3.0 if quick else 10.0
    rounds = 1 if quick else 3
    totals: dict[bool, list[float]] = {False: [], True: []}
    ratios = []
    singles: list[dict[str, Any]] = []
    plain_singles: list[dict[str, Any]] = []
    settings: dict[str, str] = {}
    cpu = {False: 0.0, True: 0.0}
    events = {False: 0, True: 0}
    if not quick:  # each side once, not counted: the store's and the server's first writes
        for plain in (False, True):
            _run_writers(plain_url if plain else govkit_url, folder, WARMUP_SECONDS, plain=plain)
    for round_index in range(rounds):
        per_side = {}
        for plain in (False, True) if round_index % 2 == 0 else (True, False):
            reports = _run_writers(plain_url if plain else govkit_url, folder, seconds, plain=plain)
            per_side[plain] = sum(r["events"] for r in reports) / seconds
            cpu[plain] += sum(r["cpu_seconds"] for r in reports)
            events[plain] += sum(r["events"] for r in reports)
            totals[plain].append(per_side[plain])
            if plain:
                plain_singles += [r for r in reports if r["batch"] == 1]
            else:
                singles += [r for r in reports if r["batch"] == 1]
                settings = reports[0]["settings"]
        ratios.append(per_side[False] / per_side[True])
    rates = [r["calls"] / seconds for r in singles]
    p99_ms = max(_p99(r["latencies"]) for r in singles) * 1000
    plain_rates = [r["calls"] / seconds for r in plain_singles]
    # A plain SQLite writer can be starved for a whole round (SQLite's busy wait
    # polls): its p99 is left out, and the note says so.
    plain_p99s = [_p99(r["latencies"]) * 1000 for r in plain_singles if r["latencies"]]
    plain_p99 = f"p99 {max(plain_p99s):.1f} ms" if plain_p99s else "no append completed"
    if plain_p99s and len(plain_p99s) < len(plain_singles):
        plain_p99 += " among writers that appended at all"
    total = statistics.median(totals[False])
    ok = (
        total >= WRITERS_TARGET[backend]
        and min(rates) >= SINGLE_WRITER_TARGET
        and p99_ms <= P99_TARGET_MS
    )
    absolute = (
        f">= {WRITERS_TARGET[backend]:,.0f} events/s; each single writer >= "
        f"{SINGLE_WRITER_TARGET:.0f}/s, p99 <= {P99_TARGET_MS:.0f} ms"
    )
    shown = ", ".join(
        f"{k}={_SYNC_NAMES.get(v, v) if k == 'synchronous' else v}" for k, v in settings.items()
    )
    note = (
        f"{WRITERS_SINGLE} single + {WRITERS_BATCH} x{WRITER_BATCH} writers, {seconds:.0f} s"
        f"{'' if quick else f' (after an uncounted {WARMUP_SECONDS:.0f} s round of each side)'}; "
        f"single writers {min(rates):,.0f}-{max(rates):,.0f} appends/s, worst p99 "
        f"{p99_ms:.1f} ms (plain {min(plain_rates):,.0f}-{max(plain_rates):,.0f} appends/s, "
        f"{plain_p99}); writer CPU {cpu[False] / events[False] * 1e6:.0f} us/event "
        f"(plain {cpu[True] / events[True] * 1e6:.0f}); settings: {shown}"
    )
    return Comparison(
        label=f"{backend}: 8 writer processes (events/s)",
        govkit_ops=total,
        reference_ops=statistics.median(totals[True]),
        ratio=statistics.median(ratios),
        number=1,
        rounds=rounds,
        note=note,
        absolute_target=absolute,
        absolute_met=ok,
    )


def _writers_comparisons(folder: Path, quick: bool) -> list[Comparison]:
    results = []
    sqlite_plain = folder / "writers-plain.db"
    PlainTable("sqlite", str(sqlite_plain)).close()
    results.append(
        _writers_comparison(
            "sqlite",
            f"sqlite:///{folder / 'writers.db'}",
            f"sqlite:///{sqlite_plain}",
            folder,
            quick,
        )
    )
    try:
        with throwaway_cluster() as url:
            PlainTable("postgresql", url).close()
            results.append(_writers_comparison("postgresql", url, url, folder, quick))
    except PostgresUnavailable as exc:
        print(f"PostgreSQL writers left out: {exc}", file=sys.stderr)
    return results


def run(quick: bool) -> list[Comparison]:
    """Append throughput (SQLite, PostgreSQL), proof time and verification time."""
    results: list[Comparison] = []
    with tempfile.TemporaryDirectory(prefix="govkit-bench-audit-") as tmp:
        folder = Path(tmp)
        results += _append_comparisons(
            "sqlite", str(folder / "audit.db"), str(folder / "plain.db"), quick
        )
        try:
            with throwaway_cluster() as url:
                results += _append_comparisons("postgresql", url, url, quick)
        except PostgresUnavailable as exc:
            print(f"PostgreSQL comparisons left out: {exc}", file=sys.stderr)
        results += _proof_and_verify_comparisons(folder, quick)
        results += _writers_comparisons(folder, quick)
    return results
