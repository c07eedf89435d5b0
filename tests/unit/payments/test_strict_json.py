"""Payment callbacks are read strictly, even under a valid signature.

Every body below is signed correctly (HMAC, RSA, AES-GCM) after it was edited, so the
only thing wrong with it is its JSON: a member name twice (at the top, at depth, in
the decrypted WeChat resource), ``NaN`` or ``Infinity``, a lone surrogate escape, or
(WeChat, whose numbers are all integers) a fraction. Each is ``payment.malformed``.

The peer SDKs installed beside govkit read the same signed bytes and keep the *last*
duplicate (they call :func:`json.loads`); the tests at the end pin that, because the
payments guide says so.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from govkit.errors import PaymentMalformed
from govkit.keys import SigningKey
from govkit.payments import EventKind, StandardWebhooks, Stripe, WeChatPayV3
from govkit.payments._query import _response_part
from govkit.testing.payments import stripe_callback

from .conftest import APIV3, NOW, PUB_KEY_ID

SECRET = "whsec_strict_json"
SW_SECRET = "whsec_" + base64.b64encode(b"s" * 32).decode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def stripe_headers(body: bytes, at: datetime = NOW) -> dict[str, str]:
    stamp = str(int(at.timestamp()))
    mac = hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={stamp},v1={mac}"}


def standard_headers(body: bytes) -> dict[str, str]:
    msg, stamp = "msg_strict", str(int(NOW.timestamp()))
    key = base64.b64decode(SW_SECRET.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return {"webhook-id": msg, "webhook-timestamp": stamp, "webhook-signature": "v1," + b64(mac)}


#: A WeChat Pay transaction resource as the decrypted plaintext, compact like WeChat's.
RESOURCE = (
    '{"mchid":"1900000109","appid":"wxd678efh567hg6787","out_trade_no":"GOV-1",'
    '"transaction_id":"4200000000000000000000000001","trade_type":"NATIVE",'
    '"trade_state":"SUCCESS","trade_state_desc":"支付成功",'
    '"success_time":"2026-05-01T16:00:00+08:00","payer":{"openid":"oUpF8uMuAJO"},'
    '"amount":{"total":100,"payer_total":100,"currency":"CNY","payer_currency":"CNY"}}'
)


def wechat_signed(
    key: SigningKey, plain: str, edit: Callable[[str], str] = lambda body: body
) -> tuple[dict[str, str], bytes]:
    """``plain`` encrypted into an envelope, ``edit`` applied to the envelope text, signed."""
    nonce = "0123456789ab"
    ciphertext = AESGCM(APIV3.encode()).encrypt(nonce.encode(), plain.encode(), b"transaction")
    envelope = (
        '{"id":"EV-strict-1","create_time":"2026-05-01T16:00:00+08:00",'
        '"resource_type":"encrypt-resource","event_type":"TRANSACTION.SUCCESS",'
        '"summary":"支付成功","resource":{"original_type":"transaction",'
        f'"algorithm":"AEAD_AES_256_GCM","ciphertext":"{b64(ciphertext)}",'
        f'"associated_data":"transaction","nonce":"{nonce}"}}}}'
    )
    body = edit(envelope).encode()
    stamp, header_nonce = str(int(NOW.timestamp())), "n" * 32
    message = f"{stamp}\n{header_nonce}\n".encode() + body + b"\n"
    signature = key.private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    headers = {
        "Wechatpay-Timestamp": stamp,
        "Wechatpay-Nonce": header_nonce,
        "Wechatpay-Signature": b64(signature),
        "Wechatpay-Serial": PUB_KEY_ID,
        "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
    }
    return headers, body


def wechat(key: SigningKey) -> WeChatPayV3:
    return WeChatPayV3(APIV3, {PUB_KEY_ID: key.verifying_key}, mchid="1900000109")


def once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


# --- Stripe ------------------------------------------------------------------------------


def test_control_the_strict_stripe_events_are_genuine_when_unedited() -> None:
    _, body = stripe_callback(SECRET, order_id="GOV-1", amount=990, event_type="charge.refunded")
    event = Stripe([SECRET]).parse(stripe_headers(body), body, at=NOW)
    assert (event.kind, event.amount) == (EventKind.REFUNDED, 990)


@pytest.mark.parametrize(
    ("event_type", "member"),
    [("charge.refunded", "amount"), ("payment_intent.succeeded", "amount_received")],
)
def test_validly_signed_stripe_event_with_the_amount_twice_is_malformed(
    event_type: str, member: str
) -> None:
    # The parser-differential attack: stripe-python (json.loads) reads the last
    # amount, a gateway or another service may read the first. Signature valid.
    _, body = stripe_callback(SECRET, order_id="GOV-1", amount=990, event_type=event_type)
    twice = once(body.decode(), f'"{member}":990,', f'"{member}":990,"{member}":1,').encode()
    with pytest.raises(PaymentMalformed) as caught:
        Stripe([SECRET]).parse(stripe_headers(twice), twice, at=NOW)
    assert caught.value.code == "payment.malformed"
    assert caught.value.message == "the Stripe event has a duplicate member name"


def test_stripe_duplicate_at_depth_is_malformed() -> None:
    _, body = stripe_callback(SECRET, order_id="GOV-1", amount=990)
    twice = once(body.decode(), '{"order_id":"GOV-1"}', '{"order_id":"GOV-1","order_id":"X"}')
    with pytest.raises(PaymentMalformed, match="duplicate member name"):
        Stripe([SECRET]).parse(stripe_headers(twice.encode()), twice.encode(), at=NOW)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_stripe_nan_or_infinity_is_malformed(constant: str) -> None:
    _, body = stripe_callback(SECRET, order_id="GOV-1", amount=990)
    edited = once(body.decode(), '"livemode":false', f'"livemode":false,"score":{constant}')
    with pytest.raises(PaymentMalformed, match="NaN or Infinity"):
        Stripe([SECRET]).parse(stripe_headers(edited.encode()), edited.encode(), at=NOW)


def test_stripe_fractions_are_read_but_overflow_and_lone_surrogates_are_malformed() -> None:
    # Stripe objects do carry fractions (a coupon's percent_off, an exchange_rate).
    _, body = stripe_callback(SECRET, order_id="GOV-1", amount=990)
    text = body.decode()
    fraction = once(text, '"livemode":false', '"livemode":false,"percent_off":12.5').encode()
    event = Stripe([SECRET]).parse(stripe_headers(fraction), fraction, at=NOW)
    assert event.raw["percent_off"] == 12.5
    for edit, reason in (
        ('"livemode":false,"rate":1e400', "too large for a float"),
        ('"livemode":false,"note":"\\ud800"', "lone surrogate"),
        ('"livemode":false,"\\udc00":1', "lone surrogate"),
    ):
        edited = once(text, '"livemode":false', edit).encode()
        with pytest.raises(PaymentMalformed, match=reason):
            Stripe([SECRET]).parse(stripe_headers(edited), edited, at=NOW)


# --- Standard Webhooks ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"type":"payment.paid","data":{"order_id":"A","amount":5,"currency":"CNY"}}', None),
        (
            b'{"type":"payment.paid","data":{"order_id":"A","amount":5,"amount":500,'
            b'"currency":"CNY"}}',
            "duplicate member name",
        ),
        (
            b'{"type":"payment.paid","type":"payment.refunded",'
            b'"data":{"order_id":"A","amount":5,"currency":"CNY"}}',
            "duplicate member name",
        ),
        (
            b'{"type":"payment.paid","data":{"order_id":"A","amount":5,"currency":"CNY",'
            b'"fee":NaN}}',
            "NaN or Infinity",
        ),
        (b'{"type":"payment.paid","data":{"order_id":"A","amount":Infinity}}', "NaN or Infinity"),
    ],
    ids=["control", "amount_twice", "type_twice", "nan", "infinity"],
)
def test_standard_webhooks_payload_is_read_strictly(payload: bytes, reason: str | None) -> None:
    adapter = StandardWebhooks([SW_SECRET])
    if reason is None:
        assert adapter.parse(standard_headers(payload), payload, at=NOW).amount == 5
        return
    with pytest.raises(PaymentMalformed, match=reason) as caught:
        adapter.parse(standard_headers(payload), payload, at=NOW)
    assert caught.value.code == "payment.malformed"


# --- WeChat Pay ----------------------------------------------------------------------------


def test_control_the_hand_made_wechat_callback_is_genuine(platform_key: SigningKey) -> None:
    headers, body = wechat_signed(platform_key, RESOURCE)
    event = wechat(platform_key).parse(headers, body, at=NOW)
    assert (event.order_id, event.amount, event.kind) == ("GOV-1", 100, EventKind.PAID)


RESOURCE_EDITS = {
    # duplicates at depth, inside the decrypted resource (AES-GCM tag valid)
    "total_twice_in_amount": ('"total":100,', '"total":100,"total":1,', "duplicate member"),
    "out_trade_no_twice": (
        '"out_trade_no":"GOV-1",',
        '"out_trade_no":"GOV-1","out_trade_no":"GOV-2",',
        "duplicate member",
    ),
    "mchid_twice": (
        '"mchid":"1900000109",',
        '"mchid":"1900000109","mchid":"1230000109",',
        "duplicate member",
    ),
    "nan_total": ('"total":100,', '"total":NaN,', "NaN or Infinity"),
    "infinity_payer_total": ('"payer_total":100,', '"payer_total":Infinity,', "NaN or Infinity"),
    "minus_infinity_in_array": (
        '"payer":',
        '"promotion_detail":[{"amount":-Infinity}],"payer":',
        "NaN or Infinity",
    ),
    "fraction_in_array": (
        '"payer":',
        '"promotion_detail":[{"amount":1.5}],"payer":',
        "only integers",
    ),
    "lone_surrogate": (
        '"trade_state_desc":"支付成功"',
        '"trade_state_desc":"\\ud800"',
        "lone surrogate",
    ),
}


@pytest.mark.parametrize(
    ("old", "new", "reason"), RESOURCE_EDITS.values(), ids=RESOURCE_EDITS.keys()
)
def test_wechat_resource_is_read_strictly_after_decryption(
    platform_key: SigningKey, old: str, new: str, reason: str
) -> None:
    headers, body = wechat_signed(platform_key, once(RESOURCE, old, new))
    with pytest.raises(PaymentMalformed, match=reason) as caught:
        wechat(platform_key).parse(headers, body, at=NOW)
    assert caught.value.code == "payment.malformed"
    assert caught.value.message.startswith("the resource ")


ENVELOPE_EDITS = {
    "id_twice": (
        '"id":"EV-strict-1",',
        '"id":"EV-strict-1","id":"EV-strict-2",',
        "duplicate member",
    ),
    "resource_twice": (
        '"resource":{',
        '"resource":{"ciphertext":"AAAA"},"resource":{',
        "duplicate member",
    ),
    "nan": ('"summary":', '"score":NaN,"summary":', "NaN or Infinity"),
    "fraction": ('"summary":', '"score":0.5,"summary":', "only integers"),
}


@pytest.mark.parametrize(
    ("old", "new", "reason"), ENVELOPE_EDITS.values(), ids=ENVELOPE_EDITS.keys()
)
def test_wechat_envelope_is_read_strictly_under_a_valid_signature(
    platform_key: SigningKey, old: str, new: str, reason: str
) -> None:
    headers, body = wechat_signed(platform_key, RESOURCE, lambda text: once(text, old, new))
    with pytest.raises(PaymentMalformed, match=reason) as caught:
        wechat(platform_key).parse(headers, body, at=NOW)
    assert caught.value.message.startswith("the callback body ")


# --- Alipay ------------------------------------------------------------------------------
# Alipay's notifications are form fields (govkit reads no JSON in them); its query
# responses are JSON, signed over the exact text of the method's member.

NAME = "alipay_trade_query_response"
PART = '{"code":"10000","msg":"Success","out_trade_no":"GOV-1","total_amount":"88.80"}'
PART_CODE_TWICE = PART.replace("}", ',"code":"40004"}')
PART_NAN = PART.replace("}", ',"n":NaN}')


def test_alipay_response_part_is_the_exact_signed_text() -> None:
    text = f'{{"{NAME}":{PART},"sign":"c2lnbg=="}}'
    signed, part, document = _response_part(text, NAME)
    assert signed == PART
    assert part == json.loads(PART) == document[NAME]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (f'{{"{NAME}":{PART_CODE_TWICE},"sign":"x"}}', "duplicate"),
        (f'{{"{NAME}":{PART},"{NAME}":{{"code":"40004"}},"sign":"x"}}', "duplicate"),
        (f'{{"{NAME}":{PART},"sign":"x","sign":"y"}}', "duplicate"),
        (f'{{"{NAME}":{PART_NAN},"sign":"x"}}', "NaN"),
        # a genuine signed part replayed as a decoy inside another member, before the
        # member the caller reads: its signature would verify over the other object
        (f'{{"x":{{"{NAME}":{PART}}},"{NAME}":{{"code":"10000"}},"sign":"x"}}', "signed object"),
        (f'{{"note":"{NAME}","{NAME}":{PART},"sign":"x"}}', "method's object"),
        (f'{{"{NAME}":{json.dumps(PART)},"sign":"x"}}', "method's object"),
    ],
    ids=[
        "duplicate_in_signed_part",
        "method_twice",
        "sign_twice",
        "nan",
        "nested_decoy",
        "name_as_a_value",
        "part_not_object",
    ],
)
def test_alipay_response_is_read_strictly(text: str, reason: str) -> None:
    with pytest.raises(PaymentMalformed, match=reason):
        _response_part(text, NAME)


# --- what the peer SDKs do with the same bytes (pinned: the guide says so) ----------------


def test_stripe_python_keeps_the_last_duplicate_where_govkit_refuses() -> None:
    import stripe  # noqa: PLC0415

    now = datetime.now(UTC)
    _, body = stripe_callback(SECRET, order_id="GOV-1", amount=990, event_type="charge.refunded")
    twice = once(body.decode(), '"amount":990,', '"amount":990,"amount":1,')
    twice = once(twice, '"livemode":false', '"livemode":false,"score":NaN')
    header = stripe_headers(twice.encode(), at=now)["Stripe-Signature"]
    event = stripe.Webhook.construct_event(twice, header, SECRET)
    assert event["data"]["object"]["amount"] == 1  # the last one
    assert event["score"] != event["score"]  # NaN, accepted
    with pytest.raises(PaymentMalformed):
        Stripe([SECRET]).parse({"Stripe-Signature": header}, twice.encode(), at=now)


def test_standardwebhooks_keeps_the_last_duplicate_where_govkit_refuses() -> None:
    from standardwebhooks.webhooks import Webhook  # noqa: PLC0415

    payload = b'{"type":"payment.paid","data":{"order_id":"A","amount":5,"amount":500}}'
    msg, stamp = "msg_peer", str(int(time.time()))
    key = base64.b64decode(SW_SECRET.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg}.{stamp}.".encode() + payload, hashlib.sha256).digest()
    headers = {"webhook-id": msg, "webhook-timestamp": stamp, "webhook-signature": "v1," + b64(mac)}
    assert Webhook(SW_SECRET).verify(payload, headers)["data"]["amount"] == 500
    with pytest.raises(PaymentMalformed):
        StandardWebhooks([SW_SECRET]).parse(headers, payload)


def test_wechatpayv3_keeps_the_last_duplicate_in_the_resource_where_govkit_refuses(
    platform_key: SigningKey,
) -> None:
    from wechatpayv3 import WeChatPay, WeChatPayType  # noqa: PLC0415

    merchant = SigningKey.generate("RS256")
    plain = once(RESOURCE, '"total":100,', '"total":100,"total":1,')
    headers, body = wechat_signed(platform_key, plain)
    headers["Wechatpay-Timestamp"] = stamp = str(int(time.time()))
    message = f"{stamp}\n{headers['Wechatpay-Nonce']}\n".encode() + body + b"\n"
    headers["Wechatpay-Signature"] = b64(
        platform_key.private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    )
    peer = WeChatPay(
        wechatpay_type=WeChatPayType.NATIVE,
        mchid="1900000109",
        private_key=merchant.private_key.private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
        ).decode(),
        cert_serial_no="444F4864EA9B34415",
        appid="wxd678efh567hg6787",
        apiv3_key=APIV3,
        public_key=platform_key.verifying_key.public_key.public_bytes(
            Encoding.PEM, PublicFormat.SubjectPublicKeyInfo
        ).decode(),
        public_key_id=PUB_KEY_ID,
    )
    result = peer.callback(headers, body)
    assert result is not None
    assert result["resource"]["amount"]["total"] == 1  # the last one
    with pytest.raises(PaymentMalformed, match="duplicate"):
        wechat(platform_key).parse(headers, body)


def test_python_alipay_sdk_keeps_the_last_duplicate_of_a_signed_response(
    alipay_key: SigningKey,
) -> None:
    from alipay import AliPay  # noqa: PLC0415

    part = PART.replace("}", ',"total_amount":"0.01"}')  # total_amount twice, signed
    signature = alipay_key.private_key.sign(part.encode(), padding.PKCS1v15(), hashes.SHA256())
    text = f'{{"{NAME}":{part},"sign":"{b64(signature)}"}}'
    peer = AliPay(
        appid="2021000118600000",
        app_notify_url=None,
        app_private_key_string=alipay_key.private_key.private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
        ).decode(),
        alipay_public_key_string=alipay_key.verifying_key.public_key.public_bytes(
            Encoding.PEM, PublicFormat.SubjectPublicKeyInfo
        ).decode(),
        sign_type="RSA2",
    )
    assert peer._verify_and_return_sync_response(text, NAME)["total_amount"] == "0.01"
    with pytest.raises(PaymentMalformed, match="duplicate"):
        _response_part(text, NAME)
