"""The one bounded HTTP fetcher (``govkit._http.fetch``) against real HTTP servers on 127.0.0.1.

Two :class:`http.server.ThreadingHTTPServer` instances on free ports, each in a
background thread: the *origin* the fetcher is pointed at, and *another origin* (same
host, another port) that a redirect tries to send it to. Each counts the requests it
received, so a test can show what was never asked for. Sockets and timeouts are real.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from govkit._http import FetchError, FetchResult, fetch

DOCUMENT = json.dumps({"keys": [], "note": "hello"}).encode()
SECRET_BODY = b"internal-stack-trace-do-not-log"
ETAG = '"v1"'
LAST_MODIFIED = "Mon, 01 Jun 2026 09:00:00 GMT"
JSON = ("application/json",)


@dataclass
class Log:
    """The paths a server was asked for, in order."""

    paths: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, path: str) -> None:
        with self.lock:
            self.paths.append(path)

    def snapshot(self) -> list[str]:
        with self.lock:
            return list(self.paths)


def make_handler(log: Log, elsewhere: list[str]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def head(self, status: int, content_type: str = "application/json", **extra: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            for name, value in extra.items():
                self.send_header(name.replace("_", "-"), value)
            self.end_headers()

        def send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.head(status, content_type, Content_Length=str(len(body)))
            self.wfile.write(body)

        def redirect(self, location: str, status: int = 302) -> None:
            self.head(status, Location=location, Content_Length="0")

        def do_GET(self) -> None:
            log.add(self.path)
            # The client may give up first (deadline, size cap): that is the point.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.answer(self.path)

        def do_POST(self) -> None:
            log.add(self.path)
            length = int(self.headers.get("Content-Length", "0"))
            self.rfile.read(length)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.answer(self.path)

        def answer(self, path: str) -> None:
            if path == "/doc":
                if self.headers.get("If-None-Match") == ETAG or (
                    self.headers.get("If-Modified-Since") == LAST_MODIFIED
                ):
                    self.head(304, ETag=ETAG, Content_Length="0")
                    return
                self.head(
                    200,
                    ETag=ETAG,
                    Last_Modified=LAST_MODIFIED,
                    Content_Length=str(len(DOCUMENT)),
                )
                self.wfile.write(DOCUMENT)
            elif path.startswith("/hop/"):
                left = int(path.rsplit("/", 1)[1])
                self.redirect("/doc" if left == 0 else f"/hop/{left - 1}")
            elif path == "/loop":
                self.redirect("/loop", 307)
            elif path == "/away":
                self.redirect(f"{elsewhere[0]}/doc")
            elif path == "/away-relative-scheme":
                self.redirect(f"//{elsewhere[0].split('://', 1)[1]}/doc", 301)
            elif path == "/endless":
                self.head(200)  # no Content-Length: HTTP/1.0, the body ends at close
                chunk = b" " * 65536
                while True:
                    self.wfile.write(chunk)
            elif path == "/announced-huge":
                self.head(200, Content_Length=str(10 * 1024 * 1024))
                self.wfile.write(b" " * 1024)
            elif path == "/trickle":
                self.head(200, Content_Length="1000")
                for _ in range(1000):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.2)
            elif path == "/html":
                self.send(200, b"<html>" + SECRET_BODY + b"</html>", "text/html; charset=utf-8")
            elif path == "/json-charset":
                self.send(200, DOCUMENT, "Application/JSON; charset=utf-8")
            elif path == "/500":
                self.send(500, SECRET_BODY, "text/plain")
            elif path == "/not-modified-unasked":
                self.head(304, Content_Length="0")
            elif path == "/gzip":
                body = gzip.compress(DOCUMENT)
                self.head(200, Content_Encoding="gzip", Content_Length=str(len(body)))
                self.wfile.write(body)
            elif path == "/gzip-bomb":
                body = gzip.compress(b" " * (20 * 1024 * 1024))
                self.head(200, Content_Encoding="gzip", Content_Length=str(len(body)))
                self.wfile.write(body)
            elif path == "/brotli":
                self.head(200, Content_Encoding="br", Content_Length="4")
                self.wfile.write(b"\x00\x00\x00\x00")
            else:
                self.send(404, SECRET_BODY, "text/plain")

    return Handler


@dataclass
class Origin:
    url: str
    log: Log


@contextlib.contextmanager
def serve(elsewhere: list[str]) -> Iterator[Origin]:
    log = Log()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(log, elsewhere))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield Origin(f"http://127.0.0.1:{httpd.server_address[1]}", log)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


@pytest.fixture
def other() -> Iterator[Origin]:
    """Another origin: the same host on another port."""
    with serve([]) as origin:
        yield origin


@pytest.fixture
def origin(other: Origin) -> Iterator[Origin]:
    with serve([other.url]) as origin:
        yield origin


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def get(session: requests.Session, url: str, **options: Any) -> FetchResult:
    settings: dict[str, Any] = {"accept": JSON, "timeout": 5.0, "max_bytes": 65536}
    settings.update(options)
    return fetch(session, url, what="test document", **settings)


def refused(session: requests.Session, url: str, **options: Any) -> FetchError:
    with pytest.raises(FetchError) as caught:
        get(session, url, **options)
    error = caught.value
    assert SECRET_BODY.decode() not in str(error)
    return error


# --- the plain case ---------------------------------------------------------------


def test_a_document_is_fetched_with_its_validators(
    origin: Origin, session: requests.Session
) -> None:
    result = get(session, origin.url + "/doc")
    assert (result.status, result.body, result.not_modified) == (200, DOCUMENT, False)
    assert (result.etag, result.last_modified) == (ETAG, LAST_MODIFIED)
    assert result.headers["content-type"] == "application/json"
    assert result.url == origin.url + "/doc"


def test_content_type_parameters_and_case_are_ignored(
    origin: Origin, session: requests.Session
) -> None:
    assert get(session, origin.url + "/json-charset").body == DOCUMENT


def test_one_session_serves_many_fetches(origin: Origin, session: requests.Session) -> None:
    for _ in range(3):
        assert get(session, origin.url + "/doc").body == DOCUMENT
    assert origin.log.snapshot() == ["/doc"] * 3


# --- redirects --------------------------------------------------------------------


def test_cross_origin_redirect_is_refused_and_never_followed(
    origin: Origin, other: Origin, session: requests.Session
) -> None:
    error = refused(session, origin.url + "/away", max_redirects=5)
    assert (error.reason, error.status) == ("redirect", 302)
    assert "another origin" in error.message
    assert other.log.snapshot() == []


def test_scheme_relative_redirect_to_another_port_is_refused(
    origin: Origin, other: Origin, session: requests.Session
) -> None:
    error = refused(session, origin.url + "/away-relative-scheme", max_redirects=5)
    assert error.reason == "redirect"
    assert other.log.snapshot() == []


def test_same_origin_redirects_are_followed_up_to_the_bound(
    origin: Origin, session: requests.Session
) -> None:
    result = get(session, origin.url + "/hop/2", max_redirects=3)
    assert (result.status, result.body) == (200, DOCUMENT)
    assert result.url == origin.url + "/doc"
    assert origin.log.snapshot() == ["/hop/2", "/hop/1", "/hop/0", "/doc"]


def test_one_redirect_too_many_is_refused(origin: Origin, session: requests.Session) -> None:
    error = refused(session, origin.url + "/hop/2", max_redirects=2)
    assert error.reason == "redirect"
    assert origin.log.snapshot() == ["/hop/2", "/hop/1", "/hop/0"]  # /doc never asked for


def test_a_redirect_loop_stops_at_the_bound(origin: Origin, session: requests.Session) -> None:
    error = refused(session, origin.url + "/loop", max_redirects=4)
    assert error.reason == "redirect"
    assert len(origin.log.snapshot()) == 5


def test_by_default_a_same_origin_redirect_is_a_failed_fetch(
    origin: Origin, session: requests.Session
) -> None:
    error = refused(session, origin.url + "/hop/0")
    assert (error.reason, error.status) == ("redirect", 302)
    assert origin.log.snapshot() == ["/hop/0"]


def test_a_redirected_post_is_refused(origin: Origin, session: requests.Session) -> None:
    error = refused(session, origin.url + "/hop/0", method="POST", data=b"{}", max_redirects=3)
    assert error.reason == "redirect"
    assert origin.log.snapshot() == ["/hop/0"]


# --- size and time ----------------------------------------------------------------


def test_an_endless_body_is_refused_at_the_byte_limit_quickly(
    origin: Origin, session: requests.Session
) -> None:
    started = time.monotonic()
    error = refused(session, origin.url + "/endless", max_bytes=100_000)
    assert error.reason == "too_large"
    assert time.monotonic() - started < 2.0


def test_an_announced_oversized_body_is_refused_before_reading(
    origin: Origin, session: requests.Session
) -> None:
    assert refused(session, origin.url + "/announced-huge").reason == "too_large"


def test_a_gzip_bomb_is_refused_at_the_decoded_byte_limit(
    origin: Origin, session: requests.Session
) -> None:
    started = time.monotonic()
    error = refused(session, origin.url + "/gzip-bomb", max_bytes=100_000)
    assert error.reason == "too_large"
    assert time.monotonic() - started < 2.0


def test_a_gzip_body_is_decoded(origin: Origin, session: requests.Session) -> None:
    assert get(session, origin.url + "/gzip").body == DOCUMENT


def test_an_unsupported_content_encoding_is_refused(
    origin: Origin, session: requests.Session
) -> None:
    assert refused(session, origin.url + "/brotli").reason == "content_encoding"


def test_a_trickling_body_is_refused_at_the_deadline(
    origin: Origin, session: requests.Session
) -> None:
    """One byte every 0.2 s never trips the per-read timeout; the deadline stops it."""
    started = time.monotonic()
    error = refused(session, origin.url + "/trickle", timeout=1.0)
    elapsed = time.monotonic() - started
    assert error.reason == "timeout"
    assert 0.9 <= elapsed < 1.6, elapsed


# --- what is accepted ---------------------------------------------------------------


def test_a_wrong_content_type_is_refused(origin: Origin, session: requests.Session) -> None:
    error = refused(session, origin.url + "/html")
    assert (error.reason, error.status) == ("content_type", None)


def test_an_error_status_is_refused_without_its_body(
    origin: Origin, session: requests.Session
) -> None:
    error = refused(session, origin.url + "/500")
    assert (error.reason, error.status) == ("http_status", 500)


# --- conditional requests -------------------------------------------------------------


def test_an_unchanged_document_is_not_modified(origin: Origin, session: requests.Session) -> None:
    first = get(session, origin.url + "/doc")
    again = get(session, origin.url + "/doc", etag=first.etag)
    assert (again.status, again.not_modified, again.body) == (304, True, b"")
    by_date = get(session, origin.url + "/doc", last_modified=first.last_modified)
    assert by_date.not_modified


def test_a_304_nobody_asked_for_is_a_failed_fetch(
    origin: Origin, session: requests.Session
) -> None:
    error = refused(session, origin.url + "/not-modified-unasked")
    assert (error.reason, error.status) == ("http_status", 304)


def test_a_stale_validator_gets_the_new_document(origin: Origin, session: requests.Session) -> None:
    result = get(session, origin.url + "/doc", etag='"v0"')
    assert (result.status, result.body) == (200, DOCUMENT)


# --- the network itself -------------------------------------------------------------


def test_a_closed_port_is_a_network_failure(session: requests.Session) -> None:
    with serve([]) as gone:
        url = gone.url
    error = refused(session, url + "/doc", timeout=2.0)
    assert error.reason in ("network", "timeout")
