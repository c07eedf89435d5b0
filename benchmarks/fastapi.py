"""A DPoP-protected FastAPI endpoint's requests/s beside the same endpoint unprotected.

One FastAPI application has two routes that return the same small JSON document:

* ``GET /open``: no protection;
* ``GET /protected``: govkit's FastAPI dependency
  (:func:`govkit.integrations.fastapi.require_identity` with ``require_dpop=True``),
  which awaits :meth:`TokenVerifier.averify <govkit.identity.TokenVerifier.averify>`: an
  ES256 access token bound to the client's EdDSA key, and a DPoP proof whose ``jti``
  goes to the replay store. The verification runs on govkit's thread pool.

Requests are sent one after the other, in process, through ``httpx``'s
``ASGITransport`` (no sockets, no server process: what is measured is the application
and govkit, not a network stack), on one event loop. Each protected request carries its
own proof, made before the timing starts (so the client's signing is not in the time).
Two replay stores: a :class:`~govkit.stores.MemoryIdentityStore` (govkit's own cost) and
a :class:`~govkit.stores.PostgresReplayStore` on a throwaway local server (what a
deployment of several instances pays: one round trip more). The ratio is protected /
open; the note gives the cost of the protection per request in microseconds,
``1/protected - 1/open``. There is no target (the issue asks for the figure).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
from fastapi import Depends, FastAPI

from benchmarks._harness import Comparison, compare
from benchmarks._pg import PostgresUnavailable, throwaway_cluster
from govkit.identity import (
    AssuranceLevel,
    DPoPVerifier,
    IdentityClaims,
    MemoryIdentityStore,
    TokenIssuer,
    TokenVerifier,
    create_dpop_proof,
)
from govkit.integrations.fastapi import require_identity
from govkit.keys import KeyRing, SigningKey
from govkit.stores import PostgresReplayStore, ReplayStore

#: Printed under the table.
NOTES = (
    "Sequential GET requests through httpx.ASGITransport (in process, no sockets) to one\n"
    "FastAPI app: /protected (require_identity, DPoP-bound ES256 token, EdDSA proof made\n"
    "before timing, replay check) vs /open (the same handler, no dependency). The cost\n"
    "per request is 1/protected - 1/open; it includes the hop to govkit's thread pool.\n"
    "The PostgreSQL server is local and durable (fsync and synchronous_commit on): each\n"
    "replay check is a committed, flushed transaction, most of that row's cost.\n"
    "No target: reported as the issue asks."
)

BASE = "http://api.gov.example"
ISSUER = "https://login.gov.example"
AUDIENCE = "https://api.gov.example"


def _app(verifier: TokenVerifier) -> FastAPI:
    app = FastAPI()
    identity = require_identity(verifier, require_dpop=True, public_url=BASE)

    @app.get("/open")
    async def open_route() -> dict[str, str]:
        return {"subject": "anonymous"}

    @app.get("/protected")
    async def protected_route(
        claims: IdentityClaims = Depends(identity),  # noqa: B008 - FastAPI's idiom
    ) -> dict[str, str]:
        return {"subject": claims.subject}

    return app


def _comparison(label: str, store: ReplayStore, quick: bool) -> Comparison:
    key = SigningKey.generate("ES256")
    ring = KeyRing(key)
    verifier = TokenVerifier(
        ring,
        issuer=ISSUER,
        audience=AUDIENCE,
        # proofs are made before the timing; a full run lasts longer than the default
        dpop=DPoPVerifier(replay_store=store, max_age=timedelta(minutes=30)),
    )
    client_key = SigningKey.generate("EdDSA")
    token = TokenIssuer(ring, issuer=ISSUER).issue(
        "pseudonym-bench",
        AUDIENCE,
        AssuranceLevel.SUBSTANTIAL,
        timedelta(hours=1),
        confirmation_jkt=client_key.verifying_key.kid,
    )
    rounds = 7 if quick else 31
    number = 20 if quick else 100
    url = f"{BASE}/protected"
    count = (rounds + 1) * number + 10  # every timed call, the warm-up and a margin
    proofs: Iterator[str] = iter(
        [
            create_dpop_proof(client_key, htm="GET", htu=url, access_token=token)
            for _ in range(count)
        ]
    )
    loop = asyncio.new_event_loop()
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=_app(verifier)), base_url=BASE)

    def request(path: str, headers: Callable[[], dict[str, str]]) -> Callable[[], Any]:
        def call() -> Any:
            answer = loop.run_until_complete(client.get(path, headers=headers()))
            if answer.status_code != 200:
                raise RuntimeError(f"{path} answered {answer.status_code}: {answer.text}")
            return answer

        return call

    protected = request(
        "/protected", lambda: {"Authorization": f"DPoP {token}", "DPoP": next(proofs)}
    )
    open_ = request("/open", dict)
    try:
        result = compare(
            label, protected, open_, number=number, rounds=rounds, note="sequential requests"
        )
    finally:
        loop.run_until_complete(client.aclose())
        loop.close()
    cost_us = (1 / result.govkit_ops - 1 / result.reference_ops) * 1_000_000
    return Comparison(
        label=result.label,
        govkit_ops=result.govkit_ops,
        reference_ops=result.reference_ops,
        ratio=result.ratio,
        number=result.number,
        rounds=result.rounds,
        note=f"DPoP protection costs {cost_us:,.0f} µs per request; {result.note}",
    )


def run(quick: bool) -> list[Comparison]:
    """The protected endpoint beside the open one, with a memory and a PostgreSQL store."""
    results = [
        _comparison("DPoP endpoint (memory replay store) vs open", MemoryIdentityStore(), quick)
    ]
    try:
        with throwaway_cluster() as url:
            store = PostgresReplayStore(url)
            try:
                results.append(
                    _comparison("DPoP endpoint (PostgreSQL replay store) vs open", store, quick)
                )
            finally:
                store.close()
    except PostgresUnavailable as exc:
        print(f"PostgreSQL comparison left out: {exc}", file=sys.stderr)
    return results
