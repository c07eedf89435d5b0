"""Issuing and verifying identity tokens (implementation of :mod:`govkit.identity`).

Issuing builds the compact JWS with PyJWT (a private :class:`jwt.PyJWS` instance whose
only algorithms call a govkit :class:`~govkit.keys.Signer`). Verifying does not use
PyJWT: it is a short, strict pipeline written out below, so that every refusal has
its own govkit error and nothing in a token can choose a key or an algorithm.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from types import MappingProxyType
from typing import Any, Final, Protocol, runtime_checkable

import jwt
import jwt.algorithms

from govkit._aio import offload
from govkit._encoding import (
    B64URL_TRANSLATION,
    b64url_decode,
    b64url_decode_translated,
    b64url_encode,
    canonical_json,
)
from govkit._json import loads_object
from govkit._messages import DETAILS
from govkit.audit import AuditEvent, AuditLog
from govkit.clock import LAST_UNIX_SECOND, Clock, SystemClock, require_aware, resolve_time
from govkit.errors import (
    ClaimNotAllowed,
    ConfigurationError,
    DPoPBindingMismatch,
    EncodingError,
    ForbiddenHeader,
    GovkitError,
    InsufficientAssurance,
    InvalidSignature,
    KeyNotValidAt,
    MalformedToken,
    MissingClaim,
    TokenAlgorithmRejected,
    TokenExpired,
    TokenKeyUnknown,
    TokenNotYetValid,
    TokenRevoked,
    TokenSignatureInvalid,
    TokenTooLarge,
    UnknownKey,
    UnsupportedCritical,
    VerificationError,
    WrongAudience,
    WrongIssuer,
    WrongTokenType,
)
from govkit.identity._assurance import _BY_ACR as _LEVEL_OF_ACR
from govkit.identity._assurance import AMR_VALUES, AssuranceLevel
from govkit.identity._claims import IdentityClaims, Profile, has_visible_character
from govkit.identity._dpop import DPoPVerifier
from govkit.identity.cn import is_valid_resident_id
from govkit.keys import ALGORITHMS, OPTIONAL_ALGORITHMS, KeyRing, Signer, SigningKey, VerifyingKey
from govkit.observability import observed
from govkit.report import Check, Report, summary_line
from govkit.stores import RevocationStore

__all__ = [
    "KeySource",
    "TokenCheck",
    "TokenIssuer",
    "TokenReport",
    "TokenVerifier",
    "pairwise_subject",
]

#: Claims govkit sets itself; ``issue(**claims)`` may not override them.
RESERVED_CLAIMS: Final = frozenset(
    {"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "acr", "amr", "scope", "cnf"}
)
#: The ``extra`` of a token that carries only reserved claims (read-only, shared).
_NO_EXTRA: Final[Mapping[str, Any]] = MappingProxyType({})
#: The ``amr`` of a token without one (never changed: only read and copied to a tuple).
_NO_AMR: Final[list[str]] = []
#: Header members that name a key source. govkit takes keys only from configuration.
FORBIDDEN_HEADERS: Final = ("jku", "x5u", "jwk", "x5c", "x5t", "x5t#S256")
_TYP_WRITTEN: Final[dict[str, str]] = {"access": "at+jwt", "id": "JWT"}
_TYP_ACCEPTED: Final[dict[str, frozenset[str]]] = {
    "access": frozenset({"at+jwt", "application/at+jwt"}),
    "id": frozenset({"jwt", "application/jwt"}),
}
#: Registered JWS ``alg`` names (RFC 7518, RFC 8037, RFC 8812, RFC 9864): the only header
#: values an error context may repeat, so that nothing else from a token reaches a log.
_JWS_ALGORITHM_NAMES: Final = frozenset(
    {
        "none", "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384",
        "ES512", "PS256", "PS384", "PS512", "EdDSA", "ES256K", "Ed25519", "Ed448",
        "SM2",  # not IANA-registered: govkit's name for SM2 with SM3 (docs/guide/national-crypto)
    }
)  # fmt: skip
_MAX_KID: Final = 256
_MAX_JTI: Final = 256
_MAX_CLAIM_DEPTH: Final = 16  # TokenVerifier refuses deeper JSON; never issue it
_MAX_NUMERIC_DATE: Final = LAST_UNIX_SECOND  # 9999-12-31T23:59:59Z, the last datetime
_MAX_LEEWAY: Final = timedelta(minutes=5)
#: The claims TokenVerifier requires, read at once (KeyError: one is missing).
_REQUIRED_CLAIMS: Final = itemgetter("exp", "iat", "iss", "aud", "sub", "jti", "acr")
#: Distinct headers a TokenVerifier remembers (an issuer uses one per signing key).
_HEADER_MEMO: Final = 16
_PAIRWISE_CONTEXT: Final = b"govkit.identity.pairwise-subject/v1"
#: A run of digits that could be a resident ID number (18 characters, or 15 legacy).
_ID_CANDIDATE: Final = re.compile(r"(?<![0-9A-Za-z])(?:[0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9A-Za-z])")


# --- protocols ------------------------------------------------------------------


@runtime_checkable
class KeySource(Protocol):
    """Where a :class:`TokenVerifier` finds verifying keys by ``kid``.

    :class:`~govkit.keys.KeyRing` is one (keys from configuration);
    :class:`~govkit.identity.JwksSource` is another (a configured JWKS URL). A
    source raises :class:`~govkit.errors.UnknownKey` or
    :class:`~govkit.errors.KeyNotValidAt` when it has no usable key.
    """

    def get(self, kid: str, *, at: datetime | None = None) -> VerifyingKey:
        """The verifying key named ``kid``, valid at ``at``."""
        ...


# --- subjects -------------------------------------------------------------------


def pairwise_subject(secret: bytes, person_id: str, sector: str) -> str:
    """A stable pseudonym of a person for one sector (the ``sub`` of that sector's tokens).

    ``base64url(HMAC-SHA-256(secret, context || len(sector) || sector || person_id))``,
    43 characters, where ``len`` is four bytes big-endian and strings are UTF-8. This is
    the pairwise subject identifier of OpenID Connect Core section 8.1: the same person
    gets the same ``sub`` every time within a sector (a department, or one service), and
    unrelated ones across sectors, so services cannot join their records on ``sub``;
    without ``secret`` nobody can recompute a pseudonym from an ID number. Keep
    ``secret`` (at least 32 bytes) in the identity provider's KMS, and never change it:
    every subject would change with it. Normalise ``person_id`` first (for a resident
    ID number, ``parse_resident_id(text).number``): ``...002x`` and ``...002X`` are
    different strings.

    >>> secret = bytes(32)
    >>> a = pairwise_subject(secret, "11010519491231002X", "tax.gov.example")
    >>> a == pairwise_subject(secret, "11010519491231002X", "tax.gov.example")
    True
    >>> a == pairwise_subject(secret, "11010519491231002X", "health.gov.example")
    False
    >>> len(a)
    43

    Raises:
        ConfigurationError: ``secret`` is shorter than 32 bytes, or ``person_id`` or
            ``sector`` is empty or not text.
    """
    if not isinstance(secret, bytes) or len(secret) < 32:
        raise ConfigurationError("the pairwise-subject secret must be at least 32 bytes")
    if not isinstance(person_id, str) or not person_id:
        raise ConfigurationError("person_id must be a non-empty string")
    if not isinstance(sector, str) or not sector:
        raise ConfigurationError("sector must be a non-empty string")
    try:
        sector_bytes, person_bytes = sector.encode(), person_id.encode()  # UTF-8
    except UnicodeEncodeError:
        raise ConfigurationError("person_id and sector must be valid Unicode") from None
    length = len(sector_bytes).to_bytes(4)  # big-endian
    message = _PAIRWISE_CONTEXT + length + sector_bytes + person_bytes
    return b64url_encode(hmac.new(secret, message, hashlib.sha256).digest())


# --- issuing --------------------------------------------------------------------


class _SignerAlgorithm(jwt.algorithms.Algorithm):
    """A PyJWT algorithm whose signature comes from a govkit :class:`Signer`.

    The signer (a :class:`~govkit.keys.SigningKey`, an HSM, a KMS) is passed as the
    ``key`` of :meth:`jwt.PyJWS.encode`, and already returns JOSE signatures (raw
    ``r || s`` for ES256). Used only to sign: :meth:`verify` always says no.
    """

    def __init__(self, alg: str) -> None:
        self._alg = alg

    def prepare_key(self, key: Any) -> Signer:
        if not isinstance(key, Signer) or key.alg != self._alg:
            raise ConfigurationError("the signer does not match the token algorithm")
        return key

    def sign(self, msg: bytes, key: Any) -> bytes:
        signature = self.prepare_key(key).sign(msg)
        if not isinstance(signature, bytes) or not signature:
            raise ConfigurationError("the signer returned no signature bytes")
        return signature

    def verify(self, msg: bytes, key: Any, sig: bytes) -> bool:
        return False  # issuing only; TokenVerifier verifies

    @staticmethod
    def to_jwk(key_obj: Any, as_dict: bool = False) -> Any:
        raise NotImplementedError("govkit publishes keys with KeyRing.to_jwks()")

    @staticmethod
    def from_jwk(jwk: Any) -> Any:
        raise NotImplementedError("govkit loads keys with VerifyingKey.from_jwk()")


def _find_id_number(value: object, depth: int) -> bool:
    """Whether ``value`` (recursively, member names too) holds a resident ID number.

    ``depth`` is the nesting level ``value`` sits at if it is an object or array (the
    claims object is level 1). Raises ``TypeError``/``ValueError`` for what is not
    JSON, or nests deeper than :class:`TokenVerifier` accepts.
    """
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("not valid Unicode") from None
        return any(is_valid_resident_id(m.group().upper()) for m in _ID_CANDIDATE.finditer(value))
    if value is None or isinstance(value, bool):
        return False
    if isinstance(value, int):
        return _find_id_number(str(value), depth)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("not a finite number")
        return False
    if isinstance(value, (Mapping, list, tuple)) and depth > _MAX_CLAIM_DEPTH:
        raise ValueError(f"nested deeper than {_MAX_CLAIM_DEPTH} levels")
    if isinstance(value, Mapping):
        found = False
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError("member names must be strings")
            found = _find_id_number(key, depth) or _find_id_number(item, depth + 1) or found
        return found
    if isinstance(value, (list, tuple)):
        found = False
        for item in value:
            found = _find_id_number(item, depth + 1) or found
        return found
    raise TypeError(f"{type(value).__name__} is not a JSON value")


def _check_claim(name: str, value: object) -> None:
    """Refuse a claim that is not JSON or that holds a resident ID number.

    Messages and contexts name the claim, never its value (and not even the name
    when the name itself is an ID number).
    """
    shown = "(a claim name)" if _find_id_number(name, 1) else name
    try:
        found = _find_id_number(value, 2)
    except (TypeError, ValueError) as exc:
        raise ClaimNotAllowed(
            f"claim {shown!r} is not a JSON value govkit can sign ({exc})", claim=shown
        ) from None
    if found or shown != name:
        raise ClaimNotAllowed(
            f"claim {shown!r} holds a resident ID number; tokens carry pseudonyms "
            "(see pairwise_subject), never ID numbers",
            claim=shown,
        )


def _timestamp(value: datetime) -> int:
    return int(value.timestamp())


def _issued_fields(args: tuple[Any, ...], _: Mapping[str, Any], token: object) -> dict[str, object]:
    """Log fields of :meth:`TokenIssuer.issue`: the issuer and the signing key id."""
    issuer: TokenIssuer = args[0]
    return {"issuer": issuer.issuer, "kid": None if token is None else issuer._signer().kid}


def _verified_fields(
    args: tuple[Any, ...], _: Mapping[str, Any], found: object
) -> dict[str, object]:
    """Log fields of :meth:`TokenVerifier.verify` and ``inspect``: issuer, verifying key id."""
    claims = found.claims if isinstance(found, TokenReport) else found
    kid = claims.kid if isinstance(claims, IdentityClaims) else None
    return {"issuer": args[0]._issuer, "kid": kid}


class TokenIssuer:
    """Issues signed identity tokens (compact JWS) for one issuer.

    Args:
        key: what signs: a :class:`~govkit.keys.SigningKey`, any
            :class:`~govkit.keys.Signer` (HSM, KMS), or a :class:`~govkit.keys.KeyRing`,
            whose active signer is used at each :meth:`issue` (so rotation takes effect
            without a new issuer).
        issuer: the ``iss`` of every token, e.g. ``https://login.gov.example``.
        clock: the time source (default :class:`~govkit.clock.SystemClock`).
        audit: when given, each issued token is recorded as a ``token.issue`` event
            (before the token is returned: no audit entry, no token).
        max_ttl: the longest lifetime :meth:`issue` accepts.

    Each token's header is ``{"alg", "kid", "typ"}`` with ``typ`` ``at+jwt`` (RFC 9068)
    for access tokens and ``JWT`` for ID tokens.
    """

    def __init__(
        self,
        key: SigningKey | KeyRing | Signer,
        *,
        issuer: str,
        clock: Clock | None = None,
        audit: AuditLog | None = None,
        max_ttl: timedelta = timedelta(hours=12),
    ) -> None:
        if not isinstance(key, (KeyRing, Signer)):
            raise ConfigurationError("key must be a SigningKey, a KeyRing or a Signer")
        if not isinstance(issuer, str) or not issuer:
            raise ConfigurationError("issuer must be a non-empty string")
        if not isinstance(max_ttl, timedelta) or max_ttl <= timedelta(0):
            raise ConfigurationError("max_ttl must be a positive timedelta")
        if audit is not None and not callable(getattr(audit, "append", None)):
            raise ConfigurationError("audit must be an AuditLog")
        self._key = key
        self._issuer = issuer
        self._clock: Clock = clock or SystemClock()
        self._audit = audit
        self._max_ttl = max_ttl
        self._jws = jwt.PyJWS(algorithms=[])
        for alg in ALGORITHMS + OPTIONAL_ALGORITHMS:
            self._jws.register_algorithm(alg, _SignerAlgorithm(alg))

    @property
    def issuer(self) -> str:
        """The ``iss`` of every token this issuer makes."""
        return self._issuer

    def _signer(self) -> Signer:
        signer = self._key.active if isinstance(self._key, KeyRing) else self._key
        if signer.alg not in ALGORITHMS and signer.alg not in OPTIONAL_ALGORITHMS:
            raise ConfigurationError(
                "the signer's algorithm is not one govkit issues tokens with",
                alg=str(signer.alg)[:32],
            )
        if not isinstance(signer.kid, str) or not 0 < len(signer.kid) <= _MAX_KID:
            raise ConfigurationError("the signer's kid must be a string of 1 to 256 characters")
        return signer

    @observed("token.issue", "govkit.identity", _issued_fields)
    def issue(  # noqa: PLR0917 - the positional order is the published signature
        self,
        subject: str,
        audience: str,
        assurance: AssuranceLevel,
        ttl: timedelta,
        amr: Iterable[str] | None = None,
        scope: str | Iterable[str] | None = None,
        profile: Profile = "access",
        *,
        not_before: datetime | None = None,
        confirmation_jkt: str | None = None,
        **claims: Any,
    ) -> str:
        """Issue a token and return it (compact JWS, ASCII).

        Args:
            subject: ``sub``: a stable pseudonym (:func:`pairwise_subject`), never an
                ID number; it must contain a visible character (not only spaces,
                controls or zero-width characters).
            audience: ``aud``: the one service (resource server or client) the token
                is for.
            assurance: ``acr``: how the person was authenticated, written as the eIDAS
                URI.
            ttl: lifetime: ``exp = iat + ttl``; more than zero and at most ``max_ttl``.
            amr: ``amr``: authentication methods, RFC 8176 values (``["face"]``).
            scope: ``scope``: space-separated string or a sequence of scope tokens.
            profile: ``"access"`` (``typ: at+jwt``) or ``"id"`` (``typ: JWT``).
            not_before: ``nbf``, when the token becomes valid (default: now); it must
                come before ``exp``.
            confirmation_jkt: binds the token to a DPoP key: ``cnf: {"jkt": ...}``,
                the RFC 7638 thumbprint of the client's public key.
            **claims: further claims (JSON values).

        Raises:
            ConfigurationError: an argument is out of range (ttl, amr value, profile,
                a subject with no visible character...).
            ClaimNotAllowed: a claim is reserved, is not JSON, or holds a resident ID
                number (anywhere, including ``subject``). The message names the claim,
                never the value.
            NoActiveKey: the key ring has no active signer.
        """
        if not isinstance(subject, str) or not subject:
            raise ConfigurationError("subject must be a non-empty string")
        if not has_visible_character(subject):
            raise ConfigurationError(
                "subject must contain a visible character, not only spaces, controls "
                "or zero-width characters"
            )
        if not isinstance(audience, str) or not audience:
            raise ConfigurationError("audience must be a non-empty string")
        if not isinstance(assurance, AssuranceLevel):
            raise ConfigurationError("assurance must be an AssuranceLevel")
        if not isinstance(ttl, timedelta) or not timedelta(0) < ttl <= self._max_ttl:
            raise ConfigurationError(
                "ttl must be a timedelta above zero and at most max_ttl",
                max_ttl_seconds=int(self._max_ttl.total_seconds()),
            )
        if profile not in _TYP_WRITTEN:
            raise ConfigurationError("profile must be 'access' or 'id'")
        reserved = sorted(RESERVED_CLAIMS.intersection(claims))
        if reserved:
            raise ClaimNotAllowed(
                f"claims {reserved} are set by TokenIssuer; use its arguments instead",
                claims=reserved,
            )
        now = resolve_time(self._clock, None)
        issued_at = _timestamp(now)
        expires_at = _timestamp(now + ttl)
        nbf = issued_at
        if not_before is not None:
            nbf = _timestamp(require_aware(not_before, "not_before"))
            if nbf >= expires_at:
                raise ConfigurationError("not_before must come before the token expires")
        payload: dict[str, Any] = {
            "iss": self._issuer,
            "sub": subject,
            "aud": audience,
            "exp": expires_at,
            "iat": issued_at,
            "nbf": nbf,
            "jti": b64url_encode(secrets.token_bytes(16)),
            "acr": assurance.acr,
        }
        if amr is not None:
            payload["amr"] = _amr_list(amr)
        if scope is not None:
            payload["scope"] = _scope_string(scope)
        if confirmation_jkt is not None:
            payload["cnf"] = {"jkt": _check_jkt(confirmation_jkt)}
        payload.update(claims)
        for name, value in payload.items():
            _check_claim(name, value)
        signer = self._signer()
        token = self._jws.encode(
            canonical_json(payload),
            signer,  # type: ignore[arg-type]  # our _SignerAlgorithm takes a govkit Signer
            algorithm=signer.alg,
            headers={"kid": signer.kid, "typ": _TYP_WRITTEN[profile]},
        )
        if self._audit is not None:
            self._audit.append(
                AuditEvent(
                    occurred_at=now,
                    actor_id=self._issuer,
                    actor_type="service",
                    action="token.issue",
                    resource_type="identity_token",
                    resource_id=payload["jti"],
                    service=self._issuer,
                    details={
                        "profile": profile,
                        "assurance": assurance.label,
                        "audience": audience,
                    },
                    personal=frozenset(),
                )
            )
        return token

    def __repr__(self) -> str:
        return f"TokenIssuer(issuer={self._issuer!r})"


def _amr_list(amr: Iterable[str]) -> list[str]:
    values = [amr] if isinstance(amr, str) else list(amr)
    unknown = [v for v in values if not isinstance(v, str) or v not in AMR_VALUES]
    if unknown:
        raise ConfigurationError(
            "amr values must be RFC 8176 method names (see AMR_VALUES)",
            count=len(unknown),
        )
    return values


def _scope_string(scope: str | Iterable[str]) -> str:
    items = scope.split(" ") if isinstance(scope, str) else list(scope)
    for item in items:
        if (
            not isinstance(item, str)
            or not item
            or any(c in item for c in ' "\\')
            or not item.isascii()
            or not item.isprintable()
        ):
            raise ConfigurationError(
                "each scope must be a non-empty printable ASCII token without spaces"
            )
    return " ".join(items)


def _check_jkt(jkt: str) -> str:
    if isinstance(jkt, str):
        try:
            if len(b64url_decode(jkt)) == 32:
                return jkt
        except EncodingError:
            pass
    raise ConfigurationError(
        "confirmation_jkt must be an RFC 7638 SHA-256 thumbprint (43 base64url characters)"
    )


# --- the JWS layer --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Jws:
    """A compact JWS split and decoded, not yet verified."""

    text: str
    header: dict[str, Any]
    signing_input: bytes
    payload: bytes
    signature: bytes
    #: The header's base64url text (the key of :class:`TokenVerifier`'s header memo).
    encoded_header: str = ""
    #: The header came from the memo: it passed every header check before.
    known_header: bool = False


#: What :class:`TokenVerifier`'s header memo holds for a header text: the parsed header,
#: which passed the type, header and ``kid`` checks, its ``kid`` and its ``alg`` member.
_KnownHeader = tuple[dict[str, Any], str, object]

#: base64url to standard base64, with ``+``, ``/`` and ``=`` made ``!`` (refused): a
#: token is translated once, and its parts decoded from slices of the result.
_B64URL_STRICT: Final = B64URL_TRANSLATION


def _decode_part(part: bytes, what: str) -> bytes:
    """One token part, ASCII already translated by :data:`_B64URL_STRICT`, decoded strictly.

    :func:`govkit._encoding.b64url_decode_translated` (the one strict base64url
    decoder, so the refusals and messages of :func:`~govkit._encoding.b64url_decode`),
    its :class:`~govkit.errors.EncodingError` made ``token.malformed``.
    """
    try:
        return b64url_decode_translated(part, what)
    except EncodingError as exc:
        raise MalformedToken(f"token part is not strict base64url: {exc.message}") from None


def _check_size(token: object, max_bytes: int) -> None:
    """Refuse an over-long token before looking at its content."""
    if isinstance(token, (str, bytes)) and len(token) > max_bytes:
        raise TokenTooLarge("token exceeds the size limit", size=len(token), limit=max_bytes)


def _split(token: object, known: Mapping[str, _KnownHeader] | None = None) -> _Jws:
    """Three strict base64url parts of ASCII text, and a strict JSON object header.

    ``known`` maps header texts to headers that already passed every header check (a
    :class:`TokenVerifier`'s memo): such a header is neither decoded nor parsed again.
    """
    if isinstance(token, bytes):
        try:
            text = token.decode("ascii")
        except UnicodeDecodeError:
            raise MalformedToken("token is not ASCII") from None
    elif isinstance(token, str):
        if not token.isascii():
            raise MalformedToken("token is not ASCII")
        text = token
    else:
        raise MalformedToken("token must be str or bytes")
    if text.startswith("{"):
        raise MalformedToken("JWS JSON serialization is not accepted; use the compact form")
    parts = text.split(".")
    if len(parts) != 3:
        if len(parts) == 5:
            raise MalformedToken("token has five parts (a JWE); a signed JWS is required")
        raise MalformedToken("token must have exactly three dot-separated parts", parts=len(parts))
    encoded_header, encoded_payload, _ = parts
    entry = known.get(encoded_header) if known else None
    raw = text.encode("ascii")
    standard = raw.translate(_B64URL_STRICT)
    end_header = len(encoded_header)
    end_payload = end_header + 1 + len(encoded_payload)
    raw_header = b"" if entry is not None else _decode_part(standard[:end_header], "header")
    payload = _decode_part(standard[end_header + 1 : end_payload], "payload")
    signature = _decode_part(standard[end_payload + 1 :], "signature")
    signing_input = raw[:end_payload]
    if entry is not None:
        return _Jws(text, entry[0], signing_input, payload, signature, encoded_header, True)
    header = loads_object(
        raw_header, what="header", error=MalformedToken, allow_floats=True, max_depth=16
    )
    return _Jws(text, header, signing_input, payload, signature, encoded_header)


def _remember(memo: dict[str, _KnownHeader], encoded: str, entry: _KnownHeader) -> None:
    """Add a checked header to a verifier's memo, dropping the oldest entry when full."""
    if len(memo) >= _HEADER_MEMO:
        try:
            del memo[next(iter(memo))]
        except (KeyError, RuntimeError, StopIteration):  # another thread changed it
            memo.clear()
    memo[encoded] = entry


def _check_header(header: Mapping[str, Any]) -> None:
    """Refuse token-supplied key sources, ``crit`` extensions and ``b64``."""
    for name in FORBIDDEN_HEADERS:
        if name in header:
            raise ForbiddenHeader(
                f"header {name!r} names a key source; keys come only from configuration",
                header=name,
            )
    if "crit" in header:
        raise UnsupportedCritical("header lists 'crit' extensions; govkit understands none")
    if "b64" in header:
        raise MalformedToken("header 'b64' (RFC 7797 unencoded payload) is not accepted")


def _check_alg(alg: object, key: VerifyingKey) -> None:
    """The header ``alg`` must be exactly the key's algorithm (``none``, HMAC: never)."""
    if not isinstance(alg, str) or alg != key.alg:
        shown = alg if isinstance(alg, str) and alg in _JWS_ALGORITHM_NAMES else "(unregistered)"
        raise TokenAlgorithmRejected(
            f"header alg is not the key's algorithm {key.alg}",
            alg=shown,
            expected=key.alg,
            kid=key.kid,
        )


def _check_signature(signature: bytes, signing_input: bytes, key: VerifyingKey) -> None:
    """The signature must verify over the ASCII signing input, with the key's algorithm."""
    try:
        key.verify(signature, signing_input)
    except InvalidSignature:
        raise TokenSignatureInvalid("token signature does not verify", kid=key.kid) from None


def _verify_jws(
    token: str | bytes, key: VerifyingKey, *, max_token_bytes: int = 8192
) -> tuple[dict[str, Any], bytes]:
    """Verify the JWS layer only (no ``typ``, ``kid`` or claims): return header and payload.

    The steps :meth:`TokenVerifier.verify` runs around the key lookup, for testing the
    signature layer (Wycheproof) on its own.
    """
    _check_size(token, max_token_bytes)
    jws = _split(token)
    _check_header(jws.header)
    _check_alg(jws.header.get("alg"), key)
    _check_signature(jws.signature, jws.signing_input, key)
    return jws.header, jws.payload


# --- verifying ------------------------------------------------------------------


#: One check of a :class:`TokenReport` (the name before :class:`govkit.report.Check`).
TokenCheck = Check


@dataclass(frozen=True, slots=True)
class TokenReport(Report):
    """What :meth:`TokenVerifier.inspect` found: the checks run, in order, and the claims.

    Checks stop at the first failure, which is the last check. ``revocation`` is not
    performed when the verifier has no revocation store. ``claims`` is set only when
    the token verified. JSON (:meth:`~govkit.report.Report.to_dict`): ``valid``,
    ``kind`` (``token``), ``code``, ``checks`` and ``claims`` (or ``null``).
    """

    checks: tuple[Check, ...]
    claims: IdentityClaims | None = None
    kind: str = field(default="token", init=False)

    def json_members(self) -> dict[str, Any]:
        """``claims``: the verified claims, or ``None``."""
        return {"claims": self.claims.to_dict() if self.claims is not None else None}

    def summary(self) -> tuple[str, ...]:
        """The subject, assurance level and expiry of a verified token."""
        c = self.claims
        if c is None:
            return ()
        return self.summary_in("en")

    def summary_in(self, lang: str) -> tuple[str, ...]:
        """:meth:`summary` in ``lang``."""
        c = self.claims
        if c is None:
            return ()
        return (
            summary_line(
                "summary.token",
                lang,
                subject=c.subject,
                assurance=c.assurance.name.lower(),
                expires=c.expires_at.isoformat(),
            ),
        )


class _Trace:
    """Records passed checks for :meth:`TokenVerifier.inspect`; ``step`` names the current one.

    A check's detail is a message of the catalogue (:data:`govkit._messages.DETAILS`),
    so the command can say it in Chinese; its values come positionally, in the order of
    the message's placeholders, and are filled in only here (never by ``verify``).
    """

    __slots__ = ("checks", "step")

    def __init__(self) -> None:
        self.checks: list[Check] = []
        self.step = "size"

    def passed(self, key: str, *args: object) -> None:
        """Record the current step as passed with the detail ``key`` filled with ``args``."""
        self.checks.append(_described(self.step, True, key, *args))

    def not_performed(self, key: str) -> None:
        """Record the current step as not performed (never a pass)."""
        self.checks.append(_described(self.step, None, key))


class _NoTrace(_Trace):
    """The same interface for :meth:`TokenVerifier.verify`, recording nothing."""

    __slots__ = ()

    def passed(self, key: str, *args: object) -> None:
        """Do nothing: :meth:`TokenVerifier.verify` reports by raising."""

    def not_performed(self, key: str) -> None:
        """Do nothing: :meth:`TokenVerifier.verify` reports by raising."""


def _placeholders(key: str) -> tuple[str, ...]:
    """The placeholders of the detail ``key``'s English message, in order (worked out
    each time: only :meth:`TokenVerifier.inspect` records details; house rule 5)."""
    return tuple(n for _, n, _, _ in string.Formatter().parse(DETAILS[key][0]) if n)


def _described(step: str, ok: bool | None, key: str, *args: object) -> Check:
    """The check ``step`` with the detail ``key`` filled with ``args`` (a float shown as
    whole seconds, as ``%d`` did), as :meth:`Check.described` makes it."""
    names = _placeholders(key)
    if not names and not args:
        return Check(step, ok, None, DETAILS[key][0], key)
    shown = tuple(
        (name, str(int(value) if isinstance(value, float) else value))
        for name, value in zip(names, args, strict=True)
    )
    return Check(step, ok, None, DETAILS[key][0].format_map(dict(shown)), key, shown)


def _optional_date(claims: Mapping[str, Any], name: str) -> int | None:
    if name not in claims:
        return None
    value = claims[name]
    if type(value) is not int or not 0 <= value <= _MAX_NUMERIC_DATE:
        raise MissingClaim(
            f"claim {name!r} must be an integer NumericDate (seconds since 1970)", claim=name
        )
    return value


def _required_date(claims: Mapping[str, Any], name: str) -> int:
    value = _optional_date(claims, name)
    if value is None:
        raise MissingClaim(f"claim {name!r} is required", claim=name)
    return value


def _string(claims: Mapping[str, Any], name: str, *, max_length: int | None = None) -> str:
    if name not in claims:
        raise MissingClaim(f"claim {name!r} is required", claim=name)
    value = claims[name]
    if not isinstance(value, str) or not value:
        raise MissingClaim(f"claim {name!r} must be a non-empty string", claim=name)
    if max_length is not None and len(value) > max_length:
        raise MissingClaim(f"claim {name!r} must be at most {max_length} characters", claim=name)
    return value


def _subject(claims: Mapping[str, Any]) -> str:
    """``sub``: a non-empty string with a visible character (not only blanks or controls)."""
    sub = _string(claims, "sub")
    if not has_visible_character(sub):
        raise MissingClaim("claim 'sub' must contain a visible character", claim="sub")
    return sub


_from_timestamp: Final = datetime.fromtimestamp


def _utc(seconds: int) -> datetime:
    return _from_timestamp(seconds, UTC)


class TokenVerifier:
    """Verifies identity tokens for one service, offline, against configured keys.

    Args:
        keys: where verifying keys come from (:class:`~govkit.keys.KeyRing`,
            :class:`~govkit.identity.JwksSource`); never from the token.
        issuer: the exact ``iss`` required.
        audience: this service's identifier; ``aud`` must be it, or a one-element list
            of it.
        profile: ``"access"`` requires header ``typ`` ``at+jwt`` (or
            ``application/at+jwt``); ``"id"`` requires ``JWT``. Case-insensitive.
        min_assurance: refuse tokens whose ``acr`` is below this level
            (:class:`~govkit.errors.InsufficientAssurance` names the level to step up
            to).
        leeway: clock skew allowed on ``exp``, ``nbf`` and ``iat`` (at most 5 minutes).
        max_token_bytes: longer tokens are refused before any parsing.
        clock: the time source; read once per verification.
        store: a revocation store (``is_revoked(jti, now=)``, ``subject_not_before(sub)``),
            asked as of the verification time.
        dpop: a DPoP proof verifier, needed to accept DPoP-bound tokens (``cnf.jkt``).

    Raises:
        ConfigurationError: an argument cannot work.
    """

    def __init__(
        self,
        keys: KeySource,
        *,
        issuer: str,
        audience: str,
        profile: Profile = "access",
        min_assurance: AssuranceLevel | None = None,
        leeway: timedelta = timedelta(seconds=30),
        max_token_bytes: int = 8192,
        clock: Clock | None = None,
        store: RevocationStore | None = None,
        dpop: DPoPVerifier | None = None,
    ) -> None:
        if not isinstance(keys, KeySource):
            raise ConfigurationError("keys must have get(kid, *, at=) (a KeyRing or JwksSource)")
        if not isinstance(issuer, str) or not issuer:
            raise ConfigurationError("issuer must be a non-empty string")
        if not isinstance(audience, str) or not audience:
            raise ConfigurationError("audience must be a non-empty string")
        if profile not in _TYP_ACCEPTED:
            raise ConfigurationError("profile must be 'access' or 'id'")
        if min_assurance is not None and not isinstance(min_assurance, AssuranceLevel):
            raise ConfigurationError("min_assurance must be an AssuranceLevel or None")
        if not isinstance(leeway, timedelta) or not timedelta(0) <= leeway <= _MAX_LEEWAY:
            raise ConfigurationError("leeway must be a timedelta from 0 to 5 minutes")
        if (
            not isinstance(max_token_bytes, int)
            or isinstance(max_token_bytes, bool)
            or max_token_bytes < 64
        ):
            raise ConfigurationError("max_token_bytes must be an integer of at least 64")
        if store is not None and not (
            callable(getattr(store, "is_revoked", None))
            and callable(getattr(store, "subject_not_before", None))
        ):
            raise ConfigurationError("store must have is_revoked() and subject_not_before()")
        if dpop is not None and not callable(getattr(dpop, "verify", None)):
            raise ConfigurationError("dpop must be a DPoPVerifier")
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._profile: Profile = profile
        self._typs = _TYP_ACCEPTED[profile]
        self._min_assurance = min_assurance
        self._leeway = leeway.total_seconds()
        self._max_bytes = max_token_bytes
        self._clock: Clock = clock or SystemClock()
        self._store = store
        self._dpop = dpop
        # Set by _ProviderJwtVerifier only (an OpenID provider's ID and logout tokens).
        self._typ_optional = False
        self._algorithms: frozenset[str] | None = None
        # Header text -> (header, kid, alg), for headers of tokens that verified (so never
        # filled by unauthenticated input), at most _HEADER_MEMO of them: an issuer signs
        # every token with one of a few identical headers, decoded and checked once here.
        # Only what the header alone decides is kept: the key is looked up every time.
        self._headers: dict[str, _KnownHeader] = {}

    @observed("token.verify", "govkit.identity", _verified_fields)
    def verify(
        self,
        token: str | bytes,
        *,
        at: datetime | None = None,
        dpop_proof: str | None = None,
        htm: str | None = None,
        htu: str | None = None,
    ) -> IdentityClaims:
        """Verify ``token`` and return its claims.

        Args:
            token: the compact JWS (from ``Authorization: Bearer`` or ``DPoP``).
            at: verify as of this time (default: the clock, read once).
            dpop_proof: the ``DPoP`` request header, for DPoP-bound tokens.
            htm, htu: the request's method and URL, which the proof must name.

        Raises:
            TokenError: the token is not valid; the subclass and its ``code`` say why
                (see :mod:`govkit.errors`). Messages and contexts hold claim names and
                key ids only, never token content.
            ConfigurationError: a bound token arrived but no ``dpop`` verifier (or no
                ``htm``/``htu``) was given.
            NaiveDatetimeError: ``at`` or the clock's time is naive.
        """
        # _run's checks in _run's order, with the same errors: the JWS through the header
        # memo when it can, the claims in one pass when they have the common shape.
        when = resolve_time(self._clock, at)  # the one clock read of this verification
        payload, key, text = self._verified_jws(token, when)
        claims = loads_object(
            payload, what="claims", error=MalformedToken, allow_floats=True, max_depth=16
        )
        now = when.timestamp()
        result = self._common_claims(claims, key, now)
        if result is None:  # not the common shape: each check in turn says what is wrong
            trace = _NoTrace()
            result = self._check_claims(claims, key, self._check_times(claims, now, trace), trace)
        # Without a store, a key binding or a proof sent, both pass without a look.
        if self._store is not None or result.confirmation_jkt is not None or dpop_proof is not None:
            trace = _NoTrace()
            self._check_revocation(result, when, trace)
            self._check_binding(
                result, text, when=when, dpop_proof=dpop_proof, htm=htm, htu=htu, trace=trace
            )
        return result

    async def averify(
        self,
        token: str | bytes,
        *,
        at: datetime | None = None,
        dpop_proof: str | None = None,
        htm: str | None = None,
        htu: str | None = None,
    ) -> IdentityClaims:
        """:meth:`verify` for asyncio: same arguments, result and errors.

        The whole verification runs on govkit's bounded thread pool
        (:func:`govkit.stores.configure_offload`), because it may fetch the JWKS and
        ask the revocation and DPoP replay stores; the event loop is never blocked.
        The time is read when the call starts on the pool. Cancelling the await does
        not stop a verification that has started (a DPoP proof it accepted stays
        used).
        """
        return await offload(self.verify, token, at=at, dpop_proof=dpop_proof, htm=htm, htu=htu)

    @observed("token.inspect", "govkit.identity", _verified_fields)
    def inspect(
        self,
        token: str | bytes,
        *,
        at: datetime | None = None,
        dpop_proof: str | None = None,
        htm: str | None = None,
        htu: str | None = None,
    ) -> TokenReport:
        """Run :meth:`verify`'s checks and report each one instead of raising.

        A token that fails gives a report with ``valid`` false and the failed check last.
        Only errors that are not about the token propagate: misconfiguration, a naive
        ``at``, an unreachable JWKS (:class:`~govkit.errors.JwksError`) or a failing
        store.
        """
        trace = _Trace()
        try:
            claims = self._run(token, at=at, dpop_proof=dpop_proof, htm=htm, htu=htu, trace=trace)
        except GovkitError as exc:
            if not isinstance(exc, VerificationError):
                raise
            trace.checks.append(Check(trace.step, False, exc.code, exc.message))
            return TokenReport(tuple(trace.checks), None)
        return TokenReport(tuple(trace.checks), claims)

    async def ainspect(
        self,
        token: str | bytes,
        *,
        at: datetime | None = None,
        dpop_proof: str | None = None,
        htm: str | None = None,
        htu: str | None = None,
    ) -> TokenReport:
        """:meth:`inspect` for asyncio, on govkit's thread pool (see :meth:`averify`)."""
        return await offload(self.inspect, token, at=at, dpop_proof=dpop_proof, htm=htm, htu=htu)

    def _run(
        self,
        token: object,
        *,
        at: datetime | None,
        dpop_proof: str | None,
        htm: str | None,
        htu: str | None,
        trace: _Trace,
    ) -> IdentityClaims:
        when = resolve_time(self._clock, at)  # the one clock read of this verification
        jws, key = self._check_jws(token, when, trace)
        trace.step = "claims"
        claims = loads_object(
            jws.payload, what="claims", error=MalformedToken, allow_floats=True, max_depth=16
        )
        trace.passed("token.claims")
        times = self._check_times(claims, when.timestamp(), trace)
        result = self._check_claims(claims, key, times, trace)
        self._check_revocation(result, when, trace)
        self._check_binding(
            result, jws.text, when=when, dpop_proof=dpop_proof, htm=htm, htu=htu, trace=trace
        )
        return result

    def _check_jws(self, token: object, when: datetime, trace: _Trace) -> tuple[_Jws, VerifyingKey]:
        """Size, structure, type, header, key lookup, algorithm, signature."""
        trace.step = "size"
        _check_size(token, self._max_bytes)
        trace.passed("token.size", self._max_bytes)

        trace.step = "structure"
        jws = _split(token, self._headers)
        header = jws.header
        trace.passed("token.structure")

        trace.step = "type"
        if not jws.known_header:  # else this header passed these checks before
            typ = header.get("typ")
            if (typ is not None or not self._typ_optional) and (
                not isinstance(typ, str) or typ.lower() not in self._typs
            ):
                raise WrongTokenType(
                    f"header typ is not the {self._profile} token type", profile=self._profile
                )
        trace.passed("token.type", self._profile)

        trace.step = "header"
        if jws.known_header:  # the memo holds only a header that passed these checks
            kid = header["kid"]
        else:
            _check_header(header)
            kid = header.get("kid")
            if not isinstance(kid, str) or not 0 < len(kid) <= _MAX_KID:
                raise MalformedToken("header kid must be a string of 1 to 256 characters")
        trace.passed("token.header")

        alg = header.get("alg")
        key = self._signed_by(kid, alg, jws.signature, jws.signing_input, when, trace)
        if not jws.known_header:
            _remember(self._headers, jws.encoded_header, (header, kid, alg))
        return jws, key

    def _signed_by(  # noqa: PLR0917 - the parts of one token, passed on
        self,
        kid: str,
        alg: object,
        signature: bytes,
        signing_input: bytes,
        when: datetime,
        trace: _Trace,
    ) -> VerifyingKey:
        """Key lookup (every time: the key set may change), algorithm and signature."""
        trace.step = "key"
        key = self._key(kid, when)
        trace.passed("token.key", key.kid, key.alg)

        trace.step = "algorithm"
        self._check_key_alg(alg, key)
        trace.passed("token.algorithm", key.alg)

        trace.step = "signature"
        _check_signature(signature, signing_input, key)
        trace.passed("token.signature")
        return key

    def _key(self, kid: str, when: datetime) -> VerifyingKey:
        """The trusted key named ``kid`` at ``when``, from the key source."""
        try:
            return self._keys.get(kid, at=when)
        except (UnknownKey, KeyNotValidAt):
            raise TokenKeyUnknown("no trusted key with the token's kid", kid=kid) from None

    def _check_key_alg(self, alg: object, key: VerifyingKey) -> None:
        """The header ``alg`` is the key's, and the key's is one this verifier accepts."""
        _check_alg(alg, key)
        if self._algorithms is not None and key.alg not in self._algorithms:
            raise TokenAlgorithmRejected(
                f"the key's algorithm {key.alg} is not one the issuer announced",
                alg=key.alg,
                kid=key.kid,
            )

    def _verified_jws(self, token: object, when: datetime) -> tuple[bytes, VerifyingKey, str]:
        """:meth:`_check_jws` for :meth:`verify`: the payload, the key and the token text.

        A text token within the size limit whose header this verifier has verified
        before (the memo) has only its payload and signature decoded, then its key
        looked up, its algorithm and its signature checked, as :meth:`_check_jws` does
        (same order, same errors); any other token goes through :meth:`_check_jws`.
        """
        if type(token) is str and len(token) <= self._max_bytes:
            signed, _, encoded_signature = token.rpartition(".")
            header, dot, encoded_payload = signed.partition(".")
            # Two dots, three parts (a known header is base64url: no "{", no dot).
            if dot and header and "." not in encoded_payload and token.isascii():
                entry = self._headers.get(header)
                if entry is not None:
                    try:  # each part translated to standard base64, then strictly decoded
                        payload = b64url_decode_translated(
                            encoded_payload.encode("ascii").translate(_B64URL_STRICT), "payload"
                        )
                        signature = b64url_decode_translated(
                            encoded_signature.encode("ascii").translate(_B64URL_STRICT),
                            "signature",
                        )
                    except EncodingError as exc:
                        raise MalformedToken(
                            f"token part is not strict base64url: {exc.message}"
                        ) from None
                    _, kid, alg = entry
                    key = self._key(kid, when)
                    if alg != key.alg or self._algorithms is not None:
                        self._check_key_alg(alg, key)
                    try:
                        key.verify(signature, signed.encode("ascii"))
                    except InvalidSignature:
                        raise TokenSignatureInvalid(
                            "token signature does not verify", kid=key.kid
                        ) from None
                    return payload, key, token
        jws, key = self._check_jws(token, when, _NoTrace())
        return jws.payload, key, jws.text

    def _check_times(
        self, claims: Mapping[str, Any], now: float, trace: _Trace
    ) -> tuple[int, int | None, int]:
        """``exp`` (required), ``nbf`` (optional), ``iat`` (required), with leeway."""
        leeway = self._leeway
        trace.step = "expiry"
        exp = _required_date(claims, "exp")
        if now >= exp + leeway:
            raise TokenExpired("the token has expired", claim="exp")
        trace.passed("token.expiry", exp - now)

        trace.step = "not_before"
        nbf = _optional_date(claims, "nbf")
        if nbf is not None and nbf > now + leeway:
            raise TokenNotYetValid("the token is not valid yet", claim="nbf")
        trace.passed("token.nbf_passed" if nbf is not None else "token.no_nbf")

        trace.step = "issued_at"
        iat = _required_date(claims, "iat")
        if iat > now + leeway:
            raise TokenNotYetValid("the token was issued in the future", claim="iat")
        trace.passed("token.issued_at")
        return exp, nbf, iat

    def _check_claims(
        self,
        claims: Mapping[str, Any],
        key: VerifyingKey,
        times: tuple[int, int | None, int],
        trace: _Trace,
    ) -> IdentityClaims:
        """Every claim other than the times; builds the :class:`IdentityClaims`."""
        trace.step = "issuer"
        if not isinstance(claims.get("iss"), str):
            raise MissingClaim("claim 'iss' is required and must be a string", claim="iss")
        if claims["iss"] != self._issuer:
            raise WrongIssuer("claim 'iss' is not the expected issuer", claim="iss")
        trace.passed("token.issuer")

        trace.step = "audience"
        aud = claims.get("aud")
        if isinstance(aud, list):
            if aud != [self._audience]:
                raise WrongAudience("claim 'aud' must list this audience and no other", claim="aud")
        elif not isinstance(aud, str):
            raise MissingClaim(
                "claim 'aud' is required (a string or a one-element list)", claim="aud"
            )
        elif aud != self._audience:
            raise WrongAudience("claim 'aud' is not this audience", claim="aud")
        trace.passed("token.audience")

        trace.step = "subject"
        sub = _subject(claims)
        trace.passed("token.subject")

        trace.step = "token_id"
        jti = _string(claims, "jti", max_length=_MAX_JTI)
        trace.passed("token.token_id")

        trace.step = "assurance"
        if "acr" not in claims:
            raise MissingClaim("claim 'acr' is required", claim="acr")
        level = AssuranceLevel.from_acr(claims["acr"])
        if self._min_assurance is not None and level < self._min_assurance:
            raise InsufficientAssurance(
                f"assurance {level.label} is below the required {self._min_assurance.label}",
                required=self._min_assurance.label,
                claim="acr",
            )
        trace.passed("token.assurance", level.name)

        trace.step = "amr"
        amr = claims.get("amr", [])
        if not isinstance(amr, list) or not all(isinstance(m, str) for m in amr):
            raise MissingClaim("claim 'amr' must be a list of strings", claim="amr")
        trace.passed("token.amr", len(amr))

        trace.step = "scope"
        scope = claims.get("scope", "")
        if not isinstance(scope, str):
            raise MissingClaim("claim 'scope' must be a space-separated string", claim="scope")
        trace.passed("token.scope" if "scope" in claims else "token.no_scope")

        trace.step = "confirmation"
        jkt: str | None = None
        if "cnf" in claims:
            cnf = claims["cnf"]
            if not isinstance(cnf, dict) or not isinstance(cnf.get("jkt"), str) or not cnf["jkt"]:
                raise MissingClaim("claim 'cnf' must be an object with a 'jkt' string", claim="cnf")
            jkt = cnf["jkt"]
        trace.passed("token.dpop_bound" if jkt else "token.no_cnf")

        exp, nbf, iat = times
        issued_at = _utc(iat)
        return IdentityClaims._verified(  # every field was checked above
            self._issuer,
            sub,
            self._audience,
            level,
            tuple(amr),
            tuple(filter(None, scope.split(" "))),  # split on spaces, none empty
            issued_at,
            issued_at if nbf is None or nbf == iat else _utc(nbf),
            _utc(exp),
            jti,
            self._profile,
            key.kid,
            jkt,
            _NO_EXTRA
            if claims.keys() <= RESERVED_CLAIMS
            else MappingProxyType({k: v for k, v in claims.items() if k not in RESERVED_CLAIMS}),
        )

    def _common_claims(
        self, claims: dict[str, Any], key: VerifyingKey, now: float
    ) -> IdentityClaims | None:
        """:meth:`_check_times` and :meth:`_check_claims` in one pass, for the usual claims.

        Returns the claims those two would return, or ``None`` when any claim is not of
        the usual shape (wrong, missing, or merely unusual, such as a short ``acr``
        name): then they run and raise the error of the first check that fails. Every
        condition below implies theirs, so nothing is accepted here that they refuse.
        """
        try:
            exp, iat, iss, aud, sub, jti, acr = _REQUIRED_CLAIMS(claims)
        except KeyError:
            return None
        get = claims.get
        nbf = get("nbf", iat)  # no nbf: the same checks as iat's
        leeway = self._leeway
        limit = now + leeway
        audience = self._audience
        if not (
            type(exp) is int
            and type(iat) is int
            and type(nbf) is int
            and 0 <= exp <= _MAX_NUMERIC_DATE
            and 0 <= iat <= _MAX_NUMERIC_DATE
            and 0 <= nbf <= _MAX_NUMERIC_DATE
            and now < exp + leeway
            and nbf <= limit
            and iat <= limit
            and iss == self._issuer
            and (aud == audience or aud == [audience])  # noqa: PLR1714 - no list unless needed
            and type(sub) is str
            and sub
            and ("!" <= sub[0] <= "~" or has_visible_character(sub))
            and type(jti) is str
            and 0 < len(jti) <= _MAX_JTI
            and type(acr) is str
        ):
            return None
        level = _LEVEL_OF_ACR.get(acr)
        if level is None or (self._min_assurance is not None and level < self._min_assurance):
            return None
        amr = get("amr", _NO_AMR)
        scope = get("scope", "")
        if type(amr) is not list or type(scope) is not str:
            return None
        amr_values = tuple(amr)
        for method in amr_values:
            if type(method) is not str:
                return None
        jkt = None
        if "cnf" in claims:
            cnf = claims["cnf"]
            if type(cnf) is not dict:
                return None
            jkt = cnf.get("jkt")
            if type(jkt) is not str or not jkt:
                return None
        # The reserved names present: the seven of _REQUIRED_CLAIMS and the optional ones.
        reserved = 7 + ("nbf" in claims) + (amr is not _NO_AMR) + ("scope" in claims)
        if jkt is not None:
            reserved += 1
        issued_at = _from_timestamp(iat, UTC)
        return IdentityClaims._verified(
            self._issuer,
            sub,
            self._audience,
            level,
            amr_values,
            (scope,)  # one scope, or as _check_claims splits them:
            if scope and " " not in scope
            else tuple(filter(None, scope.split(" "))),
            issued_at,
            issued_at if nbf == iat else _from_timestamp(nbf, UTC),
            _from_timestamp(exp, UTC),
            jti,
            self._profile,
            key.kid,
            jkt,
            _NO_EXTRA
            if len(claims) == reserved  # claims.keys() <= RESERVED_CLAIMS, counted
            else MappingProxyType({k: v for k, v in claims.items() if k not in RESERVED_CLAIMS}),
        )

    def _check_revocation(self, claims: IdentityClaims, when: datetime, trace: _Trace) -> None:
        """The token's ``jti``, and its subject since a cutoff, must not be revoked.

        The store is asked as of ``when``, the verification time: it reads no clock.
        """
        trace.step = "revocation"
        if self._store is None:
            trace.not_performed("token.no_revocation_store")
            return
        if self._store.is_revoked(claims.token_id, now=when):
            raise TokenRevoked("the token has been revoked", claim="jti")
        cutoff = self._store.subject_not_before(claims.subject)
        if cutoff is not None and require_aware(cutoff, "subject_not_before") > claims.issued_at:
            raise TokenRevoked("the subject's tokens issued before a cutoff are revoked")
        trace.passed("token.not_revoked")

    def _check_binding(
        self,
        claims: IdentityClaims,
        token: str,
        *,
        when: datetime,
        dpop_proof: str | None,
        htm: str | None,
        htu: str | None,
        trace: _Trace,
    ) -> None:
        """A ``cnf.jkt`` token needs a DPoP proof by that key; a bearer token needs none."""
        trace.step = "dpop"
        jkt = claims.confirmation_jkt
        if jkt is None:
            if dpop_proof is not None:
                raise DPoPBindingMismatch("a DPoP proof was sent with a token not bound to a key")
            trace.passed("token.bearer")
            return
        if dpop_proof is None:
            raise DPoPBindingMismatch(
                "the token is bound to a DPoP key but was sent as a bearer token"
            )
        if self._dpop is None:
            raise ConfigurationError("a DPoP-bound token needs TokenVerifier(dpop=...)")
        if htm is None or htu is None:
            raise ConfigurationError("verifying a DPoP proof needs htm= and htu=")
        proof = self._dpop.verify(dpop_proof, htm=htm, htu=htu, access_token=token, at=when)
        if proof.jkt != jkt:
            raise DPoPBindingMismatch("the DPoP proof key is not the key the token is bound to")
        trace.passed("token.dpop_key")

    def __repr__(self) -> str:
        return (
            f"TokenVerifier(issuer={self._issuer!r}, audience={self._audience!r}, "
            f"profile={self._profile!r})"
        )


class _ProviderJwtVerifier(TokenVerifier):
    """The JWS, time and issuer checks of :class:`TokenVerifier`, for an OpenID provider.

    Used by :mod:`govkit.identity.oidc` for ID tokens and back-channel logout tokens,
    whose claims follow OpenID Connect rather than govkit's own profile (no ``jti`` or
    eIDAS ``acr`` required; ``aud`` may list several audiences): the same size,
    structure, header (no token-supplied keys, no ``crit``), key lookup, algorithm
    (the key's own, and one of ``algorithms``: never ``none`` or HMAC), signature,
    ``exp``/``nbf``/``iat`` and exact ``iss`` checks, then the caller checks the rest.

    ``typs`` are the accepted header ``typ`` values (lower-case); ``typ_optional``
    accepts a header without ``typ`` (ID tokens of most providers carry none).
    """

    def __init__(
        self,
        keys: KeySource,
        *,
        issuer: str,
        audience: str,
        typs: frozenset[str],
        typ_optional: bool,
        algorithms: Iterable[str],
        leeway: timedelta,
        max_token_bytes: int = 16384,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(
            keys,
            issuer=issuer,
            audience=audience,
            profile="id",
            leeway=leeway,
            max_token_bytes=max_token_bytes,
            clock=clock,
        )
        allowed = frozenset(algorithms) & frozenset(ALGORITHMS + OPTIONAL_ALGORITHMS)
        if not allowed:
            raise ConfigurationError("the provider announces no signing algorithm govkit accepts")
        self._typs = typs
        self._typ_optional = typ_optional
        self._algorithms = allowed

    def verify_jwt(
        self, token: str | bytes, *, at: datetime | None = None
    ) -> tuple[dict[str, Any], VerifyingKey, datetime]:
        """Check the JWS, the times and ``iss``; return the claims, the key and the time used.

        Raises:
            TokenError: a check failed (the subclass and ``code`` say which).
        """
        when = resolve_time(self._clock, at)
        trace = _NoTrace()
        payload, key, _ = self._verified_jws(token, when)
        claims = loads_object(
            payload, what="claims", error=MalformedToken, allow_floats=True, max_depth=16
        )
        self._check_times(claims, when.timestamp(), trace)
        if not isinstance(claims.get("iss"), str):
            raise MissingClaim("claim 'iss' is required and must be a string", claim="iss")
        if claims["iss"] != self._issuer:
            raise WrongIssuer("claim 'iss' is not the expected issuer", claim="iss")
        return claims, key, when
