"""Licence PDFs: renders/s with the QR, PAdES B-B signs/s, verifies/s.

**(a) render.** ``render_licence_pdf`` of a driving licence (STSong-Light, QR as vector
shapes, payload embedded) beside reportlab drawing the same page with no QR at all
(the floor). Target: govkit >= :data:`RENDER_TARGET` renders/s on one core (absolute).

**(b) sign.** ``PadesSigner.sign`` (key and certificate parsed once, space reserved)
beside pyHanko's plain flow: ``SimpleSigner.load`` from key and certificate files, then
``PdfSigner.sign_pdf``, per signature. Target: ratio >= :data:`SIGN_TARGET`.

**(c) verify.** ``PdfSignatureVerifier.verify`` beside pyHanko's
``validate_pdf_signature`` with a ``ValidationContext`` built each time.
"""

from __future__ import annotations

import io
import tempfile
from datetime import date
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from reportlab.pdfgen.canvas import Canvas

from benchmarks._harness import Comparison, compare, with_ops_target
from govkit.certificates import Agency, CertificateIssuer, Holder, StatusList, render_licence_pdf
from govkit.esign import PadesSigner, PdfSignatureVerifier, issue_agency_certificate, make_test_ca
from govkit.keys import SigningKey
from govkit.pdf import PdfRenderer

#: Absolute target: licence PDFs rendered per second on one core (govkit ops/s).
RENDER_TARGET = 30.0
#: Ratio target: PAdES B-B signing against pyHanko's plain flow.
SIGN_TARGET = 1.8

NOTES = (
    f"targets: render >= {RENDER_TARGET:.0f}/s on one core (govkit ops/s); "
    f"sign ratio >= {SIGN_TARGET}"
)


def run(quick: bool) -> list[Comparison]:
    """Time render, sign and verify side by side."""
    number, rounds = (3, 3) if quick else (20, 7)
    agency = Agency("广东省公安厅交通管理局", "114400000069445123")
    statuses = StatusList(8, list_id="benchmark")
    issued = CertificateIssuer(SigningKey.generate("ES256"), agency=agency, status=statuses).issue(
        "driving-licence",
        holder=Holder("p-3f9a1c07d2", "pseudonym"),
        fields={
            "name": "张三",
            "licence_class": "C1",
            "first_issue_date": "2015-06-01",
            "file_number": "440100123456",
        },
        valid_from=date(2021, 6, 1),
        valid_until=date(2031, 6, 1),
    )
    renderer = PdfRenderer()

    def bare_page() -> bytes:
        buffer = io.BytesIO()
        canvas = Canvas(buffer, invariant=True)
        canvas.setFont("STSong-Light", 22)
        canvas.drawString(72, 760, "机动车驾驶证")
        canvas.showPage()
        canvas.save()
        return buffer.getvalue()

    render = compare(
        "render licence PDF (QR) vs bare page",
        lambda: render_licence_pdf(issued, renderer),
        bare_page,
        number=number,
        rounds=rounds,
        note="govkit ops/s is renders/s",
    )
    results = [with_ops_target(render, RENDER_TARGET, "renders/s")]
    pdf = render_licence_pdf(issued, renderer)
    ca = make_test_ca()
    key = SigningKey.generate("ES256")
    cert = issue_agency_certificate(ca, key.verifying_key, agency_name=agency.name)
    folder = Path(tempfile.mkdtemp(prefix="govkit-bench-"))
    (folder / "key.pem").write_bytes(
        key.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "ca.pem").write_bytes(ca.certificate_pem)
    pades = PadesSigner(key, cert, chain=[ca.certificate])

    def plain_pyhanko() -> bytes:
        simple = signers.SimpleSigner.load(
            str(folder / "key.pem"),
            str(folder / "cert.pem"),
            ca_chain_files=(str(folder / "ca.pem"),),
        )
        meta = signers.PdfSignatureMetadata(
            field_name="Signature1", md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES
        )
        out = signers.PdfSigner(meta, simple).sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)))
        return bytes(out.getvalue())

    results.append(
        compare(
            "PAdES B-B sign vs pyHanko SimpleSigner flow",
            lambda: pades.sign(pdf),
            plain_pyhanko,
            number=number,
            rounds=rounds,
            target=SIGN_TARGET,
        )
    )
    signed = pades.sign(pdf)
    verifier = PdfSignatureVerifier([ca.certificate])
    root = asn1_x509.Certificate.load(ca.certificate.public_bytes(serialization.Encoding.DER))

    def plain_validate() -> object:
        reader = PdfFileReader(io.BytesIO(signed))
        return validate_pdf_signature(
            reader.embedded_signatures[0], ValidationContext(trust_roots=[root])
        )

    results.append(
        compare(
            "verify signed PDF vs pyHanko validate",
            lambda: verifier.verify(signed),
            plain_validate,
            number=number,
            rounds=rounds,
        )
    )
    return results
