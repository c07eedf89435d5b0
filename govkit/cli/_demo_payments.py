"""The payments step of ``govkit demo``: one signed callback per provider into a SQLite inbox.

The demo plays each provider itself with the published recipes (the library never
imports :mod:`govkit.testing`, whose generators applications use in their tests).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import quote_plus

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from govkit.cli._app import CliInvalid
from govkit.cli._demo import DemoContext
from govkit.keys import SigningKey
from govkit.payments import (
    Alipay,
    DeliveryStatus,
    PaymentInbox,
    PaymentProvider,
    StandardWebhooks,
    Stripe,
    UnionPay,
    WeChatPayV3,
    alipay_content,
    fen_to_yuan,
    unionpay_content,
)

APP_ID = "2021000118600000"
MER_ID = "777290058110048"


CST = timezone(timedelta(hours=8))
Delivery = tuple[dict[str, str], bytes]


def _sign(key: SigningKey, data: bytes) -> str:
    return base64.b64encode(key.sign(data)).decode("ascii")


def _wechat(key: SigningKey, key_id: str, apiv3: str, order_id: str, amount: int) -> Delivery:
    now = datetime.now(CST)
    plain = {
        "mchid": "1900000109",
        "out_trade_no": order_id,
        "transaction_id": f"42000{secrets.randbelow(10**20):020d}",
        "trade_state": "SUCCESS",
        "success_time": now.isoformat(timespec="seconds"),
        "amount": {"total": amount, "payer_total": amount, "currency": "CNY"},
    }
    nonce = secrets.token_hex(6)
    sealed = AESGCM(apiv3.encode()).encrypt(
        nonce.encode(), json.dumps(plain).encode(), b"transaction"
    )
    body = json.dumps(
        {
            "id": f"EV-{secrets.token_hex(8)}",
            "create_time": now.isoformat(timespec="seconds"),
            "resource_type": "encrypt-resource",
            "event_type": "TRANSACTION.SUCCESS",
            "resource": {
                "original_type": "transaction",
                "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": base64.b64encode(sealed).decode(),
                "associated_data": "transaction",
                "nonce": nonce,
            },
        }
    ).encode()
    stamp, header_nonce = str(int(now.timestamp())), secrets.token_hex(16)
    signature = _sign(key, f"{stamp}\n{header_nonce}\n".encode() + body + b"\n")
    headers = {
        "Wechatpay-Timestamp": stamp,
        "Wechatpay-Nonce": header_nonce,
        "Wechatpay-Signature": signature,
        "Wechatpay-Serial": key_id,
        "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
    }
    return headers, body


def _alipay(key: SigningKey, order_id: str, amount: int) -> Delivery:
    stamp = datetime.now(CST).strftime("%Y-%m-%d %H:%M:%S")
    params = {
        "notify_time": stamp,
        "notify_type": "trade_status_sync",
        "notify_id": secrets.token_hex(16),
        "app_id": APP_ID,
        "charset": "utf-8",
        "version": "1.0",
        "trade_no": f"2026{secrets.randbelow(10**24):024d}",
        "out_trade_no": order_id,
        "trade_status": "TRADE_SUCCESS",
        "total_amount": fen_to_yuan(amount),
        "subject": "交通违法罚款",
        "gmt_payment": stamp,
    }
    params["sign"] = _sign(key, alipay_content(params).encode())
    params["sign_type"] = "RSA2"
    body = "&".join(f"{k}={quote_plus(v)}" for k, v in params.items())
    return {"Content-Type": "application/x-www-form-urlencoded"}, body.encode()


def _unionpay(secure_key: str, order_id: str, amount: int) -> Delivery:
    now = datetime.now(CST)
    params = {
        "version": "5.1.0",
        "encoding": "UTF-8",
        "signMethod": "11",
        "txnType": "01",
        "merId": MER_ID,
        "orderId": order_id,
        "txnTime": now.strftime("%Y%m%d%H%M%S"),
        "txnAmt": str(amount),
        "currencyCode": "156",
        "queryId": f"{secrets.randbelow(10**21):021d}",
        "respCode": "00",
    }
    key_hash = hashlib.sha256(secure_key.encode()).hexdigest()
    content = unionpay_content(params) + "&" + key_hash
    params["signature"] = hashlib.sha256(content.encode()).hexdigest()
    body = "&".join(f"{k}={quote_plus(v)}" for k, v in params.items())
    return {"Content-Type": "application/x-www-form-urlencoded"}, body.encode()


def _stripe(secret: str, order_id: str, amount: int) -> Delivery:
    now = int(datetime.now(UTC).timestamp())
    body = json.dumps(
        {
            "id": f"evt_{secrets.token_hex(12)}",
            "type": "payment_intent.succeeded",
            "created": now,
            "data": {
                "object": {
                    "id": f"pi_{secrets.token_hex(12)}",
                    "amount_received": amount,
                    "currency": "cny",
                    "metadata": {"order_id": order_id},
                }
            },
        }
    ).encode()
    mac = hmac.new(secret.encode(), f"{now}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={now},v1={mac}"}, body


def _standard(secret: str, order_id: str, amount: int) -> Delivery:
    now, msg_id = str(int(datetime.now(UTC).timestamp())), f"msg_{secrets.token_hex(12)}"
    body = json.dumps(
        {
            "type": "payment.paid",
            "data": {"order_id": order_id, "amount": amount, "currency": "CNY"},
        }
    ).encode()
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{now}.".encode() + body, hashlib.sha256).digest()
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": now,
        "webhook-signature": "v1," + base64.b64encode(mac).decode(),
    }
    return headers, body


def step_payments(ctx: DemoContext) -> None:
    """Receive a fine paid through each provider, a duplicate and a forgery; check each verdict."""
    folder = ctx.out_dir / "payments"
    folder.mkdir(parents=True, exist_ok=True)
    # A rerun (``govkit demo --force``) receives the same orders again: it starts a new
    # inbox, replacing the earlier run's, as it replaces the demo's other files.
    for name in ("inbox.db", "inbox.db-wal", "inbox.db-shm", "inbox.db-journal"):
        (folder / name).unlink(missing_ok=True)
    apiv3 = secrets.token_hex(16)
    wechat_key, alipay_key, forger = (SigningKey.generate("RS256") for _ in range(3))
    union_key = secrets.token_hex(16)
    stripe_secret = "whsec_" + secrets.token_hex(16)
    sw_secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    key_id = "PUB_KEY_ID_0000000000000024101100397200000006"
    wechat = WeChatPayV3(apiv3, {key_id: wechat_key.verifying_key})
    adapters: dict[str, PaymentProvider] = {
        "wechatpay": wechat,
        "alipay": Alipay(alipay_key.verifying_key, APP_ID),
        "unionpay": UnionPay(secure_key=union_key, mer_id=MER_ID),
        "stripe": Stripe([stripe_secret]),
        "standardwebhooks": StandardWebhooks([sw_secret]),
    }
    stripe_delivery = _stripe(stripe_secret, "FINE-STRIPE", 20000)
    deliveries = [
        (
            "wechatpay",
            "FINE-WECHAT",
            _wechat(wechat_key, key_id, apiv3, "FINE-WECHAT", 20000),
            DeliveryStatus.PROCESSED,
        ),
        (
            "alipay",
            "FINE-ALIPAY",
            _alipay(alipay_key, "FINE-ALIPAY", 20000),
            DeliveryStatus.PROCESSED,
        ),
        (
            "unionpay",
            "FINEUNIONPAY",
            _unionpay(union_key, "FINEUNIONPAY", 20000),
            DeliveryStatus.PROCESSED,
        ),
        ("stripe", "FINE-STRIPE", stripe_delivery, DeliveryStatus.PROCESSED),
        (
            "standardwebhooks",
            "FINE-SW",
            _standard(sw_secret, "FINE-SW", 20000),
            DeliveryStatus.PROCESSED,
        ),
        ("stripe", "FINE-STRIPE (again)", stripe_delivery, DeliveryStatus.DUPLICATE),
        (
            "wechatpay",
            "FINE-WECHAT (forged)",
            _wechat(forger, key_id, apiv3, "FINE-WECHAT", 1),
            DeliveryStatus.REJECTED,
        ),
    ]
    rows = []
    results = []
    ok = True
    with PaymentInbox(folder / "inbox.db") as inbox:
        for provider, order_id, _, _ in deliveries[:5]:
            inbox.create_order(
                order_id,
                provider=provider,
                amount=20000,
                merchant_id={"alipay": APP_ID, "unionpay": MER_ID}.get(provider),
            )
        for provider, label, (headers, body), expected in deliveries:
            receipt = inbox.receive(adapters[provider], headers, body, source="203.0.113.10")
            ok = ok and receipt.status is expected
            rows.append(
                (provider, label, str(receipt.status), str(receipt.ack.status), receipt.code or "")
            )
            results.append({"provider": provider, "delivery": label, **receipt.to_dict()})
            ctx.record(
                "payment.demo_receive",
                "payment_event",
                f"{provider}:{label}",
                outcome="success" if receipt.status is expected else "failure",
            )
        stats = inbox.stats()
    ctx.results["payments"] = {
        "inbox": str(folder / "inbox.db"),
        "deliveries": results,
        "stats": stats,
    }
    ctx.section("demo.title.payments", rows, ("provider", "delivery", "status", "http", "code"))
    if not ok or stats.get("processed") != 5:
        raise CliInvalid
