"""Evidence for :mod:`govkit._encoding`: strict base64 decoders, canonical JSON.

The base64 vectors are RFC 4648 section 10.
"""

from __future__ import annotations

import base64
import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govkit._encoding import (
    B64URL_TRANSLATION,
    b64_decode,
    b64_encode,
    b64url_decode,
    b64url_decode_translated,
    b64url_encode,
    canonical_json,
    int_from_b64url,
    int_to_b64url,
)
from govkit.errors import EncodingError, VerificationError

RFC4648_VECTORS = [
    (b"", ""),
    (b"f", "Zg=="),
    (b"fo", "Zm8="),
    (b"foo", "Zm9v"),
    (b"foob", "Zm9vYg=="),
    (b"fooba", "Zm9vYmE="),
    (b"foobar", "Zm9vYmFy"),
]


@pytest.mark.parametrize(("raw", "padded"), RFC4648_VECTORS)
def test_rfc4648_vectors_in_both_alphabets(raw: bytes, padded: str) -> None:
    assert b64_encode(raw) == padded
    assert b64_decode(padded) == raw
    assert b64_decode(padded.encode()) == raw
    unpadded = padded.rstrip("=")
    assert b64url_encode(raw) == unpadded
    assert b64url_decode(unpadded) == raw
    assert b64url_decode(unpadded.encode()) == raw


def test_base64url_uses_the_url_safe_alphabet() -> None:
    assert b64url_encode(b"\xfb\xff\xbf") == "-_-_"
    assert b64url_decode("-_-_") == b"\xfb\xff\xbf"
    assert b64_encode(b"\xfb\xff\xbf") == "+/+/"


@pytest.mark.parametrize(
    "text",
    [
        "Zg==",
        "Zg=",
        "Zm 9v",
        "Zm9v\n",
        " Zm9v",
        "+/+/",
        "Z",
        "Zm9vY",
        "Zh",
        "Zm9=",
        "é",
        "Zm9v\x00",
    ],
    ids=[
        "padding",
        "partial_padding",
        "inner_space",
        "trailing_newline",
        "leading_space",
        "standard_alphabet",
        "one_char",
        "five_chars",
        "non_canonical_bits",
        "padding_inside",
        "non_ascii",
        "nul",
    ],
)
def test_base64url_decoder_refuses_anything_but_canonical_unpadded_text(text: str) -> None:
    with pytest.raises(EncodingError):
        b64url_decode(text)


@pytest.mark.parametrize(
    "text",
    ["Zg", "Zm8", "Zm9v\n", "Zm9v Yg==", "-_-_", "Zh==", "Zm9=", "Zg===", "=Zg=", "é==="],
    ids=[
        "missing_padding",
        "missing_one_pad",
        "trailing_newline",
        "inner_space",
        "url_alphabet",
        "non_canonical_bits",
        "non_canonical_bits_one_pad",
        "extra_padding",
        "leading_padding",
        "non_ascii",
    ],
)
def test_base64_decoder_refuses_anything_but_canonical_padded_text(text: str) -> None:
    with pytest.raises(EncodingError):
        b64_decode(text)


def test_decoders_refuse_non_ascii_bytes() -> None:
    with pytest.raises(EncodingError):
        b64url_decode(b"Zm9v\xff")
    with pytest.raises(EncodingError):
        b64_decode(b"Zm9v\xff")


def _reference_b64url_decode(text: str | bytes, what: str) -> bytes:
    """The strict unpadded base64url decoder written out plainly (a regular expression
    and the standard library), the oracle of the fast one."""
    if isinstance(text, bytes):
        if not text.isascii():
            raise EncodingError(f"{what} is not ASCII")
        text = text.decode("ascii")
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text) or len(text) % 4 == 1:
        raise EncodingError(f"{what} is not valid unpadded base64url")
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url_encode(raw) != text:
        raise EncodingError(f"{what} has non-canonical trailing bits")
    return raw


#: Every base64url character, the standard ones, padding, white space, a dot, a NUL,
#: a control, a non-ASCII letter and a lone surrogate.
B64URL_MIXED = st.text(
    st.sampled_from(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=. \n\t\x00\x7fé\ud800"
    ),
    max_size=14,
)


def _outcome(decode: object, text: str | bytes) -> object:
    assert callable(decode)
    try:
        return decode(text, what="JWK x")
    except EncodingError as exc:
        return (exc.code, exc.message)


@given(
    text=B64URL_MIXED
    | st.binary(max_size=14)
    | B64URL_MIXED.map(lambda t: t.encode("utf-8", "surrogatepass"))
)
def test_b64url_decode_accepts_and_refuses_exactly_as_the_plain_reference(
    text: str | bytes,
) -> None:
    """Same bytes or same code and message as the reference, for text and bytes."""
    assert _outcome(b64url_decode, text) == _outcome(_reference_b64url_decode, text)


@given(text=B64URL_MIXED.filter(str.isascii))
def test_the_translated_decoder_is_the_decoder_on_translated_ascii(text: str) -> None:
    """What token parsing calls on slices of a translated token is b64url_decode."""
    translated = text.encode("ascii").translate(B64URL_TRANSLATION)
    assert _outcome(b64url_decode, text) == _outcome(b64url_decode_translated, translated)


@pytest.mark.parametrize("value", [None, 12, bytearray(b"Zm9v"), ["Zm9v"]])
def test_b64url_decode_of_what_is_neither_text_nor_bytes_is_a_type_error(value: object) -> None:
    with pytest.raises(TypeError):
        b64url_decode(value)  # type: ignore[arg-type]


def test_decoding_failure_names_what_was_decoded() -> None:
    with pytest.raises(EncodingError, match="JWK x"):
        b64url_decode("Zg==", what="JWK x")


def test_encoding_error_counts_as_a_verification_failure() -> None:
    assert issubclass(EncodingError, VerificationError)
    assert EncodingError.code == "encoding.malformed"


@pytest.mark.parametrize(
    ("value", "length", "text"),
    [
        (0, None, "AA"),
        (65537, None, "AQAB"),
        (255, None, "_w"),
        (256, None, "AQA"),
        (1, 4, "AAAAAQ"),
    ],
)
def test_integers_encode_big_endian_minimal_or_padded(
    value: int, length: int | None, text: str
) -> None:
    assert int_to_b64url(value, length) == text
    assert int_from_b64url(text) == value


def test_integer_padded_to_32_bytes_keeps_its_length() -> None:
    assert len(b64url_decode(int_to_b64url(1, 32))) == 32


def test_empty_integer_is_refused() -> None:
    with pytest.raises(EncodingError, match="empty"):
        int_from_b64url("", what="JWK e")


def test_malformed_integer_is_refused() -> None:
    with pytest.raises(EncodingError):
        int_from_b64url("AQAB=")


def test_canonical_json_sorts_keys_everywhere_and_drops_whitespace() -> None:
    value = {"b": [1, {"z": True, "a": None}], "a": "x"}
    assert canonical_json(value) == b'{"a":"x","b":[1,{"a":null,"z":true}]}'


def test_canonical_json_does_not_depend_on_insertion_order() -> None:
    one = {"kty": "OKP", "crv": "Ed25519", "x": "abc"}
    two = dict(reversed(list(one.items())))
    assert list(one) != list(two)
    assert canonical_json(one) == canonical_json(two)


def test_canonical_json_writes_utf8_not_escapes() -> None:
    assert canonical_json({"name": "北京"}) == '{"name":"北京"}'.encode()
    assert b"\\u" not in canonical_json({"name": "Zoë"})


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
def test_canonical_json_refuses_non_finite_numbers(number: float) -> None:
    with pytest.raises(ValueError, match="JSON compliant"):
        canonical_json({"amount": number})
