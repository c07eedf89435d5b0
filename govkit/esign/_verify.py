"""Verifying PAdES signatures: integrity, coverage, no change after signing, trust."""

from __future__ import annotations

import dataclasses
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography import x509
from pyhanko.pdf_utils import misc
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from govkit.clock import Clock, SystemClock, resolve_time
from govkit.errors import (
    DocumentDigestMismatch,
    DocumentModified,
    DocumentSignatureInvalid,
    EsignVerificationError,
    NotSigned,
    SignatureFormatError,
    SignerUntrusted,
)
from govkit.esign._pades import _asn1
from govkit.esign._pki import load_certificate, spki_sha256
from govkit.observability import observed
from govkit.report import Check, Report, summary_line

__all__ = ["PdfSignatureReport", "PdfSignatureVerifier", "SignatureCheck", "SignatureInfo"]

MAX_PDF_BYTES = 64 * 1024 * 1024
#: Changes after a signature that do not alter what was signed: a DSS (revocation
#: data for long-term validation) or a document timestamp.
_HARMLESS = (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES)


#: What pyHanko raises for a signature it cannot read. A crafted CMS reaches
#: ``AttributeError`` too (a digest algorithm OID that names no hash), so that is a
#: format error of the signature as well, never an exception out of ``inspect``.
_UNREADABLE = (
    SignatureValidationError,
    misc.PdfError,
    ValueError,
    KeyError,
    TypeError,
    AttributeError,
)


#: One check of a :class:`PdfSignatureReport` (the name before :class:`govkit.report.Check`).
SignatureCheck = Check


@dataclass(frozen=True)
class SignatureInfo:
    """What one signature in a PDF says about itself (read, then checked).

    ``certificate`` is the signer's certificate as the signature carries it (``None``
    only for an info made by hand); a licence PDF's verifier matches it against the
    trust list's ``pdf_signers``. JSON shows its :func:`~govkit.esign.spki_sha256` in hex.
    """

    field: str
    signer: str
    serial: int
    signing_time: datetime | None
    timestamp: datetime | None
    level: str
    coverage: str
    certificate: x509.Certificate | None = dataclasses.field(
        default=None, repr=False, compare=False
    )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "field": self.field,
            "signer": self.signer,
            "serial": format(self.serial, "x"),
            "signing_time": None if self.signing_time is None else self.signing_time.isoformat(),
            "timestamp": None if self.timestamp is None else self.timestamp.isoformat(),
            "level": self.level,
            "coverage": self.coverage,
            "spki_sha256": None
            if self.certificate is None
            else spki_sha256(self.certificate).hex(),
        }


@dataclass(frozen=True)
class PdfSignatureReport(Report):
    """Every check of every signature in a PDF; valid when all passed.

    The checks: ``signed`` (the PDF carries at least one signature), then for each
    signature field ``<field>.integrity``, ``<field>.coverage``, ``<field>.trust`` and
    ``<field>.timestamp`` (not performed for a signature without a timestamp: its
    signing time is only the signer's claim). JSON
    (:meth:`~govkit.report.Report.to_dict`): ``valid``, ``kind`` (``pdf``), ``code``,
    ``checks``, then ``checked_at`` and ``signatures`` (what each signature says about
    itself, read and then checked).
    """

    checks: tuple[Check, ...]
    signatures: tuple[SignatureInfo, ...]
    checked_at: datetime
    kind: str = field(default="pdf", init=False)

    def json_members(self) -> dict[str, Any]:
        """``checked_at`` and ``signatures``."""
        return {
            "checked_at": self.checked_at.isoformat(),
            "signatures": [s.to_dict() for s in self.signatures],
        }

    def summary(self) -> tuple[str, ...]:
        """Who signed, at which PAdES level."""
        return self.summary_in("en")

    def summary_in(self, lang: str) -> tuple[str, ...]:
        """:meth:`summary` in ``lang``."""
        return tuple(
            summary_line("summary.signer", lang, signer=s.signer, level=s.level)
            for s in self.signatures
        )


class _Collect:
    def __init__(self) -> None:
        self.checks: list[Check] = []
        self.errors: list[EsignVerificationError] = []

    def ok(self, name: str, key: str, /, **values: object) -> None:
        """A passed check; its detail is the catalogue message ``key``."""
        self.checks.append(Check.described(name, True, key, **values))

    def skipped(self, name: str, key: str, /) -> None:
        """A check not made; its detail is the catalogue message ``key``."""
        self.checks.append(Check.described(name, None, key))

    def fail(self, name: str, error: EsignVerificationError) -> None:
        self.checks.append(Check(name, False, error.code, error.message))
        self.errors.append(error)


class PdfSignatureVerifier:
    """Checks the PAdES signatures of a PDF against trusted CA certificates.

    For each signature: ``integrity`` (the signed bytes are unchanged and the
    signature value verifies), ``coverage`` (it covers the whole file, or only a
    DSS or document timestamp was added after it, or, for all but the last signature,
    later revisions only fill form fields such as the next signature's), ``trust`` (the signer's
    certificate chains to one of ``trust_roots`` and is valid at the checked time)
    and, when present, ``timestamp``.

    Args:
        trust_roots: the CA certificates (objects, PEM or DER) to trust.
        clock: the default time to validate certificates at (``at=`` overrides).

    Revocation is checked from what the document embeds (B-LT) and never fetched.
    """

    def __init__(
        self, trust_roots: Sequence[x509.Certificate | bytes], *, clock: Clock | None = None
    ) -> None:
        self._roots = tuple(_asn1(load_certificate(c)) for c in trust_roots)
        self._clock = clock or SystemClock()

    @observed("pdf_signature.verify", "govkit.esign")
    def verify(self, pdf: bytes, *, at: datetime | None = None) -> tuple[SignatureInfo, ...]:
        """Return the signatures if every check passes.

        Raises:
            EsignVerificationError: a subclass naming the first failed check
                (:class:`~govkit.errors.NotSigned`,
                :class:`~govkit.errors.DocumentDigestMismatch`,
                :class:`~govkit.errors.DocumentModified`,
                :class:`~govkit.errors.SignerUntrusted`, ...).
        """
        signatures, collect, _ = self._run(pdf, resolve_time(self._clock, at))
        if collect.errors:
            raise collect.errors[0]
        return signatures

    @observed("pdf_signature.inspect", "govkit.esign")
    def inspect(self, pdf: bytes, *, at: datetime | None = None) -> PdfSignatureReport:
        """Run every check and report; never raises for a bad document.

        A signature without a timestamp gives a ``<field>.timestamp`` check that was
        not performed (``ok`` is ``None``); it does not make the report invalid.
        """
        signatures, collect, when = self._run(pdf, resolve_time(self._clock, at))
        return PdfSignatureReport(tuple(collect.checks), signatures, when)

    def _run(
        self, pdf: bytes, when: datetime
    ) -> tuple[tuple[SignatureInfo, ...], _Collect, datetime]:
        collect = _Collect()
        infos: list[SignatureInfo] = []
        if not isinstance(pdf, bytes) or not pdf.startswith(b"%PDF-") or len(pdf) > MAX_PDF_BYTES:
            collect.fail("signed", SignatureFormatError("the input is not a PDF", reason="magic"))
            return (), collect, when
        try:
            reader = PdfFileReader(io.BytesIO(pdf), strict=False)
            embedded = list(reader.embedded_regular_signatures)
        except (misc.PdfError, KeyError, TypeError, ValueError) as exc:
            collect.fail(
                "signed",
                SignatureFormatError(f"the PDF cannot be read ({type(exc).__name__})"),
            )
            return (), collect, when
        if not embedded:
            collect.fail("signed", NotSigned("the PDF carries no signature"))
            return (), collect, when
        collect.ok("signed", "signed.count", count=len(embedded))
        for position, emb in enumerate(embedded):
            later = position < len(embedded) - 1
            info = self._check_one(emb, reader, when, collect, signed_later=later)
            if info is not None:
                infos.append(info)
        return tuple(infos), collect, when

    def _check_one(
        self, emb: Any, reader: Any, when: datetime, collect: _Collect, *, signed_later: bool
    ) -> SignatureInfo | None:
        name = str(emb.field_name)
        context = ValidationContext(
            trust_roots=list(self._roots),
            moment=when,
            allow_fetching=False,
            revocation_mode="soft-fail",
        )
        try:
            status = _quietly(validate_pdf_signature, emb, signer_validation_context=context)
        except _UNREADABLE as exc:
            collect.fail(
                f"{name}.integrity",
                SignatureFormatError(
                    f"the signature cannot be read ({type(exc).__name__})", field=name
                ),
            )
            return None
        if not status.intact:
            collect.fail(
                f"{name}.integrity",
                DocumentDigestMismatch("the signed bytes were changed", field=name),
            )
        elif not status.valid:
            collect.fail(
                f"{name}.integrity",
                DocumentSignatureInvalid("the signature value does not verify", field=name),
            )
        else:
            collect.ok(f"{name}.integrity", "integrity.verified")
        coverage = status.coverage
        level = status.modification_level
        if coverage == SignatureCoverageLevel.ENTIRE_FILE:
            collect.ok(f"{name}.coverage", "coverage.document")
        elif (
            coverage == SignatureCoverageLevel.ENTIRE_REVISION
            and level in _HARMLESS
            and status.docmdp_ok is not False
        ):
            collect.ok(f"{name}.coverage", "coverage.revision")
        elif (
            signed_later
            and coverage == SignatureCoverageLevel.ENTIRE_REVISION
            and level == ModificationLevel.FORM_FILLING
            and status.docmdp_ok is not False
        ):
            # A countersignature or an approval: later revisions only fill form fields
            # (the next signature's), and the last signature, checked on its own, must
            # cover the whole document: someone trusted vouches for the final bytes.
            collect.ok(f"{name}.coverage", "coverage.countersigned")
        else:
            collect.fail(
                f"{name}.coverage",
                DocumentModified(
                    "the document was changed after signing",
                    field=name,
                    coverage=coverage.name.lower(),
                    modification=None if level is None else level.name.lower(),
                ),
            )
        if status.trusted:
            collect.ok(f"{name}.trust", "chain.trusted")
        else:
            collect.fail(
                f"{name}.trust",
                SignerUntrusted(
                    "the signer's certificate does not chain to a trusted CA", field=name
                ),
            )
        ts_time: datetime | None = None
        ts = status.timestamp_validity
        if ts is None:
            collect.skipped(f"{name}.timestamp", "timestamp.none")
        else:
            ts_time = ts.timestamp
            if ts.intact and ts.valid and ts.trusted:
                collect.ok(f"{name}.timestamp", "timestamp.trusted", time=ts_time.isoformat())
            else:
                collect.fail(
                    f"{name}.timestamp",
                    SignerUntrusted(
                        "the signature timestamp is not valid or not trusted", field=name
                    ),
                )
        dss = "/DSS" in reader.root
        signer_cert = emb.signer_cert
        return SignatureInfo(
            field=name,
            signer=signer_cert.subject.human_friendly,
            serial=int(signer_cert.serial_number),
            signing_time=status.signer_reported_dt,
            timestamp=ts_time,
            level="B-LT" if ts is not None and dss else ("B-T" if ts is not None else "B-B"),
            coverage=coverage.name.lower(),
            certificate=_certificate(signer_cert),
        )


def _certificate(signer_cert: Any) -> x509.Certificate | None:
    """The signer's certificate (pyHanko's asn1crypto object) for ``cryptography``, or
    ``None`` when ``cryptography`` cannot read it (it then matches no trust list entry)."""
    try:
        return x509.load_der_x509_certificate(signer_cert.dump())
    except ValueError:
        return None


def _quietly(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call ``fn`` with pyHanko's and the validator's loggers muted below ERROR."""
    saved = {lg: lg.level for lg in map(logging.getLogger, ("pyhanko", "pyhanko_certvalidator"))}
    for lg in saved:
        lg.setLevel(logging.ERROR)
    try:
        return fn(*args, **kwargs)
    finally:
        for lg, level in saved.items():
            lg.setLevel(level)
