"""Licences as signed PDF documents: build the page from a licence, check a signed PDF.

The glue between :mod:`govkit.certificates` (the licence and its QR payload),
:mod:`govkit.pdf` (rendering, which knows no licences) and :mod:`govkit.esign`
(PAdES signatures). The QR payload is drawn on the page as vector shapes and also
embedded in the PDF as the file ``licence.txt``, so a verifier reads it without
rendering.

A licence PDF verifies only when its signers are the licence issuer's: every
signature's certificate must be one the trust list names for the embedded licence's
issuing agency (:class:`~govkit.certificates.TrustedIssuer`'s ``pdf_signer_spki`` and
``pdf_signer_subjects``), or the PDF fails with ``esign.signer_mismatch``. Otherwise
anyone holding a certificate from a trusted CA could wrap someone else's genuine
licence in a page saying anything. The page itself is never verified: it is a picture
of the signed payload, and the report says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Final

from govkit.certificates._issuer import IssuedCertificate
from govkit.certificates._model import LicenceRegistry
from govkit.certificates._trust import TrustedIssuer
from govkit.certificates._verifier import (
    CertificateReport,
    CertificateVerifier,
    VerifiedCertificate,
)
from govkit.certificates.qr import make_qr
from govkit.errors import ConfigurationError, PdfPayloadMissing, PdfReadError, SignerMismatch
from govkit.esign import (
    PdfSignatureReport,
    PdfSignatureVerifier,
    SignatureInfo,
    spki_sha256,
    subject_ids,
)
from govkit.observability import observed
from govkit.pdf import (
    Attachment,
    Document,
    DocumentField,
    LayoutTemplate,
    PdfRenderer,
    QrMatrix,
    read_attachment,
)
from govkit.report import Check, Report

__all__ = [
    "LICENCE_ATTACHMENT",
    "PDF_SIGNER_CHECK",
    "LicencePdfReport",
    "LicencePdfVerifier",
    "VerifiedLicencePdf",
    "check_pdf_signers",
    "licence_document",
    "licence_template",
    "render_licence_pdf",
]

#: The name of the embedded file that holds the licence's QR payload.
LICENCE_ATTACHMENT: Final = "licence.txt"
#: The name of the check that the PDF's signers are authorised for the licence's issuer.
PDF_SIGNER_CHECK: Final = "pdf_signer"
#: Said above the licence's fields in a licence PDF's text report.
_FROM_PAYLOAD: Final = (
    "证照数据取自PDF内嵌的已签名数据 The licence below is read from the signed payload "
    f"embedded in the PDF ({LICENCE_ATTACHMENT}):"
)
#: Said below them: the page was not what was verified.
_PAGE_IS_A_PICTURE: Final = (
    "打印页面只是上述数据的图像，页面本身未经核验 The printed page is only a picture of "
    "these fields and was not itself verified: rely on the fields above, not on the page."
)

#: One look per standard type: (accent colour, columns on A4).
_LOOKS: Final[dict[str, tuple[str, int]]] = {
    "resident-id-card": ("#2b5797", 1),
    "driving-licence": ("#1f4e79", 1),
    "vehicle-licence": ("#2e5e4e", 2),
    "social-security-card": ("#b03a2e", 1),
    "housing-provident-fund": ("#6c3483", 2),
    "passport": ("#7b241c", 1),
    "residence-permit": ("#117864", 1),
    "household-register": ("#7e5109", 1),
    "business-licence": ("#922b21", 2),
    "real-estate-certificate": ("#1a5276", 2),
}


def licence_template(type_name: str) -> LayoutTemplate:
    """The layout of a licence type (the ten standard types each have their own).

    Other types get a neutral template named after them.

    >>> licence_template("business-licence").columns
    2
    """
    accent, columns = _LOOKS.get(type_name, ("#34495e", 1))
    return LayoutTemplate(
        name=type_name, accent=accent, header="中华人民共和国 · 电子证照", columns=columns
    )


def _show(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "是 Yes" if value else "否 No"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def licence_document(
    issued: IssuedCertificate, *, registry: LicenceRegistry | None = None, masked: bool = False
) -> Document:
    """The :class:`~govkit.pdf.Document` of an issued licence.

    The title and field labels come from the licence type (Chinese and English);
    the issuer, the validity and the GB/T 36904 identifier are shown; the QR is the
    licence's payload at error-correction level M, and the payload is embedded as
    :data:`LICENCE_ATTACHMENT`. ``masked`` shows personal fields masked.

    Raises:
        LicenceDataInvalid: the licence's type is not in ``registry``.
    """
    if not isinstance(issued, IssuedCertificate):
        raise ConfigurationError("licence_document takes an IssuedCertificate")
    registry = registry or LicenceRegistry.default()
    licence = issued.licence
    kind = registry.get(licence.type)
    values = licence.masked_fields(registry) if masked else dict(licence.fields)
    fields = []
    for spec in kind.fields:
        shown = _show(values.get(spec.name))
        if shown is not None:
            fields.append(DocumentField(spec.zh, spec.en, shown))
    code = make_qr(issued.qr_payload, ec_level="M")
    return Document(
        title_zh=kind.zh,
        title_en=kind.en,
        fields=tuple(fields),
        issuer=licence.issuer.name,
        valid_from=licence.valid_from.isoformat(),
        valid_until=licence.valid_until.isoformat(),
        identifier=licence.id,
        qr=QrMatrix(code.size, code.modules),
        attachment=Attachment(LICENCE_ATTACHMENT, issued.qr_payload.encode("ascii")),
        template=licence_template(kind.name),
        subject=f"{kind.en} {licence.id}",
    )


def render_licence_pdf(
    issued: IssuedCertificate,
    renderer: PdfRenderer,
    *,
    size: str = "a4",
    registry: LicenceRegistry | None = None,
    masked: bool = False,
) -> bytes:
    """Render an issued licence as an unsigned PDF (sign it with ``esign.PadesSigner``)."""
    return renderer.render(licence_document(issued, registry=registry, masked=masked), size=size)


@dataclass(frozen=True)
class VerifiedLicencePdf:
    """A licence PDF whose signatures and embedded licence both verified, and whose
    signers the trust list authorises for the licence's issuer."""

    signatures: tuple[SignatureInfo, ...]
    certificate: VerifiedCertificate


@dataclass(frozen=True)
class LicencePdfReport(Report):
    """Both verdicts on a licence PDF, as one report: its signatures, then its licence.

    ``checks`` are the PAdES signature checks (:class:`~govkit.esign.PdfSignatureReport`),
    then ``licence`` (the PDF embeds a licence payload that can be read), then the
    embedded licence's checks named ``licence.<check>`` (``licence.signature``,
    ``licence.status``, ...), then ``pdf_signer`` (:data:`PDF_SIGNER_CHECK`: every
    signature's certificate is one the trust list authorises for the licence's issuer;
    not performed when the licence did not verify or a signer is not trusted, and a
    failure, ``esign.signer_mismatch``, when ``signer`` is not given); ``code`` is the
    first failure's. JSON (:meth:`~govkit.report.Report.to_dict`): ``valid``, ``kind``
    (``pdf``), ``code``, ``checks``, then ``checked_at``, ``signatures`` and
    ``certificate`` (the licence, personal data masked, or ``null``).
    """

    signature: PdfSignatureReport
    licence: CertificateReport | None
    payload_error: str | None = None
    signer: Check | None = None
    checks: tuple[Check, ...] = field(init=False)
    kind: str = field(default="pdf", init=False)

    def __post_init__(self) -> None:
        signer = self.signer or Check.not_performed(
            PDF_SIGNER_CHECK,
            "the PDF's signers were not matched against the trust list",
            required=SignerMismatch.code,
        )
        if self.licence is None:
            payload = Check.failed(
                "licence",
                self.payload_error or PdfPayloadMissing.code,
                f"the PDF carries no readable licence payload ({LICENCE_ATTACHMENT})",
            )
            inner: tuple[Check, ...] = ()
        else:
            payload = Check.described(
                "licence", True, "licence.payload", attachment=LICENCE_ATTACHMENT
            )
            inner = tuple(replace(c, name=f"licence.{c.name}") for c in self.licence.checks)
        object.__setattr__(self, "checks", (*self.signature.checks, payload, *inner, signer))

    def json_members(self) -> dict[str, Any]:
        """``checked_at``, ``signatures`` and ``certificate``."""
        found = self.licence.json_members() if self.licence is not None else {}
        return self.signature.json_members() | {"certificate": found.get("certificate")}

    def summary(self) -> tuple[str, ...]:
        """Who signed the PDF, then the embedded licence: the fields of its signed
        payload, and that the page is only a picture of them."""
        return self.summary_in("en")

    def summary_in(self, lang: str) -> tuple[str, ...]:
        """:meth:`summary` in ``lang`` (the licence lines carry both languages)."""
        licence = self.licence.summary_in(lang) if self.licence is not None else ()
        if licence:
            licence = (_FROM_PAYLOAD, *licence, _PAGE_IS_A_PICTURE)
        return self.signature.summary_in(lang) + licence


def check_pdf_signers(signatures: Sequence[SignatureInfo], issuer: TrustedIssuer) -> str:
    """Check that every signature's certificate may sign ``issuer``'s licence PDFs.

    A certificate is authorised by its :func:`~govkit.esign.spki_sha256` or one of its
    :func:`~govkit.esign.subject_ids` on ``issuer`` (:meth:`TrustedIssuer.pdf_signer_match`);
    an issuer without PDF signers authorises none. Returns the passed check's detail.

    Raises:
        SignerMismatch: a signature (``context["field"]``) is by another certificate
            (``reason`` ``not_listed``), the issuer names no PDF signer (``none_listed``),
            its certificate cannot be read (``unreadable``), or there is no signature
            (``unsigned``). The context holds the issuer's USCC and the signer's
            ``spki_sha256`` (hex), never the certificate's subject.
    """
    return _signers_check(signatures, issuer).detail


def _signers_check(signatures: Sequence[SignatureInfo], issuer: TrustedIssuer) -> Check:
    """:func:`check_pdf_signers`, returning the passed check."""
    uscc = issuer.agency.uscc
    if not signatures:
        raise SignerMismatch("the PDF carries no signature", reason="unsigned", uscc=uscc)
    matched: list[str] = []
    for info in signatures:
        certificate = info.certificate
        if certificate is None:
            raise SignerMismatch(
                "the signer's certificate cannot be read",
                reason="unreadable",
                field=info.field,
                uscc=uscc,
            )
        spki = spki_sha256(certificate)
        how = issuer.pdf_signer_match(spki, subject_ids(certificate))
        if how is None:
            listed = issuer.pdf_signer_spki or issuer.pdf_signer_subjects
            raise SignerMismatch(
                "the PDF's signer is not authorised by the trust list for the licence's issuer"
                if listed
                else "the trust list authorises no PDF signer for the licence's issuer "
                "(its entry has no pdf_signers): no licence PDF of it is accepted",
                reason="not_listed" if listed else "none_listed",
                field=info.field,
                uscc=uscc,
                spki_sha256=spki.hex(),
            )
        matched.append(f"{info.field} by {how}")
    return Check.described(
        PDF_SIGNER_CHECK,
        True,
        "pdf_signer.authorised",
        agency=issuer.agency.name,
        uscc=issuer.agency.uscc,
        matched=", ".join(matched),
    )


def _signer_check(signature: PdfSignatureReport, licence: CertificateReport) -> Check:
    """The :data:`PDF_SIGNER_CHECK` of :meth:`LicencePdfVerifier.inspect`."""
    verified = licence.certificate
    if verified is None:
        return Check.described(PDF_SIGNER_CHECK, None, "pdf_signer.unknown_issuer")
    if not signature.signatures:
        return Check.described(PDF_SIGNER_CHECK, None, "pdf_signer.no_signature")
    trusted = {c.name for c in signature.checks if c.ok is True}
    untrusted = [s.field for s in signature.signatures if f"{s.field}.trust" not in trusted]
    if untrusted:
        return Check.described(
            PDF_SIGNER_CHECK, None, "pdf_signer.untrusted", fields=", ".join(untrusted)
        )
    try:
        return _signers_check(signature.signatures, verified.issuer)
    except SignerMismatch as exc:
        return Check.from_error(PDF_SIGNER_CHECK, exc)


def _pdf_fields(_: tuple[Any, ...], __: Mapping[str, Any], found: object) -> dict[str, object]:
    """Log fields of a licence PDF verify or inspect: the licence's issuer and key id."""
    found = getattr(getattr(found, "licence", found), "certificate", None)
    if isinstance(found, VerifiedCertificate):
        return {"issuer": found.issuer.agency.uscc, "kid": found.key.kid.hex()}
    return {}


class LicencePdfVerifier:
    """Checks a signed licence PDF: its PAdES signatures, the embedded licence payload,
    and that the PDF's signers are the licence issuer's.

    Args:
        signatures: checks the PDF signatures (trusted CAs).
        licences: checks the embedded ``GK1:`` payload (trust list, status list),
            exactly as for a QR code. Its trust list also names, per issuer, the
            certificates allowed to sign that issuer's licence PDFs
            (:func:`check_pdf_signers`).
    """

    def __init__(self, signatures: PdfSignatureVerifier, licences: CertificateVerifier) -> None:
        self._signatures = signatures
        self._licences = licences

    @observed("licence_pdf.inspect", "govkit.certificates", _pdf_fields)
    def inspect(self, pdf: bytes, *, at: datetime | None = None) -> LicencePdfReport:
        """Run every check of both kinds; never raises for a bad document."""
        signature = self._signatures.inspect(pdf, at=at)
        when = signature.checked_at
        try:
            payload = read_attachment(pdf, LICENCE_ATTACHMENT)
        except PdfReadError as exc:
            unknown = Check.not_performed(
                PDF_SIGNER_CHECK, "not performed: the PDF carries no licence, so no issuer"
            )
            return LicencePdfReport(signature, None, exc.code, unknown)
        licence = self._licences.inspect(payload, at=when)
        return LicencePdfReport(signature, licence, signer=_signer_check(signature, licence))

    @observed("licence_pdf.verify", "govkit.certificates", _pdf_fields)
    def verify(self, pdf: bytes, *, at: datetime | None = None) -> VerifiedLicencePdf:
        """Return both results, or raise the first failure.

        Raises:
            EsignVerificationError: a signature check failed.
            PdfReadError: the PDF is unreadable or has no embedded licence.
            CertificateVerificationError: the embedded licence is not valid.
            SignerMismatch: a signer's certificate is not one the trust list
                authorises for the licence's issuer (``esign.signer_mismatch``).
        """
        signatures = self._signatures.verify(pdf, at=at)
        payload = read_attachment(pdf, LICENCE_ATTACHMENT)
        certificate = self._licences.verify(payload, at=at)
        check_pdf_signers(signatures, certificate.issuer)
        return VerifiedLicencePdf(signatures, certificate)
