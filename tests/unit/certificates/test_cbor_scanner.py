"""The lenient CBOR scanner (``HC1:`` and other non-canonical input): each refusal's exact
message and reason, and nested items read at positions past the first byte.

Written against mutants of ``govkit/certificates/codec.py`` that survived the other
codec tests (issue #18): a truncated head inside an item, a length checked against the
wrong remainder, an indefinite-length string with a bad chunk, a reserved encoding, a
refused tag, and a cbor2 refusal after the scan passed.
"""

from __future__ import annotations

import pytest

from govkit.certificates import codec
from govkit.errors import CertificateFormatError


def refused(data: bytes) -> CertificateFormatError:
    with pytest.raises(CertificateFormatError) as caught:
        codec._parse_cbor(data, max_depth=16, reason="cwt")
    assert caught.value.code == "certificate.format"
    assert caught.value.context["reason"] == "cwt"  # the caller's reason, passed through
    return caught.value


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the CBOR data ends early"),
        (b"\x19\x01", "the CBOR data ends early"),  # a 2-byte argument with 1 byte left
        (b"\x82\x01\x19\x01", "the CBOR data ends early"),  # the same, inside an array
        (b"\x1f", "the CBOR data uses a reserved encoding"),  # indefinite unsigned int
        (b"\x1c", "the CBOR data uses a reserved encoding"),  # additional info 28
        (b"\x43ab", "a CBOR string is longer than the data"),
        (b"\x81\x43ab", "a CBOR string is longer than the data"),  # at position 1
        (b"\x83\x01", "a CBOR container is longer than the data"),
        (b"\x81\x83\x01", "a CBOR container is longer than the data"),  # at position 1
        (b"\x5f\x61a\xff", "an indefinite-length string has a bad chunk"),  # text in bytes
        (b"\x5f\x5f\xff\xff", "an indefinite-length string has a bad chunk"),  # nested
        (b"\x61\xff", "the CBOR data is malformed"),  # scans, but is not UTF-8 (cbor2)
    ],
)
def test_malformed_cbor_is_refused_with_its_reason(data: bytes, message: str) -> None:
    assert refused(data).message == message


def test_unaccepted_tag_is_refused_naming_the_tag() -> None:
    error = refused(b"\xd8\x18\x41\x01")  # tag 24, embedded CBOR
    assert error.message == "a CBOR tag govkit does not accept"
    assert error.context["tag"] == 24
    accepted = codec._parse_cbor(b"\xc1\x01", max_depth=16, reason="cwt")  # tag 1: a time
    assert accepted.timestamp() == 1


@pytest.mark.parametrize(
    ("data", "value"),
    [
        (b"\x82\x01\x82\x02\x03", [1, [2, 3]]),
        (b"\x82\x42ab\x01", [b"ab", 1]),  # a string then an item after it
        (b"\x82\x19\x01\x00\x01", [256, 1]),  # a 2-byte argument, then the next item
        (b"\xa2\x01\x82\x02\x03\x04\x05", {1: [2, 3], 4: 5}),
        (b"\x5f\x41a\x41b\xff", b"ab"),  # an indefinite byte string of two chunks
    ],
)
def test_nested_items_are_read_at_their_positions(data: bytes, value: object) -> None:
    assert codec._parse_cbor(data, max_depth=16, reason="cwt") == value
