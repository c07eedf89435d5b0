"""The canonical decoder's shortcuts for what ``encode`` writes agree with the full decoder.

``_fixed_sign1`` reads ``18([bstr, {}, bstr, bstr])`` and ``_fixed_protected`` reads
``{1: alg, 4: kid}`` without decoding and re-encoding; when they accept bytes, the full
canonical decoder (``_parse_canonical``) must accept the same bytes with the same value,
and ``_sig_structure`` must be cbor2's encoding. A shortcut that accepted a non-canonical
encoding (a long head, trailing bytes, another tag) would let a licence have two
encodings; these tests fail then.
"""

from __future__ import annotations

import copy
from typing import Any

import cbor2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from govkit._encoding import b45decode
from govkit.certificates import codec
from govkit.certificates.codec import (
    COSE_ALGORITHMS,
    _CodecMemo,
    _fixed_protected,
    _fixed_sign1,
    _parse_canonical,
    _parse_canonical_full,
    _sig_structure,
)
from govkit.errors import CertificateFormatError
from govkit.keys import SigningKey

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


# --- the canonical check's shortcut (key orders known, cbor2's plain encoding) ---------

_KEYS = st.one_of(
    st.integers(-(2**64), 2**64 - 1),
    st.text(max_size=6),
    st.binary(max_size=3),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False, width=16),
)
_LEAVES = st.one_of(
    st.integers(-(2**64), 2**64 - 1),
    st.text(max_size=8),
    st.binary(max_size=8),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False),
)
_ITEMS = st.recursive(
    _LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(_KEYS, inner, max_size=5),
        st.builds(cbor2.CBORTag, st.sampled_from([18, 61, 1, 258]), inner),
    ),
    max_leaves=12,
)


def _outcome(data: bytes, parse: Any) -> tuple[str, Any]:
    try:
        return "value", parse(data, max_depth=16, reason="cwt")
    except CertificateFormatError as exc:
        return "error", (exc.code, exc.message, dict(exc.context))


#: One memo across every example of the test below: what earlier inputs left in it
#: must not change a later input's outcome.
_SHARED_MEMO = _CodecMemo()


@given(_ITEMS, st.booleans(), _EDITS)
def test_the_canonical_shortcut_decides_exactly_as_the_full_check(
    item: Any, canonical: bool, edits: list[tuple[int, int, int]]
) -> None:
    try:
        data = _mutate(cbor2.dumps(item, canonical=canonical), edits)
    except Exception:  # an item cbor2 cannot encode (map keys it cannot sort)
        return
    full = _outcome(data, _parse_canonical_full)
    assert _outcome(data, _parse_canonical) == full  # no memo
    assert _outcome(data, _SHARED_MEMO.parse_canonical) == full  # a memo used before
    assert _outcome(data, _SHARED_MEMO.parse_canonical) == full  # and this input's own


def test_a_map_key_out_of_canonical_order_is_refused_as_not_canonical() -> None:
    data = bytes.fromhex("a2 61 62 01 61 61 02".replace(" ", ""))  # {"b": 1, "a": 2}
    with pytest.raises(CertificateFormatError) as info:
        _parse_canonical(data, max_depth=16, reason="cwt")
    assert info.value.message == "the CBOR data is not in canonical form"
    assert info.value.context["reason"] == "cwt"


def test_a_bool_key_does_not_pass_for_the_integer_key_of_a_known_order() -> None:
    # {1: 0, 2: 0} is canonical and its key order is remembered; true == 1 in Python,
    # but {true: 0, 2: 0} is not canonical (0x02 sorts before 0xF5) and stays refused
    memo = _CodecMemo()
    known = bytes.fromhex("a2 01 00 02 00".replace(" ", ""))
    assert memo.parse_canonical(known, max_depth=16, reason="cwt") == {1: 0, 2: 0}
    assert memo._key_orders[1, 2] == (int, int)
    confused = bytes.fromhex("a2 f5 00 02 00".replace(" ", ""))
    with pytest.raises(CertificateFormatError) as info:
        memo.parse_canonical(confused, max_depth=16, reason="cwt")
    assert info.value.message == "the CBOR data is not in canonical form"
    assert memo._key_orders == {(1, 2): (int, int)}  # True == 1: the same key, not types


def test_an_eight_byte_float_that_fits_in_two_is_refused_as_not_canonical() -> None:
    data = cbor2.dumps({1: 1.5})  # plain cbor2: 0xFB and 8 bytes; canonical: 0xF9 3E00
    assert data != cbor2.dumps({1: 1.5}, canonical=True)
    with pytest.raises(CertificateFormatError) as info:
        _parse_canonical(data, max_depth=16, reason="cwt")
    assert info.value.message == "the CBOR data is not in canonical form"
    assert _parse_canonical(cbor2.dumps({1: 1.5}, canonical=True), max_depth=16, reason="cwt") == {
        1: 1.5
    }


def test_the_key_order_memory_stays_bounded() -> None:
    memo = _CodecMemo()
    for n in range(codec._KEY_ORDERS_MAX * 2):
        data = cbor2.dumps({f"k{n}": 0}, canonical=True)
        assert memo.parse_canonical(data, max_depth=16, reason="cwt") == {f"k{n}": 0}
        assert len(memo._key_orders) <= codec._KEY_ORDERS_MAX
    assert len(memo._key_orders) == 1 + (2 * codec._KEY_ORDERS_MAX - 1) % codec._KEY_ORDERS_MAX
    many = {f"{n:02}": 0 for n in range(codec._KEY_ORDER_KEYS_MAX + 1)}  # too many keys to keep
    memo = _CodecMemo()
    data = cbor2.dumps(many, canonical=True)
    assert memo.parse_canonical(data, max_depth=16, reason="cwt") == many
    assert memo._key_orders == {}


@given(
    st.sampled_from([*COSE_ALGORITHMS.values(), 1, -1, 24]),
    st.binary(max_size=70),
    _EDITS,
)
def test_the_remembered_header_is_the_header_shortcut(
    alg_id: int, kid: bytes, edits: list[tuple[int, int, int]]
) -> None:
    header = _mutate(cbor2.dumps({1: alg_id, 4: kid}, canonical=True), edits)
    memo = _CodecMemo()
    first, again = memo.known_protected(header), memo.known_protected(header)
    assert first == again == _fixed_protected(header)
    assert first is None or first is not again  # a new dict each time: none is shared
    assert len(memo._headers) <= codec._PROTECTED_HEADERS_MAX


def test_the_semantic_decoders_handed_to_cbor2_are_the_refusing_ones() -> None:
    assert dict(codec._NO_SEMANTIC_TAGS) == codec._SEMANTIC_DECODERS
    assert set(codec._SEMANTIC_DECODERS.values()) == {codec._refuse_semantic_tag}
    with pytest.raises(CertificateFormatError) as info:  # tag 1: a date, refused
        _parse_canonical(cbor2.dumps({1: cbor2.CBORTag(1, 0)}), max_depth=16, reason="cwt")
    assert info.value.context["reason"] == "cwt"
    assert dict(codec._NO_SEMANTIC_TAGS) == codec._SEMANTIC_DECODERS  # cbor2 left it be


def _es256_header(kid_size: int) -> bytes:
    return cbor2.dumps({1: -7, 4: b"k" * kid_size}, canonical=True)


def test_a_header_is_remembered_by_its_bytes_and_read_from_memory() -> None:
    memo = _CodecMemo()
    header = _es256_header(8)
    assert memo.known_protected(header) == {1: -7, 4: b"k" * 8}
    assert memo._headers == {header: (-7, b"k" * 8)}
    memo._headers[header] = (-8, b"remembered")  # what memory says is used
    assert memo.known_protected(header) == {1: -8, 4: b"remembered"}
    assert _CodecMemo().known_protected(header) == {1: -7, 4: b"k" * 8}  # another memo's own


def test_a_decoded_message_reads_its_header_through_the_memo_given() -> None:
    key = SigningKey.generate("ES256")
    text = codec.encode({codec.ISS: "CN"}, key, kid=b"k" * 8)
    memo = _CodecMemo()
    first = codec.decode(text, canonical=True, _memo=memo)
    assert list(memo._headers.values()) == [(-7, b"k" * 8)]
    assert first.protected == {1: -7, 4: b"k" * 8}
    header = next(iter(memo._headers))
    memo._headers[header] = (-8, b"remembered")  # what memory says is used
    assert codec.decode(text, canonical=True, _memo=memo).kid == b"remembered"
    assert codec.decode(text, canonical=True).kid == b"k" * 8  # no memo: nothing remembered
    assert first.kid == b"k" * 8  # an earlier message keeps its own header


def test_only_headers_of_at_most_64_bytes_are_remembered() -> None:
    memo = _CodecMemo()
    largest, larger = _es256_header(58), _es256_header(59)
    assert (len(largest), len(larger)) == (codec._PROTECTED_HEADER_BYTES, 65)
    assert memo.known_protected(largest) == {1: -7, 4: b"k" * 58}
    assert memo.known_protected(larger) == {1: -7, 4: b"k" * 59}
    assert set(memo._headers) == {largest}


def test_the_header_memory_never_holds_more_than_its_maximum() -> None:
    memo = _CodecMemo()
    for n in range(codec._PROTECTED_HEADERS_MAX + 1):
        header = cbor2.dumps({1: -7, 4: n.to_bytes(2)}, canonical=True)
        assert memo.known_protected(header) == {1: -7, 4: n.to_bytes(2)}
        assert len(memo._headers) <= codec._PROTECTED_HEADERS_MAX
    assert len(memo._headers) == 1  # emptied when full, then this one kept


@pytest.mark.parametrize(
    ("keys", "kept"),
    [
        ([f"{n:02}" for n in range(32)], True),  # 32 keys
        ([f"{n:02}" for n in range(33)], False),
        (["a" * 256, "b" * 256], True),  # 512 characters of keys
        (["a" * 256, "b" * 257], False),
        ([1, "a" * 512], True),  # integers do not count
    ],
)
def test_only_small_key_orders_are_remembered(keys: list[int | str], kept: bool) -> None:
    memo = _CodecMemo()
    mapping = dict.fromkeys(keys, 0)
    data = cbor2.dumps(mapping, canonical=True)
    assert memo.parse_canonical(data, max_depth=16, reason="cwt") == mapping
    remembered = memo._key_orders.get(tuple(mapping))
    assert remembered == (tuple(map(type, mapping)) if kept else None)


def test_canonical_claims_take_the_shortcut(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_full_check(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the full check ran")

    claims = {4: 1938095999, -65537: {"f": ["张三丰", None], "i": "x", "s": 0}}
    data = cbor2.dumps(claims, canonical=True)
    monkeypatch.setattr(codec, "_parse_canonical_full", no_full_check)
    assert _parse_canonical(data, max_depth=16, reason="cwt") == claims
    memo = _CodecMemo()
    assert memo.parse_canonical(data, max_depth=16, reason="cwt") == claims
    assert memo.parse_canonical(data, max_depth=16, reason="cwt") == claims  # orders known


def test_a_remembered_key_order_is_read_from_memory_of_that_memo_only() -> None:
    memo = _CodecMemo()
    # memory that (wrongly) says {"b", "a"} is in order shows it is consulted; the
    # bytes are otherwise canonical, so the shortcut takes them
    memo._key_orders["b", "a"] = (str, str)
    data = bytes.fromhex("a2 61 62 01 61 61 02".replace(" ", ""))
    assert memo.parse_canonical(data, max_depth=16, reason="cwt") == {"b": 1, "a": 2}
    for other in (_parse_canonical, _CodecMemo().parse_canonical):  # no memo, another one
        with pytest.raises(CertificateFormatError) as info:
            other(data, max_depth=16, reason="cwt")
        assert info.value.message == "the CBOR data is not in canonical form"


def test_only_orders_of_integer_and_text_keys_are_remembered() -> None:
    memo = _CodecMemo()
    for mapping in ({b"a": 0, b"b": 0}, {False: 0, True: 0}, {None: 0}):
        data = cbor2.dumps(mapping, canonical=True)
        assert memo.parse_canonical(data, max_depth=16, reason="cwt") == mapping
    assert memo._key_orders == {}


# --- no module-level memory (house rule 5) ---------------------------------------------


def _module_containers() -> dict[str, object]:
    """Every module-level dict, list, set or bytearray of codec, copied."""
    return {
        name: copy.deepcopy(value)
        for name, value in vars(codec).items()
        if isinstance(value, (dict, list, set, bytearray))
        and not name.startswith("__")
        and "mutmut" not in name  # `make mutate`'s own tables of mutants
    }


def test_the_codec_module_keeps_no_memo() -> None:
    assert not hasattr(codec, "_PROTECTED_HEADERS")
    assert not hasattr(codec, "_CANONICAL_KEY_ORDERS")
    # the only module-level container is the constant table handed to cbor2
    assert set(_module_containers()) == {"_SEMANTIC_DECODERS"}
    before = _module_containers()
    key = SigningKey.generate("ES256")
    text = codec.encode({codec.ISS: "CN", -65537: {"a": 1, "b": [2]}}, key, kid=b"k" * 8)
    for _ in range(2):  # decoding without a memo, twice, changes nothing at module level
        message = codec.decode(text, canonical=True)
        assert codec.decode_cose(_cose_of(text), canonical=True).claims == message.claims
        _parse_canonical(cbor2.dumps({"x": {1: 2}}, canonical=True), max_depth=16, reason="cwt")
    assert _module_containers() == before


def _cose_of(text: str) -> bytes:
    return codec.decompress(b45decode(text.removeprefix("GK1:")))


_SIGNER = SigningKey.generate("ES256")
_CLAIMS: tuple[tuple[dict[int | str, Any], bytes], ...] = (
    ({codec.ISS: "CN", codec.EXP: 1893456000}, b"k" * 8),
    ({codec.ISS: "CN", -65537: {"i": "x", "v": [1, True]}}, b"\x01" * 20),
)
_MESSAGES = [_cose_of(codec.encode(claims, _SIGNER, kid=kid)) for claims, kid in _CLAIMS]


def _cose_outcome(data: bytes, memo: _CodecMemo | None) -> tuple[str, Any]:
    try:
        message = codec._parse_cose(
            data,
            prefix="",
            compressed=False,
            max_cose=65536,
            max_depth=16,
            parse=_parse_canonical,
            memo=memo,
        )
    except CertificateFormatError as exc:
        return "error", (exc.code, exc.message, dict(exc.context))
    fields = ("protected", "unprotected", "payload", "signature", "claims", "kid", "alg")
    return "value", tuple(getattr(message, name) for name in fields)


@given(st.sampled_from(_MESSAGES), _EDITS)
def test_a_message_decodes_the_same_with_a_memo_used_before_and_without_one(
    message: bytes, edits: list[tuple[int, int, int]]
) -> None:
    data = _mutate(message, edits)
    alone = _cose_outcome(data, None)
    assert _cose_outcome(data, _SHARED_MEMO) == alone
    assert _cose_outcome(data, _SHARED_MEMO) == alone  # with this input's own entries


def test_a_repeated_map_key_is_malformed() -> None:
    with pytest.raises(CertificateFormatError) as info:
        _parse_canonical(
            bytes.fromhex("a2 01 00 01 00".replace(" ", "")), max_depth=16, reason="cwt"
        )
    assert info.value.message == "the CBOR data is malformed"
    assert info.value.context["reason"] == "cwt"
