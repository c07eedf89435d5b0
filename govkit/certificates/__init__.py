"""Electronic licences verified offline from a QR code.

>>> from datetime import date, datetime, timedelta, timezone
>>> from govkit.certificates import (
...     Agency, CertificateIssuer, CertificateVerifier, Holder, StatusList, TrustedIssuer,
...     TrustedKey, TrustList, load_status_list, sign_status_list)
>>> from govkit.keys import SigningKey
>>> from govkit.testing import FixedClock
>>> clock = FixedClock(datetime(2026, 11, 28, 9, 0, tzinfo=timezone.utc))
>>> agency = Agency("广东省公安厅交通管理局", "114400000069445123")
>>> key = SigningKey.generate("ES256")
>>> statuses = StatusList(131072, list_id="gd-traffic-2026")
>>> issuer = CertificateIssuer(key, agency=agency, clock=clock, status=statuses)
>>> licence = issuer.issue(
...     "driving-licence", holder=Holder("p-3f9a1c07d2", "pseudonym"),
...     fields={"name": "张三", "licence_class": "C1", "first_issue_date": "2015-06-01",
...             "file_number": "440100123456"},
...     valid_from=date(2021, 6, 1), valid_until=date(2031, 6, 1))
>>> licence.qr_payload.startswith("GK1:")
True
>>> trust = TrustList(
...     (TrustedIssuer(agency, (TrustedKey.for_key(key.verifying_key, {"driving-licence"}),)),),
...     1, clock.now(), datetime(2026, 12, 28, tzinfo=timezone.utc))
>>> published = sign_status_list(statuses, key, issued_at=clock.now(),
...                              expires_at=clock.now() + timedelta(days=1), sequence=1)
>>> status = load_status_list(published, [key.verifying_key], at=clock.now())
>>> verifier = CertificateVerifier(trust, status=status, clock=clock)
>>> verified = verifier.verify(licence.qr_payload)
>>> verified.licence.fields["licence_class"], verified.issuer.agency.uscc, verified.status
('C1', '114400000069445123', <Status.VALID: 0>)

Revocation is a required check: an issuer without a status list refuses to issue, and
a verifier without the issuer's status list refuses every licence
(``certificate.status_unknown``), unless it is told ``unsafe_skip_status=True``.

The pieces:

* :mod:`govkit.certificates.codec`: the compact wire format, CWT claims in COSE_Sign1,
  optionally zlib-compressed, base45, prefix ``GK1:`` (and HCERT's ``HC1:`` for reading);
* the licence model: :class:`LicenceRegistry` of :class:`LicenceType` (the ten standard
  types), :class:`Licence`, :class:`Agency`, :class:`Holder`, GB/T 36904 identifiers
  (:func:`licence_id`);
* :class:`CertificateIssuer` and :class:`CertificateVerifier` (verify raises, inspect
  reports; revocation is always checked);
* the trust list (:class:`TrustList`, signed by a trust anchor) and the status list
  (:class:`StatusList`, revoked and suspended, privacy-preserving), loaded by
  :class:`TrustListSource` and :class:`StatusListSource` within the limits of a
  :class:`SourcePolicy`;
* the verifier state (:class:`VerifierState`): a directory holding the anchors, the
  newest trust and status lists, audit checkpoints and a replay store, which only
  moves forward (rollback, equivocation, a clock set back and replays are refused);
* :mod:`govkit.certificates.qr`: QR pictures in and out with zxing-cpp;
* presentations: selective-disclosure licences bound to the holder's device
  (:meth:`CertificateIssuer.issue_selective`, :class:`SelectiveCredential`), dynamic
  QR presentations (:class:`HolderDevice`) revealing only chosen items and
  issuer-signed predicates, checked against :data:`PROFILES` by
  :meth:`CertificateVerifier.verify_presentation`;
* licence PDFs: :func:`render_licence_pdf` (via :mod:`govkit.pdf`) and
  :class:`LicencePdfVerifier` (the PAdES signature via :mod:`govkit.esign`, the
  embedded payload as above, and :func:`check_pdf_signers`: the signer is one the trust
  list authorises for the licence's issuer).
"""

from govkit._http import SourcePolicy
from govkit.certificates._documents import (
    LICENCE_ATTACHMENT,
    PDF_SIGNER_CHECK,
    LicencePdfReport,
    LicencePdfVerifier,
    VerifiedLicencePdf,
    check_pdf_signers,
    licence_document,
    licence_template,
    render_licence_pdf,
)
from govkit.certificates._holder import PRESENTATION_PREFIX, HolderDevice, Presentation
from govkit.certificates._identifier import LicenceId, licence_id, parse_licence_id
from govkit.certificates._issuer import (
    LICENCE_CLAIM,
    CertificateIssuer,
    IssuedCertificate,
    IssueRequest,
)
from govkit.certificates._model import (
    Agency,
    FieldSpec,
    Holder,
    Licence,
    LicenceRegistry,
    LicenceType,
)
from govkit.certificates._predicates import PREDICATES, Predicate, disclosable_items
from govkit.certificates._presentation import (
    DEFAULT_WINDOW,
    PROFILES,
    PresentationReport,
    VerifiedPresentation,
    VerifierProfile,
)
from govkit.certificates._report import CertificateCheck
from govkit.certificates._selective import CREDENTIAL_PREFIX, SELECTIVE_CLAIM, SelectiveCredential
from govkit.certificates._sources import TrustListSource
from govkit.certificates._state import (
    CLOCK_TOLERANCE,
    ListUpdate,
    SyncResult,
    VerifierState,
)
from govkit.certificates._status import (
    STATUS_LIST_MAX_BYTES,
    SignedStatusList,
    Status,
    StatusList,
    StatusListSource,
    load_status_list,
    sign_status_list,
)
from govkit.certificates._trust import (
    TRUST_LIST_MAX_BYTES,
    TRUST_LIST_VERSION,
    TrustedIssuer,
    TrustedKey,
    TrustList,
    load_trust_list,
    sign_trust_list,
)
from govkit.certificates._verifier import (
    CertificateReport,
    CertificateVerifier,
    VerifiedCertificate,
)

__all__ = [
    "CLOCK_TOLERANCE",
    "CREDENTIAL_PREFIX",
    "DEFAULT_WINDOW",
    "LICENCE_ATTACHMENT",
    "LICENCE_CLAIM",
    "PDF_SIGNER_CHECK",
    "PREDICATES",
    "PRESENTATION_PREFIX",
    "PROFILES",
    "SELECTIVE_CLAIM",
    "STATUS_LIST_MAX_BYTES",
    "TRUST_LIST_MAX_BYTES",
    "TRUST_LIST_VERSION",
    "Agency",
    "CertificateCheck",
    "CertificateIssuer",
    "CertificateReport",
    "CertificateVerifier",
    "FieldSpec",
    "Holder",
    "HolderDevice",
    "IssueRequest",
    "IssuedCertificate",
    "Licence",
    "LicenceId",
    "LicencePdfReport",
    "LicencePdfVerifier",
    "LicenceRegistry",
    "LicenceType",
    "ListUpdate",
    "Predicate",
    "Presentation",
    "PresentationReport",
    "SelectiveCredential",
    "SignedStatusList",
    "SourcePolicy",
    "Status",
    "StatusList",
    "StatusListSource",
    "SyncResult",
    "TrustList",
    "TrustListSource",
    "TrustedIssuer",
    "TrustedKey",
    "VerifiedCertificate",
    "VerifiedLicencePdf",
    "VerifiedPresentation",
    "VerifierProfile",
    "VerifierState",
    "check_pdf_signers",
    "disclosable_items",
    "licence_document",
    "licence_id",
    "licence_template",
    "load_status_list",
    "load_trust_list",
    "parse_licence_id",
    "render_licence_pdf",
    "sign_status_list",
    "sign_trust_list",
]
