"""Properties of :mod:`govkit.audit`, driven by hypothesis.

* Roots equal a naive recursive RFC 6962 MTH written here from RFC 9162 section 2.1.1
  (independent of govkit's bottom-up implementation), for 0..200 leaves.
* Every generated inclusion and consistency proof verifies, and flipping any single
  bit of any proof hash makes it fail.
* Every parser fed arbitrary input returns a result or raises a
  :class:`~govkit.errors.GovkitError`; any other exception is a bug.
* :class:`AuditEvent` encode/decode round-trips exactly over generated valid events.
* On SQLite (few examples): the log's proofs equal the pure functions whatever the
  batch sizes, and flipping any byte of any stored entry is detected.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import tempfile
from contextlib import closing
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from govkit.audit import (
    PERSONAL_FIELDS,
    AuditEvent,
    AuditLog,
    Checkpoint,
    NoteSigner,
    NoteVerifier,
    OpenedNote,
    Outcome,
    SQLiteStore,
    inspect_log,
    merkle,
    open_note,
    verify_checkpoint,
    verify_export,
)
from govkit.audit._events import Pseudonymizer, decode_entry, encode_entry
from govkit.errors import GovkitError, InvalidProof, LeafMismatch

FAST = settings(max_examples=200, deadline=None)
PARSER = settings(max_examples=300, deadline=None)
SQLITE = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: Every code point, with lone surrogates made common: JSON text may carry them, and
#: ``st.text`` draws them too rarely to reach the code behind the other checks.
ANY_TEXT = st.lists(
    st.characters(exclude_categories=())
    | st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, exclude_categories=()),
    max_size=200,
).map("".join)


# --- an independent RFC 6962 Merkle tree hash -------------------------------------------


def naive_mth(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) exactly as RFC 9162 section 2.1.1 writes it (inputs are leaf data)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + naive_mth(leaves[:k]) + naive_mth(leaves[k:])).digest()


leaf_data = st.lists(st.binary(max_size=8), max_size=200)


@FAST
@given(data=leaf_data)
def test_root_hash_equals_naive_recursive_mth(data: list[bytes]) -> None:
    hashes = [merkle.leaf_hash(d) for d in data]
    assert merkle.root_hash(hashes) == naive_mth(data)


def _flip(proof: list[bytes], position: int, bit: int) -> list[bytes]:
    flipped = bytearray(proof[position])
    flipped[bit // 8] ^= 1 << (bit % 8)
    return [*proof[:position], bytes(flipped), *proof[position + 1 :]]


@FAST
@given(data=st.data(), size=st.integers(1, 200))
def test_inclusion_proofs_verify_and_any_bit_flip_fails(data: st.DataObject, size: int) -> None:
    leaves = [merkle.leaf_hash(i.to_bytes(2, "big")) for i in range(size)]
    root = merkle.root_hash(leaves)
    index = data.draw(st.integers(0, size - 1), label="index")
    proof = merkle.inclusion_proof(leaves, index)
    merkle.verify_inclusion(leaves[index], index, size, proof, root)
    if proof:
        position = data.draw(st.integers(0, len(proof) - 1), label="position")
        bit = data.draw(st.integers(0, 255), label="bit")
        try:
            merkle.verify_inclusion(leaves[index], index, size, _flip(proof, position, bit), root)
        except InvalidProof:
            pass
        else:
            raise AssertionError("a proof with a flipped bit verified")
    bit = data.draw(st.integers(0, 255), label="leaf bit")
    (bad_leaf,) = _flip([leaves[index]], 0, bit)
    try:
        merkle.verify_inclusion(bad_leaf, index, size, proof, root)
    except InvalidProof:
        pass
    else:
        raise AssertionError("a flipped leaf hash verified")


@FAST
@given(data=st.data(), size=st.integers(2, 200))
def test_consistency_proofs_verify_and_any_bit_flip_fails(data: st.DataObject, size: int) -> None:
    leaves = [merkle.leaf_hash(i.to_bytes(2, "big")) for i in range(size)]
    old = data.draw(st.integers(1, size - 1), label="old size")
    old_root, new_root = merkle.root_hash(leaves[:old]), merkle.root_hash(leaves)
    proof = merkle.consistency_proof(leaves, old)
    assert proof
    merkle.verify_consistency(old, size, old_root, new_root, proof)
    position = data.draw(st.integers(0, len(proof) - 1), label="position")
    bit = data.draw(st.integers(0, 255), label="bit")
    try:
        merkle.verify_consistency(old, size, old_root, new_root, _flip(proof, position, bit))
    except InvalidProof:
        pass
    else:
        raise AssertionError("a consistency proof with a flipped bit verified")


@FAST
@given(
    index=st.integers(-2, 300),
    size=st.integers(-2, 300),
    proof=st.lists(st.binary(min_size=30, max_size=34), max_size=10),
    leaf=st.binary(min_size=31, max_size=33),
    root=st.binary(min_size=31, max_size=33),
)
def test_verifiers_on_arbitrary_input_raise_only_invalid_proof(
    index: int, size: int, proof: list[bytes], leaf: bytes, root: bytes
) -> None:
    for call in (
        lambda: merkle.verify_inclusion(leaf, index, size, proof, root),
        lambda: merkle.verify_consistency(index, size, leaf, root, proof),
    ):
        result = outcome(call)
        assert result is None or type(result) is InvalidProof, result


# --- parsers on arbitrary input ----------------------------------------------------------

SIGNER = NoteSigner.generate("example.gov/property-log")
VERIFIER = NoteVerifier.from_vkey(SIGNER.vkey)
VALID_ENTRY = encode_entry(
    AuditEvent(
        occurred_at=datetime(2026, 11, 28, 9, 0, tzinfo=UTC),
        actor_id="officer-1",
        actor_type="officer",
        action="licence.issue",
        resource_type="driving_licence",
        resource_id="GD-1",
        details={"n": 1, "s": "x", "b": True, "z": None},
    )
)
VALID_NOTE = SIGNER.sign(Checkpoint("example.gov/property-log", 3, bytes(32)).body())


def outcome(call: Any) -> Any:
    """What ``call()`` returned, or the GovkitError it raised (anything else propagates)."""
    try:
        return call()
    except GovkitError as exc:
        return exc


def mutations(valid: bytes) -> st.SearchStrategy[bytes]:
    """``valid`` with one slice replaced by arbitrary bytes: near-misses a parser must survive."""
    return st.tuples(st.integers(0, len(valid)), st.integers(0, 8), st.binary(max_size=12)).map(
        lambda t: valid[: t[0]] + t[2] + valid[t[0] + t[1] :]
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | ANY_TEXT,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(ANY_TEXT, children, max_size=4)
    ),
    max_leaves=20,
)


ENTRY_PATHS = sorted(
    [(key,) for key in json.loads(VALID_ENTRY)]
    + [("actor", "id"), ("actor", "type"), ("actor", "assurance")]
    + [("resource", "id"), ("resource", "type"), ("details", "n"), ("details", "new")]
)


def _replaced(changes: list[tuple[tuple[str, ...], Any]]) -> bytes:
    doc = json.loads(VALID_ENTRY)
    for path, value in changes:
        target = doc
        for key in path[:-1]:
            target = target[key] if isinstance(target.get(key), dict) else {}
        target[path[-1]] = value
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def entry_shaped() -> st.SearchStrategy[bytes]:
    """The valid entry with one or two fields (top-level or nested) set to arbitrary JSON."""
    change = st.tuples(st.sampled_from(ENTRY_PATHS), json_values)
    return st.lists(change, min_size=1, max_size=2).map(_replaced)


@PARSER
@given(data=st.binary(max_size=400) | mutations(VALID_ENTRY) | entry_shaped())
def test_decode_entry_gives_an_event_or_leaf_mismatch(data: bytes) -> None:
    try:
        event = decode_entry(data)
    except LeafMismatch:
        return
    assert encode_entry(event) == data  # anything accepted is canonical


@PARSER
@given(body=st.binary(max_size=300) | ANY_TEXT | mutations(VALID_NOTE.encode()))
def test_checkpoint_parse_gives_a_checkpoint_or_govkit_error(body: bytes | str) -> None:
    try:
        checkpoint = Checkpoint.parse(body)
    except GovkitError:
        return
    assert Checkpoint.parse(checkpoint.body()) == checkpoint


@PARSER
@given(note=st.binary(max_size=300) | ANY_TEXT | mutations(VALID_NOTE.encode()))
def test_note_and_checkpoint_verification_give_a_result_or_govkit_error(
    note: bytes | str,
) -> None:
    assert isinstance(outcome(lambda: open_note(note, [VERIFIER])), OpenedNote | GovkitError)
    assert isinstance(
        outcome(lambda: verify_checkpoint(note, [VERIFIER])), Checkpoint | GovkitError
    )


@PARSER
@given(vkey=ANY_TEXT | st.just(SIGNER.vkey).map(lambda v: v[:-3] + "AAA"))
def test_vkey_parser_gives_a_verifier_or_govkit_error(vkey: str) -> None:
    assert isinstance(outcome(lambda: NoteVerifier.from_vkey(vkey)), NoteVerifier | GovkitError)


def export_shaped() -> st.SearchStrategy[Any]:
    """Arbitrary JSON, and packages that pass the outer checks but carry arbitrary items."""
    item = st.fixed_dictionaries(
        {},
        optional={
            "index": st.integers(-1, 4) | json_values,
            "entry": ANY_TEXT | json_values | st.just(VALID_ENTRY.decode()),
            "proof": st.lists(ANY_TEXT, max_size=3) | json_values,
        },
    )
    package = st.fixed_dictionaries(
        {
            "type": st.just("govkit.audit.evidence/v1"),
            "origin": st.just("example.gov/property-log"),
            "checkpoint": st.just(VALID_NOTE),
            "entries": st.lists(item, max_size=3),
        }
    )
    damaged = st.fixed_dictionaries(
        {},
        optional={
            "type": st.just("govkit.audit.evidence/v1") | json_values,
            "origin": st.just("example.gov/property-log") | json_values,
            "checkpoint": st.just(VALID_NOTE) | json_values,
            "entries": st.lists(item, max_size=3) | json_values,
        },
    )
    return package | damaged | json_values


@PARSER
@given(package=export_shaped())
def test_verify_export_on_arbitrary_json_gives_entries_or_govkit_error(package: Any) -> None:
    result = outcome(lambda: verify_export(package, verifiers=[VERIFIER]))
    assert isinstance(result, list | GovkitError), result


# --- events round trip ----------------------------------------------------------------------

text = st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=40)
names = st.from_regex(r"[a-z][a-z0-9_.\-/:]{0,30}", fullmatch=True)
zones = st.sampled_from(
    [
        UTC,
        timezone(timedelta(hours=8)),
        timezone(timedelta(hours=-5)),
        timezone(timedelta(minutes=345)),
    ]
)
times = st.datetimes(
    min_value=datetime(1, 1, 2),
    max_value=datetime(9999, 12, 30),
    timezones=zones,
)
detail_values = st.one_of(text, st.integers(-(2**63), 2**63 - 1), st.booleans(), st.none())

events = st.builds(
    AuditEvent,
    occurred_at=times,
    actor_id=text,
    actor_type=names,
    action=names,
    resource_type=names,
    resource_id=st.none() | text,
    assurance=st.none() | st.sampled_from(["low", "substantial", "high"]),
    service=st.none() | text,
    client_address=st.none() | text,
    outcome=st.sampled_from(list(Outcome)),
    reason=st.none() | text,
    correlation_id=st.none() | text,
    details=st.dictionaries(names, detail_values, max_size=8),
    personal=st.frozensets(st.sampled_from(sorted(PERSONAL_FIELDS))),
)


@FAST
@given(event=events)
def test_event_encode_decode_round_trip(event: AuditEvent) -> None:
    data = encode_entry(event)
    back = decode_entry(data)
    assert back == event
    assert back.occurred_at == event.occurred_at
    assert dict(back.details) == dict(event.details)
    assert encode_entry(back) == data


@FAST
@given(event=events, key=st.binary(min_size=16, max_size=64))
def test_pseudonymized_event_round_trips_without_clear_values(
    event: AuditEvent, key: bytes
) -> None:
    pseudonyms = Pseudonymizer(key)
    replace = {
        name: pseudonyms(getattr(event, name))
        for name in event.personal
        if getattr(event, name) is not None
    }
    data = encode_entry(event, replace)
    back = decode_entry(data)
    for name, pseudonym in replace.items():
        assert getattr(back, name) == pseudonym
    assert encode_entry(back) == data


# --- the SQLite log --------------------------------------------------------------------------

ORIGIN = "example.gov/property-log"


def simple_event(i: int) -> AuditEvent:
    return AuditEvent(
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=i),
        actor_id=f"clerk-{i}",
        actor_type="officer",
        action="licence.issue",
        resource_type="driving_licence",
        resource_id=f"GD-{i}",
        personal=frozenset(),
    )


@SQLITE
@given(batches=st.lists(st.integers(1, 9), min_size=1, max_size=8), data=st.data())
def test_log_proofs_equal_pure_proofs_for_any_batching(
    batches: list[int], data: st.DataObject
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = SQLiteStore(Path(folder) / "audit.db", durable=False)
        with AuditLog(store, origin=ORIGIN, signer=SIGNER) as log:
            for batch in batches:
                start = log.size()
                log.append_many(simple_event(i) for i in range(start, start + batch))
            size = log.size()
            leaves = [merkle.leaf_hash(log.entry(i).entry) for i in range(size)]
            for _ in range(5):
                new = data.draw(st.integers(1, size), label="size")
                index = data.draw(st.integers(0, new - 1), label="index")
                old = data.draw(st.integers(1, new), label="old size")
                assert log.root_hash(new) == merkle.root_hash(leaves[:new])
                proof = log.inclusion_proof(index, new)
                assert list(proof.hashes) == merkle.inclusion_proof(leaves[:new], index)
                assert log.consistency_proof(old, new) == merkle.consistency_proof(
                    leaves[:new], old
                )


@SQLITE
@given(size=st.integers(1, 20), data=st.data())
def test_any_flipped_byte_in_any_stored_entry_is_detected(size: int, data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "audit.db"
        with AuditLog(SQLiteStore(path, durable=False), origin=ORIGIN, signer=SIGNER) as log:
            log.append_many(simple_event(i) for i in range(size))
            log.checkpoint()
        index = data.draw(st.integers(0, size - 1), label="index")
        with closing(sqlite3.connect(path)) as conn:
            (entry,) = conn.execute(
                "SELECT entry FROM audit_entries WHERE idx = ?", (index,)
            ).fetchone()
            position = data.draw(st.integers(0, len(entry) - 1), label="position")
            mask = data.draw(st.integers(1, 255), label="mask")
            forged = bytearray(entry)
            forged[position] ^= mask
            assume(bytes(forged) != bytes(entry))
            conn.execute("UPDATE audit_entries SET entry = ? WHERE idx = ?", (bytes(forged), index))
            conn.commit()
        with closing(SQLiteStore(path)) as store:
            report = inspect_log(store, verifiers=[VERIFIER])
        assert not report.ok
        assert report.code == "audit.leaf_mismatch"
