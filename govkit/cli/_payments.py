"""``govkit payments``: show an inbox, replay a stored event, reconcile a daily bill."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from govkit.cli._app import CliEnvironmentError, CliInvalid, Output, table
from govkit.payments import (
    EventState,
    PaymentInbox,
    Provider,
    parse_alipay_bill,
    parse_wechat_bill,
    reconcile,
)


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``payments show``, ``payments replay`` and ``payments reconcile``."""
    payments = sub.add_parser("payments", parents=[common], help="payment callback inboxes")
    payments_sub = payments.add_subparsers(
        dest="payments_command", metavar="SUBCOMMAND", required=True
    )
    show = payments_sub.add_parser(
        "show", parents=[common], help="counts and the latest events of an inbox"
    )
    show.add_argument("inbox", metavar="INBOX", help="sqlite path or postgresql:// URL")
    show.add_argument("--state", choices=[s.value for s in EventState], help="only this state")
    show.add_argument("--limit", type=int, default=20, metavar="N")
    show.set_defaults(handler=cmd_show)
    replay = payments_sub.add_parser(
        "replay", parents=[common], help="process a failed or pending event again"
    )
    replay.add_argument("inbox", metavar="INBOX")
    replay.add_argument("event_id", metavar="EVENT_ID")
    replay.add_argument("--provider", choices=[p.value for p in Provider])
    replay.set_defaults(handler=cmd_replay)
    rec = payments_sub.add_parser(
        "reconcile", parents=[common], help="compare a daily trade bill with an inbox"
    )
    rec.add_argument("bill", type=Path, metavar="BILL")
    rec.add_argument("--inbox", required=True, metavar="URL")
    rec.add_argument(
        "--provider", choices=["wechatpay", "alipay"], default="wechatpay", help="bill format"
    )
    rec.set_defaults(handler=cmd_reconcile)


def _open(url: str, *, read_only: bool = False) -> PaymentInbox:
    """Open an existing inbox; ``read_only`` for the commands that only read."""
    if "://" not in url and not Path(url).is_file():
        raise CliEnvironmentError(f"no inbox at {url}", "cli.missing_file")
    return PaymentInbox(url, orders=True, read_only=read_only)


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
            str(r.deliveries),
        )
        for r in records
    ]
    counts = ", ".join(f"{k}={v}" for k, v in stats.items())
    text = (
        counts
        + "\n\n"
        + table(
            rows, ("provider", "event", "kind", "order", "amount", "cur", "state", "deliveries")
        )
    )
    out.data({"stats": stats, "events": [r.to_dict() for r in records]}, text=text)
    return 0


def cmd_replay(args: argparse.Namespace, out: Output) -> int:
    """``govkit payments replay``: exit 0 when the event ends done, 1 otherwise."""
    with _open(args.inbox) as inbox:
        record = inbox.replay(args.event_id, provider=args.provider)
    out.data(
        {"ok": record.state is EventState.DONE, "event": record.to_dict()},
        text=f"{record.event.event_id}: {record.state} (attempts {record.attempts})",
    )
    if record.state is not EventState.DONE:
        raise CliInvalid
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
    text = (
        f"{report.matched}/{report.bill_lines} payments match, "
        f"{report.refunds_matched}/{report.refund_lines} refunds match"
    )
    if rows:
        header = ("difference", "order", "refund", "bill (fen)", "inbox (fen)")
        text += "\n\n" + table(rows, header)
    out.data(report.to_dict(), text=text)
    if not report.ok:
        raise CliInvalid
    return 0
