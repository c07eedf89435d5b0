"""Trust and status list sources against a real HTTP server on 127.0.0.1.

The server is :class:`http.server.ThreadingHTTPServer` on a free port in a background
thread; the test scripts what it serves and how it fails, and counts requests. Cache
time is a :class:`~govkit.testing.FixedClock` the tests move; sockets are real.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from govkit.certificates import SourcePolicy
from govkit.certificates._model import Agency
from govkit.certificates._sources import TrustListSource
from govkit.certificates._status import Status, StatusList, StatusListSource, sign_status_list
from govkit.certificates._trust import (
    TrustedIssuer,
    TrustedKey,
    TrustList,
    sign_trust_list,
)
from govkit.errors import ConfigurationError, TrustListError, TrustListStale
from govkit.keys import SigningKey
from govkit.testing import FixedClock

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
ANCHOR = SigningKey.generate("ES256")
ISSUER_KEY = SigningKey.generate("EdDSA")
POLICE = Agency("广州市公安局", "11440100MB2C92923F")
TRUST_PATH = "/trust.json"
STATUS_PATH = "/status.json"
SECRET_BODY = b"internal-stack-trace-do-not-log"


def trust_document(sequence: int, *, days: int = 7) -> bytes:
    issuer = TrustedIssuer(
        POLICE, (TrustedKey.for_key(ISSUER_KEY.verifying_key, {"driving-licence"}),)
    )
    return sign_trust_list(TrustList((issuer,), sequence, T0, T0 + timedelta(days=days)), ANCHOR)


def status_document(sequence: int, revoked: int | None = None) -> bytes:
    statuses = StatusList(131072, list_id="gz-police-2026")
    if revoked is not None:
        statuses.set(revoked, Status.REVOKED)
    return sign_status_list(
        statuses,
        ISSUER_KEY,
        issued_at=T0,
        expires_at=T0 + timedelta(days=1),
        sequence=sequence,
    )


@dataclass
class Script:
    """What the server answers next; changed by the tests while it runs."""

    documents: dict[str, bytes] = field(default_factory=dict)
    fault: str | None = None
    content_type: str = "application/json"
    requests: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, path: str) -> int:
        with self.lock:
            return self.requests.count(path)


def make_handler(script: Script) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def send(self, status: int, body: bytes, **headers: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", script.content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            with script.lock:
                script.requests.append(self.path)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                if script.fault == "500":
                    self.send(500, SECRET_BODY)
                elif script.fault == "redirect":
                    self.send(302, b"", Location="https://evil.example/trust.json")
                elif script.fault == "cross_origin":
                    # localhost is another origin than 127.0.0.1 but this same server:
                    # a followed redirect would show in script.requests.
                    port = self.server.server_address[1]
                    self.send(302, b"", Location=f"http://localhost:{port}{self.path}")
                elif self.path.startswith("/moved/"):
                    self.send(301, b"", Location=self.path.removeprefix("/moved"))
                elif script.fault == "huge":
                    self.send(200, b"{" + b" " * (2 * 1024 * 1024) + b"}")
                elif self.path in script.documents:
                    self.send(200, script.documents[self.path])
                else:
                    self.send(404, SECRET_BODY)

    return Handler


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(script))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", script
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


def trust_source(base: str, clock: FixedClock, **kwargs: Any) -> TrustListSource:
    return TrustListSource(
        base + TRUST_PATH,
        [ANCHOR.verifying_key],
        clock=clock,
        ttl=timedelta(minutes=10),
        refetch_cooldown=timedelta(seconds=30),
        timeout=2.0,
        **kwargs,
    )


def test_the_list_is_fetched_once_and_cached_for_its_ttl(
    server: tuple[str, Script], clock: FixedClock
) -> None:
    base, script = server
    script.documents[TRUST_PATH] = trust_document(1)
    source = trust_source(base, clock)
    try:
        assert source.get().sequence == 1
        assert source.get().sequence == 1
        clock.advance(timedelta(minutes=9))
        source.get()
        assert script.count(TRUST_PATH) == 1
        script.documents[TRUST_PATH] = trust_document(2)
        clock.advance(timedelta(minutes=2))
        assert source.get().sequence == 2
        assert script.count(TRUST_PATH) == 2
    finally:
        source.close()


def test_a_failed_refresh_keeps_the_last_good_list(
    server: tuple[str, Script], clock: FixedClock
) -> None:
    base, script = server
    script.documents[TRUST_PATH] = trust_document(1)
    source = trust_source(base, clock, max_bytes=1024 * 1024)  # "huge" is 2 MiB
    try:
        source.get()
        for fault in ("500", "redirect", "huge"):
            script.fault = fault
            clock.advance(timedelta(minutes=11))
            assert source.get().sequence == 1
            with pytest.raises(TrustListError) as caught:
                source.refresh()
            assert caught.value.context["reason"] in ("http_status", "redirect", "too_large")
            assert SECRET_BODY.decode() not in str(caught.value.to_dict())
    finally:
        source.close()


def test_a_failing_server_is_not_hammered(server: tuple[str, Script], clock: FixedClock) -> None:
    base, script = server
    script.documents[TRUST_PATH] = trust_document(1)
    source = trust_source(base, clock)
    try:
        source.get()
        script.fault = "500"
        clock.advance(timedelta(minutes=11))
        for _ in range(5):
            source.get()
        assert script.count(TRUST_PATH) == 2
        clock.advance(timedelta(seconds=31))
        source.get()
        assert script.count(TRUST_PATH) == 3
    finally:
        source.close()


def test_rollback_to_a_lower_sequence_is_refused(
    server: tuple[str, Script], clock: FixedClock
) -> None:
    base, script = server
    script.documents[TRUST_PATH] = trust_document(7)
    source = trust_source(base, clock)
    try:
        assert source.get().sequence == 7
        script.documents[TRUST_PATH] = trust_document(6, days=30)  # an old but signed list
        clock.advance(timedelta(minutes=11))
        assert source.get().sequence == 7
        with pytest.raises(TrustListError) as caught:
            source.refresh()
        assert caught.value.context["reason"] == "rollback"
        assert caught.value.context["sequence"] == 6
    finally:
        source.close()


def test_with_nothing_good_the_source_is_unavailable(
    server: tuple[str, Script], clock: FixedClock
) -> None:
    base, script = server
    script.fault = "500"
    source = trust_source(base, clock)
    try:
        with pytest.raises(TrustListError) as caught:
            source.get()
        assert caught.value.code == "trust.unavailable"
        assert caught.value.context["status"] == 500
    finally:
        source.close()


def test_a_list_that_expires_while_offline_becomes_stale(
    server: tuple[str, Script], clock: FixedClock
) -> None:
    base, script = server
    script.documents[TRUST_PATH] = trust_document(1)
    source = trust_source(base, clock)
    try:
        source.get()
        script.fault = "500"
        clock.advance(timedelta(days=8))
        with pytest.raises(TrustListStale):
            source.get()
        assert source.get(allow_stale=True).is_stale(clock.now())
    finally:
        source.close()


def test_the_status_list_is_served_and_cached(
    server: tuple[str, Script], clock: FixedClock
) -> None:
    base, script = server
    script.documents[STATUS_PATH] = status_document(1, revoked=4242)
    source = StatusListSource(
        base + STATUS_PATH,
        [ISSUER_KEY.verifying_key],
        list_id="gz-police-2026",
        clock=clock,
        ttl=timedelta(minutes=5),
    )
    try:
        assert source.get().status(4242) is Status.REVOKED
        assert source.get().status(4243) is Status.VALID
        assert script.count(STATUS_PATH) == 1
        script.documents[STATUS_PATH] = status_document(0)
        clock.advance(timedelta(minutes=6))
        assert source.get().status(4242) is Status.REVOKED  # rollback refused
        with pytest.raises(TrustListError) as caught:
            source.refresh()
        assert caught.value.context["reason"] == "rollback"
        script.documents[STATUS_PATH] = status_document(2)
        assert source.refresh().status(4242) is Status.VALID
    finally:
        source.close()


# --- redirects (the one HTTP fetcher) ----------------------------------------------


def test_a_cross_origin_redirect_of_the_trust_list_is_refused(
    server: tuple[str, Script], clock: FixedClock
) -> None:
    base, script = server
    script.documents[TRUST_PATH] = trust_document(1)
    script.fault = "cross_origin"
    source = TrustListSource(
        base + TRUST_PATH,
        [ANCHOR.verifying_key],
        clock=clock,
        policy=SourcePolicy(timeout=2.0, max_redirects=3),
    )
    try:
        with pytest.raises(TrustListError) as caught:
            source.get()
        assert (caught.value.code, caught.value.context["reason"]) == (
            "trust.unavailable",
            "redirect",
        )
        assert caught.value.context["status"] == 302
        assert script.requests == [TRUST_PATH]
    finally:
        source.close()


def test_a_cross_origin_redirect_of_the_status_list_is_refused(
    server: tuple[str, Script], clock: FixedClock
) -> None:
    base, script = server
    script.documents[STATUS_PATH] = status_document(1)
    script.fault = "cross_origin"
    source = StatusListSource(
        base + STATUS_PATH,
        [ISSUER_KEY.verifying_key],
        clock=clock,
        policy=SourcePolicy(timeout=2.0, max_redirects=3),
    )
    try:
        with pytest.raises(TrustListError) as caught:
            source.get()
        assert (caught.value.code, caught.value.context["reason"]) == (
            "trust.unavailable",
            "redirect",
        )
        assert script.requests == [STATUS_PATH]
    finally:
        source.close()


def test_a_same_origin_redirect_is_followed_only_when_the_policy_allows(
    server: tuple[str, Script], clock: FixedClock
) -> None:
    base, script = server
    script.documents[TRUST_PATH] = trust_document(1)
    moved = base + "/moved" + TRUST_PATH
    refusing = TrustListSource(moved, [ANCHOR.verifying_key], clock=clock, timeout=2.0)
    following = TrustListSource(
        moved, [ANCHOR.verifying_key], clock=clock, policy=SourcePolicy(max_redirects=1)
    )
    try:
        with pytest.raises(TrustListError) as caught:
            refusing.get()
        assert caught.value.context["reason"] == "redirect"
        assert following.get().sequence == 1
        assert script.requests == ["/moved" + TRUST_PATH, "/moved" + TRUST_PATH, TRUST_PATH]
    finally:
        refusing.close()
        following.close()


def test_a_list_served_as_html_is_refused(server: tuple[str, Script], clock: FixedClock) -> None:
    base, script = server
    script.documents[TRUST_PATH] = trust_document(1)
    script.content_type = "text/html"
    source = trust_source(base, clock)
    try:
        with pytest.raises(TrustListError) as caught:
            source.get()
        assert caught.value.context["reason"] == "content_type"
    finally:
        source.close()


def test_a_policy_and_the_same_keyword_together_are_refused() -> None:
    with pytest.raises(ConfigurationError) as caught:
        TrustListSource(
            "https://trust.example.gov.cn/trust.json",
            [ANCHOR.verifying_key],
            policy=SourcePolicy(ttl=timedelta(minutes=5)),
            ttl=timedelta(minutes=10),
        )
    assert caught.value.context["argument"] == "ttl"
