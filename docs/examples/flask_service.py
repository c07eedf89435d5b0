"""A tax service on Flask, protected by govkit (docs/guide/flask.rst).

Run it with ``gunicorn flask_service:app`` (from this folder, with the environment
variables that ``service.build`` reads).
"""

from __future__ import annotations

from flask import Flask, g
from service import build

from govkit.identity import AssuranceLevel
from govkit.integrations.flask import GovkitIdentity, payment_callback_view, require_identity

service = build()
app = Flask("tax")
GovkitIdentity(app, verifier=service.verifier, public_url=service.public_url)


@app.get("/returns")
@require_identity(AssuranceLevel.SUBSTANTIAL)
def returns() -> dict[str, str]:
    """The person's tax returns (here: who is asking)."""
    return {"subject": g.identity.subject, "assurance": g.identity.assurance.label}


@app.post("/returns/submit")
@require_identity(AssuranceLevel.HIGH, require_dpop=True)
def submit() -> dict[str, str]:
    """File a return: HIGH assurance and a DPoP proof."""
    return {"subject": g.identity.subject, "filed": "yes"}


# POST /notify/wechatpay and /notify/alipay: each provider gets its own answer.
for name, provider in (("wechatpay", service.wechat), ("alipay", service.alipay)):
    app.add_url_rule(
        f"/notify/{name}",
        view_func=payment_callback_view(service.inbox, provider),
        methods=["POST"],
    )
