"""SM2 interoperability with Debian's ``openssl`` command (OpenSSL 3), an implementation
govkit does not share code with (govkit's SM2 comes from Tongsuo via ``tongsuopy``).

The oracle commands are the ones OpenSSL documents for SM2 (``pkeyutl -rawin -digest
sm3 -pkeyopt distid:1234567812345678``). govkit signatures are raw ``r || s``; OpenSSL's
are DER, converted with :func:`govkit.keys.sm2_raw_to_der` / :func:`~govkit.keys.sm2_der_to_raw`.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes

from govkit.errors import InvalidSignature
from govkit.keys import (
    SigningKey,
    VerifyingKey,
    sm2_der_to_raw,
    sm2_raw_to_der,
    sm2_z_value,
)

DISTID = "distid:1234567812345678"
MESSAGE = "电子证照 licence 42\n".encode()

# GM/T 0003.5-2012 recommended-curve example (see tests/unit/keys/test_sm2.py).
STD_PUBLIC_PEM = b"""-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoEcz1UBgi0DQgAECfnfMR5UIaFQ3X0WHkvFxnIXn60Y
M/wHa7CP81bzUCDM6kkM4md1pS3G6nGMwapgCu0F+/NeCEpmMvYHLamtEw==
-----END PUBLIC KEY-----
"""
STD_SIG = bytes.fromhex(
    "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
    "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"
)


@pytest.fixture(scope="module")
def openssl() -> str:
    path = shutil.which("openssl")
    if path is None:
        pytest.fail("the openssl command is missing; run: apt-get install openssl")
    return path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False, timeout=60)


def openssl_verify(
    openssl: str, tmp_path: Path, public_pem: bytes, der: bytes, data: bytes, *opts: str
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "pub.pem").write_bytes(public_pem)
    (tmp_path / "sig.der").write_bytes(der)
    (tmp_path / "msg").write_bytes(data)
    return run(
        openssl, "pkeyutl", "-verify", "-pubin", "-inkey", str(tmp_path / "pub.pem"),
        "-in", str(tmp_path / "msg"), "-sigfile", str(tmp_path / "sig.der"), *opts,
    )  # fmt: skip


def verified(result: subprocess.CompletedProcess[str]) -> bool:
    return result.returncode == 0 and "Signature Verified Successfully" in result.stdout


def test_openssl_verifies_a_govkit_signature(openssl: str, tmp_path: Path) -> None:
    key = SigningKey.generate("SM2")
    der = sm2_raw_to_der(key.sign(MESSAGE))
    public_pem = key.verifying_key.to_pem()
    sm3_opts = ("-rawin", "-digest", "sm3", "-pkeyopt", DISTID)
    assert verified(openssl_verify(openssl, tmp_path, public_pem, der, MESSAGE, *sm3_opts))


def test_openssl_rejects_a_govkit_signature_under_another_identity_or_message(
    openssl: str, tmp_path: Path
) -> None:
    key = SigningKey.generate("SM2")
    der = sm2_raw_to_der(key.sign(MESSAGE))
    pem = key.verifying_key.to_pem()
    wrong_id = ("-rawin", "-digest", "sm3", "-pkeyopt", "distid:1234567812345679")
    assert not verified(openssl_verify(openssl, tmp_path, pem, der, MESSAGE, *wrong_id))
    right_id = ("-rawin", "-digest", "sm3", "-pkeyopt", DISTID)
    assert not verified(openssl_verify(openssl, tmp_path, pem, der, MESSAGE + b"!", *right_id))


def test_govkit_verifies_an_openssl_signature_with_an_openssl_key(
    openssl: str, tmp_path: Path
) -> None:
    key_pem, pub_pem = tmp_path / "key.pem", tmp_path / "pub.pem"
    assert run(openssl, "genpkey", "-algorithm", "SM2", "-out", str(key_pem)).returncode == 0
    assert (
        run(openssl, "pkey", "-in", str(key_pem), "-pubout", "-out", str(pub_pem)).returncode == 0
    )
    (tmp_path / "msg").write_bytes(MESSAGE)
    signed = run(
        openssl, "pkeyutl", "-sign", "-rawin", "-digest", "sm3", "-pkeyopt", DISTID,
        "-inkey", str(key_pem), "-in", str(tmp_path / "msg"), "-out", str(tmp_path / "sig"),
    )  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    der = (tmp_path / "sig").read_bytes()

    public = VerifyingKey.from_pem(pub_pem.read_bytes())
    private = SigningKey.from_pem(key_pem.read_bytes())
    assert public.alg == "SM2"
    assert private.kid == public.kid
    public.verify(sm2_der_to_raw(der), MESSAGE)
    with pytest.raises(InvalidSignature):
        public.verify(sm2_der_to_raw(der), MESSAGE + b"!")


def test_govkit_z_value_is_the_one_openssl_hashes(openssl: str, tmp_path: Path) -> None:
    """Without ``-rawin`` OpenSSL verifies a signature over a given digest ``e``.

    govkit computes ``e = SM3(Z || M)`` itself; OpenSSL accepting the signature over
    that ``e`` shows govkit's ``Z`` (GB/T 32918.2 section 5.5) equals OpenSSL's.
    """
    key = SigningKey.generate("SM2")
    public = key.verifying_key.public_key
    z = sm2_z_value(public.x, public.y)  # type: ignore[union-attr]
    digest = hashes.Hash(hashes.SM3())
    digest.update(z + MESSAGE)
    e = digest.finalize()
    der = sm2_raw_to_der(key.sign(MESSAGE))
    pem = key.verifying_key.to_pem()
    assert verified(openssl_verify(openssl, tmp_path, pem, der, e))
    wrong_z = sm2_z_value(public.x, public.y, b"another signer")  # type: ignore[union-attr]
    digest = hashes.Hash(hashes.SM3())
    digest.update(wrong_z + MESSAGE)
    assert not verified(openssl_verify(openssl, tmp_path, pem, der, digest.finalize()))


def test_openssl_and_govkit_accept_the_gmt0003_published_signature(
    openssl: str, tmp_path: Path
) -> None:
    public = VerifyingKey.from_pem(STD_PUBLIC_PEM)
    public.verify(STD_SIG, b"message digest")
    der = sm2_raw_to_der(STD_SIG)
    opts = ("-rawin", "-digest", "sm3", "-pkeyopt", DISTID)
    assert verified(
        openssl_verify(openssl, tmp_path, STD_PUBLIC_PEM, der, b"message digest", *opts)
    )


def test_openssl_reads_govkit_pem_keys(openssl: str, tmp_path: Path) -> None:
    key = SigningKey.generate("SM2")
    (tmp_path / "key.pem").write_bytes(key.to_pem())
    (tmp_path / "enc.pem").write_bytes(key.to_pem("s3cret pass"))
    (tmp_path / "pub.pem").write_bytes(key.verifying_key.to_pem())
    plain = run(openssl, "pkey", "-in", str(tmp_path / "key.pem"), "-text", "-noout")
    assert plain.returncode == 0, plain.stderr
    assert "ASN1 OID: SM2" in plain.stdout
    encrypted = run(
        openssl, "pkey", "-in", str(tmp_path / "enc.pem"), "-passin", "pass:s3cret pass",
        "-pubout",
    )  # fmt: skip
    assert encrypted.returncode == 0, encrypted.stderr
    public = run(openssl, "pkey", "-pubin", "-in", str(tmp_path / "pub.pem"), "-pubout")
    assert public.returncode == 0, public.stderr
    assert encrypted.stdout == public.stdout
    assert VerifyingKey.from_pem(public.stdout) == key.verifying_key


def test_openssl_sm3_matches_cryptography(openssl: str, tmp_path: Path) -> None:
    (tmp_path / "abc").write_bytes(b"abc")
    result = run(openssl, "dgst", "-sm3", "-r", str(tmp_path / "abc"))
    assert result.returncode == 0, result.stderr
    digest = hashes.Hash(hashes.SM3())
    digest.update(b"abc")
    assert result.stdout.split()[0] == digest.finalize().hex()
