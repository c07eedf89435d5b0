"""Citizens log in to a FastAPI service through the identity provider (docs/guide/fastapi.rst).

Run with ``uvicorn login_fastapi:app`` from this folder, with the environment that
``login_setup.build_logins`` reads. tests/integration/integrations/test_login_routes.py
runs this file.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI
from login_setup import build_logins

from govkit.identity import AssuranceLevel
from govkit.integrations import LoginSession
from govkit.integrations.fastapi import login_router, require_login

logins = build_logins()
app = FastAPI()
# GET /login, GET /callback, POST /logout, POST /backchannel-logout
app.include_router(login_router(logins))
LoggedIn = Annotated[LoginSession, Depends(require_login(logins))]
FaceVerified = Annotated[
    LoginSession, Depends(require_login(logins, min_assurance=AssuranceLevel.HIGH))
]


@app.get("/me")
async def me(session: LoggedIn) -> dict[str, object]:
    """Who is logged in (no session: a redirect to /login?next=/me)."""
    return {
        "subject": session.subject,
        "sid": session.sid,
        "assurance": session.assurance.label if session.assurance else None,
    }


@app.get("/returns/submit")
async def submit(session: FaceVerified) -> dict[str, str]:
    """Filing needs face verification: a weaker login is sent back to log in (step-up)."""
    return {"filed_by": session.subject}
