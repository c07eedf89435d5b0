"""govkit.identity.oidc.OidcClient against a real OpenID Provider (oidc-provider 9.13.3).

Both profiles (FAPI 2.0 off and on), the whole flow, 20 flows in a row, step-up, and
negative tests each named after its attack and asserting its code.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from govkit._encoding import b64url_decode, b64url_encode
from govkit.errors import GovkitError
from govkit.identity import AssuranceLevel
from govkit.identity.oidc import Login, OidcClient
from govkit.keys import SigningKey
from govkit.stores import (
    MemoryFlowStore,
    MemoryReplayStore,
    PostgresFlowStore,
    RedisFlowStore,
    SQLiteFlowStore,
)

HIGH = "http://eidas.europa.eu/LoA/high"
SUBSTANTIAL = "http://eidas.europa.eu/LoA/substantial"
LOW = "http://eidas.europa.eu/LoA/low"
SCOPE = "openid offline_access profile email"


def make_client(op: Any, **overrides: Any) -> OidcClient:
    options: dict[str, Any] = {
        "client_id": op.client_id,
        "client_key": op.client_key,
        "redirect_uri": op.redirect_uri,
        "flows": MemoryFlowStore(key=bytes(range(32))),
        "scope": SCOPE,
        "replay_store": MemoryReplayStore(),
        "post_logout_redirect_uri": op.post_logout_redirect_uri,
    }
    options.update(overrides)
    return OidcClient(op.issuer, **options)


@pytest.fixture
def client(oidc_provider: Any) -> Iterator[OidcClient]:
    c = make_client(oidc_provider)
    yield c
    c.close()


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def code_of(error: pytest.ExceptionInfo[GovkitError]) -> str:
    return error.value.code


def login(op: Any, client: OidcClient, **kwargs: Any) -> Login:
    hint = kwargs.pop("login_hint", "citizen-0001")
    browser = kwargs.pop("browser", None) or op.new_browser()
    request = client.start_login(login_hint=hint, **kwargs)
    callback = op.login(request.url, browser=browser)
    return client.finish_login(callback, expected_state=request.state)


# --- the whole flow --------------------------------------------------------------------


def test_whole_flow(oidc_provider: Any, client: OidcClient) -> None:
    op = oidc_provider
    metadata = client.discover()
    assert metadata.issuer == op.issuer
    assert metadata.pushed_authorization_request_endpoint is not None
    browser = op.new_browser()
    request = (
        client.start_login(acr_values=[HIGH], max_age=600, login_hint="citizen-0001", browser=None)
        if False
        else client.start_login(acr_values=[HIGH], max_age=600, login_hint="citizen-0001")
    )
    assert set(query(request.url)) == {"client_id", "request_uri"}
    callback = op.login(request.url, browser=browser)
    assert query(callback)["iss"] == op.issuer
    done = client.finish_login(callback, expected_state=request.state)
    token = done.id_token
    assert token.subject == "citizen-0001"
    assert token.acr == HIGH
    assert token.assurance is AssuranceLevel.HIGH
    assert token.auth_time is not None
    assert token.sid
    assert "face" in token.amr
    assert done.tokens.token_type == "DPoP"
    assert done.tokens.refresh_token
    info = client.userinfo(done)
    assert info["sub"] == "citizen-0001"
    assert info["email"]
    refreshed = client.refresh(done)
    assert refreshed.tokens.refresh_token != done.tokens.refresh_token
    assert refreshed.subject == done.subject
    assert client.userinfo(refreshed)["sub"] == "citizen-0001"
    with pytest.raises(GovkitError) as old:  # the rotated refresh token is dead
        client.refresh(done)
    assert old.value.code == "oidc.provider_error"
    assert old.value.context["error"] == "invalid_grant"
    # RP-initiated logout, and the back-channel logout token it sends.
    op.backchannel.drain()
    url = client.logout_url(token, state="bye-123")
    assert query(url)["id_token_hint"] == token.raw
    landed = op.logout(url, browser=browser)
    assert landed.startswith(op.post_logout_redirect_uri)
    assert query(landed)["state"] == "bye-123"
    logout = client.verify_logout_token(op.backchannel.wait())
    assert logout.sid == token.sid
    assert logout.subject == "citizen-0001"
    # After logout a silent login needs a new authentication.
    silent = client.start_login(prompt="none", scope="openid")
    answer = op.login(silent.url, browser=browser)
    with pytest.raises(GovkitError) as none:
        client.finish_login(answer, expected_state=silent.state)
    assert none.value.code == "oidc.provider_error"
    assert none.value.context["error"] == "login_required"


def test_twenty_flows_in_a_row(oidc_provider: Any, client: OidcClient) -> None:
    started = time.perf_counter()
    for i in range(20):  # alternating subjects, each in its own browser
        subject = "citizen-0001" if i % 2 == 0 else "citizen-0002"
        done = login(oidc_provider, client, login_hint=subject)
        assert done.subject == subject
        assert client.userinfo(done)["sub"] == subject
    assert time.perf_counter() - started < 60


def test_async_flow(oidc_provider: Any, client: OidcClient) -> None:
    op = oidc_provider

    async def run() -> None:
        await client.adiscover()
        request = await client.astart_login(acr_values=[SUBSTANTIAL], login_hint="citizen-0002")
        browser = op.new_browser()
        callback = await asyncio.to_thread(op.login, request.url, browser=browser)
        done = await client.afinish_login(callback, expected_state=request.state)
        assert done.id_token.assurance is AssuranceLevel.SUBSTANTIAL
        assert (await client.auserinfo(done))["sub"] == "citizen-0002"
        refreshed = await client.arefresh(done)
        assert refreshed.tokens.refresh_token != done.tokens.refresh_token
        again = await client.avalidate_id_token(done.id_token.raw, nonce=done.id_token.nonce)
        assert again.subject == done.subject
        stepped = await client.astart_step_up(
            f'DPoP error="insufficient_user_authentication", acr_values="{HIGH}"',
            login_hint="citizen-0002",
        )
        callback = await asyncio.to_thread(op.login, stepped.url, browser=browser)
        high = await client.afinish_login(callback, expected_state=stepped.state)
        assert high.id_token.assurance is AssuranceLevel.HIGH
        op.backchannel.drain()
        url = await client.alogout_url(high.id_token)
        await asyncio.to_thread(op.logout, url, browser=browser)
        token = await asyncio.to_thread(op.backchannel.wait)
        assert (await client.averify_logout_token(token)).sid == high.id_token.sid

    asyncio.run(run())


def test_nonce_challenge_is_retried_with_a_fresh_proof_and_assertion(
    oidc_provider: Any,
) -> None:

    sent: list[dict[str, Any]] = []

    class Recording(requests.Session):
        def request(self, method: str, url: Any, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
            response = super().request(method, url, *args, **kwargs)
            sent.append(
                {
                    "url": url,
                    "dpop": (kwargs.get("headers") or {}).get("DPoP"),
                    "data": dict(kwargs.get("data") or {}),
                    "status": response.status_code,
                }
            )
            return response

    client = make_client(oidc_provider, session=Recording())
    client.start_login(login_hint="citizen-0001")
    pushes = [s for s in sent if s["url"].endswith("/request")]
    assert [p["status"] for p in pushes] == [400, 201]  # use_dpop_nonce, then accepted
    assert pushes[0]["dpop"] != pushes[1]["dpop"]
    first, second = (p["data"]["client_assertion"] for p in pushes)
    assert first != second
    client.close()


def test_step_up_challenge_reauthenticates_at_the_level_asked(
    oidc_provider: Any, client: OidcClient
) -> None:
    op = oidc_provider
    browser = op.new_browser()
    first = login(op, client, acr_values=[SUBSTANTIAL], browser=browser)
    assert first.id_token.assurance is AssuranceLevel.SUBSTANTIAL
    challenge = (
        'DPoP error="insufficient_user_authentication", '
        f'error_description="face verification needed", acr_values="{HIGH}", max_age="600"'
    )
    request = client.start_step_up(challenge, login_hint="citizen-0001")
    stepped = client.finish_login(
        op.login(request.url, browser=browser), expected_state=request.state
    )
    assert stepped.subject == first.subject
    assert stepped.id_token.acr == HIGH
    assert stepped.id_token.auth_time is not None


# --- attacks ---------------------------------------------------------------------------


def test_mix_up_callback_with_iss_of_another_provider(
    oidc_provider_fapi: Any, oidc_provider_other: Any
) -> None:
    flows = MemoryFlowStore(key=bytes(range(32)))
    honest = make_client(oidc_provider_fapi, flows=flows)
    other = make_client(oidc_provider_other, flows=flows)
    # The user's login went to the other provider; its callback comes back to the honest
    # client's redirect URI (the same URI is registered at both).
    request = other.start_login(login_hint="citizen-0001")
    callback = oidc_provider_other.login(request.url, browser=oidc_provider_other.new_browser())
    with pytest.raises(GovkitError) as caught:
        honest.finish_login(callback, expected_state=request.state)
    assert caught.value.code == "oidc.issuer_mismatch"
    # A callback whose iss is rewritten to another provider's is refused as well.
    request = honest.start_login(login_hint="citizen-0001")
    callback = oidc_provider_fapi.login(request.url, browser=oidc_provider_fapi.new_browser())
    params = query(callback) | {"iss": oidc_provider_other.issuer}
    with pytest.raises(GovkitError) as caught:
        honest.finish_login(params, expected_state=request.state)
    assert caught.value.code == "oidc.issuer_mismatch"
    assert caught.value.context["reason"] == "iss"
    honest.close()
    other.close()


def test_mix_up_callback_without_iss(oidc_provider: Any, client: OidcClient) -> None:
    request = client.start_login(login_hint="citizen-0001")
    callback = oidc_provider.login(request.url, browser=oidc_provider.new_browser())
    params = {k: v for k, v in query(callback).items() if k != "iss"}
    with pytest.raises(GovkitError) as caught:
        client.finish_login(params, expected_state=request.state)
    assert caught.value.code == "oidc.issuer_mismatch"
    assert caught.value.context["reason"] == "missing"


def test_code_injection_attackers_code_in_victims_callback(
    oidc_provider: Any, client: OidcClient
) -> None:
    op = oidc_provider
    attacker = client.start_login(login_hint="citizen-0002")
    stolen = query(op.login(attacker.url, browser=op.new_browser()))["code"]
    victim = client.start_login(login_hint="citizen-0001")
    genuine = query(op.login(victim.url, browser=op.new_browser()))
    injected = genuine | {"code": stolen}
    with pytest.raises(GovkitError) as caught:
        client.finish_login(injected, expected_state=victim.state)
    # The code is bound to the attacker's PKCE verifier and DPoP key: the provider refuses.
    assert caught.value.code == "oidc.provider_error"
    assert caught.value.context["error"] == "invalid_grant"


def test_code_replay_in_a_new_flow(oidc_provider: Any, client: OidcClient) -> None:
    op = oidc_provider
    first = client.start_login(login_hint="citizen-0001")
    callback = query(op.login(first.url, browser=op.new_browser()))
    client.finish_login(callback, expected_state=first.state)
    second = client.start_login(login_hint="citizen-0001")
    replayed = query(op.login(second.url, browser=op.new_browser())) | {"code": callback["code"]}
    with pytest.raises(GovkitError) as caught:
        client.finish_login(replayed, expected_state=second.state)
    assert caught.value.code == "oidc.provider_error"
    assert caught.value.context["error"] == "invalid_grant"


def test_state_replay_same_callback_twice(oidc_provider: Any, client: OidcClient) -> None:
    request = client.start_login(login_hint="citizen-0001")
    callback = oidc_provider.login(request.url, browser=oidc_provider.new_browser())
    client.finish_login(callback, expected_state=request.state)
    with pytest.raises(GovkitError) as caught:
        client.finish_login(callback, expected_state=request.state)
    assert caught.value.code == "oidc.state_replayed"


def test_state_mismatch_callback_from_another_browser_session(
    oidc_provider: Any, client: OidcClient
) -> None:
    mine = client.start_login(login_hint="citizen-0001")
    theirs = client.start_login(login_hint="citizen-0002")
    callback = oidc_provider.login(theirs.url, browser=oidc_provider.new_browser())
    with pytest.raises(GovkitError) as caught:
        client.finish_login(callback, expected_state=mine.state)
    assert caught.value.code == "oidc.state_mismatch"
    # Refused before the flow was taken: its rightful browser can still finish it.
    assert client.finish_login(callback, expected_state=theirs.state).subject == "citizen-0002"


def test_state_unknown_forged_state(oidc_provider: Any, client: OidcClient) -> None:
    request = client.start_login(login_hint="citizen-0001")
    callback = query(oidc_provider.login(request.url, browser=oidc_provider.new_browser()))
    forged = callback | {"state": "A" * 43}
    with pytest.raises(GovkitError) as caught:
        client.finish_login(forged, expected_state=forged["state"])
    assert caught.value.code == "oidc.state_unknown"


def test_nonce_replay_old_id_token_for_a_new_login(oidc_provider: Any, client: OidcClient) -> None:
    old = login(oidc_provider, client)
    with pytest.raises(GovkitError) as caught:
        client.id_token_validator().validate(old.id_token.raw, nonce="the-new-flows-nonce")
    assert caught.value.code == "oidc.nonce_mismatch"


def test_acr_lower_than_requested(oidc_provider: Any, client: OidcClient) -> None:
    with pytest.raises(GovkitError) as caught:  # citizen-low always logs in at eIDAS low
        login(oidc_provider, client, login_hint="citizen-low", acr_values=[HIGH])
    assert caught.value.code == "oidc.acr_insufficient"


def test_expired_id_token(oidc_provider: Any, client: OidcClient) -> None:
    done = login(oidc_provider, client)
    later = done.id_token.expires_at + timedelta(minutes=5)
    with pytest.raises(GovkitError) as caught:
        client.id_token_validator().validate(done.id_token.raw, nonce=done.id_token.nonce, at=later)
    assert caught.value.code == "token.expired"


def test_dpop_proof_by_another_key(oidc_provider: Any, client: OidcClient) -> None:

    done = login(oidc_provider, client)
    stolen = replace(done, tokens=replace(done.tokens, dpop_key=SigningKey.generate("ES256")))
    with pytest.raises(GovkitError) as caught:
        client.userinfo(stolen)
    assert caught.value.code == "oidc.provider_error"
    assert caught.value.context["error"] == "invalid_token"
    assert client.userinfo(done)["sub"] == done.subject  # the holder of the key still can


def test_par_request_uri_used_twice(oidc_provider: Any, client: OidcClient) -> None:
    request = client.start_login(login_hint="citizen-0001")
    callback = oidc_provider.login(request.url, browser=oidc_provider.new_browser())
    if oidc_provider.fapi:  # FAPI 2.0: an error page, no redirect
        with pytest.raises(oidc_provider.LoginRefused) as refused:
            oidc_provider.login(request.url, browser=oidc_provider.new_browser())
        assert refused.value.error == "invalid_request_uri"
    else:  # plain: a redirect with the error and no state, which no flow accepts
        second = query(oidc_provider.login(request.url, browser=oidc_provider.new_browser()))
        assert second["error"] == "invalid_request_uri"
        assert "code" not in second
        with pytest.raises(GovkitError) as caught:
            client.finish_login(second, unsafe_skip_state_binding=True)
        assert caught.value.code == "oidc.state_unknown"
    assert client.finish_login(callback, expected_state=request.state).subject == "citizen-0001"


def test_logout_token_replayed(oidc_provider: Any, client: OidcClient) -> None:
    op = oidc_provider
    browser = op.new_browser()
    done = login(op, client, browser=browser)
    op.backchannel.drain()
    op.logout(client.logout_url(done.id_token), browser=browser)
    token = op.backchannel.wait()
    assert client.verify_logout_token(token).sid == done.id_token.sid
    with pytest.raises(GovkitError) as caught:
        client.verify_logout_token(token)
    assert caught.value.code == "oidc.logout_replayed"


def test_logout_token_retried_after_a_failed_record_is_accepted_until_remembered(
    oidc_provider: Any, client: OidcClient
) -> None:
    # The receiver's store was down: it answered 503 and did not remember the jti, so
    # the provider's retry of the same token must pass; once remembered, it is a replay.
    op = oidc_provider
    browser = op.new_browser()
    done = login(op, client, browser=browser)
    op.backchannel.drain()
    op.logout(client.logout_url(done.id_token), browser=browser)
    token = op.backchannel.wait()
    first = client.check_logout_token(token)
    assert first.sid == done.id_token.sid
    retried = asyncio.run(client.acheck_logout_token(token))
    assert retried == first
    client.remember_logout_token(retried)
    for replay in (
        lambda: client.verify_logout_token(token),
        lambda: client.remember_logout_token(first),
        lambda: asyncio.run(client.aremember_logout_token(first)),
    ):
        with pytest.raises(GovkitError) as caught:
            replay()
        assert caught.value.code == "oidc.logout_replayed"


def test_provider_error_answer_is_typed(oidc_provider: Any, client: OidcClient) -> None:
    request = client.start_login(prompt="none", login_hint="citizen-0001")
    callback = oidc_provider.login(request.url, browser=oidc_provider.new_browser())
    with pytest.raises(GovkitError) as caught:
        client.finish_login(callback, expected_state=request.state)
    assert caught.value.code == "oidc.provider_error"
    assert caught.value.context == {"endpoint": "authorization", "error": "login_required"}


def _craft(header: dict[str, Any], claims: dict[str, Any], sign: Any) -> str:

    head = (
        b64url_encode(json.dumps(header).encode())
        + "."
        + b64url_encode(json.dumps(claims).encode())
    )
    return head + "." + b64url_encode(sign(head.encode()))


def _header_kid(done: Login) -> str:

    kid: str = json.loads(b64url_decode(done.id_token.raw.split(".")[0]))["kid"]
    return kid


def _genuine_claims(done: Login) -> dict[str, Any]:
    return dict(done.id_token.claims)


def test_id_token_signed_with_none(oidc_provider: Any, client: OidcClient) -> None:
    done = login(oidc_provider, client)
    kid = _header_kid(done)
    forged = _craft(
        {"alg": "none", "kid": kid}, _genuine_claims(done) | {"sub": "admin"}, lambda _: b""
    )
    with pytest.raises(GovkitError) as caught:
        client.id_token_validator().validate(forged, nonce=done.id_token.nonce)
    assert caught.value.code == "token.algorithm"


def test_id_token_signed_with_hs256_over_the_public_key(
    oidc_provider: Any, client: OidcClient
) -> None:

    done = login(oidc_provider, client)
    jwks = requests.get(client.discover().jwks_uri, timeout=10).json()
    kid = _header_kid(done)
    public = next(k for k in jwks["keys"] if k.get("kid") == kid)
    secret = json.dumps(public).encode()
    forged = _craft(
        {"alg": "HS256", "kid": kid},
        _genuine_claims(done) | {"sub": "admin"},
        lambda data: hmac.new(secret, data, hashlib.sha256).digest(),
    )
    with pytest.raises(GovkitError) as caught:
        client.id_token_validator().validate(forged, nonce=done.id_token.nonce)
    assert caught.value.code == "token.algorithm"


def test_id_token_signed_by_a_key_not_in_the_jwks(oidc_provider: Any, client: OidcClient) -> None:

    done = login(oidc_provider, client)
    rogue = SigningKey.generate("ES256")
    claims = _genuine_claims(done) | {"sub": "admin"}
    forged = _craft({"alg": "ES256", "kid": rogue.kid}, claims, rogue.sign)
    with pytest.raises(GovkitError) as caught:
        client.id_token_validator().validate(forged, nonce=done.id_token.nonce)
    assert caught.value.code == "token.unknown_key"
    # The provider's kid with the rogue key's signature.
    forged = _craft({"alg": "ES256", "kid": _header_kid(done)}, claims, rogue.sign)
    with pytest.raises(GovkitError) as caught:
        client.id_token_validator().validate(forged, nonce=done.id_token.nonce)
    assert caught.value.code == "token.invalid_signature"


def test_discovery_issuer_must_match_exactly(oidc_provider: Any) -> None:
    wrong = make_client(oidc_provider)
    wrong._issuer = oidc_provider.issuer + "/"  # a trailing slash is another issuer
    with pytest.raises(GovkitError) as caught:
        wrong.discover()
    assert caught.value.code == "oidc.discovery"
    assert caught.value.context["reason"] == "issuer"
    wrong.close()


@pytest.mark.parametrize(
    "engine",
    [
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("redis", marks=pytest.mark.redis),
    ],
)
def test_flow_state_in_a_shared_store_sealed_and_taken_once(
    oidc_provider_fapi: Any, engine: str, tmp_path: Any, request: pytest.FixtureRequest
) -> None:

    key = bytes(range(32))
    if engine == "sqlite":
        path = tmp_path / "flows.sqlite3"
        make_store: Any = lambda: SQLiteFlowStore(path, key=key)  # noqa: E731
    elif engine == "postgres":
        url = request.getfixturevalue("pg_store_url")
        make_store = lambda: PostgresFlowStore(url, key=key)  # noqa: E731
    else:
        url = request.getfixturevalue("redis_url")
        prefix = request.getfixturevalue("redis_prefix")
        make_store = lambda: RedisFlowStore(url, prefix=prefix, key=key)  # noqa: E731
    op = oidc_provider_fapi
    starter, finisher = make_store(), make_store()  # two app processes, one store
    first = make_client(op, flows=starter)
    second = make_client(op, flows=finisher)
    request_ = first.start_login(acr_values=[HIGH], login_hint="citizen-0002")
    if engine == "sqlite":  # what a database reader sees: no state, nonce, verifier or key
        raw = path.read_bytes() + (
            path.with_name(path.name + "-wal").read_bytes()
            if path.with_name(path.name + "-wal").exists()
            else b""
        )
        assert request_.state.encode() not in raw
        assert b"PRIVATE KEY" not in raw
        assert b"verifier" not in raw
        assert b"nonce" not in raw
    callback = op.login(request_.url, browser=op.new_browser())
    done = second.finish_login(callback, expected_state=request_.state)
    assert done.id_token.acr == HIGH
    assert done.subject == "citizen-0002"
    with pytest.raises(GovkitError) as caught:
        first.finish_login(callback, expected_state=request_.state)
    assert caught.value.code == "oidc.state_replayed"
    for store in (starter, finisher):
        store.close()
    first.close()
    second.close()
