"""Citizens log in to a Flask service through the identity provider (docs/guide/flask.rst).

Run with ``gunicorn login_flask:app`` from this folder, with the environment that
``login_setup.build_logins`` reads. tests/integration/integrations/test_login_routes.py
runs this file.
"""

from __future__ import annotations

from flask import Flask, g
from login_setup import build_logins

from govkit.identity import AssuranceLevel
from govkit.integrations.flask import login_blueprint, require_login

logins = build_logins()
app = Flask("tax")
# GET /login, GET /callback, POST /logout, POST /backchannel-logout
app.register_blueprint(login_blueprint(logins))


@app.get("/me")
@require_login(logins)
def me() -> dict[str, object]:
    """Who is logged in (no session: a redirect to /login?next=/me)."""
    session = g.login_session
    return {
        "subject": session.subject,
        "sid": session.sid,
        "assurance": session.assurance.label if session.assurance else None,
    }


@app.get("/returns/submit")
@require_login(logins, AssuranceLevel.HIGH)
def submit() -> dict[str, str]:
    """Filing needs face verification: a weaker login is sent back to log in (step-up)."""
    return {"filed_by": g.login_session.subject}
