"""Verified, normalised, exactly-once payment callbacks (WeChat Pay, Alipay, UnionPay, Stripe).

>>> from datetime import datetime, timezone
>>> from govkit.payments import PaymentInbox, Stripe
>>> from govkit.testing.payments import stripe_callback
>>> now = datetime(2026, 5, 1, 8, 0, tzinfo=timezone.utc)
>>> headers, body = stripe_callback("whsec_demo", order_id="GOV-7", amount=5000, at=now)
>>> event = Stripe(["whsec_demo"]).parse(headers, body, at=now)
>>> event.kind, event.order_id, event.amount, event.currency
(<EventKind.PAID: 'paid'>, 'GOV-7', 5000, 'CNY')

Each provider adapter (:class:`WeChatPayV3`, :class:`Alipay`, :class:`UnionPay`,
:class:`Stripe`, :class:`StandardWebhooks`) verifies the raw body as received,
never re-serialised, and returns a frozen :class:`PaymentEvent` with amounts in
integer minor units, or raises a typed
:class:`~govkit.errors.PaymentVerificationError`: never ``None`` or ``False``.
:class:`PaymentInbox` stores every delivery, deduplicates, processes each event
exactly once, drives the forward-only order state machine and returns the exact
acknowledgement each provider expects. :mod:`govkit.testing.payments` makes
signed callbacks for applications' own tests.
"""

from govkit.payments._alipay import Alipay, alipay_content
from govkit.payments._bills import (
    BillDifference,
    BillLine,
    ReconciliationReport,
    parse_alipay_bill,
    parse_wechat_bill,
    reconcile,
)
from govkit.payments._event import (
    Acknowledgement,
    EventKind,
    PaymentEvent,
    PaymentProvider,
    Provider,
    fen_to_yuan,
    yuan_to_fen,
)
from govkit.payments._inbox import (
    DeliveryStatus,
    EventRecord,
    EventState,
    Handler,
    PaymentInbox,
    Receipt,
)
from govkit.payments._orders import ApplyResult, Order, OrderState, Transition, apply_event
from govkit.payments._query import AlipayClient, WeChatPayClient
from govkit.payments._unionpay import UnionPay, unionpay_content
from govkit.payments._webhooks import StandardWebhooks, Stripe
from govkit.payments._wechat import (
    WeChatCertificateDownloader,
    WeChatPayV3,
    WeChatPlatformKeys,
    wechat_authorization,
)

__all__ = [
    "Acknowledgement",
    "Alipay",
    "AlipayClient",
    "ApplyResult",
    "BillDifference",
    "BillLine",
    "DeliveryStatus",
    "EventKind",
    "EventRecord",
    "EventState",
    "Handler",
    "Order",
    "OrderState",
    "PaymentEvent",
    "PaymentInbox",
    "PaymentProvider",
    "Provider",
    "Receipt",
    "ReconciliationReport",
    "StandardWebhooks",
    "Stripe",
    "Transition",
    "UnionPay",
    "WeChatCertificateDownloader",
    "WeChatPayClient",
    "WeChatPayV3",
    "WeChatPlatformKeys",
    "alipay_content",
    "apply_event",
    "fen_to_yuan",
    "parse_alipay_bill",
    "parse_wechat_bill",
    "reconcile",
    "unionpay_content",
    "wechat_authorization",
    "yuan_to_fen",
]
