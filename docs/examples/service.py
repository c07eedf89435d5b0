"""The govkit objects of a tax service, built once at start-up from the environment.

Shared by the FastAPI, Flask and Django examples beside this file (docs/guide/fastapi.rst,
flask.rst, django.rst); the tests run each example in a real server process.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from govkit.identity import (
    DPoPVerifier,
    JwksSource,
    PostgresIdentityStore,
    SQLiteIdentityStore,
    TokenVerifier,
)
from govkit.payments import (
    Alipay,
    PaymentInbox,
    WeChatPayV3,
    load_alipay_public_key,
    load_wechat_public_key,
)


@dataclass(frozen=True)
class Service:
    """What every request handler of the service needs."""

    verifier: TokenVerifier
    public_url: str
    inbox: PaymentInbox
    wechat: WeChatPayV3
    alipay: Alipay


def build(env: Mapping[str, str] = os.environ) -> Service:
    """Read the configuration; every instance of the service builds the same objects."""
    # DPoP proofs are remembered in a store that all instances share: PostgreSQL across
    # hosts, SQLite for the processes of one host (Redis works too: see the stores guide).
    state = env["GOVKIT_REPLAY_STORE"]
    replay = (
        PostgresIdentityStore(state)
        if state.startswith("postgresql://")
        else SQLiteIdentityStore(state)
    )
    verifier = TokenVerifier(
        JwksSource(env["GOVKIT_JWKS_URL"]),  # the IdP's keys, cached and refreshed
        issuer=env["GOVKIT_ISSUER"],
        audience=env["GOVKIT_AUDIENCE"],
        dpop=DPoPVerifier(replay_store=replay),
    )
    wechat_key = Path(env["WECHATPAY_PUBLIC_KEY"]).read_bytes()
    alipay_key = Path(env["ALIPAY_PUBLIC_KEY"]).read_bytes()
    return Service(
        verifier=verifier,
        # The URL clients use, as the proxy in front of the service receives it: DPoP
        # proofs name it, and it never comes from the Host header.
        public_url=env["GOVKIT_PUBLIC_URL"],
        inbox=PaymentInbox(env["GOVKIT_INBOX"]),  # a file path or a postgresql:// URL
        wechat=WeChatPayV3(
            env["WECHATPAY_APIV3_KEY"],
            [load_wechat_public_key(wechat_key, env["WECHATPAY_KEY_ID"])],
        ),
        alipay=Alipay(load_alipay_public_key(alipay_key), env["ALIPAY_APP_ID"]),
    )
