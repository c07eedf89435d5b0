"""Evidence for unified social credit codes (GB 32100-2015) and their organisation codes.

Vectors marked "spec" come from the research notes (``shared/specs/identity.md`` (c)).
The others were built outside govkit: organisation-code check characters with the notes'
GB 11714 formula, USCC check characters with the notes' weight list
``1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28`` (python-stdnum's
``stdnum.cn.uscc.calc_check_digit``, the oracle below, uses the same list).
"""

from __future__ import annotations

import dataclasses

import pytest
from stdnum.cn import uscc as stdnum_uscc

from govkit.errors import InvalidIdentifier
from govkit.identity.cn import AUTHORITY_ENTITY_TYPES, Uscc, is_valid_uscc, parse_uscc

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def uscc_check(first17: str) -> str:
    """The GB 32100 check character by python-stdnum, independent of govkit."""
    return stdnum_uscc.calc_check_digit(first17)


def org_check(body: str) -> str:
    values = [int(c) if c.isdigit() else ord(c) - ord("A") + 10 for c in body]
    c9 = 11 - sum(v * w for v, w in zip(values, (3, 7, 9, 10, 5, 8, 4, 2), strict=True)) % 11
    return {10: "X", 11: "0"}.get(c9, str(c9))


def build(authority: str, entity: str, region: str = "440300", body: str = "M000100Y") -> str:
    first17 = authority + entity + region + body + org_check(body)
    return first17 + uscc_check(first17)


def reason_of(s: object) -> str:
    with pytest.raises(InvalidIdentifier) as caught:
        parse_uscc(s)  # type: ignore[arg-type]
    assert caught.value.context["identifier"] == "uscc"
    return str(caught.value.context["reason"])


VALID = [
    ("91350100M000100Y43", "spec: the usual example (hutool tests); both checks pass"),
    ("91110000600037341L", "spec: python-stdnum doctest"),
    ("11100000000013127D", "a central organ's code (national region 100000) in licence APIs"),
    ("91230184MA1BUFLT44", "an enterprise code from a validator's doctest"),
    ("92371000MA3MXH0E3W", "an individual business (type 2) from the same doctest"),
    ("Y1350100M000100Y4D", "built: authority Y (other), its only type 1"),
    ("N2350100M000100Y4J", "built: agriculture, village collective"),
    ("A1350100M000100Y42", "built: CMC establishment office, military institution"),
    ("91440300000000000E", "built: organisation code body 00000000, 11 - 0 = 11 -> check 0"),
    ("1210000040000000XN", "built: organisation check 10 -> X; public institution"),
]


@pytest.mark.parametrize(("code", "provenance"), VALID)
def test_valid_codes_parse_into_their_parts(code: str, provenance: str) -> None:
    uscc = parse_uscc(code)
    assert uscc.code == code
    assert uscc.registration_authority == code[0]
    assert uscc.entity_type == code[1]
    assert uscc.region_code == code[2:8]
    assert uscc.organisation_code == code[8:17]
    assert uscc.check_character == code[17]
    assert is_valid_uscc(code)


INVALID = [
    ("91350100M000100Y44", "check_digit", "spec: the last character edited"),
    ("9111000060003734IL", "format", "spec: contains I, which the alphabet lacks"),
    (
        "A1110000600037341L",
        "check_digit",
        "spec (there 'format': python-stdnum wants 8 leading digits). A1 is a valid "
        "authority and type since authority A was added, so the check character decides",
    ),
    ("91350100M000100Y56", "organisation_code", "built: USCC check fits, org check Y5 != Y4"),
    ("9135010060003734XE", "organisation_code", "built: 60003734 needs check 1, not X"),
    ("B1350100M000100Y41", "authority", "built: B is no registration authority"),
    ("01350100M000100Y4C", "authority", "built: 0 is no registration authority"),
    ("94350100M000100Y4R", "entity_type", "built: market regulation has types 1-3 only"),
    ("Y2350100M000100Y4A", "entity_type", "built: authority Y has type 1 only"),
    ("A2350100M000100Y4Y", "entity_type", "built: authority A has types 1 and 9"),
    ("913501A0M000100Y4X", "region", "built: a letter inside the region code"),
]


@pytest.mark.parametrize(("code", "reason", "provenance"), INVALID)
def test_invalid_codes_are_refused_for_their_reason(
    code: str, reason: str, provenance: str
) -> None:
    assert reason_of(code) == reason
    assert not is_valid_uscc(code)


def test_python_stdnum_does_not_check_the_organisation_code() -> None:
    """Why govkit does not delegate: stdnum accepts a code whose embedded GB 11714
    organisation code has a wrong check character."""
    assert stdnum_uscc.is_valid("91350100M000100Y56")
    assert not is_valid_uscc("91350100M000100Y56")


@pytest.mark.parametrize(
    ("authority", "entity"),
    [(a, t) for a, types in sorted(AUTHORITY_ENTITY_TYPES.items()) for t in sorted(types)],
)
def test_every_listed_authority_and_entity_type_combination_is_accepted(
    authority: str, entity: str
) -> None:
    assert parse_uscc(build(authority, entity)).entity_type == entity


@pytest.mark.parametrize(
    ("authority", "entity"),
    [
        (a, t)
        for a in ALPHABET
        for t in ALPHABET
        if a in AUTHORITY_ENTITY_TYPES and t not in AUTHORITY_ENTITY_TYPES[a]
    ][::7],
)
def test_entity_types_an_authority_does_not_assign_are_refused(authority: str, entity: str) -> None:
    assert reason_of(build(authority, entity)) == "entity_type"


def test_the_authority_table_is_the_published_one() -> None:
    assert {a: "".join(sorted(t)) for a, t in AUTHORITY_ENTITY_TYPES.items()} == {
        "1": "1239",
        "2": "19",
        "3": "123459",
        "4": "19",
        "5": "1239",
        "6": "129",
        "7": "129",
        "8": "19",
        "9": "123",
        "A": "19",
        "N": "1239",
        "Y": "1",
    }


@pytest.mark.parametrize("letter", "IOSVZ")
def test_letters_outside_the_31_symbol_alphabet_are_refused(letter: str) -> None:
    code = "91350100M000100Y43"
    assert reason_of(code[:10] + letter + code[11:]) == "format"


def test_lower_case_letters_and_surrounding_whitespace_are_normalised() -> None:
    assert parse_uscc("  91350100m000100y43\n").code == "91350100M000100Y43"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("９１３５０１００Ｍ０００１００Ｙ４３", "format"),  # full-width
        ("91350100M000100Y4３", "format"),
        ("91350100M000100Yı3", "format"),  # dotless i upper-cases to an ASCII I
        ("91350100-M000100Y4-3", "length"),
        ("91350100 M000100Y43", "length"),
        ("", "length"),
        ("91350100M000100Y4", "length"),
    ],
    ids=["full_width", "one_full_width", "dotless_i", "hyphens", "inner_space", "empty", "short"],
)
def test_non_ascii_and_separated_codes_are_refused(text: str, reason: str) -> None:
    assert reason_of(text) == reason


@pytest.mark.parametrize("value", [None, 91350100, b"91350100M000100Y43"])
def test_a_non_str_is_refused_as_a_type_error_not_a_crash(value: object) -> None:
    assert reason_of(value) == "type"
    assert is_valid_uscc(value) is False  # type: ignore[arg-type]


def test_errors_never_carry_the_code() -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        parse_uscc("91350100M000100Y44")
    assert "M000100" not in str(caught.value) + repr(caught.value.to_dict())


def test_a_uscc_with_parts_that_contradict_its_code_cannot_be_built() -> None:
    uscc = parse_uscc("91350100M000100Y43")
    with pytest.raises(InvalidIdentifier) as caught:
        dataclasses.replace(uscc, entity_type="2")
    assert caught.value.context["reason"] == "inconsistent"
    with pytest.raises(InvalidIdentifier) as caught:
        Uscc("91350100M000100Y44", "9", "1", "350100", "M000100Y4")
    assert caught.value.context["reason"] == "check_digit"
    with pytest.raises(InvalidIdentifier) as caught:
        Uscc("91350100m000100y43", "9", "1", "350100", "m000100y4")
    assert caught.value.context["reason"] == "format"
