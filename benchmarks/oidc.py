"""OpenID Connect: ID token validation beside Authlib, and one whole login flow.

**ID token validation.** One ES256 ID token of the shape an OpenID provider issues
(``iss``, ``sub``, ``aud``, ``exp``, ``iat``, ``nonce``, ``acr``, ``amr``, ``auth_time``,
``sid``; header ``alg`` and ``kid``, no ``typ``), signed once, validated by:

* **govkit**: ``IdTokenValidator.validate(token, nonce=, acr_values=[substantial],
  max_age=600)`` with a :class:`~govkit.keys.KeyRing` as the key source, ES256 as the
  announced algorithm, a 30 s leeway and the system clock.
* **Authlib**: ``JsonWebToken(["ES256"]).decode(token, key, claims_cls=CodeIDToken,
  claims_options={iss: essential value, aud: essential value, acr: essential values},
  claims_params={nonce, client_id, max_age})`` then ``claims.validate(leeway=30)``, the
  key imported once as an Authlib JWK.

Equivalent: signature, alg pinned to ES256, exact ``iss``, ``aud`` contains the client,
``exp``/``iat`` with leeway, ``sub`` present, ``nonce`` equal, ``acr`` among those asked,
``auth_time`` present with ``max_age``, ``azp`` and ``at_hash`` when present. Only govkit
also: size cap, strict base64url and JSON (duplicate members, depth), key-source headers
and ``crit`` refused, ``typ`` checked when present, the kid looked up in a key ring,
integer NumericDates, ``acr`` ranked (a stronger level than asked passes, a weaker
fails), ``auth_time`` actually within ``max_age`` (Authlib only requires its presence),
only trusted extra audiences, a frozen result with aware datetimes.

**One whole flow** against the local ``oidc-provider`` (tests/oidc/op.mjs, FAPI 2.0 on,
DPoP nonces required): ``start_login`` (PAR with ``private_key_jwt``, PKCE and DPoP), the
provider's five redirects followed without a browser, ``finish_login`` (token request,
ID token validation), ``userinfo`` and ``refresh``. Reported, no target; the reference is
one GET of the provider's discovery document (a loopback round trip), so the ratio reads
as "a flow costs about 1/ratio round trips".
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
import time
import warnings
from datetime import timedelta
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any

import requests

from benchmarks._harness import Comparison, compare
from govkit._encoding import b64url_encode, canonical_json
from govkit.identity import AssuranceLevel
from govkit.identity.oidc import IdTokenValidator, OidcClient
from govkit.keys import KeyRing, SigningKey
from govkit.stores import MemoryFlowStore

ISSUER = "https://login.gov.example"
CLIENT_ID = "tax-portal"
NONCE = "nonce-6f1c2a9e4b7d"
SUBSTANTIAL = AssuranceLevel.SUBSTANTIAL.acr
LEEWAY = timedelta(seconds=30)
TTL = 2 * 3600  # seconds: the token stays valid for a whole run
AUTHLIB_TARGET = 1.5

NOTES = (
    "ID token validation: one ES256 ID token (iss, sub, aud, exp, iat, nonce, acr, amr,\n"
    "auth_time, sid; no typ) validated by IdTokenValidator.validate(nonce=, acr_values=,\n"
    "max_age=) and by Authlib JsonWebToken(['ES256']).decode(claims_cls=CodeIDToken,\n"
    "claims_options iss/aud/acr essential, claims_params nonce/client_id/max_age) +\n"
    "validate(leeway=30). Equivalent: signature, alg pinned, iss, aud, exp/iat, sub, nonce,\n"
    "acr among those asked, auth_time present, azp/at_hash when present. Only govkit also:\n"
    "size cap, strict base64url/JSON, key-source headers and crit refused, typ when present,\n"
    "kid looked up in a key ring, integer NumericDates, acr ranked, auth_time within max_age\n"
    "(Authlib: presence only), untrusted extra audiences refused, a frozen result.\n"
    f"Target: govkit >= {AUTHLIB_TARGET} x Authlib.\n"
    "Whole flow: start_login (PAR, private_key_jwt, PKCE, DPoP) + five provider redirects +\n"
    "finish_login (token, ID token) + userinfo + refresh, against tests/oidc/op.mjs with\n"
    "FAPI 2.0 on and DPoP nonces required; reported, no target. Reference: one GET of the\n"
    "discovery document (one loopback round trip)."
)


def _id_token(key: SigningKey) -> str:
    now = int(time.time())
    header = {"alg": key.alg, "kid": key.kid}
    claims = {
        "iss": ISSUER,
        "sub": "citizen-0001",
        "aud": CLIENT_ID,
        "exp": now + TTL,
        "iat": now,
        "nonce": NONCE,
        "acr": SUBSTANTIAL,
        "amr": ["pwd", "sms"],
        "auth_time": now,
        "sid": "8c7e3d0a-5f0b-4d4a-9d1e-2b6f1f0c9a11",
    }
    signing_input = (
        b64url_encode(canonical_json(header)) + "." + b64url_encode(canonical_json(claims))
    )
    return signing_input + "." + b64url_encode(key.sign(signing_input.encode("ascii")))


def _authlib_validator(key: SigningKey, token: str) -> Any:
    import authlib.deprecate  # noqa: PLC0415, F401 - installs its "always" filter first

    with warnings.catch_warnings():  # authlib.jose announces its deprecation on import
        warnings.simplefilter("ignore")
        from authlib.jose import JsonWebKey, JsonWebToken  # noqa: PLC0415
        from authlib.oidc.core import CodeIDToken  # noqa: PLC0415

    jwk = JsonWebKey.import_key({**key.verifying_key.to_jwk(), "kid": key.kid})
    decoder = JsonWebToken(["ES256"])
    options = {
        "iss": {"essential": True, "value": ISSUER},
        "aud": {"essential": True, "value": CLIENT_ID},
        "acr": {"essential": True, "values": [SUBSTANTIAL, AssuranceLevel.HIGH.acr]},
    }
    params = {"nonce": NONCE, "client_id": CLIENT_ID, "max_age": 600}

    def validate() -> Any:
        claims = decoder.decode(
            token, jwk, claims_cls=CodeIDToken, claims_options=options, claims_params=params
        )
        claims.validate(leeway=30)
        return claims

    return validate


def _load_harness() -> ModuleType:
    """tests/integration/oidc/conftest.py, by path (``tests`` is not a package)."""
    name = "govkit_tests_oidc_harness"
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).resolve().parent.parent / "tests" / "integration" / "oidc" / "conftest.py"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _whole_flow(quick: bool) -> Comparison:
    harness = _load_harness()
    with tempfile.TemporaryDirectory(prefix="govkit-bench-op-") as tmp:
        starting = harness._start_provider(Path(tmp), "fapi2", SigningKey.generate("ES256"))
        try:
            op = next(starting)
        except BaseException as exc:  # pytest.skip/fail outside pytest: the OP cannot start
            raise RuntimeError(f"the local OpenID provider did not start: {exc}") from None
        try:
            client = OidcClient(
                op.issuer,
                client_id=op.client_id,
                client_key=op.client_key,
                redirect_uri=op.redirect_uri,
                flows=MemoryFlowStore(key=bytes(range(32))),
                scope="openid offline_access profile email",
            )
            http = requests.Session()
            discovery_url = f"{op.issuer}/.well-known/openid-configuration"

            def flow() -> None:
                request = client.start_login(
                    acr_values=[SUBSTANTIAL], max_age=600, login_hint="citizen-0001"
                )
                callback = op.login(request.url, browser=op.new_browser())
                login = client.finish_login(callback, expected_state=request.state)
                assert client.userinfo(login)["sub"] == "citizen-0001"
                client.refresh(login)

            def round_trip() -> None:
                http.get(discovery_url, timeout=10).raise_for_status()

            comparison = compare(
                "whole FAPI 2.0 flow vs one discovery GET (flows/s)",
                flow,
                round_trip,
                number=1 if quick else 4,
                rounds=3 if quick else 11,
            )
            client.close()
            http.close()
        finally:
            starting.close()
    ms = 1000 / comparison.govkit_ops
    note = f"{ms:.1f} ms per flow (PAR, login, token, ID token, userinfo, refresh)"
    return Comparison(**{**comparison.__dict__, "note": note})


def run(quick: bool) -> list[Comparison]:
    """ID token validation beside Authlib; one whole flow against the local provider."""
    key = SigningKey.generate("ES256")
    token = _id_token(key)
    validator = IdTokenValidator(
        KeyRing(key), issuer=ISSUER, client_id=CLIENT_ID, algorithms=["ES256"], leeway=LEEWAY
    )
    govkit_validate = partial(
        validator.validate, token, nonce=NONCE, acr_values=[SUBSTANTIAL], max_age=600
    )
    authlib_validate = _authlib_validator(key, token)
    assert govkit_validate().subject == authlib_validate()["sub"] == "citizen-0001"
    results = [
        compare(
            "ES256 ID token validate vs Authlib",
            govkit_validate,
            authlib_validate,
            number=8 if quick else 40,
            rounds=11 if quick else 61,
            target=AUTHLIB_TARGET,
            note=f"{len(token)}-byte token",
        )
    ]
    results.append(_whole_flow(quick))
    return results
