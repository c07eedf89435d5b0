"""Django: identity middleware, a ``require_identity`` view decorator, a callback view.

Install with ``pip install 'govkit[django]'``. Configure in ``settings.py``::

    GOVKIT_IDENTITY = {
        "VERIFIER": "tax.auth.make_verifier",    # a TokenVerifier, or a dotted path to one
                                                 # or to a function returning one
        "PUBLIC_URL": "https://tax.gov.example",  # the URL clients use (DPoP htu)
        # optional: "DPOP_ALGS": ["ES256"], "DPOP_NONCE": "tax.auth.current_nonce",
        # "CLOCK": a govkit Clock (for max_age), "UNSAFE_HTU_FROM_REQUEST": False
    }
    MIDDLEWARE = [..., "govkit.integrations.django.GovkitIdentityMiddleware"]

* :class:`GovkitIdentityMiddleware` sets ``request.identity``: the verified
  :class:`~govkit.identity.IdentityClaims` when the request carries a ``Bearer`` or
  ``DPoP`` token that verifies, ``None`` when it carries none; a token that fails is
  answered ``401`` with the ``WWW-Authenticate`` challenge of RFC 6750 / RFC 9449 before
  any view runs.
* :func:`require_identity` protects a view (sync or ``async def``): without a valid
  token ``401``, below ``min_assurance`` the RFC 9470 step-up challenge. With the
  middleware installed it reuses the middleware's result (a DPoP proof is used once);
  without it, it verifies by itself.
* :func:`login_urls` makes the URL patterns of the login routes of a
  :class:`~govkit.integrations.LoginManager` (``login``, ``callback``, ``logout``,
  ``backchannel-logout``);
  :func:`require_login` protects a browser view with the login session
  (``request.login_session``), redirecting to the login route without one and with
  ``acr_values`` for a step-up.
* :func:`payment_callback_view` makes a CSRF-exempt ``POST`` view receiving one
  provider's callbacks, with the provider's own answers and its retry answer (a 5xx)
  when the store fails.

Sync views and the middleware's sync path call the blocking APIs
(:meth:`TokenVerifier.verify <govkit.identity.TokenVerifier.verify>`,
:meth:`PaymentInbox.receive <govkit.payments.PaymentInbox.receive>`); under ASGI the
async path awaits their async forms (``averify``, ``areceive``).
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Awaitable, Callable
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
    areceive_callback,
    missing_framework,
    receive_callback,
    token_scheme,
    too_large,
)
from govkit.integrations._login import LoginAnswer, LoginManager, LoginSession
from govkit.payments import PaymentInbox, PaymentProvider

try:
    from asgiref.sync import iscoroutinefunction, markcoroutinefunction
    from django import conf as django_conf  # not `settings`: it is lazy, and must stay so
    from django.core.signals import setting_changed
    from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
    from django.urls import URLPattern, path
    from django.utils.module_loading import import_string
    from django.views.decorators.csrf import csrf_exempt
    from django.views.decorators.http import require_GET, require_POST
except ImportError:  # pragma: no cover - tested by hiding the module
    raise missing_framework("django", "django") from None

__all__ = [
    "GovkitIdentityMiddleware",
    "login_urls",
    "payment_callback_view",
    "require_identity",
    "require_login",
]

#: The largest callback body read before the inbox's own per-provider limit applies.
MAX_CALLBACK_BODY = 1024 * 1024

View = TypeVar("View", bound=Callable[..., Any])

# Request attributes set by the middleware: whether it ran, and the scheme it verified.
_CHECKED = "_govkit_identity_checked"
_SCHEME = "_govkit_identity_scheme"


def _response(answer: HttpAnswer) -> HttpResponse:
    response = HttpResponse(answer.body, status=answer.status)
    for name, value in answer.headers.items():
        response[name] = value
    return response


def _setting_object(value: object, what: str) -> object:
    """A setting that is an object, or a dotted path to it or to a factory of it."""
    if isinstance(value, str):
        try:
            value = import_string(value)
        except ImportError:
            raise ConfigurationError(
                f"GOVKIT_IDENTITY[{what!r}] names nothing importable"
            ) from None
    return value


def _base_guard() -> IdentityGuard:
    """The guard configured by ``settings.GOVKIT_IDENTITY`` (read at each call).

    Raises:
        ConfigurationError: the setting is missing or cannot work.
    """
    config = getattr(django_conf.settings, "GOVKIT_IDENTITY", None)
    if not isinstance(config, dict) or "VERIFIER" not in config:
        raise ConfigurationError("settings.GOVKIT_IDENTITY needs a 'VERIFIER'")
    verifier = _setting_object(config["VERIFIER"], "VERIFIER")
    if not isinstance(verifier, TokenVerifier) and callable(verifier):
        verifier = verifier()
    if not isinstance(verifier, TokenVerifier):
        raise ConfigurationError(
            "GOVKIT_IDENTITY['VERIFIER'] must be a TokenVerifier or a function returning one"
        )
    clock = config.get("CLOCK")
    clock = _setting_object(clock, "CLOCK") if clock is not None else None
    if clock is not None and not callable(getattr(clock, "now", None)):
        raise ConfigurationError("GOVKIT_IDENTITY['CLOCK'] must be a Clock (with now())")
    nonce = config.get("DPOP_NONCE")
    nonce = _setting_object(nonce, "DPOP_NONCE") if nonce is not None else None
    if nonce is not None and not callable(nonce):
        raise ConfigurationError("GOVKIT_IDENTITY['DPOP_NONCE'] must be a function")
    return IdentityGuard(
        verifier,
        public_url=config.get("PUBLIC_URL"),
        dpop_algs=config.get("DPOP_ALGS", DEFAULT_DPOP_ALGS),
        dpop_nonce=cast("Callable[[], str] | None", nonce),
        unsafe_htu_from_request=bool(config.get("UNSAFE_HTU_FROM_REQUEST", False)),
        clock=cast("Clock | None", clock),
    )


class _Lazy:
    """One guard, made on first use (settings are read after URLconf import)."""

    def __init__(self, make: Callable[[], IdentityGuard]) -> None:
        self._make = make
        self._guard: IdentityGuard | None = None
        self._lock = threading.Lock()
        # override_settings() in tests (or any settings change) makes a new guard
        setting_changed.connect(self._changed, weak=True)

    def _changed(self, *, setting: str, **kwargs: Any) -> None:
        if setting == "GOVKIT_IDENTITY":
            with self._lock:
                self._guard = None

    def get(self) -> IdentityGuard:
        guard = self._guard
        if guard is None:
            with self._lock:
                if self._guard is None:
                    self._guard = self._make()
                guard = self._guard
        return guard


def _read(guard: IdentityGuard, request: HttpRequest) -> Pending | HttpAnswer:
    return guard.read(
        method=request.method or "GET",
        path=request.path,
        authorization=_all(request, "HTTP_AUTHORIZATION"),
        dpop=_all(request, "HTTP_DPOP"),
        request_url=request.build_absolute_uri(request.path) if guard.uses_request_url else None,
    )


def _all(request: HttpRequest, key: str) -> list[str]:
    """A header's value as a list (WSGI joins repeated headers with a comma)."""
    value = request.META.get(key)
    return [value] if isinstance(value, str) else []


class GovkitIdentityMiddleware:
    """Sets ``request.identity`` from the request's token; ``401`` when it does not verify.

    A request without a ``Bearer`` or ``DPoP`` ``Authorization`` header passes with
    ``request.identity = None`` (views decide with :func:`require_identity`). Works
    under WSGI (blocking ``verify``) and ASGI (``await averify``).
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)
        self._guard = _Lazy(_base_guard)

    def _start(self, request: HttpRequest) -> tuple[IdentityGuard, Pending] | HttpAnswer | None:
        request.identity = None
        setattr(request, _CHECKED, True)
        if not token_scheme(_all(request, "HTTP_AUTHORIZATION")):
            return None
        guard = self._guard.get()
        pending = _read(guard, request)
        if isinstance(pending, HttpAnswer):
            return pending
        setattr(request, _SCHEME, pending.scheme)
        return guard, pending

    def __call__(self, request: HttpRequest) -> Any:
        """Verify the request's token (if any), then call the view."""
        if self._async:
            return self._acall(request)
        started = self._start(request)
        if isinstance(started, HttpAnswer):
            return _response(started)
        if started is not None:
            guard, pending = started
            result = guard.verify(pending)
            if isinstance(result, HttpAnswer):
                return _response(result)
            request.identity = result
        return self.get_response(request)

    async def _acall(self, request: HttpRequest) -> Any:
        started = self._start(request)
        if isinstance(started, HttpAnswer):
            return _response(started)
        if started is not None:
            guard, pending = started
            result = await guard.averify(pending)
            if isinstance(result, HttpAnswer):
                return _response(result)
            request.identity = result
        return await cast("Awaitable[Any]", self.get_response(request))


def require_identity(
    min_assurance: AssuranceLevel | None = None,
    *,
    max_age: timedelta | None = None,
    require_dpop: bool = False,
) -> Callable[[View], View]:
    """Protect a view: ``request.identity`` holds verified claims, or the answer is ``401``.

    Args:
        min_assurance: the least assurance level this view accepts (RFC 9470 step-up
            challenge below it).
        max_age: the longest time since the person authenticated (``auth_time``).
        require_dpop: accept only DPoP-bound tokens, sent with ``Authorization: DPoP``.

    The view is exempt from Django's CSRF check: it accepts only a token from the
    ``Authorization`` header, which a browser never adds by itself (the reason CSRF
    protection exists is cookies, which this view does not read for identity).
    """
    if min_assurance is not None and not isinstance(min_assurance, AssuranceLevel):
        raise ConfigurationError("min_assurance must be an AssuranceLevel or None")
    lazy = _Lazy(
        lambda: _base_guard().with_options(
            min_assurance=min_assurance, max_age=max_age, require_dpop=require_dpop
        )
    )

    def decided(guard: IdentityGuard, request: HttpRequest) -> IdentityClaims | HttpAnswer | None:
        """The middleware's result judged for this view, or None to verify here."""
        if not getattr(request, _CHECKED, False):
            return None
        claims = getattr(request, "identity", None)
        if not isinstance(claims, IdentityClaims):
            return guard.challenge()
        return guard.judge(claims, getattr(request, _SCHEME, "Bearer"))

    def decorate(view: View) -> View:
        if inspect.iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                guard = lazy.get()
                result = decided(guard, request)
                if result is None:
                    pending = _read(guard, request)
                    if isinstance(pending, HttpAnswer):
                        return _response(pending)
                    result = await guard.averify(pending)
                if isinstance(result, HttpAnswer):
                    return _response(result)
                request.identity = result
                return await view(request, *args, **kwargs)

            return cast("View", csrf_exempt(async_wrapper))

        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            guard = lazy.get()
            result = decided(guard, request)
            if result is None:
                pending = _read(guard, request)
                if isinstance(pending, HttpAnswer):
                    return _response(pending)
                result = guard.verify(pending)
            if isinstance(result, HttpAnswer):
                return _response(result)
            request.identity = result
            return view(request, *args, **kwargs)

        return cast("View", csrf_exempt(wrapper))

    return decorate


def payment_callback_view(
    inbox_factory: PaymentInbox | Callable[[], PaymentInbox],
    provider: PaymentProvider,
    *,
    max_body: int = MAX_CALLBACK_BODY,
    asynchronous: bool = False,
) -> Callable[[HttpRequest], Any]:
    """A CSRF-exempt ``POST`` view receiving one provider's callbacks.

    Args:
        inbox_factory: the :class:`~govkit.payments.PaymentInbox`, or a function
            returning it, called once on the first callback (so importing the URLconf
            opens no database).
        provider: the provider adapter (``WeChatPayV3(...)``, ``Alipay(...)``...).
        max_body: the largest body read (the inbox's per-provider limit applies next).
        asynchronous: make an ``async def`` view awaiting
            :meth:`PaymentInbox.areceive <govkit.payments.PaymentInbox.areceive>`
            (for ASGI); by default a sync view calling ``receive``.

    Raises:
        ConfigurationError: an argument cannot work.
    """
    if not isinstance(provider, PaymentProvider):
        raise ConfigurationError("provider must be a payment provider adapter")
    if not isinstance(inbox_factory, PaymentInbox) and not callable(inbox_factory):
        raise ConfigurationError("inbox_factory must be a PaymentInbox or a function")
    if not isinstance(max_body, int) or isinstance(max_body, bool) or max_body < 1024:
        raise ConfigurationError("max_body must be an integer of at least 1024")
    lock = threading.Lock()
    opened: list[PaymentInbox] = []

    def inbox() -> PaymentInbox:
        if isinstance(inbox_factory, PaymentInbox):
            return inbox_factory
        if not opened:
            with lock:
                if not opened:
                    made = inbox_factory()
                    if not isinstance(made, PaymentInbox):
                        raise ConfigurationError("inbox_factory must return a PaymentInbox")
                    opened.append(made)
        return opened[0]

    def prepare(request: HttpRequest) -> HttpResponse | tuple[dict[str, str], bytes, str | None]:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if not declared.isdigit() or int(declared) > max_body:
            return _response(too_large(provider))
        body = request.body
        if len(body) > max_body:
            return _response(too_large(provider))
        return dict(request.headers.items()), body, request.META.get("REMOTE_ADDR")

    if asynchronous:

        async def async_view(request: HttpRequest) -> HttpResponse:
            prepared = prepare(request)
            if isinstance(prepared, HttpResponse):
                return prepared
            headers, body, source = prepared
            answer = await areceive_callback(inbox(), provider, headers, body, source=source)
            return _response(answer)

        return cast("Callable[[HttpRequest], Any]", csrf_exempt(async_view))

    def view(request: HttpRequest) -> HttpResponse:
        prepared = prepare(request)
        if isinstance(prepared, HttpResponse):
            return prepared
        headers, body, source = prepared
        return _response(receive_callback(inbox(), provider, headers, body, source=source))

    return cast("Callable[[HttpRequest], Any]", csrf_exempt(view))


# -- login routes ------------------------------------------------------------------------


def _login_response(answer: LoginAnswer) -> HttpResponse:
    response = HttpResponse(answer.body, status=answer.status)
    for name, value in answer.headers:
        response[name] = value
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
            response.delete_cookie(cookie.name, path="/", samesite="Lax")
            response.cookies[cookie.name]["secure"] = cookie.secure
            response.cookies[cookie.name]["httponly"] = True
    return response


def _backchannel_body(request: HttpRequest) -> bytes | None:
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if not declared.isdigit() or int(declared) > 64 * 1024:
        return None
    body: bytes = request.body
    return body


def login_urls(
    manager: LoginManager, *, asynchronous: bool = False, prefix: str = ""
) -> list[URLPattern]:
    """The URL patterns of the login routes of ``manager``; include them in a URLconf.

    ``urlpatterns = [*login_urls(manager), ...]`` gives ``GET login`` (to the
    provider, with a state cookie), ``GET callback`` (the client's ``redirect_uri``:
    the state must be the one of this browser's cookie, then the session cookie is set;
    a refusal is a ``400`` page with the govkit error code), ``POST logout`` (to the
    provider's logout; Django's CSRF protection applies) and ``POST
    backchannel-logout`` (the provider's logout tokens; CSRF-exempt: the token is
    signed). The pattern names are ``govkit_login``, ``govkit_login_callback``,
    ``govkit_logout`` and ``govkit_backchannel_logout``. With ``asynchronous=True`` the
    views are ``async def`` and await the manager's async forms (for ASGI).

    Raises:
        ConfigurationError: ``manager`` is not a :class:`~govkit.integrations.LoginManager`, or its
            ``login_path`` is a local path other than ``/{prefix}login``.
    """
    if not isinstance(manager, LoginManager):
        raise ConfigurationError("manager must be a govkit.integrations.LoginManager")
    if manager.login_path.startswith("/") and manager.login_path != f"/{prefix}login":
        raise ConfigurationError(f"the manager's login_path must be /{prefix}login")

    def query(request: HttpRequest) -> dict[str, str]:
        return {name: request.GET[name] for name in request.GET}

    def raw_query(request: HttpRequest) -> str:
        return str(request.META.get("QUERY_STRING", ""))

    state = manager.state_cookie
    session = manager.session_cookie
    views: dict[str, Callable[[HttpRequest], Any]]
    if asynchronous:

        async def alogin(request: HttpRequest) -> HttpResponse:
            return _login_response(await manager.astart(query(request)))

        async def acallback(request: HttpRequest) -> HttpResponse:
            cookies = request.COOKIES
            answer = await manager.afinish(
                raw_query(request), cookies.get(state), cookies.get(session)
            )
            return _login_response(answer)

        async def alogout(request: HttpRequest) -> HttpResponse:
            return _login_response(await manager.alogout(request.COOKIES.get(session)))

        async def abackchannel(request: HttpRequest) -> HttpResponse:
            body = _backchannel_body(request)
            if body is None:
                return HttpResponse(status=413)
            answer = await manager.abackchannel(request.content_type, body)
            return _login_response(answer)

        views = {"login": alogin, "callback": acallback, "logout": alogout}
        views["backchannel"] = abackchannel
    else:

        def login(request: HttpRequest) -> HttpResponse:
            return _login_response(manager.start(query(request)))

        def callback(request: HttpRequest) -> HttpResponse:
            cookies = request.COOKIES
            answer = manager.finish(raw_query(request), cookies.get(state), cookies.get(session))
            return _login_response(answer)

        def logout(request: HttpRequest) -> HttpResponse:
            return _login_response(manager.logout(request.COOKIES.get(session)))

        def backchannel(request: HttpRequest) -> HttpResponse:
            body = _backchannel_body(request)
            if body is None:
                return HttpResponse(status=413)
            return _login_response(manager.backchannel(request.content_type, body))

        views = {"login": login, "callback": callback, "logout": logout}
        views["backchannel"] = backchannel
    return [
        path(f"{prefix}login", require_GET(views["login"]), name="govkit_login"),
        path(f"{prefix}callback", require_GET(views["callback"]), name="govkit_login_callback"),
        path(f"{prefix}logout", require_POST(views["logout"]), name="govkit_logout"),
        path(
            f"{prefix}backchannel-logout",
            csrf_exempt(require_POST(views["backchannel"])),
            name="govkit_backchannel_logout",
        ),
    ]


def require_login(
    manager: LoginManager, min_assurance: AssuranceLevel | None = None
) -> Callable[[View], View]:
    """Protect a browser view with the login session, put in ``request.login_session``.

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

    def judge(request: HttpRequest, session: LoginSession | None) -> HttpResponse | None:
        result = manager.require(
            session,
            method=request.method or "GET",
            path=request.get_full_path(),
            min_assurance=min_assurance,
        )
        if isinstance(result, LoginAnswer):
            return _login_response(result)
        request.login_session = result
        return None

    def unavailable(error: StoreError) -> HttpResponse:
        return _response(HttpAnswer.json(503, {"error": error.code}))

    def decorate(view: View) -> View:
        if inspect.iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                try:
                    session = await manager.asession(request.COOKIES.get(manager.session_cookie))
                except StoreError as error:
                    return unavailable(error)
                refused = judge(request, session)
                return refused if refused is not None else await view(request, *args, **kwargs)

            return cast("View", async_wrapper)

        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            try:
                session = manager.session(request.COOKIES.get(manager.session_cookie))
            except StoreError as error:
                return unavailable(error)
            refused = judge(request, session)
            return refused if refused is not None else view(request, *args, **kwargs)

        return cast("View", wrapper)

    return decorate
