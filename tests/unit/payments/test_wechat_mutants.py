"""WeChat Pay v3, field by field: each test pins one check, one limit or one normalised value.

Written against the surviving mutants of ``scripts/mutate.py wechat``: every reason a
callback (or a certificate download) is refused is asserted by its code and message,
every normalised field by its exact value, every limit (replay window, header and body
sizes, key windows, refresh interval) from both sides. Callbacks are built here by hand
(envelope, plaintext and headers) so that each field can be set on its own.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding

from govkit.errors import (
    ClockError,
    ConfigurationError,
    GovkitError,
    NaiveDatetimeError,
    PaymentDecryptFailed,
    PaymentKeyRefreshFailed,
    PaymentKeyUnknown,
    PaymentMalformed,
    PaymentMerchantMismatch,
    PaymentSignatureInvalid,
    PaymentSignatureProbe,
    PaymentTimestampStale,
)
from govkit.keys import KeyRecord, KeyRing, SigningKey
from govkit.payments import (
    EventKind,
    PaymentEvent,
    Provider,
    SourcePolicy,
    WeChatCertificateDownloader,
    WeChatPayV3,
    WeChatPlatformKeys,
    load_wechat_platform_certificate,
)
from govkit.payments._keys import migration_hint
from govkit.payments._wechat import SIGNATURE_TYPE, decrypt_resource, wechat_authorization
from govkit.testing import FixedClock
from govkit.testing.payments import make_certificate

from .conftest import APIV3, NOW, PUB_KEY_ID

STAMP = str(int(NOW.timestamp()))
CIPHER = AESGCM(APIV3.encode())
MCHID = "1900000109"
PAID_AT = datetime(2026, 5, 1, 7, 59, tzinfo=UTC)  # 15:59 in UTC+8


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def sealed(
    plain: Mapping[str, Any] | bytes,
    *,
    aad: str = "transaction",
    nonce: str = "0123456789ab",
    key: bytes = APIV3.encode(),
) -> dict[str, Any]:
    """``plain`` encrypted as WeChat's ``resource`` (AEAD_AES_256_GCM)."""
    data = plain if isinstance(plain, bytes) else compact(plain)
    return {
        "original_type": "transaction",
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": b64(AESGCM(key).encrypt(nonce.encode(), data, aad.encode())),
        "associated_data": aad,
        "nonce": nonce,
    }


def compact(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def transaction(**changes: Any) -> dict[str, Any]:
    """A paid transaction's plaintext; ``None`` drops a member."""
    values: dict[str, Any] = {
        "appid": "wxd678efh567hg6787",
        "mchid": MCHID,
        "out_trade_no": "GOV-1",
        "transaction_id": "4200000001202605010000000001",
        "trade_type": "NATIVE",
        "trade_state": "SUCCESS",
        "trade_state_desc": "支付成功",
        "success_time": "2026-05-01T15:59:00+08:00",
        "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
        "amount": {"total": 12345, "payer_total": 12000, "currency": "CNY"},
    }
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def refund(**changes: Any) -> dict[str, Any]:
    """A refund's plaintext; ``None`` drops a member."""
    values: dict[str, Any] = {
        "mchid": MCHID,
        "out_trade_no": "GOV-2",
        "transaction_id": "4200000002202605010000000002",
        "out_refund_no": "RF-1",
        "refund_id": "50000000000000000000000000001",
        "refund_status": "SUCCESS",
        "success_time": "2026-05-01T15:59:00+08:00",
        "amount": {"total": 1000, "refund": 300, "payer_total": 1000, "payer_refund": 290},
    }
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def envelope(resource: object, **changes: Any) -> bytes:
    values: dict[str, Any] = {
        "id": "EV-2026050100001",
        "create_time": "2026-05-01T16:00:00+08:00",
        "resource_type": "encrypt-resource",
        "event_type": "TRANSACTION.SUCCESS",
        "summary": "支付成功",
        "resource": resource,
    }
    values.update(changes)
    return compact({k: v for k, v in values.items() if v is not None})


def headers_for(
    key: SigningKey,
    body: bytes,
    *,
    stamp: str = STAMP,
    nonce: str = "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
    serial: str = PUB_KEY_ID,
) -> dict[str, str]:
    message = f"{stamp}\n{nonce}\n".encode() + body + b"\n"
    return {
        "Wechatpay-Timestamp": stamp,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": b64(key.sign(message)),
        "Wechatpay-Serial": serial,
        "Wechatpay-Signature-Type": SIGNATURE_TYPE,
    }


def adapter(key: SigningKey, **options: Any) -> WeChatPayV3:
    return WeChatPayV3(APIV3, {PUB_KEY_ID: key.verifying_key}, **options)


def parse(key: SigningKey, body: bytes, **options: Any) -> PaymentEvent:
    return adapter(key, **options).parse(headers_for(key, body), body, at=NOW)


def refused(
    error: type[GovkitError],
    key: SigningKey,
    body: bytes,
    headers: Mapping[str, str] | None = None,
    **options: Any,
) -> GovkitError:
    with pytest.raises(error) as caught:
        adapter(key, **options).parse(
            headers_for(key, body) if headers is None else headers, body, at=NOW
        )
    assert type(caught.value) is error
    return caught.value


# --- transactions -----------------------------------------------------------------------


def test_paid_transaction_normalises_every_field(platform_key: SigningKey) -> None:
    plain = transaction()
    event = parse(platform_key, envelope(sealed(plain)), mchid=MCHID)
    assert event.provider is Provider.WECHATPAY
    assert event.kind is EventKind.PAID
    assert event.event_id == "EV-2026050100001"
    assert (event.order_id, event.transaction_id) == ("GOV-1", "4200000001202605010000000001")
    assert (event.amount, event.payer_amount, event.currency) == (12345, 12000, "CNY")
    assert (event.total, event.refunded_total, event.refund_id) == (None, None, None)
    assert event.occurred_at == PAID_AT
    assert event.occurred_at.tzinfo is UTC
    assert event.merchant_id == MCHID
    assert event.status == "SUCCESS"
    assert event.raw["resource"] == plain
    assert (event.raw["id"], event.raw["summary"]) == ("EV-2026050100001", "支付成功")


@pytest.mark.parametrize(
    ("state", "kind"),
    [
        ("CLOSED", EventKind.CLOSED),
        ("REVOKED", EventKind.CLOSED),
        ("PAYERROR", EventKind.FAILED),
        ("NOTPAY", EventKind.OTHER),
        ("USERPAYING", EventKind.OTHER),
        ("REFUND", EventKind.OTHER),
        ("success", EventKind.OTHER),
    ],
)
def test_trade_states_map_to_kinds(platform_key: SigningKey, state: str, kind: EventKind) -> None:
    event = parse(platform_key, envelope(sealed(transaction(trade_state=state))))
    assert (event.kind, event.status) == (kind, state)


def test_overlong_trade_state_is_cut_to_64(platform_key: SigningKey) -> None:
    state = "S" * 100
    event = parse(platform_key, envelope(sealed(transaction(trade_state=state))))
    assert (event.kind, event.status) == (EventKind.OTHER, "S" * 64)


@pytest.mark.parametrize("success_time", [None, ""])
def test_transaction_without_success_time_takes_the_envelope_time(
    platform_key: SigningKey, success_time: str | None
) -> None:
    body = envelope(
        sealed(transaction(success_time=success_time)), create_time="2026-05-01T09:00:00+01:00"
    )
    assert parse(platform_key, body).occurred_at == datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def test_optional_transaction_fields_absent_or_empty(platform_key: SigningKey) -> None:
    plain = transaction(transaction_id="", amount={"total": 5}, mchid=None)
    event = parse(platform_key, envelope(sealed(plain)))
    assert (event.transaction_id, event.payer_amount, event.currency) == (None, None, "CNY")
    assert event.merchant_id is None
    event = parse(platform_key, envelope(sealed(transaction(transaction_id=None))))
    assert event.transaction_id is None


def test_transaction_currency_is_taken_when_given(platform_key: SigningKey) -> None:
    plain = transaction(amount={"total": 5, "payer_total": 5, "currency": "USD"})
    assert parse(platform_key, envelope(sealed(plain))).currency == "USD"


def test_service_provider_mchid_is_the_merchant(platform_key: SigningKey) -> None:
    plain = transaction(mchid=None, sp_mchid="1230000109", sub_mchid="1900000109")
    event = parse(platform_key, envelope(sealed(plain)), mchid="1230000109")
    assert event.merchant_id == "1230000109"
    event = parse(platform_key, envelope(sealed(transaction(mchid="", sp_mchid="1230000109"))))
    assert event.merchant_id == "1230000109"


@pytest.mark.parametrize(
    "changes",
    [
        {"amount": None},
        {"amount": [12345]},
        {"trade_state": None},
        {"trade_state": ""},
        {"trade_state": 1},
    ],
)
def test_transaction_without_amount_or_state_is_malformed(
    platform_key: SigningKey, changes: dict[str, Any]
) -> None:
    error = refused(PaymentMalformed, platform_key, envelope(sealed(transaction(**changes))))
    assert error.message == "the resource has no amount or trade_state"


@pytest.mark.parametrize(
    ("success_time", "create_time", "message"),
    [
        ("2026-05-01 15:59:00", None, "a time has no offset"),
        ("2026-05-01T15:59:00", None, "a time has no offset"),
        ("yesterday", None, "a time is not RFC 3339"),
        (None, None, "the callback has no time"),
        (None, 1714550400, "the callback has no time"),
        (None, "later", "a time is not RFC 3339"),
    ],
)
def test_bad_time_is_malformed(
    platform_key: SigningKey, success_time: str | None, create_time: Any, message: str
) -> None:
    body = envelope(sealed(transaction(success_time=success_time)), create_time=create_time)
    error = refused(PaymentMalformed, platform_key, body)
    assert error.message == message


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-08:00"])
def test_signed_time_outside_utc_range_is_malformed_not_a_crash(
    platform_key: SigningKey, when: str
) -> None:
    body = envelope(sealed(transaction(success_time=when)))
    error = refused(PaymentMalformed, platform_key, body)
    assert error.message == "occurred_at is out of the representable range in UTC"
    assert error.context["field"] == "occurred_at"
    report = adapter(platform_key).inspect(headers_for(platform_key, body), body, at=NOW)
    assert not report.ok  # a failed check, reported; inspect() does not raise
    assert report.code == "payment.malformed"


# --- refunds ----------------------------------------------------------------------------


def refund_body(**changes: Any) -> bytes:
    return envelope(sealed(refund(**changes), aad="refund"), event_type="REFUND.SUCCESS")


@pytest.mark.parametrize(
    ("success_time", "create_time", "message"),
    [
        ("2026-05-01T15:59:00", None, "a time has no offset"),
        ("yesterday", None, "a time is not RFC 3339"),
        (None, None, "the callback has no time"),
        ("", 1714550400, "the callback has no time"),
        (7, "later", "a time is not RFC 3339"),
        ("0001-01-01T00:00:00+08:00", None, "occurred_at is out of the representable range in UTC"),
    ],
)
def test_refund_with_a_bad_time_is_malformed(
    platform_key: SigningKey, success_time: Any, create_time: Any, message: str
) -> None:
    body = envelope(
        sealed(refund(success_time=success_time), aad="refund"),
        event_type="REFUND.SUCCESS",
        create_time=create_time,
    )
    error = refused(PaymentMalformed, platform_key, body)
    assert error.message == message


def test_refund_time_is_its_own_then_the_envelopes_in_utc(platform_key: SigningKey) -> None:
    assert parse(platform_key, refund_body()).occurred_at == PAID_AT
    assert parse(platform_key, refund_body(success_time="")).occurred_at == datetime(
        2026, 5, 1, 8, tzinfo=UTC
    )


def test_partial_refund_normalises_every_field(platform_key: SigningKey) -> None:
    plain = refund()
    event = parse(platform_key, refund_body(), mchid=MCHID)
    assert event.kind is EventKind.PARTIALLY_REFUNDED
    assert (event.amount, event.total, event.payer_amount) == (300, 1000, 290)
    assert event.refunded_total is None
    assert (event.order_id, event.transaction_id) == ("GOV-2", "4200000002202605010000000002")
    assert (event.refund_id, event.merchant_id, event.currency) == ("RF-1", MCHID, "CNY")
    assert (event.status, event.occurred_at) == ("SUCCESS", PAID_AT)
    assert event.raw["resource"] == plain
    assert event.raw["event_type"] == "REFUND.SUCCESS"


@pytest.mark.parametrize(
    ("refunded", "kind"),
    [
        (999, "partially_refunded"),
        (1000, "refunded"),
        (1001, "refunded"),
        (0, "partially_refunded"),
    ],
)
def test_refund_of_the_total_or_more_is_refunded(
    platform_key: SigningKey, refunded: int, kind: str
) -> None:
    amount = {"total": 1000, "refund": refunded}
    event = parse(platform_key, refund_body(amount=amount))
    assert (event.kind, event.amount, event.payer_amount) == (EventKind(kind), refunded, None)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        ("CLOSED", EventKind.FAILED),
        ("ABNORMAL", EventKind.FAILED),
        ("PROCESSING", EventKind.OTHER),
        ("success", EventKind.OTHER),
    ],
)
def test_refund_states_map_to_kinds(platform_key: SigningKey, status: str, kind: EventKind) -> None:
    event = parse(platform_key, refund_body(refund_status=status))
    assert (event.kind, event.status) == (kind, status)


def test_overlong_refund_status_is_cut_to_64(platform_key: SigningKey) -> None:
    event = parse(platform_key, refund_body(refund_status="R" * 80))
    assert (event.kind, event.status) == (EventKind.OTHER, "R" * 64)


def test_refund_ids_fall_back_and_optional_fields_become_none(platform_key: SigningKey) -> None:
    event = parse(platform_key, refund_body(out_refund_no=""))
    assert event.refund_id == "50000000000000000000000000001"
    event = parse(platform_key, refund_body(out_refund_no=None, refund_id=None))
    assert event.refund_id is None
    event = parse(platform_key, refund_body(transaction_id="", mchid=None))
    assert (event.transaction_id, event.merchant_id) == (None, None)
    event = parse(platform_key, refund_body(transaction_id=None, mchid="", sp_mchid="1230000109"))
    assert (event.transaction_id, event.merchant_id) == (None, "1230000109")


def test_refund_currency_and_time(platform_key: SigningKey) -> None:
    amount = {"total": 10, "refund": 10, "currency": "HKD"}
    assert parse(platform_key, refund_body(amount=amount)).currency == "HKD"
    body = envelope(
        sealed(refund(success_time=None, refund_status="CLOSED"), aad="refund"),
        event_type="REFUND.CLOSED",
        create_time="2026-05-01T10:00:00+02:00",
    )
    event = parse(platform_key, body)
    assert (event.kind, event.occurred_at) == (
        EventKind.FAILED,
        datetime(2026, 5, 1, 8, tzinfo=UTC),
    )


def test_refund_currency_that_is_not_text_is_malformed(platform_key: SigningKey) -> None:
    amount = {"total": 10, "refund": 10, "currency": 156}
    error = refused(PaymentMalformed, platform_key, refund_body(amount=amount))
    assert error.message == "currency must be an upper-case ISO 4217 code"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"refund_status": None}, "refund_status"),
        ({"refund_status": ""}, "refund_status"),
        ({"refund_status": 0}, "refund_status"),
        ({"out_trade_no": None}, "out_trade_no"),
        ({"out_trade_no": ""}, "out_trade_no"),
        ({"transaction_id": 42}, "transaction_id"),
        ({"mchid": 1900000109}, "mchid"),
        ({"out_refund_no": 7}, "refund"),
    ],
)
def test_refund_field_of_the_wrong_type_is_malformed(
    platform_key: SigningKey, changes: dict[str, Any], field: str
) -> None:
    error = refused(PaymentMalformed, platform_key, refund_body(**changes))
    assert error.message == f"the resource lacks {field}"
    assert dict(error.context) == {"field": field}


@pytest.mark.parametrize(
    ("amount", "field"),
    [
        ({"total": 1000}, "amount.refund"),
        ({"total": 1000, "refund": -1}, "amount.refund"),
        ({"total": 1000, "refund": True}, "amount.refund"),
        ({"refund": 1}, "amount.total"),
        ({"total": "1000", "refund": 1}, "amount.total"),
        ({"total": 1000, "refund": 1, "payer_refund": -1}, "amount.payer_refund"),
        ({"total": 1000, "refund": 1, "payer_refund": False}, "amount.payer_refund"),
    ],
)
def test_refund_amount_that_is_not_a_non_negative_integer_is_malformed(
    platform_key: SigningKey, amount: dict[str, Any], field: str
) -> None:
    error = refused(PaymentMalformed, platform_key, refund_body(amount=amount))
    assert error.message == f"the resource's {field} is not a non-negative integer"
    assert dict(error.context) == {"field": field}


@pytest.mark.parametrize("amount", [None, [1000, 300], "1000"])
def test_refund_without_an_amount_object_is_malformed(
    platform_key: SigningKey, amount: Any
) -> None:
    error = refused(PaymentMalformed, platform_key, refund_body(amount=amount))
    assert error.message == "the resource has no amount"


def test_event_type_decides_refund_or_transaction(platform_key: SigningKey) -> None:
    # a refund's plaintext under a transaction event type has no trade_state
    body = envelope(sealed(refund(), aad="refund"), event_type="refund.success")
    error = refused(PaymentMalformed, platform_key, body)
    assert error.message == "the resource has no amount or trade_state"


# --- the envelope and the merchant ------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id": None}, "the callback has no id or resource"),
        ({"id": 17}, "the callback has no id or resource"),
        ({"resource": "sealed"}, "the callback has no id or resource"),
        ({"event_type": None}, "the callback has no event_type"),
        ({"event_type": ["REFUND.SUCCESS"]}, "the callback has no event_type"),
    ],
)
def test_envelope_without_its_members_is_malformed(
    platform_key: SigningKey, changes: dict[str, Any], message: str
) -> None:
    values: dict[str, Any] = {"resource": sealed(transaction()), **changes}
    resource = values.pop("resource")
    body = envelope(resource, **values) if resource is not None else envelope(None)
    error = refused(PaymentMalformed, platform_key, body)
    assert error.message == message


def test_callback_for_another_merchant_is_refused(platform_key: SigningKey) -> None:
    for plain in (
        transaction(mchid="1111"),
        transaction(mchid=None),
        transaction(mchid="", sp_mchid=MCHID),  # an empty mchid is not absent
        transaction(mchid=None, sp_mchid="1111"),
    ):
        error = refused(PaymentMerchantMismatch, platform_key, envelope(sealed(plain)), mchid=MCHID)
        assert error.message == "the callback is for another merchant"
    # without a configured mchid any merchant is normalised
    assert parse(platform_key, envelope(sealed(transaction(mchid="1111")))).merchant_id == "1111"


# --- decryption -------------------------------------------------------------------------


def resource(**changes: Any) -> dict[str, Any]:
    values = {**sealed(b"plain"), **changes}
    return {k: v for k, v in values.items() if v is not None}


def test_resource_decrypts_with_and_without_associated_data() -> None:
    assert decrypt_resource(CIPHER, resource()) == b"plain"
    empty = sealed(b"plain", aad="")
    assert decrypt_resource(CIPHER, {**empty, "associated_data": None}) == b"plain"
    del empty["associated_data"]
    assert decrypt_resource(CIPHER, empty) == b"plain"


@pytest.mark.parametrize("algorithm", [None, "AEAD_AES_128_GCM", "aead_aes_256_gcm"])
def test_resource_of_another_algorithm_is_malformed(algorithm: str | None) -> None:
    with pytest.raises(PaymentMalformed) as caught:
        decrypt_resource(CIPHER, resource(algorithm=algorithm))
    assert caught.value.message == "the resource is not AEAD_AES_256_GCM"
    with pytest.raises(PaymentMalformed) as caught:
        decrypt_resource(CIPHER, resource(algorithm=algorithm), "certificate")
    assert caught.value.message == "the certificate is not AEAD_AES_256_GCM"


@pytest.mark.parametrize(
    "changes",
    [
        {"nonce": None},
        {"nonce": 123},
        {"ciphertext": None},
        {"ciphertext": b"x"},
        {"associated_data": 1},
    ],
)
def test_resource_lacking_a_field_is_malformed(changes: dict[str, Any]) -> None:
    with pytest.raises(PaymentMalformed) as caught:
        decrypt_resource(
            CIPHER,
            {**resource(), **changes} if None not in changes.values() else resource(**changes),
        )
    assert caught.value.message == "the resource lacks nonce, ciphertext or associated_data"


def test_resource_nonce_and_ciphertext_sizes() -> None:
    assert decrypt_resource(CIPHER, sealed(b"", nonce="n" * 64)) == b""  # 64 bytes, a bare tag
    assert decrypt_resource(CIPHER, sealed(b"", nonce="n" * 8)) == b""  # 8 bytes, the least
    for bad in (
        {"nonce": ""},
        {"nonce": "n" * 7},  # AES-GCM refuses it: malformed, never a bare ValueError
        {"nonce": "abc"},
        {"nonce": "n" * 65},
        {"ciphertext": b64(b"\0" * 15)},
    ):
        with pytest.raises(PaymentMalformed) as caught:
            decrypt_resource(CIPHER, {**sealed(b"x"), **bad})
        assert caught.value.message == "the resource nonce or ciphertext has the wrong size"


def test_resource_nonce_is_utf8() -> None:
    assert decrypt_resource(CIPHER, sealed(b"plain", nonce="随机数随机数")) == b"plain"


def test_resource_that_does_not_decrypt_names_the_apiv3_key() -> None:
    with pytest.raises(PaymentDecryptFailed) as caught:
        decrypt_resource(CIPHER, sealed(b"plain", key=b"X" * 32), "certificate")
    assert caught.value.message == (
        "the certificate does not decrypt with the APIv3 key (wrong key or tampered)"
    )
    with pytest.raises(PaymentMalformed) as malformed:
        decrypt_resource(CIPHER, resource(ciphertext="not base64"), "certificate")
    assert malformed.value.message == "the certificate ciphertext is not base64"


# --- the signature and its headers ------------------------------------------------------


@pytest.fixture
def body() -> bytes:
    return envelope(sealed(transaction()))


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("Wechatpay-Signature", "the Wechatpay-Signature header is missing"),
        ("Wechatpay-Timestamp", "the Wechatpay-Timestamp header is missing"),
        ("Wechatpay-Nonce", "the Wechatpay-Nonce or Wechatpay-Serial header is missing"),
        ("Wechatpay-Serial", "the Wechatpay-Nonce or Wechatpay-Serial header is missing"),
    ],
)
def test_missing_header_is_named(
    platform_key: SigningKey, body: bytes, missing: str, message: str
) -> None:
    headers = headers_for(platform_key, body)
    del headers[missing]
    assert refused(PaymentMalformed, platform_key, body, headers).message == message


@pytest.mark.parametrize("name", ["Wechatpay-Nonce", "Wechatpay-Serial"])
def test_empty_nonce_or_serial_is_malformed(
    platform_key: SigningKey, body: bytes, name: str
) -> None:
    headers = {**headers_for(platform_key, body), name: ""}
    error = refused(PaymentMalformed, platform_key, body, headers)
    assert error.message == "the Wechatpay-Nonce or Wechatpay-Serial header is missing"


def test_nonce_of_64_characters_passes_and_65_is_malformed(
    platform_key: SigningKey, body: bytes
) -> None:
    headers = headers_for(platform_key, body, nonce="N" * 64)
    assert adapter(platform_key).parse(headers, body, at=NOW).amount == 12345
    headers = headers_for(platform_key, body, nonce="N" * 65)
    error = refused(PaymentMalformed, platform_key, body, headers)
    assert error.message == "the Wechatpay-Nonce or Wechatpay-Serial header is missing"


def test_serial_of_128_characters_is_looked_up_and_129_is_malformed(
    platform_key: SigningKey, body: bytes
) -> None:
    long_id = PUB_KEY_ID + "9" * (128 - len(PUB_KEY_ID))
    wechat = WeChatPayV3(APIV3, {long_id: platform_key.verifying_key})
    assert (
        wechat.parse(headers_for(platform_key, body, serial=long_id), body, at=NOW).amount == 12345
    )
    headers = headers_for(platform_key, body, serial=long_id + "9")
    with pytest.raises(PaymentMalformed) as caught:
        wechat.parse(headers, body, at=NOW)
    assert caught.value.message == "the Wechatpay-Nonce or Wechatpay-Serial header is missing"


def test_utf8_nonce_is_signed_as_utf8(platform_key: SigningKey, body: bytes) -> None:
    headers = headers_for(platform_key, body, nonce="随机数")
    assert adapter(platform_key).parse(headers, body, at=NOW).amount == 12345


@pytest.mark.parametrize(
    "stamp", ["", "17e8", "-1", "+1777622400", "1777622400.0", "１７", "1" * 13]
)
def test_timestamp_that_is_not_unix_seconds_is_malformed(
    platform_key: SigningKey, body: bytes, stamp: str
) -> None:
    headers = headers_for(platform_key, body, stamp=stamp)
    error = refused(PaymentMalformed, platform_key, body, headers)
    assert error.message == "Wechatpay-Timestamp is missing or not a Unix timestamp"


def test_timestamp_of_12_digits_is_read_as_sent(platform_key: SigningKey, body: bytes) -> None:
    """Twelve digits are a timestamp (zeros first: the signed text is kept as sent);
    thirteen are refused above."""
    headers = headers_for(platform_key, body, stamp=STAMP.zfill(12))
    assert len(headers["Wechatpay-Timestamp"]) == 12
    assert adapter(platform_key).parse(headers, body, at=NOW).amount == 12345


@pytest.mark.parametrize("skew", [300, -300])
def test_stale_timestamp_reports_its_skew(platform_key: SigningKey, body: bytes, skew: int) -> None:
    headers = headers_for(platform_key, body, stamp=str(int(NOW.timestamp()) - skew))
    error = refused(PaymentTimestampStale, platform_key, body, headers)
    assert error.message == "the callback timestamp is outside the replay window"
    assert dict(error.context) == {"skew": skew}


def test_replay_window_follows_the_configured_tolerance(
    platform_key: SigningKey, body: bytes
) -> None:
    wechat = adapter(platform_key, tolerance=timedelta(seconds=10))
    for skew in (9, -9):
        headers = headers_for(platform_key, body, stamp=str(int(NOW.timestamp()) - skew))
        assert wechat.parse(headers, body, at=NOW).amount == 12345
    headers = headers_for(platform_key, body, stamp=str(int(NOW.timestamp()) - 10))
    with pytest.raises(PaymentTimestampStale):
        wechat.parse(headers, body, at=NOW)
    # a fraction of a second counts: the window is measured from the exact time
    headers = headers_for(platform_key, body, stamp=str(int(NOW.timestamp()) - 9))
    with pytest.raises(PaymentTimestampStale):
        wechat.parse(headers, body, at=NOW + timedelta(seconds=1))


def test_probe_and_signature_type_are_named(platform_key: SigningKey, body: bytes) -> None:
    headers = {**headers_for(platform_key, body), "Wechatpay-Signature": "WECHATPAY/SIGNTEST/abc"}
    error = refused(PaymentSignatureProbe, platform_key, body, headers)
    assert error.message == "a WeChat Pay signature probe (WECHATPAY/SIGNTEST/)"
    assert error.code == "payment.signature_probe"
    headers = headers_for(platform_key, body)
    del headers["Wechatpay-Signature-Type"]
    assert adapter(platform_key).parse(headers, body, at=NOW).amount == 12345
    headers["wechatpay-signature-type"] = "WECHATPAY2-SM2-WITH-SM3"
    error = refused(PaymentMalformed, platform_key, body, headers)
    assert error.message == "the Wechatpay-Signature-Type is not supported"
    headers["wechatpay-signature-type"] = SIGNATURE_TYPE
    assert adapter(platform_key).parse(headers, body, at=NOW).amount == 12345


def test_signature_that_is_not_base64_or_does_not_verify_is_named(
    platform_key: SigningKey, other_key: SigningKey, body: bytes
) -> None:
    headers = {**headers_for(platform_key, body), "Wechatpay-Signature": "not base64"}
    error = refused(PaymentMalformed, platform_key, body, headers)
    assert error.message == "the signature is not base64"
    error = refused(PaymentSignatureInvalid, platform_key, body, headers_for(other_key, body))
    assert error.message == "the WeChat Pay callback signature does not verify"
    assert error.code == "payment.bad_signature"


@pytest.mark.parametrize("bend", [lambda s: s[:100] + "\n" + s[100:], lambda s: s + "!"])
def test_signature_in_loose_base64_is_malformed(
    platform_key: SigningKey, body: bytes, bend: Any
) -> None:
    """A line break or a stray character that a lenient decoder skips still makes the
    signature text not (strict) base64, though the bytes it stands for are genuine."""
    headers = headers_for(platform_key, body)
    headers["Wechatpay-Signature"] = bend(headers["Wechatpay-Signature"])
    error = refused(PaymentMalformed, platform_key, body, headers)
    assert error.message == "the signature is not base64"
    assert error.code == "payment.malformed"


def sized_body(size: int) -> bytes:
    """A genuine callback body of exactly ``size`` bytes (padded in ``summary``)."""
    bare = envelope(sealed(transaction()), summary="")
    return envelope(sealed(transaction()), summary="s" * (size - len(bare)))


def test_body_of_64_kib_passes_and_one_byte_more_is_malformed(platform_key: SigningKey) -> None:
    body = sized_body(64 * 1024)
    assert len(body) == 64 * 1024
    assert parse(platform_key, body).amount == 12345
    body = sized_body(64 * 1024 + 1)
    error = refused(PaymentMalformed, platform_key, body)
    assert error.message == "the body is missing or too large"


def test_body_as_text_is_malformed(platform_key: SigningKey, body: bytes) -> None:
    headers = headers_for(platform_key, body)
    with pytest.raises(PaymentMalformed) as caught:
        adapter(platform_key).parse(headers, body.decode(), at=NOW)  # type: ignore[arg-type]
    assert caught.value.message == "the body is missing or too large"


# --- platform keys ----------------------------------------------------------------------


def test_unknown_key_id_is_named(platform_key: SigningKey, body: bytes) -> None:
    headers = headers_for(platform_key, body, serial="PUB_KEY_ID_0000")
    error = refused(PaymentKeyUnknown, platform_key, body, headers)
    assert error.message == "no trusted WeChat Pay platform key has this serial or id"


def test_serials_are_matched_in_upper_case_without_leading_zeros(
    platform_key: SigningKey, body: bytes
) -> None:
    wechat = WeChatPayV3(APIV3, {"5157f09efdc096de": platform_key.verifying_key})
    for serial in ("5157F09EFDC096DE", "005157f09efdc096de"):
        headers = headers_for(platform_key, body, serial=serial)
        assert wechat.parse(headers, body, at=NOW).amount == 12345
    for serial in ("X5157F09EFDC096DE", "5157F09EFDC096DE0"):
        with pytest.raises(PaymentKeyUnknown):
            wechat.parse(headers_for(platform_key, body, serial=serial), body, at=NOW)
    assert wechat.keys.key_ids == ("5157F09EFDC096DE",)


def test_public_key_ids_are_matched_exactly(platform_key: SigningKey, body: bytes) -> None:
    wechat = WeChatPayV3(APIV3, {"PUB_KEY_ID_00ab": platform_key.verifying_key})
    headers = headers_for(platform_key, body, serial="PUB_KEY_ID_00ab")
    assert wechat.parse(headers, body, at=NOW).amount == 12345
    for serial in ("PUB_KEY_ID_00AB", "PUB_KEY_ID_ab"):
        with pytest.raises(PaymentKeyUnknown):
            wechat.parse(headers_for(platform_key, body, serial=serial), body, at=NOW)


def test_key_window_includes_not_before_and_excludes_not_after(
    platform_key: SigningKey, body: bytes
) -> None:
    start, end = NOW - timedelta(hours=1), NOW + timedelta(hours=1)
    record = KeyRecord(platform_key.verifying_key, start, end)
    ring = WeChatPlatformKeys({"ABCDEF": record})
    assert ring.lookup("abcdef", start) is platform_key.verifying_key
    assert ring.lookup("ABCDEF", end - timedelta(microseconds=1)) is platform_key.verifying_key
    for outside in (start - timedelta(microseconds=1), end):
        with pytest.raises(PaymentKeyUnknown) as caught:
            ring.lookup("ABCDEF", outside)
        assert caught.value.message == (
            "the WeChat Pay platform key or certificate is not valid at this time"
        )
        assert dict(caught.value.context) == {"key_id": "ABCDEF"}
    open_ended = WeChatPlatformKeys({"AB": KeyRecord(platform_key.verifying_key, start)})
    assert open_ended.lookup("AB", NOW + timedelta(days=9999)) is platform_key.verifying_key
    until = WeChatPlatformKeys({"AB": KeyRecord(platform_key.verifying_key, None, end)})
    assert until.lookup("AB", datetime(2000, 1, 1, tzinfo=UTC)) is platform_key.verifying_key


@pytest.mark.parametrize("key_id", ["", 7])
def test_key_id_that_is_not_a_non_empty_string_is_refused(
    platform_key: SigningKey, key_id: object
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        WeChatPlatformKeys({key_id: platform_key.verifying_key})  # type: ignore[dict-item]
    assert caught.value.message == "WeChat Pay key ids are non-empty strings"


def test_unloaded_key_gets_the_migration_hint(platform_key: SigningKey) -> None:
    pem = platform_key.verifying_key.to_pem()
    with pytest.raises(ConfigurationError) as caught:
        WeChatPlatformKeys({PUB_KEY_ID: pem})  # type: ignore[dict-item]
    assert caught.value.message == migration_hint(pem, "WeChat Pay")
    assert caught.value.message.startswith("WeChat Pay takes govkit.keys keys")
    with pytest.raises(ConfigurationError) as caught:
        WeChatPlatformKeys(pem)  # type: ignore[arg-type]
    assert caught.value.message == migration_hint(pem, "WeChat Pay")


def test_key_without_an_alias_is_refused(platform_key: SigningKey) -> None:
    for keys in (platform_key.verifying_key, [KeyRecord(platform_key.verifying_key)]):
        with pytest.raises(ConfigurationError) as caught:
            WeChatPlatformKeys(keys)  # type: ignore[arg-type]
        assert caught.value.message == (
            "a WeChat Pay key needs its serial or PUB_KEY_ID_ as its alias "
            "(load_wechat_platform_certificate / load_wechat_public_key name it)"
        )


def test_every_form_of_keys_gives_the_same_ring(
    platform_key: SigningKey, other_key: SigningKey
) -> None:
    first = KeyRecord(platform_key.verifying_key, aliases=(PUB_KEY_ID,))
    second = KeyRecord(other_key.verifying_key, aliases=("0a1b", "PUB_KEY_ID_2"))
    ring = KeyRing()
    ring.add(platform_key.verifying_key, kid=PUB_KEY_ID)
    ring.add(other_key.verifying_key, kid="0a1b")
    assert WeChatPlatformKeys(ring).key_ids == ("A1B", PUB_KEY_ID)
    expected = ("A1B", PUB_KEY_ID, "PUB_KEY_ID_2")
    assert WeChatPlatformKeys([first, second]).key_ids == expected
    assert WeChatPlatformKeys(iter([first, second])).key_ids == expected
    assert WeChatPlatformKeys(first).key_ids == (PUB_KEY_ID,)
    assert WeChatPlatformKeys([]).key_ids == ()
    assert WeChatPlatformKeys().key_ids == ()
    assert WeChatPlatformKeys({"0a1b": second, "A1B": other_key.verifying_key}).key_ids == ("A1B",)


def test_two_keys_claiming_one_id_are_refused(
    platform_key: SigningKey, other_key: SigningKey
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        WeChatPlatformKeys({"0abc": platform_key.verifying_key, "ABC": other_key.verifying_key})
    assert caught.value.message == "two WeChat Pay keys claim the same key id"
    assert dict(caught.value.context) == {"key_id": "ABC"}


def test_ring_repr_counts_keys_and_adapter_repr_names_the_merchant(
    platform_key: SigningKey,
) -> None:
    ring = WeChatPlatformKeys({PUB_KEY_ID: platform_key.verifying_key})
    assert repr(ring) == "WeChatPlatformKeys(1 keys)"
    assert repr(WeChatPayV3(APIV3, ring, mchid=MCHID)) == (
        "WeChatPayV3(keys=WeChatPlatformKeys(1 keys), mchid='1900000109')"
    )
    assert WeChatPayV3(APIV3, ring).keys is ring


class Downloads:
    """A downloader handing out given records, counting its calls."""

    def __init__(self, *records: KeyRecord) -> None:
        self.records = list(records)
        self.calls = 0

    def __call__(self) -> list[KeyRecord]:
        self.calls += 1
        return list(self.records)


def certificate_record(key: SigningKey, serial: int) -> KeyRecord:
    cert = make_certificate(
        key,
        key,
        common_name="Tenpay.com Root CA",
        serial=serial,
        not_before=NOW - timedelta(days=1),
    )
    return load_wechat_platform_certificate(cert.public_bytes(Encoding.PEM))


def test_refresh_keeps_the_old_keys_and_counts_itself(
    platform_key: SigningKey, other_key: SigningKey
) -> None:
    clock = FixedClock(NOW)
    downloads = Downloads(certificate_record(other_key, 0xB2))
    ring = WeChatPlatformKeys({"A1": platform_key.verifying_key}, downloader=downloads, clock=clock)
    assert ring.refreshes == 0
    assert ring.lookup("B2", NOW) == other_key.verifying_key
    assert (ring.refreshes, downloads.calls) == (1, 1)
    assert ring.key_ids == ("A1", "B2")
    assert ring.lookup("A1", NOW) is platform_key.verifying_key
    assert repr(ring) == "WeChatPlatformKeys(2 keys)"


def test_refreshed_key_replaces_the_one_it_names(
    platform_key: SigningKey, other_key: SigningKey
) -> None:
    clock = FixedClock(NOW)
    downloads = Downloads(certificate_record(other_key, 0xA1), certificate_record(other_key, 0xC3))
    ring = WeChatPlatformKeys({"A1": platform_key.verifying_key}, downloader=downloads, clock=clock)
    with pytest.raises(PaymentKeyUnknown):
        ring.lookup("FF", NOW)
    assert ring.lookup("A1", NOW) == other_key.verifying_key
    assert ring.lookup("C3", NOW) == other_key.verifying_key


def test_default_refresh_interval_is_five_minutes(other_key: SigningKey) -> None:
    clock = FixedClock(NOW)
    downloads = Downloads()
    ring = WeChatPlatformKeys(downloader=downloads, clock=clock)
    for serial, step, calls in (
        ("01", timedelta(0), 1),
        ("02", timedelta(minutes=4, seconds=59), 1),
        ("03", timedelta(seconds=1), 2),
    ):
        clock.advance(step)
        with pytest.raises(PaymentKeyUnknown):
            ring.lookup(serial, clock.now())
        assert (downloads.calls, ring.refreshes) == (calls, calls)


def test_refresh_rate_limit_reads_the_rings_clock(other_key: SigningKey) -> None:
    clock = FixedClock(NOW)
    downloads = Downloads()
    ring = WeChatPlatformKeys(
        downloader=downloads, clock=clock, min_refresh_interval=timedelta(hours=1)
    )
    for _ in range(2):
        with pytest.raises(PaymentKeyUnknown):
            ring.lookup("01", NOW)  # the lookup's own time is not the rate limit's
    assert downloads.calls == 1
    clock.advance(timedelta(hours=1))
    with pytest.raises(PaymentKeyUnknown):
        ring.lookup("01", NOW)
    assert downloads.calls == 2


# --- the adapter ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key", ["0" * 31, "0" * 33, b"0" * 31, b"0" * 33, "密" * 32, 32, bytearray(32)]
)
def test_apiv3_key_that_is_not_32_bytes_is_refused(platform_key: SigningKey, key: Any) -> None:
    with pytest.raises(ConfigurationError) as caught:
        WeChatPayV3(key, {PUB_KEY_ID: platform_key.verifying_key})
    assert caught.value.message == "the WeChat Pay APIv3 key must be 32 bytes (32 ASCII characters)"


def test_apiv3_key_as_bytes_works(platform_key: SigningKey, body: bytes) -> None:
    wechat = WeChatPayV3(APIV3.encode(), {PUB_KEY_ID: platform_key.verifying_key})
    assert wechat.parse(headers_for(platform_key, body), body, at=NOW).amount == 12345


def test_adapter_reads_its_clock_and_default_window(platform_key: SigningKey, body: bytes) -> None:
    clock = FixedClock(NOW + timedelta(seconds=299))
    wechat = adapter(platform_key, clock=clock)
    assert wechat.parse(headers_for(platform_key, body), body).amount == 12345
    clock.advance(timedelta(seconds=1))
    with pytest.raises(PaymentTimestampStale):
        wechat.parse(headers_for(platform_key, body), body)


class _Clock:
    """A clock that answers ``value``, whatever it is."""

    def __init__(self, value: object) -> None:
        self.value = value

    def now(self) -> Any:
        return self.value


def test_time_in_another_offset_is_the_same_instant(platform_key: SigningKey, body: bytes) -> None:
    """``at`` or the clock in UTC+8 is the same instant: the window is measured from it."""
    beijing = timezone(timedelta(hours=8))
    for options, at in (
        ({}, NOW.astimezone(beijing)),
        ({"clock": _Clock(NOW.astimezone(beijing))}, None),
    ):
        wechat = adapter(platform_key, **options)
        for skew, fresh in ((299, True), (-299, True), (300, False), (-300, False)):
            headers = headers_for(platform_key, body, stamp=str(int(NOW.timestamp()) - skew))
            if fresh:
                assert wechat.parse(headers, body, at=at).amount == 12345
            else:
                with pytest.raises(PaymentTimestampStale):
                    wechat.parse(headers, body, at=at)


@pytest.mark.parametrize(
    "when", [NOW.replace(tzinfo=None), NOW.isoformat(), NOW.date(), NOW.timestamp()]
)
def test_naive_or_non_datetime_time_is_refused_and_named(
    platform_key: SigningKey, body: bytes, when: Any
) -> None:
    """A time without an offset (or not a datetime at all) is refused, never read as
    local time; the error names where it came from: ``at`` or ``clock.now()``."""
    headers = headers_for(platform_key, body)
    with pytest.raises(NaiveDatetimeError) as caught:
        adapter(platform_key).parse(headers, body, at=when)
    assert caught.value.context["argument"] == "at"
    with pytest.raises(NaiveDatetimeError) as caught:
        adapter(platform_key, clock=_Clock(when)).parse(headers, body)
    assert caught.value.context["argument"] == "clock.now()"


def test_time_out_of_utc_range_is_a_clock_error(platform_key: SigningKey, body: bytes) -> None:
    far = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=8)))
    with pytest.raises(ClockError) as caught:
        adapter(platform_key).parse(headers_for(platform_key, body), body, at=far)
    assert caught.value.message == "'at' is out of the representable range in UTC"


def test_answers_are_wechats(platform_key: SigningKey) -> None:
    wechat = adapter(platform_key)
    ack = wechat.acknowledge()
    assert (ack.status, ack.body, ack.content_type, ack.ok) == (204, b"", None, True)
    retry, refuse = wechat.reject(retry=True), wechat.reject(retry=False)
    assert retry.status == 500
    assert json.loads(retry.body) == {"code": "FAIL", "message": "处理失败，请重试"}
    assert refuse.status == 401
    assert json.loads(refuse.body) == {"code": "FAIL", "message": "验签失败"}
    assert retry.content_type == refuse.content_type == "application/json"


def test_inspect_names_each_check(platform_key: SigningKey, body: bytes) -> None:
    headers = headers_for(platform_key, body)
    report = adapter(platform_key, mchid=MCHID).inspect(headers, body, at=NOW)
    assert report.valid
    assert [(check.name, check.ok) for check in report.checks] == [
        ("signature", True),
        ("timestamp", True),
        ("decryption", True),
        ("merchant", True),
        ("format", True),
    ]
    report = adapter(platform_key).inspect(headers, body, at=NOW)
    merchant = report.checks[3]
    assert (merchant.name, merchant.ok, merchant.detail) == (
        "merchant",
        None,
        "no mchid configured",
    )
    report = adapter(platform_key, mchid="1111").inspect(headers, body, at=NOW)
    assert [(c.name, c.code) for c in report.checks if c.ok is False] == [
        ("merchant", "payment.merchant_mismatch")
    ]


# --- signed requests and the certificate download ---------------------------------------


def test_authorization_header_is_exact_and_signed(platform_key: SigningKey) -> None:
    auth = wechat_authorization(
        mchid=MCHID,
        serial="MSERIAL",
        key=platform_key,
        method="post",
        path="/v3/pay/transactions/native",
        body=b'{"a":1}',
        timestamp=1777622400,
        nonce="NONCE1",
    )
    prefix, _, rest = auth.partition(" ")
    assert prefix == "WECHATPAY2-SHA256-RSA2048"
    parts = dict(item.split("=", 1) for item in rest.split(","))
    signature = parts.pop("signature").strip('"')
    assert parts == {
        "mchid": '"1900000109"',
        "nonce_str": '"NONCE1"',
        "timestamp": '"1777622400"',
        "serial_no": '"MSERIAL"',
    }
    message = b'POST\n/v3/pay/transactions/native\n1777622400\nNONCE1\n{"a":1}\n'
    platform_key.verifying_key.verify(base64.b64decode(signature, validate=True), message)
    assert list(dict(item.split("=", 1) for item in rest.split(","))) == [
        "mchid",
        "nonce_str",
        "signature",
        "timestamp",
        "serial_no",
    ]


def test_authorization_defaults_to_an_empty_body_and_a_fresh_nonce(
    platform_key: SigningKey,
) -> None:
    auth = wechat_authorization(
        mchid=MCHID,
        serial="S",
        key=platform_key,
        method="GET",
        path="/v3/certificates",
        timestamp=1,
    )
    parts = dict(item.split("=", 1) for item in auth.partition(" ")[2].split(","))
    nonce = parts["nonce_str"].strip('"')
    assert len(nonce) == 32
    int(nonce, 16)
    message = f"GET\n/v3/certificates\n1\n{nonce}\n\n".encode()
    platform_key.verifying_key.verify(base64.b64decode(parts["signature"].strip('"')), message)


def test_authorization_needs_an_rsa_key() -> None:
    with pytest.raises(ConfigurationError) as caught:
        wechat_authorization(
            mchid=MCHID,
            serial="S",
            key=SigningKey.generate("ES256"),
            method="GET",
            path="/",
            timestamp=1,
        )
    assert caught.value.message == "the WeChat Pay merchant key must be an RS256 (RSA) key"


class Platform(BaseHTTPRequestHandler):
    """Plays ``GET /v3/certificates``: answers with what the test put in ``reply``."""

    reply: tuple[int, dict[str, str], bytes] = (200, {}, b"")
    seen: list[tuple[str, str]] = []  # noqa: RUF012 - (path, Authorization) per request

    def do_GET(self) -> None:
        type(self).seen.append((self.path, self.headers.get("Authorization", "")))
        status, headers, body = type(self).reply
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def platform() -> Iterator[tuple[str, type[Platform]]]:
    handler = type("Handler", (Platform,), {"seen": [], "reply": (200, {}, b"")})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # a short poll interval: shutdown() waits up to one interval
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def merchant_key() -> SigningKey:
    return SigningKey.generate("RS256")


def downloader(url: str, key: SigningKey, **options: Any) -> WeChatCertificateDownloader:
    options.setdefault("clock", FixedClock(NOW))
    return WeChatCertificateDownloader(
        mchid=MCHID,
        merchant_serial="MSERIAL",
        merchant_key=key,
        apiv3_key=APIV3,
        base_url=url,
        **options,
    )


def certificate_entry(
    key: SigningKey, serial: int, apiv3: bytes = APIV3.encode()
) -> dict[str, Any]:
    cert = make_certificate(
        key,
        key,
        common_name="Tenpay.com Root CA",
        serial=serial,
        not_before=NOW - timedelta(days=1),
    )
    return {
        "serial_no": format(serial, "X"),
        "encrypt_certificate": sealed(
            cert.public_bytes(Encoding.PEM), aad="certificate", key=apiv3
        ),
    }


def test_download_returns_each_certificate_as_a_named_record(
    platform: tuple[str, type[Platform]], merchant_key: SigningKey, platform_key: SigningKey
) -> None:
    url, handler = platform
    entries = [certificate_entry(platform_key, 0x7E57), certificate_entry(platform_key, 0x7E58)]
    handler.reply = (200, {}, compact({"data": entries}))
    records = downloader(url + "/", merchant_key)()
    assert [record.aliases for record in records] == [("7E57",), ("7E58",)]
    assert records[0].key == platform_key.verifying_key
    assert records[0].not_before == NOW - timedelta(days=1)
    ((path, auth),) = handler.seen
    assert path == "/v3/certificates"
    prefix, _, rest = auth.partition(" ")
    parts = {k: v.strip('"') for k, v in (item.split("=", 1) for item in rest.split(","))}
    assert prefix == SIGNATURE_TYPE
    assert (parts["mchid"], parts["serial_no"], parts["timestamp"]) == (MCHID, "MSERIAL", STAMP)
    message = f"GET\n/v3/certificates\n{STAMP}\n{parts['nonce_str']}\n\n".encode()
    merchant_key.verifying_key.verify(base64.b64decode(parts["signature"]), message)


def test_base_url_with_a_path_and_a_trailing_slash_is_joined_without_a_double_slash(
    platform: tuple[str, type[Platform]], merchant_key: SigningKey
) -> None:
    url, handler = platform
    handler.reply = (200, {}, b'{"data":[]}')
    assert downloader(url + "/relay-X/", merchant_key)() == []
    assert [path for path, _ in handler.seen] == ["/relay-X/v3/certificates"]


def test_empty_certificate_list_is_no_records(
    platform: tuple[str, type[Platform]], merchant_key: SigningKey
) -> None:
    url, handler = platform
    handler.reply = (200, {}, b'{"data":[]}')
    assert downloader(url, merchant_key)() == []


def failed_download(url: str, key: SigningKey, **options: Any) -> PaymentKeyRefreshFailed:
    with pytest.raises(PaymentKeyRefreshFailed) as caught:
        downloader(url, key, **options)()
    return caught.value


def test_download_answering_an_error_status_is_a_refresh_failure(
    platform: tuple[str, type[Platform]], merchant_key: SigningKey
) -> None:
    url, handler = platform
    handler.reply = (500, {}, b"{}")
    error = failed_download(url, merchant_key)
    assert error.message == (
        "the platform certificate download failed: "
        "the WeChat Pay certificate list URL answered HTTP 500"
    )
    assert dict(error.context) == {"reason": "http_status", "status": 500}


def test_download_is_never_redirected(
    platform: tuple[str, type[Platform]], merchant_key: SigningKey
) -> None:
    url, handler = platform
    handler.reply = (302, {"Location": "/v3/certificates"}, b"")
    error = failed_download(url, merchant_key)
    assert dict(error.context) == {"reason": "redirect", "status": 302}
    assert len(handler.seen) == 1


def test_download_follows_same_origin_redirects_only_as_far_as_its_policy_allows(
    platform: tuple[str, type[Platform]], merchant_key: SigningKey
) -> None:
    url, handler = platform
    handler.reply = (302, {"Location": "/v3/certificates"}, b"")
    error = failed_download(url, merchant_key, policy=SourcePolicy(max_redirects=1))
    assert dict(error.context) == {"reason": "redirect"}
    assert [path for path, _ in handler.seen] == ["/v3/certificates", "/v3/certificates"]


def test_download_of_another_content_type_has_no_status(
    platform: tuple[str, type[Platform]], merchant_key: SigningKey
) -> None:
    url, handler = platform
    handler.reply = (200, {"Content-Type": "text/html"}, b'{"data":[]}')
    error = failed_download(url, merchant_key)
    assert dict(error.context) == {"reason": "content_type"}


def test_download_is_bounded_at_one_mib_by_default(
    platform: tuple[str, type[Platform]], merchant_key: SigningKey
) -> None:
    url, handler = platform
    bare = b'{"data":[],"pad":""}'
    handler.reply = (200, {}, bare[:-2] + b"p" * (1024 * 1024 - len(bare)) + b'"}')
    assert downloader(url, merchant_key)() == []
    handler.reply = (200, {}, bare[:-2] + b"p" * (1024 * 1024 + 1 - len(bare)) + b'"}')
    assert dict(failed_download(url, merchant_key).context) == {"reason": "too_large"}
    policy = SourcePolicy(max_bytes=2 * 1024 * 1024)
    assert downloader(url, merchant_key, policy=policy)() == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "the certificate list is not JSON"),
        (b'{"data":1,"data":2}', "the certificate list is not JSON"),
        (b'{"items":[]}', "the certificate list has no data array"),
        (b'{"data":{}}', "the certificate list has no data array"),
        (b'{"data":["x"]}', "a certificate entry is malformed"),
        (b'{"data":[{"encrypt_certificate":"x"}]}', "a certificate entry is malformed"),
        (b'{"data":[{}]}', "a certificate entry is malformed"),
    ],
)
def test_download_of_a_malformed_list_is_a_refresh_failure(
    platform: tuple[str, type[Platform]], merchant_key: SigningKey, body: bytes, message: str
) -> None:
    url, handler = platform
    handler.reply = (200, {}, body)
    error = failed_download(url, merchant_key)
    assert error.message == message
    assert error.code == "payment.key_refresh"


def test_downloaded_certificate_that_does_not_decrypt_or_parse_is_a_refresh_failure(
    platform: tuple[str, type[Platform]], merchant_key: SigningKey, platform_key: SigningKey
) -> None:
    url, handler = platform
    for entry in (
        certificate_entry(platform_key, 1, apiv3=b"X" * 32),  # another APIv3 key
        {"encrypt_certificate": sealed(b"not a certificate", aad="certificate")},
        {"encrypt_certificate": {**sealed(b"x"), "algorithm": "AEAD_AES_128_GCM"}},
    ):
        handler.reply = (200, {}, compact({"data": [entry]}))
        error = failed_download(url, merchant_key)
        assert error.message == "a downloaded certificate does not decrypt or parse"


def test_downloader_configuration_is_checked(merchant_key: SigningKey) -> None:
    with pytest.raises(ConfigurationError) as caught:
        downloader("http://example.com", merchant_key)
    assert caught.value.message == (
        "the WeChat Pay URL must use https (http only for a loopback host)"
    )
    with pytest.raises(ConfigurationError) as caught:
        downloader(
            "https://api.mch.weixin.qq.com", merchant_key, policy=SourcePolicy(ttl=timedelta(1))
        )
    assert caught.value.message == "ttl does not apply to the WeChat Pay certificate download"
    with pytest.raises(ConfigurationError) as caught:
        downloader(
            "https://api.mch.weixin.qq.com",
            merchant_key,
            policy=SourcePolicy(timeout=1.0),
            timeout=2.0,
        )
    assert caught.value.message == "timeout is given twice, as a keyword and in policy"
    with pytest.raises(ConfigurationError) as caught:
        WeChatCertificateDownloader(
            mchid=MCHID, merchant_serial="S", merchant_key=merchant_key, apiv3_key="short"
        )
    assert caught.value.message == "the WeChat Pay APIv3 key must be 32 bytes (32 ASCII characters)"


def test_key_of_another_algorithm_is_refused_naming_wechat_pay() -> None:
    ec_key = SigningKey.generate("ES256").verifying_key
    for keys in (
        {PUB_KEY_ID: ec_key},
        [KeyRecord(ec_key, aliases=(PUB_KEY_ID,))],
    ):
        with pytest.raises(ConfigurationError) as caught:
            WeChatPlatformKeys(keys)  # type: ignore[arg-type]
        assert caught.value.message == "WeChat Pay keys are RS256 keys, not ES256"


def test_unloaded_key_in_a_list_gets_the_migration_hint(platform_key: SigningKey) -> None:
    pem = platform_key.verifying_key.to_pem()
    with pytest.raises(ConfigurationError) as caught:
        WeChatPlatformKeys([pem])  # type: ignore[list-item]
    assert caught.value.message == migration_hint(pem, "WeChat Pay")
