"""The world of the framework integration tests: keys, tokens, callbacks, answers.

Loaded by path by ``conftest.py`` as ``govkit_tests_integrations`` (tests/ is not a
package and pytest imports with ``--import-mode=importlib``); the test modules import
it under that name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from govkit.identity import (
    AssuranceLevel,
    DPoPVerifier,
    MemoryIdentityStore,
    TokenIssuer,
    TokenVerifier,
    create_dpop_proof,
)
from govkit.keys import KeyRing, SigningKey
from govkit.payments import Alipay, PaymentInbox, PaymentProvider, Stripe, UnionPay, WeChatPayV3
from govkit.testing import FixedClock
from govkit.testing.payments import (
    alipay_callback,
    stripe_callback,
    unionpay_callback,
    wechat_callback,
)

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
ISS = "https://login.gov.example"
AUD = "https://tax.gov.example"
PUBLIC_URL = "https://tax.gov.example"
SUB = "pseudonym-Q8r1"
APIV3 = "0123456789abcdef0123456789abcdef"
KEY_ID = "PUB_KEY_ID_0001"
APP_ID = "2021000118600000"
SECRET = "whsec_integrations"
UNIONPAY_KEY = "unionpay-secure-key-0001"
MER_ID = "777290058110048"

#: Each provider's answers, as its documentation asks: (accepted, refused, retry).
#: accepted/duplicate -> success; forged -> refusal; store down -> retry (never success).
EXPECTED = {
    "wechatpay": {"ok": (204, b""), "refused": 401, "retry": 500},
    "alipay": {"ok": (200, b"success"), "refused": 400, "retry": 500},
    "unionpay": {"ok": (200, b"ok"), "refused": 400, "retry": 500},
    "stripe": {"ok": (200, b""), "refused": 400, "retry": 500},
}


@dataclass(frozen=True)
class Answer:
    """What a framework sent back."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def challenge(self) -> str | None:
        return self.headers.get("www-authenticate")

    def json(self) -> Any:
        import json  # noqa: PLC0415

        data = json.loads(self.body)
        return data["detail"] if isinstance(data, dict) and "detail" in data else data


#: (method, path, headers, body) -> Answer, for one framework's app.
Call = Callable[[str, str, dict[str, str], bytes], Answer]


@dataclass
class World:
    """Keys, a verifier and callback makers: everything a framework test needs."""

    clock: FixedClock
    ring: KeyRing
    issuer: TokenIssuer
    verifier: TokenVerifier
    client_key: SigningKey
    platform_key: SigningKey
    alipay_key: SigningKey
    nonces: list[str] = field(default_factory=lambda: ["n-1"])

    def token(self, level: AssuranceLevel = AssuranceLevel.HIGH, **kwargs: Any) -> str:
        return self.issuer.issue(SUB, AUD, level, timedelta(minutes=5), amr=["face"], **kwargs)

    def bound(self, level: AssuranceLevel = AssuranceLevel.HIGH, **kwargs: Any) -> str:
        return self.token(level, confirmation_jkt=self.client_key.kid, **kwargs)

    def proof(
        self,
        token: str,
        method: str,
        path: str,
        *,
        key: SigningKey | None = None,
        base: str = PUBLIC_URL,
        nonce: str | None = None,
    ) -> str:
        return create_dpop_proof(
            key or self.client_key,
            htm=method,
            htu=base + path,
            access_token=token,
            clock=self.clock,
            nonce=nonce,
        )

    def nonce_verifier(self) -> TokenVerifier:
        """A verifier whose DPoP proofs must carry the server's current nonce."""
        dpop = DPoPVerifier(
            replay_store=MemoryIdentityStore(),
            clock=self.clock,
            require_nonce=lambda n: n == self.nonces[-1],
        )
        return TokenVerifier(self.ring, issuer=ISS, audience=AUD, clock=self.clock, dpop=dpop)

    def providers(self) -> dict[str, PaymentProvider]:
        return {
            "wechatpay": WeChatPayV3(
                APIV3, {KEY_ID: self.platform_key.verifying_key}, clock=self.clock
            ),
            "alipay": Alipay(self.alipay_key.verifying_key, APP_ID, clock=self.clock),
            "unionpay": UnionPay(secure_key=UNIONPAY_KEY, mer_id=MER_ID, clock=self.clock),
            "stripe": Stripe([SECRET], clock=self.clock),
        }

    def callback(
        self, provider: str, order: str, *, forged: bool = False
    ) -> tuple[dict[str, str], bytes]:
        at = self.clock.now()
        if provider == "wechatpay":
            key = SigningKey.generate("RS256") if forged else self.platform_key
            headers, body = wechat_callback(key, KEY_ID, APIV3, order_id=order, amount=100, at=at)
        elif provider == "alipay":
            key = SigningKey.generate("RS256") if forged else self.alipay_key
            headers, body = alipay_callback(key, APP_ID, order_id=order, amount=100, at=at)
        elif provider == "unionpay":
            secure = "another-key" if forged else UNIONPAY_KEY
            headers, body = unionpay_callback(
                order_id=order, amount=100, secure_key=secure, mer_id=MER_ID, at=at
            )
        else:
            secret = "whsec_forger" if forged else SECRET
            headers, body = stripe_callback(
                secret, order_id=order, amount=100, at=at, event_id=f"evt_{order}"
            )
        return dict(headers), body


@dataclass
class Inboxes:
    """A working inbox, and one whose store refuses every write (the store is down)."""

    up: PaymentInbox
    down: PaymentInbox
