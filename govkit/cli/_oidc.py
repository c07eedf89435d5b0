"""``govkit oidc check ISSUER_URL``: does an OpenID provider's discovery document announce
FAPI 2.0?

The checks are :func:`govkit.identity.inspect_fapi2_provider`'s (its module docstring
lists them); the command prints its report. Only the document is read: the provider's
behaviour is not tested, and the output says so (the verdict names the document, a
summary line and the status line say "NOT tested"). Exit codes: 0 the document passes
every check, 1 it does not
(or the document is not a discovery document), 2 an issuer URL that is not https (nor
http to a loopback host) or a bad ``--timeout``, 3 the document could not be fetched.
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

from govkit.cli._app import CliEnvironmentError, Output
from govkit.cli._report import emit_report
from govkit.cli._types import duration
from govkit.errors import OidcUnavailable
from govkit.identity import SourcePolicy, inspect_fapi2_provider

__all__ = ["register"]


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``oidc`` command group."""
    oidc = sub.add_parser("oidc", parents=[common], help="OpenID Connect providers")
    oidc_sub = oidc.add_subparsers(dest="oidc_command", metavar="SUBCOMMAND", required=True)
    check = oidc_sub.add_parser(
        "check",
        parents=[common],
        help="check whether a provider's discovery document meets FAPI 2.0",
    )
    check.add_argument(
        "issuer",
        metavar="ISSUER_URL",
        help="the provider's issuer (https; http only for a loopback host)",
    )
    check.add_argument(
        "--timeout",
        type=duration,
        default=timedelta(seconds=10),
        metavar="DURATION",
        help="how long to wait for the provider: seconds or 10s, 1m (default 10s)",
    )
    check.set_defaults(handler=cmd_check)


def cmd_check(args: argparse.Namespace, out: Output) -> int:
    """``govkit oidc check``: exit 0 when the discovery document passes every check, 1 when
    not (the provider's behaviour is not tested)."""
    policy = SourcePolicy(timeout=args.timeout.total_seconds())
    try:
        report = inspect_fapi2_provider(args.issuer, policy=policy)
    except OidcUnavailable as exc:
        raise CliEnvironmentError(
            "oidc.fetch_failed",
            exc.code,
            issuer=args.issuer,
            reason=out.error_message(exc),
        ) from None
    return emit_report(
        report,
        out,
        title=out.t("title.oidc_provider"),
        ok_text=out.t("ok.oidc_fapi2"),
    )
