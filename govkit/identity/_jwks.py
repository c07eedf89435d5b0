"""Verification keys fetched from an issuer's JWKS URL, cached the way GOV.UK advises.

>>> from datetime import datetime, timedelta, timezone
>>> from govkit.identity._jwks import JwksSource
>>> from govkit.testing import FixedClock
>>> clock = FixedClock(datetime(2026, 1, 1, tzinfo=timezone.utc))
>>> source = JwksSource("https://idp.example.gov/.well-known/jwks.json", clock=clock)
>>> source
JwksSource('https://idp.example.gov/.well-known/jwks.json')
>>> JwksSource("http://idp.example.gov/jwks.json")
Traceback (most recent call last):
    ...
govkit.errors.ConfigurationError: the JWKS URL must use https (http only for a loopback host)
>>> source.close()

Nothing is fetched until a key is asked for. :class:`JwksSource` is the
``KeySource`` the token verifier calls: ``get(kid, at=...)`` returns a
:class:`~govkit.keys.VerifyingKey` or raises :class:`~govkit.errors.UnknownKey`.

Behaviour:

* **Only the configured URL.** The source knows one URL, given to its constructor;
  nothing in a token (``jku``, ``x5u``) can make it fetch another. The URL must be
  ``https``; plain ``http`` is allowed only for loopback hosts (``127.0.0.0/8``,
  ``::1``, ``localhost``), for tests and sidecars. By default redirects are not
  followed (a 3xx answer is a failed fetch); with ``max_redirects`` in the
  :class:`~govkit.identity.SourcePolicy` the source follows that many within the
  URL's origin, and never one to another origin.
* **Bounded fetches** (govkit's one HTTP fetcher). ``GET`` with ``timeout``
  (connect and each read, and a deadline for the whole body that a trickling
  body cannot outlive), a body of at most ``max_bytes`` bytes (counted while it
  streams in, after any ``gzip`` decoding), ``Content-Type`` ``application/json``
  or ``application/jwk-set+json``, strict JSON, at most ``max_keys`` keys.
* **Usable keys only.** Keys govkit cannot use (``use`` other than ``sig``,
  encryption keys, unsupported key types, curves or algorithms, RSA under 2048 bits,
  a second key claiming a ``kid`` already taken) are skipped; a set with no usable
  key is a failed fetch.
* **Cache lifetime.** ``Cache-Control: max-age=N`` (less any ``Age``), clamped to
  ``[min_ttl, max_ttl]``; ``no-store`` or ``no-cache`` give ``min_ttl``; otherwise
  ``default_ttl``.
* **Stale while error.** When a refresh fails, the last good set stays in use for up
  to ``max_stale`` after it expired; after that :class:`~govkit.errors.JwksError`.
* **Cooldown and negative cache.** No automatic fetch happens sooner than
  ``refetch_cooldown`` after the previous attempt, so a flood of random ``kid``\\ s
  costs at most one fetch per cooldown. A ``kid`` still missing from a set fetched
  for it is remembered as unknown for ``negative_ttl`` and triggers no further fetch.
* **Threads.** One fetch at a time (a lock). A caller whose ``kid`` is in a fresh
  set never waits; one whose ``kid`` is in a stale but usable set does not wait for
  another thread's refresh.

Errors never quote a response body; :class:`~govkit.errors.JwksError` carries a
``reason`` in its context (``http_status``, ``redirect``, ``timeout``, ``network``,
``too_large``, ``content_type``, ``content_encoding``, ``json``, ``jwks``, ``no_usable_key``,
``too_many_keys``, ``cooldown``).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import requests

from govkit._aio import offload
from govkit._http import FetchError, SourcePolicy, check_url, fetch, settle
from govkit._json import loads_object
from govkit.clock import Clock, SystemClock, require_aware, resolve_time
from govkit.errors import (
    ConfigurationError,
    JwksError,
    KeysError,
    MalformedToken,
    UnknownKey,
)
from govkit.keys import ALGORITHMS, OPTIONAL_ALGORITHMS, KeyRing, VerifyingKey

__all__ = ["JwksSource"]

_CONTENT_TYPES: Final = ("application/jwk-set+json", "application/json")
#: The JWKS source's defaults (``min_sequence`` does not apply to it).
_DEFAULTS: Final = SourcePolicy(
    timeout=5.0,
    max_bytes=65536,
    ttl=timedelta(minutes=5),
    max_stale=timedelta(hours=24),
    refetch_cooldown=timedelta(seconds=30),
    max_redirects=0,
)
_MAX_KID_LENGTH: Final = 256
# How many unknown kids are remembered at most; the oldest goes first.
_MAX_NEGATIVE: Final = 1024
_MAX_AGE: Final = re.compile(r'max-age\s*=\s*"?(\d{1,12})"?\s*$', re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Entry:
    """One usable key of a fetched set and the ``kid`` the JWK gave it."""

    key: VerifyingKey
    kid: str | None


@dataclass(frozen=True, slots=True)
class _CachedSet:
    """A fetched key set and how long it may be used."""

    ring: KeyRing
    entries: tuple[_Entry, ...]
    expires_at: datetime


class _FetchFailed(Exception):
    """A fetch failed; ``reason`` is a stable word, ``status`` an HTTP status if any."""

    def __init__(self, reason: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.status = status


def _positive(value: timedelta, name: str, *, zero: bool = False) -> timedelta:
    if not isinstance(value, timedelta) or value < timedelta(0) or (not zero and not value):
        raise ConfigurationError(f"{name} must be a positive timedelta")
    return value


def _cache_ttl(
    cache_control: str | None,
    age: str | None,
    *,
    default_ttl: timedelta,
    min_ttl: timedelta,
    max_ttl: timedelta,
) -> timedelta:
    """How long a set may be used, from its ``Cache-Control`` and ``Age`` headers.

    ``no-store`` or ``no-cache`` give ``min_ttl``; ``max-age=N`` gives ``N`` seconds
    less ``Age`` (the smallest ``max-age`` when there are several), clamped to
    ``[min_ttl, max_ttl]``; anything else gives ``default_ttl``.
    """
    ages: list[int] = []
    for raw in (cache_control or "").split(","):
        directive = raw.strip()
        name = directive.split("=", 1)[0].strip().lower()
        if name in ("no-store", "no-cache"):
            return min_ttl
        match = _MAX_AGE.fullmatch(directive)
        if name == "max-age" and match:
            ages.append(int(match.group(1)))
    if not ages:
        return default_ttl
    seconds = min(ages)
    if age is not None and age.strip().isdigit() and len(age.strip()) <= 12:
        seconds -= int(age.strip())
    return min(max(timedelta(seconds=max(seconds, 0)), min_ttl), max_ttl)


def _parse_jwks(
    document: Mapping[str, Any], *, alg: str | None, max_keys: int
) -> tuple[_Entry, ...]:
    """The usable signature keys of a JWKS document, skipping the rest.

    Raises:
        _FetchFailed: not a JWKS, more than ``max_keys`` keys, or no usable key.
    """
    keys = document.get("keys")
    if not isinstance(keys, list):
        raise _FetchFailed("jwks", "the document is not a JWKS (no 'keys' list)")
    if len(keys) > max_keys:
        raise _FetchFailed("too_many_keys", f"the JWKS has more than {max_keys} keys")
    entries: list[_Entry] = []
    names: set[str] = set()
    for jwk in keys:
        if not isinstance(jwk, Mapping):
            continue
        kid = jwk.get("kid")
        if kid is not None and (not isinstance(kid, str) or not kid or len(kid) > _MAX_KID_LENGTH):
            continue
        ops = jwk.get("key_ops")
        if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
            continue
        try:
            key = VerifyingKey.from_jwk(jwk, alg if not jwk.get("alg") else None)
        except KeysError:
            continue
        claimed = {key.kid} | ({kid} if kid else set())
        if claimed & names:  # a second key under a name already taken: ambiguous
            continue
        names |= claimed
        entries.append(_Entry(key, kid if kid != key.kid else None))
    if not entries:
        raise _FetchFailed("no_usable_key", "the JWKS holds no key govkit can use")
    return tuple(entries)


class JwksSource:
    """Verifying keys from one configured JWKS URL, cached, rotated and rate-limited.

    Args:
        url: the issuer's JWKS URL (``https``; ``http`` only for loopback hosts).
        session: a :class:`requests.Session` to fetch with (proxies, client
            certificates, CA bundle); by default the source makes its own and
            :meth:`close` closes it.
        alg: the algorithm for keys whose JWK has no ``alg`` (RSA keys need one).
        policy: the fetch and cache limits, a :class:`~govkit.identity.SourcePolicy`
            (``timeout``, ``max_bytes``, ``ttl`` (the lifetime of a set served
            without ``max-age``), ``max_stale``, ``refetch_cooldown``,
            ``max_redirects``; ``min_sequence`` does not apply). Fields left unset
            take the defaults below.
        timeout: seconds for the connection, each read, and the whole body
            (default 5); the same as ``policy.timeout``.
        max_bytes: the largest body accepted (default 65536).
        max_keys: the most keys a set may hold.
        default_ttl: lifetime of a set served without ``max-age`` (default five
            minutes); the same as ``policy.ttl``.
        min_ttl: lower bound of a set's lifetime (also used for ``no-store``).
        max_ttl: upper bound of a set's lifetime.
        max_stale: how long after expiry a set stays usable while refreshes fail
            (default 24 hours).
        refetch_cooldown: the least time between two automatic fetches (default 30
            seconds).
        negative_ttl: how long a ``kid`` missing from a freshly fetched set is
            refused without another fetch.
        clock: the time source (default :class:`~govkit.clock.SystemClock`).

    A value may be given as a keyword or in ``policy``, not both
    (:class:`~govkit.errors.ConfigurationError`).
    """

    def __init__(
        self,
        url: str,
        *,
        session: requests.Session | None = None,
        alg: str | None = None,
        policy: SourcePolicy | None = None,
        timeout: float | None = None,
        max_bytes: int | None = None,
        max_keys: int = 64,
        default_ttl: timedelta | None = None,
        min_ttl: timedelta = timedelta(seconds=30),
        max_ttl: timedelta = timedelta(hours=24),
        max_stale: timedelta | None = None,
        refetch_cooldown: timedelta | None = None,
        negative_ttl: timedelta = timedelta(minutes=5),
        clock: Clock | None = None,
    ) -> None:
        self._url = check_url(url, "JWKS")
        if alg is not None and alg not in ALGORITHMS + OPTIONAL_ALGORITHMS:
            raise ConfigurationError(
                f"alg must be one of {', '.join(ALGORITHMS + OPTIONAL_ALGORITHMS)}"
            )
        limits = settle(
            policy,
            SourcePolicy(
                timeout=timeout,
                max_bytes=max_bytes,
                ttl=default_ttl,
                max_stale=max_stale,
                refetch_cooldown=refetch_cooldown,
            ),
            _DEFAULTS,
            what="a JWKS source",
        )
        if not isinstance(max_keys, int) or max_keys < 1:
            raise ConfigurationError("max_keys must be a positive integer")
        self._min_ttl = _positive(min_ttl, "min_ttl")
        self._max_ttl = _positive(max_ttl, "max_ttl")
        if self._max_ttl < self._min_ttl:
            raise ConfigurationError("max_ttl must not be shorter than min_ttl")
        self._default_ttl = min(max(limits.ttl, self._min_ttl), self._max_ttl)
        self._max_stale = limits.max_stale
        self._cooldown = limits.refetch_cooldown
        self._negative_ttl = _positive(negative_ttl, "negative_ttl", zero=True)
        self._alg = alg
        self._limits = limits
        self._max_keys = max_keys
        self._clock: Clock = clock or SystemClock()
        self._own_session = session is None
        self._session = session if session is not None else requests.Session()
        self._lock = threading.Lock()
        self._cached: _CachedSet | None = None
        self._last_attempt: datetime | None = None
        self._last_failure: _FetchFailed | None = None
        self._negative: dict[str, datetime] = {}
        self._successes = 0

    @property
    def url(self) -> str:
        """The configured JWKS URL (the only one this source ever fetches)."""
        return self._url

    # -- the KeySource protocol ----------------------------------------------------

    def get(self, kid: str, *, at: datetime | None = None) -> VerifyingKey:
        """The verifying key named ``kid`` (its JWK ``kid`` or RFC 7638 thumbprint).

        ``at`` is the verification time, checked against the key's window; cache
        decisions always use the source's clock.

        Raises:
            UnknownKey: no usable key has that ``kid``, even after a refetch (or a
                refetch was not allowed yet by the cooldown or the negative cache).
            JwksError: no usable key set: the fetch failed and no earlier set is
                within ``max_stale``.
            NaiveDatetimeError: ``at`` has no timezone.
        """
        if at is not None:
            at = require_aware(at)
        if not isinstance(kid, str) or not kid or len(kid) > _MAX_KID_LENGTH:
            raise UnknownKey("no key with that kid")
        now = resolve_time(self._clock, None)
        when = at if at is not None else now
        cached = self._cached
        if cached is not None and kid in cached.ring:
            if now < cached.expires_at:
                return cached.ring.get(kid, at=when)
            if self._usable(cached, now):
                if not self._lock.acquire(blocking=False):
                    # Stale but usable, and another thread is refreshing: do not wait.
                    return cached.ring.get(kid, at=when)
                try:
                    return self._locked_get(kid, when, now)
                finally:
                    self._lock.release()
        with self._lock:
            return self._locked_get(kid, when, now)

    async def aget(self, kid: str, *, at: datetime | None = None) -> VerifyingKey:
        """:meth:`get` for asyncio: same arguments, result and errors.

        Runs on govkit's bounded thread pool, since a call may fetch the set (or wait
        for another thread's fetch).
        """
        return await offload(self.get, kid, at=at)

    async def arefresh(self) -> None:
        """:meth:`refresh` for asyncio: the fetch runs on govkit's bounded thread pool."""
        await offload(self.refresh)

    def refresh(self) -> None:
        """Fetch the set now, whatever the cache and the cooldown say.

        Raises:
            JwksError: the fetch failed (the last good set stays in use).
        """
        now = resolve_time(self._clock, None)
        with self._lock:
            failure = self._fetch(now)
        if failure is not None:
            raise self._error(failure)

    def keys(self) -> KeyRing:
        """A snapshot of the current set as a verify-only :class:`~govkit.keys.KeyRing`.

        Fetches first when the set is missing or expired (within the cooldown).

        Raises:
            JwksError: no usable key set.
        """
        now = resolve_time(self._clock, None)
        with self._lock:
            cached = self._fresh_set(now)
        snapshot = KeyRing(clock=self._clock)
        for entry in cached.entries:
            snapshot.add(entry.key, kid=entry.kid)
        return snapshot

    def close(self) -> None:
        """Close the HTTP session if the source made it."""
        if self._own_session:
            self._session.close()

    def __repr__(self) -> str:
        return f"JwksSource({self._url!r})"

    # -- cache logic (the lock is held in the methods below) --------------------------

    def _locked_get(self, kid: str, when: datetime, now: datetime) -> VerifyingKey:
        successes = self._successes
        ring = self._fresh_set(now).ring
        return self._lookup(ring, kid, when, now, fetched=self._successes != successes)

    def _usable(self, cached: _CachedSet | None, now: datetime) -> bool:
        return cached is not None and now < cached.expires_at + self._max_stale

    def _may_fetch(self, now: datetime) -> bool:
        last = self._last_attempt
        return last is None or now >= last + self._cooldown or now < last

    def _fresh_set(self, now: datetime) -> _CachedSet:
        """The current set, refreshed first if it expired and the cooldown allows."""
        cached = self._cached
        if (cached is None or now >= cached.expires_at) and self._may_fetch(now):
            self._fetch(now)
            cached = self._cached
        if cached is not None and self._usable(cached, now):
            return cached
        failure = self._last_failure or _FetchFailed("cooldown", "no JWKS has been fetched yet")
        raise self._error(failure)

    def _lookup(
        self, ring: KeyRing, kid: str, at: datetime, now: datetime, *, fetched: bool
    ) -> VerifyingKey:
        """Find ``kid``; refetch once if allowed; remember it as unknown if still missing.

        ``fetched`` says whether ``ring`` was fetched during this call already.
        """
        if kid in ring:
            return ring.get(kid, at=at)
        negative = self._negative.get(kid)
        if negative is not None and now < negative:
            raise UnknownKey("no key with that kid (recently refetched)", kid=kid)
        if not fetched and self._may_fetch(now):
            fetched = self._fetch(now) is None
            cached = self._cached
            if fetched and cached is not None and kid in cached.ring:
                return cached.ring.get(kid, at=at)
        if fetched:
            self._remember_unknown(kid, now)
        raise UnknownKey("no key with that kid", kid=kid)

    def _remember_unknown(self, kid: str, now: datetime) -> None:
        negative = self._negative
        if len(negative) >= _MAX_NEGATIVE:
            for name in [n for n, until in negative.items() if until <= now]:
                del negative[name]
        while len(negative) >= _MAX_NEGATIVE:
            del negative[next(iter(negative))]
        negative.pop(kid, None)
        negative[kid] = now + self._negative_ttl

    def _fetch(self, now: datetime) -> _FetchFailed | None:
        """Fetch and install a set; return the failure, if any (the old set stays)."""
        self._last_attempt = now
        try:
            entries, ttl = self._download()
        except _FetchFailed as failure:
            self._last_failure = failure
            return failure
        ring = KeyRing(clock=self._clock)
        for entry in entries:
            ring.add(entry.key, kid=entry.kid)
        self._cached = _CachedSet(ring, entries, now + ttl)
        self._last_failure = None
        self._successes += 1
        return None

    def _download(self) -> tuple[tuple[_Entry, ...], timedelta]:
        limits = self._limits
        try:
            result = fetch(
                self._session,
                self._url,
                accept=_CONTENT_TYPES,
                timeout=limits.timeout,
                max_bytes=limits.max_bytes,
                max_redirects=limits.max_redirects,
                what="JWKS",
            )
        except FetchError as exc:
            raise _FetchFailed(exc.reason, exc.message, exc.status) from None
        body = result.body
        cache_control = result.headers.get("Cache-Control")
        age = result.headers.get("Age")
        try:
            document = loads_object(
                body, what="JWKS", error=MalformedToken, allow_floats=True, max_depth=16
            )
        except MalformedToken:
            raise _FetchFailed("json", "the JWKS is not a strict JSON object") from None
        entries = _parse_jwks(document, alg=self._alg, max_keys=self._max_keys)
        ttl = _cache_ttl(
            cache_control,
            age,
            default_ttl=self._default_ttl,
            min_ttl=self._min_ttl,
            max_ttl=self._max_ttl,
        )
        return entries, ttl

    def _error(self, failure: _FetchFailed) -> JwksError:
        context: dict[str, Any] = {"reason": failure.reason, "url": self._url}
        if failure.status is not None:
            context["status"] = failure.status
        return JwksError(f"JWKS unavailable: {failure.message}", **context)
