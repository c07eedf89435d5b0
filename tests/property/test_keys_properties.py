"""Properties of :mod:`govkit.keys` and the encoding helpers, driven by hypothesis.

Round trips (PEM plain and encrypted, JWK) must keep ``kid``, ``alg`` and the ability to
verify. Every parser fed arbitrary input must return a result or raise a
:class:`~govkit.errors.GovkitError`; any other exception is a bug.

Keys are generated once per module (RSA generation is slow); examples are kept few
enough for the whole module to run in seconds.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govkit._encoding import (
    b64_decode,
    b64_encode,
    b64url_decode,
    b64url_encode,
    int_from_b64url,
)
from govkit.errors import EncodingError, GovkitError, InvalidSignature, KeyPasswordError
from govkit.keys import KeyRing, SigningKey, VerifyingKey, ecdsa_der_to_raw

ALGS = ("EdDSA", "ES256", "PS256", "RS256")

FAST = settings(max_examples=60, deadline=None)
SLOW = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Every code point, lone surrogates included (JSON text may carry them).
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=200)


@pytest.fixture(scope="module")
def keys() -> dict[str, SigningKey]:
    return {alg: SigningKey.generate(alg) for alg in ALGS}


algs = st.sampled_from(ALGS)
messages = st.binary(max_size=512)
passwords = st.one_of(
    st.binary(min_size=1, max_size=64),
    st.text(min_size=1, max_size=32),
)


# --- round trips -----------------------------------------------------------------


@SLOW
@given(alg=algs, message=messages)
def test_plain_pem_round_trip_keeps_identity_and_signatures(
    keys: dict[str, SigningKey], alg: str, message: bytes
) -> None:
    key = keys[alg]
    loaded = SigningKey.from_pem(key.to_pem())
    assert (loaded.kid, loaded.alg) == (key.kid, key.alg)
    key.verifying_key.verify(loaded.sign(message), message)
    public = VerifyingKey.from_pem(key.verifying_key.to_pem())
    assert public == key.verifying_key
    public.verify(key.sign(message), message)


@SLOW
@given(alg=algs, password=passwords, wrong=passwords, message=messages)
def test_encrypted_pem_round_trip_opens_only_with_its_password(
    keys: dict[str, SigningKey],
    alg: str,
    password: bytes | str,
    wrong: bytes | str,
    message: bytes,
) -> None:
    key = keys[alg]
    pem = key.to_pem(password=password)
    loaded = SigningKey.from_pem(pem, password=password)
    assert (loaded.kid, loaded.alg) == (key.kid, key.alg)
    key.verifying_key.verify(loaded.sign(message), message)
    as_bytes = password.encode() if isinstance(password, str) else password
    wrong_bytes = wrong.encode() if isinstance(wrong, str) else wrong
    if wrong_bytes != as_bytes:
        with pytest.raises(KeyPasswordError):
            SigningKey.from_pem(pem, password=wrong)


@SLOW
@given(alg=algs, message=messages, foreign_kid=st.text(min_size=1, max_size=40))
def test_jwk_round_trip_keeps_identity_and_signatures(
    keys: dict[str, SigningKey], alg: str, message: bytes, foreign_kid: str
) -> None:
    key = keys[alg]
    jwk = json.loads(json.dumps(key.verifying_key.to_jwk()))
    loaded = VerifyingKey.from_jwk(jwk)
    assert (loaded.kid, loaded.alg) == (key.kid, key.alg)
    loaded.verify(key.sign(message), message)
    renamed = VerifyingKey.from_jwk({**jwk, "kid": foreign_kid})
    assert renamed.kid == key.kid


@FAST
@given(data=st.binary(max_size=300))
def test_base64url_and_base64_round_trip(data: bytes) -> None:
    assert b64url_decode(b64url_encode(data)) == data
    assert b64_decode(b64_encode(data)) == data


# --- parsers given arbitrary input -----------------------------------------------

JWK_MEMBERS = ("kty", "crv", "x", "y", "n", "e", "alg", "use", "kid", "d", "k", "key_ops")
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), ANY_TEXT
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=8,
)
b64url_text = st.binary(max_size=300).map(b64url_encode)
member_values = st.one_of(
    json_values,
    b64url_text,
    st.sampled_from(["OKP", "EC", "RSA", "oct", "Ed25519", "P-256", "P-384", "sig", "enc"]),
    st.sampled_from([*ALGS, "none", "AQAB"]),
)


@st.composite
def jwk_like(draw: st.DrawFn, keys: dict[str, SigningKey]) -> Any:
    """Mutations of a real JWK, or a dict of plausible members, or any JSON value."""
    kind = draw(st.sampled_from(["mutated", "members", "json"]))
    if kind == "json":
        return draw(json_values)
    if kind == "members":
        return draw(st.dictionaries(st.sampled_from(JWK_MEMBERS), member_values, max_size=8))
    jwk: dict[str, Any] = dict(keys[draw(algs)].verifying_key.to_jwk())
    for name in draw(st.lists(st.sampled_from(JWK_MEMBERS), min_size=1, max_size=3)):
        if draw(st.booleans()):
            jwk.pop(name, None)
        else:
            jwk[name] = draw(member_values)
    return jwk


@FAST
@given(data=st.data())
def test_from_jwk_returns_a_key_or_a_govkit_error(
    keys: dict[str, SigningKey], data: st.DataObject
) -> None:
    jwk = data.draw(jwk_like(keys))
    alg = data.draw(st.one_of(st.none(), algs))
    try:
        key = VerifyingKey.from_jwk(jwk, alg)
    except GovkitError:
        return
    assert key.alg in ALGS
    assert key.kid == VerifyingKey.from_jwk(key.to_jwk()).kid


@FAST
@given(data=st.data())
def test_from_jwks_returns_a_ring_or_a_govkit_error(
    keys: dict[str, SigningKey], data: st.DataObject
) -> None:
    entries = data.draw(st.lists(jwk_like(keys), max_size=3))
    document = data.draw(st.sampled_from([{"keys": entries}, entries, {"keys": entries[:1]}]))
    try:
        ring = KeyRing.from_jwks(document)
    except GovkitError:
        return
    assert len(ring) <= len(entries)


@st.composite
def pem_like(draw: st.DrawFn, keys: dict[str, SigningKey]) -> bytes | str:
    """Arbitrary bytes or text, or a real PEM with bytes flipped, cut or inserted."""
    kind = draw(st.sampled_from(["bytes", "text", "damaged"]))
    if kind == "bytes":
        return draw(st.binary(max_size=400))
    if kind == "text":
        return draw(ANY_TEXT)
    key = keys[draw(algs)]
    pem = bytearray(
        draw(
            st.sampled_from([key.to_pem(), key.verifying_key.to_pem(), key.to_pem(password=b"pw")])
        )
    )
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(pem) - 1))
        action = draw(st.sampled_from(["flip", "cut", "insert"]))
        if action == "flip":
            pem[at] ^= 1 << draw(st.integers(0, 7))
        elif action == "cut":
            del pem[at : at + draw(st.integers(1, 40))]
        else:
            pem[at:at] = draw(st.binary(min_size=1, max_size=8))
        if not pem:
            break
    return bytes(pem)


@FAST
@given(data=st.data())
def test_pem_loaders_return_a_key_or_a_govkit_error(
    keys: dict[str, SigningKey], data: st.DataObject
) -> None:
    pem = data.draw(pem_like(keys))
    alg = data.draw(st.one_of(st.none(), algs))
    password = data.draw(st.one_of(st.none(), st.just(b"pw"), passwords))
    try:
        public = VerifyingKey.from_pem(pem, alg)
    except GovkitError:
        pass
    else:
        assert public.alg in ALGS
    try:
        private = SigningKey.from_pem(pem, password=password, alg=alg)
    except GovkitError:
        pass
    else:
        assert private.alg in ALGS


@FAST
@given(text=st.one_of(ANY_TEXT, st.binary(max_size=200)))
def test_base64_decoders_return_bytes_or_an_encoding_error(text: str | bytes) -> None:
    for decode, encode in ((b64url_decode, b64url_encode), (b64_decode, b64_encode)):
        try:
            raw = decode(text)
        except EncodingError:
            continue
        # Strict decoders accept exactly one spelling of each byte string.
        as_text = text.decode("ascii") if isinstance(text, bytes) else text
        assert encode(raw) == as_text


@FAST
@given(text=ANY_TEXT)
def test_integer_decoder_returns_an_int_or_an_encoding_error(text: str) -> None:
    try:
        value = int_from_b64url(text)
    except EncodingError:
        return
    assert value >= 0


@FAST
@given(signature=st.binary(max_size=80))
def test_der_converter_returns_64_bytes_or_invalid_signature(signature: bytes) -> None:
    try:
        raw = ecdsa_der_to_raw(signature)
    except InvalidSignature:
        return
    assert len(raw) == 64


@FAST
@given(alg=algs, signature=st.binary(max_size=300), message=messages)
def test_verify_rejects_arbitrary_signature_bytes_with_invalid_signature(
    keys: dict[str, SigningKey], alg: str, signature: bytes, message: bytes
) -> None:
    with pytest.raises(InvalidSignature):
        keys[alg].verifying_key.verify(signature, message)
