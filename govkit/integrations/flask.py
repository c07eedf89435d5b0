"""Flask: the ``GovkitIdentity`` extension, a ``require_identity`` decorator, callback views.

Install with ``pip install 'govkit[flask]'``.

* :class:`GovkitIdentity` holds the service's :class:`~govkit.identity.TokenVerifier`
  and URL settings for an app (``GovkitIdentity(app, verifier=...)``, or
  ``init_app(app)`` in an application factory).
* :func:`require_identity` protects a view: ``@require_identity(min_assurance=...)``
  puts the verified :class:`~govkit.identity.IdentityClaims` in ``flask.g.identity``,
  or answers ``401`` with the ``WWW-Authenticate`` challenge of RFC 6750 / RFC 9449 (a
  too-weak token gets the RFC 9470 step-up challenge). Sync views use the blocking
  :meth:`TokenVerifier.verify <govkit.identity.TokenVerifier.verify>`; ``async def``
  views use ``averify``.
* :func:`login_blueprint` makes a blueprint with the login routes of a
  :class:`~govkit.integrations.LoginManager` (``/login``, ``/callback``, ``/logout``,
  ``/backchannel-logout``); :func:`require_login` protects a browser view with the
  login session (``flask.g.login_session``), redirecting to ``/login`` without one and
  with ``acr_values`` for a step-up.
* :func:`payment_callback_view` makes a view receiving one provider's callbacks, with
  the provider's own answers and its retry answer (a 5xx) when the store fails.

Configuration may also come from ``app.config``: ``GOVKIT_VERIFIER`` and
``GOVKIT_PUBLIC_URL`` (the URL clients use, for DPoP ``htu``: never the ``Host`` header).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, TypeVar, cast

from govkit.clock import Clock
from govkit.errors import ConfigurationError, StoreError
from govkit.identity import AssuranceLevel, IdentityClaims, TokenVerifier
from govkit.integrations._common import (
    DEFAULT_DPOP_ALGS,
    HttpAnswer,
    IdentityGuard,
    Pending,
    missing_framework,
    receive_callback,
    too_large,
)
from govkit.integrations._login import LoginAnswer, LoginManager, LoginSession
from govkit.payments import PaymentInbox, PaymentProvider

try:
    from flask import Blueprint, Flask, Response, current_app, g, request
except ImportError:  # pragma: no cover - tested by hiding the module
    raise missing_framework("flask", "flask") from None

__all__ = [
    "GovkitIdentity",
    "login_blueprint",
    "payment_callback_view",
    "require_identity",
    "require_login",
]

#: The key of the extension in ``app.extensions``.
EXTENSION_KEY = "govkit_identity"
#: The largest callback body read before the inbox's own per-provider limit applies.
MAX_CALLBACK_BODY = 1024 * 1024

View = TypeVar("View", bound=Callable[..., Any])


def _response(answer: HttpAnswer) -> Response:
    return Response(answer.body, answer.status, headers=dict(answer.headers))


class GovkitIdentity:
    """The Flask extension: one verifier and its URL settings per app.

    Args:
        app: the app to set up now (or call :meth:`init_app` later).
        verifier: the service's token verifier (default: ``app.config["GOVKIT_VERIFIER"]``).
        public_url: the public URL of the app's root, for DPoP ``htu`` (default:
            ``app.config["GOVKIT_PUBLIC_URL"]``).
        dpop_algs: the algorithms advertised in ``DPoP`` challenges.
        dpop_nonce: the server's current DPoP nonce, when its DPoP verifier requires one.
        unsafe_htu_from_request: take ``htu`` from the request URL (the ``Host``
            header) when no ``public_url`` is given.
        clock: the time source for ``max_age``.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        verifier: TokenVerifier | None = None,
        public_url: str | None = None,
        dpop_algs: Sequence[str] = DEFAULT_DPOP_ALGS,
        dpop_nonce: Callable[[], str] | None = None,
        unsafe_htu_from_request: bool = False,
        clock: Clock | None = None,
    ) -> None:
        self._verifier = verifier
        self._public_url = public_url
        self._options: dict[str, Any] = {
            "dpop_algs": dpop_algs,
            "dpop_nonce": dpop_nonce,
            "unsafe_htu_from_request": unsafe_htu_from_request,
            "clock": clock,
        }
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Set the extension up for ``app``.

        Raises:
            ConfigurationError: no verifier was given or configured, or a setting
                cannot work.
        """
        verifier = self._verifier or app.config.get("GOVKIT_VERIFIER")
        if not isinstance(verifier, TokenVerifier):
            raise ConfigurationError(
                "GovkitIdentity needs verifier= or app.config['GOVKIT_VERIFIER'] "
                "(a govkit.identity.TokenVerifier)"
            )
        public_url = self._public_url or app.config.get("GOVKIT_PUBLIC_URL")
        base = IdentityGuard(verifier, public_url=public_url, **self._options)
        app.extensions[EXTENSION_KEY] = _State(base)


class _State:
    """Per app: the base guard and one guard per set of route demands."""

    def __init__(self, base: IdentityGuard) -> None:
        self.base = base
        self.guards: dict[tuple[Any, ...], IdentityGuard] = {}

    def guard(
        self, min_assurance: AssuranceLevel | None, max_age: timedelta | None, require_dpop: bool
    ) -> IdentityGuard:
        key = (min_assurance, max_age, require_dpop)
        found = self.guards.get(key)
        if found is None:
            found = self.base.with_options(
                min_assurance=min_assurance, max_age=max_age, require_dpop=require_dpop
            )
            self.guards[key] = found
        return found


def _current_guard(
    min_assurance: AssuranceLevel | None, max_age: timedelta | None, require_dpop: bool
) -> IdentityGuard:
    state = current_app.extensions.get(EXTENSION_KEY)
    if not isinstance(state, _State):
        raise ConfigurationError("require_identity needs GovkitIdentity(app) (or init_app)")
    return state.guard(min_assurance, max_age, require_dpop)


def _read(guard: IdentityGuard) -> Pending | HttpAnswer:
    return guard.read(
        method=request.method,
        path=request.script_root + request.path,
        authorization=request.headers.getlist("Authorization"),
        dpop=request.headers.getlist("DPoP"),
        request_url=request.url,
    )


def require_identity(
    min_assurance: AssuranceLevel | None = None,
    *,
    max_age: timedelta | None = None,
    require_dpop: bool = False,
) -> Callable[[View], View]:
    """Protect a view: verified claims in ``flask.g.identity``, or a ``401`` challenge.

    Args:
        min_assurance: the least assurance level this view accepts (RFC 9470 step-up
            challenge below it).
        max_age: the longest time since the person authenticated (``auth_time``).
        require_dpop: accept only DPoP-bound tokens, sent with ``Authorization: DPoP``.

    Raises:
        ConfigurationError: (per request) the app has no :class:`GovkitIdentity`.
    """
    if min_assurance is not None and not isinstance(min_assurance, AssuranceLevel):
        raise ConfigurationError("min_assurance must be an AssuranceLevel or None")

    def decorate(view: View) -> View:
        if inspect.iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                guard = _current_guard(min_assurance, max_age, require_dpop)
                pending = _read(guard)
                if isinstance(pending, HttpAnswer):
                    return _response(pending)
                result = await guard.averify(pending)
                if isinstance(result, HttpAnswer):
                    return _response(result)
                g.identity = result
                return await view(*args, **kwargs)

            return cast("View", async_wrapper)

        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            guard = _current_guard(min_assurance, max_age, require_dpop)
            pending = _read(guard)
            if isinstance(pending, HttpAnswer):
                return _response(pending)
            result: IdentityClaims | HttpAnswer = guard.verify(pending)
            if isinstance(result, HttpAnswer):
                return _response(result)
            g.identity = result
            return view(*args, **kwargs)

        return cast("View", wrapper)

    return decorate


def _read_body(limit: int) -> bytes | None:
    """The body, or ``None`` once it passes ``limit`` bytes (the rest is not read)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = request.stream.read(min(65536, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)


def payment_callback_view(
    inbox: PaymentInbox, provider: PaymentProvider, *, max_body: int = MAX_CALLBACK_BODY
) -> Callable[[], Response]:
    """A view receiving one provider's callbacks into ``inbox`` (blocking, like Flask).

    Register it with ``app.add_url_rule("/notify/wechatpay",
    view_func=payment_callback_view(inbox, wechat), methods=["POST"])``; its endpoint
    name is ``govkit_payment_<provider>``. The raw body (at most ``max_body`` bytes) goes
    to :meth:`PaymentInbox.receive <govkit.payments.PaymentInbox.receive>` with the
    headers and the client address; a store failure gets the provider's retry answer.

    Raises:
        ConfigurationError: ``inbox``, ``provider`` or ``max_body`` cannot work.
    """
    if not isinstance(inbox, PaymentInbox):
        raise ConfigurationError("inbox must be a govkit.payments.PaymentInbox")
    if not isinstance(provider, PaymentProvider):
        raise ConfigurationError("provider must be a payment provider adapter")
    if not isinstance(max_body, int) or isinstance(max_body, bool) or max_body < 1024:
        raise ConfigurationError("max_body must be an integer of at least 1024")

    def view() -> Response:
        declared = request.content_length
        if declared is not None and declared > max_body:
            return _response(too_large(provider))
        body = _read_body(max_body)
        if body is None:
            return _response(too_large(provider))
        headers = dict(request.headers.items())
        answer = receive_callback(inbox, provider, headers, body, source=request.remote_addr)
        return _response(answer)

    view.__name__ = f"govkit_payment_{provider.provider}"
    return view


# -- login routes ------------------------------------------------------------------------


def _login_response(answer: LoginAnswer) -> Response:
    response = Response(answer.body, answer.status, headers=list(answer.headers))
    for cookie in answer.cookies:
        if cookie.max_age > 0:
            response.set_cookie(
                cookie.name,
                cookie.value,
                max_age=cookie.max_age,
                path="/",
                secure=cookie.secure,
                httponly=True,
                samesite="Lax",
            )
        else:
            response.delete_cookie(
                cookie.name, path="/", secure=cookie.secure, httponly=True, samesite="Lax"
            )
    return response


def login_blueprint(
    manager: LoginManager, *, name: str = "govkit_login", url_prefix: str = ""
) -> Blueprint:
    """A blueprint with the login routes of ``manager`` (blocking views, like Flask).

    ``GET /login`` (to the provider, with a state cookie), ``GET /callback`` (the
    client's ``redirect_uri``: the state must be the one of this browser's cookie, then
    the session cookie is set; a refusal is a ``400`` page with the govkit error code),
    ``POST /logout`` (to the provider's logout) and ``POST /backchannel-logout`` (the
    provider's logout tokens; exempt from any CSRF extension: the token is signed).

    Raises:
        ConfigurationError: ``manager`` is not a :class:`~govkit.integrations.LoginManager`, or its
            ``login_path`` is a local path other than ``{url_prefix}/login``.
    """
    if not isinstance(manager, LoginManager):
        raise ConfigurationError("manager must be a govkit.integrations.LoginManager")
    if manager.login_path.startswith("/") and manager.login_path != f"{url_prefix}/login":
        raise ConfigurationError(f"the manager's login_path must be {url_prefix}/login")
    blueprint = Blueprint(name, __name__, url_prefix=url_prefix or None)

    @blueprint.get("/login")
    def login() -> Response:
        return _login_response(manager.start(request.args.to_dict(flat=True)))

    @blueprint.get("/callback")
    def callback() -> Response:
        query = request.query_string.decode("ascii", "replace")
        cookies = request.cookies
        answer = manager.finish(
            query, cookies.get(manager.state_cookie), cookies.get(manager.session_cookie)
        )
        return _login_response(answer)

    @blueprint.post("/logout")
    def logout() -> Response:
        return _login_response(manager.logout(request.cookies.get(manager.session_cookie)))

    @blueprint.post("/backchannel-logout")
    def backchannel_logout() -> Response:
        declared = request.content_length
        body = _read_body(64 * 1024) if declared is None or declared <= 64 * 1024 else None
        if body is None:
            return Response(status=413)
        return _login_response(manager.backchannel(request.content_type, body))

    return blueprint


def require_login(
    manager: LoginManager, min_assurance: AssuranceLevel | None = None
) -> Callable[[View], View]:
    """Protect a browser view with the login session, put in ``flask.g.login_session``.

    Without a live session a ``GET`` is redirected to the login route with ``next``
    (other methods: ``401``); below ``min_assurance`` to the login route with the
    ``acr_values`` that satisfy it (step-up). A revocation store that cannot answer is
    ``503``. ``async def`` views await
    :meth:`LoginManager.asession <govkit.integrations.LoginManager.asession>`.
    """
    if not isinstance(manager, LoginManager):
        raise ConfigurationError("manager must be a govkit.integrations.LoginManager")
    if min_assurance is not None and not isinstance(min_assurance, AssuranceLevel):
        raise ConfigurationError("min_assurance must be an AssuranceLevel or None")

    def judge(session: LoginSession | None) -> Response | None:
        path = request.full_path.rstrip("?") if request.query_string else request.path
        result = manager.require(
            session,
            method=request.method,
            path=request.script_root + path,
            min_assurance=min_assurance,
        )
        if isinstance(result, LoginAnswer):
            return _login_response(result)
        g.login_session = result
        return None

    def unavailable(error: StoreError) -> Response:
        return _response(HttpAnswer.json(503, {"error": error.code}))

    def decorate(view: View) -> View:
        if inspect.iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                try:
                    session = await manager.asession(request.cookies.get(manager.session_cookie))
                except StoreError as error:
                    return unavailable(error)
                refused = judge(session)
                return refused if refused is not None else await view(*args, **kwargs)

            return cast("View", async_wrapper)

        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                session = manager.session(request.cookies.get(manager.session_cookie))
            except StoreError as error:
                return unavailable(error)
            refused = judge(session)
            return refused if refused is not None else view(*args, **kwargs)

        return cast("View", wrapper)

    return decorate
