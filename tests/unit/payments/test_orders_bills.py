"""The forward-only order machine and the bill importers with their reconciliation."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from govkit.errors import PaymentMalformed, PaymentOrderRejected
from govkit.payments import (
    ApplyResult,
    EventKind,
    Order,
    OrderState,
    PaymentEvent,
    PaymentInbox,
    Provider,
    Stripe,
    apply_event,
    parse_alipay_bill,
    parse_wechat_bill,
    reconcile,
)
from govkit.testing.payments import stripe_callback

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def order(state: OrderState = OrderState.CREATED, refunded: int = 0) -> Order:
    return Order("G", Provider.STRIPE, 1000, "CNY", state, NOW, NOW, "acct_1", refunded)


def event(kind: str, amount: int = 1000, **extra: object) -> PaymentEvent:
    return PaymentEvent(
        provider="stripe",  # type: ignore[arg-type]
        event_id="e",
        kind=kind,  # type: ignore[arg-type]
        order_id="G",
        amount=amount,
        currency=str(extra.pop("currency", "CNY")),
        occurred_at=NOW,
        merchant_id=str(extra.pop("merchant_id", "acct_1")),
        **extra,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("state", "kind", "amount", "result", "after"),
    [
        (OrderState.CREATED, "paid", 1000, ApplyResult.APPLIED, OrderState.PAID),
        (OrderState.CREATED, "closed", 1000, ApplyResult.APPLIED, OrderState.CLOSED),
        (
            OrderState.PAID,
            "partially_refunded",
            400,
            ApplyResult.APPLIED,
            OrderState.PARTIALLY_REFUNDED,
        ),
        (OrderState.PAID, "refunded", 1000, ApplyResult.APPLIED, OrderState.REFUNDED),
        (OrderState.PAID, "paid", 1000, ApplyResult.UNCHANGED, OrderState.PAID),
        (OrderState.REFUNDED, "paid", 1000, ApplyResult.UNCHANGED, OrderState.REFUNDED),
        (OrderState.PAID, "closed", 1000, ApplyResult.UNCHANGED, OrderState.PAID),
        (OrderState.CREATED, "refunded", 1000, ApplyResult.DEFERRED, OrderState.CREATED),
        (OrderState.CLOSED, "paid", 1000, ApplyResult.QUARANTINED, OrderState.CLOSED),
        (OrderState.CREATED, "paid", 999, ApplyResult.QUARANTINED, OrderState.CREATED),
        (OrderState.PAID, "refunded", 1001, ApplyResult.QUARANTINED, OrderState.PAID),
        (OrderState.CREATED, "failed", 1000, ApplyResult.UNCHANGED, OrderState.CREATED),
    ],
)
def test_transitions_move_only_forward(
    state: OrderState, kind: str, amount: int, result: ApplyResult, after: OrderState
) -> None:
    transition, new = apply_event(order(state), event(kind, amount), NOW)
    assert transition.result is result
    assert new is not None
    assert new.state is after


def test_partial_refunds_add_up_to_refunded() -> None:
    _, first = apply_event(order(OrderState.PAID), event("partially_refunded", 600), NOW)
    assert first is not None
    transition, second = apply_event(first, event("partially_refunded", 400), NOW)
    assert (transition.result, second.state, second.refunded) == (  # type: ignore[union-attr]
        ApplyResult.APPLIED,
        OrderState.REFUNDED,
        1000,
    )


def test_cumulative_refund_totals_are_not_double_counted() -> None:
    start = order(OrderState.PARTIALLY_REFUNDED, refunded=400)
    transition, _ = apply_event(start, event("partially_refunded", 400, refunded_total=400), NOW)
    assert transition.result is ApplyResult.UNCHANGED


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"currency": "USD"}, "currency_mismatch"),
        ({"merchant_id": "acct_evil"}, "merchant_mismatch"),
    ],
)
def test_currency_or_merchant_mismatch_is_quarantined(change: dict[str, str], reason: str) -> None:
    transition, _ = apply_event(order(), event("paid", **change), NOW)
    assert (transition.result, transition.reason) == (ApplyResult.QUARANTINED, reason)


def test_conflicting_order_is_rejected(tmp_path: Path) -> None:
    with PaymentInbox(tmp_path / "i.db") as inbox:
        inbox.create_order("G", provider="stripe", amount=100, at=NOW)
        assert inbox.create_order("G", provider="stripe", amount=100, at=NOW).amount == 100
        with pytest.raises(PaymentOrderRejected):
            inbox.create_order("G", provider="stripe", amount=101, at=NOW)
        with pytest.raises(PaymentOrderRejected):
            inbox.create_order("H", provider="stripe", amount=0, at=NOW)


WECHAT_BILL = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,"
    "付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,"
    "退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\n"
    "`2026-05-01 16:00:00,`wx1,`1900000109,`0,`,`4200001,`GOV-A,`o1,`NATIVE,`SUCCESS,`OTHERS,"
    "`CNY,`50.00,`0.00,`0,`0,`0.00,`0.00,`,`,`罚款,`,`0.30,`0.60%,`50.00,`0.00,`\n"
    "`2026-05-01 17:00:00,`wx1,`1900000109,`0,`,`4200002,`GOV-B,`o2,`NATIVE,`SUCCESS,`OTHERS,"
    "`CNY,`20.00,`0.00,`0,`0,`0.00,`0.00,`,`,`罚款,`,`0.12,`0.60%,`20.00,`0.00,`\n"
    "`2026-05-01 18:00:00,`wx1,`1900000109,`0,`,`4200003,`GOV-C,`o3,`NATIVE,`SUCCESS,`OTHERS,"
    "`CNY,`1.00,`0.00,`0,`0,`0.00,`0.00,`,`,`罚款,`,`0.01,`0.60%,`1.00,`0.00,`\n"
    "`2026-05-01 19:00:00,`wx1,`1900000109,`0,`,`4200004,`GOV-D,`o4,`NATIVE,`REFUND,`OTHERS,"
    "`CNY,`0.00,`0.00,`5000001,`RF-1,`3.00,`0.00,`ORIGINAL,`SUCCESS,`罚款,`,`0.00,`0.60%,`0.00,`3.00,`\n"
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n"
    "`4,`71.00,`3.00,`0.00,`0.43,`71.00,`3.00\n"
)


def test_wechat_bill_is_parsed_in_fen() -> None:
    lines = parse_wechat_bill(WECHAT_BILL.encode())
    assert [(line.order_id, line.kind, line.amount) for line in lines] == [
        ("GOV-A", EventKind.PAID, 5000),
        ("GOV-B", EventKind.PAID, 2000),
        ("GOV-C", EventKind.PAID, 100),
        ("GOV-D", EventKind.REFUNDED, 300),
    ]


def test_alipay_gbk_bill_is_parsed() -> None:
    bill = (
        "#支付宝业务明细查询\n#账号：[20881234567890120156]\n"
        "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,订单金额（元）,退款批次号/请求号\n"
        "2026050122001\t,GOV-E\t,交易,社保,2026-05-01 10:00:00,2026-05-01 10:00:05,88.80,\n"
        "2026050122002\t,GOV-E\t,退款,社保,2026-05-01 11:00:00,2026-05-01 11:00:05,-8.80,RF9\n"
        "#-----------------------------------------业务明细列表结束\n"
    ).encode("gbk")
    lines = parse_alipay_bill(bill)
    assert [(line.order_id, line.kind, line.amount, line.refund_id) for line in lines] == [
        ("GOV-E", EventKind.PAID, 8880, None),
        ("GOV-E", EventKind.REFUNDED, 880, "RF9"),
    ]


def test_malformed_bill_amount_is_refused() -> None:
    with pytest.raises(PaymentMalformed):
        parse_wechat_bill(WECHAT_BILL.replace("`50.00", "`50.005").encode())


def test_reconcile_reports_missing_extra_amount_and_unit_mismatches(tmp_path: Path) -> None:
    parsed = parse_wechat_bill(WECHAT_BILL.encode())
    missing = replace(parsed[0], order_id="GOV-M", transaction_id="4200009")
    wechat_lines = [replace(line, provider=Provider.STRIPE) for line in [*parsed, missing]]
    with PaymentInbox(tmp_path / "r.db", orders=False) as inbox:
        for order_id, amount in (("GOV-A", 5000), ("GOV-B", 2001), ("GOV-C", 10000), ("GOV-X", 7)):
            inbox.receive(
                Stripe(["whsec_r"]),
                *stripe_callback("whsec_r", order_id=order_id, amount=amount, at=NOW),
                at=NOW,
            )
        report = reconcile(wechat_lines, inbox)
    assert report.matched == 1
    assert sorted((d.kind, d.order_id) for d in report.differences) == [
        ("amount_mismatch", "GOV-B"),
        ("extra", "GOV-X"),
        ("missing", "GOV-M"),
        ("refund_missing", "GOV-D"),  # the bill's refund RF-1 has no verified refund
        ("unit_mismatch", "GOV-C"),
    ]
    assert not report.ok
