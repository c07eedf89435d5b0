"""Properties of :class:`govkit.identity.TokenVerifier` and the strict JSON parser.

* Anything given to ``verify`` (bytes, text, near-miss tokens, validly signed tokens
  with arbitrary JSON headers and claims) gives :class:`IdentityClaims` or raises a
  :class:`~govkit.errors.GovkitError`; any other exception is a bug. ``inspect`` never
  raises for the same inputs.
* Changing any single character of a valid token never yields a token that verifies
  (no malleable encoding, no ignored byte).
* ``loads_strict`` returns a dict or raises :class:`~govkit.errors.MalformedToken`, and
  agrees with :func:`json.loads` on every document both accept.
* A ``sub`` made only of separators, controls, format (zero-width) characters and
  printable blanks is refused by the verifier (``token.missing_claim``) and by the
  issuer (:class:`~govkit.errors.ConfigurationError`); any ``sub`` is accepted by both
  exactly when an oracle built on :func:`unicodedata.category` finds a visible character.
"""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from govkit._encoding import b64url_encode
from govkit._json import loads_object
from govkit.errors import (
    ClaimNotAllowed,
    ConfigurationError,
    GovkitError,
    MalformedToken,
    MissingClaim,
    TokenError,
)
from govkit.identity import AssuranceLevel, IdentityClaims, TokenIssuer, TokenVerifier
from govkit.keys import KeyRing, SigningKey
from govkit.testing import FixedClock

#: The strict JSON parse the verifier runs on a token's header and claims.
loads_strict = partial(loads_object, error=MalformedToken, allow_floats=True, max_depth=16)

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
NOW = int(T0.timestamp())
ISS = "https://login.gov.example"
AUD = "https://tax.gov.example"

FAST = settings(max_examples=300, deadline=None)
SIGNED = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Every code point, lone surrogates included.
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=300)
B64URL = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", max_size=200)
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | ANY_TEXT
)
JSON = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(ANY_TEXT, children, max_size=4)
    ),
    max_leaves=20,
)
CLAIM_VALUES = {
    "iss": st.just(ISS) | JSON,
    "sub": st.just("pseudonym-1") | JSON,
    "aud": st.just(AUD) | st.just([AUD]) | JSON,
    "exp": st.just(NOW + 600) | st.integers() | JSON,
    "iat": st.just(NOW) | st.integers() | JSON,
    "nbf": st.just(NOW) | st.integers() | JSON,
    "jti": st.just("j-1") | JSON,
    "acr": st.sampled_from([level.acr for level in AssuranceLevel]) | JSON,
    "amr": st.just(["face"]) | JSON,
    "scope": st.just("a b") | JSON,
    "cnf": st.just({"jkt": "x" * 43}) | JSON,
}


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate("ES256")


@pytest.fixture(scope="module")
def verifier(key: SigningKey) -> TokenVerifier:
    clock = FixedClock(T0)
    return TokenVerifier(
        KeyRing(key, clock=clock),
        issuer=ISS,
        audience=AUD,
        clock=clock,
        min_assurance=AssuranceLevel.LOW,
    )


@pytest.fixture(scope="module")
def token(key: SigningKey) -> str:
    issuer = TokenIssuer(key, issuer=ISS, clock=FixedClock(T0))
    return issuer.issue(
        "pseudonym-1", AUD, AssuranceLevel.HIGH, timedelta(minutes=10), amr=["face"], scope="a"
    )


def only_claims_or_govkit_errors(verifier: TokenVerifier, value: Any) -> None:
    try:
        result = verifier.verify(value)
    except GovkitError:
        pass
    else:
        assert isinstance(result, IdentityClaims)
    report = verifier.inspect(value)  # never raises for a bad token
    assert report.ok == (report.claims is not None)


@FAST
@given(data=st.binary(max_size=2000))
def test_verify_any_bytes(verifier: TokenVerifier, data: bytes) -> None:
    only_claims_or_govkit_errors(verifier, data)


@FAST
@given(text=ANY_TEXT)
def test_verify_any_text(verifier: TokenVerifier, text: str) -> None:
    only_claims_or_govkit_errors(verifier, text)


@FAST
@given(parts=st.lists(B64URL, min_size=0, max_size=6), joiner=st.sampled_from([".", "..", "=."]))
def test_verify_near_miss_structures(
    verifier: TokenVerifier, parts: list[str], joiner: str
) -> None:
    only_claims_or_govkit_errors(verifier, joiner.join(parts))


@FAST
@given(header=JSON, claims=JSON, signature=st.binary(max_size=80))
def test_verify_arbitrary_json_with_a_bad_signature(
    verifier: TokenVerifier, header: Any, claims: Any, signature: bytes
) -> None:
    text = ".".join(
        b64url_encode(json.dumps(part).encode("utf-8", "surrogatepass"))
        for part in (header, claims)
    )
    only_claims_or_govkit_errors(verifier, f"{text}.{b64url_encode(signature)}")


@SIGNED
@given(
    extra_header=st.dictionaries(
        st.sampled_from(["alg", "kid", "typ", "crit", "b64", "jwk", "zip", "cty", "x"]),
        JSON,
        max_size=3,
    ),
    claims=st.fixed_dictionaries({}, optional=CLAIM_VALUES),
    more=st.dictionaries(ANY_TEXT, JSON, max_size=3),
)
def test_verify_validly_signed_arbitrary_claims(
    verifier: TokenVerifier,
    key: SigningKey,
    extra_header: dict[str, Any],
    claims: dict[str, Any],
    more: dict[str, Any],
) -> None:
    """The claim layer, reached with a genuine signature: still only claims or errors."""
    header = {"alg": key.alg, "kid": key.kid, "typ": "at+jwt", **extra_header}
    body = {**more, **claims}
    h = b64url_encode(json.dumps(header).encode("utf-8", "surrogatepass"))
    p = b64url_encode(json.dumps(body).encode("utf-8", "surrogatepass"))
    signature = key.sign(f"{h}.{p}".encode())
    only_claims_or_govkit_errors(verifier, f"{h}.{p}.{b64url_encode(signature)}")


@FAST
@given(data=st.data())
def test_changing_any_single_character_never_verifies(
    verifier: TokenVerifier, token: str, data: st.DataObject
) -> None:
    assert verifier.verify(token).subject == "pseudonym-1"
    index = data.draw(st.integers(min_value=0, max_value=len(token) - 1), label="index")
    replacement = data.draw(
        st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ")
        | st.characters(exclude_categories=()),
        label="replacement",
    )
    assume(replacement != token[index])
    mutated = token[:index] + replacement + token[index + 1 :]
    with pytest.raises(TokenError):
        verifier.verify(mutated)
    assert verifier.inspect(mutated).ok is False


@FAST
@given(data=st.data())
def test_inserting_or_deleting_a_character_never_verifies(
    verifier: TokenVerifier, token: str, data: st.DataObject
) -> None:
    index = data.draw(st.integers(min_value=0, max_value=len(token)), label="index")
    if data.draw(st.booleans(), label="delete") and index < len(token):
        mutated = token[:index] + token[index + 1 :]
    else:
        mutated = token[:index] + data.draw(st.characters(exclude_categories=())) + token[index:]
    with pytest.raises(TokenError):
        verifier.verify(mutated)


@FAST
@given(data=st.binary(max_size=500) | ANY_TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_loads_strict_only_returns_dicts_or_raises_malformed(data: bytes) -> None:
    try:
        value = loads_strict(data)
    except MalformedToken:
        return
    assert isinstance(value, dict)


@FAST
@given(value=st.dictionaries(ANY_TEXT, JSON, max_size=5))
def test_loads_strict_agrees_with_json_loads(value: dict[str, Any]) -> None:
    data = json.dumps(value).encode("utf-8", "surrogatepass")
    try:
        strict = loads_strict(data, max_depth=64)
    except MalformedToken:
        return  # refused (lone surrogates); json.loads would have accepted
    assert strict == json.loads(data)


# --- subjects must show something (issue #14) -----------------------------------------

#: Printable characters that still draw nothing: Default_Ignorable_Code_Point letters and
#: marks (Unicode 14 DerivedCoreProperties.txt) and U+2800 BRAILLE PATTERN BLANK.
PRINTABLE_BLANKS = frozenset({
    0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180B, 0x180C, 0x180D, 0x180F, 0x2800, 0x3164,
    *range(0xFE00, 0xFE10), 0xFFA0, *range(0xE0100, 0xE01F0),
})  # fmt: skip
INVISIBLE_CHARS = st.characters(categories=("Zs", "Zl", "Zp", "Cc", "Cf")) | st.sampled_from(
    sorted(chr(c) for c in PRINTABLE_BLANKS)
)
#: Everything but lone surrogates (which JSON text cannot carry as UTF-8).
SUBJECT_CHARS = st.characters(exclude_categories=("Cs",))


def oracle_visible(text: str) -> bool:
    """Visible: a character outside Z*, C* whose code point is not a printable blank."""
    return any(
        unicodedata.category(c)[0] not in "ZC" and ord(c) not in PRINTABLE_BLANKS for c in text
    )


def token_with_sub(key: SigningKey, sub: str) -> str:
    claims = {
        "iss": ISS,
        "sub": sub,
        "aud": AUD,
        "exp": NOW + 600,
        "iat": NOW,
        "jti": "j-1",
        "acr": AssuranceLevel.HIGH.acr,
    }
    h = b64url_encode(json.dumps({"alg": key.alg, "kid": key.kid, "typ": "at+jwt"}).encode())
    p = b64url_encode(json.dumps(claims).encode())
    return f"{h}.{p}.{b64url_encode(key.sign(f'{h}.{p}'.encode()))}"


@FAST
@given(sub=st.text(INVISIBLE_CHARS, min_size=1, max_size=20))
def test_a_subject_of_invisible_characters_is_refused_by_verifier_and_issuer(
    verifier: TokenVerifier, key: SigningKey, sub: str
) -> None:
    with pytest.raises(MissingClaim) as caught:
        verifier.verify(token_with_sub(key, sub))
    assert (caught.value.code, caught.value.context["claim"]) == ("token.missing_claim", "sub")
    with pytest.raises(ConfigurationError):
        TokenIssuer(key, issuer=ISS, clock=FixedClock(T0)).issue(
            sub, AUD, AssuranceLevel.HIGH, timedelta(minutes=10)
        )


@FAST
@given(sub=st.text(SUBJECT_CHARS, min_size=1, max_size=20) | st.text(INVISIBLE_CHARS, min_size=1))
def test_a_subject_is_accepted_exactly_when_it_shows_a_character(
    verifier: TokenVerifier, key: SigningKey, sub: str
) -> None:
    visible = oracle_visible(sub)
    report = verifier.inspect(token_with_sub(key, sub))
    assert report.ok == visible, report.to_dict()
    if not visible:
        assert report.code == "token.missing_claim"
    try:
        TokenIssuer(key, issuer=ISS, clock=FixedClock(T0)).issue(
            sub, AUD, AssuranceLevel.HIGH, timedelta(minutes=10)
        )
    except ClaimNotAllowed:  # a resident ID number in the subject, refused for that
        assert visible
    except ConfigurationError:
        assert not visible
    else:
        assert visible
