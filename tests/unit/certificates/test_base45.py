"""Evidence for base45 (RFC 9285) in :mod:`govkit._encoding`: known answers and strictness.

Known answers: RFC 9285 section 4.3 (encoding examples 1-3: "AB", "Hello!!", "base-45")
and section 4.4 (decoding example: "QED8WEX0" -> "ietf!").
"""

from __future__ import annotations

import pytest

from govkit._encoding import b45decode, b45encode
from govkit.errors import EncodingError, VerificationError

RFC9285_VECTORS = [
    (b"AB", "BB8"),
    (b"Hello!!", "%69 VD92EX0"),
    (b"base-45", "UJCLQE7W581"),
    (b"ietf!", "QED8WEX0"),
]


@pytest.mark.parametrize(("raw", "text"), RFC9285_VECTORS)
def test_rfc9285_known_answers(raw: bytes, text: str) -> None:
    assert b45encode(raw) == text
    assert b45decode(text) == raw


def test_empty_input_round_trips() -> None:
    assert b45encode(b"") == ""
    assert b45decode("") == b""


def test_every_byte_pair_boundary_round_trips() -> None:
    for raw in (b"\x00", b"\xff", b"\x00\x00", b"\xff\xff", bytes(range(256))):
        assert b45decode(b45encode(raw)) == raw


def test_largest_triple_and_pair_are_accepted() -> None:
    # 0xFFFF = 15 + 16*45 + 32*45^2 -> "F", "G", "W"; 0xFF = 30 + 5*45 -> "U", "5".
    assert b45decode("FGW") == b"\xff\xff"
    assert b45decode("U5") == b"\xff"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("GGW", id="triple-0x10000"),
        pytest.param(":::", id="triple-91124"),
        pytest.param("BB8:::", id="overflow-after-a-good-triple"),
    ],
)
def test_triple_above_0xffff_is_refused(text: str) -> None:
    with pytest.raises(EncodingError, match="above 0xFFFF"):
        b45decode(text)


@pytest.mark.parametrize(("text", "offset"), [(":::", 0), ("BB8:::", 3), ("BB8BB8GGWFGW", 6)])
def test_triple_above_0xffff_names_the_first_one(text: str, offset: int) -> None:
    with pytest.raises(EncodingError) as caught:
        b45decode(text)
    assert caught.value.context["offset"] == offset


@pytest.mark.parametrize("text", ["V5", "::", "BB8V5"])
def test_final_pair_above_0xff_is_refused(text: str) -> None:
    with pytest.raises(EncodingError, match="above 0xFF"):
        b45decode(text)


@pytest.mark.parametrize("text", ["A", "BB8A", "QED8WEX0AB"])
def test_dangling_single_character_is_refused(text: str) -> None:
    with pytest.raises(EncodingError, match="dangling"):
        b45decode(text)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("bb8", id="lower-case"),
        pytest.param("BB=", id="base64-padding"),
        pytest.param("BB\n", id="newline"),
        pytest.param("BB\t", id="tab"),
        pytest.param("BBé", id="non-ascii"),
        pytest.param("BB\x00", id="nul"),
    ],
)
def test_character_outside_the_alphabet_is_refused(text: str) -> None:
    with pytest.raises(EncodingError, match="outside the base45 alphabet"):
        b45decode(text)


def test_bytes_are_not_text() -> None:
    with pytest.raises(EncodingError):
        b45decode(b"BB8")  # type: ignore[arg-type]


def test_errors_are_verification_errors_with_a_stable_code() -> None:
    with pytest.raises(VerificationError) as info:
        b45decode("A")
    assert info.value.code == "encoding.malformed"


def test_alphabet_is_the_qr_alphanumeric_set_in_order() -> None:
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
    # A single byte n < 45 encodes as (alphabet[n], "0").
    assert [b45encode(bytes([n]))[0] for n in range(45)] == list(alphabet)
