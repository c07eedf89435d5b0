"""Redis stores: replay, revocation and flow state for many hosts (``govkit[redis]``).

:class:`RedisReplayStore`, :class:`RedisRevocationStore` and :class:`RedisFlowStore`
implement :class:`~govkit.stores.ReplayStore`, :class:`~govkit.stores.RevocationStore`
and :class:`~govkit.stores.FlowStore` with the behaviour of the memory, SQLite and
PostgreSQL stores (the same contract test runs against them). ``redis`` (redis-py) is
imported when a store is made, not when :mod:`govkit.stores` is imported.

How the contract maps onto Redis:

* **The caller's time decides.** Every entry stores its expiry (whole microseconds, in
  the caller's time) as its value, and a question compares it with the caller's
  ``now``, exactly as the SQL stores compare ``expires_us``. Redis's own expiry
  (``PX``) only reclaims memory: it is ``expires_at - now`` (measured in the caller's
  time, so no clock of the store or of the server is read) plus ``ttl_margin``, so that
  a host whose clock lags the one that recorded an entry still finds it.
* **Atomic.** Every decision is one Redis command or one Lua script (Redis runs a
  script with nothing else in between). ``check_and_remember`` first tries ``SET NX PX``
  (a new key, the common case: one command); if the key exists, a script records it
  only if the stored entry has expired at ``now``. ``take`` hands a flow secret out and
  erases it in one script; the revoking methods keep the later time in one script. Of
  any number of racing callers on any number of hosts, exactly one wins a replay key
  or a flow secret.
* **Fail closed.** A Redis error (server down, timeout, authentication, a read-only
  replica, a script error) raises :class:`~govkit.errors.StoreError` (``store.error``);
  an entry that does not parse raises :class:`~govkit.errors.StoreDamaged`. Neither is
  ever "not a replay" or "not revoked". A call is never retried behind the caller's back
  (stores made from a URL turn redis-py's retries off), and messages keep the error
  class and Redis's first line, never the URL's password.
* **Keys.** Everything lives under ``prefix`` (default ``govkit:``):
  ``replay:<key>``, ``revoked:<jti>``, ``subject:<subject>`` and ``flow:<hex>``; replay
  keys, ``jti`` values and subjects are kept as given (as the SQL stores keep them), flow
  handles only as an HMAC (as every flow store does).
* **purge(now=...)** deletes the entries whose expiry is at or before ``now`` and counts
  them (a ``SCAN`` of the store's keys, one atomic compare-and-delete per key). Replay
  and flow entries need no purge (Redis drops them after their ``PX``); revoked ``jti``
  entries have no ``PX`` (``revoke_token`` is given no ``now`` to measure one from, and
  an entry dropped early would un-revoke a token), so run ``purge`` now and then.
* **Restarts.** A server restarted without persistence has forgotten every entry: a
  value recorded before can be accepted again, a revoked token is no longer revoked. Run
  a Redis that keeps replay and revocation state with ``appendonly yes``
  (docs/guide/stores.rst).

The async forms (``acheck_and_remember``, ``ais_revoked``, ``atake``, ...) run these
methods on govkit's bounded thread pool, like every store's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import TYPE_CHECKING, Any, Final, TypeVar

from govkit.errors import ConfigurationError, StoreDamaged, StoreError
from govkit.stores._base import (
    AsyncFlow,
    AsyncReplay,
    AsyncRevocation,
    Closing,
    check_key,
    from_us,
    to_us,
)
from govkit.stores._flow import (
    _IN_USE,
    _check_put,
    _expired,
    _known_form,
    _Sealer,
    _taken,
    _unknown,
)
from govkit.stores._sql import redact_url

if TYPE_CHECKING:
    import redis

__all__ = ["RedisFlowStore", "RedisReplayStore", "RedisRevocationStore"]

_T = TypeVar("_T")

#: The namespace every key of a store lives under unless told otherwise.
DEFAULT_PREFIX: Final = "govkit:"
#: How long Redis keeps a replay or flow entry past its expiry, by default.
DEFAULT_TTL_MARGIN: Final = timedelta(seconds=60)
_MAX_PREFIX: Final = 128
_MAX_MESSAGE: Final = 240
_SCHEMES: Final = ("redis://", "rediss://", "unix://")
_SCAN_BATCH: Final = 500

# A stored time is a "stamp": microseconds since 0001-01-01 UTC, zero-padded to 18
# digits, so every aware datetime has one and Lua compares stamps exactly (as two
# 9-digit halves: Lua's numbers are doubles, exact only below 2**53).
_STAMP_DIGITS: Final = 18
_STAMP_OFFSET: Final = -to_us(datetime.min.replace(tzinfo=UTC), "datetime.min")

_LUA_STAMPS: Final = """
local function valid(s)
  return #s >= 18 and string.find(s, '^' .. string.rep('%d', 18)) ~= nil
end
local function at_or_before(a, b)
  local ah, bh = tonumber(string.sub(a, 1, 9)), tonumber(string.sub(b, 1, 9))
  if ah ~= bh then return ah < bh end
  return tonumber(string.sub(a, 10, 18)) <= tonumber(string.sub(b, 10, 18))
end
"""

# KEYS[1] the entry; ARGV: now, expires (stamps), the PX in ms (may be <= 0).
# 1: recorded (absent, or expired at now); 0: a live entry exists (a replay, not
# extended); -1: the stored entry is damaged.
_CHECK_AND_REMEMBER: Final = (
    _LUA_STAMPS
    + """
local current = redis.call('GET', KEYS[1])
if current then
  if #current ~= 18 or not valid(current) then return -1 end
  if not at_or_before(current, ARGV[1]) then return 0 end
end
if tonumber(ARGV[3]) > 0 then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
elseif current then
  redis.call('DEL', KEYS[1])
end
return 1
"""
)

# KEYS[1] the entry; ARGV[1] a stamp. Keeps the later of the stored and the given time.
# 1: written; 0: the stored time was the same or later; -1: the stored entry is damaged.
_KEEP_LATER: Final = (
    _LUA_STAMPS
    + """
local current = redis.call('GET', KEYS[1])
if current then
  if #current ~= 18 or not valid(current) then return -1 end
  if at_or_before(ARGV[1], current) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
"""
)

# KEYS[1] the flow; ARGV[1] now. The value is the expiry stamp followed by the sealed
# secret; a taken flow keeps the stamp alone (and its PX). Returns {0} unknown, {1}
# taken, {2} expired, {-1} damaged, or {3, value} (the value, now erased).
_TAKE: Final = (
    _LUA_STAMPS
    + """
local current = redis.call('GET', KEYS[1])
if not current then return {0} end
if not valid(current) then return {-1} end
if #current == 18 then return {1} end
local stamp = string.sub(current, 1, 18)
if at_or_before(stamp, ARGV[1]) then return {2} end
redis.call('SET', KEYS[1], stamp, 'KEEPTTL')
return {3, current}
"""
)

# KEYS[1] any entry; ARGV[1] now. Deletes it if its stamp is at or before now.
_PURGE_ONE: Final = (
    _LUA_STAMPS
    + """
local current = redis.call('GET', KEYS[1])
if current and valid(current) and at_or_before(string.sub(current, 1, 18), ARGV[1]) then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""
)


def _import_redis() -> Any:
    try:
        import redis  # noqa: PLC0415 - optional (govkit[redis]); only when a store is made
    except ImportError:
        raise ConfigurationError(
            "the Redis stores need redis-py: pip install 'govkit[redis]'"
        ) from None
    return redis


def _stamp(value: datetime, name: str) -> bytes:
    """The stored form of an aware datetime (naive ones are refused)."""
    return b"%018d" % (to_us(value, name) + _STAMP_OFFSET)


def _unstamp(raw: object) -> int:
    """Microseconds since the Unix epoch of a stored stamp; StoreDamaged if it is not one."""
    if (
        isinstance(raw, bytes)
        and len(raw) >= _STAMP_DIGITS
        and raw[:_STAMP_DIGITS].isdigit()
        and raw[:_STAMP_DIGITS].isascii()
    ):
        return int(raw[:_STAMP_DIGITS]) - _STAMP_OFFSET
    raise StoreDamaged("a time stored in Redis is damaged")


def _check_prefix(prefix: object) -> bytes:
    if (
        not isinstance(prefix, str)
        or not 1 <= len(prefix) <= _MAX_PREFIX
        or not prefix.isprintable()
        or " " in prefix
    ):
        raise ConfigurationError(
            f"a Redis key prefix must be 1 to {_MAX_PREFIX} printable characters, no spaces"
        )
    return prefix.encode("utf-8")


def _check_margin(margin: object) -> int:
    """``ttl_margin`` in milliseconds."""
    if not isinstance(margin, timedelta) or margin < timedelta(0):
        raise ConfigurationError("ttl_margin must be a timedelta of zero or more")
    return margin // timedelta(milliseconds=1)


def _glob_escape(raw: bytes) -> bytes:
    """``raw`` as a literal in a ``SCAN MATCH`` pattern."""
    return b"".join(b"\\" + bytes([c]) if c in b"*?[]\\" else bytes([c]) for c in raw)


def _key_bytes(value: str) -> bytes:
    return value.encode("utf-8", "surrogatepass")


def _ttl_ms(now: datetime, expires_at: datetime, margin_ms: int) -> tuple[bytes, bytes, int]:
    """The stamps of ``now`` and ``expires_at``, and the PX: ``expires_at - now`` (rounded
    up to a millisecond) plus the margin. No clock is read: both times are the caller's."""
    now_us = to_us(now, "now")
    expires_us = to_us(expires_at, "expires_at")
    ttl = -((now_us - expires_us) // 1000) + margin_ms
    return (
        b"%018d" % (now_us + _STAMP_OFFSET),
        b"%018d" % (expires_us + _STAMP_OFFSET),
        ttl,
    )


class _Redis:
    """One redis-py client (made from a URL, or the application's), its scripts, its errors.

    Thread-safe: redis-py's client is (a pool of connections); a closed store refuses
    every call with ``StoreError``.
    """

    def __init__(self, target: object, *, timeout: float, noun: str) -> None:
        redis_module = _import_redis()
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise ConfigurationError("a Redis store timeout must be a positive number of seconds")
        self.noun = noun
        self._failures: tuple[type[BaseException], ...] = (redis_module.RedisError, OSError)
        self._closed = False
        self._lock = threading.Lock()
        if isinstance(target, str):
            if not target.startswith(_SCHEMES):
                raise ConfigurationError(
                    f"{noun} needs a redis://, rediss:// or unix:// URL, or a redis.Redis client"
                )
            from redis.backoff import NoBackoff  # noqa: PLC0415 - optional dependency
            from redis.retry import Retry  # noqa: PLC0415

            try:
                client = redis_module.Redis.from_url(
                    target,
                    socket_timeout=float(timeout),
                    socket_connect_timeout=float(timeout),
                    retry=Retry(NoBackoff(), 0),  # never repeat a write behind the caller
                )
            except (ValueError, TypeError) as exc:
                raise ConfigurationError(
                    f"{noun} cannot use this Redis URL: {type(exc).__name__}"
                ) from None
            self.owned = True
            self.shown = repr(redact_url(target))
        elif isinstance(target, redis_module.Redis):
            client = target
            self.owned = False
            self.shown = "<redis.Redis client>"
        else:
            raise ConfigurationError(
                f"{noun} needs a redis://, rediss:// or unix:// URL, or a redis.Redis client"
            )
        options = client.connection_pool.connection_kwargs
        if options.get("decode_responses"):
            raise ConfigurationError(
                f"{noun} needs a client that returns bytes (decode_responses=False)"
            )
        password = options.get("password")
        self._secrets = (str(password),) if password else ()
        self.client: redis.Redis = client
        self.check_and_remember = client.register_script(_CHECK_AND_REMEMBER)
        self.keep_later = client.register_script(_KEEP_LATER)
        self.take = client.register_script(_TAKE)
        self.purge_one = client.register_script(_PURGE_ONE)

    def run(self, doing: str, call: Callable[[], _T]) -> _T:
        """``call()``, its Redis failures raised as ``StoreError``; refused once closed."""
        if self._closed:
            raise StoreError(f"{self.noun} is closed")
        try:
            return call()
        except self._failures as exc:
            raise StoreError(
                f"{self.noun} {doing}: Redis {type(exc).__name__}: {self._describe(exc)}",
                engine="redis",
                redis_error=type(exc).__name__,
            ) from None

    def _describe(self, exc: BaseException) -> str:
        text = str(exc).strip()
        text = text.splitlines()[0] if text else ""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text[:_MAX_MESSAGE]

    def purge(self, pattern: bytes, now: datetime) -> int:
        """Delete the entries under ``pattern`` whose stamp is at or before ``now``."""
        now_stamp = _stamp(now, "now")

        def purge() -> int:
            removed = 0
            keys = self.client.scan_iter(match=pattern, count=_SCAN_BATCH)
            while batch := list(islice(keys, _SCAN_BATCH)):
                pipe = self.client.pipeline(transaction=False)
                for key in batch:
                    self.purge_one(keys=[key], args=[now_stamp], client=pipe)
                removed += sum(int(done) for done in pipe.execute())
            return removed

        return self.run("failed", purge)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self.owned:
            with suppress(*self._failures):  # closing a dead connection
                self.client.close()


def _reply_code(reply: object) -> int:
    if isinstance(reply, int) and not isinstance(reply, bool):
        return reply
    raise StoreError("the Redis server answered a store script unexpectedly", engine="redis")


class RedisReplayStore(Closing, AsyncReplay):
    """A :class:`~govkit.stores.ReplayStore` on Redis (``govkit[redis]``), for many hosts.

    ``check_and_remember`` records the key (its value is its expiry, in the caller's
    time) with ``SET NX PX``; if the key exists, one Lua script replaces the entry only
    if it has expired at ``now``. The Redis ``PX`` is ``expires_at - now + ttl_margin``.
    The connection is made on the first call; a call that cannot reach the server
    raises :class:`~govkit.errors.StoreError`, and a later call connects again.

    Args:
        url: a ``redis://``, ``rediss://`` or ``unix://`` URL, or a ``redis.Redis``
            client of the application's (made with ``decode_responses=False``; its
            retry settings are kept, and :meth:`close` leaves it open).
        prefix: the namespace of this application's keys (entries live under
            ``<prefix>replay:``).
        timeout: seconds to wait for a connection or an answer (stores made from a
            URL).
        ttl_margin: how long Redis keeps an entry past its expiry, for hosts whose
            clocks lag; the answer never depends on it.

    Raises:
        ConfigurationError: redis-py is not installed, or an argument is wrong.
    """

    def __init__(
        self,
        url: str | redis.Redis,
        *,
        prefix: str = DEFAULT_PREFIX,
        timeout: float = 5.0,
        ttl_margin: timedelta = DEFAULT_TTL_MARGIN,
    ) -> None:
        raw_prefix = _check_prefix(prefix)
        self._margin_ms = _check_margin(ttl_margin)
        self._prefix = prefix
        self._namespace = raw_prefix + b"replay:"
        self._redis = _Redis(url, timeout=timeout, noun="the Redis replay store")

    def check_and_remember(self, key: str, *, now: datetime, expires_at: datetime) -> bool:
        """Atomically record ``key`` until ``expires_at``; ``False`` means a replay.

        Raises:
            StoreError: Redis failed or could not be reached; nothing was decided.
            StoreDamaged: the stored entry for ``key`` is not a govkit entry.
            NaiveDatetimeError: ``now`` or ``expires_at`` has no timezone.
            ConfigurationError: ``key`` is not a string of 1 to 1024 characters.
        """
        check_key(key, "replay key")
        now_stamp, expires_stamp, ttl = _ttl_ms(now, expires_at, self._margin_ms)
        redis_key = self._namespace + _key_bytes(key)
        if ttl > 0:
            # The common case, a key not seen before, in one command. SET NX is atomic:
            # if it wrote, the key was absent, and this call recorded it.
            client = self._redis.client
            written = self._redis.run(
                "failed", lambda: client.set(redis_key, expires_stamp, nx=True, px=ttl)
            )
            if written:
                return True
        # The key exists (or the entry would expire at once): the script decides,
        # atomically, on what is stored now.
        script = self._redis.check_and_remember
        reply = _reply_code(
            self._redis.run(
                "failed",
                lambda: script(keys=[redis_key], args=[now_stamp, expires_stamp, ttl]),
            )
        )
        if reply < 0:
            raise StoreDamaged("a replay entry stored in Redis is damaged")
        return reply == 1

    def purge(self, *, now: datetime) -> int:
        """Delete the entries expired at ``now`` (the caller's time); return how many.

        Redis drops entries itself once their ``PX`` has run out, so this is optional;
        it counts only the entries it deleted.
        """
        return self._redis.purge(_glob_escape(self._namespace) + b"*", now)

    def close(self) -> None:
        """Close the connections (not those of a client passed in); later calls raise
        :class:`~govkit.errors.StoreError`."""
        self._redis.close()

    def __repr__(self) -> str:
        return f"RedisReplayStore({self._redis.shown}, prefix={self._prefix!r})"


class RedisRevocationStore(Closing, AsyncRevocation):
    """A :class:`~govkit.stores.RevocationStore` on Redis (``govkit[redis]``), for many hosts.

    A revoked ``jti`` is kept with its expiry until :meth:`purge` removes it after that
    expiry (``revoke_token`` takes no ``now``, so no Redis ``PX`` is set: dropping an
    entry early would un-revoke a token). Subjects' "not before" times never expire.
    Revoking again keeps the later time, in one Lua script.

    Args:
        url: a ``redis://``, ``rediss://`` or ``unix://`` URL, or a ``redis.Redis``
            client (``decode_responses=False``; :meth:`close` leaves it open).
        prefix: the namespace of this application's keys (``<prefix>revoked:`` and
            ``<prefix>subject:``).
        timeout: seconds to wait for a connection or an answer (stores made from a
            URL).

    Raises:
        ConfigurationError: redis-py is not installed, or an argument is wrong.
    """

    def __init__(
        self, url: str | redis.Redis, *, prefix: str = DEFAULT_PREFIX, timeout: float = 5.0
    ) -> None:
        raw_prefix = _check_prefix(prefix)
        self._prefix = prefix
        self._tokens = raw_prefix + b"revoked:"
        self._subjects = raw_prefix + b"subject:"
        self._redis = _Redis(url, timeout=timeout, noun="the Redis revocation store")

    def _keep_later(self, key: bytes, stamp: bytes, what: str) -> None:
        script = self._redis.keep_later
        reply = _reply_code(self._redis.run("failed", lambda: script(keys=[key], args=[stamp])))
        if reply < 0:
            raise StoreDamaged(f"a {what} stored in Redis is damaged")

    def _get(self, key: bytes) -> object:
        client = self._redis.client
        return self._redis.run("failed", lambda: client.get(key))

    def revoke_token(self, jti: str, *, expires_at: datetime) -> None:
        """Revoke the token ``jti`` until ``expires_at`` (its ``exp`` plus leeway).

        Raises:
            StoreError: Redis failed; the token may not be revoked.
        """
        check_key(jti, "jti")
        stamp = _stamp(expires_at, "expires_at")
        self._keep_later(self._tokens + _key_bytes(jti), stamp, "revocation")

    def is_revoked(self, jti: str, *, now: datetime) -> bool:
        """Whether ``jti`` is revoked and its entry has not expired at the caller's ``now``.

        Raises:
            StoreError: Redis failed; the caller must not treat that as "not revoked".
            StoreDamaged: the stored entry is not a govkit entry.
        """
        check_key(jti, "jti")
        now_us = to_us(now, "now")
        stored = self._get(self._tokens + _key_bytes(jti))
        return stored is not None and _unstamp(stored) > now_us

    def revoke_subject(self, subject: str, *, not_before: datetime) -> None:
        """Reject the (pseudonymous) subject's tokens issued before ``not_before``."""
        check_key(subject, "subject")
        stamp = _stamp(not_before, "not_before")
        self._keep_later(self._subjects + _key_bytes(subject), stamp, "subject time")

    def subject_not_before(self, subject: str) -> datetime | None:
        """The subject's "not before" time (UTC), or ``None``."""
        check_key(subject, "subject")
        stored = self._get(self._subjects + _key_bytes(subject))
        return None if stored is None else from_us(_unstamp(stored), StoreDamaged)

    def purge(self, *, now: datetime) -> int:
        """Delete the token entries expired at ``now``; return how many (subjects stay)."""
        return self._redis.purge(_glob_escape(self._tokens) + b"*", now)

    def close(self) -> None:
        """Close the connections (not those of a client passed in); later calls raise
        :class:`~govkit.errors.StoreError`."""
        self._redis.close()

    def __repr__(self) -> str:
        return f"RedisRevocationStore({self._redis.shown}, prefix={self._prefix!r})"


class RedisFlowStore(Closing, AsyncFlow):
    """A :class:`~govkit.stores.FlowStore` on Redis (``govkit[redis]``), sealed like the others.

    The value is sealed with AES-256-GCM under a key derived from ``key`` (the handle
    and the expiry as associated data) and stored under ``<prefix>flow:`` and the
    handle's HMAC, with ``SET NX PX``. :meth:`take` is one Lua script that hands the
    sealed value out and erases it, keeping the entry (without it) until its ``PX``
    runs out, so that a second take is :class:`~govkit.errors.FlowTaken`.

    Args:
        url: a ``redis://``, ``rediss://`` or ``unix://`` URL, or a ``redis.Redis``
            client (``decode_responses=False``; :meth:`close` leaves it open).
        key: the application's key (at least 32 random bytes).
        prefix: the namespace of this application's keys.
        timeout: seconds to wait for a connection or an answer (stores made from a
            URL).
        ttl_margin: how long Redis keeps a flow past its expiry; the answer never
            depends on it.

    Raises:
        ConfigurationError: redis-py is not installed, or an argument is wrong.
    """

    def __init__(
        self,
        url: str | redis.Redis,
        *,
        key: bytes,
        prefix: str = DEFAULT_PREFIX,
        timeout: float = 5.0,
        ttl_margin: timedelta = DEFAULT_TTL_MARGIN,
    ) -> None:
        self._sealer = _Sealer(key)
        raw_prefix = _check_prefix(prefix)
        self._margin_ms = _check_margin(ttl_margin)
        self._prefix = prefix
        self._namespace = raw_prefix + b"flow:"
        self._redis = _Redis(url, timeout=timeout, noun="the Redis flow store")

    def _key(self, handle: str) -> bytes:
        return self._namespace + self._sealer.locate(handle).hex().encode("ascii")

    def put(self, handle: str, value: bytes, *, now: datetime, expires_at: datetime) -> None:
        """Keep ``value`` under ``handle`` until ``expires_at``.

        Raises:
            ConfigurationError: the handle is not one :func:`new_flow_handle` could
                make, or is in use; the value is not bytes or too large; the expiry is
                not after ``now``.
            StoreError: Redis failed; nothing may have been kept.
        """
        expires = _check_put(handle, value, now, expires_at)
        _, expires_stamp, ttl = _ttl_ms(now, expires_at, self._margin_ms)
        stored = expires_stamp + self._sealer.seal(handle, value, expires)
        key = self._key(handle)
        client = self._redis.client
        done = self._redis.run("failed", lambda: client.set(key, stored, nx=True, px=ttl))
        if not done:
            raise ConfigurationError(_IN_USE)

    def take(self, handle: str, *, now: datetime) -> bytes:
        """Return the value kept under ``handle`` and erase it, in one script.

        Raises:
            FlowUnknown: no flow has this handle (or Redis dropped it after its expiry).
            FlowExpired: the flow expired at or before ``now``.
            FlowTaken: the value was already taken.
            StoreDamaged: the stored value does not open; it is erased all the same.
            StoreError: Redis failed; nothing was taken.
        """
        now_stamp = _stamp(now, "now")
        if not _known_form(handle):
            raise _unknown()
        key = self._key(handle)
        script = self._redis.take
        reply = self._redis.run("failed", lambda: script(keys=[key], args=[now_stamp]))
        if not isinstance(reply, list) or not reply:
            raise StoreError("the Redis server answered a store script unexpectedly")
        outcome = _reply_code(reply[0])
        if outcome == 0:
            raise _unknown()
        if outcome == 1:
            raise _taken()
        if outcome == 2:
            raise _expired()
        if outcome != 3 or len(reply) != 2:
            raise StoreDamaged("a flow entry stored in Redis is damaged")
        stored = reply[1]
        expires_us = _unstamp(stored)
        return self._sealer.open(handle, stored[_STAMP_DIGITS:], expires_us)

    def purge(self, *, now: datetime) -> int:
        """Delete the flows (taken or not) expired at ``now``; return how many.

        Redis drops flows itself once their ``PX`` has run out, so this is optional.
        """
        return self._redis.purge(_glob_escape(self._namespace) + b"*", now)

    def close(self) -> None:
        """Close the connections (not those of a client passed in); later calls raise
        :class:`~govkit.errors.StoreError`."""
        self._redis.close()

    def __repr__(self) -> str:
        return f"RedisFlowStore({self._redis.shown}, prefix={self._prefix!r})"
