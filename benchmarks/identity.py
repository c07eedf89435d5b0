"""Token verify/s per algorithm: ``TokenVerifier.verify`` beside PyJWT and the bare signature.

For each of EdDSA, ES256, PS256 and RS256 one access token is issued by
:class:`~govkit.identity.TokenIssuer` (the same token for every side) and verified by:

* **govkit**: ``TokenVerifier.verify(token)`` with a :class:`~govkit.keys.KeyRing` as
  the key source, an exact issuer and audience, a 30 s leeway and the system clock;
  no revocation store, no DPoP.
* **PyJWT**: ``jwt.get_unverified_header(token)`` and a hand-written ``typ`` check,
  then ``jwt.decode(token, public_key, algorithms=[alg], audience=..., issuer=...,
  leeway=30, options={"require": ["exp", "iat", "sub", "jti", "nbf"]})``. The key is
  the ``cryptography`` public key object itself, so PyJWT parses no PEM or JWK per call.
* **raw**: the ``cryptography`` primitive alone over the token's signing input (the
  first two parts, ASCII), with the same public key object. For ES256 the raw ``r || s``
  signature is converted to DER once, outside the timed call, because that is what the
  primitive takes; govkit converts on every call, so its side pays for it.

Each pair is timed with :func:`benchmarks._harness.compare`, interleaved in one process.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from benchmarks._harness import Comparison, compare
from govkit._encoding import b64url_decode
from govkit.identity import AssuranceLevel, TokenIssuer, TokenVerifier
from govkit.keys import KeyRing, SigningKey

#: Printed under the table.
NOTES = (
    "One access token per algorithm, issued by TokenIssuer, is verified by all three sides.\n"
    f"vs PyJWT {jwt.__version__}: jwt.get_unverified_header + typ == 'at+jwt' by hand, then\n"
    "jwt.decode with algorithms=[alg], audience=, issuer=, leeway=30 and require=[exp, iat,\n"
    "sub, jti, nbf], the key passed as a cryptography object. Equivalent: signature, alg\n"
    "pinned, typ, exact iss, aud, exp/nbf/iat with leeway, exp/iat/sub/jti/nbf present,\n"
    "unknown crit refused. Only govkit also: size cap; strict base64url and strict JSON\n"
    "(duplicate keys, NaN, depth); jku/jwk/x5u/x5c/x5t and b64 refused; kid required and\n"
    "looked up in a KeyRing with its validity window (PyJWT is handed the one key);\n"
    "integer NumericDates; aud a string or a one-element list only (PyJWT accepts a list\n"
    "with extra audiences); non-empty sub/jti; acr required and parsed; amr, scope, cnf\n"
    "typed; a frozen IdentityClaims with aware datetimes instead of a dict. Only PyJWT:\n"
    "nothing govkit lacks for these tokens. PyJWT 2.15 checks base64url one character at\n"
    "a time in Python, a large part of its cost here; the ratio depends on its version.\n"
    "vs raw: the cryptography verify call alone over the same signing input and key\n"
    "(ES256: DER made once, outside the timing). Targets: govkit >= 0.90 x PyJWT and\n"
    ">= 0.60 x raw."
)

ISSUER = "https://login.gov.example"
AUDIENCE = "https://tax.gov.example"
SUBJECT = "LThbc0M966wxlKDmU2Wu-R1K-S75Thhgh6tnI7lkQbE"  # a pairwise_subject() value
LEEWAY = timedelta(seconds=30)
#: Long enough for a full run; the token must stay valid on the system clock.
TTL = timedelta(hours=2)
PYJWT_TARGET = 0.90
RAW_TARGET = 0.60
ALGORITHMS = ("EdDSA", "ES256", "PS256", "RS256")

#: Verify calls per batch: roughly 5-10 ms per batch on a small cloud machine.
SIZES = {"EdDSA": 30, "ES256": 40, "PS256": 60, "RS256": 80}


def _raw_verifier(key: SigningKey, token: str) -> Callable[[], None]:
    """The bare ``cryptography`` verify of ``token``'s signature, bound with partial."""
    signing_input, _, encoded = token.rpartition(".")
    message = signing_input.encode("ascii")
    signature = b64url_decode(encoded)
    public = key.verifying_key.public_key
    if isinstance(public, ed25519.Ed25519PublicKey):
        return partial(public.verify, signature, message)
    if isinstance(public, ec.EllipticCurvePublicKey):
        half = len(signature) // 2
        der = encode_dss_signature(
            int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big")
        )
        return partial(public.verify, der, message, ec.ECDSA(hashes.SHA256()))
    assert isinstance(public, rsa.RSAPublicKey)
    pad: padding.AsymmetricPadding = (
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        if key.alg == "PS256"
        else padding.PKCS1v15()
    )
    return partial(public.verify, signature, message, pad, hashes.SHA256())


def _pyjwt_verifier(key: SigningKey, token: str) -> Callable[[], dict[str, Any]]:
    """PyJWT's ``decode`` with the checks closest to what ``TokenVerifier`` does."""
    public = key.verifying_key.public_key
    algorithms = [key.alg]
    options: Any = {"require": ["exp", "iat", "sub", "jti", "nbf"]}
    leeway = LEEWAY.total_seconds()

    def verify() -> dict[str, Any]:
        header = jwt.get_unverified_header(token)
        if header.get("typ") != "at+jwt":
            raise jwt.InvalidTokenError("not an access token")
        return jwt.decode(
            token,
            public,
            algorithms=algorithms,
            audience=AUDIENCE,
            issuer=ISSUER,
            leeway=leeway,
            options=options,
        )

    return verify


def run(quick: bool) -> list[Comparison]:
    """Verify one token per algorithm: govkit beside PyJWT, and beside the bare signature."""
    rounds = 11 if quick else 61
    shrink = 5 if quick else 1
    results: list[Comparison] = []
    for alg in ALGORITHMS:
        key = SigningKey.generate(alg)
        ring = KeyRing(key)  # the system clock, like PyJWT
        token = TokenIssuer(ring, issuer=ISSUER).issue(
            SUBJECT, AUDIENCE, AssuranceLevel.HIGH, TTL, amr=["face"], scope="tax.read"
        )
        verifier = TokenVerifier(ring, issuer=ISSUER, audience=AUDIENCE, leeway=LEEWAY)
        govkit_verify = partial(verifier.verify, token)
        pyjwt_verify = _pyjwt_verifier(key, token)
        raw_verify = _raw_verifier(key, token)
        # Every side must accept the token before anything is timed.
        claims = govkit_verify()
        assert pyjwt_verify()["sub"] == claims.subject == SUBJECT
        raw_verify()
        number = max(1, SIZES[alg] // shrink)
        results.append(
            compare(
                f"{alg} verify vs PyJWT",
                govkit_verify,
                pyjwt_verify,
                number=number,
                rounds=rounds,
                target=PYJWT_TARGET,
                note=f"{len(token)}-byte token",
            )
        )
        results.append(
            compare(
                f"{alg} verify vs raw",
                govkit_verify,
                raw_verify,
                number=number,
                rounds=rounds,
                target=RAW_TARGET,
                note="reference DER, made once" if alg == "ES256" else "",
            )
        )
    return results
