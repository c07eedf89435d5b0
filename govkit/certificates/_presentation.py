"""Selective disclosure and holder-bound, dynamic presentations of licences.

A *selective* licence (a :class:`SelectiveCredential`, text ``GKS1:``) is a COSE_Sign1
CWT like a plain licence, but its signed claims hold, instead of the values, one salted
digest per disclosable item, and the public key of the holder's device. The holder's
app keeps the disclosures (salt, index, value) and shows a :class:`Presentation` (text
``GKP1:``): the signed licence, the disclosures it chooses, the time, and a signature by
the device key over all of them and the verifier's nonce. The verifier checks the issuer's
signature, that every disclosure hashes to the signed digest at its index, the device
signature, the time window and replays, and the verifier profile's policy.

Wire format (all CBOR canonical, RFC 8949 section 4.2.3)::

    credential claims  = {4: exp, 5: nbf, 6: iat, -65538: {
                            "t": type name, "r": Merkle root of the items,
                            "c": raw device public key (32 bytes: Ed25519;
                                 33: compressed P-256 for ES256),
                            "s": status index }}
    disclosure_i       = [salt: bstr .size 16, index: uint, value]
    leaf_i             = SHA-256(0x00 || canonical CBOR of disclosure_i)[:16]
    node               = SHA-256(0x01 || left || right)[:16]
    presentation       = [licence: bstr (COSE_Sign1), disclosures: [* disclosure],
                          proof: bstr (16-byte nodes), t: uint (seconds),
                          device signature: bstr]
    signed by device   = ["GKP1", licence, [* bstr .cbor disclosure], proof, t,
                          nonce or h'']
    text               = "GKP1:" + base45(presentation)

The items, in index order, are the type's fields in schema order (``null`` when
absent), the predicates that apply to the type (:data:`PREDICATES`), then ``id`` (the
licence identifier) and ``holder`` (``[p|m|r, reference]``). The leaves form a perfect
binary tree (padded with ``SHA-256(0x02)[:16]``); a presentation carries the fewest
nodes that, with the disclosed leaves, rebuild the signed root (a compact multiproof,
nodes in the order a bottom-up, left-to-right walk needs them). Every item is a leaf, so
the number of fields a licence has reveals nothing; a Merkle root instead of a digest
per item keeps a three-item presentation inside a QR code of version 15.

Every selective licence carries its status index ``"s"`` (the issuer refuses to issue
without a status list); a verifier that meets one without it reports
``certificate.status_unknown``, since its revocation could never be checked.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType
from typing import Any, Final

import cbor2
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from govkit._encoding import b45decode, b45encode
from govkit.certificates import codec
from govkit.certificates._identifier import parse_licence_id
from govkit.certificates._model import (
    _HOLDER_CODES,
    _HOLDER_KINDS_BY_CODE,
    CHINA_STANDARD_TIME,
    Holder,
    Licence,
    LicenceRegistry,
    LicenceType,
)
from govkit.certificates._report import (
    STATUS_CHECKED,
    STATUS_NOT_CHECKED,
    STATUS_SKIPPED,
    CertificateCheck,
    ChecksVerdict,
    Trace,
)
from govkit.certificates._status import Status
from govkit.certificates._trust import TrustedIssuer, TrustedKey, TrustList
from govkit.certificates.qr import make_qr, read_qr
from govkit.clock import Clock, SystemClock, require_aware
from govkit.errors import (
    CertificateFormatError,
    CertificateKeyUnknown,
    ConfigurationError,
    DisclosureInvalid,
    EncodingError,
    GovkitError,
    HolderBindingInvalid,
    InvalidSignature,
    LicenceDataInvalid,
    PresentationIncomplete,
    PresentationOverDisclosed,
    PresentationReplayed,
    PresentationStale,
)
from govkit.keys import SigningKey, VerifyingKey
from govkit.stores import ReplayStore

__all__ = [
    "CREDENTIAL_PREFIX",
    "DEFAULT_WINDOW",
    "PREDICATES",
    "PRESENTATION_PREFIX",
    "PROFILES",
    "SELECTIVE_CLAIM",
    "HolderDevice",
    "Predicate",
    "Presentation",
    "PresentationReport",
    "SelectiveCredential",
    "VerifiedPresentation",
    "VerifierProfile",
    "disclosable_items",
]

#: Context prefix of a selective licence as the holder's app stores it.
CREDENTIAL_PREFIX: Final = "GKS1:"
#: Context prefix of a presentation (the dynamic QR).
PRESENTATION_PREFIX: Final = "GKP1:"
#: The private-use CWT claim holding the selective licence map.
SELECTIVE_CLAIM: Final = -65538
#: How long a time-bound presentation stays acceptable by default.
DEFAULT_WINDOW: Final = timedelta(seconds=60)
#: How far a presentation's time may be ahead of the verifier's clock.
_MAX_SKEW: Final = timedelta(seconds=10)
_ONE_MICROSECOND: Final = timedelta(microseconds=1)
_DIGEST_SIZE: Final = 16
_EMPTY_LEAF: Final = hashlib.sha256(b"\x02").digest()[:16]
_SALT_SIZE: Final = 16
_CONTEXT: Final = "GKP1"
_MAX_TEXT: Final = 8192
_MAX_DEPTH: Final = 8
_IMAGE_MAGIC: Final = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")
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


# --- predicates ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Predicate:
    """An issuer-signed yes/no statement a holder can show instead of a value.

    Attributes:
        name: the item name (``age_over_18``).
        zh: the Chinese label.
        en: the English label.
        applies: whether a licence type carries this predicate.
        test: the value for one licence, computed by the issuer at issue time.
    """

    name: str
    zh: str
    en: str
    applies: Callable[[LicenceType], bool]
    test: Callable[[Licence], bool]


def _has_field(name: str) -> Callable[[LicenceType], bool]:
    return lambda kind: any(f.name == name for f in kind.fields)


def _age_over(years: int) -> Callable[[Licence], bool]:
    """True when the holder is ``years`` old on the first day of validity (and so on every
    later day of it)."""

    def test(licence: Licence) -> bool:
        birth = licence.fields.get("birth_date")
        if not isinstance(birth, str):
            return False
        born = date.fromisoformat(birth)
        first_day = licence.validity_window()[0].astimezone(CHINA_STANDARD_TIME).date()
        try:
            birthday = born.replace(year=born.year + years)
        except ValueError:  # 29 February: the birthday falls on 1 March
            birthday = date(born.year + years, 3, 1)
        return birthday <= first_day

    return test


#: What each driving-licence class also allows one to drive (准驾车型 and the classes it
#: includes, per the Ministry of Public Security's driving-licence rules, order 162).
_CLASS_INCLUDES: Final = MappingProxyType(
    {
        "A1": frozenset({"A1", "A3", "B1", "B2", "C1", "C2", "C3", "C4", "M"}),
        "A2": frozenset({"A2", "B1", "B2", "C1", "C2", "C3", "C4", "M"}),
        "A3": frozenset({"A3", "C1", "C2", "C3", "C4"}),
        "B1": frozenset({"B1", "C1", "C2", "C3", "C4", "M"}),
        "B2": frozenset({"B2", "C1", "C2", "C3", "C4", "M"}),
        "C1": frozenset({"C1", "C2", "C3", "C4"}),
        "C3": frozenset({"C3", "C4"}),
        "D": frozenset({"D", "E", "F"}),
        "E": frozenset({"E", "F"}),
    }
)


def _class_includes(target: str) -> Callable[[Licence], bool]:
    def test(licence: Licence) -> bool:
        held = licence.fields.get("licence_class")
        if not isinstance(held, str):
            return False
        return target in _CLASS_INCLUDES.get(held, frozenset({held}))

    return test


#: The predicates govkit issuers sign, in item order.
PREDICATES: Final[tuple[Predicate, ...]] = (
    Predicate(
        "age_over_18", "年满18周岁", "Aged 18 or over", _has_field("birth_date"), _age_over(18)
    ),
    Predicate(
        "age_over_60", "年满60周岁", "Aged 60 or over", _has_field("birth_date"), _age_over(60)
    ),
    Predicate(
        "licence_class_includes_C1",
        "准驾C1",
        "May drive class C1",
        _has_field("licence_class"),
        _class_includes("C1"),
    ),
)


def _predicates_for(kind: LicenceType) -> tuple[Predicate, ...]:
    return tuple(p for p in PREDICATES if p.applies(kind))


def disclosable_items(kind: LicenceType) -> tuple[str, ...]:
    """The items of a selective licence of ``kind``, in index order.

    >>> from govkit.certificates import LicenceRegistry
    >>> disclosable_items(LicenceRegistry.default().get("driving-licence"))[:3]
    ('name', 'licence_class', 'photo_digest')
    """
    return (
        *(f.name for f in kind.fields),
        *(p.name for p in _predicates_for(kind)),
        "id",
        "holder",
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
    ``window`` after this verification.
    """
    return max(presented_at, when) + window + _ONE_MICROSECOND


# --- the holder's side --------------------------------------------------------------------


def _device_key_claim(key: VerifyingKey) -> bytes:
    public = key.public_key
    if isinstance(public, ed25519.Ed25519PublicKey):
        return public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    if isinstance(public, ec.EllipticCurvePublicKey) and key.alg == "ES256":
        return public.public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
    raise ConfigurationError("a device key must be EdDSA (Ed25519) or ES256")


def _device_key_from_claim(raw: object) -> VerifyingKey:
    """32 bytes: an Ed25519 key; 33 bytes: a compressed P-256 point (ES256)."""
    try:
        if isinstance(raw, bytes) and len(raw) == 32:
            return VerifyingKey(ed25519.Ed25519PublicKey.from_public_bytes(raw), "EdDSA")
        if isinstance(raw, bytes) and len(raw) == 33:
            point = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
            return VerifyingKey(point, "ES256")
    except (ValueError, GovkitError):
        pass
    raise _format("the device key is not an Ed25519 or compressed P-256 public key")


def _format(message: str, reason: str = "presentation") -> CertificateFormatError:
    return CertificateFormatError(message, reason=reason)


def _item_value(name: str, licence: Licence, kind: LicenceType) -> Any:
    if name == "id":
        return licence.id
    if name == "holder":
        return [_HOLDER_CODES[licence.holder.kind], licence.holder.reference]
    for spec in kind.fields:
        if spec.name == name:
            return licence.fields.get(name)
    return next(p for p in PREDICATES if p.name == name).test(licence)


def _leaf(item: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + item).digest()[:_DIGEST_SIZE]


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()[:_DIGEST_SIZE]


def _width(count: int) -> int:
    width = 1
    while width < count:
        width *= 2
    return width


def _levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """Every level of the padded tree, leaves first, the root last."""
    level = list(leaves) + [_EMPTY_LEAF] * (_width(len(leaves)) - len(leaves))
    levels = [level]
    while len(level) > 1:
        level = [_node(level[i], level[i + 1]) for i in range(0, len(level), 2)]
        levels.append(level)
    return levels


def _multiproof(leaves: Sequence[bytes], indices: Iterable[int]) -> bytes:
    """The nodes needed, beside the leaves at ``indices``, to rebuild the root."""
    known = set(indices)
    proof = bytearray()
    for level in _levels(leaves)[:-1]:
        if not known:
            break
        for i in sorted(known):
            if i ^ 1 not in known:
                proof += level[i ^ 1]
        known = {i >> 1 for i in known}
    return bytes(proof)


def _root_from_proof(count: int, known: Mapping[int, bytes], proof: bytes) -> bytes:
    """Rebuild the root from disclosed leaves and a multiproof; every node must be used."""
    if len(proof) % _DIGEST_SIZE:
        raise DisclosureInvalid("the proof is not whole nodes", reason="proof")
    nodes = [proof[k : k + _DIGEST_SIZE] for k in range(0, len(proof), _DIGEST_SIZE)]
    position = 0
    level = dict(known)
    width = _width(count)
    while width > 1:
        parents: dict[int, bytes] = {}
        for i in sorted(level):
            if i >> 1 in parents:
                continue
            sibling = level.get(i ^ 1)
            if sibling is None:
                if position == len(nodes):
                    raise DisclosureInvalid("the proof is too short", reason="proof")
                sibling = nodes[position]
                position += 1
            left, right = (level[i], sibling) if i % 2 == 0 else (sibling, level[i])
            parents[i >> 1] = _node(left, right)
        level = parents
        width //= 2
    if position != len(nodes):
        raise DisclosureInvalid("the proof has nodes left over", reason="proof")
    return level[0]


def build_selective_claims(
    licence: Licence, kind: LicenceType, device_key: VerifyingKey
) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The selective licence map and the disclosures, one fresh salt per item."""
    disclosures: dict[str, bytes] = {}
    for index, name in enumerate(disclosable_items(kind)):
        value = _item_value(name, licence, kind)
        item = cbor2.dumps([secrets.token_bytes(_SALT_SIZE), index, value], canonical=True)
        disclosures[name] = item
    claims: dict[str, Any] = {
        "t": kind.name,
        "r": _levels([_leaf(d) for d in disclosures.values()])[-1][0],
        "c": _device_key_claim(device_key),
    }
    if licence.status_index is not None:
        claims["s"] = licence.status_index
    return claims, disclosures


@dataclass(frozen=True)
class SelectiveCredential:
    """A selective licence as the holder's app keeps it: the signed licence and every
    disclosure (keep it secret: the disclosures are the licence's data).

    Attributes:
        licence_type: the licence type name.
        signed: the issuer's COSE_Sign1 (canonical CBOR).
        disclosures: item name -> disclosure bytes, for every item.
    """

    licence_type: str
    signed: bytes
    disclosures: Mapping[str, bytes]

    @property
    def items(self) -> tuple[str, ...]:
        """The item names, in index order."""
        return tuple(self.disclosures)

    def values(self) -> dict[str, Any]:
        """Every item's value (what the holder's app shows its owner)."""
        return {name: cbor2.loads(item)[2] for name, item in self.disclosures.items()}

    def device_key(self) -> VerifyingKey:
        """The device public key the licence is bound to."""
        message = codec.decode_cose(self.signed, canonical=True)
        return _device_key_from_claim(message.claims[SELECTIVE_CLAIM]["c"])

    def to_text(self) -> str:
        """``GKS1:`` + base45 of ``[signed, [disclosures in index order]]``."""
        body = cbor2.dumps([self.signed, list(self.disclosures.values())], canonical=True)
        return CREDENTIAL_PREFIX + b45encode(body)

    @classmethod
    def from_text(
        cls, text: str, *, registry: LicenceRegistry | None = None
    ) -> SelectiveCredential:
        """Read :meth:`to_text` output back and check that the disclosures match the
        signed digests (the issuer's signature is the verifier's business).

        Raises:
            CertificateFormatError: the text is not a selective credential.
            DisclosureInvalid: a disclosure does not match its digest.
        """
        registry = registry or LicenceRegistry.default()
        if not isinstance(text, str) or not text.startswith(CREDENTIAL_PREFIX):
            raise _format("a selective credential starts with GKS1:")
        try:
            body = codec._parse_canonical(
                b45decode(text[len(CREDENTIAL_PREFIX) :].strip()), max_depth=4, reason="cbor"
            )
        except EncodingError:
            raise _format("the credential is not base45") from None
        if not (isinstance(body, (list, tuple)) and len(body) == 2):
            raise _format("the credential is not [licence, disclosures]")
        signed, items = body
        if not isinstance(signed, bytes) or not isinstance(items, (list, tuple)):
            raise _format("the credential is not [licence, disclosures]")
        parsed = _parse_selective(codec.decode_cose(signed, canonical=True), registry)
        names = disclosable_items(parsed.kind)
        if len(items) != len(names):
            raise DisclosureInvalid("the credential lacks disclosures", reason="count")
        for position, item in enumerate(items):
            index, value = _read_disclosure(item, parsed)
            if index != position:
                raise DisclosureInvalid("a disclosure is out of order", reason="order")
            _check_value(names[index], value, parsed)
        if _levels([_leaf(item) for item in items])[-1][0] != parsed.root:
            raise DisclosureInvalid("the disclosures do not match the signed root", reason="root")
        return cls(parsed.kind.name, signed, MappingProxyType(dict(zip(names, items, strict=True))))


@dataclass(frozen=True)
class Presentation:
    """One presentation: the dynamic QR text and what it discloses."""

    text: str
    disclosed: tuple[str, ...]
    presented_at: datetime
    nonce_bound: bool

    def qr_png(self, *, scale: int = 8) -> bytes:
        """The QR code (error-correction level M) as PNG bytes."""
        return make_qr(self.text, ec_level="M").to_png(scale=scale)

    def qr_svg(self) -> str:
        """The QR code (error-correction level M) as SVG text."""
        return make_qr(self.text, ec_level="M").to_svg()

    def qr_version(self) -> int:
        """The QR version the text needs at error-correction level M."""
        return make_qr(self.text, ec_level="M").version


class HolderDevice:
    """The holder's phone: its device key makes presentations of its licences.

    Args:
        key: the device's signing key (EdDSA or ES256; on a real phone, one kept in
            the secure element and used through the :class:`~govkit.keys.Signer`
            protocol).
        clock: time source for the presentation time.
    """

    def __init__(self, key: SigningKey, *, clock: Clock | None = None) -> None:
        if not isinstance(key, SigningKey) or key.alg not in ("EdDSA", "ES256"):
            raise ConfigurationError("a device key must be an EdDSA or ES256 SigningKey")
        self._key = key
        self._clock: Clock = clock or SystemClock()

    @property
    def verifying_key(self) -> VerifyingKey:
        """The public key an issuer binds licences to."""
        return self._key.verifying_key

    def present(
        self,
        credential: SelectiveCredential,
        disclose: Iterable[str],
        *,
        nonce: bytes | None = None,
        at: datetime | None = None,
    ) -> Presentation:
        """Make a presentation revealing only ``disclose`` (item names).

        Args:
            credential: a licence bound to this device.
            disclose: the items to reveal (see :func:`disclosable_items`).
            nonce: the verifier's challenge, when it shows one; without it, the
                presentation is bound to the current time (a dynamic QR).
            at: the presentation time (default: the clock).

        Raises:
            ConfigurationError: the credential is bound to another device, or an item
                name is unknown.
        """
        if credential.device_key() != self._key.verifying_key:
            raise ConfigurationError("the credential is bound to another device key")
        wanted = list(dict.fromkeys(disclose))
        unknown = [n for n in wanted if n not in credential.disclosures]
        if unknown:
            raise ConfigurationError(f"unknown items: {', '.join(sorted(unknown))[:200]}")
        if nonce is not None and not isinstance(nonce, bytes):
            raise ConfigurationError("nonce must be bytes")
        when = require_aware(at) if at is not None else self._clock.now()
        order = credential.items
        indices = sorted(order.index(n) for n in wanted)
        chosen = [credential.disclosures[order[i]] for i in indices]
        leaves = [_leaf(item) for item in credential.disclosures.values()]
        proof = _multiproof(leaves, indices)
        seconds = int(when.timestamp())
        signature = self._key.sign(_to_sign(credential.signed, chosen, proof, seconds, nonce))
        shown = [cbor2.loads(item) for item in chosen]  # arrays, not wrapped in bstr
        body = cbor2.dumps([credential.signed, shown, proof, seconds, signature], canonical=True)
        return Presentation(
            PRESENTATION_PREFIX + b45encode(body),
            tuple(sorted(wanted, key=order.index)),
            datetime.fromtimestamp(seconds, UTC),
            nonce is not None,
        )


def _to_sign(
    licence: bytes,
    disclosures: Sequence[bytes],
    proof: bytes,
    seconds: int,
    nonce: bytes | None,
) -> bytes:
    return cbor2.dumps(
        [_CONTEXT, licence, list(disclosures), proof, seconds, nonce or b""], canonical=True
    )


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


@dataclass(frozen=True)
class _Selective:
    message: codec.CoseMessage
    kind: LicenceType
    valid_from: datetime
    valid_until: datetime
    root: bytes
    device_key: VerifyingKey
    status_index: int | None


def _parse_selective(message: codec.CoseMessage, registry: LicenceRegistry) -> _Selective:
    raw = message.claims.get(SELECTIVE_CLAIM)
    if not isinstance(raw, Mapping):
        raise _format("the licence is not a selective licence", "claims")
    keys = set(raw)
    if not {"t", "r", "c"} <= keys or not keys <= {"t", "r", "c", "s"}:
        raise _format("the selective licence has the wrong keys", "claims")
    times = [message.claims.get(k) for k in (codec.IAT, codec.NBF, codec.EXP)]
    if not all(isinstance(t, int) and not isinstance(t, bool) and 0 <= t < 2**40 for t in times):
        raise _format("iat, nbf and exp must be integers", "cwt")
    try:
        kind = registry.get(raw["t"]) if isinstance(raw["t"], str) else None
    except LicenceDataInvalid:
        kind = None
    if kind is None:
        raise _format("the selective licence names no known licence type", "licence")
    root = raw["r"]
    if not isinstance(root, bytes) or len(root) != _DIGEST_SIZE:
        raise _format("the Merkle root must be 16 bytes", "licence")
    index = raw.get("s")
    if "s" in raw and (isinstance(index, bool) or not isinstance(index, int) or index < 0):
        raise _format("the status index must be a non-negative int", "licence")
    start = datetime.fromtimestamp(times[1], UTC)  # type: ignore[arg-type]
    end = datetime.fromtimestamp(times[2] + 1, UTC)  # type: ignore[operator]
    return _Selective(message, kind, start, end, root, _device_key_from_claim(raw["c"]), index)


def _read_disclosure(item: object, parsed: _Selective) -> tuple[int, Any]:
    """The (index, value) of one disclosure, whose shape is checked but not yet its leaf."""
    if not isinstance(item, bytes):
        raise _format("a disclosure must be a byte string")
    try:
        decoded = codec._parse_canonical(item, max_depth=_MAX_DEPTH, reason="presentation")
    except CertificateFormatError:
        raise DisclosureInvalid("a disclosure is not canonical CBOR", reason="format") from None
    if not (isinstance(decoded, (list, tuple)) and len(decoded) == 3):
        raise DisclosureInvalid("a disclosure is not [salt, index, value]", reason="format")
    salt, index, value = decoded
    if (
        not isinstance(salt, bytes)
        or len(salt) != _SALT_SIZE
        or isinstance(index, bool)
        or not isinstance(index, int)
        or not 0 <= index < len(disclosable_items(parsed.kind))
    ):
        raise DisclosureInvalid("a disclosure has a bad salt or index", reason="format")
    return index, value


def _check_value(name: str, value: Any, parsed: _Selective) -> None:
    """The root match proves the issuer signed the value; this keeps its shape honest."""
    kind = parsed.kind
    try:
        if name == "id":
            ident = parse_licence_id(value)
            if ident.type_code != kind.type_code:
                raise DisclosureInvalid("the identifier is of another type", reason="value")
        elif name == "holder":
            if not (isinstance(value, (list, tuple)) and len(value) == 2):
                raise DisclosureInvalid("the holder is not [kind, reference]", reason="value")
            holder_kind = _HOLDER_KINDS_BY_CODE.get(value[0])
            if holder_kind is None:
                raise DisclosureInvalid("the holder kind is not p, m or r", reason="value")
            Holder(value[1], holder_kind)
        elif name in {p.name for p in PREDICATES}:
            if not isinstance(value, bool):
                raise DisclosureInvalid("a predicate must be true or false", reason="value")
        else:
            spec = kind.field_spec(name)
            if value is not None and spec.normalise(value) != value:
                raise DisclosureInvalid("a field value is not normalised", reason="value")
    except LicenceDataInvalid:
        raise DisclosureInvalid("a disclosed value does not fit its item", reason="value") from None


class PresentationRun:
    """The checks of one presentation (used by :class:`CertificateVerifier`)."""

    def __init__(
        self,
        *,
        registry: LicenceRegistry,
        current_trust: Callable[[datetime], TrustList],
        status_of: Callable[[int | None, TrustedIssuer, datetime], Status | None],
        replay: ReplayStore,
    ) -> None:
        self._registry = registry
        self._current_trust = current_trust
        self._status_of = status_of
        self._replay = replay

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
            "QR picture decoded"
            if isinstance(data, bytes) and data.startswith(_IMAGE_MAGIC)
            else "presentation text",
        )
        licence_bytes, items, proof, seconds, device_signature = _parse_presentation(text)
        message = codec.decode_cose(licence_bytes, canonical=True)
        parsed = _parse_selective(message, self._registry)
        trace.ok("format", f"a {parsed.kind.name} presentation disclosing {len(items)} items")
        trust = self._current_trust(when)
        trace.ok("trust", f"trust list #{trust.sequence}")
        if message.kid is None:
            raise CertificateKeyUnknown("the licence names no key id")
        candidates = trust.candidates(message.kid)
        if not candidates:
            raise CertificateKeyUnknown("no trusted key has this key id", kid=message.kid.hex())
        key = codec.verify_signature(message, [k.key for _, k in candidates])
        issuer, trusted = next((i, k) for i, k in candidates if k.key == key)
        trace.ok("signature", f"signed by {issuer.agency.name}")
        issued_at = datetime.fromtimestamp(message.claims[codec.IAT], UTC)
        trust.check_permission(issuer, trusted, parsed.kind.name, at=issued_at)
        trace.ok("issuer", f"{issuer.agency.name} may issue {parsed.kind.name}")
        codec.check_times(message.claims, at=when)
        trace.ok("validity", f"valid until {parsed.valid_until.isoformat()} (exclusive)")
        status = self._status_of(parsed.status_index, issuer, when)
        if status is None:
            trace.skipped("status", STATUS_SKIPPED)
        else:
            trace.ok("status", STATUS_CHECKED)
        signed = _to_sign(licence_bytes, items, proof, seconds, nonce)
        try:
            parsed.device_key.verify(device_signature, signed)
        except InvalidSignature:
            raise HolderBindingInvalid(
                "the presentation is not signed by the licence's device key"
                + (" over this verifier's nonce" if nonce is not None else "")
            ) from None
        trace.ok("holder_binding", f"signed by device {parsed.device_key.kid[:12]}…")
        presented_at = datetime.fromtimestamp(seconds, UTC)
        if nonce is None and not (when - window <= presented_at <= when + _MAX_SKEW):
            raise PresentationStale(
                "the presentation was made outside the time window",
                window=int(window.total_seconds()),
                age=int((when - presented_at).total_seconds()),
            )
        # Remember what was signed, not the signature: an ECDSA signature has a second
        # valid encoding, (r, n - s), which would otherwise replay as a "new" one. A store
        # that fails (or a memory store that is full) raises: never "not a replay".
        replay_key = _REPLAY_PREFIX + hashlib.sha256(signed).hexdigest()
        expires_at = _replay_expiry(presented_at, when, window)
        if not self._replay.check_and_remember(replay_key, now=when, expires_at=expires_at):
            raise PresentationReplayed("this presentation was already shown")
        trace.ok(
            "freshness",
            "answers the nonce"
            if nonce is not None
            else f"made {int((when - presented_at).total_seconds())} s ago",
        )
        disclosed, predicates = _read_disclosures(items, proof, parsed, issuer)
        trace.ok("disclosures", f"{len(items)} disclosures match the signed Merkle root")
        if profile is not None:
            _apply_profile(profile, parsed.kind.name, set(disclosed) | set(predicates))
        trace.ok("profile", "no profile" if profile is None else f"fits {profile.name}")
        return VerifiedPresentation(
            parsed.kind.name,
            issuer,
            trusted,
            parsed.valid_from,
            parsed.valid_until,
            status,
            MappingProxyType(disclosed),
            MappingProxyType(predicates),
            presented_at,
            when,
            parsed.device_key.kid,
            None if profile is None else profile.name,
            nonce is not None,
        )


def _read_disclosures(
    items: Sequence[object], proof: bytes, parsed: _Selective, issuer: TrustedIssuer
) -> tuple[dict[str, Any], dict[str, bool]]:
    """Rebuild the signed root from the disclosures and the proof, then check each value;
    split them into values and predicates."""
    names = disclosable_items(parsed.kind)
    leaves: dict[int, bytes] = {}
    values: dict[int, Any] = {}
    last = -1
    for item in items:
        index, value = _read_disclosure(item, parsed)
        if index <= last:
            raise DisclosureInvalid("disclosures must be in index order, once each", reason="order")
        last = index
        leaves[index] = _leaf(item)  # type: ignore[arg-type]  # _read_disclosure checked bytes
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
    predicate_names = {p.name for p in PREDICATES}
    for index, value in values.items():
        name = names[index]
        _check_value(name, value, parsed)
        if name in predicate_names:
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


def _parse_presentation(text: str) -> tuple[bytes, list[bytes], bytes, int, bytes]:
    if len(text) > _MAX_TEXT:
        raise _format("the presentation text is too long", "input")
    if not text.startswith(PRESENTATION_PREFIX):
        raise _format("a presentation starts with GKP1:", "prefix")
    try:
        raw = b45decode(text[len(PRESENTATION_PREFIX) :])
    except EncodingError:
        raise _format("the presentation is not base45", "base45") from None
    body = codec._parse_canonical(raw, max_depth=_MAX_DEPTH, reason="presentation")
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
        or not 0 <= seconds < 2**40
        or not isinstance(signature, bytes)
    ):
        raise _format(shape)
    # The body passed the canonical check, so each disclosure's canonical encoding is
    # exactly the bytes it was sent as: those are what the leaves and the device hash.
    disclosures = [cbor2.dumps(item, canonical=True) for item in items]
    return licence, disclosures, proof, seconds, signature


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
