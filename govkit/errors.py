"""The one error tree of govkit.

Every error govkit raises derives from :class:`GovkitError`, carries a stable
machine-readable :attr:`~GovkitError.code` and a mapping of context attributes.
Every failure of an artifact (a signature, a token, a proof, a checkpoint) to
verify also derives from :class:`VerificationError`, so an application can catch
"this thing is not genuine" in one place.

>>> from govkit.errors import InvalidSignature, VerificationError
>>> err = InvalidSignature("signature does not verify", kid="abc")
>>> err.code, isinstance(err, VerificationError), err.context["kid"]
('key.invalid_signature', True, 'abc')

Messages never contain key material, tokens, secrets or personal data; context
attributes hold identifiers only (key ids, indexes, sizes, codes).

The ``govkit`` command adds a few ``cli.*`` codes of its own, for failures that are
not exceptions of the library (docs/errors.rst and docs/cli.rst list them all with
their exit codes). Among them: ``cli.usage`` (exit 2, wrong arguments),
``cli.no_vkey`` (exit 2, ``audit verify`` was given no trusted verifier key; a key
found next to the log is never used) and ``cli.file_exists`` (exit 3, an output file
exists and ``--force`` was not given; nothing was written).

The tree::

    GovkitError
    ├── VerificationError                    (mixin: an artifact is not genuine)
    ├── StoreError                           store.error  (mixin: a database or server failed)
    │   ├── StoreLocked                      store.locked
    │   ├── StoreSchemaError                 store.schema
    │   ├── StoreFull                        store.full
    │   └── StoreDamaged                     store.damaged
    ├── FlowError                            store.flow_invalid        (+ VerificationError)
    │   ├── FlowUnknown                      store.flow_unknown
    │   ├── FlowExpired                      store.flow_expired
    │   └── FlowTaken                        store.flow_taken
    ├── ConfigurationError                   config.invalid
    │   └── VerifierAnchorConflict           verifier.anchor_conflict
    ├── EncodingError                        encoding.malformed        (+ VerificationError)
    ├── ClockError
    │   ├── NaiveDatetimeError               clock.naive_datetime
    │   └── ClockBehind                      clock.behind
    ├── KeysError
    │   ├── UnsupportedAlgorithm             key.unsupported_algorithm
    │   │   └── AlgorithmUnavailable         key.algorithm_unavailable
    │   ├── WeakKey                          key.too_weak
    │   ├── KeyMismatch                      key.alg_mismatch
    │   ├── InvalidKey                       key.invalid
    │   │   └── KeyPasswordError             key.password
    │   ├── NoActiveKey                      key.no_active_key
    │   ├── InvalidSignature                 key.invalid_signature     (+ VerificationError)
    │   ├── UnknownKey                       key.unknown_kid           (+ VerificationError)
    │   └── KeyNotValidAt                    key.not_valid_at          (+ VerificationError)
    ├── AuditError
    │   ├── AuditStoreError                  audit.store               (+ StoreError)
    │   │   ├── AuditStoreLocked             audit.store_locked        (+ StoreLocked)
    │   │   └── AuditStoreSchemaError        audit.store_schema        (+ StoreSchemaError)
    │   ├── AuditEventInvalid                audit.event_invalid
    │   ├── SubjectErased                    audit.subject_erased
    │   └── AuditVerificationError           (+ VerificationError)
    │       ├── InvalidProof                 audit.invalid_proof
    │       ├── LeafMismatch                 audit.leaf_mismatch
    │       ├── IndexMismatch                audit.index_mismatch
    │       ├── NodeMismatch                 audit.node_mismatch
    │       ├── RootMismatch                 audit.root_mismatch
    │       ├── LogTruncated                 audit.truncated
    │       ├── LogGap                       audit.gap
    │       ├── InconsistentLog              audit.inconsistent
    │       ├── CheckpointInvalid            audit.checkpoint_malformed
    │       └── CheckpointSignatureInvalid   audit.checkpoint_signature
    ├── IdentityError
    │   ├── InvalidIdentifier                identifier.invalid
    │   ├── ClaimNotAllowed                  token.claim_not_allowed
    │   ├── JwksError                        jwks.unavailable
    │   ├── IdentityStoreError               identity.store            (+ StoreError)
    │   │   ├── IdentityStoreLocked          identity.store_locked     (+ StoreLocked)
    │   │   └── IdentityStoreSchemaError     identity.store_schema     (+ StoreSchemaError)
    │   ├── TokenError                       token.invalid             (+ VerificationError)
    │   │   ├── MalformedToken               token.malformed
    │   │   ├── TokenTooLarge                token.too_large
    │   │   ├── WrongTokenType               token.wrong_type
    │   │   ├── TokenAlgorithmRejected       token.algorithm
    │   │   ├── ForbiddenHeader              token.forbidden_header
    │   │   ├── UnsupportedCritical          token.unsupported_crit
    │   │   ├── TokenKeyUnknown              token.unknown_key
    │   │   ├── TokenSignatureInvalid        token.invalid_signature
    │   │   ├── MissingClaim                 token.missing_claim
    │   │   ├── TokenExpired                 token.expired
    │   │   ├── TokenNotYetValid             token.not_yet_valid
    │   │   ├── WrongIssuer                  token.wrong_issuer
    │   │   ├── WrongAudience                token.wrong_audience
    │   │   ├── InsufficientAssurance        token.insufficient_assurance
    │   │   ├── TokenRevoked                 token.revoked
    │   │   ├── TokenReplayed                token.replayed
    │   │   ├── DPoPInvalid                  dpop.invalid
    │   │   └── DPoPBindingMismatch          dpop.binding_mismatch
    │   └── OidcError                        oidc.error
    │       ├── OidcDiscoveryError           oidc.discovery
    │       ├── OidcUnavailable              oidc.unavailable
    │       ├── OidcProviderError            oidc.provider_error
    │       │   └── OidcDPoPNonce            oidc.dpop_nonce
    │       └── OidcVerificationError        oidc.invalid              (+ VerificationError)
    │           ├── OidcNotFapi2             oidc.not_fapi
    │           ├── OidcIssuerMismatch       oidc.issuer_mismatch
    │           ├── OidcStateUnknown         oidc.state_unknown
    │           ├── OidcStateExpired         oidc.state_expired
    │           ├── OidcStateReplayed        oidc.state_replayed
    │           ├── OidcStateMismatch        oidc.state_mismatch
    │           ├── OidcNonceMismatch        oidc.nonce_mismatch
    │           ├── OidcAcrInsufficient      oidc.acr_insufficient
    │           ├── OidcAuthTimeTooOld       oidc.auth_time_too_old
    │           ├── OidcSubjectMismatch      oidc.subject_mismatch
    │           ├── OidcResponseInvalid      oidc.response_invalid
    │           ├── OidcChallengeInvalid     oidc.challenge_invalid
    │           ├── OidcLogoutTokenInvalid   oidc.logout_invalid
    │           ├── OidcLogoutReplayed       oidc.logout_replayed
    │           └── OidcLoginRequestInvalid  oidc.login_request_invalid
    ├── CertificateError
    │   ├── LicenceDataInvalid               certificate.data_invalid
    │   ├── TrustListError                   trust.unavailable
    │   │   └── TrustListVersionUnsupported  trust.unsupported_version
    │   ├── VerifierStateError               verifier.state            (+ StoreError)
    │   │   └── VerifierStateLocked          verifier.state_locked     (+ StoreLocked)
    │   ├── QrUnreadable                     qr.unreadable
    │   │   ├── QrNotFound                   qr.not_found
    │   │   └── QrSeveralCodes               qr.several_codes
    │   └── CertificateVerificationError     certificate.invalid       (+ VerificationError)
    │       ├── CertificateFormatError       certificate.format
    │       ├── CertificateTooLarge          certificate.too_large
    │       ├── CertificateAlgorithmRejected certificate.algorithm
    │       ├── CertificateKeyUnknown        certificate.unknown_key
    │       ├── CertificateSignatureInvalid  certificate.invalid_signature
    │       ├── IssuerNotAllowed             certificate.issuer_not_allowed
    │       ├── CertificateExpired           certificate.expired
    │       ├── CertificateNotYetValid       certificate.not_yet_valid
    │       ├── CertificateRevoked           certificate.revoked
    │       ├── CertificateSuspended         certificate.suspended
    │       ├── CertificateStatusUnknown     certificate.status_unknown
    │       │   └── CertificateStatusStale   certificate.status_stale
    │       ├── TrustListInvalid             trust.invalid
    │       ├── TrustListStale               trust.stale
    │       ├── TrustListRollback            trust.rollback
    │       ├── TrustListEquivocation        trust.equivocation
    │       ├── StatusListInvalid            status.invalid
    │       ├── DisclosureInvalid            presentation.disclosure
    │       ├── HolderBindingInvalid         presentation.holder_binding
    │       ├── PresentationStale            presentation.stale
    │       ├── PresentationReplayed         presentation.replayed
    │       ├── PresentationOverDisclosed    presentation.over_disclosure
    │       └── PresentationIncomplete       presentation.missing_disclosure
    ├── PdfError
    │   ├── PdfRenderError                   pdf.render
    │   ├── PdfFontError                     pdf.font
    │   └── PdfReadError                     pdf.unreadable            (+ VerificationError)
    │       └── PdfPayloadMissing            pdf.no_payload
    ├── EsignError
    │   ├── SigningError                     esign.signing
    │   │   ├── TimestampUnavailable         esign.timestamp
    │   │   └── RevocationUnavailable        esign.revocation
    │   └── EsignVerificationError           esign.invalid             (+ VerificationError)
    │       ├── NotSigned                    esign.not_signed
    │       ├── SignatureFormatError         esign.format
    │       ├── DocumentSignatureInvalid     esign.invalid_signature
    │       ├── DocumentDigestMismatch       esign.digest_mismatch
    │       ├── SignerUntrusted              esign.untrusted
    │       ├── DocumentModified             esign.modified
    │       ├── WrongSignaturePurpose        esign.wrong_purpose
    │       ├── SignatureChainBroken         esign.chain
    │       └── SignerMismatch               esign.signer_mismatch
    └── PaymentError
        ├── PaymentStoreError                payment.store             (+ StoreError)
        │   ├── PaymentStoreLocked           payment.store_locked      (+ StoreLocked)
        │   └── PaymentStoreSchemaError      payment.store_schema      (+ StoreSchemaError)
        ├── PaymentOrderRejected             payment.order_rejected
        ├── PaymentKeyRefreshFailed          payment.key_refresh
        ├── PaymentQueryFailed               payment.query_failed
        ├── PaymentConflict                  payment.conflict
        ├── PaymentInFlight                  payment.in_flight
        ├── PaymentHandlerFailed             payment.handler_failed
        ├── PaymentReleaseRefused            payment.release_refused
        ├── PaymentEventUnknown              payment.event_unknown
        ├── PaymentDeliveryUnknown           payment.delivery_unknown
        ├── PaymentBodyPurged                payment.body_purged
        └── PaymentVerificationError         payment.invalid           (+ VerificationError)
            ├── PaymentSignatureInvalid      payment.bad_signature
            │   └── PaymentSignatureProbe    payment.signature_probe
            ├── PaymentKeyUnknown            payment.unknown_key
            ├── PaymentTimestampStale        payment.stale_timestamp
            ├── PaymentDecryptFailed         payment.decrypt_failed
            ├── PaymentMalformed             payment.malformed
            │   └── PaymentBodyTooLarge      payment.too_large
            └── PaymentMerchantMismatch      payment.merchant_mismatch
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

__all__ = [
    "AlgorithmUnavailable",
    "AuditError",
    "AuditEventInvalid",
    "AuditStoreError",
    "AuditStoreLocked",
    "AuditStoreSchemaError",
    "AuditVerificationError",
    "CertificateAlgorithmRejected",
    "CertificateError",
    "CertificateExpired",
    "CertificateFormatError",
    "CertificateKeyUnknown",
    "CertificateNotYetValid",
    "CertificateRevoked",
    "CertificateSignatureInvalid",
    "CertificateStatusStale",
    "CertificateStatusUnknown",
    "CertificateSuspended",
    "CertificateTooLarge",
    "CertificateVerificationError",
    "CheckpointInvalid",
    "CheckpointSignatureInvalid",
    "ClaimNotAllowed",
    "ClockBehind",
    "ClockError",
    "ConfigurationError",
    "DPoPBindingMismatch",
    "DPoPInvalid",
    "DisclosureInvalid",
    "DocumentDigestMismatch",
    "DocumentModified",
    "DocumentSignatureInvalid",
    "EncodingError",
    "EsignError",
    "EsignVerificationError",
    "FlowError",
    "FlowExpired",
    "FlowTaken",
    "FlowUnknown",
    "ForbiddenHeader",
    "GovkitError",
    "HolderBindingInvalid",
    "IdentityError",
    "IdentityStoreError",
    "IdentityStoreLocked",
    "IdentityStoreSchemaError",
    "InconsistentLog",
    "IndexMismatch",
    "InsufficientAssurance",
    "InvalidIdentifier",
    "InvalidKey",
    "InvalidProof",
    "InvalidSignature",
    "IssuerNotAllowed",
    "JwksError",
    "KeyMismatch",
    "KeyNotValidAt",
    "KeyPasswordError",
    "KeysError",
    "LeafMismatch",
    "LicenceDataInvalid",
    "LogGap",
    "LogTruncated",
    "MalformedToken",
    "MissingClaim",
    "NaiveDatetimeError",
    "NoActiveKey",
    "NodeMismatch",
    "NotSigned",
    "OidcAcrInsufficient",
    "OidcAuthTimeTooOld",
    "OidcChallengeInvalid",
    "OidcDPoPNonce",
    "OidcDiscoveryError",
    "OidcError",
    "OidcIssuerMismatch",
    "OidcLoginRequestInvalid",
    "OidcLogoutReplayed",
    "OidcLogoutTokenInvalid",
    "OidcNonceMismatch",
    "OidcNotFapi2",
    "OidcProviderError",
    "OidcResponseInvalid",
    "OidcStateExpired",
    "OidcStateMismatch",
    "OidcStateReplayed",
    "OidcStateUnknown",
    "OidcSubjectMismatch",
    "OidcUnavailable",
    "OidcVerificationError",
    "PaymentBodyPurged",
    "PaymentBodyTooLarge",
    "PaymentConflict",
    "PaymentDecryptFailed",
    "PaymentDeliveryUnknown",
    "PaymentError",
    "PaymentEventUnknown",
    "PaymentHandlerFailed",
    "PaymentInFlight",
    "PaymentKeyRefreshFailed",
    "PaymentKeyUnknown",
    "PaymentMalformed",
    "PaymentMerchantMismatch",
    "PaymentOrderRejected",
    "PaymentQueryFailed",
    "PaymentReleaseRefused",
    "PaymentSignatureInvalid",
    "PaymentSignatureProbe",
    "PaymentStoreError",
    "PaymentStoreLocked",
    "PaymentStoreSchemaError",
    "PaymentTimestampStale",
    "PaymentVerificationError",
    "PdfError",
    "PdfFontError",
    "PdfPayloadMissing",
    "PdfReadError",
    "PdfRenderError",
    "PresentationIncomplete",
    "PresentationOverDisclosed",
    "PresentationReplayed",
    "PresentationStale",
    "QrNotFound",
    "QrSeveralCodes",
    "QrUnreadable",
    "RevocationUnavailable",
    "RootMismatch",
    "SignatureChainBroken",
    "SignatureFormatError",
    "SignerMismatch",
    "SignerUntrusted",
    "SigningError",
    "StatusListInvalid",
    "StoreDamaged",
    "StoreError",
    "StoreFull",
    "StoreLocked",
    "StoreSchemaError",
    "SubjectErased",
    "TimestampUnavailable",
    "TokenAlgorithmRejected",
    "TokenError",
    "TokenExpired",
    "TokenKeyUnknown",
    "TokenNotYetValid",
    "TokenReplayed",
    "TokenRevoked",
    "TokenSignatureInvalid",
    "TokenTooLarge",
    "TrustListEquivocation",
    "TrustListError",
    "TrustListInvalid",
    "TrustListRollback",
    "TrustListStale",
    "TrustListVersionUnsupported",
    "UnknownKey",
    "UnsupportedAlgorithm",
    "UnsupportedCritical",
    "VerificationError",
    "VerifierAnchorConflict",
    "VerifierStateError",
    "VerifierStateLocked",
    "WeakKey",
    "WrongAudience",
    "WrongIssuer",
    "WrongSignaturePurpose",
    "WrongTokenType",
    "message_for",
    "render_message",
]


class GovkitError(Exception):
    """Base of every error govkit raises.

    Args:
        message: a human-readable sentence. It must never contain key material,
            tokens, secrets or personal data.
        **context: identifiers that help a caller act on the error (a key id,
            an index, a size). Exposed read-only as :attr:`context`.
    """

    #: Stable, dotted, machine-readable code; part of the public API.
    code: ClassVar[str] = "govkit.error"

    def __init__(self, message: str | None = None, /, **context: Any) -> None:
        self.message = message or type(self).__doc__ or self.code
        self.context: Mapping[str, Any] = MappingProxyType(dict(context))
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"code", "message", "context"}`` for JSON output."""
        return {
            "code": self.code,
            "message": self.message,
            "context": {k: _jsonable(v) for k, v in self.context.items()},
        }


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value)


# --- messages in English and Chinese -------------------------------------------------

#: The most characters of one context value (or of one item of a list) shown in a
#: rendered message, and the most items of a list.
_SHOWN_MAX = 80
_SHOWN_ITEMS = 20


def _language(lang: str) -> str:
    if not isinstance(lang, str):
        raise ConfigurationError("lang is a language tag such as 'zh' or 'en'", argument="lang")
    return "zh" if lang.strip().lower().startswith("zh") else "en"


def _shown(value: Any, lang: str) -> str:
    """A context value as it may appear in a message: one line of plain text (a list
    as its items, each cut like a single value)."""
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else list(value)
        shown = [_shown(v, lang) for v in items[:_SHOWN_ITEMS]]
        shown += ["…"] if len(items) > _SHOWN_ITEMS else []
        return ("、" if lang == "zh" else ", ").join(shown)
    import unicodedata  # noqa: PLC0415 - only when a message is rendered

    text = "".join(
        " " if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") else c for c in str(value)
    )
    return text if len(text) <= _SHOWN_MAX else text[: _SHOWN_MAX - 1] + "…"


def _from_catalogue(codes: tuple[str, ...], lang: str, context: Mapping[str, Any]) -> str | None:
    """The first variant, for the first of ``codes`` the catalogue has, whose
    placeholders ``context`` fills (``code#reason`` before ``code``)."""
    import string  # noqa: PLC0415 - only when a message is rendered

    from govkit._messages import MESSAGES  # noqa: PLC0415 - the catalogue is loaded lazily

    given = {k: _shown(v, lang) for k, v in context.items() if v is not None and v not in ("", ())}
    given = {k: v for k, v in given.items() if v.strip()}
    reason = context.get("reason")
    for code in codes:
        keys = ((f"{code}#{reason}",) if isinstance(reason, str) else ()) + (code,)
        for key in keys:
            for variants in MESSAGES.get(key, ()):
                template = variants[1] if lang == "zh" else variants[0]
                names = {f for _, f, _, _ in string.Formatter().parse(template) if f}
                if names <= given.keys():
                    return template.format_map({n: given[n] for n in names})
    return None


def render_message(error: GovkitError, lang: str = "en") -> str:
    """The message of ``error`` for people who read ``lang``: ``"en"`` or ``"zh"``.

    English is the error's own :attr:`~GovkitError.message` (stable codes, English
    messages: nothing changes for a caller who does not ask). Chinese comes from
    govkit's catalogue, keyed by the error's code (an application's subclass without
    an entry of its own gets its nearest base class's), with the identifiers of the
    error's :attr:`~GovkitError.context` filled in: a field name, a key id, the valid
    licence types. A context value is shown as one line of at most 80 characters.

    Any language tag starting with ``zh`` (``zh-CN``, ``zh_Hans``) is Chinese; any
    other is English. Nothing here reads the environment: an application passes the
    language its user chose.

    >>> from govkit.errors import CertificateRevoked, render_message
    >>> render_message(CertificateRevoked("the licence is revoked"), "zh")
    '电子证照已被吊销'
    >>> render_message(CertificateRevoked("the licence is revoked"), "en")
    'the licence is revoked'

    Raises:
        ConfigurationError: ``lang`` is not a string.
    """
    if _language(lang) == "en":
        return error.message
    codes = tuple(
        dict.fromkeys(
            cls.code
            for cls in type(error).__mro__
            if isinstance(cls, type) and issubclass(cls, GovkitError)
        )
    )
    found = _from_catalogue(codes, "zh", error.context)
    return found if found is not None else message_for(error.code, "zh")


def message_for(code: str, lang: str = "en", /, **context: Any) -> str:
    """The catalogue's message for ``code`` in ``lang`` (``"en"`` or ``"zh"``).

    For a code read from JSON (the ``govkit`` command's ``--json``, a report's failed
    check) rather than caught as an error. ``context`` fills the message's
    placeholders, as an error's context does for :func:`render_message`; a
    ``reason`` picks that reason's wording when there is one. A code the catalogue
    does not know gives a generic message naming it.

    >>> from govkit.errors import message_for
    >>> message_for("certificate.data_invalid", "zh", field="name", reason="missing")
    '缺少证照字段“name”'
    >>> message_for("certificate.data_invalid", "en", field="name", reason="missing")
    "licence field 'name' is missing"

    Raises:
        ConfigurationError: ``lang`` is not a string.
    """
    lang = _language(lang)
    found = _from_catalogue((code,), lang, context)
    if found is not None:
        return found
    shown = _shown(code, lang)
    return f"govkit 错误（{shown}）" if lang == "zh" else f"govkit error ({shown})"


class VerificationError(GovkitError):
    """An artifact (signature, token, licence, proof, checkpoint) is not genuine."""

    code = "verification.failed"


# Every component's store error (audit.store, payment.store, identity.store) also derives
# from StoreError, the base of govkit.stores' own errors: one ``except StoreError`` separates
# "shared state is unavailable" from everything else. A store error is never a verdict.
class StoreError(GovkitError):
    """A store's database or server failed, or holds data govkit cannot use."""

    code = "store.error"


class StoreLocked(StoreError):
    """Another writer held the store's lock longer than allowed; try again."""

    code = "store.locked"


class StoreSchemaError(StoreError):
    """The store's schema is newer than this release, or older and needs an upgrade."""

    code = "store.schema"


class StoreFull(StoreError):
    """A bounded in-memory store holds as many live entries as it may; nothing was evicted."""

    code = "store.full"


class StoreDamaged(StoreError):
    """A stored entry fails its integrity check (changed, swapped or sealed under another key)."""

    code = "store.damaged"


# A flow handle comes back from outside (a browser redirect): one that is unknown, expired
# or already used means the request carrying it is not the one the flow was started for.
class FlowError(VerificationError):
    """A flow handle names no usable secret (unknown, expired or already taken)."""

    code = "store.flow_invalid"


class FlowUnknown(FlowError):
    """No flow was started with this handle (or it was purged after expiring)."""

    code = "store.flow_unknown"


class FlowExpired(FlowError):
    """The flow's secret expired before it was taken."""

    code = "store.flow_expired"


class FlowTaken(FlowError):
    """The flow's secret was already taken; a handle can be used once."""

    code = "store.flow_taken"


class ConfigurationError(GovkitError):
    """An object was configured with values that cannot work."""

    code = "config.invalid"


class VerifierAnchorConflict(ConfigurationError):
    """The trust anchors given are not the ones the verifier state trusts."""

    code = "verifier.anchor_conflict"


class EncodingError(VerificationError):
    """Bytes or text are not in the expected encoding."""

    code = "encoding.malformed"


class ClockError(GovkitError):
    """Base of time-handling errors."""

    code = "clock.error"


class NaiveDatetimeError(ClockError):
    """A datetime without a timezone was given; govkit only accepts aware datetimes."""

    code = "clock.naive_datetime"


# The device's clock, not an artifact: a verifier whose clock is behind a time it has
# already seen signed cannot judge validity or freshness, so no verdict is "valid".
class ClockBehind(ClockError):
    """The device clock is earlier than the newest signed time this verifier has seen."""

    code = "clock.behind"


# --- keys -------------------------------------------------------------------


class KeysError(GovkitError):
    """Base of errors from :mod:`govkit.keys`."""

    code = "key.error"


class UnsupportedAlgorithm(KeysError):
    """The algorithm is not on govkit's allow-list."""

    code = "key.unsupported_algorithm"


class AlgorithmUnavailable(UnsupportedAlgorithm):
    """The algorithm needs an optional extra that is not installed (the message names it)."""

    code = "key.algorithm_unavailable"


class WeakKey(KeysError):
    """The key is too weak (for example RSA under 2048 bits)."""

    code = "key.too_weak"


class KeyMismatch(KeysError):
    """The key's type or curve does not match the requested algorithm."""

    code = "key.alg_mismatch"


class InvalidKey(KeysError):
    """Key data (PEM, JWK) is malformed or not a key govkit can use."""

    code = "key.invalid"


class KeyPasswordError(InvalidKey):
    """The private key is encrypted and the password is missing or wrong."""

    code = "key.password"


class NoActiveKey(KeysError):
    """A key ring has no active signing key."""

    code = "key.no_active_key"


class InvalidSignature(KeysError, VerificationError):
    """A signature does not verify."""

    code = "key.invalid_signature"


class UnknownKey(KeysError, VerificationError):
    """No key with that key id is known."""

    code = "key.unknown_kid"


class KeyNotValidAt(KeysError, VerificationError):
    """The key exists but its validity window does not cover the verification time."""

    code = "key.not_valid_at"


# --- audit ------------------------------------------------------------------


class AuditError(GovkitError):
    """Base of errors from :mod:`govkit.audit`."""

    code = "audit.error"


class AuditStoreError(AuditError, StoreError):
    """The audit store failed or holds data govkit cannot read."""

    code = "audit.store"


class AuditStoreLocked(AuditStoreError, StoreLocked):
    """The audit store stayed locked by another writer longer than the timeout."""

    code = "audit.store_locked"


class AuditStoreSchemaError(AuditStoreError, StoreSchemaError):
    """The audit store's schema is newer than this release, or needs an upgrade."""

    code = "audit.store_schema"


class AuditEventInvalid(AuditError):
    """An audit event is malformed (missing field, naive time, bad value)."""

    code = "audit.event_invalid"


class SubjectErased(AuditError):
    """The personal data asked for has been erased."""

    code = "audit.subject_erased"


class AuditVerificationError(AuditError, VerificationError):
    """Base of audit-log verification failures."""

    code = "audit.verification_failed"


class InvalidProof(AuditVerificationError):
    """A Merkle inclusion or consistency proof does not verify."""

    code = "audit.invalid_proof"


class LeafMismatch(AuditVerificationError):
    """A stored entry no longer hashes to its recorded leaf hash."""

    code = "audit.leaf_mismatch"


class IndexMismatch(AuditVerificationError):
    """A stored query column disagrees with its hashed entry (a query could hide it)."""

    code = "audit.index_mismatch"


class NodeMismatch(AuditVerificationError):
    """A stored interior Merkle node is missing or wrong, so proofs would be wrong."""

    code = "audit.node_mismatch"


class RootMismatch(AuditVerificationError):
    """The tree recomputed from the entries does not have the checkpoint's root."""

    code = "audit.root_mismatch"


class LogTruncated(AuditVerificationError):
    """The log holds fewer entries than a checkpoint already committed to."""

    code = "audit.truncated"


class LogGap(AuditVerificationError):
    """Entry indexes are not dense (an entry was deleted or moved)."""

    code = "audit.gap"


class InconsistentLog(AuditVerificationError):
    """Two checkpoints of the same log are not consistent: history was rewritten."""

    code = "audit.inconsistent"


class CheckpointInvalid(AuditVerificationError):
    """A checkpoint or signed note is malformed."""

    code = "audit.checkpoint_malformed"


class CheckpointSignatureInvalid(AuditVerificationError):
    """No trusted key produced a valid signature on the checkpoint."""

    code = "audit.checkpoint_signature"


# --- identity ---------------------------------------------------------------


class IdentityError(GovkitError):
    """Base of errors from :mod:`govkit.identity`."""

    code = "identity.error"


class InvalidIdentifier(IdentityError):
    """A resident ID number or unified social credit code is not valid."""

    code = "identifier.invalid"


class ClaimNotAllowed(IdentityError):
    """The issuer refuses a claim (for example a raw resident ID number)."""

    code = "token.claim_not_allowed"


class JwksError(IdentityError):
    """A JWKS could not be fetched or parsed, and no earlier good copy is usable."""

    code = "jwks.unavailable"


class IdentityStoreError(IdentityError, StoreError):
    """A replay or revocation store failed."""

    code = "identity.store"


class IdentityStoreLocked(IdentityStoreError, StoreLocked):
    """The identity store stayed locked by another writer longer than the timeout."""

    code = "identity.store_locked"


class IdentityStoreSchemaError(IdentityStoreError, StoreSchemaError):
    """The identity store's schema is newer than this release, or needs an upgrade."""

    code = "identity.store_schema"


class TokenError(IdentityError, VerificationError):
    """Base of identity-token verification failures."""

    code = "token.invalid"


class MalformedToken(TokenError):
    """The token is not a well-formed compact JWS with JSON header and claims."""

    code = "token.malformed"


class TokenTooLarge(TokenError):
    """The token exceeds the verifier's size limit."""

    code = "token.too_large"


class WrongTokenType(TokenError):
    """The header ``typ`` is not the one the profile requires."""

    code = "token.wrong_type"


class TokenAlgorithmRejected(TokenError):
    """The header ``alg`` is not the algorithm bound to the key (or is ``none``/HMAC)."""

    code = "token.algorithm"


class ForbiddenHeader(TokenError):
    """The header names a key source (``jku``, ``x5u``, ``jwk``, ``x5c``) govkit never uses."""

    code = "token.forbidden_header"


class UnsupportedCritical(TokenError):
    """The header lists a ``crit`` extension the verifier does not understand."""

    code = "token.unsupported_crit"


class TokenKeyUnknown(TokenError):
    """No trusted key has the token's ``kid``."""

    code = "token.unknown_key"


class TokenSignatureInvalid(TokenError):
    """The token's signature does not verify."""

    code = "token.invalid_signature"


class MissingClaim(TokenError):
    """A required claim is missing or has the wrong type."""

    code = "token.missing_claim"


class TokenExpired(TokenError):
    """The token's ``exp`` has passed."""

    code = "token.expired"


class TokenNotYetValid(TokenError):
    """The token's ``nbf`` (or ``iat``) lies in the future."""

    code = "token.not_yet_valid"


class WrongIssuer(TokenError):
    """The token's ``iss`` is not exactly the expected issuer."""

    code = "token.wrong_issuer"


class WrongAudience(TokenError):
    """The token's ``aud`` is not (only) the expected audience."""

    code = "token.wrong_audience"


class InsufficientAssurance(TokenError):
    """The token's assurance level is below what the service requires.

    ``required`` (also in ``context``) names the level to ask for in a step-up.
    """

    code = "token.insufficient_assurance"

    def __init__(self, message: str | None = None, /, *, required: str, **context: Any) -> None:
        self.required = required
        super().__init__(message, required=required, **context)


class TokenRevoked(TokenError):
    """The token (its ``jti``, or its subject since a time) was revoked."""

    code = "token.revoked"


class TokenReplayed(TokenError):
    """A one-time token or DPoP proof was presented again."""

    code = "token.replayed"


class DPoPInvalid(TokenError):
    """A DPoP proof is malformed, stale, for another request, or badly signed."""

    code = "dpop.invalid"


class DPoPBindingMismatch(TokenError):
    """The DPoP key does not match the access token's ``cnf.jkt`` (or the token is unbound)."""

    code = "dpop.binding_mismatch"


# --- OpenID Connect (govkit.identity.oidc) ---------------------------------------


class OidcError(IdentityError):
    """Base of errors from the OpenID Connect relying party (:mod:`govkit.identity.oidc`)."""

    code = "oidc.error"


class OidcDiscoveryError(OidcError):
    """The provider's discovery document could not be fetched, or does not fit (its
    ``issuer`` is not the configured one, a required endpoint is missing)."""

    code = "oidc.discovery"


class OidcUnavailable(OidcError):
    """A request to one of the provider's endpoints failed (network, timeout, size,
    an unexpected status); ``context["endpoint"]`` and ``context["reason"]`` say which."""

    code = "oidc.unavailable"


class OidcProviderError(OidcError):
    """The provider answered with an OAuth error (``context["error"]``, e.g.
    ``invalid_grant``, ``login_required``; ``context["endpoint"]``)."""

    code = "oidc.provider_error"


class OidcDPoPNonce(OidcProviderError):
    """The provider asked for a new DPoP nonce again after the one retry."""

    code = "oidc.dpop_nonce"


class OidcVerificationError(OidcError, VerificationError):
    """Something the provider or the browser sent back failed a relying-party check."""

    code = "oidc.invalid"


class OidcNotFapi2(OidcVerificationError):
    """A provider's discovery document does not show that it meets the FAPI 2.0
    security profile (:func:`~govkit.identity.inspect_fapi2_provider`, ``govkit oidc
    check``: the failed check's name says which part)."""

    code = "oidc.not_fapi"


class OidcIssuerMismatch(OidcVerificationError):
    """The callback's ``iss`` (RFC 9207) is not the issuer the flow started with, or is
    missing though the provider announces it (the mix-up defence)."""

    code = "oidc.issuer_mismatch"


class OidcStateUnknown(OidcVerificationError):
    """The callback's ``state`` names no login flow this application started."""

    code = "oidc.state_unknown"


class OidcStateExpired(OidcVerificationError):
    """The login flow named by ``state`` expired before the callback arrived."""

    code = "oidc.state_expired"


class OidcStateReplayed(OidcVerificationError):
    """The callback's ``state`` was already used: a login flow finishes once."""

    code = "oidc.state_replayed"


class OidcStateMismatch(OidcVerificationError):
    """The callback's ``state`` is not the one this browser session started."""

    code = "oidc.state_mismatch"


class OidcNonceMismatch(OidcVerificationError):
    """The ID token's ``nonce`` is missing or is not the flow's (a replayed ID token)."""

    code = "oidc.nonce_mismatch"


class OidcAcrInsufficient(OidcVerificationError):
    """The ID token's ``acr`` is missing, unknown, or weaker than the one asked for."""

    code = "oidc.acr_insufficient"


class OidcAuthTimeTooOld(OidcVerificationError):
    """The ID token's ``auth_time`` is missing or older than the ``max_age`` asked for."""

    code = "oidc.auth_time_too_old"


class OidcSubjectMismatch(OidcVerificationError):
    """The userinfo (or refreshed ID token) ``sub`` is not the ID token's."""

    code = "oidc.subject_mismatch"


class OidcResponseInvalid(OidcVerificationError):
    """A provider response is malformed (not JSON, a missing member, a token type other
    than ``DPoP``, an ``at_hash`` that does not match); ``context["reason"]``."""

    code = "oidc.response_invalid"


class OidcChallengeInvalid(OidcVerificationError):
    """A ``WWW-Authenticate`` header is not an RFC 9470 step-up challenge."""

    code = "oidc.challenge_invalid"


class OidcLogoutTokenInvalid(OidcVerificationError):
    """A back-channel logout token breaks OpenID Back-Channel Logout 1.0 (``typ``,
    ``events``, ``sid``/``sub``, a ``nonce``...); ``context["reason"]``."""

    code = "oidc.logout_invalid"


class OidcLogoutReplayed(OidcVerificationError):
    """A back-channel logout token (its ``jti``) was received before."""

    code = "oidc.logout_replayed"


class OidcLoginRequestInvalid(OidcVerificationError):
    """A request to the application's login route asks for what it does not allow: an
    ``acr_values``, ``max_age`` or ``login_hint`` outside the configured allow-list, or a
    ``next`` that is not a local path; ``context["reason"]`` names the parameter."""

    code = "oidc.login_request_invalid"


# --- certificates ------------------------------------------------------------


class CertificateError(GovkitError):
    """Base of errors from :mod:`govkit.certificates`."""

    code = "certificate.error"


class LicenceDataInvalid(CertificateError):
    """Licence data does not fit its type's schema (issuance refuses it)."""

    code = "certificate.data_invalid"


class TrustListError(CertificateError):
    """A trust or status list could not be loaded (file or URL) and no good copy is usable."""

    code = "trust.unavailable"


class TrustListVersionUnsupported(TrustListError):
    """The trust list has a newer major format version than this release reads."""

    code = "trust.unsupported_version"


# The verifier state (govkit.certificates.VerifierState) is shared state on disk, like a
# store: one that cannot be read, written or locked is never a verdict.
class VerifierStateError(CertificateError, StoreError):
    """The verifier state directory cannot be read or written, or holds damaged data."""

    code = "verifier.state"


class VerifierStateLocked(VerifierStateError, StoreLocked):
    """Another process held the verifier state's lock longer than allowed; try again."""

    code = "verifier.state_locked"


class QrUnreadable(CertificateError):
    """A picture could not be read as one QR code (nothing is known about the artifact)."""

    code = "qr.unreadable"


class QrNotFound(QrUnreadable):
    """No QR code could be read from the picture."""

    code = "qr.not_found"


class QrSeveralCodes(QrUnreadable):
    """The picture holds several different QR codes; one picture must hold one."""

    code = "qr.several_codes"


class CertificateVerificationError(CertificateError, VerificationError):
    """Base of licence verification failures."""

    code = "certificate.invalid"


class CertificateFormatError(CertificateVerificationError):
    """The payload is not a well-formed licence (prefix, base45, zlib, CBOR or COSE layer)."""

    code = "certificate.format"


class CertificateTooLarge(CertificateVerificationError):
    """The payload exceeds a size limit (before or after decompression)."""

    code = "certificate.too_large"


class CertificateAlgorithmRejected(CertificateVerificationError):
    """The COSE algorithm is not allowed or does not match the key."""

    code = "certificate.algorithm"


class CertificateKeyUnknown(CertificateVerificationError):
    """No trusted key has the licence's key id."""

    code = "certificate.unknown_key"


class CertificateSignatureInvalid(CertificateVerificationError):
    """The licence's signature does not verify with any candidate key."""

    code = "certificate.invalid_signature"


class IssuerNotAllowed(CertificateVerificationError):
    """The signing key is not allowed to issue this licence type (or was withdrawn)."""

    code = "certificate.issuer_not_allowed"


class CertificateExpired(CertificateVerificationError):
    """The licence's validity period has ended."""

    code = "certificate.expired"


class CertificateNotYetValid(CertificateVerificationError):
    """The licence's validity period has not begun."""

    code = "certificate.not_yet_valid"


class CertificateRevoked(CertificateVerificationError):
    """The status list marks the licence revoked."""

    code = "certificate.revoked"


class CertificateSuspended(CertificateVerificationError):
    """The status list marks the licence suspended."""

    code = "certificate.suspended"


class CertificateStatusUnknown(CertificateVerificationError):
    """The licence's revocation status could not be checked, so it is not accepted."""

    code = "certificate.status_unknown"


class CertificateStatusStale(CertificateStatusUnknown):
    """The issuer's status list is past its expiry, so the licence's status is not current."""

    code = "certificate.status_stale"


class TrustListInvalid(CertificateVerificationError):
    """A trust list is malformed or not signed by a trusted anchor."""

    code = "trust.invalid"


class TrustListStale(CertificateVerificationError):
    """The trust list (or status list) is past its expiry."""

    code = "trust.stale"


class TrustListRollback(CertificateVerificationError):
    """The trust list (or status list) is older than the one the verifier already holds."""

    code = "trust.rollback"


class TrustListEquivocation(CertificateVerificationError):
    """A different trust list (or status list) has the sequence number already held."""

    code = "trust.equivocation"


class StatusListInvalid(CertificateVerificationError):
    """A status list is malformed or not signed by a trusted key."""

    code = "status.invalid"


class DisclosureInvalid(CertificateVerificationError):
    """A disclosed field does not match the licence's signed digests."""

    code = "presentation.disclosure"


class HolderBindingInvalid(CertificateVerificationError):
    """The presentation is not signed by the device key the licence is bound to."""

    code = "presentation.holder_binding"


class PresentationStale(CertificateVerificationError):
    """The presentation was made outside the accepted time window."""

    code = "presentation.stale"


class PresentationReplayed(CertificateVerificationError):
    """The same presentation was already shown to this verifier."""

    code = "presentation.replayed"


class PresentationOverDisclosed(CertificateVerificationError):
    """The presentation reveals fields its verifier profile does not allow."""

    code = "presentation.over_disclosure"


class PresentationIncomplete(CertificateVerificationError):
    """The presentation lacks fields its verifier profile requires."""

    code = "presentation.missing_disclosure"


# --- payments ----------------------------------------------------------------


class PaymentError(GovkitError):
    """Base of errors from :mod:`govkit.payments`."""

    code = "payment.error"


class PaymentStoreError(PaymentError, StoreError):
    """The payment inbox store failed or holds data govkit cannot read."""

    code = "payment.store"


class PaymentStoreLocked(PaymentStoreError, StoreLocked):
    """The payment inbox stayed locked by another writer longer than the timeout."""

    code = "payment.store_locked"


class PaymentStoreSchemaError(PaymentStoreError, StoreSchemaError):
    """The payment inbox's schema is newer than this release, or needs an upgrade."""

    code = "payment.store_schema"


class PaymentOrderRejected(PaymentError):
    """An order cannot be created as given (bad amount, currency, or a clashing order)."""

    code = "payment.order_rejected"


class PaymentKeyRefreshFailed(PaymentError):
    """The provider's platform keys could not be downloaded or read."""

    code = "payment.key_refresh"


class PaymentQueryFailed(PaymentError):
    """An active query or bill download from the provider failed."""

    code = "payment.query_failed"


class PaymentConflict(PaymentError):
    """Two verified callbacks share a provider and event id but differ in content."""

    code = "payment.conflict"


class PaymentInFlight(PaymentError):
    """The event is stored but not processed yet; the provider is told to retry."""

    code = "payment.in_flight"


class PaymentHandlerFailed(PaymentError):
    """The application's handler failed on the event; it stays failed and is retried."""

    code = "payment.handler_failed"


class PaymentReleaseRefused(PaymentError):
    """Only a quarantined event can be released from quarantine."""

    code = "payment.release_refused"


class PaymentEventUnknown(PaymentError):
    """No single stored event has that id: none, or several providers use it.

    A lookup that found nothing, not a store failure (the store answered).
    """

    code = "payment.event_unknown"


class PaymentDeliveryUnknown(PaymentError):
    """No stored delivery has that id (a lookup that found nothing, not a store failure)."""

    code = "payment.delivery_unknown"


class PaymentBodyPurged(PaymentError):
    """A delivery's body was purged after the inbox's retention: only its digest is kept.

    Context: ``delivery_id``, ``body_sha256`` (of the body as received) and
    ``purged_at``. Not a store failure: the delivery row, its event and the digest
    are all still there (see :meth:`govkit.payments.PaymentInbox.purge`).
    """

    code = "payment.body_purged"


class PaymentVerificationError(PaymentError, VerificationError):
    """Base of payment-callback verification failures: the callback is not genuine."""

    code = "payment.invalid"


class PaymentSignatureInvalid(PaymentVerificationError):
    """The callback's signature does not verify with the provider's key."""

    code = "payment.bad_signature"


class PaymentSignatureProbe(PaymentSignatureInvalid):
    """A deliberate bad-signature probe (WeChat ``WECHATPAY/SIGNTEST/``); answer it with a 4xx."""

    code = "payment.signature_probe"


class PaymentKeyUnknown(PaymentVerificationError):
    """No trusted key or certificate matches the callback's key id, serial or chain."""

    code = "payment.unknown_key"


class PaymentTimestampStale(PaymentVerificationError):
    """The callback's signed timestamp lies outside the replay window."""

    code = "payment.stale_timestamp"


class PaymentDecryptFailed(PaymentVerificationError):
    """The callback's encrypted resource does not decrypt (wrong APIv3 key or tampered)."""

    code = "payment.decrypt_failed"


class PaymentMalformed(PaymentVerificationError):
    """The callback (or bill) is not well-formed: headers, encoding, JSON, fields or amounts."""

    code = "payment.malformed"


class PaymentBodyTooLarge(PaymentMalformed):
    """The callback body exceeds the provider's size limit; it was refused unstored."""

    code = "payment.too_large"


class PaymentMerchantMismatch(PaymentVerificationError):
    """A genuine callback names another merchant or app than the one configured."""

    code = "payment.merchant_mismatch"


# --- pdf ---------------------------------------------------------------------


class PdfError(GovkitError):
    """Base of errors from :mod:`govkit.pdf`."""

    code = "pdf.error"


class PdfRenderError(PdfError):
    """A document model cannot be rendered (bad field, template or page size)."""

    code = "pdf.render"


class PdfFontError(PdfError):
    """A configured font file cannot be loaded or lacks the glyphs needed."""

    code = "pdf.font"


class PdfReadError(PdfError, VerificationError):
    """The bytes are not a PDF govkit can read."""

    code = "pdf.unreadable"


class PdfPayloadMissing(PdfReadError):
    """The PDF carries no embedded payload of the expected name."""

    code = "pdf.no_payload"


# --- esign -------------------------------------------------------------------


class EsignError(GovkitError):
    """Base of errors from :mod:`govkit.esign`."""

    code = "esign.error"


class SigningError(EsignError):
    """A document could not be signed (key and certificate disagree, PDF unreadable)."""

    code = "esign.signing"


class TimestampUnavailable(SigningError):
    """The timestamp authority could not be reached or gave no usable token."""

    code = "esign.timestamp"


class RevocationUnavailable(SigningError):
    """Revocation information (CRL or OCSP) for long-term validation could not be fetched."""

    code = "esign.revocation"


class EsignVerificationError(EsignError, VerificationError):
    """Base of signed-document verification failures."""

    code = "esign.invalid"


class NotSigned(EsignVerificationError):
    """The document carries no signature."""

    code = "esign.not_signed"


class SignatureFormatError(EsignVerificationError):
    """A signature (PDF signature dictionary, CMS or JWS) is malformed."""

    code = "esign.format"


class DocumentSignatureInvalid(EsignVerificationError):
    """The signature does not verify over the signed bytes."""

    code = "esign.invalid_signature"


class DocumentDigestMismatch(EsignVerificationError):
    """The signed digest differs from the document's (the bytes were changed)."""

    code = "esign.digest_mismatch"


class SignerUntrusted(EsignVerificationError):
    """The signer's certificate or key does not chain to a trusted authority."""

    code = "esign.untrusted"


class DocumentModified(EsignVerificationError):
    """The document was changed after signing, or the signature does not cover all of it."""

    code = "esign.modified"


class WrongSignaturePurpose(EsignVerificationError):
    """The signature was made for another purpose or type of object."""

    code = "esign.wrong_purpose"


class SignatureChainBroken(EsignVerificationError):
    """A multi-party signature chain is out of order, or a link does not match."""

    code = "esign.chain"


class SignerMismatch(EsignVerificationError):
    """The signer's certificate is not one the trust list authorises for the licence's issuer."""

    code = "esign.signer_mismatch"
