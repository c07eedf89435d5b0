"""govkit.testing.oidc.LocalProvider: the loopback OpenID Provider apps test their login with.

Driven by govkit's own client (:class:`~govkit.identity.oidc.OidcClient`) and, for what a
client would never send, by raw requests; each refusal is the one a real provider gives.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from govkit.errors import ConfigurationError, OidcError
from govkit.identity import AssuranceLevel
from govkit.identity.oidc import OidcClient
from govkit.keys import SigningKey
from govkit.stores import MemoryFlowStore, MemoryReplayStore
from govkit.testing.oidc import LocalProvider, ProviderErrorPage

REDIRECT = "http://127.0.0.1:8765/callback"
LOGGED_OUT = "http://127.0.0.1:8765/logged-out"
HIGH = AssuranceLevel.HIGH.acr


@pytest.fixture(scope="module")
def client_key() -> SigningKey:
    return SigningKey.generate("ES256")


@pytest.fixture(params=[True, False], ids=["fapi2", "plain"])
def provider(request: pytest.FixtureRequest, client_key: SigningKey) -> Iterator[LocalProvider]:
    with LocalProvider(
        client_keys=[client_key.verifying_key],
        fapi=request.param,
        accounts={"citizen-0002": {"name": "李四"}},
    ) as op:
        yield op


def _client(provider: LocalProvider, key: SigningKey) -> OidcClient:
    return OidcClient(
        provider.issuer,
        client_id=provider.client_id,
        client_key=key,
        redirect_uri=REDIRECT,
        flows=MemoryFlowStore(key=secrets.token_bytes(32)),
        scope="openid offline_access",
        replay_store=MemoryReplayStore(),
        post_logout_redirect_uri=LOGGED_OUT,
    )


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_whole_flow_login_userinfo_refresh_logout(
    provider: LocalProvider, client_key: SigningKey
) -> None:
    client = _client(provider, client_key)
    start = client.start_login(acr_values=[HIGH], max_age=600, login_hint="citizen-0002")
    callback = provider.authorize(start.url)
    assert _query(callback)["iss"] == provider.issuer
    login = client.finish_login(callback, expected_state=start.state)
    assert login.subject == "citizen-0002"
    assert login.id_token.assurance is AssuranceLevel.HIGH
    assert login.id_token.sid in provider.sessions()
    assert login.tokens.token_type == "DPoP"
    assert client.userinfo(login) == {"sub": "citizen-0002", "name": "李四"}
    renewed = client.refresh(login)
    assert renewed.subject == "citizen-0002"
    logout = client.logout_url(renewed.id_token, state="bye")
    answer = requests.get(logout, allow_redirects=False, timeout=5)
    assert answer.status_code == 303
    assert answer.headers["Location"] == LOGGED_OUT + "?state=bye"
    assert login.id_token.sid not in provider.sessions()


def test_the_first_proof_gets_a_nonce_challenge_and_the_retry_passes(
    provider: LocalProvider, client_key: SigningKey
) -> None:
    client = _client(provider, client_key)
    provider.rotate_nonce()
    provider.rotate_nonce()  # the client's remembered nonce is now two steps old
    start = client.start_login()
    login = client.finish_login(provider.authorize(start.url), expected_state=start.state)
    assert login.subject == "citizen-0001"


def test_code_replay_is_refused(provider: LocalProvider, client_key: SigningKey) -> None:
    client = _client(provider, client_key)
    first = client.start_login()
    callback = provider.authorize(first.url)
    client.finish_login(callback, expected_state=first.state)
    with pytest.raises(OidcError) as caught:  # the state was taken: the flow is gone
        client.finish_login(callback, expected_state=first.state)
    assert caught.value.code == "oidc.state_replayed"


def test_a_request_uri_is_used_once(provider: LocalProvider, client_key: SigningKey) -> None:
    client = _client(provider, client_key)
    start = client.start_login()
    provider.authorize(start.url)
    with pytest.raises(ProviderErrorPage) as caught:
        provider.authorize(start.url)
    assert caught.value.error == "invalid_request"


def test_an_unregistered_client_key_cannot_authenticate(provider: LocalProvider) -> None:
    stranger = _client(provider, SigningKey.generate("ES256"))
    with pytest.raises(OidcError) as caught:
        stranger.start_login()
    assert caught.value.code.startswith("oidc.")


def test_logout_tokens_verify_and_replay_is_refused(
    provider: LocalProvider, client_key: SigningKey
) -> None:
    client = _client(provider, client_key)
    token = provider.logout_token(subject="citizen-0001", sid="s-1")
    verified = client.verify_logout_token(token)
    assert (verified.subject, verified.sid) == ("citizen-0001", "s-1")
    with pytest.raises(OidcError) as caught:
        client.verify_logout_token(token)
    assert caught.value.code == "oidc.logout_replayed"


def test_discovery_announces_the_fapi_2_rules(provider: LocalProvider) -> None:
    document = requests.get(provider.issuer + "/.well-known/openid-configuration", timeout=5).json()
    assert document["issuer"] == provider.issuer
    assert document["require_pushed_authorization_requests"] is provider.fapi
    assert document["authorization_response_iss_parameter_supported"] is True
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert "none" not in document["id_token_signing_alg_values_supported"]


def test_logout_url_refuses_what_is_not_an_id_token(
    provider: LocalProvider, client_key: SigningKey
) -> None:
    client = _client(provider, client_key)
    start = client.start_login()
    login = client.finish_login(provider.authorize(start.url), expected_state=start.state)
    with pytest.raises(ConfigurationError):
        client.logout_url(login)  # type: ignore[arg-type]  # the mistake under test
    assert "id_token_hint=" + login.id_token.raw in client.logout_url(login.id_token.raw)
