"""The FastAPI application of the asyncio outcome test, served by uvicorn in a subprocess.

Run as ``uvicorn --factory _app:create_app`` with its configuration in the environment
(``GOVKIT_AIO_*``: the PostgreSQL URL, the token issuer's public JWK, the public URL and
the Stripe signing secret). It has

* ``GET /api/me``: DPoP-bound access tokens, verified by govkit's FastAPI dependency
  (``require_identity``, which awaits ``TokenVerifier.averify``) against a
  :class:`~govkit.stores.PostgresReplayStore`;
* ``POST /notify/stripe``: Stripe-style callbacks into a PostgreSQL
  :class:`~govkit.payments.PaymentInbox` (``payment_callback``, which awaits
  ``PaymentInbox.areceive``); the handler counts each event it is given;
* a lag probe: a task sleeping 10 ms in a loop and recording how late it wakes up;
  ``GET /probe`` gives the overshoot percentiles and the handler counts,
  ``POST /probe/reset`` starts a new measurement (the lags over 20 ms are listed with
  their time, for the failure message).

At start-up the application calls :func:`gc.freeze`, as the async guide recommends.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI

from govkit.identity import DPoPVerifier, IdentityClaims, TokenVerifier
from govkit.integrations.fastapi import payment_callback, require_identity
from govkit.keys import KeyRing, VerifyingKey
from govkit.payments import PaymentEvent, PaymentInbox, Stripe
from govkit.stores import PostgresReplayStore

PERIOD = 0.01


class Probe:
    """How late a 10 ms sleep wakes up on this event loop, sample by sample."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self.started = time.perf_counter()
        self.slow: list[tuple[float, float]] = []  # (seconds since reset, lag) over 20 ms

    def reset(self) -> None:
        self.lags.clear()
        self.slow.clear()
        self.started = time.perf_counter()

    async def run(self) -> None:
        while True:
            began = time.perf_counter()
            await asyncio.sleep(PERIOD)
            lag = time.perf_counter() - began - PERIOD
            self.lags.append(lag)
            if lag > 0.02:
                self.slow.append((round(began - self.started, 3), round(lag * 1000, 1)))

    def summary(self) -> dict[str, Any]:
        lags = sorted(self.lags)
        if not lags:
            return {"samples": 0}

        def pick(q: float) -> float:
            return lags[min(len(lags) - 1, int(q * len(lags)))] * 1000

        return {
            "samples": len(lags),
            "p50_ms": pick(0.50),
            "p99_ms": pick(0.99),
            "max_ms": lags[-1] * 1000,
            "slow": self.slow[:200],
        }


def create_app() -> FastAPI:
    url = os.environ["GOVKIT_AIO_PG"]
    public_url = os.environ["GOVKIT_AIO_PUBLIC_URL"]
    jwk = json.loads(os.environ["GOVKIT_AIO_JWK"])
    secret = os.environ["GOVKIT_AIO_STRIPE_SECRET"]
    issuer, audience = os.environ["GOVKIT_AIO_ISS"], os.environ["GOVKIT_AIO_AUD"]

    ring = KeyRing()
    ring.add(VerifyingKey.from_jwk(jwk))
    replay = PostgresReplayStore(url)
    verifier = TokenVerifier(
        ring,
        issuer=issuer,
        audience=audience,
        dpop=DPoPVerifier(replay_store=replay),
    )
    handled: Counter[str] = Counter()
    handled_lock = threading.Lock()

    def handler(event: PaymentEvent) -> None:  # runs on a govkit-io thread
        with handled_lock:
            handled[event.event_id] += 1

    inbox = PaymentInbox(url, handler=handler)
    probe = Probe()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # What the guide recommends to a latency-sensitive service: the objects made at
        # start-up (FastAPI, pydantic, govkit's modules) leave the garbage collector's
        # generations, so a full collection does not walk them while requests wait.
        gc.freeze()
        task = asyncio.create_task(probe.run())
        try:
            yield
        finally:
            task.cancel()
            inbox.close()
            replay.close()

    app = FastAPI(lifespan=lifespan)
    identity = require_identity(verifier, require_dpop=True, public_url=public_url)

    @app.get("/api/me")
    async def me(claims: IdentityClaims = Depends(identity)) -> dict[str, str]:  # noqa: B008
        return {"subject": claims.subject}

    app.add_api_route("/notify/stripe", payment_callback(inbox, Stripe([secret])), methods=["POST"])

    @app.get("/probe")
    async def read_probe() -> dict[str, Any]:
        with handled_lock:
            counts = dict(handled)
        return {"lag": probe.summary(), "handled": counts}

    @app.post("/probe/reset")
    async def reset_probe() -> dict[str, bool]:
        probe.reset()
        return {"reset": True}

    return app
