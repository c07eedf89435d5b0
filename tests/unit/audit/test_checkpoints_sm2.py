"""SM2 checkpoints: C2SP signed notes signed with SM2 (``govkit[sm]``), the last part of #9.

Format under test (govkit's choice, documented in docs/guide/national-crypto.rst): C2SP
``signed-note.md`` @5ba5ee8, section "Signature types", reserves ``0xff`` "for signature
types without an identifier byte assigned by this specification", RECOMMENDED to be
"followed by a longer identifier that is unlikely to collide". govkit's SM2 type is
``0xff || "govkit-sm2"``; the public key is the 65-byte uncompressed point; a signature
is raw ``r || s`` over the note text (SM3, identity ``1234567812345678``).

Vectors and their provenance:

* GM/T 0003.5-2012 (recommended curve) example key pair: private scalar ``3945208F...``
  and public key ``(09F9DF31..., CCEA490C...)``, the same pair as tests/unit/keys/test_sm2.py.
  TEST KEY ONLY. Its vkey for ``example.gov/govkit-test-log`` and its key ID are
  recomputed here from the spec's formula with :mod:`hashlib`.
* ``SM2_TEST_NOTE``: the govkit size-8 test checkpoint (tests/unit/audit/test_note.py)
  signed once by govkit with that key; tests/integration/sm checks the same
  signature with OpenSSL. SM2 signatures are randomised, so it cannot be regenerated
  byte for byte; it must keep verifying.
"""

from __future__ import annotations

import base64
import hashlib
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govkit.audit import (
    AuditEvent,
    AuditLog,
    Checkpoint,
    NoteSigner,
    NoteVerifier,
    WitnessSigner,
    cosign_checkpoint,
    inspect_log,
    open_note,
    sign_checkpoint,
    verify_checkpoint,
    verify_checkpoint_consistency,
    verify_export,
    verify_log,
)
from govkit.errors import (
    AlgorithmUnavailable,
    CheckpointSignatureInvalid,
    GovkitError,
    InvalidKey,
    KeyMismatch,
    UnsupportedAlgorithm,
)
from govkit.keys import SigningKey

TEST_LOG = "example.gov/govkit-test-log"
TEST_ROOT_8 = bytes.fromhex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")
SM2_TYPE = b"\xff" + b"govkit-sm2"

# GM/T 0003.5-2012 example key pair (TEST KEY ONLY).
STD_D = bytes.fromhex("3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8")
STD_POINT = bytes.fromhex(
    "04"
    "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
    "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
)
SM2_TEST_VKEY = (
    "example.gov/govkit-test-log+3628f432+/2dvdmtpdC1zbTIECfnfMR5UIaFQ3X0WHkvFxnIXn60YM/wHa7CP81bzUC"
    "DM6kkM4md1pS3G6nGMwapgCu0F+/NeCEpmMvYHLamtEw=="
)
SM2_TEST_NOTE = (
    "example.gov/govkit-test-log\n"
    "8\n"
    "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"
    "\n"
    "— example.gov/govkit-test-log Nij0MjAN2PhcEJuGB4ZvtG/3reGCE4Bz6R6WsPDaZl/8TJk+ye7GemwFczGa/"
    "SPDrF76j7652CEgHU4rlkx6RZCHO7M=\n"
)
T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def std_signer() -> NoteSigner:
    return NoteSigner(TEST_LOG, SigningKey.from_private_bytes("SM2", STD_D))


@pytest.fixture(scope="module")
def signer() -> NoteSigner:
    return NoteSigner.generate(TEST_LOG, alg="SM2")


def vkey_with(raw: bytes, name: str = TEST_LOG, key_id: str = "3628f432") -> str:
    return f"{name}+{key_id}+{base64.b64encode(raw).decode()}"


def private_with(raw: bytes, key_id: str = "3628f432") -> str:
    return f"PRIVATE+KEY+{TEST_LOG}+{key_id}+{base64.b64encode(raw).decode()}"


def flip_signature_byte(note: str, byte_index: int = -1) -> str:
    """Flip one bit of the first signature line's decoded ``key ID || signature``."""
    text, block = note.rsplit("\n\n", 1)
    prefix, encoded = block.rstrip("\n").rsplit(" ", 1)
    raw = bytearray(base64.b64decode(encoded))
    raw[byte_index] ^= 0x01
    return f"{text}\n\n{prefix} {base64.b64encode(bytes(raw)).decode()}\n"


def replace_signature(note: str, signature: bytes) -> str:
    """Keep the first signature line's key ID, replace the signature bytes."""
    text, block = note.rsplit("\n\n", 1)
    prefix, encoded = block.rstrip("\n").rsplit(" ", 1)
    key_id = base64.b64decode(encoded)[:4]
    return f"{text}\n\n{prefix} {base64.b64encode(key_id + signature).decode()}\n"


def make_log(path: Path, signer: NoteSigner) -> AuditLog:
    return AuditLog(path, origin=TEST_LOG, signer=signer, pseudonym_key=b"p" * 32)


def event(i: int) -> AuditEvent:
    return AuditEvent(
        occurred_at=T0,
        actor_id="clerk-12",
        actor_type="officer",
        action="licence.issue",
        resource_type="driving_licence",
        resource_id=f"GD-{i}",
    )


# --- the format -------------------------------------------------------------------


def test_standard_key_gives_the_pinned_vkey_and_the_spec_key_id() -> None:
    signer = std_signer()
    expected_id = hashlib.sha256(TEST_LOG.encode() + b"\n" + SM2_TYPE + STD_POINT).digest()[:4]
    assert signer.key_id == expected_id
    assert signer.vkey == SM2_TEST_VKEY
    assert base64.b64decode(SM2_TEST_VKEY.split("+", 2)[2]) == SM2_TYPE + STD_POINT
    assert signer.alg == "SM2"


def test_pinned_sm2_checkpoint_verifies_from_its_vkey() -> None:
    verifier = NoteVerifier.from_vkey(SM2_TEST_VKEY)
    assert verifier.alg == "SM2"
    assert not verifier.cosigner
    checkpoint = verify_checkpoint(SM2_TEST_NOTE, [verifier], origin=TEST_LOG)
    assert checkpoint == Checkpoint(TEST_LOG, 8, TEST_ROOT_8)


def test_sm2_signature_is_64_raw_bytes_after_the_key_id(signer: NoteSigner) -> None:
    note = sign_checkpoint(Checkpoint(TEST_LOG, 8, TEST_ROOT_8), signer)
    raw = base64.b64decode(note.rstrip("\n").rsplit(" ", 1)[1])
    assert raw[:4] == signer.key_id
    assert len(raw) == 4 + 64


def test_private_key_string_holds_the_type_and_the_32_byte_scalar() -> None:
    exported = std_signer().to_private_key_string()
    assert exported == private_with(SM2_TYPE + STD_D)
    assert NoteSigner.from_private_key_string(exported).vkey == SM2_TEST_VKEY


def test_generated_key_round_trips_through_private_string_and_vkey(signer: NoteSigner) -> None:
    loaded = NoteSigner.from_private_key_string(signer.to_private_key_string())
    assert loaded.alg == "SM2"
    assert loaded.vkey == signer.vkey
    verifier = NoteVerifier.from_vkey(signer.vkey)
    assert verifier == signer.verifier
    assert verifier.vkey == signer.vkey
    note = loaded.sign("hello\n")
    assert open_note(note, [verifier]).text == "hello\n"


def test_ed25519_default_is_unchanged() -> None:
    signer = NoteSigner.generate(TEST_LOG)
    assert signer.alg == "EdDSA"
    assert NoteVerifier.from_vkey(signer.vkey).alg == "EdDSA"
    assert base64.b64decode(signer.vkey.split("+", 2)[2])[0] == 0x01


# --- a log checkpointed with SM2 ------------------------------------------------------


def test_log_checkpointed_with_sm2_verifies(tmp_path: Path, signer: NoteSigner) -> None:
    verifier = NoteVerifier.from_vkey(signer.vkey)
    with make_log(tmp_path / "audit.db", signer) as log:
        log.append_many(event(i) for i in range(5))
        first = log.checkpoint()
        log.append_many(event(i) for i in range(5, 12))
        second = log.checkpoint()
        proof = log.consistency_proof(5, 12)
        result = verify_log(log, verifiers=[verifier], checkpoint=first)
        assert (result.size, result.checkpoints_checked, result.external_checkpoint_size) == (
            12,
            2,
            5,
        )
        assert inspect_log(log, verifiers=[verifier]).ok
        assert verify_checkpoint_consistency(first, second, proof, verifiers=[verifier]).size == 12
        package = log.export(resource_id="GD-3")
    entries = verify_export(package, verifiers=[verifier])
    assert [e.index for e in entries] == [3]


def test_sm2_log_fails_verification_with_only_an_ed25519_key(
    tmp_path: Path, signer: NoteSigner
) -> None:
    impostor = NoteSigner.generate(TEST_LOG)  # same name, other algorithm
    with make_log(tmp_path / "audit.db", signer) as log:
        log.append(event(0))
        log.checkpoint()
        report = inspect_log(log, verifiers=[impostor.verifier])
    assert not report.ok
    assert report.code == "audit.checkpoint_signature"


def test_sm2_checkpoint_with_an_ed25519_witness_cosignature(signer: NoteSigner) -> None:
    witness = WitnessSigner.generate("witness.example/w1")
    note = sign_checkpoint(Checkpoint(TEST_LOG, 8, TEST_ROOT_8), signer)
    cosigned = cosign_checkpoint(note, witness, timestamp=1_700_000_000)
    trusted = [signer.verifier, witness.verifier]
    opened = open_note(cosigned, trusted, min_signatures=2)
    assert [s.timestamp for s in opened.signatures] == [None, 1_700_000_000]


# --- tampering ------------------------------------------------------------------------


def test_tampered_sm2_checkpoint_body_is_rejected() -> None:
    tampered = SM2_TEST_NOTE.replace("\n8\n", "\n9\n", 1)
    with pytest.raises(CheckpointSignatureInvalid) as caught:
        verify_checkpoint(tampered, [NoteVerifier.from_vkey(SM2_TEST_VKEY)])
    assert caught.value.code == "audit.checkpoint_signature"


@pytest.mark.parametrize("byte_index", [4, 35, -1], ids=["r-first", "s-first", "s-last"])
def test_flipped_bit_in_sm2_signature_is_rejected(byte_index: int) -> None:
    with pytest.raises(CheckpointSignatureInvalid) as caught:
        verify_checkpoint(
            flip_signature_byte(SM2_TEST_NOTE, byte_index), [NoteVerifier.from_vkey(SM2_TEST_VKEY)]
        )
    assert caught.value.code == "audit.checkpoint_signature"


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(bytes(64), id="r-and-s-zero"),
        pytest.param(b"\xff" * 64, id="r-and-s-above-n"),
        pytest.param(b"\x01" * 63, id="63-bytes"),
        pytest.param(b"\x01" * 65, id="65-bytes"),
        pytest.param(b"\x01" * 72, id="der-length"),
    ],
)
def test_malformed_sm2_signature_by_the_known_key_is_rejected(signature: bytes) -> None:
    with pytest.raises(CheckpointSignatureInvalid):
        verify_checkpoint(
            replace_signature(SM2_TEST_NOTE, signature), [NoteVerifier.from_vkey(SM2_TEST_VKEY)]
        )


def test_ed25519_signature_under_the_sm2_key_id_is_rejected_not_ignored() -> None:
    ed_key = SigningKey.generate("EdDSA")
    text = SM2_TEST_NOTE.split("\n\n", 1)[0] + "\n"
    forged = replace_signature(SM2_TEST_NOTE, ed_key.sign(text.encode()))
    with pytest.raises(CheckpointSignatureInvalid, match="does not verify"):
        verify_checkpoint(forged, [NoteVerifier.from_vkey(SM2_TEST_VKEY)])


def test_sm2_signature_under_an_ed25519_key_id_is_rejected(signer: NoteSigner) -> None:
    ed_signer = NoteSigner.generate(TEST_LOG)
    text = "example.gov/govkit-test-log\n1\n" + base64.b64encode(bytes(32)).decode() + "\n"
    ed_note = ed_signer.sign(text)
    sm2_signature = base64.b64decode(signer.sign(text).rstrip("\n").rsplit(" ", 1)[1])[4:]
    with pytest.raises(CheckpointSignatureInvalid, match="does not verify"):
        open_note(replace_signature(ed_note, sm2_signature), [ed_signer.verifier])


def test_ed25519_verifier_ignores_an_sm2_note_and_sm2_verifier_an_ed25519_note(
    signer: NoteSigner,
) -> None:
    ed_signer = NoteSigner.generate(TEST_LOG)  # same name: only the key ID tells them apart
    assert ed_signer.key_id != signer.key_id
    with pytest.raises(CheckpointSignatureInvalid, match="no trusted key"):
        open_note(signer.sign("hello\n"), [ed_signer.verifier])
    with pytest.raises(CheckpointSignatureInvalid, match="no trusted key"):
        open_note(ed_signer.sign("hello\n"), [signer.verifier])


# --- vkeys and private key strings ----------------------------------------------------


def test_sm2_vkey_key_id_mismatch_is_refused() -> None:
    with pytest.raises(InvalidKey, match="does not match"):
        NoteVerifier.from_vkey(SM2_TEST_VKEY.replace("+3628f432+", "+3628f433+"))


def test_sm2_vkey_under_another_name_no_longer_matches_its_key_id() -> None:
    with pytest.raises(InvalidKey, match="does not match"):
        NoteVerifier.from_vkey(SM2_TEST_VKEY.replace(TEST_LOG, "example.gov/other-log"))


def test_sm2_private_key_string_with_wrong_key_id_is_refused() -> None:
    with pytest.raises(InvalidKey, match="does not match"):
        NoteSigner.from_private_key_string(private_with(SM2_TYPE + STD_D, key_id="3628f433"))


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"\xff" + b"govkit-sm3" + STD_POINT, id="other-identifier"),
        pytest.param(b"\xff" + b"GOVKIT-SM2" + STD_POINT, id="identifier-case"),
        pytest.param(b"\xff" + STD_POINT, id="no-identifier"),
        pytest.param(b"\xff", id="type-only"),
        pytest.param(b"\x02" + STD_POINT, id="ecdsa-0x02"),
        pytest.param(b"\x06" + STD_POINT, id="ml-dsa-0x06"),
    ],
)
def test_vkey_of_an_unknown_signature_type_is_refused(raw: bytes) -> None:
    with pytest.raises(UnsupportedAlgorithm) as caught:
        NoteVerifier.from_vkey(vkey_with(raw))
    assert caught.value.code == "key.unsupported_algorithm"


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(SM2_TYPE + STD_POINT[:-1], id="point-64-bytes"),
        pytest.param(SM2_TYPE + STD_POINT + b"\x00", id="point-66-bytes"),
        pytest.param(SM2_TYPE + b"\x02" + STD_POINT[1:33], id="compressed-point"),
        pytest.param(SM2_TYPE + b"\x05" + STD_POINT[1:], id="bad-point-prefix"),
        pytest.param(SM2_TYPE + STD_POINT[:-1] + b"\x14", id="point-off-the-curve"),
        pytest.param(SM2_TYPE, id="no-point"),
        pytest.param(b"\x01" + STD_POINT, id="sm2-point-labelled-ed25519"),
        pytest.param(SM2_TYPE + bytes(32), id="ed25519-key-labelled-sm2"),
    ],
)
def test_vkey_with_a_key_that_does_not_fit_its_type_is_refused(raw: bytes) -> None:
    with pytest.raises(InvalidKey):
        NoteVerifier.from_vkey(vkey_with(raw))


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(SM2_TYPE + STD_D[:-1], id="31-byte-scalar"),
        pytest.param(SM2_TYPE + STD_D + b"\x00", id="33-byte-scalar"),
        pytest.param(SM2_TYPE + bytes(32), id="zero-scalar"),
        pytest.param(SM2_TYPE + b"\xff" * 32, id="scalar-above-n"),
        pytest.param(
            SM2_TYPE
            + bytes.fromhex("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54122"),
            id="scalar-n-minus-1",
        ),
    ],
)
def test_malformed_sm2_private_key_string_is_refused(raw: bytes) -> None:
    with pytest.raises(InvalidKey):
        NoteSigner.from_private_key_string(private_with(raw))


def test_private_key_string_of_an_unknown_type_is_refused() -> None:
    with pytest.raises(UnsupportedAlgorithm):
        NoteSigner.from_private_key_string(private_with(b"\xff" + b"govkit-sm9" + STD_D))


def test_sm2_private_key_cannot_be_loaded_as_a_witness() -> None:
    with pytest.raises(InvalidKey, match="signature type 0xff govkit-sm2"):
        WitnessSigner.from_private_key_string(std_signer().to_private_key_string())


def test_witnesses_are_ed25519_only() -> None:
    sm2_key = SigningKey.from_private_bytes("SM2", STD_D)
    with pytest.raises(UnsupportedAlgorithm):
        WitnessSigner.generate("witness.example/w1", alg="SM2")
    with pytest.raises(KeyMismatch):
        WitnessSigner("witness.example/w1", sm2_key)
    with pytest.raises(KeyMismatch):
        NoteVerifier("witness.example/w1", sm2_key.verifying_key, cosigner=True)


@pytest.mark.parametrize("alg", ["ES256", "PS256", "RS256", "Ed25519", "sm2", "SM9"])
def test_generate_refuses_other_algorithms(alg: str) -> None:
    with pytest.raises(UnsupportedAlgorithm) as caught:
        NoteSigner.generate(TEST_LOG, alg=alg)
    assert not isinstance(caught.value, AlgorithmUnavailable)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=80))
def test_sm2_typed_vkey_with_arbitrary_key_bytes_returns_or_raises_govkit_error(
    tail: bytes,
) -> None:
    try:
        verifier = NoteVerifier.from_vkey(vkey_with(SM2_TYPE + tail))
    except GovkitError:
        return
    assert verifier.alg == "SM2"  # pragma: no cover - only with a matching key ID


# --- without the govkit[sm] extra -------------------------------------------------------


@pytest.fixture
def without_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``import tongsuopy`` fail, as it does when ``govkit[sm]`` is not installed."""
    monkeypatch.setitem(sys.modules, "tongsuopy", None)


@pytest.mark.usefixtures("without_extra")
def test_sm2_note_keys_without_the_extra_name_the_extra() -> None:
    exported = private_with(SM2_TYPE + STD_D)
    for attempt in (
        lambda: NoteSigner.generate(TEST_LOG, alg="SM2"),
        lambda: NoteVerifier.from_vkey(SM2_TEST_VKEY),
        lambda: NoteSigner.from_private_key_string(exported),
    ):
        with pytest.raises(AlgorithmUnavailable) as caught:
            attempt()
        assert caught.value.code == "key.algorithm_unavailable"
        assert "pip install 'govkit[sm]'" in caught.value.message


@pytest.mark.usefixtures("without_extra")
def test_ed25519_checkpoints_work_without_the_extra() -> None:
    signer = NoteSigner.generate(TEST_LOG)
    note = sign_checkpoint(Checkpoint(TEST_LOG, 8, TEST_ROOT_8), signer)
    assert verify_checkpoint(note, [NoteVerifier.from_vkey(signer.vkey)]).size == 8
