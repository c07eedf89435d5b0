"""Detached signatures for any file: JWS with a detached, unencoded payload (RFC 7797).

A signature file is the JWS General JSON Serialization without its payload::

    {"signatures": [{"protected": "<base64url header>", "signature": "<base64url>"}, ...]}

The payload is the file's SHA-256 digest (32 octets, ``b64: false``); each protected
header carries ``alg``, ``kid``, ``typ`` (``govkit-sig+jws``, the purpose binding),
``purpose``, ``role`` (``sign``, ``countersign`` or ``approve``), ``iat`` (the signing
time), ``sha256`` (the digest again, so a wrong file is told from a forged signature)
and, after the first, ``prev``: the SHA-256 of the previous signature's protected header
and value, which chains each party's signature to the ones before it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from govkit._encoding import b64url_decode, b64url_encode
from govkit._json import loads_object
from govkit.clock import Clock, SystemClock, resolve_time
from govkit.errors import (
    ConfigurationError,
    DocumentDigestMismatch,
    DocumentSignatureInvalid,
    EncodingError,
    EsignVerificationError,
    GovkitError,
    SignatureChainBroken,
    SignatureFormatError,
    SignerUntrusted,
    WrongSignaturePurpose,
)
from govkit.keys import KeyRing, Signer, VerifyingKey
from govkit.report import Check, Report

__all__ = [
    "DETACHED_TYP",
    "ROLES",
    "DetachedSignature",
    "DetachedSignatureReport",
    "inspect_detached",
    "sign_detached",
    "verify_detached",
]

#: The ``typ`` of every govkit detached signature (its purpose binding).
DETACHED_TYP: Final = "govkit-sig+jws"
#: The roles of a multi-party chain, in the order they may follow each other.
ROLES: Final[tuple[str, ...]] = ("sign", "countersign", "approve")
MAX_SIGNATURE_FILE: Final = 1 << 20
MAX_PARTIES: Final = 64
_HEADER_KEYS: Final = frozenset(
    {"alg", "kid", "typ", "b64", "crit", "purpose", "role", "iat", "sha256", "prev"}
)


@dataclass(frozen=True)
class DetachedSignature:
    """One verified party of a detached signature chain."""

    index: int
    role: str
    purpose: str
    kid: str
    alg: str
    signed_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "index": self.index,
            "role": self.role,
            "purpose": self.purpose,
            "kid": self.kid,
            "alg": self.alg,
            "signed_at": self.signed_at.isoformat(),
        }


def _digest(data: bytes) -> bytes:
    if not isinstance(data, bytes):
        raise ConfigurationError("the data to sign or verify must be bytes")
    return hashlib.sha256(data).digest()


def _link(entry: Mapping[str, str]) -> str:
    return b64url_encode(
        hashlib.sha256(f"{entry['protected']}.{entry['signature']}".encode("ascii")).digest()
    )


def _parse(signature: bytes | str) -> list[dict[str, str]]:
    raw = signature.encode("utf-8") if isinstance(signature, str) else signature
    if not isinstance(raw, bytes) or len(raw) > MAX_SIGNATURE_FILE:
        raise SignatureFormatError("a signature file is JSON of at most 1 MiB")
    # Strict JSON (RFC 7515 section 4 lets a parser keep the last of repeated member
    # names; govkit refuses them, and NaN, Infinity and fractions, which no member has).
    document = loads_object(raw, what="the signature file", error=SignatureFormatError)
    entries = document.get("signatures")
    if not isinstance(entries, list) or not 0 < len(entries) <= MAX_PARTIES:
        raise SignatureFormatError("the signature file has no 'signatures' list")
    if "payload" in document:
        raise SignatureFormatError("a detached signature file carries no payload")
    parsed = []
    for entry in entries:
        if (
            not isinstance(entry, dict)
            or set(entry) != {"protected", "signature"}
            or not all(isinstance(v, str) for v in entry.values())
        ):
            raise SignatureFormatError("each signature has exactly 'protected' and 'signature'")
        parsed.append(entry)
    return parsed


def sign_detached(
    data: bytes,
    signer: Signer,
    *,
    purpose: str,
    role: str = "sign",
    previous: bytes | str | None = None,
    clock: Clock | None = None,
) -> bytes:
    """Sign ``data`` (its SHA-256) and return the signature file (JSON bytes).

    ``previous`` is an existing signature file of the same data: the new signature is
    appended and chained to its last entry (countersigning, approving). The first
    signature of a chain has role ``sign``; roles never go back in :data:`ROLES` order.

    Raises:
        ConfigurationError: bad ``purpose`` or ``role``, or a role out of order.
        SignatureFormatError: ``previous`` is not a signature file.
        DocumentDigestMismatch: ``previous`` signs other data.
    """
    if not isinstance(signer, Signer):
        raise ConfigurationError("signer must be a Signer (for example a SigningKey)")
    if not isinstance(purpose, str) or not 0 < len(purpose) <= 128 or not purpose.isprintable():
        raise ConfigurationError("purpose must be 1-128 printable characters")
    if role not in ROLES:
        raise ConfigurationError(f"role must be one of {', '.join(ROLES)}")
    digest = _digest(data)
    entries = _parse(previous) if previous is not None else []
    header: dict[str, Any] = {
        "alg": signer.alg,
        "kid": signer.kid,
        "typ": DETACHED_TYP,
        "b64": False,
        "crit": ["b64"],
        "purpose": purpose,
        "role": role,
        "iat": int((clock or SystemClock()).now().timestamp()),
        "sha256": b64url_encode(digest),
    }
    if entries:
        last = _header(entries[-1])
        if last.get("sha256") != header["sha256"]:
            raise DocumentDigestMismatch("the previous signatures are over other data")
        if ROLES.index(role) < ROLES.index(str(last.get("role"))):
            raise ConfigurationError(f"a {role} cannot follow a {last.get('role')}")
        header["prev"] = _link(entries[-1])
    elif role != "sign":
        raise ConfigurationError("the first signature of a chain has role 'sign'")
    protected = b64url_encode(json.dumps(header, separators=(",", ":"), sort_keys=True).encode())
    signature = signer.sign(protected.encode("ascii") + b"." + digest)
    entries.append({"protected": protected, "signature": b64url_encode(signature)})
    return json.dumps({"signatures": entries}, indent=1, sort_keys=True).encode() + b"\n"


def _header(entry: Mapping[str, str]) -> dict[str, Any]:
    try:
        raw = b64url_decode(entry["protected"], what="protected header")
    except EncodingError:
        raise SignatureFormatError("a protected header is not base64url") from None
    return loads_object(raw, what="a protected header", error=SignatureFormatError)


def _key_for(keys: KeyRing | Mapping[str, VerifyingKey], kid: str, at: datetime) -> VerifyingKey:
    try:
        if isinstance(keys, KeyRing):
            return keys.get(kid, at=at)
        return keys[kid]
    except (GovkitError, KeyError):
        raise SignerUntrusted("no trusted key has the signature's kid", kid=kid[:64]) from None


def verify_detached(
    data: bytes,
    signature: bytes | str,
    keys: KeyRing | Iterable[VerifyingKey],
    *,
    purpose: str | None = None,
    roles: Iterable[str] | None = None,
    at: datetime | None = None,
    clock: Clock | None = None,
) -> tuple[DetachedSignature, ...]:
    """Verify every signature of a detached signature file over ``data``, in order.

    Args:
        keys: the trusted keys (a :class:`~govkit.keys.KeyRing` checks each key's
            validity at the signing time).
        purpose: when given, every signature must be for this purpose.
        roles: when given, the chain's roles must be exactly these, in this order
            (for example ``("sign", "countersign", "approve")``).
        at: verification time (default: the clock's now); signatures dated after it
            are refused.

    Raises:
        SignatureFormatError: the file or a header is malformed.
        WrongSignaturePurpose: not a govkit detached signature, or another purpose.
        DocumentDigestMismatch: the signatures are over other data.
        SignerUntrusted: a kid is not among ``keys``.
        DocumentSignatureInvalid: a signature value does not verify.
        SignatureChainBroken: roles out of order, a ``prev`` link that does not match,
            times going backwards, or not the required ``roles``.
    """
    when = resolve_time(clock or SystemClock(), at)
    return _verify(
        data, signature, keys, purpose=purpose, roles=roles, when=when, steps=_Steps(None)
    )


def inspect_detached(
    data: bytes,
    signature: bytes | str,
    keys: KeyRing | Iterable[VerifyingKey],
    *,
    purpose: str | None = None,
    roles: Iterable[str] | None = None,
    at: datetime | None = None,
    clock: Clock | None = None,
) -> DetachedSignatureReport:
    """Run :func:`verify_detached`'s checks and return a report instead of raising.

    The checks: ``format`` (the signature file), then for each party ``N`` (from 1)
    ``partyN.header``, ``partyN.purpose`` (not performed without ``purpose``),
    ``partyN.digest`` (over ``data``), ``partyN.signature`` (a trusted key verifies it)
    and ``partyN.chain`` (the link to the party before, roles in order, times going
    forward), and last ``roles`` (not performed without ``roles``). Checks stop at the
    first failure. Only an :class:`~govkit.errors.EsignVerificationError` becomes a
    failed check.

    >>> from govkit.keys import SigningKey
    >>> key = SigningKey.generate("EdDSA")
    >>> sig = sign_detached(b"letter", key, purpose="official-letter")
    >>> report = inspect_detached(b"letter", sig, [key.verifying_key])
    >>> report.valid, report.skipped
    (True, ('party1.purpose', 'roles'))
    >>> inspect_detached(b"another letter", sig, [key.verifying_key]).code
    'esign.digest_mismatch'

    Raises:
        ConfigurationError: ``data`` is not bytes.
        NaiveDatetimeError: ``at`` or the clock's time is naive.
    """
    when = resolve_time(clock or SystemClock(), at)
    checks: list[Check] = []
    steps = _Steps(checks)
    try:
        parties = _verify(
            data, signature, keys, purpose=purpose, roles=roles, when=when, steps=steps
        )
    except EsignVerificationError as exc:
        checks.append(Check.from_error(steps.name, exc))
        return DetachedSignatureReport(tuple(checks), None)
    return DetachedSignatureReport(tuple(checks), parties)


@dataclass(frozen=True)
class DetachedSignatureReport(Report):
    """What :func:`inspect_detached` found: the checks, and the parties when valid.

    JSON (:meth:`~govkit.report.Report.to_dict`): ``valid``, ``kind`` (``detached``),
    ``code``, ``checks``, then ``signatures``: each party
    (:meth:`DetachedSignature.to_dict`) when the chain verified, else ``null``.
    """

    checks: tuple[Check, ...]
    signatures: tuple[DetachedSignature, ...] | None = None
    kind: str = field(default="detached", init=False)

    def json_members(self) -> dict[str, Any]:
        """``signatures``: the verified parties, or ``None``."""
        parties = self.signatures
        return {"signatures": None if parties is None else [p.to_dict() for p in parties]}

    def summary(self) -> tuple[str, ...]:
        """One line per verified party: role, purpose, key id and signing time."""
        return tuple(
            f"{p.index + 1}. {p.role:<11} {p.purpose}  kid={p.kid}  {p.signed_at.isoformat()}"
            for p in self.signatures or ()
        )


class _Steps:
    """Names the check being made and records the ones made (for :func:`inspect_detached`)."""

    __slots__ = ("_record", "name")

    def __init__(self, record: list[Check] | None) -> None:
        self._record = record
        self.name = "format"

    def passed(self, key: str, /, **values: object) -> None:
        """Record the current check as passed; its detail is the catalogue message
        ``key`` (:data:`govkit._messages.DETAILS`) filled with ``values``."""
        if self._record is not None:
            self._record.append(Check.described(self.name, True, key, **values))

    def skipped(self, key: str, /, **values: object) -> None:
        """Record the current check as not performed (never a pass)."""
        if self._record is not None:
            self._record.append(Check.described(self.name, None, key, **values))


def _party_header(
    index: int, entry: Mapping[str, str]
) -> tuple[dict[str, Any], str, str, str, int, str]:
    """A party's protected header, checked: (header, kid, alg, role, iat, purpose)."""
    header = _header(entry)
    if header.get("typ") != DETACHED_TYP:
        raise WrongSignaturePurpose("not a govkit detached signature", index=index)
    if (
        set(header) - _HEADER_KEYS
        or header.get("b64") is not False
        or header.get("crit") != ["b64"]
    ):
        raise SignatureFormatError("unexpected header members", index=index)
    kid, alg, role, iat = (header.get(k) for k in ("kid", "alg", "role", "iat"))
    text_purpose = header.get("purpose")
    if not (
        isinstance(kid, str)
        and isinstance(alg, str)
        and isinstance(text_purpose, str)
        and role in ROLES
        and isinstance(iat, int)
        and not isinstance(iat, bool)
        and 0 <= iat < 253402300800
    ):
        raise SignatureFormatError("a header lacks kid, alg, purpose, role or iat", index=index)
    return header, kid, alg, str(role), iat, text_purpose


def _verify(
    data: bytes,
    signature: bytes | str,
    keys: KeyRing | Iterable[VerifyingKey],
    *,
    purpose: str | None,
    roles: Iterable[str] | None,
    when: datetime,
    steps: _Steps,
) -> tuple[DetachedSignature, ...]:
    digest = _digest(data)
    entries = _parse(signature)
    steps.passed("detached.file", count=len(entries))
    trusted: KeyRing | Mapping[str, VerifyingKey] = (
        keys if isinstance(keys, KeyRing) else {k.kid: k for k in keys}
    )
    result: list[DetachedSignature] = []
    previous_time = 0
    for index, entry in enumerate(entries):
        party = f"party{index + 1}"
        steps.name = f"{party}.header"
        header, kid, alg, role, iat, text_purpose = _party_header(index, entry)
        steps.passed("detached.header", role=role)
        steps.name = f"{party}.purpose"
        _check_purpose(index, text_purpose, purpose, steps)
        steps.name = f"{party}.digest"
        if header.get("sha256") != b64url_encode(digest):
            raise DocumentDigestMismatch("the signature is over other data", index=index)
        steps.passed("detached.digest")
        steps.name = f"{party}.signature"
        signed_at = datetime.fromtimestamp(iat, UTC)
        key = _key_for(trusted, kid, signed_at)
        if key.alg != alg:
            raise DocumentSignatureInvalid("the header's alg does not match the key", index=index)
        try:
            value = b64url_decode(entry["signature"], what="signature")
            key.verify(value, entry["protected"].encode("ascii") + b"." + digest)
        except (GovkitError, UnicodeEncodeError):
            raise DocumentSignatureInvalid("a signature does not verify", index=index) from None
        steps.passed("detached.signature", kid=kid, alg=alg)
        steps.name = f"{party}.chain"
        if index == 0:
            if role != "sign" or "prev" in header:
                raise SignatureChainBroken("a chain starts with a 'sign' signature", index=0)
        else:
            if header.get("prev") != _link(entries[index - 1]):
                raise SignatureChainBroken("a link does not match its predecessor", index=index)
            if ROLES.index(role) < ROLES.index(result[-1].role):
                raise SignatureChainBroken("roles are out of order", index=index)
        if iat < previous_time or signed_at > when:
            raise SignatureChainBroken("signing times go backwards or lie ahead", index=index)
        steps.passed("detached.chain_start" if index == 0 else "detached.chain_follows")
        previous_time = iat
        result.append(DetachedSignature(index, role, text_purpose, kid, alg, signed_at))
    steps.name = "roles"
    if roles is None:
        steps.skipped("detached.no_roles")
    elif tuple(r.role for r in result) != tuple(roles):
        raise SignatureChainBroken("the chain does not have the required roles")
    else:
        steps.passed("detached.roles")
    return tuple(result)


def _check_purpose(index: int, stated: str, required: str | None, steps: _Steps) -> None:
    """The purpose a party signed for is the required one (when one is required)."""
    if required is None:
        steps.skipped("detached.no_purpose")
    elif stated != required:
        raise WrongSignaturePurpose("the signature is for another purpose", index=index)
    else:
        steps.passed("detached.purpose")
