"""Selective licences: salted items under a signed Merkle root, the ``GKS1:`` credential.

A *selective* licence (a :class:`SelectiveCredential`, text ``GKS1:``) is a COSE_Sign1
CWT like a plain licence, but its signed claims hold, instead of the values, one salted
digest per disclosable item, and the public key of the holder's device. The holder's
app keeps the disclosures (salt, index, value) and shows some of them in a presentation
(``_holder``); the verifier (``_presentation``) rebuilds the signed root from them.

Wire format (all CBOR canonical, RFC 8949 section 4.2.3)::

    credential claims  = {4: exp, 5: nbf, 6: iat, -65538: {
                            "t": type name, "r": Merkle root of the items,
                            "c": raw device public key (32 bytes: Ed25519;
                                 33: compressed P-256 for ES256),
                            "s": status index }}
    disclosure_i       = [salt: bstr .size 16, index: uint, value]
    leaf_i             = SHA-256(0x00 || canonical CBOR of disclosure_i)[:16]
    node               = SHA-256(0x01 || left || right)[:16]

The items, in index order, are those of ``disclosable_items`` (``_predicates``). The
leaves form a perfect binary tree (padded with ``SHA-256(0x02)[:16]``); a presentation
carries the fewest nodes that, with the disclosed leaves, rebuild the signed root (a
compact multiproof, nodes in the order a bottom-up, left-to-right walk needs them).
Every item is a leaf, so the number of fields a licence has reveals nothing; a Merkle
root instead of a digest per item keeps a three-item presentation inside a QR code of
version 15.

Every selective licence carries its status index ``"s"`` (the issuer refuses to issue
without a status list); a verifier that meets one without it reports
``certificate.status_unknown``, since its revocation could never be checked.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
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
    Holder,
    Licence,
    LicenceRegistry,
    LicenceType,
)
from govkit.certificates._predicates import PREDICATES, disclosable_items
from govkit.certificates.codec import _read_bstr, _read_text, _read_times, _read_uint
from govkit.clock import LAST_UNIX_SECOND
from govkit.errors import (
    CertificateFormatError,
    ConfigurationError,
    DisclosureInvalid,
    EncodingError,
    GovkitError,
    LicenceDataInvalid,
)
from govkit.keys import VerifyingKey

__all__ = ["CREDENTIAL_PREFIX", "SELECTIVE_CLAIM", "SelectiveCredential"]

#: Context prefix of a selective licence as the holder's app stores it.
CREDENTIAL_PREFIX: Final = "GKS1:"
#: The private-use CWT claim holding the selective licence map.
SELECTIVE_CLAIM: Final = -65538
_DIGEST_SIZE: Final = 16
_EMPTY_LEAF: Final = hashlib.sha256(b"\x02").digest()[:16]
_SALT_SIZE: Final = 16
_MAX_DEPTH: Final = 8
#: The last second a ``datetime`` holds. A selective licence's times lie below it (it is
#: valid until exp + 1 s), a presentation's time at most on it.
_LAST_SECOND: Final = LAST_UNIX_SECOND


def _format(message: str, reason: str = "presentation") -> CertificateFormatError:
    return CertificateFormatError(message, reason=reason)


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
    # (index, digest) of the known nodes of one level, by index: a parent's children
    # are next to each other, so each level is one walk along the one below
    level = sorted(known.items())
    for _ in range(_width(count).bit_length() - 1):  # one pass per level up to the root
        parents: list[tuple[int, bytes]] = []
        size = len(level)
        k = 0
        while k < size:
            index, digest = level[k]
            if not index & 1 and k + 1 < size and level[k + 1][0] == index + 1:
                parents.append((index >> 1, _node(digest, level[k + 1][1])))
                k += 2
                continue
            # the missing child is the proof's next node
            if position == len(nodes):
                raise DisclosureInvalid("the proof is too short", reason="proof")
            sibling = nodes[position]
            position += 1
            pair = (sibling, digest) if index & 1 else (digest, sibling)
            parents.append((index >> 1, _node(*pair)))
            k += 1
        level = parents
    if position != len(nodes):
        raise DisclosureInvalid("the proof has nodes left over", reason="proof")
    return dict(level)[0]


def _device_key_claim(key: VerifyingKey) -> bytes:
    public = key.public_key
    if isinstance(public, ed25519.Ed25519PublicKey):
        return public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    if isinstance(public, ec.EllipticCurvePublicKey):  # a VerifyingKey's EC key is P-256
        return public.public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
    raise ConfigurationError("a device key must be EdDSA (Ed25519) or ES256")


def _device_key_from_claim(raw: object) -> VerifyingKey:
    """32 bytes: an Ed25519 key; 33 bytes: a compressed P-256 point (ES256)."""
    try:
        if isinstance(raw, bytes) and len(raw) == 32:
            return VerifyingKey._ed25519(raw)  # EdDSA
        if isinstance(raw, bytes) and len(raw) == 33:
            point = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
            return VerifyingKey(point)  # ES256, the only algorithm of a P-256 key
    except (ValueError, GovkitError):
        pass
    raise _format("the device key is not an Ed25519 or compressed P-256 public key")


def _item_value(name: str, licence: Licence, kind: LicenceType) -> Any:
    if name == "id":
        return licence.id
    if name == "holder":
        return [_HOLDER_CODES[licence.holder.kind], licence.holder.reference]
    for spec in kind.fields:
        if spec.name == name:
            return licence.fields.get(name)
    return next(p for p in PREDICATES if p.name == name).test(licence)


def build_selective_claims(
    licence: Licence, kind: LicenceType, device_key: VerifyingKey
) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The selective licence map and the disclosures, one fresh salt per item (the
    issuer adds the status index ``"s"`` once it has allocated one)."""
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
    return claims, disclosures


#: The predicate item names (``age_over_18`` ...), for telling them from fields.
_PREDICATE_NAMES: Final = frozenset(p.name for p in PREDICATES)


@dataclass(frozen=True)
class _Selective:
    kind: LicenceType
    valid_from: datetime
    valid_until: datetime
    root: bytes
    device_key: VerifyingKey
    status_index: int | None
    #: ``disclosable_items(kind)``, worked out once per licence read.
    items: tuple[str, ...]


def _parse_selective(
    message: codec.CoseMessage,
    registry: LicenceRegistry,
    items_of: Callable[[LicenceType], tuple[str, ...]] = disclosable_items,
) -> _Selective:
    """The selective licence in ``message``'s claims; ``items_of`` gives a type's
    disclosable items (a verifier passes its own memo of ``disclosable_items``)."""
    raw = message.claims.get(SELECTIVE_CLAIM)
    if not isinstance(raw, Mapping):
        raise _format("the licence is not a selective licence", "claims")
    keys = set(raw)
    if not {"t", "r", "c"} <= keys or not keys <= {"t", "r", "c", "s"}:
        raise _format("the selective licence has the wrong keys", "claims")
    claims = message.claims
    iat, nbf, exp = claims.get(codec.IAT), claims.get(codec.NBF), claims.get(codec.EXP)
    # below _LAST_SECOND: the licence is valid until exp + 1 s, which must be a datetime
    if not (  # exactly int (never bool)
        type(iat) is int
        and type(nbf) is int
        and type(exp) is int
        and 0 <= iat < _LAST_SECOND
        and 0 <= nbf < _LAST_SECOND
        and 0 <= exp < _LAST_SECOND
    ):
        raise _format("iat, nbf and exp must be integers from 1970 to 9999", "cwt")
    try:
        kind = registry.get(raw["t"])  # any value: a name it does not hold is refused
    except LicenceDataInvalid:
        raise _format("the selective licence names no known licence type", "licence") from None
    root = raw["r"]
    if not isinstance(root, bytes) or len(root) != _DIGEST_SIZE:
        raise _format("the Merkle root must be 16 bytes", "licence")
    index = raw.get("s")
    if "s" in raw and (isinstance(index, bool) or not isinstance(index, int) or index < 0):
        raise _format("the status index must be a non-negative int", "licence")
    start = datetime.fromtimestamp(nbf, UTC)
    end = datetime.fromtimestamp(exp + 1, UTC)
    device_key = _device_key_from_claim(raw["c"])
    return _Selective(kind, start, end, root, device_key, index, items_of(kind))


#: The canonical CBOR of the selective claim's key (-65538).
_SELECTIVE_KEY: Final = cbor2.dumps(SELECTIVE_CLAIM)


def _fixed_claims(payload: bytes) -> dict[int | str, Any] | None:
    """The claims when ``payload`` is exactly the canonical CBOR of what the issuer
    writes, ``{4: exp, 5: nbf, 6: iat, -65538: {"c": bstr, "r": bstr, ("s": uint,)
    "t": text}}``, else ``None`` (then the canonical decoder decides, as for any other
    claims; see ``codec._parse_cose``). Every head is read in its shortest form and
    the keys are those bytes in that (canonical) order, so these bytes decode to the
    result and are its canonical encoding."""
    times = _read_times(payload)
    if times is None:
        return None
    exp, nbf, iat, after = times
    pos = after + len(_SELECTIVE_KEY)
    if payload[after:pos] != _SELECTIVE_KEY or payload[pos : pos + 3] not in _MAP_AND_C:
        return None
    entries = payload[pos] & 0x1F
    device = _read_bstr(payload, pos + 3)
    if device is None or payload[device[1] : device[1] + 2] != b"\x61r":
        return None
    root = _read_bstr(payload, device[1] + 2)
    if root is None:
        return None
    selective: dict[str, Any] = {"c": device[0], "r": root[0]}
    pos = root[1]
    if entries == 4:
        if payload[pos : pos + 2] != b"\x61s":
            return None
        index = _read_uint(payload, pos + 2)
        if index is None:
            return None
        selective["s"], pos = index
    if payload[pos : pos + 2] != b"\x61t":
        return None
    name = _read_text(payload, pos + 2)
    if name is None or name[1] != len(payload):
        return None
    selective["t"] = name[0]
    return {codec.EXP: exp, codec.NBF: nbf, codec.IAT: iat, SELECTIVE_CLAIM: selective}


#: A map of 3 or 4 entries and its first key, "c".
_MAP_AND_C: Final = (b"\xa3\x61c", b"\xa4\x61c")


def _read_disclosure(item: object, parsed: _Selective) -> tuple[int, Any]:
    """The (index, value) of one disclosure, whose shape is checked but not yet its leaf."""
    if not isinstance(item, bytes):
        raise _format("a disclosure must be a byte string")
    try:
        decoded = codec._parse_canonical(item, max_depth=_MAX_DEPTH, reason="presentation")
    except CertificateFormatError:
        raise DisclosureInvalid("a disclosure is not canonical CBOR", reason="format") from None
    return _disclosure_of(decoded, parsed)


def _disclosure_of(decoded: object, parsed: _Selective) -> tuple[int, Any]:
    """:func:`_read_disclosure` of a disclosure already decoded from canonical CBOR."""
    if not (isinstance(decoded, (list, tuple)) and len(decoded) == 3):
        raise DisclosureInvalid("a disclosure is not [salt, index, value]", reason="format")
    salt, index, value = decoded
    if (
        not isinstance(salt, bytes)
        or len(salt) != _SALT_SIZE
        or isinstance(index, bool)
        or not isinstance(index, int)
        or not 0 <= index < len(parsed.items)
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
        elif name in _PREDICATE_NAMES:
            if not isinstance(value, bool):
                raise DisclosureInvalid("a predicate must be true or false", reason="value")
        else:
            spec = kind.field_spec(name)
            if value is not None and spec.normalise(value) != value:
                raise DisclosureInvalid("a field value is not normalised", reason="value")
    except LicenceDataInvalid:
        raise DisclosureInvalid("a disclosed value does not fit its item", reason="value") from None


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
        names = parsed.items
        if len(items) != len(names):
            raise DisclosureInvalid("the credential lacks disclosures", reason="count")
        disclosures: dict[str, bytes] = {}
        for position, item in enumerate(items):
            index, value = _read_disclosure(item, parsed)
            if index != position:
                raise DisclosureInvalid("a disclosure is out of order", reason="order")
            _check_value(names[index], value, parsed)
            disclosures[names[index]] = item
        if _levels([_leaf(item) for item in items])[-1][0] != parsed.root:
            raise DisclosureInvalid("the disclosures do not match the signed root", reason="root")
        return cls(parsed.kind.name, signed, MappingProxyType(disclosures))
