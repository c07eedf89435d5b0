"""Daily trade bills (WeChat Pay, Alipay) and their reconciliation against the inbox."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from govkit.errors import PaymentMalformed
from govkit.payments._alipay import CST
from govkit.payments._event import EventKind, PaymentEvent, Provider, yuan_to_fen
from govkit.payments._inbox import PaymentInbox

__all__ = [
    "BillDifference",
    "BillLine",
    "ReconciliationReport",
    "parse_alipay_bill",
    "parse_wechat_bill",
    "reconcile",
]

_MAX_BILL = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class BillLine:
    """One line of a provider's trade bill, amounts in fen."""

    provider: Provider
    order_id: str
    transaction_id: str
    kind: EventKind
    amount: int
    currency: str
    occurred_at: datetime
    refund_id: str | None = None


@dataclass(frozen=True, slots=True)
class BillDifference:
    """One difference between a bill and the inbox.

    For payments, ``kind`` is ``missing`` (in the bill, no verified callback),
    ``extra`` (a verified callback the bill does not list), ``amount_mismatch``, or
    ``unit_mismatch`` (one amount is exactly 100 times the other: yuan read as fen).
    For refunds the same four with a ``refund_`` prefix (``refund_missing``,
    ``refund_extra``, ``refund_amount_mismatch``, ``refund_unit_mismatch``), and
    ``refund_id`` names the refund (``None`` when neither side numbers it).
    """

    kind: str
    order_id: str
    bill_amount: int | None
    inbox_amount: int | None
    refund_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "kind": self.kind,
            "order_id": self.order_id,
            "refund_id": self.refund_id,
            "bill_amount": self.bill_amount,
            "inbox_amount": self.inbox_amount,
        }


@dataclass(frozen=True, slots=True)
class ReconciliationReport:
    """The outcome of :func:`reconcile`: matched payments and refunds, and every difference.

    Attributes:
        provider: the bill's provider.
        bill_lines: the payment lines of the bill.
        matched: the payment lines whose verified callback has the same amount.
        differences: every difference, payments first, then refunds.
        refund_lines: the refund lines of the bill.
        refunds_matched: the refund lines whose verified refund has the same amount.
    """

    provider: Provider
    bill_lines: int
    matched: int
    differences: tuple[BillDifference, ...]
    refund_lines: int = 0
    refunds_matched: int = 0

    @property
    def ok(self) -> bool:
        """Whether the bill and the inbox agree."""
        return not self.differences

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "ok": self.ok,
            "provider": str(self.provider),
            "bill_lines": self.bill_lines,
            "matched": self.matched,
            "refund_lines": self.refund_lines,
            "refunds_matched": self.refunds_matched,
            "differences": [d.to_dict() for d in self.differences],
        }


def _decode(data: bytes) -> str:
    if not isinstance(data, bytes) or len(data) > _MAX_BILL:
        raise PaymentMalformed("the bill is missing or too large")
    for charset in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(charset)
        except UnicodeDecodeError:
            continue
    raise PaymentMalformed("the bill is neither UTF-8 nor GBK")


def _time(text: str) -> datetime:
    try:
        return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=CST)
    except ValueError:
        raise PaymentMalformed("a bill time is not 'YYYY-MM-DD HH:MM:SS'") from None


def _rows(text: str) -> list[list[str]]:
    try:
        return list(csv.reader(io.StringIO(text)))
    except csv.Error:
        raise PaymentMalformed("the bill is not CSV") from None


def _column(header: Sequence[str], *names: str) -> int:
    for name in names:
        if name in header:
            return header.index(name)
    raise PaymentMalformed("the bill lacks a column", column=names[0])


def parse_wechat_bill(data: bytes) -> list[BillLine]:
    """Parse a WeChat Pay trade bill (``bill_type=ALL``, CSV, fields prefixed with a backquote).

    >>> bill = ("交易时间,微信订单号,商户订单号,交易状态,货币种类,订单金额,退款金额,商户退款单号\\n"
    ...         "`2026-05-01 10:00:00,`4200001,`GOV-1,`SUCCESS,`CNY,`50.00,`0.00,`0\\n"
    ...         "总交易单数,应结订单总金额\\n`1,`50.00\\n").encode()
    >>> [(line.order_id, line.amount) for line in parse_wechat_bill(bill)]
    [('GOV-1', 5000)]
    """
    rows = _rows(_decode(data))
    if not rows:
        raise PaymentMalformed("the bill is empty")
    header = [c.strip() for c in rows[0]]
    when, txn = _column(header, "交易时间"), _column(header, "微信订单号")
    order, state = _column(header, "商户订单号"), _column(header, "交易状态")
    currency = _column(header, "货币种类")
    amount = _column(header, "订单金额", "应结订单金额")
    refund, refund_no = _column(header, "退款金额"), _column(header, "商户退款单号")
    lines: list[BillLine] = []
    for row in rows[1:]:
        if not row or row[0].startswith("总"):
            break
        cells = [c.strip().removeprefix("`") for c in row]
        if len(cells) < len(header):
            raise PaymentMalformed("a bill row is short")
        status = cells[state]
        if status == "REFUND":
            kind, value = EventKind.REFUNDED, yuan_to_fen(cells[refund])
            refund_id: str | None = cells[refund_no] or None
        elif status == "SUCCESS":
            kind, value, refund_id = EventKind.PAID, yuan_to_fen(cells[amount]), None
        else:
            continue
        lines.append(
            BillLine(
                Provider.WECHATPAY,
                cells[order],
                cells[txn],
                kind,
                value,
                cells[currency] or "CNY",
                _time(cells[when]),
                refund_id,
            )
        )
    return lines


def parse_alipay_bill(data: bytes) -> list[BillLine]:
    """Parse an Alipay trade bill (``业务明细``, GBK or UTF-8 CSV, ``#`` comment lines).

    >>> bill = ("#支付宝业务明细查询\\n支付宝交易号,商户订单号,业务类型,完成时间,订单金额（元）\\n"
    ...         "2026050122001,GOV-2,交易,2026-05-01 10:00:00,20.00\\n"
    ...         "#-----------------------------------------业务明细列表结束\\n").encode("gbk")
    >>> [(line.order_id, line.amount) for line in parse_alipay_bill(bill)]
    [('GOV-2', 2000)]
    """
    rows = [r for r in _rows(_decode(data)) if r and not r[0].lstrip().startswith("#")]
    if not rows:
        raise PaymentMalformed("the bill is empty")
    header = [c.strip() for c in rows[0]]
    txn, order = _column(header, "支付宝交易号"), _column(header, "商户订单号")
    kind_col, when = _column(header, "业务类型"), _column(header, "完成时间")
    amount = _column(header, "订单金额（元）", "订单金额(元)")
    refund_no = header.index("退款批次号/请求号") if "退款批次号/请求号" in header else None
    lines: list[BillLine] = []
    for row in rows[1:]:
        cells = [c.strip().removesuffix("\t") for c in row]
        if len(cells) < len(header):
            raise PaymentMalformed("a bill row is short")
        value_text = cells[amount]
        negative = value_text.startswith("-")
        value = yuan_to_fen(value_text.removeprefix("-"))
        if cells[kind_col] == "退款" or negative:
            kind = EventKind.REFUNDED
            refund_id = cells[refund_no] if refund_no is not None and cells[refund_no] else None
        else:
            kind, refund_id = EventKind.PAID, None
        lines.append(
            BillLine(
                Provider.ALIPAY,
                cells[order],
                cells[txn],
                kind,
                value,
                "CNY",
                _time(cells[when]),
                refund_id,
            )
        )
    return lines


def _difference(
    prefix: str, order_id: str, refund_id: str | None, billed: int, got: int | None
) -> BillDifference | None:
    """The difference between a bill line's amount and the inbox's, or ``None`` if equal."""
    if got is None:
        return BillDifference(prefix + "missing", order_id, billed, None, refund_id)
    if got == billed:
        return None
    if billed and (got == billed * 100 or got * 100 == billed):
        return BillDifference(prefix + "unit_mismatch", order_id, billed, got, refund_id)
    return BillDifference(prefix + "amount_mismatch", order_id, billed, got, refund_id)


@dataclass(frozen=True, slots=True)
class _Refund:
    amount: int
    day: date


def _inbox_refunds(inbox: PaymentInbox, provider: Provider) -> dict[tuple[str, str], _Refund]:
    """The inbox's verified refunds of ``provider`` by (order, refund number), each's amount.

    Alipay's refund notifications carry the order's refunded total (``refund_fee``,
    ``refunded_total``): one refund's amount is that total less the one before it.
    """
    events: dict[tuple[str, str], PaymentEvent] = {}
    for kind in (EventKind.REFUNDED, EventKind.PARTIALLY_REFUNDED):
        for record in inbox.events(limit=1_000_000, provider=provider, kind=kind):
            event = record.event
            events.setdefault((event.order_id, event.refund_id or ""), event)
    amounts: dict[tuple[str, str], int] = {}
    totals: dict[str, list[tuple[int, tuple[str, str]]]] = {}
    for key, event in events.items():
        if event.refunded_total is None:
            amounts[key] = event.amount
        else:
            totals.setdefault(event.order_id, []).append((event.refunded_total, key))
    for steps in totals.values():
        before = 0
        for total, key in sorted(steps):
            amounts[key], before = total - before, total
    return {
        key: _Refund(amounts[key], event.occurred_at.astimezone(CST).date())
        for key, event in events.items()
    }


def reconcile(lines: Iterable[BillLine], inbox: PaymentInbox) -> ReconciliationReport:
    """Compare a bill's payments and refunds with the verified events in ``inbox``.

    Payments: each ``paid`` line is compared with its order's verified ``paid``
    event; the inbox side is every verified ``paid`` event of the bill's provider on
    the bill's days (China Standard Time), so a payment the bill does not list is
    ``extra``.

    Refunds: each refund line is compared with the verified refund (``refunded`` or
    ``partially_refunded`` event) of the same order and refund number (WeChat's
    ``out_refund_no``, Alipay's ``out_request_no``), on whatever day it arrived; a
    verified refund on the bill's days that the bill does not list is
    ``refund_extra``.

    Raises:
        PaymentMalformed: the bill lists neither payments nor refunds.
    """
    lines = list(lines)
    paid = [line for line in lines if line.kind is EventKind.PAID]
    refunds = [
        line for line in lines if line.kind in (EventKind.REFUNDED, EventKind.PARTIALLY_REFUNDED)
    ]
    if not paid and not refunds:
        raise PaymentMalformed("the bill lists no payments or refunds")
    provider = (paid or refunds)[0].provider
    days = {line.occurred_at.astimezone(CST).date() for line in (*paid, *refunds)}
    seen: dict[str, int] = {}
    for record in inbox.events(limit=1_000_000, provider=provider, kind=EventKind.PAID):
        event = record.event
        if event.occurred_at.astimezone(CST).date() in days:
            seen.setdefault(event.order_id, event.amount)
    differences: list[BillDifference] = []
    matched = 0
    billed: set[str] = set()
    for line in paid:
        billed.add(line.order_id)
        difference = _difference("", line.order_id, None, line.amount, seen.get(line.order_id))
        if difference is None:
            matched += 1
        else:
            differences.append(difference)
    for order_id, amount in sorted(seen.items()):
        if order_id not in billed:
            differences.append(BillDifference("extra", order_id, None, amount))
    got_refunds = _inbox_refunds(inbox, provider)
    refunds_matched = 0
    billed_refunds: set[tuple[str, str]] = set()
    for line in refunds:
        key = (line.order_id, line.refund_id or "")
        billed_refunds.add(key)
        got = got_refunds.get(key)
        difference = _difference(
            "refund_",
            line.order_id,
            line.refund_id,
            line.amount,
            None if got is None else got.amount,
        )
        if difference is None:
            refunds_matched += 1
        else:
            differences.append(difference)
    for key, refund in sorted(got_refunds.items()):
        if key not in billed_refunds and refund.day in days:
            differences.append(
                BillDifference("refund_extra", key[0], None, refund.amount, key[1] or None)
            )
    return ReconciliationReport(
        provider,
        len(paid),
        matched,
        tuple(differences),
        refund_lines=len(refunds),
        refunds_matched=refunds_matched,
    )
