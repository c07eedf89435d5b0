"""``VerifierState.sync`` and ``govkit verifier sync`` against a real HTTP server on 127.0.0.1.

The server (:class:`http.server.ThreadingHTTPServer` in a background thread) serves a
trust list naming twelve issuers and their status lists, each with an ``ETag``; it
answers ``304`` to a matching ``If-None-Match``, records every request with its
conditional headers, counts how many it is answering at once, and fails the URLs a test
breaks. Evidence that

* one issuer's failing status list neither stops the others nor loses the list held for
  it (kept, marked stale, reported), and the command exits 3;
* requests are conditional, and a ``304`` changes nothing but the time of the check;
* at most ``workers`` (8) status lists are fetched at once;
* a server that serves an older list than the one held cannot roll the state back.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from govkit.certificates import (
    Agency,
    Status,
    StatusList,
    TrustedIssuer,
    TrustedKey,
    TrustList,
    VerifierState,
    sign_status_list,
    sign_trust_list,
)
from govkit.cli import EXIT_ENV, EXIT_OK, main
from govkit.errors import TrustListError
from govkit.keys import SigningKey

ISSUERS = 12
ANCHOR = SigningKey.generate("EdDSA")
KEYS = [SigningKey.generate("EdDSA") for _ in range(ISSUERS)]
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc(number: int) -> str:
    """A USCC with a valid check character (GB 32100-2015), distinct per number."""
    body = f"9144010{number:010d}"
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(body, _WEIGHTS, strict=True))
    return body + _USCC_ALPHABET[(31 - total % 31) % 31]


@dataclass
class Server:
    """What the server serves, what failed, what it saw."""

    base: str = ""
    documents: dict[str, bytes] = field(default_factory=dict)
    broken: set[str] = field(default_factory=set)
    delay: float = 0.0
    seen: list[tuple[str, str | None]] = field(default_factory=list)
    active: int = 0
    most: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def requests(self, path: str) -> list[str | None]:
        """The If-None-Match of each request for ``path``."""
        with self.lock:
            return [etag for seen, etag in self.seen if seen == path]


def etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:16] + '"'


def handler(server: Server) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            with server.lock:
                server.seen.append((self.path, self.headers.get("If-None-Match")))
                server.active += 1
                server.most = max(server.most, server.active)
            try:
                time.sleep(server.delay)
                self.answer()
            finally:
                with server.lock:
                    server.active -= 1

        def answer(self) -> None:
            body = server.documents.get(self.path)
            if self.path in server.broken or body is None:
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            tag = etag(body)
            if self.headers.get("If-None-Match") == tag:
                self.send_response(304)
                self.send_header("ETag", tag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", tag)
            self.end_headers()
            self.wfile.write(body)

    return Handler


@pytest.fixture
def server() -> Iterator[Server]:
    script = Server()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler(script))
    httpd.daemon_threads = True
    script.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield script
    httpd.shutdown()
    httpd.server_close()


NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)


def publish_trust(server: Server, sequence: int) -> None:
    issuers = tuple(
        TrustedIssuer(
            Agency(f"第{n}交通警察大队", uscc(n)),
            (TrustedKey.for_key(KEYS[n].verifying_key, {"driving-licence"}),),
            status_url=f"{server.base}/status/{n}.json",
        )
        for n in range(ISSUERS)
    )
    listed = TrustList(issuers, sequence, NOW, NOW + timedelta(days=7))
    server.documents["/trust.json"] = sign_trust_list(listed, ANCHOR)


def publish_status(server: Server, n: int, sequence: int, *, revoked: int | None = None) -> None:
    statuses = StatusList(4096, list_id=f"office-{n}")
    if revoked is not None:
        statuses.set(revoked, Status.REVOKED)
    server.documents[f"/status/{n}.json"] = sign_status_list(
        statuses, KEYS[n], issued_at=NOW, expires_at=NOW + timedelta(days=1), sequence=sequence
    )


def publish(server: Server, sequence: int = 1) -> None:
    publish_trust(server, sequence)
    for n in range(ISSUERS):
        publish_status(server, n, 1)


def sync(state: VerifierState, server: Server, **options: Any) -> Any:
    return state.sync(
        f"{server.base}/trust.json", now=NOW, anchors=[ANCHOR.verifying_key], **options
    )


def test_one_failing_status_list_keeps_its_old_list_marked_stale_and_the_rest_update(
    server: Server, tmp_path: Path
) -> None:
    publish(server)
    state = VerifierState(tmp_path / "state")
    first = sync(state, server)
    assert first.ok
    assert first.trust.outcome == "installed"
    assert [u.outcome for u in first.status] == ["installed"] * ISSUERS
    # Office 3 publishes a revocation; office 5's server goes down; the rest are unchanged.
    publish_status(server, 3, 2, revoked=7)
    server.broken.add("/status/5.json")
    second = sync(state, server)
    assert not second.ok
    outcomes = {u.uscc: (u.outcome, u.sequence, u.reason) for u in second.status}
    assert outcomes[uscc(3)] == ("updated", 2, None)
    assert outcomes[uscc(5)] == ("failed", 1, "http_status")
    assert {outcomes[uscc(n)][0] for n in range(ISSUERS) if n not in (3, 5)} == {"not_modified"}
    assert second.trust.outcome == "not_modified"
    assert "the list held before is kept" in (second.failed[0].message or "")
    summary = {e["uscc"]: e for e in state.summary(NOW)["status"]}
    assert (summary[uscc(5)]["sequence"], summary[uscc(5)]["stale"]) == (1, True)
    assert summary[uscc(5)]["failure"]["reason"] == "http_status"
    assert (summary[uscc(3)]["sequence"], summary[uscc(3)]["stale"]) == (2, False)
    # Office 5 is back: the mark goes.
    server.broken.clear()
    third = sync(state, server)
    assert third.ok
    assert {e["uscc"]: e for e in state.summary(NOW)["status"]}[uscc(5)]["failure"] is None


def test_requests_are_conditional_and_a_304_changes_no_list(server: Server, tmp_path: Path) -> None:
    publish(server)
    state = VerifierState(tmp_path / "state")
    sync(state, server)
    files = sorted(p.name for p in (state.path / "lists").iterdir())
    sync(state, server)
    assert server.requests("/trust.json") == [None, etag(server.documents["/trust.json"])]
    tags = server.requests("/status/0.json")
    assert tags == [None, etag(server.documents["/status/0.json"])]
    assert sorted(p.name for p in (state.path / "lists").iterdir()) == files
    held = json.loads((state.path / "state.json").read_text())
    assert held["trust"]["etag"] == etag(server.documents["/trust.json"])


def test_at_most_eight_status_lists_are_fetched_at_once(server: Server, tmp_path: Path) -> None:
    publish(server)
    server.delay = 0.2
    started = time.monotonic()
    result = sync(VerifierState(tmp_path / "state"), server)
    elapsed = time.monotonic() - started
    assert result.ok
    assert 2 <= server.most <= 8  # in parallel, and bounded
    assert elapsed >= 0.2 * 3  # the trust list, then two rounds of at most eight
    server.most = 0
    sync(VerifierState(tmp_path / "other"), server, workers=3)
    assert server.most == 3


def test_a_server_serving_an_older_trust_list_cannot_roll_the_state_back(
    server: Server, tmp_path: Path
) -> None:
    publish(server, sequence=5)
    state = VerifierState(tmp_path / "state")
    sync(state, server)
    publish(server, sequence=4)  # a mirror behind, or an attacker replaying the old list
    result = sync(state, server)
    assert (result.trust.outcome, result.trust.reason) == ("failed", "trust.rollback")
    held = state.trust_list()
    assert held is not None
    assert held.sequence == 5
    assert state.summary(NOW)["trust"]["stale"] is True  # its refresh failed


def test_a_first_sync_with_nothing_to_fetch_is_an_error_not_an_empty_state(
    server: Server, tmp_path: Path
) -> None:
    state = VerifierState(tmp_path / "state")
    with pytest.raises(TrustListError) as caught:
        sync(state, server)  # nothing published yet: 503
    assert caught.value.context["reason"] == "http_status"
    assert state.trust_list() is None


def test_the_command_reports_each_list_and_exits_3_when_one_failed(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    publish(server)
    server.broken.add("/status/2.json")
    anchor = tmp_path / "anchor.pub"
    anchor.write_bytes(ANCHOR.verifying_key.to_pem())
    argv = ["verifier", "sync", "--trust-url", f"{server.base}/trust.json", "--anchor", str(anchor)]
    state = ["--state", str(tmp_path / "state")]
    assert main([*argv, *state, "--json"]) == EXIT_ENV
    captured = capsys.readouterr()
    result = json.loads(captured.out)  # the data shape, with every list's outcome
    assert result["ok"] is False
    [failed] = [u for u in result["status"] if u["outcome"] == "failed"]
    assert (failed["uscc"], failed["reason"]) == (uscc(2), "http_status")
    assert f"FAILED: the status list of {uscc(2)}" in captured.err
    server.broken.clear()
    assert main([*argv[:4], *state]) == EXIT_OK  # the anchor is held now
    assert "installed" in capsys.readouterr().out
