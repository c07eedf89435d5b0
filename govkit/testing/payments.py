"""Signed payment callbacks for applications' own tests, one maker per provider.

>>> from datetime import datetime, timezone
>>> from govkit.keys import SigningKey
>>> from govkit.payments import WeChatPayV3
>>> from govkit.testing.payments import wechat_callback
>>> now = datetime(2026, 5, 1, 8, 0, tzinfo=timezone.utc)
>>> platform = SigningKey.generate("RS256")
>>> apiv3 = "0123456789abcdef0123456789abcdef"
>>> headers, body = wechat_callback(platform, "PUB_KEY_ID_0001", apiv3,
...                                 order_id="GOV-1", amount=100, at=now)
>>> adapter = WeChatPayV3(apiv3, {"PUB_KEY_ID_0001": platform.verifying_key})
>>> adapter.parse(headers, body, at=now).amount
100

Every maker returns ``(headers, body)`` exactly as the provider would send them:
the body as raw bytes, signed once and never re-serialised. The recipes are the
providers' published ones (see the payments guide); peer SDKs accept the output.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote_plus

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from govkit.keys import SigningKey
from govkit.payments import alipay_content, fen_to_yuan, unionpay_content

__all__ = [
    "AlipayTestPki",
    "UnionPayTestPki",
    "alipay_callback",
    "alipay_test_pki",
    "make_certificate",
    "standard_webhooks_callback",
    "stripe_callback",
    "unionpay_callback",
    "unionpay_test_pki",
    "wechat_callback",
    "wechat_refund_callback",
]

Headers = dict[str, str]


def _now(at: datetime | None) -> datetime:
    return (at or datetime.now(UTC)).astimezone(UTC)


def _stable_digits(digits: int, *parts: str) -> str:
    """``digits`` decimal digits derived from ``parts``: a provider's retry of a callback
    repeats its transaction ids, so the generators derive them from the order."""
    value = int.from_bytes(hashlib.sha256("|".join(parts).encode("utf-8")).digest(), "big")
    return f"{value % 10**digits:0{digits}d}"


def _stable_hex(length: int, *parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()[:length]


def _rsa_private(key: SigningKey | rsa.RSAPrivateKey) -> rsa.RSAPrivateKey:
    private = key.private_key if isinstance(key, SigningKey) else key
    if not isinstance(private, rsa.RSAPrivateKey):
        raise TypeError("an RSA private key is needed")
    return private


def _rsa_sign(key: SigningKey | rsa.RSAPrivateKey, data: bytes, sha1: bool = False) -> str:
    algorithm: hashes.HashAlgorithm = hashes.SHA1() if sha1 else hashes.SHA256()  # noqa: S303
    signature = _rsa_private(key).sign(data, padding.PKCS1v15(), algorithm)
    return base64.b64encode(signature).decode("ascii")


def _wechat_envelope(
    platform_key: SigningKey | rsa.RSAPrivateKey,
    key_id: str,
    apiv3_key: str | bytes,
    plain: dict[str, Any],
    *,
    event_type: str,
    summary: str,
    original_type: str,
    at: datetime,
    event_id: str | None,
    timestamp: int | None,
) -> tuple[Headers, bytes]:
    key = apiv3_key.encode("utf-8") if isinstance(apiv3_key, str) else apiv3_key
    nonce = secrets.token_hex(6)  # 12 ASCII characters
    aad = original_type
    ciphertext = AESGCM(key).encrypt(
        nonce.encode("ascii"),
        json.dumps(plain, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
        aad.encode("utf-8"),
    )
    envelope = {
        "id": event_id or f"EV-{secrets.token_hex(10)}",
        "create_time": at.astimezone(timezone_cst()).isoformat(timespec="seconds"),
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": summary,
        "resource": {
            "original_type": original_type,
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": base64.b64encode(ciphertext).decode("ascii"),
            "associated_data": aad,
            "nonce": nonce,
        },
    }
    body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    stamp = str(timestamp if timestamp is not None else int(at.timestamp()))
    header_nonce = secrets.token_hex(16)
    message = f"{stamp}\n{header_nonce}\n".encode() + body + b"\n"
    headers = {
        "Wechatpay-Timestamp": stamp,
        "Wechatpay-Nonce": header_nonce,
        "Wechatpay-Signature": _rsa_sign(platform_key, message),
        "Wechatpay-Serial": key_id,
        "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        "Content-Type": "application/json",
    }
    return headers, body


def timezone_cst() -> Any:
    """China Standard Time (UTC+8), the zone WeChat and Alipay write times in."""
    from datetime import timezone  # noqa: PLC0415

    return timezone(timedelta(hours=8))


def wechat_callback(
    platform_key: SigningKey | rsa.RSAPrivateKey,
    key_id: str,
    apiv3_key: str | bytes,
    *,
    order_id: str,
    amount: int,
    mchid: str = "1900000109",
    appid: str = "wxd678efh567hg6787",
    trade_state: str = "SUCCESS",
    transaction_id: str | None = None,
    at: datetime | None = None,
    event_id: str | None = None,
    timestamp: int | None = None,
    payer_amount: int | None = None,
) -> tuple[Headers, bytes]:
    """A signed, encrypted WeChat Pay ``TRANSACTION.SUCCESS`` callback.

    ``key_id`` is the platform certificate serial or ``PUB_KEY_ID_...`` the key
    stands for; ``timestamp`` overrides the signed time (for replay tests).
    """
    when = _now(at)
    plain = {
        "appid": appid,
        "mchid": mchid,
        "out_trade_no": order_id,
        "transaction_id": transaction_id or f"42000{_stable_digits(20, 'wx', order_id)}",
        "trade_type": "NATIVE",
        "trade_state": trade_state,
        "trade_state_desc": "支付成功",
        "bank_type": "OTHERS",
        "attach": "",
        "success_time": when.astimezone(timezone_cst()).isoformat(timespec="seconds"),
        "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
        "amount": {
            "total": amount,
            "payer_total": amount if payer_amount is None else payer_amount,
            "currency": "CNY",
            "payer_currency": "CNY",
        },
    }
    return _wechat_envelope(
        platform_key,
        key_id,
        apiv3_key,
        plain,
        event_type="TRANSACTION.SUCCESS" if trade_state == "SUCCESS" else "TRANSACTION.CLOSED",
        summary="支付成功",
        original_type="transaction",
        at=when,
        event_id=event_id,
        timestamp=timestamp,
    )


def wechat_refund_callback(
    platform_key: SigningKey | rsa.RSAPrivateKey,
    key_id: str,
    apiv3_key: str | bytes,
    *,
    order_id: str,
    refund: int,
    total: int,
    refund_no: str | None = None,
    mchid: str = "1900000109",
    transaction_id: str | None = None,
    at: datetime | None = None,
    event_id: str | None = None,
) -> tuple[Headers, bytes]:
    """A signed, encrypted WeChat Pay ``REFUND.SUCCESS`` callback."""
    when = _now(at)
    plain = {
        "mchid": mchid,
        "out_trade_no": order_id,
        "transaction_id": transaction_id or f"42000{_stable_digits(20, 'wx', order_id)}",
        "out_refund_no": refund_no or f"RF-{secrets.token_hex(6)}",
        "refund_id": f"50000{secrets.randbelow(10**20):020d}",
        "refund_status": "SUCCESS",
        "success_time": when.astimezone(timezone_cst()).isoformat(timespec="seconds"),
        "user_received_account": "招商银行信用卡0403",
        "amount": {"total": total, "refund": refund, "payer_total": total, "payer_refund": refund},
    }
    return _wechat_envelope(
        platform_key,
        key_id,
        apiv3_key,
        plain,
        event_type="REFUND.SUCCESS",
        summary="退款成功",
        original_type="refund",
        at=when,
        event_id=event_id,
        timestamp=None,
    )


def alipay_callback(
    alipay_key: SigningKey | rsa.RSAPrivateKey,
    app_id: str,
    *,
    order_id: str,
    amount: int,
    trade_status: str = "TRADE_SUCCESS",
    charset: str = "utf-8",
    refund_fee: int | None = None,
    refund_no: str | None = None,
    subject: str = "交通违法罚款",
    seller_id: str = "2088102146225135",
    notify_id: str | None = None,
    at: datetime | None = None,
) -> tuple[Headers, bytes]:
    """A signed Alipay asynchronous notification (``application/x-www-form-urlencoded``).

    ``amount`` and ``refund_fee`` are fen; the notification carries yuan strings.
    """
    when = _now(at).astimezone(timezone_cst())
    stamp = when.strftime("%Y-%m-%d %H:%M:%S")
    params: dict[str, str] = {
        "notify_time": stamp,
        "notify_type": "trade_status_sync",
        "notify_id": notify_id or secrets.token_hex(16),
        "app_id": app_id,
        "charset": charset,
        "version": "1.0",
        "trade_no": f"2026{_stable_digits(24, 'alipay', order_id)}",
        "out_trade_no": order_id,
        "trade_status": trade_status,
        "total_amount": fen_to_yuan(amount),
        "receipt_amount": fen_to_yuan(amount),
        "buyer_pay_amount": fen_to_yuan(amount),
        "seller_id": seller_id,
        "subject": subject,
        "gmt_create": stamp,
        "gmt_payment": stamp,
        "fund_bill_list": json.dumps(
            [{"amount": fen_to_yuan(amount), "fundChannel": "ALIPAYACCOUNT"}], separators=(",", ":")
        ),
    }
    if refund_fee is not None:
        params["refund_fee"] = fen_to_yuan(refund_fee)
        params["out_biz_no"] = refund_no or f"RF-{secrets.token_hex(6)}"
        params["gmt_refund"] = stamp
    if trade_status == "TRADE_CLOSED":
        params["gmt_close"] = stamp
    signature = _rsa_sign(alipay_key, alipay_content(params).encode(charset))
    params["sign_type"] = "RSA2"
    params["sign"] = signature
    body = "&".join(f"{k}={quote_plus(v, encoding=charset)}" for k, v in params.items())
    content_type = f"application/x-www-form-urlencoded; charset={charset}"
    return {"Content-Type": content_type}, body.encode("ascii")


def make_certificate(
    subject_key: SigningKey | rsa.RSAPrivateKey,
    issuer_key: SigningKey | rsa.RSAPrivateKey,
    *,
    common_name: str,
    issuer: x509.Certificate | None = None,
    ca: bool = False,
    serial: int | None = None,
    not_before: datetime | None = None,
    valid_for: timedelta = timedelta(days=365),
) -> x509.Certificate:
    """An X.509 certificate for tests (self-signed when ``issuer`` is ``None``)."""
    start = _now(not_before) - timedelta(days=1) if not_before is None else not_before
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.subject if issuer is not None else name)
        .public_key(_rsa_private(subject_key).public_key())
        .serial_number(serial or x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + valid_for)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    return builder.sign(_rsa_private(issuer_key), hashes.SHA256())


class UnionPayTestPki:
    """A root, a middle and a signing certificate shaped like UnionPay's, with keys."""

    def __init__(self, at: datetime | None = None) -> None:
        when = _now(at) - timedelta(days=1)
        self.root_key = SigningKey.generate("RS256")
        self.middle_key = SigningKey.generate("RS256")
        self.signing_key = SigningKey.generate("RS256")
        self.root = make_certificate(
            self.root_key, self.root_key, common_name="CFCA TEST OCA1", ca=True, not_before=when
        )
        self.middle = make_certificate(
            self.middle_key,
            self.root_key,
            common_name="CFCA TEST OCA11",
            issuer=self.root,
            ca=True,
            not_before=when,
        )
        self.signing = make_certificate(
            self.signing_key,
            self.middle_key,
            common_name="041@Z12@中国银联股份有限公司@00000001",
            issuer=self.middle,
            not_before=when,
        )

    @property
    def signing_pem(self) -> str:
        """The signing certificate as PEM text (the ``signPubKeyCert`` value)."""
        return self.signing.public_bytes(Encoding.PEM).decode("ascii")


def _alipay_name(common_name: str) -> x509.Name:
    """A distinguished name written as Alipay's are: C, O, OU, CN, in that order."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "govkit test"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Certification Authority"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _alipay_certificate(
    subject: str,
    public: rsa.RSAPublicKey | ec.EllipticCurvePublicKey,
    issuer: x509.Name | None,
    issuer_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
    start: datetime,
    valid_for: timedelta,
) -> x509.Certificate:
    name = _alipay_name(subject)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + valid_for)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(issuer_key, hashes.SHA256())
    )


class AlipayTestPki:
    """Files shaped like Alipay's public-key-certificate mode, with the keys behind them.

    ``root_cert`` is like ``alipayRootCert.crt``: two RSA-signed roots and one
    ECDSA-signed root, separated by blank lines. ``alipay_cert`` is like
    ``alipayCertPublicKey_RSA2.crt``: the Alipay public-key certificate, then the
    intermediate that issued it. ``app_cert`` is the app's certificate from the same
    intermediate. Every distinguished name is C, O, OU, CN, as Alipay writes them.
    All three are PEM text; ``alipay_key`` signs notifications and responses.
    """

    def __init__(self, at: datetime | None = None, *, valid_for: timedelta | None = None) -> None:
        start = _now(at) - timedelta(days=1)
        long = timedelta(days=3650)
        self.alipay_key = SigningKey.generate("RS256")
        self.app_key = SigningKey.generate("RS256")
        root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        old_root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        ec_root_key = ec.generate_private_key(ec.SECP256R1())
        middle_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        old_root = _alipay_certificate(
            "govkit test Alipay Root CA",
            old_root_key.public_key(),
            None,
            old_root_key,
            ca=True,
            start=start,
            valid_for=long,
        )
        self.root = _alipay_certificate(
            "govkit test Alipay Root CA R1",
            root_key.public_key(),
            None,
            root_key,
            ca=True,
            start=start,
            valid_for=long,
        )
        ec_root = _alipay_certificate(
            "govkit test Alipay Root CA E1",
            ec_root_key.public_key(),
            None,
            ec_root_key,
            ca=True,
            start=start,
            valid_for=long,
        )
        self.middle = _alipay_certificate(
            "govkit test Alipay Class 2 R1",
            middle_key.public_key(),
            self.root.subject,
            root_key,
            ca=True,
            start=start,
            valid_for=long,
        )
        self.alipay = _alipay_certificate(
            "govkit test Alipay public key RSA2",
            _rsa_private(self.alipay_key).public_key(),
            self.middle.subject,
            middle_key,
            ca=False,
            start=start,
            valid_for=valid_for or timedelta(days=365),
        )
        self.app = _alipay_certificate(
            "govkit test app 2021000118600000",
            _rsa_private(self.app_key).public_key(),
            self.middle.subject,
            middle_key,
            ca=False,
            start=start,
            valid_for=valid_for or timedelta(days=365),
        )
        self.root_certificates = (old_root, self.root, ec_root)

    @property
    def root_cert(self) -> str:
        """``alipayRootCert.crt``: the roots as PEM, a blank line between each two."""
        return "\n".join(c.public_bytes(Encoding.PEM).decode() for c in self.root_certificates)

    @property
    def alipay_cert(self) -> str:
        """``alipayCertPublicKey_RSA2.crt``: the Alipay certificate and its issuer."""
        return "".join(c.public_bytes(Encoding.PEM).decode() for c in (self.alipay, self.middle))

    @property
    def app_cert(self) -> str:
        """``appCertPublicKey_<app id>.crt``: the app's certificate."""
        return self.app.public_bytes(Encoding.PEM).decode()


def alipay_test_pki(
    at: datetime | None = None, *, valid_for: timedelta | None = None
) -> AlipayTestPki:
    """A fresh :class:`AlipayTestPki`; its leaf certificates are valid around ``at``."""
    return AlipayTestPki(at, valid_for=valid_for)


def unionpay_test_pki(at: datetime | None = None) -> UnionPayTestPki:
    """A fresh :class:`UnionPayTestPki` valid around ``at``."""
    return UnionPayTestPki(at)


def unionpay_callback(
    *,
    order_id: str,
    amount: int,
    pki: UnionPayTestPki | None = None,
    secure_key: str | None = None,
    mer_id: str = "777290058110048",
    txn_type: str = "01",
    resp_code: str = "00",
    query_id: str | None = None,
    orig_query_id: str | None = None,
    at: datetime | None = None,
) -> tuple[Headers, bytes]:
    """A signed UnionPay back notification: ``signMethod`` 01 with ``pki``, or 11 with a key."""
    when = _now(at).astimezone(timezone_cst())
    params = {
        "version": "5.1.0",
        "encoding": "UTF-8",
        "bizType": "000201",
        "txnType": txn_type,
        "txnSubType": "01" if txn_type == "01" else "00",
        "accessType": "0",
        "merId": mer_id,
        "orderId": order_id,
        "txnTime": when.strftime("%Y%m%d%H%M%S"),
        "txnAmt": str(amount),
        "currencyCode": "156",
        "queryId": query_id or _stable_digits(21, "unionpay", order_id, txn_type),
        "respCode": resp_code,
        "respMsg": "成功[0000000]" if resp_code == "00" else "失败",
        "settleAmt": str(amount),
        "settleCurrencyCode": "156",
        "settleDate": when.strftime("%m%d"),
        "traceNo": f"{secrets.randbelow(10**6):06d}",
        "traceTime": when.strftime("%m%d%H%M%S"),
    }
    if orig_query_id:
        params["origQryId"] = orig_query_id
    if pki is not None:
        params["signMethod"] = "01"
        params["signPubKeyCert"] = pki.signing_pem
        digest = hashlib.sha256(unionpay_content(params).encode("utf-8")).hexdigest()
        params["signature"] = _rsa_sign(pki.signing_key, digest.encode("ascii"))
    elif secure_key is not None:
        params["signMethod"] = "11"
        key_hash = hashlib.sha256(secure_key.encode("utf-8")).hexdigest()
        content = unionpay_content(params) + "&" + key_hash
        params["signature"] = hashlib.sha256(content.encode("utf-8")).hexdigest()
    else:
        raise ValueError("pass pki (signMethod 01) or secure_key (signMethod 11)")
    body = "&".join(f"{k}={quote_plus(v)}" for k, v in params.items())
    return {"Content-Type": "application/x-www-form-urlencoded"}, body.encode("ascii")


def stripe_callback(
    secret: str,
    *,
    order_id: str,
    amount: int,
    currency: str = "cny",
    event_type: str = "payment_intent.succeeded",
    amount_refunded: int | None = None,
    at: datetime | None = None,
    event_id: str | None = None,
    timestamp: int | None = None,
    extra_secrets: tuple[str, ...] = (),
) -> tuple[Headers, bytes]:
    """A signed Stripe webhook (``Stripe-Signature: t=...,v1=...``)."""
    when = _now(at)
    intent = f"pi_{_stable_hex(24, 'stripe', order_id)}"
    if event_type == "charge.refunded":
        obj: dict[str, Any] = {
            "id": f"ch_{_stable_hex(24, 'stripe-charge', order_id)}",
            "object": "charge",
            "amount": amount,
            "amount_refunded": amount if amount_refunded is None else amount_refunded,
            "currency": currency,
            "payment_intent": intent,
            "metadata": {"order_id": order_id},
        }
    else:
        obj = {
            "id": intent,
            "object": "payment_intent",
            "amount": amount,
            "amount_received": amount if event_type.endswith("succeeded") else 0,
            "currency": currency,
            "metadata": {"order_id": order_id},
        }
    event = {
        "id": event_id or f"evt_{secrets.token_hex(12)}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(when.timestamp()),
        "type": event_type,
        "livemode": False,
        "data": {"object": obj},
    }
    body = json.dumps(event, separators=(",", ":")).encode("utf-8")
    stamp = str(timestamp if timestamp is not None else int(when.timestamp()))
    signatures = [
        hmac.new(s.encode("utf-8"), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        for s in (secret, *extra_secrets)
    ]
    value = ",".join([f"t={stamp}", *(f"v1={s}" for s in signatures)])
    return {"Stripe-Signature": value, "Content-Type": "application/json"}, body


def standard_webhooks_callback(
    key: str | ed25519.Ed25519PrivateKey,
    *,
    order_id: str,
    amount: int,
    currency: str = "CNY",
    kind: str = "paid",
    at: datetime | None = None,
    msg_id: str | None = None,
    timestamp: int | None = None,
) -> tuple[Headers, bytes]:
    """A signed Standard Webhooks delivery in govkit's payment profile.

    ``key`` is a ``whsec_`` secret (``v1``) or an Ed25519 private key (``v1a``).
    """
    when = _now(at)
    payload = {
        "type": f"payment.{kind}",
        "timestamp": when.isoformat(),
        "data": {"order_id": order_id, "amount": amount, "currency": currency},
    }
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    msg = msg_id or f"msg_{secrets.token_hex(12)}"
    stamp = str(timestamp if timestamp is not None else int(when.timestamp()))
    signed = f"{msg}.{stamp}.".encode() + body
    if isinstance(key, str):
        mac = hmac.new(base64.b64decode(key.removeprefix("whsec_")), signed, hashlib.sha256)
        signature = "v1," + base64.b64encode(mac.digest()).decode("ascii")
    else:
        signature = "v1a," + base64.b64encode(key.sign(signed)).decode("ascii")
    headers = {
        "webhook-id": msg,
        "webhook-timestamp": stamp,
        "webhook-signature": signature,
        "Content-Type": "application/json",
    }
    return headers, body
