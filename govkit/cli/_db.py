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

``govkit db purge STORE`` deletes what has expired in a store at the command's time
(``--at`` for another): replay entries, revoked-token entries and flows past their
expiry (subject "not before" times stay), and in a payment inbox the bodies and
headers of processed deliveries older than ``--body-retention`` (replaced by their
SHA-256) and refused deliveries as old. STORE may also be a verifier state directory
(component ``verifier``): expired presentation replays and list files no longer held,
or a ``redis://``, ``rediss://`` or ``unix://`` URL (components ``replay``,
``revocation`` and ``flow`` under ``--prefix``, default ``govkit:``).
Nothing live is deleted; the counts removed are printed. Run it daily (cron, a
systemd timer, a Kubernetes CronJob).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from govkit.audit import upgrade_store
from govkit.certificates import VerifierState
from govkit.cli._app import CliEnvironmentError, CliUsageError, Output, table
from govkit.cli._types import aware_time, duration
from govkit.payments import BODY_RETENTION, PaymentInbox, upgrade_inbox
from govkit.stores import (
    RedisFlowStore,
    RedisReplayStore,
    RedisRevocationStore,
    SchemaUpgrade,
    purge_flow_store,
    purge_identity_store,
    purge_replay_store,
    purge_revocation_store,
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


def _purge_inbox(store: str, *, now: datetime, retention: timedelta) -> int | None:
    if upgrade_inbox(store) is None:
        return None
    with PaymentInbox(store, orders=False, body_retention=retention) as inbox:
        return inbox.purge(now=now)


#: The components ``govkit db purge`` knows in a database, in the order it purges them.
_PURGES: Final[tuple[tuple[str, Callable[..., int | None]], ...]] = (
    ("payments", _purge_inbox),
    ("identity", purge_identity_store),
    ("replay", purge_replay_store),
    ("revocation", purge_revocation_store),
    ("flow", purge_flow_store),
)


def _purge_redis_replay(store: str, *, now: datetime, prefix: str) -> int:
    with RedisReplayStore(store, prefix=prefix) as redis_store:
        return redis_store.purge(now=now)


def _purge_redis_revocation(store: str, *, now: datetime, prefix: str) -> int:
    with RedisRevocationStore(store, prefix=prefix) as redis_store:
        return redis_store.purge(now=now)


def _purge_redis_flow(store: str, *, now: datetime, prefix: str) -> int:
    # Expired flows are deleted without being opened: the key only has to be well formed.
    with RedisFlowStore(store, key=bytes(32), prefix=prefix) as redis_store:
        return redis_store.purge(now=now)


#: The components ``govkit db purge`` knows on a Redis server (there are no identity or
#: inbox stores on Redis), in the order it purges them.
_REDIS_PURGES: Final[tuple[tuple[str, Callable[..., int]], ...]] = (
    ("replay", _purge_redis_replay),
    ("revocation", _purge_redis_revocation),
    ("flow", _purge_redis_flow),
)
_REDIS_SCHEMES: Final = ("redis://", "rediss://", "unix://")
#: The key prefix of the Redis stores unless ``--prefix`` says otherwise.
_REDIS_PREFIX: Final = "govkit:"


def _purge_redis(
    store: str, components: list[str] | None, *, now: datetime, prefix: str
) -> list[dict[str, Any]]:
    """Purge the Redis components asked for (default: all three); their results."""
    known = [name for name, _ in _REDIS_PURGES]
    if components and not set(components) <= set(known):
        raise CliUsageError("db.redis_components", components=", ".join(known))
    wanted = set(components or known)
    results: list[dict[str, Any]] = []
    for name, purge in _REDIS_PURGES:
        if name in wanted:
            # Redis has no tables: whether anything is stored under the prefix is not
            # checked, so "present" is null (not made), never true; an empty namespace
            # purges nothing. A StoreError (server down) exits 3 (_app).
            removed = purge(store, now=now, prefix=prefix)
            results.append({"component": name, "present": None, "removed": removed})
    return results


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
    purge = db_sub.add_parser(
        "purge",
        parents=[common],
        help="delete what has expired in STORE (and old inbox bodies); print the counts",
        description="Delete what has expired at --at (default: now) in every govkit store "
        "found in STORE: replay entries, revoked-token entries and flows past their expiry; "
        "in a payment inbox, the bodies and headers of processed deliveries older than "
        "--body-retention (their SHA-256 is kept) and refused deliveries as old. STORE may "
        "be a verifier state directory: expired presentation replays and list files no "
        "longer held. STORE may be a redis://, rediss:// or unix:// URL: the replay, "
        "revocation and flow stores under --prefix. Nothing live is deleted.",
    )
    purge.add_argument(
        "store",
        metavar="STORE",
        help="SQLite file path, postgresql:// URL, verifier state directory, or "
        "redis://, rediss:// or unix:// URL",
    )
    purge.add_argument(
        "--component",
        action="append",
        choices=[*(name for name, _ in _PURGES), "verifier"],
        help="only this component (repeatable; default: every one found in STORE)",
    )
    purge.add_argument(
        "--at", type=aware_time, metavar="TIME", help="as of this time (default: now)"
    )
    purge.add_argument(
        "--body-retention",
        type=duration,
        default=BODY_RETENTION,
        metavar="DURATION",
        help="payments: keep delivery bodies this long (seconds, or with s, m, h, d; default 30d)",
    )
    purge.add_argument(
        "--prefix",
        metavar="PREFIX",
        help=f"Redis: the stores' key prefix (default {_REDIS_PREFIX})",
    )
    purge.set_defaults(handler=cmd_purge)


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
    if not netloc:  # unix:///path/redis.sock
        return f"{parts.scheme}://{parts.path}"
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


def cmd_purge(args: argparse.Namespace, out: Output) -> int:
    """``govkit db purge``: exit 0 once every component found is purged (3 on errors)."""
    store: str = args.store
    now: datetime = args.at or datetime.now(UTC)
    retention: timedelta = args.body_retention
    if retention <= timedelta(0):
        raise CliUsageError("type.duration")
    results: list[dict[str, Any]] = []
    redis = store.startswith(_REDIS_SCHEMES)
    if args.prefix is not None and not redis:
        raise CliUsageError("db.prefix_redis_only")
    prefix: str = _REDIS_PREFIX if args.prefix is None else args.prefix
    if redis:
        results = _purge_redis(store, args.component, now=now, prefix=prefix)
    elif "://" not in store and Path(store).is_dir():
        if args.component and set(args.component) != {"verifier"}:
            raise CliUsageError("db.verifier_only")
        if not (Path(store) / "state.json").is_file():
            raise CliEnvironmentError("db.not_a_state", "cli.not_a_store", store=store)
        with VerifierState(store) as state:
            results.append(
                {"component": "verifier", "present": True, "removed": state.purge(now=now)}
            )
    else:
        if "://" not in store or store.startswith("sqlite:///"):
            path = Path(store.removeprefix("sqlite:///"))
            if not path.is_file():
                raise CliEnvironmentError("db.no_store", "cli.no_such_file", path=path)
        wanted = set(args.component or [name for name, _ in _PURGES])
        if wanted == {"verifier"}:
            raise CliEnvironmentError("db.not_a_state", "cli.not_a_store", store=_shown(store))
        for name, purge in _PURGES:
            if name not in wanted:
                continue
            extra = {"retention": retention} if name == "payments" else {}
            removed = purge(store, now=now, **extra)  # a StoreError exits 3 (_app)
            results.append({"component": name, "present": removed is not None, "removed": removed})
        if not any(r["present"] for r in results):
            raise CliEnvironmentError(
                "db.not_a_store",
                "cli.not_a_store",
                store=_shown(store),
                components=", ".join(sorted(wanted)),
            )
    at = now.isoformat()
    rows = [
        (r["component"], out.t("db.absent") if r["removed"] is None else str(r["removed"]))
        for r in results
    ]
    headers = [out.t("db.column.component"), out.t("db.column.removed")]
    payload: dict[str, Any] = {"store": _shown(store), "at": at, "components": results}
    if redis:
        payload["prefix"] = prefix
    if any(r["component"] == "payments" and r["present"] for r in results):
        payload["body_retention_seconds"] = int(retention.total_seconds())
    out.data(payload, text=table(rows, headers))
    total = sum(r["removed"] or 0 for r in results)
    out.say("db.purged", label=out.t("label.ok"), count=total, at=at)
    if redis:
        out.say("db.redis_presence", prefix=prefix)
    return 0
