"""govkit.integrations in FastAPI, Flask and Django, each through its own test client.

Every test runs once per framework against the same routes:

* ``GET /returns`` (SUBSTANTIAL), ``POST /returns/submit`` (HIGH), ``GET /dpop`` (DPoP
  required), ``GET /fresh`` (``max_age`` 5 minutes), ``GET /async`` (an async view, SUBSTANTIAL);
* ``POST /notify/<provider>`` into a working inbox and ``POST /down/<provider>`` into one
  whose store refuses writes.

The apps are configured with ``public_url="https://tax.gov.example"`` while the test
clients talk to ``testserver``/``localhost``: the DPoP ``htu`` is the public URL, as
behind a reverse proxy, and never the ``Host`` header.
"""

from __future__ import annotations

import asyncio
import socket
import warnings
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from govkit_tests_integrations import (
    AUD,
    EXPECTED,
    ISS,
    PUBLIC_URL,
    SUB,
    Answer,
    Call,
    Inboxes,
    World,
)

from govkit.errors import ConfigurationError, IdentityStoreError
from govkit.identity import (
    AssuranceLevel,
    DPoPVerifier,
    IdentityClaims,
    JwksSource,
    TokenVerifier,
)

# --- FastAPI -----------------------------------------------------------------------


def tampered(token: str) -> str:
    """``token`` with the end of its signature changed (never left as it was)."""
    return token[:-2] + ("AA" if not token.endswith("AA") else "BA")


def fastapi_call(
    world: World, inboxes: Inboxes, verifier: TokenVerifier | None = None, **options: Any
) -> Call:
    from fastapi import Depends, FastAPI  # noqa: PLC0415
    from starlette.exceptions import StarletteDeprecationWarning  # noqa: PLC0415

    from govkit.integrations.fastapi import (  # noqa: PLC0415
        payment_callback,
        payment_router,
        require_identity,
    )

    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", "Using `httpx` with `starlette.testclient`", StarletteDeprecationWarning
        )
        from fastapi.testclient import TestClient  # noqa: PLC0415

    verifier = verifier or world.verifier
    common = {"public_url": PUBLIC_URL, "clock": world.clock, **options}
    substantial = require_identity(verifier, min_assurance=AssuranceLevel.SUBSTANTIAL, **common)
    high = require_identity(verifier, min_assurance=AssuranceLevel.HIGH, **common)
    dpop = require_identity(verifier, require_dpop=True, **common)
    fresh = require_identity(verifier, max_age=timedelta(minutes=5), **common)
    app = FastAPI()

    @app.get("/returns")
    async def returns(claims: IdentityClaims = Depends(substantial)) -> dict[str, str]:  # noqa: B008
        return {"subject": claims.subject}

    @app.get("/async")
    async def asynchronous(claims: IdentityClaims = Depends(substantial)) -> dict[str, str]:  # noqa: B008
        return {"subject": claims.subject}

    @app.post("/returns/submit")
    async def submit(claims: IdentityClaims = Depends(high)) -> dict[str, str]:  # noqa: B008
        return {"subject": claims.subject, "assurance": claims.assurance.label}

    @app.get("/dpop")
    async def bound(claims: IdentityClaims = Depends(dpop)) -> dict[str, str]:  # noqa: B008
        return {"subject": claims.subject}

    @app.get("/fresh")
    async def recent(claims: IdentityClaims = Depends(fresh)) -> dict[str, str]:  # noqa: B008
        return {"subject": claims.subject}

    providers = world.providers()
    routes = {f"/{name}": provider for name, provider in providers.items()}
    app.include_router(payment_router(inboxes.up, routes, prefix="/notify"))
    for name, provider in providers.items():
        app.add_api_route(
            f"/down/{name}", payment_callback(inboxes.down, provider), methods=["POST"]
        )
    client = TestClient(app, base_url="http://testserver")

    def call(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> Answer:
        response = client.request(method, path, headers=headers, content=body)
        lowered = {k.lower(): v for k, v in response.headers.items()}
        return Answer(response.status_code, lowered, response.content)

    return call


# --- Flask -------------------------------------------------------------------------


def flask_call(
    world: World, inboxes: Inboxes, verifier: TokenVerifier | None = None, **options: Any
) -> Call:
    from flask import Flask, g  # noqa: PLC0415

    from govkit.integrations.flask import (  # noqa: PLC0415
        GovkitIdentity,
        payment_callback_view,
        require_identity,
    )

    app = Flask("tax")
    app.config["GOVKIT_PUBLIC_URL"] = PUBLIC_URL
    extension = GovkitIdentity(verifier=verifier or world.verifier, clock=world.clock, **options)
    extension.init_app(app)  # the application-factory way

    @app.get("/returns")
    @require_identity(AssuranceLevel.SUBSTANTIAL)
    def returns() -> dict[str, str]:
        return {"subject": g.identity.subject}

    @app.get("/async")
    @require_identity(AssuranceLevel.SUBSTANTIAL)
    async def asynchronous() -> dict[str, str]:
        return {"subject": g.identity.subject}

    @app.post("/returns/submit")
    @require_identity(AssuranceLevel.HIGH)
    def submit() -> dict[str, str]:
        return {"subject": g.identity.subject, "assurance": g.identity.assurance.label}

    @app.get("/dpop")
    @require_identity(require_dpop=True)
    def bound() -> dict[str, str]:
        return {"subject": g.identity.subject}

    @app.get("/fresh")
    @require_identity(max_age=timedelta(minutes=5))
    def recent() -> dict[str, str]:
        return {"subject": g.identity.subject}

    for name, provider in world.providers().items():
        app.add_url_rule(
            f"/notify/{name}",
            view_func=payment_callback_view(inboxes.up, provider),
            methods=["POST"],
        )
        down = payment_callback_view(inboxes.down, provider)
        down.__name__ = f"down_{name}"
        app.add_url_rule(f"/down/{name}", view_func=down, methods=["POST"])
    client = app.test_client()

    def call(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> Answer:
        response = client.open(path, method=method, headers=headers, data=body)
        lowered = {k.lower(): v for k, v in response.headers.items()}
        return Answer(response.status_code, lowered, response.get_data())

    return call


# --- Django ------------------------------------------------------------------------


def django_call(
    world: World,
    inboxes: Inboxes,
    verifier: TokenVerifier | None = None,
    *,
    middleware: bool = True,
    asgi: bool = False,
    **options: Any,
) -> Call:
    from django.http import HttpRequest, JsonResponse  # noqa: PLC0415
    from django.test import AsyncClient, Client, override_settings  # noqa: PLC0415
    from django.urls import path  # noqa: PLC0415

    from govkit.integrations.django import (  # noqa: PLC0415
        payment_callback_view,
        require_identity,
    )

    def subject(request: HttpRequest) -> JsonResponse:
        return JsonResponse({"subject": request.identity.subject})  # type: ignore[attr-defined]

    @require_identity(AssuranceLevel.SUBSTANTIAL)
    def returns(request: HttpRequest) -> JsonResponse:
        return subject(request)

    @require_identity(AssuranceLevel.SUBSTANTIAL)
    async def asynchronous(request: HttpRequest) -> JsonResponse:
        return subject(request)

    @require_identity(AssuranceLevel.HIGH)
    def submit(request: HttpRequest) -> JsonResponse:
        claims = request.identity  # type: ignore[attr-defined]
        return JsonResponse({"subject": claims.subject, "assurance": claims.assurance.label})

    @require_identity(require_dpop=True)
    def bound(request: HttpRequest) -> JsonResponse:
        return subject(request)

    @require_identity(max_age=timedelta(minutes=5))
    def recent(request: HttpRequest) -> JsonResponse:
        return subject(request)

    patterns = [
        path("returns", returns),
        path("async", asynchronous),
        path("returns/submit", submit),
        path("dpop", bound),
        path("fresh", recent),
    ]
    for name, provider in world.providers().items():
        patterns.append(path(f"notify/{name}", payment_callback_view(lambda: inboxes.up, provider)))
        patterns.append(
            path(
                f"down/{name}",
                payment_callback_view(inboxes.down, provider, asynchronous=True),
            )
        )
    config = {
        "VERIFIER": verifier or world.verifier,
        "PUBLIC_URL": PUBLIC_URL,
        "CLOCK": world.clock,
    }
    config.update({k.upper(): v for k, v in options.items()})
    settings = override_settings(
        ROOT_URLCONF=Urls(patterns),
        MIDDLEWARE=(
            [
                "django.middleware.csrf.CsrfViewMiddleware",
                "govkit.integrations.django.GovkitIdentityMiddleware",
            ]
            if middleware
            else ["django.middleware.csrf.CsrfViewMiddleware"]
        ),
        GOVKIT_IDENTITY=config,
    )
    client = Client(enforce_csrf_checks=True)
    async_client = AsyncClient(enforce_csrf_checks=True)

    def call(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> Answer:
        kind = headers.get("Content-Type", "application/octet-stream")
        rest = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        url = "/" + path.lstrip("/")
        with settings:
            if asgi:  # Django's ASGI handler: the middleware's async path, awaiting averify
                response = asyncio.run(
                    async_client.generic(method, url, data=body, content_type=kind, headers=rest)
                )
            else:
                response = client.generic(method, url, data=body, content_type=kind, headers=rest)
        lowered = {k.lower(): v for k, v in response.headers.items()}
        return Answer(response.status_code, lowered, response.content)

    return call


class Urls:
    """A URLconf object (Django accepts any hashable object with ``urlpatterns``)."""

    def __init__(self, urlpatterns: list[Any]) -> None:
        self.urlpatterns = urlpatterns


Builder = Callable[..., Call]


@pytest.fixture(params=["fastapi", "flask", "django", "django-asgi", "django-no-middleware"])
def build(request: pytest.FixtureRequest) -> Builder:
    name: str = request.param
    if name.startswith("django"):
        request.getfixturevalue("django_settings")
        if name == "django-no-middleware":
            return lambda *a, **k: django_call(*a, middleware=False, **k)
        if name == "django-asgi":
            return lambda *a, **k: django_call(*a, asgi=True, **k)
        return django_call
    return {"fastapi": fastapi_call, "flask": flask_call}[name]


@pytest.fixture
def call(build: Builder, world: World, inboxes: Inboxes) -> Call:
    return build(world, inboxes)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def dpop(token: str, proof: str) -> dict[str, str]:
    return {"Authorization": f"DPoP {token}", "DPoP": proof}


# --- identity ----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/returns", "/async"])
def test_valid_token_gives_the_claims(path: str, world: World, call: Call) -> None:
    answer = call("GET", path, bearer(world.token(AssuranceLevel.SUBSTANTIAL)), b"")
    assert (answer.status, answer.json()) == (200, {"subject": SUB})


def test_missing_token_gets_401_and_a_challenge_without_an_error(call: Call) -> None:
    for headers in ({}, {"Authorization": "Basic dXNlcjpwYXNz"}):
        answer = call("GET", "/returns", headers, b"")
        assert answer.status == 401
        assert answer.challenge == "Bearer"


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda w: "not-a-token", "token.malformed"),
        (lambda w: tampered(w.token()), "token.invalid_signature"),
        (lambda w: w.token(profile="id"), "token.wrong_type"),
        (lambda w: "e" * 9000, "token.too_large"),
    ],
    ids=["malformed", "forged_signature", "id_token_as_access_token", "oversized"],
)
def test_invalid_token_gets_401_invalid_token_with_the_code(
    make: Callable[[World], str], code: str, world: World, call: Call
) -> None:
    token = make(world)
    answer = call("GET", "/returns", bearer(token), b"")
    assert answer.status == 401
    assert answer.challenge == f'Bearer error="invalid_token", error_description="{code}"'
    assert answer.json() == {"error": "invalid_token", "error_description": code}
    assert token[:40].encode() not in answer.body  # nothing of the token is echoed


def test_expired_token_gets_401(world: World, call: Call) -> None:
    token = world.token()
    world.clock.advance(timedelta(hours=1))
    answer = call("GET", "/returns", bearer(token), b"")
    assert (answer.status, answer.json()["error_description"]) == (401, "token.expired")


@pytest.mark.parametrize(
    "authorization",
    ["Bearer", "Bearer two words", "Bearer tok\u00e9n"],
    ids=["empty", "spaces", "not_token68"],
)
def test_malformed_authorization_gets_400_invalid_request(authorization: str, call: Call) -> None:
    try:
        answer = call("GET", "/returns", {"Authorization": authorization}, b"")
    except (UnicodeEncodeError, ValueError):
        return  # the client library itself refuses a non-Latin-1 header
    assert answer.status == 400
    assert answer.challenge is not None
    assert answer.challenge.startswith('Bearer error="invalid_request"')


def test_insufficient_assurance_gets_the_step_up_challenge(world: World, call: Call) -> None:
    token = world.token(AssuranceLevel.SUBSTANTIAL)
    assert call("GET", "/returns", bearer(token), b"").status == 200
    answer = call("POST", "/returns/submit", bearer(token), b"")
    assert answer.status == 401
    assert answer.challenge == (
        'Bearer error="insufficient_user_authentication", '
        'error_description="assurance high or higher is required", '
        'acr_values="http://eidas.europa.eu/LoA/high"'
    )
    assert answer.json()["acr_values"] == "http://eidas.europa.eu/LoA/high"
    stepped_up = call("POST", "/returns/submit", bearer(world.token(AssuranceLevel.HIGH)), b"")
    assert (stepped_up.status, stepped_up.json()) == (200, {"subject": SUB, "assurance": "high"})


def test_low_token_is_told_every_acceptable_level(world: World, call: Call) -> None:
    answer = call("GET", "/returns", bearer(world.token(AssuranceLevel.LOW)), b"")
    assert answer.status == 401
    assert answer.challenge is not None
    assert answer.challenge.endswith(
        'acr_values="http://eidas.europa.eu/LoA/substantial http://eidas.europa.eu/LoA/high"'
    )


def test_old_login_gets_the_step_up_challenge_with_max_age(world: World, call: Call) -> None:
    now = int(world.clock.now().timestamp())
    recent = call("GET", "/fresh", bearer(world.token(auth_time=now - 60)), b"")
    assert recent.status == 200
    for token in (world.token(auth_time=now - 3600), world.token()):  # old, or no auth_time
        answer = call("GET", "/fresh", bearer(token), b"")
        assert answer.status == 401
        assert answer.challenge is not None
        assert 'error="insufficient_user_authentication"' in answer.challenge
        assert answer.challenge.endswith(
            'acr_values="http://eidas.europa.eu/LoA/high", max_age="300"'
        )


def test_verifier_wide_minimum_gives_the_same_step_up(
    build: Builder, world: World, inboxes: Inboxes
) -> None:
    strict = TokenVerifier(
        world.ring, issuer=ISS, audience=AUD, clock=world.clock, min_assurance=AssuranceLevel.HIGH
    )
    call = build(world, inboxes, strict)
    answer = call("GET", "/returns", bearer(world.token(AssuranceLevel.SUBSTANTIAL)), b"")
    assert answer.status == 401
    assert answer.json()["acr_values"] == "http://eidas.europa.eu/LoA/high"


# --- DPoP --------------------------------------------------------------------------


def test_dpop_bound_token_with_its_proof_gets_the_claims(world: World, call: Call) -> None:
    token = world.bound()
    answer = call("GET", "/dpop", dpop(token, world.proof(token, "GET", "/dpop")), b"")
    assert (answer.status, answer.json()) == (200, {"subject": SUB})


def test_proof_by_another_key_gets_401(world: World, call: Call) -> None:
    token = world.bound()
    thief = world.proof(token, "GET", "/dpop", key=type(world.client_key).generate("ES256"))
    answer = call("GET", "/dpop", dpop(token, thief), b"")
    assert answer.status == 401
    assert answer.challenge == (
        'DPoP error="invalid_token", error_description="dpop.binding_mismatch", '
        'algs="EdDSA ES256 PS256"'
    )


def test_replayed_proof_gets_401(world: World, call: Call) -> None:
    token = world.bound()
    headers = dpop(token, world.proof(token, "GET", "/dpop"))
    assert call("GET", "/dpop", headers, b"").status == 200
    again = call("GET", "/dpop", headers, b"")
    assert again.status == 401
    assert again.json() == {"error": "invalid_token", "error_description": "token.replayed"}


def test_proof_for_the_host_header_url_is_refused(world: World, call: Call) -> None:
    # The client reached "testserver", but the service is https://tax.gov.example: a proof
    # naming the Host-derived URL was made for another origin.
    token = world.bound()
    proof = world.proof(token, "GET", "/dpop", base="http://testserver")
    answer = call("GET", "/dpop", dpop(token, proof), b"")
    assert (answer.status, answer.json()["error_description"]) == (401, "dpop.invalid")


def test_bound_token_sent_as_bearer_gets_401(world: World, call: Call) -> None:
    answer = call("GET", "/returns", bearer(world.bound()), b"")
    assert (answer.status, answer.json()["error_description"]) == (401, "dpop.binding_mismatch")


def test_route_requiring_dpop_refuses_a_bearer_token(world: World, call: Call) -> None:
    answer = call("GET", "/dpop", bearer(world.token()), b"")
    assert answer.status == 401
    assert answer.challenge is not None
    assert answer.challenge.startswith('DPoP error="invalid_token"')
    missing = call("GET", "/dpop", {}, b"")
    assert (missing.status, missing.challenge) == (401, 'DPoP algs="EdDSA ES256 PS256"')


def test_dpop_scheme_without_a_proof_gets_400(world: World, call: Call) -> None:
    answer = call("GET", "/dpop", {"Authorization": f"DPoP {world.bound()}"}, b"")
    assert answer.status == 400
    assert answer.json()["error"] == "invalid_request"


def test_two_dpop_proofs_get_400(world: World, call: Call) -> None:
    token = world.bound()
    first, second = (world.proof(token, "GET", "/dpop") for _ in range(2))
    headers = {"Authorization": f"DPoP {token}", "DPoP": f"{first}, {second}"}
    answer = call("GET", "/dpop", headers, b"")
    assert (answer.status, answer.json()["error"]) == (400, "invalid_request")


def test_two_authorization_headers_get_400(world: World, call: Call) -> None:
    joined = f"Bearer {world.token()}, Bearer {world.token()}"  # as WSGI joins two headers
    answer = call("GET", "/returns", {"Authorization": joined}, b"")
    assert (answer.status, answer.json()["error"]) == (400, "invalid_request")


def test_missing_dpop_nonce_gets_the_nonce_challenge(
    build: Builder, world: World, inboxes: Inboxes
) -> None:
    call = build(world, inboxes, world.nonce_verifier(), dpop_nonce=lambda: world.nonces[-1])
    token = world.bound()
    answer = call("GET", "/dpop", dpop(token, world.proof(token, "GET", "/dpop")), b"")
    assert answer.status == 401
    assert answer.headers["dpop-nonce"] == "n-1"
    assert answer.challenge is not None
    assert answer.challenge.startswith('DPoP error="use_dpop_nonce"')
    retry = world.proof(token, "GET", "/dpop", nonce=answer.headers["dpop-nonce"])
    assert call("GET", "/dpop", dpop(token, retry), b"").status == 200


class DownReplayStore:
    """A DPoP replay store whose server is down (every question fails)."""

    def check_and_remember(self, key: str, *, now: datetime, expires_at: datetime) -> bool:
        raise IdentityStoreError("the replay store is unreachable")

    def purge(self, *, now: datetime) -> int:
        raise IdentityStoreError("the replay store is unreachable")


def test_replay_store_down_fails_closed_with_503(
    build: Builder, world: World, inboxes: Inboxes
) -> None:
    dpop_down = DPoPVerifier(replay_store=DownReplayStore(), clock=world.clock)  # type: ignore[arg-type]
    verifier = TokenVerifier(
        world.ring, issuer=ISS, audience=AUD, clock=world.clock, dpop=dpop_down
    )
    call = build(world, inboxes, verifier)
    token = world.bound()
    answer = call("GET", "/dpop", dpop(token, world.proof(token, "GET", "/dpop")), b"")
    assert answer.status == 503  # neither access nor a challenge: the token may be fine
    assert answer.challenge is None
    assert answer.json()["error_description"] == "identity.store"


def test_unreachable_jwks_fails_closed_with_503(
    build: Builder, world: World, inboxes: Inboxes
) -> None:
    with socket.socket() as closed:  # a loopback port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    source = JwksSource(f"http://127.0.0.1:{port}/jwks.json", clock=world.clock)
    call = build(world, inboxes, TokenVerifier(source, issuer=ISS, audience=AUD, clock=world.clock))
    answer = call("GET", "/returns", bearer(world.token()), b"")
    assert (answer.status, answer.json()["error_description"]) == (503, "jwks.unavailable")
    source.close()


# --- payment callbacks -------------------------------------------------------------


@pytest.mark.parametrize("provider", sorted(EXPECTED))
def test_callback_accepted_and_duplicate_get_the_provider_success(
    provider: str, world: World, call: Call
) -> None:
    headers, body = world.callback(provider, "GOV-1")
    first = call("POST", f"/notify/{provider}", headers, body)
    assert (first.status, first.body) == EXPECTED[provider]["ok"]
    again = call("POST", f"/notify/{provider}", headers, body)
    assert (again.status, again.body) == EXPECTED[provider]["ok"]


@pytest.mark.parametrize("provider", sorted(EXPECTED))
def test_callback_with_a_forged_signature_is_refused(
    provider: str, world: World, call: Call
) -> None:
    headers, body = world.callback(provider, "GOV-2", forged=True)
    answer = call("POST", f"/notify/{provider}", headers, body)
    assert answer.status == EXPECTED[provider]["refused"]
    if provider == "wechatpay":
        assert answer.body.startswith(b'{"code": "FAIL"')
    elif provider in ("alipay", "unionpay"):
        assert answer.body == b"fail"


@pytest.mark.parametrize("provider", sorted(EXPECTED))
def test_callback_while_the_store_is_down_is_not_acknowledged(
    provider: str, world: World, call: Call, inboxes: Inboxes
) -> None:
    headers, body = world.callback(provider, "GOV-3")
    answer = call("POST", f"/down/{provider}", headers, body)
    assert answer.status == EXPECTED[provider]["retry"]  # the provider delivers again
    assert answer.body not in (b"success", b"ok")
    # the retry, once the store is back, is processed
    retry = call("POST", f"/notify/{provider}", headers, body)
    assert (retry.status, retry.body) == EXPECTED[provider]["ok"]
    assert inboxes.up.stats()["events"] == 1


def test_callback_body_over_the_limit_is_refused_unread(world: World, call: Call) -> None:
    headers, _ = world.callback("alipay", "GOV-4")
    answer = call("POST", "/notify/alipay", headers, b"x" * (2 * 1024 * 1024))
    assert (answer.status, answer.body) == (413, b"fail")


# --- configuration -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"public_url": "https://tax.gov.example/?x=1"}, "public_url"),
        ({"public_url": "tax.gov.example"}, "public_url"),
        ({"dpop_algs": ['ES256"']}, "dpop_algs"),
        ({"dpop_algs": "ES256"}, "dpop_algs"),
        ({"max_age": timedelta(0)}, "max_age"),
        ({"min_assurance": "high"}, "min_assurance"),
    ],
    ids=["url_with_query", "url_without_scheme", "alg_with_quote", "algs_as_string",
         "zero_max_age", "level_as_string"],
)  # fmt: skip
def test_options_that_cannot_work_are_refused_at_once(
    options: dict[str, Any], words: str, world: World
) -> None:
    from govkit.integrations.fastapi import require_identity  # noqa: PLC0415

    with pytest.raises(ConfigurationError, match=words):
        require_identity(world.verifier, **options)


def test_payment_router_needs_paths_starting_with_a_slash(world: World, inboxes: Inboxes) -> None:
    from govkit.integrations.fastapi import payment_router  # noqa: PLC0415

    with pytest.raises(ConfigurationError, match="'/'"):
        payment_router(inboxes.up, {"wechatpay": world.providers()["wechatpay"]})


def test_flask_view_without_the_extension_is_a_configuration_error(world: World) -> None:
    from flask import Flask  # noqa: PLC0415

    from govkit.integrations.flask import require_identity  # noqa: PLC0415

    app = Flask("bare")

    @app.get("/returns")
    @require_identity()
    def returns() -> str:
        return "never"

    with app.test_request_context("/returns"), pytest.raises(ConfigurationError, match="Govkit"):
        returns()


def test_django_without_a_verifier_setting_is_a_configuration_error(
    django_settings: None,
) -> None:
    from django.test import RequestFactory, override_settings  # noqa: PLC0415

    from govkit.integrations.django import GovkitIdentityMiddleware  # noqa: PLC0415

    middleware = GovkitIdentityMiddleware(lambda request: None)
    request = RequestFactory().get("/returns", headers={"Authorization": "Bearer abc"})
    with override_settings(GOVKIT_IDENTITY={}), pytest.raises(ConfigurationError, match="VERIFIER"):
        middleware(request)


def test_require_dpop_without_public_url_is_a_configuration_error(world: World) -> None:
    from govkit.integrations.fastapi import require_identity  # noqa: PLC0415

    with pytest.raises(ConfigurationError, match="public_url"):
        require_identity(world.verifier, require_dpop=True)


@pytest.mark.parametrize(
    ("module", "framework"),
    [("fastapi", "fastapi"), ("flask", "flask"), ("django", "django")],
)
def test_missing_framework_names_the_extra(
    module: str, framework: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib  # noqa: PLC0415
    import sys  # noqa: PLC0415

    for name in [m for m in sys.modules if m == framework or m.startswith(framework + ".")]:
        monkeypatch.setitem(sys.modules, name, None)  # as if it were not installed
    monkeypatch.delitem(sys.modules, f"govkit.integrations.{module}", raising=False)
    with pytest.raises(ConfigurationError) as caught:
        importlib.import_module(f"govkit.integrations.{module}")
    assert f"govkit[{framework}]" in str(caught.value)


def test_importing_govkit_imports_no_integration() -> None:
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    code = (
        "import sys, govkit, govkit.identity, govkit.payments; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('fastapi', 'flask', 'django', 'starlette') or m.startswith('govkit.integrations')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"
