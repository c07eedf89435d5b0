"""Faults of the compact codec that the broader codec tests did not pin down (issue #18).

Written against the mutants of ``govkit/certificates/codec.py`` that the other codec
tests let through: CBOR byte-string heads at every size boundary, the canonical
shortcuts' exact contract, the limits (including a zip bomb that must not be inflated
past the limit), the wording and context of each refusal, indefinite-length items
and map keys that are themselves maps, the time checks at their leeway edges, and the
signature check's refusals.
"""

from __future__ import annotations

import tracemalloc
import zlib
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import cbor2
import pytest

from govkit._encoding import b45encode
from govkit.certificates import codec
from govkit.certificates.codec import (
    COSE_ALGORITHMS,
    EXP,
    IAT,
    NBF,
    _bstr_head,
    _fixed_protected,
    _fixed_sign1,
    _read_bstr,
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
)
from govkit.keys import SigningKey

KEY = SigningKey.generate("ES256")
KID = cose_kid(KEY.verifying_key)
T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
NOW = int(T0.timestamp())


def cose(protected: Any, unprotected: Any, payload: Any, signature: Any, tag: int = 18) -> bytes:
    return cbor2.dumps(cbor2.CBORTag(tag, [protected, unprotected, payload, signature]))


def format_error(call: Any) -> tuple[str, dict[str, Any]]:
    with pytest.raises(CertificateFormatError) as caught:
        call()
    return caught.value.message, dict(caught.value.context)


def signed_cose(claims: dict[Any, Any], protected: dict[Any, Any] | None = None) -> bytes:
    """A COSE_Sign1 of ``claims`` under ``protected`` (default ``{1: -7, 4: KID}``)."""
    header = cbor2.dumps(protected if protected is not None else {1: -7, 4: KID}, canonical=True)
    payload = cbor2.dumps(claims, canonical=True)
    return cose(header, {}, payload, KEY.sign(codec._sig_structure(header, payload)))


# --- byte string heads ----------------------------------------------------------------------


@pytest.mark.parametrize("length", [0, 1, 2, 23, 24, 255, 256, 65535, 65536, 70000])
def test_the_byte_string_head_is_cbors_shortest(length: int) -> None:
    assert _bstr_head(length) + bytes(length) == cbor2.dumps(bytes(length))


@pytest.mark.parametrize(
    ("length", "head"),
    [
        (2**32 - 1, b"\x5a\xff\xff\xff\xff"),
        (2**32, b"\x5b\x00\x00\x00\x01\x00\x00\x00\x00"),
        (2**40 + 7, b"\x5b\x00\x00\x01\x00\x00\x00\x00\x07"),
    ],
)
def test_the_byte_string_head_of_a_huge_length(length: int, head: bytes) -> None:
    assert _bstr_head(length) == head


@pytest.mark.parametrize(
    ("data", "pos", "expected"),
    [
        (b"\x40", 0, (b"", 1)),
        (b"\x41x", 0, (b"x", 2)),
        (b"zz\x43abc", 2, (b"abc", 6)),
        (b"\x57" + b"y" * 23 + b"tail", 0, (b"y" * 23, 24)),
        (b"\x58\x18" + b"y" * 24, 0, (b"y" * 24, 26)),
        (b"q\x58\xff" + b"y" * 255, 1, (b"y" * 255, 258)),
        (b"\x59\x01\x00" + b"y" * 256, 0, (b"y" * 256, 259)),
        (b"\x5a\x00\x01\x00\x00" + b"y" * 65536, 0, (b"y" * 65536, 65541)),
    ],
    ids=["empty", "one", "at-2", "23", "24", "255", "256", "65536"],
)
def test_a_shortest_byte_string_is_read(data: bytes, pos: int, expected: tuple[bytes, int]) -> None:
    assert _read_bstr(data, pos) == expected


@pytest.mark.parametrize(
    ("data", "pos"),
    [
        (b"", 0),
        (b"\x41x", 2),  # at the end
        (b"\x61x", 0),  # a text string
        (b"\x21", 0),  # a negative integer
        (b"\x58\x17" + b"y" * 23, 0),  # 23 needs no extra byte
        (b"\x59\x00\xff" + b"y" * 255, 0),  # 255 needs one, not two
        (b"\x5a\x00\x00\xff\xff" + b"y" * 65535, 0),  # 65535 needs two, not four
        (b"\x5b" + (24).to_bytes(8) + b"y" * 24, 0),  # eight-byte heads are never written
        (b"\x5f\x41x\xff", 0),  # indefinite length
        (b"\x42x", 0),  # shorter than its head says
        (b"\x59\x01", 0),  # the head itself is cut short
        (b"\x5a\x00\x01\x00", 0),
    ],
)
def test_anything_else_is_not_a_shortest_byte_string(data: bytes, pos: int) -> None:
    assert _read_bstr(data, pos) is None


# --- the canonical shortcuts ------------------------------------------------------------------


@pytest.mark.parametrize("sizes", [(0, 0, 0), (13, 23, 64), (24, 255, 256), (1, 300, 64)])
def test_the_message_shortcut_reads_what_encode_writes(sizes: tuple[int, int, int]) -> None:
    protected, payload, signature = (bytes([n % 251]) * n for n in sizes)
    data = cose(protected, {}, payload, signature)
    assert _fixed_sign1(data) == (protected, payload, signature)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        cose(b"p", {}, b"c", b"s", tag=61),
        cbor2.dumps([b"p", {}, b"c", b"s"]),
        cose(b"p", {4: b"k"}, b"c", b"s"),  # a non-empty unprotected header
        cose(b"p", {}, b"c", b"s") + b"\x00",  # trailing byte
        cose(b"p", {}, b"c", b"s")[:-1],  # cut short
        cbor2.dumps(cbor2.CBORTag(18, [b"p", {}, b"c"])),
        b"\xd2\x84\x58\x01p\xa0\x41c\x41s",  # a long head
        b"\xd2\x84\x41p\xa0\x58\x01c\x41s",
        b"\xd2\x84\x41p\xa0\x41c\x58\x01s",
        b"\xd2\x84\x41p\xa0\x61c\x41s",  # text where a byte string belongs
        b"\xd2\x84\x41p\xa0\x41c",
    ],
)
def test_the_message_shortcut_declines_anything_else(data: bytes) -> None:
    assert _fixed_sign1(data) is None


@pytest.mark.parametrize("alg", sorted(COSE_ALGORITHMS))
@pytest.mark.parametrize("kid", [b"", KID, b"k" * 24])
def test_the_header_shortcut_reads_what_encode_writes(alg: str, kid: bytes) -> None:
    alg_id = COSE_ALGORITHMS[alg]
    header = cbor2.dumps({1: alg_id, 4: kid}, canonical=True)
    assert _fixed_protected(header) == {1: alg_id, 4: kid}


@pytest.mark.parametrize(
    "header",
    [
        b"",
        cbor2.dumps({1: -7, 3: "application/cwt", 4: KID}, canonical=True),
        cbor2.dumps({1: -7, 4: KID}, canonical=True) + b"\x00",
        cbor2.dumps({1: -7, 4: KID}, canonical=True)[:-1],
        cbor2.dumps({1: -35, 4: KID}, canonical=True),  # an algorithm govkit does not know
        cbor2.dumps({1: -7, 5: KID}, canonical=True),
        cbor2.dumps({1: -7, 4: "text"}, canonical=True),
        cbor2.dumps({4: KID, 1: -7}),  # unsorted
        b"\xa2\x01\x26\x04\x58\x08" + KID,  # a long kid head
        cbor2.dumps({1: -7}, canonical=True),
    ],
)
def test_the_header_shortcut_declines_anything_else(header: bytes) -> None:
    assert _fixed_protected(header) is None


# --- limits -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: decode("GK1:", max_text=0), "max_text must be a positive integer"),
        (lambda: decode("GK1:", max_text=True), "max_text must be a positive integer"),
        (lambda: decode("GK1:", max_cose=0), "max_cose must be a positive integer"),
        (lambda: decode("GK1:", max_depth=0), "max_depth must be a positive integer"),
        (lambda: decode("GK1:", max_depth=129), "max_depth must be at most 128"),
        (lambda: decode_cose(b"", max_cose=-1), "max_cose must be a positive integer"),
        (lambda: decode_cose(b"", max_depth=False), "max_depth must be a positive integer"),
        (lambda: decode_cose(b"", max_depth=129), "max_depth must be at most 128"),
        (lambda: decompress(b"", max_size=0), "max_size must be a positive integer"),
        (lambda: decompress(b"", max_size=1.5), "max_size must be a positive integer"),
        (lambda: cose_kid(KEY), "cose_kid needs a VerifyingKey"),  # type: ignore[arg-type]
    ],
)
def test_a_limit_that_cannot_work_is_named(call: Any, message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        call()
    assert caught.value.message == message


def test_the_smallest_and_largest_limits_are_accepted() -> None:
    data = signed_cose({EXP: NOW})
    assert decode_cose(data, max_depth=128).claims[EXP] == NOW
    assert decode_cose(data, max_depth=2).claims[EXP] == NOW
    assert decompress(zlib.compress(b"x"), max_size=1) == b"x"
    with pytest.raises(CertificateTooLarge):
        decode_cose(data, max_cose=1)


def test_a_cose_message_is_at_most_64_kib_by_default() -> None:
    header = cbor2.dumps({1: -7, 4: KID}, canonical=True)
    fits = cose(header, {}, cbor2.dumps({1: "x" * (65536 - 200)}), b"s" * 64)
    pad = 65536 - len(fits)
    exact = cose(header, {}, cbor2.dumps({1: "x" * (65536 - 200 + pad)}), b"s" * 64)
    assert len(exact) == 65536
    assert decode_cose(exact).claims[1] == "x" * (65536 - 200 + pad)
    over = cose(header, {}, cbor2.dumps({1: "x" * (65536 - 200 + pad + 1)}), b"s" * 64)
    with pytest.raises(CertificateTooLarge) as caught:
        decode_cose(over)
    assert dict(caught.value.context) == {"limit": "cose", "size": 65537}


def nested(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth - 1):  # the claims map is the first level
        value = [value]
    return {1: value}


def test_claims_are_at_most_16_levels_deep_by_default() -> None:
    assert decode_cose(signed_cose(nested(16))).claims[1]
    message, context = format_error(lambda: decode_cose(signed_cose(nested(17))))
    assert (message, context) == (
        "the CBOR data is nested too deeply",
        {"reason": "cwt", "max_depth": 16},
    )


def test_decode_cose_refuses_what_is_not_bytes() -> None:
    assert format_error(lambda: decode_cose("GK1:")) == (  # type: ignore[arg-type]
        "a COSE message must be bytes",
        {"reason": "cbor"},
    )


def test_decode_cose_canonical_refuses_a_long_head() -> None:
    header = cbor2.dumps({1: -7, 4: KID}, canonical=True)
    payload = b"\xa1\x04\x1a" + NOW.to_bytes(4)  # {4: NOW}, shortest
    long_payload = b"\xa1\x04\x1b" + NOW.to_bytes(8)  # the same map with an 8-byte integer
    good = cose(header, {}, payload, b"s" * 64)
    assert decode_cose(good, canonical=True).claims[EXP] == NOW
    bad = cose(header, {}, long_payload, b"s" * 64)
    assert decode_cose(bad).claims[EXP] == NOW  # not canonical, but well-formed
    assert format_error(lambda: decode_cose(bad, canonical=True)) == (
        "the CBOR data is not in canonical form",
        {"reason": "cwt"},
    )


# --- zlib -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not zlib at all", "the payload is not a valid zlib stream"),
        (zlib.compress(b"hello")[:-3], "the zlib stream is truncated"),
        (zlib.compress(b"hello") + b"\x00", "bytes follow the end of the zlib stream"),
        ("x\x9c", "compressed data must be bytes"),
    ],
)
def test_a_bad_zlib_stream_names_the_fault(data: Any, message: str) -> None:
    assert format_error(lambda: decompress(data)) == (message, {"reason": "zlib"})


def test_the_inflated_size_limit_is_inclusive() -> None:
    assert decompress(zlib.compress(b"x" * 100), max_size=100) == b"x" * 100
    with pytest.raises(CertificateTooLarge) as caught:
        decompress(zlib.compress(b"x" * 101), max_size=100)
    assert caught.value.message == "the payload inflates beyond the size limit"
    assert dict(caught.value.context) == {"limit": "cose", "max": 100}
    assert decompress(zlib.compress(b"x" * 65536)) == b"x" * 65536
    with pytest.raises(CertificateTooLarge):
        decompress(zlib.compress(b"x" * 65537))


def test_a_zip_bomb_is_never_inflated_past_the_limit() -> None:
    bomb = zlib.compress(bytes(64 * 1024 * 1024), 9)  # 64 MiB of zeros in ~64 KiB
    tracemalloc.start()
    try:
        with pytest.raises(CertificateTooLarge):
            decompress(bomb, max_size=1024)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024


# --- COSE structure ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message", "context"),
    [
        (
            cose(b"", {}, b"\xa0", b"", tag=17),
            "not a COSE_Sign1 message",
            {"reason": "cose", "tag": 17},
        ),
        (
            cbor2.dumps(cbor2.CBORTag(61, [b"", {}, b"\xa0", b""])),
            "a CWT tag must wrap a tagged COSE_Sign1",
            {"reason": "cose"},
        ),
        (
            cbor2.dumps(cbor2.CBORTag(61, cbor2.CBORTag(61, [b"", {}, b"\xa0", b""]))),
            "a CWT tag must wrap a tagged COSE_Sign1",
            {"reason": "cose"},
        ),
        (
            cbor2.dumps(cbor2.CBORTag(18, [b"", {}, b"\xa0"])),
            "COSE_Sign1 must be an array of 4 elements",
            {"reason": "cose"},
        ),
        (
            cose("", {}, b"\xa0", b""),
            "the protected header must be a byte string",
            {"reason": "cose"},
        ),
        (cose(b"", [], b"\xa0", b""), "the unprotected header must be a map", {"reason": "cose"}),
        (
            cose(b"", {}, None, b""),
            "the payload must be a byte string (detached payloads are refused)",
            {"reason": "cose"},
        ),
        (cose(b"", {}, b"\xa0", ""), "the signature must be a byte string", {"reason": "cose"}),
    ],
    ids=[
        "tag-17",
        "cwt-untagged",
        "cwt-cwt",
        "three",
        "protected",
        "unprotected",
        "payload",
        "sig",
    ],
)
def test_a_message_that_is_not_a_cose_sign1_names_the_fault(
    data: bytes, message: str, context: dict[str, Any]
) -> None:
    assert format_error(lambda: decode_cose(data)) == (message, context)


def test_a_cwt_tag_around_a_cose_sign1_is_read() -> None:
    inner = cbor2.loads(signed_cose({EXP: NOW}))
    wrapped = cbor2.dumps(cbor2.CBORTag(61, inner))
    assert decode_cose(wrapped).claims[EXP] == NOW


def test_the_repr_shows_the_kid_in_hex_and_never_the_claims() -> None:
    message = decode_cose(signed_cose({EXP: NOW, 1: "secret"}))
    assert repr(message) == f"CoseMessage(prefix='', alg='ES256', kid='{KID.hex()}', claims=2 keys)"
    bare = decode_cose(signed_cose({EXP: NOW}, protected={1: -7}))
    assert repr(bare) == "CoseMessage(prefix='', alg='ES256', kid=None, claims=1 keys)"


def test_decoded_headers_are_read_only_copies() -> None:
    message = decode_cose(signed_cose({EXP: NOW}))
    with pytest.raises(TypeError):
        message.claims[EXP] = 0  # type: ignore[index]
    with pytest.raises(TypeError):
        message.protected[1] = 0  # type: ignore[index]
    assert type(message.claims).__name__ == "mappingproxy"


# --- indefinite lengths and map keys that are maps (the scanning decoder) -------------------


def claims_cose(payload: bytes) -> bytes:
    header = cbor2.dumps({1: -7, 4: KID}, canonical=True)
    return cose(header, {}, payload, b"s" * 64)


def test_an_indefinite_length_map_and_array_are_read() -> None:
    # {_ 4: NOW, 1: [_ "a", "b"]} and, nested below a definite array, another [_ 1]
    payload = (
        b"\xbf\x04\x1a" + NOW.to_bytes(4) + b"\x01\x9f\x61a\x61b\xff" + b"\x02\x81\x9f\x01\xff\xff"
    )
    claims = decode_cose(claims_cose(payload)).claims
    assert dict(claims) == {EXP: NOW, 1: ["a", "b"], 2: [[1]]}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"\xbf\x04\x01\x01\xff", "an indefinite-length map has an odd item count"),
        (b"\xbf\x04\xff", "an indefinite-length map has an odd item count"),
        (b"\xbf\x04\x01\x01\x02\x03\xff", "an indefinite-length map has an odd item count"),
        (b"\xbf\x04\x01\x04\x02\xff", "a CBOR map repeats a key"),
        (b"\xa1\x01\xff", "a CBOR break outside an indefinite-length item"),
        (b"\xa1\x01\x81\xff", "a CBOR break outside an indefinite-length item"),
    ],
)
def test_a_malformed_indefinite_item_names_the_fault(payload: bytes, message: str) -> None:
    assert format_error(lambda: decode_cose(claims_cose(payload))) == (message, {"reason": "cwt"})


def test_a_break_of_a_top_level_indefinite_item_closes_it() -> None:
    assert codec._parse_cbor(b"\x9f\x01\x02\xff", max_depth=4, reason="cbor") == [1, 2]


def test_map_keys_that_hold_maps_are_counted_as_entries_not_repeats() -> None:
    # {1: {{"a": {"b": 1}, "c": [{"d": 2}, [3]]}: 3}}: a key holding maps and arrays
    key = cbor2.dumps({"a": {"b": 1}, "c": [{"d": 2}, [3]]})
    claims = decode_cose(claims_cose(b"\xa1\x01\xa1" + key + b"\x03")).claims
    [(inner_key, value)] = claims[1].items()
    assert value == 3
    assert dict(inner_key)["a"] == {"b": 1}
    assert list(dict(inner_key)["c"][0].items()) == [("d", 2)]
    repeated = cbor2.dumps({"a": 1}) + b"\x01" + cbor2.dumps({"a": 1}) + b"\x02"
    assert format_error(lambda: decode_cose(claims_cose(b"\xa1\x01\xa2" + repeated))) == (
        "a CBOR map repeats a key",
        {"reason": "cwt"},
    )


# --- the signature ----------------------------------------------------------------------------


def test_no_candidate_key_names_the_kid_or_none() -> None:
    message = decode_cose(signed_cose({EXP: NOW}))
    with pytest.raises(CertificateKeyUnknown) as caught:
        verify_signature(message, [])
    assert caught.value.message == "no trusted key has the licence's key id"
    assert dict(caught.value.context) == {"kid": KID.hex()}
    bare = decode_cose(signed_cose({EXP: NOW}, protected={1: -7}))
    with pytest.raises(CertificateKeyUnknown) as none:
        verify_signature(bare, [])
    assert dict(none.value.context) == {"kid": None}


@pytest.mark.parametrize(
    ("protected", "unprotected", "alg"),
    [
        ({4: KID}, {}, None),
        ({1: 12345678901234567890, 4: KID}, {}, "1234567890123456"),
        ({1: "ES256", 4: KID}, {}, None),
        ({4: KID}, {1: -7}, None),  # unprotected alg: refused unless unsafe
    ],
)
def test_no_usable_protected_algorithm_is_refused(
    protected: dict[Any, Any], unprotected: dict[Any, Any], alg: str | None
) -> None:
    header = cbor2.dumps(protected, canonical=True)
    payload = cbor2.dumps({EXP: NOW})
    message = decode_cose(cose(header, unprotected, payload, b"s" * 64))
    with pytest.raises(CertificateAlgorithmRejected) as caught:
        verify_signature(message, [KEY.verifying_key])
    assert caught.value.message == (
        "the licence names no algorithm govkit accepts in its protected header"
    )
    assert dict(caught.value.context) == {"alg": alg}


@pytest.mark.parametrize("alg", [[-7], {"x": 1}, "ES256", True])
def test_an_unprotected_algorithm_that_is_not_an_integer_is_refused_even_when_unsafe(
    alg: Any,
) -> None:
    header = cbor2.dumps({4: KID}, canonical=True)
    message = decode_cose(cose(header, {1: alg}, cbor2.dumps({EXP: NOW}), b"s" * 64))
    with pytest.raises(CertificateAlgorithmRejected) as caught:
        verify_signature(message, [KEY.verifying_key], unsafe_unprotected_alg=True)
    assert dict(caught.value.context) == {"alg": str(alg)[:16]}


def test_an_unprotected_algorithm_is_used_only_when_unsafe_and_only_then() -> None:
    header = cbor2.dumps({4: KID}, canonical=True)
    payload = cbor2.dumps({EXP: NOW})
    signature = KEY.sign(codec._sig_structure(header, payload))
    message = decode_cose(cose(header, {1: -7}, payload, signature))
    assert verify_signature(message, [KEY.verifying_key], unsafe_unprotected_alg=True) == (
        KEY.verifying_key
    )


def test_no_candidate_of_the_messages_algorithm_is_refused() -> None:
    message = decode_cose(signed_cose({EXP: NOW}))
    with pytest.raises(CertificateAlgorithmRejected) as caught:
        verify_signature(message, [SigningKey.generate("EdDSA").verifying_key])
    assert caught.value.message == (
        "no trusted key with this key id is bound to the licence's algorithm"
    )
    assert dict(caught.value.context) == {"alg": "ES256"}


def test_a_raw_signature_of_the_wrong_length_is_refused_before_verifying() -> None:
    header = cbor2.dumps({1: -7, 4: KID}, canonical=True)
    message = decode_cose(cose(header, {}, cbor2.dumps({EXP: NOW}), b"s" * 63))
    with pytest.raises(CertificateSignatureInvalid) as caught:
        verify_signature(message, [KEY.verifying_key])
    assert caught.value.message == "an ES256 signature must be 64 bytes (raw r || s)"


def test_a_signature_no_candidate_verifies_counts_the_candidates() -> None:
    message = decode_cose(signed_cose({EXP: NOW}))
    others = [SigningKey.generate("ES256").verifying_key for _ in range(3)]
    with pytest.raises(CertificateSignatureInvalid) as caught:
        verify_signature(message, others)
    assert caught.value.message == "the licence's signature does not verify"
    assert dict(caught.value.context) == {"candidates": 3}
    assert verify_signature(message, [*others, KEY.verifying_key]) == KEY.verifying_key


# --- times ------------------------------------------------------------------------------------


class _NoOffset(tzinfo):
    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None


@pytest.mark.parametrize(
    "at", [datetime(2026, 11, 28, 9), datetime(2026, 11, 28, 9, tzinfo=_NoOffset())]
)
def test_a_time_without_an_offset_is_refused(at: datetime) -> None:
    with pytest.raises(NaiveDatetimeError) as caught:
        check_times({EXP: NOW}, at=at)
    assert caught.value.message == "the verification time must be timezone-aware"


@pytest.mark.parametrize(
    ("claims", "message", "claim"),
    [
        ({}, "the licence has no exp claim", "exp"),
        ({EXP: "soon"}, "the exp claim must be a number", "exp"),
        ({EXP: True}, "the exp claim must be a number", "exp"),
        ({EXP: float("inf")}, "the exp claim must be finite", "exp"),
        ({EXP: NOW, IAT: float("nan")}, "the iat claim must be finite", "iat"),
        ({EXP: NOW, NBF: [NOW]}, "the nbf claim must be a number", "nbf"),
    ],
)
def test_a_time_claim_that_is_not_a_number_names_the_claim(
    claims: dict[int, Any], message: str, claim: str
) -> None:
    assert format_error(lambda: check_times(claims, at=T0)) == (
        message,
        {"reason": "cwt", "claim": claim},
    )


@pytest.mark.parametrize(("label", "name"), [(IAT, "iat"), (NBF, "nbf")])
def test_not_yet_valid_names_the_claim_and_honours_the_leeway(label: int, name: str) -> None:
    claims = {EXP: NOW + 600, label: NOW + 10}
    check_times(claims, at=T0, leeway=timedelta(seconds=10))
    check_times({EXP: NOW + 600, label: NOW + 10.0}, at=T0, leeway=timedelta(seconds=10))
    with pytest.raises(CertificateNotYetValid) as caught:
        check_times(claims, at=T0, leeway=timedelta(seconds=9))
    assert caught.value.message == f"the licence is not valid before its {name}"
    assert dict(caught.value.context) == {"claim": name}


def test_expiry_is_inclusive_and_honours_the_leeway() -> None:
    check_times({EXP: NOW}, at=T0)
    check_times({EXP: NOW - 10}, at=T0, leeway=timedelta(seconds=10))
    with pytest.raises(CertificateExpired) as caught:
        check_times({EXP: NOW - 10}, at=T0, leeway=timedelta(seconds=9))
    assert caught.value.message == "the licence has expired"
    assert dict(caught.value.context) == {"claim": "exp"}
    check_times({}, at=T0, require_exp=False)


# --- encode -------------------------------------------------------------------------------------


def test_a_payload_text_round_trips_with_its_prefix() -> None:
    text = encode({EXP: NOW}, KEY, kid=KID, prefix="GK1:")
    message = decode(text, prefixes=("GK1:",), canonical=True)
    assert (message.prefix, message.kid, message.claims[EXP]) == ("GK1:", KID, NOW)
    raw = decode("GK1:" + b45encode(signed_cose({EXP: NOW})), prefixes=("GK1:",))
    assert raw.compressed is False


@pytest.mark.parametrize(
    ("protected", "claims", "message", "reason"),
    [
        ({1: 1.5}, {EXP: NOW}, "the algorithm must be an integer or text", "cose"),
        ({1: -7, 4: "kid"}, {EXP: NOW}, "the key id must be a byte string", "cose"),
        ({1: -7}, {b"k": 1}, "CWT claim keys must be integers or text", "cwt"),
        ({1: -7}, {True: 1}, "CWT claim keys must be integers or text", "cwt"),
    ],
)
def test_a_header_or_claim_of_the_wrong_type_names_the_fault(
    protected: dict[Any, Any], claims: dict[Any, Any], message: str, reason: str
) -> None:
    header = cbor2.dumps(protected)
    data = cose(header, {}, cbor2.dumps(claims), b"s" * 64)
    assert format_error(lambda: decode_cose(data)) == (message, {"reason": reason})


def test_a_protected_header_that_is_not_a_map_names_the_fault() -> None:
    data = cose(cbor2.dumps([1, -7]), {}, cbor2.dumps({EXP: NOW}), b"s" * 64)
    assert format_error(lambda: decode_cose(data)) == (
        "the protected header must hold a map",
        {"reason": "cose"},
    )
    claims = cose(cbor2.dumps({1: -7}), {}, cbor2.dumps([EXP, NOW]), b"s" * 64)
    assert format_error(lambda: decode_cose(claims)) == (
        "the payload is not a CWT claims map",
        {"reason": "cwt"},
    )


# --- encode refusals ----------------------------------------------------------------------------


class _Signer:
    def __init__(self, alg: Any, signature: Any = b"s" * 64) -> None:
        self.alg = alg
        self.kid = "k"
        self._signature = signature

    def sign(self, data: bytes) -> Any:
        return self._signature


@pytest.mark.parametrize(
    ("signer", "alg"),
    [
        (object(), "None"),
        (_Signer("RS256"), "RS256"),
        (_Signer("an-algorithm-name-longer-than-16"), "an-algorithm-nam"),
        (_Signer(["ES256"]), "['ES256']"),
        (_Signer(-7), "-7"),
    ],
)
def test_a_signer_without_a_cose_algorithm_is_refused(signer: Any, alg: str) -> None:
    with pytest.raises(CertificateAlgorithmRejected) as caught:
        encode({EXP: NOW}, signer, kid=KID)
    assert caught.value.message == (
        "the signer's algorithm has no COSE algorithm govkit accepts (ES256, EdDSA, PS256)"
    )
    assert dict(caught.value.context) == {"alg": alg}


@pytest.mark.parametrize(
    ("claims", "options", "error", "message"),
    [
        ({EXP: NOW}, {"kid": "k"}, ConfigurationError, "kid must be bytes"),
        ({EXP: NOW}, {"prefix": b"GK1:"}, ConfigurationError, "prefix must be text"),
        (
            {EXP: NOW},
            {"content_type": True},
            ConfigurationError,
            "content_type must be text or an integer",
        ),
        (
            {EXP: NOW},
            {"content_type": 1.5},
            ConfigurationError,
            "content_type must be text or an integer",
        ),
        ([(EXP, NOW)], {}, LicenceDataInvalid, "claims must be a map"),
        ({True: 1}, {}, LicenceDataInvalid, "claim keys must be integers or text"),
        ({EXP: object()}, {}, LicenceDataInvalid, "the claims hold a value CBOR cannot encode"),
        (
            {1: nested(17)[1]},
            {},
            LicenceDataInvalid,
            "the claims would not decode: the CBOR data is nested too deeply",
        ),
    ],
)
def test_encode_refuses_what_it_cannot_write(
    claims: Any, options: dict[str, Any], error: type[Exception], message: str
) -> None:
    options.setdefault("kid", KID)
    with pytest.raises(error) as caught:
        encode(claims, KEY, **options)
    assert caught.value.message == message  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("signature", "message"),
    [
        ("not bytes", "the signer returned a signature that is not bytes"),
        (b"\x30" * 70, "an ES256 signer must return raw r || s (64 bytes)"),
    ],
)
def test_a_signer_returning_a_bad_signature_is_a_configuration_error(
    signature: Any, message: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        encode({EXP: NOW}, _Signer("ES256", signature), kid=KID)
    assert caught.value.message == message


def test_encode_writes_a_canonical_header_with_a_content_type_and_zlib_level_9() -> None:
    text = encode({EXP: NOW}, KEY, kid=KID, content_type="application/cwt")
    message = decode(text, prefixes=("GK1:",), canonical=True)
    assert dict(message.protected) == {1: -7, 3: "application/cwt", 4: KID}
    compressed = codec.b45decode(text[4:])
    assert compressed[:2] == b"\x78\xda"  # RFC 1950 header of level 9
    assert verify_signature(message, [KEY.verifying_key]) == KEY.verifying_key


@pytest.mark.parametrize(
    ("data", "message", "reason"),
    [
        (b"\x78\xda", "the zlib stream is truncated", "zlib"),  # a zlib header and nothing else
        (b"\xd2\x19\x00\x01", "COSE_Sign1 must be an array of 4 elements", "cose"),  # %31 == 0
        (b"\x78\x00", "COSE_Sign1 must be an array of 4 elements", "cose"),  # bad check bits
    ],
    ids=["two-byte-header", "not-deflate", "bad-check"],
)
def test_compression_is_detected_by_a_whole_rfc_1950_header(
    data: bytes, message: str, reason: str
) -> None:
    assert format_error(lambda: decode("GK1:" + b45encode(data))) == (message, {"reason": reason})


# --- decode: text limits and layers ---------------------------------------------------------


@pytest.mark.parametrize("as_bytes", [False, True], ids=["text", "bytes"])
def test_the_text_limit_is_inclusive_and_named(as_bytes: bool) -> None:
    text = "GK1:" + "0" * 96  # 100 characters of valid base45 that is no zlib or COSE
    data: Any = text.encode() if as_bytes else text
    _, context = format_error(lambda: decode(data, max_text=100))
    assert context["reason"] != "prefix"  # read past the size check
    too_long: Any = (text + "0").encode() if as_bytes else text + "0"
    with pytest.raises(CertificateTooLarge) as caught:
        decode(too_long, max_text=100)
    assert caught.value.message == "the licence text is too long"
    assert dict(caught.value.context) == {"limit": "text", "size": 101}


@pytest.mark.parametrize(
    ("text", "message", "reason"),
    [
        (12345, "the licence must be text", "prefix"),
        ("HC2:ABC", "the licence text does not start with an accepted prefix", "prefix"),
    ],
)
def test_text_that_is_not_a_licence_names_the_layer(text: Any, message: str, reason: str) -> None:
    assert format_error(lambda: decode(text)) == (message, {"reason": reason})


def test_text_that_is_not_base45_says_so() -> None:
    message, context = format_error(lambda: decode("GK1:abc"))
    assert message.startswith("the licence text is not base45: ")
    assert context == {"reason": "base45"}


def test_the_cose_limit_bounds_decompression() -> None:
    text = encode({1: "x" * 200}, KEY, kid=KID)
    with pytest.raises(CertificateTooLarge) as caught:
        decode(text, max_cose=100)
    assert dict(caught.value.context) == {"limit": "cose", "max": 100}


def test_the_canonical_decoder_refuses_indefinite_lengths_as_malformed() -> None:
    payload = b"\xbf\x04\x1a" + NOW.to_bytes(4) + b"\xff"  # {_ 4: NOW}
    data = claims_cose(payload)
    assert decode_cose(data).claims[EXP] == NOW
    assert format_error(lambda: decode_cose(data, canonical=True)) == (
        "the CBOR data is malformed",
        {"reason": "cwt"},
    )


def test_the_scanning_decoder_reads_an_indefinite_byte_string() -> None:
    payload = b"\xa2\x01\x5f\x41\x01\x41\x02\xff\x04\x1a" + NOW.to_bytes(
        4
    )  # {1: (_ h'01', h'02'), 4: NOW}
    assert decode_cose(claims_cose(payload)).claims[1] == b"\x01\x02"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"\xa1\x01\x1c", "the CBOR data uses a reserved encoding"),
        (b"\xa1\x01\x02\x00", "bytes follow the CBOR item"),
    ],
)
def test_the_scanning_decoder_names_the_fault(payload: bytes, message: str) -> None:
    assert format_error(lambda: decode_cose(claims_cose(payload))) == (message, {"reason": "cwt"})


def test_the_default_limits_are_16_kib_of_text_and_64_kib_of_cose() -> None:
    with pytest.raises(CertificateTooLarge) as text:
        decode("GK1:" + "0" * 16381)
    assert dict(text.value.context) == {"limit": "text", "size": 16385}
    _, context = format_error(lambda: decode("GK1:" + "0" * 16380))
    assert context["reason"] != "prefix"
    bomb = "GK1:" + b45encode(zlib.compress(bytes(65537), 9))
    with pytest.raises(CertificateTooLarge) as cose_limit:
        decode(bomb)
    assert dict(cose_limit.value.context) == {"limit": "cose", "max": 65536}
