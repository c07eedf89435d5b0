"""The OIDC test provider itself (tests/oidc/op.mjs through conftest.py's fixtures).

A whole FAPI 2.0 flow done by hand with ``requests``, PyJWT and govkit's DPoP proofs, not
govkit's OIDC client, so the harness is proven independently of what it tests: PAR with
``private_key_jwt``, PKCE S256 and DPoP (one nonce challenge), the browserless login,
the callback's RFC 9207 ``iss``, the token request, an ID token carrying ``acr``,
``amr``, ``auth_time`` and ``sid``, userinfo, refresh with rotation, RP-initiated
logout with its back-channel logout token.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import requests

from govkit.identity._dpop import create_dpop_proof
from govkit.keys import SigningKey

HIGH = "http://eidas.europa.eu/LoA/high"
SUBSTANTIAL = "http://eidas.europa.eu/LoA/substantial"
LOW = "http://eidas.europa.eu/LoA/low"
TIMEOUT = 15


def _query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


class RawClient:
    """The minimum a FAPI 2.0 client does, by hand (for testing the provider)."""

    def __init__(self, op: Any) -> None:
        self.op = op
        self.meta: dict[str, Any] = op.discovery()
        self.dpop_key = SigningKey.generate("ES256")
        self.nonce: str | None = None
        self.http = requests.Session()

    def assertion(self) -> str:
        now = int(time.time())
        claims = {
            "iss": self.op.client_id,
            "sub": self.op.client_id,
            "aud": self.op.issuer,
            "jti": str(uuid.uuid4()),
            "iat": now,
            "nbf": now,
            "exp": now + 60,
        }
        return jwt.encode(
            claims, self.op.client_key.private_key, "ES256", headers={"kid": self.op.client_key.kid}
        )

    def post(self, url: str, form: Mapping[str, str], *, auth: bool = True) -> requests.Response:
        """POST with a DPoP proof (and a new client assertion), retrying once on
        ``use_dpop_nonce``."""
        for _ in range(2):
            body = dict(form)
            if auth:
                body["client_assertion_type"] = (
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
                )
                body["client_assertion"] = self.assertion()
            proof = create_dpop_proof(self.dpop_key, htm="POST", htu=url, nonce=self.nonce)
            response = self.http.post(url, data=body, headers={"DPoP": proof}, timeout=TIMEOUT)
            self.nonce = response.headers.get("DPoP-Nonce", self.nonce)
            if response.status_code == 400 and response.json().get("error") == "use_dpop_nonce":
                continue
            return response
        return response

    def get(self, url: str, access_token: str) -> requests.Response:
        for _ in range(2):
            proof = create_dpop_proof(
                self.dpop_key, htm="GET", htu=url, access_token=access_token, nonce=self.nonce
            )
            response = self.http.get(
                url,
                headers={"Authorization": f"DPoP {access_token}", "DPoP": proof},
                timeout=TIMEOUT,
            )
            self.nonce = response.headers.get("DPoP-Nonce", self.nonce)
            if response.status_code == 401 and "use_dpop_nonce" in response.headers.get(
                "WWW-Authenticate", ""
            ):
                continue
            return response
        return response

    def authorize(self, **extra: str) -> tuple[str, dict[str, str]]:
        """PAR, then the front-channel URL; returns it and the flow's secrets."""
        verifier = secrets.token_urlsafe(48)
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        flow = {"state": secrets.token_urlsafe(16), "nonce": secrets.token_urlsafe(16)}
        form = {
            "client_id": self.op.client_id,
            "response_type": "code",
            "redirect_uri": self.op.redirect_uri,
            "scope": "openid offline_access profile email",
            "prompt": "consent",
            "state": flow["state"],
            "nonce": flow["nonce"],
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            **extra,
        }
        response = self.post(self.meta["pushed_authorization_request_endpoint"], form)
        assert response.status_code == 201, response.text
        request_uri = response.json()["request_uri"]
        url = (
            self.meta["authorization_endpoint"]
            + "?"
            + urlencode({"client_id": self.op.client_id, "request_uri": request_uri})
        )
        flow["verifier"] = verifier
        flow["request_uri"] = request_uri
        return url, flow

    def redeem(self, code: str, verifier: str) -> requests.Response:
        return self.post(
            self.meta["token_endpoint"],
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.op.redirect_uri,
                "code_verifier": verifier,
            },
        )

    def id_token_claims(self, id_token: str) -> dict[str, Any]:
        jwks = jwt.PyJWKClient(self.meta["jwks_uri"], cache_keys=False)
        signing_key = jwks.get_signing_key_from_jwt(id_token)
        claims: dict[str, Any] = jwt.decode(
            id_token,
            signing_key.key,
            algorithms=self.meta["id_token_signing_alg_values_supported"],
            audience=self.op.client_id,
            issuer=self.op.issuer,
        )
        return claims


def test_discovery_in_both_modes(oidc_provider: Any) -> None:
    meta = oidc_provider.discovery()
    assert meta["issuer"] == oidc_provider.issuer
    assert meta["authorization_response_iss_parameter_supported"] is True
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert "ES256" in meta["dpop_signing_alg_values_supported"]
    assert set(meta["acr_values_supported"]) == {LOW, SUBSTANTIAL, HIGH}
    assert meta["backchannel_logout_supported"] is True
    if oidc_provider.fapi:
        assert meta["require_pushed_authorization_requests"] is True
        assert meta["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
        assert "HS256" not in meta["token_endpoint_auth_signing_alg_values_supported"]
    else:
        assert not meta.get("require_pushed_authorization_requests", False)
        assert "none" in meta["token_endpoint_auth_methods_supported"]


def test_whole_flow_by_hand(oidc_provider: Any) -> None:
    client = RawClient(oidc_provider)
    url, flow = client.authorize(acr_values=HIGH, max_age="600", login_hint="citizen-0002")
    assert set(_query(url)) == {"client_id", "request_uri"}
    callback = oidc_provider.login(url, browser=oidc_provider.new_browser())
    params = _query(callback)
    assert params["iss"] == oidc_provider.issuer
    assert params["state"] == flow["state"]

    tokens = client.redeem(params["code"], flow["verifier"])
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert body["token_type"] == "DPoP"
    claims = client.id_token_claims(body["id_token"])
    assert claims["sub"] == "citizen-0002"
    assert claims["nonce"] == flow["nonce"]
    assert claims["acr"] == HIGH
    assert claims["amr"] == ["face", "mfa"]
    assert abs(claims["auth_time"] - time.time()) < 120
    assert claims["sid"]

    info = client.get(client.meta["userinfo_endpoint"], body["access_token"])
    assert info.status_code == 200, info.text
    assert info.json()["sub"] == "citizen-0002"

    refreshed = client.post(
        client.meta["token_endpoint"],
        {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
    )
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["refresh_token"] != body["refresh_token"]
    reused = client.post(
        client.meta["token_endpoint"],
        {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
    )
    assert reused.json()["error"] == "invalid_grant"

    # The code is single-use (code replay), and replaying it revokes what it gave.
    assert client.redeem(params["code"], flow["verifier"]).json()["error"] == "invalid_grant"
    assert client.get(client.meta["userinfo_endpoint"], body["access_token"]).status_code == 401


def _fresh_login(op: Any, **extra: str) -> tuple[RawClient, dict[str, Any], Any]:
    client = RawClient(op)
    browser = op.new_browser()
    url, flow = client.authorize(**extra)
    params = _query(op.login(url, browser=browser))
    response = client.redeem(params["code"], flow["verifier"])
    assert response.status_code == 200, response.text
    return client, response.json(), browser


def test_logout_sends_a_backchannel_logout_token(oidc_provider: Any) -> None:
    client, body, browser = _fresh_login(oidc_provider)
    sid = client.id_token_claims(body["id_token"])["sid"]
    oidc_provider.backchannel.drain()
    end = (
        client.meta["end_session_endpoint"]
        + "?"
        + urlencode(
            {
                "id_token_hint": body["id_token"],
                "post_logout_redirect_uri": oidc_provider.post_logout_redirect_uri,
                "state": "bye",
                "client_id": oidc_provider.client_id,
            }
        )
    )
    landed = oidc_provider.logout(end, browser=browser)
    assert landed == f"{oidc_provider.post_logout_redirect_uri}?state=bye"
    logout_token = oidc_provider.backchannel.wait(10)
    header = jwt.get_unverified_header(logout_token)
    assert header.get("typ") == "logout+jwt"
    claims = jwt.decode(logout_token, options={"verify_signature": False})
    assert claims["sid"] == sid
    assert claims["iss"] == oidc_provider.issuer
    assert "http://schemas.openid.net/event/backchannel-logout" in claims["events"]

    # The provider's session is gone: prompt=none now answers login_required.
    url, _ = client.authorize(prompt="none")
    assert _query(oidc_provider.login(url, browser=browser))["error"] == "login_required"


def test_acr_values_and_step_up(oidc_provider: Any) -> None:
    client, body, browser = _fresh_login(oidc_provider, acr_values=SUBSTANTIAL)
    first = client.id_token_claims(body["id_token"])
    assert first["acr"] == SUBSTANTIAL
    assert first["amr"] == ["pwd", "sms"]
    assert "auth_time" not in first  # only with max_age
    # Asking for more than the session has logs in again (step-up).
    url, flow = client.authorize(acr_values=HIGH, max_age="3600")
    params = _query(oidc_provider.login(url, browser=browser))
    stepped = client.id_token_claims(
        client.redeem(params["code"], flow["verifier"]).json()["id_token"]
    )
    assert stepped["acr"] == HIGH
    assert stepped["auth_time"] >= first["iat"] - 5


def test_account_that_only_reaches_low(oidc_provider: Any) -> None:
    client, body, _ = _fresh_login(oidc_provider, acr_values=HIGH, login_hint="citizen-low")
    assert client.id_token_claims(body["id_token"])["acr"] == LOW


def test_other_provider_has_another_issuer(
    oidc_provider_fapi: Any, oidc_provider_other: Any
) -> None:
    assert oidc_provider_other.issuer != oidc_provider_fapi.issuer
    client, body, _ = _fresh_login(oidc_provider_other)
    assert client.id_token_claims(body["id_token"])["iss"] == oidc_provider_other.issuer


def test_par_request_uri_is_single_use(oidc_provider: Any) -> None:
    client = RawClient(oidc_provider)
    browser = oidc_provider.new_browser()
    url, _ = client.authorize()
    assert "code" in _query(oidc_provider.login(url, browser=browser))
    # Without the FAPI profile the provider redirects the error to the only registered
    # redirect_uri; with it, it shows an error page (the redirect_uri is not known).
    if oidc_provider.fapi:
        with pytest.raises(oidc_provider.LoginRefused) as refused:
            oidc_provider.login(url, browser=browser)
        assert refused.value.status == 400
        assert refused.value.error == "invalid_request_uri"
    else:
        again = _query(oidc_provider.login(url, browser=browser))
        assert again["error"] == "invalid_request_uri"
        assert again["iss"] == oidc_provider.issuer
