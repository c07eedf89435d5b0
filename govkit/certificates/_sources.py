"""List sources: a signed trust or status list read from a file or URL, cached.

:class:`SignedSource` reads the list from a file path or downloads it through core's
one bounded fetcher (``govkit/_http.py``) under a
:class:`~govkit.certificates.SourcePolicy`, keeps the last good list when a load
fails, waits ``refetch_cooldown`` before trying again, and judges freshness at the
verification time. :class:`TrustListSource` is the trust list's source;
``StatusListSource`` (beside the status list) is the other subclass.

**Rollback.** :class:`TrustListSource` never installs a list whose ``sequence`` is
lower than one it has already accepted (or than ``min_sequence``), nor a different
list with the same sequence.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Final, Generic, TypeVar

import requests

from govkit._aio import offload
from govkit._http import FetchError, SourcePolicy, check_url, fetch, settle
from govkit.certificates._envelope import check_keys, format_time
from govkit.certificates._trust import TRUST_LIST_MAX_BYTES, TrustList, _load_trust_list
from govkit.clock import Clock, SystemClock, require_aware, resolve_time
from govkit.errors import ConfigurationError, GovkitError, TrustListError, TrustListStale
from govkit.keys import VerifyingKey

__all__ = ["SignedSource", "TrustListSource"]

_T = TypeVar("_T")


class _FetchFailed(Exception):
    """A fetch failed; ``reason`` is a stable word."""

    def __init__(self, reason: str, message: str, **context: Any) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.context = context


def _check_location(location: object) -> tuple[str | None, Path | None]:
    """``(url, None)`` for an http(s) URL, ``(None, path)`` for a file path."""
    if isinstance(location, Path):
        return None, location
    if not isinstance(location, str) or not location:
        raise ConfigurationError("location must be a file path or an https URL")
    if not location.lower().startswith(("http://", "https://")):
        return None, Path(location)
    return check_url(location, "list"), None


#: The list sources' defaults (a :class:`~govkit.certificates.SourcePolicy`).
_DEFAULTS: Final = SourcePolicy(
    timeout=5.0,
    max_bytes=TRUST_LIST_MAX_BYTES,
    ttl=timedelta(hours=1),
    max_stale=timedelta(days=7),
    refetch_cooldown=timedelta(seconds=30),
    min_sequence=0,
    max_redirects=0,
)
#: The content type a list must be served with.
_CONTENT_TYPES: Final = ("application/json",)


class SignedSource(Generic[_T]):
    """A signed list (trust or status) loaded from a file or URL, cached, never rolled back.

    Subclasses say how to parse, and what a document's sequence and expiry are.
    """

    #: Names the document in messages.
    _what: ClassVar[str] = "list"
    #: The defaults of the fields a caller leaves unset.
    _defaults: ClassVar[SourcePolicy] = _DEFAULTS

    def __init__(
        self,
        location: str | Path,
        *,
        clock: Clock | None,
        session: requests.Session | None,
        policy: SourcePolicy | None,
        timeout: float | None,
        max_bytes: int | None,
        ttl: timedelta | None,
        max_stale: timedelta | None,
        refetch_cooldown: timedelta | None,
        min_sequence: int | None,
    ) -> None:
        self._url, self._path = _check_location(location)
        limits = settle(
            policy,
            SourcePolicy(
                timeout=timeout,
                max_bytes=max_bytes,
                ttl=ttl,
                max_stale=max_stale,
                refetch_cooldown=refetch_cooldown,
                min_sequence=min_sequence,
            ),
            self._defaults,
            what=f"a {self._what} source",
        )
        self._limits = limits
        self._ttl = limits.ttl
        self._max_stale = limits.max_stale
        self._cooldown = limits.refetch_cooldown
        self._max_bytes = limits.max_bytes
        self._clock: Clock = clock or SystemClock()
        self._own_session = session is None and self._url is not None
        self._session = session if session is not None else None
        self._lock = threading.Lock()
        self._current: _T | None = None
        self._current_digest: bytes | None = None
        self._fetched_at: datetime | None = None
        self._last_attempt: datetime | None = None
        self._last_failure: _FetchFailed | None = None
        self._min_sequence = limits.min_sequence

    # -- what subclasses provide -------------------------------------------------------

    def _parse(self, data: bytes, now: datetime) -> tuple[_T, bytes]:
        """Verify and parse ``data``; return the document and its canonical form (two
        documents with the same sequence must have the same one)."""
        raise NotImplementedError

    def _sequence(self, document: _T) -> int:
        raise NotImplementedError

    def _expires(self, document: _T) -> datetime:
        raise NotImplementedError

    # -- public --------------------------------------------------------------------------

    @property
    def location(self) -> str:
        """The configured file path or URL (the only one this source reads)."""
        return self._url if self._url is not None else str(self._path)

    @property
    def sequence(self) -> int:
        """The highest sequence accepted so far (persist it and pass it back as
        ``min_sequence`` after a restart)."""
        return self._min_sequence

    def get(self, at: datetime | None = None, *, allow_stale: bool = False) -> _T:
        """The current list, refreshed first when the cache is older than ``ttl``.

        A failed refresh keeps the last good list. ``at`` is the verification time
        the list must be fresh at (default: the clock's now); cache decisions use the
        source's clock.

        Raises:
            TrustListError: no good list has been loaded (``reason`` in the context).
            TrustListStale: the list is past ``expires_at`` at ``at`` and
                ``allow_stale`` is false, or more than ``max_stale`` past it.
            NaiveDatetimeError: ``at`` has no timezone.
        """
        now = resolve_time(self._clock, None)
        when = require_aware(at) if at is not None else now
        with self._lock:
            fetched_at = self._fetched_at
            expired = fetched_at is None or now >= fetched_at + self._ttl or now < fetched_at
            if expired and self._may_fetch(now):
                self._fetch(now)
            document = self._current
            failure = self._last_failure
        if document is None:
            raise self._error(failure or _FetchFailed("cooldown", f"no {self._what} loaded yet"))
        expires = self._expires(document)
        if when >= expires:
            context = {"expired": format_time(expires), "sequence": self._sequence(document)}
            if not allow_stale:
                raise TrustListStale(f"the {self._what} is past its expiry", **context)
            if when >= expires + self._max_stale:
                raise TrustListStale(
                    f"the {self._what} is more than max_stale past its expiry",
                    reason="max_stale",
                    **context,
                )
        return document

    async def aget(self, at: datetime | None = None, *, allow_stale: bool = False) -> _T:
        """:meth:`get` for asyncio: same arguments, result and errors.

        Runs on govkit's bounded thread pool, since a call may read the file or
        download the list (or wait for another thread doing so).
        """
        return await offload(self.get, at, allow_stale=allow_stale)

    async def arefresh(self) -> _T:
        """:meth:`refresh` for asyncio: the load runs on govkit's bounded thread pool."""
        return await offload(self.refresh)

    def refresh(self) -> _T:
        """Load the list now, whatever the cache and cooldown say; return it.

        Raises:
            TrustListError: the load failed (the last good list stays in use).
        """
        now = resolve_time(self._clock, None)
        with self._lock:
            failure = self._fetch(now)
            document = self._current
        if failure is not None or document is None:
            raise self._error(failure or _FetchFailed("cooldown", f"no {self._what} loaded"))
        return document

    def close(self) -> None:
        """Close the HTTP session if the source made it."""
        if self._own_session and self._session is not None:
            self._session.close()
            self._session = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.location!r})"

    # -- internals (the lock is held) ------------------------------------------------

    def _may_fetch(self, now: datetime) -> bool:
        last = self._last_attempt
        if self._last_failure is None or last is None:
            return True
        return now >= last + self._cooldown or now < last

    def _fetch(self, now: datetime) -> _FetchFailed | None:
        self._last_attempt = now
        try:
            data = self._read()
            document, canonical = self._wrap_parse(data, now)
            digest = hashlib.sha256(canonical).digest()
            sequence = self._sequence(document)
            if sequence < self._min_sequence:
                raise _FetchFailed(
                    "rollback",
                    f"the {self._what}'s sequence is lower than one already accepted",
                    sequence=sequence,
                    accepted=self._min_sequence,
                )
            if (
                self._current is not None
                and sequence == self._sequence(self._current)
                and digest != self._current_digest
            ):
                raise _FetchFailed(
                    "equivocation",
                    f"a different {self._what} has the sequence already accepted",
                    sequence=sequence,
                )
        except _FetchFailed as failure:
            self._last_failure = failure
            return failure
        self._current, self._current_digest = document, digest
        self._min_sequence = sequence
        self._fetched_at = now
        self._last_failure = None
        return None

    def _wrap_parse(self, data: bytes, now: datetime) -> tuple[_T, bytes]:
        try:
            return self._parse(data, now)
        except GovkitError as exc:
            raise _FetchFailed(
                "invalid", f"the {self._what} does not verify: {exc.message}", cause=exc.code
            ) from None

    def _read(self) -> bytes:
        if self._path is not None:
            try:
                with self._path.open("rb") as handle:
                    data = handle.read(self._max_bytes + 1)
            except OSError as exc:
                raise _FetchFailed(
                    "io", f"the {self._what} file could not be read ({type(exc).__name__})"
                ) from None
            if len(data) > self._max_bytes:
                raise _FetchFailed(
                    "too_large", f"the {self._what} is larger than {self._max_bytes} bytes"
                )
            return data
        return self._download()

    def _download(self) -> bytes:
        assert self._url is not None  # noqa: S101 - _read checked the path first
        if self._session is None:
            self._session = requests.Session()
        limits = self._limits
        try:
            result = fetch(
                self._session,
                self._url,
                accept=_CONTENT_TYPES,
                timeout=limits.timeout,
                max_bytes=limits.max_bytes,
                max_redirects=limits.max_redirects,
                what=self._what,
            )
        except FetchError as exc:
            context = {"status": exc.status} if exc.status is not None else {}
            raise _FetchFailed(exc.reason, exc.message, **context) from None
        return result.body

    def _error(self, failure: _FetchFailed) -> TrustListError:
        return TrustListError(
            f"{self._what} unavailable: {failure.message}",
            reason=failure.reason,
            location=self.location,
            **failure.context,
        )


class TrustListSource(SignedSource[TrustList]):
    """A signed trust list from a file path or an https URL, cached and never rolled back.

    Args:
        location: a file path (``str`` or :class:`~pathlib.Path`) or an ``https``
            URL (``http`` only for loopback hosts). Redirects are refused unless
            ``policy.max_redirects`` allows some within the URL's origin; one to
            another origin always is. The body must be ``application/json``.
        anchors: the trust anchors' public keys; the list must be signed by one.
        clock: the time source (default :class:`~govkit.clock.SystemClock`).
        session: a :class:`requests.Session` for URLs (proxies, CA bundle); by
            default the source makes one and :meth:`close` closes it.
        policy: the fetch and cache limits, a
            :class:`~govkit.certificates.SourcePolicy` (all its fields apply);
            fields left unset take the defaults below.
        timeout: seconds for the connection, each read, and the whole body
            (default 5).
        max_bytes: the largest document accepted (default
            :data:`TRUST_LIST_MAX_BYTES`, about 98 MiB: 64 KiB plus 1 KiB for each of
            :data:`MAX_TRUSTED_ISSUERS` issuers).
        ttl: how long a loaded list is used before the source reloads it (default
            one hour).
        max_stale: how long past ``expires_at`` a caller passing
            ``allow_stale=True`` still gets the list (default seven days).
        refetch_cooldown: after a failed load, the least time before the next try
            (default 30 seconds).
        min_sequence: refuse lists with a lower sequence (persist :attr:`sequence`
            across restarts for rollback protection that survives them).

    Each of ``timeout`` ... ``min_sequence`` may be given as a keyword or in
    ``policy``, not both (:class:`~govkit.errors.ConfigurationError`).

    Behaviour: the list is loaded on the first :meth:`get` and again when older
    than ``ttl``. A load that fails (I/O, HTTP, size, signature, parse, a lower
    sequence than already accepted (``rollback``), or a different list with the
    same sequence (``equivocation``)) keeps the last good list; with no good list
    :meth:`get` raises :class:`~govkit.errors.TrustListError` whose ``reason`` says
    why. Lists are verified with ``allow_stale=True`` when loaded; staleness is
    judged by :meth:`get` at the verification time. Errors never quote a body.
    """

    _what = "trust list"

    def __init__(
        self,
        location: str | Path,
        anchors: Sequence[VerifyingKey],
        *,
        clock: Clock | None = None,
        session: requests.Session | None = None,
        policy: SourcePolicy | None = None,
        timeout: float | None = None,
        max_bytes: int | None = None,
        ttl: timedelta | None = None,
        max_stale: timedelta | None = None,
        refetch_cooldown: timedelta | None = None,
        min_sequence: int | None = None,
    ) -> None:
        self._anchors = check_keys(anchors, "anchors")
        super().__init__(
            location,
            clock=clock,
            session=session,
            policy=policy,
            timeout=timeout,
            max_bytes=max_bytes,
            ttl=ttl,
            max_stale=max_stale,
            refetch_cooldown=refetch_cooldown,
            min_sequence=min_sequence,
        )

    def _parse(self, data: bytes, now: datetime) -> tuple[TrustList, bytes]:
        # The signed bytes are the canonical type and body: no second serialisation.
        return _load_trust_list(
            data, self._anchors, at=now, clock=None, allow_stale=True, max_bytes=self._max_bytes
        )

    def _sequence(self, document: TrustList) -> int:
        return document.sequence

    def _expires(self, document: TrustList) -> datetime:
        return document.expires_at
