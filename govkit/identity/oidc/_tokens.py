"""Validating an OpenID provider's ID tokens and back-channel logout tokens.

Both go through :class:`~govkit.identity.TokenVerifier`'s pipeline (size, structure,
no token-supplied keys, the key's own algorithm and one the provider announced,
signature, ``exp``/``nbf``/``iat`` with leeway, exact ``iss``); the OpenID Connect
rules on top of it are here.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, Final

from govkit._encoding import b64url_encode
from govkit.clock import Clock, SystemClock, resolve_time
from govkit.errors import (
    ConfigurationError,
    MissingClaim,
    OidcAcrInsufficient,
    OidcAuthTimeTooOld,
    OidcLogoutReplayed,
    OidcLogoutTokenInvalid,
    OidcNonceMismatch,
    OidcResponseInvalid,
    OidcSubjectMismatch,
    WrongAudience,
)
from govkit.identity._assurance import AssuranceLevel
from govkit.identity._claims import has_visible_character
from govkit.identity._tokens import KeySource, _ProviderJwtVerifier
from govkit.stores import ReplayStore

__all__ = [
    "DEFAULT_ACR_LEVELS",
    "IdToken",
    "IdTokenValidator",
    "LogoutToken",
    "LogoutTokenValidator",
]

#: ``acr`` values understood without configuration: the eIDAS level URIs.
DEFAULT_ACR_LEVELS: Final[Mapping[str, AssuranceLevel]] = MappingProxyType(
    {level.acr: level for level in AssuranceLevel}
)
_BACKCHANNEL_EVENT: Final = "http://schemas.openid.net/event/backchannel-logout"
_ID_TYPS: Final = frozenset({"jwt", "application/jwt"})
_LOGOUT_TYPS: Final = frozenset({"logout+jwt", "application/logout+jwt"})
_ONE_SECOND: Final = timedelta(seconds=1)
#: The hash each JWS algorithm uses, for ``at_hash`` (OpenID Connect Core 3.1.3.6).
_HASHES: Final = {"ES256": "sha256", "PS256": "sha256", "RS256": "sha256", "EdDSA": "sha512"}


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _acr_levels(acr_levels: Mapping[str, AssuranceLevel] | None) -> Mapping[str, AssuranceLevel]:
    if acr_levels is None:
        return DEFAULT_ACR_LEVELS
    if not isinstance(acr_levels, Mapping) or not all(
        isinstance(k, str) and k and isinstance(v, AssuranceLevel) for k, v in acr_levels.items()
    ):
        raise ConfigurationError("acr_levels must map acr strings to AssuranceLevel values")
    return MappingProxyType(dict(acr_levels))


def _audiences(claims: Mapping[str, Any]) -> tuple[str, ...]:
    aud = claims.get("aud")
    values = [aud] if isinstance(aud, str) else aud
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise MissingClaim("claim 'aud' is required (a string or a list of strings)", claim="aud")
    return tuple(values)


@dataclass(frozen=True, slots=True)
class IdToken:
    """A validated ID token: what the provider says about the login.

    Attributes:
        raw: the compact JWS (send it as ``id_token_hint``; never log it).
        issuer: ``iss``, exactly the provider's issuer.
        subject: ``sub``, the person's identifier at the provider.
        audience: ``aud`` as a tuple (this client's ``client_id`` is in it).
        issued_at: ``iat``.
        expires_at: ``exp``.
        nonce: ``nonce`` (checked against the flow's), or ``None`` (refreshed tokens).
        acr: ``acr`` as the provider wrote it, or ``None``.
        assurance: ``acr`` as an :class:`~govkit.identity.AssuranceLevel` through the
            client's ``acr_levels``, or ``None`` when absent or not mapped.
        amr: ``amr``, maybe empty.
        auth_time: ``auth_time``, when the person authenticated, or ``None``.
        sid: ``sid``, the provider's session (back-channel logout names it), or ``None``.
        azp: ``azp``, or ``None``.
        kid: the key that verified the signature.
        claims: every claim, read-only.
    """

    raw: str = field(repr=False)
    issuer: str
    subject: str
    audience: tuple[str, ...]
    issued_at: datetime
    expires_at: datetime
    nonce: str | None = field(repr=False)
    acr: str | None
    assurance: AssuranceLevel | None
    amr: tuple[str, ...]
    auth_time: datetime | None
    sid: str | None
    azp: str | None
    kid: str
    claims: Mapping[str, Any] = field(repr=False)


class IdTokenValidator:
    """Validates one provider's ID tokens for one client (OpenID Connect Core 3.1.3.7).

    Args:
        keys: the provider's keys (a :class:`~govkit.identity.JwksSource` of its
            ``jwks_uri``; a :class:`~govkit.keys.KeyRing` in tests).
        issuer: the exact ``iss``.
        client_id: this client; ``aud`` must contain it.
        algorithms: the algorithms accepted (the provider's
            ``id_token_signing_alg_values_supported``); only govkit's asymmetric
            algorithms count, so ``none`` and HMAC never do.
        acr_levels: how ``acr`` values rank (``{"urn:...:face": AssuranceLevel.HIGH}``);
            default the eIDAS URIs.
        trusted_audiences: other audiences an ID token may also name (``azp`` must then
            be ``client_id``); default none: a token for several audiences is refused.
        leeway: clock skew allowed on ``exp``, ``iat``, ``nbf`` and ``auth_time``.
        clock: the time source.
    """

    def __init__(
        self,
        keys: KeySource,
        *,
        issuer: str,
        client_id: str,
        algorithms: Iterable[str],
        acr_levels: Mapping[str, AssuranceLevel] | None = None,
        trusted_audiences: Iterable[str] = (),
        leeway: timedelta = timedelta(seconds=30),
        clock: Clock | None = None,
    ) -> None:
        if not isinstance(client_id, str) or not client_id:
            raise ConfigurationError("client_id must be a non-empty string")
        self._jwt = _ProviderJwtVerifier(
            keys,
            issuer=issuer,
            audience=client_id,
            typs=_ID_TYPS,
            typ_optional=True,
            algorithms=algorithms,
            leeway=leeway,
            clock=clock,
        )
        self._issuer = issuer
        self._client_id = client_id
        self._acr_levels = _acr_levels(acr_levels)
        self._trusted = frozenset(trusted_audiences)
        self._leeway = leeway

    def validate(
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
        """Validate ``token`` and return it parsed.

        Args:
            token: the ``id_token`` of a token response.
            nonce: the flow's nonce, which ``nonce`` must equal; ``None`` after a
                refresh (a ``nonce`` in the token is then not checked).
            acr_values: the ``acr_values`` asked for: ``acr`` must then be one of
                them, or rank (``acr_levels``) at least as high as the weakest of them.
            max_age: the ``max_age`` asked for: ``auth_time`` must then be present and
                at most that many seconds (plus leeway) old.
            access_token: the access token issued with it: ``at_hash``, when present,
                must match it.
            subject: ``sub`` must equal it (a refreshed ID token: the same person).
            at: validate as of this time.

        Raises:
            TokenError: the JWS, times, ``iss``, ``aud``/``azp`` or ``sub`` (``token.*``).
            OidcNonceMismatch, OidcAcrInsufficient, OidcAuthTimeTooOld,
            OidcSubjectMismatch, OidcResponseInvalid (``at_hash``).
        """
        claims, key, when = self._jwt.verify_jwt(token, at=at)
        audience = _audiences(claims)
        if self._client_id not in audience:
            raise WrongAudience("claim 'aud' does not name this client", claim="aud")
        azp = claims.get("azp")
        if azp is not None and azp != self._client_id:
            raise WrongAudience("claim 'azp' is not this client", claim="azp")
        if len(audience) > 1:
            if azp is None:
                raise WrongAudience("an ID token for several audiences needs 'azp'", claim="azp")
            if not set(audience) - {self._client_id} <= self._trusted:
                raise WrongAudience("claim 'aud' names an audience not trusted", claim="aud")
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub or not has_visible_character(sub):
            raise MissingClaim("claim 'sub' is required and must be a string", claim="sub")
        if subject is not None and sub != subject:
            raise OidcSubjectMismatch("the ID token is about another subject", claim="sub")
        got_nonce = claims.get("nonce")
        if nonce is not None and (
            not isinstance(got_nonce, str)
            or not hmac.compare_digest(got_nonce.encode("utf-8"), nonce.encode("utf-8"))
        ):
            raise OidcNonceMismatch("the ID token's nonce is not this login's", claim="nonce")
        acr = claims.get("acr")
        if acr is not None and not isinstance(acr, str):
            raise MissingClaim("claim 'acr' must be a string", claim="acr")
        level = self._acr_levels.get(acr) if acr is not None else None
        if acr_values:
            self._check_acr(acr, level, acr_values)
        auth_time = claims.get("auth_time")
        if auth_time is not None and (type(auth_time) is not int or auth_time < 0):
            raise MissingClaim(
                "claim 'auth_time' must be an integer NumericDate", claim="auth_time"
            )
        if max_age is not None:
            if auth_time is None:
                raise OidcAuthTimeTooOld("the ID token has no 'auth_time'", claim="auth_time")
            leeway = self._leeway.total_seconds()
            if when.timestamp() - auth_time > max_age + leeway:
                raise OidcAuthTimeTooOld(
                    "the person authenticated longer ago than max_age",
                    claim="auth_time",
                    max_age=max_age,
                )
        at_hash = claims.get("at_hash")
        if at_hash is not None and access_token is not None:
            digest = hashlib.new(_HASHES.get(key.alg, "sha256"), access_token.encode()).digest()
            expected = b64url_encode(digest[: len(digest) // 2])
            if not isinstance(at_hash, str) or not hmac.compare_digest(
                at_hash.encode("utf-8"), expected.encode("ascii")
            ):
                raise OidcResponseInvalid(
                    "the ID token's at_hash does not match the access token", reason="at_hash"
                )
        amr = claims.get("amr", [])
        if not isinstance(amr, list) or not all(isinstance(m, str) for m in amr):
            raise MissingClaim("claim 'amr' must be a list of strings", claim="amr")
        sid = claims.get("sid")
        if sid is not None and not isinstance(sid, str):
            raise MissingClaim("claim 'sid' must be a string", claim="sid")
        return IdToken(
            raw=token,
            issuer=self._issuer,
            subject=sub,
            audience=audience,
            issued_at=_utc(claims["iat"]),
            expires_at=_utc(claims["exp"]),
            nonce=got_nonce if isinstance(got_nonce, str) else None,
            acr=acr,
            assurance=level,
            amr=tuple(amr),
            auth_time=_utc(auth_time) if auth_time is not None else None,
            sid=sid,
            azp=azp if isinstance(azp, str) else None,
            kid=key.kid,
            claims=MappingProxyType(claims),
        )

    def _check_acr(
        self, acr: str | None, level: AssuranceLevel | None, acr_values: Sequence[str]
    ) -> None:
        if acr is None:
            raise OidcAcrInsufficient("the ID token has no 'acr' though one was asked for")
        if acr in acr_values:
            return
        asked = [self._acr_levels[v] for v in acr_values if v in self._acr_levels]
        if level is None or not asked or level < min(asked):
            raise OidcAcrInsufficient(
                "the ID token's acr is weaker than the one asked for",
                required=min(asked).label if asked else None,
            )

    def __repr__(self) -> str:
        return f"IdTokenValidator(issuer={self._issuer!r}, client_id={self._client_id!r})"


@dataclass(frozen=True, slots=True)
class LogoutToken:
    """A validated back-channel logout token: end the sessions it names.

    Attributes:
        issuer: ``iss``.
        subject: ``sub``, or ``None``: end every session of this person.
        sid: ``sid``, or ``None``: end the session with this provider session id.
        token_id: ``jti`` (remembered against replay).
        issued_at: ``iat``.
        expires_at: ``exp``.
    """

    issuer: str
    subject: str | None
    sid: str | None
    token_id: str
    issued_at: datetime
    expires_at: datetime


def _logout_invalid(reason: str, message: str) -> OidcLogoutTokenInvalid:
    return OidcLogoutTokenInvalid(message, reason=reason)


class LogoutTokenValidator:
    """Validates back-channel logout tokens (OpenID Back-Channel Logout 1.0, section 2.6).

    Args:
        keys, issuer, client_id, algorithms, leeway, clock: as
            :class:`IdTokenValidator`.
        replay_store: where ``jti`` values are remembered until the token expires.
        max_age: how old ``iat`` may be (the token is refused after that even if its
            ``exp`` is later).
    """

    def __init__(
        self,
        keys: KeySource,
        *,
        issuer: str,
        client_id: str,
        algorithms: Iterable[str],
        replay_store: ReplayStore,
        leeway: timedelta = timedelta(seconds=30),
        max_age: timedelta = timedelta(minutes=5),
        clock: Clock | None = None,
    ) -> None:
        if not isinstance(replay_store, ReplayStore):
            raise ConfigurationError("replay_store must implement ReplayStore")
        self._jwt = _ProviderJwtVerifier(
            keys,
            issuer=issuer,
            audience=client_id,
            typs=_LOGOUT_TYPS,
            typ_optional=False,
            algorithms=algorithms,
            leeway=leeway,
            clock=clock,
        )
        self._issuer = issuer
        self._client_id = client_id
        self._store = replay_store
        self._leeway = leeway
        self._max_age = max_age
        self._clock: Clock = clock or SystemClock()

    def validate(self, token: str, *, at: datetime | None = None) -> LogoutToken:
        """Validate ``token`` (the ``logout_token`` form field) and remember its ``jti``.

        :meth:`check` then :meth:`remember`, at one time.

        Raises:
            TokenError: the JWS, ``typ`` (``logout+jwt``), times, ``iss`` or ``aud``.
            OidcLogoutTokenInvalid: ``events``, ``sid``/``sub``, ``jti``, a ``nonce``,
                an ``iat`` older than ``max_age``.
            OidcLogoutReplayed: this ``jti`` was received before.
            StoreError: the replay store failed (the token is refused).
        """
        logout, when = self._check(token, at)
        self.remember(logout, at=when)
        return logout

    def check(self, token: str, *, at: datetime | None = None) -> LogoutToken:
        """Validate ``token`` like :meth:`validate`, but do NOT remember its ``jti``.

        A replay passes this check: it is for a receiver that must act on the token
        before remembering it, so that an action that failed can be retried with the
        same token (Back-Channel Logout 1.0, 2.8: the provider may send it again). Act
        on the token, then call :meth:`remember`; act only in ways a second delivery
        of the same token cannot worsen (a cutoff bounded by ``iat``).

        Raises:
            TokenError, OidcLogoutTokenInvalid: as :meth:`validate`.
        """
        return self._check(token, at)[0]

    def remember(self, logout: LogoutToken, *, at: datetime | None = None) -> None:
        """Remember the ``jti`` of a token :meth:`check` returned; refuse a replay.

        Kept until the token can no longer be accepted (``exp``, or ``iat`` plus
        ``max_age``, plus leeway).

        Raises:
            OidcLogoutReplayed: this ``jti`` was remembered before.
            StoreError: the replay store failed.
            ConfigurationError: ``logout`` is another provider's.
        """
        if not isinstance(logout, LogoutToken) or logout.issuer != self._issuer:
            raise ConfigurationError("remember() takes a LogoutToken this validator checked")
        when = resolve_time(self._clock, at)
        remember_until = (
            max(logout.expires_at, logout.issued_at + self._max_age) + self._leeway + _ONE_SECOND
        )
        if not self._store.check_and_remember(
            f"oidc-logout:{self._issuer}:{logout.token_id}", now=when, expires_at=remember_until
        ):
            raise OidcLogoutReplayed("the logout token was received before")

    def _check(self, token: str, at: datetime | None) -> tuple[LogoutToken, datetime]:
        claims, _key, when = self._jwt.verify_jwt(token, at=at)
        if self._client_id not in _audiences(claims):
            raise WrongAudience("claim 'aud' does not name this client", claim="aud")
        events = claims.get("events")
        if not isinstance(events, dict) or not isinstance(events.get(_BACKCHANNEL_EVENT), dict):
            raise _logout_invalid("events", "the logout token lacks the back-channel event")
        if "nonce" in claims:
            raise _logout_invalid("nonce", "a logout token must not carry a nonce")
        sub, sid = claims.get("sub"), claims.get("sid")
        if sub is None and sid is None:
            raise _logout_invalid("sid", "the logout token names neither 'sid' nor 'sub'")
        for name, value in (("sub", sub), ("sid", sid)):
            if value is not None and (not isinstance(value, str) or not value):
                raise _logout_invalid(name, f"claim {name!r} must be a non-empty string")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not 0 < len(jti) <= 256:
            raise _logout_invalid("jti", "the logout token needs a 'jti' of 1 to 256 characters")
        issued_at = _utc(claims["iat"])
        if issued_at < when - self._max_age - self._leeway:
            raise _logout_invalid("iat", "the logout token is too old")
        logout = LogoutToken(
            issuer=self._issuer,
            subject=sub,
            sid=sid,
            token_id=jti,
            issued_at=issued_at,
            expires_at=_utc(claims["exp"]),
        )
        return logout, when

    def __repr__(self) -> str:
        return f"LogoutTokenValidator(issuer={self._issuer!r}, client_id={self._client_id!r})"
