"""The FastAPI login routes (govkit.integrations.fastapi.login_router) against the real
provider (``tests/oidc/op.mjs``, FAPI 2.0 profile on), end to end.

Two tabs of one browser: the application sees two cookie jars (two test clients), the
provider one (its SSO session), so both application sessions carry the same ``sid``.
Logging out in one tab ends the provider's session; the provider's back-channel logout
token (caught by the harness's receiver and handed to the application's route, as the
provider would POST it) then ends the other tab's session too.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from fastapi import Depends, FastAPI
from starlette.exceptions import StarletteDeprecationWarning

from govkit.identity import AssuranceLevel
from govkit.identity.oidc import OidcClient
from govkit.integrations import LoginManager, LoginSession
from govkit.integrations.fastapi import login_router, require_login
from govkit.stores import MemoryFlowStore, MemoryReplayStore, MemoryRevocationStore

with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore", "Using `httpx` with `starlette.testclient`", StarletteDeprecationWarning
    )
    from fastapi.testclient import TestClient

HIGH = AssuranceLevel.HIGH.acr


@pytest.fixture
def app(oidc_provider_fapi: Any) -> Iterator[tuple[FastAPI, OidcClient]]:
    op = oidc_provider_fapi
    client = OidcClient(
        op.issuer,
        client_id=op.client_id,
        client_key=op.client_key,
        redirect_uri=op.redirect_uri,
        flows=MemoryFlowStore(key=bytes(range(32))),
        replay_store=MemoryReplayStore(),
        post_logout_redirect_uri=op.post_logout_redirect_uri,
    )
    logins = LoginManager(
        client,
        key=bytes(range(32, 64)),
        revocations=MemoryRevocationStore(),
        acr_values=[AssuranceLevel.SUBSTANTIAL.acr],
        max_age=600,  # the provider then adds auth_time
        unsafe_http_cookies=True,  # the harness's redirect_uri is http://127.0.0.1:8765
    )
    application = FastAPI()
    application.include_router(login_router(logins))
    logged_in = require_login(logins)
    face = require_login(logins, min_assurance=AssuranceLevel.HIGH)

    @application.get("/me")
    async def me(session: LoginSession = Depends(logged_in)) -> dict[str, Any]:  # noqa: B008
        return {
            "sub": session.subject,
            "sid": session.sid,
            "assurance": session.assurance.label if session.assurance else None,
            "auth_time": session.auth_time is not None,
        }

    @application.get("/high")
    async def high(session: LoginSession = Depends(face)) -> dict[str, str]:  # noqa: B008
        return {"sub": session.subject}

    yield application, client
    client.close()


def local(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def log_in(tab: TestClient, op: Any, browser: Any, start: str) -> str:
    started = tab.get(start, follow_redirects=False)
    assert started.status_code == 303, started.text
    callback = op.login(started.headers["location"], browser=browser)
    finished = tab.get(local(callback), follow_redirects=False)
    assert finished.status_code == 303, finished.text
    return str(finished.headers["location"])


def test_login_step_up_logout_and_backchannel_logout_end_to_end(
    app: tuple[FastAPI, OidcClient], oidc_provider_fapi: Any
) -> None:
    op = oidc_provider_fapi
    application, _ = app
    browser = op.new_browser()  # the provider's cookie jar, shared by both tabs
    base = op.redirect_uri.removesuffix("/callback")
    with (
        TestClient(application, base_url=base) as one,
        TestClient(application, base_url=base) as two,
    ):
        first = one.get("/me", follow_redirects=False)
        assert first.headers.get("location") == "/login?next=%2Fme", (first.status_code, first.text)
        assert log_in(one, op, browser, "/login?next=%2Fme") == "/me"
        me = one.get("/me").json()
        assert me["sub"] == "citizen-0001"
        assert me["assurance"] == "substantial"
        assert me["auth_time"] is True
        assert me["sid"]

        # Step-up: the route wants HIGH; the redirect asks the provider for it.
        stepped = one.get("/high", follow_redirects=False)
        assert stepped.status_code == 303
        query = parse_qs(urlsplit(stepped.headers["location"]).query)
        assert query == {"acr_values": [HIGH], "next": ["/high"]}
        assert log_in(one, op, browser, local(stepped.headers["location"])) == "/high"
        assert one.get("/high").json() == {"sub": "citizen-0001"}
        sid = one.get("/me").json()["sid"]

        # The second tab logs in through the provider's SSO session: the same sid.
        assert log_in(two, op, browser, "/login") == "/"
        assert two.get("/me").json()["sid"] == sid

        # Logout in tab one: its session ends here, then at the provider.
        op.backchannel.drain()
        out = one.post("/logout", follow_redirects=False)
        assert out.status_code == 303
        assert out.headers["location"].startswith(op.issuer)
        assert one.get("/me", follow_redirects=False).status_code == 303
        landed = op.logout(out.headers["location"], browser=browser)
        assert landed.startswith(op.post_logout_redirect_uri)

        # The provider's back-channel logout token names the sid: tab two's session ends.
        token = op.backchannel.wait()
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        body = urlencode({"logout_token": token})
        answer = two.post("/backchannel-logout", content=body, headers=form)
        assert answer.status_code == 200, answer.text
        assert two.get("/me", follow_redirects=False).headers["location"] == "/login?next=%2Fme"

        # The same token again is a replay.
        again = two.post("/backchannel-logout", content=body, headers=form)
        assert again.status_code == 400
        assert again.json()["error_description"] == "oidc.logout_replayed"
