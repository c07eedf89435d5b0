"""C2SP signed notes, checkpoints and cosignatures (govkit.audit._note).

Vectors and their provenance:

* C2SP ``signed-note.md`` @5ba5ee8, section "Verifier keys / Example": the vkey
  ``example.com/foo+530d903a+...`` and the signed note over "This is an example message.".
* C2SP ``tlog-cosignature.md`` @5ba5ee8, section "Ed25519 signed message": the
  ``cosignature/v1`` message layout for ``example.com/behind-the-sofa`` at time 1679315147.
* ``../shared/specs/audit.md`` section (b): the govkit test checkpoint (TEST KEY ONLY,
  Ed25519 seed = bytes 00..1f), whose root is the RFC 6962 size-8 root of the
  certificate-transparency reference inputs.
"""

from __future__ import annotations

import base64
import hashlib
import pickle

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import given, settings
from hypothesis import strategies as st

from govkit.audit._note import (
    Checkpoint,
    NoteSigner,
    NoteVerifier,
    OpenedNote,
    VerifiedSignature,
    WitnessSigner,
    cosign_checkpoint,
    open_note,
    sign_checkpoint,
    verify_checkpoint,
)
from govkit.errors import (
    CheckpointInvalid,
    CheckpointSignatureInvalid,
    ConfigurationError,
    GovkitError,
    InvalidKey,
    KeyMismatch,
    UnsupportedAlgorithm,
    VerificationError,
)
from govkit.keys import SigningKey

# --- vectors ----------------------------------------------------------------------

C2SP_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
C2SP_NOTE = (
    "This is an example message.\n"
    "\n"
    "— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuw"
    "HjG1Yu72IneyaQM=\n"
)

TEST_LOG = "example.gov/govkit-test-log"
TEST_SEED = bytes(range(32))
TEST_ROOT_8 = bytes.fromhex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")
TEST_VKEY = "example.gov/govkit-test-log+eebe138b+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4"
TEST_NOTE = (
    "example.gov/govkit-test-log\n"
    "8\n"
    "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"
    "\n"
    "— example.gov/govkit-test-log 7r4TizZwazJJILiwx0JYioN2U+m0vLHHRvApniJKiLFpznjWOCjeexl0RgitQc2b"
    "07ESg3fCzb/fG9zkQZ/y7GUjvwY=\n"
)

COSIGNED_MESSAGE_EXAMPLE = (
    "cosignature/v1\n"
    "time 1679315147\n"
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
)


def make_signer() -> NoteSigner:
    return NoteSigner(TEST_LOG, SigningKey(ed25519.Ed25519PrivateKey.from_private_bytes(TEST_SEED)))


def make_checkpoint(size: int = 8, root: bytes = TEST_ROOT_8) -> Checkpoint:
    return Checkpoint(TEST_LOG, size, root)


def signature_line(signer: NoteSigner, text: str) -> str:
    """The signature line ``signer`` puts under ``text``."""
    return signer.sign(text)[len(text) + 1 :]


def flip_signature_byte(
    note: str, line_index: int = 0, byte_index: int = -1, mask: int = 0x01
) -> str:
    """XOR ``mask`` into one byte of a signature line's decoded ``key ID || signature``."""
    text, block = note.rsplit("\n\n", 1)
    lines = block.splitlines()
    prefix, encoded = lines[line_index].rsplit(" ", 1)
    raw = bytearray(base64.b64decode(encoded))
    raw[byte_index] ^= mask
    lines[line_index] = f"{prefix} {base64.b64encode(bytes(raw)).decode()}"
    return text + "\n\n" + "".join(line + "\n" for line in lines)


# --- published vectors ----------------------------------------------------------


def test_c2sp_signed_note_example_verifies() -> None:
    verifier = NoteVerifier.from_vkey(C2SP_VKEY)
    opened = open_note(C2SP_NOTE, [verifier])
    assert opened == OpenedNote(
        "This is an example message.\n",
        (VerifiedSignature("example.com/foo", bytes.fromhex("530d903a")),),
    )
    assert verifier.vkey == C2SP_VKEY
    assert not verifier.cosigner


def test_c2sp_signed_note_example_as_bytes_verifies() -> None:
    opened = open_note(C2SP_NOTE.encode("utf-8"), [NoteVerifier.from_vkey(C2SP_VKEY)])
    assert opened.text == "This is an example message.\n"


def test_test_root_is_the_rfc6962_root_of_the_ct_reference_inputs() -> None:
    inputs = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243",
              "5051525354555657", "606162636465666768696a6b6c6d6e6f")]  # fmt: skip

    def mth(leaves: list[bytes]) -> bytes:
        if len(leaves) == 1:
            return hashlib.sha256(b"\x00" + leaves[0]).digest()
        k = 1 << ((len(leaves) - 1).bit_length() - 1)
        return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()

    assert mth(inputs) == TEST_ROOT_8


def test_govkit_test_checkpoint_reproduces_exact_note_and_vkey() -> None:
    signer = make_signer()
    assert signer.vkey == TEST_VKEY
    assert signer.key_id == bytes.fromhex("eebe138b")
    assert sign_checkpoint(make_checkpoint(), signer) == TEST_NOTE


def test_govkit_test_checkpoint_verifies_from_its_vkey() -> None:
    verifier = NoteVerifier.from_vkey(TEST_VKEY)
    checkpoint = verify_checkpoint(TEST_NOTE, [verifier], origin=TEST_LOG)
    assert checkpoint == make_checkpoint()


# --- round trips ------------------------------------------------------------------


def test_checkpoint_body_round_trip_with_extensions() -> None:
    cp = Checkpoint("example.gov/log", 0, bytes(32), ("ext one", "— two"))
    assert cp.body() == (
        "example.gov/log\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\next one\n— two\n"
    )
    assert Checkpoint.parse(cp.body()) == cp
    assert Checkpoint.parse(cp.body().encode()) == cp


def test_checkpoint_extensions_given_as_list_become_a_tuple() -> None:
    cp = Checkpoint("example.gov/log", 1, bytes(32), ["x"])  # type: ignore[arg-type]
    assert cp.extensions == ("x",)
    assert hash(cp) == hash(Checkpoint("example.gov/log", 1, bytes(32), ("x",)))


def test_checkpoint_largest_uint64_size_round_trips() -> None:
    cp = Checkpoint("example.gov/log", 2**64 - 1, bytes(32))
    assert Checkpoint.parse(cp.body()).size == 2**64 - 1


def test_sign_and_verify_round_trip_with_generated_key() -> None:
    signer = NoteSigner.generate("example.gov/log")
    cp = Checkpoint("example.gov/log", 42, bytes(range(32)), ("extension",))
    note = sign_checkpoint(cp, signer)
    assert verify_checkpoint(note, [NoteVerifier.from_vkey(signer.vkey)]) == cp
    assert verify_checkpoint(note.encode(), [signer.verifier], origin="example.gov/log") == cp


def test_note_text_with_blank_lines_splits_at_the_last_one() -> None:
    signer = NoteSigner.generate("example.gov/poet")
    text = "Ognuno sta solo sul cuor della terra\n\ned è subito sera.\n\n"
    opened = open_note(signer.sign(text), [signer.verifier])
    assert opened.text == text


def test_private_key_string_round_trip() -> None:
    signer = make_signer()
    exported = signer.to_private_key_string()
    assert exported.startswith("PRIVATE+KEY+example.gov/govkit-test-log+eebe138b+")
    assert base64.b64decode(exported.split("+", 4)[4]) == b"\x01" + TEST_SEED
    loaded = NoteSigner.from_private_key_string(exported)
    assert loaded.vkey == TEST_VKEY
    assert loaded.sign("x\n") == signer.sign("x\n")


def test_vkey_round_trip_and_signer_verifier_agree() -> None:
    signer = NoteSigner.generate("example.gov/log")
    assert NoteVerifier.from_vkey(signer.vkey) == signer.verifier
    assert NoteVerifier.from_vkey(signer.vkey).vkey == signer.vkey


def test_sixteen_and_one_hundred_signature_lines_are_accepted() -> None:
    signer = make_signer()
    text = make_checkpoint().body()
    others = [NoteSigner.generate(f"example.gov/other{i}") for i in range(99)]
    extra = "".join(signature_line(o, text) for o in others)
    assert open_note(TEST_NOTE + extra, [signer.verifier]).text == text
    sixteen = TEST_NOTE + "".join(signature_line(o, text) for o in others[:15])
    assert open_note(sixteen, [signer.verifier, others[3].verifier], min_signatures=2)


def test_known_keys_are_all_reported_in_note_order() -> None:
    log, other = make_signer(), NoteSigner.generate("example.gov/second")
    note = TEST_NOTE + signature_line(other, make_checkpoint().body())
    opened = open_note(note, [other.verifier, log.verifier], min_signatures=2)
    assert [s.name for s in opened.signatures] == [TEST_LOG, "example.gov/second"]


def test_repr_never_shows_key_material() -> None:
    signer = make_signer()
    secret = signer.to_private_key_string().split("+", 4)[4]
    assert secret not in repr(signer)
    assert "PRIVATE" not in repr(signer)
    assert repr(signer) == "NoteSigner(name='example.gov/govkit-test-log', key_id='eebe138b')"


def test_signer_cannot_be_pickled() -> None:
    with pytest.raises(TypeError):
        pickle.dumps(make_signer())


def _test_note_line() -> tuple[bytes, bytes]:
    """``(text, signature)`` of TEST_NOTE: the note text and the bytes after the key ID."""
    text, block = TEST_NOTE.rsplit("\n\n", 1)
    raw = base64.b64decode(block.rsplit(" ", 1)[1])
    return (text + "\n").encode(), raw[4:]


def test_note_verifier_verify_takes_signature_and_data_by_keyword() -> None:
    text, signature = _test_note_line()
    verified = NoteVerifier.from_vkey(TEST_VKEY).verify(signature=signature, data=text)
    assert (verified.name, verified.key_id.hex(), verified.timestamp) == (
        TEST_LOG,
        "eebe138b",
        None,
    )


def test_note_verifier_called_in_the_old_text_signature_order_fails_loudly() -> None:
    # Before issue #15 the order was verify(text, signature): both bytes, so swapping
    # them silently checked the wrong thing. Positional calls are now a TypeError.
    text, signature = _test_note_line()
    verifier = NoteVerifier.from_vkey(TEST_VKEY)
    with pytest.raises(TypeError):
        verifier.verify(text, signature)  # type: ignore[misc]
    with pytest.raises(TypeError):
        verifier.verify(signature, text)  # type: ignore[misc]
    with pytest.raises(TypeError):
        verifier.verify(text=text, signature=signature)  # type: ignore[call-arg]


def test_note_verifier_with_signature_and_data_swapped_by_keyword_is_refused() -> None:
    text, signature = _test_note_line()
    with pytest.raises(CheckpointSignatureInvalid) as info:
        NoteVerifier.from_vkey(TEST_VKEY).verify(signature=text, data=signature)
    assert info.value.code == "audit.checkpoint_signature"


def test_note_verifier_refuses_text_given_as_str() -> None:
    text, signature = _test_note_line()
    with pytest.raises(CheckpointSignatureInvalid, match="must be bytes"):
        NoteVerifier.from_vkey(TEST_VKEY).verify(signature=signature, data=text.decode())  # type: ignore[arg-type]


# --- attacks on signatures --------------------------------------------------------


def test_forged_signature_is_rejected() -> None:
    with pytest.raises(CheckpointSignatureInvalid) as info:
        verify_checkpoint(flip_signature_byte(TEST_NOTE), [NoteVerifier.from_vkey(TEST_VKEY)])
    assert info.value.code == "audit.checkpoint_signature"
    assert isinstance(info.value, VerificationError)
    assert info.value.context["key_id"] == "eebe138b"


def test_note_signed_only_by_an_unknown_key_is_rejected() -> None:
    impostor = NoteSigner.generate("example.gov/impostor")
    note = sign_checkpoint(make_checkpoint(), impostor)
    with pytest.raises(CheckpointSignatureInvalid):
        verify_checkpoint(note, [NoteVerifier.from_vkey(TEST_VKEY)])


def test_impostor_key_with_the_trusted_name_is_ignored_not_trusted() -> None:
    # Same name, different key: the key ID differs, so C2SP says ignore it.
    impostor = NoteSigner.generate(TEST_LOG)
    note = sign_checkpoint(make_checkpoint(size=9), impostor)
    with pytest.raises(CheckpointSignatureInvalid, match="no trusted key"):
        verify_checkpoint(note, [NoteVerifier.from_vkey(TEST_VKEY)])
    text = make_checkpoint().body()
    assert open_note(TEST_NOTE + signature_line(impostor, text), [make_signer().verifier])


def test_known_keys_bad_signature_alongside_a_good_one_rejects_the_note() -> None:
    log, second = make_signer(), NoteSigner.generate("example.gov/second")
    note = TEST_NOTE + signature_line(second, make_checkpoint().body())
    forged = flip_signature_byte(note, line_index=1)
    with pytest.raises(CheckpointSignatureInvalid):
        open_note(forged, [log.verifier, second.verifier])
    # The same bad line from a key the verifier does not know is ignored.
    assert open_note(forged, [log.verifier])


def test_duplicate_line_by_the_same_key_with_a_bad_signature_rejects_the_note() -> None:
    duplicate_bad = flip_signature_byte(TEST_NOTE).rsplit("\n\n", 1)[1]
    with pytest.raises(CheckpointSignatureInvalid):
        open_note(TEST_NOTE + duplicate_bad, [make_signer().verifier])


def test_duplicate_good_lines_by_one_key_count_once() -> None:
    duplicate = TEST_NOTE.rsplit("\n\n", 1)[1]
    note = TEST_NOTE + duplicate
    assert len(open_note(note, [make_signer().verifier]).signatures) == 1
    second = NoteSigner.generate("example.gov/second")
    with pytest.raises(CheckpointSignatureInvalid, match="2 are required"):
        open_note(note, [make_signer().verifier, second.verifier], min_signatures=2)


def test_tampered_body_size_changed_is_rejected() -> None:
    tampered = TEST_NOTE.replace("\n8\n", "\n9\n", 1)
    with pytest.raises(CheckpointSignatureInvalid):
        verify_checkpoint(tampered, [NoteVerifier.from_vkey(TEST_VKEY)])


def test_tampered_body_root_changed_is_rejected() -> None:
    other_root = base64.b64encode(bytes(32)).decode()
    tampered = TEST_NOTE.replace("XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=", other_root)
    with pytest.raises(CheckpointSignatureInvalid):
        verify_checkpoint(tampered, [NoteVerifier.from_vkey(TEST_VKEY)])


def test_checkpoint_for_another_log_is_rejected_by_origin() -> None:
    with pytest.raises(CheckpointInvalid, match="origin") as info:
        verify_checkpoint(TEST_NOTE, [NoteVerifier.from_vkey(TEST_VKEY)], origin="example.gov/x")
    assert info.value.context["expected"] == "example.gov/x"


def test_key_name_need_not_equal_origin() -> None:
    # Rekor v1 signs origin "rekor.sigstore.dev - <tree id>" with key "rekor.sigstore.dev".
    signer = NoteSigner.generate("example.gov")
    cp = Checkpoint("example.gov/log-2024", 3, bytes(32))
    assert verify_checkpoint(sign_checkpoint(cp, signer), [signer.verifier]) == cp


def test_signed_note_whose_body_has_size_08_is_rejected() -> None:
    signer = make_signer()
    note = signer.sign(TEST_NOTE.split("\n\n", maxsplit=1)[0].replace("\n8\n", "\n08\n") + "\n")
    with pytest.raises(CheckpointInvalid, match="canonical"):
        verify_checkpoint(note, [signer.verifier])


def test_fewer_trusted_signatures_than_required_is_rejected() -> None:
    second = NoteSigner.generate("example.gov/second")
    with pytest.raises(CheckpointSignatureInvalid) as info:
        open_note(TEST_NOTE, [make_signer().verifier, second.verifier], min_signatures=2)
    assert info.value.context == {"verified": 1, "required": 2}


# --- attacks on framing -----------------------------------------------------------


def check_malformed(note: str | bytes) -> None:
    with pytest.raises(CheckpointInvalid) as info:
        open_note(note, [NoteVerifier.from_vkey(TEST_VKEY)])
    assert info.value.code == "audit.checkpoint_malformed"


def test_missing_blank_line_is_malformed() -> None:
    check_malformed(TEST_NOTE.replace("\n\n", "\n"))


@pytest.mark.parametrize("dash", ["-", "–", "--", "—", "—\u00a0", "\u2015 "])
def test_signature_line_without_em_dash_and_space_is_malformed(dash: str) -> None:
    check_malformed(TEST_NOTE.replace("— ", dash, 1))


def test_one_hundred_and_one_signature_lines_are_refused() -> None:
    line = TEST_NOTE.rsplit("\n\n", 1)[1]
    check_malformed(TEST_NOTE + line * 100)


def test_truncated_signature_base64_is_malformed() -> None:
    check_malformed(TEST_NOTE.replace("vwY=\n", "vw\n"))
    check_malformed(TEST_NOTE.replace("7r4TizZwazJJ", "7r4TizZwazJ"))  # one character short


def test_signature_truncated_to_valid_base64_is_a_bad_signature_by_the_known_key() -> None:
    # Dropping 4 characters keeps the base64 well formed and the key ID intact.
    truncated = TEST_NOTE.replace("7r4TizZwazJJ", "7r4TizZw")
    with pytest.raises(CheckpointSignatureInvalid, match="wrong length"):
        open_note(truncated, [NoteVerifier.from_vkey(TEST_VKEY)])


def test_signature_shorter_than_key_id_plus_one_byte_is_malformed() -> None:
    check_malformed(
        TEST_NOTE.split("\n\n", maxsplit=1)[0] + "\n\n— example.gov/govkit-test-log 7r4Tiw==\n"
    )


@pytest.mark.parametrize(
    "note",
    [
        pytest.param(TEST_NOTE[:-1], id="no-final-newline"),
        pytest.param(TEST_NOTE + "\n", id="trailing-blank-line"),
        pytest.param(TEST_NOTE.replace(" 7r4T", "  7r4T"), id="two-spaces"),
        pytest.param(TEST_NOTE.replace(" 7r4T", " x 7r4T"), id="name-with-space"),
        pytest.param(TEST_NOTE.replace("govkit-test-log 7r4T", "a+b 7r4T"), id="name-with-plus"),
        pytest.param(TEST_NOTE.replace("\n\n", "\r\n\n"), id="carriage-return"),
        pytest.param(TEST_NOTE.replace("8\n", "8\t\n"), id="tab"),
        pytest.param(TEST_NOTE.replace("example", "\x00example", 1), id="nul"),
        pytest.param("\n\n", id="no-signatures"),
        pytest.param("", id="empty"),
        pytest.param(TEST_NOTE.encode().replace(b"8", b"\xff", 1), id="not-utf8"),
        pytest.param(TEST_NOTE.replace("8", "\ud800", 1), id="lone-surrogate"),
        pytest.param(TEST_NOTE + "x" * (1 << 20), id="over-1-MiB"),
        pytest.param(TEST_NOTE.encode() + b"x" * (1 << 20), id="over-1-MiB-bytes"),
    ],
)
def test_malformed_note_is_refused(note: str | bytes) -> None:
    check_malformed(note)


# --- checkpoint body parsing --------------------------------------------------------


ROOT_B64 = "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg="


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(f"{TEST_LOG}\n08\n{ROOT_B64}\n", id="non-canonical-size-08"),
        pytest.param(f"{TEST_LOG}\n+08\n{ROOT_B64}\n", id="plus-sign-size"),
        pytest.param(f"{TEST_LOG}\n+8\n{ROOT_B64}\n", id="plus-8"),
        pytest.param(f"{TEST_LOG}\n-1\n{ROOT_B64}\n", id="negative-size"),
        pytest.param(f"{TEST_LOG}\n00\n{ROOT_B64}\n", id="size-00"),
        pytest.param(f"{TEST_LOG}\n8 \n{ROOT_B64}\n", id="size-trailing-space"),
        pytest.param(f"{TEST_LOG}\n1_000\n{ROOT_B64}\n", id="size-underscore"),
        pytest.param(f"{TEST_LOG}\n\u0668\n{ROOT_B64}\n", id="size-arabic-indic-digit"),
        pytest.param(f"{TEST_LOG}\n{2**64}\n{ROOT_B64}\n", id="size-over-uint64"),
        pytest.param(f"{TEST_LOG}\n{'9' * 5000}\n{ROOT_B64}\n", id="size-5000-digits"),
        pytest.param(f"{TEST_LOG}\n8\n{ROOT_B64[:-1]}\n", id="root-unpadded"),
        pytest.param(f"{TEST_LOG}\n8\n{ROOT_B64[:-2]}\n", id="root-truncated"),
        pytest.param(f"{TEST_LOG}\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz-Nw7_RgQyg=\n", id="b64url"),
        pytest.param(f"{TEST_LOG}\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyh=\n", id="bits"),
        pytest.param(f"{TEST_LOG}\n8\n{base64.b64encode(bytes(31)).decode()}\n", id="root-31"),
        pytest.param(f"{TEST_LOG}\n8\n{base64.b64encode(bytes(33)).decode()}\n", id="root-33"),
        pytest.param(f"{TEST_LOG}\n8\n", id="missing-root-line"),
        pytest.param(f"{TEST_LOG}\n", id="missing-size-line"),
        pytest.param(f"{TEST_LOG}\n8\n{ROOT_B64}", id="no-final-newline"),
        pytest.param(f"{TEST_LOG}\n8\n{ROOT_B64}\n\n", id="trailing-empty-line"),
        pytest.param(f"{TEST_LOG}\n8\n{ROOT_B64}\n\next\n", id="empty-line-before-ext"),
        pytest.param(f"\n8\n{ROOT_B64}\n", id="empty-origin"),
        pytest.param(f"example.gov log\n8\n{ROOT_B64}\n", id="origin-with-space"),
        pytest.param(f"example.gov+log\n8\n{ROOT_B64}\n", id="origin-with-plus"),
        pytest.param(f"example.gov\u200blog\n8\n{ROOT_B64}\n", id="origin-zero-width-space"),
        pytest.param(f"{TEST_LOG}\r\n8\n{ROOT_B64}\n", id="crlf"),
        pytest.param(f"{TEST_LOG}\n8\n{ROOT_B64}\next\x01\n", id="control-in-extension"),
        pytest.param(b"example.gov/\xfflog\n8\n" + ROOT_B64.encode() + b"\n", id="not-utf8"),
    ],
)
def test_malformed_checkpoint_body_is_refused(body: str | bytes) -> None:
    with pytest.raises(CheckpointInvalid):
        Checkpoint.parse(body)


@pytest.mark.parametrize(
    ("origin", "size", "root", "extensions"),
    [
        ("", 1, bytes(32), ()),
        ("a b", 1, bytes(32), ()),
        ("a+b", 1, bytes(32), ()),
        ("a\nb", 1, bytes(32), ()),
        ("a\u00a0b", 1, bytes(32), ()),
        (b"origin", 1, bytes(32), ()),
        ("o", -1, bytes(32), ()),
        ("o", 2**64, bytes(32), ()),
        ("o", True, bytes(32), ()),
        ("o", 1.0, bytes(32), ()),
        ("o", "1", bytes(32), ()),
        ("o", 1, bytes(31), ()),
        ("o", 1, bytearray(32), ()),
        ("o", 1, "0" * 32, ()),
        ("o", 1, bytes(32), ("",)),
        ("o", 1, bytes(32), ("a\nb",)),
        ("o", 1, bytes(32), ("a\tb",)),
        ("o", 1, bytes(32), (b"x",)),
        ("o", 1, bytes(32), "ext"),
    ],
)
def test_invalid_checkpoint_cannot_be_constructed(
    origin: object, size: object, root: object, extensions: object
) -> None:
    with pytest.raises(CheckpointInvalid):
        Checkpoint(origin, size, root, extensions)  # type: ignore[arg-type]


# --- vkeys, private keys and signers ------------------------------------------------


def vkey_with(type_byte: int, name: str = "example.com/foo") -> str:
    public = base64.b64decode(C2SP_VKEY.split("+", 2)[2])[1:]
    return f"{name}+530d903a+{base64.b64encode(bytes([type_byte]) + public).decode()}"


def test_vkey_key_id_mismatch_is_refused() -> None:
    with pytest.raises(InvalidKey, match="does not match"):
        NoteVerifier.from_vkey(C2SP_VKEY.replace("530d903a", "530d903b"))


def test_vkey_with_another_name_no_longer_matches_its_key_id() -> None:
    with pytest.raises(InvalidKey, match="does not match"):
        NoteVerifier.from_vkey(C2SP_VKEY.replace("example.com/foo", "example.com/bar"))


@pytest.mark.parametrize("type_byte", [0x00, 0x02, 0x03, 0x05, 0x06, 0xFF])
def test_vkey_with_wrong_type_byte_is_refused(type_byte: int) -> None:
    with pytest.raises(UnsupportedAlgorithm):
        NoteVerifier.from_vkey(vkey_with(type_byte))


def test_vkey_relabelled_as_cosigner_type_no_longer_matches_its_key_id() -> None:
    with pytest.raises(InvalidKey, match="does not match"):
        NoteVerifier.from_vkey(vkey_with(0x04))


@pytest.mark.parametrize(
    "vkey",
    [
        pytest.param(C2SP_VKEY[:-4], id="truncated-base64"),
        pytest.param(C2SP_VKEY[:-1], id="truncated-base64-by-one"),
        pytest.param(C2SP_VKEY + "AAAA", id="key-too-long"),
        pytest.param(C2SP_VKEY.replace("530d903a", "530D903A"), id="uppercase-hex"),
        pytest.param(C2SP_VKEY.replace("530d903a", "530d903"), id="seven-hex-digits"),
        pytest.param(C2SP_VKEY.replace("530d903a", "0x530d90"), id="hex-prefix"),
        pytest.param("example.com/foo+530d903a", id="two-parts"),
        pytest.param("+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", id="empty-name"),
        pytest.param("example com+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", id="sp"),
        pytest.param("example.com/foo+530d903a+", id="empty-key"),
        pytest.param(" " + C2SP_VKEY, id="leading-space"),
        pytest.param(C2SP_VKEY + "\n", id="trailing-newline"),
    ],
)
def test_malformed_vkey_is_refused(vkey: str) -> None:
    with pytest.raises(InvalidKey):
        NoteVerifier.from_vkey(vkey)


def test_private_key_string_with_wrong_key_id_is_refused() -> None:
    exported = make_signer().to_private_key_string().replace("+eebe138b+", "+eebe138c+")
    with pytest.raises(InvalidKey, match="does not match"):
        NoteSigner.from_private_key_string(exported)


@pytest.mark.parametrize(
    "text",
    [
        "PRIVATE+KEY+example.gov/log+eebe138b",
        "PUBLIC+KEY+example.gov/log+eebe138b+AQ==",
        "PRIVATE+KEY+example.gov/log+eebe138b+AQAA",
        "PRIVATE+KEY+a b+eebe138b+AQ==",
        "PRIVATE+KEY+example.gov/log+EEBE138B+AQ==",
        "PRIVATE+KEY+example.gov/log+eebe138b+not base64",
    ],
)
def test_malformed_private_key_string_is_refused(text: str) -> None:
    with pytest.raises(InvalidKey):
        NoteSigner.from_private_key_string(text)


def test_witness_private_key_cannot_be_loaded_as_a_log_signer() -> None:
    witness = WitnessSigner.generate("witness.example/w1")
    exported = witness.to_private_key_string()
    assert WitnessSigner.from_private_key_string(exported).vkey == witness.vkey
    with pytest.raises(InvalidKey, match="signature type"):
        NoteSigner.from_private_key_string(exported)


@pytest.mark.parametrize("alg", ["ES256", "PS256"])
def test_note_signer_refuses_non_ed25519_keys(alg: str) -> None:
    key = SigningKey.generate(alg)
    with pytest.raises(KeyMismatch):
        NoteSigner("example.gov/log", key)
    with pytest.raises(KeyMismatch):
        NoteVerifier("example.gov/log", key.verifying_key)


@pytest.mark.parametrize("name", ["", "a b", "a+b", "a\tb", "a\u2003b", "a\nb"])
def test_signer_refuses_bad_key_names(name: str) -> None:
    with pytest.raises(ConfigurationError):
        NoteSigner.generate(name)


@pytest.mark.parametrize("text", ["no newline", "", "tab\there\n", "cr\r\n", "\ud800\n"])
def test_sign_refuses_text_that_cannot_be_a_note(text: str) -> None:
    with pytest.raises(CheckpointInvalid):
        make_signer().sign(text)


def test_open_note_refuses_bad_configuration() -> None:
    verifier = make_signer().verifier
    with pytest.raises(ConfigurationError):
        open_note(TEST_NOTE, [])
    with pytest.raises(ConfigurationError):
        open_note(TEST_NOTE, TEST_VKEY)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        open_note(TEST_NOTE, [TEST_VKEY])  # type: ignore[list-item]
    with pytest.raises(ConfigurationError):
        open_note(TEST_NOTE, [verifier], min_signatures=0)
    assert open_note(TEST_NOTE, [verifier, NoteVerifier.from_vkey(TEST_VKEY)])  # same key twice
    # A real (name, key ID) collision needs ~2**32 key generations; fake one instead.
    impostor = NoteVerifier(TEST_LOG, SigningKey.generate("EdDSA").verifying_key)
    impostor._key_id = verifier.key_id
    with pytest.raises(ConfigurationError, match="share"):
        open_note(TEST_NOTE, [verifier, impostor])


# --- cosignatures -------------------------------------------------------------------


def test_cosignature_round_trip_exposes_the_timestamp() -> None:
    log = make_signer()
    witness = WitnessSigner.generate("witness.example/w1")
    cosigned = cosign_checkpoint(TEST_NOTE, witness, timestamp=1679315147)
    assert cosigned.startswith(TEST_NOTE)
    witness_verifier = NoteVerifier.from_vkey(witness.vkey)
    assert witness_verifier.cosigner
    assert witness.vkey.split("+")[2].startswith("B")  # base64 of type byte 0x04
    opened = open_note(cosigned, [log.verifier, witness_verifier], min_signatures=2)
    assert opened.signatures == (
        VerifiedSignature(TEST_LOG, log.key_id),
        VerifiedSignature("witness.example/w1", witness.key_id, 1679315147),
    )
    assert verify_checkpoint(cosigned, [log.verifier, witness_verifier], min_signatures=2) == (
        make_checkpoint()
    )


def test_cosignature_signs_the_c2sp_cosignature_v1_message() -> None:
    # Checked with the raw Ed25519 key against the message spelled out in tlog-cosignature.md.
    private = ed25519.Ed25519PrivateKey.generate()
    witness = WitnessSigner("witness.example/w1", SigningKey(private))
    body = "\n".join(COSIGNED_MESSAGE_EXAMPLE.split("\n")[2:])
    note = NoteSigner.generate("example.com/behind-the-sofa").sign(body)
    line = cosign_checkpoint(note, witness, timestamp=1679315147).rsplit("\n", 2)[1]
    raw = base64.b64decode(line.split(" ")[2])
    assert raw[:4] == witness.key_id
    assert int.from_bytes(raw[4:12], "big") == 1679315147
    private.public_key().verify(raw[12:], COSIGNED_MESSAGE_EXAMPLE.encode())


def test_cosignature_with_tampered_timestamp_is_rejected() -> None:
    witness = WitnessSigner.generate("witness.example/w1")
    cosigned = cosign_checkpoint(TEST_NOTE, witness, timestamp=1679315147)
    tampered = flip_signature_byte(cosigned, line_index=1, byte_index=11)  # last timestamp byte
    with pytest.raises(CheckpointSignatureInvalid):
        open_note(tampered, [witness.verifier])


def test_cosignature_timestamp_above_2_to_63_is_rejected() -> None:
    witness = WitnessSigner.generate("witness.example/w1")
    cosigned = cosign_checkpoint(TEST_NOTE, witness, timestamp=5)
    # Byte 4 of the signature line is the timestamp's top byte (after the 4-byte key ID).
    forged = flip_signature_byte(cosigned, line_index=1, byte_index=4, mask=0x80)
    with pytest.raises(CheckpointSignatureInvalid, match="too large"):
        open_note(forged, [witness.verifier])


def test_cosignature_is_not_accepted_as_a_plain_note_signature() -> None:
    # The same key pair as a 0x01 signer has another key ID, so the witness line is ignored.
    key = SigningKey.generate("EdDSA")
    witness = WitnessSigner("witness.example/w1", key)
    as_log_key = NoteSigner("witness.example/w1", key).verifier
    cosigned = cosign_checkpoint(TEST_NOTE, witness, timestamp=1)
    with pytest.raises(CheckpointSignatureInvalid, match="no trusted key"):
        open_note(cosigned, [as_log_key])


def test_witness_cannot_cosign_twice_or_a_malformed_checkpoint() -> None:
    witness = WitnessSigner.generate("witness.example/w1")
    cosigned = cosign_checkpoint(TEST_NOTE, witness, timestamp=1)
    with pytest.raises(CheckpointInvalid, match="already"):
        cosign_checkpoint(cosigned, witness, timestamp=2)
    bad_body = make_signer().sign(f"{TEST_LOG}\n08\n{ROOT_B64}\n")
    with pytest.raises(CheckpointInvalid):
        cosign_checkpoint(bad_body, witness, timestamp=1)


@pytest.mark.parametrize("timestamp", [-1, 2**63, True, 1.5])
def test_cosign_refuses_bad_timestamps(timestamp: object) -> None:
    witness = WitnessSigner.generate("witness.example/w1")
    with pytest.raises(ConfigurationError):
        cosign_checkpoint(TEST_NOTE, witness, timestamp=timestamp)  # type: ignore[arg-type]


# --- arbitrary input: a result or a GovkitError, nothing else ------------------------


PARSER_SETTINGS = settings(max_examples=300, deadline=None)
VERIFIERS = [NoteVerifier.from_vkey(TEST_VKEY), NoteVerifier.from_vkey(C2SP_VKEY)]


def note_like() -> st.SearchStrategy[str]:
    """Text built from the pieces a note is made of, so that fuzzing reaches deep checks."""
    pieces = st.sampled_from(
        ["\n", "\n\n", "— ", "—", " ", "+", "8", "08", TEST_LOG, ROOT_B64, "=", "AAAA", "\r"]
    )
    return st.lists(st.one_of(pieces, st.text(max_size=8)), max_size=20).map("".join)


@PARSER_SETTINGS
@given(st.one_of(st.text(), st.binary(), note_like()))
def test_open_note_on_arbitrary_input_returns_or_raises_govkit_error(data: str | bytes) -> None:
    try:
        open_note(data, VERIFIERS)
        verify_checkpoint(data, VERIFIERS)
    except GovkitError:
        pass


@PARSER_SETTINGS
@given(st.binary(max_size=len(TEST_NOTE.encode()) + 8), st.data())
def test_mutated_test_note_returns_or_raises_govkit_error(
    noise: bytes, data: st.DataObject
) -> None:
    original = TEST_NOTE.encode()
    position = data.draw(st.integers(0, len(original)))
    cut = data.draw(st.integers(0, 4))
    mutated = original[:position] + noise[:cut] + original[position + cut :]
    try:
        checkpoint = verify_checkpoint(mutated, VERIFIERS)
    except GovkitError:
        return
    assert checkpoint == make_checkpoint()  # only a harmless change can still verify


@PARSER_SETTINGS
@given(st.one_of(st.text(), st.binary(), note_like()))
def test_checkpoint_parse_on_arbitrary_input_returns_or_raises_govkit_error(
    data: str | bytes,
) -> None:
    try:
        checkpoint = Checkpoint.parse(data)
    except GovkitError:
        return
    assert Checkpoint.parse(checkpoint.body()) == checkpoint


@PARSER_SETTINGS
@given(st.one_of(st.text(), note_like(), st.from_type(object)))
def test_from_vkey_on_arbitrary_input_returns_or_raises_govkit_error(data: object) -> None:
    try:
        verifier = NoteVerifier.from_vkey(data)  # type: ignore[arg-type]
    except GovkitError:
        return
    assert verifier.vkey == data


@PARSER_SETTINGS
@given(st.one_of(st.text(), note_like()))
def test_from_private_key_string_on_arbitrary_input_returns_or_raises_govkit_error(
    data: str,
) -> None:
    try:
        NoteSigner.from_private_key_string("PRIVATE+KEY+" + data)
        NoteSigner.from_private_key_string(data)
    except GovkitError:
        pass


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            bytes([0x02]) + bytes(32),
            "vkey signature type 0x02 is not supported; supported: 0x01 (Ed25519), "
            "0x04 (Ed25519 cosignature/v1), 0xff govkit-sm2 (SM2)",
        ),
        (
            bytes([0xFF]) + b"other" + bytes(32),
            "vkey has signature type 0xff with an identifier govkit does not know; supported: "
            "0x01 (Ed25519), 0x04 (Ed25519 cosignature/v1), 0xff govkit-sm2 (SM2)",
        ),
    ],
    ids=["unassigned-type", "unknown-0xff-identifier"],
)
def test_vkey_of_an_unknown_signature_type_names_the_type(raw: bytes, message: str) -> None:
    vkey = "example.gov/log+0000abcd+" + base64.b64encode(raw).decode()
    with pytest.raises(GovkitError) as caught:
        NoteVerifier.from_vkey(vkey)
    assert caught.value.code == "key.unsupported_algorithm"
    assert caught.value.message == message
    assert caught.value.context["sig_type"] == raw[0]
