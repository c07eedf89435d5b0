"""The audit log on SQLite: append, checkpoints, proofs, personal data, export.

Every proof the log serves from its stored nodes is compared with the pure
functions of :mod:`govkit.audit.merkle` (themselves checked against the RFC 6962
reference vectors in ``test_merkle.py``) over the same leaves. Checkpoints are
checked as C2SP signed notes with the signer's published vkey only.
"""

from __future__ import annotations

import base64
import copy
import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from govkit.audit import (
    LOG_CHECKS,
    AuditEvent,
    AuditLog,
    Checkpoint,
    NoteSigner,
    NoteVerifier,
    SQLiteStore,
    inspect_log,
    merkle,
    sign_checkpoint,
    verify_checkpoint,
    verify_checkpoint_consistency,
    verify_export,
    verify_log,
)
from govkit.errors import (
    AuditError,
    AuditEventInvalid,
    AuditVerificationError,
    CheckpointInvalid,
    CheckpointSignatureInvalid,
    ConfigurationError,
    InconsistentLog,
    InvalidProof,
    LeafMismatch,
    SubjectErased,
)

ORIGIN = "example.gov/audit-test"
KEY = b"pseudonym-key-for-tests-only-32b"
T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)

CLEAR_ACTOR = "440106199001011234"
CLEAR_ADDRESS = "203.0.113.99"
CLEAR_RESOURCE = "GD-PERSONAL-0001"


def event(i: int, **changes: Any) -> AuditEvent:
    fields: dict[str, Any] = {
        "occurred_at": T0 + timedelta(seconds=i, microseconds=i),
        "actor_id": f"clerk-{i % 3}",
        "actor_type": "officer",
        "action": "licence.issue" if i % 2 else "licence.verify",
        "resource_type": "driving_licence",
        "resource_id": f"GD-{i}",
        "correlation_id": f"req-{i}",
    }
    fields.update(changes)
    return AuditEvent(**fields)


@pytest.fixture(scope="module")
def signer() -> NoteSigner:
    return NoteSigner.generate(ORIGIN)


@pytest.fixture(scope="module")
def vkey_verifier(signer: NoteSigner) -> NoteVerifier:
    """What a log's clients hold: only the published vkey string."""
    return NoteVerifier.from_vkey(signer.vkey)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "audit.db"


@pytest.fixture
def log(db: Path, signer: NoteSigner) -> Iterator[AuditLog]:
    with AuditLog(db, origin=ORIGIN, signer=signer, pseudonym_key=KEY) as opened:
        yield opened


def raw_rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute(sql).fetchall()


def leaves_of(log: AuditLog) -> list[bytes]:
    """Leaf hashes recomputed from the stored entry bytes (not read from the store)."""
    return [merkle.leaf_hash(log.entry(i).entry) for i in range(log.size())]


# --- appending -----------------------------------------------------------------------


def test_append_and_append_many_return_dense_indexes(log: AuditLog) -> None:
    assert log.size() == 0
    assert log.append(event(0)) == 0
    assert log.append(event(1)) == 1
    assert log.append_many(event(i) for i in range(2, 7)) == [2, 3, 4, 5, 6]
    assert log.append_many([]) == []
    assert log.append(event(7)) == 7
    assert log.size() == 8
    assert [log.entry(i).index for i in range(8)] == list(range(8))
    assert log.entry(3).event.correlation_id == "req-3"


def test_entry_bytes_are_the_hashed_leaf(log: AuditLog) -> None:
    log.append_many(event(i) for i in range(3))
    for i in range(3):
        item = log.entry(i)
        assert item.leaf_hash == merkle.leaf_hash(item.entry)
        assert item.event.occurred_at == event(i).occurred_at


def test_batch_with_one_bad_event_writes_nothing(log: AuditLog, db: Path) -> None:
    log.append(event(0))
    oversize = event(2, details={f"k{i}": "𝄞" * 1024 for i in range(64)})
    with pytest.raises(AuditEventInvalid):
        log.append_many([event(1), oversize])
    with pytest.raises(ConfigurationError):
        log.append_many([event(1), "not an event"])  # type: ignore[list-item]
    assert log.size() == 1
    assert raw_rows(db, "SELECT COUNT(*) FROM audit_entries") == [(1,)]


def test_entry_beyond_the_log_is_refused(log: AuditLog) -> None:
    log.append(event(0))
    with pytest.raises(ConfigurationError):
        log.entry(1)


# --- checkpoints -----------------------------------------------------------------------


def test_checkpoint_is_a_c2sp_note_for_the_origin(
    log: AuditLog, signer: NoteSigner, vkey_verifier: NoteVerifier
) -> None:
    log.append_many(event(i) for i in range(5))
    note = log.checkpoint()
    checkpoint = verify_checkpoint(note, [vkey_verifier], origin=ORIGIN)
    assert checkpoint == Checkpoint(ORIGIN, 5, merkle.root_hash(leaves_of(log)))
    body, signature_line = note.split("\n\n")
    assert body + "\n" == checkpoint.body()
    assert body.split("\n") == [ORIGIN, "5", base64.b64encode(checkpoint.root_hash).decode()]
    prefix, encoded = signature_line.rstrip("\n").rsplit(" ", 1)
    assert prefix == f"— {ORIGIN}"
    raw = base64.b64decode(encoded)
    assert raw[:4] == signer.key_id
    assert len(raw) == 4 + 64
    with pytest.raises(CheckpointInvalid, match="origin"):
        verify_checkpoint(note, [vkey_verifier], origin="example.gov/another-log")


def test_checkpoint_of_empty_log_has_the_empty_root(
    log: AuditLog, vkey_verifier: NoteVerifier
) -> None:
    checkpoint = verify_checkpoint(log.checkpoint(), [vkey_verifier], origin=ORIGIN)
    assert (checkpoint.size, checkpoint.root_hash) == (0, merkle.EMPTY_ROOT)


def test_checkpoint_is_idempotent_at_the_same_size(log: AuditLog) -> None:
    log.append_many(event(i) for i in range(3))
    first = log.checkpoint()
    assert log.checkpoint() == first
    assert log.store.checkpoints() == [(3, first)]
    log.append(event(3))
    second = log.checkpoint()
    assert second != first
    assert [size for size, _ in log.store.checkpoints()] == [3, 4]
    assert log.latest_checkpoint() == second


def test_log_without_signer_cannot_checkpoint(db: Path) -> None:
    with AuditLog(db, origin=ORIGIN, pseudonym_key=KEY) as unsigned:
        unsigned.append(event(0))
        with pytest.raises(ConfigurationError, match="signer"):
            unsigned.checkpoint()


# --- proofs -----------------------------------------------------------------------------

PROOF_LOG_SIZE = 37


@pytest.fixture
def filled(log: AuditLog) -> AuditLog:
    # Several batch sizes so that stored nodes are created across batch borders.
    index = 0
    for batch in (1, 2, 5, 1, 8, 3, 16, 1):
        log.append_many(event(index + j) for j in range(batch))
        index += batch
    assert log.size() == PROOF_LOG_SIZE
    return log


def test_roots_at_every_size_equal_the_pure_function(filled: AuditLog) -> None:
    leaves = leaves_of(filled)
    for size in range(PROOF_LOG_SIZE + 1):
        assert filled.root_hash(size) == merkle.root_hash(leaves[:size])


def test_inclusion_proofs_equal_the_pure_function_for_every_index_and_size(
    filled: AuditLog,
) -> None:
    leaves = leaves_of(filled)
    for size in range(1, PROOF_LOG_SIZE + 1):
        root = merkle.root_hash(leaves[:size])
        for index in range(size):
            proof = filled.inclusion_proof(index, size)
            assert (proof.index, proof.size, proof.leaf_hash) == (index, size, leaves[index])
            assert list(proof.hashes) == merkle.inclusion_proof(leaves[:size], index)
            proof.verify(root)


def test_consistency_proofs_equal_the_pure_function_for_every_pair_of_sizes(
    filled: AuditLog,
) -> None:
    leaves = leaves_of(filled)
    for size in range(1, PROOF_LOG_SIZE + 1):
        for old in range(1, size + 1):
            proof = filled.consistency_proof(old, size)
            assert proof == merkle.consistency_proof(leaves[:size], old)
            merkle.verify_consistency(
                old, size, merkle.root_hash(leaves[:old]), merkle.root_hash(leaves[:size]), proof
            )


def test_default_size_is_the_current_tree(filled: AuditLog) -> None:
    assert filled.inclusion_proof(3) == filled.inclusion_proof(3, PROOF_LOG_SIZE)
    assert filled.consistency_proof(10) == filled.consistency_proof(10, PROOF_LOG_SIZE)
    assert filled.root_hash() == filled.root_hash(PROOF_LOG_SIZE)


def test_proofs_for_historical_sizes_verify_against_old_checkpoints(
    log: AuditLog, vkey_verifier: NoteVerifier
) -> None:
    notes = {}
    for size in (5, 12, 20):
        log.append_many(event(i) for i in range(log.size(), size))
        notes[size] = log.checkpoint()
    log.append_many(event(i) for i in range(20, 30))
    for size, note in notes.items():
        checkpoint = verify_checkpoint(note, [vkey_verifier], origin=ORIGIN)
        for index in range(size):
            log.inclusion_proof(index, size).verify(checkpoint.root_hash)
        with pytest.raises(InvalidProof):
            log.inclusion_proof(0, 30).verify(checkpoint.root_hash)
    verify_checkpoint_consistency(
        notes[5], notes[20], log.consistency_proof(5, 20), verifiers=[vkey_verifier]
    )
    verify_checkpoint_consistency(
        notes[12], log.checkpoint(), log.consistency_proof(12), verifiers=[vkey_verifier]
    )


@pytest.mark.parametrize(("index", "size"), [(5, 5), (-1, 5), (0, 6), (0, -1), (0, 0)])
def test_inclusion_proof_outside_the_log_is_refused(log: AuditLog, index: int, size: int) -> None:
    log.append_many(event(i) for i in range(5))
    with pytest.raises(ConfigurationError):
        log.inclusion_proof(index, size)


@pytest.mark.parametrize(("old", "new"), [(0, 5), (6, 5), (3, 6), (-1, 5)])
def test_consistency_proof_outside_the_log_or_from_empty_is_refused(
    log: AuditLog, old: int, new: int
) -> None:
    log.append_many(event(i) for i in range(5))
    with pytest.raises(ConfigurationError):
        log.consistency_proof(old, new)


# --- personal data ------------------------------------------------------------------------

ALL_PERSONAL = frozenset({"actor_id", "client_address", "resource_id"})


def personal_event(i: int) -> AuditEvent:
    return event(
        i,
        actor_id=CLEAR_ACTOR,
        actor_type="person",
        client_address=CLEAR_ADDRESS,
        resource_id=CLEAR_RESOURCE,
        personal=ALL_PERSONAL,
    )


def test_leaf_bytes_never_contain_clear_personal_values(log: AuditLog, db: Path) -> None:
    log.append_many([event(0), personal_event(1), personal_event(2), event(3)])
    rows = raw_rows(db, "SELECT entry, actor_id, resource_id FROM audit_entries ORDER BY idx")
    assert len(rows) == 4
    for clear in (CLEAR_ACTOR, CLEAR_ADDRESS, CLEAR_RESOURCE):
        for entry, actor_id, resource_id in rows:
            assert clear.encode() not in bytes(entry)
            assert clear not in (actor_id, resource_id)
        assert log.pseudonym(clear).encode() in bytes(rows[1][0])
    # The search is able to find things: a field not marked personal is stored in clear,
    # and the clear values do sit in the erasable side table.
    assert b'"id":"GD-0"' in bytes(rows[0][0])
    kept = {value for (value,) in raw_rows(db, "SELECT value FROM audit_personal")}
    assert {CLEAR_ACTOR, CLEAR_ADDRESS, CLEAR_RESOURCE} <= kept


def test_default_personal_fields_are_pseudonymized(log: AuditLog) -> None:
    log.append(event(0, client_address=CLEAR_ADDRESS))
    stored = log.entry(0)
    assert stored.event.actor_id == log.pseudonym("clerk-0")
    assert stored.event.client_address == log.pseudonym(CLEAR_ADDRESS)
    assert stored.event.resource_id == "GD-0"


def test_query_by_clear_value_finds_pseudonymized_entries(log: AuditLog) -> None:
    log.append_many([event(0), personal_event(1), event(2), personal_event(3)])
    by_actor = log.query(actor_id=CLEAR_ACTOR)
    assert [e.index for e in by_actor] == [1, 3]
    assert all(e.event.actor_id == log.pseudonym(CLEAR_ACTOR) for e in by_actor)
    assert [e.index for e in log.query(actor_id=log.pseudonym(CLEAR_ACTOR))] == [1, 3]
    assert [e.index for e in log.query(resource_id=CLEAR_RESOURCE)] == [1, 3]
    assert [e.index for e in log.query(actor_id="nobody")] == []
    assert [e.index for e in log.query(action="licence.issue", actor_id=CLEAR_ACTOR)] == [1, 3]


def test_query_filters_time_and_paging(log: AuditLog) -> None:
    log.append_many(event(i) for i in range(10))
    found = log.query(since=T0 + timedelta(seconds=3), until=T0 + timedelta(seconds=7))
    assert [e.index for e in found] == [3, 4, 5, 6]
    assert [e.index for e in log.query(after_index=7)] == [8, 9]
    assert [e.index for e in log.query(limit=2)] == [0, 1]
    assert [e.index for e in log.query(correlation_id="req-4")] == [4]


def test_reveal_returns_the_clear_value(log: AuditLog) -> None:
    log.append(personal_event(0))
    assert log.reveal(log.pseudonym(CLEAR_ACTOR)) == CLEAR_ACTOR
    assert log.reveal(log.entry(0).event.client_address or "") == CLEAR_ADDRESS
    with pytest.raises(AuditError):
        log.reveal(log.pseudonym("never-logged"))


def test_erasure_removes_the_clear_value_and_never_breaks_a_proof(
    log: AuditLog, db: Path, vkey_verifier: NoteVerifier
) -> None:
    log.append_many([event(0), personal_event(1), event(2), personal_event(3), event(4)])
    old_note = log.checkpoint()
    old = verify_checkpoint(old_note, [vkey_verifier], origin=ORIGIN)
    old_proofs = [log.inclusion_proof(i) for i in range(5)]
    pseudonym = log.pseudonym(CLEAR_ACTOR)

    assert log.erase(CLEAR_ACTOR, actor_id="dpo-1", reason="GDPR art. 17 request") == 1

    with pytest.raises(SubjectErased):
        log.reveal(pseudonym)
    kept = {value for (value,) in raw_rows(db, "SELECT value FROM audit_personal")}
    assert CLEAR_ACTOR not in kept
    assert CLEAR_ADDRESS in kept  # only the named subject is erased
    # The erasure is itself logged, by pseudonym only.
    assert log.size() == 6
    erasure = log.entry(5)
    assert erasure.event.action == "audit.erase"
    assert erasure.event.resource_id == pseudonym
    assert CLEAR_ACTOR.encode() not in erasure.entry
    # The entries still decode and still find the subject by pseudonym.
    assert [e.index for e in log.query(actor_id=pseudonym)] == [1, 3]
    # Every old proof still verifies against the old checkpoint, and the log serves
    # the same proofs again.
    for proof in old_proofs:
        proof.verify(old.root_hash)
        assert log.inclusion_proof(proof.index, 5) == proof
    result = verify_log(log, verifiers=[vkey_verifier], checkpoint=old_note, deep=True)
    assert (result.size, result.external_checkpoint_size) == (6, 5)
    new_note = log.checkpoint()
    verify_checkpoint_consistency(
        old_note, new_note, log.consistency_proof(5), verifiers=[vkey_verifier]
    )
    assert inspect_log(log, verifiers=[vkey_verifier], checkpoint=old_note, deep=True).ok


def test_erasing_twice_removes_nothing_the_second_time(log: AuditLog) -> None:
    log.append(personal_event(0))
    assert log.erase(CLEAR_ACTOR) == 1
    assert log.erase(CLEAR_ACTOR) == 0
    with pytest.raises(SubjectErased):
        log.reveal(log.pseudonym(CLEAR_ACTOR))


def test_keep_personal_false_stores_no_clear_values(db: Path, signer: NoteSigner) -> None:
    with AuditLog(db, origin=ORIGIN, signer=signer, pseudonym_key=KEY, keep_personal=False) as log:
        log.append(personal_event(0))
        assert raw_rows(db, "SELECT COUNT(*) FROM audit_personal") == [(0,)]
        with pytest.raises(AuditError) as caught:
            log.reveal(log.pseudonym(CLEAR_ACTOR))
        assert not isinstance(caught.value, SubjectErased)
        assert [e.index for e in log.query(actor_id=CLEAR_ACTOR)] == [0]


def test_personal_data_in_a_log_without_pseudonym_key_is_refused_and_nothing_written(
    db: Path, signer: NoteSigner
) -> None:
    with AuditLog(db, origin=ORIGIN, signer=signer) as log:
        no_personal = event(0, personal=frozenset())
        with pytest.raises(ConfigurationError, match="pseudonym_key"):
            log.append(personal_event(1))
        with pytest.raises(ConfigurationError, match="pseudonym_key"):
            log.append_many([no_personal, personal_event(1)])
        assert log.size() == 0
        for table in ("audit_entries", "audit_nodes", "audit_personal"):
            assert raw_rows(db, f"SELECT COUNT(*) FROM {table}") == [(0,)]  # noqa: S608
        assert log.append(no_personal) == 0  # events without personal data are fine
        with pytest.raises(ConfigurationError, match="pseudonym_key"):
            log.pseudonym(CLEAR_ACTOR)


def test_pseudonym_key_stays_out_of_repr(log: AuditLog) -> None:
    assert KEY.decode() not in repr(log)
    assert KEY.hex() not in repr(log)


# --- origin ---------------------------------------------------------------------------------


def test_reopening_a_store_with_another_origin_is_refused(db: Path, signer: NoteSigner) -> None:
    with AuditLog(db, origin=ORIGIN, signer=signer, pseudonym_key=KEY) as log:
        log.append(event(0))
    with pytest.raises(ConfigurationError, match="another log origin"):
        AuditLog(db, origin="example.gov/another-log", signer=signer, pseudonym_key=KEY)
    with AuditLog(db, origin=ORIGIN, signer=signer, pseudonym_key=KEY) as again:
        assert again.size() == 1
        assert again.store.origin() == ORIGIN


@pytest.mark.parametrize("origin", ["", "has space", "a+b", "line\nbreak"])
def test_invalid_origin_is_refused(db: Path, origin: str) -> None:
    with pytest.raises(CheckpointInvalid):
        AuditLog(db, origin=origin)


# --- export --------------------------------------------------------------------------------


@pytest.fixture
def exported(log: AuditLog) -> dict[str, Any]:
    log.append_many([event(0), personal_event(1), event(2), personal_event(3), event(4)])
    return log.export(actor_id=CLEAR_ACTOR)


def test_export_round_trip(
    log: AuditLog, exported: dict[str, Any], vkey_verifier: NoteVerifier
) -> None:
    assert exported["type"] == "govkit.audit.evidence/v1"
    assert exported["origin"] == ORIGIN
    entries = verify_export(exported, verifiers=[vkey_verifier])
    assert [e.index for e in entries] == [1, 3]
    assert [e.entry for e in entries] == [log.entry(1).entry, log.entry(3).entry]
    assert all(e.event.actor_id == log.pseudonym(CLEAR_ACTOR) for e in entries)
    assert CLEAR_ACTOR not in str(exported)


def test_export_at_a_historical_size_only_holds_entries_it_covers(
    log: AuditLog, vkey_verifier: NoteVerifier
) -> None:
    log.append_many(event(i) for i in range(3))
    log.checkpoint()
    log.append_many(event(i) for i in range(3, 6))
    package = log.export(size=3)
    assert [e.index for e in verify_export(package, verifiers=[vkey_verifier])] == [0, 1, 2]
    with pytest.raises(ConfigurationError):
        log.export(size=4)  # no checkpoint was signed at that size


def test_export_with_edited_entry_text_is_rejected(
    exported: dict[str, Any], vkey_verifier: NoteVerifier
) -> None:
    forged = copy.deepcopy(exported)
    forged["entries"][0]["entry"] = forged["entries"][0]["entry"].replace(
        '"outcome":"success"', '"outcome":"denied"'
    )
    assert forged != exported
    with pytest.raises(InvalidProof):
        verify_export(forged, verifiers=[vkey_verifier])


def test_export_with_a_flipped_proof_bit_is_rejected(
    exported: dict[str, Any], vkey_verifier: NoteVerifier
) -> None:
    forged = copy.deepcopy(exported)
    raw = bytearray(base64.b64decode(forged["entries"][1]["proof"][0]))
    raw[7] ^= 0x01
    forged["entries"][1]["proof"][0] = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(InvalidProof):
        verify_export(forged, verifiers=[vkey_verifier])


def test_export_claiming_another_index_is_rejected(
    exported: dict[str, Any], vkey_verifier: NoteVerifier
) -> None:
    forged = copy.deepcopy(exported)
    forged["entries"][0]["index"] = 0
    with pytest.raises(InvalidProof):
        verify_export(forged, verifiers=[vkey_verifier])


def test_export_with_checkpoint_signed_by_another_key_is_rejected(
    exported: dict[str, Any], vkey_verifier: NoteVerifier
) -> None:
    body = exported["checkpoint"].split("\n\n")[0] + "\n"
    impostor = NoteSigner.generate(ORIGIN)  # same name, another key
    forged = dict(exported, checkpoint=impostor.sign(body))
    with pytest.raises(CheckpointSignatureInvalid):
        verify_export(forged, verifiers=[vkey_verifier])


def test_export_relabelled_for_another_origin_is_rejected(
    exported: dict[str, Any], vkey_verifier: NoteVerifier
) -> None:
    with pytest.raises(CheckpointInvalid, match="origin"):
        verify_export(dict(exported, origin="example.gov/another-log"), verifiers=[vkey_verifier])


@pytest.mark.parametrize(
    "damage",
    ["type", "entries", "checkpoint", "entry", "proof", "lone_surrogate", "proof_not_base64"],
)
def test_malformed_export_is_rejected(
    exported: dict[str, Any], vkey_verifier: NoteVerifier, damage: str
) -> None:
    """Regression for the last two: they escaped as UnicodeEncodeError / EncodingError."""
    forged = copy.deepcopy(exported)
    if damage == "type":
        forged["type"] = "govkit.audit.evidence/v2"
    elif damage in ("entries", "checkpoint"):
        del forged[damage]
    elif damage == "entry":
        forged["entries"][0]["entry"] = 42
    elif damage == "lone_surrogate":
        forged["entries"][0]["entry"] = json.loads('"{\\ud800}"')  # as JSON would give it
    elif damage == "proof_not_base64":
        forged["entries"][0]["proof"][0] = "not base64!"
    else:
        del forged["entries"][0]["proof"]
    with pytest.raises(AuditVerificationError):
        verify_export(forged, verifiers=[vkey_verifier])


def test_export_of_a_leaf_that_is_not_a_govkit_event_is_rejected(
    exported: dict[str, Any],
) -> None:
    """Even with a valid proof under a trusted checkpoint, a leaf must be a govkit event."""
    forged = copy.deepcopy(exported)
    data = b'{"not": "an audit event"}'
    leaf = merkle.leaf_hash(data)
    root = merkle.root_hash([leaf])
    signer = NoteSigner.generate(ORIGIN)
    forged["checkpoint"] = sign_checkpoint(Checkpoint(ORIGIN, 1, root), signer)
    forged["entries"] = [{"index": 0, "entry": data.decode(), "proof": []}]
    with pytest.raises(LeafMismatch):
        verify_export(forged, verifiers=[signer.verifier])


# --- consistency between checkpoints --------------------------------------------------------


def test_honest_checkpoints_are_consistent(log: AuditLog, vkey_verifier: NoteVerifier) -> None:
    empty_note = log.checkpoint()
    notes = []
    for size in (1, 2, 3, 7, 8, 9, 16, 17):
        log.append_many(event(i) for i in range(log.size(), size))
        notes.append((size, log.checkpoint()))
    for i, (old_size, old_note) in enumerate(notes):
        for new_size, new_note in notes[i:]:
            proof = log.consistency_proof(old_size, new_size)
            result = verify_checkpoint_consistency(
                old_note, new_note, proof, verifiers=[vkey_verifier]
            )
            assert result.size == new_size
    result = verify_checkpoint_consistency(empty_note, notes[-1][1], [], verifiers=[vkey_verifier])
    assert result.size == 17
    with pytest.raises(InconsistentLog):
        verify_checkpoint_consistency(
            empty_note, notes[-1][1], [log.root_hash(1)], verifiers=[vkey_verifier]
        )


def _forked_pair(tmp_path: Path, signer: NoteSigner, shared: int) -> tuple[AuditLog, AuditLog]:
    honest = AuditLog(tmp_path / "honest.db", origin=ORIGIN, signer=signer, pseudonym_key=KEY)
    forked = AuditLog(tmp_path / "forked.db", origin=ORIGIN, signer=signer, pseudonym_key=KEY)
    for log in (honest, forked):
        log.append_many(event(i) for i in range(shared))
    honest.append_many(event(i) for i in range(shared, shared + 6))
    forked.append_many(event(i, outcome="denied") for i in range(shared, shared + 6))
    return honest, forked


def test_forked_log_checkpoints_are_inconsistent(
    tmp_path: Path, signer: NoteSigner, vkey_verifier: NoteVerifier
) -> None:
    shared = 5
    honest, forked = _forked_pair(tmp_path, signer, shared)
    with honest, forked:
        assert honest.root_hash(shared) == forked.root_hash(shared)
        assert honest.root_hash() != forked.root_hash()
        ours = honest.checkpoint()
        theirs = forked.checkpoint()
        for old_size in (shared + 1, shared + 3):
            old_note = sign_checkpoint(
                Checkpoint(ORIGIN, old_size, honest.root_hash(old_size)), signer
            )
            for proof in (
                forked.consistency_proof(old_size),
                honest.consistency_proof(old_size),
            ):
                with pytest.raises(InconsistentLog):
                    verify_checkpoint_consistency(
                        old_note, theirs, proof, verifiers=[vkey_verifier]
                    )
            verify_checkpoint_consistency(
                old_note, ours, honest.consistency_proof(old_size), verifiers=[vkey_verifier]
            )
        # Within the shared prefix the two logs agree, as they should.
        prefix = sign_checkpoint(Checkpoint(ORIGIN, shared, honest.root_hash(shared)), signer)
        verify_checkpoint_consistency(
            prefix, theirs, forked.consistency_proof(shared), verifiers=[vkey_verifier]
        )


def test_checkpoint_of_another_origin_is_not_an_extension(
    tmp_path: Path, signer: NoteSigner, vkey_verifier: NoteVerifier, log: AuditLog
) -> None:
    log.append_many(event(i) for i in range(4))
    old = log.checkpoint()
    other = sign_checkpoint(Checkpoint("example.gov/another-log", 4, log.root_hash()), signer)
    with pytest.raises(CheckpointInvalid, match="origin"):
        verify_checkpoint_consistency(old, other, [], verifiers=[vkey_verifier])


def test_shrinking_checkpoint_is_inconsistent(log: AuditLog, vkey_verifier: NoteVerifier) -> None:
    log.append_many(event(i) for i in range(4))
    small = log.checkpoint()
    log.append_many(event(i) for i in range(4, 8))
    large = log.checkpoint()
    with pytest.raises(InconsistentLog):
        verify_checkpoint_consistency(large, small, [], verifiers=[vkey_verifier])


# --- whole-log verification of an honest log --------------------------------------------------


def test_honest_log_verifies_and_inspects_clean(
    filled: AuditLog, db: Path, vkey_verifier: NoteVerifier
) -> None:
    first = filled.checkpoint()
    filled.append(event(PROOF_LOG_SIZE))
    filled.checkpoint()
    result = verify_log(filled, verifiers=[vkey_verifier], checkpoint=first, deep=True)
    assert result.size == PROOF_LOG_SIZE + 1
    assert result.root_hash == merkle.root_hash(leaves_of(filled))
    assert result.checkpoints_checked == 2
    assert result.external_checkpoint_size == PROOF_LOG_SIZE
    report = inspect_log(db, verifiers=[vkey_verifier], checkpoint=first, deep=True)
    assert report.ok
    assert report.code is None
    assert [c.name for c in report.checks] == list(LOG_CHECKS)
    assert all(c.ok is True for c in report.checks)  # deep and a saved checkpoint: all made
    shallow = inspect_log(db, verifiers=[vkey_verifier])
    assert (shallow.valid, shallow.skipped) == (True, ("columns", "consistency"))
    assert shallow.to_dict()["checks"][1] == {
        "name": "columns",
        "ok": None,
        "code": None,
        "detail": "each entry's canonical form and query columns: only with deep",
    }
    with closing(SQLiteStore(db)) as store:
        assert verify_log(store, verifiers=[vkey_verifier]).size == PROOF_LOG_SIZE + 1


def test_each_check_of_a_log_report_is_said_in_chinese_with_its_counts_as_they_are(
    filled: AuditLog, db: Path, vkey_verifier: NoteVerifier
) -> None:
    first = filled.checkpoint()
    filled.append(event(PROOF_LOG_SIZE))
    filled.checkpoint()
    deep = inspect_log(db, verifiers=[vkey_verifier], checkpoint=first, deep=True)
    said = {c.name: c.detail_in("zh") for c in deep.checks}
    size = PROOF_LOG_SIZE + 1
    assert said == {
        "entries": f"{size} 个条目，连续无缺，每个条目的哈希与其叶子一致",
        "columns": "每个条目均为规范形式；查询列与之一致",
        "nodes": "存储的内部节点与重新计算的默克尔树一致",
        "checkpoints": "2 个已存储的检查点签名有效且一致",
        "consistency": f"是已保存检查点（大小 {PROOF_LOG_SIZE}）的延续",
    }
    assert deep.checks[-1].detail == f"extends the saved checkpoint of size {PROOF_LOG_SIZE}"
    shallow = inspect_log(db, verifiers=[vkey_verifier])
    assert [c.detail_in("zh") for c in shallow.checks if c.ok is None] == [
        "每个条目的规范形式和查询列：仅在深度检查时检查",
        "未提供存储之外保存的检查点",
    ]
    assert all(c.detail_key is not None for c in (*deep.checks, *shallow.checks))


def test_log_verification_with_an_unrelated_key_fails(filled: AuditLog) -> None:
    filled.checkpoint()
    stranger = NoteSigner.generate(ORIGIN).verifier
    with pytest.raises(CheckpointSignatureInvalid):
        verify_log(filled, verifiers=[stranger])


def test_erasure_sticks_when_the_person_appears_again(log: AuditLog, db: Path) -> None:
    log.append(personal_event(0))
    assert log.erase(CLEAR_ACTOR) == 1
    log.append(personal_event(1))  # the same person acts again after erasure
    with pytest.raises(SubjectErased):
        log.reveal(log.pseudonym(CLEAR_ACTOR))
    stored = {row[0] for row in raw_rows(db, "SELECT value FROM audit_personal")}
    assert CLEAR_ACTOR not in stored
    assert CLEAR_ADDRESS in stored  # other, unerased values are still kept


def test_export_is_not_capped_at_one_page(log: AuditLog, vkey_verifier: NoteVerifier) -> None:
    log.append_many(event(i) for i in range(2345))
    package = log.export()
    entries = verify_export(package, verifiers=[vkey_verifier], origin=ORIGIN)
    assert [e.index for e in entries] == list(range(2345))
    assert len(log.export(limit=1500)["entries"]) == 1500
    assert [e["index"] for e in log.export(after_index=2300)["entries"]] == list(range(2301, 2345))


def test_evidence_from_another_log_is_refused_when_the_origin_is_pinned(
    log: AuditLog, vkey_verifier: NoteVerifier
) -> None:
    log.append(event(0))
    package = log.export()
    with pytest.raises(AuditVerificationError):
        verify_export(package, verifiers=[vkey_verifier], origin="example.gov/another-log")
