"""Alipay notifications, field by field: each test pins one check or one normalised value.

Written against the surviving mutants of ``scripts/mutate.py alipay``: every reason a
notification is refused is asserted by its code and its message, every normalised field
by its exact value, and every limit from both sides.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote_plus, unquote_plus

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from govkit.errors import (
    GovkitError,
    PaymentKeyUnknown,
    PaymentMalformed,
    PaymentMerchantMismatch,
    PaymentSignatureInvalid,
)
from govkit.keys import KeyRecord, SigningKey
from govkit.payments import Alipay, EventKind, Provider, alipay_content, load_alipay_certificates
from govkit.payments._alipay import form_charset, parse_form
from govkit.testing import FixedClock
from govkit.testing.payments import alipay_test_pki

from .conftest import NOW

APP_ID = "2021000118600000"
SELLER = "2088102146225135"
CST = timedelta(hours=8)


def cst(text: str) -> datetime:
    """An Alipay local time (China Standard Time) as aware UTC."""
    return (datetime.strptime(text, "%Y-%m-%d %H:%M:%S") - CST).replace(tzinfo=UTC)


def params(**changes: str | None) -> dict[str, str]:
    """A paid notification's parameters; ``None`` drops one."""
    values: dict[str, str | None] = {
        "notify_time": "2026-05-01 16:00:00",
        "notify_type": "trade_status_sync",
        "notify_id": "ac05099524730693a8b330c5ecf72da9786",
        "app_id": APP_ID,
        "charset": "utf-8",
        "version": "1.0",
        "trade_no": "2026050122001400000000000001",
        "out_trade_no": "GOV-1",
        "trade_status": "TRADE_SUCCESS",
        "total_amount": "100.00",
        "buyer_pay_amount": "90.50",
        "seller_id": SELLER,
        "subject": "交通违法罚款",
        "gmt_create": "2026-05-01 15:58:00",
        "gmt_payment": "2026-05-01 15:59:00",
    }
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def signed(
    key: SigningKey,
    fields: dict[str, str],
    *,
    charset: str = "utf-8",
    sign_type: str | None = "RSA2",
    sha1: bool = False,
) -> bytes:
    """The form body Alipay would post: ``fields`` signed, then ``sign_type`` and ``sign``."""
    content = alipay_content(fields).encode(charset)
    private = key.private_key
    assert isinstance(private, rsa.RSAPrivateKey)
    digest = hashes.SHA1() if sha1 else hashes.SHA256()  # noqa: S303 - the legacy mode
    sign = base64.b64encode(private.sign(content, padding.PKCS1v15(), digest)).decode()
    extra = {"sign": sign} if sign_type is None else {"sign_type": sign_type, "sign": sign}
    form = {**fields, **extra}
    return "&".join(f"{k}={quote_plus(v, encoding=charset)}" for k, v in form.items()).encode(
        "ascii"
    )


def refused(adapter: Alipay, body: bytes, error: type[GovkitError]) -> GovkitError:
    with pytest.raises(error) as caught:
        adapter.parse({}, body, at=NOW)
    assert type(caught.value) is error
    return caught.value


@pytest.fixture
def alipay(alipay_key: SigningKey) -> Alipay:
    return Alipay(alipay_key.verifying_key, APP_ID)


# --- the normalised event ---------------------------------------------------------------


def test_paid_notification_normalises_every_field(alipay: Alipay, alipay_key: SigningKey) -> None:
    fields = params()
    event = alipay.parse({}, signed(alipay_key, fields), at=NOW)
    assert event.provider is Provider.ALIPAY
    assert event.kind is EventKind.PAID
    assert event.event_id == "ac05099524730693a8b330c5ecf72da9786"
    assert event.order_id == "GOV-1"
    assert event.transaction_id == "2026050122001400000000000001"
    assert (event.amount, event.total, event.payer_amount) == (10000, 10000, 9050)
    assert event.refunded_total is None
    assert event.refund_id is None
    assert event.currency == "CNY"
    assert event.occurred_at == cst("2026-05-01 15:59:00")  # gmt_payment, not notify_time
    assert event.merchant_id == APP_ID
    assert event.status == "TRADE_SUCCESS"
    assert dict(event.raw) == {**fields, "sign_type": "RSA2", "sign": event.raw["sign"]}


def test_finished_trade_is_paid_and_a_refund_fee_on_it_is_no_refund(
    alipay: Alipay, alipay_key: SigningKey
) -> None:
    fields = params(
        trade_status="TRADE_FINISHED",
        refund_fee="10.00",
        out_biz_no="RF-1",
        gmt_refund="2026-05-01 15:59:30",
    )
    event = alipay.parse({}, signed(alipay_key, fields), at=NOW)
    assert (event.kind, event.amount, event.refunded_total) == (EventKind.PAID, 10000, None)
    assert event.refund_id is None
    assert event.occurred_at == cst("2026-05-01 15:59:00")
    assert event.status == "TRADE_FINISHED"


def test_partial_refund_takes_refund_fee_gmt_refund_and_out_biz_no(
    alipay: Alipay, alipay_key: SigningKey
) -> None:
    fields = params(refund_fee="0.01", out_biz_no="RF-7", gmt_refund="2026-05-01 15:59:30")
    event = alipay.parse({}, signed(alipay_key, fields), at=NOW)
    assert event.kind is EventKind.PARTIALLY_REFUNDED
    assert (event.amount, event.total, event.refunded_total) == (1, 10000, 1)
    assert event.refund_id == "RF-7"
    assert event.occurred_at == cst("2026-05-01 15:59:30")


@pytest.mark.parametrize("status", ["TRADE_SUCCESS", "TRADE_CLOSED"])
@pytest.mark.parametrize("refund_fee", ["100.00", "100.01"])
def test_refund_of_the_whole_total_or_more_is_refunded(
    alipay: Alipay, alipay_key: SigningKey, status: str, refund_fee: str
) -> None:
    fields = params(trade_status=status, refund_fee=refund_fee, out_biz_no="RF-8")
    event = alipay.parse({}, signed(alipay_key, fields), at=NOW)
    assert event.kind is EventKind.REFUNDED
    assert event.amount == event.refunded_total == int(refund_fee.replace(".", ""))
    assert event.refund_id == "RF-8"
    # no gmt_refund: the notification's own time
    assert event.occurred_at == cst("2026-05-01 16:00:00")


def test_refund_fee_of_zero_is_no_refund(alipay: Alipay, alipay_key: SigningKey) -> None:
    fields = params(refund_fee="0.00", out_biz_no="RF-9")
    event = alipay.parse({}, signed(alipay_key, fields), at=NOW)
    assert (event.kind, event.amount, event.refunded_total, event.refund_id) == (
        EventKind.PAID,
        10000,
        None,
        None,
    )


def test_refund_without_out_biz_no_has_no_refund_id(alipay: Alipay, alipay_key: SigningKey) -> None:
    fields = params(refund_fee="1.00", out_biz_no="")
    event = alipay.parse({}, signed(alipay_key, fields), at=NOW)
    assert (event.kind, event.refund_id) == (EventKind.PARTIALLY_REFUNDED, None)


def test_closed_unpaid_trade_takes_gmt_close_and_no_refund_id(
    alipay: Alipay, alipay_key: SigningKey
) -> None:
    fields = params(trade_status="TRADE_CLOSED", gmt_close="2026-05-01 15:59:45", out_biz_no="RF-X")
    event = alipay.parse({}, signed(alipay_key, fields), at=NOW)
    assert (event.kind, event.amount, event.refunded_total) == (EventKind.CLOSED, 10000, None)
    assert event.refund_id is None
    assert event.occurred_at == cst("2026-05-01 15:59:45")


def test_waiting_trade_is_other_at_the_notify_time(alipay: Alipay, alipay_key: SigningKey) -> None:
    fields = params(trade_status="WAIT_BUYER_PAY", out_biz_no="RF-Y", refund_fee="1.00")
    event = alipay.parse({}, signed(alipay_key, fields), at=NOW)
    assert (event.kind, event.amount, event.refunded_total) == (EventKind.OTHER, 10000, None)
    assert event.refund_id is None
    assert event.occurred_at == cst("2026-05-01 16:00:00")  # not gmt_payment


def test_paid_without_gmt_payment_falls_back_to_notify_time(
    alipay: Alipay, alipay_key: SigningKey
) -> None:
    fields = params(gmt_payment=None)
    assert alipay.parse({}, signed(alipay_key, fields), at=NOW).occurred_at == cst(
        "2026-05-01 16:00:00"
    )


def test_optional_fields_absent_or_empty_become_none(
    alipay: Alipay, alipay_key: SigningKey
) -> None:
    fields = params(trade_no="", buyer_pay_amount=None)
    event = alipay.parse({}, signed(alipay_key, fields), at=NOW)
    assert (event.transaction_id, event.payer_amount) == (None, None)
    fields = params(buyer_pay_amount="")
    assert alipay.parse({}, signed(alipay_key, fields), at=NOW).payer_amount is None


def test_trans_currency_is_taken_when_given(alipay: Alipay, alipay_key: SigningKey) -> None:
    fields = params(trans_currency="USD")
    assert alipay.parse({}, signed(alipay_key, fields), at=NOW).currency == "USD"
    fields = params(trans_currency="")
    assert alipay.parse({}, signed(alipay_key, fields), at=NOW).currency == "CNY"


def test_overlong_trade_status_is_cut_to_64_characters(
    alipay: Alipay, alipay_key: SigningKey
) -> None:
    status = "TRADE_" + "X" * 100
    event = alipay.parse({}, signed(alipay_key, params(trade_status=status)), at=NOW)
    assert (event.kind, event.status) == (EventKind.OTHER, status[:64])


@pytest.mark.parametrize(
    "field", ["trade_status", "total_amount", "notify_id", "out_trade_no", "notify_time"]
)
@pytest.mark.parametrize("value", [None, ""])
def test_notification_lacking_a_required_field_is_malformed(
    alipay: Alipay, alipay_key: SigningKey, field: str, value: str | None
) -> None:
    fields = params(**{"gmt_payment": None, field: value})
    error = refused(alipay, signed(alipay_key, fields), PaymentMalformed)
    assert error.message == f"the notification lacks {field}"
    assert dict(error.context) == {"field": field}


@pytest.mark.parametrize("field", ["gmt_payment", "notify_time"])
def test_time_not_in_alipay_format_is_malformed(
    alipay: Alipay, alipay_key: SigningKey, field: str
) -> None:
    fields = params(**{"gmt_payment": None, field: "2026-05-01T16:00:00"})
    error = refused(alipay, signed(alipay_key, fields), PaymentMalformed)
    assert error.message == "a time is not 'YYYY-MM-DD HH:MM:SS'"


# --- the signature ----------------------------------------------------------------------


def test_notification_without_sign_type_is_checked_as_rsa2(
    alipay: Alipay, alipay_key: SigningKey
) -> None:
    body = signed(alipay_key, params(), sign_type=None)
    assert b"sign_type" not in body
    assert alipay.parse({}, body, at=NOW).amount == 10000


def test_legacy_rsa_sha1_verifies_only_when_unsafe_is_chosen(alipay_key: SigningKey) -> None:
    body = signed(alipay_key, params(), sign_type="RSA", sha1=True)
    strict = Alipay(alipay_key.verifying_key, APP_ID)
    error = refused(strict, body, PaymentMalformed)
    assert error.message == "the notification's sign_type is not accepted"
    legacy = Alipay(alipay_key.verifying_key, APP_ID, unsafe_allow_rsa_sha1=True)
    assert legacy.parse({}, body, at=NOW).amount == 10000
    # an RSA2 signature still verifies as RSA2 with the option on
    assert legacy.parse({}, signed(alipay_key, params()), at=NOW).amount == 10000


@pytest.mark.parametrize("sign_type", ["RSA1", "rsa2", "SM2", ""])
def test_unknown_sign_type_is_malformed_even_with_sha1_allowed(
    alipay_key: SigningKey, sign_type: str
) -> None:
    legacy = Alipay(alipay_key.verifying_key, APP_ID, unsafe_allow_rsa_sha1=True)
    body = signed(alipay_key, params(), sign_type=sign_type, sha1=True)
    error = refused(legacy, body, PaymentMalformed)
    assert error.message == "the notification's sign_type is not accepted"


def test_empty_sign_is_unsigned(alipay: Alipay) -> None:
    body = "&".join(f"{k}={quote_plus(v)}" for k, v in params().items()).encode()
    error = refused(alipay, body + b"&sign_type=RSA2&sign=", PaymentSignatureInvalid)
    assert error.message == "the notification is not signed"


def test_sign_that_is_not_base64_is_malformed(alipay: Alipay) -> None:
    body = "&".join(f"{k}={quote_plus(v)}" for k, v in params().items()).encode()
    error = refused(alipay, body + b"&sign=not%20base64", PaymentMalformed)
    assert error.message == "the sign is not base64"


def test_forged_signature_names_alipay(alipay: Alipay, other_key: SigningKey) -> None:
    error = refused(alipay, signed(other_key, params()), PaymentSignatureInvalid)
    assert error.message == "the Alipay signature does not verify"
    assert error.code == "payment.bad_signature"


def test_signature_by_a_key_outside_its_window_is_unknown_key(alipay_key: SigningKey) -> None:
    record = KeyRecord(alipay_key.verifying_key, NOW - timedelta(days=2), NOW)
    error = refused(Alipay(record, APP_ID), signed(alipay_key, params()), PaymentKeyUnknown)
    assert error.message == "no Alipay key or certificate is valid at this time"
    assert error.code == "payment.unknown_key"


def test_certificate_mode_reads_the_clock_when_no_time_is_given() -> None:
    pki = alipay_test_pki(NOW, valid_for=timedelta(days=10))
    certs = load_alipay_certificates(
        app_cert=pki.app_cert, alipay_cert=pki.alipay_cert, root_cert=pki.root_cert
    )
    clock = FixedClock(NOW)
    alipay = Alipay(certs, APP_ID, clock=clock)
    body = signed(pki.alipay_key, params())
    assert alipay.parse({}, body).amount == 10000
    clock.advance(timedelta(days=30))
    with pytest.raises(PaymentKeyUnknown) as caught:
        alipay.parse({}, body)
    assert caught.value.message == "no Alipay key or certificate is valid at this time"


# --- app and seller ---------------------------------------------------------------------


def test_notification_for_another_app_names_the_app(alipay: Alipay, alipay_key: SigningKey) -> None:
    error = refused(
        alipay, signed(alipay_key, params(app_id="2021009999")), PaymentMerchantMismatch
    )
    assert error.message == "the notification is for another app"
    error = refused(alipay, signed(alipay_key, params(app_id=None)), PaymentMerchantMismatch)
    assert error.message == "the notification is for another app"


def test_seller_is_checked_only_when_configured(alipay_key: SigningKey) -> None:
    body = signed(alipay_key, params())
    assert Alipay(alipay_key.verifying_key, APP_ID).parse({}, body, at=NOW).amount == 10000
    same = Alipay(alipay_key.verifying_key, APP_ID, seller_id=SELLER)
    assert same.parse({}, body, at=NOW).amount == 10000
    other = Alipay(alipay_key.verifying_key, APP_ID, seller_id="2088000000000000")
    error = refused(other, body, PaymentMerchantMismatch)
    assert error.message == "the notification is for another seller"
    unnamed = signed(alipay_key, params(seller_id=None))
    error = refused(same, unnamed, PaymentMerchantMismatch)
    assert error.message == "the notification is for another seller"


# --- the form and its charset -----------------------------------------------------------


def test_notification_without_charset_is_read_as_utf8(
    alipay: Alipay, alipay_key: SigningKey
) -> None:
    body = signed(alipay_key, params(charset=None, subject="社保缴费"))
    assert b"charset" not in body
    assert alipay.parse({}, body, at=NOW).raw["subject"] == "社保缴费"


@pytest.mark.parametrize("declared", ["GBK", "gb2312", "GB2312"])
def test_gbk_charset_names_in_any_case_are_read_as_gbk(
    alipay: Alipay, alipay_key: SigningKey, declared: str
) -> None:
    body = signed(alipay_key, params(charset=declared, subject="社保缴费"), charset="gbk")
    assert alipay.parse({}, body, at=NOW).raw["subject"] == "社保缴费"


def test_charset_is_read_from_its_own_parameter_only() -> None:
    assert form_charset(b"x_charset=gbk&charset=utf8") == "utf-8"
    assert form_charset(b"a=1&charset= GBK ") == "gbk"
    assert form_charset(b"a=1") == "utf-8"
    assert form_charset(b"encoding=GBK", field="encoding") == "gbk"
    assert form_charset(b"a=1", field="encoding", default="gbk") == "gbk"


@pytest.mark.parametrize("value", [b"ebcdic", b"utf\xff8", b"\xe6\x96\x87", b""])
def test_unsupported_charset_is_malformed(value: bytes) -> None:
    with pytest.raises(PaymentMalformed) as caught:
        form_charset(b"a=1&charset=" + value)
    assert caught.value.message == "the notification declares an unsupported charset"


def sized(key: SigningKey, size: int) -> bytes:
    """A signed notification of exactly ``size`` bytes (padded in its ``body`` parameter).

    Every character of the signature is percent-escaped, so its length does not depend
    on how many of them need escaping.
    """

    def made(pad: int) -> bytes:
        body = signed(key, params(body="x" * pad), sign_type=None)
        unsigned, _, sign = body.rpartition(b"&sign=")
        escaped = "".join(f"%{byte:02X}" for byte in unquote_plus(sign.decode()).encode())
        return unsigned + b"&sign_type=RSA2&sign=" + escaped.encode("ascii")

    return made(size - len(made(0)))


def test_body_limit_is_64_kib_exactly(alipay: Alipay, alipay_key: SigningKey) -> None:
    body = sized(alipay_key, 64 * 1024)
    assert alipay.parse({}, body, at=NOW).amount == 10000
    with pytest.raises(PaymentMalformed) as caught:
        parse_form(body + b"x", "utf-8")
    assert caught.value.message == "the body is missing or too large"


@pytest.mark.parametrize("body", [b"", "a=1", None])
def test_missing_or_text_body_is_malformed(alipay: Alipay, body: Any) -> None:
    error = refused(alipay, body, PaymentMalformed)
    assert error.message == "the body is missing or too large"


def test_empty_values_are_kept_and_signed(alipay: Alipay, alipay_key: SigningKey) -> None:
    fields = params(passback_params="", body="")
    event = alipay.parse({}, signed(alipay_key, fields), at=NOW)
    assert (event.raw["passback_params"], event.raw["body"]) == ("", "")


@pytest.mark.parametrize(
    "tail",
    [
        b"&junk",  # a name without "="
        b"&subject=%FF",  # a percent escape that is not UTF-8
        b"&subject=\xe4",  # a raw byte that is not UTF-8
    ],
)
def test_body_that_is_not_a_form_in_its_charset_is_malformed(
    alipay: Alipay, alipay_key: SigningKey, tail: bytes
) -> None:
    error = refused(alipay, signed(alipay_key, params(subject=None)) + tail, PaymentMalformed)
    assert error.message == "the body is not a form in its declared charset"


def test_gbk_form_with_a_byte_gbk_lacks_is_malformed() -> None:
    with pytest.raises(PaymentMalformed) as caught:
        parse_form(b"charset=gbk&subject=%FF%FF", "gbk")
    assert caught.value.message == "the body is not a form in its declared charset"
    assert parse_form(b"charset=gbk&subject=%C9%E7", "gbk") == {"charset": "gbk", "subject": "社"}


def test_repeated_parameter_is_named_cut_to_64_characters() -> None:
    name = "n" * 80
    with pytest.raises(PaymentMalformed) as caught:
        parse_form(f"{name}=1&a=2&{name}=3".encode(), "utf-8")
    assert caught.value.message == "the form repeats a parameter"
    assert dict(caught.value.context) == {"parameter": "n" * 64}


# --- answers and inspect ----------------------------------------------------------------


def test_answers_are_alipays_exact_bodies(alipay: Alipay) -> None:
    ack = alipay.acknowledge()
    assert (ack.status, ack.body, ack.content_type, ack.ok) == (200, b"success", "text/plain", True)
    retry, refuse = alipay.reject(retry=True), alipay.reject(retry=False)
    assert (retry.status, retry.body, retry.content_type) == (500, b"fail", "text/plain")
    assert (refuse.status, refuse.body, refuse.content_type) == (400, b"fail", "text/plain")


def test_repr_names_the_app_only(alipay: Alipay) -> None:
    assert repr(alipay) == "Alipay(app_id='2021000118600000')"


def test_inspect_says_alipay_signs_no_time(alipay: Alipay, alipay_key: SigningKey) -> None:
    report = alipay.inspect({}, signed(alipay_key, params()), at=NOW)
    assert report.valid
    assert report.event is not None
    assert report.event.amount == 10000
    checks = {check.name: check for check in report.checks}
    assert list(checks) == ["signature", "timestamp", "merchant", "format"]
    assert [check.ok for check in report.checks] == [True, None, True, True]
    assert checks["timestamp"].detail == (
        "Alipay signs no time: freshness NOT checked; only a payment inbox's unique "
        "key stops replays"
    )


def test_inspect_of_a_forgery_fails_the_signature_check(
    alipay: Alipay, other_key: SigningKey
) -> None:
    report = alipay.inspect({}, signed(other_key, params()), at=NOW)
    assert not report.valid
    failed = [check for check in report.checks if check.ok is False]
    assert [(check.name, check.code) for check in failed] == [
        ("signature", "payment.bad_signature")
    ]


# --- the signed text --------------------------------------------------------------------


def test_signed_text_is_every_other_parameter_sorted_and_joined() -> None:
    # spelled out here, not recomputed: the callback makers use alipay_content themselves
    values = {"b": "2", "a": "1", "sign": "x", "sign_type": "RSA2", "c": "", "sign2": "y"}
    assert alipay_content(values) == "a=1&b=2&c=&sign2=y"


def test_every_character_a_gbk_form_decodes_to_encodes_back() -> None:
    """Why ``Alipay.parse`` needs no guard around encoding the signed text: the form's
    names and values were decoded strictly from UTF-8 or GBK, and every character GBK
    decodes to encodes back to the same bytes (UTF-8 decodes no lone surrogates)."""
    for lead in range(0x81, 0xFF):
        for trail in range(0x40, 0xFF):
            pair = bytes((lead, trail))
            try:
                text = pair.decode("gbk")
            except UnicodeDecodeError:
                continue
            assert text.encode("gbk") == pair
    for single in range(0x80):
        assert bytes((single,)).decode("gbk").encode("gbk") == bytes((single,))


def test_inspect_checks_the_certificate_at_the_time_given() -> None:
    pki = alipay_test_pki(NOW, valid_for=timedelta(days=10))
    certs = load_alipay_certificates(
        app_cert=pki.app_cert, alipay_cert=pki.alipay_cert, root_cert=pki.root_cert
    )
    alipay = Alipay(certs, APP_ID, clock=FixedClock(NOW + timedelta(days=30)))
    body = signed(pki.alipay_key, params())
    assert alipay.inspect({}, body, at=NOW).valid
    report = alipay.inspect({}, body)
    assert [(c.name, c.code) for c in report.checks if c.ok is False] == [
        ("signature", "payment.unknown_key")
    ]
