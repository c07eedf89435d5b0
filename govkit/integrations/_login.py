"""The framework-neutral half of the login routes: browser sessions tied to the ID token's ``sid``.

:class:`LoginManager` does everything the login, callback, logout and back-channel
logout routes of :mod:`govkit.integrations.fastapi`, :mod:`~govkit.integrations.flask`
and :mod:`~govkit.integrations.django` do; each framework only turns its request into
strings and a :class:`LoginAnswer` into its response (cookies set with its own API).

Why a sealed cookie rather than a server-side session: the session (subject, ``sid``,
``acr``, ``auth_time``, start and end, and the ID token for the logout hint) is small,
and sealed with AES-256-GCM under a key derived from the application's key it can be
neither read nor changed by the browser. No session table has to be shared by every
instance, written at each login or purged. What *must* be shared is what ends
sessions early, and it is small and bounded: the revocation store gets one entry per
ended ``sid`` (back-channel logout) or per ended session (logout here), kept until the
longest session could have expired, and one "not before" time per subject when the
provider ends all of a person's sessions. Every request with a session asks the store,
so a logout at one instance ends the session at all of them.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import json
import logging
import re
import secrets
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode

from govkit.clock import Clock, SystemClock
from govkit.errors import (
    ConfigurationError,
    GovkitError,
    OidcDiscoveryError,
    OidcLoginRequestInvalid,
    OidcLogoutReplayed,
    OidcStateMismatch,
    OidcUnavailable,
    StoreError,
)
from govkit.identity import AssuranceLevel
from govkit.identity.oidc import DEFAULT_ACR_LEVELS, Login, LoginRequest, LogoutToken, OidcClient
from govkit.stores import RevocationStore, Sealer

__all__ = ["Cookie", "LoginAnswer", "LoginManager", "LoginSession"]

_CONTEXT: Final = b"govkit.integrations.login/v1"
_VERSION: Final = 1
_MAX_COOKIE: Final = 4000  # browsers keep at least 4096 bytes per cookie
_MAX_NEXT: Final = 2048
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_HINT: Final = 256
_MAX_BACKCHANNEL_BODY: Final = 64 * 1024
_HINT: Final = re.compile(r"[\x21-\x7e]+")
_BACKCHANNEL_HEADERS: Final = (("Cache-Control", "no-store"),)
_LOG: Final = logging.getLogger("govkit.integrations.login")
#: What the login route may take from its query: the names :class:`LoginManager` knows.
LOGIN_QUERY: Final = frozenset({"acr_values", "max_age", "login_hint"})


@dataclass(frozen=True, slots=True)
class LoginSession:
    """A browser's login, as the application sees it after the callback.

    Attributes:
        session_id: this session's own random id (ends it alone at logout).
        subject: the ID token's ``sub``.
        sid: the provider's session id (``sid``), or ``None``; a back-channel logout
            naming it ends this session.
        acr: the ID token's ``acr``, or ``None``.
        assurance: ``acr`` as an :class:`~govkit.identity.AssuranceLevel`, or ``None``.
        auth_time: when the person authenticated, or ``None``.
        issued_at: when the session started (the callback).
        expires_at: when it ends at the latest.
        id_token: the raw ID token, the hint of RP-initiated logout (never shown).
    """

    session_id: str = field(repr=False)
    subject: str
    sid: str | None
    acr: str | None
    assurance: AssuranceLevel | None
    auth_time: datetime | None
    issued_at: datetime
    expires_at: datetime
    id_token: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Cookie:
    """A cookie to set (``max_age`` > 0) or to delete (``max_age`` 0, ``value`` empty).

    Always ``Path=/``, ``HttpOnly``, ``SameSite=Lax``; ``Secure`` unless the manager
    was configured for plain http.
    """

    name: str
    value: str = field(repr=False)
    max_age: int
    secure: bool


@dataclass(frozen=True, slots=True)
class LoginAnswer:
    """What a login route answers: status, headers, body and cookies to set."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    cookies: tuple[Cookie, ...] = ()

    @property
    def location(self) -> str | None:
        """The ``Location`` header of a redirect."""
        for name, value in self.headers:
            if name == "Location":
                return value
        return None


class _Sealer:
    """A JSON object in a cookie value, sealed by :class:`~govkit.stores.Sealer` (the
    first of the application's keys seals, every one opens), bound to the cookie's name."""

    __slots__ = ("_sealer",)

    def __init__(self, keys: Sequence[bytes], purpose: bytes) -> None:
        self._sealer = Sealer(keys, info=_CONTEXT + purpose)

    def seal(self, name: str, payload: Mapping[str, Any]) -> str:
        data = json.dumps(dict(payload), separators=(",", ":")).encode("utf-8")
        sealed = self._sealer.seal(data, name.encode("ascii"))
        return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode("ascii")

    def open(self, name: str, value: str | None) -> dict[str, Any] | None:
        if not value or len(value) > _MAX_COOKIE or not value.isascii():
            return None
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        except ValueError:
            return None
        data = self._sealer.open(raw, name.encode("ascii"))
        if data is None:
            return None
        # Sealed by us (AES-GCM authenticated this exact text), so the plain parser: the
        # integrations import only components' public APIs, not core's private _json.
        payload = json.loads(data)
        return payload if isinstance(payload, dict) else None


def _local_path(value: str) -> bool:
    """Whether ``value`` is a path on this site (no scheme, host or backslash trick)."""
    return (
        0 < len(value) <= _MAX_NEXT
        and value.startswith("/")
        and not value.startswith("//")
        and "\\" not in value
        and all(0x20 < ord(c) < 0x7F for c in value)
    )


def _error_page(status: int, code: str, login_path: str) -> LoginAnswer:
    body = (
        "<!doctype html><html><head><meta charset=utf-8><title>Login failed</title></head>"
        f"<body><h1>Login failed</h1><p>Error code: <code>{html.escape(code)}</code></p>"
        f'<p><a href="{html.escape(login_path)}">Log in again</a></p></body></html>'
    ).encode()
    headers = (("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store"))
    return LoginAnswer(status, headers, body)


def _json(status: int, payload: Mapping[str, Any], *extra: tuple[str, str]) -> LoginAnswer:
    body = json.dumps(dict(payload), separators=(",", ":")).encode("utf-8")
    headers = (("Content-Type", "application/json"), ("Cache-Control", "no-store"), *extra)
    return LoginAnswer(status, headers, body)


def _time(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


def _from_time(value: object) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if isinstance(value, int) else None


def _time_us(value: datetime) -> int:
    return (value - _EPOCH) // timedelta(microseconds=1)


def _from_time_us(value: object) -> datetime | None:
    return _EPOCH + timedelta(microseconds=value) if isinstance(value, int) else None


class LoginManager:
    """Login, callback, logout and back-channel logout for one OpenID Provider client.

    Args:
        client: the relying-party client (with a ``replay_store`` for back-channel
            logout tokens).
        key: the application's secret (at least 32 random bytes) sealing the session
            and state cookies (AES-256-GCM under derived keys).
        revocations: the shared :class:`~govkit.stores.RevocationStore` recording
            ended sessions (the same database or Redis for every instance).
        old_keys: earlier keys, still accepted to open cookies (rotation).
        session_max_age: the longest a session lasts (and how long an ended ``sid``
            is remembered).
        acr_values: the ``acr`` values every login asks for, preferred first.
        max_age: the ``max_age`` every login asks for (seconds), or ``None``.
        acr_levels: how the provider's ``acr`` values rank (the client's mapping);
            the step-up redirect asks for those at or above the route's minimum, and
            the login route accepts from its query only these.
        login_query: what the login route may take from its query string, among
            ``acr_values``, ``max_age`` and ``login_hint`` (default ``acr_values``:
            what a step-up redirect carries).
        login_path: where browsers without a session are sent (the login route).
        after_login: where a callback sends the browser when the login had no ``next``.
        after_logout: where logging out without a session (or without a provider
            logout endpoint) sends the browser.
        on_login: called with the :class:`~govkit.identity.oidc.Login` (tokens
            included) and the new :class:`LoginSession` after each login: a place to
            keep the tokens server-side, under ``session.session_id``. Async routes
            call it on the event loop: keep it quick (or hand the work to a thread).
        unsafe_http_cookies: cookies without ``Secure`` and without the ``__Host-``
            prefix, for ``http://127.0.0.1`` development and tests only.
        clock: the time source.

    Raises:
        ConfigurationError: an argument cannot work.
    """

    def __init__(
        self,
        client: OidcClient,
        *,
        key: bytes,
        revocations: RevocationStore,
        old_keys: Sequence[bytes] = (),
        session_max_age: timedelta = timedelta(hours=8),
        acr_values: Sequence[str] = (),
        max_age: int | None = None,
        acr_levels: Mapping[str, AssuranceLevel] | None = None,
        login_query: Collection[str] = ("acr_values",),
        login_path: str = "/login",
        after_login: str = "/",
        after_logout: str = "/",
        on_login: Callable[[Login, LoginSession], None] | None = None,
        unsafe_http_cookies: bool = False,
        clock: Clock | None = None,
    ) -> None:
        if not isinstance(client, OidcClient):
            raise ConfigurationError("client must be a govkit.identity.oidc.OidcClient")
        keys = [key, *old_keys]
        if not all(isinstance(k, bytes) and len(k) >= 32 for k in keys):
            raise ConfigurationError("the login key (and old keys) must be 32 or more bytes")
        if not isinstance(revocations, RevocationStore):
            raise ConfigurationError("revocations must be a govkit.stores.RevocationStore")
        if not isinstance(session_max_age, timedelta) or session_max_age <= timedelta(0):
            raise ConfigurationError("session_max_age must be a positive timedelta")
        self.acr_levels: Mapping[str, AssuranceLevel] = dict(acr_levels or DEFAULT_ACR_LEVELS)
        if not all(
            isinstance(k, str) and isinstance(v, AssuranceLevel) for k, v in self.acr_levels.items()
        ):
            raise ConfigurationError("acr_levels must map acr strings to AssuranceLevel")
        if isinstance(acr_values, str) or not all(v in self.acr_levels for v in acr_values):
            raise ConfigurationError("acr_values must be acr strings known to acr_levels")
        if max_age is not None and (type(max_age) is not int or max_age < 0):
            raise ConfigurationError("max_age must be a non-negative integer or None")
        if isinstance(login_query, str) or not set(login_query) <= LOGIN_QUERY:
            raise ConfigurationError(f"login_query must be names among {sorted(LOGIN_QUERY)}")
        for name, path in (
            ("login_path", login_path),
            ("after_login", after_login),
            ("after_logout", after_logout),
        ):
            if not isinstance(path, str) or not (_local_path(path) or path.startswith("https://")):
                raise ConfigurationError(f"{name} must be a local path or an https URL")
        if on_login is not None and not callable(on_login):
            raise ConfigurationError("on_login must be callable")
        self.client = client
        self.revocations = revocations
        self.session_max_age = session_max_age
        self.acr_values = tuple(acr_values)
        self.max_age = max_age
        self.login_query = frozenset(login_query)
        self.login_path = login_path
        self.after_login = after_login
        self.after_logout = after_logout
        self._on_login = on_login
        self.secure = unsafe_http_cookies is not True
        prefix = "__Host-" if self.secure else ""
        #: The cookie holding the sealed session.
        self.session_cookie = f"{prefix}govkit-session"
        #: The short-lived cookie binding a login's ``state`` to the browser.
        self.state_cookie = f"{prefix}govkit-login"
        self._sessions = _Sealer(keys, b" session")
        self._states = _Sealer(keys, b" state")
        self._clock: Clock = clock or SystemClock()

    def __repr__(self) -> str:
        return f"LoginManager({self.client!r})"

    def _cookie(self, name: str, value: str, max_age: int) -> Cookie:
        return Cookie(name, value, max_age, self.secure)

    def _clear(self, name: str) -> Cookie:
        return Cookie(name, "", 0, self.secure)

    def _store_key(self, kind: str, value: str) -> str:
        digest = hashlib.sha256(f"{self.client.issuer}\0{value}".encode()).hexdigest()
        return f"govkit.login.{kind}:{digest}"

    # -- the login route --------------------------------------------------------------

    def start(self, query: Mapping[str, str], *, next_path: str | None = None) -> LoginAnswer:
        """``GET /login``: send the browser to the provider, with a state cookie.

        ``query`` is the route's query (``acr_values``, ``max_age``, ``login_hint``
        taken only when listed in ``login_query``; ``next``: a local path to return
        to). A parameter outside the allow-list is answered ``400`` with the code
        ``oidc.login_request_invalid``; a provider or store failure ``503``.
        """
        try:
            options, back = self._login_options(query, next_path)
        except OidcLoginRequestInvalid as error:
            return _error_page(400, error.code, self.login_path)
        try:
            started = self.client.start_login(**options)
        except GovkitError as error:
            return self._start_failed(error)
        return self._started(started, back)

    async def astart(
        self, query: Mapping[str, str], *, next_path: str | None = None
    ) -> LoginAnswer:
        """:meth:`start` awaiting ``OidcClient.astart_login``: the loop is not blocked."""
        try:
            options, back = self._login_options(query, next_path)
        except OidcLoginRequestInvalid as error:
            return _error_page(400, error.code, self.login_path)
        try:
            started = await self.client.astart_login(**options)
        except GovkitError as error:
            return self._start_failed(error)
        return self._started(started, back)

    def _start_failed(self, error: GovkitError) -> LoginAnswer:
        if isinstance(error, ConfigurationError):
            raise error
        return _error_page(503, error.code, self.login_path)  # the provider or the store

    def _started(self, started: LoginRequest, back: str) -> LoginAnswer:
        now = self._clock.now()
        seconds = max(1, int((started.expires_at - now).total_seconds()))
        sealed = self._states.seal(self.state_cookie, {"s": started.state, "n": back})
        return LoginAnswer(
            303,
            (("Location", started.url), ("Cache-Control", "no-store")),
            cookies=(self._cookie(self.state_cookie, sealed, seconds),),
        )

    def _login_options(
        self, query: Mapping[str, str], next_path: str | None
    ) -> tuple[dict[str, Any], str]:
        for name in LOGIN_QUERY:
            if name in query and name not in self.login_query:
                raise OidcLoginRequestInvalid(
                    "the login route does not take this parameter", reason=name
                )
        acr_values: Sequence[str] = self.acr_values
        max_age = self.max_age
        options: dict[str, Any] = {}
        if "acr_values" in query:
            asked = query["acr_values"].split(" ")
            if not asked or not all(value in self.acr_levels for value in asked):
                raise OidcLoginRequestInvalid(
                    "acr_values outside the allow-list", reason="acr_values"
                )
            acr_values = asked
        if "max_age" in query:
            text = query["max_age"]
            if not text.isdigit() or int(text) > self.session_max_age.total_seconds():
                raise OidcLoginRequestInvalid("max_age is not allowed", reason="max_age")
            max_age = int(text)
        if "login_hint" in query:
            hint = query["login_hint"]
            if len(hint) > _MAX_HINT or not _HINT.fullmatch(hint):
                raise OidcLoginRequestInvalid("login_hint is not allowed", reason="login_hint")
            options["login_hint"] = hint
        back = next_path if next_path is not None else query.get("next", self.after_login)
        if back != self.after_login and not _local_path(back):
            raise OidcLoginRequestInvalid("next must be a local path", reason="next")
        options["acr_values"] = tuple(acr_values)
        options["max_age"] = max_age
        return options, back

    # -- the callback route -----------------------------------------------------------

    def finish(
        self,
        query: str | Mapping[str, str],
        state_cookie: str | None,
        session_cookie: str | None = None,
    ) -> LoginAnswer:
        """``GET /callback``: finish the login; a session cookie, or a ``400`` page.

        The callback's ``state`` must equal the one sealed in this browser's state
        cookie (login CSRF): a missing or foreign cookie is ``oidc.state_mismatch``.
        Every refusal (the provider's ``error``, a mix-up, a replayed state, an ID
        token that fails) is a ``400`` page showing only the govkit error code; a
        provider or store failure a ``503`` page.

        ``session_cookie`` is the browser's session cookie, if it has one: a new login
        (a step-up to a higher level, or another person on the same browser) replaces
        that session, which is recorded as ended first, so a copy of the old cookie is
        worthless too (its ``sid`` is not ended: a step-up keeps the provider's session).
        """
        opened = self._states.open(self.state_cookie, state_cookie) or {}
        try:
            login = self.client.finish_login(query, expected_state=_expected_state(opened))
            replaced = self._open(session_cookie)
            if replaced is not None:
                key, until = self._replaced(replaced)
                self.revocations.revoke_token(key, expires_at=until)
        except GovkitError as error:
            return self._callback_refused(error)
        return self._finished(login, opened)

    async def afinish(
        self,
        query: str | Mapping[str, str],
        state_cookie: str | None,
        session_cookie: str | None = None,
    ) -> LoginAnswer:
        """:meth:`finish` awaiting ``OidcClient.afinish_login``: the loop is not blocked."""
        opened = self._states.open(self.state_cookie, state_cookie) or {}
        try:
            expected = _expected_state(opened)
            login = await self.client.afinish_login(query, expected_state=expected)
            replaced = self._open(session_cookie)
            if replaced is not None:
                key, until = self._replaced(replaced)
                await self._astore("revoke_token", key, expires_at=until)
        except GovkitError as error:
            return self._callback_refused(error)
        return self._finished(login, opened)

    def _replaced(self, session: LoginSession) -> tuple[str, datetime]:
        """The store key and expiry that end ``session`` (replaced by a new login)."""
        until = session.expires_at + timedelta(seconds=1)
        return self._store_key("session", session.session_id), until

    def _callback_refused(self, error: GovkitError) -> LoginAnswer:
        if isinstance(error, ConfigurationError):
            raise error
        unavailable = isinstance(error, (OidcUnavailable, OidcDiscoveryError, StoreError))
        page = _error_page(503 if unavailable else 400, error.code, self.login_path)
        return LoginAnswer(page.status, page.headers, page.body, (self._clear(self.state_cookie),))

    def _finished(self, login: Login, opened: Mapping[str, Any]) -> LoginAnswer:
        clear = self._clear(self.state_cookie)
        session = self._new_session(login)
        if self._on_login is not None:
            self._on_login(login, session)
        back = opened.get("n")
        target = back if isinstance(back, str) and _local_path(back) else self.after_login
        seconds = int((session.expires_at - session.issued_at).total_seconds())
        cookie = self._cookie(self.session_cookie, self._seal(session), seconds)
        return LoginAnswer(
            303, (("Location", target), ("Cache-Control", "no-store")), cookies=(clear, cookie)
        )

    def _new_session(self, login: Login) -> LoginSession:
        token = login.id_token
        now = self._clock.now()
        return LoginSession(
            session_id=secrets.token_urlsafe(16),
            subject=token.subject,
            sid=token.sid,
            acr=token.acr,
            assurance=token.assurance,
            auth_time=token.auth_time,
            issued_at=now,
            expires_at=(now + self.session_max_age).replace(microsecond=0),
            id_token=token.raw,
        )

    def _seal(self, session: LoginSession) -> str:
        payload = {
            "v": _VERSION,
            "id": session.session_id,
            "sub": session.subject,
            "sid": session.sid,
            "acr": session.acr,
            "lvl": None if session.assurance is None else session.assurance.name,
            "at": _time(session.auth_time),
            "iat": _time_us(session.issued_at),
            "exp": _time(session.expires_at),
            "idt": session.id_token,
        }
        sealed = self._sessions.seal(self.session_cookie, payload)
        if len(sealed) > _MAX_COOKIE:
            raise ConfigurationError("the session does not fit a cookie (an ID token too large)")
        return sealed

    # -- every request ------------------------------------------------------------------

    def session(self, cookie: str | None) -> LoginSession | None:
        """The browser's live session, or ``None``.

        ``None`` when there is no cookie, it does not open with the application's keys,
        it has expired, or the session was ended: by a logout here (its id), by a
        back-channel logout naming its ``sid``, or one naming its subject after it began.

        Raises:
            StoreError: the revocation store cannot answer (fail closed: answer 503).
        """
        session = self._open(cookie)
        if session is None:
            return None
        now = self._clock.now()
        for key in self._ended_keys(session):
            if self.revocations.is_revoked(key, now=now):
                return None
        subject = self._store_key("sub", session.subject)
        return _begun_after(session, self.revocations.subject_not_before(subject))

    async def asession(self, cookie: str | None) -> LoginSession | None:
        """:meth:`session` with the store's async forms: the event loop is not blocked."""
        session = self._open(cookie)
        if session is None:
            return None
        now = self._clock.now()
        for key in self._ended_keys(session):
            if await self._astore("is_revoked", key, now=now):
                return None
        subject = self._store_key("sub", session.subject)
        return _begun_after(session, await self._astore("subject_not_before", subject))

    async def _astore(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """The revocation store's ``a<name>`` (every govkit store has them), or its blocking
        ``<name>`` on a worker thread for an application's own store without them."""
        method = getattr(self.revocations, f"a{name}", None)
        if method is not None:
            return await method(*args, **kwargs)
        return await asyncio.to_thread(getattr(self.revocations, name), *args, **kwargs)

    def _ended_keys(self, session: LoginSession) -> list[str]:
        keys = [self._store_key("session", session.session_id)]
        if session.sid is not None:
            keys.append(self._store_key("sid", session.sid))
        return keys

    def _open(self, cookie: str | None) -> LoginSession | None:
        payload = self._sessions.open(self.session_cookie, cookie)
        if payload is None or payload.get("v") != _VERSION:
            return None
        level = payload.get("lvl")
        issued = _from_time_us(payload.get("iat"))
        expires = _from_time(payload.get("exp"))
        if issued is None or expires is None:
            return None
        session = LoginSession(
            session_id=str(payload["id"]),
            subject=str(payload["sub"]),
            sid=payload.get("sid"),
            acr=payload.get("acr"),
            assurance=AssuranceLevel[level] if isinstance(level, str) else None,
            auth_time=_from_time(payload.get("at")),
            issued_at=issued,
            expires_at=expires,
            id_token=str(payload["idt"]),
        )
        return session if session.expires_at > self._clock.now() else None

    def step_up_acr_values(self, minimum: AssuranceLevel) -> tuple[str, ...]:
        """The known ``acr`` values at or above ``minimum``, the weakest first."""
        found = [(level, acr) for acr, level in self.acr_levels.items() if level >= minimum]
        return tuple(acr for _, acr in sorted(found, key=lambda item: item[0]))

    def require(
        self,
        session: LoginSession | None,
        *,
        method: str,
        path: str,
        min_assurance: AssuranceLevel | None = None,
    ) -> LoginSession | LoginAnswer:
        """A route's demands applied to a session: the session, or the answer to send.

        No session: a ``GET`` (or ``HEAD``) is redirected to the login route with
        ``next``, another method answered ``401`` (``login_required``). An assurance
        below ``min_assurance``: a ``GET`` is redirected to the login route with
        ``acr_values`` (step-up), another method answered ``401``
        ``insufficient_user_authentication`` with ``acr_values`` (RFC 9470 words).
        """
        browser = method.upper() in ("GET", "HEAD")
        back = path if _local_path(path) else self.after_login
        if session is None:
            if not browser:
                return _json(401, {"error": "login_required"})
            return self._to_login({"next": back})
        if min_assurance is not None and (
            session.assurance is None or session.assurance < min_assurance
        ):
            acr_values = " ".join(self.step_up_acr_values(min_assurance))
            if not browser:
                return _json(
                    401,
                    {"error": "insufficient_user_authentication", "acr_values": acr_values},
                )
            return self._to_login({"acr_values": acr_values, "next": back})
        return session

    def _to_login(self, params: Mapping[str, str]) -> LoginAnswer:
        separator = "&" if "?" in self.login_path else "?"
        location = self.login_path + separator + urlencode(params)
        return LoginAnswer(303, (("Location", location), ("Cache-Control", "no-store")))

    # -- logout -------------------------------------------------------------------------

    def logout(self, cookie: str | None) -> LoginAnswer:
        """``POST /logout``: end the session here and send the browser to the provider.

        The session's id (and its ``sid``) is recorded as ended in the revocation store,
        so a copy of the cookie is worthless too; the cookie is cleared and the browser
        sent to the provider's ``end_session_endpoint`` with the ID token as hint (or
        to ``after_logout`` when there was no session or the provider has none).

        Raises:
            StoreError: the revocation store cannot record the end (answer 503).
        """
        session = self.session(cookie)
        if session is None:
            return self._logged_out(self.after_logout)
        until = session.expires_at + timedelta(seconds=1)
        for key in self._ended_keys(session):
            self.revocations.revoke_token(key, expires_at=until)
        try:
            target = self.client.logout_url(session.id_token)
        except GovkitError as error:
            target = self._no_logout_url(error)
        return self._logged_out(target)

    async def alogout(self, cookie: str | None) -> LoginAnswer:
        """:meth:`logout` with async forms: the event loop is not blocked."""
        session = await self.asession(cookie)
        if session is None:
            return self._logged_out(self.after_logout)
        until = session.expires_at + timedelta(seconds=1)
        for key in self._ended_keys(session):
            await self._astore("revoke_token", key, expires_at=until)
        try:
            target = await self.client.alogout_url(session.id_token)
        except GovkitError as error:
            target = self._no_logout_url(error)
        return self._logged_out(target)

    def _no_logout_url(self, error: GovkitError) -> str:
        if isinstance(error, ConfigurationError):
            raise error
        return self.after_logout  # the provider has no end_session_endpoint, or is down

    def _logged_out(self, target: str) -> LoginAnswer:
        return LoginAnswer(
            303,
            (("Location", target), ("Cache-Control", "no-store")),
            cookies=(self._clear(self.session_cookie),),
        )

    def backchannel(self, content_type: str | None, body: bytes) -> LoginAnswer:
        """``POST /backchannel-logout``: the provider ends sessions (Back-Channel Logout 1.0).

        The ``logout_token`` is validated
        (:meth:`~govkit.identity.oidc.OidcClient.check_logout_token`); then the end is
        written to the revocation store, and only then is the token's ``jti``
        remembered (:meth:`~govkit.identity.oidc.OidcClient.remember_logout_token`), so
        that a store that was down (``503``) does not turn the provider's retry of the
        same token into a refused replay. With ``sid``, every session carrying it ends
        (at every instance, for ``session_max_age``); without, every session of its
        ``sub`` that began until the cutoff. The cutoff is the token's ``iat`` plus the
        client's leeway (clock skew), or the time of receipt if earlier: a retry or a
        replay of the same token ends no session begun after ``iat`` plus the leeway.

        Answers ``200``, also when only remembering the ``jti`` failed (the sessions
        are ended; a replay of that token before it expires is then accepted, and can
        end only sessions that began before the cutoff); a malformed request,
        a bad or replayed token ``400`` (``error_description``: the govkit code); a
        store or provider failure ``503`` (the provider may retry).
        """
        token = _logout_token(content_type, body)
        if isinstance(token, LoginAnswer):
            return token
        now = self._clock.now()
        try:
            logout = self.client.check_logout_token(token, at=now)
            name, args, kwargs = self._ending(logout, now)
            getattr(self.revocations, name)(*args, **kwargs)
        except GovkitError as error:
            return _backchannel_refused(error)
        try:
            self.client.remember_logout_token(logout, at=now)
        except GovkitError as error:
            return _backchannel_ended(error)
        return LoginAnswer(200, _BACKCHANNEL_HEADERS)

    async def abackchannel(self, content_type: str | None, body: bytes) -> LoginAnswer:
        """:meth:`backchannel` with async forms: the event loop is not blocked."""
        token = _logout_token(content_type, body)
        if isinstance(token, LoginAnswer):
            return token
        now = self._clock.now()
        try:
            logout = await self.client.acheck_logout_token(token, at=now)
            name, args, kwargs = self._ending(logout, now)
            await self._astore(name, *args, **kwargs)
        except GovkitError as error:
            return _backchannel_refused(error)
        try:
            await self.client.aremember_logout_token(logout, at=now)
        except GovkitError as error:
            return _backchannel_ended(error)
        return LoginAnswer(200, _BACKCHANNEL_HEADERS)

    def _ending(
        self, logout: LogoutToken, now: datetime
    ) -> tuple[str, tuple[str], dict[str, datetime]]:
        """The revocation-store call that ends the sessions a logout token names.

        The cutoff comes from the token (bounded by ``now``): writing it again for the
        same token (a retry, a replay) never moves it past ``iat`` plus the leeway, so
        it never ends a session begun after that.
        """
        cutoff = min(logout.issued_at + self.client.leeway, now)
        if logout.sid is not None:
            key = self._store_key("sid", logout.sid)
            return "revoke_token", (key,), {"expires_at": cutoff + self.session_max_age}
        if logout.subject is None:  # pragma: no cover - the validator requires sid or sub
            raise ConfigurationError("a logout token names neither sid nor sub")
        return "revoke_subject", (self._store_key("sub", logout.subject),), {"not_before": cutoff}


def _expected_state(opened: Mapping[str, Any]) -> str:
    state = opened.get("s")
    if not isinstance(state, str):
        raise OidcStateMismatch("this browser started no login (no state cookie)")
    return state


def _begun_after(session: LoginSession, not_before: datetime | None) -> LoginSession | None:
    """The session, unless its subject's sessions were ended after it began."""
    return None if not_before is not None and session.issued_at <= not_before else session


def _logout_token(content_type: str | None, body: bytes) -> str | LoginAnswer:
    """The one ``logout_token`` of a form body, or the ``400`` answer."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded" or len(body) > _MAX_BACKCHANNEL_BODY:
        return _json(400, {"error": "invalid_request"})
    try:
        pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True, max_num_fields=16)
    except (UnicodeDecodeError, ValueError):
        return _json(400, {"error": "invalid_request"})
    tokens = [value for name, value in pairs if name == "logout_token"]
    if len(tokens) != 1 or not tokens[0]:
        return _json(400, {"error": "invalid_request"})
    return tokens[0]


def _backchannel_ended(error: GovkitError) -> LoginAnswer:
    """The answer when the sessions are ended but remembering the ``jti`` failed."""
    if isinstance(error, ConfigurationError):
        raise error
    if isinstance(error, OidcLogoutReplayed):  # received before: the write was bounded
        return _backchannel_refused(error)
    _LOG.warning(
        "back-channel logout: the sessions are ended but the logout token's jti was not "
        "remembered (%s); a replay of it ends no session begun after its iat plus leeway",
        error.code,
    )
    return LoginAnswer(200, _BACKCHANNEL_HEADERS)


def _backchannel_refused(error: GovkitError) -> LoginAnswer:
    if isinstance(error, ConfigurationError):
        raise error
    if isinstance(error, (OidcUnavailable, OidcDiscoveryError, StoreError)):
        return _json(503, {"error": "temporarily_unavailable", "error_description": error.code})
    return _json(400, {"error": "invalid_request", "error_description": error.code})
