"""PAdES signatures on PDF documents (pyHanko), through govkit's :class:`~govkit.keys.Signer`."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal, TypeAlias

from asn1crypto import algos
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pyhanko.pdf_utils import layout, misc
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.rw_common import find_inherited_value_in_tree
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError as _HankoSigningError
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper
from pyhanko.stamp import StaticStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from govkit.clock import Clock, SystemClock
from govkit.errors import (
    ConfigurationError,
    GovkitError,
    RevocationUnavailable,
    SigningError,
    TimestampUnavailable,
)
from govkit.esign._pki import load_certificate
from govkit.esign._seal import Seal, _SealContent
from govkit.keys import Signer, VerifyingKey

__all__ = ["PADES_LEVELS", "PadesLevel", "PadesSigner"]

#: The PAdES baseline levels govkit signs at.
PadesLevel: TypeAlias = Literal["B-B", "B-T", "B-LT"]
#: The same names as a tuple.
PADES_LEVELS: Final[tuple[str, ...]] = ("B-B", "B-T", "B-LT")
_RESERVED: Final = {"B-B": 6144, "B-T": 14336, "B-LT": 14336}
_PROBE: Final = b"govkit: does this key match the certificate?"


def _mechanism(alg: str) -> algos.SignedDigestAlgorithm:
    if alg == "ES256":
        return algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"})
    if alg == "RS256":
        return algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa"})
    if alg == "PS256":
        return algos.SignedDigestAlgorithm(
            {
                "algorithm": "rsassa_pss",
                "parameters": algos.RSASSAPSSParams(
                    {
                        "hash_algorithm": {"algorithm": "sha256"},
                        "mask_gen_algorithm": {
                            "algorithm": "mgf1",
                            "parameters": {"algorithm": "sha256"},
                        },
                        "salt_length": 32,
                        "trailer_field": "trailer_field_bc",
                    }
                ),
            }
        )
    raise ConfigurationError("PDF signatures use ES256, PS256 or RS256 keys", alg=str(alg)[:16])


def _asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


class _CmsSigner(signers.Signer):
    """pyHanko's signer interface over a govkit :class:`Signer` (key parsed once, or an HSM)."""

    def __init__(self, signer: Signer, certificate: Any, chain: Sequence[Any]) -> None:
        self._govkit = signer
        self._ecdsa = signer.alg == "ES256"
        super().__init__(
            signing_cert=certificate,
            cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
                [certificate, *chain]
            ),
            signature_mechanism=_mechanism(signer.alg),
            embed_roots=True,
        )

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        if digest_algorithm != "sha256":
            raise SigningError("govkit signs PDFs with SHA-256 only", digest=digest_algorithm)
        if dry_run:
            return bytes(72 if self._ecdsa else 512)
        signature = self._govkit.sign(data)
        if self._ecdsa:
            r = int.from_bytes(signature[:32], "big")
            s = int.from_bytes(signature[32:], "big")
            return encode_dss_signature(r, s)
        return signature


class _ClockedPdfSigner(signers.PdfSigner):
    """pyHanko's PdfSigner, with the signing time taken from govkit's clock."""

    def __init__(self, *args: Any, when: datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._when = when

    def init_signing_session(self, *args: Any, **kwargs: Any) -> Any:
        session = super().init_signing_session(*args, **kwargs)
        session.system_time = self._when
        return session


@dataclass(frozen=True)
class _Settings:
    level: str
    field_name: str | None  # None: the first free SignatureN
    reason: str | None
    location: str | None
    seal: Seal | None


class PadesSigner:
    """Signs PDFs as an agency: PAdES baseline B-B, B-T (timestamp) or B-LT (revocation info).

    Args:
        signer: the agency's key: a :class:`~govkit.keys.SigningKey` (ES256, PS256 or
            RS256) or any :class:`~govkit.keys.Signer` (an HSM, a KMS client).
        certificate: the agency's X.509 certificate (object, PEM or DER) for that key.
        chain: the issuing CA certificates (the root may be included).
        timestamp_url: an RFC 3161 timestamp authority, needed for B-T and B-LT.
        timestamp_timeout: seconds to wait for the authority.
        trust_roots: the CA certificates long-term validation (B-LT) builds the chain
            to; the chain's last certificate when omitted.
        clock: the signing time written into the signature.

    The certificate is parsed, and checked against the key with one probe signature,
    once here; each :meth:`sign` then only signs.

    Raises:
        ConfigurationError: the key's algorithm is not usable in PDF signatures, or
            the key does not match the certificate.
    """

    def __init__(
        self,
        signer: Signer,
        certificate: x509.Certificate | bytes,
        *,
        chain: Sequence[x509.Certificate | bytes] = (),
        timestamp_url: str | None = None,
        timestamp_timeout: float = 10.0,
        trust_roots: Sequence[x509.Certificate | bytes] = (),
        clock: Clock | None = None,
    ) -> None:
        if not isinstance(signer, Signer):
            raise ConfigurationError("signer must be a Signer (for example a SigningKey)")
        _mechanism(signer.alg)
        cert = load_certificate(certificate)
        chain_certs = tuple(load_certificate(c) for c in chain)
        public = cert.public_key()
        try:
            verifying = VerifyingKey(public, signer.alg)  # type: ignore[arg-type]
            verifying.verify(signer.sign(_PROBE), _PROBE)
        except GovkitError:
            raise ConfigurationError(
                "the signing key does not match the certificate's public key"
            ) from None
        self._signer = signer
        self._certificate = cert
        self._chain = chain_certs
        roots = tuple(load_certificate(c) for c in trust_roots) or chain_certs[-1:]
        self._roots = tuple(_asn1(c) for c in roots)
        self._cms = _CmsSigner(signer, _asn1(cert), [_asn1(c) for c in chain_certs])
        self._timestamp_url = timestamp_url
        self._timestamp_timeout = timestamp_timeout
        self._clock = clock or SystemClock()

    @property
    def certificate(self) -> x509.Certificate:
        """The agency's certificate."""
        return self._certificate

    def sign(
        self,
        pdf: bytes,
        *,
        level: str = "B-B",
        field_name: str | None = None,
        reason: str | None = None,
        location: str | None = None,
        seal: Seal | None = None,
    ) -> bytes:
        """Sign ``pdf`` (an incremental update: the original bytes are kept) and return it.

        The signature is invisible unless a :class:`Seal` is given: then the signature
        field gets the seal's box on the seal's page, and the seal (with the signing
        time written into the signature) as its appearance. Without ``field_name`` the
        signature goes into a new field ``SignatureN`` (the first free ``N``), so a
        signed PDF can be signed again (a countersignature, an approval).

        Raises:
            ConfigurationError: unknown ``level``, B-T/B-LT without a timestamp URL,
                ``seal`` not a :class:`Seal`, or the seal's page is not in the PDF or its
                box is not on that page (``context["seal"]`` is ``"page"`` or ``"box"``).
            SigningError: the PDF cannot be read or signed (for example a field of that
                name is already signed).
            TimestampUnavailable: the timestamp authority failed (B-T, B-LT).
            RevocationUnavailable: revocation information could not be fetched (B-LT).
        """
        if level not in PADES_LEVELS:
            raise ConfigurationError("level must be B-B, B-T or B-LT", level=str(level)[:8])
        if level != "B-B" and self._timestamp_url is None:
            raise ConfigurationError(f"PAdES {level} needs a timestamp_url")
        if not isinstance(pdf, bytes) or not pdf.startswith(b"%PDF-"):
            raise SigningError("the input is not a PDF", reason="magic")
        if seal is not None and not isinstance(seal, Seal):
            raise ConfigurationError("seal must be a Seal", seal="seal")
        try:
            settings = _Settings(level, field_name, reason, location, seal)
            return self._sign(pdf, settings)
        except TimestampRequestError:
            raise TimestampUnavailable("the timestamp authority gave no usable token") from None
        except (misc.PdfError, _HankoSigningError) as exc:
            if level == "B-LT" and "revocation" in str(exc).lower():
                raise RevocationUnavailable(
                    "revocation information could not be gathered"
                ) from None
            raise SigningError(
                f"the PDF could not be signed ({type(exc).__name__})", reason="pyhanko"
            ) from None

    def _sign(self, pdf: bytes, settings: _Settings) -> bytes:
        long_term = settings.level == "B-LT"
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        field_name = settings.field_name or _free_field_name(writer)
        meta = signers.PdfSignatureMetadata(
            field_name=field_name,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            reason=settings.reason,
            location=settings.location,
            embed_validation_info=long_term,
            validation_context=ValidationContext(
                trust_roots=list(self._roots), allow_fetching=True, revocation_mode="require"
            )
            if long_term
            else None,
        )
        timestamper = (
            RequestsHTTPTimeStamper(  # type: ignore[no-untyped-call]
                self._timestamp_url, timeout=self._timestamp_timeout
            )
            if settings.level != "B-B"
            else None
        )
        when = self._clock.now()
        appearance: dict[str, Any] = {}
        if settings.seal is not None:
            appearance = _appearance(writer, settings.seal, field_name, when)
        pdf_signer = _ClockedPdfSigner(
            meta, self._cms, timestamper=timestamper, when=when, **appearance
        )
        out = pdf_signer.sign_pdf(
            writer, bytes_reserved=_RESERVED[settings.level] + 2048 * len(self._chain)
        )
        data: bytes = out.getvalue()
        return data


def _free_field_name(writer: IncrementalPdfFileWriter) -> str:
    """``Signature1``, or the first ``SignatureN`` no field of the PDF is named."""
    taken = {name for name, _, _ in fields.enumerate_sig_fields(writer)}
    number = 1
    while f"Signature{number}" in taken:
        number += 1
    return f"Signature{number}"


def _appearance(
    writer: IncrementalPdfFileWriter, seal: Seal, field_name: str, when: datetime
) -> dict[str, Any]:
    """The field spec and stamp style that put ``seal`` on its page, checked against the PDF."""
    try:
        count = int(writer.root["/Pages"]["/Count"])
    except (KeyError, TypeError, ValueError):
        raise SigningError("the PDF has no readable page tree", reason="pages") from None
    if not -count <= seal.page < count:
        raise ConfigurationError(
            "the seal's page is not in the PDF", seal="page", page=seal.page, pages=count
        )
    page_index = seal.page % count
    page_ref, _ = writer.find_page_for_modification(page_index)  # type: ignore[no-untyped-call]
    page = page_ref.get_object()
    visible = find_inherited_value_in_tree(page, "/CropBox", "/Parent")  # type: ignore[no-untyped-call]
    if visible is None:
        visible = find_inherited_value_in_tree(page, "/MediaBox", "/Parent")  # type: ignore[no-untyped-call]
    if visible is None:
        raise SigningError("the page has no MediaBox", reason="mediabox")
    try:
        a, b, c, d = (float(v) for v in visible)
    except (TypeError, ValueError):
        raise SigningError("the page has no readable MediaBox", reason="mediabox") from None
    left, right, bottom, top = min(a, c), max(a, c), min(b, d), max(b, d)
    x1, y1, x2, y2 = seal.box
    if x1 < left or y1 < bottom or x2 > right or y2 > top:
        raise ConfigurationError(
            "the seal's box is not on the page",
            seal="box",
            page=page_index,
            page_box=[left, bottom, right, top],
        )
    style = StaticStampStyle(
        background=_SealContent(seal.render(when)),
        border_width=0,
        background_opacity=1.0,
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID,
            y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins(0, 0, 0, 0),
        ),
    )
    # pyHanko annotates the box as ints; it writes any number (``FloatObject``).
    spec = fields.SigFieldSpec(
        sig_field_name=field_name,
        on_page=page_index,
        box=seal.box,  # type: ignore[arg-type]
    )
    return {"stamp_style": style, "new_field_spec": spec}
