"""Faults of the token layer that the broader token tests did not pin down (issue #18).

Each test here was written against a mutant of ``govkit/identity/_tokens.py`` that the
other token tests let through: the exact refusal (code, context, message) of a bad
argument, the pairwise subject recomputed from its published formula, the signature
layer on its own (``_verify_jws``), the OpenID provider's JWT checks
(``_ProviderJwtVerifier``), the asyncio entry points with every argument they pass on,
the report's summary and the log fields of a verification.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from govkit._encoding import b64url_encode
from govkit.errors import (
    ConfigurationError,
    DPoPBindingMismatch,
    ForbiddenHeader,
    MalformedToken,
    MissingClaim,
    TokenAlgorithmRejected,
    TokenExpired,
    TokenKeyUnknown,
    TokenNotYetValid,
    TokenSignatureInvalid,
    TokenTooLarge,
    UnsupportedCritical,
    WrongIssuer,
    WrongTokenType,
)
from govkit.identity import (
    AssuranceLevel,
    DPoPVerifier,
    MemoryIdentityStore,
    TokenIssuer,
    TokenReport,
    TokenVerifier,
    create_dpop_proof,
    pairwise_subject,
)
from govkit.identity._tokens import _ProviderJwtVerifier, _SignerAlgorithm, _verify_jws
from govkit.keys import KeyRing, SigningKey
from govkit.testing import FixedClock

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
NOW = int(T0.timestamp())
ISS = "https://login.gov.example"
AUD = "https://tax.gov.example"
SUB = "Zq3b1u9Kc0vJ2m8ePqL5sXw7yT4aN6dHfG1iR0oU2eE"
TTL = timedelta(minutes=10)
HTU = "https://tax.gov.example/returns"
KEY = SigningKey.generate("ES256")
OTHER = SigningKey.generate("EdDSA")
CLOCK = FixedClock(T0)


def issue(**kwargs: Any) -> str:
    args: dict[str, Any] = {
        "subject": SUB,
        "audience": AUD,
        "assurance": AssuranceLevel.HIGH,
        "ttl": TTL,
    }
    args.update(kwargs)
    return TokenIssuer(KEY, issuer=ISS, clock=CLOCK).issue(**args)


def payload_of(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


def forge(claims: dict[str, Any] | bytes, header: dict[str, Any], key: SigningKey = KEY) -> str:
    h = b64url_encode(json.dumps(header).encode())
    p = b64url_encode(claims if isinstance(claims, bytes) else json.dumps(claims).encode())
    return f"{h}.{p}.{b64url_encode(key.sign(f'{h}.{p}'.encode()))}"


def provider_claims(**changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {"iss": ISS, "sub": "248289761001", "aud": "client-1"}
    claims.update(exp=NOW + 600, iat=NOW)
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def ring() -> KeyRing:
    keys = KeyRing(KEY, clock=CLOCK)
    keys.add(OTHER)
    return keys


def provider(**kwargs: Any) -> _ProviderJwtVerifier:
    args: dict[str, Any] = {
        "issuer": ISS,
        "audience": "client-1",
        "typs": frozenset({"jwt"}),
        "typ_optional": True,
        "algorithms": ["ES256", "EdDSA"],
        "leeway": timedelta(seconds=30),
        "clock": CLOCK,
    }
    args.update(kwargs)
    return _ProviderJwtVerifier(ring(), **args)


# --- bad issue arguments: the exact refusal ----------------------------------------------


@pytest.mark.parametrize(
    ("amr", "count"),
    [(["retina-scan"], 1), (["face", "retina-scan", "selfie"], 2), ([1], 1)],
)
def test_unknown_amr_values_are_refused_and_counted(amr: list[Any], count: int) -> None:
    with pytest.raises(ConfigurationError) as caught:
        issue(amr=amr)
    assert caught.value.message == "amr values must be RFC 8176 method names (see AMR_VALUES)"
    assert dict(caught.value.context) == {"count": count}


def test_a_single_amr_string_is_one_method_not_its_letters() -> None:
    assert payload_of(issue(amr="face"))["amr"] == ["face"]


SCOPE_REFUSED = "each scope must be a non-empty printable ASCII token without spaces"


@pytest.mark.parametrize(
    "scope",
    [
        "a\x01b",  # ASCII, not printable
        "a\x7fb",  # DEL: ASCII, not printable
        "\u00e9t\u00e9",  # printable, not ASCII
        "back\\slash",
        'quote"',
        ["tab\tinside"],
        [""],
        [3],
    ],
)
def test_scope_tokens_that_cannot_be_written_are_refused(scope: Any) -> None:
    with pytest.raises(ConfigurationError) as caught:
        issue(scope=scope)
    assert caught.value.message == SCOPE_REFUSED


def test_scope_tokens_may_hold_any_other_printable_ascii() -> None:
    scope = "X.read XX:write a/b?c=d!"
    assert payload_of(issue(scope=scope))["scope"] == scope


JKT_REFUSED = "confirmation_jkt must be an RFC 7638 SHA-256 thumbprint (43 base64url characters)"


@pytest.mark.parametrize(
    "jkt",
    [
        "!" * 43,  # not base64url
        "A" * 42,  # 31 bytes
        "A" * 44,  # 33 bytes
        "AAAA",
        "",
        12345,
        KEY.kid.encode(),  # bytes, not text
    ],
)
def test_a_confirmation_that_is_not_a_sha256_thumbprint_is_refused(jkt: Any) -> None:
    with pytest.raises(ConfigurationError) as caught:
        issue(confirmation_jkt=jkt)
    assert caught.value.message == JKT_REFUSED


def test_a_sha256_thumbprint_is_written_as_the_confirmation() -> None:
    assert payload_of(issue(confirmation_jkt=OTHER.kid))["cnf"] == {"jkt": OTHER.kid}


# --- pairwise subjects: the published formula ------------------------------------------


def test_pairwise_subject_is_the_documented_hmac() -> None:
    secret = bytes(range(32))
    sector = "税务.gov.example"
    person = "11010519491231002X"
    encoded = sector.encode()
    message = (
        b"govkit.identity.pairwise-subject/v1"
        + len(encoded).to_bytes(4, "big")
        + encoded
        + person.encode()
    )
    expected = base64.urlsafe_b64encode(hmac.new(secret, message, hashlib.sha256).digest())
    assert pairwise_subject(secret, person, sector) == expected.rstrip(b"=").decode()


def test_a_32_byte_secret_is_the_shortest_accepted() -> None:
    assert len(pairwise_subject(bytes(32), "p", "s")) == 43
    with pytest.raises(ConfigurationError) as caught:
        pairwise_subject(bytes(31), "p", "s")
    assert caught.value.message == "the pairwise-subject secret must be at least 32 bytes"


@pytest.mark.parametrize(
    ("person", "sector", "message"),
    [
        ("", "s", "person_id must be a non-empty string"),
        (b"p", "s", "person_id must be a non-empty string"),
        ("p", "", "sector must be a non-empty string"),
        ("p", None, "sector must be a non-empty string"),
        ("\ud800", "s", "person_id and sector must be valid Unicode"),
        ("p", "\udfff", "person_id and sector must be valid Unicode"),
    ],
)
def test_pairwise_subject_names_the_bad_argument(person: Any, sector: Any, message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        pairwise_subject(bytes(32), person, sector)
    assert caught.value.message == message


# --- the PyJWT algorithm that only signs -------------------------------------------------


def test_the_signing_algorithm_never_verifies_and_never_converts_keys() -> None:
    algorithm = _SignerAlgorithm("ES256")
    message = b"header.payload"
    assert algorithm.verify(message, KEY, KEY.sign(message)) is False
    with pytest.raises(NotImplementedError, match=r"^govkit publishes keys with KeyRing\.to_jwks"):
        _SignerAlgorithm.to_jwk(KEY)
    with pytest.raises(NotImplementedError, match=r"^govkit loads keys with VerifyingKey\.from_"):
        _SignerAlgorithm.from_jwk("{}")


# --- the signature layer on its own ------------------------------------------------------


def test_the_jws_layer_returns_the_header_and_the_payload_bytes() -> None:
    header = {"alg": "ES256", "kid": "k"}
    token = forge(b"not json at all", header)
    assert _verify_jws(token, KEY.verifying_key) == (header, b"not json at all")


def test_the_jws_layer_refuses_a_token_over_its_size_limit() -> None:
    token = forge(b"x" * 100, {"alg": "ES256"})
    assert _verify_jws(token, KEY.verifying_key, max_token_bytes=len(token))[1] == b"x" * 100
    with pytest.raises(TokenTooLarge) as caught:
        _verify_jws(token, KEY.verifying_key, max_token_bytes=len(token) - 1)
    assert dict(caught.value.context) == {"size": len(token), "limit": len(token) - 1}
    big = forge(b"x" * 6200, {"alg": "ES256"})
    assert len(big) > 8192
    with pytest.raises(TokenTooLarge) as default:
        _verify_jws(big, KEY.verifying_key)
    assert default.value.context["limit"] == 8192


@pytest.mark.parametrize(
    ("header", "error", "code"),
    [
        ({"alg": "ES256", "jwk": {}}, ForbiddenHeader, "token.forbidden_header"),
        ({"alg": "ES256", "crit": ["exp"]}, UnsupportedCritical, "token.unsupported_crit"),
        ({"alg": "ES256", "b64": False}, MalformedToken, "token.malformed"),
        ({"alg": "EdDSA"}, TokenAlgorithmRejected, "token.algorithm"),
    ],
)
def test_the_jws_layer_refuses_a_bad_header(
    header: dict[str, Any], error: type[Exception], code: str
) -> None:
    with pytest.raises(error) as caught:
        _verify_jws(forge(b"{}", header), KEY.verifying_key)
    assert caught.value.code == code  # type: ignore[attr-defined]


def test_the_jws_layer_refuses_a_signature_by_another_key() -> None:
    token = forge(b"{}", {"alg": "ES256"}, SigningKey.generate("ES256"))
    with pytest.raises(TokenSignatureInvalid) as caught:
        _verify_jws(token, KEY.verifying_key)
    assert caught.value.context["kid"] == KEY.kid


def test_the_jws_layer_refuses_a_token_that_is_not_three_parts() -> None:
    with pytest.raises(MalformedToken) as caught:
        _verify_jws("a.b", KEY.verifying_key)
    assert caught.value.context["parts"] == 2


# --- the OpenID provider's JWT checks ----------------------------------------------------


def test_provider_jwt_returns_the_claims_the_key_and_the_time_used() -> None:
    claims = provider_claims(nonce="n-1")
    token = forge(claims, {"alg": "ES256", "kid": KEY.kid})
    found, key, when = provider().verify_jwt(token)
    assert (found, key.kid, when) == (claims, KEY.kid, T0)
    later = T0 + timedelta(minutes=5)
    assert provider().verify_jwt(token, at=later)[2] == later


def test_provider_jwt_without_typ_passes_only_when_typ_is_optional() -> None:
    token = forge(provider_claims(), {"alg": "ES256", "kid": KEY.kid})
    assert provider(typ_optional=True).verify_jwt(token)[0]["iss"] == ISS
    with pytest.raises(WrongTokenType) as caught:
        provider(typ_optional=False).verify_jwt(token)
    assert dict(caught.value.context) == {"profile": "id"}


def test_provider_jwt_typ_must_be_one_of_its_typs() -> None:
    logout = forge(provider_claims(), {"alg": "ES256", "kid": KEY.kid, "typ": "logout+JWT"})
    typs = frozenset({"logout+jwt"})
    assert provider(typs=typs, typ_optional=False).verify_jwt(logout)[0]["sub"] == "248289761001"
    with pytest.raises(WrongTokenType):
        provider().verify_jwt(logout)  # typs {"jwt"}: a typ that is there must match


def test_provider_jwt_by_a_key_of_an_algorithm_the_provider_did_not_announce_is_refused() -> None:
    token = forge(provider_claims(), {"alg": "EdDSA", "kid": OTHER.kid}, OTHER)
    assert provider().verify_jwt(token)[1].kid == OTHER.kid
    with pytest.raises(TokenAlgorithmRejected) as caught:
        provider(algorithms=["ES256", "HS256"]).verify_jwt(token)
    assert dict(caught.value.context) == {"alg": "EdDSA", "kid": OTHER.kid}
    assert caught.value.message == "the key's algorithm EdDSA is not one the issuer announced"


@pytest.mark.parametrize("algorithms", [[], ["HS256"], ["none", "RS512"]])
def test_a_provider_announcing_no_usable_algorithm_is_a_configuration_error(
    algorithms: list[str],
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        provider(algorithms=algorithms)
    assert caught.value.message == "the provider announces no signing algorithm govkit accepts"


def test_provider_jwt_checks_the_issuer_exactly() -> None:
    missing = forge(provider_claims(iss=None), {"alg": "ES256", "kid": KEY.kid})
    with pytest.raises(MissingClaim) as caught:
        provider().verify_jwt(missing)
    assert dict(caught.value.context) == {"claim": "iss"}
    other = forge(provider_claims(iss=ISS + "/"), {"alg": "ES256", "kid": KEY.kid})
    with pytest.raises(WrongIssuer) as wrong:
        provider().verify_jwt(other)
    assert dict(wrong.value.context) == {"claim": "iss"}


def test_provider_jwt_times_are_checked_with_the_given_leeway() -> None:
    token = forge(provider_claims(exp=NOW - 20), {"alg": "ES256", "kid": KEY.kid})
    assert provider(leeway=timedelta(seconds=21)).verify_jwt(token)[0]["exp"] == NOW - 20
    with pytest.raises(TokenExpired):
        provider(leeway=timedelta(seconds=20)).verify_jwt(token)
    future = forge(provider_claims(iat=NOW + 31), {"alg": "ES256", "kid": KEY.kid})
    with pytest.raises(TokenNotYetValid) as caught:
        provider().verify_jwt(future)
    assert dict(caught.value.context) == {"claim": "iat"}


def sized(length: int) -> str:
    """A provider token of exactly ``length`` characters (padding in header and claims)."""
    for extra in range(4):
        header = {"alg": "ES256", "kid": KEY.kid, "x": "h" * extra}
        for pad in range(length * 3 // 4 - 400, length * 3 // 4):
            token = forge(provider_claims(pad="p" * pad), header)
            if len(token) == length:
                return token
    raise AssertionError(f"no token of {length} characters")


def test_provider_jwt_size_limit_is_16_kib_by_default() -> None:
    assert provider().verify_jwt(sized(16384))[0]["iss"] == ISS
    with pytest.raises(TokenTooLarge) as caught:
        provider().verify_jwt(sized(16385))
    assert dict(caught.value.context) == {"size": 16385, "limit": 16384}


# --- asyncio entry points pass every argument on -----------------------------------------


def dpop_world() -> tuple[TokenVerifier, str, SigningKey]:
    client = SigningKey.generate("ES256")
    dpop = DPoPVerifier(replay_store=MemoryIdentityStore(), clock=CLOCK)
    verifier = TokenVerifier(
        KeyRing(KEY, clock=CLOCK), issuer=ISS, audience=AUD, clock=CLOCK, dpop=dpop
    )
    return verifier, issue(confirmation_jkt=client.kid), client


def test_averify_passes_the_time_and_the_dpop_proof_on() -> None:
    verifier, token, client = dpop_world()
    later = T0 + timedelta(minutes=3)
    proof = create_dpop_proof(
        client, htm="POST", htu=HTU, access_token=token, clock=FixedClock(later)
    )
    claims = asyncio.run(verifier.averify(token, at=later, dpop_proof=proof, htm="POST", htu=HTU))
    assert (claims.confirmation_jkt, claims.subject) == (client.kid, SUB)
    expired = T0 + TTL + timedelta(minutes=1)
    with pytest.raises(TokenExpired):
        asyncio.run(verifier.averify(token, at=expired, dpop_proof=proof, htm="POST", htu=HTU))


def test_ainspect_passes_the_time_and_the_dpop_proof_on() -> None:
    verifier, token, client = dpop_world()
    later = T0 + timedelta(minutes=3)
    proof = create_dpop_proof(
        client, htm="POST", htu=HTU, access_token=token, clock=FixedClock(later)
    )
    report = asyncio.run(verifier.ainspect(token, at=later, dpop_proof=proof, htm="POST", htu=HTU))
    assert report.valid, report.checks
    assert report.checks[-1].name == "dpop"
    expired = asyncio.run(verifier.ainspect(token, at=T0 + TTL + timedelta(minutes=1)))
    assert (expired.valid, expired.code) == (False, "token.expired")


def test_averify_of_a_bound_token_without_its_proof_is_a_binding_mismatch() -> None:
    verifier, token, _ = dpop_world()
    with pytest.raises(DPoPBindingMismatch):
        asyncio.run(verifier.averify(token))


# --- the report and the log --------------------------------------------------------------


def test_the_report_summary_names_subject_assurance_and_expiry() -> None:
    verifier = TokenVerifier(KeyRing(KEY, clock=CLOCK), issuer=ISS, audience=AUD, clock=CLOCK)
    report = verifier.inspect(issue())
    expires = (T0 + TTL).isoformat()
    assert report.summary() == (f"subject {SUB}, assurance high, expires {expires}",)
    assert report.summary_in("zh") == (f"主体 {SUB}，认证等级 high，有效期至 {expires}",)
    assert report.summary_in("en") == report.summary()
    failed = verifier.inspect(issue(), at=T0 + timedelta(hours=1))
    assert failed.summary() == ()
    assert failed.summary_in("zh") == ()
    assert TokenReport(()).summary() == ()


def test_verify_and_inspect_log_the_issuer_and_the_key_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    verifier = TokenVerifier(KeyRing(KEY, clock=CLOCK), issuer=ISS, audience=AUD, clock=CLOCK)
    token = issue()
    with caplog.at_level(logging.INFO, logger="govkit.identity"):
        verifier.verify(token)
        verifier.inspect(token)
        verifier.inspect(token, at=T0 + timedelta(hours=1))
    records = [r for r in caplog.records if r.name == "govkit.identity"]
    fields = [(r.kind, r.issuer, getattr(r, "kid", None)) for r in records]  # type: ignore[attr-defined]
    assert fields == [
        ("token.verify", ISS, KEY.kid),
        ("token.inspect", ISS, KEY.kid),
        ("token.inspect", ISS, None),
    ]


def test_provider_jwt_key_is_looked_up_at_the_verification_time() -> None:
    # the key's window closed an hour before the ring's clock: only a verification
    # at a time inside the window may use it
    keys = KeyRing(KEY, not_after=T0 - timedelta(hours=1), clock=CLOCK)
    verifier = _ProviderJwtVerifier(
        keys,
        issuer=ISS,
        audience="client-1",
        typs=frozenset({"jwt"}),
        typ_optional=True,
        algorithms=["ES256"],
        leeway=timedelta(seconds=30),
        clock=CLOCK,
    )
    earlier = T0 - timedelta(hours=2)
    claims = provider_claims(exp=NOW - 3600, iat=NOW - 7300)
    token = forge(claims, {"alg": "ES256", "kid": KEY.kid})
    assert verifier.verify_jwt(token, at=earlier)[2] == earlier
    with pytest.raises(TokenKeyUnknown):
        verifier.verify_jwt(token)


def test_provider_jwt_claims_are_strict_json_with_numbers_and_16_levels() -> None:
    header = {"alg": "ES256", "kid": KEY.kid}
    with pytest.raises(MalformedToken) as caught:
        provider().verify_jwt(forge(b"[1, 2]", header))
    assert caught.value.message.startswith("claims ")
    fractional = forge(provider_claims(auth_time=NOW - 0.5), header)
    assert provider().verify_jwt(fractional)[0]["auth_time"] == NOW - 0.5
    deep: Any = 0
    for _ in range(15):  # the claims object and 15 nested lists: 16 levels
        deep = [deep]
    assert provider().verify_jwt(forge(provider_claims(deep=deep), header))[0]["deep"] == deep
    with pytest.raises(MalformedToken):
        provider().verify_jwt(forge(provider_claims(deep=[deep]), header))


def test_provider_jwt_issuer_refusals_say_what_is_wrong() -> None:
    missing = forge(provider_claims(iss=None), {"alg": "ES256", "kid": KEY.kid})
    with pytest.raises(MissingClaim) as caught:
        provider().verify_jwt(missing)
    assert caught.value.message == "claim 'iss' is required and must be a string"
    other = forge(provider_claims(iss=ISS + "/"), {"alg": "ES256", "kid": KEY.kid})
    with pytest.raises(WrongIssuer) as wrong:
        provider().verify_jwt(other)
    assert wrong.value.message == "claim 'iss' is not the expected issuer"
