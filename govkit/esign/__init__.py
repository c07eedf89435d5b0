"""Electronic signatures: PAdES on PDFs (pyHanko) and detached signatures on any file.

>>> from govkit.esign import (PadesSigner, PdfSignatureVerifier, issue_agency_certificate,
...     make_test_ca, sign_detached, verify_detached)
>>> from govkit.keys import SigningKey
>>> from govkit.pdf import Document, PdfRenderer
>>> ca = make_test_ca("示例根证书")
>>> key = SigningKey.generate("ES256")
>>> cert = issue_agency_certificate(ca, key.verifying_key, agency_name="示例市政务服务局")
>>> pdf = PdfRenderer().render(Document("批复", "Approval", (), issuer="示例市政务服务局",
...     valid_from="2026-01-01", valid_until="2026-12-31", identifier="A-1"))
>>> signed = PadesSigner(key, cert, chain=[ca.certificate]).sign(pdf)
>>> [s.level for s in PdfSignatureVerifier([ca.certificate]).verify(signed)]
['B-B']
>>> sig = sign_detached(b"letter", key, purpose="official-letter")
>>> [s.role for s in verify_detached(b"letter", sig, [key.verifying_key])]
['sign']

* :class:`PadesSigner` signs a PDF at PAdES baseline B-B, B-T (an RFC 3161 timestamp)
  or B-LT (revocation data embedded), through any :class:`~govkit.keys.Signer`, so a
  key in an HSM works.
  ``sign(pdf, seal=Seal("广东省公安厅", box=...))`` makes the signature visible: a red
  round seal with the agency name in Chinese (the seal is a picture; it is not verified).
* :class:`PdfSignatureVerifier` checks integrity, whole-document coverage, no change
  after signing and the chain to trusted CAs (verify raises, inspect reports).
* :func:`sign_detached` / :func:`verify_detached`: RFC 7797 JWS over a file's SHA-256,
  with purpose, signing time and a multi-party chain (sign, countersign, approve);
  :func:`inspect_detached` runs the same checks and returns a
  :class:`DetachedSignatureReport`.
* Certificates: :func:`make_test_ca`, :func:`issue_agency_certificate`,
  :func:`issue_tsa_certificate` for tests and demos; :func:`make_csr` for a real CA;
  :func:`spki_sha256` and :func:`subject_ids`, what a trust list names a licence PDF's
  signer by.
"""

from govkit.esign._detached import (
    DETACHED_TYP,
    ROLES,
    DetachedSignature,
    DetachedSignatureReport,
    inspect_detached,
    sign_detached,
    verify_detached,
)
from govkit.esign._pades import PADES_LEVELS, PadesLevel, PadesSigner
from govkit.esign._pki import (
    TestCa,
    issue_agency_certificate,
    issue_tsa_certificate,
    load_certificate,
    load_certificates,
    make_csr,
    make_test_ca,
    spki_sha256,
    subject_ids,
)
from govkit.esign._seal import SEAL_RED, Seal
from govkit.esign._verify import (
    PdfSignatureReport,
    PdfSignatureVerifier,
    SignatureCheck,
    SignatureInfo,
)

__all__ = [
    "DETACHED_TYP",
    "PADES_LEVELS",
    "ROLES",
    "SEAL_RED",
    "DetachedSignature",
    "DetachedSignatureReport",
    "PadesLevel",
    "PadesSigner",
    "PdfSignatureReport",
    "PdfSignatureVerifier",
    "Seal",
    "SignatureCheck",
    "SignatureInfo",
    "TestCa",
    "inspect_detached",
    "issue_agency_certificate",
    "issue_tsa_certificate",
    "load_certificate",
    "load_certificates",
    "make_csr",
    "make_test_ca",
    "sign_detached",
    "spki_sha256",
    "subject_ids",
    "verify_detached",
]
