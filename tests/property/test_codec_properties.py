"""Properties of :mod:`govkit.certificates.codec` and base45, driven by hypothesis.

Round trips must give back exactly what went in. Every parser fed arbitrary input must
return a result or raise a :class:`~govkit.errors.GovkitError`; any other exception is a
bug. Arbitrary inputs include well-framed ones (a valid prefix around arbitrary base45,
arbitrary bytes inside a valid zlib stream) so that the deeper layers are reached.
"""

from __future__ import annotations

import contextlib
import zlib
from typing import Any

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govkit._encoding import b45decode, b45encode
from govkit.certificates.codec import CoseMessage, decode, decode_cose, encode, verify_signature
from govkit.errors import EncodingError, GovkitError
from govkit.keys import SigningKey

FAST = settings(max_examples=200, deadline=None)
SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

KID = b"kid-0001"
B45_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

#: Every code point, lone surrogates included.
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=300)
B45_TEXT = st.text(st.sampled_from(B45_ALPHABET), max_size=300)

SCALARS = (
    st.integers(min_value=-(2**64), max_value=2**64 - 1)
    | st.text(max_size=20)
    | st.binary(max_size=20)
    | st.booleans()
    | st.none()
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.integers(-100, 100) | st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
CLAIMS = st.dictionaries(
    st.integers(min_value=-(2**31), max_value=2**31) | st.text(max_size=10), VALUES, max_size=8
)


@pytest.fixture(scope="module")
def keys() -> dict[str, SigningKey]:
    return {alg: SigningKey.generate(alg) for alg in ("ES256", "EdDSA", "PS256")}


def decode_or_govkit_error(text: str | bytes, **kwargs: Any) -> None:
    try:
        result = decode(text, **kwargs)
    except GovkitError:
        return
    assert isinstance(result, CoseMessage)


# --- base45 -----------------------------------------------------------------------------


@FAST
@given(st.binary(max_size=500))
def test_b45_round_trip(data: bytes) -> None:
    text = b45encode(data)
    assert set(text) <= set(B45_ALPHABET)
    assert len(text) == len(data) // 2 * 3 + len(data) % 2 * 2
    assert b45decode(text) == data


@FAST
@given(ANY_TEXT | B45_TEXT)
def test_b45decode_gives_bytes_or_encoding_error(text: str) -> None:
    try:
        raw = b45decode(text)
    except EncodingError:
        return
    assert b45encode(raw) == text  # strict: only canonical text is accepted


# --- encode / decode --------------------------------------------------------------------


@SLOW
@given(claims=CLAIMS, alg=st.sampled_from(["ES256", "EdDSA", "PS256"]), compress=st.booleans())
def test_encode_decode_round_trip(
    keys: dict[str, SigningKey], claims: dict[Any, Any], alg: str, compress: bool
) -> None:
    key = keys[alg]
    text = encode(claims, key, kid=KID, compress=compress)
    message = decode(text)
    assert dict(message.claims) == claims
    assert message.kid == KID
    assert message.payload == cbor2.dumps(claims, canonical=True)
    assert verify_signature(message, [key.verifying_key]) == key.verifying_key


@FAST
@given(ANY_TEXT)
def test_decode_of_arbitrary_text(text: str) -> None:
    decode_or_govkit_error(text)
    decode_or_govkit_error("GK1:" + text)


@FAST
@given(st.binary(max_size=400))
def test_decode_of_arbitrary_bytes(data: bytes) -> None:
    decode_or_govkit_error(data)
    decode_or_govkit_error(b"HC1:" + data)


@FAST
@given(B45_TEXT)
def test_decode_of_arbitrary_base45(text: str) -> None:
    decode_or_govkit_error("GK1:" + text)
    decode_or_govkit_error("HC1:" + text)


@FAST
@given(st.binary(max_size=400))
def test_decode_of_arbitrary_cose_bytes(data: bytes) -> None:
    """Arbitrary bytes as the COSE layer, plain and inside a valid zlib stream."""
    decode_or_govkit_error("GK1:" + b45encode(data))
    decode_or_govkit_error("HC1:" + b45encode(zlib.compress(data)), max_depth=4)
    with contextlib.suppress(GovkitError):
        decode_cose(data)


@FAST
@given(st.data())
def test_decode_of_mutated_cose(keys: dict[str, SigningKey], data: st.DataObject) -> None:
    """A valid message with arbitrary bytes changed, inserted or deleted."""
    key = keys["EdDSA"]
    cose = bytearray(zlib.decompress(b45decode(encode({1: "CN", 4: 1}, key, kid=KID)[4:])))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(cose) - 1))
        action = data.draw(st.sampled_from(["set", "insert", "delete"]))
        if action == "set":
            cose[at] = data.draw(st.integers(0, 255))
        elif action == "insert":
            cose.insert(at, data.draw(st.integers(0, 255)))
        elif len(cose) > 1:
            del cose[at]
    text = "GK1:" + b45encode(bytes(cose))
    try:
        message = decode(text)
        verify_signature(message, [key.verifying_key])
    except GovkitError:
        pass


@FAST
@given(
    st.recursive(
        SCALARS | st.floats() | st.builds(cbor2.CBORTag, st.integers(0, 2**16), SCALARS),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(SCALARS.filter(lambda v: v is not None), inner, max_size=3)
        ),
        max_leaves=15,
    )
)
def test_decode_of_arbitrary_cbor_items(item: Any) -> None:
    """Well-formed CBOR of any shape (tags, floats, odd keys) as COSE and as payload."""
    try:
        encoded = cbor2.dumps(item)
    except Exception:  # not every generated value is encodable; that is not the point here
        return
    decode_or_govkit_error("GK1:" + b45encode(encoded))
    shell = cbor2.dumps(cbor2.CBORTag(18, [b"", {}, encoded, b""]))
    decode_or_govkit_error("GK1:" + b45encode(shell))
