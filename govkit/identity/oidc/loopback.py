"""An OpenID Provider on loopback, for login tests and demonstrations (not for production).

:class:`LocalProvider` runs in a thread of the test process, on ``127.0.0.1`` and a
free port, and speaks the FAPI 2.0 flow that :class:`~govkit.identity.oidc.OidcClient`
drives: discovery, JWKS, pushed authorization requests (PAR) with ``private_key_jwt``,
PKCE S256, DPoP (with server nonces), the RFC 9207 ``iss`` in the callback, the code and
refresh grants (refresh tokens rotate), userinfo with a DPoP-bound access token,
RP-initiated logout, and signed back-channel logout tokens. The "browser" step is
:meth:`LocalProvider.authorize`: it logs the ``login_hint`` subject in (face verified,
``acr`` the level given) and returns the callback URL the browser would be sent to.

It is a test double: one client, state in memory, no consent screen, no TLS, and it
only ever listens on ``127.0.0.1``. Applications import it as
:mod:`govkit.testing.oidc`; it lives here so that ``govkit demo`` can log a citizen in
without a server (nothing under :mod:`govkit` imports :mod:`govkit.testing`). govkit's
own integration tests run the client against a certified provider (``oidc-provider``)
as well; use this where starting Node is not wanted.

>>> from govkit.keys import SigningKey
>>> client_key = SigningKey.generate("ES256")
>>> with LocalProvider(client_keys=[client_key.verifying_key]) as provider:
...     provider.issuer.startswith("http://127.0.0.1:")
True
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Final
from urllib.parse import parse_qs, urlencode, urlsplit

from govkit._encoding import b64url_decode, b64url_encode
from govkit._json import loads_object
from govkit.clock import Clock, SystemClock
from govkit.errors import GovkitError
from govkit.identity._assurance import AssuranceLevel
from govkit.identity._dpop import DPoPVerifier
from govkit.identity._jws import sign_compact
from govkit.identity._tokens import TokenIssuer
from govkit.keys import KeyRing, SigningKey, VerifyingKey
from govkit.stores import MemoryReplayStore

__all__ = ["LocalProvider", "ProviderErrorPage"]

_ASSERTION_TYPE: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_BACKCHANNEL_EVENT: Final = "http://schemas.openid.net/event/backchannel-logout"
_MAX_BODY: Final = 64 * 1024


class _Refused(Exception):
    """An OAuth error answer: ``status``, ``error`` and a description."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


class ProviderErrorPage(Exception):
    """The provider showed its error page instead of sending the browser back (the
    request could not be trusted with a redirect: an unknown or used ``request_uri``).

    Attributes:
        error: the OAuth error code (``invalid_request``).
        description: the text of the page.
    """

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error, self.description = error, description


def _jws(key: SigningKey, header: Mapping[str, Any], claims: Mapping[str, Any]) -> str:
    return sign_compact(key, {**header, "alg": key.alg, "kid": key.kid}, claims)


@dataclass
class _Pushed:
    params: dict[str, str]
    dpop_jkt: str | None
    expires_at: datetime


@dataclass
class _Grant:
    subject: str
    params: dict[str, str]
    dpop_jkt: str | None
    auth_time: int
    sid: str
    acr: str
    scope: str
    used: bool = False


@dataclass
class _State:
    pushed: dict[str, _Pushed] = field(default_factory=dict)
    codes: dict[str, _Grant] = field(default_factory=dict)
    refresh: dict[str, _Grant] = field(default_factory=dict)
    access: dict[str, _Grant] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)  # sid -> subject
    assertion_ids: set[str] = field(default_factory=set)


class LocalProvider:
    """An OpenID Provider for tests, on ``http://127.0.0.1:<free port>``.

    Args:
        client_keys: the public keys of the one client's ``private_key_jwt``.
        client_id: that client's id.
        redirect_uris: where the client may be sent back to (exact match).
        post_logout_redirect_uris: where RP-initiated logout may send the browser.
        fapi: the FAPI 2.0 rules: PAR required, ``redirect_uri`` required at PAR, the
            client assertion's ``aud`` exactly the issuer.
        dpop_nonce: require a server nonce in every DPoP proof (answering the first
            proof with a ``use_dpop_nonce`` challenge).
        assurance: the ``acr`` of every login (face verification: ``HIGH``).
        accounts: extra userinfo claims per subject (``{"citizen-0001": {"name": ...}}``).
        clock: the provider's time source.
    """

    def __init__(
        self,
        *,
        client_keys: Iterable[VerifyingKey],
        client_id: str = "govkit-rp",
        redirect_uris: Sequence[str] = ("http://127.0.0.1:8765/callback",),
        post_logout_redirect_uris: Sequence[str] = ("http://127.0.0.1:8765/logged-out",),
        fapi: bool = True,
        dpop_nonce: bool = True,
        assurance: AssuranceLevel = AssuranceLevel.HIGH,
        accounts: Mapping[str, Mapping[str, Any]] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.client_id = client_id
        self._client_keys = {key.kid: key for key in client_keys}
        self.redirect_uris = tuple(redirect_uris)
        self.post_logout_redirect_uris = tuple(post_logout_redirect_uris)
        self.fapi = fapi
        self.assurance = assurance
        self._accounts = {k: dict(v) for k, v in (accounts or {}).items()}
        self._clock = clock or SystemClock()
        self.key = SigningKey.generate("ES256")
        self._state = _State()
        self._lock = threading.Lock()
        self._nonces: list[str] = [b64url_encode(secrets.token_bytes(16))]
        self._dpop = DPoPVerifier(
            replay_store=MemoryReplayStore(),
            allowed_algs=("ES256", "EdDSA"),
            require_nonce=(lambda n: n in self._nonces) if dpop_nonce else None,
            clock=self._clock,
        )
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.issuer = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._tokens = TokenIssuer(KeyRing(self.key, clock=self._clock), issuer=self.issuer)
        self._thread: threading.Thread | None = None

    # --- life -------------------------------------------------------------------------

    def start(self) -> LocalProvider:
        """Serve requests on a daemon thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever, name="govkit-local-op", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> LocalProvider:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- what a browser and the provider's admin would do -----------------------------

    def authorize(self, authorization_url: str) -> str:
        """Log in at ``authorization_url`` as its ``login_hint`` (or ``citizen-0001``)
        and return the callback URL the browser is sent to (``code``, ``state``, ``iss``;
        or ``error``, ``state``, ``iss``).

        Raises:
            ProviderErrorPage: the provider would show an error page (no pushed
                request with this ``request_uri``, or it was used or has expired).
        """
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorization_url).query).items()}
        try:
            return self._authorize(query)
        except _Refused as refused:
            raise ProviderErrorPage(refused.error, refused.description) from None

    def rotate_nonce(self) -> None:
        """Start a new DPoP nonce; the previous one stays accepted (one step back)."""
        with self._lock:
            self._nonces = [b64url_encode(secrets.token_bytes(16)), self._nonces[0]]

    def logout_token(
        self, *, subject: str | None = None, sid: str | None = None, audience: str | None = None
    ) -> str:
        """A signed back-channel logout token (OpenID Back-Channel Logout 1.0)."""
        now = int(self._clock.now().timestamp())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": audience or self.client_id,
            "iat": now,
            "exp": now + 120,
            "jti": b64url_encode(secrets.token_bytes(16)),
            "events": {_BACKCHANNEL_EVENT: {}},
        }
        if subject is not None:
            claims["sub"] = subject
        if sid is not None:
            claims["sid"] = sid
        return _jws(self.key, {"typ": "logout+jwt"}, claims)

    def sessions(self) -> dict[str, str]:
        """The live sessions, ``sid`` -> subject."""
        with self._lock:
            return dict(self._state.sessions)

    # --- the endpoints ----------------------------------------------------------------

    def discovery(self) -> dict[str, Any]:
        """The discovery document."""
        base = self.issuer
        return {
            "issuer": base,
            "authorization_endpoint": f"{base}/authorize",
            "pushed_authorization_request_endpoint": f"{base}/par",
            "token_endpoint": f"{base}/token",
            "userinfo_endpoint": f"{base}/userinfo",
            "jwks_uri": f"{base}/jwks",
            "end_session_endpoint": f"{base}/session/end",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["public"],
            "scopes_supported": ["openid", "offline_access", "profile"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["ES256", "EdDSA"],
            "code_challenge_methods_supported": ["S256"],
            "dpop_signing_alg_values_supported": ["ES256", "EdDSA"],
            "require_pushed_authorization_requests": self.fapi,
            "authorization_response_iss_parameter_supported": True,
            "acr_values_supported": [level.acr for level in AssuranceLevel],
            "claims_supported": ["sub", "acr", "amr", "auth_time", "sid", "name"],
            "backchannel_logout_supported": True,
            "backchannel_logout_session_supported": True,
        }

    def _client_auth(self, form: Mapping[str, str], endpoint: str) -> None:
        if form.get("client_assertion_type") != _ASSERTION_TYPE:
            raise _Refused(401, "invalid_client", "private_key_jwt is required")
        token = form.get("client_assertion", "")
        parts = token.split(".")
        try:
            if len(parts) != 3:
                raise ValueError
            header = loads_object(b64url_decode(parts[0]))
            claims = loads_object(b64url_decode(parts[1]))
            key = self._client_keys[str(header.get("kid"))]
            if header.get("alg") != key.alg:
                raise ValueError
            signature = b64url_decode(parts[2])
            key.verify(signature, f"{parts[0]}.{parts[1]}".encode("ascii"))
        except (ValueError, KeyError, GovkitError):
            raise _Refused(401, "invalid_client", "client authentication failed") from None
        now = self._clock.now().timestamp()
        audiences = {self.issuer} if self.fapi else {self.issuer, endpoint}
        aud = claims.get("aud")
        jti = claims.get("jti")
        exp = claims.get("exp")
        if (
            claims.get("iss") != self.client_id
            or claims.get("sub") != self.client_id
            or aud not in audiences
            or not isinstance(jti, str)
            or not isinstance(exp, int)
            or exp <= now
        ):
            raise _Refused(401, "invalid_client", "client authentication failed")
        with self._lock:
            if jti in self._state.assertion_ids:
                raise _Refused(401, "invalid_client", "client authentication failed")
            self._state.assertion_ids.add(jti)
        if form.get("client_id", self.client_id) != self.client_id:
            raise _Refused(401, "invalid_client", "client authentication failed")

    def _dpop_jkt(
        self, proof: str | None, method: str, url: str, access_token: str | None = None
    ) -> str | None:
        if proof is None:
            return None
        try:
            return self._dpop.verify(proof, htm=method, htu=url, access_token=access_token).jkt
        except GovkitError as exc:
            if exc.context.get("reason") == "nonce":
                raise _Refused(
                    400, "use_dpop_nonce", "nonce is required in the DPoP proof"
                ) from None
            raise _Refused(400, "invalid_dpop_proof", "the DPoP proof is invalid") from None

    def _par(self, form: dict[str, str], dpop: str | None) -> dict[str, Any]:
        url = f"{self.issuer}/par"
        self._client_auth(form, url)
        jkt = self._dpop_jkt(dpop, "POST", url)
        if form.get("response_type") != "code":
            raise _Refused(400, "invalid_request", "response_type must be code")
        if "openid" not in form.get("scope", "").split():
            raise _Refused(400, "invalid_request", "scope must include openid")
        if form.get("code_challenge_method") != "S256" or not form.get("code_challenge"):
            raise _Refused(400, "invalid_request", "PKCE S256 is required")
        redirect = form.get("redirect_uri")
        if redirect is None and (self.fapi or len(self.redirect_uris) != 1):
            raise _Refused(400, "invalid_request", "redirect_uri is required")
        if (redirect or self.redirect_uris[0]) not in self.redirect_uris:
            raise _Refused(400, "invalid_request", "redirect_uri is not registered")
        form.setdefault("redirect_uri", self.redirect_uris[0])
        request_uri = "urn:ietf:params:oauth:request_uri:" + b64url_encode(secrets.token_bytes(24))
        with self._lock:
            self._state.pushed[request_uri] = _Pushed(
                dict(form), jkt, self._clock.now() + timedelta(seconds=60)
            )
        return {"request_uri": request_uri, "expires_in": 60}

    def _authorize(self, query: Mapping[str, str]) -> str:
        request_uri = query.get("request_uri")
        with self._lock:
            pushed = self._state.pushed.pop(request_uri, None) if request_uri else None
        if pushed is None or pushed.expires_at <= self._clock.now():
            redirect = query.get("redirect_uri")
            if redirect not in self.redirect_uris:
                raise _Refused(400, "invalid_request", "no pushed request with this request_uri")
            return _with_query(
                redirect,
                error="invalid_request",
                error_description="Pushed Authorization Request must be used",
                state=query.get("state"),
                iss=self.issuer,
            )
        params = pushed.params
        subject = params.get("login_hint") or "citizen-0001"
        code = b64url_encode(secrets.token_bytes(24))
        sid = b64url_encode(secrets.token_bytes(12))
        grant = _Grant(
            subject=subject,
            params=params,
            dpop_jkt=pushed.dpop_jkt,
            auth_time=int(self._clock.now().timestamp()),
            sid=sid,
            acr=self.assurance.acr,
            scope=params.get("scope", "openid"),
        )
        with self._lock:
            self._state.codes[code] = grant
            self._state.sessions[sid] = subject
        return _with_query(
            params["redirect_uri"], code=code, state=params.get("state"), iss=self.issuer
        )

    def _token(self, form: dict[str, str], dpop: str | None) -> dict[str, Any]:
        url = f"{self.issuer}/token"
        self._client_auth(form, url)
        jkt = self._dpop_jkt(dpop, "POST", url)
        kind = form.get("grant_type")
        with self._lock:
            if kind == "authorization_code":
                grant = self._state.codes.get(form.get("code", ""))
                if grant is None or grant.used:
                    raise _Refused(400, "invalid_grant", "grant request is invalid")
                if grant.dpop_jkt is not None and jkt != grant.dpop_jkt:
                    grant.used = True  # a code shown with another key is burnt
                    raise _Refused(400, "invalid_grant", "grant request is invalid")
                verifier = form.get("code_verifier", "")
                challenge = b64url_encode(
                    hashlib.sha256(verifier.encode("ascii", "replace")).digest()
                )
                if (
                    challenge != grant.params.get("code_challenge")
                    or form.get("redirect_uri") != grant.params["redirect_uri"]
                ):
                    grant.used = True
                    raise _Refused(400, "invalid_grant", "grant request is invalid")
                grant.used = True
            elif kind == "refresh_token":
                grant_or_none = self._state.refresh.pop(form.get("refresh_token", ""), None)
                if grant_or_none is None:
                    raise _Refused(400, "invalid_grant", "grant request is invalid")
                grant = grant_or_none
            else:
                raise _Refused(400, "unsupported_grant_type", "grant_type is not supported")
        return self._issue(
            grant, jkt, nonce=grant.params.get("nonce") if kind != "refresh_token" else None
        )

    def _issue(self, grant: _Grant, jkt: str | None, nonce: str | None) -> dict[str, Any]:
        now = int(self._clock.now().timestamp())
        access = self._tokens.issue(
            grant.subject,
            self.issuer,
            self.assurance,
            timedelta(minutes=5),
            amr=["face"],
            scope=grant.scope,
            confirmation_jkt=jkt,
        )
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": grant.subject,
            "aud": self.client_id,
            "azp": self.client_id,
            "iat": now,
            "exp": now + 300,
            "auth_time": grant.auth_time,
            "acr": grant.acr,
            "amr": ["face"],
            "sid": grant.sid,
            "at_hash": b64url_encode(hashlib.sha256(access.encode("ascii")).digest()[:16]),
        }
        if nonce is not None:
            claims["nonce"] = nonce
        refresh = b64url_encode(secrets.token_bytes(32))
        with self._lock:
            self._state.access[access] = grant
            if "offline_access" in grant.scope.split():
                self._state.refresh[refresh] = grant
        answer: dict[str, Any] = {
            "access_token": access,
            "token_type": "DPoP" if jkt else "Bearer",
            "expires_in": 300,
            "id_token": _jws(self.key, {"typ": "JWT"}, claims),
            "scope": grant.scope,
        }
        if "offline_access" in grant.scope.split():
            answer["refresh_token"] = refresh
        return answer

    def _userinfo(self, authorization: str | None, dpop: str | None) -> dict[str, Any]:
        scheme, _, token = (authorization or "").partition(" ")
        with self._lock:
            grant = self._state.access.get(token)
        if grant is None or scheme not in ("DPoP", "Bearer"):
            raise _Refused(401, "invalid_token", "invalid token provided")
        if grant.dpop_jkt is not None:
            if scheme != "DPoP":
                raise _Refused(401, "invalid_token", "invalid token provided")
            jkt = self._dpop_jkt(dpop, "GET", f"{self.issuer}/userinfo", access_token=token)
            if jkt != grant.dpop_jkt:
                raise _Refused(401, "invalid_token", "invalid token provided")
        with self._lock:
            if grant.sid not in self._state.sessions:
                raise _Refused(401, "invalid_token", "the session has ended")
        return {"sub": grant.subject, **self._accounts.get(grant.subject, {})}

    def _end_session(self, query: Mapping[str, str]) -> str:
        target = query.get("post_logout_redirect_uri")
        if target not in self.post_logout_redirect_uris:
            raise _Refused(400, "invalid_request", "post_logout_redirect_uri is not registered")
        hint = query.get("id_token_hint", "")
        try:
            body = hint.split(".")[1]
            sid = loads_object(b64url_decode(body)).get("sid")
        except (IndexError, ValueError, GovkitError):
            sid = None
        with self._lock:
            if isinstance(sid, str):
                self._state.sessions.pop(sid, None)
        return _with_query(target, state=query.get("state"))


def _with_query(url: str, **params: str | None) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{url}{'&' if '?' in url else '?'}{query}"


def _handler_for(provider: LocalProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "govkit-local-op"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests read answers, not access logs."""

        def _send(
            self, status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
        ) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("DPoP-Nonce", provider._nonces[0])
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _redirect(self, location: str) -> None:
            self.send_response(303)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _refused(self, refused: _Refused) -> None:
            body = {"error": refused.error, "error_description": refused.description}
            if not self.path.startswith("/userinfo"):
                self._send(refused.status, body)  # token endpoints: the error in JSON
                return
            # a resource: 401 and the error in WWW-Authenticate (RFC 6750, RFC 9449)
            challenge = f'DPoP error="{refused.error}", algs="ES256 EdDSA"'
            self._send(401, body, {"WWW-Authenticate": challenge})

        def _form(self) -> dict[str, str]:
            length = int(self.headers.get("Content-Length") or 0)
            if length > _MAX_BODY:
                raise _Refused(413, "invalid_request", "the request is too large")
            raw = self.rfile.read(length).decode("utf-8", "replace")
            return {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}

        def do_GET(self) -> None:
            """Discovery, JWKS, authorization, userinfo, logout."""
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            try:
                if parts.path == "/.well-known/openid-configuration":
                    self._send(200, provider.discovery())
                elif parts.path == "/jwks":
                    self._send(200, {"keys": [provider.key.verifying_key.to_jwk()]})
                elif parts.path == "/authorize":
                    self._redirect(provider._authorize(query))
                elif parts.path == "/userinfo":
                    answer = provider._userinfo(
                        self.headers.get("Authorization"), self.headers.get("DPoP")
                    )
                    self._send(200, answer)
                elif parts.path == "/session/end":
                    self._redirect(provider._end_session(query))
                else:
                    self._send(404, {"error": "not_found"})
            except _Refused as refused:
                self._refused(refused)

        def do_POST(self) -> None:
            """PAR and the token endpoint."""
            try:
                form = self._form()
                if self.path == "/par":
                    self._send(201, provider._par(form, self.headers.get("DPoP")))
                elif self.path == "/token":
                    self._send(200, provider._token(form, self.headers.get("DPoP")))
                else:
                    self._send(404, {"error": "not_found"})
            except _Refused as refused:
                self._refused(refused)

    return Handler
