"""UnionPay 全渠道 (version 5.1.0) back notifications: signMethod 01 (RSA) and 11 (SHA-256 key)."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from govkit.clock import Clock, SystemClock, resolve_time
from govkit.errors import (
    ConfigurationError,
    KeysError,
    PaymentKeyUnknown,
    PaymentMalformed,
    PaymentMerchantMismatch,
    PaymentSignatureInvalid,
)
from govkit.keys import VerifyingKey
from govkit.payments._alipay import CST, form_charset, parse_form
from govkit.payments._crypto import b64decode_strict, consteq
from govkit.payments._event import Acknowledgement, EventKind, PaymentEvent, Provider
from govkit.payments._keys import rs256_verifies
from govkit.payments._report import (
    CALLBACK_CHECKS,
    NO_SIGNED_TIME,
    CallbackReport,
    inspect_callback,
)

__all__ = ["UnionPay", "unionpay_content"]

#: The company name UnionPay's production signing certificates carry in their CN.
UNIONPAY_COMPANY: Final = "中国银联股份有限公司"
_CURRENCIES: Final = {"156": "CNY", "344": "HKD", "840": "USD", "978": "EUR"}
_PAID_CODES: Final = ("00", "A6")


def unionpay_content(params: Mapping[str, str]) -> str:
    """The string UnionPay signs: every field but ``signature``, sorted, ``k=v&...``.

    >>> unionpay_content({"txnAmt": "100", "merId": "7", "signature": "x"})
    'merId=7&txnAmt=100'
    """
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "signature")


def _company(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    cn = str(names[0].value) if names else ""
    parts = cn.split("@")
    return parts[2] if len(parts) > 2 else cn


class UnionPay:
    """Verifies and normalises UnionPay back notifications (``backUrl``).

    ``signMethod=01``: the signing certificate travels in ``signPubKeyCert``; it must
    chain (through ``intermediates``) to one of ``roots``, be valid now and name
    ``company`` in its CN. The signature is SHA256withRSA over the *lower-case hex*
    SHA-256 of the sorted ``k=v&...`` string. ``signMethod=11``: the signature is the
    hex SHA-256 of that string, ``&`` and the hex SHA-256 of ``secure_key``.

    The signing certificate's key becomes a :mod:`govkit.keys` ``RS256`` key (RSA, at
    least 2048 bits) and is verified with it. The roots and middle certificates are
    trust anchors for a chain, not keys, so they stay certificates: load UnionPay's
    ``.cer`` files with ``cryptography.x509.load_pem_x509_certificate``.

    Args:
        roots: trusted UnionPay root certificates (for ``01``).
        intermediates: UnionPay middle certificates.
        secure_key: the merchant's secure key (enables ``11``).
        mer_id: when given, a notification for another merchant is refused.
        company: the company name required in the signing certificate's CN;
            ``None`` skips the check (test environments).
        clock: time source for certificate validity.
    """

    provider: Final = Provider.UNIONPAY

    def __init__(
        self,
        *,
        roots: Sequence[x509.Certificate] = (),
        intermediates: Sequence[x509.Certificate] = (),
        secure_key: str | None = None,
        mer_id: str | None = None,
        company: str | None = UNIONPAY_COMPANY,
        clock: Clock | None = None,
    ) -> None:
        if not roots and secure_key is None:
            raise ConfigurationError("UnionPay needs trusted roots (signMethod 01) or a secure key")
        self._roots = tuple(roots)
        self._intermediates = tuple(intermediates)
        self._secure_hash = (
            hashlib.sha256(secure_key.encode("utf-8")).hexdigest() if secure_key else None
        )
        self._mer_id = mer_id
        self._company = company
        self._clock = clock or SystemClock()

    def parse(
        self, headers: Mapping[str, str], body: bytes, *, at: datetime | None = None
    ) -> PaymentEvent:
        """Verify a notification and return its event.

        Raises:
            PaymentMalformed: not a form, an unknown signMethod, missing fields.
            PaymentKeyUnknown: the signing certificate does not chain to a root, is
                expired or names another company.
            PaymentSignatureInvalid: the signature does not verify.
            PaymentMerchantMismatch: the notification is for another merchant.
        """
        now = resolve_time(self._clock, at)
        charset = form_charset(
            body if isinstance(body, bytes) else b"", field="encoding", default="utf-8"
        )
        params = parse_form(body, charset)
        signature = params.get("signature")
        if not signature:
            raise PaymentSignatureInvalid("the notification is not signed")
        # decoded strictly from this charset by parse_form: it encodes back (see Alipay)
        content = unionpay_content(params).encode(charset)
        method = params.get("signMethod")
        if method == "01" and self._roots:
            key = self._signing_key(params.get("signPubKeyCert"), now)
            digest = hashlib.sha256(content).hexdigest().encode("ascii")
            signed = b64decode_strict(signature, "the signature")
            if not rs256_verifies(key, signed, digest):  # RS256 over the hex digest
                raise PaymentSignatureInvalid("the UnionPay signature does not verify")
        elif method == "11" and self._secure_hash is not None:
            expected = hashlib.sha256(
                content + b"&" + self._secure_hash.encode("ascii")
            ).hexdigest()
            if not consteq(signature, expected):
                raise PaymentSignatureInvalid("the UnionPay signature does not verify")
        else:
            raise PaymentMalformed("the notification's signMethod is not accepted")
        if self._mer_id is not None and params.get("merId") != self._mer_id:
            raise PaymentMerchantMismatch("the notification is for another merchant")
        return _normalise(params)

    def _signing_key(self, pem: str | None, now: datetime) -> VerifyingKey:
        if not pem:
            raise PaymentMalformed("the notification has no signPubKeyCert")
        try:
            cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raise PaymentMalformed("signPubKeyCert is not a PEM certificate") from None
        chain = self._chain(cert)
        for link in (cert, *chain):
            if not link.not_valid_before_utc <= now <= link.not_valid_after_utc:
                raise PaymentKeyUnknown("a UnionPay certificate is outside its validity")
        if self._company is not None and _company(cert) != self._company:
            raise PaymentKeyUnknown("the signing certificate is not UnionPay's")
        try:  # an RS256 govkit key: RSA of at least 2048 bits
            public = cert.public_key()
            if not isinstance(public, rsa.RSAPublicKey):
                raise PaymentKeyUnknown("the signing certificate has no usable RSA key")
            return VerifyingKey(public, "RS256")
        except (KeysError, ValueError, UnsupportedAlgorithm):
            raise PaymentKeyUnknown("the signing certificate has no usable RSA key") from None

    def _chain(self, cert: x509.Certificate) -> tuple[x509.Certificate, ...]:
        """The path from ``cert``'s issuer to a trusted root (at most one middle)."""
        for root in self._roots:
            if _issued_by(cert, root):
                return (root,)
        for middle in self._intermediates:
            if _issued_by(cert, middle):
                for root in self._roots:
                    if _issued_by(middle, root):
                        return (middle, root)
        raise PaymentKeyUnknown("the signing certificate does not chain to a trusted root")

    def inspect(
        self, headers: Mapping[str, str], body: bytes, *, at: datetime | None = None
    ) -> CallbackReport:
        """Run :meth:`parse`'s checks and report them instead of raising.

        The checks are :data:`~govkit.payments.CALLBACK_CHECKS` for this provider; see
        :class:`~govkit.payments.CallbackReport`. Only a
        :class:`~govkit.errors.PaymentVerificationError` becomes a failed check.
        """
        unchecked = {"timestamp": NO_SIGNED_TIME.format(name="UnionPay")}
        if self._mer_id is None:
            unchecked["merchant"] = "no mer_id configured"
        return inspect_callback(
            self, headers, body, at=at, checks=CALLBACK_CHECKS[self.provider], unchecked=unchecked
        )

    def acknowledge(self) -> Acknowledgement:
        """HTTP 200 (UnionPay reads any 200 as received)."""
        return Acknowledgement(200, b"ok", "text/plain")

    def reject(self, *, retry: bool) -> Acknowledgement:
        """A 4xx (refused) or 5xx (retry)."""
        return Acknowledgement(500 if retry else 400, b"fail", "text/plain")

    def __repr__(self) -> str:
        return f"UnionPay(mer_id={self._mer_id!r}, roots={len(self._roots)})"


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):  # another issuer, key type or forged
        return False
    return True


def _required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise PaymentMalformed(f"the notification lacks {name}", field=name)
    return value


def _normalise(params: dict[str, str]) -> PaymentEvent:
    txn_type = _required(params, "txnType")
    code = _required(params, "respCode")
    amount_text = _required(params, "txnAmt")
    if not amount_text.isascii() or not amount_text.isdigit() or len(amount_text) > 15:
        raise PaymentMalformed("txnAmt is not an integer amount in fen")
    stamp = _required(params, "txnTime")
    when = None
    # exactly 14 ASCII digits: strptime alone reads "202605011559" as 15:05:09
    if len(stamp) == 14 and stamp.isascii() and stamp.isdigit():
        with contextlib.suppress(ValueError):  # a month 13, a day 32...
            when = datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(tzinfo=CST)
    if when is None:
        raise PaymentMalformed("txnTime is not YYYYMMDDhhmmss")
    ok = code in _PAID_CODES
    if txn_type == "01":
        kind = EventKind.PAID if ok else EventKind.FAILED
        transaction_id = params.get("queryId") or None
        refund_id = None
    elif txn_type in ("04", "31"):
        kind = EventKind.REFUNDED if ok else EventKind.FAILED
        transaction_id = params.get("origQryId") or None
        refund_id = params.get("orderId") or None
    else:
        kind, transaction_id, refund_id = EventKind.OTHER, params.get("queryId") or None, None
    currency = _CURRENCIES.get(params.get("currencyCode", "156"))
    if currency is None:
        raise PaymentMalformed("the currencyCode is not supported")
    return PaymentEvent(
        provider=Provider.UNIONPAY,
        event_id=_required(params, "queryId"),
        kind=kind,
        order_id=_required(params, "orderId"),
        transaction_id=transaction_id,
        amount=int(amount_text),
        currency=currency,
        occurred_at=when,
        merchant_id=params.get("merId") or None,
        refund_id=refund_id,
        status=f"{txn_type}:{code}"[:64],
        raw=params,
    )
