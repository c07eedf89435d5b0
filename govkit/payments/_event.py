"""The normalised payment event, acknowledgements, the provider protocol and amount helpers."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

from govkit.clock import require_aware
from govkit.errors import ClockError, NaiveDatetimeError, PaymentMalformed

__all__ = [
    "Acknowledgement",
    "EventKind",
    "PaymentEvent",
    "PaymentProvider",
    "Provider",
    "fen_to_yuan",
    "yuan_to_fen",
]

_YUAN = re.compile(r"(0|[1-9][0-9]{0,15})(\.[0-9]{1,2})?")
_CURRENCY = re.compile(r"[A-Z]{3}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: The largest amount govkit accepts, in minor units (fits a signed 64-bit column).
MAX_AMOUNT = 2**62


class Provider(StrEnum):
    """The payment providers govkit verifies."""

    WECHATPAY = "wechatpay"
    ALIPAY = "alipay"
    UNIONPAY = "unionpay"
    STRIPE = "stripe"
    STANDARD_WEBHOOKS = "standardwebhooks"


class EventKind(StrEnum):
    """What a callback says happened to the order."""

    PAID = "paid"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"
    CLOSED = "closed"
    FAILED = "failed"
    #: A genuine notification that moves no money (an unpaid or pending state).
    OTHER = "other"


def yuan_to_fen(text: str) -> int:
    """Parse a yuan amount such as ``"200.00"`` into integer fen, exactly.

    >>> yuan_to_fen("200.00"), yuan_to_fen("0.01"), yuan_to_fen("3")
    (20000, 1, 300)

    Raises:
        PaymentMalformed: not a plain non-negative decimal with at most two places.
    """
    if not isinstance(text, str) or not _YUAN.fullmatch(text):
        raise PaymentMalformed("an amount is not a yuan decimal with at most two places")
    try:
        value = Decimal(text) * 100
    except InvalidOperation:  # pragma: no cover - the pattern already excludes it
        raise PaymentMalformed("an amount is not a decimal") from None
    return int(value)


def fen_to_yuan(fen: int) -> str:
    """Format integer fen as a yuan string with two places.

    >>> fen_to_yuan(20000), fen_to_yuan(1)
    ('200.00', '0.01')
    """
    if fen < 0:
        return "-" + fen_to_yuan(-fen)
    return f"{fen // 100}.{fen % 100:02d}"


def _check_amount(name: str, value: object, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if type(value) is not int or not 0 <= value <= MAX_AMOUNT:
        raise PaymentMalformed(f"{name} must be a non-negative integer of minor units", field=name)


def _check_text(name: str, value: object, *, optional: bool = False, limit: int = 128) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or not value or len(value) > limit:
        raise PaymentMalformed(f"{name} must be a non-empty string of at most {limit}", field=name)
    if _CONTROL.search(value):
        raise PaymentMalformed(f"{name} must not contain control characters", field=name)


def _no_control(text: str) -> bool:
    """Whether ``text`` has no match of :data:`_CONTROL`.

    Every character the pattern matches is in category Cc, which
    :meth:`str.isprintable` refuses: a printable text needs no search.
    """
    return text.isprintable() or _CONTROL.search(text) is None


#: The checked fields of an event, in field order: event_id, order_id, transaction_id,
#: merchant_id, refund_id, amount, payer_amount, total, refunded_total, currency, status.
_Checked = tuple[
    object, object, object, object, object, object, object, object, object, object, object
]


#: The text fields in field order: (name, longest length, may be None).
_TEXT_FIELDS = (
    ("event_id", 256, False),
    ("order_id", 128, False),
    ("transaction_id", 128, True),
    ("merchant_id", 128, True),
    ("refund_id", 128, True),
)
#: The amount fields in field order: (name, may be None).
_AMOUNT_FIELDS = (
    ("amount", False),
    ("payer_amount", True),
    ("total", True),
    ("refunded_total", True),
)


def _check_fields(fields: _Checked) -> None:
    """Check each field in turn; raise :class:`PaymentMalformed` on the first bad one."""
    for (name, limit, optional), value in zip(_TEXT_FIELDS, fields[:5], strict=True):
        _check_text(name, value, optional=optional, limit=limit)
    for (name, optional), value in zip(_AMOUNT_FIELDS, fields[5:9], strict=True):
        _check_amount(name, value, optional=optional)
    currency, status = fields[9:]
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
        raise PaymentMalformed("currency must be an upper-case ISO 4217 code")
    if not isinstance(status, str) or len(status) > 64:
        raise PaymentMalformed("status must be a short string")


@dataclass(frozen=True, init=False)
class PaymentEvent:
    """One verified provider callback, normalised.

    Frozen and valid by construction (a bad field raises
    :class:`~govkit.errors.PaymentMalformed`). Amounts are integer minor units (fen
    for CNY) and never floats.

    The constructor checks every field, then fills the instance in one step
    (``vars(self).update``) rather than the frozen dataclass's fifteen
    ``object.__setattr__`` calls: an event is built on every callback. Assignment
    afterwards still raises :class:`dataclasses.FrozenInstanceError`.

    Attributes:
        provider: which provider sent it.
        event_id: the provider's id of this notification (WeChat ``id``, Alipay
            ``notify_id``, UnionPay ``queryId``, Stripe ``evt_...``, ``webhook-id``).
        kind: what happened.
        order_id: the merchant's order number (``out_trade_no``, ``orderId``).
        transaction_id: the provider's transaction number, when given.
        amount: the money this event moves: the paid amount, or the refunded amount.
        currency: ISO 4217 code, upper case.
        payer_amount: what the payer actually paid (after coupons), when given.
        total: the order's total, when the callback states it (refunds do).
        refunded_total: everything refunded on the order so far, when the provider
            states it (Alipay's ``refund_fee`` is cumulative).
        occurred_at: when it happened at the provider, UTC.
        merchant_id: the merchant or app id the callback names (``mchid``, ``app_id``).
        refund_id: the refund's own id, for refund events.
        status: the provider's own status word (``SUCCESS``, ``TRADE_FINISHED``).
        raw: the verified payload as a read-only mapping (decrypted for WeChat).
    """

    provider: Provider
    event_id: str
    kind: EventKind
    order_id: str
    amount: int
    currency: str
    occurred_at: datetime
    transaction_id: str | None = None
    payer_amount: int | None = None
    total: int | None = None
    refunded_total: int | None = None
    merchant_id: str | None = None
    refund_id: str | None = None
    status: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __init__(  # noqa: PLR0917 - the dataclass's positional order, kept for callers
        self,
        provider: Provider | str,
        event_id: str,
        kind: EventKind | str,
        order_id: str,
        amount: int,
        currency: str,
        occurred_at: datetime,
        transaction_id: str | None = None,
        payer_amount: int | None = None,
        total: int | None = None,
        refunded_total: int | None = None,
        merchant_id: str | None = None,
        refund_id: str | None = None,
        status: str = "",
        raw: Mapping[str, Any] | None = None,
    ) -> None:
        if type(provider) is not Provider:
            provider = Provider(provider)
        if type(kind) is not EventKind:
            kind = EventKind(kind)
        # Plain str and int values, checked at once; anything this cannot settle
        # cheaply (a str or int subclass, a bad value) goes through _check_fields,
        # which raises on the first bad field in field order. One control-character
        # test covers every text: the pattern is a character class, so the
        # concatenation has a match exactly when some field has one.
        if not (
            type(event_id) is str
            and 0 < len(event_id) <= 256
            and type(order_id) is str
            and 0 < len(order_id) <= 128
            and (
                transaction_id is None
                or (type(transaction_id) is str and 0 < len(transaction_id) <= 128)
            )
            and (merchant_id is None or (type(merchant_id) is str and 0 < len(merchant_id) <= 128))
            and (refund_id is None or (type(refund_id) is str and 0 < len(refund_id) <= 128))
            and _no_control(
                event_id
                + order_id
                + (transaction_id or "")
                + (merchant_id or "")
                + (refund_id or "")
            )
            and type(amount) is int
            and 0 <= amount <= MAX_AMOUNT
            and (
                payer_amount is None
                or (type(payer_amount) is int and 0 <= payer_amount <= MAX_AMOUNT)
            )
            and (total is None or (type(total) is int and 0 <= total <= MAX_AMOUNT))
            and (
                refunded_total is None
                or (type(refunded_total) is int and 0 <= refunded_total <= MAX_AMOUNT)
            )
            and type(currency) is str
            and len(currency) == 3
            and currency.isascii()
            and currency.isalpha()
            and currency.isupper()  # with the three above: exactly [A-Z]{3}
            and type(status) is str
            and len(status) <= 64
        ):
            _check_fields(
                (
                    event_id,
                    order_id,
                    transaction_id,
                    merchant_id,
                    refund_id,
                    amount,
                    payer_amount,
                    total,
                    refunded_total,
                    currency,
                    status,
                )
            )
        if type(occurred_at) is not datetime or occurred_at.tzinfo is not UTC:
            try:
                occurred_at = require_aware(occurred_at, "occurred_at")
            except NaiveDatetimeError:
                raise
            except ClockError:  # a provider's time that UTC cannot hold (year 1 at +08:00)
                raise PaymentMalformed(
                    "occurred_at is out of the representable range in UTC", field="occurred_at"
                ) from None
        vars(self).update(
            provider=provider,
            event_id=event_id,
            kind=kind,
            order_id=order_id,
            amount=amount,
            currency=currency,
            occurred_at=occurred_at,
            transaction_id=transaction_id,
            payer_amount=payer_amount,
            total=total,
            refunded_total=refunded_total,
            merchant_id=merchant_id,
            refund_id=refund_id,
            status=status,
            raw=MappingProxyType({} if raw is None else dict(raw)),
        )

    @property
    def dedup_key(self) -> str:
        """What makes two deliveries "the same event" for the inbox's unique key.

        The event id for WeChat Pay, Stripe and Standard Webhooks; for Alipay and
        UnionPay, whose notification ids are not a reliable identity, the order id,
        the status and (for refunds) the refund id.
        """
        if self.provider in (Provider.ALIPAY, Provider.UNIONPAY):
            return f"{self.order_id}|{self.status}|{self.refund_id or ''}"
        return self.event_id

    @property
    def idempotency_key(self) -> str:
        """``provider:dedup_key``: the same for every delivery of this event.

        Hand it to whatever an at-least-once handler calls (a payment service's
        ``Idempotency-Key``, a unique column of another database) so that a second
        run of the handler is recognised there.

        >>> from datetime import datetime, timezone
        >>> PaymentEvent(provider="stripe", event_id="evt_1", kind="paid", order_id="G-1",
        ...              amount=100, currency="CNY",
        ...              occurred_at=datetime(2026, 5, 1, tzinfo=timezone.utc)).idempotency_key
        'stripe:evt_1'
        """
        return f"{self.provider}:{self.dedup_key}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (without ``raw``)."""
        return {
            "provider": str(self.provider),
            "event_id": self.event_id,
            "kind": str(self.kind),
            "order_id": self.order_id,
            "transaction_id": self.transaction_id,
            "amount": self.amount,
            "currency": self.currency,
            "payer_amount": self.payer_amount,
            "total": self.total,
            "refunded_total": self.refunded_total,
            "merchant_id": self.merchant_id,
            "refund_id": self.refund_id,
            "status": self.status,
            "occurred_at": self.occurred_at.astimezone(UTC).isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """The exact HTTP answer a provider expects: status, body and content type."""

    status: int
    body: bytes = b""
    content_type: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the provider reads this answer as "received, stop retrying"."""
        return 200 <= self.status < 300 and self.body != b"fail"

    @property
    def headers(self) -> dict[str, str]:
        """Response headers (only ``Content-Type`` when there is a body)."""
        return {"Content-Type": self.content_type} if self.content_type else {}

    @classmethod
    def json_failure(cls, status: int, message: str) -> Acknowledgement:
        """A 4xx/5xx with WeChat's ``{"code": "FAIL", "message": ...}`` body."""
        body = json.dumps({"code": "FAIL", "message": message}, ensure_ascii=False)
        return cls(status, body.encode("utf-8"), "application/json")


@runtime_checkable
class PaymentProvider(Protocol):
    """What every provider adapter offers: verify and normalise, then answer."""

    @property
    def provider(self) -> Provider:
        """Which provider this adapter verifies."""
        ...

    def parse(
        self, headers: Mapping[str, str], body: bytes, *, at: datetime | None = None
    ) -> PaymentEvent:
        """Verify the raw callback and return the normalised event, or raise."""
        ...

    def acknowledge(self) -> Acknowledgement:
        """The answer that tells the provider "received, stop retrying"."""
        ...

    def reject(self, *, retry: bool) -> Acknowledgement:
        """The answer for a refused (``retry=False``) or failed (``retry=True``) delivery."""
        ...


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup (WSGI ``HTTP_X_Y`` spellings included)."""
    value = headers.get(name)
    if value is not None:
        return value
    lower = name.lower()
    wsgi = "HTTP_" + name.upper().replace("-", "_")
    for key, candidate in headers.items():
        if key.lower() == lower or key == wsgi:
            return candidate
    return None


def utc_from_unix(seconds: int) -> datetime:
    """Aware UTC datetime from Unix seconds (malformed if out of range)."""
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise PaymentMalformed("a timestamp is out of range") from None


def parse_unix(text: str | None, what: str) -> int:
    """A decimal Unix timestamp header, strictly (digits only, at most 12)."""
    if text is None or not text.isascii() or not text.isdigit() or len(text) > 12:
        raise PaymentMalformed(f"{what} is missing or not a Unix timestamp")
    return int(text)
