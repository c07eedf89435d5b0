"""The licence model: field schemas, licence types, the registry, and licences.

>>> from datetime import date
>>> from govkit.certificates import Agency, Holder, Licence, LicenceRegistry, licence_id
>>> registry = LicenceRegistry.default()
>>> driving = registry.get("driving-licence")
>>> issuer = Agency("广州市公安局交通警察支队", "11440100MB2C92923F")
>>> licence = Licence(
...     type="driving-licence",
...     id=licence_id(driving.type_code, issuer.uscc, "4401202600001"),
...     holder=Holder("ps-7QjW2mZtR4yXc", "pseudonym"),
...     issuer=issuer,
...     valid_from=date(2026, 3, 1),
...     valid_until=date(2032, 3, 1),
...     fields={"name": "张三丰", "licence_class": "C1",
...             "first_issue_date": date(2020, 3, 1), "file_number": "440100123456"},
...     status_index=17,
... )
>>> driving.check_licence(licence)
>>> licence.masked_fields(registry)["name"]
'张**'
>>> Licence.from_claims(licence.to_claims(), registry, agency_name=issuer.name) == licence
True

Everything here is frozen and checked when it is built (:class:`Licence` checks what
it can by itself; :meth:`LicenceType.check_licence` checks it against its type).
Errors are :class:`~govkit.errors.LicenceDataInvalid` with ``field`` and ``reason``
in their context; a field's value is never quoted.

**The claims map** (:meth:`Licence.to_claims`) is the wire format inside the QR
payload, a compact CBOR-ready map with one-letter keys::

    {
      "i": "11100000000013338W902.….001.X",   # GB/T 36904 identifier without 1.2.156.3005.2.
      "h": ["p", "ps-7QjW…"],                 # holder: [kind p|m|r, reference]
      "v": ["2026-03-01", "2032-03-01"],      # validity: [from, until]
      "f": ["张三丰", "C1", …],                # field values in the type's order
      "s": 17                                 # status-list index (absent if none)
    }

The licence type follows from the identifier's type code and the agency's USCC is
the identifier's issuer code; the agency's name is not on the wire (the verifier shows
the name the trust list gives that USCC). Dates are ``"YYYY-MM-DD"`` text; a
validity given as datetimes is written as two integers (UNIX seconds, UTC). Holder
kinds are one letter (``p`` pseudonym, ``m`` masked, ``r`` raw id). Field values
are a list in the order of the type's fields (``null`` for an absent optional field),
so no field name takes room in the QR. Only
text, integers, booleans and nulls appear, so the map encodes identically as CBOR
and JSON. :meth:`Licence.from_claims`
accepts exactly this shape and nothing else.

**Validity.** ``valid_from`` and ``valid_until`` are both dates or both aware
datetimes. Dates are whole days in China Standard Time (UTC+8): a licence valid
until ``2032-03-01`` is valid through the end of that day.
:meth:`Licence.validity_window` gives the half-open ``[start, end)`` in UTC either
way. Datetimes are normalised to UTC and whole seconds.

**Holders.** A :class:`Holder` is a ``pseudonym`` (the default to use: a stable,
non-identifying reference the issuer can resolve), a ``masked`` reference
(``110**************X``), or a ``raw-id``. For a person, a raw id is a resident
ID number, accepted only for types with ``raw_id_allowed`` and only when the
issuer asks for it (``allow_raw_id=True`` at issue time). For an organisation, a
raw id is its unified social credit code, which is public registration data and
always allowed.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias, get_args

from govkit.certificates._identifier import (
    ROOT_OID,
    _IdMemo,
    _known_id_codes,
    is_uscc,
    parse_licence_id,
)
from govkit.certificates._types import (
    FIELD_NAME,
    TYPE_NAME,
    FieldKind,
    FieldSpec,
    FieldValue,
    LicenceType,
    field_label,
    invalid,
    is_clean_text,
    parse_iso_date,
    standard_types,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from govkit.errors import LicenceDataInvalid

__all__ = [
    "CHINA_STANDARD_TIME",
    "Agency",
    "FieldKind",
    "FieldSpec",
    "FieldValue",
    "Holder",
    "HolderKind",
    "Licence",
    "LicenceRegistry",
    "LicenceType",
]

#: How a licence names its holder.
HolderKind: TypeAlias = Literal["pseudonym", "masked", "raw-id"]
#: China Standard Time, the zone in which date-valued validity periods are read.
CHINA_STANDARD_TIME: Final = timezone(timedelta(hours=8), "CST")

_HOLDER_KINDS: Final = frozenset(get_args(HolderKind))
# One-letter holder kinds on the wire (the QR is small): p, m, r.
_HOLDER_CODES: Final[dict[HolderKind, str]] = {"pseudonym": "p", "masked": "m", "raw-id": "r"}
_HOLDER_KINDS_BY_CODE: Final[dict[str, HolderKind]] = {c: k for k, c in _HOLDER_CODES.items()}
#: The characters of a pseudonym (8 to 128 of them).
_PSEUDONYM_CHARS: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
_MAX_STATUS_INDEX: Final = 2**32 - 1
#: The keys of a licence's claims map: all of the first, nothing outside the second.
_CLAIMS_REQUIRED: Final = frozenset({"i", "h", "v", "f"})
_CLAIMS_ALL: Final = frozenset({"i", "h", "v", "f", "s"})
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


class _ReadClaims(dict[str, Any]):
    """Internal: a licence's claims map as the verifier's fixed-shape reader
    (``_verifier._fixed_licence_claims``) reads it, and only it makes one.

    Read from canonical CBOR of exactly the shape :meth:`Licence.to_claims` writes, so
    it holds the keys ``f h i v`` and optionally ``s`` and nothing else; ``i`` is text,
    ``h`` a list of two texts, ``v`` a list of two values, ``f`` a list of texts,
    unsigned integers, bools and nulls, ``s`` an unsigned integer. Equal to the plain
    dict the canonical decoder gives for the same bytes. :meth:`Licence.from_claims`
    leaves out the checks of that shape for it (and none other).
    """

    __slots__ = ()


class LicenceRegistry:
    """An immutable mapping of licence type name -> :class:`LicenceType`.

    Build one from types (distinct names and type codes), start from
    :meth:`default` (the ten standard types), and extend with :meth:`with_type`,
    which returns a new registry. There is no shared global registry.

    >>> registry = LicenceRegistry.default()
    >>> len(registry), "passport" in registry
    (10, True)
    >>> registry.get("passport").zh
    '护照'
    """

    __slots__ = ("_by_code", "_types")

    def __init__(self, types: Iterable[LicenceType] = ()) -> None:
        by_name: dict[str, LicenceType] = {}
        by_code: dict[str, LicenceType] = {}
        for licence_type in types:
            if not isinstance(licence_type, LicenceType):
                raise invalid("a registry holds LicenceType objects", "type", "spec")
            if licence_type.name in by_name:
                raise invalid("two licence types share a name", "type", "duplicate")
            if licence_type.type_code in by_code:
                raise invalid("two licence types share a type code", "type_code", "duplicate")
            by_name[licence_type.name] = licence_type
            by_code[licence_type.type_code] = licence_type
        self._types: Mapping[str, LicenceType] = MappingProxyType(by_name)
        self._by_code: Mapping[str, LicenceType] = MappingProxyType(by_code)

    @classmethod
    def default(cls) -> LicenceRegistry:
        """A new registry of the ten standard types (see :mod:`._types`)."""
        return cls(standard_types())

    def get(self, name: str) -> LicenceType:
        """The type called ``name``.

        Raises:
            LicenceDataInvalid: no such type (``reason`` ``unknown_type``). The context
                lists ``valid_types`` and the ``suggestions`` closest to the name
                given (closest first), and holds the name as ``given`` when it has the
                form of a type name (never arbitrary text).
        """
        licence_type = self._types.get(name) if isinstance(name, str) else None
        if licence_type is None:
            raise self._unknown_type(name)
        return licence_type

    def _unknown_type(self, name: object) -> LicenceDataInvalid:
        valid = tuple(self._types)
        given = name if isinstance(name, str) and TYPE_NAME.fullmatch(name) else None
        close = tuple(difflib.get_close_matches(given, valid, n=3)) if given else ()
        message = "unknown licence type" + (f" {given!r}" if given else "")
        if close:
            message += f" (did you mean {', '.join(close)}?)"
        message += f"; the valid types are {', '.join(valid) or '(none)'}"
        context: dict[str, Any] = {"suggestions": close, "valid_types": valid}
        if given:
            context["given"] = given
        return invalid(message, "type", "unknown_type", **context)

    def by_type_code(self, type_code: str) -> LicenceType:
        """The type whose GB/T 36904 type code is ``type_code``.

        Raises:
            LicenceDataInvalid: no such type (``reason`` ``unknown_type``).
        """
        licence_type = self._by_code.get(type_code) if isinstance(type_code, str) else None
        if licence_type is None:
            raise invalid("unknown licence type code", "type_code", "unknown_type")
        return licence_type

    def with_type(self, licence_type: LicenceType) -> LicenceRegistry:
        """A new registry with ``licence_type`` added, or replacing the one of its name."""
        kept = [t for name, t in self._types.items() if name != licence_type.name]
        return LicenceRegistry([*kept, licence_type])

    def names(self) -> tuple[str, ...]:
        """The type names, in insertion order."""
        return tuple(self._types)

    def __getitem__(self, name: str) -> LicenceType:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._types

    def __iter__(self) -> Iterator[str]:
        return iter(self._types)

    def __len__(self) -> int:
        return len(self._types)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LicenceRegistry):
            return NotImplemented
        return dict(self._types) == dict(other._types)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"LicenceRegistry({list(self._types)!r})"


@dataclass(frozen=True, slots=True)
class Agency:
    """An issuing agency (颁发机构): its name and unified social credit code.

    The code is checked with the GB 32100-2015 check character.

    >>> Agency("广州市公安局", "11440100MB2C92923E")
    Traceback (most recent call last):
        ...
    govkit.errors.LicenceDataInvalid: the agency's USCC is not valid
    """

    name: str
    uscc: str

    def __post_init__(self) -> None:
        if not is_clean_text(self.name, 128):
            raise invalid(
                "the agency name must be 1-128 characters of clean text", "issuer", "name"
            )
        if not is_uscc(self.uscc):
            raise invalid("the agency's USCC is not valid", "issuer", "uscc")


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds a licence, as the licence names them.

    Attributes:
        reference: for ``pseudonym``, 8-128 characters of ``A-Za-z0-9_-``; for
            ``masked``, 1-64 characters of clean text with at least one ``*``; for
            ``raw-id``, 18 characters of ``0-9A-Z`` (a resident ID number or a USCC;
            which one and whether it is allowed is checked against the type).
        kind: ``pseudonym``, ``masked`` or ``raw-id``.
    """

    reference: str
    kind: HolderKind

    def __post_init__(self) -> None:
        if self.kind not in _HOLDER_KINDS:
            raise invalid("holder kind must be pseudonym, masked or raw-id", "holder", "kind")
        ref = self.reference
        if not isinstance(ref, str):
            raise invalid("the holder reference must be text", "holder", "format")
        if self.kind == "pseudonym":
            # [A-Za-z0-9_-]{8,128} by str methods: strip leaves nothing when every
            # character is of the set (no regular expression on the verify path)
            ok = 8 <= len(ref) <= 128 and not ref.strip(_PSEUDONYM_CHARS)
        elif self.kind == "masked":
            ok = is_clean_text(ref, 64) and "*" in ref
        else:
            ok = len(ref) == 18 and ref.isascii() and ref.isalnum() and ref == ref.upper()
        if not ok:
            raise invalid("the holder reference does not fit its kind", "holder", "format")

    def masked(self) -> str:
        """The reference for display: a raw id keeps its first 3 and last character."""
        if self.kind == "raw-id":
            return self.reference[:3] + "*" * 14 + self.reference[-1]
        return self.reference

    def __repr__(self) -> str:
        return f"Holder(kind={self.kind!r}, reference={self.masked()!r})"


def _normalise_moment(value: object, name: str) -> date | datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise invalid("validity datetimes must be timezone-aware", name, "naive")
        try:
            return value.astimezone(UTC).replace(microsecond=0)
        except OverflowError:
            raise invalid("the datetime is out of range", name, "range") from None
    if isinstance(value, date):
        return value
    raise invalid("validity must be a date or an aware datetime", name, "kind")


def _check_period(start: date | datetime, end: date | datetime) -> None:
    """Both dates or both datetimes, and ``end`` not before ``start``."""
    if isinstance(start, datetime) != isinstance(end, datetime):
        raise invalid(
            "valid_from and valid_until must both be dates or both datetimes",
            "valid_until",
            "kind",
        )
    if isinstance(start, datetime) and isinstance(end, datetime):
        backwards = end <= start
    else:
        backwards = end < start
    if backwards:
        raise invalid("valid_until is before valid_from", "valid_until", "order")


def _encode_moment(value: date | datetime) -> str | int:
    if isinstance(value, datetime):
        return int((value - _EPOCH).total_seconds())
    return value.isoformat()


@dataclass(frozen=True, slots=True)
class Licence:
    """One electronic licence: the canonical record a QR payload is made from.

    Construction checks what a licence can check alone: the type name's form, the
    GB/T 36904 identifier, that its issuer code is ``issuer.uscc``, the validity
    period (both dates or both aware datetimes, ``valid_from`` before
    ``valid_until``; datetimes become UTC whole seconds), field names and values
    (text, int, bool; dates become ``YYYY-MM-DD``) and the status index. Checking
    it against its type is :meth:`LicenceType.check_licence`.

    Attributes:
        type: the licence type name.
        id: the GB/T 36904 identifier.
        holder: who holds it.
        issuer: the issuing agency.
        valid_from: first day (date) or instant (datetime) of validity.
        valid_until: last day (inclusive) or the instant validity ends (exclusive).
        fields: the type's fields, read-only.
        status_index: the licence's index in its issuer's status list, if any.
    """

    type: str
    id: str
    holder: Holder
    issuer: Agency
    valid_from: date | datetime
    valid_until: date | datetime
    fields: Mapping[str, FieldValue] = field(default_factory=lambda: MappingProxyType({}))
    status_index: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.type, str) or not TYPE_NAME.fullmatch(self.type):
            raise invalid("the licence type name is malformed", "type", "format")
        parsed = parse_licence_id(self.id)
        if not isinstance(self.holder, Holder):
            raise invalid("holder must be a Holder", "holder", "kind")
        if not isinstance(self.issuer, Agency):
            raise invalid("issuer must be an Agency", "issuer", "kind")
        if parsed.issuer_code != self.issuer.uscc:
            raise invalid("the identifier's issuer code is not the issuer's USCC", "id", "issuer")
        start = _normalise_moment(self.valid_from, "valid_from")
        end = _normalise_moment(self.valid_until, "valid_until")
        _check_period(start, end)
        object.__setattr__(self, "valid_from", start)
        object.__setattr__(self, "valid_until", end)
        if not isinstance(self.fields, Mapping):
            raise invalid("fields must be a mapping", "fields", "kind")
        normalised: dict[str, FieldValue] = {}
        given: Mapping[Any, object] = self.fields
        for name, value in given.items():
            if not isinstance(name, str) or not FIELD_NAME.fullmatch(name):
                raise invalid("a field name is malformed", "?", "name")
            if isinstance(value, (str, int, bool)):
                normalised[name] = value
            elif isinstance(value, date) and not isinstance(value, datetime):
                normalised[name] = value.isoformat()
            else:
                raise invalid("field values are text, int, bool or date", name, "kind")
        object.__setattr__(self, "fields", MappingProxyType(normalised))
        index = self.status_index
        if index is not None and (
            isinstance(index, bool)
            or not isinstance(index, int)
            or not 0 <= index <= _MAX_STATUS_INDEX
        ):
            raise invalid(
                "status_index must be an int from 0 to 2**32 - 1", "status_index", "range"
            )

    def validity_window(self) -> tuple[datetime, datetime]:
        """The validity period as a half-open UTC interval ``[start, end)``.

        Dates are whole days in China Standard Time: ``start`` is 00:00 UTC+8 of
        ``valid_from`` and ``end`` 00:00 UTC+8 of the day after ``valid_until``.
        """
        if isinstance(self.valid_from, datetime) and isinstance(self.valid_until, datetime):
            return self.valid_from, self.valid_until
        start = datetime.combine(self.valid_from, time(0), CHINA_STANDARD_TIME)
        try:
            last = datetime.combine(self.valid_until, time(0), CHINA_STANDARD_TIME)
            end = last + timedelta(days=1)
        except OverflowError:
            end = datetime.max.replace(tzinfo=UTC)
        return start.astimezone(UTC), end.astimezone(UTC)

    def to_claims(self, registry: LicenceRegistry | None = None) -> dict[str, Any]:
        """The compact claims map (the QR wire format described in the module docstring).

        Field values travel as a list in the order of the type's fields (``null`` for
        an absent optional field), so field names never take room in the QR;
        ``registry`` (default: the ten standard types) gives that order.
        """
        spec = (registry or LicenceRegistry.default()).get(self.type)
        claims: dict[str, Any] = {
            "i": self.id.removeprefix(ROOT_OID + "."),
            "h": [_HOLDER_CODES[self.holder.kind], self.holder.reference],
            "v": [_encode_moment(self.valid_from), _encode_moment(self.valid_until)],
            "f": [self.fields.get(f.name) for f in spec.fields],
        }
        if self.status_index is not None:
            claims["s"] = self.status_index
        return claims

    @classmethod
    def from_claims(
        cls,
        claims: Mapping[str, Any],
        registry: LicenceRegistry,
        *,
        agency_name: str,
        agency: Agency | None = None,
        _memo: _IdMemo | None = None,
    ) -> Licence:
        """Rebuild a licence from its claims map, strictly, and check it against its type.

        Only the exact shape :meth:`to_claims` writes is accepted: the keys ``i h v f``
        and optionally ``s``, two-element arrays, text dates or integer seconds,
        field values that are text, int, bool or null and already normalised. The
        type comes from the identifier's type code; the agency's USCC from the
        identifier, and its name (not on the wire) from ``agency_name``, which the
        verifier takes from the trust list. A raw-id holder is accepted when the type
        allows raw ids (the issuer decided at issue time). ``agency``, the trust
        list's already checked :class:`Agency`, is used as the issuer when it has
        that name and the identifier's USCC (instead of building and checking it again).

        Raises:
            LicenceDataInvalid: anything is off (``field`` and ``reason`` in the
                context).
        """
        # (_memo, internal: the verifier's own memo of identifier prefixes, see _IdMemo.
        # A _ReadClaims, internal: claims the verifier's reader read from bytes of the
        # exact shape to_claims writes; only the shape checks that reading guarantees
        # are left out, every other check runs, in the same order.)
        read = type(claims) is _ReadClaims
        if not read:
            _check_claims_keys(claims)
        short_id = claims["i"]
        if not read and not isinstance(short_id, str):
            raise invalid("the identifier must be text", "id", "kind")
        ident = f"{ROOT_OID}.{short_id}"
        # the registry's type codes and a trusted agency's USCC were checked when built
        known_uscc = agency.uscc if isinstance(agency, Agency) else None
        type_code, issuer_code = _known_id_codes(ident, registry._by_code, known_uscc, _memo)
        licence_type = registry.by_type_code(type_code)
        if read:  # two texts; two values
            holder, validity = claims["h"], claims["v"]
        else:
            holder = _pair(claims["h"], "holder")
            validity = _pair(claims["v"], "valid_until", text_only=False)
        start = _decode_moment(validity[0], "valid_from")
        end = _decode_moment(validity[1], "valid_until")
        values = claims["f"]
        specs = licence_type.fields
        if not isinstance(values, list) or len(values) != len(specs):
            raise invalid("fields must be a list in the type's field order", "fields", "kind")
        fields: dict[str, Any] = {}
        for spec, value in zip(specs, values, strict=True):  # (a loop: no comprehension frame)
            if value is not None:
                fields[spec.name] = value
        index = claims.get("s")
        if not read:  # (read: text, unsigned integers and bools; an unsigned integer)
            _check_value_kinds(fields, "s" in claims, index)
        kind = _HOLDER_KINDS_BY_CODE.get(holder[0])
        if kind is None:
            raise invalid("the holder kind is not p, m or r", "holder", "kind")
        holder_value = object.__new__(Holder)  # Holder(holder[1], kind), with its checks
        _HOLDER_REFERENCE.__set__(holder_value, holder[1])
        _HOLDER_KIND.__set__(holder_value, kind)
        holder_value.__post_init__()
        if agency is None or agency.name != agency_name or agency.uscc != issuer_code:
            agency = Agency(agency_name, issuer_code)
        # One pass: of the constructor's checks only these can still fail. The rest hold
        # by construction: the type's name and field names come from the registry, the
        # identifier was just parsed, the issuer's USCC is the identifier's, the field
        # values were checked above and the times are normalised by _decode_moment.
        _check_period(start, end)
        if index is not None and not 0 <= index <= _MAX_STATUS_INDEX:
            raise invalid(
                "status_index must be an int from 0 to 2**32 - 1", "status_index", "range"
            )
        licence = object.__new__(cls)
        # each slot set through its descriptor (what object.__setattr__ finds by name)
        _SLOT_TYPE.__set__(licence, licence_type.name)
        _SLOT_ID.__set__(licence, ident)
        _SLOT_HOLDER.__set__(licence, holder_value)
        _SLOT_ISSUER.__set__(licence, agency)
        _SLOT_VALID_FROM.__set__(licence, start)
        _SLOT_VALID_UNTIL.__set__(licence, end)
        _SLOT_FIELDS.__set__(licence, MappingProxyType(fields))
        _SLOT_STATUS_INDEX.__set__(licence, index)
        # check_licence without its first two checks, which hold by construction: the
        # type is the one of the identifier's type code
        licence_type._check_contents(licence, fields, allow_raw_id=True)
        return licence

    def masked_fields(self, registry: LicenceRegistry | None = None) -> dict[str, FieldValue]:
        """The fields for display, personal ones masked (see :meth:`LicenceType.masked`).

        ``registry`` tells which fields are personal; by default a new
        :meth:`LicenceRegistry.default`.

        Raises:
            LicenceDataInvalid: the registry does not know this licence's type.
        """
        registry = registry if registry is not None else LicenceRegistry.default()
        return registry.get(self.type).masked(self.fields)

    def __repr__(self) -> str:
        return f"Licence(type={self.type!r}, id={self.id!r})"


#: The slots of a :class:`Licence` (the class's own member descriptors, which
#: :meth:`Licence.from_claims` sets as ``object.__setattr__`` would).
_SLOT_TYPE: Final = Licence.__dict__["type"]
_SLOT_ID: Final = Licence.__dict__["id"]
_SLOT_HOLDER: Final = Licence.__dict__["holder"]
_SLOT_ISSUER: Final = Licence.__dict__["issuer"]
_SLOT_VALID_FROM: Final = Licence.__dict__["valid_from"]
_SLOT_VALID_UNTIL: Final = Licence.__dict__["valid_until"]
_SLOT_FIELDS: Final = Licence.__dict__["fields"]
_SLOT_STATUS_INDEX: Final = Licence.__dict__["status_index"]


_HOLDER_REFERENCE: Final = Holder.__dict__["reference"]
_HOLDER_KIND: Final = Holder.__dict__["kind"]


def _check_claims_keys(claims: object) -> None:
    """A map with exactly the keys ``i h v f`` and optionally ``s``."""
    if type(claims) is not dict and not isinstance(claims, Mapping):  # dict: decoded
        raise invalid("claims must be a map", "claims", "kind")
    keys = claims.keys() if type(claims) is dict else set(claims)
    if not keys >= _CLAIMS_REQUIRED or not keys <= _CLAIMS_ALL:
        raise invalid(
            "claims must have exactly the keys i h v f and optionally s", "claims", "keys"
        )


def _check_value_kinds(fields: Mapping[str, object], has_index: bool, index: object) -> None:
    """Field values text, int or bool; a status index (when there is one) an int."""
    for name, value in fields.items():
        if not isinstance(value, (str, int, bool)):
            raise invalid("field values are text, int or bool", field_label(name), "kind")
    if has_index and (isinstance(index, bool) or not isinstance(index, int)):
        raise invalid("the status index must be an int", "status_index", "kind")


def _pair(value: object, name: str, *, text_only: bool = True) -> Sequence[Any]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise invalid("expected a two-element array", name, "kind")
    if text_only and not (isinstance(value[0], str) and isinstance(value[1], str)):
        raise invalid("expected two text values", name, "kind")
    return value


def _decode_moment(value: object, name: str) -> date | datetime:
    if isinstance(value, str):
        day = parse_iso_date(value)
        if day is None:
            raise invalid("not a valid YYYY-MM-DD date", name, "date")
        return day
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid("validity is YYYY-MM-DD text or integer seconds", name, "kind")
    try:
        return _EPOCH + timedelta(seconds=value)
    except OverflowError:
        raise invalid("the time is out of range", name, "range") from None
