"""Protecting routes with :class:`TokenVerifier` in Flask and FastAPI.

govkit depends on no web framework. The glue below is what the guide shows; it lives
here so that it runs: a framework-neutral :func:`authenticate` and two thin adapters,
a Flask decorator :func:`require_token` and a FastAPI dependency :func:`token_dependency`.

* no ``Authorization`` header: ``401`` with ``WWW-Authenticate: Bearer`` (RFC 6750
  section 3.1: no error code when no credentials were sent);
* a token that fails: ``401``, ``error="invalid_token"`` and the govkit error code;
* a valid token below the route's level: ``403`` with the RFC 9470 step-up challenge
  ``error="insufficient_user_authentication"`` and ``acr_values`` (the eIDAS URIs the
  client should ask the identity provider for);
* ``Authorization: DPoP <token>`` with a ``DPoP`` proof header for sender-constrained
  tokens (RFC 9449); a bound token sent as ``Bearer`` is refused.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from fastapi import Depends, FastAPI, HTTPException, Request
from flask import Flask, g, jsonify, request
from starlette.exceptions import StarletteDeprecationWarning

from govkit.errors import InsufficientAssurance, TokenError
from govkit.identity import (
    AssuranceLevel,
    DPoPVerifier,
    IdentityClaims,
    MemoryIdentityStore,
    TokenIssuer,
    TokenVerifier,
    create_dpop_proof,
)
from govkit.keys import KeyRing, SigningKey
from govkit.testing import FixedClock

with warnings.catch_warnings():
    # Starlette's test client now prefers the httpx2 package; pyproject's dev extra still
    # installs httpx, which works. Only this one warning is silenced, only at import.
    warnings.filterwarnings(
        "ignore", "Using `httpx` with `starlette.testclient`", StarletteDeprecationWarning
    )
    from fastapi.testclient import TestClient

# ---------------------------------------------------------------------------------
# The snippet (docs/guide/identity: "Protecting a route")
# ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """An HTTP answer refusing the request: status, headers and a JSON body."""

    status: int
    headers: dict[str, str]
    body: dict[str, Any] = field(default_factory=dict)


def tampered(token: str) -> str:
    """``token`` with the end of its signature changed (never left as it was)."""
    return token[:-2] + ("AA" if not token.endswith("AA") else "BA")


def step_up(required: AssuranceLevel, scheme: str = "Bearer") -> Refusal:
    """RFC 9470: ask the client to re-authenticate at ``required`` or above."""
    acr_values = " ".join(level.acr for level in AssuranceLevel if level >= required)
    challenge = (
        f'{scheme} error="insufficient_user_authentication", '
        f'error_description="assurance {required.name.lower()} required", '
        f'acr_values="{acr_values}"'
    )
    return Refusal(
        403,
        {"WWW-Authenticate": challenge},
        {"error": "insufficient_user_authentication", "required": required.name.lower()},
    )


def authenticate(
    verifier: TokenVerifier,
    *,
    authorization: str | None,
    dpop: str | None,
    method: str,
    url: str,
    min_assurance: AssuranceLevel | None = None,
) -> IdentityClaims | Refusal:
    """Verify the request's token; return its claims or the answer to send instead."""
    scheme, _, token = (authorization or "").partition(" ")
    scheme = scheme.capitalize() if scheme.lower() in ("bearer", "dpop") else ""
    if not scheme or not token:
        return Refusal(401, {"WWW-Authenticate": 'Bearer, DPoP algs="ES256 EdDSA"'})
    try:
        claims = verifier.verify(
            token.strip(),
            dpop_proof=dpop if scheme == "Dpop" else None,
            htm=method,
            htu=url,
        )
    except InsufficientAssurance as exc:
        return step_up(AssuranceLevel.from_acr(exc.required))
    except TokenError as exc:  # the code is safe to show and to log; the token is not
        challenge = f'{"DPoP" if scheme == "Dpop" else "Bearer"} error="invalid_token", ' + (
            f'error_description="{exc.code}"'
        )
        return Refusal(
            401, {"WWW-Authenticate": challenge}, {"error": "invalid_token", "code": exc.code}
        )
    if min_assurance is not None and claims.assurance < min_assurance:
        return step_up(min_assurance)
    return claims


# Flask: a decorator. The verified claims are in flask.g.identity.

View = TypeVar("View", bound=Callable[..., Any])


def require_token(
    verifier: TokenVerifier, *, min_assurance: AssuranceLevel | None = None
) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            result = authenticate(
                verifier,
                authorization=request.headers.get("Authorization"),
                dpop=request.headers.get("DPoP"),
                method=request.method,
                url=request.url,
                min_assurance=min_assurance,
            )
            if isinstance(result, Refusal):
                return jsonify(result.body), result.status, result.headers
            g.identity = result
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


# FastAPI: a dependency returning the verified claims.


def token_dependency(
    verifier: TokenVerifier, *, min_assurance: AssuranceLevel | None = None
) -> Callable[[Request], IdentityClaims]:
    def dependency(request: Request) -> IdentityClaims:
        result = authenticate(
            verifier,
            authorization=request.headers.get("authorization"),
            dpop=request.headers.get("dpop"),
            method=request.method,
            url=str(request.url),
            min_assurance=min_assurance,
        )
        if isinstance(result, Refusal):
            raise HTTPException(result.status, detail=result.body, headers=result.headers)
        return result

    return dependency


# ---------------------------------------------------------------------------------
# The apps under test
# ---------------------------------------------------------------------------------

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
ISS = "https://login.gov.example"
AUD = "https://tax.gov.example"
SUB = "pseudonym-Q8r1"


@dataclass
class World:
    clock: FixedClock
    ring: KeyRing
    issuer: TokenIssuer
    verifier: TokenVerifier
    client_key: SigningKey

    def token(self, level: AssuranceLevel, **kwargs: Any) -> str:
        return self.issuer.issue(SUB, AUD, level, timedelta(minutes=5), amr=["face"], **kwargs)


@pytest.fixture
def world() -> World:
    clock = FixedClock(T0)
    ring = KeyRing(SigningKey.generate("ES256"), clock=clock)
    dpop = DPoPVerifier(replay_store=MemoryIdentityStore(), clock=clock)
    verifier = TokenVerifier(ring, issuer=ISS, audience=AUD, clock=clock, dpop=dpop)
    issuer = TokenIssuer(ring, issuer=ISS, clock=clock)
    return World(clock, ring, issuer, verifier, SigningKey.generate("EdDSA"))


def flask_app(verifier: TokenVerifier) -> Flask:
    app = Flask("tax")

    @app.get("/returns")
    @require_token(verifier, min_assurance=AssuranceLevel.SUBSTANTIAL)
    def returns() -> Any:
        return {"subject": g.identity.subject}

    @app.post("/returns/submit")
    @require_token(verifier, min_assurance=AssuranceLevel.HIGH)
    def submit() -> Any:
        return {"subject": g.identity.subject, "assurance": g.identity.assurance.name.lower()}

    return app


def fastapi_app(verifier: TokenVerifier) -> FastAPI:
    app = FastAPI()
    substantial = token_dependency(verifier, min_assurance=AssuranceLevel.SUBSTANTIAL)
    high = token_dependency(verifier, min_assurance=AssuranceLevel.HIGH)

    @app.get("/returns")
    def returns(claims: IdentityClaims = Depends(substantial)) -> dict[str, str]:  # noqa: B008
        return {"subject": claims.subject}

    @app.post("/returns/submit")
    def submit(claims: IdentityClaims = Depends(high)) -> dict[str, str]:  # noqa: B008
        return {"subject": claims.subject, "assurance": claims.assurance.name.lower()}

    return app


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    www_authenticate: str | None


def call_flask(world: World, method: str, path: str, headers: dict[str, str]) -> Answer:
    client = flask_app(world.verifier).test_client()
    response = client.open(path, method=method, headers=headers)
    return Answer(
        response.status_code, response.get_json(), response.headers.get("WWW-Authenticate")
    )


def call_fastapi(world: World, method: str, path: str, headers: dict[str, str]) -> Answer:
    client = TestClient(fastapi_app(world.verifier), base_url="http://localhost")
    response = client.request(method, path, headers=headers)
    body = response.json()
    if isinstance(body.get("detail"), dict):  # HTTPException wraps our body in "detail"
        body = body["detail"]
    return Answer(response.status_code, body, response.headers.get("www-authenticate"))


Caller = Callable[[World, str, str, dict[str, str]], Answer]


@pytest.fixture(params=[call_flask, call_fastapi], ids=["flask", "fastapi"])
def call(request: pytest.FixtureRequest) -> Caller:
    caller: Caller = request.param
    return caller


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ---------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------


def test_valid_token_gets_200_with_the_subject(world: World, call: Caller) -> None:
    answer = call(world, "GET", "/returns", bearer(world.token(AssuranceLevel.SUBSTANTIAL)))
    assert (answer.status, answer.body) == (200, {"subject": SUB})


def test_missing_token_gets_401_without_an_error_code(world: World, call: Caller) -> None:
    answer = call(world, "GET", "/returns", {})
    assert answer.status == 401
    assert answer.www_authenticate is not None
    assert answer.www_authenticate.startswith("Bearer")
    assert "error=" not in answer.www_authenticate
    answer = call(world, "GET", "/returns", {"Authorization": "Basic dXNlcjpwYXNz"})
    assert answer.status == 401


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda w: "not-a-token", "token.malformed"),
        (lambda w: tampered(w.token(AssuranceLevel.HIGH)), "token.invalid_signature"),
        (lambda w: w.token(AssuranceLevel.HIGH, profile="id"), "token.wrong_type"),
        (lambda w: "e" * 9000, "token.too_large"),
    ],
    ids=["malformed", "bad_signature", "id_token", "too_large"],
)
def test_invalid_token_gets_401_with_the_error_code(
    make: Callable[[World], str], code: str, world: World, call: Caller
) -> None:
    answer = call(world, "GET", "/returns", bearer(make(world)))
    assert answer.status == 401
    assert answer.body == {"error": "invalid_token", "code": code}
    assert answer.www_authenticate == f'Bearer error="invalid_token", error_description="{code}"'


def test_expired_token_gets_401(world: World, call: Caller) -> None:
    token = world.token(AssuranceLevel.HIGH)
    world.clock.advance(timedelta(hours=1))
    answer = call(world, "GET", "/returns", bearer(token))
    assert (answer.status, answer.body["code"]) == (401, "token.expired")


def test_insufficient_assurance_gets_403_with_a_step_up_challenge(
    world: World, call: Caller
) -> None:
    token = world.token(AssuranceLevel.SUBSTANTIAL)
    assert call(world, "GET", "/returns", bearer(token)).status == 200
    answer = call(world, "POST", "/returns/submit", bearer(token))
    assert answer.status == 403
    assert answer.body == {"error": "insufficient_user_authentication", "required": "high"}
    assert answer.www_authenticate == (
        'Bearer error="insufficient_user_authentication", '
        'error_description="assurance high required", '
        'acr_values="http://eidas.europa.eu/LoA/high"'
    )
    answer = call(world, "POST", "/returns/submit", bearer(world.token(AssuranceLevel.HIGH)))
    assert (answer.status, answer.body) == (200, {"subject": SUB, "assurance": "high"})


def test_low_token_is_told_every_acceptable_level(world: World, call: Caller) -> None:
    answer = call(world, "GET", "/returns", bearer(world.token(AssuranceLevel.LOW)))
    assert answer.status == 403
    assert answer.www_authenticate is not None
    assert answer.www_authenticate.endswith(
        'acr_values="http://eidas.europa.eu/LoA/substantial http://eidas.europa.eu/LoA/high"'
    )


def test_verifier_wide_minimum_gives_the_same_step_up(world: World) -> None:
    strict = TokenVerifier(
        world.ring,
        issuer=ISS,
        audience=AUD,
        clock=world.clock,
        min_assurance=AssuranceLevel.HIGH,
    )
    result = authenticate(
        strict,
        authorization="Bearer " + world.token(AssuranceLevel.SUBSTANTIAL),
        dpop=None,
        method="GET",
        url="http://localhost/returns",
    )
    assert isinstance(result, Refusal)
    assert (result.status, result.body["required"]) == (403, "high")


def test_dpop_bound_token_with_its_proof_gets_200(world: World, call: Caller) -> None:
    token = world.token(AssuranceLevel.HIGH, confirmation_jkt=world.client_key.kid)
    proof = create_dpop_proof(
        world.client_key,
        htm="GET",
        htu="http://localhost/returns",
        access_token=token,
        clock=world.clock,
    )
    headers = {"Authorization": f"DPoP {token}", "DPoP": proof}
    answer = call(world, "GET", "/returns", headers)
    assert (answer.status, answer.body) == (200, {"subject": SUB})


def test_dpop_bound_token_sent_as_bearer_gets_401(world: World, call: Caller) -> None:
    token = world.token(AssuranceLevel.HIGH, confirmation_jkt=world.client_key.kid)
    answer = call(world, "GET", "/returns", bearer(token))
    assert (answer.status, answer.body["code"]) == (401, "dpop.binding_mismatch")
