"""Verified, normalised payment callbacks (WeChat Pay, Alipay, UnionPay, Stripe), processed once.

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
:class:`~govkit.errors.PaymentVerificationError`: never ``None`` or ``False``. Its
``inspect()`` runs the same checks and returns a :class:`CallbackReport` (signature,
timestamp window, decryption, merchant, format) with the event when valid.
:class:`PaymentInbox` stores every delivery, deduplicates, processes each event
once (exactly once for a :class:`TransactionalHandler`'s writes to the inbox's own
database, at least once for any other :class:`Handler`), drives the forward-only
order state machine and answers each provider "received" only once the event's
processing has committed. :mod:`govkit.testing.payments` makes
signed callbacks for applications' own tests. The clients that call a provider
(:class:`WeChatPayClient`, :class:`AlipayClient`, :class:`WeChatCertificateDownloader`)
fetch with govkit's bounded HTTP fetcher, limited by a :class:`SourcePolicy`.

Provider keys are :mod:`govkit.keys` objects. The loaders turn what each provider
hands out into them: :func:`load_wechat_platform_certificate`,
:func:`load_wechat_public_key`, :func:`load_alipay_public_key`,
:func:`load_alipay_certificates` and :func:`load_standard_webhooks_public_key`.
"""

from govkit._http import SourcePolicy
from govkit.payments._alipay import Alipay, AlipayKeys, alipay_content
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
    BODY_RETENTION,
    DeliveryStatus,
    EventRecord,
    EventState,
    Handler,
    HandlerTransaction,
    PaymentInbox,
    Receipt,
    TransactionalHandler,
    upgrade_inbox,
)
from govkit.payments._keys import (
    AlipayCertificates,
    alipay_cert_sn,
    alipay_root_cert_sn,
    load_alipay_certificates,
    load_alipay_public_key,
    load_standard_webhooks_public_key,
    load_wechat_platform_certificate,
    load_wechat_public_key,
)
from govkit.payments._orders import ApplyResult, Order, OrderState, Transition, apply_event
from govkit.payments._query import AlipayClient, WeChatPayClient
from govkit.payments._report import CALLBACK_CHECKS, CallbackReport, inspect_callback
from govkit.payments._unionpay import UnionPay, unionpay_content
from govkit.payments._webhooks import StandardWebhooks, Stripe
from govkit.payments._wechat import (
    WeChatCertificateDownloader,
    WeChatKeys,
    WeChatPayV3,
    WeChatPlatformKeys,
    wechat_authorization,
)

__all__ = [
    "BODY_RETENTION",
    "CALLBACK_CHECKS",
    "Acknowledgement",
    "Alipay",
    "AlipayCertificates",
    "AlipayClient",
    "AlipayKeys",
    "ApplyResult",
    "BillDifference",
    "BillLine",
    "CallbackReport",
    "DeliveryStatus",
    "EventKind",
    "EventRecord",
    "EventState",
    "Handler",
    "HandlerTransaction",
    "Order",
    "OrderState",
    "PaymentEvent",
    "PaymentInbox",
    "PaymentProvider",
    "Provider",
    "Receipt",
    "ReconciliationReport",
    "SourcePolicy",
    "StandardWebhooks",
    "Stripe",
    "TransactionalHandler",
    "Transition",
    "UnionPay",
    "WeChatCertificateDownloader",
    "WeChatKeys",
    "WeChatPayClient",
    "WeChatPayV3",
    "WeChatPlatformKeys",
    "alipay_cert_sn",
    "alipay_content",
    "alipay_root_cert_sn",
    "apply_event",
    "fen_to_yuan",
    "inspect_callback",
    "load_alipay_certificates",
    "load_alipay_public_key",
    "load_standard_webhooks_public_key",
    "load_wechat_platform_certificate",
    "load_wechat_public_key",
    "parse_alipay_bill",
    "parse_wechat_bill",
    "reconcile",
    "unionpay_content",
    "upgrade_inbox",
    "wechat_authorization",
    "yuan_to_fen",
]
