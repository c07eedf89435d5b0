"""The verifier's side of presentations: profiles, the checks in order, the verdict.

The verifier checks the issuer's signature, that every disclosure hashes to the signed
digest at its index, the device signature, the time window and replays, and the verifier
profile's policy (:class:`VerifierProfile`, :data:`PROFILES`). :class:`PresentationRun`
runs those checks for :class:`~govkit.certificates.CertificateVerifier`; a presentation
that passes them all is a :class:`VerifiedPresentation`, and ``inspect_presentation``
reports them in a :class:`PresentationReport`.

The selective licence and its Merkle tree are in ``_selective``, the predicates in
``_predicates``, the holder's device and the ``GKP1:`` wire format in ``_holder``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, Final

import cbor2

from govkit._encoding import b45decode
from govkit.certificates import codec
from govkit.certificates._holder import PRESENTATION_PREFIX, _to_sign
from govkit.certificates._identifier import parse_licence_id
from govkit.certificates._model import LicenceRegistry, LicenceType
from govkit.certificates._predicates import disclosable_items
from govkit.certificates._report import (
    STATUS_NOT_CHECKED,
    CertificateCheck,
    ChecksVerdict,
    Trace,
)
from govkit.certificates._selective import (
    _LAST_SECOND,
    _MAX_DEPTH,
    _PREDICATE_NAMES,
    _check_value,
    _disclosure_of,
    _fixed_claims,
    _format,
    _leaf,
    _parse_selective,
    _root_from_proof,
    _Selective,
)
from govkit.certificates._status import Status
from govkit.certificates._trust import TrustedIssuer, TrustedKey, TrustList
from govkit.certificates.codec import _read_bstr, _read_text, _read_uint
from govkit.certificates.qr import read_qr
from govkit.errors import (
    CertificateKeyUnknown,
    ConfigurationError,
    DisclosureInvalid,
    EncodingError,
    HolderBindingInvalid,
    InvalidSignature,
    PresentationIncomplete,
    PresentationOverDisclosed,
    PresentationReplayed,
    PresentationStale,
)
from govkit.keys import VerifyingKey
from govkit.stores import ReplayStore

__all__ = [
    "DEFAULT_WINDOW",
    "PROFILES",
    "PresentationReport",
    "VerifiedPresentation",
    "VerifierProfile",
]

#: How long a time-bound presentation stays acceptable by default.
DEFAULT_WINDOW: Final = timedelta(seconds=60)
#: How far a presentation's time may be ahead of the verifier's clock.
_MAX_SKEW: Final = timedelta(seconds=10)
_ONE_MICROSECOND: Final = timedelta(microseconds=1)
_MAX_TEXT: Final = 8192
_IMAGE_MAGIC: Final = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")
#: The most licence types a verifier remembers the disclosable items of.
_MAX_KINDS: Final = 64
PRESENTATION_CHECKS: Final = (
    "input",
    "format",
    "trust",
    "signature",
    "issuer",
    "validity",
    "status",
    "holder_binding",
    "freshness",
    "disclosures",
    "profile",
)


# --- verifier profiles -------------------------------------------------------------------


@dataclass(frozen=True)
class VerifierProfile:
    """A named disclosure policy: what a kind of check must see and may see.

    Attributes:
        name: the profile name (``traffic-police``).
        description: one line for people.
        licence_types: the licence types the check accepts.
        required: items every presentation must disclose.
        allowed: items a presentation may disclose (includes ``required``); anything
            more is over-disclosure, refused with
            :class:`~govkit.errors.PresentationOverDisclosed`.
    """

    name: str
    description: str
    licence_types: frozenset[str]
    required: frozenset[str]
    allowed: frozenset[str]

    def __post_init__(self) -> None:
        if not self.required <= self.allowed:
            raise ConfigurationError("a profile's required items must be allowed")


#: The standard verifier profiles.
PROFILES: Final[Mapping[str, VerifierProfile]] = MappingProxyType(
    {
        "traffic-police": VerifierProfile(
            "traffic-police",
            "roadside check: who drives, what they may drive, the face to compare",
            frozenset({"driving-licence"}),
            frozenset({"name", "licence_class", "photo_digest"}),
            frozenset(
                {
                    "name",
                    "licence_class",
                    "photo_digest",
                    "licence_class_includes_C1",
                }
            ),
        ),
        "hotel-check-in": VerifierProfile(
            "hotel-check-in",
            "real-name registration at a hotel: name and ID number",
            frozenset({"resident-id-card"}),
            frozenset({"name", "holder"}),
            frozenset({"name", "holder", "sex"}),
        ),
        "age-check": VerifierProfile(
            "age-check",
            "proof of age only: nothing but the issuer's yes",
            frozenset({"resident-id-card", "passport"}),
            frozenset({"age_over_18"}),
            frozenset({"age_over_18"}),
        ),
    }
)


# --- replays -------------------------------------------------------------------------------


# Replay keys of presentations start with this, so one store can serve DPoP proofs too.
_REPLAY_PREFIX: Final = "presentation:"


def _replay_expiry(presented_at: datetime, when: datetime, window: timedelta) -> datetime:
    """Until when a presentation's replay entry must last.

    A time-bound presentation is accepted up to and including ``presented_at +
    window`` (by any verifier, whatever its clock), and an entry counts as absent from
    its expiry on, so the entry lasts one microsecond (the stores' resolution) longer.
    A presentation seen after its time, or a nonce-bound one, is remembered for
    ``window`` after this verification. An expiry past the last ``datetime`` (a
    nonce-bound presentation dated in the year 9999) is that last instant.
    """
    try:
        return max(presented_at, when) + window + _ONE_MICROSECOND
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC)


# --- the verifier's side ------------------------------------------------------------------


@dataclass(frozen=True)
class VerifiedPresentation:
    """A presentation that passed every check: only what the holder chose to reveal.

    Attributes:
        licence_type: the licence type name.
        issuer: the trusted issuer that signed the licence.
        key: its key that signed.
        valid_from: the first instant of validity (UTC).
        valid_until: the instant validity ends (exclusive; for a licence valid by days,
            00:00 China Standard Time after its last day).
        status: the status list's verdict, or ``None`` only under ``unsafe_skip_status``
            (revocation was not checked).
        disclosed: revealed items other than predicates (``id``, ``holder``, fields).
        predicates: revealed predicates and their values.
        presented_at: the time the device signed.
        checked_at: the verification time.
        device_kid: the RFC 7638 thumbprint of the device key.
        profile: the verifier profile applied, if any.
        nonce_bound: whether the presentation answered the verifier's nonce.
    """

    licence_type: str
    issuer: TrustedIssuer
    key: TrustedKey
    valid_from: datetime
    valid_until: datetime
    status: Status | None
    disclosed: Mapping[str, Any]
    predicates: Mapping[str, bool]
    presented_at: datetime
    checked_at: datetime
    device_kid: str
    profile: str | None
    nonce_bound: bool


@dataclass(frozen=True)
class PresentationReport(ChecksVerdict):
    """Every check of one presentation, and the result when all passed.

    JSON (:meth:`~govkit.report.Report.to_dict`): ``valid``, ``kind``
    (``presentation``), ``code``, ``checks`` and ``presentation`` (only what the
    holder disclosed; ``null`` unless valid).
    """

    checks: tuple[CertificateCheck, ...]
    presentation: VerifiedPresentation | None
    kind: str = "presentation"

    def json_members(self) -> dict[str, Any]:
        """``presentation``: what was disclosed, or ``None``."""
        found = self.presentation
        return {
            "presentation": None
            if found is None
            else {
                "type": found.licence_type,
                "issuer": {"name": found.issuer.agency.name, "uscc": found.issuer.agency.uscc},
                "disclosed": dict(found.disclosed),
                "predicates": dict(found.predicates),
                "valid_from": found.valid_from.isoformat(),
                "valid_until": found.valid_until.isoformat(),
                "status": None if found.status is None else found.status.name.lower(),
                "presented_at": found.presented_at.isoformat(),
                "profile": found.profile,
                "nonce_bound": found.nonce_bound,
            }
        }

    def summary(self) -> tuple[str, ...]:
        """What the holder chose to reveal, with Chinese and English labels."""
        found = self.presentation
        if found is None:
            return ()
        registry = LicenceRegistry.default()
        labels = {"id": "证照编号 Licence id", "holder": "持证人 Holder"}
        title = found.licence_type
        if found.licence_type in registry:
            kind = registry.get(found.licence_type)
            title = f"{kind.zh} {kind.en}"
            labels |= {spec.name: f"{spec.zh} {spec.en}" for spec in kind.fields}
        lines = [
            title,
            f"颁发机构 Issuer: {found.issuer.agency.name} ({found.issuer.agency.uscc})",
        ]
        lines += [f"{labels.get(name, name)}: {value}" for name, value in found.disclosed.items()]
        lines += [f"{name}: {'yes' if yes else 'no'}" for name, yes in found.predicates.items()]
        lines.append(
            f"有效期 Valid: {found.valid_from.isoformat()} – {found.valid_until.isoformat()}"
        )
        lines.append("(nothing else was disclosed)")
        if "status" in self.skipped:
            lines.append(STATUS_NOT_CHECKED)
        return tuple(lines)


class PresentationRun:
    """The checks of one presentation (used by :class:`CertificateVerifier`)."""

    def __init__(
        self,
        *,
        registry: LicenceRegistry,
        current_trust: Callable[[datetime], TrustList],
        status_of: Callable[[int | None, TrustedIssuer, datetime], Status | None],
        replay: ReplayStore,
        memo: codec._CodecMemo | None = None,
    ) -> None:
        self._registry = registry
        self._current_trust = current_trust
        self._status_of = status_of
        self._replay = replay
        # id(licence type) -> (the type, its disclosable items): each entry holds its
        # type, so the id cannot be another object's while the entry lives
        self._items: dict[int, tuple[LicenceType, tuple[str, ...]]] = {}
        # what decoding remembers: the verifier's memo, or this run's own
        self._memo = codec._CodecMemo() if memo is None else memo

    def _items_of(self, kind: LicenceType) -> tuple[str, ...]:
        """``disclosable_items(kind)``, worked out once per licence type object (a
        frozen type's items never change; the registry holds the same objects), for
        at most :data:`_MAX_KINDS` types."""
        entry = self._items.get(id(kind))
        if entry is not None and entry[0] is kind:
            return entry[1]
        items = disclosable_items(kind)
        if len(self._items) >= _MAX_KINDS:
            self._items.clear()
        self._items[id(kind)] = (kind, items)
        return items

    def run(
        self,
        data: str | bytes,
        when: datetime,
        trace: Trace,
        *,
        profile: VerifierProfile | None,
        nonce: bytes | None,
        window: timedelta,
    ) -> VerifiedPresentation:
        """Every check in order; raises the first failure."""
        text = _text_of(data)
        trace.ok(
            "input",
            "input.picture"
            if isinstance(data, bytes) and data.startswith(_IMAGE_MAGIC)
            else "input.presentation",
        )
        memo = self._memo
        licence_bytes, items, decoded, proof, seconds, device_signature = _parse_presentation(
            text, memo=memo
        )
        message = codec._decode_canonical_cose(licence_bytes, _fixed_claims, memo=memo)
        parsed = _parse_selective(message, self._registry, self._items_of)
        kind_name = parsed.kind.name
        trace.ok("format", "format.presentation", type=kind_name, count=len(items))
        trust = self._current_trust(when)
        trace.ok("trust", "trust.sequence", sequence=trust.sequence)
        kid = message.kid
        if kid is None:
            raise CertificateKeyUnknown("the licence names no key id")
        candidates = trust.candidates(kid)
        if not candidates:
            raise CertificateKeyUnknown("no trusted key has this key id", kid=kid.hex())
        keys = [k.key for _, k in candidates]
        # the first candidate whose key is the one that verified (list.index: ``==``)
        issuer, trusted = candidates[keys.index(codec.verify_signature(message, keys))]
        trace.ok("signature", "signature.issuer", agency=issuer.agency.name)
        issued_at = datetime.fromtimestamp(message.claims[codec.IAT], UTC)
        trust.check_permission(issuer, trusted, kind_name, at=issued_at)
        trace.ok("issuer", "issuer.may_issue", agency=issuer.agency.name, type=kind_name)
        codec.check_times(message.claims, at=when)
        if trace.recording:  # the date's text only shows in a report
            trace.ok("validity", "validity.until_exclusive", until=parsed.valid_until.isoformat())
        status = self._status_of(parsed.status_index, issuer, when)
        if status is None:
            trace.skipped("status", "status.skipped")
        else:
            trace.ok("status", "status.checked")
        signed = _to_sign(licence_bytes, items, proof, seconds, nonce)
        device_key = parsed.device_key
        _check_device(device_key, device_signature, signed, nonce)
        trace.ok("holder_binding", "holder_binding.device", device=device_key.kid[:12])
        presented_at = datetime.fromtimestamp(seconds, UTC)
        if nonce is None and not (when - window <= presented_at <= when + _MAX_SKEW):
            raise PresentationStale(
                "the presentation was made outside the time window",
                window=int(window.total_seconds()),
                age=int((when - presented_at).total_seconds()),
            )
        self._remember(signed, presented_at, when, window)
        if trace.recording:  # the age only shows in a report
            age = int((when - presented_at).total_seconds())
            trace.ok(
                "freshness", "freshness.age" if nonce is None else "freshness.nonce", seconds=age
            )
        disclosed, predicates = _read_disclosures(items, decoded, proof, parsed, issuer)
        trace.ok("disclosures", "disclosures.match", count=len(items))
        if profile is not None:
            _apply_profile(profile, kind_name, disclosed.keys() | predicates.keys())
        name = None if profile is None else profile.name
        trace.ok("profile", "profile.none" if name is None else "profile.fits", profile=name)
        return _verified(
            licence_type=kind_name,
            issuer=issuer,
            key=trusted,
            valid_from=parsed.valid_from,
            valid_until=parsed.valid_until,
            status=status,
            disclosed=MappingProxyType(disclosed),
            predicates=MappingProxyType(predicates),
            presented_at=presented_at,
            checked_at=when,
            device_kid=device_key.kid,
            profile=name,
            nonce_bound=nonce is not None,
        )

    def _remember(
        self, signed: bytes, presented_at: datetime, when: datetime, window: timedelta
    ) -> None:
        """Record the presentation as shown; raise if it already was.

        Remember what was signed, not the signature: an ECDSA signature has a second
        valid encoding, (r, n - s), which would otherwise replay as a "new" one. A store
        that fails (or a memory store that is full) raises: never "not a replay".
        """
        replay_key = _REPLAY_PREFIX + hashlib.sha256(signed).hexdigest()
        expires_at = _replay_expiry(presented_at, when, window)
        if not self._replay.check_and_remember(replay_key, now=when, expires_at=expires_at):
            raise PresentationReplayed("this presentation was already shown")


def _check_device(
    device_key: VerifyingKey, signature: bytes, signed: bytes, nonce: bytes | None
) -> None:
    """The holder binding: the licence's device key signed ``signed``."""
    try:
        device_key.verify(signature, signed)
    except InvalidSignature:
        raise HolderBindingInvalid(
            "the presentation is not signed by the licence's device key"
            + (" over this verifier's nonce" if nonce is not None else "")
        ) from None


def _verified(**fields: Any) -> VerifiedPresentation:
    """``VerifiedPresentation(**fields)`` without the frozen dataclass's
    ``object.__setattr__`` per field (as codec builds a ``CoseMessage``): the same
    object, equal to one built so."""
    found = object.__new__(VerifiedPresentation)
    found.__dict__.update(fields)
    return found


def _read_disclosures(
    items: Sequence[bytes],
    decoded: Sequence[object],
    proof: bytes,
    parsed: _Selective,
    issuer: TrustedIssuer,
) -> tuple[dict[str, Any], dict[str, bool]]:
    """Rebuild the signed root from the disclosures and the proof, then check each value;
    split them into values and predicates.

    ``items`` are the disclosures' canonical bytes and ``decoded`` the same disclosures
    as :func:`_parse_presentation` decoded them (so they are not decoded again).
    """
    names = parsed.items
    leaves: dict[int, bytes] = {}
    values: dict[int, Any] = {}
    for position, item in enumerate(items):
        index, value = _disclosure_of(decoded[position], parsed)
        if values and index <= next(reversed(values)):  # after the one before, if any
            raise DisclosureInvalid("disclosures must be in index order, once each", reason="order")
        leaves[index] = _leaf(item)
        values[index] = value
    if leaves:
        if _root_from_proof(len(names), leaves, proof) != parsed.root:
            raise DisclosureInvalid(
                "the disclosures do not match the licence's signed root", reason="root"
            )
    elif proof:
        raise DisclosureInvalid("a proof without disclosures", reason="proof")
    disclosed: dict[str, Any] = {}
    predicates: dict[str, bool] = {}
    for index, value in values.items():
        name = names[index]
        _check_value(name, value, parsed)
        if name in _PREDICATE_NAMES:
            predicates[name] = value
        else:
            disclosed[name] = value
    if "id" in disclosed and parse_licence_id(disclosed["id"]).issuer_code != issuer.agency.uscc:
        raise DisclosureInvalid("the identifier names another issuer", reason="value")
    return disclosed, predicates


def _apply_profile(profile: VerifierProfile, licence_type: str, shown: set[str]) -> None:
    if licence_type not in profile.licence_types:
        raise PresentationIncomplete(
            f"the {profile.name} profile does not take this licence type",
            profile=profile.name,
            reason="type",
        )
    extra = shown - profile.allowed
    if extra:
        raise PresentationOverDisclosed(
            f"the presentation reveals more than {profile.name} allows",
            profile=profile.name,
            items=",".join(sorted(extra)),
        )
    missing = profile.required - shown
    if missing:
        raise PresentationIncomplete(
            f"the presentation lacks what {profile.name} requires",
            profile=profile.name,
            items=",".join(sorted(missing)),
        )


def _text_of(data: str | bytes) -> str:
    if isinstance(data, bytes):
        if data.startswith(_IMAGE_MAGIC):
            return read_qr(data)
        try:
            return data.decode("ascii").strip()
        except UnicodeDecodeError:
            raise _format("the input is neither a presentation nor a QR picture", "input") from None
    if not isinstance(data, str):
        raise _format("the input must be text or picture bytes", "input")
    return data.strip()


#: What :func:`_parse_presentation` returns.
_Parsed = tuple[bytes, list[bytes], list[Any], bytes, int, bytes]


def _parse_presentation(text: str, *, memo: codec._CodecMemo | None = None) -> _Parsed:
    """``[licence, disclosures, proof, time, signature]``; each disclosure both as its
    canonical bytes (what the leaves and the device signature cover) and decoded
    (``memo``: the caller's memo of the canonical decoder, if any)."""
    if len(text) > _MAX_TEXT:
        raise _format("the presentation text is too long", "input")
    if not text.startswith(PRESENTATION_PREFIX):
        raise _format("a presentation starts with GKP1:", "prefix")
    try:
        raw = b45decode(text[len(PRESENTATION_PREFIX) :])
    except EncodingError:
        raise _format("the presentation is not base45", "base45") from None
    return _fixed_presentation(raw) or _decoded_presentation(raw, memo)


def _decoded_presentation(raw: bytes, memo: codec._CodecMemo | None = None) -> _Parsed:
    """The body of :func:`_parse_presentation`, decoded by the canonical decoder (any
    presentation :func:`_fixed_presentation` does not read, and every malformed one)."""
    body = codec._parse_canonical(raw, max_depth=_MAX_DEPTH, reason="presentation", memo=memo)
    shape = "a presentation is [licence, disclosures, proof, time, signature]"
    if not (isinstance(body, (list, tuple)) and len(body) == 5):
        raise _format(shape)
    licence, items, proof, seconds, signature = body
    if (
        not isinstance(licence, bytes)
        or not isinstance(items, (list, tuple))
        or not isinstance(proof, bytes)
        or isinstance(seconds, bool)
        or not isinstance(seconds, int)
        or not 0 <= seconds <= _LAST_SECOND
        or not isinstance(signature, bytes)
    ):
        raise _format(shape)
    # The body passed the canonical check, so each disclosure's canonical encoding is
    # exactly the bytes it was sent as: those are what the leaves and the device hash.
    disclosures = [cbor2.dumps(item, canonical=True) for item in items]
    return licence, disclosures, list(items), proof, seconds, signature


def _fixed_presentation(raw: bytes) -> _Parsed | None:
    """What :func:`_decoded_presentation` returns for ``raw`` when it is a presentation as
    :class:`~govkit.certificates.HolderDevice` writes it whose disclosed values are all
    text or true/false (what the common checks show), read without cbor2; else ``None``
    (then the canonical decoder and the shape checks decide, as for any other bytes).

    ``[licence, [[salt (16 bytes), index, value], ...], proof, time, signature]``,
    every head in its shortest form, at most 23 disclosures: exactly the canonical CBOR
    of the result, with each disclosure's canonical bytes sliced from ``raw``.
    """
    if raw[:1] != b"\x85":
        return None
    licence = _read_bstr(raw, 1)
    if licence is None:
        return None
    pos = licence[1]
    head = raw[pos : pos + 1]
    if not head or not 0x80 <= head[0] <= 0x97:  # an array of at most 23 disclosures
        return None
    pos += 1
    disclosures: list[bytes] = []
    decoded: list[Any] = []
    for _ in range(head[0] & 0x1F):
        start = pos
        if raw[pos : pos + 2] != b"\x83\x50":  # [salt: 16 bytes, ...
            return None
        pos += 18
        index = _read_uint(raw, pos)
        if index is None:
            return None
        pos = index[1]
        value: Any
        mark = raw[pos : pos + 1]
        if mark in _BOOLEANS:
            value = mark == b"\xf5"
            pos += 1
        else:
            text = _read_text(raw, pos)
            if text is None:
                return None
            value, pos = text
        disclosures.append(raw[start:pos])
        decoded.append([raw[start + 2 : start + 18], index[0], value])
    proof = _read_bstr(raw, pos)
    if proof is None:
        return None
    seconds = _read_uint(raw, proof[1])
    if seconds is None or seconds[0] > _LAST_SECOND:
        return None
    signature = _read_bstr(raw, seconds[1])
    if signature is None or signature[1] != len(raw):
        return None
    return licence[0], disclosures, decoded, proof[0], seconds[0], signature[0]


#: CBOR false and true.
_BOOLEANS: Final = (b"\xf4", b"\xf5")


def resolve_profile(profile: VerifierProfile | str | None) -> VerifierProfile | None:
    """A profile object from a name (``traffic-police``) or a profile."""
    if profile is None or isinstance(profile, VerifierProfile):
        return profile
    found = PROFILES.get(profile) if isinstance(profile, str) else None
    if found is None:
        raise ConfigurationError(
            f"unknown verifier profile; use one of {', '.join(sorted(PROFILES))}"
        )
    return found
