"""The one bounded HTTP fetcher, and the :class:`SourcePolicy` every remote source takes.

Private to govkit. The JWKS source (identity), the trust and status list sources
(certificates), the WeChat Pay certificate download and the provider query clients
(payments) all fetch through :func:`fetch`, and take their limits from a
:class:`SourcePolicy` (public as ``govkit.identity.SourcePolicy``,
``govkit.certificates.SourcePolicy`` and ``govkit.payments.SourcePolicy``).

>>> from govkit._http import SourcePolicy, check_url
>>> policy = SourcePolicy(timeout=2.0, max_bytes=65536)
>>> policy.timeout, policy.ttl
(2.0, None)
>>> SourcePolicy(timeout=0)
Traceback (most recent call last):
    ...
govkit.errors.ConfigurationError: timeout must be between 0 and 300 seconds
>>> check_url("http://pay.example.cn/v3", "WeChat Pay")
Traceback (most recent call last):
    ...
govkit.errors.ConfigurationError: the WeChat Pay URL must use https (http only for a loopback host)

What :func:`fetch` guarantees, whoever calls it:

* **https only**, plain ``http`` only for a loopback host (``127.0.0.0/8``, ``::1``,
  ``localhost``); checked before anything is sent.
* **Redirects** are handled here, never by ``requests``: a redirect to another origin
  (scheme, host and port) is refused, and at most ``max_redirects`` redirects within
  the origin are followed (none by default; only for ``GET``).
* **A byte limit** enforced while streaming: the body is read in pieces as they arrive
  and the fetch stops as soon as it passes ``max_bytes`` (counted after ``gzip`` or
  ``deflate`` decoding, which is done here, bounded, and only for those two).
* **A deadline.** ``timeout`` bounds connecting and each read (as in ``requests``), and
  the whole body must have arrived ``timeout`` seconds after the fetch began: a body
  that trickles in a byte at a time is refused at that deadline. (The status line and
  headers are bounded per read only, as ``requests`` bounds them.)
* **The content type** must be one the caller accepts.
* **Conditional requests.** Given an ``etag`` or ``last_modified`` from an earlier
  result, the request carries ``If-None-Match`` / ``If-Modified-Since``, and a
  ``304 Not Modified`` answer is a result with ``not_modified`` true and no body.

Every failure is a :class:`FetchError` with a stable ``reason`` (``redirect``,
``http_status``, ``timeout``, ``network``, ``too_large``, ``content_type``,
``content_encoding``) that each caller maps to its own component's error
(``jwks.unavailable``, ``trust.unavailable``, ``payment.key_refresh``,
``payment.query_failed``). Messages never quote a body, a header value or a URL.
"""

from __future__ import annotations

import ipaddress
import time
import zlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any, Final
from urllib.parse import urljoin, urlsplit

import requests
from requests.structures import CaseInsensitiveDict

from govkit.errors import ConfigurationError

__all__ = [
    "FetchError",
    "FetchResult",
    "Limits",
    "SourcePolicy",
    "check_url",
    "fetch",
    "is_loopback",
    "settle",
]

#: Redirect statuses; 304 is "not modified", 300, 305 and 306 are failures.
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
#: The most bytes asked of the socket at once.
_CHUNK: Final = 16384
_MAX_REDIRECTS: Final = 10
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
#: Content-Encoding -> zlib ``wbits`` (gzip wrapper; zlib wrapper, as RFC 9110 says).
_ENCODINGS: Final = {"gzip": 31, "x-gzip": 31, "deflate": 15}


# --- the policy ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourcePolicy:
    """How a remote source fetches and caches: the limits every govkit source shares.

    Each field left as ``None`` takes the source's own default; the source's
    docstring lists them. A field a source has no use for must stay ``None`` (a
    :class:`~govkit.errors.ConfigurationError` otherwise), so no setting is ever
    silently ignored: the payment clients use only ``timeout``, ``max_bytes`` and
    ``max_redirects``; :class:`~govkit.identity.JwksSource` all but ``min_sequence``;
    the trust and status list sources all of them.

    >>> from datetime import timedelta
    >>> from govkit.identity import SourcePolicy
    >>> SourcePolicy(timeout=3.0, ttl=timedelta(minutes=10)).max_bytes is None
    True

    Attributes:
        timeout: seconds for connecting and for each read, and the deadline, counted
            from the start of a fetch, by which the whole body must have arrived (a
            body trickling in cannot keep a fetch alive past it); at most 300.
        max_bytes: the largest body accepted, counted while it streams in (after
            ``gzip``/``deflate`` decoding).
        ttl: how long a fetched document is used before the source fetches it again
            (for a JWKS: the lifetime of a set served without ``Cache-Control``).
        max_stale: how long past its expiry a document stays usable while refreshes
            fail (for the lists: for a caller passing ``allow_stale=True``).
        refetch_cooldown: the least time between two automatic fetches (the lists:
            after a failed one).
        min_sequence: refuse a list whose sequence is lower (the lists only; persist
            the source's ``sequence`` and pass it back after a restart).
        max_redirects: how many redirects within the same origin (scheme, host and
            port) are followed; ``0``, every source's default, makes any redirect a
            failed fetch. A redirect to another origin is always refused.
    """

    timeout: float | None = None
    max_bytes: int | None = None
    ttl: timedelta | None = None
    max_stale: timedelta | None = None
    refetch_cooldown: timedelta | None = None
    min_sequence: int | None = None
    max_redirects: int | None = None

    def __post_init__(self) -> None:
        timeout = self.timeout
        if timeout is not None:
            if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
                raise ConfigurationError("timeout must be a number of seconds", argument="timeout")
            if not 0 < timeout <= 300:
                raise ConfigurationError(
                    "timeout must be between 0 and 300 seconds", argument="timeout"
                )
        _check_int(self.max_bytes, "max_bytes", minimum=1)
        _check_int(self.min_sequence, "min_sequence", minimum=0)
        _check_int(self.max_redirects, "max_redirects", minimum=0, maximum=_MAX_REDIRECTS)
        _check_duration(self.ttl, "ttl", zero=False)
        _check_duration(self.max_stale, "max_stale", zero=True)
        _check_duration(self.refetch_cooldown, "refetch_cooldown", zero=True)


def _check_int(value: object, name: str, *, minimum: int, maximum: int | None = None) -> None:
    if value is None:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < minimum
        or (maximum is not None and value > maximum)
    ):
        bounds = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise ConfigurationError(f"{name} must be an integer {bounds}", argument=name)


def _check_duration(value: object, name: str, *, zero: bool) -> None:
    if value is None:
        return
    if not isinstance(value, timedelta) or value < timedelta(0) or (not zero and not value):
        raise ConfigurationError(f"{name} must be a positive timedelta", argument=name)


@dataclass(frozen=True, slots=True)
class Limits:
    """A source's settled limits: its :class:`SourcePolicy` with every default filled in.

    Fields the source does not use are zero.
    """

    timeout: float
    max_bytes: int
    ttl: timedelta = timedelta(0)
    max_stale: timedelta = timedelta(0)
    refetch_cooldown: timedelta = timedelta(0)
    min_sequence: int = 0
    max_redirects: int = 0


def settle(
    policy: SourcePolicy | None, keywords: SourcePolicy, defaults: SourcePolicy, *, what: str
) -> Limits:
    """The limits a source runs with, from ``policy``, its older keywords and its defaults.

    ``keywords`` holds the source's individual keyword arguments (``timeout=``,
    ``max_bytes=``...; ``None`` when not given); ``defaults`` the source's defaults,
    ``None`` for the fields it does not use.

    Raises:
        ConfigurationError: ``policy`` is not a :class:`SourcePolicy`; a value is given
            both as a keyword and in ``policy``; or a field the source does not use is set.
    """
    if policy is not None and not isinstance(policy, SourcePolicy):
        raise ConfigurationError("policy must be a SourcePolicy", argument="policy")
    chosen: dict[str, Any] = {}
    for field in fields(SourcePolicy):
        name = field.name
        in_policy = getattr(policy, name) if policy is not None else None
        keyword = getattr(keywords, name)
        if in_policy is not None and keyword is not None:
            raise ConfigurationError(
                f"{name} is given twice, as a keyword and in policy", argument=name
            )
        value = in_policy if in_policy is not None else keyword
        default = getattr(defaults, name)
        if default is None:
            if value is not None:
                raise ConfigurationError(f"{name} does not apply to {what}", argument=name)
            continue
        chosen[name] = value if value is not None else default
    return Limits(**chosen)


# --- URLs ------------------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    """Whether ``host`` is ``localhost`` or a loopback address (``127.0.0.0/8``, ``::1``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: object, what: str) -> str:
    """``url`` if a source may fetch it: ``https``, or ``http`` to a loopback host.

    Raises:
        ConfigurationError: not an ASCII URL with a host; credentials or a fragment in
            it; another scheme, or plain ``http`` to a host that is not loopback.
    """
    if not isinstance(url, str) or not url.isascii():
        raise ConfigurationError(f"the {what} URL must be an ASCII string")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        raise ConfigurationError(f"the {what} URL is malformed") from None
    if not host:
        raise ConfigurationError(f"the {what} URL has no host")
    if parts.username is not None or parts.password is not None:
        raise ConfigurationError(
            f"the {what} URL must not carry credentials; configure them on the session"
        )
    if parts.fragment:
        raise ConfigurationError(f"the {what} URL must not have a fragment")
    scheme = parts.scheme.lower()
    if scheme == "https" or (scheme == "http" and is_loopback(host)):
        return url
    raise ConfigurationError(f"the {what} URL must use https (http only for a loopback host)")


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme, 0)


# --- the fetcher -----------------------------------------------------------------------


class FetchError(Exception):
    """A fetch failed; ``reason`` is a stable word, ``status`` the HTTP status if any.

    Never leaves govkit: each caller maps it to its component's error. The message
    quotes neither the body nor a header value nor the URL.
    """

    def __init__(self, reason: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.status = status


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What a fetch returned: ``200`` with the body, or ``304`` (``not_modified``) without.

    Attributes:
        status: ``200``, ``304`` for a conditional request the server answered
            with "not modified", or another status the caller listed in ``statuses``.
        body: the body, decoded (empty for ``304``).
        headers: the response headers (case-insensitive).
        url: the URL that answered (after any same-origin redirect).
        etag: the ``ETag`` header, to pass back as ``etag`` next time.
        last_modified: the ``Last-Modified`` header, to pass back next time.
    """

    status: int
    body: bytes
    headers: Mapping[str, str]
    url: str
    etag: str | None
    last_modified: str | None

    @property
    def not_modified(self) -> bool:
        """Whether the server said the document has not changed (``304``)."""
        return self.status == 304


def fetch(
    session: requests.Session,
    url: str,
    *,
    accept: Sequence[str],
    timeout: float,
    max_bytes: int,
    max_redirects: int = 0,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    data: bytes | Mapping[str, str] | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
    what: str = "document",
    statuses: Collection[int] = (200,),
) -> FetchResult:
    """Fetch ``url`` with ``session`` within every bound in the module docstring.

    Args:
        session: the :class:`requests.Session` to send with (connection reuse,
            proxies, CA bundle, client certificates; a fake transport in tests).
        url: what to fetch (``https``; ``http`` only for loopback hosts).
        accept: the content types accepted (sent as ``Accept``; parameters such as
            ``charset`` are ignored when comparing).
        timeout: seconds for connecting, each read, and the deadline for the body.
        max_bytes: the largest body accepted.
        max_redirects: redirects followed within the origin (``GET`` only).
        method: the HTTP method.
        headers: extra request headers (they win over the ones set here).
        data: a request body (bytes, or a form as a mapping).
        etag: an earlier result's ``etag`` (sent as ``If-None-Match``).
        last_modified: an earlier result's ``last_modified`` (``If-Modified-Since``).
        what: names the document in messages (``"JWKS"``, ``"trust list"``).
        statuses: the statuses answered with a result rather than a
            :class:`FetchError` (default ``200`` only). An OAuth client passes its
            error statuses (``400``, ``401``) to read the JSON error they carry: the
            body of such a status is read within the same bounds when its content
            type is accepted, and is empty otherwise (``200`` keeps its content type
            check).

    Raises:
        ConfigurationError: ``url`` is not one a source may fetch, or ``accept`` is empty.
        FetchError: the fetch failed (``reason`` says why).
    """
    check_url(url, what)
    if isinstance(accept, str) or not accept:
        raise ConfigurationError("accept must be a non-empty sequence of content types")
    accepted = frozenset(media.lower() for media in accept)
    sent: dict[str, str] = {"Accept": ", ".join(accept), "Accept-Encoding": "gzip, deflate"}
    conditional = bool(etag or last_modified)
    if etag:
        sent["If-None-Match"] = etag
    if last_modified:
        sent["If-Modified-Since"] = last_modified
    sent.update(headers or {})
    started = time.monotonic()
    deadline = started + timeout
    origin = _origin(url)
    current = url
    for hop in range(max_redirects + 1):
        # The first request gets the whole timeout; later hops what is left of it.
        wait = timeout if hop == 0 else deadline - time.monotonic()
        if wait <= 0:
            raise FetchError("timeout", f"the {what} request took too long")
        response = _send(session, method, current, headers=sent, data=data, timeout=wait, what=what)
        with response:
            status = response.status_code
            if status in _REDIRECTS:
                current = _redirect(
                    response,
                    current,
                    origin=origin,
                    method=method,
                    max_redirects=max_redirects,
                    what=what,
                )
                continue
            result_headers: CaseInsensitiveDict[str] = CaseInsensitiveDict(response.headers)
            if status == 304 and conditional:
                body = b""
            elif status not in statuses:
                raise FetchError("http_status", f"the {what} URL answered HTTP {status}", status)
            else:
                media = result_headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
                if media in accepted:
                    body = _read_body(response, deadline, max_bytes, what)
                elif status == 200:
                    raise FetchError("content_type", f"the {what} has the wrong Content-Type")
                else:
                    body = b""
        return FetchResult(
            status=status,
            body=body,
            headers=result_headers,
            url=current,
            etag=result_headers.get("ETag"),
            last_modified=result_headers.get("Last-Modified"),
        )
    raise FetchError("redirect", f"the {what} URL redirected more than {max_redirects} times")


def _send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    data: bytes | Mapping[str, str] | None,
    timeout: float,
    what: str,
) -> requests.Response:
    try:
        return session.request(
            method,
            url,
            headers=dict(headers),
            data=data,
            timeout=timeout,
            allow_redirects=False,
            stream=True,
        )
    except requests.Timeout:
        raise FetchError("timeout", f"the {what} request timed out") from None
    except requests.RequestException as exc:
        raise FetchError("network", f"the {what} request failed ({type(exc).__name__})") from None


def _redirect(
    response: requests.Response,
    current: str,
    *,
    origin: tuple[str, str, int],
    method: str,
    max_redirects: int,
    what: str,
) -> str:
    """Where a redirect leads, if it may be followed (the caller counts the hops)."""
    status = response.status_code
    if max_redirects == 0:
        raise FetchError("redirect", f"the {what} URL redirected; redirects are refused", status)
    if method.upper() != "GET":
        raise FetchError("redirect", f"the {what} request was redirected; refused", status)
    location = response.headers.get("Location", "").strip()
    if not location or not location.isascii():
        raise FetchError("redirect", f"the {what} URL redirected without a usable Location", status)
    try:
        target = urljoin(current, location).split("#", 1)[0]
        parts = urlsplit(target)
        same = _origin(target) == origin
    except ValueError:
        raise FetchError(
            "redirect", f"the {what} URL redirected to a malformed location", status
        ) from None
    if not same or parts.username is not None or parts.password is not None:
        raise FetchError(
            "redirect", f"the {what} URL redirected to another origin; refused", status
        )
    return target


def _reader(raw: Any, deadline: float) -> Callable[[], bytes]:
    """A function returning the next piece of the raw body (``b""`` at its end).

    ``read1`` returns what has arrived (at most one read of the socket), so the
    deadline is checked after every piece, and before each read the socket's timeout
    is cut to what is left of the deadline; ``read(n)`` would wait for ``n`` bytes
    however slowly they came. ``raw`` is urllib3's response (undecoded: decoding is
    bounded here), or a plain file object from a test transport.
    """
    read1 = getattr(raw, "read1", None)
    if not hasattr(raw, "decode_content"):  # a plain file object
        return (lambda: read1(_CHUNK)) if read1 is not None else (lambda: raw.read(1024))
    connection = getattr(raw, "connection", None) or getattr(raw, "_connection", None)
    sock = getattr(connection, "sock", None)

    def read() -> bytes:
        if sock is not None:
            sock.settimeout(max(deadline - time.monotonic(), 0.001))
        if read1 is not None:
            return bytes(read1(_CHUNK, decode_content=False))
        return bytes(raw.read(1024, decode_content=False))  # urllib3 < 2.3

    return read


def _read_body(response: requests.Response, deadline: float, max_bytes: int, what: str) -> bytes:
    """The body, read as it arrives, stopped at ``max_bytes`` or at the deadline."""
    too_large = FetchError("too_large", f"the {what} is larger than {max_bytes} bytes")
    coding = response.headers.get("Content-Encoding", "").strip().lower()
    if coding in ("", "identity"):
        decoder = None
        length = response.headers.get("Content-Length", "").strip()
        if length.isdigit() and int(length) > max_bytes:
            raise too_large
    elif coding in _ENCODINGS:
        decoder = zlib.decompressobj(_ENCODINGS[coding])
    else:
        raise FetchError("content_encoding", f"the {what} has an unsupported Content-Encoding")
    read = _reader(response.raw, deadline)
    body = bytearray()
    received = 0
    try:
        while chunk := read():
            received += len(chunk)
            if decoder is None:
                body += chunk
            else:
                body += decoder.decompress(chunk, max_bytes + 1 - len(body))
                if received > 2 * max_bytes + 1024:  # a stream that decodes to nothing
                    raise too_large
            if len(body) > max_bytes:
                raise too_large
            if time.monotonic() > deadline:
                raise FetchError("timeout", f"the {what} body took too long")
    except FetchError:
        raise
    except zlib.error:
        raise FetchError("content_encoding", f"the {what} body does not decode") from None
    except Exception as exc:
        # urllib3's own errors: requests wraps them only inside iter_content.
        reason = "timeout" if "timeout" in type(exc).__name__.lower() else "network"
        raise FetchError(reason, f"reading the {what} failed ({type(exc).__name__})") from None
    # The whole body was read: the connection may serve the session's next request.
    release = getattr(response.raw, "release_conn", None)
    if release is not None:
        release()
    if decoder is not None and (not decoder.eof or decoder.unused_data):
        raise FetchError("content_encoding", f"the {what} body does not decode")
    return bytes(body)
