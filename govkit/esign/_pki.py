"""X.509 helpers: a test CA, agency and TSA certificates, CRLs, and a CSR for a real CA."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from govkit.clock import Clock, SystemClock
from govkit.errors import ConfigurationError, SignatureFormatError
from govkit.keys import SigningKey, VerifyingKey

__all__ = [
    "TestCa",
    "issue_agency_certificate",
    "issue_tsa_certificate",
    "load_certificate",
    "load_certificates",
    "make_csr",
    "make_test_ca",
    "spki_sha256",
    "subject_ids",
]

_USCC = re.compile(r"[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}")
_PEM_CERT = re.compile(
    rb"-----BEGIN CERTIFICATE-----\r?\n.+?\r?\n-----END CERTIFICATE-----", re.DOTALL
)


def _hash_for(key: SigningKey) -> hashes.SHA256 | None:
    return None if isinstance(key.private_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


_X509Public = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey


def _x509_public(public: object) -> _X509Public:
    """A public key X.509 certificates here can carry (ECDSA, RSA, Ed25519)."""
    if not isinstance(
        public, ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey
    ):
        raise ConfigurationError("certificates here carry ECDSA, RSA or Ed25519 keys")
    return public


def _agency_name(agency_name: str, uscc: str | None) -> x509.Name:
    if not isinstance(agency_name, str) or not 0 < len(agency_name) <= 64:
        raise ConfigurationError("the agency name must be 1-64 characters")
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, agency_name),
        x509.NameAttribute(NameOID.COMMON_NAME, agency_name),
    ]
    if uscc is not None:
        if not isinstance(uscc, str) or not _USCC.fullmatch(uscc):
            raise ConfigurationError("uscc must be an 18-character unified social credit code")
        # ETSI EN 319 412-1 semantics identifier for a national trade register number.
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, f"NTRCN-{uscc}"))
    return x509.Name(attributes)


def load_certificate(data: bytes | x509.Certificate) -> x509.Certificate:
    """One X.509 certificate from PEM or DER bytes (or a certificate object, returned as is).

    Raises:
        SignatureFormatError: the bytes are not a certificate.
    """
    if isinstance(data, x509.Certificate):
        return data
    if not isinstance(data, bytes):
        raise SignatureFormatError("a certificate is PEM or DER bytes")
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError:
        raise SignatureFormatError("the data is not an X.509 certificate") from None


def load_certificates(data: bytes) -> tuple[x509.Certificate, ...]:
    """Every certificate of a PEM bundle (or the one certificate of DER bytes)."""
    if b"-----BEGIN" not in data:
        return (load_certificate(data),)
    found = tuple(load_certificate(block) for block in _PEM_CERT.findall(data))
    if not found:
        raise SignatureFormatError("the PEM data holds no certificate")
    return found


#: The subject attributes :func:`subject_ids` reads, by the names its ids carry.
_SUBJECT_ID_ATTRIBUTES: tuple[tuple[str, x509.ObjectIdentifier], ...] = (
    ("organizationIdentifier", NameOID.ORGANIZATION_IDENTIFIER),
    ("serialNumber", NameOID.SERIAL_NUMBER),
)


def spki_sha256(certificate: bytes | x509.Certificate) -> bytes:
    """SHA-256 of the certificate's SubjectPublicKeyInfo, DER, as the certificate holds it.

    The 32 bytes a trust list names a licence PDF signer by (``pdf_signers``, written
    in lowercase hex). The same as
    ``openssl x509 -in CERT -pubkey -noout | openssl pkey -pubin -outform der | sha256sum``.

    >>> from govkit.esign import issue_agency_certificate, make_test_ca, spki_sha256
    >>> from govkit.keys import SigningKey
    >>> key = SigningKey.generate("ES256")
    >>> cert = issue_agency_certificate(make_test_ca(), key.verifying_key, agency_name="示例局")
    >>> import hashlib
    >>> from cryptography.hazmat.primitives import serialization
    >>> spki = cert.public_key().public_bytes(
    ...     serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    >>> spki_sha256(cert) == hashlib.sha256(spki).digest()
    True

    Raises:
        SignatureFormatError: ``certificate`` is not a certificate.
    """
    der = load_certificate(certificate).public_bytes(serialization.Encoding.DER)
    spki = asn1_x509.Certificate.load(der)["tbs_certificate"]["subject_public_key_info"]
    return hashlib.sha256(spki.dump()).digest()


def subject_ids(certificate: bytes | x509.Certificate) -> tuple[str, ...]:
    """The subject identifiers a trust list may authorise a licence PDF signer by.

    ``organizationIdentifier=<value>`` and ``serialNumber=<value>``, each only when the
    certificate's subject holds exactly one such attribute, as text (a subject with two
    is matched by neither). :func:`issue_agency_certificate` writes the agency's USCC as
    ``organizationIdentifier`` ``NTRCN-<uscc>``:

    >>> from govkit.esign import issue_agency_certificate, make_test_ca, subject_ids
    >>> from govkit.keys import SigningKey
    >>> cert = issue_agency_certificate(make_test_ca(), SigningKey.generate("ES256").verifying_key,
    ...     agency_name="示例局", uscc="114400000069445123")
    >>> subject_ids(cert)
    ('organizationIdentifier=NTRCN-114400000069445123',)

    Raises:
        SignatureFormatError: ``certificate`` is not a certificate.
    """
    subject = load_certificate(certificate).subject
    found: list[str] = []
    for name, oid in _SUBJECT_ID_ATTRIBUTES:
        values = subject.get_attributes_for_oid(oid)
        if len(values) == 1 and isinstance(values[0].value, str) and values[0].value:
            found.append(f"{name}={values[0].value}")
    return tuple(found)


@dataclass(frozen=True)
class TestCa:
    """A certificate authority for tests and demos: its key and self-signed certificate.

    Never use one in production: a real agency certificate comes from a CA that
    relying parties already trust (send it :func:`make_csr`'s request).
    """

    key: SigningKey
    certificate: x509.Certificate
    crl_url: str | None = None

    @property
    def certificate_pem(self) -> bytes:
        """The CA certificate as PEM."""
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def crl(
        self,
        *,
        revoked: Iterable[int] = (),
        clock: Clock | None = None,
        valid_for: timedelta = timedelta(days=7),
    ) -> bytes:
        """A DER CRL signed by this CA, listing the ``revoked`` serial numbers."""
        now = (clock or SystemClock()).now()
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.certificate.subject)
            .last_update(now - timedelta(minutes=5))
            .next_update(now + valid_for)
            .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    self.certificate.public_key()  # type: ignore[arg-type]
                ),
                critical=False,
            )
        )
        for serial in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(serial)
                .revocation_date(now - timedelta(minutes=1))
                .build()
            )
        crl = builder.sign(self.key.private_key, _hash_for(self.key))  # type: ignore[arg-type]
        return crl.public_bytes(serialization.Encoding.DER)


def make_test_ca(
    name: str = "govkit test CA",
    *,
    key: SigningKey | None = None,
    clock: Clock | None = None,
    valid_for: timedelta = timedelta(days=3650),
    crl_url: str | None = None,
) -> TestCa:
    """A new self-signed test CA (ES256 key unless ``key`` is given).

    ``crl_url``, when given, is written into the certificates this CA issues (CRL
    distribution point), so long-term validation (PAdES B-LT) can fetch its CRL.

    >>> from govkit.esign import make_test_ca
    >>> ca = make_test_ca("示例根证书")
    >>> ca.certificate.extensions.get_extension_for_class(
    ...     __import__("cryptography").x509.BasicConstraints).value.ca
    True
    """
    key = key or SigningKey.generate("ES256")
    now = (clock or SystemClock()).now()
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )
    public = _x509_public(key.private_key.public_key())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + valid_for)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key.private_key, _hash_for(key))  # type: ignore[arg-type]
    )
    return TestCa(key, certificate, crl_url)


def _leaf(
    ca: TestCa,
    public: VerifyingKey,
    subject: x509.Name,
    *,
    clock: Clock | None,
    valid_for: timedelta,
    timestamping: bool,
) -> x509.Certificate:
    now = (clock or SystemClock()).now()
    key_usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=not timestamping,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.certificate.subject)
        .public_key(_x509_public(public.public_key))
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=30))
        .not_valid_after(min(now + valid_for, ca.certificate.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(key_usage, critical=True)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(_x509_public(public.public_key)),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca.certificate.public_key()  # type: ignore[arg-type]
            ),
            critical=False,
        )
    )
    if timestamping:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
        )
    if ca.crl_url is not None:
        point = x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(ca.crl_url)],
            relative_name=None,
            reasons=None,
            crl_issuer=None,
        )
        builder = builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)
    return builder.sign(ca.key.private_key, _hash_for(ca.key))  # type: ignore[arg-type]


def issue_agency_certificate(
    ca: TestCa,
    public_key: VerifyingKey,
    *,
    agency_name: str,
    uscc: str | None = None,
    clock: Clock | None = None,
    valid_for: timedelta = timedelta(days=825),
) -> x509.Certificate:
    """A signing certificate for an agency's key, issued by the test CA ``ca``.

    The subject is the agency (``C=CN, O=CN=<agency_name>``, and its unified social
    credit code as ``organizationIdentifier`` ``NTRCN-<uscc>``); key usage is digital
    signature and non-repudiation.
    """
    if not isinstance(public_key, VerifyingKey):
        raise ConfigurationError("public_key must be a VerifyingKey")
    return _leaf(
        ca,
        public_key,
        _agency_name(agency_name, uscc),
        clock=clock,
        valid_for=valid_for,
        timestamping=False,
    )


def issue_tsa_certificate(
    ca: TestCa,
    public_key: VerifyingKey,
    *,
    name: str = "govkit test TSA",
    clock: Clock | None = None,
    valid_for: timedelta = timedelta(days=825),
) -> x509.Certificate:
    """A timestamp-authority certificate (critical EKU ``timeStamping``) for tests."""
    if not isinstance(public_key, VerifyingKey):
        raise ConfigurationError("public_key must be a VerifyingKey")
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    return _leaf(ca, public_key, subject, clock=clock, valid_for=valid_for, timestamping=True)


def make_csr(key: SigningKey, *, agency_name: str, uscc: str | None = None) -> bytes:
    """A PEM certificate signing request for ``key``, to send to a real CA.

    >>> from govkit.esign import make_csr
    >>> from govkit.keys import SigningKey
    >>> make_csr(SigningKey.generate("ES256"), agency_name="示例局").startswith(
    ...     b"-----BEGIN CERTIFICATE REQUEST-----")
    True
    """
    if not isinstance(key, SigningKey):
        raise ConfigurationError("key must be a SigningKey")
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(_agency_name(agency_name, uscc))
        .sign(key.private_key, _hash_for(key))  # type: ignore[arg-type]
    )
    return request.public_bytes(serialization.Encoding.PEM)
