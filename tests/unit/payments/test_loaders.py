"""Keys at the edge: loaders for what providers hand out, and adapters that take govkit keys.

Provenance of the rules checked here:

* WeChat Pay: a platform certificate's key id is its serial number in upper-case hex,
  as ``Wechatpay-Serial`` names it; a platform public key's id is the ``PUB_KEY_ID_...``
  the merchant platform shows (``shared/specs/payments.md`` section 1).
* Alipay: the console shows the Alipay public key as base64 of the DER
  SubjectPublicKeyInfo without PEM armour. In certificate mode ``app_cert_sn`` and
  ``alipay_root_cert_sn`` are MD5 of the issuer name and the decimal serial, as
  Alipay's Java SDK (``AlipaySignature.getCertSN`` / ``getRootCertSN``) computes them.
  python-alipay-sdk (``alipay.DCAliPay``, installed) reproduces that rule and is the
  independent oracle below, on a chain made with ``cryptography`` for each run.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import textwrap
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from govkit.errors import (
    ConfigurationError,
    GovkitError,
    InvalidKey,
    KeysError,
    PaymentKeyUnknown,
    PaymentSignatureInvalid,
    WeakKey,
)
from govkit.keys import KeyRecord, KeyRing, SigningKey, VerifyingKey
from govkit.payments import (
    Alipay,
    AlipayCertificates,
    AlipayClient,
    WeChatPayClient,
    WeChatPayV3,
    WeChatPlatformKeys,
    alipay_cert_sn,
    alipay_root_cert_sn,
    load_alipay_certificates,
    load_alipay_public_key,
    load_standard_webhooks_public_key,
    load_wechat_platform_certificate,
    load_wechat_public_key,
)
from govkit.testing import FixedClock
from govkit.testing.payments import (
    AlipayTestPki,
    alipay_callback,
    alipay_test_pki,
    make_certificate,
    wechat_callback,
)

from .conftest import APIV3, NOW, PUB_KEY_ID

APP_ID = "2021000118600000"
SERIAL = 0x5157F09EFDC096DE15EBE81A47057A7232F1B8E1


def spki_der(key: SigningKey) -> bytes:
    return key.verifying_key.public_key.public_bytes(
        Encoding.DER, PublicFormat.SubjectPublicKeyInfo
    )


def plain_pem(key: SigningKey) -> bytes:
    """SubjectPublicKeyInfo PEM as providers write it (no govkit ``alg:`` line)."""
    return key.verifying_key.public_key.public_bytes(
        Encoding.PEM, PublicFormat.SubjectPublicKeyInfo
    )


@pytest.fixture(scope="module")
def pki() -> AlipayTestPki:
    return alipay_test_pki(NOW)


# --- WeChat Pay: platform certificates ------------------------------------------------


def platform_certificate(key: SigningKey, serial: int = SERIAL, days: int = 30) -> x509.Certificate:
    return make_certificate(
        key,
        key,
        common_name="Tenpay.com Root CA",
        serial=serial,
        not_before=NOW - timedelta(days=1),
        valid_for=timedelta(days=days),
    )


def test_wechat_certificate_pem_loads_as_a_key_named_by_its_serial(
    platform_key: SigningKey,
) -> None:
    cert = platform_certificate(platform_key)
    pem = cert.public_bytes(Encoding.PEM)
    record = load_wechat_platform_certificate(pem)
    assert record.aliases == ("5157F09EFDC096DE15EBE81A47057A7232F1B8E1",)
    assert record.key == platform_key.verifying_key
    assert record.key.alg == "RS256"
    assert record.not_before == cert.not_valid_before_utc
    assert record.valid_at(cert.not_valid_after_utc)  # notAfter is included
    assert not record.valid_at(cert.not_valid_after_utc + timedelta(microseconds=1))
    assert not record.valid_at(cert.not_valid_before_utc - timedelta(microseconds=1))
    assert load_wechat_platform_certificate(pem.decode()) == record


@pytest.mark.parametrize(
    "header_serial",
    [
        "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
        "5157f09efdc096de15ebe81a47057a7232f1b8e1",  # lower case
        "005157F09EFDC096DE15EBE81A47057A7232F1B8E1",  # leading zeros
    ],
)
def test_wechat_certificate_key_verifies_callbacks_by_serial(
    platform_key: SigningKey, header_serial: str
) -> None:
    pem = platform_certificate(platform_key).public_bytes(Encoding.PEM)
    wechat = WeChatPayV3(APIV3, [load_wechat_platform_certificate(pem)])
    headers, body = wechat_callback(
        platform_key, header_serial, APIV3, order_id="G", amount=7, at=NOW
    )
    assert wechat.parse(headers, body, at=NOW).amount == 7


def test_expired_wechat_certificate_is_an_unknown_key_not_a_bad_signature(
    platform_key: SigningKey,
) -> None:
    cert = platform_certificate(platform_key, days=2)
    wechat = WeChatPayV3(APIV3, [load_wechat_platform_certificate(cert.public_bytes(Encoding.PEM))])
    later = cert.not_valid_after_utc + timedelta(seconds=1)
    headers, body = wechat_callback(
        platform_key, format(SERIAL, "X"), APIV3, order_id="G", amount=1, at=later
    )
    with pytest.raises(PaymentKeyUnknown) as caught:
        wechat.parse(headers, body, at=later)
    assert caught.value.context["key_id"] == format(SERIAL, "X")
    at_the_last_second = cert.not_valid_after_utc
    headers, body = wechat_callback(
        platform_key, format(SERIAL, "X"), APIV3, order_id="G", amount=1, at=at_the_last_second
    )
    assert wechat.parse(headers, body, at=at_the_last_second).amount == 1


@pytest.mark.parametrize(
    "not_a_certificate",
    [b"", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "not pem", 42],
)
def test_wechat_certificate_loader_refuses_what_is_not_a_certificate(
    not_a_certificate: object,
) -> None:
    with pytest.raises(InvalidKey):
        load_wechat_platform_certificate(not_a_certificate)  # type: ignore[arg-type]


def test_wechat_certificate_with_a_weak_rsa_key_is_refused() -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - the point
    cert = make_certificate(weak, weak, common_name="weak", not_before=NOW)
    with pytest.raises(WeakKey):
        load_wechat_platform_certificate(cert.public_bytes(Encoding.PEM))


def test_wechat_certificate_with_an_ec_key_is_refused() -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ec")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(ec_key.public_key())
        .serial_number(7)
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=1))
        .sign(ec_key, hashes.SHA256())
    )
    with pytest.raises(InvalidKey, match="not an RSA public key"):
        load_wechat_platform_certificate(cert.public_bytes(Encoding.PEM))


# --- WeChat Pay: platform public keys -----------------------------------------------------


def test_wechat_public_key_pem_loads_with_its_key_id(platform_key: SigningKey) -> None:
    record = load_wechat_public_key(plain_pem(platform_key), PUB_KEY_ID)
    assert record.aliases == (PUB_KEY_ID,)
    assert (record.not_before, record.not_after) == (None, None)  # these keys never expire
    assert record.key == platform_key.verifying_key
    wechat = WeChatPayV3(APIV3, [record])
    headers, body = wechat_callback(platform_key, PUB_KEY_ID, APIV3, order_id="G", amount=5, at=NOW)
    assert wechat.parse(headers, body, at=NOW).amount == 5
    assert load_wechat_public_key(plain_pem(platform_key).decode(), PUB_KEY_ID) == record


def test_wechat_public_key_needs_a_pub_key_id(platform_key: SigningKey) -> None:
    with pytest.raises(ConfigurationError, match="PUB_KEY_ID_"):
        load_wechat_public_key(plain_pem(platform_key), "5157F09EFDC096DE15EBE81A47057A7232F1B8E1")


def test_wechat_public_key_loader_refuses_certificates_private_keys_and_ec_keys(
    platform_key: SigningKey,
) -> None:
    cert_pem = platform_certificate(platform_key).public_bytes(Encoding.PEM)
    private_pem = platform_key.private_key.private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
    )
    ec_pem = SigningKey.generate("ES256").verifying_key.public_key.public_bytes(
        Encoding.PEM, PublicFormat.SubjectPublicKeyInfo
    )
    for pem in (cert_pem, private_pem, ec_pem):
        with pytest.raises(InvalidKey):
            load_wechat_public_key(pem, PUB_KEY_ID)


def test_certificate_and_public_key_side_by_side_in_a_key_ring(
    platform_key: SigningKey, other_key: SigningKey
) -> None:
    cert_record = load_wechat_platform_certificate(
        platform_certificate(other_key).public_bytes(Encoding.PEM)
    )
    ring = KeyRing(clock=FixedClock(NOW))
    ring.add(platform_key.verifying_key, kid=PUB_KEY_ID)
    ring.add(
        cert_record.key,
        kid=cert_record.aliases[0],
        not_before=cert_record.not_before,
        not_after=cert_record.not_after,
    )
    wechat = WeChatPayV3(APIV3, ring)
    assert wechat.keys.key_ids == ("5157F09EFDC096DE15EBE81A47057A7232F1B8E1", PUB_KEY_ID)
    for key, key_id in ((platform_key, PUB_KEY_ID), (other_key, cert_record.aliases[0])):
        headers, body = wechat_callback(key, key_id, APIV3, order_id="G", amount=3, at=NOW)
        assert wechat.parse(headers, body, at=NOW).amount == 3


def test_key_without_a_wechat_key_id_is_refused(platform_key: SigningKey) -> None:
    with pytest.raises(ConfigurationError, match="alias"):
        WeChatPayV3(APIV3, [KeyRecord(platform_key.verifying_key)])
    ring = KeyRing()
    ring.add(platform_key.verifying_key)
    with pytest.raises(ConfigurationError, match="alias"):
        WeChatPlatformKeys(ring)


def test_two_keys_claiming_one_wechat_key_id_are_refused(
    platform_key: SigningKey, other_key: SigningKey
) -> None:
    first = load_wechat_public_key(plain_pem(platform_key), PUB_KEY_ID)
    second = load_wechat_public_key(plain_pem(other_key), PUB_KEY_ID)
    with pytest.raises(ConfigurationError, match="same key id"):
        WeChatPayV3(APIV3, [first, second])


def test_lookup_returns_the_govkit_key(platform_key: SigningKey) -> None:
    keys = WeChatPlatformKeys({PUB_KEY_ID: platform_key.verifying_key})
    assert keys.lookup(PUB_KEY_ID, NOW) is platform_key.verifying_key


# --- migration: raw cryptography objects and PEM text are refused, loudly ---------------


def test_raw_cryptography_objects_and_pem_are_refused_with_the_loader_named(
    platform_key: SigningKey, alipay_key: SigningKey
) -> None:
    cert = platform_certificate(platform_key)
    raw_public = platform_key.verifying_key.public_key
    for value in (cert, raw_public, plain_pem(platform_key), plain_pem(platform_key).decode()):
        with pytest.raises(ConfigurationError, match="load_wechat_platform_certificate"):
            WeChatPayV3(APIV3, {PUB_KEY_ID: value})  # type: ignore[dict-item]
        with pytest.raises(ConfigurationError, match="load_alipay_public_key"):
            Alipay(value, APP_ID)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="load_wechat_platform_certificate"):
        WeChatPayClient(
            mchid="1900000109",
            merchant_serial="SERIAL",
            merchant_key=platform_key,
            platform_keys={PUB_KEY_ID: cert},  # type: ignore[dict-item]
        )
    with pytest.raises(ConfigurationError, match="load_alipay_public_key"):
        AlipayClient(
            app_id=APP_ID,
            app_private_key=alipay_key,
            alipay_public_key=alipay_key.verifying_key.public_key,  # type: ignore[arg-type]
        )


def test_an_rsa_key_meant_for_pss_is_refused(platform_key: SigningKey) -> None:
    # the same RSA key as PS256 would verify every PKCS#1 v1.5 callback as bad
    as_pss = VerifyingKey(platform_key.verifying_key.public_key, "PS256")
    with pytest.raises(ConfigurationError, match="RS256"):
        WeChatPayV3(APIV3, {PUB_KEY_ID: as_pss})
    with pytest.raises(ConfigurationError, match="RS256"):
        Alipay(as_pss, APP_ID)


# --- Alipay: the console's bare base64 public key ------------------------------------


def test_alipay_bare_base64_public_key_loads(alipay_key: SigningKey) -> None:
    console = base64.b64encode(spki_der(alipay_key)).decode()
    assert console.startswith("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA")
    key = load_alipay_public_key(console)
    assert key == alipay_key.verifying_key
    assert key.alg == "RS256"
    wrapped = "\n".join(textwrap.wrap(console, 64)) + "\n"  # as pasted from a file
    assert load_alipay_public_key(wrapped) == key
    assert load_alipay_public_key(console.encode()) == key
    assert load_alipay_public_key(plain_pem(alipay_key)) == key  # PEM armour is fine too
    headers, body = alipay_callback(alipay_key, APP_ID, order_id="G", amount=9, at=NOW)
    assert Alipay(key, APP_ID).parse(headers, body, at=NOW).amount == 9


@pytest.mark.parametrize(
    "text",
    ["", "not base64!", base64.b64encode(b"\x30\x03\x02\x01\x01").decode(), "MIIB"],
)
def test_alipay_public_key_loader_refuses_what_is_not_a_key(text: str) -> None:
    with pytest.raises(InvalidKey):
        load_alipay_public_key(text)


def test_alipay_public_key_loader_refuses_the_apps_private_key(alipay_key: SigningKey) -> None:
    der = alipay_key.private_key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
    with pytest.raises(InvalidKey):
        load_alipay_public_key(base64.b64encode(der).decode())


def test_alipay_public_key_loader_refuses_a_weak_key() -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - the point
    der = weak.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(WeakKey):
        load_alipay_public_key(base64.b64encode(der).decode())


# --- Alipay: public-key-certificate mode --------------------------------------------


def dcalipay(pki: AlipayTestPki):  # type: ignore[no-untyped-def]
    from alipay import DCAliPay  # noqa: PLC0415

    return DCAliPay(
        appid=APP_ID,
        app_private_key_string=pki.app_key.private_key.private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
        ).decode(),
        app_public_key_cert_string=pki.app_cert,
        alipay_public_key_cert_string=pki.alipay_cert,
        alipay_root_cert_string=pki.root_cert,
    )


#: python-alipay-sdk reads certificates with pyOpenSSL calls that pyOpenSSL deprecates.
SDK_DEPRECATIONS = pytest.mark.filterwarnings("ignore::DeprecationWarning:alipay")


@SDK_DEPRECATIONS
def test_alipay_cert_sns_equal_python_alipay_sdks(pki: AlipayTestPki) -> None:
    from alipay import DCAliPay  # noqa: PLC0415

    sdk = dcalipay(pki)
    certs = load_alipay_certificates(
        app_cert=pki.app_cert, alipay_cert=pki.alipay_cert, root_cert=pki.root_cert
    )
    assert certs.app_cert_sn == sdk.app_cert_sn == alipay_cert_sn(pki.app_cert)
    assert certs.alipay_root_cert_sn == sdk.alipay_root_cert_sn
    assert certs.alipay_root_cert_sn == alipay_root_cert_sn(pki.root_cert)
    assert certs.alipay_cert_sn == DCAliPay.get_cert_sn(pki.alipay_cert)
    # two RSA-signed roots count, the ECDSA-signed one does not
    assert len(certs.alipay_root_cert_sn.split("_")) == 2
    assert all(len(sn) == 32 for sn in certs.alipay_root_cert_sn.split("_"))


def test_alipay_cert_sn_is_md5_of_the_rfc2253_issuer_and_decimal_serial(
    pki: AlipayTestPki,
) -> None:
    # The rule written out (Alipay's Java SDK: md5(getIssuerX500Principal().getName()
    # + getSerialNumber())), with the issuer in RFC 2253 order, last RDN first.
    issuer = "CN=govkit test Alipay Class 2 R1,OU=Certification Authority,O=govkit test,C=CN"
    expected = hashlib.md5(f"{issuer}{pki.app.serial_number}".encode()).hexdigest()  # noqa: S324
    assert alipay_cert_sn(pki.app_cert) == expected


def test_alipay_certificate_mode_key_comes_from_the_alipay_certificate(
    pki: AlipayTestPki,
) -> None:
    certs = load_alipay_certificates(
        app_cert=pki.app_cert, alipay_cert=pki.alipay_cert, root_cert=pki.root_cert
    )
    assert certs.alipay_key.key == pki.alipay_key.verifying_key
    assert certs.alipay_key.aliases == (certs.alipay_cert_sn,)
    assert certs.alipay_key.not_before == pki.alipay.not_valid_before_utc
    assert certs.alipay_key.valid_at(pki.alipay.not_valid_after_utc)
    assert "BEGIN" not in repr(certs)
    assert certs.app_cert_sn in repr(certs)
    headers, body = alipay_callback(pki.alipay_key, APP_ID, order_id="G", amount=12, at=NOW)
    assert Alipay(certs, APP_ID).parse(headers, body, at=NOW).amount == 12
    forged_headers, forged = alipay_callback(pki.app_key, APP_ID, order_id="G", amount=12, at=NOW)
    with pytest.raises(PaymentSignatureInvalid):
        Alipay(certs, APP_ID).parse(forged_headers, forged, at=NOW)


def test_alipay_certificate_mode_refuses_notifications_after_the_certificate_expires() -> None:
    short = alipay_test_pki(NOW, valid_for=timedelta(days=3))
    certs = load_alipay_certificates(
        app_cert=short.app_cert, alipay_cert=short.alipay_cert, root_cert=short.root_cert
    )
    later = short.alipay.not_valid_after_utc + timedelta(seconds=1)
    headers, body = alipay_callback(short.alipay_key, APP_ID, order_id="G", amount=1, at=later)
    with pytest.raises(PaymentKeyUnknown):
        Alipay(certs, APP_ID).parse(headers, body, at=later)


def test_alipay_key_ring_tries_each_key_valid_now(
    pki: AlipayTestPki, alipay_key: SigningKey
) -> None:
    certs = load_alipay_certificates(
        app_cert=pki.app_cert, alipay_cert=pki.alipay_cert, root_cert=pki.root_cert
    )
    both = [certs.alipay_key, KeyRecord(alipay_key.verifying_key)]
    for signer in (pki.alipay_key, alipay_key):
        headers, body = alipay_callback(signer, APP_ID, order_id="G", amount=2, at=NOW)
        assert Alipay(both, APP_ID).parse(headers, body, at=NOW).amount == 2


def test_root_file_without_an_rsa_signed_root_is_refused() -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "EC only")])
    only_ec = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(ec_key.public_key())
        .serial_number(3)
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=1))
        .sign(ec_key, hashes.SHA256())
    )
    with pytest.raises(InvalidKey, match="no RSA-signed"):
        alipay_root_cert_sn(only_ec.public_bytes(Encoding.PEM))


def test_issuer_that_java_would_write_differently_is_refused_not_guessed(
    alipay_key: SigningKey,
) -> None:
    # An emailAddress attribute: Java writes it as "1.2.840.113549.1.9.1=#16..." (hex
    # of its DER), which govkit does not reproduce, so no SN rather than a wrong one.
    private = alipay_key.private_key
    assert isinstance(private, rsa.RSAPrivateKey)
    issuer = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "CA"),
            x509.NameAttribute(NameOID.EMAIL_ADDRESS, "ca@example.org"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(issuer)
        .issuer_name(issuer)
        .public_key(private.public_key())
        .serial_number(11)
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=1))
        .sign(private, hashes.SHA256())
    )
    with pytest.raises(InvalidKey) as caught:
        alipay_cert_sn(cert.public_bytes(Encoding.PEM))
    assert caught.value.context["oid"] == "1.2.840.113549.1.9.1"


def test_alipay_certificate_loader_refuses_garbage(pki: AlipayTestPki) -> None:
    with pytest.raises(KeysError):
        load_alipay_certificates(app_cert="x", alipay_cert=pki.alipay_cert, root_cert=pki.root_cert)
    with pytest.raises(KeysError):
        load_alipay_certificates(app_cert=pki.app_cert, alipay_cert=b"", root_cert=pki.root_cert)
    certs = load_alipay_certificates(
        app_cert=pki.app_cert, alipay_cert=pki.alipay_cert, root_cert=pki.root_cert
    )
    assert isinstance(certs, AlipayCertificates)


# --- arbitrary input ------------------------------------------------------------------


def _armoured(label: str) -> st.SearchStrategy[bytes]:
    return st.binary(max_size=400).map(
        lambda raw: (
            f"-----BEGIN {label}-----\n{base64.b64encode(raw).decode()}\n-----END {label}-----\n"
        ).encode()
    )


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300),
        _armoured("CERTIFICATE"),
        _armoured("PUBLIC KEY"),
        st.binary(max_size=300).map(lambda raw: base64.b64encode(raw).decode()),
    )
)
def test_loaders_fed_arbitrary_input_return_a_key_or_a_govkit_error(data: bytes | str) -> None:
    loaders = (
        load_wechat_platform_certificate,
        lambda d: load_wechat_public_key(d, PUB_KEY_ID),
        load_alipay_public_key,
        alipay_cert_sn,
        alipay_root_cert_sn,
        lambda d: load_standard_webhooks_public_key(d if isinstance(d, str) else d.hex()),
    )
    for loader in loaders:
        with contextlib.suppress(GovkitError):
            loader(data)
