"""Token verify/s per algorithm: ``TokenVerifier.verify`` beside PyJWT, joserfc and the signature.

For each of EdDSA, ES256, PS256 and RS256 one access token is issued by
:class:`~govkit.identity.TokenIssuer` (the same token for every side) and verified by:

* **govkit**: ``TokenVerifier.verify(token)`` with a :class:`~govkit.keys.KeyRing` as
  the key source, an exact issuer and audience, a 30 s leeway and the system clock;
  no revocation store, no DPoP.
* **PyJWT**: ``jwt.get_unverified_header(token)`` and a hand-written ``typ`` check,
  then ``jwt.decode(token, public_key, algorithms=[alg], audience=..., issuer=...,
  leeway=30, options={"require": ["exp", "iat", "sub", "jti", "nbf"]})``. The key is
  the ``cryptography`` public key object itself, so PyJWT parses no PEM or JWK per call.
* **joserfc**: ``joserfc.jwt.decode(token, key, algorithms=[alg])``, a hand-written
  ``typ`` check on the decoded header, then ``JWTClaimsRegistry(leeway=30, iss=, aud=,
  exp=, iat=, nbf=, sub=, jti= all essential).validate(claims)``. The key is a joserfc
  key imported once from the public PEM, so joserfc parses no key per call. joserfc
  warns on every EdDSA call (RFC 9864 deprecates the name); that warning is filtered
  out once before timing, so only the ignored ``warnings.warn`` call is in its time.
  Equivalent checks: signature, alg pinned, typ, exact iss and aud, exp/nbf/iat with
  leeway and present, sub and jti present. Only govkit also: everything listed for
  PyJWT below (size cap, strict base64url and JSON, key-source headers and crit
  refused, kid lookup with its validity window, integer NumericDates, one audience,
  acr/amr/scope/cnf typed, frozen claims). Only joserfc: nothing govkit lacks here.
* **raw**: the ``cryptography`` primitive alone over the token's signing input (the
  first two parts, ASCII), with the same public key object. For ES256 the raw ``r || s``
  signature is converted to DER once, outside the timed call, because that is what the
  primitive takes; govkit converts on every call, so its side pays for it.

Each pair is timed with :func:`benchmarks._harness.compare`, interleaved in one process.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

import joserfc
import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from joserfc import jwt as jose_jwt
from joserfc.jwk import import_key

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
    "(ES256: DER made once, outside the timing).\n"
    f"vs joserfc {joserfc.__version__}: jwt.decode(algorithms=[alg]) + typ by hand +\n"
    "JWTClaimsRegistry(leeway=30; iss, aud, exp, iat, nbf, sub, jti essential), the key\n"
    "imported once. Equivalent and only-govkit checks as for PyJWT.\n"
    "The same token is verified each time: govkit's verifier remembers the parsed header\n"
    "of tokens that verified (an issuer signs with one of a few identical headers), so\n"
    "after the first call it decodes only payload and signature; the key lookup, the\n"
    "signature and every claim check run on every call, and nothing else is remembered.\n"
    "Targets: govkit >= 0.90 x PyJWT, >= 1.2 x joserfc, and >= 0.8 x raw (EdDSA),\n"
    ">= 0.7 x raw (ES256), >= 0.5 x raw (PS256, RS256)."
)

ISSUER = "https://login.gov.example"
AUDIENCE = "https://tax.gov.example"
SUBJECT = "LThbc0M966wxlKDmU2Wu-R1K-S75Thhgh6tnI7lkQbE"  # a pairwise_subject() value
LEEWAY = timedelta(seconds=30)
#: Long enough for a full run; the token must stay valid on the system clock.
TTL = timedelta(hours=2)
PYJWT_TARGET = 0.90
JOSERFC_TARGET = 1.2
RAW_TARGET = {"EdDSA": 0.8, "ES256": 0.7, "PS256": 0.5, "RS256": 0.5}
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


def _joserfc_verifier(key: SigningKey, token: str) -> Callable[[], dict[str, Any]]:
    """joserfc's ``jwt.decode`` and claims registry with the checks closest to govkit's."""
    pem = key.verifying_key.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    public: Any = import_key(pem, {"EdDSA": "OKP", "ES256": "EC"}.get(key.alg, "RSA"))
    algorithms = [key.alg]
    essential: Any = {"essential": True}
    registry = jose_jwt.JWTClaimsRegistry(
        leeway=int(LEEWAY.total_seconds()),
        iss={"essential": True, "value": ISSUER},
        aud={"essential": True, "value": AUDIENCE},
        exp=essential,
        iat=essential,
        nbf=essential,
        sub=essential,
        jti=essential,
    )

    def verify() -> dict[str, Any]:
        decoded = jose_jwt.decode(token, public, algorithms=algorithms)
        if decoded.header.get("typ") != "at+jwt":
            raise ValueError("not an access token")
        registry.validate(decoded.claims)
        return decoded.claims

    return verify


def run(quick: bool) -> list[Comparison]:
    """Verify one token per algorithm: govkit beside PyJWT, and beside the bare signature."""
    # joserfc warns on every EdDSA call (RFC 9864); ignore that one warning here.
    warnings.filterwarnings("ignore", message="EdDSA is deprecated", category=Warning)
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
        joserfc_verify = _joserfc_verifier(key, token)
        raw_verify = _raw_verifier(key, token)
        # Every side must accept the token before anything is timed.
        claims = govkit_verify()
        assert pyjwt_verify()["sub"] == claims.subject == SUBJECT
        assert joserfc_verify()["sub"] == SUBJECT
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
                f"{alg} verify vs joserfc",
                govkit_verify,
                joserfc_verify,
                number=number,
                rounds=rounds,
                target=JOSERFC_TARGET,
                note=f"joserfc {joserfc.__version__}",
            )
        )
        results.append(
            compare(
                f"{alg} verify vs raw",
                govkit_verify,
                raw_verify,
                number=number,
                rounds=rounds,
                target=RAW_TARGET[alg],
                note="reference DER, made once" if alg == "ES256" else "",
            )
        )
    return results
