"""Tampering with a stored audit log is detected, with a precise error code.

Each test plays one attacker with write access to the SQLite file (but not to the
checkpoint signing key): it opens the file with :mod:`sqlite3` directly, changes
rows, and then checks that :func:`verify_log` raises and that :func:`inspect_log`
reports ``ok == False`` with the same code and the failing check's name. A fixture
first proves the untouched log verifies, so every detection is caused by the
tampering alone.

The log: 13 entries, with checkpoints signed and stored at sizes 5, 8 and 13 (13 is
odd, so its last leaf has no stored interior node above it).
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from govkit.audit import (
    AuditEvent,
    AuditLog,
    Checkpoint,
    NoteSigner,
    NoteVerifier,
    inspect_log,
    merkle,
    sign_checkpoint,
    verify_log,
)
from govkit.errors import (
    CheckpointInvalid,
    CheckpointSignatureInvalid,
    GovkitError,
    InconsistentLog,
    IndexMismatch,
    LeafMismatch,
    LogGap,
    LogTruncated,
    NodeMismatch,
    RootMismatch,
)

ORIGIN = "example.gov/tamper-test"
SIZE = 13
CHECKPOINT_SIZES = (5, 8, 13)
T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def event(i: int, **changes: Any) -> AuditEvent:
    fields: dict[str, Any] = {
        "occurred_at": T0 + timedelta(minutes=i),
        "actor_id": f"clerk-{i}",
        "actor_type": "officer",
        "action": "licence.issue",
        "resource_type": "driving_licence",
        "resource_id": f"GD-{i}",
        "outcome": "success",
        "personal": frozenset(),
    }
    fields.update(changes)
    return AuditEvent(**fields)


@pytest.fixture(scope="module")
def signer() -> NoteSigner:
    return NoteSigner.generate(ORIGIN)


@pytest.fixture(scope="module")
def verifier(signer: NoteSigner) -> NoteVerifier:
    return NoteVerifier.from_vkey(signer.vkey)


def build(path: Path, signer: NoteSigner, events: list[AuditEvent]) -> dict[int, str]:
    """Write ``events``, signing a checkpoint at each of CHECKPOINT_SIZES; return the notes."""
    notes = {}
    with AuditLog(path, origin=ORIGIN, signer=signer) as log:
        for size in CHECKPOINT_SIZES:
            log.append_many(events[log.size() : size])
            notes[size] = log.checkpoint()
    return notes


@pytest.fixture
def db(tmp_path: Path, signer: NoteSigner, verifier: NoteVerifier) -> Path:
    path = tmp_path / "audit.db"
    build(path, signer, [event(i) for i in range(SIZE)])
    assert verify_log(path, verifiers=[verifier], deep=True).size == SIZE  # baseline
    assert inspect_log(path, verifiers=[verifier], deep=True).ok
    return path


def sql(db: Path, statement: str, *params: Any) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute(statement, params).fetchall()
        conn.commit()
        return rows


def entry_bytes(db: Path, index: int) -> bytes:
    return bytes(sql(db, "SELECT entry FROM audit_entries WHERE idx = ?", index)[0][0])


def assert_detected(
    db: Path,
    verifier: NoteVerifier,
    error: type[GovkitError],
    check: str,
    *,
    deep: bool = False,
    checkpoint: str | None = None,
) -> None:
    """verify_log raises ``error``; inspect_log fails ``check`` with the same code."""
    with pytest.raises(error) as caught:
        verify_log(db, verifiers=[verifier], deep=deep, checkpoint=checkpoint)
    assert type(caught.value) is error
    report = inspect_log(db, verifiers=[verifier], deep=deep, checkpoint=checkpoint)
    assert not report.ok
    assert report.code == error.code
    failed = [c for c in report.checks if c.ok is False]
    assert [(c.name, c.code) for c in failed] == [(check, error.code)]
    assert report.to_dict()["code"] == error.code


# --- entries ----------------------------------------------------------------------------


def test_one_flipped_byte_in_a_stored_entry_is_a_leaf_mismatch(
    db: Path, verifier: NoteVerifier
) -> None:
    data = bytearray(entry_bytes(db, 6))
    data[data.index(b"clerk-6") + 6] ^= 0x01  # "clerk-6" -> "clerk-7"
    sql(db, "UPDATE audit_entries SET entry = ? WHERE idx = 6", bytes(data))
    assert LeafMismatch.code == "audit.leaf_mismatch"
    assert_detected(db, verifier, LeafMismatch, "entries")


def test_entry_rewritten_with_recomputed_leaf_hash_is_a_node_mismatch(
    db: Path, verifier: NoteVerifier
) -> None:
    """Leaf 6 sits under the stored node (1, 3): its recomputed parent no longer matches."""
    forged = entry_bytes(db, 6).replace(b'"outcome":"success"', b'"outcome":"failure"')
    sql(
        db,
        "UPDATE audit_entries SET entry = ?, leaf_hash = ? WHERE idx = 6",
        forged,
        merkle.leaf_hash(forged),
    )
    assert NodeMismatch.code == "audit.node_mismatch"
    assert_detected(db, verifier, NodeMismatch, "nodes")


def test_last_lone_leaf_rewritten_with_recomputed_leaf_hash_is_a_root_mismatch(
    db: Path, verifier: NoteVerifier
) -> None:
    """Leaf 12 of a 13-leaf tree has no stored parent; only the signed root covers it."""
    forged = entry_bytes(db, 12).replace(b'"outcome":"success"', b'"outcome":"failure"')
    sql(
        db,
        "UPDATE audit_entries SET entry = ?, leaf_hash = ? WHERE idx = 12",
        forged,
        merkle.leaf_hash(forged),
    )
    assert RootMismatch.code == "audit.root_mismatch"
    assert_detected(db, verifier, RootMismatch, "checkpoints")


def test_entry_rewritten_with_every_node_recomputed_is_a_root_mismatch(
    db: Path, verifier: NoteVerifier
) -> None:
    """An attacker who rebuilds the whole tree still cannot re-sign the checkpoints."""
    forged = entry_bytes(db, 3).replace(b'"outcome":"success"', b'"outcome":"denied"')
    sql(
        db,
        "UPDATE audit_entries SET entry = ?, leaf_hash = ? WHERE idx = 3",
        forged,
        merkle.leaf_hash(forged),
    )
    leaves = [bytes(h) for (h,) in sql(db, "SELECT leaf_hash FROM audit_entries ORDER BY idx")]
    for level, index in sql(db, "SELECT level, idx FROM audit_nodes"):
        subtree = leaves[index << level : (index + 1) << level]
        sql(
            db,
            "UPDATE audit_nodes SET hash = ? WHERE level = ? AND idx = ?",
            merkle.root_hash(subtree),
            level,
            index,
        )
    assert_detected(db, verifier, RootMismatch, "checkpoints")


@pytest.mark.parametrize("index", [0, 6])
def test_entry_deleted_from_the_middle_is_a_gap(
    db: Path, verifier: NoteVerifier, index: int
) -> None:
    sql(db, "DELETE FROM audit_entries WHERE idx = ?", index)
    assert LogGap.code == "audit.gap"
    assert_detected(db, verifier, LogGap, "entries")


@pytest.mark.parametrize(("first", "second"), [(2, 9), (6, 7), (11, 12)])
def test_two_entries_swapped_with_their_leaf_hashes_is_a_node_mismatch(
    db: Path, verifier: NoteVerifier, first: int, second: int
) -> None:
    """Reordering history: each entry still hashes to its leaf, but the tree changes."""
    rows = {
        idx: (bytes(entry), bytes(leaf))
        for idx, entry, leaf in sql(
            db,
            "SELECT idx, entry, leaf_hash FROM audit_entries WHERE idx IN (?, ?)",
            first,
            second,
        )
    }
    for target, source in ((first, second), (second, first)):
        sql(
            db,
            "UPDATE audit_entries SET entry = ?, leaf_hash = ? WHERE idx = ?",
            *rows[source],
            target,
        )
    assert_detected(db, verifier, NodeMismatch, "nodes")


def test_entry_smuggled_in_past_the_writer_lock_is_a_node_mismatch(
    db: Path, verifier: NoteVerifier
) -> None:
    """A row inserted by hand completes leaf pair (12, 13) but no node was stored for it."""
    data = entry_bytes(db, 12).replace(b"clerk-12", b"clerk-99")
    sql(
        db,
        "INSERT INTO audit_entries SELECT 13, ?, ?, time_us, 'clerk-99', actor_type, action, "
        "resource_type, resource_id, correlation_id, outcome FROM audit_entries WHERE idx = 12",
        merkle.leaf_hash(data),
        data,
    )
    assert_detected(db, verifier, NodeMismatch, "nodes")


# --- truncation ---------------------------------------------------------------------------


@pytest.mark.parametrize("removed", [1, 3, SIZE])
def test_log_truncated_below_a_stored_checkpoint_is_detected(
    db: Path, verifier: NoteVerifier, removed: int
) -> None:
    sql(db, "DELETE FROM audit_entries WHERE idx >= ?", SIZE - removed)
    assert LogTruncated.code == "audit.truncated"
    assert_detected(db, verifier, LogTruncated, "checkpoints")


def test_truncation_with_checkpoints_deleted_needs_a_saved_checkpoint(
    db: Path, verifier: NoteVerifier
) -> None:
    """Deleting entries together with the checkpoints covering them leaves a log that is
    internally consistent; a checkpoint a client saved elsewhere is what catches it."""
    saved = dict(sql(db, "SELECT size, note FROM audit_checkpoints"))[SIZE]
    sql(db, "DELETE FROM audit_entries WHERE idx >= 10")
    sql(db, "DELETE FROM audit_checkpoints WHERE size > 10")
    assert verify_log(db, verifiers=[verifier]).size == 10  # undetectable from inside
    assert_detected(db, verifier, LogTruncated, "consistency", checkpoint=saved)


def test_saved_checkpoint_larger_than_the_log_is_truncation(
    tmp_path: Path, db: Path, signer: NoteSigner, verifier: NoteVerifier
) -> None:
    """The client saw size 20; the log shown to the auditor holds 13 entries."""
    longer = tmp_path / "longer.db"
    with AuditLog(longer, origin=ORIGIN, signer=signer) as log:
        log.append_many(event(i) for i in range(20))
        saved = log.checkpoint()
    assert_detected(db, verifier, LogTruncated, "consistency", checkpoint=saved)


# --- nodes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("level", "index"), [(1, 0), (1, 5), (2, 1), (3, 0)])
def test_changed_interior_node_is_a_node_mismatch(
    db: Path, verifier: NoteVerifier, level: int, index: int
) -> None:
    (before,) = sql(db, "SELECT hash FROM audit_nodes WHERE level = ? AND idx = ?", level, index)
    sql(
        db,
        "UPDATE audit_nodes SET hash = ? WHERE level = ? AND idx = ?",
        bytes(32) if bytes(before[0]) != bytes(32) else b"\x01" * 32,
        level,
        index,
    )
    assert_detected(db, verifier, NodeMismatch, "nodes")


def test_deleted_interior_node_is_a_node_mismatch(db: Path, verifier: NoteVerifier) -> None:
    sql(db, "DELETE FROM audit_nodes WHERE level = 2 AND idx = 2")
    assert_detected(db, verifier, NodeMismatch, "nodes")


def test_interior_node_bytes_shifted_into_the_next_row_are_a_node_mismatch(
    db: Path, verifier: NoteVerifier
) -> None:
    """The rows of level 1 still join to the same bytes: each row is compared on its own."""
    (first,), (second,) = sql(db, "SELECT hash FROM audit_nodes WHERE level = 1 AND idx < 2")
    sql(db, "UPDATE audit_nodes SET hash = ? WHERE level = 1 AND idx = 0", first[:31])
    sql(db, "UPDATE audit_nodes SET hash = ? WHERE level = 1 AND idx = 1", first[31:] + second)
    assert_detected(db, verifier, NodeMismatch, "nodes")


def test_interior_node_moved_to_a_fractional_index_is_a_node_mismatch(
    db: Path, verifier: NoteVerifier
) -> None:
    """Node (1, 2) keeps its hash at index 1.5: as many rows, but (1, 2) is gone."""
    sql(db, "UPDATE audit_nodes SET idx = 1.5 WHERE level = 1 AND idx = 2")
    assert sql(db, "SELECT typeof(idx) FROM audit_nodes WHERE level = 1 AND idx = 1.5") == [
        ("real",)
    ]
    assert_detected(db, verifier, NodeMismatch, "nodes")


def test_interior_node_copied_to_a_fractional_index_is_a_node_mismatch(
    db: Path, verifier: NoteVerifier
) -> None:
    """Every node of level 1 is there and right; an extra row (1, 2.5) copies (1, 2)."""
    ((copied,),) = sql(db, "SELECT hash FROM audit_nodes WHERE level = 1 AND idx = 2")
    sql(db, "INSERT INTO audit_nodes (level, idx, hash) VALUES (1, 2.5, ?)", copied)
    assert_detected(db, verifier, NodeMismatch, "nodes")
    with pytest.raises(NodeMismatch) as caught:
        verify_log(db, verifiers=[verifier])
    assert caught.value.context == {"level": 1, "index": 3}  # where the rows part


# --- query columns ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("actor_id", "someone-else"),
        ("resource_id", "GD-999"),
        ("outcome", "denied"),
        ("action", "licence.revoke"),
        ("time_us", 0),
    ],
)
def test_query_column_rewritten_to_mislead_searches_is_caught_only_by_deep_verification(
    db: Path, verifier: NoteVerifier, column: str, value: Any
) -> None:
    """Query columns are not hashed: a default (shallow) pass does not read them, by
    design, so this tampering passes ``deep=False`` and is caught with ``deep=True``."""
    sql(db, f"UPDATE audit_entries SET {column} = ? WHERE idx = 4", value)  # noqa: S608
    assert verify_log(db, verifiers=[verifier]).size == SIZE
    assert inspect_log(db, verifiers=[verifier]).ok
    assert IndexMismatch.code == "audit.index_mismatch"
    assert_detected(db, verifier, IndexMismatch, "columns", deep=True)


# --- checkpoints ----------------------------------------------------------------------------


def test_stored_checkpoint_replaced_by_one_signed_with_another_key(
    db: Path, verifier: NoteVerifier
) -> None:
    (note,) = sql(db, "SELECT note FROM audit_checkpoints WHERE size = 8")[0]
    impostor = NoteSigner.generate(ORIGIN)  # same key name, different key
    sql(
        db,
        "UPDATE audit_checkpoints SET note = ? WHERE size = 8",
        impostor.sign(note.split("\n\n")[0] + "\n"),
    )
    assert CheckpointSignatureInvalid.code == "audit.checkpoint_signature"
    assert_detected(db, verifier, CheckpointSignatureInvalid, "checkpoints")


def test_stored_checkpoint_with_edited_root_keeps_a_stale_signature(
    db: Path, verifier: NoteVerifier
) -> None:
    (note,) = sql(db, "SELECT note FROM audit_checkpoints WHERE size = 5")[0]
    body, signature = note.split("\n\n")
    lines = body.split("\n")
    lines[2] = "A" * 43 + "="
    sql(
        db,
        "UPDATE audit_checkpoints SET note = ? WHERE size = 5",
        "\n".join(lines) + "\n\n" + signature,
    )
    assert_detected(db, verifier, CheckpointSignatureInvalid, "checkpoints")


def test_checkpoint_of_another_log_by_the_same_key_is_rejected_by_origin(
    db: Path, signer: NoteSigner, verifier: NoteVerifier
) -> None:
    (root,) = sql(db, "SELECT note FROM audit_checkpoints WHERE size = 5")[0]
    other = Checkpoint(
        "example.gov/another-log", 5, Checkpoint.parse(root.split("\n\n")[0] + "\n").root_hash
    )
    sql(db, "UPDATE audit_checkpoints SET note = ? WHERE size = 5", sign_checkpoint(other, signer))
    assert CheckpointInvalid.code == "audit.checkpoint_malformed"
    assert_detected(db, verifier, CheckpointInvalid, "checkpoints")


def test_forged_saved_checkpoint_by_another_key_is_rejected(
    db: Path, verifier: NoteVerifier
) -> None:
    impostor = NoteSigner.generate(ORIGIN)
    forged = sign_checkpoint(Checkpoint(ORIGIN, 8, bytes(32)), impostor)
    assert_detected(db, verifier, CheckpointSignatureInvalid, "consistency", checkpoint=forged)


# --- forks ------------------------------------------------------------------------------------

SHARED = 6


@pytest.fixture
def forked(tmp_path: Path, signer: NoteSigner) -> tuple[Path, dict[int, str]]:
    """Same key and origin; the first SHARED entries equal ``db``'s, then history differs."""
    path = tmp_path / "forked.db"
    events = [event(i) for i in range(SHARED)]
    events += [event(i, outcome="denied") for i in range(SHARED, SIZE)]
    return path, build(path, signer, events)


def test_forked_log_is_inconsistent_with_a_checkpoint_saved_from_the_other_branch(
    db: Path, forked: tuple[Path, dict[int, str]], verifier: NoteVerifier
) -> None:
    fork, _ = forked
    saved = dict(sql(db, "SELECT size, note FROM audit_checkpoints"))[8]  # 8 > SHARED
    # The fork is internally consistent and correctly signed: only the saved
    # checkpoint exposes it.
    assert verify_log(fork, verifiers=[verifier], deep=True).size == SIZE
    assert InconsistentLog.code == "audit.inconsistent"
    assert_detected(fork, verifier, InconsistentLog, "consistency", checkpoint=saved)


def test_forked_log_agrees_with_checkpoints_from_the_shared_prefix(
    db: Path, forked: tuple[Path, dict[int, str]], signer: NoteSigner, verifier: NoteVerifier
) -> None:
    fork, fork_notes = forked
    with AuditLog(db, origin=ORIGIN, signer=signer) as honest:
        prefix = sign_checkpoint(Checkpoint(ORIGIN, SHARED, honest.root_hash(SHARED)), signer)
    assert verify_log(fork, verifiers=[verifier], checkpoint=prefix).size == SIZE
    assert_detected(db, verifier, InconsistentLog, "consistency", checkpoint=fork_notes[8])
