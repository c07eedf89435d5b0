"""The identity verifiers' async forms answer and fail exactly as the blocking ones do.

``TokenVerifier.averify``/``ainspect``, ``DPoPVerifier.averify`` and
``JwksSource.aget``/``arefresh`` run the blocking method on govkit's thread pool: same
arguments, same result, same typed error and code. Each negative test is named after
the fault it covers and asserts that both forms raise the same class with the same code.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from govkit.errors import (
    DPoPBindingMismatch,
    DPoPInvalid,
    GovkitError,
    JwksError,
    StoreFull,
    TokenExpired,
    TokenReplayed,
    TokenRevoked,
    UnknownKey,
)
from govkit.identity import (
    AssuranceLevel,
    DPoPVerifier,
    JwksSource,
    MemoryIdentityStore,
    TokenIssuer,
    TokenVerifier,
    create_dpop_proof,
)
from govkit.keys import KeyRing, SigningKey
from govkit.stores import MemoryReplayStore
from govkit.testing import FixedClock

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
ISS = "https://login.gov.example"
AUD = "https://tax.gov.example"
HTU = "https://tax.gov.example/returns"
SUB = "pseudonym-Q8r1"
JWKS_URL = "https://login.gov.example/jwks.json"

T = TypeVar("T")


def same_failure(blocking: Callable[[], Any], awaited: Callable[[], Awaitable[Any]]) -> GovkitError:
    """Both forms raise; the same class and code. Returns the async form's error."""
    with pytest.raises(GovkitError) as sync_caught:
        blocking()
    with pytest.raises(GovkitError) as async_caught:
        asyncio.run(awaited())  # type: ignore[arg-type]
    assert type(async_caught.value) is type(sync_caught.value)
    assert async_caught.value.code == sync_caught.value.code
    return async_caught.value


class World:
    def __init__(self) -> None:
        self.clock = FixedClock(T0)
        self.key = SigningKey.generate("ES256")
        self.ring = KeyRing(self.key, clock=self.clock)
        self.store = MemoryIdentityStore()
        self.dpop = DPoPVerifier(replay_store=self.store, clock=self.clock)
        self.verifier = TokenVerifier(
            self.ring, issuer=ISS, audience=AUD, clock=self.clock, store=self.store, dpop=self.dpop
        )
        self.issuer = TokenIssuer(self.ring, issuer=ISS, clock=self.clock)
        self.client = SigningKey.generate("EdDSA")

    def token(self, **kwargs: Any) -> str:
        kwargs.setdefault("confirmation_jkt", self.client.verifying_key.kid)
        return self.issuer.issue(
            SUB, AUD, AssuranceLevel.SUBSTANTIAL, timedelta(minutes=5), **kwargs
        )

    def proof(self, token: str | None, htm: str = "GET") -> str:
        return create_dpop_proof(
            self.client, htm=htm, htu=HTU, access_token=token, clock=self.clock
        )


@pytest.fixture
def world() -> World:
    return World()


def test_averify_returns_the_claims_verify_returns(world: World) -> None:
    token = world.token()
    blocking = world.verifier.verify(token, dpop_proof=world.proof(token), htm="GET", htu=HTU)
    awaited = asyncio.run(
        world.verifier.averify(token, dpop_proof=world.proof(token), htm="GET", htu=HTU)
    )
    assert awaited == blocking
    assert awaited.subject == SUB
    assert awaited.confirmation_jkt == world.client.verifying_key.kid


def test_ainspect_reports_what_inspect_reports(world: World) -> None:
    token = world.token(confirmation_jkt=None)
    blocking = world.verifier.inspect(token, htm="GET", htu=HTU)
    awaited = asyncio.run(world.verifier.ainspect(token, htm="GET", htu=HTU))
    assert awaited.ok is True
    assert awaited.checks == blocking.checks
    expired = world.token(confirmation_jkt=None)
    world.clock.advance(timedelta(hours=1))
    report = asyncio.run(world.verifier.ainspect(expired))
    assert (report.ok, report.code) == (False, "token.expired")
    assert report.checks == world.verifier.inspect(expired).checks


def test_an_expired_token_fails_alike(world: World) -> None:
    token = world.token(confirmation_jkt=None)
    world.clock.advance(timedelta(minutes=10))
    error = same_failure(
        lambda: world.verifier.verify(token), lambda: world.verifier.averify(token)
    )
    assert isinstance(error, TokenExpired)
    assert error.code == "token.expired"


def test_a_replayed_dpop_proof_fails_alike_through_averify(world: World) -> None:
    token = world.token()
    proof = world.proof(token)
    asyncio.run(world.verifier.averify(token, dpop_proof=proof, htm="GET", htu=HTU))
    error = same_failure(
        lambda: world.verifier.verify(token, dpop_proof=proof, htm="GET", htu=HTU),
        lambda: world.verifier.averify(token, dpop_proof=proof, htm="GET", htu=HTU),
    )
    assert isinstance(error, TokenReplayed)
    assert error.context["reason"] == "replay"


def test_a_proof_by_another_key_fails_alike(world: World) -> None:
    token = world.token()
    thief = SigningKey.generate("EdDSA")

    def stolen() -> str:
        return create_dpop_proof(thief, htm="GET", htu=HTU, access_token=token, clock=world.clock)

    error = same_failure(
        lambda: world.verifier.verify(token, dpop_proof=stolen(), htm="GET", htu=HTU),
        lambda: world.verifier.averify(token, dpop_proof=stolen(), htm="GET", htu=HTU),
    )
    assert isinstance(error, DPoPBindingMismatch)


def test_a_revoked_token_fails_alike(world: World) -> None:
    token = world.token(confirmation_jkt=None)
    claims = world.verifier.verify(token)
    assert claims.token_id is not None
    world.store.revoke_token(claims.token_id, expires_at=T0 + timedelta(hours=1))
    error = same_failure(
        lambda: world.verifier.verify(token), lambda: world.verifier.averify(token)
    )
    assert isinstance(error, TokenRevoked)


def test_a_full_replay_store_fails_alike_and_never_passes(world: World) -> None:
    """A store error is not a verdict: both forms raise store.full."""
    dpop = DPoPVerifier(replay_store=MemoryReplayStore(max_entries=1), clock=world.clock)
    dpop.verify(world.proof(None), htm="GET", htu=HTU)
    error = same_failure(
        lambda: dpop.verify(world.proof(None), htm="GET", htu=HTU),
        lambda: dpop.averify(world.proof(None), htm="GET", htu=HTU),
    )
    assert isinstance(error, StoreFull)


def test_dpop_averify_returns_the_proof_verify_returns(world: World) -> None:
    blocking = world.dpop.verify(world.proof(None, "POST"), htm="POST", htu=HTU)
    awaited = asyncio.run(world.dpop.averify(world.proof(None, "POST"), htm="POST", htu=HTU))
    assert (awaited.jkt, awaited.htm, awaited.htu, awaited.issued_at) == (
        blocking.jkt,
        blocking.htm,
        blocking.htu,
        blocking.issued_at,
    )
    error = same_failure(
        lambda: world.dpop.verify("not.a.proof", htm="POST", htu=HTU),
        lambda: world.dpop.averify("not.a.proof", htm="POST", htu=HTU),
    )
    assert isinstance(error, DPoPInvalid)


# --- JwksSource ------------------------------------------------------------------------


class ScriptedAdapter(BaseAdapter):
    """Answers every request with one scripted (status, body); counts requests."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__()
        self.status, self.body, self.count = status, body, 0

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.count += 1
        response = requests.Response()
        response.status_code = self.status
        response.headers = CaseInsensitiveDict({"Content-Type": "application/json"})
        response.raw = io.BytesIO(self.body)
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        pass


@pytest.fixture
def jwks(world: World) -> Iterator[tuple[JwksSource, ScriptedAdapter]]:
    document = {"keys": [world.key.verifying_key.to_jwk()]}
    adapter = ScriptedAdapter(200, json.dumps(document).encode())
    with requests.Session() as session:
        session.mount("https://", adapter)
        yield JwksSource(JWKS_URL, session=session, clock=world.clock), adapter


def test_jwks_aget_fetches_and_returns_the_key_get_returns(
    world: World, jwks: tuple[JwksSource, ScriptedAdapter]
) -> None:
    source, adapter = jwks
    kid = world.key.verifying_key.kid
    awaited = asyncio.run(source.aget(kid))
    assert adapter.count == 1
    assert awaited.kid == source.get(kid).kid == kid
    asyncio.run(source.arefresh())
    assert adapter.count == 2


def test_jwks_an_unknown_kid_fails_alike(jwks: tuple[JwksSource, ScriptedAdapter]) -> None:
    source, _ = jwks
    error = same_failure(lambda: source.get("no-such-kid"), lambda: source.aget("no-such-kid"))
    assert isinstance(error, UnknownKey)


def test_jwks_an_unreachable_set_fails_alike(world: World) -> None:
    adapter = ScriptedAdapter(503, b"down")
    with requests.Session() as session:
        session.mount("https://", adapter)
        source = JwksSource(JWKS_URL, session=session, clock=world.clock)
        error = same_failure(source.refresh, source.arefresh)
        assert isinstance(error, JwksError)
        assert error.code == "jwks.unavailable"


def test_a_verifier_on_a_jwks_source_verifies_through_averify(
    world: World, jwks: tuple[JwksSource, ScriptedAdapter]
) -> None:
    """The JWKS fetch happens inside averify, on the pool."""
    source, adapter = jwks
    verifier = TokenVerifier(source, issuer=ISS, audience=AUD, clock=world.clock)
    token = world.token(confirmation_jkt=None)
    claims = asyncio.run(verifier.averify(token))
    assert claims.subject == SUB
    assert adapter.count == 1
