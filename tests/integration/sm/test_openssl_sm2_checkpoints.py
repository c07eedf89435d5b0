"""SM2 checkpoint signatures checked with Debian's ``openssl`` command (OpenSSL 3).

A govkit SM2 note signature is raw ``r || s`` over the note text with SM3 and the signer
identity ``1234567812345678``: exactly what ``openssl pkeyutl -verify -rawin -digest sm3
-pkeyopt distid:1234567812345678`` checks once the signature is converted to DER. Both
directions are run: OpenSSL verifies govkit's checkpoints (a fresh one and the pinned
``SM2_TEST_NOTE`` of tests/unit/audit/test_checkpoints_sm2.py, signed with the
GM/T 0003.5-2012 example key), and govkit verifies a checkpoint OpenSSL signed.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import pytest

from govkit.audit import Checkpoint, NoteSigner, NoteVerifier, sign_checkpoint, verify_checkpoint
from govkit.errors import CheckpointSignatureInvalid
from govkit.keys import SigningKey, VerifyingKey, sm2_der_to_raw, sm2_raw_to_der

DISTID = "distid:1234567812345678"
ORIGIN = "example.gov/govkit-test-log"
ROOT_8 = bytes.fromhex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")

# GM/T 0003.5-2012 example public key (see tests/integration/sm/test_openssl_sm2.py).
STD_PUBLIC_PEM = b"""-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoEcz1UBgi0DQgAECfnfMR5UIaFQ3X0WHkvFxnIXn60Y
M/wHa7CP81bzUCDM6kkM4md1pS3G6nGMwapgCu0F+/NeCEpmMvYHLamtEw==
-----END PUBLIC KEY-----
"""
# tests/unit/audit/test_checkpoints_sm2.py SM2_TEST_NOTE.
SM2_TEST_NOTE = (
    "example.gov/govkit-test-log\n"
    "8\n"
    "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"
    "\n"
    "— example.gov/govkit-test-log Nij0MjAN2PhcEJuGB4ZvtG/3reGCE4Bz6R6WsPDaZl/8TJk+ye7GemwFczGa/"
    "SPDrF76j7652CEgHU4rlkx6RZCHO7M=\n"
)


@pytest.fixture(scope="module")
def openssl() -> str:
    path = shutil.which("openssl")
    if path is None:
        pytest.fail("the openssl command is missing; run: apt-get install openssl")
    return path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False, timeout=60)


def split(note: str) -> tuple[bytes, bytes, bytes]:
    """The note text, the 4-byte key ID and the signature of its (only) signature line."""
    text, block = note.rsplit("\n\n", 1)
    raw = base64.b64decode(block.rstrip("\n").rsplit(" ", 1)[1])
    return (text + "\n").encode("utf-8"), raw[:4], raw[4:]


def openssl_verifies(openssl: str, tmp_path: Path, public_pem: bytes, note: str) -> bool:
    text, _, signature = split(note)
    (tmp_path / "pub.pem").write_bytes(public_pem)
    (tmp_path / "sig.der").write_bytes(sm2_raw_to_der(signature))
    (tmp_path / "text").write_bytes(text)
    result = run(
        openssl, "pkeyutl", "-verify", "-rawin", "-digest", "sm3", "-pkeyopt", DISTID,
        "-pubin", "-inkey", str(tmp_path / "pub.pem"),
        "-in", str(tmp_path / "text"), "-sigfile", str(tmp_path / "sig.der"),
    )  # fmt: skip
    return result.returncode == 0 and "Signature Verified Successfully" in result.stdout


def test_openssl_verifies_a_govkit_sm2_checkpoint(openssl: str, tmp_path: Path) -> None:
    key = SigningKey.generate("SM2")
    note = sign_checkpoint(Checkpoint(ORIGIN, 8, ROOT_8), NoteSigner(ORIGIN, key))
    public_pem = key.verifying_key.to_pem()
    assert openssl_verifies(openssl, tmp_path, public_pem, note)
    tampered = note.replace("\n8\n", "\n9\n", 1)
    assert not openssl_verifies(openssl, tmp_path, public_pem, tampered)


def test_openssl_verifies_the_pinned_sm2_test_checkpoint(openssl: str, tmp_path: Path) -> None:
    assert openssl_verifies(openssl, tmp_path, STD_PUBLIC_PEM, SM2_TEST_NOTE)


def test_govkit_verifies_a_checkpoint_openssl_signed(openssl: str, tmp_path: Path) -> None:
    key_pem, pub_pem = tmp_path / "key.pem", tmp_path / "pub.pem"
    assert run(openssl, "genpkey", "-algorithm", "SM2", "-out", str(key_pem)).returncode == 0
    assert (
        run(openssl, "pkey", "-in", str(key_pem), "-pubout", "-out", str(pub_pem)).returncode == 0
    )
    body = Checkpoint(ORIGIN, 8, ROOT_8).body()
    (tmp_path / "text").write_text(body, encoding="utf-8")
    signed = run(
        openssl, "pkeyutl", "-sign", "-rawin", "-digest", "sm3", "-pkeyopt", DISTID,
        "-inkey", str(key_pem), "-in", str(tmp_path / "text"), "-out", str(tmp_path / "sig"),
    )  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    signature = sm2_der_to_raw((tmp_path / "sig").read_bytes())

    verifier = NoteVerifier(ORIGIN, VerifyingKey.from_pem(pub_pem.read_bytes()))
    line = base64.b64encode(verifier.key_id + signature).decode()
    note = f"{body}\n— {ORIGIN} {line}\n"
    trusted = [NoteVerifier.from_vkey(verifier.vkey)]
    assert verify_checkpoint(note, trusted, origin=ORIGIN).size == 8
    with pytest.raises(CheckpointSignatureInvalid):
        verify_checkpoint(note.replace("\n8\n", "\n7\n", 1), trusted)
    # and govkit can load the same OpenSSL key as a note signer
    signer = NoteSigner(ORIGIN, SigningKey.from_pem(key_pem.read_bytes()))
    assert signer.vkey == verifier.vkey
