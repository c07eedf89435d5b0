"""The framework-neutral half of the integrations: requests in, HTTP answers out (private).

Every framework module turns its request into the few strings read here (method, path,
``Authorization`` and ``DPoP`` headers) and turns an :class:`HttpAnswer` back into its own
response type. The mapping from govkit errors to HTTP answers is therefore written, and
tested, once:

========================================  ======  ==============================================
what happened                             status  answer
========================================  ======  ==============================================
no ``Authorization`` (or another scheme)  401     ``Bearer`` (or ``DPoP algs=...``), no error
malformed ``Authorization`` / ``DPoP``    400     ``error="invalid_request"``
the token or its DPoP proof fails         401     ``error="invalid_token"``, the govkit code
DPoP nonce missing or stale               401     ``DPoP error="use_dpop_nonce"`` + ``DPoP-Nonce``
assurance too low, login too old          401     ``error="insufficient_user_authentication"``,
                                                  ``acr_values`` (and ``max_age``), RFC 9470
JWKS unreachable, replay store down       503     no challenge: nothing is wrong with the token
========================================  ======  ==============================================

Payment callbacks: :meth:`PaymentInbox.receive <govkit.payments.PaymentInbox.receive>`
already returns the provider's exact answer (:class:`~govkit.payments.Acknowledgement`);
a :class:`~govkit.errors.StoreError` becomes the provider's *retry* answer, so a delivery
that was not durably recorded is never acknowledged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import quote, urlsplit

from govkit.clock import Clock, SystemClock
from govkit.errors import (
    ConfigurationError,
    DPoPInvalid,
    GovkitError,
    InsufficientAssurance,
    JwksError,
    StoreError,
    TokenError,
)
from govkit.identity import AssuranceLevel, IdentityClaims, TokenVerifier
from govkit.payments import Acknowledgement, PaymentInbox, PaymentProvider

__all__ = [
    "DEFAULT_DPOP_ALGS",
    "HttpAnswer",
    "IdentityGuard",
    "Pending",
    "areceive_callback",
    "callback_answer",
    "missing_framework",
    "receive_callback",
    "token_scheme",
    "too_large",
]

#: The proof algorithms :class:`~govkit.identity.DPoPVerifier` accepts by default.
DEFAULT_DPOP_ALGS: Final = ("EdDSA", "ES256", "PS256")

# RFC 9110 section 11.2: token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_TOKEN68: Final = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
# RFC 9449 section 8.1: nonce = 1*NQCHAR (no space, no '"', no '\')
_NONCE: Final = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
# What may appear inside a quoted challenge parameter written by govkit.
_QUOTABLE: Final = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]*")
# Characters left as they are when the path the framework decoded is encoded again for htu.
_PATH_SAFE: Final = "/:@!$&'()*+,;=-._~"


def missing_framework(module: str, extra: str) -> ConfigurationError:
    """The error for an integration whose framework is not installed: names the extra."""
    return ConfigurationError(
        f"govkit.integrations.{extra} needs {module}: pip install 'govkit[{extra}]'",
        extra=extra,
    )


def token_scheme(authorization: Sequence[str]) -> bool:
    """Whether the request sent a ``Bearer`` or ``DPoP`` ``Authorization`` header."""
    return any(
        value.strip().partition(" ")[0].lower() in ("bearer", "dpop") for value in authorization
    )


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """An HTTP answer for a framework to send: status, headers and body bytes."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    @classmethod
    def json(
        cls, status: int, payload: Mapping[str, Any], headers: Mapping[str, str] | None = None
    ) -> HttpAnswer:
        """A JSON answer (``Cache-Control: no-store``, as RFC 6750 asks for errors)."""
        body = json.dumps(dict(payload), separators=(",", ":")).encode("utf-8")
        merged = {"Content-Type": "application/json", "Cache-Control": "no-store"}
        merged.update(headers or {})
        return cls(status, merged, body)

    @classmethod
    def from_ack(cls, ack: Acknowledgement) -> HttpAnswer:
        """The provider's answer, exactly as the provider adapter made it."""
        return cls(ack.status, dict(ack.headers), ack.body)


def _challenge(scheme: str, **params: str | None) -> str:
    """``Scheme k="v", ...`` (RFC 9110 section 11.6.1), parameters in the given order."""
    parts = []
    for name, value in params.items():
        if value is None:
            continue
        if not _QUOTABLE.fullmatch(value):  # only govkit's own values are ever written
            raise ConfigurationError(f"challenge parameter {name} holds a forbidden character")
        parts.append(f'{name}="{value}"')
    return scheme + (" " + ", ".join(parts) if parts else "")


@dataclass(frozen=True, slots=True)
class Pending:
    """Credentials read from one request, ready to verify."""

    scheme: str  # "Bearer" or "DPoP"
    token: str
    proof: str | None
    htm: str
    htu: str | None


class IdentityGuard:
    """Verifies the credentials of requests for one route and says what to answer.

    Args:
        verifier: the service's :class:`~govkit.identity.TokenVerifier` (its own
            ``min_assurance``, if any, applies as well).
        min_assurance: the least :class:`~govkit.identity.AssuranceLevel` this route
            accepts; a weaker token gets the RFC 9470 step-up challenge.
        max_age: the longest time since the person authenticated (the token's
            ``auth_time`` claim); an older login, or a token without ``auth_time``,
            gets the step-up challenge with ``max_age``.
        require_dpop: refuse tokens that are not DPoP-bound (``cnf.jkt``), and answer
            ``DPoP`` rather than ``Bearer`` challenges.
        public_url: the public URL of the application's root, as clients reach it
            (``https://tax.gov.example``, or ``https://gov.example/tax`` behind a proxy
            that strips ``/tax`` without telling the application). A DPoP proof's
            ``htu`` is compared with this plus the request's path: never with the
            ``Host`` header, which the client chooses.
        dpop_algs: the proof algorithms advertised in DPoP challenges (the
            ``allowed_algs`` of the verifier's :class:`~govkit.identity.DPoPVerifier`).
        dpop_nonce: returns the server's current DPoP nonce, when its
            ``DPoPVerifier(require_nonce=...)`` demands one; a proof without it is
            answered ``use_dpop_nonce`` with a ``DPoP-Nonce`` header.
        unsafe_htu_from_request: build ``htu`` from the URL the framework reports
            (from the ``Host`` header) when no ``public_url`` is given. Only for a
            server that is reached directly and checks ``Host`` itself.
        clock: the time source for ``max_age`` (default: the system clock).

    Raises:
        ConfigurationError: an argument cannot work.
    """

    def __init__(
        self,
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
    ) -> None:
        if not isinstance(verifier, TokenVerifier):
            raise ConfigurationError("verifier must be a govkit.identity.TokenVerifier")
        if min_assurance is not None and not isinstance(min_assurance, AssuranceLevel):
            raise ConfigurationError("min_assurance must be an AssuranceLevel or None")
        if max_age is not None and (not isinstance(max_age, timedelta) or max_age <= timedelta(0)):
            raise ConfigurationError("max_age must be a positive timedelta or None")
        if isinstance(dpop_algs, str) or not dpop_algs:
            raise ConfigurationError("dpop_algs must be a non-empty sequence of names")
        algs = " ".join(dpop_algs)
        if not _QUOTABLE.fullmatch(algs) or '"' in algs:
            raise ConfigurationError("dpop_algs must be algorithm names")
        if dpop_nonce is not None and not callable(dpop_nonce):
            raise ConfigurationError("dpop_nonce must be callable")
        self._base = _public_base(public_url) if public_url is not None else None
        if require_dpop and self._base is None and not unsafe_htu_from_request:
            raise ConfigurationError(
                "require_dpop needs public_url (the URL clients use), so that a DPoP "
                "proof's htu is not compared with a client-chosen Host header"
            )
        self._settings: dict[str, Any] = {
            "public_url": public_url,
            "dpop_algs": tuple(dpop_algs),
            "dpop_nonce": dpop_nonce,
            "unsafe_htu_from_request": unsafe_htu_from_request,
            "clock": clock,
        }
        self.verifier = verifier
        self.min_assurance = min_assurance
        self.max_age = max_age
        self.require_dpop = bool(require_dpop)
        self._algs = algs
        self._nonce = dpop_nonce
        self._unsafe_host = bool(unsafe_htu_from_request)
        self._clock: Clock = clock or SystemClock()

    def with_options(
        self,
        *,
        min_assurance: AssuranceLevel | None = None,
        max_age: timedelta | None = None,
        require_dpop: bool = False,
    ) -> IdentityGuard:
        """A guard with this one's verifier and URL settings and a route's own demands."""
        return IdentityGuard(
            self.verifier,
            min_assurance=min_assurance,
            max_age=max_age,
            require_dpop=require_dpop,
            **self._settings,
        )

    @property
    def uses_request_url(self) -> bool:
        """Whether ``htu`` comes from the request URL (no ``public_url``, unsafe flag set)."""
        return self._base is None and self._unsafe_host

    # -- reading the request ---------------------------------------------------

    def read(
        self,
        *,
        method: str,
        path: str,
        authorization: Sequence[str],
        dpop: Sequence[str],
        request_url: str | None = None,
    ) -> Pending | HttpAnswer:
        """The request's credentials, or the answer to send instead.

        Args:
            method: the request method.
            path: the request's full path as the application sees it (a WSGI
                ``SCRIPT_NAME`` or ASGI ``root_path`` included), without the query.
            authorization: every ``Authorization`` header of the request.
            dpop: every ``DPoP`` header of the request (values joined with commas, as
                WSGI servers join repeated headers, count as several: a proof never
                holds a comma).
            request_url: the URL the framework reports, used for ``htu`` only with
                ``unsafe_htu_from_request``.
        """
        if not authorization:
            return self.challenge()
        if len(authorization) > 1:
            return self._bad_request("more than one Authorization header")
        scheme, _, token = authorization[0].strip().partition(" ")
        token = token.strip()
        kind = {"bearer": "Bearer", "dpop": "DPoP"}.get(scheme.lower())
        if kind is None:  # another scheme (Basic...): no credentials for this route
            return self.challenge()
        if not token or not _TOKEN68.fullmatch(token):
            return self._bad_request("the Authorization header is not a token", kind)
        proof = None
        if kind == "DPoP":
            dpop = [part for value in dpop for part in value.split(",")]
            if len(dpop) != 1:
                return self._bad_request("a DPoP token needs exactly one DPoP header", kind)
            proof = dpop[0].strip()
        elif self.require_dpop:
            return self._refuse("dpop.binding_mismatch", "DPoP")
        htu = self._htu(path, request_url) if kind == "DPoP" else None
        return Pending(kind, token, proof, method.upper(), htu)

    def _htu(self, path: str, request_url: str | None) -> str:
        encoded = quote(path or "/", safe=_PATH_SAFE + "%")
        if self._base is not None:
            return self._base + encoded
        if self._unsafe_host and request_url:
            parts = urlsplit(request_url)
            return f"{parts.scheme}://{parts.netloc}{encoded}"
        raise ConfigurationError(
            "verifying a DPoP proof needs public_url (the URL clients use); "
            "the Host header is not trusted for it"
        )

    # -- verifying ---------------------------------------------------------------

    def verify(self, pending: Pending) -> IdentityClaims | HttpAnswer:
        """Verify with the blocking :meth:`TokenVerifier.verify`; claims or an answer."""
        try:
            claims = self.verifier.verify(
                pending.token, dpop_proof=pending.proof, htm=pending.htm, htu=pending.htu
            )
        except GovkitError as exc:
            return self.answer_for(exc, pending.scheme)
        return self.judge(claims, pending.scheme)

    async def averify(self, pending: Pending) -> IdentityClaims | HttpAnswer:
        """:meth:`verify` with :meth:`TokenVerifier.averify`: the event loop is not blocked."""
        try:
            claims = await self.verifier.averify(
                pending.token, dpop_proof=pending.proof, htm=pending.htm, htu=pending.htu
            )
        except GovkitError as exc:
            return self.answer_for(exc, pending.scheme)
        return self.judge(claims, pending.scheme)

    def judge(self, claims: IdentityClaims, scheme: str = "Bearer") -> IdentityClaims | HttpAnswer:
        """Apply this route's demands to claims verified already (by middleware)."""
        if self.require_dpop and claims.confirmation_jkt is None:
            return self._refuse("dpop.binding_mismatch", "DPoP")
        if self.min_assurance is not None and claims.assurance < self.min_assurance:
            return self.step_up(self.min_assurance, scheme)
        if self.max_age is not None:
            auth_time = claims.extra.get("auth_time")
            now = self._clock.now().timestamp()
            fresh = (
                isinstance(auth_time, int)
                and not isinstance(auth_time, bool)
                and now - auth_time <= self.max_age.total_seconds()
            )
            if not fresh:
                return self.step_up(
                    max(claims.assurance, self.min_assurance or AssuranceLevel.LOW),
                    scheme,
                    max_age=self.max_age,
                )
        return claims

    # -- answers -----------------------------------------------------------------

    def _scheme(self, scheme: str | None) -> str:
        return "DPoP" if scheme == "DPoP" or self.require_dpop else "Bearer"

    def _params(self, scheme: str) -> dict[str, str | None]:
        return {"algs": self._algs} if scheme == "DPoP" else {}

    def challenge(self) -> HttpAnswer:
        """No credentials: ``401`` and a challenge without an error (RFC 6750 section 3.1)."""
        scheme = self._scheme(None)
        value = _challenge(scheme, **self._params(scheme))
        return HttpAnswer.json(401, {"error": "unauthorized"}, {"WWW-Authenticate": value})

    def _bad_request(self, description: str, scheme: str | None = None) -> HttpAnswer:
        used = self._scheme(scheme)
        value = _challenge(
            used, error="invalid_request", error_description=description, **self._params(used)
        )
        return HttpAnswer.json(
            400,
            {"error": "invalid_request", "error_description": description},
            {"WWW-Authenticate": value},
        )

    def _refuse(self, code: str, scheme: str) -> HttpAnswer:
        used = self._scheme(scheme)
        value = _challenge(
            used, error="invalid_token", error_description=code, **self._params(used)
        )
        return HttpAnswer.json(
            401,
            {"error": "invalid_token", "error_description": code},
            {"WWW-Authenticate": value},
        )

    def step_up(
        self, required: AssuranceLevel, scheme: str = "Bearer", *, max_age: timedelta | None = None
    ) -> HttpAnswer:
        """RFC 9470: ``401`` asking the client to authenticate at ``required`` or above."""
        used = self._scheme(scheme)
        acr_values = " ".join(level.acr for level in AssuranceLevel if level >= required)
        description = (
            "a more recent authentication is required"
            if max_age is not None
            else f"assurance {required.label} or higher is required"
        )
        seconds = None if max_age is None else str(int(max_age.total_seconds()))
        value = _challenge(
            used,
            error="insufficient_user_authentication",
            error_description=description,
            acr_values=acr_values,
            max_age=seconds,
            **self._params(used),
        )
        payload: dict[str, Any] = {
            "error": "insufficient_user_authentication",
            "error_description": description,
            "acr_values": acr_values,
        }
        if seconds is not None:
            payload["max_age"] = int(seconds)
        return HttpAnswer.json(401, payload, {"WWW-Authenticate": value})

    def answer_for(self, error: GovkitError, scheme: str = "Bearer") -> HttpAnswer:
        """The answer to an error :meth:`TokenVerifier.verify` raised.

        Raises:
            GovkitError: ``error`` itself when it is a configuration error (a bug of
                the service, for the framework to turn into a 500).
        """
        if isinstance(error, InsufficientAssurance):
            try:
                required = AssuranceLevel.from_acr(error.required)
            except TokenError:
                required = AssuranceLevel.HIGH
            return self.step_up(required, scheme)
        if (
            isinstance(error, DPoPInvalid)
            and error.context.get("reason") == "nonce"
            and self._nonce is not None
        ):
            nonce = self._nonce()
            if not isinstance(nonce, str) or not _NONCE.fullmatch(nonce):
                raise ConfigurationError("dpop_nonce must return a non-empty NQCHAR string")
            value = _challenge(
                "DPoP",
                error="use_dpop_nonce",
                error_description="the resource server requires a nonce in the DPoP proof",
                algs=self._algs,
            )
            return HttpAnswer.json(
                401,
                {"error": "use_dpop_nonce", "error_description": error.code},
                {"WWW-Authenticate": value, "DPoP-Nonce": nonce},
            )
        if isinstance(error, TokenError):
            return self._refuse(error.code, scheme)
        if isinstance(error, (JwksError, StoreError)):
            # Nothing is known to be wrong with the token: no challenge, and no access.
            return HttpAnswer.json(
                503,
                {"error": "temporarily_unavailable", "error_description": error.code},
                {"Retry-After": "5"},
            )
        raise error


def _public_base(url: str) -> str:
    """``scheme://host[:port][/prefix]`` without a trailing slash, checked."""
    if not isinstance(url, str):
        raise ConfigurationError("public_url must be a string")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError("public_url must be an absolute http(s) URL")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigurationError("public_url must have no query, fragment or user")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


# -- payment callbacks -----------------------------------------------------------


def callback_answer(ack: Acknowledgement) -> HttpAnswer:
    """The provider's answer for a receipt's acknowledgement."""
    return HttpAnswer.from_ack(ack)


def receive_callback(
    inbox: PaymentInbox,
    provider: PaymentProvider,
    headers: Mapping[str, str],
    body: bytes,
    *,
    source: str | None = None,
    at: datetime | None = None,
) -> HttpAnswer:
    """Hand one delivery to the inbox (blocking) and return the provider's answer.

    A store failure is answered with the provider's retry answer (a 5xx): nothing was
    acknowledged, so the provider delivers again.
    """
    try:
        receipt = inbox.receive(provider, headers, body, source=source, at=at)
    except StoreError:
        return HttpAnswer.from_ack(provider.reject(retry=True))
    return HttpAnswer.from_ack(receipt.ack)


async def areceive_callback(
    inbox: PaymentInbox,
    provider: PaymentProvider,
    headers: Mapping[str, str],
    body: bytes,
    *,
    source: str | None = None,
    at: datetime | None = None,
) -> HttpAnswer:
    """:func:`receive_callback` with :meth:`PaymentInbox.areceive` (the loop is not blocked)."""
    try:
        receipt = await inbox.areceive(provider, headers, body, source=source, at=at)
    except StoreError:
        return HttpAnswer.from_ack(provider.reject(retry=True))
    return HttpAnswer.from_ack(receipt.ack)


def too_large(provider: PaymentProvider) -> HttpAnswer:
    """The refusal of a body over the integration's read limit (nothing stored)."""
    ack = provider.reject(retry=False)
    return HttpAnswer(413, dict(ack.headers), ack.body)
