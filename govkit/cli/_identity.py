"""``govkit token issue`` and ``govkit verify token``."""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path
from typing import Any

from govkit._json import loads_object
from govkit.cli._app import CliUsageError, Output, env_password
from govkit.cli._files import read_file
from govkit.cli._report import emit_report
from govkit.cli._types import duration, name_json_value
from govkit.errors import InvalidKey
from govkit.identity import (
    AssuranceLevel,
    JwksSource,
    KeySource,
    TokenIssuer,
    TokenVerifier,
)
from govkit.keys import ALGORITHMS, KeyRing, SigningKey, VerifyingKey

__all__ = ["ALGORITHMS", "LEVEL_NAMES", "load_keys", "register"]

_LEVELS = {level.name.lower(): level for level in AssuranceLevel}
#: The assurance level names the command accepts.
LEVEL_NAMES = tuple(_LEVELS)


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``token`` command group."""
    token = sub.add_parser("token", parents=[common], help="issue identity tokens")
    token_sub = token.add_subparsers(dest="token_command", metavar="SUBCOMMAND", required=True)
    issue = token_sub.add_parser("issue", parents=[common], help="issue a signed identity token")
    issue.add_argument("--key", required=True, type=Path, metavar="PATH", help="private key PEM")
    issue.add_argument("--password-env", metavar="VAR", help="password of an encrypted key")
    issue.add_argument("--issuer", required=True, metavar="ISS", help="the iss claim")
    issue.add_argument("--subject", required=True, metavar="SUB", help="a pseudonymous subject")
    issue.add_argument("--audience", required=True, metavar="AUD", help="the aud claim")
    issue.add_argument("--assurance", required=True, choices=tuple(_LEVELS), help="acr level")
    issue.add_argument(
        "--ttl",
        type=duration,
        default=timedelta(minutes=10),
        metavar="DURATION",
        help="lifetime: seconds or 10m, 1h (default 10m)",
    )
    issue.add_argument("--amr", action="append", metavar="METHOD", help="RFC 8176 method")
    issue.add_argument("--scope", metavar="SCOPE", help="space-separated scopes")
    issue.add_argument(
        "--profile", choices=("access", "id"), default="access", help="token type (default access)"
    )
    issue.add_argument(
        "--claim",
        action="append",
        type=name_json_value,
        default=[],
        metavar="NAME=VALUE",
        help="an extra claim (VALUE parsed as JSON when it is JSON)",
    )
    issue.set_defaults(handler=cmd_issue)


def cmd_issue(args: argparse.Namespace, out: Output) -> int:
    """``govkit token issue``."""
    key = SigningKey.from_pem(read_file(args.key), env_password(args.password_env))
    issuer = TokenIssuer(key, issuer=args.issuer)
    extra = dict(args.claim)
    if len(extra) != len(args.claim):
        raise CliUsageError("token.claim_twice")
    token = issuer.issue(
        args.subject,
        args.audience,
        _LEVELS[args.assurance],
        args.ttl,
        amr=args.amr,
        scope=args.scope,
        profile=args.profile,
        **extra,
    )
    out.say("token.issued", profile=args.profile, kid=key.kid, alg=key.alg)
    out.data({"token": token, "kid": key.kid, "alg": key.alg}, text=token)
    return 0


def load_keys(source: str, alg: str | None = None) -> KeySource:
    """A key source from a JWKS URL, or a JWKS / JWK / PEM file."""
    if source.startswith(("https://", "http://")):
        return JwksSource(source, alg=alg)
    data = read_file(Path(source), limit=1 << 20)
    if data.lstrip().startswith(b"{"):
        document = loads_object(data, what="the key file", error=InvalidKey)
        if "keys" in document:
            return KeyRing.from_jwks(document, alg=alg)
        ring = KeyRing()
        ring.add(VerifyingKey.from_jwk(document, alg), kid=document.get("kid"))
        return ring
    ring = KeyRing()
    ring.add(VerifyingKey.from_pem(data, alg))
    return ring


def verify_token_input(data: bytes, args: argparse.Namespace, out: Output) -> int:
    """The token branch of ``govkit verify``."""
    missing = [f"--{n}" for n in ("jwks", "issuer", "audience") if not getattr(args, n)]
    if missing:
        raise CliUsageError("verify.token_needs", missing=", ".join(missing))
    verifier = TokenVerifier(
        load_keys(args.jwks, args.alg),
        issuer=args.issuer,
        audience=args.audience,
        profile=args.profile,
        min_assurance=_LEVELS[args.min_assurance] if args.min_assurance else None,
    )
    token = data.decode("utf-8", "replace").strip()
    report = verifier.inspect(token, at=args.at)
    return emit_report(report, out, title=out.t("title.token"), ok_text=out.t("ok.token"))
