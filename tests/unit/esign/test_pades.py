"""PAdES signing set-up faults and verifier verdicts on unsigned or foreign input."""

from __future__ import annotations

import pytest

from govkit.errors import ConfigurationError, NotSigned, SignatureFormatError, SigningError
from govkit.esign import PadesSigner, PdfSignatureVerifier, issue_agency_certificate, make_test_ca
from govkit.keys import SigningKey
from govkit.pdf import Document, PdfRenderer

CA = make_test_ca()
KEY = SigningKey.generate("ES256")
CERT = issue_agency_certificate(CA, KEY.verifying_key, agency_name="示例局")
PDF = PdfRenderer().render(
    Document(
        "批复", "Approval", (), issuer="示例局", valid_from="a", valid_until="b", identifier="A-1"
    )
)


def test_key_that_does_not_match_the_certificate_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        PadesSigner(SigningKey.generate("ES256"), CERT, chain=[CA.certificate])


def test_eddsa_keys_are_refused_for_pdf_signatures() -> None:
    with pytest.raises(ConfigurationError):
        PadesSigner(SigningKey.generate("EdDSA"), CERT)


def test_b_t_without_a_timestamp_authority_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        PadesSigner(KEY, CERT, chain=[CA.certificate]).sign(PDF, level="B-T")


def test_signing_something_that_is_not_a_pdf_fails() -> None:
    with pytest.raises(SigningError):
        PadesSigner(KEY, CERT, chain=[CA.certificate]).sign(b"hello")


def test_unsigned_pdf_is_not_signed() -> None:
    with pytest.raises(NotSigned):
        PdfSignatureVerifier([CA.certificate]).verify(PDF)


def test_rsa_pss_signature_verifies() -> None:
    key = SigningKey.generate("PS256")
    cert = issue_agency_certificate(CA, key.verifying_key, agency_name="示例局")
    signed = PadesSigner(key, cert, chain=[CA.certificate]).sign(PDF)
    assert PdfSignatureVerifier([CA.certificate]).inspect(signed).ok


@pytest.mark.parametrize("data", [b"", b"GK1:ABC", b"%PDF-1.7 nonsense"])
def test_garbage_is_reported_not_raised_by_inspect(data: bytes) -> None:
    report = PdfSignatureVerifier([CA.certificate]).inspect(data)
    assert not report.ok
    with pytest.raises((SignatureFormatError, NotSigned)):
        PdfSignatureVerifier([CA.certificate]).verify(data)
