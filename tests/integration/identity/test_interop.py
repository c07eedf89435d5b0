"""Interoperability: govkit tokens in joserfc and PyJWT, and theirs in govkit.

A relying party that does not use govkit gets govkit's published JWKS
(:meth:`KeyRing.to_jwks`) and must be able to verify govkit tokens with a mainstream
library; and govkit must verify RFC 9068 access tokens made by another library when
their key is in its ring. Keys come only from the JWKS, as a real relying party does it
(``jwt.PyJWKSet`` / joserfc ``KeySet``), never from the token.

joserfc warns that the JOSE name ``EdDSA`` is deprecated by RFC 9864 (in favour of
``Ed25519``); govkit still writes ``EdDSA``, which every library reads. Those tests
expect the warning rather than hide it.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from joserfc import jwt as jose_jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, KeySet, OKPKey, RSAKey
from joserfc.jwt import JWTClaimsRegistry

from govkit._encoding import b64url_decode
from govkit.errors import WrongTokenType
from govkit.identity import AssuranceLevel, TokenIssuer, TokenVerifier
from govkit.keys import KeyRing, SigningKey, jwk_thumbprint
from govkit.testing import FixedClock

ISS = "https://login.gov.example"
AUD = "https://tax.gov.example"
SUB = "pseudonym-Jq2v"
ALGS = ("EdDSA", "ES256", "PS256", "RS256")


@pytest.fixture(scope="module")
def keys() -> dict[str, SigningKey]:
    return {alg: SigningKey.generate(alg) for alg in ALGS}


@pytest.fixture
def now() -> datetime:
    # Other libraries read the real clock, so tokens are issued at the real time.
    return datetime.now(UTC).replace(microsecond=0)


def eddsa_warning(alg: str) -> AbstractContextManager[Any]:
    if alg == "EdDSA":
        return pytest.warns(SecurityWarning, match="RFC 9864")
    return nullcontext()


def govkit_token(key: SigningKey, now: datetime, ring: KeyRing | None = None) -> str:
    issuer = TokenIssuer(ring or key, issuer=ISS, clock=FixedClock(now))
    return issuer.issue(
        SUB,
        AUD,
        AssuranceLevel.HIGH,
        timedelta(minutes=5),
        amr=["face"],
        scope=["tax.read"],
        department="tax",
    )


@pytest.fixture
def published(keys: dict[str, SigningKey]) -> dict[str, Any]:
    """The JWKS the identity provider publishes: all four keys, as it arrives over HTTP."""
    ring = KeyRing()
    for key in keys.values():
        ring.add(key.verifying_key)
    jwks: dict[str, Any] = json.loads(json.dumps(ring.to_jwks()))
    return jwks


# --- govkit -> joserfc, PyJWT ---------------------------------------------------


@pytest.mark.parametrize("alg", ALGS)
def test_govkit_tokens_verify_in_joserfc(
    alg: str, keys: dict[str, SigningKey], published: dict[str, Any], now: datetime
) -> None:
    token = govkit_token(keys[alg], now)
    key_set = KeySet.import_key_set(published)
    with eddsa_warning(alg):
        decoded = jose_jwt.decode(token, key_set, algorithms=[alg])
    assert decoded.header == {"alg": alg, "kid": keys[alg].kid, "typ": "at+jwt"}
    registry = JWTClaimsRegistry(
        iss={"essential": True, "value": ISS},
        aud={"essential": True, "value": AUD},
        sub={"essential": True, "value": SUB},
        exp={"essential": True},
        iat={"essential": True},
        jti={"essential": True},
    )
    registry.validate(decoded.claims)
    assert decoded.claims["acr"] == "http://eidas.europa.eu/LoA/high"
    assert decoded.claims["amr"] == ["face"]
    assert decoded.claims["scope"] == "tax.read"
    assert decoded.claims["department"] == "tax"


@pytest.mark.parametrize("alg", ALGS)
def test_govkit_tokens_verify_in_pyjwt(
    alg: str, keys: dict[str, SigningKey], published: dict[str, Any], now: datetime
) -> None:
    token = govkit_token(keys[alg], now)
    key_set = jwt.PyJWKSet.from_dict(published)
    kid = jwt.get_unverified_header(token)["kid"]  # only to choose among trusted keys
    signing_key = key_set[kid]
    assert signing_key.algorithm_name == alg
    claims = jwt.decode(
        token,
        signing_key,
        algorithms=[alg],
        audience=AUD,
        issuer=ISS,
        options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"], "strict_aud": True},
    )
    assert claims["sub"] == SUB
    assert jwt.get_unverified_header(token)["typ"] == "at+jwt"


def test_es256_signatures_are_raw_r_s_for_other_libraries(
    keys: dict[str, SigningKey], published: dict[str, Any], now: datetime
) -> None:
    token = govkit_token(keys["ES256"], now)
    assert len(b64url_decode(token.rsplit(".", 1)[1])) == 64
    key = jwt.PyJWKSet.from_dict(published)[keys["ES256"].kid]
    jwt.decode(token, key, algorithms=["ES256"], audience=AUD)  # PyJWT rejects DER here


def test_rotated_ring_tokens_verify_in_pyjwt(keys: dict[str, SigningKey], now: datetime) -> None:
    ring = KeyRing(keys["EdDSA"], clock=FixedClock(now))
    old_token = govkit_token(keys["EdDSA"], now, ring)
    ring.activate(keys["ES256"])
    new_token = govkit_token(keys["ES256"], now, ring)
    key_set = jwt.PyJWKSet.from_dict(ring.to_jwks())
    for token, alg in ((old_token, "EdDSA"), (new_token, "ES256")):
        kid = jwt.get_unverified_header(token)["kid"]
        assert jwt.decode(token, key_set[kid], algorithms=[alg], audience=AUD)["sub"] == SUB


# --- joserfc, PyJWT -> govkit ---------------------------------------------------


def joserfc_key(alg: str) -> OKPKey | ECKey | RSAKey:
    if alg == "EdDSA":
        return OKPKey.generate_key("Ed25519")
    if alg == "ES256":
        return ECKey.generate_key("P-256")
    return RSAKey.generate_key(2048)


def claims_at(now: datetime, **extra: Any) -> dict[str, Any]:
    iat = int(now.timestamp())
    return {
        "iss": ISS,
        "sub": SUB,
        "aud": AUD,
        "exp": iat + 300,
        "iat": iat,
        "jti": "joserfc-1",
        "acr": AssuranceLevel.SUBSTANTIAL.acr,
        "client_id": "tax-portal",
        **extra,
    }


@pytest.mark.parametrize("alg", ["EdDSA", "ES256", "PS256"])
def test_joserfc_tokens_verify_in_govkit(alg: str, now: datetime) -> None:
    private = joserfc_key(alg)
    public_jwk = private.as_dict(private=False)
    kid = jwk_thumbprint(public_jwk)
    assert kid == private.thumbprint()  # both sides compute the same RFC 7638 thumbprint
    ring = KeyRing.from_jwks({"keys": [public_jwk]}, alg=alg)
    header = {"alg": alg, "kid": kid, "typ": "at+jwt"}
    with eddsa_warning(alg):
        token = jose_jwt.encode(header, claims_at(now, amr=["face"]), private, algorithms=[alg])
    verifier = TokenVerifier(
        ring,
        issuer=ISS,
        audience=AUD,
        min_assurance=AssuranceLevel.SUBSTANTIAL,
        clock=FixedClock(now),
    )
    claims = verifier.verify(token)
    assert (claims.subject, claims.kid, claims.amr) == (SUB, kid, ("face",))
    assert claims.assurance is AssuranceLevel.SUBSTANTIAL
    assert claims.extra == {"client_id": "tax-portal"}


def test_joserfc_token_without_at_jwt_typ_is_refused(now: datetime) -> None:
    private = joserfc_key("ES256")
    public_jwk = private.as_dict(private=False)
    ring = KeyRing.from_jwks({"keys": [public_jwk]})
    header = {"alg": "ES256", "kid": jwk_thumbprint(public_jwk)}
    token = jose_jwt.encode(header, claims_at(now), private, algorithms=["ES256"])
    assert jwt.get_unverified_header(token)["typ"] == "JWT"  # joserfc's default
    verifier = TokenVerifier(ring, issuer=ISS, audience=AUD, clock=FixedClock(now))
    with pytest.raises(WrongTokenType):
        verifier.verify(token)


@pytest.mark.parametrize("alg", ALGS)
def test_pyjwt_tokens_verify_in_govkit(
    alg: str, keys: dict[str, SigningKey], now: datetime
) -> None:
    key = keys[alg]
    private_pem = key.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    token = jwt.encode(
        claims_at(now), private_pem, algorithm=alg, headers={"kid": key.kid, "typ": "at+jwt"}
    )
    ring = KeyRing()
    ring.add(key.verifying_key)
    claims = TokenVerifier(ring, issuer=ISS, audience=AUD, clock=FixedClock(now)).verify(token)
    assert claims.kid == key.kid
