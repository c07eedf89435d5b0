"""Verifying licences offline: payload or QR picture in, a verdict with every check out."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType
from typing import Any, Final

from govkit._aio import offload
from govkit.audit import AuditEvent, AuditLog
from govkit.certificates import codec
from govkit.certificates._identifier import _IdMemo
from govkit.certificates._issuer import LICENCE_CLAIM
from govkit.certificates._model import Licence, LicenceRegistry, _ReadClaims
from govkit.certificates._presentation import (
    DEFAULT_WINDOW,
    PRESENTATION_CHECKS,
    PresentationReport,
    PresentationRun,
    VerifiedPresentation,
    VerifierProfile,
    resolve_profile,
)
from govkit.certificates._report import (
    STATUS_NOT_CHECKED,
    CertificateCheck,
    ChecksVerdict,
    Trace,
)
from govkit.certificates._sources import TrustListSource
from govkit.certificates._status import (
    SignedStatusList,
    Status,
    StatusLists,
    StatusListSource,
)
from govkit.certificates._trust import TrustedIssuer, TrustedKey, TrustList
from govkit.certificates._types import MaskedFields
from govkit.certificates.qr import read_qr
from govkit.clock import LAST_UNIX_SECOND, Clock, SystemClock, resolve_time
from govkit.errors import (
    CertificateFormatError,
    CertificateKeyUnknown,
    CertificateRevoked,
    CertificateStatusStale,
    CertificateStatusUnknown,
    CertificateSuspended,
    ConfigurationError,
    GovkitError,
    IssuerNotAllowed,
    LicenceDataInvalid,
    TrustListStale,
    VerificationError,
)
from govkit.observability import observed
from govkit.stores import MemoryReplayStore, ReplayStore

__all__ = ["CertificateCheck", "CertificateReport", "CertificateVerifier", "VerifiedCertificate"]

_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")
_MAX_NUMERIC_DATE = LAST_UNIX_SECOND
CHECKS = ("input", "format", "trust", "signature", "issuer", "validity", "status")


@dataclass(frozen=True)
class VerifiedCertificate:
    """A licence that passed every check, with who vouched for it.

    ``status`` is the status list's verdict (:attr:`Status.VALID`), or ``None`` only when
    the verifier was made with ``unsafe_skip_status=True``: revocation was not checked.
    """

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
    """Every check of one verification, and the certificate when all passed.

    ``kind`` is ``payload`` or ``image`` (what was read). JSON
    (:meth:`~govkit.report.Report.to_dict`): ``valid``, ``kind``, ``code``, ``checks``
    and ``certificate`` (personal data masked; ``null`` unless valid).
    """

    kind: str
    checks: tuple[CertificateCheck, ...]
    certificate: VerifiedCertificate | None

    def json_members(self) -> dict[str, Any]:
        """``certificate``: the licence with personal data masked, or ``None``."""
        cert = self.certificate
        return {
            "certificate": None
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
            }
        }

    def summary(self) -> tuple[str, ...]:
        """The licence as an officer reads it: Chinese and English labels, data masked."""
        cert = self.certificate
        if cert is None:
            return ()
        licence = cert.licence
        registry = LicenceRegistry.default()
        if licence.type not in registry:
            title, labels = licence.type, {}
        else:
            kind = registry.get(licence.type)
            title = f"{kind.zh} {kind.en}"
            labels = {spec.name: f"{spec.zh} {spec.en}" for spec in kind.fields}
        lines = [
            f"{title}  {licence.id}",
            f"颁发机构 Issuer: {cert.issuer.agency.name} ({cert.issuer.agency.uscc})",
            f"持证人 Holder: {licence.holder.masked()}",
        ]
        lines += [
            f"{labels.get(name, name)}: {value}" for name, value in cert.masked_fields.items()
        ]
        lines.append(f"有效期 Valid: {_day(licence.valid_from)} – {_day(licence.valid_until)}")
        if "status" in self.skipped:
            lines.append(STATUS_NOT_CHECKED)
        return tuple(lines)


def _day(value: date | datetime) -> str:
    return value.isoformat() if not isinstance(value, datetime) else value.date().isoformat()


def _verified_fields(_: tuple[Any, ...], __: Mapping[str, Any], found: object) -> dict[str, object]:
    """Log fields of a verify or inspect: the issuing agency's USCC and the key id."""
    for name in ("certificate", "presentation"):  # a report holds what verified
        found = getattr(found, name, found)
    if isinstance(found, (VerifiedCertificate, VerifiedPresentation)):
        return {"issuer": found.issuer.agency.uscc, "kid": found.key.kid.hex()}
    return {}


#: The most trusted issuers a verifier remembers the current key ids of.
_MAX_ISSUERS = 256

#: The canonical CBOR of the licence claim's key (-65537), and the simple values.
_LICENCE_KEY: Final = b"\x3a\x00\x01\x00\x00"
_SIMPLE: Final[Mapping[int, bool | None]] = MappingProxyType({0xF4: False, 0xF5: True, 0xF6: None})


def _fixed_uint(payload: bytes, pos: int) -> tuple[int, int]:
    """The unsigned integer at ``pos`` in its shortest form and the position after it;
    ``ValueError`` for anything else."""
    found = codec._read_time(payload, pos)
    if found is None:
        raise ValueError
    return found


def _fixed_text(payload: bytes, pos: int) -> tuple[str, int]:
    """The text of fewer than 256 bytes at ``pos`` with the shortest head, and the
    position after it; ``ValueError`` (``UnicodeDecodeError`` for bytes that are not
    UTF-8) or ``IndexError`` for anything else."""
    initial = payload[pos]
    if 0x60 <= initial < 0x78:
        start, end = pos + 1, pos + 1 + initial - 0x60
    elif initial == 0x78 and payload[pos + 1] >= 24:
        start = pos + 2
        end = start + payload[pos + 1]
    else:
        raise ValueError
    if end > len(payload):
        raise ValueError
    return payload[start:end].decode("utf-8"), end


def _fixed_value(payload: bytes, pos: int) -> tuple[Any, int]:
    """A text (as :func:`_fixed_text`), unsigned integer, bool or null at ``pos``."""
    initial = payload[pos]
    if initial < 0x20:
        return _fixed_uint(payload, pos)
    if initial in _SIMPLE:
        return _SIMPLE[initial], pos + 1
    return _fixed_text(payload, pos)


def _fixed_values(payload: bytes, pos: int, count: int) -> tuple[list[Any], int]:
    """``count`` values (each as :func:`_fixed_value`) from ``pos``, and the position
    after them; texts of fewer than 24 bytes, the usual values, read here."""
    values: list[Any] = []
    size = len(payload)
    for _ in range(count):
        initial = payload[pos]
        if 0x60 <= initial < 0x78:
            after = pos + initial - 0x5F
            if after > size:
                raise ValueError
            values.append(payload[pos + 1 : after].decode("utf-8"))
            pos = after
        else:
            value, pos = _fixed_value(payload, pos)
            values.append(value)
    return values, pos


def _fixed_licence_claims(payload: bytes) -> dict[int | str, Any] | None:
    """The claims when ``payload`` is exactly the canonical CBOR of what the issuer
    writes, ``{4: exp, 5: nbf, 6: iat, -65537: {"f": [value, ...], "h": [text, text],
    "i": text, ("s": uint,) "v": [moment, moment]}}`` (values text, unsigned integers,
    bools or null, fewer than 24 of them; texts under 256 bytes; moments text or
    unsigned integers), else ``None``: then the canonical decoder decides, as for any
    other claims (see ``codec._parse_cose``). Every head is read in its shortest form
    and the keys are these bytes in this (canonical) order, so the bytes decode to the
    result and are its canonical encoding: no cbor2 decoding and re-encoding. The
    licence's map is a ``_ReadClaims`` (a dict, equal to the decoder's), whose shape
    :meth:`Licence.from_claims` then need not check again."""
    try:
        times = codec._read_times(payload)
        if times is None:
            return None
        exp, nbf, iat, pos = times
        pos += len(_LICENCE_KEY)
        entries = payload[pos]
        count = payload[pos + 3]
        if (
            payload[pos - len(_LICENCE_KEY) : pos] != _LICENCE_KEY
            or entries not in (0xA4, 0xA5)
            or payload[pos + 1 : pos + 3] != b"\x61f"
            or not 0x80 <= count < 0x98
        ):
            return None
        values, pos = _fixed_values(payload, pos + 4, count - 0x80)
        if payload[pos : pos + 3] != b"\x61h\x82":
            return None
        holder, pos = _fixed_values(payload, pos + 3, 2)
        if type(holder[0]) is not str or type(holder[1]) is not str:
            return None
        if payload[pos : pos + 2] != b"\x61i":
            return None
        ident, pos = _fixed_text(payload, pos + 2)
        licence = _ReadClaims()  # the shape just read, for Licence.from_claims
        licence["f"] = values
        licence["h"] = holder
        licence["i"] = ident
        if entries == 0xA5:
            if payload[pos : pos + 2] != b"\x61s":
                return None
            if payload[pos + 2] < 24:  # an index below 24, in the head
                licence["s"] = payload[pos + 2]
                pos += 3
            else:
                licence["s"], pos = _fixed_uint(payload, pos + 2)
        if payload[pos : pos + 3] != b"\x61v\x82":
            return None
        licence["v"], pos = _fixed_values(payload, pos + 3, 2)
        if pos != len(payload):
            return None
    except (ValueError, IndexError):  # not this shape: the canonical decoder decides
        return None
    return {codec.EXP: exp, codec.NBF: nbf, codec.IAT: iat, LICENCE_CLAIM: licence}


def _signer(message: codec.CoseMessage, trust: TrustList) -> tuple[TrustedIssuer, TrustedKey]:
    """The trusted issuer and key whose signature ``message`` carries (kid, then
    signature: ``certificate.key_unknown``, ``certificate.signature_invalid``, ...)."""
    if message.kid is None:
        raise CertificateKeyUnknown("the licence names no key id")
    candidates = trust.candidates(message.kid)
    if not candidates:
        raise CertificateKeyUnknown("no trusted key has this key id", kid=message.kid.hex())
    if len(candidates) == 1:  # the usual case: one trusted key has the kid
        codec.verify_signature(message, (candidates[0][1].key,))
        return candidates[0]
    key = codec.verify_signature(message, [k.key for _, k in candidates])
    return next((i, k) for i, k in candidates if k.key == key)


class CertificateVerifier:
    """Verifies licences offline against a trust list and the issuer's status list.

    Revocation is a required check, for licences and presentations alike: a licence is
    valid only if its issuer's current status list says so. Without a status list for
    the issuer, or for a licence that carries no status reference, the ``status`` check
    fails with ``certificate.status_unknown`` (``certificate.status_stale`` when the
    list is past its expiry).

    Args:
        trust: a loaded :class:`TrustList` or a :class:`TrustListSource` (file or URL,
            cached).
        status: the issuers' signed status lists: one loaded :class:`SignedStatusList`
            or :class:`StatusListSource`, or an iterable of them (any number of issuers,
            one list each). Each licence is checked against the list signed by a current
            key of its own issuer, found by key id (a source under the keys it was
            given, so give each source only its issuer's keys); of copies of one list
            (same ``list_id``) the highest ``sequence`` wins. No list of the issuer is
            ``certificate.status_unknown`` with ``reason`` ``other_issuer`` (one list
            given) or ``no_list_for_issuer`` (several); lists with different ids
            signed by one issuer, ``several_lists``. An empty iterable or a mapping is
            a :class:`~govkit.errors.ConfigurationError`.
        unsafe_skip_status: do not check revocation at all. The ``status`` check is
            reported as not performed (``ok`` is ``None``, never a pass) and
            :attr:`VerifiedCertificate.status` is ``None``; a warning is logged. Not
            with ``status``.
        registry: the licence types (default: the ten standard types).
        clock: time source, read once per verification.
        allow_stale_trust: accept a trust or status list past its expiry (the
            report still shows ``trust.stale`` or ``certificate.status_stale``); by
            default :meth:`verify` raises :class:`~govkit.errors.TrustListStale` or
            :class:`~govkit.errors.CertificateStatusStale`.
        audit: when given, each verification outcome is logged.
        replay_store: remembers presentations until their window closes, a
            :class:`~govkit.stores.ReplayStore` (default: a
            :class:`~govkit.stores.MemoryReplayStore` of this verifier). Share a
            :class:`~govkit.stores.SQLiteReplayStore` or
            :class:`~govkit.stores.PostgresReplayStore` between the processes and hosts
            that see the same holders, or a presentation shown to one can be shown again
            to another. Its keys start with ``presentation:``, so a DPoP verifier may
            share it. A store that fails, or a memory store that is full, raises its
            ``*.store`` error from both :meth:`verify_presentation` and
            :meth:`inspect_presentation` (never "not a replay", never a verdict).
    """

    def __init__(
        self,
        trust: TrustList | TrustListSource,
        *,
        status: SignedStatusList
        | StatusListSource
        | Iterable[SignedStatusList | StatusListSource]
        | None = None,
        registry: LicenceRegistry | None = None,
        clock: Clock | None = None,
        allow_stale_trust: bool = False,
        audit: AuditLog | None = None,
        replay_store: ReplayStore | None = None,
        unsafe_skip_status: bool = False,
    ) -> None:
        if not isinstance(trust, (TrustList, TrustListSource)):
            raise ConfigurationError("trust must be a TrustList or a TrustListSource")
        if isinstance(status, (SignedStatusList, StatusListSource)):
            status = (status,)
        elif status is not None and (
            not isinstance(status, Iterable) or isinstance(status, (str, bytes, Mapping))
        ):
            raise ConfigurationError(
                "status must be a SignedStatusList, a StatusListSource or an iterable of them"
            )
        if unsafe_skip_status and status is not None:
            raise ConfigurationError("give a status list or unsafe_skip_status=True, not both")
        if unsafe_skip_status:
            logging.getLogger("govkit.certificates").warning(
                "CertificateVerifier(unsafe_skip_status=True): revocation is NOT checked; "
                "revoked and suspended licences pass"
            )
        self._trust = trust
        self._status = None if status is None else StatusLists(status)
        self._skip_status = bool(unsafe_skip_status)
        self._registry = registry or LicenceRegistry.default()
        self._clock: Clock = clock or SystemClock()
        self._allow_stale = allow_stale_trust
        self._audit = audit
        if replay_store is not None and not isinstance(replay_store, ReplayStore):
            raise ConfigurationError("replay_store must implement govkit.stores.ReplayStore")
        self._replay: ReplayStore = MemoryReplayStore() if replay_store is None else replay_store
        self._presentation_run: PresentationRun | None = None
        # id(trusted issuer) -> (the issuer, the kids of its keys not withdrawn): each
        # entry holds its issuer (frozen), so the id cannot be another object's while
        # the entry lives
        self._issuer_kids: dict[int, tuple[TrustedIssuer, frozenset[str]]] = {}
        # id(trusted issuer) -> (the issuer, its status list or None), only while every
        # status list was given loaded (nothing to reload): then which list is the
        # issuer's depends on the issuer's kids alone; kept as _issuer_kids is
        self._issuer_lists: dict[int, tuple[TrustedIssuer, SignedStatusList | None]] = {}
        # what decoding remembers (protected headers, key orders): this verifier's own
        self._codec_memo = codec._CodecMemo()
        self._id_memo = _IdMemo()  # and what reading identifiers does
        self._no_trace = Trace(None)  # the trace of a verification that records nothing

    @observed("certificate.verify", "govkit.certificates", _verified_fields)
    def verify(self, data: str | bytes, *, at: datetime | None = None) -> VerifiedCertificate:
        """Verify a payload (``GK1:...``) or a PNG/JPEG picture of its QR code.

        Raises:
            CertificateVerificationError: a subclass naming the first failed check
                (``certificate.status_unknown`` or ``certificate.status_stale`` when
                revocation could not be checked).
            QrUnreadable: the picture holds no readable QR code, or several; nothing
                is known about the licence (not a verification error).
        """
        when = resolve_time(self._clock, at)
        try:
            result = self._run(data, when, self._no_trace, stale_ok=self._allow_stale)
        except GovkitError as exc:
            self._log("unknown", "failure", exc.code)
            raise
        if self._audit is not None:
            self._log(result.licence.id, "success", None)
        return result

    async def averify(
        self, data: str | bytes, *, at: datetime | None = None
    ) -> VerifiedCertificate:
        """:meth:`verify` for asyncio: same arguments, result and errors.

        Runs on govkit's bounded thread pool: a :class:`TrustListSource` or
        :class:`StatusListSource` may read or download its list, the audit log
        appends, and a picture is decoded. A verifier given loaded lists and no audit
        log does no I/O; calling :meth:`verify` directly then costs the event loop the
        verification's CPU time (see the "Async applications" guide).
        """
        return await offload(self.verify, data, at=at)

    async def ainspect(self, data: str | bytes, *, at: datetime | None = None) -> CertificateReport:
        """:meth:`inspect` for asyncio, on govkit's thread pool (see :meth:`averify`)."""
        return await offload(self.inspect, data, at=at)

    @observed("certificate.inspect", "govkit.certificates", _verified_fields)
    def inspect(self, data: str | bytes, *, at: datetime | None = None) -> CertificateReport:
        """Run every check and return a report; never raises for a bad licence.

        Raises:
            QrUnreadable: the picture holds no readable QR code, or several: there is
                no licence to report on.
        """
        when = resolve_time(self._clock, at)
        checks: list[CertificateCheck] = []
        certificate: VerifiedCertificate | None = None
        kind = "image" if isinstance(data, bytes) and data.startswith(_IMAGE_MAGIC) else "payload"
        used: list[SignedStatusList] = []  # the issuer's status list, once found
        try:
            certificate = self._run(data, when, Trace(checks.append), stale_ok=True, used=used)
        except GovkitError as exc:
            if not isinstance(exc, VerificationError):
                raise  # an unreadable picture, an unavailable list, a store: not a verdict
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
            if not isinstance(exc, VerificationError):
                raise
            checks.append(CertificateCheck("trust_freshness", False, exc.code, exc.message))
            return self._report(kind, checks, None)
        accepted = "_accepted" if self._allow_stale else ""
        if trust.is_stale(when):
            checks.append(
                CertificateCheck.described(
                    "trust_freshness",
                    self._allow_stale,
                    f"trust_freshness.expired{accepted}",
                    TrustListStale.code,
                    expired=trust.expires_at.isoformat(),
                )
            )
        else:
            checks.append(
                CertificateCheck.described(
                    "trust_freshness", True, "trust_freshness.current", sequence=trust.sequence
                )
            )
        if used and used[-1].is_stale(when):
            checks.append(
                CertificateCheck.described(
                    "status_freshness",
                    self._allow_stale,
                    f"status_freshness.expired{accepted}",
                    CertificateStatusStale.code,
                    list_id=used[-1].list_id,
                )
            )
        return self._report(kind, checks, certificate)

    @observed("presentation.verify", "govkit.certificates", _verified_fields)
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
                disclosures and the profile; ``certificate.status_unknown`` or
                ``certificate.status_stale`` when revocation could not be checked).
            QrUnreadable: the picture holds no readable QR code, or several.
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

    async def averify_presentation(
        self,
        data: str | bytes,
        *,
        profile: VerifierProfile | str | None = None,
        nonce: bytes | None = None,
        window: timedelta = DEFAULT_WINDOW,
        at: datetime | None = None,
    ) -> VerifiedPresentation:
        """:meth:`verify_presentation` for asyncio: same arguments, result and errors.

        Runs on govkit's bounded thread pool (the replay store is asked; lists may be
        loaded). Cancelling the await does not stop a verification that has started:
        the presentation may be recorded as shown all the same.
        """
        return await offload(
            self.verify_presentation, data, profile=profile, nonce=nonce, window=window, at=at
        )

    async def ainspect_presentation(
        self,
        data: str | bytes,
        *,
        profile: VerifierProfile | str | None = None,
        nonce: bytes | None = None,
        window: timedelta = DEFAULT_WINDOW,
        at: datetime | None = None,
    ) -> PresentationReport:
        """:meth:`inspect_presentation` for asyncio (see :meth:`averify_presentation`)."""
        return await offload(
            self.inspect_presentation, data, profile=profile, nonce=nonce, window=window, at=at
        )

    @observed("presentation.inspect", "govkit.certificates", _verified_fields)
    def inspect_presentation(
        self,
        data: str | bytes,
        *,
        profile: VerifierProfile | str | None = None,
        nonce: bytes | None = None,
        window: timedelta = DEFAULT_WINDOW,
        at: datetime | None = None,
    ) -> PresentationReport:
        """Run every check of :meth:`verify_presentation` and return a report.

        Raises:
            QrUnreadable: the picture holds no readable QR code, or several.
        """
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
            if not isinstance(exc, VerificationError):
                raise  # nothing is known about the presentation: not a verdict
            names = PRESENTATION_CHECKS
            name = names[len(checks)] if len(checks) < len(names) else names[-1]
            where = ", ".join(f"{k}={v}" for k, v in exc.context.items())
            detail = exc.message + (f" ({where})" if where else "")
            checks.append(CertificateCheck(name, False, exc.code, detail))
        report = PresentationReport(tuple(checks), found)
        self._log("presentation", "success" if report.ok else "failure", report.code)
        return report

    def _presentations(self) -> PresentationRun:
        """The presentation checks over this verifier's lists and stores (made once:
        they read the verifier's settings when they run)."""
        run = self._presentation_run
        if run is None:
            run = self._presentation_run = PresentationRun(
                registry=self._registry,
                current_trust=lambda when: self._current_trust(when, stale_ok=self._allow_stale),
                status_of=lambda index, issuer, when: self._status_of(
                    index, issuer, when, stale_ok=self._allow_stale
                ),
                replay=self._replay,
                memo=self._codec_memo,
            )
        return run

    def _report(
        self,
        kind: str,
        checks: list[CertificateCheck],
        certificate: VerifiedCertificate | None,
    ) -> CertificateReport:
        ok = all(c.ok is not False for c in checks)
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
        self,
        data: str | bytes,
        when: datetime,
        trace: Trace,
        *,
        stale_ok: bool,
        used: list[SignedStatusList] | None = None,
    ) -> VerifiedCertificate:
        text = self._text_of(data)
        recording = trace.recording  # details only a report shows are made only for one
        if recording:
            trace.ok(
                "input",
                "input.picture"
                if isinstance(data, bytes) and data.startswith(_IMAGE_MAGIC)
                else "input.payload",
            )
        message = codec.decode(
            text,
            prefixes=("GK1:",),
            canonical=True,
            _memo=self._codec_memo,
            _fixed_claims=_fixed_licence_claims,
        )
        claims = message.claims
        raw = claims.get(LICENCE_CLAIM)
        if type(raw) is not _ReadClaims and not isinstance(raw, Mapping):  # (read: no ABC)
            raise CertificateFormatError("the payload holds no govkit licence", reason="claims")
        iat, nbf, exp = claims.get(codec.IAT), claims.get(codec.NBF), claims.get(codec.EXP)
        if not (  # exactly int (never bool), each from 1970 to 9999
            type(iat) is int
            and type(nbf) is int
            and type(exp) is int
            and 0 <= iat <= _MAX_NUMERIC_DATE
            and 0 <= nbf <= _MAX_NUMERIC_DATE
            and 0 <= exp <= _MAX_NUMERIC_DATE
        ):
            raise CertificateFormatError(
                "iat, nbf and exp must be integers from 1970 to 9999", reason="cwt"
            )
        issued_at = datetime.fromtimestamp(iat, UTC)
        not_before = datetime.fromtimestamp(nbf, UTC)
        expires_at = datetime.fromtimestamp(exp, UTC)
        if recording:
            trace.ok("format", "format.licence", prefix=message.prefix)
        trust = self._current_trust(when, stale_ok=stale_ok)
        if recording:
            trace.ok("trust", "trust.sequence", sequence=trust.sequence)
        issuer, trusted = _signer(message, trust)
        if recording:
            trace.ok(
                "signature",
                "signature.issuer_kid",
                agency=issuer.agency.name,
                kid=trusted.kid.hex(),  # the message's own (the key was found by it)
            )
        try:
            licence = Licence.from_claims(
                raw,
                self._registry,
                agency_name=issuer.agency.name,
                agency=issuer.agency,
                _memo=self._id_memo,
            )
        except LicenceDataInvalid as exc:
            # field_label / TYPE_NAME keep the field an identifier, never a value
            field = exc.context.get("field", "?")
            raise CertificateFormatError(
                f"the licence data is malformed: {exc.message}",
                reason="licence",
                detail=exc.code,
                field=field,
            ) from None
        trust.check_permission(issuer, trusted, licence.type, at=issued_at)
        if licence.issuer.uscc != issuer.agency.uscc:
            raise IssuerNotAllowed(
                "the licence names another issuer than the key's agency", reason="agency"
            )
        if recording:
            trace.ok("issuer", "issuer.may_issue", agency=issuer.agency.name, type=licence.type)
        moment = when.timestamp()
        if moment < iat or moment < nbf or moment > exp:  # check_times raises, with its error
            codec.check_times(claims, at=when)
        if recording:  # the date's text only shows in a report
            trace.ok("validity", "validity.until", until=expires_at.isoformat())
        status = self._status_of(licence.status_index, issuer, when, stale_ok=stale_ok, used=used)
        if status is None:
            trace.skipped("status", "status.skipped")
        elif recording:
            trace.ok("status", "status.checked")
        masked = MaskedFields(self._registry.get(licence.type), licence.fields)  # masks on use
        # VerifiedCertificate(...) without the frozen dataclass's object.__setattr__ per
        # field: the same object, equal to the one built so (as codec does for CoseMessage)
        verified = object.__new__(VerifiedCertificate)
        verified.__dict__.update(
            licence=licence,
            issuer=issuer,
            key=trusted,
            issued_at=issued_at,
            not_before=not_before,
            expires_at=expires_at,
            status=status,
            checked_at=when,
            trust_sequence=trust.sequence,
            masked_fields=masked,
        )
        return verified

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

    def _current_kids(self, issuer: TrustedIssuer) -> frozenset[str]:
        """The kids of ``issuer``'s keys that are not withdrawn (its status list's
        signers), worked out once per trusted issuer object, for at most
        :data:`_MAX_ISSUERS` issuers."""
        entry = self._issuer_kids.get(id(issuer))
        if entry is not None and entry[0] is issuer:
            return entry[1]
        kids = frozenset(k.key.kid for k in issuer.keys if not k.withdrawn)
        if len(self._issuer_kids) >= _MAX_ISSUERS:
            self._issuer_kids.clear()
        self._issuer_kids[id(issuer)] = (issuer, kids)
        return kids

    def _signed_list(
        self, lists: StatusLists, issuer: TrustedIssuer, when: datetime
    ) -> SignedStatusList | None:
        """``lists.signed_by`` the issuer's current kids, found once per trusted issuer
        object (for at most :data:`_MAX_ISSUERS` issuers) when every list was given
        loaded; with a source among them, on every call (a source reloads)."""
        if not lists.loaded_only:
            return lists.signed_by(self._current_kids(issuer), when)
        entry = self._issuer_lists.get(id(issuer))
        if entry is not None and entry[0] is issuer:
            return entry[1]
        found = lists.signed_by(self._current_kids(issuer), when)  # a refusal: not kept
        if len(self._issuer_lists) >= _MAX_ISSUERS:
            self._issuer_lists.clear()
        self._issuer_lists[id(issuer)] = (issuer, found)
        return found

    def _status_list(self, issuer: TrustedIssuer, when: datetime) -> SignedStatusList:
        """The issuer's status list (stale or not); past ``max_stale`` is status_stale."""
        if self._status is None:
            raise CertificateStatusUnknown(
                "no status list was given, so revocation cannot be checked", reason="no_list"
            )
        status_list = self._signed_list(self._status, issuer, when)
        if status_list is not None:
            return status_list
        if len(self._status) == 1:
            raise CertificateStatusUnknown(
                "there is no status list for the licence's issuer: the list given is not "
                "signed by a current key of that issuer",
                reason="other_issuer",
            )
        raise CertificateStatusUnknown(
            "there is no status list for the licence's issuer: none of the lists given is "
            "signed by a current key of that issuer",
            reason="no_list_for_issuer",
        )

    def _status_of(
        self,
        index: int | None,
        issuer: TrustedIssuer,
        when: datetime,
        *,
        stale_ok: bool,
        used: list[SignedStatusList] | None = None,
    ) -> Status | None:
        """The licence's status, or ``None`` only when the check is skipped (unsafe).

        The issuer's list, once found, is appended to ``used`` (for ``inspect``).
        """
        if self._skip_status:
            return None
        if index is None:
            raise CertificateStatusUnknown(
                "the licence carries no status reference, so its revocation cannot be checked",
                reason="no_index",
            )
        status_list = self._status_list(issuer, when)
        if used is not None:
            used.append(status_list)
        if not stale_ok and status_list.is_stale(when):
            raise CertificateStatusStale(
                "the issuer's status list is past its expiry",
                expired=status_list.expires_at.isoformat(),
                list_id=status_list.list_id,
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
