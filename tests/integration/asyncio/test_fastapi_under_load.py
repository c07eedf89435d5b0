"""Outcome test of issue 19 item 2: an asyncio service on govkit does not block its loop.

A FastAPI application (``_app.py``) is served by uvicorn in a subprocess on 127.0.0.1 (a
socket bound to a free port here and handed over with ``--fd``). It verifies DPoP-bound
access tokens against a :class:`~govkit.stores.PostgresReplayStore` and receives
Stripe-style payment callbacks into a PostgreSQL :class:`~govkit.payments.PaymentInbox`,
both through govkit's FastAPI integration (``require_identity`` awaits
``TokenVerifier.averify``, ``payment_callback`` awaits ``PaymentInbox.areceive``). A
probe task in the application sleeps 10 ms in a loop and records how late it wakes up.

200 concurrent clients, each with its own ``httpx.AsyncClient`` (its own connection),
send a mix of requests at once:

* 140 token clients: each has its own proof key and a token bound to it, and sends 5
  ``GET /api/me`` requests, each with a fresh DPoP proof (a new ``jti``), then replays
  its last proof once (the replay store must refuse it: ``401 invalid_token``,
  ``token.replayed``);
* 60 callback clients: each delivers 5 signed callbacks for orders created beforehand,
  then delivers its first callback again (a provider retry: acknowledged, not
  processed twice).

Asserted: every answer is the expected one (200, or 401 for the replays), every
callback's event was handed to the application's handler exactly once and stored once,
and the event loop's lag p99 during the run is under 50 ms.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from govkit.identity import AssuranceLevel, TokenIssuer, create_dpop_proof
from govkit.keys import KeyRing, SigningKey
from govkit.payments import PaymentInbox
from govkit.testing.payments import stripe_callback

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent.parent
ISS = "https://login.gov.example"
AUD = "https://tax.gov.example"
SECRET = "whsec_asyncio_outcome_test"
TOKEN_CLIENTS = 140
CALLBACK_CLIENTS = 60
REQUESTS_EACH = 5
AMOUNT = 1234
#: The issue's acceptance bound on the event loop's lag (99th percentile).
MAX_LAG_P99_MS = 50.0
#: The server's scheduling priority, when the test may raise it (see _with_priority).
SERVER_NICE = -10


def new_client(tls: ssl.SSLContext) -> httpx.AsyncClient:
    """One client's own connection pool. The TLS context (unused over http) is shared:
    httpx builds a new one per client otherwise, about 50 ms of CPU each."""
    return httpx.AsyncClient(timeout=60, verify=tls)


@dataclass
class Server:
    base: str
    process: subprocess.Popen[bytes]
    log: Path


def _with_priority(command: list[str]) -> list[str]:
    """``command`` run at a higher scheduling priority when the system allows it.

    On a shared 2-core CI machine other jobs' processes compete with the server for
    the CPU, and a process waiting for a core has a late timer whatever its event loop
    does: at the default priority the probe then measures the machine's load. Under
    ``nice -n -10`` (root or CAP_SYS_NICE) it measures the application; elsewhere
    ``nice`` says it cannot and runs the server at the default priority (the
    measurement is then the stricter one).
    """
    nice = shutil.which("nice")
    return [nice, "-n", str(SERVER_NICE), *command] if nice else command


@pytest.fixture
def issuer_key() -> SigningKey:
    return SigningKey.generate("ES256")


@pytest.fixture
def server(pg_store_url: str, issuer_key: SigningKey, tmp_path: Path) -> Iterator[Server]:
    # the orders exist before their callbacks arrive (and the inbox's tables with them)
    with PaymentInbox(pg_store_url) as inbox:
        for n in range(CALLBACK_CLIENTS * REQUESTS_EACH):
            inbox.create_order(f"GOV-{n}", provider="stripe", amount=AMOUNT)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    base = f"http://127.0.0.1:{listener.getsockname()[1]}"
    env = {
        **os.environ,
        "GOVKIT_AIO_PG": pg_store_url,
        "GOVKIT_AIO_PUBLIC_URL": base,
        "GOVKIT_AIO_JWK": json.dumps(issuer_key.verifying_key.to_jwk()),
        "GOVKIT_AIO_STRIPE_SECRET": SECRET,
        "GOVKIT_AIO_ISS": ISS,
        "GOVKIT_AIO_AUD": AUD,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    log = tmp_path / "uvicorn.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            _with_priority(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "--factory",
                    "_app:create_app",
                    "--app-dir",
                    str(HERE),
                    "--fd",
                    str(listener.fileno()),
                    "--log-level",
                    "warning",
                    "--no-access-log",
                    "--backlog",
                    "1024",
                ]
            ),
            pass_fds=(listener.fileno(),),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    listener.close()  # the server holds its own copy
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}/probe", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "uvicorn did not start\n" + log.read_text()
            time.sleep(0.1)
        yield Server(base, process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:  # pragma: no cover - a hung server
            process.kill()
            process.wait()


async def token_client(
    server: Server, issuer: TokenIssuer, tls: ssl.SSLContext
) -> list[tuple[str, int, Any]]:
    key = SigningKey.generate("EdDSA")
    token = issuer.issue(
        "pseudonym-" + key.verifying_key.kid[:12],
        AUD,
        AssuranceLevel.SUBSTANTIAL,
        timedelta(minutes=10),
        confirmation_jkt=key.verifying_key.kid,
    )
    url = f"{server.base}/api/me"
    results: list[tuple[str, int, Any]] = []
    async with new_client(tls) as client:
        proof = ""
        for _ in range(REQUESTS_EACH):
            proof = create_dpop_proof(key, htm="GET", htu=url, access_token=token)
            answer = await client.get(
                url, headers={"Authorization": f"DPoP {token}", "DPoP": proof}
            )
            results.append(("token", answer.status_code, answer.json()))
        answer = await client.get(url, headers={"Authorization": f"DPoP {token}", "DPoP": proof})
        results.append(("replayed", answer.status_code, answer.headers.get("www-authenticate", "")))
    return results


async def callback_client(
    server: Server, number: int, tls: ssl.SSLContext
) -> list[tuple[str, int, Any]]:
    url = f"{server.base}/notify/stripe"
    deliveries = [
        stripe_callback(
            SECRET,
            order_id=f"GOV-{number * REQUESTS_EACH + k}",
            amount=AMOUNT,
            event_id=f"evt_{number}_{k}",
        )
        for k in range(REQUESTS_EACH)
    ]
    results: list[tuple[str, int, Any]] = []
    async with new_client(tls) as client:
        for headers, body in [*deliveries, deliveries[0]]:  # the last one is a retry
            answer = await client.post(url, headers=headers, content=body)
            results.append(("callback", answer.status_code, answer.content))
    return results


async def drive(server: Server, issuer: TokenIssuer) -> tuple[list[Any], float]:
    tls = ssl.create_default_context()
    began = time.perf_counter()
    groups = await asyncio.gather(
        *(token_client(server, issuer, tls) for _ in range(TOKEN_CLIENTS)),
        *(callback_client(server, n, tls) for n in range(CALLBACK_CLIENTS)),
    )
    return [r for group in groups for r in group], time.perf_counter() - began


def test_200_concurrent_clients_no_errors_callbacks_once_and_loop_lag_p99_under_50_ms(
    server: Server, issuer_key: SigningKey, pg_store_url: str
) -> None:
    issuer = TokenIssuer(KeyRing(issuer_key), issuer=ISS)
    asyncio.run(drive_warm_up(server, issuer))
    assert httpx.post(f"{server.base}/probe/reset", timeout=10).status_code == 200

    results, elapsed = asyncio.run(drive(server, issuer))

    probe = httpx.get(f"{server.base}/probe", timeout=10).json()
    lag, handled = probe["lag"], probe["handled"]
    print(  # the measurement, for the report (pytest -s)
        f"\n{len(results)} requests from {TOKEN_CLIENTS + CALLBACK_CLIENTS} clients in "
        f"{elapsed:.2f} s ({len(results) / elapsed:.0f} requests/s); event-loop lag: "
        f"p50 {lag['p50_ms']:.2f} ms, p99 {lag['p99_ms']:.2f} ms, max {lag['max_ms']:.2f} ms "
        f"over {lag['samples']} samples; over 20 ms at (s, ms): {lag['slow']}"
    )

    # no errors: every answer is the expected one
    kinds = Counter(kind for kind, _, _ in results)
    assert kinds == {
        "token": TOKEN_CLIENTS * REQUESTS_EACH,
        "replayed": TOKEN_CLIENTS,
        "callback": CALLBACK_CLIENTS * (REQUESTS_EACH + 1),
    }
    wrong = [
        r
        for r in results
        if not (
            (r[0] == "token" and r[1] == 200 and r[2]["subject"].startswith("pseudonym-"))
            or (
                r[0] == "replayed"
                and r[1] == 401
                and 'error="invalid_token"' in r[2]
                and "token.replayed" in r[2]
            )
            or (r[0] == "callback" and r[1] == 200)
        )
    ]
    assert wrong == [], server.log.read_text()

    # each callback processed once: handed to the handler once, stored once, processed
    expected = {f"evt_{n}_{k}" for n in range(CALLBACK_CLIENTS) for k in range(REQUESTS_EACH)}
    assert set(handled) == expected
    assert set(handled.values()) == {1}
    with PaymentInbox(pg_store_url, read_only=True) as inbox:
        stats = inbox.stats()
        states = Counter(str(e.state) for e in inbox.events(limit=10_000))
    assert states == {"processed": len(expected)}
    assert stats["deliveries"] == CALLBACK_CLIENTS * (REQUESTS_EACH + 1)

    # the loop was never blocked
    assert lag["samples"] >= 50
    assert lag["p99_ms"] < MAX_LAG_P99_MS, lag


async def drive_warm_up(server: Server, issuer: TokenIssuer) -> None:
    """One request of each kind first (imports, first connections), outside the measure."""
    key = SigningKey.generate("EdDSA")
    token = issuer.issue(
        "pseudonym-warm-up",
        AUD,
        AssuranceLevel.SUBSTANTIAL,
        timedelta(minutes=10),
        confirmation_jkt=key.verifying_key.kid,
    )
    url = f"{server.base}/api/me"
    async with new_client(ssl.create_default_context()) as client:
        for _ in range(3):
            proof = create_dpop_proof(key, htm="GET", htu=url, access_token=token)
            answer = await client.get(
                url, headers={"Authorization": f"DPoP {token}", "DPoP": proof}
            )
            assert answer.status_code == 200, answer.text
