"""Citizens log in to a FastAPI service with the provincial identity provider (FAPI 2.0).

docs/guide/login.rst walks through this file; tests/integration/oidc/test_login_example.py
runs it against a real OpenID Provider.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import parse_qs

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse

from govkit.errors import GovkitError
from govkit.identity import AssuranceLevel
from govkit.identity.oidc import Login, OidcClient
from govkit.keys import SigningKey
from govkit.stores import SQLiteFlowStore, SQLiteReplayStore

PUBLIC_URL = os.environ["GOVKIT_PUBLIC_URL"]  # e.g. https://tax.example.gov.cn
STATE_DIR = Path(os.environ["GOVKIT_STATE_DIR"])

client = OidcClient(
    os.environ["GOVKIT_OIDC_ISSUER"],
    client_id=os.environ["GOVKIT_OIDC_CLIENT_ID"],
    # The private_key_jwt key, registered with the provider as a public JWK.
    client_key=SigningKey.from_pem(Path(os.environ["GOVKIT_OIDC_CLIENT_KEY"]).read_bytes()),
    redirect_uri=f"{PUBLIC_URL}/callback",
    post_logout_redirect_uri=f"{PUBLIC_URL}/logged-out",
    # state, nonce, PKCE verifier and DPoP key of each login, sealed, taken once.
    flows=SQLiteFlowStore(STATE_DIR / "flows.db", key=bytes.fromhex(os.environ["GOVKIT_FLOW_KEY"])),
    # back-channel logout tokens already seen
    replay_store=SQLiteReplayStore(STATE_DIR / "replay.db"),
    scope="openid profile email",
)

# The service's own sessions: session id -> login. A real service keeps them in its
# session store (Redis, its database); a dict keeps the example short.
sessions: dict[str, Login] = {}
SECURE = PUBLIC_URL.startswith("https://")

app = FastAPI()


def current_login(request: Request) -> Login:
    login = sessions.get(request.cookies.get("session", ""))
    if login is None:
        raise HTTPException(401, "log in first: /login")
    return login


@app.get("/login")
async def login(level: str = "substantial", hint: str | None = None) -> RedirectResponse:
    wanted = AssuranceLevel[level.upper()]
    started = await client.astart_login(acr_values=[wanted.acr], max_age=600, login_hint=hint)
    answer = RedirectResponse(started.url, status_code=303)
    # The state rides in a cookie of this browser: a callback started elsewhere is refused.
    answer.set_cookie(
        "login_state", started.state, max_age=600, httponly=True, secure=SECURE,
        samesite="lax", path="/callback",
    )  # fmt: skip
    return answer


@app.get("/callback")
async def callback(request: Request) -> RedirectResponse:
    expected = request.cookies.get("login_state")
    if expected is None:  # no login was started in this browser
        raise HTTPException(400, "oidc.state_mismatch")
    try:
        done = await client.afinish_login(dict(request.query_params), expected_state=expected)
    except GovkitError as error:  # mix-up, replayed state, code injection, low acr...
        raise HTTPException(400, error.code) from None
    session = secrets.token_urlsafe(32)
    sessions[session] = done
    answer = RedirectResponse("/me", status_code=303)
    answer.delete_cookie("login_state", path="/callback")
    answer.set_cookie("session", session, httponly=True, secure=SECURE, samesite="lax")
    return answer


@app.get("/me")
async def me(request: Request) -> dict[str, object]:
    done = current_login(request)
    profile = await client.auserinfo(done)  # DPoP-bound access token; sub must match
    return {
        "sub": done.subject,
        "assurance": done.id_token.assurance.label if done.id_token.assurance else None,
        "name": profile.get("name"),
    }


@app.post("/returns/submit")
async def submit_return(request: Request) -> dict[str, str]:
    done = current_login(request)
    if done.id_token.assurance is None or done.id_token.assurance < AssuranceLevel.HIGH:
        # Step-up: face verification first (a real service answers its API clients with
        # an RFC 9470 challenge; a browser is sent to log in again at HIGH).
        raise HTTPException(403, "step up: /login?level=high")
    return {"filed_by": done.subject}


@app.post("/logout")
async def logout(request: Request) -> RedirectResponse:
    done = current_login(request)
    sessions.pop(request.cookies["session"], None)
    answer = RedirectResponse(await client.alogout_url(done.id_token), status_code=303)
    answer.delete_cookie("session")
    return answer


@app.post("/backchannel-logout")
async def backchannel_logout(request: Request) -> JSONResponse:
    form = parse_qs((await request.body()).decode("ascii", "replace"))
    try:
        token = await client.averify_logout_token(form.get("logout_token", [""])[0])
    except GovkitError as error:  # forged, for another client, or replayed
        return JSONResponse({"error": "invalid_request", "error_description": error.code}, 400)
    for session, done in list(sessions.items()):
        if (token.sid and done.id_token.sid == token.sid) or (
            token.sid is None and done.subject == token.subject
        ):
            del sessions[session]
    return JSONResponse({}, headers={"Cache-Control": "no-store"})
