"""Tiles: the complete tiles of the tree kept one per row, so a proof reads a few rows.

Evidence that the tile arithmetic addresses every node once; that each append writes
exactly the tiles it completes, byte for byte the tree's nodes, atomically with its
entries; that proofs read from tiles agree with the pure reference functions; that a
changed tile is caught by ``verify_log`` in every band (also the bands above a
verification chunk) and a tile left beyond the log's size is never used; and that a
store of schema version 1, as today's code wrote it, still reads (also read-only,
untouched) and is upgraded in place by its first writer.
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

import govkit.audit._log as log_module
from govkit.audit import AuditLog, EntryRow, NoteSigner, SQLiteStore, upgrade_store, verify_log
from govkit.audit import merkle as mk
from govkit.audit._tree import (
    TILE_BAND,
    TILE_BYTES,
    TILE_HASHES,
    TILE_HEIGHT,
    completed_tiles,
    tile_end,
    tile_key,
    tile_nodes,
    tile_place,
)
from govkit.errors import AuditStoreError, NodeMismatch

ORIGIN = "example.gov/audit-tiles"


def row(i: int) -> EntryRow:
    entry = f'{{"entry":{i}}}'.encode()
    return EntryRow(
        leaf_hash=mk.leaf_hash(entry),
        entry=entry,
        time_us=i,
        actor_id="officer-1",
        actor_type="officer",
        action="licence.issue",
        resource_type="driving_licence",
        resource_id=None,
        correlation_id=None,
        outcome="success",
    )


def fill(store: SQLiteStore, start: int, batches: list[int]) -> int:
    for size in batches:
        assert store.append([row(start + i) for i in range(size)], {}) == start
        start += size
    return start


def leaves_of(size: int) -> list[bytes]:
    return [row(i).leaf_hash for i in range(size)]


def node_of(leaves: list[bytes], level: int, index: int) -> bytes:
    return mk.root_hash(leaves[index << level : (index + 1) << level])


def expected_tile(leaves: list[bytes], band: int, index: int) -> bytes:
    """The tile from the reference tree: its levels bottom up, each left to right."""
    hashes = []
    for rel in range(TILE_HEIGHT):
        count = 64 >> rel
        level = band * TILE_HEIGHT + rel
        hashes += [node_of(leaves, level, i) for i in range(index * count, (index + 1) * count)]
    return b"".join(hashes)


def sql(path: Path, statement: str, *params: object) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as conn, conn:
        return conn.execute(statement, params).fetchall()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    opened = SQLiteStore(tmp_path / "audit.db")
    yield opened
    opened.close()


# --- arithmetic ------------------------------------------------------------------------


def test_every_node_has_one_place_in_one_tile() -> None:
    for band in range(4):
        for index in (0, 1, 5, 2**20 + 3):
            nodes = tile_nodes(band, index)
            assert len(nodes) == len(set(nodes)) == TILE_HASHES
            assert [tile_place(n) for n in nodes] == [
                (tile_key(band, index), offset) for offset in range(TILE_HASHES)
            ]
            top = (band + 1) * TILE_HEIGHT
            # every node lies under the tile's top node, and the top node is not in it
            assert all(i >> (top - lvl) == index for lvl, i in nodes)
            assert (top, index) not in nodes
    assert TILE_BYTES == 4032  # one tile fits one SQLite page of 4 KiB
    assert tile_key(2, 7) == 2 * TILE_BAND + 7
    assert tile_end(0, 0) == 64
    assert tile_end(1, 2) == 3 * 4096


def test_a_tile_is_complete_when_the_node_above_it_is_created() -> None:
    created = [(1, 31, b""), (6, 0, b""), (7, 0, b""), (12, 3, b""), (0, 5, b"")]
    assert completed_tiles(created) == [(0, 0), (1, 3)]


# --- appends write exactly the complete tiles --------------------------------------------


def test_appends_write_every_completed_tile_and_nothing_else(store: SQLiteStore) -> None:
    path = Path(store.url.removeprefix("sqlite:///"))
    size = fill(store, 0, [1, 62, 1, 1, 4000, 32, 1, 100, 4096, 3, 8000])
    leaves = leaves_of(size)
    for band in (0, 1):
        stored = store.tile_range(band, 0, TILE_BAND)
        assert [i for i, _ in stored] == list(range(size >> ((band + 1) * TILE_HEIGHT)))
        for index, hashes in stored[:3] + stored[-3:]:
            assert hashes == expected_tile(leaves, band, index), (band, index)
    assert store.tile_range(2, 0, TILE_BAND) == []  # 16,297 < 2**18: no band-2 tile yet
    (count,) = sql(path, "SELECT count(*) FROM audit_tiles")[0]
    assert count == (size >> 6) + (size >> 12)


def test_proofs_read_from_tiles_match_the_reference(store: SQLiteStore) -> None:
    signer = NoteSigner.generate(ORIGIN)
    log = AuditLog(store, origin=ORIGIN, signer=signer)
    size = fill(store, 0, [1, 63, 64, 1, 4095, 33, 4096, 7])
    leaves = leaves_of(size)
    rng = random.Random(8355)
    sizes = [1, 2, 63, 64, 65, 127, 128, 4095, 4096, 4097, 8191, 8192, 8193, size]
    sizes += rng.sample(range(1, size + 1), 20)
    for n in sizes:
        for index in {0, n - 1, *rng.sample(range(n), min(n, 8))}:
            proof = log.inclusion_proof(index, n)
            assert proof.leaf_hash == leaves[index]
            assert list(proof.hashes) == mk.inclusion_proof(leaves[:n], index), (index, n)
        assert log.root_hash(n) == mk.root_hash(leaves[:n])
    for old in (1, 63, 64, 4096, 5000):
        assert log.consistency_proof(old) == mk.consistency_proof(leaves, old)
    log.checkpoint()
    assert verify_log(log, verifiers=[signer.verifier]).size == size


def test_a_failed_append_leaves_no_tile_behind(store: SQLiteStore) -> None:
    # The tiles are inserted in the append's own transaction: a fault after them
    # (here a statement that fails) leaves neither the entries nor their tiles.
    path = Path(store.url.removeprefix("sqlite:///"))
    fill(store, 0, [60])

    def failing(*args: Any) -> list[Any]:
        statements = list(SQLiteStore._append_statements(store, *args))
        assert any("audit_tiles" in s for s, _ in statements)  # this append completes a tile
        return [*statements, ("INSERT INTO no_such_table VALUES (?)", [(1,)])]

    store._append_statements = failing  # type: ignore[method-assign]
    with pytest.raises(AuditStoreError):
        store.append([row(60 + i) for i in range(10)], {})
    assert store.size() == 60
    assert sql(path, "SELECT count(*) FROM audit_tiles") == [(0,)]
    del store._append_statements
    fill(store, 60, [10])
    assert [i for i, _ in store.tile_range(0, 0, TILE_BAND)] == [0]


# --- tampering ---------------------------------------------------------------------------


def _flip(path: Path, band: int, index: int) -> bytes:
    key = tile_key(band, index)
    (hashes,) = sql(path, "SELECT hashes FROM audit_tiles WHERE tile = ?", key)[0]
    changed = hashes[:40] + bytes([hashes[40] ^ 1]) + hashes[41:]
    sql(path, "UPDATE audit_tiles SET hashes = ? WHERE tile = ?", changed, key)
    return bytes(hashes)


@pytest.mark.parametrize(("band", "index"), [(0, 0), (0, 150), (1, 1), (1, 2)])
def test_a_changed_tile_is_caught_by_verify_log(store: SQLiteStore, band: int, index: int) -> None:
    path = Path(store.url.removeprefix("sqlite:///"))
    signer = NoteSigner.generate(ORIGIN)
    log = AuditLog(store, origin=ORIGIN, signer=signer)
    fill(store, 0, [8192 + 4096 + 100])  # (0, 150), (1, 2): in the last, partial chunk
    log.checkpoint()
    original = _flip(path, band, index)
    with pytest.raises(NodeMismatch) as caught:
        verify_log(log, verifiers=[signer.verifier])
    assert caught.value.context == {"band": band, "index": index}
    sql(path, "UPDATE audit_tiles SET hashes = ? WHERE tile = ?", original, tile_key(band, index))
    assert verify_log(log, verifiers=[signer.verifier]).size == 12388


def test_a_changed_tile_above_the_verification_chunk_is_caught(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With chunks of 64 leaves, band-1 tiles (4,096 leaves) span chunks: verify_log
    # compares them at the end with the nodes it kept, as it does band 2 and up for
    # the real chunk of 8,192 (a log of 2**18 entries would be too slow here).
    monkeypatch.setattr(log_module, "_VERIFY_CHUNK", 64)
    monkeypatch.setattr(log_module, "_CHUNK_LEVELS", 6)
    monkeypatch.setattr(log_module, "_CHUNK_BANDS", 1)
    monkeypatch.setattr(log_module, "_HIGH_LEVEL", TILE_HEIGHT)
    path = Path(store.url.removeprefix("sqlite:///"))
    signer = NoteSigner.generate(ORIGIN)
    log = AuditLog(store, origin=ORIGIN, signer=signer)
    fill(store, 0, [3 * 4096 + 5])
    log.checkpoint()
    assert verify_log(log, verifiers=[signer.verifier]).size == 3 * 4096 + 5
    _flip(path, 1, 2)
    with pytest.raises(NodeMismatch) as caught:
        verify_log(log, verifiers=[signer.verifier])
    assert caught.value.context == {"band": 1, "index": 2}


@pytest.mark.parametrize(
    ("chunk_0", "chunk_1", "context"),
    [
        (("tile", 0, 100), ("node", 1, 4096 + 7), {"band": 0, "index": 100}),
        (("node", 3, 20), ("tile", 0, 128 + 3), {"level": 3, "index": 20}),
        (("node", 12, 1), ("node", 1, 4096), {"level": 12, "index": 1}),
    ],
)
def test_the_first_difference_in_chunk_order_is_reported(
    store: SQLiteStore,
    chunk_0: tuple[str, int, int],
    chunk_1: tuple[str, int, int],
    context: dict[str, int],
) -> None:
    # verify_log has the database compare a chunk's stored nodes and tiles (in a helper
    # thread) while it hashes the next chunk: what it reports is still the first
    # difference of a pass in index order, here one in the first chunk of 8,192 leaves.
    path = Path(store.url.removeprefix("sqlite:///"))
    signer = NoteSigner.generate(ORIGIN)
    log = AuditLog(store, origin=ORIGIN, signer=signer)
    fill(store, 0, [2 * 8192 + 100])
    log.checkpoint()
    for kind, where, index in (chunk_1, chunk_0):
        if kind == "tile":
            _flip(path, where, index)
        else:
            sql(
                path,
                "UPDATE audit_nodes SET hash = ? WHERE level = ? AND idx = ?",
                bytes(32),
                where,
                index,
            )
    with pytest.raises(NodeMismatch) as caught:
        verify_log(log, verifiers=[signer.verifier])
    assert caught.value.context == context


def test_the_database_confirms_only_nodes_and_tiles_equal_row_by_row(store: SQLiteStore) -> None:
    path = Path(store.url.removeprefix("sqlite:///"))
    fill(store, 0, [200])
    leaves = leaves_of(200)
    level_1 = [node_of(leaves, 1, i) for i in range(100)]
    tiles = b"".join(expected_tile(leaves, 0, i) for i in range(3))
    assert store.confirmed([(1, 0, b"".join(level_1))], [(0, 0, tiles)]) == [True, True]
    # a tile the store lacks (the fourth is not complete) is not looked for
    assert store.confirmed([], [(0, 1, tiles[TILE_BYTES:] + bytes(TILE_BYTES))]) == [True]
    assert store.confirmed([], [(0, 0, bytes(TILE_BYTES))]) == [False]
    assert store.confirmed([(1, 0, b"".join(level_1) + bytes(32))], []) == [False]  # 101 rows?
    assert store.confirmed([(1, 1, b"".join(level_1[1:]))], []) == [True]
    assert store.confirmed([(1, 0, b"".join(level_1)[:-1])], []) == [False]  # not whole hashes
    # the same bytes in other rows: a byte moved from one row into the next
    sql(path, "UPDATE audit_nodes SET hash = ? WHERE level = 1 AND idx = 0", level_1[0][:31])
    sql(
        path,
        "UPDATE audit_nodes SET hash = ? WHERE level = 1 AND idx = 1",
        level_1[0][31:] + level_1[1],
    )
    assert store.confirmed([(1, 0, b"".join(level_1))], []) == [False]
    assert store.confirmed([(1, 2, b"".join(level_1[2:]))], []) == [True]
    # a node moved to a REAL index between its neighbours, hash and count unchanged
    sql(path, "UPDATE audit_nodes SET idx = 4.5 WHERE level = 1 AND idx = 5")
    assert store.confirmed([(1, 2, b"".join(level_1[2:]))], []) == [False]
    assert store.confirmed([(1, 6, b"".join(level_1[6:]))], []) == [True]


def test_proofs_use_the_node_rows_when_a_tile_is_damaged(store: SQLiteStore) -> None:
    path = Path(store.url.removeprefix("sqlite:///"))
    signer = NoteSigner.generate(ORIGIN)
    log = AuditLog(store, origin=ORIGIN, signer=signer)
    fill(store, 0, [300])
    log.checkpoint()
    sql(path, "UPDATE audit_tiles SET hashes = ? WHERE tile = 1", b"short")
    leaves = leaves_of(300)
    assert list(log.inclusion_proof(70).hashes) == mk.inclusion_proof(leaves, 70)
    with pytest.raises(NodeMismatch) as caught:
        verify_log(log, verifiers=[signer.verifier])
    assert caught.value.context == {"band": 0, "index": 1}


def test_a_tile_left_beyond_the_size_by_a_truncation_is_never_used(store: SQLiteStore) -> None:
    # The attacker truncates the log to 10 entries (with its nodes) and appends other
    # entries; the old tile 0 (leaves 0-63) stays. Proofs must come from the new tree,
    # and the append that completes tile 0 again replaces it.
    path = Path(store.url.removeprefix("sqlite:///"))
    fill(store, 0, [100])
    sql(path, "DELETE FROM audit_entries WHERE idx >= 10")
    sql(path, "DELETE FROM audit_nodes WHERE (idx + 1) * (1 << level) > 10")
    forged = [row(1000 + i) for i in range(20)]
    assert store.append(forged, {}) == 10
    log = AuditLog(store, origin=ORIGIN)
    leaves = leaves_of(10) + [r.leaf_hash for r in forged]
    for index in (3, 12, 29):
        assert list(log.inclusion_proof(index).hashes) == mk.inclusion_proof(leaves, index)
    more = [row(2000 + i) for i in range(40)]
    store.append(more, {})
    leaves += [r.leaf_hash for r in more]
    assert store.tile_range(0, 0, 1) == [(0, expected_tile(leaves, 0, 0))]
    assert list(log.inclusion_proof(12).hashes) == mk.inclusion_proof(leaves, 12)


# --- a store of schema version 1 ----------------------------------------------------------


def make_version_1(path: Path, size: int, signer: NoteSigner | None = None) -> str | None:
    """The database today's code wrote before tiles: schema version 1, no audit_tiles.

    Written by this release, then taken back to exactly what version 1 wrote (its
    tables are this release's minus ``audit_tiles``); with a signer, checkpointed.
    """
    with AuditLog(SQLiteStore(path), origin=ORIGIN, signer=signer) as log:
        fill(log.store, 0, [size])  # type: ignore[arg-type]
        note = log.checkpoint() if signer is not None else None
    sql(path, "DROP TABLE audit_tiles")
    sql(path, "UPDATE govkit_schema SET version = 1 WHERE component = 'audit'")
    return note


def test_a_version_1_store_reads_and_verifies_read_only_without_a_byte_changed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "audit.db"
    signer = NoteSigner.generate(ORIGIN)
    note = make_version_1(path, 300, signer)
    before = digest(path)
    reader = SQLiteStore(path, read_only=True)
    with AuditLog(reader, origin=ORIGIN) as log:
        leaves = leaves_of(300)
        assert list(log.inclusion_proof(77).hashes) == mk.inclusion_proof(leaves, 77)
        assert reader.tile_range(0, 0, TILE_BAND) == []
        result = verify_log(log, verifiers=[signer.verifier], checkpoint=note)
        assert (result.size, result.checkpoints_checked) == (300, 1)
    assert digest(path) == before


def test_a_version_1_store_is_upgraded_by_its_writer_and_gains_tiles_as_it_grows(
    tmp_path: Path,
) -> None:
    path = tmp_path / "audit.db"
    make_version_1(path, 4100)  # 64 tiles of band 0 and one of band 1 it has no row for
    signer = NoteSigner.generate(ORIGIN)
    with AuditLog(SQLiteStore(path), origin=ORIGIN, signer=signer) as log:
        assert sql(path, "SELECT version FROM govkit_schema WHERE component = 'audit'") == [(2,)]
        store = log.store
        assert isinstance(store, SQLiteStore)
        assert store.tile_range(0, 0, TILE_BAND) == []  # old entries: node rows answer
        leaves = leaves_of(4100)
        assert list(log.inclusion_proof(4000).hashes) == mk.inclusion_proof(leaves, 4000)
        # Entries 4100-8191 complete tiles 64-127 of band 0 (tile 64 half from old
        # entries) and tile 1 of band 1 (its bottom from old and new node rows).
        size = fill(store, 4100, [1, 27, 4064])
        leaves = leaves_of(size)
        band0 = store.tile_range(0, 0, TILE_BAND)
        assert [i for i, _ in band0] == list(range(64, 128))
        assert band0[0][1] == expected_tile(leaves, 0, 64)
        assert store.tile_range(1, 0, TILE_BAND) == [(1, expected_tile(leaves, 1, 1))]
        for index in (5, 4099, 4100, 8000):
            assert list(log.inclusion_proof(index).hashes) == mk.inclusion_proof(leaves, index)
        log.checkpoint()
        assert verify_log(log, verifiers=[signer.verifier]).size == size


def test_db_upgrade_takes_a_version_1_store_to_version_2_and_writes_its_tiles(
    tmp_path: Path,
) -> None:
    path = tmp_path / "audit.db"
    signer = NoteSigner.generate(ORIGIN)
    note = make_version_1(path, 3 * 4096 + 70, signer)
    with closing(SQLiteStore(path)) as writer:  # a writer upgrades, writes no old tiles
        writer.append([row(12358)], {})
        assert [i for i, _ in writer.tile_range(0, 0, TILE_BAND)] == []
    upgrade = upgrade_store(path)
    assert upgrade is not None
    assert (upgrade.before, upgrade.after, upgrade.changed) == (2, 2, False)
    leaves = leaves_of(12359)
    with closing(SQLiteStore(path)) as store:
        band0 = store.tile_range(0, 0, TILE_BAND)
        assert [i for i, _ in band0] == list(range(12359 // 64))
        assert band0[0][1] == expected_tile(leaves, 0, 0)
        assert band0[-1][1] == expected_tile(leaves, 0, 12359 // 64 - 1)
        assert store.tile_range(1, 0, TILE_BAND) == [
            (i, expected_tile(leaves, 1, i)) for i in range(3)
        ]
        assert store.fill_tiles() == 0  # a second run finds every tile there
        with AuditLog(store, origin=ORIGIN, signer=signer) as log:
            assert list(log.inclusion_proof(5000).hashes) == mk.inclusion_proof(leaves, 5000)
            result = verify_log(log, verifiers=[signer.verifier], checkpoint=note)
            assert result.size == 12359


def test_db_upgrade_records_version_2_on_a_version_1_store(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    make_version_1(path, 130)
    upgrade = upgrade_store(path)
    assert upgrade is not None
    assert (upgrade.before, upgrade.after, upgrade.changed) == (1, 2, True)
    assert sql(path, "SELECT tile FROM audit_tiles ORDER BY tile") == [(0,), (1,)]
