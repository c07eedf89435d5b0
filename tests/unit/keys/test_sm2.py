"""Evidence for SM2 keys (:mod:`govkit.keys` with the ``govkit[sm]`` extra), SM3 and SM4.

Published values used here, with their provenance:

* GB/T 32905-2016 (SM3) appendix A: ``SM3("abc")`` and ``SM3("abcd" * 16)``.
* GB/T 32907-2016 (SM4) appendix A.1: key = plaintext = ``0123456789abcdeffedcba9876543210``
  gives ``681edf34d206965e86b3e94f536e4246``.
* GM/T 0003.2-2012 / GB/T 32918.2 appendix A.2 (signature example on the *test* curve
  ``Fp-256``, identity ``ALICE123@YAHOO.COM``): ``Z_A`` and ``e = SM3(Z_A || "message
  digest")``. This checks govkit's ``Z`` computation field by field; the curve is not the
  recommended one, so the signature itself cannot be checked with an SM2 library.
* GM/T 0003.5-2012 (recommended curve, identity ``1234567812345678``): public key
  ``09F9DF31...``, message ``"message digest"``, signature ``(F5A03B06..., B1B6AA29...)``,
  which govkit must accept (and reject for any other message).
"""

from __future__ import annotations

import pickle
import sys

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from govkit._encoding import b64url_encode
from govkit.errors import (
    AlgorithmUnavailable,
    InvalidKey,
    InvalidSignature,
    KeyMismatch,
    KeyPasswordError,
    UnsupportedAlgorithm,
)
from govkit.keys import (
    ALGORITHMS,
    OPTIONAL_ALGORITHMS,
    SM2_SIGNER_ID,
    SigningKey,
    VerifyingKey,
    jwk_thumbprint,
    sm2_available,
    sm2_der_to_raw,
    sm2_raw_to_der,
    sm2_z_value,
)
from govkit.keys._sm2 import _N, _z_value

# GM/T 0003.5-2012: the recommended-curve signature example.
STD_X = 0x09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020
STD_Y = 0xCCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13
STD_SIG = bytes.fromhex(
    "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
    "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"
)

# GM/T 0003.2-2012 appendix A: the Fp-256 test curve (a, b, xG, yG) and Alice's key.
TEST_CURVE = (
    0x787968B4FA32C3FD2417842E73BBFEFF2F3C848B6831D7E0EC65228B3937E498,
    0x63E4C6D3B23B0C849CF84241484BFE48F61D59A5B16BA06E6E12D1DA27C5249A,
    0x421DEBD61B62EAB6746434EBC3CC315E32220B3BADD50BDC4C4E6C147FEDD43D,
    0x0680512BCBB42C07D47349D2153B70C4E5D7FDFCBFA36EA1A85841B9E46E09A2,
)
ALICE_X = 0x0AE4C7798AA0F119471BEE11825BE46202BB79E2A5844495E97C04FF4DF2548A
ALICE_Y = 0x7C0240F88F1CD4E16352A73C17B7F16F07353E53A176D684A9FE0C6BB798E857


def sm3(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def std_jwk() -> dict[str, str]:
    return {
        "kty": "EC",
        "crv": "SM2",
        "x": b64url_encode(STD_X.to_bytes(32, "big")),
        "y": b64url_encode(STD_Y.to_bytes(32, "big")),
    }


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate("SM2")


# --- SM3 and SM4 (cryptography) -------------------------------------------------------


def test_sm3_gbt32905_abc_vector() -> None:
    assert sm3(b"abc").hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def test_sm3_gbt32905_64_byte_vector() -> None:
    expected = "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
    assert sm3(b"abcd" * 16).hex() == expected


def test_sm4_gbt32907_block_vector() -> None:
    block = bytes.fromhex("0123456789abcdeffedcba9876543210")
    encryptor = Cipher(algorithms.SM4(block), modes.ECB()).encryptor()  # noqa: S305 - one block, as the standard's example
    assert (encryptor.update(block) + encryptor.finalize()).hex() == (
        "681edf34d206965e86b3e94f536e4246"
    )


# --- Z value ------------------------------------------------------------------------------


def test_z_value_matches_gmt0003_appendix_a_example() -> None:
    z = _z_value(TEST_CURVE, ALICE_X, ALICE_Y, b"ALICE123@YAHOO.COM")
    assert z.hex().upper() == "F4A38489E32B45B6F876E3AC2168CA392362DC8F23459C1D1146FC3DBFB7BC9A"
    e = sm3(z + b"message digest")
    assert e.hex().upper() == "B524F552CD82B8B028476E005C377FB19A87E6FC682D48BB5D42E3D9B9EFFE76"


def test_z_value_depends_on_identity_and_key() -> None:
    default = sm2_z_value(STD_X, STD_Y)
    assert default == sm2_z_value(STD_X, STD_Y, b"1234567812345678")
    assert default != sm2_z_value(STD_X, STD_Y, b"1234567812345679")
    assert default != sm2_z_value(STD_Y, STD_X)
    assert SM2_SIGNER_ID == b"1234567812345678"


def test_z_value_refuses_out_of_range_coordinates_and_huge_identities() -> None:
    with pytest.raises(InvalidKey):
        sm2_z_value(1 << 256, STD_Y)
    with pytest.raises(InvalidKey):
        sm2_z_value(STD_X, STD_Y, b"x" * 8192)


# --- keys -----------------------------------------------------------------------------


def test_sm2_is_optional_not_in_core_algorithms() -> None:
    assert "SM2" not in ALGORITHMS
    assert OPTIONAL_ALGORITHMS == ("SM2",)
    assert sm2_available()


def test_sign_verify_round_trip_raw_r_s(key: SigningKey) -> None:
    signature = key.sign(b"licence 42")
    assert key.alg == "SM2"
    assert len(signature) == 64
    key.verifying_key.verify(signature, b"licence 42")


def test_signatures_are_randomised(key: SigningKey) -> None:
    assert key.sign(b"x") != key.sign(b"x")


def test_tampered_message_is_rejected(key: SigningKey) -> None:
    signature = key.sign(b"licence 42")
    with pytest.raises(InvalidSignature):
        key.verifying_key.verify(signature, b"licence 43")


def test_signature_by_another_key_is_rejected(key: SigningKey) -> None:
    other = SigningKey.generate("SM2")
    with pytest.raises(InvalidSignature):
        key.verifying_key.verify(other.sign(b"m"), b"m")


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: s[:63],
        lambda s: s + b"\x00",
        lambda s: bytes(64),
        lambda s: _N.to_bytes(32, "big") + s[32:],
        lambda s: s[:32] + _N.to_bytes(32, "big"),
        sm2_raw_to_der,  # DER where raw r || s is required
        lambda s: s[32:] + s[:32],
    ],
    ids=["short", "long", "zero", "r_eq_n", "s_eq_n", "der_form", "swapped"],
)
def test_malformed_or_out_of_range_signatures_are_rejected(key: SigningKey, mangle: object) -> None:
    signature = key.sign(b"m")
    assert callable(mangle)
    with pytest.raises(InvalidSignature):
        key.verifying_key.verify(mangle(signature), b"m")


def test_gmt0003_5_published_signature_verifies() -> None:
    public = VerifyingKey.from_jwk(std_jwk())
    assert public.alg == "SM2"
    public.verify(STD_SIG, b"message digest")
    with pytest.raises(InvalidSignature):
        public.verify(STD_SIG, b"message digesT")


def test_jwk_is_kty_ec_crv_sm2_and_kid_is_its_thumbprint(key: SigningKey) -> None:
    jwk = key.verifying_key.to_jwk()
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == ("EC", "SM2", "SM2", "sig")
    assert jwk["kid"] == key.kid == jwk_thumbprint(jwk)
    assert VerifyingKey.from_jwk(jwk) == key.verifying_key


def test_off_curve_jwk_point_is_refused() -> None:
    jwk = std_jwk()
    jwk["y"] = b64url_encode((STD_Y + 1).to_bytes(32, "big"))
    with pytest.raises(InvalidKey):
        VerifyingKey.from_jwk(jwk)


def test_short_jwk_coordinates_are_refused() -> None:
    jwk = std_jwk()
    jwk["x"] = b64url_encode(STD_X.to_bytes(32, "big")[1:])
    with pytest.raises(InvalidKey):
        VerifyingKey.from_jwk(jwk)


def test_sm2_jwk_cannot_be_loaded_as_another_algorithm() -> None:
    with pytest.raises(KeyMismatch):
        VerifyingKey.from_jwk(std_jwk(), alg="ES256")


def test_pem_round_trip_keeps_the_key(key: SigningKey) -> None:
    pem = key.to_pem()
    assert pem.startswith(b"alg: SM2\n-----BEGIN PRIVATE KEY-----")
    loaded = SigningKey.from_pem(pem)
    assert loaded.kid == key.kid
    key.verifying_key.verify(loaded.sign(b"m"), b"m")
    public = VerifyingKey.from_pem(key.verifying_key.to_pem())
    assert public == key.verifying_key


def test_pem_without_alg_line_is_recognised_by_its_curve_oid(key: SigningKey) -> None:
    body = key.to_pem().split(b"\n", 1)[1]
    assert SigningKey.from_pem(body).alg == "SM2"
    assert VerifyingKey.from_pem(key.verifying_key.to_pem().split(b"\n", 1)[1]).alg == "SM2"


def test_encrypted_pem_round_trip_and_wrong_password(key: SigningKey) -> None:
    pem = key.to_pem("correct horse")
    assert b"ENCRYPTED PRIVATE KEY" in pem
    assert SigningKey.from_pem(pem, "correct horse").kid == key.kid
    without_hint = pem.split(b"\n", 1)[1]
    assert SigningKey.from_pem(without_hint, "correct horse").kid == key.kid
    for pem_variant in (pem, without_hint):
        with pytest.raises(KeyPasswordError):
            SigningKey.from_pem(pem_variant, "wrong")
        with pytest.raises(KeyPasswordError):
            SigningKey.from_pem(pem_variant)


def test_repr_and_pickle_never_expose_the_private_key(key: SigningKey) -> None:
    assert "PRIVATE" not in repr(key)
    assert repr(key.private_key) == "SM2PrivateKey()"
    with pytest.raises(TypeError):
        pickle.dumps(key)
    with pytest.raises(TypeError):
        pickle.dumps(key.private_key)


# --- signature encodings ------------------------------------------------------------


def test_raw_and_der_convert_both_ways(key: SigningKey) -> None:
    raw = key.sign(b"m")
    der = sm2_raw_to_der(raw)
    assert der[0] == 0x30
    assert sm2_der_to_raw(der) == raw
    key.verifying_key.public_key.verify_der(der, b"m")  # type: ignore[union-attr]


def test_non_canonical_der_is_rejected(key: SigningKey) -> None:
    der = sm2_raw_to_der(key.sign(b"m"))
    padded_length = bytes([0x30, 0x81, der[1]]) + der[2:]
    with pytest.raises(InvalidSignature):
        sm2_der_to_raw(padded_length)
    with pytest.raises(InvalidSignature):
        sm2_der_to_raw(der + b"\x00")
    with pytest.raises(InvalidSignature):
        sm2_der_to_raw(b"\x30\x06\x02\x01\x00\x02\x01\x01")  # r = 0


# --- without the extra ------------------------------------------------------------------


@pytest.fixture
def without_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``import tongsuopy`` fail, as it does when ``govkit[sm]`` is not installed."""
    monkeypatch.setitem(sys.modules, "tongsuopy", None)


@pytest.mark.usefixtures("without_extra")
def test_generate_without_extra_names_the_extra() -> None:
    with pytest.raises(AlgorithmUnavailable) as caught:
        SigningKey.generate("SM2")
    error = caught.value
    assert isinstance(error, UnsupportedAlgorithm)
    assert error.code == "key.algorithm_unavailable"
    assert "pip install 'govkit[sm]'" in error.message
    assert error.context["extra"] == "sm"
    assert not sm2_available()


def test_sm2_pem_and_jwk_without_extra_name_the_extra(
    key: SigningKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    private_pem = key.to_pem().split(b"\n", 1)[1]
    public_pem = key.verifying_key.to_pem()
    jwk = key.verifying_key.to_jwk()
    monkeypatch.setitem(sys.modules, "tongsuopy", None)
    with pytest.raises(AlgorithmUnavailable):
        SigningKey.from_pem(private_pem)
    with pytest.raises(AlgorithmUnavailable):
        VerifyingKey.from_pem(public_pem)
    with pytest.raises(AlgorithmUnavailable):
        VerifyingKey.from_jwk(jwk)


@pytest.mark.usefixtures("without_extra")
def test_other_algorithms_and_z_value_work_without_extra() -> None:
    key = SigningKey.generate("EdDSA")
    key.verifying_key.verify(key.sign(b"m"), b"m")
    assert len(sm2_z_value(STD_X, STD_Y)) == 32


def test_unknown_algorithm_is_still_unsupported_not_unavailable() -> None:
    with pytest.raises(UnsupportedAlgorithm) as caught:
        SigningKey.generate("SM9")
    assert not isinstance(caught.value, AlgorithmUnavailable)
