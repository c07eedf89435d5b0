"""``govkit audit``: verify, checkpoint, prove, show, export and erase.

Key files follow the log-folder layout ``govkit demo`` writes: for a SQLite store
``DIR/audit.db`` the defaults are ``DIR/audit/note-key`` (the checkpoint signing
key, a ``PRIVATE+KEY+...`` string) and ``DIR/audit/pseudonym.key`` (the pseudonym
secret). Options and the ``GOVKIT_AUDIT_*`` environment variables override them.

``audit verify`` never takes its verifier key from there: whoever can rewrite the log
folder can truncate the log, put their own key next to it and sign a new checkpoint.
The trusted key comes from ``--vkey`` or ``GOVKIT_AUDIT_VKEY`` only (``cli.no_vkey``,
exit 2, without one).
"""

from __future__ import annotations

import argparse
import base64
import io
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from govkit.audit import (
    AuditLog,
    AuditStore,
    LogReport,
    NoteSigner,
    NoteVerifier,
    inspect_log,
    open_store,
)
from govkit.certificates import VerifierState
from govkit.cli._app import CliEnvironmentError, CliUsageError, Output, table
from govkit.cli._files import open_for_write, read_file, refuse_existing, write_file
from govkit.cli._report import emit_report
from govkit.cli._types import aware_time
from govkit.cli._verifier import add_state_option, open_state
from govkit.errors import AuditStoreError

_ENV_VKEY = "GOVKIT_AUDIT_VKEY"
_ENV_KEY = "GOVKIT_AUDIT_KEY_FILE"
_ENV_PSEUDONYM = "GOVKIT_AUDIT_PSEUDONYM_KEY_FILE"


def b64_encode(data: bytes) -> str:
    """Standard base64, as C2SP checkpoints write hashes."""
    return base64.b64encode(data).decode("ascii")


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``audit`` command group."""
    audit = sub.add_parser("audit", parents=[common], help="the tamper-evident audit log")
    audit_sub = audit.add_subparsers(dest="audit_command", metavar="SUBCOMMAND", required=True)
    store_help = "SQLite file path or postgresql:// URL"

    verify = audit_sub.add_parser(
        "verify", parents=[common], help="re-derive every hash and check every checkpoint"
    )
    verify.add_argument("store", metavar="STORE", help=store_help)
    verify.add_argument(
        "--checkpoint", type=Path, metavar="FILE", help="a checkpoint saved earlier (a file)"
    )
    verify.add_argument(
        "--vkey",
        action="append",
        metavar="VKEY",
        help="trusted verifier key, a string or a file (repeatable; required unless "
        "GOVKIT_AUDIT_VKEY is set; a key next to the log is never used)",
    )
    verify.add_argument("--deep", action="store_true", help="also check query columns")
    add_state_option(verify)
    verify.set_defaults(handler=cmd_verify)

    checkpoint = audit_sub.add_parser(
        "checkpoint", parents=[common], help="sign and print a checkpoint of the current tree"
    )
    checkpoint.add_argument("store", metavar="STORE", help=store_help)
    checkpoint.add_argument(
        "--key", type=Path, metavar="FILE", help="note signing key file (PRIVATE+KEY+...)"
    )
    checkpoint.add_argument(
        "--out", type=Path, metavar="FILE", help="also write the checkpoint to this file"
    )
    checkpoint.add_argument("--force", action="store_true", help="replace an existing --out")
    checkpoint.set_defaults(handler=cmd_checkpoint)

    keygen = audit_sub.add_parser(
        "keygen", parents=[common], help="create a checkpoint signing key (a C2SP note key)"
    )
    keygen.add_argument("origin", metavar="ORIGIN", help="the log's origin line (its name)")
    keygen.add_argument(
        "--alg",
        choices=("EdDSA", "SM2"),
        default="EdDSA",
        help="Ed25519 (C2SP type 0x01) or SM2 (govkit[sm])",
    )
    keygen.add_argument("--out", required=True, type=Path, metavar="FILE", help="FILE and .vkey")
    keygen.add_argument("--force", action="store_true", help="replace existing files")
    keygen.set_defaults(handler=cmd_keygen)

    prove = audit_sub.add_parser(
        "prove", parents=[common], help="print an inclusion or consistency proof"
    )
    prove.add_argument("store", metavar="STORE", help=store_help)
    prove.add_argument(
        "index", nargs="?", type=int, metavar="INDEX", help="entry index (inclusion proof)"
    )
    prove.add_argument(
        "--size", type=int, metavar="N", help="tree size to prove against (default: now)"
    )
    prove.add_argument("--from-size", type=int, metavar="N", help="old size (consistency proof)")
    prove.set_defaults(handler=cmd_prove)

    show = audit_sub.add_parser("show", parents=[common], help="list entries matching filters")
    show.add_argument("store", metavar="STORE", help=store_help)
    _add_filters(show)
    show.set_defaults(handler=cmd_show)

    export = audit_sub.add_parser(
        "export", parents=[common], help="an offline-verifiable evidence package (JSON)"
    )
    export.add_argument("store", metavar="STORE", help=store_help)
    export.add_argument(
        "--key", type=Path, metavar="FILE", help="note signing key file (PRIVATE+KEY+...)"
    )
    export.add_argument("--out", type=Path, metavar="FILE", help="write the package to this file")
    export.add_argument("--force", action="store_true", help="replace an existing --out")
    _add_filters(export, limit=None)
    export.set_defaults(handler=cmd_export)

    erase = audit_sub.add_parser(
        "erase", parents=[common], help="erase a person's clear data (proofs stay valid)"
    )
    erase.add_argument("store", metavar="STORE", help=store_help)
    erase.add_argument("--subject", required=True, metavar="ID", help="the clear value to erase")
    erase.add_argument("--reason", metavar="TEXT", help="why (recorded in the erasure event)")
    erase.add_argument(
        "--pseudonym-key-file", type=Path, metavar="FILE", help="the log's pseudonym secret"
    )
    erase.set_defaults(handler=cmd_erase)


def _add_filters(parser: argparse.ArgumentParser, *, limit: int | None = 100) -> None:
    parser.add_argument("--actor", metavar="ID", help="actor id (clear value or pseudonym)")
    parser.add_argument("--actor-type", metavar="TYPE", help="actor type")
    parser.add_argument("--action", metavar="ACTION", help="the action recorded")
    parser.add_argument("--resource-type", metavar="TYPE", help="resource type")
    parser.add_argument(
        "--resource-id", metavar="ID", help="resource id (clear value or pseudonym)"
    )
    parser.add_argument("--correlation-id", metavar="ID", help="correlation id")
    parser.add_argument(
        "--outcome", choices=("success", "failure", "denied", "error"), help="the outcome"
    )
    parser.add_argument(
        "--since", type=aware_time, metavar="TIME", help="ISO 8601 time with offset, inclusive"
    )
    parser.add_argument(
        "--until", type=aware_time, metavar="TIME", help="ISO 8601 time with offset, exclusive"
    )
    parser.add_argument("--after-index", type=int, metavar="N", help="page after this index")
    parser.add_argument(
        "--limit",
        type=int,
        default=limit,
        metavar="N",
        help=f"at most this many ({limit if limit is not None else 'all'})",
    )
    parser.add_argument(
        "--pseudonym-key-file", type=Path, metavar="FILE", help="to match clear values"
    )


# -- opening things ----------------------------------------------------------------


def log_folder(store: str) -> Path | None:
    """The folder holding the log's key files, for a SQLite store path."""
    if "://" in store and not store.startswith("sqlite:///"):
        return None
    path = Path(store.removeprefix("sqlite:///"))
    return path.parent / "audit"


def _open_existing(store: str, *, read_only: bool = False) -> AuditStore:
    """Open an existing log; ``read_only`` for commands that only read (never an upgrade)."""
    if "://" not in store or store.startswith("sqlite:///"):
        path = Path(store.removeprefix("sqlite:///"))
        if not path.is_file():
            raise CliEnvironmentError("audit.no_store", "cli.no_such_file", path=path)
    try:
        opened = open_store(store, read_only=read_only)
    except AuditStoreError as exc:
        if exc.context.get("absent"):  # read-only: a database without audit tables
            raise CliEnvironmentError("audit.not_a_log", "cli.not_a_log", store=store) from None
        raise
    if opened.origin() is None:
        opened.close()
        raise CliEnvironmentError("audit.not_a_log", "cli.not_a_log", store=store)
    return opened


def _open_log(
    store: str,
    *,
    key: Path | None = None,
    pseudonym_key: Path | None = None,
    read_only: bool = False,
) -> AuditLog:
    opened = _open_existing(store, read_only=read_only)
    origin = opened.origin()
    assert origin is not None  # noqa: S101 - checked by _open_existing
    signer = NoteSigner.from_private_key_string(_read_text(key).strip()) if key else None
    secret = read_file(pseudonym_key) if pseudonym_key else None
    return AuditLog(opened, origin=origin, signer=signer, pseudonym_key=secret)


def _read_text(path: Path) -> str:
    return read_file(path, limit=1 << 20).decode("utf-8")


def _default(path: Path | None, env: str, store: str, name: str) -> Path | None:
    if path is not None:
        return path
    if os.environ.get(env):
        return Path(os.environ[env])
    folder = log_folder(store)
    candidate = folder / name if folder else None
    return candidate if candidate is not None and candidate.is_file() else None


def _verifiers(values: list[str] | None) -> list[NoteVerifier]:
    """The trusted verifier keys: ``--vkey`` values, else ``GOVKIT_AUDIT_VKEY``.

    Never a key found next to the store: whoever can rewrite the log can replace it.
    """
    given = list(values or [])
    if not given and os.environ.get(_ENV_VKEY):
        given.append(os.environ[_ENV_VKEY])
    if not given:
        raise CliUsageError("audit.no_vkey", "cli.no_vkey")
    texts = []
    for value in given:
        if Path(value).is_file():
            texts.append(_read_text(Path(value)).strip())
        elif "+" not in value:  # not a vkey string (name+id+key), so a file name
            raise CliEnvironmentError("audit.no_vkey_file", "cli.no_such_file", path=value)
        else:
            texts.append(value.strip())
    return [NoteVerifier.from_vkey(t) for t in texts]


# -- commands ----------------------------------------------------------------------


def run_verify(
    store: str,
    *,
    vkeys: list[str] | None = None,
    checkpoint: Path | None = None,
    deep: bool = False,
    out: Output | None = None,
    state: VerifierState | None = None,
) -> LogReport:
    """The work of ``govkit audit verify``; returns the report (also used by the demo).

    ``vkeys`` are the trusted verifier keys (strings or file names); without them,
    ``GOVKIT_AUDIT_VKEY``; without that, ``cli.no_vkey``. With a verifier ``state`` the
    log must also be consistent with the newest checkpoint the state holds for it (a log
    rolled back behind it is ``audit.truncated``), and the state then holds the log's
    newest verified checkpoint.
    """
    verifiers = _verifiers(vkeys)
    saved = _read_text(checkpoint) if checkpoint is not None else None
    opened = _open_existing(store, read_only=True)  # verification never writes the log
    try:
        progress = (lambda d, t: out.progress(out.t("audit.verifying"), d, t)) if out else None
        if state is not None:
            return state.inspect_log(
                opened,
                verifiers=verifiers,
                now=datetime.now(UTC),
                checkpoint=saved,
                deep=deep,
                progress=progress,
            )
        return inspect_log(
            opened, verifiers=verifiers, checkpoint=saved, deep=deep, progress=progress
        )
    finally:
        opened.close()


def cmd_verify(args: argparse.Namespace, out: Output) -> int:
    """``govkit audit verify``."""
    report = run_verify(
        args.store,
        vkeys=args.vkey,
        checkpoint=args.checkpoint,
        deep=args.deep,
        out=out,
        state=open_state(args),
    )
    return emit_report(
        report,
        out,
        title=report.store,
        ok_text=out.t("ok.audit", size=report.size),
        partly_text=out.t("ok.audit", size=report.size),
    )


def cmd_checkpoint(args: argparse.Namespace, out: Output) -> int:
    """``govkit audit checkpoint``."""
    key = _default(args.key, _ENV_KEY, args.store, "note-key")
    if key is None:
        raise CliEnvironmentError("audit.no_key", "cli.no_key")
    if args.out is not None:  # before signing: a refusal leaves the store as it was
        refuse_existing(args.out, force=args.force)
    with _open_log(args.store, key=key) as log:
        note = log.checkpoint()
        size = log.size()
    if args.out is not None:
        write_file(args.out, note.encode("utf-8"), force=args.force)
        out.say("wrote", path=args.out)
    out.data({"size": size, "checkpoint": note}, text=note.rstrip("\n"))
    return 0


def cmd_keygen(args: argparse.Namespace, out: Output) -> int:
    """``govkit audit keygen``: a note signing key (mode 0600) and its verifier key."""
    signer = NoteSigner.generate(args.origin, alg=args.alg)
    vkey_path = args.out.with_name(args.out.name + ".vkey")
    refuse_existing(args.out, vkey_path, force=args.force)  # neither written if one exists
    write_file(
        args.out,
        signer.to_private_key_string().encode("ascii") + b"\n",
        private=True,
        force=args.force,
    )
    write_file(vkey_path, signer.vkey.encode("ascii") + b"\n", force=args.force)
    out.say("audit.wrote_keys", path=args.out, vkey=vkey_path)
    out.data(
        {"vkey": signer.vkey, "alg": signer.alg, "key": str(args.out), "vkey_file": str(vkey_path)},
        text=signer.vkey,
    )
    return 0


def cmd_prove(args: argparse.Namespace, out: Output) -> int:
    """``govkit audit prove``."""
    if (args.index is None) == (args.from_size is None):
        raise CliUsageError("audit.index_or_from_size")
    with _open_log(args.store, read_only=True) as log:
        size = args.size if args.size is not None else log.size()
        root = log.root_hash(size)
        if args.index is not None:
            proof = log.inclusion_proof(args.index, size)
            payload: dict[str, Any] = {"kind": "inclusion", **proof.to_dict()}
        else:
            hashes = log.consistency_proof(args.from_size, size)
            payload = {
                "kind": "consistency",
                "old_size": args.from_size,
                "size": size,
                "old_root": b64_encode(log.root_hash(args.from_size)),
                "hashes": [b64_encode(h) for h in hashes],
            }
    payload["root"] = b64_encode(root)
    out.data(payload)
    return 0


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "actor_id": args.actor,
        "actor_type": args.actor_type,
        "action": args.action,
        "resource_type": args.resource_type,
        "resource_id": args.resource_id,
        "correlation_id": args.correlation_id,
        "outcome": args.outcome,
        "since": args.since,
        "until": args.until,
        "after_index": args.after_index,
        "limit": args.limit,
    }


def cmd_show(args: argparse.Namespace, out: Output) -> int:
    """``govkit audit show``."""
    secret = _default(args.pseudonym_key_file, _ENV_PSEUDONYM, args.store, "pseudonym.key")
    with _open_log(args.store, pseudonym_key=secret, read_only=True) as log:
        entries = log.query(**_filters(args))
    items = [{"index": e.index, **e.event.to_dict()} for e in entries]
    rows = [
        (
            str(e.index),
            e.event.to_dict()["time"],
            _short(e.event.actor_id),
            e.event.action,
            f"{e.event.resource_type}:{_short(e.event.resource_id or '-')}",
            str(e.event.outcome),
        )
        for e in entries
    ]
    out.data(
        {"entries": items, "count": len(items)},
        text=table(
            rows,
            [
                out.t(f"audit.column.{name}")
                for name in ("index", "time", "actor", "action", "resource", "outcome")
            ],
        ),
    )
    return 0


def _short(value: str) -> str:
    return value if len(value) <= 32 else value[:29] + "..."


def cmd_export(args: argparse.Namespace, out: Output) -> int:
    """``govkit audit export``: the package to stdout, or to ``--out`` (then a summary).

    The package is written entry by entry (:meth:`AuditLog.export_to`), so memory does
    not grow with the log; ``--out`` goes through a temporary file, put in place only
    when the whole package is written.
    """
    key = _default(args.key, _ENV_KEY, args.store, "note-key")
    secret = _default(args.pseudonym_key_file, _ENV_PSEUDONYM, args.store, "pseudonym.key")
    if args.out is not None:  # before signing a checkpoint into the store
        refuse_existing(args.out, force=args.force)
    with _open_log(args.store, key=key, pseudonym_key=secret) as log:
        if args.out is None:
            log.export_to(out.stdout, **_filters(args))
            out.stdout.flush()
            return 0
        with open_for_write(args.out, force=args.force) as handle:
            text = io.TextIOWrapper(handle, encoding="utf-8", newline="")
            try:
                count = log.export_to(text, **_filters(args))
            finally:
                text.detach()  # flushes; the file itself is closed by open_for_write
    out.say("audit.wrote_export", path=args.out, count=count)
    out.data({"out": str(args.out), "entries": count}, text=str(args.out))
    return 0


def cmd_erase(args: argparse.Namespace, out: Output) -> int:
    """``govkit audit erase``."""
    secret = _default(args.pseudonym_key_file, _ENV_PSEUDONYM, args.store, "pseudonym.key")
    if secret is None:
        raise CliEnvironmentError("audit.no_pseudonym_key", "cli.no_pseudonym_key")
    with _open_log(args.store, pseudonym_key=secret) as log:
        pseudonym = log.pseudonym(args.subject)
        removed = log.erase(args.subject, actor_id="govkit-cli", reason=args.reason)
    out.say("audit.erased", count=removed)
    out.data({"pseudonym": pseudonym, "removed": removed})
    return 0
