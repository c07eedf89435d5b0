"""Evidence for :mod:`govkit.keys`: signing, verifying, loaders, thumbprints and refusals.

Published values used here, with their provenance:

* RFC 7638 section 3.1: the example RSA key and its thumbprint
  ``NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs``.
* RFC 8037 appendix A.1-A.4: the Ed25519 private and public key, its thumbprint
  ``kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k`` and the signature of the JWS
  signing input ``eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc``.
"""

from __future__ import annotations

import base64
import hashlib
import pickle
import re
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa, x25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from hypothesis import given
from hypothesis import strategies as st

from govkit._encoding import b64_encode, b64url_decode, b64url_encode
from govkit.errors import (
    InvalidKey,
    InvalidSignature,
    KeyMismatch,
    KeyPasswordError,
    UnsupportedAlgorithm,
    VerificationError,
    WeakKey,
)
from govkit.keys import (
    ALGORITHMS,
    KeyRing,
    Signer,
    SigningKey,
    VerifyingKey,
    ecdsa_der_to_raw,
    jwk_thumbprint,
)
from govkit.keys._keys import _p256_raw_to_der

ALGS = ("EdDSA", "ES256", "PS256", "RS256")
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
MESSAGE = b"licence 2026-0042 for Acme Ltd"
PASSWORD = b"correct horse battery staple"

RFC7638_RSA_JWK = {
    "kty": "RSA",
    "n": (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_B"
        "JECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_F"
        "DW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4"
        "vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    ),
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
}
RFC7638_RSA_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

RFC8037_ED25519_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
RFC8037_ED25519_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
RFC8037_ED25519_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
RFC8037_SIGNING_INPUT = b"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
RFC8037_SIGNATURE = (
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
)


@pytest.fixture(scope="module")
def keys() -> dict[str, SigningKey]:
    """One generated key per algorithm (RSA generation is slow; share it)."""
    return {alg: SigningKey.generate(alg) for alg in ALGS}


@pytest.fixture(scope="module")
def rsa_1024() -> rsa.RSAPrivateKey:
    # The weak key under test: govkit must refuse it everywhere.
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505


def other_key(keys: dict[str, SigningKey], alg: str) -> SigningKey:
    """A second, different key for ``alg`` without generating another RSA key."""
    if alg == "PS256":
        return SigningKey(keys["RS256"].private_key, "PS256")
    if alg == "RS256":
        return SigningKey(keys["PS256"].private_key, "RS256")
    return SigningKey.generate(alg)


def flip_bit(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def without_alg_line(pem: bytes) -> bytes:
    return pem[pem.index(b"-----BEGIN") :]


# --- generate, sign, verify --------------------------------------------------


def test_algorithm_allow_list_is_exactly_the_four_jose_names() -> None:
    assert tuple(ALGORITHMS) == ALGS


@pytest.mark.parametrize("alg", ALGS)
def test_generated_key_signs_and_its_verifying_key_accepts(
    keys: dict[str, SigningKey], alg: str
) -> None:
    key = keys[alg]
    assert key.alg == alg
    assert key.verifying_key.alg == alg
    assert key.kid == key.verifying_key.kid
    key.verifying_key.verify(key.sign(MESSAGE), MESSAGE)  # raises if it does not verify


@pytest.mark.parametrize("alg", ALGS)
def test_tampered_message_is_rejected(keys: dict[str, SigningKey], alg: str) -> None:
    key = keys[alg]
    signature = key.sign(MESSAGE)
    with pytest.raises(InvalidSignature) as exc:
        key.verifying_key.verify(signature, MESSAGE.replace(b"Acme", b"Acmf"))
    assert exc.value.context["kid"] == key.kid
    assert isinstance(exc.value, VerificationError)


@pytest.mark.parametrize("alg", ALGS)
@pytest.mark.parametrize("position", ["first", "middle", "last"])
def test_tampered_signature_is_rejected(
    keys: dict[str, SigningKey], alg: str, position: str
) -> None:
    key = keys[alg]
    signature = key.sign(MESSAGE)
    index = {"first": 0, "middle": len(signature) // 2, "last": len(signature) - 1}[position]
    with pytest.raises(InvalidSignature):
        key.verifying_key.verify(flip_bit(signature, index), MESSAGE)


@pytest.mark.parametrize("alg", ALGS)
def test_truncated_or_extended_signature_is_rejected(keys: dict[str, SigningKey], alg: str) -> None:
    key = keys[alg]
    signature = key.sign(MESSAGE)
    for forged in (signature[:-1], signature + b"\x00", b"", b"\x00" * len(signature)):
        with pytest.raises(InvalidSignature):
            key.verifying_key.verify(forged, MESSAGE)


@pytest.mark.parametrize("alg", ALGS)
def test_signature_by_another_key_of_the_same_algorithm_is_rejected(
    keys: dict[str, SigningKey], alg: str
) -> None:
    intruder = other_key(keys, alg)
    assert intruder.kid != keys[alg].kid
    with pytest.raises(InvalidSignature):
        keys[alg].verifying_key.verify(intruder.sign(MESSAGE), MESSAGE)


@pytest.mark.parametrize(("signed_as", "verified_as"), [("RS256", "PS256"), ("PS256", "RS256")])
def test_rsa_padding_confusion_between_ps256_and_rs256_is_rejected(
    keys: dict[str, SigningKey], signed_as: str, verified_as: str
) -> None:
    signer = keys[signed_as]
    same_key_other_padding = VerifyingKey(signer.verifying_key.public_key, verified_as)
    with pytest.raises(InvalidSignature):
        same_key_other_padding.verify(signer.sign(MESSAGE), MESSAGE)


@pytest.mark.parametrize("alg", ALGS)
def test_verify_refuses_text_instead_of_bytes_with_invalid_signature(
    keys: dict[str, SigningKey], alg: str
) -> None:
    key = keys[alg]
    signature = key.sign(MESSAGE)
    with pytest.raises(InvalidSignature):
        key.verifying_key.verify(signature.hex(), MESSAGE)  # type: ignore[arg-type]
    with pytest.raises(InvalidSignature):
        key.verifying_key.verify(signature, MESSAGE.decode())  # type: ignore[arg-type]


def test_sign_refuses_text_rather_than_guessing_an_encoding(keys: dict[str, SigningKey]) -> None:
    with pytest.raises(TypeError):
        keys["EdDSA"].sign("licence")  # type: ignore[arg-type]


def test_ed25519_signature_matches_rfc8037_appendix_a4() -> None:
    private = ed25519.Ed25519PrivateKey.from_private_bytes(b64url_decode(RFC8037_ED25519_D))
    key = SigningKey(private)
    assert key.alg == "EdDSA"
    assert b64url_encode(key.sign(RFC8037_SIGNING_INPUT)) == RFC8037_SIGNATURE
    key.verifying_key.verify(b64url_decode(RFC8037_SIGNATURE), RFC8037_SIGNING_INPUT)


# --- ES256 signature form ----------------------------------------------------


def test_es256_signature_is_64_raw_bytes_r_then_s(keys: dict[str, SigningKey]) -> None:
    key = keys["ES256"]
    signature = key.sign(MESSAGE)
    assert len(signature) == 64
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    assert 0 < r < P256_ORDER
    assert 0 < s < P256_ORDER
    public = key.verifying_key.public_key
    assert isinstance(public, ec.EllipticCurvePublicKey)
    # The raw form is exactly r || s: cryptography accepts it once re-encoded as DER.
    public.verify(encode_dss_signature(r, s), MESSAGE, ec.ECDSA(hashes.SHA256()))


def test_es256_der_signature_where_raw_is_expected_is_rejected(
    keys: dict[str, SigningKey],
) -> None:
    key = keys["ES256"]
    private = key.private_key
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    der = private.sign(MESSAGE, ec.ECDSA(hashes.SHA256()))
    with pytest.raises(InvalidSignature):
        key.verifying_key.verify(der, MESSAGE)
    key.verifying_key.verify(ecdsa_der_to_raw(der), MESSAGE)


@pytest.mark.parametrize(
    ("r", "s"),
    [
        (0, 1),
        (1, 0),
        (0, 0),
        (P256_ORDER, 1),
        (1, P256_ORDER),
        (P256_ORDER + 1, 1),
    ],
    ids=["r_zero", "s_zero", "both_zero", "r_equals_n", "s_equals_n", "r_above_n"],
)
def test_es256_signature_with_out_of_range_scalars_is_rejected(
    keys: dict[str, SigningKey], r: int, s: int
) -> None:
    forged = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    with pytest.raises(InvalidSignature):
        keys["ES256"].verifying_key.verify(forged, MESSAGE)


def test_es256_high_s_twin_of_a_valid_signature_is_accepted_by_design(
    keys: dict[str, SigningKey],
) -> None:
    """ECDSA is malleable: (r, n - s) verifies too. govkit, like Wycheproof and FIPS 186,
    accepts it; callers must never use signature bytes as an identifier."""
    key = keys["ES256"]
    signature = key.sign(MESSAGE)
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    twin = r.to_bytes(32, "big") + (P256_ORDER - s).to_bytes(32, "big")
    assert twin != signature
    key.verifying_key.verify(twin, MESSAGE)


def test_ecdsa_der_to_raw_round_trips_a_cryptography_signature(
    keys: dict[str, SigningKey],
) -> None:
    private = keys["ES256"].private_key
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    der = private.sign(MESSAGE, ec.ECDSA(hashes.SHA256()))
    raw = ecdsa_der_to_raw(der)
    r, s = decode_dss_signature(der)
    assert raw == r.to_bytes(32, "big") + s.to_bytes(32, "big")


@pytest.mark.parametrize(
    "der",
    [
        # SEQUENCE { INTEGER 1, INTEGER 1 } with a redundant leading zero on r (non-minimal).
        bytes.fromhex("3007020200010201" + "01"),
        # Long-form length where short form is required (BER, not DER).
        bytes.fromhex("30810602010102010" + "1"),
        # Valid signature followed by trailing garbage.
        bytes.fromhex("3006020101020101" + "00"),
        # r = 0.
        bytes.fromhex("3006020100020101"),
        # Negative s.
        bytes.fromhex("30060201010201ff"),
        b"",
        b"\x30",
    ],
    ids=[
        "non_minimal_integer",
        "ber_long_form_length",
        "trailing_garbage",
        "r_zero",
        "negative_s",
        "empty",
        "truncated",
    ],
)
def test_ecdsa_der_to_raw_rejects_non_canonical_or_malformed_der(der: bytes) -> None:
    with pytest.raises(InvalidSignature):
        ecdsa_der_to_raw(der)


def test_ecdsa_der_to_raw_rejects_s_not_below_group_order() -> None:
    with pytest.raises(InvalidSignature):
        ecdsa_der_to_raw(encode_dss_signature(1, P256_ORDER))


# --- kid = RFC 7638 thumbprint ---------------------------------------------


def test_kid_of_rfc7638_example_rsa_key_is_the_published_thumbprint() -> None:
    assert jwk_thumbprint(RFC7638_RSA_JWK) == RFC7638_RSA_THUMBPRINT
    key = VerifyingKey.from_jwk(RFC7638_RSA_JWK)
    assert key.kid == RFC7638_RSA_THUMBPRINT
    assert key.alg == "RS256"
    assert isinstance(key.public_key, rsa.RSAPublicKey)
    assert key.public_key.key_size == 2048


def test_kid_of_rfc8037_example_ed25519_key_is_the_published_thumbprint() -> None:
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": RFC8037_ED25519_X}
    assert VerifyingKey.from_jwk(jwk).kid == RFC8037_ED25519_THUMBPRINT
    private = ed25519.Ed25519PrivateKey.from_private_bytes(b64url_decode(RFC8037_ED25519_D))
    key = SigningKey(private)
    assert key.kid == RFC8037_ED25519_THUMBPRINT
    assert key.verifying_key.to_jwk()["x"] == RFC8037_ED25519_X


def rfc7638_by_hand(jwk: dict[str, str]) -> str:
    """RFC 7638 section 3: required members, lexicographic order, no whitespace."""
    required = {
        "EC": ("crv", "kty", "x", "y"),
        "OKP": ("crv", "kty", "x"),
        "RSA": ("e", "kty", "n"),
    }
    text = "{" + ",".join(f'"{m}":"{jwk[m]}"' for m in required[jwk["kty"]]) + "}"
    return b64url_encode(hashlib.sha256(text.encode("ascii")).digest())


@pytest.mark.parametrize("alg", ALGS)
def test_kid_is_the_rfc7638_thumbprint_of_the_published_jwk(
    keys: dict[str, SigningKey], alg: str
) -> None:
    jwk = keys[alg].verifying_key.to_jwk()
    assert jwk["kid"] == keys[alg].kid == rfc7638_by_hand(jwk) == jwk_thumbprint(jwk)


def test_thumbprint_ignores_optional_members_and_member_order() -> None:
    shuffled = dict(reversed(list(RFC7638_RSA_JWK.items())))
    assert jwk_thumbprint({**shuffled, "use": "sig", "x5t": "ignored"}) == RFC7638_RSA_THUMBPRINT


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "oct", "k": "c2VjcmV0"},
        {"crv": "Ed25519", "x": RFC8037_ED25519_X},
        {"kty": "OKP", "crv": "Ed25519"},
        {"kty": "EC", "crv": "P-256", "x": "AA"},
        {"kty": "RSA", "n": 12345, "e": "AQAB"},
    ],
    ids=["symmetric_kty", "missing_kty", "missing_x", "missing_y", "non_string_member"],
)
def test_thumbprint_of_incomplete_or_foreign_jwk_is_refused(jwk: dict[str, Any]) -> None:
    with pytest.raises(InvalidKey):
        jwk_thumbprint(jwk)


def test_p256_jwk_coordinates_keep_leading_zero_bytes() -> None:
    """RFC 7518 section 6.2.1.2: x and y are always 32 bytes; a short x changes the kid."""
    scalar = 1
    while True:
        private = ec.derive_private_key(scalar, ec.SECP256R1())
        if private.public_key().public_numbers().x < 1 << 248:
            break
        scalar += 1
    key = SigningKey(private)
    jwk = key.verifying_key.to_jwk()
    x = b64url_decode(jwk["x"])
    assert len(x) == 32
    assert x[0] == 0
    assert VerifyingKey.from_jwk(jwk).kid == key.kid == rfc7638_by_hand(jwk)


def test_rsa_jwk_exponent_is_minimal() -> None:
    assert VerifyingKey.from_jwk(RFC7638_RSA_JWK).to_jwk()["e"] == "AQAB"


# --- PEM -----------------------------------------------------------------------


@pytest.mark.parametrize("alg", ALGS)
def test_private_pem_round_trip_keeps_kid_alg_and_signing(
    keys: dict[str, SigningKey], alg: str
) -> None:
    key = keys[alg]
    pem = key.to_pem()
    assert pem.startswith(f"alg: {alg}\n-----BEGIN PRIVATE KEY-----".encode())
    loaded = SigningKey.from_pem(pem)
    assert (loaded.kid, loaded.alg) == (key.kid, key.alg)
    key.verifying_key.verify(loaded.sign(MESSAGE), MESSAGE)
    assert SigningKey.from_pem(pem.decode("ascii")).kid == key.kid


@pytest.mark.parametrize("alg", ALGS)
def test_encrypted_private_pem_round_trip(keys: dict[str, SigningKey], alg: str) -> None:
    key = keys[alg]
    pem = key.to_pem(password=PASSWORD)
    assert b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in pem
    assert b"-----BEGIN PRIVATE KEY-----" not in pem
    for password in (PASSWORD, PASSWORD.decode()):
        loaded = SigningKey.from_pem(pem, password=password)
        assert (loaded.kid, loaded.alg) == (key.kid, key.alg)
        key.verifying_key.verify(loaded.sign(MESSAGE), MESSAGE)


def test_encrypted_pem_with_wrong_password_is_refused(keys: dict[str, SigningKey]) -> None:
    pem = keys["ES256"].to_pem(password=PASSWORD)
    with pytest.raises(KeyPasswordError) as exc:
        SigningKey.from_pem(pem, password=b"Tr0ub4dor&3")
    assert "Tr0ub4dor" not in str(exc.value)
    assert "Tr0ub4dor" not in repr(exc.value.to_dict())


def test_encrypted_pem_without_password_is_refused(keys: dict[str, SigningKey]) -> None:
    pem = keys["EdDSA"].to_pem(password=PASSWORD)
    with pytest.raises(KeyPasswordError, match="password is needed"):
        SigningKey.from_pem(pem)


def test_encrypted_pem_with_empty_password_is_reported_as_missing_password(
    keys: dict[str, SigningKey],
) -> None:
    pem = keys["EdDSA"].to_pem(password=PASSWORD)
    with pytest.raises(KeyPasswordError, match="password is needed"):
        SigningKey.from_pem(pem, password=b"")


def test_password_for_an_unencrypted_pem_is_refused(keys: dict[str, SigningKey]) -> None:
    with pytest.raises(KeyPasswordError, match="not encrypted"):
        SigningKey.from_pem(keys["EdDSA"].to_pem(), password=PASSWORD)


def test_exporting_with_an_empty_password_is_refused(keys: dict[str, SigningKey]) -> None:
    for empty in (b"", ""):
        with pytest.raises(KeyPasswordError):
            keys["EdDSA"].to_pem(password=empty)


def test_tampered_ciphertext_of_encrypted_pem_is_refused_as_password_error(
    keys: dict[str, SigningKey],
) -> None:
    """A flipped bit in the last-but-one AES-CBC block flips the padding byte it decrypts to.

    With the right password the key still cannot be opened, and govkit cannot tell that
    apart from a wrong password, so it reports "password wrong or key damaged".
    """
    pem = keys["ES256"].to_pem(password=PASSWORD)
    head, body = pem.split(b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n")
    der = bytearray(base64.b64decode(body.split(b"-----END")[0]))
    der[-17] ^= 0x01
    lines = [base64.b64encode(bytes(der))[i : i + 64] for i in range(0, len(der) * 2, 64)]
    damaged = (
        head
        + b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
        + b"\n".join(line for line in lines if line)
        + b"\n-----END ENCRYPTED PRIVATE KEY-----\n"
    )
    assert damaged != pem
    with pytest.raises(KeyPasswordError, match="damaged"):
        SigningKey.from_pem(damaged, password=PASSWORD)


@pytest.mark.parametrize("alg", ALGS)
def test_public_pem_round_trip(keys: dict[str, SigningKey], alg: str) -> None:
    public = keys[alg].verifying_key
    pem = public.to_pem()
    assert pem.startswith(f"alg: {alg}\n-----BEGIN PUBLIC KEY-----".encode())
    loaded = VerifyingKey.from_pem(pem)
    assert loaded == public
    assert (loaded.kid, loaded.alg) == (public.kid, alg)
    loaded.verify(keys[alg].sign(MESSAGE), MESSAGE)


@pytest.mark.parametrize("alg", ["PS256", "RS256"])
def test_rsa_pem_without_alg_line_needs_an_explicit_alg(
    keys: dict[str, SigningKey], alg: str
) -> None:
    bare_private = without_alg_line(keys[alg].to_pem())
    bare_public = without_alg_line(keys[alg].verifying_key.to_pem())
    with pytest.raises(KeyMismatch):
        SigningKey.from_pem(bare_private)
    with pytest.raises(KeyMismatch):
        VerifyingKey.from_pem(bare_public)
    assert SigningKey.from_pem(bare_private, alg=alg).alg == alg
    assert VerifyingKey.from_pem(bare_public, alg=alg).alg == alg


@pytest.mark.parametrize("alg", ["EdDSA", "ES256"])
def test_pem_without_alg_line_infers_ed25519_and_p256(
    keys: dict[str, SigningKey], alg: str
) -> None:
    assert SigningKey.from_pem(without_alg_line(keys[alg].to_pem())).alg == alg
    assert VerifyingKey.from_pem(without_alg_line(keys[alg].verifying_key.to_pem())).alg == alg


@pytest.mark.parametrize("alg", ["ES256", "RS256"])
def test_traditional_openssl_private_pem_loads(keys: dict[str, SigningKey], alg: str) -> None:
    traditional = keys[alg].private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    assert b"BEGIN PRIVATE KEY" not in traditional
    assert SigningKey.from_pem(traditional, alg=alg).kid == keys[alg].kid


def test_public_pem_given_as_private_key_is_refused(keys: dict[str, SigningKey]) -> None:
    with pytest.raises(InvalidKey):
        SigningKey.from_pem(keys["EdDSA"].verifying_key.to_pem())


def test_private_pem_given_as_public_key_is_refused(keys: dict[str, SigningKey]) -> None:
    with pytest.raises(InvalidKey):
        VerifyingKey.from_pem(keys["EdDSA"].to_pem())


@pytest.mark.parametrize(
    "data", [b"", b"not a pem", b"-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n"]
)
def test_garbage_pem_is_refused(data: bytes) -> None:
    with pytest.raises(InvalidKey):
        VerifyingKey.from_pem(data)
    with pytest.raises(InvalidKey):
        SigningKey.from_pem(data)


def test_pem_text_with_lone_surrogate_is_refused_as_invalid_key() -> None:
    """JSON allows "\\ud800"; such text cannot be UTF-8 and must not escape as UnicodeError."""
    with pytest.raises(InvalidKey):
        VerifyingKey.from_pem("-----BEGIN PUBLIC KEY-----\ud800")
    with pytest.raises(InvalidKey):
        SigningKey.from_pem("-----BEGIN PRIVATE KEY-----\ud800")
    with pytest.raises(InvalidKey):
        SigningKey.from_pem(b"x", password="\ud800")


@pytest.mark.parametrize(
    "make_private",
    [
        ed448.Ed448PrivateKey.generate,
        x25519.X25519PrivateKey.generate,
    ],
    ids=["ed448", "x25519"],
)
def test_unsupported_key_types_in_pem_are_refused(make_private: Any) -> None:
    private = make_private()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(InvalidKey):
        SigningKey.from_pem(private_pem)
    with pytest.raises(InvalidKey):
        VerifyingKey.from_pem(public_pem)


# --- weak keys -----------------------------------------------------------------


@pytest.mark.parametrize("alg", ["PS256", "RS256"])
def test_generating_rsa_1024_is_refused(alg: str) -> None:
    with pytest.raises(WeakKey) as exc:
        SigningKey.generate(alg, rsa_bits=1024)
    assert exc.value.context["bits"] == 1024


def test_loading_1024_bit_rsa_private_pem_is_refused(rsa_1024: rsa.RSAPrivateKey) -> None:
    pem = rsa_1024.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    for text in (pem, b"alg: RS256\n" + pem):
        with pytest.raises(WeakKey):
            SigningKey.from_pem(text, alg="RS256")
    with pytest.raises(WeakKey):  # weakness is reported before the missing alg
        SigningKey.from_pem(pem)


def test_loading_1024_bit_rsa_public_pem_is_refused(rsa_1024: rsa.RSAPrivateKey) -> None:
    pem = rsa_1024.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(WeakKey) as exc:
        VerifyingKey.from_pem(pem, alg="PS256")
    assert exc.value.context["bits"] == 1024


def test_loading_1024_bit_rsa_jwk_is_refused(rsa_1024: rsa.RSAPrivateKey) -> None:
    numbers = rsa_1024.public_key().public_numbers()
    jwk = {
        "kty": "RSA",
        "alg": "RS256",
        "n": b64url_encode(numbers.n.to_bytes(128, "big")),
        "e": "AQAB",
    }
    with pytest.raises(WeakKey):
        VerifyingKey.from_jwk(jwk)


def test_wrapping_a_1024_bit_rsa_key_object_is_refused(rsa_1024: rsa.RSAPrivateKey) -> None:
    with pytest.raises(WeakKey):
        SigningKey(rsa_1024, "RS256")
    with pytest.raises(WeakKey):
        VerifyingKey(rsa_1024.public_key(), "PS256")


# --- algorithm allow-list and key/algorithm mismatch ---------------------------


@pytest.mark.parametrize("alg", ["HS256", "none", "es256", "ES384", "RS1", "", "EdDSA "])
def test_algorithm_outside_the_allow_list_is_refused(alg: str) -> None:
    with pytest.raises(UnsupportedAlgorithm):
        SigningKey.generate(alg)


def test_unsupported_algorithm_context_is_truncated() -> None:
    with pytest.raises(UnsupportedAlgorithm) as exc:
        SigningKey.generate("X" * 1000)
    assert len(exc.value.context["alg"]) == 32


def test_alg_none_is_refused_for_an_existing_key(keys: dict[str, SigningKey]) -> None:
    with pytest.raises(UnsupportedAlgorithm):
        VerifyingKey(keys["EdDSA"].verifying_key.public_key, "none")
    with pytest.raises(UnsupportedAlgorithm):
        VerifyingKey.from_jwk({**keys["EdDSA"].verifying_key.to_jwk(), "alg": "none"})


@pytest.mark.parametrize(
    ("key_alg", "claimed"),
    [
        ("ES256", "EdDSA"),
        ("EdDSA", "ES256"),
        ("RS256", "ES256"),
        ("RS256", "EdDSA"),
        ("ES256", "RS256"),
        ("EdDSA", "PS256"),
    ],
)
def test_key_used_with_another_algorithm_is_refused(
    keys: dict[str, SigningKey], key_alg: str, claimed: str
) -> None:
    key = keys[key_alg]
    with pytest.raises(KeyMismatch):
        SigningKey(key.private_key, claimed)
    with pytest.raises(KeyMismatch):
        VerifyingKey(key.verifying_key.public_key, claimed)
    with pytest.raises(KeyMismatch):
        SigningKey.from_pem(without_alg_line(key.to_pem()), alg=claimed)
    with pytest.raises(KeyMismatch):
        VerifyingKey.from_jwk({**key.verifying_key.to_jwk(), "alg": claimed})


def test_p384_key_is_refused_as_es256() -> None:
    private = ec.generate_private_key(ec.SECP384R1())
    for alg in (None, "ES256"):
        with pytest.raises(KeyMismatch):
            SigningKey(private, alg)
        with pytest.raises(KeyMismatch):
            VerifyingKey(private.public_key(), alg)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(KeyMismatch):
        SigningKey.from_pem(pem)
    numbers = private.public_key().public_numbers()
    jwk = {
        "kty": "EC",
        "crv": "P-384",
        "x": b64url_encode(numbers.x.to_bytes(48, "big")),
        "y": b64url_encode(numbers.y.to_bytes(48, "big")),
    }
    with pytest.raises(KeyMismatch):
        VerifyingKey.from_jwk(jwk)


def test_rsa_key_without_alg_is_refused_rather_than_guessed(keys: dict[str, SigningKey]) -> None:
    with pytest.raises(KeyMismatch):
        VerifyingKey(keys["RS256"].verifying_key.public_key)
    jwk = {k: v for k, v in keys["RS256"].verifying_key.to_jwk().items() if k != "alg"}
    with pytest.raises(KeyMismatch):
        VerifyingKey.from_jwk(jwk)
    assert VerifyingKey.from_jwk(jwk, alg="PS256").alg == "PS256"


def test_jwk_alg_disagreeing_with_requested_alg_is_refused(keys: dict[str, SigningKey]) -> None:
    with pytest.raises(KeyMismatch):
        VerifyingKey.from_jwk(keys["RS256"].verifying_key.to_jwk(), alg="PS256")


def test_non_key_object_is_refused(keys: dict[str, SigningKey]) -> None:
    with pytest.raises(InvalidKey):
        SigningKey(b"secret", "EdDSA")  # type: ignore[arg-type]
    with pytest.raises(InvalidKey):
        VerifyingKey(keys["EdDSA"].private_key, "EdDSA")  # type: ignore[arg-type]


# --- repr and accidental export --------------------------------------------------


def secret_fragments(key: SigningKey) -> set[str]:
    """Substrings that would betray the private key if they appeared in any output."""
    pem = key.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    body = "".join(line for line in pem.decode().splitlines() if not line.startswith("-----"))
    der = key.private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    encodings = [body, b64url_encode(der), der.hex()]
    private = key.private_key
    if isinstance(private, ed25519.Ed25519PrivateKey):
        raw = private.private_bytes_raw()
        encodings += [b64url_encode(raw), b64_encode(raw), raw.hex()]
    elif isinstance(private, ec.EllipticCurvePrivateKey):
        d = private.private_numbers().private_value.to_bytes(32, "big")
        encodings += [b64url_encode(d), d.hex(), str(private.private_numbers().private_value)]
    elif isinstance(private, rsa.RSAPrivateKey):
        numbers = private.private_numbers()
        encodings += [str(numbers.d), format(numbers.d, "x"), format(numbers.p, "x")]
    width = 12
    return {text[i : i + width] for text in encodings for i in range(len(text) - width + 1)}


@pytest.mark.parametrize("alg", ALGS)
def test_repr_never_contains_private_key_material(keys: dict[str, SigningKey], alg: str) -> None:
    key = keys[alg]
    fragments = secret_fragments(key)
    assert len(fragments) > 50
    shown = " ".join(
        [repr(key), str(key), repr(key.verifying_key), repr(KeyRing(key)), f"{key!r:>10}"]
    )
    assert key.kid in shown
    leaked = sorted(f for f in fragments if f in shown)
    assert leaked == []
    assert re.fullmatch(rf"SigningKey\(alg='{alg}', kid='{re.escape(key.kid)}'\)", repr(key))


@pytest.mark.parametrize("alg", ["EdDSA", "RS256"])
def test_signing_key_refuses_to_be_pickled(keys: dict[str, SigningKey], alg: str) -> None:
    with pytest.raises(TypeError, match="to_pem"):
        pickle.dumps(keys[alg])


# --- JWK -----------------------------------------------------------------------


@pytest.mark.parametrize("alg", ALGS)
def test_public_jwk_round_trip(keys: dict[str, SigningKey], alg: str) -> None:
    public = keys[alg].verifying_key
    jwk = public.to_jwk()
    assert jwk["alg"] == alg
    assert jwk["use"] == "sig"
    assert jwk["kid"] == public.kid
    assert not {"d", "p", "q", "dp", "dq", "qi", "k"} & set(jwk)
    loaded = VerifyingKey.from_jwk(jwk)
    assert loaded == public
    loaded.verify(keys[alg].sign(MESSAGE), MESSAGE)


def private_jwk(key: SigningKey) -> dict[str, str]:
    """The key's JWK with its private members, as a careless exporter would write it."""
    jwk = dict(key.verifying_key.to_jwk())
    private = key.private_key
    if isinstance(private, ed25519.Ed25519PrivateKey):
        jwk["d"] = b64url_encode(private.private_bytes_raw())
    elif isinstance(private, ec.EllipticCurvePrivateKey):
        jwk["d"] = b64url_encode(private.private_numbers().private_value.to_bytes(32, "big"))
    elif isinstance(private, rsa.RSAPrivateKey):
        n = private.private_numbers()
        for name, value in (("d", n.d), ("p", n.p), ("q", n.q)):
            jwk[name] = b64url_encode(value.to_bytes((value.bit_length() + 7) // 8, "big"))
        for name, value in (("dp", n.dmp1), ("dq", n.dmq1), ("qi", n.iqmp)):
            jwk[name] = b64url_encode(value.to_bytes((value.bit_length() + 7) // 8, "big"))
    return jwk


@pytest.mark.parametrize("alg", ALGS)
def test_jwk_carrying_private_key_material_is_refused(
    keys: dict[str, SigningKey], alg: str
) -> None:
    jwk = private_jwk(keys[alg])
    with pytest.raises(InvalidKey, match="private") as exc:
        VerifyingKey.from_jwk(jwk)
    assert jwk["d"] not in str(exc.value)


@pytest.mark.parametrize("member", ["d", "p", "q", "dp", "dq", "qi", "oth", "k"])
def test_jwk_with_any_single_private_member_is_refused(
    keys: dict[str, SigningKey], member: str
) -> None:
    with pytest.raises(InvalidKey):
        VerifyingKey.from_jwk({**keys["ES256"].verifying_key.to_jwk(), member: "AQAB"})


def test_symmetric_jwk_is_refused() -> None:
    with pytest.raises(InvalidKey):
        VerifyingKey.from_jwk({"kty": "oct", "k": "c2VjcmV0LWtleQ", "alg": "HS256"})


def test_encryption_jwk_is_refused_for_signatures(keys: dict[str, SigningKey]) -> None:
    with pytest.raises(InvalidKey, match="use"):
        VerifyingKey.from_jwk({**keys["ES256"].verifying_key.to_jwk(), "use": "enc"})


def test_jwk_foreign_kid_does_not_replace_the_thumbprint(keys: dict[str, SigningKey]) -> None:
    jwk = {**keys["EdDSA"].verifying_key.to_jwk(), "kid": "signing-2026-01"}
    assert VerifyingKey.from_jwk(jwk).kid == keys["EdDSA"].kid


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (lambda j: {**j, "kid": 7}, InvalidKey),
        (lambda j: {**j, "alg": ["ES256"]}, InvalidKey),
        (lambda j: {k: v for k, v in j.items() if k != "kty"}, InvalidKey),
        (lambda j: {**j, "x": j["x"] + "="}, InvalidKey),
        (lambda j: {**j, "x": j["x"][:-2]}, InvalidKey),
        (lambda j: {**j, "y": j["x"]}, InvalidKey),
        (lambda j: {**j, "x": 5}, InvalidKey),
        (lambda j: {**j, "crv": "P-384"}, KeyMismatch),
    ],
    ids=[
        "kid_not_string",
        "alg_not_string",
        "kty_missing",
        "padded_base64url",
        "short_coordinate",
        "point_not_on_curve",
        "coordinate_not_string",
        "other_curve",
    ],
)
def test_malformed_ec_jwk_is_refused(
    keys: dict[str, SigningKey], mutate: Any, error: type[Exception]
) -> None:
    with pytest.raises(error):
        VerifyingKey.from_jwk(mutate(keys["ES256"].verifying_key.to_jwk()))


def test_ed448_okp_jwk_is_refused() -> None:
    with pytest.raises(UnsupportedAlgorithm):
        VerifyingKey.from_jwk({"kty": "OKP", "crv": "Ed448", "x": "AA"})


def test_rsa_jwk_with_invalid_exponent_is_refused() -> None:
    with pytest.raises(InvalidKey):
        VerifyingKey.from_jwk({**RFC7638_RSA_JWK, "e": "AQ"})  # e = 1


def test_jwk_that_is_not_an_object_is_refused() -> None:
    values: list[object] = [[], "{}", None, 3]
    for value in values:
        with pytest.raises(InvalidKey):
            VerifyingKey.from_jwk(value)  # type: ignore[arg-type]


# --- Signer protocol -----------------------------------------------------------


def test_signing_key_satisfies_the_signer_protocol(keys: dict[str, SigningKey]) -> None:
    signer: Signer = keys["ES256"]
    assert isinstance(signer, Signer)
    assert not isinstance(keys["ES256"].verifying_key, Signer)


def test_verifying_key_equality_covers_kid_and_alg(keys: dict[str, SigningKey]) -> None:
    ps = VerifyingKey(keys["RS256"].verifying_key.public_key, "PS256")
    rs = keys["RS256"].verifying_key
    assert ps.kid == rs.kid
    assert ps != rs
    assert len({ps, rs, VerifyingKey.from_jwk(rs.to_jwk())}) == 2


def test_ps256_and_rs256_signatures_are_the_rfc7518_paddings(
    keys: dict[str, SigningKey],
) -> None:
    """PS256 is RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt (RFC 7518 3.5)."""
    public = keys["PS256"].verifying_key.public_key
    assert isinstance(public, rsa.RSAPublicKey)
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    public.verify(keys["PS256"].sign(MESSAGE), MESSAGE, pss, hashes.SHA256())
    rs_public = keys["RS256"].verifying_key.public_key
    assert isinstance(rs_public, rsa.RSAPublicKey)
    rs_public.verify(keys["RS256"].sign(MESSAGE), MESSAGE, padding.PKCS1v15(), hashes.SHA256())


# --- ES256: raw r || s to DER (issue #18) -------------------------------------------

#: Integers around every edge of the conversion: zero and the group order (out of
#: range), one byte, a leading zero byte, the high bit that needs a zero byte in DER.
EDGE_INTEGERS = st.sampled_from([
    0, 1, 0x7F, 0x80, 0xFF, 2**248 - 1, 2**248, 2**255 - 1, 2**255,
    P256_ORDER - 1, P256_ORDER, P256_ORDER + 1, 2**256 - 1,
])  # fmt: skip
P256_INTEGERS = st.one_of(EDGE_INTEGERS, st.integers(0, 2**256 - 1), st.integers(0, 2**64))


@given(r=P256_INTEGERS, s=P256_INTEGERS)
def test_raw_es256_signature_becomes_exactly_cryptographys_der(r: int, s: int) -> None:
    """The hand-built DER is encode_dss_signature's for every r and s in [1, n-1]; any
    other value (0, n and above) is refused, as the integer check did."""
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    in_range = 0 < r < P256_ORDER and 0 < s < P256_ORDER
    assert _p256_raw_to_der(raw) == (encode_dss_signature(r, s) if in_range else None)


@pytest.mark.parametrize("size", [0, 1, 32, 63, 65, 96, 128])
def test_raw_es256_signature_of_the_wrong_length_is_refused(size: int) -> None:
    assert _p256_raw_to_der(b"\x01" * size) is None
    key = SigningKey.generate("ES256").verifying_key
    with pytest.raises(InvalidSignature):
        key.verify(b"\x01" * size, MESSAGE)


def test_es256_signatures_whose_r_or_s_is_short_verify() -> None:
    """About 1 in 256 signatures has an r (or s) with a leading zero byte, which DER
    writes shorter: such signatures verify, and do not once changed."""
    key = SigningKey.generate("ES256")
    found: dict[int, tuple[bytes, bytes]] = {}
    for n in range(20000):
        message = n.to_bytes(4, "big")
        signature = key.sign(message)
        for at in (0, 32):
            if signature[at] == 0:
                found.setdefault(at, (signature, message))
        if len(found) == 2:
            break
    assert sorted(found) == [0, 32]
    for signature, message in found.values():
        key.verifying_key.verify(signature, message)
        with pytest.raises(InvalidSignature):
            key.verifying_key.verify(signature, message + b"!")
