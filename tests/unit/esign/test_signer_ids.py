"""What a trust list names a licence PDF's signer by: the SPKI hash and the subject ids."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from govkit.errors import SignatureFormatError
from govkit.esign import issue_agency_certificate, make_test_ca, spki_sha256, subject_ids
from govkit.keys import SigningKey

USCC = "114400000069445123"


def certificate_with(subject: x509.Name, key: SigningKey | None = None) -> x509.Certificate:
    """A self-signed certificate with exactly this subject."""
    key = key or SigningKey.generate("ES256")
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.private_key.public_key())  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key.private_key, hashes.SHA256())  # type: ignore[arg-type]
    )


def test_an_agency_certificate_is_named_by_its_uscc() -> None:
    key = SigningKey.generate("ES256")
    cert = issue_agency_certificate(
        make_test_ca(), key.verifying_key, agency_name="示例局", uscc=USCC
    )
    assert subject_ids(cert) == (f"organizationIdentifier=NTRCN-{USCC}",)
    no_uscc = issue_agency_certificate(make_test_ca(), key.verifying_key, agency_name="示例局")
    assert subject_ids(no_uscc) == ()


def test_serial_number_is_read_too() -> None:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "示例局"),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, USCC),
        ]
    )
    assert subject_ids(certificate_with(name)) == (f"serialNumber={USCC}",)


def test_a_subject_with_two_organization_identifiers_is_named_by_neither() -> None:
    """A certificate claiming two agencies' codes must not pass as either one."""
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, "NTRCN-91440101MA59ABCD1D"),
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, f"NTRCN-{USCC}"),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, "A-1"),
        ]
    )
    assert subject_ids(certificate_with(name)) == ("serialNumber=A-1",)


def test_the_spki_hash_is_sha256_of_the_der_subject_public_key_info() -> None:
    key = SigningKey.generate("RS256")
    cert = certificate_with(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x")]), key)
    spki = key.private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert spki_sha256(cert) == hashlib.sha256(spki).digest()
    assert spki_sha256(cert.public_bytes(serialization.Encoding.PEM)) == spki_sha256(cert)
    assert spki_sha256(cert.public_bytes(serialization.Encoding.DER)) == spki_sha256(cert)


def test_not_a_certificate_is_a_format_error() -> None:
    with pytest.raises(SignatureFormatError):
        spki_sha256(b"not a certificate")
    with pytest.raises(SignatureFormatError):
        subject_ids(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----")
