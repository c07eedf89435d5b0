"""``decode(..., canonical=True)``: one CBOR encoding per licence, limits enforced by cbor2.

Each test builds a COSE_Sign1 by hand, signed by a real key, so the only thing wrong with
it is the encoding the test names; the hardened default path must accept it (the
encoding is valid CBOR) and the canonical path must refuse it with the layer's reason.
"""

from __future__ import annotations

from typing import Any

import cbor2
import pytest

from govkit._encoding import b45encode
from govkit.certificates.codec import COSE_ALGORITHMS, EXP, ISS, _parse_canonical, decode, encode
from govkit.errors import CertificateFormatError
from govkit.keys import SigningKey

KID = b"\x01\x02\x03\x04\x05\x06\x07\x08"


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate("ES256")


def _sign1(key: SigningKey, protected: bytes, payload: bytes, *, tag: int = 18) -> str:
    signature = key.sign(cbor2.dumps(["Signature1", protected, b"", payload]))
    body = cbor2.dumps(cbor2.CBORTag(tag, [protected, {}, payload, signature]))
    return "GK1:" + b45encode(body)


def _protected(key: SigningKey) -> bytes:
    return cbor2.dumps({1: COSE_ALGORITHMS[key.alg], 4: KID}, canonical=True)


def _canonical_reason(text: str) -> str:
    with pytest.raises(CertificateFormatError) as info:
        decode(text, canonical=True)
    reason: str = info.value.context["reason"]
    return reason


def test_encode_output_is_canonical(key: SigningKey) -> None:
    text = encode({ISS: "CN", EXP: 1893456000, "z": [1, {"b": 2, "a": 1}]}, key, kid=KID)
    assert decode(text, canonical=True).claims[ISS] == "CN"


def test_unsorted_claim_keys_are_refused(key: SigningKey) -> None:
    # {4: ..., 1: ...} is valid CBOR but not the canonical (sorted) order
    payload = bytes.fromhex("a2") + cbor2.dumps(4) + cbor2.dumps(1) + cbor2.dumps(1) + b"\x62CN"
    text = _sign1(key, _protected(key), payload)
    assert decode(text).claims == {EXP: 1, ISS: "CN"}  # the hardened path reads it
    assert _canonical_reason(text) == "cwt"


def test_non_shortest_integer_is_refused(key: SigningKey) -> None:
    payload = bytes.fromhex("a1") + b"\x01" + bytes.fromhex("1800")  # 0 written in 2 bytes
    text = _sign1(key, _protected(key), payload)
    assert decode(text).claims == {ISS: 0}
    assert _canonical_reason(text) == "cwt"


def test_indefinite_length_is_refused(key: SigningKey) -> None:
    payload = bytes.fromhex("a1") + b"\x01" + bytes.fromhex("7f624342ff")  # "CB" in chunks
    text = _sign1(key, _protected(key), payload)
    assert decode(text).claims == {ISS: "CB"}
    assert _canonical_reason(text) == "cwt"


def test_repeated_claim_key_is_refused(key: SigningKey) -> None:
    payload = bytes.fromhex("a2") + b"\x01\x01" + b"\x01\x02"
    assert _canonical_reason(_sign1(key, _protected(key), payload)) == "cwt"


def test_unsorted_protected_header_is_refused(key: SigningKey) -> None:
    protected = bytes.fromhex("a2") + b"\x04" + cbor2.dumps(KID) + b"\x01" + cbor2.dumps(-7)
    payload = cbor2.dumps({ISS: "CN"}, canonical=True)
    text = _sign1(key, protected, payload)
    assert decode(text).kid == KID
    assert _canonical_reason(text) == "cose"


def test_trailing_bytes_after_the_message_are_refused(key: SigningKey) -> None:
    payload = cbor2.dumps({ISS: "CN"}, canonical=True)
    protected = _protected(key)
    signature = key.sign(cbor2.dumps(["Signature1", protected, b"", payload]))
    body = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature]))
    assert decode("GK1:" + b45encode(body), canonical=True).claims[ISS] == "CN"
    assert _canonical_reason("GK1:" + b45encode(body + b"\x00")) == "cbor"


@pytest.mark.parametrize(
    "claim",
    [
        cbor2.CBORTag(1, 1700000000),  # an epoch date: a semantic tag cbor2 would decode
        cbor2.CBORTag(258, [1, 2]),  # a set
        cbor2.CBORTag(99999, 1),  # an unknown tag
    ],
    ids=["date", "set", "unknown"],
)
def test_tags_other_than_cose_are_refused(key: SigningKey, claim: Any) -> None:
    payload = cbor2.dumps({ISS: claim}, canonical=True)
    assert _canonical_reason(_sign1(key, _protected(key), payload)) == "cwt"


def test_every_tag_but_cose_is_refused_below_70000(key: SigningKey) -> None:
    """cbor2 gets either the refusing semantic decoder or the tag hook for each tag."""
    accepted = []
    for number in range(70000):
        data = cbor2.dumps(cbor2.CBORTag(number, 0))
        try:
            _parse_canonical(data, max_depth=16, reason="cbor")
        except CertificateFormatError:
            continue
        accepted.append(number)
    assert accepted == [18, 61]


def test_nesting_deeper_than_max_depth_is_refused(key: SigningKey) -> None:
    deep: Any = 1
    for _ in range(20):
        deep = [deep]
    payload = cbor2.dumps({ISS: deep}, canonical=True)
    text = _sign1(key, _protected(key), payload)
    assert _canonical_reason(text) == "cwt"
    assert decode(text, canonical=True, max_depth=32).claims[ISS] == deep


@pytest.mark.parametrize(
    "payload",
    [
        bytes.fromhex("9b") + (2**40).to_bytes(8, "big"),  # an array of 2**40 items
        bytes.fromhex("5b") + (2**40).to_bytes(8, "big"),  # a 1 TiB byte string
        bytes.fromhex("ba") + (2**31).to_bytes(4, "big") + b"\x00",  # a huge map
    ],
    ids=["array", "bytes", "map"],
)
def test_forged_huge_lengths_fail_without_allocating(key: SigningKey, payload: bytes) -> None:
    assert _canonical_reason(_sign1(key, _protected(key), payload)) == "cwt"


def test_cwt_tag_around_cose_sign1_is_read(key: SigningKey) -> None:
    payload = cbor2.dumps({ISS: "CN"}, canonical=True)
    protected = _protected(key)
    signature = key.sign(cbor2.dumps(["Signature1", protected, b"", payload]))
    inner = cbor2.CBORTag(18, [protected, {}, payload, signature])
    text = "GK1:" + b45encode(cbor2.dumps(cbor2.CBORTag(61, inner)))
    assert decode(text, canonical=True).claims[ISS] == "CN"
