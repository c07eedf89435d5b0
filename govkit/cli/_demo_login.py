"""The demo's login step: a face-verified real-name login to the FAPI 2.0 profile.

An OpenID Provider for tests (:class:`govkit.identity.oidc.loopback.LocalProvider`) runs on
loopback inside the demo, so the step needs no server of its own. ``govkit oidc check``'s
checks run on its discovery document first (what it announces: its row says
"announced", not that the provider behaves so). Then :class:`~govkit.identity.oidc.OidcClient`
logs a citizen in: PAR with ``private_key_jwt``, PKCE and a DPoP key, the provider's
answer checked for its ``iss`` (the mix-up defence), the code redeemed, the ID token
validated (``acr`` at least ``HIGH``: face verification, ``auth_time`` within
``max_age``), userinfo with the DPoP-bound token, and a refresh. The flow's secrets wait
in a sealed, take-once SQLite flow store under ``login/``. Three refusals follow: the
same callback again (``oidc.state_replayed``), a callback whose ``iss`` names another
provider (``oidc.issuer_mismatch``) and a back-channel logout token sent twice
(``oidc.logout_replayed``).
"""

from __future__ import annotations

import secrets
from urllib.parse import parse_qsl, urlencode, urlsplit

from govkit.cli._app import CliInvalid
from govkit.cli._demo import DemoContext
from govkit.cli._files import write_file
from govkit.errors import GovkitError
from govkit.identity import AssuranceLevel, inspect_fapi2_provider
from govkit.identity.oidc import OidcClient
from govkit.identity.oidc.loopback import LocalProvider
from govkit.keys import SigningKey
from govkit.stores import SQLiteFlowStore, SQLiteReplayStore

__all__ = ["step_login"]

REDIRECT = "http://127.0.0.1:8765/callback"
LOGGED_OUT = "http://127.0.0.1:8765/logged-out"
SUBJECT = "citizen-0001"
#: The scopes asked for: the ID token, and a refresh token.
SCOPES = ("openid", "offline_access")


def _code_of(call: object) -> str:
    """The error code a refused call raised, or ``accepted``."""
    try:
        call()  # type: ignore[operator]
    except GovkitError as exc:
        return exc.code
    return "accepted"


def _with_iss(callback: str, issuer: str) -> str:
    """``callback`` with its ``iss`` replaced: what a mix-up attacker sends."""
    parts = urlsplit(callback)
    query = [(k, issuer if k == "iss" else v) for k, v in parse_qsl(parts.query)]
    return parts._replace(query=urlencode(query)).geturl()


def step_login(ctx: DemoContext) -> None:
    """Check what a provider's discovery document announces (FAPI 2.0; its behaviour is
    not tested), log a citizen in, and refuse three attacks."""
    folder = ctx.out_dir / "login"
    folder.mkdir(parents=True, exist_ok=True)
    client_key = SigningKey.generate("ES256")
    write_file(
        ctx.out_dir / "keys" / "oidc-client.pem", client_key.to_pem(), private=True, force=True
    )
    flow_key = secrets.token_bytes(32)
    for stale in ("flows.db", "logout-replay.db"):
        (folder / stale).unlink(missing_ok=True)
    high = AssuranceLevel.HIGH
    with (
        LocalProvider(client_keys=[client_key.verifying_key], accounts={SUBJECT: {}}) as provider,
        SQLiteFlowStore(folder / "flows.db", key=flow_key) as flows,
        SQLiteReplayStore(folder / "logout-replay.db") as replay,
    ):
        fapi = inspect_fapi2_provider(provider.issuer)
        client = OidcClient(
            provider.issuer,
            client_id=provider.client_id,
            client_key=client_key,
            redirect_uri=REDIRECT,
            flows=flows,
            scope=SCOPES,
            replay_store=replay,
            post_logout_redirect_uri=LOGGED_OUT,
        )
        try:
            start = client.start_login(acr_values=[high.acr], max_age=600, login_hint=SUBJECT)
            callback = provider.authorize(start.url)  # the browser's five redirects, in one
            login = client.finish_login(callback, expected_state=start.state)
            userinfo = client.userinfo(login)
            renewed = client.refresh(login)
            replayed = _code_of(lambda: client.finish_login(callback, expected_state=start.state))
            other = client.start_login(login_hint=SUBJECT)
            forged = _with_iss(provider.authorize(other.url), "https://idp.attacker.invalid")
            mixed_up = _code_of(lambda: client.finish_login(forged, expected_state=other.state))
            logout_token = provider.logout_token(subject=SUBJECT, sid=login.id_token.sid)
            logout = _code_of(lambda: client.verify_logout_token(logout_token))
            logout_again = _code_of(lambda: client.verify_logout_token(logout_token))
        except GovkitError:
            raise CliInvalid from None
        finally:
            client.close()
    assurance = login.id_token.assurance
    if assurance is None:  # asked for acr_values, so the ID token had to carry one
        raise CliInvalid
    ctx.record("login", "oidc_session", login.id_token.sid or "-", outcome="success")
    # "rotated" only when the provider really sent a new refresh token (refresh() keeps
    # the old one when none comes back)
    old_refresh = login.tokens.refresh_token
    rotated = renewed.tokens.refresh_token not in (None, old_refresh)
    rows = [
        (
            ctx.out.t("demo.login.check"),
            "FAPI 2.0",
            ctx.verdict(fapi.ok, fapi.code, word="demo.login.announced"),
        ),
        (
            ctx.out.t("demo.login.login"),
            f"acr {assurance.name.lower()}, amr {','.join(login.id_token.amr)}",
            ctx.verdict(assurance >= high, None),
        ),
        ("userinfo", "DPoP", ctx.verdict(userinfo.get("sub") == SUBJECT, "oidc.userinfo")),
        (
            "refresh",
            ctx.out.t("demo.login.rotated" if rotated else "demo.login.not_rotated"),
            ctx.verdict(renewed.subject == SUBJECT, None, word="demo.login.same_subject"),
        ),
        (ctx.out.t("demo.login.same_callback"), "", replayed),
        (ctx.out.t("demo.login.mix_up"), "iss", mixed_up),
        (
            ctx.out.t("demo.login.backchannel"),
            "logout+jwt",
            ctx.verdict(logout == "accepted", logout),
        ),
        (ctx.out.t("demo.login.backchannel_again"), "logout+jwt", logout_again),
    ]
    ctx.results["login"] = {
        "discovery_announces_fapi2": fapi.ok,
        "refresh_token_rotated": rotated,
        "subject": login.subject,
        "assurance": assurance.label,
        "token_type": login.tokens.token_type,
        "same_callback": replayed,
        "mix_up": mixed_up,
        "logout_token": logout,
        "logout_token_again": logout_again,
    }
    ctx.section("demo.title.login", rows, ("step", "detail", "verification"))
    expected = ("oidc.state_replayed", "oidc.issuer_mismatch", "accepted", "oidc.logout_replayed")
    if not fapi.ok or not rotated or (replayed, mixed_up, logout, logout_again) != expected:
        raise CliInvalid
