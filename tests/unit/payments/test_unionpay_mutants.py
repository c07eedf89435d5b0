"""UnionPay back notifications, field by field: each test pins one check or one value.

Written against the surviving mutants of ``scripts/mutate.py unionpay``: every reason a
notification is refused is asserted by its code and its message, every normalised field
by its exact value, and every limit (certificate validity, amount length) from both sides.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from urllib.parse import quote_plus

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from govkit.errors import (
    ConfigurationError,
    GovkitError,
    PaymentKeyUnknown,
    PaymentMalformed,
    PaymentMerchantMismatch,
    PaymentSignatureInvalid,
)
from govkit.keys import SigningKey
from govkit.payments import EventKind, Provider, UnionPay, unionpay_content
from govkit.payments._unionpay import _company
from govkit.testing import FixedClock
from govkit.testing.payments import UnionPayTestPki, make_certificate, unionpay_test_pki

from .conftest import NOW

MER_ID = "777290058110048"
COMPANY_CN = "041@Z12@中国银联股份有限公司@00000001"
SECURE_KEY = "k3y-秘钥"


def fields(**changes: str | None) -> dict[str, str]:
    """A paid consumption's fields, unsigned; ``None`` drops one."""
    values: dict[str, str | None] = {
        "version": "5.1.0",
        "encoding": "UTF-8",
        "bizType": "000201",
        "txnType": "01",
        "txnSubType": "01",
        "accessType": "0",
        "merId": MER_ID,
        "orderId": "GOV20260501",
        "txnTime": "20260501155900",
        "txnAmt": "5000",
        "currencyCode": "156",
        "queryId": "Q-771",
        "respCode": "00",
        "respMsg": "成功[0000000]",
    }
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def form(values: dict[str, str], charset: str = "utf-8") -> bytes:
    return "&".join(f"{k}={quote_plus(v, encoding=charset)}" for k, v in values.items()).encode(
        "ascii"
    )


def rsa_signed(
    key: SigningKey,
    cert: x509.Certificate | None,
    values: dict[str, str],
    charset: str = "utf-8",
) -> bytes:
    """signMethod 01: RS256 over the lower-case hex SHA-256 of the sorted fields."""
    values = {**values, "signMethod": "01"}
    if cert is not None:
        values["signPubKeyCert"] = cert.public_bytes(Encoding.PEM).decode("ascii")
    digest = hashlib.sha256(unionpay_content(values).encode(charset)).hexdigest()
    values["signature"] = base64.b64encode(key.sign(digest.encode("ascii"))).decode()
    return form(values, charset)


def key_signed(secure_key: str, values: dict[str, str], charset: str = "utf-8") -> bytes:
    """signMethod 11: hex SHA-256 of the sorted fields, "&" and the key's hex SHA-256."""
    values = {**values, "signMethod": "11"}
    key_hash = hashlib.sha256(secure_key.encode("utf-8")).hexdigest().encode("ascii")
    content = unionpay_content(values).encode(charset) + b"&" + key_hash
    values["signature"] = hashlib.sha256(content).hexdigest()
    return form(values, charset)


def refused(adapter: UnionPay, body: bytes, error: type[GovkitError]) -> GovkitError:
    with pytest.raises(error) as caught:
        adapter.parse({}, body, at=NOW)
    assert type(caught.value) is error
    return caught.value


@pytest.fixture(scope="module")
def pki() -> UnionPayTestPki:
    return unionpay_test_pki(NOW)


@pytest.fixture
def union(pki: UnionPayTestPki) -> UnionPay:
    return UnionPay(roots=[pki.root], intermediates=[pki.middle], mer_id=MER_ID)


@pytest.fixture
def keyed() -> UnionPay:
    return UnionPay(secure_key=SECURE_KEY, mer_id=MER_ID)


def leaf(
    pki: UnionPayTestPki,
    *,
    common_name: str = COMPANY_CN,
    key: SigningKey | None = None,
    not_before: datetime | None = None,
    valid_for: timedelta = timedelta(days=365),
    direct: bool = False,
) -> x509.Certificate:
    """A signing certificate from the middle (or, ``direct``, from the root)."""
    return make_certificate(
        key or pki.signing_key,
        pki.root_key if direct else pki.middle_key,
        common_name=common_name,
        issuer=pki.root if direct else pki.middle,
        not_before=not_before or NOW - timedelta(days=1),
        valid_for=valid_for,
    )


# --- the normalised event ---------------------------------------------------------------


def test_paid_consumption_normalises_every_field(union: UnionPay, pki: UnionPayTestPki) -> None:
    values = fields(origQryId="Q-IGNORED")
    event = union.parse({}, rsa_signed(pki.signing_key, pki.signing, values), at=NOW)
    assert event.provider is Provider.UNIONPAY
    assert event.kind is EventKind.PAID
    assert (event.event_id, event.order_id, event.transaction_id) == (
        "Q-771",
        "GOV20260501",
        "Q-771",
    )
    assert (event.amount, event.currency) == (5000, "CNY")
    assert event.occurred_at == datetime(2026, 5, 1, 7, 59, tzinfo=UTC)  # 15:59 in UTC+8
    assert event.merchant_id == MER_ID
    assert event.refund_id is None
    assert event.status == "01:00"
    assert event.raw["respMsg"] == "成功[0000000]"
    assert event.raw["signMethod"] == "01"


def test_response_code_a6_is_paid_too(keyed: UnionPay) -> None:
    event = keyed.parse({}, key_signed(SECURE_KEY, fields(respCode="A6")), at=NOW)
    assert (event.kind, event.status) == (EventKind.PAID, "01:A6")


@pytest.mark.parametrize("code", ["05", "a6", "000", "0"])
def test_other_response_codes_are_failed_payments(keyed: UnionPay, code: str) -> None:
    event = keyed.parse({}, key_signed(SECURE_KEY, fields(respCode=code)), at=NOW)
    assert (event.kind, event.status) == (EventKind.FAILED, f"01:{code}")


@pytest.mark.parametrize("txn_type", ["04", "31"])
def test_refund_and_void_link_to_the_original_and_name_the_refund(
    keyed: UnionPay, txn_type: str
) -> None:
    values = fields(txnType=txn_type, orderId="RF-1", origQryId="Q-ORIG")
    event = keyed.parse({}, key_signed(SECURE_KEY, values), at=NOW)
    assert (event.kind, event.transaction_id, event.refund_id, event.order_id) == (
        EventKind.REFUNDED,
        "Q-ORIG",
        "RF-1",
        "RF-1",
    )
    assert event.status == f"{txn_type}:00"


def test_failed_refund_without_original_id_is_failed(keyed: UnionPay) -> None:
    values = fields(txnType="04", orderId="RF-2", respCode="12")
    event = keyed.parse({}, key_signed(SECURE_KEY, values), at=NOW)
    assert (event.kind, event.transaction_id, event.refund_id) == (EventKind.FAILED, None, "RF-2")
    empty = fields(txnType="04", orderId="RF-2", origQryId="")
    assert keyed.parse({}, key_signed(SECURE_KEY, empty), at=NOW).transaction_id is None


def test_other_transaction_type_is_other_with_its_query_id(keyed: UnionPay) -> None:
    values = fields(txnType="71", origQryId="Q-ORIG", respCode="05")
    event = keyed.parse({}, key_signed(SECURE_KEY, values), at=NOW)
    assert (event.kind, event.transaction_id, event.refund_id) == (EventKind.OTHER, "Q-771", None)


@pytest.mark.parametrize(
    ("code", "currency"), [("156", "CNY"), ("344", "HKD"), ("840", "USD"), ("978", "EUR")]
)
def test_currency_codes_become_iso_letters(keyed: UnionPay, code: str, currency: str) -> None:
    event = keyed.parse({}, key_signed(SECURE_KEY, fields(currencyCode=code)), at=NOW)
    assert event.currency == currency


def test_missing_currency_code_is_cny(keyed: UnionPay) -> None:
    body = key_signed(SECURE_KEY, fields(currencyCode=None))
    assert keyed.parse({}, body, at=NOW).currency == "CNY"


@pytest.mark.parametrize("code", ["392", "", "CNY"])
def test_unsupported_currency_code_is_malformed(keyed: UnionPay, code: str) -> None:
    error = refused(keyed, key_signed(SECURE_KEY, fields(currencyCode=code)), PaymentMalformed)
    assert error.message == "the currencyCode is not supported"


def test_overlong_transaction_type_makes_a_status_cut_to_64(keyed: UnionPay) -> None:
    txn_type = "9" * 70
    event = keyed.parse({}, key_signed(SECURE_KEY, fields(txnType=txn_type)), at=NOW)
    assert (event.kind, event.status) == (EventKind.OTHER, txn_type[:64])


def test_missing_merchant_id_is_none_when_no_mer_id_is_configured() -> None:
    event = UnionPay(secure_key=SECURE_KEY).parse(
        {}, key_signed(SECURE_KEY, fields(merId="")), at=NOW
    )
    assert event.merchant_id is None


@pytest.mark.parametrize("amount", ["0", "1", "999999999999999"])
def test_amounts_of_up_to_15_digits_are_fen(keyed: UnionPay, amount: str) -> None:
    event = keyed.parse({}, key_signed(SECURE_KEY, fields(txnAmt=amount)), at=NOW)
    assert event.amount == int(amount)


@pytest.mark.parametrize("amount", ["1000000000000000", "50.00", "-1", "１２", "1e3", " 1"])
def test_amount_that_is_not_plain_fen_is_malformed(keyed: UnionPay, amount: str) -> None:
    error = refused(keyed, key_signed(SECURE_KEY, fields(txnAmt=amount)), PaymentMalformed)
    assert error.message == "txnAmt is not an integer amount in fen"


@pytest.mark.parametrize(
    "field", ["txnType", "respCode", "txnAmt", "txnTime", "queryId", "orderId"]
)
@pytest.mark.parametrize("value", [None, ""])
def test_notification_lacking_a_required_field_is_malformed(
    keyed: UnionPay, field: str, value: str | None
) -> None:
    error = refused(keyed, key_signed(SECURE_KEY, fields(**{field: value})), PaymentMalformed)
    assert error.message == f"the notification lacks {field}"
    assert dict(error.context) == {"field": field}


@pytest.mark.parametrize(
    "when",
    [
        "2026-05-01 15:59:00",
        "20260501155900Z",
        "20261301155900",
        "202605011559",  # 12 digits: strptime would read 15:05:09
        "2026050115590",  # 13 digits
        "２０２６０５０１１５５９００",  # full-width digits
        " 20260501155900",
    ],
)
def test_txn_time_not_in_unionpay_format_is_malformed(keyed: UnionPay, when: str) -> None:
    error = refused(keyed, key_signed(SECURE_KEY, fields(txnTime=when)), PaymentMalformed)
    assert error.message == "txnTime is not YYYYMMDDhhmmss"


# --- signMethod 11 ----------------------------------------------------------------------


def test_secure_key_method_accepts_only_the_exact_lower_case_digest(keyed: UnionPay) -> None:
    body = key_signed(SECURE_KEY, fields())
    assert keyed.parse({}, body, at=NOW).amount == 5000
    signature = body.rsplit(b"signature=", 1)[1]
    upper = body.replace(signature, signature.upper())
    error = refused(keyed, upper, PaymentSignatureInvalid)
    assert error.message == "the UnionPay signature does not verify"
    error = refused(keyed, key_signed("another key", fields()), PaymentSignatureInvalid)
    assert error.message == "the UnionPay signature does not verify"


def test_both_methods_verify_when_both_are_configured(pki: UnionPayTestPki) -> None:
    both = UnionPay(roots=[pki.root], intermediates=[pki.middle], secure_key=SECURE_KEY)
    assert both.parse({}, key_signed(SECURE_KEY, fields()), at=NOW).amount == 5000
    body = rsa_signed(pki.signing_key, pki.signing, fields())
    assert both.parse({}, body, at=NOW).amount == 5000


def test_rsa_method_is_refused_without_roots(keyed: UnionPay, pki: UnionPayTestPki) -> None:
    error = refused(keyed, rsa_signed(pki.signing_key, pki.signing, fields()), PaymentMalformed)
    assert error.message == "the notification's signMethod is not accepted"


def test_empty_secure_key_enables_no_method(pki: UnionPayTestPki) -> None:
    adapter = UnionPay(roots=[pki.root], secure_key="")
    error = refused(adapter, key_signed("", fields()), PaymentMalformed)
    assert error.message == "the notification's signMethod is not accepted"


@pytest.mark.parametrize("method", ["02", "12", "1", None])
def test_unknown_sign_method_is_malformed(union: UnionPay, method: str | None) -> None:
    values = fields(signMethod=method, signature="c2lnbmF0dXJl")
    error = refused(union, form(values), PaymentMalformed)
    assert error.message == "the notification's signMethod is not accepted"


def test_empty_signature_is_unsigned(keyed: UnionPay) -> None:
    error = refused(keyed, form(fields(signMethod="11", signature="")), PaymentSignatureInvalid)
    assert error.message == "the notification is not signed"
    error = refused(keyed, form(fields(signMethod="11")), PaymentSignatureInvalid)
    assert error.message == "the notification is not signed"


def test_gbk_notification_is_verified_over_gbk_bytes(keyed: UnionPay, pki: UnionPayTestPki) -> None:
    values = fields(encoding="GBK", respMsg="交易成功")
    body = key_signed(SECURE_KEY, values, charset="gbk")
    assert keyed.parse({}, body, at=NOW).raw["respMsg"] == "交易成功"
    union = UnionPay(roots=[pki.root], intermediates=[pki.middle])
    body = rsa_signed(pki.signing_key, pki.signing, values, charset="gbk")
    assert union.parse({}, body, at=NOW).raw["respMsg"] == "交易成功"


def test_notification_without_encoding_is_read_as_utf8(keyed: UnionPay) -> None:
    body = key_signed(SECURE_KEY, fields(encoding=None))
    assert keyed.parse({}, body, at=NOW).raw["respMsg"] == "成功[0000000]"


def test_unsupported_encoding_is_malformed(keyed: UnionPay) -> None:
    error = refused(keyed, key_signed(SECURE_KEY, fields(encoding="BIG5")), PaymentMalformed)
    assert error.message == "the notification declares an unsupported charset"


@pytest.mark.parametrize("body", [b"", None])
def test_missing_body_is_malformed(keyed: UnionPay, body: bytes | None) -> None:
    error = refused(keyed, body, PaymentMalformed)  # type: ignore[arg-type]
    assert error.message == "the body is missing or too large"


# --- signMethod 01 and the certificate --------------------------------------------------


def test_rsa_signature_by_another_key_names_unionpay(union: UnionPay, pki: UnionPayTestPki) -> None:
    forger = SigningKey.generate("RS256")
    error = refused(union, rsa_signed(forger, pki.signing, fields()), PaymentSignatureInvalid)
    assert error.message == "the UnionPay signature does not verify"


def test_rsa_signature_over_the_content_not_its_digest_is_refused(
    union: UnionPay, pki: UnionPayTestPki
) -> None:
    values = {**fields(), "signMethod": "01", "signPubKeyCert": pki.signing_pem}
    content = unionpay_content(values).encode()
    for signed in (content, hashlib.sha256(content).hexdigest().upper().encode()):
        values["signature"] = base64.b64encode(pki.signing_key.sign(signed)).decode()
        error = refused(union, form(values), PaymentSignatureInvalid)
        assert error.message == "the UnionPay signature does not verify"


def test_rsa_signature_that_is_not_base64_is_malformed(
    union: UnionPay, pki: UnionPayTestPki
) -> None:
    values = fields(signMethod="01", signPubKeyCert=pki.signing_pem, signature="not base64!")
    error = refused(union, form(values), PaymentMalformed)
    assert error.message == "the signature is not base64"


@pytest.mark.parametrize("pem", [None, ""])
def test_rsa_notification_without_its_certificate_is_malformed(
    union: UnionPay, pki: UnionPayTestPki, pem: str | None
) -> None:
    values = fields(signMethod="01", signature="c2ln", signPubKeyCert=pem)
    error = refused(union, form(values), PaymentMalformed)
    assert error.message == "the notification has no signPubKeyCert"


@pytest.mark.parametrize("pem", ["not a certificate", "-----BEGIN CERTIFICATE-----\n证书\n"])
def test_certificate_that_is_not_pem_is_malformed(union: UnionPay, pem: str) -> None:
    values = fields(signMethod="01", signature="c2ln", signPubKeyCert=pem)
    error = refused(union, form(values), PaymentMalformed)
    assert error.message == "signPubKeyCert is not a PEM certificate"


def test_certificate_issued_straight_by_a_root_is_trusted(pki: UnionPayTestPki) -> None:
    direct = leaf(pki, direct=True)
    other_root = unionpay_test_pki(NOW).root
    union = UnionPay(roots=[other_root, pki.root])
    assert union.parse({}, rsa_signed(pki.signing_key, direct, fields()), at=NOW).amount == 5000


def test_second_middle_and_second_root_are_tried(pki: UnionPayTestPki) -> None:
    stranger = unionpay_test_pki(NOW)
    union = UnionPay(roots=[stranger.root, pki.root], intermediates=[stranger.middle, pki.middle])
    body = rsa_signed(pki.signing_key, pki.signing, fields())
    assert union.parse({}, body, at=NOW).amount == 5000


def test_middle_that_chains_to_no_trusted_root_is_refused(pki: UnionPayTestPki) -> None:
    stranger = unionpay_test_pki(NOW)
    union = UnionPay(roots=[stranger.root], intermediates=[pki.middle])
    error = refused(union, rsa_signed(pki.signing_key, pki.signing, fields()), PaymentKeyUnknown)
    assert error.message == "the signing certificate does not chain to a trusted root"
    # the middle alone, without a root over it, is no trust anchor either
    union = UnionPay(roots=[stranger.root], intermediates=[stranger.middle])
    error = refused(union, rsa_signed(pki.signing_key, pki.signing, fields()), PaymentKeyUnknown)
    assert error.message == "the signing certificate does not chain to a trusted root"


def test_leaf_is_valid_from_its_first_to_its_last_second(pki: UnionPayTestPki) -> None:
    start = NOW - timedelta(days=1)
    cert = leaf(pki, not_before=start, valid_for=timedelta(days=2))
    union = UnionPay(roots=[pki.root], intermediates=[pki.middle])
    body = rsa_signed(pki.signing_key, cert, fields())
    end = start + timedelta(days=2)
    for inside in (start, end):
        assert union.parse({}, body, at=inside).amount == 5000
    for outside in (start - timedelta(microseconds=1), end + timedelta(microseconds=1)):
        with pytest.raises(PaymentKeyUnknown) as caught:
            union.parse({}, body, at=outside)
        assert caught.value.message == "a UnionPay certificate is outside its validity"


def test_expired_middle_is_refused_though_the_leaf_is_valid() -> None:
    start = NOW - timedelta(days=10)
    root_key, middle_key, signing_key = (SigningKey.generate("RS256") for _ in range(3))
    root = make_certificate(
        root_key,
        root_key,
        common_name="root",
        ca=True,
        not_before=start,
        valid_for=timedelta(days=100),
    )
    middle = make_certificate(
        middle_key,
        root_key,
        common_name="middle",
        issuer=root,
        ca=True,
        not_before=start,
        valid_for=timedelta(days=5),
    )
    signing = make_certificate(
        signing_key, middle_key, common_name=COMPANY_CN, issuer=middle, not_before=start
    )
    union = UnionPay(roots=[root], intermediates=[middle])
    error = refused(union, rsa_signed(signing_key, signing, fields()), PaymentKeyUnknown)
    assert error.message == "a UnionPay certificate is outside its validity"


def test_expired_root_is_refused_though_the_leaf_is_valid() -> None:
    start = NOW - timedelta(days=10)
    root_key, signing_key = SigningKey.generate("RS256"), SigningKey.generate("RS256")
    root = make_certificate(
        root_key,
        root_key,
        common_name="root",
        ca=True,
        not_before=start,
        valid_for=timedelta(days=5),
    )
    signing = make_certificate(
        signing_key, root_key, common_name=COMPANY_CN, issuer=root, not_before=start
    )
    error = refused(
        UnionPay(roots=[root]), rsa_signed(signing_key, signing, fields()), PaymentKeyUnknown
    )
    assert error.message == "a UnionPay certificate is outside its validity"


def test_clock_is_read_when_no_time_is_given(pki: UnionPayTestPki) -> None:
    clock = FixedClock(NOW)
    union = UnionPay(roots=[pki.root], intermediates=[pki.middle], clock=clock)
    body = rsa_signed(pki.signing_key, pki.signing, fields())
    assert union.parse({}, body).amount == 5000
    clock.advance(timedelta(days=800))
    with pytest.raises(PaymentKeyUnknown) as caught:
        union.parse({}, body)
    assert caught.value.message == "a UnionPay certificate is outside its validity"


@pytest.mark.parametrize(
    "common_name",
    [
        "中国银联股份有限公司",  # the name alone
        "041@Z12@中国银联股份有限公司",  # three parts
        "041@Z12@中国银联股份有限公司@00000001@extra",
    ],
)
def test_company_is_the_third_part_of_the_cn_or_the_whole_cn(
    pki: UnionPayTestPki, common_name: str
) -> None:
    cert = leaf(pki, common_name=common_name)
    union = UnionPay(roots=[pki.root], intermediates=[pki.middle])
    assert union.parse({}, rsa_signed(pki.signing_key, cert, fields()), at=NOW).amount == 5000


@pytest.mark.parametrize(
    "common_name",
    [
        "Z12@中国银联股份有限公司",  # two parts: the whole CN is compared
        "041@中国银联股份有限公司@Z12@00000001",  # the name in another place
        "041@Z12@中国银联股份有限公司 @00000001",
    ],
)
def test_certificate_naming_the_company_elsewhere_is_not_unionpays(
    pki: UnionPayTestPki, common_name: str
) -> None:
    cert = leaf(pki, common_name=common_name)
    union = UnionPay(roots=[pki.root], intermediates=[pki.middle])
    error = refused(union, rsa_signed(pki.signing_key, cert, fields()), PaymentKeyUnknown)
    assert error.message == "the signing certificate is not UnionPay's"


def test_company_check_can_be_switched_off_for_test_environments(pki: UnionPayTestPki) -> None:
    cert = leaf(pki, common_name="041@Z12@测试公司@00000001")
    union = UnionPay(roots=[pki.root], intermediates=[pki.middle], company=None)
    assert union.parse({}, rsa_signed(pki.signing_key, cert, fields()), at=NOW).amount == 5000


def test_company_of_a_certificate_without_a_common_name_is_empty(pki: UnionPayTestPki) -> None:
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "中国银联股份有限公司")])
    private = pki.signing_key.private_key
    assert isinstance(private, rsa.RSAPrivateKey)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(1)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=1))
        .sign(private, hashes.SHA256())
    )
    assert _company(cert) == ""
    assert _company(pki.signing) == "中国银联股份有限公司"
    assert _company(leaf(pki, common_name="a@b")) == "a@b"


def test_signing_certificate_with_an_ec_key_is_unusable(pki: UnionPayTestPki) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, COMPANY_CN)]))
        .issuer_name(pki.middle.subject)
        .public_key(ec_key.public_key())
        .serial_number(2)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=1))
        .sign(pki.middle_key.private_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    values = fields(
        signMethod="01", signature="c2ln", signPubKeyCert=cert.public_bytes(Encoding.PEM).decode()
    )
    union = UnionPay(roots=[pki.root], intermediates=[pki.middle])
    error = refused(union, form(values), PaymentKeyUnknown)
    assert error.message == "the signing certificate has no usable RSA key"


def test_signing_certificate_with_a_weak_rsa_key_is_unusable(pki: UnionPayTestPki) -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - the point
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, COMPANY_CN)]))
        .issuer_name(pki.middle.subject)
        .public_key(weak.public_key())
        .serial_number(3)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=1))
        .sign(pki.middle_key.private_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    values = {
        **fields(),
        "signMethod": "01",
        "signPubKeyCert": cert.public_bytes(Encoding.PEM).decode(),
    }
    digest = hashlib.sha256(unionpay_content(values).encode()).hexdigest().encode()
    values["signature"] = base64.b64encode(
        weak.sign(digest, padding.PKCS1v15(), hashes.SHA256())
    ).decode()
    union = UnionPay(roots=[pki.root], intermediates=[pki.middle])
    error = refused(union, form(values), PaymentKeyUnknown)
    assert error.message == "the signing certificate has no usable RSA key"


# --- merchant, configuration, answers ---------------------------------------------------


def test_notification_for_another_merchant_is_refused(keyed: UnionPay) -> None:
    for mer_id in ("1" * 15, None):
        error = refused(
            keyed, key_signed(SECURE_KEY, fields(merId=mer_id)), PaymentMerchantMismatch
        )
        assert error.message == "the notification is for another merchant"
    anyone = UnionPay(secure_key=SECURE_KEY)
    assert anyone.parse({}, key_signed(SECURE_KEY, fields(merId="1" * 15)), at=NOW).amount == 5000


def test_adapter_without_roots_or_key_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError) as caught:
        UnionPay(intermediates=[], mer_id=MER_ID)
    assert caught.value.message == "UnionPay needs trusted roots (signMethod 01) or a secure key"


def test_answers_are_plain_text(keyed: UnionPay) -> None:
    ack = keyed.acknowledge()
    assert (ack.status, ack.body, ack.content_type, ack.ok) == (200, b"ok", "text/plain", True)
    retry, refuse = keyed.reject(retry=True), keyed.reject(retry=False)
    assert (retry.status, retry.body, retry.content_type) == (500, b"fail", "text/plain")
    assert (refuse.status, refuse.body, refuse.content_type) == (400, b"fail", "text/plain")


def test_repr_names_the_merchant_and_counts_the_roots(pki: UnionPayTestPki) -> None:
    assert repr(UnionPay(roots=[pki.root], mer_id=MER_ID)) == (
        "UnionPay(mer_id='777290058110048', roots=1)"
    )
    assert repr(UnionPay(secure_key="k")) == "UnionPay(mer_id=None, roots=0)"


def test_inspect_says_unionpay_signs_no_time(keyed: UnionPay) -> None:
    report = keyed.inspect({}, key_signed(SECURE_KEY, fields()), at=NOW)
    assert report.valid
    assert [(check.name, check.ok) for check in report.checks] == [
        ("signature", True),
        ("timestamp", None),
        ("merchant", True),
        ("format", True),
    ]
    assert report.checks[1].detail == (
        "UnionPay signs no time: freshness NOT checked; only a payment inbox's unique "
        "key stops replays"
    )


def test_inspect_without_mer_id_says_the_merchant_is_not_checked() -> None:
    report = UnionPay(secure_key=SECURE_KEY).inspect({}, key_signed(SECURE_KEY, fields()), at=NOW)
    assert report.valid
    merchant = report.checks[2]
    assert (merchant.name, merchant.ok, merchant.detail) == (
        "merchant",
        None,
        "no mer_id configured",
    )


def test_signed_text_is_every_field_but_the_signature_sorted_and_joined() -> None:
    # spelled out here, not recomputed: the callback makers use unionpay_content themselves
    values = {"txnAmt": "100", "merId": "7", "signature": "x", "signMethod": "01", "a": ""}
    assert unionpay_content(values) == "a=&merId=7&signMethod=01&txnAmt=100"


def test_inspect_checks_the_certificate_at_the_time_given(pki: UnionPayTestPki) -> None:
    later = FixedClock(NOW + timedelta(days=800))  # every certificate has expired by then
    union = UnionPay(roots=[pki.root], intermediates=[pki.middle], clock=later)
    body = rsa_signed(pki.signing_key, pki.signing, fields())
    assert union.inspect({}, body, at=NOW).valid
    report = union.inspect({}, body)
    assert [(c.name, c.code) for c in report.checks if c.ok is False] == [
        ("signature", "payment.unknown_key")
    ]
