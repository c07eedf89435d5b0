"""WeChat Pay API v3 callbacks: the published AES-GCM vector, every negative path, key refresh."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding

from govkit.errors import (
    ConfigurationError,
    PaymentDecryptFailed,
    PaymentKeyRefreshFailed,
    PaymentKeyUnknown,
    PaymentMalformed,
    PaymentMerchantMismatch,
    PaymentSignatureInvalid,
    PaymentSignatureProbe,
    PaymentTimestampStale,
    VerificationError,
)
from govkit.keys import KeyRecord, SigningKey
from govkit.payments import (
    EventKind,
    Provider,
    WeChatPayV3,
    WeChatPlatformKeys,
    load_wechat_platform_certificate,
    load_wechat_public_key,
)
from govkit.payments._wechat import decrypt_resource
from govkit.testing import FixedClock
from govkit.testing.payments import make_certificate, wechat_callback, wechat_refund_callback

from .conftest import APIV3, NOW, PUB_KEY_ID


def adapter(key: SigningKey, **options: object) -> WeChatPayV3:
    return WeChatPayV3(APIV3, {PUB_KEY_ID: key.verifying_key}, **options)  # type: ignore[arg-type]


def test_published_aes_256_gcm_vector_from_wechatpay_java() -> None:
    # wechatpay-java core/src/test/.../cipher/AeadAesCipherTest.java (TestConfig.API_V3_KEY)
    cipher = AESGCM(b"a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb")
    resource = {
        "algorithm": "AEAD_AES_256_GCM",
        "nonce": "uluk4a9R25RW",
        "associated_data": "associatedData",
        "ciphertext": "ulwSiIajGClcvcOYvOQ7+l+0PAbzzwI=",
    }
    assert decrypt_resource(cipher, resource) == b"message"
    tampered = {**resource, "associated_data": "associatedDatb"}
    with pytest.raises(PaymentDecryptFailed):
        decrypt_resource(cipher, tampered)


@pytest.mark.parametrize(
    "ciphertext",
    [
        "ulwSiIajGClcvcOYvOQ7+l+0PAbzzwI",  # padding missing
        "ulwSiIaj GClcvcOYvOQ7+l+0PAbzzwI=",  # a space inside
        "密文密文",  # not ASCII
        "",
        "====",
    ],
)
def test_resource_ciphertext_that_is_not_strict_base64_is_malformed(ciphertext: str) -> None:
    cipher = AESGCM(b"a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb")
    resource = {
        "algorithm": "AEAD_AES_256_GCM",
        "nonce": "uluk4a9R25RW",
        "associated_data": "associatedData",
        "ciphertext": ciphertext,
    }
    with pytest.raises(PaymentMalformed, match="ciphertext"):
        decrypt_resource(cipher, resource)


def test_genuine_payment_is_verified_decrypted_and_normalised(platform_key: SigningKey) -> None:
    headers, body = wechat_callback(
        platform_key, PUB_KEY_ID, APIV3, order_id="GOV-1", amount=12345, at=NOW, payer_amount=12000
    )
    event = adapter(platform_key, mchid="1900000109").parse(headers, body, at=NOW)
    assert event.provider is Provider.WECHATPAY
    assert event.kind is EventKind.PAID
    assert (event.order_id, event.amount, event.payer_amount, event.currency) == (
        "GOV-1",
        12345,
        12000,
        "CNY",
    )
    assert event.occurred_at == NOW
    assert event.event_id == json.loads(body)["id"]
    assert event.raw["resource"]["out_trade_no"] == "GOV-1"


def test_refund_callback_is_normalised_as_refund(platform_key: SigningKey) -> None:
    headers, body = wechat_refund_callback(
        platform_key, PUB_KEY_ID, APIV3, order_id="GOV-2", refund=300, total=1000, at=NOW
    )
    event = adapter(platform_key).parse(headers, body, at=NOW)
    assert (event.kind, event.amount, event.total) == (EventKind.PARTIALLY_REFUNDED, 300, 1000)
    assert event.refund_id is not None


def test_signtest_probe_is_refused_with_a_4xx(platform_key: SigningKey) -> None:
    headers, body = wechat_callback(platform_key, PUB_KEY_ID, APIV3, order_id="G", amount=1, at=NOW)
    headers["Wechatpay-Signature"] = "WECHATPAY/SIGNTEST/" + headers["Wechatpay-Signature"]
    wechat = adapter(platform_key)
    with pytest.raises(PaymentSignatureProbe) as caught:
        wechat.parse(headers, body, at=NOW)
    assert isinstance(caught.value, PaymentSignatureInvalid)
    assert 400 <= wechat.reject(retry=False).status < 500


@pytest.mark.parametrize("skew", [300, -300, 3600, -86400 * 365 * 25])
def test_replayed_or_future_timestamp_is_stale(platform_key: SigningKey, skew: int) -> None:
    headers, body = wechat_callback(
        platform_key,
        PUB_KEY_ID,
        APIV3,
        order_id="G",
        amount=1,
        at=NOW,
        timestamp=int(NOW.timestamp()) - skew,
    )
    with pytest.raises(PaymentTimestampStale):
        adapter(platform_key).parse(headers, body, at=NOW)


def test_timestamp_just_inside_the_window_passes(platform_key: SigningKey) -> None:
    for skew in (299, -299):
        headers, body = wechat_callback(
            platform_key,
            PUB_KEY_ID,
            APIV3,
            order_id="G",
            amount=1,
            at=NOW,
            timestamp=int(NOW.timestamp()) - skew,
        )
        assert adapter(platform_key).parse(headers, body, at=NOW).amount == 1


def _resign(key: SigningKey, headers: Mapping[str, str], body: bytes, stamp: str) -> dict[str, str]:
    """``headers`` with ``Wechatpay-Timestamp: stamp``, signed over that exact text."""
    message = f"{stamp}\n{headers['Wechatpay-Nonce']}\n".encode() + body + b"\n"
    signature = base64.b64encode(key.sign(message)).decode()
    return {**headers, "Wechatpay-Timestamp": stamp, "Wechatpay-Signature": signature}


def test_timestamp_is_verified_as_the_header_text_sent(platform_key: SigningKey) -> None:
    """The signed line is the header's text: a leading zero is part of what was signed."""
    headers, body = wechat_callback(platform_key, PUB_KEY_ID, APIV3, order_id="G", amount=1, at=NOW)
    stamp = "0" + headers["Wechatpay-Timestamp"]
    assert adapter(platform_key).parse(_resign(platform_key, headers, body, stamp), body, at=NOW)
    # the same time without the zero was not what this signature covers
    zero_signed = _resign(platform_key, headers, body, stamp)
    stripped = {**zero_signed, "Wechatpay-Timestamp": stamp[1:]}
    with pytest.raises(PaymentSignatureInvalid):
        adapter(platform_key).parse(stripped, body, at=NOW)


def test_forged_signature_by_another_key_is_refused(
    platform_key: SigningKey, other_key: SigningKey
) -> None:
    headers, body = wechat_callback(other_key, PUB_KEY_ID, APIV3, order_id="G", amount=1, at=NOW)
    with pytest.raises(PaymentSignatureInvalid):
        adapter(platform_key).parse(headers, body, at=NOW)


def test_re_serialised_body_fails_the_signature(platform_key: SigningKey) -> None:
    headers, body = wechat_callback(platform_key, PUB_KEY_ID, APIV3, order_id="G", amount=1, at=NOW)
    reserialised = json.dumps(json.loads(body), indent=1).encode()
    with pytest.raises(PaymentSignatureInvalid):
        adapter(platform_key).parse(headers, reserialised, at=NOW)


def test_tampered_amount_in_body_fails_the_signature(platform_key: SigningKey) -> None:
    headers, body = wechat_callback(platform_key, PUB_KEY_ID, APIV3, order_id="G", amount=1, at=NOW)
    with pytest.raises(PaymentSignatureInvalid):
        adapter(platform_key).parse(headers, body.replace(b'"id":"EV', b'"id":"XV'), at=NOW)


def test_unknown_serial_is_unknown_key(platform_key: SigningKey) -> None:
    headers, body = wechat_callback(
        platform_key, "PUB_KEY_ID_999", APIV3, order_id="G", amount=1, at=NOW
    )
    with pytest.raises(PaymentKeyUnknown) as caught:
        adapter(platform_key).parse(headers, body, at=NOW)
    assert isinstance(caught.value, VerificationError)


def test_wrong_apiv3_key_is_decrypt_failed_not_none(platform_key: SigningKey) -> None:
    headers, body = wechat_callback(
        platform_key, PUB_KEY_ID, "X" * 32, order_id="G", amount=1, at=NOW
    )
    with pytest.raises(PaymentDecryptFailed):
        adapter(platform_key).parse(headers, body, at=NOW)


def test_callback_for_another_merchant_is_refused(platform_key: SigningKey) -> None:
    headers, body = wechat_callback(
        platform_key, PUB_KEY_ID, APIV3, order_id="G", amount=1, at=NOW, mchid="1111"
    )
    with pytest.raises(PaymentMerchantMismatch):
        adapter(platform_key, mchid="2222").parse(headers, body, at=NOW)


@pytest.mark.parametrize(
    "missing",
    ["Wechatpay-Signature", "Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Serial"],
)
def test_missing_header_is_malformed(platform_key: SigningKey, missing: str) -> None:
    headers, body = wechat_callback(platform_key, PUB_KEY_ID, APIV3, order_id="G", amount=1, at=NOW)
    del headers[missing]
    with pytest.raises(PaymentMalformed):
        adapter(platform_key).parse(headers, body, at=NOW)


def test_other_signature_type_is_refused(platform_key: SigningKey) -> None:
    headers, body = wechat_callback(platform_key, PUB_KEY_ID, APIV3, order_id="G", amount=1, at=NOW)
    headers["Wechatpay-Signature-Type"] = "WECHATPAY2-SM2-WITH-SM3"
    with pytest.raises(PaymentMalformed):
        adapter(platform_key).parse(headers, body, at=NOW)


def test_headers_are_found_case_insensitively_and_in_wsgi_form(platform_key: SigningKey) -> None:
    headers, body = wechat_callback(platform_key, PUB_KEY_ID, APIV3, order_id="G", amount=7, at=NOW)
    lower = {k.lower(): v for k, v in headers.items()}
    wsgi = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}
    assert adapter(platform_key).parse(lower, body, at=NOW).amount == 7
    assert adapter(platform_key).parse(wsgi, body, at=NOW).amount == 7


def test_clock_is_read_when_no_time_is_given(platform_key: SigningKey) -> None:
    headers, body = wechat_callback(platform_key, PUB_KEY_ID, APIV3, order_id="G", amount=1, at=NOW)
    clock = FixedClock(NOW)
    wechat = adapter(platform_key, clock=clock)
    assert wechat.parse(headers, body).amount == 1
    clock.advance(timedelta(minutes=6))
    with pytest.raises(PaymentTimestampStale):
        wechat.parse(headers, body)


def test_apiv3_key_of_wrong_length_is_a_configuration_error(platform_key: SigningKey) -> None:
    with pytest.raises(ConfigurationError):
        WeChatPayV3("testMchAPIv3Key0", {PUB_KEY_ID: platform_key.verifying_key})


def certificate_for(key: SigningKey, serial: int, days: int = 365) -> x509.Certificate:
    return make_certificate(
        key,
        key,
        common_name="Tenpay.com Root CA",
        serial=serial,
        not_before=NOW - timedelta(days=1),
        valid_for=timedelta(days=days),
    )


def loaded(cert: x509.Certificate) -> KeyRecord:
    """The certificate as the merchant platform hands it out (PEM), loaded."""
    return load_wechat_platform_certificate(cert.public_bytes(Encoding.PEM))


def test_platform_certificates_and_public_key_ids_work_side_by_side(
    platform_key: SigningKey, other_key: SigningKey
) -> None:
    cert = certificate_for(other_key, 0x5157F09EFDC096DE15EBE81A47057A7232F1B8E1)
    wechat = WeChatPayV3(
        APIV3,
        [load_wechat_public_key(platform_key.verifying_key.to_pem(), PUB_KEY_ID), loaded(cert)],
    )
    for key, key_id in ((platform_key, PUB_KEY_ID), (other_key, format(cert.serial_number, "X"))):
        headers, body = wechat_callback(key, key_id, APIV3, order_id="G", amount=3, at=NOW)
        assert wechat.parse(headers, body, at=NOW).amount == 3


def test_callback_signed_by_one_trusted_key_under_anothers_serial_is_refused(
    platform_key: SigningKey, other_key: SigningKey
) -> None:
    """Each serial's signature check is prepared once, and only with its own key: a
    signature by another key of the same ring (or one downloaded later) never passes."""
    cert = certificate_for(other_key, 0xA1B2C3)
    clock = FixedClock(NOW)
    ring = WeChatPlatformKeys(
        [load_wechat_public_key(platform_key.verifying_key.to_pem(), PUB_KEY_ID)],
        downloader=CountingDownloader({"A1B2C3": cert}),
        clock=clock,
    )
    wechat = WeChatPayV3(APIV3, ring, clock=clock)
    for signer, key_id in ((platform_key, "A1B2C3"), (other_key, PUB_KEY_ID)):
        headers, body = wechat_callback(signer, key_id, APIV3, order_id="G", amount=1, at=NOW)
        with pytest.raises(PaymentSignatureInvalid) as caught:
            wechat.parse(headers, body)
        assert caught.value.code == "payment.bad_signature"
    assert ring.key_ids == ("A1B2C3", PUB_KEY_ID)
    for signer, key_id in ((other_key, "A1B2C3"), (platform_key, PUB_KEY_ID)):
        headers, body = wechat_callback(signer, key_id, APIV3, order_id="G", amount=2, at=NOW)
        assert wechat.parse(headers, body).amount == 2


def test_expired_platform_certificate_is_refused(platform_key: SigningKey) -> None:
    cert = certificate_for(platform_key, 0xABCDEF, days=2)
    wechat = WeChatPayV3(APIV3, [loaded(cert)])
    later = NOW + timedelta(days=3)
    headers, body = wechat_callback(platform_key, "ABCDEF", APIV3, order_id="G", amount=1, at=later)
    with pytest.raises(PaymentKeyUnknown):
        wechat.parse(headers, body, at=later)


class CountingDownloader:
    """A downloader that returns a fixed set of certificates and counts calls."""

    def __init__(self, certs: Mapping[str, x509.Certificate], fail: bool = False) -> None:
        self.certs = dict(certs)
        self.calls = 0
        self.fail = fail

    def __call__(self) -> list[KeyRecord]:
        self.calls += 1
        if self.fail:
            raise PaymentKeyRefreshFailed("download failed")
        return [loaded(cert) for cert in self.certs.values()]


def test_unknown_serial_triggers_one_refresh_then_verifies(platform_key: SigningKey) -> None:
    new_cert = certificate_for(platform_key, 0x1234ABCD)
    downloader = CountingDownloader({"1234ABCD": new_cert})
    clock = FixedClock(NOW)
    ring = WeChatPlatformKeys({}, downloader=downloader, clock=clock)
    wechat = WeChatPayV3(APIV3, ring, clock=clock)
    headers, body = wechat_callback(platform_key, "1234ABCD", APIV3, order_id="G", amount=5, at=NOW)
    assert wechat.parse(headers, body).amount == 5
    assert wechat.parse(headers, body).amount == 5
    assert downloader.calls == 1


def test_attacker_chosen_serials_cause_at_most_one_refresh_per_interval(
    platform_key: SigningKey,
) -> None:
    downloader = CountingDownloader({})
    clock = FixedClock(NOW)
    ring = WeChatPlatformKeys(
        {}, downloader=downloader, clock=clock, min_refresh_interval=timedelta(minutes=5)
    )
    wechat = WeChatPayV3(APIV3, ring, clock=clock)
    for serial in ("AAAA01", "AAAA02", "AAAA03", "AAAA04"):
        headers, body = wechat_callback(platform_key, serial, APIV3, order_id="G", amount=1, at=NOW)
        with pytest.raises(PaymentKeyUnknown):
            wechat.parse(headers, body)
    assert downloader.calls == 1
    clock.advance(timedelta(minutes=5))
    headers, body = wechat_callback(
        platform_key, "AAAA05", APIV3, order_id="G", amount=1, at=clock.now()
    )
    with pytest.raises(PaymentKeyUnknown):
        wechat.parse(headers, body)
    assert downloader.calls == 2


def test_unknown_public_key_id_never_triggers_a_download(platform_key: SigningKey) -> None:
    downloader = CountingDownloader({})
    wechat = WeChatPayV3(APIV3, WeChatPlatformKeys({}, downloader=downloader))
    headers, body = wechat_callback(
        platform_key, "PUB_KEY_ID_77", APIV3, order_id="G", amount=1, at=NOW
    )
    with pytest.raises(PaymentKeyUnknown):
        wechat.parse(headers, body, at=NOW)
    assert downloader.calls == 0


def test_failed_refresh_is_an_environment_error_not_a_forgery(platform_key: SigningKey) -> None:
    ring = WeChatPlatformKeys({}, downloader=CountingDownloader({}, fail=True))
    wechat = WeChatPayV3(APIV3, ring)
    headers, body = wechat_callback(platform_key, "BBBB", APIV3, order_id="G", amount=1, at=NOW)
    with pytest.raises(PaymentKeyRefreshFailed) as caught:
        wechat.parse(headers, body, at=NOW)
    assert not isinstance(caught.value, VerificationError)
