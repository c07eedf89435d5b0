"""The demo's documents step: a test CA, an agency certificate, and a signed PDF per licence."""

from __future__ import annotations

from datetime import timedelta

from cryptography.hazmat.primitives import serialization

from govkit.certificates import (
    Agency,
    CertificateVerifier,
    Holder,
    LicencePdfVerifier,
    LicenceRegistry,
    load_status_list,
    load_trust_list,
    render_licence_pdf,
    sign_trust_list,
)
from govkit.cli._app import CliInvalid
from govkit.cli._demo import (
    DemoContext,
    _sample_fields,
    issuer_with_status,
    save_issued_status,
    update_verifier,
)
from govkit.cli._files import write_file
from govkit.esign import (
    PadesSigner,
    PdfSignatureVerifier,
    issue_agency_certificate,
    make_test_ca,
    spki_sha256,
)
from govkit.keys import SigningKey, VerifyingKey
from govkit.pdf import PdfRenderer

__all__ = ["step_documents"]


def step_documents(ctx: DemoContext) -> None:
    """Write ``keys/ca.crt`` and the agency certificate; sign each licence type as a PDF.

    The trust list (``trust.json``) is re-signed by the demo's anchor with the agency
    certificate as the agency's licence PDF signer (``pdf_signers``, by SPKI hash):
    without it no licence PDF of the agency verifies (``esign.signer_mismatch``). The
    licences are issued again by the certificates step's issuer key (same agency,
    same trust list and status list: each gets its own status index), rendered, signed
    at PAdES B-B, written to ``certificates/<type>.pdf`` and verified (signature and
    embedded licence, revocation included). The verifier state (``verifier/``) then
    takes the re-signed lists, so ``govkit verify --state`` accepts those PDFs too.
    """
    keys, folder = ctx.out_dir / "keys", ctx.out_dir / "certificates"
    issuer_key = SigningKey.from_pem((keys / "issuer.pem").read_bytes())
    anchor = VerifyingKey.from_pem((keys / "trust-anchor.pub").read_bytes())
    trust = load_trust_list((ctx.out_dir / "trust.json").read_bytes(), [anchor])
    status = load_status_list(
        (ctx.out_dir / "status.json").read_bytes(), [issuer_key.verifying_key]
    )
    agency: Agency = trust.issuers[0].agency
    ca = make_test_ca("govkit 演示根证书 (demo CA)")
    agency_key = SigningKey.generate("ES256")
    certificate = issue_agency_certificate(
        ca, agency_key.verifying_key, agency_name=agency.name, uscc=agency.uscc
    )
    pem = serialization.Encoding.PEM
    write_file(keys / "ca.crt", ca.certificate_pem, force=True)
    write_file(keys / "agency.crt", certificate.public_bytes(pem), force=True)
    write_file(keys / "agency-signing.pem", agency_key.to_pem(), private=True, force=True)
    # The list's operator names the certificate that may sign the agency's licence PDFs.
    anchor_key = SigningKey.from_pem((keys / "trust-anchor.pem").read_bytes())
    authorised = trust.with_pdf_signers(agency.uscc, spki_sha256=[spki_sha256(certificate)])
    write_file(ctx.out_dir / "trust.json", sign_trust_list(authorised, anchor_key), force=True)
    trust = load_trust_list((ctx.out_dir / "trust.json").read_bytes(), [anchor])
    signer = PadesSigner(agency_key, certificate, chain=[ca.certificate])
    verifier = LicencePdfVerifier(
        PdfSignatureVerifier([ca.certificate]), CertificateVerifier(trust, status=status)
    )
    registry = LicenceRegistry.default()
    issuer, state = issuer_with_status(ctx, issuer_key, agency)
    renderer = PdfRenderer()
    rows, results = [], []
    ids: list[str] = []
    for name in registry.names():
        kind = registry.get(name)
        start = trust.issued_at.date() - timedelta(days=30)
        span = min(kind.max_validity or timedelta(days=3650), timedelta(days=3650))
        licence = issuer.issue(
            name,
            holder=Holder("p-demo-" + name.replace("-", "")[:20], "pseudonym"),
            fields=_sample_fields(kind),
            valid_from=start,
            valid_until=start + span - timedelta(days=1),
        )
        pdf = signer.sign(render_licence_pdf(licence, renderer), reason="电子证照签发")
        path = folder / f"{name}.pdf"
        write_file(path, pdf, force=True)
        report = verifier.inspect(path.read_bytes())
        rows.append((name, kind.zh, f"{len(pdf) // 1024} KB", ctx.verdict(report.ok, report.code)))
        results.append({"type": name, "pdf": str(path), "valid": report.ok, "code": report.code})
        ctx.record("document.sign", "licence_pdf", licence.id, details={"type": name})
        ids.append(licence.id)
    save_issued_status(ctx, issuer, state, ids)
    update_verifier(ctx)  # the list naming the PDF signer, for govkit verify --state
    ctx.results["documents"] = {
        "ca": str(keys / "ca.crt"),
        "agency_certificate": str(keys / "agency.crt"),
        "pdfs": results,
    }
    ctx.section("demo.title.pdfs", rows, ("type", "name_zh", "size", "verification"))
    if not all(r["valid"] for r in results):
        raise CliInvalid
