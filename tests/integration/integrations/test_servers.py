"""The documented examples (docs/examples/) served by real servers on loopback.

One server process per framework, as in production: uvicorn for FastAPI, gunicorn (two
worker processes sharing a SQLite replay store and inbox) for Flask and Django. The test
opens the listening socket on a free port of 127.0.0.1 itself and hands it to the
server (``--fd`` / ``fd://``), so no port is guessed and none can be taken meanwhile.
The service fetches the identity provider's keys from a JWKS server on loopback too.
Tokens, DPoP proofs and callbacks use the real clock, like the server.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from govkit_tests_integrations import APIV3, APP_ID, AUD, ISS, KEY_ID, SUB

from govkit.identity import AssuranceLevel, TokenIssuer, create_dpop_proof
from govkit.keys import KeyRing, SigningKey
from govkit.testing.payments import alipay_callback, wechat_callback

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "docs" / "examples"
BIN = Path(sys.executable).parent
START_TIMEOUT = 90.0  # two cores shared by every test running at once

pytestmark = pytest.mark.slow


@dataclass
class Idp:
    """The identity provider: its key ring, an issuer and its JWKS endpoint."""

    ring: KeyRing
    issuer: TokenIssuer
    jwks_url: str
    client_key: SigningKey

    def token(self, level: AssuranceLevel, *, bound: bool = False) -> str:
        jkt = self.client_key.kid if bound else None
        return self.issuer.issue(
            SUB, AUD, level, timedelta(minutes=5), amr=["face"], confirmation_jkt=jkt
        )


@pytest.fixture(scope="module")
def idp() -> Iterator[Idp]:
    ring = KeyRing(SigningKey.generate("ES256"))
    body = json.dumps(ring.to_jwks()).encode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{httpd.server_port}/.well-known/jwks.json"
    yield Idp(ring, TokenIssuer(ring, issuer=ISS), url, SigningKey.generate("ES256"))
    httpd.shutdown()
    httpd.server_close()


@dataclass
class Server:
    """A running example service."""

    url: str
    platform_key: SigningKey
    alipay_key: SigningKey
    inbox: Path


COMMANDS = {
    "fastapi": lambda fd: [str(BIN / "uvicorn"), "--fd", str(fd), "--app-dir", str(EXAMPLES),
                           "--no-access-log", "fastapi_service:app"],
    "flask": lambda fd: [str(BIN / "gunicorn"), "--bind", f"fd://{fd}", "--workers", "2",
                         "--chdir", str(EXAMPLES), "flask_service:app"],
    "django": lambda fd: [str(BIN / "gunicorn"), "--bind", f"fd://{fd}", "--workers", "2",
                          "--chdir", str(EXAMPLES), "django_service:application"],
}  # fmt: skip


@pytest.fixture(scope="module", params=sorted(COMMANDS))
def server(
    request: pytest.FixtureRequest, idp: Idp, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    name: str = request.param
    folder = tmp_path_factory.mktemp(f"server-{name}")
    platform_key, alipay_key = SigningKey.generate("RS256"), SigningKey.generate("RS256")
    # as the providers hand them out: a PEM public key (WeChat Pay's merchant platform)
    # and one line of base64 DER (the Alipay console)
    (folder / "wechat.pem").write_bytes(_plain_pem(platform_key))
    der = b"".join(_plain_pem(alipay_key).splitlines()[1:-1])
    (folder / "alipay.pem").write_bytes(der)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(EXAMPLES), str(ROOT)]),
        "GOVKIT_ISSUER": ISS,
        "GOVKIT_AUDIENCE": AUD,
        "GOVKIT_JWKS_URL": idp.jwks_url,
        "GOVKIT_PUBLIC_URL": url,
        "GOVKIT_REPLAY_STORE": str(folder / "replay.db"),
        "GOVKIT_INBOX": str(folder / "inbox.db"),
        "WECHATPAY_APIV3_KEY": APIV3,
        "WECHATPAY_KEY_ID": KEY_ID,
        "WECHATPAY_PUBLIC_KEY": str(folder / "wechat.pem"),
        "ALIPAY_APP_ID": APP_ID,
        "ALIPAY_PUBLIC_KEY": str(folder / "alipay.pem"),
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(32),
    }
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(
        COMMANDS[name](listener.fileno()),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        pass_fds=(listener.fileno(),),
        start_new_session=True,
    )
    listener.close()  # the server holds its own copy
    try:
        _wait_until_up(url, process, folder / "server.log")
        yield Server(url, platform_key, alipay_key, folder / "inbox.db")
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
        log.close()


def _plain_pem(key: SigningKey) -> bytes:
    """The public key as PEM, without govkit's ``alg:`` line."""
    pem = key.verifying_key.to_pem()
    return pem[pem.index(b"-----BEGIN") :]


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited: {log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(url + "/returns", timeout=5).status_code == 401:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"the server did not start: {log.read_text(errors='replace')[-3000:]}")


def test_token_gives_the_claims_and_no_token_gets_401(server: Server, idp: Idp) -> None:
    token = idp.token(AssuranceLevel.SUBSTANTIAL)
    with httpx.Client(base_url=server.url, timeout=30) as client:
        answer = client.get("/returns", headers={"Authorization": f"Bearer {token}"})
        assert (answer.status_code, answer.json()) == (
            200,
            {"subject": SUB, "assurance": "substantial"},
        )
        missing = client.get("/returns")
        assert (missing.status_code, missing.headers["www-authenticate"]) == (401, "Bearer")
        forged = client.get("/returns", headers={"Authorization": f"Bearer {token[:-4]}AAAA"})
        assert forged.status_code == 401
        assert 'error="invalid_token"' in forged.headers["www-authenticate"]


def test_filing_needs_high_assurance_and_a_fresh_dpop_proof(server: Server, idp: Idp) -> None:
    url = server.url + "/returns/submit"

    def headers(token: str, key: SigningKey | None = None) -> dict[str, str]:
        proof = create_dpop_proof(key or idp.client_key, htm="POST", htu=url, access_token=token)
        return {"Authorization": f"DPoP {token}", "DPoP": proof}

    with httpx.Client(base_url=server.url, timeout=30) as client:
        weak = idp.token(AssuranceLevel.SUBSTANTIAL, bound=True)
        step_up = client.post("/returns/submit", headers=headers(weak))
        assert step_up.status_code == 401
        assert step_up.headers["www-authenticate"].startswith(
            'DPoP error="insufficient_user_authentication"'
        )
        assert 'acr_values="http://eidas.europa.eu/LoA/high"' in step_up.headers["www-authenticate"]
        token = idp.token(AssuranceLevel.HIGH, bound=True)
        sent = headers(token)
        filed = client.post("/returns/submit", headers=sent)
        assert (filed.status_code, filed.json()["filed"]) == (200, "yes")
        # the same proof again, whichever worker answers: the replay store is shared
        for _ in range(4):
            replayed = client.post("/returns/submit", headers=sent)
            assert replayed.status_code == 401
            assert 'error_description="token.replayed"' in replayed.headers["www-authenticate"]
        thief = client.post("/returns/submit", headers=headers(token, SigningKey.generate("ES256")))
        assert thief.status_code == 401
        bearer = client.post("/returns/submit", headers={"Authorization": f"Bearer {token}"})
        assert bearer.status_code == 401


def test_payment_callbacks_get_each_provider_answer(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        headers, body = wechat_callback(
            server.platform_key, KEY_ID, APIV3, order_id="E2E-1", amount=100
        )
        first = client.post("/notify/wechatpay", headers=headers, content=body)
        assert (first.status_code, first.content) == (204, b"")
        again = client.post("/notify/wechatpay", headers=headers, content=body)
        assert again.status_code == 204
        forged = wechat_callback(
            SigningKey.generate("RS256"), KEY_ID, APIV3, order_id="E2E-2", amount=100
        )
        refused = client.post("/notify/wechatpay", headers=forged[0], content=forged[1])
        assert (refused.status_code, refused.json()["code"]) == (401, "FAIL")
        headers, body = alipay_callback(server.alipay_key, APP_ID, order_id="E2E-3", amount=100)
        paid = client.post("/notify/alipay", headers=headers, content=body)
        assert (paid.status_code, paid.content) == (200, b"success")
