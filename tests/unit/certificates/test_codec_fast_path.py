"""The canonical decoder's shortcuts for what ``encode`` writes agree with the full decoder.

``_fixed_sign1`` reads ``18([bstr, {}, bstr, bstr])`` and ``_fixed_protected`` reads
``{1: alg, 4: kid}`` without decoding and re-encoding; when they accept bytes, the full
canonical decoder (``_parse_canonical``) must accept the same bytes with the same value,
and ``_sig_structure`` must be cbor2's encoding. A shortcut that accepted a non-canonical
encoding (a long head, trailing bytes, another tag) would let a licence have two
encodings; these tests fail then.
"""

from __future__ import annotations

import cbor2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from govkit.certificates.codec import (
    COSE_ALGORITHMS,
    _fixed_protected,
    _fixed_sign1,
    _parse_canonical,
    _sig_structure,
)
from govkit.errors import CertificateFormatError

_SIZES = st.sampled_from([0, 1, 23, 24, 64, 255, 256, 300])


def _mutate(data: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    out = bytearray(data)
    for op, where, value in edits:
        if op == 0 and out:
            out[where % len(out)] = value
        elif op == 1:
            out.append(value)
        elif out:
            del out[where % len(out) :]
    return bytes(out)


_EDITS = st.lists(
    st.tuples(st.integers(0, 2), st.integers(0, 400), st.integers(0, 255)), max_size=3
)


@given(_SIZES, _SIZES, _SIZES, _EDITS)
def test_the_message_shortcut_accepts_only_what_the_full_decoder_accepts(
    protected_size: int, payload_size: int, signature_size: int, edits: list[tuple[int, int, int]]
) -> None:
    message = cbor2.dumps(
        cbor2.CBORTag(18, [b"p" * protected_size, {}, b"c" * payload_size, b"s" * signature_size])
    )
    data = _mutate(message, edits)
    fixed = _fixed_sign1(data)
    if fixed is None:
        return
    item = _parse_canonical(data, max_depth=16, reason="cbor")
    assert isinstance(item, cbor2.CBORTag)
    assert item.tag == 18
    protected, unprotected, payload, signature = item.value
    assert unprotected == {}
    assert fixed == (protected, payload, signature)


@pytest.mark.parametrize(
    "data",
    [
        bytes.fromhex("d2 84 58 01 61 a0 40 40".replace(" ", "")),  # a long head for 1 byte
        bytes.fromhex("d2 84 41 61 a0 40 40 00".replace(" ", "")),  # a trailing byte
        bytes.fromhex("d8 12 84 41 61 a0 40 40".replace(" ", "")),  # tag 18 in a long head
        bytes.fromhex("d2 84 41 61 a1 01 02 40 40".replace(" ", "")),  # unprotected not {}
    ],
)
def test_a_non_canonical_message_misses_the_shortcut(data: bytes) -> None:
    assert _fixed_sign1(data) is None


@given(
    st.sampled_from([*COSE_ALGORITHMS.values(), 1, -1, 24]),
    st.binary(max_size=40),
    _EDITS,
)
def test_the_header_shortcut_accepts_only_what_the_full_decoder_accepts(
    alg_id: int, kid: bytes, edits: list[tuple[int, int, int]]
) -> None:
    header = _mutate(cbor2.dumps({1: alg_id, 4: kid}, canonical=True), edits)
    fixed = _fixed_protected(header)
    if fixed is None:
        return
    assert fixed == _parse_canonical(header, max_depth=16, reason="cose")
    assert list(fixed) == [1, 4]


def test_a_header_with_a_long_kid_head_misses_the_shortcut_and_is_refused() -> None:
    header = b"\xa2\x01\x26\x04\x58\x08" + bytes(8)  # kid length in a 1-byte argument
    assert _fixed_protected(header) is None
    with pytest.raises(CertificateFormatError) as info:
        _parse_canonical(header, max_depth=16, reason="cose")
    assert info.value.context["reason"] == "cose"


@given(st.binary(max_size=300), st.binary(max_size=70000))
def test_sig_structure_is_the_cbor_encoding(protected: bytes, payload: bytes) -> None:
    assert _sig_structure(protected, payload) == cbor2.dumps(
        ["Signature1", protected, b"", payload]
    )
