"""A P-256 or Ed25519 key read from a JWK is checked at once and built when first used.

``VerifyingKey.from_jwk`` checks what OpenSSL checks when it builds the key (a P-256
point on the curve, coordinates below the field prime; 32 bytes for Ed25519), in the
same call, and leaves building the :mod:`cryptography` object to the first signature
check: loading a trust list of 100,000 keys no longer builds 100,000 of them. The key
is the same key either way: same thumbprint, same JWK, equal, verifies the same.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from govkit._encoding import b64url_encode
from govkit.errors import InvalidKey, InvalidSignature, KeyMismatch
from govkit.keys import SigningKey, VerifyingKey
from govkit.keys._keys import _P256_P, jwk_thumbprint


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_a_key_read_from_a_jwk_is_the_key_built_at_once(alg: str) -> None:
    signer = SigningKey.generate(alg)
    built = signer.verifying_key
    read = VerifyingKey.from_jwk(built.to_jwk())
    assert read == built
    assert hash(read) == hash(built)
    assert read.kid == built.kid == jwk_thumbprint(built.to_jwk())
    assert read.to_jwk() == built.to_jwk()
    read.verify(signer.sign(b"licence"), b"licence")
    with pytest.raises(InvalidSignature):
        read.verify(signer.sign(b"licence"), b"licencE")
    assert read.to_pem() == built.to_pem()
    assert type(read.public_key) is type(built.public_key)


def p256_jwk(x: int, y: int) -> dict[str, str]:
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url_encode(x.to_bytes(32, "big")),
        "y": b64url_encode(y.to_bytes(32, "big")),
    }


def test_a_point_off_the_curve_is_refused_when_read() -> None:
    numbers = SigningKey.generate("ES256").verifying_key.public_key.public_numbers()  # type: ignore[union-attr]
    with pytest.raises(InvalidKey, match="valid public key"):
        VerifyingKey.from_jwk(p256_jwk(numbers.x, numbers.y ^ 1))


def test_a_coordinate_past_the_field_prime_is_refused_when_read() -> None:
    public = SigningKey.generate("ES256").verifying_key.public_key
    assert isinstance(public, ec.EllipticCurvePublicKey)
    numbers = public.public_numbers()
    # x + p is the same point modulo p: OpenSSL refuses it, and so does the check here
    if numbers.x + _P256_P < 2**256:
        with pytest.raises(InvalidKey):
            VerifyingKey.from_jwk(p256_jwk(numbers.x + _P256_P, numbers.y))
    with pytest.raises(InvalidKey):
        VerifyingKey.from_jwk(p256_jwk(_P256_P, numbers.y))


def test_a_non_canonical_coordinate_is_refused() -> None:
    jwk = SigningKey.generate("ES256").verifying_key.to_jwk()
    last = jwk["x"][-1]
    jwk["x"] = jwk["x"][:-1] + ("B" if last == "A" else "A")  # other trailing bits
    with pytest.raises(InvalidKey):
        VerifyingKey.from_jwk(jwk)


def test_the_algorithm_of_a_deferred_key_is_checked_when_read() -> None:
    jwk = SigningKey.generate("EdDSA").verifying_key.to_jwk()
    with pytest.raises(KeyMismatch):
        VerifyingKey.from_jwk(jwk, "ES256")
    with pytest.raises(InvalidKey):
        VerifyingKey.from_jwk({**jwk, "kid": 7})


def test_unsafe_restore_gives_back_the_key_it_was_told_of() -> None:
    signer = SigningKey.generate("ES256")
    jwk = signer.verifying_key.to_jwk()
    restored = VerifyingKey.unsafe_restore("ES256", jwk["x"], jwk["y"], jwk["kid"])
    assert restored == signer.verifying_key
    restored.verify(signer.sign(b"x"), b"x")


def test_unsafe_restore_of_a_point_off_the_curve_fails_when_used_not_silently() -> None:
    jwk = SigningKey.generate("ES256").verifying_key.to_jwk()
    broken = b64url_encode(bytes(32))  # y = 0 is not on P-256
    restored = VerifyingKey.unsafe_restore("ES256", jwk["x"], broken, jwk["kid"])
    with pytest.raises(InvalidKey):
        restored.verify(bytes(64), b"x")


def test_an_ed25519_key_from_its_raw_bytes_is_the_key_built_at_once() -> None:
    """``VerifyingKey._ed25519`` (a selective licence's device key) is the same key as
    ``VerifyingKey(Ed25519PublicKey.from_public_bytes(raw))``."""
    signer = SigningKey.generate("EdDSA")
    built = signer.verifying_key
    raw = built.public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    read = VerifyingKey._ed25519(raw)
    assert read == built
    assert read.alg == "EdDSA"
    assert read.kid == built.kid == jwk_thumbprint(built.to_jwk())
    assert read.to_jwk() == built.to_jwk()
    assert read.to_pem() == built.to_pem()
    read.verify(signer.sign(b"presentation"), b"presentation")
    with pytest.raises(InvalidSignature):
        read.verify(signer.sign(b"presentation"), b"presentatioN")
    with pytest.raises(ValueError, match="32 bytes"):
        VerifyingKey._ed25519(raw[:31])
