"""The audit log: append, checkpoint, prove, query, export, erase (implementation)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from hashlib import sha256 as _sha256
from operator import itemgetter
from pathlib import Path
from typing import IO, Any, Final, cast

from govkit._aio import offload
from govkit._encoding import b64_decode, b64_encode
from govkit.audit._events import (
    AuditEvent,
    Pseudonymizer,
    decode_entry,
    encode_entry,
    is_pseudonym,
    pseudonyms_for,
    time_micros,
)
from govkit.audit._note import (
    Checkpoint,
    NoteSigner,
    NoteVerifier,
    sign_checkpoint,
    verify_checkpoint,
)
from govkit.audit._pages import DropBehind
from govkit.audit._store import (
    AuditStore,
    EntryRow,
    Query,
    StoredEntry,
    _SqlStore,
    now_us,
    open_store,
)
from govkit.audit._tree import (
    TILE_HEIGHT,
    Node,
    consistency_ranges,
    fold,
    hash_ranges,
    inclusion_ranges,
    leaf_hash,
    node_hash,
    nodes_for,
    perfect_nodes,
    tile_end,
    tile_nodes,
)
from govkit.audit.merkle import EMPTY_ROOT, verify_consistency, verify_inclusion
from govkit.clock import Clock, SystemClock, require_aware
from govkit.errors import (
    AuditError,
    AuditStoreError,
    AuditVerificationError,
    ConfigurationError,
    EncodingError,
    GovkitError,
    InconsistentLog,
    IndexMismatch,
    LeafMismatch,
    LogGap,
    LogTruncated,
    NodeMismatch,
    RootMismatch,
    SubjectErased,
    VerificationError,
)
from govkit.observability import observed
from govkit.report import Check, Report, summary_line

__all__ = [
    "LOG_CHECKS",
    "AuditLog",
    "CheckResult",
    "InclusionProof",
    "LogEntry",
    "LogReport",
    "LogVerification",
    "inspect_log",
    "verify_checkpoint_consistency",
    "verify_export",
    "verify_log",
]

_VERIFY_CHUNK = 8192  # a power of two: stored nodes of level <= 13 end inside a chunk
_CHUNK_LEVELS = _VERIFY_CHUNK.bit_length() - 1
# Tiles of the bands below this one lie inside a chunk; those above are compared at
# the end, with the nodes from level _HIGH_LEVEL up kept meanwhile.
_CHUNK_BANDS = _CHUNK_LEVELS // TILE_HEIGHT
_HIGH_LEVEL = _CHUNK_BANDS * TILE_HEIGHT


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One entry of the log: its index, event, leaf hash and the exact hashed bytes."""

    index: int
    event: AuditEvent
    leaf_hash: bytes
    entry: bytes


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """An RFC 6962 inclusion proof of leaf ``index`` in the tree of ``size`` leaves."""

    index: int
    size: int
    leaf_hash: bytes
    hashes: tuple[bytes, ...]

    def verify(self, root: bytes) -> None:
        """Raise :class:`~govkit.errors.InvalidProof` unless the proof leads to ``root``."""
        verify_inclusion(self.leaf_hash, self.index, self.size, self.hashes, root)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: hashes in standard base64, as C2SP checkpoints write them."""
        return {
            "index": self.index,
            "size": self.size,
            "leaf_hash": b64_encode(self.leaf_hash),
            "hashes": [b64_encode(h) for h in self.hashes],
        }


@dataclass(frozen=True, slots=True)
class LogVerification:
    """What :func:`verify_log` established: size, root and the checkpoints it checked."""

    size: int
    root_hash: bytes
    checkpoints_checked: int
    external_checkpoint_size: int | None


#: One check of a :class:`LogReport` (the name before :class:`govkit.report.Check`).
CheckResult = Check

#: The checks of :func:`inspect_log`, in the order they are made.
LOG_CHECKS: Final = ("entries", "columns", "nodes", "checkpoints", "consistency")


@dataclass(frozen=True, slots=True)
class LogReport(Report):
    """The frozen result of :func:`inspect_log`: every check, and the verdict.

    The checks are :data:`LOG_CHECKS`: ``columns`` is not performed without
    ``deep=True`` and ``consistency`` without a saved ``checkpoint``. JSON
    (:meth:`~govkit.report.Report.to_dict`): ``valid``, ``kind`` (``audit_log``),
    ``code``, ``checks``, then ``store`` (its URL, without a password) and ``size``
    (the entries verified; 0 when verification stopped before the end).
    """

    store: str
    size: int
    checks: tuple[Check, ...]
    kind: str = field(default="audit_log", init=False)

    def json_members(self) -> dict[str, Any]:
        """``store`` and ``size``."""
        return {"store": self.store, "size": self.size}

    def summary(self) -> tuple[str, ...]:
        """How many entries were verified (nothing when the log is not valid)."""
        return self.summary_in("en")

    def summary_in(self, lang: str) -> tuple[str, ...]:
        """:meth:`summary` in ``lang``."""
        return (summary_line("summary.log", lang, size=self.size),) if self.valid else ()


def _append_fields(args: tuple[Any, ...], _: object, indexes: object) -> dict[str, object]:
    """Log fields of an append: the log's origin and how many entries (never an event)."""
    count = len(indexes) if isinstance(indexes, list) else None
    return {"origin": args[0].origin, "entries": count}


class AuditLog:
    """A tamper-evident transparency log of :class:`AuditEvent` records.

    Args:
        store: an :class:`AuditStore`, a file path (SQLite) or a ``postgresql://`` URL.
        origin: the log's C2SP origin, e.g. ``"audit.gd.gov.cn/yss"``; recorded in the
            store on first use and required to match afterwards.
        signer: the :class:`NoteSigner` (Ed25519 or SM2) for checkpoints (needed by
            :meth:`checkpoint`).
        pseudonym_key: the per-log HMAC secret for personal fields (at least 16
            bytes; keep it outside the database). Needed to append events that
            carry personal data, and to query or erase by a clear value.
        keep_personal: keep clear personal values in the erasable side table.
        clock: time source for erasure bookkeeping.

    >>> import tempfile, os
    >>> from datetime import datetime, timezone
    >>> from govkit.audit import AuditEvent, AuditLog, NoteSigner, verify_log
    >>> folder = tempfile.mkdtemp()
    >>> signer = NoteSigner.generate("example.gov/audit")
    >>> log = AuditLog(os.path.join(folder, "audit.db"), origin="example.gov/audit",
    ...                signer=signer, pseudonym_key=b"k" * 32)
    >>> log.append(AuditEvent(
    ...     occurred_at=datetime(2026, 11, 28, 9, 0, tzinfo=timezone.utc),
    ...     actor_id="citizen-7", actor_type="person", action="licence.issue",
    ...     resource_type="driving_licence", resource_id="GD-1"))
    0
    >>> note = log.checkpoint()
    >>> verify_log(log, verifiers=[signer.verifier]).size
    1
    >>> log.close()
    """

    def __init__(
        self,
        store: AuditStore | str | Path,
        *,
        origin: str,
        signer: NoteSigner | None = None,
        pseudonym_key: bytes | None = None,
        keep_personal: bool = True,
        clock: Clock | None = None,
    ) -> None:
        self._store: AuditStore = store if isinstance(store, AuditStore) else open_store(store)
        Checkpoint(origin, 0, EMPTY_ROOT)  # validates the origin
        self._store.set_origin(origin)
        self._origin = origin
        if signer is not None and not isinstance(signer, NoteSigner):
            raise ConfigurationError("signer must be a NoteSigner")
        self._signer = signer
        self._pseudonyms = Pseudonymizer(pseudonym_key) if pseudonym_key is not None else None
        self._keep_personal = keep_personal
        self._clock = clock or SystemClock()

    # -- properties ------------------------------------------------------------

    @property
    def origin(self) -> str:
        """The log's origin."""
        return self._origin

    @property
    def store(self) -> AuditStore:
        """The backing store."""
        return self._store

    @property
    def verifier(self) -> NoteVerifier:
        """The verifier for this log's checkpoints (needs a signer)."""
        return self._require_signer().verifier

    def size(self) -> int:
        """The number of entries."""
        return self._store.size()

    # -- writing -----------------------------------------------------------------

    def _row(self, event: AuditEvent, personal: dict[str, str]) -> EntryRow:
        if not isinstance(event, AuditEvent):
            raise ConfigurationError("append takes AuditEvent objects")
        masked: dict[str, str] = {}
        if self._pseudonyms is not None:
            masked = pseudonyms_for(event, self._pseudonyms)
            if self._keep_personal:
                personal.update({p: getattr(event, name) for name, p in masked.items()})
        else:
            for name in event.personal:
                value = getattr(event, name)
                if value is not None and not is_pseudonym(value):
                    raise ConfigurationError(
                        "the event has personal fields and the log has no pseudonym_key",
                        field=name,
                    )
        data = encode_entry(event, masked)
        return EntryRow(
            leaf_hash=leaf_hash(data),
            entry=data,
            time_us=time_micros(event.occurred_at),
            actor_id=masked.get("actor_id", event.actor_id),
            actor_type=event.actor_type,
            action=event.action,
            resource_type=event.resource_type,
            resource_id=masked.get("resource_id", event.resource_id),
            correlation_id=event.correlation_id,
            outcome=str(event.outcome),
        )

    def append(self, event: AuditEvent) -> int:
        """Append one event durably; return its index."""
        return self.append_many([event])[0]

    @observed("audit.append", "govkit.audit", _append_fields)
    def append_many(self, events: Iterable[AuditEvent]) -> list[int]:
        """Append events in one transaction (all or none); return their indexes."""
        personal: dict[str, str] = {}
        rows = [self._row(e, personal) for e in events]
        if not rows:
            return []
        first = self._store.append(rows, personal)
        return list(range(first, first + len(rows)))

    async def aappend(self, event: AuditEvent) -> int:
        """:meth:`append` for asyncio: same result and errors; the write and its fsync (or
        the PostgreSQL commit) run on govkit's bounded thread pool. Appends made at the
        same time from several tasks share one group commit, as from several threads.

        Cancelling the await does not stop an append that has started: the event may
        be in the log all the same.
        """
        return await offload(self.append, event)

    async def aappend_many(self, events: Iterable[AuditEvent]) -> list[int]:
        """:meth:`append_many` for asyncio (see :meth:`aappend`)."""
        return await offload(self.append_many, list(events))

    # -- reading -----------------------------------------------------------------

    def root_hash(self, size: int | None = None) -> bytes:
        """The tree's root hash at ``size`` (default: now)."""
        size = self._check_size(size)
        if size == 0:
            return EMPTY_ROOT
        nodes = perfect_nodes(0, size)
        known = self._store.nodes(nodes)
        return fold([known[n] for n in nodes])

    def checkpoint(self) -> str:
        """Sign and keep a C2SP checkpoint of the current tree; return the signed note.

        A log never signs two checkpoints for the same size: if one exists, it is
        returned.
        """
        signer = self._require_signer()
        size = self._store.size()
        existing = dict(self._store.checkpoints()).get(size)
        if existing is not None:
            return existing
        note = sign_checkpoint(Checkpoint(self._origin, size, self.root_hash(size)), signer)
        return self._store.save_checkpoint(size, note, now_us())

    def latest_checkpoint(self) -> str | None:
        """The newest stored checkpoint note, if any."""
        stored = self._store.checkpoints()
        return stored[-1][1] if stored else None

    def inclusion_proof(self, index: int, size: int | None = None) -> InclusionProof:
        """Proof that entry ``index`` is in the tree of ``size`` leaves (default: now)."""
        size = self._check_size(size)
        if not isinstance(index, int) or not 0 <= index < size:
            raise ConfigurationError("index must be within the tree", index=index, size=size)
        ranges = inclusion_ranges(index, size)
        known = self._store.nodes(nodes_for([*ranges, (index, index + 1)]))
        return InclusionProof(index, size, known[(0, index)], tuple(hash_ranges(ranges, known)))

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """RFC 6962 consistency proof from ``old_size`` to ``new_size`` (default: now).

        ``0 < old_size <= new_size``; equal sizes give an empty proof. A size-0
        tree is consistent with every tree and needs no proof.
        """
        new_size = self._check_size(new_size)
        if not isinstance(old_size, int) or not 0 < old_size <= new_size:
            raise ConfigurationError(
                "old_size must satisfy 0 < old_size <= new_size", old=old_size, new=new_size
            )
        if old_size == new_size:
            return []
        ranges = consistency_ranges(old_size, new_size)
        return hash_ranges(ranges, self._store.nodes(nodes_for(ranges)))

    def entry(self, index: int) -> LogEntry:
        """The entry at ``index``."""
        found = self._store.entries(index, index + 1) if isinstance(index, int) else []
        if not found:
            raise ConfigurationError("no entry at that index", index=index)
        return _log_entry(found[0])

    def query(
        self,
        *,
        actor_id: str | None = None,
        actor_type: str | None = None,
        action: str | None = None,
        resource_type: str | None = None,
        resource_id: str | None = None,
        correlation_id: str | None = None,
        outcome: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after_index: int | None = None,
        limit: int = 1000,
    ) -> list[LogEntry]:
        """Entries matching every given filter, in index order.

        ``actor_id`` and ``resource_id`` match both a clear value and its pseudonym.
        ``since`` is inclusive, ``until`` exclusive; ``after_index`` pages.
        """
        query = Query(
            actor_ids=self._alternatives(actor_id),
            actor_type=actor_type,
            action=action,
            resource_type=resource_type,
            resource_ids=self._alternatives(resource_id),
            correlation_id=correlation_id,
            outcome=outcome,
            since_us=time_micros(require_aware(since, "since")) if since else None,
            until_us=time_micros(require_aware(until, "until")) if until else None,
            after_index=after_index,
            limit=limit,
        )
        return [_log_entry(s) for s in self._store.query(query)]

    def export(self, *, size: int | None = None, **filters: Any) -> dict[str, Any]:
        """An offline-verifiable evidence package of matching entries.

        Holds a signed checkpoint (made now if needed) and, for each entry, its exact
        bytes and an inclusion proof against that checkpoint. Check it with
        :func:`verify_export`. ``filters`` are those of :meth:`query`; without a
        ``limit`` every matching entry is exported (read in pages).

        The package is built in memory; :meth:`export_to` writes the same package to
        a file entry by entry, in memory that does not grow with the log.
        """
        note, items = self._export_items(size, filters)
        return {
            "type": "govkit.audit.evidence/v1",
            "origin": self._origin,
            "checkpoint": note,
            "entries": list(items),
        }

    def export_to(self, out: IO[str], *, size: int | None = None, **filters: Any) -> int:
        """Write :meth:`export`'s package to the text file ``out`` as JSON; return the count.

        Entries are read in pages and written one by one, so memory stays flat
        however large the log is. The JSON is the same package (``json.load`` of the
        file equals :meth:`export`'s dict). Nothing is written when the checkpoint
        cannot be had (no signer, or no stored checkpoint of ``size``).
        """
        note, items = self._export_items(size, filters)
        out.write(
            '{"type": "govkit.audit.evidence/v1", "origin": '
            f"{json.dumps(self._origin, ensure_ascii=False)}, "
            f'"checkpoint": {json.dumps(note, ensure_ascii=False)}, "entries": ['
        )
        count = 0
        for item in items:
            out.write(("\n" if count == 0 else ",\n") + json.dumps(item, ensure_ascii=False))
            count += 1
        out.write("\n]}\n")
        return count

    def _export_items(
        self, size: int | None, filters: dict[str, Any]
    ) -> tuple[str, Iterator[dict[str, Any]]]:
        """The checkpoint note (got now) and a lazy stream of the package's entries."""
        note = self.checkpoint() if size is None else dict(self._store.checkpoints()).get(size)
        if note is None:
            raise ConfigurationError("no stored checkpoint has that size", size=size)
        checkpoint = Checkpoint.parse(note.split("\n\n", 1)[0] + "\n")
        filters = dict(filters)
        wanted = filters.pop("limit", None)
        after = filters.pop("after_index", None)

        def items() -> Iterator[dict[str, Any]]:
            nonlocal after
            done = 0
            while wanted is None or done < wanted:
                page = self.query(after_index=after, limit=1000, **filters)
                inside = [e for e in page if e.index < checkpoint.size]
                if wanted is not None:
                    inside = inside[: wanted - done]
                # One read of every node the page's proofs need, not one per entry.
                ranges = [inclusion_ranges(e.index, checkpoint.size) for e in inside]
                known = self._store.nodes(nodes_for(r for rs in ranges for r in rs))
                for item, item_ranges in zip(inside, ranges, strict=True):
                    done += 1
                    yield {
                        "index": item.index,
                        "entry": item.entry.decode("utf-8"),
                        "proof": [b64_encode(h) for h in hash_ranges(item_ranges, known)],
                    }
                if len(inside) < len(page) or len(page) < 1000:
                    return
                after = page[-1].index

        return note, items()

    # -- personal data ---------------------------------------------------------

    def pseudonym(self, value: str) -> str:
        """The pseudonym this log gives ``value``."""
        return self._require_pseudonyms()(value)

    def reveal(self, pseudonym: str) -> str:
        """The clear value behind a pseudonym.

        Raises:
            SubjectErased: the value was erased.
            AuditError: no clear value is kept for it.
        """
        value = self._store.personal_value(pseudonym)
        if value is not None:
            return value
        if self._store.is_erased(pseudonym):
            raise SubjectErased("the personal data behind this pseudonym was erased")
        raise AuditError("no clear value is kept for this pseudonym")

    def erase(self, subject: str, *, actor_id: str = "govkit", reason: str | None = None) -> int:
        """Erase the clear value of ``subject`` from the side table; proofs stay valid.

        The erasure itself is logged (with the pseudonym only). Returns the number
        of clear values removed (0 or 1).
        """
        pseudonym = self.pseudonym(subject)
        removed = self._store.erase(pseudonym, now_us())
        self.append(
            AuditEvent(
                occurred_at=self._clock.now(),
                actor_id=actor_id,
                actor_type="system",
                action="audit.erase",
                resource_type="personal_data",
                resource_id=pseudonym,
                reason=reason,
                personal=frozenset(),
                details={"removed": removed},
            )
        )
        return removed

    def close(self) -> None:
        """Close the store."""
        self._store.close()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"AuditLog(origin={self._origin!r}, store={self._store.url!r})"

    # -- helpers -----------------------------------------------------------------

    def _alternatives(self, value: str | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        if self._pseudonyms is None or is_pseudonym(value):
            return (value,)
        return (value, self._pseudonyms(value))

    def _check_size(self, size: int | None) -> int:
        current = self._store.size()
        if size is None:
            return current
        if not isinstance(size, int) or not 0 <= size <= current:
            raise ConfigurationError("size must be within the log", size=size, current=current)
        return size

    def _require_signer(self) -> NoteSigner:
        if self._signer is None:
            raise ConfigurationError("this AuditLog has no checkpoint signer")
        return self._signer

    def _require_pseudonyms(self) -> Pseudonymizer:
        if self._pseudonyms is None:
            raise ConfigurationError("this AuditLog has no pseudonym_key")
        return self._pseudonyms


def _log_entry(stored: StoredEntry) -> LogEntry:
    return LogEntry(
        stored.index, decode_entry(stored.row.entry), stored.row.leaf_hash, stored.row.entry
    )


# --- verification ---------------------------------------------------------------


def _check_columns(stored: StoredEntry) -> None:
    event = decode_entry(stored.row.entry)
    row = stored.row
    expected = (
        time_micros(event.occurred_at),
        event.actor_id,
        event.actor_type,
        event.action,
        event.resource_type,
        event.resource_id,
        event.correlation_id,
        str(event.outcome),
    )
    actual = (
        row.time_us,
        row.actor_id,
        row.actor_type,
        row.action,
        row.resource_type,
        row.resource_id,
        row.correlation_id,
        row.outcome,
    )
    if expected != actual:
        raise IndexMismatch("a query column disagrees with its entry", index=stored.index)


class _Walk:
    """One streaming pass over a store: leaves, interior nodes and roots at sizes.

    Entries are read in chunks of :data:`_VERIFY_CHUNK` leaves, aligned on multiples
    of that power of two, so each full chunk is one perfect subtree: its leaf and
    interior hashes are computed level by level, compared with the stored nodes of
    the chunk, and its root joins a stack of the perfect subtrees (levels above the
    chunk) before it, which are compared with the stored nodes at the end. The
    stored tiles of a built-in store (each complete one; a tile is only used once
    the log reaches its end) are compared with the same recomputed nodes.

    On a built-in store the database makes a chunk's comparisons (stored nodes and
    tiles against the recomputed ones, row by row, returning counts), in a helper
    thread while the next chunk is read and hashed; a range it does not confirm is
    compared here row by row, in chunk order, so the difference reported is the one
    a pass without the helper reports.
    """

    def __init__(self, store: AuditStore, sizes: Iterable[int], deep: bool) -> None:
        self.store = store
        self.wanted = set(sizes)
        self.deep = deep
        self.roots: dict[int, bytes] = {}
        self.node_error: NodeMismatch | None = None
        self.size = 0
        self.tiled = store if isinstance(store, _SqlStore) else None
        self.high: dict[Node, bytes] = {}  # recomputed nodes of level >= _HIGH_LEVEL

    def run(self, progress: Callable[[int, int], None] | None) -> None:
        if self.tiled is None:
            self._run(progress, None)
            return
        # The stored nodes and tiles of a chunk are compared by the database, in one
        # statement that a helper thread runs while the next chunk is hashed (the
        # database works without holding the interpreter's lock; the helper never
        # waits for a read of this thread, nor this thread for its). Its answers are
        # taken in chunk order, and a range it does not confirm is compared here as
        # without it, so the first difference reported is the same.
        # The pages the scan has passed are let go as it goes (see DropBehind).
        pages = DropBehind(self.tiled._scanned_file())

        def passed(done: int, total: int) -> None:
            pages.passed(done, total)
            if progress is not None:
                progress(done, total)

        try:
            with ThreadPoolExecutor(1, thread_name_prefix="govkit-verify") as helper:
                self._run(passed, helper)
        finally:
            pages.close()

    def _run(
        self, progress: Callable[[int, int], None] | None, helper: ThreadPoolExecutor | None
    ) -> None:
        total = self.store.size()
        queued: Callable[[], Callable[[], None]] | None = None  # hands on the last comparison
        stack: list[tuple[int, bytes]] = []  # perfect subtrees of leaves [0, start)
        late: list[tuple[int, int, bytes]] = []
        if 0 in self.wanted:
            self.roots[0] = EMPTY_ROOT
        # node_hash, inlined (this loop is most of the work): a copy of a SHA-256 state
        # that has taken the 0x01 prefix, given both children (cheaper than a new hash).
        interior = _sha256(b"\x01").copy
        start = 0
        while start < total:
            end = min(start + _VERIFY_CHUNK, total)
            rows = self._rows(start, end)
            settle = queued() if queued is not None else None  # compared while we hash
            levels = [self._leaves(start, end, rows)]
            while len(levels[-1]) > 1:
                # An odd last node (of a partial chunk) has no parent here; the roots
                # take it from its own level.
                pairs = iter(levels[-1])
                parents: list[bytes] = []
                keep = parents.append
                for left, right in zip(pairs, pairs, strict=False):
                    state = interior()
                    state.update(left + right)
                    keep(state.digest())
                levels.append(parents)
            if settle is not None:
                settle()
            if self.tiled is None or helper is None:
                self._compare_chunk(start, levels)
            else:
                queued = self._comparison(helper, self.tiled, start, end, levels)
            base = [digest for _, digest in stack]
            for size in sorted(s for s in self.wanted if start < s <= end):
                inside = [
                    levels[lvl][idx - (start >> lvl)] for lvl, idx in perfect_nodes(start, size)
                ]
                self.roots[size] = fold(base + inside)
            if end - start == _VERIFY_CHUNK:
                self._push(stack, levels[-1][0], end, late)
            else:  # the last, partial chunk
                inside = [
                    levels[lvl][idx - (start >> lvl)] for lvl, idx in perfect_nodes(start, end)
                ]
                self.roots[end] = fold(base + inside)
            start = end
            if progress is not None:
                progress(end, total)
        if queued is not None:
            queued()()
        self._compare_late(late)
        if self.tiled is not None:
            self.high.update(((level, index), digest) for level, index, digest in late)
            self._compare_high_tiles(self.tiled, total)
        self.size = total
        if total % _VERIFY_CHUNK == 0:
            self.roots[total] = fold([digest for _, digest in stack]) if stack else EMPTY_ROOT

    def _rows(self, start: int, end: int) -> list[tuple[Any, ...]] | list[StoredEntry]:
        """Entries ``[start, end)``: the rows :meth:`_leaves` checks."""
        if self.deep or not isinstance(self.store, _SqlStore):
            return self.store.entries(start, end)
        return self.store.leaf_rows(start, end)

    def _leaves(
        self, start: int, end: int, read: list[tuple[Any, ...]] | list[StoredEntry]
    ) -> list[bytes]:
        """Check entries ``[start, end)``: dense, each hashing to its leaf; return the leaves."""
        if self.deep or not isinstance(self.store, _SqlStore):
            return self._checked_leaves(start, end, cast("list[StoredEntry]", read))
        rows = cast("list[tuple[Any, ...]]", read)
        leaf = _sha256(b"\x00").copy  # leaf_hash, inlined as node_hash in run()
        leaves: list[bytes] = []
        keep = leaves.append
        try:
            for _, _, entry in rows:
                state = leaf()
                state.update(entry)
                keep(state.digest())
        except TypeError:  # a damaged column: report it in order
            return self._checked_leaves(start, end, self.store.entries(start, end))
        if (
            len(rows) != end - start
            or rows[0][0] != start
            or rows[-1][0] != end - 1
            or leaves != list(map(itemgetter(1), rows))
        ):
            return self._checked_leaves(start, end, self.store.entries(start, end))
        return leaves  # indexes are unique and sorted: first and last prove them dense

    def _checked_leaves(self, start: int, end: int, chunk: list[StoredEntry]) -> list[bytes]:
        leaves = []
        for position, stored in enumerate(chunk, start):
            if stored.index != position:
                raise LogGap("entry indexes are not dense", index=position)
            digest = leaf_hash(stored.row.entry)
            if digest != stored.row.leaf_hash:
                raise LeafMismatch("an entry does not hash to its leaf", index=position)
            if self.deep:
                _check_columns(stored)
            leaves.append(digest)
        if len(chunk) != end - start:
            raise LogGap("entry indexes are not dense", index=start + len(chunk))
        return leaves

    def _compare_chunk(self, start: int, levels: list[list[bytes]]) -> None:
        for level in range(1, len(levels)):
            self._compare_level(start, level, levels[level])

    def _compare_level(self, start: int, level: int, nodes: list[bytes]) -> None:
        first = start >> level
        expected = list(zip(range(first, first + len(nodes)), nodes, strict=True))
        stored = self.store.node_range(level, first, first + len(nodes))
        if stored != expected:
            self._node_failure(level, expected, stored)

    def _comparison(
        self,
        helper: ThreadPoolExecutor,
        store: _SqlStore,
        start: int,
        end: int,
        levels: list[list[bytes]],
    ) -> Callable[[], Callable[[], None]]:
        """Chunk ``[start, end)``'s comparison: its stored nodes and tiles (those inside it)
        against ``levels``. Keeps its high nodes; returns what hands the comparison to
        ``helper`` and returns what waits for the answer and settles it."""
        nodes = [
            (level, start >> level, b"".join(levels[level])) for level in range(1, len(levels))
        ]
        bands = range(_CHUNK_BANDS)
        tiles = []
        for band in bands:
            top = (band + 1) * TILE_HEIGHT
            indexes = range(start >> top, end >> top)
            tiles.append((band, indexes.start, self._tiles_of(band, start, indexes, levels)))
        for level in range(_HIGH_LEVEL, len(levels)):
            first = start >> level
            self.high.update(((level, first + i), d) for i, d in enumerate(levels[level]))

        def begin() -> Callable[[], None]:
            answer = helper.submit(store.confirmed, nodes, tiles)

            def settle() -> None:
                answers = answer.result()
                for (level, _, _), same in zip(nodes, answers, strict=False):
                    if not same:
                        self._compare_level(start, level, levels[level])
                for band, same in zip(bands, answers[len(nodes) :], strict=True):
                    if not same:
                        self._compare_band(store, band, start, end, levels)

            return settle

        return begin

    def _compare_band(
        self, store: _SqlStore, band: int, start: int, end: int, levels: list[list[bytes]]
    ) -> None:
        """Compare the stored tiles of ``band`` inside chunk ``[start, end)``, one by one."""
        top = (band + 1) * TILE_HEIGHT
        for index, hashes in store.tile_range(band, start >> top, end >> top):
            if hashes != self._tiles_of(band, start, (index,), levels):
                self._tile_failure(band, index)

    @staticmethod
    def _tiles_of(
        band: int, start: int, indexes: Iterable[int], levels: list[list[bytes]]
    ) -> bytes:
        """The recomputed tiles ``indexes`` of ``band`` inside the chunk from ``start``, joined."""
        top = (band + 1) * TILE_HEIGHT
        parts: list[bytes] = []
        for index in indexes:
            for level in range(band * TILE_HEIGHT, top):
                count = 1 << (top - level)
                first = index * count - (start >> level)
                parts.extend(levels[level][first : first + count])
        return b"".join(parts)

    def _compare_high_tiles(self, store: _SqlStore, total: int) -> None:
        """Compare the stored tiles of the bands above a chunk, complete at ``total``."""
        band = _CHUNK_BANDS
        while tile_end(band, 0) <= total:
            count = total >> ((band + 1) * TILE_HEIGHT)
            for index, hashes in store.tile_range(band, 0, count):
                nodes = tile_nodes(band, index)
                if hashes != b"".join([self.high.get(node, b"") for node in nodes]):
                    self._tile_failure(band, index)
            band += 1

    def _tile_failure(self, band: int, index: int) -> None:
        if self.node_error is None:
            self.node_error = NodeMismatch("a stored Merkle tile is wrong", band=band, index=index)

    def _push(
        self,
        stack: list[tuple[int, bytes]],
        root: bytes,
        end: int,
        late: list[tuple[int, int, bytes]],
    ) -> None:
        """Add a full chunk's root to the stack, merging the perfect subtrees it completes."""
        level, current = _CHUNK_LEVELS, root
        while stack and stack[-1][0] == level:
            current = node_hash(stack.pop()[1], current)
            level += 1
            late.append((level, (end >> level) - 1, current))
        stack.append((level, current))

    def _compare_late(self, late: list[tuple[int, int, bytes]]) -> None:
        if not late:
            return
        try:
            stored = self.store.nodes([(lvl, idx) for lvl, idx, _ in late])
        except AuditStoreError:
            self.node_error = self.node_error or NodeMismatch("a stored Merkle node is missing")
            return
        for level, index, digest in late:
            if stored[(level, index)] != digest:
                self.node_error = self.node_error or NodeMismatch(
                    "a stored Merkle node is wrong", level=level, index=index
                )
                return

    def _node_failure(
        self, level: int, expected: list[tuple[int, bytes]], stored: list[tuple[int, bytes]]
    ) -> None:
        if self.node_error is None:
            want, got = dict(expected), dict(stored)
            bad = min((i for i in want if want[i] != got.get(i)), default=None)
            if bad is None:  # every node there, with rows beside them (at a REAL index)
                pairs = zip(expected, stored, strict=False)
                bad = next((e[0] for e, s in pairs if e != s), expected[-1][0])
            self.node_error = NodeMismatch(
                "a stored Merkle node is missing or wrong", level=level, index=bad
            )


def _parse_unverified(note: str) -> Checkpoint:
    return Checkpoint.parse(note.split("\n\n", 1)[0] + "\n" if "\n\n" in note else note)


@contextlib.contextmanager
def _opened(target: AuditLog | AuditStore | str | Path) -> Iterator[AuditStore]:
    """The store behind ``target``; a store opened here from a path is closed after."""
    if isinstance(target, AuditLog):
        yield target.store
    elif isinstance(target, AuditStore):
        yield target
    else:  # opened here for verification only: read-only, so read-only media work too
        store = open_store(target, read_only=True)
        try:
            yield store
        finally:
            store.close()


def verify_log(
    target: AuditLog | AuditStore | str | Path,
    *,
    verifiers: Sequence[NoteVerifier],
    checkpoint: str | None = None,
    deep: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> LogVerification:
    """Re-derive every leaf hash and the root; check every stored checkpoint.

    Args:
        target: an :class:`AuditLog`, a store, or a store URL/path.
        verifiers: the log's checkpoint key(s); every stored checkpoint must be
            signed by one of them for the recorded origin.
        checkpoint: a signed checkpoint saved earlier (outside the store). The log
            must still contain its tree: same root at its size.
        deep: also check that every entry is canonical and that the query columns
            agree with it (slower: decodes every entry).
        progress: called with ``(done, total)`` after each chunk.

    Raises:
        LogGap, LeafMismatch, IndexMismatch, NodeMismatch: the stored entries or
            nodes were changed.
        RootMismatch: the entries do not give a stored checkpoint's root.
        LogTruncated: a checkpoint covers more entries than the log holds.
        InconsistentLog: the log is not an extension of the given ``checkpoint``.
        CheckpointInvalid, CheckpointSignatureInvalid: a checkpoint is malformed or
            not signed by a trusted key.
    """
    with _opened(target) as store:
        return _verify(
            store,
            verifiers=verifiers,
            external=checkpoint,
            deep=deep,
            progress=progress,
            record=None,
        )


def _verify(
    store: AuditStore,
    *,
    verifiers: Sequence[NoteVerifier],
    external: str | None,
    deep: bool,
    progress: Callable[[int, int], None] | None,
    record: Callable[[Check], None] | None,
    step: list[str] | None = None,
) -> LogVerification:
    """The checks of :func:`verify_log`; ``step[0]`` names the one being made."""
    where = step if step is not None else [""]

    def passed(name: str, key: str, /, **values: object) -> None:
        if record is not None:  # the detail: a catalogue message (govkit._messages.DETAILS)
            record(Check.described(name, True, key, **values))

    def skipped(name: str, key: str, /, **values: object) -> None:
        if record is not None:
            record(Check.described(name, None, key, **values))

    origin = store.origin()
    stored = store.checkpoints()
    where[0] = "checkpoints"  # the stored checkpoints are read (not yet trusted) first
    parsed = [(_parse_unverified(note), note) for _, note in stored]
    where[0] = "consistency"
    outside = _parse_unverified(external) if external is not None else None
    sizes = [cp.size for cp, _ in parsed] + ([outside.size] if outside else [])
    walk = _Walk(store, sizes, deep)
    where[0] = "entries"
    walk.run(progress)
    passed("entries", "audit.entries", count=walk.size)
    if deep:
        passed("columns", "audit.columns")
    else:
        skipped("columns", "audit.columns_skipped")
    where[0] = "nodes"
    if walk.node_error is not None:
        raise walk.node_error
    passed("nodes", "audit.nodes")
    where[0] = "checkpoints"
    for cp, note in parsed:
        verify_checkpoint(note, verifiers, origin=origin)
        if cp.size > walk.size:
            raise LogTruncated(
                "a stored checkpoint covers entries the log no longer holds",
                checkpoint_size=cp.size,
                size=walk.size,
            )
        if walk.roots[cp.size] != cp.root_hash:
            raise RootMismatch("entries do not give a checkpoint's root", size=cp.size)
    passed("checkpoints", "audit.checkpoints", count=len(parsed))
    where[0] = "consistency"
    if outside is None or external is None:
        skipped("consistency", "audit.no_external")
    else:
        verify_checkpoint(external, verifiers, origin=origin)
        if outside.size > walk.size:
            raise LogTruncated(
                "the log holds fewer entries than the saved checkpoint",
                checkpoint_size=outside.size,
                size=walk.size,
            )
        if walk.roots[outside.size] != outside.root_hash:
            raise InconsistentLog(
                "the log is not an extension of the saved checkpoint (a fork)",
                checkpoint_size=outside.size,
            )
        passed("consistency", "audit.extends", size=outside.size)
    return LogVerification(
        walk.size, walk.roots[walk.size], len(parsed), outside.size if outside else None
    )


def inspect_log(
    target: AuditLog | AuditStore | str | Path,
    *,
    verifiers: Sequence[NoteVerifier],
    checkpoint: str | None = None,
    deep: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> LogReport:
    """Run :func:`verify_log`'s checks and return a report instead of raising.

    Only a :class:`~govkit.errors.VerificationError` (the log or a checkpoint is not
    genuine) becomes a failed check; a store that cannot be read raises its
    ``audit.store*`` error, and bad ``verifiers`` raise
    :class:`~govkit.errors.ConfigurationError`.
    """
    results: list[Check] = []
    step = [""]
    size = 0
    with _opened(target) as store:
        try:
            size = _verify(
                store,
                verifiers=verifiers,
                external=checkpoint,
                deep=deep,
                progress=progress,
                record=results.append,
                step=step,
            ).size
        except GovkitError as exc:
            if not isinstance(exc, VerificationError):
                raise
            name = "columns" if isinstance(exc, IndexMismatch) else step[0]
            results.append(Check.from_error(name, exc))
        return LogReport(store.url, size, tuple(results))


def verify_export(
    package: dict[str, Any], *, verifiers: Sequence[NoteVerifier], origin: str | None = None
) -> list[LogEntry]:
    """Verify an evidence package from :meth:`AuditLog.export`; return its entries.

    ``origin``, when given, is the log the evidence must come from; without it the
    package's own ``origin`` is used (the verifier keys still pin who signed it).

    Raises:
        AuditVerificationError: the package is malformed, its checkpoint is not
            signed by a trusted key, or an entry's proof does not verify.
    """
    try:
        if package.get("type") != "govkit.audit.evidence/v1":
            raise AuditVerificationError("not a govkit evidence package")
        if origin is not None and package["origin"] != origin:
            raise AuditVerificationError("the evidence comes from another log")
        checkpoint = verify_checkpoint(package["checkpoint"], verifiers, origin=package["origin"])
        result = []
        for item in package["entries"]:
            data = item["entry"].encode("utf-8")
            digest = leaf_hash(data)
            hashes = [b64_decode(h, what="proof hash") for h in item["proof"]]
            verify_inclusion(digest, item["index"], checkpoint.size, hashes, checkpoint.root_hash)
            result.append(LogEntry(item["index"], decode_entry(data), digest, data))
    except (KeyError, TypeError, AttributeError, UnicodeEncodeError, EncodingError):
        raise AuditVerificationError("the evidence package is malformed") from None
    return result


def verify_checkpoint_consistency(
    old_note: str, new_note: str, proof: Sequence[bytes], *, verifiers: Sequence[NoteVerifier]
) -> Checkpoint:
    """Check that ``new_note``'s tree extends ``old_note``'s; return the new checkpoint.

    What a witness or a monitoring client does with two checkpoints of one log and
    the log's :meth:`AuditLog.consistency_proof`. A size-0 old checkpoint is
    consistent with every later one.

    Raises:
        InconsistentLog: the two trees are not consistent (someone forked the log).
        CheckpointInvalid, CheckpointSignatureInvalid: a note does not verify.
    """
    old = verify_checkpoint(old_note, verifiers)
    new = verify_checkpoint(new_note, verifiers, origin=old.origin)
    if old.size == 0:
        if old.root_hash != EMPTY_ROOT or proof:
            raise InconsistentLog("a size-0 checkpoint must have the empty root and no proof")
        return new
    try:
        verify_consistency(old.size, new.size, old.root_hash, new.root_hash, proof)
    except AuditVerificationError as exc:
        raise InconsistentLog(
            "the checkpoints are not consistent", old=old.size, new=new.size, reason=exc.code
        ) from None
    return new
