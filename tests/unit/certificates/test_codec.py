"""Evidence for :mod:`govkit.certificates.codec`: round trips, and each fault refused precisely.

Negative tests are named after the fault; each asserts the error class and, for format
errors, the ``reason`` (the layer). Messages built by hand below follow RFC 9052
(COSE_Sign1, Sig_structure) and RFC 8392 (CWT claims).
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives import serialization

from govkit._encoding import b45encode
from govkit.certificates import codec
from govkit.certificates.codec import (
    COSE_ALGORITHM_NAMES,
    COSE_ALGORITHMS,
    EXP,
    IAT,
    ISS,
    NBF,
    CoseMessage,
    check_times,
    cose_kid,
    decode,
    decode_cose,
    decompress,
    encode,
    verify_signature,
)
from govkit.errors import (
    CertificateAlgorithmRejected,
    CertificateExpired,
    CertificateFormatError,
    CertificateKeyUnknown,
    CertificateNotYetValid,
    CertificateSignatureInvalid,
    CertificateTooLarge,
    ConfigurationError,
    LicenceDataInvalid,
    NaiveDatetimeError,
    VerificationError,
)
from govkit.keys import SigningKey

ALGS = ("ES256", "EdDSA", "PS256")
KID = b"\x01\x02\x03\x04\x05\x06\x07\x08"
CLAIMS: dict[int | str, Any] = {
    ISS: "CN",
    IAT: 1_700_000_000,
    EXP: 1_900_000_000,
    -70000: {"type": "driving", "class": ["C1", "C2"], "photo": b"\x89PNG", "n": -5},
    "name": "张三",
}


#: A claim nested 17 levels below the claims map: deeper than decode's default limit (16).
DEEP: Any = 1
for _ in range(17):
    DEEP = [DEEP]


@pytest.fixture(scope="module")
def keys() -> dict[str, SigningKey]:
    return {alg: SigningKey.generate(alg) for alg in ALGS}


@pytest.fixture(scope="module")
def es256(keys: dict[str, SigningKey]) -> SigningKey:
    return keys["ES256"]


def sign1(
    key: SigningKey,
    *,
    protected: dict[Any, Any] | bytes | None = None,
    unprotected: Any = None,
    payload: bytes | None = None,
    tag: int | None = 18,
) -> bytes:
    """A hand-built COSE_Sign1 signed with ``key`` over the given headers and payload."""
    if protected is None:
        protected = {1: COSE_ALGORITHMS[key.alg], 4: KID}
    protected_bytes = protected if isinstance(protected, bytes) else cbor2.dumps(protected)
    payload = cbor2.dumps(CLAIMS) if payload is None else payload
    signature = key.sign(cbor2.dumps(["Signature1", protected_bytes, b"", payload]))
    body = [protected_bytes, {} if unprotected is None else unprotected, payload, signature]
    return cbor2.dumps(body if tag is None else cbor2.CBORTag(tag, body))


def gk1(cose: bytes) -> str:
    """GK1 text without compression (allowed for GK1)."""
    return "GK1:" + b45encode(cose)


def format_reason(text: str | bytes, **kwargs: Any) -> str:
    with pytest.raises(CertificateFormatError) as info:
        decode(text, **kwargs)
    assert info.value.code == "certificate.format"
    reason: str = info.value.context["reason"]
    return reason


# --- round trips -------------------------------------------------------------------------


@pytest.mark.parametrize("compress", [True, False], ids=["zlib", "plain"])
@pytest.mark.parametrize("alg", ALGS)
def test_round_trip(keys: dict[str, SigningKey], alg: str, compress: bool) -> None:
    key = keys[alg]
    kid = cose_kid(key.verifying_key)
    text = encode(CLAIMS, key, kid=kid, compress=compress)
    assert text.startswith("GK1:")
    message = decode(text)
    assert message.prefix == "GK1:"
    assert message.compressed is compress
    assert message.alg == alg
    assert message.alg_id == COSE_ALGORITHMS[alg]
    assert message.kid == kid
    assert dict(message.protected) == {1: COSE_ALGORITHMS[alg], 4: kid}
    assert dict(message.unprotected) == {}
    assert dict(message.claims) == CLAIMS
    assert message.payload == cbor2.dumps(CLAIMS, canonical=True)
    if alg == "ES256":
        assert len(message.signature) == 64
    assert verify_signature(message, [key.verifying_key]) == key.verifying_key


def test_to_be_signed_is_the_sig_structure(es256: SigningKey) -> None:
    message = decode(encode(CLAIMS, es256, kid=KID))
    protected = cbor2.dumps({1: -7, 4: KID}, canonical=True)
    assert message.to_be_signed == cbor2.dumps(["Signature1", protected, b"", message.payload])


def test_content_type_goes_into_the_protected_header(es256: SigningKey) -> None:
    message = decode(encode(CLAIMS, es256, kid=KID, content_type="application/cwt"))
    assert message.protected[3] == "application/cwt"
    assert verify_signature(message, [es256.verifying_key]) == es256.verifying_key


def test_hcert_prefix_round_trip(es256: SigningKey) -> None:
    message = decode(encode(CLAIMS, es256, kid=KID, prefix="HC1:"))
    assert message.prefix == "HC1:"
    assert message.compressed


def test_bytes_input_is_accepted(es256: SigningKey) -> None:
    text = encode(CLAIMS, es256, kid=KID)
    assert decode(text.encode("ascii")).claims[ISS] == "CN"


def test_tagged_cwt_and_untagged_arrays_are_read(es256: SigningKey) -> None:
    inner = sign1(es256)
    wrapped = cbor2.dumps(cbor2.CBORTag(61, cbor2.loads(inner)))
    for cose in (inner, wrapped, sign1(es256, tag=None)):
        message = decode(gk1(cose))
        assert verify_signature(message, [es256.verifying_key]) == es256.verifying_key


def test_empty_protected_bstr_is_an_empty_map(es256: SigningKey) -> None:
    message = decode(gk1(sign1(es256, protected=b"", unprotected={4: KID})))
    assert dict(message.protected) == {}
    assert message.kid == KID
    assert message.alg is None


def test_protected_kid_wins_over_unprotected(es256: SigningKey) -> None:
    message = decode(gk1(sign1(es256, unprotected={4: b"other"})))
    assert message.kid == KID


def test_cose_kid_is_sha256_of_the_spki_truncated(es256: SigningKey) -> None:
    spki = es256.verifying_key.public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert cose_kid(es256.verifying_key) == hashlib.sha256(spki).digest()[:8]


def test_algorithm_tables_are_inverse_and_read_only() -> None:
    assert dict(COSE_ALGORITHMS) == {"ES256": -7, "EdDSA": -8, "PS256": -37, "SM2": -65537}
    assert {v: k for k, v in COSE_ALGORITHMS.items()} == dict(COSE_ALGORITHM_NAMES)
    with pytest.raises(TypeError):
        COSE_ALGORITHMS["RS256"] = -257  # type: ignore[index]


def test_message_is_frozen_and_claims_are_read_only(es256: SigningKey) -> None:
    message = decode(encode(CLAIMS, es256, kid=KID))
    with pytest.raises(dataclasses.FrozenInstanceError):
        message.kid = b"x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        message.claims[ISS] = "XX"  # type: ignore[index]
    with pytest.raises(TypeError):
        message.protected[1] = -8  # type: ignore[index]
    assert "CN" not in repr(message)


def test_decode_cose_reads_the_bare_cose_layer(es256: SigningKey) -> None:
    message = decode_cose(sign1(es256))
    assert (message.prefix, message.compressed, message.kid) == ("", False, KID)


# --- encode refuses ---------------------------------------------------------------------


def test_encode_refuses_an_algorithm_without_a_cose_id() -> None:
    with pytest.raises(CertificateAlgorithmRejected):
        encode(CLAIMS, SigningKey.generate("RS256"), kid=KID)


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({1.5: "x"}, id="float-key"),
        pytest.param({b"k": "x"}, id="bytes-key"),
        pytest.param({1: object()}, id="unencodable-value"),
        pytest.param({1: {2, 3}}, id="set-value-tag-258"),
        pytest.param({1: DEEP}, id="deeper-than-decode-accepts"),
    ],
)
def test_encode_refuses_claims_decode_would_refuse(es256: SigningKey, claims: Any) -> None:
    with pytest.raises(LicenceDataInvalid):
        encode(claims, es256, kid=KID)


def test_encode_refuses_a_kid_that_is_not_bytes(es256: SigningKey) -> None:
    with pytest.raises(ConfigurationError):
        encode(CLAIMS, es256, kid="kid")  # type: ignore[arg-type]


# --- the text and prefix layer ----------------------------------------------------------


def test_wrong_prefix_is_refused(es256: SigningKey) -> None:
    text = encode(CLAIMS, es256, kid=KID, prefix="HC2:")
    assert format_reason(text) == "prefix"


def test_missing_prefix_is_refused(es256: SigningKey) -> None:
    text = encode(CLAIMS, es256, kid=KID, prefix="")
    assert format_reason(text) == "prefix"


def test_prefix_not_in_the_accepted_list_is_refused(es256: SigningKey) -> None:
    text = encode(CLAIMS, es256, kid=KID, prefix="HC1:")
    assert format_reason(text, prefixes=("GK1:",)) == "prefix"


def test_oversized_text_is_refused_before_parsing() -> None:
    with pytest.raises(CertificateTooLarge) as info:
        decode("GK1:" + "\x00" * 20_000)
    assert info.value.context["limit"] == "text"
    with pytest.raises(CertificateTooLarge):
        decode(b"GK1:" + b"\xff" * 20_000)


# --- base45 -----------------------------------------------------------------------------


def test_bad_base45_character_is_refused(es256: SigningKey) -> None:
    text = encode(CLAIMS, es256, kid=KID)
    assert format_reason(text[:10] + "a" + text[11:]) == "base45"


def test_non_ascii_bytes_are_refused_as_base45(es256: SigningKey) -> None:
    text = encode(CLAIMS, es256, kid=KID).encode("ascii")
    assert format_reason(text[:10] + b"\xc3" + text[11:]) == "base45"


def test_dangling_base45_character_is_refused(es256: SigningKey) -> None:
    text = encode(CLAIMS, es256, kid=KID)
    extra = {0: "AAAA", 1: "A", 2: "AA"}[len(text[4:]) % 3]
    assert format_reason(text + extra) == "base45"


def test_overflowing_base45_triple_is_refused() -> None:
    assert format_reason("GK1::::") == "base45"


# --- zlib -------------------------------------------------------------------------------


def test_zlib_bomb_is_refused_without_inflating_it() -> None:
    bomb = zlib.compress(b"\x00" * 10_000_000, 9)
    text = "GK1:" + b45encode(bomb)
    assert len(text) < 16384
    started = time.perf_counter()
    with pytest.raises(CertificateTooLarge) as info:
        decode(text)
    assert info.value.context["limit"] == "cose"
    assert time.perf_counter() - started < 1.0


def test_truncated_zlib_stream_is_refused(es256: SigningKey) -> None:
    compressed = zlib.compress(sign1(es256), 9)
    assert format_reason("GK1:" + b45encode(compressed[:-6])) == "zlib"


def test_bytes_after_the_zlib_stream_are_refused(es256: SigningKey) -> None:
    compressed = zlib.compress(sign1(es256), 9)
    assert format_reason("GK1:" + b45encode(compressed + b"\x00")) == "zlib"


def test_zlib_checksum_mismatch_is_refused(es256: SigningKey) -> None:
    compressed = bytearray(zlib.compress(sign1(es256), 9))
    compressed[-1] ^= 0x01
    assert format_reason("GK1:" + b45encode(bytes(compressed))) == "zlib"


def test_uncompressed_hcert_is_refused_at_the_compression_step(es256: SigningKey) -> None:
    # DCC test case Z2: HCERT requires zlib.
    text = encode(CLAIMS, es256, kid=KID, prefix="HC1:", compress=False)
    assert format_reason(text) == "zlib"
    assert not decode(text, require_compression=False).compressed


def test_uncompressed_gk1_is_refused_when_compression_is_required(es256: SigningKey) -> None:
    text = encode(CLAIMS, es256, kid=KID, compress=False)
    assert not decode(text).compressed
    assert format_reason(text, require_compression=True) == "zlib"


def test_decompress_limit_is_exact() -> None:
    data = zlib.compress(b"x" * 100)
    assert decompress(data, max_size=100) == b"x" * 100
    with pytest.raises(CertificateTooLarge):
        decompress(data, max_size=99)


def test_oversized_uncompressed_cose_is_refused(es256: SigningKey) -> None:
    text = gk1(sign1(es256, payload=cbor2.dumps({1: "x" * 2000})))
    with pytest.raises(CertificateTooLarge):
        decode(text, max_cose=1000)


# --- CBOR -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cose",
    [
        pytest.param(b"\xff\xff\xff", id="break-bytes"),
        pytest.param(b"", id="empty"),
        pytest.param(b"\x84\x40\xa0", id="truncated-array"),
        pytest.param(b"\x5b\xff\xff\xff\xff\xff\xff\xff\xff", id="bstr-length-2^64-1"),
        pytest.param(b"\x9a\xff\xff\xff\xff\x00", id="array-of-2^32-items"),
        pytest.param(b"\x84\x40\xa0\x40\x40\x00", id="trailing-byte"),
        pytest.param(b"\x1c", id="reserved-additional-info"),
        pytest.param(b"\x84\x40\xa0\x5f\x41\x00\x61\x61\xff\x40", id="mixed-chunk-bstr"),
        pytest.param(b"\x84\x40\xbf\x01\xff\x40\x40", id="odd-indefinite-map"),
        pytest.param(b"\x84\x40\xa0\x62\xc3\x28\x40", id="invalid-utf8"),
        pytest.param(b"\x84\x40\xa2\x01\x01\x01\x02\x40\x40", id="repeated-unprotected-key"),
        pytest.param(b"\x84\x40\xa1\xd9\x01\x02\x80\x01\x40\x40", id="tag-258-set"),
        pytest.param(b"\x84\x40\xa1\x01\xd8\x1c\x80\x40\x40", id="tag-28-shareable"),
    ],
)
def test_cbor_garbage_is_refused(cose: bytes) -> None:
    assert format_reason(gk1(cose)) == "cbor"


def test_deeply_nested_cbor_is_refused() -> None:
    assert format_reason(gk1(b"\x81" * 17 + b"\x00")) == "cbor"
    # Far beyond the recursion limit: refused by the iterative scan, no RecursionError.
    assert format_reason(gk1(b"\x81" * 5000 + b"\x00"), max_text=20_000) == "cbor"
    assert format_reason(gk1(b"\xd8\x3d" * 3000 + b"\x00"), max_text=20_000) == "cbor"


def test_nesting_limit_is_configurable(es256: SigningKey) -> None:
    payload = cbor2.dumps({1: [[[[[[1]]]]]]})
    text = gk1(sign1(es256, payload=payload))
    assert decode(text).claims[1] == [[[[[[1]]]]]]
    assert format_reason(text, max_depth=5) == "cwt"
    with pytest.raises(ConfigurationError):
        decode(text, max_depth=10_000)


# --- COSE structure ---------------------------------------------------------------------


@pytest.mark.parametrize("tag", [17, 98, 96])
def test_wrong_cose_tag_is_refused(es256: SigningKey, tag: int) -> None:
    assert format_reason(gk1(sign1(es256, tag=tag))) == "cose"


def test_cwt_tag_around_an_untagged_array_is_refused(es256: SigningKey) -> None:
    untagged = cbor2.loads(sign1(es256, tag=None))
    assert format_reason(gk1(cbor2.dumps(cbor2.CBORTag(61, untagged)))) == "cose"


@pytest.mark.parametrize("count", [3, 5])
def test_wrong_element_count_is_refused(es256: SigningKey, count: int) -> None:
    items = list(cbor2.loads(sign1(es256)).value)
    items = items[:count] if count < 4 else [*items, b""]
    assert format_reason(gk1(cbor2.dumps(cbor2.CBORTag(18, items)))) == "cose"


def test_cose_that_is_not_an_array_is_refused() -> None:
    assert format_reason(gk1(cbor2.dumps(cbor2.CBORTag(18, {1: 2})))) == "cose"
    assert format_reason(gk1(cbor2.dumps(7))) == "cose"


def test_protected_header_not_a_map_is_refused(es256: SigningKey) -> None:
    assert format_reason(gk1(sign1(es256, protected=cbor2.dumps([1, -7])))) == "cose"


def test_protected_header_not_a_bstr_is_refused(es256: SigningKey) -> None:
    items = list(cbor2.loads(sign1(es256)).value)
    items[0] = {1: -7}
    assert format_reason(gk1(cbor2.dumps(cbor2.CBORTag(18, items)))) == "cose"


def test_malformed_protected_header_bytes_are_refused(es256: SigningKey) -> None:
    assert format_reason(gk1(sign1(es256, protected=b"\xa1\x01"))) == "cose"


def test_repeated_protected_header_key_is_refused(es256: SigningKey) -> None:
    # {1: -8, 1: -7}: two parsers could disagree about the algorithm.
    assert format_reason(gk1(sign1(es256, protected=b"\xa2\x01\x27\x01\x26"))) == "cose"


def test_unprotected_header_not_a_map_is_refused(es256: SigningKey) -> None:
    assert format_reason(gk1(sign1(es256, unprotected=[]))) == "cose"


def test_detached_payload_is_refused(es256: SigningKey) -> None:
    items = list(cbor2.loads(sign1(es256)).value)
    items[2] = None
    assert format_reason(gk1(cbor2.dumps(cbor2.CBORTag(18, items)))) == "cose"


def test_signature_not_a_bstr_is_refused(es256: SigningKey) -> None:
    items = list(cbor2.loads(sign1(es256)).value)
    items[3] = "signature"
    assert format_reason(gk1(cbor2.dumps(cbor2.CBORTag(18, items)))) == "cose"


def test_kid_not_a_bstr_is_refused(es256: SigningKey) -> None:
    assert format_reason(gk1(sign1(es256, protected={1: -7, 4: "kid"}))) == "cose"


def test_alg_of_the_wrong_type_is_refused(es256: SigningKey) -> None:
    assert format_reason(gk1(sign1(es256, protected={1: [-7]}))) == "cose"


# --- CWT claims ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(cbor2.dumps([1, 2]), id="array"),
        pytest.param(cbor2.dumps("claims"), id="text"),
        pytest.param(b"", id="empty"),
        pytest.param(b"\xa1\x01", id="truncated-map"),
        pytest.param(b"\xa2\x01\x61\x61\x01\x61\x62", id="repeated-claim"),
        pytest.param(b"\xa2\x01\x00\xf9\x3c\x00\x00", id="int-and-float-one-collide"),
        pytest.param(cbor2.dumps({1.5: 1}), id="float-claim-key"),
        pytest.param(cbor2.dumps({b"k": 1}), id="bytes-claim-key"),
        pytest.param(b"\xa1\x01\xd9\x01\x02\x80", id="tag-258-in-claims"),
    ],
)
def test_payload_that_is_not_a_claims_map_is_refused(es256: SigningKey, payload: bytes) -> None:
    assert format_reason(gk1(sign1(es256, payload=payload))) == "cwt"


# --- a changed byte in each layer -------------------------------------------------------


def test_changed_base45_character_is_caught(es256: SigningKey) -> None:
    text = encode(CLAIMS, es256, kid=KID)
    middle = len(text) // 2
    changed = text[:middle] + ("0" if text[middle] != "0" else "1") + text[middle + 1 :]
    assert format_reason(changed) in {"base45", "zlib"}


def test_changed_compressed_byte_is_caught(es256: SigningKey) -> None:
    compressed = bytearray(zlib.compress(sign1(es256), 9))
    compressed[len(compressed) // 2] ^= 0x10
    assert format_reason("GK1:" + b45encode(bytes(compressed))) == "zlib"


def test_changed_cose_header_byte_is_caught(es256: SigningKey) -> None:
    cose = bytearray(sign1(es256))
    at = cose.index(KID)
    cose[at] ^= 0x01  # the kid inside the protected header
    message = decode(gk1(bytes(cose)))
    with pytest.raises(CertificateSignatureInvalid):
        verify_signature(message, [es256.verifying_key])


def test_changed_payload_is_caught(es256: SigningKey) -> None:
    items = list(cbor2.loads(sign1(es256)).value)
    items[2] = cbor2.dumps({**CLAIMS, ISS: "XX"})
    message = decode(gk1(cbor2.dumps(cbor2.CBORTag(18, items))))
    assert message.claims[ISS] == "XX"
    with pytest.raises(CertificateSignatureInvalid):
        verify_signature(message, [es256.verifying_key])


@pytest.mark.parametrize("alg", ALGS)
def test_changed_signature_is_caught(keys: dict[str, SigningKey], alg: str) -> None:
    items = list(cbor2.loads(sign1(keys[alg])).value)
    items[3] = bytes([items[3][0] ^ 0x01]) + items[3][1:]
    message = decode(gk1(cbor2.dumps(cbor2.CBORTag(18, items))))
    with pytest.raises(CertificateSignatureInvalid):
        verify_signature(message, [keys[alg].verifying_key])


def test_es256_signature_of_the_wrong_length_is_refused(es256: SigningKey) -> None:
    items = list(cbor2.loads(sign1(es256)).value)
    items[3] = items[3][:63]
    message = decode(gk1(cbor2.dumps(cbor2.CBORTag(18, items))))
    with pytest.raises(CertificateSignatureInvalid):
        verify_signature(message, [es256.verifying_key])


# --- verify_signature -------------------------------------------------------------------


def test_alg_mismatch_is_refused(keys: dict[str, SigningKey]) -> None:
    message = decode(encode(CLAIMS, keys["ES256"], kid=KID))
    with pytest.raises(CertificateAlgorithmRejected):
        verify_signature(message, [keys["EdDSA"].verifying_key])


def test_key_of_another_alg_is_skipped(keys: dict[str, SigningKey]) -> None:
    message = decode(encode(CLAIMS, keys["ES256"], kid=KID))
    found = verify_signature(message, [keys["EdDSA"].verifying_key, keys["ES256"].verifying_key])
    assert found == keys["ES256"].verifying_key


@pytest.mark.parametrize("alg_id", [-35, -257, 0, "ES256"])
def test_unknown_alg_id_is_refused(es256: SigningKey, alg_id: Any) -> None:
    message = decode(gk1(sign1(es256, protected={1: alg_id, 4: KID})))
    assert message.alg is None
    with pytest.raises(CertificateAlgorithmRejected):
        verify_signature(message, [es256.verifying_key])


def test_missing_alg_is_refused(es256: SigningKey) -> None:
    message = decode(gk1(sign1(es256, protected={4: KID})))
    with pytest.raises(CertificateAlgorithmRejected):
        verify_signature(message, [es256.verifying_key])


def test_unprotected_alg_needs_the_unsafe_flag(es256: SigningKey) -> None:
    message = decode(gk1(sign1(es256, protected={4: KID}, unprotected={1: -7})))
    with pytest.raises(CertificateAlgorithmRejected):
        verify_signature(message, [es256.verifying_key])
    found = verify_signature(message, [es256.verifying_key], unsafe_unprotected_alg=True)
    assert found == es256.verifying_key


def test_unsafe_flag_never_overrides_a_protected_alg(keys: dict[str, SigningKey]) -> None:
    es256 = keys["ES256"]
    message = decode(gk1(sign1(es256, unprotected={1: -8})))
    found = verify_signature(message, [es256.verifying_key], unsafe_unprotected_alg=True)
    assert found == es256.verifying_key
    with pytest.raises(CertificateAlgorithmRejected):
        verify_signature(message, [keys["EdDSA"].verifying_key], unsafe_unprotected_alg=True)


def test_kid_collision_tries_every_candidate(es256: SigningKey) -> None:
    other = SigningKey.generate("ES256")
    shared = b"\x00" * 8
    message = decode(encode(CLAIMS, es256, kid=shared))
    assert verify_signature(message, [other.verifying_key, es256.verifying_key]) == (
        es256.verifying_key
    )
    with pytest.raises(CertificateSignatureInvalid):
        verify_signature(message, [other.verifying_key])


def test_empty_candidates_is_an_unknown_key(es256: SigningKey) -> None:
    message = decode(encode(CLAIMS, es256, kid=KID))
    with pytest.raises(CertificateKeyUnknown) as info:
        verify_signature(message, [])
    assert info.value.context["kid"] == KID.hex()


def test_every_failure_is_a_verification_error(es256: SigningKey) -> None:
    for error in (
        CertificateFormatError,
        CertificateTooLarge,
        CertificateAlgorithmRejected,
        CertificateKeyUnknown,
        CertificateSignatureInvalid,
    ):
        assert issubclass(error, VerificationError)
    assert isinstance(decode(encode(CLAIMS, es256, kid=KID)), CoseMessage)


# --- check_times ------------------------------------------------------------------------

T0 = datetime(2030, 1, 1, tzinfo=UTC)
TIMES = {IAT: int(T0.timestamp()), NBF: int(T0.timestamp()), EXP: int(T0.timestamp()) + 3600}


def test_times_within_the_window_pass_at_both_ends() -> None:
    check_times(TIMES, at=T0)
    check_times(TIMES, at=T0 + timedelta(hours=1))


def test_after_exp_is_expired() -> None:
    with pytest.raises(CertificateExpired):
        check_times(TIMES, at=T0 + timedelta(hours=1, seconds=1))
    check_times(TIMES, at=T0 + timedelta(hours=1, seconds=1), leeway=timedelta(seconds=1))


@pytest.mark.parametrize("claim", [IAT, NBF])
def test_before_iat_or_nbf_is_not_yet_valid(claim: int) -> None:
    claims = {EXP: TIMES[EXP], claim: TIMES[claim]}
    with pytest.raises(CertificateNotYetValid):
        check_times(claims, at=T0 - timedelta(seconds=1))


def test_float_numeric_dates_are_accepted() -> None:
    check_times({IAT: T0.timestamp() - 0.5, EXP: T0.timestamp() + 0.5}, at=T0)


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({}, id="missing-exp"),
        pytest.param({EXP: "2030-01-01"}, id="text-exp"),
        pytest.param({EXP: True}, id="bool-exp"),
        pytest.param({EXP: float("nan")}, id="nan-exp"),
        pytest.param({EXP: TIMES[EXP], IAT: float("inf")}, id="infinite-iat"),
    ],
)
def test_malformed_time_claims_are_format_errors(claims: dict[int, Any]) -> None:
    with pytest.raises(CertificateFormatError) as info:
        check_times(claims, at=T0)
    assert info.value.context["reason"] == "cwt"


def test_exp_can_be_optional() -> None:
    check_times({}, at=T0, require_exp=False)


def test_naive_time_is_refused() -> None:
    with pytest.raises(NaiveDatetimeError):
        check_times(TIMES, at=datetime(2030, 1, 1))


# --- configuration ----------------------------------------------------------------------


@pytest.mark.parametrize("limit", ["max_text", "max_cose", "max_depth"])
def test_limits_must_be_positive(limit: str) -> None:
    options: dict[str, Any] = {limit: 0}
    with pytest.raises(ConfigurationError):
        decode("GK1:", **options)


def test_module_reexports_match_all() -> None:
    assert set(codec.__all__) <= set(dir(codec))
