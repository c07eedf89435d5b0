"""Alipay asynchronous notifications (``notify_url``): RSA2 over the sorted parameters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Final, TypeAlias
from urllib.parse import parse_qsl

from govkit.clock import Clock, SystemClock, resolve_time
from govkit.errors import (
    PaymentMalformed,
    PaymentMerchantMismatch,
    PaymentSignatureInvalid,
)
from govkit.keys import KeyRecord, KeyRing, VerifyingKey
from govkit.payments._crypto import b64decode_strict
from govkit.payments._event import (
    Acknowledgement,
    EventKind,
    PaymentEvent,
    Provider,
    yuan_to_fen,
)
from govkit.payments._keys import AlipayCertificates, ProviderKeys
from govkit.payments._report import (
    CALLBACK_CHECKS,
    NO_SIGNED_TIME,
    CallbackReport,
    inspect_callback,
)

__all__ = ["Alipay", "AlipayKeys", "alipay_content", "form_charset", "parse_form"]

#: China Standard Time: Alipay's and UnionPay's local times carry no offset.
CST: Final = timezone(timedelta(hours=8), "CST")
_CHARSETS: Final = {"utf-8": "utf-8", "utf8": "utf-8", "gbk": "gbk", "gb2312": "gbk"}
_MAX_BODY = 64 * 1024

#: What the Alipay adapters take as the Alipay public key: a key from
#: :func:`~govkit.payments.load_alipay_public_key`, the certificate mode's
#: :class:`~govkit.payments.AlipayCertificates`, or keys with validity windows (a
#: :class:`~govkit.keys.KeyRecord`, a list of them, or a :class:`~govkit.keys.KeyRing`;
#: each key valid at the time is tried).
AlipayKeys: TypeAlias = (
    VerifyingKey | AlipayCertificates | KeyRecord | KeyRing | Sequence[KeyRecord]
)


def alipay_keys(keys: AlipayKeys) -> ProviderKeys:
    """The adapters' key set for Alipay's public key(s), checked at configuration time."""
    if isinstance(keys, AlipayCertificates):
        return ProviderKeys(keys.alipay_key, "Alipay")
    return ProviderKeys(keys, "Alipay")


def form_charset(body: bytes, field: str = "charset", default: str = "utf-8") -> str:
    """The charset a form body declares in ``field`` (``utf-8`` or ``gbk``)."""
    marker = field.encode("ascii") + b"="
    for part in body.split(b"&"):
        if part.startswith(marker):
            name = part[len(marker) :].decode("ascii", "replace").strip().lower()
            charset = _CHARSETS.get(name)
            if charset is None:
                raise PaymentMalformed("the notification declares an unsupported charset")
            return charset
    return default


def parse_form(body: bytes, charset: str) -> dict[str, str]:
    """Strictly parse ``application/x-www-form-urlencoded`` bytes in ``charset``.

    Repeated names are malformed: a verifier and a handler must never see different values.
    """
    if not isinstance(body, bytes) or not body or len(body) > _MAX_BODY:
        raise PaymentMalformed("the body is missing or too large")
    try:
        text = body.decode(charset)
        pairs = parse_qsl(
            text, keep_blank_values=True, strict_parsing=True, encoding=charset, errors="strict"
        )
    except (UnicodeDecodeError, ValueError):
        raise PaymentMalformed("the body is not a form in its declared charset") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise PaymentMalformed("the form repeats a parameter", parameter=name[:64])
        form[name] = value
    return form


def alipay_content(params: Mapping[str, str]) -> str:
    """The string Alipay signs: every parameter but ``sign``/``sign_type``, sorted, ``k=v&...``.

    Empty values are kept (as Alipay's own ``rsaCheckV1`` does).

    >>> alipay_content({"b": "2", "a": "1", "sign": "x", "sign_type": "RSA2", "c": ""})
    'a=1&b=2&c='
    """
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k not in ("sign", "sign_type"))


def _local_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CST)
    except ValueError:
        raise PaymentMalformed("a time is not 'YYYY-MM-DD HH:MM:SS'") from None


class Alipay:
    """Verifies and normalises Alipay asynchronous notifications.

    The signature (``sign_type=RSA2``: SHA256withRSA) covers every received
    parameter except ``sign`` and ``sign_type``, sorted, joined ``k=v`` with ``&``,
    encoded in the declared ``charset`` (``utf-8`` or ``gbk``). In certificate mode
    pass the Alipay public-key certificate (``alipayCertPublicKey_RSA2.crt``): its
    validity period is checked too. Alipay signs no timestamp, so there is no replay
    window: the inbox's unique key stops replays.

    Keys are :mod:`govkit.keys` objects (``RS256``): load the key the Alipay console
    shows with :func:`~govkit.payments.load_alipay_public_key`, or the certificate
    mode's three files with :func:`~govkit.payments.load_alipay_certificates`.

    Args:
        alipay_public_key: the *Alipay* public key (not the app's own), as
            :data:`AlipayKeys`.
        app_id: the app's id; a notification for another app is refused.
        seller_id: when given, the seller (``seller_id``) must match too.
        clock: time source (certificate validity).
        unsafe_allow_rsa_sha1: also accept legacy ``sign_type=RSA`` (SHA1withRSA).
    """

    provider: Final = Provider.ALIPAY

    def __init__(
        self,
        alipay_public_key: AlipayKeys,
        app_id: str,
        *,
        seller_id: str | None = None,
        clock: Clock | None = None,
        unsafe_allow_rsa_sha1: bool = False,
    ) -> None:
        self._keys = alipay_keys(alipay_public_key)
        self._app_id = app_id
        self._seller_id = seller_id
        self._clock = clock or SystemClock()
        self._allow_sha1 = unsafe_allow_rsa_sha1

    def parse(
        self, headers: Mapping[str, str], body: bytes, *, at: datetime | None = None
    ) -> PaymentEvent:
        """Verify a notification and return its event.

        Raises:
            PaymentMalformed: not a form, an unsupported charset or sign type, missing fields.
            PaymentKeyUnknown: certificate mode and the certificate is not valid now.
            PaymentSignatureInvalid: the signature does not verify.
            PaymentMerchantMismatch: the notification is for another app or seller.
        """
        now = resolve_time(self._clock, at)
        charset = form_charset(body if isinstance(body, bytes) else b"")
        params = parse_form(body, charset)
        sign_type = params.get("sign_type", "RSA2")
        if sign_type == "RSA2":
            sha1 = False
        elif sign_type == "RSA" and self._allow_sha1:
            sha1 = True  # opt-in legacy SHA1withRSA, named unsafe_*
        else:
            raise PaymentMalformed("the notification's sign_type is not accepted")
        signature = params.get("sign")
        if not signature:
            raise PaymentSignatureInvalid("the notification is not signed")
        # parse_form decoded every name and value strictly from this charset (UTF-8 or
        # GBK, both of which encode back whatever they decode), so this cannot fail
        content = alipay_content(params).encode(charset)
        self._keys.verify(b64decode_strict(signature, "the sign"), content, now, sha1=sha1)
        if params.get("app_id") != self._app_id:
            raise PaymentMerchantMismatch("the notification is for another app")
        if self._seller_id is not None and params.get("seller_id") != self._seller_id:
            raise PaymentMerchantMismatch("the notification is for another seller")
        return _normalise(params)

    def inspect(
        self, headers: Mapping[str, str], body: bytes, *, at: datetime | None = None
    ) -> CallbackReport:
        """Run :meth:`parse`'s checks and report them instead of raising.

        The checks are :data:`~govkit.payments.CALLBACK_CHECKS` for this provider; see
        :class:`~govkit.payments.CallbackReport`. Only a
        :class:`~govkit.errors.PaymentVerificationError` becomes a failed check.
        """
        return inspect_callback(
            self,
            headers,
            body,
            at=at,
            checks=CALLBACK_CHECKS[self.provider],
            unchecked={"timestamp": NO_SIGNED_TIME.format(name="Alipay")},
        )

    def acknowledge(self) -> Acknowledgement:
        """HTTP 200 with the body ``success`` (exactly seven bytes)."""
        return Acknowledgement(200, b"success", "text/plain")

    def reject(self, *, retry: bool) -> Acknowledgement:
        """Anything but ``success`` makes Alipay retry: ``fail`` with a 4xx or 5xx."""
        return Acknowledgement(500 if retry else 400, b"fail", "text/plain")

    def __repr__(self) -> str:
        return f"Alipay(app_id={self._app_id!r})"


def _required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise PaymentMalformed(f"the notification lacks {name}", field=name)
    return value


def _normalise(params: dict[str, str]) -> PaymentEvent:
    status = _required(params, "trade_status")
    total = yuan_to_fen(_required(params, "total_amount"))
    refund_fee = params.get("refund_fee")
    refunded = yuan_to_fen(refund_fee) if refund_fee else None
    refund_id = params.get("out_biz_no") or None
    if refunded is not None and refunded > 0 and status in ("TRADE_SUCCESS", "TRADE_CLOSED"):
        kind = EventKind.REFUNDED if refunded >= total else EventKind.PARTIALLY_REFUNDED
        amount = refunded
        when = _local_time(params.get("gmt_refund"))
    elif status in ("TRADE_SUCCESS", "TRADE_FINISHED"):
        kind, amount, refunded = EventKind.PAID, total, None
        when = _local_time(params.get("gmt_payment"))
    elif status == "TRADE_CLOSED":
        kind, amount, refunded = EventKind.CLOSED, total, None
        when = _local_time(params.get("gmt_close"))
    else:
        kind, amount, refunded = EventKind.OTHER, total, None
        when = None
    when = when or _local_time(_required(params, "notify_time"))
    assert when is not None  # noqa: S101 - _required returned a value
    payer = params.get("buyer_pay_amount")
    return PaymentEvent(
        provider=Provider.ALIPAY,
        event_id=_required(params, "notify_id"),
        kind=kind,
        order_id=_required(params, "out_trade_no"),
        transaction_id=params.get("trade_no") or None,
        amount=amount,
        currency=params.get("trans_currency") or "CNY",
        payer_amount=yuan_to_fen(payer) if payer else None,
        total=total,
        refunded_total=refunded,
        occurred_at=when,
        merchant_id=params.get("app_id") or None,
        refund_id=refund_id if kind in (EventKind.REFUNDED, EventKind.PARTIALLY_REFUNDED) else None,
        status=status[:64],
        raw=params,
    )
