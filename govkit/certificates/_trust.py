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
        "sequence": 7,
        "issued_at": "2026-06-01T00:00:00Z",
        "expires_at": "2026-06-08T00:00:00Z",
        "issuers": [
          {"name": "广州市公安局", "uscc": "11440100MB2C92923F",
           "keys": [{"jwk": {…public JWK as VerifyingKey.to_jwk() writes it…},
                     "kid": "<base64url of the 8-byte COSE kid>",
                     "licence_types": ["driving-licence"],
                     "not_before": "…Z", "not_after": "…Z",      (both optional)
                     "withdrawn": false}]}
        ]
      },
      "signature": {"alg": "ES256", "kid": "<anchor's JWK thumbprint>",
                    "value": "<base64url signature>"}
    }

The signature covers the canonical JSON of ``{"type": …, "trust_list": …}``, so the
type marker is inside the signed bytes: a status list or any other govkit document
signed by the same anchor can never pass as a trust list. Loading is strict:
unknown or missing members, duplicate names, floats, ``NaN``, a JWK not in the exact
form govkit writes, a ``kid`` of the wrong length, naive or fractional times are all
:class:`~govkit.errors.TrustListInvalid` (``reason`` in the context).

**Key ids.** A :class:`TrustedKey`'s ``kid`` is the 8-byte COSE key id the QR payload
carries: the first 8 bytes of SHA-256 over the key's SubjectPublicKeyInfo DER
(:meth:`TrustedKey.for_key`; the HCERT rule). Being truncated, two keys can share
one, so :meth:`TrustList.candidates` returns every key with that ``kid`` and the
verifier tries each. Only after a signature verifies does it call
:meth:`TrustList.check_permission`, which raises
:class:`~govkit.errors.IssuerNotAllowed` with ``reason`` ``unknown``, ``withdrawn``,
``type`` or ``window``.

**Freshness.** Past ``expires_at`` a list is stale. :func:`load_trust_list` and
:meth:`TrustListSource.get` then raise :class:`~govkit.errors.TrustListStale`
(``trust.stale``) unless the caller passes ``allow_stale=True``, in which case the
caller gets the list and must report :meth:`TrustList.is_stale` itself. Nothing
fails silently after some hidden offline age: ``expires_at`` is the maximum offline
age, signed by the anchor.

**Rollback.** :class:`TrustListSource` never installs a list whose ``sequence`` is
lower than one it has already accepted (or than ``min_sequence``), nor a different
list with the same sequence.
"""

from __future__ import annotations

import ipaddress
import json
import re
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Final, Generic, TypeVar
from urllib.parse import urlsplit

import requests

from govkit._encoding import b64url_decode, b64url_encode, canonical_json
from govkit.certificates._model import Agency
from govkit.certificates.codec import cose_kid
from govkit.clock import Clock, SystemClock, require_aware, resolve_time
from govkit.errors import (
    CertificateVerificationError,
    ConfigurationError,
    EncodingError,
    GovkitError,
    InvalidSignature,
    IssuerNotAllowed,
    KeysError,
    LicenceDataInvalid,
    TrustListError,
    TrustListInvalid,
    TrustListStale,
)
from govkit.keys import ALGORITHMS, OPTIONAL_ALGORITHMS, Signer, VerifyingKey

__all__ = [
    "TRUST_LIST_TYPE",
    "TrustList",
    "TrustListSource",
    "TrustedIssuer",
    "TrustedKey",
    "load_trust_list",
    "sign_trust_list",
]

#: The type marker inside every signed trust list.
TRUST_LIST_TYPE: Final = "govkit.trust-list/v1"
#: Default size limit of a signed document (trust list or status list).
DEFAULT_MAX_BYTES: Final = 1024 * 1024
_KID_BYTES: Final = 8
_MAX_ISSUERS: Final = 4096
_MAX_KEYS_PER_ISSUER: Final = 256
_MAX_TYPES_PER_KEY: Final = 64
_MAX_SEQUENCE: Final = 2**53 - 1
_MAX_DEPTH: Final = 12
_TYPE_NAME = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+){0,7}")
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_CHUNK: Final = 16384

_T = TypeVar("_T")


# --- shared helpers (also used by the status list) ------------------------------------


def format_time(value: datetime) -> str:
    """An aware datetime as ``YYYY-MM-DDTHH:MM:SSZ`` (UTC, whole seconds)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: object, error: type[GovkitError], name: str) -> datetime:
    """Strictly parse ``YYYY-MM-DDTHH:MM:SSZ``; anything else raises ``error``."""
    if not isinstance(value, str) or not _TIME.fullmatch(value):
        raise error(f"{name} must be a UTC time YYYY-MM-DDTHH:MM:SSZ", reason="time", member=name)
    try:
        return datetime.fromisoformat(value[:-1] + "+00:00")
    except ValueError:
        raise error(f"{name} is not a valid time", reason="time", member=name) from None


def whole_seconds(value: object, name: str) -> datetime:
    """``value`` checked to be aware, in UTC and truncated to whole seconds."""
    if not isinstance(value, datetime):
        raise ConfigurationError(f"{name} must be an aware datetime", argument=name)
    return require_aware(value, name).replace(microsecond=0)


class _Refused(Exception):
    """Raised inside the JSON hooks; becomes the caller's error class."""


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _Refused("has a duplicate member name")
    return obj


def _no_float(_text: str) -> Any:
    raise _Refused("holds a non-integer number")


_DECODER: Final = json.JSONDecoder(
    object_pairs_hook=_unique, parse_constant=_no_float, parse_float=_no_float
)


def loads_strict(data: bytes, error: type[GovkitError], what: str) -> dict[str, Any]:
    """Parse one UTF-8 JSON object strictly, raising ``error`` (reason ``json``).

    Refused: invalid UTF-8, a top level that is not an object, duplicate names,
    floats, ``NaN``/``Infinity``, lone surrogates, nesting deeper than 12 levels.
    """
    try:
        text = data.decode("utf-8")
        value = _DECODER.decode(text)
        if not isinstance(value, dict):
            raise _Refused("is not a JSON object")
        stack: list[tuple[Any, int]] = [(value, 1)]
        while stack:
            node, depth = stack.pop()
            if isinstance(node, (dict, list)) and depth > _MAX_DEPTH:
                raise _Refused("nests too deeply")
            if isinstance(node, dict):
                stack.extend((k, depth) for k in node)
                stack.extend((v, depth + 1) for v in node.values())
            elif isinstance(node, list):
                stack.extend((v, depth + 1) for v in node)
            elif isinstance(node, str):
                node.encode("utf-8")
    except _Refused as exc:
        raise error(f"the {what} {exc}", reason="json") from None
    except (UnicodeError, ValueError, RecursionError):
        raise error(f"the {what} is not valid UTF-8 JSON", reason="json") from None
    return value


def check_keys(keys: object, name: str) -> tuple[VerifyingKey, ...]:
    """``keys`` as a non-empty tuple of :class:`VerifyingKey` (else ConfigurationError)."""
    if isinstance(keys, VerifyingKey):
        keys = (keys,)
    if not isinstance(keys, Iterable) or isinstance(keys, (str, bytes)):
        raise ConfigurationError(f"{name} must be a sequence of VerifyingKey", argument=name)
    result = tuple(keys)
    if not result or not all(isinstance(k, VerifyingKey) for k in result):
        raise ConfigurationError(f"{name} must be a non-empty sequence of VerifyingKey")
    return result


def sign_envelope(marker: str, member: str, body: dict[str, Any], signer: Signer) -> bytes:
    """``{"type", member, "signature"}`` as canonical JSON, signed over type and body."""
    signed = canonical_json({"type": marker, member: body})
    signature = {"alg": signer.alg, "kid": signer.kid, "value": b64url_encode(signer.sign(signed))}
    return canonical_json({"type": marker, member: body, "signature": signature})


def open_envelope(
    data: object,
    *,
    marker: str,
    member: str,
    keys: Sequence[VerifyingKey],
    error: type[CertificateVerificationError],
    max_bytes: int,
) -> tuple[dict[str, Any], VerifyingKey]:
    """Check a signed envelope; return its body and the key that signed it.

    Raises ``error`` with ``reason`` ``type``, ``too_large``, ``json``, ``layout``,
    ``wrong_type``, ``signature`` or ``unknown_key``.
    """
    what = marker.split("/", 1)[0].removeprefix("govkit.").replace("-", " ")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise error(f"a signed {what} must be bytes", reason="type")
    if len(data) > max_bytes:
        raise error(f"the signed {what} is larger than {max_bytes} bytes", reason="too_large")
    document = loads_strict(bytes(data), error, what)
    if document.get("type") != marker:
        raise error(f"the document is not a {marker}", reason="wrong_type")
    if set(document) != {"type", member, "signature"}:
        raise error(f"the {what} must have exactly type, {member} and signature", reason="layout")
    body, signature = document[member], document["signature"]
    if not isinstance(body, dict) or not isinstance(signature, dict):
        raise error(f"{member} and signature must be objects", reason="layout")
    if set(signature) != {"alg", "kid", "value"} or not all(
        isinstance(v, str) for v in signature.values()
    ):
        raise error("the signature must have exactly alg, kid and value (text)", reason="layout")
    try:
        value = b64url_decode(signature["value"], what="signature")
    except EncodingError:
        raise error("the signature is not base64url", reason="signature") from None
    candidates = [k for k in keys if k.kid == signature["kid"] and k.alg == signature["alg"]]
    if not candidates:
        raise error(f"the {what} is not signed by a trusted key", reason="unknown_key")
    signed = canonical_json({"type": marker, member: body})
    for key in candidates:
        try:
            key.verify(value, signed)
        except InvalidSignature:
            continue
        return body, key
    raise error(f"the {what}'s signature does not verify", reason="signature")


def members(
    obj: object,
    required: set[str],
    optional: set[str],
    error: type[GovkitError],
    what: str,
) -> dict[str, Any]:
    """``obj`` as a dict with all of ``required`` and nothing outside ``optional``."""
    if not isinstance(obj, dict):
        raise error(f"{what} must be an object", reason="layout", member=what)
    names = set(obj)
    if not required <= names or not names <= required | optional:
        raise error(f"{what} has missing or unknown members", reason="layout", member=what)
    return obj


def json_int(value: object, error: type[GovkitError], name: str, maximum: int) -> int:
    """A JSON integer from 0 to ``maximum`` (booleans refused)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise error(f"{name} must be an integer from 0 to {maximum}", reason="layout", member=name)
    return value


# --- the model --------------------------------------------------------------------------


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
    """

    agency: Agency
    keys: tuple[TrustedKey, ...]
    required_algorithms: frozenset[str] = frozenset()

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

    def to_json(self) -> dict[str, Any]:
        """The issuer as it appears in a trust list's ``issuers`` array."""
        result: dict[str, Any] = {
            "name": self.agency.name,
            "uscc": self.agency.uscc,
            "keys": [k.to_json() for k in self.keys],
        }
        if self.required_algorithms:
            result["required_algorithms"] = sorted(self.required_algorithms)
        return result


@dataclass(frozen=True, slots=True)
class TrustList:
    """The signed set of issuers and keys a verifier trusts.

    Attributes:
        issuers: the issuers (distinct USCCs; a public key belongs to one issuer).
        sequence: increases with every new list (0 to 2**53 - 1).
        issued_at: when the list was made.
        expires_at: after this the list is stale (the maximum offline age).

    The builders (:meth:`with_issuer`, :meth:`with_key`, :meth:`withdraw`,
    :meth:`renewed`) return a new list with ``sequence + 1``.
    """

    issuers: tuple[TrustedIssuer, ...]
    sequence: int
    issued_at: datetime
    expires_at: datetime

    def __post_init__(self) -> None:
        if not isinstance(self.issuers, tuple) or not all(
            isinstance(i, TrustedIssuer) for i in self.issuers
        ):
            raise ConfigurationError("TrustList.issuers must be a tuple of TrustedIssuer")
        if len(self.issuers) > _MAX_ISSUERS:
            raise ConfigurationError(f"a trust list has at most {_MAX_ISSUERS} issuers")
        if len({i.agency.uscc for i in self.issuers}) != len(self.issuers):
            raise ConfigurationError("two issuers share a USCC")
        all_keys = [k.key for i in self.issuers for k in i.keys]
        if len(set(all_keys)) != len(all_keys):
            raise ConfigurationError("a key belongs to two issuers")
        if isinstance(self.sequence, bool) or not isinstance(self.sequence, int):
            raise ConfigurationError("sequence must be an int")
        if not 0 <= self.sequence <= _MAX_SEQUENCE:
            raise ConfigurationError("sequence must be from 0 to 2**53 - 1")
        object.__setattr__(self, "issued_at", whole_seconds(self.issued_at, "issued_at"))
        object.__setattr__(self, "expires_at", whole_seconds(self.expires_at, "expires_at"))
        if self.expires_at <= self.issued_at:
            raise ConfigurationError("expires_at must be later than issued_at")

    def candidates(self, kid: bytes) -> list[tuple[TrustedIssuer, TrustedKey]]:
        """Every ``(issuer, key)`` whose key has this COSE ``kid``, withdrawn ones too.

        The verifier tries each key's signature, then calls :meth:`check_permission`
        for the one that verified.
        """
        return [(i, k) for i in self.issuers for k in i.keys if k.kid == kid]

    def check_permission(
        self,
        issuer: TrustedIssuer,
        key: TrustedKey,
        licence_type: str,
        *,
        at: datetime,
    ) -> None:
        """Check that ``key`` of ``issuer`` may sign ``licence_type`` issued at ``at``.

        ``at`` is the licence's issue time.

        Raises:
            IssuerNotAllowed: ``context["reason"]`` is ``unknown`` (not on this list
                under that issuer), ``withdrawn``, ``type``, ``algorithm`` (not one of
                the issuer's ``required_algorithms``) or ``window``.
            NaiveDatetimeError: ``at`` has no timezone.
        """
        at = require_aware(at)
        kid = key.kid.hex() if isinstance(key, TrustedKey) else None
        if issuer not in self.issuers or key not in issuer.keys:
            raise IssuerNotAllowed("the key is not on the trust list", reason="unknown", kid=kid)
        if key.withdrawn:
            raise IssuerNotAllowed("the key was withdrawn", reason="withdrawn", kid=kid)
        if licence_type not in key.licence_types:
            raise IssuerNotAllowed("the key may not sign this licence type", reason="type", kid=kid)
        if issuer.required_algorithms and key.key.alg not in issuer.required_algorithms:
            raise IssuerNotAllowed(
                "the issuer must sign with "
                f"{' or '.join(sorted(issuer.required_algorithms))}, not {key.key.alg}",
                reason="algorithm",
                kid=kid,
                alg=key.key.alg,
            )
        if not key.covers(at):
            raise IssuerNotAllowed(
                "the licence was issued outside the key's validity window",
                reason="window",
                kid=kid,
            )

    def is_stale(self, at: datetime) -> bool:
        """Whether the list is past ``expires_at`` at ``at``."""
        return require_aware(at) >= self.expires_at

    def to_json(self) -> dict[str, Any]:
        """The ``trust_list`` member of the signed document."""
        return {
            "sequence": self.sequence,
            "issued_at": format_time(self.issued_at),
            "expires_at": format_time(self.expires_at),
            "issuers": [i.to_json() for i in self.issuers],
        }

    @classmethod
    def from_json(cls, body: object) -> TrustList:
        """Parse a ``trust_list`` member strictly (no signature check).

        Raises:
            TrustListInvalid: anything is off (``reason`` in the context).
        """
        err = TrustListInvalid
        obj = members(
            body, {"sequence", "issued_at", "expires_at", "issuers"}, set(), err, "trust_list"
        )
        issuers_json = obj["issuers"]
        if not isinstance(issuers_json, list) or len(issuers_json) > _MAX_ISSUERS:
            raise err("issuers must be an array", reason="layout", member="issuers")
        try:
            issuers = tuple(_issuer_from_json(i) for i in issuers_json)
            return cls(
                issuers,
                json_int(obj["sequence"], err, "sequence", _MAX_SEQUENCE),
                parse_time(obj["issued_at"], err, "issued_at"),
                parse_time(obj["expires_at"], err, "expires_at"),
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


def _issuer_from_json(obj: object) -> TrustedIssuer:
    err = TrustListInvalid
    issuer = members(obj, {"name", "uscc", "keys"}, {"required_algorithms"}, err, "issuer")
    keys_json = issuer["keys"]
    if not isinstance(keys_json, list) or len(keys_json) > _MAX_KEYS_PER_ISSUER:
        raise err("keys must be an array", reason="layout", member="keys")
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
    return TrustedIssuer(
        Agency(issuer["name"], issuer["uscc"]),
        tuple(_key_from_json(k) for k in keys_json),
        frozenset(required),
    )


def _key_from_json(obj: object) -> TrustedKey:
    err = TrustListInvalid
    entry = members(
        obj,
        {"jwk", "kid", "licence_types", "withdrawn"},
        {"not_before", "not_after"},
        err,
        "key",
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
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> TrustList:
    """Verify a signed trust list with one of ``anchors`` and parse it strictly.

    ``at`` (or ``clock.now()``) is the time the list must be fresh at.

    Raises:
        TrustListInvalid: not signed by an anchor, tampered, or malformed
            (``context["reason"]``: ``type``, ``too_large``, ``json``, ``layout``,
            ``wrong_type``, ``unknown_key``, ``signature``, ``time``, ``jwk``,
            ``kid``, ``content``).
        TrustListStale: the list is past ``expires_at`` and ``allow_stale`` is false.
        NaiveDatetimeError: ``at`` has no timezone.
    """
    keys = check_keys(anchors, "anchors")
    when = resolve_time(clock or SystemClock(), at)
    body, _ = open_envelope(
        data,
        marker=TRUST_LIST_TYPE,
        member="trust_list",
        keys=keys,
        error=TrustListInvalid,
        max_bytes=max_bytes,
    )
    trust_list = TrustList.from_json(body)
    if trust_list.is_stale(when) and not allow_stale:
        raise TrustListStale(
            "the trust list is past its expiry",
            expired=format_time(trust_list.expires_at),
            sequence=trust_list.sequence,
        )
    return trust_list


# --- the source -------------------------------------------------------------------------


class _FetchFailed(Exception):
    """A fetch failed; ``reason`` is a stable word."""

    def __init__(self, reason: str, message: str, **context: Any) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.context = context


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_location(location: object) -> tuple[str | None, Path | None]:
    """``(url, None)`` for an http(s) URL, ``(None, path)`` for a file path."""
    if isinstance(location, Path):
        return None, location
    if not isinstance(location, str) or not location:
        raise ConfigurationError("location must be a file path or an https URL")
    if not location.lower().startswith(("http://", "https://")):
        return None, Path(location)
    if not location.isascii():
        raise ConfigurationError("the URL must be ASCII")
    try:
        parts = urlsplit(location)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        raise ConfigurationError("the URL is malformed") from None
    if not host:
        raise ConfigurationError("the URL has no host")
    if parts.username is not None or parts.password is not None or parts.fragment:
        raise ConfigurationError("the URL must not carry credentials or a fragment")
    if parts.scheme.lower() == "http" and not _is_loopback(host):
        raise ConfigurationError("a list URL must use https (http only for a loopback host)")
    return location, None


def _duration(value: object, name: str, *, zero: bool = False) -> timedelta:
    if not isinstance(value, timedelta) or value < timedelta(0) or (not zero and not value):
        raise ConfigurationError(f"{name} must be a positive timedelta", argument=name)
    return value


class SignedSource(Generic[_T]):
    """A signed list (trust or status) loaded from a file or URL, cached, never rolled back.

    Subclasses say how to parse, and what a document's sequence and expiry are.
    """

    #: Names the document in messages.
    _what: ClassVar[str] = "list"

    def __init__(
        self,
        location: str | Path,
        *,
        clock: Clock | None,
        session: requests.Session | None,
        timeout: float,
        max_bytes: int,
        ttl: timedelta,
        max_stale: timedelta,
        refetch_cooldown: timedelta,
        min_sequence: int,
    ) -> None:
        self._url, self._path = _check_location(location)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
            raise ConfigurationError("timeout must be a number of seconds")
        if not 0 < timeout <= 300:
            raise ConfigurationError("timeout must be between 0 and 300 seconds")
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
            raise ConfigurationError("max_bytes must be a positive integer")
        if isinstance(min_sequence, bool) or not isinstance(min_sequence, int) or min_sequence < 0:
            raise ConfigurationError("min_sequence must be a non-negative integer")
        self._ttl = _duration(ttl, "ttl")
        self._max_stale = _duration(max_stale, "max_stale", zero=True)
        self._cooldown = _duration(refetch_cooldown, "refetch_cooldown", zero=True)
        self._timeout = float(timeout)
        self._max_bytes = max_bytes
        self._clock: Clock = clock or SystemClock()
        self._own_session = session is None and self._url is not None
        self._session = session if session is not None else None
        self._lock = threading.Lock()
        self._current: _T | None = None
        self._current_json: bytes | None = None
        self._fetched_at: datetime | None = None
        self._last_attempt: datetime | None = None
        self._last_failure: _FetchFailed | None = None
        self._min_sequence = min_sequence

    # -- what subclasses provide -------------------------------------------------------

    def _parse(self, data: bytes, now: datetime) -> tuple[_T, bytes]:
        """Verify and parse ``data``; return the document and its canonical body."""
        raise NotImplementedError

    def _sequence(self, document: _T) -> int:
        raise NotImplementedError

    def _expires(self, document: _T) -> datetime:
        raise NotImplementedError

    # -- public --------------------------------------------------------------------------

    @property
    def location(self) -> str:
        """The configured file path or URL (the only one this source reads)."""
        return self._url if self._url is not None else str(self._path)

    @property
    def sequence(self) -> int:
        """The highest sequence accepted so far (persist it and pass it back as
        ``min_sequence`` after a restart)."""
        return self._min_sequence

    def get(self, at: datetime | None = None, *, allow_stale: bool = False) -> _T:
        """The current list, refreshed first when the cache is older than ``ttl``.

        A failed refresh keeps the last good list. ``at`` is the verification time
        the list must be fresh at (default: the clock's now); cache decisions use the
        source's clock.

        Raises:
            TrustListError: no good list has been loaded (``reason`` in the context).
            TrustListStale: the list is past ``expires_at`` at ``at`` and
                ``allow_stale`` is false, or more than ``max_stale`` past it.
            NaiveDatetimeError: ``at`` has no timezone.
        """
        now = resolve_time(self._clock, None)
        when = require_aware(at) if at is not None else now
        with self._lock:
            fetched_at = self._fetched_at
            expired = fetched_at is None or now >= fetched_at + self._ttl or now < fetched_at
            if expired and self._may_fetch(now):
                self._fetch(now)
            document = self._current
            failure = self._last_failure
        if document is None:
            raise self._error(failure or _FetchFailed("cooldown", f"no {self._what} loaded yet"))
        expires = self._expires(document)
        if when >= expires:
            context = {"expired": format_time(expires), "sequence": self._sequence(document)}
            if not allow_stale:
                raise TrustListStale(f"the {self._what} is past its expiry", **context)
            if when >= expires + self._max_stale:
                raise TrustListStale(
                    f"the {self._what} is more than max_stale past its expiry",
                    reason="max_stale",
                    **context,
                )
        return document

    def refresh(self) -> _T:
        """Load the list now, whatever the cache and cooldown say; return it.

        Raises:
            TrustListError: the load failed (the last good list stays in use).
        """
        now = resolve_time(self._clock, None)
        with self._lock:
            failure = self._fetch(now)
            document = self._current
        if failure is not None or document is None:
            raise self._error(failure or _FetchFailed("cooldown", f"no {self._what} loaded"))
        return document

    def close(self) -> None:
        """Close the HTTP session if the source made it."""
        if self._own_session and self._session is not None:
            self._session.close()
            self._session = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.location!r})"

    # -- internals (the lock is held) ------------------------------------------------

    def _may_fetch(self, now: datetime) -> bool:
        last = self._last_attempt
        if self._last_failure is None or last is None:
            return True
        return now >= last + self._cooldown or now < last

    def _fetch(self, now: datetime) -> _FetchFailed | None:
        self._last_attempt = now
        try:
            data = self._read()
            document, canonical = self._wrap_parse(data, now)
            sequence = self._sequence(document)
            if sequence < self._min_sequence:
                raise _FetchFailed(
                    "rollback",
                    f"the {self._what}'s sequence is lower than one already accepted",
                    sequence=sequence,
                    accepted=self._min_sequence,
                )
            if (
                self._current is not None
                and sequence == self._sequence(self._current)
                and canonical != self._current_json
            ):
                raise _FetchFailed(
                    "equivocation",
                    f"a different {self._what} has the sequence already accepted",
                    sequence=sequence,
                )
        except _FetchFailed as failure:
            self._last_failure = failure
            return failure
        self._current, self._current_json = document, canonical
        self._min_sequence = sequence
        self._fetched_at = now
        self._last_failure = None
        return None

    def _wrap_parse(self, data: bytes, now: datetime) -> tuple[_T, bytes]:
        try:
            return self._parse(data, now)
        except GovkitError as exc:
            raise _FetchFailed(
                "invalid", f"the {self._what} does not verify: {exc.message}", cause=exc.code
            ) from None

    def _read(self) -> bytes:
        if self._path is not None:
            try:
                with self._path.open("rb") as handle:
                    data = handle.read(self._max_bytes + 1)
            except OSError as exc:
                raise _FetchFailed(
                    "io", f"the {self._what} file could not be read ({type(exc).__name__})"
                ) from None
            if len(data) > self._max_bytes:
                raise _FetchFailed(
                    "too_large", f"the {self._what} is larger than {self._max_bytes} bytes"
                )
            return data
        return self._download()

    def _download(self) -> bytes:
        assert self._url is not None  # noqa: S101 - _read checked the path first
        if self._session is None:
            self._session = requests.Session()
        deadline = time.monotonic() + self._timeout
        what = self._what
        try:
            response = self._session.get(
                self._url,
                headers={"Accept": "application/json"},
                timeout=self._timeout,
                allow_redirects=False,
                stream=True,
            )
        except requests.Timeout:
            raise _FetchFailed("timeout", f"the {what} request timed out") from None
        except requests.RequestException as exc:
            raise _FetchFailed(
                "network", f"the {what} request failed ({type(exc).__name__})"
            ) from None
        with response:
            status = response.status_code
            if 300 <= status < 400:
                raise _FetchFailed("redirect", f"the {what} URL redirected; refused", status=status)
            if status != 200:
                raise _FetchFailed(
                    "http_status", f"the {what} URL answered HTTP {status}", status=status
                )
            length = response.headers.get("Content-Length", "").strip()
            if length.isdigit() and int(length) > self._max_bytes:
                raise _FetchFailed(
                    "too_large", f"the {what} is larger than {self._max_bytes} bytes"
                )
            body = bytearray()
            try:
                for chunk in response.iter_content(_CHUNK):
                    body += chunk
                    if len(body) > self._max_bytes:
                        raise _FetchFailed(
                            "too_large", f"the {what} is larger than {self._max_bytes} bytes"
                        )
                    if time.monotonic() > deadline:
                        raise _FetchFailed("timeout", f"the {what} body took too long")
            except requests.Timeout:
                raise _FetchFailed("timeout", f"the {what} response timed out") from None
            except requests.RequestException as exc:
                raise _FetchFailed(
                    "network", f"reading the {what} failed ({type(exc).__name__})"
                ) from None
        return bytes(body)

    def _error(self, failure: _FetchFailed) -> TrustListError:
        return TrustListError(
            f"{self._what} unavailable: {failure.message}",
            reason=failure.reason,
            location=self.location,
            **failure.context,
        )


class TrustListSource(SignedSource[TrustList]):
    """A signed trust list from a file path or an https URL, cached and never rolled back.

    Args:
        location: a file path (``str`` or :class:`~pathlib.Path`) or an ``https``
            URL (``http`` only for loopback hosts). Redirects are refused.
        anchors: the trust anchors' public keys; the list must be signed by one.
        clock: the time source (default :class:`~govkit.clock.SystemClock`).
        session: a :class:`requests.Session` for URLs (proxies, CA bundle); by
            default the source makes one and :meth:`close` closes it.
        timeout: seconds for the connection, each read, and the whole body.
        max_bytes: the largest document accepted.
        ttl: how long a loaded list is used before the source reloads it.
        max_stale: how long past ``expires_at`` a caller passing
            ``allow_stale=True`` still gets the list.
        refetch_cooldown: after a failed load, the least time before the next try.
        min_sequence: refuse lists with a lower sequence (persist :attr:`sequence`
            across restarts for rollback protection that survives them).

    Behaviour: the list is loaded on the first :meth:`get` and again when older
    than ``ttl``. A load that fails (I/O, HTTP, size, signature, parse, a lower
    sequence than already accepted (``rollback``), or a different list with the
    same sequence (``equivocation``)) keeps the last good list; with no good list
    :meth:`get` raises :class:`~govkit.errors.TrustListError` whose ``reason`` says
    why. Lists are verified with ``allow_stale=True`` when loaded; staleness is
    judged by :meth:`get` at the verification time. Errors never quote a body.
    """

    _what = "trust list"

    def __init__(
        self,
        location: str | Path,
        anchors: Sequence[VerifyingKey],
        *,
        clock: Clock | None = None,
        session: requests.Session | None = None,
        timeout: float = 5.0,
        max_bytes: int = DEFAULT_MAX_BYTES,
        ttl: timedelta = timedelta(hours=1),
        max_stale: timedelta = timedelta(days=7),
        refetch_cooldown: timedelta = timedelta(seconds=30),
        min_sequence: int = 0,
    ) -> None:
        self._anchors = check_keys(anchors, "anchors")
        super().__init__(
            location,
            clock=clock,
            session=session,
            timeout=timeout,
            max_bytes=max_bytes,
            ttl=ttl,
            max_stale=max_stale,
            refetch_cooldown=refetch_cooldown,
            min_sequence=min_sequence,
        )

    def _parse(self, data: bytes, now: datetime) -> tuple[TrustList, bytes]:
        trust_list = load_trust_list(
            data, self._anchors, at=now, allow_stale=True, max_bytes=self._max_bytes
        )
        return trust_list, canonical_json(trust_list.to_json())

    def _sequence(self, document: TrustList) -> int:
        return document.sequence

    def _expires(self, document: TrustList) -> datetime:
        return document.expires_at
