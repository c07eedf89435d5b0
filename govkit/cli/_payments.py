"""``govkit payments``: show an inbox, replay, release and re-drive events, reconcile a bill."""

from __future__ import annotations

import argparse
import contextlib
import importlib
from datetime import timedelta
from pathlib import Path
from typing import Any

from govkit.audit import AuditLog
from govkit.cli._app import CliEnvironmentError, CliInvalid, CliUsageError, Output, table
from govkit.payments import (
    EventState,
    Handler,
    PaymentInbox,
    Provider,
    TransactionalHandler,
    parse_alipay_bill,
    parse_wechat_bill,
    reconcile,
)

_INBOX = "the inbox: sqlite path or postgresql:// URL"


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``payments show``, ``replay``, ``release``, ``worker`` and ``reconcile``."""
    payments = sub.add_parser("payments", parents=[common], help="payment callback inboxes")
    payments_sub = payments.add_subparsers(
        dest="payments_command", metavar="SUBCOMMAND", required=True
    )
    show = payments_sub.add_parser(
        "show", parents=[common], help="counts and the latest events of an inbox"
    )
    show.add_argument("inbox", metavar="INBOX", help="sqlite path or postgresql:// URL")
    show.add_argument("--state", choices=[s.value for s in EventState], help="only this state")
    show.add_argument(
        "--limit", type=int, default=20, metavar="N", help="at most this many events (20)"
    )
    show.set_defaults(handler=cmd_show)
    replay = payments_sub.add_parser(
        "replay", parents=[common], help="process a failed or pending event again"
    )
    replay.add_argument("inbox", metavar="INBOX", help=_INBOX)
    replay.add_argument("event_id", metavar="EVENT_ID", help="the provider's event id")
    replay.add_argument(
        "--provider", choices=[p.value for p in Provider], help="when several use the id"
    )
    _handler_options(replay)
    replay.set_defaults(handler=cmd_replay)
    release = payments_sub.add_parser(
        "release", parents=[common], help="release a quarantined event after review"
    )
    release.add_argument("inbox", metavar="INBOX", help=_INBOX)
    release.add_argument("event_id", metavar="EVENT_ID", help="the provider's event id")
    release.add_argument("--reason", required=True, metavar="TEXT", help="why (recorded)")
    release.add_argument("--actor", required=True, metavar="NAME", help="who reviewed it")
    release.add_argument(
        "--provider", choices=[p.value for p in Provider], help="when several use the id"
    )
    _handler_options(release)
    release.set_defaults(handler=cmd_release)
    worker = payments_sub.add_parser(
        "worker",
        parents=[common],
        help="re-drive pending, failed and stranded events until SIGTERM",
    )
    worker.add_argument("inbox", metavar="INBOX", help=_INBOX)
    _handler_options(worker)
    worker.add_argument("--no-orders", action="store_true", help="the inbox keeps no order book")
    worker.add_argument(
        "--lease",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="how long an event taken by a worker stays its own (300)",
    )
    worker.add_argument(
        "--poll", type=float, default=1.0, metavar="SECONDS", help="first wait when idle (1)"
    )
    worker.add_argument(
        "--max-poll", type=float, default=30.0, metavar="SECONDS", help="longest wait (30)"
    )
    worker.add_argument("--once", action="store_true", help="one pass, then exit")
    worker.set_defaults(handler=cmd_worker)
    rec = payments_sub.add_parser(
        "reconcile", parents=[common], help="compare a daily trade bill with an inbox"
    )
    rec.add_argument("bill", type=Path, metavar="BILL", help="the provider's daily trade bill")
    rec.add_argument("--inbox", required=True, metavar="URL", help=_INBOX)
    rec.add_argument(
        "--provider", choices=["wechatpay", "alipay"], default="wechatpay", help="bill format"
    )
    rec.set_defaults(handler=cmd_reconcile)


def _handler_options(parser: argparse.ArgumentParser) -> None:
    """``--handler`` / ``--transactional-handler`` (the application's, by import path)
    and ``--audit``."""
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--handler",
        dest="app_handler",
        metavar="MODULE:NAME",
        help="your at-least-once handler, handler(event)",
    )
    which.add_argument(
        "--transactional-handler",
        dest="app_tx_handler",
        metavar="MODULE:NAME",
        help="your transactional handler, handler(event, tx)",
    )
    parser.add_argument("--audit", metavar="STORE", help="append to this audit log")


def _import(spec: str, option: str) -> Any:
    """The object ``MODULE:NAME`` names (``NAME`` may be dotted)."""
    module_name, sep, name = spec.partition(":")
    if not sep or not module_name or not name:
        raise CliUsageError("payments.handler_spec", option=option)
    try:
        found: Any = importlib.import_module(module_name)
        for part in name.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError) as exc:
        raise CliEnvironmentError(
            "payments.handler_load",
            "cli.handler",
            option=option,
            spec=spec,
            error=type(exc).__name__,
        ) from None
    if not callable(found):
        raise CliUsageError("payments.handler_not_callable", option=option, spec=spec)
    return found


def _open(
    url: str,
    *,
    read_only: bool = False,
    args: argparse.Namespace | None = None,
    audit: AuditLog | None = None,
) -> PaymentInbox:
    """Open an existing inbox; ``read_only`` for the commands that only read.

    With ``args``, the inbox gets the application's handler and audit log they name:
    an event received with a handler is processed only by an inbox with one.
    """
    if "://" not in url and not Path(url).is_file():
        raise CliEnvironmentError("payments.no_inbox", "cli.missing_file", url=url)
    if args is None:
        return PaymentInbox(url, orders=True, read_only=read_only)
    handler: Handler | None = None
    tx_handler: TransactionalHandler | None = None
    if getattr(args, "app_handler", None):
        handler = _import(args.app_handler, "--handler")
    if getattr(args, "app_tx_handler", None):
        tx_handler = _import(args.app_tx_handler, "--transactional-handler")
    return PaymentInbox(
        url,
        handler=handler,
        transactional_handler=tx_handler,
        orders=not getattr(args, "no_orders", False),
        audit=audit,
        lease=timedelta(seconds=getattr(args, "lease", 300.0)),
    )


def _audit(args: argparse.Namespace) -> contextlib.AbstractContextManager[AuditLog | None]:
    """The audit log ``--audit`` names (closed on exit), or ``None``."""
    if not getattr(args, "audit", None):
        return contextlib.nullcontext()
    from govkit.cli._audit import _open_log  # noqa: PLC0415 - only with --audit

    return _open_log(args.audit)


def cmd_show(args: argparse.Namespace, out: Output) -> int:
    """``govkit payments show``."""
    with _open(args.inbox, read_only=True) as inbox:
        stats = inbox.stats()
        records = inbox.events(state=args.state, limit=args.limit)
    rows = [
        (
            str(r.event.provider),
            r.event.event_id,
            str(r.event.kind),
            r.event.order_id,
            str(r.event.amount),
            r.event.currency,
            str(r.state),
            r.result or "",
            str(r.deliveries),
        )
        for r in records
    ]
    counts = ", ".join(f"{k}={v}" for k, v in stats.items())
    names = ("provider", "event", "kind", "order", "amount", "cur", "state", "result", "deliv")
    text = counts + "\n\n" + table(rows, [out.t(f"payments.column.{n}") for n in names])
    conflicts = [r for r in records if r.state is EventState.CONFLICT]
    for r in conflicts:
        other = r.conflicting_event
        text += "\n" + out.t(
            "payments.conflict",
            provider=r.event.provider,
            event=r.event.event_id,
            amount=r.event.amount,
            currency=r.event.currency,
            digest=str(r.content_digest)[:16],
            other="?" if other is None else other.amount,
            other_digest=str(r.conflict_digest)[:16],
        )
    out.data({"stats": stats, "events": [r.to_dict() for r in records]}, text=text)
    return 0


def cmd_replay(args: argparse.Namespace, out: Output) -> int:
    """``govkit payments replay``: exit 0 when the event ends processed, 1 otherwise."""
    with _audit(args) as audit, _open(args.inbox, args=args, audit=audit) as inbox:
        record = inbox.replay(args.event_id, provider=args.provider)
    done = record.state is EventState.PROCESSED
    text = out.t(
        "payments.replayed",
        event=record.event.event_id,
        state=record.state,
        attempts=record.attempts,
    )
    if record.state in (EventState.PENDING, EventState.FAILED) and not _has_handler(args):
        text += out.t("payments.waits")
    out.data({"ok": done, "event": record.to_dict()}, text=text)
    if not done:
        raise CliInvalid
    return 0


def _has_handler(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "app_handler", None) or getattr(args, "app_tx_handler", None))


def cmd_release(args: argparse.Namespace, out: Output) -> int:
    """``govkit payments release``: exit 0 once released (1 if it is not quarantined)."""
    with _audit(args) as audit, _open(args.inbox, args=args, audit=audit) as inbox:
        record = inbox.release(
            args.event_id, reason=args.reason, actor=args.actor, provider=args.provider
        )
    text = out.t(
        "payments.released", event=record.event.event_id, actor=args.actor, state=record.state
    )
    if record.state is EventState.PENDING:
        text += out.t("payments.waits")
    out.data({"released": True, "event": record.to_dict()}, text=text)
    return 0


def cmd_worker(args: argparse.Namespace, out: Output) -> int:
    """``govkit payments worker``: re-drive until SIGTERM or SIGINT; exit 0 when stopped."""
    for name in ("lease", "poll", "max_poll"):
        if not getattr(args, name) > 0:
            raise CliUsageError("payments.positive", option=f"--{name.replace('_', '-')}")
    with _audit(args) as audit, _open(args.inbox, args=args, audit=audit) as inbox:
        if args.once:
            processed = inbox.process_pending()
            totals = {"passes": 1, "processed": processed}
        else:
            out.say("payments.worker_on", url=inbox.url)
            totals = inbox.run_pending(
                poll=timedelta(seconds=args.poll), max_poll=timedelta(seconds=args.max_poll)
            )
        stats = inbox.stats()
    out.say("payments.worker_stopped")
    counts = ", ".join(f"{k}={v}" for k, v in totals.items())
    out.data(
        {**totals, "stats": stats},
        text=f"{counts}\n" + ", ".join(f"{k}={v}" for k, v in stats.items()),
    )
    return 0


def cmd_reconcile(args: argparse.Namespace, out: Output) -> int:
    """``govkit payments reconcile``: exit 0 when the bill and the inbox agree, 1 otherwise."""
    data = args.bill.read_bytes()
    lines = parse_wechat_bill(data) if args.provider == "wechatpay" else parse_alipay_bill(data)
    with _open(args.inbox, read_only=True) as inbox:
        report = reconcile(lines, inbox)
    rows = [
        (d.kind, d.order_id, d.refund_id or "", str(d.bill_amount), str(d.inbox_amount))
        for d in report.differences
    ]
    text = out.t(
        "payments.reconciled",
        matched=report.matched,
        lines=report.bill_lines,
        refunds=report.refunds_matched,
        refund_lines=report.refund_lines,
    )
    if rows:
        names = ("difference", "order", "refund", "bill", "inbox")
        text += "\n\n" + table(rows, [out.t(f"payments.column.{n}") for n in names])
    out.data(report.to_dict(), text=text)
    if not report.ok:
        raise CliInvalid
    return 0
