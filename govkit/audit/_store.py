"""Audit stores: one small protocol, SQLite (embedded default) and PostgreSQL.

Both keep the same schema: entries with their leaf hash and query columns,
interior Merkle nodes (so proofs never rehash the tree), every complete tile of
the tree in one row (six levels of nodes; a proof reads about one row per six
levels, see ``govkit.audit._tree``), an erasable side table of personal values,
and every signed checkpoint. Indexes are dense: each append
runs in one transaction that takes the log's single writer lock (``BEGIN
IMMEDIATE`` on SQLite, a transaction-scoped advisory lock on PostgreSQL), reads
the tree size, integrates the new leaves and commits, so concurrent writers on
many hosts never fork the log or leave a gap, and a crash leaves all or none of
a batch. Appends from threads sharing one store are group-committed: those that
queue while a commit runs go together into the next transaction (one fsync), and
each returns once its own entries are durable.

Both run on the SQL layer every govkit store shares (``govkit.stores._sql``): a
PostgreSQL store reconnects after the server restarts (the call that meets the
dead connection fails with :class:`~govkit.errors.AuditStoreError`, the next one
connects again; an append is never retried behind the caller's back), a store
opened with ``read_only=True`` never writes (verification opens that way, also on
read-only media), and the schema version is recorded in ``govkit_schema``.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
import zlib
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any, Final, Protocol, runtime_checkable

from govkit.audit._tree import (
    HASH_SIZE,
    TILE_BAND,
    TILE_BYTES,
    TILE_HASHES,
    TILE_HEIGHT,
    Node,
    completed_tiles,
    integrate,
    perfect_nodes,
    tile_end,
    tile_key,
    tile_nodes,
    tile_place,
)
from govkit.errors import (
    AuditStoreError,
    AuditStoreLocked,
    AuditStoreSchemaError,
    ConfigurationError,
    GovkitError,
)
from govkit.stores import SchemaUpgrade
from govkit.stores._sql import (
    Database,
    Errors,
    Schema,
    is_postgres_url,
    open_database,
    upgrade_database,
)

fcntl: Any
try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX: SQLite's own busy wait only
    fcntl = None

__all__ = [
    "AuditStore",
    "EntryRow",
    "PostgresStore",
    "Query",
    "SQLiteStore",
    "StoredEntry",
    "open_store",
    "upgrade_store",
]


@dataclass(frozen=True, slots=True)
class EntryRow:
    """An entry ready to append: its leaf bytes, leaf hash and query columns."""

    leaf_hash: bytes
    entry: bytes
    time_us: int
    actor_id: str
    actor_type: str
    action: str
    resource_type: str
    resource_id: str | None
    correlation_id: str | None
    outcome: str


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """An entry as stored, with its index."""

    index: int
    row: EntryRow


@dataclass(frozen=True, slots=True)
class Query:
    """Filters for :meth:`AuditStore.query`; ``None`` means "any".

    ``actor_ids`` and ``resource_ids`` are alternatives (a clear value and its
    pseudonym); times are microseconds since the epoch, ``since`` inclusive and
    ``until`` exclusive.
    """

    actor_ids: tuple[str, ...] | None = None
    actor_type: str | None = None
    action: str | None = None
    resource_type: str | None = None
    resource_ids: tuple[str, ...] | None = None
    correlation_id: str | None = None
    outcome: str | None = None
    since_us: int | None = None
    until_us: int | None = None
    after_index: int | None = None
    limit: int = 1000


@runtime_checkable
class AuditStore(Protocol):
    """Where an :class:`~govkit.audit.AuditLog` keeps its entries, nodes and checkpoints."""

    @property
    def url(self) -> str:
        """Where the store is, without any password."""
        ...

    def origin(self) -> str | None:
        """The log origin recorded in the store, if any."""
        ...

    def set_origin(self, origin: str) -> None:
        """Record the log origin (once; a different origin later is refused)."""
        ...

    def size(self) -> int:
        """The number of entries (the tree size)."""
        ...

    def append(self, rows: Sequence[EntryRow], personal: Mapping[str, str]) -> int:
        """Append ``rows`` atomically under the writer lock; return the first index."""
        ...

    def nodes(self, coords: Collection[Node]) -> dict[Node, bytes]:
        """Hashes of the given perfect nodes; level 0 comes from the entries."""
        ...

    def node_range(self, level: int, start: int, end: int) -> list[tuple[int, bytes]]:
        """Stored interior nodes of ``level`` with ``start <= index < end``."""
        ...

    def entries(self, start: int, end: int) -> list[StoredEntry]:
        """Entries with ``start <= index < end`` in index order (gaps show as missing)."""
        ...

    def query(self, query: Query) -> list[StoredEntry]:
        """Entries matching ``query`` in index order."""
        ...

    def personal_value(self, pseudonym: str) -> str | None:
        """The clear value behind a pseudonym, if kept and not erased."""
        ...

    def is_erased(self, pseudonym: str) -> bool:
        """Whether the value behind ``pseudonym`` was erased."""
        ...

    def erase(self, pseudonym: str, erased_us: int) -> int:
        """Delete the clear value behind ``pseudonym``; return how many rows went."""
        ...

    def save_checkpoint(self, size: int, note: str, created_us: int) -> str:
        """Keep a signed checkpoint; return the one stored for that size."""
        ...

    def checkpoints(self) -> list[tuple[int, str]]:
        """Every stored checkpoint as ``(size, note)``, by size."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


_ENTRY_COLUMNS = (
    "leaf_hash, entry, time_us, actor_id, actor_type, action, resource_type, "
    "resource_id, correlation_id, outcome"
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit_entries (
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
CREATE INDEX IF NOT EXISTS audit_entries_actor ON audit_entries (actor_id);
CREATE INDEX IF NOT EXISTS audit_entries_resource ON audit_entries (resource_type, resource_id);
CREATE INDEX IF NOT EXISTS audit_entries_action ON audit_entries (action);
CREATE INDEX IF NOT EXISTS audit_entries_time ON audit_entries (time_us);
CREATE INDEX IF NOT EXISTS audit_entries_correlation ON audit_entries (correlation_id);
CREATE TABLE IF NOT EXISTS audit_nodes (
    level INTEGER NOT NULL,
    idx BIGINT NOT NULL,
    hash {blob} NOT NULL,
    PRIMARY KEY (level, idx)
){without_rowid};
CREATE TABLE IF NOT EXISTS audit_personal (pseudonym TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit_erasures (pseudonym TEXT PRIMARY KEY, erased_us BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS audit_checkpoints (
    size BIGINT PRIMARY KEY,
    note TEXT NOT NULL,
    created_us BIGINT NOT NULL
);
"""

# Version 2: every complete tile of the tree in one row (see govkit.audit._tree),
# beside the node rows, so a proof reads one row per band of levels. ``tile`` is
# ``band * 2**48 + index`` (SQLite: the rowid, so a tile is one page of 4 KiB).
# Tiles are written by the append that completes them; a store upgraded from
# version 1 has none for the entries it held then (proofs read their node rows).
_V2_TILES = """
CREATE TABLE IF NOT EXISTS audit_tiles (tile {int64_key}, hashes {blob} NOT NULL)
"""

#: The audit tables' schema. Version 1 is the schema govkit 0.1 wrote (without a
#: ``govkit_schema`` row; its ``audit_meta`` says ``schema_version = 1``); version 2
#: adds ``audit_tiles``. Version 1 stays readable (proofs then read node rows only).
SCHEMA: Final = Schema(
    component="audit",
    version=2,
    create=(_SCHEMA, _V2_TILES),
    marker="audit_entries",
    upgrades={1: (_V2_TILES,)},
)
_ERRORS: Final = Errors(AuditStoreError, AuditStoreLocked, AuditStoreSchemaError, "the audit store")


class _Pending:
    """One :meth:`_SqlStore.append` call waiting in the group-commit queue."""

    __slots__ = ("done", "error", "first", "personal", "rows")

    def __init__(self, rows: tuple[EntryRow, ...], personal: dict[str, str]) -> None:
        self.rows = rows
        self.personal = personal
        self.done = False
        self.first = -1
        self.error: BaseException | None = None


#: At most this many rows go into one group commit (one call's rows are never split).
GROUP_MAX_ROWS: Final = 10_000

#: Small appends first: a group commit of more rows than this first takes the batch
#: gate, a second lock that only such large appends take (SQLite: a ``flock`` of
#: ``<database>-lock-gate``; PostgreSQL: the advisory lock :func:`batch_gate_key`),
#: and holds it until its transaction ends. So at most one large append at a time
#: waits for (or holds) the writers' lock, and a small one never waits behind more
#: than one large one: the writers' lock is roughly fair, and without the gate a
#: one-event append waited behind every batch queued before it. Large appends pay
#: by queuing among themselves at the gate. The value was measured: up to this many
#: rows hold the writers' lock hardly longer than one row does.
SMALL_APPEND_ROWS: Final = 4

#: A large PostgreSQL append, holding the batch gate, waits at most this long (ms)
#: while other sessions (small appends) hold or wait for the writers' lock, then
#: queues for it anyway (the SQLite stores' ``_BATCH_YIELD``). The server polls
#: ``pg_locks`` once a millisecond.
PG_BATCH_YIELD_MS: Final = 3


class _GroupCommit:
    """A per-store queue of appends; whoever finds no commit under way commits the queue.

    Threads of one process that append at the same time line up here; the first
    becomes the leader, takes everything queued (up to :data:`GROUP_MAX_ROWS` rows)
    and commits it in one transaction, while the others wait. When the leader is
    done it wakes them: each returns its own first index, or raises the leader's
    error. A thread whose append was not in that group becomes the next leader.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._queue: list[_Pending] = []
        self._busy = False

    def submit(self, mine: _Pending, commit: Callable[[Sequence[_Pending]], list[int]]) -> int:
        with self._cond:
            self._queue.append(mine)
            while self._busy and not mine.done:
                self._cond.wait()
            if not mine.done:
                self._busy = True
        if not mine.done:
            self._lead(mine, commit)
        if mine.error is not None:
            raise mine.error
        return mine.first

    def _lead(self, mine: _Pending, commit: Callable[[Sequence[_Pending]], list[int]]) -> None:
        try:
            while not mine.done:
                with self._cond:
                    group = [self._queue.pop(0)]
                    rows = len(group[0].rows)
                    while self._queue and rows + len(self._queue[0].rows) <= GROUP_MAX_ROWS:
                        rows += len(self._queue[0].rows)
                        group.append(self._queue.pop(0))
                interrupted: BaseException | None = None
                try:
                    firsts = commit(group)
                except Exception as exc:  # handed to every append of the group
                    for waiting in group:
                        waiting.error = exc if waiting is mine else _copy_error(exc)
                except BaseException as exc:  # KeyboardInterrupt, SystemExit: stop leading
                    interrupted = exc
                    for waiting in group:
                        waiting.error = _copy_error(exc)
                    mine.error = exc
                else:
                    for waiting, first in zip(group, firsts, strict=True):
                        waiting.first = first
                with self._cond:
                    for waiting in group:
                        waiting.done = True
                    if interrupted is not None:
                        mine.done = True
                        with contextlib.suppress(ValueError):
                            self._queue.remove(mine)
                    self._cond.notify_all()
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()


def _copy_error(exc: BaseException) -> BaseException:
    """The leader's error, for another append of the same failed group commit."""
    if isinstance(exc, GovkitError):
        try:
            return type(exc)(exc.message, **exc.context)
        except TypeError:  # an error class with its own signature: share the instance
            return exc
    return AuditStoreError(
        "the group commit this append was part of was interrupted; it may or may not be in the log",
        cause=type(exc).__name__,
    )


# The tree size, its border nodes (perfect_nodes(0, size)) and the older nodes of the
# tiles the append completes, in one statement (one round trip under the lock).
# Rows ``(size, is_border, level, index, hash)``. Border: bit ``l`` of the size set
# means node (l, (size >> l) - 1); a row with a NULL level (only) when the log is
# empty. Tiles: the parameter is the number of rows appended, ``k``; a tile of band
# ``t`` (``w = 6 (t + 1)`` levels of leaves) that began before the size and ends by
# ``size + k`` is completed by this append, and its nodes from earlier appends are
# those of its levels wholly before the size (``_SqlStore._tile_rows`` reads any it
# still lacks, and refuses a log missing them, as before). The ``OFFSET 0`` keeps
# the lookups of each level a range scan of the primary key (joined, the planner
# picks a hash join over every node row once the table has statistics).
_PG_HEAD: Final = (
    "WITH s AS (SELECT COALESCE(MAX(idx) + 1, 0) AS n FROM audit_entries), "
    "b AS (SELECT l AS level, (s.n >> l) - 1 AS idx FROM s, generate_series(0, 62) AS l "
    "WHERE ((s.n >> l) & 1) = 1), "
    f"r AS (SELECT t.w - {TILE_HEIGHT} + g.rel AS level, "
    f"((s.n >> t.w) << t.w) >> (t.w - {TILE_HEIGHT} + g.rel) AS lo, "
    f"s.n >> (t.w - {TILE_HEIGHT} + g.rel) AS hi "
    f"FROM s, (SELECT {TILE_HEIGHT} * (band + 1) AS w FROM generate_series(0, 9) AS band) t, "
    f"generate_series(0, {TILE_HEIGHT - 1}) AS g(rel) "
    "WHERE s.n & ((1::bigint << t.w) - 1) <> 0 "
    "AND ((s.n >> t.w) + 1) << t.w <= s.n + ?::bigint) "
    "SELECT s.n, true, b.level, b.idx, CASE WHEN b.level = 0 "
    "THEN (SELECT e.leaf_hash FROM audit_entries e WHERE e.idx = b.idx) "
    "ELSE (SELECT d.hash FROM audit_nodes d WHERE d.level = b.level AND d.idx = b.idx) END "
    "FROM s LEFT JOIN b ON true "
    "UNION ALL SELECT s.n, false, r.level, x.idx, x.hash FROM s, r, LATERAL ("
    "SELECT e.idx, e.leaf_hash AS hash FROM audit_entries e "
    "WHERE r.level = 0 AND e.idx >= r.lo AND e.idx < r.hi "
    "UNION ALL SELECT d.idx, d.hash FROM audit_nodes d "
    "WHERE r.level > 0 AND d.level = r.level AND d.idx >= r.lo AND d.idx < r.hi "
    "OFFSET 0) x"
)
# Entries (indexes from the first one), the nodes and tiles they complete and the
# clear values (never one of an erased person) in one statement. Its parameters go
# in binary (``%b``): the client prepares them while holding the lock, and dumping
# 17 arrays as text (bytea as hex) took several ms of that.
_PG_INSERT: Final = (
    "WITH e AS (INSERT INTO audit_entries (idx, leaf_hash, entry, time_us, actor_id, "
    "actor_type, action, resource_type, resource_id, correlation_id, outcome) "
    "SELECT %b::bigint + t.o - 1, t.h, t.e, t.tu, t.ai, t.at, t.ac, t.rt, t.ri, t.ci, t.oc "
    "FROM unnest(%b::bytea[], %b::bytea[], %b::bigint[], %b::text[], %b::text[], %b::text[], "
    "%b::text[], %b::text[], %b::text[], %b::text[]) WITH ORDINALITY "
    "AS t(h, e, tu, ai, at, ac, rt, ri, ci, oc, o)), "
    "n AS (INSERT INTO audit_nodes (level, idx, hash) "
    "SELECT * FROM unnest(%b::integer[], %b::bigint[], %b::bytea[])), "
    "k AS (INSERT INTO audit_tiles (tile, hashes) SELECT * FROM unnest(%b::bigint[], %b::bytea[]) "
    "ON CONFLICT (tile) DO UPDATE SET hashes = EXCLUDED.hashes) "
    "INSERT INTO audit_personal (pseudonym, value) SELECT t.p, t.v FROM "
    "unnest(%b::text[], %b::text[]) AS t(p, v) WHERE NOT EXISTS "
    "(SELECT 1 FROM audit_erasures x WHERE x.pseudonym = t.p) ON CONFLICT DO NOTHING"
)

# Appends on PostgreSQL run on the server: a session-local function (``pg_temp``:
# created per connection, visible to no other session, no schema change) takes the
# batch gate (more than SMALL_APPEND_ROWS rows; then it first waits, at most
# PG_BATCH_YIELD_MS, while small appends hold or wait for the writers' lock), takes the
# writers' lock, reads the border once (and refuses a store lacking any of it),
# hashes each new leaf up its chain of nodes in memory (SHA-256(0x01 || left ||
# right), as :func:`~govkit.audit._tree.integrate`), inserts the entries and nodes
# (one statement each), writes every tile a new node tops and the clear values. The
# client sends the call with BEGIN, COMMIT and the wait for the WAL flush at once
# (:meth:`Database.call`: one message for a small append, one pipeline with binary
# arrays for a batch): one round trip in all, and the lock is never held across one.
# The client path (_PG_HEAD, _PG_INSERT) remains for a role that may not create the
# function and for a session that lost it.
#: The SQLSTATE the server-side append raises when the store lacks Merkle nodes.
_PG_MISSING_NODES: Final = "GK001"
_UNDEFINED_FUNCTION: Final = "42883"
_PG_APPEND_FUNCTION: Final = rf"""
CREATE OR REPLACE FUNCTION pg_temp.govkit_audit_append(
    p_lock bigint, p_leaves bytea[], p_entries bytea[], p_times bigint[], p_actor_ids text[],
    p_actor_types text[], p_actions text[], p_resource_types text[], p_resource_ids text[],
    p_correlation_ids text[], p_outcomes text[], p_pseudonyms text[], p_clear text[],
    p_gate_hi integer, p_gate_lo integer, p_yield_ms integer
) RETURNS bigint LANGUAGE plpgsql AS $fn$
DECLARE
    v_first bigint; v_pos bigint; v_lvl integer; v_cur bytea; v_tile bytea;
    v_missing integer; v_count integer; v_border bytea[]; v_levels integer[];
    v_indexes bigint[]; v_hashes bytea[]; v_top integer; v_until timestamptz;
BEGIN
    IF p_gate_hi IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(p_gate_hi, p_gate_lo);
        -- Small appends first: while another session holds or waits for the writers'
        -- lock (a 64-bit advisory key shows as classid, objid and objsubid 1; behind
        -- the gate those are small appends), wait for at most p_yield_ms; then queue
        -- for the lock anyway.
        v_until := clock_timestamp() + make_interval(secs => p_yield_ms / 1000.0);
        WHILE clock_timestamp() < v_until AND EXISTS (SELECT 1 FROM pg_locks
            WHERE locktype = 'advisory' AND objsubid = 1
            AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
            AND classid = ((p_lock >> 32) & 4294967295)::oid
            AND objid = (p_lock & 4294967295)::oid) LOOP
            PERFORM pg_sleep(0.001);
        END LOOP;
    END IF;
    PERFORM pg_advisory_xact_lock(p_lock);
    SELECT COALESCE(MAX(idx) + 1, 0) INTO v_first FROM audit_entries;
    -- The border: node (l, (size >> l) - 1) for each bit l of the size, at v_border[l + 1].
    v_border := array_fill(NULL::bytea, ARRAY[64]);
    v_missing := 0;
    FOR v_lvl, v_cur IN
        SELECT l, CASE WHEN l = 0
            THEN (SELECT e.leaf_hash FROM audit_entries e WHERE e.idx = v_first - 1)
            ELSE (SELECT d.hash FROM audit_nodes d WHERE d.level = l AND d.idx = (v_first >> l) - 1)
            END
        FROM generate_series(0, 62) AS l WHERE ((v_first >> l) & 1) = 1
    LOOP
        IF v_cur IS NULL THEN
            v_missing := v_missing + 1;
        END IF;
        v_border[v_lvl + 1] := v_cur;
    END LOOP;
    IF v_missing > 0 THEN
        RAISE EXCEPTION USING ERRCODE = '{_PG_MISSING_NODES}', MESSAGE = v_missing::text;
    END IF;
    -- Each new leaf merges with the border nodes below its first unset bit, as
    -- integrate() does: SHA-256(0x01 || left || right) per node, all in memory.
    v_levels := '{{}}'; v_indexes := '{{}}'; v_hashes := '{{}}'; v_top := 0;
    FOR k IN 1 .. cardinality(p_leaves) LOOP
        v_pos := v_first + k - 1; v_lvl := 0; v_cur := p_leaves[k];
        WHILE (v_pos & 1) = 1 LOOP
            v_cur := sha256('\x01'::bytea || v_border[v_lvl + 1] || v_cur);
            v_lvl := v_lvl + 1;
            v_pos := v_pos >> 1;
            v_levels := v_levels || v_lvl; v_indexes := v_indexes || v_pos;
            v_hashes := v_hashes || v_cur;
            IF v_lvl > v_top AND mod(v_lvl, {TILE_HEIGHT}) = 0 THEN
                v_top := v_lvl;
            END IF;
        END LOOP;
        v_border[v_lvl + 1] := v_cur;
    END LOOP;
    INSERT INTO audit_entries (idx, {_ENTRY_COLUMNS})
        SELECT v_first + t.o - 1, t.h, t.e, t.tu, t.ai, t.at, t.ac, t.rt, t.ri, t.ci, t.oc
        FROM unnest(p_leaves, p_entries, p_times, p_actor_ids, p_actor_types, p_actions,
                    p_resource_types, p_resource_ids, p_correlation_ids, p_outcomes)
            WITH ORDINALITY
            AS t(h, e, tu, ai, at, ac, rt, ri, ci, oc, o);
    INSERT INTO audit_nodes (level, idx, hash)
        SELECT * FROM unnest(v_levels, v_indexes, v_hashes);
    -- Every tile a new node tops (a node at a level that is a multiple of the tile
    -- height), from the stored rows, now that this append's are among them.
    IF v_top > 0 THEN
        FOR k IN 1 .. cardinality(v_levels) LOOP
            v_lvl := v_levels[k];
            CONTINUE WHEN mod(v_lvl, {TILE_HEIGHT}) <> 0;
            v_pos := v_indexes[k];
            SELECT string_agg(x.hash, ''::bytea ORDER BY x.level, x.idx), count(*)
            INTO v_tile, v_count FROM (
                SELECT 0 AS level, e.idx, e.leaf_hash AS hash FROM audit_entries e
                WHERE v_lvl = {TILE_HEIGHT} AND e.idx >= v_pos << {TILE_HEIGHT}
                    AND e.idx < (v_pos + 1) << {TILE_HEIGHT}
                UNION ALL SELECT n.level, n.idx, n.hash
                FROM generate_series(greatest(v_lvl - {TILE_HEIGHT}, 1), v_lvl - 1) AS g(l),
                LATERAL (SELECT d.level, d.idx, d.hash FROM audit_nodes d
                    WHERE d.level = g.l AND d.idx >= v_pos << (v_lvl - g.l)
                        AND d.idx < (v_pos + 1) << (v_lvl - g.l) OFFSET 0) n) x;
            IF v_count <> {TILE_HASHES} THEN
                RAISE EXCEPTION USING ERRCODE = '{_PG_MISSING_NODES}',
                    MESSAGE = ({TILE_HASHES} - v_count)::text;
            END IF;
            INSERT INTO audit_tiles (tile, hashes)
                VALUES (((v_lvl / {TILE_HEIGHT} - 1)::bigint * {TILE_BAND}) + v_pos, v_tile)
                ON CONFLICT (tile) DO UPDATE SET hashes = EXCLUDED.hashes;
        END LOOP;
    END IF;
    INSERT INTO audit_personal (pseudonym, value)
        SELECT t.p, t.v FROM unnest(p_pseudonyms, p_clear) AS t(p, v)
        WHERE NOT EXISTS (SELECT 1 FROM audit_erasures x WHERE x.pseudonym = t.p)
        ON CONFLICT DO NOTHING;
    RETURN v_first;
END
$fn$
"""
#: The types of the function's array parameters, in order: the ten entry columns,
#: then the pseudonyms and their clear values.
_PG_APPEND_ARRAYS: Final = ("bytea", "bytea", "bigint", *["text"] * 9)
_PG_ENTRY_ARRAYS: Final = len(_PG_APPEND_ARRAYS) - 2
# A batch's call, sent with ``Database.call(binary=True)``: the arrays in binary, then
# the gate's two keys and the yield bound.
_PG_APPEND_CALL: Final = (
    "SELECT pg_temp.govkit_audit_append(?::bigint, "
    + ", ".join(f"?::{kind}[]" for kind in _PG_APPEND_ARRAYS)
    + ", ?::integer, ?::integer, ?::integer)"
)


def _pg_small_call(rows: int, personal: int) -> str:
    """A small append's call for ``rows`` rows and ``personal`` clear values.

    Sent as literals (one simple-protocol message), each array is spelled
    ``ARRAY[?, ...]`` so that psycopg quotes plain values: its array literals cost
    about 60 us of client time per append, the values one by one about 10 us.
    """
    arrays = [
        f"ARRAY[{', '.join(['?'] * (personal if i >= _PG_ENTRY_ARRAYS else rows))}]::{kind}[]"
        for i, kind in enumerate(_PG_APPEND_ARRAYS)
    ]
    return f"SELECT pg_temp.govkit_audit_append(?::bigint, {', '.join(arrays)}, NULL, NULL, NULL)"


class _SqlStore:
    """The SQL shared by both backends, on one :class:`~govkit.stores._sql.Database`."""

    _db: Database
    _lock_id: int = 0

    def _scanned_file(self) -> Path | None:
        """The file a full scan reads (for ``DropBehind``); none on a server."""
        return None

    def _use(self, db: Database) -> None:
        self._db = db
        self._queue = _GroupCommit()
        # PostgreSQL: the connection (Database.generation) that has the server-side
        # append; False once the server refused to create it (then the client appends).
        self._server_appends: bool = db.postgres
        self._function_generation = 0
        if db.postgres:
            self._insert_ignore = "INSERT INTO"
            self._conflict_tail = " ON CONFLICT DO NOTHING"
        else:
            self._insert_ignore = "INSERT OR IGNORE INTO"
            self._conflict_tail = ""
        # A store of schema version 1 opened read-only has no tiles: node rows only.
        self._tiles = bool(
            db.read(
                "SELECT 1 FROM information_schema.tables "
                "WHERE table_schema = current_schema() AND table_name = 'audit_tiles'"
                if db.postgres
                else "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_tiles'"
            )
        )

    @property
    def url(self) -> str:
        """Where the store is, without any password."""
        return self._db.url

    @property
    def read_only(self) -> bool:
        """Whether the store was opened read-only (verification)."""
        return self._db.read_only

    def _read(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._db.read(statement, params)

    def _write(self, statements: Sequence[tuple[str, Sequence[Sequence[Any]]]]) -> None:
        with self._writer_lock(), self._db.transaction() as tx:
            for statement, rows in statements:
                tx.many(statement, rows)
        self._after_write()

    def _writer_lock(self, rows: int = 1) -> contextlib.AbstractContextManager[object]:
        """Held around every write transaction of ``rows`` rows (SQLite: the writers'
        file lock, after the batch gate for more than :data:`SMALL_APPEND_ROWS`)."""
        return contextlib.nullcontext()

    def _locked_append(self, groups: Sequence[_Pending]) -> list[int]:
        """Append every group's rows in one transaction, in order; return their first indexes.

        One lock, one read of the tree size and border, one commit (one fsync) for all
        of them: this is the group commit behind :meth:`append`. The fsync comes after
        the lock is released (SQLite: the commit skips it and :meth:`Database.sync`
        syncs the WAL; PostgreSQL: a statement after the COMMIT waits for the flush),
        so writers of other processes integrate their leaves meanwhile and syncs that
        overlap share the device flush; this returns only once the rows are durable.
        """
        rows = [row for group in groups for row in group.rows]
        personal: dict[str, str] = {}
        for group in groups:
            personal.update(group.personal)
        if self._db.postgres:
            first = self._postgres_append(rows, personal)
        else:
            with self._writer_lock(len(rows)), self._db.transaction(deferred_sync=True) as tx:
                first = int(tx.run("SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_entries")[0][0])
                border = self._border(first, tx.run)
                for statement, values in self._append_statements(
                    first, border, rows, personal, tx.run
                ):
                    tx.many(statement, values)
            self._db.sync()  # the WAL, now that the writers' lock is free
        firsts = []
        for group in groups:
            firsts.append(first)
            first += len(group.rows)
        return firsts

    def _postgres_append(self, rows: Sequence[EntryRow], personal: Mapping[str, str]) -> int:
        """The PostgreSQL append: one call of the server-side function, then the flush.

        Everything that does not depend on the tree size (entries, leaf hashes) is
        prepared before; the function does the rest under the lock (see
        ``_PG_APPEND_FUNCTION``). Where the connection has no function, the client
        path: under the lock one statement reading the size, the border nodes and the
        older nodes of the tiles the append completes, one inserting entries, nodes,
        tiles and clear values (arrays, ``unnest``, sent in binary), and the COMMIT,
        which does not wait for the disk; in the same pipeline, once the lock is gone,
        a statement waits for the WAL flush (``deferred_sync``). An append of more
        than :data:`SMALL_APPEND_ROWS` rows first takes the batch gate
        (:func:`batch_gate_key`) on either path.
        """
        columns = (
            [r.leaf_hash for r in rows],
            [r.entry for r in rows],
            [r.time_us for r in rows],
            [r.actor_id for r in rows],
            [r.actor_type for r in rows],
            [r.action for r in rows],
            [r.resource_type for r in rows],
            [r.resource_id for r in rows],
            [r.correlation_id for r in rows],
            [r.outcome for r in rows],
        )
        if self._tiles and self._server_ready():
            try:
                if len(rows) <= SMALL_APPEND_ROWS:
                    result = self._db.call(
                        _pg_small_call(len(rows), len(personal)),
                        (self._lock_id, *chain(*columns, personal, personal.values())),
                    )
                else:  # small appends first: a batch takes the gate (SMALL_APPEND_ROWS)
                    result = self._db.call(
                        _PG_APPEND_CALL,
                        (
                            self._lock_id,
                            *columns,
                            list(personal),
                            list(personal.values()),
                            *batch_gate_key(self._lock_id),
                            PG_BATCH_YIELD_MS,
                        ),
                        binary=True,
                    )
                return int(result[0][0])
            except AuditStoreError as exc:
                state = exc.context.get("sqlstate")
                if state == _PG_MISSING_NODES:
                    count = exc.message.rsplit(": ", 1)[-1]
                    raise AuditStoreError(
                        "the store lacks Merkle nodes it should have (damaged or tampered)",
                        **({"missing": int(count)} if count.isdigit() else {}),
                    ) from None
                if state != _UNDEFINED_FUNCTION:
                    raise
                # The session lost the function (a pooler's DISCARD ALL): nothing was
                # written; append from the client and create it again next time.
                self._function_generation = 0
        leaves = columns[0]
        # Pipelined: BEGIN, SET, the lock and the head read go out together, then the
        # insert, COMMIT and the wait for the WAL flush: one client round trip while
        # the lock is held, which COMMIT releases without waiting for the disk.
        with self._db.transaction(pipeline=True, deferred_sync=True) as tx:
            if len(rows) > SMALL_APPEND_ROWS:  # small appends first: see SMALL_APPEND_ROWS
                tx.lock(*batch_gate_key(self._lock_id))
            tx.lock(self._lock_id)
            head = tx.fetch(_PG_HEAD, (len(leaves),))
            first = int(head[0][0])
            border: dict[Node, bytes] = {}
            older: dict[Node, bytes] = {}
            for _, is_border, lvl, i, h in head:
                if h is not None:
                    (border if is_border else older)[(int(lvl), int(i))] = _blob(h)
            if len(border) != first.bit_count():
                raise AuditStoreError(
                    "the store lacks Merkle nodes it should have (damaged or tampered)",
                    missing=first.bit_count() - len(border),
                )
            created = integrate(first, border, leaves)
            tiles = self._tile_rows(first, leaves, created, tx.fetch, older)
            tx.run(
                _PG_INSERT,
                (
                    first,
                    *columns,
                    [lvl for lvl, _, _ in created],
                    [i for _, i, _ in created],
                    [h for _, _, h in created],
                    [key for key, _ in tiles],
                    [hashes for _, hashes in tiles],
                    list(personal),
                    list(personal.values()),
                ),
            )
        return first

    def _server_ready(self) -> bool:
        """Whether the connection has the server-side append, creating it if needed.

        It is a ``pg_temp`` function: each connection creates its own, and a role that
        may not create temporary objects (or a server without PL/pgSQL) appends from
        the client instead.
        """
        if not self._server_appends:
            return False
        if self._function_generation and self._function_generation == self._db.generation:
            return True
        try:
            with self._db.transaction() as tx:
                tx.run(_PG_APPEND_FUNCTION)
        except AuditStoreError as exc:
            state = str(exc.context.get("sqlstate") or "")
            if not state.startswith("42") and state != "0A000":
                raise
            self._server_appends = False  # not allowed here: the client path appends
            return False
        self._function_generation = self._db.generation
        return True

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def origin(self) -> str | None:
        rows = self._read("SELECT value FROM audit_meta WHERE key = ?", ("origin",))
        return str(rows[0][0]) if rows else None

    def set_origin(self, origin: str) -> None:
        current = self.origin()
        if current is not None:
            if current != origin:
                raise ConfigurationError(
                    "the store belongs to another log origin", stored=current, given=origin
                )
            return
        self._write(
            [
                (
                    f"{self._insert_ignore} audit_meta (key, value) VALUES (?, ?)"
                    + self._conflict_tail,
                    [("origin", origin)],
                )
            ]
        )
        if self.origin() != origin:
            raise ConfigurationError("the store belongs to another log origin")

    def size(self) -> int:
        rows = self._read("SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_entries")
        return int(rows[0][0])

    def append(self, rows: Sequence[EntryRow], personal: Mapping[str, str]) -> int:
        """Append ``rows`` atomically; return the first index once they are durable.

        Appends that arrive from several threads while another one commits are
        committed together by the next of them (group commit): one transaction and
        one fsync for all, each call still all-or-none and returning only after its
        own rows are committed. A failed group commit fails every append in it, and
        none of their rows is written.
        """
        if not rows:
            return self.size()
        first = self._queue.submit(_Pending(tuple(rows), dict(personal)), self._locked_append)
        self._after_write()
        return first

    def _after_write(self) -> None:
        """Housekeeping after a commit, outside every lock (SQLite: WAL checkpoints)."""

    def _append_statements(
        self,
        first: int,
        border: Mapping[Node, bytes],
        rows: Sequence[EntryRow],
        personal: Mapping[str, str],
        read: Any,
    ) -> list[tuple[str, Sequence[Sequence[Any]]]]:
        """The inserts that append ``rows`` at index ``first`` (inside the lock).

        ``read`` runs a query in the same transaction (for the tiles' older nodes).
        """
        leaves = [r.leaf_hash for r in rows]
        created = integrate(first, border, leaves)
        statements: list[tuple[str, Sequence[Sequence[Any]]]] = [
            (
                f"INSERT INTO audit_entries (idx, {_ENTRY_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
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
                ],
            )
        ]
        if created:
            statements.append(
                ("INSERT INTO audit_nodes (level, idx, hash) VALUES (?, ?, ?)", created)
            )
        tiles = self._tile_rows(first, leaves, created, read)
        if tiles:  # a stale tile (only a tampered store has one) is replaced
            statements.append(
                ("INSERT OR REPLACE INTO audit_tiles (tile, hashes) VALUES (?, ?)", tiles)
            )
        if personal:  # an erased person's clear value is never stored again
            statements.append(
                (
                    f"{self._insert_ignore} audit_personal (pseudonym, value) SELECT ?, ? "
                    "WHERE NOT EXISTS (SELECT 1 FROM audit_erasures WHERE pseudonym = ?)"
                    + self._conflict_tail,
                    [(p, v, p) for p, v in personal.items()],
                )
            )
        return statements

    def _border(self, size: int, read: Any) -> dict[Node, bytes]:
        return self._nodes_with(perfect_nodes(0, size), read)

    def _tile_rows(
        self,
        first: int,
        leaves: Sequence[bytes],
        created: Sequence[tuple[int, int, bytes]],
        read: Any,
        older: Mapping[Node, bytes] | None = None,
    ) -> list[tuple[int, bytes]]:
        """``(key, hashes)`` of every tile that appending ``leaves`` at ``first`` completes.

        The tile's nodes come from the new leaves and ``created``; those of earlier
        appends (a tile the append only finishes) from ``older`` (read in the same
        transaction) or else from the node rows.
        """
        done = completed_tiles(created)
        if not done or not self._tiles:
            return []
        wanted = [(tile_key(band, index), tile_nodes(band, index)) for band, index in done]
        known: dict[Node, bytes] = dict(older or {})
        known.update({(lvl, i): h for lvl, i, h in created})
        missing = []
        for _, nodes in wanted:
            for node in nodes:
                if node in known:
                    continue
                level, index = node
                if level == 0 and index >= first:
                    known[node] = leaves[index - first]
                else:
                    missing.append(node)
        if missing:
            known.update(self._nodes_with(missing, read))
        return [(key, b"".join([known[n] for n in nodes])) for key, nodes in wanted]

    def nodes(self, coords: Collection[Node]) -> dict[Node, bytes]:
        if not self._tiles:
            return self._nodes_with(coords, self._read)
        # Each node from the stored tile holding it (a proof needs about one tile per
        # six levels); those of tiles not complete yet (or of entries appended before
        # the store had tiles) from the node rows. A tile is used only once the log
        # has reached its end: one there beyond the size (left by a truncation) is not
        # the log's, and the append that completes the tile again replaces it.
        size = self.size()
        places: dict[int, list[tuple[Node, int]]] = {}
        rest: list[Node] = []
        for node in coords:
            key, offset = tile_place(node)
            if tile_end(*divmod(key, TILE_BAND)) <= size:
                places.setdefault(key, []).append((node, offset))
            else:
                rest.append(node)
        found: dict[Node, bytes] = {}
        for chunk in _chunks(sorted(places), 500):
            marks = ", ".join("?" * len(chunk))
            for key, hashes in self._read(
                f"SELECT tile, hashes FROM audit_tiles WHERE tile IN ({marks})", chunk
            ):
                data = _blob(hashes)
                if len(data) != TILE_BYTES or key not in places:
                    continue  # damaged: the node rows answer (verify_log reports it)
                for node, offset in places.pop(key):
                    found[node] = data[offset * HASH_SIZE : (offset + 1) * HASH_SIZE]
        rest.extend(node for pending in places.values() for node, _ in pending)
        if rest:
            found.update(self._nodes_with(rest, self._read))
        return found

    def fill_tiles(self) -> int:
        """Write every complete tile the store lacks; return how many were written.

        Those are the tiles of entries appended before schema version 2 (until then
        their proofs read node rows). :func:`upgrade_store` (``govkit db upgrade``)
        runs this; it reads the node rows in order and writes at most 256 tiles per
        transaction, each under the writer lock, so appends go on meanwhile (a tile
        an append writes first is kept). Tiles whose node rows are missing are left
        out (:func:`~govkit.audit.verify_log` reports those rows).
        """
        if self.read_only or not self._tiles:
            return 0
        size = self.size()
        written = 0
        band = 0
        while tile_end(band, 0) <= size:
            base = tile_key(band, 0)
            complete = size >> ((band + 1) * TILE_HEIGHT)
            have = {
                int(key) - base
                for (key,) in self._read(
                    "SELECT tile FROM audit_tiles WHERE tile >= ? AND tile < ?",
                    (base, base + complete),
                )
            }
            missing = [i for i in range(complete) if i not in have]
            for run in _runs(missing, 256):
                known: dict[Node, bytes] = {}
                for level in range(band * TILE_HEIGHT, (band + 1) * TILE_HEIGHT):
                    per = 1 << ((band + 1) * TILE_HEIGHT - level)
                    for index, digest in self.node_range(level, run[0] * per, (run[-1] + 1) * per):
                        known[(level, index)] = digest
                tiles = []
                for index in run:
                    nodes = tile_nodes(band, index)
                    if all(node in known for node in nodes):
                        tiles.append((base + index, b"".join([known[n] for n in nodes])))
                if tiles:
                    self._write(
                        [
                            (
                                f"{self._insert_ignore} audit_tiles (tile, hashes) VALUES (?, ?)"
                                + self._conflict_tail,
                                tiles,
                            )
                        ]
                    )
                    written += len(tiles)
            band += 1
        return written

    def tile_range(self, band: int, start: int, end: int) -> list[tuple[int, bytes]]:
        """Stored tiles ``(index, hashes)`` of ``band`` with ``start <= index < end``.

        Not part of :class:`AuditStore`: :func:`~govkit.audit.verify_log` compares
        the tiles of the built-in stores with the tree it recomputes. None on a
        store of schema version 1 opened read-only.
        """
        if not self._tiles:
            return []
        base = tile_key(band, 0)
        rows = self._read(
            "SELECT tile, hashes FROM audit_tiles WHERE tile >= ? AND tile < ? ORDER BY tile",
            (base + start, base + end),
        )
        return [(int(key) - base, _blob(hashes)) for key, hashes in rows]

    def _nodes_with(self, coords: Collection[Node], read: Any) -> dict[Node, bytes]:
        found: dict[Node, bytes] = {}
        leaves = sorted(i for lvl, i in coords if lvl == 0)
        interior = sorted((lvl, i) for lvl, i in coords if lvl > 0)
        for chunk in _chunks(leaves, 500):
            marks = ", ".join("?" * len(chunk))
            for idx, digest in read(
                f"SELECT idx, leaf_hash FROM audit_entries WHERE idx IN ({marks})", chunk
            ):
                found[(0, int(idx))] = _blob(digest)
        for chunk in _chunks(interior, 250):
            # One primary-key probe per node. SQLite (3.40) plans the row-value form
            # "(level, idx) IN (VALUES ...)" with more than one row as a full scan.
            marks = " OR ".join("(level = ? AND idx = ?)" for _ in chunk)
            params = [v for pair in chunk for v in pair]
            for level, idx, digest in read(
                f"SELECT level, idx, hash FROM audit_nodes WHERE {marks}", params
            ):
                found[(int(level), int(idx))] = _blob(digest)
        missing = [c for c in coords if c not in found]
        if missing:
            raise AuditStoreError(
                "the store lacks Merkle nodes it should have (damaged or tampered)",
                missing=len(missing),
            )
        return found

    def node_range(self, level: int, start: int, end: int) -> list[tuple[int, bytes]]:
        if level == 0:
            rows = self._read(
                "SELECT idx, leaf_hash FROM audit_entries WHERE idx >= ? AND idx < ? ORDER BY idx",
                (start, end),
            )
        else:
            rows = self._read(
                "SELECT idx, hash FROM audit_nodes WHERE level = ? AND idx >= ? AND idx < ? "
                "ORDER BY idx",
                (level, start, end),
            )
        if all(type(i) is int and type(h) is bytes for i, h in rows):
            return rows  # already the right types (the common case: verify_log reads every node)
        return [(int(i), _blob(h)) for i, h in rows]

    def confirmed(
        self, nodes: Sequence[tuple[int, int, bytes]], tiles: Sequence[tuple[int, int, bytes]]
    ) -> list[bool]:
        """Whether stored nodes and tiles are exactly the given ones, in one statement.

        ``nodes`` holds ``(level, start, hashes)``: the 32-byte nodes expected at
        indexes ``start, start + 1, ...`` of ``level`` (>= 1), concatenated; such a
        range is confirmed only when the store holds one row per index, each with an
        integer index and that hash. ``tiles`` holds ``(band, start, hashes)``: the
        expected tiles (``TILE_BYTES`` each) of indexes ``start, ...`` of ``band``,
        concatenated; confirmed when every stored one equals its part (a tile the
        store lacks is not looked for, as in :meth:`tile_range`). The database
        compares them and returns one row of counts (one step, so a thread waiting
        for it leaves the interpreter to others). One answer per range, nodes first;
        False means "not confirmed": :meth:`node_range` and :meth:`tile_range` tell
        what differs. Not part of :class:`AuditStore` (used by
        :func:`~govkit.audit.verify_log`).
        """
        blob = "?::bytea" if self._db.postgres else "?"
        # A tampered SQLite row may hold a REAL index: it never counts as a match.
        integral = "" if self._db.postgres else "typeof(idx) = 'integer' AND "
        # Each range: its stored rows and the matching ones, as stored * 2**32 + matching.
        counts: list[str] = []
        params: list[Any] = []
        wanted: list[int | None] = []  # rows each range must have (None: those stored)
        for level, start, hashes in nodes:
            count, rest = divmod(len(hashes), HASH_SIZE)
            if level < 1 or rest:
                return [False] * (len(nodes) + len(tiles))
            counts.append(
                f"(SELECT count(*) * {1 << 32} + count(CASE WHEN {integral}hash = "
                f"substr({blob}, CAST((idx - ?) * {HASH_SIZE} + 1 AS INTEGER), {HASH_SIZE}) "
                "THEN 1 END) FROM audit_nodes WHERE level = ? AND idx >= ? AND idx < ?)"
            )
            params += [hashes, start, level, start, start + count]
            wanted.append(count)
        for band, start, hashes in tiles if self._tiles else ():  # version 1: no tiles
            count, rest = divmod(len(hashes), TILE_BYTES)
            if rest:
                return [False] * (len(nodes) + len(tiles))
            base = tile_key(band, start)
            counts.append(
                f"(SELECT count(*) * {1 << 32} + count(CASE WHEN hashes = "
                f"substr({blob}, CAST((tile - ?) * {TILE_BYTES} + 1 AS INTEGER), {TILE_BYTES}) "
                "THEN 1 END) FROM audit_tiles WHERE tile >= ? AND tile < ?)"
            )
            params += [hashes, base, base, base + count]
            wanted.append(None)
        found = self._read(f"SELECT {', '.join(counts)}", params)[0] if counts else ()
        answers = []
        for value, need in zip(found, wanted, strict=True):
            stored, matching = divmod(int(value), 1 << 32)
            answers.append(stored == matching and (need is None or stored == need))
        answers += [True] * (len(nodes) + len(tiles) - len(wanted))  # version 1: no tiles
        return answers

    def entries(self, start: int, end: int) -> list[StoredEntry]:
        rows = self._read(
            f"SELECT idx, {_ENTRY_COLUMNS} FROM audit_entries "
            "WHERE idx >= ? AND idx < ? ORDER BY idx",
            (start, end),
        )
        return [_stored(r) for r in rows]

    def leaf_rows(self, start: int, end: int) -> list[tuple[int, bytes, bytes]]:
        """``(index, leaf_hash, entry)`` for ``start <= index < end`` in index order.

        What a full verification reads: :meth:`entries` without the query columns
        (not part of :class:`AuditStore`; :func:`~govkit.audit.verify_log` uses it
        on the built-in stores). A damaged row keeps the types the database returned.
        """
        return self._read(
            "SELECT idx, leaf_hash, entry FROM audit_entries WHERE idx >= ? AND idx < ? "
            "ORDER BY idx",
            (start, end),
        )

    def query(self, query: Query) -> list[StoredEntry]:
        where: list[str] = []
        params: list[Any] = []
        for column, alternatives in (
            ("actor_id", query.actor_ids),
            ("resource_id", query.resource_ids),
        ):
            if alternatives is not None:
                where.append(f"{column} IN ({', '.join('?' * len(alternatives))})")
                params.extend(alternatives)
        for column, value in (
            ("actor_type", query.actor_type),
            ("action", query.action),
            ("resource_type", query.resource_type),
            ("correlation_id", query.correlation_id),
            ("outcome", query.outcome),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if query.since_us is not None:
            where.append("time_us >= ?")
            params.append(query.since_us)
        if query.until_us is not None:
            where.append("time_us < ?")
            params.append(query.until_us)
        if query.after_index is not None:
            where.append("idx > ?")
            params.append(query.after_index)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        params.append(max(0, query.limit))
        rows = self._read(
            f"SELECT idx, {_ENTRY_COLUMNS} FROM audit_entries {clause} ORDER BY idx LIMIT ?",
            params,
        )
        return [_stored(r) for r in rows]

    def personal_value(self, pseudonym: str) -> str | None:
        rows = self._read("SELECT value FROM audit_personal WHERE pseudonym = ?", (pseudonym,))
        return str(rows[0][0]) if rows else None

    def is_erased(self, pseudonym: str) -> bool:
        return bool(self._read("SELECT 1 FROM audit_erasures WHERE pseudonym = ?", (pseudonym,)))

    def erase(self, pseudonym: str, erased_us: int) -> int:
        existed = self.personal_value(pseudonym) is not None
        self._write(
            [
                ("DELETE FROM audit_personal WHERE pseudonym = ?", [(pseudonym,)]),
                (
                    f"{self._insert_ignore} audit_erasures (pseudonym, erased_us) VALUES (?, ?)"
                    + self._conflict_tail,
                    [(pseudonym, erased_us)],
                ),
            ]
        )
        return int(existed)

    def save_checkpoint(self, size: int, note: str, created_us: int) -> str:
        self._write(
            [
                (
                    f"{self._insert_ignore} audit_checkpoints (size, note, created_us) "
                    "VALUES (?, ?, ?)" + self._conflict_tail,
                    [(size, note, created_us)],
                )
            ]
        )
        rows = self._read("SELECT note FROM audit_checkpoints WHERE size = ?", (size,))
        return str(rows[0][0])

    def checkpoints(self) -> list[tuple[int, str]]:
        rows = self._read("SELECT size, note FROM audit_checkpoints ORDER BY size")
        return [(int(s), str(n)) for s, n in rows]


def _blob(value: Any) -> bytes:
    """Bytes from a BLOB/BYTEA column; a tampered column of another type still hashes."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    return repr(value).encode("utf-8")


def _stored(row: Sequence[Any]) -> StoredEntry:
    try:
        return StoredEntry(
            int(row[0]),
            EntryRow(
                _blob(row[1]),
                _blob(row[2]),
                int(row[3]),
                str(row[4]),
                str(row[5]),
                str(row[6]),
                str(row[7]),
                None if row[8] is None else str(row[8]),
                None if row[9] is None else str(row[9]),
                str(row[10]),
            ),
        )
    except (TypeError, ValueError):
        raise AuditStoreError("a stored entry row is damaged", index=row[0]) from None


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _runs(numbers: Sequence[int], most: int) -> Iterator[list[int]]:
    """Ascending ``numbers`` in runs of consecutive ones, at most ``most`` long."""
    run: list[int] = []
    for n in numbers:
        if run and (n != run[-1] + 1 or len(run) == most):
            yield run
            run = []
        run.append(n)
    if run:
        yield run


class _WriterFileLock:
    """The lock every SQLite writer of one log takes around its write transaction.

    An exclusive ``flock`` on the file ``<database>-lock`` beside the database. A
    writer waiting for it sleeps in the kernel and wakes as soon as the holder
    releases it, where SQLite's own busy handler would poll with sleeps growing to
    100 ms (which starves a writer that keeps losing the race: seconds of latency
    under contention). ``BEGIN IMMEDIATE`` still guards the database itself, also
    against writers that do not take this lock. Waiting longer than ``timeout``
    raises :class:`~govkit.errors.AuditStoreLocked`.

    Like SQLite's ``-wal`` and ``-shm``, the file goes when the last writer closes:
    :meth:`remove` unlinks it while holding the lock, and a writer that locked a file
    already unlinked (its inode is no longer the path's) lets go and tries again.
    """

    def __init__(self, path: Path, timeout: float) -> None:
        self._path = path
        self._timeout = timeout
        self._mutex = threading.Lock()  # one thread of this store at a time
        # The thread that waits in the kernel for a contended lock (started on the
        # first wait, once per process: a child after fork starts its own).
        self._requests: queue.SimpleQueue[_LockRequest | None] = queue.SimpleQueue()
        self._waiter_pid = 0

    @classmethod
    def for_database(
        cls, database: Path, timeout: float, suffix: str = "-lock"
    ) -> _WriterFileLock | None:
        """The lock file ``<database><suffix>`` (``-lock``: the writers' lock,
        ``-lock-gate``: the batch gate, ``-lock-small``: small appends waiting);
        ``None`` where there can be no flock."""
        if fcntl is None:  # pragma: no cover - not POSIX
            return None
        return cls(database.with_name(database.name + suffix), timeout)

    def _open(self) -> int:
        return os.open(self._path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)

    def _current(self, fd: int) -> bool:
        """Whether the locked ``fd`` is still the file at the path (not unlinked meanwhile)."""
        try:
            here, there = os.fstat(fd), os.stat(self._path)
        except OSError:
            return False
        return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)

    @contextlib.contextmanager
    def held(self, timeout: float | None = None) -> Iterator[None]:
        """Hold the lock (created on first use); where the file cannot be created,
        e.g. in a folder this process may not write, ``BEGIN IMMEDIATE`` alone.

        ``timeout`` is what is left of the writer's ``busy_timeout`` (default: all of
        it) when it already waited for another lock of the same append (the gate).
        """
        with self._mutex:
            fd = self._acquire(self._timeout if timeout is None else timeout)
            try:
                yield
            finally:
                if fd is not None:
                    os.close(fd)  # releases the flock

    def remove(self) -> None:
        """Unlink the lock file unless another writer has it open and locked (on close)."""
        with self._mutex, contextlib.suppress(OSError):
            fd = os.open(self._path, os.O_RDWR | getattr(os, "O_CLOEXEC", 0))
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if self._current(fd):
                    os.unlink(self._path)
            finally:
                os.close(fd)

    def mark(self) -> int | None:
        """A shared ``flock`` of the file, if it can be had at once (else ``None``).

        Small appends hold one while they wait for the writers' lock, so that a large
        append can see that some are waiting (:meth:`clear`).
        """
        try:
            return self._lock(fcntl.LOCK_NB, shared=True)
        except OSError:
            return None

    def clear(self, most: float) -> None:
        """Wait up to ``most`` seconds until no process holds a :meth:`mark`."""
        started = time.monotonic()  # a wait budget, never a timestamp
        while True:
            try:
                fd = self._lock(fcntl.LOCK_NB)
            except OSError:
                return
            if fd is not None:
                os.close(fd)
                return
            if time.monotonic() - started >= most:
                return
            time.sleep(_CLEAR_POLL)

    def _lock(self, flags: int, *, shared: bool = False) -> int | None:
        """Open and lock the current file; ``None`` if ``LOCK_NB`` found it taken.

        Raises:
            OSError: the file cannot be opened or created.
        """
        while True:
            fd = self._open()
            try:
                fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | flags)
            except BlockingIOError:
                os.close(fd)
                return None
            except BaseException:
                os.close(fd)
                raise
            if self._current(fd):
                return fd
            os.close(fd)  # a closing writer unlinked it: lock the new file instead

    def _acquire(self, timeout: float) -> int | None:
        """The locked file; ``None`` when there can be no lock file (see :meth:`held`)."""
        try:
            fd = self._lock(fcntl.LOCK_NB)
        except OSError:
            return None
        if fd is not None:
            return fd
        # Contended: the waiter thread waits in the kernel (woken at once on release);
        # this thread waits for it, bounded by the timeout. One long-lived thread: a
        # thread started per wait cost more CPU than the append it waited for.
        if self._waiter_pid != os.getpid():
            self._waiter_pid = os.getpid()
            self._requests = queue.SimpleQueue()  # nothing of a parent's queue
            threading.Thread(
                target=self._serve, name="govkit-audit-writer-lock", daemon=True
            ).start()
        request = _LockRequest()
        self._requests.put(request)
        request.ready.wait(timeout)
        with request.guard:
            if request.fd is not None:
                return request.fd
            request.abandoned = True
        if isinstance(request.failed, OSError):  # gone meanwhile and not creatable
            return None
        if request.failed is not None:
            raise request.failed
        raise AuditStoreLocked(
            "the audit store stayed locked by another writer", engine="sqlite", waited=self._timeout
        )

    def _serve(self) -> None:
        """The waiter thread: take the lock for each request; give it back if abandoned."""
        while (request := self._requests.get()) is not None:
            try:
                locked = self._lock(0)
            except BaseException as exc:  # handed to the waiting caller
                with request.guard:
                    request.failed = exc
                request.ready.set()
                continue
            with request.guard:
                if request.abandoned and locked is not None:
                    os.close(locked)  # the caller gave up: let the next writer have it
                else:
                    request.fd = locked
            request.ready.set()

    def stop(self) -> None:
        """End the waiter thread (after its current wait) when the store closes."""
        if self._waiter_pid == os.getpid():
            self._requests.put(None)
            self._waiter_pid = 0


class _LockRequest:
    """One wait of :class:`_WriterFileLock`'s waiter thread for the lock."""

    __slots__ = ("abandoned", "failed", "fd", "guard", "ready")

    def __init__(self) -> None:
        self.guard = threading.Lock()
        self.ready = threading.Event()
        self.fd: int | None = None
        self.failed: BaseException | None = None
        self.abandoned = False


#: A large SQLite append, holding the batch gate, waits at most this long (seconds)
#: for small appends that are waiting for the writers' lock to go first.
#: Measured with 4 one-event and 4 50-event writers: one-event writers 167-173 -> 219-241
#: appends/s each, all writers 9,245-9,628 -> 7,614-8,163 events/s.
_BATCH_YIELD: Final = 0.003
#: How often (seconds) it looks again meanwhile.
_CLEAR_POLL: Final = 0.0002
#: A SQLite writer checkpoints the WAL (PASSIVE) after every this many of its commits.
_CHECKPOINT_EVERY: Final = 64
#: SQLite's own automatic checkpoint, a safety net: pages (of 4 KiB) in the WAL.
_WAL_SAFETY_PAGES: Final = 16_384


class SQLiteStore(_SqlStore):
    """The embedded store: one SQLite file in WAL mode.

    Appends are durable and serialised by ``BEGIN IMMEDIATE``; many processes may
    append to the same file. Writers line up on a ``flock`` of ``<path>-lock``;
    appends of more than ``SMALL_APPEND_ROWS`` (4) rows first take a ``flock`` of
    ``<path>-lock-gate`` and then let small appends that are waiting (a shared
    ``flock`` of ``<path>-lock-small`` each) go first, for up to 3 ms (small appends
    first; the files are removed by the last writer to close). An append commits
    without waiting for the disk and, after releasing the lock, fdatasyncs the WAL
    before it returns (the connection stays ``synchronous=FULL`` for every other
    write); writers checkpoint the WAL themselves after releasing the lock, every 64
    commits and on close.

    Args:
        path: the database file (created if missing, unless ``read_only``).
        busy_timeout: seconds a writer waits for the lock (a large append: for the
            batch gate and the lock together) before
            :class:`~govkit.errors.AuditStoreLocked`.
        durable: ``False`` trades the fsync per commit for speed (``synchronous=NORMAL``).
        read_only: open with ``mode=ro`` and write nothing (also on read-only media,
            where ``immutable=1`` is added); for verification.

    Raises:
        AuditStoreError: the file cannot be opened.
        AuditStoreSchemaError: the file's schema is newer than this release (or, when
            ``read_only``, too old to read without ``govkit db upgrade``).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        busy_timeout: float = 60.0,
        durable: bool = True,
        read_only: bool = False,
    ):
        self._path = Path(path)
        self._use(
            open_database(
                self._path,
                schema=SCHEMA,
                errors=_ERRORS,
                read_only=read_only,
                durable=durable,
                busy_timeout=busy_timeout,
            )
        )
        self._busy_timeout = busy_timeout
        self._file_lock = (
            None if read_only else _WriterFileLock.for_database(self._path, busy_timeout)
        )
        self._gate = (
            None
            if self._file_lock is None
            else _WriterFileLock.for_database(self._path, busy_timeout, "-lock-gate")
        )
        self._waiting = (
            None
            if self._gate is None
            else _WriterFileLock.for_database(self._path, busy_timeout, "-lock-small")
        )
        self._commits = 0
        self._checkpointing = threading.Lock()
        if not read_only:
            # SQLite checkpoints the WAL inside the COMMIT that crosses its threshold,
            # which here would be under the writers' lock, stalling every writer for a
            # database fsync. _after_write checkpoints after the lock is released
            # instead; the raised threshold only bounds the WAL if that never runs.
            self._db.read(f"PRAGMA wal_autocheckpoint={_WAL_SAFETY_PAGES}")

    def _scanned_file(self) -> Path | None:
        return self._path

    def _after_write(self) -> None:
        self._commits += 1
        if self._commits % _CHECKPOINT_EVERY or not self._checkpointing.acquire(blocking=False):
            return
        try:  # PASSIVE: copies what it can without waiting for readers or writers
            with contextlib.suppress(AuditStoreError):
                self._db.read("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            self._checkpointing.release()

    def _writer_lock(self, rows: int = 1) -> contextlib.AbstractContextManager[object]:
        if self._file_lock is None:
            return contextlib.nullcontext()
        if self._gate is None or self._waiting is None:
            return self._file_lock.held()
        if rows <= SMALL_APPEND_ROWS:
            return self._marked(self._file_lock, self._waiting)
        return self._gated(self._file_lock, self._gate, self._waiting)

    @contextlib.contextmanager
    def _marked(self, lock: _WriterFileLock, waiting: _WriterFileLock) -> Iterator[None]:
        """The writers' lock for a small append, marked as waiting while it waits.

        The mark is a shared ``flock`` of ``<path>-lock-small``, taken only if it can
        be had at once and let go as soon as the writers' lock is held (the kernel
        drops it if the process dies). A large append, holding the batch gate, waits
        up to :data:`_BATCH_YIELD` for every mark to go before it waits for the
        writers' lock itself: ``flock`` wakes every waiter on release and the first
        to run wins, so without it a batch took the lock from waiting small appends
        about as often as any one of them did.
        """
        mark = waiting.mark()
        try:
            with lock.held():
                if mark is not None:
                    os.close(mark)
                    mark = None
                yield
        finally:
            if mark is not None:
                os.close(mark)

    @contextlib.contextmanager
    def _gated(
        self, lock: _WriterFileLock, gate: _WriterFileLock, waiting: _WriterFileLock
    ) -> Iterator[None]:
        """The batch gate, then the writers' lock: both waits within one ``busy_timeout``.

        The gate is let go after the writers' lock (so the next large append only
        starts waiting for it once this one is done). A folder that cannot hold the
        gate's file means no gate (the writers' lock alone, as for a small append).
        """
        started = time.monotonic()  # a wait budget, never a timestamp
        with gate.held():
            waiting.clear(_BATCH_YIELD)  # small appends waiting go first, briefly
            left = max(0.0, self._busy_timeout - (time.monotonic() - started))
            with lock.held(left):
                yield

    def close(self) -> None:
        """Close the connection; remove the lock files (lock, gate, small) no writer holds."""
        if self._file_lock is not None and self._commits % _CHECKPOINT_EVERY:
            with contextlib.suppress(AuditStoreError):  # what this writer left in the WAL
                self._db.read("PRAGMA wal_checkpoint(PASSIVE)")
        super().close()
        for lock in (self._file_lock, self._gate, self._waiting):
            if lock is not None:
                lock.remove()
                lock.stop()

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self._path)!r})"


def batch_gate_key(lock_id: int) -> tuple[int, int]:
    """The PostgreSQL batch gate of the writers' lock ``lock_id``: a 32-bit key pair.

    The high and low halves of the 64-bit ``lock_id`` as signed 32-bit numbers, so
    two stores have the same gate only if they have the same lock. PostgreSQL keeps
    locks keyed by a pair apart from those keyed by one 64-bit number (the two key
    spaces do not overlap), which govkit uses everywhere else (the writers' lock, the
    schema lock ``SCHEMA_LOCK``): the gate can meet neither.
    """
    low = lock_id & 0xFFFF_FFFF
    return lock_id >> 32, low - (1 << 32) if low >= 1 << 31 else low


class PostgresStore(_SqlStore):
    """A shared store on PostgreSQL (psycopg 3; install ``govkit[postgres]``).

    Appends from any number of processes and hosts are serialised by
    ``pg_advisory_xact_lock`` taken before the tree size is read, inside the
    transaction that inserts the batch (appends of more than ``SMALL_APPEND_ROWS``
    (4) rows first take the batch gate, a second advisory lock keyed by the pair of
    the two halves of ``lock_id``: small appends first); it commits without waiting
    for the disk and the append then waits for the WAL flush
    (``pg_logical_emit_message``), so the lock is never held through an fsync.
    Appends run whole on the server, in a session-local PL/pgSQL function
    (``pg_temp.govkit_audit_append``), so the lock is never held across a client
    round trip either (a batch holding the gate first waits, at most
    ``PG_BATCH_YIELD_MS``, while small appends hold or wait for the lock); where the role
    may not create temporary objects they append from the client. A connection
    broken by a server restart is replaced on the next call.

    Args:
        url: a ``postgresql://`` connection URL.
        lock_id: the advisory lock key; defaults to a stable hash of the schema name.
        connect_timeout: seconds to wait for a connection.
        read_only: every transaction is ``READ ONLY``; for verification.
    """

    def __init__(
        self,
        url: str,
        *,
        lock_id: int | None = None,
        connect_timeout: int = 10,
        read_only: bool = False,
    ):
        if not is_postgres_url(url):
            raise ConfigurationError("a PostgreSQL store needs a postgresql:// URL")
        self._lock_id = lock_id if lock_id is not None else zlib.crc32(b"govkit.audit") - 2**31
        self._use(
            open_database(
                url,
                schema=SCHEMA,
                errors=_ERRORS,
                read_only=read_only,
                connect_timeout=connect_timeout,
            )
        )

    def __repr__(self) -> str:
        return f"PostgresStore({self.url!r})"


def open_store(url: str | Path, **options: Any) -> AuditStore:
    """Open the store a URL names.

    * ``postgresql://...`` or ``postgres://...``: :class:`PostgresStore`;
    * ``sqlite:///path`` or a plain file path: :class:`SQLiteStore`.

    ``options`` go to the store's constructor (``read_only=True`` for verification).
    """
    text = str(url)
    if is_postgres_url(text):
        return PostgresStore(text, **options)
    if text.startswith("sqlite:///"):
        return SQLiteStore(text[len("sqlite:///") :], **options)
    if "://" in text:
        raise ConfigurationError("unsupported audit store URL scheme", scheme=text.split(":", 1)[0])
    return SQLiteStore(text, **options)


def upgrade_store(url: str | Path) -> SchemaUpgrade | None:
    """Bring the audit tables in ``url`` to this release's schema (``govkit db upgrade``).

    Writers upgrade on open anyway; this is for operators, and for stores that are
    only ever opened read-only. It also writes the tiles of a log appended before
    schema version 2 (:meth:`SQLiteStore.fill_tiles`), which writers never do on
    their own. Returns ``None`` when the store holds no audit log (nothing is
    created).

    Raises:
        AuditStoreError: the store cannot be reached or written.
        AuditStoreSchemaError: its schema is newer than this release.
    """
    text = str(url)
    if text.startswith("sqlite:///"):
        text = text[len("sqlite:///") :]
    elif "://" in text and not is_postgres_url(text):
        raise ConfigurationError("unsupported audit store URL scheme", scheme=text.split(":", 1)[0])
    upgrade = upgrade_database(text, schema=SCHEMA, errors=_ERRORS)
    if upgrade is not None:
        store = PostgresStore(text) if is_postgres_url(text) else SQLiteStore(text)
        try:
            store.fill_tiles()
        finally:
            store.close()
    return upgrade


def now_us() -> int:
    """Wall-clock microseconds (for bookkeeping columns, never hashed)."""
    return time.time_ns() // 1000
