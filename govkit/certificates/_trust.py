"""The trust list: which agencies' keys may sign which licence types, signed by an anchor.

>>> from datetime import UTC, datetime, timedelta
>>> from govkit.certificates import (
...     Agency, TrustedIssuer, TrustedKey, TrustList, load_trust_list, sign_trust_list)
>>> from govkit.keys import SigningKey
>>> anchor, issuer_key = SigningKey.generate("ES256"), SigningKey.generate("ES256")
>>> t0 = datetime(2026, 6, 1, tzinfo=UTC)
>>> trusted = TrustedKey.for_key(issuer_key.verifying_key, {"driving-licence"})
>>> issuer = TrustedIssuer(Agency("广州市公安局", "11440100MB2C92923F"), (trusted,))
>>> trust_list = TrustList((issuer,), sequence=1, issued_at=t0, expires_at=t0 + timedelta(days=7))
>>> data = sign_trust_list(trust_list, anchor)
>>> loaded = load_trust_list(data, [anchor.verifying_key], at=t0 + timedelta(days=1))
>>> loaded == trust_list
True
>>> [key.licence_types for _, key in loaded.candidates(trusted.kid)]
[frozenset({'driving-licence'})]

**Wire format.** One UTF-8 JSON document, written as canonical JSON (sorted keys, no
whitespace)::

    {
      "type": "govkit.trust-list/v1",
      "trust_list": {
        "version": "1.1",                                  (optional, see below)
        "sequence": 7,
        "issued_at": "2026-06-01T00:00:00Z",
        "expires_at": "2026-06-08T00:00:00Z",
        "next_anchors": [{…public JWK…}],                  (optional, see below)
        "issuers": [
          {"name": "广州市公安局", "uscc": "11440100MB2C92923F",
           "status_url": "https://…/status.json",         (optional, see below)
           "keys": [{"jwk": {…public JWK as VerifyingKey.to_jwk() writes it…},
                     "kid": "<base64url of the 8-byte COSE kid>",
                     "licence_types": ["driving-licence"],
                     "not_before": "…Z", "not_after": "…Z",      (both optional)
                     "withdrawn": false}],
           "pdf_signers": {"spki_sha256": ["<64 lowercase hex digits>"],   (optional,
                           "subjects": ["organizationIdentifier=NTRCN-…"]}   see below)
          }
        ]
      },
      "signature": {"alg": "ES256", "kid": "<anchor's JWK thumbprint>",
                    "value": "<base64url signature>"}
    }

The signature covers the canonical JSON of ``{"type": …, "trust_list": …}``, so the
type marker is inside the signed bytes: a status list or any other govkit document
signed by the same anchor can never pass as a trust list. Loading is strict: missing
members, duplicate names, floats, ``NaN``, a JWK not in the exact form govkit writes, a
``kid`` of the wrong length, naive or fractional times are all
:class:`~govkit.errors.TrustListInvalid` (``reason`` in the context).

**Versions.** The type marker carries the major version (``/v1``); the optional
``version`` member of the body says ``MAJOR.MINOR`` (absent: ``"1.0"``). Within major
version 1 a reader ignores members it does not know in the body, in an issuer, in a key
and in ``pdf_signers`` (never in a JWK, the envelope or the signature, which stay
exact), so a later minor version can add members that older readers skip. A change
that an older reader must not skip (one that would make it accept more than it
should) takes a new major version: a list of another major version
(``govkit.trust-list/v2``, or a ``version`` of ``"2.0"``) is refused with
:class:`~govkit.errors.TrustListVersionUnsupported` (``trust.unsupported_version``),
never read as version 1. A writer stamps the lowest version that describes the list:
a list using none of the 1.1 members (``status_url``, ``next_anchors``,
``pdf_signers``) has no ``version`` member and is exactly what releases before 1.1
write and read; a list using one says ``"1.1"``. Releases before 1.1 read every member
strictly, so they refuse a 1.1 list (``trust.invalid``, ``layout``): publish a list
without those members at another URL for devices that cannot be updated.

**Status list URLs.** An issuer's ``status_url`` (optional, an ``https`` URL, ``http``
only for a loopback host, at most 256 characters) is where its signed status list is
published; ``govkit verifier sync`` fetches each one (:class:`VerifierState`).

**Anchor rotation.** ``next_anchors`` (optional, at most 8 public JWKs in govkit's exact
form) introduces the anchors that will sign later lists, as a TUF root introduces the
next root keys. A verifier state accepts a list signed by a next anchor only while the
list it holds, signed by a current anchor, introduces it; from then on the next anchors
are the current ones and the old anchor signs nothing the state accepts.

**Key ids.** A :class:`TrustedKey`'s ``kid`` is the 8-byte COSE key id the QR payload
carries: the first 8 bytes of SHA-256 over the key's SubjectPublicKeyInfo DER
(:meth:`TrustedKey.for_key`; the HCERT rule). Being truncated (and choosable by an
issuer), two keys can share one, even keys of two issuers: the list keeps them all, at
most 8 a kid (a ninth is refused: each costs the verifier a signature check), and
:meth:`TrustList.candidates` returns every key with that ``kid`` for the verifier to
try. Only after a signature verifies does it call :meth:`TrustList.check_permission`,
which raises :class:`~govkit.errors.IssuerNotAllowed` with ``reason`` ``unknown``,
``withdrawn``, ``type``, ``algorithm`` or ``window``.

**Licence PDF signers.** A licence PDF is signed (PAdES) with an X.509 certificate,
not with the issuer's licence key; ``pdf_signers`` names the certificates allowed to
sign the issuer's PDFs: by ``spki_sha256``, the SHA-256 of the certificate's DER
SubjectPublicKeyInfo in lowercase hex (:func:`govkit.esign.spki_sha256`), or by a
subject identifier, ``organizationIdentifier=<value>`` or ``serialNumber=<value>``
(:func:`govkit.esign.subject_ids`; a subject holding two such attributes matches
neither). Each array is optional, sorted, without duplicates, at most 64 entries; the
member is written only when the issuer has a PDF signer. An issuer without one has no
PDF signer: :class:`~govkit.certificates.LicencePdfVerifier` refuses every licence PDF
of that issuer (``esign.signer_mismatch``). Lists written before the member existed
load unchanged, and so refuse licence PDFs until their issuers are given signers.

**Size.** A list holds at most :data:`MAX_TRUSTED_ISSUERS` (100,000) issuers, 256 keys
each. Its index (kid to keys, public key to its issuer) is built once, when the list
is made or loaded, so a verification costs the same with 10 issuers as with 100,000.
The document size limit follows from the issuer limit: :data:`TRUST_LIST_MAX_BYTES` =
64 KiB + :data:`TRUST_LIST_BYTES_PER_ISSUER` (1 KiB) x :data:`MAX_TRUSTED_ISSUERS` =
102,465,536 bytes. An issuer with one P-256 key and a validity window takes about
440-530 bytes, so a full list of such issuers is about 45-55 MB.

**Freshness.** Past ``expires_at`` a list is stale. :func:`load_trust_list` and
:meth:`TrustListSource.get` then raise :class:`~govkit.errors.TrustListStale`
(``trust.stale``) unless the caller passes ``allow_stale=True``, in which case the
caller gets the list and must report :meth:`TrustList.is_stale` itself. Nothing
fails silently after some hidden offline age: ``expires_at`` is the maximum offline
age, signed by the anchor.

**Modules.** The signed envelope (canonical bytes, the signature member, the
anchors), shared with the status list, is in ``_envelope.py``; the source that
fetches, caches and refuses rollback (:class:`TrustListSource`) in ``_sources.py``.
"""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final

from govkit._encoding import b64url_decode, b64url_encode
from govkit._http import check_url
from govkit.certificates._envelope import (
    check_keys,
    format_time,
    json_int,
    members,
    open_envelope,
    parse_time,
    sign_envelope,
    whole_seconds,
)
from govkit.certificates._identifier import is_uscc
from govkit.certificates._model import Agency
from govkit.certificates.codec import cose_kid
from govkit.clock import Clock, SystemClock, require_aware, resolve_time
from govkit.errors import (
    ConfigurationError,
    EncodingError,
    GovkitError,
    IssuerNotAllowed,
    KeysError,
    LicenceDataInvalid,
    TrustListInvalid,
    TrustListStale,
    TrustListVersionUnsupported,
)
from govkit.keys import ALGORITHMS, OPTIONAL_ALGORITHMS, Signer, VerifyingKey

__all__ = [
    "MAX_TRUSTED_ISSUERS",
    "TRUST_LIST_BYTES_PER_ISSUER",
    "TRUST_LIST_MAX_BYTES",
    "TRUST_LIST_TYPE",
    "TRUST_LIST_VERSION",
    "TrustList",
    "TrustedIssuer",
    "TrustedKey",
    "load_trust_list",
    "sign_trust_list",
]

#: The type marker inside every signed trust list (its major version is the ``/v1``).
TRUST_LIST_TYPE: Final = "govkit.trust-list/v1"
#: The newest format version this release writes and reads (``MAJOR.MINOR``); a list
#: using none of its additions is written without a ``version`` member (``"1.0"``).
TRUST_LIST_VERSION: Final = "1.1"
_MAJOR: Final = 1
_VERSION = re.compile(r"([1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})")
#: The issuer members a version 1.0 list may have; any other makes the list 1.1.
_ISSUER_MEMBERS_1_0: Final = frozenset({"name", "uscc", "keys", "required_algorithms"})
_MAX_STATUS_URL: Final = 256
#: An https URL with a plain host name, no port, credentials or fragment: what check_url
#: accepts, recognised without parsing it (anything else goes through check_url).
_PLAIN_HTTPS = re.compile(
    r"https://[A-Za-z0-9][A-Za-z0-9.-]{0,253}(?:[/?][A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)?"
)
_MAX_NEXT_ANCHORS: Final = 8
#: The most issuers a trust list may hold (Guangdong alone has about 7,300 issuing
#: departments and platforms; this leaves room for a national list).
MAX_TRUSTED_ISSUERS: Final = 100_000
#: The bytes of signed trust list allowed per issuer, on average: one issuer with two
#: P-256 keys and a 40-character name takes about 890 bytes, with one RSA-3072 key
#: about 940, with one P-256 key about 440-530.
TRUST_LIST_BYTES_PER_ISSUER: Final = 1024
#: The bytes allowed besides the issuers (envelope, times, sequence, signature).
_TRUST_LIST_ENVELOPE_BYTES: Final = 64 * 1024
#: Default size limit of a signed trust list, following from the issuer limit:
#: ``64 KiB + TRUST_LIST_BYTES_PER_ISSUER * MAX_TRUSTED_ISSUERS`` = 102,465,536 bytes
#: (about 98 MiB). Pass a smaller ``max_bytes`` where the lists you trust are smaller.
TRUST_LIST_MAX_BYTES: Final = (
    _TRUST_LIST_ENVELOPE_BYTES + TRUST_LIST_BYTES_PER_ISSUER * MAX_TRUSTED_ISSUERS
)
_KID_BYTES: Final = 8
#: The members every key of a list has (besides the optional validity window).
_KEY_MEMBERS: Final = frozenset({"jwk", "kid", "licence_types", "withdrawn"})
#: :class:`~govkit.certificates.Agency`'s limit on the length of its name.
_MAX_AGENCY_NAME: Final = 128
#: Documents this large are parsed with the cyclic garbage collector paused.
_PAUSE_COLLECTOR_BYTES: Final = 1024 * 1024
#: Keys of a list that may share one 8-byte kid (the verifier tries each one's signature).
_MAX_KEYS_PER_KID: Final = 8
_MAX_KEYS_PER_ISSUER: Final = 256
_MAX_TYPES_PER_KEY: Final = 64
_MAX_SEQUENCE: Final = 2**53 - 1
_TYPE_NAME = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+){0,7}")
#: Certificates an issuer may name as licence PDF signers, of each kind (hash, subject).
_MAX_PDF_SIGNERS: Final = 64
_SPKI_HASH_BYTES: Final = 32
_SPKI_HEX = re.compile(r"[0-9a-f]{64}")
#: ``organizationIdentifier=…`` or ``serialNumber=…``: 1-128 characters, no controls.
_SUBJECT_ID = re.compile(r"(?:organizationIdentifier|serialNumber)=[^\x00-\x1f\x7f]{1,128}")


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """An issuing key on the trust list and what it may sign.

    Attributes:
        key: the public key.
        kid: the 8-byte COSE key id the QR payload names (normally
            :func:`~govkit.certificates.codec.cose_kid` of ``key``; build with :meth:`for_key`).
        licence_types: the licence type names this key may sign (at least one).
        not_before: the key may sign licences issued at or after this time.
        not_after: the key may sign licences issued before this time.
        withdrawn: the key is withdrawn; nothing it signed is accepted.

    Times are aware and normalised to UTC whole seconds.
    """

    key: VerifyingKey
    kid: bytes
    licence_types: frozenset[str]
    not_before: datetime | None = None
    not_after: datetime | None = None
    withdrawn: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.key, VerifyingKey):
            raise ConfigurationError("TrustedKey.key must be a VerifyingKey")
        if not isinstance(self.kid, bytes) or len(self.kid) != _KID_BYTES:
            raise ConfigurationError("TrustedKey.kid must be 8 bytes")
        given: object = self.licence_types
        if isinstance(given, (str, bytes)) or not isinstance(given, Iterable):
            raise ConfigurationError("licence_types must be a set of type names")
        types: frozenset[object] = frozenset(given)
        if not types or len(types) > _MAX_TYPES_PER_KEY:
            raise ConfigurationError(f"a key may sign 1-{_MAX_TYPES_PER_KEY} licence types")
        if not all(isinstance(t, str) and _TYPE_NAME.fullmatch(t) for t in types):
            raise ConfigurationError("licence_types must be licence type names")
        object.__setattr__(self, "licence_types", types)
        for name in ("not_before", "not_after"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, whole_seconds(value, name))
        if (
            self.not_before is not None
            and self.not_after is not None
            and self.not_after <= self.not_before
        ):
            raise ConfigurationError("not_after must be later than not_before")
        if not isinstance(self.withdrawn, bool):
            raise ConfigurationError("withdrawn must be a bool")

    @classmethod
    def for_key(
        cls,
        key: VerifyingKey,
        licence_types: Iterable[str],
        *,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> TrustedKey:
        """A trusted key whose ``kid`` is derived from ``key`` (``codec.cose_kid``)."""
        if not isinstance(key, VerifyingKey):
            raise ConfigurationError("key must be a VerifyingKey")
        return cls(key, cose_kid(key), frozenset(licence_types), not_before, not_after)

    def covers(self, at: datetime) -> bool:
        """Whether ``at`` lies in ``[not_before, not_after)``."""
        at = require_aware(at)
        if self.not_before is not None and at < self.not_before:
            return False
        return self.not_after is None or at < self.not_after

    def to_json(self) -> dict[str, Any]:
        """The key as it appears in a trust list's ``keys`` array."""
        result: dict[str, Any] = {
            "jwk": self.key.to_jwk(),
            "kid": b64url_encode(self.kid),
            "licence_types": sorted(self.licence_types),
            "withdrawn": self.withdrawn,
        }
        if self.not_before is not None:
            result["not_before"] = format_time(self.not_before)
        if self.not_after is not None:
            result["not_after"] = format_time(self.not_after)
        return result

    def __repr__(self) -> str:
        return (
            f"TrustedKey(kid={self.kid.hex()!r}, alg={self.key.alg!r}, "
            f"licence_types={sorted(self.licence_types)!r}, withdrawn={self.withdrawn!r})"
        )


@dataclass(frozen=True, slots=True)
class TrustedIssuer:
    """An issuing agency and its keys.

    Attributes:
        agency: the agency (name and USCC).
        keys: its keys; one public key appears at most once.
        required_algorithms: when not empty, the verifier accepts this issuer's
            licences only if signed with one of these algorithms (for example
            ``frozenset({"SM2"})`` for an agency assessed under GB/T 39786); a licence
            signed otherwise raises :class:`~govkit.errors.IssuerNotAllowed` with
            ``reason`` ``algorithm``. Written as ``"required_algorithms"`` (sorted)
            only when not empty.
        pdf_signer_spki: the certificates allowed to sign this issuer's licence PDFs,
            by the SHA-256 of their SubjectPublicKeyInfo (32 bytes each,
            :func:`govkit.esign.spki_sha256`; at most 64).
        pdf_signer_subjects: the certificates allowed to sign them by subject
            identifier, ``organizationIdentifier=<value>`` or ``serialNumber=<value>``
            (:func:`govkit.esign.subject_ids`; at most 64). Trust these only when every
            CA the PDF verifier trusts vets that attribute; a hash names one key.

    Both empty (the default): no certificate may sign the issuer's licence PDFs. Written
    as ``"pdf_signers"`` only when one is not empty.

    ``status_url`` (optional): where the issuer publishes its signed status list, an
    ``https`` URL (``http`` only for a loopback host), at most 256 characters; written
    as ``"status_url"`` only when given. ``govkit verifier sync`` fetches it.
    """

    agency: Agency
    keys: tuple[TrustedKey, ...]
    required_algorithms: frozenset[str] = frozenset()
    pdf_signer_spki: frozenset[bytes] = frozenset()
    pdf_signer_subjects: frozenset[str] = frozenset()
    status_url: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.agency, Agency):
            raise ConfigurationError("TrustedIssuer.agency must be an Agency")
        if not isinstance(self.keys, tuple) or not all(
            isinstance(k, TrustedKey) for k in self.keys
        ):
            raise ConfigurationError("TrustedIssuer.keys must be a tuple of TrustedKey")
        if len(self.keys) > _MAX_KEYS_PER_ISSUER:
            raise ConfigurationError(f"an issuer has at most {_MAX_KEYS_PER_ISSUER} keys")
        if len({k.key for k in self.keys}) != len(self.keys):
            raise ConfigurationError("a key appears twice for one issuer")
        if not isinstance(self.required_algorithms, frozenset) or not all(
            alg in ALGORITHMS or alg in OPTIONAL_ALGORITHMS for alg in self.required_algorithms
        ):
            raise ConfigurationError(
                "TrustedIssuer.required_algorithms must be a frozenset of govkit algorithm names"
            )
        spki = _name_set(self.pdf_signer_spki, "pdf_signer_spki")
        if not all(isinstance(h, bytes) and len(h) == _SPKI_HASH_BYTES for h in spki):
            raise ConfigurationError("pdf_signer_spki holds 32-byte SHA-256 hashes")
        subjects = _name_set(self.pdf_signer_subjects, "pdf_signer_subjects")
        if not all(isinstance(i, str) and _SUBJECT_ID.fullmatch(i) for i in subjects):
            raise ConfigurationError(
                "pdf_signer_subjects holds organizationIdentifier=… or serialNumber=… ids"
            )
        object.__setattr__(self, "pdf_signer_spki", spki)
        object.__setattr__(self, "pdf_signer_subjects", subjects)
        if self.status_url is not None:
            if not isinstance(self.status_url, str) or len(self.status_url) > _MAX_STATUS_URL:
                raise ConfigurationError(
                    f"TrustedIssuer.status_url must be a URL of at most {_MAX_STATUS_URL} "
                    "characters"
                )
            if not _PLAIN_HTTPS.fullmatch(self.status_url):  # the common form, checked fast
                check_url(self.status_url, "status list")

    def pdf_signer_match(self, spki_sha256: bytes, subject_ids: Iterable[str]) -> str | None:
        """How a certificate is authorised to sign this issuer's licence PDFs, or ``None``.

        ``spki_sha256`` and ``subject_ids`` are the certificate's
        (:func:`govkit.esign.spki_sha256`, :func:`govkit.esign.subject_ids`). Returns
        ``"spki_sha256"`` or the attribute name of the matching subject identifier
        (``"organizationIdentifier"``, ``"serialNumber"``); ``None`` when neither
        matches, always so for an issuer without PDF signers.
        """
        if spki_sha256 in self.pdf_signer_spki:
            return "spki_sha256"
        for ident in subject_ids:
            if ident in self.pdf_signer_subjects:
                return ident.split("=", 1)[0]
        return None

    def to_json(self) -> dict[str, Any]:
        """The issuer as it appears in a trust list's ``issuers`` array."""
        result: dict[str, Any] = {
            "name": self.agency.name,
            "uscc": self.agency.uscc,
            "keys": [k.to_json() for k in self.keys],
        }
        if self.required_algorithms:
            result["required_algorithms"] = sorted(self.required_algorithms)
        signers: dict[str, list[str]] = {}
        if self.pdf_signer_spki:
            signers["spki_sha256"] = sorted(h.hex() for h in self.pdf_signer_spki)
        if self.pdf_signer_subjects:
            signers["subjects"] = sorted(self.pdf_signer_subjects)
        if signers:
            result["pdf_signers"] = signers
        if self.status_url is not None:
            result["status_url"] = self.status_url
        return result


def _name_set(given: object, name: str) -> frozenset[Any]:
    """``given`` (any iterable but a string) as a frozenset of at most 64 members."""
    if isinstance(given, (str, bytes)) or not isinstance(given, Iterable):
        raise ConfigurationError(f"TrustedIssuer.{name} must be a set")
    try:
        found: frozenset[Any] = frozenset(given)
    except TypeError:
        raise ConfigurationError(f"TrustedIssuer.{name} must be a set") from None
    if len(found) > _MAX_PDF_SIGNERS:
        raise ConfigurationError(f"TrustedIssuer.{name} holds at most {_MAX_PDF_SIGNERS}")
    return found


@dataclass(frozen=True, slots=True)
class TrustList:
    """The signed set of issuers and keys a verifier trusts.

    Attributes:
        issuers: the issuers (distinct USCCs; a public key belongs to one issuer); at
            most :data:`MAX_TRUSTED_ISSUERS`.
        sequence: increases with every new list (0 to 2**53 - 1).
        issued_at: when the list was made.
        expires_at: after this the list is stale (the maximum offline age).
        next_anchors: the anchors this list introduces for signing later lists
            (anchor rotation; at most 8, distinct; default none).

    Making a list (or loading one) also builds its index, once: COSE ``kid`` to the
    ``(issuer, key)`` pairs with that kid, and public key to its one pair. Finding a
    licence's signer (:meth:`candidates`) and checking its permission
    (:meth:`check_permission`) then take the same time for 10 issuers as for 100,000.

    The builders (:meth:`with_issuer`, :meth:`with_key`, :meth:`with_pdf_signers`,
    :meth:`withdraw`, :meth:`renewed`) return a new list with ``sequence + 1``.
    """

    issuers: tuple[TrustedIssuer, ...]
    sequence: int
    issued_at: datetime
    expires_at: datetime
    next_anchors: tuple[VerifyingKey, ...] = ()
    _by_kid: dict[bytes, tuple[tuple[TrustedIssuer, TrustedKey], ...]] = field(
        init=False, repr=False, compare=False
    )
    _by_key: dict[VerifyingKey, tuple[TrustedIssuer, TrustedKey]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if not isinstance(self.issuers, tuple) or not all(
            isinstance(i, TrustedIssuer) for i in self.issuers
        ):
            raise ConfigurationError("TrustList.issuers must be a tuple of TrustedIssuer")
        if len(self.issuers) > MAX_TRUSTED_ISSUERS:
            raise ConfigurationError(
                f"a trust list has at most {MAX_TRUSTED_ISSUERS:,} issuers",
                limit=MAX_TRUSTED_ISSUERS,
                issuers=len(self.issuers),
            )
        if isinstance(self.sequence, bool) or not isinstance(self.sequence, int):
            raise ConfigurationError("sequence must be an int")
        if not 0 <= self.sequence <= _MAX_SEQUENCE:
            raise ConfigurationError("sequence must be from 0 to 2**53 - 1")
        object.__setattr__(self, "issued_at", whole_seconds(self.issued_at, "issued_at"))
        object.__setattr__(self, "expires_at", whole_seconds(self.expires_at, "expires_at"))
        if self.expires_at <= self.issued_at:
            raise ConfigurationError("expires_at must be later than issued_at")
        anchors = self.next_anchors
        if not isinstance(anchors, tuple) or not all(isinstance(k, VerifyingKey) for k in anchors):
            raise ConfigurationError("TrustList.next_anchors must be a tuple of VerifyingKey")
        if len(anchors) > _MAX_NEXT_ANCHORS or len(set(anchors)) != len(anchors):
            raise ConfigurationError(
                f"TrustList.next_anchors holds at most {_MAX_NEXT_ANCHORS} distinct keys"
            )
        self._index()

    def _index(self) -> None:
        """Build the look-ups by kid and by key (and refuse a USCC or a key twice)."""
        usccs: set[str] = set()
        by_kid: dict[bytes, tuple[tuple[TrustedIssuer, TrustedKey], ...]] = {}
        by_key: dict[VerifyingKey, tuple[TrustedIssuer, TrustedKey]] = {}
        for issuer in self.issuers:
            if issuer.agency.uscc in usccs:
                raise ConfigurationError("two issuers share a USCC")
            usccs.add(issuer.agency.uscc)
            for key in issuer.keys:
                pair = (issuer, key)
                if by_key.setdefault(key.key, pair) is not pair:
                    raise ConfigurationError("a key belongs to two issuers")
                same_kid = by_kid.get(key.kid, ())
                if len(same_kid) >= _MAX_KEYS_PER_KID:
                    raise ConfigurationError(
                        f"more than {_MAX_KEYS_PER_KID} keys share one kid",
                        kid=key.kid.hex(),
                    )
                by_kid[key.kid] = (*same_kid, pair)
        object.__setattr__(self, "_by_kid", by_kid)
        object.__setattr__(self, "_by_key", by_key)

    def candidates(self, kid: bytes) -> list[tuple[TrustedIssuer, TrustedKey]]:
        """Every ``(issuer, key)`` whose key has this COSE ``kid``, withdrawn ones too.

        Returned in list order, in the same time whatever the list's size. Kids are 8-byte
        truncated hashes that an issuer may also choose, so several keys, even of
        different issuers, may share one: all of them are kept (at most 8 a kid, or
        the list is refused) and the verifier tries each one's signature, then calls
        :meth:`check_permission` for the one that verified.
        """
        found = self._by_kid.get(kid, ()) if isinstance(kid, bytes) else ()
        return list(found)

    def check_permission(
        self,
        issuer: TrustedIssuer,
        key: TrustedKey,
        licence_type: str,
        *,
        at: datetime,
    ) -> None:
        """Check that ``key`` of ``issuer`` may sign ``licence_type`` issued at ``at``.

        ``at`` is the licence's issue time. The pair is looked up by the key's public
        key (one issuer per key in a list) and must be this list's own pair: the same
        objects :meth:`candidates` returns, or equal ones. An issuer or key with the
        same names or key but other data (other licence types, another window, another
        agency) is ``unknown``.

        Raises:
            IssuerNotAllowed: ``context["reason"]`` is ``unknown`` (not on this list
                under that issuer), ``withdrawn``, ``type``, ``algorithm`` (not one of
                the issuer's ``required_algorithms``) or ``window``.
            NaiveDatetimeError: ``at`` has no timezone.
        """
        at = require_aware(at)
        # (the key id's text is made only for a refusal)
        listed = self._by_key.get(key.key) if isinstance(key, TrustedKey) else None
        if listed is None or not (
            (listed[0] is issuer or listed[0] == issuer) and (listed[1] is key or listed[1] == key)
        ):
            raise IssuerNotAllowed(
                "the key is not on the trust list",
                reason="unknown",
                kid=key.kid.hex() if isinstance(key, TrustedKey) else None,
            )
        if key.withdrawn:
            raise IssuerNotAllowed("the key was withdrawn", reason="withdrawn", kid=key.kid.hex())
        if licence_type not in key.licence_types:
            raise IssuerNotAllowed(
                "the key may not sign this licence type", reason="type", kid=key.kid.hex()
            )
        if issuer.required_algorithms and key.key.alg not in issuer.required_algorithms:
            raise IssuerNotAllowed(
                "the issuer must sign with "
                f"{' or '.join(sorted(issuer.required_algorithms))}, not {key.key.alg}",
                reason="algorithm",
                kid=key.kid.hex(),
                alg=key.key.alg,
            )
        if not key.covers(at):
            raise IssuerNotAllowed(
                "the licence was issued outside the key's validity window",
                reason="window",
                kid=key.kid.hex(),
            )

    def is_stale(self, at: datetime) -> bool:
        """Whether the list is past ``expires_at`` at ``at``."""
        return require_aware(at) >= self.expires_at

    @property
    def format_version(self) -> str:
        """The lowest format version describing this list: ``"1.1"`` when it uses a
        member added in 1.1 (``status_url``, ``next_anchors``, ``pdf_signers``), else
        ``"1.0"`` (what releases before 1.1 read)."""
        return "1.0" if "version" not in self.to_json() else TRUST_LIST_VERSION

    def to_json(self) -> dict[str, Any]:
        """The ``trust_list`` member of the signed document.

        ``version`` is written only for a list that needs 1.1 (see
        :attr:`format_version`); a 1.0 list is exactly what earlier releases write.
        """
        issuers = [i.to_json() for i in self.issuers]
        result: dict[str, Any] = {
            "sequence": self.sequence,
            "issued_at": format_time(self.issued_at),
            "expires_at": format_time(self.expires_at),
            "issuers": issuers,
        }
        if self.next_anchors:
            result["next_anchors"] = [k.to_jwk() for k in self.next_anchors]
        if self.next_anchors or any(not _ISSUER_MEMBERS_1_0.issuperset(i) for i in issuers):
            result["version"] = TRUST_LIST_VERSION
        return result

    @classmethod
    def from_json(cls, body: object) -> TrustList:
        """Parse a ``trust_list`` member strictly (no signature check).

        Members this release does not know are ignored (major version 1); a
        ``version`` of another major version is refused.

        Raises:
            TrustListInvalid: anything is off (``reason`` in the context).
            TrustListVersionUnsupported: ``version`` has another major version.
        """
        err = TrustListInvalid
        obj = members(
            body,
            {"sequence", "issued_at", "expires_at", "issuers"},
            {"version", "next_anchors"},
            err,
            "trust_list",
            ignore_unknown=True,
        )
        if "version" in obj:
            _check_version(obj["version"])
        next_anchors = _anchors_from_json(obj.get("next_anchors", []))
        issuers_json = obj["issuers"]
        if not isinstance(issuers_json, list):
            raise err("issuers must be an array", reason="layout", member="issuers")
        if len(issuers_json) > MAX_TRUSTED_ISSUERS:
            raise err(
                f"a trust list has at most {MAX_TRUSTED_ISSUERS:,} issuers",
                reason="too_many",
                member="issuers",
                limit=MAX_TRUSTED_ISSUERS,
            )
        try:
            issuers = _issuers_from_json(issuers_json)
            return cls(
                issuers,
                json_int(obj["sequence"], err, "sequence", _MAX_SEQUENCE),
                parse_time(obj["issued_at"], err, "issued_at"),
                parse_time(obj["expires_at"], err, "expires_at"),
                next_anchors,
            )
        except (ConfigurationError, LicenceDataInvalid) as exc:
            raise err(f"the trust list is inconsistent: {exc.message}", reason="content") from None

    # -- builders ----------------------------------------------------------------------

    def with_issuer(self, issuer: TrustedIssuer) -> TrustList:
        """A new list with ``issuer`` added, or replacing the issuer with its USCC."""
        kept = tuple(i for i in self.issuers if i.agency.uscc != issuer.agency.uscc)
        return replace(self, issuers=(*kept, issuer), sequence=self.sequence + 1)

    def with_key(self, uscc: str, key: TrustedKey) -> TrustList:
        """A new list with ``key`` added to the issuer whose USCC is ``uscc``.

        Raises:
            ConfigurationError: no issuer has that USCC.
        """
        for issuer in self.issuers:
            if issuer.agency.uscc == uscc:
                updated = replace(issuer, keys=(*issuer.keys, key))
                issuers = tuple(updated if i is issuer else i for i in self.issuers)
                return replace(self, issuers=issuers, sequence=self.sequence + 1)
        raise ConfigurationError("no issuer on the trust list has that USCC")

    def with_pdf_signers(
        self,
        uscc: str,
        *,
        spki_sha256: Iterable[bytes] = (),
        subjects: Iterable[str] = (),
    ) -> TrustList:
        """A new list in which the issuer with ``uscc`` may also have its licence PDFs
        signed by these certificates (added to those it has; see :class:`TrustedIssuer`).

        Raises:
            ConfigurationError: no issuer has that USCC, or a value is malformed.
        """
        for issuer in self.issuers:
            if issuer.agency.uscc == uscc:
                updated = replace(
                    issuer,
                    pdf_signer_spki=issuer.pdf_signer_spki | frozenset(spki_sha256),
                    pdf_signer_subjects=issuer.pdf_signer_subjects | frozenset(subjects),
                )
                issuers = tuple(updated if i is issuer else i for i in self.issuers)
                return replace(self, issuers=issuers, sequence=self.sequence + 1)
        raise ConfigurationError("no issuer on the trust list has that USCC")

    def withdraw(self, kid: bytes) -> TrustList:
        """A new list in which every key with this ``kid`` is withdrawn.

        Raises:
            ConfigurationError: no key has that ``kid``.
        """
        if not self.candidates(kid):
            raise ConfigurationError("no key on the trust list has that kid")
        issuers = tuple(
            replace(
                i, keys=tuple(replace(k, withdrawn=True) if k.kid == kid else k for k in i.keys)
            )
            for i in self.issuers
        )
        return replace(self, issuers=issuers, sequence=self.sequence + 1)

    def renewed(self, issued_at: datetime, expires_at: datetime) -> TrustList:
        """The same issuers with new times and ``sequence + 1`` (the periodic re-issue)."""
        return replace(self, issued_at=issued_at, expires_at=expires_at, sequence=self.sequence + 1)


def _check_version(value: object) -> None:
    """A ``version`` member: ``"1.MINOR"`` (any minor); another major is unsupported."""
    match = _VERSION.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise TrustListInvalid(
            "version must be MAJOR.MINOR, such as 1.1", reason="layout", member="version"
        )
    if int(match.group(1)) < _MAJOR:
        raise TrustListInvalid("version must be 1.MINOR", reason="layout", member="version")
    if int(match.group(1)) > _MAJOR:
        raise TrustListVersionUnsupported(
            f"the trust list is version {value}; this release reads version {_MAJOR}.x",
            reason="version",
            version=value,
        )


def _anchors_from_json(value: object) -> tuple[VerifyingKey, ...]:
    """``next_anchors``: an array of public JWKs in govkit's exact form."""
    err = TrustListInvalid
    if not isinstance(value, list) or len(value) > _MAX_NEXT_ANCHORS:
        raise err(
            f"next_anchors must be an array of at most {_MAX_NEXT_ANCHORS} JWKs",
            reason="layout",
            member="next_anchors",
        )
    anchors = []
    for jwk in value:
        try:
            key = VerifyingKey.from_jwk(jwk)
        except KeysError:
            raise err("a next anchor is not a usable public key", reason="jwk") from None
        if key.to_jwk() != jwk:
            raise err("a next anchor's JWK is not in govkit's exact form", reason="jwk")
        anchors.append(key)
    return tuple(anchors)


def _issuers_from_json(issuers_json: list[Any]) -> tuple[TrustedIssuer, ...]:
    """Every issuer of a list's ``issuers`` array, in order, each checked and built in
    one pass.

    An issuer of the common shape (name, USCC, an optional plain ``https``
    ``status_url``, P-256 or Ed25519 keys in govkit's exact JWK form) is checked here
    with exactly the checks :func:`_issuer_from_json` and the models' ``__post_init__``
    make, and built without making them again. Anything else, another shape or
    anything these checks do not pass, goes to :func:`_issuer_from_json`, which builds
    it or raises the error it always raised; as issuers are taken in order, the first
    refused issuer is refused as before. Values many keys share (the sets of licence
    types, the validity times) are checked and made once a list: fewer checks, and
    fewer objects to make and free.
    """
    new = object.__new__
    put = object.__setattr__
    times: dict[str, datetime] = {}
    type_sets: dict[tuple[str, ...], frozenset[str]] = {}
    none: frozenset[Any] = frozenset()
    issuers = []
    for obj in issuers_json:
        keys = _common_keys(obj, times, type_sets) if type(obj) is dict else None
        name = obj.get("name") if keys is not None else None
        uscc = obj.get("uscc") if keys is not None else None
        url = obj.get("status_url") if keys is not None else None
        if (
            keys is None
            or "required_algorithms" in obj
            or "pdf_signers" in obj
            or not (
                type(name) is str
                and 0 < len(name) <= _MAX_AGENCY_NAME
                and name.isprintable()  # no control characters, no lone surrogate
                and name == name.strip()
            )
            or not is_uscc(uscc)
            or not (
                url is None
                or (
                    type(url) is str and len(url) <= _MAX_STATUS_URL and _PLAIN_HTTPS.fullmatch(url)
                )
            )
        ):
            issuers.append(_issuer_from_json(obj))
            continue
        agency = new(Agency)
        put(agency, "name", name)
        put(agency, "uscc", uscc)
        issuer = new(TrustedIssuer)
        put(issuer, "agency", agency)
        put(issuer, "keys", keys)
        put(issuer, "required_algorithms", none)
        put(issuer, "pdf_signer_spki", none)
        put(issuer, "pdf_signer_subjects", none)
        put(issuer, "status_url", url)
        issuers.append(issuer)
    return tuple(issuers)


def _common_keys(
    issuer: dict[str, Any],
    times: dict[str, datetime],
    type_sets: dict[tuple[str, ...], frozenset[str]],
) -> tuple[TrustedKey, ...] | None:
    """The keys of an issuer of the common shape (:func:`_issuers_from_json`), checked
    as :func:`_key_from_json` and :class:`TrustedKey` check them; ``None`` when the
    issuer is not of that shape or a check fails."""
    keys_json = issuer.get("keys")
    if type(keys_json) is not list or len(keys_json) > _MAX_KEYS_PER_ISSUER:
        return None
    new = object.__new__
    put = object.__setattr__
    keys = []
    for entry in keys_json:
        if type(entry) is not dict or not entry.keys() >= _KEY_MEMBERS:
            return None
        public = VerifyingKey._from_exact_jwk(entry["jwk"])
        kid_text, withdrawn = entry["kid"], entry["withdrawn"]
        if (
            public is None
            or type(kid_text) is not str
            or (withdrawn is not False and withdrawn is not True)
        ):
            return None
        try:
            kid = b64url_decode(kid_text, what="kid")
        except EncodingError:
            return None
        types = entry["licence_types"]
        if len(kid) != _KID_BYTES or type(types) is not list:
            return None
        try:
            licence_types = type_sets.get(shape := tuple(types))
        except TypeError:  # an array or object among them (unhashable)
            return None
        if licence_types is None:
            licence_types = _licence_type_set(types)
            if licence_types is None:
                return None
            type_sets[shape] = licence_types
        not_before = not_after = None
        if "not_before" in entry:
            not_before = _shared_time(entry["not_before"], "not_before", times)
            if not_before is None:
                return None
        if "not_after" in entry:
            not_after = _shared_time(entry["not_after"], "not_after", times)
            if not_after is None:
                return None
        if not_before is not None and not_after is not None and not_after <= not_before:
            return None
        key = new(TrustedKey)
        put(key, "key", public)
        put(key, "kid", kid)
        put(key, "licence_types", licence_types)
        put(key, "not_before", not_before)
        put(key, "not_after", not_after)
        put(key, "withdrawn", withdrawn)
        keys.append(key)
    if len(keys) > 1 and len({k.key for k in keys}) != len(keys):
        return None
    return tuple(keys)


def _shared_time(value: object, name: str, times: dict[str, datetime]) -> datetime | None:
    """A key's ``not_before`` or ``not_after`` as :func:`parse_time` and
    :class:`TrustedKey` accept it (one object for each time of a list), or ``None``."""
    if type(value) is not str:
        return None
    found = times.get(value)
    if found is None:
        try:
            found = times[value] = whole_seconds(parse_time(value, TrustListInvalid, name), name)
        except GovkitError:
            return None
    return found


def _licence_type_set(types: list[Any]) -> frozenset[str] | None:
    """A key's ``licence_types`` as :func:`_key_from_json` and :class:`TrustedKey` accept
    them (names, no duplicates, 1 to 64 of them), or ``None``."""
    found = frozenset(types) if all(type(t) is str for t in types) else None
    if (
        found is None
        or len(found) != len(types)
        or not 0 < len(found) <= _MAX_TYPES_PER_KEY
        or not all(_TYPE_NAME.fullmatch(t) for t in found)
    ):
        return None
    return found


def _issuer_from_json(obj: object) -> TrustedIssuer:
    err = TrustListInvalid
    issuer = members(
        obj,
        {"name", "uscc", "keys"},
        {"required_algorithms", "pdf_signers", "status_url"},
        err,
        "issuer",
        ignore_unknown=True,
    )
    keys_json = issuer["keys"]
    if not isinstance(keys_json, list):
        raise err("keys must be an array", reason="layout", member="keys")
    if len(keys_json) > _MAX_KEYS_PER_ISSUER:
        raise err(
            f"an issuer has at most {_MAX_KEYS_PER_ISSUER} keys",
            reason="too_many",
            member="keys",
            limit=_MAX_KEYS_PER_ISSUER,
        )
    required = issuer.get("required_algorithms", [])
    if "required_algorithms" in issuer and (
        not isinstance(required, list)
        or not required
        or required != sorted(set(required))
        or not all(a in ALGORITHMS or a in OPTIONAL_ALGORITHMS for a in required)
    ):
        raise err(
            "required_algorithms must be a non-empty sorted array of algorithm names",
            reason="layout",
            member="required_algorithms",
        )
    spki, subjects = (
        _pdf_signers_from_json(issuer["pdf_signers"]) if "pdf_signers" in issuer else ((), ())
    )
    return TrustedIssuer(
        Agency(issuer["name"], issuer["uscc"]),
        tuple(_key_from_json(k) for k in keys_json),
        frozenset(required),
        pdf_signer_spki=frozenset(bytes.fromhex(h) for h in spki),
        pdf_signer_subjects=frozenset(subjects),
        status_url=issuer.get("status_url"),
    )


def _pdf_signers_from_json(obj: object) -> tuple[list[str], list[str]]:
    """An issuer's ``pdf_signers``: its ``spki_sha256`` (hex) and ``subjects`` arrays."""
    err = TrustListInvalid
    signers = members(
        obj, set(), {"spki_sha256", "subjects"}, err, "pdf_signers", ignore_unknown=True
    )
    found: list[list[str]] = []
    for name, form in (("spki_sha256", _SPKI_HEX), ("subjects", _SUBJECT_ID)):
        values = signers.get(name, [])
        if name in signers and (
            not isinstance(values, list)
            or not 0 < len(values) <= _MAX_PDF_SIGNERS
            or not all(isinstance(v, str) and form.fullmatch(v) for v in values)
            or values != sorted(set(values))
        ):
            raise err(
                f"pdf_signers.{name} must be a non-empty sorted array of at most "
                f"{_MAX_PDF_SIGNERS} distinct "
                + ("lowercase hex SHA-256 hashes" if name == "spki_sha256" else "subject ids"),
                reason="layout",
                member=f"pdf_signers.{name}",
            )
        found.append(values)
    if not signers:
        raise err(
            "pdf_signers must name at least one signer", reason="layout", member="pdf_signers"
        )
    return found[0], found[1]


def _key_from_json(obj: object) -> TrustedKey:
    err = TrustListInvalid
    entry = members(
        obj,
        {"jwk", "kid", "licence_types", "withdrawn"},
        {"not_before", "not_after"},
        err,
        "key",
        ignore_unknown=True,
    )
    jwk = entry["jwk"]
    try:
        key = VerifyingKey.from_jwk(jwk)
    except KeysError:
        raise err("a key's JWK is not a usable public key", reason="jwk") from None
    if key.to_jwk() != jwk:
        raise err("a key's JWK is not in govkit's exact form", reason="jwk")
    try:
        kid = b64url_decode(entry["kid"], what="kid") if isinstance(entry["kid"], str) else None
    except EncodingError:
        kid = None
    if kid is None or len(kid) != _KID_BYTES:
        raise err("a key's kid must be 8 bytes of base64url", reason="kid")
    types = entry["licence_types"]
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        raise err("licence_types must be an array of names", reason="layout")
    if len(set(types)) != len(types):
        raise err("licence_types has duplicates", reason="layout")
    if not isinstance(entry["withdrawn"], bool):
        raise err("withdrawn must be a boolean", reason="layout")
    window = [
        parse_time(entry[name], err, name) if name in entry else None
        for name in ("not_before", "not_after")
    ]
    return TrustedKey(key, kid, frozenset(types), window[0], window[1], entry["withdrawn"])


def sign_trust_list(trust_list: TrustList, anchor: Signer) -> bytes:
    """Sign ``trust_list`` with a trust anchor; return the JSON document (UTF-8 bytes)."""
    if not isinstance(trust_list, TrustList):
        raise ConfigurationError("trust_list must be a TrustList")
    return sign_envelope(TRUST_LIST_TYPE, "trust_list", trust_list.to_json(), anchor)


def load_trust_list(
    data: bytes,
    anchors: Sequence[VerifyingKey],
    *,
    at: datetime | None = None,
    clock: Clock | None = None,
    allow_stale: bool = False,
    max_bytes: int = TRUST_LIST_MAX_BYTES,
) -> TrustList:
    """Verify a signed trust list with one of ``anchors`` and parse it strictly.

    ``at`` (or ``clock.now()``) is the time the list must be fresh at. ``max_bytes``
    (default :data:`TRUST_LIST_MAX_BYTES`, which follows from
    :data:`MAX_TRUSTED_ISSUERS`) is checked before anything is parsed.

    Raises:
        TrustListInvalid: not signed by an anchor, tampered, or malformed
            (``context["reason"]``: ``type``, ``too_large``, ``json``, ``layout``,
            ``wrong_type``, ``unknown_key``, ``signature``, ``time``, ``jwk``,
            ``kid``, ``too_many``, ``content``).
        TrustListVersionUnsupported: the list has another major format version
            (``trust.unsupported_version``).
        TrustListStale: the list is past ``expires_at`` and ``allow_stale`` is false.
        NaiveDatetimeError: ``at`` has no timezone.
    """
    return _load_trust_list(
        data, anchors, at=at, clock=clock, allow_stale=allow_stale, max_bytes=max_bytes
    )[0]


@contextmanager
def _collector_paused(size: int) -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a large list is parsed.

    A 100,000-issuer list becomes about two million objects that all stay alive
    until the model is built; the collector would rescan them each time the heap grows
    by a quarter, a third of the load time, and find nothing (reference counting
    frees everything else). Only for documents of 1 MiB or more; the collector is
    resumed afterwards, and left alone when it was already off.
    """
    if size < _PAUSE_COLLECTOR_BYTES or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _load_trust_list(
    data: bytes,
    anchors: Sequence[VerifyingKey],
    *,
    at: datetime | None,
    clock: Clock | None,
    allow_stale: bool,
    max_bytes: int,
) -> tuple[TrustList, bytes]:
    """:func:`load_trust_list`, and the signed bytes (the canonical type and body)."""
    trust_list, _, signed = _open_trust_list(
        data, anchors, at=at, clock=clock, allow_stale=allow_stale, max_bytes=max_bytes
    )
    return trust_list, signed


def _open_trust_list(
    data: bytes,
    anchors: Sequence[VerifyingKey],
    *,
    at: datetime | None,
    clock: Clock | None,
    allow_stale: bool,
    max_bytes: int,
) -> tuple[TrustList, VerifyingKey, bytes]:
    """:func:`load_trust_list`, the anchor that signed it and the signed bytes."""
    keys = check_keys(anchors, "anchors")
    when = resolve_time(clock or SystemClock(), at)
    size = len(data) if isinstance(data, (bytes, bytearray, memoryview)) else 0
    with _collector_paused(size):
        body, key, signed = open_envelope(
            data,
            marker=TRUST_LIST_TYPE,
            member="trust_list",
            keys=keys,
            error=TrustListInvalid,
            max_bytes=max_bytes,
            unsupported=TrustListVersionUnsupported,
        )
        trust_list = TrustList.from_json(body)
        del body
    if trust_list.is_stale(when) and not allow_stale:
        raise TrustListStale(
            "the trust list is past its expiry",
            expired=format_time(trust_list.expires_at),
            sequence=trust_list.sequence,
        )
    return trust_list, key, signed


# -- the compact form a verifier state keeps (private) ----------------------------------------

#: The version of :func:`compact_form`; another version is never read.
_COMPACT_VERSION: Final = 1


def compact_form(trust_list: TrustList) -> bytes:
    """A verified trust list as the compact JSON a verifier state keeps beside it, so
    that the next run reads the list without parsing and checking it again
    (:func:`from_compact_form`). Only for a list that was verified: the form carries
    no signature, and reading it back checks the keys, not the rest."""
    with _collector_paused(len(trust_list.issuers) * TRUST_LIST_BYTES_PER_ISSUER):
        return _compact_form(trust_list)


def _compact_form(trust_list: TrustList) -> bytes:
    issuers = [
        [
            issuer.agency.name,
            issuer.agency.uscc,
            sorted(issuer.required_algorithms),
            sorted(h.hex() for h in issuer.pdf_signer_spki),
            sorted(issuer.pdf_signer_subjects),
            issuer.status_url,
            [
                [
                    *_key_form(key.key),
                    key.kid.hex(),
                    sorted(key.licence_types),
                    None if key.not_before is None else format_time(key.not_before),
                    None if key.not_after is None else format_time(key.not_after),
                    key.withdrawn,
                ]
                for key in issuer.keys
            ],
        ]
        for issuer in trust_list.issuers
    ]
    body = {
        "version": _COMPACT_VERSION,
        "sequence": trust_list.sequence,
        "issued_at": format_time(trust_list.issued_at),
        "expires_at": format_time(trust_list.expires_at),
        "next_anchors": [k.to_jwk() for k in trust_list.next_anchors],
        "issuers": issuers,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def from_compact_form(data: bytes) -> TrustList:
    """The trust list :func:`compact_form` wrote, built without checking its members
    again, except each public key (:meth:`VerifyingKey.from_jwk`) and the list's index
    (a USCC or a key twice is refused).

    The caller vouches for ``data``: it was made from a verified list and is checked
    to be intact (the verifier state keeps its digest and the digest of the list).

    Raises:
        ValueError: ``data`` is not a compact form of this version (also ``KeyError``,
            ``TypeError``, ``IndexError`` or a ``GovkitError`` for a damaged form).
    """
    with _collector_paused(len(data)):
        return _from_compact_form(json.loads(data))


def _from_compact_form(body: Any) -> TrustList:
    if body["version"] != _COMPACT_VERSION:
        raise ValueError("another version of the compact form")
    new = object.__new__
    put = object.__setattr__
    # Values many keys share (the sets of types, the validity times, empty sets) are
    # made once for this list: fewer objects to make, and to free.
    times: dict[str, datetime] = {}
    sets: dict[tuple[str, ...], frozenset[str]] = {}

    def utc(value: str) -> datetime:
        found = times.get(value)
        if found is None:
            found = times[value] = _utc_time(value)
        return found

    def names(values: list[str]) -> frozenset[str]:
        found = sets.get(shape := tuple(values))
        if found is None:
            found = sets[shape] = frozenset(values)
        return found

    issuers = []
    for name, uscc, required, spki, subjects, status_url, keys_json in body["issuers"]:
        agency = new(Agency)
        put(agency, "name", name)
        put(agency, "uscc", uscc)
        keys = []
        for alg, x, y, thumbprint, jwk, kid, types, not_before, not_after, withdrawn in keys_json:
            key = new(TrustedKey)
            put(key, "key", _restored(alg, x, y, thumbprint, jwk))
            put(key, "kid", bytes.fromhex(kid))
            put(key, "licence_types", names(types))
            put(key, "not_before", None if not_before is None else utc(not_before))
            put(key, "not_after", None if not_after is None else utc(not_after))
            put(key, "withdrawn", withdrawn is True)
            keys.append(key)
        issuer = new(TrustedIssuer)
        put(issuer, "agency", agency)
        put(issuer, "keys", tuple(keys))
        put(issuer, "required_algorithms", names(required))
        put(issuer, "pdf_signer_spki", frozenset(bytes.fromhex(h) for h in spki))
        put(issuer, "pdf_signer_subjects", names(subjects))
        put(issuer, "status_url", status_url)
        issuers.append(issuer)
    trust_list = new(TrustList)
    put(trust_list, "issuers", tuple(issuers))
    put(trust_list, "sequence", int(body["sequence"]))
    put(trust_list, "issued_at", utc(body["issued_at"]))
    put(trust_list, "expires_at", utc(body["expires_at"]))
    put(trust_list, "next_anchors", tuple(VerifyingKey.from_jwk(k) for k in body["next_anchors"]))
    try:
        trust_list._index()
    except ConfigurationError as exc:
        raise ValueError(exc.message) from None
    return trust_list


def _key_form(key: VerifyingKey) -> tuple[str, str | None, str | None, str, Any]:
    """A key in the compact form: ``alg``, ``x``, ``y`` and the thumbprint of a P-256 or
    Ed25519 key (rebuilt unchecked), or the JWK of another kind (checked again)."""
    jwk = key.to_jwk()
    if jwk["kty"] == "OKP" or (jwk["kty"] == "EC" and jwk["crv"] == "P-256"):
        return key.alg, jwk["x"], jwk.get("y"), key.kid, None
    return key.alg, None, None, key.kid, jwk


def _restored(
    alg: str, x: str | None, y: str | None, thumbprint: str, jwk: dict[str, Any] | None
) -> VerifyingKey:
    """A key of the compact form (:func:`_key_form`)."""
    if jwk is not None or x is None:
        key = VerifyingKey.from_jwk(jwk or {}, alg)
        if key.kid != thumbprint:
            raise ValueError("a key of the compact form is not the one recorded")
        return key
    return VerifyingKey.unsafe_restore(alg, x, y, thumbprint)


def _utc_time(value: str) -> datetime:
    """``YYYY-MM-DDTHH:MM:SSZ`` as :func:`parse_time` reads it, for a form known good."""
    if not value.endswith("Z"):
        raise ValueError("not a UTC time")
    return datetime.fromisoformat(value[:-1] + "+00:00")
