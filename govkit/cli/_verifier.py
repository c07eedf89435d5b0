"""``govkit verifier``: this device's verifier state, and how ``govkit verify`` uses it.

The state (:class:`govkit.certificates.VerifierState`) is a directory: ``--state DIR``,
else ``GOVKIT_STATE``, else the per-user state directory (``$XDG_STATE_HOME/govkit``,
or ``~/.local/state/govkit``). It holds the trust anchors, the newest trust list and
each issuer's newest status list, the newest checkpoint of each audit log verified,
and the replay store of presentations; it only moves forward.

* ``govkit verifier sync --trust-url URL [--anchor KEYFILE]`` fetches the trust list,
  then every issuer's status list (from the ``status_url`` the list names), with
  conditional requests, at most eight at once. A list that fails keeps the one held,
  marked stale; the command says which, and exits 3 when any failed.
* ``govkit verifier import --trust FILE [--status FILE]... [--anchor KEYFILE]`` does the
  same from files, for devices that are never online (all or nothing).
* ``govkit verifier status`` shows what is held, its sequence numbers and ages, and what
  is stale.

``--anchor`` starts a new state; afterwards an anchor given must be one the state
trusts (``verifier.anchor_conflict`` otherwise).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from govkit.certificates import (
    STATUS_LIST_MAX_BYTES,
    TRUST_LIST_MAX_BYTES,
    CertificateVerifier,
    ListUpdate,
    VerifierState,
)
from govkit.cli._app import EXIT_ENV, CliUsageError, Output, table
from govkit.cli._files import read_file
from govkit.cli._i18n import Key, term
from govkit.errors import message_for
from govkit.keys import VerifyingKey
from govkit.report import Report

__all__ = [
    "ENV_STATE",
    "add_state_option",
    "open_state",
    "open_verifier",
    "register",
    "state_dir",
    "with_clock",
]

#: The environment variable naming the state directory (after ``--state``).
ENV_STATE: Final = "GOVKIT_STATE"


def add_state_option(parser: argparse._ActionsContainer) -> None:
    """``--state DIR``."""
    parser.add_argument(
        "--state",
        type=Path,
        metavar="DIR",
        help=f"this device's verifier state (default: ${ENV_STATE}, else "
        "$XDG_STATE_HOME/govkit or ~/.local/state/govkit)",
    )


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``verifier`` command group."""
    verifier = sub.add_parser(
        "verifier",
        parents=[common],
        help="this device's verifier state: trusted lists, checkpoints, replays",
    )
    group = verifier.add_subparsers(dest="verifier_command", metavar="SUBCOMMAND", required=True)
    sync = group.add_parser(
        "sync",
        parents=[common],
        help="fetch the trust list, then every issuer's status list",
        description="Fetch the signed trust list from URL, then each issuer's status list "
        "from the status_url it names (conditional requests, at most 8 at once). A list "
        "that fails keeps the one held, marked stale; exit 3 when any failed.",
    )
    sync.add_argument("--trust-url", required=True, metavar="URL", help="the trust list's URL")
    _anchor_option(sync)
    add_state_option(sync)
    sync.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="per list: connecting, each read, and the whole body (default 60)",
    )
    sync.set_defaults(handler=cmd_sync)
    load = group.add_parser(
        "import",
        parents=[common],
        help="take the trust list and status lists from files (devices never online)",
    )
    load.add_argument("--trust", type=Path, metavar="FILE", help="the signed trust list")
    load.add_argument(
        "--status",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="an issuer's signed status list (repeatable)",
    )
    _anchor_option(load)
    add_state_option(load)
    load.set_defaults(handler=cmd_import)
    status = group.add_parser(
        "status", parents=[common], help="what the state holds, and what is stale"
    )
    add_state_option(status)
    status.set_defaults(handler=cmd_status)


def _anchor_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--anchor",
        action="append",
        default=[],
        type=Path,
        metavar="KEYFILE",
        help="a trust anchor's public key (repeatable; needed to start a new state, "
        "afterwards it must be one the state trusts)",
    )


# -- the state -------------------------------------------------------------------------


def state_dir(args: argparse.Namespace) -> Path:
    """``--state``, else ``GOVKIT_STATE``, else ``$XDG_STATE_HOME/govkit`` (an absolute
    path) or ``~/.local/state/govkit``."""
    given = getattr(args, "state", None)
    if given is not None:
        return Path(given)
    if os.environ.get(ENV_STATE):
        return Path(os.environ[ENV_STATE])
    xdg = os.environ.get("XDG_STATE_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "state"
    return base / "govkit"


def open_state(args: argparse.Namespace) -> VerifierState:
    """The verifier state the arguments and the environment name."""
    return VerifierState(state_dir(args))


def _now() -> datetime:
    return datetime.now(UTC)


def _anchors(paths: Sequence[Path | str]) -> list[VerifyingKey]:
    from govkit.cli._certificates import _public_key  # noqa: PLC0415 - imports this module

    return [_public_key(Path(p)) for p in paths]


def read_list(location: str | Path, limit: int) -> bytes:
    """A signed list from a file, up to ``limit`` bytes (URLs are ``verifier sync``'s)."""
    return read_file(Path(location), limit=limit)


@dataclass
class Opened:
    """A verifier over the state, the state, and the time it was opened."""

    verifier: CertificateVerifier
    state: VerifierState
    now: datetime = field(default_factory=_now)


def open_verifier(args: argparse.Namespace, what: str, *, replay: bool = False) -> Opened:
    """The verifier of ``govkit verify``: the state's lists, after offering it the lists
    given with ``--trust`` and ``--status`` (refused if older than the ones held:
    ``trust.rollback``). ``replay`` opens the state's replay store (presentations).
    ``what`` is the message key of what is verified (``what.licence``)."""
    state = open_state(args)
    skip_status = bool(getattr(args, "unsafe_skip_status", False))
    if skip_status and args.status:
        raise CliUsageError("verify.status_or_skip")
    anchors = _anchors([args.anchor] if args.anchor else [])
    now = _now()
    if args.trust or args.status or anchors:
        if not state.anchors() and not anchors:
            raise CliUsageError("verify.needs_anchor", what=Key(what), state=state.path)
        if args.trust is None and anchors and state.trust_list() is None:
            raise CliUsageError("verify.needs_trust_with_anchor", what=Key(what))
        trust = read_list(args.trust, TRUST_LIST_MAX_BYTES) if args.trust else None
        status = [read_list(location, STATUS_LIST_MAX_BYTES) for location in args.status or ()]
        state.import_lists(
            trust,
            status,
            now=now,
            anchors=anchors,
            trust_source=str(args.trust) if args.trust else None,
            status_sources=[str(s) for s in args.status or ()],
        )
    elif state.trust_list() is None:
        raise CliUsageError("verify.needs_trust_list", what=Key(what), state=state.path)
    # With --allow-stale the operator has decided: accept any age, still report it.
    max_stale = timedelta(days=36500) if args.allow_stale else timedelta(days=7)
    verifier = state.verifier(
        replay=replay,
        allow_stale=args.allow_stale,
        unsafe_skip_status=skip_status,
        max_stale=max_stale,
    )
    return Opened(verifier, state, now)


def with_clock(report: Report, opened: Opened) -> Report:
    """``report`` with the state's ``clock`` check after its own checks."""
    return opened.state.with_clock_check(report, opened.now)


# -- commands --------------------------------------------------------------------------


def _rows(updates: Sequence[ListUpdate], lang: str) -> list[tuple[str, ...]]:
    return [
        (
            term("list", u.kind, lang),
            u.uscc or "-",
            term("outcome", u.outcome, lang),
            "-" if u.sequence is None else str(u.sequence),
            "-" if u.previous is None else str(u.previous),
            u.reason or "",
        )
        for u in updates
    ]


_HEADERS: Final = ("list", "issuer", "outcome", "sequence", "before", "reason")


def _headers(out: Output, names: Sequence[str]) -> list[str]:
    return [out.t(f"verifier.column.{name}") for name in names]


def cmd_sync(args: argparse.Namespace, out: Output) -> int:
    """``govkit verifier sync``."""
    state = open_state(args)
    if not 0 < args.timeout <= 300:
        raise CliUsageError("verifier.timeout_range")
    result = state.sync(
        args.trust_url, now=_now(), anchors=_anchors(args.anchor), timeout=args.timeout
    )
    updates = (result.trust, *result.status)
    out.data(
        {**result.to_dict(), "state": str(state.path)},
        text=table(_rows(updates, out.lang), _headers(out, _HEADERS)),
    )
    changed = sum(1 for u in result.status if u.outcome in ("installed", "updated"))
    summary = out.t(
        "verifier.synced",
        sequence=result.trust.sequence,
        outcome=term("outcome", result.trust.outcome, out.lang),
        changed=changed,
        total=len(result.status),
    )
    if result.without_status_url:
        summary += out.t("verifier.no_status_url", count=result.without_status_url)
    out.status(summary)
    for failed in result.failed:
        who = (
            out.t("verifier.the_trust_list")
            if failed.kind == "trust"
            else out.t("verifier.the_status_list_of", uscc=failed.uscc)
        )
        out.say("verifier.failed", who=who, message=_failure(failed, out), reason=failed.reason)
    return 0 if result.ok else EXIT_ENV


def _failure(update: ListUpdate, out: Output) -> str:
    """Why a list failed, for people: the library's line in English; in Chinese, the
    message of its error code, or of its fetch reason (``timeout``, ``http_status``)."""
    reason, message = update.reason or "", update.message or ""
    if out.lang != "zh":
        return message
    if "." in reason:
        return message_for(reason, out.lang)
    return term("fetch", reason, out.lang) if reason else message


def cmd_import(args: argparse.Namespace, out: Output) -> int:
    """``govkit verifier import``."""
    if args.trust is None and not args.status:
        raise CliUsageError("verifier.import_nothing")
    state = open_state(args)
    trust = read_list(args.trust, TRUST_LIST_MAX_BYTES) if args.trust else None
    status = [read_list(p, STATUS_LIST_MAX_BYTES) for p in args.status]
    updates = state.import_lists(
        trust,
        status,
        now=_now(),
        anchors=_anchors(args.anchor),
        trust_source=str(args.trust) if args.trust else None,
        status_sources=[str(p) for p in args.status],
    )
    out.data(
        {"state": str(state.path), "updates": [u.to_dict() for u in updates]},
        text=table(_rows(updates, out.lang), _headers(out, _HEADERS)),
    )
    out.say("verifier.imported", path=state.path)
    return 0


def _age(seconds: int, out: Output) -> str:
    if seconds < 0:
        return out.t("age.future")
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _state_word(entry: dict[str, Any], out: Output) -> str:
    if entry.get("failure"):
        return out.t("verifier.state_stale", reason=entry["failure"]["reason"])
    return out.t("verifier.state_expired" if entry["expired"] else "verifier.state_current")


#: At most this many status lists are listed one by one in text (JSON lists all).
_MAX_ROWS: Final = 50


def cmd_status(args: argparse.Namespace, out: Output) -> int:
    """``govkit verifier status``."""
    state = open_state(args)
    now = _now()
    summary = state.summary(now)
    lines = [out.t("verifier.state_path", path=summary["path"])]
    if not summary["anchors"]:
        lines.append(out.t("verifier.empty"))
        out.data(summary, text="\n".join(lines))
        return 0
    lines.append(out.t("verifier.anchors", anchors=", ".join(summary["anchors"])))
    if summary["next_anchors"]:
        lines.append(out.t("verifier.next_anchors", anchors=", ".join(summary["next_anchors"])))
    trust = summary["trust"]
    if trust is not None:
        lines.append(
            out.t(
                "verifier.trust_line",
                sequence=trust["sequence"],
                issued=trust["issued_at"],
                age=_age(trust["age_seconds"], out),
                expires=trust["expires_at"],
                state=_state_word(trust, out),
                issuers=summary["issuers"],
                without=summary["issuers_without_status_list"],
            )
        )
    entries = summary["status"]
    shown = [e for e in entries if e["stale"] or not e["on_trust_list"]]
    if len(entries) <= _MAX_ROWS:
        shown = entries
    rows = [
        (
            e["uscc"],
            e["list_id"],
            str(e["sequence"]),
            _age(e["age_seconds"], out),
            e["expires_at"],
            _state_word(e, out) + ("" if e["on_trust_list"] else out.t("verifier.not_listed")),
        )
        for e in shown[:_MAX_ROWS]
    ]
    stale = sum(1 for e in entries if e["stale"])
    lines.append(out.t("verifier.status_lists", held=len(entries), stale=stale))
    if rows:
        headers = ("issuer", "list", "sequence", "age", "expires", "state")
        lines.append(table(rows, _headers(out, headers)))
    for log in summary["logs"]:
        lines.append(out.t("verifier.log_line", origin=log["origin"], size=log["size"]))
    check = state.check_clock(now)  # the summary's "clock", with its detail's message key
    said = check.detail_in(out.lang)
    if check.ok is False and check.code is not None and out.lang == "zh":
        said = message_for(check.code, out.lang)
    lines.append(out.t("verifier.clock_line", detail=said))
    if check.ok is False:
        out.say("fail.line", label=out.t("label.warning"), message=said, code=check.code)
    out.data(summary, text="\n".join(lines))
    return 0
