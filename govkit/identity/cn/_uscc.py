"""Unified social credit codes (统一社会信用代码, GB 32100-2015)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from govkit._encoding import (
    USCC_ALPHABET,
    organisation_code_check_character,
    uscc_check_character,
)
from govkit.errors import InvalidIdentifier

__all__ = ["AUTHORITY_ENTITY_TYPES", "Uscc", "is_valid_uscc", "parse_uscc"]

#: The 31 characters of a USCC, valued 0-30 in this order (no I, O, S, V, Z).
ALPHABET: Final = USCC_ALPHABET
_CHARACTERS: Final = frozenset(ALPHABET)

#: Registration authority (character 1) -> the entity types (character 2) it assigns:
#: GB 32100-2015 table A.1 with the authorities added to it since (2-4, 6-8, A, N).
AUTHORITY_ENTITY_TYPES: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        "1": frozenset("1239"),  # organisation establishment: organs, public institutions, ...
        "2": frozenset("19"),  # foreign affairs: resident foreign news agencies, other
        "3": frozenset("123459"),  # justice: law firms, notaries, ..., arbitration, other
        "4": frozenset("19"),  # culture: foreign cultural centres, other
        "5": frozenset("1239"),  # civil affairs: social organisations, ..., foundations
        "6": frozenset("129"),  # tourism: foreign / HK, Macao, Taiwan tourism offices
        "7": frozenset("129"),  # religion: venues, religious schools, other
        "8": frozenset("19"),  # trade unions: grassroots unions, other
        "9": frozenset("123"),  # market regulation: enterprises, individual businesses, co-ops
        "A": frozenset("19"),  # CMC reform and establishment office: military institutions
        "N": frozenset("1239"),  # agriculture: rural collective economic organisations
        "Y": frozenset("1"),  # other authorities: a single entity type
    }
)


def _invalid(message: str, reason: str) -> InvalidIdentifier:
    return InvalidIdentifier(message, identifier="uscc", reason=reason)


def _check(code: str) -> None:
    """Every check of a normalised 18-character code of :data:`ALPHABET` characters."""
    types = AUTHORITY_ENTITY_TYPES.get(code[0])
    if types is None:
        raise _invalid("character 1 is not a GB 32100 registration authority code", "authority")
    if code[1] not in types:
        raise _invalid(
            "character 2 is not an entity type of that registration authority", "entity_type"
        )
    if not code[2:8].isdigit():
        raise _invalid("characters 3-8 (the region code) are not digits", "region")
    if uscc_check_character(code[:17]) != code[17]:
        raise _invalid("the check character does not match", "check_digit")
    if organisation_code_check_character(code[8:16]) != code[16]:
        raise _invalid(
            "the embedded organisation code's check character does not match",
            "organisation_code",
        )


@dataclass(frozen=True, slots=True)
class Uscc:
    """A checked unified social credit code and its parts.

    Only :func:`parse_uscc` should make one; constructing it directly checks that the
    parts agree with ``code`` and that ``code`` passes every check.

    Attributes:
        code: the normalised 18-character code (upper case).
        registration_authority: character 1 (``9`` market regulation, ``1``
            organisation establishment, ``5`` civil affairs, ``Y`` other, ...).
        entity_type: character 2, whose meaning depends on the authority (under
            ``9``: ``1`` enterprise, ``2`` individual business, ``3`` farmers'
            co-operative).
        region_code: characters 3-8, the GB/T 2260 code of the registering office
            (``100000`` for national-level registrations).
        organisation_code: characters 9-17, the GB 11714 organisation code with its
            own check character.
    """

    code: str
    registration_authority: str
    entity_type: str
    region_code: str
    organisation_code: str

    def __post_init__(self) -> None:
        if (
            not isinstance(self.code, str)
            or len(self.code) != 18
            or not all(c in _CHARACTERS for c in self.code)
        ):
            raise _invalid("Uscc.code must be a normalised 18-character code", "format")
        _check(self.code)
        parts = (self.registration_authority, self.entity_type, self.region_code)
        if parts != (self.code[0], self.code[1], self.code[2:8]) or (
            self.organisation_code != self.code[8:17]
        ):
            raise _invalid("Uscc fields do not agree with its code", "inconsistent")

    @property
    def check_character(self) -> str:
        """Character 18, one of the 31 characters of the USCC alphabet."""
        return self.code[17]


def parse(s: object) -> Uscc:
    if not isinstance(s, str):
        raise _invalid("a unified social credit code must be a str", "type")
    text = s.strip()
    if len(text) != 18:
        raise _invalid("a unified social credit code has 18 characters", "length")
    if not text.isascii():
        raise _invalid("a unified social credit code has ASCII characters only", "format")
    code = text.upper()
    if not all(c in _CHARACTERS for c in code):
        raise _invalid(
            "a unified social credit code uses digits and A-Z without I, O, S, V, Z", "format"
        )
    _check(code)
    return Uscc(code, code[0], code[1], code[2:8], code[8:17])


def parse_uscc(s: str) -> Uscc:
    """Check a unified social credit code (GB 32100-2015) and return its parts.

    Accepted: 18 ASCII characters, digits and the letters ``A``-``Y`` except ``I``,
    ``O``, ``S`` and ``V`` (no ``Z`` either); lower-case letters are upper-cased and
    surrounding whitespace is stripped, nothing else.

    Checked, in this order: length, characters, that character 1 is a registration
    authority and character 2 one of its entity types (:data:`AUTHORITY_ENTITY_TYPES`),
    that characters 3-8 are digits, the GB 32100 check character, and the GB 11714
    check character of the embedded organisation code (characters 9-17). The region
    code is not looked up: national registrations use ``100000``, which GB/T 2260
    lacks.

    The GB 32100 check character: ``C18 = alphabet[(31 - S mod 31) mod 31]`` where
    ``S`` sums the values of characters 1-17 times ``3^(i-1) mod 31``. The GB 11714
    one: ``C9 = 11 - S mod 11`` (10 is ``X``, 11 is ``0``) where ``S`` sums the values
    of the organisation code's first 8 characters (``A``-``Z`` are 10-35) times
    ``3 7 9 10 5 8 4 2``.

    Raises:
        InvalidIdentifier: the code is not valid. ``context["reason"]`` is one of
            ``type``, ``length``, ``format``, ``authority``, ``entity_type``,
            ``region``, ``check_digit``, ``organisation_code``.

    >>> parse_uscc("91350100M000100Y43").organisation_code
    'M000100Y4'
    """
    return parse(s)


def is_valid_uscc(s: str) -> bool:
    """Whether :func:`parse_uscc` accepts ``s``; never raises.

    >>> is_valid_uscc("91350100M000100Y43"), is_valid_uscc("91350100M000100Y44")
    (True, False)
    """
    try:
        parse(s)
    except InvalidIdentifier:
        return False
    return True
