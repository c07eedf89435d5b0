"""Licences as signed PDF documents: build the page from a licence, check a signed PDF.

The glue between :mod:`govkit.certificates` (the licence and its QR payload),
:mod:`govkit.pdf` (rendering, which knows no licences) and :mod:`govkit.esign`
(PAdES signatures). The QR payload is drawn on the page as vector shapes and also
embedded in the PDF as the file ``licence.txt``, so a verifier reads it without
rendering.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Final

from govkit.certificates._issuer import IssuedCertificate
from govkit.certificates._model import LicenceRegistry
from govkit.certificates._verifier import (
    CertificateReport,
    CertificateVerifier,
    VerifiedCertificate,
)
from govkit.certificates.qr import make_qr
from govkit.errors import ConfigurationError, PdfPayloadMissing, PdfReadError
from govkit.esign import PdfSignatureReport, PdfSignatureVerifier, SignatureInfo
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
    "LicencePdfReport",
    "LicencePdfVerifier",
    "VerifiedLicencePdf",
    "licence_document",
    "licence_template",
    "render_licence_pdf",
]

#: The name of the embedded file that holds the licence's QR payload.
LICENCE_ATTACHMENT: Final = "licence.txt"

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
    """A licence PDF whose signatures and embedded licence both verified."""

    signatures: tuple[SignatureInfo, ...]
    certificate: VerifiedCertificate


@dataclass(frozen=True)
class LicencePdfReport(Report):
    """Both verdicts on a licence PDF, as one report: its signatures, then its licence.

    ``checks`` are the PAdES signature checks (:class:`~govkit.esign.PdfSignatureReport`),
    then ``licence`` (the PDF embeds a licence payload that can be read), then the
    embedded licence's checks named ``licence.<check>`` (``licence.signature``,
    ``licence.status``, ...); ``code`` is the first failure's. JSON
    (:meth:`~govkit.report.Report.to_dict`): ``valid``, ``kind`` (``pdf``), ``code``,
    ``checks``, then ``checked_at``, ``signatures`` and ``certificate`` (the licence,
    personal data masked, or ``null``).
    """

    signature: PdfSignatureReport
    licence: CertificateReport | None
    payload_error: str | None = None
    checks: tuple[Check, ...] = field(init=False)
    kind: str = field(default="pdf", init=False)

    def __post_init__(self) -> None:
        if self.licence is None:
            payload = Check.failed(
                "licence",
                self.payload_error or PdfPayloadMissing.code,
                f"the PDF carries no readable licence payload ({LICENCE_ATTACHMENT})",
            )
            inner: tuple[Check, ...] = ()
        else:
            payload = Check.passed(
                "licence", f"the PDF carries a licence payload ({LICENCE_ATTACHMENT})"
            )
            inner = tuple(replace(c, name=f"licence.{c.name}") for c in self.licence.checks)
        object.__setattr__(self, "checks", (*self.signature.checks, payload, *inner))

    def json_members(self) -> dict[str, Any]:
        """``checked_at``, ``signatures`` and ``certificate``."""
        found = self.licence.json_members() if self.licence is not None else {}
        return self.signature.json_members() | {"certificate": found.get("certificate")}

    def summary(self) -> tuple[str, ...]:
        """Who signed the PDF, then the embedded licence."""
        licence = self.licence.summary() if self.licence is not None else ()
        return self.signature.summary() + licence


class LicencePdfVerifier:
    """Checks a signed licence PDF: its PAdES signatures, then the embedded licence payload.

    Args:
        signatures: checks the PDF signatures (trusted CAs).
        licences: checks the embedded ``GK1:`` payload (trust list, status list),
            exactly as for a QR code.
    """

    def __init__(self, signatures: PdfSignatureVerifier, licences: CertificateVerifier) -> None:
        self._signatures = signatures
        self._licences = licences

    def inspect(self, pdf: bytes, *, at: datetime | None = None) -> LicencePdfReport:
        """Run every check of both kinds; never raises for a bad document."""
        signature = self._signatures.inspect(pdf, at=at)
        when = signature.checked_at
        try:
            payload = read_attachment(pdf, LICENCE_ATTACHMENT)
        except PdfReadError as exc:
            return LicencePdfReport(signature, None, exc.code)
        return LicencePdfReport(signature, self._licences.inspect(payload, at=when))

    def verify(self, pdf: bytes, *, at: datetime | None = None) -> VerifiedLicencePdf:
        """Return both results, or raise the first failure.

        Raises:
            EsignVerificationError: a signature check failed.
            PdfReadError: the PDF is unreadable or has no embedded licence.
            CertificateVerificationError: the embedded licence is not valid.
        """
        signatures = self._signatures.verify(pdf, at=at)
        payload = read_attachment(pdf, LICENCE_ATTACHMENT)
        certificate = self._licences.verify(payload, at=at)
        return VerifiedLicencePdf(signatures, certificate)
