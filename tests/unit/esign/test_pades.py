"""PAdES signing set-up faults and verifier verdicts on unsigned or foreign input."""

from __future__ import annotations

import io

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from govkit.errors import (
    ConfigurationError,
    DocumentModified,
    NotSigned,
    SignatureFormatError,
    SigningError,
)
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


def test_countersigned_pdf_verifies_with_both_signatures() -> None:
    # The agency signs, then its director countersigns the signed file: the first
    # signature covers its revision, the second the whole document.
    director = SigningKey.generate("ES256")
    director_cert = issue_agency_certificate(CA, director.verifying_key, agency_name="示例局")
    first = PadesSigner(KEY, CERT, chain=[CA.certificate]).sign(PDF)
    both = PadesSigner(director, director_cert, chain=[CA.certificate]).sign(first)
    report = PdfSignatureVerifier([CA.certificate]).inspect(both)
    assert report.ok, report.checks
    names = [c.name for c in report.checks]
    assert names.count("Signature1.coverage") == 1
    assert names.count("Signature2.coverage") == 1
    assert len(PdfSignatureVerifier([CA.certificate]).verify(both)) == 2


def test_change_after_the_last_signature_is_still_refused_when_countersigned() -> None:
    first = PadesSigner(KEY, CERT, chain=[CA.certificate]).sign(PDF)
    both = PadesSigner(KEY, CERT, chain=[CA.certificate]).sign(first)
    writer = IncrementalPdfFileWriter(io.BytesIO(both))
    writer.root["/Lang"] = generic.TextStringObject("en")  # a change nobody signed
    writer.update_root()
    buffer = io.BytesIO()
    writer.write(buffer)
    report = PdfSignatureVerifier([CA.certificate]).inspect(buffer.getvalue())
    failed = [(c.name, c.code) for c in report.checks if c.ok is False]
    assert ("Signature2.coverage", "esign.modified") in failed
    with pytest.raises(DocumentModified):
        PdfSignatureVerifier([CA.certificate]).verify(buffer.getvalue())


def test_countersignature_by_an_untrusted_signer_fails_the_document() -> None:
    stranger_ca = make_test_ca()
    stranger = SigningKey.generate("ES256")
    stranger_cert = issue_agency_certificate(stranger_ca, stranger.verifying_key, agency_name="某")
    first = PadesSigner(KEY, CERT, chain=[CA.certificate]).sign(PDF)
    both = PadesSigner(stranger, stranger_cert, chain=[stranger_ca.certificate]).sign(first)
    report = PdfSignatureVerifier([CA.certificate]).inspect(both)
    assert not report.ok
    assert [c.code for c in report.checks if c.ok is False] == ["esign.untrusted"]
