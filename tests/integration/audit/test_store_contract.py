"""The audit-store contract, run unchanged against every backend (SQLite and PostgreSQL).

``store_factory`` opens a store on one location (a SQLite file under ``tmp_path``, or
a fresh PostgreSQL database per test); calling it again opens a second handle on the
same data, as another process would. Tree hashes are checked against
:mod:`govkit.audit.merkle`, the pure reference functions, over the same leaves.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from govkit.audit import (
    AuditEvent,
    AuditLog,
    AuditStore,
    EntryRow,
    NoteSigner,
    PostgresStore,
    Query,
    SQLiteStore,
    verify_log,
)
from govkit.audit import merkle as mk
from govkit.errors import (
    AuditStoreError,
    ConfigurationError,
    LeafMismatch,
    LogGap,
    NodeMismatch,
)

ORIGIN = "example.gov/audit-contract"
T0_US = 1_795_852_800_000_000  # 2026-11-28T00:00:00Z in microseconds
T0 = datetime(2026, 11, 28, tzinfo=UTC)

StoreFactory = Callable[[], AuditStore]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """Opens handles on one store location of the parametrized backend."""
    opened: list[AuditStore] = []
    if request.param == "sqlite":
        path = tmp_path / "audit.db"

        def make() -> AuditStore:
            opened.append(SQLiteStore(path))
            return opened[-1]

    else:
        url = request.getfixturevalue("pg_store_url")

        def make() -> AuditStore:
            opened.append(PostgresStore(url))
            return opened[-1]

    yield make
    for store in opened:
        store.close()


def make_row(i: int) -> EntryRow:
    """Row ``i``: its query columns cycle with different periods, so filters combine."""
    entry = f'{{"entry":{i},"pad":"{"x" * (i % 37)}"}}'.encode()
    return EntryRow(
        leaf_hash=mk.leaf_hash(entry),
        entry=entry,
        time_us=T0_US + (i * 7919 % 1000) * 1_000_000,  # not in index order
        actor_id=("officer-1", "officer-2", "hmac-sha256:cGVyc29u")[i % 3],
        actor_type=("officer", "person")[i % 2],
        action=("licence.issue", "licence.verify", "licence.revoke", "licence.renew", "x.y")[i % 5],
        resource_type=("driving_licence", "business_licence", "permit", "record")[i % 4],
        resource_id=None if i % 7 == 0 else f"R-{i % 6}",
        correlation_id=None if i % 11 == 0 else f"c-{i % 13}",
        outcome=("success", "failure", "denied", "error")[(i // 2) % 4],
    )


def fill(store: AuditStore, sizes: Sequence[int]) -> list[EntryRow]:
    """Append batches of ``sizes`` rows; return every row in index order."""
    rows: list[EntryRow] = []
    for size in sizes:
        batch = [make_row(len(rows) + i) for i in range(size)]
        store.append(batch, {})
        rows.extend(batch)
    return rows


def perfect_nodes_of(size: int) -> list[tuple[int, int]]:
    """Every complete perfect subtree of a tree of ``size`` leaves, as (level, index)."""
    nodes = []
    level = 0
    while 1 << level <= size:
        nodes.extend((level, i) for i in range(size >> level))
        level += 1
    return nodes


def expected_node(leaves: Sequence[bytes], level: int, index: int) -> bytes:
    return mk.root_hash(leaves[index << level : (index + 1) << level])


def event(i: int) -> AuditEvent:
    return AuditEvent(
        occurred_at=T0 + timedelta(seconds=i),
        actor_id=f"citizen-{i % 5}",
        actor_type="person",
        action="licence.issue",
        resource_type="driving_licence",
        resource_id=f"GD-{i}",
        correlation_id=f"req-{i}",
        details={"n": i, "note": "y" * (1 + i % 23)},
    )


QUERY_CASES: dict[str, tuple[Query, Callable[[int, EntryRow], bool]]] = {
    "everything": (Query(), lambda i, r: True),
    "actor_ids": (Query(actor_ids=("officer-2",)), lambda i, r: r.actor_id == "officer-2"),
    "actor_ids alternatives": (
        Query(actor_ids=("officer-1", "hmac-sha256:cGVyc29u")),
        lambda i, r: r.actor_id in ("officer-1", "hmac-sha256:cGVyc29u"),
    ),
    "actor_type": (Query(actor_type="person"), lambda i, r: r.actor_type == "person"),
    "action": (Query(action="licence.revoke"), lambda i, r: r.action == "licence.revoke"),
    "resource_type": (Query(resource_type="permit"), lambda i, r: r.resource_type == "permit"),
    "resource_ids": (
        Query(resource_ids=("R-1", "R-4")),
        lambda i, r: r.resource_id in ("R-1", "R-4"),
    ),
    "correlation_id": (Query(correlation_id="c-5"), lambda i, r: r.correlation_id == "c-5"),
    "outcome": (Query(outcome="denied"), lambda i, r: r.outcome == "denied"),
    "since (inclusive)": (
        Query(since_us=T0_US + 500_000_000),
        lambda i, r: r.time_us >= T0_US + 500_000_000,
    ),
    "until (exclusive)": (
        Query(until_us=T0_US + 250_000_000),
        lambda i, r: r.time_us < T0_US + 250_000_000,
    ),
    "time range": (
        Query(since_us=T0_US + 100_000_000, until_us=T0_US + 300_000_000),
        lambda i, r: T0_US + 100_000_000 <= r.time_us < T0_US + 300_000_000,
    ),
    "after_index": (Query(after_index=150), lambda i, r: i > 150),
    "combined": (
        Query(
            actor_ids=("officer-1", "officer-2"),
            action="licence.issue",
            outcome="success",
            since_us=T0_US + 100_000_000,
            after_index=20,
        ),
        lambda i, r: (
            r.actor_id in ("officer-1", "officer-2")
            and r.action == "licence.issue"
            and r.outcome == "success"
            and r.time_us >= T0_US + 100_000_000
            and i > 20
        ),
    ),
    "nothing matches": (Query(action="no.such.action"), lambda i, r: False),
}


class TestStoreContract:
    """What :class:`~govkit.audit.AuditLog` relies on from any :class:`AuditStore`."""

    def test_is_an_audit_store(self, store_factory: StoreFactory) -> None:
        store = store_factory()
        assert isinstance(store, AuditStore)
        assert store.url.startswith(("sqlite:///", "postgresql://"))
        assert store.size() == 0
        assert store.checkpoints() == []

    def test_origin_is_recorded_once_and_another_origin_is_refused(
        self, store_factory: StoreFactory
    ) -> None:
        store = store_factory()
        assert store.origin() is None
        store.set_origin(ORIGIN)
        store.set_origin(ORIGIN)  # the same origin again is fine
        assert store.origin() == ORIGIN
        with pytest.raises(ConfigurationError):
            store.set_origin("example.gov/another-log")
        second = store_factory()  # another handle, as another process would open
        assert second.origin() == ORIGIN
        with pytest.raises(ConfigurationError):
            second.set_origin("example.gov/another-log")
        with pytest.raises(ConfigurationError):
            AuditLog(second, origin="example.gov/another-log")
        assert store.origin() == ORIGIN

    def test_appends_get_dense_first_indexes(self, store_factory: StoreFactory) -> None:
        store = store_factory()
        firsts = []
        total = 0
        for size in (1, 3, 1, 7, 16, 5, 1, 64, 2):
            firsts.append(store.append([make_row(total + i) for i in range(size)], {}))
            total += size
            assert store.size() == total
        assert firsts == [0, 1, 4, 5, 12, 28, 33, 34, 98]
        assert store.append([], {}) == total  # an empty append changes nothing
        assert store.size() == total
        assert store_factory().size() == total  # durable, seen by another handle
        assert store_factory().append([make_row(total)], {}) == total

    def test_nodes_agree_with_the_reference_merkle_tree_at_every_size(
        self, store_factory: StoreFactory
    ) -> None:
        store = store_factory()
        rows: list[EntryRow] = []
        # Batch boundaries fall on, before and after powers of two.
        for size in (1, 1, 1, 2, 3, 8, 15, 1, 32, 33, 7, 100):
            rows.extend(fill_more(store, len(rows), size))
            leaves = [r.leaf_hash for r in rows]
            coords = perfect_nodes_of(len(rows))
            got = store.nodes(coords)
            assert set(got) == set(coords)
            for level, index in coords:
                assert got[(level, index)] == expected_node(leaves, level, index), (level, index)

    def test_nodes_beyond_the_tree_are_reported_missing(self, store_factory: StoreFactory) -> None:
        store = store_factory()
        fill(store, [5])
        assert store.nodes([(2, 0)])  # leaves 0..3: complete
        with pytest.raises(AuditStoreError):
            store.nodes([(0, 5)])  # no leaf 5
        with pytest.raises(AuditStoreError):
            store.nodes([(1, 2)])  # leaves 4..5: incomplete
        with pytest.raises(AuditStoreError):
            store.nodes([(3, 0)])  # leaves 0..7: incomplete

    def test_node_range_lists_stored_nodes_of_one_level(self, store_factory: StoreFactory) -> None:
        store = store_factory()
        rows = fill(store, [50, 21, 29])
        leaves = [r.leaf_hash for r in rows]
        for level in range(8):
            every = [(i, expected_node(leaves, level, i)) for i in range(100 >> level)]
            assert store.node_range(level, 0, 10**6) == every
            assert store.node_range(level, 1, 3) == every[1:3]
            assert store.node_range(level, 200, 300) == []
        assert store.node_range(0, 10, 12) == [(10, leaves[10]), (11, leaves[11])]

    def test_entries_come_back_byte_for_byte_in_index_order(
        self, store_factory: StoreFactory
    ) -> None:
        store = store_factory()
        rows = fill(store, [10, 1, 40])
        stored = store.entries(0, 51)
        assert [s.index for s in stored] == list(range(51))
        assert [s.row for s in stored] == rows
        assert [s.index for s in store.entries(7, 12)] == [7, 8, 9, 10, 11]
        assert store.entries(51, 100) == []
        assert store.entries(40, 1000)[-1].row == rows[-1]

    @pytest.mark.parametrize("case", list(QUERY_CASES))
    def test_query_filters(self, store_factory: StoreFactory, case: str) -> None:
        store = store_factory()
        rows = fill(store, [100, 1, 99, 60])
        query, wanted = QUERY_CASES[case]
        expected = [i for i, r in enumerate(rows) if wanted(i, r)]
        found = store.query(query)
        assert [s.index for s in found] == expected[: query.limit]
        assert all(s.row == rows[s.index] for s in found)
        limited = store.query(Query(**{**_fields(query), "limit": 7}))
        assert [s.index for s in limited] == expected[:7]
        assert store.query(Query(**{**_fields(query), "limit": 0})) == []

    def test_query_limit_and_after_index_page_through_everything(
        self, store_factory: StoreFactory
    ) -> None:
        store = store_factory()
        fill(store, [130])
        seen: list[int] = []
        after = None
        while page := store.query(Query(action="licence.issue", after_index=after, limit=6)):
            seen.extend(s.index for s in page)
            after = page[-1].index
        assert seen == [i for i in range(130) if i % 5 == 0]

    def test_personal_values_can_be_erased_and_the_erasure_is_remembered(
        self, store_factory: StoreFactory
    ) -> None:
        store = store_factory()
        store.append([make_row(0)], {"hmac-sha256:a": "citizen A", "hmac-sha256:b": "citizen B"})
        store.append([make_row(1)], {"hmac-sha256:a": "citizen A"})  # repeated: kept once
        assert store.personal_value("hmac-sha256:a") == "citizen A"
        assert store.personal_value("hmac-sha256:unknown") is None
        assert not store.is_erased("hmac-sha256:a")
        assert store.erase("hmac-sha256:a", T0_US) == 1
        assert store.personal_value("hmac-sha256:a") is None
        assert store.is_erased("hmac-sha256:a")
        assert store.erase("hmac-sha256:a", T0_US + 1) == 0  # nothing left to remove
        assert store.is_erased("hmac-sha256:a")
        assert store.erase("hmac-sha256:never-stored", T0_US) == 0
        assert store.personal_value("hmac-sha256:b") == "citizen B"
        assert store_factory().is_erased("hmac-sha256:a")
        assert store.size() == 2  # erasure never touches the entries

    def test_a_checkpoint_is_kept_once_per_size(self, store_factory: StoreFactory) -> None:
        store = store_factory()
        assert store.save_checkpoint(5, "first note for 5\n", T0_US) == "first note for 5\n"
        # A second, different note for the same size never replaces the first.
        assert store.save_checkpoint(5, "second note for 5\n", T0_US + 1) == "first note for 5\n"
        assert store_factory().save_checkpoint(5, "third\n", T0_US + 2) == "first note for 5\n"
        assert store.checkpoints() == [(5, "first note for 5\n")]

    def test_checkpoints_are_listed_by_size(self, store_factory: StoreFactory) -> None:
        store = store_factory()
        for size in (10, 3, 70000, 7, 0):
            store.save_checkpoint(size, f"note {size}\n", T0_US - size)
        assert store.checkpoints() == [(s, f"note {s}\n") for s in (0, 3, 7, 10, 70000)]

    def test_log_proofs_match_the_reference_for_many_sizes(
        self, store_factory: StoreFactory
    ) -> None:
        signer = NoteSigner.generate(ORIGIN)
        log = AuditLog(store_factory(), origin=ORIGIN, signer=signer, pseudonym_key=b"k" * 32)
        count = 0
        for size in (1, 2, 1, 4, 9, 16, 31, 1, 64, 100):
            assert log.append_many(event(count + i) for i in range(size)) == list(
                range(count, count + size)
            )
            count += size
            log.checkpoint()
        assert log.size() == count == 229
        leaves = [mk.leaf_hash(e.entry) for e in (log.entry(i) for i in range(count))]
        for size in range(count + 1):
            assert log.root_hash(size) == mk.root_hash(leaves[:size])
        rng = random.Random(229)
        pairs = [(i, s) for s in range(1, 40) for i in range(s)]
        pairs += [(rng.randrange(s), s) for s in rng.choices(range(40, count + 1), k=300)]
        pairs += [(0, count), (count - 1, count), (127, 128), (128, 129)]
        for index, size in pairs:
            proof = log.inclusion_proof(index, size)
            assert proof.leaf_hash == leaves[index]
            assert list(proof.hashes) == mk.inclusion_proof(leaves[:size], index), (index, size)
            proof.verify(mk.root_hash(leaves[:size]))
        olds = [(o, n) for n in range(1, 40) for o in range(1, n + 1)]
        olds += [tuple(sorted(rng.sample(range(1, count + 1), 2))) for _ in range(300)]
        for old, new in olds:
            proof_hashes = log.consistency_proof(old, new)
            assert proof_hashes == mk.consistency_proof(leaves[:new], old), (old, new)
            mk.verify_consistency(
                old, new, mk.root_hash(leaves[:old]), mk.root_hash(leaves[:new]), proof_hashes
            )
        result = verify_log(log, verifiers=[signer.verifier], deep=True)
        assert (result.size, result.root_hash) == (count, mk.root_hash(leaves))
        assert result.checkpoints_checked == 10

    def test_log_reopened_on_another_handle_verifies_and_extends(
        self, store_factory: StoreFactory
    ) -> None:
        signer = NoteSigner.generate(ORIGIN)
        with AuditLog(store_factory(), origin=ORIGIN, signer=signer, pseudonym_key=b"k" * 32) as a:
            a.append_many(event(i) for i in range(20))
            saved = a.checkpoint()
            subject = a.pseudonym("citizen-3")
            assert a.reveal(subject) == "citizen-3"
        with AuditLog(store_factory(), origin=ORIGIN, signer=signer, pseudonym_key=b"k" * 32) as b:
            assert b.append(event(20)) == 20
            assert b.erase("citizen-3") == 1  # logged as entry 21
            assert b.store.is_erased(subject)
            b.checkpoint()
            result = verify_log(b, verifiers=[signer.verifier], checkpoint=saved)
            assert (result.size, result.external_checkpoint_size) == (22, 20)

    def test_changed_entry_bytes_are_detected(
        self, store_factory: StoreFactory, request: pytest.FixtureRequest
    ) -> None:
        signer = NoteSigner.generate(ORIGIN)
        log = AuditLog(store_factory(), origin=ORIGIN, signer=signer, pseudonym_key=b"k" * 32)
        log.append_many(event(i) for i in range(40))
        log.checkpoint()
        forged = log.entry(17).entry.replace(b'"licence.issue"', b'"licence.xssue"')
        _raw_update(
            log.store, request, "UPDATE audit_entries SET entry = ? WHERE idx = 17", (forged,)
        )
        with pytest.raises(LeafMismatch):
            verify_log(log, verifiers=[signer.verifier])

    def test_verify_log_across_chunk_boundaries_catches_changed_nodes_and_gaps(
        self, store_factory: StoreFactory, request: pytest.FixtureRequest
    ) -> None:
        # verify_log reads 8,192 entries at a time: checkpoints on both sides of two
        # chunk boundaries, and stored nodes inside a chunk, of a chunk, and above them.
        signer = NoteSigner.generate(ORIGIN)
        store = store_factory()
        log = AuditLog(store, origin=ORIGIN, signer=signer)
        rows: list[EntryRow] = []
        for size in (1, 8190, 1, 1, 8191, 1, 5):  # 1, 8191, 8192, 8193, 16384, 16385, 16390
            rows.extend(fill_more(store, len(rows), size))
            log.checkpoint()
        leaves = [r.leaf_hash for r in rows]
        result = verify_log(log, verifiers=[signer.verifier])
        assert (result.size, result.root_hash) == (16390, mk.root_hash(leaves))
        assert result.checkpoints_checked == 7
        change = "UPDATE audit_nodes SET hash = ? WHERE level = ? AND idx = ?"
        for level, index in ((14, 0), (13, 1), (3, 1500), (1, 8194)):
            _raw_update(store, request, change, (bytes(32), level, index))
            with pytest.raises(NodeMismatch):
                verify_log(log, verifiers=[signer.verifier])
            _raw_update(store, request, change, (expected_node(leaves, level, index), level, index))
        assert verify_log(log, verifiers=[signer.verifier]).size == 16390
        _raw_update(store, request, "DELETE FROM audit_entries WHERE idx = ?", (9000,))
        with pytest.raises(LogGap) as gap:
            verify_log(log, verifiers=[signer.verifier])
        assert gap.value.context["index"] == 9000

    def test_complete_tiles_are_stored_and_serve_proofs(
        self, store_factory: StoreFactory, request: pytest.FixtureRequest
    ) -> None:
        # Every tile (six levels of nodes under one node, one row) is written by the
        # append that completes it, also when earlier appends wrote part of it.
        signer = NoteSigner.generate(ORIGIN)
        store = store_factory()
        assert isinstance(store, (SQLiteStore, PostgresStore))
        log = AuditLog(store, origin=ORIGIN, signer=signer)
        rows: list[EntryRow] = []
        for size in (1, 62, 1, 4100, 3):
            rows.extend(fill_more(store, len(rows), size))
        log.checkpoint()
        leaves = [r.leaf_hash for r in rows]
        band0 = store.tile_range(0, 0, 1 << 40)
        assert [i for i, _ in band0] == list(range(4167 // 64))
        assert [i for i, _ in store.tile_range(1, 0, 1 << 40)] == [0]

        def tile(band: int, index: int) -> bytes:
            return b"".join(
                expected_node(leaves, band * 6 + rel, i)
                for rel in range(6)
                for i in range(index * (64 >> rel), (index + 1) * (64 >> rel))
            )

        assert band0[0][1] == tile(0, 0)
        assert band0[64][1] == tile(0, 64)
        assert store.tile_range(1, 0, 1) == [(0, tile(1, 0))]
        # A changed node row inside a complete tile: proofs come from the tile (still
        # right), verify_log still reads the rows and reports it.
        change = "UPDATE audit_nodes SET hash = ? WHERE level = ? AND idx = ?"
        _raw_update(store, request, change, (bytes(32), 1, 50))
        assert list(log.inclusion_proof(101).hashes) == mk.inclusion_proof(leaves, 101)
        with pytest.raises(NodeMismatch):
            verify_log(log, verifiers=[signer.verifier])
        _raw_update(store, request, change, (expected_node(leaves, 1, 50), 1, 50))
        # A changed tile is reported with its band and index.
        forged = bytes(32) + tile(0, 64)[32:]
        _raw_update(
            store, request, "UPDATE audit_tiles SET hashes = ? WHERE tile = ?", (forged, 64)
        )
        with pytest.raises(NodeMismatch) as caught:
            verify_log(log, verifiers=[signer.verifier])
        assert caught.value.context == {"band": 0, "index": 64}


def fill_more(store: AuditStore, start: int, size: int) -> list[EntryRow]:
    batch = [make_row(start + i) for i in range(size)]
    assert store.append(batch, {}) == start
    return batch


def _fields(query: Query) -> dict[str, object]:
    return {name: getattr(query, name) for name in Query.__dataclass_fields__}


def _raw_update(
    store: AuditStore, request: pytest.FixtureRequest, statement: str, params: tuple[object, ...]
) -> None:
    """Change the database behind the store's back, as an attacker with SQL access would."""
    if isinstance(store, SQLiteStore):
        path = store.url.removeprefix("sqlite:///")
        with closing(sqlite3.connect(path)) as conn, conn:
            conn.execute(statement, params)
        return
    import psycopg  # noqa: PLC0415

    url = request.getfixturevalue("pg_store_url")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(statement.replace("?", "%s"), params)
