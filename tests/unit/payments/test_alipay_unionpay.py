"""Alipay and UnionPay notifications: charsets, certificate mode, chains, every negative path."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qsl, quote_plus

import pytest

from govkit.errors import (
    ConfigurationError,
    PaymentKeyUnknown,
    PaymentMalformed,
    PaymentMerchantMismatch,
    PaymentSignatureInvalid,
)
from govkit.keys import SigningKey
from govkit.payments import Alipay, EventKind, UnionPay, load_alipay_certificates
from govkit.testing.payments import (
    alipay_callback,
    alipay_test_pki,
    unionpay_callback,
    unionpay_test_pki,
)

from .conftest import NOW

APP_ID = "2021000118600000"


def test_alipay_payment_is_verified_and_yuan_becomes_fen(alipay_key: SigningKey) -> None:
    headers, body = alipay_callback(alipay_key, APP_ID, order_id="GOV-9", amount=20000, at=NOW)
    event = Alipay(alipay_key.verifying_key, APP_ID).parse(headers, body, at=NOW)
    assert (event.kind, event.order_id, event.amount, event.currency) == (
        EventKind.PAID,
        "GOV-9",
        20000,
        "CNY",
    )
    assert event.occurred_at == NOW
    assert event.merchant_id == APP_ID


def test_alipay_gbk_notification_is_verified_over_gbk_bytes(alipay_key: SigningKey) -> None:
    headers, body = alipay_callback(
        alipay_key, APP_ID, order_id="GOV-10", amount=1, charset="gbk", subject="社保缴费", at=NOW
    )
    event = Alipay(alipay_key.verifying_key, APP_ID).parse(headers, body, at=NOW)
    assert event.raw["subject"] == "社保缴费"


def test_alipay_partial_and_full_refunds(alipay_key: SigningKey) -> None:
    alipay = Alipay(alipay_key.verifying_key, APP_ID)
    headers, body = alipay_callback(
        alipay_key, APP_ID, order_id="G", amount=1000, refund_fee=400, at=NOW
    )
    partial = alipay.parse(headers, body, at=NOW)
    assert (partial.kind, partial.refunded_total) == (EventKind.PARTIALLY_REFUNDED, 400)
    headers, body = alipay_callback(
        alipay_key,
        APP_ID,
        order_id="G",
        amount=1000,
        refund_fee=1000,
        trade_status="TRADE_CLOSED",
        at=NOW,
    )
    assert alipay.parse(headers, body, at=NOW).kind is EventKind.REFUNDED
    assert partial.dedup_key != alipay.parse(headers, body, at=NOW).dedup_key


def test_alipay_closed_unpaid_trade_is_closed(alipay_key: SigningKey) -> None:
    headers, body = alipay_callback(
        alipay_key, APP_ID, order_id="G", amount=1000, trade_status="TRADE_CLOSED", at=NOW
    )
    assert Alipay(alipay_key.verifying_key, APP_ID).parse(headers, body, at=NOW).kind is (
        EventKind.CLOSED
    )


def test_alipay_signed_with_the_apps_own_key_is_refused(
    alipay_key: SigningKey, other_key: SigningKey
) -> None:
    headers, body = alipay_callback(other_key, APP_ID, order_id="G", amount=1, at=NOW)
    with pytest.raises(PaymentSignatureInvalid):
        Alipay(alipay_key.verifying_key, APP_ID).parse(headers, body, at=NOW)


def test_alipay_tampered_total_amount_is_refused(alipay_key: SigningKey) -> None:
    headers, body = alipay_callback(alipay_key, APP_ID, order_id="G", amount=100, at=NOW)
    forged = body.replace(b"total_amount=1.00", b"total_amount=0.01")
    assert forged != body
    with pytest.raises(PaymentSignatureInvalid):
        Alipay(alipay_key.verifying_key, APP_ID).parse(headers, forged, at=NOW)


def test_alipay_html_escaped_fund_bill_list_fails(alipay_key: SigningKey) -> None:
    headers, body = alipay_callback(alipay_key, APP_ID, order_id="G", amount=100, at=NOW)
    params = dict(parse_qsl(body.decode()))
    params["fund_bill_list"] = params["fund_bill_list"].replace('"', "&quot;")
    escaped = "&".join(f"{k}={quote_plus(v)}" for k, v in params.items()).encode()
    with pytest.raises(PaymentSignatureInvalid):
        Alipay(alipay_key.verifying_key, APP_ID).parse(headers, escaped, at=NOW)


def test_alipay_unsigned_notification_is_refused(alipay_key: SigningKey) -> None:
    headers, body = alipay_callback(alipay_key, APP_ID, order_id="G", amount=1, at=NOW)
    params = [(k, v) for k, v in parse_qsl(body.decode()) if k != "sign"]
    stripped = "&".join(f"{k}={quote_plus(v)}" for k, v in params).encode()
    with pytest.raises(PaymentSignatureInvalid):
        Alipay(alipay_key.verifying_key, APP_ID).parse(headers, stripped, at=NOW)


def test_alipay_legacy_rsa_sha1_is_refused_unless_unsafe(alipay_key: SigningKey) -> None:
    headers, body = alipay_callback(alipay_key, APP_ID, order_id="G", amount=1, at=NOW)
    downgraded = body.replace(b"sign_type=RSA2", b"sign_type=RSA")
    with pytest.raises(PaymentMalformed):
        Alipay(alipay_key.verifying_key, APP_ID).parse(headers, downgraded, at=NOW)
    with pytest.raises(PaymentSignatureInvalid):  # allowed, but the RSA2 signature is not SHA-1
        Alipay(alipay_key.verifying_key, APP_ID, unsafe_allow_rsa_sha1=True).parse(
            headers, downgraded, at=NOW
        )


def test_alipay_notification_for_another_app_is_refused(alipay_key: SigningKey) -> None:
    headers, body = alipay_callback(alipay_key, "2021009999", order_id="G", amount=1, at=NOW)
    with pytest.raises(PaymentMerchantMismatch):
        Alipay(alipay_key.verifying_key, APP_ID).parse(headers, body, at=NOW)


def test_alipay_repeated_parameter_is_malformed(alipay_key: SigningKey) -> None:
    headers, body = alipay_callback(alipay_key, APP_ID, order_id="G", amount=1, at=NOW)
    with pytest.raises(PaymentMalformed):
        Alipay(alipay_key.verifying_key, APP_ID).parse(
            headers, body + b"&out_trade_no=OTHER", at=NOW
        )


def test_alipay_unknown_charset_is_malformed(alipay_key: SigningKey) -> None:
    headers, body = alipay_callback(alipay_key, APP_ID, order_id="G", amount=1, at=NOW)
    with pytest.raises(PaymentMalformed):
        Alipay(alipay_key.verifying_key, APP_ID).parse(
            headers, body.replace(b"charset=utf-8", b"charset=ebcdic"), at=NOW
        )


def test_alipay_certificate_mode_checks_the_certificate_validity() -> None:
    pki = alipay_test_pki(NOW, valid_for=timedelta(days=10))
    certs = load_alipay_certificates(
        app_cert=pki.app_cert, alipay_cert=pki.alipay_cert, root_cert=pki.root_cert
    )
    alipay = Alipay(certs, APP_ID)
    headers, body = alipay_callback(pki.alipay_key, APP_ID, order_id="G", amount=1, at=NOW)
    assert alipay.parse(headers, body, at=NOW).amount == 1
    with pytest.raises(PaymentKeyUnknown):
        alipay.parse(headers, body, at=NOW + timedelta(days=30))


def test_alipay_acknowledgement_is_exactly_success(alipay_key: SigningKey) -> None:
    ack = Alipay(alipay_key.verifying_key, APP_ID).acknowledge()
    assert (ack.status, ack.body) == (200, b"success")


def test_weak_rsa_key_is_refused_at_configuration() -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: PLC0415

    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()  # noqa: S505 - the point
    with pytest.raises(ConfigurationError):
        Alipay(weak, APP_ID)


# --- UnionPay -----------------------------------------------------------------


@pytest.fixture(scope="module")
def pki():  # type: ignore[no-untyped-def]
    return unionpay_test_pki(NOW)


def test_unionpay_rsa_notification_with_chain_is_verified(pki) -> None:  # type: ignore[no-untyped-def]
    headers, body = unionpay_callback(order_id="GOV20260501", amount=5000, pki=pki, at=NOW)
    union = UnionPay(roots=[pki.root], intermediates=[pki.middle], mer_id="777290058110048")
    event = union.parse(headers, body, at=NOW)
    assert (event.kind, event.amount, event.currency) == (EventKind.PAID, 5000, "CNY")


def test_unionpay_certificate_from_an_untrusted_root_is_refused(pki, other_key) -> None:  # type: ignore[no-untyped-def]
    rogue = unionpay_test_pki(NOW)
    headers, body = unionpay_callback(order_id="G1", amount=1, pki=rogue, at=NOW)
    with pytest.raises(PaymentKeyUnknown):
        UnionPay(roots=[pki.root], intermediates=[pki.middle]).parse(headers, body, at=NOW)


def test_unionpay_certificate_naming_another_company_is_refused(pki) -> None:  # type: ignore[no-untyped-def]
    headers, body = unionpay_callback(order_id="G1", amount=1, pki=pki, at=NOW)
    union = UnionPay(roots=[pki.root], intermediates=[pki.middle], company="某某公司")
    with pytest.raises(PaymentKeyUnknown):
        union.parse(headers, body, at=NOW)


def test_unionpay_expired_certificate_is_refused(pki) -> None:  # type: ignore[no-untyped-def]
    headers, body = unionpay_callback(order_id="G1", amount=1, pki=pki, at=NOW)
    union = UnionPay(roots=[pki.root], intermediates=[pki.middle])
    with pytest.raises(PaymentKeyUnknown):
        union.parse(headers, body, at=NOW + timedelta(days=800))


def test_unionpay_tampered_amount_is_refused(pki) -> None:  # type: ignore[no-untyped-def]
    headers, body = unionpay_callback(order_id="G1", amount=5000, pki=pki, at=NOW)
    forged = body.replace(b"txnAmt=5000", b"txnAmt=5")
    with pytest.raises(PaymentSignatureInvalid):
        UnionPay(roots=[pki.root], intermediates=[pki.middle]).parse(headers, forged, at=NOW)


def test_unionpay_secure_key_method_11(pki) -> None:  # type: ignore[no-untyped-def]
    headers, body = unionpay_callback(order_id="G2", amount=99, secure_key="k3y", at=NOW)
    assert UnionPay(secure_key="k3y").parse(headers, body, at=NOW).amount == 99
    with pytest.raises(PaymentSignatureInvalid):
        UnionPay(secure_key="wrong").parse(headers, body, at=NOW)
    with pytest.raises(PaymentMalformed):  # method 11 is not accepted without a secure key
        UnionPay(roots=[pki.root]).parse(headers, body, at=NOW)


def test_unionpay_refund_links_to_the_original_query_id(pki) -> None:  # type: ignore[no-untyped-def]
    headers, body = unionpay_callback(
        order_id="RF1", amount=100, pki=pki, txn_type="04", orig_query_id="Q-ORIG", at=NOW
    )
    event = UnionPay(roots=[pki.root], intermediates=[pki.middle]).parse(headers, body, at=NOW)
    assert (event.kind, event.transaction_id) == (EventKind.REFUNDED, "Q-ORIG")


def test_unionpay_failed_payment_and_other_merchant(pki) -> None:  # type: ignore[no-untyped-def]
    union = UnionPay(roots=[pki.root], intermediates=[pki.middle], mer_id="777290058110048")
    headers, body = unionpay_callback(order_id="G3", amount=1, pki=pki, resp_code="05", at=NOW)
    assert union.parse(headers, body, at=NOW).kind is EventKind.FAILED
    headers, body = unionpay_callback(order_id="G3", amount=1, pki=pki, mer_id="1" * 15, at=NOW)
    with pytest.raises(PaymentMerchantMismatch):
        union.parse(headers, body, at=NOW)


def test_unionpay_needs_roots_or_a_secure_key() -> None:
    with pytest.raises(ConfigurationError):
        UnionPay()
