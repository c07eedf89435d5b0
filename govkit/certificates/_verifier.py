"""Verifying licences offline: payload or QR picture in, a verdict with every check out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

from govkit.audit import AuditEvent, AuditLog
from govkit.certificates import codec
from govkit.certificates._issuer import LICENCE_CLAIM
from govkit.certificates._model import Licence, LicenceRegistry
from govkit.certificates._presentation import (
    DEFAULT_WINDOW,
    PRESENTATION_CHECKS,
    MemoryReplayCache,
    PresentationReplayCache,
    PresentationReport,
    PresentationRun,
    VerifiedPresentation,
    VerifierProfile,
    resolve_profile,
)
from govkit.certificates._report import CertificateCheck, ChecksVerdict, Trace
from govkit.certificates._status import SignedStatusList, Status, StatusListSource
from govkit.certificates._trust import TrustedIssuer, TrustedKey, TrustList, TrustListSource
from govkit.certificates.qr import read_qr
from govkit.clock import Clock, SystemClock, resolve_time
from govkit.errors import (
    CertificateFormatError,
    CertificateKeyUnknown,
    CertificateRevoked,
    CertificateSuspended,
    ConfigurationError,
    GovkitError,
    IssuerNotAllowed,
    LicenceDataInvalid,
    StatusListInvalid,
    TrustListStale,
)

__all__ = ["CertificateCheck", "CertificateReport", "CertificateVerifier", "VerifiedCertificate"]

_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")
_MAX_NUMERIC_DATE = 253402300799  # 9999-12-31T23:59:59Z
CHECKS = ("input", "format", "trust", "signature", "issuer", "validity", "status")


@dataclass(frozen=True)
class VerifiedCertificate:
    """A licence that passed every check, with who vouched for it."""

    licence: Licence
    issuer: TrustedIssuer
    key: TrustedKey
    issued_at: datetime
    not_before: datetime
    expires_at: datetime
    status: Status | None
    checked_at: datetime
    trust_sequence: int
    masked_fields: Mapping[str, Any]


@dataclass(frozen=True)
class CertificateReport(ChecksVerdict):
    """Every check of one verification, and the certificate when all passed."""

    kind: str
    checks: tuple[CertificateCheck, ...]
    certificate: VerifiedCertificate | None

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``valid``, ``kind``, ``code``, ``checks`` and ``certificate``."""
        cert = self.certificate
        return self._report_json(
            "certificate",
            None
            if cert is None
            else {
                "id": cert.licence.id,
                "type": cert.licence.type,
                "issuer": {"name": cert.issuer.agency.name, "uscc": cert.issuer.agency.uscc},
                "holder": cert.licence.holder.masked(),
                "fields": dict(cert.masked_fields),
                "valid_from": cert.not_before.isoformat(),
                "valid_until": cert.expires_at.isoformat(),
                "status": None if cert.status is None else cert.status.name.lower(),
            },
        )


class CertificateVerifier:
    """Verifies licences offline against a trust list and, optionally, a status list.

    Args:
        trust: a loaded :class:`TrustList` or a :class:`TrustListSource` (file or URL,
            cached).
        status: a loaded :class:`SignedStatusList` or a :class:`StatusListSource`.
        registry: the licence types (default: the ten standard types).
        clock: time source, read once per verification.
        allow_stale_trust: accept a trust or status list past its expiry (the
            report still shows ``trust.stale``); by default :meth:`verify` raises
            :class:`~govkit.errors.TrustListStale`.
        audit: when given, each verification outcome is logged.
        replay_cache: remembers presentations until their window closes (default: an
            in-memory :class:`MemoryReplayCache` of this verifier); share one (for
            example a database-backed one) between verifiers that see the same holders.
    """

    def __init__(
        self,
        trust: TrustList | TrustListSource,
        *,
        status: SignedStatusList | StatusListSource | None = None,
        registry: LicenceRegistry | None = None,
        clock: Clock | None = None,
        allow_stale_trust: bool = False,
        audit: AuditLog | None = None,
        replay_cache: PresentationReplayCache | None = None,
    ) -> None:
        if not isinstance(trust, (TrustList, TrustListSource)):
            raise ConfigurationError("trust must be a TrustList or a TrustListSource")
        self._trust = trust
        self._status = status
        self._registry = registry or LicenceRegistry.default()
        self._clock: Clock = clock or SystemClock()
        self._allow_stale = allow_stale_trust
        self._audit = audit
        if replay_cache is not None and not isinstance(replay_cache, PresentationReplayCache):
            raise ConfigurationError("replay_cache must be a PresentationReplayCache")
        self._replay: PresentationReplayCache = replay_cache or MemoryReplayCache()

    def verify(self, data: str | bytes, *, at: datetime | None = None) -> VerifiedCertificate:
        """Verify a payload (``GK1:...``) or a PNG/JPEG picture of its QR code.

        Raises:
            CertificateVerificationError: a subclass naming the first failed check.
        """
        when = resolve_time(self._clock, at)
        try:
            result = self._run(data, when, Trace(None), stale_ok=self._allow_stale)
        except GovkitError as exc:
            self._log("unknown", "failure", exc.code)
            raise
        self._log(result.licence.id, "success", None)
        return result

    def inspect(self, data: str | bytes, *, at: datetime | None = None) -> CertificateReport:
        """Run every check and return a report; never raises for a bad licence."""
        when = resolve_time(self._clock, at)
        checks: list[CertificateCheck] = []
        certificate: VerifiedCertificate | None = None
        kind = "image" if isinstance(data, bytes) and data.startswith(_IMAGE_MAGIC) else "payload"
        try:
            certificate = self._run(data, when, Trace(checks.append), stale_ok=True)
        except GovkitError as exc:
            name = CHECKS[len(checks)] if len(checks) < len(CHECKS) else "status"
            where = ", ".join(f"{k}={v}" for k, v in exc.context.items())
            checks.append(
                CertificateCheck(
                    name, False, exc.code, exc.message + (f" ({where})" if where else "")
                )
            )
        try:
            trust = self._current_trust(when, stale_ok=True)
        except GovkitError as exc:
            checks.append(CertificateCheck("trust_freshness", False, exc.code, exc.message))
            return self._report(kind, checks, None)
        if trust.is_stale(when):
            checks.append(
                CertificateCheck(
                    "trust_freshness",
                    self._allow_stale,
                    TrustListStale.code,
                    f"trust list expired at {trust.expires_at.isoformat()}"
                    + (" (accepted: allow_stale_trust)" if self._allow_stale else ""),
                )
            )
        else:
            checks.append(
                CertificateCheck(
                    "trust_freshness", True, None, f"trust list #{trust.sequence} is current"
                )
            )
        if self._status is not None:
            try:
                status_list = (
                    self._status
                    if isinstance(self._status, SignedStatusList)
                    else self._status.get(at=when, allow_stale=True)
                )
            except GovkitError as exc:
                checks.append(CertificateCheck("status_freshness", False, exc.code, exc.message))
                return self._report(kind, checks, None)
            if status_list.is_stale(when):
                checks.append(
                    CertificateCheck(
                        "status_freshness",
                        self._allow_stale,
                        TrustListStale.code,
                        "the status list is past its expiry"
                        + (" (accepted: allow_stale_trust)" if self._allow_stale else ""),
                    )
                )
        return self._report(kind, checks, certificate)

    def verify_presentation(
        self,
        data: str | bytes,
        *,
        profile: VerifierProfile | str | None = None,
        nonce: bytes | None = None,
        window: timedelta = DEFAULT_WINDOW,
        at: datetime | None = None,
    ) -> VerifiedPresentation:
        """Verify a holder's presentation (``GKP1:...`` or a picture of its QR code).

        Args:
            data: the presentation text or PNG/JPEG bytes.
            profile: a :class:`VerifierProfile` or the name of one of :data:`PROFILES`;
                the presentation must disclose what it requires and nothing it does
                not allow.
            nonce: the challenge this verifier showed the holder, if any; without one the
                presentation must have been made within ``window`` of now.
            window: how old a time-bound presentation may be (default 60 s).
            at: the verification time (default: the clock).

        Raises:
            CertificateVerificationError: a subclass naming the first failed check
                (``presentation.*`` codes for the holder binding, freshness, replays,
                disclosures and the profile).
        """
        when = resolve_time(self._clock, at)
        chosen = resolve_profile(profile)
        try:
            result = self._presentations().run(
                data, when, Trace(None), profile=chosen, nonce=nonce, window=window
            )
        except GovkitError as exc:
            self._log("presentation", "failure", exc.code)
            raise
        self._log("presentation", "success", None)
        return result

    def inspect_presentation(
        self,
        data: str | bytes,
        *,
        profile: VerifierProfile | str | None = None,
        nonce: bytes | None = None,
        window: timedelta = DEFAULT_WINDOW,
        at: datetime | None = None,
    ) -> PresentationReport:
        """Run every check of :meth:`verify_presentation` and return a report."""
        when = resolve_time(self._clock, at)
        chosen = resolve_profile(profile)
        checks: list[CertificateCheck] = []
        found: VerifiedPresentation | None = None
        try:
            found = self._presentations().run(
                data,
                when,
                Trace(checks.append),
                profile=chosen,
                nonce=nonce,
                window=window,
            )
        except GovkitError as exc:
            names = PRESENTATION_CHECKS
            name = names[len(checks)] if len(checks) < len(names) else names[-1]
            where = ", ".join(f"{k}={v}" for k, v in exc.context.items())
            detail = exc.message + (f" ({where})" if where else "")
            checks.append(CertificateCheck(name, False, exc.code, detail))
        report = PresentationReport(tuple(checks), found)
        self._log("presentation", "success" if report.ok else "failure", report.code)
        return report

    def _presentations(self) -> PresentationRun:
        stale_ok = self._allow_stale
        return PresentationRun(
            registry=self._registry,
            current_trust=lambda when: self._current_trust(when, stale_ok=stale_ok),
            status_of=lambda index, issuer, when: self._status_of(
                index, issuer, when, stale_ok=stale_ok
            ),
            replay=self._replay,
        )

    def _report(
        self,
        kind: str,
        checks: list[CertificateCheck],
        certificate: VerifiedCertificate | None,
    ) -> CertificateReport:
        ok = all(c.ok for c in checks)
        report = CertificateReport(kind, tuple(checks), certificate if ok else None)
        ident = certificate.licence.id if certificate is not None else "unknown"
        self._log(ident, "success" if report.ok else "failure", report.code)
        return report

    # -- the checks ------------------------------------------------------------------

    def _current_trust(self, when: datetime, *, stale_ok: bool) -> TrustList:
        if isinstance(self._trust, TrustList):
            trust = self._trust
        else:
            trust = self._trust.get(at=when, allow_stale=True)
        if not stale_ok and trust.is_stale(when):
            raise TrustListStale(
                "the trust list is past its expiry", expired=trust.expires_at.isoformat()
            )
        return trust

    def _run(
        self, data: str | bytes, when: datetime, trace: Trace, *, stale_ok: bool
    ) -> VerifiedCertificate:
        text = self._text_of(data)
        trace.ok(
            "input",
            "QR picture decoded"
            if isinstance(data, bytes) and data.startswith(_IMAGE_MAGIC)
            else "payload text",
        )
        message = codec.decode(text, prefixes=("GK1:",), canonical=True)
        claims = message.claims
        raw = claims.get(LICENCE_CLAIM)
        if not isinstance(raw, Mapping):
            raise CertificateFormatError("the payload holds no govkit licence", reason="claims")
        times = [claims.get(k) for k in (codec.IAT, codec.NBF, codec.EXP)]
        if not all(
            isinstance(t, int) and not isinstance(t, bool) and 0 <= t <= _MAX_NUMERIC_DATE
            for t in times
        ):
            raise CertificateFormatError(
                "iat, nbf and exp must be integers from 1970 to 9999", reason="cwt"
            )
        issued_at, not_before, expires_at = (
            datetime.fromtimestamp(t, UTC) for t in times if isinstance(t, int)
        )
        trace.ok("format", f"a {message.prefix} licence payload")
        trust = self._current_trust(when, stale_ok=stale_ok)
        trace.ok("trust", f"trust list #{trust.sequence}")
        if message.kid is None:
            raise CertificateKeyUnknown("the licence names no key id")
        candidates = trust.candidates(message.kid)
        if not candidates:
            raise CertificateKeyUnknown("no trusted key has this key id", kid=message.kid.hex())
        key = codec.verify_signature(message, [k.key for _, k in candidates])
        issuer, trusted = next((i, k) for i, k in candidates if k.key == key)
        trace.ok("signature", f"signed by {issuer.agency.name} (kid {message.kid.hex()})")
        try:
            licence = Licence.from_claims(raw, self._registry, agency_name=issuer.agency.name)
        except LicenceDataInvalid as exc:
            raise CertificateFormatError(
                "the licence data is malformed", reason="licence", detail=exc.code
            ) from None
        trust.check_permission(issuer, trusted, licence.type, at=issued_at)
        if licence.issuer.uscc != issuer.agency.uscc:
            raise IssuerNotAllowed(
                "the licence names another issuer than the key's agency", reason="agency"
            )
        trace.ok("issuer", f"{issuer.agency.name} may issue {licence.type}")
        codec.check_times(claims, at=when)
        trace.ok("validity", f"valid until {expires_at.isoformat()}")
        status = self._status_of(licence.status_index, issuer, when, stale_ok=stale_ok)
        trace.ok(
            "status", "not checked (no status list)" if status is None else status.name.lower()
        )
        masked = MappingProxyType(self._registry.get(licence.type).masked(licence.fields))
        return VerifiedCertificate(
            licence,
            issuer,
            trusted,
            issued_at,
            not_before,
            expires_at,
            status,
            when,
            trust.sequence,
            masked,
        )

    def _text_of(self, data: str | bytes) -> str:
        if isinstance(data, bytes):
            if data.startswith(_IMAGE_MAGIC):
                return read_qr(data)
            try:
                return data.decode("ascii").strip()
            except UnicodeDecodeError:
                raise CertificateFormatError(
                    "the input is neither a payload nor a QR picture", reason="input"
                ) from None
        if not isinstance(data, str):
            raise CertificateFormatError("the input must be text or picture bytes", reason="input")
        return data.strip()

    def _status_of(
        self, index: int | None, issuer: TrustedIssuer, when: datetime, *, stale_ok: bool
    ) -> Status | None:
        if self._status is None or index is None:
            return None
        status_list = (
            self._status
            if isinstance(self._status, SignedStatusList)
            else self._status.get(at=when, allow_stale=True)
        )
        if not stale_ok and status_list.is_stale(when):
            raise TrustListStale("the status list is past its expiry")
        issuer_kids = {k.key.kid for k in issuer.keys if not k.withdrawn}
        if status_list.kid not in issuer_kids:
            raise StatusListInvalid(
                "the status list is not signed by a current key of the licence's issuer",
                reason="signer",
            )
        status = status_list.status(index)
        if status is Status.REVOKED:
            raise CertificateRevoked("the licence is revoked")
        if status is Status.SUSPENDED:
            raise CertificateSuspended("the licence is suspended")
        return status

    def _log(self, ident: str, outcome: str, code: str | None) -> None:
        if self._audit is None:
            return
        self._audit.append(
            AuditEvent(
                occurred_at=self._clock.now(),
                actor_id="verifier",
                actor_type="service",
                action="licence.verify",
                resource_type="licence",
                resource_id=ident,
                outcome=outcome,
                personal=frozenset(),
                details={"code": code},
            )
        )
