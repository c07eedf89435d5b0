"""Raw private keys (:meth:`SigningKey.private_bytes_raw` / :meth:`SigningKey.from_private_bytes`).

The raw forms C2SP note private keys carry: the RFC 8032 Ed25519 seed and the SM2
private scalar. Vectors and their provenance:

* RFC 8032 section 7.1, TEST 1: seed ``9d61b19d...`` gives public key ``d75a9801...``.
* GM/T 0003.5-2012 (recommended curve) example: scalar ``3945208F...`` gives public key
  ``(09F9DF31..., CCEA490C...)``.
"""

from __future__ import annotations

import base64
import sys

import pytest
from cryptography.hazmat.primitives import serialization

from govkit.errors import AlgorithmUnavailable, InvalidKey, UnsupportedAlgorithm
from govkit.keys import SigningKey

RFC8032_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC8032_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
SM2_D = bytes.fromhex("3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8")
SM2_X = 0x09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020
SM2_Y = 0xCCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13
SM2_N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123


def test_rfc8032_seed_gives_its_public_key_and_round_trips() -> None:
    key = SigningKey.from_private_bytes("EdDSA", RFC8032_SEED)
    public = key.verifying_key.public_key.public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert public == RFC8032_PUBLIC
    assert key.private_bytes_raw() == RFC8032_SEED


def test_gmt_0003_5_scalar_gives_its_public_key_and_round_trips() -> None:
    key = SigningKey.from_private_bytes("SM2", SM2_D)
    jwk = key.verifying_key.to_jwk()
    assert key.alg == "SM2"
    assert int.from_bytes(_b64url(jwk["x"]), "big") == SM2_X
    assert int.from_bytes(_b64url(jwk["y"]), "big") == SM2_Y
    assert key.private_bytes_raw() == SM2_D
    key.verifying_key.verify(key.sign(b"m"), b"m")


def test_generated_sm2_key_round_trips() -> None:
    key = SigningKey.generate("SM2")
    raw = key.private_bytes_raw()
    assert len(raw) == 32
    assert SigningKey.from_private_bytes("SM2", raw).kid == key.kid


@pytest.mark.parametrize(
    "scalar",
    [0, SM2_N - 1, SM2_N, 2**256 - 1],
    ids=["zero", "n-minus-1", "n", "all-ones"],
)
def test_sm2_scalar_outside_1_to_n_minus_2_is_refused(scalar: int) -> None:
    with pytest.raises(InvalidKey):
        SigningKey.from_private_bytes("SM2", scalar.to_bytes(32, "big"))


@pytest.mark.parametrize("alg", ["EdDSA", "SM2"])
@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_raw_private_key_of_the_wrong_length_is_refused(alg: str, length: int) -> None:
    with pytest.raises(InvalidKey):
        SigningKey.from_private_bytes(alg, b"\x01" * length)


@pytest.mark.parametrize("alg", ["ES256", "PS256", "RS256"])
def test_algorithms_without_a_raw_form_are_refused(alg: str) -> None:
    with pytest.raises(UnsupportedAlgorithm):
        SigningKey.from_private_bytes(alg, bytes(32))
    with pytest.raises(UnsupportedAlgorithm):
        SigningKey.generate(alg).private_bytes_raw()


def test_unknown_algorithm_is_refused() -> None:
    with pytest.raises(UnsupportedAlgorithm):
        SigningKey.from_private_bytes("HS256", bytes(32))


def test_raw_sm2_key_without_extra_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tongsuopy", None)
    with pytest.raises(AlgorithmUnavailable):
        SigningKey.from_private_bytes("SM2", SM2_D)


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
