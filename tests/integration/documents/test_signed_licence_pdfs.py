"""Signed licence PDFs, judged by tools nobody on this team wrote: pdfsig, pyHanko, pdftoppm.

pdfsig exits 0 even when a signature is broken, so its output is parsed.
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
import zxingcpp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from PIL import Image
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from govkit.certificates import (
    LICENCE_ATTACHMENT,
    LicencePdfVerifier,
    LicenceRegistry,
    render_licence_pdf,
)
from govkit.errors import DocumentModified, SignerUntrusted
from govkit.esign import PadesSigner, PdfSignatureVerifier, make_test_ca
from govkit.pdf import PdfRenderer, read_attachment

from .conftest import FONT, Licences, Pki, Servers, tool

REGISTRY = LicenceRegistry.default()


def pdfsig(pki: Pki, pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    run = subprocess.run(
        [tool("pdfsig"), "-nssdir", pki.nss, str(path)], capture_output=True, text=True, check=False
    )
    return run.stdout


def assert_pdfsig_valid(out: str, count: int = 1) -> None:
    assert out.count("Signature is Valid.") == count, out
    assert out.count("Certificate is Trusted.") == count, out
    assert out.count("Total document signed") == count, out
    assert "ETSI.CAdES.detached" in out, out


def pyhanko_statuses(pki: Pki, pdf: bytes) -> list[object]:
    root = asn1_x509.Certificate.load(pki.ca.certificate.public_bytes(serialization.Encoding.DER))
    reader = PdfFileReader(io.BytesIO(pdf))
    return [
        validate_pdf_signature(sig, ValidationContext(trust_roots=[root], allow_fetching=False))
        for sig in reader.embedded_signatures
    ]


def signer_for(pki: Pki, servers: Servers | None = None) -> PadesSigner:
    return PadesSigner(
        pki.key,
        pki.certificate,  # type: ignore[arg-type]
        chain=[pki.ca.certificate],
        timestamp_url=None if servers is None else f"{servers.base}/tsa",
    )


@pytest.mark.parametrize("name", REGISTRY.names())
def test_each_licence_type_signed_b_b_is_valid_for_pdfsig_and_pyhanko(
    name: str, pki: Pki, licences: Licences, tmp_path: Path
) -> None:
    pdf = render_licence_pdf(licences.issued[name], PdfRenderer())
    signed = signer_for(pki).sign(pdf)
    assert_pdfsig_valid(pdfsig(pki, signed, tmp_path))
    statuses = pyhanko_statuses(pki, signed)
    assert len(statuses) == 1
    assert statuses[0].bottom_line  # type: ignore[attr-defined]
    report = LicencePdfVerifier(
        PdfSignatureVerifier([pki.ca.certificate]), licences.verifier
    ).inspect(signed)
    assert report.ok, report.to_dict()
    assert report.licence is not None
    assert report.licence.certificate is not None
    assert report.licence.certificate.licence.id == licences.issued[name].id


def test_flipped_byte_in_signed_range_is_a_digest_mismatch(
    pki: Pki, licences: Licences, tmp_path: Path
) -> None:
    pdf = render_licence_pdf(licences.issued["driving-licence"], PdfRenderer())
    signed = signer_for(pki).sign(pdf)
    at = signed.index(b"/Title")  # inside the first signed range
    tampered = signed[:at] + b"/Titla" + signed[at + 6 :]
    out = pdfsig(pki, tampered, tmp_path)
    assert "Digest Mismatch" in out, out
    assert not any(s.bottom_line for s in pyhanko_statuses(pki, tampered))  # type: ignore[attr-defined]
    report = PdfSignatureVerifier([pki.ca.certificate]).inspect(tampered)
    assert report.code == "esign.digest_mismatch"


def test_incremental_update_after_signing_is_not_total_document_signed(
    pki: Pki, licences: Licences, tmp_path: Path
) -> None:
    pdf = render_licence_pdf(licences.issued["passport"], PdfRenderer())
    signed = signer_for(pki).sign(pdf)
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    writer.root["/Lang"] = generic.TextStringObject("en")  # a change nobody signed
    writer.update_root()
    buffer = io.BytesIO()
    writer.write(buffer)
    updated = buffer.getvalue()
    out = pdfsig(pki, updated, tmp_path)
    assert "Not total document signed" in out, out
    assert "Total document signed" not in out
    with pytest.raises(DocumentModified):
        PdfSignatureVerifier([pki.ca.certificate]).verify(updated)


def test_signature_from_an_untrusted_ca_is_rejected(pki: Pki, licences: Licences) -> None:
    pdf = render_licence_pdf(licences.issued["vehicle-licence"], PdfRenderer())
    signed = signer_for(pki).sign(pdf)
    other = make_test_ca("someone else's CA")
    with pytest.raises(SignerUntrusted):
        PdfSignatureVerifier([other.certificate]).verify(signed)
    report = LicencePdfVerifier(
        PdfSignatureVerifier([other.certificate]), licences.verifier
    ).inspect(signed)
    assert not report.ok
    assert report.code == "esign.untrusted"


@pytest.mark.parametrize("size", ["a4", "card"])
def test_qr_read_from_the_rendered_page_equals_the_embedded_payload(
    size: str, pki: Pki, licences: Licences, tmp_path: Path
) -> None:
    issued = licences.issued["business-licence"]
    signed = signer_for(pki).sign(render_licence_pdf(issued, PdfRenderer(), size=size))
    path = tmp_path / "page.pdf"
    path.write_bytes(signed)
    subprocess.run(
        [
            tool("pdftoppm"),
            "-r",
            "300" if size == "card" else "150",
            "-png",
            "-singlefile",
            str(path),
            str(tmp_path / "page"),
        ],
        check=True,
    )
    image = Image.open(tmp_path / "page.png")
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    texts = {r.text for r in found}
    embedded = read_attachment(signed, LICENCE_ATTACHMENT).decode("ascii")
    assert texts == {embedded}
    assert embedded == issued.qr_payload


def test_embedded_truetype_font_is_subset_and_signs_valid(
    pki: Pki, licences: Licences, tmp_path: Path
) -> None:
    assert FONT.is_file(), "fonts-wqy-zenhei is missing: run scripts/system-deps.sh"
    pdf = render_licence_pdf(licences.issued["household-register"], PdfRenderer(font_file=FONT))
    path = tmp_path / "font.pdf"
    path.write_bytes(pdf)
    fonts = subprocess.run(
        [tool("pdffonts"), str(path)], capture_output=True, text=True, check=True
    ).stdout
    line = next(x for x in fonts.splitlines() if "WenQuanYi" in x)
    assert line.split()[-5:-2] == ["yes", "yes", "yes"], fonts  # emb sub uni
    assert_pdfsig_valid(pdfsig(pki, signer_for(pki).sign(pdf), tmp_path))


def test_b_t_signature_carries_a_timestamp_from_the_local_tsa(
    pki: Pki, servers: Servers, licences: Licences, tmp_path: Path
) -> None:
    pdf = render_licence_pdf(licences.issued["residence-permit"], PdfRenderer())
    signed = signer_for(pki, servers).sign(pdf, level="B-T")
    assert_pdfsig_valid(pdfsig(pki, signed, tmp_path))
    statuses = pyhanko_statuses(pki, signed)
    assert statuses[0].timestamp_validity is not None  # type: ignore[attr-defined]
    assert statuses[0].bottom_line  # type: ignore[attr-defined]
    (info,) = PdfSignatureVerifier([pki.ca.certificate]).verify(signed)
    assert info.level == "B-T"
    assert info.timestamp is not None


def test_b_lt_embeds_the_crl_fetched_from_the_local_server(
    pki: Pki, servers: Servers, licences: Licences, tmp_path: Path
) -> None:
    pdf = render_licence_pdf(licences.issued["real-estate-certificate"], PdfRenderer())
    signed = signer_for(pki, servers).sign(pdf, level="B-LT")
    reader = PdfFileReader(io.BytesIO(signed))
    dss = reader.root["/DSS"]
    assert len(dss["/CRLs"]) >= 1
    (info,) = PdfSignatureVerifier([pki.ca.certificate]).verify(signed)
    assert info.level == "B-LT"
    out = pdfsig(pki, signed, tmp_path)
    assert "Signature is Valid." in out
    assert "Certificate is Trusted." in out


def test_countersigned_licence_pdf_is_valid_for_pdfsig_pyhanko_and_govkit(
    pki: Pki, licences: Licences, tmp_path: Path
) -> None:
    pdf = render_licence_pdf(licences.issued["driving-licence"], PdfRenderer())
    both = signer_for(pki).sign(signer_for(pki).sign(pdf))
    out = pdfsig(pki, both, tmp_path)
    assert out.count("Signature is Valid.") == 2, out
    assert out.count("Certificate is Trusted.") == 2, out
    assert out.count("Total document signed") == 1, out  # the second covers everything
    assert all(s.intact and s.valid for s in pyhanko_statuses(pki, both))  # type: ignore[attr-defined]
    assert len(PdfSignatureVerifier([pki.ca.certificate]).verify(both)) == 2
