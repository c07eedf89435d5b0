"""Back-channel logout when a store fails: the provider's retry must still end the session.

OpenID Back-Channel Logout 1.0, 2.8: the receiver answers ``200`` when the logout
succeeded, otherwise an error, and the provider may deliver the same logout token again.
:meth:`~govkit.integrations.LoginManager.backchannel` therefore validates the token,
writes the sessions' end to the revocation store and only then remembers the token's
``jti``: a revocation store that is down answers ``503`` and leaves the ``jti`` unseen,
so the retry is accepted once the store is back. The end is bounded by the token's
``iat`` (plus the client's leeway, never later than its receipt), so a retry or replay
of an old token never ends a login that began after it.

Real parts: :class:`govkit.testing.oidc.LocalProvider` on loopback, the revocation
store and the replay store each on a throwaway ``redis-server`` of its own that the
tests stop and start. One :class:`~govkit.testing.FixedClock` drives the provider, the
client and the manager, so that "later" is exact. Each fault runs through the blocking
route and the async one.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from govkit.identity.oidc import OidcClient
from govkit.integrations import LoginManager, LoginSession
from govkit.integrations._login import LoginAnswer
from govkit.keys import SigningKey
from govkit.stores import MemoryFlowStore, RedisReplayStore, RedisRevocationStore
from govkit.testing import FixedClock
from govkit.testing.oidc import LocalProvider

redis_helper = sys.modules["govkit_tests_redis"]  # loaded by tests/integration/conftest.py

T0 = datetime.now(UTC).replace(microsecond=0)  # the provider's JWKS and tokens: near now
FORM = "application/x-www-form-urlencoded"
LEEWAY = timedelta(seconds=30)  # OidcClient's default, the cutoff's allowance for skew
MODES = ("sync", "async")


@pytest.fixture(scope="module")
def revocation_server() -> Iterator[Any]:
    with redis_helper.throwaway_redis() as server:
        yield server


@pytest.fixture(scope="module")
def replay_server() -> Iterator[Any]:
    with redis_helper.throwaway_redis() as server:
        yield server


@dataclass
class Rp:
    """One relying party: the provider, the shared clock, the manager and its stores."""

    op: LocalProvider
    clock: FixedClock
    manager: LoginManager
    revocation_server: Any
    replay_server: Any

    def log_in(self, subject: str = "citizen-0001") -> str:
        """A whole login (login route, provider, callback): the session cookie."""
        started = self.manager.start({"login_hint": subject})
        assert started.status == 303, started.body
        assert started.location is not None
        state = next(c for c in started.cookies if c.name == self.manager.state_cookie)
        finished = self.manager.finish(self.op.authorize(started.location), state.value)
        assert finished.status == 303, finished.body
        return next(c for c in finished.cookies if c.name == self.manager.session_cookie).value

    def session(self, cookie: str) -> LoginSession | None:
        return self.manager.session(cookie)

    def deliver(self, token: str, mode: str) -> LoginAnswer:
        """The provider POSTs ``token`` to the back-channel logout route."""
        body = urlencode({"logout_token": token}).encode()
        if mode == "async":
            return asyncio.run(self.manager.abackchannel(FORM, body))
        return self.manager.backchannel(FORM, body)


@pytest.fixture
def rp(revocation_server: Any, replay_server: Any, redis_prefix: str) -> Iterator[Rp]:
    clock = FixedClock(T0)
    client_key = SigningKey.generate("ES256")
    with LocalProvider(
        client_keys=[client_key.verifying_key],
        redirect_uris=("https://rp.example/callback",),
        clock=clock,
    ) as op:
        replay = RedisReplayStore(replay_server.url, prefix=redis_prefix, timeout=5)
        revocations = RedisRevocationStore(revocation_server.url, prefix=redis_prefix, timeout=5)
        client = OidcClient(
            op.issuer,
            client_id=op.client_id,
            client_key=client_key,
            redirect_uri="https://rp.example/callback",
            flows=MemoryFlowStore(key=bytes(32)),
            replay_store=replay,
            clock=clock,
        )
        manager = LoginManager(
            client,
            key=bytes(range(32)),
            revocations=revocations,
            login_query=("acr_values", "login_hint"),
            clock=clock,
        )
        yield Rp(op, clock, manager, revocation_server, replay_server)
        # A failed test may leave a server stopped: the next test needs it running.
        for server in (revocation_server, replay_server):
            if server.process is None:
                server.start()
        client.close()
        replay.close()
        revocations.close()


def _code(answer: LoginAnswer) -> str:
    code: str = json.loads(answer.body)["error_description"]
    return code


def _logout_token(rp: Rp, cookie: str, by: str) -> str:
    session = rp.session(cookie)
    assert session is not None
    if by == "sid":
        assert session.sid is not None
        return rp.op.logout_token(sid=session.sid)
    return rp.op.logout_token(subject=session.subject)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("by", ["sid", "sub"])
def test_revocation_store_down_at_first_delivery_then_provider_retry_ends_the_session(
    rp: Rp, by: str, mode: str
) -> None:
    cookie = rp.log_in()
    token = _logout_token(rp, cookie, by)

    rp.revocation_server.stop()
    down = rp.deliver(token, mode)
    assert down.status == 503, down.body
    assert json.loads(down.body)["error"] == "temporarily_unavailable"
    assert _code(down).startswith("store.")

    rp.revocation_server.start()  # empty again (no persistence): nothing was written
    rp.clock.advance(timedelta(seconds=20))  # the provider retries a little later
    retried = rp.deliver(token, mode)
    assert retried.status == 200, retried.body  # not refused as a replay
    assert rp.session(cookie) is None  # the session is ended, not left to expire

    # Once it succeeded, the same token again is a replay: refused, and harmless.
    rp.clock.advance(timedelta(seconds=40))
    new_login = rp.log_in()
    replayed = rp.deliver(token, mode)
    assert replayed.status == 400
    assert _code(replayed) == "oidc.logout_replayed"
    assert rp.session(new_login) is not None
    assert rp.session(cookie) is None


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("by", ["sid", "sub"])
def test_replay_store_down_after_the_write_answers_200_and_a_replay_spares_a_new_login(
    rp: Rp, by: str, mode: str
) -> None:
    cookie = rp.log_in()
    token = _logout_token(rp, cookie, by)

    rp.replay_server.stop()
    ended = rp.deliver(token, mode)
    assert ended.status == 200, ended.body  # the sessions are ended: the logout succeeded
    assert rp.session(cookie) is None
    rp.replay_server.start()  # the jti was never remembered

    rp.clock.advance(LEEWAY + timedelta(seconds=30))  # later, the person logs in again
    new_login = rp.log_in()
    assert rp.session(new_login) is not None
    replayed = rp.deliver(token, mode)  # the old token, not remembered: accepted...
    assert replayed.status == 200, replayed.body
    assert rp.session(new_login) is not None  # ...and the new login survives it
    assert rp.session(cookie) is None
    again = rp.deliver(token, mode)  # remembered now
    assert again.status == 400
    assert _code(again) == "oidc.logout_replayed"
    assert rp.session(new_login) is not None


@pytest.mark.parametrize("mode", MODES)
def test_login_right_after_a_logout_by_sub_is_not_ended_by_it(rp: Rp, mode: str) -> None:
    before = rp.log_in()
    token = rp.op.logout_token(subject="citizen-0001")
    rp.clock.advance(timedelta(seconds=1))  # received a second after it was issued
    assert rp.deliver(token, mode).status == 200
    assert rp.session(before) is None
    rp.clock.advance(timedelta(seconds=5))  # within the leeway of iat, after receipt
    after = rp.log_in()
    assert rp.session(after) is not None


@pytest.mark.parametrize("mode", MODES)
def test_provider_clock_behind_ours_still_ends_a_session_begun_just_before_the_logout(
    rp: Rp, mode: str
) -> None:
    cookie = rp.log_in()  # at T0 by our clock
    rp.clock.set(T0 - timedelta(seconds=20))  # the provider's clock is 20 s behind
    token = rp.op.logout_token(subject="citizen-0001")  # iat: T0 - 20 s
    rp.clock.set(T0 + timedelta(seconds=2))
    assert rp.deliver(token, mode).status == 200
    assert rp.session(cookie) is None  # begun before the logout, though after its iat
