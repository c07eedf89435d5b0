"""``govkit db upgrade``: bring a store's tables to this release's schema.

Every govkit store records its schema version per component in one table,
``govkit_schema (component, version)``: ``audit``, ``payments`` (the inbox),
``identity``, ``replay``, ``revocation`` and ``flow``. A writer (an ``AuditLog``, a
``PaymentInbox``, any store of :mod:`govkit.stores`) upgrades its own tables when it
opens them;
readers (``govkit audit verify``, ``verify_log``) never write, so a store that is
only ever verified, or that several services share, is upgraded here, once, by an
operator with write access. A store holding a newer schema than this release is
refused (``*.store_schema``, exit 3).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from govkit.audit import upgrade_store
from govkit.cli._app import CliEnvironmentError, Output, table
from govkit.payments import upgrade_inbox
from govkit.stores import (
    SchemaUpgrade,
    upgrade_flow_store,
    upgrade_identity_store,
    upgrade_replay_store,
    upgrade_revocation_store,
)

#: The components ``govkit db upgrade`` knows, in the order it upgrades them.
_COMPONENTS: Final[tuple[tuple[str, Callable[[str], SchemaUpgrade | None]], ...]] = (
    ("audit", upgrade_store),
    ("payments", upgrade_inbox),
    ("identity", upgrade_identity_store),
    ("replay", upgrade_replay_store),
    ("revocation", upgrade_revocation_store),
    ("flow", upgrade_flow_store),
)


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``db`` command group."""
    db = sub.add_parser("db", parents=[common], help="store schemas (after installing govkit)")
    db_sub = db.add_subparsers(dest="db_command", metavar="SUBCOMMAND", required=True)
    upgrade = db_sub.add_parser(
        "upgrade",
        parents=[common],
        help="bring every govkit store in STORE to this release's schema",
    )
    upgrade.add_argument("store", metavar="STORE", help="SQLite file path or postgresql:// URL")
    upgrade.add_argument(
        "--component",
        action="append",
        choices=[name for name, _ in _COMPONENTS],
        help="only this component (repeatable; default: every one found in STORE)",
    )
    upgrade.set_defaults(handler=cmd_upgrade)


def _shown(store: str) -> str:
    """``store`` safe to print: a URL loses its password and query."""
    if "://" not in store or store.startswith("sqlite:///"):
        return store
    parts = urlsplit(store)
    netloc = parts.hostname or ""
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def cmd_upgrade(args: argparse.Namespace, out: Output) -> int:
    """``govkit db upgrade``: exit 0 when every component found is current (3 on errors)."""
    store: str = args.store
    if "://" not in store or store.startswith("sqlite:///"):
        path = Path(store.removeprefix("sqlite:///"))
        if not path.is_file():
            raise CliEnvironmentError("db.no_store", "cli.no_such_file", path=path)
    wanted = set(args.component or [name for name, _ in _COMPONENTS])
    results: list[dict[str, Any]] = []
    rows: list[tuple[str, str, str, str]] = []
    for name, upgrade in _COMPONENTS:
        if name not in wanted:
            continue
        done = upgrade(store)  # a StoreError exits 3 with its code and context (_app)
        if done is None:
            results.append({"component": name, "present": False})
            rows.append((name, "-", "-", out.t("db.absent")))
            continue
        results.append({"present": True, **done.to_dict()})
        before = str(done.before) + ("" if done.recorded else out.t("db.unrecorded"))
        what = (
            "db.upgraded"
            if done.before != done.after
            else "db.recorded"
            if done.changed
            else "db.current"
        )
        rows.append((name, before, str(done.after), out.t(what)))
    if not any(r["present"] for r in results):
        raise CliEnvironmentError(
            "db.not_a_store",
            "cli.not_a_store",
            store=_shown(store),
            components=", ".join(sorted(wanted)),
        )
    headers = [out.t(f"db.column.{n}") for n in ("component", "found", "now", "done")]
    out.data({"store": _shown(store), "components": results}, text=table(rows, headers))
    changed = sum(1 for r in results if r.get("changed"))
    out.say("db.done", label=out.t("label.ok"), count=changed)
    return 0
