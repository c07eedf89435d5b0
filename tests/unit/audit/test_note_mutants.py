"""Faults and attacks on signed notes and checkpoints, checked to the exact error (#18).

Each refusal is asserted by its error class and stable code, its exact message and its
context, and each limit on both sides of its boundary (1 MiB, 100 signature lines, a
5-byte signature, timestamps 0 and 2**63 - 1, sizes up to 2**64 - 1), so that a
changed check, message or limit fails a test (``scripts/mutate.py note``).

Vectors: ``../shared/specs/audit.md`` section (b), the govkit test checkpoint (TEST KEY
ONLY, Ed25519 seed = bytes 00..1f), and C2SP ``signed-note.md``'s example vkey.
"""

from __future__ import annotations

import base64
import hashlib
import pickle
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from govkit.audit._note import (
    Checkpoint,
    NoteSigner,
    NoteVerifier,
    VerifiedSignature,
    WitnessSigner,
    cosign_checkpoint,
    inspect_checkpoint,
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
    render_message,
)
from govkit.keys import SigningKey

MIB = 1 << 20
TEST_LOG = "example.gov/govkit-test-log"
TEST_SEED = bytes(range(32))
ROOT_B64 = "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg="
TEST_ROOT_8 = base64.b64decode(ROOT_B64)
TEST_VKEY = "example.gov/govkit-test-log+eebe138b+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4"
TEST_BODY = f"{TEST_LOG}\n8\n{ROOT_B64}\n"
TEST_NOTE = (
    f"{TEST_BODY}\n"
    "— example.gov/govkit-test-log 7r4TizZwazJJILiwx0JYioN2U+m0vLHHRvApniJKiLFpznjWOCjeexl0RgitQc2b"
    "07ESg3fCzb/fG9zkQZ/y7GUjvwY=\n"
)
#: The line number (from 1) of a second signature line appended to TEST_NOTE: the body's
#: lines, the blank line, then the first signature.
SECOND_SIGNATURE_LINE = TEST_BODY.count("\n") + 3
C2SP_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SUPPORTED = "0x01 (Ed25519), 0x04 (Ed25519 cosignature/v1), 0xff govkit-sm2 (SM2)"
SM2_TYPE = b"\xff" + b"govkit-sm2"
# GM/T 0003.5-2012 example private scalar (TEST KEY ONLY), as in test_checkpoints_sm2.py.
SM2_D = bytes.fromhex("3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8")

CODES = {
    CheckpointInvalid: "audit.checkpoint_malformed",
    CheckpointSignatureInvalid: "audit.checkpoint_signature",
    ConfigurationError: "config.invalid",
    InvalidKey: "key.invalid",
    KeyMismatch: "key.alg_mismatch",
    UnsupportedAlgorithm: "key.unsupported_algorithm",
}


def make_signer() -> NoteSigner:
    return NoteSigner(TEST_LOG, SigningKey(ed25519.Ed25519PrivateKey.from_private_bytes(TEST_SEED)))


LOG = make_signer()
LOG_VERIFIER = LOG.verifier
OTHER = NoteSigner.generate("example.gov/second")
WITNESS = WitnessSigner.generate("witness.example/w1")


def refused(
    call: Callable[[], object], error: type[GovkitError], message: str, **context: Any
) -> GovkitError:
    """Assert ``call`` raises exactly ``error`` with ``message`` and ``context``."""
    with pytest.raises(GovkitError) as caught:
        call()
    raised = caught.value
    assert type(raised) is error
    assert raised.code == CODES[error]
    assert raised.message == message
    assert dict(raised.context) == context
    return raised


def line_of(signer: NoteSigner, text: str) -> str:
    """The signature line ``signer`` puts under ``text``."""
    return signer.sign(text)[len(text) + 1 :]


def fake_line(name: str, raw: bytes) -> str:
    return f"— {name} {base64.b64encode(raw).decode()}\n"


def note_of_exactly(size: int, signer: NoteSigner = LOG) -> str:
    """A genuine signed note of exactly ``size`` UTF-8 bytes."""
    overhead = len(signer.sign("x\n").encode()) - len(b"x\n")
    text = "x" * (size - overhead - 1) + "\n"
    note = signer.sign(text)
    assert len(note.encode()) == size
    return note


# --- Checkpoint construction -------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message", "context"),
    [
        pytest.param((7, 1, TEST_ROOT_8), "checkpoint origin must be a string", {}, id="int"),
        pytest.param(("", 1, TEST_ROOT_8), "checkpoint origin must not be empty", {}, id="empty"),
        pytest.param(("a+b", 1, TEST_ROOT_8), "checkpoint origin must not contain '+'", {}),
        pytest.param(("a b", 1, TEST_ROOT_8), "checkpoint origin must not contain spaces", {}),
        pytest.param(("a\u00a0b", 1, TEST_ROOT_8), "checkpoint origin must not contain spaces", {}),
        pytest.param(
            ("a\u200bb", 1, TEST_ROOT_8),
            "checkpoint origin must contain only printable characters",
            {},
            id="zero-width-space",
        ),
        pytest.param(("o", True, TEST_ROOT_8), "checkpoint size must be an int", {}, id="bool"),
        pytest.param(("o", "1", TEST_ROOT_8), "checkpoint size must be an int", {}, id="str"),
        pytest.param(("o", 1.0, TEST_ROOT_8), "checkpoint size must be an int", {}, id="float"),
        pytest.param(("o", -1, TEST_ROOT_8), "checkpoint size must be between 0 and 2**64 - 1", {}),
        pytest.param(
            ("o", 2**64, TEST_ROOT_8), "checkpoint size must be between 0 and 2**64 - 1", {}
        ),
        pytest.param(("o", 1, bytes(31)), "checkpoint root hash must be 32 bytes", {}),
        pytest.param(("o", 1, bytes(33)), "checkpoint root hash must be 32 bytes", {}),
        pytest.param(("o", 1, bytearray(32)), "checkpoint root hash must be 32 bytes", {}),
        pytest.param(
            ("o", 1, TEST_ROOT_8, "ext"), "checkpoint extensions must be a tuple of lines", {}
        ),
        pytest.param(
            ("o", 1, TEST_ROOT_8, b"ext"), "checkpoint extensions must be a tuple of lines", {}
        ),
        pytest.param(
            ("o", 1, TEST_ROOT_8, {"ext"}), "checkpoint extensions must be a tuple of lines", {}
        ),
        pytest.param(
            ("o", 1, TEST_ROOT_8, ("ok", "")),
            "extension lines must be non-empty strings",
            {"line": 5},
            id="empty-extension",
        ),
        pytest.param(
            ("o", 1, TEST_ROOT_8, ("ok", b"x")),
            "extension lines must be non-empty strings",
            {"line": 5},
            id="bytes-extension",
        ),
        pytest.param(
            ("o", 1, TEST_ROOT_8, ("ok", "a\nb")),
            "extension line contains a newline",
            {"line": 5},
        ),
        pytest.param(
            ("o", 1, TEST_ROOT_8, ("a\tb",)),
            "extension line contains an ASCII control character other than newline",
            {"line": 4},
        ),
        pytest.param(
            ("o", 1, TEST_ROOT_8, ("\ud800",)),
            "extension line is not valid Unicode (lone surrogate)",
            {"line": 4},
        ),
    ],
)
def test_checkpoint_that_cannot_exist_is_refused_with_its_reason(
    args: tuple[Any, ...], message: str, context: dict[str, Any]
) -> None:
    refused(lambda: Checkpoint(*args), CheckpointInvalid, message, **context)


def test_checkpoint_sizes_at_both_ends_of_the_range_are_accepted() -> None:
    assert Checkpoint("o", 0, TEST_ROOT_8).body() == f"o\n0\n{ROOT_B64}\n"
    top = Checkpoint("o", 2**64 - 1, TEST_ROOT_8, ("a", "b"))
    assert top.body() == f"o\n18446744073709551615\n{ROOT_B64}\na\nb\n"
    assert Checkpoint.parse(top.body()) == top


# --- Checkpoint.parse ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message", "context"),
    [
        pytest.param(7, "checkpoint body must be str or bytes", {}, id="int"),
        pytest.param(b"\xff\n", "checkpoint body is not valid UTF-8", {}, id="not-utf8"),
        pytest.param(
            b"a" * (MIB + 1), "checkpoint body is larger than 1 MiB", {"size": MIB + 1}, id="big-b"
        ),
        pytest.param(
            "a" * (MIB + 1), "checkpoint body is larger than 1 MiB", {"size": MIB + 1}, id="big-s"
        ),
        # exactly 1 MiB is within the limit: the next check speaks
        pytest.param(b"a" * MIB, "checkpoint body must end with a newline", {}, id="1MiB-b"),
        pytest.param("a" * MIB, "checkpoint body must end with a newline", {}, id="1MiB-s"),
        pytest.param(TEST_BODY[:-1], "checkpoint body must end with a newline", {}),
        pytest.param(f"{TEST_LOG}\n8\n", "checkpoint body needs origin, size and root lines", {}),
        pytest.param(f"{TEST_LOG}\n\n{ROOT_B64}\n", "checkpoint body has an empty line", {}),
        pytest.param(TEST_BODY + "\n", "checkpoint body has an empty line", {}),
        pytest.param(
            f"{TEST_LOG}\n08\n{ROOT_B64}\n",
            "checkpoint size is not a canonical decimal number",
            {},
        ),
        pytest.param(
            f"{TEST_LOG}\n{10**20}\n{ROOT_B64}\n",
            "checkpoint size is not a canonical decimal number",
            {},
            id="21-digits",
        ),
        pytest.param(
            f"{TEST_LOG}\n{10**20 - 1}\n{ROOT_B64}\n",
            "checkpoint size must be between 0 and 2**64 - 1",
            {},
            id="20-digits-over-uint64",
        ),
        pytest.param(
            f"{TEST_LOG}\n8\n{ROOT_B64[:-1]}\n", "checkpoint root hash is not valid base64", {}
        ),
        pytest.param(
            f"{TEST_LOG}\n8\n{ROOT_B64[:-2]}h=\n",
            "checkpoint root hash has non-canonical trailing bits",
            {},
        ),
        pytest.param(
            f"{TEST_LOG}\n8\n{base64.b64encode(bytes(31)).decode()}\n",
            "checkpoint root hash must be 32 bytes",
            {},
        ),
        pytest.param(f"a log\n8\n{ROOT_B64}\n", "checkpoint origin must not contain spaces", {}),
    ],
)
def test_malformed_checkpoint_body_is_refused_with_its_reason(
    body: object, message: str, context: dict[str, Any]
) -> None:
    refused(lambda: Checkpoint.parse(body), CheckpointInvalid, message, **context)  # type: ignore[arg-type]


def test_checkpoint_body_with_the_largest_size_and_extensions_parses_exactly() -> None:
    body = f"o\n{2**64 - 1}\n{ROOT_B64}\next a\n— b\n"
    assert Checkpoint.parse(body.encode()) == Checkpoint(
        "o", 2**64 - 1, TEST_ROOT_8, ("ext a", "— b")
    )
    assert Checkpoint.parse(f"o\n0\n{ROOT_B64}\n").size == 0


# --- signed-note framing -------------------------------------------------------------


def open_with_log_key(note: object) -> object:
    return open_note(note, [LOG_VERIFIER])  # type: ignore[arg-type]


GOOD_SECOND = line_of(OTHER, TEST_BODY)


@pytest.mark.parametrize(
    ("note", "message", "context"),
    [
        pytest.param(7, "signed note must be str or bytes", {}, id="int"),
        pytest.param(TEST_NOTE.encode()[:-3] + b"\xff\n", "signed note is not valid UTF-8", {}),
        pytest.param(
            TEST_NOTE.encode() + b"x" * MIB,
            "signed note is larger than 1 MiB",
            {"size": len(TEST_NOTE.encode()) + MIB},
            id="over-1-MiB-bytes",
        ),
        pytest.param(
            "x" * (MIB + 1),
            "signed note is larger than 1 MiB",
            {"size": MIB + 1},
            id="over-1-MiB-characters",
        ),
        pytest.param(
            "é" * (MIB // 2 + 1),  # fewer than 1 Mi characters, more than 1 MiB of UTF-8
            "signed note is larger than 1 MiB",
            {},
            id="over-1-MiB-of-utf8",
        ),
        pytest.param(
            TEST_NOTE.replace("8\n", "8\x00\n", 1),
            "signed note contains an ASCII control character other than newline",
            {},
        ),
        pytest.param(
            TEST_NOTE.replace("8\n", "\ud8008\n", 1),
            "signed note is not valid Unicode (lone surrogate)",
            {},
        ),
        pytest.param(
            TEST_NOTE.replace("\n\n", "\n"),
            "signed note has no blank line before its signatures",
            {},
        ),
        pytest.param(TEST_NOTE[:-1], "signed note's signature block must end with a newline", {}),
        pytest.param(TEST_NOTE + "\n", "signed note's signature block must end with a newline", {}),
        pytest.param(
            TEST_NOTE + GOOD_SECOND * 100,
            "signed note has more than 100 signatures",
            {"signatures": 101},
        ),
        pytest.param(
            TEST_NOTE + "-" + GOOD_SECOND[1:],
            "signature line does not start with '— '",
            {"line": SECOND_SIGNATURE_LINE},
        ),
        pytest.param(
            TEST_NOTE + GOOD_SECOND.replace(" ", "  ", 1),
            "signature line is not '— <name> <base64>'",
            {"line": SECOND_SIGNATURE_LINE},
        ),
        pytest.param(
            TEST_NOTE + GOOD_SECOND[:-1] + " x\n",
            "signature line is not '— <name> <base64>'",
            {"line": SECOND_SIGNATURE_LINE},
        ),
        pytest.param(
            TEST_NOTE + GOOD_SECOND.replace("example.gov/second", "a+b"),
            "signature line is not '— <name> <base64>'",
            {"line": SECOND_SIGNATURE_LINE},
        ),
        pytest.param(
            TEST_NOTE + fake_line("example.gov/second", bytes(8))[:-2] + "\n",
            "note signature is not valid base64",
            {"line": SECOND_SIGNATURE_LINE},
        ),
        pytest.param(
            TEST_NOTE + "— example.gov/second AAAAAAB=\n",
            "note signature has non-canonical trailing bits",
            {"line": SECOND_SIGNATURE_LINE},
        ),
        pytest.param(
            TEST_NOTE + fake_line("example.gov/second", bytes(4)),
            "note signature is too short",
            {"line": SECOND_SIGNATURE_LINE},
        ),
    ],
)
def test_malformed_note_is_refused_with_its_reason(
    note: object, message: str, context: dict[str, Any]
) -> None:
    refused(lambda: open_with_log_key(note), CheckpointInvalid, message, **context)


@pytest.mark.parametrize("as_bytes", [False, True], ids=["str", "bytes"])
def test_note_of_exactly_1_mib_is_accepted(as_bytes: bool) -> None:
    note = note_of_exactly(MIB)
    opened = open_note(note.encode() if as_bytes else note, [LOG_VERIFIER])
    assert opened.signatures == (VerifiedSignature(TEST_LOG, LOG.key_id),)
    too_big = note_of_exactly(MIB + 1)
    # bytes are measured as given; a str (MIB - 1 characters here) once encoded
    context = {"size": MIB + 1} if as_bytes else {}
    refused(
        lambda: open_note(too_big.encode() if as_bytes else too_big, [LOG_VERIFIER]),
        CheckpointInvalid,
        "signed note is larger than 1 MiB",
        **context,
    )


def test_note_of_exactly_1_mib_of_multibyte_text_is_accepted() -> None:
    overhead = len(LOG.sign("x\n").encode()) - len(b"x\n")
    text = "é" * ((MIB - overhead - 1) // 2) + "x" * ((MIB - overhead - 1) % 2) + "\n"
    note = LOG.sign(text)
    assert len(note.encode()) == MIB
    assert len(note) < MIB
    assert open_note(note, [LOG_VERIFIER]).text == text


def test_note_whose_text_is_a_single_newline_splits_at_the_start() -> None:
    # the blank line separating text and signatures starts at offset 0
    note = LOG.sign("\n")
    assert note.startswith("\n\n— ")
    assert open_note(note, [LOG_VERIFIER]).text == "\n"


def test_five_byte_signature_by_an_unknown_key_is_framed_and_ignored() -> None:
    five = fake_line("example.gov/unknown", b"\x00\x01\x02\x03\x04")
    assert open_note(TEST_NOTE + five, [LOG_VERIFIER]).text == TEST_BODY
    # the same line under the trusted key's name and ID is a wrong-length signature
    known = fake_line(TEST_LOG, LOG.key_id + b"\x04")
    refused(
        lambda: open_note(TEST_NOTE + known, [LOG_VERIFIER]),
        CheckpointSignatureInvalid,
        "note signature has the wrong length",
        name=TEST_LOG,
        key_id="eebe138b",
    )


def test_one_hundred_signature_lines_are_framed() -> None:
    note = TEST_NOTE + GOOD_SECOND * 99
    assert open_note(note, [LOG_VERIFIER, OTHER.verifier], min_signatures=2).signatures == (
        VerifiedSignature(TEST_LOG, LOG.key_id),
        VerifiedSignature("example.gov/second", OTHER.key_id),
    )


# --- signatures ---------------------------------------------------------------------


def flip_last_byte(note: str) -> str:
    text, block = note.rsplit("\n\n", 1)
    prefix, encoded = block.rstrip("\n").rsplit(" ", 1)
    raw = bytearray(base64.b64decode(encoded))
    raw[-1] ^= 1
    return f"{text}\n\n{prefix} {base64.b64encode(bytes(raw)).decode()}\n"


def test_note_signed_by_no_trusted_key_is_refused_with_its_reason() -> None:
    error = refused(
        lambda: open_note(TEST_NOTE, [OTHER.verifier]),
        CheckpointSignatureInvalid,
        "no trusted key signed the note",
    )
    assert render_message(error, "zh") == "检查点没有受信任密钥的有效签名"


def test_forged_signature_names_the_key_whose_signature_failed() -> None:
    refused(
        lambda: verify_checkpoint(flip_last_byte(TEST_NOTE), [LOG_VERIFIER]),
        CheckpointSignatureInvalid,
        "a trusted key's signature on the note does not verify",
        name=TEST_LOG,
        key_id="eebe138b",
    )


def test_verify_with_signature_or_data_not_bytes_names_the_key() -> None:
    refused(
        lambda: LOG_VERIFIER.verify(signature="x", data=b"x"),  # type: ignore[arg-type]
        CheckpointSignatureInvalid,
        "signature and data must be bytes",
        name=TEST_LOG,
        key_id="eebe138b",
    )


@pytest.mark.parametrize("length", [63, 65, 72])
def test_note_signature_of_the_wrong_length_is_refused(length: int) -> None:
    refused(
        lambda: LOG_VERIFIER.verify(signature=bytes(length), data=b"x\n"),
        CheckpointSignatureInvalid,
        "note signature has the wrong length",
        name=TEST_LOG,
        key_id="eebe138b",
    )


@pytest.mark.parametrize("length", [64, 71, 73])
def test_cosignature_of_the_wrong_length_is_refused(length: int) -> None:
    refused(
        lambda: WITNESS.verifier.verify(signature=bytes(length), data=b"x\n"),
        CheckpointSignatureInvalid,
        "cosignature has the wrong length",
        name="witness.example/w1",
        key_id=WITNESS.key_id.hex(),
    )


def test_cosignature_timestamp_of_2_to_63_is_refused_as_too_large() -> None:
    refused(
        lambda: WITNESS.verifier.verify(signature=(2**63).to_bytes(8) + bytes(64), data=b"x\n"),
        CheckpointSignatureInvalid,
        "cosignature timestamp is too large",
        name="witness.example/w1",
        key_id=WITNESS.key_id.hex(),
    )


@pytest.mark.parametrize("timestamp", [0, 1, 2**63 - 1])
def test_cosignature_at_the_limits_of_time_round_trips(timestamp: int) -> None:
    cosigned = cosign_checkpoint(TEST_NOTE, WITNESS, timestamp=timestamp)
    raw = base64.b64decode(cosigned.rstrip("\n").rsplit(" ", 1)[1])
    assert raw[4:12] == timestamp.to_bytes(8, "big")
    opened = open_note(cosigned, [LOG_VERIFIER, WITNESS.verifier], min_signatures=2)
    assert opened.signatures == (
        VerifiedSignature(TEST_LOG, LOG.key_id),
        VerifiedSignature("witness.example/w1", WITNESS.key_id, timestamp),
    )


def test_cosignature_line_is_exact_for_a_fixed_witness_key() -> None:
    private = ed25519.Ed25519PrivateKey.from_private_bytes(TEST_SEED)
    witness = WitnessSigner("witness.example/w1", SigningKey(private))
    line = cosign_checkpoint(TEST_NOTE, witness, timestamp=0x0102030405060708)[len(TEST_NOTE) :]
    message = b"cosignature/v1\ntime 72623859790382856\n" + TEST_BODY.encode()
    raw = witness.key_id + bytes.fromhex("0102030405060708") + private.sign(message)
    assert line == f"— witness.example/w1 {base64.b64encode(raw).decode()}\n"
    key_id = hashlib.sha256(
        b"witness.example/w1\n\x04" + private.public_key().public_bytes_raw()
    ).digest()[:4]
    assert witness.key_id == key_id


def test_too_few_trusted_signatures_for_verify_checkpoint_is_refused() -> None:
    refused(
        lambda: verify_checkpoint(TEST_NOTE, [LOG_VERIFIER, OTHER.verifier], min_signatures=2),
        CheckpointSignatureInvalid,
        "only 1 trusted keys signed the note; 2 are required",
        verified=1,
        required=2,
    )
    note = TEST_NOTE + GOOD_SECOND
    trusted = [LOG_VERIFIER, OTHER.verifier]
    assert verify_checkpoint(note, trusted, min_signatures=2) == Checkpoint(
        TEST_LOG, 8, TEST_ROOT_8
    )


@pytest.mark.parametrize(
    ("min_signatures", "message"),
    [
        (0, "min_signatures must be at least 1"),
        (-1, "min_signatures must be at least 1"),
        (True, "min_signatures must be an int"),
        ("1", "min_signatures must be an int"),
        (1.0, "min_signatures must be an int"),
    ],
)
def test_bad_min_signatures_is_refused_by_every_entry_point(
    min_signatures: Any, message: str
) -> None:
    for call in (open_note, verify_checkpoint, inspect_checkpoint):
        refused(
            partial(call, TEST_NOTE, [LOG_VERIFIER], min_signatures=min_signatures),
            ConfigurationError,
            message,
        )


@pytest.mark.parametrize(
    "verifiers",
    [
        pytest.param({make_signer().verifier}, id="set"),
        pytest.param((v for v in [make_signer().verifier]), id="generator"),
        pytest.param(make_signer().verifier, id="one-verifier"),
        pytest.param(TEST_VKEY, id="vkey-string"),
        pytest.param(TEST_VKEY.encode(), id="bytes"),
        pytest.param([TEST_VKEY], id="list-of-strings"),
    ],
)
def test_verifiers_that_are_not_a_sequence_of_note_verifiers_are_refused(
    verifiers: Any,
) -> None:
    refused(
        lambda: open_note(TEST_NOTE, verifiers),
        ConfigurationError,
        "verifiers must be a sequence of NoteVerifier objects",
    )


def test_empty_verifiers_are_refused() -> None:
    for call in (open_note, verify_checkpoint, inspect_checkpoint):
        refused(
            partial(call, TEST_NOTE, []), ConfigurationError, "at least one NoteVerifier is needed"
        )


def test_two_verifiers_sharing_name_and_key_id_are_refused() -> None:
    impostor = NoteVerifier(TEST_LOG, SigningKey.generate("EdDSA").verifying_key)
    impostor._key_id = LOG.key_id  # a real collision needs ~2**32 key generations
    refused(
        lambda: open_note(TEST_NOTE, [LOG_VERIFIER, impostor]),
        ConfigurationError,
        "two different verifiers share a key name and key ID",
        name=TEST_LOG,
        key_id="eebe138b",
    )


# --- origin ---------------------------------------------------------------------------


def test_checkpoint_of_another_log_is_refused_naming_both_origins() -> None:
    refused(
        lambda: verify_checkpoint(TEST_NOTE, [LOG_VERIFIER], origin="example.gov/other"),
        CheckpointInvalid,
        "checkpoint is for another log (origin mismatch)",
        expected="example.gov/other",
        origin=TEST_LOG,
    )
    report = inspect_checkpoint(TEST_NOTE, [LOG_VERIFIER], origin="example.gov/other")
    assert report.checks[-1].to_dict() == {
        "name": "origin",
        "ok": False,
        "code": "audit.checkpoint_malformed",
        "detail": "checkpoint is for another log (origin mismatch) "
        f"(expected=example.gov/other, origin={TEST_LOG})",
    }


# --- keys ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "alg", "message", "shown"),
    [
        (NoteSigner, "ES256", "NoteSigner signs with EdDSA or SM2, not 'ES256'", "ES256"),
        (WitnessSigner, "SM2", "WitnessSigner signs with EdDSA, not 'SM2'", "SM2"),
        (NoteSigner, "A" * 40, f"NoteSigner signs with EdDSA or SM2, not '{'A' * 32}'", "A" * 32),
        (NoteSigner, None, "NoteSigner signs with EdDSA or SM2, not 'None'", "None"),
    ],
)
def test_generate_with_another_algorithm_is_refused_and_names_it_cut_short(
    kind: type[NoteSigner], alg: Any, message: str, shown: str
) -> None:
    refused(
        lambda: kind.generate("example.gov/log", alg=alg), UnsupportedAlgorithm, message, alg=shown
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (7, "note key name must be a string"),
        ("", "note key name must not be empty"),
        ("a+b", "note key name must not contain '+'"),
        ("a b", "note key name must not contain spaces"),
        ("a\u2028b", "note key name must not contain spaces"),
        ("a\u200bb", "note key name must contain only printable characters"),
    ],
)
def test_key_with_a_bad_name_is_refused_by_signers_and_verifiers(name: Any, message: str) -> None:
    key = SigningKey.generate("EdDSA")
    refused(lambda: NoteSigner(name, key), ConfigurationError, message)
    refused(lambda: WitnessSigner(name, key), ConfigurationError, message)
    refused(lambda: NoteVerifier(name, key.verifying_key), ConfigurationError, message)


def test_key_that_is_not_a_govkit_key_is_refused() -> None:
    raw = ed25519.Ed25519PrivateKey.generate()
    refused(lambda: NoteSigner("n", raw), InvalidKey, "NoteSigner needs a govkit SigningKey")  # type: ignore[arg-type]
    refused(lambda: WitnessSigner("n", raw), InvalidKey, "WitnessSigner needs a govkit SigningKey")  # type: ignore[arg-type]
    refused(
        lambda: NoteVerifier("n", raw.public_key()),  # type: ignore[arg-type]
        InvalidKey,
        "NoteVerifier needs a govkit VerifyingKey",
    )


def test_key_of_another_algorithm_is_refused_naming_both_algorithms() -> None:
    es256 = SigningKey.generate("ES256")
    sm2 = SigningKey.from_private_bytes("SM2", SM2_D)
    either = "needs an Ed25519 (EdDSA) or SM2 key, not ES256"
    only = "needs an Ed25519 (EdDSA) key: cosignature/v1 is Ed25519 only, not"
    cases: list[tuple[Callable[[], object], str, str]] = [
        (lambda: NoteSigner("n", es256), f"NoteSigner {either}", "ES256"),
        (lambda: NoteVerifier("n", es256.verifying_key), f"NoteVerifier {either}", "ES256"),
        (lambda: WitnessSigner("n", es256), f"WitnessSigner {only} ES256", "ES256"),
        (lambda: WitnessSigner("n", sm2), f"WitnessSigner {only} SM2", "SM2"),
        (
            lambda: NoteVerifier("n", sm2.verifying_key, cosigner=True),
            f"NoteVerifier {only} SM2",
            "SM2",
        ),
    ]
    for call, message, alg in cases:
        refused(call, KeyMismatch, message, alg=alg, key_alg="EdDSA")


def test_verifier_is_a_log_key_unless_told_it_is_a_witness() -> None:
    key = make_signer()._key.verifying_key
    verifier = NoteVerifier(TEST_LOG, key)
    assert verifier.cosigner is False
    assert verifier.vkey == TEST_VKEY
    witness = NoteVerifier(TEST_LOG, key, cosigner=True)
    assert witness.cosigner is True
    assert witness.vkey.split("+")[2].startswith("B")  # type byte 0x04


def test_verifiers_hash_by_their_vkey() -> None:
    assert hash(LOG_VERIFIER) == hash(TEST_VKEY)
    assert hash(NoteVerifier.from_vkey(TEST_VKEY)) == hash(LOG_VERIFIER)
    assert len({LOG_VERIFIER, NoteVerifier.from_vkey(TEST_VKEY), OTHER.verifier}) == 2
    assert hash(OTHER.verifier) != hash(LOG_VERIFIER)


@pytest.mark.parametrize("signer", [LOG, WITNESS], ids=["note-signer", "witness"])
def test_pickling_a_signer_is_refused_pointing_to_the_export(signer: NoteSigner) -> None:
    with pytest.raises(TypeError) as caught:
        pickle.dumps(signer)
    name = type(signer).__name__
    assert str(caught.value) == f"{name} cannot be pickled; use to_private_key_string()"


def test_key_id_hashes_the_utf8_name() -> None:
    key = SigningKey(ed25519.Ed25519PrivateKey.from_private_bytes(TEST_SEED))
    signer = NoteSigner("例え.jp/ログ", key)
    public = base64.b64decode(TEST_VKEY.split("+", 2)[2])[1:]
    assert (
        signer.key_id == hashlib.sha256("例え.jp/ログ\n".encode() + b"\x01" + public).digest()[:4]
    )
    assert NoteVerifier.from_vkey(signer.vkey) == signer.verifier


# --- private key strings -----------------------------------------------------------------

EXPORTED = LOG.to_private_key_string()
PRIVATE_BODY = EXPORTED.rsplit("+", 1)[1]


def private(raw: bytes, key_id: str = "eebe138b", name: str = TEST_LOG) -> str:
    return f"PRIVATE+KEY+{name}+{key_id}+{base64.b64encode(raw).decode()}"


@pytest.mark.parametrize(
    ("text", "error", "message", "context"),
    [
        pytest.param(
            7, InvalidKey, "not a note private key string (PRIVATE+KEY+...)", {}, id="int"
        ),
        pytest.param(
            EXPORTED.replace("PRIVATE", "PUBLIC"),
            InvalidKey,
            "not a note private key string (PRIVATE+KEY+...)",
            {},
            id="public",
        ),
        pytest.param(
            EXPORTED.lower(),
            InvalidKey,
            "not a note private key string (PRIVATE+KEY+...)",
            {},
            id="lowercase-prefix",
        ),
        pytest.param(
            f"PRIVATE+KEY+{TEST_LOG}+eebe138b",
            InvalidKey,
            "note private key string must have name, key ID and key parts",
            {},
        ),
        pytest.param(
            EXPORTED.replace(TEST_LOG, "a log"),
            InvalidKey,
            "note private key name must not contain spaces",
            {},
            id="name-with-space",
        ),
        pytest.param(
            EXPORTED.replace(TEST_LOG, ""),
            InvalidKey,
            "note private key name must not be empty",
            {},
            id="empty-name",
        ),
        pytest.param(
            EXPORTED.replace("eebe138b", "EEBE138B"),
            InvalidKey,
            "note private key ID must be 8 lowercase hex digits",
            {},
        ),
        pytest.param(
            EXPORTED.replace("eebe138b", "eebe138"),
            InvalidKey,
            "note private key ID must be 8 lowercase hex digits",
            {},
        ),
        pytest.param(
            private(b"") + "not base64",
            InvalidKey,
            "note private key is not valid base64",
            {},
        ),
        pytest.param(
            private(b"") + "AR==",
            InvalidKey,
            "note private key has non-canonical trailing bits",
            {},
        ),
        pytest.param(private(b""), InvalidKey, "note private key is empty", {}),
        pytest.param(
            private(b"\x02" + TEST_SEED),
            UnsupportedAlgorithm,
            f"note private key signature type 0x02 is not supported; supported: {SUPPORTED}",
            {"sig_type": 2},
        ),
        pytest.param(
            private(b"\xffgovkit-sm9" + TEST_SEED),
            UnsupportedAlgorithm,
            "note private key has signature type 0xff with an identifier govkit does not "
            f"know; supported: {SUPPORTED}",
            {"sig_type": 255},
        ),
        pytest.param(
            private(b"\x01" + TEST_SEED[:31]),
            InvalidKey,
            "note private key must be a signature type and a 32-byte key",
            {},
        ),
        pytest.param(
            private(b"\x01" + TEST_SEED + b"\x00"),
            InvalidKey,
            "note private key must be a signature type and a 32-byte key",
            {},
        ),
        pytest.param(
            private(b"\x01" + TEST_SEED, key_id="eebe138c"),
            InvalidKey,
            "note private key ID does not match the key",
            {"key_id": "eebe138c"},
        ),
        pytest.param(
            WITNESS.to_private_key_string(),
            InvalidKey,
            "note private key has signature type 0x04, NoteSigner needs 0x01, 0xff govkit-sm2",
            {"sig_type": 4},
            id="witness-key-as-log-key",
        ),
    ],
)
def test_malformed_private_key_string_is_refused_with_its_reason(
    text: Any, error: type[GovkitError], message: str, context: dict[str, Any]
) -> None:
    refused(lambda: NoteSigner.from_private_key_string(text), error, message, **context)


def test_log_key_strings_cannot_be_loaded_as_witness_keys() -> None:
    sm2 = NoteSigner(TEST_LOG, SigningKey.from_private_bytes("SM2", SM2_D))
    for signer, shown, sig_type in ((LOG, "0x01", 1), (sm2, "0xff govkit-sm2", 255)):
        refused(
            partial(WitnessSigner.from_private_key_string, signer.to_private_key_string()),
            InvalidKey,
            f"note private key has signature type {shown}, WitnessSigner needs 0x04",
            sig_type=sig_type,
        )


def test_private_key_strings_round_trip_exactly() -> None:
    assert private(b"\x01" + TEST_SEED) == EXPORTED
    assert NoteSigner.from_private_key_string(EXPORTED).vkey == TEST_VKEY
    witness = WitnessSigner.from_private_key_string(WITNESS.to_private_key_string())
    assert (witness.vkey, witness.alg) == (WITNESS.vkey, "EdDSA")


# --- vkeys ---------------------------------------------------------------------------------

C2SP_KEY = base64.b64decode(C2SP_VKEY.split("+", 2)[2])[1:]


def vkey(raw: bytes, name: str = "example.com/foo", key_id: str = "530d903a") -> str:
    return f"{name}+{key_id}+{base64.b64encode(raw).decode()}"


@pytest.mark.parametrize(
    ("text", "message", "context"),
    [
        pytest.param(7, "a vkey must be a string", {}, id="int"),
        pytest.param("example.com/foo+530d903a", "a vkey must have three '+'-separated parts", {}),
        pytest.param(
            C2SP_VKEY.replace("example.com/foo", "a b"), "vkey name must not contain spaces", {}
        ),
        pytest.param(C2SP_VKEY.replace("example.com/foo", ""), "vkey name must not be empty", {}),
        pytest.param(
            C2SP_VKEY.replace("530d903a", "530D903A"),
            "vkey key ID must be 8 lowercase hex digits",
            {},
        ),
        pytest.param(
            "example.com/foo+530d903a+not base64", "vkey public key is not valid base64", {}
        ),
        pytest.param(
            "example.com/foo+530d903a+AR==", "vkey public key has non-canonical trailing bits", {}
        ),
        pytest.param("example.com/foo+530d903a+", "vkey public key is empty", {}),
        pytest.param(
            vkey(b"\x01"), "an Ed25519 vkey must hold a type byte and a 32-byte key", {}, id="0"
        ),
        pytest.param(
            vkey(b"\x01" + C2SP_KEY[:31]),
            "an Ed25519 vkey must hold a type byte and a 32-byte key",
            {},
            id="31",
        ),
        pytest.param(
            vkey(b"\x01" + C2SP_KEY + b"\x00"),
            "an Ed25519 vkey must hold a type byte and a 32-byte key",
            {},
            id="33",
        ),
        pytest.param(
            vkey(SM2_TYPE + b"\x04" + bytes(63)),
            "an SM2 vkey must hold 0xff, 'govkit-sm2' and a 65-byte uncompressed point",
            {},
            id="sm2-64",
        ),
        pytest.param(
            vkey(SM2_TYPE + b"\x03" + bytes(64)),
            "an SM2 vkey must hold 0xff, 'govkit-sm2' and a 65-byte uncompressed point",
            {},
            id="sm2-not-uncompressed",
        ),
        pytest.param(
            C2SP_VKEY.replace("530d903a", "530d903b"),
            "vkey key ID does not match its name and key",
            {"key_id": "530d903b"},
        ),
    ],
)
def test_malformed_vkey_is_refused_with_its_reason(
    text: Any, message: str, context: dict[str, Any]
) -> None:
    refused(lambda: NoteVerifier.from_vkey(text), InvalidKey, message, **context)


def test_vkeys_of_each_type_give_the_algorithm_of_their_type() -> None:
    ed = NoteVerifier.from_vkey(C2SP_VKEY)
    assert (ed.alg, ed.cosigner, ed.vkey) == ("EdDSA", False, C2SP_VKEY)
    witness = NoteVerifier.from_vkey(WITNESS.vkey)
    assert (witness.alg, witness.cosigner, witness.vkey) == ("EdDSA", True, WITNESS.vkey)
    sm2 = NoteSigner(TEST_LOG, SigningKey.from_private_bytes("SM2", SM2_D))
    from_vkey = NoteVerifier.from_vkey(sm2.vkey)
    assert (from_vkey.alg, from_vkey.cosigner, from_vkey.vkey) == ("SM2", False, sm2.vkey)


# --- signing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (7, "note text must be a str ending in a newline"),
        (b"x\n", "note text must be a str ending in a newline"),
        ("x", "note text must be a str ending in a newline"),
        ("", "note text must be a str ending in a newline"),
        ("a\tb\n", "note text contains an ASCII control character other than newline"),
        ("a\x1fb\n", "note text contains an ASCII control character other than newline"),
        ("\ud800\n", "note text is not valid Unicode (lone surrogate)"),
    ],
)
def test_text_that_cannot_be_a_note_is_not_signed(text: Any, message: str) -> None:
    refused(lambda: LOG.sign(text), CheckpointInvalid, message)


def test_note_text_is_signed_as_utf8() -> None:
    private = ed25519.Ed25519PrivateKey.from_private_bytes(TEST_SEED)
    note = LOG.sign("日志 é\n")
    raw = base64.b64decode(note.rstrip("\n").rsplit(" ", 1)[1])
    assert raw[:4] == LOG.key_id
    private.public_key().verify(raw[4:], "日志 é\n".encode())
    assert note == "日志 é\n\n" + fake_line(TEST_LOG, raw)


def test_sign_checkpoint_refuses_what_is_not_a_checkpoint_or_log_key() -> None:
    checkpoint = Checkpoint(TEST_LOG, 8, TEST_ROOT_8)
    refused(
        lambda: sign_checkpoint(TEST_BODY, LOG),  # type: ignore[arg-type]
        ConfigurationError,
        "sign_checkpoint needs a Checkpoint",
    )
    refused(
        lambda: sign_checkpoint(checkpoint, WITNESS),  # type: ignore[arg-type]
        ConfigurationError,
        "sign_checkpoint needs a NoteSigner",
    )
    assert sign_checkpoint(checkpoint, LOG) == TEST_NOTE


# --- cosigning ----------------------------------------------------------------------------


def test_cosign_refuses_a_non_witness_and_bad_timestamps() -> None:
    refused(
        lambda: cosign_checkpoint(TEST_NOTE, LOG, timestamp=1),  # type: ignore[arg-type]
        ConfigurationError,
        "cosign_checkpoint needs a WitnessSigner",
    )
    for timestamp in (True, 1.0, "1"):
        refused(
            partial(cosign_checkpoint, TEST_NOTE, WITNESS, timestamp=timestamp),
            ConfigurationError,
            "timestamp must be an int (POSIX seconds)",
        )
    for timestamp in (-1, 2**63):
        refused(
            partial(cosign_checkpoint, TEST_NOTE, WITNESS, timestamp=timestamp),
            ConfigurationError,
            "timestamp must be between 0 and 2**63 - 1",
        )


def test_cosign_refuses_a_note_that_is_not_utf8() -> None:
    refused(
        lambda: cosign_checkpoint(TEST_NOTE.encode()[:-3] + b"\xff\n", WITNESS, timestamp=1),
        CheckpointInvalid,
        "signed note is not valid UTF-8",
    )


def test_cosign_of_a_bytes_note_returns_the_note_text_with_one_line_more() -> None:
    cosigned = cosign_checkpoint(TEST_NOTE.encode(), WITNESS, timestamp=5)
    assert cosigned.startswith(TEST_NOTE)
    assert cosigned.count("\n— ") == 2
    assert open_note(cosigned, [WITNESS.verifier]).signatures[0].timestamp == 5


def test_witness_cosigning_twice_is_refused_naming_its_key() -> None:
    cosigned = cosign_checkpoint(TEST_NOTE, WITNESS, timestamp=1)
    refused(
        lambda: cosign_checkpoint(cosigned, WITNESS, timestamp=2),
        CheckpointInvalid,
        "the note already carries a signature by this witness key",
        name="witness.example/w1",
        key_id=WITNESS.key_id.hex(),
    )


def test_witness_sharing_a_name_with_the_log_key_may_cosign() -> None:
    # Same name, another key ID: only both together mean "this witness signed already".
    witness = WitnessSigner.generate(TEST_LOG)
    cosigned = cosign_checkpoint(TEST_NOTE, witness, timestamp=3)
    opened = open_note(cosigned, [LOG_VERIFIER, witness.verifier], min_signatures=2)
    assert [s.timestamp for s in opened.signatures] == [None, 3]
    # and the same key under another name is another signer too
    renamed = WitnessSigner("witness.example/w2", WITNESS._key)
    twice = cosign_checkpoint(
        cosign_checkpoint(TEST_NOTE, WITNESS, timestamp=1), renamed, timestamp=2
    )
    assert twice.count("\n— ") == 3


def test_cosign_keeps_the_note_at_100_signatures() -> None:
    ninety_nine = TEST_NOTE + "".join(
        fake_line(f"example.gov/other{i}", bytes(68)) for i in range(98)
    )
    hundred = cosign_checkpoint(ninety_nine, WITNESS, timestamp=1)
    assert hundred.count("\n— ") == 100
    assert open_note(hundred, [WITNESS.verifier]).signatures[0].timestamp == 1
    refused(
        lambda: cosign_checkpoint(hundred, WitnessSigner.generate("w2"), timestamp=1),
        CheckpointInvalid,
        "a note may carry at most 100 signatures",
    )


# --- reports ------------------------------------------------------------------------------


def test_report_of_a_valid_checkpoint_in_json_and_both_languages() -> None:
    checkpoint = Checkpoint(TEST_LOG, 8, TEST_ROOT_8, ("ext",))
    note = sign_checkpoint(checkpoint, LOG) + line_of(OTHER, checkpoint.body())
    report = inspect_checkpoint(note, [LOG_VERIFIER, OTHER.verifier], min_signatures=2)
    members = report.json_members()
    assert members == {
        "checkpoint": {"origin": TEST_LOG, "size": 8, "root_hash": ROOT_B64, "extensions": ["ext"]},
        "signatures": [
            {"name": TEST_LOG, "key_id": "eebe138b", "timestamp": None},
            {"name": "example.gov/second", "key_id": OTHER.key_id.hex(), "timestamp": None},
        ],
    }
    # sorted by name
    assert report.checks[1].detail == f"2 trusted key(s) signed: {TEST_LOG}, example.gov/second"
    assert report.summary() == (f"{TEST_LOG}: 8 entries, root {ROOT_B64}",)
    assert report.summary_in("en") == report.summary()
    assert report.summary_in("zh") == (f"{TEST_LOG}：8 条记录，根哈希 {ROOT_B64}",)


def test_report_of_a_forged_checkpoint_claims_no_checkpoint() -> None:
    report = inspect_checkpoint(flip_last_byte(TEST_NOTE), [LOG_VERIFIER])
    assert report.json_members() == {"checkpoint": None, "signatures": []}
    assert report.to_dict()["checkpoint"] is None
    assert report.summary() == ()
    assert report.summary_in("zh") == ()
    assert report.checks[-1].to_dict() == {
        "name": "signatures",
        "ok": False,
        "code": "audit.checkpoint_signature",
        "detail": "a trusted key's signature on the note does not verify "
        f"(name={TEST_LOG}, key_id=eebe138b)",
    }


# --- reasons in Chinese ---------------------------------------------------------------------


def test_framing_errors_are_said_in_chinese_with_the_line() -> None:
    error = refused(
        lambda: open_with_log_key(TEST_NOTE + fake_line("example.gov/second", bytes(4))),
        CheckpointInvalid,
        "note signature is too short",
        line=SECOND_SIGNATURE_LINE,
    )
    assert render_message(error, "zh") == f"检查点第 {SECOND_SIGNATURE_LINE} 行格式错误"
    whole = refused(
        lambda: open_with_log_key(TEST_NOTE.replace("\n\n", "\n")),
        CheckpointInvalid,
        "signed note has no blank line before its signatures",
    )
    assert render_message(whole, "zh") == "检查点格式错误"
    assert render_message(whole, "en") == "signed note has no blank line before its signatures"
