"""Issuing licences: sign the compact CWT/COSE payload, make its QR, track its status."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

from govkit._encoding import b45decode
from govkit.audit import AuditEvent, AuditLog
from govkit.certificates import codec
from govkit.certificates._identifier import licence_id
from govkit.certificates._model import Agency, Holder, Licence, LicenceRegistry, LicenceType
from govkit.certificates._selective import (
    CREDENTIAL_PREFIX,
    SELECTIVE_CLAIM,
    SelectiveCredential,
    build_selective_claims,
)
from govkit.certificates._status import Status, StatusList
from govkit.certificates.qr import make_qr
from govkit.clock import Clock, SystemClock
from govkit.errors import ConfigurationError
from govkit.keys import Signer, SigningKey, VerifyingKey
from govkit.observability import observed

__all__ = [
    "LICENCE_CLAIM",
    "CertificateIssuer",
    "IssueRequest",
    "IssuedCertificate",
]

#: The private-use CWT claim that holds the licence (RFC 8392 keys below -65536 are
#: private use); its presence, with the ``GK1:`` prefix, binds the signature to
#: the purpose "govkit licence".
LICENCE_CLAIM = -65537


@dataclass(frozen=True)
class IssuedCertificate:
    """A signed licence: the licence, its QR payload and its QR pictures."""

    licence: Licence
    qr_payload: str
    kid: bytes
    claims: Mapping[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """The GB/T 36904 licence identifier."""
        return self.licence.id

    def qr_png(self, *, scale: int = 8) -> bytes:
        """The QR code (error-correction level M) as PNG bytes."""
        return make_qr(self.qr_payload, ec_level="M").to_png(scale=scale)

    def qr_svg(self) -> str:
        """The QR code (error-correction level M) as SVG text."""
        return make_qr(self.qr_payload, ec_level="M").to_svg()

    def qr_version(self) -> int:
        """The QR version the payload needs at error-correction level M."""
        return make_qr(self.qr_payload, ec_level="M").version

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready description: id, type, payload and the licence's claims."""
        return {
            "id": self.id,
            "type": self.licence.type,
            "payload": self.qr_payload,
            "kid": self.kid.hex(),
            "licence": dict(self.claims) or self.licence.to_claims(),
        }


@dataclass(frozen=True)
class IssueRequest:
    """One licence to issue (for :meth:`CertificateIssuer.issue_many`)."""

    licence_type: str
    holder: Holder
    fields: Mapping[str, Any]
    valid_from: date | datetime
    valid_until: date | datetime
    serial: str | None = None
    version: int = 1
    allow_raw_id: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)


def _issuer_fields(args: tuple[Any, ...], _: Mapping[str, Any], __: object) -> dict[str, object]:
    """Log fields of an issue: the issuing agency's USCC and the key id."""
    issuer: CertificateIssuer = args[0]
    return {"issuer": issuer.agency.uscc, "kid": issuer.kid.hex()}


class CertificateIssuer:
    """Issues signed electronic licences for one agency.

    Args:
        signer: the agency's signing key (ES256 by default in govkit; EdDSA and PS256
            also work) or any :class:`~govkit.keys.Signer` (HSM, KMS).
        kid: the 8-byte COSE key id; computed from a :class:`~govkit.keys.SigningKey`
            when omitted (required for other signers).
        agency: who issues: name and unified social credit code.
        registry: the licence types (default: the ten standard types).
        status: the agency's status list; each licence gets the next index. Required to
            issue: a licence that could never be revoked must not exist, so
            :meth:`issue` and :meth:`issue_selective` refuse without one.
        clock: time source for ``iat``.
        audit: when given, every issue, revoke and suspend is logged.
    """

    def __init__(
        self,
        signer: Signer,
        *,
        agency: Agency,
        kid: bytes | None = None,
        registry: LicenceRegistry | None = None,
        status: StatusList | None = None,
        clock: Clock | None = None,
        audit: AuditLog | None = None,
        compress: bool = True,
    ) -> None:
        if not isinstance(signer, Signer):
            raise ConfigurationError("signer must be a Signer (for example a SigningKey)")
        if signer.alg not in codec.COSE_ALGORITHMS:
            raise ConfigurationError(
                "licences are signed with ES256, EdDSA or PS256", alg=str(signer.alg)[:16]
            )
        if kid is None:
            if not isinstance(signer, SigningKey):
                raise ConfigurationError("a Signer that is not a SigningKey needs kid=")
            kid = codec.cose_kid(signer.verifying_key)
        if not isinstance(kid, bytes) or not 1 <= len(kid) <= 32:
            raise ConfigurationError("kid must be 1 to 32 bytes")
        if status is not None and not isinstance(status, StatusList):
            raise ConfigurationError("status must be a StatusList (the issuer's own list)")
        self._signer = signer
        self._kid = kid
        self._agency = agency
        self._registry = registry or LicenceRegistry.default()
        self._status = status
        self._clock: Clock = clock or SystemClock()
        self._audit = audit
        self._compress = compress
        self._index_of: dict[str, int] = {}

    @property
    def kid(self) -> bytes:
        """The COSE key id written into every licence."""
        return self._kid

    @property
    def agency(self) -> Agency:
        """The issuing agency."""
        return self._agency

    @property
    def status(self) -> StatusList | None:
        """The status list licences are registered in, if any."""
        return self._status

    def _require_status(self) -> StatusList:
        if self._status is None:
            raise ConfigurationError(
                "this issuer has no status list: a licence that could never be revoked "
                "is not issued (give CertificateIssuer a StatusList)"
            )
        return self._status

    @observed("certificate.issue", "govkit.certificates", _issuer_fields)
    def issue(
        self,
        licence_type: str,
        *,
        holder: Holder,
        fields: Mapping[str, Any],
        valid_from: date | datetime,
        valid_until: date | datetime,
        serial: str | None = None,
        version: int = 1,
        allow_raw_id: bool = False,
    ) -> IssuedCertificate:
        """Validate, sign and return one licence.

        Raises:
            LicenceDataInvalid: the data does not fit the type's schema, the holder
                is a raw ID number where the type or the issuer does not allow it,
                or the validity period is empty.
            ConfigurationError: the issuer has no status list, or it is full.
        """
        status_list = self._require_status()
        _, licence = self._checked_licence(
            licence_type,
            holder=holder,
            fields=fields,
            valid_from=valid_from,
            valid_until=valid_until,
            serial=serial,
            version=version,
            allow_raw_id=allow_raw_id,
        )
        ident = licence.id
        # Allocate only once the licence is known to be valid.
        index = status_list.allocate()
        licence = dataclasses.replace(licence, status_index=index)
        start, end = licence.validity_window()
        now = self._clock.now()
        # No ``iss`` claim: the agency's USCC is already in the licence map and its id.
        claims: dict[int | str, Any] = {
            codec.IAT: int(now.timestamp()),
            codec.NBF: int(start.timestamp()),
            # The validity window is half-open; exp is inclusive (as HCERT reads it), so it
            # names the last valid second.
            codec.EXP: int(end.timestamp()) - 1,
            LICENCE_CLAIM: (licence_claims := licence.to_claims(self._registry)),
        }
        payload = codec.encode(claims, self._signer, kid=self._kid, compress=self._compress)
        self._index_of[ident] = index
        self._record("licence.issue", ident, licence_type)
        return IssuedCertificate(licence, payload, self._kid, licence_claims)

    @observed("certificate.issue_selective", "govkit.certificates", _issuer_fields)
    def issue_selective(
        self,
        licence_type: str,
        *,
        device_key: VerifyingKey,
        holder: Holder,
        fields: Mapping[str, Any],
        valid_from: date | datetime,
        valid_until: date | datetime,
        serial: str | None = None,
        version: int = 1,
        allow_raw_id: bool = False,
    ) -> SelectiveCredential:
        """Issue a selective-disclosure licence bound to the holder's device key.

        The same checks as :meth:`issue`; the signed licence holds a salted digest per
        item instead of the values (see :mod:`govkit.certificates` "Presentations") and
        ``device_key`` (EdDSA or ES256) as its holder binding. Give the returned
        credential to the holder's app only: its disclosures are the licence's data.

        Raises:
            LicenceDataInvalid: as for :meth:`issue`.
            ConfigurationError: ``device_key`` is not an EdDSA or ES256 public key, or
                the issuer has no status list (or it is full).
        """
        status_list = self._require_status()
        if not isinstance(device_key, VerifyingKey):
            raise ConfigurationError("device_key must be a VerifyingKey")
        kind, licence = self._checked_licence(
            licence_type,
            holder=holder,
            fields=fields,
            valid_from=valid_from,
            valid_until=valid_until,
            serial=serial,
            version=version,
            allow_raw_id=allow_raw_id,
        )
        ident = licence.id
        selective, disclosures = build_selective_claims(licence, kind, device_key)
        index = status_list.allocate()
        selective["s"] = index
        self._index_of[ident] = index
        start, end = licence.validity_window()
        claims: dict[int | str, Any] = {
            codec.IAT: int(self._clock.now().timestamp()),
            codec.NBF: int(start.timestamp()),
            codec.EXP: int(end.timestamp()) - 1,
            SELECTIVE_CLAIM: selective,
        }
        text = codec.encode(
            claims, self._signer, kid=self._kid, prefix=CREDENTIAL_PREFIX, compress=False
        )
        signed = b45decode(text[len(CREDENTIAL_PREFIX) :])
        self._record("licence.issue_selective", ident, licence_type)
        return SelectiveCredential(licence_type, signed, MappingProxyType(disclosures))

    def _checked_licence(
        self,
        licence_type: str,
        *,
        holder: Holder,
        fields: Mapping[str, Any],
        valid_from: date | datetime,
        valid_until: date | datetime,
        serial: str | None,
        version: int,
        allow_raw_id: bool,
    ) -> tuple[LicenceType, Licence]:
        """The licence as issuance validates it (no status index yet), and its type."""
        kind = self._registry.get(licence_type)
        number = serial if serial is not None else f"{secrets.randbelow(10**12):012d}"
        licence = Licence(
            type=licence_type,
            id=licence_id(kind.type_code, self._agency.uscc, number, version),
            holder=holder,
            issuer=self._agency,
            valid_from=valid_from,
            valid_until=valid_until,
            fields=kind.validate(fields),
            status_index=None,
        )
        kind.check_licence(licence, allow_raw_id=allow_raw_id)
        return kind, licence

    def issue_many(
        self,
        requests: Iterable[IssueRequest],
        *,
        progress: Callable[[int, int | None], None] | None = None,
    ) -> list[IssuedCertificate]:
        """Issue a batch (bulk re-issue), calling ``progress(done, total)`` as it goes.

        Stops at the first invalid request and raises its error; the licences issued
        before it stay issued (each licence is independent, nothing is half-written),
        and ``progress`` has been told how many.
        """
        items = list(requests)
        issued: list[IssuedCertificate] = []
        for number, item in enumerate(items, 1):
            issued.append(
                self.issue(
                    item.licence_type,
                    holder=item.holder,
                    fields=item.fields,
                    valid_from=item.valid_from,
                    valid_until=item.valid_until,
                    serial=item.serial,
                    version=item.version,
                    allow_raw_id=item.allow_raw_id,
                )
            )
            if progress is not None:
                progress(number, len(items))
        return issued

    def status_index(self, licence: str | IssuedCertificate) -> int:
        """The status-list index of a licence this issuer issued."""
        ident = licence.id if isinstance(licence, IssuedCertificate) else licence
        if isinstance(licence, IssuedCertificate) and licence.licence.status_index is not None:
            return licence.licence.status_index
        if ident not in self._index_of:
            raise ConfigurationError("this issuer has no status index for that licence")
        return self._index_of[ident]

    def revoke(self, licence: str | IssuedCertificate) -> None:
        """Mark a licence revoked in the status list (publish the list afterwards)."""
        self._set(licence, Status.REVOKED, "licence.revoke")

    def suspend(self, licence: str | IssuedCertificate) -> None:
        """Mark a licence suspended in the status list."""
        self._set(licence, Status.SUSPENDED, "licence.suspend")

    def reinstate(self, licence: str | IssuedCertificate) -> None:
        """Mark a suspended licence valid again."""
        self._set(licence, Status.VALID, "licence.reinstate")

    def _set(self, licence: str | IssuedCertificate, status: Status, action: str) -> None:
        if self._status is None:
            raise ConfigurationError("this issuer has no status list")
        self._status.set(self.status_index(licence), status)
        ident = licence.id if isinstance(licence, IssuedCertificate) else licence
        self._record(action, ident, None)

    def _record(self, action: str, ident: str, licence_type: str | None) -> None:
        if self._audit is None:
            return
        self._audit.append(
            AuditEvent(
                occurred_at=self._clock.now(),
                actor_id=self._agency.uscc,
                actor_type="agency",
                action=action,
                resource_type="licence",
                resource_id=ident,
                personal=frozenset(),
                details={"type": licence_type} if licence_type else {},
            )
        )
