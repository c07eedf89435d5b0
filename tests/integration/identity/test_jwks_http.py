"""JwksSource against a real HTTP server on 127.0.0.1: caching, rotation, outages, floods.

The server is :class:`http.server.ThreadingHTTPServer` on a free port, in a background
thread, with a handler the test scripts (what to serve, how to fail) and that counts
the requests it received. Time for the cache is a :class:`~govkit.testing.FixedClock`
that the tests move; the network, its timeouts and its sockets are real.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from govkit.errors import JwksError, UnknownKey
from govkit.identity import SourcePolicy
from govkit.identity._jwks import JwksSource
from govkit.keys import SigningKey
from govkit.testing import FixedClock

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
PATH = "/.well-known/jwks.json"
SECRET_BODY = "internal-stack-trace-do-not-log"
TIMEOUT = 0.5


@dataclass
class Script:
    """What the server does next; changed by the tests while it runs."""

    keys: list[dict[str, Any]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    fault: str | None = None
    requests: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def publish(self, *keys: SigningKey, **headers: str) -> None:
        self.keys = [key.verifying_key.to_jwk() for key in keys]
        self.headers = headers
        self.fault = None

    @property
    def count(self) -> int:
        with self.lock:
            return len([p for p in self.requests if p == PATH])


def make_handler(script: Script) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            for name, value in headers.items():
                self.send_header(name, value)
            if "no_length" not in headers:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            with script.lock:
                script.requests.append(self.path)
            fault = script.fault if self.path == PATH else None
            good = json.dumps({"keys": script.keys}).encode()
            # The client may give up first (timeout or size cap).
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.answer(fault, good)

        def answer(self, fault: str | None, good: bytes) -> None:
            if fault is None:
                self.send(200, good, "application/json", **script.headers)
            elif fault == "500":
                self.send(500, SECRET_BODY.encode(), "text/plain")
            elif fault == "404":
                self.send(404, SECRET_BODY.encode(), "application/json")
            elif fault == "timeout":
                time.sleep(TIMEOUT * 3)
                self.send(200, good, "application/json")
            elif fault == "slow_body":
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(good[:10])
                self.wfile.flush()
                time.sleep(TIMEOUT * 3)
                self.wfile.write(good[10:])
            elif fault == "oversized":
                self.send(200, b" " * 70_000 + good, "application/json")
            elif fault == "oversized_no_length":
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()  # HTTP/1.0: the body ends when the connection closes
                for _ in range(100):
                    self.wfile.write(b" " * 1024)
                self.wfile.write(good)
            elif fault == "redirect":
                self.send_response(302)
                self.send_header("Location", "/elsewhere.json")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif fault == "cross_origin":
                # localhost is another origin than 127.0.0.1, served by this same server:
                # had the client followed, the request would be in script.requests.
                self.send_response(302)
                self.send_header("Location", f"http://localhost:{self.server.server_port}{PATH}")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif fault == "content_type":
                self.send(200, good, "text/html")
            elif fault == "json":
                self.send(200, b'{"keys": [' + SECRET_BODY.encode(), "application/json")
            elif fault == "no_usable_key":
                self.send(200, b'{"keys": [{"kty": "oct", "k": "AAAA"}]}', "application/json")
            else:  # pragma: no cover - a typo in a test
                raise AssertionError(fault)

    return Handler


@dataclass
class Server:
    url: str
    script: Script


@pytest.fixture
def server() -> Iterator[Server]:
    script = Script()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(script))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{httpd.server_address[1]}{PATH}", script)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture
def source(server: Server, session: requests.Session, clock: FixedClock) -> JwksSource:
    return JwksSource(server.url, session=session, clock=clock, timeout=TIMEOUT)


@pytest.fixture(scope="module")
def old_key() -> SigningKey:
    return SigningKey.generate("ES256")


@pytest.fixture(scope="module")
def new_key() -> SigningKey:
    return SigningKey.generate("EdDSA")


# --- caching ----------------------------------------------------------------------


def test_keys_are_fetched_once_and_served_from_cache(
    server: Server, source: JwksSource, old_key: SigningKey
) -> None:
    server.script.publish(old_key)
    for _ in range(20):
        assert source.get(old_key.kid) == old_key.verifying_key
    assert server.script.count == 1


def test_cache_control_max_age_is_honoured(
    server: Server, source: JwksSource, clock: FixedClock, old_key: SigningKey
) -> None:
    server.script.publish(old_key, **{"Cache-Control": "public, max-age=120"})
    source.get(old_key.kid)
    clock.advance(timedelta(seconds=119))
    source.get(old_key.kid)
    assert server.script.count == 1
    clock.advance(timedelta(seconds=2))
    source.get(old_key.kid)
    assert server.script.count == 2


def test_default_ttl_applies_without_cache_control(
    server: Server, source: JwksSource, clock: FixedClock, old_key: SigningKey
) -> None:
    server.script.publish(old_key)
    source.get(old_key.kid)
    clock.advance(timedelta(minutes=5) - timedelta(seconds=1))
    source.get(old_key.kid)
    assert server.script.count == 1
    clock.advance(timedelta(seconds=1))
    source.get(old_key.kid)
    assert server.script.count == 2


@pytest.mark.parametrize("cache_control", ["no-store", "no-cache", "max-age=0", "max-age=5"])
def test_no_store_and_tiny_max_age_are_held_for_min_ttl(
    cache_control: str,
    server: Server,
    source: JwksSource,
    clock: FixedClock,
    old_key: SigningKey,
) -> None:
    """Refetching on every request would let any token flood the issuer."""
    server.script.publish(old_key, **{"Cache-Control": cache_control})
    source.get(old_key.kid)
    clock.advance(timedelta(seconds=29))
    source.get(old_key.kid)
    assert server.script.count == 1
    clock.advance(timedelta(seconds=1))
    source.get(old_key.kid)
    assert server.script.count == 2


def test_huge_max_age_is_capped_at_max_ttl(
    server: Server, source: JwksSource, clock: FixedClock, old_key: SigningKey
) -> None:
    server.script.publish(old_key, **{"Cache-Control": "max-age=31536000"})
    source.get(old_key.kid)
    clock.advance(timedelta(hours=24))
    source.get(old_key.kid)
    assert server.script.count == 2


# --- rotation ---------------------------------------------------------------------


def test_a_new_kid_triggers_exactly_one_refetch(
    server: Server,
    source: JwksSource,
    clock: FixedClock,
    old_key: SigningKey,
    new_key: SigningKey,
) -> None:
    server.script.publish(old_key)
    source.get(old_key.kid)
    server.script.publish(old_key, new_key)  # the issuer rotates
    clock.advance(timedelta(seconds=30))
    assert source.get(new_key.kid) == new_key.verifying_key
    assert server.script.count == 2
    for _ in range(10):
        source.get(new_key.kid)
        source.get(old_key.kid)
    assert server.script.count == 2


def test_a_new_kid_seen_within_the_cooldown_waits_for_it(
    server: Server,
    source: JwksSource,
    clock: FixedClock,
    old_key: SigningKey,
    new_key: SigningKey,
) -> None:
    server.script.publish(old_key)
    source.get(old_key.kid)
    server.script.publish(old_key, new_key)
    clock.advance(timedelta(seconds=10))
    with pytest.raises(UnknownKey):
        source.get(new_key.kid)
    assert server.script.count == 1
    clock.advance(timedelta(seconds=20))
    assert source.get(new_key.kid) == new_key.verifying_key
    assert server.script.count == 2


def test_a_removed_key_disappears_at_the_next_refresh(
    server: Server,
    source: JwksSource,
    clock: FixedClock,
    old_key: SigningKey,
    new_key: SigningKey,
) -> None:
    server.script.publish(old_key, new_key, **{"Cache-Control": "max-age=60"})
    source.get(old_key.kid)
    server.script.publish(new_key, **{"Cache-Control": "max-age=60"})
    clock.advance(timedelta(seconds=61))
    with pytest.raises(UnknownKey):
        source.get(old_key.kid)
    assert source.get(new_key.kid) == new_key.verifying_key


# --- floods -----------------------------------------------------------------------


def random_kid() -> str:
    return secrets.token_urlsafe(32)


def test_a_flood_of_random_kids_costs_at_most_one_fetch_per_cooldown(
    server: Server, source: JwksSource, clock: FixedClock, old_key: SigningKey
) -> None:
    server.script.publish(old_key)
    source.get(old_key.kid)
    for window in range(3):
        before = server.script.count
        for _ in range(100):
            with pytest.raises(UnknownKey):
                source.get(random_kid())
            clock.advance(timedelta(milliseconds=290))  # 100 x 0.29 s < one 30 s cooldown
        assert server.script.count - before <= 1, window
        clock.advance(timedelta(seconds=1))
    assert server.script.count <= 4


def test_a_concurrent_flood_from_many_threads_costs_at_most_one_fetch(
    server: Server, source: JwksSource, clock: FixedClock, old_key: SigningKey
) -> None:
    server.script.publish(old_key)
    source.get(old_key.kid)
    clock.advance(timedelta(seconds=30))

    def attempt(_: int) -> str:
        try:
            source.get(random_kid())
        except UnknownKey as exc:
            return exc.code
        return "found"

    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(attempt, range(200)))
    assert set(outcomes) == {"key.unknown_kid"}
    assert server.script.count == 2
    assert source.get(old_key.kid) == old_key.verifying_key


def test_an_unknown_kid_is_cached_negatively(
    server: Server, source: JwksSource, clock: FixedClock, old_key: SigningKey
) -> None:
    server.script.publish(old_key, **{"Cache-Control": "max-age=3600"})
    source.get(old_key.kid)
    clock.advance(timedelta(seconds=30))
    with pytest.raises(UnknownKey):
        source.get("never-published")  # refetches once for it
    assert server.script.count == 2
    clock.advance(timedelta(seconds=60))  # the cooldown is over ...
    with pytest.raises(UnknownKey):
        source.get("never-published")  # ... but this kid is remembered as unknown
    assert server.script.count == 2
    with pytest.raises(UnknownKey):
        source.get("another-unknown")  # another kid may still refetch
    assert server.script.count == 3
    clock.advance(timedelta(minutes=5))
    with pytest.raises(UnknownKey):
        source.get("never-published")  # the negative entry expired
    assert server.script.count == 4


def test_a_negatively_cached_kid_is_found_once_a_refresh_brings_it(
    server: Server,
    source: JwksSource,
    clock: FixedClock,
    old_key: SigningKey,
    new_key: SigningKey,
) -> None:
    server.script.publish(old_key, **{"Cache-Control": "max-age=60"})
    source.get(old_key.kid)
    clock.advance(timedelta(seconds=30))
    with pytest.raises(UnknownKey):
        source.get(new_key.kid)
    server.script.publish(old_key, new_key, **{"Cache-Control": "max-age=60"})
    clock.advance(timedelta(seconds=61))  # the set expired: a scheduled refresh
    assert source.get(new_key.kid) == new_key.verifying_key


# --- failures -------------------------------------------------------------------

FAULTS = [
    ("500", "http_status"),
    ("404", "http_status"),
    ("timeout", "timeout"),
    ("slow_body", None),
    ("oversized", "too_large"),
    ("oversized_no_length", "too_large"),
    ("redirect", "redirect"),
    ("content_type", "content_type"),
    ("json", "json"),
    ("no_usable_key", "no_usable_key"),
]


@pytest.mark.parametrize(("fault", "reason"), FAULTS, ids=[f for f, _ in FAULTS])
def test_first_fetch_failing_raises_jwks_error(
    fault: str, reason: str | None, server: Server, source: JwksSource, old_key: SigningKey
) -> None:
    server.script.publish(old_key)
    server.script.fault = fault
    started = time.monotonic()
    with pytest.raises(JwksError) as caught:
        source.get(old_key.kid)
    assert time.monotonic() - started < TIMEOUT * 2.5
    error = caught.value
    assert error.code == "jwks.unavailable"
    if reason is not None:
        assert error.context["reason"] == reason
    else:
        assert error.context["reason"] in ("timeout", "network")
    assert SECRET_BODY not in str(error)
    assert SECRET_BODY not in json.dumps(error.to_dict())


@pytest.mark.parametrize("case", FAULTS, ids=[f for f, _ in FAULTS])
def test_last_good_set_is_kept_during_failures_until_max_stale(
    case: tuple[str, str | None],
    server: Server,
    source: JwksSource,
    clock: FixedClock,
    old_key: SigningKey,
) -> None:
    fault, reason = case
    server.script.publish(old_key, **{"Cache-Control": "max-age=300"})
    source.get(old_key.kid)
    server.script.fault = fault
    clock.advance(timedelta(seconds=300))  # expired: the refresh fails, the old set stays
    assert source.get(old_key.kid) == old_key.verifying_key
    assert server.script.count == 2
    clock.advance(timedelta(seconds=10))  # within the cooldown: no new attempt
    assert source.get(old_key.kid) == old_key.verifying_key
    assert server.script.count == 2
    clock.advance(timedelta(hours=23, minutes=59, seconds=49))  # 1 s short of max_stale
    assert source.get(old_key.kid) == old_key.verifying_key
    assert server.script.count == 3
    clock.advance(timedelta(seconds=1))  # max_stale reached and the server still fails
    with pytest.raises(JwksError) as caught:
        source.get(old_key.kid)
    if reason is not None:
        assert caught.value.context["reason"] == reason
    assert SECRET_BODY not in str(caught.value)


def test_the_redirect_target_is_never_requested(
    server: Server, source: JwksSource, old_key: SigningKey
) -> None:
    server.script.publish(old_key)
    server.script.fault = "redirect"
    with pytest.raises(JwksError):
        source.get(old_key.kid)
    assert server.script.requests == [PATH]


def test_a_cross_origin_redirect_is_refused_even_when_redirects_are_allowed(
    server: Server, session: requests.Session, clock: FixedClock, old_key: SigningKey
) -> None:
    server.script.publish(old_key)
    server.script.fault = "cross_origin"
    policy = SourcePolicy(timeout=TIMEOUT, max_redirects=3)
    source = JwksSource(server.url, session=session, clock=clock, policy=policy)
    with pytest.raises(JwksError) as caught:
        source.get(old_key.kid)
    assert (caught.value.context["reason"], caught.value.context["status"]) == ("redirect", 302)
    assert server.script.requests == [PATH]


def test_a_same_origin_redirect_is_followed_when_the_policy_allows_it(
    server: Server, session: requests.Session, clock: FixedClock, old_key: SigningKey
) -> None:
    server.script.publish(old_key)
    server.script.fault = "redirect"  # to /elsewhere.json on this origin, which serves the set
    policy = SourcePolicy(timeout=TIMEOUT, max_redirects=1)
    source = JwksSource(server.url, session=session, clock=clock, policy=policy)
    assert source.get(old_key.kid) == old_key.verifying_key
    assert server.script.requests == [PATH, "/elsewhere.json"]


def test_the_source_recovers_when_the_server_does(
    server: Server, source: JwksSource, clock: FixedClock, old_key: SigningKey
) -> None:
    server.script.publish(old_key)
    server.script.fault = "500"
    with pytest.raises(JwksError):
        source.get(old_key.kid)
    clock.advance(timedelta(seconds=5))
    with pytest.raises(JwksError) as caught:  # within the cooldown: no new attempt
        source.get(old_key.kid)
    assert caught.value.context["reason"] == "http_status"
    assert server.script.count == 1
    server.script.fault = None
    clock.advance(timedelta(seconds=25))
    assert source.get(old_key.kid) == old_key.verifying_key


def test_refresh_raises_but_keeps_the_last_good_set(
    server: Server, source: JwksSource, old_key: SigningKey
) -> None:
    server.script.publish(old_key)
    source.refresh()
    server.script.fault = "500"
    with pytest.raises(JwksError):
        source.refresh()
    assert server.script.count == 2
    assert source.get(old_key.kid) == old_key.verifying_key
    ring = source.keys()
    assert old_key.kid in ring
    assert server.script.count == 2


def test_keys_returns_a_snapshot_of_the_served_set(
    server: Server, source: JwksSource, old_key: SigningKey, new_key: SigningKey
) -> None:
    server.script.publish(old_key, new_key)
    ring = source.keys()
    assert set(ring.kids) == {old_key.kid, new_key.kid}


def test_a_source_closes_the_session_it_made(server: Server, old_key: SigningKey) -> None:
    server.script.publish(old_key)
    source = JwksSource(server.url, timeout=TIMEOUT)
    try:
        assert source.get(old_key.kid) == old_key.verifying_key
    finally:
        source.close()
