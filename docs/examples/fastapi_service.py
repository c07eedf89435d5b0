"""A tax service on FastAPI, protected by govkit (docs/guide/fastapi.rst).

Run it with ``uvicorn fastapi_service:app`` (from this folder, with the environment
variables that ``service.build`` reads).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI
from service import build

from govkit.identity import AssuranceLevel, IdentityClaims
from govkit.integrations.fastapi import payment_router, require_identity

service = build()
app = FastAPI(title="Tax service")

# One dependency per level a route needs. Filing needs a face-verified login (HIGH)
# and a DPoP-bound token, so a copied token is useless without the app's key.
signed_in = require_identity(
    service.verifier,
    min_assurance=AssuranceLevel.SUBSTANTIAL,
    public_url=service.public_url,
)
filing = require_identity(
    service.verifier,
    min_assurance=AssuranceLevel.HIGH,
    require_dpop=True,
    public_url=service.public_url,
)


@app.get("/returns")
async def returns(claims: Annotated[IdentityClaims, Depends(signed_in)]) -> dict[str, str]:
    """The person's tax returns (here: who is asking)."""
    return {"subject": claims.subject, "assurance": claims.assurance.label}


@app.post("/returns/submit")
async def submit(claims: Annotated[IdentityClaims, Depends(filing)]) -> dict[str, str]:
    """File a return: HIGH assurance and a DPoP proof."""
    return {"subject": claims.subject, "filed": "yes"}


# POST /notify/wechatpay and /notify/alipay: each provider gets its own answer.
app.include_router(
    payment_router(
        service.inbox,
        {"/wechatpay": service.wechat, "/alipay": service.alipay},
        prefix="/notify",
    )
)
