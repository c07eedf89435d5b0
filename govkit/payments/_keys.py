"""Loaders for what payment providers hand out, and the key sets the adapters verify with.

The adapters take :mod:`govkit.keys` objects only: a
:class:`~govkit.keys.VerifyingKey`, a :class:`~govkit.keys.KeyRecord` (a key with a
validity window and the provider's key id as its alias) or a
:class:`~govkit.keys.KeyRing`. These loaders turn each provider's files and console
strings into those objects:

===========================================  ==================================================
what the provider hands out                  loader
===========================================  ==================================================
WeChat Pay platform certificate (PEM)        :func:`load_wechat_platform_certificate`
WeChat Pay platform public key (PEM) + id    :func:`load_wechat_public_key`
Alipay public key (bare base64, or PEM)      :func:`load_alipay_public_key`
Alipay public-key-certificate mode (3 files) :func:`load_alipay_certificates`
Standard Webhooks ``whpk_...`` key           :func:`load_standard_webhooks_public_key`
===========================================  ==================================================

RSA keys are ``RS256`` keys (RSASSA-PKCS1-v1_5 with SHA-256, at least 2048 bits).
Callbacks are verified on every request, so :func:`rs256_verifies` checks them with
RFC 8017's own verification (section 8.2.2) over the key's ``cryptography`` object:
it accepts exactly what :meth:`VerifyingKey.verify <govkit.keys.VerifyingKey.verify>`
accepts (the Wycheproof RS256 suite checks it vector for vector) without OpenSSL's
per-call digest set-up, which made the WeChat callback about 8% slower (see the
payments guide, "Speed").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.exceptions import UnsupportedAlgorithm as _CryptoUnsupported
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from cryptography.x509.oid import NameOID

from govkit.errors import (
    ConfigurationError,
    InvalidKey,
    PaymentKeyUnknown,
    PaymentSignatureInvalid,
)
from govkit.keys import KeyRecord, KeyRing, VerifyingKey

__all__ = [
    "AlipayCertificates",
    "alipay_cert_sn",
    "alipay_root_cert_sn",
    "load_alipay_certificates",
    "load_alipay_public_key",
    "load_standard_webhooks_public_key",
    "load_wechat_platform_certificate",
    "load_wechat_public_key",
]

#: The prefix of WeChat Pay platform public-key ids (``Wechatpay-Serial``).
PUBLIC_KEY_PREFIX: Final = "PUB_KEY_ID_"
#: X.509 validity includes its notAfter second; a KeyRecord window excludes not_after.
_INCLUSIVE: Final = timedelta(microseconds=1)
#: The OID arc of PKCS#1 signature algorithms; Alipay's SDKs put the root certificates
#: signed with one of them, and only those, into ``alipay_root_cert_sn``.
_PKCS1_ARC: Final = "1.2.840.113549.1.1"
#: Attribute types whose RFC 2253 keyword Java's ``X500Principal.getName()`` writes
#: (RFC 2253 section 2.3): the same keywords as ``Name.rfc4514_string()``.
_RFC2253_KEYWORDS: Final = frozenset(
    {
        NameOID.COMMON_NAME,
        NameOID.COUNTRY_NAME,
        NameOID.LOCALITY_NAME,
        NameOID.STATE_OR_PROVINCE_NAME,
        NameOID.ORGANIZATION_NAME,
        NameOID.ORGANIZATIONAL_UNIT_NAME,
        NameOID.STREET_ADDRESS,
        NameOID.DOMAIN_COMPONENT,
        NameOID.USER_ID,
    }
)
_MAX_PEM = 64 * 1024
_PKCS1v15: Final = padding.PKCS1v15()
#: EMSA-PKCS1-v1_5's DigestInfo prefix for SHA-256 (RFC 8017 section 9.2, note 1):
#: the encoded message ends in ``T = prefix || SHA-256(M)``.
_SHA256_DIGEST_INFO: Final = bytes.fromhex("3031300d060960864801650304020105000420")
_SHA1: Final = hashes.SHA1()  # noqa: S303 - only behind unsafe_allow_rsa_sha1


def _pem_bytes(data: object, what: str) -> bytes:
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    if not isinstance(data, bytes) or not data or len(data) > _MAX_PEM:
        raise InvalidKey(f"{what} must be PEM text (bytes or str) of at most 64 KiB")
    return data


def _certificates(data: object, what: str) -> list[x509.Certificate]:
    """Every certificate of a PEM file, in file order."""
    raw = _pem_bytes(data, what)
    try:
        certificates = x509.load_pem_x509_certificates(raw)
    except ValueError:
        raise InvalidKey(f"{what} is not a PEM certificate") from None
    return certificates


def _rs256(public: object, what: str) -> VerifyingKey:
    """An ``RS256`` key (RSA of 2048-16384 bits) or a keys error naming ``what``."""
    if isinstance(public, VerifyingKey):
        public = public.public_key
    if not isinstance(public, rsa.RSAPublicKey):
        raise InvalidKey(f"{what} is not an RSA public key")
    return VerifyingKey(public, "RS256")  # WeakKey under 2048 bits


def _certificate_key(certificate: x509.Certificate, what: str) -> VerifyingKey:
    try:
        public = certificate.public_key()
    except (ValueError, _CryptoUnsupported):
        raise InvalidKey(f"{what} is not an RSA public key") from None
    return _rs256(public, what)


def _rs256_from_pem(raw: bytes, what: str) -> VerifyingKey:
    try:
        public = serialization.load_pem_public_key(raw)
    except (ValueError, TypeError, _CryptoUnsupported):
        raise InvalidKey(f"{what} is not a PEM public key") from None
    return _rs256(public, what)


def _window(certificate: x509.Certificate) -> tuple[datetime, datetime]:
    """The certificate's validity as a KeyRecord window (notAfter included)."""
    return certificate.not_valid_before_utc, certificate.not_valid_after_utc + _INCLUSIVE


def wechat_serial(serial_number: int) -> str:
    """A certificate serial as ``Wechatpay-Serial`` names it: upper-case hex."""
    return format(serial_number, "X")


def normalise_wechat_key_id(key_id: str) -> str:
    """``PUB_KEY_ID_...`` as it is; a serial upper-cased without leading zeros."""
    return key_id if key_id.startswith(PUBLIC_KEY_PREFIX) else key_id.upper().lstrip("0")


# --- WeChat Pay -------------------------------------------------------------------


def load_wechat_platform_certificate(pem: bytes | str) -> KeyRecord:
    """A WeChat Pay platform certificate (PEM X.509) as a key named by its serial.

    The record's key is the certificate's RSA key (``RS256``), valid over the
    certificate's validity period (notAfter included), and its one alias is the
    serial number in upper-case hex, which is how WeChat's ``Wechatpay-Serial``
    header names it. Nothing else in the certificate is checked: platform
    certificates are trusted because they came from the merchant platform, or
    decrypted with the APIv3 key from ``GET /v3/certificates``.

    Raises:
        InvalidKey: not a PEM certificate, or its key is not RSA.
        WeakKey: its RSA key has fewer than 2048 bits.
    """
    certificate = _certificates(pem, "a WeChat Pay platform certificate")[0]
    key = _certificate_key(certificate, "the WeChat Pay platform certificate's key")
    not_before, not_after = _window(certificate)
    return KeyRecord(key, not_before, not_after, (wechat_serial(certificate.serial_number),))


def load_wechat_public_key(pem: bytes | str, key_id: str) -> KeyRecord:
    """A WeChat Pay platform public key (微信支付公钥, PEM SubjectPublicKeyInfo) and its id.

    ``key_id`` is the ``PUB_KEY_ID_...`` the merchant platform shows beside the key
    (and WeChat sends in ``Wechatpay-Serial``). Platform public keys do not expire:
    the record has no window.

    Raises:
        InvalidKey: not a PEM RSA public key.
        WeakKey: the RSA key has fewer than 2048 bits.
        ConfigurationError: ``key_id`` does not start with ``PUB_KEY_ID_``.
    """
    if not isinstance(key_id, str) or not key_id.startswith(PUBLIC_KEY_PREFIX):
        raise ConfigurationError("a WeChat Pay public key id starts with PUB_KEY_ID_")
    what = "the WeChat Pay public key"
    key = _rs256_from_pem(_pem_bytes(pem, what), what)
    return KeyRecord(key, None, None, (key_id,))


# --- Alipay -----------------------------------------------------------------------


def load_alipay_public_key(text: bytes | str) -> VerifyingKey:
    """The Alipay public key (支付宝公钥) as the Alipay open platform console shows it.

    The console gives base64 of the DER SubjectPublicKeyInfo without PEM armour, on
    one line; whitespace and line breaks are ignored. PEM (``-----BEGIN PUBLIC
    KEY-----``) is accepted too. Use the *Alipay* public key, not the app's own.

    Raises:
        InvalidKey: not base64 of an RSA public key.
        WeakKey: the RSA key has fewer than 2048 bits.
    """
    raw = _pem_bytes(text, "the Alipay public key")
    if raw.lstrip().startswith(b"-----BEGIN"):
        return _rs256_from_pem(raw, "the Alipay public key")
    try:
        der = base64.b64decode(b"".join(raw.split()), validate=True)
        public = serialization.load_der_public_key(der)
    except (binascii.Error, ValueError):
        raise InvalidKey("the Alipay public key is not base64 of a public key") from None
    return _rs256(public, "the Alipay public key")


def _rfc2253_issuer(certificate: x509.Certificate) -> str:
    """The issuer as Java's ``X500Principal.getName()`` (RFC 2253) writes it."""
    issuer = certificate.issuer
    for attribute in issuer:
        if attribute.oid not in _RFC2253_KEYWORDS:
            raise InvalidKey(
                "the certificate's issuer has an attribute whose RFC 2253 form govkit "
                "does not reproduce; its Alipay SN cannot be computed",
                oid=attribute.oid.dotted_string,
            )
    return issuer.rfc4514_string()


def _cert_sn(certificate: x509.Certificate) -> str:
    text = _rfc2253_issuer(certificate) + str(certificate.serial_number)
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def alipay_cert_sn(certificate: bytes | str) -> str:
    """The SN Alipay names a certificate by (``app_cert_sn``, ``alipay_cert_sn``).

    Alipay's rule, as its Java SDK computes it (``AlipaySignature.getCertSN``) and
    python-alipay-sdk reproduces it (``DCAliPay.get_cert_sn``): the lower-case hex
    MD5 of the issuer's distinguished name in RFC 2253 form (``CN=...,OU=...,
    O=...,C=...``) followed by the serial number in decimal. The first certificate
    of the PEM file is the one named.

    Raises:
        InvalidKey: not a PEM certificate, or its issuer has an attribute outside
            RFC 2253's keyword list (CN, C, L, ST, O, OU, STREET, DC, UID), where
            govkit cannot be sure to write the name as Java does.
    """
    return _cert_sn(_certificates(certificate, "an Alipay certificate")[0])


def alipay_root_cert_sn(root_certificates: bytes | str) -> str:
    """The ``alipay_root_cert_sn`` of ``alipayRootCert.crt``.

    Every certificate in the file whose signature algorithm is a PKCS#1 RSA one (OID
    under ``1.2.840.113549.1.1``) contributes its :func:`alipay_cert_sn`, in file
    order, joined with ``_``; the ECDSA- and SM2-signed roots in the same file are
    skipped, as Alipay's SDKs skip them.

    Raises:
        InvalidKey: not PEM certificates, or none of them is RSA-signed.
    """
    certificates = _certificates(root_certificates, "the Alipay root certificate file")
    sns = [
        _cert_sn(c)
        for c in certificates
        if c.signature_algorithm_oid.dotted_string.startswith(_PKCS1_ARC)
    ]
    if not sns:
        raise InvalidKey("the Alipay root certificate file has no RSA-signed certificate")
    return "_".join(sns)


@dataclass(frozen=True, slots=True)
class AlipayCertificates:
    """Alipay's public-key-certificate mode (公钥证书模式), loaded.

    Made by :func:`load_alipay_certificates`; pass it to
    :class:`~govkit.payments.Alipay` and :class:`~govkit.payments.AlipayClient` in
    place of a public key.

    Attributes:
        alipay_key: the Alipay public key from ``alipayCertPublicKey_RSA2.crt``,
            valid over that certificate's validity period, named by
            :attr:`alipay_cert_sn`.
        alipay_cert_sn: the SN of the Alipay public-key certificate.
        alipay_root_cert_sn: the SN of ``alipayRootCert.crt``, sent with every request.
        app_cert_sn: the SN of the app's own public-key certificate, sent with every
            request.
    """

    alipay_key: KeyRecord
    alipay_cert_sn: str
    alipay_root_cert_sn: str
    app_cert_sn: str

    def __repr__(self) -> str:
        return (
            f"AlipayCertificates(alipay_cert_sn={self.alipay_cert_sn!r}, "
            f"app_cert_sn={self.app_cert_sn!r})"
        )


def load_alipay_certificates(
    *, app_cert: bytes | str, alipay_cert: bytes | str, root_cert: bytes | str
) -> AlipayCertificates:
    """Load the three files of Alipay's public-key-certificate mode.

    Args:
        app_cert: ``appCertPublicKey_<app id>.crt``, the app's own certificate.
        alipay_cert: ``alipayCertPublicKey_RSA2.crt``, whose first certificate holds
            the Alipay public key that signs notifications and responses.
        root_cert: ``alipayRootCert.crt``, Alipay's root certificates.

    The files are trusted as configured, like a public key pasted from the console:
    the chain is not validated here. What is checked is each certificate's validity
    period, on every notification and response.

    Raises:
        InvalidKey: a file is not PEM certificates, the Alipay certificate's key is
            not RSA, or an SN cannot be computed (see :func:`alipay_cert_sn`).
        WeakKey: the Alipay RSA key has fewer than 2048 bits.
    """
    alipay = _certificates(alipay_cert, "alipayCertPublicKey_RSA2.crt")[0]
    key = _certificate_key(alipay, "the Alipay public-key certificate's key")
    sn = _cert_sn(alipay)
    not_before, not_after = _window(alipay)
    return AlipayCertificates(
        alipay_key=KeyRecord(key, not_before, not_after, (sn,)),
        alipay_cert_sn=sn,
        alipay_root_cert_sn=alipay_root_cert_sn(root_cert),
        app_cert_sn=alipay_cert_sn(app_cert),
    )


# --- Standard Webhooks ------------------------------------------------------------


def load_standard_webhooks_public_key(text: str) -> VerifyingKey:
    """A Standard Webhooks ``whpk_...`` public key (base64 of 32 Ed25519 bytes).

    Raises:
        InvalidKey: not ``whpk_`` followed by base64 of 32 bytes.
    """
    if not isinstance(text, str):
        raise InvalidKey("a whpk_ key is text")
    try:
        raw = base64.b64decode(text.removeprefix("whpk_"), validate=True)
        return VerifyingKey(ed25519.Ed25519PublicKey.from_public_bytes(raw), "EdDSA")
    except (binascii.Error, ValueError):
        raise InvalidKey("a whpk_ key is not base64 of 32 bytes") from None


# --- the key sets the adapters hold -----------------------------------------------


#: Where each adapter's keys come from, for the error that refuses anything else.
_LOADERS: Final = {
    "WeChat Pay": "load_wechat_platform_certificate(pem) or load_wechat_public_key(pem, key_id)",
    "Alipay": "load_alipay_public_key(text) or load_alipay_certificates(...)",
    "Standard Webhooks v1a": "load_standard_webhooks_public_key('whpk_...')",
}


def migration_hint(value: object, provider: str) -> str:
    loader = _LOADERS.get(provider, "a govkit.payments loader")
    what = type(value).__name__
    if isinstance(value, (str, bytes, x509.Certificate)):
        return f"{provider} takes govkit.keys keys, not {what}: load it with {loader}"
    return (
        f"{provider} takes govkit.keys keys (VerifyingKey, KeyRecord, KeyRing), not {what}: "
        f"load it with {loader}, or wrap a cryptography key in VerifyingKey(key, alg)"
    )


def provider_records(keys: object, provider: str, *, alg: str = "RS256") -> tuple[KeyRecord, ...]:
    """Validity-bounded keys from a VerifyingKey, a KeyRecord, a KeyRing or a list of them.

    Raises:
        ConfigurationError: anything else (a ``cryptography`` key, a certificate, PEM
            text), or a key for another algorithm than ``alg``.
    """
    if isinstance(keys, (VerifyingKey, KeyRecord)):
        items: list[object] = [keys]
    elif isinstance(keys, KeyRing):
        items = list(keys.records())
    elif isinstance(keys, Iterable) and not isinstance(keys, (str, bytes, Mapping)):
        items = list(keys)
    else:
        raise ConfigurationError(migration_hint(keys, provider))
    records: list[KeyRecord] = []
    for item in items:
        record = item if isinstance(item, KeyRecord) else None
        if record is None and isinstance(item, VerifyingKey):
            record = KeyRecord(item)
        if record is None:
            raise ConfigurationError(migration_hint(item, provider))
        if record.key.alg != alg:
            raise ConfigurationError(
                f"{provider} keys are {alg} keys, not {record.key.alg}", alg=record.key.alg
            )
        records.append(record)
    if not records:
        raise ConfigurationError(f"{provider} needs at least one key")
    return tuple(records)


def is_valid_at(record: KeyRecord, at: datetime) -> bool:
    """``record``'s window covers ``at`` (an aware datetime the caller already checked)."""
    not_before, not_after = record.not_before, record.not_after
    return (not_before is None or at >= not_before) and (not_after is None or at < not_after)


class ProviderKeys:
    """The keys an adapter verifies one provider's signatures with, tried in order.

    A signature is accepted when any key whose window covers the time verifies it;
    with no key valid at that time the verdict is :class:`PaymentKeyUnknown`.
    """

    __slots__ = ("_provider", "_records")

    def __init__(self, keys: object, provider: str, *, alg: str = "RS256") -> None:
        self._records = provider_records(keys, provider, alg=alg)
        self._provider = provider

    @property
    def records(self) -> tuple[KeyRecord, ...]:
        """The keys with their windows."""
        return self._records

    def verify(self, signature: bytes, data: bytes, at: datetime, *, sha1: bool = False) -> None:
        """Raise unless a key valid at ``at`` verifies ``signature`` over ``data``.

        ``sha1`` checks RSASSA-PKCS1-v1_5 with SHA-1 instead of the key's own
        ``RS256`` (legacy Alipay ``sign_type=RSA``, behind ``unsafe_*`` options).

        Raises:
            PaymentKeyUnknown: no key is valid at ``at`` (an expired certificate).
            PaymentSignatureInvalid: no valid key verifies the signature.
        """
        tried = False
        for record in self._records:
            if not is_valid_at(record, at):
                continue
            tried = True
            if _verifies(record.key, signature, data, sha1):
                return
        if not tried:
            raise PaymentKeyUnknown(f"no {self._provider} key or certificate is valid at this time")
        raise PaymentSignatureInvalid(f"the {self._provider} signature does not verify")

    def __repr__(self) -> str:
        return f"ProviderKeys({self._provider}, {len(self._records)} keys)"


def rs256_verifies(key: VerifyingKey, signature: bytes, data: bytes) -> bool:
    """Whether ``signature`` is an RSASSA-PKCS1-v1_5 SHA-256 signature of ``data`` by ``key``.

    RFC 8017 section 8.2.2: the length check of step 1, RSAVP1 and the padding check
    by OpenSSL
    (:meth:`~cryptography.hazmat.primitives.asymmetric.rsa.RSAPublicKey.recover_data_from_signature`),
    then the recovered ``T`` compared whole, in constant time, with the one expected,
    ``DigestInfo || SHA-256(data)``. The same verdicts as ``key.verify`` (``RS256``)
    on every input; ``False`` for a key that is not RSA.
    """
    public = key.public_key
    if not isinstance(public, rsa.RSAPublicKey):
        return False
    if len(signature) != (public.key_size + 7) // 8:  # RSASSA-PKCS1-V1_5-VERIFY step 1
        return False
    try:
        recovered = public.recover_data_from_signature(signature, _PKCS1v15, None)
    except (_CryptoInvalidSignature, ValueError):
        return False
    return hmac.compare_digest(recovered, _SHA256_DIGEST_INFO + hashlib.sha256(data).digest())


def _never(_signature: bytes, _data: bytes) -> bool:
    return False


def rs256_verifier(key: VerifyingKey) -> Callable[[bytes, bytes], bool]:
    """:func:`rs256_verifies` for one key, prepared: ``verifier(signature, data)``.

    The key's type, its signature length and its bound ``recover`` are settled once,
    for a key ring that checks every callback with the same few keys; each call then
    makes exactly :func:`rs256_verifies`'s checks and returns its verdict.
    """
    public = key.public_key
    if not isinstance(public, rsa.RSAPublicKey):
        return _never
    size = (public.key_size + 7) // 8
    recover = public.recover_data_from_signature
    pkcs1v15, prefix = _PKCS1v15, _SHA256_DIGEST_INFO
    sha256, equal = hashlib.sha256, hmac.compare_digest

    def verifies(signature: bytes, data: bytes) -> bool:
        if len(signature) != size:  # RSASSA-PKCS1-V1_5-VERIFY step 1
            return False
        try:
            recovered = recover(signature, pkcs1v15, None)
        except (_CryptoInvalidSignature, ValueError):
            return False
        return equal(recovered, prefix + sha256(data).digest())

    return verifies


def _verifies(key: VerifyingKey, signature: bytes, data: bytes, sha1: bool) -> bool:
    if not sha1:
        return rs256_verifies(key, signature, data)
    public = key.public_key  # legacy SHA1withRSA: rare, so cryptography's verify
    if not isinstance(public, rsa.RSAPublicKey):
        return False
    try:
        public.verify(signature, data, _PKCS1v15, _SHA1)
    except _CryptoInvalidSignature:
        return False
    return True
