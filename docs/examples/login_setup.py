"""The login manager shared by the login-route examples (docs/guide/fastapi.rst, flask.rst,
django.rst): one OpenID Provider client, its stores, and the browser sessions.

Configured from the environment: ``GOVKIT_PUBLIC_URL`` (``https://tax.example.gov.cn``),
``GOVKIT_STATE_DIR`` (the SQLite stores; with several instances use PostgreSQL or Redis
stores, shared by all), ``GOVKIT_OIDC_ISSUER``, ``GOVKIT_OIDC_CLIENT_ID``,
``GOVKIT_OIDC_CLIENT_KEY`` (the ``private_key_jwt`` key, PEM) and ``GOVKIT_LOGIN_KEY``
(64 hex digits: seals the login flows and the session cookies, under derived keys).
"""

from __future__ import annotations

import os
from pathlib import Path

from govkit.identity import AssuranceLevel
from govkit.identity.oidc import OidcClient
from govkit.integrations import LoginManager
from govkit.keys import SigningKey
from govkit.stores import SQLiteFlowStore, SQLiteReplayStore, SQLiteRevocationStore


def build_logins() -> LoginManager:
    """The application's :class:`LoginManager` (one per process)."""
    public_url = os.environ["GOVKIT_PUBLIC_URL"]
    state = Path(os.environ["GOVKIT_STATE_DIR"])
    key = bytes.fromhex(os.environ["GOVKIT_LOGIN_KEY"])
    client = OidcClient(
        os.environ["GOVKIT_OIDC_ISSUER"],
        client_id=os.environ["GOVKIT_OIDC_CLIENT_ID"],
        client_key=SigningKey.from_pem(Path(os.environ["GOVKIT_OIDC_CLIENT_KEY"]).read_bytes()),
        redirect_uri=f"{public_url}/callback",  # the callback route below
        post_logout_redirect_uri=f"{public_url}/logged-out",
        flows=SQLiteFlowStore(state / "flows.db", key=key),  # state, nonce, PKCE, DPoP key
        replay_store=SQLiteReplayStore(state / "replay.db"),  # logout tokens seen
    )
    return LoginManager(
        client,
        key=key,
        # Ended sessions (logout here, back-channel logout by sid or sub): shared by
        # every instance, asked at every request.
        revocations=SQLiteRevocationStore(state / "revocations.db"),
        acr_values=[AssuranceLevel.SUBSTANTIAL.acr],  # what every login asks for
    )
