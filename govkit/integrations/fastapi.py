"""FastAPI: a dependency returning verified identity claims, and payment-callback routes.

Install with ``pip install 'govkit[fastapi]'``. Everything here is ``async`` and awaits
govkit's async forms (:meth:`TokenVerifier.averify <govkit.identity.TokenVerifier.averify>`,
:meth:`PaymentInbox.areceive <govkit.payments.PaymentInbox.areceive>`), so JWKS fetches,
replay-store round trips and inbox writes never block the event loop.

* :func:`require_identity` makes a dependency: ``claims: IdentityClaims =
  Depends(require_identity(verifier, min_assurance=AssuranceLevel.HIGH))``. A missing or
  invalid token raises :class:`fastapi.HTTPException` ``401`` with the
  ``WWW-Authenticate`` challenge of RFC 6750 / RFC 9449, a too-weak one the RFC 9470
  step-up challenge; the JSON body is ``{"detail": {"error": ..., "error_description":
  ...}}``, where the description is a govkit error code (never token content).
* :func:`login_router` makes an :class:`fastapi.APIRouter` with the login routes of a
  :class:`~govkit.integrations.LoginManager` (``/login``, ``/callback``, ``/logout``,
  ``/backchannel-logout``) and :func:`require_login` a dependency returning the
  browser's :class:`~govkit.integrations.LoginSession` (a redirect to ``/login``
  without one, or with ``acr_values`` for a step-up when its assurance is too low).
* :func:`payment_callback` makes an endpoint for one provider, :func:`payment_router` an
  :class:`fastapi.APIRouter` with one ``POST`` route per provider. They answer each
  provider its own way (WeChat Pay ``204`` or ``{"code": "FAIL"}``, Alipay
  ``success``/``fail``, UnionPay ``ok``/``fail``, Stripe ``2xx``), and a store failure
  with the provider's retry answer (a 5xx), never with "success".

Behind a reverse proxy pass ``public_url=`` (the URL clients use): a DPoP proof's ``htu``
is compared with it plus the request path, never with the ``Host`` header.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from govkit.clock import Clock
from govkit.errors import ConfigurationError, StoreError
from govkit.identity import AssuranceLevel, IdentityClaims, TokenVerifier
from govkit.integrations._common import (
    DEFAULT_DPOP_ALGS,
    HttpAnswer,
    IdentityGuard,
    areceive_callback,
    missing_framework,
    too_large,
)
from govkit.integrations._login import LoginAnswer, LoginManager, LoginSession
from govkit.payments import PaymentInbox, PaymentProvider

try:
    from fastapi import APIRouter, HTTPException, Request
    from fastapi.responses import Response
except ImportError:  # pragma: no cover - tested by hiding the module
    raise missing_framework("fastapi", "fastapi") from None

__all__ = [
    "login_router",
    "payment_callback",
    "payment_router",
    "require_identity",
    "require_login",
]

#: The largest callback body read before the inbox's own per-provider limit applies.
MAX_CALLBACK_BODY = 1024 * 1024


def _http_error(answer: HttpAnswer | LoginAnswer) -> HTTPException:
    """An answer of ours (JSON body) as FastAPI's exception, its body as the detail."""
    detail: Any = json.loads(answer.body) if answer.body else None
    pairs = answer.headers.items() if isinstance(answer, HttpAnswer) else answer.headers
    headers = {k: v for k, v in pairs if k.lower() != "content-type"}
    return HTTPException(answer.status, detail=detail, headers=headers)


def _response(answer: HttpAnswer) -> Response:
    return Response(answer.body, answer.status, headers=dict(answer.headers))


def require_identity(
    verifier: TokenVerifier,
    *,
    min_assurance: AssuranceLevel | None = None,
    max_age: timedelta | None = None,
    require_dpop: bool = False,
    public_url: str | None = None,
    dpop_algs: Sequence[str] = DEFAULT_DPOP_ALGS,
    dpop_nonce: Callable[[], str] | None = None,
    unsafe_htu_from_request: bool = False,
    clock: Clock | None = None,
) -> Callable[[Request], Awaitable[IdentityClaims]]:
    """A FastAPI dependency returning the verified :class:`~govkit.identity.IdentityClaims`.

    Args:
        verifier: the service's token verifier (give it a ``dpop=`` verifier to accept
            DPoP-bound tokens).
        min_assurance: the least assurance level this route accepts (RFC 9470 step-up
            challenge below it).
        max_age: the longest time since the person authenticated (``auth_time``).
        require_dpop: accept only DPoP-bound tokens, sent with ``Authorization: DPoP``.
        public_url: the public URL of the application's root (for DPoP ``htu``).
        dpop_algs: the algorithms advertised in ``DPoP`` challenges.
        dpop_nonce: the server's current DPoP nonce, when its DPoP verifier requires one.
        unsafe_htu_from_request: take ``htu`` from the request URL (the ``Host`` header)
            when no ``public_url`` is given.
        clock: the time source for ``max_age``.

    Raises:
        ConfigurationError: an argument cannot work (at once, not per request).
    """
    guard = IdentityGuard(
        verifier,
        min_assurance=min_assurance,
        max_age=max_age,
        require_dpop=require_dpop,
        public_url=public_url,
        dpop_algs=dpop_algs,
        dpop_nonce=dpop_nonce,
        unsafe_htu_from_request=unsafe_htu_from_request,
        clock=clock,
    )

    async def identity(request: Request) -> IdentityClaims:
        pending = guard.read(
            method=request.method,
            path=request.scope.get("path") or "/",
            authorization=request.headers.getlist("authorization"),
            dpop=request.headers.getlist("dpop"),
            request_url=str(request.url),
        )
        if isinstance(pending, HttpAnswer):
            raise _http_error(pending)
        result = await guard.averify(pending)
        if isinstance(result, HttpAnswer):
            raise _http_error(result)
        return result

    return identity


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The body, or ``None`` once it passes ``limit`` bytes (the rest is not read)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def payment_callback(
    inbox: PaymentInbox, provider: PaymentProvider, *, max_body: int = MAX_CALLBACK_BODY
) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint receiving one provider's callbacks into ``inbox``.

    Use it as ``app.add_api_route("/notify/wechatpay", payment_callback(inbox, wechat),
    methods=["POST"])``. The raw body (at most ``max_body`` bytes; the inbox's tighter
    per-provider limit applies next) goes to :meth:`PaymentInbox.areceive
    <govkit.payments.PaymentInbox.areceive>` with the headers and the client address,
    and the provider gets its own answer.

    Raises:
        ConfigurationError: ``inbox``, ``provider`` or ``max_body`` cannot work.
    """
    _check_callback(inbox, provider, max_body)

    async def endpoint(request: Request) -> Response:
        body = await _read_body(request, max_body)
        if body is None:
            return _response(too_large(provider))
        source = request.client.host if request.client else None
        answer = await areceive_callback(
            inbox, provider, dict(request.headers), body, source=source
        )
        return _response(answer)

    return endpoint


def payment_router(
    inbox: PaymentInbox,
    providers: Mapping[str, PaymentProvider],
    *,
    prefix: str = "",
    max_body: int = MAX_CALLBACK_BODY,
) -> APIRouter:
    """An :class:`fastapi.APIRouter` with a ``POST`` callback route per provider.

    ``providers`` maps a path (``"/wechatpay"``) to its provider adapter; the routes
    are left out of the OpenAPI schema.
    """
    if not isinstance(providers, Mapping) or not providers:
        raise ConfigurationError("providers must map paths to provider adapters")
    if any(not isinstance(path, str) or not path.startswith("/") for path in providers):
        raise ConfigurationError("each provider's path must start with '/'")
    router = APIRouter(prefix=prefix)
    for path, provider in providers.items():
        router.add_api_route(
            path,
            payment_callback(inbox, provider, max_body=max_body),
            methods=["POST"],
            include_in_schema=False,
            name=f"govkit_payment_{provider.provider}",
        )
    return router


def _check_callback(inbox: object, provider: object, max_body: object) -> None:
    if not isinstance(inbox, PaymentInbox):
        raise ConfigurationError("inbox must be a govkit.payments.PaymentInbox")
    if not isinstance(provider, PaymentProvider):
        raise ConfigurationError("provider must be a payment provider adapter")
    if not isinstance(max_body, int) or isinstance(max_body, bool) or max_body < 1024:
        raise ConfigurationError("max_body must be an integer of at least 1024")


# -- login routes ------------------------------------------------------------------------


def _login_response(answer: LoginAnswer) -> Response:
    response = Response(answer.body, answer.status, headers=dict(answer.headers))
    for cookie in answer.cookies:
        if cookie.max_age > 0:
            response.set_cookie(
                cookie.name,
                cookie.value,
                max_age=cookie.max_age,
                path="/",
                secure=cookie.secure,
                httponly=True,
                samesite="lax",
            )
        else:
            response.delete_cookie(
                cookie.name, path="/", secure=cookie.secure, httponly=True, samesite="lax"
            )
    return response


def login_router(manager: LoginManager, *, prefix: str = "") -> APIRouter:
    """An :class:`fastapi.APIRouter` with the login routes of ``manager``.

    * ``GET {prefix}/login``: to the provider (``acr_values``, ``max_age``,
      ``login_hint`` from the query only when the manager's ``login_query`` lists them;
      ``next``: a local path to come back to), with a short-lived state cookie;
    * ``GET {prefix}/callback``: the client's ``redirect_uri``; the state must be the
      one in this browser's cookie (login CSRF), then the login is finished and the
      session cookie set; a refusal is a ``400`` page with the govkit error code;
    * ``POST {prefix}/logout``: ends the session and redirects to the provider's logout;
    * ``POST {prefix}/backchannel-logout``: the provider's back-channel logout tokens.

    The routes are left out of the OpenAPI schema and await the manager's async forms.

    Raises:
        ConfigurationError: ``manager`` is not a :class:`~govkit.integrations.LoginManager`, or its
            ``login_path`` is a local path other than ``{prefix}/login``.
    """
    if not isinstance(manager, LoginManager):
        raise ConfigurationError("manager must be a govkit.integrations.LoginManager")
    if manager.login_path.startswith("/") and manager.login_path != f"{prefix}/login":
        raise ConfigurationError(f"the manager's login_path must be {prefix}/login")
    router = APIRouter(prefix=prefix, include_in_schema=False)

    @router.get("/login", name="govkit_login")
    async def login(request: Request) -> Response:
        return _login_response(await manager.astart(dict(request.query_params)))

    @router.get("/callback", name="govkit_login_callback")
    async def callback(request: Request) -> Response:
        cookies = request.cookies
        answer = await manager.afinish(
            request.url.query,
            cookies.get(manager.state_cookie),
            cookies.get(manager.session_cookie),
        )
        return _login_response(answer)

    @router.post("/logout", name="govkit_logout")
    async def logout(request: Request) -> Response:
        return _login_response(await manager.alogout(request.cookies.get(manager.session_cookie)))

    @router.post("/backchannel-logout", name="govkit_backchannel_logout")
    async def backchannel_logout(request: Request) -> Response:
        body = await _read_body(request, 64 * 1024)
        if body is None:
            return Response(status_code=413)
        answer = await manager.abackchannel(request.headers.get("content-type"), body)
        return _login_response(answer)

    return router


def require_login(
    manager: LoginManager, *, min_assurance: AssuranceLevel | None = None
) -> Callable[[Request], Awaitable[LoginSession]]:
    """A FastAPI dependency returning the browser's live :class:`~govkit.integrations.LoginSession`.

    Without a session (none, expired, or ended by a logout or a back-channel logout) a
    ``GET`` is redirected (``303``) to the login route with ``next``; with an assurance
    below ``min_assurance``, to the login route with the ``acr_values`` that satisfy it
    (step-up). Other methods get ``401``. For API clients sending tokens use
    :func:`require_identity` (its RFC 9470 challenge) instead. A revocation store that
    cannot answer is ``503`` (fail closed).

    Raises:
        ConfigurationError: an argument cannot work.
    """
    if not isinstance(manager, LoginManager):
        raise ConfigurationError("manager must be a govkit.integrations.LoginManager")
    if min_assurance is not None and not isinstance(min_assurance, AssuranceLevel):
        raise ConfigurationError("min_assurance must be an AssuranceLevel or None")

    async def login_session(request: Request) -> LoginSession:
        try:
            session = await manager.asession(request.cookies.get(manager.session_cookie))
        except StoreError as error:
            raise HTTPException(503, detail={"error": error.code}) from None
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        result = manager.require(
            session, method=request.method, path=path, min_assurance=min_assurance
        )
        if isinstance(result, LoginAnswer):
            raise _http_error(result)
        return result

    return login_session
