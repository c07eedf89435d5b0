"""Peer SDKs as independent checkers, both ways.

govkit's generators must be accepted by wechatpayv3, python-alipay-sdk, stripe and
standardwebhooks; callbacks signed by those SDKs' own code must be accepted by govkit.
The peers read the real clock, so these callbacks are made for the current time.
"""

from __future__ import annotations

import base64
import json
import secrets
from datetime import UTC, datetime
from urllib.parse import quote_plus

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from govkit.keys import SigningKey
from govkit.payments import Alipay, EventKind, StandardWebhooks, Stripe, WeChatPayV3
from govkit.testing.payments import (
    alipay_callback,
    standard_webhooks_callback,
    stripe_callback,
    wechat_callback,
)

from .conftest import APIV3, PUB_KEY_ID

APP_ID = "2021000118600000"


def pem_private(key: SigningKey) -> str:
    """Plain PKCS#8 PEM (govkit's own files carry an ``alg:`` line peers do not read)."""
    return key.private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()


def pem_public(key: SigningKey) -> str:
    return key.verifying_key.public_key.public_bytes(
        Encoding.PEM, PublicFormat.SubjectPublicKeyInfo
    ).decode()


@pytest.fixture(scope="module")
def merchant_key() -> SigningKey:
    return SigningKey.generate("RS256")


def wechatpay(platform_key: SigningKey, merchant_key: SigningKey):  # type: ignore[no-untyped-def]
    from wechatpayv3 import WeChatPay, WeChatPayType  # noqa: PLC0415

    return WeChatPay(
        wechatpay_type=WeChatPayType.NATIVE,
        mchid="1900000109",
        private_key=pem_private(merchant_key),
        cert_serial_no="444F4864EA9B34415",
        appid="wxd678efh567hg6787",
        apiv3_key=APIV3,
        public_key=pem_public(platform_key),
        public_key_id=PUB_KEY_ID,
    )


def test_wechatpayv3_accepts_govkit_callbacks(
    platform_key: SigningKey, merchant_key: SigningKey
) -> None:
    headers, body = wechat_callback(platform_key, PUB_KEY_ID, APIV3, order_id="GOV-1", amount=88)
    result = wechatpay(platform_key, merchant_key).callback(headers, body)
    assert result is not None
    assert result["resource"]["out_trade_no"] == "GOV-1"
    assert result["resource"]["amount"]["total"] == 88


def test_wechatpayv3_rejects_a_govkit_callback_signed_by_another_key(
    platform_key: SigningKey, merchant_key: SigningKey, other_key: SigningKey
) -> None:
    headers, body = wechat_callback(other_key, PUB_KEY_ID, APIV3, order_id="GOV-1", amount=88)
    assert wechatpay(platform_key, merchant_key).callback(headers, body) is None


def test_govkit_accepts_callbacks_signed_by_wechatpayv3_code(platform_key: SigningKey) -> None:
    from wechatpayv3.utils import load_private_key, rsa_sign  # noqa: PLC0415

    plain = {
        "mchid": "1900000109",
        "out_trade_no": "GOV-2",
        "transaction_id": "4200000000000000000000000001",
        "trade_state": "SUCCESS",
        "success_time": "2026-05-01T16:00:00+08:00",
        "amount": {"total": 500, "payer_total": 500, "currency": "CNY"},
    }
    nonce = secrets.token_hex(6)
    ciphertext = AESGCM(APIV3.encode()).encrypt(
        nonce.encode(), json.dumps(plain).encode(), b"transaction"
    )
    body = json.dumps(
        {
            "id": "EV-peer-1",
            "create_time": "2026-05-01T16:00:00+08:00",
            "resource_type": "encrypt-resource",
            "event_type": "TRANSACTION.SUCCESS",
            "resource": {
                "original_type": "transaction",
                "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": base64.b64encode(ciphertext).decode(),
                "associated_data": "transaction",
                "nonce": nonce,
            },
        }
    )
    timestamp, header_nonce = str(int(datetime.now(UTC).timestamp())), secrets.token_hex(16)
    signature = rsa_sign(
        load_private_key(pem_private(platform_key)), f"{timestamp}\n{header_nonce}\n{body}\n"
    )
    headers = {
        "Wechatpay-Timestamp": timestamp,
        "Wechatpay-Nonce": header_nonce,
        "Wechatpay-Signature": signature,
        "Wechatpay-Serial": PUB_KEY_ID,
        "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
    }
    event = WeChatPayV3(APIV3, {PUB_KEY_ID: platform_key.verifying_key}).parse(
        headers, body.encode()
    )
    assert (event.order_id, event.amount, event.kind) == ("GOV-2", 500, EventKind.PAID)


def alipay_sdk(alipay_key: SigningKey):  # type: ignore[no-untyped-def]
    from alipay import AliPay  # noqa: PLC0415

    return AliPay(
        appid=APP_ID,
        app_private_key_string=pem_private(alipay_key),
        alipay_public_key_string=pem_public(alipay_key),
        sign_type="RSA2",
    )


@pytest.mark.parametrize("charset", ["utf-8"])
def test_python_alipay_sdk_accepts_govkit_notifications(
    alipay_key: SigningKey, charset: str
) -> None:
    from urllib.parse import parse_qsl  # noqa: PLC0415

    _, body = alipay_callback(alipay_key, APP_ID, order_id="GOV-3", amount=2000, charset=charset)
    data = dict(parse_qsl(body.decode(), encoding=charset))
    signature = data.pop("sign")
    assert alipay_sdk(alipay_key).verify(data, signature) is True
    data["total_amount"] = "0.01"
    assert alipay_sdk(alipay_key).verify(data, signature) is False


def test_govkit_accepts_notifications_signed_by_python_alipay_sdk(alipay_key: SigningKey) -> None:
    params = {
        "notify_time": "2026-05-01 16:00:00",
        "notify_type": "trade_status_sync",
        "notify_id": "ac05099524730693a8b330c5ecf72da9786",
        "app_id": APP_ID,
        "charset": "utf-8",
        "version": "1.0",
        "trade_no": "2026050122001400000000000001",
        "out_trade_no": "GOV-4",
        "trade_status": "TRADE_SUCCESS",
        "total_amount": "88.80",
        "buyer_pay_amount": "88.80",
        "subject": "驾驶证补领工本费",
        "gmt_payment": "2026-05-01 15:59:58",
    }
    signed = alipay_sdk(alipay_key).sign_data(dict(params))  # "k=quote_plus(v)&...&sign=..."
    body = (signed + "&sign_type=RSA2").encode()
    event = Alipay(alipay_key.verifying_key, APP_ID).parse({}, body)
    assert (event.order_id, event.amount, event.kind) == ("GOV-4", 8880, EventKind.PAID)
    assert quote_plus("驾驶证") in signed


def test_stripe_sdk_accepts_govkit_webhooks() -> None:
    import stripe  # noqa: PLC0415

    headers, body = stripe_callback("whsec_peer", order_id="GOV-5", amount=990)
    event = stripe.Webhook.construct_event(body.decode(), headers["Stripe-Signature"], "whsec_peer")
    assert event["data"]["object"]["metadata"]["order_id"] == "GOV-5"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body.decode(), headers["Stripe-Signature"], "whsec_other")


def test_govkit_accepts_webhooks_signed_by_stripe_sdk() -> None:
    import stripe  # noqa: PLC0415

    body = json.dumps(
        {
            "id": "evt_peer",
            "object": "event",
            "type": "payment_intent.succeeded",
            "created": int(datetime.now(UTC).timestamp()),
            "data": {
                "object": {
                    "id": "pi_1",
                    "amount": 1200,
                    "amount_received": 1200,
                    "currency": "cny",
                    "metadata": {"order_id": "GOV-6"},
                }
            },
        }
    )
    header = stripe.WebhookSignature.generate_signature_header(body, "whsec_peer")
    event = Stripe(["whsec_peer"]).parse({"Stripe-Signature": header}, body.encode())
    assert (event.order_id, event.amount, event.currency) == ("GOV-6", 1200, "CNY")


def test_standardwebhooks_library_accepts_govkit_deliveries() -> None:
    from standardwebhooks import Webhook  # noqa: PLC0415

    secret = "whsec_" + base64.b64encode(b"s" * 32).decode()
    headers, body = standard_webhooks_callback(secret, order_id="GOV-7", amount=300)
    assert Webhook(secret).verify(body, headers)["data"]["order_id"] == "GOV-7"


def test_govkit_accepts_deliveries_signed_by_standardwebhooks_library() -> None:
    from standardwebhooks import Webhook  # noqa: PLC0415

    secret = "whsec_" + base64.b64encode(b"t" * 32).decode()
    now = datetime.now(UTC)
    body = json.dumps(
        {"type": "payment.paid", "data": {"order_id": "GOV-8", "amount": 5, "currency": "CNY"}}
    )
    signature = Webhook(secret).sign("msg_peer", now, body)
    headers = {
        "webhook-id": "msg_peer",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    event = StandardWebhooks([secret]).parse(headers, body.encode())
    assert (event.order_id, event.amount, event.kind) == ("GOV-8", 5, EventKind.PAID)
