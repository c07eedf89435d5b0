"""Evidence for :class:`TokenIssuer`, :class:`TokenVerifier` and :func:`pairwise_subject`.

Round trips for every algorithm govkit signs with (EdDSA, ES256, PS256, RS256), through a
rotating :class:`~govkit.keys.KeyRing` and through an HSM-style :class:`~govkit.keys.Signer`;
every claim check with its error code; leeway at the boundaries; ``inspect`` reporting
each check by name and code; the ``token.issue`` audit event; refusal of resident ID
numbers anywhere in a token; revocation and DPoP binding (with small fakes and with the
real :class:`~govkit.identity.MemoryIdentityStore` and :class:`~govkit.identity.DPoPVerifier`).

Tokens that an honest issuer would never make are forged by hand here (base64url of a
crafted header and claims, signed with the test's own key); ``test_attacks.py`` holds
the attacks proper.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from dataclasses import FrozenInstanceError, dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from govkit._encoding import b64url_decode, b64url_encode
from govkit.audit import AuditLog
from govkit.errors import (
    ClaimNotAllowed,
    ConfigurationError,
    DPoPBindingMismatch,
    EncodingError,
    GovkitError,
    InsufficientAssurance,
    MalformedToken,
    MissingClaim,
    NaiveDatetimeError,
    NoActiveKey,
    TokenAlgorithmRejected,
    TokenError,
    TokenExpired,
    TokenKeyUnknown,
    TokenNotYetValid,
    TokenRevoked,
    TokenSignatureInvalid,
    TokenTooLarge,
    UnknownKey,
    WrongAudience,
    WrongIssuer,
    WrongTokenType,
)
from govkit.identity import (
    AssuranceLevel,
    DPoPVerifier,
    IdentityClaims,
    KeySource,
    MemoryIdentityStore,
    TokenCheck,
    TokenIssuer,
    TokenReport,
    TokenVerifier,
    create_dpop_proof,
    pairwise_subject,
)
from govkit.identity._claims import _UnfrozenClaims
from govkit.identity._tokens import _B64URL_STRICT, RESERVED_CLAIMS, _decode_part, _NoTrace
from govkit.keys import KeyRing, SigningKey, VerifyingKey, ecdsa_der_to_raw
from govkit.testing import FixedClock

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
NOW = int(T0.timestamp())
ISS = "https://login.gov.example"
AUD = "https://tax.gov.example"
SUB = "Zq3b1u9Kc0vJ2m8ePqL5sXw7yT4aN6dHfG1iR0oU2eE"
TTL = timedelta(minutes=10)
ALGS = ("EdDSA", "ES256", "PS256", "RS256")
DROP = object()

#: Valid GB 11643 numbers from the standard and python-stdnum (spec section (c)).
RESIDENT_IDS = ("11010519491231002X", "440524188001010014", "360426199101010071")
#: The first one in the legacy 15-digit form, and with a lower-case check character.
RESIDENT_ID_VARIANTS = ("110105491231002", "11010519491231002x")

#: Subjects with nothing visible in them (issue #14): spaces, controls, zero-width and
#: other format characters, separators, and printable blanks.
INVISIBLE_SUBJECTS = (
    " ",
    "\x00",
    "\u200b",  # ZERO WIDTH SPACE
    "\u200c",  # ZERO WIDTH NON-JOINER
    "\u200d",  # ZERO WIDTH JOINER
    "\u2060",  # WORD JOINER
    "\ufeff",  # ZERO WIDTH NO-BREAK SPACE (BOM)
    "\u3000",  # IDEOGRAPHIC SPACE
    "\u00a0",  # NO-BREAK SPACE
    "\u00ad",  # SOFT HYPHEN
    "\u2028",  # LINE SEPARATOR
    "\u202e",  # RIGHT-TO-LEFT OVERRIDE
    "\u3164",  # HANGUL FILLER (Lo, but printable and blank)
    "\u2800",  # BRAILLE PATTERN BLANK
    "\ufe0f",  # VARIATION SELECTOR-16
    "\U000e0041",  # TAG LATIN CAPITAL LETTER A
    "\t\r\n\x0b\x0c\x1f\x7f",
    " \u200b\u3000\u00a0\ufeff\x00 ",
)
#: Subjects with something visible, however odd the rest.
VISIBLE_SUBJECTS = (" x ", "\u200bpseudonym\u200b", "\u3000张\u3000", "\x00.", "\u00e9", "\u0301")

#: Check names ``inspect`` reports for a good token, in order.
CHECK_NAMES = (
    "size",
    "structure",
    "type",
    "header",
    "key",
    "algorithm",
    "signature",
    "claims",
    "expiry",
    "not_before",
    "issued_at",
    "issuer",
    "audience",
    "subject",
    "token_id",
    "assurance",
    "amr",
    "scope",
    "confirmation",
    "revocation",
    "dpop",
)


# --- helpers --------------------------------------------------------------------


@pytest.fixture(scope="module")
def keys() -> dict[str, SigningKey]:
    return {alg: SigningKey.generate(alg) for alg in ALGS}


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def key(keys: dict[str, SigningKey]) -> SigningKey:
    return keys["ES256"]


def issuer_for(signer: Any, clock: FixedClock, **kwargs: Any) -> TokenIssuer:
    return TokenIssuer(signer, issuer=ISS, clock=clock, **kwargs)


def verifier_for(keys: KeySource, clock: FixedClock, **kwargs: Any) -> TokenVerifier:
    kwargs.setdefault("audience", AUD)
    return TokenVerifier(keys, issuer=ISS, clock=clock, **kwargs)


def claims_with(**changes: object) -> dict[str, Any]:
    """Well-formed claims at T0; ``name=DROP`` removes a claim."""
    claims: dict[str, Any] = {
        "iss": ISS,
        "sub": SUB,
        "aud": AUD,
        "exp": NOW + 600,
        "iat": NOW,
        "nbf": NOW,
        "jti": "hm7Jb0cQm1t3kR4uJ6pVxw",
        "acr": AssuranceLevel.SUBSTANTIAL.acr,
    }
    for name, value in changes.items():
        if value is DROP:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def forge(
    key: SigningKey,
    claims: dict[str, Any] | bytes,
    *,
    header: dict[str, Any] | None = None,
) -> str:
    """A compact JWS built by hand and signed with ``key``."""
    head = header if header is not None else {"alg": key.alg, "kid": key.kid, "typ": "at+jwt"}
    h = b64url_encode(json.dumps(head).encode())
    p = b64url_encode(claims if isinstance(claims, bytes) else json.dumps(claims).encode())
    return f"{h}.{p}.{b64url_encode(key.sign(f'{h}.{p}'.encode()))}"


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    h, p, s = token.split(".")
    return json.loads(b64url_decode(h)), json.loads(b64url_decode(p)), b64url_decode(s)


class HsmSigner:
    """A Signer that keeps its private key to itself, like an HSM or a cloud KMS.

    It signs with cryptography's DER ECDSA (as a PKCS#11 or KMS API returns it) and
    converts to the raw ``r || s`` form the Signer protocol promises.
    """

    def __init__(self) -> None:
        self._private = ec.generate_private_key(ec.SECP256R1())
        self.public = VerifyingKey(self._private.public_key(), "ES256")
        self.calls = 0

    @property
    def alg(self) -> str:
        return "ES256"

    @property
    def kid(self) -> str:
        return self.public.kid

    def sign(self, data: bytes) -> bytes:
        self.calls += 1
        return ecdsa_der_to_raw(self._private.sign(data, ec.ECDSA(hashes.SHA256())))


class CountingClock:
    """A clock that counts how often it is read."""

    def __init__(self, at: datetime) -> None:
        self.at = at
        self.reads = 0

    def now(self) -> datetime:
        self.reads += 1
        return self.at


# --- round trips ----------------------------------------------------------------


@pytest.mark.parametrize("alg", ALGS)
def test_round_trip(alg: str, keys: dict[str, SigningKey], clock: FixedClock) -> None:
    key = keys[alg]
    token = issuer_for(key, clock).issue(
        SUB,
        AUD,
        AssuranceLevel.HIGH,
        TTL,
        amr=["face", "sms"],
        scope=["tax.read", "tax.file"],
        department="tax",
        household={"members": 3, "roles": ["head"]},
    )
    claims = verifier_for(KeyRing(key, clock=clock), clock).verify(token)
    assert claims == IdentityClaims(
        issuer=ISS,
        subject=SUB,
        audience=AUD,
        assurance=AssuranceLevel.HIGH,
        amr=("face", "sms"),
        scope=("tax.read", "tax.file"),
        issued_at=T0,
        not_before=T0,
        expires_at=T0 + TTL,
        token_id=claims.token_id,
        profile="access",
        kid=key.kid,
        confirmation_jkt=None,
        extra={"department": "tax", "household": {"members": 3, "roles": ["head"]}},
    )


@pytest.mark.parametrize("alg", ALGS)
def test_header_and_claims_on_the_wire(
    alg: str, keys: dict[str, SigningKey], clock: FixedClock
) -> None:
    key = keys[alg]
    token = issuer_for(key, clock).issue(
        SUB, AUD, AssuranceLevel.SUBSTANTIAL, TTL, amr=["face"], scope="a b"
    )
    header, claims, signature = parts(token)
    assert header == {"alg": alg, "kid": key.kid, "typ": "at+jwt"}
    assert set(claims) == {"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "acr", "amr", "scope"}
    assert claims["acr"] == "http://eidas.europa.eu/LoA/substantial"
    assert claims["scope"] == "a b"
    assert claims["amr"] == ["face"]
    assert (claims["iat"], claims["nbf"], claims["exp"]) == (NOW, NOW, NOW + 600)
    assert len(b64url_decode(claims["jti"])) == 16  # 128 random bits
    if alg == "ES256":
        assert len(signature) == 64  # raw r || s, never DER


def test_token_ids_are_unique(key: SigningKey, clock: FixedClock) -> None:
    issuer = issuer_for(key, clock)
    ids = {parts(issuer.issue(SUB, AUD, AssuranceLevel.LOW, TTL))[1]["jti"] for _ in range(200)}
    assert len(ids) == 200


def test_id_token_profile(key: SigningKey, clock: FixedClock) -> None:
    token = issuer_for(key, clock).issue(SUB, AUD, AssuranceLevel.HIGH, TTL, profile="id")
    assert parts(token)[0]["typ"] == "JWT"
    claims = verifier_for(KeyRing(key, clock=clock), clock, profile="id").verify(token)
    assert claims.profile == "id"


def test_optional_claims_are_absent_unless_given(key: SigningKey, clock: FixedClock) -> None:
    token = issuer_for(key, clock).issue(SUB, AUD, AssuranceLevel.LOW, TTL)
    assert "amr" not in parts(token)[1]
    assert "scope" not in parts(token)[1]
    assert "cnf" not in parts(token)[1]
    claims = verifier_for(KeyRing(key, clock=clock), clock).verify(token)
    assert (claims.amr, claims.scope, claims.confirmation_jkt) == ((), (), None)


def test_not_before_is_written_and_enforced(key: SigningKey, clock: FixedClock) -> None:
    later = T0 + timedelta(minutes=5)
    token = issuer_for(key, clock).issue(SUB, AUD, AssuranceLevel.LOW, TTL, not_before=later)
    verifier = verifier_for(KeyRing(key, clock=clock), clock)
    with pytest.raises(TokenNotYetValid):
        verifier.verify(token)
    assert verifier.verify(token, at=later).not_before == later


def test_bytes_tokens_are_accepted(key: SigningKey, clock: FixedClock) -> None:
    token = issuer_for(key, clock).issue(SUB, AUD, AssuranceLevel.LOW, TTL)
    assert verifier_for(KeyRing(key, clock=clock), clock).verify(token.encode()).subject == SUB


def test_claims_are_frozen_and_extra_is_read_only(key: SigningKey, clock: FixedClock) -> None:
    token = issuer_for(key, clock).issue(SUB, AUD, AssuranceLevel.LOW, TTL, tenant="x")
    claims = verifier_for(KeyRing(key, clock=clock), clock).verify(token)
    with pytest.raises(FrozenInstanceError):
        claims.subject = "someone else"  # type: ignore[misc]
    with pytest.raises(TypeError):
        claims.extra["tenant"] = "y"  # type: ignore[index]
    assert claims.to_dict()["extra"] == {"tenant": "x"}
    json.dumps(claims.to_dict())


# --- keys: rotation, HSM signer -------------------------------------------------


def test_rotation_old_tokens_verify_until_the_old_key_is_retired(
    keys: dict[str, SigningKey], clock: FixedClock
) -> None:
    old, new = keys["EdDSA"], keys["ES256"]
    ring = KeyRing(old, clock=clock)
    issuer = issuer_for(ring, clock)
    verifier = verifier_for(ring, clock)
    before = issuer.issue(SUB, AUD, AssuranceLevel.HIGH, TTL)

    ring.activate(new)  # the issuer follows the ring: no new issuer needed
    after = issuer.issue(SUB, AUD, AssuranceLevel.HIGH, TTL)
    assert parts(before)[0]["kid"] == old.kid
    assert parts(after)[0] == {"alg": "ES256", "kid": new.kid, "typ": "at+jwt"}
    assert verifier.verify(before).kid == old.kid
    assert verifier.verify(after).kid == new.kid

    ring.retire(old.kid, not_after=T0 + timedelta(minutes=1))
    assert verifier.verify(before).kid == old.kid  # still inside the window
    clock.advance(timedelta(minutes=2))
    with pytest.raises(TokenKeyUnknown) as caught:
        verifier.verify(before)
    assert caught.value.context["kid"] == old.kid
    assert verifier.verify(after).kid == new.kid


def test_removed_key_is_unknown(keys: dict[str, SigningKey], clock: FixedClock) -> None:
    old, new = keys["EdDSA"], keys["ES256"]
    ring = KeyRing(old, clock=clock)
    token = issuer_for(ring, clock).issue(SUB, AUD, AssuranceLevel.HIGH, TTL)
    ring.activate(new)
    ring.remove(old.kid)
    with pytest.raises(TokenKeyUnknown):
        verifier_for(ring, clock).verify(token)


def test_hsm_signer(clock: FixedClock) -> None:
    hsm = HsmSigner()
    token = issuer_for(hsm, clock).issue(SUB, AUD, AssuranceLevel.HIGH, TTL)
    assert hsm.calls == 1
    assert len(parts(token)[2]) == 64
    ring = KeyRing(clock=clock)
    ring.add(hsm.public)
    assert verifier_for(ring, clock).verify(token).kid == hsm.kid


def test_hsm_signer_as_the_active_key_of_a_ring(clock: FixedClock) -> None:
    hsm = HsmSigner()
    ring = KeyRing(hsm, verifying_key=hsm.public, clock=clock)
    token = issuer_for(ring, clock).issue(SUB, AUD, AssuranceLevel.HIGH, TTL)
    assert verifier_for(ring, clock).verify(token).kid == hsm.kid


def test_verify_only_ring_cannot_issue(key: SigningKey, clock: FixedClock) -> None:
    ring = KeyRing(clock=clock)
    ring.add(key.verifying_key)
    with pytest.raises(NoActiveKey):
        issuer_for(ring, clock).issue(SUB, AUD, AssuranceLevel.HIGH, TTL)


def test_signer_with_an_algorithm_govkit_does_not_issue_is_refused(clock: FixedClock) -> None:
    class Hs256Signer:
        alg = "HS256"
        kid = "hmac"

        def sign(self, data: bytes) -> bytes:
            return b"\0" * 32

    with pytest.raises(ConfigurationError):
        issuer_for(Hs256Signer(), clock).issue(SUB, AUD, AssuranceLevel.HIGH, TTL)


def test_issuing_does_not_touch_pyjwt_globals(key: SigningKey, clock: FixedClock) -> None:
    import jwt  # noqa: PLC0415 - only this test looks at PyJWT's module state

    before = sorted(jwt.api_jws._jws_global_obj.get_algorithms())
    issuer_for(key, clock).issue(SUB, AUD, AssuranceLevel.HIGH, TTL)
    assert sorted(jwt.api_jws._jws_global_obj.get_algorithms()) == before


# --- claim checks, each with its error code -------------------------------------

CLAIM_CASES: list[tuple[str, dict[str, object], type[TokenError], str]] = [
    ("iss_missing", {"iss": DROP}, MissingClaim, "token.missing_claim"),
    (
        "iss_not_a_string",
        {"iss": ["https://login.gov.example"]},
        MissingClaim,
        "token.missing_claim",
    ),
    ("iss_other", {"iss": "https://login.other.example"}, WrongIssuer, "token.wrong_issuer"),
    ("iss_trailing_slash", {"iss": ISS + "/"}, WrongIssuer, "token.wrong_issuer"),
    ("iss_case", {"iss": ISS.upper()}, WrongIssuer, "token.wrong_issuer"),
    ("aud_missing", {"aud": DROP}, MissingClaim, "token.missing_claim"),
    ("aud_other", {"aud": "https://health.gov.example"}, WrongAudience, "token.wrong_audience"),
    ("aud_empty_list", {"aud": []}, WrongAudience, "token.wrong_audience"),
    ("aud_two", {"aud": [AUD, AUD]}, WrongAudience, "token.wrong_audience"),
    ("aud_number", {"aud": 7}, MissingClaim, "token.missing_claim"),
    ("exp_missing", {"exp": DROP}, MissingClaim, "token.missing_claim"),
    ("exp_string", {"exp": str(NOW + 600)}, MissingClaim, "token.missing_claim"),
    ("exp_bool", {"exp": True}, MissingClaim, "token.missing_claim"),
    ("exp_float", {"exp": NOW + 600.5}, MissingClaim, "token.missing_claim"),
    ("exp_negative", {"exp": -1}, MissingClaim, "token.missing_claim"),
    ("exp_past_year_9999", {"exp": 10**20}, MissingClaim, "token.missing_claim"),
    ("exp_passed", {"exp": NOW - 3600}, TokenExpired, "token.expired"),
    ("nbf_future", {"nbf": NOW + 3600}, TokenNotYetValid, "token.not_yet_valid"),
    ("nbf_string", {"nbf": str(NOW)}, MissingClaim, "token.missing_claim"),
    ("iat_missing", {"iat": DROP}, MissingClaim, "token.missing_claim"),
    ("iat_null", {"iat": None}, MissingClaim, "token.missing_claim"),
    ("iat_future", {"iat": NOW + 3600}, TokenNotYetValid, "token.not_yet_valid"),
    ("sub_missing", {"sub": DROP}, MissingClaim, "token.missing_claim"),
    ("sub_empty", {"sub": ""}, MissingClaim, "token.missing_claim"),
    ("sub_number", {"sub": 42}, MissingClaim, "token.missing_claim"),
    *(
        (f"sub_invisible_{sub!a}", {"sub": sub}, MissingClaim, "token.missing_claim")
        for sub in INVISIBLE_SUBJECTS
    ),
    ("jti_missing", {"jti": DROP}, MissingClaim, "token.missing_claim"),
    ("jti_empty", {"jti": ""}, MissingClaim, "token.missing_claim"),
    ("jti_too_long", {"jti": "j" * 257}, MissingClaim, "token.missing_claim"),
    ("acr_missing", {"acr": DROP}, MissingClaim, "token.missing_claim"),
    ("acr_unknown", {"acr": "urn:acr:medium"}, MissingClaim, "token.missing_claim"),
    ("acr_number", {"acr": 3}, MissingClaim, "token.missing_claim"),
    ("amr_string", {"amr": "face"}, MissingClaim, "token.missing_claim"),
    ("amr_numbers", {"amr": [1]}, MissingClaim, "token.missing_claim"),
    ("scope_list", {"scope": ["tax.read"]}, MissingClaim, "token.missing_claim"),
    ("cnf_string", {"cnf": "jkt"}, MissingClaim, "token.missing_claim"),
    ("cnf_without_jkt", {"cnf": {"jwk": {}}}, MissingClaim, "token.missing_claim"),
]


@pytest.mark.parametrize(
    ("changes", "error", "code"),
    [case[1:] for case in CLAIM_CASES],
    ids=[case[0] for case in CLAIM_CASES],
)
def test_claim_check(
    changes: dict[str, object],
    error: type[TokenError],
    code: str,
    key: SigningKey,
    clock: FixedClock,
) -> None:
    verifier = verifier_for(KeyRing(key, clock=clock), clock)
    token = forge(key, claims_with(**changes))
    with pytest.raises(error) as caught:
        verifier.verify(token)
    assert type(caught.value) is error
    assert caught.value.code == code
    report = verifier.inspect(token)
    assert (report.ok, report.code) == (False, code)


@pytest.mark.parametrize(
    "changes",
    [
        {"aud": [AUD]},
        {"nbf": DROP},
        {"acr": "substantial"},
        {"amr": []},
        {"scope": ""},
        {"cnf": {"jkt": "x" * 43, "other": 1}},
    ],
    ids=[
        "aud_one_element_list",
        "nbf_absent",
        "acr_short_name",
        "amr_empty",
        "scope_empty",
        "cnf_extra_members",
    ],
)
def test_accepted_claim_forms(
    changes: dict[str, object], key: SigningKey, clock: FixedClock
) -> None:
    verifier = verifier_for(KeyRing(key, clock=clock), clock)
    report = verifier.inspect(forge(key, claims_with(**changes)))
    if "cnf" in changes:  # bound tokens are then refused for the missing proof, not the form
        assert report.code == "dpop.binding_mismatch"
    else:
        assert report.ok, report.to_dict()


@pytest.mark.parametrize("sub", INVISIBLE_SUBJECTS, ids=ascii)
def test_subject_with_no_visible_character_is_refused(
    sub: str, key: SigningKey, clock: FixedClock
) -> None:
    """A blank-looking ``sub`` would show as nobody in every log; the claim is malformed."""
    verifier = verifier_for(KeyRing(key, clock=clock), clock)
    token = forge(key, claims_with(sub=sub))
    with pytest.raises(MissingClaim) as caught:
        verifier.verify(token)
    assert caught.value.code == "token.missing_claim"
    assert caught.value.context["claim"] == "sub"
    assert "visible" in caught.value.message
    report = verifier.inspect(token)
    assert (report.checks[-1].name, report.code) == ("subject", "token.missing_claim")
    with pytest.raises(ConfigurationError) as refused:
        issuer_for(key, clock).issue(sub, AUD, AssuranceLevel.HIGH, TTL)
    assert "visible" in refused.value.message
    with pytest.raises(ConfigurationError):
        replace(verifier.verify(forge(key, claims_with())), subject=sub)


@pytest.mark.parametrize("sub", VISIBLE_SUBJECTS, ids=ascii)
def test_subject_with_a_visible_character_is_accepted(
    sub: str, key: SigningKey, clock: FixedClock
) -> None:
    token = issuer_for(key, clock).issue(sub, AUD, AssuranceLevel.HIGH, TTL)
    assert verifier_for(KeyRing(key, clock=clock), clock).verify(token).subject == sub


def test_nbf_absent_means_valid_from_iat(key: SigningKey, clock: FixedClock) -> None:
    verifier = verifier_for(KeyRing(key, clock=clock), clock)
    claims = verifier.verify(forge(key, claims_with(nbf=DROP, iat=NOW - 60)))
    assert claims.not_before == claims.issued_at == T0 - timedelta(minutes=1)


@pytest.mark.parametrize(
    ("required", "given", "ok"),
    [
        (AssuranceLevel.HIGH, AssuranceLevel.HIGH, True),
        (AssuranceLevel.SUBSTANTIAL, AssuranceLevel.HIGH, True),
        (AssuranceLevel.HIGH, AssuranceLevel.SUBSTANTIAL, False),
        (AssuranceLevel.SUBSTANTIAL, AssuranceLevel.LOW, False),
        (AssuranceLevel.LOW, AssuranceLevel.LOW, True),
    ],
)
def test_min_assurance(
    required: AssuranceLevel, given: AssuranceLevel, ok: bool, key: SigningKey, clock: FixedClock
) -> None:
    token = issuer_for(key, clock).issue(SUB, AUD, given, TTL)
    verifier = verifier_for(KeyRing(key, clock=clock), clock, min_assurance=required)
    if ok:
        assert verifier.verify(token).assurance is given
        return
    with pytest.raises(InsufficientAssurance) as caught:
        verifier.verify(token)
    assert caught.value.code == "token.insufficient_assurance"
    assert caught.value.required == required.name.lower()
    assert caught.value.context["required"] == required.name.lower()


def test_typ_is_case_insensitive_and_accepts_the_media_type(
    key: SigningKey, clock: FixedClock
) -> None:
    verifier = verifier_for(KeyRing(key, clock=clock), clock)
    for typ in ("at+jwt", "AT+JWT", "application/at+jwt", "Application/AT+JWT"):
        header = {"alg": key.alg, "kid": key.kid, "typ": typ}
        assert verifier.verify(forge(key, claims_with(), header=header)).subject == SUB
    id_verifier = verifier_for(KeyRing(key, clock=clock), clock, profile="id")
    for typ in ("JWT", "jwt", "application/jwt"):
        header = {"alg": key.alg, "kid": key.kid, "typ": typ}
        assert id_verifier.verify(forge(key, claims_with(), header=header)).profile == "id"


@pytest.mark.parametrize("typ", [None, "", "JWT", "jwt", "dpop+jwt", "at+jwt ", 1, ["at+jwt"]])
def test_wrong_typ_for_access_tokens(typ: object, key: SigningKey, clock: FixedClock) -> None:
    header = {"alg": key.alg, "kid": key.kid}
    if typ is not None:
        header["typ"] = typ
    with pytest.raises(WrongTokenType):
        verifier_for(KeyRing(key, clock=clock), clock).verify(
            forge(key, claims_with(), header=header)
        )


# --- leeway ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("leeway", "offset", "expired"),
    [
        (30, -1, False),  # one second before exp
        (30, 0, False),  # at exp, inside the leeway
        (30, 29, False),
        (30, 30, True),  # now >= exp + leeway
        (0, -1, False),
        (0, 0, True),
        (300, 299, False),
    ],
)
def test_expiry_leeway(
    leeway: int, offset: int, expired: bool, key: SigningKey, clock: FixedClock
) -> None:
    verifier = verifier_for(KeyRing(key, clock=clock), clock, leeway=timedelta(seconds=leeway))
    token = forge(key, claims_with())
    at = datetime.fromtimestamp(NOW + 600 + offset, UTC)
    if expired:
        with pytest.raises(TokenExpired):
            verifier.verify(token, at=at)
    else:
        assert verifier.verify(token, at=at).subject == SUB


@pytest.mark.parametrize("claim", ["nbf", "iat"])
@pytest.mark.parametrize(("ahead", "ok"), [(30, True), (31, False), (0, True)])
def test_future_nbf_and_iat_leeway(
    claim: str, ahead: int, ok: bool, key: SigningKey, clock: FixedClock
) -> None:
    changes: dict[str, object] = {claim: NOW + ahead}
    if claim == "iat":
        changes["nbf"] = DROP
    token = forge(key, claims_with(**changes))
    verifier = verifier_for(KeyRing(key, clock=clock), clock)
    if ok:
        assert verifier.verify(token).subject == SUB
    else:
        with pytest.raises(TokenNotYetValid) as caught:
            verifier.verify(token)
        assert caught.value.context["claim"] == claim


def test_at_overrides_the_clock(key: SigningKey, clock: FixedClock) -> None:
    token = issuer_for(key, clock).issue(SUB, AUD, AssuranceLevel.LOW, TTL)
    verifier = verifier_for(KeyRing(key, clock=clock), clock)
    with pytest.raises(TokenExpired):
        verifier.verify(token, at=T0 + timedelta(hours=1))
    with pytest.raises(NaiveDatetimeError):
        verifier.verify(token, at=datetime(2026, 11, 28, 9, 0))


def test_the_clock_is_read_once_per_verification(key: SigningKey) -> None:
    counting = CountingClock(T0)
    ring = KeyRing(key, clock=FixedClock(T0))
    token = forge(key, claims_with())
    verifier = TokenVerifier(ring, issuer=ISS, audience=AUD, clock=counting)
    verifier.verify(token)
    assert counting.reads == 1
    verifier.inspect(token)
    assert counting.reads == 2
    verifier.verify(token, at=T0)
    assert counting.reads == 2


def test_a_clock_or_at_outside_utc_is_read_as_inspect_reads_it(key: SigningKey) -> None:
    # verify() resolves the time itself (resolve_time written out): a naive time is
    # refused naming the same argument as inspect(), and a time in another zone is the
    # same instant (read once), whether it comes from at= or from the clock.
    ring = KeyRing(key, clock=FixedClock(T0))
    token = forge(key, claims_with())
    plus_eight = timezone(timedelta(hours=8))
    for clock, at, argument in (
        (CountingClock(T0.replace(tzinfo=None)), None, "clock.now()"),
        (CountingClock(T0), T0.replace(tzinfo=None), "at"),
    ):
        verifier = TokenVerifier(ring, issuer=ISS, audience=AUD, clock=clock)
        for check in (verifier.verify, verifier.inspect):
            with pytest.raises(NaiveDatetimeError) as caught:
                check(token, at=at)
            assert caught.value.context == {"argument": argument}
    for clock, at in (
        (CountingClock(T0.astimezone(plus_eight)), None),
        (CountingClock(T0), T0.astimezone(plus_eight)),
    ):
        verifier = TokenVerifier(ring, issuer=ISS, audience=AUD, clock=clock)
        claims = verifier.verify(token, at=at)
        assert claims == TokenVerifier(ring, issuer=ISS, audience=AUD).verify(token, at=T0)
        assert clock.reads == (1 if at is None else 0)
        assert verifier.inspect(token, at=at).valid


# --- inspect --------------------------------------------------------------------


def test_each_check_of_a_token_report_is_said_in_chinese_with_its_values_as_they_are(
    key: SigningKey, clock: FixedClock
) -> None:
    token = issuer_for(key, clock).issue(SUB, AUD, AssuranceLevel.HIGH, TTL, amr=["face"])
    report = verifier_for(KeyRing(key, clock=clock), clock).inspect(token)
    said = {c.name: c.detail_in("zh") for c in report.checks}
    assert said["size"] == "不超过 8192 字节"
    assert said["type"] == "typ 为 access 身份令牌类型"
    assert said["key"] == f"密钥 {key.kid}（{key.alg}）"
    assert said["algorithm"] == f"alg 为该密钥的 {key.alg}"
    assert said["signature"] == "签名验证通过"
    assert said["expiry"] == "600 秒后过期"
    assert said["assurance"] == "认证等级 acr HIGH"
    assert said["amr"] == "1 个 amr 认证方式"
    assert said["revocation"] == "未配置撤销记录存储"
    assert said["dpop"] == "持有者令牌"
    english = {c.name: c.detail for c in report.checks}
    assert english["size"] == "at most 8192 bytes"
    assert english["key"] == f"key {key.kid} ({key.alg})"
    assert english["expiry"] == "expires in 600 s"  # whole seconds, as before
    assert all(c.detail_key is not None for c in report.checks)  # every check is translated
    assert report.to_dict()["checks"][0] == {
        "name": "size",
        "ok": True,
        "code": None,
        "detail": "at most 8192 bytes",
    }


def test_a_token_reports_expiry_in_whole_seconds_within_a_second(
    key: SigningKey, clock: FixedClock
) -> None:
    token = issuer_for(key, clock).issue(SUB, AUD, AssuranceLevel.HIGH, TTL)
    at = T0 + timedelta(seconds=0.75)
    expiry = next(
        c
        for c in verifier_for(KeyRing(key, clock=clock), clock).inspect(token, at=at).checks
        if c.name == "expiry"
    )
    assert (expiry.detail, expiry.detail_in("zh")) == ("expires in 599 s", "599 秒后过期")


def test_inspect_reports_every_check_of_a_good_token(key: SigningKey, clock: FixedClock) -> None:
    token = issuer_for(key, clock).issue(SUB, AUD, AssuranceLevel.HIGH, TTL, amr=["face"])
    report = verifier_for(KeyRing(key, clock=clock), clock).inspect(token)
    assert isinstance(report, TokenReport)
    assert (report.ok, report.code) == (True, None)
    assert tuple(c.name for c in report.checks) == CHECK_NAMES
    assert all(c.code is None and c.detail for c in report.checks)
    # No revocation store: revocation is reported as not performed, never as a pass.
    assert [c.name for c in report.checks if c.ok is not True] == ["revocation"]
    assert report.skipped == ("revocation",)
    assert report.claims is not None
    assert report.claims.subject == SUB
    data = json.loads(json.dumps(report.to_dict()))
    assert (data["valid"], data["kind"], data["code"]) == (True, "token", None)
    assert next(c for c in data["checks"] if c["name"] == "revocation")["ok"] is None
    assert [c["name"] for c in data["checks"]] == list(CHECK_NAMES)
    assert data["claims"]["assurance"] == "high"


def headed(key: SigningKey, **header: object) -> str:
    """Good claims under the usual header changed by ``header`` (``name=DROP`` removes)."""
    head: dict[str, Any] = {"alg": key.alg, "kid": key.kid, "typ": "at+jwt"}
    head.update(header)
    return forge(key, claims_with(), header={k: v for k, v in head.items() if v is not DROP})


def headed_dict(key: SigningKey) -> dict[str, Any]:
    return {"alg": key.alg, "kid": key.kid, "typ": "at+jwt"}


def claimed(**changes: object) -> Callable[[SigningKey], str]:
    return lambda key: forge(key, claims_with(**changes))


INSPECT_CASES: list[tuple[str, Callable[[SigningKey], str | bytes], str, str]] = [
    ("too_large", lambda k: "a" * 9000, "size", "token.too_large"),
    ("two_parts", lambda k: "abc.def", "structure", "token.malformed"),
    ("not_ascii", lambda k: "é.b.c", "structure", "token.malformed"),
    ("wrong_typ", lambda k: headed(k, typ="JWT"), "type", "token.wrong_type"),
    ("jku", lambda k: headed(k, jku="https://evil.example"), "header", "token.forbidden_header"),
    ("crit", lambda k: headed(k, crit=["exp"]), "header", "token.unsupported_crit"),
    ("no_kid", lambda k: headed(k, kid=DROP), "header", "token.malformed"),
    ("unknown_kid", lambda k: headed(k, kid="nope"), "key", "token.unknown_key"),
    ("alg", lambda k: headed(k, alg="ES384"), "algorithm", "token.algorithm"),
    ("signature", lambda k: headed(k)[:-4] + "AAAA", "signature", "token.invalid_signature"),
    ("claims_not_object", lambda k: forge(k, b"[1,2]"), "claims", "token.malformed"),
    ("expired", claimed(exp=NOW - 100), "expiry", "token.expired"),
    ("nbf", claimed(nbf=NOW + 100), "not_before", "token.not_yet_valid"),
    ("iat", claimed(iat=NOW + 100, nbf=DROP), "issued_at", "token.not_yet_valid"),
    ("iss", claimed(iss="x"), "issuer", "token.wrong_issuer"),
    ("aud", claimed(aud="x"), "audience", "token.wrong_audience"),
    ("sub", claimed(sub=DROP), "subject", "token.missing_claim"),
    ("jti", claimed(jti=DROP), "token_id", "token.missing_claim"),
    ("acr", claimed(acr=AssuranceLevel.LOW.acr), "assurance", "token.insufficient_assurance"),
    ("amr", claimed(amr="face"), "amr", "token.missing_claim"),
    ("scope", claimed(scope=1), "scope", "token.missing_claim"),
    ("cnf", claimed(cnf=1), "confirmation", "token.missing_claim"),
    ("dpop", claimed(cnf={"jkt": "x" * 43}), "dpop", "dpop.binding_mismatch"),
]


@pytest.mark.parametrize(
    ("make", "name", "code"),
    [case[1:] for case in INSPECT_CASES],
    ids=[case[0] for case in INSPECT_CASES],
)
def test_inspect_names_the_failed_check(
    make: Callable[[SigningKey], str], name: str, code: str, key: SigningKey, clock: FixedClock
) -> None:
    verifier = verifier_for(
        KeyRing(key, clock=clock), clock, min_assurance=AssuranceLevel.SUBSTANTIAL
    )
    token = make(key)
    report = verifier.inspect(token)
    assert (report.ok, report.code, report.claims) == (False, code, None)
    *passed, failed = report.checks
    assert failed == TokenCheck(name, False, code, failed.detail)
    assert all(c.ok or (c.name == "revocation" and c.ok is None) for c in passed)
    assert [c.name for c in report.checks] == list(CHECK_NAMES[: len(report.checks)])
    with pytest.raises(TokenError) as caught:
        verifier.verify(token)
    assert caught.value.code == code


@pytest.mark.parametrize(
    "garbage",
    ["", ".", "..", "...", "a.b.c", "{}", "null", b"\xff\xfe", "\x00" * 10, 42, None, ["a.b.c"]],
)
def test_inspect_never_raises_on_garbage(garbage: Any, key: SigningKey, clock: FixedClock) -> None:
    report = verifier_for(KeyRing(key, clock=clock), clock).inspect(garbage)
    assert report.ok is False
    assert report.code in {"token.malformed", "token.too_large"}


def test_inspect_raises_on_misconfiguration(key: SigningKey, clock: FixedClock) -> None:
    verifier = verifier_for(KeyRing(key, clock=clock), clock)
    token = forge(key, claims_with())
    with pytest.raises(NaiveDatetimeError):
        verifier.inspect(token, at=datetime(2026, 1, 1))
    bound = forge(key, claims_with(cnf={"jkt": "x" * 43}))
    with pytest.raises(ConfigurationError):  # a proof, but no DPoPVerifier configured
        verifier.inspect(bound, dpop_proof="proof", htm="GET", htu="https://x.example/")


# --- audit ----------------------------------------------------------------------


def test_issue_writes_an_audit_event(key: SigningKey, clock: FixedClock, tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.db", origin="login.gov.example/audit", clock=clock)
    token = issuer_for(key, clock, audit=log).issue(
        SUB, AUD, AssuranceLevel.HIGH, TTL, profile="id"
    )
    jti = parts(token)[1]["jti"]
    (entry,) = log.query(action="token.issue")
    event = entry.event
    assert event.occurred_at == T0
    assert (event.actor_id, event.actor_type) == (ISS, "service")
    assert (event.resource_type, event.resource_id) == ("identity_token", jti)
    assert dict(event.details) == {"profile": "id", "assurance": "high", "audience": AUD}
    assert event.personal == frozenset()
    assert SUB not in json.dumps(event.to_dict())  # the subject is not logged
    log.close()


def test_no_audit_event_for_a_refused_token(
    key: SigningKey, clock: FixedClock, tmp_path: Path
) -> None:
    log = AuditLog(tmp_path / "audit.db", origin="login.gov.example/audit", clock=clock)
    with pytest.raises(ClaimNotAllowed):
        issuer_for(key, clock, audit=log).issue(RESIDENT_IDS[0], AUD, AssuranceLevel.HIGH, TTL)
    assert log.size() == 0
    log.close()


# --- resident ID numbers are never put in a token --------------------------------


def assert_refused_without_the_value(make: Callable[[], object], value: str) -> ClaimNotAllowed:
    with pytest.raises(ClaimNotAllowed) as caught:
        make()
    error = caught.value
    assert error.code == "token.claim_not_allowed"
    for text in (str(error), repr(error), json.dumps(error.to_dict())):
        assert value not in text
        assert value[:-1] not in text
    return error


@pytest.mark.parametrize("number", RESIDENT_IDS + RESIDENT_ID_VARIANTS)
def test_resident_id_as_subject_is_refused(number: str, key: SigningKey, clock: FixedClock) -> None:
    issuer = issuer_for(key, clock)
    error = assert_refused_without_the_value(
        lambda: issuer.issue(number, AUD, AssuranceLevel.HIGH, TTL), number
    )
    assert error.context["claim"] == "sub"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("id_number", "11010519491231002X"),
        ("holder", {"name": "Zhang", "id": "11010519491231002X"}),
        ("holder", {"documents": [{"type": "resident", "number": "440524188001010014"}]}),
        ("household", ["someone", ["deeper", "360426199101010071"]]),
        ("note", "身份证号11010519491231002X已核验"),  # embedded in text
        ("note", "id:440524188001010014;"),
        ("legacy", "110105491231002"),
        ("as_integer", 440524188001010014),
        ("holder", {"11010519491231002X": "verified"}),  # as a member name
    ],
    ids=[
        "top_level",
        "nested_in_a_dict",
        "nested_in_a_list_of_dicts",
        "nested_in_lists",
        "embedded_in_chinese_text",
        "embedded_in_ascii_text",
        "legacy_15_digits",
        "integer",
        "member_name",
    ],
)
def test_resident_id_in_a_claim_is_refused(
    name: str, value: object, key: SigningKey, clock: FixedClock
) -> None:
    issuer = issuer_for(key, clock)
    number = next(n for n in (*RESIDENT_IDS, *RESIDENT_ID_VARIANTS) if n in json.dumps(value))
    error = assert_refused_without_the_value(
        lambda: issuer.issue(SUB, AUD, AssuranceLevel.HIGH, TTL, **{name: value}), number
    )
    assert error.context["claim"] == name


def test_resident_id_as_a_claim_name_is_refused(key: SigningKey, clock: FixedClock) -> None:
    issuer = issuer_for(key, clock)
    number = RESIDENT_IDS[0]
    error = assert_refused_without_the_value(
        lambda: issuer.issue(SUB, AUD, AssuranceLevel.HIGH, TTL, **{number: True}), number
    )
    assert error.context["claim"] == "(a claim name)"


@pytest.mark.parametrize("where", ["audience", "scope"])
def test_resident_id_in_audience_or_scope_is_refused(
    where: str, key: SigningKey, clock: FixedClock
) -> None:
    issuer = issuer_for(key, clock)
    number = RESIDENT_IDS[1]
    if where == "audience":
        make: Callable[[], object] = lambda: issuer.issue(SUB, number, AssuranceLevel.HIGH, TTL)  # noqa: E731
    else:
        make = lambda: issuer.issue(SUB, AUD, AssuranceLevel.HIGH, TTL, scope=[number])  # noqa: E731
    assert_refused_without_the_value(make, number)


@pytest.mark.parametrize(
    "value",
    [
        "110105194912310021",  # check character wrong
        "110105194902300020",  # 30 February
        "1101051949123100211",  # 19 digits: not an ID number
        "order 2026112800000001",
        123456789012345678,
    ],
)
def test_numbers_that_are_not_resident_ids_are_allowed(
    value: object, key: SigningKey, clock: FixedClock
) -> None:
    token = issuer_for(key, clock).issue(SUB, AUD, AssuranceLevel.HIGH, TTL, reference=value)
    claims = verifier_for(KeyRing(key, clock=clock), clock).verify(token)
    assert claims.extra["reference"] == value


# --- other refusals at issue time ----------------------------------------------


@pytest.mark.parametrize("name", ["iss", "sub", "aud", "exp", "iat", "nbf", "jti", "acr", "cnf"])
def test_reserved_claim_names_are_refused(name: str, key: SigningKey, clock: FixedClock) -> None:
    with pytest.raises(ClaimNotAllowed) as caught:
        issuer_for(key, clock).issue(SUB, AUD, AssuranceLevel.HIGH, TTL, **{name: "x"})
    assert caught.value.context["claims"] == [name]


@pytest.mark.parametrize(
    "value",
    [
        {1, 2},
        b"bytes",
        datetime(2026, 1, 1, tzinfo=UTC),
        float("nan"),
        float("inf"),
        {"nested": object()},
        {1: "non-string member name"},
        "\ud800",
        [[[[[[[[[[[[[[[[["17 levels"]]]]]]]]]]]]]]]]],
    ],
    ids=[
        "set",
        "bytes",
        "datetime",
        "nan",
        "inf",
        "object",
        "int_key",
        "lone_surrogate",
        "too_deep",
    ],
)
def test_non_json_claim_values_are_refused(
    value: object, key: SigningKey, clock: FixedClock
) -> None:
    with pytest.raises(ClaimNotAllowed) as caught:
        issuer_for(key, clock).issue(SUB, AUD, AssuranceLevel.HIGH, TTL, extra_claim=value)
    assert caught.value.context["claim"] == "extra_claim"


def test_sixteen_levels_are_the_deepest_issued_and_accepted(
    key: SigningKey, clock: FixedClock
) -> None:
    value: Any = "leaf"
    for _ in range(15):  # claims object (1) + 15 nested lists = 16 levels
        value = [value]
    token = issuer_for(key, clock).issue(SUB, AUD, AssuranceLevel.HIGH, TTL, deep=value)
    assert verifier_for(KeyRing(key, clock=clock), clock).verify(token).extra["deep"] == value


@pytest.mark.parametrize(
    "kwargs",
    [
        {"ttl": timedelta(0)},
        {"ttl": timedelta(seconds=-1)},
        {"ttl": timedelta(hours=12, seconds=1)},
        {"ttl": 600},
        {"amr": ["retina-scan"]},
        {"amr": ["face", "selfie"]},
        {"scope": "a  b"},
        {"scope": ["a b"]},
        {"scope": [""]},
        {"scope": ['quote"']},
        {"profile": "refresh"},
        {"assurance": "high"},
        {"assurance": 3},
        {"subject": ""},
        {"audience": ""},
        {"audience": [AUD]},
        {"confirmation_jkt": "not-a-thumbprint"},
        {"confirmation_jkt": "A" * 44},
        {"not_before": T0 + TTL},
    ],
    ids=lambda kwargs: "-".join(f"{k}={v!r}"[:40] for k, v in kwargs.items()),
)
def test_bad_issue_arguments_are_configuration_errors(
    kwargs: dict[str, Any], key: SigningKey, clock: FixedClock
) -> None:
    args: dict[str, Any] = {
        "subject": SUB,
        "audience": AUD,
        "assurance": AssuranceLevel.HIGH,
        "ttl": TTL,
    }
    args.update(kwargs)
    with pytest.raises(ConfigurationError):
        issuer_for(key, clock).issue(**args)


def test_ttl_up_to_max_ttl(key: SigningKey, clock: FixedClock) -> None:
    issuer = issuer_for(key, clock, max_ttl=timedelta(minutes=5))
    issuer.issue(SUB, AUD, AssuranceLevel.HIGH, timedelta(minutes=5))
    with pytest.raises(ConfigurationError) as caught:
        issuer.issue(SUB, AUD, AssuranceLevel.HIGH, timedelta(minutes=6))
    assert caught.value.context["max_ttl_seconds"] == 300


def test_naive_not_before_is_refused(key: SigningKey, clock: FixedClock) -> None:
    with pytest.raises(NaiveDatetimeError):
        issuer_for(key, clock).issue(
            SUB,
            AUD,
            AssuranceLevel.HIGH,
            TTL,
            not_before=datetime(2026, 11, 28, 9),
        )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"key": "a PEM string"},
        {"issuer": ""},
        {"max_ttl": timedelta(0)},
        {"audit": "audit.db"},
    ],
    ids=["key", "issuer", "max_ttl", "audit"],
)
def test_bad_issuer_configuration(kwargs: dict[str, Any], key: SigningKey) -> None:
    args: dict[str, Any] = {"key": key, "issuer": ISS}
    args.update(kwargs)
    with pytest.raises(ConfigurationError):
        TokenIssuer(args.pop("key"), **args)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"keys": object()},
        {"issuer": ""},
        {"audience": ""},
        {"profile": "refresh"},
        {"min_assurance": "high"},
        {"leeway": timedelta(seconds=-1)},
        {"leeway": timedelta(minutes=6)},
        {"leeway": 30},
        {"max_token_bytes": 10},
        {"max_token_bytes": True},
        {"store": object()},
        {"dpop": object()},
    ],
    ids=lambda kwargs: "-".join(f"{k}={v!r}"[:30] for k, v in kwargs.items()),
)
def test_bad_verifier_configuration(kwargs: dict[str, Any], key: SigningKey) -> None:
    args: dict[str, Any] = {"keys": KeyRing(key), "issuer": ISS, "audience": AUD}
    args.update(kwargs)
    with pytest.raises(ConfigurationError):
        TokenVerifier(args.pop("keys"), **args)


def test_max_token_bytes(key: SigningKey, clock: FixedClock) -> None:
    token = issuer_for(key, clock).issue(SUB, AUD, AssuranceLevel.HIGH, TTL, pad="x" * 2000)
    small = verifier_for(KeyRing(key, clock=clock), clock, max_token_bytes=len(token) - 1)
    with pytest.raises(TokenTooLarge) as caught:
        small.verify(token)
    assert caught.value.context == {"size": len(token), "limit": len(token) - 1}
    exact = verifier_for(KeyRing(key, clock=clock), clock, max_token_bytes=len(token))
    assert exact.verify(token).extra["pad"] == "x" * 2000


# --- pairwise subjects ----------------------------------------------------------

SECRET = bytes(range(32))


def test_pairwise_subject_is_stable() -> None:
    a = pairwise_subject(SECRET, "11010519491231002X", "tax.gov.example")
    assert a == pairwise_subject(SECRET, "11010519491231002X", "tax.gov.example")
    assert len(a) == 43
    assert len(b64url_decode(a)) == 32


def test_pairwise_subject_differs_per_sector_person_and_secret() -> None:
    person, other = "11010519491231002X", "440524188001010014"
    subjects = {
        pairwise_subject(SECRET, person, "tax.gov.example"),
        pairwise_subject(SECRET, person, "health.gov.example"),
        pairwise_subject(SECRET, other, "tax.gov.example"),
        pairwise_subject(bytes(32), person, "tax.gov.example"),
    }
    assert len(subjects) == 4


def test_pairwise_subject_separates_sector_from_person() -> None:
    # Without the length prefix these two would hash the same bytes.
    assert pairwise_subject(SECRET, "bc", "a") != pairwise_subject(SECRET, "c", "ab")


def test_pairwise_subject_is_a_valid_subject(key: SigningKey, clock: FixedClock) -> None:
    subject = pairwise_subject(SECRET, RESIDENT_IDS[0], "tax.gov.example")
    assert RESIDENT_IDS[0] not in subject
    token = issuer_for(key, clock).issue(subject, AUD, AssuranceLevel.HIGH, TTL)
    assert verifier_for(KeyRing(key, clock=clock), clock).verify(token).subject == subject


@pytest.mark.parametrize(
    ("secret", "person", "sector"),
    [
        (bytes(31), "p", "s"),
        ("x" * 32, "p", "s"),
        (SECRET, "", "s"),
        (SECRET, "p", ""),
        (SECRET, "\ud800", "s"),
    ],
)
def test_pairwise_subject_refuses_bad_input(secret: Any, person: str, sector: str) -> None:
    with pytest.raises(ConfigurationError):
        pairwise_subject(secret, person, sector)


# --- revocation -----------------------------------------------------------------


@dataclass
class FakeRevocations:
    revoked: frozenset[str] = frozenset()
    cutoff: datetime | None = None
    asked_at: list[datetime] = field(default_factory=list)

    def is_revoked(self, jti: str, *, now: datetime) -> bool:
        self.asked_at.append(now)
        return jti in self.revoked

    def subject_not_before(self, subject: str) -> datetime | None:
        return self.cutoff if subject == SUB else None


def test_revoked_token_id_with_a_fake_store(key: SigningKey, clock: FixedClock) -> None:
    token = forge(key, claims_with(jti="revoked-1"))
    store = FakeRevocations(revoked=frozenset({"revoked-1"}))
    verifier = verifier_for(KeyRing(key, clock=clock), clock, store=store)
    with pytest.raises(TokenRevoked) as caught:
        verifier.verify(token)
    assert caught.value.code == "token.revoked"
    assert verifier.verify(forge(key, claims_with(jti="other"))).token_id == "other"


@pytest.mark.parametrize(
    ("cutoff", "revoked"),
    [
        (T0 + timedelta(seconds=1), True),  # logged out everywhere after the token was issued
        (T0 + timedelta(microseconds=1), True),
        (T0, False),  # issued at the cutoff: kept
        (T0 - timedelta(hours=1), False),
        (None, False),
    ],
)
def test_subject_not_before_with_a_fake_store(
    cutoff: datetime | None, revoked: bool, key: SigningKey, clock: FixedClock
) -> None:
    verifier = verifier_for(KeyRing(key, clock=clock), clock, store=FakeRevocations(cutoff=cutoff))
    token = forge(key, claims_with())
    if revoked:
        with pytest.raises(TokenRevoked):
            verifier.verify(token)
    else:
        assert verifier.verify(token).subject == SUB


def test_revocation_with_the_memory_identity_store(key: SigningKey, clock: FixedClock) -> None:
    store = MemoryIdentityStore()
    issuer = issuer_for(key, clock)
    verifier = verifier_for(KeyRing(key, clock=clock), clock, store=store)
    first = issuer.issue(SUB, AUD, AssuranceLevel.HIGH, TTL)
    second = issuer.issue(SUB, AUD, AssuranceLevel.HIGH, TTL)
    claims = verifier.verify(first)
    store.revoke_token(claims.token_id, expires_at=claims.expires_at + timedelta(seconds=30))
    with pytest.raises(TokenRevoked):
        verifier.verify(first)
    assert verifier.verify(second).subject == SUB

    clock.advance(timedelta(minutes=1))
    store.revoke_subject(SUB, not_before=clock.now())  # "log out everywhere"
    with pytest.raises(TokenRevoked):
        verifier.verify(second)
    clock.advance(timedelta(seconds=1))
    fresh = issuer.issue(SUB, AUD, AssuranceLevel.HIGH, TTL)
    assert verifier.verify(fresh).subject == SUB


def test_the_revocation_store_is_asked_with_the_verification_time(
    key: SigningKey, clock: FixedClock
) -> None:
    store = FakeRevocations()
    verifier = verifier_for(KeyRing(key, clock=clock), clock, store=store)
    verifier.verify(forge(key, claims_with()))
    at = T0 + timedelta(minutes=3)
    verifier.verify(forge(key, claims_with()), at=at)
    assert store.asked_at == [T0, at]


def test_revoked_token_to_a_verifier_years_behind_the_system_clock_is_refused(
    key: SigningKey,
) -> None:
    """The store once read the system clock: the revocation had already expired for it."""
    past = datetime(2019, 5, 1, 8, 0, tzinfo=UTC)
    assert past < datetime.now(UTC) - timedelta(days=365 * 5)
    behind = FixedClock(past)
    store = MemoryIdentityStore()
    token = issuer_for(key, behind).issue(SUB, AUD, AssuranceLevel.HIGH, TTL)
    verifier = verifier_for(KeyRing(key, clock=behind), behind, store=store)
    claims = verifier.verify(token)
    store.revoke_token(claims.token_id, expires_at=claims.expires_at + timedelta(seconds=30))
    with pytest.raises(TokenRevoked) as caught:
        verifier.verify(token)
    assert caught.value.code == "token.revoked"


def test_revocation_is_reported_by_inspect(key: SigningKey, clock: FixedClock) -> None:
    store = FakeRevocations(revoked=frozenset({"r"}))
    verifier = verifier_for(KeyRing(key, clock=clock), clock, store=store)
    report = verifier.inspect(forge(key, claims_with(jti="r")))
    assert (report.checks[-1].name, report.code) == ("revocation", "token.revoked")


# --- DPoP binding ---------------------------------------------------------------

HTU = "https://tax.gov.example/returns"


@dataclass(frozen=True)
class FakeProof:
    jkt: str


class FakeDPoP:
    """Accepts any proof text; the proof's key thumbprint is the text after 'proof-by-'."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def verify(
        self,
        proof: str,
        *,
        htm: str,
        htu: str,
        access_token: str | None = None,
        at: datetime | None = None,
    ) -> FakeProof:
        self.calls.append({"htm": htm, "htu": htu, "access_token": access_token, "at": at})
        return FakeProof(proof.removeprefix("proof-by-"))


JKT = b64url_encode(bytes(32))


def test_bound_token_with_a_matching_proof_fake(key: SigningKey, clock: FixedClock) -> None:
    dpop = FakeDPoP()
    token = issuer_for(key, clock).issue(SUB, AUD, AssuranceLevel.HIGH, TTL, confirmation_jkt=JKT)
    assert parts(token)[1]["cnf"] == {"jkt": JKT}
    verifier = verifier_for(KeyRing(key, clock=clock), clock, dpop=dpop)
    claims = verifier.verify(token, dpop_proof=f"proof-by-{JKT}", htm="POST", htu=HTU)
    assert claims.confirmation_jkt == JKT
    assert dpop.calls == [{"htm": "POST", "htu": HTU, "access_token": token, "at": T0}]


def test_bound_token_with_a_proof_by_another_key_fake(key: SigningKey, clock: FixedClock) -> None:
    token = issuer_for(key, clock).issue(SUB, AUD, AssuranceLevel.HIGH, TTL, confirmation_jkt=JKT)
    verifier = verifier_for(KeyRing(key, clock=clock), clock, dpop=FakeDPoP())
    with pytest.raises(DPoPBindingMismatch):
        verifier.verify(token, dpop_proof="proof-by-someone-else", htm="POST", htu=HTU)


def test_bound_token_as_bearer_fake(key: SigningKey, clock: FixedClock) -> None:
    token = issuer_for(key, clock).issue(SUB, AUD, AssuranceLevel.HIGH, TTL, confirmation_jkt=JKT)
    dpop = FakeDPoP()
    with pytest.raises(DPoPBindingMismatch) as caught:
        verifier_for(KeyRing(key, clock=clock), clock, dpop=dpop).verify(token)
    assert "bearer" in str(caught.value)
    assert dpop.calls == []


def test_proof_with_an_unbound_token_fake(key: SigningKey, clock: FixedClock) -> None:
    token = issuer_for(key, clock).issue(SUB, AUD, AssuranceLevel.HIGH, TTL)
    verifier = verifier_for(KeyRing(key, clock=clock), clock, dpop=FakeDPoP())
    with pytest.raises(DPoPBindingMismatch):
        verifier.verify(token, dpop_proof=f"proof-by-{JKT}", htm="GET", htu=HTU)


def test_proof_without_htm_htu_is_a_configuration_error(key: SigningKey, clock: FixedClock) -> None:
    token = issuer_for(key, clock).issue(SUB, AUD, AssuranceLevel.HIGH, TTL, confirmation_jkt=JKT)
    verifier = verifier_for(KeyRing(key, clock=clock), clock, dpop=FakeDPoP())
    with pytest.raises(ConfigurationError):
        verifier.verify(token, dpop_proof=f"proof-by-{JKT}")


def test_dpop_binding_with_the_real_dpop_verifier(
    keys: dict[str, SigningKey], clock: FixedClock
) -> None:
    idp_key, client_key, thief_key = keys["ES256"], keys["EdDSA"], SigningKey.generate("ES256")
    dpop = DPoPVerifier(replay_store=MemoryIdentityStore(), clock=clock)
    verifier = verifier_for(KeyRing(idp_key, clock=clock), clock, dpop=dpop)
    token = issuer_for(idp_key, clock).issue(
        SUB, AUD, AssuranceLevel.HIGH, TTL, confirmation_jkt=client_key.kid
    )

    proof = create_dpop_proof(client_key, htm="GET", htu=HTU, access_token=token, clock=clock)
    claims = verifier.verify(token, dpop_proof=proof, htm="GET", htu=HTU)
    assert claims.confirmation_jkt == client_key.kid

    stolen = create_dpop_proof(thief_key, htm="GET", htu=HTU, access_token=token, clock=clock)
    with pytest.raises(DPoPBindingMismatch):
        verifier.verify(token, dpop_proof=stolen, htm="GET", htu=HTU)
    with pytest.raises(DPoPBindingMismatch):
        verifier.verify(token)  # sent as a bearer token
    with pytest.raises(TokenError) as replayed:
        verifier.verify(token, dpop_proof=proof, htm="GET", htu=HTU)
    assert replayed.value.code == "token.replayed"
    elsewhere = create_dpop_proof(client_key, htm="GET", htu=HTU, access_token=token, clock=clock)
    with pytest.raises(TokenError) as wrong_url:
        verifier.verify(token, dpop_proof=elsewhere, htm="GET", htu="https://other.example/")
    assert wrong_url.value.code == "dpop.invalid"


# --- what errors may say --------------------------------------------------------


def test_errors_never_contain_token_content(key: SigningKey, clock: FixedClock) -> None:
    secret_sub = "sub-SECRET-7f3a"
    secret_jti = "jti-SECRET-91bc"
    verifier = verifier_for(
        KeyRing(key, clock=clock),
        clock,
        min_assurance=AssuranceLevel.HIGH,
        store=FakeRevocations(revoked=frozenset({secret_jti})),
    )
    base = {"sub": secret_sub, "jti": secret_jti}
    tokens = [
        forge(key, claims_with(**base)),
        forge(key, claims_with(**base, acr=AssuranceLevel.HIGH.acr)),
        forge(key, claims_with(**base, iss="iss-SECRET")),
        forge(key, claims_with(**base, aud="aud-SECRET")),
        forge(key, claims_with(**base, exp="exp-SECRET")),
        forge(key, claims_with(**base, acr="acr-SECRET")),
        forge(key, claims_with(**base), header={"alg": "alg-SECRET", "kid": key.kid}),
        forge(key, claims_with(**base), header={"alg": key.alg, "typ": "typ-SECRET"}),
        forge(key, claims_with(**base), header={**headed_dict(key), "alg": "alg-SECRET"}),
    ]
    for token in tokens:
        with pytest.raises(GovkitError) as caught:
            verifier.verify(token)
        text = json.dumps(caught.value.to_dict()) + repr(caught.value)
        assert "SECRET" not in text, text
        assert token not in text
        assert token.split(".")[1] not in text
        report = verifier.inspect(token)
        assert "SECRET" not in json.dumps(report.to_dict())


def test_malformed_token_messages_do_not_quote_the_token(
    key: SigningKey, clock: FixedClock
) -> None:
    verifier = verifier_for(KeyRing(key, clock=clock), clock)
    token = forge(key, claims_with())
    head = base64.urlsafe_b64encode(b'{"alg":"ES256","alg":"none"}').decode().rstrip("=")
    for bad in (token + ".", token.replace(".", "..", 1), head + "." + token.split(".", 1)[1]):
        with pytest.raises(MalformedToken) as caught:
            verifier.verify(bad)
        assert token.split(".")[1] not in json.dumps(caught.value.to_dict())


# --- the header memo (issue #18) --------------------------------------------------


def test_header_memo_is_not_filled_by_forged_tokens(keys: dict[str, SigningKey]) -> None:
    """A token whose signature fails leaves no header behind (no unauthenticated state)."""
    clock = FixedClock(T0)
    key, other = keys["EdDSA"], SigningKey.generate("EdDSA")
    verifier = verifier_for(KeyRing(key, clock=clock), clock)
    header = {"alg": "EdDSA", "kid": key.kid, "typ": "at+jwt"}
    for n in range(3):
        forged = forge(other, claims_with(jti=f"forged-{n}"), header=header)
        with pytest.raises(TokenSignatureInvalid):
            verifier.verify(forged)
    assert verifier._headers == {}
    verifier.verify(forge(key, claims_with(), header=header))
    assert len(verifier._headers) == 1


def test_memoized_header_still_needs_a_valid_signature_and_alg(
    keys: dict[str, SigningKey],
) -> None:
    """Once a header is known, a token reusing it is still checked in full."""
    clock = FixedClock(T0)
    key = keys["ES256"]
    verifier = verifier_for(KeyRing(key, clock=clock), clock)
    token = issuer_for(key, clock).issue(SUB, AUD, AssuranceLevel.HIGH, TTL)
    verifier.verify(token)
    head = token.split(".")[0]
    tampered = f"{head}.{b64url_encode(json.dumps(claims_with(sub='someone-else')).encode())}"
    with pytest.raises(TokenSignatureInvalid):
        verifier.verify(f"{tampered}.{token.split('.')[2]}")
    with pytest.raises(WrongIssuer):
        verifier.verify(forge(key, claims_with(iss="https://evil.example"), header=parts(token)[0]))
    report = verifier.inspect(token)
    assert report.valid
    assert report.checks == verifier.inspect(token).checks
    assert [c.name for c in report.checks] == [
        c.name for c in verifier_for(KeyRing(key, clock=clock), clock).inspect(token).checks
    ]


def test_header_memo_is_bounded(clock: FixedClock) -> None:
    """Many signing keys (so many headers) keep the memo at its bound; all still verify."""
    ring = KeyRing(SigningKey.generate("EdDSA"), clock=clock)
    issuer = issuer_for(ring, clock)
    verifier = verifier_for(ring, clock)
    tokens = []
    for _ in range(20):
        tokens.append(issuer.issue(SUB, AUD, AssuranceLevel.HIGH, TTL))
        ring.activate(SigningKey.generate("EdDSA"))
    for token in tokens + tokens:
        assert verifier.verify(token).subject == SUB
        assert len(verifier._headers) <= 16


# --- the verify fast path (issue #18) ---------------------------------------------
#
# verify() decodes a token whose header it has verified before without the header, and
# checks claims of the usual shape in one pass (_common_claims); anything else goes
# through the checks inspect() runs one by one. These tests hold the two to each other.


def fault(call: Callable[[], object]) -> tuple[str, str] | None:
    """The (code, message) ``call`` raised, or ``None`` when it returned."""
    try:
        call()
    except TokenError as exc:
        return exc.code, exc.message
    return None


def inspected(verifier: TokenVerifier, token: object) -> tuple[str, str] | None:
    """The (code, detail) of ``inspect``'s failed check, or ``None`` when it verified."""
    report = verifier.inspect(token)  # type: ignore[arg-type]
    if report.valid:
        return None
    failed = report.checks[-1]
    assert failed.code is not None
    return failed.code, failed.detail


class SwappableKeys:
    """A key source whose key for the kid ``k1`` the test replaces (a JWKS refresh)."""

    def __init__(self, key: VerifyingKey | None) -> None:
        self.key = key

    def get(self, kid: str, *, at: datetime | None = None) -> VerifyingKey:
        if kid != "k1" or self.key is None:
            raise UnknownKey("no key with that kid")
        return self.key


#: Values each reserved claim may take in the claims property below: the usual ones,
#: the edges of each check, and wrong types.
_LEEWAY = 30
CLAIM_CHOICES: dict[str, list[object]] = {
    "iss": [ISS, ISS + "/", [ISS], None, 1],
    "aud": [AUD, [AUD], [AUD, AUD], [], "x", None, {"a": AUD}],
    "sub": [SUB, "", " ", "\u200b", "\u3000张", " x", "\x00.", 1, ["s"]],
    "jti": ["j", "j" * 256, "j" * 257, "", 7, None],
    "acr": [
        AssuranceLevel.HIGH.acr,
        AssuranceLevel.SUBSTANTIAL.acr,
        AssuranceLevel.LOW.acr,
        "high",
        "Substantial",
        "LOW",
        AssuranceLevel.HIGH.acr + " ",
        3,
        ["high"],
        None,
    ],
    "amr": [[], ["face"], ["face", "pwd"], ["face", 1], "face", None, {}],
    "scope": ["", "tax.read", "a b", " a  b ", " ", 1, None, ["a"]],
    "cnf": [{"jkt": "t" * 43}, {"jkt": ""}, {"jkt": 1}, {}, [], None, "t"],
    "exp": [NOW + 600, NOW - _LEEWAY, NOW - _LEEWAY + 1, NOW + 0.5, True, -1, "1", None],
    "iat": [NOW, NOW + _LEEWAY, NOW + _LEEWAY + 1, 0, -1, 253402300800, 1.0, False, None],
    "nbf": [NOW, NOW - 5, NOW + _LEEWAY, NOW + _LEEWAY + 1, 253402300799, 1.5, None, "0"],
}
DROPPED = object()
#: One key for the hypothesis tests (a fixture would be shared across examples anyway).
SIGNER_FOR_PROPERTIES = SigningKey.generate("EdDSA")
KEY_FOR_PROPERTIES = SIGNER_FOR_PROPERTIES.verifying_key


@st.composite
def claim_sets(draw: st.DrawFn) -> dict[str, Any]:
    """Claims like an honest issuer's, with up to four of them dropped or changed."""
    claims: dict[str, Any] = claims_with(amr=["face"], scope="tax.read")
    changed = draw(st.lists(st.sampled_from(sorted(CLAIM_CHOICES)), max_size=4, unique=True))
    for name in changed:
        choice = draw(st.sampled_from([DROPPED, *CLAIM_CHOICES[name]]))
        if choice is DROPPED:
            claims.pop(name, None)
        else:
            claims[name] = choice
    if draw(st.booleans()):
        claims["department"] = draw(st.sampled_from(["tax", 1, None, {"x": [1]}]))
    return claims


@settings(max_examples=600)
@given(claims=claim_sets(), strict=st.booleans())
def test_one_pass_claims_check_agrees_with_the_checks_one_by_one(
    claims: dict[str, Any], strict: bool
) -> None:
    """What _common_claims accepts, the checks inspect() runs accept with equal claims;
    whatever it declines, they decide (so it can never let through what they refuse)."""
    key = KEY_FOR_PROPERTIES
    clock = FixedClock(T0)
    verifier = verifier_for(
        KeyRing(SIGNER_FOR_PROPERTIES, clock=clock),
        clock,
        min_assurance=AssuranceLevel.SUBSTANTIAL if strict else None,
        leeway=timedelta(seconds=_LEEWAY),
    )
    now = T0.timestamp()
    trace = _NoTrace()

    def one_by_one() -> IdentityClaims:
        return verifier._check_claims(claims, key, verifier._check_times(claims, now, trace), trace)

    fast = verifier._common_claims(claims, key, now)
    refused = fault(one_by_one)
    if fast is not None:
        assert refused is None
        assert fast == one_by_one()
        assert type(fast.amr) is tuple
        assert type(fast.scope) is tuple


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"nbf": DROP},
        {"nbf": NOW - 5},
        {"aud": [AUD]},
        {"amr": ["face", "pwd"], "scope": "a b", "cnf": {"jkt": "t" * 43}},
        {"scope": ""},
        {"department": "tax"},
        {"nbf": DROP, "department": "tax"},
        {"amr": [], "scope": "", "cnf": {"jkt": "t" * 43}, "nbf": DROP, "x": None},
        {"exp": NOW - _LEEWAY + 1, "iat": NOW + _LEEWAY, "nbf": NOW + _LEEWAY},
    ],
)
def test_usual_claims_take_the_one_pass_check(changes: dict[str, object]) -> None:
    """The shapes honest issuers write, edges of the leeway included, are accepted in
    one pass, with the claims the checks one by one give."""
    clock = FixedClock(T0)
    key = KEY_FOR_PROPERTIES
    verifier = verifier_for(
        KeyRing(SIGNER_FOR_PROPERTIES, clock=clock), clock, leeway=timedelta(seconds=_LEEWAY)
    )
    claims = claims_with(**changes)
    now = T0.timestamp()
    trace = _NoTrace()
    fast = verifier._common_claims(claims, key, now)
    assert fast is not None
    assert fast == verifier._check_claims(
        claims, key, verifier._check_times(claims, now, trace), trace
    )
    # extra: exactly the unreserved claims (the one pass counts the reserved ones)
    assert dict(fast.extra) == {k: v for k, v in claims.items() if k not in RESERVED_CLAIMS}


@settings(max_examples=150)
@given(claims=claim_sets())
def test_verify_and_inspect_agree_on_any_claims(claims: dict[str, Any]) -> None:
    """Through a header the verifier already knows (the fast path) and through a fresh
    verifier: the same claims, or the same error code and message as inspect()'s."""
    clock = FixedClock(T0)
    ring = KeyRing(SIGNER_FOR_PROPERTIES, clock=clock)
    known = verifier_for(ring, clock, leeway=timedelta(seconds=_LEEWAY))
    known.verify(forge(SIGNER_FOR_PROPERTIES, claims_with()))  # the header is now known
    token = forge(SIGNER_FOR_PROPERTIES, claims)
    fresh = verifier_for(ring, clock, leeway=timedelta(seconds=_LEEWAY))
    expected = inspected(fresh, token)
    assert fault(lambda: known.verify(token)) == expected
    assert fault(lambda: fresh.verify(token)) == expected
    assert inspected(known, token) == expected
    if expected is None:
        assert known.verify(token) == fresh.inspect(token).claims


def _token_faults(token: str) -> list[object]:
    """Damaged copies of ``token`` that keep its (known) header text."""
    head, payload, signature = token.split(".")
    flipped = "B" if payload[-1] == "A" else "A"
    return [
        token + ".",
        token + ".x",
        f"{head}.{payload}",
        f"{head}..{signature}",
        f"{head}.{payload}.",
        f"{head}.{payload[:-1]}é.{signature}",
        f"{head}.{payload}=.{signature}",
        f"{head}.{payload}.{signature}==",
        f"{head}.{payload[:-2]}+/.{signature}",
        f"{head}.{payload} .{signature}",
        f"{head}.{payload}A.{signature}",
        f"{head}.{payload}.{signature}A",
        f"{head}.{payload[:-1]}{flipped}.{signature}",
        f"{head}.{payload}.{signature[:-1]}{'B' if signature[-1] == 'A' else 'A'}",
        f"{head}.{payload}.{signature[:-2]}",
        f"{head}.{payload}.{signature}" + "\x00",
        token.encode()[:-1],
        token + "A" * 9000,
        f"{head}.e30.{signature}",
    ]


def test_a_known_header_does_not_change_how_a_damaged_token_is_refused(
    key: SigningKey, clock: FixedClock
) -> None:
    """Every structural fault after a known header: verify() raises exactly the code and
    message inspect() reports, with the header known or not."""
    ring = KeyRing(key, clock=clock)
    known = verifier_for(ring, clock)
    token = forge(key, claims_with())
    known.verify(token)
    assert len(known._headers) == 1
    for damaged in _token_faults(token):
        expected = inspected(verifier_for(ring, clock), damaged)
        assert expected is not None, damaged
        assert fault(lambda: known.verify(damaged)) == expected, damaged  # noqa: B023
        assert inspected(known, damaged) == expected, damaged
    assert known.verify(token.encode()) == known.verify(token)
    assert list(known._headers) == [token.split(".")[0]]


def test_a_header_refused_once_is_refused_again_with_the_same_code(
    key: SigningKey, clock: FixedClock
) -> None:
    """No refusal is remembered, and no refusal leaves a header in the memo: the second
    try fails exactly as the first, before and after a good token filled the memo."""
    ring = KeyRing(key, clock=clock)
    verifier = verifier_for(ring, clock)
    refused = [
        headed(key, typ="JWT"),
        headed(key, typ=DROP),
        headed(key, jku="https://evil.example"),
        headed(key, crit=["exp"]),
        headed(key, b64=False),
        headed(key, kid=DROP),
        headed(key, kid="k" * 257),
        headed(key, kid="nope"),
        headed(key, alg="none"),
        headed(key, alg="ES384"),
        forge(SigningKey.generate(key.alg), claims_with(), header=headed_dict(key)),
        forge(key, claims_with(exp=NOW - 100)),
    ]
    first = [fault(lambda: verifier.verify(t)) for t in refused]  # noqa: B023
    assert all(f is not None for f in first)
    assert [f[0] for f in first if f is not None] == [
        "token.wrong_type",
        "token.wrong_type",
        "token.forbidden_header",
        "token.unsupported_crit",
        "token.malformed",
        "token.malformed",
        "token.malformed",
        "token.unknown_key",
        "token.algorithm",
        "token.algorithm",
        "token.invalid_signature",
        "token.expired",
    ]
    assert list(verifier._headers) == [refused[-1].split(".")[0]]  # only the signed one
    verifier.verify(forge(key, claims_with()))
    for _ in range(2):
        assert [fault(lambda: verifier.verify(t)) for t in refused] == first  # noqa: B023
    assert [inspected(verifier, t) for t in refused] == first


def test_header_memo_follows_a_key_set_change_under_the_same_kid(clock: FixedClock) -> None:
    """The memo keeps only what the header decides: after the key behind a kid changes
    (a refreshed JWKS), its old tokens fail, the new key's verify, and a kid gone or
    now naming a key of another algorithm is refused, each every time."""
    old, new, other = (SigningKey.generate(alg) for alg in ("EdDSA", "EdDSA", "ES256"))
    header = {"alg": "EdDSA", "kid": "k1", "typ": "at+jwt"}
    source = SwappableKeys(old.verifying_key)
    verifier = verifier_for(source, clock)
    old_token = forge(old, claims_with(), header=header)
    new_token = forge(new, claims_with(jti="another-token"), header=header)
    assert verifier.verify(old_token).kid == old.kid
    assert len(verifier._headers) == 1
    source.key = new.verifying_key
    for _ in range(2):
        with pytest.raises(TokenSignatureInvalid):
            verifier.verify(old_token)
        assert verifier.verify(new_token).kid == new.kid
    source.key = other.verifying_key
    for _ in range(2):
        with pytest.raises(TokenAlgorithmRejected) as caught:
            verifier.verify(new_token)
        assert caught.value.context == {"alg": "EdDSA", "expected": "ES256", "kid": other.kid}
    source.key = None
    for _ in range(2):
        with pytest.raises(TokenKeyUnknown):
            verifier.verify(new_token)
    assert inspected(verifier, new_token) == fault(lambda: verifier.verify(new_token))
    source.key = new.verifying_key
    assert verifier.verify(new_token).kid == new.kid


def test_a_retired_key_is_refused_through_a_known_header(
    keys: dict[str, SigningKey], clock: FixedClock
) -> None:
    """A key's validity window is checked on every token, not when its header was learnt."""
    key = keys["EdDSA"]
    ring = KeyRing(key, clock=clock)
    ring.activate(SigningKey.generate("EdDSA"))
    verifier = verifier_for(ring, clock)
    token = forge(key, claims_with())
    verifier.verify(token)
    ring.retire(key.kid, not_after=T0 - timedelta(seconds=1))
    with pytest.raises(TokenKeyUnknown):
        verifier.verify(token)
    ring.remove(key.kid)
    with pytest.raises(TokenKeyUnknown):
        verifier.verify(token)


def test_verified_claims_set_every_field() -> None:
    """IdentityClaims._verified gives the object the checking constructor gives."""
    fields = {
        "issuer": ISS,
        "subject": SUB,
        "audience": AUD,
        "assurance": AssuranceLevel.HIGH,
        "amr": ("face",),
        "scope": ("a", "b"),
        "issued_at": T0,
        "not_before": T0 + timedelta(seconds=1),
        "expires_at": T0 + TTL,
        "token_id": "j",
        "profile": "id",
        "kid": "k",
        "confirmation_jkt": "t" * 43,
        "extra": {"department": "tax"},
    }
    built = IdentityClaims(**fields)  # type: ignore[arg-type]
    fast = IdentityClaims._verified(*[built.__getattribute__(name) for name in fields])
    assert fast == built
    assert [getattr(fast, name) for name in fields] == [getattr(built, name) for name in fields]
    with pytest.raises(FrozenInstanceError):
        fast.subject = "x"  # type: ignore[misc]
    # Filled as an _UnfrozenClaims, it is an IdentityClaims through and through.
    assert type(fast) is IdentityClaims
    assert not hasattr(fast, "__dict__")
    assert replace(fast, token_id="k2") == replace(built, token_id="k2")
    assert copy.copy(fast) == built
    with pytest.raises(FrozenInstanceError):
        object.__getattribute__(fast, "__setattr__")("kid", "x")


def test_the_unfrozen_twin_has_exactly_the_slots_of_identity_claims() -> None:
    """The __class__ assignment in IdentityClaims._verified needs the same layout."""
    assert _UnfrozenClaims.__slots__ == IdentityClaims.__slots__
    assert _UnfrozenClaims.__bases__ == IdentityClaims.__bases__ == (object,)


#: The letters and digits of base64url (the test adds "-", "_" and what is not base64url).
B64URL_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


@given(
    text=st.text(
        st.sampled_from("_-+/=. \n\x00é" + B64URL_LETTERS),
        max_size=12,
    )
)
def test_token_parts_decode_exactly_as_b64url_decode(text: str) -> None:
    """The token decoder (one translation of the whole token, then each part) accepts and
    refuses what govkit._encoding.b64url_decode does, with the same reasons."""
    try:
        expected: object = b64url_decode(text, what="payload")
    except EncodingError as exc:
        expected = f"token part is not strict base64url: {exc.message}"
    try:
        part = text.encode("ascii")
    except UnicodeEncodeError:
        return  # a token that is not ASCII never gets here (token.malformed before)
    try:
        got: object = _decode_part(part.translate(_B64URL_STRICT), "payload")
    except MalformedToken as exc:
        got = exc.message
    assert got == expected


# --- revocation and binding, said exactly ----------------------------------------------
#
# verify() asks the store and checks the binding only when there is something to ask or
# bind; each refusal keeps its message and context, through verify() and inspect().


def test_revocation_refusals_say_what_was_revoked(key: SigningKey, clock: FixedClock) -> None:
    ring = KeyRing(key, clock=clock)
    token = forge(key, claims_with(jti="r"))
    by_id = verifier_for(ring, clock, store=FakeRevocations(revoked=frozenset({"r"})))
    with pytest.raises(TokenRevoked) as caught:
        by_id.verify(token)
    assert (caught.value.message, caught.value.context) == (
        "the token has been revoked",
        {"claim": "jti"},
    )
    assert inspected(by_id, token) == ("token.revoked", "the token has been revoked")
    cutoff = T0 + timedelta(seconds=1)
    by_subject = verifier_for(ring, clock, store=FakeRevocations(cutoff=cutoff))
    with pytest.raises(TokenRevoked) as caught:
        by_subject.verify(token)
    assert (caught.value.message, caught.value.context) == (
        "the subject's tokens issued before a cutoff are revoked",
        {},
    )
    report = verifier_for(ring, clock, store=FakeRevocations()).inspect(token)
    assert (report.checks[-2].name, report.checks[-2].ok, report.checks[-2].detail) == (
        "revocation",
        True,
        "not revoked",
    )


def test_a_store_with_a_naive_cutoff_is_named_in_the_error(
    key: SigningKey, clock: FixedClock
) -> None:
    naive = datetime(2026, 11, 28, 9, 0, 1)
    verifier = verifier_for(KeyRing(key, clock=clock), clock, store=FakeRevocations(cutoff=naive))
    with pytest.raises(NaiveDatetimeError) as caught:
        verifier.verify(forge(key, claims_with()))
    assert caught.value.context == {"argument": "subject_not_before"}
    assert "'subject_not_before'" in caught.value.message


def test_binding_refusals_say_what_is_wrong(key: SigningKey, clock: FixedClock) -> None:
    """Each DPoP binding refusal, with its message, through verify() and inspect()."""
    ring = KeyRing(key, clock=clock)
    bound = issuer_for(key, clock).issue(SUB, AUD, AssuranceLevel.HIGH, TTL, confirmation_jkt=JKT)
    bearer = issuer_for(key, clock).issue(SUB, AUD, AssuranceLevel.HIGH, TTL)
    with_dpop = verifier_for(ring, clock, dpop=FakeDPoP())
    without_dpop = verifier_for(ring, clock)
    cases: list[tuple[TokenVerifier, str, dict[str, Any], str]] = [
        (
            with_dpop,
            bearer,
            {"dpop_proof": f"proof-by-{JKT}", "htm": "GET", "htu": HTU},
            "a DPoP proof was sent with a token not bound to a key",
        ),
        (with_dpop, bound, {}, "the token is bound to a DPoP key but was sent as a bearer token"),
        (
            with_dpop,
            bound,
            {"dpop_proof": "proof-by-another", "htm": "GET", "htu": HTU},
            "the DPoP proof key is not the key the token is bound to",
        ),
    ]
    for verifier, token, kwargs, message in cases:
        with pytest.raises(DPoPBindingMismatch) as caught:
            verifier.verify(token, **kwargs)
        assert (caught.value.message, caught.value.context) == (message, {})
        report = verifier.inspect(token, **kwargs)
        assert (report.checks[-1].name, report.code, report.checks[-1].detail) == (
            "dpop",
            "dpop.binding_mismatch",
            message,
        )
    for verifier, kwargs, message in [
        (
            without_dpop,
            {"dpop_proof": f"proof-by-{JKT}", "htm": "GET", "htu": HTU},
            "a DPoP-bound token needs TokenVerifier(dpop=...)",
        ),
        (
            with_dpop,
            {"dpop_proof": f"proof-by-{JKT}"},
            "verifying a DPoP proof needs htm= and htu=",
        ),
        (
            with_dpop,
            {"dpop_proof": f"proof-by-{JKT}", "htm": "GET"},
            "verifying a DPoP proof needs htm= and htu=",
        ),
    ]:
        with pytest.raises(ConfigurationError) as config:
            verifier.verify(bound, **kwargs)
        assert config.value.message == message
    good = with_dpop.inspect(bound, dpop_proof=f"proof-by-{JKT}", htm="GET", htu=HTU)
    assert (good.checks[-1].name, good.checks[-1].ok, good.checks[-1].detail) == (
        "dpop",
        True,
        "DPoP proof key matches cnf.jkt",
    )
    plain = without_dpop.inspect(bearer)
    assert (plain.checks[-1].name, plain.checks[-1].ok, plain.checks[-1].detail) == (
        "dpop",
        True,
        "bearer token",
    )


#: Claims at the edges of what the one-pass check accepts; every one of them verifies.
ONE_PASS_EDGES: list[dict[str, object]] = [
    {"exp": 253402300799},  # the last NumericDate govkit accepts
    {"iat": 0, "nbf": 0},
    {"nbf": NOW + _LEEWAY},
    {"iat": NOW + _LEEWAY, "nbf": DROP},
    {"exp": NOW - _LEEWAY + 1},
    {"jti": "j"},
    {"jti": "j" * 256},
    {"sub": "\u00e9"},  # visible, not ASCII
    {"sub": " x"},  # starts with a blank, has a visible character
    {"sub": "~"},
    {"sub": "!"},
    {"amr": []},
    {"amr": ["face", "pwd"]},
    {"scope": ""},
    {"scope": " a  b "},
    {"cnf": {"jkt": "t"}},
    {"aud": [AUD]},
    {"acr": AssuranceLevel.HIGH.acr},
]


@pytest.mark.parametrize("changes", ONE_PASS_EDGES, ids=repr)
@pytest.mark.parametrize("min_assurance", [None, AssuranceLevel.SUBSTANTIAL])
def test_the_edges_of_the_usual_claims_take_the_one_pass_check(
    changes: dict[str, object], min_assurance: AssuranceLevel | None
) -> None:
    clock = FixedClock(T0)
    ring = KeyRing(SIGNER_FOR_PROPERTIES, clock=clock)
    verifier = verifier_for(
        ring, clock, leeway=timedelta(seconds=_LEEWAY), min_assurance=min_assurance
    )
    claims = claims_with(**changes)
    now = T0.timestamp()
    trace = _NoTrace()
    fast = verifier._common_claims(claims, KEY_FOR_PROPERTIES, now)
    assert fast is not None
    assert fast == verifier._check_claims(
        claims, KEY_FOR_PROPERTIES, verifier._check_times(claims, now, trace), trace
    )


#: Claims the one-pass check leaves to the checks one by one, and the code they give
#: (None: valid, only unusual).
ONE_PASS_DECLINED: list[tuple[dict[str, object], str | None]] = [
    ({"exp": 253402300800}, "token.missing_claim"),
    ({"exp": -1}, "token.missing_claim"),
    ({"exp": NOW - _LEEWAY}, "token.expired"),
    ({"exp": float(NOW + 600)}, "token.missing_claim"),
    ({"exp": True}, "token.missing_claim"),
    ({"exp": DROP}, "token.missing_claim"),
    ({"iat": -1}, "token.missing_claim"),
    ({"iat": 253402300800}, "token.missing_claim"),
    ({"iat": NOW + _LEEWAY + 1, "nbf": DROP}, "token.not_yet_valid"),
    ({"iat": DROP}, "token.missing_claim"),
    ({"iat": None}, "token.missing_claim"),
    ({"nbf": NOW + _LEEWAY + 1}, "token.not_yet_valid"),
    ({"nbf": -1}, "token.missing_claim"),
    ({"nbf": 253402300800}, "token.missing_claim"),
    ({"nbf": None}, "token.missing_claim"),
    ({"nbf": "0"}, "token.missing_claim"),
    ({"iss": ISS + "/"}, "token.wrong_issuer"),
    ({"iss": DROP}, "token.missing_claim"),
    ({"aud": "x"}, "token.wrong_audience"),
    ({"aud": [AUD, AUD]}, "token.wrong_audience"),
    ({"aud": DROP}, "token.missing_claim"),
    ({"sub": ""}, "token.missing_claim"),
    ({"sub": " "}, "token.missing_claim"),
    ({"sub": "\u200b"}, "token.missing_claim"),
    ({"sub": 1}, "token.missing_claim"),
    ({"sub": DROP}, "token.missing_claim"),
    ({"jti": ""}, "token.missing_claim"),
    ({"jti": "j" * 257}, "token.missing_claim"),
    ({"jti": 7}, "token.missing_claim"),
    ({"acr": "high"}, None),  # a short name: valid, left to AssuranceLevel.from_acr
    ({"acr": "http://eidas.europa.eu/LoA/unknown"}, "token.missing_claim"),
    ({"acr": AssuranceLevel.LOW.acr}, "token.insufficient_assurance"),
    ({"acr": 3}, "token.missing_claim"),
    ({"acr": DROP}, "token.missing_claim"),
    ({"amr": "face"}, "token.missing_claim"),
    ({"amr": ["face", 1]}, "token.missing_claim"),
    ({"amr": None}, "token.missing_claim"),
    ({"scope": 1}, "token.missing_claim"),
    ({"scope": None}, "token.missing_claim"),
    ({"cnf": []}, "token.missing_claim"),
    ({"cnf": {"jkt": ""}}, "token.missing_claim"),
    ({"cnf": {"jkt": 1}}, "token.missing_claim"),
    ({"cnf": None}, "token.missing_claim"),
]


@pytest.mark.parametrize(("changes", "code"), ONE_PASS_DECLINED, ids=repr)
def test_claims_off_the_usual_shape_go_to_the_checks_one_by_one(
    changes: dict[str, object], code: str | None
) -> None:
    clock = FixedClock(T0)
    verifier = verifier_for(
        KeyRing(SIGNER_FOR_PROPERTIES, clock=clock),
        clock,
        leeway=timedelta(seconds=_LEEWAY),
        min_assurance=AssuranceLevel.SUBSTANTIAL,
    )
    claims = claims_with(**changes)
    assert verifier._common_claims(claims, KEY_FOR_PROPERTIES, T0.timestamp()) is None
    token = forge(SIGNER_FOR_PROPERTIES, claims)
    found = fault(lambda: verifier.verify(token))
    assert (found[0] if found else None) == code
    assert found == inspected(verifier, token)
