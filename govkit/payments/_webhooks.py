"""HMAC-signed webhooks: Stripe (``Stripe-Signature``) and Standard Webhooks (``webhook-*``)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from govkit._json import loads_object
from govkit.clock import Clock, SystemClock, resolve_time
from govkit.errors import (
    ConfigurationError,
    InvalidKey,
    InvalidSignature,
    PaymentMalformed,
    PaymentSignatureInvalid,
    PaymentTimestampStale,
)
from govkit.keys import KeyRecord, KeyRing, VerifyingKey
from govkit.payments._event import (
    Acknowledgement,
    EventKind,
    PaymentEvent,
    Provider,
    header,
    parse_unix,
    utc_from_unix,
)
from govkit.payments._keys import is_valid_at, load_standard_webhooks_public_key, provider_records
from govkit.payments._report import CALLBACK_CHECKS, CallbackReport, inspect_callback

__all__ = ["StandardWebhooks", "Stripe"]

_MAX_BODY = 256 * 1024
_NO_CURRENCY: Final = "XXX"  # ISO 4217: "no currency involved"


def _check_window(now: datetime, timestamp: int, tolerance: float) -> None:
    if abs(now.timestamp() - timestamp) > tolerance:
        raise PaymentTimestampStale(
            "the webhook timestamp is outside the tolerance",
            skew=int(now.timestamp()) - timestamp,
        )


def _body(body: object) -> bytes:
    if not isinstance(body, bytes) or len(body) > _MAX_BODY:
        raise PaymentMalformed("the body is missing or too large")
    return body


class Stripe:
    """Verifies and normalises Stripe webhooks.

    ``Stripe-Signature: t=<unix>,v1=<hex>[,v1=...]``: the HMAC-SHA256, keyed with the
    whole ``whsec_...`` secret, of ``t.`` + the raw body. Any configured secret may
    match any ``v1`` (secret rotation); other schemes (``v0``) are ignored. Unlike
    stripe-python, the tolerance applies in both directions.

    Args:
        secrets: the endpoint's signing secrets, newest first.
        clock: time source.
        tolerance: the allowed distance between ``t`` and now (300 s).
    """

    provider: Final = Provider.STRIPE

    def __init__(
        self,
        secrets: Sequence[str],
        *,
        clock: Clock | None = None,
        tolerance: timedelta = timedelta(seconds=300),
    ) -> None:
        if (
            isinstance(secrets, str)
            or not secrets
            or not all(isinstance(s, str) and s for s in secrets)
        ):
            raise ConfigurationError("Stripe needs a non-empty list of signing secrets")
        self._keys = tuple(s.encode("utf-8") for s in secrets)
        self._clock = clock or SystemClock()
        self._tolerance = tolerance.total_seconds()

    def parse(
        self, headers: Mapping[str, str], body: bytes, *, at: datetime | None = None
    ) -> PaymentEvent:
        """Verify a webhook and return its event.

        Raises:
            PaymentMalformed: no or a malformed ``Stripe-Signature``; bad JSON, or
                JSON with a repeated member name, ``NaN`` or ``Infinity``.
            PaymentSignatureInvalid: no ``v1`` matches any secret.
            PaymentTimestampStale: ``t`` is outside the tolerance.
        """
        now = resolve_time(self._clock, at)
        value = header(headers, "Stripe-Signature")
        if value is None or len(value) > 4096:
            raise PaymentMalformed("the Stripe-Signature header is missing")
        stamps: list[str] = []
        candidates: list[str] = []
        for item in value.split(","):
            name, sep, part = item.strip().partition("=")
            if not sep:
                raise PaymentMalformed("the Stripe-Signature header is malformed")
            if name == "t":
                stamps.append(part)
            elif name == "v1":
                candidates.append(part)
        if len(stamps) != 1:
            raise PaymentMalformed("the Stripe-Signature header needs exactly one t=")
        timestamp = parse_unix(stamps[0], "the Stripe-Signature timestamp")
        signed = stamps[0].encode("ascii") + b"." + _body(body)
        expected = [hmac.new(k, signed, hashlib.sha256).hexdigest().encode() for k in self._keys]
        if not any(
            hmac.compare_digest(e, c.encode("ascii", "replace"))
            for e in expected
            for c in candidates
        ):
            raise PaymentSignatureInvalid("no v1 signature matches a Stripe signing secret")
        _check_window(now, timestamp, self._tolerance)
        # Strict: a duplicate member (two "amount"s under one valid signature), NaN or
        # Infinity is malformed, where stripe-python's json.loads keeps the last one.
        # Stripe objects carry floats (percent_off, exchange_rate), so those are allowed.
        event = loads_object(
            body, what="the Stripe event", error=PaymentMalformed, allow_floats=True
        )
        return _stripe_event(event)

    def inspect(
        self, headers: Mapping[str, str], body: bytes, *, at: datetime | None = None
    ) -> CallbackReport:
        """Run :meth:`parse`'s checks and report them instead of raising.

        The checks are :data:`~govkit.payments.CALLBACK_CHECKS` for this provider; see
        :class:`~govkit.payments.CallbackReport`. Only a
        :class:`~govkit.errors.PaymentVerificationError` becomes a failed check.
        """
        return inspect_callback(self, headers, body, at=at, checks=CALLBACK_CHECKS[self.provider])

    def acknowledge(self) -> Acknowledgement:
        """HTTP 200."""
        return Acknowledgement(200)

    def reject(self, *, retry: bool) -> Acknowledgement:
        """HTTP 400 (refused) or 500 (retry)."""
        return Acknowledgement(500 if retry else 400)

    def __repr__(self) -> str:
        return f"Stripe({len(self._keys)} secrets)"


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _amount(value: object, what: str) -> int:
    if type(value) is not int or value < 0:
        raise PaymentMalformed(f"{what} is not a non-negative integer", field=what)
    return value


def _currency(value: object) -> str:
    return value.upper() if isinstance(value, str) and len(value) == 3 else _NO_CURRENCY


def _stripe_event(event: dict[str, Any]) -> PaymentEvent:
    event_id, kind_name, created = event.get("id"), event.get("type"), event.get("created")
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(event_id, str) or not isinstance(kind_name, str) or not isinstance(obj, dict):
        raise PaymentMalformed("the Stripe event lacks id, type or data.object")
    if type(created) is not int:
        raise PaymentMalformed("the Stripe event lacks created")
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    assert isinstance(metadata, dict)  # noqa: S101 - narrowed above
    order_id = _str(metadata.get("order_id")) or _str(obj.get("client_reference_id"))
    object_id = _str(obj.get("id"))
    transaction = _str(obj.get("payment_intent")) or object_id
    refunded: int | None = None
    total: int | None = None
    if kind_name == "payment_intent.succeeded":
        kind = EventKind.PAID
        amount = _amount(obj.get("amount_received", obj.get("amount")), "amount_received")
        transaction = object_id
    elif kind_name == "checkout.session.completed":
        kind = EventKind.PAID
        amount = _amount(obj.get("amount_total"), "amount_total")
    elif kind_name in ("payment_intent.payment_failed", "payment_intent.canceled"):
        kind = EventKind.FAILED if kind_name.endswith("failed") else EventKind.CLOSED
        amount = _amount(obj.get("amount", 0), "amount")
        transaction = object_id
    elif kind_name == "charge.refunded":
        total = _amount(obj.get("amount"), "amount")
        refunded = _amount(obj.get("amount_refunded"), "amount_refunded")
        kind = EventKind.REFUNDED if refunded >= total else EventKind.PARTIALLY_REFUNDED
        amount = refunded
    else:
        kind, amount = EventKind.OTHER, 0
    return PaymentEvent(
        provider=Provider.STRIPE,
        event_id=event_id,
        kind=kind,
        order_id=order_id or transaction or event_id,
        transaction_id=transaction,
        amount=amount,
        currency=_currency(obj.get("currency")),
        total=total,
        refunded_total=refunded,
        occurred_at=utc_from_unix(created),
        merchant_id=_str(event.get("account")),
        status=kind_name[:64],
        raw=event,
    )


def _hmac_key(secret: str) -> bytes:
    text = secret.removeprefix("whsec_")
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError("a Standard Webhooks secret is not whsec_ + base64") from None
    if not 16 <= len(key) <= 128:
        raise ConfigurationError("a Standard Webhooks secret must decode to 16-128 bytes")
    return key


def _ed25519_records(
    public_keys: Sequence[str | VerifyingKey | KeyRecord] | KeyRing,
) -> tuple[KeyRecord, ...]:
    """The ``v1a`` keys as EdDSA key records; ``whpk_`` strings are loaded here."""
    if isinstance(public_keys, KeyRing):
        return provider_records(public_keys, "Standard Webhooks v1a", alg="EdDSA")
    if isinstance(public_keys, str):
        raise ConfigurationError("public_keys must be a list of keys, not one string")
    loaded: list[object] = []
    for value in public_keys:
        if not isinstance(value, str):
            loaded.append(value)
            continue
        try:
            loaded.append(load_standard_webhooks_public_key(value))
        except InvalidKey:
            raise ConfigurationError("a whpk_ key is not base64 of 32 bytes") from None
    if not loaded:
        return ()
    return provider_records(loaded, "Standard Webhooks v1a", alg="EdDSA")


class StandardWebhooks:
    """Verifies Standard Webhooks (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``).

    The signed content is ``{id}.{timestamp}.{body}``; ``webhook-signature`` is a
    space-separated list of ``v1,<base64 HMAC-SHA256>`` and ``v1a,<base64 Ed25519>``.
    The payload follows govkit's payment profile: ``{"type": "payment.paid",
    "data": {"order_id", "amount", "currency", ...}}``; other types are
    :attr:`~govkit.payments.EventKind.OTHER`.

    Args:
        secrets: ``whsec_...`` HMAC secrets (``v1``).
        public_keys: the ``v1a`` keys: Ed25519 (``EdDSA``)
            :class:`~govkit.keys.VerifyingKey` objects, ``whpk_...`` strings (loaded
            with :func:`~govkit.payments.load_standard_webhooks_public_key`), key
            records with validity windows, or a :class:`~govkit.keys.KeyRing`.
        clock: time source.
        tolerance: the replay window, both directions (300 s).
    """

    provider: Final = Provider.STANDARD_WEBHOOKS

    def __init__(
        self,
        secrets: Sequence[str] = (),
        *,
        public_keys: Sequence[str | VerifyingKey | KeyRecord] | KeyRing = (),
        clock: Clock | None = None,
        tolerance: timedelta = timedelta(seconds=300),
    ) -> None:
        if isinstance(secrets, str):
            raise ConfigurationError("secrets must be a list of whsec_ strings")
        self._hmac_keys = tuple(_hmac_key(s) for s in secrets)
        self._ed_keys = _ed25519_records(public_keys)
        if not self._hmac_keys and not self._ed_keys:
            raise ConfigurationError("Standard Webhooks needs a secret or a public key")
        self._clock = clock or SystemClock()
        self._tolerance = tolerance.total_seconds()

    def verify(
        self, headers: Mapping[str, str], body: bytes, *, at: datetime | None = None
    ) -> tuple[str, int]:
        """Check the signature and the window; return ``(webhook-id, timestamp)``.

        Raises:
            PaymentMalformed: a header is missing or malformed.
            PaymentSignatureInvalid: no signature matches a key.
            PaymentTimestampStale: outside the window.
        """
        now = resolve_time(self._clock, at)
        msg_id = header(headers, "webhook-id")
        stamp = header(headers, "webhook-timestamp")
        value = header(headers, "webhook-signature")
        if not msg_id or len(msg_id) > 256 or "." in msg_id or value is None:
            raise PaymentMalformed("the webhook-id or webhook-signature header is missing")
        timestamp = parse_unix(stamp, "webhook-timestamp")
        signed = f"{msg_id}.{stamp}.".encode() + _body(body)
        mac_expected = [
            base64.b64encode(hmac.new(k, signed, hashlib.sha256).digest()) for k in self._hmac_keys
        ]
        for item in value.split(" "):
            version, sep, sig = item.partition(",")
            if not sep:
                continue
            if version == "v1" and any(
                hmac.compare_digest(e, sig.encode("ascii", "replace")) for e in mac_expected
            ):
                break
            if version == "v1a" and self._ed_keys and self._ed_ok(sig, signed, now):
                break
        else:
            raise PaymentSignatureInvalid("no webhook signature matches a configured key")
        _check_window(now, timestamp, self._tolerance)
        return msg_id, timestamp

    def _ed_ok(self, sig: str, signed: bytes, now: datetime) -> bool:
        try:
            raw = base64.b64decode(sig, validate=True)
        except (binascii.Error, ValueError):
            return False
        for record in self._ed_keys:
            if not is_valid_at(record, now):
                continue
            try:
                record.key.verify(raw, signed)
            except InvalidSignature:
                continue
            return True
        return False

    def parse(
        self, headers: Mapping[str, str], body: bytes, *, at: datetime | None = None
    ) -> PaymentEvent:
        """Verify a webhook and return its event (see :meth:`verify` for the errors)."""
        msg_id, timestamp = self.verify(headers, body, at=at)
        payload = loads_object(
            body, what="the webhook payload", error=PaymentMalformed, allow_floats=True
        )
        kind_name = payload.get("type")
        data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
        assert isinstance(data, dict)  # noqa: S101 - narrowed above
        kind = EventKind.OTHER
        if isinstance(kind_name, str) and kind_name.startswith("payment."):
            try:
                kind = EventKind(kind_name.removeprefix("payment."))
            except ValueError:
                kind = EventKind.OTHER
        when = utc_from_unix(timestamp)
        stated = payload.get("timestamp")
        if isinstance(stated, str):
            try:
                parsed = datetime.fromisoformat(stated)
            except ValueError:
                raise PaymentMalformed("the payload timestamp is not RFC 3339") from None
            if parsed.tzinfo is not None:
                when = parsed
        if kind is EventKind.OTHER:
            order_id, amount, currency = _str(data.get("order_id")) or msg_id, 0, _NO_CURRENCY
        else:
            order_id = _str(data.get("order_id")) or ""
            amount = _amount(data.get("amount"), "data.amount")
            stated_currency = data.get("currency")
            currency = stated_currency if isinstance(stated_currency, str) else ""
        optional = {k: data.get(k) for k in ("payer_amount", "total", "refunded_total")}
        return PaymentEvent(
            provider=Provider.STANDARD_WEBHOOKS,
            event_id=msg_id,
            kind=kind,
            order_id=order_id,
            transaction_id=_str(data.get("transaction_id")),
            amount=amount,
            currency=str(currency),
            payer_amount=None if optional["payer_amount"] is None else optional["payer_amount"],
            total=None if optional["total"] is None else optional["total"],
            refunded_total=optional["refunded_total"],
            occurred_at=when,
            merchant_id=_str(data.get("merchant_id")),
            refund_id=_str(data.get("refund_id")),
            status=kind_name[:64] if isinstance(kind_name, str) else "",
            raw=payload,
        )

    def inspect(
        self, headers: Mapping[str, str], body: bytes, *, at: datetime | None = None
    ) -> CallbackReport:
        """Run :meth:`parse`'s checks and report them instead of raising.

        The checks are :data:`~govkit.payments.CALLBACK_CHECKS` for this provider; see
        :class:`~govkit.payments.CallbackReport`. Only a
        :class:`~govkit.errors.PaymentVerificationError` becomes a failed check.
        """
        return inspect_callback(self, headers, body, at=at, checks=CALLBACK_CHECKS[self.provider])

    def acknowledge(self) -> Acknowledgement:
        """HTTP 204."""
        return Acknowledgement(204)

    def reject(self, *, retry: bool) -> Acknowledgement:
        """HTTP 400 (refused) or 500 (retry)."""
        return Acknowledgement(500 if retry else 400)

    def __repr__(self) -> str:
        return f"StandardWebhooks({len(self._hmac_keys)} secrets, {len(self._ed_keys)} keys)"
