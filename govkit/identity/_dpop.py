"""DPoP proofs (RFC 9449): create them as a client, verify them as a resource server.

>>> from datetime import datetime, timezone
>>> from govkit.identity._dpop import DPoPVerifier, create_dpop_proof
>>> from govkit.stores import MemoryReplayStore
>>> from govkit.keys import SigningKey
>>> from govkit.testing import FixedClock
>>> clock = FixedClock(datetime(2026, 1, 1, tzinfo=timezone.utc))
>>> key = SigningKey.generate("ES256")
>>> proof = create_dpop_proof(key, htm="GET", htu="https://api.example.gov/licences?page=2",
...                           access_token="at-123", clock=clock)
>>> verifier = DPoPVerifier(replay_store=MemoryReplayStore(), clock=clock)
>>> checked = verifier.verify(proof, htm="GET", htu="https://API.example.gov:443/licences",
...                           access_token="at-123")
>>> checked.jkt == key.kid, checked.htu
(True, 'https://api.example.gov/licences')
>>> verifier.verify(proof, htm="GET", htu="https://api.example.gov/licences",
...                 access_token="at-123")
Traceback (most recent call last):
    ...
govkit.errors.TokenReplayed: the DPoP proof was already used

A DPoP proof is a JWS signed by a key the client holds, carrying that public key
in its ``jwk`` header. :meth:`DPoPVerifier.verify` checks everything RFC 9449
section 4.3 asks for, strictly:

* a compact JWS of at most ``max_proof_bytes``, strict base64url, strict JSON
  (no duplicate members), ``typ`` exactly ``dpop+jwt``, no ``crit``;
* ``alg`` in ``allowed_algs`` (never ``none`` or an HMAC algorithm);
* a ``jwk`` header holding a public key only, of the type ``alg`` needs, encoded
  canonically (so it has exactly one RFC 7638 thumbprint);
* a valid signature by that key;
* ``htm`` equal to the request method (case-sensitive) and ``htu`` equal to the
  request URL after normalisation (scheme and host lower-case, default port
  removed, percent-encoding and dot segments normalised, query and fragment
  dropped);
* ``iat`` within ``[now - max_age - leeway, now + leeway]``;
* ``jti`` present (at most 256 characters) and never seen before for this key, in
  the :class:`~govkit.stores.ReplayStore` (asked with the verification
  time, so a verifier on a test clock or ``at=`` and its store agree on what has
  expired; the entry lasts until a second after the proof's ``iat`` window closes);
* ``ath`` equal to the hash of the access token, when one is given;
* a ``nonce`` accepted by ``require_nonce``, when the server uses nonces.

Every failure raises :class:`~govkit.errors.DPoPInvalid` (``dpop.invalid``) with a
``reason`` in its context (``size``, ``malformed``, ``typ``, ``crit``, ``alg``,
``jwk``, ``signature``, ``htm``, ``htu``, ``iat``, ``jti``, ``ath``, ``nonce``),
except a replay: :class:`~govkit.errors.TokenReplayed` (``token.replayed``). A
server answers ``reason == "nonce"`` with ``error="use_dpop_nonce"`` and a fresh
``DPoP-Nonce`` header. Binding the proof key to the access token (``cnf.jkt``)
is the token verifier's job: compare it with :attr:`DPoPProof.jkt`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import urlsplit

from govkit._aio import offload
from govkit._encoding import b64url_decode, b64url_encode
from govkit._json import loads_object
from govkit.clock import LAST_UNIX_SECOND, Clock, SystemClock, resolve_time
from govkit.errors import (
    ConfigurationError,
    DPoPInvalid,
    EncodingError,
    KeysError,
    MalformedToken,
    TokenReplayed,
)
from govkit.identity._jws import sign_compact
from govkit.keys import ALGORITHMS, SigningKey, VerifyingKey, jwk_thumbprint
from govkit.observability import observed
from govkit.stores import ReplayStore

__all__ = ["DPoPProof", "DPoPVerifier", "create_dpop_proof"]

# The ``typ`` header of every DPoP proof (RFC 9449 section 4.2).
_TYP: Final = "dpop+jwt"

_MAX_JTI: Final = 256
_PUBLIC_MEMBERS: Final = {
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
    "RSA": ("e", "kty", "n"),
}
_PRIVATE_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_METHOD: Final = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}")
_PERCENT: Final = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_TIME: Final = LAST_UNIX_SECOND
_ONE_SECOND: Final = timedelta(seconds=1)


@dataclass(frozen=True)
class DPoPProof:
    """A verified DPoP proof.

    Attributes:
        jkt: RFC 7638 thumbprint of the proof key; compare it with the access
            token's ``cnf.jkt``.
        jti: the proof's unique identifier.
        htm: the HTTP method it was made for.
        htu: the normalised HTTP URL it was made for.
        issued_at: its ``iat``, as an aware UTC datetime.
        key: the proof's public key.
    """

    jkt: str
    jti: str
    htm: str
    htu: str
    issued_at: datetime
    key: VerifyingKey


def _normalise_htu(url: str) -> str:
    """The form of a URL that ``htu`` comparisons use (RFC 9449 section 4.3, step 9).

    Scheme and host lower-case, the default port dropped, percent-encodings upper-case
    (and decoded where they stand for an unreserved character), dot segments removed,
    an empty path made ``/``, query and fragment dropped (RFC 3986 section 6.2.2-6.2.3).

    >>> _normalise_htu("HTTPS://Server.Example.gov:443/a/./b/../c%7e?x=1#top")
    'https://server.example.gov/a/c~'

    Raises:
        ValueError: not an absolute ``http``/``https`` URL of ASCII characters
            without user information.
    """
    if not isinstance(url, str) or not url.isascii() or len(url) > 8192:
        raise ValueError("not an ASCII URL")
    if any(c <= " " or c == "\x7f" for c in url):
        raise ValueError("the URL holds whitespace or control characters")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ValueError("not an http or https URL")
    if "@" in parts.netloc:
        raise ValueError("the URL holds user information")
    host = parts.hostname
    if not host:
        raise ValueError("the URL has no host")
    port = parts.port  # ValueError for a malformed or out-of-range port
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    path = _remove_dot_segments(_normalise_percent(parts.path)) or "/"
    return f"{scheme}://{netloc}{path}"


def _normalise_percent(path: str) -> str:
    def fix(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else f"%{match.group(1).upper()}"

    return _PERCENT.sub(fix, path)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4, on a path of an absolute URL."""
    output: list[str] = []
    segments = path.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == ".":
            if last:
                output.append("")
        elif segment == "..":
            if len(output) > 1:
                output.pop()
            if last:
                output.append("")
        else:
            output.append(segment)
    result = "/".join(output)
    if path.startswith("/") and not result.startswith("/"):
        result = "/" + result
    return result


def _ath(access_token: str) -> str:
    """``ath``: base64url SHA-256 of the access token's ASCII bytes (RFC 9449 section 4.2)."""
    return b64url_encode(hashlib.sha256(access_token.encode("ascii")).digest())


def create_dpop_proof(
    key: SigningKey,
    *,
    htm: str,
    htu: str,
    access_token: str | None = None,
    nonce: str | None = None,
    clock: Clock | None = None,
) -> str:
    """Make a DPoP proof for one HTTP request.

    Args:
        key: the client's proof key (its public half goes into the ``jwk`` header).
        htm: the request method, e.g. ``"POST"``.
        htu: the request URL; query and fragment are dropped and the URL normalised.
        access_token: when given, its hash goes into ``ath`` (for calls to a
            resource server with a DPoP-bound token).
        nonce: a ``DPoP-Nonce`` the server asked for.
        clock: the time source for ``iat`` (default :class:`~govkit.clock.SystemClock`).

    Returns:
        The compact JWS to send in the ``DPoP`` header.

    Raises:
        ConfigurationError: ``key`` is not a :class:`~govkit.keys.SigningKey`, or
            ``htm``, ``htu``, ``access_token`` or ``nonce`` is malformed.
    """
    if not isinstance(key, SigningKey):
        raise ConfigurationError("create_dpop_proof needs a SigningKey")
    if not isinstance(htm, str) or not _METHOD.fullmatch(htm):
        raise ConfigurationError("htm must be an HTTP method token")
    try:
        target = _normalise_htu(htu)
    except ValueError:
        raise ConfigurationError("htu must be an absolute http(s) URL") from None
    now = resolve_time(clock or SystemClock(), None)
    public = key.verifying_key.to_jwk()
    jwk = {name: public[name] for name in _PUBLIC_MEMBERS[public["kty"]]}
    header = {"alg": key.alg, "jwk": jwk, "typ": _TYP}
    claims: dict[str, Any] = {
        "htm": htm,
        "htu": target,
        "iat": int(now.timestamp()),
        "jti": b64url_encode(secrets.token_bytes(16)),
    }
    if access_token is not None:
        if not isinstance(access_token, str) or not access_token.isascii() or not access_token:
            raise ConfigurationError("access_token must be a non-empty ASCII string")
        claims["ath"] = _ath(access_token)
    if nonce is not None:
        if not isinstance(nonce, str) or not nonce:
            raise ConfigurationError("nonce must be a non-empty string")
        claims["nonce"] = nonce
    return sign_compact(key, header, claims)


def _invalid(reason: str, message: str) -> DPoPInvalid:
    return DPoPInvalid(message, reason=reason)


class DPoPVerifier:
    """Verifies DPoP proofs for one resource (or token) server.

    Args:
        replay_store: where proof ``jti``\\ s are remembered (shared by every process
            serving the same URLs, e.g. a :class:`~govkit.stores.SQLiteReplayStore` or
            :class:`~govkit.stores.PostgresReplayStore`). It is asked with this
            verifier's time; it reads no clock of its own.
        allowed_algs: the proof algorithms accepted; a subset of
            :data:`govkit.keys.ALGORITHMS` (``none`` and HMAC do not exist there).
        max_age: how old a proof's ``iat`` may be.
        leeway: clock skew tolerated in both directions.
        max_proof_bytes: the largest proof accepted.
        require_nonce: when set, every proof must carry a ``nonce`` for which
            ``require_nonce(nonce)`` is true (the server's current DPoP nonces).
        clock: the time source (default :class:`~govkit.clock.SystemClock`).
    """

    def __init__(
        self,
        *,
        replay_store: ReplayStore,
        allowed_algs: Sequence[str] = ("EdDSA", "ES256", "PS256"),
        max_age: timedelta = timedelta(seconds=60),
        leeway: timedelta = timedelta(seconds=5),
        max_proof_bytes: int = 4096,
        require_nonce: Callable[[str], bool] | None = None,
        clock: Clock | None = None,
    ) -> None:
        if not isinstance(replay_store, ReplayStore):
            raise ConfigurationError("replay_store must implement ReplayStore")
        if isinstance(allowed_algs, str) or not allowed_algs:
            raise ConfigurationError("allowed_algs must be a non-empty sequence of names")
        unknown = [a for a in allowed_algs if a not in ALGORITHMS]
        if unknown:
            raise ConfigurationError(
                f"allowed_algs may only name {', '.join(ALGORITHMS)}", unknown=unknown
            )
        for name, value in (("max_age", max_age), ("leeway", leeway)):
            if not isinstance(value, timedelta) or value < timedelta(0):
                raise ConfigurationError(f"{name} must be a non-negative timedelta")
        if not isinstance(max_proof_bytes, int) or max_proof_bytes < 256:
            raise ConfigurationError("max_proof_bytes must be an integer of at least 256")
        if require_nonce is not None and not callable(require_nonce):
            raise ConfigurationError("require_nonce must be callable")
        self._store = replay_store
        self._algs = frozenset(allowed_algs)
        self._max_age = max_age
        self._leeway = leeway
        self._max_bytes = max_proof_bytes
        self._require_nonce = require_nonce
        self._clock: Clock = clock or SystemClock()

    @observed("dpop.verify", "govkit.identity")
    def verify(
        self,
        proof: str,
        *,
        htm: str,
        htu: str,
        access_token: str | None = None,
        at: datetime | None = None,
    ) -> DPoPProof:
        """Verify ``proof`` (the ``DPoP`` header) for the request ``htm`` ``htu``.

        Args:
            proof: the compact JWS from the request's ``DPoP`` header.
            htm: the request's method.
            htu: the request's URL as the server sees it (query and fragment are
                ignored).
            access_token: the access token of the request, if any; then the proof
                must carry its hash in ``ath``.
            at: the verification time (default: the clock, read once).

        Raises:
            DPoPInvalid: the proof fails a check (``context["reason"]`` says which).
            TokenReplayed: the proof's ``jti`` was seen before for this key.
            ConfigurationError: ``htm`` or ``htu`` (the server's own values) are
                malformed.
            NaiveDatetimeError: ``at`` has no timezone.
            StoreError: the replay store failed or is full (the proof is refused, never
                accepted; ``identity.store`` from an identity store).
        """
        now = resolve_time(self._clock, at)
        if not isinstance(htm, str) or not _METHOD.fullmatch(htm):
            raise ConfigurationError("htm must be an HTTP method token")
        try:
            expected_htu = _normalise_htu(htu)
        except ValueError:
            raise ConfigurationError("htu must be an absolute http(s) URL") from None

        header, claims, signing_input, signature = self._parse(proof)
        key = self._check_header(header)
        try:
            key.verify(signature, signing_input)
        except KeysError:
            raise _invalid("signature", "the DPoP proof's signature does not verify") from None
        jkt = jwk_thumbprint(header["jwk"])

        if claims.get("htm") != htm:
            raise _invalid("htm", "the DPoP proof is for another HTTP method")
        claimed_htu = claims.get("htu")
        try:
            if not isinstance(claimed_htu, str) or _normalise_htu(claimed_htu) != expected_htu:
                raise ValueError
        except ValueError:
            raise _invalid("htu", "the DPoP proof is for another URL") from None
        issued_at = self._check_iat(claims.get("iat"), now)
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti or len(jti) > _MAX_JTI:
            raise _invalid("jti", f"the DPoP proof needs a 'jti' of 1 to {_MAX_JTI} characters")
        if access_token is not None:
            ath = claims.get("ath")
            if not isinstance(ath, str):
                raise _invalid("ath", "the DPoP proof lacks 'ath' for the access token")
            try:
                expected_ath = _ath(access_token)
            except (UnicodeEncodeError, AttributeError):
                raise _invalid("ath", "the DPoP proof does not match the access token") from None
            if not hmac.compare_digest(ath.encode("utf-8"), expected_ath.encode("ascii")):
                raise _invalid("ath", "the DPoP proof does not match the access token")
        if self._require_nonce is not None:
            nonce = claims.get("nonce")
            if not isinstance(nonce, str) or not nonce or not self._require_nonce(nonce):
                raise _invalid("nonce", "the DPoP proof lacks the server's current nonce")

        # The proof passes the iat check up to and including issued_at + max_age + leeway;
        # its entry must outlive that instant (an entry expiring at it would count as
        # absent then), so it lasts one second longer.
        expires_at = issued_at + self._max_age + self._leeway + _ONE_SECOND
        replay_key = f"dpop:{jkt}:{jti}"
        if not self._store.check_and_remember(replay_key, now=now, expires_at=expires_at):
            raise TokenReplayed("the DPoP proof was already used", reason="replay")
        return DPoPProof(jkt=jkt, jti=jti, htm=htm, htu=expected_htu, issued_at=issued_at, key=key)

    async def averify(
        self,
        proof: str,
        *,
        htm: str,
        htu: str,
        access_token: str | None = None,
        at: datetime | None = None,
    ) -> DPoPProof:
        """:meth:`verify` for asyncio: same arguments, result and errors.

        Runs on govkit's bounded thread pool (the replay store is asked). Cancelling
        the await does not stop a check that has started: the proof may be recorded
        as used all the same.
        """
        return await offload(self.verify, proof, htm=htm, htu=htu, access_token=access_token, at=at)

    def _parse(self, proof: object) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
        if not isinstance(proof, str):
            raise _invalid("malformed", "a DPoP proof must be a string")
        if len(proof) > self._max_bytes:
            raise _invalid("size", f"the DPoP proof is larger than {self._max_bytes} bytes")
        if not proof.isascii():
            raise _invalid("malformed", "the DPoP proof is not ASCII")
        parts = proof.split(".")
        if len(parts) != 3 or not all(parts):
            raise _invalid("malformed", "a DPoP proof must be a compact JWS of three parts")
        try:
            header_bytes = b64url_decode(parts[0], what="DPoP header")
            claims_bytes = b64url_decode(parts[1], what="DPoP claims")
            signature = b64url_decode(parts[2], what="DPoP signature")
        except EncodingError:
            raise _invalid("malformed", "the DPoP proof is not strict base64url") from None
        try:
            header = loads_object(
                header_bytes,
                what="DPoP header",
                error=MalformedToken,
                allow_floats=True,
                max_depth=16,
            )
            claims = loads_object(
                claims_bytes,
                what="DPoP claims",
                error=MalformedToken,
                allow_floats=True,
                max_depth=16,
            )
        except MalformedToken as exc:
            raise _invalid("malformed", f"the DPoP proof's {exc.message}") from None
        signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
        return header, claims, signing_input, signature

    def _check_header(self, header: Mapping[str, Any]) -> VerifyingKey:
        if header.get("typ") != _TYP:
            raise _invalid("typ", "the proof's 'typ' is not 'dpop+jwt'")
        if "crit" in header:
            raise _invalid("crit", "the DPoP proof lists critical extensions")
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self._algs:
            raise _invalid("alg", "the DPoP proof's algorithm is not allowed")
        jwk = header.get("jwk")
        if not isinstance(jwk, Mapping):
            raise _invalid("jwk", "the DPoP proof has no 'jwk' header")
        if _PRIVATE_MEMBERS.intersection(jwk):
            raise _invalid("jwk", "the DPoP proof's 'jwk' holds private key material")
        try:
            key = VerifyingKey.from_jwk(jwk, alg)
            canonical = jwk_thumbprint(jwk) == key.kid
        except KeysError:
            raise _invalid(
                "jwk", "the DPoP proof's 'jwk' is not a public key for its alg"
            ) from None
        if not canonical:
            raise _invalid("jwk", "the DPoP proof's 'jwk' is not canonically encoded")
        return key

    def _check_iat(self, iat: object, now: datetime) -> datetime:
        if isinstance(iat, bool) or not isinstance(iat, (int, float)):
            raise _invalid("iat", "the DPoP proof needs a numeric 'iat'")
        if not 0 <= iat <= _MAX_TIME:  # also refuses NaN and infinities
            raise _invalid("iat", "the DPoP proof's 'iat' is out of range")
        issued_at = _EPOCH + timedelta(seconds=iat)
        if issued_at > now + self._leeway:
            raise _invalid("iat", "the DPoP proof was issued in the future")
        if issued_at < now - self._max_age - self._leeway:
            raise _invalid("iat", "the DPoP proof is too old")
        return issued_at

    def __repr__(self) -> str:
        return f"DPoPVerifier(allowed_algs={sorted(self._algs)!r}, max_age={self._max_age!r})"
