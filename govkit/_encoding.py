"""Private encoding helpers shared by the components.

>>> from govkit._encoding import b64url_encode, b64url_decode, canonical_json
>>> b64url_encode(b"\\xff\\xfe")
'__4'
>>> b64url_decode("__4")
b'\\xff\\xfe'
>>> canonical_json({"b": 1, "a": "é"})
b'{"a":"\\xc3\\xa9","b":1}'
>>> from govkit._encoding import b45decode, b45encode
>>> b45encode(b"AB"), b45decode("BB8")
('BB8', b'AB')
>>> from govkit._encoding import mod37_36_check_character, uscc_check_character
>>> uscc_check_character("91350100M000100Y4"), mod37_36_check_character("A12425GABC1234002")
('3', 'M')

The check characters of Chinese identifiers live here, once, because both
:mod:`govkit.identity.cn` and :mod:`govkit.certificates` need them and neither may
import the other: GB 32100 (unified social credit codes), GB 11714 (the organisation
code inside one) and ISO/IEC 7064 MOD 37,36 (licence identifiers). The GB 11643
resident ID check character is python-stdnum's (``stdnum.cn.ric``), which is faster
than any table here; stdnum's USCC and MOD 37,36 functions are the oracles these are
tested against, not used on the hot path (they are about four times slower).
"""

from __future__ import annotations

import base64
import json
import re
from binascii import a2b_base64
from operator import getitem
from typing import Any, Final

from govkit.errors import EncodingError

__all__ = [
    "B64URL_TRANSLATION",
    "b45decode",
    "b45encode",
    "b64_decode",
    "b64_encode",
    "b64url_decode",
    "b64url_decode_translated",
    "b64url_encode",
    "canonical_json",
    "int_from_b64url",
    "int_to_b64url",
    "mod37_36_check_character",
    "mod37_36_state",
    "organisation_code_check_character",
    "uscc_check_character",
]

#: base64url to standard base64 (RFC 4648 table 2 to table 1), with ``+``, ``/`` and
#: ``=`` (which base64url does not have) made ``!``, which strict base64 refuses.
B64URL_TRANSLATION: Final = bytes.maketrans(b"-_+/=", b"+/!!!")
#: The padding that completes a final group of 0, 2 or 3 characters (1 is never valid).
_B64_PAD: Final = (b"", b"", b"==", b"=")
#: The low bits a final group of 2 or 3 characters leaves unused (RFC 4648 section 3.5),
#: and each standard base64 byte's value (translated base64url only holds those).
_B64_UNUSED_BITS: Final = (0, 0, 0b1111, 0b11)
_B64_VALUE: Final = bytes(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".find(bytes([i])) % 64
    for i in range(256)
)
_B64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


def b64url_encode(data: bytes) -> str:
    """Base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str | bytes, *, what: str = "base64url") -> bytes:
    """Strictly decode unpadded base64url; refuse padding, whitespace and stray bits."""
    if isinstance(text, str):
        if text.isascii():
            return b64url_decode_translated(
                text.encode("ascii").translate(B64URL_TRANSLATION), what
            )
        raise EncodingError(f"{what} is not valid unpadded base64url")
    if not isinstance(text, bytes):
        raise TypeError(f"{what} must be str or bytes")
    if not text.isascii():
        raise EncodingError(f"{what} is not ASCII")
    return b64url_decode_translated(text.translate(B64URL_TRANSLATION), what)


def b64url_decode_translated(data: bytes, what: str = "base64url") -> bytes:
    """The strict base64url decoder, given ASCII ``data`` translated by
    :data:`B64URL_TRANSLATION` (so a caller can translate a whole token once and
    decode its parts from slices).

    Refused, with :class:`~govkit.errors.EncodingError`: a length of 4n+1, any
    character outside base64url (``+``, ``/`` and padding included; the translation
    made them ``!``; strict mode refuses that and every other byte outside standard
    base64, white space and controls included) and non-zero unused low bits in the
    last character, so each byte string has exactly one accepted spelling.
    """
    tail = len(data) % 4
    try:
        if tail == 1:
            raise ValueError(what)
        raw = a2b_base64(data + _B64_PAD[tail], strict_mode=True)
    except ValueError:  # binascii.Error is one
        raise EncodingError(f"{what} is not valid unpadded base64url") from None
    if tail and _B64_VALUE[data[-1]] & _B64_UNUSED_BITS[tail]:
        raise EncodingError(f"{what} has non-canonical trailing bits")
    return raw


def b64_encode(data: bytes) -> str:
    """Standard base64 with padding (RFC 4648 section 4)."""
    return base64.b64encode(data).decode("ascii")


def b64_decode(text: str | bytes, *, what: str = "base64") -> bytes:
    """Strictly decode padded standard base64; refuse whitespace and stray bits."""
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError:
            raise EncodingError(f"{what} is not ASCII") from None
    if not _B64.fullmatch(text):
        raise EncodingError(f"{what} is not valid base64")
    raw = base64.b64decode(text, validate=True)
    if b64_encode(raw) != text:
        raise EncodingError(f"{what} has non-canonical trailing bits")
    return raw


def int_to_b64url(value: int, length: int | None = None) -> str:
    """Encode a non-negative integer big-endian, minimal or padded to ``length`` bytes."""
    size = length if length is not None else max(1, (value.bit_length() + 7) // 8)
    return b64url_encode(value.to_bytes(size, "big"))


def int_from_b64url(text: str, *, what: str = "integer") -> int:
    """Decode a base64url big-endian unsigned integer."""
    raw = b64url_decode(text, what=what)
    if not raw:
        raise EncodingError(f"{what} is empty")
    return int.from_bytes(raw, "big")


def canonical_json(value: Any) -> bytes:
    """Deterministic UTF-8 JSON: sorted keys, no whitespace, no NaN or infinities."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


# --- base45 (RFC 9285) ----------------------------------------------------------------

#: RFC 9285 table 1: exactly the QR code alphanumeric-mode character set.
_B45_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_B45_ALPHABET_BYTES = _B45_ALPHABET.encode("ascii")
#: Byte -> digit value, for :meth:`bytes.translate` (only alphabet bytes get there).
_B45_DIGITS = bytes.maketrans(_B45_ALPHABET_BYTES, bytes(range(45)))


def b45encode(data: bytes) -> str:
    """Base45 (RFC 9285): each byte pair becomes 3 characters, a final odd byte 2.

    The pair ``[a, b]`` is ``n = 256*a + b``, written as ``c d e`` with
    ``n = c + 45*d + 45*45*e``; a single byte ``n`` is written as ``c d``.
    """
    out: list[str] = []
    alphabet = _B45_ALPHABET
    for i in range(0, len(data) - 1, 2):
        n = (data[i] << 8) | data[i + 1]
        n, c = divmod(n, 45)
        e, d = divmod(n, 45)
        out += (alphabet[c], alphabet[d], alphabet[e])
    if len(data) % 2:
        e, c = divmod(data[-1], 45)
        out += (alphabet[c], alphabet[e])
    return "".join(out)


def b45decode(text: str, *, what: str = "base45") -> bytes:
    """Strictly decode base45 (RFC 9285).

    Refuses (with :class:`~govkit.errors.EncodingError`) any character outside the
    45-character alphabet (lower case included), a dangling single character, a
    triple whose value exceeds 0xFFFF and a final pair whose value exceeds 0xFF, so
    every accepted text is the one :func:`b45encode` produces for its result.
    """
    if not isinstance(text, str):
        raise EncodingError(f"{what} must be text")
    if len(text) % 3 == 1:
        raise EncodingError(f"{what} has a dangling character", length=len(text))
    # C-level passes instead of a loop over characters: the alphabet check deletes
    # every alphabet byte and must leave nothing, translate turns characters into
    # digit values, strided slices give the three digits of each triple.
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        raise EncodingError(f"{what} has a character outside the base45 alphabet") from None
    if raw.translate(None, _B45_ALPHABET_BYTES):
        raise EncodingError(f"{what} has a character outside the base45 alphabet")
    digits = raw.translate(_B45_DIGITS)
    full = len(digits) - len(digits) % 3
    count = full // 3
    # Every triple at once, in big-integer arithmetic: the c, d and e digits go into
    # 32-bit little-endian lanes of three integers, and c + 45*d + 2025*e (at most
    # 91,124) never carries out of its lane. Each lane's third byte is non-zero
    # exactly when its triple is above 0xFFFF; its first two bytes are the value.
    lanes = bytearray(4 * count)
    lanes[0::4] = digits[0:full:3]
    low = int.from_bytes(lanes, "little")
    lanes[0::4] = digits[1:full:3]
    middle = int.from_bytes(lanes, "little")
    lanes[0::4] = digits[2:full:3]
    high = int.from_bytes(lanes, "little")
    values = (low + 45 * middle + 2025 * high).to_bytes(4 * count, "little")
    above = values[2::4]
    if above.count(0) != count:
        first = next(i for i, byte in enumerate(above) if byte)
        raise EncodingError(f"{what} has a triple above 0xFFFF", offset=3 * first)
    out = bytearray(2 * count)
    out[0::2] = values[1::4]  # big-endian pairs: the high byte first
    out[1::2] = values[0::4]
    if full != len(digits):
        n = digits[full] + 45 * digits[full + 1]
        if n > 0xFF:
            raise EncodingError(f"{what} has a final pair above 0xFF", offset=full)
        out.append(n)
    return bytes(out)


# --- check characters of Chinese identifiers ------------------------------------

#: ``0-9A-Z``: the characters of ISO/IEC 7064 MOD 37,36 and of GB 11714 organisation
#: codes, valued 0-35 in this order.
ALNUM_ALPHABET: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#: GB 32100-2015: the 31 characters of a unified social credit code (no I, O, S, V,
#: Z), valued 0-30 in this order.
USCC_ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"

#: GB 32100 weights ``W_i = 3^(i-1) mod 31`` folded into the values: for each position
#: i = 1..17, character -> value x W_i mod 31, so a check is one lookup per character.
_USCC_TERMS: Final = tuple(
    {c: v * pow(3, i, 31) % 31 for v, c in enumerate(USCC_ALPHABET)} for i in range(17)
)
#: GB 11714 weights over the 8 characters of an organisation code body, folded the same
#: way (modulus 11).
_ORGANISATION_TERMS: Final = tuple(
    {c: v * w % 11 for v, c in enumerate(ALNUM_ALPHABET)} for w in (3, 7, 9, 10, 5, 8, 4, 2)
)
#: ISO/IEC 7064 MOD 37,36: character -> (previous p -> next p), ``s = (p + value) mod
#: 36`` (0 becomes 36), ``p = 2s mod 37``. Index 0 is unused (p is never 0).
_MOD37_36_STEP: Final = {
    c: tuple((2 * ((p + v) % 36 or 36)) % 37 for p in range(37))
    for v, c in enumerate(ALNUM_ALPHABET)
}


def uscc_check_character(first17: str) -> str | None:
    """The GB 32100-2015 check character of a unified social credit code's first 17.

    ``C18 = alphabet[(31 - S mod 31) mod 31]``, ``S`` the sum of the characters'
    values times ``3^(i-1) mod 31``. ``None`` when ``first17`` is not 17 characters
    of :data:`USCC_ALPHABET` (upper case; nothing is normalised).
    """
    if len(first17) != 17:
        return None
    try:
        total = sum(map(getitem, _USCC_TERMS, first17))
    except KeyError:
        return None
    return USCC_ALPHABET[-total % 31]


def organisation_code_check_character(first8: str) -> str | None:
    """The GB 11714 check character (``0``-``9`` or ``X``) of an organisation code body.

    ``C9 = 11 - S mod 11`` (10 is ``X``, 11 is ``0``), ``S`` the sum of the 8
    characters' values (``A``-``Z`` are 10-35) times ``3 7 9 10 5 8 4 2``. ``None``
    when ``first8`` is not 8 characters of ``0-9A-Z``.
    """
    if len(first8) != 8:
        return None
    try:
        check = 11 - sum(map(getitem, _ORGANISATION_TERMS, first8)) % 11
    except KeyError:
        return None
    return "X" if check == 10 else str(check % 11)


def mod37_36_check_character(text: str) -> str | None:
    """The ISO/IEC 7064 MOD 37,36 check character of ``text`` (characters ``0-9A-Z``).

    The hybrid system with M = 36: start with ``p = 36``; for each character
    ``s = (p + value) mod 36`` (0 becomes 36) and ``p = 2s mod 37``; the check
    character has the value ``(37 - p) mod 36``. ``None`` when ``text`` holds a
    character outside ``0-9A-Z``.
    """
    p = mod37_36_state(text)
    return None if p is None else ALNUM_ALPHABET[(37 - p) % 36]


def mod37_36_state(text: str, p: int = 36) -> int | None:
    """The running value ``p`` of ISO/IEC 7064 MOD 37,36 after ``text``, from ``p``.

    ``mod37_36_state(a + b) == mod37_36_state(b, mod37_36_state(a))``, so a prefix
    shared by many texts is worked out once; ``ALNUM_ALPHABET[(37 - p) % 36]`` is the
    check character. ``None`` when ``text`` holds a character outside ``0-9A-Z``.
    """
    step = _MOD37_36_STEP
    try:
        for char in text:
            p = step[char][p]
    except KeyError:
        return None
    return p
