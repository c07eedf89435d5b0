"""The relying-party client (implementation of :mod:`govkit.identity.oidc`)."""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests

from govkit._aio import offload
from govkit._encoding import b64url_encode, canonical_json
from govkit._http import FetchError, SourcePolicy, check_url, fetch, settle
from govkit._json import loads_object
from govkit.clock import Clock, SystemClock, resolve_time
from govkit.errors import (
    ConfigurationError,
    FlowExpired,
    FlowTaken,
    FlowUnknown,
    OidcChallengeInvalid,
    OidcDiscoveryError,
    OidcDPoPNonce,
    OidcIssuerMismatch,
    OidcNonceMismatch,
    OidcProviderError,
    OidcResponseInvalid,
    OidcStateExpired,
    OidcStateMismatch,
    OidcStateReplayed,
    OidcStateUnknown,
    OidcSubjectMismatch,
    OidcUnavailable,
)
from govkit.identity._assurance import AssuranceLevel
from govkit.identity._dpop import create_dpop_proof
from govkit.identity._fapi import discovery_url
from govkit.identity._jwks import JwksSource
from govkit.identity._jws import sign_compact
from govkit.identity.oidc._tokens import (
    IdToken,
    IdTokenValidator,
    LogoutToken,
    LogoutTokenValidator,
)
from govkit.keys import ALGORITHMS, KeyRing, Signer, SigningKey
from govkit.stores import FlowStore, ReplayStore, new_flow_handle

__all__ = [
    "Login",
    "LoginRequest",
    "OidcClient",
    "ProviderMetadata",
    "StepUpChallenge",
    "TokenSet",
    "parse_step_up_challenge",
]

_ASSERTION_TYPE: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_JSON: Final = ("application/json",)
_ERROR_STATUSES: Final = (200, 201, 400, 401, 403)
_OAUTH_ERROR: Final = re.compile(r"[a-z0-9_]{1,64}")
_HANDLE: Final = re.compile(r"[A-Za-z0-9_-]{32,256}")
_AUTH_PARAM: Final = re.compile(r'([A-Za-z0-9_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))')
_DEFAULTS: Final = SourcePolicy(
    timeout=5.0,
    max_bytes=65536,
    ttl=timedelta(hours=1),
    max_stale=timedelta(hours=24),
    max_redirects=0,
)
_FLOW_VERSION: Final = 1


def _safe_error(value: object) -> str:
    """An OAuth ``error`` code fit for a log: registered-looking, or ``(unrecognised)``."""
    return value if isinstance(value, str) and _OAUTH_ERROR.fullmatch(value) else "(unrecognised)"


# --- provider metadata -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    """What a provider's discovery document says, checked (OpenID Connect Discovery 1.0).

    Attributes:
        issuer: exactly the configured issuer.
        authorization_endpoint, token_endpoint, jwks_uri: required endpoints.
        pushed_authorization_request_endpoint, userinfo_endpoint,
        end_session_endpoint: optional endpoints, ``None`` when not announced.
        id_token_algorithms: ``id_token_signing_alg_values_supported`` that govkit
            accepts (never ``none`` or HMAC).
        dpop_algorithms: ``dpop_signing_alg_values_supported``.
        iss_parameter: ``authorization_response_iss_parameter_supported`` (RFC 9207).
        require_par: ``require_pushed_authorization_requests``.
        code_challenge_methods: ``code_challenge_methods_supported``.
        document: the whole document, read-only.
    """

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    pushed_authorization_request_endpoint: str | None
    userinfo_endpoint: str | None
    end_session_endpoint: str | None
    id_token_algorithms: tuple[str, ...]
    dpop_algorithms: tuple[str, ...]
    iss_parameter: bool
    require_par: bool
    code_challenge_methods: tuple[str, ...]
    document: Mapping[str, Any] = field(repr=False)


def _strings(document: Mapping[str, Any], name: str, default: Sequence[str]) -> tuple[str, ...]:
    value = document.get(name, list(default))
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise OidcDiscoveryError(f"{name} must be a list of strings", reason=name)
    return tuple(value)


def _endpoint(document: Mapping[str, Any], name: str, *, required: bool) -> str | None:
    value = document.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise OidcDiscoveryError(f"the discovery document lacks {name}", reason=name)
    try:
        return check_url(value, name)
    except ConfigurationError:
        raise OidcDiscoveryError(
            f"{name} must be an https URL (http only for loopback)", reason=name
        ) from None


def _parse_metadata(document: Mapping[str, Any], issuer: str) -> ProviderMetadata:
    if document.get("issuer") != issuer:
        raise OidcDiscoveryError(
            "the discovery document's issuer is not the configured issuer", reason="issuer"
        )
    announced = _strings(document, "id_token_signing_alg_values_supported", ("RS256",))
    algorithms = tuple(a for a in announced if a in ALGORITHMS)
    if not algorithms:
        raise OidcDiscoveryError(
            "the provider signs ID tokens with no algorithm govkit accepts",
            reason="id_token_signing_alg_values_supported",
        )
    iss_parameter = document.get("authorization_response_iss_parameter_supported", False)
    require_par = document.get("require_pushed_authorization_requests", False)
    if not isinstance(iss_parameter, bool) or not isinstance(require_par, bool):
        raise OidcDiscoveryError("a boolean member is not a boolean", reason="boolean")
    return ProviderMetadata(
        issuer=issuer,
        authorization_endpoint=_endpoint(document, "authorization_endpoint", required=True) or "",
        token_endpoint=_endpoint(document, "token_endpoint", required=True) or "",
        jwks_uri=_endpoint(document, "jwks_uri", required=True) or "",
        pushed_authorization_request_endpoint=_endpoint(
            document, "pushed_authorization_request_endpoint", required=False
        ),
        userinfo_endpoint=_endpoint(document, "userinfo_endpoint", required=False),
        end_session_endpoint=_endpoint(document, "end_session_endpoint", required=False),
        id_token_algorithms=algorithms,
        dpop_algorithms=_strings(document, "dpop_signing_alg_values_supported", ()),
        iss_parameter=iss_parameter,
        require_par=require_par,
        code_challenge_methods=_strings(document, "code_challenge_methods_supported", ()),
        document=MappingProxyType(document),
    )


# --- results -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoginRequest:
    """A started login: send the browser to ``url``.

    Attributes:
        url: the provider's authorization URL (with PAR: ``client_id`` and
            ``request_uri`` only).
        state: the flow handle, also the ``state`` parameter. Keep it in the browser
            session (a cookie) and pass it to :meth:`OidcClient.finish_login` as
            ``expected_state``: that ties the callback to this browser.
        expires_at: when the flow expires in the flow store.
    """

    url: str
    state: str = field(repr=False)
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class TokenSet:
    """Tokens from the token endpoint, bound to ``dpop_key`` (keep them server-side).

    Attributes:
        access_token: the DPoP-bound access token.
        token_type: ``DPoP``.
        expires_at: when the access token expires, or ``None`` if not said.
        refresh_token: the refresh token (replaced at every refresh), or ``None``.
        id_token: the raw ID token of the response, or ``None``.
        scope: the granted scopes.
        dpop_key: the DPoP private key the tokens are bound to (one per login).
    """

    access_token: str = field(repr=False)
    token_type: str
    expires_at: datetime | None
    refresh_token: str | None = field(repr=False)
    id_token: str | None = field(repr=False)
    scope: tuple[str, ...]
    dpop_key: SigningKey = field(repr=False)


@dataclass(frozen=True, slots=True)
class Login:
    """A finished login: the validated ID token and the tokens.

    Attributes:
        id_token: the validated :class:`IdToken` (``subject``, ``acr``, ``sid``...).
        tokens: the :class:`TokenSet`.
    """

    id_token: IdToken
    tokens: TokenSet

    @property
    def subject(self) -> str:
        """The person's ``sub``."""
        return self.id_token.subject


@dataclass(frozen=True, slots=True)
class StepUpChallenge:
    """An RFC 9470 step-up challenge: re-authenticate with these ``acr_values``/``max_age``."""

    acr_values: tuple[str, ...]
    max_age: int | None


def parse_step_up_challenge(www_authenticate: str) -> StepUpChallenge:
    """Read an RFC 9470 ``WWW-Authenticate`` challenge (``insufficient_user_authentication``).

    >>> parse_step_up_challenge('DPoP error="insufficient_user_authentication", '
    ...                         'acr_values="urn:gov:loa:face", max_age="300"')
    StepUpChallenge(acr_values=('urn:gov:loa:face',), max_age=300)

    Raises:
        OidcChallengeInvalid: not that challenge, or neither ``acr_values`` nor a valid
            ``max_age`` in it.
    """
    if not isinstance(www_authenticate, str) or len(www_authenticate) > 4096:
        raise OidcChallengeInvalid("the WWW-Authenticate header is not a step-up challenge")
    params: dict[str, str] = {}
    for match in _AUTH_PARAM.finditer(www_authenticate):
        quoted, bare = match.group(2), match.group(3)
        value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare
        params.setdefault(match.group(1).lower(), value)
    if params.get("error") != "insufficient_user_authentication":
        raise OidcChallengeInvalid("the challenge is not insufficient_user_authentication")
    acr_values = tuple(v for v in params.get("acr_values", "").split(" ") if v)
    max_age: int | None = None
    if "max_age" in params:
        text = params["max_age"]
        if not text.isdigit() or len(text) > 9:
            raise OidcChallengeInvalid("the challenge's max_age is not a number of seconds")
        max_age = int(text)
    if not acr_values and max_age is None:
        raise OidcChallengeInvalid("the challenge names neither acr_values nor max_age")
    return StepUpChallenge(acr_values=acr_values, max_age=max_age)


# --- the client --------------------------------------------------------------------------


def _check_refreshed(original: IdToken, refreshed: IdToken) -> None:
    """OpenID Connect Core 12.2: a refreshed ID token describes the same authentication.

    A ``nonce`` it carries must be the original's, and an ``auth_time`` the original's
    (the time of the authentication, not of the refresh).
    """
    if refreshed.nonce is not None and refreshed.nonce != original.nonce:
        raise OidcNonceMismatch(
            "the refreshed ID token's nonce is not the original's", claim="nonce"
        )
    if (
        refreshed.auth_time is not None
        and original.auth_time is not None
        and refreshed.auth_time != original.auth_time
    ):
        raise OidcResponseInvalid(
            "the refreshed ID token names another authentication time", claim="auth_time"
        )


class OidcClient:
    """An OpenID Connect relying party for one provider, to the FAPI 2.0 security profile.

    Args:
        issuer: the provider's issuer; discovery's ``issuer`` must equal it exactly.
        client_id: this client's id at the provider.
        client_key: signs the ``private_key_jwt`` client assertions: a
            :class:`~govkit.keys.SigningKey`, a :class:`~govkit.keys.Signer` (HSM,
            KMS) or a :class:`~govkit.keys.KeyRing` (its active signer).
        redirect_uri: the callback URL registered at the provider.
        flows: the take-once :class:`~govkit.stores.FlowStore` keeping each login's
            state, nonce, PKCE verifier, DPoP key and issuer (sealed) until its callback.
        session: the :class:`requests.Session` for calls to the provider (default: own).
        policy: limits for the provider's endpoints and the discovery cache
            (``timeout``, ``max_bytes``, ``ttl`` of the discovery document,
            ``max_stale`` while discovery fails, ``max_redirects`` for discovery).
        scope: the scopes asked for (``openid`` is added).
        acr_levels: how the provider's ``acr`` values rank as
            :class:`~govkit.identity.AssuranceLevel` (default: the eIDAS URIs).
        replay_store: remembers back-channel logout token ids
            (needed by :meth:`verify_logout_token`).
        post_logout_redirect_uri: default for :meth:`logout_url`.
        flow_ttl: how long a started login may take.
        leeway: clock skew allowed on token times.
        dpop_alg: the DPoP key algorithm (``ES256`` or ``EdDSA``).
        unsafe_without_par: start logins with the whole request in the front-channel
            URL (and ``dpop_jkt``) when the provider has no PAR endpoint. FAPI 2.0
            requires PAR; by default a provider without it is refused
            (:class:`~govkit.errors.OidcDiscoveryError`).
        clock: the time source.

    The provider must offer PKCE ``S256`` and accept ``dpop_alg`` for DPoP proofs
    whenever its discovery document lists what it supports.
    """

    def __init__(
        self,
        issuer: str,
        *,
        client_id: str,
        client_key: SigningKey | Signer | KeyRing,
        redirect_uri: str,
        flows: FlowStore,
        session: requests.Session | None = None,
        policy: SourcePolicy | None = None,
        scope: str | Iterable[str] = "openid",
        acr_levels: Mapping[str, AssuranceLevel] | None = None,
        replay_store: ReplayStore | None = None,
        post_logout_redirect_uri: str | None = None,
        flow_ttl: timedelta = timedelta(minutes=10),
        leeway: timedelta = timedelta(seconds=30),
        dpop_alg: str = "ES256",
        unsafe_without_par: bool = False,
        clock: Clock | None = None,
    ) -> None:
        self._issuer = check_url(issuer, "issuer")
        if not isinstance(client_id, str) or not client_id:
            raise ConfigurationError("client_id must be a non-empty string")
        if not isinstance(client_key, (KeyRing, Signer)):
            raise ConfigurationError("client_key must be a SigningKey, a Signer or a KeyRing")
        if not isinstance(redirect_uri, str) or not redirect_uri.isascii():
            raise ConfigurationError("redirect_uri must be an ASCII URL")
        if not isinstance(flows, FlowStore):
            raise ConfigurationError("flows must be a FlowStore")
        if replay_store is not None and not isinstance(replay_store, ReplayStore):
            raise ConfigurationError("replay_store must be a ReplayStore")
        if dpop_alg not in ("ES256", "EdDSA"):
            raise ConfigurationError("dpop_alg must be ES256 or EdDSA")
        if not isinstance(flow_ttl, timedelta) or flow_ttl <= timedelta(0):
            raise ConfigurationError("flow_ttl must be a positive timedelta")
        scopes = scope.split(" ") if isinstance(scope, str) else list(scope)
        if "openid" not in scopes:
            scopes.insert(0, "openid")
        self._scope = " ".join(s for s in scopes if s)
        self._limits = settle(policy, SourcePolicy(), _DEFAULTS, what="an OpenID provider")
        self._client_id = client_id
        self._client_key = client_key
        self._redirect_uri = redirect_uri
        self._flows = flows
        self._own_session = session is None
        self._session = session if session is not None else requests.Session()
        self._acr_levels = acr_levels
        self._replay_store = replay_store
        self._post_logout = post_logout_redirect_uri
        self._flow_ttl = flow_ttl
        self._leeway = leeway
        self._dpop_alg = dpop_alg
        self._unsafe_without_par = unsafe_without_par is True
        self._clock: Clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._metadata: ProviderMetadata | None = None
        self._fetched_at: datetime | None = None
        self._jwks: JwksSource | None = None
        self._id_validator: IdTokenValidator | None = None
        self._logout_validator: LogoutTokenValidator | None = None
        self._dpop_nonces: dict[str, str] = {}

    @property
    def issuer(self) -> str:
        """The provider's issuer."""
        return self._issuer

    @property
    def leeway(self) -> timedelta:
        """The clock skew allowed on token times."""
        return self._leeway

    def close(self) -> None:
        """Close the session (when the client made it) and the JWKS source."""
        if self._jwks is not None:
            self._jwks.close()
        if self._own_session:
            self._session.close()

    def __repr__(self) -> str:
        return f"OidcClient({self._issuer!r}, client_id={self._client_id!r})"

    # -- discovery --------------------------------------------------------------------

    def discover(self, *, refresh: bool = False) -> ProviderMetadata:
        """The provider's metadata, fetched from ``/.well-known/openid-configuration``.

        Cached for the policy's ``ttl`` (default one hour); when a refresh fails the
        cached document stays in use for ``max_stale``.

        Raises:
            OidcDiscoveryError: the document cannot be fetched (and no usable copy is
                cached), is not JSON, names another issuer, or lacks an endpoint.
        """
        now = resolve_time(self._clock, None)
        with self._lock:
            cached, fetched_at = self._metadata, self._fetched_at
            if (
                not refresh
                and cached is not None
                and fetched_at is not None
                and now < fetched_at + self._limits.ttl
            ):
                return cached
            try:
                metadata = self._fetch_metadata()
            except OidcDiscoveryError:
                if (
                    cached is not None
                    and fetched_at is not None
                    and now < fetched_at + self._limits.ttl + self._limits.max_stale
                ):
                    return cached
                raise
            self._check_provider(metadata)
            self._metadata, self._fetched_at = metadata, now
            if self._jwks is None or self._jwks.url != metadata.jwks_uri:
                if self._jwks is not None:
                    self._jwks.close()
                self._jwks = JwksSource(metadata.jwks_uri, session=self._session, clock=self._clock)
            self._id_validator = IdTokenValidator(
                self._jwks,
                issuer=self._issuer,
                client_id=self._client_id,
                algorithms=metadata.id_token_algorithms,
                acr_levels=self._acr_levels,
                leeway=self._leeway,
                clock=self._clock,
            )
            self._logout_validator = (
                LogoutTokenValidator(
                    self._jwks,
                    issuer=self._issuer,
                    client_id=self._client_id,
                    algorithms=metadata.id_token_algorithms,
                    replay_store=self._replay_store,
                    leeway=self._leeway,
                    clock=self._clock,
                )
                if self._replay_store is not None
                else None
            )
            return metadata

    def _check_provider(self, metadata: ProviderMetadata) -> None:
        """What this client needs of the provider, beyond a well-formed document."""
        if metadata.pushed_authorization_request_endpoint is None and not self._unsafe_without_par:
            raise OidcDiscoveryError(
                "the provider has no PAR endpoint (FAPI 2.0 requires PAR; "
                "unsafe_without_par=True to log in without it)",
                reason="pushed_authorization_request_endpoint",
            )
        if metadata.code_challenge_methods and "S256" not in metadata.code_challenge_methods:
            raise OidcDiscoveryError(
                "the provider does not offer PKCE S256", reason="code_challenge_methods_supported"
            )
        if metadata.dpop_algorithms and self._dpop_alg not in metadata.dpop_algorithms:
            raise OidcDiscoveryError(
                f"the provider does not accept {self._dpop_alg} DPoP proofs",
                reason="dpop_signing_alg_values_supported",
            )

    async def adiscover(self, *, refresh: bool = False) -> ProviderMetadata:
        """:meth:`discover` without blocking the event loop."""
        return await offload(self.discover, refresh=refresh)

    def _fetch_metadata(self) -> ProviderMetadata:
        url = discovery_url(self._issuer)
        try:
            result = fetch(
                self._session,
                url,
                accept=_JSON,
                timeout=self._limits.timeout,
                max_bytes=self._limits.max_bytes,
                max_redirects=self._limits.max_redirects,
                what="OpenID discovery document",
            )
        except FetchError as exc:
            raise OidcDiscoveryError(exc.message, reason=exc.reason) from None
        document = loads_object(
            result.body,
            what="the discovery document",
            error=functools.partial(OidcDiscoveryError, reason="json"),
            max_depth=16,
        )
        return _parse_metadata(document, self._issuer)

    def id_token_validator(self) -> IdTokenValidator:
        """The ID token validator (after discovery: the provider's keys and algorithms)."""
        self.discover()
        validator = self._id_validator
        if validator is None:  # pragma: no cover - discover() sets it
            raise ConfigurationError("discovery did not run")
        return validator

    def validate_id_token(
        self,
        token: str,
        *,
        nonce: str | None,
        acr_values: Sequence[str] = (),
        max_age: int | None = None,
        access_token: str | None = None,
        subject: str | None = None,
        at: datetime | None = None,
    ) -> IdToken:
        """Validate an ID token of this provider (:meth:`IdTokenValidator.validate`).

        :meth:`finish_login` and :meth:`refresh` do this themselves; this is for an ID
        token kept from earlier. It may fetch discovery and the provider's JWKS.
        """
        return self.id_token_validator().validate(
            token,
            nonce=nonce,
            acr_values=acr_values,
            max_age=max_age,
            access_token=access_token,
            subject=subject,
            at=at,
        )

    async def avalidate_id_token(
        self,
        token: str,
        *,
        nonce: str | None,
        acr_values: Sequence[str] = (),
        max_age: int | None = None,
        access_token: str | None = None,
        subject: str | None = None,
        at: datetime | None = None,
    ) -> IdToken:
        """:meth:`validate_id_token` without blocking the event loop."""
        return await offload(
            self.validate_id_token,
            token,
            nonce=nonce,
            acr_values=acr_values,
            max_age=max_age,
            access_token=access_token,
            subject=subject,
            at=at,
        )

    # -- the back channel -------------------------------------------------------------

    def _assertion(self, now: datetime) -> dict[str, str]:
        """A fresh ``private_key_jwt`` client assertion (``aud`` is the issuer: FAPI 2.0)."""
        signer = (
            self._client_key.active if isinstance(self._client_key, KeyRing) else self._client_key
        )
        issued = int(now.timestamp())
        header = {"alg": signer.alg, "kid": signer.kid}
        claims = {
            "iss": self._client_id,
            "sub": self._client_id,
            "aud": self._issuer,
            "jti": b64url_encode(secrets.token_bytes(16)),
            "iat": issued,
            "nbf": issued,
            "exp": issued + 60,
        }
        return {
            "client_assertion_type": _ASSERTION_TYPE,
            "client_assertion": sign_compact(signer, header, claims),
        }

    def _call(
        self,
        endpoint: str,
        url: str,
        *,
        method: str,
        dpop_key: SigningKey,
        form: Mapping[str, str] | None = None,
        access_token: str | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """One call with DPoP (and a client assertion for a form), retried once on a nonce.

        Every attempt gets a new DPoP proof and a new client assertion (the provider
        refuses a ``jti`` it has seen).
        """
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
        for attempt in (1, 2):
            now = resolve_time(self._clock, None)
            headers = {
                "DPoP": create_dpop_proof(
                    dpop_key,
                    htm=method,
                    htu=url,
                    access_token=access_token,
                    nonce=self._dpop_nonces.get(origin),
                    clock=self._clock,
                )
            }
            data: dict[str, str] | None = None
            if form is not None:
                data = {"client_id": self._client_id, **form, **self._assertion(now)}
            if access_token is not None:
                headers["Authorization"] = f"DPoP {access_token}"
            try:
                result = fetch(
                    self._session,
                    url,
                    accept=_JSON,
                    timeout=self._limits.timeout,
                    max_bytes=self._limits.max_bytes,
                    method=method,
                    headers=headers,
                    data=data,
                    what=f"OpenID {endpoint}",
                    statuses=_ERROR_STATUSES,
                )
            except FetchError as exc:
                raise OidcUnavailable(
                    exc.message, endpoint=endpoint, reason=exc.reason, status=exc.status
                ) from None
            nonce = result.headers.get("DPoP-Nonce")
            if nonce and len(nonce) <= 512 and nonce.isascii():
                self._dpop_nonces[origin] = nonce
            body = self._json(result.body, endpoint) if result.body else {}
            if result.status in (200, 201):
                return result.status, body
            error = body.get("error")
            if error is None:
                error = _challenge_error(result.headers.get("WWW-Authenticate", ""))
            if error == "use_dpop_nonce":
                if attempt == 1 and nonce:
                    continue
                raise OidcDPoPNonce(
                    "the provider asked for a DPoP nonce again",
                    endpoint=endpoint,
                    error="use_dpop_nonce",
                )
            raise OidcProviderError(
                "the provider refused the request",
                endpoint=endpoint,
                error=_safe_error(error),
                status=result.status,
            )
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _json(body: bytes, endpoint: str) -> dict[str, Any]:
        return loads_object(
            body,
            what=f"the {endpoint} response",
            error=functools.partial(OidcResponseInvalid, reason="json", endpoint=endpoint),
            max_depth=16,
        )

    # -- login ------------------------------------------------------------------------

    def start_login(
        self,
        *,
        acr_values: Sequence[str] = (),
        max_age: int | None = None,
        login_hint: str | None = None,
        prompt: str | None = None,
        scope: str | Iterable[str] | None = None,
    ) -> LoginRequest:
        """Start a login: PAR (when the provider has it) and the authorization URL.

        Makes the flow's secrets (state, nonce, PKCE S256 verifier, a fresh DPoP key),
        pushes the request (``private_key_jwt``, DPoP, ``redirect_uri``), and keeps the
        secrets sealed in the flow store under the state.

        Args:
            acr_values: the ``acr`` values to ask for, preferred first; the ID token's
                ``acr`` is then checked against them.
            max_age: the largest age of the authentication, in seconds; ``auth_time``
                is then required and checked.
            login_hint: passed to the provider.
            prompt: passed to the provider (``consent`` is sent when ``offline_access``
                is asked for and no prompt is given).
            scope: replaces the client's scopes for this login.

        Raises:
            OidcDiscoveryError, OidcUnavailable, OidcProviderError: the provider.
            StoreError: the flow store failed.
        """
        metadata = self.discover()
        if max_age is not None and (
            isinstance(max_age, bool) or not isinstance(max_age, int) or max_age < 0
        ):
            raise ConfigurationError("max_age must be a non-negative integer")
        if isinstance(acr_values, str) or not all(
            isinstance(v, str) and v and " " not in v for v in acr_values
        ):
            raise ConfigurationError("acr_values must be a sequence of acr strings")
        now = resolve_time(self._clock, None)
        state = new_flow_handle()
        nonce = secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(48)
        dpop_key = SigningKey.generate(self._dpop_alg)
        scopes = self._scope
        if scope is not None:
            items = scope.split(" ") if isinstance(scope, str) else list(scope)
            scopes = " ".join(["openid", *(s for s in items if s and s != "openid")])
        params: dict[str, str] = {
            "response_type": "code",
            "client_id": self._client_id,
            "redirect_uri": self._redirect_uri,
            "scope": scopes,
            "state": state,
            "nonce": nonce,
            "code_challenge": b64url_encode(hashlib.sha256(verifier.encode("ascii")).digest()),
            "code_challenge_method": "S256",
        }
        if acr_values:
            params["acr_values"] = " ".join(acr_values)
        if max_age is not None:
            params["max_age"] = str(max_age)
        if login_hint is not None:
            params["login_hint"] = login_hint
        if prompt is None and "offline_access" in scopes.split(" "):
            prompt = "consent"
        if prompt is not None:
            params["prompt"] = prompt
        par = metadata.pushed_authorization_request_endpoint
        if par is not None:
            _, body = self._call(
                "pushed authorization request", par, method="POST", dpop_key=dpop_key, form=params
            )
            request_uri = body.get("request_uri")
            if not isinstance(request_uri, str) or not request_uri:
                raise OidcResponseInvalid(
                    "the PAR response has no request_uri", reason="request_uri"
                )
            query = {"client_id": self._client_id, "request_uri": request_uri}
        elif metadata.require_par:
            raise OidcDiscoveryError(
                "the provider requires PAR but announces no PAR endpoint",
                reason="pushed_authorization_request_endpoint",
            )
        else:
            query = {**params, "dpop_jkt": dpop_key.kid}
        flow = {
            "v": _FLOW_VERSION,
            "iss": self._issuer,
            "nonce": nonce,
            "verifier": verifier,
            "redirect_uri": self._redirect_uri,
            "acr_values": list(acr_values),
            "max_age": max_age,
            "dpop_alg": dpop_key.alg,
            "dpop_key": dpop_key.to_pem().decode("ascii"),
        }
        expires_at = now + self._flow_ttl
        self._flows.put(state, canonical_json(flow), now=now, expires_at=expires_at)
        separator = "&" if "?" in metadata.authorization_endpoint else "?"
        url = metadata.authorization_endpoint + separator + urlencode(query)
        return LoginRequest(url=url, state=state, expires_at=expires_at)

    async def astart_login(
        self,
        *,
        acr_values: Sequence[str] = (),
        max_age: int | None = None,
        login_hint: str | None = None,
        prompt: str | None = None,
        scope: str | Iterable[str] | None = None,
    ) -> LoginRequest:
        """:meth:`start_login` without blocking the event loop."""
        return await offload(
            self.start_login,
            acr_values=acr_values,
            max_age=max_age,
            login_hint=login_hint,
            prompt=prompt,
            scope=scope,
        )

    def start_step_up(
        self, challenge: StepUpChallenge | str, *, login_hint: str | None = None
    ) -> LoginRequest:
        """Start a re-authentication that answers an RFC 9470 step-up challenge.

        ``challenge`` is a :class:`StepUpChallenge` or the ``WWW-Authenticate`` header
        itself. The login asks for its ``acr_values`` and ``max_age`` (``prompt=login``
        when it names a ``max_age`` of 0) and :meth:`finish_login` checks them.
        """
        if isinstance(challenge, str):
            challenge = parse_step_up_challenge(challenge)
        return self.start_login(
            acr_values=challenge.acr_values,
            max_age=challenge.max_age,
            login_hint=login_hint,
            prompt="login" if challenge.max_age == 0 else None,
        )

    async def astart_step_up(
        self, challenge: StepUpChallenge | str, *, login_hint: str | None = None
    ) -> LoginRequest:
        """:meth:`start_step_up` without blocking the event loop."""
        return await offload(self.start_step_up, challenge, login_hint=login_hint)

    def finish_login(
        self,
        callback: str | Mapping[str, str],
        *,
        expected_state: str | None = None,
        unsafe_skip_state_binding: bool = False,
    ) -> Login:
        """Finish a login from the callback: check it, redeem the code, validate the ID token.

        Args:
            callback: the callback URL, its query string, or its parameters.
            expected_state: the ``state`` this browser session started (from its
                cookie); a callback with another state is refused before anything else.
                Required: without it, a callback an attacker got for their own login
                would log the victim's browser in as the attacker (login CSRF).
            unsafe_skip_state_binding: finish without ``expected_state`` (the state
                is then only checked against the flow store). For callers that bind
                the callback to the browser some other way.

        Checks, in order: ``state`` (matches ``expected_state``; names a flow, which is
        taken once), the flow's issuer and the RFC 9207 ``iss`` (the mix-up defence, also
        on error answers), an ``error`` answer, then the code redemption (PKCE verifier,
        ``private_key_jwt``, DPoP with the flow's key, one retry on a nonce challenge),
        the token type (``DPoP``), and the ID token (:class:`IdTokenValidator`: nonce,
        ``acr``, ``auth_time``, ``at_hash``...).

        Raises:
            OidcStateMismatch, OidcStateUnknown, OidcStateExpired, OidcStateReplayed,
            OidcIssuerMismatch, OidcProviderError (the provider's ``error``, e.g.
            ``access_denied``; at the token endpoint ``invalid_grant`` for an injected
            or replayed code), OidcResponseInvalid, TokenError and the ID token's
            ``oidc.*`` errors, OidcUnavailable, OidcDiscoveryError.
        """
        if expected_state is None and not unsafe_skip_state_binding:
            raise ConfigurationError(
                "finish_login needs expected_state: the state this browser started the "
                "login with (from its cookie), so a callback cannot be planted on it"
            )
        params = _callback_params(callback)
        state = params.get("state")
        if expected_state is not None and (
            state is None
            or not hmac.compare_digest(state.encode("utf-8"), expected_state.encode("utf-8"))
        ):
            raise OidcStateMismatch("the callback's state is not this session's")
        if state is None or not _HANDLE.fullmatch(state):
            raise OidcStateUnknown("the callback has no state this client issued")
        now = resolve_time(self._clock, None)
        try:
            raw = self._flows.take(state, now=now)
        except FlowUnknown:
            raise OidcStateUnknown("the callback's state names no login flow") from None
        except FlowExpired:
            raise OidcStateExpired("the login flow expired") from None
        except FlowTaken:
            raise OidcStateReplayed("the callback's state was already used") from None
        flow = loads_object(raw, what="the login flow", error=OidcResponseInvalid)
        if flow.get("iss") != self._issuer:
            raise OidcIssuerMismatch(
                "the login flow was started with another provider", reason="flow"
            )
        metadata = self.discover()
        iss = params.get("iss")
        if iss is None:
            if metadata.iss_parameter:
                raise OidcIssuerMismatch("the callback lacks 'iss'", reason="missing")
        elif iss != self._issuer:
            raise OidcIssuerMismatch("the callback's iss is another provider", reason="iss")
        if "error" in params:
            raise OidcProviderError(
                "the provider answered the login with an error",
                endpoint="authorization",
                error=_safe_error(params["error"]),
            )
        code = params.get("code")
        if not code:
            raise OidcResponseInvalid("the callback has no code", reason="code")
        dpop_key = SigningKey.from_pem(flow["dpop_key"], alg=flow["dpop_alg"])
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": flow["redirect_uri"],
            "code_verifier": flow["verifier"],
        }
        _, body = self._call(
            "token", metadata.token_endpoint, method="POST", dpop_key=dpop_key, form=form
        )
        tokens = _token_set(body, dpop_key, resolve_time(self._clock, None))
        if tokens.id_token is None:
            raise OidcResponseInvalid("the token response has no id_token", reason="id_token")
        id_token = self.id_token_validator().validate(
            tokens.id_token,
            nonce=flow["nonce"],
            acr_values=tuple(flow.get("acr_values") or ()),
            max_age=flow.get("max_age"),
            access_token=tokens.access_token,
        )
        return Login(id_token=id_token, tokens=tokens)

    async def afinish_login(
        self,
        callback: str | Mapping[str, str],
        *,
        expected_state: str | None = None,
        unsafe_skip_state_binding: bool = False,
    ) -> Login:
        """:meth:`finish_login` without blocking the event loop."""
        return await offload(
            self.finish_login,
            callback,
            expected_state=expected_state,
            unsafe_skip_state_binding=unsafe_skip_state_binding,
        )

    # -- after login ------------------------------------------------------------------

    def userinfo(self, login: Login) -> dict[str, Any]:
        """The provider's userinfo, with the DPoP-bound access token; ``sub`` must match.

        Raises:
            OidcSubjectMismatch: the userinfo is about another ``sub``.
            OidcProviderError: e.g. ``invalid_token`` (expired token, another DPoP key).
            OidcUnavailable, OidcResponseInvalid, OidcDiscoveryError.
        """
        metadata = self.discover()
        if metadata.userinfo_endpoint is None:
            raise OidcDiscoveryError(
                "the provider has no userinfo endpoint", reason="userinfo_endpoint"
            )
        _, body = self._call(
            "userinfo",
            metadata.userinfo_endpoint,
            method="GET",
            dpop_key=login.tokens.dpop_key,
            access_token=login.tokens.access_token,
        )
        if body.get("sub") != login.subject:
            raise OidcSubjectMismatch("the userinfo is about another subject", claim="sub")
        return body

    async def auserinfo(self, login: Login) -> dict[str, Any]:
        """:meth:`userinfo` without blocking the event loop."""
        return await offload(self.userinfo, login)

    def refresh(self, login: Login) -> Login:
        """Refresh the tokens; the new refresh token replaces the old one (rotation).

        The request is DPoP-signed with the login's key, so the new access token stays
        bound to it. A new ID token, when returned, is validated and must be about the
        same subject.

        Raises:
            ConfigurationError: the login has no refresh token.
            OidcProviderError: ``invalid_grant`` (e.g. an already rotated token).
            OidcUnavailable, OidcResponseInvalid, TokenError, OidcSubjectMismatch.
        """
        refresh_token = login.tokens.refresh_token
        if refresh_token is None:
            raise ConfigurationError("the login has no refresh token (ask for offline_access)")
        metadata = self.discover()
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        _, body = self._call(
            "token",
            metadata.token_endpoint,
            method="POST",
            dpop_key=login.tokens.dpop_key,
            form=form,
        )
        tokens = _token_set(body, login.tokens.dpop_key, resolve_time(self._clock, None))
        if tokens.refresh_token is None:
            tokens = _replace_refresh(tokens, refresh_token)
        id_token = login.id_token
        if tokens.id_token is not None:
            id_token = self.id_token_validator().validate(
                tokens.id_token,
                nonce=None,
                access_token=tokens.access_token,
                subject=login.subject,
            )
            _check_refreshed(login.id_token, id_token)
        return Login(id_token=id_token, tokens=tokens)

    async def arefresh(self, login: Login) -> Login:
        """:meth:`refresh` without blocking the event loop."""
        return await offload(self.refresh, login)

    def logout_url(
        self,
        id_token_hint: IdToken | str,
        *,
        post_logout_redirect_uri: str | None = None,
        state: str | None = None,
    ) -> str:
        """The RP-initiated logout URL (OpenID Connect RP-Initiated Logout 1.0).

        Raises:
            OidcDiscoveryError: the provider has no ``end_session_endpoint``.
        """
        metadata = self.discover()
        if metadata.end_session_endpoint is None:
            raise OidcDiscoveryError(
                "the provider has no end_session_endpoint", reason="end_session_endpoint"
            )
        if isinstance(id_token_hint, IdToken):
            hint = id_token_hint.raw
        elif isinstance(id_token_hint, str) and id_token_hint.count(".") == 2:
            hint = id_token_hint
        else:  # a Login, a dict...: never str() of an object into the provider's URL
            raise ConfigurationError("id_token_hint must be an IdToken or a compact ID token")
        query = {"id_token_hint": hint, "client_id": self._client_id}
        redirect = post_logout_redirect_uri or self._post_logout
        if redirect is not None:
            query["post_logout_redirect_uri"] = redirect
        if state is not None:
            query["state"] = state
        separator = "&" if "?" in metadata.end_session_endpoint else "?"
        return metadata.end_session_endpoint + separator + urlencode(query)

    async def alogout_url(
        self,
        id_token_hint: IdToken | str,
        *,
        post_logout_redirect_uri: str | None = None,
        state: str | None = None,
    ) -> str:
        """:meth:`logout_url` without blocking the event loop (it may run discovery)."""
        return await offload(
            self.logout_url,
            id_token_hint,
            post_logout_redirect_uri=post_logout_redirect_uri,
            state=state,
        )

    def verify_logout_token(self, token: str, *, at: datetime | None = None) -> LogoutToken:
        """Validate a back-channel logout token and remember its ``jti`` (replay check).

        A receiver that records the logout in a store that may fail should use
        :meth:`check_logout_token`, record, then :meth:`remember_logout_token`: once the
        ``jti`` is remembered, the provider's retry after a failed record is refused.

        Raises:
            ConfigurationError: the client has no ``replay_store``.
            TokenError, OidcLogoutTokenInvalid, OidcLogoutReplayed, StoreError.
        """
        return self._logout_tokens().validate(token, at=at)

    async def averify_logout_token(self, token: str, *, at: datetime | None = None) -> LogoutToken:
        """:meth:`verify_logout_token` without blocking the event loop."""
        return await offload(self.verify_logout_token, token, at=at)

    def check_logout_token(self, token: str, *, at: datetime | None = None) -> LogoutToken:
        """Validate a back-channel logout token WITHOUT remembering its ``jti``.

        The first half of :meth:`verify_logout_token`: a replay passes it. Record the
        logout (in a way a second delivery of the same token cannot worsen), then call
        :meth:`remember_logout_token`; if recording fails, do not remember, so that the
        provider's retry of the same token is accepted.

        Raises:
            ConfigurationError: the client has no ``replay_store``.
            TokenError, OidcLogoutTokenInvalid.
        """
        return self._logout_tokens().check(token, at=at)

    async def acheck_logout_token(self, token: str, *, at: datetime | None = None) -> LogoutToken:
        """:meth:`check_logout_token` without blocking the event loop."""
        return await offload(self.check_logout_token, token, at=at)

    def remember_logout_token(self, logout: LogoutToken, *, at: datetime | None = None) -> None:
        """The second half of :meth:`verify_logout_token`: remember the token's ``jti``.

        Raises:
            OidcLogoutReplayed: this ``jti`` was remembered before.
            StoreError: the replay store failed.
            ConfigurationError: the client has no ``replay_store``.
        """
        validator = self._logout_validator  # the one check_logout_token used, if any
        (validator or self._logout_tokens()).remember(logout, at=at)

    async def aremember_logout_token(
        self, logout: LogoutToken, *, at: datetime | None = None
    ) -> None:
        """:meth:`remember_logout_token` without blocking the event loop."""
        await offload(self.remember_logout_token, logout, at=at)

    def _logout_tokens(self) -> LogoutTokenValidator:
        if self._replay_store is None:
            raise ConfigurationError("verifying logout tokens needs OidcClient(replay_store=...)")
        self.discover()
        validator = self._logout_validator
        if validator is None:  # pragma: no cover - discover() sets it
            raise ConfigurationError("discovery did not run")
        return validator


def _challenge_error(header: str) -> str | None:
    for match in _AUTH_PARAM.finditer(header[:4096]):
        if match.group(1).lower() == "error":
            return match.group(2) if match.group(2) is not None else match.group(3)
    return None


def _callback_params(callback: str | Mapping[str, str]) -> dict[str, str]:
    if isinstance(callback, Mapping):
        items = list(callback.items())
    elif isinstance(callback, str):
        query = urlsplit(callback).query if "?" in callback or "://" in callback else callback
        items = parse_qsl(query, keep_blank_values=True, max_num_fields=32)
    else:
        raise ConfigurationError("callback must be a URL, a query string or a mapping")
    params: dict[str, str] = {}
    for name, value in items:
        if not isinstance(name, str) or not isinstance(value, str):
            raise OidcResponseInvalid("callback parameters must be strings", reason="callback")
        if name in params:
            raise OidcResponseInvalid("a callback parameter is repeated", reason="callback")
        params[name] = value
    return params


def _token_set(body: Mapping[str, Any], dpop_key: SigningKey, now: datetime) -> TokenSet:
    access_token = body.get("access_token")
    if not isinstance(access_token, str) or not access_token or not access_token.isascii():
        raise OidcResponseInvalid("the token response has no access_token", reason="access_token")
    token_type = body.get("token_type")
    if not isinstance(token_type, str) or token_type.lower() != "dpop":
        raise OidcResponseInvalid(
            "the access token is not DPoP-bound (token_type)", reason="token_type"
        )
    expires_in = body.get("expires_in")
    expires_at = None
    if expires_in is not None:
        if type(expires_in) is not int or not 0 < expires_in <= 10**8:
            raise OidcResponseInvalid("expires_in is not a number of seconds", reason="expires_in")
        expires_at = now + timedelta(seconds=expires_in)
    refresh_token = body.get("refresh_token")
    id_token = body.get("id_token")
    scope = body.get("scope", "")
    for name, value in (("refresh_token", refresh_token), ("id_token", id_token), ("scope", scope)):
        if value is not None and not isinstance(value, str):
            raise OidcResponseInvalid(f"{name} is not a string", reason=name)
    return TokenSet(
        access_token=access_token,
        token_type="DPoP",  # noqa: S106 - a token type, not a secret
        expires_at=expires_at,
        refresh_token=refresh_token or None,
        id_token=id_token or None,
        scope=tuple(s for s in (scope or "").split(" ") if s),
        dpop_key=dpop_key,
    )


def _replace_refresh(tokens: TokenSet, refresh_token: str) -> TokenSet:
    return TokenSet(
        access_token=tokens.access_token,
        token_type=tokens.token_type,
        expires_at=tokens.expires_at,
        refresh_token=refresh_token,
        id_token=tokens.id_token,
        scope=tokens.scope,
        dpop_key=tokens.dpop_key,
    )
